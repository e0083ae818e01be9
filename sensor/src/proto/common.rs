//! Pieces every protocol decoder shares: the probe verdict and a bounded
//! framer for length-prefixed PDUs over a TCP stream.

/// Outcome of probing a direction's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Looks like this protocol.
    Yes,
    /// Does not look like this protocol.
    No,
    /// Not enough bytes to decide.
    NeedMore,
}

/// What a framer says about the bytes at the head of a stream buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Not enough bytes to know the PDU length yet.
    Need,
    /// A PDU of this many bytes starts here (it may not all be buffered yet).
    Len(usize),
    /// The bytes here are not a PDU header: drop this many and retry
    /// (resynchronisation after a gap or garbage).
    Skip(usize),
}

/// Per-direction reassembly of length-prefixed PDUs with a hard bound.
///
/// Whole PDUs in the input are handed out straight from the caller's slice;
/// only a PDU split across segments is copied, and never more than `max`
/// bytes are held. A PDU longer than `max` is skipped (its bytes counted in
/// [`StreamBuf::oversized`]). After [`StreamBuf::gap`] the framer is asked
/// to resynchronise: bytes are skipped until it finds a plausible header.
#[derive(Debug)]
pub struct StreamBuf {
    buf: Vec<u8>,
    max: usize,
    /// Bytes still to discard of an oversized PDU.
    discard: usize,
    /// True after a gap until a header is accepted.
    resync: bool,
    /// PDUs skipped because they exceeded `max`.
    pub oversized: u64,
    /// Bytes dropped while resynchronising.
    pub skipped_bytes: u64,
}

impl StreamBuf {
    /// A buffer that holds at most `max` bytes of one PDU.
    pub fn new(max: usize) -> StreamBuf {
        StreamBuf {
            buf: Vec::new(),
            max,
            discard: 0,
            resync: false,
            oversized: 0,
            skipped_bytes: 0,
        }
    }

    /// Bytes currently held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True while resynchronising after a gap (the framer may be stricter).
    pub fn resyncing(&self) -> bool {
        self.resync
    }

    /// Bytes were lost: drop the partial PDU and resynchronise.
    pub fn gap(&mut self) {
        self.buf.clear();
        self.discard = 0;
        self.resync = true;
    }

    /// Feed stream bytes. `frame(head, resyncing)` reads a PDU header at the
    /// start of `head`; `pdu(bytes)` receives each complete PDU.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        mut frame: impl FnMut(&[u8], bool) -> Frame,
        mut pdu: impl FnMut(&[u8]),
    ) {
        loop {
            if self.discard > 0 {
                let n = self.discard.min(data.len());
                self.discard -= n;
                data = &data[n..];
                if self.discard > 0 {
                    return;
                }
            }
            if self.buf.is_empty() {
                // Fast path: PDUs straight from the input.
                match frame(data, self.resync) {
                    Frame::Need => break,
                    Frame::Skip(n) => {
                        let n = n.clamp(1, data.len().max(1)).min(data.len());
                        self.skipped_bytes += n as u64;
                        data = &data[n..];
                        if data.is_empty() {
                            return;
                        }
                        continue;
                    }
                    Frame::Len(len) => {
                        self.resync = false;
                        if len > self.max {
                            self.oversized += 1;
                            self.discard = len;
                            continue;
                        }
                        if len == 0 {
                            // A framer must never accept an empty PDU; treat
                            // it as garbage to guarantee progress.
                            self.skipped_bytes += 1;
                            data = &data[1.min(data.len())..];
                            if data.is_empty() {
                                return;
                            }
                            continue;
                        }
                        if data.len() >= len {
                            pdu(&data[..len]);
                            data = &data[len..];
                            if data.is_empty() {
                                return;
                            }
                            continue;
                        }
                        break;
                    }
                }
            } else {
                // Slow path: complete the buffered PDU.
                match frame(&self.buf, self.resync) {
                    Frame::Skip(n) => {
                        let n = n.clamp(1, self.buf.len());
                        self.skipped_bytes += n as u64;
                        self.buf.drain(..n);
                    }
                    Frame::Len(0) => {
                        self.skipped_bytes += 1;
                        self.buf.drain(..1);
                    }
                    Frame::Len(len) if len > self.max => {
                        self.resync = false;
                        self.oversized += 1;
                        self.discard = len - self.buf.len().min(len);
                        self.buf.clear();
                    }
                    Frame::Len(len) if self.buf.len() >= len => {
                        self.resync = false;
                        let rest = self.buf.split_off(len);
                        pdu(&self.buf);
                        self.buf = rest;
                    }
                    _ if data.is_empty() => return,
                    Frame::Need => {
                        // Header incomplete: headers are short, take a few
                        // bytes at a time.
                        let take = data.len().min(64);
                        self.buf.extend_from_slice(&data[..take]);
                        data = &data[take..];
                        if self.buf.len() > self.max {
                            self.skipped_bytes += self.buf.len() as u64;
                            self.gap();
                        }
                    }
                    Frame::Len(len) => {
                        self.resync = false;
                        let take = (len - self.buf.len()).min(data.len());
                        self.buf.extend_from_slice(&data[..take]);
                        data = &data[take..];
                    }
                }
                continue;
            }
        }
        // Keep the incomplete tail, bounded.
        if !data.is_empty() {
            let room = self.max.saturating_sub(self.buf.len());
            let n = data.len().min(room);
            self.buf.extend_from_slice(&data[..n]);
            if n < data.len() {
                // Cannot happen for a framer that returns Len <= max before
                // `max` bytes are buffered; stay bounded regardless.
                self.skipped_bytes += (data.len() - n) as u64;
                self.gap();
            }
        }
    }
}

