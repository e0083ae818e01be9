//! Zero-copy parsing of FINS frames and the FINS/TCP envelope.

/// FINS header length (ICF .. SID).
pub const FINS_HEADER_LEN: usize = 10;
/// FINS/TCP header length ("FINS", length, command, error code).
pub const TCP_HEADER_LEN: usize = 16;
/// FINS/TCP magic.
pub const TCP_MAGIC: &[u8; 4] = b"FINS";
/// Largest FINS/TCP frame we reassemble (a FINS frame is at most 2012
/// bytes; leave room for vendor extensions).
pub const MAX_TCP_FRAME: usize = 8192;
/// Values logged per request at most.
pub const MAX_VALUES: usize = 64;
/// Items of a multiple memory area read / forced set-reset logged at most.
pub const MAX_ITEMS: usize = 64;

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinsError {
    /// Fewer bytes than the fixed part needs.
    Truncated,
    /// Reserved ICF bits or RSV set: not a FINS header.
    BadHeader,
    /// FINS/TCP magic missing.
    BadMagic,
    /// FINS/TCP length field out of range.
    BadLength,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The 10-byte FINS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinsHeader {
    /// Information control field: bit 7 gateway, bit 6 response, bit 0
    /// response not required.
    pub icf: u8,
    pub rsv: u8,
    /// Gateway count.
    pub gct: u8,
    pub dna: u8,
    pub da1: u8,
    pub da2: u8,
    pub sna: u8,
    pub sa1: u8,
    pub sa2: u8,
    /// Service id (pairs a response with its command).
    pub sid: u8,
}

impl FinsHeader {
    /// ICF bit 6: this is a response.
    pub fn is_response(&self) -> bool {
        self.icf & 0x40 != 0
    }
    /// ICF bit 0 clear: a response is expected.
    pub fn response_required(&self) -> bool {
        self.icf & 0x01 == 0
    }
    /// ICF bit 7: gateway in use.
    pub fn gateway(&self) -> bool {
        self.icf & 0x80 != 0
    }
}

/// One FINS command or response frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinsFrame<'a> {
    pub header: FinsHeader,
    /// Command code MRC << 8 | SRC.
    pub command: u16,
    /// Responses: the end code MRES << 8 | SRES as on the wire.
    pub end_code: Option<u16>,
    /// Command parameters (commands) or response data (after the end code).
    pub data: &'a [u8],
}

/// Normalised end code: relay-error flag (MRES bit 7) and the PLC
/// fatal/non-fatal error flags (SRES bits 7 and 6) removed.
pub fn end_code_value(raw: u16) -> u16 {
    raw & 0x7f3f
}

/// Parse a FINS frame (header, command code, end code for responses).
pub fn parse_fins(b: &[u8]) -> Result<FinsFrame<'_>, FinsError> {
    let h = b.get(..FINS_HEADER_LEN).ok_or(FinsError::Truncated)?;
    let header = FinsHeader {
        icf: h[0],
        rsv: h[1],
        gct: h[2],
        dna: h[3],
        da1: h[4],
        da2: h[5],
        sna: h[6],
        sa1: h[7],
        sa2: h[8],
        sid: h[9],
    };
    // ICF bits 5..1 are reserved (0). RSV is 0.
    if header.icf & 0x3e != 0 || header.rsv != 0 {
        return Err(FinsError::BadHeader);
    }
    let command = be16(b, FINS_HEADER_LEN).ok_or(FinsError::Truncated)?;
    if header.is_response() {
        let end = be16(b, FINS_HEADER_LEN + 2).ok_or(FinsError::Truncated)?;
        Ok(FinsFrame {
            header,
            command,
            end_code: Some(end),
            data: b.get(FINS_HEADER_LEN + 4..).unwrap_or(&[]),
        })
    } else {
        Ok(FinsFrame {
            header,
            command,
            end_code: None,
            data: b.get(FINS_HEADER_LEN + 2..).unwrap_or(&[]),
        })
    }
}

/// The FINS/TCP envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinsTcpHeader {
    /// Bytes after the length field (command, error code, data).
    pub length: u32,
    /// 0 node address client->server, 1 server->client, 2 FINS frame,
    /// 3 frame send error notification, 6 connection confirmation.
    pub command: u32,
    pub error: u32,
}

impl FinsTcpHeader {
    /// Whole frame length including the 8 bytes of magic and length.
    pub fn frame_len(&self) -> usize {
        8usize.saturating_add(self.length as usize)
    }
}

