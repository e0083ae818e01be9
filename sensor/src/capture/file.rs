//! pcap and pcapng files, read zero-copy from a memory map.
//!
//! Why not the `pcap-file` crate: its 2.0 pcapng parser takes every Enhanced
//! Packet Block timestamp as nanoseconds whatever the interface's
//! `if_tsresol` says (the default is microseconds), and its errors cannot name
//! the byte offset of a bad record. Both formats are small; reading them here
//! keeps the replay path free of copies and lets errors say where the file
//! went wrong.
//!
//! Covered: classic pcap in both byte orders with micro- and nanosecond
//! magic; pcapng sections in either byte order with several interfaces, each
//! with its own link type and `if_tsresol` (powers of 10 and of 2); Enhanced,
//! Simple and obsolete Packet Blocks. Other blocks are skipped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::decode::LinkType;

/// Largest captured length we accept for one record. Anything bigger is a
/// corrupt length field (the file cannot be resynchronised after it).
pub const MAX_RECORD_LEN: u32 = 256 * 1024;

/// Why a capture file could not be read (fully).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng file (first bytes {magic:02x?}); convert it with `editcap -F pcap`")]
    NotPcap { path: PathBuf, magic: Vec<u8> },
    #[error("{path}: file ends inside the {what} (offset {offset}); it is truncated")]
    TruncatedHeader {
        path: PathBuf,
        what: &'static str,
        offset: u64,
    },
    #[error("{path}: unsupported link type {dlt} ({hint}); supported: Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw IP (101, 228, 229), BSD loopback (0)")]
    UnknownLinkType {
        path: PathBuf,
        dlt: u32,
        hint: &'static str,
    },
}

/// A problem met while walking records. Records before it were delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record {record} at offset {offset} is truncated (file ends {missing} bytes early)")]
    Truncated {
        record: u64,
        offset: u64,
        missing: u64,
    },
    #[error("record {record} at offset {offset} has an impossible length {len} (limit {MAX_RECORD_LEN}); the rest of the file cannot be trusted")]
    BadLength { record: u64, offset: u64, len: u64 },
    #[error("pcapng block at offset {offset} is malformed: {why}")]
    BadBlock { offset: u64, why: &'static str },
}

impl RecordError {
    /// Bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            RecordError::Truncated { .. } => "truncated_record",
            RecordError::BadLength { .. } => "bad_record_length",
            RecordError::BadBlock { .. } => "bad_pcapng_block",
        }
    }
}

/// One packet record: where its bytes are in the map, and what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub offset: usize,
    pub caplen: u32,
    pub origlen: u32,
    pub ts_ns: u64,
    pub link: LinkType,
}

