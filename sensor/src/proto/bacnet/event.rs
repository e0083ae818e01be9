//! The EVE `bacnet` object and its [`Op`] view.
//!
//! Field meanings follow Zeek ICSNPP-BACnet (`bvlc_function`, `pdu_type`,
//! `pdu_service`, `invoke_id`, `result_code`, `object_type`,
//! `instance_number`, `property`, `array_index`, `value`, `range`,
//! `object_name`, `vendor`, `device_state`, `time_duration`), with
//! snake_case names and values; one event per confirmed transaction
//! (`request` + `response`) or per unconfirmed/standalone PDU.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::names;
use super::parser::{self, Apdu, PropRef, ServiceInfo, Value};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Text form of a decoded value.
pub fn value_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Unsigned(n) | Value::Enumerated(n) => n.to_string(),
        Value::Signed(n) => n.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Double(f) => format!("{f:?}"),
        Value::OctetString(n) => format!("octet-string({n})"),
        Value::CharacterString(s) => s.clone(),
        Value::BitString(n) => format!("bit-string({n})"),
        Value::Date(d) => {
            if d[0] == 255 {
                format!("????-{:02}-{:02}", d[1], d[2])
            } else {
                format!("{}-{:02}-{:02}", 1900 + u32::from(d[0]), d[1], d[2])
            }
        }
        Value::Time(t) => format!("{:02}:{:02}:{:02}.{:02}", t[0], t[1], t[2], t[3]),
        Value::ObjectId(t, i) => names::object_string(*t, *i),
        Value::Constructed => "constructed".into(),
    }
}

/// Routing part of the NPDU, logged only when present.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct NpduInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnet: Option<u16>,
    /// Destination MAC, lower-case hex (empty = broadcast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dadr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snet: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sadr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_count: Option<u8>,
}

impl NpduInfo {
    pub fn from_npdu(n: &parser::Npdu<'_>) -> Option<NpduInfo> {
        if n.dnet.is_none() && n.snet.is_none() {
            return None;
        }
        let hex = |a: &[u8]| a.iter().map(|b| format!("{b:02x}")).collect::<String>();
        Some(NpduInfo {
            dnet: n.dnet,
            dadr: n.dadr.map(hex),
            snet: n.snet,
            sadr: n.sadr.map(hex),
            hop_count: n.hop_count,
        })
    }
}

/// A network layer message (clause 6.4).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NetworkMessage {
    /// snake_case message type name.
    pub message_type: &'static str,
    /// Message type code.
    pub code: u8,
    /// Vendor of a proprietary message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
    /// Network numbers carried (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<u16>,
}

impl NetworkMessage {
    pub fn from_npdu(n: &parser::Npdu<'_>) -> Option<NetworkMessage> {
        let t = n.message_type?;
        let mut networks = Vec::new();
        // Who-Is-Router, I-Am-Router, Router-Busy/Available, What-Is /
        // Network-Number-Is: lists of 2-octet network numbers;
        // I-Could-Be-Router and Reject carry one (after a reason octet for
        // Reject).
        let list = match t {
            0x00 | 0x01 | 0x04 | 0x05 | 0x13 => n.payload,
            0x02 => n.payload.get(..2).unwrap_or(&[]),
            0x03 => n.payload.get(1..3).unwrap_or(&[]),
            _ => &[],
        };
        for p in list.chunks_exact(2).take(16) {
            networks.push(u16::from_be_bytes([p[0], p[1]]));
        }
        Some(NetworkMessage {
            message_type: parser::network_message_name(t),
            code: t,
            vendor_id: n.message_vendor,
            networks,
        })
    }
}

/// BVLC control parameters (Annex J).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct BvlcInfo {
    /// Register-Foreign-Device time-to-live, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u16>,
    /// BDT/FDT entries written or returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u32>,
    /// BVLC-Result name (`successful_completion`, `..._nak`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip)]
    pub result_code: Option<u16>,
}

/// One property reference of a multiple-property service.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PropertyEntry {
    pub object_type: String,
    pub instance_number: u32,
    pub property: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Access error `class:code` of an RPM-ACK entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn object_type_string(t: u16) -> String {
    names::object_type(t).map_or_else(|| t.to_string(), str::to_string)
}

fn error_code_string(c: u32) -> String {
    names::error_code(c).map_or_else(|| c.to_string(), str::to_string)
}