/// Parse the FINS/TCP header at the start of `b`.
pub fn parse_tcp_header(b: &[u8]) -> Result<FinsTcpHeader, FinsError> {
    let n = b.len().min(4);
    if b[..n] != TCP_MAGIC[..n] {
        return Err(FinsError::BadMagic);
    }
    let length = be32(b, 4).ok_or(FinsError::Truncated)?;
    let command = be32(b, 8).ok_or(FinsError::Truncated)?;
    let error = be32(b, 12).ok_or(FinsError::Truncated)?;
    if length < 8 {
        return Err(FinsError::BadLength);
    }
    Ok(FinsTcpHeader {
        length,
        command,
        error,
    })
}

/// Item size in bytes of a memory area (CS/CJ and CV conventions):
/// forced-status word areas carry 4 bytes, the other word areas (bit 7
/// set) 2 bytes, bit areas 1 byte.
pub fn area_item_size(area: u8) -> usize {
    match area {
        0xf0..=0xf2 | 0xbc => 4,
        a if a & 0x80 != 0 => 2,
        _ => 1,
    }
}

/// Short name of a memory area code (CS/CJ mode, CV mode where they
/// differ and do not clash).
pub fn area_name(area: u8) -> Option<&'static str> {
    Some(match area {
        0x00 => "CIO_bit_cv",
        0x80 => "CIO_cv",
        0x01 => "TIM_flag_cv",
        0x81 => "TIM_PV_cv",
        0x30 => "CIO_bit",
        0x31 => "WR_bit",
        0x32 => "HR_bit",
        0x33 => "AR_bit",
        0x70 => "CIO_bit_forced",
        0x71 => "WR_bit_forced",
        0x72 => "HR_bit_forced",
        0xb0 => "CIO",
        0xb1 => "WR",
        0xb2 => "HR",
        0xb3 => "AR",
        0xf0 => "CIO_forced",
        0xf1 => "WR_forced",
        0xf2 => "HR_forced",
        0x09 => "TIM_flag",
        0x49 => "TIM_flag_forced",
        0x89 => "TIM_PV",
        0x02 => "DM_bit",
        0x82 => "DM",
        0x20..=0x2f => "EM_bit",
        0xa0..=0xaf => "EM",
        0x90..=0x97 => "EM_cv",
        0x0a => "EM_current_bit",
        0x98 => "EM_current",
        0x06 => "TK_bit",
        0x46 => "TK_status",
        0x07 => "condition_flags",
        0xbc => "IR",
        0x9c => "DR",
        _ => return None,
    })
}

/// A memory area address: area code, word address, bit number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AreaAddr {
    pub area: u8,
    pub address: u16,
    pub bit: u8,
}

fn area_addr(b: &[u8], at: usize) -> Option<AreaAddr> {
    let s = b.get(at..at + 4)?;
    Some(AreaAddr {
        area: s[0],
        address: u16::from_be_bytes([s[1], s[2]]),
        bit: s[3],
    })
}

/// What a command's parameters say (decoded for the commands rules and
/// the inventory care about; everything else is `Other`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CommandParams {
    /// Memory area / first item of a multiple read / transfer source.
    pub area: Option<AreaAddr>,
    /// Transfer destination.
    pub dest: Option<AreaAddr>,
    /// Number of items / words / bytes.
    pub count: Option<u32>,
    /// Parameter area code (0201..0203).
    pub parameter_area: Option<u16>,
    /// Beginning word (parameter area) or word (program area).
    pub word: Option<u32>,
    /// Program number (run, stop, program area, access right).
    pub program_no: Option<u16>,
    /// Run mode (0401): 0x02 monitor, 0x04 run.
    pub mode: Option<u8>,
    /// Controller data read selector (0501).
    pub data_select: Option<u8>,
    /// Values written (memory area write/fill), as numbers.
    pub values: Vec<f64>,
    /// More values or items than were kept.
    pub truncated: bool,
    /// Items of a multiple memory area read (0104) or forced set/reset
    /// (2301), first [`MAX_ITEMS`].
    pub items: u32,
    /// File name (single file read/write, delete first file).
    pub file_name: Option<String>,
    /// Disk number (file commands).
    pub disk_no: Option<u16>,
    /// Forced set/reset specification of the first item (2301).
    pub set_reset: Option<u16>,
}

fn values_from(data: &[u8], size: usize, p: &mut CommandParams) {
    let mut it = data.chunks_exact(size);
    for c in it.by_ref().take(MAX_VALUES) {
        let v = match size {
            1 => f64::from(c[0]),
            2 => f64::from(u16::from_be_bytes([c[0], c[1]])),
            _ => f64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        };
        p.values.push(v);
    }
    if it.next().is_some() {
        p.truncated = true;
    }
}

fn file_name(b: &[u8]) -> Option<String> {
    let s = b.get(..12)?;
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    let name: String = s[..end]
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    let name = name.trim_end().to_string();
    (!name.is_empty()).then_some(name)
}

