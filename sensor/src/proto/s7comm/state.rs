//! Per-flow S7comm state: turns TSDUs into events and pairs jobs with
//! their ack/ack_data and userdata requests with their responses by PDU
//! reference.

use std::collections::VecDeque;

use rules::ot::OpClass;

use super::event::{
    area_name, filesystem_name, group_name, job_function, mode_name, pi_op, rosctr_name,
    syntax_name, transport_size_name, userdata_function, S7Event, S7Item, MAX_ITEMS,
};
use super::parser::{
    block_type_name, cyclic_data_items, cyclic_specs, data_items, decode_values, func,
    parse_block_control, parse_block_name, parse_pdu, parse_pi_service, parse_plc_stop,
    parse_setup, parse_szl, parse_userdata_data, parse_userdata_param, pi_blocks, rosctr,
    s7_timestamp, syntax, text, ud_type, var_specs, write_return_codes, BlockName, Pdu,
    UserdataParam, VarSpecs,
};

/// Requests kept waiting for their response; the oldest is logged
/// request-only when a new one would exceed this.
pub const MAX_PENDING: usize = 64;

/// Counters of one flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct S7Stats {
    /// TSDUs that parsed as S7comm.
    pub pdus: u64,
    /// TSDUs that did not.
    pub bad_pdus: u64,
    /// Responses without a pending request.
    pub unmatched_responses: u64,
    /// Requests logged without a response because the pending bound was
    /// reached.
    pub evicted: u64,
}

#[derive(Debug)]
struct Pending {
    /// Direction of the request.
    to_server: bool,
    userdata: bool,
    pdu_ref: u16,
    /// Job function or userdata group.
    function: u8,
    /// Userdata subfunction.
    subfunc: u8,
    ev: S7Event,
}

/// Per-flow S7comm state.
#[derive(Debug, Default)]
pub struct S7State {
    pending: VecDeque<Pending>,
    next_tx: u64,
    /// Counters.
    pub stats: S7Stats,
}

impl S7State {
    /// New state.
    pub fn new() -> S7State {
        S7State::default()
    }

    /// Requests waiting for a response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Decode one TSDU (as delivered by `cotp::CotpState`) of direction
    /// `to_server`; finished transactions are appended to `out`.
    pub fn input_tsdu(&mut self, to_server: bool, tsdu: &[u8], out: &mut Vec<S7Event>) {
        let Ok(pdu) = parse_pdu(tsdu) else {
            self.stats.bad_pdus += 1;
            return;
        };
        self.stats.pdus += 1;
        match pdu.header.rosctr {
            rosctr::JOB => {
                let mut ev = job_request(&pdu);
                ev.server_initiated = !to_server;
                let function = pdu.param.first().copied().unwrap_or(0);
                self.push_pending(to_server, false, function, 0, ev, out);
            }
            rosctr::ACK | rosctr::ACK_DATA => {
                let function = pdu.param.first().copied();
                let pos = self.pending.iter().position(|p| {
                    !p.userdata
                        && p.to_server != to_server
                        && p.pdu_ref == pdu.header.pdu_ref
                        && function.is_none_or(|f| f == p.function)
                });
                match pos.and_then(|i| self.pending.remove(i)) {
                    Some(mut p) => {
                        job_response(&mut p.ev, &pdu);
                        self.emit(p.ev, out);
                    }
                    None => {
                        self.stats.unmatched_responses += 1;
                        let mut ev = job_request(&Pdu {
                            param: pdu.param.get(..1).unwrap_or(&[]),
                            data: &[],
                            ..pdu
                        });
                        ev.rosctr_code = pdu.header.rosctr;
                        ev.rosctr_name = rosctr_name(pdu.header.rosctr);
                        ev.response_only = true;
                        if pdu.param.is_empty() {
                            // A bare ACK does not say which function it answers.
                            ev.function_name = "unknown";
                            ev.op_function = "unknown";
                            ev.op_class = Some(OpClass::Other);
                        }
                        job_response(&mut ev, &pdu);
                        self.emit(ev, out);
                    }
                }
            }
            _ => self.userdata(to_server, &pdu, out),
        }
    }

