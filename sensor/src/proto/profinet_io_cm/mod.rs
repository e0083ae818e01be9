//! PROFINET IO context management (PNIO-CM) recognition: connectionless
//! DCE/RPC over UDP (port 34964 for the first call; devices answer and
//! later calls run between ephemeral ports).
//!
//! # Spec notes
//!
//! * References: IEC 61158-6-10 §5 (RPC interfaces, blocks), DCE 1.1 RPC
//!   chapter 12 (connectionless PDU header).
//! * RPC header (80 bytes): version 4, packet type (0 request, 2
//!   response, 3 fault, 6 reject; others ignored), flags, data
//!   representation (byte 4 bit 4: little endian — applies to the header
//!   integers, UUID first three fields and the NDR header), object UUID,
//!   interface UUID, activity UUID, server boot, interface version,
//!   sequence number, opnum, hints, fragment length, fragment number.
//! * Interfaces: DEA00001..4-6C97-11D1-8271-00A02442DF7D (device,
//!   controller, supervisor, parameter server); the endpoint mapper
//!   (E1AF8308-...) is logged as `epm_*` discovery. The object UUID
//!   DEA00000-6C97-11D1-8271-IIIIDDDDVVVV names instance, device id and
//!   vendor id.
//! * NDR header (20 bytes): request ArgsMaximum / response PNIOStatus,
//!   ArgsLength, MaximumCount, Offset, ActualCount; then PNIO blocks
//!   (big endian). First block decoded: IODRead/WriteReq/ResHeader (API,
//!   slot, subslot, index, record data length, write PNIOStatus),
//!   ARBlockReq/Res (AR type, AR UUID, initiator station name), IOD
//!   control / release (control command bits). Later fragments of a
//!   fragmented call are ignored.
//! * Pairing: by activity UUID and sequence number within the flow, at
//!   most 64 pending. Because devices answer from another port, many
//!   responses arrive on their own flow and are logged response-only;
//!   the response carries opnum, interface and blocks, so nothing but
//!   the pairing is lost. The request stays pending in its own flow and
//!   is logged request-only when that flow ends (flows are spread over
//!   workers by their 5-tuple, so the two flows cannot be joined).
//!
//! # `Op::function` vocabulary
//!
//! `connect`, `release`, `control` (Session), `read`, `read_implicit`
//! (Read), `write` (Write), `epm_lookup`, `epm_other` (Discovery),
//! `unknown` (Other). `code` = opnum, `address` = record index,
//! `quantity` = record data length, `object` = `slot/subslot/0xINDEX`,
//! `status` = PNIOStatus when non-zero (fault/reject status). Attrs:
//! `interface`, `api`, `slot`, `subslot`, `control_command`,
//! `initiator_station_name`, `id_vendor` / `id_product` (from the object
//! UUID: the called device).
//!
//! # EVE shape (`profinet_io_cm`)
//!
//! ```json
//! {"type":"transaction","interface":"device","operation":"read_implicit",
//!  "opnum":5,"sequence_num":0,"activity_uuid":"dbabbaec-1d00-5443-b250-0b01630abafd",
//!  "object_uuid":"dea00000-6c97-11d1-8271-00010003015a","vendor_id":346,
//!  "device_id":3,"instance":1,"pnio_status":0,"block_type":9,"api":0,
//!  "slot":0,"subslot":1,"index":63552,"record_data_length":104}
//! ```

pub mod event;
pub mod parser;
pub mod state;

pub use event::IoCmEvent;
pub use parser::{parse_rpc_header, IoCmError, RpcHeader};
pub use state::IoCmState;

/// PNIO-CM RPC port.
pub const PORT: u16 = 34964;