/// Decode a command's parameters.
pub fn parse_command_params(command: u16, d: &[u8]) -> CommandParams {
    let mut p = CommandParams::default();
    match command {
        // Memory area read: area, address, bit, count.
        0x0101 => {
            p.area = area_addr(d, 0);
            p.count = be16(d, 4).map(u32::from);
        }
        // Memory area write: area, address, bit, count, data.
        0x0102 => {
            p.area = area_addr(d, 0);
            p.count = be16(d, 4).map(u32::from);
            if let (Some(a), Some(rest)) = (p.area, d.get(6..)) {
                values_from(rest, area_item_size(a.area), &mut p);
            }
        }
        // Memory area fill: area, address, bit, count, 2-byte data.
        0x0103 => {
            p.area = area_addr(d, 0);
            p.count = be16(d, 4).map(u32::from);
            if let Some(v) = be16(d, 6) {
                p.values.push(f64::from(v));
            }
        }
        // Multiple memory area read: (area, address, bit) repeated.
        0x0104 => {
            p.area = area_addr(d, 0);
            let n = d.len() / 4;
            p.items = n as u32;
            p.count = Some(n as u32);
        }
        // Memory area transfer: source, destination, count.
        0x0105 => {
            p.area = area_addr(d, 0);
            p.dest = area_addr(d, 4);
            p.count = be16(d, 8).map(u32::from);
        }
        // Parameter area read/write/clear: area code, word, count.
        0x0201..=0x0203 => {
            p.parameter_area = be16(d, 0);
            p.word = be16(d, 2).map(u32::from);
            p.count = be16(d, 4).map(|c| u32::from(c & 0x7fff));
        }
        // Program area read/write (CS/CJ 0306/0307): program no, word
        // (4 bytes), byte count.
        0x0306 | 0x0307 => {
            p.program_no = be16(d, 0);
            p.word = be32(d, 2);
            p.count = be16(d, 6).map(|c| u32::from(c & 0x7fff));
        }
        // Program area clear / protect: program number first.
        0x0304 | 0x0305 | 0x0308 => {
            p.program_no = be16(d, 0);
        }
        // Run: program number, optional mode. Stop: program number.
        0x0401 => {
            p.program_no = be16(d, 0);
            p.mode = d.get(2).copied();
        }
        0x0402 => {
            p.program_no = be16(d, 0);
        }
        0x0501 => {
            p.data_select = d.first().copied();
        }
        0x0c01..=0x0c03 => {
            p.program_no = be16(d, 0);
        }
        // File name read: disk, beginning position, count.
        0x2201 => {
            p.disk_no = be16(d, 0);
            p.count = be16(d, 4).map(u32::from);
        }
        // Single file read: disk, name, position (4), length (2).
        0x2202 => {
            p.disk_no = be16(d, 0);
            p.file_name = d.get(2..).and_then(file_name);
            p.count = be16(d, 18).map(u32::from);
        }
        // Single file write: disk, parameter code, name, position, length.
        0x2203 => {
            p.disk_no = be16(d, 0);
            p.file_name = d.get(4..).and_then(file_name);
            p.count = be16(d, 20).map(u32::from);
        }
        // File delete: count, disk, names.
        0x2205 => {
            p.count = be16(d, 0).map(u32::from);
            p.disk_no = be16(d, 2);
            p.file_name = d.get(4..).and_then(file_name);
        }
        // Forced set/reset: count, then (spec, area, address, bit).
        0x2301 => {
            let n = be16(d, 0).unwrap_or(0);
            p.count = Some(u32::from(n));
            p.set_reset = be16(d, 2);
            p.area = area_addr(d, 4);
            let present = d.len().saturating_sub(2) / 6;
            p.items = present.min(usize::from(n)).min(MAX_ITEMS) as u32;
            p.truncated = usize::from(n) > MAX_ITEMS;
        }
        _ => {}
    }
    p
}

/// Identity a controller data read (0501) response reveals.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ControllerData {
    pub model: Option<String>,
    pub version: Option<String>,
}

fn ascii_field(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s = &b[..end];
    if !s.iter().all(|&c| c.is_ascii_graphic() || c == b' ') {
        return None;
    }
    let t = String::from_utf8_lossy(s).trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// Model and version from a 0501 response. `select` is the request's
/// selector when the request was seen: the model/version block is present
/// for "all" (no selector) and 0x00. Without the request the 20-byte fields
/// must be printable ASCII.
pub fn parse_controller_data(data: &[u8], select: Option<Option<u8>>) -> ControllerData {
    if let Some(Some(s)) = select {
        if s != 0x00 {
            return ControllerData::default();
        }
    }
    let model = data.get(..20).and_then(ascii_field);
    let version = data.get(20..40).and_then(ascii_field);
    if model.is_none() {
        return ControllerData::default();
    }
    ControllerData { model, version }
}
