//! Pure HTTP/1.x parsing helpers: start-line probing, header-block
//! location, head parsing via `httparse`, host/port extraction and body
//! framing (Content-Length and chunked transfer coding).

use std::sync::OnceLock;

use memchr::memmem;

use super::Probe;

/// Maximum size of a request/response header block.
pub const MAX_HEADER_BLOCK: usize = 16 * 1024;
/// Maximum number of header lines parsed per message.
pub const MAX_HEADERS: usize = 64;
/// Maximum length of a chunk-size line or trailer line.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Request methods accepted by [`probe`] (case-sensitive, RFC 9110 +
/// WebDAV + SSDP + common extensions).
pub const METHODS: &[&str] = &[
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PURGE",
];

/// Does `data` start like an HTTP/1.x request (`to_server`) or response?
///
/// Requests: a known method followed by a space. Responses: `HTTP/1.`.
pub fn probe(data: &[u8], to_server: bool) -> Probe {
    if to_server {
        let mut need_more = false;
        for m in METHODS {
            let m = m.as_bytes();
            let n = data.len().min(m.len() + 1);
            let want = |i: usize| if i < m.len() { m[i] } else { b' ' };
            if (0..n).all(|i| data[i] == want(i)) {
                if data.len() > m.len() {
                    return Probe::Yes;
                }
                need_more = true;
            }
        }
        if need_more {
            Probe::NeedMore
        } else {
            Probe::No
        }
    } else {
        let pat = b"HTTP/1.";
        let n = data.len().min(pat.len());
        if data[..n] != pat[..n] {
            Probe::No
        } else if n < pat.len() {
            Probe::NeedMore
        } else {
            Probe::Yes
        }
    }
}

/// Outcome of searching for the end of a header block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadEnd {
    /// Block is `buf[..n]` including the blank line.
    Found(usize),
    /// No blank line yet and the block is still within limits.
    NeedMore,
    /// No blank line within [`MAX_HEADER_BLOCK`] bytes.
    TooLarge,
}

/// Locate the blank line terminating a header block (`\n\r\n` or `\n\n`).
/// The decision only depends on the first `MAX_HEADER_BLOCK + 3` bytes,
/// so it is independent of how the stream was chunked.
///
/// One pass over the line feeds: the first LF followed by `LF` or `CR LF`
/// ends the block (no substring searcher is built per call, and bytes
/// after the block, e.g. a body, are never scanned).
pub fn find_head_end(buf: &[u8]) -> HeadEnd {
    let lim = &buf[..buf.len().min(MAX_HEADER_BLOCK + 3)];
    for i in memchr::memchr_iter(b'\n', lim) {
        match lim.get(i + 1) {
            Some(b'\n') => return HeadEnd::Found(i + 2),
            Some(b'\r') if lim.get(i + 2) == Some(&b'\n') => return HeadEnd::Found(i + 3),
            _ => {}
        }
    }
    if buf.len() > MAX_HEADER_BLOCK + 2 {
        HeadEnd::TooLarge
    } else {
        HeadEnd::NeedMore
    }
}

/// Header fields the decoder keeps (repeated headers joined by `", "`,
/// like libhtp).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    /// `Host`.
    pub host: Option<Vec<u8>>,
    /// `User-Agent`.
    pub user_agent: Option<Vec<u8>>,
    /// `X-Forwarded-For`.
    pub xff: Option<Vec<u8>>,
    /// `Referer`.
    pub referer: Option<Vec<u8>>,
    /// `Content-Type`.
    pub content_type: Option<Vec<u8>>,
    /// `Location`.
    pub location: Option<Vec<u8>>,
    /// `Content-Length` (raw).
    pub content_length: Option<Vec<u8>>,
    /// `Transfer-Encoding` (raw).
    pub transfer_encoding: Option<Vec<u8>>,
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(s, |i| i + 1);
    &v[s..e.max(s)]
}

