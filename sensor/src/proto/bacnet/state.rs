//! Per-flow BACnet state: pairs confirmed requests with their
//! ack/error/reject/abort by (invoke id, requesting side), follows
//! segmented messages, pairs BVLC control requests with their result, and
//! remembers each side's device instance. Everything is bounded.

use super::event::{ApduInfo, BacnetEvent, BvlcInfo, NetworkMessage, NpduInfo};
use super::parser::{self, bvlc, pdu};

/// Most confirmed requests awaiting an answer per flow.
pub const MAX_PENDING: usize = 64;
/// Recently completed transactions remembered to absorb trailing
/// segment-ACKs and duplicate segments.
const RECENT: usize = 8;

#[derive(Debug)]
struct Pending {
    invoke_id: u8,
    to_server: bool,
    service: u8,
    ev: BacnetEvent,
}

/// Per-flow BACnet/IP state.
#[derive(Debug, Default)]
pub struct BacnetState {
    pending: Vec<Pending>,
    /// (invoke id, request direction) of recently finished transactions.
    recent: Vec<(u8, bool)>,
    /// A BVLC control request awaiting its result: (direction, event).
    bvlc_pending: Option<(bool, BacnetEvent)>,
    /// Device instance of [client side, server side], when learned.
    device: [Option<u32>; 2],
    next_tx: u64,
    /// Datagrams that did not parse.
    pub malformed: u64,
}

fn side(sender_to_server: bool) -> usize {
    // A datagram sent to the server comes from the client (index 0).
    usize::from(!sender_to_server)
}

