//! IEC 60870-5-104 over TCP, port 2404.
//!
//! # Wire format
//!
//! * **APCI** (IEC 60870-5-104 §5): start octet 0x68, APDU length
//!   (4..=253: the four control octets plus the ASDU), four control
//!   octets. I-format (bit 0 of octet 1 = 0): send sequence number N(S)
//!   in octets 1-2 >> 1, receive sequence number N(R) in octets 3-4 >> 1,
//!   followed by one ASDU. S-format (octet 1 = 0x01): N(R) only. U-format
//!   (octet 1 low bits 11): STARTDT act 0x07 / con 0x0B, STOPDT act 0x13 /
//!   con 0x23, TESTFR act 0x43 / con 0x83. S and U frames are exactly 4
//!   octets long.
//! * **ASDU** (IEC 60870-5-101 §7, as profiled by 104 §9): type
//!   identification, variable structure qualifier (SQ bit 7, number of
//!   objects bits 6-0), cause of transmission (T bit 7, P/N bit 6, cause
//!   bits 5-0), originator address, common address (2 octets LE), then
//!   the information objects: a 3-octet information object address (IOA)
//!   and the element; with SQ=1 one IOA and `num` consecutive elements
//!   (IOA + i). Only the 104 sizes (2-octet COT, 2-octet common address,
//!   3-octet IOA) are decoded.
//! * **Elements** for every standard type (101 Table 8 / 104 Table 2):
//!   monitor types 1-21, 30-40 (SIQ, DIQ, VTI, BSI, normalised NVA,
//!   scaled SVA, short float R32, BCR, protection SEP/SPE/OCI with QDP and
//!   CP16, quality QDS, CP24Time2a / CP56Time2a), commands 45-51 and their
//!   time-tagged forms 58-64 (SCO/DCO/RCO with S/E, QU and the state,
//!   set-points with QOS = S/E + QL), M_EI_NA_1 (70), system commands
//!   100-107 (interrogation QOI, counter interrogation QCC, read, clock
//!   sync, test FBP, reset process QRP, delay acquisition, test with time
//!   TSC), parameters 110-113 (with QPM / QPA) and file transfer 120-127
//!   (NOF, NOS, LOF, file qualifiers, CHS, SOF, segments, F_SC_NB_1 time
//!   range).
//!
//! # Bounds
//!
//! One APDU (255 octets) buffered per direction; 64 information objects
//! kept per event (`truncated`), all decoded; at most
//! [`state::MAX_PENDING`] activations wait for their confirmation.
//! Garbage is skipped to the next 0x68 that starts a plausible APCI
//! (length 4..=253; I-frames at least 10 octets; S/U frames 4 octets; a
//! known U function while probing or resynchronising after a gap,
//! otherwise a U frame with unknown function bits is logged with
//! `u_function: "unknown"`). An ASDU whose objects do not fit is logged with the
//! objects that did and `malformed: true`. Malformed input never panics.
//!
//! # Events and pairing
//!
//! One event per I-format APDU (one ASDU) and per U-format APDU; S-format
//! frames only count. Activations (control-type ASDUs with COT 6 act or
//! 8 deact, and C_RD_NA_1 with COT 5) are held until the mirrored ASDU
//! from the other direction with the same type id, common address and
//! first IOA arrives with COT 7 actcon / 9 deactcon / 10 actterm / 44-47
//! (a read is answered by monitor data with COT 5 at that address); then
//! the activation event is emitted, followed by the confirmation event.
//! Unanswered activations are emitted at flow end or when the bound is
//! exceeded.
//!
//! # `Op`
//!
//! `function` = the lower-case type mnemonic (`c_sc_na_1`, `c_se_nc_1`,
//! `c_ic_na_1`, `m_sp_na_1`, ... all of 101 Table 8 / 104 Table 2),
//! `code` = type id; U-frames give `startdt_act` (0x07) and `stopdt_act`
//! (0x13). Classes: C_* process commands (45-64) -> Command; C_IC, C_CI,
//! C_RD -> Read; C_CS, C_TS, C_CD, C_TS_TA -> Diagnostic; C_RP -> Restart;
//! P_* -> Write; F_* -> File; monitor types -> Report; STARTDT/STOPDT ->
//! Session.
//!
//! Ops are made for activations (with the paired confirmation: `status` =
//! its COT when negative or 44-47), the file commands F_SC_NA_1,
//! F_AF_NA_1, F_SC_NB_1, spontaneous (COT 3) and initialisation (COT 4)
//! monitor ASDUs (one per ASDU, `response_only`), and confirmations that
//! found no activation (`response_only`). Periodic, background,
//! interrogated and requested data, paired confirmations, terminations,
//! TESTFR and S-frames give none.
//!
//! `unit` = common address, `address` = first IOA, `quantity` = number of
//! objects, `values` = the element values (command state SCS/DCS/RCS,
//! set-point values, qualifiers QOI/QCC/QRP/QPA, monitor values; up to
//! 64). Attrs: `cot` (Int), `negative` (Bool), `test` (Bool), `oa`
//! (Int), `select` (Bool, S/E of commands and set-points), `qualifier`
//! (Int, QU / QL / QPM / file qualifier of the first object),
//! `confirm_cot` (Int, the paired confirmation's COT), `deactivate`
//! (Bool, COT 8).
//!
//! # EVE shape (`iec104`, Zeek ICSNPP-like meanings)
//!
//! ```json
//! {"apdu_len":21,"apci_type":"I","apci_tx":20,"apci_rx":78,"type_id":58,"type_name":"C_SC_TA_1",
//!  "sq":false,"num_ix":1,"cot":6,"cot_name":"act","negative":false,"test":false,"originator":0,
//!  "common_address":3,"objects":[{"ioa":4501,"value":1,"select":false,"qualifier":0,
//!  "time":"2009-08-13T12:05:01.000"}]}
//! {"apdu_len":4,"apci_type":"U","u_function":"startdt_act"}
//! ```
//! Object keys (each omitted when the type has no such element): `ioa`,
//! `value` (number; normalised values as value / 32768), `quality` (list
//! of set flags: ov, ei, bl, sb, nt, iv, cy, ca, time_invalid,
//! transient), `select` (S/E: true = select), `qualifier`, `counter_seq`,
//! `elapsed_ms` (CP16), `time` (CP56Time2a as `20YY-MM-DDTHH:MM:SS.mmm`,
//! CP24Time2a as `MM:SS.mmm`), `time_stop`, `nof`, `nos`, `length`,
//! `chs`, `sof`. ASDU-level `truncated` / `malformed` appear only when
//! true; `type_name` / `cot_name` are omitted for unknown codes.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{cot_name, type_class, Asdu, Body, Confirm, Iec104Event};
pub use parser::{
    parse_apdu, parse_apdu_strict, type_info, Apci, Apdu, AsduHeader, Iec104Error, InfoObject,
};
pub use state::{Iec104State, Iec104Stats};

