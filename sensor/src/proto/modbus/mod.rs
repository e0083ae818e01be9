//! Modbus/TCP decoder (TCP 502).
//!
//! # Wire format
//! * **MBAP header** (Modbus Messaging on TCP/IP Implementation Guide
//!   V1.0b §3.1.3): transaction id (2), protocol id (2, always 0), length
//!   (2, counts unit id + PDU, so 2..=254), unit id (1). All big-endian.
//! * **PDU** (Modbus Application Protocol V1.1b3 §4-7): function code (1)
//!   then data. Exception responses set bit 0x80 of the function code and
//!   carry one exception code byte (§7).
//! * Function data decoded: reads 1-4 (address, quantity / byte count,
//!   values), writes 5, 6 (address, value), 15, 16 (address, quantity,
//!   byte count, values), 22 mask write (address, AND, OR), 23 read/write
//!   multiple, diagnostics 8 (sub-function, data), 43 MEI (type; type 14
//!   Read Device Identification: read code, conformity, more follows, next
//!   object, objects 0 VendorName, 1 ProductCode, 2 MajorMinorRevision,
//!   3 VendorUrl, 4 ProductName, 5 ModelName, 6 UserApplicationName). 7,
//!   11, 12, 17, 20, 21, 24 and the legacy/user codes keep their raw data.
//!   Schneider's function 90 (UMAS, not public) is recognised: its second
//!   data byte is the UMAS function.
//! * Validity checks are Suricata 8's (sawp-modbus 0.13): quantity limits
//!   (2000 bits, 125 words), byte count consistency, single-coil values
//!   0x0000/0xFF00, diagnostic data values, exception codes, trailing
//!   bytes; they become the EVE `error_flags`.
//!
//! # Framing, pairing and bounds
//! * [`StreamBuf`](crate::proto::common::StreamBuf) frames ADUs of
//!   `6 + length` bytes, at most 260 bytes buffered per direction. A header
//!   with protocol id 0 and a length outside 2..=254 is logged as an empty
//!   message with `DATA_LENGTH` and its declared bytes are dropped. After a
//!   gap or garbage the framer accepts only strict headers (protocol id 0,
//!   plausible length, known function code) and skips byte by byte.
//! * A response pairs with the first pending request of the same
//!   transaction id, unit id, function and access type whose data shape
//!   fits (Suricata's rule); at most [`state::MAX_PENDING`] (64) requests
//!   wait (raw ADUs, 260 bytes each), older ones are logged request-only.
//!   Unmatched responses are logged response-only. `finish` logs the rest.
//!
//! # `Op::function` vocabulary (`Op::code` is the function code)
//! `read_coils` (1), `read_discrete_inputs` (2), `read_holding_registers`
//! (3), `read_input_registers` (4): Read. `write_single_coil` (5),
//! `write_single_register` (6), `write_multiple_coils` (15),
//! `write_multiple_registers` (16), `mask_write_register` (22),
//! `read_write_multiple_registers` (23): Write. `read_exception_status`
//! (7), `diagnostics` (8), `get_comm_event_counter` (11),
//! `get_comm_event_log` (12): Diagnostic. `restart_communications_option`
//! (8/1): Restart. `force_listen_only_mode` (8/4): ModeChange.
//! `report_server_id` (17), `read_device_identification` (43/14):
//! Discovery. `read_file_record` (20), `write_file_record` (21): File.
//! `read_fifo_queue` (24): Read. `canopen_general_reference` (43/13),
//! `encapsulated_interface_transport` (43/other): Other. Legacy:
//! `program_484` (9), `program_controller` (13), `program_884` (18):
//! Download; `poll_484` (10), `poll_controller` (14): Other;
//! `reset_comm_link` (19): Restart. `user_defined` (65-72, 100-110),
//! `unknown`: Other. Function 90: `umas_<name>` from the UMAS code
//! (`umas_start_plc`/`umas_stop_plc`: ModeChange, `umas_*download*`:
//! Download, `umas_*upload*`: Upload, reservations: Session, ...; see
//! [`event::umas_function`]), `umas` when unknown.
//!
//! `Op` fields: `unit` = unit id; `address`/`quantity` of reads and writes
//! (write part for 23, single writes have quantity 1); `values` = written
//! coils (0/1) or registers, first 64 (`values_truncated`); `status` =
//! exception code. `attrs`: `subfunction` (8), `mei_type`,
//! `read_dev_id_code`, `object_id`, `conformity_level`, `and_mask`,
//! `or_mask`, `read_address`, `read_quantity`, `umas_code`, `server_id`,
//! `run_indicator` (17), `error_flags` (bits, when non-zero), and the
//! device identity `id_vendor` (VendorName), `id_product` (ProductCode),
//! `id_version` (MajorMinorRevision), `id_name` (ProductName), `id_model`
//! (ModelName), `vendor_url`, `user_application_name`.
//!
//! # EVE
//! Suricata 8's `modbus` object: `{"id": <1-based tx id>, "request":
//! {..}, "response": {..}}`, each message with `transaction_id`,
//! `protocol_id`, `unit_id`, `function_raw`, `function_code` (e.g.
//! `RdHoldRegs`), `access_type` (`READ | HOLDING`), `category`
//! (`PUBLIC_ASSIGNED`), `error_flags` (`NONE`), then one of `exception`
//! `{raw,code}` (responses), `diagnostic` `{raw,code,data}`, `mei`
//! `{raw,code,data}` (requests), `read` `{address,quantity}` (requests) /
//! `{data}` (responses), `write` `{address,data}`, or `data`. Byte strings
//! are printed as Suricata does (UTF-8 text, else `\xNN`).
//!
//! Every record validates against Suricata's EVE JSON schema (the SOC
//! checks it), whose `write` object is `{address, data}` with an integer
//! `data` and whose response has no `mei`. Where Suricata 8's logger
//! emits more, the schema wins: a multiple write request (15, 16, and the
//! write part of 23) logs `{address, data: <quantity>}` (the field where
//! the response echoes the quantity) instead of Suricata's `{address,
//! quantity, data: "<value bytes>"}`; a mask write (22) logs `{address}`
//! without `and_mask`/`or_mask`; an MEI response (43) logs its MEI data
//! as the response's `data` string instead of a `mei` object. The written
//! values, masks and MEI type stay in the [`Op`](rules::ot::Op)
//! (`values`, `and_mask`, `or_mask`, `mei_type`).
//! Suricata quirks reproduced: a read response is checked against
//! `ceil(quantity / 8)` bytes even for registers (so register reads get
//! `DATA_VALUE` on the response), multiple-write response quantities are
//! checked against the crossed limits.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{function_of, ModbusEvent, ModbusMessage, MsgData, ReadData, WriteData};
pub use parser::{parse_adu, parse_mbap, Direction, FunctionCode, Message};
pub use state::ModbusState;

