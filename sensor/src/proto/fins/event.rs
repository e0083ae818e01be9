//! The EVE `fins` object and its [`Op`].
//!
//! Field meanings follow Zeek ICSNPP-Omron-FINS (`omron_fins_general` /
//! `omron_fins_detail`), in snake_case, flattened into one object per
//! transaction.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{area_name, end_code_value, CommandParams, FinsHeader};

/// `(name, class)` of a FINS command code. CS/CJ numbering for the
/// program area commands (0304..0308); the CV-series codes 0301..0303 are
/// named `cv_*`.
pub fn command_info(code: u16) -> (&'static str, OpClass) {
    use OpClass::*;
    match code {
        0x0101 => ("memory_area_read", Read),
        0x0102 => ("memory_area_write", Write),
        0x0103 => ("memory_area_fill", Write),
        0x0104 => ("multiple_memory_area_read", Read),
        0x0105 => ("memory_area_transfer", Write),
        0x0201 => ("parameter_area_read", Upload),
        0x0202 => ("parameter_area_write", Download),
        0x0203 => ("parameter_area_clear", Download),
        0x0220 => ("data_link_table_read", Read),
        0x0221 => ("data_link_table_write", Write),
        0x0301 => ("cv_program_area_protect", Security),
        0x0302 => ("cv_program_area_protect_clear", Security),
        0x0303 => ("cv_program_area_read", Upload),
        0x0304 => ("program_area_protect", Security),
        0x0305 => ("program_area_protect_clear", Security),
        0x0306 => ("program_area_read", Upload),
        0x0307 => ("program_area_write", Download),
        0x0308 => ("program_area_clear", Download),
        0x0401 => ("run", ModeChange),
        0x0402 => ("stop", ModeChange),
        0x0403 => ("reset", Restart),
        0x0501 => ("controller_data_read", Discovery),
        0x0502 => ("connection_data_read", Discovery),
        0x0601 => ("controller_status_read", Diagnostic),
        0x0602 => ("network_status_read", Diagnostic),
        0x0603 => ("data_link_status_read", Diagnostic),
        0x0620 => ("cycle_time_read", Diagnostic),
        0x0701 => ("clock_read", Diagnostic),
        0x0702 => ("clock_write", Diagnostic),
        0x0801 => ("loopback_test", Diagnostic),
        0x0802 => ("broadcast_test_results_read", Diagnostic),
        0x0803 => ("broadcast_test_data_send", Diagnostic),
        0x0920 => ("message_read", Diagnostic),
        0x0c01 => ("access_right_acquire", Security),
        0x0c02 => ("access_right_forced_acquire", Security),
        0x0c03 => ("access_right_release", Security),
        0x2101 => ("error_clear", Diagnostic),
        0x2102 => ("error_log_read", Diagnostic),
        0x2103 => ("error_log_clear", Diagnostic),
        0x2201 => ("file_name_read", File),
        0x2202 => ("single_file_read", File),
        0x2203 => ("single_file_write", File),
        0x2204 => ("memory_card_format", File),
        0x2205 => ("file_delete", File),
        0x2206 => ("volume_label_create_delete", File),
        0x2207 => ("file_copy", File),
        0x2208 => ("file_name_change", File),
        0x2209 => ("file_data_check", File),
        0x220a => ("memory_area_file_transfer", File),
        0x220b => ("parameter_area_file_transfer", File),
        0x220c => ("program_area_file_transfer", File),
        0x220f => ("file_memory_index_read", File),
        0x2210 => ("file_memory_read", File),
        0x2211 => ("file_memory_write", File),
        0x2215 => ("create_delete_directory", File),
        0x2301 => ("forced_set_reset", Command),
        0x2302 => ("forced_set_reset_cancel", Command),
        0x230a => ("multiple_forced_status_read", Read),
        0x2601 => ("name_set", Write),
        0x2602 => ("name_delete", Write),
        0x2603 => ("name_read", Read),
        _ => ("unknown", Other),
    }
}

/// FINS/TCP envelope command names (node address handshake, errors).
pub fn tcp_command_name(cmd: u32) -> &'static str {
    match cmd {
        0 => "node_address_data_send",
        1 => "node_address_data_send_response",
        2 => "frame_send",
        3 => "frame_send_error_notification",
        6 => "connection_confirmation",
        _ => "unknown",
    }
}

/// One FINS transaction (or a FINS/TCP handshake / error notification).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FinsEvent {
    /// Per-flow transaction number.
    #[serde(skip)]
    pub tx_id: u64,
    /// `transaction` (command and response), `request` (command only) or
    /// `response` (response only).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// FINS/TCP envelope command for handshake / error events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_command: Option<&'static str>,
    /// FINS/TCP client / server node addresses (handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_node: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_node: Option<u32>,
    /// FINS/TCP error code (error notification, handshake failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_error: Option<u32>,
    /// Command name (see [`command_info`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    /// MRC << 8 | SRC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_code: Option<u16>,
    /// Header of the command (or of the response when response-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icf_gateway: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_count: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_network_address: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_node_number: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_unit_address: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_network_address: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_node_number: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_unit_address: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<u8>,
    /// Memory area access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_area_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_area: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beginning_address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beginning_bit: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_items: Option<u32>,
    /// Transfer destination (0105).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_area_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_area_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beginning_word: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_no: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_mode: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_data_to_read: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_reset_specification: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_no: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Values written (first 64).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Response end code (MRES << 8 | SRES, raw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
    /// Controller data read response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_version: Option<String>,
}

