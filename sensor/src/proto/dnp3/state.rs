//! Per-flow DNP3 state: link framing (TCP stream or UDP datagram),
//! transport reassembly, request/response pairing.

use std::collections::VecDeque;

use crate::proto::common::{Frame, StreamBuf};

use super::event::{
    expects_no_response, Application, Dnp3Event, Iin, LinkControl, ObjectList, Reply,
};
use super::parser::{
    block_crc_ok, link_frame, parse_app_header, parse_link_header, parse_objects, strip_crcs,
    Limits, LinkHeader, TransportHeader, LINK_HEADER_LEN, MAX_FRAME, START,
};

/// Largest reassembled application fragment kept (IEEE 1815 recommends a
/// 2048-octet maximum; the excess of a longer one is dropped and the
/// event marked incomplete and truncated).
pub const MAX_FRAGMENT: usize = 4096;
/// Requests waiting for their response, over both directions. DNP3 has
/// 16 application sequence numbers, so more can never be told apart.
pub const MAX_PENDING: usize = 32;
/// Fragments being reassembled at once per direction (one per
/// source/destination pair).
pub const MAX_PARTIALS: usize = 4;

/// Destination addresses 0xFFFD..=0xFFFF are broadcasts (no response).
fn is_broadcast(dst: u16) -> bool {
    dst >= 0xfffd
}

/// Counters of what the decoder saw and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dnp3Stats {
    /// Link frames with a valid header.
    pub frames: u64,
    /// Frames without user data (link resets, status, acks).
    pub link_only: u64,
    /// Frames that start with 0x05 0x64 but whose header CRC is wrong
    /// (skipped: the length cannot be trusted).
    pub bad_header_crc: u64,
    /// User data blocks whose CRC is wrong (decoded anyway, reported on
    /// the event as `crc_errors`).
    pub bad_data_crc: u64,
    /// Transport segments out of sequence or without a first segment.
    pub transport_dropped: u64,
    /// Fragments cut at [`MAX_FRAGMENT`].
    pub fragments_cut: u64,
    /// Fragments too short for an application header.
    pub malformed: u64,
    /// Application confirms (not logged, like Suricata).
    pub confirms: u64,
    /// Octets skipped looking for a frame start.
    pub skipped_bytes: u64,
}

#[derive(Debug)]
struct Partial {
    lh: LinkHeader,
    tseq: u8,
    data: Vec<u8>,
    crc_errors: u32,
    cut: bool,
}

#[derive(Debug)]
struct Dir {
    buf: StreamBuf,
    partials: Vec<Partial>,
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            buf: StreamBuf::new(MAX_FRAME),
            partials: Vec::new(),
        }
    }
}

/// Per-flow DNP3 state (TCP or UDP).
#[derive(Debug, Default)]
pub struct Dnp3State {
    ts: Dir,
    tc: Dir,
    shared: Shared,
}

/// Everything but the stream buffers (so frame handling can borrow it
/// while a buffer is feeding).
#[derive(Debug, Default)]
struct Shared {
    pending: VecDeque<Dnp3Event>,
    next_tx: u64,
    stats: Dnp3Stats,
    scratch: Vec<u8>,
    limits: Limits,
}

impl Dnp3State {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters so far.
    pub fn stats(&self) -> Dnp3Stats {
        let mut s = self.shared.stats;
        s.skipped_bytes = self.ts.buf.skipped_bytes + self.tc.buf.skipped_bytes;
        s
    }

    /// Octets held by the state (stream buffers, partial fragments,
    /// pending request events), for bound checks.
    pub fn buffered(&self) -> usize {
        let dir =
            |d: &Dir| d.buf.buffered() + d.partials.iter().map(|p| p.data.len()).sum::<usize>();
        dir(&self.ts)
            + dir(&self.tc)
            + self
                .shared
                .pending
                .iter()
                .map(|e| e.application.objects.data.len())
                .sum::<usize>()
    }

    /// Transactions (requests and responses) completed so far; the next
    /// event gets this `tx_id`.
    pub fn tx_count(&self) -> u64 {
        self.shared.next_tx
    }

    /// Requests waiting for a response.
    pub fn pending(&self) -> usize {
        self.shared.pending.len()
    }