use crate::proto::common::Probe;

/// Probe the first bytes of a TCP direction: a plausible APCI.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    match data.first() {
        None => return Probe::NeedMore,
        Some(&parser::START) => {}
        Some(_) => return Probe::No,
    }
    if data.len() < 6 {
        return match data.get(1) {
            Some(&l) if !(4..=253).contains(&l) => Probe::No,
            _ => Probe::NeedMore,
        };
    }
    match parse_apdu_strict(data) {
        Ok(_) | Err(Iec104Error::Truncated) => Probe::Yes,
        Err(_) => Probe::No,
    }
}

#[cfg(test)]
mod tests {
    use super::parser::tests::{asdu, i_frame, s_frame, u_frame};
    use super::*;

    #[test]
    fn probe_cases() {
        assert_eq!(probe(&u_frame(0x07), true), Probe::Yes);
        assert_eq!(probe(&[0x68], true), Probe::NeedMore);
        assert_eq!(probe(&[0x68, 0x04, 0x07], true), Probe::NeedMore);
        assert_eq!(probe(&[0x68, 0x01], true), Probe::No);
        assert_eq!(probe(&[0x68, 0x04, 0x47, 0, 0, 0], true), Probe::No);
        assert_eq!(probe(b"GET / HTTP/1.1", true), Probe::No);
        let f = i_frame(0, 0, &asdu(100, 1, 6, 1, &[0, 0, 0, 20]));
        assert_eq!(probe(&f[..8], true), Probe::Yes);
    }

