//! Per-direction TCP stream reassembly (pure, no I/O).
//!
//! A [`HalfStream`] turns the TCP segments of one direction of one connection
//! into an ordered byte stream of [`Chunk`]s for the application-layer parsers.
//!
//! # Policy
//!
//! * **Delivery on arrival, not on ACK.** Bytes are handed to the parser as
//!   soon as they are contiguous with what was already delivered; the sensor
//!   does not wait for the receiver's acknowledgement.
//! * **Zero-copy hot path.** A segment that starts exactly at the expected
//!   offset while nothing is buffered is delivered straight from the caller's
//!   slice, without allocating or copying.
//! * **First-received bytes win.** When a segment overlaps bytes that were
//!   already delivered or buffered, the earlier bytes are kept and only the new
//!   part of the segment is used. Overlapping bytes are compared against
//!   *buffered* data (counted in [`StreamStats::overlap_mismatch`] when they
//!   differ); delivered data is not retained, so overlaps with it are counted
//!   but cannot be compared.
//! * **Bounded buffering.** Out-of-order bytes are copied into a sorted list of
//!   segments limited by [`StreamConfig::max_buffered_bytes`] and
//!   [`StreamConfig::max_segments`]. Whenever storing a new segment would
//!   exceed a bound, the *earliest* hole is declared lost: a [`Chunk::Gap`] is
//!   delivered for it, then the buffered data that became contiguous, and this
//!   is repeated only until the new segment fits (or has become in-order).
//!   The bounds are never exceeded, not even transiently. The buffer is freed
//!   whenever it drains empty, so an idle stream owns no heap memory.
//! * **Sequence numbers wrap.** Positions are tracked as a `u64` offset from
//!   the anchor; a segment's position is derived from the signed 32-bit
//!   distance between its sequence number and the next expected one.
//! * **Window sanity.** A segment starting more than 1 GiB ahead of the next
//!   expected byte is considered bogus (or from another sequence space) and is
//!   dropped without affecting the stream; it is counted in
//!   [`StreamStats::out_of_window`]. Anything *behind* the expected byte is
//!   treated as already seen.
//! * **Mid-stream pickup.** A stream that saw no SYN anchors at the first
//!   segment it sees. Data sent before that segment (even if it arrives later)
//!   is treated as already seen and dropped.
//! * **FIN.** The first FIN fixes the end of the stream (a later FIN at a
//!   different position is ignored, as is a FIN positioned before data already
//!   delivered). Bytes at or beyond the FIN position, arriving later or
//!   already buffered, are discarded and counted in
//!   [`StreamStats::after_fin`]. The stream is closed once everything up to the
//!   FIN was delivered (as data or as a gap).
//! * **Holes the receiver acknowledged.** When the peer acknowledges bytes
//!   beyond a hole that is followed by buffered data ([`HalfStream::acked`]),
//!   the receiver got the missing bytes and the capture did not: they will
//!   not come. The hole is declared a [`Chunk::Gap`] at once and the buffered
//!   data up to the acknowledged point is delivered, so that a request
//!   queued behind a capture loss reaches its parser before the response
//!   that acknowledges it (instead of at flow end).
//! * **Flush.** When the flow ends, [`HalfStream::flush`] delivers all
//!   buffered data in order with gaps for the holes, including a final gap up
//!   to the FIN if its position is known.

/// Segments starting further than this ahead of the next expected byte are
/// dropped as out-of-window.
const MAX_AHEAD: u64 = 1 << 30;

/// Sentinel for "no FIN seen" (keeps [`HalfStream`] small).
const NO_FIN: u64 = u64::MAX;

/// Limits for out-of-order buffering, per direction.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Maximum number of out-of-order payload bytes held per direction.
    pub max_buffered_bytes: usize,
    /// Maximum number of out-of-order segments held per direction.
    pub max_segments: usize,
}

impl Default for StreamConfig {
    /// 256 KiB and 256 segments per direction.
    fn default() -> Self {
        StreamConfig {
            max_buffered_bytes: 256 * 1024,
            max_segments: 256,
        }
    }
}

/// Reassembly counters. Each call to [`HalfStream::segment`] increments
/// `segments` and at most one of `in_order` / `out_of_order` /
/// `retransmissions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Calls to [`HalfStream::segment`].
    pub segments: u64,
    /// Segments whose new data started exactly at the expected offset.
    pub in_order: u64,
    /// Segments whose new data started beyond the expected offset (buffered).
    pub out_of_order: u64,
    /// Segments carrying data that was entirely seen before (nothing new).
    pub retransmissions: u64,
    /// Segments carrying both new and already-seen bytes.
    pub overlaps: u64,
    /// Segments whose already-seen bytes differed from the buffered ones
    /// (the buffered bytes were kept).
    pub overlap_mismatch: u64,
    /// Number of [`Chunk::Gap`] events declared (a gap larger than `u32::MAX`
    /// is delivered as several chunks but counted once).
    pub gaps: u64,
    /// Total bytes declared lost.
    pub gap_bytes: u64,
    /// Times a buffer bound forced a gap.
    pub buffer_overflows: u64,
    /// Segments (or buffered data) with bytes at or beyond the FIN; discarded.
    pub after_fin: u64,
    /// Segments starting more than 1 GiB ahead of the expected byte; dropped.
    pub out_of_window: u64,
}

/// A piece of the reassembled stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// This many bytes were lost; parsers must resync.
    Gap(u32),
}

/// One buffered out-of-order segment; `start` is a stream offset.
#[derive(Clone, Debug)]
struct Seg {
    start: u64,
    data: Box<[u8]>,
}

