//! S7comm (Siemens S7 communication, protocol id 0x32) over COTP/TPKT,
//! TCP port 102. Input is one COTP TSDU at a time (see
//! [`crate::proto::cotp`]; dispatch with `cotp::classify_tsdu`).
//!
//! # Spec notes
//!
//! No public standard; the layout below is the one documented by the
//! Wireshark `s7comm` dissector and Zeek ICSNPP-S7COMM (field names and
//! meanings), checked against the test captures.
//!
//! * Header: `protocol_id(1)=0x32 rosctr(1) redundancy_id(2)
//!   pdu_reference(2) param_len(2) data_len(2)`, plus `error_class(1)
//!   error_code(1)` for ROSCTR 2 (Ack) and 3 (Ack_Data). ROSCTR 1 = Job,
//!   7 = Userdata. The parameter and data parts must fit the TSDU.
//! * Job / Ack_Data parameter: `function(1)` then
//!   - `0xF0` setup communication: `reserved(1) max_amq_calling(2)
//!     max_amq_called(2) pdu_length(2)`;
//!   - `0x04` read var / `0x05` write var: `item_count(1)` and items
//!     `0x12 len(1) syntax_id(1) ...`; S7ANY (`0x10`): `transport_size(1)
//!     length(2) db(2) area(1) address(3)` with address = byte << 3 | bit
//!     (the number for C/T areas). Data items: `return_code(1)
//!     transport_size(1) length(2) data` + a fill byte after odd-length
//!     items except the last; the length is in bits for data transport
//!     sizes 3 (BIT), 4 (BYTE/WORD/DWORD) and 5 (INTEGER); an item whose
//!     return code is an error carries no data whatever its length says
//!     (snap7 sends `0a 00 00 04`). The write var ack carries one return
//!     code byte per item (0xFF success). DBREAD items (syntax `0xB0`,
//!     S7-400: `count(1)` × `length(1) db(2) start(2)`) are expanded into
//!     one logged item per DB range.
//!   - `0x1A` request download, `0x1B` download block, `0x1C` download
//!     ended, `0x1D` start upload, `0x1E` upload, `0x1F` end upload: block
//!     control `status(1) unknown(2) upload_id(4) name_len(1) name`, the
//!     file name `_` + block type (2 hex chars: `08` OB, `0A` DB, `0B`
//!     SDB, `0C` FC, `0D` SFC, `0E` FB, `0F` SFB) + number (5 digits) +
//!     file system (`P`/`A`/`B`). The start-upload ack carries the upload
//!     id and the block length as ASCII. During a download the PLC sends
//!     the 0x1B/0x1C jobs to the programming device (`server_initiated`).
//!   - `0x28` PI service: `unknown(7) block_len(2) block name_len(1) name`;
//!     `_INSE`/`_DELE` blocks: `count(1) unknown(1)` + 8-char block names.
//!   - `0x29` PLC stop: `unknown(5) len(1) name` (`P_PROGRAM`).
//! * Userdata parameter: `00 01 12 len(1) method(1) type<<4|group(1)
//!   subfunction(1) seq(1)` + `data_unit_ref(1) last_data_unit(1)
//!   error(2)` in responses; type 4 request, 8 response, 0 push. Data:
//!   `return_code(1) transport_size(1) length(2) payload`. Decoded:
//!   read SZL (`szl_id(2) szl_index(2)`; response adds `entry_len(2)
//!   count(2)` + records), block functions (list blocks of type: 2-char
//!   type; block info: `0B00001A`), time functions (10 bytes: reserved,
//!   century, then the BCD timestamp `yy mm dd hh mi ss ms ms|weekday`),
//!   cyclic services subscriptions (subfunctions 1, 5, 7: `item_count(2)
//!   timebase(1) factor(1)` + variable specifications; responses
//!   `item_count(2)` + data items). A request with the long (8-byte)
//!   parameter asks for the next part of a response that did not fit one
//!   PDU; it and its response are logged with `continuation` and their
//!   data is not decoded (Wireshark reassembles such fragments; we log
//!   the first part's header fields, e.g. the SZL id, on the first
//!   transaction). Not decoded: alarm/notify payloads, block info
//!   responses, programmer-command (force/modify) payloads, the
//!   password (never logged).
//! * Identity: SZL 0x0011/0x0111 records (28 bytes: index, order number
//!   (20), type, version) give the order number (index 1 or 6) and the
//!   firmware version (index 7, `'V' major minor patch` → `V3.2.6`); SZL
//!   0x001c/0x011c records (34 bytes: index, 32-byte text) give the PLC
//!   name (1), module name (2), plant (3), copyright (4), serial (5) and
//!   module type name (7).
//!
//! # Pairing and bounds
//!
//! A job is paired with the next Ack/Ack_Data in the other direction with
//! the same PDU reference (and function, when the ack has one); a userdata
//! request with the response of the same PDU reference, group and
//! subfunction. One event per transaction when the response arrives;
//! request-only events at [`S7State::finish`] or when more than
//! [`MAX_PENDING`] (64) requests wait; response-only events for lone
//! responses and for pushes (`response_only`; cyclic-data pushes do not
//! repeat the item list). Items, written values are capped at
//! [`MAX_ITEMS`] (64) with `truncated`; strings come from length-prefixed
//! (≤ 255 bytes) or fixed-size fields (≤ 32 bytes).
//!
//! # Op vocabulary (`Op::function`, `Op::code`, `Op::class`)
//!
//! Jobs (`code` = function byte): `setup_communication` 0xF0 session,
//! `read_var` 0x04 read, `write_var` 0x05 write, `request_download` 0x1A,
//! `download_block` 0x1B, `download_ended` 0x1C download,
//! `start_upload` 0x1D, `upload` 0x1E, `end_upload` 0x1F upload,
//! `plc_stop` 0x29 mode_change, `cpu_services` 0x00 other; PI service
//! 0x28 by name: `plc_start` (`P_PROGRAM`, mode_change), `insert_block`
//! (`_INSE`/`_INS2`, download: activates a downloaded block),
//! `delete_block` (`_DELE`, download: program change), `copy_ram_to_rom`
//! (`_MODU`, download: persists the program), `compress_memory`
//! (`_GARB`, other), `nc_pi_service` (`_N_*`, other), `pi_service`
//! (other). A lone Ack without parameters is `unknown`.
//!
//! Userdata (`code` = 0x07_GG_SS: group GG, subfunction SS):
//! `mode_transition` (group 0 push, report, attr `mode`); programmer
//! commands (group 1): `block_status`, `variable_status` (read),
//! `output_istack`, `output_bstack`, `output_lstack`, `time_measurement`,
//! `force_selection` (read), `modify_variable` (write), `force` (write),
//! `breakpoint`, `exit_hold` (mode_change), `memory_reset` (restart),
//! `disable_job`, `enable_job`, `delete_job`, `read_job_list`,
//! `read_job`, `replace_job`, `block_status_v2`, `flash_led` (others
//! diagnostic); cyclic (group 2, read): `cyclic_transfer`,
//! `cyclic_unsubscribe`, `change_driven_transfer`,
//! `change_driven_transfer_modify`, `read_record`; block functions
//! (group 3, discovery): `list_blocks`, `list_blocks_of_type`,
//! `get_block_info`; CPU functions (group 4): `read_szl` (discovery),
//! `message_service` (session), `diagnostic_message`, `*_indication`
//! (report), `alarm_query` (read), `alarm_ack`, `alarm8_lock`,
//! `alarm8_unlock` (other); `plc_password` (group 5, security);
//! `bsend_brecv` (group 6, other); time functions (group 7): `read_clock`,
//! `read_clock_following`, `set_clock` — all **diagnostic**, following
//! `OpClass::Diagnostic`'s "time synchronisation" (rules that care about
//! clock changes match `function == "set_clock"`; the new time is attr
//! `clock`); NC programming (group 15): `nc_request_download`,
//! `nc_download_block`, `nc_continue_download`, `nc_download_ended`
//! (download), `nc_start_upload`, `nc_upload`, `nc_continue_upload`
//! (upload). Pushes are always class report.
//!
//! `Op` fields: `address` = first item's byte address (counter/timer
//! number; block number for block operations; SZL id for read SZL),
//! `quantity` = first item's length, `object` = first item's area with DB
//! number (`DB3`, `M`, `I`) or the block (`OB1`, `DB1`, `SDB7`) or
//! `SZL 0x0011`, `values` = written values, `status` = the 16-bit error
//! (class << 8 | code) when non-zero, else the first failing item return
//! code. Attrs: `item_count`, `transport_size`, `db_number`,
//! `bit_address`, `interval_factor`, `pi_service`, `pi_argument`,
//! `filename`, `szl_id`,
//! `szl_index`, `clock`, `mode`, `pdu_length`, `function_group`,
//! `subfunction`, `server_initiated`, and identity from SZL responses:
//! `id_vendor` (`Siemens` when the copyright entry says so), `id_model`
//! (order number), `id_version` (firmware), `id_serial`, `id_name` (PLC
//! name), `id_product` (module type name).
//!
//! # EVE (`s7comm`)
//!
//! ```json
//! {"pdu_reference":2560,"rosctr_code":1,"rosctr_name":"Job-Request",
//!  "function_code":4,"function_name":"Read Variable","error_class":0,
//!  "error_code":0,"item_count":1,"items":[{"area":"DB","db_number":1,
//!  "byte_address":0,"transport_size":"BYTE","length":4,"return_code":255}]}
//! {"pdu_reference":512,"rosctr_code":7,"rosctr_name":"User-Data",
//!  "function_code":4,"function_name":"CPU Functions","subfunction_code":1,
//!  "subfunction_name":"Read SZL","error_class":0,"error_code":0,
//!  "return_code":255,"szl_id":28,"szl_index":0,
//!  "automation_system_name":"SNAP7-SERVER","module_name":"CPU 315-2 PN/DP",
//!  "copyright":"Original Siemens Equipment","module_serial":"S C-C2UR28922012",
//!  "module_type_name":"CPU 315-2 PN/DP"}
//! ```
//! See [`event`] for every field.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{S7Event, S7Item, MAX_ITEMS};
pub use parser::{parse_pdu, Header, Pdu, S7Error, PROTOCOL_ID};
pub use state::{S7State, S7Stats, MAX_PENDING};

