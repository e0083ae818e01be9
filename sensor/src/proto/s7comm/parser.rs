//! Pure S7comm (protocol id 0x32) parsing of one TSDU: header, parameter
//! and data parts, variable items, block control, PI service, userdata.
//!
//! Everything borrows from the input; nothing panics: reads go through
//! bounds-checked helpers and malformed input is an [`S7Error`] or `None`.

/// S7comm protocol id.
pub const PROTOCOL_ID: u8 = 0x32;

/// ROSCTR values (remote operating service control).
pub mod rosctr {
    /// Job request.
    pub const JOB: u8 = 1;
    /// Acknowledgement without data.
    pub const ACK: u8 = 2;
    /// Acknowledgement with data (the response to a job).
    pub const ACK_DATA: u8 = 3;
    /// User data (request, response or push, by the parameter's type).
    pub const USERDATA: u8 = 7;
}

/// Job / Ack_Data parameter function codes.
pub mod func {
    /// CPU services.
    pub const CPU_SERVICES: u8 = 0x00;
    /// Read variable.
    pub const READ_VAR: u8 = 0x04;
    /// Write variable.
    pub const WRITE_VAR: u8 = 0x05;
    /// Request download.
    pub const REQUEST_DOWNLOAD: u8 = 0x1a;
    /// Download block.
    pub const DOWNLOAD_BLOCK: u8 = 0x1b;
    /// Download ended.
    pub const DOWNLOAD_ENDED: u8 = 0x1c;
    /// Start upload.
    pub const START_UPLOAD: u8 = 0x1d;
    /// Upload.
    pub const UPLOAD: u8 = 0x1e;
    /// End upload.
    pub const END_UPLOAD: u8 = 0x1f;
    /// PI service (PLC control).
    pub const PI_SERVICE: u8 = 0x28;
    /// PLC stop.
    pub const PLC_STOP: u8 = 0x29;
    /// Setup communication.
    pub const SETUP_COMMUNICATION: u8 = 0xf0;
}

/// Why a TSDU is not a well-formed S7comm PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S7Error {
    /// Shorter than its header.
    Truncated,
    /// Protocol id is not 0x32.
    NotS7,
    /// Unknown ROSCTR.
    BadRosctr(u8),
    /// Header + parameter + data lengths exceed the TSDU.
    BadLength,
}

impl std::fmt::Display for S7Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            S7Error::Truncated => f.write_str("truncated S7comm header"),
            S7Error::NotS7 => f.write_str("protocol id is not 0x32"),
            S7Error::BadRosctr(r) => write!(f, "unknown ROSCTR {r}"),
            S7Error::BadLength => f.write_str("parameter/data lengths exceed the PDU"),
        }
    }
}

impl std::error::Error for S7Error {}

/// S7comm header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// ROSCTR.
    pub rosctr: u8,
    /// PDU reference (pairs a job with its ack).
    pub pdu_ref: u16,
    /// Parameter length.
    pub param_len: u16,
    /// Data length.
    pub data_len: u16,
    /// Error class and code (Ack and Ack_Data only).
    pub error: Option<(u8, u8)>,
}

/// One S7comm PDU split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// Header.
    pub header: Header,
    /// Parameter part.
    pub param: &'a [u8],
    /// Data part.
    pub data: &'a [u8],
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

/// Parse the header and split a TSDU into parameter and data parts. Bytes
/// after the data part are ignored.
pub fn parse_pdu(b: &[u8]) -> Result<Pdu<'_>, S7Error> {
    let Some(&id) = b.first() else {
        return Err(S7Error::Truncated);
    };
    if id != PROTOCOL_ID {
        return Err(S7Error::NotS7);
    }
    let r = *b.get(1).ok_or(S7Error::Truncated)?;
    let hlen = match r {
        rosctr::JOB | rosctr::USERDATA => 10,
        rosctr::ACK | rosctr::ACK_DATA => 12,
        _ => return Err(S7Error::BadRosctr(r)),
    };
    if b.len() < hlen {
        return Err(S7Error::Truncated);
    }
    let pdu_ref = be16(b, 4).ok_or(S7Error::Truncated)?;
    let param_len = be16(b, 6).ok_or(S7Error::Truncated)?;
    let data_len = be16(b, 8).ok_or(S7Error::Truncated)?;
    let error = (hlen == 12).then(|| (b[10], b[11]));
    let p_end = hlen + usize::from(param_len);
    let d_end = p_end + usize::from(data_len);
    let (Some(param), Some(data)) = (b.get(hlen..p_end), b.get(p_end..d_end)) else {
        return Err(S7Error::BadLength);
    };
    Ok(Pdu {
        header: Header {
            rosctr: r,
            pdu_ref,
            param_len,
            data_len,
            error,
        },
        param,
        data,
    })
}

