//! Per-flow EtherNet/IP state: encapsulation framing over TCP, one message
//! per UDP datagram, request/response pairing, bounds and resync.

use std::cell::Cell;
use std::collections::VecDeque;

use super::event::{EnipEvent, EnipMessage};
use super::parser::{command, parse_header, status_name, HEADER_LEN};
use crate::proto::common::{Frame, StreamBuf};

/// Largest encapsulation message buffered (header + 16 KiB of data); longer
/// ones are skipped. CIP messages are at most ~4 KiB even with
/// Large_Forward_Open connections.
pub const MAX_PDU: usize = HEADER_LEN + 16 * 1024;
/// Requests waiting for a response; the oldest is logged alone beyond.
pub const MAX_PENDING: usize = 64;

/// A header a resynchronising framer accepts: known command and status,
/// plausible length and no options.
fn strict_header(h: &[u8]) -> Option<bool> {
    let hd = parse_header(h)?;
    Some(
        command::name(hd.command).is_some()
            && status_name(hd.status).is_some()
            && hd.options == 0
            && usize::from(hd.length) + HEADER_LEN <= MAX_PDU,
    )
}

fn frame(strict: &Cell<bool>, h: &[u8], resync: bool) -> Frame {
    let Some(hd) = parse_header(h) else {
        return Frame::Need;
    };
    if (resync || strict.get()) && strict_header(h) != Some(true) {
        strict.set(true);
        return Frame::Skip(1);
    }
    Frame::Len(HEADER_LEN + usize::from(hd.length))
}

#[derive(Debug)]
struct Dir {
    sb: StreamBuf,
    strict: Cell<bool>,
}

impl Default for Dir {
    fn default() -> Dir {
        Dir {
            sb: StreamBuf::new(MAX_PDU),
            strict: Cell::new(false),
        }
    }
}

#[derive(Debug)]
struct Pending {
    tx: u64,
    msg: EnipMessage,
}

/// Suricata's response-to-request rule: same command; same session
/// (except RegisterSession, whose reply carries the new handle); for CIP,
/// equal sequence counts when both second items are connected data; a
/// CIP request needs a CIP reply and the other way round. "CIP" here is a
/// well-formed CPF (Suricata's parser also rejects non-logical paths and
/// then leaves such transactions unpaired).
fn suricata_match(req: &EnipMessage, resp: &EnipMessage) -> bool {
    if req.command != resp.command {
        return false;
    }
    if req.session != resp.session && req.command != command::REGISTER_SESSION {
        return false;
    }
    match (req.is_cip(), resp.is_cip()) {
        (true, true) => match (req.seq, resp.seq) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        },
        (false, false) => true,
        _ => false,
    }
}

#[derive(Debug, Default)]
struct Pairing {
    pending: VecDeque<Pending>,
    next_tx: u64,
    pdus: u64,
    errors: u64,
}

impl Pairing {
    fn new_tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn pdu(&mut self, to_server: bool, pdu: &[u8], out: &mut Vec<EnipEvent>) {
        let msg = match EnipMessage::parse(pdu, to_server) {
            Ok(m) => m,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        self.pdus += 1;
        if to_server {
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    out.push(EnipEvent {
                        tx: old.tx,
                        request: Some(old.msg),
                        response: None,
                    });
                }
            }
            let tx = self.new_tx();
            self.pending.push_back(Pending { tx, msg });
            return;
        }
        // A pending request with the same sender context first (the target
        // echoes it), then Suricata's rule alone.
        let pos = self
            .pending
            .iter()
            .position(|p| suricata_match(&p.msg, &msg) && p.msg.context == msg.context)
            .or_else(|| {
                self.pending
                    .iter()
                    .position(|p| suricata_match(&p.msg, &msg))
            });
        match pos.and_then(|i| self.pending.remove(i)) {
            Some(p) => out.push(EnipEvent {
                tx: p.tx,
                request: Some(p.msg),
                response: Some(msg),
            }),
            None => {
                let tx = self.new_tx();
                out.push(EnipEvent {
                    tx,
                    request: None,
                    response: Some(msg),
                });
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<EnipEvent>) {
        while let Some(p) = self.pending.pop_front() {
            out.push(EnipEvent {
                tx: p.tx,
                request: Some(p.msg),
                response: None,
            });
        }
    }
}

/// Per-flow EtherNet/IP state (TCP stream or UDP datagrams).
#[derive(Debug, Default)]
pub struct EnipState {
    ts: Dir,
    tc: Dir,
    pairing: Pairing,
    /// UDP class 0/1 I/O datagrams seen (recognised, not logged).
    pub io_datagrams: u64,
}

impl EnipState {
    /// Feed in-order TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<EnipEvent>) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let pairing = &mut self.pairing;
        let Dir { sb, strict } = dir;
        let strict: &Cell<bool> = strict;
        sb.feed(
            data,
            |h, resync| frame(strict, h, resync),
            |pdu| {
                strict.set(false);
                pairing.pdu(to_server, pdu, out);
            },
        );
    }

    /// One UDP datagram (44818: one encapsulation message; 2222: I/O data,
    /// only counted).
    pub fn datagram(&mut self, to_server: bool, payload: &[u8], out: &mut Vec<EnipEvent>) {
        match parse_header(payload) {
            Some(h) if HEADER_LEN + usize::from(h.length) <= payload.len() => {
                self.pairing.pdu(to_server, payload, out);
            }
            _ => {
                if super::probe_io(payload) {
                    self.io_datagrams += 1;
                } else {
                    self.pairing.errors += 1;
                }
            }
        }
    }

    /// Bytes were lost in one direction: drop the partial message and
    /// resynchronise on a strict header.
    pub fn gap(&mut self, to_server: bool) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        dir.sb.gap();
        dir.strict.set(true);
    }

    /// Flow end: log requests still unanswered.
    pub fn finish(&mut self, out: &mut Vec<EnipEvent>) {
        self.pairing.flush(out);
    }

    /// Bytes buffered by the framers.
    pub fn buffered(&self) -> usize {
        self.ts.sb.buffered() + self.tc.sb.buffered()
    }

    /// Requests waiting for a response.
    pub fn pending(&self) -> usize {
        self.pairing.pending.len()
    }

    /// Messages decoded / rejected so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.pairing.pdus, self.pairing.errors)
    }
}
