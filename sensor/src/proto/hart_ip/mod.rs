//! HART-IP decoder (recognition level), UDP and TCP port 5094.
//!
//! # Spec notes
//!
//! * References: FieldComm Group HCF_SPEC-085 (HART-IP), HCF_SPEC-081
//!   (token-passing data link: delimiter, address, command, byte count),
//!   HCF_SPEC-127 (universal commands: command 0 layout), HCF_SPEC-151
//!   (common practice commands), HCF_SPEC-183 (common tables).
//! * Header (8 bytes): version (1; 2 accepted), message type (low nibble:
//!   0 request, 1 response, 2 publish/notification, 3 error, 15 NAK),
//!   message id (0 session initiate, 1 session close, 2 keep alive, 3
//!   token-passing PDU, 4 direct PDU, 5 read audit log), status,
//!   sequence number (u16), byte count (u16, whole message incl. header).
//!   TCP is framed by the byte count with [`StreamBuf`] (messages above
//!   8 KiB are skipped); UDP carries one message per datagram.
//! * Session initiate body: master type (1), inactivity close timer (u32,
//!   ms). Read audit log request: start record, number of records.
//! * Token-passing PDU (no preambles): delimiter (bit 7 long address,
//!   bits 6-5 expansion bytes, bits 2-0 frame type 1 BACK / 2 STX / 6
//!   ACK), address (1 byte polling address or 5-byte unique address),
//!   expansion bytes, command, byte count, [response code, device status
//!   in ACK/BACK], data, check byte. Command 31 carries a 16-bit extended
//!   command number as its first two data bytes; it replaces the command.
//! * Direct PDU: device status, extended status, then commands (u16
//!   number, byte count, data; responses start data with the response
//!   code); first 16 kept.
//! * Identity: command 0/11/21 responses (254, expanded device type,
//!   preambles, HART revision, device revision, software revision,
//!   hw/signalling, flags, 3-byte device id, ..., 16-bit manufacturer id
//!   at byte 17 for HART 7, else the 8-bit code at byte 1) → `id_vendor`
//!   (`0xMMMM`), `id_model` (`0xTTTT`, device type), `id_serial`
//!   (`0xDDDDDD`, device id), `id_version` (`<device rev>.<software
//!   rev>`); command 20 long tag (32 bytes Latin-1) and command 13 tag
//!   (packed ASCII) → `id_name`.
//! * Pairing by sequence number and message id (error/NAK answers by
//!   sequence number alone), at most 64 outstanding, by message type (not
//!   by direction: gateways answer from port 5095, so a session's
//!   requests and responses may sit on different UDP flows and show up as
//!   request-only / response-only events). Publish messages (burst data)
//!   are counted; one `publish` event per distinct command per flow.
//!
//! # `Op::function` vocabulary
//!
//! Session: `session_initiate`, `session_close`, `keep_alive` (Session),
//! `read_audit_log` (Diagnostic), `unknown_message` (Other). Token-passing
//! and direct PDUs are named by the HART command (the first one for a
//! direct PDU): `read_unique_identifier`, `read_unique_identifier_with_tag`,
//! `read_unique_identifier_with_long_tag`, `find_device`,
//! `read_io_system_capabilities`, `poll_sub_device`,
//! `read_sub_device_identity_summary` (Discovery); `read_*` commands
//! (Read); `write_*`, `set_primary_variable_upper/lower_range_value`,
//! `reset_configuration_changed_flag`, `reset_device_variable_trim`
//! (Write); `enter_exit_fixed_current_mode`, `set_primary_variable_zero`,
//! `trim_*`, `set_device_variable_zero`,
//! `enter_exit_fixed_analog_channel_mode`, `write_device_variable`,
//! `send_command_to_sub_device`, `eeprom_control` (Command);
//! `perform_device_reset` (Restart); `lock_device` (Security);
//! `perform_self_test`, `squawk`, `read_additional_device_status`,
//! `read_io_channel_statistics`, `read_sub_device_statistics`,
//! `set_real_time_clock`, `read_real_time_clock` (Diagnostic);
//! `device_specific_command` (128..253), `extended_command` (>255),
//! `command` (other) (Other). Publish events use class Report.
//! `code` = HART command number (message id for session messages),
//! `unit` = polling address or 24-bit device id, `status` = header status
//! or HART response code when an error (warnings 8, 14, ... ignored).
//! Attrs: `message`, `sequence`, `address`, `command_count`,
//! `inactivity_close_timer`, `hart_revision`, `id_*`.
//!
//! # EVE shape (`hart_ip`)
//!
//! ```json
//! {"type":"transaction","version":1,"message":"token_passing_pdu",
//!  "message_id":3,"sequence_number":3,"status":0,"frame_type":"stx",
//!  "address":"264e0000d2","command":0,"command_name":"read_unique_identifier",
//!  "response_code":0,"device_status":208,"device_type":9806,
//!  "manufacturer_id":38,"device_id":210,"hart_revision":7,
//!  "device_revision":4,"software_revision":1}
//! ```

