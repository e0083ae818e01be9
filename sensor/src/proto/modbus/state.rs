//! Per-flow Modbus/TCP state: MBAP framing of both directions, pairing of
//! responses with pending requests, bounds and gap resynchronisation.

use std::cell::Cell;
use std::collections::VecDeque;

use super::event::{ModbusEvent, ModbusMessage};
use super::parser::{
    matches, parse_adu, parse_mbap, Direction, FunctionCode, Message, MAX_ADU, MAX_LENGTH,
    MBAP_LEN, MIN_LENGTH,
};
use crate::proto::common::{Frame, StreamBuf};

/// Requests kept waiting for their response; the oldest is logged alone
/// beyond this.
pub const MAX_PENDING: usize = 64;

/// Is `fc` a function code a resynchronising framer accepts: a named
/// public code, its exception form (responses), or Schneider's 90.
fn plausible_function(fc: u8, to_server: bool) -> bool {
    let code = fc & 0x7f;
    if fc & 0x80 != 0 && to_server {
        return false;
    }
    code == 90 || FunctionCode::from_u8(code) != FunctionCode::Unknown
}

/// One direction: the framer and its resynchronisation flags.
#[derive(Debug)]
struct Dir {
    sb: StreamBuf,
    /// Bytes of a bad-length ADU still to drop (its header was logged).
    discard: Cell<usize>,
    /// After garbage: accept only strict headers until one fits.
    strict: Cell<bool>,
}

impl Default for Dir {
    fn default() -> Dir {
        Dir {
            sb: StreamBuf::new(MAX_ADU),
            discard: Cell::new(0),
            strict: Cell::new(false),
        }
    }
}

/// Frame one MBAP ADU at the head of `h`.
fn frame(dir: &DirView<'_>, h: &[u8], resync: bool, to_server: bool) -> Frame {
    let d = dir.discard.get();
    if d > 0 {
        let n = d.min(h.len());
        if n == 0 {
            return Frame::Need;
        }
        dir.discard.set(d - n);
        return Frame::Skip(n);
    }
    let Some(mbap) = parse_mbap(h) else {
        return Frame::Need;
    };
    let len_ok = (MIN_LENGTH..=MAX_LENGTH).contains(&mbap.length);
    if resync || dir.strict.get() {
        if mbap.protocol_id != 0 || !len_ok {
            dir.strict.set(true);
            return Frame::Skip(1);
        }
        let Some(&fc) = h.get(MBAP_LEN + 1) else {
            return Frame::Need;
        };
        if !plausible_function(fc, to_server) {
            dir.strict.set(true);
            return Frame::Skip(1);
        }
    } else if mbap.protocol_id != 0 && !len_ok {
        dir.strict.set(true);
        return Frame::Skip(1);
    }
    if len_ok {
        Frame::Len(MBAP_LEN + usize::from(mbap.length))
    } else {
        // Protocol id 0 but a length outside 2..=254: the header alone is
        // logged (as Suricata does, with DATA_LENGTH) and the declared
        // bytes are dropped.
        Frame::Len(MBAP_LEN)
    }
}

/// A request waiting for its response: its raw ADU (at most 260 bytes).
#[derive(Debug)]
struct Pending {
    tx: u64,
    adu: Vec<u8>,
}

/// Pairing and event emission (both directions share it).
#[derive(Debug, Default)]
struct Pairing {
    pending: VecDeque<Pending>,
    next_tx: u64,
    /// ADUs parsed (both directions).
    pdus: u64,
}

impl Pairing {
    fn new_tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn event(tx: u64, req: Option<&Message<'_>>, resp: Option<&Message<'_>>) -> ModbusEvent {
        ModbusEvent {
            tx,
            id: tx + 1,
            request: req.map(ModbusMessage::from_parsed),
            response: resp.map(ModbusMessage::from_parsed),
        }
    }

    fn request_only(p: &Pending) -> Option<ModbusEvent> {
        let m = parsed(&p.adu, Direction::Request)?;
        Some(Self::event(p.tx, Some(&m), None))
    }

