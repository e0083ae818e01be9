//! IEC 61850-8-1 GOOSE (Generic Object Oriented Substation Event),
//! EtherType 0x88B8.
//!
//! # Spec notes
//!
//! * Frame (IEC 61850-8-1 Annex A, §A.3): after the EtherType (and any
//!   802.1Q tag, removed by the caller) come APPID (2 octets), Length (2,
//!   counting from APPID, so >= 8; Ethernet padding may follow), Reserved 1
//!   (2; Ed.2 bit 15 = Simulation "S bit"), Reserved 2 (2), then the APDU.
//! * APDU: goosePdu [APPLICATION 1] IMPLICIT SEQUENCE { gocbRef [0]
//!   VisibleString, timeAllowedtoLive [1] INTEGER (ms), datSet [2],
//!   goID [3] OPTIONAL, t [4] UtcTime, stNum [5], sqNum [6], simulation
//!   [7] BOOLEAN (named `test` in Ed.1), confRev [8], ndsCom [9] BOOLEAN,
//!   numDatSetEntries [10], allData [11] SEQUENCE OF Data, security [12]
//!   OPTIONAL }. gocbRef, timeAllowedtoLive, datSet, stNum, sqNum, confRev
//!   and numDatSetEntries are required; stNum / sqNum / confRev / TTL must
//!   fit 32 bits unsigned.
//! * UtcTime: 4 octets seconds since 1970, 3 octets binary fraction of a
//!   second, 1 octet quality; logged as ISO 8601 with nanoseconds
//!   (fraction * 10^9 / 2^24, truncated, as tshark prints it) plus
//!   `t_quality`.
//! * allData uses the MMS `Data` encoding (ISO 9506-2), decoded by
//!   [`crate::proto::mms::parser::decode_data`]: boolean, integer,
//!   unsigned, floating-point (exponent-width octet 8 or 11, then IEEE
//!   754), bit-string (as '0'/'1'), octet-string (hex), visible-string,
//!   utc-time, binary-time, structure / array (8 levels, 256 nodes), at
//!   most 64 top-level entries (`truncated: true` beyond).
//! * Stateless decode ([`parse_frame`]); sequence checks are in
//!   [`GooseTracker`] (bounded: two generations of [`state::TRACK_CAP`]
//!   publishers keyed by (source MAC, gocbRef), and gocbRef -> first MAC),
//!   which the caller runs with the frame's source MAC. Anomalies: stNum
//!   decreased (replay / spoof / restart), sqNum not previous + 1 with the
//!   same stNum, stNum increased without allData change, allData changed
//!   without stNum change, the same gocbRef from a second MAC, test or
//!   simulation flag, TTL 0. Exact duplicates are not reported (PRP/HSR).
//!
//! # Op
//!
//! `proto` `goose`, `function` `publish` (the only one), `code` 0, class
//! Report, `response_only` true, `unit` = APPID, `object` = gocbRef,
//! `quantity` = numDatSetEntries, `values` = allData booleans (0/1) and
//! numbers flattened (first 64), attrs `st_num`, `sq_num`, `ttl`, `test`
//! (PDU element [7]), `simulation` (Reserved 1 S bit), `dat_set`, `go_id`,
//! `conf_rev`, `nds_com`.
//!
//! # EVE shape (`"goose": {...}`)
//!
//! ```json
//! {"appid":1,"simulation":false,"gocb_ref":"GEDeviceF650/LLN0$GO$gcb01",
//!  "time_allowed_to_live":40000,"dat_set":"GEDeviceF650/LLN0$GOOSE1",
//!  "go_id":"F650_GOOSE1","t":"2000-01-02T02:46:11.258165836Z",
//!  "t_quality":10,"st_num":1,"sq_num":10,"test":false,"conf_rev":1,
//!  "nds_com":false,"num_dat_set_entries":8,
//!  "all_data":[{"boolean":false},{"bit_string":"0000000000000"},...]}
//! ```
//! `reserved1` (other bits) / `reserved2` appear when non-zero, `security`
//! when a security element is present. A [`GooseAnomaly`] serialises as
//! `{"kinds":["sq_num_not_incremented"],"gocb_ref":..,"src_mac":..,
//! "st_num":..,"sq_num":..,"prev_st_num":..,"prev_sq_num":..}`.

pub mod event;
pub mod parser;
pub mod state;

pub use event::GooseEvent;
pub use parser::{parse_goose, GooseError};
pub use state::{GooseAnomaly, GooseAnomalyKind, GooseTracker};