    /// Feed TCP stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<Dnp3Event>) {
        let Dnp3State { ts, tc, shared } = self;
        let Dir { buf, partials } = if to_server { ts } else { tc };
        let mut bad_hdr = 0u64;
        buf.feed(
            data,
            |head, resync| {
                let f = link_frame(head, resync);
                if f == Frame::Skip(1) && head.len() >= LINK_HEADER_LEN && head[..2] == START {
                    bad_hdr += 1;
                }
                f
            },
            |frame| shared.frame(partials, to_server, frame, out),
        );
        shared.stats.bad_header_crc += bad_hdr;
    }

    /// Bytes were lost in one direction: drop its partial frame and
    /// fragments and resynchronise on the next frame start.
    pub fn gap(&mut self, to_server: bool) {
        let d = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        d.buf.gap();
        d.partials.clear();
    }

    /// Flow end: emit requests still waiting for a response.
    pub fn finish(&mut self, out: &mut Vec<Dnp3Event>) {
        out.extend(self.shared.pending.drain(..));
        self.ts.partials.clear();
        self.tc.partials.clear();
    }

    /// One UDP datagram (one or more whole link frames).
    pub fn datagram(&mut self, to_server: bool, payload: &[u8], out: &mut Vec<Dnp3Event>) {
        let Dnp3State { ts, tc, shared } = self;
        let partials = if to_server {
            &mut ts.partials
        } else {
            &mut tc.partials
        };
        let mut rest = payload;
        while !rest.is_empty() {
            match link_frame(rest, false) {
                Frame::Len(n) if n <= rest.len() => {
                    shared.frame(partials, to_server, &rest[..n], out);
                    rest = &rest[n..];
                }
                Frame::Skip(n) => {
                    if n == 1 && rest.len() >= LINK_HEADER_LEN && rest[..2] == START {
                        shared.stats.bad_header_crc += 1;
                    }
                    let n = n.clamp(1, rest.len());
                    shared.stats.skipped_bytes += n as u64;
                    rest = &rest[n..];
                }
                _ => {
                    shared.stats.skipped_bytes += rest.len() as u64;
                    break;
                }
            }
        }
    }
}

impl Shared {
    /// One whole link frame (header CRC already checked by the framer).
    fn frame(
        &mut self,
        partials: &mut Vec<Partial>,
        to_server: bool,
        frame: &[u8],
        out: &mut Vec<Dnp3Event>,
    ) {
        let Ok(lh) = parse_link_header(frame) else {
            return;
        };
        self.stats.frames += 1;
        if !lh.is_user_data() {
            self.stats.link_only += 1;
            return;
        }
        let body = frame.get(LINK_HEADER_LEN..).unwrap_or(&[]);
        self.scratch.clear();
        let (bad, _) = strip_crcs(body, &mut self.scratch, MAX_FRAME);
        self.stats.bad_data_crc += u64::from(bad);
        let Some((&th, payload)) = self.scratch.split_first() else {
            return;
        };
        let th = TransportHeader(th);
        let pos = partials
            .iter()
            .position(|p| p.lh.src == lh.src && p.lh.dst == lh.dst);
        let idx = if th.fir() {
            if let Some(i) = pos {
                // A new first segment abandons the unfinished fragment.
                self.stats.transport_dropped += 1;
                partials.remove(i);
            }
            if partials.len() >= MAX_PARTIALS {
                self.stats.transport_dropped += 1;
                partials.remove(0);
            }
            partials.push(Partial {
                lh,
                tseq: th.seq(),
                data: Vec::new(),
                crc_errors: 0,
                cut: false,
            });
            partials.len() - 1
        } else {
            match pos {
                Some(i) if (partials[i].tseq + 1) & 0x3f == th.seq() => {
                    partials[i].tseq = th.seq();
                    i
                }
                _ => {
                    self.stats.transport_dropped += 1;
                    return;
                }
            }
        };
        let Some(p) = partials.get_mut(idx) else {
            return;
        };
        let room = MAX_FRAGMENT - p.data.len();
        let n = payload.len().min(room);
        if n < payload.len() && !p.cut {
            p.cut = true;
            self.stats.fragments_cut += 1;
        }
        p.data.extend_from_slice(&payload[..n]);
        p.crc_errors += bad;
        if th.fin() {
            let p = partials.remove(idx);
            self.fragment(p, to_server, out);
        }
    }

