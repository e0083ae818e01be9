//! Per-flow HART-IP state: TCP framing by the header byte count, request /
//! response pairing by sequence number.

use std::collections::VecDeque;

use super::event::{
    command_info, message_info, message_type_name, DirectCommandEntry, HartIpEvent,
};
use super::parser::{
    latin1, packed_ascii, parse_direct_pdu, parse_header, parse_pdu, parse_session_initiate,
    parse_unique_id, Header, FT_ACK, FT_BACK, FT_STX, HEADER_LEN, MAX_MESSAGE, MT_PUBLISH,
};
use crate::proto::common::{Frame, StreamBuf};

/// Unanswered requests kept per flow.
pub const MAX_PENDING: usize = 64;
/// Distinct published commands remembered per flow (publish events are
/// emitted once per command number; the rest are counted).
pub const MAX_PUBLISH_KINDS: usize = 16;

/// Per-flow HART-IP state (TCP and UDP).
#[derive(Debug)]
pub struct HartIpState {
    ts: StreamBuf,
    tc: StreamBuf,
    core: Core,
}

#[derive(Debug, Default)]
struct Core {
    pending: VecDeque<HartIpEvent>,
    published: Vec<u16>,
    next_tx: u64,
    errors: u64,
    publishes: u64,
}

impl Default for HartIpState {
    fn default() -> Self {
        HartIpState {
            ts: StreamBuf::new(MAX_MESSAGE),
            tc: StreamBuf::new(MAX_MESSAGE),
            core: Core::default(),
        }
    }
}

/// TCP framer: the header's byte count.
fn frame(h: &[u8], _resync: bool) -> Frame {
    if h.len() < HEADER_LEN {
        // Check what we have of the fixed fields.
        return match h {
            [v, ..] if !(1..=2).contains(v) => Frame::Skip(1),
            [_, t, ..] if !matches!(t & 0x0f, 0..=3 | 15) => Frame::Skip(1),
            _ => Frame::Need,
        };
    }
    match parse_header(h) {
        Ok(hd) => Frame::Len(usize::from(hd.byte_count)),
        Err(_) => Frame::Skip(1),
    }
}

impl HartIpState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<HartIpEvent>) {
        let sb = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let core = &mut self.core;
        sb.feed(data, frame, |m| core.message(m, out));
    }

    /// Bytes lost in one direction.
    pub fn gap(&mut self, to_server: bool) {
        if to_server {
            self.ts.gap();
        } else {
            self.tc.gap();
        }
    }

    /// One UDP datagram (one HART-IP message; trailing bytes ignored).
    pub fn datagram(&mut self, _to_server: bool, payload: &[u8], out: &mut Vec<HartIpEvent>) {
        let len = match parse_header(payload) {
            Ok(h) => usize::from(h.byte_count).min(payload.len()),
            Err(_) => {
                self.core.errors += 1;
                return;
            }
        };
        self.core.message(&payload[..len], out);
    }

    /// Flow end: unanswered requests become request-only events.
    pub fn finish(&mut self, out: &mut Vec<HartIpEvent>) {
        while let Some(mut e) = self.core.pending.pop_front() {
            e.tx_id = self.core.tx();
            out.push(e);
        }
    }

    /// Unanswered requests held.
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    /// Bytes buffered by the TCP framers.
    pub fn buffered(&self) -> usize {
        self.ts.buffered() + self.tc.buffered()
    }

    /// Publish messages seen (events are emitted for the first of each
    /// command only).
    pub fn publishes(&self) -> u64 {
        self.core.publishes
    }

    /// Messages that failed to parse.
    pub fn errors(&self) -> u64 {
        self.core.errors
    }
}

fn frame_type_name(ft: u8) -> &'static str {
    match ft {
        FT_STX => "stx",
        FT_ACK => "ack",
        FT_BACK => "back",
        _ => "unknown",
    }
}

