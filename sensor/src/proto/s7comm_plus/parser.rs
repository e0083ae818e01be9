//! Pure S7comm-plus (protocol id 0x72) header parsing of one TSDU.
//!
//! Only the frame and the operation header are decoded (the object/
//! attribute value trees that follow are not). Nothing allocates; nothing
//! panics.

/// S7comm-plus protocol id.
pub const PROTOCOL_ID: u8 = 0x72;
/// Length of the V3 integrity part: digest length byte + 32-byte digest.
pub const V3_DIGEST_LEN: usize = 33;

/// Opcodes.
pub mod opcode {
    /// Request.
    pub const REQUEST: u8 = 0x31;
    /// Response.
    pub const RESPONSE: u8 = 0x32;
    /// Notification (subscription data pushed by the PLC).
    pub const NOTIFICATION: u8 = 0x33;
    /// Response (variant seen with cyclic data from V13 HMIs).
    pub const RESPONSE2: u8 = 0x02;
}

/// Function codes.
pub mod function {
    /// Error.
    pub const ERROR: u16 = 0x04b1;
    /// Explore (browse the object tree).
    pub const EXPLORE: u16 = 0x04bb;
    /// Create object (sessions, subscriptions, downloads).
    pub const CREATE_OBJECT: u16 = 0x04ca;
    /// Delete object.
    pub const DELETE_OBJECT: u16 = 0x04d4;
    /// Set variable.
    pub const SET_VARIABLE: u16 = 0x04f2;
    /// Get variable (old S7-1200 firmware).
    pub const GET_VARIABLE: u16 = 0x04fc;
    /// Add link.
    pub const ADD_LINK: u16 = 0x0506;
    /// Remove link.
    pub const REMOVE_LINK: u16 = 0x051a;
    /// Get link.
    pub const GET_LINK: u16 = 0x0524;
    /// Set multiple variables.
    pub const SET_MULTI_VARIABLES: u16 = 0x0542;
    /// Get multiple variables.
    pub const GET_MULTI_VARIABLES: u16 = 0x054c;
    /// Begin sequence.
    pub const BEGIN_SEQUENCE: u16 = 0x0556;
    /// End sequence.
    pub const END_SEQUENCE: u16 = 0x0560;
    /// Invoke (method call).
    pub const INVOKE: u16 = 0x056b;
    /// Set variable, sub-streamed.
    pub const SET_VAR_SUB_STREAMED: u16 = 0x057c;
    /// Get variable, sub-streamed.
    pub const GET_VAR_SUB_STREAMED: u16 = 0x0586;
    /// Get variables by address.
    pub const GET_VARIABLES_ADDRESS: u16 = 0x0590;
    /// Abort.
    pub const ABORT: u16 = 0x059a;
}

/// Why a TSDU is not a well-formed S7comm-plus frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S7PlusError {
    /// Shorter than the 4-byte header.
    Truncated,
    /// Protocol id is not 0x72.
    NotS7Plus,
    /// Data length exceeds the TSDU.
    BadLength,
}

impl std::fmt::Display for S7PlusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            S7PlusError::Truncated => f.write_str("truncated S7comm-plus header"),
            S7PlusError::NotS7Plus => f.write_str("protocol id is not 0x72"),
            S7PlusError::BadLength => f.write_str("data length exceeds the TSDU"),
        }
    }
}

impl std::error::Error for S7PlusError {}

/// One S7comm-plus frame: `0x72 version(1) data_len(2) data [trailer]`,
/// the trailer `0x72 version 00 00` closing the last (or only) fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Protocol version (1, 2, 3; 0xfe/0xff keep-alive).
    pub version: u8,
    /// Data length (bytes between header and trailer).
    pub data_len: u16,
    /// The data.
    pub data: &'a [u8],
    /// A trailer follows the data (complete PDU or last fragment).
    pub trailer: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at.checked_add(2)?) {
        Some(&[x, y]) => Some(u16::from_be_bytes([x, y])),
        _ => None,
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at..at.checked_add(4)?) {
        Some(&[a, c, d, e]) => Some(u32::from_be_bytes([a, c, d, e])),
        _ => None,
    }
}

