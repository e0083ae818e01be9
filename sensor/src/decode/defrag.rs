//! Bounded IPv4/IPv6 fragment reassembly.
//!
//! Datagrams are keyed by (src, dst, id, upper protocol, VLANs, family). The
//! table holds at most [`DefragConfig::max_datagrams`] incomplete datagrams
//! (the oldest is evicted when full), each at most
//! [`DefragConfig::max_datagram_bytes`] long. Overlapping data keeps the
//! bytes received first; overlaps are counted and reported through
//! [`Defragmenter::take_anomaly`] without losing the datagram.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use super::{Anomaly, Fragment};

/// Reassembly limits.
#[derive(Clone, Debug)]
pub struct DefragConfig {
    /// Maximum number of incomplete datagrams tracked (default 4096).
    pub max_datagrams: usize,
    /// Maximum reassembled datagram size, header included (default 65535 + 40).
    pub max_datagram_bytes: usize,
    /// Incomplete datagrams older than this (since first fragment) are dropped (default 60 s).
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_datagram_bytes: 65535 + 40,
            timeout_ns: 60_000_000_000,
        }
    }
}

/// Reassembly counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Datagrams completed.
    pub reassembled: u64,
    /// Incomplete datagrams dropped by timeout.
    pub timeouts: u64,
    /// Incomplete datagrams evicted because the table was full.
    pub evicted_table_full: u64,
    /// Fragments that overlapped data already received (duplicates included).
    pub overlaps: u64,
    /// Fragments rejected because the datagram would be too large.
    pub too_large: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
    vlan: [u16; 2],
    vlan_count: u8,
    is_v6: bool,
}

struct Entry {
    /// Generation, to recognise stale entries in the age queue.
    generation: u64,
    first_ns: u64,
    /// Unfragmentable part (from the offset-0 fragment once it was seen).
    header: Vec<u8>,
    header_from_first: bool,
    /// Fragmentable part, indexed by fragment offset.
    data: Vec<u8>,
    /// Received byte ranges `[start, end)`: sorted, disjoint, non-adjacent.
    ranges: Vec<(usize, usize)>,
    /// Payload length, known once the last fragment (MF=0) arrived.
    total: Option<usize>,
}

/// IPv4/IPv6 fragment reassembler with bounded memory.
pub struct Defragmenter {
    cfg: DefragConfig,
    stats: DefragStats,
    table: HashMap<Key, Entry, foldhash::fast::RandomState>,
    /// Keys in creation order (may contain stale items, skipped lazily).
    order: VecDeque<(Key, u64)>,
    next_generation: u64,
    pending: Option<Anomaly>,
}

impl Defragmenter {
    /// Create an empty reassembler.
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            stats: DefragStats::default(),
            table: HashMap::default(),
            order: VecDeque::new(),
            next_generation: 0,
            pending: None,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Number of incomplete datagrams currently held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no incomplete datagram is held.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Take the latest non-fatal anomaly raised by [`insert`](Self::insert)
    /// (an overlap or a table-full eviction), clearing it.
    pub fn take_anomaly(&mut self) -> Option<Anomaly> {
        self.pending.take()
    }