impl Seg {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

/// Out-of-order buffer: sorted by `start`, non-overlapping, every segment
/// starts strictly after the stream's next expected offset.
#[derive(Clone, Debug, Default)]
struct OooBuf {
    segs: Vec<Seg>,
    bytes: usize,
}

/// What happened to one segment's data (folded into stats once per call).
#[derive(Default)]
struct Tally {
    arrived_ooo: bool,
    new_data: bool,
    seen: bool,
    mismatch: bool,
}

/// One direction of one TCP connection.
///
/// Small when idle (no heap allocation unless out-of-order data is held).
#[derive(Clone, Debug, Default)]
pub struct HalfStream {
    ooo: Option<Box<OooBuf>>,
    /// Stream offset of the next expected byte (data + gap bytes so far).
    next: u64,
    /// Data bytes delivered (excludes gaps).
    delivered: u64,
    /// Stream offset of the FIN, or `NO_FIN`.
    fin: u64,
    /// Sequence number of stream offset 0 (not anchored: the peer's latest
    /// acknowledgement when `peer_ack`).
    base: u32,
    anchored: bool,
    /// Not anchored yet, and `base` holds what the peer acknowledged.
    peer_ack: bool,
}

impl HalfStream {
    /// A stream that is not yet anchored to a sequence number.
    pub fn new() -> Self {
        HalfStream {
            ooo: None,
            next: 0,
            delivered: 0,
            fin: NO_FIN,
            base: 0,
            anchored: false,
            peer_ack: false,
        }
    }

    /// Whether the stream knows its initial sequence number.
    pub fn is_anchored(&self) -> bool {
        self.anchored
    }

    /// Anchor at a SYN: the next expected byte is `isn + 1`.
    ///
    /// A SYN arriving after the stream already made progress (data delivered
    /// or buffered, or a FIN seen) is ignored.
    pub fn on_syn(&mut self, isn: u32) {
        let untouched = self.next == 0 && self.ooo.is_none() && self.fin == NO_FIN;
        if !self.anchored || untouched {
            self.base = isn.wrapping_add(1);
            self.anchored = true;
            self.peer_ack = false;
        }
    }

    /// The peer acknowledged every byte of this direction before sequence
    /// number `ack`. Until the stream anchors, the latest one is kept: a
    /// stream picked up mid-stream does not anchor at a segment lying wholly
    /// before it (a keep-alive probe re-sending one old byte, a
    /// retransmission), which the receiver already has.
    pub fn note_peer_ack(&mut self, ack: u32) {
        if !self.anchored {
            self.base = ack;
            self.peer_ack = true;
        }
    }

    /// Process a segment with sequence number `seq` and `payload`; `fin`
    /// marks the end of the stream after this payload.
    ///
    /// If the stream is not anchored (flow picked up mid-stream) it anchors at
    /// `seq`, unless the segment lies wholly before what the peer already
    /// acknowledged ([`HalfStream::note_peer_ack`]): such a segment is
    /// counted as a retransmission and ignored. Newly contiguous data is
    /// passed to `deliver` in order; out-of-order data is buffered within
    /// `cfg`'s bounds (see the module docs for the exact policy).
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        cfg: &StreamConfig,
        stats: &mut StreamStats,
        deliver: &mut dyn FnMut(Chunk<'_>),
    ) {
        stats.segments += 1;
        if !self.anchored {
            let end = seq.wrapping_add(payload.len() as u32);
            if self.peer_ack
                && !fin
                && !payload.is_empty()
                && self.base.wrapping_sub(end) as i32 >= 0
            {
                stats.retransmissions += 1;
                return;
            }
            self.base = seq;
            self.anchored = true;
            self.peer_ack = false;
        }
        let expected = self.base.wrapping_add(self.next as u32);
        let diff = i64::from(seq.wrapping_sub(expected) as i32);
        if diff > MAX_AHEAD as i64 {
            stats.out_of_window += 1;
            return;
        }
        let len = payload.len() as u64;
        // Bytes of the payload lying before the expected offset.
        let skip = if diff < 0 {
            diff.unsigned_abs().min(len)
        } else {
            0
        };
        let start = self.next.saturating_add(diff.max(0) as u64);
        let end = if diff < 0 {
            self.next.saturating_add(len - skip)
        } else {
            start.saturating_add(len)
        };

        if fin && (diff >= 0 || len >= diff.unsigned_abs()) {
            self.note_fin(end, stats);
        }

        let mut keep_end = end;
        if self.fin != NO_FIN && keep_end > self.fin {
            keep_end = self.fin.max(start);
            stats.after_fin += 1;
        }

        let mut t = Tally {
            arrived_ooo: start > self.next,
            seen: skip > 0,
            ..Tally::default()
        };
        if keep_end > start {
            // Both bounds are within the payload: skip <= len and
            // keep_end - start <= len - skip.
            let from = skip as usize;
            let to = from + (keep_end - start) as usize;
            if let Some(data) = payload.get(from..to) {
                self.place(start, data, cfg, stats, &mut t, deliver);
            }
        }

        if t.new_data {
            if t.arrived_ooo {
                stats.out_of_order += 1;
            } else {
                stats.in_order += 1;
            }
            if t.seen {
                stats.overlaps += 1;
            }
        } else if t.seen {
            stats.retransmissions += 1;
        }
        if t.mismatch {
            stats.overlap_mismatch += 1;
        }
    }

    /// The flow ended (timeout, RST, eviction): deliver everything still
    /// buffered, with [`Chunk::Gap`]s for the holes (and for the missing tail
    /// before a FIN whose position is known).
    pub fn flush(&mut self, stats: &mut StreamStats, deliver: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(first) = self.first_buffered() {
            self.gap_to(first, stats, deliver);
            self.drain(deliver);
        }
        if self.fin != NO_FIN && self.fin > self.next {
            self.gap_to(self.fin, stats, deliver);
        }
    }

