//! The EVE `hart_ip` object and its [`Op`].
//!
//! Field meanings follow Zeek ICSNPP-HART-IP (`hart_ip_general`,
//! `hart_ip_universal_commands`, `hart_ip_direct_pdu_command`), flattened
//! and shortened to snake_case, one object per transaction.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

/// `(name, class)` of a HART-IP message id.
pub fn message_info(id: u8) -> (&'static str, OpClass) {
    match id {
        0 => ("session_initiate", OpClass::Session),
        1 => ("session_close", OpClass::Session),
        2 => ("keep_alive", OpClass::Session),
        3 => ("token_passing_pdu", OpClass::Other),
        4 => ("direct_pdu", OpClass::Other),
        5 => ("read_audit_log", OpClass::Diagnostic),
        _ => ("unknown_message", OpClass::Other),
    }
}

/// Message type names.
pub fn message_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        1 => "response",
        2 => "publish",
        3 => "error",
        15 => "nak",
        _ => "unknown",
    }
}

/// `(name, class)` of a HART command number (universal 0..30, common
/// practice 32..121, device specific 128..253, extended 16-bit).
pub fn command_info(cmd: u16) -> (&'static str, OpClass) {
    use OpClass::*;
    match cmd {
        0 => ("read_unique_identifier", Discovery),
        1 => ("read_primary_variable", Read),
        2 => ("read_loop_current_and_percent_of_range", Read),
        3 => ("read_dynamic_variables_and_loop_current", Read),
        6 => ("write_polling_address", Write),
        7 => ("read_loop_configuration", Read),
        8 => ("read_dynamic_variable_classifications", Read),
        9 => ("read_device_variables_with_status", Read),
        11 => ("read_unique_identifier_with_tag", Discovery),
        12 => ("read_message", Read),
        13 => ("read_tag_descriptor_date", Read),
        14 => ("read_primary_variable_transducer_information", Read),
        15 => ("read_device_information", Read),
        16 => ("read_final_assembly_number", Read),
        17 => ("write_message", Write),
        18 => ("write_tag_descriptor_date", Write),
        19 => ("write_final_assembly_number", Write),
        20 => ("read_long_tag", Read),
        21 => ("read_unique_identifier_with_long_tag", Discovery),
        22 => ("write_long_tag", Write),
        33 => ("read_device_variables", Read),
        34 => ("write_primary_variable_damping_value", Write),
        35 => ("write_primary_variable_range_values", Write),
        36 => ("set_primary_variable_upper_range_value", Write),
        37 => ("set_primary_variable_lower_range_value", Write),
        38 => ("reset_configuration_changed_flag", Write),
        39 => ("eeprom_control", Command),
        40 => ("enter_exit_fixed_current_mode", Command),
        41 => ("perform_self_test", Diagnostic),
        42 => ("perform_device_reset", Restart),
        43 => ("set_primary_variable_zero", Command),
        44 => ("write_primary_variable_units", Write),
        45 => ("trim_loop_current_zero", Command),
        46 => ("trim_loop_current_gain", Command),
        47 => ("write_primary_variable_transfer_function", Write),
        48 => ("read_additional_device_status", Diagnostic),
        49 => ("write_primary_variable_transducer_serial_number", Write),
        50 => ("read_dynamic_variable_assignments", Read),
        51 => ("write_dynamic_variable_assignments", Write),
        52 => ("set_device_variable_zero", Command),
        53 => ("write_device_variable_units", Write),
        54 => ("read_device_variable_information", Read),
        55 => ("write_device_variable_damping_value", Write),
        56 => ("write_device_variable_transducer_serial_number", Write),
        57 => ("read_unit_tag_descriptor_date", Read),
        58 => ("write_unit_tag_descriptor_date", Write),
        59 => ("write_number_of_response_preambles", Write),
        60 => ("read_analog_channel_and_percent_of_range", Read),
        61 => ("read_dynamic_variables_and_pv_analog_channel", Read),
        62 => ("read_analog_channels", Read),
        63 => ("read_analog_channel_information", Read),
        64 => ("write_analog_channel_additional_damping_value", Write),
        65 => ("write_analog_channel_range_values", Write),
        66 => ("enter_exit_fixed_analog_channel_mode", Command),
        67 => ("trim_analog_channel_zero", Command),
        68 => ("trim_analog_channel_gain", Command),
        69 => ("write_analog_channel_transfer_function", Write),
        70 => ("read_analog_channel_endpoint_values", Read),
        71 => ("lock_device", Security),
        72 => ("squawk", Diagnostic),
        73 => ("find_device", Discovery),
        74 => ("read_io_system_capabilities", Discovery),
        75 => ("poll_sub_device", Discovery),
        76 => ("read_lock_device_state", Read),
        77 => ("send_command_to_sub_device", Command),
        78 => ("read_aggregated_commands", Read),
        79 => ("write_device_variable", Command),
        80 => ("read_device_variable_trim_points", Read),
        81 => ("read_device_variable_trim_guidelines", Read),
        82 => ("write_device_variable_trim_point", Write),
        83 => ("reset_device_variable_trim", Write),
        84 => ("read_sub_device_identity_summary", Discovery),
        85 => ("read_io_channel_statistics", Diagnostic),
        86 => ("read_sub_device_statistics", Diagnostic),
        87 => ("write_io_system_master_mode", Write),
        88 => ("write_io_system_retry_count", Write),
        89 => ("set_real_time_clock", Diagnostic),
        90 => ("read_real_time_clock", Diagnostic),
        128..=253 => ("device_specific_command", Other),
        256..=65535 => ("extended_command", Other),
        _ => ("command", Other),
    }
}

