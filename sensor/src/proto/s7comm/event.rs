//! The EVE `s7comm` object and its [`rules::ot::Op`].
//!
//! One event per transaction (job + ack/ack_data, userdata request +
//! response), per unanswered request, per unmatched response and per
//! userdata push. Field meanings follow Zeek ICSNPP-S7COMM's `s7comm.log`
//! (`rosctr_*`, `pdu_reference`, `function_*`, `subfunction_*`,
//! `error_*`), `s7comm_read_szl.log` (`szl_id`, `szl_index`,
//! `return_code`), `s7comm_upload_download.log` (`function_status`,
//! `session_id`, `block_length`, `filename`, `block_type`,
//! `block_number`, `destination_filesystem`) and
//! `s7comm_known_devices.log` (`automation_system_name`, `module_name`,
//! `plant_name`, `module_serial`), in snake_case with numbers as JSON
//! numbers. Absent fields are omitted.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

/// Most items / values / blocks kept per event.
pub const MAX_ITEMS: usize = 64;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One read/write variable item, request address merged with the
/// response's return code.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct S7Item {
    /// Syntax id name when not S7ANY (`DBREAD`, `1200SYM`, `NCK`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syntax_id: Option<&'static str>,
    /// Memory area (`I`, `Q`, `M`, `DB`, `DI`, `P`, `L`, `V`, `C`, `T`,
    /// ...; `unknown` otherwise, see `area_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<&'static str>,
    /// Area code on the wire (logged only when the area is `unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_code: Option<u8>,
    /// DB number (DB and DI areas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_number: Option<u16>,
    /// Byte address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_address: Option<u32>,
    /// Bit address (1..7; 0 is logged for BIT items only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_address: Option<u8>,
    /// Counter/timer number (C, T and IEC areas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Parameter transport size (`BIT`, `BYTE`, `WORD`, `INT`, `REAL`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_size: Option<&'static str>,
    /// Number of elements.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// Item return code of the response (0xff success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,
    /// Index of the request item this entry belongs to (a DBREAD item
    /// expands into one entry per area).
    #[serde(skip)]
    pub req_index: u16,
}