impl PropertyEntry {
    fn from_ref(r: &PropRef) -> Self {
        PropertyEntry {
            object_type: object_type_string(r.object.0),
            instance_number: r.object.1,
            property: names::property_string(r.property),
            array_index: r.array_index,
            value: r.value.as_ref().map(value_string),
            priority: r.priority,
            error: r.error.map(|(cl, co)| {
                format!(
                    "{}:{}",
                    names::error_class(cl).map_or_else(|| cl.to_string(), str::to_string),
                    error_code_string(co)
                )
            }),
        }
    }
}

/// One APDU half of a transaction (or a standalone PDU).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct ApduInfo {
    /// `confirmed_request`, `unconfirmed_request`, `simple_ack`,
    /// `complex_ack`, `segment_ack`, `error`, `reject`, `abort`.
    pub pdu_type: &'static str,
    /// Service name (snake_case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdu_service: Option<&'static str>,
    /// Service choice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_choice: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u8>,
    /// Segments seen (segmented messages only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<u32>,
    /// Segment-ACKs seen for this message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_acks: Option<u32>,
    /// Proposed/actual window size of a segmented message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_size: Option<u8>,
    /// Retransmissions of the same confirmed request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Property values (written, read back or notified; first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Property references of multiple-property services (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyEntry>,
    /// More values or references than logged.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// I-Am / I-Have device, COV/event initiating device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_instance: Option<u32>,
    /// I-Am max APDU length accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_apdu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<&'static str>,
    /// I-Am / private transfer vendor identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// Vendor name when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<&'static str>,
    /// Private transfer service number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_number: Option<u32>,
    /// Who-Is / Who-Has instance range: `low-high` or `all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    /// ReinitializeDevice state or DeviceCommunicationControl setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_state: Option<&'static str>,
    /// DeviceCommunicationControl duration, minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_duration: Option<u32>,
    /// A password was sent (its value is never logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<bool>,
    /// Atomic file access: `stream` or `record`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_access: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_start: Option<i64>,
    /// Octets or records requested / written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u32>,
    /// Octets of file data in this PDU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_file: Option<bool>,
    /// COV subscriber process identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    /// COV subscription lifetime / time remaining, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    /// TimeSynchronization date and time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `success`, `error`, `reject` or `abort` (responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    /// Error code, reject reason or abort reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    /// Abort/segment-ack sent by the server (SRV flag).
    #[serde(skip_serializing_if = "is_false")]
    pub server: bool,
    /// Parameters did not decode completely.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,

    // Typed copies for `op()`.
    #[serde(skip)]
    pub pdu_code: u8,
    #[serde(skip)]
    pub object: Option<(u16, u32)>,
    #[serde(skip)]
    pub property_id: Option<u32>,
    #[serde(skip)]
    pub state_code: Option<u32>,
    #[serde(skip)]
    pub numbers: Vec<f64>,
    #[serde(skip)]
    pub items_total: usize,
    #[serde(skip)]
    pub status: Option<u32>,
    /// Identity facts revealed by a read of the device object.
    #[serde(skip)]
    pub identity: Vec<(&'static str, String)>,
    /// Device instance revealed by a read of a device's object-identifier.
    #[serde(skip)]
    pub learned_device: Option<u32>,
}

