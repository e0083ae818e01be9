//! Pure DNS wire-format parser: bytes → [`DnsMessage`].
//!
//! No I/O, no allocation beyond the returned message, no panics on any
//! input. All reads are bounds-checked through [`Reader`]-style helpers
//! that return [`DnsError::Truncated`] instead of indexing.

use std::fmt;

/// Size of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Maximum presentation length of a decoded name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Maximum number of compression pointers followed for one name.
pub const MAX_JUMPS: usize = 128;
/// Maximum number of entries kept per section; further entries are
/// parsed (to find the following sections) but dropped.
pub const MAX_RECORDS_PER_SECTION: usize = 256;

/// Why a DNS message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The message ended before a field was complete.
    Truncated,
    /// A label length byte used the reserved `01`/`10` prefixes.
    BadLabel,
    /// A compression pointer did not point strictly backwards (before the
    /// start of the label sequence it was found in). Catches loops.
    ForwardPointer,
    /// More than [`MAX_JUMPS`] compression pointers in one name.
    TooManyJumps,
    /// A decoded name exceeded [`MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// An rdata field (e.g. a name inside rdata) ran past its rdlength.
    BadRdata,
    /// Header counts are implausible for the message size, or a query has
    /// no question.
    InvalidHeader,
    /// A message with QR=1 was seen in the to-server direction.
    NotRequest,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DnsError::Truncated => "truncated message",
            DnsError::BadLabel => "invalid label type",
            DnsError::ForwardPointer => "compression pointer does not point backwards",
            DnsError::TooManyJumps => "too many compression pointers",
            DnsError::NameTooLong => "name too long",
            DnsError::BadRdata => "malformed rdata",
            DnsError::InvalidHeader => "implausible header",
            DnsError::NotRequest => "response seen in request direction",
        };
        f.write_str(s)
    }
}

impl std::error::Error for DnsError {}

/// The fixed 12-byte DNS header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DnsHeader {
    /// Wire transaction ID.
    pub id: u16,
    /// Raw flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Number of questions.
    pub qdcount: u16,
    /// Number of answer records.
    pub ancount: u16,
    /// Number of authority records.
    pub nscount: u16,
    /// Number of additional records.
    pub arcount: u16,
}

impl DnsHeader {
    /// QR bit: true for responses.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// 4-bit opcode.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// 4-bit header rcode (extended rcode from OPT is not folded in).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
    /// Total record count over all four sections.
    pub fn record_count(&self) -> usize {
        self.qdcount as usize
            + self.ancount as usize
            + self.nscount as usize
            + self.arcount as usize
    }
    /// Suricata-style plausibility check of the header against the
    /// message length `len` (each record needs at least 2 bytes, an empty
    /// message is exactly 12 bytes, a query carries a question).
    pub fn plausible(&self, len: usize) -> bool {
        let n = self.record_count();
        if 2 * n > len {
            return false;
        }
        if n == 0 && len > HEADER_LEN {
            return false;
        }
        if !self.qr() && self.qdcount == 0 {
            return false;
        }
        true
    }
}

/// One question entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuestion {
    /// Decoded name, labels joined by `.`, raw bytes (may be non-UTF-8).
    pub name: Vec<u8>,
    /// QTYPE.
    pub rrtype: u16,
    /// QCLASS.
    pub rrclass: u16,
}

/// SOA rdata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoaData {
    /// Primary name server.
    pub mname: Vec<u8>,
    /// Responsible mailbox.
    pub rname: Vec<u8>,
    /// Zone serial.
    pub serial: u32,
    /// Refresh interval.
    pub refresh: u32,
    /// Retry interval.
    pub retry: u32,
    /// Expire limit.
    pub expire: u32,
    /// Negative-caching TTL.
    pub minimum: u32,
}

/// SRV rdata (RFC 2782).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvData {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host.
    pub target: Vec<u8>,
}