/// The EVE `s7comm` object.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct S7Event {
    /// Per-flow transaction number (EVE top-level `tx_id`).
    #[serde(skip)]
    pub tx_id: u64,
    /// PDU reference of the request (or of the lone response).
    pub pdu_reference: u16,
    /// ROSCTR of the request: 1 job, 7 userdata; of the response when
    /// there was no request (2 ack, 3 ack_data, 7 userdata push).
    pub rosctr_code: u8,
    /// ICSNPP's ROSCTR name: `Job-Request`, `ACK`, `ACK-Data`, `User-Data`.
    pub rosctr_name: &'static str,
    /// No request was seen (unsolicited push or lost request).
    #[serde(skip_serializing_if = "is_false")]
    pub response_only: bool,
    /// The job was sent by the server (PLC), e.g. download block /
    /// download ended during a download.
    #[serde(skip_serializing_if = "is_false")]
    pub server_initiated: bool,
    /// Job function code, or the userdata function group.
    pub function_code: u8,
    /// Function name (ICSNPP's: `Read Variable`, `PLC Stop`, ...; the
    /// group name for userdata: `CPU Functions`, `Time Functions`, ...).
    pub function_name: &'static str,
    /// Userdata subfunction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subfunction_code: Option<u8>,
    /// Userdata subfunction name (`Read SZL`, `Set Clock`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subfunction_name: Option<&'static str>,
    /// Error class (ack/ack_data header; high byte of the userdata error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<u8>,
    /// Error code (ack/ack_data header; low byte of the userdata error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u8>,
    /// Userdata data return code of the response (0xff success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,

    /// Setup communication: max parallel jobs calling (as negotiated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_amq_calling: Option<u16>,
    /// Setup communication: max parallel jobs called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_amq_called: Option<u16>,
    /// Setup communication: PDU length (negotiated when answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdu_length: Option<u16>,

    /// Read/write var, cyclic services: number of items in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u16>,
    /// Read/write var items (first [`MAX_ITEMS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<S7Item>,
    /// Values written (write var), first [`MAX_ITEMS`] elements.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// Items or values were cut.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Cyclic services: interval time base (0 0.1 s, 1 1 s, 2 10 s, ...)
    /// and factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_timebase: Option<u8>,
    /// Cyclic services: interval factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_factor: Option<u8>,
    /// Userdata: a follow-up request fetching the next part of a response
    /// that did not fit one PDU (its data is a continuation, not decoded).
    #[serde(skip_serializing_if = "is_false")]
    pub continuation: bool,

    /// Block control: function status (bit 0 more data, bit 1 error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_status: Option<u8>,
    /// Upload session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// Block length (start upload ack; load memory length of a request
    /// download).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_length: Option<u32>,
    /// File name (`_0A00001P`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Block type (`OB`, `DB`, `SDB`, `FC`, `SFC`, `FB`, `SFB`, or the raw
    /// two characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_type: Option<String>,
    /// Block number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u32>,
    /// Destination file system (`Passive`, `Active`, `Active and passive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_filesystem: Option<&'static str>,
    /// PI service name (`_INSE`, `_DELE`, `P_PROGRAM`, `_MODU`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pi_service: Option<String>,
    /// PI service argument that is not a block list (`EP` of `_MODU`,
    /// `C` of a cold-restart `P_PROGRAM`, `_N_` strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pi_argument: Option<String>,
    /// Number of blocks named by an `_INSE` / `_DELE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_count: Option<u8>,

    /// SZL id (read SZL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub szl_id: Option<u16>,
    /// SZL index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub szl_index: Option<u16>,
    /// Module order number (SZL 0x0011 index 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// Firmware version (SZL 0x0011 index 7, `V3.2.6`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// PLC name (SZL 0x001c index 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automation_system_name: Option<String>,
    /// Module name (SZL 0x001c index 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
    /// Plant designation (SZL 0x001c index 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plant_name: Option<String>,
    /// Copyright entry (SZL 0x001c index 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copyright: Option<String>,
    /// Module serial number (SZL 0x001c index 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_serial: Option<String>,
    /// Module type name (SZL 0x001c index 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_type_name: Option<String>,

    /// Clock set (set clock request) or read (read clock response),
    /// `YYYY-MM-DDTHH:MM:SS.mmm` in PLC local time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// Mode-transition push: the CPU's new mode (`STOP`, `RUN`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_mode: Option<&'static str>,

    /// Op vocabulary name (not logged; see [`S7Event::op`]).
    #[serde(skip)]
    pub op_function: &'static str,
    /// Op numeric code (not logged).
    #[serde(skip)]
    pub op_code: u32,
    /// Op class (not logged).
    #[serde(skip)]
    pub op_class: Option<OpClass>,
    /// First failing item return code (not logged separately).
    #[serde(skip)]
    pub item_error: Option<u8>,
}

impl S7Event {
    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The combined 16-bit error (class << 8 | code), when non-zero.
    pub fn error(&self) -> Option<u16> {
        let e = (u16::from(self.error_class.unwrap_or(0)) << 8)
            | u16::from(self.error_code.unwrap_or(0));
        (e != 0).then_some(e)
    }

