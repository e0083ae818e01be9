//! BACnet decoder tests: annotated fixtures, pairing, truncation at every
//! byte, bounded state, and random/mutated input.

use super::*;
use rules::ot::{Attr, OpClass};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

fn run(pdus: &[(bool, &[u8])]) -> Vec<BacnetEvent> {
    let mut st = BacnetState::new();
    let mut out = Vec::new();
    for (d, p) in pdus {
        assert!(probe_datagram(p, 47808, 47808), "fixture {p:02x?}");
        st.datagram(*d, p, &mut out);
    }
    st.finish(&mut out);
    out
}

/// ReadProperty analog-output,101 present-value (invoke 1).
fn read_property_req() -> Vec<u8> {
    hex("81 0a 00 16 \
         01 24 00 03 01 6c ff \
         02 03 01 0c \
         0c 00 40 00 65 \
         19 55")
    // BVLC: type 0x81, original-unicast, length 22
    // NPDU: v1, control 0x24 (DNET, expecting reply), DNET 3, DLEN 1,
    //       DADR 0x6c, hop count 255
    // APDU: confirmed request, max segs/APDU 0x03 (1476... code 3 = 480),
    //       invoke id 1, service 12 readProperty
    // ctx0 object id: type 1 analog-output, instance 101
    // ctx1 property 85 present-value
}

/// Complex-ACK: analog-output,101 present-value = Real 100.0.
fn read_property_ack() -> Vec<u8> {
    hex("81 0a 00 1b \
         01 08 00 03 01 6c \
         30 01 0c \
         0c 00 40 00 65 \
         19 55 \
         3e 44 42 c8 00 00 3f")
    // NPDU: control 0x08 (SNET 3, SLEN 1, SADR 0x6c)
    // APDU: complex ack (0x30), invoke 1, service 12
    // ctx0 object, ctx1 property, opening 3, Real 100.0, closing 3
}

#[test]
fn read_property_pairs_with_complex_ack() {
    let req = read_property_req();
    let ack = read_property_ack();
    assert!(probe_datagram(&req, 47808, 47808));
    assert!(probe_datagram(&ack, 47808, 47808));
    let ev = run(&[(true, &req), (false, &ack)]);
    assert_eq!(ev.len(), 1);
    let j = serde_json::to_value(&ev[0]).expect("json");
    assert_eq!(
        j,
        serde_json::json!({
            "tx_id":0,"is_orig":true,"bvlc_function":"original_unicast_npdu",
            "npdu":{"dnet":3,"dadr":"6c","hop_count":255},
            "request":{"pdu_type":"confirmed_request","pdu_service":"read_property",
                "service_choice":12,"invoke_id":1,"object_type":"analog-output",
                "instance_number":101,"property":"present-value"},
            "response":{"pdu_type":"complex_ack","pdu_service":"read_property",
                "service_choice":12,"invoke_id":1,"object_type":"analog-output",
                "instance_number":101,"property":"present-value","values":["100.0"],
                "result":"success"}
        })
    );
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.code, op.class),
        ("read_property", 12, OpClass::Read)
    );
    assert_eq!(op.object.as_deref(), Some("analog-output,101"));
    assert_eq!(
        (op.address, op.status, op.response_only),
        (Some(101), None, false)
    );
    assert_eq!(op.attr("dnet"), Some(&Attr::Int(3)));
}

#[test]
fn write_property_value_and_priority() {
    // WriteProperty analog-output,101 present-value = Real 50.0, prio 16.
    let req = hex("81 0a 00 1f 01 24 00 03 01 6c ff \
                   02 03 02 0f \
                   0c 00 40 00 65 19 55 \
                   3e 44 42 48 00 00 3f \
                   49 10");
    // Simple-ACK invoke 2 service 15.
    let ack = hex("81 0a 00 0d 01 08 00 03 01 6c 20 02 0f");
    let ev = run(&[(true, &req), (false, &ack)]);
    assert_eq!(ev.len(), 1);
    let r = ev[0].request.as_ref().expect("req");
    assert_eq!(
        (r.priority, r.values.clone()),
        (Some(16), vec!["50.0".to_string()])
    );
    assert_eq!(
        ev[0].response.as_ref().map(|r| r.pdu_type),
        Some("simple_ack")
    );
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.class, op.values.clone()),
        ("write_property", OpClass::Write, vec![50.0])
    );
    assert_eq!(op.attr("priority"), Some(&Attr::Int(16)));
}

