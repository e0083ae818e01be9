//! Zero-copy parsing of one BACnet/IP datagram: BVLC, NPDU and APDU
//! headers, the tag encoding of ASHRAE 135 clause 20.2, and the service
//! parameters this decoder logs. Every read is bounds-checked; malformed
//! input yields an error or a partially filled structure, never a panic.

/// Why a datagram could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the header needs.
    Truncated,
    /// BVLC type is not 0x81 (BACnet/IPv4).
    NotBvlc,
    /// BVLC length field disagrees with the datagram.
    BadLength,
    /// BVLC function code is not defined.
    UnknownFunction,
    /// NPDU protocol version is not 1.
    BadVersion,
    /// APDU type nibble is not defined (8..15).
    BadApduType,
}

/// Little cursor over a byte slice; every read is checked.
#[derive(Clone, Copy, Debug)]
pub struct Cur<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }
    pub fn u16be(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_be_bytes([s[0], s[1]]))
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
}

/// BVLC function codes (Annex J.2).
pub mod bvlc {
    pub const RESULT: u8 = 0x00;
    pub const WRITE_BDT: u8 = 0x01;
    pub const READ_BDT: u8 = 0x02;
    pub const READ_BDT_ACK: u8 = 0x03;
    pub const FORWARDED_NPDU: u8 = 0x04;
    pub const REGISTER_FOREIGN_DEVICE: u8 = 0x05;
    pub const READ_FDT: u8 = 0x06;
    pub const READ_FDT_ACK: u8 = 0x07;
    pub const DELETE_FDT_ENTRY: u8 = 0x08;
    pub const DISTRIBUTE_BROADCAST: u8 = 0x09;
    pub const ORIGINAL_UNICAST: u8 = 0x0a;
    pub const ORIGINAL_BROADCAST: u8 = 0x0b;
    pub const SECURE_BVLL: u8 = 0x0c;
}

/// snake_case name of a BVLC function.
pub fn bvlc_function_name(f: u8) -> &'static str {
    match f {
        bvlc::RESULT => "bvlc_result",
        bvlc::WRITE_BDT => "write_broadcast_distribution_table",
        bvlc::READ_BDT => "read_broadcast_distribution_table",
        bvlc::READ_BDT_ACK => "read_broadcast_distribution_table_ack",
        bvlc::FORWARDED_NPDU => "forwarded_npdu",
        bvlc::REGISTER_FOREIGN_DEVICE => "register_foreign_device",
        bvlc::READ_FDT => "read_foreign_device_table",
        bvlc::READ_FDT_ACK => "read_foreign_device_table_ack",
        bvlc::DELETE_FDT_ENTRY => "delete_foreign_device_table_entry",
        bvlc::DISTRIBUTE_BROADCAST => "distribute_broadcast_to_network",
        bvlc::ORIGINAL_UNICAST => "original_unicast_npdu",
        bvlc::ORIGINAL_BROADCAST => "original_broadcast_npdu",
        bvlc::SECURE_BVLL => "secure_bvll",
        _ => "unknown",
    }
}

/// The BVLC layer of one datagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Bvlc<'a> {
    pub function: u8,
    /// BVLC length field.
    pub length: u16,
    /// Forwarded-NPDU: the originating B/IP address (IPv4, port).
    pub forwarded_from: Option<([u8; 4], u16)>,
    /// BVLC-Result code.
    pub result_code: Option<u16>,
    /// Register-Foreign-Device time-to-live (seconds).
    pub ttl: Option<u16>,
    /// Entries of a BDT/FDT write or ack.
    pub entries: Option<u32>,
    /// The NPDU carried, if the function carries one.
    pub npdu: Option<&'a [u8]>,
}

/// Parse the BVLC header (Annex J.2). The datagram must start with 0x81.
pub fn parse_bvlc(d: &[u8]) -> Result<Bvlc<'_>, ParseError> {
    if d.len() < 4 {
        return Err(ParseError::Truncated);
    }
    if d[0] != 0x81 {
        return Err(ParseError::NotBvlc);
    }
    let function = d[1];
    let length = u16::from_be_bytes([d[2], d[3]]);
    if usize::from(length) < 4 || usize::from(length) > d.len() {
        return Err(ParseError::BadLength);
    }
    let body = &d[4..usize::from(length)];
    let mut b = Bvlc {
        function,
        length,
        forwarded_from: None,
        result_code: None,
        ttl: None,
        entries: None,
        npdu: None,
    };
    match function {
        bvlc::RESULT => {
            let r = body.get(..2).ok_or(ParseError::Truncated)?;
            b.result_code = Some(u16::from_be_bytes([r[0], r[1]]));
        }
        bvlc::WRITE_BDT | bvlc::READ_BDT_ACK => b.entries = Some((body.len() / 10) as u32),
        bvlc::READ_FDT_ACK => b.entries = Some((body.len() / 10) as u32),
        bvlc::READ_BDT | bvlc::READ_FDT | bvlc::DELETE_FDT_ENTRY | bvlc::SECURE_BVLL => {}
        bvlc::REGISTER_FOREIGN_DEVICE => {
            let r = body.get(..2).ok_or(ParseError::Truncated)?;
            b.ttl = Some(u16::from_be_bytes([r[0], r[1]]));
        }
        bvlc::FORWARDED_NPDU => {
            let a = body.get(..6).ok_or(ParseError::Truncated)?;
            b.forwarded_from = Some(([a[0], a[1], a[2], a[3]], u16::from_be_bytes([a[4], a[5]])));
            b.npdu = Some(&body[6..]);
        }
        bvlc::DISTRIBUTE_BROADCAST | bvlc::ORIGINAL_UNICAST | bvlc::ORIGINAL_BROADCAST => {
            b.npdu = Some(body);
        }
        _ => return Err(ParseError::UnknownFunction),
    }
    Ok(b)
}