    /// A reassembled application fragment.
    fn fragment(&mut self, p: Partial, to_server: bool, out: &mut Vec<Dnp3Event>) {
        let Ok((ah, objs)) = parse_app_header(&p.data) else {
            self.stats.malformed += 1;
            return;
        };
        if ah.iin.is_none() && ah.function == 0 {
            self.stats.confirms += 1;
            return;
        }
        let hdr_len = p.data.len() - objs.len();
        let mut objects = parse_objects(objs, &self.limits);
        objects.truncated |= p.cut;
        let complete = objects.complete && !p.cut;
        let mut data = p.data;
        data.drain(..hdr_len);
        let kind = match ah.function {
            0x82 => "unsolicited_response",
            0x81 | 0x83 => "response",
            _ => "request",
        };
        let tx_id = self.next_tx;
        self.next_tx += 1;
        let mut ev = Dnp3Event {
            kind,
            control: LinkControl(p.lh.control),
            src: p.lh.src,
            dst: p.lh.dst,
            application: Application {
                control: ah.control.0,
                function_code: ah.function,
                objects: ObjectList { data, objects },
                complete,
            },
            iin: ah.iin.map(Iin),
            crc_errors: p.crc_errors,
            tx_id,
            to_server,
            reply: None,
            paired: false,
        };
        match ah.iin {
            None => {
                if expects_no_response(ah.function) || is_broadcast(ev.dst) {
                    out.push(ev);
                    return;
                }
                // Masters may pipeline requests that reuse sequence
                // numbers; a response goes to the oldest match.
                if self.pending.len() >= MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        out.push(old);
                    }
                }
                self.pending.push_back(ev);
            }
            Some(iin) => {
                if ah.function != 0x82 && ah.control.fir() {
                    let seq = ah.control.seq();
                    let found = self.pending.iter().position(|r| {
                        r.to_server != to_server
                            && r.dst == ev.src
                            && r.src == ev.dst
                            && (r.application.control & 0x0f) == seq
                    });
                    if let Some(i) = found {
                        // Older requests of the same master/outstation
                        // pair were never answered: emit them first.
                        let (src, dst) = (ev.dst, ev.src);
                        let mut j = 0;
                        let mut k = i;
                        while j < k {
                            let r = &self.pending[j];
                            if r.to_server != to_server && r.src == src && r.dst == dst {
                                if let Some(old) = self.pending.remove(j) {
                                    out.push(old);
                                }
                                k -= 1;
                            } else {
                                j += 1;
                            }
                        }
                        if let Some(mut req) = self.pending.remove(k) {
                            req.reply = Some(Reply {
                                iin,
                                control_status: ev.control_status(),
                            });
                            ev.paired = true;
                            out.push(req);
                        }
                    }
                }
                out.push(ev);
            }
        }
    }
}