/// Decoded rdata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// IPv4 address (exactly 4 bytes).
    A([u8; 4]),
    /// IPv6 address (exactly 16 bytes).
    Aaaa([u8; 16]),
    /// CNAME target.
    Cname(Vec<u8>),
    /// NS host.
    Ns(Vec<u8>),
    /// PTR target.
    Ptr(Vec<u8>),
    /// MX preference and exchange.
    Mx {
        /// Preference (lower is preferred).
        preference: u16,
        /// Exchange host.
        exchange: Vec<u8>,
    },
    /// TXT character-strings, in order.
    Txt(Vec<Vec<u8>>),
    /// SOA fields.
    Soa(SoaData),
    /// SRV fields.
    Srv(SrvData),
    /// NULL record payload.
    Null(Vec<u8>),
    /// SSHFP fields.
    Sshfp {
        /// Key algorithm.
        algo: u8,
        /// Fingerprint type.
        fp_type: u8,
        /// Fingerprint bytes.
        fingerprint: Vec<u8>,
    },
    /// EDNS0 OPT options as (code, data).
    Opt(Vec<(u16, Vec<u8>)>),
    /// Any other type: raw bytes.
    Unknown(Vec<u8>),
    /// A known type whose rdata did not have the expected shape (e.g. an
    /// A record of 5 bytes); raw bytes kept.
    Malformed(Vec<u8>),
}

/// One resource record (answer, authority or additional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name.
    pub name: Vec<u8>,
    /// TYPE.
    pub rrtype: u16,
    /// CLASS (for OPT: UDP payload size).
    pub rrclass: u16,
    /// TTL (for OPT: extended rcode/flags).
    pub ttl: u32,
    /// Decoded rdata.
    pub rdata: RData,
}

/// A complete parsed DNS message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DnsMessage {
    /// Header.
    pub header: DnsHeader,
    /// Question section (at most [`MAX_RECORDS_PER_SECTION`] kept).
    pub questions: Vec<DnsQuestion>,
    /// Answer section.
    pub answers: Vec<DnsRecord>,
    /// Authority section (empty if it failed to parse).
    pub authorities: Vec<DnsRecord>,
    /// Additional section (empty if it failed to parse).
    pub additionals: Vec<DnsRecord>,
    /// The authority section was malformed and dropped (additionals too).
    pub invalid_authorities: bool,
    /// The additional section was malformed and dropped.
    pub invalid_additionals: bool,
}

/// Well-known record type numbers.
pub mod rrtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// NULL.
    pub const NULL: u16 = 10;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS0 pseudo-record.
    pub const OPT: u16 = 41;
    /// SSH fingerprint.
    pub const SSHFP: u16 = 44;
}

fn get_u16(buf: &[u8], pos: usize) -> Result<u16, DnsError> {
    match buf.get(pos..pos.saturating_add(2)) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(DnsError::Truncated),
    }
}

fn get_u32(buf: &[u8], pos: usize) -> Result<u32, DnsError> {
    match buf.get(pos..pos.saturating_add(4)) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DnsError::Truncated),
    }
}

/// Parse the 12-byte header at the start of `buf`.
pub fn parse_header(buf: &[u8]) -> Result<DnsHeader, DnsError> {
    if buf.len() < HEADER_LEN {
        return Err(DnsError::Truncated);
    }
    Ok(DnsHeader {
        id: get_u16(buf, 0)?,
        flags: get_u16(buf, 2)?,
        qdcount: get_u16(buf, 4)?,
        ancount: get_u16(buf, 6)?,
        nscount: get_u16(buf, 8)?,
        arcount: get_u16(buf, 10)?,
    })
}

/// Decode a (possibly compressed) name starting at `start` in `msg`.
///
/// Returns the name and the offset just past the name's in-place
/// encoding (after the first pointer if one was followed).
///
/// Loop protection: every pointer must target an offset strictly below
/// the start of the label run it terminates, so offsets strictly
/// decrease and the walk always terminates; additionally at most
/// [`MAX_JUMPS`] pointers and [`MAX_NAME_LEN`] bytes of output.
pub fn parse_name(msg: &[u8], start: usize) -> Result<(Vec<u8>, usize), DnsError> {
    let mut name = Vec::new();
    let mut pos = start;
    let mut run_start = start;
    let mut resume: Option<usize> = None;
    let mut jumps = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    pos += 1;
                    break;
                }
                let l = len as usize;
                let label = msg.get(pos + 1..pos + 1 + l).ok_or(DnsError::Truncated)?;
                if !name.is_empty() {
                    name.push(b'.');
                }
                name.extend_from_slice(label);
                if name.len() > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                let target = (((len & 0x3f) as usize) << 8) | lo as usize;
                if target >= run_start {
                    return Err(DnsError::ForwardPointer);
                }
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err(DnsError::TooManyJumps);
                }
                if resume.is_none() {
                    resume = Some(pos + 2);
                }
                run_start = target;
                pos = target;
            }
            _ => return Err(DnsError::BadLabel),
        }
    }
    Ok((name, resume.unwrap_or(pos)))
}