/// The network layer header (clause 6.2).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Npdu<'a> {
    pub control: u8,
    pub dnet: Option<u16>,
    pub dadr: Option<&'a [u8]>,
    pub snet: Option<u16>,
    pub sadr: Option<&'a [u8]>,
    pub hop_count: Option<u8>,
    /// Network layer message type, when the NPDU carries one.
    pub message_type: Option<u8>,
    /// Vendor id of a proprietary (>= 0x80) network message.
    pub message_vendor: Option<u16>,
    /// Network layer message parameters, or the APDU.
    pub payload: &'a [u8],
}

impl Npdu<'_> {
    pub fn is_network_message(&self) -> bool {
        self.control & 0x80 != 0
    }
    pub fn expecting_reply(&self) -> bool {
        self.control & 0x04 != 0
    }
    pub fn priority(&self) -> u8 {
        self.control & 0x03
    }
}

/// Parse the NPDU header (clause 6.2.2).
pub fn parse_npdu(d: &[u8]) -> Result<Npdu<'_>, ParseError> {
    let mut c = Cur::new(d);
    let version = c.u8().ok_or(ParseError::Truncated)?;
    if version != 1 {
        return Err(ParseError::BadVersion);
    }
    let control = c.u8().ok_or(ParseError::Truncated)?;
    let mut n = Npdu {
        control,
        ..Npdu::default()
    };
    if control & 0x20 != 0 {
        n.dnet = Some(c.u16be().ok_or(ParseError::Truncated)?);
        let len = c.u8().ok_or(ParseError::Truncated)?;
        n.dadr = Some(c.take(usize::from(len)).ok_or(ParseError::Truncated)?);
    }
    if control & 0x08 != 0 {
        n.snet = Some(c.u16be().ok_or(ParseError::Truncated)?);
        let len = c.u8().ok_or(ParseError::Truncated)?;
        n.sadr = Some(c.take(usize::from(len)).ok_or(ParseError::Truncated)?);
    }
    if control & 0x20 != 0 {
        n.hop_count = Some(c.u8().ok_or(ParseError::Truncated)?);
    }
    if control & 0x80 != 0 {
        let t = c.u8().ok_or(ParseError::Truncated)?;
        n.message_type = Some(t);
        if t >= 0x80 {
            n.message_vendor = Some(c.u16be().ok_or(ParseError::Truncated)?);
        }
    }
    n.payload = c.rest();
    Ok(n)
}

/// snake_case name of a network layer message type (clause 6.2.4).
pub fn network_message_name(t: u8) -> &'static str {
    match t {
        0x00 => "who_is_router_to_network",
        0x01 => "i_am_router_to_network",
        0x02 => "i_could_be_router_to_network",
        0x03 => "reject_message_to_network",
        0x04 => "router_busy_to_network",
        0x05 => "router_available_to_network",
        0x06 => "initialize_routing_table",
        0x07 => "initialize_routing_table_ack",
        0x08 => "establish_connection_to_network",
        0x09 => "disconnect_connection_to_network",
        0x0a => "challenge_request",
        0x0b => "security_payload",
        0x0c => "security_response",
        0x0d => "request_key_update",
        0x0e => "update_key_set",
        0x0f => "update_distribution_key",
        0x10 => "request_master_key",
        0x11 => "set_master_key",
        0x12 => "what_is_network_number",
        0x13 => "network_number_is",
        0x80..=0xff => "proprietary_network_message",
        _ => "unknown_network_message",
    }
}

/// APDU types (clause 20.1.1).
pub mod pdu {
    pub const CONFIRMED_REQUEST: u8 = 0;
    pub const UNCONFIRMED_REQUEST: u8 = 1;
    pub const SIMPLE_ACK: u8 = 2;
    pub const COMPLEX_ACK: u8 = 3;
    pub const SEGMENT_ACK: u8 = 4;
    pub const ERROR: u8 = 5;
    pub const REJECT: u8 = 6;
    pub const ABORT: u8 = 7;
}

/// snake_case name of an APDU type.
pub fn pdu_type_name(t: u8) -> &'static str {
    match t {
        pdu::CONFIRMED_REQUEST => "confirmed_request",
        pdu::UNCONFIRMED_REQUEST => "unconfirmed_request",
        pdu::SIMPLE_ACK => "simple_ack",
        pdu::COMPLEX_ACK => "complex_ack",
        pdu::SEGMENT_ACK => "segment_ack",
        pdu::ERROR => "error",
        pdu::REJECT => "reject",
        pdu::ABORT => "abort",
        _ => "unknown",
    }
}

/// The fixed APDU header; `params` are the service parameters that follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Apdu<'a> {
    pub pdu_type: u8,
    /// Service choice (requests, acks, error); absent for segment-ack,
    /// reject and abort.
    pub service: Option<u8>,
    pub invoke_id: Option<u8>,
    /// SEG flag (confirmed request, complex ack).
    pub segmented: bool,
    /// MOR flag.
    pub more_follows: bool,
    /// SA flag of a confirmed request.
    pub segmented_response_accepted: bool,
    /// Max segments accepted, decoded (None = unspecified).
    pub max_segments: Option<u8>,
    /// Max APDU length accepted, decoded.
    pub max_apdu: Option<u16>,
    pub sequence_number: Option<u8>,
    pub window_size: Option<u8>,
    /// Segment-ACK: NAK flag.
    pub nak: bool,
    /// Segment-ACK / Abort: sent by the server (SRV flag).
    pub server: bool,
    /// Reject or abort reason.
    pub reason: Option<u8>,
    pub params: &'a [u8],
}

fn max_segments(v: u8) -> Option<u8> {
    match v {
        1 => Some(2),
        2 => Some(4),
        3 => Some(8),
        4 => Some(16),
        5 => Some(32),
        6 => Some(64),
        7 => Some(65), // "more than 64"
        _ => None,
    }
}

