//! OPC UA decoder tests: annotated fixtures, split points, bounds, and
//! random/mutated input. Fixture bytes are from an open62541 client/server
//! exchange over policy None.

use super::*;
use rules::ot::{Attr, OpClass};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// HEL: version 0, buffers 65535/65535, max msg 0, max chunks 0,
/// endpoint "opc.tcp://localhost:4840".
fn hel() -> Vec<u8> {
    hex("48454c46 38000000 \
         00000000 ffff0000 ffff0000 00000000 00000000 \
         18000000 6f70632e7463703a2f2f6c6f63616c686f73743a34383430")
}

/// ACK: version 0, buffers 65535/65535, max msg 0, max chunks 0.
fn ack() -> Vec<u8> {
    hex("41434b46 1c000000 00000000 ffff0000 ffff0000 00000000 00000000")
}

/// OPN request, policy None: channel 0; policy URI (47 bytes); no sender
/// certificate (-1); no thumbprint (-1); sequence 1, request id 1; type
/// id 0x01 0x00 0x01be (446 OpenSecureChannelRequest); request header;
/// client protocol 0, request type 0 (issue), mode 1 (None), nonce
/// (1 byte 0x00), lifetime 600000.
fn opn_req() -> Vec<u8> {
    hex("4f504e46 84000000 00000000 \
         2f000000 687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65 \
         ffffffff ffffffff \
         01000000 01000000 \
         0100be01 \
         0000 4c4c064f2dd1d501 00000000 00000000 ffffffff 00000000 000000 \
         00000000 00000000 01000000 01000000 00 c0270900")
}

/// OPN response: channel 4, token 4, revised lifetime 600000.
fn opn_resp() -> Vec<u8> {
    hex("4f504e46 87000000 04000000 \
         2f000000 687474703a2f2f6f7063666f756e646174696f6e2e6f72672f55412f5365637572697479506f6c696379234e6f6e65 \
         ffffffff ffffffff \
         01000000 01000000 \
         0100c101 \
         ce710e4f2dd1d501 00000000 00000000 00 ffffffff 000000 \
         00000000 04000000 04000000 ba710e4f2dd1d501 c0270900 ffffffff")
}

/// ActivateSession with a UserNameIdentityToken (user1 / password).
fn activate_req() -> Vec<u8> {
    hex("4d534746a1000000040000000400000004000000040000000100d3010401003912161546f36d34fecffcbfbacb4c14c0ec1e4f2dd1d5010500000000000000ffffffffc0270900000000ffffffffffffffffffffffffffffffff010044010136000000190000006f70656e36323534312d757365726e616d652d706f6c6963790500000075736572310800000070617373776f7264ffffffffffffffffffffffff")
}

/// Write request (request id 21): ns=1;s=the.answer, attribute 13
/// (Value), DataValue with Variant Int32 1.
fn write_req() -> Vec<u8> {
    hex("4d534746 6d000000 04000000 04000000 15000000 15000000 \
         0100a102 \
         0401003912161546f36d34fecffcbfbacb4c14 b28f934f2dd1d501 16000000 00000000 ffffffff 00000000 000000 \
         01000000 \
         03 0100 0a000000 7468652e616e73776572 \
         0d000000 ffffffff \
         01 06 01000000")
}

/// Write response (request id 21): Good, results [BadNodeIdUnknown].
fn write_resp() -> Vec<u8> {
    hex("4d534746 40000000 04000000 04000000 0b000000 15000000 \
         0100a402 \
         ac4c9b4f2dd1d501 16000000 00000000 00 ffffffff 000000 \
         01000000 00003480 ffffffff")
}

fn run(client: &[Vec<u8>], server: &[Vec<u8>]) -> Vec<OpcuaEvent> {
    // Alternate: client chunk i, then server chunk i.
    let mut st = OpcuaState::new();
    let mut out = Vec::new();
    for i in 0..client.len().max(server.len()) {
        if let Some(c) = client.get(i) {
            st.input(true, c, &mut out);
        }
        if let Some(s) = server.get(i) {
            st.input(false, s, &mut out);
        }
    }
    st.finish(&mut out);
    out
}

