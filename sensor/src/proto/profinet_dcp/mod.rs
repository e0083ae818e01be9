//! PROFINET DCP decoder (recognition level), EtherType 0x8892, plus RT
//! alarm notifications; the sibling module `profinet_io_cm` recognises PROFINET IO
//! context management over DCE/RPC (UDP 34964).
//!
//! # Spec notes
//!
//! * References: IEC 61158-6-10 §4.3 (DCP), §4.2 (RT FrameID ranges),
//!   §4.10 (RTA alarm PDUs); PROFINET IO specification "DCP" chapter.
//! * Payload after the EtherType (and VLAN tag) starts with the FrameID:
//!   0x0100..0xFBFF cyclic RT data (RT_CLASS_3 / 2 / 1) — no event, the
//!   caller only counts them ([`classify`], [`DcpCounters`]); 0xFC01 /
//!   0xFE01 alarm high / low — an event for each DATA-RTA-PDU carrying an
//!   AlarmNotification block (ACK / NACK / ERR PDUs and AlarmAck blocks are
//!   housekeeping and only counted); 0xFEFC Hello, 0xFEFD Get/Set request
//!   and response, 0xFEFE Identify multicast request, 0xFEFF Identify
//!   response; everything else (PTCP 0xFF00.., fragments) is ignored.
//! * DCP header: ServiceID (3 Get, 4 Set, 5 Identify, 6 Hello),
//!   ServiceType (bit 0 response, bit 2 "not supported"), Xid (u32),
//!   ResponseDelay (identify request) / reserved, DCPDataLength (u16).
//!   Blocks: Option, Suboption, DCPBlockLength, value, padded to even
//!   length. Responses and Hello put a BlockInfo (u16) before the value,
//!   Set requests a BlockQualifier; Identify filters carry neither; the
//!   Control/Response block (5/4) is option, suboption, BlockError. A Get
//!   request is a list of option/suboption pairs.
//! * Decoded blocks: IP parameter (ip, mask, gateway, block info), MAC,
//!   type of station (2/1, DeviceVendorValue), NameOfStation (2/2),
//!   vendor/device id (2/3), device role (2/4), device options count
//!   (2/5), alias name, device instance, OEM device id, control signal
//!   (value), factory reset / reset to factory (qualifier), set results.
//!   At most 64 blocks per frame are read, 32 names logged.
//! * Stateless: one event per frame, no pairing (one multicast identify
//!   draws a response from every device; the Xid links them). `tx_id` is
//!   always 0. Responses (and Hello) describe the *sending* device: the
//!   inventory should attribute `id_*` to the frame's source MAC.
//!
//! # `Op::function` vocabulary
//!
//! `identify`, `hello` (Discovery), `get` (Read), `set` (Write; attr
//! `what` = `ip`, `name`, `alias`, `dhcp`, `device_initiative`, `other`,
//! comma-joined), `factory_reset`, `reset_to_factory` (Restart), `signal`
//! (Diagnostic), `unknown` (Other), `alarm` (Report, `code` = alarm
//! type, `object` = alarm type name, `address` = slot). `code` = ServiceID.
//! Responses are `response_only` (the layer-2 decoder does not pair);
//! `status` = ServiceType when "not supported", else the first non-zero
//! BlockError of a Set response. Attrs: `xid`, `what`, `ip`,
//! `name_of_station` (request filter / new name), and on responses/Hello
//! `id_name` (NameOfStation), `id_vendor` (`0xVVVV` vendor id),
//! `id_product` (`0xDDDD` device id), `id_model` (type of station),
//! `device_role`; alarms: `priority`, `api`, `slot`, `subslot`.
//!
//! # EVE shape (`profinet_dcp`)
//!
//! ```json
//! {"frame_id":65279,"type":"response","service":"identify","service_id":5,
//!  "service_type":1,"status":"success","xid":16777217,
//!  "blocks":["device_options","type_of_station","name_of_station",
//!  "device_id","device_role","ip_parameter"],"name_of_station":"X208-BORD",
//!  "type_of_station":"INC","vendor_id":42,"device_id":2561,"device_role":1,
//!  "device_options":13,"ip":"192.168.0.6","netmask":"255.255.255.0",
//!  "gateway":"192.168.0.1","ip_block_info":1}
//! ```
//! Alarm: `{"frame_id":64513,"type":"alarm","alarm":{"priority":"high",
//! "alarm_type":1,"alarm_type_name":"diagnosis","api":0,"slot":1,
//! "subslot":1,"module_ident":..,"submodule_ident":..,
//! "alarm_specifier":..,"send_seq":..}}`.