pub mod event;
pub mod parser;
pub mod state;

pub use event::{command_info, message_info, HartIpEvent};
pub use parser::{parse_header, parse_pdu, HartError, Header, Pdu};
pub use state::HartIpState;

use crate::proto::common::Probe;

/// HART-IP well-known port.
pub const PORT: u16 = 5094;

fn plausible(h: &Header) -> bool {
    h.message_id <= 5 && usize::from(h.byte_count) <= parser::MAX_MESSAGE
}

/// Probe the first bytes of a TCP direction.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    if data.len() < parser::HEADER_LEN {
        return match data {
            [v, ..] if !(1..=2).contains(v) => Probe::No,
            [_, t, ..] if !matches!(t & 0x0f, 0..=3 | 15) || t & 0xf0 != 0 => Probe::No,
            [_, _, id, ..] if *id > 5 => Probe::No,
            _ => Probe::NeedMore,
        };
    }
    match parse_header(data) {
        Ok(h) if plausible(&h) && data[1] & 0xf0 == 0 => Probe::Yes,
        _ => Probe::No,
    }
}

/// Probe a UDP datagram: a plausible header whose byte count matches the
/// datagram (on port 5094 it may be shorter than the datagram).
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> bool {
    match parse_header(payload) {
        Ok(h) if plausible(&h) && payload[1] & 0xf0 == 0 => {
            let n = usize::from(h.byte_count);
            n == payload.len() || ((sport == PORT || dport == PORT) && n <= payload.len())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ot::{Attr, OpClass};

    /// Session initiate request (UDP capture, hart-ip.pcap frame 1).
    const INIT_REQ: &[u8] = &[
        0x01, // version
        0x00, // message type: request
        0x00, // message id: session initiate
        0x00, // status
        0x00, 0x02, // sequence 2
        0x00, 0x0d, // byte count 13
        0x01, // master type: primary
        0x00, 0x00, 0x75, 0x30, // inactivity close timer 30000 ms
    ];
    const INIT_RESP: &[u8] = &[
        0x01, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x0d, // response, seq 2
        0x01, 0x00, 0x00, 0xea, 0x60, // timer 60000
    ];
    /// Token-passing PDU, command 0 to long address 26 4e 00 00 d2.
    const CMD0_REQ: &[u8] = &[
        0x01, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x11, // header: request, TP PDU, seq 3, 17
        0x82, // delimiter: long address, STX
        0x26, 0x4e, 0x00, 0x00, 0xd2, // unique address
        0x00, // command 0
        0x00, // byte count
        0x38, // check byte
    ];
    const CMD0_RESP: &[u8] = &[
        0x01, 0x01, 0x03, 0x00, 0x00, 0x03, 0x00, 0x29, // response, seq 3, 41 bytes
        0x86, // delimiter: long, ACK
        0x26, 0x4e, 0x00, 0x00, 0xd2, // address
        0x00, // command 0
        0x18, // byte count 24
        0x00, // response code
        0xd0, // device status
        0xfe, // 254
        0x26, 0x4e, // expanded device type
        0x05, // min preambles
        0x07, // HART revision 7
        0x04, // device revision
        0x01, // software revision
        0x0e, // hw rev / signalling
        0x0c, // flags
        0x00, 0x00, 0xd2, // device id
        0x05, // response preambles
        0x02, // max device variables
        0x00, 0x02, // configuration change counter
        0xd0, // extended status
        0x00, 0x26, // manufacturer id 0x0026
        0x00, 0x26, // private label
        0x84, // device profile
        0xe4, // check byte
    ];
    /// Command 20 response: long tag "whartgw".
    fn cmd20_pair() -> (Vec<u8>, Vec<u8>) {
        let req = vec![
            0x01, 0x00, 0x03, 0x00, 0x00, 0x0a, 0x00, 0x11, 0x82, 0x26, 0x4e, 0x00, 0x00, 0xd2,
            0x14, // command 20
            0x00, 0x2c,
        ];
        let mut resp = vec![
            0x01, 0x01, 0x03, 0x00, 0x00, 0x0a, 0x00, 0x33, 0x86, 0x26, 0x4e, 0x00, 0x00, 0xd2,
            0x14, 0x22, // byte count 34
            0x00, 0xd0, // rc, status
        ];
        let mut tag = b"whartgw".to_vec();
        tag.resize(32, 0);
        resp.extend(tag);
        resp.push(0xdb);
        (req, resp)
    }
    /// Direct PDU: command 54 with one data byte.
    const DIRECT_REQ: &[u8] = &[
        0x01, 0x00, 0x04, 0x00, 0x00, 0x04, 0x00, 0x0e, // request, direct PDU, seq 4
        0x00, 0x00, // device status, extended status
        0x00, 0x36, // command 54
        0x01, // byte count
        0x00, // device variable 0
    ];
    const DIRECT_RESP: &[u8] = &[
        0x01, 0x01, 0x04, 0x00, 0x00, 0x04, 0x00, 0x0f, // response, seq 4, 15
        0x00, 0x00, // status bytes
        0x00, 0x36, // command 54
        0x02, // byte count
        0x40, // response code 64: command not implemented
        0x00,
    ];

    fn tcp_run(chunks: &[(bool, &[u8])]) -> Vec<String> {
        let mut st = HartIpState::new();
        let mut out = Vec::new();
        for (ts, c) in chunks {
            st.input(*ts, c, &mut out);
        }
        st.finish(&mut out);
        out.iter()
            .map(|e| format!("{} {}", e.tx_id(), serde_json::to_string(e).unwrap()))
            .collect()
    }

    #[test]
    fn session_and_identity() {
        assert_eq!(probe(INIT_REQ, true), Probe::Yes);
        assert_eq!(probe(&INIT_REQ[..3], true), Probe::NeedMore);
        assert_eq!(probe(b"\x16\x03\x01", true), Probe::No);
        assert!(probe_datagram(INIT_REQ, 49905, 5094));
        assert!(probe_datagram(CMD0_RESP, 5095, 49905));
        let mut st = HartIpState::new();
        let mut out = Vec::new();
        for (ts, m) in [
            (true, INIT_REQ),
            (false, INIT_RESP),
            (true, CMD0_REQ),
            (false, CMD0_RESP),
        ] {
            st.datagram(ts, m, &mut out);
        }
        assert_eq!(out.len(), 2);
        let s = out[0].op().unwrap();
        assert_eq!(
            (s.function, s.class),
            ("session_initiate", OpClass::Session)
        );
        assert_eq!(out[0].inactivity_close_timer, Some(30000));
        let op = out[1].op().unwrap();
        assert_eq!(op.function, "read_unique_identifier");
        assert_eq!(op.class, OpClass::Discovery);
        assert_eq!(op.unit, Some(0xd2));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("0x0026".into())));
        assert_eq!(op.attr("id_model"), Some(&Attr::Str("0x264e".into())));
        assert_eq!(op.attr("id_serial"), Some(&Attr::Str("0x0000d2".into())));
        assert_eq!(op.attr("id_version"), Some(&Attr::Str("4.1".into())));
        assert_eq!(out[1].tx_id(), 1);
    }

    #[test]
    fn long_tag_and_direct_pdu_status() {
        let (req, resp) = cmd20_pair();
        let mut st = HartIpState::new();
        let mut out = Vec::new();
        st.datagram(true, &req, &mut out);
        st.datagram(false, &resp, &mut out);
        st.datagram(true, DIRECT_REQ, &mut out);
        st.datagram(false, DIRECT_RESP, &mut out);
        let op = out[0].op().unwrap();
        assert_eq!(op.function, "read_long_tag");
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("whartgw".into())));
        let d = out[1].op().unwrap();
        assert_eq!(d.function, "read_device_variable_information");
        assert_eq!(d.code, 54);
        assert_eq!(d.status, Some(64));
        assert_eq!(out[1].commands[0].response_code, Some(64));
    }

    #[test]
    fn publish_is_deduplicated_and_unanswered_flushed() {
        let mut publish = CMD0_RESP.to_vec();
        publish[1] = 0x02; // publish
        publish[2] = 0x03;
        let mut st = HartIpState::new();
        let mut out = Vec::new();
        for _ in 0..10 {
            st.datagram(false, &publish, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(st.publishes(), 10);
        let op = out[0].op().unwrap();
        assert_eq!(op.class, OpClass::Report);
        assert!(op.response_only);
        st.datagram(true, CMD0_REQ, &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].kind, "request");
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let (r20, p20) = cmd20_pair();
        let ts: Vec<u8> = [INIT_REQ, CMD0_REQ, &r20, DIRECT_REQ].concat();
        let tc: Vec<u8> = [INIT_RESP, CMD0_RESP, &p20, DIRECT_RESP].concat();
        let whole = tcp_run(&[(true, &ts), (false, &tc)]);
        assert_eq!(whole.len(), 4);
        for cut in 0..=ts.len() {
            let got = tcp_run(&[(true, &ts[..cut]), (true, &ts[cut..]), (false, &tc)]);
            assert_eq!(got, whole, "cut {cut}");
        }
        for cut in 0..=tc.len() {
            let got = tcp_run(&[(true, &ts), (false, &tc[..cut]), (false, &tc[cut..])]);
            assert_eq!(got, whole, "cut {cut}");
        }
    }

    #[test]
    fn bounded_memory() {
        let mut st = HartIpState::new();
        let mut out = Vec::new();
        // Declared length 65535 (above the bound): skipped, never buffered.
        st.input(true, &[1, 0, 3, 0, 0, 1, 0xff, 0xff], &mut out);
        for _ in 0..10_000 {
            st.input(true, &[0x55; 997], &mut out);
            assert!(st.buffered() <= parser::MAX_MESSAGE);
        }
        // Garbage that keeps looking like a header start.
        let mut st = HartIpState::new();
        for _ in 0..10_000 {
            st.input(false, &[1, 0, 9, 0, 0, 0, 0x1f, 0xff, 0x01], &mut out);
            assert!(st.buffered() <= parser::MAX_MESSAGE);
        }
        // Unanswered requests.
        let mut st = HartIpState::new();
        for _ in 0..1000 {
            st.input(true, CMD0_REQ, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        let (r20, p20) = cmd20_pair();
        let seeds: Vec<Vec<u8>> = vec![
            INIT_REQ.to_vec(),
            INIT_RESP.to_vec(),
            CMD0_REQ.to_vec(),
            CMD0_RESP.to_vec(),
            r20,
            p20,
            DIRECT_REQ.to_vec(),
            DIRECT_RESP.to_vec(),
        ];
        let mut out = Vec::new();
        for i in 0..100_000u32 {
            let len = (rng.next() % 64) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i.is_multiple_of(2) && buf.len() >= 8 {
                buf[0] = 1;
                buf[1] = (rng.next() % 4) as u8;
                buf[2] = (rng.next() % 6) as u8;
                buf[6] = 0;
                buf[7] = buf.len() as u8;
            }
            let _ = probe(&buf, true);
            let _ = probe_datagram(&buf, 5094, 1);
            let mut st = HartIpState::new();
            st.input(true, &buf, &mut out);
            st.datagram(false, &buf, &mut out);
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
            let _ = probe(&buf, false);
            let _ = probe_datagram(&buf, 1, 5094);
            let mut st = HartIpState::new();
            st.input(true, &buf, &mut out);
            st.input(false, &buf, &mut out);
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