fn max_apdu(v: u8) -> Option<u16> {
    match v {
        0 => Some(50),
        1 => Some(128),
        2 => Some(206),
        3 => Some(480),
        4 => Some(1024),
        5 => Some(1476),
        _ => None,
    }
}

/// Parse the APDU header (clause 20.1).
pub fn parse_apdu(d: &[u8]) -> Result<Apdu<'_>, ParseError> {
    let mut c = Cur::new(d);
    let b0 = c.u8().ok_or(ParseError::Truncated)?;
    let t = b0 >> 4;
    let mut a = Apdu {
        pdu_type: t,
        ..Apdu::default()
    };
    let tr = ParseError::Truncated;
    match t {
        pdu::CONFIRMED_REQUEST => {
            a.segmented = b0 & 0x08 != 0;
            a.more_follows = b0 & 0x04 != 0;
            a.segmented_response_accepted = b0 & 0x02 != 0;
            let b1 = c.u8().ok_or(tr)?;
            a.max_segments = max_segments((b1 >> 4) & 0x07);
            a.max_apdu = max_apdu(b1 & 0x0f);
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            if a.segmented {
                a.sequence_number = Some(c.u8().ok_or(tr)?);
                a.window_size = Some(c.u8().ok_or(tr)?);
            }
            a.service = Some(c.u8().ok_or(tr)?);
        }
        pdu::UNCONFIRMED_REQUEST => a.service = Some(c.u8().ok_or(tr)?),
        pdu::SIMPLE_ACK => {
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            a.service = Some(c.u8().ok_or(tr)?);
        }
        pdu::COMPLEX_ACK => {
            a.segmented = b0 & 0x08 != 0;
            a.more_follows = b0 & 0x04 != 0;
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            if a.segmented {
                a.sequence_number = Some(c.u8().ok_or(tr)?);
                a.window_size = Some(c.u8().ok_or(tr)?);
            }
            a.service = Some(c.u8().ok_or(tr)?);
        }
        pdu::SEGMENT_ACK => {
            a.nak = b0 & 0x02 != 0;
            a.server = b0 & 0x01 != 0;
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            a.sequence_number = Some(c.u8().ok_or(tr)?);
            a.window_size = Some(c.u8().ok_or(tr)?);
        }
        pdu::ERROR => {
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            a.service = Some(c.u8().ok_or(tr)?);
        }
        pdu::REJECT => {
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            a.reason = Some(c.u8().ok_or(tr)?);
        }
        pdu::ABORT => {
            a.server = b0 & 0x01 != 0;
            a.invoke_id = Some(c.u8().ok_or(tr)?);
            a.reason = Some(c.u8().ok_or(tr)?);
        }
        _ => return Err(ParseError::BadApduType),
    }
    a.params = c.rest();
    Ok(a)
}

// ---------------------------------------------------------------------
// Tag encoding (clause 20.2.1)
// ---------------------------------------------------------------------

/// Application tag numbers (clause 20.2.1.4).
pub mod app {
    pub const NULL: u8 = 0;
    pub const BOOLEAN: u8 = 1;
    pub const UNSIGNED: u8 = 2;
    pub const SIGNED: u8 = 3;
    pub const REAL: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const OCTET_STRING: u8 = 6;
    pub const CHARACTER_STRING: u8 = 7;
    pub const BIT_STRING: u8 = 8;
    pub const ENUMERATED: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const OBJECT_ID: u8 = 12;
}

/// One decoded tag header plus its content.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tag<'a> {
    pub number: u8,
    pub context: bool,
    pub opening: bool,
    pub closing: bool,
    /// Application Boolean: the value lives in the LVT bits.
    pub lvt: u32,
    pub data: &'a [u8],
}

/// Read one tag (header and content) at the cursor.
pub fn read_tag<'a>(c: &mut Cur<'a>) -> Option<Tag<'a>> {
    let b = c.u8()?;
    let mut number = b >> 4;
    if number == 0x0f {
        number = c.u8()?;
    }
    let context = b & 0x08 != 0;
    let lvt = b & 0x07;
    if context && lvt == 6 {
        return Some(Tag {
            number,
            context,
            opening: true,
            closing: false,
            lvt: 0,
            data: &[],
        });
    }
    if context && lvt == 7 {
        return Some(Tag {
            number,
            context,
            opening: false,
            closing: true,
            lvt: 0,
            data: &[],
        });
    }
    if !context && number == app::BOOLEAN {
        return Some(Tag {
            number,
            context,
            opening: false,
            closing: false,
            lvt: u32::from(lvt),
            data: &[],
        });
    }
    let len: u32 = if lvt == 5 {
        match c.u8()? {
            254 => u32::from(c.u16be()?),
            255 => {
                let s = c.take(4)?;
                u32::from_be_bytes([s[0], s[1], s[2], s[3]])
            }
            n => u32::from(n),
        }
    } else {
        u32::from(lvt)
    };
    let data = c.take(usize::try_from(len).ok()?)?;
    Some(Tag {
        number,
        context,
        opening: false,
        closing: false,
        lvt: len,
        data,
    })
}

/// Peek the next tag without moving.
pub fn peek_tag<'a>(c: &Cur<'a>) -> Option<Tag<'a>> {
    let mut t = *c;
    read_tag(&mut t)
}

/// Big-endian unsigned of up to 4 bytes (longer values saturate).
pub fn unsigned(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 8 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in d {
        v = (v << 8) | u64::from(b);
    }
    Some(u32::try_from(v).unwrap_or(u32::MAX))
}