/// Probe a UDP datagram: an RPC v4 header whose interface is a PNIO
/// interface (any port), or the endpoint mapper on port 34964.
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> bool {
    let Ok(h) = parse_rpc_header(payload) else {
        return false;
    };
    match parser::interface_of(&h.interface) {
        parser::Interface::Other => false,
        parser::Interface::Epm => sport == PORT || dport == PORT,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ot::{Attr, OpClass};

    const DEVICE_IF: [u8; 16] = [
        0xde, 0xa0, 0x00, 0x01, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf,
        0x7d,
    ];
    const OBJECT: [u8; 16] = [
        0xde, 0xa0, 0x00, 0x00, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, // PNIO object prefix
        0x00, 0x01, // instance 1
        0x00, 0x03, // device id 3
        0x01, 0x5a, // vendor id 0x015a
    ];
    const ACTIVITY: [u8; 16] = [
        0x13, 0x14, 0x2f, 0x90, 0, 0, 0x10, 0, 0xa9, 0x94, 0xd2, 0x10, 0x68, 0x90, 0xca, 0x5a,
    ];

    fn uuid_le(u: &[u8; 16]) -> Vec<u8> {
        let mut v = u.to_vec();
        v[..4].reverse();
        v[4..6].reverse();
        v[6..8].reverse();
        v
    }

    /// Connectionless RPC header + NDR header + blocks.
    fn rpc(ptype: u8, le: bool, opnum: u16, seq: u32, ndr_first: u32, blocks: &[u8]) -> Vec<u8> {
        let mut v = vec![
            4,                            // RPC version 4
            ptype,                        // packet type
            0x20,                         // flags1: idempotent
            0x00,                         // flags2
            if le { 0x10 } else { 0x00 }, // drep: integer byte order
            0x00,
            0x00,
            0x00, // serial high
        ];
        let uuid = |u: &[u8; 16]| if le { uuid_le(u) } else { u.to_vec() };
        v.extend(uuid(&OBJECT)); // object UUID
        v.extend(uuid(&DEVICE_IF)); // interface UUID
        v.extend(uuid(&ACTIVITY)); // activity UUID
        let w32 = |x: u32| if le { x.to_le_bytes() } else { x.to_be_bytes() };
        let w16 = |x: u16| if le { x.to_le_bytes() } else { x.to_be_bytes() };
        v.extend(w32(0)); // server boot time
        v.extend(w32(1)); // interface version
        v.extend(w32(seq)); // sequence number
        v.extend(w16(opnum)); // opnum
        v.extend(w16(0xffff)); // interface hint
        v.extend(w16(0xffff)); // activity hint
        let len = (20 + blocks.len()) as u16;
        v.extend(w16(len)); // fragment length
        v.extend(w16(0)); // fragment number
        v.extend([0, 0]); // auth protocol, serial low
                          // NDR header: ArgsMaximum / PNIOStatus (big endian bytes).
        if ptype == 2 {
            v.extend(ndr_first.to_be_bytes());
        } else {
            v.extend(w32(ndr_first));
        }
        let n = blocks.len() as u32;
        v.extend(w32(n)); // ArgsLength
        v.extend(w32(ndr_first.max(n))); // MaximumCount
        v.extend(w32(0)); // Offset
        v.extend(w32(n)); // ActualCount
        v.extend_from_slice(blocks);
        v
    }

    /// IODReadReqHeader / ResHeader block.
    fn read_header(block_type: u16, index: u16, len: u32) -> Vec<u8> {
        let mut b = block_type.to_be_bytes().to_vec();
        b.extend(60u16.to_be_bytes()); // BlockLength
        b.extend([1, 0]); // BlockVersion 1.0
        b.extend(10u16.to_be_bytes()); // SeqNumber
        b.extend([0u8; 16]); // ARUUID (implicit read: zero)
        b.extend(0u32.to_be_bytes()); // API
        b.extend(0u16.to_be_bytes()); // slot 0
        b.extend(1u16.to_be_bytes()); // subslot 1
        b.extend([0, 0]); // padding
        b.extend(index.to_be_bytes()); // index
        b.extend(len.to_be_bytes()); // RecordDataLength
        b.extend([0u8; 24]); // target AR UUID / additional values / padding
        b
    }

    /// IODReleaseReq block (control command "release").
    fn release_block(block_type: u16, cmd: u16) -> Vec<u8> {
        let mut b = block_type.to_be_bytes().to_vec();
        b.extend(28u16.to_be_bytes()); // BlockLength
        b.extend([1, 0]); // version
        b.extend([0, 0]); // padding
        b.extend([0x7c; 16]); // ARUUID
        b.extend(1u16.to_be_bytes()); // SessionKey
        b.extend([0, 0]); // padding
        b.extend(cmd.to_be_bytes()); // ControlCommand
        b.extend(0u16.to_be_bytes()); // ControlBlockProperties
        b
    }

    #[test]
    fn read_implicit_transaction() {
        let req = rpc(0, true, 5, 0, 0x8040, &read_header(0x0009, 0xf840, 32768));
        let resp = rpc(2, true, 5, 0, 0, &read_header(0x8009, 0xf840, 104));
        assert!(probe_datagram(&req, 1566, PORT));
        assert!(probe_datagram(&resp, 49152, 1566));
        assert!(!probe_datagram(&req[..79], 1566, PORT));
        let mut st = IoCmState::new();
        let mut out = Vec::new();
        st.datagram(true, &req, &mut out);
        st.datagram(false, &resp, &mut out);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.kind, "transaction");
        assert_eq!(e.interface, "device");
        assert_eq!(e.record_data_length, Some(104));
        assert_eq!(e.object_uuid, "dea00000-6c97-11d1-8271-00010003015a");
        let op = e.op().unwrap();
        assert_eq!((op.function, op.class), ("read_implicit", OpClass::Read));
        assert_eq!(op.address, Some(0xf840));
        assert_eq!(op.object.as_deref(), Some("0/1/0xf840"));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("0x015a".into())));
        assert_eq!(op.status, None);
    }

    #[test]
    fn release_big_endian_request_little_endian_response() {
        let req = rpc(0, false, 1, 0, 0x1000, &release_block(0x0114, 0x0004));
        let resp = rpc(2, true, 1, 0, 0, &release_block(0x8114, 0x0008));
        let mut st = IoCmState::new();
        let mut out = Vec::new();
        st.datagram(true, &req, &mut out);
        st.datagram(false, &resp, &mut out);
        assert_eq!(out.len(), 1, "drep-independent pairing");
        let op = out[0].op().unwrap();
        assert_eq!((op.function, op.class), ("release", OpClass::Session));
        assert_eq!(
            op.attr("control_command"),
            Some(&Attr::Str("release".into()))
        );
        // Error response alone.
        let bad = rpc(2, true, 3, 7, 0xde80_a100, &[]);
        st.datagram(false, &bad, &mut out);
        let op = out[1].op().unwrap();
        assert!(op.response_only);
        assert_eq!(op.function, "write");
        assert_eq!(op.status, Some(0xde80_a100));
        st.datagram(true, &req, &mut out);
        st.finish(&mut out);
        assert_eq!(out[2].kind, "request");
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// profinet_io_cm_release.pcapng frames 1 and 2: the release request
    /// goes to 65151 -> 34964, the device answers from 49152 -> 65151, so
    /// each is alone in its UDP flow. The request used to be dropped at
    /// the end of its flow (no event at all).
    #[test]
    fn request_answered_from_another_port_is_logged_at_flow_end() {
        use crate::proto::ot::{OtEvent, OtParser};
        use crate::proto::AppProto;
        let req = hex(concat!(
            "0400200000000000dea000006c9711d1827100010003015adea000016c9711d1",
            "827100a02442df7d13142f9000001000a994d2106890ca5a0000000000000001",
            "000000040001ffffffff00340000000000001000000000200000100000000000",
            "000000200114001c010000007c74224e166c4a58bf6b6c25a75870f000010000",
            "00040000"
        ));
        let resp = hex(concat!(
            "04022800100000000000a0de976cd111827100010003015a0100a0de976cd111",
            "827100a02442df7d902f141300000010a994d2106890ca5a0200000001000000",
            "040000000100ffffffff34000000000000000000200000000010000000000000",
            "200000008114001c010000007c74224e166c4a58bf6b6c25a75870f000010000",
            "00080000"
        ));
        assert!(probe_datagram(&req, 65151, PORT));
        assert!(probe_datagram(&resp, 49152, 65151));
        // Flow 1: the request alone.
        let mut a = OtParser::new(AppProto::ProfinetIoCm).unwrap();
        let mut out = Vec::new();
        a.datagram(true, &req, &mut out);
        assert!(out.is_empty(), "held for its response");
        a.finish(&mut out);
        assert_eq!(out.len(), 1, "request logged at flow end");
        let OtEvent::ProfinetIoCm(e) = &out[0] else {
            panic!("{:?}", out[0])
        };
        assert_eq!(e.kind, "request");
        assert_eq!(e.sequence_num, 4);
        let op = e.op().unwrap();
        assert_eq!((op.function, op.class), ("release", OpClass::Session));
        assert!(!op.response_only);
        // Flow 2: the response alone.
        let mut b = OtParser::new(AppProto::ProfinetIoCm).unwrap();
        out.clear();
        b.datagram(true, &resp, &mut out);
        b.finish(&mut out);
        assert_eq!(out.len(), 1);
        let op = out[0].op().unwrap();
        assert!(op.response_only);
        assert_eq!(op.function, "release");
    }

    #[test]
    fn bounded_pending() {
        let mut st = IoCmState::new();
        let mut out = Vec::new();
        for seq in 0..1000 {
            let req = rpc(0, false, 2, seq, 0x1000, &read_header(0x0009, 0xaff0, 4096));
            st.datagram(true, &req, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
        assert_eq!(out.len(), 1000 - state::MAX_PENDING);
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0x5555_aaaa_1234_8765);
        let seeds = [
            rpc(0, true, 5, 0, 0x8040, &read_header(0x0009, 0xf840, 32768)),
            rpc(2, true, 5, 0, 0, &read_header(0x8009, 0xf840, 104)),
            rpc(0, false, 1, 0, 0x1000, &release_block(0x0114, 4)),
            rpc(2, false, 3, 0, 0, &read_header(0x8008, 0x8000, 4)),
        ];
        let mut out = Vec::new();
        for _ in 0..100_000u32 {
            let len = (rng.next() % 160) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if buf.len() > 40 {
                buf[0] = 4;
                buf[1] = [0u8, 2, 3, 6][(rng.next() % 4) as usize];
                buf[24..40].copy_from_slice(&DEVICE_IF);
            }
            let _ = probe_datagram(&buf, PORT, 1);
            let mut st = IoCmState::new();
            st.datagram(true, &buf, &mut out);
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
            let mut st = IoCmState::new();
            st.datagram(true, &buf, &mut out);
            st.datagram(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
        }
    }
}
