//! Zero-copy parsing of OPC UA Connection Protocol (UACP) chunks and the
//! parts of the UA Binary encoding this decoder logs (OPC 10000-6 §5.2,
//! §6.7). Every read is bounds-checked; every list is bounded.

use std::fmt::Write as _;

/// Why a chunk could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the structure needs.
    Truncated,
    /// Message type is not one of HEL/ACK/ERR/RHE/OPN/MSG/CLO.
    BadType,
    /// Chunk type is not F/C/A.
    BadChunk,
    /// Declared size is below the header size or above the limit.
    BadSize,
}

/// Chunk header size.
pub const HEADER_LEN: usize = 8;
/// Largest chunk accepted by the framer.
pub const MAX_CHUNK: usize = 1 << 20;
/// Longest string kept (characters).
pub const MAX_STRING: usize = 256;
/// Most items (node ids, values, results, endpoints) kept per message.
pub const MAX_ITEMS: usize = 16;
/// Nesting limit of variants / diagnostic infos / data values.
const MAX_DEPTH: u32 = 8;

/// Little-endian cursor.
#[derive(Clone, Copy, Debug)]
pub struct Cur<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_le_bytes([s[0], s[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        let s = self.take(4)?;
        Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn i32(&mut self) -> Option<i32> {
        self.u32().map(|v| v as i32)
    }
    pub fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    }
    pub fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    /// String / ByteString body: length -1 is null. Returns the raw bytes.
    pub fn bytes(&mut self) -> Option<Option<&'a [u8]>> {
        let n = self.i32()?;
        if n < 0 {
            return Some(None);
        }
        Some(Some(self.take(usize::try_from(n).ok()?)?))
    }
    /// A UA String, cut at [`MAX_STRING`] characters.
    pub fn string(&mut self) -> Option<Option<String>> {
        Some(self.bytes()?.map(text))
    }
    /// Array length (-1 = null = 0), checked against the bytes left given
    /// the smallest element size.
    pub fn array_len(&mut self, min_elem: usize) -> Option<usize> {
        let n = self.i32()?;
        if n <= 0 {
            return Some(0);
        }
        let n = usize::try_from(n).ok()?;
        if n.checked_mul(min_elem.max(1))? > self.remaining() {
            return None;
        }
        Some(n)
    }
}

/// Bytes to a bounded printable string.
pub fn text(b: &[u8]) -> String {
    let mut s: String = String::from_utf8_lossy(&b[..b.len().min(MAX_STRING * 4)])
        .chars()
        .take(MAX_STRING)
        .collect();
    s.retain(|c| !c.is_control());
    s
}

/// The 8-byte chunk header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub msg_type: [u8; 3],
    pub chunk: u8,
    pub size: u32,
}

impl Header {
    pub fn type_str(&self) -> &'static str {
        match &self.msg_type {
            b"HEL" => "HEL",
            b"ACK" => "ACK",
            b"ERR" => "ERR",
            b"RHE" => "RHE",
            b"OPN" => "OPN",
            b"MSG" => "MSG",
            b"CLO" => "CLO",
            _ => "???",
        }
    }
}

/// Known message types.
pub fn known_type(t: &[u8]) -> bool {
    matches!(
        t,
        b"HEL" | b"ACK" | b"ERR" | b"RHE" | b"OPN" | b"MSG" | b"CLO"
    )
}

/// Parse a chunk header. HEL/ACK/ERR/RHE must be final ('F').
pub fn parse_header(d: &[u8]) -> Result<Header, ParseError> {
    let h = d.get(..HEADER_LEN).ok_or(ParseError::Truncated)?;
    let t = [h[0], h[1], h[2]];
    if !known_type(&t) {
        return Err(ParseError::BadType);
    }
    let chunk = h[3];
    let secure = matches!(&t, b"OPN" | b"MSG" | b"CLO");
    if !(chunk == b'F' || (secure && (chunk == b'C' || chunk == b'A'))) {
        return Err(ParseError::BadChunk);
    }
    let size = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    let min = if secure { 24 } else { 8 };
    if (size as usize) < min || size as usize > MAX_CHUNK * 16 {
        return Err(ParseError::BadSize);
    }
    Ok(Header {
        msg_type: t,
        chunk,
        size,
    })
}

/// HEL / ACK parameters.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Hello {
    pub version: u32,
    pub rcv_buf_size: u32,
    pub snd_buf_size: u32,
    pub max_msg_size: u32,
    pub max_chunk_cnt: u32,
    pub endpoint_url: Option<String>,
}