    /// The peer acknowledged every byte before sequence number `ack`. Holes
    /// below that point that are followed by buffered data are declared lost
    /// and the buffered data up to there is delivered (see the module docs).
    /// Nothing happens when no data is buffered: an acknowledgement alone
    /// never declares a gap (the bytes may still arrive, reordered).
    pub fn acked(&mut self, ack: u32, stats: &mut StreamStats, deliver: &mut dyn FnMut(Chunk<'_>)) {
        if !self.anchored || self.ooo.is_none() {
            return;
        }
        let expected = self.base.wrapping_add(self.next as u32);
        let diff = i64::from(ack.wrapping_sub(expected) as i32);
        if diff <= 0 || diff > MAX_AHEAD as i64 {
            return;
        }
        let ack_off = self.next + diff as u64;
        while let Some(first) = self.first_buffered() {
            if first >= ack_off {
                break;
            }
            self.gap_to(first, stats, deliver);
            self.drain(deliver);
        }
    }

    /// Data bytes delivered so far (gaps excluded).
    pub fn bytes_delivered(&self) -> u64 {
        self.delivered
    }

    /// Stream offset of the next expected byte: data delivered plus gap
    /// bytes declared.
    pub fn offset(&self) -> u64 {
        self.next
    }

    /// Sequence number of the next expected byte, if anchored.
    pub fn next_seq(&self) -> Option<u32> {
        self.anchored
            .then(|| self.base.wrapping_add(self.next as u32))
    }

    /// Out-of-order payload bytes currently held.
    pub fn buffered_bytes(&self) -> usize {
        self.ooo.as_ref().map_or(0, |b| b.bytes)
    }

    /// Out-of-order segments currently held.
    pub fn buffered_segments(&self) -> usize {
        self.ooo.as_ref().map_or(0, |b| b.segs.len())
    }

    /// FIN seen and everything up to it delivered.
    pub fn is_closed(&self) -> bool {
        self.fin != NO_FIN && self.next >= self.fin
    }

    fn first_buffered(&self) -> Option<u64> {
        self.ooo
            .as_ref()
            .and_then(|b| b.segs.first())
            .map(|s| s.start)
    }

    /// Record the FIN at stream offset `at` (first FIN wins) and discard any
    /// buffered bytes beyond it.
    fn note_fin(&mut self, at: u64, stats: &mut StreamStats) {
        if self.fin != NO_FIN || at < self.next {
            return;
        }
        self.fin = at;
        let Some(buf) = self.ooo.as_mut() else {
            return;
        };
        let mut dropped = false;
        while let Some(last) = buf.segs.last_mut() {
            if last.start >= at {
                buf.bytes -= last.data.len();
                buf.segs.pop();
                dropped = true;
            } else if last.end() > at {
                let keep = (at - last.start) as usize;
                buf.bytes -= last.data.len() - keep;
                last.data = last.data.get(..keep).unwrap_or_default().into();
                dropped = true;
                break;
            } else {
                break;
            }
        }
        if dropped {
            stats.after_fin += 1;
        }
        if buf.segs.is_empty() {
            self.ooo = None;
        }
    }

    /// Place new bytes `data` at stream offset `start` (>= `self.next`).
    fn place(
        &mut self,
        mut start: u64,
        mut data: &[u8],
        cfg: &StreamConfig,
        stats: &mut StreamStats,
        t: &mut Tally,
        deliver: &mut dyn FnMut(Chunk<'_>),
    ) {
        loop {
            // A forced gap may have delivered buffered bytes overlapping us.
            if start < self.next {
                let cut = (self.next - start).min(data.len() as u64);
                data = data.get(cut as usize..).unwrap_or_default();
                start += cut;
                t.seen = true;
            }
            if data.is_empty() {
                return;
            }
            if start == self.next {
                self.deliver_in_order(data, t, deliver);
                t.new_data = true;
                self.drain(deliver);
                return;
            }
            let (new_bytes, new_segs) = self.scan(start, data, t);
            if new_bytes == 0 {
                return;
            }
            let (held_bytes, held_segs) = self
                .ooo
                .as_ref()
                .map_or((0, 0), |b| (b.bytes, b.segs.len()));
            if held_bytes.saturating_add(new_bytes) <= cfg.max_buffered_bytes
                && held_segs.saturating_add(new_segs) <= cfg.max_segments
            {
                self.insert(start, data);
                t.new_data = true;
                return;
            }
            // Over a bound: declare the earliest hole lost and retry.
            stats.buffer_overflows += 1;
            let target = match self.first_buffered() {
                Some(first) if first < start => first,
                _ => start,
            };
            self.gap_to(target, stats, deliver);
            self.drain(deliver);
        }
    }

    /// `data` starts exactly at `self.next`: deliver it, substituting the
    /// (first-received) buffered bytes wherever they overlap it.
    fn deliver_in_order(&mut self, data: &[u8], t: &mut Tally, deliver: &mut dyn FnMut(Chunk<'_>)) {
        let start = self.next;
        let end = start + data.len() as u64;
        let mut cursor = start;
        let mut used = 0;
        if let Some(buf) = self.ooo.as_ref() {
            for s in buf.segs.iter().take_while(|s| s.start < end) {
                if s.start > cursor {
                    let piece = slice(data, cursor - start, s.start - start);
                    deliver(Chunk::Data(piece));
                }
                let theirs = slice(&s.data, 0, end.min(s.end()) - s.start);
                let ours = slice(data, s.start - start, end.min(s.end()) - start);
                t.seen = true;
                if theirs != ours {
                    t.mismatch = true;
                }
                deliver(Chunk::Data(&s.data));
                cursor = s.end();
                used += 1;
            }
        }
        if cursor < end {
            deliver(Chunk::Data(slice(data, cursor - start, end - start)));
            cursor = end;
        }
        self.delivered += cursor - start;
        self.next = cursor;
        self.remove_front(used);
    }

    /// Compare `data` at `start` with overlapping buffered segments; return
    /// the number of bytes and of segments that storing it would add.
    fn scan(&self, start: u64, data: &[u8], t: &mut Tally) -> (usize, usize) {
        let end = start + data.len() as u64;
        let Some(buf) = self.ooo.as_ref() else {
            return (data.len(), 1);
        };
        let first = buf.segs.partition_point(|s| s.end() <= start);
        let mut cursor = start;
        let (mut bytes, mut segs) = (0usize, 0usize);
        for s in buf.segs.iter().skip(first).take_while(|s| s.start < end) {
            if s.start > cursor {
                bytes += (s.start - cursor) as usize;
                segs += 1;
            }
            let lo = s.start.max(start);
            let hi = s.end().min(end);
            t.seen = true;
            if slice(&s.data, lo - s.start, hi - s.start) != slice(data, lo - start, hi - start) {
                t.mismatch = true;
            }
            cursor = cursor.max(s.end());
        }
        if cursor < end {
            bytes += (end - cursor) as usize;
            segs += 1;
        }
        (bytes, segs)
    }

    /// Copy the parts of `data` (at `start`, beyond `self.next`) that no
    /// buffered segment covers into the buffer.
    fn insert(&mut self, start: u64, data: &[u8]) {
        let end = start + data.len() as u64;
        let buf = self.ooo.get_or_insert_with(Box::default);
        let mut i = buf.segs.partition_point(|s| s.end() <= start);
        let mut cursor = start;
        while cursor < end {
            let piece_end = match buf.segs.get(i) {
                Some(s) if s.start <= cursor => {
                    cursor = cursor.max(s.end());
                    i += 1;
                    continue;
                }
                Some(s) => s.start.min(end),
                None => end,
            };
            let piece: Box<[u8]> = slice(data, cursor - start, piece_end - start).into();
            buf.bytes += piece.len();
            buf.segs.insert(
                i,
                Seg {
                    start: cursor,
                    data: piece,
                },
            );
            i += 1;
            cursor = piece_end;
        }
    }

    /// Deliver buffered segments that are contiguous with `self.next`.
    fn drain(&mut self, deliver: &mut dyn FnMut(Chunk<'_>)) {
        let mut used = 0;
        if let Some(buf) = self.ooo.as_ref() {
            for s in buf.segs.iter() {
                if s.start != self.next {
                    break;
                }
                deliver(Chunk::Data(&s.data));
                self.next = s.end();
                self.delivered += s.data.len() as u64;
                used += 1;
            }
        }
        self.remove_front(used);
    }

    /// Drop the first `n` buffered segments (already delivered); free the
    /// buffer when it becomes empty.
    fn remove_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(buf) = self.ooo.as_mut() {
            let n = n.min(buf.segs.len());
            let freed: usize = buf.segs.iter().take(n).map(|s| s.data.len()).sum();
            buf.bytes -= freed;
            buf.segs.drain(..n);
            if buf.segs.is_empty() {
                self.ooo = None;
            }
        }
    }

    /// Declare the bytes from `self.next` up to `target` lost.
    fn gap_to(&mut self, target: u64, stats: &mut StreamStats, deliver: &mut dyn FnMut(Chunk<'_>)) {
        if target <= self.next {
            return;
        }
        let mut left = target - self.next;
        stats.gaps += 1;
        stats.gap_bytes += left;
        while left > 0 {
            let n = left.min(u64::from(u32::MAX));
            deliver(Chunk::Gap(n as u32));
            left -= n;
        }
        self.next = target;
    }
}

/// `data[from..to]` for offsets known to be in range; empty if not.
fn slice(data: &[u8], from: u64, to: u64) -> &[u8] {
    data.get(from as usize..to as usize).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        D(Vec<u8>),
        G(u32),
    }

    /// Collects chunks, merging adjacent data so tests do not depend on how
    /// delivery was split.
    #[derive(Default)]
    struct Sink {
        evs: Vec<Ev>,
    }

    impl Sink {
        fn push(&mut self, c: Chunk<'_>) {
            match c {
                Chunk::Data(d) => {
                    assert!(!d.is_empty(), "empty Data chunk delivered");
                    if let Some(Ev::D(prev)) = self.evs.last_mut() {
                        prev.extend_from_slice(d);
                    } else {
                        self.evs.push(Ev::D(d.to_vec()));
                    }
                }
                Chunk::Gap(n) => {
                    assert!(n > 0, "empty Gap chunk delivered");
                    self.evs.push(Ev::G(n));
                }
            }
        }
    }

    struct TSeg<'a> {
        seq: u32,
        data: &'a [u8],
        fin: bool,
    }

    fn s(seq: u32, data: &[u8]) -> TSeg<'_> {
        TSeg {
            seq,
            data,
            fin: false,
        }
    }

    fn f(seq: u32, data: &[u8]) -> TSeg<'_> {
        TSeg {
            seq,
            data,
            fin: true,
        }
    }

