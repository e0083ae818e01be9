//! DNP3 (IEEE 1815-2012) over TCP and UDP, port 20000.
//!
//! # Wire format
//!
//! * **Data link layer** (IEEE 1815-2012 §9.2): each frame starts with
//!   `05 64`, then `len` (octets after it without CRCs: control, dst, src
//!   and up to 250 user data octets, so 5..=255), `control`
//!   (DIR.7 PRM.6 FCB.5 FCV.4 function.3-0), `dst` and `src` (16-bit
//!   little endian) and a CRC over those 8 octets. User data follows in
//!   blocks of 16 octets, each followed by its own CRC (the last block may
//!   be shorter). CRC-16/DNP: polynomial 0x3D65 reflected, init 0,
//!   complemented, low octet first. Only primary user data frames (link
//!   function 3 confirmed / 4 unconfirmed) carry the layers above; other
//!   frames (reset link, link status, ack) are counted, not logged.
//! * **Transport** (§8.2): first user octet FIN.7 FIR.6 SEQ.5-0. Segments
//!   of one fragment are reassembled per (src, dst) pair when FIR starts
//!   and each next segment has sequence + 1 (mod 64); FIN completes it.
//! * **Application** (§4.2.2): control FIR.7 FIN.6 CON.5 UNS.4 SEQ.3-0,
//!   function code, for responses (129, 130, 131) two IIN octets
//!   (IIN1.7 device_restart .. IIN2.0 no_func_code_support), then object
//!   headers: group, variation, qualifier (prefix code bits 6-4: 0 none,
//!   1/2/3 index of 1/2/4 octets, 4/5/6 object size of 1/2/4 octets;
//!   range code bits 3-0: 0/1/2 start-stop of 1/2/4 octets, 3/4/5 the
//!   same as virtual addresses, 6 all points, 7/8/9 count of 1/2/4
//!   octets, 0xB variable-format count of 1 octet; Table 4-5), then the
//!   points.
//!
//! # What is decoded
//!
//! Every object group/variation of the table in [`objects`] (binary and
//! double-bit inputs, binary outputs and CROB g12, counters, analog inputs
//! and outputs g40/g41, deadbands, time g50-52, files g70, IIN g80,
//! device attributes/data sets as far as fixed, authentication g120,
//! security statistics g121/g122); points are logged with the field
//! names of Suricata's DNP3 logger. Decoding of a fragment stops at the
//! first unknown group/variation, reserved range code or malformed point
//! (`complete: false`), like Suricata.
//!
//! Differences from Suricata, deliberate: packed objects (g1v1, g3v1,
//! g10v1, g12v3, g80v1) use ceil(count * bits / 8) octets (Suricata reads
//! count / 8 + 1); signed values (g30v1/2, g40/g41 v1/v2 ...) are logged
//! signed (Suricata prints them as unsigned 64-bit); floats are JSON
//! numbers (`1.0` where Suricata writes `1`); frames whose user data CRC
//! is wrong are decoded and counted in `Dnp3Event::crc_errors` (Suricata
//! drops them; the count is not logged); the request/response type comes from the function code (129,
//! 130, 131 are responses) rather than from the TCP direction.
//!
//! # Bounds
//!
//! One link frame per direction is buffered (292 octets); at most
//! [`state::MAX_PARTIALS`] fragments per direction are being reassembled,
//! each at most [`state::MAX_FRAGMENT`] octets (the rest is dropped and
//! the event is `complete: false`); at most
//! [`state::MAX_PENDING`] requests wait for a response; an event keeps at
//! most 64 object headers and 256 points (`Objects::truncated`), while
//! up to 2048 objects / 16384 points are decoded to judge `complete`.
//! Malformed input never panics.
//!
//! # Pairing and events
//!
//! As Suricata, requests and responses are separate events. A request is
//! held until the response with the same application sequence number
//! from the other direction and the swapped addresses arrives (or the
//! flow ends / the pending bound is hit); then the request event is
//! emitted, followed by the response event. Requests that never get a
//! response (`_nr` functions, broadcast destinations 0xFFFD-0xFFFF) are
//! emitted at once. Application confirms (function 0) are not logged.
//! Unsolicited responses are their own events.
//!
//! # `Op`
//!
//! Requests, unsolicited responses and responses whose request was not
//! seen give an op; paired responses and continuation fragments (FIR=0)
//! do not. `function` (code):
//! confirm (0), read (1), write (2), select (3), operate (4),
//! direct_operate (5), direct_operate_nr (6), immediate_freeze (7),
//! immediate_freeze_nr (8), freeze_clear (9), freeze_clear_nr (10),
//! freeze_at_time (11), freeze_at_time_nr (12), cold_restart (13),
//! warm_restart (14), initialize_data (15), initialize_application (16),
//! start_application (17), stop_application (18), save_configuration (19),
//! enable_unsolicited (20), disable_unsolicited (21), assign_class (22),
//! delay_measure (23), record_current_time (24), open_file (25),
//! close_file (26), delete_file (27), get_file_info (28),
//! authenticate_file (29), abort_file (30), activate_config (31),
//! authenticate_req (32), authenticate_req_nr (33), response (129),
//! unsolicited_response (130), authenticate_resp (131); `unknown`
//! otherwise. Classes: read -> Read; write, assign_class -> Write;
//! select, operate, direct_operate(_nr), the freeze functions -> Command;
//! cold/warm_restart, initialize_data -> Restart;
//! initialize/start/stop_application, enable/disable_unsolicited ->
//! ModeChange; delay_measure, record_current_time -> Diagnostic; file
//! functions -> File; activate_config -> Download; authenticate_* ->
//! Security; unsolicited_response -> Report; others -> Other.
//!
//! `unit` = destination address of the request (source address of a
//! lone response); `object` = `g<group>v<variation>` of the first object
//! header; `address` = first point index (or range start) of that object,
//! `quantity` = its point count; `values` = up to 64 values of that
//! object: the CROB control code octet for g12v1/v2, `value` for analog
//! objects (g41 set-points, g40, g30, g34 ...), `state` for binary ones.
//! `status` (paired requests and lone responses) = IIN2 error bits
//! (0x01 no_func_code_support .. 0x20 config_corrupt) | first non-zero
//! CROB/analog output status code << 8; `None` when both are zero.
//! Attrs: `src` (Int, link source), `iin` (Int, the response's IIN),
//! `control_status` (Int, non-zero CROB/AO status), and for CROBs
//! `count`, `on_time`, `off_time` (Int, first point).
//!
//! # EVE shape (Suricata 8 `dnp3`)
//!
//! ```json
//! {"type":"request","control":{"dir":true,"pri":true,"fcb":false,"fcv":false,"function_code":4},
//!  "src":3,"dst":2,"application":{"control":{"fir":true,"fin":true,"con":false,"uns":false,"sequence":7},
//!  "function_code":3,"objects":[{"group":12,"variation":1,"qualifier":40,"prefix_code":2,"range_code":8,
//!  "start":0,"stop":0,"count":1,"points":[{"prefix":1,"index":1,"op_type":3,"qu":0,"cr":0,"tcc":0,
//!  "count":1,"ontime":100,"offtime":100,"status_code":0,"reserved":0}]}],"complete":true}}
//! ```
//! Responses add `"iin":{"indicators":["device_restart",...]}` (`{}` when
//! no bit is set); `type` is `response` or `unsolicited_response`.
//! No extension fields: Suricata's EVE schema (which the SOC validates
//! against) forbids any other key, so `crc_errors` and the object list's
//! `truncated` flag stay in [`Dnp3Event`] and are not logged.

