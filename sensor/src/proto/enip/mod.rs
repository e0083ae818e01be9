//! EtherNet/IP + CIP decoder (TCP 44818, UDP 44818; UDP 2222 I/O is only
//! recognised).
//!
//! # Wire format (ODVA CIP Vol. 1 "CIP" and Vol. 2 "EtherNet/IP")
//! * **Encapsulation header** (Vol. 2 §2-3), little-endian, 24 bytes:
//!   command (2), length of the data (2), session handle (4), status (4),
//!   sender context (8), options (4). Commands: NOP 0x00, ListServices
//!   0x04, ListIdentity 0x63, ListInterfaces 0x64, RegisterSession 0x65,
//!   UnRegisterSession 0x66, SendRRData 0x6F, SendUnitData 0x70,
//!   IndicateStatus 0x72, Cancel 0x73.
//! * **Common Packet Format** (Vol. 2 §2-6): item count, then items (type
//!   id, length, data): null address 0x0000, ListIdentity 0x000C,
//!   connected address 0x00A1 (connection id), connected data 0x00B1
//!   (sequence count + CIP), unconnected data 0x00B2 (CIP), ListServices
//!   0x0100, sockaddr O->T/T->O 0x8000/0x8001, sequenced address 0x8002.
//!   SendRRData/SendUnitData prefix the CPF with interface handle (4) and
//!   timeout (2).
//! * **ListIdentity item** (Vol. 2 §2-4.3.2): encapsulation version,
//!   sockaddr (16, big-endian), vendor id, device type, product code,
//!   revision major/minor, status, serial number, product name
//!   (SHORT_STRING), state.
//! * **CIP Message Router** (Vol. 1 §2-4): request = service (1), path size
//!   in words (1), EPATH, data; response = service | 0x80, reserved,
//!   general status, additional status size in words, additional status,
//!   data. EPATH segments (Vol. 1 Appendix C): logical class / instance /
//!   member / connection point / attribute in 8/16/32-bit formats,
//!   electronic key, port segments (with extended link addresses), ANSI
//!   extended symbolic 0x91 (Logix tag names), data and network segments.
//! * **Services unwrapped**: Unconnected_Send (0x52 to the Connection
//!   Manager 0x06, Vol. 1 §3-5.6.3): the embedded request is described
//!   (`routed`); Multiple_Service_Packet (0x0A, § ): count, offsets,
//!   first 64 members; Forward_Open 0x54 / Large_Forward_Open 0x5B /
//!   Forward_Close 0x4E to the Connection Manager (connection serial, ids,
//!   RPI).
//!
//! # Bounds and pairing
//! * TCP framing by [`StreamBuf`](crate::proto::common::StreamBuf): one
//!   message is at most 24 + 16 KiB (longer ones are skipped); after a gap
//!   or garbage only strict headers (known command and status, options 0)
//!   are accepted. UDP: one message per datagram.
//! * CPF items kept: 8; path segments: 16 (EVE 32); members: 64 (the
//!   rest is not logged); tag symbol: 128 chars; service data kept for the
//!   op: 256 bytes (top-level message only).
//! * Pairing: a reply pairs with the first pending request of the same
//!   command and session (not for RegisterSession), with equal connected
//!   sequence counts for SendUnitData (Suricata's rule), preferring one
//!   with the same sender context. At most 64 requests wait; the rest is
//!   logged request-only; unmatched replies are response-only.
//!
//! # `Op::function` vocabulary (`Op::code`: CIP service, or the
//! encapsulation command when there is no CIP)
//! * Encapsulation: `list_identity`, `list_services`, `list_interfaces`:
//!   Discovery; `register_session`, `unregister_session`: Session; `nop`,
//!   `indicate_status`, `cancel`, `send_rr_data`/`send_unit_data` (no
//!   CIP), `unknown_command`: Other.
//! * CIP common services: `get_attributes_all`, `get_attribute_list`,
//!   `get_attribute_single`, `get_member`,
//!   `get_connection_point_member_list`: Read; `set_attributes_all`,
//!   `set_attribute_list`, `set_attribute_single`, `set_member`,
//!   `insert_member`, `remove_member`, `create`, `delete`,
//!   `apply_attributes`, `restore`, `save`: Write; `reset` (0x05): Restart;
//!   `start` (0x06), `stop` (0x07): ModeChange; `find_next_object_instance`:
//!   Discovery; `nop`, `group_sync`: Other; `multiple_service_packet`: the
//!   weightiest member class (attrs `services`, `service_count`).
//! * Connection Manager: `forward_open`, `large_forward_open`,
//!   `forward_close`: Session; `get_connection_data`,
//!   `search_connection_data`, `get_connection_owner`: Read;
//!   `unconnected_send` (when the embedded request does not parse): Other.
//! * Rockwell Logix (observed in the captures): `plc_start` / `plc_stop`
//!   (Start/Stop to the controller object class 0x8E: run / program mode;
//!   cip_start_plc, cip_stop_plc, EIP-RemoteModeChangeAttempt,
//!   EIP-RebootorRestart): ModeChange; `controller_lock` /
//!   `controller_unlock` (0x4B / 0x4C to class 0x8E instance 1 / class 0x74
//!   instance 1, sent around every mode change; cip_unlock_cpu): Security;
//!   `set_wall_clock_time` (Set_Attribute_* to the Wall Clock Time object
//!   0x8B, attribute 6 = µs since 1970; EIP-ChangeTimeAttempt): Diagnostic;
//!   `read_tag`, `read_tag_fragmented`, `get_instance_attribute_list`:
//!   Read; `write_tag`, `write_tag_fragmented`, `read_modify_write_tag`:
//!   Write (symbolic path or Symbol class 0x6B; written atomic values go in
//!   `Op::values`); `execute_pccc` (0x4B to PCCC class 0x67): Other. Other
//!   class-specific services: `vendor_specific` (Other).
//!
//! `Op` fields: `address` = instance, `object` = `class 0x..` (first class
//! of the path), `status` = CIP general status of the reply (or of the
//! first failing member), else the encapsulation status. `attrs`:
//! `command`, `session`, `connection_id`, `class`, `attribute`,
//! `connection_point`, `symbol`, `routed`, `reset_type`, `ext_status`,
//! `connection_serial`, `to_connection_id`, `ot_connection_id`, `rpi`,
//! `values_truncated`, and from a ListIdentity reply or an Identity
//! Get_Attributes_All reply: `id_vendor` (vendor name, else `vendor N`),
//! `id_product` (product code), `id_version` (`major.minor`), `id_serial`
//! (`0x%08x`), `id_name` and `id_model` (product name), `vendor_id`,
//! `device_type`, `identity_status`, `state`.
//!
//! # EVE
//! Suricata 8's `enip` object: `{"request": {..}, "response": {..}}`,
//! each with `command` (`list_identity`, `send_r_r_data`,
//! `send_unit_data`, ..., else `unknown-N`), `status` (`success`, ...),
//! then `register_session` `{protocol_version, options}`, or `cip`: in
//! the request `{service ("Get Attribute List"), path [{segment_type,
//! value}], class_name, multiple [..]}`, in the response `{service,
//! status ("Success"), status_extended (hex), status_extended_meaning,
//! multiple [..]}`, or (responses) `identity`
//! `{protocol_version, revision "4.3", vendor_id (name), device_type
//! (name), product_code, status, serial, product_name, state}` and
//! `list_services` `{protocol_version, capabilities, service_name}`.
//! Suricata's acceptance rules are reproduced (see [`event`]): no `cip`
//! when the path has a non-logical segment; additional status read as a
//! byte count. Known differences: vendor names outside the built-in table
//! of common vendors print as `unknown-N`.
//!
//! Every record validates against Suricata's EVE JSON schema (the SOC
//! checks it), which fixes the fields of each slot; where Suricata's
//! logger can emit more, the schema wins: a CIP message of the other kind
//! in a slot (a reply sent by the client or a request sent by the server:
//! flows seen mid-stream or oriented the other way, target-originated
//! messages), which Suricata logs with the fields of its own kind, logs
//! only its `service` (and its members' services); the encapsulation
//! header's options are not logged; a Multiple_Service_Packet with more
//! than 64 members logs the first 64 without a marker. The full facts stay
//! in [`EnipMessage`] and the [`Op`](rules::ot::Op).