    /// The protocol-neutral operation (see the module notes for the
    /// function vocabulary).
    pub fn op(&self) -> Option<Op> {
        let mut op = Op::new(
            "s7comm",
            self.op_function,
            self.op_code,
            self.op_class.unwrap_or(OpClass::Other),
        );
        op.response_only = self.response_only;
        op.status = self
            .error()
            .map(u32::from)
            .or(self.item_error.map(u32::from));
        if let Some(it) = self.items.first() {
            op.address = it.byte_address.or(it.number);
            op.quantity = it.length.map(u32::from);
            op.object = it.area.map(|a| match it.db_number {
                Some(db) => format!("{a}{db}"),
                None => a.to_string(),
            });
            if let Some(ts) = it.transport_size {
                op.attrs.push(("transport_size", Attr::Str(ts.to_string())));
            }
            if let Some(db) = it.db_number {
                op.attrs.push(("db_number", Attr::Int(i64::from(db))));
            }
            if let Some(bit) = it.bit_address.filter(|b| *b != 0) {
                op.attrs.push(("bit_address", Attr::Int(i64::from(bit))));
            }
        }
        if let Some(n) = self.item_count {
            op.attrs.push(("item_count", Attr::Int(i64::from(n))));
        }
        if let Some(f) = self.interval_factor {
            op.attrs.push(("interval_factor", Attr::Int(i64::from(f))));
        }
        op.values.clone_from(&self.values);
        if let (Some(t), Some(n)) = (&self.block_type, self.block_number) {
            op.object = Some(format!("{t}{n}"));
            op.address = Some(n);
        }
        if let Some(s) = &self.pi_service {
            op.attrs.push(("pi_service", Attr::Str(s.clone())));
        }
        if let Some(s) = &self.pi_argument {
            op.attrs.push(("pi_argument", Attr::Str(s.clone())));
            if op.object.is_none() {
                op.object = Some(s.clone());
            }
        }
        if let Some(f) = &self.filename {
            op.attrs.push(("filename", Attr::Str(f.clone())));
        }
        if let Some(id) = self.szl_id {
            op.address = Some(u32::from(id));
            op.object = Some(format!("SZL 0x{id:04x}"));
            op.attrs.push(("szl_id", Attr::Int(i64::from(id))));
        }
        if let Some(i) = self.szl_index {
            op.attrs.push(("szl_index", Attr::Int(i64::from(i))));
        }
        if let Some(c) = &self.clock {
            op.attrs.push(("clock", Attr::Str(c.clone())));
        }
        if let Some(m) = self.current_mode {
            op.attrs.push(("mode", Attr::Str(m.to_string())));
        }
        if let Some(p) = self.pdu_length {
            op.attrs.push(("pdu_length", Attr::Int(i64::from(p))));
        }
        if let Some(s) = self.subfunction_code {
            op.attrs
                .push(("function_group", Attr::Int(i64::from(self.function_code))));
            op.attrs.push(("subfunction", Attr::Int(i64::from(s))));
        }
        if self.server_initiated {
            op.attrs.push(("server_initiated", Attr::Bool(true)));
        }
        // Identity facts revealed by the PLC (SZL 0x0011 / 0x001c).
        let vendor = self
            .copyright
            .as_deref()
            .filter(|c| c.to_ascii_lowercase().contains("siemens"))
            .map(|_| "Siemens".to_string());
        for (k, v) in [
            ("id_vendor", vendor.as_ref()),
            ("id_model", self.order_number.as_ref()),
            ("id_version", self.firmware_version.as_ref()),
            ("id_serial", self.module_serial.as_ref()),
            ("id_name", self.automation_system_name.as_ref()),
            (
                "id_product",
                self.module_type_name.as_ref().or(self.module_name.as_ref()),
            ),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                op.attrs.push((k, Attr::Str(v.clone())));
            }
        }
        Some(op)
    }
}

/// ICSNPP's ROSCTR names.
pub fn rosctr_name(r: u8) -> &'static str {
    match r {
        1 => "Job-Request",
        2 => "ACK",
        3 => "ACK-Data",
        7 => "User-Data",
        _ => "unknown",
    }
}