impl Headers {
    fn collect(hs: &[httparse::Header<'_>]) -> Self {
        let mut out = Headers::default();
        for h in hs {
            let is = |name: &str| h.name.eq_ignore_ascii_case(name);
            let slot = if is("host") {
                &mut out.host
            } else if is("user-agent") {
                &mut out.user_agent
            } else if is("x-forwarded-for") {
                &mut out.xff
            } else if is("referer") {
                &mut out.referer
            } else if is("content-type") {
                &mut out.content_type
            } else if is("location") {
                &mut out.location
            } else if is("content-length") {
                &mut out.content_length
            } else if is("transfer-encoding") {
                &mut out.transfer_encoding
            } else {
                continue;
            };
            let v = trim(h.value);
            match slot {
                Some(prev) => {
                    prev.extend_from_slice(b", ");
                    prev.extend_from_slice(v);
                }
                None => *slot = Some(v.to_vec()),
            }
        }
        out
    }

    /// `Transfer-Encoding` contains the `chunked` token.
    pub fn is_chunked(&self) -> bool {
        self.transfer_encoding.as_deref().is_some_and(|te| {
            te.split(|c| *c == b',')
                .any(|t| trim(t).eq_ignore_ascii_case(b"chunked"))
        })
    }

    /// Parsed `Content-Length`. Repeated identical values are accepted;
    /// anything else non-numeric is `Err(())`.
    pub fn content_length(&self) -> Option<Result<u64, ()>> {
        let raw = self.content_length.as_deref()?;
        let mut val: Option<u64> = None;
        for part in raw.split(|c| *c == b',') {
            let p = trim(part);
            if p.is_empty() || p.len() > 18 || !p.iter().all(u8::is_ascii_digit) {
                return Some(Err(()));
            }
            let n = p.iter().fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
            if val.is_some_and(|v| v != n) {
                return Some(Err(()));
            }
            val = Some(n);
        }
        val.map(Ok)
    }
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// Method token.
    pub method: String,
    /// Request target exactly as sent.
    pub uri: Vec<u8>,
    /// Minor version (`HTTP/1.x`).
    pub minor: u8,
    /// Kept header fields.
    pub headers: Headers,
}

/// A parsed response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// Minor version (`HTTP/1.x`).
    pub minor: u8,
    /// Status code.
    pub status: u16,
    /// Kept header fields.
    pub headers: Headers,
}

fn config() -> &'static httparse::ParserConfig {
    static CONFIG: OnceLock<httparse::ParserConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut c = httparse::ParserConfig::default();
        c.allow_multiple_spaces_in_request_line_delimiters(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_spaces_after_header_name_in_responses(true)
            .ignore_invalid_headers_in_requests(true)
            .ignore_invalid_headers_in_responses(true);
        c
    })
}

/// Parse a complete request header block (as located by [`find_head_end`]).
pub fn parse_request_head(block: &[u8]) -> Result<RequestHead, httparse::Error> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut hs);
    match config().parse_request(&mut req, block)? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(httparse::Error::NewLine),
    }
    Ok(RequestHead {
        method: req.method.unwrap_or("").to_string(),
        uri: req.path.unwrap_or("").as_bytes().to_vec(),
        minor: req.version.unwrap_or(0),
        headers: Headers::collect(req.headers),
    })
}

/// Parse a complete response header block.
pub fn parse_response_head(block: &[u8]) -> Result<ResponseHead, httparse::Error> {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut hs);
    match config().parse_response(&mut resp, block)? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(httparse::Error::NewLine),
    }
    Ok(ResponseHead {
        minor: resp.version.unwrap_or(0),
        status: resp.code.unwrap_or(0),
        headers: Headers::collect(resp.headers),
    })
}