/// Parse the body of a HEL (`with_url`) or ACK.
pub fn parse_hello(body: &[u8], with_url: bool) -> Option<Hello> {
    let mut c = Cur::new(body);
    let mut h = Hello {
        version: c.u32()?,
        rcv_buf_size: c.u32()?,
        snd_buf_size: c.u32()?,
        max_msg_size: c.u32()?,
        max_chunk_cnt: c.u32()?,
        endpoint_url: None,
    };
    if with_url {
        h.endpoint_url = c.string()?;
    }
    Some(h)
}

/// ERR body: (error code, reason).
pub fn parse_err(body: &[u8]) -> Option<(u32, Option<String>)> {
    let mut c = Cur::new(body);
    let e = c.u32()?;
    let r = c.string().unwrap_or(None);
    Some((e, r))
}

/// RHE body: (server uri, endpoint url).
pub fn parse_rhe(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let mut c = Cur::new(body);
    Some((c.string()?, c.string()?))
}

/// OPN asymmetric security header (§6.7.2.3).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AsymHeader {
    pub policy_uri: Option<String>,
    /// Sender certificate length (-1 = absent).
    pub sender_cert_len: i32,
    /// Receiver thumbprint length (-1 = absent).
    pub receiver_thumbprint_len: i32,
}

impl AsymHeader {
    pub fn policy_none(&self) -> bool {
        match &self.policy_uri {
            None => true,
            Some(u) => u.ends_with("#None") || u.is_empty(),
        }
    }
}

/// The secure conversation part of an OPN/MSG/CLO chunk.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SecureChunk<'a> {
    pub sec_channel_id: u32,
    /// MSG/CLO symmetric header token id.
    pub token_id: Option<u32>,
    /// OPN asymmetric header.
    pub asym: Option<AsymHeader>,
    /// Everything after the security header: sequence header + body
    /// (possibly encrypted).
    pub rest: &'a [u8],
}

/// Parse the secure channel id and security header of an OPN/MSG/CLO
/// chunk body (after the 8-byte header).
pub fn parse_secure(opn: bool, body: &[u8]) -> Option<SecureChunk<'_>> {
    let mut c = Cur::new(body);
    let sec_channel_id = c.u32()?;
    let mut s = SecureChunk {
        sec_channel_id,
        ..SecureChunk::default()
    };
    if opn {
        let policy_uri = c.string()?;
        let cert = c.i32()?;
        if cert > 0 {
            c.take(usize::try_from(cert).ok()?)?;
        }
        let thumb = c.i32()?;
        if thumb > 0 {
            c.take(usize::try_from(thumb).ok()?)?;
        }
        s.asym = Some(AsymHeader {
            policy_uri,
            sender_cert_len: cert.max(-1),
            receiver_thumbprint_len: thumb.max(-1),
        });
    } else {
        s.token_id = Some(c.u32()?);
    }
    s.rest = &body[c.pos..];
    Some(s)
}

// ---------------------------------------------------------------------
// Built-in types (§5.2.2)
// ---------------------------------------------------------------------

/// A NodeId (§5.2.2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeId {
    Numeric(u16, u32),
    String(u16, String),
    Guid(u16, [u8; 16]),
    Opaque(u16, Vec<u8>),
}

impl NodeId {
    /// Namespace-0 numeric identifier.
    pub fn ns0_numeric(&self) -> Option<u32> {
        match self {
            NodeId::Numeric(0, i) => Some(*i),
            _ => None,
        }
    }
}

fn b64(d: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(d.len().div_ceil(3) * 4);
    for ch in d.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= ch.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// GUID in its text form (Data1-3 little-endian).
pub fn guid_string(g: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = |f: &mut std::fmt::Formatter<'_>, n: u16| {
            if n != 0 {
                write!(f, "ns={n};")
            } else {
                Ok(())
            }
        };
        match self {
            NodeId::Numeric(n, i) => {
                ns(f, *n)?;
                write!(f, "i={i}")
            }
            NodeId::String(n, s) => {
                ns(f, *n)?;
                write!(f, "s={s}")
            }
            NodeId::Guid(n, g) => {
                ns(f, *n)?;
                write!(f, "g={}", guid_string(g))
            }
            NodeId::Opaque(n, b) => {
                ns(f, *n)?;
                write!(f, "b={}", b64(b))
            }
        }
    }
}

