//! Zero-copy ASN.1 BER reader (ITU-T X.690 §8.1), shared by the MMS
//! (ISO 9506 over the OSI upper layers) and GOOSE (IEC 61850-8-1) decoders.
//!
//! * Identifier octets (X.690 §8.1.2): class in bits 8-7, primitive /
//!   constructed in bit 6, tag number in bits 5-1; number 31 selects the
//!   high-tag-number form (base-128 subsequent octets, bit 8 = more). Tag
//!   numbers are limited to 28 bits (4 subsequent octets).
//! * Length octets (§8.1.3): short form, long form with up to 4 length
//!   octets, and the indefinite form (0x80) for constructed encodings only.
//!   The end of an indefinite encoding is found by walking its nested TLVs
//!   to the end-of-contents octets `00 00`, at most [`MAX_DEPTH`] levels of
//!   nested indefinite encodings deep (the OSI presentation layer of some
//!   stacks uses it; MMS and GOOSE PDUs themselves are definite).
//! * Nothing is copied: a [`Tlv`] borrows its value from the input. A
//!   declared length larger than the input is [`BerError::Truncated`]; no
//!   length field ever drives an allocation.

use std::fmt::Write as _;

/// Deepest nesting of indefinite-length encodings accepted.
pub const MAX_DEPTH: usize = 16;

/// Tag class (X.690 §8.1.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// Why a TLV could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BerError {
    /// The input ends inside the TLV.
    Truncated,
    /// High-tag-number form longer than 4 octets.
    BadTag,
    /// Reserved length octet 0xff, more than 4 length octets, or the
    /// indefinite form on a primitive encoding.
    BadLength,
    /// Indefinite-length encodings nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// One decoded tag-length-value, borrowing its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub tag: u32,
    /// Contents octets (for the indefinite form: without the end-of-contents).
    pub value: &'a [u8],
    /// Length of the whole encoding: identifier, length, contents (and
    /// end-of-contents octets for the indefinite form).
    pub len: usize,
}

/// Read the TLV at the start of `data`; returns it and the bytes after it.
pub fn read(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let tlv = read_at(data, 0)?;
    let rest = data.get(tlv.len..).ok_or(BerError::Truncated)?;
    Ok((tlv, rest))
}

/// Read exactly one TLV that must fill `data` (trailing bytes are ignored
/// but the TLV must be complete).
pub fn read_one(data: &[u8]) -> Result<Tlv<'_>, BerError> {
    read_at(data, 0)
}

fn read_at(data: &[u8], depth: usize) -> Result<Tlv<'_>, BerError> {
    let b0 = *data.first().ok_or(BerError::Truncated)?;
    let class = match b0 >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = b0 & 0x20 != 0;
    let mut pos = 1usize;
    let mut tag = u32::from(b0 & 0x1f);
    if tag == 0x1f {
        tag = 0;
        let mut n = 0;
        loop {
            let b = *data.get(pos).ok_or(BerError::Truncated)?;
            pos += 1;
            n += 1;
            if n > 4 {
                return Err(BerError::BadTag);
            }
            tag = (tag << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l0 = *data.get(pos).ok_or(BerError::Truncated)?;
    pos += 1;
    let len = match l0 {
        0..=0x7f => usize::from(l0),
        0x80 => {
            if !constructed {
                return Err(BerError::BadLength);
            }
            if depth >= MAX_DEPTH {
                return Err(BerError::TooDeep);
            }
            let start = pos;
            loop {
                let rest = data.get(pos..).ok_or(BerError::Truncated)?;
                match rest {
                    [0, 0, ..] => {
                        return Ok(Tlv {
                            class,
                            constructed,
                            tag,
                            value: &data[start..pos],
                            len: pos + 2,
                        });
                    }
                    [] => return Err(BerError::Truncated),
                    _ => {
                        let inner = read_at(rest, depth + 1)?;
                        pos += inner.len;
                    }
                }
            }
        }
        0xff => return Err(BerError::BadLength),
        _ => {
            let n = usize::from(l0 & 0x7f);
            if n > 4 {
                return Err(BerError::BadLength);
            }
            let octets = data.get(pos..pos + n).ok_or(BerError::Truncated)?;
            pos += n;
            octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
    };
    let end = pos.checked_add(len).ok_or(BerError::BadLength)?;
    let value = data.get(pos..end).ok_or(BerError::Truncated)?;
    Ok(Tlv {
        class,
        constructed,
        tag,
        value,
        len: end,
    })
}

impl<'a> Tlv<'a> {
    /// Same class and tag number.
    pub fn is(&self, class: Class, tag: u32) -> bool {
        self.class == class && self.tag == tag
    }

    /// Context-specific tag `[n]`.
    pub fn ctx(&self, n: u32) -> bool {
        self.is(Class::Context, n)
    }

    /// The TLVs inside this one's contents.
    pub fn children(&self) -> Tlvs<'a> {
        Tlvs::new(self.value)
    }

    /// First child with this context-specific tag.
    pub fn child_ctx(&self, n: u32) -> Option<Tlv<'a>> {
        self.children().find(|t| t.ctx(n))
    }

    /// First child, whatever its tag (for EXPLICIT tags and CHOICEs).
    pub fn first(&self) -> Option<Tlv<'a>> {
        self.children().next()
    }

    /// INTEGER contents as a signed value (X.690 §8.3); `None` when empty
    /// or wider than 64 bits after dropping redundant leading octets.
    pub fn int(&self) -> Option<i64> {
        int(self.value)
    }

    /// Non-negative INTEGER contents.
    pub fn uint(&self) -> Option<u64> {
        uint(self.value)
    }

    /// Non-negative INTEGER that fits in 32 bits.
    pub fn u32(&self) -> Option<u32> {
        self.uint().and_then(|v| u32::try_from(v).ok())
    }

    /// BOOLEAN contents (one octet, non-zero = true).
    pub fn boolean(&self) -> Option<bool> {
        match self.value {
            [b] => Some(*b != 0),
            _ => None,
        }
    }

    /// Character-string contents as text, at most `max` bytes (see [`text`]).
    pub fn text(&self, max: usize) -> String {
        text(self.value, max)
    }

    /// OBJECT IDENTIFIER contents in dotted form.
    pub fn oid(&self) -> Option<String> {
        oid(self.value)
    }
}