#[test]
fn probe_accepts_uacp_only() {
    assert_eq!(probe(&hel(), true), Probe::Yes);
    assert_eq!(probe(&ack(), false), Probe::Yes);
    assert_eq!(probe(&opn_req(), true), Probe::Yes);
    assert_eq!(probe(b"HE", true), Probe::NeedMore);
    assert_eq!(probe(b"HELF\x38\x00", true), Probe::NeedMore);
    assert_eq!(probe(b"GET / HTTP/1.1\r\n", true), Probe::No);
    assert_eq!(probe(&ack(), true), Probe::No);
    assert_eq!(probe(b"HELX\x38\x00\x00\x00", true), Probe::No);
}

#[test]
fn hello_ack_one_event() {
    let ev = run(&[hel()], &[ack()]);
    assert_eq!(ev.len(), 1);
    let j = serde_json::to_value(&ev[0]).expect("json");
    assert_eq!(
        j,
        serde_json::json!({"tx_id":0,"msg_type":"HEL",
            "request":{"msg_type":"HEL","msg_size":56,"version":0,"rcv_buf_size":65535,
                "snd_buf_size":65535,"max_msg_size":0,"max_chunk_cnt":0,
                "endpoint_url":"opc.tcp://localhost:4840"},
            "response":{"msg_type":"ACK","msg_size":28,"version":0,"rcv_buf_size":65535,
                "snd_buf_size":65535,"max_msg_size":0,"max_chunk_cnt":0}})
    );
    assert_eq!(
        ev[0].op().map(|o| (o.function, o.class)),
        Some(("hello", OpClass::Session))
    );
}

#[test]
fn open_secure_channel_none() {
    let ev = run(&[opn_req()], &[opn_resp()]);
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(
        (e.sec_channel_id, e.sec_token_id, e.request_id),
        (Some(4), Some(4), Some(1))
    );
    assert_eq!(e.security_mode.as_deref(), Some("None"));
    let r = e.request.as_ref().expect("req");
    assert_eq!(
        r.identifier_str.as_deref(),
        Some("OpenSecureChannelRequest")
    );
    assert_eq!((r.snd_cert_len, r.request_type), (Some(-1), Some("issue")));
    let op = e.op().expect("op");
    assert_eq!(
        (op.function, op.code, op.class),
        ("open_secure_channel", 446, OpClass::Session)
    );
    assert_eq!(op.attr("security_policy"), Some(&Attr::Str("None".into())));
    assert_eq!(op.attr("security_mode"), Some(&Attr::Str("None".into())));
}

#[test]
fn activate_session_user_without_password() {
    let ev = run(&[opn_req(), activate_req()], &[opn_resp()]);
    let a = ev
        .iter()
        .find(|e| e.request_id == Some(4))
        .expect("activate");
    let j = serde_json::to_string(a).expect("json");
    assert!(!j.contains("password\""), "{j}");
    let r = a.request.as_ref().expect("req");
    assert_eq!(r.user_token_type.as_deref(), Some("UserNameIdentityToken"));
    assert_eq!(r.user_name.as_deref(), Some("user1"));
    let op = a.op().expect("op");
    assert_eq!(
        (op.function, op.class, op.response_only),
        ("activate_session", OpClass::Session, false)
    );
    assert_eq!(op.attr("user_token"), Some(&Attr::Str("username".into())));
}

#[test]
fn write_pairs_by_request_id() {
    let ev = run(&[opn_req(), write_req()], &[opn_resp(), write_resp()]);
    assert_eq!(ev.len(), 2);
    let w = &ev[1];
    let r = w.request.as_ref().expect("req");
    assert_eq!(r.nodes, vec!["ns=1;s=the.answer".to_string()]);
    assert_eq!(r.values, vec!["1".to_string()]);
    let s = w.response.as_ref().expect("resp");
    assert_eq!(s.results, vec!["BadNodeIdUnknown".to_string()]);
    assert_eq!(s.status.as_deref(), Some("Good"));
    let op = w.op().expect("op");
    assert_eq!(
        (op.function, op.code, op.class),
        ("write", 673, OpClass::Write)
    );
    assert_eq!(op.object.as_deref(), Some("ns=1;s=the.answer"));
    assert_eq!(
        (op.values.clone(), op.status, op.quantity),
        (vec![1.0], None, Some(1))
    );
    assert_eq!(op.attr("bad_results"), Some(&Attr::Int(1)));
}