/// Split a TSDU into header, data and trailer.
pub fn parse_frame(b: &[u8]) -> Result<Frame<'_>, S7PlusError> {
    let [id, version, l0, l1, ref rest @ ..] = *b else {
        return Err(S7PlusError::Truncated);
    };
    if id != PROTOCOL_ID {
        return Err(S7PlusError::NotS7Plus);
    }
    let data_len = u16::from_be_bytes([l0, l1]);
    let data = rest
        .get(..usize::from(data_len))
        .ok_or(S7PlusError::BadLength)?;
    let trailer = matches!(rest.get(usize::from(data_len)..), Some(&[PROTOCOL_ID, v, 0, 0, ..]) if v == version);
    Ok(Frame {
        version,
        data_len,
        data,
        trailer,
    })
}

/// The operation header at the start of a PDU's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpHeader {
    /// Opcode (0x31 request, 0x32 response, 0x33 notification, 0x02).
    pub opcode: u8,
    /// Function code (requests and responses).
    pub function: Option<u16>,
    /// Sequence number (requests and responses).
    pub seq: Option<u16>,
    /// Session id (requests).
    pub session_id: Option<u32>,
    /// Transport flags (requests and responses).
    pub transport_flags: Option<u8>,
    /// Return value (responses; bit 62 flags an error).
    pub return_value: Option<u64>,
    /// Target object of a DeleteObject request; first object created by a
    /// CreateObject response (the new session id).
    pub object_id: Option<u32>,
    /// Subscription object id (notifications).
    pub subscription_id: Option<u32>,
    /// The V3 integrity digest preceded the header.
    pub integrity: bool,
}