    fn adu(&mut self, to_server: bool, adu: &[u8], out: &mut Vec<ModbusEvent>) {
        let dir = if to_server {
            Direction::Request
        } else {
            Direction::Response
        };
        let Some(mut msg) = parsed(adu, dir) else {
            return;
        };
        self.pdus += 1;
        if to_server {
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    out.extend(Self::request_only(&old));
                }
            }
            let tx = self.new_tx();
            self.pending.push_back(Pending {
                tx,
                adu: adu.to_vec(),
            });
            return;
        }
        // Response: first pending request it matches (Suricata's rule).
        let mut found = None;
        for (i, p) in self.pending.iter().enumerate() {
            // Cheap pre-check on tid and unit before re-parsing.
            if p.adu.get(..2) != adu.get(..2) || p.adu.get(6) != adu.get(6) {
                continue;
            }
            let Some(req) = parsed(&p.adu, Direction::Request) else {
                continue;
            };
            let (ok, mismatch) = matches(&msg, &req);
            if ok {
                if mismatch {
                    msg.error_flags |= super::parser::error_flags::DATA_VALUE;
                }
                found = Some(i);
                break;
            }
        }
        match found.and_then(|i| self.pending.remove(i)) {
            Some(p) => {
                if let Some(req) = parsed(&p.adu, Direction::Request) {
                    out.push(Self::event(p.tx, Some(&req), Some(&msg)));
                }
            }
            None => {
                let tx = self.new_tx();
                out.push(Self::event(tx, None, Some(&msg)));
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<ModbusEvent>) {
        while let Some(p) = self.pending.pop_front() {
            out.extend(Self::request_only(&p));
        }
    }
}

/// Parse an ADU the framer accepted; a bad-length header becomes the
/// empty message Suricata logs for it.
fn parsed(adu: &[u8], dir: Direction) -> Option<Message<'_>> {
    match parse_adu(adu, dir) {
        Ok(m) => Some(m),
        Err(super::parser::ModbusError::BadLength(_)) => {
            let h = parse_mbap(adu)?;
            Some(Message {
                transaction_id: h.transaction_id,
                protocol_id: h.protocol_id,
                length: h.length,
                unit_id: 0,
                function_raw: 0,
                function: FunctionCode::Unknown,
                access_type: 0,
                category: 0,
                error_flags: super::parser::error_flags::DATA_LENGTH
                    | if h.protocol_id != 0 {
                        super::parser::error_flags::PROTO_ID
                    } else {
                        0
                    },
                data: super::parser::Data::Empty,
            })
        }
        Err(_) => None,
    }
}

/// Per-flow Modbus/TCP state.
#[derive(Debug, Default)]
pub struct ModbusState {
    ts: Dir,
    tc: Dir,
    pairing: Pairing,
}

impl ModbusState {
    /// Feed in-order stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<ModbusEvent>) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let pairing = &mut self.pairing;
        let Dir {
            sb,
            discard,
            strict,
        } = dir;
        let view = DirView { discard, strict };
        sb.feed(
            data,
            |h, resync| frame(&view, h, resync, to_server),
            |adu| {
                view.strict.set(false);
                if let Some(h) = parse_mbap(adu) {
                    if !(MIN_LENGTH..=MAX_LENGTH).contains(&h.length) {
                        view.discard.set(usize::from(h.length));
                    }
                }
                pairing.adu(to_server, adu, out);
            },
        );
    }

    /// Bytes were lost in one direction: drop the partial ADU and
    /// resynchronise on the next plausible header.
    pub fn gap(&mut self, to_server: bool) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        dir.sb.gap();
        dir.discard.set(0);
        dir.strict.set(true);
    }

    /// Flow end: log requests still unanswered.
    pub fn finish(&mut self, out: &mut Vec<ModbusEvent>) {
        self.pairing.flush(out);
    }

    /// Bytes buffered plus bytes held by pending requests (bounded by
    /// `2 * 260 + 64 * 260`).
    pub fn memory(&self) -> usize {
        self.ts.sb.buffered()
            + self.tc.sb.buffered()
            + self
                .pairing
                .pending
                .iter()
                .map(|p| p.adu.len())
                .sum::<usize>()
    }

    /// ADUs parsed so far.
    pub fn pdus(&self) -> u64 {
        self.pairing.pdus
    }
}

/// The framer's view of a direction's flags (shared by both closures).
struct DirView<'a> {
    discard: &'a Cell<usize>,
    strict: &'a Cell<bool>,
}