#[test]
fn bad_service_result_is_op_status() {
    let mut resp = write_resp();
    // Service result (offset 8+16+4+8+4) := BadNoSubscription.
    let off = 8 + 16 + 4 + 8 + 4;
    resp[off..off + 4].copy_from_slice(&0x8079_0000u32.to_le_bytes());
    let ev = run(&[opn_req(), write_req()], &[opn_resp(), resp]);
    let op = ev[1].op().expect("op");
    assert_eq!(op.status, Some(0x8079_0000));
    let s = ev[1].response.as_ref().expect("resp");
    assert_eq!(s.status_code.as_deref(), Some("0x80790000"));
    assert_eq!(s.status.as_deref(), Some("BadNoSubscription"));
}

#[test]
fn chunked_message_is_reassembled() {
    // Split the Write request body into a C chunk and an F chunk, each with
    // its own secure channel / token / sequence header.
    let w = write_req();
    let hdr = &w[8..24]; // channel, token, seq, request id
    let body = &w[24..];
    let (a, b) = body.split_at(20);
    let mk = |ct: u8, part: &[u8], seq: u32| {
        let mut c = b"MSG".to_vec();
        c.push(ct);
        c.extend_from_slice(&((24 + part.len()) as u32).to_le_bytes());
        c.extend_from_slice(&hdr[..8]);
        c.extend_from_slice(&seq.to_le_bytes());
        c.extend_from_slice(&hdr[12..16]);
        c.extend_from_slice(part);
        c
    };
    let ev = run(
        &[opn_req(), mk(b'C', a, 21), mk(b'F', b, 22)],
        &[opn_resp(), vec![], vec![], write_resp()],
    );
    let w = ev.iter().find(|e| e.request_id == Some(21)).expect("write");
    let r = w.request.as_ref().expect("req");
    assert_eq!((r.chunks, r.nodes.len()), (Some(2), 1));
    assert_eq!(r.values, vec!["1".to_string()]);
}

#[test]
fn err_clo_and_encrypted_runs() {
    // ERR BadTcpMessageTypeInvalid, reason "x" after a HEL.
    let err = hex("45525246 11000000 00007e80 01000000 78");
    let ev = run(&[hel()], &[err]);
    let r = ev[0].response.as_ref().expect("err");
    assert_eq!(
        (r.error, r.status.as_deref(), r.reason.as_deref()),
        (
            Some(0x807e_0000),
            Some("BadTcpMessageTypeInvalid"),
            Some("x")
        )
    );
    assert_eq!(ev[0].op().and_then(|o| o.status), Some(0x807e_0000));
    // OPN with Basic256Sha256 (encrypted) and then MSG chunks with an
    // unreadable body: one summary event.
    let policy = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
    let mut opn = b"OPNF".to_vec();
    let mut body = 7u32.to_le_bytes().to_vec();
    body.extend_from_slice(&(policy.len() as u32).to_le_bytes());
    body.extend_from_slice(policy);
    body.extend_from_slice(&3i32.to_le_bytes());
    body.extend_from_slice(b"abc");
    body.extend_from_slice(&(-1i32).to_le_bytes());
    body.extend_from_slice(&[0x5a; 64]);
    opn.extend_from_slice(&((8 + body.len()) as u32).to_le_bytes());
    opn.extend_from_slice(&body);
    let mut enc = b"MSGF".to_vec();
    enc.extend_from_slice(&80u32.to_le_bytes());
    enc.extend_from_slice(&7u32.to_le_bytes());
    enc.extend_from_slice(&9u32.to_le_bytes());
    enc.extend_from_slice(&[0xee; 64]);
    let ev = run(
        &[opn.clone(), enc.clone(), enc.clone()],
        &[opn, enc.clone()],
    );
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert!(ev[0].encrypted && ev[0].msg_type == "OPN");
    assert_eq!(ev[0].op().map(|o| o.function), Some("open_secure_channel"));
    let s = &ev[1];
    assert!(s.encrypted);
    assert_eq!((s.sec_channel_id, s.sec_token_id), (Some(7), Some(9)));
    assert_eq!(s.request.as_ref().and_then(|p| p.chunks), Some(2));
    assert_eq!(s.response.as_ref().map(|p| p.msg_size), Some(80));
    assert_eq!(s.security_mode.as_deref(), Some("SignAndEncrypt"));
    let op = s.op().expect("op");
    assert_eq!(op.function, "encrypted_messages");
    assert_eq!(op.attr("encrypted"), Some(&Attr::Bool(true)));
}

fn events_json(ev: &[OpcuaEvent]) -> Vec<String> {
    ev.iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect()
}