/// Job function: (ICSNPP name, op name, class). PI services (0x28) are
/// refined by [`pi_op`].
pub fn job_function(f: u8) -> (&'static str, &'static str, OpClass) {
    match f {
        0x00 => ("CPU Services", "cpu_services", OpClass::Other),
        0x04 => ("Read Variable", "read_var", OpClass::Read),
        0x05 => ("Write Variable", "write_var", OpClass::Write),
        0x1a => ("Request Download", "request_download", OpClass::Download),
        0x1b => ("Download Block", "download_block", OpClass::Download),
        0x1c => ("Download Ended", "download_ended", OpClass::Download),
        0x1d => ("Start Upload", "start_upload", OpClass::Upload),
        0x1e => ("Upload", "upload", OpClass::Upload),
        0x1f => ("End Upload", "end_upload", OpClass::Upload),
        0x28 => ("PLC Control", "pi_service", OpClass::Other),
        0x29 => ("PLC Stop", "plc_stop", OpClass::ModeChange),
        0xf0 => (
            "Setup Communication",
            "setup_communication",
            OpClass::Session,
        ),
        _ => ("unknown", "unknown", OpClass::Other),
    }
}

/// Op name and class of a PI service (function 0x28) by service name.
pub fn pi_op(service: &[u8]) -> (&'static str, OpClass) {
    match service {
        b"P_PROGRAM" => ("plc_start", OpClass::ModeChange),
        b"_INSE" | b"_INS2" => ("insert_block", OpClass::Download),
        b"_DELE" => ("delete_block", OpClass::Download),
        b"_MODU" => ("copy_ram_to_rom", OpClass::Download),
        b"_GARB" => ("compress_memory", OpClass::Other),
        s if s.starts_with(b"_N_") => ("nc_pi_service", OpClass::Other),
        _ => ("pi_service", OpClass::Other),
    }
}

/// ICSNPP's userdata function group names.
pub fn group_name(g: u8) -> &'static str {
    match g {
        0x0 => "Mode-Transition",
        0x1 => "Programmer Controls",
        0x2 => "Cyclic Services",
        0x3 => "Block Functions",
        0x4 => "CPU Functions",
        0x5 => "Security",
        0x6 => "PBC BSEND-BRECV",
        0x7 => "Time Functions",
        0xf => "NC Programming",
        _ => "unknown",
    }
}

