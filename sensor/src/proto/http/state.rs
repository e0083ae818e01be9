//! Per-flow HTTP/1.x state: request/response stream parsing, FIFO
//! pairing of pipelined transactions, gap handling and limits.
//!
//! Both directions are parsed from their own buffer. A response head is
//! only parsed once the request it answers is known (its framing depends
//! on the request method), so the response side *stalls* when no request
//! is queued. This makes the emitted events independent of how the two
//! streams are chunked and interleaved.
//!
//! Body bytes are not copied when they can be avoided: while a direction
//! has nothing buffered, body data is counted straight from the input
//! slice and only the bytes after the body (or an incomplete chunk-size
//! line) are buffered. Buffers are consumed by advancing an offset and
//! compacted lazily.

use std::collections::VecDeque;

use super::event::HttpEvent;
use super::parser::{
    find_head_end, parse_request_head, parse_response_head, probe, Body, HeadEnd, RequestHead,
    ResponseHead, Step, MAX_HEADER_BLOCK,
};
use super::Probe;

/// Maximum number of parsed requests waiting for their response.
pub const MAX_PENDING: usize = 64;
/// Maximum bytes buffered in a direction that is stalled (waiting for the
/// other side); beyond it we stop waiting.
pub const MAX_STALL: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Expecting a start line + header block.
    Head,
    /// Inside a message body.
    Body(Body),
    /// Skipping until a plausible start line.
    Resync,
    /// Request side: CONNECT sent, waiting for its response.
    WaitConnect,
    /// After a successful CONNECT: deciding whether the tunnel carries
    /// HTTP (re-parse from scratch) or something opaque.
    Tunnel,
    /// Not HTTP any more (upgrade / opaque tunnel): ignore data.
    Opaque,
}

/// Above this capacity an emptied buffer is released rather than kept.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Unconsumed bytes of one direction: `data[off..]`. Consuming only moves
/// `off`; the consumed prefix is reclaimed when the buffer runs empty, or
/// on append once it is at least as long as the live part (or the append
/// would otherwise grow the allocation). Every live byte is therefore
/// moved O(1) times on average, instead of once per `drain` of a prefix.
#[derive(Debug, Default)]
struct Buf {
    data: Vec<u8>,
    off: usize,
    /// Total bytes ever appended (tests check the fast path with it).
    #[cfg(test)]
    appended: usize,
}

impl Buf {
    /// The live (unconsumed) bytes.
    fn bytes(&self) -> &[u8] {
        &self.data[self.off..]
    }

    fn len(&self) -> usize {
        self.data.len() - self.off
    }

    fn is_empty(&self) -> bool {
        self.off == self.data.len()
    }

    fn last(&self) -> Option<&u8> {
        self.bytes().last()
    }

    /// Drops the first `n` live bytes.
    fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.off += n;
        if self.off >= self.data.len() {
            self.clear();
        }
    }

    fn clear(&mut self) {
        if self.data.capacity() > KEEP_CAPACITY {
            self.data = Vec::new();
        } else {
            self.data.clear();
        }
        self.off = 0;
    }

    fn extend(&mut self, more: &[u8]) {
        if more.is_empty() {
            return;
        }
        if self.off > 0
            && (self.off >= self.len() || self.data.capacity() - self.data.len() < more.len())
        {
            self.data.drain(..self.off);
            self.off = 0;
        }
        self.data.extend_from_slice(more);
        #[cfg(test)]
        {
            self.appended += more.len();
        }
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.data.capacity()
    }
}

#[derive(Debug)]
struct Dir {
    buf: Buf,
    phase: Phase,
    /// During resync: whether `buf[0]` is at the start of a line.
    at_line_start: bool,
}

impl Dir {
    fn new() -> Self {
        Dir {
            buf: Buf::default(),
            phase: Phase::Head,
            at_line_start: true,
        }
    }

    fn skip_leading_newlines(&mut self) {
        let n = self
            .buf
            .bytes()
            .iter()
            .position(|c| *c != b'\r' && *c != b'\n')
            .unwrap_or(self.buf.len());
        self.buf.consume(n);
    }