impl BacnetState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pending transactions (for tests and metrics).
    pub fn pending_len(&self) -> usize {
        self.pending.len() + usize::from(self.bvlc_pending.is_some())
    }

    fn emit(&mut self, mut ev: BacnetEvent, out: &mut Vec<BacnetEvent>) {
        ev.tx_id = self.next_tx;
        self.next_tx += 1;
        out.push(ev);
    }

    fn remember(&mut self, key: (u8, bool)) {
        if self.recent.len() >= RECENT {
            self.recent.remove(0);
        }
        self.recent.push(key);
    }

    /// Unit of a request: the addressed device object, else the device
    /// instance learned for the receiving side.
    fn unit_for(&self, req: &ApduInfo, to_server: bool) -> Option<u32> {
        match req.object {
            Some((8, i)) if i != 4_194_303 => Some(i),
            _ => self.device[side(!to_server)],
        }
    }

    /// Decode one UDP payload of the flow; `to_server` is its direction.
    pub fn datagram(&mut self, to_server: bool, payload: &[u8], out: &mut Vec<BacnetEvent>) {
        let b = match parser::parse_bvlc(payload) {
            Ok(b) => b,
            Err(_) => {
                self.malformed += 1;
                return;
            }
        };
        let mut ev = BacnetEvent {
            is_orig: to_server,
            bvlc_function: parser::bvlc_function_name(b.function),
            bvlc_code: b.function,
            forwarded_from: b
                .forwarded_from
                .map(|(a, p)| format!("{}.{}.{}.{}:{}", a[0], a[1], a[2], a[3], p)),
            ..BacnetEvent::default()
        };
        let Some(npdu_bytes) = b.npdu else {
            self.bvlc_control(to_server, &b, ev, out);
            return;
        };
        let n = match parser::parse_npdu(npdu_bytes) {
            Ok(n) => n,
            Err(_) => {
                self.malformed += 1;
                return;
            }
        };
        ev.npdu = NpduInfo::from_npdu(&n);
        if n.is_network_message() {
            ev.network_message = NetworkMessage::from_npdu(&n);
            self.emit(ev, out);
            return;
        }
        let a = match parser::parse_apdu(n.payload) {
            Ok(a) => a,
            Err(_) => {
                self.malformed += 1;
                return;
            }
        };
        match a.pdu_type {
            pdu::CONFIRMED_REQUEST => self.confirmed_request(to_server, &a, ev, out),
            pdu::UNCONFIRMED_REQUEST => {
                let service = a.service.unwrap_or(0);
                let mut info = ApduInfo::from_apdu(&a);
                let s = parser::decode_request(false, service, a.params);
                let written = matches!(service, 2 | 10 | 11);
                info.add_service(&s, written);
                if service == parser::unconfirmed::I_AM {
                    if let Some(d) = s.device {
                        self.device[side(to_server)] = Some(d);
                    }
                }
                if matches!(
                    service,
                    parser::unconfirmed::I_AM
                        | parser::unconfirmed::I_HAVE
                        | parser::unconfirmed::UNCONFIRMED_COV_NOTIFICATION
                ) {
                    ev.unit = s.device;
                }
                ev.request = Some(info);
                self.emit(ev, out);
            }
            pdu::SEGMENT_ACK => {
                let id = a.invoke_id.unwrap_or(0);
                // SRV=1: the server acks the client's request segments.
                let req_dir = if a.server { !to_server } else { to_server };
                if let Some(p) = self
                    .pending
                    .iter_mut()
                    .find(|p| p.invoke_id == id && p.to_server == req_dir)
                {
                    let target = if a.server {
                        p.ev.request.as_mut()
                    } else {
                        p.ev.response.as_mut().or(p.ev.request.as_mut())
                    };
                    if let Some(t) = target {
                        t.segment_acks = Some(t.segment_acks.unwrap_or(0) + 1);
                    }
                } else if !self.recent.contains(&(id, req_dir)) {
                    ev.is_orig = to_server;
                    ev.response = Some(ApduInfo::from_apdu(&a));
                    self.emit(ev, out);
                }
            }
            _ => self.answer(to_server, &a, ev, out),
        }
    }

    fn confirmed_request(
        &mut self,
        to_server: bool,
        a: &parser::Apdu<'_>,
        mut ev: BacnetEvent,
        out: &mut Vec<BacnetEvent>,
    ) {
        let id = a.invoke_id.unwrap_or(0);
        let service = a.service.unwrap_or(0);
        let idx = self
            .pending
            .iter()
            .position(|p| p.invoke_id == id && p.to_server == to_server);
        // Further segment of a segmented request.
        if a.segmented && a.sequence_number.unwrap_or(0) > 0 {
            if let Some(i) = idx {
                if let Some(r) = self.pending[i].ev.request.as_mut() {
                    r.segments = Some(r.segments.unwrap_or(1) + 1);
                }
            }
            return;
        }
        if let Some(i) = idx {
            if self.pending[i].service == service && self.pending[i].ev.response.is_none() {
                if let Some(r) = self.pending[i].ev.request.as_mut() {
                    r.retries = Some(r.retries.unwrap_or(0) + 1);
                }
                return;
            }
            let old = self.pending.remove(i);
            self.emit(old.ev, out);
        }
        let mut info = ApduInfo::from_apdu(a);
        let s = parser::decode_request(true, service, a.params);
        let written = matches!(service, 1 | 8 | 15 | 16 | 27);
        info.add_service(&s, written);
        ev.unit = self.unit_for(&info, to_server);
        ev.request = Some(info);
        if self.pending.len() >= MAX_PENDING {
            let old = self.pending.remove(0);
            self.emit(old.ev, out);
        }
        self.pending.push(Pending {
            invoke_id: id,
            to_server,
            service,
            ev,
        });
    }

    fn answer(
        &mut self,
        to_server: bool,
        a: &parser::Apdu<'_>,
        mut ev: BacnetEvent,
        out: &mut Vec<BacnetEvent>,
    ) {
        let id = a.invoke_id.unwrap_or(0);
        // An abort from the requester (SRV=0) travels in the request's
        // direction; everything else comes back the other way.
        let req_dir = if a.pdu_type == pdu::ABORT && !a.server {
            to_server
        } else {
            !to_server
        };
        let idx = self
            .pending
            .iter()
            .position(|p| p.invoke_id == id && p.to_server == req_dir);
        let seq = a.sequence_number.unwrap_or(0);
        if a.pdu_type == pdu::COMPLEX_ACK && a.segmented && seq > 0 {
            // Later segment of a segmented ack.
            if let Some(i) = idx {
                if let Some(r) = self.pending[i].ev.response.as_mut() {
                    r.segments = Some(r.segments.unwrap_or(1) + 1);
                }
                if !a.more_follows {
                    self.complete(i, out);
                }
                return;
            }
            if self.recent.contains(&(id, req_dir)) {
                return;
            }
        }
        let mut info = ApduInfo::from_apdu(a);
        if a.pdu_type == pdu::COMPLEX_ACK {
            let s = parser::decode_ack(a.service.unwrap_or(0), a.params);
            info.add_service(&s, false);
            if a.segmented {
                // Values of a segmented ack are incomplete.
                info.malformed = false;
                info.truncated |= a.more_follows;
            }
        }
        match idx {
            Some(i) => {
                if a.pdu_type == pdu::COMPLEX_ACK {
                    let learned = match info.object {
                        Some((8, d)) if d != 4_194_303 => Some(d),
                        _ => info.learned_device,
                    };
                    if let Some(d) = learned {
                        self.device[side(to_server)] = Some(d);
                        if self.pending[i].ev.unit.is_none() {
                            self.pending[i].ev.unit = Some(d);
                        }
                    }
                }
                let more = a.pdu_type == pdu::COMPLEX_ACK && a.segmented && a.more_follows;
                self.pending[i].ev.response = Some(info);
                if !more {
                    self.complete(i, out);
                }
            }
            None => {
                if self.recent.contains(&(id, req_dir)) && a.pdu_type == pdu::ABORT {
                    return;
                }
                ev.is_orig = to_server;
                ev.unit = self.device[side(to_server)];
                ev.response = Some(info);
                self.emit(ev, out);
            }
        }
    }

    fn complete(&mut self, i: usize, out: &mut Vec<BacnetEvent>) {
        let p = self.pending.remove(i);
        self.remember((p.invoke_id, p.to_server));
        let mut ev = p.ev;
        if ev.unit.is_none() {
            ev.unit = self.device[side(!p.to_server)];
        }
        self.emit(ev, out);
    }

    fn bvlc_control(
        &mut self,
        to_server: bool,
        b: &parser::Bvlc<'_>,
        mut ev: BacnetEvent,
        out: &mut Vec<BacnetEvent>,
    ) {
        let info = BvlcInfo {
            ttl: b.ttl,
            entries: b.entries,
            result: b.result_code.map(|c| {
                super::names::bvlc_result(c).map_or_else(|| format!("{c:#06x}"), str::to_string)
            }),
            result_code: b.result_code,
        };
        let is_answer = matches!(
            b.function,
            bvlc::RESULT | bvlc::READ_BDT_ACK | bvlc::READ_FDT_ACK
        );
        if is_answer {
            if let Some((dir, mut req)) = self.bvlc_pending.take() {
                if dir != to_server {
                    let r = req.bvlc.get_or_insert_with(BvlcInfo::default);
                    r.result = info.result.clone().or_else(|| Some("ack".to_string()));
                    r.result_code = info.result_code;
                    if r.entries.is_none() {
                        r.entries = info.entries;
                    }
                    self.emit(req, out);
                    return;
                }
                self.bvlc_pending = Some((dir, req));
            }
            ev.bvlc = Some(info);
            self.emit(ev, out);
            return;
        }
        ev.bvlc = Some(info);
        if b.function == bvlc::SECURE_BVLL {
            self.emit(ev, out);
            return;
        }
        if let Some((_, old)) = self.bvlc_pending.take() {
            self.emit(old, out);
        }
        self.bvlc_pending = Some((to_server, ev));
    }

    /// Flow end: emit unanswered requests.
    pub fn finish(&mut self, out: &mut Vec<BacnetEvent>) {
        for p in std::mem::take(&mut self.pending) {
            let mut ev = p.ev;
            if ev.unit.is_none() {
                ev.unit = self.device[side(!p.to_server)];
            }
            self.emit(ev, out);
        }
        if let Some((_, ev)) = self.bvlc_pending.take() {
            self.emit(ev, out);
        }
    }
}