/// Userdata subfunction: (name, op name, class). Subfunction codes as
/// Wireshark 4.0 decodes them; names in ICSNPP's style.
pub fn userdata_function(group: u8, sub: u8) -> (&'static str, &'static str, OpClass) {
    use OpClass::*;
    match (group, sub) {
        (0x0, _) => ("Mode Transition", "mode_transition", Report),
        (0x1, 0x01) => ("Block Status", "block_status", Diagnostic),
        (0x1, 0x02) => ("Variable Status", "variable_status", Read),
        (0x1, 0x03) => ("Output ISTACK", "output_istack", Diagnostic),
        (0x1, 0x04) => ("Output BSTACK", "output_bstack", Diagnostic),
        (0x1, 0x05) => ("Output LSTACK", "output_lstack", Diagnostic),
        (0x1, 0x06) => ("Time Measurement", "time_measurement", Diagnostic),
        (0x1, 0x07) => ("Force Selection", "force_selection", Read),
        (0x1, 0x08) => ("Modify Variable", "modify_variable", Write),
        (0x1, 0x09) => ("Force", "force", Write),
        (0x1, 0x0a) => ("Breakpoint", "breakpoint", Diagnostic),
        (0x1, 0x0b) => ("Exit HOLD", "exit_hold", ModeChange),
        (0x1, 0x0c) => ("Memory Reset", "memory_reset", Restart),
        (0x1, 0x0d) => ("Disable Job", "disable_job", Diagnostic),
        (0x1, 0x0e) => ("Enable Job", "enable_job", Diagnostic),
        (0x1, 0x0f) => ("Delete Job", "delete_job", Diagnostic),
        (0x1, 0x10) => ("Read Job List", "read_job_list", Diagnostic),
        (0x1, 0x11) => ("Read Job", "read_job", Diagnostic),
        (0x1, 0x12) => ("Replace Job", "replace_job", Diagnostic),
        (0x1, 0x13) => ("Block Status v2", "block_status_v2", Diagnostic),
        (0x1, 0x16) => ("Flash LED", "flash_led", Diagnostic),
        (0x1, _) => ("unknown", "programmer_command", Diagnostic),
        (0x2, 0x01) => ("Cyclic Transfer", "cyclic_transfer", Read),
        (0x2, 0x04) => ("Unsubscribe", "cyclic_unsubscribe", Read),
        (0x2, 0x05) => ("Change Driven Transfer", "change_driven_transfer", Read),
        (0x2, 0x07) => (
            "Change Driven Transfer Modify",
            "change_driven_transfer_modify",
            Read,
        ),
        (0x2, 0x08) => ("RDREC", "read_record", Read),
        (0x2, _) => ("unknown", "cyclic_service", Read),
        (0x3, 0x01) => ("List Blocks", "list_blocks", Discovery),
        (0x3, 0x02) => ("List Blocks of Type", "list_blocks_of_type", Discovery),
        (0x3, 0x03) => ("Get Block Info", "get_block_info", Discovery),
        (0x3, _) => ("unknown", "block_function", Discovery),
        (0x4, 0x01) => ("Read SZL", "read_szl", Discovery),
        (0x4, 0x02) => ("Message Service", "message_service", Session),
        (0x4, 0x03) => ("Diagnostic Message", "diagnostic_message", Report),
        (0x4, 0x05) => ("ALARM_8 Indication", "alarm8_indication", Report),
        (0x4, 0x06) => ("NOTIFY Indication", "notify_indication", Report),
        (0x4, 0x07) => ("ALARM_8 Lock", "alarm8_lock", Other),
        (0x4, 0x08) => ("ALARM_8 Unlock", "alarm8_unlock", Other),
        (0x4, 0x09) => ("SCAN Indication", "scan_indication", Report),
        (0x4, 0x0b) => ("ALARM ACK", "alarm_ack", Other),
        (0x4, 0x0c) => ("ALARM ACK Indication", "alarm_ack_indication", Report),
        (0x4, 0x0d) => ("ALARM Lock Indication", "alarm_lock_indication", Report),
        (0x4, 0x0e) => ("ALARM Unlock Indication", "alarm_unlock_indication", Report),
        (0x4, 0x11) => ("ALARM_SQ Indication", "alarm_sq_indication", Report),
        (0x4, 0x12) => ("ALARM_S Indication", "alarm_s_indication", Report),
        (0x4, 0x13) => ("ALARM Query", "alarm_query", Read),
        (0x4, 0x16) => ("NOTIFY_8 Indication", "notify8_indication", Report),
        (0x4, _) => ("unknown", "cpu_function", Diagnostic),
        (0x5, 0x01) => ("PLC Password", "plc_password", Security),
        (0x5, _) => ("unknown", "security_function", Security),
        (0x6, _) => ("BSEND/BRECV", "bsend_brecv", Other),
        (0x7, 0x01) => ("Read Clock", "read_clock", Diagnostic),
        (0x7, 0x02) => ("Set Clock", "set_clock", Diagnostic),
        (0x7, 0x03) => ("Read Clock (Following)", "read_clock_following", Diagnostic),
        (0x7, 0x04) => ("Set Clock (2)", "set_clock", Diagnostic),
        (0x7, _) => ("unknown", "time_function", Diagnostic),
        (0xf, 0x01) => ("Request Download", "nc_request_download", Download),
        (0xf, 0x02) => ("Download Block", "nc_download_block", Download),
        (0xf, 0x03) => ("Continue Download", "nc_continue_download", Download),
        (0xf, 0x04) => ("Download Ended", "nc_download_ended", Download),
        (0xf, 0x06) => ("Start Upload", "nc_start_upload", Upload),
        (0xf, 0x07) => ("Upload", "nc_upload", Upload),
        (0xf, 0x08) => ("Continue Upload", "nc_continue_upload", Upload),
        (0xf, _) => ("unknown", "nc_programming", Other),
        _ => ("unknown", "userdata", Other),
    }
}