#[test]
fn reinitialize_device_with_password_and_error() {
    // ReinitializeDevice invoke 0x89: ctx0 state 0 coldstart, ctx1
    // password "filister" (char set 0).
    let req = hex("81 0a 00 1c 01 24 00 03 01 6c ff \
                   02 03 89 14 \
                   09 00 \
                   1d 09 00 66 69 6c 69 73 74 65 72");
    // Error: invoke 0x89, service 20, class 5 services, code 26
    // password-failure.
    let err = hex("81 0a 00 11 01 08 00 03 01 6c 50 89 14 91 05 91 1a");
    let ev = run(&[(true, &req), (false, &err)]);
    assert_eq!(ev.len(), 1);
    let j = serde_json::to_string(&ev[0]).expect("json");
    assert!(!j.contains("filister"), "password leaked: {j}");
    let r = ev[0].request.as_ref().expect("req");
    assert_eq!(
        (r.device_state, r.password),
        (Some("coldstart"), Some(true))
    );
    let resp = ev[0].response.as_ref().expect("resp");
    assert_eq!(resp.result_code.as_deref(), Some("password_failure"));
    assert_eq!(resp.error_class.as_deref(), Some("services"));
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.class, op.status),
        ("reinitialize_device", OpClass::Restart, Some(26))
    );
    assert_eq!(op.attr("result"), Some(&Attr::Str("error".into())));
}

#[test]
fn device_communication_control() {
    // DCC invoke 0x84: ctx0 duration 1 minute, ctx1 enable-disable 1.
    let req = hex("81 0a 00 13 01 24 00 03 01 6c ff 02 03 84 11 09 01 19 01");
    let ev = run(&[(true, &req)]);
    let r = ev[0].request.as_ref().expect("req");
    assert_eq!(
        (r.device_state, r.time_duration, r.password),
        (Some("disable"), Some(1), Some(false))
    );
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.class),
        ("device_communication_control", OpClass::ModeChange)
    );
    assert_eq!(op.attr("device_state"), Some(&Attr::Str("disable".into())));
}

#[test]
fn who_is_i_am_and_vendor() {
    // Who-Is range 108-108 (ctx0 = 108, ctx1 = 108).
    let who = hex("81 0b 00 10 01 20 ff ff 00 ff 10 08 09 6c 19 6c");
    // I-Am device,108 max APDU 1476 segmentation both(0) vendor 42.
    let iam = hex("81 0b 00 14 01 00 10 00 c4 02 00 00 6c 22 05 c4 91 00 21 2a");
    let ev = run(&[(true, &who), (false, &iam)]);
    assert_eq!(ev.len(), 2);
    let w = ev[0].request.as_ref().expect("who");
    assert_eq!(w.range.as_deref(), Some("108-108"));
    let i = ev[1].request.as_ref().expect("iam");
    assert_eq!(
        (i.device_instance, i.vendor_id, i.max_apdu),
        (Some(108), Some(42), Some(1476))
    );
    assert_eq!(i.vendor, Some("Acuity Brands Lighting, Inc."));
    let op = ev[1].op().expect("op");
    assert_eq!(
        (op.function, op.class, op.unit),
        ("i_am", OpClass::Discovery, Some(108))
    );
    assert!(op.response_only);
    assert_eq!(
        op.attr("id_vendor"),
        Some(&Attr::Str("Acuity Brands Lighting, Inc.".into()))
    );
    assert_eq!(op.attr("vendor_id"), Some(&Attr::Int(42)));
    assert_eq!(ev[0].op().map(|o| o.class), Some(OpClass::Discovery));
}

#[test]
fn identity_from_device_reads() {
    // ReadProperty device,4194303 vendor-name (121) -> "JCI".
    let req = hex("81 0a 00 11 01 04 00 05 01 0c 0c 02 3f ff ff 19 79");
    let ack = hex("81 0a 00 17 01 00 30 01 0c 0c 02 3f ff ff 19 79 3e 74 00 4a 43 49 3f");
    let ev = run(&[(true, &req), (false, &ack)]);
    let op = ev[0].op().expect("op");
    assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("JCI".into())));
    // object-identifier read reveals the device instance: later ops get it
    // as unit.
    let req2 = hex("81 0a 00 11 01 04 00 05 02 0c 0c 02 3f ff ff 19 4b");
    let ack2 = hex("81 0a 00 17 01 00 30 02 0c 0c 02 3f ff ff 19 4b 3e c4 02 00 01 f4 3f");
    let req3 = hex("81 0a 00 11 01 04 00 05 03 0c 0c 00 00 00 01 19 55");
    let ev = run(&[(true, &req2), (false, &ack2), (true, &req3)]);
    assert_eq!(ev[0].op().and_then(|o| o.unit), Some(500));
    assert_eq!(ev[1].op().and_then(|o| o.unit), Some(500));
}