impl ApduInfo {
    /// Header fields of an APDU.
    pub fn from_apdu(a: &Apdu<'_>) -> ApduInfo {
        let confirmed_like = matches!(
            a.pdu_type,
            parser::pdu::CONFIRMED_REQUEST
                | parser::pdu::SIMPLE_ACK
                | parser::pdu::COMPLEX_ACK
                | parser::pdu::ERROR
        );
        let pdu_service = a.service.map(|s| {
            if confirmed_like {
                names::confirmed_service(s)
            } else {
                names::unconfirmed_service(s)
            }
        });
        let mut i = ApduInfo {
            pdu_type: parser::pdu_type_name(a.pdu_type),
            pdu_service,
            service_choice: a.service,
            invoke_id: a.invoke_id,
            pdu_code: a.pdu_type,
            server: a.server,
            ..ApduInfo::default()
        };
        if a.segmented {
            i.segments = Some(1);
            i.window_size = a.window_size;
        }
        match a.pdu_type {
            parser::pdu::SIMPLE_ACK | parser::pdu::COMPLEX_ACK => i.result = Some("success"),
            parser::pdu::ERROR => {
                i.result = Some("error");
                if let Some((class, code)) = parser::decode_error(a.params) {
                    i.error_class = Some(
                        names::error_class(class).map_or_else(|| class.to_string(), str::to_string),
                    );
                    i.result_code = Some(error_code_string(code));
                    i.status = Some(code);
                } else {
                    i.malformed = true;
                }
            }
            parser::pdu::REJECT => {
                i.result = Some("reject");
                let r = a.reason.unwrap_or(0);
                i.result_code =
                    Some(names::reject_reason(r).map_or_else(|| r.to_string(), str::to_string));
                i.status = Some(u32::from(r));
            }
            parser::pdu::ABORT => {
                i.result = Some("abort");
                let r = a.reason.unwrap_or(0);
                i.result_code =
                    Some(names::abort_reason(r).map_or_else(|| r.to_string(), str::to_string));
                i.status = Some(u32::from(r));
            }
            _ => {}
        }
        i
    }

    /// Add decoded service parameters.
    pub fn add_service(&mut self, s: &ServiceInfo, written: bool) {
        let service = self.service_choice.unwrap_or(0);
        let confirmed = self.pdu_code != parser::pdu::UNCONFIRMED_REQUEST;
        if let Some((t, inst)) = s.object {
            self.object_type = Some(object_type_string(t));
            self.instance_number = Some(inst);
            self.object = Some((t, inst));
        } else if let Some(t) = s.object_type {
            self.object_type = Some(object_type_string(t));
        }
        self.property = s.property.map(names::property_string);
        self.property_id = s.property;
        self.array_index = s.array_index;
        self.priority = s.priority;
        self.properties = if s.items_total > 1 || (s.items_total == 1 && s.property.is_none()) {
            s.items.iter().map(PropertyEntry::from_ref).collect()
        } else {
            Vec::new()
        };
        if self.properties.is_empty() {
            self.values = s.values.iter().map(value_string).collect();
        }
        self.items_total = s.items_total;
        self.truncated = s.value_count > s.values.len() || s.items_total > s.items.len();
        if written {
            self.numbers = s.values.iter().filter_map(Value::as_f64).collect();
        }
        self.device_instance = s.device;
        self.max_apdu = s.max_apdu;
        self.segmentation = s.segmentation.and_then(names::segmentation);
        self.vendor_id = s.vendor_id;
        self.vendor = s.vendor_id.and_then(names::vendor);
        self.service_number = s.service_number;
        if !confirmed
            && (service == parser::unconfirmed::WHO_IS || service == parser::unconfirmed::WHO_HAS)
        {
            self.range = Some(match (s.low_limit, s.high_limit) {
                (Some(l), Some(h)) => format!("{l}-{h}"),
                _ => "all".to_string(),
            });
        }
        self.object_name = s.object_name.clone();
        self.state_code = s.state;
        if confirmed && service == parser::confirmed::REINITIALIZE_DEVICE {
            self.device_state = s.state.and_then(names::reinit_state);
            self.password = Some(s.password);
        }
        if confirmed && service == parser::confirmed::DEVICE_COMMUNICATION_CONTROL {
            self.device_state = s.state.and_then(names::dcc_state);
            self.time_duration = s.duration;
            self.password = Some(s.password);
        }
        self.file_access = s.file_access;
        self.file_start = s.file_start;
        self.file_count = s.file_count;
        self.file_data_length = s.file_data;
        self.end_of_file = s.end_of_file;
        self.process_id = s.process_id;
        self.lifetime = s.lifetime;
        self.time = s.time.clone();
        self.malformed |= s.malformed;
        self.identity = identity_of(s);
        if s.property == Some(75) {
            if let Some(Value::ObjectId(8, d)) = s.values.first() {
                self.learned_device = Some(*d);
            }
        }
    }
}