/// EtherType of GOOSE.
pub const ETHERTYPE: u16 = 0x88b8;

/// Decode one GOOSE frame (`payload` after the EtherType); a decodable
/// frame yields one event, anything else none.
pub fn parse_frame(payload: &[u8], out: &mut Vec<GooseEvent>) {
    if let Ok(ev) = parse_goose(payload) {
        out.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mms::parser::tests::unhex;
    use crate::proto::mms::DataValue;

    /// GOOSE.pcap frame 1 (payload after EtherType 0x88b8):
    /// 00 01                  APPID 1
    /// 00 91                  Length 145
    /// 00 00 00 00            Reserved 1, Reserved 2
    /// 61 81 86               goosePdu, 134 octets
    ///   80 1a "GEDeviceF650/LLN0$GO$gcb01"   gocbRef
    ///   81 03 00 9c 40       timeAllowedtoLive 40000
    ///   82 18 "GEDeviceF650/LLN0$GOOSE1"     datSet
    ///   83 0b "F650_GOOSE1"  goID
    ///   84 08 38 6e bb f3 42 17 28 0a        t (quality 0x0a)
    ///   85 01 01             stNum 1
    ///   86 01 0a             sqNum 10
    ///   87 01 00             simulation/test FALSE
    ///   88 01 01             confRev 1
    ///   89 01 00             ndsCom FALSE
    ///   8a 01 08             numDatSetEntries 8
    ///   ab 20                allData: 4 x { boolean FALSE, bit-string 13 bits }
    pub(crate) const FRAME1: &str = "0001009100000000618186801a4745446576696365463635302f4c4c4e3024474f2467636230318103009c4082184745446576696365463635302f4c4c4e3024474f4f534531830b463635305f474f4f5345318408386ebbf34217280a85010186010a8701008801018901008a0108ab208301008403030000830100840303000083010084030300008301008403030000";
    /// GOOSE.pcap frame 4: TTL 1000, stNum 1, sqNum 1 (publisher restart).
    pub(crate) const FRAME4: &str = "0001009000000000618185801a4745446576696365463635302f4c4c4e3024474f246763623031810203e882184745446576696365463635302f4c4c4e3024474f4f534531830b463635305f474f4f5345318408386ebc41ed76ec0a8501018601018701008801018901008a0108ab208301008403030000830100840303000083010084030300008301008403030000";

    fn ev(h: &str) -> GooseEvent {
        parse_goose(&unhex(h)).expect("goose")
    }

    #[test]
    fn frame1_json_exact() {
        let e = ev(FRAME1);
        let j = serde_json::to_string(&e).expect("json");
        let bits = r#"{"boolean":false},{"bit_string":"0000000000000"}"#;
        assert_eq!(
            j,
            format!(
                r#"{{"appid":1,"simulation":false,"gocb_ref":"GEDeviceF650/LLN0$GO$gcb01","time_allowed_to_live":40000,"dat_set":"GEDeviceF650/LLN0$GOOSE1","go_id":"F650_GOOSE1","t":"2000-01-02T02:46:11.258165836Z","t_quality":10,"st_num":1,"sq_num":10,"test":false,"conf_rev":1,"nds_com":false,"num_dat_set_entries":8,"all_data":[{bits},{bits},{bits},{bits}]}}"#
            )
        );
        let op = e.op().expect("op");
        assert_eq!(
            (op.proto, op.function, op.class),
            ("goose", "publish", rules::ot::OpClass::Report)
        );
        assert!(op.response_only);
        assert_eq!(op.unit, Some(1));
        assert_eq!(op.object.as_deref(), Some("GEDeviceF650/LLN0$GO$gcb01"));
        assert_eq!(op.values, vec![0.0; 4]);
        assert_eq!(op.attr("st_num"), Some(&rules::ot::Attr::Int(1)));
        assert_eq!(op.attr("sq_num"), Some(&rules::ot::Attr::Int(10)));
        assert_eq!(op.attr("ttl"), Some(&rules::ot::Attr::Int(40000)));
        assert_eq!(op.attr("test"), Some(&rules::ot::Attr::Bool(false)));
        assert_eq!(
            op.attr("go_id"),
            Some(&rules::ot::Attr::Str("F650_GOOSE1".into()))
        );
        let mut out = Vec::new();
        parse_frame(&unhex(FRAME1), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn header_bits_padding_and_errors() {
        let mut f = unhex(FRAME1);
        f[4] = 0x80; // Reserved 1: S bit
        f[7] = 0x05; // Reserved 2
        f.extend([0u8; 10]); // Ethernet padding after Length
        let e = parse_goose(&f).expect("goose");
        assert!(e.simulation);
        assert_eq!((e.reserved1, e.reserved2), (0, 5));
        assert_eq!(parse_goose(&f[..7]), Err(GooseError::Truncated));
        assert_eq!(parse_goose(&f[..100]), Err(GooseError::Truncated));
        let mut g = unhex(FRAME1);
        g[3] = 4;
        assert_eq!(parse_goose(&g), Err(GooseError::BadLength));
        let mut g = unhex(FRAME1);
        g[8] = 0x60; // GSE management-like tag
        assert_eq!(parse_goose(&g), Err(GooseError::NotGoose));
        // Drop stNum (85 01 01): shorten the PDU by 3.
        let h = FRAME1.replace("85010186010a", "86010a");
        let mut g = unhex(&h);
        g[3] -= 3;
        g[10] -= 3;
        assert_eq!(parse_goose(&g), Err(GooseError::Missing(5)));
    }

    #[test]
    fn float_and_structure_data() {
        // allData { floating-point 1.5, structure { integer -2, utc-time },
        // visible-string "x", unsigned 7 }
        let all = "ab1c 87050800000000 a20d 8501fe 91084ab9a2a440000000 8a0178 860107";
        let mut pdu = unhex("8001418101018201418501018601008801018a0104");
        pdu.extend(unhex(all));
        // fix float bytes to 1.5 = 3f c0 00 00
        let i = pdu.iter().position(|b| *b == 0x87).expect("87");
        pdu[i + 3..i + 7].copy_from_slice(&1.5f32.to_be_bytes());
        let mut frame = vec![0x00, 0x02, 0, 0, 0, 0, 0, 0, 0x61, pdu.len() as u8];
        frame.extend(&pdu);
        let len = frame.len() as u16;
        frame[2..4].copy_from_slice(&len.to_be_bytes());
        let e = parse_goose(&frame).expect("goose");
        let j = serde_json::to_value(&e.all_data).expect("json");
        assert_eq!(
            j,
            serde_json::json!([{"floating_point":1.5},{"structure":[{"integer":-2},{"utc_time":"2009-09-23T04:23:00.250000000Z"}]},{"visible_string":"x"},{"unsigned":7}])
        );
        assert_eq!(e.op().expect("op").values, vec![1.5, -2.0, 7.0]);
        assert!(matches!(e.all_data[0], DataValue::FloatingPoint(_)));
    }

    const MAC_A: [u8; 6] = [0, 0xa0, 0xf4, 8, 0x2f, 0x77];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 1];

    fn with(mut e: GooseEvent, st: u32, sq: u32, hash: u64) -> GooseEvent {
        e.st_num = st;
        e.sq_num = sq;
        e.data_hash = hash;
        e
    }

    fn kinds(a: Option<GooseAnomaly>) -> Vec<GooseAnomalyKind> {
        a.map(|a| a.kinds).unwrap_or_default()
    }

    #[test]
    fn tracker_anomalies() {
        use GooseAnomalyKind::*;
        let base = ev(FRAME1);
        let mut t = GooseTracker::new();
        assert!(t.observe(MAC_A, &with(base.clone(), 5, 0, 1)).is_none());
        assert!(t.observe(MAC_A, &with(base.clone(), 5, 1, 1)).is_none());
        // Exact duplicate: not reported.
        assert!(t.observe(MAC_A, &with(base.clone(), 5, 1, 1)).is_none());
        // sqNum gap.
        assert_eq!(
            kinds(t.observe(MAC_A, &with(base.clone(), 5, 3, 1))),
            vec![SqNumNotIncremented]
        );
        // Legit state change.
        assert!(t.observe(MAC_A, &with(base.clone(), 6, 0, 2)).is_none());
        // stNum up, same data.
        assert_eq!(
            kinds(t.observe(MAC_A, &with(base.clone(), 7, 0, 2))),
            vec![StNumWithoutDataChange]
        );
        // Data change without stNum change.
        assert_eq!(
            kinds(t.observe(MAC_A, &with(base.clone(), 7, 1, 3))),
            vec![DataChangeWithoutStNum]
        );
        // Replay of an old state.
        let a = t
            .observe(MAC_A, &with(base.clone(), 5, 9, 1))
            .expect("anomaly");
        assert_eq!(a.kinds, vec![StNumDecreased]);
        assert_eq!((a.prev_st_num, a.prev_sq_num), (Some(7), Some(1)));
        // Second publisher for the same gocbRef.
        let a = t
            .observe(MAC_B, &with(base.clone(), 8, 0, 4))
            .expect("anomaly");
        assert_eq!(a.kinds, vec![SecondPublisher]);
        assert_eq!(a.other_mac.as_deref(), Some("00:a0:f4:08:2f:77"));
        assert_eq!(a.src_mac, "02:00:00:00:00:01");
        // Test flag and zero TTL.
        let mut e = with(base.clone(), 5, 10, 1);
        e.test = true;
        e.time_allowed_to_live = 0;
        assert_eq!(kinds(t.observe(MAC_A, &e)), vec![TestFlag, ZeroTtl]);
        // Wrap-around of sqNum and stNum is normal.
        let mut t = GooseTracker::new();
        assert!(t
            .observe(MAC_A, &with(base.clone(), u32::MAX, u32::MAX, 1))
            .is_none());
        assert!(t
            .observe(MAC_A, &with(base.clone(), u32::MAX, 1, 1))
            .is_none());
        assert!(t.observe(MAC_A, &with(base.clone(), 1, 0, 2)).is_none());
        let j = serde_json::to_string(&GooseAnomaly {
            kinds: vec![SqNumNotIncremented],
            gocb_ref: "g".into(),
            src_mac: "m".into(),
            st_num: 1,
            sq_num: 1,
            prev_st_num: Some(1),
            prev_sq_num: Some(12),
            other_mac: None,
        })
        .expect("json");
        assert_eq!(
            j,
            r#"{"kinds":["sq_num_not_incremented"],"gocb_ref":"g","src_mac":"m","st_num":1,"sq_num":1,"prev_st_num":1,"prev_sq_num":12}"#
        );
        assert_eq!(SqNumNotIncremented.as_str(), "sq_num_not_incremented");
    }

    #[test]
    fn tracker_on_capture_sequence() {
        // GOOSE.pcap frames 1..3 are stNum 1 sqNum 10, 11, 12; frame 4
        // restarts at sqNum 1 with the same stNum.
        let mut t = GooseTracker::new();
        let f1 = ev(FRAME1);
        assert!(t.observe(MAC_A, &f1).is_none());
        assert!(t
            .observe(MAC_A, &with(f1.clone(), 1, 11, f1.data_hash))
            .is_none());
        assert!(t
            .observe(MAC_A, &with(f1.clone(), 1, 12, f1.data_hash))
            .is_none());
        assert_eq!(
            kinds(t.observe(MAC_A, &ev(FRAME4))),
            vec![GooseAnomalyKind::SqNumNotIncremented]
        );
    }

    #[test]
    fn tracker_is_bounded() {
        let base = ev(FRAME1);
        let mut t = GooseTracker::with_capacity(100);
        for i in 0..10_000u32 {
            let mut e = base.clone();
            e.gocb_ref = format!("ref{i}");
            let mac = [0, 0, 0, 0, (i >> 8) as u8, i as u8];
            let _ = t.observe(mac, &e);
            assert!(t.len() <= 400);
        }
    }

    use crate::test_util::XorShift as Rng;

    #[test]
    fn random_and_mutated_frames_never_panic() {
        let seeds = [unhex(FRAME1), unhex(FRAME4)];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut t = GooseTracker::with_capacity(64);
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let buf: Vec<u8> = if i % 2 == 0 {
                let n = (rng.next() % 200) as usize;
                let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                if b.len() > 9 {
                    b[8] = 0x61;
                    let l = b.len() as u16;
                    b[2..4].copy_from_slice(&l.to_be_bytes());
                }
                b
            } else {
                let mut b = seeds[(rng.next() % 2) as usize].clone();
                for _ in 0..=(rng.next() % 4) {
                    let n = b.len();
                    match rng.next() % 3 {
                        0 => b[(rng.next() as usize) % n] = rng.next() as u8,
                        1 => b.truncate((rng.next() as usize) % n + 1),
                        _ => b.insert((rng.next() as usize) % n, rng.next() as u8),
                    }
                }
                b
            };
            out.clear();
            parse_frame(&buf, &mut out);
            for e in &out {
                let _ = e.op();
                let _ = t.observe([0, 0, 0, 0, 0, (i % 3) as u8], e);
            }
        }
    }
}