/// Mode names of the mode-transition push.
pub fn mode_name(m: u8) -> &'static str {
    match m {
        0 => "STOP",
        1 => "Warm Restart",
        2 => "RUN",
        3 => "Hot Restart",
        4 => "HOLD",
        6 => "Cold Restart",
        9 => "RUN_R",
        11 => "LINK-UP",
        12 => "UPDATE",
        _ => "unknown",
    }
}

/// Short memory area names.
pub fn area_name(a: u8) -> &'static str {
    match a {
        0x01 => "DR",
        0x03 => "SI200",
        0x05 => "SF200",
        0x06 => "AI200",
        0x07 => "AQ200",
        0x1c => "C",
        0x1d => "T",
        0x1e => "IEC_C",
        0x1f => "IEC_T",
        0x80 => "P",
        0x81 => "I",
        0x82 => "Q",
        0x83 => "M",
        0x84 => "DB",
        0x85 => "DI",
        0x86 => "L",
        0x87 => "V",
        _ => "unknown",
    }
}

/// Parameter transport size names (Wireshark's).
pub fn transport_size_name(t: u8) -> &'static str {
    match t {
        0x01 => "BIT",
        0x02 => "BYTE",
        0x03 => "CHAR",
        0x04 => "WORD",
        0x05 => "INT",
        0x06 => "DWORD",
        0x07 => "DINT",
        0x08 => "REAL",
        0x09 => "DATE",
        0x0a => "TOD",
        0x0b => "TIME",
        0x0c => "S5TIME",
        0x0f => "DATE_AND_TIME",
        0x1c => "COUNTER",
        0x1d => "TIMER",
        0x1e => "IEC TIMER",
        0x1f => "IEC COUNTER",
        0x20 => "HS COUNTER",
        _ => "unknown",
    }
}

/// Item syntax id names (Wireshark's).
pub fn syntax_name(s: u8) -> &'static str {
    match s {
        0x10 => "S7ANY",
        0x13 => "PBC-R_ID",
        0x15 => "ALARM_LOCKFREE",
        0x16 => "ALARM_IND",
        0x19 => "ALARM_ACK",
        0x1a => "ALARM_QUERYREQ",
        0x1c => "NOTIFY_IND",
        0x82 => "NCK",
        0x83 => "NCK_M",
        0x84 => "NCK_I",
        0xa2 => "DRIVEESANY",
        0xb2 => "1200SYM",
        0xb0 => "DBREAD",
        _ => "unknown",
    }
}

/// ICSNPP's destination file system names.
pub fn filesystem_name(c: u8) -> &'static str {
    match c {
        b'P' => "Passive",
        b'A' => "Active",
        b'B' => "Active and passive",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_op() {
        let e = S7Event {
            tx_id: 4,
            pdu_reference: 1,
            rosctr_code: 1,
            rosctr_name: rosctr_name(1),
            function_code: 5,
            function_name: "Write Variable",
            error_class: Some(0),
            error_code: Some(0),
            item_count: Some(1),
            items: vec![S7Item {
                area: Some("DB"),
                db_number: Some(3),
                byte_address: Some(10),
                transport_size: Some("WORD"),
                length: Some(2),
                return_code: Some(0xff),
                ..S7Item::default()
            }],
            values: vec![1.0, 2.0],
            op_function: "write_var",
            op_code: 5,
            op_class: Some(OpClass::Write),
            ..S7Event::default()
        };
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            r#"{"pdu_reference":1,"rosctr_code":1,"rosctr_name":"Job-Request","function_code":5,"function_name":"Write Variable","error_class":0,"error_code":0,"item_count":1,"items":[{"area":"DB","db_number":3,"byte_address":10,"transport_size":"WORD","length":2,"return_code":255}],"values":[1.0,2.0]}"#
        );
        let op = e.op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("write_var", 5, OpClass::Write)
        );
        assert_eq!((op.address, op.quantity), (Some(10), Some(2)));
        assert_eq!(op.object.as_deref(), Some("DB3"));
        assert_eq!(op.values, [1.0, 2.0]);
        assert_eq!(op.status, None);
        assert_eq!(e.tx_id(), 4);
    }
}