pub mod event;
pub mod names;
pub mod parser;
pub mod state;

pub use event::{cip_function, CipInfo, EnipEvent, EnipMessage, EvePayload, IdentityInfo};
pub use parser::{parse_cip, parse_encap, parse_header, Cip, Header};
pub use state::EnipState;

use crate::proto::common::Probe;
use parser::{command, item, status_name, Rd, HEADER_LEN};

/// Probe the first bytes of a TCP direction (Suricata's rule: a header
/// with a known command and status; NOP without options; RegisterSession
/// of length 4; UnRegisterSession of length 0 or 4; ListInterfaces data
/// that parses) plus options 0.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    let Some(h) = parse_header(data) else {
        // Reject early on an unknown command.
        if let Some(c) = data.get(..2) {
            if command::name(u16::from_le_bytes([c[0], c[1]])).is_none() {
                return Probe::No;
            }
        }
        return Probe::NeedMore;
    };
    if command::name(h.command).is_none() || status_name(h.status).is_none() || h.options != 0 {
        return Probe::No;
    }
    let ok = match h.command {
        command::REGISTER_SESSION => h.length == 4,
        command::UNREGISTER_SESSION => h.length == 0 || h.length == 4,
        command::LIST_INTERFACES if h.length > 0 => {
            let rest = &data[HEADER_LEN..];
            if rest.len() < usize::from(h.length).min(2) {
                return Probe::NeedMore;
            }
            let mut r = Rd::new(rest);
            match r.u16() {
                Ok(n) => usize::from(n) * 2 <= usize::from(h.length).saturating_sub(2),
                Err(_) => false,
            }
        }
        _ => usize::from(h.length) + HEADER_LEN <= state::MAX_PDU,
    };
    if ok {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// Does a UDP payload look like class 0/1 implicit I/O (UDP 2222): a CPF
/// with a sequenced (0x8002) or connected (0x00A1) address item followed
/// by a connected data item (0x00B1), filling the datagram.
pub fn probe_io(payload: &[u8]) -> bool {
    let Ok(cpf) = parser::parse_cpf(payload) else {
        return false;
    };
    let used: usize = 2 + cpf.items.iter().map(|i| 4 + i.data.len()).sum::<usize>();
    (2..=4).contains(&cpf.count)
        && used == payload.len()
        && matches!(
            cpf.items.first().map(|i| (i.type_id, i.data.len())),
            Some((item::SEQUENCED_ADDRESS, 8)) | Some((item::CONNECTED_ADDRESS, 4))
        )
        && cpf.items.get(1).map(|i| i.type_id) == Some(item::CONNECTED_DATA)
}

/// Probe a UDP datagram: on port 2222 implicit I/O; otherwise one whole
/// encapsulation message that [`probe`] accepts (ListIdentity and friends
/// on 44818).
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> bool {
    if (sport == 2222 || dport == 2222) && probe_io(payload) {
        return true;
    }
    match parse_header(payload) {
        Some(h) => {
            HEADER_LEN + usize::from(h.length) == payload.len()
                && probe(payload, dport == 44818) == Probe::Yes
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parser::tests::STOP_PLC;
    use super::*;
    use rules::ot::{Attr, OpClass};

    use crate::test_util::XorShift as Rng;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }

    /// Stop reply (EIP-RemoteModeChangeAttempt frame 422): status 0.
    const STOP_REPLY: &str = "70001a0000010212000000000000000000000000000000000000000000000200a10004001c00fe80b1000600b02887000000";
    /// ListIdentity request and reply (enip_test1.pcap, 1756-ENBT/A).
    const LIST_IDENTITY_REQ: &[u8] = &[
        0x63, 0x00, // ListIdentity
        0x00, 0x00, // length 0
        0, 0, 0, 0, // session
        0, 0, 0, 0, // status
        0, 0, 0, 0, 0, 0, 0, 0, // context
        0, 0, 0, 0, // options
    ];

    fn list_identity_reply() -> Vec<u8> {
        let mut id = vec![0x01, 0x00]; // version
        id.extend([
            0x00, 0x02, 0xaf, 0x12, 192, 168, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        id.extend([0x01, 0x00, 0x0c, 0x00, 0x3a, 0x00, 0x04, 0x03, 0x30, 0x00]);
        id.extend([0x8e, 0x4d, 0x52, 0x00, 11]);
        id.extend(b"1756-ENBT/A");
        id.push(3);
        let mut cpf = vec![0x01, 0x00, 0x0c, 0x00];
        cpf.extend((id.len() as u16).to_le_bytes());
        cpf.extend(id);
        let mut m = vec![0x63, 0x00];
        m.extend((cpf.len() as u16).to_le_bytes());
        m.extend([0u8; 20]);
        m.extend(cpf);
        m
    }

    /// RegisterSession request (session 0) and reply (new handle).
    fn register(handle: u32) -> Vec<u8> {
        let mut m = vec![0x65, 0x00, 0x04, 0x00];
        m.extend(handle.to_le_bytes());
        m.extend([0u8; 16]);
        m.extend([0x01, 0x00, 0x00, 0x00]); // protocol version 1, options 0
        m
    }

    /// multiple_service_packet_cip.pcapng: 11 Get_Attribute_List members.
    const MSP_HEX: &str = "7000ba0000010211000000000000000000000000000000000000000001000200a1000400010b7c00b100a60089070a02200224010b00180022002c0036004c005800640072007c008a0094000302200124010100050003022069240001000b0003022073240101000200030220ac240107000100020003000500070009000a000303206825002024010013000302207024010200120013000302208e240103000300080010000302206924000100090003022068240003000f0018001900030220772401010002000302208b240101000600";

    fn run(chunks: &[(bool, &[u8])]) -> Vec<EnipEvent> {
        let mut st = EnipState::default();
        let mut out = Vec::new();
        for (ts, c) in chunks {
            st.input(*ts, c, &mut out);
        }
        st.finish(&mut out);
        out
    }

    #[test]
    fn probes() {
        assert_eq!(probe(STOP_PLC, true), Probe::Yes);
        assert_eq!(probe(&STOP_PLC[..10], true), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true), Probe::No);
        assert_eq!(probe(&register(0), true), Probe::Yes);
        let mut bad = register(0);
        bad[2] = 5;
        assert_eq!(probe(&bad, true), Probe::No);
        assert!(probe_datagram(LIST_IDENTITY_REQ, 50000, 44818));
        assert!(probe_datagram(&list_identity_reply(), 44818, 50000));
        assert!(!probe_datagram(&STOP_PLC[..30], 1, 44818));
        // Class 1 I/O: sequenced address (conn id, seq) + connected data.
        let io = [
            0x02, 0x00, // 2 items
            0x02, 0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, // 0x8002
            0xb1, 0x00, 0x04, 0x00, 0x05, 0x00, 0xaa, 0xbb, // 0x00b1, seq + data
        ];
        assert!(probe_datagram(&io, 2222, 2222));
        assert!(!probe_datagram(&io[..15], 2222, 2222));
        let mut st = EnipState::default();
        let mut out = Vec::new();
        st.datagram(false, &io, &mut out);
        assert!(out.is_empty());
        assert_eq!(st.io_datagrams, 1);
    }

    #[test]
    fn list_identity_udp_pairing_and_eve() {
        let mut st = EnipState::default();
        let mut out = Vec::new();
        st.datagram(true, LIST_IDENTITY_REQ, &mut out);
        st.datagram(false, &list_identity_reply(), &mut out);
        assert_eq!(out.len(), 1);
        let v = serde_json::to_value(&out[0]).expect("v");
        assert_eq!(
            v,
            serde_json::json!({"request":{"command":"list_identity","status":"success"},
                "response":{"command":"list_identity","status":"success","identity":{
                "protocol_version":1,"revision":"4.3",
                "vendor_id":"Rockwell Automation/Allen-Bradley",
                "device_type":"Communications Adapter","product_code":58,"status":48,
                "serial":5393806,"product_name":"1756-ENBT/A","state":3}}})
        );
        let op = out[0].op().expect("op");
        assert_eq!(op.function, "list_identity");
        assert_eq!(op.class, OpClass::Discovery);
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("1756-ENBT/A".into())));
        assert_eq!(op.attr("id_version"), Some(&Attr::Str("4.3".into())));
        assert_eq!(op.attr("id_serial"), Some(&Attr::Str("0x00524d8e".into())));
        assert_eq!(
            op.attr("id_vendor"),
            Some(&Attr::Str("Rockwell Automation/Allen-Bradley".into()))
        );
    }

    #[test]
    fn register_session_pairs_despite_new_handle() {
        let ev = run(&[(true, &register(0)), (false, &register(0x1234))]);
        assert_eq!(ev.len(), 1);
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(
            v["response"]["register_session"],
            serde_json::json!({"protocol_version":1,"options":0})
        );
        assert_eq!(ev[0].op().expect("op").function, "register_session");
    }

    #[test]
    fn reversed_flow_cip_fits_each_slot() {
        // Seen the other way round (mid-stream pickup): the reply sits in
        // the request slot, the request in the response slot; each logs
        // only the fields the schema allows there.
        let reply = unhex(STOP_REPLY);
        let ev = run(&[(false, STOP_PLC), (true, &reply)]);
        let v = serde_json::to_value(&ev).expect("v");
        let cips: Vec<&serde_json::Value> = v
            .as_array()
            .expect("array")
            .iter()
            .flat_map(|e| [&e["request"]["cip"], &e["response"]["cip"]])
            .filter(|c| !c.is_null())
            .collect();
        assert_eq!(cips.len(), 2);
        for c in cips {
            assert_eq!(*c, serde_json::json!({"service":"Stop"}));
        }
    }

    #[test]
    fn stop_plc_pairs_by_sequence() {
        let reply = unhex(STOP_REPLY);
        let ev = run(&[(true, STOP_PLC), (false, &reply)]);
        assert_eq!(ev.len(), 1);
        assert!(ev[0].request.is_some() && ev[0].response.is_some());
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(
            v["response"]["cip"],
            serde_json::json!({"service":"Stop","status":"Success"})
        );
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "plc_stop");
        assert_eq!(op.status, None);
        // Different sequence count: no pairing.
        let mut other = reply.clone();
        other[44] = 0x00;
        let ev = run(&[(true, STOP_PLC), (false, &other)]);
        assert_eq!(ev.len(), 2);
        assert!(ev[0].op().expect("op").response_only);
    }

    #[test]
    fn split_at_every_byte() {
        let reply = unhex(STOP_REPLY);
        let mut ts = register(0x0212_0100).to_vec();
        ts.extend_from_slice(STOP_PLC);
        let mut tc = register(0x0212_0100).to_vec();
        tc.extend_from_slice(&reply);
        let want = serde_json::to_string(&run(&[(true, &ts), (false, &tc)])).expect("j");
        for cut in 0..=ts.len() {
            let c2 = cut.min(tc.len());
            let got = run(&[
                (true, &ts[..cut]),
                (true, &ts[cut..]),
                (false, &tc[..c2]),
                (false, &tc[c2..]),
            ]);
            assert_eq!(serde_json::to_string(&got).expect("j"), want, "cut {cut}");
        }
    }

    #[test]
    fn multiple_service_packet_members() {
        let ev = run(&[(true, &unhex(MSP_HEX))]);
        assert_eq!(ev.len(), 1);
        let v = serde_json::to_value(&ev[0]).expect("v");
        let cip = &v["request"]["cip"];
        assert_eq!(cip["service"], "Multiple Service Packet");
        assert_eq!(cip["class_name"], "Message Router");
        assert_eq!(cip["multiple"].as_array().map(|a| a.len()), Some(11));
        assert_eq!(cip["multiple"][1]["class_name"], "unknown-105");
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "multiple_service_packet");
        assert_eq!(op.class, OpClass::Read);
        assert_eq!(
            op.attr("services"),
            Some(&Attr::Str("get_attribute_list".into()))
        );
    }

    #[test]
    fn unconnected_send_unwrapped() {
        // EIP-RebootorRestart frame 8: Unconnected_Send -> Get_Attributes_All
        // Identity/1.
        let hex = "6f0024000001021100000000b39b02002008e10000000000000000002000020000000000b200140052022006240107f9060001022001240101000100";
        let ev = run(&[(true, &unhex(hex))]);
        let op = ev[0].op().expect("op");
        assert_eq!(op.function, "get_attributes_all");
        assert_eq!(op.object.as_deref(), Some("class 0x01"));
        assert_eq!(op.attr("routed"), Some(&Attr::Bool(true)));
        let v = serde_json::to_value(&ev[0]).expect("v");
        assert_eq!(v["request"]["command"], "send_r_r_data");
        assert_eq!(v["request"]["cip"]["service"], "Read Data Fragmented");
        assert_eq!(v["request"]["cip"]["class_name"], "Connection Manager");
    }

    #[test]
    fn bounded_memory() {
        let mut st = EnipState::default();
        let mut out = Vec::new();
        // A header announcing 65535 bytes that never arrive in full.
        let mut h = STOP_PLC[..24].to_vec();
        h[2] = 0xff;
        h[3] = 0xff;
        st.input(true, &h, &mut out);
        for _ in 0..2000 {
            st.input(true, &[0x41; 100], &mut out);
            assert!(st.buffered() <= state::MAX_PDU);
        }
        // Endless garbage after a gap.
        st.gap(false);
        let mut rng = Rng(3);
        for _ in 0..2000 {
            let b: Vec<u8> = (0..50).map(|_| rng.next() as u8).collect();
            st.input(false, &b, &mut out);
            assert!(st.buffered() <= 2 * state::MAX_PDU);
        }
        // Requests without replies: pending stays bounded.
        for _ in 0..500 {
            st.input(true, STOP_PLC, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
    }

    #[test]
    fn no_panics_random_and_mutated() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let seeds: Vec<Vec<u8>> = vec![
            STOP_PLC.to_vec(),
            unhex(STOP_REPLY),
            list_identity_reply(),
            register(7),
            unhex(MSP_HEX),
            unhex("6f0024000001021100000000b39b02002008e10000000000000000002000020000000000b200140052022006240107f9060001022001240101000100"),
        ];
        let mut st = EnipState::default();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let buf: Vec<u8> = if i % 2 == 0 {
                let len = (rng.next() % 96) as usize;
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                let mut b = seeds[(i as usize / 2) % seeds.len()].clone();
                let n = b.len();
                for _ in 0..1 + rng.next() % 4 {
                    let p = (rng.next() as usize) % n;
                    b[p] = rng.next() as u8;
                }
                if rng.next().is_multiple_of(8) {
                    b.truncate((rng.next() as usize) % n);
                }
                b
            };
            let _ = probe(&buf, true);
            let _ = probe_datagram(&buf, 2222, 44818);
            let _ = parse_cip(&buf);
            let _ = EnipMessage::parse(&buf, i % 3 == 0).map(|m| serde_json::to_string(&m));
            st.input(i % 2 == 0, &buf, &mut out);
            st.datagram(i % 3 == 0, &buf, &mut out);
            if i % 101 == 0 {
                st.gap(i % 2 == 0);
            }
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
            assert!(st.buffered() <= 2 * state::MAX_PDU);
            assert!(st.pending() <= state::MAX_PENDING);
        }
        st.finish(&mut out);
    }
}