    fn userdata(&mut self, to_server: bool, pdu: &Pdu<'_>, out: &mut Vec<S7Event>) {
        let Some(up) = parse_userdata_param(pdu.param) else {
            self.stats.bad_pdus += 1;
            return;
        };
        let mut ev = userdata_event(pdu.header.pdu_ref, &up);
        match up.kind {
            ud_type::REQUEST => {
                userdata_request(&mut ev, &up, pdu.data);
                ev.server_initiated = !to_server;
                self.push_pending(to_server, true, up.group, up.subfunc, ev, out);
            }
            ud_type::RESPONSE => {
                let pos = self.pending.iter().position(|p| {
                    p.userdata
                        && p.to_server != to_server
                        && p.pdu_ref == pdu.header.pdu_ref
                        && p.function == up.group
                        && p.subfunc == up.subfunc
                });
                match pos.and_then(|i| self.pending.remove(i)) {
                    Some(mut p) => {
                        userdata_response(&mut p.ev, &up, pdu.data);
                        self.emit(p.ev, out);
                    }
                    None => {
                        self.stats.unmatched_responses += 1;
                        ev.response_only = true;
                        userdata_response(&mut ev, &up, pdu.data);
                        self.emit(ev, out);
                    }
                }
            }
            _ => {
                // Push: cyclic data, alarms, diagnostics, mode transitions.
                ev.response_only = true;
                ev.op_class = Some(OpClass::Report);
                if up.group == 0 {
                    ev.current_mode = Some(mode_name(up.subfunc));
                }
                userdata_response(&mut ev, &up, pdu.data);
                self.emit(ev, out);
            }
        }
    }

    fn push_pending(
        &mut self,
        to_server: bool,
        userdata: bool,
        function: u8,
        subfunc: u8,
        ev: S7Event,
        out: &mut Vec<S7Event>,
    ) {
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                self.stats.evicted += 1;
                self.emit(old.ev, out);
            }
        }
        self.pending.push_back(Pending {
            to_server,
            userdata,
            pdu_ref: ev.pdu_reference,
            function,
            subfunc,
            ev,
        });
    }

    fn emit(&mut self, mut ev: S7Event, out: &mut Vec<S7Event>) {
        ev.tx_id = self.next_tx;
        self.next_tx += 1;
        out.push(ev);
    }

    /// Bytes were lost in one direction. S7comm works on whole TSDUs (the
    /// COTP layer resynchronises), so nothing is dropped here: requests
    /// still pending may yet be answered, or come out at `finish`.
    pub fn gap(&mut self, _to_server: bool) {}

    /// Flow end: log the requests still waiting for a response.
    pub fn finish(&mut self, out: &mut Vec<S7Event>) {
        while let Some(p) = self.pending.pop_front() {
            self.emit(p.ev, out);
        }
    }
}

fn set_block(ev: &mut S7Event, n: &BlockName) {
    ev.block_type = Some(match block_type_name(n.block_type) {
        Some(t) => t.to_string(),
        None => text(&n.block_type),
    });
    ev.block_number = Some(n.number);
    ev.destination_filesystem = Some(filesystem_name(n.filesystem));
}