#[test]
fn read_property_multiple_request() {
    // RPM device,101: vendor-name, model-name.
    let req = hex("81 0a 00 15 01 04 00 05 01 0e \
                   0c 02 00 00 65 \
                   1e 09 79 09 46 1f");
    let ev = run(&[(true, &req)]);
    let r = ev[0].request.as_ref().expect("req");
    assert_eq!(r.properties.len(), 2);
    assert_eq!(r.properties[1].property, "model-name");
    let op = ev[0].op().expect("op");
    assert_eq!((op.quantity, op.unit), (Some(2), Some(101)));
}

#[test]
fn segmented_ack_is_one_transaction() {
    let req = hex("81 0a 00 11 01 04 02 34 5e 0c 0c 02 00 00 fe 19 4c");
    // Segment 0 (SEG, MOR), window 3, service 12, partial data.
    let s0 = hex("81 0a 00 18 01 04 3c 5e 00 03 0c 0c 02 00 00 fe 19 4c 3e c4 00 c0 00 00");
    // Segment-ACK from the client (SRV=0).
    let sack = hex("81 0a 00 0a 01 00 40 5e 00 03");
    let s1 = hex("81 0a 00 10 01 04 3c 5e 01 03 0c c4 00 c0 00 01");
    let s2 = hex("81 0a 00 11 01 04 38 5e 02 03 0c c4 00 c0 00 02 3f");
    let sack2 = hex("81 0a 00 0a 01 00 40 5e 02 03");
    let ev = run(&[
        (true, &req),
        (false, &s0),
        (true, &sack),
        (false, &s1),
        (false, &s2),
        (true, &sack2),
    ]);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let r = ev[0].response.as_ref().expect("resp");
    assert_eq!(
        (r.segments, r.segment_acks, r.truncated),
        (Some(3), Some(1), true)
    );
}

#[test]
fn reject_abort_and_unmatched() {
    let req = read_property_req();
    // Reject invoke 1 reason 9 unrecognized-service.
    let rej = hex("81 0a 00 0d 01 08 00 03 01 6c 60 01 09");
    let ev = run(&[(true, &req), (false, &rej)]);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].op().and_then(|o| o.status), Some(9));
    // Abort by the server (SRV) with no request seen: response only.
    let abort = hex("81 0a 00 09 01 00 71 07 04");
    let ev = run(&[(false, &abort)]);
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.response_only, op.status),
        ("abort", true, Some(4))
    );
    assert_eq!(
        ev[0]
            .response
            .as_ref()
            .and_then(|r| r.result_code.clone())
            .as_deref(),
        Some("segmentation_not_supported")
    );
}

#[test]
fn network_and_bvlc_messages() {
    // Who-Is-Router-To-Network for network 5.
    let nm = hex("81 0b 00 09 01 80 00 00 05");
    let ev = run(&[(true, &nm)]);
    let n = ev[0].network_message.as_ref().expect("nm");
    assert_eq!(
        (n.message_type, n.networks.clone()),
        ("who_is_router_to_network", vec![5])
    );
    assert_eq!(
        ev[0].op().map(|o| (o.function, o.class)),
        Some(("who_is_router_to_network", OpClass::Discovery))
    );
    // Register-Foreign-Device TTL 60, then BVLC-Result NAK 0x0030.
    let reg = hex("81 05 00 06 00 3c");
    let res = hex("81 00 00 06 00 30");
    let ev = run(&[(true, &reg), (false, &res)]);
    assert_eq!(ev.len(), 1);
    let b = ev[0].bvlc.as_ref().expect("bvlc");
    assert_eq!(
        (b.ttl, b.result.as_deref()),
        (Some(60), Some("register_foreign_device_nak"))
    );
    let op = ev[0].op().expect("op");
    assert_eq!(
        (op.function, op.class, op.status),
        ("register_foreign_device", OpClass::Session, Some(0x30))
    );
    // Forwarded-NPDU keeps the originating address.
    let fwd = hex("81 04 00 12 0a 00 00 09 ba c0 01 00 10 08 09 00 19 05");
    let ev = run(&[(true, &fwd)]);
    assert_eq!(ev[0].forwarded_from.as_deref(), Some("10.0.0.9:47808"));
}