    /// Look for a start line (`to_server`: request, else response) at a
    /// line start. Returns true when found (buffer now begins with it).
    fn resync(&mut self, to_server: bool) -> bool {
        let bytes = self.buf.bytes();
        let first = self.at_line_start.then_some(0);
        let hit = first
            .into_iter()
            .chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1))
            .find_map(|c| match probe(&bytes[c..], to_server) {
                Probe::Yes => Some((c, true)),
                Probe::NeedMore => Some((c, false)),
                Probe::No => None,
            });
        if let Some((c, found)) = hit {
            self.buf.consume(c);
            self.at_line_start = true;
            return found;
        }
        self.at_line_start =
            self.buf.last() == Some(&b'\n') || (self.buf.is_empty() && self.at_line_start);
        self.buf.clear();
        false
    }
}

/// Response currently being read (head parsed, body in progress).
#[derive(Debug)]
struct Current {
    req: Option<RequestHead>,
    resp: ResponseHead,
    length: u64,
}

/// Per-flow HTTP/1.x state.
#[derive(Debug)]
pub struct HttpState {
    ts: Dir,
    tc: Dir,
    pending: VecDeque<RequestHead>,
    cur: Option<Current>,
    next_tx: u64,
    finishing: bool,
    anomalies: u64,
    transactions: u64,
}

impl Default for HttpState {
    fn default() -> Self {
        Self::new()
    }
}

fn is_connect(r: Option<&RequestHead>) -> bool {
    r.is_some_and(|r| r.method == "CONNECT")
}

impl HttpState {
    /// New state for one TCP flow.
    pub fn new() -> Self {
        HttpState {
            ts: Dir::new(),
            tc: Dir::new(),
            pending: VecDeque::new(),
            cur: None,
            next_tx: 0,
            finishing: false,
            anomalies: 0,
            transactions: 0,
        }
    }