/// Event of a job request (also used for the function part of a lone
/// ack_data).
fn job_request(pdu: &Pdu<'_>) -> S7Event {
    let f = pdu.param.first().copied().unwrap_or(0);
    let (name, op, class) = job_function(f);
    let mut ev = S7Event {
        pdu_reference: pdu.header.pdu_ref,
        rosctr_code: pdu.header.rosctr,
        rosctr_name: rosctr_name(pdu.header.rosctr),
        function_code: f,
        function_name: name,
        op_function: op,
        op_code: u32::from(f),
        op_class: Some(class),
        ..S7Event::default()
    };
    let p = pdu.param;
    match f {
        func::SETUP_COMMUNICATION => {
            if let Some(s) = parse_setup(p) {
                ev.max_amq_calling = Some(s.max_amq_calling);
                ev.max_amq_called = Some(s.max_amq_called);
                ev.pdu_length = Some(s.pdu_length);
            }
        }
        func::READ_VAR | func::WRITE_VAR => {
            let Some((count, specs)) = var_specs(p) else {
                return ev;
            };
            let tsizes = push_items(&mut ev, u16::from(count), specs);
            if f == func::WRITE_VAR {
                for (i, item) in data_items(pdu.data, count).enumerate() {
                    let Some(Some(ts)) = tsizes.get(i) else {
                        continue;
                    };
                    if !decode_values(*ts, item.data, &mut ev.values, MAX_ITEMS) {
                        ev.truncated = true;
                        break;
                    }
                }
            }
        }
        func::REQUEST_DOWNLOAD..=func::END_UPLOAD => {
            if let Some(bc) = parse_block_control(p, true) {
                ev.function_status = Some(bc.status);
                if matches!(f, func::UPLOAD | func::END_UPLOAD | func::START_UPLOAD) {
                    ev.session_id = bc.upload_id;
                }
                ev.block_length = bc.length;
                if let Some(name) = bc.filename {
                    ev.filename = Some(text(name));
                    if let Some(n) = parse_block_name(name) {
                        set_block(&mut ev, &n);
                    }
                }
            }
        }
        func::PI_SERVICE => {
            if let Some(pi) = parse_pi_service(p) {
                let (op, class) = pi_op(pi.service);
                ev.op_function = op;
                ev.op_class = Some(class);
                ev.pi_service = Some(text(pi.service));
                if matches!(pi.service, b"_INSE" | b"_INS2" | b"_DELE") {
                    ev.block_count = pi.block.first().copied();
                    if let Some(n) = pi_blocks(pi.block).next().and_then(parse_block_name) {
                        set_block(&mut ev, &n);
                    }
                } else if !pi.block.is_empty() {
                    let a = text(pi.block.get(..64).unwrap_or(pi.block));
                    if !a.is_empty() {
                        ev.pi_argument = Some(a);
                    }
                }
            }
        }
        func::PLC_STOP => {
            ev.pi_service = parse_plc_stop(p).map(text);
        }
        _ => {}
    }
    ev
}

/// Fill an event from the job's ack / ack_data.
fn job_response(ev: &mut S7Event, pdu: &Pdu<'_>) {
    if let Some((c, e)) = pdu.header.error {
        ev.error_class = Some(c);
        ev.error_code = Some(e);
    }
    let p = pdu.param;
    let Some(&f) = p.first() else {
        return;
    };
    match f {
        func::SETUP_COMMUNICATION => {
            if let Some(s) = parse_setup(p) {
                ev.max_amq_calling = Some(s.max_amq_calling);
                ev.max_amq_called = Some(s.max_amq_called);
                ev.pdu_length = Some(s.pdu_length);
            }
        }
        func::READ_VAR => {
            let count = p.get(1).copied().unwrap_or(0);
            let codes = data_items(pdu.data, count).map(|i| i.return_code);
            merge_return_codes(ev, codes);
        }
        func::WRITE_VAR => {
            let count = p.get(1).copied().unwrap_or(0);
            let codes = write_return_codes(pdu.data, count).iter().copied();
            merge_return_codes(ev, codes);
        }
        func::REQUEST_DOWNLOAD..=func::END_UPLOAD => {
            if let Some(bc) = parse_block_control(p, false) {
                ev.function_status = Some(bc.status);
                if f == func::START_UPLOAD {
                    ev.session_id = bc.upload_id.or(ev.session_id);
                    ev.block_length = bc.length.or(ev.block_length);
                }
            }
        }
        _ => {}
    }
}