/// Setup communication parameters (request and ack_data alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// Max AmQ calling (parallel jobs).
    pub max_amq_calling: u16,
    /// Max AmQ called.
    pub max_amq_called: u16,
    /// PDU length.
    pub pdu_length: u16,
}

/// `f0 reserved(1) amq_calling(2) amq_called(2) pdu_length(2)`.
pub fn parse_setup(p: &[u8]) -> Option<Setup> {
    Some(Setup {
        max_amq_calling: be16(p, 2)?,
        max_amq_called: be16(p, 4)?,
        pdu_length: be16(p, 6)?,
    })
}

/// Item address syntax ids.
pub mod syntax {
    /// S7ANY: transport size, length, DB, area, bit address.
    pub const S7ANY: u8 = 0x10;
    /// DBREAD (S7-400): several DB byte ranges in one item.
    pub const DBREAD: u8 = 0xb0;
}

/// An S7ANY address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyAddress {
    /// Parameter transport size (BIT 1, BYTE 2, CHAR 3, WORD 4, INT 5,
    /// DWORD 6, DINT 7, REAL 8, ..., COUNTER 0x1c, TIMER 0x1d).
    pub transport_size: u8,
    /// Number of elements.
    pub length: u16,
    /// DB number (0 outside DB/DI).
    pub db: u16,
    /// Memory area (0x81 I, 0x82 Q, 0x83 M, 0x84 DB, ...).
    pub area: u8,
    /// 24-bit address: byte << 3 | bit, or the number for C/T areas.
    pub address: u32,
}

/// One variable specification of a read/write var parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VarSpec<'a> {
    /// Syntax id (0x10 S7ANY, 0xb0 DBREAD, 0xb2 1200SYM, 0x82 NCK, ...).
    pub syntax_id: u8,
    /// The decoded address when the syntax is S7ANY.
    pub any: Option<AnyAddress>,
    /// The address bytes after the syntax id.
    pub raw: &'a [u8],
}

/// One area of a DBREAD (syntax 0xb0) item: `length(1) db(2) start(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbReadArea {
    /// Bytes to read.
    pub length: u8,
    /// DB number.
    pub db: u16,
    /// Start byte address.
    pub start: u16,
}

impl<'a> VarSpec<'a> {
    /// The areas of a DBREAD item (`count(1)` then 5-byte areas); empty
    /// for other syntaxes.
    pub fn dbread_areas(&self) -> impl Iterator<Item = DbReadArea> + 'a {
        let (count, areas): (usize, &'a [u8]) = match (self.syntax_id, self.raw) {
            (syntax::DBREAD, [n, rest @ ..]) => (usize::from(*n), rest),
            _ => (0, &[]),
        };
        areas.chunks_exact(5).take(count).map(|a| DbReadArea {
            length: a[0],
            db: u16::from_be_bytes([a[1], a[2]]),
            start: u16::from_be_bytes([a[3], a[4]]),
        })
    }
}

/// Iterator over variable specifications (`0x12 len(1) syntax(1) ...`
/// per item).
#[derive(Clone, Debug)]
pub struct VarSpecs<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> VarSpecs<'a> {
    /// `count` specifications packed in `items`.
    pub fn new(items: &'a [u8], count: u16) -> VarSpecs<'a> {
        VarSpecs {
            rest: items,
            left: count,
        }
    }
}

/// Item count and item iterator of a read/write var request parameter
/// (`func(1) count(1)` then the items).
pub fn var_specs(p: &[u8]) -> Option<(u8, VarSpecs<'_>)> {
    let count = *p.get(1)?;
    Some((count, VarSpecs::new(p.get(2..)?, u16::from(count))))
}

/// Cyclic services request payload (userdata group 2, subfunctions 1, 5,
/// 7): `item_count(2) interval_timebase(1) interval_factor(1)` then the
/// variable specifications.
pub fn cyclic_specs(payload: &[u8]) -> Option<(u16, VarSpecs<'_>)> {
    let count = be16(payload, 0)?;
    Some((count, VarSpecs::new(payload.get(4..)?, count)))
}