#[test]
fn atomic_file_and_private_transfer() {
    // AtomicReadFile file,1 stream start 0 count 1024.
    let req = hex("81 0a 00 16 01 04 00 05 06 06 c4 02 80 00 01 0e 31 00 22 04 00 0f");
    // Ack: eof true, stream start 0, 3 octets.
    let ack = hex("81 0a 00 12 01 00 30 06 06 11 0e 31 00 63 61 62 63 0f");
    let ev = run(&[(true, &req), (false, &ack)]);
    let r = ev[0].request.as_ref().expect("req");
    assert_eq!((r.file_access, r.file_count), (Some("stream"), Some(1024)));
    let a = ev[0].response.as_ref().expect("resp");
    assert_eq!((a.end_of_file, a.file_data_length), (Some(true), Some(3)));
    assert_eq!(
        ev[0].op().map(|o| (o.class, o.quantity)),
        Some((OpClass::File, Some(1024)))
    );
    // ConfirmedPrivateTransfer vendor 7 service 511.
    let pt = hex("81 0a 00 0f 01 04 00 05 07 12 09 07 1a 01 ff");
    let ev = run(&[(true, &pt)]);
    let op = ev[0].op().expect("op");
    assert_eq!(op.attr("vendor_id"), Some(&Attr::Int(7)));
    assert_eq!(op.attr("service_number"), Some(&Attr::Int(511)));
}

#[test]
fn every_truncation_is_safe() {
    // Datagrams cut at every byte: never a panic, and the full one decodes.
    let all = [
        read_property_req(),
        read_property_ack(),
        hex("81 0b 00 14 01 00 10 00 c4 02 00 00 6c 22 05 c4 91 00 21 2a"),
        hex("81 0a 00 15 01 04 00 05 01 0e 0c 02 00 00 65 1e 09 79 09 46 1f"),
    ];
    for d in &all {
        for cut in 0..=d.len() {
            let mut st = BacnetState::new();
            let mut out = Vec::new();
            let _ = probe_datagram(&d[..cut], 47808, 47808);
            st.datagram(true, &d[..cut], &mut out);
            st.datagram(false, &d[..cut], &mut out);
            st.finish(&mut out);
            for e in &out {
                let _ = serde_json::to_string(e);
                let _ = e.op();
            }
        }
    }
}

#[test]
fn pending_requests_are_bounded() {
    let mut st = BacnetState::new();
    let mut out = Vec::new();
    let mut req = read_property_req();
    for i in 0..10_000u32 {
        req[13] = (i % 256) as u8; // invoke id
        req[18] = (i % 200) as u8; // instance low byte
        st.datagram(i.is_multiple_of(2), &req, &mut out);
        assert!(st.pending_len() <= state::MAX_PENDING);
    }
    st.finish(&mut out);
    // Every request is reported exactly once (same-key repeats with the
    // same service count as retries).
    assert!(out.len() <= 10_000 && out.len() >= 256);
    for (i, e) in out.iter().enumerate() {
        assert_eq!(e.tx_id, i as u64);
    }
}

use crate::test_util::XorShift;

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds = [
        read_property_req(),
        read_property_ack(),
        hex("81 0a 00 1c 01 24 00 03 01 6c ff 02 03 89 14 09 00 1d 09 00 66 69 6c 69 73 74 65 72"),
        hex("81 0a 00 15 01 04 00 05 01 0e 0c 02 00 00 65 1e 09 79 09 46 1f"),
        hex("81 0a 00 18 01 04 3c 5e 00 03 0c 0c 02 00 00 fe 19 4c 3e c4 00 c0 00 00"),
        hex("81 0b 00 09 01 80 00 00 05"),
    ];
    let mut st = BacnetState::new();
    let mut out = Vec::new();
    for i in 0..200_000u32 {
        let mut d: Vec<u8>;
        if i.is_multiple_of(2) {
            let n = (rng.next() % 64) as usize;
            d = (0..n).map(|_| rng.next() as u8).collect();
            if n >= 4 && i.is_multiple_of(4) {
                // Make it pass the BVLC checks more often.
                d[0] = 0x81;
                d[1] = (rng.next() % 13) as u8;
                d[2] = 0;
                d[3] = n as u8;
            }
        } else {
            d = seeds[(rng.next() % seeds.len() as u64) as usize].clone();
            for _ in 0..1 + rng.next() % 4 {
                let p = (rng.next() as usize) % d.len();
                d[p] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % (d.len() + 1);
                d.truncate(cut);
            }
        }
        let _ = probe_datagram(&d, 47808, 47808);
        st.datagram(rng.next().is_multiple_of(2), &d, &mut out);
        for e in out.drain(..) {
            let _ = e.op();
            let _ = serde_json::to_string(&e);
        }
        assert!(st.pending_len() <= state::MAX_PENDING + 1);
    }
    st.finish(&mut out);
}
