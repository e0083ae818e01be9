//! Per-flow FINS state: FINS/TCP framing, command/response pairing.

use std::collections::VecDeque;

use super::event::{tcp_command_name, FinsEvent};
use super::parser::{
    parse_command_params, parse_controller_data, parse_fins, parse_tcp_header, FinsFrame,
    FinsHeader, MAX_TCP_FRAME, TCP_HEADER_LEN, TCP_MAGIC,
};
use crate::proto::common::{Frame, StreamBuf};

/// Unanswered commands kept per flow.
pub const MAX_PENDING: usize = 64;

#[derive(Debug)]
struct Pending {
    sid: u8,
    command: u16,
    /// 0501 selector (None: all data).
    select: Option<u8>,
    event: FinsEvent,
}

/// Per-flow FINS state (TCP and UDP).
#[derive(Debug)]
pub struct FinsState {
    ts: StreamBuf,
    tc: StreamBuf,
    core: Core,
}

/// Pairing state (separate from the framers so both can be borrowed).
#[derive(Debug, Default)]
struct Core {
    pending: VecDeque<Pending>,
    /// FINS/TCP node address request awaiting its answer.
    handshake: Option<FinsEvent>,
    next_tx: u64,
    errors: u64,
    frames: u64,
}

impl Default for FinsState {
    fn default() -> Self {
        FinsState {
            ts: StreamBuf::new(MAX_TCP_FRAME),
            tc: StreamBuf::new(MAX_TCP_FRAME),
            core: Core::default(),
        }
    }
}

/// FINS/TCP framer for [`StreamBuf`]: "FINS" + 4-byte length.
fn frame_tcp(h: &[u8], resync: bool) -> Frame {
    if h.len() < 4 {
        let n = h.len();
        return if h[..n] == TCP_MAGIC[..n] {
            Frame::Need
        } else {
            Frame::Skip(1)
        };
    }
    if &h[..4] != TCP_MAGIC {
        // Jump to the next possible magic.
        let skip = h
            .windows(4)
            .skip(1)
            .position(|w| w == TCP_MAGIC)
            .map(|p| p + 1)
            .unwrap_or(h.len().saturating_sub(3).max(1));
        return Frame::Skip(skip);
    }
    if h.len() < TCP_HEADER_LEN {
        return Frame::Need;
    }
    match parse_tcp_header(h) {
        Ok(th) => {
            // While resynchronising insist on a known envelope command.
            if resync && !matches!(th.command, 0..=3 | 6) {
                return Frame::Skip(1);
            }
            Frame::Len(th.frame_len())
        }
        Err(_) => Frame::Skip(1),
    }
}

impl FinsState {
    /// New empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<FinsEvent>) {
        let sb = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let core = &mut self.core;
        sb.feed(data, frame_tcp, |pdu| core.tcp_pdu(pdu, out));
    }

    /// Bytes lost in one direction.
    pub fn gap(&mut self, to_server: bool) {
        if to_server {
            self.ts.gap();
        } else {
            self.tc.gap();
        }
    }

    /// One UDP datagram (a bare FINS frame).
    pub fn datagram(&mut self, _to_server: bool, payload: &[u8], out: &mut Vec<FinsEvent>) {
        match parse_fins(payload) {
            Ok(f) => self.core.fins_frame(&f, out),
            Err(_) => self.core.errors += 1,
        }
    }

    /// Flow end: unanswered commands become request-only events.
    pub fn finish(&mut self, out: &mut Vec<FinsEvent>) {
        self.core.finish(out);
    }

    /// Unanswered commands held (for tests and metrics).
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    /// Bytes buffered by the TCP framers.
    pub fn buffered(&self) -> usize {
        self.ts.buffered() + self.tc.buffered()
    }

    /// Frames that failed to parse.
    pub fn errors(&self) -> u64 {
        self.core.errors
    }

    /// FINS frames decoded.
    pub fn frames(&self) -> u64 {
        self.core.frames
    }
}

impl Core {
    fn tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn finish(&mut self, out: &mut Vec<FinsEvent>) {
        if let Some(mut e) = self.handshake.take() {
            e.tx_id = self.tx();
            out.push(e);
        }
        while let Some(p) = self.pending.pop_front() {
            let mut e = p.event;
            e.tx_id = self.tx();
            out.push(e);
        }
    }

    fn tcp_pdu(&mut self, pdu: &[u8], out: &mut Vec<FinsEvent>) {
        let th = match parse_tcp_header(pdu) {
            Ok(h) => h,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        let body = pdu.get(TCP_HEADER_LEN..).unwrap_or(&[]);
        match th.command {
            2 => match parse_fins(body) {
                Ok(f) => self.fins_frame(&f, out),
                Err(_) => self.errors += 1,
            },
            0 => {
                let mut e = FinsEvent::empty("request");
                e.tcp_command = Some(tcp_command_name(0));
                e.client_node = be32(body, 0);
                if let Some(mut old) = self.handshake.replace(e) {
                    old.tx_id = self.tx();
                    out.push(old);
                }
            }
            1 => {
                let mut e = match self.handshake.take() {
                    Some(mut e) => {
                        e.kind = "transaction";
                        e
                    }
                    None => {
                        let mut e = FinsEvent::empty("response");
                        e.tcp_command = Some(tcp_command_name(0));
                        e
                    }
                };
                e.client_node = be32(body, 0).or(e.client_node);
                e.server_node = be32(body, 4);
                e.tcp_error = Some(th.error).filter(|x| *x != 0);
                e.tx_id = self.tx();
                out.push(e);
            }
            3 => {
                let mut e = FinsEvent::empty("response");
                e.tcp_command = Some(tcp_command_name(3));
                e.tcp_error = Some(th.error);
                e.tx_id = self.tx();
                out.push(e);
            }
            _ => {}
        }
    }

    fn fins_frame(&mut self, f: &FinsFrame<'_>, out: &mut Vec<FinsEvent>) {
        self.frames += 1;
        if f.header.is_response() {
            self.response(&f.header, f, out);
        } else {
            let mut e = FinsEvent::empty("request");
            e.set_frame(&f.header, f.command);
            let params = parse_command_params(f.command, f.data);
            let select = params.data_select;
            e.set_params(params);
            if !f.header.response_required() {
                // No answer will come: log now.
                e.tx_id = self.tx();
                out.push(e);
                return;
            }
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    let mut e = old.event;
                    e.tx_id = self.tx();
                    out.push(e);
                }
            }
            self.pending.push_back(Pending {
                sid: f.header.sid,
                command: f.command,
                select,
                event: e,
            });
        }
    }

    fn response(&mut self, h: &FinsHeader, f: &FinsFrame<'_>, out: &mut Vec<FinsEvent>) {
        // Pair by SID and command; fall back to the oldest command with the
        // same code (some stacks do not echo the SID).
        let idx = self
            .pending
            .iter()
            .position(|p| p.sid == h.sid && p.command == f.command)
            .or_else(|| self.pending.iter().position(|p| p.command == f.command));
        let (mut e, select) = match idx.and_then(|i| self.pending.remove(i)) {
            Some(p) => {
                let mut e = p.event;
                e.kind = "transaction";
                (e, Some(p.select))
            }
            None => {
                let mut e = FinsEvent::empty("response");
                e.set_frame(h, f.command);
                (e, None)
            }
        };
        e.response_code = f.end_code;
        if f.command == 0x0501 && f.end_code.map(|c| c & 0x7f3f) == Some(0) {
            let cd = parse_controller_data(f.data, select);
            e.controller_model = cd.model;
            e.controller_version = cd.version;
        }
        e.tx_id = self.tx();
        out.push(e);
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