/// Two's complement signed of up to 4 bytes.
pub fn signed(d: &[u8]) -> Option<i64> {
    if d.is_empty() || d.len() > 8 {
        return None;
    }
    let mut v: i64 = if d[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in d {
        v = (v << 8) | i64::from(b);
    }
    Some(v)
}

/// Object identifier: (type, instance).
pub fn object_id(d: &[u8]) -> Option<(u16, u32)> {
    if d.len() != 4 {
        return None;
    }
    let v = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    Some(((v >> 22) as u16, v & 0x003f_ffff))
}

/// A decoded primitive value (application tagged).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Unsigned(u32),
    Signed(i64),
    Real(f32),
    Double(f64),
    OctetString(usize),
    CharacterString(String),
    BitString(usize),
    Enumerated(u32),
    Date([u8; 4]),
    Time([u8; 4]),
    ObjectId(u16, u32),
    /// Context-tagged or constructed data.
    Constructed,
}

impl Value {
    /// Numeric form for `Op::values`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Unsigned(v) | Value::Enumerated(v) => Some(f64::from(*v)),
            Value::Signed(v) => Some(*v as f64),
            Value::Real(v) => Some(f64::from(*v)),
            Value::Double(v) => Some(*v),
            _ => None,
        }
    }
}

/// Longest character string kept.
pub const MAX_STRING: usize = 128;

/// Decode a BACnet character string (ANSI X3.4/UTF-8, UCS-2, ISO 8859-1).
pub fn char_string(d: &[u8]) -> String {
    let (set, body) = match d.split_first() {
        Some((s, b)) => (*s, b),
        None => return String::new(),
    };
    let escaped = |b: &[u8]| {
        let mut o = String::new();
        for &c in b.iter().take(MAX_STRING) {
            if (0x20..0x7f).contains(&c) {
                o.push(c as char);
            } else {
                crate::proto::common::push_x(&mut o, c);
            }
        }
        o
    };
    let mut s: String = match set {
        // IBM/Microsoft DBCS: 2-octet code page, then the text.
        1 => escaped(body.get(2..).unwrap_or(&[])),
        // JIS X 0208: not converted.
        2 => escaped(body),
        // UCS-4.
        3 => body
            .chunks_exact(4)
            .map(|p| char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]])).unwrap_or('?'))
            .take(MAX_STRING)
            .collect(),
        4 => body
            .chunks_exact(2)
            .map(|p| char::from_u32(u32::from(u16::from_be_bytes([p[0], p[1]]))).unwrap_or('?'))
            .take(MAX_STRING)
            .collect(),
        5 => body.iter().map(|&b| b as char).take(MAX_STRING).collect(),
        _ => String::from_utf8_lossy(&body[..body.len().min(MAX_STRING * 4)])
            .chars()
            .take(MAX_STRING)
            .collect(),
    };
    s.retain(|ch| !ch.is_control());
    s
}

/// Decode the value of an application tag.
pub fn app_value(t: &Tag<'_>) -> Value {
    if t.context {
        return Value::Constructed;
    }
    let d = t.data;
    match t.number {
        app::NULL => Value::Null,
        app::BOOLEAN => Value::Boolean(t.lvt != 0),
        app::UNSIGNED => unsigned(d).map_or(Value::Constructed, Value::Unsigned),
        app::SIGNED => signed(d).map_or(Value::Constructed, Value::Signed),
        app::REAL if d.len() == 4 => Value::Real(f32::from_be_bytes([d[0], d[1], d[2], d[3]])),
        app::DOUBLE if d.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(d);
            Value::Double(f64::from_be_bytes(a))
        }
        app::OCTET_STRING => Value::OctetString(d.len()),
        app::CHARACTER_STRING => Value::CharacterString(char_string(d)),
        app::BIT_STRING => Value::BitString(d.len().saturating_sub(1) * 8),
        app::ENUMERATED => unsigned(d).map_or(Value::Constructed, Value::Enumerated),
        app::DATE if d.len() == 4 => Value::Date([d[0], d[1], d[2], d[3]]),
        app::TIME if d.len() == 4 => Value::Time([d[0], d[1], d[2], d[3]]),
        app::OBJECT_ID => object_id(d).map_or(Value::Constructed, |(t, i)| Value::ObjectId(t, i)),
        _ => Value::Constructed,
    }
}

/// Nesting limit for constructed data.
const MAX_DEPTH: u32 = 32;

/// Skip a complete element that starts with `first` (already read): an
/// opening tag is skipped through its matching closing tag.
fn skip_after(c: &mut Cur<'_>, first: &Tag<'_>) -> Option<()> {
    if !first.opening {
        return Some(());
    }
    let mut depth = 1u32;
    while depth > 0 {
        let t = read_tag(c)?;
        if t.opening {
            depth += 1;
            if depth > MAX_DEPTH {
                return None;
            }
        } else if t.closing {
            depth -= 1;
        }
    }
    Some(())
}

/// Read values between an opening tag `n` (already consumed) and its
/// closing tag. Application-tagged values at the top level are decoded
/// (at most `max`); constructed values count as `Constructed`. Returns the
/// values and the total number of top-level elements.
pub fn read_values(c: &mut Cur<'_>, n: u8, max: usize) -> Option<(Vec<Value>, usize)> {
    let mut out = Vec::new();
    let mut count = 0usize;
    loop {
        let t = read_tag(c)?;
        if t.closing {
            if t.number == n {
                return Some((out, count));
            }
            return None;
        }
        count += 1;
        let v = if t.opening {
            skip_after(c, &t)?;
            Value::Constructed
        } else {
            app_value(&t)
        };
        if out.len() < max {
            out.push(v);
        }
    }
}

/// Read an optional context tag `n` holding an unsigned.
pub fn ctx_unsigned(c: &mut Cur<'_>, n: u8) -> Option<u32> {
    let t = peek_tag(c)?;
    if t.context && !t.opening && !t.closing && t.number == n {
        read_tag(c);
        unsigned(t.data)
    } else {
        None
    }
}

/// Read an optional context tag `n` holding an object identifier.
pub fn ctx_object(c: &mut Cur<'_>, n: u8) -> Option<(u16, u32)> {
    let t = peek_tag(c)?;
    if t.context && !t.opening && !t.closing && t.number == n {
        read_tag(c);
        object_id(t.data)
    } else {
        None
    }
}