#[derive(Clone, Copy, Debug)]
struct Iface {
    link: Option<LinkType>,
    dlt: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

#[derive(Clone, Debug)]
enum Format {
    Pcap {
        big_endian: bool,
        nanos: bool,
        link: LinkType,
    },
    PcapNg,
}

/// An open capture file.
pub struct CaptureFile {
    path: PathBuf,
    map: Arc<Mmap>,
    format: Format,
}

impl CaptureFile {
    /// Open and check the file header. Fails on a missing file, a file that
    /// is not pcap/pcapng, or (classic pcap) an unsupported link type.
    pub fn open(path: &Path) -> Result<CaptureFile, FileError> {
        let file = File::open(path).map_err(|source| FileError::Open {
            path: path.to_owned(),
            source,
        })?;
        // SAFETY: the map is read-only; a file truncated under us by another
        // process would fault, which is the documented mmap caveat. Capture
        // files handed to replay are not being written.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| FileError::Open {
            path: path.to_owned(),
            source,
        })?;
        // Replay reads front to back: let the kernel read ahead and map
        // pages in large runs.
        let _ = map.advise(memmap2::Advice::Sequential);
        let format = detect(path, &map)?;
        Ok(CaptureFile {
            path: path.to_owned(),
            map: Arc::new(map),
            format,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file, shared with workers that read packet bytes from it.
    pub fn map(&self) -> &Arc<Mmap> {
        &self.map
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Iterate over the records. After an error the iterator ends.
    pub fn records(&self) -> Records<'_> {
        let (pos, state) = match &self.format {
            Format::Pcap {
                big_endian,
                nanos,
                link,
            } => (
                24,
                State::Pcap {
                    be: *big_endian,
                    nanos: *nanos,
                    link: *link,
                },
            ),
            Format::PcapNg => (
                0,
                State::PcapNg {
                    be: false,
                    ifaces: Vec::new(),
                },
            ),
        };
        Records {
            data: &self.map,
            pos,
            count: 0,
            state,
            done: false,
            unsupported_link: 0,
        }
    }
}

fn detect(path: &Path, data: &[u8]) -> Result<Format, FileError> {
    if data.len() < 4 {
        return Err(FileError::TruncatedHeader {
            path: path.to_owned(),
            what: "file header",
            offset: 0,
        });
    }
    let magic = [data[0], data[1], data[2], data[3]];
    let (big_endian, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => return Ok(Format::PcapNg),
        _ => {
            return Err(FileError::NotPcap {
                path: path.to_owned(),
                magic: data[..4].to_vec(),
            })
        }
    };
    if data.len() < 24 {
        return Err(FileError::TruncatedHeader {
            path: path.to_owned(),
            what: "pcap file header",
            offset: 0,
        });
    }
    let dlt = rd32(data, 20, big_endian) & 0x0fff_ffff;
    let link = LinkType::from_dlt(dlt).ok_or(FileError::UnknownLinkType {
        path: path.to_owned(),
        dlt,
        hint: dlt_hint(dlt),
    })?;
    Ok(Format::Pcap {
        big_endian,
        nanos,
        link,
    })
}

fn dlt_hint(dlt: u32) -> &'static str {
    match dlt {
        105 => "IEEE 802.11",
        127 => "802.11 radiotap",
        147..=162 => "user-defined",
        192 => "PPI",
        _ => "not a link type the sensor decodes",
    }
}

#[inline]
fn rd16(d: &[u8], at: usize, be: bool) -> u16 {
    let b = [d[at], d[at + 1]];
    if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

#[inline]
fn rd32(d: &[u8], at: usize, be: bool) -> u32 {
    let b = [d[at], d[at + 1], d[at + 2], d[at + 3]];
    if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

enum State {
    Pcap {
        be: bool,
        nanos: bool,
        link: LinkType,
    },
    PcapNg {
        be: bool,
        ifaces: Vec<Iface>,
    },
}

/// Iterator over a capture file's records.
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    count: u64,
    state: State,
    done: bool,
    /// Packets skipped because their pcapng interface has a link type we do
    /// not decode.
    pub unsupported_link: u64,
}

impl Records<'_> {
    /// Byte offset reached so far (for progress bars).
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    fn fail(&mut self, e: RecordError) -> Option<Result<Record, RecordError>> {
        self.done = true;
        Some(Err(e))
    }

    fn next_pcap(
        &mut self,
        be: bool,
        nanos: bool,
        link: LinkType,
    ) -> Option<Result<Record, RecordError>> {
        let d = self.data;
        let at = self.pos;
        if at >= d.len() {
            return None;
        }
        self.count += 1;
        if d.len() - at < 16 {
            return self.fail(RecordError::Truncated {
                record: self.count,
                offset: at as u64,
                missing: (16 - (d.len() - at)) as u64,
            });
        }
        let sec = rd32(d, at, be) as u64;
        let frac = rd32(d, at + 4, be) as u64;
        let caplen = rd32(d, at + 8, be);
        let origlen = rd32(d, at + 12, be);
        if caplen > MAX_RECORD_LEN {
            return self.fail(RecordError::BadLength {
                record: self.count,
                offset: at as u64,
                len: caplen as u64,
            });
        }
        let start = at + 16;
        let end = start + caplen as usize;
        if end > d.len() {
            return self.fail(RecordError::Truncated {
                record: self.count,
                offset: at as u64,
                missing: (end - d.len()) as u64,
            });
        }
        self.pos = end;
        let ts_ns = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        Some(Ok(Record {
            offset: start,
            caplen,
            origlen,
            ts_ns,
            link,
        }))
    }

    fn next_pcapng(&mut self) -> Option<Result<Record, RecordError>> {
        loop {
            let d = self.data;
            let at = self.pos;
            if at >= d.len() {
                return None;
            }
            if d.len() - at < 12 {
                self.count += 1;
                return self.fail(RecordError::Truncated {
                    record: self.count,
                    offset: at as u64,
                    missing: (12 - (d.len() - at)) as u64,
                });
            }
            let (be, ifaces) = match &mut self.state {
                State::PcapNg { be, ifaces } => (be, ifaces),
                State::Pcap { .. } => return None,
            };
            let raw_type = [d[at], d[at + 1], d[at + 2], d[at + 3]];
            if raw_type == [0x0a, 0x0d, 0x0d, 0x0a] {
                // Section header: byte order from the magic, interfaces reset.
                let bom = [d[at + 8], d[at + 9], d[at + 10], d[at + 11]];
                *be = match bom {
                    [0x1a, 0x2b, 0x3c, 0x4d] => true,
                    [0x4d, 0x3c, 0x2b, 0x1a] => false,
                    _ => {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "section header byte-order magic is wrong",
                        })
                    }
                };
                ifaces.clear();
            }
            let be = *be;
            let btype = rd32(d, at, be);
            let blen = rd32(d, at + 4, be) as usize;
            if blen < 12 || !blen.is_multiple_of(4) {
                return self.fail(RecordError::BadBlock {
                    offset: at as u64,
                    why: "block length is not a multiple of 4 of at least 12",
                });
            }
            if blen > MAX_RECORD_LEN as usize + 4096 && btype != 0x0A0D0D0A {
                self.count += 1;
                return self.fail(RecordError::BadLength {
                    record: self.count,
                    offset: at as u64,
                    len: blen as u64,
                });
            }
            if blen > d.len() - at {
                self.count += 1;
                return self.fail(RecordError::Truncated {
                    record: self.count,
                    offset: at as u64,
                    missing: (blen - (d.len() - at)) as u64,
                });
            }
            let body = &d[at + 8..at + blen - 4];
            self.pos = at + blen;
            match btype {
                // Interface Description Block.
                1 => {
                    if body.len() < 8 {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "interface description block too short",
                        });
                    }
                    let dlt = rd16(body, 0, be) as u32;
                    let units_per_sec = tsresol(&body[8..], be).unwrap_or(1_000_000);
                    ifaces.push(Iface {
                        link: LinkType::from_dlt(dlt),
                        dlt,
                        units_per_sec,
                    });
                }
                // Enhanced Packet Block, obsolete Packet Block.
                6 | 2 => {
                    self.count += 1;
                    if body.len() < 20 {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "packet block too short",
                        });
                    }
                    let iface_id = if btype == 6 {
                        rd32(body, 0, be) as usize
                    } else {
                        rd16(body, 0, be) as usize
                    };
                    let ts = ((rd32(body, 4, be) as u64) << 32) | rd32(body, 8, be) as u64;
                    let caplen = rd32(body, 12, be);
                    let origlen = rd32(body, 16, be);
                    if caplen as usize > body.len() - 20 {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "captured length exceeds the block",
                        });
                    }
                    let Some(iface) = ifaces.get(iface_id).copied() else {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "packet names an interface that was not described",
                        });
                    };
                    let Some(link) = iface.link else {
                        let _ = iface.dlt;
                        self.unsupported_link += 1;
                        continue;
                    };
                    return Some(Ok(Record {
                        offset: at + 8 + 20,
                        caplen,
                        origlen,
                        ts_ns: scale_ts(ts, iface.units_per_sec),
                        link,
                    }));
                }
                // Simple Packet Block: interface 0, no timestamp.
                3 => {
                    self.count += 1;
                    if body.len() < 4 {
                        return self.fail(RecordError::BadBlock {
                            offset: at as u64,
                            why: "simple packet block too short",
                        });
                    }
                    let origlen = rd32(body, 0, be);
                    let caplen = origlen.min((body.len() - 4) as u32);
                    let Some(link) = ifaces.first().and_then(|i| i.link) else {
                        self.unsupported_link += 1;
                        continue;
                    };
                    return Some(Ok(Record {
                        offset: at + 8 + 4,
                        caplen,
                        origlen,
                        ts_ns: 0,
                        link,
                    }));
                }
                _ => continue,
            }
        }
    }
}