    /// Insert a fragment seen at time `now_ns`.
    ///
    /// Returns `Ok(Some(datagram))` when the datagram is complete: a full IP
    /// datagram (IPv4 with MF/offset cleared, total length and checksum
    /// fixed; IPv6 without the fragment header, next header chained and
    /// payload length fixed) that [`decode_ip`](super::decode_ip) can decode.
    /// Fragments that would make the datagram too large are rejected with an
    /// error (the rest of the datagram is kept).
    pub fn insert(&mut self, frag: &Fragment<'_>, now_ns: u64) -> Result<Option<Vec<u8>>, Anomaly> {
        let v6 = frag.is_v6;
        let (overlap_anomaly, too_large_anomaly) = if v6 {
            (Anomaly::Ipv6FragOverlap, Anomaly::Ipv6FragTooLarge)
        } else {
            (Anomaly::FragOverlap, Anomaly::FragTooLarge)
        };
        let start = frag.offset as usize;
        let end = start + frag.data.len();
        if v6 && frag.more && !frag.data.len().is_multiple_of(8) {
            return Err(Anomaly::Ipv6FragInvalidLength);
        }
        if exceeds_limits(v6, frag.ip_header.len(), end, self.cfg.max_datagram_bytes) {
            self.stats.too_large += 1;
            return Err(too_large_anomaly);
        }

        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
            proto: frag.ip_proto,
            vlan: frag.vlan,
            vlan_count: frag.vlan_count,
            is_v6: v6,
        };
        if let Some(e) = self.table.get(&key) {
            if now_ns.saturating_sub(e.first_ns) > self.cfg.timeout_ns {
                self.table.remove(&key);
                self.stats.timeouts += 1;
            }
        }
        if !self.table.contains_key(&key) {
            self.make_room();
            let generation = self.next_generation;
            self.next_generation += 1;
            self.table.insert(
                key,
                Entry {
                    generation,
                    first_ns: now_ns,
                    header: Vec::new(),
                    header_from_first: false,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                },
            );
            self.order.push_back((key, generation));
            self.compact_order();
        }
        let Some(entry) = self.table.get_mut(&key) else {
            return Ok(None);
        };

        if start == 0 && !entry.header_from_first {
            entry.header.clear();
            entry.header.extend_from_slice(frag.ip_header);
            entry.header_from_first = true;
        } else if entry.header.is_empty() {
            entry.header.extend_from_slice(frag.ip_header);
        }

        let mut overlap = false;
        let mut end = end;
        let mut conflicting = false;
        if !frag.more {
            match entry.total {
                // A second, different end: keep the first, ignore this fragment.
                Some(t) if t != end => conflicting = true,
                Some(_) => {}
                None => entry.total = Some(end),
            }
        }
        if let Some(t) = entry.total {
            if end > t {
                overlap = true;
                end = t;
            }
        }
        if conflicting {
            overlap = true;
        } else if start < end {
            overlap |= entry.add(start, end, frag.data);
        } else if !frag.data.is_empty() {
            // Entirely beyond the end announced by the last fragment.
            overlap = true;
        }
        if overlap {
            self.stats.overlaps += 1;
            self.pending = Some(overlap_anomaly);
        }

