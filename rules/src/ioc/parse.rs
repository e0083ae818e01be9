//! Type inference and normalisation of single indicator values.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

use super::{IocKind, SHA256_REASON};

/// Longest value accepted (bytes). Longer lines are rejected.
pub const MAX_VALUE_LEN: usize = 2048;

/// Longest DNS name in bytes (without trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;

/// Why a value produced no indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Malformed or unsupported value: an error (fatal in strict mode).
    Invalid(String),
    /// A valid value that cannot be seen in traffic (file hashes).
    NotObservable(&'static str),
}

impl Rejected {
    /// Human readable reason.
    pub fn reason(&self) -> &str {
        match self {
            Rejected::Invalid(r) => r,
            Rejected::NotObservable(r) => r,
        }
    }
}

fn invalid(reason: impl Into<String>) -> Rejected {
    Rejected::Invalid(reason.into())
}

/// Classifies and normalises one indicator value.
///
/// With `kind == None` the type is inferred (a `kind:` prefix such as
/// `sni:foo.com` is honoured first); with `Some(kind)` the value must be of
/// that kind. Returns the kind and the normalised value stored in
/// [`Indicator::value`](super::Indicator::value). Defanged values
/// (`hxxp://`, `[.]`) are refanged.
pub fn classify(text: &str, kind: Option<IocKind>) -> Result<(IocKind, String), Rejected> {
    let t = text.trim();
    if t.is_empty() {
        return Err(invalid("empty value"));
    }
    if t.len() > MAX_VALUE_LEN {
        return Err(invalid(format!(
            "value too long ({} bytes, max {MAX_VALUE_LEN})",
            t.len()
        )));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("whitespace or control character inside value"));
    }
    let t = refang(t);
    let t = t.as_ref();
    match kind {
        Some(k) => classify_as(k, t),
        None => {
            if let Some((prefix, rest)) = t.split_once(':').filter(|(_, r)| !r.starts_with("//")) {
                if let Some(k) = IocKind::ALL
                    .iter()
                    .find(|k| k.as_str().eq_ignore_ascii_case(prefix))
                {
                    return classify_as(*k, rest);
                }
                if let Some(reason) = file_hash_type(prefix) {
                    return Err(Rejected::NotObservable(reason));
                }
            }
            infer(t)
        }
    }
}

/// Reason for a type name that denotes a file artefact, if it is one.
pub(crate) fn file_hash_type(name: &str) -> Option<&'static str> {
    let mut buf = [0u8; 16];
    Some(match lower_into(name.trim(), &mut buf)? {
        b"sha256" | b"sha-256" => SHA256_REASON,
        b"sha512" | b"sha-512" => "sha512 file hash: not observable on the wire",
        b"sha1" | b"sha-1" => "sha1 file hash: not observable on the wire",
        b"md5" => "md5 file hash: not observable on the wire",
        b"imphash" | b"ssdeep" | b"tlsh" => "fuzzy file hash: not observable on the wire",
        b"filename" | b"file" | b"path" => "file name: not observable on the wire",
        _ => return None,
    })
}

fn refang(t: &str) -> Cow<'_, str> {
    let lower_start = t.get(..5).map(str::to_ascii_lowercase);
    let defanged_scheme = matches!(lower_start.as_deref(), Some("hxxp:" | "hxxps"));
    if !defanged_scheme && !t.contains("[.]") && !t.contains("(.)") {
        return Cow::Borrowed(t);
    }
    let mut s = t.replace("[.]", ".").replace("(.)", ".");
    if defanged_scheme {
        s.replace_range(..4, "http");
    }
    Cow::Owned(s)
}

fn infer(t: &str) -> Result<(IocKind, String), Rejected> {
    if let Some((scheme, _)) = t.split_once("://") {
        if is_scheme(scheme) {
            return scheme_url(t, false);
        }
        return Err(invalid(format!("invalid URL scheme {scheme:?}")));
    }
    if t.starts_with('/') {
        return path_only(t);
    }
    let b = t.as_bytes();
    if b.iter().all(u8::is_ascii_hexdigit) {
        return match b.len() {
            64 => Err(Rejected::NotObservable(SHA256_REASON)),
            128 => Err(Rejected::NotObservable(
                "sha512 file hash: not observable on the wire",
            )),
            32 => Ok((IocKind::Ja3, t.to_ascii_lowercase())),
            40 => Ok((IocKind::CertSha1, t.to_ascii_lowercase())),
            n if b.iter().all(u8::is_ascii_digit) => {
                Err(invalid(format!("bare number of {n} digits")))
            }
            n => Err(invalid(format!(
                "hex string of {n} digits is not a known fingerprint"
            ))),
        };
    }
    if let Some(h) = colon_hex::<20>(t) {
        return Ok((IocKind::CertSha1, hex_lower(&h)));
    }
    if is_ja4(b) {
        return Ok((IocKind::Ja4, t.to_ascii_lowercase()));
    }
    if let Some(r) = ip_like(t) {
        return Ok(r);
    }
    if let Some(slash) = t.find('/') {
        let (hostport, path) = t.split_at(slash);
        return host_path(hostport, path, false);
    }
    if t.contains(':') {
        // domain:port (maltrail lists `host:443`); the port is ignored.
        return match t.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
                domain_or_ip_host(host)
            }
            _ => Err(invalid("invalid IPv6 address or host:port")),
        };
    }
    normalize_domain(t).map(|d| (IocKind::Domain, d))
}

