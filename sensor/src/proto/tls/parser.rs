//! Pure byte parsers for the TLS handshake messages the sensor cares about
//! (ClientHello, ServerHello, Certificate) and the JA3 / JA3S / JA4
//! fingerprint computations.
//!
//! Everything here is a total function over untrusted bytes: no panics, no
//! `unwrap` on wire data, every length is checked with a bounds-checked
//! [`Reader`]. Hello parsing is strict for the fixed part of the message and
//! lenient for the extension block (a malformed extension ends extension
//! parsing but keeps what was read before it), which mirrors how passive
//! sensors treat slightly broken stacks.

use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// Record content type: ChangeCipherSpec.
pub const CT_CHANGE_CIPHER_SPEC: u8 = 20;
/// Record content type: Handshake.
pub const CT_HANDSHAKE: u8 = 22;
/// Record content type: ApplicationData.
pub const CT_APPLICATION_DATA: u8 = 23;
/// Record content type: Heartbeat (RFC 6520).
pub const CT_HEARTBEAT: u8 = 24;

/// Handshake type: ClientHello.
pub const HS_CLIENT_HELLO: u8 = 1;
/// Handshake type: ServerHello (also HelloRetryRequest in TLS 1.3).
pub const HS_SERVER_HELLO: u8 = 2;
/// Handshake type: Certificate.
pub const HS_CERTIFICATE: u8 = 11;
/// Handshake type: ServerHelloDone.
pub const HS_SERVER_HELLO_DONE: u8 = 14;

/// Largest record body allowed on the wire (RFC 8446 §5.2: 2^14 + 2048 for
/// TLSCiphertext; plaintext is smaller).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Extension: server_name (SNI).
pub const EXT_SERVER_NAME: u16 = 0x0000;
/// Extension: supported_groups (formerly elliptic_curves).
pub const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
/// Extension: ec_point_formats.
pub const EXT_EC_POINT_FORMATS: u16 = 0x000b;
/// Extension: signature_algorithms.
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
/// Extension: application_layer_protocol_negotiation.
pub const EXT_ALPN: u16 = 0x0010;
/// Extension: supported_versions.
pub const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// Wire value of TLS 1.3.
pub const TLS13: u16 = 0x0304;

/// ServerHello.random value that marks a TLS 1.3 HelloRetryRequest
/// (RFC 8446 §4.1.3: SHA-256 of "HelloRetryRequest").
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Bounds-checked big-endian cursor over a byte slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Option<usize> {
        self.bytes(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// A vector with a three-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.bytes(n)
    }
}

/// Decodes a list of big-endian u16 values (a trailing odd byte is ignored).
fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// True for the RFC 8701 GREASE values 0x0a0a, 0x1a1a, ... 0xfafa.
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Information extracted from a ClientHello handshake message body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` field of the hello (0x0303 for TLS 1.2 and 1.3).
    pub version: u16,
    /// 32-byte client random.
    pub random: Vec<u8>,
    /// Legacy session id (0..=32 bytes).
    pub session_id: Vec<u8>,
    /// Cipher suites in wire order (GREASE included).
    pub ciphers: Vec<u16>,
    /// Extension types in wire order (GREASE included).
    pub extensions: Vec<u16>,
    /// First `host_name` entry of the server_name extension.
    pub sni: Option<String>,
    /// ALPN protocol names in wire order (raw bytes).
    pub alpns: Vec<Vec<u8>>,
    /// supported_versions list in wire order (GREASE included).
    pub supported_versions: Vec<u16>,
    /// supported_groups list in wire order (GREASE included).
    pub groups: Vec<u16>,
    /// ec_point_formats list.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms list in wire order.
    pub sig_algs: Vec<u16>,
}

/// Information extracted from a ServerHello (or HelloRetryRequest) body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` field of the hello.
    pub version: u16,
    /// 32-byte server random.
    pub random: Vec<u8>,
    /// Session id echoed or assigned by the server.
    pub session_id: Vec<u8>,
    /// Selected cipher suite.
    pub cipher: u16,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// Version selected through the supported_versions extension, if any.
    pub selected_version: Option<u16>,
    /// ALPN protocol selected by the server, if any.
    pub alpn: Option<Vec<u8>>,
}