impl Core {
    fn tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn message(&mut self, m: &[u8], out: &mut Vec<HartIpEvent>) {
        let h = match parse_header(m) {
            Ok(h) => h,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        let body = m
            .get(HEADER_LEN..usize::from(h.byte_count).min(m.len()))
            .unwrap_or(&[]);
        if h.is_response() {
            self.response(&h, body, out);
        } else if h.message_type == MT_PUBLISH {
            self.publishes += 1;
            let mut e = base_event(&h, "publish");
            decode_body(&mut e, &h, body, true);
            let key = e.command.unwrap_or(u16::MAX);
            if self.published.contains(&key) || self.published.len() >= MAX_PUBLISH_KINDS {
                return;
            }
            self.published.push(key);
            e.tx_id = self.tx();
            out.push(e);
        } else {
            let mut e = base_event(&h, "request");
            decode_body(&mut e, &h, body, false);
            if self.pending.len() >= MAX_PENDING {
                if let Some(mut old) = self.pending.pop_front() {
                    old.tx_id = self.tx();
                    out.push(old);
                }
            }
            self.pending.push_back(e);
        }
    }

    fn response(&mut self, h: &Header, body: &[u8], out: &mut Vec<HartIpEvent>) {
        let idx = self
            .pending
            .iter()
            .position(|p| p.sequence_number == h.sequence && p.message_id == h.message_id)
            .or_else(|| {
                // Error / NAK answers may not echo the message id.
                (h.message_type != 1)
                    .then(|| {
                        self.pending
                            .iter()
                            .position(|p| p.sequence_number == h.sequence)
                    })
                    .flatten()
            });
        let mut e = match idx.and_then(|i| self.pending.remove(i)) {
            Some(mut e) => {
                e.kind = "transaction";
                e
            }
            None => base_event(h, "response"),
        };
        e.status = Some(h.status);
        if h.message_type != 1 {
            e.response_type = Some(message_type_name(h.message_type));
        }
        decode_body(&mut e, h, body, true);
        e.tx_id = self.tx();
        out.push(e);
    }
}

fn base_event(h: &Header, kind: &'static str) -> HartIpEvent {
    HartIpEvent {
        kind,
        version: h.version,
        message: message_info(h.message_id).0,
        message_id: h.message_id,
        sequence_number: h.sequence,
        ..HartIpEvent::default()
    }
}

/// Decode a message body into the event. Request fields are only filled
/// when still empty, so a paired response does not overwrite the request.
fn decode_body(e: &mut HartIpEvent, h: &Header, body: &[u8], response: bool) {
    match h.message_id {
        0 => {
            if let Some((mt, timer)) = parse_session_initiate(body) {
                e.master_type.get_or_insert(mt);
                e.inactivity_close_timer.get_or_insert(timer);
            }
        }
        3 => {
            let Ok(p) = parse_pdu(body) else {
                return;
            };
            if e.command.is_none() {
                e.frame_type = Some(frame_type_name(p.frame_type()));
                e.address = Some(p.address_hex());
                e.command = Some(p.command);
                e.command_name = Some(command_info(p.command).0);
                e.unit = Some(p.unit());
            }
            if p.frame_type() == FT_STX {
                return;
            }
            e.response_code = p.response_code;
            e.device_status = p.device_status;
            if p.response_code
                .is_some_and(|rc| rc != 0 && rc != 8 && rc != 14)
            {
                return;
            }
            match p.command {
                0 | 11 | 21 => {
                    if let Some(u) = parse_unique_id(p.data) {
                        e.device_type = Some(u.device_type);
                        e.manufacturer_id = Some(u.manufacturer_id);
                        e.device_id = Some(u.device_id);
                        e.hart_revision = Some(u.hart_revision);
                        e.device_revision = Some(u.device_revision);
                        e.software_revision = Some(u.software_revision);
                    }
                }
                13 => e.tag = p.data.get(..6).and_then(packed_ascii),
                20 => e.long_tag = p.data.get(..32).and_then(latin1),
                _ => {}
            }
        }
        4 => {
            let Ok(d) = parse_direct_pdu(body, response) else {
                return;
            };
            if response && !e.commands.is_empty() {
                for (slot, c) in e.commands.iter_mut().zip(d.commands.iter()) {
                    slot.response_code = c.response_code;
                }
            } else if e.commands.is_empty() {
                e.commands = d
                    .commands
                    .iter()
                    .map(|c| DirectCommandEntry {
                        command: c.command,
                        command_name: command_info(c.command).0,
                        response_code: c.response_code,
                    })
                    .collect();
                e.truncated = d.truncated;
            }
            if response {
                e.device_status = Some(d.device_status);
                e.response_code = d.commands.first().and_then(|c| c.response_code);
            }
        }
        5 if !response => {
            e.start_record = body.first().copied();
            e.number_of_records = body.get(1).copied();
        }
        _ => {}
    }
}