/// Does a TSDU look like S7comm (protocol id, ROSCTR and lengths)?
pub fn probe_tsdu(tsdu: &[u8]) -> bool {
    parse_pdu(tsdu).is_ok()
}

#[cfg(test)]
mod tests {
    use super::parser::tests::{SETUP_ACK, SETUP_JOB, WRITE_BIT_ACK, WRITE_BIT_JOB};
    use super::*;
    use crate::proto::cotp::{CotpEvent, CotpState};
    use rules::ot::{Attr, OpClass};

    fn run(pdus: &[(bool, &[u8])]) -> Vec<S7Event> {
        let mut st = S7State::new();
        let mut out = Vec::new();
        for (d, p) in pdus {
            st.input_tsdu(*d, p, &mut out);
        }
        st.finish(&mut out);
        out
    }

    fn json(ev: &[S7Event]) -> Vec<String> {
        ev.iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect()
    }

    /// Read var job with 2 items (wincc_s300 frame 15, first two of 7):
    /// DB1.DBX0.0 BYTE[1] and DB1 REAL[1] at byte 0.
    const READ_JOB: &[u8] = &[
        0x32, 0x01, 0x00, 0x00, 0x00, 0x01, // job, PDU ref 1
        0x00, 0x1a, 0x00, 0x00, // param 26, data 0
        0x04, 0x02, // read var, 2 items
        0x12, 0x0a, 0x10, // item 1: var spec, len 10, S7ANY
        0x02, 0x00, 0x01, // BYTE, length 1
        0x00, 0x01, 0x84, // DB 1, area DB
        0x00, 0x00, 0x00, // byte 0 bit 0
        0x12, 0x0a, 0x10, // item 2
        0x08, 0x00, 0x01, // REAL, length 1
        0x00, 0x01, 0x84, // DB 1
        0x00, 0x00, 0x20, // byte 4 bit 0
    ];

