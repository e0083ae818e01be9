//! Per-flow TLS stream state.
//!
//! Each direction runs a small streaming machine:
//!
//! 1. **Record layer** — a 5-byte header is collected (across any chunking),
//!    validated, then the record body is streamed: handshake record bodies
//!    are fed to the handshake reassembler, all other bodies are skipped
//!    without being buffered. Memory per direction is therefore the header
//!    plus at most one handshake message prefix.
//! 2. **Handshake layer** — handshake messages form a byte stream spanning
//!    records; each message (4-byte header + body) is reassembled up to
//!    [`MAX_HANDSHAKE_MSG`] bytes. A longer message is processed truncated
//!    (a huge certificate chain still yields its leaf if the leaf fits) and
//!    the rest is discarded.
//! 3. **Stop conditions** — a direction stops after its ChangeCipherSpec
//!    (TLS ≤ 1.2: everything after is encrypted) and the server direction
//!    stops after a TLS 1.3 ServerHello. Once the event is emitted the whole
//!    flow is done and further input is ignored.
//!
//! A gap drops the partial record and partial handshake message and scans
//! for the next plausible record header for at most [`RESYNC_LIMIT`] bytes;
//! after that the direction is abandoned.

use super::event::{JaFingerprint, TlsEvent};
use super::parser::{self, CertInfo, ClientHello, ServerHello};

/// Cap on one reassembled handshake message body (certificate chains can be
/// large; a longer message is handled truncated).
pub const MAX_HANDSHAKE_MSG: usize = 64 * 1024;

/// How many bytes a direction scans for a record header after a gap or a
/// desync before giving up (two maximum-size records).
pub const RESYNC_LIMIT: usize = 2 * (parser::MAX_RECORD_LEN + 5);

/// Result of [`probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Looks like the start of a TLS/SSLv3 handshake.
    Yes,
    /// Not TLS.
    No,
    /// Consistent so far, more bytes are needed to decide.
    NeedMore,
}

/// Bytes [`probe`] needs to decide: record header (5), handshake type and
/// length (4), hello version (2).
const PROBE_LEN: usize = 11;

/// A probe step: bytes needed, predicate over them.
type ProbeCheck = (usize, fn(&[u8]) -> bool);

/// Protocol detection on the first bytes of a stream (either direction).
///
/// Accepts a handshake record (content type 22, version 0x0300..=0x0304,
/// length 6..=2^14+2048) whose first message is a ClientHello or
/// ServerHello with a plausible length and a 3.x hello version, or an
/// SSLv2-format ClientHello (as sent by old stacks offering SSLv3/TLS).
pub fn probe(data: &[u8]) -> Probe {
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        return probe_sslv2(data);
    }
    let checks: [ProbeCheck; 5] = [
        (1, |d| d[0] == parser::CT_HANDSHAKE),
        (3, |d| d[1] == 3 && d[2] <= 4),
        (5, |d| {
            let len = usize::from(u16::from_be_bytes([d[3], d[4]]));
            (6..=parser::MAX_RECORD_LEN).contains(&len)
        }),
        (9, |d| {
            let hs_len = (usize::from(d[6]) << 16) | (usize::from(d[7]) << 8) | usize::from(d[8]);
            (d[5] == parser::HS_CLIENT_HELLO || d[5] == parser::HS_SERVER_HELLO)
                && (38..=MAX_HANDSHAKE_MSG).contains(&hs_len)
        }),
        (PROBE_LEN, |d| d[9] == 3 && d[10] <= 4),
    ];
    for (need, ok) in checks {
        if data.len() < need {
            return Probe::NeedMore;
        }
        if !ok(data) {
            return Probe::No;
        }
    }
    Probe::Yes
}