/// Split `host[:port]` like libhtp: IPv6 literals keep their brackets,
/// trailing spaces are trimmed, the port is kept only if it is a valid
/// non-zero 16-bit number. Returns `None` for an empty host.
pub fn parse_hostport(v: &[u8]) -> Option<(Vec<u8>, Option<u16>)> {
    let v = trim(v);
    let (host, rest) = if v.first() == Some(&b'[') {
        let end = memchr::memchr(b']', v)?;
        v.split_at(end + 1)
    } else {
        let end = v
            .iter()
            .position(|c| matches!(c, b'/' | b'?' | b'#' | b':'))
            .unwrap_or(v.len());
        v.split_at(end)
    };
    let host = trim(host);
    if host.is_empty() {
        return None;
    }
    let port = rest.strip_prefix(b":").and_then(|p| {
        let end = p
            .iter()
            .position(|c| matches!(c, b'/' | b'?' | b'#'))
            .unwrap_or(p.len());
        let p = trim(&p[..end]);
        if p.is_empty() || p.len() > 5 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = p.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
        u16::try_from(n).ok().filter(|n| *n != 0)
    });
    Some((host.to_ascii_lowercase(), port))
}

/// The authority part of an absolute-form URI (`scheme://[user@]host...`),
/// or the whole target for CONNECT's authority-form.
pub fn uri_authority<'a>(uri: &'a [u8], method: &str) -> Option<&'a [u8]> {
    if method == "CONNECT" {
        return Some(uri);
    }
    static SCHEME_SEP: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    let i = SCHEME_SEP
        .get_or_init(|| memmem::Finder::new(b"://"))
        .find(uri)?;
    let scheme = &uri[..i];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+')
    {
        return None;
    }
    let rest = &uri[i + 3..];
    let end = rest
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let auth = &rest[..end];
    Some(match memchr::memrchr(b'@', auth) {
        Some(at) => &auth[at + 1..],
        None => auth,
    })
}

/// Body framing state machine (RFC 9112 §6, §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `Content-Length` bytes remaining.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Chunk data bytes remaining.
    ChunkData(u64),
    /// Expecting the CRLF after chunk data.
    ChunkDataEnd,
    /// Reading trailer lines until the empty line.
    Trailer,
    /// Body delimited by connection close.
    UntilClose,
}

/// Result of one [`Body::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Consumed `n` bytes of which `body` were payload; not finished.
    More {
        /// Bytes consumed from the input.
        n: usize,
        /// Payload bytes among them.
        body: u64,
    },
    /// Consumed `n` bytes; the body is complete.
    Done {
        /// Bytes consumed from the input.
        n: usize,
        /// Payload bytes among them.
        body: u64,
    },
    /// Nothing can be consumed until more data arrives.
    NeedMore,
    /// Framing error after consuming `n` bytes.
    Invalid {
        /// Bytes consumed (the offending line).
        n: usize,
    },
}

fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let end = memchr::memchr(b';', line).unwrap_or(line.len());
    let hex = trim(&line[..end]);
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    hex.iter().try_fold(0u64, |a, c| {
        let d = (*c as char).to_digit(16)?;
        Some(a * 16 + u64::from(d))
    })
}