/// True when `frame` (a whole link frame) has good CRCs everywhere.
pub fn frame_crcs_ok(frame: &[u8]) -> bool {
    frame.len() >= LINK_HEADER_LEN
        && block_crc_ok(&frame[..LINK_HEADER_LEN])
        && frame[LINK_HEADER_LEN..].chunks(18).all(block_crc_ok)
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::frame;
    use super::*;
    use rules::ot::OpClass;

    /// Master (1) -> outstation (10): transport FIR|FIN seq 0, app
    /// FIR|FIN seq `seq`, function `fc`, objects.
    fn req(seq: u8, fc: u8, objs: &[u8]) -> Vec<u8> {
        let mut u = vec![0xc0 | (seq & 0x3f), 0xc0 | seq, fc];
        u.extend_from_slice(objs);
        frame(0xc4, 10, 1, &u)
    }

    fn resp(seq: u8, fc: u8, iin: u16, objs: &[u8]) -> Vec<u8> {
        let uns = if fc == 0x82 { 0x30 } else { 0 };
        let mut u = vec![0xc0 | (seq & 0x3f), 0xc0 | uns | seq, fc];
        u.extend_from_slice(&iin.to_be_bytes());
        u.extend_from_slice(objs);
        frame(0x44, 1, 10, &u)
    }

    fn crob(index: u16, code: u8) -> Vec<u8> {
        let mut o = vec![0x0c, 0x01, 0x28, 0x01, 0x00];
        o.extend_from_slice(&index.to_le_bytes());
        o.extend_from_slice(&[code, 0x01, 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0]);
        o
    }

    fn kinds(ev: &[Dnp3Event]) -> Vec<(&'static str, u8)> {
        ev.iter()
            .map(|e| (e.kind, e.application.function_code))
            .collect()
    }

    #[test]
    fn select_operate_pairs_and_ops() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(true, &req(1, 3, &crob(7, 0x41)), &mut out);
        assert!(out.is_empty(), "request waits for its response");
        st.input(false, &resp(1, 0x81, 0, &crob(7, 0x41)), &mut out);
        st.input(true, &req(2, 4, &crob(7, 0x41)), &mut out);
        st.input(false, &resp(2, 0x81, 0x0004, &crob(7, 0x41)), &mut out);
        assert_eq!(
            kinds(&out),
            [
                ("request", 3),
                ("response", 129),
                ("request", 4),
                ("response", 129)
            ]
        );
        let op = out[0].op().expect("select op");
        assert_eq!((op.function, op.class), ("select", OpClass::Command));
        assert_eq!((op.unit, op.address, op.status), (Some(10), Some(7), None));
        assert!(out[1].op().is_none(), "paired response has no op");
        let op = out[2].op().expect("operate op");
        assert_eq!(op.status, Some(4), "parameter_error IIN");
        assert_eq!(
            out.iter().map(|e| e.tx_id).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn unsolicited_is_its_own_report() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(false, &resp(0, 0x82, 0x8000, &[]), &mut out);
        assert_eq!(kinds(&out), [("unsolicited_response", 130)]);
        let op = out[0].op().expect("op");
        assert!(op.response_only);
        assert_eq!(op.class, OpClass::Report);
        assert_eq!(op.unit, Some(10));
        let v = serde_json::to_value(&out[0]).expect("json");
        assert_eq!(v["application"]["control"]["uns"], true);
        assert_eq!(v["iin"]["indicators"][0], "device_restart");
    }

    #[test]
    fn confirms_ignored_nr_immediate_finish_flushes() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(true, &req(0, 0, &[]), &mut out);
        assert!(out.is_empty());
        st.input(true, &req(1, 6, &crob(1, 0x03)), &mut out);
        assert_eq!(kinds(&out), [("request", 6)]);
        st.input(true, &req(2, 13, &[]), &mut out);
        assert_eq!(out.len(), 1);
        st.finish(&mut out);
        assert_eq!(kinds(&out), [("request", 6), ("request", 13)]);
        assert_eq!(out[1].op().map(|o| o.class), Some(OpClass::Restart));
        assert_eq!(st.stats().confirms, 1);
    }

    #[test]
    fn unmatched_response_is_response_only() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(false, &resp(5, 0x81, 0x0001, &[]), &mut out);
        let op = out[0].op().expect("op");
        assert!(op.response_only);
        assert_eq!(op.function, "response");
        assert_eq!(op.status, Some(1));
    }

    #[test]
    fn multi_frame_fragment_reassembles() {
        // 60 octets of g30v1 points need 4 link frames.
        let mut objs = vec![0x1e, 0x01, 0x00, 0, 11]; // g30v1, start 0 stop 11
        for i in 0..12u8 {
            objs.push(0x01);
            objs.extend_from_slice(&i32::from(i).to_le_bytes());
        }
        let mut app = vec![0xc3, 0x81, 0x00, 0x00];
        app.extend_from_slice(&objs);
        let segs: Vec<&[u8]> = app.chunks(20).collect();
        let mut stream = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            let mut th = (i as u8) & 0x3f;
            if i == 0 {
                th |= 0x40;
            }
            if i + 1 == segs.len() {
                th |= 0x80;
            }
            let mut u = vec![th];
            u.extend_from_slice(s);
            stream.extend(frame(0x44, 1, 10, &u));
        }
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(false, &stream, &mut out);
        assert_eq!(out.len(), 1);
        let v = serde_json::to_value(&out[0]).expect("json");
        assert_eq!(v["application"]["complete"], true);
        assert_eq!(v["application"]["objects"][0]["count"], 12);
        assert_eq!(v["application"]["objects"][0]["points"][11]["value"], 11);
        // Out-of-order middle segment: dropped.
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        let f: Vec<Vec<u8>> = segs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let th = [0x40u8, 0x01, 0x02, 0x83][i.min(3)];
                let mut u = vec![th];
                u.extend_from_slice(s);
                frame(0x44, 1, 10, &u)
            })
            .collect();
        st.input(false, &f[0], &mut out);
        st.input(false, &f[2], &mut out);
        st.input(false, &f[3], &mut out);
        assert!(out.is_empty());
        assert!(st.stats().transport_dropped >= 1);
    }

    #[test]
    fn bad_data_crc_flagged_bad_header_resyncs() {
        let mut f = req(1, 1, &[0x3c, 0x02, 0x06]);
        f[12] ^= 0x55; // corrupt a user data octet (app control)
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        let mut stream = b"garbage\x05\x64".to_vec();
        let mut bad_hdr = req(3, 1, &[]);
        bad_hdr[9] ^= 1;
        stream.extend(&bad_hdr);
        stream.extend(&f);
        st.input(true, &stream, &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].crc_errors, 1);
        // Counted, not logged (no place in the EVE schema).
        let v = serde_json::to_value(&out[0]).expect("json");
        assert!(v.get("crc_errors").is_none());
        let s = st.stats();
        // The stray 05 64 before the corrupted header counts too.
        assert_eq!(s.bad_header_crc, 2);
        assert_eq!(s.bad_data_crc, 1);
        assert!(s.skipped_bytes >= 7);
    }

    #[test]
    fn udp_datagram() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.datagram(
            true,
            &req(4, 2, &[0x50, 0x01, 0x00, 0x07, 0x07, 0x00]),
            &mut out,
        );
        st.datagram(false, &resp(4, 0x81, 0, &[]), &mut out);
        assert_eq!(kinds(&out), [("request", 2), ("response", 129)]);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.address, op.values.clone()),
            ("write", Some(7), vec![0.0])
        );
        assert!(frame_crcs_ok(&req(4, 2, &[])));
    }
}