use crate::proto::common::Probe;
use parser::{MAX_LENGTH, MBAP_LEN, MIN_LENGTH};

/// Probe the first bytes of a direction: MBAP with protocol id 0, a
/// length of 2..=254 and a known function code (a named public code,
/// Schneider's 90, or an exception of those from the server), or function
/// code 0 (never valid, but a scanner's function sweep starts there: the
/// flow is taken and the PDU logged with `FUNC_CODE`, as any other invalid
/// function once the flow is Modbus). The integrator uses it on port 502;
/// [`probe_strict`] (any port) still requires a named function.
pub fn probe(data: &[u8], to_server: bool) -> Probe {
    if let Some(p) = data.get(2..4) {
        if p != [0, 0] {
            return Probe::No;
        }
    }
    if let Some(l) = data.get(4..6) {
        let len = u16::from_be_bytes([l[0], l[1]]);
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&len) {
            return Probe::No;
        }
    }
    let Some(&fc) = data.get(MBAP_LEN + 1) else {
        return Probe::NeedMore;
    };
    let code = fc & 0x7f;
    if fc & 0x80 != 0 && to_server {
        return Probe::No;
    }
    if code == 0 || code == 90 || FunctionCode::from_u8(code) != FunctionCode::Unknown {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Strict probe (any port): the whole first ADU must be present and parse
/// without any validity flag, with a named public function code
/// (Suricata's strict probing).
pub fn probe_strict(data: &[u8]) -> Probe {
    match probe(data, false) {
        Probe::Yes => {}
        other => return other,
    }
    let Some(h) = parse_mbap(data) else {
        return Probe::NeedMore;
    };
    if data.len() < MBAP_LEN + usize::from(h.length) {
        return Probe::NeedMore;
    }
    match parse_adu(data, Direction::Unknown) {
        Ok(m) if m.error_flags == 0 => {
            if m.function == FunctionCode::Unknown {
                Probe::No
            } else {
                Probe::Yes
            }
        }
        _ => Probe::No,
    }
}

#[cfg(test)]
mod tests {
    use super::parser::tests::{READ_HOLD_REQ, READ_HOLD_RESP};
    use super::*;
    use rules::ot::OpClass;

    fn run(chunks: &[(bool, &[u8])]) -> Vec<ModbusEvent> {
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        for (ts, c) in chunks {
            st.input(*ts, c, &mut out);
        }
        st.finish(&mut out);
        out
    }

    fn json(ev: &[ModbusEvent]) -> String {
        serde_json::to_string(ev).expect("json")
    }

    use crate::test_util::XorShift as Rng;

    #[test]
    fn probes() {
        assert_eq!(probe(READ_HOLD_REQ, true), Probe::Yes);
        assert_eq!(probe(&READ_HOLD_REQ[..7], true), Probe::NeedMore);
        assert_eq!(probe(&READ_HOLD_REQ[..3], true), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1\r\n", true), Probe::No);
        assert_eq!(probe(&[0, 1, 0, 0, 0, 3, 1, 0x83, 2], false), Probe::Yes);
        assert_eq!(probe(&[0, 1, 0, 0, 0, 3, 1, 0x83, 2], true), Probe::No);
        assert_eq!(probe(&[0, 1, 0, 0, 0, 3, 1, 0x33, 2], true), Probe::No);
        assert_eq!(probe(&[0, 1, 0, 0, 1, 3, 1, 3, 2], true), Probe::No);
        assert_eq!(probe_strict(READ_HOLD_REQ), Probe::Yes);
        assert_eq!(probe_strict(&READ_HOLD_REQ[..10]), Probe::NeedMore);
        assert_eq!(probe_strict(&[0, 1, 0, 0, 0, 4, 1, 90, 0, 2]), Probe::No);
        assert_eq!(probe(&[0, 1, 0, 0, 0, 4, 1, 90, 0, 2], true), Probe::Yes);
    }

    /// modbus_test_data_part2.pcap frames 6 and 9: a function sweep that
    /// starts at function 0 (never valid). The flow used to be refused by
    /// the probe, so none of its 141 requests was logged.
    #[test]
    fn function_zero_first_pdu_takes_the_flow() {
        const REQ_FC0: &[u8] = &[0, 0, 0, 0, 0, 6, 1, 0, 0, 0, 0, 0]; // frame 6
        const RESP_FC0: &[u8] = &[0, 0, 0, 0, 0, 3, 1, 0x80, 1]; // frame 9
        assert_eq!(probe(REQ_FC0, true), Probe::Yes);
        assert_eq!(probe(RESP_FC0, false), Probe::Yes);
        assert_eq!(probe(RESP_FC0, true), Probe::No);
        // Not on an unknown port: the strict probe wants a named function.
        assert_eq!(probe_strict(REQ_FC0), Probe::No);
        // Bad MBAP still refused.
        assert_eq!(probe(&[0, 0, 0, 1, 0, 6, 1, 0], true), Probe::No);
        assert_eq!(probe(&[0, 0, 0, 0, 1, 6, 1, 0], true), Probe::No);
        assert_eq!(
            crate::proto::ot::probe_stream(REQ_FC0, true, (502, 2582)),
            (Probe::Yes, crate::proto::AppProto::Modbus)
        );
        let ev = run(&[(true, REQ_FC0), (false, RESP_FC0)]);
        assert_eq!(ev.len(), 1);
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(v["request"]["function_raw"], 0);
        assert_eq!(v["request"]["function_code"], "Unknown");
        assert_eq!(v["request"]["error_flags"], "FUNC_CODE");
        assert_eq!(v["response"]["exception"]["code"], "IllegalFunction");
        let op = ev[0].op().expect("op");
        assert_eq!(op.code, 0);
        assert_eq!(op.function, "unknown");
        assert_eq!(op.status, Some(1));
    }

    #[test]
    fn request_response_pairing() {
        let ev = run(&[(true, READ_HOLD_REQ), (false, READ_HOLD_RESP)]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].tx_id(), 0);
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(v["id"], 1);
        assert_eq!(v["request"]["read"]["address"], 107);
        assert_eq!(v["response"]["function_code"], "RdHoldRegs");
        // Suricata's byte-count check (see module docs).
        assert_eq!(v["response"]["error_flags"], "DATA_VALUE");
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "read_holding_registers");
        assert_eq!(op.status, None);
        assert!(!op.response_only);
    }

    #[test]
    fn unmatched_and_flushed() {
        let other_tid = {
            let mut r = READ_HOLD_RESP.to_vec();
            r[1] = 9;
            r
        };
        let ev = run(&[(true, READ_HOLD_REQ), (false, &other_tid)]);
        assert_eq!(ev.len(), 2);
        assert!(ev[0].request.is_none() && ev[0].op().expect("op").response_only);
        assert_eq!(ev[0].tx_id(), 1);
        assert!(ev[1].response.is_none());
        assert_eq!(ev[1].tx_id(), 0);
    }

    #[test]
    fn exception_status_and_restart() {
        let req = [0, 5, 0, 0, 0, 6, 1, 8, 0, 1, 0, 0]; // diag restart comm option
        let exc = [0, 5, 0, 0, 0, 3, 1, 0x88, 1]; // illegal function
        let ev = run(&[(true, &req), (false, &exc)]);
        assert_eq!(ev.len(), 1);
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "restart_communications_option");
        assert_eq!(op.class, OpClass::Restart);
        assert_eq!(op.status, Some(1));
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(v["response"]["exception"]["code"], "IllegalFunction");
        assert_eq!(v["request"]["diagnostic"]["code"], "RestartCommOpt");
    }

    #[test]
    fn read_device_identification_attrs() {
        let req = [
            0, 7, 0, 0, 0, 5, 1, 0x2b, // MBAP, unit 1, fc 43
            0x0e, // MEI 14
            0x01, // basic
            0x00, // from object 0
        ];
        let mut resp = vec![
            0, 7, 0, 0, 0, 0, 1, 0x2b, 0x0e, 0x01, 0x01, 0x00, 0x00, 0x03,
        ];
        for (id, v) in [(0u8, &b"Schneider"[..]), (1, b"BMX P34"), (2, b"v2.1")] {
            resp.push(id);
            resp.push(v.len() as u8);
            resp.extend_from_slice(v);
        }
        let l = (resp.len() - 6) as u16;
        resp[4..6].copy_from_slice(&l.to_be_bytes());
        let ev = run(&[(true, &req), (false, &resp)]);
        assert_eq!(ev.len(), 1);
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "read_device_identification");
        assert_eq!(op.class, OpClass::Discovery);
        assert_eq!(
            op.attr("id_vendor"),
            Some(&rules::ot::Attr::Str("Schneider".into()))
        );
        assert_eq!(
            op.attr("id_product"),
            Some(&rules::ot::Attr::Str("BMX P34".into()))
        );
        assert_eq!(
            op.attr("id_version"),
            Some(&rules::ot::Attr::Str("v2.1".into()))
        );
    }

    #[test]
    fn split_at_every_byte() {
        let mut ts = READ_HOLD_REQ.to_vec();
        ts.extend_from_slice(&[0, 2, 0, 0, 0, 6, 1, 6, 0, 1, 0, 3]); // write single reg
        let mut tc = READ_HOLD_RESP.to_vec();
        tc.extend_from_slice(&[0, 2, 0, 0, 0, 6, 1, 6, 0, 1, 0, 3]);
        let want = json(&run(&[(true, &ts), (false, &tc)]));
        assert_eq!(run(&[(true, &ts), (false, &tc)]).len(), 2);
        for cut in 0..=ts.len() {
            let got = run(&[
                (true, &ts[..cut]),
                (true, &ts[cut..]),
                (false, &tc[..cut.min(tc.len())]),
                (false, &tc[cut.min(tc.len())..]),
            ]);
            assert_eq!(json(&got), want, "cut {cut}");
        }
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        for b in &ts {
            st.input(true, std::slice::from_ref(b), &mut out);
        }
        for b in &tc {
            st.input(false, std::slice::from_ref(b), &mut out);
        }
        st.finish(&mut out);
        assert_eq!(json(&out), want);
    }

    #[test]
    fn bad_length_header_logged_and_skipped() {
        // Length 300 (> 254): header logged, 300 bytes dropped, next ADU ok.
        let mut ts = vec![0, 9, 0, 0, 0x01, 0x2c];
        ts.extend(std::iter::repeat_n(0xaa, 300));
        ts.extend_from_slice(READ_HOLD_REQ);
        for chunk in [ts.len(), 7, 1] {
            let mut st = ModbusState::default();
            let mut out = Vec::new();
            for c in ts.chunks(chunk) {
                st.input(true, c, &mut out);
            }
            st.finish(&mut out);
            assert_eq!(out.len(), 2, "chunk {chunk}");
            let v = serde_json::to_value(&out[0]).expect("v");
            assert_eq!(v["request"]["error_flags"], "DATA_LENGTH");
            assert_eq!(v["request"]["function_code"], "Unknown");
            assert_eq!(out[1].request.as_ref().map(|m| m.transaction_id), Some(1));
        }
    }

    #[test]
    fn gap_resync() {
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        st.input(true, &READ_HOLD_REQ[..5], &mut out);
        st.gap(true);
        st.input(true, &[0x13, 0x37, 0xff, 0x00, 0x00, 0x00], &mut out);
        st.input(true, READ_HOLD_REQ, &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].request.as_ref().map(|m| m.transaction_id), Some(1));
    }

    #[test]
    fn pending_is_bounded() {
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        for i in 0..200u16 {
            let mut q = READ_HOLD_REQ.to_vec();
            q[..2].copy_from_slice(&i.to_be_bytes());
            st.input(true, &q, &mut out);
            assert!(st.memory() <= state::MAX_PENDING * parser::MAX_ADU + 2 * parser::MAX_ADU);
        }
        assert_eq!(out.len(), 200 - state::MAX_PENDING);
        st.finish(&mut out);
        assert_eq!(out.len(), 200);
    }

    #[test]
    fn bounded_memory_on_garbage_and_huge_lengths() {
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        let mut rng = Rng(7);
        // Endless incomplete ADU: plausible header, body never completes.
        st.input(true, &[0, 1, 0, 0, 0, 254, 1, 3], &mut out);
        for _ in 0..10_000 {
            let b = [rng.next() as u8];
            st.input(false, &b, &mut out);
            assert!(st.memory() <= 4 * parser::MAX_ADU);
        }
        // Huge declared length with protocol id 0: skipped without buffering.
        st.input(false, &[0, 1, 0, 0, 0xff, 0xff], &mut out);
        for _ in 0..1000 {
            st.input(false, &[0u8; 100], &mut out);
            assert!(st.memory() <= 4 * parser::MAX_ADU);
        }
    }

    #[test]
    fn no_panics_random_and_mutated() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let seeds: [&[u8]; 3] = [
            READ_HOLD_REQ,
            READ_HOLD_RESP,
            &[0, 1, 0, 0, 0, 3, 1, 0x83, 2],
        ];
        let mut st = ModbusState::default();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let buf: Vec<u8> = if i % 2 == 0 {
                let len = (rng.next() % 64) as usize;
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                let mut b = seeds[(i as usize / 2) % seeds.len()].to_vec();
                let n = b.len();
                for _ in 0..1 + rng.next() % 3 {
                    let p = (rng.next() as usize) % n;
                    b[p] = rng.next() as u8;
                }
                b
            };
            let _ = probe(&buf, i % 3 == 0);
            let _ = probe_strict(&buf);
            for d in [Direction::Request, Direction::Response, Direction::Unknown] {
                if let Ok(m) = parse_adu(&buf, d) {
                    let mm = ModbusMessage::from_parsed(&m);
                    let _ = serde_json::to_string(&mm);
                }
            }
            st.input(i % 2 == 0, &buf, &mut out);
            if i % 97 == 0 {
                st.gap(i % 4 == 0);
            }
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
            assert!(st.memory() <= (state::MAX_PENDING + 2) * parser::MAX_ADU);
        }
        st.finish(&mut out);
    }
}