impl Body {
    /// Advance over `buf`. Never returns `More { n: 0, .. }` without having
    /// changed state, so callers can loop until `NeedMore`.
    pub fn step(&mut self, buf: &[u8]) -> Step {
        match *self {
            Body::Length(rem) | Body::ChunkData(rem) => {
                if rem == 0 {
                    return self.finish_data(0);
                }
                if buf.is_empty() {
                    return Step::NeedMore;
                }
                let n = (buf.len() as u64).min(rem);
                let left = rem - n;
                if let Body::Length(_) = self {
                    *self = Body::Length(left);
                } else {
                    *self = Body::ChunkData(left);
                }
                if left == 0 {
                    self.finish_data(n as usize)
                } else {
                    Step::More {
                        n: n as usize,
                        body: n,
                    }
                }
            }
            Body::ChunkSize => {
                let lim = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                match memchr::memchr(b'\n', lim) {
                    None if buf.len() >= MAX_CHUNK_LINE => Step::Invalid { n: lim.len() },
                    None => Step::NeedMore,
                    Some(i) => match parse_chunk_size(&buf[..i]) {
                        None => Step::Invalid { n: i + 1 },
                        Some(0) => {
                            *self = Body::Trailer;
                            Step::More { n: i + 1, body: 0 }
                        }
                        Some(sz) => {
                            *self = Body::ChunkData(sz);
                            Step::More { n: i + 1, body: 0 }
                        }
                    },
                }
            }
            Body::ChunkDataEnd => {
                let n = match buf {
                    [] | [b'\r'] => return Step::NeedMore,
                    [b'\r', b'\n', ..] => 2,
                    [b'\n', ..] | [b'\r', ..] => 1,
                    // Missing CRLF: be lenient and read the next size line.
                    _ => 0,
                };
                *self = Body::ChunkSize;
                Step::More { n, body: 0 }
            }
            Body::Trailer => {
                let lim = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                match memchr::memchr(b'\n', lim) {
                    None if buf.len() >= MAX_CHUNK_LINE => Step::Invalid { n: lim.len() },
                    None => Step::NeedMore,
                    Some(i) if i == 0 || (i == 1 && buf[0] == b'\r') => {
                        Step::Done { n: i + 1, body: 0 }
                    }
                    Some(i) => Step::More { n: i + 1, body: 0 },
                }
            }
            Body::UntilClose => {
                if buf.is_empty() {
                    Step::NeedMore
                } else {
                    Step::More {
                        n: buf.len(),
                        body: buf.len() as u64,
                    }
                }
            }
        }
    }