impl<'a> Iterator for VarSpecs<'a> {
    type Item = VarSpec<'a>;

    fn next(&mut self) -> Option<VarSpec<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let [_spec, len, ref rest @ ..] = *self.rest else {
            self.left = 0;
            return None;
        };
        let len = usize::from(len);
        let Some(addr) = rest.get(..len) else {
            self.left = 0;
            return None;
        };
        self.rest = &rest[len..];
        let Some((&syntax_id, raw)) = addr.split_first() else {
            self.left = 0;
            return None;
        };
        let any = match *addr {
            [syntax::S7ANY, ts, l0, l1, d0, d1, area, a0, a1, a2, ..] => Some(AnyAddress {
                transport_size: ts,
                length: u16::from_be_bytes([l0, l1]),
                db: u16::from_be_bytes([d0, d1]),
                area,
                address: u32::from_be_bytes([0, a0, a1, a2]),
            }),
            _ => None,
        };
        Some(VarSpec {
            syntax_id,
            any,
            raw,
        })
    }
}

/// One data item (read var response, write var request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataItem<'a> {
    /// Return code (0xff success; 0x00 in requests).
    pub return_code: u8,
    /// Data transport size (0x03 BIT, 0x04 BYTE/WORD/DWORD, 0x05 INTEGER,
    /// 0x06 DINTEGER, 0x07 REAL, 0x09 OCTET STRING).
    pub transport_size: u8,
    /// The value bytes.
    pub data: &'a [u8],
}

/// Iterator over data items: `return_code(1) tsize(1) length(2) data`,
/// padded with a fill byte to an even length except after the last item.
/// Lengths are in bits for transport sizes 3, 4 and 5, else in bytes. An
/// item whose return code is an error (not 0xff, not 0x00 as in write
/// requests) carries no data whatever its length says.
#[derive(Clone, Debug)]
pub struct DataItems<'a> {
    rest: &'a [u8],
    left: u16,
}

/// Data items of a data part holding `count` items.
pub fn data_items(d: &[u8], count: u8) -> DataItems<'_> {
    DataItems {
        rest: d,
        left: u16::from(count),
    }
}

/// Data items of a cyclic services response or push payload:
/// `item_count(2)` then the items.
pub fn cyclic_data_items(payload: &[u8]) -> DataItems<'_> {
    DataItems {
        rest: payload.get(2..).unwrap_or(&[]),
        left: be16(payload, 0).unwrap_or(0),
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;

    fn next(&mut self) -> Option<DataItem<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let [rc, ts, ref rest @ ..] = *self.rest else {
            self.left = 0;
            return None;
        };
        let Some(raw_len) = be16(rest, 0) else {
            // A failed item may carry only return code and transport size.
            self.rest = &[];
            return Some(DataItem {
                return_code: rc,
                transport_size: ts,
                data: &[],
            });
        };
        let len = match (rc, ts) {
            (0x01..=0xfe, _) => 0,
            (_, 3..=5) => usize::from(raw_len).div_ceil(8),
            _ => usize::from(raw_len),
        };
        let body = &rest[2..];
        let data = body.get(..len).unwrap_or(body);
        let mut used = data.len();
        if self.left > 0 && len % 2 == 1 && body.len() > used {
            used += 1;
        }
        self.rest = &body[used..];
        Some(DataItem {
            return_code: rc,
            transport_size: ts,
            data,
        })
    }
}

/// Return codes of a write var ack_data: one byte per item.
pub fn write_return_codes(d: &[u8], count: u8) -> &[u8] {
    d.get(..usize::from(count)).unwrap_or(d)
}