/// One direct PDU command in the event.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DirectCommandEntry {
    pub command: u16,
    pub command_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u8>,
}

/// One HART-IP transaction (request + response), lone message, or
/// publish.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct HartIpEvent {
    #[serde(skip)]
    pub tx_id: u64,
    /// `transaction`, `request`, `response` or `publish`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: u8,
    /// Message id name (`session_initiate`, `token_passing_pdu`, ...).
    pub message: &'static str,
    pub message_id: u8,
    pub sequence_number: u16,
    /// Type of the answer when it was not a plain response (`error`,
    /// `nak`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<&'static str>,
    /// Header status of the response (0 = success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_close_timer: Option<u32>,
    /// Token-passing PDU: frame type of the request (`stx`, `ack`,
    /// `back`), address (hex), command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_status: Option<u8>,
    /// Identity (command 0/11/21, 13, 20 responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hart_revision: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_revision: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_revision: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_tag: Option<String>,
    /// Direct PDU commands (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<DirectCommandEntry>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Read audit log request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_record: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_records: Option<u8>,
    /// Unit for the op: polling address or 24-bit device id.
    #[serde(skip)]
    pub unit: Option<u32>,
}

/// HART response codes that are warnings, not failures.
fn is_warning(rc: u8) -> bool {
    matches!(rc, 8 | 14 | 24..=27 | 30 | 31 | 112 | 113)
}

impl HartIpEvent {
    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let (mut name, mut class) = message_info(self.message_id);
        let mut code = u32::from(self.message_id);
        if let Some(c) = self.command {
            (name, class) = command_info(c);
            code = u32::from(c);
        } else if let Some(first) = self.commands.first() {
            (name, class) = command_info(first.command);
            code = u32::from(first.command);
        }
        let mut op = Op::new("hart_ip", name, code, class);
        op.response_only = matches!(self.kind, "response" | "publish");
        if self.kind == "publish" {
            op.class = OpClass::Report;
        }
        op.unit = self.unit;
        // A non-zero header status wins (except warning 8); then the HART
        // response code when it is an error.
        op.status = match (self.status, self.response_code) {
            (Some(s), _) if s != 0 && !is_warning(s) => Some(u32::from(s)),
            (_, Some(rc)) if rc != 0 && !is_warning(rc) => Some(u32::from(rc)),
            _ => None,
        };
        op.attrs
            .push(("message", Attr::Str(message_info(self.message_id).0.into())));
        op.attrs
            .push(("sequence", Attr::Int(i64::from(self.sequence_number))));
        if let Some(a) = &self.address {
            op.attrs.push(("address", Attr::Str(a.clone())));
        }
        if !self.commands.is_empty() {
            op.attrs
                .push(("command_count", Attr::Int(self.commands.len() as i64)));
        }
        if let Some(t) = self.inactivity_close_timer {
            op.attrs
                .push(("inactivity_close_timer", Attr::Int(i64::from(t))));
        }
        if let Some(m) = self.manufacturer_id {
            op.attrs
                .push(("id_vendor", Attr::Str(format!("0x{m:04x}"))));
        }
        if let Some(t) = self.device_type {
            op.attrs.push(("id_model", Attr::Str(format!("0x{t:04x}"))));
        }
        if let Some(d) = self.device_id {
            op.attrs
                .push(("id_serial", Attr::Str(format!("0x{d:06x}"))));
        }
        if let (Some(d), Some(s)) = (self.device_revision, self.software_revision) {
            op.attrs.push(("id_version", Attr::Str(format!("{d}.{s}"))));
        }
        if let Some(h) = self.hart_revision {
            op.attrs.push(("hart_revision", Attr::Int(i64::from(h))));
        }
        if let Some(n) = self.long_tag.as_ref().or(self.tag.as_ref()) {
            op.attrs.push(("id_name", Attr::Str(n.clone())));
        }
        Some(op)
    }
}