    // Real APDUs (090813_diverse.pcap, TestDissectIec104.pcap), annotated.
    const STARTDT_ACT: &[u8] = &[0x68, 0x04, 0x07, 0x00, 0x00, 0x00]; // U: 07 = STARTDT act
    const TESTFR_CON: &[u8] = &[0x68, 0x04, 0x83, 0x00, 0x00, 0x00]; // U: 83 = TESTFR con
    const S_FRAME: &[u8] = &[0x68, 0x04, 0x01, 0x00, 0x9c, 0x00]; // S: N(R) = 0x9c >> 1 = 78
    const MEAS: &[u8] = &[
        0x68, 0x1a, // start, APDU length 26
        0x9a, 0x00, 0x28, 0x00, // I: N(S) 77, N(R) 20
        0x0d, // type 13 M_ME_NC_1 (short float)
        0x02, // SQ=0, 2 objects
        0x01, 0x00, // COT 1 periodic, P/N 0, T 0; originator 0
        0x03, 0x00, // common address 3
        0x14, 0x05, 0x00, // IOA 1300
        0x00, 0x00, 0xf0, 0x41, // 30.0
        0x00, // QDS
        0x15, 0x05, 0x00, // IOA 1301
        0x00, 0x00, 0x31, 0x44, // 708.0
        0x00, // QDS
    ];
    const CMD_ACT: &[u8] = &[
        0x68, 0x15, // start, length 21
        0x28, 0x00, 0x9c, 0x00, // I: N(S) 20, N(R) 78
        0x3a, // type 58 C_SC_TA_1
        0x01, // 1 object
        0x06, 0x00, // COT 6 act, originator 0
        0x03, 0x00, // common address 3
        0x95, 0x11, 0x00, // IOA 4501
        0x81, // SCO: S/E=1 select, QU 0, SCS 1 (on)
        0x08, 0x00, 0x17, 0x13, 0x0d, 0x08,
        0x6d, // CP56: 8 ms, 23 min, 19 h, 13th, Aug, year 109
    ];
    const CMD_CON: &[u8] = &[
        0x68, 0x15, 0x9c, 0x00, 0x2a, 0x00, // I: N(S) 78, N(R) 21
        0x3a, 0x01, 0x07, 0x00, 0x03, 0x00, // C_SC_TA_1, 1 object, COT 7 actcon, CA 3
        0x95, 0x11, 0x00, 0x81, // IOA 4501, SCO select on
        0x08, 0x00, 0x17, 0x13, 0x0d, 0x08, 0x09, // CP56 2009-08-13 19:23:00.008
    ];
    /// One TCP segment: an S-frame and three I-frames (C_IC_NA_1 actcon,
    /// M_SP_NA_1 SQ=1 x9 inrogen, M_DP_NA_1 SQ=1 x3 inrogen).
    const SEGMENT: &str = "680401000200680e02000200640107000d9100000014681604000200018914000d911a2700d0808080c080808080681006000200038314000d912a4e00808080";
    /// M_EI_NA_1 end of initialisation, COT 4, CA 0x910d, COI 0.
    const END_OF_INIT: &[u8] = &[
        0x68, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x46, 0x01, 0x04, 0x00, 0x0d, 0x91, 0x00, 0x00, 0x00,
        0x00,
    ];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn annotated_fixtures() {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        st.input(true, STARTDT_ACT, &mut out);
        st.input(false, MEAS, &mut out);
        st.input(true, S_FRAME, &mut out);
        st.input(false, TESTFR_CON, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].op().map(|o| o.function), Some("startdt_act"));
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(v["apci_tx"], 77);
        assert_eq!(v["apci_rx"], 20);
        assert_eq!(v["type_name"], "M_ME_NC_1");
        assert_eq!(v["cot_name"], "per_cyc");
        assert_eq!(
            v["objects"][1],
            serde_json::json!({"ioa": 1301, "value": 708.0})
        );
        assert!(out[1].op().is_none(), "periodic data is not an op");
        assert_eq!(v.get("truncated"), None);
        assert_eq!(st.stats().s_frames, 1);

