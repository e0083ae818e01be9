//! Omron FINS decoder (recognition level), over UDP 9600 and FINS/TCP 9600.
//!
//! # Spec notes
//!
//! * References: Omron "FINS Commands Reference Manual" W227 (CV/C200)
//!   and W342 (CS/CJ series, section 5), FINS/TCP in W421 §7.
//! * FINS frame: 10-byte header `ICF RSV GCT DNA DA1 DA2 SNA SA1 SA2
//!   SID`, then `MRC SRC` (command code), then parameters. A response has
//!   ICF bit 6 set and carries `MRES SRES` (end code) before its data.
//!   ICF bit 7 = gateway, bit 0 = response *not* required; bits 5..1 and
//!   RSV are 0 (checked). MRES bit 7 is the relay-error flag, SRES bits
//!   7/6 the PLC fatal / non-fatal error flags: they are masked off
//!   before deciding success ([`parser::end_code_value`]).
//! * FINS/TCP: `"FINS"`, length (u32, bytes after this field), command
//!   (u32: 0 node address data send client→server, 1 server→client, 2
//!   FINS frame send, 3 frame send error notification, 6 connection
//!   confirmation), error code (u32), data. Framed with [`StreamBuf`],
//!   frames above 8 KiB are skipped; after a gap the framer hunts for the
//!   next `"FINS"` with a known command.
//! * UDP: one bare FINS frame per datagram. Probed only on port 9600
//!   (either side) with a clean header.
//! * Decoded parameters: memory area read/write/fill/multiple read/
//!   transfer (area code, word address, bit, count, written values — 1
//!   byte per bit-area item, 2 per word, 4 for forced-status words,
//!   first 64), parameter area (area code, word, count), program area
//!   (program number, word, bytes), run mode, controller data selector,
//!   file name/disk for file commands, forced set/reset (count, first
//!   spec and address). Controller data read (0501) responses give the
//!   controller model and version (20-byte ASCII fields) → `id_model` /
//!   `id_version` (and `id_vendor` = `OMRON`).
//! * Pairing: commands wait (at most 64) for a response with the same SID
//!   and command code; if none matches, the oldest command with the same
//!   code is taken (some stacks do not echo the SID). Commands with
//!   "response not required" are logged at once. Unanswered commands are
//!   flushed by [`FinsState::finish`] or when the bound is hit. The
//!   FINS/TCP node address handshake (0/1) is one `Session` transaction.
//!
//! # `Op::function` vocabulary
//!
//! `memory_area_read` (Read), `memory_area_write`, `memory_area_fill`,
//! `memory_area_transfer` (Write), `multiple_memory_area_read` (Read),
//! `parameter_area_read` (Upload), `parameter_area_write`,
//! `parameter_area_clear` (Download), `data_link_table_read` (Read),
//! `data_link_table_write` (Write), `program_area_protect`,
//! `program_area_protect_clear` (Security), `program_area_read` (Upload),
//! `program_area_write`, `program_area_clear` (Download),
//! `cv_program_area_protect`, `cv_program_area_protect_clear` (Security),
//! `cv_program_area_read` (Upload), `run`, `stop` (ModeChange), `reset`
//! (Restart), `controller_data_read`, `connection_data_read`
//! (Discovery), `controller_status_read`, `network_status_read`,
//! `data_link_status_read`, `cycle_time_read`, `clock_read`,
//! `clock_write`, `loopback_test`, `broadcast_test_results_read`,
//! `broadcast_test_data_send`, `message_read`, `error_clear`,
//! `error_log_read`, `error_log_clear` (Diagnostic),
//! `access_right_acquire`, `access_right_forced_acquire`,
//! `access_right_release` (Security), the file memory commands 22xx
//! (`file_name_read`, `single_file_read`, `single_file_write`,
//! `memory_card_format`, `file_delete`, `volume_label_create_delete`,
//! `file_copy`, `file_name_change`, `file_data_check`,
//! `memory_area_file_transfer`, `parameter_area_file_transfer`,
//! `program_area_file_transfer`, `file_memory_index_read`,
//! `file_memory_read`, `file_memory_write`, `create_delete_directory`:
//! File), `forced_set_reset`, `forced_set_reset_cancel` (Command),
//! `multiple_forced_status_read`, `name_read` (Read), `name_set`,
//! `name_delete` (Write), `unknown` (Other); FINS/TCP:
//! `node_address_data_send`, `frame_send_error_notification` (Session).
//! `code` = MRC<<8|SRC (FINS/TCP: envelope command), `unit` = DA1 of the
//! command (SA1 of a lone response), `address` = word address (or
//! beginning word), `quantity` = item count, `object` = memory area name
//! (`DM`, `CIO`, `HR`, ... or `area_0xNN`) or file name, `status` = end
//! code when not normal completion. Attrs: `sid`, `dna`, `da2`, `area`,
//! `parameter_area`, `program_no`, `run_mode`, `file_name`, `id_model`,
//! `id_version`, `id_vendor`, `client_node`, `server_node`.
//!
//! # EVE shape (`fins`)
//!
//! ```json
//! {"type":"transaction","command":"memory_area_read","command_code":257,
//!  "icf_gateway":true,"response_required":true,"gateway_count":2,
//!  "destination_network_address":0,"destination_node_number":1,
//!  "destination_unit_address":0,"source_network_address":0,
//!  "source_node_number":10,"source_unit_address":0,"service_id":5,
//!  "memory_area_code":130,"memory_area":"DM","beginning_address":100,
//!  "beginning_bit":0,"number_of_items":4,"response_code":0}
//! ```
//! Handshake: `{"type":"transaction","tcp_command":"node_address_data_send",
//! "client_node":0,"server_node":200}`.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{command_info, FinsEvent};
pub use parser::{parse_fins, parse_tcp_header, FinsError, FinsFrame, FinsHeader};
pub use state::FinsState;