impl ServerHello {
    /// The negotiated version: supported_versions when present, else the
    /// legacy version field.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }

    /// True when this message is a TLS 1.3 HelloRetryRequest.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// True when the negotiated version is TLS 1.3 or one of its drafts
    /// (0x7fXX IETF drafts, 0xfbXX Facebook drafts), after which the rest of
    /// the handshake is encrypted.
    pub fn is_tls13(&self) -> bool {
        let v = self.negotiated_version();
        v == TLS13 || (v >> 8) == 0x7f || (v >> 8) == 0xfb
    }
}

/// Parses the body (after the 4-byte handshake header) of a ClientHello.
///
/// Returns `None` when the fixed fields (version, random, session id,
/// cipher suites, compression methods) are truncated. The extension block is
/// parsed leniently.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let mut ch = ClientHello {
        version: r.u16()?,
        random: r.bytes(32)?.to_vec(),
        ..ClientHello::default()
    };
    ch.session_id = r.vec8()?.to_vec();
    ch.ciphers = u16_list(r.vec16()?);
    let _compression = r.vec8()?;
    if r.is_empty() {
        return Some(ch);
    }
    let Some(exts) = r.vec16() else {
        return Some(ch);
    };
    let mut er = Reader::new(exts);
    while !er.is_empty() {
        let Some(ty) = er.u16() else { break };
        let Some(data) = er.vec16() else { break };
        ch.extensions.push(ty);
        let mut d = Reader::new(data);
        match ty {
            EXT_SERVER_NAME if ch.sni.is_none() => ch.sni = parse_sni(&mut d),
            EXT_SUPPORTED_GROUPS => {
                if let Some(l) = d.vec16() {
                    ch.groups = u16_list(l);
                }
            }
            EXT_EC_POINT_FORMATS => {
                if let Some(l) = d.vec8() {
                    ch.ec_point_formats = l.to_vec();
                }
            }
            EXT_SIGNATURE_ALGORITHMS => {
                if let Some(l) = d.vec16() {
                    ch.sig_algs = u16_list(l);
                }
            }
            EXT_ALPN => {
                if let Some(l) = d.vec16() {
                    ch.alpns = parse_alpn_list(l);
                }
            }
            EXT_SUPPORTED_VERSIONS => {
                if let Some(l) = d.vec8() {
                    ch.supported_versions = u16_list(l);
                }
            }
            _ => {}
        }
    }
    Some(ch)
}