/// The BACnet device-object properties that identify a device.
fn identity_of(s: &ServiceInfo) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |obj: (u16, u32), prop: u32, v: Option<&Value>| {
        if obj.0 != 8 {
            return;
        }
        let key = match prop {
            121 => "id_vendor",
            70 => "id_model",
            44 => "id_version",
            77 => "id_name",
            372 => "id_serial",
            120 => "id_vendor_number",
            _ => return,
        };
        match (key, v) {
            ("id_vendor_number", Some(Value::Unsigned(n))) => {
                out.push((
                    "id_vendor",
                    names::vendor(*n).map_or_else(|| n.to_string(), str::to_string),
                ));
            }
            (_, Some(Value::CharacterString(t))) if key != "id_vendor_number" && !t.is_empty() => {
                out.push((key, t.clone()))
            }
            _ => {}
        }
    };
    if let (Some(obj), Some(prop)) = (s.object, s.property) {
        if s.items.is_empty() {
            add(obj, prop, s.values.first());
        }
    }
    for it in &s.items {
        add(it.object, it.property, it.value.as_ref());
    }
    out
}

/// One BACnet event: a confirmed transaction, an unconfirmed request, a
/// network layer message or a BVLC control exchange.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct BacnetEvent {
    /// Per-flow transaction counter.
    pub tx_id: u64,
    /// The request (or standalone PDU) was sent by the flow originator.
    pub is_orig: bool,
    /// BVLC function of the request (or standalone PDU).
    pub bvlc_function: &'static str,
    /// Forwarded-NPDU originating address `a.b.c.d:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npdu: Option<NpduInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_message: Option<NetworkMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bvlc: Option<BvlcInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<ApduInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ApduInfo>,
    /// Device instance of the addressed device, when known (Op::unit).
    #[serde(skip)]
    pub unit: Option<u32>,
    #[serde(skip)]
    pub bvlc_code: u8,
}

/// Class of a confirmed service.
pub fn confirmed_class(s: u8) -> OpClass {
    match s {
        0 | 27 => OpClass::Command,
        1 | 2 | 31 | 32 => OpClass::Report,
        3 | 4 | 5 | 12 | 13 | 14 | 26 | 28 | 29 | 30 | 33 => OpClass::Read,
        6 | 7 => OpClass::File,
        8 | 9 | 10 | 11 | 15 | 16 => OpClass::Write,
        17 => OpClass::ModeChange,
        20 => OpClass::Restart,
        21..=23 => OpClass::Session,
        24 | 25 => OpClass::Security,
        _ => OpClass::Other,
    }
}

/// Class of an unconfirmed service.
pub fn unconfirmed_class(s: u8) -> OpClass {
    match s {
        0 | 1 | 7 | 8 | 13 | 14 => OpClass::Discovery,
        2 | 3 | 11 | 12 => OpClass::Report,
        6 | 9 => OpClass::Diagnostic,
        10 => OpClass::Write,
        _ => OpClass::Other,
    }
}

/// Class of a network layer message.
pub fn network_class(t: u8) -> OpClass {
    match t {
        0x00..=0x02 | 0x12 | 0x13 => OpClass::Discovery,
        0x03..=0x05 => OpClass::Diagnostic,
        0x06 | 0x07 => OpClass::Write,
        0x08 | 0x09 => OpClass::Session,
        0x0a..=0x11 => OpClass::Security,
        _ => OpClass::Other,
    }
}