/// `if_tsresol` (option 9) from an IDB's options, as units per second.
fn tsresol(mut opts: &[u8], be: bool) -> Option<u64> {
    while opts.len() >= 4 {
        let code = rd16(opts, 0, be);
        let len = rd16(opts, 2, be) as usize;
        let padded = (len + 3) & !3;
        if code == 0 || opts.len() < 4 + len {
            return None;
        }
        if code == 9 && len >= 1 {
            let v = opts[4];
            let exp = (v & 0x7f) as u32;
            return if v & 0x80 == 0 {
                10u64.checked_pow(exp)
            } else {
                1u64.checked_shl(exp)
            };
        }
        opts = opts.get(4 + padded..)?;
    }
    None
}

fn scale_ts(ts: u64, units_per_sec: u64) -> u64 {
    match units_per_sec {
        0 => ts,
        1_000_000_000 => ts,
        1_000_000 => ts.saturating_mul(1000),
        u => ((ts as u128 * 1_000_000_000) / u as u128) as u64,
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.state {
            State::Pcap { be, nanos, link } => self.next_pcap(be, nanos, link),
            State::PcapNg { .. } => self.next_pcapng(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pcap_header(link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes()); // magic, microseconds
        v.extend_from_slice(&2u16.to_le_bytes()); // version major
        v.extend_from_slice(&4u16.to_le_bytes()); // version minor
        v.extend_from_slice(&0u32.to_le_bytes()); // thiszone
        v.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        v.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        v.extend_from_slice(&link.to_le_bytes()); // link type
        v
    }

    fn record(v: &mut Vec<u8>, sec: u32, usec: u32, data: &[u8]) {
        v.extend_from_slice(&sec.to_le_bytes());
        v.extend_from_slice(&usec.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn pcap_records_and_timestamps() {
        let mut v = pcap_header(1);
        record(&mut v, 10, 5, &[1, 2, 3]);
        record(&mut v, 11, 999_999, &[4; 60]);
        let f = write(&v);
        let cf = CaptureFile::open(f.path()).unwrap();
        let recs: Vec<_> = cf.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ts_ns, 10_000_005_000);
        assert_eq!(recs[0].offset, 24 + 16);
        assert_eq!(recs[0].caplen, 3);
        assert_eq!(recs[1].ts_ns, 11_999_999_000);
        assert_eq!(recs[1].link, LinkType::Ethernet);
    }

    #[test]
    fn truncated_record_is_reported_after_good_ones() {
        let mut v = pcap_header(1);
        record(&mut v, 1, 0, &[0; 20]);
        record(&mut v, 2, 0, &[0; 20]);
        v.truncate(v.len() - 5);
        let f = write(&v);
        let cf = CaptureFile::open(f.path()).unwrap();
        let out: Vec<_> = cf.records().collect();
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert_eq!(
            out[1],
            Err(RecordError::Truncated {
                record: 2,
                offset: 60,
                missing: 5
            })
        );
    }

    #[test]
    fn garbage_length_stops_the_file() {
        let mut v = pcap_header(1);
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
        v.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
        v.extend_from_slice(&[0; 100]);
        let f = write(&v);
        let cf = CaptureFile::open(f.path()).unwrap();
        let out: Vec<_> = cf.records().collect();
        assert!(matches!(
            out[0],
            Err(RecordError::BadLength { record: 1, .. })
        ));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn unknown_link_type_and_not_pcap() {
        let f = write(&pcap_header(105));
        match CaptureFile::open(f.path()) {
            Err(FileError::UnknownLinkType { dlt: 105, .. }) => {}
            other => panic!("unexpected {:?}", other.err()),
        }
        let f = write(b"hello world, this is not a capture");
        let e = CaptureFile::open(f.path()).err().unwrap();
        assert!(e.to_string().contains("not a pcap or pcapng file"), "{e}");
        let e = CaptureFile::open(Path::new("/nonexistent/x.pcap"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("cannot open"), "{e}");
    }

    fn block(v: &mut Vec<u8>, btype: u32, body: &[u8]) {
        let padded = (body.len() + 3) & !3;
        let len = (12 + padded) as u32;
        v.extend_from_slice(&btype.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.resize(v.len() + padded - body.len(), 0);
        v.extend_from_slice(&len.to_le_bytes());
    }

    #[test]
    fn pcapng_two_interfaces_with_tsresol() {
        let mut v = Vec::new();
        // SHB: byte-order magic, version 1.0, section length -1.
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut v, 0x0A0D0D0A, &shb);
        // IDB 0: Ethernet, default microseconds.
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u16.to_le_bytes()); // linktype
        idb.extend_from_slice(&0u16.to_le_bytes()); // reserved
        idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen
        block(&mut v, 1, &idb);
        // IDB 1: raw IP, if_tsresol = 9 (nanoseconds).
        let mut idb = Vec::new();
        idb.extend_from_slice(&101u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        idb.extend_from_slice(&9u16.to_le_bytes()); // option code if_tsresol
        idb.extend_from_slice(&1u16.to_le_bytes()); // option length
        idb.extend_from_slice(&[9, 0, 0, 0]); // 10^-9, padded
        idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block(&mut v, 1, &idb);
        for (iface, ts) in [(0u32, 1_500_000u64), (1, 2_000_000_007)] {
            let mut epb = Vec::new();
            epb.extend_from_slice(&iface.to_le_bytes());
            epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(ts as u32).to_le_bytes());
            epb.extend_from_slice(&5u32.to_le_bytes()); // caplen
            epb.extend_from_slice(&5u32.to_le_bytes()); // origlen
            epb.extend_from_slice(&[0xaa; 5]);
            block(&mut v, 6, &epb);
        }
        let f = write(&v);
        let cf = CaptureFile::open(f.path()).unwrap();
        let recs: Vec<_> = cf.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ts_ns, 1_500_000_000);
        assert_eq!(recs[0].link, LinkType::Ethernet);
        assert_eq!(recs[1].ts_ns, 2_000_000_007);
        assert_eq!(recs[1].link, LinkType::Raw);
        assert_eq!(recs[1].caplen, 5);
        let map = cf.map();
        assert_eq!(&map[recs[1].offset..recs[1].offset + 5], &[0xaa; 5]);
    }

    #[test]
    fn every_prefix_of_a_file_is_handled() {
        let mut v = pcap_header(1);
        record(&mut v, 1, 0, &[7; 30]);
        record(&mut v, 2, 0, &[8; 30]);
        for n in 0..v.len() {
            let f = write(&v[..n]);
            if let Ok(cf) = CaptureFile::open(f.path()) {
                for r in cf.records() {
                    let _ = r;
                }
            }
        }
    }
}