/// Append the values in `data` (typed by the request's parameter
/// transport size) to `out`, at most `cap` values in total. Returns false
/// when values were left out.
pub fn decode_values(param_tsize: u8, data: &[u8], out: &mut Vec<f64>, cap: usize) -> bool {
    let width = match param_tsize {
        0x01..=0x03 => 1,                             // BIT, BYTE, CHAR
        0x04 | 0x05 | 0x09 | 0x0c | 0x1c | 0x1d => 2, // WORD, INT, DATE, S5TIME, COUNTER, TIMER
        0x06..=0x08 | 0x0a | 0x0b => 4,               // DWORD, DINT, REAL, TOD, TIME
        _ => 1,
    };
    for c in data.chunks_exact(width) {
        if out.len() >= cap {
            return false;
        }
        let v = match (param_tsize, c) {
            (0x01, [b]) => f64::from(*b & 1),
            (0x05, [h, l]) => f64::from(i16::from_be_bytes([*h, *l])),
            (0x07 | 0x0b, [a, b, d, e]) => f64::from(i32::from_be_bytes([*a, *b, *d, *e])),
            (0x08, [a, b, d, e]) => f64::from(f32::from_be_bytes([*a, *b, *d, *e])),
            _ => c.iter().fold(0f64, |acc, &x| acc * 256.0 + f64::from(x)),
        };
        out.push(v);
    }
    true
}

/// A block file name: `_0A00001P` (block control) or `0A00001P` (PI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockName {
    /// Block type as two ASCII hex digits (`08` OB, `0A` DB, `0B` SDB, `0C`
    /// FC, `0D` SFC, `0E` FB, `0F` SFB).
    pub block_type: [u8; 2],
    /// Block number (five ASCII digits).
    pub number: u32,
    /// Destination file system (`P` passive, `A` active, `B` both).
    pub filesystem: u8,
}

/// Parse a block name, with or without the leading file identifier `_`.
pub fn parse_block_name(name: &[u8]) -> Option<BlockName> {
    let n = match name {
        [b'_', rest @ ..] => rest,
        _ => name,
    };
    let [t0, t1, d0, d1, d2, d3, d4, fs, ..] = *n else {
        return None;
    };
    let mut number = 0u32;
    for d in [d0, d1, d2, d3, d4] {
        if !d.is_ascii_digit() {
            return None;
        }
        number = number * 10 + u32::from(d - b'0');
    }
    Some(BlockName {
        block_type: [t0, t1],
        number,
        filesystem: fs,
    })
}

/// Short block type name (`OB`, `DB`, ...) of a two-character type code.
pub fn block_type_name(t: [u8; 2]) -> Option<&'static str> {
    Some(match &t {
        b"08" => "OB",
        b"09" => "CMOD",
        b"0A" | b"0a" => "DB",
        b"0B" | b"0b" => "SDB",
        b"0C" | b"0c" => "FC",
        b"0D" | b"0d" => "SFC",
        b"0E" | b"0e" => "FB",
        b"0F" | b"0f" => "SFB",
        _ => return None,
    })
}

/// Block control parameter of functions 0x1a..=0x1f.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BlockControl<'a> {
    /// Function status (bit 0: more data follows, bit 1: error).
    pub status: u8,
    /// Upload id (session id of an upload; 0 in downloads).
    pub upload_id: Option<u32>,
    /// File name (`_0A00001P`).
    pub filename: Option<&'a [u8]>,
    /// Block length as ASCII digits (start upload ack, request download
    /// part 2: load memory length).
    pub length: Option<u32>,
}

fn ascii_number(b: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    let mut seen = false;
    for &c in b {
        if c.is_ascii_digit() {
            n = n.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
            seen = true;
        } else if c != b' ' {
            return None;
        }
    }
    seen.then_some(n)
}

/// Parse a block control parameter; `job` is true for the Job direction.
///
/// * Job 0x1a/0x1b/0x1c/0x1d: `func status(1) unknown(2) id(4)
///   name_len(1) name [part2_len(1) part2]` (0x1a part 2: `'1'
///   load_mem_len(6) mc7_len(6)`).
/// * Job 0x1e/0x1f: `func status unknown(2) upload_id(4)`.
/// * Ack_Data 0x1d: `func status unknown(2) upload_id(4) len_len(1)
///   length(ASCII)`; other ack_data: `func status`.
pub fn parse_block_control(p: &[u8], job: bool) -> Option<BlockControl<'_>> {
    let (&f, &status) = (p.first()?, p.get(1)?);
    let mut bc = BlockControl {
        status,
        ..BlockControl::default()
    };
    if !job && f != func::START_UPLOAD {
        return Some(bc);
    }
    bc.upload_id = be32(p, 4);
    let Some(&n) = p.get(8) else {
        return Some(bc);
    };
    let n = usize::from(n);
    let s = p.get(9..9 + n);
    if job && f != func::UPLOAD && f != func::END_UPLOAD {
        bc.filename = s;
        if f == func::REQUEST_DOWNLOAD {
            // Part 2: length, then '1', load memory length (6), MC7 length (6).
            bc.length = p.get(9 + n + 2..9 + n + 8).and_then(ascii_number);
        }
    } else if !job {
        bc.length = s.and_then(ascii_number);
    }
    Some(bc)
}

