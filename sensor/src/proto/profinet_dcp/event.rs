//! The EVE `profinet_dcp` object and its [`Op`].

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{
    block_text, ipv4, Alarm, DcpFrame, SERVICE_GET, SERVICE_HELLO, SERVICE_IDENTIFY, SERVICE_SET,
};

/// Service names.
pub fn service_name(id: u8) -> &'static str {
    match id {
        SERVICE_GET => "get",
        SERVICE_SET => "set",
        SERVICE_IDENTIFY => "identify",
        SERVICE_HELLO => "hello",
        _ => "unknown",
    }
}

/// Block names (option/suboption), for the `blocks` list.
pub fn block_name(option: u8, suboption: u8) -> &'static str {
    match (option, suboption) {
        (1, 1) => "mac_address",
        (1, 2) => "ip_parameter",
        (1, 3) => "full_ip_suite",
        (2, 1) => "type_of_station",
        (2, 2) => "name_of_station",
        (2, 3) => "device_id",
        (2, 4) => "device_role",
        (2, 5) => "device_options",
        (2, 6) => "alias_name",
        (2, 7) => "device_instance",
        (2, 8) => "oem_device_id",
        (2, 9) => "standard_gateway",
        (2, 10) => "rsi_properties",
        (3, _) => "dhcp",
        (5, 1) => "control_start",
        (5, 2) => "control_stop",
        (5, 3) => "control_signal",
        (5, 4) => "control_response",
        (5, 5) => "control_factory_reset",
        (5, 6) => "control_reset_to_factory",
        (6, _) => "device_initiative",
        (7, _) => "tsn",
        (0xff, 0xff) => "all_selector",
        (0x80..=0xfe, _) => "manufacturer_specific",
        _ => "unknown",
    }
}

/// Alarm type names (IEC 61158-6-10 AlarmType).
pub fn alarm_type_name(t: u16) -> &'static str {
    match t {
        1 => "diagnosis",
        2 => "process",
        3 => "pull",
        4 => "plug",
        5 => "status",
        6 => "update",
        7 => "redundancy",
        8 => "controlled_by_supervisor",
        9 => "released",
        10 => "plug_wrong_submodule",
        11 => "return_of_submodule",
        12 => "diagnosis_disappears",
        13 => "multicast_communication_mismatch",
        14 => "port_data_change_notification",
        15 => "sync_data_changed_notification",
        16 => "isochronous_mode_problem_notification",
        17 => "network_component_problem_notification",
        18 => "time_data_changed_notification",
        _ => "other",
    }
}

/// A block error reported in a Set response's control/response block.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BlockResult {
    pub block: &'static str,
    pub error: u8,
}

/// Alarm part of an event.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlarmInfo {
    /// `high` or `low`.
    pub priority: &'static str,
    pub alarm_type: u16,
    pub alarm_type_name: &'static str,
    pub api: u32,
    pub slot: u16,
    pub subslot: u16,
    pub module_ident: u32,
    pub submodule_ident: u32,
    pub alarm_specifier: u16,
    pub send_seq: u16,
}

/// Blocks named in the `blocks` list at most.
pub const MAX_BLOCK_NAMES: usize = 32;

/// One DCP frame or alarm notification.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct DcpEvent {
    /// Always 0: layer-2 frames have no flow transaction counter.
    #[serde(skip)]
    pub tx_id: u64,
    pub frame_id: u16,
    /// `request` or `response` (`alarm` for alarm notifications).
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<u8>,
    /// Responses: `success` or `unsupported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_delay: Option<u16>,
    /// Block names in frame order (first 32).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_of_station: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_of_station: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_role: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_instance: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_vendor_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oem_device_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_options: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// IP block info (responses: bit 0 IP set, bit 1 by DHCP, bit 7
    /// conflict) or Set qualifier (bit 0: permanent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_block_info: Option<u16>,
    /// Set request control: `signal`, `factory_reset`,
    /// `reset_to_factory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal_value: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_qualifier: Option<u16>,
    /// Set response results (control/response blocks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<BlockResult>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<AlarmInfo>,
}