/// SSLv2 ClientHello (RFC 6101 appendix E.2 / draft-hickman): 2-byte
/// header with the high bit set, msg type 1, version, cipher-spec length
/// (multiple of 3), session-id length (0 or 16), challenge length (16..=32).
fn probe_sslv2(data: &[u8]) -> Probe {
    if data.len() < PROBE_LEN {
        return Probe::NeedMore;
    }
    let be = |i: usize| usize::from(u16::from_be_bytes([data[i], data[i + 1]]));
    let len = be(0) & 0x7fff;
    let ok = sslv2_hello_header(&[data[0], data[1], data[2], data[3], data[4]])
        && be(5) > 0
        && be(5) % 3 == 0
        && (be(7) == 0 || be(7) == 16)
        && (16..=32).contains(&be(9))
        && 9 + be(5) + be(7) + be(9) == len;
    if ok {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// True when a 5-byte prefix is an SSLv2 record header carrying a
/// ClientHello for SSLv2 (0x0002) or SSLv3..TLS 1.3.
fn sslv2_hello_header(h: &[u8; 5]) -> bool {
    let len = usize::from(u16::from_be_bytes([h[0] & 0x7f, h[1]]));
    let version = u16::from_be_bytes([h[3], h[4]]);
    h[0] & 0x80 != 0
        && h[2] == parser::HS_CLIENT_HELLO
        && (version == 0x0002 || (0x0300..=0x0304).contains(&version))
        && (9..=parser::MAX_RECORD_LEN).contains(&len)
}

/// Pseudo content type for the body of an SSLv2 ClientHello record
/// (skipped like any non-handshake record).
const REC_SSLV2: u8 = 0x80;

/// Parsing mode of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Following the record layer.
    #[default]
    Records,
    /// Lost sync (gap or bad header): scanning for a record header.
    Resync,
    /// Handshake is encrypted from here on: ignore the rest.
    Encrypted,
    /// Gave up (resync failed, nonsense handshake data).
    Dead,
}

/// Stream state of one direction.
#[derive(Debug, Default)]
struct Direction {
    mode: Mode,
    /// Record header being collected (or sliding window while resyncing).
    hdr: [u8; 5],
    hdr_len: usize,
    /// Content type of the record whose body is being streamed.
    rec_type: u8,
    /// Body bytes of the current record still to come.
    rec_left: usize,
    /// Current handshake message: 4-byte header + body (≤ cap).
    msg: Vec<u8>,
    /// Declared body length of the current handshake message.
    msg_len: usize,
    /// Bytes of an over-cap message still to discard.
    msg_skip: usize,
    /// Bytes scanned in the current resync attempt.
    resync_scanned: usize,
    /// Version field of the first valid record header.
    first_record_version: u16,
}

impl Direction {
    fn stopped(&self) -> bool {
        matches!(self.mode, Mode::Encrypted | Mode::Dead)
    }

    /// Drops partial record and handshake message and starts scanning.
    fn lose_sync(&mut self) {
        if self.stopped() {
            return;
        }
        self.mode = Mode::Resync;
        self.hdr_len = 0;
        self.rec_left = 0;
        self.msg = Vec::new();
        self.msg_len = 0;
        self.msg_skip = 0;
        self.resync_scanned = 0;
    }

    /// Validates a complete header in `hdr`; `strict` is used when
    /// resyncing (no heartbeat, no empty records).
    fn header_ok(&self, strict: bool) -> bool {
        let h = &self.hdr;
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let max_type = if strict {
            parser::CT_APPLICATION_DATA
        } else {
            parser::CT_HEARTBEAT
        };
        (parser::CT_CHANGE_CIPHER_SPEC..=max_type).contains(&h[0])
            && h[1] == 3
            && h[2] <= 4
            && len <= parser::MAX_RECORD_LEN
            && (!strict || len > 0)
    }

    /// Accepts the complete header in `hdr` as the current record.
    fn start_record(&mut self) {
        self.rec_type = self.hdr[0];
        self.rec_left = usize::from(u16::from_be_bytes([self.hdr[3], self.hdr[4]]));
        if self.first_record_version == 0 {
            self.first_record_version = u16::from_be_bytes([self.hdr[1], self.hdr[2]]);
        }
    }

    /// Resync scan over `data`; returns bytes consumed. On success the
    /// direction is back in `Records` mode with a record started.
    fn resync(&mut self, data: &[u8]) -> usize {
        for (i, &b) in data.iter().enumerate() {
            if self.hdr_len == 5 {
                self.hdr.copy_within(1..5, 0);
                self.hdr_len = 4;
            }
            self.hdr[self.hdr_len] = b;
            self.hdr_len += 1;
            self.resync_scanned += 1;
            if self.hdr_len == 5 && self.header_ok(true) {
                self.mode = Mode::Records;
                self.start_record();
                return i + 1;
            }
            if self.resync_scanned > RESYNC_LIMIT {
                self.mode = Mode::Dead;
                return i + 1;
            }
        }
        data.len()
    }
}

/// A handshake message completed by the reassembler.
struct Message {
    ty: u8,
    /// Header + (possibly truncated) body.
    bytes: Vec<u8>,
}

impl Message {
    fn body(&self) -> &[u8] {
        self.bytes.get(4..).unwrap_or(&[])
    }
}

/// True for handshake types defined by SSLv3..TLS 1.3 (RFC 8446 §4 and
/// predecessors); anything else means the stream is not (or no longer)
/// plaintext handshake.
fn known_handshake_type(t: u8) -> bool {
    matches!(t, 0..=2 | 4 | 5 | 8 | 11..=16 | 20..=24 | 254)
}

/// Per-flow TLS state: feed each direction's in-order bytes to
/// [`TlsState::input`]; one [`TlsEvent`] is produced per session.
#[derive(Debug, Default)]
pub struct TlsState {
    client: Direction,
    server: Direction,
    client_hello: Option<ClientHello>,
    server_hello: Option<ServerHello>,
    cert: Option<CertInfo>,
    /// The client opened with an SSLv2-format ClientHello.
    sslv2_client_hello: bool,
    /// The server side has progressed far enough to log.
    server_ready: bool,
    emitted: bool,
}

impl TlsState {
    /// Fresh state for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    fn dir(&mut self, to_server: bool) -> &mut Direction {
        if to_server {
            &mut self.client
        } else {
            &mut self.server
        }
    }

    /// In-order stream bytes for one direction (`to_server` = client →
    /// server). Any chunking works, down to one byte at a time. Appends the
    /// session's event to `out` once the handshake has progressed far enough.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<TlsEvent>) {
        let mut data = data;
        while !data.is_empty() && !self.is_done() {
            let d = self.dir(to_server);
            match d.mode {
                Mode::Encrypted | Mode::Dead => break,
                Mode::Resync => {
                    let n = d.resync(data);
                    data = &data[n..];
                    if d.mode == Mode::Records && d.rec_left == 0 {
                        self.end_record(to_server);
                    }
                }
                Mode::Records if d.hdr_len < 5 => {
                    let n = (5 - d.hdr_len).min(data.len());
                    d.hdr[d.hdr_len..d.hdr_len + n].copy_from_slice(&data[..n]);
                    d.hdr_len += n;
                    data = &data[n..];
                    if d.hdr_len == 5 {
                        if d.header_ok(false) {
                            d.start_record();
                            if d.rec_left == 0 {
                                self.end_record(to_server);
                            }
                        } else if to_server
                            && d.first_record_version == 0
                            && sslv2_hello_header(&d.hdr)
                        {
                            // Old-style hello: logged through the server's
                            // answer (no JA3/JA4 for the SSLv2 format).
                            d.first_record_version = u16::from_be_bytes([d.hdr[3], d.hdr[4]]);
                            d.rec_type = REC_SSLV2;
                            d.rec_left =
                                usize::from(u16::from_be_bytes([d.hdr[0] & 0x7f, d.hdr[1]]))
                                    .saturating_sub(3);
                            self.sslv2_client_hello = true;
                        } else {
                            // Slide by one byte and hunt for a header.
                            d.lose_sync();
                            d.hdr.copy_within(1..5, 0);
                            d.hdr_len = 4;
                        }
                    }
                }
                Mode::Records => {
                    let n = d.rec_left.min(data.len());
                    let (body, rest) = data.split_at(n);
                    data = rest;
                    d.rec_left -= n;
                    let done = d.rec_left == 0;
                    if d.rec_type == parser::CT_HANDSHAKE {
                        self.handshake_bytes(to_server, body, out);
                    }
                    if done && self.dir(to_server).mode == Mode::Records {
                        self.end_record(to_server);
                    }
                }
            }
        }
        self.maybe_emit(out);
    }

    /// Record finished: reset the header and act on ChangeCipherSpec.
    fn end_record(&mut self, to_server: bool) {
        let d = self.dir(to_server);
        d.hdr_len = 0;
        if d.rec_type != parser::CT_CHANGE_CIPHER_SPEC {
            return;
        }
        if to_server {
            // Client's next handshake flight is encrypted (any version).
            self.client.mode = Mode::Encrypted;
            return;
        }
        match &self.server_hello {
            // TLS 1.3 middlebox-compatibility CCS (e.g. after a
            // HelloRetryRequest): plaintext ServerHello may still follow.
            Some(sh) if sh.is_tls13() => {}
            _ => {
                self.server.mode = Mode::Encrypted;
                // Abbreviated (resumed) handshake: no certificate coming.
                self.server_ready = true;
            }
        }
    }

    /// Feeds handshake-record body bytes to the message reassembler.
    fn handshake_bytes(&mut self, to_server: bool, mut data: &[u8], out: &mut Vec<TlsEvent>) {
        while !data.is_empty() {
            if self.emitted {
                return;
            }
            let d = self.dir(to_server);
            if d.mode != Mode::Records {
                return;
            }
            if d.msg_skip > 0 {
                let n = d.msg_skip.min(data.len());
                d.msg_skip -= n;
                data = &data[n..];
                continue;
            }
            if d.msg.len() < 4 {
                let n = (4 - d.msg.len()).min(data.len());
                d.msg.extend_from_slice(&data[..n]);
                data = &data[n..];
                if d.msg.len() < 4 {
                    continue;
                }
                if !known_handshake_type(d.msg[0]) {
                    d.mode = Mode::Dead;
                    d.msg = Vec::new();
                    return;
                }
                d.msg_len = (usize::from(d.msg[1]) << 16)
                    | (usize::from(d.msg[2]) << 8)
                    | usize::from(d.msg[3]);
                d.msg.reserve(d.msg_len.min(MAX_HANDSHAKE_MSG));
            } else {
                let want = d.msg_len.min(MAX_HANDSHAKE_MSG) - (d.msg.len() - 4);
                let n = want.min(data.len());
                d.msg.extend_from_slice(&data[..n]);
                data = &data[n..];
            }
            if d.msg.len() - 4 == d.msg_len.min(MAX_HANDSHAKE_MSG) {
                d.msg_skip = d.msg_len.saturating_sub(MAX_HANDSHAKE_MSG);
                let bytes = std::mem::take(&mut d.msg);
                let msg = Message {
                    ty: bytes[0],
                    bytes,
                };
                self.handle_message(to_server, &msg);
                self.maybe_emit(out);
            }
        }
    }

    /// Acts on one complete (possibly truncated) handshake message.
    fn handle_message(&mut self, to_server: bool, msg: &Message) {
        if to_server {
            if msg.ty == parser::HS_CLIENT_HELLO && self.client_hello.is_none() {
                self.client_hello = parser::parse_client_hello(msg.body());
            }
            return;
        }
        match msg.ty {
            parser::HS_SERVER_HELLO => {
                let Some(sh) = parser::parse_server_hello(msg.body()) else {
                    return;
                };
                let hrr = sh.is_hello_retry_request();
                let tls13 = sh.is_tls13();
                self.server_hello = Some(sh);
                if tls13 && !hrr {
                    // Everything after a TLS 1.3 ServerHello is encrypted.
                    self.server.mode = Mode::Encrypted;
                    self.server_ready = true;
                }
            }
            parser::HS_CERTIFICATE => {
                if self.cert.is_none() {
                    self.cert = parser::parse_certificate_msg(msg.body());
                }
                self.server_ready = true;
            }
            parser::HS_SERVER_HELLO_DONE => self.server_ready = true,
            _ => {}
        }
    }

    /// Emits the event when the server side is ready and the ClientHello is
    /// known (or can no longer arrive).
    fn maybe_emit(&mut self, out: &mut Vec<TlsEvent>) {
        if self.emitted || !self.server_ready {
            return;
        }
        if self.client_hello.is_none() && !self.sslv2_client_hello && !self.client.stopped() {
            // Wait: the client direction may simply not have been fed yet.
            return;
        }
        self.emit(out);
    }

    fn emit(&mut self, out: &mut Vec<TlsEvent>) {
        self.emitted = true;
        out.push(self.build_event());
        // Release the reassembly buffers: the flow is done.
        self.client.msg = Vec::new();
        self.server.msg = Vec::new();
    }

    /// Assembles the EVE event from what was collected.
    fn build_event(&self) -> TlsEvent {
        let mut ev = TlsEvent::default();
        if let Some(ch) = &self.client_hello {
            ev.sni = ch.sni.clone();
            let (string, hash) = parser::ja3(ch);
            ev.ja3 = Some(JaFingerprint { hash, string });
            ev.ja4 = Some(parser::ja4(ch));
            ev.client_alpns = ch
                .alpns
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
        }
        let version = match &self.server_hello {
            Some(sh) => {
                let (string, hash) = parser::ja3s(sh);
                ev.ja3s = Some(JaFingerprint { hash, string });
                ev.server_alpns = sh
                    .alpn
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                sh.negotiated_version()
            }
            None => self.server.first_record_version,
        };
        ev.version = Some(parser::version_string(version));
        if let Some(c) = &self.cert {
            ev.subject = c.subject.clone();
            ev.issuerdn = c.issuerdn.clone();
            ev.serial = c.serial.clone();
            ev.fingerprint = Some(c.fingerprint.clone());
            ev.notbefore = c.notbefore.clone();
            ev.notafter = c.notafter.clone();
            ev.subjectaltname = c.subjectaltname.clone();
        } else if let (Some(ch), Some(sh)) = (&self.client_hello, &self.server_hello) {
            if !sh.is_tls13() && !sh.session_id.is_empty() && sh.session_id == ch.session_id {
                ev.session_resumed = Some(true);
            }
        }
        ev
    }

    /// Bytes were lost in this direction: drop the partial record and
    /// handshake message and resynchronise on the next record header (or
    /// give up on this direction after [`RESYNC_LIMIT`] bytes).
    pub fn gap(&mut self, to_server: bool) {
        if !self.emitted {
            self.dir(to_server).lose_sync();
        }
    }

    /// Flow ends: emits whatever was collected and not yet emitted (e.g. a
    /// ClientHello without answer, or a truncated certificate flight).
    pub fn finish(&mut self, out: &mut Vec<TlsEvent>) {
        if self.emitted {
            return;
        }
        if self.cert.is_none() {
            // A certificate message cut by the end of the capture may still
            // hold a complete leaf.
            let d = &self.server;
            if d.msg.len() > 4 && d.msg[0] == parser::HS_CERTIFICATE {
                self.cert = parser::parse_certificate_msg(&d.msg[4..]);
            }
        }
        if self.client_hello.is_some()
            || self.sslv2_client_hello
            || self.server_hello.is_some()
            || self.cert.is_some()
        {
            self.emit(out);
        } else {
            self.emitted = true;
        }
    }

    /// True once the event was emitted (or both directions gave up):
    /// further bytes can be skipped by the caller.
    pub fn is_done(&self) -> bool {
        self.emitted || (self.client.stopped() && self.server.stopped())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::{
        client_hello_body, server_hello12_body, server_hello13_body, unhex,
    };
    use super::*;
    use sha1::{Digest as _, Sha1};
    use std::path::{Path, PathBuf};

    // ----- stream builders -------------------------------------------------

    /// TLS record: type, version 0x0303, u16 length, body.
    fn record(ct: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ct, 3, 3];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    /// Handshake message: type, u24 length, body.
    fn hs(ty: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut v = vec![ty];
        v.extend_from_slice(&len.to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    /// Splits a handshake byte stream into records of at most `max` bytes.
    fn records(ct: u8, data: &[u8], max: usize) -> Vec<u8> {
        data.chunks(max).flat_map(|c| record(ct, c)).collect()
    }

    /// Certificate message body: u24 list length, then u24-length certs.
    fn cert_msg_body(certs: &[&[u8]]) -> Vec<u8> {
        let mut list = Vec::new();
        for c in certs {
            list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(c);
        }
        let mut v = (list.len() as u32).to_be_bytes()[1..].to_vec();
        v.extend(list);
        v
    }

    fn sha1_colon(b: &[u8]) -> String {
        super::super::parser::hex_colon(&Sha1::digest(b), false)
    }

    /// A fake (non-X.509) leaf: only the fingerprint can be derived.
    const FAKE_LEAF: &[u8] = b"not really a DER certificate, but bytes to hash";

    /// Client: ClientHello, then ClientKeyExchange + CCS + encrypted data.
    fn client12() -> Vec<u8> {
        let mut v = record(22, &hs(1, &client_hello_body()));
        v.extend(record(22, &hs(16, &[0x20; 33])));
        v.extend(record(20, &[1]));
        v.extend(record(22, &[0xde; 40])); // encrypted Finished
        v.extend(record(23, &[0xab; 100]));
        v
    }

    /// Server: ServerHello + Certificate + ServerHelloDone in one record,
    /// then CCS and encrypted data.
    fn server12() -> Vec<u8> {
        let mut flight = hs(2, &server_hello12_body());
        flight.extend(hs(11, &cert_msg_body(&[FAKE_LEAF, &[0x55; 300]])));
        flight.extend(hs(14, &[]));
        let mut v = records(22, &flight, 200);
        v.extend(record(20, &[1]));
        v.extend(record(22, &[0xee; 40]));
        v.extend(record(23, &[0xcd; 100]));
        v
    }

    /// Feeds the client stream (as chunks), then the server stream, then
    /// finishes; returns all events.
    fn run(client: &[&[u8]], server: &[&[u8]]) -> Vec<TlsEvent> {
        let mut st = TlsState::new();
        let mut out = Vec::new();
        for c in client {
            st.input(true, c, &mut out);
        }
        for s in server {
            st.input(false, s, &mut out);
        }
        st.finish(&mut out);
        out
    }

    // ----- probe -------------------------------------------------------------

    #[test]
    fn probe_detects_hellos() {
        let ch = record(22, &hs(1, &client_hello_body()));
        let sh = record(22, &hs(2, &server_hello12_body()));
        assert_eq!(probe(&ch), Probe::Yes);
        assert_eq!(probe(&sh), Probe::Yes);
        for n in 0..PROBE_LEN {
            assert_eq!(probe(&ch[..n]), Probe::NeedMore, "prefix {n}");
        }
        assert_eq!(probe(b"GET / HTTP/1.1\r\n"), Probe::No);
        assert_eq!(probe(&record(23, &[0; 40])), Probe::No);
        assert_eq!(probe(&record(22, &hs(11, &[0; 40]))), Probe::No);
        let mut bad_version = ch.clone();
        bad_version[2] = 9;
        assert_eq!(probe(&bad_version), Probe::No);
        // SSLv2-format ClientHello offering TLS 1.0 (3 cipher specs, 16-byte
        // challenge): length 34 = 9 header bytes + 9 + 0 + 16.
        let v2 = unhex(concat!(
            "8022", // SSLv2 header, length 34
            "01",   // CLIENT-HELLO
            "0301", // version TLS 1.0
            "0009", // cipher spec length 9
            "0000", // session id length 0
            "0010", // challenge length 16
            "000039",
            "000038",
            "000035",                           // cipher specs
            "00112233445566778899aabbccddeeff", // challenge
        ));
        assert_eq!(probe(&v2), Probe::Yes);
        assert_eq!(probe(&v2[..5]), Probe::NeedMore);
    }

    // ----- whole sessions ----------------------------------------------------

    #[test]
    fn tls12_session_emits_at_certificate() {
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client12(), &mut out);
        assert!(out.is_empty());
        st.input(false, &server12(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        st.finish(&mut out);
        assert_eq!(out.len(), 1, "no second event");
        let ev = &out[0];
        assert_eq!(ev.sni(), Some("example.com"));
        assert_eq!(ev.version.as_deref(), Some("TLS 1.2"));
        assert_eq!(ev.cert_sha1(), Some(sha1_colon(FAKE_LEAF).as_str()));
        assert_eq!(ev.subject, None, "fake DER has no subject");
        assert_eq!(
            ev.ja3.as_ref().map(|j| j.string.as_str()),
            Some("771,4865-49195-49199,0-10-11-13-16-43-23,29-23,0")
        );
        assert_eq!(
            ev.ja3s.as_ref().map(|j| j.string.as_str()),
            Some("771,49199,65281-16")
        );
        assert!(ev.ja4().is_some_and(|j| j.starts_with("t13d0307h2_")));
        assert_eq!(ev.client_alpns, vec!["h2", "http/1.1"]);
        assert_eq!(ev.server_alpns, vec!["http/1.1"]);
        assert_eq!(ev.session_resumed, None);
    }

    #[test]
    fn tls13_session_emits_at_server_hello() {
        let client = record(22, &hs(1, &client_hello_body()));
        let mut server = record(22, &hs(2, &server_hello13_body()));
        server.extend(record(20, &[1]));
        server.extend(record(23, &[0x17; 500])); // encrypted extensions etc.
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client, &mut out);
        st.input(false, &server[..60], &mut out);
        assert!(out.is_empty());
        st.input(false, &server[60..], &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        let ev = &out[0];
        assert_eq!(ev.version.as_deref(), Some("TLS 1.3"));
        assert_eq!(ev.cert_sha1(), None);
        assert_eq!(
            ev.ja3s.as_ref().map(|j| j.string.as_str()),
            Some("771,4865,51-43")
        );
    }

    #[test]
    fn tls13_done_right_after_server_hello_record() {
        let client = record(22, &hs(1, &client_hello_body()));
        let sh = record(22, &hs(2, &server_hello13_body()));
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client, &mut out);
        st.input(false, &sh[..sh.len() - 1], &mut out);
        assert!(out.is_empty() && !st.is_done());
        // The last byte of the ServerHello record: event and done, without
        // waiting for the CCS or any encrypted record.
        st.input(false, &sh[sh.len() - 1..], &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        // Everything after is ignored.
        st.input(false, &record(23, &[0x17; 1000]), &mut out);
        st.input(true, &record(23, &[0x17; 1000]), &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].version.as_deref(), Some("TLS 1.3"));
    }

    #[test]
    fn tls12_done_right_after_certificate_or_hello_done() {
        let client = record(22, &hs(1, &client_hello_body()));
        // Certificate in its own record, ServerHelloDone not yet sent.
        let mut server = record(22, &hs(2, &server_hello12_body()));
        server.extend(record(22, &hs(11, &cert_msg_body(&[FAKE_LEAF]))));
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client, &mut out);
        st.input(false, &server[..server.len() - 1], &mut out);
        assert!(out.is_empty() && !st.is_done());
        st.input(false, &server[server.len() - 1..], &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        assert_eq!(out[0].cert_sha1(), Some(sha1_colon(FAKE_LEAF).as_str()));
        // Anonymous / PSK suites: no Certificate, event at ServerHelloDone.
        let mut server = record(22, &hs(2, &server_hello12_body()));
        server.extend(record(22, &hs(14, &[])));
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client, &mut out);
        st.input(false, &server[..server.len() - 1], &mut out);
        assert!(out.is_empty() && !st.is_done());
        st.input(false, &server[server.len() - 1..], &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        assert_eq!(out[0].version.as_deref(), Some("TLS 1.2"));
    }

    #[test]
    fn application_data_before_event_is_skipped_not_buffered() {
        // Client: ClientHello, then 0-RTT early data (3 full records) fed in
        // 1460-byte segments before the server answers.
        let mut client = record(22, &hs(1, &client_hello_body()));
        for _ in 0..3 {
            client.extend(record(23, &[0xee; parser::MAX_RECORD_LEN - 2048]));
        }
        let mut st = TlsState::new();
        let mut out = Vec::new();
        for seg in client.chunks(1460) {
            st.input(true, seg, &mut out);
            assert_eq!(st.client.msg.capacity(), 0, "record body was copied");
        }
        assert!(st.client_hello.is_some());
        assert_eq!((st.client.mode, st.client.rec_left), (Mode::Records, 0));
        // Server: an alert record and a big non-handshake record before the
        // ServerHello are skipped the same way.
        let mut server = record(21, &[1, 0]);
        server.extend(record(24, &[0x42; 10_000]));
        let sh_start = server.len();
        server.extend(record(22, &hs(2, &server_hello13_body())));
        for seg in server[..sh_start].chunks(1460) {
            st.input(false, seg, &mut out);
            assert_eq!(st.server.msg.capacity(), 0, "record body was copied");
        }
        st.input(false, &server[sh_start..], &mut out);
        assert_eq!(out.len(), 1);
        assert!(st.is_done());
        assert_eq!(out[0].sni(), Some("example.com"));
    }

    #[test]
    fn hello_retry_request_waits_for_real_server_hello() {
        let mut hrr = server_hello13_body();
        hrr[2..34].copy_from_slice(&parser::HRR_RANDOM);
        let mut server = record(22, &hs(2, &hrr));
        server.extend(record(20, &[1])); // compat CCS after HRR
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &record(22, &hs(1, &client_hello_body())), &mut out);
        st.input(false, &server, &mut out);
        assert!(out.is_empty(), "HRR alone does not log");
        st.input(false, &record(22, &hs(2, &server_hello13_body())), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].version.as_deref(), Some("TLS 1.3"));
    }

    #[test]
    fn resumed_session_emits_at_server_ccs() {
        let mut chb = client_hello_body();
        // Replace the empty session id (byte 34) by the server's 4-byte id.
        chb.splice(34..35, [4, 0xaa, 0xbb, 0xcc, 0xdd]);
        let mut server = record(22, &hs(2, &server_hello12_body()));
        server.extend(record(20, &[1]));
        let out = run(&[&record(22, &hs(1, &chb))], &[&server[..server.len() - 1]]);
        // Without the CCS body the event only comes at finish.
        assert_eq!(out.len(), 1);
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &record(22, &hs(1, &chb)), &mut out);
        st.input(false, &server, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].session_resumed, Some(true));
        assert_eq!(out[0].sni(), Some("example.com"));
    }

    #[test]
    fn finish_emits_client_only_once() {
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &record(22, &hs(1, &client_hello_body())), &mut out);
        assert!(out.is_empty());
        st.finish(&mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].version.as_deref(), Some("UNDETERMINED"));
        assert_eq!(out[0].sni(), Some("example.com"));
        assert!(out[0].ja3s.is_none());
        // Nothing seen at all: no event.
        let mut st = TlsState::new();
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn server_first_waits_for_client_hello() {
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(false, &server12(), &mut out);
        assert!(out.is_empty(), "deferred until the ClientHello is fed");
        st.input(true, &client12(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out, run(&[&client12()], &[&server12()]));
    }

    #[test]
    fn oversized_messages_are_capped() {
        let big = vec![0x42u8; 70_000];
        // A huge CertificateStatus before the Certificate exercises the skip
        // path; a huge chain still yields its leaf.
        let mut flight = hs(2, &server_hello12_body());
        flight.extend(hs(22, &big));
        flight.extend(hs(11, &cert_msg_body(&[FAKE_LEAF, &big, &big])));
        let server = records(22, &flight, 16_384);
        let out = run(&[&client12()], &[&server]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].cert_sha1(), Some(sha1_colon(FAKE_LEAF).as_str()));
        // Over-long record length: not a record, direction resyncs/gives up.
        let mut bad = vec![22, 3, 3, 0xff, 0xff];
        bad.extend(vec![0u8; 1000]);
        let out = run(&[&client12()], &[&bad]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].version.as_deref(), Some("UNDETERMINED"));
    }

    // ----- chunking ------------------------------------------------------------

    /// Feeds `client`/`server` split at every position (two chunks each) and
    /// checks every run gives `want`.
    fn assert_split_invariant(client: &[u8], server: &[u8]) -> Vec<TlsEvent> {
        let want = run(&[client], &[server]);
        for i in 0..=client.len() {
            let got = run(&[&client[..i], &client[i..]], &[server]);
            assert_eq!(got, want, "client split at {i}");
        }
        for i in 0..=server.len() {
            let got = run(&[client], &[&server[..i], &server[i..]]);
            assert_eq!(got, want, "server split at {i}");
        }
        // One byte at a time, directions interleaved.
        let mut st = TlsState::new();
        let mut got = Vec::new();
        for i in 0..client.len().max(server.len()) {
            if let Some(b) = client.get(i) {
                st.input(true, std::slice::from_ref(b), &mut got);
            }
            if let Some(b) = server.get(i) {
                st.input(false, std::slice::from_ref(b), &mut got);
            }
        }
        st.finish(&mut got);
        assert_eq!(got, want, "byte at a time");
        want
    }

    #[test]
    fn split_points_and_single_bytes_synthetic() {
        let ev = assert_split_invariant(&client12(), &server12());
        assert_eq!(ev.len(), 1);
        assert!(ev[0].fingerprint.is_some());
        let ev = assert_split_invariant(
            &record(22, &hs(1, &client_hello_body())),
            &record(22, &hs(2, &server_hello13_body())),
        );
        assert_eq!(ev[0].version.as_deref(), Some("TLS 1.3"));
    }

    // ----- gaps ----------------------------------------------------------------

    #[test]
    fn gap_resyncs_on_next_record() {
        let sh = record(22, &hs(2, &server_hello12_body()));
        let cert = record(22, &hs(11, &cert_msg_body(&[FAKE_LEAF])));
        let done = record(22, &hs(14, &[]));
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client12(), &mut out);
        st.input(false, &sh, &mut out);
        st.input(false, &cert[..20], &mut out);
        st.gap(false); // the middle of the certificate record is lost
        st.input(false, &cert[40..], &mut out);
        assert!(out.is_empty());
        st.input(false, &done, &mut out);
        assert_eq!(out.len(), 1, "resynced on ServerHelloDone");
        assert_eq!(out[0].version.as_deref(), Some("TLS 1.2"));
        assert_eq!(out[0].cert_sha1(), None);
        assert!(out[0].ja3.is_some());
    }

    #[test]
    fn gap_then_garbage_gives_up() {
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client12()[..30], &mut out);
        st.gap(true);
        // Zero bytes never form a valid (non-empty) record header.
        st.input(true, &vec![0u8; RESYNC_LIMIT + 10], &mut out);
        assert!(st.client.stopped());
        st.input(false, &server12(), &mut out);
        assert_eq!(out.len(), 1, "client gave up, so no need to wait");
        assert!(out[0].ja3.is_none());
        assert!(out[0].fingerprint.is_some());
    }

    #[test]
    fn gap_in_client_hello_recovers_following_records() {
        let client = client12();
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, &client[..50], &mut out);
        st.gap(true);
        st.input(true, &client[60..], &mut out);
        st.input(false, &server12(), &mut out);
        // The client direction reached its CCS: stopped, so no waiting.
        assert_eq!(out.len(), 1);
        assert!(out[0].ja3.is_none());
        assert!(out[0].cert_sha1().is_some());
    }

    // ----- robustness ----------------------------------------------------------

    use crate::test_util::XorShift;

    /// Feeds `data` in random chunks with occasional gaps.
    fn feed_randomly(rng: &mut XorShift, st: &mut TlsState, to_server: bool, data: &[u8]) {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let n = 1 + rng.below(300);
            let end = (i + n).min(data.len());
            st.input(to_server, &data[i..end], &mut out);
            if rng.below(20) == 0 {
                st.gap(to_server);
            }
            i = end;
        }
        assert!(out.len() <= 1);
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let valid = [client12(), server12()];
        // TLS_FUZZ_ROUNDS raises the round count for longer local runs.
        let rounds = std::env::var("TLS_FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000u32);
        for round in 0..rounds {
            let mut st = TlsState::new();
            for to_server in [true, false] {
                let data: Vec<u8> = if round % 2 == 0 {
                    // Pure noise, sometimes starting with a plausible header.
                    let mut d: Vec<u8> = (0..rng.below(4000)).map(|_| rng.next() as u8).collect();
                    if round % 4 == 0 && d.len() > 6 {
                        let hdr = [22, 3, 3, d[3] & 0x3f, d[4], 1 + (d[5] & 1)];
                        d[..6].copy_from_slice(&hdr);
                    }
                    d
                } else {
                    // A valid stream with a few mutated bytes.
                    let mut d = valid[usize::from(!to_server)].clone();
                    for _ in 0..1 + rng.below(8) {
                        let p = rng.below(d.len());
                        d[p] = rng.next() as u8;
                    }
                    d
                };
                feed_randomly(&mut rng, &mut st, to_server, &data);
            }
            let mut out = Vec::new();
            st.finish(&mut out);
            assert!(out.len() <= 1);
            let _ = probe(&[round as u8, (round >> 8) as u8, 3, 0, 9, 1, 0]);
        }
    }

    // ----- real captures (shared/testdata) -------------------------------------

    /// Locates shared/testdata (env `SENSOR_TESTDATA`, an ancestor of the
    /// crate, or /work/shared/testdata).
    fn testdata() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("SENSOR_TESTDATA") {
            return Some(PathBuf::from(p));
        }
        let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
        while let Some(d) = dir {
            let c = d.join("shared/testdata");
            if c.is_dir() {
                return Some(c);
            }
            dir = d.parent();
        }
        let abs = Path::new("/work/shared/testdata");
        abs.is_dir().then(|| abs.to_path_buf())
    }

    /// Reads a capture below testdata, or prints why the test is skipped.
    fn capture(rel: &str) -> Option<Vec<u8>> {
        let Some(dir) = testdata() else {
            eprintln!("skipping: shared/testdata not found (set SENSOR_TESTDATA)");
            return None;
        };
        match std::fs::read(dir.join(rel)) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("skipping: {rel}: {e}");
                None
            }
        }
    }

    /// One TCP connection's reassembled payload streams.
    #[derive(Default)]
    struct Conn {
        /// (ip, port) of the client side.
        client: (Vec<u8>, u16),
        client_isn: Option<u32>,
        server_isn: Option<u32>,
        client_segs: Vec<(u32, Vec<u8>)>,
        server_segs: Vec<(u32, Vec<u8>)>,
    }

    /// In-order payload from segments (handles retransmissions/reordering).
    fn assemble(isn: Option<u32>, segs: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let Some(mut next) = isn.or_else(|| segs.first().map(|s| s.0)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            let found = segs.iter().find_map(|(seq, p)| {
                let off = next.wrapping_sub(*seq) as usize;
                (off < p.len()).then(|| &p[off..])
            });
            match found {
                Some(tail) => {
                    out.extend_from_slice(tail);
                    next = next.wrapping_add(tail.len() as u32);
                }
                None => return out,
            }
        }
    }

    /// Minimal classic-pcap reader: Ethernet (+VLAN), raw IP, Linux SLL;
    /// IPv4/IPv6; TCP. Returns (client stream, server stream) per connection.
    fn tcp_streams(pcap: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let rd32 = |b: &[u8], le: bool| {
            let a = [b[0], b[1], b[2], b[3]];
            if le {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            }
        };
        let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
        let le = pcap[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || pcap[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
        let linktype = rd32(&pcap[20..24], le);
        type Endpoint = (Vec<u8>, u16);
        let mut conns: Vec<(Endpoint, Endpoint, Conn)> = Vec::new();
        let mut off = 24;
        while off + 16 <= pcap.len() {
            let incl = rd32(&pcap[off + 8..], le) as usize;
            let Some(pkt) = pcap.get(off + 16..off + 16 + incl) else {
                break;
            };
            off += 16 + incl;
            let (mut ethertype, mut ip) = match linktype {
                1 => (be16(&pkt[12..]), &pkt[14..]),
                113 => (be16(&pkt[14..]), &pkt[16..]),
                _ => (if pkt[0] >> 4 == 6 { 0x86dd } else { 0x0800 }, pkt),
            };
            while ethertype == 0x8100 {
                ethertype = be16(&ip[2..]);
                ip = &ip[4..];
            }
            let (src, dst, tcp) = match ethertype {
                0x0800 if ip[9] == 6 => {
                    let ihl = usize::from(ip[0] & 15) * 4;
                    let total = usize::from(be16(&ip[2..])).min(ip.len());
                    (ip[12..16].to_vec(), ip[16..20].to_vec(), &ip[ihl..total])
                }
                0x86dd if ip[6] == 6 => {
                    let plen = usize::from(be16(&ip[4..]));
                    (
                        ip[8..24].to_vec(),
                        ip[24..40].to_vec(),
                        &ip[40..(40 + plen).min(ip.len())],
                    )
                }
                _ => continue,
            };
            let (sp, dp) = (be16(tcp), be16(&tcp[2..]));
            let seq = rd32(&tcp[4..], false);
            let flags = tcp[13];
            let payload = tcp[usize::from(tcp[12] >> 4) * 4..].to_vec();
            let a = (src, sp);
            let b = (dst, dp);
            let idx = conns
                .iter()
                .position(|(x, y, _)| (*x == a && *y == b) || (*x == b && *y == a));
            let idx = idx.unwrap_or_else(|| {
                let client = if flags & 0x12 == 0x12 || (sp == 443 && dp != 443) {
                    b.clone()
                } else {
                    a.clone()
                };
                conns.push((
                    a.clone(),
                    b.clone(),
                    Conn {
                        client,
                        ..Conn::default()
                    },
                ));
                conns.len() - 1
            });
            let c = &mut conns[idx].2;
            let from_client = c.client == a;
            if flags & 0x02 != 0 {
                let isn = Some(seq.wrapping_add(1));
                if from_client {
                    c.client_isn = isn;
                } else {
                    c.server_isn = isn;
                }
            } else if !payload.is_empty() {
                if from_client {
                    c.client_segs.push((seq, payload));
                } else {
                    c.server_segs.push((seq, payload));
                }
            }
        }
        conns
            .into_iter()
            .map(|(_, _, c)| {
                (
                    assemble(c.client_isn, &c.client_segs),
                    assemble(c.server_isn, &c.server_segs),
                )
            })
            .collect()
    }

    /// Runs every connection of a capture; returns one Vec of events each.
    fn events_of(rel: &str) -> Option<Vec<Vec<TlsEvent>>> {
        let pcap = capture(rel)?;
        Some(
            tcp_streams(&pcap)
                .iter()
                .map(|(c, s)| run(&[c], &[s]))
                .collect(),
        )
    }

    /// Checks an event against the `tls` object of Suricata's EVE schema.
    fn check_schema(ev: &TlsEvent) {
        let Some(schema) = capture("eve-schema.json") else {
            return;
        };
        let schema: serde_json::Value = serde_json::from_slice(&schema).expect("schema json");
        let props = &schema["properties"]["tls"]["properties"];
        let v = serde_json::to_value(ev).expect("event json");
        for (k, val) in v.as_object().expect("object") {
            assert!(props.get(k).is_some(), "field {k} not in EVE schema");
            if let Some(obj) = val.as_object() {
                for sub in obj.keys() {
                    assert!(props[k]["properties"].get(sub).is_some(), "{k}.{sub}");
                }
            }
        }
        for d in [&ev.notbefore, &ev.notafter].into_iter().flatten() {
            let b = d.as_bytes();
            assert!(b.len() == 19 && b[4] == b'-' && b[10] == b'T' && b[16] == b':');
        }
    }

    #[test]
    fn sv_tls_glupteba_certificate_fields() {
        let Some(evs) = events_of("suricata-verify/tls-glupteba/input.pcap") else {
            return;
        };
        let ev = &evs[0][0];
        assert_eq!(
            ev.cert_sha1(),
            Some("e9:a0:69:50:ba:18:dc:ac:d3:a7:fe:58:22:4a:1f:42:5b:bc:96:b0")
        );
        assert_eq!(ev.issuerdn.as_deref(), Some("C=US, O=Let's Encrypt, CN=R3"));
        assert_eq!(ev.notafter.as_deref(), Some("2023-03-01T06:47:30"));
        assert_eq!(ev.notbefore.as_deref(), Some("2022-12-01T06:47:31"));
        assert_eq!(
            ev.serial.as_deref(),
            Some("03:DE:23:89:7E:97:FB:86:8E:7C:C5:53:09:FE:AE:D0:AE:20")
        );
        assert_eq!(ev.subject.as_deref(), Some("CN=xn--j1ahhq.xn--p1ai"));
        assert_eq!(ev.version.as_deref(), Some("TLSv1"));
        let san = &ev.subjectaltname;
        assert_eq!(san.len(), 17);
        assert_eq!(san[0], "server1.xn--j1ahhq.xn--p1ai");
        assert_eq!(san[1], "server10.xn--j1ahhq.xn--p1ai");
        assert_eq!(san[9], "server3.xn--j1ahhq.xn--p1ai");
        assert_eq!(san[16], "xn--j1ahhq.xn--p1ai");
        check_schema(ev);
        // SSLv2-format ClientHello: logged from input(), not only at finish.
        let pcap = capture("suricata-verify/tls-glupteba/input.pcap").unwrap_or_default();
        let (c, s) = &tcp_streams(&pcap)[0];
        assert_eq!(probe(c), Probe::Yes);
        let mut st = TlsState::new();
        let mut out = Vec::new();
        st.input(true, c, &mut out);
        st.input(false, s, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].ja3.is_none());
    }

    #[test]
    fn sv_tls_fingerprint_alert() {
        let Some(evs) = events_of("suricata-verify/tls-fingerprint-alert/input.pcap") else {
            return;
        };
        assert_eq!(
            evs[0][0].cert_sha1(),
            Some("90:86:a4:3b:f5:cf:1b:2e:4e:f7:97:96:f9:de:ba:b9:66:35:86:3f")
        );
        check_schema(&evs[0][0]);
    }

    #[test]
    fn sv_ja4_tls() {
        let Some(evs) = events_of("suricata-verify/ja4-tls/input.pcap") else {
            return;
        };
        assert_eq!(
            evs[0][0].ja4(),
            Some("t12i1810s1_27d4652c4487_06a4338d0495")
        );
        check_schema(&evs[0][0]);
    }

    #[test]
    fn sv_detect_bidir_ja3() {
        let Some(evs) = events_of("suricata-verify/detect-bidir-ja3/input.pcap") else {
            return;
        };
        let ev = &evs[0][0];
        assert_eq!(ev.ja3s_hash(), Some("5d79edf64e03689ff559a54e9d9487bc"));
        let ja3 = ev.ja3.as_ref().map(|j| j.string.as_str()).unwrap_or("");
        assert!(ja3.starts_with("771,49196-49200"), "{ja3}");
        check_schema(ev);
    }

    #[test]
    fn sv_tls_alpn_log() {
        let Some(evs) = events_of("suricata-verify/tls-alpn-log-detect-02/input.pcap") else {
            return;
        };
        let ev = &evs[0][0];
        assert_eq!(ev.client_alpns, vec!["h2", "http/1.1"]);
        assert_eq!(ev.server_alpns, vec!["http/1.1"]);
        check_schema(ev);
    }

    #[test]
    fn sv_bug_7264_sni() {
        let Some(evs) = events_of("suricata-verify/bug-7264-tcp-3whs-ack-data-tls-01/input.pcap")
        else {
            return;
        };
        assert_eq!(evs[0][0].sni(), Some("raw.githubusercontent.com"));
    }

    #[test]
    fn real_captures_split_invariant() {
        for rel in [
            "suricata-verify/tls-certs-alert/input.pcap",
            "suricata-verify/ja4-tls/input.pcap",
            "suricata-verify/tls-glupteba/input.pcap",
        ] {
            let Some(pcap) = capture(rel) else {
                return;
            };
            for (c, s) in tcp_streams(&pcap) {
                let evs = assert_split_invariant(&c, &s);
                assert_eq!(evs.len(), 1, "{rel}");
            }
        }
    }

    #[test]
    fn enterprise_captures() {
        let Some(evs) = events_of("pcaps/enterprise/tls/chrome-34-google.pcap") else {
            return;
        };
        for ev in evs.iter().flatten() {
            eprintln!("{}", serde_json::to_string(ev).unwrap_or_default());
            check_schema(ev);
        }
        assert!(evs
            .iter()
            .flatten()
            .any(|e| e.sni().is_some() && e.subject.is_some()));
        let Some(evs) = events_of("pcaps/enterprise/tls/tls13-ech.pcap") else {
            return;
        };
        for ev in evs.iter().flatten() {
            eprintln!("{}", serde_json::to_string(ev).unwrap_or_default());
            check_schema(ev);
        }
        assert!(evs
            .iter()
            .flatten()
            .any(|e| e.version.as_deref() == Some("TLS 1.3")));
    }
}