pub mod event;
pub mod parser;
pub mod state;

pub use event::DcpEvent;
pub use parser::{classify, parse_alarm, parse_dcp, DcpError, DcpFrame, FrameKind};
pub use state::DcpCounters;

/// PROFINET EtherType.
pub const ETHERTYPE: u16 = 0x8892;

/// Decode one EtherType 0x8892 frame (`payload` after the EtherType and
/// VLAN tags). DCP frames and alarm notifications append an event;
/// cyclic frames, alarm housekeeping and other FrameIDs append nothing
/// (use [`classify`] or [`DcpCounters`] to count them).
pub fn parse_frame(payload: &[u8], out: &mut Vec<DcpEvent>) {
    match classify(payload) {
        Some(FrameKind::Dcp) => {
            if let Ok(f) = parse_dcp(payload) {
                out.push(DcpEvent::from_frame(&f));
            }
        }
        Some(FrameKind::Alarm) => {
            if let Ok(Some(a)) = parse_alarm(payload) {
                out.push(DcpEvent::from_alarm(&a));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ot::{Attr, OpClass};

    /// Identify all (ChangeIPUsingDCP.pcap frame 1), Ethernet padding
    /// included.
    const IDENT_REQ: &[u8] = &[
        0xfe, 0xfe, // FrameID: identify multicast request
        0x05, // ServiceID: identify
        0x00, // ServiceType: request
        0x01, 0x00, 0x00, 0x01, // Xid
        0x00, 0x01, // ResponseDelay
        0x00, 0x04, // DCPDataLength
        0xff, 0xff, 0x00, 0x00, // All selector, length 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // padding
    ];
    /// Identify response (frame 2).
    const IDENT_RESP: &[u8] = &[
        0xfe, 0xff, // FrameID: identify response
        0x05, 0x01, // identify, response success
        0x01, 0x00, 0x00, 0x01, // Xid
        0x00, 0x00, // reserved
        0x00, 0x5e, // DCPDataLength 94
        0x02, 0x05, 0x00, 0x1c, 0x00, 0x00, // device options, len 28, BlockInfo
        0x01, 0x01, 0x01, 0x02, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03, 0x02, 0x04, 0x02, 0x05, 0x03,
        0x3d, 0x05, 0x01, 0x05, 0x02, 0x05, 0x03, 0x05, 0x04, 0xff, 0xff, // 13 pairs
        0x02, 0x01, 0x00, 0x05, 0x00, 0x00, b'I', b'N', b'C', 0x00, // type of station + pad
        0x02, 0x02, 0x00, 0x0b, 0x00, 0x00, // NameOfStation, len 11
        b'X', b'2', b'0', b'8', b'-', b'B', b'O', b'R', b'D', 0x00, // + pad
        0x02, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x2a, 0x0a,
        0x01, // vendor 0x002a, device 0x0a01
        0x02, 0x04, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, // device role: IO device
        0x01, 0x02, 0x00, 0x0e, 0x00, 0x01, // IP parameter, BlockInfo: IP set
        0xc0, 0xa8, 0x00, 0x06, 0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x00, 0x01,
    ];
    /// Set IP (frame 3).
    const SET_IP: &[u8] = &[
        0xfe, 0xfd, // FrameID: get/set
        0x04, 0x00, // set, request
        0x01, 0x00, 0x00, 0x01, 0x00, 0x00, // Xid, reserved
        0x00, 0x12, // DCPDataLength 18
        0x01, 0x02, 0x00, 0x0e, // IP parameter, len 14
        0x00, 0x01, // BlockQualifier: permanent
        0xc0, 0xa8, 0x00, 0x0a, 0xff, 0xff, 0xff, 0x00, 0xc0, 0xa8, 0x00, 0x01,
    ];
    /// Set response (frame 4).
    const SET_RESP: &[u8] = &[
        0xfe, 0xfd, 0x04, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, // set, response
        0x00, 0x08, // DCPDataLength
        0x05, 0x04, 0x00, 0x03, // control/response, len 3
        0x01, 0x02, 0x00, // for IP parameter: no error
        0x00, // pad
    ];
    /// Set name + factory reset + signal requests (constructed).
    const SET_NAME: &[u8] = &[
        0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 9, 0, 0, 0x00, 0x0c, //
        0x02, 0x02, 0x00, 0x07, 0x00, 0x00, b'p', b'l', b'c', b'-', b'1', 0x00, // name + pad
    ];
    const FACTORY_RESET: &[u8] = &[
        0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 10, 0, 0, 0x00, 0x06, //
        0x05, 0x06, 0x00, 0x02, 0x00, 0x04, // reset to factory, qualifier 4 (all)
    ];
    const SIGNAL: &[u8] = &[
        0xfe, 0xfd, 0x04, 0x00, 0, 0, 0, 11, 0, 0, 0x00, 0x08, //
        0x05, 0x03, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, // signal: flash once
    ];
    /// Alarm high, DATA-RTA-PDU with an AlarmNotificationHigh (diagnosis).
    const ALARM: &[u8] = &[
        0xfc, 0x01, // FrameID: alarm high
        0x00, 0x01, 0x80, 0x01, // AlarmDstEndpoint, AlarmSrcEndpoint
        0x11, // PDUType: DATA, version 1
        0x00, // AddFlags
        0x00, 0x05, 0xff, 0xfe, // SendSeqNum, AckSeqNum
        0x00, 0x1c, // VarPartLen
        0x00, 0x01, 0x00, 0x18, 0x01, 0x00, // BlockType alarm high, len, version
        0x00, 0x01, // AlarmType diagnosis
        0x00, 0x00, 0x00, 0x00, // API
        0x00, 0x01, 0x00, 0x01, // slot 1, subslot 1
        0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x00, 0x01, // module / submodule ident
        0x88, 0x01, // AlarmSpecifier
    ];

    fn one(p: &[u8]) -> DcpEvent {
        let mut out = Vec::new();
        parse_frame(p, &mut out);
        assert_eq!(out.len(), 1);
        out.pop().unwrap()
    }

    #[test]
    fn identify_request_and_response() {
        let e = one(IDENT_REQ);
        assert_eq!(e.kind, "request");
        assert_eq!(e.blocks, vec!["all_selector"]);
        assert_eq!(e.response_delay, Some(1));
        let op = e.op().unwrap();
        assert_eq!((op.function, op.class), ("identify", OpClass::Discovery));
        assert!(!op.response_only);

        let e = one(IDENT_RESP);
        assert_eq!(e.name_of_station.as_deref(), Some("X208-BORD"));
        assert_eq!(e.device_options, Some(13));
        assert_eq!(e.ip.as_deref(), Some("192.168.0.6"));
        assert_eq!(e.gateway.as_deref(), Some("192.168.0.1"));
        let op = e.op().unwrap();
        assert!(op.response_only);
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("X208-BORD".into())));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("0x002a".into())));
        assert_eq!(op.attr("id_product"), Some(&Attr::Str("0x0a01".into())));
        assert_eq!(op.attr("id_model"), Some(&Attr::Str("INC".into())));
    }

    #[test]
    fn set_ip_name_reset_signal() {
        let op = one(SET_IP).op().unwrap();
        assert_eq!((op.function, op.class), ("set", OpClass::Write));
        assert_eq!(op.attr("what"), Some(&Attr::Str("ip".into())));
        assert_eq!(op.attr("ip"), Some(&Attr::Str("192.168.0.10".into())));
        let r = one(SET_RESP);
        assert_eq!(r.results.len(), 1);
        let op = r.op().unwrap();
        assert!(op.response_only);
        assert_eq!(op.attr("what"), Some(&Attr::Str("ip".into())));
        assert_eq!(op.status, None);
        let op = one(SET_NAME).op().unwrap();
        assert_eq!(op.attr("what"), Some(&Attr::Str("name".into())));
        assert_eq!(op.object.as_deref(), Some("plc-1"));
        let op = one(FACTORY_RESET).op().unwrap();
        assert_eq!(
            (op.function, op.class),
            ("reset_to_factory", OpClass::Restart)
        );
        let op = one(SIGNAL).op().unwrap();
        assert_eq!((op.function, op.class), ("signal", OpClass::Diagnostic));
    }

    #[test]
    fn alarms_and_cyclic() {
        let e = one(ALARM);
        let op = e.op().unwrap();
        assert_eq!((op.function, op.class), ("alarm", OpClass::Report));
        assert_eq!(op.object.as_deref(), Some("diagnosis"));
        assert_eq!(op.address, Some(1));
        // ACK-RTA-PDU: counted, no event.
        let mut ack = ALARM[..14].to_vec();
        ack[6] = 0x13;
        let mut out = Vec::new();
        parse_frame(&ack, &mut out);
        // Cyclic RT_CLASS_1 data: no event.
        parse_frame(&[0xc0, 0x00, 1, 2, 3, 4, 0x35, 0x00], &mut out);
        assert!(out.is_empty());
        let mut c = DcpCounters::default();
        c.frame(&ack, &mut out);
        c.frame(&[0x80, 0x01, 0, 0], &mut out);
        c.frame(IDENT_REQ, &mut out);
        c.frame(&[0xfe], &mut out);
        assert_eq!((c.alarms, c.cyclic, c.dcp, c.errors), (1, 1, 1, 1));
        assert_eq!(out.len(), 1);
        assert_eq!(classify(&[0xbf, 0xff]), Some(FrameKind::Cyclic));
        assert_eq!(classify(&[0xff, 0x40]), Some(FrameKind::Other));
    }

    #[test]
    fn hostile_lengths_are_bounded() {
        // DCPDataLength larger than the frame, block length past the end.
        let mut f = IDENT_RESP.to_vec();
        f[10] = 0xff;
        f[11] = 0xff;
        let e = one(&f);
        assert!(e.truncated);
        // Thousands of tiny blocks: at most MAX_BLOCKS decoded.
        let mut f = vec![0xfe, 0xff, 5, 1, 0, 0, 0, 1, 0, 0, 0x40, 0x00];
        for _ in 0..4096 {
            f.extend([0x02, 0x04, 0x00, 0x00]);
        }
        let p = parse_dcp(&f).unwrap();
        assert!(p.blocks.len() <= parser::MAX_BLOCKS && p.truncated);
        let e = one(&f);
        assert!(e.blocks.len() <= event::MAX_BLOCK_NAMES);
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0x0123_4567_89ab_cdef);
        let seeds: [&[u8]; 8] = [
            IDENT_REQ,
            IDENT_RESP,
            SET_IP,
            SET_RESP,
            SET_NAME,
            FACTORY_RESET,
            SIGNAL,
            ALARM,
        ];
        let mut out = Vec::new();
        let mut counters = DcpCounters::default();
        for i in 0..100_000u32 {
            let len = (rng.next() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i.is_multiple_of(2) && buf.len() >= 2 {
                buf[0] = 0xfe;
                buf[1] = [0xfc, 0xfd, 0xfe, 0xff, 0x01][(rng.next() % 5) as usize];
                if buf[1] == 0x01 {
                    buf[0] = 0xfc;
                }
            }
            parse_frame(&buf, &mut out);
            counters.frame(&buf, &mut out);
            for e in out.drain(..) {
                let _ = e.op();
            }
        }
        for i in 0..100_000usize {
            let mut buf = seeds[i % seeds.len()].to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let p = (rng.next() as usize) % buf.len();
                buf[p] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % buf.len();
                buf.truncate(cut);
            }
            parse_frame(&buf, &mut out);
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
        }
    }
}