/// Read an optional context tag `n` and return its raw content.
pub fn ctx_raw<'a>(c: &mut Cur<'a>, n: u8) -> Option<&'a [u8]> {
    let t = peek_tag(c)?;
    if t.context && !t.opening && !t.closing && t.number == n {
        read_tag(c);
        Some(t.data)
    } else {
        None
    }
}

/// Consume an opening tag `n` if it is next.
pub fn ctx_open(c: &mut Cur<'_>, n: u8) -> bool {
    match peek_tag(c) {
        Some(t) if t.context && t.opening && t.number == n => {
            read_tag(c);
            true
        }
        _ => false,
    }
}

/// Consume a closing tag `n` if it is next.
pub fn ctx_close(c: &mut Cur<'_>, n: u8) -> bool {
    match peek_tag(c) {
        Some(t) if t.context && t.closing && t.number == n => {
            read_tag(c);
            true
        }
        _ => false,
    }
}

/// Read an application-tagged value of the given tag number.
pub fn app_tagged<'a>(c: &mut Cur<'a>, number: u8) -> Option<Tag<'a>> {
    let t = peek_tag(c)?;
    if !t.context && t.number == number {
        read_tag(c);
        Some(t)
    } else {
        None
    }
}

/// Skip any one element (primitive or constructed) at the cursor.
pub fn skip_element(c: &mut Cur<'_>) -> Option<()> {
    let t = read_tag(c)?;
    if t.closing {
        return None;
    }
    skip_after(c, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_numbers() {
        // Context 0, length 4: object id analog-output,101.
        let d = [0x0c, 0x00, 0x40, 0x00, 0x65];
        let mut c = Cur::new(&d);
        let t = read_tag(&mut c).expect("tag");
        assert!(t.context && t.number == 0);
        assert_eq!(object_id(t.data), Some((1, 101)));
        // Extended length (lvt 5, one length octet).
        let d = [0x75, 0x06, 0x00, b'h', b'e', b'l', b'l', b'o'];
        let mut c = Cur::new(&d);
        let t = read_tag(&mut c).expect("tag");
        assert_eq!(app_value(&t), Value::CharacterString("hello".into()));
        // Extended tag number.
        let d = [0xf9, 0x20, 0x01];
        let mut c = Cur::new(&d);
        let t = read_tag(&mut c).expect("tag");
        assert_eq!((t.number, t.context, t.data), (0x20, true, &[1u8][..]));
        assert_eq!(signed(&[0xff, 0xfe]), Some(-2));
        assert_eq!(unsigned(&[1, 0]), Some(256));
        assert_eq!(unsigned(&[]), None);
        // Length beyond the buffer.
        let d = [0x75, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(read_tag(&mut Cur::new(&d)).is_none());
    }

    #[test]
    fn bvlc_and_npdu() {
        // Forwarded-NPDU from 10.0.0.9:47808, NPDU with DNET 5 / hop 255.
        let d = [
            0x81, 0x04, 0x00, 0x14, // BVLC forwarded, length 20
            10, 0, 0, 9, 0xba, 0xc0, // originating B/IP address
            0x01, 0x20, // NPDU v1, DNET present
            0x00, 0x05, 0x00, // DNET 5, DLEN 0 (broadcast)
            0xff, // hop count
            0x10, 0x08, 0x09, 0x00, // APDU unconfirmed who-is, ctx0 = 0
        ];
        let b = parse_bvlc(&d).expect("bvlc");
        assert_eq!(b.forwarded_from, Some(([10, 0, 0, 9], 47808)));
        let n = parse_npdu(b.npdu.expect("npdu")).expect("npdu");
        assert_eq!((n.dnet, n.hop_count), (Some(5), Some(255)));
        let a = parse_apdu(n.payload).expect("apdu");
        assert_eq!((a.pdu_type, a.service), (1, Some(8)));
        assert_eq!(
            parse_bvlc(&[0x81, 0x0a, 0x00, 0x40]),
            Err(ParseError::BadLength)
        );
        assert_eq!(
            parse_bvlc(&[0x82, 0x0a, 0x00, 0x04]),
            Err(ParseError::NotBvlc)
        );
    }
}

// ---------------------------------------------------------------------
// Service parameters (clauses 13-17, 21)
// ---------------------------------------------------------------------

/// Confirmed service choices (clause 21, BACnetConfirmedServiceChoice).
pub mod confirmed {
    pub const ACKNOWLEDGE_ALARM: u8 = 0;
    pub const CONFIRMED_COV_NOTIFICATION: u8 = 1;
    pub const CONFIRMED_EVENT_NOTIFICATION: u8 = 2;
    pub const SUBSCRIBE_COV: u8 = 5;
    pub const ATOMIC_READ_FILE: u8 = 6;
    pub const ATOMIC_WRITE_FILE: u8 = 7;
    pub const CREATE_OBJECT: u8 = 10;
    pub const DELETE_OBJECT: u8 = 11;
    pub const READ_PROPERTY: u8 = 12;
    pub const READ_PROPERTY_MULTIPLE: u8 = 14;
    pub const WRITE_PROPERTY: u8 = 15;
    pub const WRITE_PROPERTY_MULTIPLE: u8 = 16;
    pub const DEVICE_COMMUNICATION_CONTROL: u8 = 17;
    pub const CONFIRMED_PRIVATE_TRANSFER: u8 = 18;
    pub const REINITIALIZE_DEVICE: u8 = 20;
    pub const READ_RANGE: u8 = 26;
    pub const SUBSCRIBE_COV_PROPERTY: u8 = 28;
}

/// Unconfirmed service choices (BACnetUnconfirmedServiceChoice).
pub mod unconfirmed {
    pub const I_AM: u8 = 0;
    pub const I_HAVE: u8 = 1;
    pub const UNCONFIRMED_COV_NOTIFICATION: u8 = 2;
    pub const UNCONFIRMED_PRIVATE_TRANSFER: u8 = 4;
    pub const TIME_SYNCHRONIZATION: u8 = 6;
    pub const WHO_HAS: u8 = 7;
    pub const WHO_IS: u8 = 8;
    pub const UTC_TIME_SYNCHRONIZATION: u8 = 9;
}

/// Most values / property references kept per PDU.
pub const MAX_ITEMS: usize = 16;

/// One property reference of ReadPropertyMultiple / WritePropertyMultiple
/// or their acks.
#[derive(Clone, Debug, PartialEq)]
pub struct PropRef {
    pub object: (u16, u32),
    pub property: u32,
    pub array_index: Option<u32>,
    pub priority: Option<u32>,
    /// First value (written or read back).
    pub value: Option<Value>,
    /// RPM-ACK access error (class, code).
    pub error: Option<(u32, u32)>,
}

/// What a service request or ack carries that the decoder logs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceInfo {
    pub object: Option<(u16, u32)>,
    /// CreateObject by type only.
    pub object_type: Option<u16>,
    pub property: Option<u32>,
    pub array_index: Option<u32>,
    pub priority: Option<u32>,
    /// Values of the property (first MAX_ITEMS).
    pub values: Vec<Value>,
    pub value_count: usize,
    /// RPM/WPM property references (first MAX_ITEMS).
    pub items: Vec<PropRef>,
    pub items_total: usize,
    /// I-Am / I-Have / COV initiating device instance.
    pub device: Option<u32>,
    pub max_apdu: Option<u32>,
    pub segmentation: Option<u32>,
    pub vendor_id: Option<u32>,
    pub low_limit: Option<u32>,
    pub high_limit: Option<u32>,
    pub object_name: Option<String>,
    /// ReinitializeDevice state / DeviceCommunicationControl enable-disable.
    pub state: Option<u32>,
    /// DeviceCommunicationControl duration (minutes).
    pub duration: Option<u32>,
    pub password: bool,
    /// "stream" or "record".
    pub file_access: Option<&'static str>,
    pub file_start: Option<i64>,
    /// Requested octets/records, or records written.
    pub file_count: Option<u32>,
    /// Octets of file data carried.
    pub file_data: Option<usize>,
    pub end_of_file: Option<bool>,
    pub service_number: Option<u32>,
    pub process_id: Option<u32>,
    pub lifetime: Option<u32>,
    pub confirmed_notifications: Option<bool>,
    /// TimeSynchronization date/time as ISO text.
    pub time: Option<String>,
    /// True when the parameters did not decode completely.
    pub malformed: bool,
}

fn take_values(c: &mut Cur<'_>, n: u8, info: &mut ServiceInfo) -> Option<()> {
    let (v, count) = read_values(c, n, MAX_ITEMS)?;
    info.values = v;
    info.value_count = count;
    Some(())
}

fn date_time(d: [u8; 4], t: [u8; 4]) -> String {
    let y = if d[0] == 255 {
        "????".to_string()
    } else {
        (1900 + u32::from(d[0])).to_string()
    };
    format!(
        "{y}-{:02}-{:02}T{:02}:{:02}:{:02}.{:02}",
        d[1], d[2], t[0], t[1], t[2], t[3]
    )
}

/// Decode a confirmed (`confirmed = true`) or unconfirmed service request.
pub fn decode_request(confirmed: bool, service: u8, p: &[u8]) -> ServiceInfo {
    let mut info = ServiceInfo::default();
    let ok = if confirmed {
        decode_confirmed(service, p, &mut info)
    } else {
        decode_unconfirmed(service, p, &mut info)
    };
    if ok.is_none() {
        info.malformed = true;
    }
    info
}

fn decode_confirmed(service: u8, p: &[u8], info: &mut ServiceInfo) -> Option<()> {
    let mut c = Cur::new(p);
    let c = &mut c;
    match service {
        confirmed::READ_PROPERTY | confirmed::READ_RANGE => {
            info.object = Some(ctx_object(c, 0)?);
            info.property = Some(ctx_unsigned(c, 1)?);
            info.array_index = ctx_unsigned(c, 2);
        }
        confirmed::WRITE_PROPERTY => {
            info.object = Some(ctx_object(c, 0)?);
            info.property = Some(ctx_unsigned(c, 1)?);
            info.array_index = ctx_unsigned(c, 2);
            if !ctx_open(c, 3) {
                return None;
            }
            take_values(c, 3, info)?;
            info.priority = ctx_unsigned(c, 4);
        }
        confirmed::READ_PROPERTY_MULTIPLE => {
            while !c.is_empty() {
                let obj = ctx_object(c, 0)?;
                if !ctx_open(c, 1) {
                    return None;
                }
                while !ctx_close(c, 1) {
                    let prop = ctx_unsigned(c, 0)?;
                    let idx = ctx_unsigned(c, 1);
                    push_item(info, obj, prop, idx, None, None);
                }
            }
            first_item_to_top(info);
        }
        confirmed::WRITE_PROPERTY_MULTIPLE => {
            while !c.is_empty() {
                let obj = ctx_object(c, 0)?;
                if !ctx_open(c, 1) {
                    return None;
                }
                while !ctx_close(c, 1) {
                    let prop = ctx_unsigned(c, 0)?;
                    let idx = ctx_unsigned(c, 1);
                    if !ctx_open(c, 2) {
                        return None;
                    }
                    let (vals, _) = read_values(c, 2, 1)?;
                    let prio = ctx_unsigned(c, 3);
                    push_item(info, obj, prop, idx, vals.into_iter().next(), prio);
                }
            }
            first_item_to_top(info);
        }
        confirmed::REINITIALIZE_DEVICE => {
            info.state = Some(ctx_unsigned(c, 0)?);
            info.password = ctx_raw(c, 1).is_some();
        }
        confirmed::DEVICE_COMMUNICATION_CONTROL => {
            info.duration = ctx_unsigned(c, 0);
            info.state = Some(ctx_unsigned(c, 1)?);
            info.password = ctx_raw(c, 2).is_some();
        }
        confirmed::ATOMIC_READ_FILE | confirmed::ATOMIC_WRITE_FILE => {
            let t = app_tagged(c, app::OBJECT_ID)?;
            info.object = object_id(t.data);
            let access = if ctx_open(c, 0) {
                info.file_access = Some("stream");
                0
            } else if ctx_open(c, 1) {
                info.file_access = Some("record");
                1
            } else {
                return None;
            };
            info.file_start = signed(app_tagged(c, app::SIGNED)?.data);
            if service == confirmed::ATOMIC_READ_FILE {
                info.file_count = unsigned(app_tagged(c, app::UNSIGNED)?.data);
            } else if access == 0 {
                info.file_data = Some(app_tagged(c, app::OCTET_STRING)?.data.len());
            } else {
                info.file_count = unsigned(app_tagged(c, app::UNSIGNED)?.data);
                let mut n = 0usize;
                while let Some(t) = app_tagged(c, app::OCTET_STRING) {
                    n += t.data.len();
                }
                info.file_data = Some(n);
            }
        }
        confirmed::CREATE_OBJECT => {
            if !ctx_open(c, 0) {
                return None;
            }
            if let Some(t) = ctx_unsigned(c, 0) {
                info.object_type = u16::try_from(t).ok();
            } else {
                info.object = Some(ctx_object(c, 1)?);
            }
            if !ctx_close(c, 0) {
                return None;
            }
        }
        confirmed::DELETE_OBJECT => {
            info.object = object_id(app_tagged(c, app::OBJECT_ID)?.data);
        }
        confirmed::CONFIRMED_PRIVATE_TRANSFER => {
            info.vendor_id = Some(ctx_unsigned(c, 0)?);
            info.service_number = Some(ctx_unsigned(c, 1)?);
        }
        confirmed::SUBSCRIBE_COV | confirmed::SUBSCRIBE_COV_PROPERTY => {
            info.process_id = Some(ctx_unsigned(c, 0)?);
            info.object = Some(ctx_object(c, 1)?);
            info.confirmed_notifications =
                ctx_raw(c, 2).map(|d| d.first().is_some_and(|&b| b != 0));
            info.lifetime = ctx_unsigned(c, 3);
            if service == confirmed::SUBSCRIBE_COV_PROPERTY && ctx_open(c, 4) {
                info.property = Some(ctx_unsigned(c, 0)?);
                info.array_index = ctx_unsigned(c, 1);
            }
        }
        confirmed::CONFIRMED_COV_NOTIFICATION => cov_notification(c, info)?,
        confirmed::CONFIRMED_EVENT_NOTIFICATION => {
            info.process_id = Some(ctx_unsigned(c, 0)?);
            info.device = Some(ctx_object(c, 1)?.1);
            info.object = Some(ctx_object(c, 2)?);
        }
        confirmed::ACKNOWLEDGE_ALARM => {
            info.process_id = Some(ctx_unsigned(c, 0)?);
            info.object = Some(ctx_object(c, 1)?);
        }
        _ => {}
    }
    Some(())
}

fn cov_notification(c: &mut Cur<'_>, info: &mut ServiceInfo) -> Option<()> {
    info.process_id = Some(ctx_unsigned(c, 0)?);
    info.device = Some(ctx_object(c, 1)?.1);
    info.object = Some(ctx_object(c, 2)?);
    info.lifetime = ctx_unsigned(c, 3);
    if !ctx_open(c, 4) {
        return None;
    }
    let obj = info.object.unwrap_or((0, 0));
    while !ctx_close(c, 4) {
        let prop = ctx_unsigned(c, 0)?;
        let idx = ctx_unsigned(c, 1);
        let mut val = None;
        if ctx_open(c, 2) {
            val = read_values(c, 2, 1)?.0.into_iter().next();
        }
        let prio = ctx_unsigned(c, 3);
        push_item(info, obj, prop, idx, val, prio);
    }
    Some(())
}

fn push_item(
    info: &mut ServiceInfo,
    object: (u16, u32),
    property: u32,
    array_index: Option<u32>,
    value: Option<Value>,
    priority: Option<u32>,
) {
    info.items_total += 1;
    if info.items.len() < MAX_ITEMS {
        info.items.push(PropRef {
            object,
            property,
            array_index,
            priority,
            value,
            error: None,
        });
    }
}

/// RPM/WPM: the first reference also fills the top-level fields so that
/// `Op::object`/`address` describe it.
fn first_item_to_top(info: &mut ServiceInfo) {
    if let Some(f) = info.items.first() {
        info.object = Some(f.object);
        if info.items_total == 1 {
            info.property = Some(f.property);
            info.array_index = f.array_index;
            info.priority = f.priority;
        }
    }
    for it in &info.items {
        if let Some(v) = &it.value {
            info.value_count += 1;
            if info.values.len() < MAX_ITEMS {
                info.values.push(v.clone());
            }
        }
    }
}

fn decode_unconfirmed(service: u8, p: &[u8], info: &mut ServiceInfo) -> Option<()> {
    let mut c = Cur::new(p);
    let c = &mut c;
    match service {
        unconfirmed::I_AM => {
            let (t, i) = object_id(app_tagged(c, app::OBJECT_ID)?.data)?;
            info.object = Some((t, i));
            info.device = Some(i);
            info.max_apdu = unsigned(app_tagged(c, app::UNSIGNED)?.data);
            info.segmentation = unsigned(app_tagged(c, app::ENUMERATED)?.data);
            info.vendor_id = unsigned(app_tagged(c, app::UNSIGNED)?.data);
        }
        unconfirmed::I_HAVE => {
            let (_, dev) = object_id(app_tagged(c, app::OBJECT_ID)?.data)?;
            info.device = Some(dev);
            info.object = object_id(app_tagged(c, app::OBJECT_ID)?.data);
            info.object_name = Some(char_string(app_tagged(c, app::CHARACTER_STRING)?.data));
        }
        unconfirmed::WHO_IS => {
            info.low_limit = ctx_unsigned(c, 0);
            info.high_limit = ctx_unsigned(c, 1);
        }
        unconfirmed::WHO_HAS => {
            info.low_limit = ctx_unsigned(c, 0);
            info.high_limit = ctx_unsigned(c, 1);
            if let Some(o) = ctx_object(c, 2) {
                info.object = Some(o);
            } else {
                info.object_name = Some(char_string(ctx_raw(c, 3)?));
            }
        }
        unconfirmed::UNCONFIRMED_COV_NOTIFICATION => cov_notification(c, info)?,
        unconfirmed::UNCONFIRMED_PRIVATE_TRANSFER => {
            info.vendor_id = Some(ctx_unsigned(c, 0)?);
            info.service_number = Some(ctx_unsigned(c, 1)?);
        }
        unconfirmed::TIME_SYNCHRONIZATION | unconfirmed::UTC_TIME_SYNCHRONIZATION => {
            let d = app_tagged(c, app::DATE)?.data;
            let t = app_tagged(c, app::TIME)?.data;
            if d.len() == 4 && t.len() == 4 {
                info.time = Some(date_time(
                    [d[0], d[1], d[2], d[3]],
                    [t[0], t[1], t[2], t[3]],
                ));
            }
        }
        _ => {}
    }
    Some(())
}

/// Decode the parameters of a Complex-ACK (unsegmented, or the first
/// segment: decoding stops where the segment ends).
pub fn decode_ack(service: u8, p: &[u8]) -> ServiceInfo {
    let mut info = ServiceInfo::default();
    if decode_ack_inner(service, p, &mut info).is_none() {
        info.malformed = true;
    }
    info
}

fn decode_ack_inner(service: u8, p: &[u8], info: &mut ServiceInfo) -> Option<()> {
    let mut c = Cur::new(p);
    let c = &mut c;
    match service {
        confirmed::READ_PROPERTY => {
            info.object = Some(ctx_object(c, 0)?);
            info.property = Some(ctx_unsigned(c, 1)?);
            info.array_index = ctx_unsigned(c, 2);
            if !ctx_open(c, 3) {
                return None;
            }
            take_values(c, 3, info)?;
        }
        confirmed::READ_PROPERTY_MULTIPLE => {
            while !c.is_empty() {
                let obj = ctx_object(c, 0)?;
                if !ctx_open(c, 1) {
                    return None;
                }
                while !ctx_close(c, 1) {
                    let prop = ctx_unsigned(c, 2)?;
                    let idx = ctx_unsigned(c, 3);
                    if ctx_open(c, 4) {
                        let (vals, _) = read_values(c, 4, 1)?;
                        push_item(info, obj, prop, idx, vals.into_iter().next(), None);
                    } else if ctx_open(c, 5) {
                        let class = unsigned(app_tagged(c, app::ENUMERATED)?.data)?;
                        let code = unsigned(app_tagged(c, app::ENUMERATED)?.data)?;
                        if !ctx_close(c, 5) {
                            return None;
                        }
                        push_item(info, obj, prop, idx, None, None);
                        if let Some(last) = info.items.last_mut() {
                            if last.property == prop && last.error.is_none() && last.value.is_none()
                            {
                                last.error = Some((class, code));
                            }
                        }
                    } else {
                        return None;
                    }
                }
            }
            first_item_to_top(info);
        }
        confirmed::ATOMIC_READ_FILE => {
            let eof = app_tagged(c, app::BOOLEAN)?;
            info.end_of_file = Some(eof.lvt != 0);
            if ctx_open(c, 0) {
                info.file_access = Some("stream");
                info.file_start = signed(app_tagged(c, app::SIGNED)?.data);
                info.file_data = Some(app_tagged(c, app::OCTET_STRING)?.data.len());
            } else if ctx_open(c, 1) {
                info.file_access = Some("record");
                info.file_start = signed(app_tagged(c, app::SIGNED)?.data);
                info.file_count = unsigned(app_tagged(c, app::UNSIGNED)?.data);
                let mut n = 0usize;
                while let Some(t) = app_tagged(c, app::OCTET_STRING) {
                    n += t.data.len();
                }
                info.file_data = Some(n);
            }
        }
        confirmed::ATOMIC_WRITE_FILE => {
            if let Some(d) = ctx_raw(c, 0) {
                info.file_access = Some("stream");
                info.file_start = signed(d);
            } else if let Some(d) = ctx_raw(c, 1) {
                info.file_access = Some("record");
                info.file_start = signed(d);
            }
        }
        confirmed::CREATE_OBJECT => {
            info.object = object_id(app_tagged(c, app::OBJECT_ID)?.data);
        }
        confirmed::CONFIRMED_PRIVATE_TRANSFER => {
            info.vendor_id = Some(ctx_unsigned(c, 0)?);
            info.service_number = Some(ctx_unsigned(c, 1)?);
        }
        _ => {}
    }
    Some(())
}

/// Error-PDU parameters: (error class, error code). Services whose error
/// is a constructed type (clause 21: CreateObject, WritePropertyMultiple,
/// ...) wrap it in context tag 0; the first two enumerations are taken.
pub fn decode_error(p: &[u8]) -> Option<(u32, u32)> {
    let mut c = Cur::new(p);
    let mut found = Vec::with_capacity(2);
    let mut steps = 0;
    while found.len() < 2 && steps < 16 {
        steps += 1;
        let t = read_tag(&mut c)?;
        if !t.context && t.number == app::ENUMERATED {
            found.push(unsigned(t.data)?);
        }
    }
    match found[..] {
        [class, code] => Some((class, code)),
        _ => None,
    }
}
