//! Zero-copy parsing of HART-IP messages and the HART PDUs they carry.

/// HART-IP header length.
pub const HEADER_LEN: usize = 8;
/// Largest HART-IP message reassembled over TCP (audit log responses run
/// to ~1 KiB; the spec caps messages well below this).
pub const MAX_MESSAGE: usize = 8192;
/// Commands of a direct PDU logged at most.
pub const MAX_DIRECT_COMMANDS: usize = 16;

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HartError {
    Truncated,
    /// Version, message type or byte count implausible.
    BadHeader,
    /// Token-passing PDU malformed.
    BadPdu,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// HART-IP message types.
pub const MT_REQUEST: u8 = 0;
pub const MT_RESPONSE: u8 = 1;
pub const MT_PUBLISH: u8 = 2;
pub const MT_ERROR: u8 = 3;
pub const MT_NAK: u8 = 15;

/// The 8-byte HART-IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    /// Low nibble of the message type byte (the high nibble is reserved).
    pub message_type: u8,
    pub message_id: u8,
    pub status: u8,
    pub sequence: u16,
    /// Whole message length including the header.
    pub byte_count: u16,
}

impl Header {
    /// Response-like (response, error, NAK).
    pub fn is_response(&self) -> bool {
        matches!(self.message_type, MT_RESPONSE | MT_ERROR | MT_NAK)
    }
}

/// Parse and sanity-check a HART-IP header.
pub fn parse_header(b: &[u8]) -> Result<Header, HartError> {
    let h = b.get(..HEADER_LEN).ok_or(HartError::Truncated)?;
    let header = Header {
        version: h[0],
        message_type: h[1] & 0x0f,
        message_id: h[2],
        status: h[3],
        sequence: u16::from_be_bytes([h[4], h[5]]),
        byte_count: u16::from_be_bytes([h[6], h[7]]),
    };
    if !(1..=2).contains(&header.version)
        || !matches!(
            header.message_type,
            MT_REQUEST | MT_RESPONSE | MT_PUBLISH | MT_ERROR | MT_NAK
        )
        || usize::from(header.byte_count) < HEADER_LEN
    {
        return Err(HartError::BadHeader);
    }
    Ok(header)
}

/// HART frame types in the delimiter.
pub const FT_BACK: u8 = 1;
pub const FT_STX: u8 = 2;
pub const FT_ACK: u8 = 6;

/// A HART token-passing PDU (delimiter .. check byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub delimiter: u8,
    /// Polling address (short frame) or the 5-byte unique address.
    pub address: &'a [u8],
    /// Command number; command 31 is replaced by the 16-bit extended
    /// command number when present.
    pub command: u16,
    pub byte_count: u8,
    /// Slave responses (ACK/BACK): response code and device status.
    pub response_code: Option<u8>,
    pub device_status: Option<u8>,
    /// Data after the response code / status (and after the extended
    /// command number).
    pub data: &'a [u8],
}

impl Pdu<'_> {
    /// Long (unique) address frame.
    pub fn long_address(&self) -> bool {
        self.delimiter & 0x80 != 0
    }
    /// Frame type: 1 BACK (burst), 2 STX (master to field), 6 ACK.
    pub fn frame_type(&self) -> u8 {
        self.delimiter & 0x07
    }
    /// Polling address (short frame) or the 38-bit unique address as a
    /// number (long frame, master/burst bits removed).
    pub fn unit(&self) -> u32 {
        match self.address {
            [a] => u32::from(a & 0x3f),
            [_, _, a, b, c] => u32::from_be_bytes([0, *a, *b, *c]),
            _ => 0,
        }
    }
    /// Address bytes as lower-case hex (long frame: master and burst bits
    /// cleared, as the device's unique id).
    pub fn address_hex(&self) -> String {
        let mut s = String::with_capacity(10);
        for (i, b) in self.address.iter().enumerate() {
            let b = if i == 0 { b & 0x3f } else { *b };
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// Parse a token-passing PDU (HART-IP message id 3, body).
pub fn parse_pdu(b: &[u8]) -> Result<Pdu<'_>, HartError> {
    let delimiter = *b.first().ok_or(HartError::Truncated)?;
    let ft = delimiter & 0x07;
    if !matches!(ft, FT_BACK | FT_STX | FT_ACK) {
        return Err(HartError::BadPdu);
    }
    let alen = if delimiter & 0x80 != 0 { 5 } else { 1 };
    let exp = usize::from((delimiter >> 5) & 0x03);
    let address = b.get(1..1 + alen).ok_or(HartError::Truncated)?;
    let mut at = 1 + alen + exp;
    let cmd = *b.get(at).ok_or(HartError::Truncated)?;
    let byte_count = *b.get(at + 1).ok_or(HartError::Truncated)?;
    at += 2;
    let body = b
        .get(at..at + usize::from(byte_count))
        .ok_or(HartError::Truncated)?;
    let (response_code, device_status, mut data) = if ft == FT_STX {
        (None, None, body)
    } else {
        match body {
            [rc, ds, rest @ ..] => (Some(*rc), Some(*ds), rest),
            [rc] => (Some(*rc), None, &[][..]),
            [] => (None, None, body),
        }
    };
    let mut command = u16::from(cmd);
    if cmd == 31 {
        if let Some(ext) = be16(data, 0) {
            command = ext;
            data = &data[2..];
        }
    }
    Ok(Pdu {
        delimiter,
        address,
        command,
        byte_count,
        response_code,
        device_status,
        data,
    })
}

/// One command of a direct PDU (message id 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectCommand {
    pub command: u16,
    pub byte_count: u8,
    /// Responses: first data byte.
    pub response_code: Option<u8>,
}