pub mod event;
pub mod objects;
pub mod parser;
pub mod state;

pub use event::{function_class, function_name, Dnp3Event, Iin, Reply};
pub use parser::{crc16, parse_link_header, Dnp3Error, LinkHeader};
pub use state::{Dnp3State, Dnp3Stats};

use crate::proto::common::Probe;

/// Probe the first bytes of a TCP direction: a link header with start
/// octets, a valid CRC and a length of at least 5.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    match data {
        [] | [0x05] => Probe::NeedMore,
        [a, ..] if *a != 0x05 => Probe::No,
        [_, b, ..] if *b != 0x64 => Probe::No,
        _ => match parse_link_header(data) {
            Ok(_) => Probe::Yes,
            Err(Dnp3Error::Truncated) => Probe::NeedMore,
            Err(_) => Probe::No,
        },
    }
}

/// Does a UDP payload start with a valid DNP3 link header? (The CRC makes
/// the check strong enough without looking at the ports.)
pub fn probe_datagram(payload: &[u8], _sport: u16, _dport: u16) -> bool {
    parse_link_header(payload).is_ok()
}

#[cfg(test)]
mod tests {
    use super::parser::tests::frame;
    use super::state::MAX_FRAGMENT;
    use super::*;

    #[test]
    fn probe_cases() {
        let f = frame(0xc4, 10, 1, &[0xc0, 0xc0, 0x01, 0x3c, 0x02, 0x06]);
        assert_eq!(probe(&f, true), Probe::Yes);
        assert_eq!(probe(&f[..1], true), Probe::NeedMore);
        assert_eq!(probe(&f[..9], true), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1\r\n", true), Probe::No);
        assert_eq!(probe(b"\x05\x65", true), Probe::No);
        let mut bad = f.clone();
        bad[8] ^= 1;
        assert_eq!(probe(&bad, true), Probe::No);
        assert!(probe_datagram(&f, 1234, 20000));
        assert!(!probe_datagram(&f[..9], 1234, 20000));
    }

    /// Real frames (select_operate_and_responses.pcap, cold_restart...,
    /// dnp3_test_data_part1.pcap), annotated.
    const SELECT_REQ: &[u8] = &[
        0x05, 0x64, // start
        0x1a, // length 26: 5 header octets + 21 user octets
        0xc4, // DIR=1 PRM=1 FCB=0 FCV=0, function 4 unconfirmed user data
        0x0a, 0x00, // destination 10
        0x01, 0x00, // source 1
        0x8a, 0x1c, // header CRC
        0xc0, // transport FIN|FIR seq 0
        0xc0, // application FIR|FIN, seq 0
        0x03, // function select
        0x0c, 0x01, 0x28, // g12v1 CROB, qualifier 0x28 (2-octet index prefix, 2-octet count)
        0x01, 0x00, // count 1
        0x00, 0x00, // index 0
        0x03, // control code: latch on
        0x01, // count 1
        0x64, 0x00, 0x00, 0x00, // on time 100 ms (last octets of block 1)
        0xfd, 0x6b, // CRC of block 1 (16 octets)
        0x64, 0x00, 0x00, 0x00, // off time 100 ms
        0x00, // status 0
        0x00, 0x5b, // CRC of block 2
    ];
    const SELECT_RESP: &[u8] = &[
        0x05, 0x64, 0x1c, // start, length 28
        0x44, // DIR=0 PRM=1, unconfirmed user data
        0x01, 0x00, 0x0a, 0x00, // destination 1, source 10
        0x76, 0x36, // header CRC
        0xc6, // transport FIN|FIR seq 6
        0xc0, // application FIR|FIN seq 0
        0x81, // response
        0x00, 0x00, // IIN1, IIN2
        0x0c, 0x01, 0x28, 0x01, 0x00, 0x00, 0x00, // g12v1, q 0x28, count 1, index 0
        0x03, 0x01, 0x64, 0x00, // code, count, on time (first half)
        0xc3, 0x96, // CRC block 1
        0x00, 0x00, // on time (second half)
        0x64, 0x00, 0x00, 0x00, // off time
        0x00, // status success
        0x00, 0x5b, // CRC block 2
    ];
    const COLD_RESTART_REQ: &[u8] = &[
        0x05, 0x64, 0x08, 0xc4, 0x0a, 0x00, 0x01, 0x00, 0xfc, 0x42, // header, dst 10 src 1
        0xc0, 0xc0, 0x0d, // transport FIR|FIN, app FIR|FIN seq 0, cold restart
        0x9c, 0x86, // CRC
    ];
    const COLD_RESTART_RESP: &[u8] = &[
        0x05, 0x64, 0x0a, 0x44, 0x01, 0x00, 0x0a, 0x00, 0x6e, 0x25, // header, dst 1 src 10
        0xc0, 0xc0, 0x81, // transport, app FIR|FIN seq 0, response
        0x00, 0x01, // IIN2.0 no_func_code_support
        0xc2, 0xde, // CRC
    ];
    /// Link status request: no user data.
    const LINK_STATUS: &[u8] = &[0x05, 0x64, 0x05, 0xc0, 0x01, 0x00, 0x00, 0x04, 0xe9, 0x21];
    /// Unsolicited response with a CTO and binary input events.
    const UNSOLICITED: &str = "05644c4403000400d86bccf382000033010701e2437d87ff0002f8c3032805000000010000010081000002005989810000000081f303010001f3032001283b4603000000010000000001000100000000e8b9020001000000003d62";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    #[test]
    fn annotated_fixtures() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        st.input(true, LINK_STATUS, &mut out);
        st.input(true, SELECT_REQ, &mut out);
        assert!(out.is_empty());
        st.input(false, SELECT_RESP, &mut out);
        assert_eq!(out.len(), 2);
        let j = serde_json::to_string(&out[0]).expect("json");
        assert_eq!(
            j,
            concat!(
                r#"{"type":"request","control":{"dir":true,"pri":true,"fcb":false,"fcv":false,"function_code":4},"#,
                r#""src":1,"dst":10,"application":{"control":{"fir":true,"fin":true,"con":false,"uns":false,"sequence":0},"#,
                r#""function_code":3,"objects":[{"group":12,"variation":1,"qualifier":40,"prefix_code":2,"range_code":8,"#,
                r#""start":0,"stop":0,"count":1,"points":[{"prefix":0,"index":0,"op_type":3,"qu":0,"cr":0,"tcc":0,"#,
                r#""count":1,"ontime":100,"offtime":100,"status_code":0,"reserved":0}]}],"complete":true}}"#
            )
        );
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.unit, op.address, op.status),
            ("select", Some(10), Some(0), None)
        );
        assert_eq!(op.values, vec![3.0]);
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(v["type"], "response");
        assert_eq!(v["iin"], serde_json::json!({}));
        assert_eq!(v["application"]["objects"][0]["points"][0]["ontime"], 100);
        assert_eq!(st.stats().link_only, 1);

        out.clear();
        st.input(true, COLD_RESTART_REQ, &mut out);
        st.input(false, COLD_RESTART_RESP, &mut out);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class),
            ("cold_restart", rules::ot::OpClass::Restart)
        );
        assert_eq!(op.status, Some(1), "no_func_code_support");
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(
            v["iin"]["indicators"],
            serde_json::json!(["no_func_code_support"])
        );

        out.clear();
        st.input(false, &hex(UNSOLICITED), &mut out);
        assert_eq!(out.len(), 1);
        let v = serde_json::to_value(&out[0]).expect("json");
        assert_eq!(v["type"], "unsolicited_response");
        let objs = &v["application"]["objects"];
        assert_eq!(
            (objs[0]["group"].as_u64(), objs[0]["variation"].as_u64()),
            (Some(51), Some(1))
        );
        assert_eq!(
            (objs[1]["group"].as_u64(), objs[1]["variation"].as_u64()),
            (Some(2), Some(3))
        );
        assert_eq!(objs[1]["count"], 5);
        assert_eq!(objs[1]["points"][1]["state"], 1);
        let op = out[0].op().expect("op");
        assert!(op.response_only);
        assert_eq!((op.unit, op.object.as_deref()), (Some(4), Some("g51v1")));
    }

    /// Request + response stream, used by the split-point test.
    fn conversation() -> (Vec<u8>, Vec<u8>) {
        let mut ts = frame(0xc0, 10, 1, &[]); // link status request, no user data
        ts.extend(frame(
            0xc4,
            10,
            1,
            &[0xc1, 0xc1, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x01, 0x06],
        ));
        let mut tc = Vec::new();
        // Response in two transport segments.
        let mut app = vec![0xc1, 0x81, 0x00, 0x00, 0x1e, 0x02, 0x00, 0x00, 0x09];
        for i in 0..10u8 {
            app.extend_from_slice(&[0x01, i, 0x00]);
        }
        let (a, b) = app.split_at(20);
        let mut u = vec![0x40];
        u.extend_from_slice(a);
        tc.extend(frame(0x44, 1, 10, &u));
        let mut u = vec![0x81];
        u.extend_from_slice(b);
        tc.extend(frame(0x44, 1, 10, &u));
        (ts, tc)
    }

    fn run(ts: &[&[u8]], tc: &[&[u8]]) -> Vec<String> {
        let mut st = Dnp3State::new();
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
                    "{} {}",
                    e.tx_id,
                    serde_json::to_string(e).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let (ts, tc) = conversation();
        let want = run(&[&ts], &[&tc]);
        assert_eq!(want.len(), 2);
        assert!(want[1].contains(r#""function_code":129"#));
        assert!(want[1].contains(r#""complete":true"#));
        for i in 0..=ts.len() {
            assert_eq!(run(&[&ts[..i], &ts[i..]], &[&tc]), want, "ts split {i}");
        }
        for i in 0..=tc.len() {
            assert_eq!(run(&[&ts], &[&tc[..i], &tc[i..]]), want, "tc split {i}");
        }
        // Byte by byte.
        let ts1: Vec<&[u8]> = ts.chunks(1).collect();
        let tc1: Vec<&[u8]> = tc.chunks(1).collect();
        assert_eq!(run(&ts1, &tc1), want);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        // A header claiming 255 octets, then never the rest; garbage.
        let mut x = 0x1234_5678_u32;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let chunk = [x as u8, (x >> 8) as u8, 0x05, 0x64, 0xff, (x >> 16) as u8];
            st.input(i % 2 == 0, &chunk, &mut out);
            assert!(
                st.buffered() <= 2 * parser::MAX_FRAME + 2 * state::MAX_PARTIALS * MAX_FRAGMENT
            );
        }
        // Endless transport segments without FIN: fragment stays bounded.
        let mut st = Dnp3State::new();
        let mut seq = 0u8;
        let mut first = true;
        for _ in 0..2000 {
            let th = if first { 0x40 | seq } else { seq };
            first = false;
            let mut u = vec![th];
            u.extend([0xaa; 200]);
            st.input(false, &frame(0x44, 1, 10, &u), &mut out);
            seq = (seq + 1) & 0x3f;
            assert!(
                st.buffered() <= 2 * parser::MAX_FRAME + 2 * state::MAX_PARTIALS * MAX_FRAGMENT
            );
        }
        assert!(st.stats().fragments_cut >= 1);
        // Requests that are never answered: pending bounded.
        let mut st = Dnp3State::new();
        for i in 0..1000u32 {
            let dst = (i % 50) as u16;
            let f = frame(
                0xc4,
                dst,
                1,
                &[0xc0, 0xc0 | (i % 16) as u8, 0x01, 0x3c, 0x01, 0x06],
            );
            st.input(true, &f, &mut out);
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
        let crob = frame(
            0xc4,
            10,
            1,
            &[
                0xc3, 0xc3, 0x05, 0x0c, 0x01, 0x28, 0x01, 0x00, 0x05, 0x00, 0x41, 0x01, 0xe8, 0x03,
                0, 0, 0, 0, 0, 0, 0,
            ],
        );
        let file = frame(
            0xc4,
            10,
            1,
            &[
                0xc4, 0xc4, 0x19, 0x46, 0x03, 0x5b, 0x01, 0x20, 0x00, 0x1a, 0x00, 0x06, 0x00, 0, 0,
                0, 0, 0, 0, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x04, 0x06, 0x00,
                b'a', b'b', b'c', b'd', b'e', b'f',
            ],
        );
        let seeds = [ts, tc, crob, file];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut st = Dnp3State::new();
        let mut out = Vec::new();
        let lim = parser::Limits::default();
        for i in 0..200_000u32 {
            let r = xorshift(&mut x);
            let buf: Vec<u8> = if i % 2 == 0 {
                let len = (r % 300) as usize;
                let mut v = Vec::with_capacity(len);
                for _ in 0..len {
                    v.push(xorshift(&mut x) as u8);
                }
                if r & 0x100 != 0 && v.len() >= 2 {
                    v[0] = 0x05;
                    v[1] = 0x64;
                }
                v
            } else {
                let mut v = seeds[(r % 4) as usize].clone();
                let n = v.len();
                for _ in 0..(1 + (r >> 8) % 4) {
                    let k = xorshift(&mut x);
                    v[(k as usize) % n] = (k >> 32) as u8;
                }
                // Re-CRC half of the mutants so the upper layers see them.
                if r & 0x200 != 0 {
                    v = recrc(&v);
                }
                v
            };
            let _ = probe(&buf, true);
            let _ = probe_datagram(&buf, 1, 20000);
            let _ = parser::parse_objects(&buf, &lim);
            if let Ok((_, objs)) = parser::parse_app_header(&buf) {
                let _ = parser::parse_objects(objs, &lim);
            }
            st.input(i % 3 != 0, &buf, &mut out);
            if i % 5 == 0 {
                st.datagram(i % 2 == 0, &buf, &mut out);
            }
            if i % 1000 == 0 {
                st.gap(i % 2 == 0);
            }
            for e in out.drain(..) {
                let _ = serde_json::to_string(&e);
                let _ = e.op();
            }
        }
    }

    /// Recompute every CRC of a (mutated) frame.
    fn recrc(f: &[u8]) -> Vec<u8> {
        let mut v = f.to_vec();
        if v.len() < 10 {
            return v;
        }
        let c = crc16(&v[..8]).to_le_bytes();
        v[8] = c[0];
        v[9] = c[1];
        let mut i = 10;
        while i < v.len() {
            let end = (i + 18).min(v.len());
            if end - i > 2 {
                let c = crc16(&v[i..end - 2]).to_le_bytes();
                v[end - 2] = c[0];
                v[end - 1] = c[1];
            }
            i = end;
        }
        v
    }
}
