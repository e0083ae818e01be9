//! DNP3 wire parsing: data link frames (CRC-16/DNP per block), transport
//! header, application header and object headers with their points.
//!
//! Everything here is pure and works on borrowed slices; the only
//! allocations are the reassembled application fragment (done by the
//! caller) and the point index list of [`parse_objects`].

use crate::proto::common::Frame;

/// The two start octets of every link frame.
pub const START: [u8; 2] = [0x05, 0x64];
/// Link header: start(2) len(1) control(1) dst(2) src(2) crc(2).
pub const LINK_HEADER_LEN: usize = 10;
/// User data bytes per CRC block (the header has its own CRC).
pub const BLOCK: usize = 16;
/// Longest link frame on the wire: len 255 -> 250 user octets in 16
/// blocks, each with a 2-octet CRC, plus the header.
pub const MAX_FRAME: usize = LINK_HEADER_LEN + 250 + 2 * 16;

/// Parse errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dnp3Error {
    /// Not enough bytes.
    Truncated,
    /// The frame does not start with 0x05 0x64.
    BadStart,
    /// Link header CRC mismatch.
    BadHeaderCrc,
    /// Link length below the 5-octet minimum.
    BadLength,
}

const fn crc_table() -> [u16; 256] {
    // CRC-16/DNP: polynomial 0x3D65, reflected (0xA6BC), init 0,
    // output complemented, transmitted low octet first.
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u16;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xA6BC
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC_TABLE: [u16; 256] = crc_table();

/// CRC-16/DNP of `data` (IEEE 1815-2012 §9.2.2.1.2).
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc >> 8) ^ CRC_TABLE[usize::from((crc ^ u16::from(b)) & 0xff)];
    }
    !crc
}

/// True when the last two octets of `block` are the CRC of the rest.
pub fn block_crc_ok(block: &[u8]) -> bool {
    match block.len().checked_sub(2) {
        Some(n) if n > 0 => {
            let c = crc16(&block[..n]);
            block[n] == (c & 0xff) as u8 && block[n + 1] == (c >> 8) as u8
        }
        _ => false,
    }
}

/// The data link header (IEEE 1815-2012 §9.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LinkHeader {
    /// Octets after the length field, excluding CRCs (control, dst, src,
    /// user data): 5..=255.
    pub len: u8,
    /// DIR(7) PRM(6) FCB(5) FCV(4) function(3..0).
    pub control: u8,
    pub dst: u16,
    pub src: u16,
}

impl LinkHeader {
    pub fn dir(&self) -> bool {
        self.control & 0x80 != 0
    }
    pub fn prm(&self) -> bool {
        self.control & 0x40 != 0
    }
    pub fn fcb(&self) -> bool {
        self.control & 0x20 != 0
    }
    pub fn fcv(&self) -> bool {
        self.control & 0x10 != 0
    }
    /// Link function code (low nibble).
    pub fn function(&self) -> u8 {
        self.control & 0x0f
    }
    /// Primary frame carrying user data (confirmed 3 / unconfirmed 4).
    pub fn is_user_data(&self) -> bool {
        matches!(self.function(), 3 | 4)
    }
    /// Whole frame length on the wire, CRCs included.
    pub fn frame_len(&self) -> usize {
        frame_len(self.len).unwrap_or(LINK_HEADER_LEN)
    }
}

/// Wire length of a frame whose length octet is `len` (None below 5).
pub fn frame_len(len: u8) -> Option<usize> {
    let user = usize::from(len).checked_sub(5)?;
    let full = user / BLOCK;
    let rem = user % BLOCK;
    Some(LINK_HEADER_LEN + full * (BLOCK + 2) + if rem > 0 { rem + 2 } else { 0 })
}

