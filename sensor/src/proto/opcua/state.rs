//! Per-flow OPC UA state: chunk framing on both directions (bounded
//! [`StreamBuf`]), reassembly of multi-chunk messages, the secure channel's
//! policy/mode, HEL/ACK and request/response pairing, and aggregation of
//! encrypted chunks.

use crate::proto::common::{Frame, StreamBuf};

use super::event::{OpcuaEvent, Part};
use super::parser::{self, Header};

/// Most requests awaiting a response per flow.
pub const MAX_PENDING: usize = 64;
/// Most body bytes kept of a multi-chunk message.
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Encrypted chunks summarised by one event at most.
const MAX_ENCRYPTED_RUN: u32 = 10_000;

/// Framer for UACP chunks.
pub fn frame(h: &[u8], _resync: bool) -> Frame {
    if h.len() < parser::HEADER_LEN {
        let n = h.len().min(3);
        let plausible = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"]
            .iter()
            .any(|t| t[..n] == h[..n]);
        return if plausible {
            Frame::Need
        } else {
            Frame::Skip(1)
        };
    }
    match parser::parse_header(h) {
        Ok(hd) => Frame::Len(hd.size as usize),
        Err(_) => Frame::Skip(1),
    }
}

#[derive(Debug)]
struct Partial {
    request_id: u32,
    part: Part,
    body: Vec<u8>,
    /// Bytes beyond MAX_MESSAGE were dropped.
    cut: bool,
}

#[derive(Debug, Default)]
struct Encrypted {
    channel: u32,
    token: u32,
    to_server: Option<(u64, u32)>,
    to_client: Option<(u64, u32)>,
    chunks: u32,
}

/// Per-flow OPC UA state.
#[derive(Debug)]
pub struct OpcuaState {
    bufs: [StreamBuf; 2],
    partial: [Option<Partial>; 2],
    pending: Vec<(u32, OpcuaEvent)>,
    hello: Option<OpcuaEvent>,
    /// OPN whose request id is encrypted: paired by order.
    opn: Option<OpcuaEvent>,
    enc: Option<Encrypted>,
    policy: Option<String>,
    policy_none: Option<bool>,
    mode: Option<String>,
    channel: Option<u32>,
    next_tx: u64,
    /// Chunks that failed to parse.
    pub malformed: u64,
}

impl Default for OpcuaState {
    fn default() -> Self {
        OpcuaState {
            bufs: [
                StreamBuf::new(parser::MAX_CHUNK),
                StreamBuf::new(parser::MAX_CHUNK),
            ],
            partial: [None, None],
            pending: Vec::new(),
            hello: None,
            opn: None,
            enc: None,
            policy: None,
            policy_none: None,
            mode: None,
            channel: None,
            next_tx: 0,
            malformed: 0,
        }
    }
}

fn dir(to_server: bool) -> usize {
    usize::from(!to_server)
}