fn classify_as(kind: IocKind, t: &str) -> Result<(IocKind, String), Rejected> {
    let t = t.trim();
    if t.is_empty() {
        return Err(invalid(format!("empty {kind} value")));
    }
    match kind {
        IocKind::Ip | IocKind::Cidr => {
            ip_like(t).ok_or_else(|| invalid(format!("not an IP address or network: {t:?}")))
        }
        IocKind::Domain | IocKind::Sni => normalize_domain(t).map(|d| (kind, d)),
        IocKind::Url => {
            if let Some((scheme, _)) = t.split_once("://") {
                if !is_scheme(scheme) {
                    return Err(invalid(format!("invalid URL scheme {scheme:?}")));
                }
                scheme_url(t, true)
            } else if t.starts_with('/') {
                path_only(t)
            } else {
                match t.find('/') {
                    Some(slash) => {
                        let (hostport, path) = t.split_at(slash);
                        host_path(hostport, path, true)
                    }
                    None => host_path(t, "/", true),
                }
            }
        }
        IocKind::Ja3 => {
            if t.len() == 32 && t.bytes().all(|c| c.is_ascii_hexdigit()) {
                Ok((kind, t.to_ascii_lowercase()))
            } else {
                Err(invalid("not a JA3 MD5 (32 hex digits)"))
            }
        }
        IocKind::Ja4 => {
            if is_ja4(t.as_bytes()) {
                Ok((kind, t.to_ascii_lowercase()))
            } else {
                Err(invalid(
                    "not a JA4 fingerprint (e.g. t13d1516h2_8daaf6152771_02713d6af862)",
                ))
            }
        }
        IocKind::CertSha1 => decode_hex::<20>(t)
            .map(|h| (kind, hex_lower(&h)))
            .ok_or_else(|| invalid("not a SHA-1 (40 hex digits, colons allowed)")),
    }
}

/// IP address, `ip:port`, `[v6]:port` or CIDR network.
fn ip_like(t: &str) -> Option<(IocKind, String)> {
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some((IocKind::Ip, canon_ip(ip).to_string()));
    }
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Some((IocKind::Ip, canon_ip(sa.ip()).to_string()));
    }
    if let Ok(net) = t.parse::<IpNet>() {
        let net = net.trunc();
        if net.prefix_len() == net.max_prefix_len() {
            return Some((IocKind::Ip, canon_ip(net.addr()).to_string()));
        }
        return Some((IocKind::Cidr, net.to_string()));
    }
    None
}

/// Maps IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) to IPv4.
pub(crate) fn canon_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// `scheme://[user@]host[:port][/path][?query][#fragment]`.
fn scheme_url(t: &str, force_url: bool) -> Result<(IocKind, String), Rejected> {
    let rest = t.split_once("://").map_or(t, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, mut tail) = rest.split_at(end);
    if let Some(h) = tail.find('#') {
        tail = &tail[..h]; // the fragment is never sent
    }
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if tail.starts_with('?') {
        let path = format!("/{tail}");
        return host_path(hostport, &path, force_url);
    }
    host_path(
        hostport,
        if tail.is_empty() { "/" } else { tail },
        force_url,
    )
}

/// `/path` alone: matches the path prefix on any host.
fn path_only(path: &str) -> Result<(IocKind, String), Rejected> {
    if path == "/" {
        return Err(invalid("path \"/\" alone would match every request"));
    }
    Ok((IocKind::Url, path.to_string()))
}

/// A parsed URL host.
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    fn into_indicator(self) -> (IocKind, String) {
        match self {
            Host::Ip(ip) => (IocKind::Ip, ip.to_string()),
            Host::Name(n) => (IocKind::Domain, n),
        }
    }

    fn url_prefix(&self) -> String {
        match self {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n.clone(),
        }
    }
}

fn host_path(hostport: &str, path: &str, force_url: bool) -> Result<(IocKind, String), Rejected> {
    let host = parse_host(hostport)?;
    if path == "/" && !force_url {
        return Ok(host.into_indicator());
    }
    if let Host::Ip(_) = host {
        let digits = &path[1..];
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!("invalid CIDR prefix length /{digits}")));
        }
    }
    Ok((IocKind::Url, format!("{}{path}", host.url_prefix())))
}