/// PI service job parameter (function 0x28):
/// `func unknown(7) block_len(2) block(block_len) name_len(1) name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiService<'a> {
    /// Parameter block.
    pub block: &'a [u8],
    /// Service name (`_INSE`, `_DELE`, `P_PROGRAM`, `_MODU`, `_GARB`,
    /// `_N_...`).
    pub service: &'a [u8],
}

/// Parse a PI service parameter.
pub fn parse_pi_service(p: &[u8]) -> Option<PiService<'_>> {
    let blen = usize::from(be16(p, 8)?);
    let block = p.get(10..10 + blen)?;
    let n = usize::from(*p.get(10 + blen)?);
    let service = p.get(11 + blen..11 + blen + n)?;
    Some(PiService { block, service })
}

/// Block file names listed in an `_INSE`/`_DELE` parameter block:
/// `count(1) unknown(1)` then `count` names of 8 characters.
pub fn pi_blocks(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let count = block.first().copied().unwrap_or(0);
    block
        .get(2..)
        .unwrap_or(&[])
        .chunks_exact(8)
        .take(usize::from(count))
}

/// PLC stop job parameter (function 0x29): `func unknown(5) len(1)
/// name` — the PI service name (`P_PROGRAM`).
pub fn parse_plc_stop(p: &[u8]) -> Option<&[u8]> {
    let n = usize::from(*p.get(6)?);
    p.get(7..7 + n)
}

/// Userdata parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserdataParam {
    /// Method (0x11 request, 0x12 response, 0x00 push).
    pub method: u8,
    /// Type (high nibble): 0 push, 4 request, 8 response.
    pub kind: u8,
    /// Function group (low nibble).
    pub group: u8,
    /// Subfunction.
    pub subfunc: u8,
    /// Sequence number.
    pub seq: u8,
    /// Data unit reference (response only).
    pub data_unit_ref: Option<u8>,
    /// Last data unit: 0 = last, 1 = more follows (response only).
    pub last_data_unit: Option<u8>,
    /// Error code (response only).
    pub error: Option<u16>,
}

/// Userdata types.
pub mod ud_type {
    /// Push (unsolicited: cyclic data, alarms, mode transition).
    pub const PUSH: u8 = 0;
    /// Request.
    pub const REQUEST: u8 = 4;
    /// Response.
    pub const RESPONSE: u8 = 8;
}

/// `head(3)=00 01 12 len(1) method(1) type|group(1) subfunc(1) seq(1)`
/// then, when `len` is 8: `dur(1) last(1) error(2)`.
pub fn parse_userdata_param(p: &[u8]) -> Option<UserdataParam> {
    let [_, _, _, len, method, tg, subfunc, seq, ref rest @ ..] = *p else {
        return None;
    };
    let long = len >= 8 && rest.len() >= 4;
    Some(UserdataParam {
        method,
        kind: tg >> 4,
        group: tg & 0x0f,
        subfunc,
        seq,
        data_unit_ref: long.then(|| rest[0]),
        last_data_unit: long.then(|| rest[1]),
        error: if long { be16(rest, 2) } else { None },
    })
}

/// Userdata data part: `return_code(1) tsize(1) length(2) payload`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserdataData<'a> {
    /// Return code (0xff success, 0x0a "no data" in requests).
    pub return_code: u8,
    /// Transport size.
    pub transport_size: u8,
    /// Payload (cut to the data part when the length overruns).
    pub payload: &'a [u8],
}

/// Parse the userdata data part.
pub fn parse_userdata_data(d: &[u8]) -> Option<UserdataData<'_>> {
    let [rc, ts, ..] = *d else {
        return None;
    };
    let len = usize::from(be16(d, 2).unwrap_or(0));
    let body = d.get(4..).unwrap_or(&[]);
    Some(UserdataData {
        return_code: rc,
        transport_size: ts,
        payload: body.get(..len).unwrap_or(body),
    })
}