impl BacnetEvent {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let mut op = if let Some(nm) = &self.network_message {
            let mut op = Op::new(
                "bacnet",
                nm.message_type,
                u32::from(nm.code),
                network_class(nm.code),
            );
            if let Some(n) = nm.networks.first() {
                op.address = Some(u32::from(*n));
            }
            op
        } else if let Some(b) = &self.bvlc {
            let f = self.bvlc_code;
            let class = match f {
                parser::bvlc::REGISTER_FOREIGN_DEVICE => OpClass::Session,
                parser::bvlc::WRITE_BDT | parser::bvlc::DELETE_FDT_ENTRY => OpClass::Write,
                parser::bvlc::READ_BDT
                | parser::bvlc::READ_FDT
                | parser::bvlc::READ_BDT_ACK
                | parser::bvlc::READ_FDT_ACK => OpClass::Read,
                _ => OpClass::Other,
            };
            let mut op = Op::new("bacnet", self.bvlc_function, u32::from(f), class);
            op.response_only = matches!(
                f,
                parser::bvlc::RESULT | parser::bvlc::READ_BDT_ACK | parser::bvlc::READ_FDT_ACK
            );
            op.status = b.result_code.filter(|&c| c != 0).map(u32::from);
            op.quantity = b.entries;
            op
        } else {
            let main = self.request.as_ref().or(self.response.as_ref())?;
            let (function, code, class) = match main.pdu_code {
                parser::pdu::UNCONFIRMED_REQUEST => {
                    let s = main.service_choice.unwrap_or(0);
                    (
                        names::unconfirmed_service(s),
                        u32::from(s),
                        unconfirmed_class(s),
                    )
                }
                parser::pdu::SEGMENT_ACK | parser::pdu::REJECT | parser::pdu::ABORT => {
                    (main.pdu_type, u32::from(main.pdu_code), OpClass::Other)
                }
                _ => {
                    let s = main.service_choice.unwrap_or(0);
                    (
                        names::confirmed_service(s),
                        u32::from(s),
                        confirmed_class(s),
                    )
                }
            };
            let mut op = Op::new("bacnet", function, code, class);
            op.response_only = self.request.is_none()
                || (main.pdu_code == parser::pdu::UNCONFIRMED_REQUEST
                    && matches!(main.service_choice, Some(0) | Some(1)));
            op.unit = self.unit;
            if let Some((t, i)) = main.object {
                op.address = Some(i);
                op.object = Some(names::object_string(t, i));
            }
            if main.items_total > 1 {
                op.quantity = u32::try_from(main.items_total).ok();
            } else if let Some(n) = main.file_count {
                op.quantity = Some(n);
            }
            op.values = main.numbers.clone();
            op.attrs
                .push(("pdu_type", Attr::Str(main.pdu_type.to_string())));
            if let Some(id) = main.invoke_id {
                op.attrs.push(("invoke_id", Attr::Int(i64::from(id))));
            }
            if let Some(p) = &main.property {
                op.attrs.push(("property", Attr::Str(p.clone())));
            }
            if let Some(p) = main.array_index {
                op.attrs.push(("array_index", Attr::Int(i64::from(p))));
            }
            if let Some(p) = main.priority {
                op.attrs.push(("priority", Attr::Int(i64::from(p))));
            }
            if let Some(s) = main.device_state {
                op.attrs.push(("device_state", Attr::Str(s.to_string())));
            }
            if let Some(p) = main.password {
                op.attrs.push(("password", Attr::Bool(p)));
            }
            if let Some(d) = main.time_duration {
                op.attrs.push(("time_duration", Attr::Int(i64::from(d))));
            }
            if let Some(v) = main.vendor_id {
                op.attrs.push(("vendor_id", Attr::Int(i64::from(v))));
                if main.service_choice == Some(0)
                    && main.pdu_code == parser::pdu::UNCONFIRMED_REQUEST
                {
                    let name = main.vendor.map_or_else(|| v.to_string(), str::to_string);
                    op.attrs.push(("id_vendor", Attr::Str(name)));
                }
            }
            if let Some(n) = main.service_number {
                op.attrs.push(("service_number", Attr::Int(i64::from(n))));
            }
            if let Some(r) = &main.range {
                op.attrs.push(("range", Attr::Str(r.clone())));
            }
            if let Some(n) = &main.object_name {
                op.attrs.push(("object_name", Attr::Str(n.clone())));
            }
            if let Some(d) = main.device_instance {
                op.attrs.push(("device_instance", Attr::Int(i64::from(d))));
            }
            if let Some(r) = &self.response {
                if let Some(res) = r.result {
                    if res != "success" {
                        op.attrs.push(("result", Attr::Str(res.to_string())));
                    }
                }
                if let Some(c) = &r.error_class {
                    op.attrs.push(("error_class", Attr::Str(c.clone())));
                }
                if let Some(c) = &r.result_code {
                    op.attrs.push(("result_code", Attr::Str(c.clone())));
                }
                op.status = r.status;
                for (k, v) in &r.identity {
                    op.attrs.push((k, Attr::Str(v.clone())));
                }
            }
            op
        };
        op.attrs.push(("is_orig", Attr::Bool(self.is_orig)));
        if let Some(n) = &self.npdu {
            if let Some(d) = n.dnet {
                op.attrs.push(("dnet", Attr::Int(i64::from(d))));
            }
            if let Some(s) = n.snet {
                op.attrs.push(("snet", Attr::Int(i64::from(s))));
            }
        }
        Some(op)
    }
}