/// Read a NodeId or ExpandedNodeId (the flag bits 0x80 namespace URI and
/// 0x40 server index are honoured; the URI replaces nothing here).
pub fn read_node_id(c: &mut Cur<'_>) -> Option<NodeId> {
    let enc = c.u8()?;
    let id = match enc & 0x0f {
        0 => NodeId::Numeric(0, u32::from(c.u8()?)),
        1 => {
            let ns = u16::from(c.u8()?);
            NodeId::Numeric(ns, u32::from(c.u16()?))
        }
        2 => {
            let ns = c.u16()?;
            NodeId::Numeric(ns, c.u32()?)
        }
        3 => {
            let ns = c.u16()?;
            NodeId::String(ns, c.string()?.unwrap_or_default())
        }
        4 => {
            let ns = c.u16()?;
            let mut g = [0u8; 16];
            g.copy_from_slice(c.take(16)?);
            NodeId::Guid(ns, g)
        }
        5 => {
            let ns = c.u16()?;
            let b = c.bytes()?.unwrap_or(&[]);
            NodeId::Opaque(ns, b[..b.len().min(64)].to_vec())
        }
        _ => return None,
    };
    if enc & 0x80 != 0 {
        c.bytes()?;
    }
    if enc & 0x40 != 0 {
        c.u32()?;
    }
    Some(id)
}

/// Skip a LocalizedText; returns its text.
pub fn read_localized_text(c: &mut Cur<'_>) -> Option<Option<String>> {
    let m = c.u8()?;
    if m & 0x01 != 0 {
        c.bytes()?;
    }
    if m & 0x02 != 0 {
        return c.string();
    }
    Some(None)
}

/// Skip a QualifiedName; returns its name.
pub fn read_qualified_name(c: &mut Cur<'_>) -> Option<Option<String>> {
    c.u16()?;
    c.string()
}

/// Read an ExtensionObject: (type id, body bytes when binary-encoded).
pub fn read_extension_object<'a>(c: &mut Cur<'a>) -> Option<(NodeId, Option<&'a [u8]>)> {
    let id = read_node_id(c)?;
    let enc = c.u8()?;
    let body = match enc {
        0 => None,
        1 | 2 => c.bytes()?,
        _ => return None,
    };
    Some((id, body))
}

/// Skip a DiagnosticInfo (§5.2.2.12).
pub fn skip_diagnostic_info(c: &mut Cur<'_>, depth: u32) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let m = c.u8()?;
    for bit in [0x01u8, 0x02, 0x04, 0x08] {
        if m & bit != 0 {
            c.u32()?;
        }
    }
    if m & 0x10 != 0 {
        c.bytes()?;
    }
    if m & 0x20 != 0 {
        c.u32()?;
    }
    if m & 0x40 != 0 {
        skip_diagnostic_info(c, depth + 1)?;
    }
    Some(())
}

/// Built-in type names (§5.1.2).
pub fn builtin_name(t: u8) -> &'static str {
    match t {
        0 => "Null",
        1 => "Boolean",
        2 => "SByte",
        3 => "Byte",
        4 => "Int16",
        5 => "UInt16",
        6 => "Int32",
        7 => "UInt32",
        8 => "Int64",
        9 => "UInt64",
        10 => "Float",
        11 => "Double",
        12 => "String",
        13 => "DateTime",
        14 => "Guid",
        15 => "ByteString",
        16 => "XmlElement",
        17 => "NodeId",
        18 => "ExpandedNodeId",
        19 => "StatusCode",
        20 => "QualifiedName",
        21 => "LocalizedText",
        22 => "ExtensionObject",
        23 => "DataValue",
        24 => "Variant",
        25 => "DiagnosticInfo",
        _ => "Unknown",
    }
}

/// What a Variant held: a scalar number (numeric/boolean), a text form,
/// the built-in type and array length.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct VariantSummary {
    pub type_id: u8,
    pub array_len: Option<usize>,
    pub number: Option<f64>,
    pub text: Option<String>,
}

impl VariantSummary {
    /// Text for EVE: the value, or `Type[n]` for arrays and opaque types.
    pub fn display(&self) -> String {
        if let Some(n) = self.array_len {
            return format!("{}[{n}]", builtin_name(self.type_id));
        }
        if let Some(t) = &self.text {
            return t.clone();
        }
        if let Some(v) = self.number {
            if self.type_id == 1 {
                return (v != 0.0).to_string();
            }
            if self.type_id == 10 || self.type_id == 11 {
                return format!("{v:?}");
            }
            return format!("{v}");
        }
        builtin_name(self.type_id).to_string()
    }
}