        out.clear();
        st.input(true, CMD_ACT, &mut out);
        assert!(out.is_empty());
        st.input(false, CMD_CON, &mut out);
        assert_eq!(out.len(), 2);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.unit, op.address),
            ("c_sc_ta_1", 58, Some(3), Some(4501))
        );
        assert_eq!(op.attr("select"), Some(&rules::ot::Attr::Bool(true)));
        assert_eq!(op.attr("confirm_cot"), Some(&rules::ot::Attr::Int(7)));
        assert_eq!(op.values, vec![1.0]);
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(v["objects"][0]["time"], "2009-08-13T19:23:00.008");
        assert!(out[1].op().is_none());

        out.clear();
        st.input(false, &hex(SEGMENT), &mut out);
        // The C_IC actcon found no activation: response-only op.
        assert_eq!(out.len(), 3);
        assert!(out[0].op().is_some_and(|o| o.response_only));
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(
            (v["sq"].as_bool(), v["num_ix"].as_u64()),
            (Some(true), Some(9))
        );
        assert_eq!(v["objects"][8]["ioa"], 10018);
        // SIQ 0xd0: IV, NT, BL.
        assert_eq!(
            v["objects"][0]["quality"],
            serde_json::json!(["bl", "nt", "iv"])
        );
        let v = serde_json::to_value(&out[2]).expect("json");
        assert_eq!(v["type_name"], "M_DP_NA_1");
        assert_eq!(v["objects"][2]["ioa"], 20012);

        out.clear();
        st.input(false, END_OF_INIT, &mut out);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.unit),
            ("m_ei_na_1", rules::ot::OpClass::Report, Some(0x910d))
        );
    }

    fn conversation() -> (Vec<u8>, Vec<u8>) {
        let mut ts = u_frame(0x07);
        ts.extend(i_frame(0, 0, &asdu(100, 1, 6, 1, &[0, 0, 0, 20])));
        ts.extend(s_frame(3));
        ts.extend(i_frame(1, 3, &asdu(46, 1, 6, 1, &[0x10, 0x27, 0, 0x82])));
        let mut tc = u_frame(0x0b);
        tc.extend(i_frame(0, 1, &asdu(100, 1, 7, 1, &[0, 0, 0, 20])));
        let mut m = vec![0x01, 0, 0];
        for i in 0..5u8 {
            m.extend((f32::from(i) * 1.5).to_le_bytes());
            m.push(0);
        }
        tc.extend(i_frame(1, 1, &asdu(13, 0x85, 20, 1, &m)));
        tc.extend(i_frame(2, 1, &asdu(100, 1, 10, 1, &[0, 0, 0, 20])));
        tc.extend(i_frame(3, 2, &asdu(46, 1, 7, 1, &[0x10, 0x27, 0, 0x82])));
        (ts, tc)
    }

    fn run(ts: &[&[u8]], tc: &[&[u8]]) -> Vec<String> {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        for c in ts {
            st.input(true, c, &mut out);
        }
        for c in tc {
            st.input(false, c, &mut out);
        }
        st.finish(&mut out);
        out.iter()
            .map(|e| {
                format!(
                    "{} {} {:?}",
                    e.tx_id,
                    serde_json::to_string(e).unwrap_or_default(),
                    e.op()
                )
            })
            .collect()
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let (ts, tc) = conversation();
        let want = run(&[&ts], &[&tc]);
        assert_eq!(want.len(), 8);
        for i in 0..=ts.len() {
            assert_eq!(run(&[&ts[..i], &ts[i..]], &[&tc]), want, "ts split {i}");
        }
        for i in 0..=tc.len() {
            assert_eq!(run(&[&ts], &[&tc[..i], &tc[i..]]), want, "tc split {i}");
        }
        let ts1: Vec<&[u8]> = ts.chunks(1).collect();
        let tc1: Vec<&[u8]> = tc.chunks(1).collect();
        assert_eq!(run(&ts1, &tc1), want);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        let mut x = 0x2545_f491_u32;
        for i in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // A header announcing 253 octets that never come, and noise.
            let chunk = [
                0x68,
                0xfd,
                0x00,
                0x00,
                x as u8,
                (x >> 8) as u8,
                (x >> 16) as u8,
            ];
            st.input(i % 2 == 0, &chunk, &mut out);
            assert!(st.buffered() <= 2 * parser::MAX_APDU);
            assert!(st.pending() <= state::MAX_PENDING);
        }
    }

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let (ts, tc) = conversation();
        let mut seeds = vec![ts, tc];
        // One APDU of every known type with two objects of plausible size.
        for t in parser::TYPES {
            let size: usize = t.parts.len() * 4 + 8;
            let body: Vec<u8> = (0..size as u8).collect();
            seeds.push(i_frame(0, 0, &asdu(t.id, 2, 3, 1, &body)));
            seeds.push(i_frame(0, 0, &asdu(t.id, 0x82, 6, 1, &body)));
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut st = Iec104State::new();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let r = xorshift(&mut x);
            let buf: Vec<u8> = if i % 2 == 0 {
                let len = (r % 300) as usize;
                let mut v: Vec<u8> = (0..len).map(|_| xorshift(&mut x) as u8).collect();
                if r & 0x100 != 0 && !v.is_empty() {
                    v[0] = 0x68;
                }
                v
            } else {
                let mut v = seeds[(r as usize) % seeds.len()].clone();
                let n = v.len();
                for _ in 0..(1 + (r >> 16) % 4) {
                    let k = xorshift(&mut x);
                    // Keep the start octet half of the time.
                    let at = (k as usize) % n;
                    if at != 0 || k & 1 == 0 {
                        v[at] = (k >> 32) as u8;
                    }
                }
                v
            };
            let _ = probe(&buf, true);
            let _ = parse_apdu(&buf);
            if let Ok((h, rest)) = parser::parse_asdu_header(&buf) {
                let _ = parser::parse_objects(&h, rest, 64);
            }
            st.input(i % 3 != 0, &buf, &mut out);
            if i % 997 == 0 {
                st.gap(i % 2 == 0);
            }
            for e in out.drain(..) {
                let _ = serde_json::to_string(&e);
                let _ = e.op();
            }
        }
    }
}