/// Parse and check a link header at the start of `b`.
pub fn parse_link_header(b: &[u8]) -> Result<LinkHeader, Dnp3Error> {
    if b.len() >= 2 && b[..2] != START {
        return Err(Dnp3Error::BadStart);
    }
    let h = b.get(..LINK_HEADER_LEN).ok_or(Dnp3Error::Truncated)?;
    if !block_crc_ok(h) {
        return Err(Dnp3Error::BadHeaderCrc);
    }
    if h[2] < 5 {
        return Err(Dnp3Error::BadLength);
    }
    Ok(LinkHeader {
        len: h[2],
        control: h[3],
        dst: u16::from_le_bytes([h[4], h[5]]),
        src: u16::from_le_bytes([h[6], h[7]]),
    })
}

/// Offset of the next possible frame start (0x05 0x64, or a trailing 0x05)
/// in `b` after position 0; `b.len()` when there is none.
pub fn next_start(b: &[u8]) -> usize {
    let mut i = 1;
    while i < b.len() {
        if b[i] == START[0] && b.get(i + 1).is_none_or(|&x| x == START[1]) {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// Framer for [`crate::proto::common::StreamBuf`]: a frame starts at
/// 0x05 0x64 with a valid header CRC. Anything else is skipped up to the
/// next 0x05 0x64 (bad header CRCs are skipped one octet at a time).
pub fn link_frame(head: &[u8], _resync: bool) -> Frame {
    match head {
        [] | [0x05] => Frame::Need,
        [a, b, ..] if [*a, *b] != START => Frame::Skip(next_start(head)),
        [_] => Frame::Skip(1),
        _ => match parse_link_header(head) {
            Ok(h) => Frame::Len(h.frame_len()),
            Err(Dnp3Error::Truncated) => Frame::Need,
            Err(_) => Frame::Skip(1),
        },
    }
}

/// Strip the block CRCs of a frame's user data (`body` = the frame after
/// the 10-octet header), appending at most `room` octets to `out`.
/// Returns the number of blocks whose CRC did not match (the data is kept
/// either way) and whether `room` cut the data short.
pub fn strip_crcs(body: &[u8], out: &mut Vec<u8>, room: usize) -> (u32, bool) {
    let mut bad = 0;
    let mut left = room;
    let mut cut = false;
    for block in body.chunks(BLOCK + 2) {
        if !block_crc_ok(block) {
            bad += 1;
        }
        let data = &block[..block.len().saturating_sub(2)];
        let n = data.len().min(left);
        if n < data.len() {
            cut = true;
        }
        out.extend_from_slice(&data[..n]);
        left -= n;
    }
    (bad, cut)
}

/// Transport header octet: FIN(7) FIR(6) sequence(5..0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportHeader(pub u8);

impl TransportHeader {
    pub fn fin(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub fn fir(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub fn seq(self) -> u8 {
        self.0 & 0x3f
    }
}

/// Application control octet: FIR(7) FIN(6) CON(5) UNS(4) SEQ(3..0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AppControl(pub u8);

impl AppControl {
    pub fn fir(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub fn fin(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub fn con(self) -> bool {
        self.0 & 0x20 != 0
    }
    pub fn uns(self) -> bool {
        self.0 & 0x10 != 0
    }
    pub fn seq(self) -> u8 {
        self.0 & 0x0f
    }
}

/// Application header of one fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppHeader {
    pub control: AppControl,
    pub function: u8,
    /// Internal indications (IIN1 << 8 | IIN2), responses only.
    pub iin: Option<u16>,
}

/// True for the response function codes (129, 130, 131), which carry IIN.
pub fn is_response_function(fc: u8) -> bool {
    matches!(fc, 0x81..=0x83)
}

/// Parse the application header; returns it and the object octets.
pub fn parse_app_header(frag: &[u8]) -> Result<(AppHeader, &[u8]), Dnp3Error> {
    let [control, function, rest @ ..] = frag else {
        return Err(Dnp3Error::Truncated);
    };
    if is_response_function(*function) {
        let [i1, i2, objs @ ..] = rest else {
            return Err(Dnp3Error::Truncated);
        };
        Ok((
            AppHeader {
                control: AppControl(*control),
                function: *function,
                iin: Some(u16::from_be_bytes([*i1, *i2])),
            },
            objs,
        ))
    } else {
        Ok((
            AppHeader {
                control: AppControl(*control),
                function: *function,
                iin: None,
            },
            rest,
        ))
    }
}

// ---------------------------------------------------------------------
// Object descriptions (the table lives in objects.rs).

/// Fixed-size field types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    U8,
    U16,
    U24,
    U32,
    I16,
    I32,
    F32,
    F64,
    /// DNP3 absolute time: 48-bit milliseconds since 1970.
    Time,
}

impl Ty {
    fn size(self) -> usize {
        match self {
            Ty::U8 => 1,
            Ty::U16 | Ty::I16 => 2,
            Ty::U24 => 3,
            Ty::U32 | Ty::I32 | Ty::F32 => 4,
            Ty::Time => 6,
            Ty::F64 => 8,
        }
    }
}

/// Where the length of a variable field comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// An earlier numeric field of the same point (index into `fields`).
    Field(u8),
    /// The object's size prefix minus the octets already read.
    Prefix,
}

/// Prefix requirement of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    None,
    /// Prefix code 4, 5 or 6 (object size).
    SizePrefix,
    /// Exactly this prefix code.
    PrefixCode(u8),
}

/// One field of an object's point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// A little-endian number.
    Num(&'static str, Ty),
    /// One octet split into bit fields, least significant first.
    Bits(&'static [(&'static str, u8)]),
    /// Text of variable length; the octet count must stay below the
    /// third value when it comes from the prefix.
    Chars(&'static str, Len, u32),
    /// Octets of variable length (logged base64; the name is the EVE key).
    Bytes(&'static str, Len),
    /// Four characters (logged as a C string; the name is the EVE key).
    Vstr4(&'static str),
}

/// Layout of one group/variation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObjDesc {
    pub group: u8,
    pub variation: u8,
    /// Bits per point for packed objects (1 or 2); 0 when not packed.
    pub packed: u8,
    pub need: Need,
    pub fields: &'static [Field],
}

/// Look up a group/variation.
pub fn object_desc(group: u8, variation: u8) -> Option<&'static ObjDesc> {
    let t = super::objects::OBJECTS;
    t.binary_search_by(|d| (d.group, d.variation).cmp(&(group, variation)))
        .ok()
        .and_then(|i| t.get(i))
}

/// A decoded field value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val<'a> {
    U(u64),
    I(i64),
    F(f64),
    /// Text (logged as a string, non-UTF-8 octets escaped).
    Text(&'a [u8]),
    /// Octets logged base64.
    Octets(&'a [u8]),
    /// NUL-terminated text in a fixed field.
    CStr(&'a [u8]),
}

impl Val<'_> {
    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Val::U(v) => Some(v as f64),
            Val::I(v) => Some(v as f64),
            Val::F(v) => Some(v),
            _ => None,
        }
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// Walk the fields of one (non-packed) point starting at `data`, calling
/// `visit` with each logged name and value. `prefix` is the point's
/// prefix value (needed for [`Len::Prefix`]). Returns the octets used, or
/// None when the point is malformed or cut short.
pub fn walk_point<'a>(
    desc: &ObjDesc,
    data: &'a [u8],
    prefix: u32,
    mut visit: impl FnMut(&'static str, Val<'a>),
) -> Option<usize> {
    let mut pos = 0usize;
    let mut nums = [0u64; 16];
    for (i, f) in desc.fields.iter().enumerate() {
        match *f {
            Field::Num(name, ty) => {
                let b = data.get(pos..pos + ty.size())?;
                pos += ty.size();
                let raw = le(b);
                if let Some(slot) = nums.get_mut(i) {
                    *slot = raw;
                }
                let v = match ty {
                    Ty::I16 => Val::I(i64::from(raw as u16 as i16)),
                    Ty::I32 => Val::I(i64::from(raw as u32 as i32)),
                    Ty::F32 => Val::F(f64::from(f32::from_bits(raw as u32))),
                    Ty::F64 => Val::F(f64::from_bits(raw)),
                    _ => Val::U(raw),
                };
                visit(name, v);
            }
            Field::Bits(bits) => {
                let octet = *data.get(pos)?;
                pos += 1;
                let mut shift = 0u8;
                for &(name, width) in bits {
                    let mask = (1u16 << width) - 1;
                    let v = (u16::from(octet) >> shift) & mask;
                    visit(name, Val::U(u64::from(v)));
                    shift += width;
                }
            }
            Field::Chars(name, len, max) => {
                let n = var_len(len, &nums, prefix, pos)?;
                if matches!(len, Len::Prefix) && n >= max as usize {
                    return None;
                }
                let b = data.get(pos..pos.checked_add(n)?)?;
                pos += n;
                visit(name, Val::Text(b));
            }
            Field::Bytes(name, len) => {
                let n = var_len(len, &nums, prefix, pos)?;
                let b = data.get(pos..pos.checked_add(n)?)?;
                pos += n;
                visit(name, Val::Octets(b));
            }
            Field::Vstr4(name) => {
                let b = data.get(pos..pos + 4)?;
                pos += 4;
                let end = b.iter().position(|&c| c == 0).unwrap_or(4);
                visit(name, Val::CStr(&b[..end]));
            }
        }
    }
    Some(pos)
}

fn var_len(len: Len, nums: &[u64; 16], prefix: u32, pos: usize) -> Option<usize> {
    match len {
        Len::Field(i) => usize::try_from(*nums.get(usize::from(i))?).ok(),
        Len::Prefix => (prefix as usize).checked_sub(pos),
    }
}

// ---------------------------------------------------------------------
// Object headers and points.

/// Object header as logged (IEEE 1815-2012 §4.2.2.7, Table 4-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ObjectHeader {
    pub group: u8,
    pub variation: u8,
    pub qualifier: u8,
    pub start: u32,
    pub stop: u32,
    /// Point count: stop - start + 1 (wrapping, as Suricata logs it) for
    /// ranges, the count field for counts, 0 for "all" (range code 6).
    pub count: u32,
}

impl ObjectHeader {
    /// Qualifier bits 6..4: 0 none, 1/2/3 index of 1/2/4 octets, 4/5/6
    /// size of 1/2/4 octets.
    pub fn prefix_code(&self) -> u8 {
        (self.qualifier >> 4) & 0x7
    }
    /// Qualifier bits 3..0.
    pub fn range_code(&self) -> u8 {
        self.qualifier & 0xf
    }
    /// True when the prefix is the object size (codes 4-6).
    pub fn prefix_is_size(&self) -> bool {
        matches!(self.prefix_code(), 4..=6)
    }
}

/// Where a point's value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointData {
    /// Packed objects: the point's bits.
    Packed(u8),
    /// Other objects: `len` octets at `off` in the object area.
    Raw { off: u32, len: u32 },
}