/// Iterator over consecutive TLVs of a contents octet string. Stops at the
/// end or at the first undecodable TLV (then [`Tlvs::error`] is set).
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
    /// Why iteration stopped early, if it did.
    pub error: Option<BerError>,
}

impl<'a> Tlvs<'a> {
    pub fn new(data: &'a [u8]) -> Tlvs<'a> {
        Tlvs {
            rest: data,
            error: None,
        }
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() || self.error.is_some() {
            return None;
        }
        match read(self.rest) {
            Ok((t, rest)) => {
                self.rest = rest;
                Some(t)
            }
            Err(e) => {
                self.error = Some(e);
                self.rest = &[];
                None
            }
        }
    }
}

/// Two's-complement big-endian integer.
pub fn int(v: &[u8]) -> Option<i64> {
    let first = *v.first()?;
    let mut v = v;
    // Drop redundant sign octets beyond 8.
    while v.len() > 8 {
        let (a, b) = (v[0], v[1]);
        if (a == 0 && b & 0x80 == 0) || (a == 0xff && b & 0x80 != 0) {
            v = &v[1..];
        } else {
            return None;
        }
    }
    let init: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    Some(v.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

/// Unsigned big-endian integer of an INTEGER encoding (a leading 0x00
/// octet allowed); `None` for negative values.
pub fn uint(v: &[u8]) -> Option<u64> {
    let first = *v.first()?;
    if first & 0x80 != 0 {
        return None;
    }
    let mut v = v;
    while v.len() > 8 && v[0] == 0 {
        v = &v[1..];
    }
    if v.len() > 8 {
        return None;
    }
    Some(v.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Bytes as text, at most `max` bytes: UTF-8 kept, other bytes written as
/// `\xNN`. Cut on a character boundary.
pub fn text(v: &[u8], max: usize) -> String {
    let v = &v[..v.len().min(max)];
    match std::str::from_utf8(v) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut s = String::with_capacity(v.len() + 8);
            for chunk in v.utf8_chunks() {
                s.push_str(chunk.valid());
                for b in chunk.invalid() {
                    crate::proto::common::push_x(&mut s, *b);
                }
            }
            s
        }
    }
}

/// Lower-case hex of at most `max` bytes.
pub fn hex(v: &[u8], max: usize) -> String {
    let v = &v[..v.len().min(max)];
    let mut s = String::with_capacity(v.len() * 2);
    for b in v {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// OBJECT IDENTIFIER contents (X.690 §8.19) in dotted form; `None` when
/// malformed. At most 32 arcs.
pub fn oid(v: &[u8]) -> Option<String> {
    if v.is_empty() || v.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut s = String::with_capacity(v.len() * 3);
    let mut acc: u64 = 0;
    let mut arcs = 0;
    for &b in v {
        if acc > (u64::MAX >> 8) {
            return None;
        }
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs == 0 {
                let (x, y) = match acc {
                    0..=39 => (0, acc),
                    40..=79 => (1, acc - 40),
                    _ => (2, acc - 80),
                };
                let _ = write!(s, "{x}.{y}");
            } else {
                let _ = write!(s, ".{acc}");
            }
            arcs += 1;
            if arcs > 32 {
                return None;
            }
            acc = 0;
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        // [0] constructed, short length 3: INTEGER 1 inside.
        let (t, rest) = read(&[0xa0, 0x03, 0x02, 0x01, 0x05, 0xff]).expect("tlv");
        assert!(t.ctx(0) && t.constructed);
        assert_eq!(t.len, 5);
        assert_eq!(rest, &[0xff]);
        let i = t.first().expect("child");
        assert!(i.is(Class::Universal, 2));
        assert_eq!(i.int(), Some(5));
        // Long form: 0x81 0x80 = 128 bytes.
        let mut v = vec![0x04, 0x81, 0x80];
        v.extend([7u8; 128]);
        let t = read_one(&v).expect("tlv");
        assert_eq!(t.value.len(), 128);
        assert_eq!(t.len, 131);
        // Two length octets.
        let mut v = vec![0x04, 0x82, 0x01, 0x00];
        v.extend([0u8; 256]);
        assert_eq!(read_one(&v).expect("tlv").value.len(), 256);
        // Truncated.
        assert_eq!(read_one(&v[..100]), Err(BerError::Truncated));
        assert_eq!(
            read_one(&[0x04, 0x85, 1, 1, 1, 1, 1]),
            Err(BerError::BadLength)
        );
        assert_eq!(read_one(&[0x04, 0xff]), Err(BerError::BadLength));
        assert_eq!(read_one(&[]), Err(BerError::Truncated));
        assert_eq!(read_one(&[0x04]), Err(BerError::Truncated));
    }

    #[test]
    fn multi_byte_tags() {
        // [39] primitive (MMS deleteProgramInvocation): 9f 27.
        let t = read_one(&[0x9f, 0x27, 0x01, b'x']).expect("tlv");
        assert!(t.ctx(39) && !t.constructed);
        // [72] constructed (MMS fileOpen): bf 48.
        let t = read_one(&[0xbf, 0x48, 0x00]).expect("tlv");
        assert!(t.ctx(72) && t.constructed);
        // [200] needs two subsequent octets: 0x81 0x48.
        let t = read_one(&[0x9f, 0x81, 0x48, 0x00]).expect("tlv");
        assert_eq!(t.tag, 200);
        // Application class, [APPLICATION 1] (GOOSE PDU).
        let t = read_one(&[0x61, 0x00]).expect("tlv");
        assert!(t.is(Class::Application, 1));
        assert_eq!(read_one(&[0x9f, 0x81]), Err(BerError::Truncated));
        assert_eq!(
            read_one(&[0x9f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00]),
            Err(BerError::BadTag)
        );
    }

    #[test]
    fn indefinite_length() {
        // SEQUENCE (indefinite) { INTEGER 1, [0] (indefinite) { NULL } } EOC
        let v = [
            0x30, 0x80, 0x02, 0x01, 0x01, 0xa0, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99,
        ];
        let (t, rest) = read(&v).expect("tlv");
        assert_eq!(t.len, 13);
        assert_eq!(rest, &[0x99]);
        let kids: Vec<_> = t.children().collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1].first().map(|n| n.tag), Some(5));
        // Primitive indefinite is invalid; missing EOC is truncated.
        assert_eq!(read_one(&[0x04, 0x80, 0, 0]), Err(BerError::BadLength));
        assert_eq!(
            read_one(&[0x30, 0x80, 0x05, 0x00]),
            Err(BerError::Truncated)
        );
        // Depth bound.
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend([0x30, 0x80]);
        }
        for _ in 0..40 {
            deep.extend([0, 0]);
        }
        assert_eq!(read_one(&deep), Err(BerError::TooDeep));
    }

    #[test]
    fn values() {
        assert_eq!(int(&[0xff]), Some(-1));
        assert_eq!(int(&[0x00, 0x80]), Some(128));
        assert_eq!(int(&[0x04, 0xa2, 0x73]), Some(303731));
        assert_eq!(int(&[]), None);
        assert_eq!(int(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), Some(1));
        assert_eq!(int(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(uint(&[0x00, 0xff, 0xff, 0xff, 0xff]), Some(0xffff_ffff));
        assert_eq!(uint(&[0x80]), None);
        assert_eq!(
            oid(&[0x28, 0xca, 0x22, 0x02, 0x01]).as_deref(),
            Some("1.0.9506.2.1")
        );
        assert_eq!(oid(&[0x51, 0x01]).as_deref(), Some("2.1.1"));
        assert_eq!(
            oid(&[0x2b, 0xce, 0x0f, 0x02]).as_deref(),
            Some("1.3.9999.2")
        );
        assert_eq!(oid(&[0x2b, 0x81]), None);
        assert_eq!(text(b"ab\xffc", 10), "ab\\xffc");
        assert_eq!(text(b"abcdef", 3), "abc");
        assert_eq!(hex(&[1, 0xab], 8), "01ab");
    }

    #[test]
    fn iterator_stops_on_error() {
        let mut it = Tlvs::new(&[0x02, 0x01, 0x01, 0x02, 0x05, 0x01]);
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert_eq!(it.error, Some(BerError::Truncated));
    }
}