/// Parse a name that must lie within rdata ending at `end`.
fn rdata_name(msg: &[u8], pos: usize, end: usize) -> Result<(Vec<u8>, usize), DnsError> {
    let (name, next) = parse_name(msg, pos)?;
    if next > end {
        return Err(DnsError::BadRdata);
    }
    Ok((name, next))
}

fn parse_rdata(msg: &[u8], rrtype: u16, start: usize, end: usize) -> Result<RData, DnsError> {
    let raw = msg.get(start..end).ok_or(DnsError::Truncated)?;
    let rd = match rrtype {
        rrtype::A => match <[u8; 4]>::try_from(raw) {
            Ok(a) => RData::A(a),
            Err(_) => RData::Malformed(raw.to_vec()),
        },
        rrtype::AAAA => match <[u8; 16]>::try_from(raw) {
            Ok(a) => RData::Aaaa(a),
            Err(_) => RData::Malformed(raw.to_vec()),
        },
        rrtype::CNAME => RData::Cname(rdata_name(msg, start, end)?.0),
        rrtype::NS => RData::Ns(rdata_name(msg, start, end)?.0),
        rrtype::PTR => RData::Ptr(rdata_name(msg, start, end)?.0),
        rrtype::MX => {
            if end < start + 2 {
                return Err(DnsError::BadRdata);
            }
            let preference = get_u16(msg, start)?;
            let (exchange, _) = rdata_name(msg, start + 2, end)?;
            RData::Mx {
                preference,
                exchange,
            }
        }
        rrtype::TXT => {
            let mut strings = Vec::new();
            let mut p = 0usize;
            while p < raw.len() {
                let l = raw[p] as usize;
                let s = raw.get(p + 1..p + 1 + l).ok_or(DnsError::BadRdata)?;
                strings.push(s.to_vec());
                p += 1 + l;
            }
            RData::Txt(strings)
        }
        rrtype::SOA => {
            let (mname, p) = rdata_name(msg, start, end)?;
            let (rname, p) = rdata_name(msg, p, end)?;
            if p + 20 > end {
                return Err(DnsError::BadRdata);
            }
            RData::Soa(SoaData {
                mname,
                rname,
                serial: get_u32(msg, p)?,
                refresh: get_u32(msg, p + 4)?,
                retry: get_u32(msg, p + 8)?,
                expire: get_u32(msg, p + 12)?,
                minimum: get_u32(msg, p + 16)?,
            })
        }
        rrtype::SRV => {
            if end < start + 6 {
                return Err(DnsError::BadRdata);
            }
            let (target, _) = rdata_name(msg, start + 6, end)?;
            RData::Srv(SrvData {
                priority: get_u16(msg, start)?,
                weight: get_u16(msg, start + 2)?,
                port: get_u16(msg, start + 4)?,
                target,
            })
        }
        rrtype::NULL => RData::Null(raw.to_vec()),
        rrtype::SSHFP => match raw {
            [algo, fp_type, fp @ ..] => RData::Sshfp {
                algo: *algo,
                fp_type: *fp_type,
                fingerprint: fp.to_vec(),
            },
            _ => return Err(DnsError::BadRdata),
        },
        rrtype::OPT => {
            let mut opts = Vec::new();
            let mut p = 0usize;
            while p < raw.len() {
                let code = get_u16(raw, p).map_err(|_| DnsError::BadRdata)?;
                let l = get_u16(raw, p + 2).map_err(|_| DnsError::BadRdata)? as usize;
                let d = raw.get(p + 4..p + 4 + l).ok_or(DnsError::BadRdata)?;
                opts.push((code, d.to_vec()));
                p += 4 + l;
            }
            RData::Opt(opts)
        }
        _ => RData::Unknown(raw.to_vec()),
    };
    Ok(rd)
}

fn parse_record(msg: &[u8], pos: usize) -> Result<(DnsRecord, usize), DnsError> {
    let (name, p) = parse_name(msg, pos)?;
    let rrtype = get_u16(msg, p)?;
    let rrclass = get_u16(msg, p + 2)?;
    let ttl = get_u32(msg, p + 4)?;
    let rdlen = get_u16(msg, p + 8)? as usize;
    let start = p + 10;
    let end = start + rdlen;
    if end > msg.len() {
        return Err(DnsError::Truncated);
    }
    let rdata = parse_rdata(msg, rrtype, start, end)?;
    Ok((
        DnsRecord {
            name,
            rrtype,
            rrclass,
            ttl,
            rdata,
        },
        end,
    ))
}