impl DcpEvent {
    /// Build the event of a DCP frame.
    pub fn from_frame(f: &DcpFrame<'_>) -> DcpEvent {
        let h = &f.header;
        let response = h.is_response();
        let mut e = DcpEvent {
            frame_id: h.frame_id,
            kind: if response { "response" } else { "request" },
            service: Some(service_name(h.service_id)),
            service_id: Some(h.service_id),
            service_type: Some(h.service_type),
            xid: Some(h.xid),
            truncated: f.truncated,
            ..DcpEvent::default()
        };
        if response {
            e.status = Some(if h.unsupported() {
                "unsupported"
            } else {
                "success"
            });
        }
        if h.service_id == SERVICE_IDENTIFY && !response {
            e.response_delay = Some(h.response_delay);
        }
        for b in &f.blocks {
            if e.blocks.len() < MAX_BLOCK_NAMES {
                e.blocks.push(block_name(b.option, b.suboption));
            } else {
                e.truncated = true;
            }
            let v = b.value;
            match (b.option, b.suboption) {
                (1, 1) if v.len() >= 6 => {
                    e.mac_address = Some(
                        v[..6]
                            .iter()
                            .map(|x| format!("{x:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    );
                }
                (1, 2) | (1, 3) => {
                    e.ip = ipv4(v);
                    e.netmask = v.get(4..).and_then(ipv4);
                    e.gateway = v.get(8..).and_then(ipv4);
                    e.ip_block_info = b.info;
                }
                (2, 1) => e.type_of_station = Some(block_text(v)),
                (2, 2) => e.name_of_station = Some(block_text(v)),
                (2, 3) => {
                    e.vendor_id = super::parser::be16(v, 0);
                    e.device_id = super::parser::be16(v, 2);
                }
                (2, 4) => e.device_role = v.first().copied(),
                (2, 5) => e.device_options = Some((v.len() / 2) as u16),
                (2, 6) => e.alias_name = Some(block_text(v)),
                (2, 7) => e.device_instance = super::parser::be16(v, 0),
                (2, 8) => {
                    e.oem_vendor_id = super::parser::be16(v, 0);
                    e.oem_device_id = super::parser::be16(v, 2);
                }
                (5, 3) => {
                    e.control = Some("signal");
                    e.signal_value = super::parser::be16(v, 0);
                }
                (5, 4) => {
                    if let [o, s, err, ..] = v {
                        if e.results.len() < MAX_BLOCK_NAMES {
                            e.results.push(BlockResult {
                                block: block_name(*o, *s),
                                error: *err,
                            });
                        }
                    }
                }
                (5, 5) => {
                    e.control = Some("factory_reset");
                    e.reset_qualifier = b.info;
                }
                (5, 6) => {
                    e.control = Some("reset_to_factory");
                    e.reset_qualifier = b.info;
                }
                _ => {}
            }
        }
        e
    }

    /// Build the event of an alarm notification.
    pub fn from_alarm(a: &Alarm) -> DcpEvent {
        DcpEvent {
            frame_id: a.frame_id,
            kind: "alarm",
            alarm: Some(AlarmInfo {
                priority: if a.block_type == 1 { "high" } else { "low" },
                alarm_type: a.alarm_type,
                alarm_type_name: alarm_type_name(a.alarm_type),
                api: a.api,
                slot: a.slot,
                subslot: a.subslot,
                module_ident: a.module_ident,
                submodule_ident: a.submodule_ident,
                alarm_specifier: a.specifier,
                send_seq: a.send_seq,
            }),
            ..DcpEvent::default()
        }
    }

    /// Always 0 (layer 2, no flow).
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// What a Set writes: `ip`, `name`, ... joined with `,`.
    fn set_targets(&self) -> String {
        let mut what: Vec<&str> = Vec::new();
        let mut add = |w: &'static str| {
            if !what.contains(&w) {
                what.push(w);
            }
        };
        let names: Vec<&'static str> = if self.kind == "response" {
            self.results.iter().map(|r| r.block).collect()
        } else {
            self.blocks.clone()
        };
        for b in names {
            match b {
                "ip_parameter" | "full_ip_suite" => add("ip"),
                "name_of_station" => add("name"),
                "alias_name" => add("alias"),
                "dhcp" => add("dhcp"),
                "device_initiative" => add("device_initiative"),
                "control_start"
                | "control_stop"
                | "control_response"
                | "control_signal"
                | "control_factory_reset"
                | "control_reset_to_factory" => {}
                _ => add("other"),
            }
        }
        what.join(",")
    }

    /// The protocol-neutral operation. Responses and Hello frames carry
    /// the sender's identity in `id_*` attrs.
    pub fn op(&self) -> Option<Op> {
        if let Some(a) = &self.alarm {
            let mut op = Op::new(
                "profinet_dcp",
                "alarm",
                u32::from(a.alarm_type),
                OpClass::Report,
            );
            op.response_only = true;
            op.object = Some(a.alarm_type_name.to_string());
            op.address = Some(u32::from(a.slot));
            op.attrs
                .push(("priority", Attr::Str(a.priority.to_string())));
            op.attrs.push(("api", Attr::Int(i64::from(a.api))));
            op.attrs.push(("slot", Attr::Int(i64::from(a.slot))));
            op.attrs.push(("subslot", Attr::Int(i64::from(a.subslot))));
            return Some(op);
        }
        let sid = self.service_id?;
        let response = self.kind == "response";
        let (function, class) = match (sid, self.control) {
            (SERVICE_IDENTIFY, _) => ("identify", OpClass::Discovery),
            (SERVICE_HELLO, _) => ("hello", OpClass::Discovery),
            (SERVICE_GET, _) => ("get", OpClass::Read),
            (SERVICE_SET, Some("factory_reset")) => ("factory_reset", OpClass::Restart),
            (SERVICE_SET, Some("reset_to_factory")) => ("reset_to_factory", OpClass::Restart),
            (SERVICE_SET, Some("signal")) => ("signal", OpClass::Diagnostic),
            (SERVICE_SET, _) => {
                let t = self.set_targets();
                if response && t.is_empty() {
                    // A Set response to a signal / reset request.
                    ("set", OpClass::Other)
                } else {
                    ("set", OpClass::Write)
                }
            }
            _ => ("unknown", OpClass::Other),
        };
        let mut op = Op::new("profinet_dcp", function, u32::from(sid), class);
        op.response_only = response;
        if let Some(x) = self.xid {
            op.attrs.push(("xid", Attr::Int(i64::from(x))));
        }
        if sid == SERVICE_SET && function == "set" {
            let t = self.set_targets();
            if !t.is_empty() {
                op.attrs.push(("what", Attr::Str(t)));
            }
        }
        if self.status == Some("unsupported") {
            op.status = Some(u32::from(self.service_type.unwrap_or(0)));
        } else if let Some(r) = self.results.iter().find(|r| r.error != 0) {
            op.status = Some(u32::from(r.error));
        }
        if let Some(ip) = &self.ip {
            op.attrs.push(("ip", Attr::Str(ip.clone())));
        }
        if !response && sid != SERVICE_HELLO {
            // Request: the name is a filter (identify) or the new name (set).
            if let Some(n) = &self.name_of_station {
                op.object = Some(n.clone());
                op.attrs.push(("name_of_station", Attr::Str(n.clone())));
            }
            return Some(op);
        }
        if let Some(n) = &self.name_of_station {
            op.object = Some(n.clone());
            op.attrs.push(("id_name", Attr::Str(n.clone())));
        }
        if let Some(v) = self.vendor_id {
            op.attrs
                .push(("id_vendor", Attr::Str(format!("0x{v:04x}"))));
        }
        if let Some(d) = self.device_id {
            op.attrs
                .push(("id_product", Attr::Str(format!("0x{d:04x}"))));
        }
        if let Some(t) = &self.type_of_station {
            op.attrs.push(("id_model", Attr::Str(t.clone())));
        }
        if let Some(r) = self.device_role {
            op.attrs.push(("device_role", Attr::Int(i64::from(r))));
        }
        Some(op)
    }
}