/// First `host_name` (type 0) entry of a server_name extension body.
fn parse_sni(d: &mut Reader<'_>) -> Option<String> {
    let list = d.vec16()?;
    let mut lr = Reader::new(list);
    while !lr.is_empty() {
        let ty = lr.u8()?;
        let name = lr.vec16()?;
        if ty == 0 {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

/// ProtocolNameList entries (each with a one-byte length prefix).
fn parse_alpn_list(list: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut r = Reader::new(list);
    while !r.is_empty() {
        match r.vec8() {
            Some(p) => out.push(p.to_vec()),
            None => break,
        }
    }
    out
}

/// Parses the body of a ServerHello / HelloRetryRequest.
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let mut sh = ServerHello {
        version: r.u16()?,
        random: r.bytes(32)?.to_vec(),
        ..ServerHello::default()
    };
    sh.session_id = r.vec8()?.to_vec();
    sh.cipher = r.u16()?;
    let _compression = r.u8()?;
    if r.is_empty() {
        return Some(sh);
    }
    let Some(exts) = r.vec16() else {
        return Some(sh);
    };
    let mut er = Reader::new(exts);
    while !er.is_empty() {
        let Some(ty) = er.u16() else { break };
        let Some(data) = er.vec16() else { break };
        sh.extensions.push(ty);
        let mut d = Reader::new(data);
        match ty {
            EXT_SUPPORTED_VERSIONS => sh.selected_version = d.u16(),
            EXT_ALPN => {
                if let Some(l) = d.vec16() {
                    sh.alpn = parse_alpn_list(l).into_iter().next();
                }
            }
            _ => {}
        }
    }
    Some(sh)
}

/// Fields of the leaf (first) certificate, formatted as Suricata logs them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject DN, e.g. `C=US, O=Let's Encrypt, CN=R3`.
    pub subject: Option<String>,
    /// Issuer DN.
    pub issuerdn: Option<String>,
    /// Serial number bytes as upper-case colon-separated hex.
    pub serial: Option<String>,
    /// SHA-1 of the DER certificate, lower-case colon-separated hex.
    pub fingerprint: String,
    /// notBefore as `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub notbefore: Option<String>,
    /// notAfter as `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub notafter: Option<String>,
    /// subjectAltName entries (DNS names, e-mails, URIs, IP addresses).
    pub subjectaltname: Vec<String>,
}

/// Extracts the leaf certificate from a TLS ≤ 1.2 Certificate message body
/// (`u24 list length`, then `u24 length + DER` entries).
///
/// The body may be truncated (an oversized chain cut at the reassembly cap):
/// the leaf is still returned when its bytes are complete.
pub fn parse_certificate_msg(body: &[u8]) -> Option<CertInfo> {
    let mut r = Reader::new(body);
    let _list_len = r.u24()?;
    let der = r.vec24()?;
    if der.is_empty() {
        return None;
    }
    Some(parse_cert_der(der))
}

/// Parses one DER certificate. The fingerprint is always filled (it only
/// needs the bytes); the other fields are `None` when X.509 decoding fails.
pub fn parse_cert_der(der: &[u8]) -> CertInfo {
    let mut info = CertInfo {
        fingerprint: hex_colon(&Sha1::digest(der), false),
        ..CertInfo::default()
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return info;
    };
    let tbs = &cert.tbs_certificate;
    info.subject = Some(tbs.subject.to_string());
    info.issuerdn = Some(tbs.issuer.to_string());
    info.serial = Some(hex_colon(tbs.raw_serial(), true));
    info.notbefore = Some(format_unix_time(tbs.validity.not_before.timestamp()));
    info.notafter = Some(format_unix_time(tbs.validity.not_after.timestamp()));
    if let Ok(Some(san)) = tbs.subject_alternative_name() {
        use x509_parser::extensions::GeneralName;
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    info.subjectaltname.push((*s).to_string())
                }
                GeneralName::IPAddress(ip) => info.subjectaltname.push(format_ip(ip)),
                _ => {}
            }
        }
    }
    info
}