/// Append `\xNN` (lower-case hex) for byte `c`: the escape Suricata's
/// string fields use for bytes that are not text. No `format!`: this runs
/// per byte of binary payloads.
#[inline]
pub fn push_x(out: &mut String, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push('x');
    out.push(char::from(HEX[usize::from(c >> 4)]));
    out.push(char::from(HEX[usize::from(c & 0xf)]));
}

/// [`bytes_text`] as an owned string.
pub fn bytes_string(b: &[u8]) -> String {
    bytes_text(b).into_owned()
}

/// Bytes as Suricata's `set_string_from_bytes` prints them: the text when
/// it is UTF-8, else ASCII bytes kept and every other byte as `\xNN`.
pub fn bytes_text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            let mut o = String::with_capacity(b.len() * 4);
            for &c in b {
                if c < 0x80 {
                    o.push(char::from(c));
                } else {
                    push_x(&mut o, c);
                }
            }
            std::borrow::Cow::Owned(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Toy framing: one length byte, then that many bytes; 0xff is garbage.
    fn frame(h: &[u8], _resync: bool) -> Frame {
        match h.first() {
            None => Frame::Need,
            Some(0xff) => Frame::Skip(1),
            Some(&n) => Frame::Len(1 + usize::from(n)),
        }
    }

    fn run(sb: &mut StreamBuf, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for c in chunks {
            sb.feed(c, frame, |p| out.push(p.to_vec()));
        }
        out
    }

    #[test]
    fn whole_and_split_pdus_come_out_identical() {
        let stream: &[u8] = &[2, b'a', b'b', 0xff, 3, b'c', b'd', b'e', 1, b'f'];
        let want = run(&mut StreamBuf::new(64), &[stream]);
        assert_eq!(
            want,
            vec![
                vec![2, b'a', b'b'],
                vec![3, b'c', b'd', b'e'],
                vec![1, b'f']
            ]
        );
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                let got = run(
                    &mut StreamBuf::new(64),
                    &[&stream[..cut], &stream[cut..cut2], &stream[cut2..]],
                );
                assert_eq!(got, want, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn oversized_pdus_are_skipped_and_memory_stays_bounded() {
        let mut sb = StreamBuf::new(8);
        let mut big = vec![200u8];
        big.extend(std::iter::repeat_n(7u8, 200));
        big.extend([1, b'z']);
        let mut out = Vec::new();
        for b in big.chunks(3) {
            sb.feed(b, frame, |p| out.push(p.to_vec()));
            assert!(sb.buffered() <= 8);
        }
        assert_eq!(out, vec![vec![1, b'z']]);
        assert_eq!(sb.oversized, 1);
    }

    #[test]
    fn gap_drops_partial_pdu() {
        let mut sb = StreamBuf::new(64);
        let mut out = Vec::new();
        sb.feed(&[5, 1, 2], frame, |p| out.push(p.to_vec()));
        sb.gap();
        assert!(sb.resyncing());
        sb.feed(&[1, 9], frame, |p| out.push(p.to_vec()));
        assert_eq!(out, vec![vec![1, 9]]);
        assert!(!sb.resyncing());
    }

    #[test]
    fn bytes_text_escapes_like_suricata() {
        assert_eq!(bytes_text(b"ab"), "ab");
        assert!(matches!(bytes_text(b"ab"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(bytes_text(&[0x00, 0x41, 0xff, 0x80]), "\u{0}A\\xff\\x80");
    }
}