/// Read one element of built-in type `t`; numbers and text are returned.
fn read_builtin(c: &mut Cur<'_>, t: u8, depth: u32) -> Option<(Option<f64>, Option<String>)> {
    Some(match t {
        0 => (None, None),
        1 => (Some(f64::from(u8::from(c.u8()? != 0))), None),
        2 => (Some(f64::from(c.u8()? as i8)), None),
        3 => (Some(f64::from(c.u8()?)), None),
        4 => (Some(f64::from(c.u16()? as i16)), None),
        5 => (Some(f64::from(c.u16()?)), None),
        6 => (Some(f64::from(c.i32()?)), None),
        7 => (Some(f64::from(c.u32()?)), None),
        8 => (Some(c.u64()? as i64 as f64), None),
        9 => (Some(c.u64()? as f64), None),
        10 => (Some(f64::from(f32::from_bits(c.u32()?))), None),
        11 => (Some(c.f64()?), None),
        12 => (None, c.string()?),
        13 => {
            c.u64()?;
            (None, None)
        }
        14 => {
            let mut g = [0u8; 16];
            g.copy_from_slice(c.take(16)?);
            (None, Some(guid_string(&g)))
        }
        15 | 16 => {
            c.bytes()?;
            (None, None)
        }
        17 | 18 => (None, Some(read_node_id(c)?.to_string())),
        19 => (None, Some(status_string(c.u32()?))),
        20 => (None, read_qualified_name(c)?),
        21 => (None, read_localized_text(c)?),
        22 => {
            read_extension_object(c)?;
            (None, None)
        }
        23 => {
            let (v, _) = read_data_value(c, depth + 1)?;
            (v.as_ref().and_then(|v| v.number), v.and_then(|v| v.text))
        }
        24 => {
            let v = read_variant(c, depth + 1)?;
            (v.number, v.text)
        }
        25 => {
            skip_diagnostic_info(c, depth + 1)?;
            (None, None)
        }
        _ => return None,
    })
}

/// Read a Variant (§5.2.2.16).
pub fn read_variant(c: &mut Cur<'_>, depth: u32) -> Option<VariantSummary> {
    if depth > MAX_DEPTH {
        return None;
    }
    let m = c.u8()?;
    let t = m & 0x3f;
    let mut v = VariantSummary {
        type_id: t,
        ..VariantSummary::default()
    };
    if m & 0x80 != 0 {
        let n = c.array_len(1)?;
        for _ in 0..n {
            read_builtin(c, t, depth)?;
        }
        v.array_len = Some(n);
        if m & 0x40 != 0 {
            let d = c.array_len(4)?;
            c.take(d * 4)?;
        }
    } else {
        let (num, text) = read_builtin(c, t, depth)?;
        v.number = num;
        v.text = text;
    }
    Some(v)
}

/// Read a DataValue (§5.2.2.17): (value, status code).
pub fn read_data_value(
    c: &mut Cur<'_>,
    depth: u32,
) -> Option<(Option<VariantSummary>, Option<u32>)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let m = c.u8()?;
    let v = if m & 0x01 != 0 {
        Some(read_variant(c, depth + 1)?)
    } else {
        None
    };
    let s = if m & 0x02 != 0 { Some(c.u32()?) } else { None };
    if m & 0x04 != 0 {
        c.u64()?;
    }
    if m & 0x10 != 0 {
        c.u16()?;
    }
    if m & 0x08 != 0 {
        c.u64()?;
    }
    if m & 0x20 != 0 {
        c.u16()?;
    }
    Some((v, s))
}

/// `Good`, `BadNodeIdUnknown`, ... or `0x....` when unknown.
pub fn status_string(code: u32) -> String {
    match super::names::status_name(code) {
        Some(n) => n.to_string(),
        None => {
            let mut s = String::with_capacity(10);
            let _ = write!(s, "0x{code:08x}");
            s
        }
    }
}

// ---------------------------------------------------------------------
// Request / response headers (OPC 10000-4 §7.28, §7.29)
// ---------------------------------------------------------------------

/// RequestHeader fields logged.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RequestHeader {
    pub request_handle: u32,
    pub timeout_hint: u32,
    /// The authentication token is not the zero node (a session exists).
    pub has_session: bool,
}

pub fn read_request_header(c: &mut Cur<'_>) -> Option<RequestHeader> {
    let token = read_node_id(c)?;
    c.u64()?; // timestamp
    let request_handle = c.u32()?;
    c.u32()?; // returnDiagnostics
    c.bytes()?; // auditEntryId
    let timeout_hint = c.u32()?;
    read_extension_object(c)?;
    Some(RequestHeader {
        request_handle,
        timeout_hint,
        has_session: token != NodeId::Numeric(0, 0),
    })
}

/// ResponseHeader fields logged.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ResponseHeader {
    pub request_handle: u32,
    pub service_result: u32,
}

