//! Per-flow S7comm-plus state: request/response pairing by sequence
//! number, fragment skipping, notifications.

use std::collections::VecDeque;

use super::event::{function_info, opcode_name, S7PlusEvent};
use super::parser::{function, opcode, parse_frame, parse_op, session_version, OpHeader};

/// Requests kept waiting for their response.
pub const MAX_PENDING: usize = 64;

/// Counters of one flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct S7PlusStats {
    /// PDUs decoded (first fragments and unfragmented PDUs).
    pub pdus: u64,
    /// TSDUs that did not parse.
    pub bad_pdus: u64,
    /// Continuation fragments skipped.
    pub fragments: u64,
    /// Keep-alive frames (version 0xfe/0xff).
    pub keepalives: u64,
    /// Responses without a pending request.
    pub unmatched_responses: u64,
    /// Requests logged request-only because the pending bound was reached.
    pub evicted: u64,
}

#[derive(Debug)]
struct Pending {
    to_server: bool,
    seq: Option<u16>,
    function: Option<u16>,
    ev: S7PlusEvent,
}

/// Per-flow S7comm-plus state.
#[derive(Debug, Default)]
pub struct S7PlusState {
    pending: VecDeque<Pending>,
    next_tx: u64,
    /// Per direction (to-server, to-client): inside a fragmented PDU.
    in_fragment: [bool; 2],
    /// Counters.
    pub stats: S7PlusStats,
}

impl S7PlusState {
    /// New state.
    pub fn new() -> S7PlusState {
        S7PlusState::default()
    }

    /// Requests waiting for a response.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Decode one TSDU of direction `to_server`.
    pub fn input_tsdu(&mut self, to_server: bool, tsdu: &[u8], out: &mut Vec<S7PlusEvent>) {
        let Ok(f) = parse_frame(tsdu) else {
            self.stats.bad_pdus += 1;
            return;
        };
        if f.version >= 0xfe {
            self.stats.keepalives += 1;
            return;
        }
        let dir = usize::from(!to_server);
        if self.in_fragment[dir] {
            // Continuation of a fragmented PDU: its data is not a header.
            self.stats.fragments += 1;
            self.in_fragment[dir] = !f.trailer;
            return;
        }
        self.in_fragment[dir] = !f.trailer;
        let Some(h) = parse_op(f.version, f.data) else {
            self.stats.bad_pdus += 1;
            return;
        };
        self.stats.pdus += 1;
        match h.opcode {
            opcode::REQUEST => {
                let ev = event(f.version, &h);
                if self.pending.len() >= MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        self.stats.evicted += 1;
                        self.emit(old.ev, out);
                    }
                }
                self.pending.push_back(Pending {
                    to_server,
                    seq: h.seq,
                    function: h.function,
                    ev,
                });
            }
            opcode::RESPONSE | opcode::RESPONSE2 => {
                let ident = if h.function == Some(function::CREATE_OBJECT) {
                    session_version(f.data).map(|(m, v)| {
                        (
                            String::from_utf8_lossy(m).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        )
                    })
                } else {
                    None
                };
                let pos = self.pending.iter().position(|p| {
                    p.to_server != to_server && p.seq == h.seq && p.function == h.function
                });
                match pos.and_then(|i| self.pending.remove(i)) {
                    Some(mut p) => {
                        p.ev.return_value = h.return_value;
                        p.ev.object_id = p.ev.object_id.or(h.object_id);
                        p.ev.integrity |= h.integrity;
                        if let Some((m, v)) = ident {
                            p.ev.order_number = Some(m);
                            p.ev.firmware_version = Some(v);
                        }
                        self.emit(p.ev, out);
                    }
                    None => {
                        self.stats.unmatched_responses += 1;
                        let mut ev = event(f.version, &h);
                        ev.response_only = true;
                        if let Some((m, v)) = ident {
                            ev.order_number = Some(m);
                            ev.firmware_version = Some(v);
                        }
                        self.emit(ev, out);
                    }
                }
            }
            _ => {
                let mut ev = event(f.version, &h);
                ev.response_only = true;
                self.emit(ev, out);
            }
        }
    }

    fn emit(&mut self, mut ev: S7PlusEvent, out: &mut Vec<S7PlusEvent>) {
        ev.tx_id = self.next_tx;
        self.next_tx += 1;
        out.push(ev);
    }

    /// Bytes were lost in one direction: forget the fragment state.
    pub fn gap(&mut self, to_server: bool) {
        self.in_fragment[usize::from(!to_server)] = false;
    }

    /// Flow end: log the requests still waiting for a response.
    pub fn finish(&mut self, out: &mut Vec<S7PlusEvent>) {
        while let Some(p) = self.pending.pop_front() {
            self.emit(p.ev, out);
        }
    }
}

fn event(version: u8, h: &OpHeader) -> S7PlusEvent {
    S7PlusEvent {
        version,
        opcode: h.opcode,
        opcode_name: opcode_name(h.opcode),
        function_code: h.function,
        function_name: h.function.map(|f| function_info(f).0),
        sequence_number: h.seq,
        session_id: h.session_id,
        object_id: h.object_id,
        subscription_id: h.subscription_id,
        return_value: h.return_value,
        integrity: h.integrity,
        ..S7PlusEvent::default()
    }
}
