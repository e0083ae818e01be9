//! Per-flow COTP state: TPKT framing per direction and DT reassembly into
//! TSDUs.

use std::borrow::Cow;

use super::event::CotpEvent;
use super::parser::{frame_tpkt, parse_cotp, CotpPdu, TPKT_HEADER_LEN, TPKT_MAX_LEN};
use crate::proto::common::StreamBuf;

/// Largest TSDU reassembled from DT fragments; a longer one is dropped
/// (its fragments are discarded up to the DT with EOT).
pub const MAX_TSDU: usize = 64 * 1024;

/// Reassembly capacity kept between TSDUs; a larger buffer is released.
const KEEP_CAPACITY: usize = 8 * 1024;

/// Counters of one flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CotpStats {
    /// TPKT packets framed.
    pub packets: u64,
    /// TPKT packets whose COTP header did not parse.
    pub bad_pdus: u64,
    /// TSDUs dropped because they exceeded [`MAX_TSDU`].
    pub oversized_tsdus: u64,
    /// TSDUs delivered.
    pub tsdus: u64,
}

#[derive(Debug)]
struct Dir {
    framer: StreamBuf,
    reasm: Vec<u8>,
    /// Discarding the fragments of an oversized TSDU until EOT.
    dropping: bool,
}

impl Default for Dir {
    fn default() -> Dir {
        Dir {
            framer: StreamBuf::new(TPKT_MAX_LEN),
            reasm: Vec::new(),
            dropping: false,
        }
    }
}

/// Per-flow COTP over TPKT state (both directions).
///
/// Memory per direction is bounded by one TPKT packet (64 KiB, held only
/// when a packet is split across segments) plus one TSDU being reassembled
/// ([`MAX_TSDU`]).
#[derive(Debug, Default)]
pub struct CotpState {
    ts: Dir,
    tc: Dir,
    /// Counters.
    pub stats: CotpStats,
}

impl CotpState {
    /// New state.
    pub fn new() -> CotpState {
        CotpState::default()
    }

    /// Feed stream bytes of one direction; each event is handed to `f`
    /// while its bytes are still borrowed (no copy for a TSDU carried in
    /// a single DT of a single segment).
    pub fn input_with(&mut self, to_server: bool, data: &[u8], mut f: impl FnMut(CotpEvent<'_>)) {
        let CotpState { ts, tc, stats } = self;
        let Dir {
            framer,
            reasm,
            dropping,
        } = if to_server { ts } else { tc };
        framer.feed(data, frame_tpkt, |pkt| {
            stats.packets += 1;
            let body = pkt.get(TPKT_HEADER_LEN..).unwrap_or(&[]);
            match parse_cotp(body) {
                Ok(pdu) => on_pdu(to_server, pdu, reasm, dropping, stats, &mut f),
                Err(_) => stats.bad_pdus += 1,
            }
        });
    }

    /// Feed stream bytes; events are copied out into `out`.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<CotpEvent<'static>>) {
        self.input_with(to_server, data, |e| out.push(e.into_owned()));
    }

    /// Bytes were lost in one direction: drop the partial TPKT packet and
    /// the partial TSDU, and resynchronise on the next plausible TPKT+COTP
    /// header. The upper layers validate their own lengths, so a TSDU tail
    /// that slips through is rejected there.
    pub fn gap(&mut self, to_server: bool) {
        let d = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        d.framer.gap();
        d.reasm.clear();
        d.dropping = false;
    }

    /// Flow end: nothing is pending at this layer (a partial TSDU is not a
    /// TSDU). Present for interface symmetry.
    pub fn finish(&mut self) {
        self.ts.reasm.clear();
        self.tc.reasm.clear();
    }

    /// Bytes held (both directions: partial packets and partial TSDUs).
    pub fn buffered(&self) -> usize {
        self.ts.framer.buffered()
            + self.tc.framer.buffered()
            + self.ts.reasm.len()
            + self.tc.reasm.len()
    }
}

