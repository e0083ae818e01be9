//! S7comm-plus (Siemens S7-1200/1500 protocol, protocol id 0x72) over
//! COTP/TPKT, TCP port 102: recognition and operation headers. Input is
//! one COTP TSDU at a time (dispatch with `cotp::classify_tsdu`).
//!
//! # Spec notes
//!
//! No public standard; the layout is the one documented by the Wireshark
//! `s7comm_plus` plugin and the S7CommPlusDriver project, and checked
//! against the test captures (V1, V2 and V3 sessions).
//!
//! * Frame: `0x72 version(1) data_len(2) data trailer`, trailer =
//!   `0x72 version 00 00`. `data_len` counts the bytes between header and
//!   trailer. A PDU larger than the TPDU is split into several frames; only
//!   the last one has the trailer. Versions: 1, 2 (S7-1200 FW ≥ 4 /
//!   S7-1500), 3 (integrity-protected), 0xfe/0xff keep-alive.
//! * V3: the data starts with an integrity part `digest_len(1)=0x20
//!   digest(32)` (HMAC-like; not verifiable passively).
//! * Operation header:
//!   - request `0x31 reserved(2) function(2) reserved(2) seq(2)
//!     session_id(4) transport_flags(1)` then the request set
//!     (DeleteObject: `object_id(4)` first);
//!   - response `0x32` (or `0x02`) `reserved(2) function(2) reserved(2)
//!     seq(2) transport_flags(1) return_value(VLQ u64)` (bit 62 = error
//!     extension); CreateObject adds `count(1)` object ids (VLQ), the first
//!     being the new session id;
//!   - notification `0x33 subscription_id(4) ...` (no function).
//! * Functions: 0x04BB Explore, 0x04CA CreateObject, 0x04D4 DeleteObject,
//!   0x04F2 SetVariable, 0x04FC GetVariable, 0x0506 AddLink, 0x051A
//!   RemoveLink, 0x0524 GetLink, 0x0542 SetMultiVariables, 0x054C
//!   GetMultiVariables, 0x0556 BeginSequence, 0x0560 EndSequence, 0x056B
//!   Invoke, 0x057C SetVarSubStreamed, 0x0586 GetVarSubStreamed, 0x0590
//!   GetVariablesAddress, 0x059A Abort, 0x04B1 Error.
//! * Identity: the CreateObject response that opens a session carries the
//!   PLC's `ServerSessionVersion` string `1;<order number>;<firmware>`
//!   (`1;6ES7 511-1AK00-0AB0;V1.0`); it is found by a bounded scan for a
//!   printable run of that shape.
//! * Not decoded: the object/attribute/value trees (variable addresses,
//!   written values), so downloads are not recognised as such (they are
//!   CreateObject/SetMultiVariables sequences) and values are not logged.
//!
//! # Pairing and bounds
//!
//! Requests are paired with the response of the same sequence number and
//! function in the other direction; at most [`MAX_PENDING`] (64) wait,
//! the oldest is logged request-only beyond that and at
//! [`S7PlusState::finish`]. Notifications and unmatched responses are
//! response-only events. Continuation fragments are skipped (one flag per
//! direction); no payload is buffered.
//!
//! # Op vocabulary
//!
//! `Op::code` = function code; `Op::function`/class: `explore`
//! (discovery), `create_object`, `delete_object`, `begin_sequence`,
//! `end_sequence`, `abort` (session), `set_variable`,
//! `set_multi_variables`, `set_var_sub_streamed` (write),
//! `get_variable`, `get_multi_variables`, `get_var_sub_streamed`,
//! `get_variables_address`, `get_link` (read), `invoke` (command),
//! `add_link`, `remove_link`, `error`, `unknown` (other); notifications:
//! `notification` (code 0x33, report). `Op::object` = object id (hex) of a
//! DeleteObject / CreateObject or the subscription of a notification;
//! `Op::status` = low 16 bits of the return value when its error bit (62)
//! is set. Attrs: `version`, `sequence_number`, `session_id`,
//! `object_id`, and from a session's CreateObject response `id_vendor`
//! (`Siemens`), `id_model` (order number), `id_version` (firmware).
//!
//! # EVE (`s7comm_plus`)
//!
//! ```json
//! {"version":3,"opcode":49,"opcode_name":"Request","function_code":1356,
//!  "function_name":"Get Multi Variables","sequence_number":33565,
//!  "session_id":1879051853,"return_value":0,"integrity":true}
//! {"version":3,"opcode":51,"opcode_name":"Notification","response_only":true,
//!  "subscription_id":1879051857,"integrity":true}
//! {"version":1,"opcode":49,"opcode_name":"Request","function_code":1226,
//!  "function_name":"Create Object","sequence_number":1,"session_id":288,
//!  "object_id":904,"return_value":0,"order_number":"6ES7 511-1AK00-0AB0",
//!  "firmware_version":"V1.0"}
//! ```