#[test]
fn split_points_give_identical_events() {
    let client: Vec<u8> = [hel(), opn_req(), activate_req(), write_req()].concat();
    let server: Vec<u8> = [ack(), opn_resp(), write_resp()].concat();
    let whole = {
        let mut st = OpcuaState::new();
        let mut out = Vec::new();
        st.input(true, &client, &mut out);
        st.input(false, &server, &mut out);
        st.finish(&mut out);
        events_json(&out)
    };
    assert_eq!(whole.len(), 4);
    for cut in 0..=client.len() {
        let mut st = OpcuaState::new();
        let mut out = Vec::new();
        st.input(true, &client[..cut], &mut out);
        st.input(true, &client[cut..], &mut out);
        for (i, ch) in server.chunks(7).enumerate() {
            let _ = i;
            st.input(false, ch, &mut out);
        }
        st.finish(&mut out);
        assert_eq!(events_json(&out), whole, "cut {cut}");
    }
}

#[test]
fn memory_stays_bounded() {
    let mut st = OpcuaState::new();
    let mut out = Vec::new();
    // A chunk declaring 15 MiB, then endless bytes.
    let mut huge = b"MSGF".to_vec();
    huge.extend_from_slice(&(15u32 << 20).to_le_bytes());
    st.input(true, &huge, &mut out);
    let junk = vec![0x41u8; 64 * 1024];
    for _ in 0..400 {
        st.input(true, &junk, &mut out);
        st.input(false, &junk, &mut out);
        let (bytes, pending) = st.held();
        assert!(
            bytes <= 2 * parser::MAX_CHUNK + 2 * state::MAX_MESSAGE,
            "{bytes}"
        );
        assert!(pending <= state::MAX_PENDING);
    }
    // Endless unanswered requests keep at most MAX_PENDING.
    let mut st = OpcuaState::new();
    st.input(true, &opn_req(), &mut out);
    st.input(false, &opn_resp(), &mut out);
    let mut w = write_req();
    for i in 0..5_000u32 {
        w[20..24].copy_from_slice(&i.to_le_bytes());
        st.input(true, &w, &mut out);
        assert!(st.held().1 <= state::MAX_PENDING);
    }
    // Continuation chunks beyond the message cap are dropped.
    let mut st = OpcuaState::new();
    st.input(true, &opn_req(), &mut out);
    let mut c = b"MSGC".to_vec();
    c.extend_from_slice(&((24 + 60_000) as u32).to_le_bytes());
    c.extend_from_slice(&w[8..24]);
    c.extend_from_slice(&[0u8; 60_000]);
    for _ in 0..100 {
        st.input(true, &c, &mut out);
        assert!(st.held().0 <= state::MAX_MESSAGE + parser::MAX_CHUNK);
    }
}

use crate::test_util::XorShift;

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let seeds = [
        hel(),
        ack(),
        opn_req(),
        opn_resp(),
        activate_req(),
        write_req(),
        write_resp(),
    ];
    let mut st = OpcuaState::new();
    let mut out = Vec::new();
    for i in 0..200_000u32 {
        let d: Vec<u8> = if i.is_multiple_of(2) {
            let n = (rng.next() % 96) as usize;
            let mut d: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            if n >= 8 && i.is_multiple_of(4) {
                let t: &[u8; 3] = [b"HEL", b"ACK", b"MSG", b"OPN", b"ERR", b"CLO", b"RHE"]
                    [(rng.next() % 7) as usize];
                d[..3].copy_from_slice(t);
                d[3] = b"FCA"[(rng.next() % 3) as usize];
                d[4..8].copy_from_slice(&(n as u32).to_le_bytes());
            }
            d
        } else {
            let mut d = seeds[(rng.next() % seeds.len() as u64) as usize].clone();
            for _ in 0..1 + rng.next() % 4 {
                let p = (rng.next() as usize) % d.len();
                d[p] = rng.next() as u8;
            }
            d
        };
        let to_server = rng.next().is_multiple_of(2);
        let _ = probe(&d, to_server);
        let _ = parser::decode_body(&d);
        st.input(to_server, &d, &mut out);
        if i.is_multiple_of(1000) {
            st.gap(to_server);
        }
        for e in out.drain(..) {
            let _ = e.op();
            let _ = serde_json::to_string(&e);
        }
        if i % 10_000 == 0 {
            st.finish(&mut out);
            st = OpcuaState::new();
        }
    }
    st.finish(&mut out);
}