/// A direct PDU: device status, extended status, then commands
/// (2-byte command number, byte count, data; responses start the data
/// with the response code). At most [`MAX_DIRECT_COMMANDS`] are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectPdu {
    pub device_status: u8,
    pub extended_status: u8,
    pub commands: Vec<DirectCommand>,
    pub truncated: bool,
}

/// Parse a direct PDU body.
pub fn parse_direct_pdu(b: &[u8], response: bool) -> Result<DirectPdu, HartError> {
    let device_status = *b.first().ok_or(HartError::Truncated)?;
    let extended_status = *b.get(1).ok_or(HartError::Truncated)?;
    let mut at = 2;
    let mut commands = Vec::new();
    let mut truncated = false;
    while at + 3 <= b.len() {
        let command = be16(b, at).unwrap_or(0);
        let byte_count = b.get(at + 2).copied().unwrap_or(0);
        let rc = if response {
            b.get(at + 3).copied().filter(|_| byte_count > 0)
        } else {
            None
        };
        if commands.len() < MAX_DIRECT_COMMANDS {
            commands.push(DirectCommand {
                command,
                byte_count,
                response_code: rc,
            });
        } else {
            truncated = true;
            break;
        }
        at += 3 + usize::from(byte_count);
    }
    Ok(DirectPdu {
        device_status,
        extended_status,
        commands,
        truncated,
    })
}

/// Session initiate body: master type, inactivity close timer (ms).
pub fn parse_session_initiate(b: &[u8]) -> Option<(u8, u32)> {
    Some((*b.first()?, be32(b, 1)?))
}

/// Identity from a command 0 (read unique identifier) response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UniqueId {
    /// Expanded device type (HART 7) or manufacturer<<8|device type.
    pub device_type: u16,
    /// HART universal revision.
    pub hart_revision: u8,
    pub device_revision: u8,
    pub software_revision: u8,
    /// 24-bit device id.
    pub device_id: u32,
    /// Manufacturer identification code (16-bit field of HART 7, else the
    /// 8-bit code of older revisions).
    pub manufacturer_id: u16,
}

/// Decode a command 0 / 11 / 21 response body (after response code and
/// device status).
pub fn parse_unique_id(d: &[u8]) -> Option<UniqueId> {
    if d.len() < 12 || d[0] != 254 {
        return None;
    }
    let device_type = u16::from_be_bytes([d[1], d[2]]);
    let hart_revision = d[4];
    let manufacturer_id = match be16(d, 17) {
        Some(m) if hart_revision >= 7 => m,
        _ => u16::from(d[1]),
    };
    Some(UniqueId {
        device_type,
        hart_revision,
        device_revision: d[5],
        software_revision: d[6],
        device_id: u32::from_be_bytes([0, d[9], d[10], d[11]]),
        manufacturer_id,
    })
}

/// Latin-1 text, NUL/space padding removed.
pub fn latin1(b: &[u8]) -> Option<String> {
    let s: String = b
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| if c < 0x20 { '.' } else { char::from(c) })
        .collect();
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// HART packed ASCII (6-bit characters, 4 per 3 bytes).
pub fn packed_ascii(b: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(b.len() * 4 / 3);
    for c in b.chunks_exact(3) {
        let v = u32::from_be_bytes([0, c[0], c[1], c[2]]);
        for shift in [18u32, 12, 6, 0] {
            let x = ((v >> shift) & 0x3f) as u8;
            // 0x00..0x1f map to '@'..'_', 0x20..0x3f to ' '..'?'.
            let ch = if x < 0x20 { x + 0x40 } else { x };
            s.push(char::from(ch));
        }
    }
    let t = s.trim_end_matches(['@', ' ']).trim();
    (!t.is_empty()).then(|| t.to_string())
}