/// Unsigned VLQ as S7comm-plus writes it: 7 bits per byte, high bit =
/// more, big-endian; the 9th byte (u64) carries 8 bits. Returns the value
/// and the bytes used.
pub fn vlq(b: &[u8], max_bytes: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &c) in b.iter().take(max_bytes).enumerate() {
        if i == 8 {
            return Some(((v << 8) | u64::from(c), 9));
        }
        v = (v << 7) | u64::from(c & 0x7f);
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Parse the operation header of a frame's data (`version` decides
/// whether a V3 integrity digest comes first).
///
/// * request: `0x31 reserved(2) function(2) reserved(2) seq(2)
///   session_id(4) transport_flags(1) ...` (DeleteObject: `object_id(4)`)
/// * response: `0x32 reserved(2) function(2) reserved(2) seq(2)
///   transport_flags(1) return_value(VLQ) ...` (CreateObject:
///   `count(1) object_id(VLQ)...`)
/// * notification: `0x33 subscription_id(4) ...`
pub fn parse_op(version: u8, data: &[u8]) -> Option<OpHeader> {
    let (d, integrity) = match data {
        [0x20, rest @ ..] if version == 3 && rest.len() >= 32 => (&rest[32..], true),
        _ => (data, false),
    };
    let &opc = d.first()?;
    let mut h = OpHeader {
        opcode: opc,
        integrity,
        ..OpHeader::default()
    };
    match opc {
        opcode::REQUEST => {
            h.function = be16(d, 3);
            h.seq = be16(d, 7);
            h.session_id = be32(d, 9);
            h.transport_flags = d.get(13).copied();
            if h.function == Some(function::DELETE_OBJECT) {
                h.object_id = be32(d, 14);
            }
        }
        opcode::RESPONSE | opcode::RESPONSE2 => {
            h.function = be16(d, 3);
            h.seq = be16(d, 7);
            h.transport_flags = d.get(9).copied();
            if let Some((rv, n)) = d.get(10..).and_then(|r| vlq(r, 9)) {
                h.return_value = Some(rv);
                if h.function == Some(function::CREATE_OBJECT) {
                    let r = d.get(10 + n..).unwrap_or(&[]);
                    if let [count, ref ids @ ..] = *r {
                        if count > 0 {
                            h.object_id = vlq(ids, 5).map(|(v, _)| v as u32);
                        }
                    }
                }
            }
        }
        opcode::NOTIFICATION => h.subscription_id = be32(d, 1),
        _ => {}
    }
    Some(h)
}

/// The `ServerSessionVersion` string of a session's CreateObject
/// response, `1;<order number>;<firmware>`: the first printable run of 8
/// to 64 bytes with exactly three `;`-separated fields whose third starts
/// with `V`. Returns (order number, firmware), trimmed.
pub fn session_version(data: &[u8]) -> Option<(&[u8], &[u8])> {
    fn trim(b: &[u8]) -> &[u8] {
        let s = b.iter().position(|c| *c != b' ').unwrap_or(b.len());
        let e = b.iter().rposition(|c| *c != b' ').map_or(s, |e| e + 1);
        &b[s..e.max(s)]
    }
    data.split(|c| !(0x20..0x7f).contains(c))
        .filter(|run| (8..=64).contains(&run.len()))
        .find_map(|run| {
            let mut parts = run.split(|&c| c == b';');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(_), Some(model), Some(ver), None) => {
                    let (model, ver) = (trim(model), trim(ver));
                    (!model.is_empty() && ver.first() == Some(&b'V')).then_some((model, ver))
                }
                _ => None,
            }
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// SetMultiVariables response, V2 (S7-1511_db6w0_HMI.pcap frame 10).
    pub const V2_SETMULTI_RESP: &[u8] = &[
        0x72, 0x02, 0x00, 0x11, // id, version 2, data length 17
        0x32, // opcode response
        0x00, 0x00, // reserved
        0x05, 0x42, // function SetMultiVariables
        0x00, 0x00, // reserved
        0x00, 0x02, // sequence number 2
        0x34, // transport flags
        0x00, // return value 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // rest of the response set
        0x72, 0x02, 0x00, 0x00, // trailer
    ];

    #[test]
    fn frames_and_headers() {
        let f = parse_frame(V2_SETMULTI_RESP).expect("frame");
        assert_eq!((f.version, f.data_len, f.trailer), (2, 17, true));
        let h = parse_op(f.version, f.data).expect("op");
        assert_eq!(h.opcode, opcode::RESPONSE);
        assert_eq!(h.function, Some(function::SET_MULTI_VARIABLES));
        assert_eq!(
            (h.seq, h.transport_flags, h.return_value),
            (Some(2), Some(0x34), Some(0))
        );
        // Fragment start: no trailer.
        let f = parse_frame(&V2_SETMULTI_RESP[..21]).expect("frame");
        assert!(!f.trailer);
        assert_eq!(
            parse_frame(&V2_SETMULTI_RESP[..20]),
            Err(S7PlusError::BadLength)
        );
        assert_eq!(parse_frame(&[0x72, 2]), Err(S7PlusError::Truncated));
        assert_eq!(parse_frame(&[0x32, 1, 0, 0]), Err(S7PlusError::NotS7Plus));
    }

    #[test]
    fn session_version_string() {
        let d = b"\xa3\x82\x3f\x00\x15\x1a1;6ES7 214-1HE30-0XB0 ;V2.2\x00";
        assert_eq!(
            session_version(d),
            Some((&b"6ES7 214-1HE30-0XB0"[..], &b"V2.2"[..]))
        );
        assert_eq!(session_version(b"\x15ServerSession_2DC6D2"), None);
        assert_eq!(session_version(b"a;b;c;Vd"), None);
    }

    #[test]
    fn vlq_values() {
        assert_eq!(vlq(&[0x00], 9), Some((0, 1)));
        assert_eq!(vlq(&[0x87, 0x08], 5), Some((0x388, 2)));
        assert_eq!(
            vlq(&[0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 9),
            Some((1 << 57 | 1, 9))
        );
        assert_eq!(vlq(&[0x80, 0x80], 9), None);
        assert_eq!(vlq(&[0xff; 4], 3), None);
    }

    #[test]
    fn request_create_and_delete() {
        // CreateObject response (S7-1511 frame 7): return 0, 2 ids, first 0x388.
        let d = [
            0x32, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00, 0x00, 0x01, 0x36, // header
            0x00, // return value 0
            0x02, 0x87, 0x08, 0x87, 0x09, // 2 object ids: 0x388, 0x389
        ];
        let h = parse_op(2, &d).expect("op");
        assert_eq!(
            (h.function, h.object_id),
            (Some(function::CREATE_OBJECT), Some(0x388))
        );
        // DeleteObject request (frame 15): session 0x388 deletes 0x388.
        let d = [
            0x31, 0x00, 0x00, 0x04, 0xd4, 0x00, 0x00, 0x00, 0x04, // function, seq 4
            0x00, 0x00, 0x03, 0x88, // session id
            0x34, // transport flags
            0x00, 0x00, 0x03, 0x88, // object id
        ];
        let h = parse_op(2, &d).expect("op");
        assert_eq!(
            (h.seq, h.session_id, h.object_id),
            (Some(4), Some(0x388), Some(0x388))
        );
        // V3 notification with its 33-byte integrity part.
        let mut d = vec![0x20];
        d.extend([0xab; 32]);
        d.extend([0x33, 0x70, 0x00, 0x0e, 0x51, 0x04]);
        let h = parse_op(3, &d).expect("op");
        assert_eq!(
            (h.opcode, h.subscription_id, h.integrity),
            (0x33, Some(0x7000_0e51), true)
        );
    }
}