use crate::proto::common::Probe;

/// FINS well-known port (UDP and TCP).
pub const PORT: u16 = 9600;

/// Probe the first bytes of a TCP direction: the FINS/TCP magic and a
/// known envelope command.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    let n = data.len().min(4);
    if data[..n] != parser::TCP_MAGIC[..n] {
        return Probe::No;
    }
    if data.len() < parser::TCP_HEADER_LEN {
        return Probe::NeedMore;
    }
    match parse_tcp_header(data) {
        Ok(h) if matches!(h.command, 0..=3 | 6) && h.frame_len() <= parser::MAX_TCP_FRAME => {
            Probe::Yes
        }
        _ => Probe::No,
    }
}

/// Probe a UDP datagram: port 9600 on one side and a clean FINS header
/// with a known command class (MRC).
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> bool {
    if sport != PORT && dport != PORT {
        return false;
    }
    match parse_fins(payload) {
        Ok(f) => {
            let mrc = (f.command >> 8) as u8;
            matches!(mrc, 0x01..=0x09 | 0x0c | 0x21..=0x23 | 0x26 | 0x28)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FINS/TCP: Memory area read of DM100, 4 words, node 1 from node 10,
    /// SID 5.
    fn mem_read_cmd() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"FINS"); // magic
        v.extend_from_slice(&26u32.to_be_bytes()); // length: 8 + 18
        v.extend_from_slice(&2u32.to_be_bytes()); // command 2: FINS frame
        v.extend_from_slice(&0u32.to_be_bytes()); // error code
        v.extend_from_slice(&[
            0x80, // ICF: gateway, command, response required
            0x00, // RSV
            0x02, // GCT
            0x00, 0x01, 0x00, // DNA DA1 DA2
            0x00, 0x0a, 0x00, // SNA SA1 SA2
            0x05, // SID
            0x01, 0x01, // MRC SRC: memory area read
            0x82, // area: DM word
            0x00, 0x64, 0x00, // address 100, bit 0
            0x00, 0x04, // 4 items
        ]);
        v
    }

    fn mem_read_resp() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"FINS");
        v.extend_from_slice(&30u32.to_be_bytes()); // 8 + 22
        v.extend_from_slice(&2u32.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&[
            0xc0, // ICF: gateway, response
            0x00, 0x02, // RSV GCT
            0x00, 0x0a, 0x00, // DNA DA1 DA2 (back to the client)
            0x00, 0x01, 0x00, // SNA SA1 SA2
            0x05, // SID
            0x01, 0x01, // command echoed
            0x00, 0x00, // end code: normal completion
            0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, // 4 words
        ]);
        v
    }

    /// Node address handshake (client→server, server→client).
    fn handshake() -> (Vec<u8>, Vec<u8>) {
        let mut a = b"FINS".to_vec();
        a.extend_from_slice(&12u32.to_be_bytes()); // length
        a.extend_from_slice(&0u32.to_be_bytes()); // command 0
        a.extend_from_slice(&0u32.to_be_bytes()); // error
        a.extend_from_slice(&0u32.to_be_bytes()); // client node 0: auto
        let mut b = b"FINS".to_vec();
        b.extend_from_slice(&16u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes()); // command 1
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&0xfbu32.to_be_bytes()); // client node 251
        b.extend_from_slice(&0xc8u32.to_be_bytes()); // server node 200
        (a, b)
    }

    /// UDP 0501 controller data read + response with model and version.
    fn cdr_pair() -> (Vec<u8>, Vec<u8>) {
        let req = vec![
            0x80, 0x00, 0x02, // ICF RSV GCT
            0x00, 0x63, 0x00, // DNA DA1=99 DA2
            0x00, 0xef, 0x00, // SNA SA1 SA2
            0x12, // SID
            0x05, 0x01, // controller data read
            0x00, // selector: model/version/area data
        ];
        let mut resp = vec![
            0xc0, 0x00, 0x02, 0x00, 0xef, 0x00, 0x00, 0x63, 0x00, 0x12, // header
            0x05, 0x01, // command
            0x00, 0x00, // end code
        ];
        let mut model = b"CJ2M-CPU31".to_vec();
        model.resize(20, b' ');
        let mut ver = b"02.01".to_vec();
        ver.resize(20, 0);
        resp.extend(model);
        resp.extend(ver);
        resp.extend([0u8; 52]); // system use + area data
        (req, resp)
    }

    fn run(chunks: &[(bool, &[u8])]) -> Vec<String> {
        let mut st = FinsState::new();
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
    fn memory_area_read_transaction() {
        let (req, resp) = (mem_read_cmd(), mem_read_resp());
        assert_eq!(probe(&req, true), Probe::Yes);
        assert_eq!(probe(&req[..3], true), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1", true), Probe::No);
        let mut st = FinsState::new();
        let mut out = Vec::new();
        st.input(true, &req, &mut out);
        assert!(out.is_empty());
        st.input(false, &resp, &mut out);
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(e.kind, "transaction");
        assert_eq!(e.memory_area, Some("DM"));
        assert_eq!(e.beginning_address, Some(100));
        assert_eq!(e.number_of_items, Some(4));
        let op = e.op().unwrap();
        assert_eq!(op.function, "memory_area_read");
        assert_eq!(op.code, 0x0101);
        assert_eq!(op.class, rules::ot::OpClass::Read);
        assert_eq!(op.unit, Some(1));
        assert_eq!(op.address, Some(100));
        assert_eq!(op.quantity, Some(4));
        assert_eq!(op.object.as_deref(), Some("DM"));
        assert_eq!(op.status, None);
    }

    #[test]
    fn write_run_stop_and_errors() {
        // Memory area write of 2 words to HR10 (SID 7) answered with end
        // code 0x2108 (program area protected) and PLC error flag.
        let write = [
            0x80, 0, 2, 0, 1, 0, 0, 10, 0, 7, // header
            0x01, 0x02, // memory area write
            0xb2, 0x00, 0x0a, 0x00, // HR, 10, bit 0
            0x00, 0x02, // 2 items
            0x12, 0x34, 0xab, 0xcd, // values
        ];
        let resp = [
            0xc0, 0, 2, 0, 10, 0, 0, 1, 0, 7, 0x01, 0x02, 0x21,
            0x48, // end code 0x2108 | 0x40 flag
        ];
        let mut st = FinsState::new();
        let mut out = Vec::new();
        assert!(probe_datagram(&write, 50000, 9600));
        assert!(!probe_datagram(&write, 50000, 9601));
        st.datagram(true, &write, &mut out);
        st.datagram(false, &resp, &mut out);
        let op = out[0].op().unwrap();
        assert_eq!(op.function, "memory_area_write");
        assert_eq!(op.values, vec![4660.0, 43981.0]);
        assert_eq!(op.status, Some(0x2108));
        assert_eq!(op.object.as_deref(), Some("HR"));
        // Run (monitor mode) and stop.
        let run_cmd = [
            0x80, 0, 2, 0, 1, 0, 0, 10, 0, 8, 0x04, 0x01, 0xff, 0xff, 0x02,
        ];
        let stop_cmd = [0x80, 0, 2, 0, 1, 0, 0, 10, 0, 9, 0x04, 0x02, 0xff, 0xff];
        st.datagram(true, &run_cmd, &mut out);
        st.datagram(true, &stop_cmd, &mut out);
        st.finish(&mut out);
        assert_eq!(out.len(), 3);
        let r = out[1].op().unwrap();
        assert_eq!(
            (r.function, r.class),
            ("run", rules::ot::OpClass::ModeChange)
        );
        assert_eq!(r.attr("run_mode"), Some(&rules::ot::Attr::Int(2)));
        assert_eq!(out[2].op().unwrap().function, "stop");
        assert_eq!(out[2].kind, "request");
    }

    #[test]
    fn controller_data_read_identity() {
        let (req, resp) = cdr_pair();
        let mut st = FinsState::new();
        let mut out = Vec::new();
        st.datagram(true, &req, &mut out);
        st.datagram(false, &resp, &mut out);
        let op = out[0].op().unwrap();
        assert_eq!(op.class, rules::ot::OpClass::Discovery);
        assert_eq!(op.unit, Some(99));
        assert_eq!(
            op.attr("id_model"),
            Some(&rules::ot::Attr::Str("CJ2M-CPU31".into()))
        );
        assert_eq!(
            op.attr("id_version"),
            Some(&rules::ot::Attr::Str("02.01".into()))
        );
        // Response alone: still recognised, unit = responding node.
        let mut st = FinsState::new();
        let mut out = Vec::new();
        st.datagram(false, &resp, &mut out);
        let op = out[0].op().unwrap();
        assert!(op.response_only);
        assert_eq!(op.unit, Some(0x63));
        assert!(op.attr("id_model").is_some());
    }

    #[test]
    fn handshake_is_one_session_transaction() {
        let (a, b) = handshake();
        let mut st = FinsState::new();
        let mut out = Vec::new();
        st.input(true, &a, &mut out);
        st.input(false, &b, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].server_node, Some(200));
        let op = out[0].op().unwrap();
        assert_eq!(op.function, "node_address_data_send");
        assert_eq!(op.class, rules::ot::OpClass::Session);
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let (a, b) = handshake();
        let mut ts = a.clone();
        ts.extend(mem_read_cmd());
        let tc_all = {
            let mut v = b.clone();
            v.extend(mem_read_resp());
            v
        };
        let whole = run(&[(true, &ts), (false, &tc_all)]);
        assert_eq!(whole.len(), 2);
        for cut in 0..=ts.len() {
            let got = run(&[(true, &ts[..cut]), (true, &ts[cut..]), (false, &tc_all)]);
            assert_eq!(got, whole, "cut {cut}");
        }
        for cut in 0..=tc_all.len() {
            let got = run(&[
                (true, &ts),
                (false, &tc_all[..cut]),
                (false, &tc_all[cut..]),
            ]);
            assert_eq!(got, whole, "cut {cut}");
        }
    }

    #[test]
    fn bounded_memory() {
        let mut st = FinsState::new();
        let mut out = Vec::new();
        // Huge declared length.
        let mut h = b"FINS".to_vec();
        h.extend_from_slice(&0x7fff_fff0u32.to_be_bytes());
        h.extend_from_slice(&2u32.to_be_bytes());
        h.extend_from_slice(&0u32.to_be_bytes());
        st.input(true, &h, &mut out);
        for _ in 0..10_000 {
            st.input(true, &[0x41; 1000], &mut out);
            assert!(st.buffered() <= parser::MAX_TCP_FRAME);
        }
        // Endless garbage.
        let mut st = FinsState::new();
        for _ in 0..10_000 {
            st.input(false, &[b'F', b'I', b'N', 0x00, 0x13], &mut out);
            assert!(st.buffered() <= parser::MAX_TCP_FRAME);
        }
        // Commands never answered: pending stays bounded.
        let mut st = FinsState::new();
        let cmd = mem_read_cmd();
        for _ in 0..1000 {
            st.input(true, &cmd, &mut out);
            assert!(st.pending() <= state::MAX_PENDING);
        }
        assert!(out.len() >= 1000 - state::MAX_PENDING);
    }

    #[test]
    fn gap_resynchronises() {
        let mut st = FinsState::new();
        let mut out = Vec::new();
        let cmd = mem_read_cmd();
        st.input(true, &cmd[..20], &mut out);
        st.gap(true);
        st.input(true, &cmd[25..], &mut out);
        st.input(true, &cmd, &mut out);
        st.input(false, &mem_read_resp(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "transaction");
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let (h1, h2) = handshake();
        let (c1, c2) = cdr_pair();
        let seeds: Vec<Vec<u8>> = vec![mem_read_cmd(), mem_read_resp(), h1, h2, c1, c2];
        let mut out = Vec::new();
        for i in 0..100_000u32 {
            let len = (rng.next() % 64) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i.is_multiple_of(2) && buf.len() >= 4 {
                buf[..4].copy_from_slice(b"FINS");
            }
            let _ = probe(&buf, true);
            let _ = probe_datagram(&buf, 9600, 1);
            let mut st = FinsState::new();
            st.input(i.is_multiple_of(3), &buf, &mut out);
            st.datagram(true, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
            }
        }
        for i in 0..100_000usize {
            let mut buf = seeds[i % seeds.len()].clone();
            let flips = 1 + rng.next() % 4;
            for _ in 0..flips {
                let p = (rng.next() as usize) % buf.len();
                buf[p] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % buf.len();
                buf.truncate(cut);
            }
            let _ = probe(&buf, false);
            let mut st = FinsState::new();
            st.input(true, &buf, &mut out);
            st.input(false, &buf, &mut out);
            if buf.len() > 16 {
                st.datagram(true, &buf[16..], &mut out);
            }
            st.datagram(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
        }
    }
}