/// Add the request's variable specifications as items (a DBREAD item
/// expands into one item per DB area); returns each request item's
/// parameter transport size (S7ANY only) for decoding written values.
fn push_items(ev: &mut S7Event, count: u16, specs: VarSpecs<'_>) -> Vec<Option<u8>> {
    ev.item_count = Some(count);
    let mut tsizes = Vec::new();
    for (i, s) in specs.enumerate() {
        if i >= MAX_ITEMS {
            break;
        }
        tsizes.push(s.any.map(|a| a.transport_size));
        let req_index = i as u16;
        if s.syntax_id == syntax::DBREAD {
            for a in s.dbread_areas() {
                if ev.items.len() >= MAX_ITEMS {
                    ev.truncated = true;
                    break;
                }
                ev.items.push(S7Item {
                    syntax_id: Some(syntax_name(s.syntax_id)),
                    area: Some("DB"),
                    db_number: Some(a.db),
                    byte_address: Some(u32::from(a.start)),
                    transport_size: Some("BYTE"),
                    length: Some(u16::from(a.length)),
                    req_index,
                    ..S7Item::default()
                });
            }
            continue;
        }
        if ev.items.len() >= MAX_ITEMS {
            ev.truncated = true;
            break;
        }
        let mut it = S7Item {
            req_index,
            ..S7Item::default()
        };
        if s.syntax_id != syntax::S7ANY {
            it.syntax_id = Some(syntax_name(s.syntax_id));
        }
        if let Some(a) = s.any {
            let name = area_name(a.area);
            it.area = Some(name);
            if name == "unknown" {
                it.area_code = Some(a.area);
            }
            if matches!(a.area, 0x84 | 0x85) {
                it.db_number = Some(a.db);
            }
            if matches!(a.area, 0x1c..=0x1f) {
                it.number = Some(a.address);
            } else {
                it.byte_address = Some(a.address >> 3);
                let bit = (a.address & 7) as u8;
                if bit != 0 || a.transport_size == 0x01 {
                    it.bit_address = Some(bit);
                }
            }
            it.transport_size = Some(transport_size_name(a.transport_size));
            it.length = Some(a.length);
        }
        ev.items.push(it);
    }
    if usize::from(count) > tsizes.len() {
        ev.truncated = true;
    }
    tsizes
}

/// Put the response's item return codes on the request's items (all the
/// entries of an expanded DBREAD item get its code).
fn merge_return_codes(ev: &mut S7Event, codes: impl Iterator<Item = u8>) {
    for (i, rc) in codes.enumerate() {
        if rc != 0xff && ev.item_error.is_none() {
            ev.item_error = Some(rc);
        }
        let mut hit = false;
        for it in ev
            .items
            .iter_mut()
            .filter(|it| usize::from(it.req_index) == i)
        {
            it.return_code = Some(rc);
            hit = true;
        }
        if !hit && ev.items.len() < MAX_ITEMS && ev.response_only && i < MAX_ITEMS {
            ev.items.push(S7Item {
                return_code: Some(rc),
                req_index: i as u16,
                ..S7Item::default()
            });
        }
    }
}

/// Event skeleton of a userdata PDU.
fn userdata_event(pdu_ref: u16, up: &UserdataParam) -> S7Event {
    let (name, op, class) = userdata_function(up.group, up.subfunc);
    S7Event {
        pdu_reference: pdu_ref,
        rosctr_code: rosctr::USERDATA,
        rosctr_name: rosctr_name(rosctr::USERDATA),
        function_code: up.group,
        function_name: group_name(up.group),
        subfunction_code: Some(up.subfunc),
        subfunction_name: Some(name),
        op_function: op,
        op_code: 0x07_0000 | (u32::from(up.group) << 8) | u32::from(up.subfunc),
        op_class: Some(class),
        ..S7Event::default()
    }
}