fn on_pdu(
    to_server: bool,
    pdu: CotpPdu<'_>,
    reasm: &mut Vec<u8>,
    dropping: &mut bool,
    stats: &mut CotpStats,
    f: &mut impl FnMut(CotpEvent<'_>),
) {
    match pdu {
        CotpPdu::Data { eot, payload, .. } => {
            if *dropping {
                *dropping = !eot;
                return;
            }
            if reasm.is_empty() && eot {
                if !payload.is_empty() {
                    stats.tsdus += 1;
                    f(CotpEvent::Data {
                        to_server,
                        tsdu: Cow::Borrowed(payload),
                    });
                }
                return;
            }
            if reasm.len() + payload.len() > MAX_TSDU {
                stats.oversized_tsdus += 1;
                reasm.clear();
                *dropping = !eot;
                return;
            }
            reasm.extend_from_slice(payload);
            if eot {
                if !reasm.is_empty() {
                    stats.tsdus += 1;
                    f(CotpEvent::Data {
                        to_server,
                        tsdu: Cow::Borrowed(reasm.as_slice()),
                    });
                }
                reasm.clear();
                if reasm.capacity() > KEEP_CAPACITY {
                    reasm.shrink_to(KEEP_CAPACITY);
                }
            }
        }
        CotpPdu::ConnectRequest(c) => f(CotpEvent::ConnectRequest {
            to_server,
            src_ref: c.src_ref,
            dst_ref: c.dst_ref,
            class: c.class,
            src_tsap: c.src_tsap,
            dst_tsap: c.dst_tsap,
            tpdu_size: c.tpdu_size,
        }),
        CotpPdu::ConnectConfirm(c) => f(CotpEvent::ConnectConfirm {
            to_server,
            src_ref: c.src_ref,
            dst_ref: c.dst_ref,
            class: c.class,
            src_tsap: c.src_tsap,
            dst_tsap: c.dst_tsap,
            tpdu_size: c.tpdu_size,
        }),
        CotpPdu::DisconnectRequest {
            dst_ref,
            src_ref,
            reason,
        } => f(CotpEvent::Disconnect {
            to_server,
            confirm: false,
            src_ref,
            dst_ref,
            reason: Some(reason),
        }),
        CotpPdu::DisconnectConfirm { dst_ref, src_ref } => f(CotpEvent::Disconnect {
            to_server,
            confirm: true,
            src_ref,
            dst_ref,
            reason: None,
        }),
        CotpPdu::Error { cause, .. } => f(CotpEvent::Error { to_server, cause }),
        CotpPdu::ExpeditedData { payload, .. } => f(CotpEvent::ExpeditedData {
            to_server,
            data: Cow::Borrowed(payload),
        }),
        CotpPdu::Ack { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::{CC_S7, CR_S7};
    use super::*;

    fn dt(eot: bool, payload: &[u8]) -> Vec<u8> {
        let len = (7 + payload.len()) as u16;
        let mut v = vec![3, 0];
        v.extend(len.to_be_bytes());
        v.extend([2, 0xf0, if eot { 0x80 } else { 0 }]);
        v.extend_from_slice(payload);
        v
    }

    fn run(st: &mut CotpState, chunks: &[(bool, &[u8])]) -> Vec<CotpEvent<'static>> {
        let mut out = Vec::new();
        for (d, c) in chunks {
            st.input(*d, c, &mut out);
        }
        out
    }

    #[test]
    fn connect_then_data() {
        let mut st = CotpState::new();
        let mut stream = CR_S7.to_vec();
        stream.extend(dt(true, b"\x32\x01hello"));
        let out = run(&mut st, &[(true, &stream), (false, CC_S7)]);
        assert_eq!(out.len(), 3);
        assert!(matches!(
            &out[0],
            CotpEvent::ConnectRequest { to_server: true, dst_tsap: Some(t), tpdu_size: Some(1024), .. }
                if t.as_bytes() == [1, 2]
        ));
        assert_eq!(
            out[1],
            CotpEvent::Data {
                to_server: true,
                tsdu: Cow::Owned(b"\x32\x01hello".to_vec())
            }
        );
        assert!(matches!(
            out[2],
            CotpEvent::ConnectConfirm {
                to_server: false,
                ..
            }
        ));
        assert_eq!(st.stats.tsdus, 1);
    }

    #[test]
    fn single_dt_tsdu_is_borrowed() {
        let mut st = CotpState::new();
        let pkt = dt(true, b"abc");
        let mut borrowed = false;
        st.input_with(true, &pkt, |e| {
            if let CotpEvent::Data { tsdu, .. } = e {
                borrowed = matches!(tsdu, Cow::Borrowed(_));
            }
        });
        assert!(borrowed);
    }

    #[test]
    fn reassembly_and_empty_fragments() {
        let mut stream = dt(false, b"");
        stream.extend(dt(false, b"ab"));
        stream.extend(dt(false, b"cd"));
        stream.extend(dt(true, b"e"));
        let want = vec![CotpEvent::Data {
            to_server: false,
            tsdu: Cow::Owned(b"abcde".to_vec()),
        }];
        for cut in 0..=stream.len() {
            let mut st = CotpState::new();
            let out = run(&mut st, &[(false, &stream[..cut]), (false, &stream[cut..])]);
            assert_eq!(out, want, "cut {cut}");
            assert_eq!(st.buffered(), 0);
        }
    }

    #[test]
    fn oversized_tsdu_dropped_and_bounded() {
        let mut st = CotpState::new();
        let mut out = Vec::new();
        let frag = dt(false, &[0x55; 4000]);
        for _ in 0..40 {
            st.input(true, &frag, &mut out);
            assert!(st.buffered() <= MAX_TSDU + TPKT_MAX_LEN);
        }
        st.input(true, &dt(true, b"tail"), &mut out);
        assert!(out.is_empty());
        assert_eq!(st.stats.oversized_tsdus, 1);
        st.input(true, &dt(true, b"next"), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn huge_declared_length_stays_bounded() {
        let mut st = CotpState::new();
        let mut out = Vec::new();
        st.input(true, &[3, 0, 0xff, 0xff, 2, 0xf0, 0x80], &mut out);
        // 60 KB never complete the 65535-byte packet: held, bounded.
        for _ in 0..60 {
            st.input(true, &[0xaa; 1000], &mut out);
            assert!(st.buffered() <= TPKT_MAX_LEN);
        }
        assert!(out.is_empty());
    }

    #[test]
    fn gap_resyncs() {
        let mut st = CotpState::new();
        let mut out = Vec::new();
        let a = dt(true, b"first");
        st.input(true, &a[..5], &mut out);
        st.gap(true);
        // Garbage then a good packet.
        let mut s = vec![0x11, 0x03, 0x00, 0x00, 0x09, 0x33];
        s.extend(dt(true, b"ok"));
        st.input(true, &s, &mut out);
        assert_eq!(
            out,
            vec![CotpEvent::Data {
                to_server: true,
                tsdu: Cow::Owned(b"ok".to_vec())
            }]
        );
    }

    #[test]
    fn disconnect_and_error_events() {
        let mut st = CotpState::new();
        let dr = [3, 0, 0, 11, 6, 0x80, 0, 1, 0, 2, 0x80];
        let er = [3, 0, 0, 9, 4, 0x70, 0, 7, 0x02];
        let ak = [3, 0, 0, 9, 4, 0x61, 0, 7, 0x01];
        let out = run(&mut st, &[(true, &dr), (false, &er), (false, &ak)]);
        assert_eq!(
            out,
            vec![
                CotpEvent::Disconnect {
                    to_server: true,
                    confirm: false,
                    src_ref: 2,
                    dst_ref: 1,
                    reason: Some(0x80)
                },
                CotpEvent::Error {
                    to_server: false,
                    cause: 2
                }
            ]
        );
    }
}