/// One point (item) of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub prefix: u32,
    pub index: u32,
    pub data: PointData,
}

/// One object header with the range of its points in [`Objects::points`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Object {
    pub header: ObjectHeader,
    pub first_point: u32,
    pub num_points: u32,
}

/// Limits for [`parse_objects`].
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Object headers kept (more are still decoded).
    pub max_objects: usize,
    /// Points kept over all objects (more are still decoded).
    pub max_points: usize,
    /// Object headers decoded at all (Suricata: 2048).
    pub decode_objects: usize,
    /// Points decoded at all (Suricata: 16384).
    pub decode_points: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_objects: 64,
            max_points: 256,
            decode_objects: 2048,
            decode_points: 16384,
        }
    }
}

/// The decoded object area of one fragment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objects {
    pub objects: Vec<Object>,
    pub points: Vec<Point>,
    /// Every object header and point decoded.
    pub complete: bool,
    /// Objects or points were left out of the lists by the limits.
    pub truncated: bool,
}

fn read_uint(data: &[u8], pos: &mut usize, n: usize) -> Option<u32> {
    let b = data.get(*pos..*pos + n)?;
    *pos += n;
    Some(le(b) as u32)
}

/// Decode the objects of a fragment (`data` = octets after the
/// application header). Decoding stops at the first unknown
/// group/variation, malformed point or reserved qualifier (then
/// `complete` is false), like Suricata.
pub fn parse_objects(data: &[u8], lim: &Limits) -> Objects {
    let mut out = Objects::default();
    let mut pos = 0usize;
    let mut nobj = 0usize;
    let mut npoints = 0u64;
    let mut complete = true;
    while pos < data.len() {
        let Some(&[group, variation, qualifier]) = data.get(pos..pos + 3) else {
            complete = false;
            break;
        };
        pos += 3;
        nobj += 1;
        if nobj > lim.decode_objects {
            complete = false;
            break;
        }
        let mut h = ObjectHeader {
            group,
            variation,
            qualifier,
            ..ObjectHeader::default()
        };
        let keep = out.objects.len() < lim.max_objects;
        if !keep {
            out.truncated = true;
        }
        let ok = match h.range_code() {
            r @ 0..=5 => {
                let n = [1usize, 2, 4][usize::from(r % 3)];
                match (read_uint(data, &mut pos, n), read_uint(data, &mut pos, n)) {
                    (Some(a), Some(b)) => {
                        h.start = a;
                        h.stop = b;
                        h.count = b.wrapping_sub(a).wrapping_add(1);
                        true
                    }
                    _ => false,
                }
            }
            6 => true,
            r @ (7..=9 | 0xb) => {
                let n = match r {
                    7 | 0xb => 1,
                    8 => 2,
                    _ => 4,
                };
                match read_uint(data, &mut pos, n) {
                    Some(c) => {
                        h.count = c;
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        let slot = out.objects.len();
        if keep {
            out.objects.push(Object {
                header: h,
                first_point: out.points.len() as u32,
                num_points: 0,
            });
        }
        if !ok {
            complete = false;
            break;
        }
        if h.variation == 0 || h.count == 0 {
            continue;
        }
        npoints += u64::from(h.count);
        if npoints > lim.decode_points {
            complete = false;
            break;
        }
        let Some(desc) = object_desc(h.group, h.variation) else {
            complete = false;
            break;
        };
        let mut added = 0u32;
        let ok = decode_points(desc, &h, data, &mut pos, |p| {
            if keep && out.points.len() < lim.max_points {
                out.points.push(p);
                added += 1;
            } else {
                out.truncated = true;
            }
        });
        if let Some(o) = out.objects.get_mut(slot).filter(|_| keep) {
            o.num_points = added;
        }
        if !ok {
            complete = false;
            break;
        }
    }
    out.complete = complete;
    out
}

fn read_prefix(data: &[u8], pos: &mut usize, code: u8) -> Option<u32> {
    match code {
        1 | 4 => read_uint(data, pos, 1),
        2 | 5 => read_uint(data, pos, 2),
        3 | 6 => read_uint(data, pos, 4),
        _ => Some(0),
    }
}

/// Decode `h.count` points of `desc`; false when they do not all decode
/// (the points before the failure have been handed to `push`).
fn decode_points(
    desc: &ObjDesc,
    h: &ObjectHeader,
    data: &[u8],
    pos: &mut usize,
    mut push: impl FnMut(Point),
) -> bool {
    let pc = h.prefix_code();
    let ok_prefix = match desc.need {
        Need::None => true,
        Need::SizePrefix => h.prefix_is_size(),
        Need::PrefixCode(c) => pc == c,
    };
    if !ok_prefix {
        return false;
    }
    let index_of = |prefix: u32, i: u32| {
        if matches!(pc, 1..=3) {
            prefix
        } else {
            h.start.wrapping_add(i)
        }
    };
    if desc.packed > 0 {
        // One prefix for the whole run, then count * width bits.
        let Some(prefix) = read_prefix(data, pos, pc) else {
            return false;
        };
        let width = u64::from(desc.packed);
        let nbytes = (u64::from(h.count) * width).div_ceil(8);
        let Some(bytes) = usize::try_from(nbytes)
            .ok()
            .and_then(|n| data.get(*pos..pos.checked_add(n)?))
        else {
            return false;
        };
        *pos += bytes.len();
        let per = 8 / u32::from(desc.packed);
        let mask = (1u8 << desc.packed) - 1;
        for i in 0..h.count {
            let Some(&octet) = bytes.get((i / per) as usize) else {
                return false;
            };
            let shift = (i % per) * u32::from(desc.packed);
            push(Point {
                prefix,
                index: index_of(prefix, i),
                data: PointData::Packed((octet >> shift) & mask),
            });
        }
        return true;
    }
    for i in 0..h.count {
        let Some(prefix) = read_prefix(data, pos, pc) else {
            return false;
        };
        let Some(rest) = data.get(*pos..) else {
            return false;
        };
        let Some(n) = walk_point(desc, rest, prefix, |_, _| {}) else {
            return false;
        };
        push(Point {
            prefix,
            index: index_of(prefix, i),
            data: PointData::Raw {
                off: *pos as u32,
                len: n as u32,
            },
        });
        *pos += n;
    }
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build a link frame (header + CRC'd user data blocks).
    pub fn frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
        assert!(user.len() <= 250);
        let mut h = vec![0x05, 0x64, (5 + user.len()) as u8, control];
        h.extend_from_slice(&dst.to_le_bytes());
        h.extend_from_slice(&src.to_le_bytes());
        let c = crc16(&h);
        h.extend_from_slice(&c.to_le_bytes());
        for b in user.chunks(16) {
            h.extend_from_slice(b);
            h.extend_from_slice(&crc16(b).to_le_bytes());
        }
        h
    }

    #[test]
    fn crc_known_values() {
        // CRC-16/DNP check value for "123456789".
        assert_eq!(crc16(b"123456789"), 0xEA82);
        // Real header: 05 64 05 c0 01 00 00 04 e9 21 (link status req).
        assert!(block_crc_ok(&[
            0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21
        ]));
    }

    #[test]
    fn frame_lengths() {
        assert_eq!(frame_len(4), None);
        assert_eq!(frame_len(5), Some(10));
        assert_eq!(frame_len(6), Some(13));
        assert_eq!(frame_len(21), Some(28));
        assert_eq!(frame_len(22), Some(31));
        assert_eq!(frame_len(255), Some(MAX_FRAME));
    }

    #[test]
    fn link_header_fields() {
        let f = frame(0xc4, 10, 1, &[0xc0, 0xc0, 0x01, 0x3c, 0x02, 0x06]);
        let h = parse_link_header(&f).expect("header");
        assert_eq!((h.len, h.dst, h.src), (11, 10, 1));
        assert!(h.dir() && h.prm() && !h.fcb() && !h.fcv());
        assert_eq!(h.function(), 4);
        assert_eq!(link_frame(&f, false), Frame::Len(f.len()));
        assert_eq!(link_frame(&f[..5], false), Frame::Need);
        let mut bad = f.clone();
        bad[8] ^= 1;
        assert_eq!(parse_link_header(&bad), Err(Dnp3Error::BadHeaderCrc));
        assert_eq!(link_frame(&bad, false), Frame::Skip(1));
        assert_eq!(link_frame(b"xx\x05\x64", false), Frame::Skip(2));
        assert_eq!(link_frame(b"xyz\x05", false), Frame::Skip(3));
        assert_eq!(link_frame(b"xyz", false), Frame::Skip(3));
    }

    #[test]
    fn strip_crcs_counts_bad_blocks() {
        let user: Vec<u8> = (0u8..40).collect();
        let f = frame(0x44, 1, 2, &user);
        let mut out = Vec::new();
        assert_eq!(strip_crcs(&f[10..], &mut out, 4096), (0, false));
        assert_eq!(out, user);
        let mut g = f.clone();
        g[12] ^= 0xff; // inside the first block
        out.clear();
        assert_eq!(strip_crcs(&g[10..], &mut out, 4096).0, 1);
        out.clear();
        assert_eq!(strip_crcs(&f[10..], &mut out, 10), (0, true));
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn object_headers_and_points() {
        // g60v2..v4 class reads, qualifier 0x06 (all).
        let o = parse_objects(
            &[0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06],
            &Limits::default(),
        );
        assert!(o.complete);
        assert_eq!(o.objects.len(), 3);
        assert_eq!(o.objects[1].header.variation, 3);
        assert_eq!(o.objects[1].header.range_code(), 6);
        // g12v1 CROB, qualifier 0x28 (2-octet index prefix, 2-octet count).
        let crob = [
            0x0c, 0x01, 0x28, // group 12 var 1, qualifier 0x28
            0x01, 0x00, // count 1
            0x05, 0x00, // index 5
            0x41, 0x01, // control code (close, pulse on), count 1
            0xe8, 0x03, 0, 0, // on time 1000
            0, 0, 0, 0,    // off time 0
            0x00, // status
        ];
        let o = parse_objects(&crob, &Limits::default());
        assert!(o.complete);
        let h = o.objects[0].header;
        assert_eq!((h.prefix_code(), h.range_code(), h.count), (2, 8, 1));
        assert_eq!(o.points[0].index, 5);
        let desc = object_desc(12, 1).expect("g12v1");
        let PointData::Raw { off, len } = o.points[0].data else {
            panic!("raw")
        };
        assert_eq!(len, 11);
        let mut seen = Vec::new();
        walk_point(desc, &crob[off as usize..], 5, |n, v| seen.push((n, v)));
        assert!(seen.contains(&("op_type", Val::U(1))));
        assert!(seen.contains(&("tcc", Val::U(1))));
        assert!(seen.contains(&("ontime", Val::U(1000))));
        // Packed g1v1, 10 points from index 3, range 0x00.
        let o = parse_objects(&[1, 1, 0, 3, 12, 0b1010_0101, 0b11], &Limits::default());
        assert!(o.complete);
        assert_eq!(o.points.len(), 10);
        assert_eq!(
            o.points[0],
            Point {
                prefix: 0,
                index: 3,
                data: PointData::Packed(1)
            }
        );
        assert_eq!(o.points[9].data, PointData::Packed(1));
        // Unknown object stops decoding.
        let o = parse_objects(&[200, 1, 0x00, 0, 0, 1], &Limits::default());
        assert!(!o.complete);
        assert_eq!(o.objects.len(), 1);
        // Reserved range code: object kept, incomplete.
        let o = parse_objects(&[1, 2, 0x0a, 9], &Limits::default());
        assert!(!o.complete);
        assert_eq!(o.objects.len(), 1);
        // Inverted range wraps, exceeds the point limit.
        let o = parse_objects(&[30, 1, 0x00, 5, 3], &Limits::default());
        assert!(!o.complete);
        assert_eq!(o.objects[0].header.count, u32::MAX);
    }

    #[test]
    fn limits_truncate_but_keep_decoding() {
        let mut d = Vec::new();
        for _ in 0..5 {
            d.extend_from_slice(&[0x3c, 0x01, 0x06]);
        }
        let lim = Limits {
            max_objects: 2,
            ..Limits::default()
        };
        let o = parse_objects(&d, &lim);
        assert!(o.complete && o.truncated);
        assert_eq!(o.objects.len(), 2);
    }

    #[test]
    fn table_is_sorted_and_indices_valid() {
        let t = super::super::objects::OBJECTS;
        for w in t.windows(2) {
            assert!((w[0].group, w[0].variation) < (w[1].group, w[1].variation));
        }
        for d in t {
            assert!(d.fields.len() <= 16);
            for f in d.fields {
                if let Field::Chars(_, Len::Field(i), _) | Field::Bytes(_, Len::Field(i)) = f {
                    assert!(matches!(d.fields[usize::from(*i)], Field::Num(..)));
                }
            }
        }
        assert!(object_desc(12, 1).is_some());
        assert!(object_desc(70, 3).is_some());
        assert!(object_desc(99, 9).is_none());
    }
}