    fn finish_data(&mut self, n: usize) -> Step {
        match self {
            Body::ChunkData(_) => {
                *self = Body::ChunkDataEnd;
                Step::More { n, body: n as u64 }
            }
            _ => Step::Done { n, body: n as u64 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_lines() {
        assert_eq!(probe(b"GET / HTTP/1.1\r\n", true), Probe::Yes);
        assert_eq!(probe(b"PROPFIND /x", true), Probe::Yes);
        assert_eq!(probe(b"GE", true), Probe::NeedMore);
        assert_eq!(probe(b"GET", true), Probe::NeedMore);
        assert_eq!(probe(b"", true), Probe::NeedMore);
        assert_eq!(probe(b"GETX / HTTP/1.1", true), Probe::No);
        assert_eq!(probe(b"get / HTTP/1.1", true), Probe::No);
        assert_eq!(probe(b"\x16\x03\x01", true), Probe::No);
        assert_eq!(probe(b"HTTP/1.1 200 OK", false), Probe::Yes);
        assert_eq!(probe(b"HTTP/", false), Probe::NeedMore);
        assert_eq!(probe(b"HTTP/2 200", false), Probe::No);
        assert_eq!(probe(b"SSH-2.0", false), Probe::No);
    }

    #[test]
    fn head_end() {
        assert_eq!(
            find_head_end(b"GET / HTTP/1.0\r\n\r\nX"),
            HeadEnd::Found(18)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.0\n\nX"), HeadEnd::Found(16));
        assert_eq!(
            find_head_end(b"GET / HTTP/1.0\r\nA: b\r\n"),
            HeadEnd::NeedMore
        );
        let big = vec![b'a'; MAX_HEADER_BLOCK + 10];
        assert_eq!(find_head_end(&big), HeadEnd::TooLarge);
    }

    #[test]
    fn head_end_matches_two_pattern_search() {
        // Reference: earliest end of `\n\r\n` or `\n\n` within the limit.
        fn reference(buf: &[u8]) -> HeadEnd {
            let lim = &buf[..buf.len().min(MAX_HEADER_BLOCK + 3)];
            let a = memmem::find(lim, b"\n\r\n").map(|i| i + 3);
            let b = memmem::find(lim, b"\n\n").map(|i| i + 2);
            match a.into_iter().chain(b).min() {
                Some(x) => HeadEnd::Found(x),
                None if buf.len() > MAX_HEADER_BLOCK + 2 => HeadEnd::TooLarge,
                None => HeadEnd::NeedMore,
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"\r\na:";
        for round in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let mut v: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (2 * i)) & 3) as usize])
                .collect();
            if round % 500 == 0 {
                // Around the size limit.
                let mut big = vec![b'a'; MAX_HEADER_BLOCK - 4 + (round / 500) % 10];
                big.extend_from_slice(&v);
                v = big;
            }
            assert_eq!(find_head_end(&v), reference(&v), "{v:?}");
        }
    }

    #[test]
    fn request_head_fields() {
        let h = parse_request_head(
            b"GET /a?b HTTP/1.1\r\nHost: Ex.COM:8080\r\nUser-Agent:  curl/8 \r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\n\r\n",
        )
        .expect("parse");
        assert_eq!(h.method, "GET");
        assert_eq!(h.uri, b"/a?b");
        assert_eq!(h.minor, 1);
        assert_eq!(h.headers.user_agent.as_deref(), Some(&b"curl/8"[..]));
        assert_eq!(h.headers.xff.as_deref(), Some(&b"1.1.1.1, 2.2.2.2"[..]));
        assert_eq!(
            parse_hostport(h.headers.host.as_deref().unwrap_or_default()),
            Some((b"ex.com".to_vec(), Some(8080)))
        );
    }

    #[test]
    fn hostport_rules() {
        assert_eq!(
            parse_hostport(b"[::1]:8000"),
            Some((b"[::1]".to_vec(), Some(8000)))
        );
        assert_eq!(parse_hostport(b"a.b"), Some((b"a.b".to_vec(), None)));
        assert_eq!(parse_hostport(b"a.b:0"), Some((b"a.b".to_vec(), None)));
        assert_eq!(parse_hostport(b"a.b:99999"), Some((b"a.b".to_vec(), None)));
        assert_eq!(parse_hostport(b"a.b:"), Some((b"a.b".to_vec(), None)));
        assert_eq!(parse_hostport(b""), None);
        assert_eq!(
            uri_authority(b"http://u:p@Host.x:81/p", "GET"),
            Some(&b"Host.x:81"[..])
        );
        assert_eq!(uri_authority(b"/p://x", "GET"), None);
        assert_eq!(uri_authority(b"abc:443", "CONNECT"), Some(&b"abc:443"[..]));
    }

    #[test]
    fn content_length_rules() {
        let mut h = Headers {
            content_length: Some(b"5, 5".to_vec()),
            ..Headers::default()
        };
        assert_eq!(h.content_length(), Some(Ok(5)));
        h.content_length = Some(b"5, 6".to_vec());
        assert_eq!(h.content_length(), Some(Err(())));
        h.content_length = Some(b"-1".to_vec());
        assert_eq!(h.content_length(), Some(Err(())));
        h.transfer_encoding = Some(b"gzip, Chunked".to_vec());
        assert!(h.is_chunked());
    }

    #[test]
    fn chunked_body_steps() {
        let data = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let mut b = Body::ChunkSize;
        let mut pos = 0;
        let mut body = 0;
        loop {
            match b.step(&data[pos..]) {
                Step::More { n, body: k } => {
                    pos += n;
                    body += k;
                }
                Step::Done { n, body: k } => {
                    pos += n;
                    body += k;
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(body, 9);
        assert_eq!(&data[pos..], b"NEXT");
        assert_eq!(Body::ChunkSize.step(b"zz\r\n"), Step::Invalid { n: 4 });
        assert_eq!(Body::ChunkSize.step(b"1f"), Step::NeedMore);
    }
}
