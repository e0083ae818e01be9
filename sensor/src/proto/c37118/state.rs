//! Per-flow C37.118 state: CRC-checked framing, command / answer pairing,
//! data frame counting.

use std::collections::VecDeque;

use super::event::{command_info, frame_type_name, C37118Event};
use super::parser::{
    crc_ccitt, is_data_frame, parse_frame, parse_sync, Body, C37Error, C37Frame, MAX_FRAME,
};
use crate::proto::common::{Frame, StreamBuf};

/// Unanswered commands kept per flow.
pub const MAX_PENDING: usize = 64;

#[derive(Debug)]
struct Pending {
    expect: u8,
    event: C37118Event,
}

/// Per-flow C37.118 state (TCP 4712 and UDP 4713).
#[derive(Debug)]
pub struct C37118State {
    ts: StreamBuf,
    tc: StreamBuf,
    core: Core,
}

#[derive(Debug, Default)]
struct Core {
    pending: VecDeque<Pending>,
    next_tx: u64,
    data_frames: u64,
    crc_errors: u64,
    frames: u64,
}

impl Default for C37118State {
    fn default() -> Self {
        C37118State {
            ts: StreamBuf::new(MAX_FRAME),
            tc: StreamBuf::new(MAX_FRAME),
            core: Core::default(),
        }
    }
}

/// TCP framer: SYNC + FRAMESIZE. While resynchronising the whole frame
/// must be buffered and its CRC must match before it is accepted.
fn frame(h: &[u8], resync: bool) -> Frame {
    match parse_sync(h) {
        Ok((_, _, size)) => {
            let size = usize::from(size);
            if !resync {
                return Frame::Len(size);
            }
            match h.get(..size) {
                None => Frame::Need,
                Some(f) => {
                    let n = f.len();
                    if crc_ccitt(&f[..n - 2]) == u16::from_be_bytes([f[n - 2], f[n - 1]]) {
                        Frame::Len(size)
                    } else {
                        Frame::Skip(1)
                    }
                }
            }
        }
        Err(C37Error::Truncated) => Frame::Need,
        Err(_) => {
            // Next SYNC byte candidate.
            let skip = h
                .iter()
                .skip(1)
                .position(|&b| b == 0xaa)
                .map(|p| p + 1)
                .unwrap_or(h.len().max(1));
            Frame::Skip(skip)
        }
    }
}

impl C37118State {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<C37118Event>) {
        let sb = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let core = &mut self.core;
        sb.feed(data, frame, |f| core.pdu(f, out));
    }

    /// Bytes lost in one direction.
    pub fn gap(&mut self, to_server: bool) {
        if to_server {
            self.ts.gap();
        } else {
            self.tc.gap();
        }
    }

    /// One UDP datagram: one or more whole frames.
    pub fn datagram(&mut self, _to_server: bool, payload: &[u8], out: &mut Vec<C37118Event>) {
        let mut rest = payload;
        while !rest.is_empty() {
            // Fast path for the periodic data frames.
            let size = match parse_sync(rest) {
                Ok((_, _, s)) => usize::from(s),
                Err(_) => {
                    self.core.crc_errors += 1;
                    return;
                }
            };
            let Some(f) = rest.get(..size) else {
                self.core.crc_errors += 1;
                return;
            };
            self.core.pdu(f, out);
            rest = &rest[size..];
        }
    }

    /// Flow end: commands still waiting for their answer.
    pub fn finish(&mut self, out: &mut Vec<C37118Event>) {
        while let Some(p) = self.core.pending.pop_front() {
            let mut e = p.event;
            e.tx_id = self.core.tx();
            out.push(e);
        }
    }

    /// Data frames seen (counted, never logged).
    pub fn data_frames(&self) -> u64 {
        self.core.data_frames
    }

    /// Frames dropped for a bad CRC or broken framing.
    pub fn crc_errors(&self) -> u64 {
        self.core.crc_errors
    }

    /// Frames with a valid CRC.
    pub fn frames(&self) -> u64 {
        self.core.frames
    }

    /// Unanswered commands held.
    pub fn pending(&self) -> usize {
        self.core.pending.len()
    }

    /// Bytes buffered by the TCP framers.
    pub fn buffered(&self) -> usize {
        self.ts.buffered() + self.tc.buffered()
    }
}

impl Core {
    fn tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn pdu(&mut self, f: &[u8], out: &mut Vec<C37118Event>) {
        let frame = match parse_frame(f) {
            Ok(fr) => fr,
            Err(_) => {
                self.crc_errors += 1;
                return;
            }
        };
        self.frames += 1;
        if is_data_frame(f) {
            self.data_frames += 1;
            return;
        }
        self.frame(&frame, out);
    }

    fn frame(&mut self, fr: &C37Frame<'_>, out: &mut Vec<C37118Event>) {
        let h = &fr.header;
        match &fr.body {
            Body::Data => {}
            Body::Command { cmd, .. } => {
                let (name, _, expect) = command_info(*cmd);
                let e = C37118Event {
                    kind: "request",
                    version: h.version,
                    idcode: h.idcode,
                    command: Some(name),
                    command_code: Some(*cmd),
                    ..C37118Event::default()
                };
                match expect {
                    None => {
                        let mut e = e;
                        e.tx_id = self.tx();
                        out.push(e);
                    }
                    Some(expect) => {
                        if self.pending.len() >= MAX_PENDING {
                            if let Some(p) = self.pending.pop_front() {
                                let mut old = p.event;
                                old.tx_id = self.tx();
                                out.push(old);
                            }
                        }
                        self.pending.push_back(Pending { expect, event: e });
                    }
                }
            }
            Body::Header(_) | Body::Config(_) => {
                let ft = h.frame_type;
                let mut e = match self
                    .pending
                    .iter()
                    .position(|p| p.expect == ft)
                    .and_then(|i| self.pending.remove(i))
                {
                    Some(p) => {
                        let mut e = p.event;
                        e.kind = "transaction";
                        e
                    }
                    None => C37118Event {
                        kind: "response",
                        version: h.version,
                        idcode: h.idcode,
                        ..C37118Event::default()
                    },
                };
                e.frame_type = Some(frame_type_name(ft));
                match &fr.body {
                    Body::Header(text) => e.set_header(text),
                    Body::Config(c) => e.set_config(c),
                    _ => {}
                }
                e.tx_id = self.tx();
                out.push(e);
            }
        }
    }
}
