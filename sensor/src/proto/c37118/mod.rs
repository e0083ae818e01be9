//! IEEE C37.118 synchrophasor decoder (recognition level), TCP 4712 and
//! UDP 4713.
//!
//! # Spec notes
//!
//! * References: IEEE Std C37.118.2-2011 §6 (frame formats), Table 2
//!   (common fields), Tables 8/9 (CFG-1/2), Table 10 (CFG-3), Table 15
//!   (command words); C37.118-2005 §6 for version 1.
//! * Every frame: SYNC (0xAA, then bit 7 reserved, bits 6..4 frame type
//!   — 0 data, 1 header, 2 CFG-1, 3 CFG-2, 4 command, 5 CFG-3 — and bits
//!   3..0 version 1..3), FRAMESIZE (u16, whole frame), IDCODE (u16), SOC
//!   (u32), FRACSEC (u32, time quality + fraction), payload, CHK
//!   (CRC-CCITT: poly 0x1021, init 0xFFFF, §6.2). Every frame's CRC is
//!   checked; bad frames are dropped and counted.
//! * TCP is framed by FRAMESIZE with [`StreamBuf`] (bound 65535 bytes);
//!   after a gap a frame is only accepted once it is whole and its CRC
//!   matches. UDP: whole frames per datagram.
//! * Command frame: CMD (1 turn off transmission, 2 turn on, 3 send
//!   header, 4 send CFG-1, 5 send CFG-2, 6 send CFG-3, 8 extended frame,
//!   0x8000+ user defined) then extended data.
//! * CFG-1/2: TIME_BASE, NUM_PMU, per PMU STN (16 chars), IDCODE, FORMAT,
//!   PHNMR, ANNMR, DGNMR, CHNAM (16 × (PHNMR + ANNMR + 16 × DGNMR)),
//!   PHUNIT/ANUNIT/DIGUNIT (4 bytes each), FNOM, CFGCNT; then DATA_RATE.
//!   CFG-3: CONT_IDX, TIME_BASE, NUM_PMU, per PMU length-prefixed STN,
//!   IDCODE, G_PMU_ID (16), FORMAT, PHNMR, ANNMR, DGNMR, length-prefixed
//!   CHNAM, PHSCALE (12 each), ANSCALE (8), DIGUNIT (4), LAT/LON/ELEV,
//!   SVC_CLASS, WINDOW, GRP_DLY, FNOM, CFGCNT; DATA_RATE. Continuation
//!   fragments (CONT_IDX > 1) are logged without PMU blocks. First 64 PMU
//!   blocks kept; a cut-short block list sets `truncated`.
//! * Data frames (30..60 per second per stream) produce no event: they
//!   are counted ([`C37118State::data_frames`]); [`is_data_frame`] is a
//!   cheap recogniser for callers that only count.
//! * Pairing: send-header / send-CFG commands wait (at most 64) for the
//!   first header / configuration frame of the requested type; turn on /
//!   off, extended and user commands get no answer and are logged at
//!   once (`type: request`). Configuration and header frames nobody asked
//!   for are `response` events (class Report).
//!
//! # `Op::function` vocabulary
//!
//! Commands: `turn_off_transmission`, `turn_on_transmission`
//! (ModeChange), `send_header`, `send_cfg1`, `send_cfg2`, `send_cfg3`
//! (Read), `extended_frame`, `user_command` (Command), `reserved_command`
//! (Other); unsolicited frames: `header`, `cfg1`, `cfg2`, `cfg3`
//! (Report, response-only). `code` = CMD word (frame type for
//! unsolicited frames), `unit` = IDCODE, `quantity` = NUM_PMU, `object` and
//! attr `id_name` = first station name. Attrs: `frame_type`, `num_pmu`,
//! `data_rate`, `id_name`.
//!
//! # EVE shape (`c37118`)
//!
//! ```json
//! {"type":"transaction","version":1,"idcode":60,"command":"send_cfg2",
//!  "command_code":5,"frame_type":"cfg2","time_base":1000000,"num_pmu":1,
//!  "data_rate":50,"stations":[{"station_name":"PMU1","idcode":61,
//!  "phasors":3,"analogs":0,"digitals":1,"nominal_frequency":60,"cfgcnt":0}]}
//! ```

pub mod event;
pub mod parser;
pub mod state;

pub use event::{command_info, C37118Event};
pub use parser::{crc_ccitt, is_data_frame, parse_frame, Body, C37Error, C37Frame};
pub use state::C37118State;