/// Formats a SAN iPAddress (4 or 16 bytes; anything else as hex).
fn format_ip(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => hex(b),
    }
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SS` (proleptic Gregorian, UTC).
pub fn format_unix_time(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's public-domain algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        year,
        month,
        day,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Lower-case hex without separators.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(HEX_LOWER[usize::from(x >> 4)]));
        s.push(char::from(HEX_LOWER[usize::from(x & 15)]));
    }
    s
}

/// Colon-separated hex (`aa:bb:..`), upper or lower case.
pub fn hex_colon(b: &[u8], upper: bool) -> String {
    let digits = if upper { HEX_UPPER } else { HEX_LOWER };
    let mut s = String::with_capacity(b.len() * 3);
    for (i, &x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(digits[usize::from(x >> 4)]));
        s.push(char::from(digits[usize::from(x & 15)]));
    }
    s
}

/// Suricata's `tls.version` string for a wire version.
///
/// Unknown/absent (0) is `UNDETERMINED`; unknown values are `0x%04x`.
pub fn version_string(v: u16) -> String {
    match v {
        0 => "UNDETERMINED".into(),
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f01..=0x7f0f => "TLS 1.3 draft-<16".into(),
        0x7f10..=0x7f1c => format!("TLS 1.3 draft-{}", v & 0xff),
        0xfb14..=0xfb1a => format!("TLS 1.3 draft-{}-fb", v & 0xff),
        _ => format!("0x{v:04x}"),
    }
}

/// Joins decimal values with '-', skipping GREASE.
fn dash_join<T: Copy + Into<u16>>(vals: &[T]) -> String {
    let mut s = String::new();
    for v in vals.iter().map(|&v| v.into()).filter(|&v| !is_grease(v)) {
        if !s.is_empty() {
            s.push('-');
        }
        s.push_str(&v.to_string());
    }
    s
}

/// JA3 string `SSLVersion,Ciphers,Extensions,EllipticCurves,ECPointFormats`
/// and its MD5 (lower-case hex), returned as `(string, hash)`.
pub fn ja3(ch: &ClientHello) -> (String, String) {
    let s = format!(
        "{},{},{},{},{}",
        ch.version,
        dash_join(&ch.ciphers),
        dash_join(&ch.extensions),
        dash_join(&ch.groups),
        dash_join(&ch.ec_point_formats),
    );
    let h = hex(&Md5::digest(s.as_bytes()));
    (s, h)
}

/// JA3S string `SSLVersion,Cipher,Extensions` and its MD5, as `(string, hash)`.
pub fn ja3s(sh: &ServerHello) -> (String, String) {
    let s = format!("{},{},{}", sh.version, sh.cipher, dash_join(&sh.extensions));
    let h = hex(&Md5::digest(s.as_bytes()));
    (s, h)
}

/// JA4 version code for a wire version.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4 ALPN code: first and last character of the first ALPN value; "00"
/// when absent or empty; when either of them is not ASCII alphanumeric, the
/// first and last characters of the value's hex encoding.
fn ja4_alpn(alpn: Option<&Vec<u8>>) -> String {
    let Some(a) = alpn else {
        return "00".into();
    };
    let (Some(&first), Some(&last)) = (a.first(), a.last()) else {
        return "00".into();
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        let mut s = String::with_capacity(2);
        s.push(char::from(first));
        s.push(char::from(last));
        s
    } else {
        let h = hex(a).into_bytes();
        let mut s = String::with_capacity(2);
        s.push(char::from(h[0]));
        s.push(char::from(h[h.len() - 1]));
        s
    }
}

/// First 12 hex characters of SHA-256 of `s`, or twelve zeros for an empty
/// input list.
fn ja4_hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn hex4_join(vals: &[u16]) -> String {
    vals.iter()
        .map(|v| format!("{v:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// JA4 (FoxIO) TLS client fingerprint, transport TCP (`t`).
///
/// Resolved ambiguities (documented in the module notes):
/// * counts exclude GREASE and are capped at 99;
/// * the version is the highest non-GREASE supported_versions entry, else
///   the legacy hello version;
/// * GREASE values are also removed from the signature algorithm list;
/// * when the extension list (minus SNI/ALPN) is empty the "c" hash is
///   `000000000000` even if signature algorithms exist.
pub fn ja4(ch: &ClientHello) -> String {
    let version = ch
        .supported_versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max()
        .unwrap_or(ch.version);
    let sni = if ch.extensions.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let mut ciphers: Vec<u16> = ch
        .ciphers
        .iter()
        .copied()
        .filter(|&c| !is_grease(c))
        .collect();
    let exts: Vec<u16> = ch
        .extensions
        .iter()
        .copied()
        .filter(|&e| !is_grease(e))
        .collect();
    let a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(version),
        sni,
        ciphers.len().min(99),
        exts.len().min(99),
        ja4_alpn(ch.alpns.first())
    );
    ciphers.sort_unstable();
    let b = ja4_hash12(&hex4_join(&ciphers));
    let mut sorted_exts: Vec<u16> = exts
        .into_iter()
        .filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN)
        .collect();
    sorted_exts.sort_unstable();
    let c = if sorted_exts.is_empty() {
        "000000000000".to_string()
    } else {
        let mut input = hex4_join(&sorted_exts);
        let sigs: Vec<u16> = ch
            .sig_algs
            .iter()
            .copied()
            .filter(|&s| !is_grease(s))
            .collect();
        if !sigs.is_empty() {
            input.push('_');
            input.push_str(&hex4_join(&sigs));
        }
        ja4_hash12(&input)
    };
    format!("{a}_{b}_{c}")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes a hex string, ignoring whitespace (test helper).
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => panic!("bad hex digit {b}"),
            })
            .collect();
        digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
    }

    /// Hand-annotated ClientHello body (no handshake header).
    pub(crate) fn client_hello_body() -> Vec<u8> {
        unhex(concat!(
            "0303", // legacy_version: TLS 1.2
            // random (32 bytes)
            "0101010101010101010101010101010101010101010101010101010101010101",
            "00",                     // session_id: empty
            "0008",                   // cipher_suites: 8 bytes
            "2a2a",                   //   GREASE
            "1301",                   //   TLS_AES_128_GCM_SHA256 (4865)
            "c02b",                   //   ECDHE-ECDSA-AES128-GCM-SHA256 (49195)
            "c02f",                   //   ECDHE-RSA-AES128-GCM-SHA256 (49199)
            "0100",                   // compression_methods: 1 entry, null
            "0057",                   // extensions: 87 bytes
            "1a1a0000",               //   GREASE extension, empty
            "00000010",               //   server_name, 16 bytes
            "000e",                   //     server_name_list: 14 bytes
            "00000b",                 //     host_name, 11 bytes:
            "6578616d706c652e636f6d", // "example.com"
            "000a0008",               //   supported_groups, 8 bytes
            "0006",                   //     list: 6 bytes
            "3a3a",                   //     GREASE
            "001d",                   //     x25519
            "0017",                   //     secp256r1
            "000b0002",               //   ec_point_formats, 2 bytes
            "0100",                   //     1 entry: uncompressed
            "000d0008",               //   signature_algorithms, 8 bytes
            "0006",                   //     list: 6 bytes
            "0403",                   //     ecdsa_secp256r1_sha256
            "0804",                   //     rsa_pss_rsae_sha256
            "0401",                   //     rsa_pkcs1_sha256
            "0010000e",               //   ALPN, 14 bytes
            "000c",                   //     protocol_name_list: 12 bytes
            "026832",                 //     "h2"
            "08687474702f312e31",     // "http/1.1"
            "002b0007",               //   supported_versions, 7 bytes
            "06",                     //     list: 6 bytes
            "4a4a",                   //     GREASE
            "0304",                   //     TLS 1.3
            "0303",                   //     TLS 1.2
            "00170000",               //   extended_master_secret, empty
        ))
    }

    #[test]
    fn annotated_client_hello() {
        let ch = parse_client_hello(&client_hello_body()).expect("parses");
        assert_eq!(ch.version, 0x0303);
        assert_eq!(ch.ciphers, vec![0x2a2a, 0x1301, 0xc02b, 0xc02f]);
        assert_eq!(
            ch.extensions,
            vec![0x1a1a, 0x0000, 0x000a, 0x000b, 0x000d, 0x0010, 0x002b, 0x0017]
        );
        assert_eq!(ch.sni.as_deref(), Some("example.com"));
        assert_eq!(ch.alpns, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(ch.supported_versions, vec![0x4a4a, 0x0304, 0x0303]);
        assert_eq!(ch.groups, vec![0x3a3a, 0x001d, 0x0017]);
        assert_eq!(ch.ec_point_formats, vec![0]);
        assert_eq!(ch.sig_algs, vec![0x0403, 0x0804, 0x0401]);

        let (s, h) = ja3(&ch);
        assert_eq!(s, "771,4865-49195-49199,0-10-11-13-16-43-23,29-23,0");
        assert_eq!(h, hex(&Md5::digest(s.as_bytes())));
        assert_eq!(h.len(), 32);

        // JA4: t, 13 (supported_versions), d (SNI), 03 ciphers, 07 extensions
        // (GREASE excluded, SNI+ALPN included), "h2" ALPN.
        let j = ja4(&ch);
        let b = &hex(&Sha256::digest(b"1301,c02b,c02f"))[..12];
        let c = &hex(&Sha256::digest(b"000a,000b,000d,0017,002b_0403,0804,0401"))[..12];
        assert_eq!(j, format!("t13d0307h2_{b}_{c}"));
    }

    /// ClientHello body from suricata-verify `ja4-tls/input.pcap`
    /// (client 49365 → 443), whose expected JA4 is in its test.yaml.
    fn sv_ja4_client_hello_body() -> Vec<u8> {
        unhex(concat!(
            "0303",                                                             // legacy_version: TLS 1.2
            "942d1fef575d770207c29dbe2401ccf05dcde1d2a5869c4a3eee38db551ad9bc", // random
            "00",                                                               // session_id: empty
            "0024", // cipher_suites: 36 bytes = 18 suites
            "c02bc02f009ec00ac009c013c014c007c011003300320039009c002f0035000a00050004",
            "0100",                                             // compression_methods: null
            "005e",                                             // extensions: 94 bytes
            "ff01000100",                                       // renegotiation_info
            "000a00080006001700180019",                         // supported_groups: 23, 24, 25
            "000b00020100",                                     // ec_point_formats: [uncompressed]
            "00230000",                                         // session_ticket, empty
            "33740000", // next_protocol_negotiation (0x3374), empty
            "00100014001208737064792f332e3108687474702f312e31", // ALPN spdy/3.1, http/1.1
            "75500000", // channel_id (0x7550), empty
            "000500050100000000", // status_request
            "00120000", // signed_certificate_timestamp, empty
            "000d0012001004010501020104030503020304020202", // signature_algorithms
        ))
    }

    #[test]
    fn suricata_verify_ja4_fixture() {
        let ch = parse_client_hello(&sv_ja4_client_hello_body()).expect("parses");
        assert_eq!(ch.ciphers.len(), 18);
        assert_eq!(ch.extensions.len(), 10);
        assert_eq!(ch.sni, None);
        // Expected value from suricata-verify tests/ja4-tls/test.yaml.
        assert_eq!(ja4(&ch), "t12i1810s1_27d4652c4487_06a4338d0495");
        let (s, _) = ja3(&ch);
        assert_eq!(
            s,
            "771,49195-49199-158-49162-49161-49171-49172-49159-49169-51-50-57-156-47-53-10-5-4,\
             65281-10-11-35-13172-16-30032-5-18-13,23-24-25,0"
        );
    }

    #[test]
    fn ja3_reference_md5() {
        // Hash of a known JA3 string (well-known value from the JA3 README).
        let s = "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0";
        assert_eq!(
            hex(&Md5::digest(s.as_bytes())),
            "ada70206e40642a3e4461f35503241d5"
        );
    }

    /// Hand-annotated TLS 1.2 ServerHello body.
    pub(crate) fn server_hello12_body() -> Vec<u8> {
        unhex(concat!(
            "0303", // legacy_version: TLS 1.2
            // random (32 bytes)
            "0202020202020202020202020202020202020202020202020202020202020202",
            "04aabbccdd",         // session_id: 4 bytes
            "c02f",               // cipher: ECDHE-RSA-AES128-GCM-SHA256
            "00",                 // compression: null
            "0014",               // extensions: 20 bytes
            "ff01000100",         //   renegotiation_info, 1 byte: empty
            "0010000b",           //   ALPN, 11 bytes
            "0009",               //     protocol_name_list: 9 bytes
            "08687474702f312e31", // "http/1.1"
        ))
    }

    /// Hand-annotated TLS 1.3 ServerHello body.
    pub(crate) fn server_hello13_body() -> Vec<u8> {
        unhex(concat!(
            "0303", // legacy_version: always TLS 1.2 in TLS 1.3
            // random (32 bytes)
            "0303030303030303030303030303030303030303030303030303030303030303",
            "00",       // legacy_session_id_echo: empty
            "1301",     // cipher: TLS_AES_128_GCM_SHA256
            "00",       // compression: null
            "002e",     // extensions: 46 bytes
            "00330024", //   key_share, 36 bytes
            "001d0020", //     group x25519, key 32 bytes:
            "0404040404040404040404040404040404040404040404040404040404040404",
            "002b0002", //   supported_versions, 2 bytes
            "0304",     //     selected: TLS 1.3
        ))
    }

    #[test]
    fn annotated_server_hellos() {
        let sh = parse_server_hello(&server_hello12_body()).expect("parses");
        assert_eq!(sh.version, 0x0303);
        assert_eq!(sh.cipher, 0xc02f);
        assert_eq!(sh.session_id, vec![0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(sh.extensions, vec![0xff01, 0x0010]);
        assert_eq!(sh.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert!(!sh.is_tls13());
        assert_eq!(ja3s(&sh).0, "771,49199,65281-16");

        let sh = parse_server_hello(&server_hello13_body()).expect("parses");
        assert_eq!(sh.selected_version, Some(TLS13));
        assert!(sh.is_tls13());
        assert!(!sh.is_hello_retry_request());
        assert_eq!(version_string(sh.negotiated_version()), "TLS 1.3");
        let (s, h) = ja3s(&sh);
        assert_eq!(s, "771,4865,51-43");
        assert_eq!(h, hex(&Md5::digest(b"771,4865,51-43")));
    }

    #[test]
    fn truncated_hellos_do_not_panic() {
        let body = client_hello_body();
        for n in 0..body.len() {
            let _ = parse_client_hello(&body[..n]);
            let _ = parse_server_hello(&body[..n]);
            let _ = parse_certificate_msg(&body[..n]);
        }
        // The fixed part ends at byte 2+32+1+2+8+2 = 47.
        assert!(parse_client_hello(&body[..46]).is_none());
        let ch = parse_client_hello(&body[..47]).expect("fixed part only");
        assert!(ch.extensions.is_empty());
    }

    #[test]
    fn grease_detection() {
        assert!(is_grease(0x0a0a));
        assert!(is_grease(0xfafa));
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn versions_and_alpn_codes() {
        assert_eq!(version_string(0x0301), "TLSv1");
        assert_eq!(version_string(0x0300), "SSLv3");
        assert_eq!(version_string(0x0302), "TLS 1.1");
        assert_eq!(version_string(0x7f1c), "TLS 1.3 draft-28");
        assert_eq!(version_string(0), "UNDETERMINED");
        assert_eq!(version_string(0x1234), "0x1234");
        assert_eq!(ja4_alpn(None), "00");
        assert_eq!(ja4_alpn(Some(&b"h2".to_vec())), "h2");
        assert_eq!(ja4_alpn(Some(&b"h".to_vec())), "hh");
        assert_eq!(ja4_alpn(Some(&b"http/1.1".to_vec())), "h1");
        assert_eq!(ja4_alpn(Some(&vec![0xab])), "ab");
        assert_eq!(ja4_alpn(Some(&vec![0xab, 0xcd])), "ad");
        assert_eq!(ja4_alpn(Some(&vec![0x30, 0xab])), "3b");
    }

    #[test]
    fn unix_time_format() {
        assert_eq!(format_unix_time(0), "1970-01-01T00:00:00");
        assert_eq!(format_unix_time(1_473_665_106), "2016-09-12T07:25:06");
        assert_eq!(format_unix_time(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(format_unix_time(-1), "1969-12-31T23:59:59");
    }
}