pub fn read_response_header(c: &mut Cur<'_>) -> Option<ResponseHeader> {
    c.u64()?; // timestamp
    let request_handle = c.u32()?;
    let service_result = c.u32()?;
    skip_diagnostic_info(c, 0)?;
    let n = c.array_len(4)?;
    for _ in 0..n {
        c.bytes()?;
    }
    read_extension_object(c)?;
    Some(ResponseHeader {
        request_handle,
        service_result,
    })
}

/// StatusCode severity is Bad.
pub fn is_bad(code: u32) -> bool {
    code & 0x8000_0000 != 0
}

/// StatusCode severity is Uncertain.
pub fn is_uncertain(code: u32) -> bool {
    code & 0xc000_0000 == 0x4000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_forms() {
        // Two-byte, four-byte, numeric, string, guid, opaque.
        let d = [
            0x00, 0x55, // i=85
            0x01, 0x01, 0x52, 0xe3, // ns=1;i=58194
            0x02, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00, // ns=2;i=65537
            0x03, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, b'a', b'b', // ns=1;s=ab
            0x04, 0x00, 0x00, 0x15, 0x16, 0x12, 0x39, 0xf3, 0x46, 0x34, 0x6d, 0xfe, 0xcf, 0xfc,
            0xbf, 0xba, 0xcb, 0x4c, 0x14, // g=
            0x05, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0xff, 0x00, // ns=3;b=/wA=
        ];
        let mut c = Cur::new(&d);
        let want = [
            "i=85",
            "ns=1;i=58194",
            "ns=2;i=65537",
            "ns=1;s=ab",
            "g=39121615-46f3-6d34-fecf-fcbfbacb4c14",
            "ns=3;b=/wA=",
        ];
        for w in want {
            assert_eq!(
                read_node_id(&mut c).map(|n| n.to_string()).as_deref(),
                Some(w)
            );
        }
        assert_eq!(c.remaining(), 0);
        // Expanded: namespace URI and server index flags.
        let d = [
            0x80 | 0x40,
            0x07,
            0x01,
            0x00,
            0x00,
            0x00,
            b'u',
            0x02,
            0x00,
            0x00,
            0x00,
        ];
        let mut c = Cur::new(&d);
        assert_eq!(read_node_id(&mut c), Some(NodeId::Numeric(0, 7)));
        assert_eq!(c.remaining(), 0);
        // Bad encoding, and a string longer than the buffer.
        assert_eq!(read_node_id(&mut Cur::new(&[0x09])), None);
        assert_eq!(
            read_node_id(&mut Cur::new(&[0x03, 0, 0, 0xff, 0xff, 0xff, 0x7f])),
            None
        );
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header(b"HELF\x38\x00\x00\x00"),
            Ok(Header {
                msg_type: *b"HEL",
                chunk: b'F',
                size: 56
            })
        );
        assert_eq!(
            parse_header(b"HELC\x38\x00\x00\x00"),
            Err(ParseError::BadChunk)
        );
        assert_eq!(
            parse_header(b"MSGF\x10\x00\x00\x00"),
            Err(ParseError::BadSize)
        );
        assert_eq!(parse_header(b"GET / HT"), Err(ParseError::BadType));
        assert_eq!(parse_header(b"MSG"), Err(ParseError::Truncated));
    }

    #[test]
    fn variants() {
        // Double 2.5, Boolean array [true,false], nested Variant Int32 -3.
        let d = [
            0x0b, 0, 0, 0, 0, 0, 0, 0x04, 0x40, // Double 2.5
            0x81, 0x02, 0, 0, 0, 0x01, 0x00, // Boolean[2]
            0x18, 0x06, 0xfd, 0xff, 0xff, 0xff, // Variant(Int32 -3)
        ];
        let mut c = Cur::new(&d);
        let v = read_variant(&mut c, 0).expect("double");
        assert_eq!((v.number, v.display()), (Some(2.5), "2.5".to_string()));
        let v = read_variant(&mut c, 0).expect("array");
        assert_eq!(v.display(), "Boolean[2]");
        let v = read_variant(&mut c, 0).expect("nested");
        assert_eq!(v.number, Some(-3.0));
        // Deep nesting is refused.
        let deep = [0x18u8; 64];
        assert_eq!(read_variant(&mut Cur::new(&deep), 0), None);
        // Huge array length is refused without allocating.
        let huge = [0x86, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(read_variant(&mut Cur::new(&huge), 0), None);
    }
}

// ---------------------------------------------------------------------
// Service bodies (OPC 10000-4 §5)
// ---------------------------------------------------------------------

/// One endpoint offered by a server.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Endpoint {
    pub url: Option<String>,
    pub security_mode: u32,
    pub security_policy: Option<String>,
}