        let complete = match (entry.total, entry.ranges.first()) {
            (Some(0), _) => true,
            (Some(t), Some(&(0, e))) => e >= t,
            _ => false,
        };
        if !complete {
            return Ok(None);
        }
        let Some(entry) = self.table.remove(&key) else {
            return Ok(None);
        };
        let total = entry.total.unwrap_or(0);
        if exceeds_limits(v6, entry.header.len(), total, self.cfg.max_datagram_bytes) {
            self.stats.too_large += 1;
            return Err(too_large_anomaly);
        }
        let payload = entry.data.get(..total).unwrap_or_default();
        let datagram = if v6 {
            build_v6(&entry.header, frag.ip_proto, payload)
        } else {
            build_v4(&entry.header, payload)
        };
        match datagram {
            Some(d) => {
                self.stats.reassembled += 1;
                Ok(Some(d))
            }
            None if v6 => Err(Anomaly::Ipv6Truncated),
            None => Err(Anomaly::Ipv4TooSmall),
        }
    }

    /// Drop incomplete datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&(key, generation)) = self.order.front() {
            match self.table.get(&key) {
                Some(e) if e.generation == generation => {
                    if now_ns.saturating_sub(e.first_ns) <= self.cfg.timeout_ns {
                        break;
                    }
                    self.table.remove(&key);
                    self.stats.timeouts += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Evict the oldest live datagrams until there is room for one more.
    fn make_room(&mut self) {
        let max = self.cfg.max_datagrams.max(1);
        while self.table.len() >= max {
            let Some((key, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .table
                .get(&key)
                .is_some_and(|e| e.generation == generation)
            {
                self.table.remove(&key);
                self.stats.evicted_table_full += 1;
                self.pending = Some(Anomaly::FragTableFull);
            }
        }
    }

    /// Drop stale queue items so the queue stays proportional to the table.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.cfg.max_datagrams.max(1) + 16 {
            let table = &self.table;
            self.order
                .retain(|(k, g)| table.get(k).is_some_and(|e| e.generation == *g));
        }
    }
}

impl Entry {
    /// Copy the parts of `[start, end)` not received yet; returns true when
    /// any part had already been received (overlap).
    fn add(&mut self, start: usize, end: usize, data: &[u8]) -> bool {
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        let mut overlap = false;
        let mut cur = start;
        let copy = |from: usize, to: usize, buf: &mut Vec<u8>| {
            if let (Some(dst), Some(src)) =
                (buf.get_mut(from..to), data.get(from - start..to - start))
            {
                dst.copy_from_slice(src);
            }
        };
        for &(rs, re) in &self.ranges {
            if re <= cur {
                continue;
            }
            if rs >= end {
                break;
            }
            if rs > cur {
                copy(cur, rs, &mut self.data);
            }
            overlap = true;
            cur = re;
            if cur >= end {
                break;
            }
        }
        if cur < end {
            copy(cur, end, &mut self.data);
        }
        // Merge [start, end) into the sorted range list.
        let pos = self.ranges.partition_point(|&(_, re)| re < start);
        let mut new = (start, end);
        while let Some(&(rs, re)) = self.ranges.get(pos) {
            if rs > new.1 {
                break;
            }
            new = (new.0.min(rs), new.1.max(re));
            self.ranges.remove(pos);
        }
        self.ranges.insert(pos, new);
        overlap
    }
}

/// Whether a datagram with this header and payload length breaks a limit.
fn exceeds_limits(v6: bool, header_len: usize, payload_len: usize, max: usize) -> bool {
    let protocol_limit = if v6 {
        // Payload length field covers extension headers and data.
        header_len.saturating_sub(40) + payload_len > 65535
    } else {
        header_len + payload_len > 65535
    };
    protocol_limit || header_len + payload_len > max
}

fn build_v4(header: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    if header.len() < 20 || header.len() > 60 {
        return None;
    }
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header);
    out.extend_from_slice(payload);
    let total = u16::try_from(out.len()).ok()?;
    let hlen = header.len();
    let h = out.get_mut(..hlen)?;
    // Version/IHL reflect the stored header.
    *h.first_mut()? = 0x40 | ((hlen / 4) as u8 & 0x0f);
    h.get_mut(2..4)?.copy_from_slice(&total.to_be_bytes());
    // Keep reserved/DF bits, clear MF and the offset.
    let flags = h.get(6).copied()? & 0xc0;
    h.get_mut(6..8)?.copy_from_slice(&[flags, 0]);
    h.get_mut(10..12)?.copy_from_slice(&[0, 0]);
    let csum = ipv4_checksum(h);
    h.get_mut(10..12)?.copy_from_slice(&csum.to_be_bytes());
    Some(out)
}