/// SZL read: request `id(2) index(2)`; response adds `entry_len(2)
/// count(2)` and the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Szl<'a> {
    /// SZL id.
    pub id: u16,
    /// SZL index.
    pub index: u16,
    /// Length of one entry (response).
    pub entry_len: u16,
    /// Entries (response), possibly fewer than announced.
    pub entries: &'a [u8],
}

/// Parse an SZL request or response payload.
pub fn parse_szl(b: &[u8]) -> Option<Szl<'_>> {
    Some(Szl {
        id: be16(b, 0)?,
        index: be16(b, 2)?,
        entry_len: be16(b, 4).unwrap_or(0),
        entries: b.get(8..).unwrap_or(&[]),
    })
}

impl<'a> Szl<'a> {
    /// The entries, split by `entry_len` (none when it is 0).
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> {
        let n = usize::from(self.entry_len).max(1);
        let entries = if self.entry_len == 0 {
            &[][..]
        } else {
            self.entries
        };
        entries.chunks_exact(n)
    }
}

/// An S7 BCD timestamp as `YYYY-MM-DDTHH:MM:SS.mmm`. `b` starts at the
/// two-digit year (8 bytes: year month day hour minute second ms-hi
/// ms-lo|weekday). Years < 90 are 20xx.
pub fn s7_timestamp(b: &[u8]) -> Option<String> {
    let [y, mo, d, h, mi, s, m1, m2, ..] = *b else {
        return None;
    };
    let bcd = |v: u8| -> Option<u32> {
        let (hi, lo) = (v >> 4, v & 0x0f);
        (hi < 10 && lo < 10).then_some(u32::from(hi) * 10 + u32::from(lo))
    };
    let yy = bcd(y)?;
    let year = if yy < 90 { 2000 + yy } else { 1900 + yy };
    let (mo, d, h, mi, s) = (bcd(mo)?, bcd(d)?, bcd(h)?, bcd(mi)?, bcd(s)?);
    let ms = bcd(m1)? * 10 + u32::from(m2 >> 4);
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 59
        || m2 >> 4 > 9
    {
        return None;
    }
    Some(format!(
        "{year:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}"
    ))
}