/// What a service request or response carries that is logged.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ServiceInfo {
    /// Node ids operated on (first MAX_ITEMS).
    pub nodes: Vec<String>,
    pub nodes_total: usize,
    /// Call: method ids (first MAX_ITEMS).
    pub methods: Vec<String>,
    /// Values written / read / passed as arguments (first MAX_ITEMS).
    pub values: Vec<String>,
    /// Numeric/boolean scalars among them.
    pub numbers: Vec<f64>,
    /// Per-operation status codes of a response (first MAX_ITEMS).
    pub results: Vec<u32>,
    pub results_total: usize,
    pub endpoint_url: Option<String>,
    pub session_name: Option<String>,
    pub application_uri: Option<String>,
    pub product_uri: Option<String>,
    pub application_name: Option<String>,
    pub security_mode: Option<u32>,
    pub request_type: Option<u32>,
    pub requested_lifetime: Option<u32>,
    pub protocol_version: Option<u32>,
    pub sec_channel_id: Option<u32>,
    pub token_id: Option<u32>,
    pub user_token: Option<u32>,
    pub user_name: Option<String>,
    pub policy_id: Option<String>,
    pub endpoints: Vec<Endpoint>,
    pub endpoints_total: usize,
    pub subscription_id: Option<u32>,
}

/// A decoded service message body.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    /// Namespace-0 numeric encoding id of the body's type.
    pub type_id: u32,
    pub request: Option<RequestHeader>,
    pub response: Option<ResponseHeader>,
    pub info: ServiceInfo,
    /// The service parameters did not decode completely.
    pub malformed: bool,
}

fn push_str(v: &mut Vec<String>, s: String) {
    if v.len() < MAX_ITEMS {
        v.push(s);
    }
}

/// Decode a service body (after the sequence header). Returns None when
/// the type id is not a known service encoding or the request/response
/// header does not parse: the body is then taken as unreadable
/// (encrypted, or not UA Binary).
pub fn decode_body(body: &[u8]) -> Option<Body> {
    let mut c = Cur::new(body);
    let type_id = read_node_id(&mut c)?.ns0_numeric()?;
    let mut b = Body {
        type_id,
        ..Body::default()
    };
    let is_request = if type_id == super::names::SERVICE_FAULT {
        false
    } else {
        super::names::service_by_id(type_id)?.1
    };
    if is_request {
        b.request = Some(read_request_header(&mut c)?);
        b.malformed = decode_request(type_id, &mut c, &mut b.info).is_none();
    } else {
        b.response = Some(read_response_header(&mut c)?);
        b.malformed = decode_response(type_id, &mut c, &mut b.info).is_none();
    }
    Some(b)
}

fn skip_strings(c: &mut Cur<'_>) -> Option<()> {
    let n = c.array_len(4)?;
    for _ in 0..n {
        c.bytes()?;
    }
    Some(())
}

/// ApplicationDescription: (uri, product uri, name).
fn read_app_description(
    c: &mut Cur<'_>,
) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let uri = c.string()?;
    let product = c.string()?;
    let name = read_localized_text(c)?;
    c.u32()?; // applicationType
    c.bytes()?; // gatewayServerUri
    c.bytes()?; // discoveryProfileUri
    skip_strings(c)?; // discoveryUrls
    Some((uri, product, name))
}

fn read_endpoints(c: &mut Cur<'_>, info: &mut ServiceInfo) -> Option<()> {
    let n = c.array_len(1)?;
    info.endpoints_total = n;
    for i in 0..n {
        let url = c.string()?;
        let (uri, product, name) = read_app_description(c)?;
        if i == 0 {
            info.application_uri = uri;
            info.product_uri = product;
            info.application_name = name;
        }
        c.bytes()?; // serverCertificate
        let mode = c.u32()?;
        let policy = c.string()?;
        let tokens = c.array_len(1)?;
        for _ in 0..tokens {
            c.bytes()?; // policyId
            c.u32()?; // tokenType
            c.bytes()?; // issuedTokenType
            c.bytes()?; // issuerEndpointUrl
            c.bytes()?; // securityPolicyUri
        }
        c.bytes()?; // transportProfileUri
        c.u8()?; // securityLevel
        if info.endpoints.len() < MAX_ITEMS {
            info.endpoints.push(Endpoint {
                url,
                security_mode: mode,
                security_policy: policy,
            });
        }
    }
    Some(())
}

fn add_node(info: &mut ServiceInfo, n: &NodeId) {
    info.nodes_total += 1;
    if info.nodes.len() < MAX_ITEMS {
        info.nodes.push(n.to_string());
    }
}