/// RFC 1071 one's complement checksum over an IPv4 header.
pub(crate) fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| match c {
            [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
            [a] => u32::from(*a) << 8,
            _ => 0,
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn build_v6(header: &[u8], upper: u8, payload: &[u8]) -> Option<Vec<u8>> {
    if header.len() < 40 {
        return None;
    }
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header);
    out.extend_from_slice(payload);
    let plen = u16::try_from(out.len() - 40).ok()?;
    out.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
    // Walk the unfragmentable extension headers to find the next-header byte
    // that pointed at the fragment header.
    let mut nh_pos = 6usize;
    let mut off = 40usize;
    while off < header.len() {
        let nh = *header.get(nh_pos)?;
        let len_byte = usize::from(*header.get(off + 1)?);
        let len = match nh {
            0 | 43 | 60 => (len_byte + 1) * 8,
            51 => (len_byte + 2) * 4,
            44 => 8,
            _ => return None,
        };
        nh_pos = off;
        off += len;
    }
    *out.get_mut(nh_pos)? = upper;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{decode, decode_ip, Decoded, LinkType, L4};
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// The UDP datagram being fragmented: 8-byte header + 32 data bytes.
    fn udp_datagram() -> Vec<u8> {
        let mut d = vec![
            0x03, 0xe8, // source port 1000
            0x00, 0xa1, // destination port 161
            0x00, 0x28, // length 40
            0x00, 0x00, // checksum
        ];
        d.extend(0u8..32);
        d
    }

    /// Raw IPv4 fragment: 10.0.0.1 -> 10.0.0.2, UDP.
    fn v4_frag(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let [t0, t1] = ((20 + data.len()) as u16).to_be_bytes();
        let [i0, i1] = id.to_be_bytes();
        let [f0, f1] = ((off / 8) as u16 | if more { 0x2000 } else { 0 }).to_be_bytes();
        let mut v = vec![
            0x45, 0x00, t0, t1, // version 4, IHL 5, DSCP, total length
            i0, i1, f0, f1, // identification, flags/fragment offset
            0x40, 0x11, 0xff, 0xff, // TTL 64, protocol UDP, checksum (bogus)
            0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
            0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        ];
        v.extend_from_slice(data);
        v
    }

    /// Raw IPv6 fragment with a hop-by-hop header in the unfragmentable part.
    fn v6_frag(id: u32, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let [p0, p1] = ((16 + data.len()) as u16).to_be_bytes();
        let [f0, f1] = (((off / 8) as u16) << 3 | u16::from(more)).to_be_bytes();
        let [i0, i1, i2, i3] = id.to_be_bytes();
        let mut v = vec![
            0x60, 0x00, 0x00, 0x00, // version 6, traffic class, flow label
            p0, p1,   // payload length
            0x00, // next header: hop-by-hop
            0x40, // hop limit 64
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src 2001:db8::1
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst 2001:db8::2
            0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // hop-by-hop: next fragment, PadN
            0x11, 0x00, f0, f1, // fragment: next UDP, reserved, offset/M
            i0, i1, i2, i3, // identification
        ];
        v.extend_from_slice(data);
        v
    }

    fn frag_of(b: &[u8]) -> Fragment<'_> {
        match decode(LinkType::Raw, b) {
            Ok(Decoded::Fragment(f)) => f,
            other => panic!("expected a fragment, got {other:?}"),
        }
    }

    /// Fragments A [0,16) B [16,32) C [32,40) of [`udp_datagram`].
    fn v4_abc(id: u16) -> [Vec<u8>; 3] {
        let d = udp_datagram();
        [
            v4_frag(id, 0, true, &d[..16]),
            v4_frag(id, 16, true, &d[16..32]),
            v4_frag(id, 32, false, &d[32..]),
        ]
    }

    fn v6_abc(id: u32) -> [Vec<u8>; 3] {
        let d = udp_datagram();
        [
            v6_frag(id, 0, true, &d[..16]),
            v6_frag(id, 16, true, &d[16..32]),
            v6_frag(id, 32, false, &d[32..]),
        ]
    }

    fn feed(df: &mut Defragmenter, frames: &[&Vec<u8>], now: u64) -> Option<Vec<u8>> {
        let mut out = None;
        for (i, f) in frames.iter().enumerate() {
            let r = df.insert(&frag_of(f), now).expect("insert");
            if i + 1 < frames.len() {
                assert!(r.is_none(), "completed early at fragment {i}");
            }
            out = r;
        }
        out
    }

    #[track_caller]
    fn check_v4(dg: &[u8], data: &[u8]) {
        assert_eq!(dg.len(), 60);
        assert_eq!(&dg[2..4], &[0x00, 0x3c]); // total length 60
        assert_eq!(&dg[6..8], &[0x00, 0x00]); // MF and offset cleared
        assert_eq!(ipv4_checksum(&dg[..20]), 0); // checksum valid
        match decode_ip(dg, [0; 2], 0) {
            Ok(Decoded::Ip(p)) => {
                assert_eq!((p.sport, p.dport, p.l4), (1000, 161, L4::Udp));
                assert_eq!(p.payload, data);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv4_in_order() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(1);
        let dg = feed(&mut df, &[&a, &b, &c], 0).expect("complete");
        check_v4(&dg, &udp_datagram()[8..]);
        assert_eq!(df.stats().reassembled, 1);
        assert!(df.is_empty());
        assert_eq!(df.take_anomaly(), None);
    }

    #[test]
    fn ipv4_reverse_order() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(2);
        let dg = feed(&mut df, &[&c, &b, &a], 0).expect("complete");
        check_v4(&dg, &udp_datagram()[8..]);
    }

    #[test]
    fn overlap_keeps_first_received_bytes() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(3);
        let evil = v4_frag(3, 16, true, &[0xee; 16]);
        let dg = feed(&mut df, &[&a, &b, &evil, &c], 0).expect("complete");
        check_v4(&dg, &udp_datagram()[8..]);
        assert_eq!(df.stats().overlaps, 1);
        assert_eq!(df.take_anomaly(), Some(Anomaly::FragOverlap));
        assert_eq!(df.take_anomaly(), None);

        // Overlap received first wins over the later original.
        let early = v4_frag(4, 16, true, &[0xee; 24]);
        let [a, _, c] = v4_abc(4);
        let dg = feed(&mut df, &[&a, &early, &c], 0).expect("complete");
        let mut want = udp_datagram()[8..].to_vec();
        want[8..].fill(0xee);
        check_v4(&dg, &want);
        assert_eq!(df.stats().overlaps, 2);
    }

    #[test]
    fn duplicate_fragment() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(5);
        let dg = feed(&mut df, &[&a, &a, &b, &c], 0).expect("complete");
        check_v4(&dg, &udp_datagram()[8..]);
        assert_eq!(df.stats().overlaps, 1);
        assert_eq!(df.stats().reassembled, 1);
    }

    #[test]
    fn missing_middle_expires() {
        let cfg = DefragConfig::default();
        let timeout = cfg.timeout_ns;
        let mut df = Defragmenter::new(cfg);
        let [a, _b, c] = v4_abc(6);
        assert!(feed(&mut df, &[&a, &c], SEC).is_none());
        assert_eq!(df.len(), 1);
        df.expire(SEC + timeout);
        assert_eq!(df.len(), 1);
        df.expire(SEC + timeout + 1);
        assert_eq!(df.len(), 0);
        assert_eq!(df.stats().timeouts, 1);
        assert_eq!(df.stats().reassembled, 0);
    }

    #[test]
    fn stale_entry_replaced_on_insert() {
        let cfg = DefragConfig::default();
        let timeout = cfg.timeout_ns;
        let mut df = Defragmenter::new(cfg);
        let [a, b, c] = v4_abc(7);
        assert!(feed(&mut df, &[&a, &b], 0).is_none());
        // C arrives too late: the old part is dropped, C starts anew.
        assert!(df.insert(&frag_of(&c), timeout + 1).unwrap().is_none());
        assert_eq!(df.stats().timeouts, 1);
        assert_eq!(df.len(), 1);
    }

    #[test]
    fn table_full_evicts_oldest() {
        let mut df = Defragmenter::new(DefragConfig {
            max_datagrams: 2,
            ..DefragConfig::default()
        });
        let f1 = v4_abc(11);
        let f2 = v4_abc(12);
        let f3 = v4_abc(13);
        assert!(feed(&mut df, &[&f1[0]], 0).is_none());
        assert!(feed(&mut df, &[&f2[0]], 1).is_none());
        assert_eq!(df.take_anomaly(), None);
        assert!(feed(&mut df, &[&f3[0]], 2).is_none());
        assert_eq!(df.stats().evicted_table_full, 1);
        assert_eq!(df.take_anomaly(), Some(Anomaly::FragTableFull));
        assert_eq!(df.len(), 2);
        // id 12 and 13 survive; id 11 lost its first fragment.
        assert!(feed(&mut df, &[&f2[1], &f2[2]], 3).is_some());
        assert!(feed(&mut df, &[&f3[1], &f3[2]], 3).is_some());
        assert!(feed(&mut df, &[&f1[1], &f1[2]], 4).is_none());
    }

    #[test]
    fn oversize_rejected() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let big = v4_frag(20, 65528, true, &[0; 16]);
        assert_eq!(
            df.insert(&frag_of(&big), 0).err(),
            Some(Anomaly::FragTooLarge)
        );
        assert_eq!(df.stats().too_large, 1);
        assert!(df.is_empty());

        let mut df = Defragmenter::new(DefragConfig {
            max_datagram_bytes: 50,
            ..DefragConfig::default()
        });
        let [a, b, _] = v4_abc(21);
        assert!(df.insert(&frag_of(&a), 0).unwrap().is_none());
        assert_eq!(
            df.insert(&frag_of(&b), 0).err(),
            Some(Anomaly::FragTooLarge)
        );
        let big6 = v6_frag(22, 65528, true, &[0; 16]);
        assert_eq!(
            df.insert(&frag_of(&big6), 0).err(),
            Some(Anomaly::Ipv6FragTooLarge)
        );
    }

    #[test]
    fn conflicting_last_fragment_and_data_past_end() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(30);
        let short_last = v4_frag(30, 24, false, &[0x55; 8]);
        assert!(feed(&mut df, &[&c, &short_last], 0).is_none());
        assert_eq!(df.stats().overlaps, 1);
        // Data beyond the announced end is clipped and counted.
        let past = v4_frag(30, 40, true, &[0x66; 8]);
        assert!(df.insert(&frag_of(&past), 0).unwrap().is_none());
        assert_eq!(df.stats().overlaps, 2);
        let dg = feed(&mut df, &[&a, &b], 0).expect("complete");
        check_v4(&dg, &udp_datagram()[8..]);
    }

    #[track_caller]
    fn check_v6(dg: &[u8]) {
        assert_eq!(dg.len(), 40 + 8 + 40);
        assert_eq!(&dg[4..6], &[0x00, 0x30]); // payload length 48
        assert_eq!(dg[6], 0x00); // next header still hop-by-hop
        assert_eq!(dg[40], 0x11); // hop-by-hop now chains to UDP
        match decode_ip(dg, [5, 0], 1) {
            Ok(Decoded::Ip(p)) => {
                assert_eq!((p.sport, p.dport, p.ip_proto), (1000, 161, 17));
                assert_eq!(p.payload, &udp_datagram()[8..]);
                assert_eq!((p.vlan, p.vlan_count), ([5, 0], 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_round_trip_any_order() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v6_abc(0xdead_beef);
        check_v6(&feed(&mut df, &[&a, &b, &c], 0).expect("complete"));
        check_v6(&feed(&mut df, &[&b, &c, &a], 0).expect("complete"));
        check_v6(&feed(&mut df, &[&c, &b, &a], 0).expect("complete"));
        assert_eq!(df.stats().reassembled, 3);
        assert_eq!(df.stats().overlaps, 0);
    }

    #[test]
    fn ipv6_overlap_and_invalid_length() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v6_abc(9);
        check_v6(&feed(&mut df, &[&a, &b, &b, &c], 0).expect("complete"));
        assert_eq!(df.take_anomaly(), Some(Anomaly::Ipv6FragOverlap));
        let odd = v6_frag(10, 0, true, &[0; 12]);
        assert_eq!(
            df.insert(&frag_of(&odd), 0).err(),
            Some(Anomaly::Ipv6FragInvalidLength)
        );
    }

    #[test]
    fn families_and_vlans_do_not_mix() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let [a, b, c] = v4_abc(40);
        let mut fa = frag_of(&a);
        fa.vlan = [9, 0];
        fa.vlan_count = 1;
        assert!(df.insert(&fa, 0).unwrap().is_none());
        // B and C without the VLAN belong to another datagram.
        assert!(feed(&mut df, &[&b, &c], 0).is_none());
        assert_eq!(df.len(), 2);
    }

    #[test]
    fn random_fragments_never_panic() {
        let mut df = Defragmenter::new(DefragConfig {
            max_datagrams: 8,
            max_datagram_bytes: 2000,
            timeout_ns: 50,
        });
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let data = [0xabu8; 256];
        for now in 0..20_000u64 {
            let r = next();
            let id = (r % 6) as u16;
            let off = ((r >> 8) % 300) as usize * 8;
            let len = ((r >> 20) % 200) as usize;
            let more = (r >> 40) % 3 != 0;
            let buf = if (r >> 44) % 2 == 0 {
                v4_frag(id, off, more, &data[..len])
            } else {
                v6_frag(u32::from(id), off, more, &data[..len & !7])
            };
            if let Ok(Decoded::Fragment(f)) = decode(LinkType::Raw, &buf) {
                let _ = df.insert(&f, now);
            }
            assert!(df.len() <= 8);
            if now % 97 == 0 {
                df.expire(now);
            }
        }
        assert!(df.order.len() <= 2 * 8 + 16 + 1);
    }
}