    fn d(b: &[u8]) -> Ev {
        Ev::D(b.to_vec())
    }

    struct Case<'a> {
        name: &'a str,
        cfg: StreamConfig,
        syn: Option<u32>,
        segs: Vec<TSeg<'a>>,
        flush: bool,
        want: Vec<Ev>,
        stats: StreamStats,
        closed: bool,
        delivered: u64,
        buffered: usize,
    }

    fn st(set: impl FnOnce(&mut StreamStats)) -> StreamStats {
        let mut s = StreamStats::default();
        set(&mut s);
        s
    }

    fn small(bytes: usize, segs: usize) -> StreamConfig {
        StreamConfig {
            max_buffered_bytes: bytes,
            max_segments: segs,
        }
    }

    fn run(
        cfg: &StreamConfig,
        syn: Option<u32>,
        segs: &[TSeg<'_>],
        flush: bool,
    ) -> (HalfStream, Sink, StreamStats) {
        let mut h = HalfStream::new();
        let mut sink = Sink::default();
        let mut stats = StreamStats::default();
        if let Some(isn) = syn {
            h.on_syn(isn);
        }
        for sg in segs {
            h.segment(sg.seq, sg.data, sg.fin, cfg, &mut stats, &mut |c| {
                sink.push(c)
            });
            assert!(h.buffered_bytes() <= cfg.max_buffered_bytes);
            assert!(h.buffered_segments() <= cfg.max_segments);
        }
        if flush {
            h.flush(&mut stats, &mut |c| sink.push(c));
            assert_eq!(h.buffered_bytes(), 0);
        }
        (h, sink, stats)
    }

    /// step7_s300_AuthPassword.pcapng frames 3-4: the client's request
    /// follows bytes the capture lost; the server's response acknowledges
    /// past it. The request must come out then, not at flush.
    #[test]
    fn peer_ack_past_a_hole_releases_the_buffered_data() {
        let def = StreamConfig::default();
        let (mut h, mut sink, mut stats) =
            run(&def, Some(99), &[s(100, b"ab"), s(110, b"req")], false);
        assert_eq!(sink.evs, vec![d(b"ab")]);
        // Acks that do not pass the hole's end, or go backwards: nothing.
        for ack in [100, 102, 105, 110, 50] {
            h.acked(ack, &mut stats, &mut |c| sink.push(c));
        }
        assert_eq!(sink.evs, vec![d(b"ab")]);
        assert_eq!(h.buffered_segments(), 1);
        // The response acknowledges the request: hole 102..110 is lost.
        h.acked(113, &mut stats, &mut |c| sink.push(c));
        assert_eq!(sink.evs, vec![d(b"ab"), Ev::G(8), d(b"req")]);
        assert_eq!((h.buffered_segments(), h.offset()), (0, 13));
        assert_eq!((stats.gaps, stats.gap_bytes), (1, 8));
        // Only holes below the ack: the second one stays.
        h.segment(120, b"x", false, &def, &mut stats, &mut |c| sink.push(c));
        h.segment(130, b"y", false, &def, &mut stats, &mut |c| sink.push(c));
        h.acked(125, &mut stats, &mut |c| sink.push(c));
        assert_eq!(sink.evs[3..], [Ev::G(7), d(b"x")]);
        assert_eq!(h.buffered_segments(), 1);
        // Nothing buffered: an ack alone declares nothing.
        let mut e = HalfStream::new();
        e.on_syn(0);
        e.acked(1000, &mut stats, &mut |c| sink.push(c));
        assert_eq!(e.offset(), 0);
    }

    /// Sample_File_MMS_and_GOOSE.pcap frames 41-44: picked up mid-stream,
    /// the server acknowledges the client up to 137, then the client's
    /// first segment is a keep-alive probe re-sending byte 136. The stream
    /// used to anchor there and deliver that byte (the probe failed on it).
    #[test]
    fn mid_stream_pickup_ignores_a_keep_alive_below_the_peer_ack() {
        let def = StreamConfig::default();
        let mut stats = StreamStats::default();
        let mut sink = Sink::default();
        let mut h = HalfStream::new();
        h.note_peer_ack(1_345_486_137);
        h.segment(1_345_486_136, &[0], false, &def, &mut stats, &mut |c| {
            sink.push(c)
        });
        assert!(sink.evs.is_empty());
        assert!(!h.is_anchored());
        assert_eq!(stats.retransmissions, 1);
        h.segment(1_345_486_137, b"abc", false, &def, &mut stats, &mut |c| {
            sink.push(c)
        });
        assert_eq!(sink.evs, vec![d(b"abc")]);
        assert_eq!(h.next_seq(), Some(1_345_486_140));
        // Data beyond the peer's (older) ack anchors where it starts.
        let mut h = HalfStream::new();
        h.note_peer_ack(100);
        h.segment(200, b"x", false, &def, &mut stats, &mut |c| sink.push(c));
        assert_eq!(h.next_seq(), Some(201));
        // Acks after anchoring change nothing.
        h.note_peer_ack(500);
        assert_eq!(h.next_seq(), Some(201));
        // A segment straddling the ack anchors at its start.
        let mut h = HalfStream::new();
        h.note_peer_ack(100);
        h.segment(99, b"yz", false, &def, &mut stats, &mut |c| sink.push(c));
        assert_eq!(h.next_seq(), Some(101));
    }

    #[test]
    fn table() {
        let def = StreamConfig::default();
        let cases = vec![
            Case {
                name: "in order",
                cfg: def,
                syn: Some(99),
                segs: vec![s(100, b"abc"), s(103, b"def"), s(106, b"g")],
                flush: false,
                want: vec![d(b"abcdefg")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 3;
                }),
                closed: false,
                delivered: 7,
                buffered: 0,
            },
            Case {
                name: "reversed order",
                cfg: def,
                syn: Some(0),
                segs: vec![s(7, b"gh"), s(5, b"ef"), s(3, b"cd"), s(1, b"ab")],
                flush: false,
                want: vec![d(b"abcdefgh")],
                stats: st(|s| {
                    s.segments = 4;
                    s.in_order = 1;
                    s.out_of_order = 3;
                }),
                closed: false,
                delivered: 8,
                buffered: 0,
            },
            Case {
                name: "duplicates delivered once",
                cfg: def,
                syn: Some(0),
                segs: vec![
                    s(1, b"abc"),
                    s(1, b"abc"),
                    s(7, b"ghi"),
                    s(7, b"ghi"),
                    s(4, b"def"),
                    s(4, b"def"),
                ],
                flush: false,
                want: vec![d(b"abcdefghi")],
                stats: st(|s| {
                    s.segments = 6;
                    s.in_order = 2;
                    s.out_of_order = 1;
                    s.retransmissions = 3;
                }),
                closed: false,
                delivered: 9,
                buffered: 0,
            },
            Case {
                name: "overlap with delivered, identical",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1, b"abcd"), s(3, b"cdef")],
                flush: false,
                want: vec![d(b"abcdef")],
                stats: st(|s| {
                    s.segments = 2;
                    s.in_order = 2;
                    s.overlaps = 1;
                }),
                closed: false,
                delivered: 6,
                buffered: 0,
            },
            Case {
                name: "overlap with buffered, identical",
                cfg: def,
                syn: Some(0),
                segs: vec![s(5, b"efgh"), s(3, b"cdef"), s(1, b"ab")],
                flush: false,
                want: vec![d(b"abcdefgh")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 2;
                    s.overlaps = 1;
                }),
                closed: false,
                delivered: 8,
                buffered: 0,
            },
            Case {
                name: "overlap with buffered, different: first wins",
                cfg: def,
                syn: Some(0),
                segs: vec![s(5, b"efgh"), s(3, b"cdXY"), s(1, b"ab")],
                flush: false,
                want: vec![d(b"abcdefgh")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 2;
                    s.overlaps = 1;
                    s.overlap_mismatch = 1;
                }),
                closed: false,
                delivered: 8,
                buffered: 0,
            },
            Case {
                name: "in-order segment spanning buffered data, different: first wins",
                cfg: def,
                syn: Some(0),
                segs: vec![s(4, b"de"), s(8, b"h"), s(1, b"abcXYfgZij")],
                flush: false,
                want: vec![d(b"abcdefghij")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 2;
                    s.overlaps = 1;
                    s.overlap_mismatch = 1;
                }),
                closed: false,
                delivered: 10,
                buffered: 0,
            },
            Case {
                name: "retransmission differing from buffered",
                cfg: def,
                syn: Some(0),
                segs: vec![s(4, b"def"), s(4, b"DEF"), s(1, b"abc")],
                flush: false,
                want: vec![d(b"abcdef")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 1;
                    s.retransmissions = 1;
                    s.overlap_mismatch = 1;
                }),
                closed: false,
                delivered: 6,
                buffered: 0,
            },
            Case {
                name: "out-of-order segment spanning two buffered ones",
                cfg: def,
                syn: Some(0),
                segs: vec![s(4, b"d"), s(7, b"g"), s(3, b"cdefghi"), s(1, b"ab")],
                flush: false,
                want: vec![d(b"abcdefghi")],
                stats: st(|s| {
                    s.segments = 4;
                    s.in_order = 1;
                    s.out_of_order = 3;
                    s.overlaps = 1;
                }),
                closed: false,
                delivered: 9,
                buffered: 0,
            },
            Case {
                name: "hole never fills, flush",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1, b"ab"), s(6, b"fg"), s(10, b"j")],
                flush: true,
                want: vec![d(b"ab"), Ev::G(3), d(b"fg"), Ev::G(2), d(b"j")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 2;
                    s.gaps = 2;
                    s.gap_bytes = 5;
                }),
                closed: false,
                delivered: 5,
                buffered: 0,
            },
            Case {
                name: "byte bound exceeded: earliest hole declared lost",
                cfg: small(6, 100),
                syn: Some(0),
                segs: vec![
                    s(1, b"ab"),
                    s(5, b"ef"),
                    s(9, b"ij"),
                    s(13, b"mn"),
                    s(17, b"qr"),
                ],
                flush: false,
                want: vec![d(b"ab"), Ev::G(2), d(b"ef")],
                stats: st(|s| {
                    s.segments = 5;
                    s.in_order = 1;
                    s.out_of_order = 4;
                    s.gaps = 1;
                    s.gap_bytes = 2;
                    s.buffer_overflows = 1;
                }),
                closed: false,
                delivered: 4,
                buffered: 6,
            },
            Case {
                name: "segment bound exceeded",
                cfg: small(1000, 2),
                syn: Some(0),
                segs: vec![s(3, b"c"), s(5, b"e"), s(7, b"g"), s(2, b"b")],
                flush: false,
                want: vec![Ev::G(2), d(b"c")],
                stats: st(|s| {
                    s.segments = 4;
                    s.out_of_order = 3;
                    s.retransmissions = 1;
                    s.gaps = 1;
                    s.gap_bytes = 2;
                    s.buffer_overflows = 1;
                }),
                closed: false,
                delivered: 1,
                buffered: 2,
            },
            Case {
                name: "oversized out-of-order segment becomes in-order after gap",
                cfg: small(4, 4),
                syn: Some(0),
                segs: vec![s(1, b"a"), s(4, b"defghij")],
                flush: false,
                want: vec![d(b"a"), Ev::G(2), d(b"defghij")],
                stats: st(|s| {
                    s.segments = 2;
                    s.in_order = 1;
                    s.out_of_order = 1;
                    s.gaps = 1;
                    s.gap_bytes = 2;
                    s.buffer_overflows = 1;
                }),
                closed: false,
                delivered: 8,
                buffered: 0,
            },
            Case {
                name: "zero-size buffer: every hole is a gap",
                cfg: small(0, 0),
                syn: Some(0),
                segs: vec![s(3, b"cd"), s(1, b"ab"), s(7, b"g")],
                flush: false,
                want: vec![Ev::G(2), d(b"cd"), Ev::G(2), d(b"g")],
                stats: st(|s| {
                    s.segments = 3;
                    s.out_of_order = 2;
                    s.retransmissions = 1;
                    s.gaps = 2;
                    s.gap_bytes = 4;
                    s.buffer_overflows = 2;
                }),
                closed: false,
                delivered: 3,
                buffered: 0,
            },
            Case {
                name: "wraparound across 2^32",
                cfg: def,
                syn: Some(u32::MAX - 3),
                segs: vec![s(u32::MAX - 2, b"abc"), s(1, b"ef"), s(0, b"d"), s(3, b"g")],
                flush: false,
                want: vec![d(b"abcdefg")],
                stats: st(|s| {
                    s.segments = 4;
                    s.in_order = 3;
                    s.out_of_order = 1;
                }),
                closed: false,
                delivered: 7,
                buffered: 0,
            },
            Case {
                name: "single segment straddling 2^32",
                cfg: def,
                syn: Some(u32::MAX - 2),
                segs: vec![s(u32::MAX - 1, b"abcd"), s(2, b"ef")],
                flush: false,
                want: vec![d(b"abcdef")],
                stats: st(|s| {
                    s.segments = 2;
                    s.in_order = 2;
                }),
                closed: false,
                delivered: 6,
                buffered: 0,
            },
            Case {
                name: "mid-stream anchoring; earlier data treated as seen",
                cfg: def,
                syn: None,
                segs: vec![s(5000, b"xyz"), s(4998, b"vwxyz1"), s(4990, b"old")],
                flush: false,
                want: vec![d(b"xyz1")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 2;
                    s.overlaps = 1;
                    s.retransmissions = 1;
                }),
                closed: false,
                delivered: 4,
                buffered: 0,
            },
            Case {
                name: "FIN with data, then data after FIN ignored",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1, b"ab"), f(3, b"cd"), s(5, b"zz"), s(4, b"dQ")],
                flush: false,
                want: vec![d(b"abcd")],
                stats: st(|s| {
                    s.segments = 4;
                    s.in_order = 2;
                    s.after_fin = 2;
                    s.retransmissions = 1;
                }),
                closed: true,
                delivered: 4,
                buffered: 0,
            },
            Case {
                name: "zero-length FIN closes",
                cfg: def,
                syn: Some(10),
                segs: vec![s(11, b"abc"), f(14, b"")],
                flush: false,
                want: vec![d(b"abc")],
                stats: st(|s| {
                    s.segments = 2;
                    s.in_order = 1;
                }),
                closed: true,
                delivered: 3,
                buffered: 0,
            },
            Case {
                name: "FIN before missing data: closes when hole fills",
                cfg: def,
                syn: Some(0),
                segs: vec![f(4, b"d"), s(1, b"abc")],
                flush: false,
                want: vec![d(b"abcd")],
                stats: st(|s| {
                    s.segments = 2;
                    s.in_order = 1;
                    s.out_of_order = 1;
                }),
                closed: true,
                delivered: 4,
                buffered: 0,
            },
            Case {
                name: "FIN truncates buffered data beyond it",
                cfg: def,
                syn: Some(0),
                segs: vec![s(5, b"efgh"), s(10, b"jk"), f(2, b"bcd"), s(1, b"a")],
                flush: false,
                want: vec![d(b"abcd")],
                stats: st(|s| {
                    s.segments = 4;
                    s.in_order = 1;
                    s.out_of_order = 3;
                    s.after_fin = 1;
                }),
                closed: true,
                delivered: 4,
                buffered: 0,
            },
            Case {
                name: "flush with known FIN gaps up to it",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1, b"ab"), s(5, b"e"), f(9, b"")],
                flush: true,
                want: vec![d(b"ab"), Ev::G(2), d(b"e"), Ev::G(3)],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                    s.out_of_order = 1;
                    s.gaps = 2;
                    s.gap_bytes = 5;
                }),
                closed: true,
                delivered: 3,
                buffered: 0,
            },
            Case {
                name: "far-ahead segment dropped as out of window",
                cfg: def,
                syn: Some(0),
                segs: vec![
                    s(1, b"ab"),
                    s(3u32.wrapping_add(1 << 30).wrapping_add(1), b"x"),
                    s(3, b"c"),
                ],
                flush: true,
                want: vec![d(b"abc")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 2;
                    s.out_of_window = 1;
                }),
                closed: false,
                delivered: 3,
                buffered: 0,
            },
            Case {
                name: "segment exactly 1 GiB ahead is buffered",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1u32.wrapping_add(1 << 30), b"x")],
                flush: false,
                want: vec![],
                stats: st(|s| {
                    s.segments = 1;
                    s.out_of_order = 1;
                }),
                closed: false,
                delivered: 0,
                buffered: 1,
            },
            Case {
                name: "empty segments change nothing",
                cfg: def,
                syn: Some(0),
                segs: vec![s(1, b""), s(5, b""), s(1, b"a")],
                flush: false,
                want: vec![d(b"a")],
                stats: st(|s| {
                    s.segments = 3;
                    s.in_order = 1;
                }),
                closed: false,
                delivered: 1,
                buffered: 0,
            },
        ];
        for c in cases {
            let (h, sink, stats) = run(&c.cfg, c.syn, &c.segs, c.flush);
            assert_eq!(sink.evs, c.want, "{}: chunks", c.name);
            assert_eq!(stats, c.stats, "{}: stats", c.name);
            assert_eq!(h.is_closed(), c.closed, "{}: closed", c.name);
            assert_eq!(h.bytes_delivered(), c.delivered, "{}: delivered", c.name);
            assert_eq!(h.buffered_bytes(), c.buffered, "{}: buffered", c.name);
            assert!(h.is_anchored(), "{}: anchored", c.name);
        }
    }

    #[test]
    fn in_order_path_is_zero_copy() {
        let payload = b"hello world".to_vec();
        let mut h = HalfStream::new();
        h.on_syn(41);
        let mut stats = StreamStats::default();
        let mut ptrs = Vec::new();
        h.segment(
            42,
            &payload,
            false,
            &StreamConfig::default(),
            &mut stats,
            &mut |c| {
                if let Chunk::Data(d) = c {
                    ptrs.push((d.as_ptr(), d.len()));
                }
            },
        );
        assert_eq!(ptrs, vec![(payload.as_ptr(), payload.len())]);
        assert!(h.ooo.is_none());
    }

    #[test]
    fn buffer_freed_when_drained() {
        let cfg = StreamConfig::default();
        let (h, sink, _) = run(&cfg, Some(0), &[s(3, b"c"), s(1, b"ab")], false);
        assert_eq!(sink.evs, vec![d(b"abc")]);
        assert!(h.ooo.is_none());
        let (h, _, _) = run(&cfg, Some(0), &[s(3, b"c"), s(9, b"x")], true);
        assert!(h.ooo.is_none());
    }

    #[test]
    fn memory_stays_bounded_under_flood() {
        let cfg = small(4096, 16);
        let mut h = HalfStream::new();
        h.on_syn(0);
        let mut stats = StreamStats::default();
        let mut out = Vec::new();
        let mut gap = 0u64;
        // Every other 100-byte block is missing.
        for i in 0..1000u32 {
            let block = [(i % 251) as u8; 100];
            h.segment(
                1 + (2 * i + 1) * 100,
                &block,
                false,
                &cfg,
                &mut stats,
                &mut |c| match c {
                    Chunk::Data(d) => out.extend_from_slice(d),
                    Chunk::Gap(n) => gap += u64::from(n),
                },
            );
            assert!(h.buffered_bytes() <= 4096);
            assert!(h.buffered_segments() <= 16);
        }
        assert_eq!(stats.out_of_order, 1000);
        assert_eq!(stats.buffer_overflows, 1000 - 16);
        assert_eq!(stats.gaps, 1000 - 16);
        assert_eq!(gap, stats.gap_bytes);
        assert_eq!(gap, (1000 - 16) * 100);
        assert_eq!(out.len() as u64, (1000 - 16) * 100);
        assert_eq!(h.bytes_delivered(), out.len() as u64);
        assert_eq!(h.offset(), gap + out.len() as u64);
        for (k, chunk) in out.chunks(100).enumerate() {
            assert!(chunk.iter().all(|&b| b == (k % 251) as u8), "block {k}");
        }
    }

    #[test]
    fn syn_handling() {
        let mut h = HalfStream::new();
        assert!(!h.is_anchored());
        assert_eq!(h.next_seq(), None);
        h.on_syn(7);
        assert!(h.is_anchored());
        assert_eq!(h.next_seq(), Some(8));
        // Retransmitted SYN with another ISN before any data: re-anchor.
        h.on_syn(100);
        assert_eq!(h.next_seq(), Some(101));
        let mut stats = StreamStats::default();
        let mut got = Vec::new();
        h.segment(
            101,
            b"ab",
            false,
            &StreamConfig::default(),
            &mut stats,
            &mut |c| {
                if let Chunk::Data(d) = c {
                    got.extend_from_slice(d);
                }
            },
        );
        // After progress, a SYN is ignored.
        h.on_syn(5000);
        assert_eq!(h.next_seq(), Some(103));
        assert_eq!(got, b"ab");
        assert_eq!(h.offset(), 2);
    }

    #[test]
    fn huge_gap_split_into_u32_chunks() {
        let mut h = HalfStream::new();
        h.next = 0;
        h.anchored = true;
        let mut stats = StreamStats::default();
        let mut gaps = Vec::new();
        h.gap_to(u64::from(u32::MAX) + 5, &mut stats, &mut |c| {
            if let Chunk::Gap(n) = c {
                gaps.push(n);
            }
        });
        assert_eq!(gaps, vec![u32::MAX, 5]);
        assert_eq!(stats.gaps, 1);
        assert_eq!(stats.gap_bytes, u64::from(u32::MAX) + 5);
    }

    use crate::test_util::XorShift;

    #[test]
    fn split_point_property() {
        for seed in 1..=500u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let msg: Vec<u8> = (0..2048).map(|_| rng.next() as u8).collect();
            // Start near the wrap point for some seeds.
            let isn = if seed % 3 == 0 {
                u32::MAX - rng.below(3000) as u32
            } else {
                rng.next() as u32
            };
            // Random cut points.
            let mut segs: Vec<(usize, usize)> = Vec::new();
            let mut at = 0;
            while at < msg.len() {
                let len = 1 + rng.below(200);
                let end = (at + len).min(msg.len());
                segs.push((at, end));
                at = end;
            }
            // Random duplicates, some shifted to overlap neighbours.
            for _ in 0..rng.below(segs.len() + 1) {
                let (a, b) = segs[rng.below(segs.len())];
                let a2 = a.saturating_sub(rng.below(50));
                let b2 = (b + rng.below(50)).min(msg.len());
                segs.push((a2, b2));
            }
            // Fisher-Yates shuffle.
            for i in (1..segs.len()).rev() {
                let j = rng.below(i + 1);
                segs.swap(i, j);
            }
            let mut h = HalfStream::new();
            h.on_syn(isn);
            let cfg = StreamConfig::default();
            let mut stats = StreamStats::default();
            let mut out = Vec::new();
            let mut gaps = 0;
            for &(a, b) in &segs {
                let seq = isn.wrapping_add(1).wrapping_add(a as u32);
                // FIN rides on whichever copy carries the last byte.
                let fin = b == msg.len();
                h.segment(seq, &msg[a..b], fin, &cfg, &mut stats, &mut |c| match c {
                    Chunk::Data(d) => out.extend_from_slice(d),
                    Chunk::Gap(_) => gaps += 1,
                });
            }
            assert_eq!(gaps, 0, "seed {seed}");
            assert_eq!(out, msg, "seed {seed}");
            assert_eq!(stats.gaps, 0, "seed {seed}");
            assert_eq!(stats.overlap_mismatch, 0, "seed {seed}");
            assert_eq!(stats.segments, segs.len() as u64, "seed {seed}");
            assert_eq!(
                stats.in_order + stats.out_of_order + stats.retransmissions,
                segs.len() as u64,
                "seed {seed}"
            );
            assert!(h.is_closed(), "seed {seed}");
            assert_eq!(h.buffered_bytes(), 0, "seed {seed}");
            assert!(h.ooo.is_none(), "seed {seed}");
            assert_eq!(h.bytes_delivered(), 2048, "seed {seed}");
        }
    }

    #[test]
    fn no_panic_on_arbitrary_input() {
        for seed in 1..=300u64 {
            let mut rng = XorShift(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
            let cfg = small(1 + rng.below(3000), 1 + rng.below(20));
            let mut h = HalfStream::new();
            if rng.below(2) == 0 {
                h.on_syn(rng.next() as u32);
            }
            let base = rng.next() as u32;
            let mut stats = StreamStats::default();
            let buf: Vec<u8> = (0..1500).map(|_| rng.next() as u8).collect();
            let mut data_bytes = 0u64;
            let mut gap_bytes = 0u64;
            for _ in 0..200 {
                let seq = match rng.below(4) {
                    0 => rng.next() as u32,
                    _ => base.wrapping_add(rng.below(8000) as u32),
                };
                let len = rng.below(buf.len());
                let fin = rng.below(30) == 0;
                h.segment(seq, &buf[..len], fin, &cfg, &mut stats, &mut |c| match c {
                    Chunk::Data(d) => data_bytes += d.len() as u64,
                    Chunk::Gap(n) => gap_bytes += u64::from(n),
                });
                if rng.below(50) == 0 {
                    h.on_syn(rng.next() as u32);
                }
                assert!(h.buffered_bytes() <= cfg.max_buffered_bytes);
                assert!(h.buffered_segments() <= cfg.max_segments);
            }
            h.flush(&mut stats, &mut |c| match c {
                Chunk::Data(d) => data_bytes += d.len() as u64,
                Chunk::Gap(n) => gap_bytes += u64::from(n),
            });
            assert_eq!(h.buffered_bytes(), 0);
            assert_eq!(data_bytes, h.bytes_delivered());
            assert_eq!(gap_bytes, stats.gap_bytes);
            assert_eq!(h.offset(), data_bytes + gap_bytes);
        }
    }

    #[test]
    fn idle_size_is_small() {
        assert!(std::mem::size_of::<HalfStream>() <= 40);
    }
}