fn add_value(info: &mut ServiceInfo, v: &VariantSummary) {
    if info.values.len() < MAX_ITEMS {
        info.values.push(v.display());
    }
    if v.array_len.is_none() && (1..=11).contains(&v.type_id) {
        if let Some(x) = v.number {
            if info.numbers.len() < MAX_ITEMS {
                info.numbers.push(x);
            }
        }
    }
}

fn decode_request(id: u32, c: &mut Cur<'_>, info: &mut ServiceInfo) -> Option<()> {
    match id {
        // OpenSecureChannel
        446 => {
            info.protocol_version = Some(c.u32()?);
            info.request_type = Some(c.u32()?);
            info.security_mode = Some(c.u32()?);
            c.bytes()?;
            info.requested_lifetime = Some(c.u32()?);
        }
        // FindServers / GetEndpoints
        422 | 428 => info.endpoint_url = c.string()?,
        // CreateSession
        461 => {
            let (uri, product, name) = read_app_description(c)?;
            info.application_uri = uri;
            info.product_uri = product;
            info.application_name = name;
            c.bytes()?; // serverUri
            info.endpoint_url = c.string()?;
            info.session_name = c.string()?;
        }
        // ActivateSession
        467 => {
            c.bytes()?; // signature algorithm
            c.bytes()?; // signature
            let n = c.array_len(8)?;
            for _ in 0..n {
                c.bytes()?;
                c.bytes()?;
            }
            skip_strings(c)?; // localeIds
            let (tid, body) = read_extension_object(c)?;
            let tid = tid.ns0_numeric().unwrap_or(0);
            info.user_token = Some(tid);
            if let Some(body) = body {
                let mut t = Cur::new(body);
                info.policy_id = t.string().unwrap_or(None);
                if tid == 324 {
                    info.user_name = t.string().unwrap_or(None);
                }
            }
        }
        // Read: maxAge, timestampsToReturn, ReadValueId[]
        631 => {
            c.f64()?;
            c.u32()?;
            let n = c.array_len(9)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.u32()?; // attributeId
                c.bytes()?; // indexRange
                read_qualified_name(c)?;
            }
        }
        // Write: WriteValue[]
        673 => {
            let n = c.array_len(10)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.u32()?;
                c.bytes()?;
                let (v, _) = read_data_value(c, 0)?;
                if let Some(v) = v {
                    add_value(info, &v);
                }
            }
        }
        // HistoryRead
        664 => {
            read_extension_object(c)?;
            c.u32()?;
            c.u8()?;
            let n = c.array_len(10)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.bytes()?;
                read_qualified_name(c)?;
                c.bytes()?;
            }
        }
        // Call: CallMethodRequest[]
        712 => {
            let n = c.array_len(6)?;
            for _ in 0..n {
                let obj = read_node_id(c)?;
                let method = read_node_id(c)?;
                add_node(info, &obj);
                push_str(&mut info.methods, method.to_string());
                let args = c.array_len(1)?;
                for _ in 0..args {
                    let v = read_variant(c, 0)?;
                    add_value(info, &v);
                }
            }
        }
        // Browse: view, maxReferences, BrowseDescription[]
        527 => {
            read_node_id(c)?;
            c.u64()?;
            c.u32()?;
            c.u32()?;
            let n = c.array_len(14)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.u32()?;
                read_node_id(c)?;
                c.u8()?;
                c.u32()?;
                c.u32()?;
            }
        }
        // TranslateBrowsePathsToNodeIds: BrowsePath[]
        554 => {
            let n = c.array_len(5)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                let e = c.array_len(5)?;
                for _ in 0..e {
                    read_node_id(c)?;
                    c.u8()?;
                    c.u8()?;
                    read_qualified_name(c)?;
                }
            }
        }
        // RegisterNodes / UnregisterNodes: NodeId[]
        560 | 566 => {
            let n = c.array_len(2)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
            }
        }
        // AddNodes: AddNodesItem[]
        488 => {
            let n = c.array_len(10)?;
            for _ in 0..n {
                read_node_id(c)?; // parent
                read_node_id(c)?; // reference type
                let node = read_node_id(c)?; // requested new node id
                let name = read_qualified_name(c)?;
                if matches!(node, NodeId::Numeric(_, 0)) {
                    info.nodes_total += 1;
                    push_str(&mut info.nodes, name.unwrap_or_default());
                } else {
                    add_node(info, &node);
                }
                c.u32()?;
                read_extension_object(c)?;
                read_node_id(c)?;
            }
        }
        // DeleteNodes: DeleteNodesItem[]
        500 => {
            let n = c.array_len(3)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.u8()?;
            }
        }
        // CreateMonitoredItems: subscriptionId, timestamps, items[]
        751 => {
            info.subscription_id = Some(c.u32()?);
            c.u32()?;
            let n = c.array_len(10)?;
            for _ in 0..n {
                let node = read_node_id(c)?;
                add_node(info, &node);
                c.u32()?;
                c.bytes()?;
                read_qualified_name(c)?;
                c.u32()?; // monitoringMode
                c.u32()?; // clientHandle
                c.f64()?; // samplingInterval
                read_extension_object(c)?;
                c.u32()?; // queueSize
                c.u8()?; // discardOldest
            }
        }
        _ => {}
    }
    Some(())
}