use crate::proto::common::Probe;

/// TCP port.
pub const TCP_PORT: u16 = 4712;
/// UDP port.
pub const UDP_PORT: u16 = 4713;

/// Probe the first bytes of a TCP direction: SYNC, frame type, version,
/// FRAMESIZE; when the whole first frame is there its CRC must match.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    match parser::parse_sync(data) {
        Ok((_, _, size)) => match data.get(..usize::from(size)) {
            Some(_) => {
                if parse_frame(data).is_ok() {
                    Probe::Yes
                } else {
                    Probe::No
                }
            }
            None if data.len() >= parser::HEADER_LEN => Probe::Yes,
            None => Probe::NeedMore,
        },
        Err(C37Error::Truncated) => Probe::NeedMore,
        Err(_) => Probe::No,
    }
}

/// Probe a UDP datagram: the first frame must be whole with a valid CRC
/// (any port).
pub fn probe_datagram(payload: &[u8], _sport: u16, _dport: u16) -> bool {
    parse_frame(payload).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ot::{Attr, OpClass};

    /// Command frame "turn off transmission" from the capture
    /// (C37.118_1PMU_UDP.pcap frame 1).
    const CMD_OFF: &[u8] = &[
        0xaa, 0x41, // SYNC: command frame (4), version 1
        0x00, 0x12, // FRAMESIZE 18
        0x00, 0x3c, // IDCODE 60
        0x48, 0x99, 0x90, 0x9a, // SOC
        0x00, 0x34, 0x2e, 0xd5, // FRACSEC
        0x00, 0x01, // CMD 1: turn off transmission
        0x56, 0x0b, // CHK
    ];
    /// "Send CFG-2" (frame 2).
    const CMD_CFG2: &[u8] = &[
        0xaa, 0x41, 0x00, 0x12, 0x00, 0x3c, 0x48, 0x99, 0x90, 0x9a, 0x00, 0x90, 0x2e, 0x12, 0x00,
        0x05, // CMD 5: send CFG-2
        0x16, 0x8a, // CHK
    ];
    /// A data frame (frame 5).
    const DATA: &[u8] = &[
        0xaa, 0x01, // SYNC: data frame, version 1
        0x00, 0x30, // FRAMESIZE 48
        0x00, 0x3c, // IDCODE
        0x48, 0x93, 0x37, 0x43, 0x00, 0x08, 0xd9, 0xa0, // SOC, FRACSEC
        0x00, 0x00, // STAT
        0x42, 0xc8, 0x27, 0xb9, 0xbf, 0xc8, 0x9e, 0xc2, // phasor 1 (float)
        0x42, 0xc7, 0xe4, 0x79, 0x40, 0x27, 0xad, 0x27, // phasor 2
        0x42, 0xc8, 0x05, 0x11, 0x3f, 0x06, 0xbe, 0xb0, // phasor 3
        0x00, 0x00, // FREQ (16-bit integer, FORMAT bit 3 clear)
        0x00, 0x00, // DFREQ
        0x00, 0x00, // digital status word
        0x1a, 0x9c, // CHK
    ];

    /// Append the CRC (fixtures built field by field below).
    fn with_crc(mut v: Vec<u8>) -> Vec<u8> {
        let n = (v.len() + 2) as u16;
        v[2..4].copy_from_slice(&n.to_be_bytes());
        let c = crc_ccitt(&v);
        v.extend_from_slice(&c.to_be_bytes());
        v
    }

    /// CFG-2 with one PMU "PMU1" (idcode 61), 1 phasor, 0 analog, 1
    /// digital word, 60 Hz, 50 frames/s.
    fn cfg2() -> Vec<u8> {
        let mut v = vec![
            0xaa, 0x31, // SYNC: CFG-2, version 1
            0x00, 0x00, // FRAMESIZE (filled in)
            0x00, 0x3c, // IDCODE 60
            0x48, 0x93, 0x37, 0x43, 0x00, 0x07, 0xef, 0x40, // SOC, FRACSEC
            0x00, 0x0f, 0x42, 0x40, // TIME_BASE 1000000
            0x00, 0x01, // NUM_PMU
        ];
        let mut stn = b"PMU1".to_vec();
        stn.resize(16, b' ');
        v.extend(stn); // STN
        v.extend([0x00, 0x3d]); // IDCODE 61
        v.extend([0x00, 0x07]); // FORMAT
        v.extend([0x00, 0x01]); // PHNMR 1
        v.extend([0x00, 0x00]); // ANNMR 0
        v.extend([0x00, 0x01]); // DGNMR 1
        for i in 0..17 {
            // CHNAM: 1 phasor + 16 digital channel names
            let mut n = format!("CH{i}").into_bytes();
            n.resize(16, b' ');
            v.extend(n);
        }
        v.extend([0, 0, 0x04, 0xc4]); // PHUNIT
        v.extend([0, 0, 0xff, 0xff]); // DIGUNIT
        v.extend([0x00, 0x00]); // FNOM: 60 Hz
        v.extend([0x00, 0x02]); // CFGCNT
        v.extend([0x00, 0x32]); // DATA_RATE 50
        with_crc(v)
    }

    /// CFG-3 with one PMU "Sub A" (length-prefixed), no channels.
    fn cfg3() -> Vec<u8> {
        let mut v = vec![
            0xaa, 0x51, 0, 0, 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 0, // header, CFG-3, idcode 7
            0x00, 0x00, // CONT_IDX 0
            0x00, 0x0f, 0x42, 0x40, // TIME_BASE
            0x00, 0x01, // NUM_PMU
            0x05, b'S', b'u', b'b', b' ', b'A', // STN (length-prefixed)
            0x00, 0x07, // IDCODE
        ];
        v.extend([0u8; 16]); // G_PMU_ID
        v.extend([0, 0, 0, 0, 0, 0, 0, 0]); // FORMAT PHNMR ANNMR DGNMR
        v.extend([0u8; 21]); // LAT LON ELEV SVC_CLASS WINDOW GRP_DLY
        v.extend([0x00, 0x01]); // FNOM 50 Hz
        v.extend([0x00, 0x09]); // CFGCNT
        v.extend([0xff, 0xfe]); // DATA_RATE -2: one frame per 2 s
        with_crc(v)
    }

    fn tcp_run(chunks: &[(bool, &[u8])]) -> (Vec<String>, u64) {
        let mut st = C37118State::new();
        let mut out = Vec::new();
        for (ts, c) in chunks {
            st.input(*ts, c, &mut out);
        }
        st.finish(&mut out);
        let ev = out
            .iter()
            .map(|e| format!("{} {}", e.tx_id(), serde_json::to_string(e).unwrap()))
            .collect();
        (ev, st.data_frames())
    }

    #[test]
    fn fixtures_have_valid_crc() {
        for f in [CMD_OFF, CMD_CFG2, DATA, &cfg2(), &cfg3()] {
            assert!(parse_frame(f).is_ok());
        }
        assert!(is_data_frame(DATA));
        assert!(!is_data_frame(CMD_OFF));
        let mut bad = DATA.to_vec();
        bad[20] ^= 1;
        assert_eq!(parse_frame(&bad), Err(C37Error::BadCrc));
    }

    #[test]
    fn command_config_and_data() {
        assert_eq!(probe(CMD_OFF, true), Probe::Yes);
        assert_eq!(probe(&CMD_OFF[..2], true), Probe::NeedMore);
        assert_eq!(probe(b"GET /", true), Probe::No);
        assert!(probe_datagram(DATA, 4713, 4712));
        let mut st = C37118State::new();
        let mut out = Vec::new();
        let c2 = cfg2();
        st.datagram(true, CMD_OFF, &mut out);
        st.datagram(true, CMD_CFG2, &mut out);
        st.datagram(false, &c2, &mut out);
        for _ in 0..100 {
            st.datagram(false, DATA, &mut out);
        }
        assert_eq!(out.len(), 2);
        assert_eq!(st.data_frames(), 100);
        let off = out[0].op().unwrap();
        assert_eq!(off.function, "turn_off_transmission");
        assert_eq!(off.class, OpClass::ModeChange);
        assert_eq!(off.unit, Some(60));
        let e = &out[1];
        assert_eq!(e.kind, "transaction");
        assert_eq!(e.data_rate, Some(50));
        assert_eq!(e.stations[0].station_name, "PMU1");
        assert_eq!(e.stations[0].cfgcnt, Some(2));
        let op = e.op().unwrap();
        assert_eq!((op.function, op.class), ("send_cfg2", OpClass::Read));
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("PMU1".into())));
        assert_eq!(op.quantity, Some(1));
    }

    #[test]
    fn unsolicited_cfg3() {
        let mut st = C37118State::new();
        let mut out = Vec::new();
        st.datagram(false, &cfg3(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].stations[0].station_name, "Sub A");
        assert_eq!(out[0].stations[0].nominal_frequency, Some(50));
        assert_eq!(out[0].data_rate, Some(-2));
        let op = out[0].op().unwrap();
        assert!(op.response_only);
        assert_eq!((op.function, op.class), ("cfg3", OpClass::Report));
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let c2 = cfg2();
        let ts: Vec<u8> = [CMD_OFF, CMD_CFG2].concat();
        let tc: Vec<u8> = [&c2[..], DATA, DATA, &cfg3()].concat();
        let whole = tcp_run(&[(true, &ts), (false, &tc)]);
        assert_eq!(whole.0.len(), 3);
        assert_eq!(whole.1, 2);
        for cut in 0..=ts.len() {
            let got = tcp_run(&[(true, &ts[..cut]), (true, &ts[cut..]), (false, &tc)]);
            assert_eq!(got, whole, "cut {cut}");
        }
        for cut in 0..=tc.len() {
            let got = tcp_run(&[(true, &ts), (false, &tc[..cut]), (false, &tc[cut..])]);
            assert_eq!(got, whole, "cut {cut}");
        }
    }

    #[test]
    fn gap_resync_needs_valid_crc() {
        let mut st = C37118State::new();
        let mut out = Vec::new();
        st.input(false, &DATA[..10], &mut out);
        st.gap(false);
        // Garbage that has a plausible SYNC, then real frames.
        let mut junk = vec![0xaa, 0x01, 0x00, 0x20];
        junk.extend([0x11; 40]);
        st.input(false, &junk, &mut out);
        st.input(false, &cfg3(), &mut out);
        st.input(false, DATA, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(st.data_frames(), 1);
    }

    #[test]
    fn bounded_memory() {
        let mut st = C37118State::new();
        let mut out = Vec::new();
        // FRAMESIZE 65535 that never completes.
        st.input(false, &[0xaa, 0x31, 0xff, 0xff], &mut out);
        for _ in 0..1000 {
            st.input(false, &[0x00; 1000], &mut out);
            assert!(st.buffered() <= parser::MAX_FRAME);
        }
        // Endless garbage.
        let mut st = C37118State::new();
        for _ in 0..10_000 {
            st.input(true, &[0xaa, 0x01, 0x00], &mut out);
            assert!(st.buffered() <= parser::MAX_FRAME);
        }
        // Unanswered commands.
        let mut st = C37118State::new();
        for _ in 0..1000 {
            st.input(true, CMD_CFG2, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0xdead_beef_cafe_f00d);
        let seeds: Vec<Vec<u8>> = vec![
            CMD_OFF.to_vec(),
            CMD_CFG2.to_vec(),
            DATA.to_vec(),
            cfg2(),
            cfg3(),
        ];
        let mut out = Vec::new();
        for i in 0..100_000u32 {
            let len = (rng.next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i.is_multiple_of(2) && buf.len() >= 4 {
                buf[0] = 0xaa;
                buf[1] = ((rng.next() % 6) as u8) << 4 | 1;
                buf[2] = 0;
                buf[3] = buf.len() as u8;
            }
            let _ = probe(&buf, true);
            let _ = probe_datagram(&buf, 4713, 1);
            let _ = is_data_frame(&buf);
            let mut st = C37118State::new();
            st.input(true, &buf, &mut out);
            st.datagram(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
            }
        }
        for i in 0..100_000usize {
            let mut buf = seeds[i % seeds.len()].clone();
            for _ in 0..1 + rng.next() % 4 {
                let p = (rng.next() as usize) % buf.len();
                buf[p] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % buf.len();
                buf.truncate(cut);
            }
            // Mutated frames mostly fail the CRC; also parse the bodies
            // directly with a fixed-up CRC so the body parsers get fuzzed.
            if buf.len() >= parser::MIN_FRAME && i.is_multiple_of(2) {
                let n = buf.len() as u16;
                buf[2..4].copy_from_slice(&n.to_be_bytes());
                let l = buf.len();
                let c = crc_ccitt(&buf[..l - 2]);
                buf[l - 2..].copy_from_slice(&c.to_be_bytes());
            }
            let _ = probe(&buf, false);
            let mut st = C37118State::new();
            st.input(true, &buf, &mut out);
            st.input(false, &buf, &mut out);
            st.datagram(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
        }
    }
}
