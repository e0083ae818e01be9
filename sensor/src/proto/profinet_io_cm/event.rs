//! The EVE `profinet_io_cm` object and its [`Op`].
//!
//! Field meanings follow Zeek ICSNPP-PROFINET-IO-CM (`profinet_io_cm`
//! log), reduced to what identifies the call.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

/// `(name, class)` of a PNIO RPC operation.
pub fn operation_info(opnum: u16, epm: bool) -> (&'static str, OpClass) {
    if epm {
        return match opnum {
            2 => ("epm_lookup", OpClass::Discovery),
            _ => ("epm_other", OpClass::Discovery),
        };
    }
    match opnum {
        0 => ("connect", OpClass::Session),
        1 => ("release", OpClass::Session),
        2 => ("read", OpClass::Read),
        3 => ("write", OpClass::Write),
        4 => ("control", OpClass::Session),
        5 => ("read_implicit", OpClass::Read),
        _ => ("unknown", OpClass::Other),
    }
}

/// RPC packet type names.
pub fn packet_type_name(t: u8) -> &'static str {
    match t {
        0 => "request",
        2 => "response",
        3 => "fault",
        6 => "reject",
        _ => "other",
    }
}

/// Names of the ControlCommand bits set (first one wins for the text).
pub fn control_command_name(bits: u16) -> &'static str {
    match bits {
        b if b & 0x0001 != 0 => "prm_end",
        b if b & 0x0002 != 0 => "application_ready",
        b if b & 0x0004 != 0 => "release",
        b if b & 0x0008 != 0 => "done",
        b if b & 0x0010 != 0 => "ready_for_companion",
        b if b & 0x0020 != 0 => "ready_for_rt_class_3",
        b if b & 0x0040 != 0 => "prm_begin",
        _ => "none",
    }
}

/// One PNIO-CM call (request and response), or a lone request /
/// response / fault.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct IoCmEvent {
    #[serde(skip)]
    pub tx_id: u64,
    /// `transaction`, `request` or `response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// RPC packet type of the answer when not a plain response
    /// (`fault`, `reject`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<&'static str>,
    /// `device`, `controller`, `supervisor`, `parameter_server`, `epm`.
    pub interface: &'static str,
    pub operation: &'static str,
    pub opnum: u16,
    pub sequence_num: u32,
    pub activity_uuid: String,
    pub object_uuid: String,
    /// From a PNIO object UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<u16>,
    /// PNIOStatus of the response (fault/reject status), 0 = OK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pnio_status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_type: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subslot: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_data_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ar_type: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ar_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_command: Option<&'static str>,
}

impl IoCmEvent {
    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let (name, class) = operation_info(self.opnum, self.interface == "epm");
        let mut op = Op::new("profinet_io_cm", name, u32::from(self.opnum), class);
        op.response_only = self.kind == "response";
        op.address = self.index.map(u32::from);
        op.quantity = self.record_data_length;
        if let (Some(s), Some(ss)) = (self.slot, self.subslot) {
            op.object = Some(format!("{}/{}/0x{:04x}", s, ss, self.index.unwrap_or(0)));
        }
        op.status = self.pnio_status.filter(|s| *s != 0);
        op.attrs
            .push(("interface", Attr::Str(self.interface.to_string())));
        if let Some(a) = self.api {
            op.attrs.push(("api", Attr::Int(i64::from(a))));
        }
        if let Some(s) = self.slot {
            op.attrs.push(("slot", Attr::Int(i64::from(s))));
        }
        if let Some(s) = self.subslot {
            op.attrs.push(("subslot", Attr::Int(i64::from(s))));
        }
        if let Some(c) = self.control_command {
            op.attrs.push(("control_command", Attr::Str(c.to_string())));
        }
        if let Some(n) = &self.station_name {
            op.attrs
                .push(("initiator_station_name", Attr::Str(n.clone())));
        }
        if let Some(v) = self.vendor_id {
            op.attrs
                .push(("id_vendor", Attr::Str(format!("0x{v:04x}"))));
        }
        if let Some(d) = self.device_id {
            op.attrs
                .push(("id_product", Attr::Str(format!("0x{d:04x}"))));
        }
        Some(op)
    }
}