fn domain_or_ip_host(host: &str) -> Result<(IocKind, String), Rejected> {
    parse_host(host).map(Host::into_indicator)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, `v4:port`.
fn parse_host(hostport: &str) -> Result<Host, Rejected> {
    if let Some(r) = hostport.strip_prefix('[') {
        let (v6, after) = r
            .split_once(']')
            .ok_or_else(|| invalid("unterminated [IPv6] host"))?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return Err(invalid("invalid port after [IPv6] host"));
        }
        let ip: Ipv6Addr = v6
            .parse()
            .map_err(|_| invalid(format!("invalid IPv6 host {v6:?}")))?;
        return Ok(Host::Ip(canon_ip(IpAddr::V6(ip))));
    }
    let host = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            if !is_port(p) {
                return Err(invalid(format!("invalid port {p:?}")));
            }
            h
        }
        Some(_) => {
            // bare IPv6 without brackets and without port
            return hostport
                .parse::<Ipv6Addr>()
                .map(|ip| Host::Ip(canon_ip(IpAddr::V6(ip))))
                .map_err(|_| invalid(format!("invalid host {hostport:?}")));
        }
        None => hostport,
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    normalize_domain(host).map(Host::Name)
}

fn is_port(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) && p.parse::<u16>().is_ok()
}

/// Validates a DNS name and returns it lower-case without trailing dot.
/// A leading `*.` wildcard is dropped (subdomains match anyway).
/// Underscores are tolerated; at least two labels are required.
pub(crate) fn normalize_domain(s: &str) -> Result<String, Rejected> {
    let s = s.strip_prefix("*.").unwrap_or(s);
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return Err(invalid("empty domain name"));
    }
    if !s.is_ascii() {
        return Err(invalid("non-ASCII domain name (use punycode xn--)"));
    }
    if s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return Err(invalid("invalid IPv4 address"));
    }
    if s.len() > MAX_DOMAIN_LEN {
        return Err(invalid(format!(
            "domain name longer than {MAX_DOMAIN_LEN} bytes"
        )));
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in s.split('.') {
        labels += 1;
        last = label;
        if label.is_empty() {
            return Err(invalid("empty label in domain name"));
        }
        if label.len() > 63 {
            return Err(invalid("domain label longer than 63 bytes"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(invalid(format!("invalid character {c:?} in domain name")));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("domain label starts or ends with '-'"));
        }
    }
    if labels < 2 {
        return Err(invalid("single-label name is not a domain indicator"));
    }
    if last.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid("numeric top-level label"));
    }
    Ok(s.to_ascii_lowercase())
}

/// `t13d1516h2_8daaf6152771_02713d6af862`: protocol (t/q/d), 2-char TLS
/// version, SNI flag (d/i), 2-digit cipher and extension counts, 2-char ALPN,
/// then two 12-hex-digit truncated hashes.
pub(crate) fn is_ja4(b: &[u8]) -> bool {
    b.len() == 36
        && matches!(b[0].to_ascii_lowercase(), b't' | b'q' | b'd')
        && b[1..3].iter().all(u8::is_ascii_alphanumeric)
        && matches!(b[3].to_ascii_lowercase(), b'd' | b'i')
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8..10].iter().all(u8::is_ascii_alphanumeric)
        && b[10] == b'_'
        && b[11..23].iter().all(u8::is_ascii_hexdigit)
        && b[23] == b'_'
        && b[24..36].iter().all(u8::is_ascii_hexdigit)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes of hex, either plain or with a `:` between
/// every byte (`AB:CD:…`); any case. No allocation.
pub(crate) fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() == 2 * N {
        let mut out = [0u8; N];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            *o = hex_val(pair[0])? << 4 | hex_val(pair[1])?;
        }
        Some(out)
    } else {
        colon_hex::<N>(s)
    }
}

fn colon_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if N == 0 || b.len() != 3 * N - 1 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let p = 3 * i;
        if i > 0 && b[p - 1] != b':' {
            return None;
        }
        *o = hex_val(b[p])? << 4 | hex_val(b[p + 1])?;
    }
    Some(out)
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// ASCII-lowercases `s` into `buf`; `None` when it does not fit.
#[inline]
pub(crate) fn lower_into<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let src = s.as_bytes();
    let dst = buf.get_mut(..src.len())?;
    for (d, c) in dst.iter_mut().zip(src) {
        *d = c.to_ascii_lowercase();
    }
    Some(dst)
}

/// Host as compared by lookups: without `[]`, `:port` and trailing dot.
/// Not lower-cased.
pub(crate) fn strip_host(host: &str) -> &str {
    let h = host.trim();
    let h = if let Some(r) = h.strip_prefix('[') {
        r.split_once(']').map_or(r, |(v6, _)| v6)
    } else {
        match h.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && is_port(port) => name,
            _ => h,
        }
    };
    h.strip_suffix('.').unwrap_or(h)
}

/// Splits a normalised URL indicator value into (host key, path).
pub(crate) fn split_url_value(v: &str) -> (&str, &str) {
    let (host, path) = if let Some(r) = v.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, p)) => (h, p),
            None => ("", v),
        }
    } else {
        match v.find('/') {
            Some(i) => v.split_at(i),
            None => (v, "/"),
        }
    };
    (host, path)
}