impl OpcuaState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held (buffers, partial messages) and pending requests.
    pub fn held(&self) -> (usize, usize) {
        let b = self.bufs[0].buffered()
            + self.bufs[1].buffered()
            + self
                .partial
                .iter()
                .flatten()
                .map(|p| p.body.len())
                .sum::<usize>();
        (b, self.pending.len())
    }

    /// Stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<OpcuaEvent>) {
        let d = dir(to_server);
        let mut buf = std::mem::replace(&mut self.bufs[d], StreamBuf::new(0));
        buf.feed(data, frame, |pdu| self.chunk(to_server, pdu, out));
        self.bufs[d] = buf;
    }

    /// Bytes were lost in one direction.
    pub fn gap(&mut self, to_server: bool) {
        let d = dir(to_server);
        self.bufs[d].gap();
        self.partial[d] = None;
    }

    /// Flow end: flush what is pending.
    pub fn finish(&mut self, out: &mut Vec<OpcuaEvent>) {
        self.flush_encrypted(out);
        if let Some(h) = self.hello.take() {
            self.emit(h, out);
        }
        if let Some(o) = self.opn.take() {
            self.emit(o, out);
        }
        for (_, ev) in std::mem::take(&mut self.pending) {
            self.emit(ev, out);
        }
    }

    fn emit(&mut self, mut ev: OpcuaEvent, out: &mut Vec<OpcuaEvent>) {
        ev.tx_id = self.next_tx;
        self.next_tx += 1;
        out.push(ev);
    }

    fn base(&self, msg_type: &'static str) -> OpcuaEvent {
        OpcuaEvent {
            msg_type,
            sec_channel_id: self.channel,
            sec_policy_uri: self.policy.clone(),
            security_mode: self.mode.clone(),
            ..OpcuaEvent::default()
        }
    }

    fn flush_encrypted(&mut self, out: &mut Vec<OpcuaEvent>) {
        let Some(e) = self.enc.take() else {
            return;
        };
        let mut ev = self.base("MSG");
        ev.sec_channel_id = Some(e.channel);
        ev.sec_token_id = Some(e.token);
        ev.encrypted = true;
        let part = |x: Option<(u64, u32)>| {
            x.map(|(bytes, n)| Part {
                msg_type: "MSG",
                msg_size: bytes,
                chunks: Some(n),
                encrypted: true,
                ..Part::default()
            })
        };
        ev.request = part(e.to_server);
        ev.response = part(e.to_client);
        self.emit(ev, out);
    }

    fn add_encrypted(
        &mut self,
        to_server: bool,
        channel: u32,
        token: u32,
        size: u32,
        out: &mut Vec<OpcuaEvent>,
    ) {
        if let Some(e) = &self.enc {
            if e.channel != channel || e.token != token || e.chunks >= MAX_ENCRYPTED_RUN {
                self.flush_encrypted(out);
            }
        }
        let e = self.enc.get_or_insert_with(|| Encrypted {
            channel,
            token,
            ..Encrypted::default()
        });
        e.chunks += 1;
        let slot = if to_server {
            &mut e.to_server
        } else {
            &mut e.to_client
        };
        let (b, n) = slot.get_or_insert((0, 0));
        *b += u64::from(size);
        *n += 1;
    }

    fn chunk(&mut self, to_server: bool, pdu: &[u8], out: &mut Vec<OpcuaEvent>) {
        let Ok(h) = parser::parse_header(pdu) else {
            self.malformed += 1;
            return;
        };
        let body = pdu.get(parser::HEADER_LEN..).unwrap_or(&[]);
        match &h.msg_type {
            b"HEL" => {
                let mut p = Part::new("HEL", h.size);
                match parser::parse_hello(body, true) {
                    Some(hl) => p.add_hello(&hl),
                    None => p.malformed = true,
                }
                if let Some(old) = self.hello.take() {
                    self.emit(old, out);
                }
                let mut ev = self.base("HEL");
                ev.request = Some(p);
                self.hello = Some(ev);
            }
            b"ACK" | b"ERR" => {
                let mut p = Part::new(h.type_str(), h.size);
                if &h.msg_type == b"ACK" {
                    match parser::parse_hello(body, false) {
                        Some(hl) => p.add_hello(&hl),
                        None => p.malformed = true,
                    }
                } else {
                    match parser::parse_err(body) {
                        Some((e, r)) => {
                            p.error = Some(e);
                            p.status = Some(parser::status_string(e));
                            p.reason = r;
                        }
                        None => p.malformed = true,
                    }
                }
                let mut ev = match self.hello.take() {
                    Some(ev) => ev,
                    None => self.base(h.type_str()),
                };
                ev.response = Some(p);
                self.flush_encrypted(out);
                self.emit(ev, out);
            }
            b"RHE" => {
                let mut p = Part::new("RHE", h.size);
                match parser::parse_rhe(body) {
                    Some((s, e)) => {
                        p.server_uri = s;
                        p.endpoint_url = e;
                    }
                    None => p.malformed = true,
                }
                let mut ev = self.base("RHE");
                ev.request = Some(p);
                self.emit(ev, out);
            }
            _ => self.secure(to_server, &h, body, out),
        }
    }

    fn secure(&mut self, to_server: bool, h: &Header, body: &[u8], out: &mut Vec<OpcuaEvent>) {
        let opn = &h.msg_type == b"OPN";
        let Some(sc) = parser::parse_secure(opn, body) else {
            self.malformed += 1;
            return;
        };
        let msg_type = h.type_str();
        let mut part = Part::new(msg_type, h.size);
        if let Some(a) = &sc.asym {
            if self.policy.is_some() && self.policy != a.policy_uri {
                part.sec_policy_uri = a.policy_uri.clone();
            }
            part.snd_cert_len = Some(a.sender_cert_len);
            part.rcv_cert_len = Some(a.receiver_thumbprint_len);
            if to_server || self.policy.is_none() {
                self.policy = a.policy_uri.clone();
                self.policy_none = Some(a.policy_none());
                if !a.policy_none() {
                    self.mode = None;
                }
            }
        }
        if sc.sec_channel_id != 0 {
            self.channel = Some(sc.sec_channel_id);
        }
        // Sequence header and body are readable when the policy is None
        // (OPN) or when the body decodes as a known service (MSG/CLO with
        // policy None or mode Sign).
        let readable_opn = sc.asym.as_ref().is_some_and(|a| a.policy_none());
        let seq = (sc.rest.len() >= 8).then(|| {
            let r = sc.rest;
            (
                u32::from_le_bytes([r[0], r[1], r[2], r[3]]),
                u32::from_le_bytes([r[4], r[5], r[6], r[7]]),
            )
        });
        let payload = sc.rest.get(8..).unwrap_or(&[]);
        let readable = match (opn, seq) {
            (_, None) => false,
            (true, _) => readable_opn,
            (false, _) => {
                self.policy_none == Some(true)
                    || (h.chunk == b'F' && parser::decode_body(payload).is_some())
                    || (h.chunk != b'F'
                        && payload.len() >= 4
                        && parser::decode_body_prefix(payload))
                    || self.partial[dir(to_server)]
                        .as_ref()
                        .is_some_and(|p| Some(p.request_id) == seq.map(|s| s.1))
            }
        };
        if !readable {
            if opn {
                // Encrypted OPN: header fields only, paired by order.
                part.encrypted = true;
                let mut ev = self.base("OPN");
                ev.encrypted = true;
                ev.sec_channel_id = Some(sc.sec_channel_id).filter(|&c| c != 0).or(self.channel);
                if to_server {
                    ev.request = Some(part);
                    if let Some(old) = self.opn.replace(ev) {
                        self.emit(old, out);
                    }
                } else {
                    match self.opn.take() {
                        Some(mut req) => {
                            req.response = Some(part);
                            req.sec_channel_id = ev.sec_channel_id;
                            self.emit(req, out);
                        }
                        None => {
                            ev.response = Some(part);
                            self.emit(ev, out);
                        }
                    }
                }
            } else {
                if self.policy_none == Some(false) && self.mode.is_none() {
                    self.mode = Some("SignAndEncrypt".to_string());
                }
                self.add_encrypted(
                    to_server,
                    sc.sec_channel_id,
                    sc.token_id.unwrap_or(0),
                    h.size,
                    out,
                );
            }
            return;
        }
        let Some((seq_number, request_id)) = seq else {
            return;
        };
        if !opn && self.policy_none == Some(false) && self.mode.is_none() {
            // Readable bodies on a secured channel: signed only.
            self.mode = Some("Sign".to_string());
        }
        self.flush_encrypted(out);
        part.seq_number = Some(seq_number);
        let d = dir(to_server);
        // Chunk reassembly.
        let (mut part, full): (Part, Vec<u8>) = match h.chunk {
            b'C' => {
                match &mut self.partial[d] {
                    Some(p) if p.request_id == request_id => {
                        p.part.msg_size += u64::from(h.size);
                        p.part.chunks = Some(p.part.chunks.unwrap_or(1) + 1);
                        append(p, payload);
                    }
                    slot => {
                        part.chunks = Some(1);
                        let mut p = Partial {
                            request_id,
                            part,
                            body: Vec::new(),
                            cut: false,
                        };
                        append(&mut p, payload);
                        *slot = Some(p);
                    }
                }
                return;
            }
            b'A' => {
                // Abort: the message is dropped.
                self.partial[d] = None;
                return;
            }
            _ => match self.partial[d].take() {
                Some(mut p) if p.request_id == request_id => {
                    p.part.msg_size += u64::from(h.size);
                    p.part.chunks = Some(p.part.chunks.unwrap_or(1) + 1);
                    append(&mut p, payload);
                    let cut = p.cut;
                    let mut part = p.part;
                    part.truncated |= cut;
                    (part, p.body)
                }
                _ => (part, Vec::new()),
            },
        };
        let body_bytes: &[u8] = if full.is_empty() { payload } else { &full };
        let decoded = parser::decode_body(body_bytes);
        let is_request = match &decoded {
            Some(b) => b.request.is_some(),
            None => to_server,
        };
        match decoded {
            Some(b) => part.add_body(b),
            None => part.malformed = true,
        }
        if opn {
            if let Some(m) = &part.security_mode {
                if is_request {
                    self.mode = Some(m.clone());
                }
            }
            if let Some(c) = part.sec_channel_id {
                self.channel = Some(c);
            }
        }
        if &h.msg_type == b"CLO" {
            let mut ev = self.base("CLO");
            ev.sec_token_id = sc.token_id;
            ev.request_id = Some(request_id);
            ev.request = Some(part);
            self.emit(ev, out);
            return;
        }
        if is_request {
            let mut ev = self.base(msg_type);
            ev.sec_token_id = sc.token_id;
            ev.request_id = Some(request_id);
            ev.request = Some(part);
            if let Some(i) = self.pending.iter().position(|(id, _)| *id == request_id) {
                let (_, old) = self.pending.remove(i);
                self.emit(old, out);
            }
            if self.pending.len() >= MAX_PENDING {
                let (_, old) = self.pending.remove(0);
                self.emit(old, out);
            }
            self.pending.push((request_id, ev));
        } else {
            let mut ev = match self.pending.iter().position(|(id, _)| *id == request_id) {
                Some(i) => self.pending.remove(i).1,
                None => {
                    let mut ev = self.base(msg_type);
                    ev.sec_token_id = sc.token_id;
                    ev.request_id = Some(request_id);
                    ev
                }
            };
            if opn {
                ev.sec_channel_id = part.sec_channel_id.or(ev.sec_channel_id);
                ev.sec_token_id = part.sec_token_id.or(ev.sec_token_id);
                ev.security_mode = self.mode.clone();
            }
            ev.response = Some(part);
            self.emit(ev, out);
        }
    }
}

fn append(p: &mut Partial, data: &[u8]) {
    let room = MAX_MESSAGE.saturating_sub(p.body.len());
    let n = room.min(data.len());
    p.body.extend_from_slice(&data[..n]);
    if n < data.len() {
        p.cut = true;
    }
}