fn add_result(info: &mut ServiceInfo, s: u32) {
    info.results_total += 1;
    if info.results.len() < MAX_ITEMS {
        info.results.push(s);
    }
}

fn decode_response(id: u32, c: &mut Cur<'_>, info: &mut ServiceInfo) -> Option<()> {
    match id {
        // OpenSecureChannel
        449 => {
            info.protocol_version = Some(c.u32()?);
            info.sec_channel_id = Some(c.u32()?);
            info.token_id = Some(c.u32()?);
            c.u64()?;
            info.requested_lifetime = Some(c.u32()?);
        }
        // GetEndpoints
        431 => read_endpoints(c, info)?,
        // FindServers: ApplicationDescription[]
        425 => {
            let n = c.array_len(1)?;
            for i in 0..n {
                let (uri, product, name) = read_app_description(c)?;
                if i == 0 {
                    info.application_uri = uri;
                    info.product_uri = product;
                    info.application_name = name;
                }
            }
        }
        // CreateSession
        464 => {
            read_node_id(c)?; // sessionId
            read_node_id(c)?; // authenticationToken
            c.f64()?;
            c.bytes()?;
            c.bytes()?;
            read_endpoints(c, info)?;
        }
        // Read: DataValue[]
        634 => {
            let n = c.array_len(1)?;
            for _ in 0..n {
                let (v, s) = read_data_value(c, 0)?;
                add_result(info, s.unwrap_or(0));
                if let Some(v) = v {
                    add_value(info, &v);
                }
            }
        }
        // Write / DeleteNodes / DeleteReferences / AddReferences: StatusCode[]
        676 | 503 | 509 | 497 => {
            let n = c.array_len(4)?;
            for _ in 0..n {
                add_result(info, c.u32()?);
            }
        }
        // Call: CallMethodResult[]
        715 => {
            let n = c.array_len(13)?;
            for _ in 0..n {
                add_result(info, c.u32()?);
                let k = c.array_len(4)?;
                c.take(k * 4)?;
                let d = c.array_len(1)?;
                for _ in 0..d {
                    skip_diagnostic_info(c, 0)?;
                }
                let o = c.array_len(1)?;
                for _ in 0..o {
                    let v = read_variant(c, 0)?;
                    add_value(info, &v);
                }
            }
        }
        // AddNodes: AddNodesResult[]
        491 => {
            let n = c.array_len(5)?;
            for _ in 0..n {
                add_result(info, c.u32()?);
                let node = read_node_id(c)?;
                add_node(info, &node);
            }
        }
        // Browse / BrowseNext: BrowseResult[] (statuses only)
        530 | 536 => {
            let n = c.array_len(12)?;
            for _ in 0..n {
                add_result(info, c.u32()?);
                c.bytes()?;
                let r = c.array_len(1)?;
                for _ in 0..r {
                    read_node_id(c)?;
                    c.u8()?;
                    read_node_id(c)?;
                    read_qualified_name(c)?;
                    read_localized_text(c)?;
                    c.u32()?;
                    read_node_id(c)?;
                }
            }
        }
        // CreateMonitoredItems: results[]
        754 => {
            let n = c.array_len(20)?;
            for _ in 0..n {
                add_result(info, c.u32()?);
                c.u32()?;
                c.f64()?;
                c.u32()?;
                read_extension_object(c)?;
            }
        }
        // CreateSubscription
        790 => info.subscription_id = Some(c.u32()?),
        _ => {}
    }
    Some(())
}

/// First chunk of a multi-chunk message on a secured channel: does the
/// body start with a known service encoding id?
pub fn decode_body_prefix(body: &[u8]) -> bool {
    let mut c = Cur::new(body);
    match read_node_id(&mut c).and_then(|n| n.ns0_numeric()) {
        Some(id) => id == super::names::SERVICE_FAULT || super::names::service_by_id(id).is_some(),
        None => false,
    }
}