    /// Its ack_data: item 1 OK (1 byte + fill), item 2 "object does not
    /// exist" (return code and transport size only... then length 0).
    const READ_ACK: &[u8] = &[
        0x32, 0x03, 0x00, 0x00, 0x00, 0x01, // ack_data, PDU ref 1
        0x00, 0x02, 0x00, 0x0a, // param 2, data 10
        0x00, 0x00, // no error
        0x04, 0x02, // read var, 2 items
        0xff, 0x04, 0x00, 0x08, 0x2a, 0x00, // item 1: ok, BYTE, 8 bits, 0x2a, fill
        0x0a, 0x00, 0x00, 0x00, // item 2: object does not exist
    ];

    #[test]
    fn setup_and_read_write() {
        let out = run(&[
            (true, SETUP_JOB),
            (false, SETUP_ACK),
            (true, READ_JOB),
            (false, READ_ACK),
            (true, WRITE_BIT_JOB),
            (false, WRITE_BIT_ACK),
        ]);
        let j = json(&out);
        assert_eq!(
            j[0],
            r#"{"pdu_reference":512,"rosctr_code":1,"rosctr_name":"Job-Request","function_code":240,"function_name":"Setup Communication","error_class":0,"error_code":0,"max_amq_calling":1,"max_amq_called":1,"pdu_length":240}"#
        );
        assert_eq!(
            j[1],
            r#"{"pdu_reference":1,"rosctr_code":1,"rosctr_name":"Job-Request","function_code":4,"function_name":"Read Variable","error_class":0,"error_code":0,"item_count":2,"items":[{"area":"DB","db_number":1,"byte_address":0,"transport_size":"BYTE","length":1,"return_code":255},{"area":"DB","db_number":1,"byte_address":4,"transport_size":"REAL","length":1,"return_code":10}]}"#
        );
        assert_eq!(
            j[2],
            r#"{"pdu_reference":1,"rosctr_code":1,"rosctr_name":"Job-Request","function_code":5,"function_name":"Write Variable","error_class":0,"error_code":0,"item_count":1,"items":[{"area":"M","byte_address":1,"bit_address":0,"transport_size":"BIT","length":1,"return_code":255}],"values":[0.0]}"#
        );
        assert_eq!(out.iter().map(|e| e.tx_id()).collect::<Vec<_>>(), [0, 1, 2]);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("setup_communication", 0xf0, OpClass::Session)
        );
        let op = out[1].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.status),
            ("read_var", OpClass::Read, Some(10))
        );
        assert_eq!(
            (op.address, op.quantity, op.object.as_deref()),
            (Some(0), Some(1), Some("DB1"))
        );
        let op = out[2].op().expect("op");
        assert_eq!((op.function, op.class), ("write_var", OpClass::Write));
        assert_eq!(
            (op.address, op.object.as_deref(), op.values.as_slice()),
            (Some(1), Some("M"), &[0.0][..])
        );
    }

    /// PLC stop job, its ack_data, the CPU diagnostic push and the
    /// mode-transition push (step7_s300_stop.pcapng frames 1-4).
    const STOP_JOB: &[u8] = &[
        0x32, 0x01, 0x00, 0x00, 0x35, 0x00, // job, PDU ref 13568
        0x00, 0x10, 0x00, 0x00, // param 16, data 0
        0x29, 0x00, 0x00, 0x00, 0x00, 0x00, // PLC stop, 5 unknown bytes
        0x09, b'P', b'_', b'P', b'R', b'O', b'G', b'R', b'A', b'M', // PI service
    ];
    const STOP_ACK: &[u8] = &[
        0x32, 0x03, 0x00, 0x00, 0x35, 0x00, 0x00, 0x01, 0x00, 0x00, // ack_data
        0x00, 0x00, // no error
        0x29, // PLC stop
    ];
    const DIAG_PUSH: &[u8] = &[
        0x32, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x18, // userdata
        0x00, 0x01, 0x12, 0x04, // param head, length 4
        0x11, 0x04, 0x03, 0x00, // method req, push|CPU functions, diag message, seq 0
        0xff, 0x09, 0x00, 0x14, // rc ok, octet string, length 20
        0x43, 0x04, 0xff, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // event 0x4304 ...
        0x94, 0x01, 0x09, 0x21, 0x53, 0x42, 0x15, 0x21, // timestamp 1994-01-09 21:53:42.152
    ];
    const MODE_PUSH: &[u8] = &[
        0x32, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, // userdata, no data
        0x00, 0x01, 0x00, 0x10, // param head 0x000100, length 16 (sic)
        0x10, 0x00, 0x00, 0x00, // method, push|mode-transition, mode STOP, seq 0
    ];

    #[test]
    fn plc_stop_and_pushes() {
        let out = run(&[
            (true, STOP_JOB),
            (false, STOP_ACK),
            (false, DIAG_PUSH),
            (false, MODE_PUSH),
        ]);
        assert_eq!(out.len(), 3);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("plc_stop", 0x29, OpClass::ModeChange)
        );
        assert_eq!(op.attr("pi_service"), Some(&Attr::Str("P_PROGRAM".into())));
        let op = out[1].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class, op.response_only),
            ("diagnostic_message", 0x070403, OpClass::Report, true)
        );
        let op = out[2].op().expect("op");
        assert_eq!(
            (op.function, op.class),
            ("mode_transition", OpClass::Report)
        );
        assert_eq!(op.attr("mode"), Some(&Attr::Str("STOP".into())));
        assert_eq!(
            json(&out[2..]),
            [
                r#"{"pdu_reference":0,"rosctr_code":7,"rosctr_name":"User-Data","response_only":true,"function_code":0,"function_name":"Mode-Transition","subfunction_code":0,"subfunction_name":"Mode Transition","current_mode":"STOP"}"#
            ]
        );
    }

    /// Request download of DB1 and the PI `_INSE` (step7_s300_download
    /// frames 87/88, 93/94), start upload refused with an Ack
    /// (s7ident.pcap frames 20/21).
    #[test]
    fn download_upload_pi() {
        let req_dl: &[u8] = &[
            0x32, 0x01, 0x00, 0x00, 0x83, 0x00, 0x00, 0x20, 0x00,
            0x00, // job, ref 33536, param 32
            0x1a, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x00, // request download, status, unknown
            0x09, b'_', b'0', b'A', b'0', b'0', b'0', b'0', b'1', b'P', // _0A00001P
            0x0d, b'1', b'0', b'0', b'0', b'2', b'1', b'6', b'0', b'0', b'0', b'0', b'8',
            b'8', // part 2
        ];
        let req_dl_ack: &[u8] = &[
            0x32, 0x03, 0x00, 0x00, 0x83, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x1a,
        ];
        let inse: &[u8] = &[
            0x32, 0x01, 0x00, 0x00, 0x84, 0x00, 0x00, 0x1a, 0x00,
            0x00, // job, ref 33792, param 26
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, // PI service, unknown
            0x00, 0x0a, 0x01, 0x00, b'0', b'A', b'0', b'0', b'0', b'0', b'1',
            b'P', // 1 block: DB1
            0x05, b'_', b'I', b'N', b'S', b'E', // _INSE
        ];
        let inse_ack: &[u8] = &[
            0x32, 0x03, 0x00, 0x00, 0x84, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x28,
        ];
        let start_upl: &[u8] = &[
            0x32, 0x01, 0x00, 0x00, 0x06, 0x00, 0x00, 0x12, 0x00,
            0x00, // job, ref 1536, param 18
            0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // start upload, id 0
            0x09, b'_', b'0', b'B', b'0', b'0', b'0', b'0', b'0', b'A', // _0B00000A (SDB0)
        ];
        let refused: &[u8] = &[
            0x32, 0x02, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, // ack, no param/data
            0xd2, 0x41, // error class 0xd2, code 0x41
        ];
        let out = run(&[
            (true, req_dl),
            (false, req_dl_ack),
            (true, inse),
            (false, inse_ack),
            (true, start_upl),
            (false, refused),
        ]);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.object.as_deref()),
            ("request_download", OpClass::Download, Some("DB1"))
        );
        assert_eq!(out[0].block_length, Some(216));
        let op = out[1].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class, op.object.as_deref()),
            ("insert_block", 0x28, OpClass::Download, Some("DB1"))
        );
        assert_eq!(
            json(&out[1..2]),
            [
                r#"{"pdu_reference":33792,"rosctr_code":1,"rosctr_name":"Job-Request","function_code":40,"function_name":"PLC Control","error_class":0,"error_code":0,"block_type":"DB","block_number":1,"destination_filesystem":"Passive","pi_service":"_INSE","block_count":1}"#
            ]
        );
        let op = out[2].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.status, op.object.as_deref()),
            ("start_upload", OpClass::Upload, Some(0xd241), Some("SDB0"))
        );
    }

    /// `_MODU("EP")` and a `P_PROGRAM` start through PI service.
    #[test]
    fn pi_arguments() {
        let modu: &[u8] = &[
            0x32, 0x01, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x12, 0x00, 0x00, // job, param 18
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, // PI service
            0x00, 0x02, b'E', b'P', // parameter block "EP"
            0x05, b'_', b'M', b'O', b'D', b'U',
        ];
        let start: &[u8] = &[
            0x32, 0x01, 0x00, 0x00, 0x91, 0x00, 0x00, 0x14, 0x00, 0x00, // job, param 20
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, // empty block
            0x09, b'P', b'_', b'P', b'R', b'O', b'G', b'R', b'A', b'M',
        ];
        let out = run(&[(true, modu), (true, start)]);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.object.as_deref()),
            ("copy_ram_to_rom", OpClass::Download, Some("EP"))
        );
        let op = out[1].op().expect("op");
        assert_eq!((op.function, op.class), ("plc_start", OpClass::ModeChange));
    }

    /// SZL 0x0011 and 0x001c reads reveal the module (s7ident.pcap).
    #[test]
    fn szl_identity() {
        let req = |r: u8, id: u16| -> Vec<u8> {
            let mut v = vec![
                0x32, 0x07, 0x00, 0x00, r, 0x00, 0x00, 0x08, 0x00, 0x08, // userdata
                0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01,
                0x00, // request, CPU functions, read SZL
                0xff, 0x09, 0x00, 0x04, // rc, octet string, length 4
            ];
            v.extend(id.to_be_bytes()); // SZL id
            v.extend([0, 0]); // SZL index
            v
        };
        let resp = |r: u8, id: u16, entry: usize, records: &[Vec<u8>]| -> Vec<u8> {
            let payload_len = 8 + entry * records.len();
            let data_len = 4 + payload_len;
            let mut v = vec![0x32, 0x07, 0x00, 0x00, r, 0x00, 0x00, 0x0c];
            v.extend((data_len as u16).to_be_bytes());
            v.extend([0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x00]); // response, read SZL
            v.extend([0x00, 0x00, 0x00, 0x00]); // dur, last unit, no error
            v.extend([0xff, 0x09]);
            v.extend((payload_len as u16).to_be_bytes());
            v.extend(id.to_be_bytes()); // SZL id
            v.extend([0, 0]); // index
            v.extend((entry as u16).to_be_bytes()); // entry length
            v.extend((records.len() as u16).to_be_bytes()); // count
            for r in records {
                v.extend(r);
            }
            v
        };
        // 0x0011 records: index(2) order number(20) BGTyp(2) Ausbg(2) Ausbe(2).
        let rec11 = |i: u16, mlfb: &[u8; 20], ausbg: [u8; 2], ausbe: [u8; 2]| -> Vec<u8> {
            let mut v = i.to_be_bytes().to_vec();
            v.extend(mlfb);
            v.extend([0x00, 0xc0]);
            v.extend(ausbg);
            v.extend(ausbe);
            v
        };
        // 0x001c records: index(2) text(32, NUL padded).
        let rec1c = |i: u16, t: &str| -> Vec<u8> {
            let mut v = i.to_be_bytes().to_vec();
            let mut f = [0u8; 32];
            f[..t.len()].copy_from_slice(t.as_bytes());
            v.extend(f);
            v
        };
        let r11 = resp(
            1,
            0x0011,
            28,
            &[
                rec11(1, b"6ES7 315-2EH14-0AB0 ", [0, 4], [0, 1]),
                rec11(7, b"                    ", [b'V', 3], [2, 6]),
            ],
        );
        let r1c = resp(
            2,
            0x001c,
            34,
            &[
                rec1c(1, "SNAP7-SERVER"),
                rec1c(2, "CPU 315-2 PN/DP"),
                rec1c(3, ""),
                rec1c(4, "Original Siemens Equipment"),
                rec1c(5, "S C-C2UR28922012"),
                rec1c(7, "CPU 315-2 PN/DP"),
            ],
        );
        let out = run(&[
            (true, &req(1, 0x11)),
            (false, &r11),
            (true, &req(2, 0x1c)),
            (false, &r1c),
        ]);
        assert_eq!(out.len(), 2);
        let op = out[0].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("read_szl", 0x070401, OpClass::Discovery)
        );
        assert_eq!(
            op.attr("id_model"),
            Some(&Attr::Str("6ES7 315-2EH14-0AB0".into()))
        );
        assert_eq!(op.attr("id_version"), Some(&Attr::Str("V3.2.6".into())));
        let op = out[1].op().expect("op");
        assert_eq!(
            op.attr("id_serial"),
            Some(&Attr::Str("S C-C2UR28922012".into()))
        );
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("SNAP7-SERVER".into())));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("Siemens".into())));
        assert_eq!(
            op.attr("id_product"),
            Some(&Attr::Str("CPU 315-2 PN/DP".into()))
        );
        assert_eq!(op.object.as_deref(), Some("SZL 0x001c"));
        assert_eq!(
            json(&out[1..]),
            [
                r#"{"pdu_reference":512,"rosctr_code":7,"rosctr_name":"User-Data","function_code":4,"function_name":"CPU Functions","subfunction_code":1,"subfunction_name":"Read SZL","error_class":0,"error_code":0,"return_code":255,"szl_id":28,"szl_index":0,"automation_system_name":"SNAP7-SERVER","module_name":"CPU 315-2 PN/DP","copyright":"Original Siemens Equipment","module_serial":"S C-C2UR28922012","module_type_name":"CPU 315-2 PN/DP"}"#
            ]
        );
    }

    /// Set clock, password, block info with error (plc_time, AuthPassword,
    /// blocklist captures).
    #[test]
    fn userdata_time_security_blocks() {
        let set_clock: &[u8] = &[
            0x32, 0x07, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x08, 0x00, 0x0e, // userdata
            0x00, 0x01, 0x12, 0x04, 0x11, 0x47, 0x02,
            0x00, // request, time functions, set clock
            0xff, 0x09, 0x00, 0x0a, // rc, octet string, 10 bytes
            0x00, 0x19, 0x14, 0x08, 0x20, 0x11, 0x59, 0x33, 0x04,
            0x00, // 2014-08-20 11:59:33.040
        ];
        let set_clock_resp: &[u8] = &[
            0x32, 0x07, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x0c, 0x00, 0x04, // userdata
            0x00, 0x01, 0x12, 0x08, 0x12, 0x87, 0x02, 0x01, 0x00, 0x00, 0x00,
            0x00, // response
            0x0a, 0x00, 0x00, 0x00, // no data
        ];
        let password: &[u8] = &[
            0x32, 0x07, 0x00, 0x00, 0x06, 0x00, 0x00, 0x08, 0x00, 0x0c, // userdata
            0x00, 0x01, 0x12, 0x04, 0x11, 0x45, 0x01, 0x00, // request, security, PLC password
            0xff, 0x09, 0x00, 0x08, 0x21, 0x3a, 0x1b, 0x1d, 0x6e, 0x68, 0x1b,
            0x1d, // obfuscated
        ];
        let block_info: &[u8] = &[
            0x32, 0x07, 0x00, 0x00, 0x04, 0x00, 0x00, 0x08, 0x00, 0x0c, // userdata
            0x00, 0x01, 0x12, 0x04, 0x11, 0x43, 0x03,
            0x00, // request, block functions, block info
            0xff, 0x09, 0x00, 0x08, b'0', b'B', b'3', b'2', b'7', b'6', b'8',
            b'B', // SDB32768
        ];
        let block_info_err: &[u8] = &[
            0x32, 0x07, 0x00, 0x00, 0x04, 0x00, 0x00, 0x0c, 0x00, 0x04, // userdata
            0x00, 0x01, 0x12, 0x08, 0x12, 0x83, 0x03, 0x00, 0x00, 0x00, 0xd2,
            0x09, // error 0xd209
            0x0a, 0x00, 0x00, 0x00,
        ];
        let out = run(&[
            (true, set_clock),
            (false, set_clock_resp),
            (true, password),
            (true, block_info),
            (false, block_info_err),
        ]);
        assert_eq!(out.len(), 3);
        let op = out[0].op().expect("op");
        assert_eq!((op.function, op.class), ("set_clock", OpClass::Diagnostic));
        assert_eq!(
            op.attr("clock"),
            Some(&Attr::Str("2014-08-20T11:59:33.040".into()))
        );
        let op = out[1].op().expect("op");
        assert_eq!(
            (op.function, op.class, op.status),
            ("get_block_info", OpClass::Discovery, Some(0xd209))
        );
        assert_eq!(op.object.as_deref(), Some("SDB32768"));
        // The unanswered password request comes out at finish().
        let op = out[2].op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("plc_password", 0x070501, OpClass::Security)
        );
    }

    #[test]
    fn pending_is_bounded_and_unmatched_responses_logged() {
        let mut st = S7State::new();
        let mut out = Vec::new();
        let mut job = READ_JOB.to_vec();
        for i in 0..1000u16 {
            job[4..6].copy_from_slice(&i.to_be_bytes());
            st.input_tsdu(true, &job, &mut out);
            assert!(st.pending() <= MAX_PENDING);
        }
        assert_eq!(out.len(), 1000 - MAX_PENDING);
        assert_eq!(st.stats.evicted, (1000 - MAX_PENDING) as u64);
        // An ack_data nobody asked for.
        let mut lone = READ_ACK.to_vec();
        lone[4..6].copy_from_slice(&[0xee, 0xee]);
        out.clear();
        st.input_tsdu(false, &lone, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].response_only);
        assert_eq!(out[0].rosctr_name, "ACK-Data");
        assert_eq!(out[0].op().map(|o| o.response_only), Some(true));
        st.finish(&mut out);
        assert_eq!(out.len(), 1 + MAX_PENDING);
        assert_eq!(st.pending(), 0);
    }

    fn tpkt(tsdu: &[u8]) -> Vec<u8> {
        let mut v = vec![3, 0];
        v.extend(((tsdu.len() + 7) as u16).to_be_bytes());
        v.extend([2, 0xf0, 0x80]);
        v.extend_from_slice(tsdu);
        v
    }

    /// Client and server byte streams through COTP into S7.
    fn through_cotp(client: &[&[u8]], server: &[&[u8]]) -> Vec<String> {
        let mut cotp = CotpState::new();
        let mut s7 = S7State::new();
        let mut out = Vec::new();
        for (d, chunks) in [(true, client), (false, server)] {
            for c in chunks {
                cotp.input_with(d, c, |e| {
                    if let CotpEvent::Data { to_server, tsdu } = e {
                        s7.input_tsdu(to_server, &tsdu, &mut out);
                    }
                });
            }
        }
        s7.finish(&mut out);
        json(&out)
    }

    #[test]
    fn split_at_every_byte() {
        let mut client = tpkt(SETUP_JOB);
        client.extend(tpkt(READ_JOB));
        client.extend(tpkt(WRITE_BIT_JOB));
        let mut server = tpkt(SETUP_ACK);
        server.extend(tpkt(READ_ACK));
        server.extend(tpkt(WRITE_BIT_ACK));
        let want = through_cotp(&[&client], &[&server]);
        assert_eq!(want.len(), 3);
        for cut in 0..=client.len() {
            let sc = cut % (server.len() + 1);
            let got = through_cotp(
                &[&client[..cut], &client[cut..]],
                &[&server[..sc], &server[sc..]],
            );
            assert_eq!(got, want, "cut {cut}/{sc}");
        }
        // Byte at a time.
        let cb: Vec<&[u8]> = client.chunks(1).collect();
        let sb: Vec<&[u8]> = server.chunks(1).collect();
        assert_eq!(through_cotp(&cb, &sb), want);
    }

    fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn random_and_mutated_inputs_never_panic() {
        let seeds: [&[u8]; 8] = [
            SETUP_JOB,
            SETUP_ACK,
            READ_JOB,
            READ_ACK,
            WRITE_BIT_JOB,
            STOP_JOB,
            DIAG_PUSH,
            MODE_PUSH,
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut st = S7State::new();
        let mut cotp = CotpState::new();
        let mut out = Vec::new();
        for i in 0..200_000u32 {
            let r = xorshift(&mut x);
            let mut buf: Vec<u8> = if i % 2 == 0 {
                // Random: protocol id 0x32 half of the time, random ROSCTR.
                let n = (r % 96) as usize;
                let mut b: Vec<u8> = (0..n).map(|_| xorshift(&mut x) as u8).collect();
                if r & 1 == 0 && n > 2 {
                    b[0] = 0x32;
                    b[1] = [1, 2, 3, 7][(r >> 8) as usize % 4];
                }
                b
            } else {
                let mut b = seeds[(r % 8) as usize].to_vec();
                for _ in 0..1 + (r >> 5) % 4 {
                    let p = xorshift(&mut x) as usize % b.len();
                    b[p] = xorshift(&mut x) as u8;
                }
                if r & 0x100 != 0 {
                    b.truncate(xorshift(&mut x) as usize % (b.len() + 1));
                }
                b
            };
            let d = r & 0x200 == 0;
            let _ = parse_pdu(&buf);
            let _ = probe_tsdu(&buf);
            st.input_tsdu(d, &buf, &mut out);
            for e in &out {
                let _ = e.op();
                let _ = serde_json::to_string(e);
            }
            out.clear();
            assert!(st.pending() <= MAX_PENDING);
            // And through COTP, sometimes with a gap.
            buf = tpkt(&buf);
            if r & 0x400 != 0 {
                let p = xorshift(&mut x) as usize % buf.len();
                buf[p] = xorshift(&mut x) as u8;
            }
            let _ = crate::proto::cotp::probe(&buf, d);
            cotp.input_with(d, &buf, |e| {
                if let CotpEvent::Data { to_server, tsdu } = e {
                    let _ = crate::proto::cotp::classify_tsdu(&tsdu);
                    st.input_tsdu(to_server, &tsdu, &mut out);
                }
            });
            if r.is_multiple_of(97) {
                cotp.gap(d);
            }
            assert!(cotp.buffered() <= 2 * (65535 + crate::proto::cotp::MAX_TSDU));
            out.clear();
        }
        st.finish(&mut out);
    }
}