    /// Feed bytes of one direction; completed transactions are appended to
    /// `out` in transaction order.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<HttpEvent>) {
        let d = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        if d.phase == Phase::Opaque {
            return;
        }
        // Fast path: with nothing buffered, body bytes (and complete
        // chunk-size lines) are consumed straight from `data`; only what
        // follows the body, or an incomplete line, is copied. Equivalent to
        // buffering everything: `pump` always leaves both sides unable to
        // progress, and body steps of one side neither depend on nor change
        // anything the other side waits for, so applying them here, before
        // the pump, gives the same sequence of state changes and events.
        let rest = if d.buf.is_empty() {
            self.body_direct(to_server, data, out)
        } else {
            data
        };
        let d = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        d.buf.extend(rest);
        self.pump(out);
    }

    /// Body steps of one direction applied to `data` while its buffer is
    /// empty; returns the bytes not consumed.
    fn body_direct<'a>(
        &mut self,
        to_server: bool,
        mut data: &'a [u8],
        out: &mut Vec<HttpEvent>,
    ) -> &'a [u8] {
        while !data.is_empty() {
            let phase = if to_server {
                self.ts.phase
            } else {
                self.tc.phase
            };
            let Phase::Body(mut b) = phase else {
                break;
            };
            let step = b.step(data);
            let n = if to_server {
                self.request_body_step(b, step)
            } else {
                self.response_body_step(b, step, out)
            };
            match n {
                Some(n) => data = &data[n..],
                None => break,
            }
        }
        data
    }

    /// Applies a request body [`Step`] (`b` is the body state after it).
    /// Returns the bytes consumed, `None` when more data is needed.
    fn request_body_step(&mut self, b: Body, step: Step) -> Option<usize> {
        match step {
            Step::NeedMore => None,
            Step::More { n, .. } => {
                self.ts.phase = Phase::Body(b);
                Some(n)
            }
            Step::Done { n, .. } => {
                self.ts.phase = Phase::Head;
                Some(n)
            }
            Step::Invalid { n } => {
                self.anomalies += 1;
                self.ts.at_line_start = true;
                self.ts.phase = Phase::Resync;
                Some(n)
            }
        }
    }

    /// Applies a response body [`Step`] (`b` is the body state after it),
    /// emitting the transaction when the body ends. Returns the bytes
    /// consumed, `None` when more data is needed.
    fn response_body_step(
        &mut self,
        b: Body,
        step: Step,
        out: &mut Vec<HttpEvent>,
    ) -> Option<usize> {
        let (n, body, done) = match step {
            Step::NeedMore => return None,
            Step::More { n, body } => (n, body, false),
            Step::Done { n, body } => (n, body, true),
            Step::Invalid { n } => {
                self.anomalies += 1;
                self.tc.at_line_start = true;
                self.tc.phase = Phase::Resync;
                if let Some(c) = self.cur.take() {
                    self.emit(c.req.as_ref(), Some(&c.resp), c.length, out);
                }
                return Some(n);
            }
        };
        if let Some(c) = self.cur.as_mut() {
            c.length += body;
        }
        if done {
            self.tc.phase = Phase::Head;
            if let Some(c) = self.cur.take() {
                self.emit(c.req.as_ref(), Some(&c.resp), c.length, out);
            }
        } else {
            self.tc.phase = Phase::Body(b);
        }
        Some(n)
    }

    /// Bytes were lost in one direction. Inside a body the current message
    /// is ended early (shortened body length); elsewhere the partial head is
    /// dropped. Parsing resumes at the next request/response line.
    pub fn gap(&mut self, to_server: bool) {
        let d = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        match d.phase {
            Phase::Opaque | Phase::WaitConnect | Phase::Tunnel => return,
            Phase::Head | Phase::Body(_) | Phase::Resync => {}
        }
        self.anomalies += 1;
        d.buf.clear();
        d.at_line_start = true;
        d.phase = Phase::Resync;
    }

    /// Flow end: complete close-delimited responses, parse responses still
    /// waiting for a request, then emit all unanswered requests.
    pub fn finish(&mut self, out: &mut Vec<HttpEvent>) {
        self.finishing = true;
        self.pump(out);
        if let Some(c) = self.cur.take() {
            self.emit(c.req.as_ref(), Some(&c.resp), c.length, out);
        }
        while let Some(r) = self.pending.pop_front() {
            self.emit(Some(&r), None, 0, out);
        }
        self.ts = Dir::new();
        self.tc = Dir::new();
        self.ts.phase = Phase::Opaque;
        self.tc.phase = Phase::Opaque;
    }

    /// Number of transactions emitted so far.
    pub fn tx_count(&self) -> u64 {
        self.transactions
    }

    /// Number of protocol anomalies (malformed heads, oversize blocks,
    /// framing errors, gaps, queue overflows).
    pub fn anomalies(&self) -> u64 {
        self.anomalies
    }

    /// Requests parsed but not yet answered.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    fn emit(
        &mut self,
        req: Option<&RequestHead>,
        resp: Option<&ResponseHead>,
        length: u64,
        out: &mut Vec<HttpEvent>,
    ) {
        out.push(HttpEvent::build(req, resp, length, self.next_tx));
        self.next_tx += 1;
        self.transactions += 1;
    }

    fn pump(&mut self, out: &mut Vec<HttpEvent>) {
        // Each round either consumes bytes or changes a phase; bounded by
        // the buffered data, the loop guard is only a safety net.
        for _ in 0..1_000_000 {
            let a = self.pump_request(out);
            let b = self.pump_response(out);
            if !a && !b {
                break;
            }
        }
    }

    /// One step of the request side. Returns whether progress was made.
    fn pump_request(&mut self, out: &mut Vec<HttpEvent>) -> bool {
        match self.ts.phase {
            Phase::Head => {
                self.ts.skip_leading_newlines();
                if self.ts.buf.is_empty() {
                    return false;
                }
                if self.pending.len() >= MAX_PENDING {
                    if self.ts.buf.len() <= MAX_STALL && !self.finishing {
                        return false;
                    }
                    self.anomalies += 1;
                    if let Some(r) = self.pending.pop_front() {
                        self.emit(Some(&r), None, 0, out);
                    }
                }
                match find_head_end(self.ts.buf.bytes()) {
                    HeadEnd::NeedMore => false,
                    HeadEnd::TooLarge => {
                        self.anomalies += 1;
                        self.ts.buf.consume(MAX_HEADER_BLOCK);
                        self.ts.at_line_start = false;
                        self.ts.phase = Phase::Resync;
                        true
                    }
                    HeadEnd::Found(end) => {
                        match parse_request_head(&self.ts.buf.bytes()[..end]) {
                            Ok(h) => {
                                self.ts.phase = if h.method == "CONNECT" {
                                    Phase::WaitConnect
                                } else if h.headers.is_chunked() {
                                    Phase::Body(Body::ChunkSize)
                                } else {
                                    match h.headers.content_length() {
                                        Some(Ok(n)) if n > 0 => Phase::Body(Body::Length(n)),
                                        Some(Err(())) => {
                                            self.anomalies += 1;
                                            Phase::Head
                                        }
                                        _ => Phase::Head,
                                    }
                                };
                                self.pending.push_back(h);
                            }
                            Err(_) => self.anomalies += 1,
                        }
                        self.ts.buf.consume(end);
                        true
                    }
                }
            }
            Phase::Body(mut b) => {
                let step = b.step(self.ts.buf.bytes());
                match self.request_body_step(b, step) {
                    Some(n) => {
                        self.ts.buf.consume(n);
                        true
                    }
                    None => false,
                }
            }
            Phase::Resync => {
                if self.ts.buf.is_empty() {
                    return false;
                }
                let before = self.ts.buf.len();
                if self.ts.resync(true) {
                    self.ts.phase = Phase::Head;
                    return true;
                }
                self.ts.buf.len() != before
            }
            Phase::WaitConnect => {
                if self.ts.buf.len() > MAX_STALL {
                    // No answer to the CONNECT in sight: stop waiting.
                    self.anomalies += 1;
                    self.ts.phase = Phase::Head;
                    return true;
                }
                false
            }
            Phase::Tunnel => match probe(self.ts.buf.bytes(), true) {
                Probe::Yes => {
                    // HTTP inside the tunnel: start a fresh HTTP session, as
                    // Suricata does (transaction ids restart at 0).
                    self.next_tx = 0;
                    self.ts.phase = Phase::Head;
                    self.tc.phase = Phase::Head;
                    true
                }
                Probe::NeedMore if !self.finishing => false,
                _ => {
                    self.go_opaque();
                    true
                }
            },
            Phase::Opaque => {
                self.ts.buf.clear();
                false
            }
        }
    }

    fn go_opaque(&mut self) {
        self.ts.phase = Phase::Opaque;
        self.tc.phase = Phase::Opaque;
        self.ts.buf.clear();
        self.tc.buf.clear();
    }

    /// One step of the response side. Returns whether progress was made.
    fn pump_response(&mut self, out: &mut Vec<HttpEvent>) -> bool {
        match self.tc.phase {
            Phase::Head => {
                self.tc.skip_leading_newlines();
                if self.tc.buf.is_empty() {
                    return false;
                }
                let have_req = !self.pending.is_empty();
                if !have_req && !self.finishing && self.tc.buf.len() <= MAX_STALL {
                    return false;
                }
                match find_head_end(self.tc.buf.bytes()) {
                    HeadEnd::NeedMore => {
                        if self.finishing {
                            self.anomalies += 1;
                            self.tc.buf.clear();
                            return true;
                        }
                        false
                    }
                    HeadEnd::TooLarge => {
                        self.anomalies += 1;
                        self.tc.buf.consume(MAX_HEADER_BLOCK);
                        self.tc.at_line_start = false;
                        self.tc.phase = Phase::Resync;
                        true
                    }
                    HeadEnd::Found(end) => {
                        let parsed = parse_response_head(&self.tc.buf.bytes()[..end]);
                        self.tc.buf.consume(end);
                        match parsed {
                            Ok(h) => self.start_response(h, out),
                            Err(_) => self.anomalies += 1,
                        }
                        true
                    }
                }
            }
            Phase::Body(mut b) => {
                let step = b.step(self.tc.buf.bytes());
                match self.response_body_step(b, step, out) {
                    Some(n) => {
                        self.tc.buf.consume(n);
                        true
                    }
                    None => false,
                }
            }
            Phase::Resync => {
                if self.tc.buf.is_empty() {
                    return false;
                }
                let before = self.tc.buf.len();
                if self.tc.resync(false) {
                    self.tc.phase = Phase::Head;
                    // A response cut short by a gap ends here.
                    if let Some(c) = self.cur.take() {
                        self.emit(c.req.as_ref(), Some(&c.resp), c.length, out);
                    }
                    return true;
                }
                self.tc.buf.len() != before
            }
            Phase::WaitConnect => false,
            Phase::Tunnel => {
                // The request side decides what the tunnel carries.
                if self.tc.buf.len() > MAX_STALL {
                    self.go_opaque();
                    return true;
                }
                false
            }
            Phase::Opaque => {
                self.tc.buf.clear();
                false
            }
        }
    }

    fn start_response(&mut self, h: ResponseHead, out: &mut Vec<HttpEvent>) {
        let s = h.status;
        // Interim responses (100 Continue etc.) do not complete a request.
        if (100..200).contains(&s) && s != 101 {
            return;
        }
        let req = self.pending.pop_front();
        let head_req = req.as_ref().is_some_and(|r| r.method == "HEAD");
        let connect = is_connect(req.as_ref());
        if connect && self.ts.phase == Phase::WaitConnect {
            self.ts.phase = Phase::Head;
        }
        let body =
            if head_req || s == 101 || s == 204 || s == 304 || (connect && (200..300).contains(&s))
            {
                None
            } else if h.headers.is_chunked() {
                Some(Body::ChunkSize)
            } else {
                match h.headers.content_length() {
                    Some(Ok(0)) => None,
                    Some(Ok(n)) => Some(Body::Length(n)),
                    Some(Err(())) => {
                        self.anomalies += 1;
                        Some(Body::UntilClose)
                    }
                    None => Some(Body::UntilClose),
                }
            };
        match body {
            None => {
                self.emit(req.as_ref(), Some(&h), 0, out);
                if s == 101 {
                    self.go_opaque();
                } else if connect && (200..300).contains(&s) {
                    self.ts.phase = Phase::Tunnel;
                    self.tc.phase = Phase::Tunnel;
                }
            }
            Some(b) => {
                self.tc.phase = Phase::Body(b);
                self.cur = Some(Current {
                    req,
                    resp: h,
                    length: 0,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(req: &[u8], resp: &[u8]) -> Vec<HttpEvent> {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(true, req, &mut out);
        st.input(false, resp, &mut out);
        st.finish(&mut out);
        out
    }

    fn json(ev: &[HttpEvent]) -> String {
        let v: Vec<_> = ev
            .iter()
            .map(|e| (e.tx_id, serde_json::to_string(e).unwrap_or_default()))
            .collect();
        format!("{v:?}")
    }

    const GET_REQ: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.Example.com:8080\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*\r\n\r\n";
    const GET_RESP: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn get_with_host_and_ua() {
        let ev = run(GET_REQ, GET_RESP);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            serde_json::to_string(&ev[0]).expect("json"),
            r#"{"hostname":"www.example.com","http_port":8080,"url":"/index.html?q=1","http_user_agent":"Mozilla/5.0 (X11)","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5}"#
        );
        assert_eq!(ev[0].hostname(), Some("www.example.com"));
        assert_eq!(ev[0].url(), "/index.html?q=1");
        assert_eq!(ev[0].tx_id(), 0);
    }

    #[test]
    fn event_emitted_when_response_complete_not_before() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(true, GET_REQ, &mut out);
        st.input(false, &GET_RESP[..GET_RESP.len() - 1], &mut out);
        assert!(out.is_empty());
        st.input(false, &GET_RESP[GET_RESP.len() - 1..], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(st.tx_count(), 1);
    }

    #[test]
    fn post_body_split_across_chunks() {
        let req = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello worldGET /next HTTP/1.1\r\nHost: a\r\n\r\n";
        let resp = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop";
        let mut st = HttpState::new();
        let mut out = Vec::new();
        for part in req.chunks(7) {
            st.input(true, part, &mut out);
        }
        assert_eq!(
            st.pending_requests(),
            2,
            "body bytes were not taken as a request"
        );
        st.input(false, resp, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].method(), Some("POST"));
        assert_eq!(out[0].status(), Some(201));
        assert_eq!(out[0].length, 0);
        assert_eq!(out[1].url(), "/next");
        assert_eq!(out[1].status(), Some(404));
        assert_eq!(out[1].length, 3);
        assert_eq!(out[1].tx_id(), 1);
    }

    #[test]
    fn chunked_response() {
        let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n4\r\nWiki\r\n6;x=y\r\npedia!\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        let req = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let ev = run(req, resp);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].length, 10);
        assert_eq!(ev[0].http_content_type.as_deref(), Some("application/json"));
        assert_eq!(ev[1].status(), Some(204));
        assert_eq!(ev[1].url(), "/b");
    }

    #[test]
    fn pipelined_requests_fifo() {
        let req = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nReferer: http://h/1\r\n\r\n";
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 302 Found\r\nLocation: /3\r\nContent-Length: 2\r\n\r\nBB";
        let ev = run(req, resp);
        assert_eq!(ev.len(), 2);
        assert_eq!(
            (ev[0].url(), ev[0].status(), ev[0].length),
            ("/1", Some(200), 1)
        );
        assert_eq!(
            (ev[1].url(), ev[1].status(), ev[1].length),
            ("/2", Some(302), 2)
        );
        assert_eq!(ev[1].redirect.as_deref(), Some("/3"));
        assert_eq!(ev[1].http_refer.as_deref(), Some("http://h/1"));
        assert_eq!((ev[0].tx_id(), ev[1].tx_id()), (0, 1));
    }

    #[test]
    fn head_response_has_no_body() {
        // Content-Length on a HEAD response describes the GET body; the
        // next response must follow immediately.
        let req = b"HEAD /f HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\n";
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let ev = run(req, resp);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].method(), ev[0].length), (Some("HEAD"), 0));
        assert_eq!((ev[1].url(), ev[1].length), ("/g", 2));
    }

    #[test]
    fn not_modified_and_continue() {
        let req = b"GET /c HTTP/1.1\r\nHost: h\r\nIf-None-Match: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab";
        let resp = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let ev = run(req, resp);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].status(), ev[0].length), (Some(304), 0));
        assert_eq!((ev[1].method(), ev[1].status()), (Some("POST"), Some(200)));
    }

    #[test]
    fn bug78_close_delimited_body() {
        // suricata-verify bug-78-http-uri: HTTP/1.0 404 without
        // Content-Length, body delimited by close. Headers exact from pcap.
        let req = b"GET /blah/ HTTP/1.0\r\nUser-Agent: Wget/1.11.4\r\nAccept: */*\r\nHost: www.google.com\r\nConnection: Keep-Alive\r\n\r\n";
        let head = b"HTTP/1.0 404 Not Found\r\nCache-Control: private, max-age=0\r\nDate: Fri, 16 Oct 2009 16:44:16 GMT\r\nExpires: -1\r\nContent-Type: text/html; charset=ISO-8859-1\r\nServer: gws\r\nX-XSS-Protection: 0\r\nX-Cache: MISS from .\r\nVia: 1.0 .:80 (squid)\r\nConnection: close\r\n\r\n";
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(true, req, &mut out);
        st.input(false, head, &mut out);
        // First segment carried 1194 body bytes (the alert's `length`).
        st.input(false, &[b'x'; 1194], &mut out);
        assert!(out.is_empty());
        st.input(false, &[b'y'; 4861 - 1194], &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            serde_json::to_string(&out[0]).expect("json"),
            r#"{"hostname":"www.google.com","url":"/blah/","http_user_agent":"Wget/1.11.4","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.0","status":404,"length":4861}"#
        );
    }

    #[test]
    fn connect_then_http_in_tunnel() {
        // suricata-verify http-connect-simple input.txt.
        let c2s: [&[u8]; 2] = [
            b"CONNECT abc:443 HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nUser-Agent: Victor/1.0\r\n\r\n",
        ];
        let s2c: [&[u8]; 2] = [
            b"HTTP/1.1 200 OK\r\nServer: VictorServer/1.0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nServer: VictorServer/1.0\r\n\r\n",
        ];
        let mut st = HttpState::new();
        let mut out = Vec::new();
        for i in 0..2 {
            st.input(true, c2s[i], &mut out);
            st.input(false, s2c[i], &mut out);
        }
        st.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (
                out[0].method(),
                out[0].protocol.as_deref(),
                out[0].status(),
                out[0].tx_id()
            ),
            (Some("CONNECT"), Some("HTTP/1.1"), Some(200), 0)
        );
        assert_eq!(out[0].hostname(), Some("abc"));
        assert_eq!(out[0].http_port, Some(443));
        assert_eq!(
            (
                out[1].method(),
                out[1].protocol.as_deref(),
                out[1].status(),
                out[1].tx_id()
            ),
            (Some("GET"), Some("HTTP/1.1"), Some(200), 0)
        );
    }

    #[test]
    fn connect_then_tls_is_opaque() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(
            true,
            b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
            &mut out,
        );
        st.input(
            false,
            b"HTTP/1.1 200 Connection established\r\n\r\n",
            &mut out,
        );
        st.input(true, b"\x16\x03\x01\x00\x05hello", &mut out);
        st.input(
            false,
            b"\x16\x03\x03\x00\x05HTTP/1.1 200 OK\r\n\r\n",
            &mut out,
        );
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(st.anomalies(), 0);
    }

    #[test]
    fn unanswered_requests_emitted_at_finish() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(
            true,
            b"GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n",
            &mut out,
        );
        assert!(out.is_empty());
        st.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            serde_json::to_string(&out[1]).expect("json"),
            r#"{"hostname":"h","url":"/y","http_method":"GET","protocol":"HTTP/1.1","length":0}"#
        );
        assert_eq!(out[1].tx_id(), 1);
    }

    #[test]
    fn gap_inside_response_body_shortens_and_resyncs() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(
            true,
            b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            &mut out,
        );
        st.input(
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
            &mut out,
        );
        st.gap(false);
        assert_eq!(
            out.len(),
            0,
            "event is emitted when the body ends, not at the gap"
        );
        // Rest of the lost body, then the next response.
        st.input(
            false,
            b"tail of body\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nZ",
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].url(), out[0].length), ("/a", 10));
        assert_eq!(
            (out[1].url(), out[1].status(), out[1].length),
            ("/b", Some(404), 1)
        );
        assert!(st.anomalies() >= 1);
    }

    #[test]
    fn gap_inside_request_headers_resyncs() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(true, b"GET /lost HTTP/1.1\r\nHo", &mut out);
        st.gap(true);
        st.input(
            true,
            b"st-not-really\r\n\r\nGET /found HTTP/1.1\r\nHost: h\r\n\r\n",
            &mut out,
        );
        st.input(
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].url(), "/found");
    }

    #[test]
    fn split_points_give_identical_events() {
        let req: &[u8] = b"GET /1 HTTP/1.1\r\nHost: a.b\r\nUser-Agent: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a.b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHEAD /3 HTTP/1.0\r\n\r\n";
        let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nbodyHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\n";
        let want = json(&run(req, resp));
        assert!(want.contains("\\\"length\\\":5"));
        let reference = run(req, resp);
        assert_eq!(reference.len(), 3);
        for cut in 0..=req.len().max(resp.len()) {
            let rc = cut.min(req.len());
            let sc = cut.min(resp.len());
            // Interleave: first part of each, then the rest, in both orders.
            for order in 0..2 {
                let mut st = HttpState::new();
                let mut out = Vec::new();
                if order == 0 {
                    st.input(true, &req[..rc], &mut out);
                    st.input(false, &resp[..sc], &mut out);
                    st.input(true, &req[rc..], &mut out);
                    st.input(false, &resp[sc..], &mut out);
                } else {
                    st.input(false, &resp[..sc], &mut out);
                    st.input(true, &req[..rc], &mut out);
                    st.input(false, &resp[sc..], &mut out);
                    st.input(true, &req[rc..], &mut out);
                }
                st.finish(&mut out);
                assert_eq!(json(&out), want, "cut {cut} order {order}");
            }
        }
        // Byte-at-a-time, alternating directions.
        let mut st = HttpState::new();
        let mut out = Vec::new();
        for i in 0..req.len().max(resp.len()) {
            if let Some(b) = req.get(i) {
                st.input(true, std::slice::from_ref(b), &mut out);
            }
            if let Some(b) = resp.get(i) {
                st.input(false, std::slice::from_ref(b), &mut out);
            }
        }
        st.finish(&mut out);
        assert_eq!(json(&out), want);
    }

    #[test]
    fn oversize_header_block_resyncs() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        let mut req = b"GET /big HTTP/1.1\r\nX: ".to_vec();
        req.extend(std::iter::repeat_n(b'a', MAX_HEADER_BLOCK + 100));
        req.extend_from_slice(b"\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
        st.input(true, &req, &mut out);
        st.input(
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].url(), "/ok");
        assert!(st.anomalies() >= 1);
    }

    #[test]
    fn pending_queue_is_bounded() {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        let one = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        for _ in 0..(MAX_PENDING + 10) {
            st.input(true, one, &mut out);
        }
        assert_eq!(st.pending_requests(), MAX_PENDING);
        st.finish(&mut out);
        assert_eq!(out.len(), MAX_PENDING + 10);
    }

    /// Request for `/big`, then a response head, then `body` (already
    /// framed), then a small second response, all in `seg`-byte chunks.
    /// Returns events and the bytes copied into the response buffer.
    fn stream_big(head: &[u8], body: &[u8], seg: usize) -> (Vec<HttpEvent>, usize, usize) {
        let mut st = HttpState::new();
        let mut out = Vec::new();
        st.input(
            true,
            b"GET /big HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
            &mut out,
        );
        let mut resp = head.to_vec();
        resp.extend_from_slice(body);
        resp.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop");
        let mut max_cap = 0;
        for c in resp.chunks(seg) {
            st.input(false, c, &mut out);
            max_cap = max_cap.max(st.tc.buf.capacity());
        }
        st.finish(&mut out);
        assert_eq!(st.anomalies(), 0);
        (out, st.tc.buf.appended, max_cap)
    }

    #[test]
    fn body_fast_path_content_length() {
        const MB: usize = 1 << 20;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {MB}\r\n\r\n");
        let body = vec![b'x'; MB];
        let (ev, copied, max_cap) = stream_big(head.as_bytes(), &body, 1460);
        assert_eq!(ev.len(), 2);
        assert_eq!((ev[0].url(), ev[0].length), ("/big", MB as u64));
        assert_eq!(
            (ev[1].url(), ev[1].status(), ev[1].length),
            ("/next", Some(404), 3)
        );
        // Only the first segment (head + start of body) and the segment
        // holding the body's end and the next head are copied.
        assert!(copied <= 2 * 1460, "copied {copied} bytes");
        assert!(max_cap <= 4096, "buffer grew to {max_cap}");
        // Same events when the head arrives alone and the body is fed in
        // odd sizes, or byte by byte (slow path for the heads).
        for seg in [1, 7, 1460, 65536, 3 * MB] {
            assert_eq!(stream_big(head.as_bytes(), &body, seg).0, ev, "seg {seg}");
        }
    }

    #[test]
    fn body_fast_path_chunked() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut body = Vec::new();
        let mut total = 0u64;
        for i in 0..100u64 {
            let n = 10_000 + i * 37;
            body.extend_from_slice(format!("{n:x};i={i}\r\n").as_bytes());
            body.extend(std::iter::repeat_n(b'c', n as usize));
            body.extend_from_slice(b"\r\n");
            total += n;
        }
        body.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        let (ev, copied, max_cap) = stream_big(head, &body, 1460);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].length, total);
        assert_eq!((ev[1].url(), ev[1].length), ("/next", 3));
        // Copies happen only where a size line straddles two segments.
        assert!(
            copied < body.len() / 20,
            "copied {copied} of {}",
            body.len()
        );
        assert!(max_cap <= 4096, "buffer grew to {max_cap}");
        for seg in [1, 2, 5, 1460, 9000, 65536] {
            assert_eq!(stream_big(head, &body, seg).0, ev, "seg {seg}");
        }
    }

    #[test]
    fn buf_consumes_without_shifting() {
        let mut b = Buf::default();
        b.extend(b"0123456789");
        let p = b.data.as_ptr();
        b.consume(3);
        assert_eq!(b.bytes(), b"3456789");
        assert_eq!((b.off, b.data.as_ptr()), (3, p), "no shift on consume");
        b.consume(4);
        b.extend(b"ab");
        // Consumed prefix (7) >= live part (3): compacted on append.
        assert_eq!((b.off, b.bytes()), (0, &b"789ab"[..]));
        b.consume(5);
        assert!(b.is_empty() && b.data.is_empty() && b.off == 0);
    }

    /// `cargo test --release -- --ignored --nocapture body_throughput`
    #[test]
    #[ignore]
    fn body_throughput() {
        let mut resp = Vec::new();
        let mut req = Vec::new();
        let mut size = 512usize;
        while resp.len() < 10 << 20 {
            req.extend_from_slice(b"GET /o HTTP/1.1\r\nHost: h\r\n\r\n");
            resp.extend_from_slice(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").as_bytes(),
            );
            resp.extend(std::iter::repeat_n(b'b', size));
            size = if size >= 256 * 1024 { 512 } else { size * 2 };
        }
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let mut st = HttpState::new();
            let mut out = Vec::new();
            for (q, r) in req.chunks(1460).zip(resp.chunks(1460)) {
                st.input(true, q, &mut out);
                st.input(false, r, &mut out);
            }
            for r in resp.chunks(1460).skip(req.len().div_ceil(1460)) {
                st.input(false, r, &mut out);
            }
            st.finish(&mut out);
            std::hint::black_box(&out);
            best = best.min(t.elapsed().as_secs_f64());
        }
        let mb = (req.len() + resp.len()) as f64 / 1e6;
        println!("{mb:.1} MB in 1460-byte chunks: {:.0} MB/s", mb / best);
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet: &[u8] = b"GET HTTP/1.1 200\r\n:;0123456789abcdef chunked Content-Length Transfer-Encoding HEAD CONNECT\x00\xff";
        for _ in 0..300 {
            let mut st = HttpState::new();
            let mut out = Vec::new();
            for _ in 0..40 {
                let r = next();
                let len = (r % 200) as usize;
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        let v = next();
                        if v % 3 == 0 {
                            v as u8
                        } else {
                            alphabet[(v >> 8) as usize % alphabet.len()]
                        }
                    })
                    .collect();
                match r % 11 {
                    0 => st.gap(r % 2 == 0),
                    _ => st.input(r % 2 == 0, &buf, &mut out),
                }
                assert!(st.ts.buf.len() <= MAX_STALL + 200 + MAX_HEADER_BLOCK);
            }
            st.finish(&mut out);
            for e in &out {
                let _ = serde_json::to_string(e);
            }
        }
    }
}