pub mod event;
pub mod parser;
pub mod state;

pub use event::S7PlusEvent;
pub use parser::{parse_frame, parse_op, Frame, OpHeader, S7PlusError, PROTOCOL_ID};
pub use state::{S7PlusState, S7PlusStats, MAX_PENDING};

/// Does a TSDU look like S7comm-plus (protocol id, known version, length)?
pub fn probe_tsdu(tsdu: &[u8]) -> bool {
    matches!(parse_frame(tsdu), Ok(f) if matches!(f.version, 1 | 2 | 3 | 0xfe | 0xff))
}

#[cfg(test)]
mod tests {
    use super::parser::tests::V2_SETMULTI_RESP;
    use super::*;
    use rules::ot::{Attr, OpClass};

    fn frame(version: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x72, version];
        v.extend((data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v.extend([0x72, version, 0, 0]);
        v
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }

    fn run(pdus: &[(bool, &[u8])]) -> Vec<S7PlusEvent> {
        let mut st = S7PlusState::new();
        let mut out = Vec::new();
        for (d, p) in pdus {
            st.input_tsdu(*d, p, &mut out);
        }
        st.finish(&mut out);
        out
    }

    fn json(ev: &[S7PlusEvent]) -> Vec<String> {
        ev.iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect()
    }

    /// V1 CreateObject request (S7-1511_db6w0_HMI.pcap frame 6, request
    /// set cut after the first attribute).
    fn v1_create_req() -> Vec<u8> {
        frame(
            1,
            &[
                0x31, // request
                0x00, 0x00, // reserved
                0x04, 0xca, // CreateObject
                0x00, 0x00, // reserved
                0x00, 0x01, // sequence 1
                0x00, 0x00, 0x01, 0x20, // session id 288 (ObjectNullServerSession)
                0x36, // transport flags
                0x00, 0x00, 0x01, 0x1d, // request id
            ],
        )
    }

    /// V1 CreateObject response (frame 7, cut to the version attribute).
    fn v1_create_resp() -> Vec<u8> {
        let mut d = vec![
            0x32, 0x00, 0x00, 0x04, 0xca, 0x00, 0x00, 0x00, 0x01, // response, seq 1
            0x36, // transport flags
            0x00, // return value 0
            0x02, 0x87, 0x08, 0x87, 0x09, // 2 object ids: 0x388 (session), 0x389
            0xa3, 0x82, 0x3f, 0x00, 0x15, 0x1a, // attribute, type string, length 26
        ];
        d.extend(b"1;6ES7 511-1AK00-0AB0;V1.0");
        frame(1, &d)
    }

    /// V2 DeleteObject request/response (frames 15/16).
    const V2_DELETE_REQ: &str = "7202004c31000004d40000000400000388340000038800000004e88969001200000000896a001300896b000400000320bc6a21f910613fd5a41f8ed4259a635e9afa54ae11a30ade7c6a6b6c15f9227672020000";
    const V2_DELETE_RESP: &str = "7202003032000004d400000004340000000388204e96a202ac13697582f2ce178f994d62bf46dd0830b31ace962bcfe6918550af72020000";
    /// V3 GetMultiVariables request/response (s7comm_plus.pcap 30/31).
    const V3_GETMULTI_REQ: &str = "7203006a20eeed63815b2cdcb7e899d568a24eb02b45ed2246a88700849f03a872687a7c09310000054c0000831d70000e4d3400000000030e008780809c4d018e320081490288390000814902883901000004e88969001200000000896a001300896b00040000819a730000000072030000";
    const V3_GETMULTI_RESP: &str = "72030043203dcac8ee113108f0defe64eff4faf6106fe1fa3d75064cde9b8314d9f1e276a3320000054c0000831d3400010004010200088372030008be04000083a1100000000072030000";

    #[test]
    fn v1_session_setup_reveals_identity() {
        let out = run(&[(true, &v1_create_req()), (false, &v1_create_resp())]);
        assert_eq!(
            json(&out),
            [
                r#"{"version":1,"opcode":49,"opcode_name":"Request","function_code":1226,"function_name":"Create Object","sequence_number":1,"session_id":288,"object_id":904,"return_value":0,"order_number":"6ES7 511-1AK00-0AB0","firmware_version":"V1.0"}"#
            ]
        );
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("create_object", 0x04ca, OpClass::Session)
        );
        assert_eq!(
            op.attr("id_model"),
            Some(&Attr::Str("6ES7 511-1AK00-0AB0".into()))
        );
        assert_eq!(op.attr("id_version"), Some(&Attr::Str("V1.0".into())));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("Siemens".into())));
    }

    #[test]
    fn v2_write_and_delete() {
        // SetMultiVariables request (frame 9), request set cut.
        let req = frame(
            2,
            &[
                0x31, 0x00, 0x00, 0x05, 0x42, 0x00, 0x00, 0x00,
                0x02, // SetMultiVariables, seq 2
                0x00, 0x00, 0x03, 0x88, // session 0x388
                0x34, // transport flags
                0x00, 0x00, 0x03, 0x88, // object id
            ],
        );
        let out = run(&[
            (true, &req),
            (false, V2_SETMULTI_RESP),
            (true, &unhex(V2_DELETE_REQ)),
            (false, &unhex(V2_DELETE_RESP)),
        ]);
        assert_eq!(out.len(), 2);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.status),
            ("set_multi_variables", OpClass::Write, None)
        );
        assert_eq!(op.attr("session_id"), Some(&Attr::Int(0x388)));
        let op = out[1].op().expect("op");
        assert_eq!((op.function, op.class), ("delete_object", OpClass::Session));
        assert_eq!(op.object.as_deref(), Some("0x388"));
    }

    #[test]
    fn v3_integrity_and_notifications() {
        let mut notif = vec![0x20];
        notif.extend([0x5a; 32]); // digest
        notif.extend([0x33, 0x70, 0x00, 0x0e, 0x51, 0x04, 0x00, 0x00, 0x00]); // notification
        let notif = frame(3, &notif);
        let out = run(&[
            (false, &notif),
            (true, &unhex(V3_GETMULTI_REQ)),
            (false, &unhex(V3_GETMULTI_RESP)),
        ]);
        assert_eq!(
            json(&out),
            [
                r#"{"version":3,"opcode":51,"opcode_name":"Notification","response_only":true,"subscription_id":1879051857,"integrity":true}"#,
                r#"{"version":3,"opcode":49,"opcode_name":"Request","function_code":1356,"function_name":"Get Multi Variables","sequence_number":33565,"session_id":1879051853,"return_value":0,"integrity":true}"#
            ]
        );
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class, op.response_only),
            ("notification", 0x33, OpClass::Report, true)
        );
        let op = out[1].op().expect("op");
        assert_eq!(
            (op.function, op.class),
            ("get_multi_variables", OpClass::Read)
        );
    }

    #[test]
    fn error_return_value_and_unmatched() {
        // Response with the error bit: a 9-byte return value VLQ.
        let resp = frame(
            2,
            &[
                0x32, 0x00, 0x00, 0x04, 0xf2, 0x00, 0x00, 0x00, 0x07,
                0x34, // SetVariable, seq 7
                0xa0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0xff, 0xf4, // 0x4000_0000_0000_fff4
            ],
        );
        let out = run(&[(false, &resp)]);
        assert!(out[0].response_only);
        assert_eq!(out[0].return_value, Some(0x4000_0000_0000_fff4));
        let op = out[0].op().expect("op");
        assert_eq!((op.function, op.status), ("set_variable", Some(0xfff4)));
    }

    #[test]
    fn fragments_keepalives_and_bounds() {
        let mut st = S7PlusState::new();
        let mut out = Vec::new();
        // A fragmented response: first part (no trailer), continuation
        // whose data happens to look like a request, last part.
        let first = {
            let d = [
                0x32, 0x00, 0x00, 0x05, 0x4c, 0x00, 0x00, 0x00, 0x09, 0x34, 0x00,
            ];
            let mut v = vec![0x72, 2, 0, d.len() as u8];
            v.extend(d);
            v
        };
        let cont = {
            let d = [0x31, 0x00, 0x00, 0x04, 0xf2, 0x00, 0x00, 0x00, 0x01];
            let mut v = vec![0x72, 2, 0, d.len() as u8];
            v.extend(d);
            v
        };
        let last = frame(2, &[0x00, 0x00]);
        st.input_tsdu(false, &first, &mut out);
        st.input_tsdu(false, &cont, &mut out);
        st.input_tsdu(false, &last, &mut out);
        st.input_tsdu(true, &[0x72, 0xff, 0x00, 0x00], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(st.stats.fragments, 2);
        assert_eq!(st.stats.keepalives, 1);
        // Unanswered requests stay bounded.
        out.clear();
        let mut req = v1_create_req();
        for i in 0..500u16 {
            req[11..13].copy_from_slice(&i.to_be_bytes());
            st.input_tsdu(true, &req, &mut out);
            assert!(st.pending() <= MAX_PENDING);
        }
        assert_eq!(out.len(), 500 - MAX_PENDING);
        st.finish(&mut out);
        assert_eq!(out.len(), 500);
    }

    #[test]
    fn split_at_every_byte_through_cotp() {
        use crate::proto::cotp::{CotpEvent, CotpState};
        fn tpkt(t: &[u8]) -> Vec<u8> {
            let mut v = vec![3, 0];
            v.extend(((t.len() + 7) as u16).to_be_bytes());
            v.extend([2, 0xf0, 0x80]);
            v.extend_from_slice(t);
            v
        }
        fn go(c: &[&[u8]], s: &[&[u8]]) -> Vec<String> {
            let mut cotp = CotpState::new();
            let mut st = S7PlusState::new();
            let mut out = Vec::new();
            for (d, chunks) in [(true, c), (false, s)] {
                for ch in chunks {
                    cotp.input_with(d, ch, |e| {
                        if let CotpEvent::Data { to_server, tsdu } = e {
                            st.input_tsdu(to_server, &tsdu, &mut out);
                        }
                    });
                }
            }
            st.finish(&mut out);
            json(&out)
        }
        let mut client = tpkt(&v1_create_req());
        client.extend(tpkt(&unhex(V3_GETMULTI_REQ)));
        let mut server = tpkt(&v1_create_resp());
        server.extend(tpkt(&unhex(V3_GETMULTI_RESP)));
        let want = go(&[&client], &[&server]);
        assert_eq!(want.len(), 2);
        for cut in 0..=client.len() {
            let sc = cut % (server.len() + 1);
            assert_eq!(
                go(
                    &[&client[..cut], &client[cut..]],
                    &[&server[..sc], &server[sc..]]
                ),
                want,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let seeds = [
            v1_create_req(),
            v1_create_resp(),
            V2_SETMULTI_RESP.to_vec(),
            unhex(V2_DELETE_REQ),
            unhex(V3_GETMULTI_REQ),
            unhex(V3_GETMULTI_RESP),
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut st = S7PlusState::new();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let r = next();
            let buf: Vec<u8> = if i % 2 == 0 {
                let n = (r % 80) as usize;
                let mut b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                if n > 4 && r & 1 == 0 {
                    b[0] = 0x72;
                    b[1] = 1 + (r >> 8) as u8 % 3;
                    let l = (n - 4 - (r >> 16) as usize % 5.min(n - 4)) as u16;
                    b[2..4].copy_from_slice(&l.to_be_bytes());
                }
                b
            } else {
                let mut b = seeds[(r % seeds.len() as u64) as usize].clone();
                for _ in 0..1 + (r >> 5) % 4 {
                    let p = next() as usize % b.len();
                    b[p] = next() as u8;
                }
                if r & 0x100 != 0 {
                    b.truncate(next() as usize % (b.len() + 1));
                }
                b
            };
            let _ = probe_tsdu(&buf);
            if let Ok(f) = parse_frame(&buf) {
                let _ = parse_op(f.version, f.data);
            }
            st.input_tsdu(r & 0x200 == 0, &buf, &mut out);
            for e in &out {
                let _ = e.op();
                let _ = serde_json::to_string(e);
            }
            out.clear();
            assert!(st.pending() <= MAX_PENDING);
        }
    }
}