/// Decode what a userdata request carries.
fn userdata_request(ev: &mut S7Event, up: &UserdataParam, data: &[u8]) {
    if up.data_unit_ref.is_some() {
        // Long parameter in a request: "send me the next part".
        ev.continuation = true;
        return;
    }
    let Some(d) = parse_userdata_data(data) else {
        return;
    };
    let b = d.payload;
    match (up.group, up.subfunc) {
        (0x2, 0x01 | 0x05 | 0x07) => {
            if let Some((count, specs)) = cyclic_specs(b) {
                ev.interval_timebase = b.get(2).copied();
                ev.interval_factor = b.get(3).copied();
                push_items(ev, count, specs);
            }
        }
        (0x4, 0x01) => {
            if let Some(s) = parse_szl(b) {
                ev.szl_id = Some(s.id);
                ev.szl_index = Some(s.index);
            }
        }
        (0x3, 0x02) => {
            if let [t0, t1, ..] = *b {
                ev.block_type = Some(match block_type_name([t0, t1]) {
                    Some(t) => t.to_string(),
                    None => text(&[t0, t1]),
                });
            }
        }
        (0x3, 0x03) => {
            if let Some(n) = parse_block_name(b) {
                set_block(ev, &n);
            }
        }
        (0x7, 0x02 | 0x04) => ev.clock = b.get(2..).and_then(s7_timestamp),
        _ => {}
    }
}

/// Decode what a userdata response (or push) carries.
fn userdata_response(ev: &mut S7Event, up: &UserdataParam, data: &[u8]) {
    if let Some(e) = up.error {
        ev.error_class = Some((e >> 8) as u8);
        ev.error_code = Some(e as u8);
    }
    let Some(d) = parse_userdata_data(data) else {
        return;
    };
    ev.return_code = Some(d.return_code);
    if ev.continuation {
        return;
    }
    let b = d.payload;
    match (up.group, up.subfunc) {
        (0x2, 0x01 | 0x05 | 0x07) if d.return_code == 0xff && !ev.response_only => {
            let codes = cyclic_data_items(b).map(|i| i.return_code);
            merge_return_codes(ev, codes.take(MAX_ITEMS));
        }
        (0x4, 0x01) if d.return_code == 0xff => {
            if let Some(s) = parse_szl(b) {
                ev.szl_id = Some(s.id);
                ev.szl_index = Some(s.index);
                identity(ev, s.id, s.records());
            }
        }
        (0x7, 0x01 | 0x03) if d.return_code == 0xff => {
            ev.clock = b.get(2..).and_then(s7_timestamp);
        }
        _ => {}
    }
}

/// Identity records of SZL 0x0011/0x0111 (module identification) and
/// 0x001c/0x011c (component identification).
fn identity<'a>(ev: &mut S7Event, id: u16, records: impl Iterator<Item = &'a [u8]>) {
    let set = |slot: &mut Option<String>, v: String| {
        if slot.is_none() && !v.is_empty() {
            *slot = Some(v);
        }
    };
    for r in records {
        let Some(&[i0, i1]) = r.get(..2) else {
            continue;
        };
        let index = u16::from_be_bytes([i0, i1]);
        let body = &r[2..];
        match id & 0x00ff {
            0x11 => match index {
                0x0001 | 0x0006 => set(&mut ev.order_number, text(body.get(..20).unwrap_or(body))),
                0x0007 => {
                    if let Some(&[_, _, b'V', x, y, z]) = body.get(20..26) {
                        set(&mut ev.firmware_version, format!("V{x}.{y}.{z}"));
                    }
                }
                _ => {}
            },
            0x1c => {
                let t = text(body);
                match index {
                    0x0001 => set(&mut ev.automation_system_name, t),
                    0x0002 => set(&mut ev.module_name, t),
                    0x0003 => set(&mut ev.plant_name, t),
                    0x0004 => set(&mut ev.copyright, t),
                    0x0005 => set(&mut ev.module_serial, t),
                    0x0007 => set(&mut ev.module_type_name, t),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}