/// Printable text of a fixed-size string field: up to the first NUL,
/// trailing spaces trimmed, non-printable bytes dropped.
pub fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s: String = b[..end]
        .iter()
        .filter(|c| (0x20..0x7f).contains(*c))
        .map(|&c| c as char)
        .collect();
    s.trim().to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Setup communication job (step7_s300_download.pcapng frame 1).
    pub const SETUP_JOB: &[u8] = &[
        0x32, 0x01, // protocol id, ROSCTR job
        0x00, 0x00, // redundancy id
        0x02, 0x00, // PDU reference 512
        0x00, 0x08, // parameter length 8
        0x00, 0x00, // data length 0
        0xf0, 0x00, // setup communication, reserved
        0x00, 0x01, // max AmQ calling 1
        0x00, 0x01, // max AmQ called 1
        0x01, 0xe0, // PDU length 480
    ];

    /// Its ack_data: PDU length 240.
    pub const SETUP_ACK: &[u8] = &[
        0x32, 0x03, 0x00, 0x00, 0x02, 0x00, // ack_data, ref 512
        0x00, 0x08, 0x00, 0x00, // param 8, data 0
        0x00, 0x00, // error class, error code
        0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xf0,
    ];

    /// Write var job, one BIT item M1.0 := 0 (wincc_s300 frame 27).
    pub const WRITE_BIT_JOB: &[u8] = &[
        0x32, 0x01, 0x00, 0x00, 0x00, 0x01, // job, ref 1
        0x00, 0x0e, 0x00, 0x05, // param 14, data 5
        0x05, 0x01, // write var, 1 item
        0x12, 0x0a, 0x10, // var spec, length 10, syntax S7ANY
        0x01, // transport size BIT
        0x00, 0x01, // length 1
        0x00, 0x00, // DB 0
        0x83, // area flags (M)
        0x00, 0x00, 0x08, // address: byte 1, bit 0
        0x00, 0x03, 0x00, 0x01, // data: rc 0, tsize BIT, length 1 bit
        0x00, // value 0
    ];

    /// Its ack_data: item return code 0xff.
    pub const WRITE_BIT_ACK: &[u8] = &[
        0x32, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, // header
        0x05, 0x01, // write var, 1 item
        0xff, // success
    ];

    #[test]
    fn header_and_setup() {
        let p = parse_pdu(SETUP_JOB).expect("job");
        assert_eq!(p.header.rosctr, rosctr::JOB);
        assert_eq!(p.header.pdu_ref, 512);
        assert_eq!(p.header.error, None);
        assert_eq!(
            parse_setup(p.param),
            Some(Setup {
                max_amq_calling: 1,
                max_amq_called: 1,
                pdu_length: 480
            })
        );
        let a = parse_pdu(SETUP_ACK).expect("ack");
        assert_eq!(a.header.error, Some((0, 0)));
        assert_eq!(parse_setup(a.param).map(|s| s.pdu_length), Some(240));
        assert_eq!(parse_pdu(&SETUP_JOB[..17]), Err(S7Error::BadLength));
        assert_eq!(parse_pdu(&SETUP_JOB[..9]), Err(S7Error::Truncated));
        assert_eq!(parse_pdu(&[0x72, 1]), Err(S7Error::NotS7));
        assert_eq!(
            parse_pdu(&[0x32, 5, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(S7Error::BadRosctr(5))
        );
    }

    #[test]
    fn write_var_items() {
        let p = parse_pdu(WRITE_BIT_JOB).expect("job");
        let (n, specs) = var_specs(p.param).expect("specs");
        assert_eq!(n, 1);
        let specs: Vec<_> = specs.collect();
        assert_eq!(
            specs[0].any,
            Some(AnyAddress {
                transport_size: 1,
                length: 1,
                db: 0,
                area: 0x83,
                address: 8
            })
        );
        let items: Vec<_> = data_items(p.data, n).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].data, &[0]);
        let a = parse_pdu(WRITE_BIT_ACK).expect("ack");
        assert_eq!(write_return_codes(a.data, 1), &[0xff]);
    }

    #[test]
    fn data_item_fill_bytes() {
        // Two items: 3 bytes (octet string) + fill, then 2 bytes (bits 16).
        let d = [
            0xff, 0x09, 0x00, 0x03, 1, 2, 3, 0x00, // item 1 + fill
            0xff, 0x04, 0x00, 0x10, 0xab, 0xcd, // item 2: 16 bits
        ];
        let items: Vec<_> = data_items(&d, 2).collect();
        assert_eq!(items[0].data, &[1, 2, 3]);
        assert_eq!(items[1].data, &[0xab, 0xcd]);
        // Failed item: only return code and transport size.
        let items: Vec<_> = data_items(&[0x0a, 0x00], 3).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].return_code, 0x0a);
        // Error items carry no data even when the length says otherwise
        // (snap7: `0a 00 00 04`, s7ident.pcap frame 32).
        let d = [
            0x0a, 0x00, 0x00, 0x04, 0x0a, 0x00, 0x00, 0x04, 0xff, 0x09, 0x00, 0x01, 0x07,
        ];
        let items: Vec<_> = data_items(&d, 3).collect();
        assert_eq!(
            items.iter().map(|i| i.return_code).collect::<Vec<_>>(),
            [0x0a, 0x0a, 0xff]
        );
        assert_eq!(items[2].data, &[0x07]);
    }

    #[test]
    fn dbread_and_cyclic_specs() {
        // Change driven transfer request payload (wincc_s400 frame 22, cut
        // to 2 of 23 areas): 1 item, timebase 1 s, factor 2, DBREAD.
        let p = [
            0x00, 0x01, 0x01, 0x02, // item count 1, timebase, factor
            0x12, 0x0c, 0xb0, 0x02, // var spec, length 12, DBREAD, 2 areas
            0x01, 0x00, 0x44, 0x01, 0x66, // 1 byte of DB68 at 358
            0x0a, 0x00, 0x44, 0x01, 0x8a, // 10 bytes of DB68 at 394
        ];
        let (n, mut specs) = cyclic_specs(&p).expect("specs");
        assert_eq!(n, 1);
        let s = specs.next().expect("spec");
        assert_eq!(s.syntax_id, syntax::DBREAD);
        let areas: Vec<_> = s.dbread_areas().collect();
        assert_eq!(
            areas,
            [
                DbReadArea {
                    length: 1,
                    db: 68,
                    start: 358
                },
                DbReadArea {
                    length: 10,
                    db: 68,
                    start: 394
                }
            ]
        );
        assert!(specs.next().is_none());
    }

    #[test]
    fn values() {
        let mut v = Vec::new();
        assert!(decode_values(0x04, &[0x12, 0x34, 0x00, 0x01], &mut v, 64));
        assert_eq!(v, [4660.0, 1.0]);
        v.clear();
        decode_values(0x05, &[0xff, 0xfe], &mut v, 64);
        assert_eq!(v, [-2.0]);
        v.clear();
        decode_values(0x08, &1.5f32.to_be_bytes(), &mut v, 64);
        assert_eq!(v, [1.5]);
        v.clear();
        assert!(!decode_values(0x02, &[1, 2, 3], &mut v, 2));
        assert_eq!(v, [1.0, 2.0]);
    }

    #[test]
    fn block_control_and_pi() {
        // Request download job (step7_s300_download.pcapng frame 87).
        let p = [
            0x1a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // func, status, unknown, id
            0x09, b'_', b'0', b'A', b'0', b'0', b'0', b'0', b'1', b'P', // file name
            0x0d, b'1', b'0', b'0', b'0', b'2', b'1', b'6', b'0', b'0', b'0', b'0', b'8', b'8',
        ];
        let bc = parse_block_control(&p, true).expect("bc");
        assert_eq!(bc.filename, Some(&b"_0A00001P"[..]));
        assert_eq!(bc.length, Some(216));
        let n = parse_block_name(b"_0A00001P").expect("name");
        assert_eq!(
            (block_type_name(n.block_type), n.number, n.filesystem),
            (Some("DB"), 1, b'P')
        );
        // Start upload ack_data: upload id 7, length "0000216".
        let p = [
            0x1d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x07, b'0', b'0', b'0', b'0', b'2',
            b'1', b'6',
        ];
        let bc = parse_block_control(&p, false).expect("bc");
        assert_eq!((bc.upload_id, bc.length), (Some(7), Some(216)));
        // PI _INSE of DB1 (step7_s300_download.pcapng frame 93).
        let p = [
            0x28, 0, 0, 0, 0, 0, 0, 0xfd, // func, unknown
            0x00, 0x0a, // parameter block length 10
            0x01, 0x00, b'0', b'A', b'0', b'0', b'0', b'0', b'1', b'P', // 1 block
            0x05, b'_', b'I', b'N', b'S', b'E',
        ];
        let pi = parse_pi_service(&p).expect("pi");
        assert_eq!(pi.service, b"_INSE");
        assert_eq!(pi_blocks(pi.block).collect::<Vec<_>>(), [&b"0A00001P"[..]]);
        // PLC stop.
        let p = [
            0x29, 0, 0, 0, 0, 0, 9, b'P', b'_', b'P', b'R', b'O', b'G', b'R', b'A', b'M',
        ];
        assert_eq!(parse_plc_stop(&p), Some(&b"P_PROGRAM"[..]));
    }

    #[test]
    fn userdata_and_szl_and_time() {
        let req = [0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00];
        let u = parse_userdata_param(&req).expect("ud");
        assert_eq!(
            (u.method, u.kind, u.group, u.subfunc, u.error),
            (0x11, 4, 4, 1, None)
        );
        let resp = [
            0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x01, 0x00, 0x00, 0xd2, 0x09,
        ];
        let u = parse_userdata_param(&resp).expect("ud");
        assert_eq!(
            (u.kind, u.last_data_unit, u.error),
            (8, Some(0), Some(0xd209))
        );
        let d = parse_userdata_data(&[0xff, 0x09, 0x00, 0x04, 0x00, 0x11, 0x00, 0x00]).expect("d");
        let s = parse_szl(d.payload).expect("szl");
        assert_eq!((s.id, s.index), (0x11, 0));
        // 2014-08-20 11:59:43.912, weekday 4.
        assert_eq!(
            s7_timestamp(&[0x14, 0x08, 0x20, 0x11, 0x59, 0x43, 0x91, 0x24]).as_deref(),
            Some("2014-08-20T11:59:43.912")
        );
        assert_eq!(
            s7_timestamp(&[0x14, 0x13, 0x20, 0x11, 0x59, 0x43, 0x91, 0x24]),
            None
        );
        assert_eq!(text(b"6ES7 315-2EH14-0AB0 \0\0"), "6ES7 315-2EH14-0AB0");
    }
}
