//! Per-flow Fox state: message framing, hello pairing, and an early stop
//! once the handshake has been seen (the rest of a session is station
//! data, not logged).

use super::event::{FoxEvent, FoxHello};
use super::parser::{message_len, parse_message, FoxMessage, MAX_MESSAGE};
use crate::proto::common::{Frame, StreamBuf};

/// Messages parsed per flow before the decoder stops looking.
pub const MAX_MESSAGES: u32 = 32;
/// Non-hello events per flow at most.
pub const MAX_EVENTS: u32 = 8;

/// Per-flow Fox state.
#[derive(Debug)]
pub struct FoxState {
    ts: StreamBuf,
    tc: StreamBuf,
    core: Core,
}

#[derive(Debug, Default)]
struct Core {
    hello: Option<FoxEvent>,
    next_tx: u64,
    messages: u32,
    events: u32,
    errors: u64,
    done: bool,
}

impl Default for FoxState {
    fn default() -> Self {
        FoxState {
            ts: StreamBuf::new(MAX_MESSAGE),
            tc: StreamBuf::new(MAX_MESSAGE),
            core: Core::default(),
        }
    }
}

/// Skip to the next line starting with `fox `.
fn skip_to_next(h: &[u8]) -> usize {
    h.windows(5)
        .skip(1)
        .position(|w| w == b"\nfox ")
        .map(|p| p + 2)
        .unwrap_or(h.len().saturating_sub(4).max(1))
}

fn frame(h: &[u8], _resync: bool) -> Frame {
    match message_len(h) {
        Ok(Some(n)) => Frame::Len(n),
        Ok(None) => Frame::Need,
        Err(_) => Frame::Skip(skip_to_next(h)),
    }
}

impl FoxState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<FoxEvent>) {
        if self.core.done {
            return;
        }
        let sb = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        let core = &mut self.core;
        sb.feed(data, frame, |m| core.message(to_server, m, out));
        if self.core.done {
            // Release the buffers: nothing more will be parsed.
            self.ts = StreamBuf::new(0);
            self.tc = StreamBuf::new(0);
        }
    }

    /// Bytes lost in one direction.
    pub fn gap(&mut self, to_server: bool) {
        if to_server {
            self.ts.gap();
        } else {
            self.tc.gap();
        }
    }

    /// Flow end: an unanswered hello.
    pub fn finish(&mut self, out: &mut Vec<FoxEvent>) {
        if let Some(mut e) = self.core.hello.take() {
            e.tx_id = self.core.tx();
            out.push(e);
        }
    }

    /// True once the handshake has been logged and enough messages were
    /// seen: the flow needs no more reassembly.
    pub fn is_done(&self) -> bool {
        self.core.done
    }

    /// Bytes buffered by the framers.
    pub fn buffered(&self) -> usize {
        self.ts.buffered() + self.tc.buffered()
    }

    /// Messages that failed to parse.
    pub fn errors(&self) -> u64 {
        self.core.errors
    }
}

impl Core {
    fn tx(&mut self) -> u64 {
        let t = self.next_tx;
        self.next_tx += 1;
        t
    }

    fn message(&mut self, to_server: bool, m: &[u8], out: &mut Vec<FoxEvent>) {
        if self.done {
            return;
        }
        self.messages += 1;
        if self.messages >= MAX_MESSAGES {
            self.done = true;
        }
        let msg = match parse_message(m) {
            Ok(x) => x,
            Err(_) => {
                self.errors += 1;
                return;
            }
        };
        let h = msg.header;
        if h.channel != "fox" || h.frame_type == b'k' {
            return;
        }
        if h.command == "hello" {
            self.hello_message(to_server, &msg, out);
            return;
        }
        if self.events >= MAX_EVENTS {
            return;
        }
        self.events += 1;
        let mut e = base(&msg, if to_server { "request" } else { "response" });
        e.auth_method = msg.get("method").map(|s| s.chars().take(64).collect());
        e.username = msg
            .get("username")
            .or_else(|| msg.get("user"))
            .map(|s| s.chars().take(64).collect());
        e.tx_id = self.tx();
        out.push(e);
    }

    fn hello_message(&mut self, to_server: bool, msg: &FoxMessage<'_>, out: &mut Vec<FoxEvent>) {
        let hello = FoxHello::from_message(msg);
        if to_server {
            if let Some(mut old) = self.hello.take() {
                old.tx_id = self.tx();
                out.push(old);
            }
            let mut e = base(msg, "request");
            e.client = Some(hello);
            self.hello = Some(e);
        } else {
            let mut e = match self.hello.take() {
                Some(mut e) => {
                    e.kind = "transaction";
                    e
                }
                None => base(msg, "response"),
            };
            e.truncated |= msg.truncated;
            e.server = Some(hello);
            e.tx_id = self.tx();
            out.push(e);
        }
    }
}

fn base(msg: &FoxMessage<'_>, kind: &'static str) -> FoxEvent {
    FoxEvent {
        kind,
        channel: msg.header.channel.chars().take(64).collect(),
        command: msg.header.command.chars().take(64).collect(),
        frame_type: char::from(msg.header.frame_type).to_string(),
        truncated: msg.truncated,
        ..FoxEvent::default()
    }
}