impl FinsEvent {
    /// An empty event of the given kind.
    pub fn empty(kind: &'static str) -> FinsEvent {
        FinsEvent {
            tx_id: 0,
            kind,
            tcp_command: None,
            client_node: None,
            server_node: None,
            tcp_error: None,
            command: None,
            command_code: None,
            icf_gateway: None,
            response_required: None,
            gateway_count: None,
            destination_network_address: None,
            destination_node_number: None,
            destination_unit_address: None,
            source_network_address: None,
            source_node_number: None,
            source_unit_address: None,
            service_id: None,
            memory_area_code: None,
            memory_area: None,
            beginning_address: None,
            beginning_bit: None,
            number_of_items: None,
            destination_area_code: None,
            destination_address: None,
            parameter_area_code: None,
            beginning_word: None,
            program_no: None,
            run_mode: None,
            controller_data_to_read: None,
            set_reset_specification: None,
            disk_no: None,
            file_name: None,
            values: Vec::new(),
            truncated: false,
            response_code: None,
            controller_model: None,
            controller_version: None,
        }
    }

    /// Fill the header and command fields.
    pub fn set_frame(&mut self, h: &FinsHeader, command: u16) {
        self.command = Some(command_info(command).0);
        self.command_code = Some(command);
        self.icf_gateway = Some(h.gateway());
        self.response_required = Some(h.response_required());
        self.gateway_count = Some(h.gct);
        self.destination_network_address = Some(h.dna);
        self.destination_node_number = Some(h.da1);
        self.destination_unit_address = Some(h.da2);
        self.source_network_address = Some(h.sna);
        self.source_node_number = Some(h.sa1);
        self.source_unit_address = Some(h.sa2);
        self.service_id = Some(h.sid);
    }

    /// Fill the decoded command parameters.
    pub fn set_params(&mut self, p: CommandParams) {
        if let Some(a) = p.area {
            self.memory_area_code = Some(a.area);
            self.memory_area = area_name(a.area);
            self.beginning_address = Some(a.address);
            self.beginning_bit = Some(a.bit);
        }
        if let Some(d) = p.dest {
            self.destination_area_code = Some(d.area);
            self.destination_address = Some(d.address);
        }
        self.number_of_items = p.count;
        self.parameter_area_code = p.parameter_area;
        self.beginning_word = p.word;
        self.program_no = p.program_no;
        self.run_mode = p.mode;
        self.controller_data_to_read = p.data_select;
        self.set_reset_specification = p.set_reset;
        self.disk_no = p.disk_no;
        self.file_name = p.file_name;
        self.values = p.values;
        self.truncated = p.truncated;
    }

    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let response_only = self.kind == "response";
        if let Some(tc) = self.tcp_command {
            let code = match tc {
                "node_address_data_send" => 0,
                "frame_send_error_notification" => 3,
                _ => 1,
            };
            let mut op = Op::new("fins", tc, code, OpClass::Session);
            op.response_only = response_only;
            op.status = self.tcp_error.filter(|e| *e != 0);
            if let Some(n) = self.client_node {
                op.attrs.push(("client_node", Attr::Int(i64::from(n))));
            }
            if let Some(n) = self.server_node {
                op.attrs.push(("server_node", Attr::Int(i64::from(n))));
            }
            return Some(op);
        }
        let code = self.command_code?;
        let (name, class) = command_info(code);
        let mut op = Op::new("fins", name, u32::from(code), class);
        op.response_only = response_only;
        // The unit is the destination node of the command; a lone response
        // comes from its source node.
        op.unit = if response_only {
            self.source_node_number.map(u32::from)
        } else {
            self.destination_node_number.map(u32::from)
        };
        op.address = self
            .beginning_address
            .map(u32::from)
            .or(self.beginning_word);
        op.quantity = self.number_of_items;
        op.values = self.values.clone();
        op.object = match (self.memory_area, self.memory_area_code) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(c)) => Some(format!("area_0x{c:02x}")),
            _ => self.file_name.clone(),
        };
        op.status = self
            .response_code
            .map(end_code_value)
            .filter(|c| *c != 0)
            .map(u32::from);
        if let Some(s) = self.service_id {
            op.attrs.push(("sid", Attr::Int(i64::from(s))));
        }
        if let Some(n) = self.destination_network_address {
            op.attrs.push(("dna", Attr::Int(i64::from(n))));
        }
        if let Some(u) = self.destination_unit_address {
            op.attrs.push(("da2", Attr::Int(i64::from(u))));
        }
        if let Some(c) = self.memory_area_code {
            op.attrs.push(("area", Attr::Int(i64::from(c))));
        }
        if let Some(a) = self.parameter_area_code {
            op.attrs.push(("parameter_area", Attr::Int(i64::from(a))));
        }
        if let Some(p) = self.program_no {
            op.attrs.push(("program_no", Attr::Int(i64::from(p))));
        }
        if let Some(m) = self.run_mode {
            op.attrs.push(("run_mode", Attr::Int(i64::from(m))));
        }
        if let Some(f) = &self.file_name {
            op.attrs.push(("file_name", Attr::Str(f.clone())));
        }
        if let Some(m) = &self.controller_model {
            op.attrs.push(("id_model", Attr::Str(m.clone())));
        }
        if let Some(v) = &self.controller_version {
            op.attrs.push(("id_version", Attr::Str(v.clone())));
        }
        if self.controller_model.is_some() {
            op.attrs.push(("id_vendor", Attr::Str("OMRON".to_string())));
        }
        Some(op)
    }
}