fn parse_section(
    msg: &[u8],
    mut pos: usize,
    count: u16,
) -> Result<(Vec<DnsRecord>, usize), DnsError> {
    let mut out = Vec::with_capacity((count as usize).min(16));
    for _ in 0..count {
        let (rec, next) = parse_record(msg, pos)?;
        if out.len() < MAX_RECORDS_PER_SECTION {
            out.push(rec);
        }
        pos = next;
    }
    Ok((out, pos))
}

/// Parse the question section; returns questions and the offset after it.
pub fn parse_questions(
    msg: &[u8],
    header: &DnsHeader,
) -> Result<(Vec<DnsQuestion>, usize), DnsError> {
    let mut pos = HEADER_LEN;
    let mut out = Vec::with_capacity((header.qdcount as usize).min(4));
    for _ in 0..header.qdcount {
        let (name, p) = parse_name(msg, pos)?;
        let rrtype = get_u16(msg, p)?;
        let rrclass = get_u16(msg, p + 2)?;
        if out.len() < MAX_RECORDS_PER_SECTION {
            out.push(DnsQuestion {
                name,
                rrtype,
                rrclass,
            });
        }
        pos = p + 4;
    }
    Ok((out, pos))
}

/// Parse a complete DNS message (one UDP payload, or one TCP message
/// without its 2-byte length prefix).
///
/// Header, questions and answers must parse; a malformed authority or
/// additional section is dropped and flagged (as Suricata does).
pub fn parse_message(buf: &[u8]) -> Result<DnsMessage, DnsError> {
    let header = parse_header(buf)?;
    let (questions, pos) = parse_questions(buf, &header)?;
    let (answers, pos) = parse_section(buf, pos, header.ancount)?;
    let mut msg = DnsMessage {
        header,
        questions,
        answers,
        ..DnsMessage::default()
    };
    match parse_section(buf, pos, header.nscount) {
        Ok((auth, pos)) => {
            msg.authorities = auth;
            match parse_section(buf, pos, header.arcount) {
                Ok((add, _)) => msg.additionals = add,
                Err(_) => msg.invalid_additionals = true,
            }
        }
        Err(_) => {
            msg.invalid_authorities = true;
            msg.invalid_additionals = header.arcount > 0;
        }
    }
    Ok(msg)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// dig query for www.suricata-ids.org A from the suricata-verify
    /// `cond-log-dns-dig` pcap (used by `dns-udp-eve-dig`), packet 1.
    pub(crate) const DIG_QUERY: &[u8] = &[
        0x8d, 0x32, // id 36146
        0x01, 0x20, // flags: RD, AD
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // qd=1 an=0 ns=0 ar=1
        // www.suricata-ids.org
        0x03, b'w', b'w', b'w', 0x0c, b's', b'u', b'r', b'i', b'c', b'a', b't', b'a', b'-', b'i',
        b'd', b's', 0x03, b'o', b'r', b'g', 0x00, //
        0x00, 0x01, 0x00, 0x01, // A IN
        // OPT: root name, type 41, class 4096, ttl 0, rdlen 0
        0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// The matching response, packet 2: CNAME + 2 A records.
    pub(crate) const DIG_RESPONSE: &[u8] = &[
        0x8d, 0x32, // id
        0x81, 0xa0, // QR RD RA AD
        0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, // qd=1 an=3
        0x03, b'w', b'w', b'w', 0x0c, b's', b'u', b'r', b'i', b'c', b'a', b't', b'a', b'-', b'i',
        b'd', b's', 0x03, b'o', b'r', b'g', 0x00, 0x00, 0x01, 0x00, 0x01, //
        // answer 1: ptr->12, CNAME IN ttl 3544 rdlen 18, uncompressed
        // "suricata-ids.org" at offset 50
        0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x0d, 0xd8, 0x00, 0x12, 0x0c, b's', b'u',
        b'r', b'i', b'c', b'a', b't', b'a', b'-', b'i', b'd', b's', 0x03, b'o', b'r', b'g',
        0x00, //
        // answer 2: ptr->50 (suricata-ids.org), A IN ttl 244, 192.0.78.24
        0xc0, 0x32, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0xf4, 0x00, 0x04, 0xc0, 0x00, 0x4e,
        0x18, //
        // answer 3: 192.0.78.25
        0xc0, 0x32, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0xf4, 0x00, 0x04, 0xc0, 0x00, 0x4e,
        0x19,
    ];

    #[test]
    fn fixtures_match_pcap_hex() {
        // Hex dumps taken from the pcap with a python struct reader.
        let q = "8d3201200001000000000001037777770c73757269636174612d696473036f726700000100010000291000000000000000";
        let r = "8d3281a00001000300000000037777770c73757269636174612d696473036f72670000010001c00c0005000100000dd800120c73757269636174612d696473036f726700c03200010001000000f40004c0004e18c03200010001000000f40004c0004e19";
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(DIG_QUERY), q);
        assert_eq!(hex(DIG_RESPONSE), r);
    }

    #[test]
    fn parse_dig_query() {
        let m = parse_message(DIG_QUERY).expect("parse");
        assert_eq!(m.header.id, 36146);
        assert_eq!(m.header.flags, 0x0120);
        assert!(!m.header.qr());
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.questions[0].name, b"www.suricata-ids.org");
        assert_eq!(m.questions[0].rrtype, 1);
        assert_eq!(m.questions[0].rrclass, 1);
        assert!(m.answers.is_empty());
        assert_eq!(m.additionals.len(), 1);
        assert_eq!(m.additionals[0].rrtype, rrtype::OPT);
        assert_eq!(m.additionals[0].rrclass, 4096);
        assert_eq!(m.additionals[0].rdata, RData::Opt(vec![]));
        assert!(m.additionals[0].name.is_empty());
    }

    #[test]
    fn parse_dig_response() {
        let m = parse_message(DIG_RESPONSE).expect("parse");
        assert_eq!(m.header.flags, 0x81a0);
        assert_eq!(m.header.rcode(), 0);
        assert_eq!(m.answers.len(), 3);
        assert_eq!(m.answers[0].name, b"www.suricata-ids.org");
        assert_eq!(m.answers[0].ttl, 3544);
        assert_eq!(
            m.answers[0].rdata,
            RData::Cname(b"suricata-ids.org".to_vec())
        );
        assert_eq!(m.answers[1].name, b"suricata-ids.org");
        assert_eq!(m.answers[1].rdata, RData::A([192, 0, 78, 24]));
        assert_eq!(m.answers[2].rdata, RData::A([192, 0, 78, 25]));
        assert_eq!(m.answers[2].ttl, 244);
    }

    fn hdr(qd: u16, an: u16) -> Vec<u8> {
        let mut v = vec![0x12, 0x34, 0x81, 0x80];
        v.extend_from_slice(&qd.to_be_bytes());
        v.extend_from_slice(&an.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v
    }

    #[test]
    fn self_pointer_loop_is_error() {
        // Question name at offset 12 is a pointer to itself.
        let mut m = hdr(1, 0);
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
    }

    #[test]
    fn two_pointer_loop_is_error() {
        // Answer name pointer at 22 -> 12; at 12 the question is "a" then
        // pointer -> 22 (forward): must error, not hang.
        let mut m = hdr(1, 1);
        m.extend_from_slice(&[1, b'a', 0xc0, 22, 0, 1, 0, 1]); // 12..20
        m.extend_from_slice(&[0, 0]); // 20..22 padding (never reached)
        let r = parse_name(&m, 12);
        assert_eq!(r, Err(DnsError::ForwardPointer));
        // A backwards pointer into the middle of the own label run
        // (pos 14 -> 12 where run started at 12) is also rejected.
        let mut m2 = hdr(1, 0);
        m2.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_message(&m2), Err(DnsError::ForwardPointer));
    }

    #[test]
    fn forward_pointer_is_error() {
        let mut m = hdr(1, 0);
        // pointer to offset 18 which holds a valid name: still forward.
        m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1, 1, b'x', 0]);
        assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
    }

    #[test]
    fn long_backward_chain_is_bounded() {
        // 200 names each "a" + pointer to the previous one: exceeds the
        // 255-byte name limit long before running out of pointers.
        let mut m = hdr(1, 0);
        let mut prev = 0usize;
        for i in 0..200 {
            let here = m.len();
            if i == 0 {
                m.extend_from_slice(&[1, b'a', 0]);
            } else {
                m.extend_from_slice(&[1, b'a', 0xc0 | (prev >> 8) as u8, prev as u8]);
            }
            prev = here;
        }
        assert_eq!(parse_name(&m, prev), Err(DnsError::NameTooLong));
        // A chain of pure pointers (no labels) hits the jump limit.
        let mut m = hdr(1, 0);
        m.push(0); // offset 12: root
        for i in 0..200usize {
            let target = if i == 0 { 12 } else { 13 + (i - 1) * 2 };
            m.extend_from_slice(&[0xc0 | (target >> 8) as u8, target as u8]);
        }
        let last = m.len() - 2;
        assert_eq!(parse_name(&m, last), Err(DnsError::TooManyJumps));
        let ok = 13 + 100 * 2;
        assert_eq!(parse_name(&m, ok).map(|x| x.0), Ok(Vec::new()));
    }

    #[test]
    fn reserved_label_type_is_error() {
        let mut m = hdr(1, 0);
        m.extend_from_slice(&[0x41, 0, 0, 1, 0, 1]);
        assert_eq!(parse_message(&m), Err(DnsError::BadLabel));
    }

    #[test]
    fn every_prefix_never_panics() {
        for full in [DIG_QUERY, DIG_RESPONSE] {
            for n in 0..full.len() {
                let r = parse_message(&full[..n]);
                // Dropping the final bytes always loses required data,
                // except the optional trailing OPT of the query.
                if full == DIG_RESPONSE || n < 38 {
                    assert!(r.is_err(), "prefix {n} parsed");
                }
            }
            assert!(parse_message(full).is_ok());
        }
    }

    #[test]
    fn rdata_mx_soa_txt_aaaa_srv() {
        let mut m = hdr(1, 5);
        // question: "ex" A IN at 12
        m.extend_from_slice(&[2, b'e', b'x', 0, 0, 1, 0, 1]);
        // MX pref 10 exchange "m." + ptr 12 => "m.ex"
        m.extend_from_slice(&[
            0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 6, 0, 10, 1, b'm', 0xc0, 12,
        ]);
        // TXT two strings
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 6]);
        m.extend_from_slice(&[2, b'h', b'i', 2, b'y', b'o']);
        // AAAA 2001:db8::1
        m.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        m.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        // SOA mname ns.ex rname h.ex, serial 1..5
        m.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 29]);
        m.extend_from_slice(&[2, b'n', b's', 0xc0, 12, 1, b'h', 0xc0, 12]);
        for v in 1u32..=5 {
            m.extend_from_slice(&v.to_be_bytes());
        }
        // SRV prio 1 weight 2 port 5060 target ex
        m.extend_from_slice(&[
            0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 8, 0, 1, 0, 2, 0x13, 0xc4,
        ]);
        m.extend_from_slice(&[0xc0, 12]);
        let msg = parse_message(&m).expect("parse");
        assert_eq!(
            msg.answers[0].rdata,
            RData::Mx {
                preference: 10,
                exchange: b"m.ex".to_vec()
            }
        );
        assert_eq!(
            msg.answers[1].rdata,
            RData::Txt(vec![b"hi".to_vec(), b"yo".to_vec()])
        );
        assert!(matches!(msg.answers[2].rdata, RData::Aaaa(a) if a[15] == 1 && a[0] == 0x20));
        assert_eq!(
            msg.answers[3].rdata,
            RData::Soa(SoaData {
                mname: b"ns.ex".to_vec(),
                rname: b"h.ex".to_vec(),
                serial: 1,
                refresh: 2,
                retry: 3,
                expire: 4,
                minimum: 5
            })
        );
        assert_eq!(
            msg.answers[4].rdata,
            RData::Srv(SrvData {
                priority: 1,
                weight: 2,
                port: 5060,
                target: b"ex".to_vec()
            })
        );
    }

    #[test]
    fn rdata_name_past_rdlength_is_error() {
        let mut m = hdr(1, 1);
        m.extend_from_slice(&[2, b'e', b'x', 0, 0, 1, 0, 1]);
        // CNAME with rdlen 2 but a 4-byte name
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 2, b'a', b'b', 0]);
        assert_eq!(parse_message(&m), Err(DnsError::BadRdata));
    }

    #[test]
    fn bad_authority_section_is_dropped() {
        let mut m = hdr(1, 0);
        m[9] = 1; // nscount = 1
        m.extend_from_slice(&[2, b'e', b'x', 0, 0, 1, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1]); // truncated SOA
        let msg = parse_message(&m).expect("parse");
        assert!(msg.invalid_authorities);
        assert!(msg.authorities.is_empty());
    }

    #[test]
    fn section_cap() {
        let mut m = hdr(1, 300);
        m.extend_from_slice(&[2, b'e', b'x', 0, 0, 1, 0, 1]);
        for i in 0..300u32 {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]);
            m.extend_from_slice(&i.to_be_bytes());
        }
        let msg = parse_message(&m).expect("parse");
        assert_eq!(msg.answers.len(), MAX_RECORDS_PER_SECTION);
    }
}
