//! The Modbus event: Suricata 8's EVE `modbus` object (one per
//! transaction) and the protocol-neutral [`Op`].

use crate::proto::common::bytes_text;
use rules::ot::{Attr, Op, OpClass};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::parser::{
    access, category, diagnostic_name, error_flags, exception_name, flags_string, mei_name,
    parse_dev_id_request, parse_dev_id_response, Data, FunctionCode, Message, Read, Write,
};

/// Values kept in [`Op::values`] (the first written coils/registers).
pub const MAX_OP_VALUES: usize = 64;

/// Owned read part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadData {
    Request { address: u16, quantity: u16 },
    Response(Box<[u8]>),
}

/// Owned write part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteData {
    MultReq {
        address: u16,
        quantity: u16,
        data: Box<[u8]>,
    },
    Mask {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    Other {
        address: u16,
        data: u16,
    },
}

/// Owned PDU data (at most 252 bytes of payload: bounded by the ADU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsgData {
    Exception(u8),
    Diagnostic { sub: u16, data: Box<[u8]> },
    Mei { mei_type: u8, data: Box<[u8]> },
    Read(ReadData),
    Write(WriteData),
    ReadWrite { read: ReadData, write: WriteData },
    Bytes(Box<[u8]>),
    Empty,
}

fn own_read(r: &Read<'_>) -> ReadData {
    match *r {
        Read::Request { address, quantity } => ReadData::Request { address, quantity },
        Read::Response(d) => ReadData::Response(d.into()),
    }
}

fn own_write(w: &Write<'_>) -> WriteData {
    match *w {
        Write::MultReq {
            address,
            quantity,
            data,
        } => WriteData::MultReq {
            address,
            quantity,
            data: data.into(),
        },
        Write::Mask {
            address,
            and_mask,
            or_mask,
        } => WriteData::Mask {
            address,
            and_mask,
            or_mask,
        },
        Write::Other { address, data } => WriteData::Other { address, data },
    }
}

/// One side of a transaction, as logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModbusMessage {
    pub transaction_id: u16,
    pub protocol_id: u16,
    pub unit_id: u8,
    pub function_raw: u8,
    pub function: FunctionCode,
    pub access_type: u8,
    pub category: u8,
    pub error_flags: u8,
    pub data: MsgData,
}

impl ModbusMessage {
    /// Copy what is logged out of a parsed message.
    pub fn from_parsed(m: &Message<'_>) -> ModbusMessage {
        let data = match &m.data {
            Data::Exception(c) => MsgData::Exception(*c),
            Data::Diagnostic { sub, data } => MsgData::Diagnostic {
                sub: *sub,
                data: (*data).into(),
            },
            Data::Mei { mei_type, data } => MsgData::Mei {
                mei_type: *mei_type,
                data: (*data).into(),
            },
            Data::Read(r) => MsgData::Read(own_read(r)),
            Data::Write(w) => MsgData::Write(own_write(w)),
            Data::ReadWrite { read, write } => MsgData::ReadWrite {
                read: own_read(read),
                write: own_write(write),
            },
            Data::Bytes(b) => MsgData::Bytes((*b).into()),
            Data::Empty => MsgData::Empty,
        };
        ModbusMessage {
            transaction_id: m.transaction_id,
            protocol_id: m.protocol_id,
            unit_id: m.unit_id,
            function_raw: m.function_raw,
            function: m.function,
            access_type: m.access_type,
            category: m.category,
            error_flags: m.error_flags,
            data,
        }
    }

    /// The function code without the exception bit.
    pub fn code(&self) -> u8 {
        self.function_raw & 0x7f
    }

    /// Exception code of an exception response.
    pub fn exception(&self) -> Option<u8> {
        match self.data {
            MsgData::Exception(c) if self.function_raw & 0x80 != 0 => Some(c),
            _ => None,
        }
    }
}

/// `{"raw":..,"code":"..","data":".."}` objects.
struct RawCode<'a> {
    raw: u64,
    code: &'a str,
    data: Option<&'a [u8]>,
}

impl Serialize for RawCode<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("raw", &self.raw)?;
        m.serialize_entry("code", self.code)?;
        if let Some(d) = self.data {
            m.serialize_entry("data", &bytes_text(d))?;
        }
        m.end()
    }
}

impl Serialize for ReadData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            ReadData::Request { address, quantity } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("quantity", quantity)?;
            }
            ReadData::Response(d) => m.serialize_entry("data", &bytes_text(d))?,
        }
        m.end()
    }
}

/// The EVE schema's `write` object is `{address, data}` with an integer
/// `data`: a multiple write logs its quantity there (the value the
/// response echoes in the same field), a mask write its address only
/// (the masks and the written values stay in the [`Op`]).
impl Serialize for WriteData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            WriteData::MultReq {
                address, quantity, ..
            } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("data", quantity)?;
            }
            WriteData::Mask { address, .. } => m.serialize_entry("address", address)?,
            WriteData::Other { address, data } => {
                m.serialize_entry("address", address)?;
                m.serialize_entry("data", data)?;
            }
        }
        m.end()
    }
}

/// A message as logged in its slot of the transaction (`response`: the
/// schema's `request` and `response` objects differ).
struct MsgLog<'a> {
    msg: &'a ModbusMessage,
    response: bool,
}

/// Standalone, a message serialises as a request.
impl Serialize for ModbusMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MsgLog {
            msg: self,
            response: false,
        }
        .serialize(s)
    }
}

impl Serialize for MsgLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = self.msg;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("transaction_id", &msg.transaction_id)?;
        m.serialize_entry("protocol_id", &msg.protocol_id)?;
        m.serialize_entry("unit_id", &msg.unit_id)?;
        m.serialize_entry("function_raw", &msg.function_raw)?;
        m.serialize_entry("function_code", msg.function.as_str())?;
        m.serialize_entry(
            "access_type",
            &flags_string(msg.access_type, &access::NAMES),
        )?;
        m.serialize_entry("category", &flags_string(msg.category, &category::NAMES))?;
        m.serialize_entry(
            "error_flags",
            &flags_string(msg.error_flags, &error_flags::NAMES),
        )?;
        match &msg.data {
            // Never parsed in a request; the schema has no place for it.
            MsgData::Exception(_) if !self.response => {}
            MsgData::Exception(c) => m.serialize_entry(
                "exception",
                &RawCode {
                    raw: u64::from(*c),
                    code: exception_name(*c).unwrap_or("Unknown"),
                    data: None,
                },
            )?,
            MsgData::Diagnostic { sub, data } => m.serialize_entry(
                "diagnostic",
                &RawCode {
                    raw: u64::from(*sub),
                    code: diagnostic_name(*sub).unwrap_or("Reserved"),
                    data: Some(data),
                },
            )?,
            // The schema has `mei` in requests only: a response logs the
            // MEI data as its `data` string.
            MsgData::Mei { data, .. } if self.response => {
                m.serialize_entry("data", &bytes_text(data))?
            }
            MsgData::Mei { mei_type, data } => m.serialize_entry(
                "mei",
                &RawCode {
                    raw: u64::from(*mei_type),
                    code: mei_name(*mei_type).unwrap_or("Unknown"),
                    data: Some(data),
                },
            )?,
            MsgData::Read(r) => m.serialize_entry("read", r)?,
            MsgData::Write(w) => m.serialize_entry("write", w)?,
            MsgData::ReadWrite { read, write } => {
                m.serialize_entry("read", read)?;
                m.serialize_entry("write", write)?;
            }
            MsgData::Bytes(b) => m.serialize_entry("data", &bytes_text(b))?,
            MsgData::Empty => {}
        }
        m.end()
    }
}

/// One Modbus transaction: the EVE `modbus` object
/// `{"id":..,"request":{..},"response":{..}}`.
#[derive(Clone, Debug)]
pub struct ModbusEvent {
    pub(crate) tx: u64,
    /// Suricata's transaction id: 1-based (`tx_id() + 1`).
    pub id: u64,
    pub request: Option<ModbusMessage>,
    pub response: Option<ModbusMessage>,
}

impl Serialize for ModbusEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        if let Some(q) = &self.request {
            m.serialize_entry(
                "request",
                &MsgLog {
                    msg: q,
                    response: false,
                },
            )?;
        }
        if let Some(r) = &self.response {
            m.serialize_entry(
                "response",
                &MsgLog {
                    msg: r,
                    response: true,
                },
            )?;
        }
        m.end()
    }
}

/// UMAS (Schneider, function 90) sub-function: name and class. Codes as
/// published by independent protocol analyses of Unity/EcoStruxure traffic.
pub fn umas_function(code: u8) -> (&'static str, OpClass) {
    use OpClass::*;
    match code {
        0x01 => ("umas_init_comm", Session),
        0x02 => ("umas_read_id", Discovery),
        0x03 => ("umas_read_project_info", Discovery),
        0x04 => ("umas_read_plc_info", Discovery),
        0x06 => ("umas_read_card_info", Discovery),
        0x0a => ("umas_repeat", Diagnostic),
        0x10 => ("umas_take_plc_reservation", Session),
        0x11 => ("umas_release_plc_reservation", Session),
        0x12 => ("umas_keep_alive", Session),
        0x20 => ("umas_read_memory_block", Read),
        0x22 => ("umas_read_variables", Read),
        0x23 => ("umas_write_variables", Write),
        0x24 => ("umas_read_coils_registers", Read),
        0x25 => ("umas_write_coils_registers", Write),
        0x30 => ("umas_initialize_upload", Upload),
        0x31 => ("umas_upload_block", Upload),
        0x32 => ("umas_end_strategy_upload", Upload),
        0x33 => ("umas_initialize_download", Download),
        0x34 => ("umas_download_block", Download),
        0x35 => ("umas_end_strategy_download", Download),
        0x39 => ("umas_read_eth_master_data", Read),
        0x40 => ("umas_start_plc", ModeChange),
        0x41 => ("umas_stop_plc", ModeChange),
        0x50 => ("umas_monitor_plc", Read),
        0x58 => ("umas_check_plc", Diagnostic),
        0x70 => ("umas_read_io_object", Read),
        0x71 => ("umas_write_io_object", Write),
        0x73 => ("umas_get_status_module", Diagnostic),
        _ => ("umas", Other),
    }
}

/// `Op::function` and class of a message (request, or response alone).
pub fn function_of(m: &ModbusMessage) -> (&'static str, OpClass) {
    use OpClass::*;
    let code = m.code();
    match code {
        1 => ("read_coils", Read),
        2 => ("read_discrete_inputs", Read),
        3 => ("read_holding_registers", Read),
        4 => ("read_input_registers", Read),
        5 => ("write_single_coil", Write),
        6 => ("write_single_register", Write),
        7 => ("read_exception_status", Diagnostic),
        8 => match m.data {
            MsgData::Diagnostic { sub: 0x01, .. } => ("restart_communications_option", Restart),
            MsgData::Diagnostic { sub: 0x04, .. } => ("force_listen_only_mode", ModeChange),
            _ => ("diagnostics", Diagnostic),
        },
        9 => ("program_484", Download),
        10 => ("poll_484", Other),
        11 => ("get_comm_event_counter", Diagnostic),
        12 => ("get_comm_event_log", Diagnostic),
        13 => ("program_controller", Download),
        14 => ("poll_controller", Other),
        15 => ("write_multiple_coils", Write),
        16 => ("write_multiple_registers", Write),
        17 => ("report_server_id", Discovery),
        18 => ("program_884", Download),
        19 => ("reset_comm_link", Restart),
        20 => ("read_file_record", File),
        21 => ("write_file_record", File),
        22 => ("mask_write_register", Write),
        23 => ("read_write_multiple_registers", Write),
        24 => ("read_fifo_queue", Read),
        43 => match m.data {
            MsgData::Mei { mei_type: 0x0e, .. } => ("read_device_identification", Discovery),
            MsgData::Mei { mei_type: 0x0d, .. } => ("canopen_general_reference", Other),
            _ => ("encapsulated_interface_transport", Other),
        },
        90 => match &m.data {
            // UMAS: session byte, then the UMAS function code (requests).
            MsgData::Bytes(b) if m.function_raw & 0x80 == 0 && b.len() >= 2 => umas_function(b[1]),
            _ => ("umas", Other),
        },
        65..=72 | 100..=110 => ("user_defined", Other),
        _ => ("unknown", Other),
    }
}

/// Written values of a request, bounded; `true` when cut.
fn written_values(m: &ModbusMessage, out: &mut Vec<f64>) -> bool {
    let coils = m.access_type & access::COILS != 0;
    let w = match &m.data {
        MsgData::Write(w) => w,
        MsgData::ReadWrite { write, .. } => write,
        _ => return false,
    };
    match w {
        WriteData::Other { data, .. } if m.access_type & access::SINGLE != 0 => {
            out.push(if coils {
                f64::from(u8::from(*data != 0))
            } else {
                f64::from(*data)
            });
            false
        }
        WriteData::MultReq { quantity, data, .. } => {
            let q = usize::from(*quantity);
            if coils {
                let n = q.min(data.len() * 8);
                for i in 0..n.min(MAX_OP_VALUES) {
                    let bit = data.get(i / 8).map_or(0, |b| (b >> (i % 8)) & 1);
                    out.push(f64::from(bit));
                }
                n > MAX_OP_VALUES
            } else {
                let n = q.min(data.len() / 2);
                for c in data.chunks_exact(2).take(n.min(MAX_OP_VALUES)) {
                    out.push(f64::from(u16::from_be_bytes([c[0], c[1]])));
                }
                n > MAX_OP_VALUES
            }
        }
        _ => false,
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .trim_end_matches('\0')
        .trim()
        .to_owned()
}

/// Identity facts of a Read Device Identification response.
fn device_id_attrs(resp: &ModbusMessage, op: &mut Op) {
    let MsgData::Mei {
        mei_type: 0x0e,
        data,
    } = &resp.data
    else {
        return;
    };
    let Some(r) = parse_dev_id_response(data) else {
        return;
    };
    op.attrs
        .push(("conformity_level", Attr::Int(i64::from(r.conformity_level))));
    for o in &r.objects {
        let key = match o.id {
            0x00 => "id_vendor",
            0x01 => "id_product",
            0x02 => "id_version",
            0x03 => "vendor_url",
            0x04 => "id_name",
            0x05 => "id_model",
            0x06 => "user_application_name",
            _ => continue,
        };
        let v = text(o.value);
        if !v.is_empty() && op.attr(key).is_none() {
            op.attrs.push((key, Attr::Str(v)));
        }
    }
}

impl ModbusEvent {
    /// Per-flow transaction counter, from 0.
    pub fn tx_id(&self) -> u64 {
        self.tx
    }

    /// The protocol-neutral operation (the request, or the response alone).
    pub fn op(&self) -> Option<Op> {
        let (m, response_only) = match (&self.request, &self.response) {
            (Some(q), _) => (q, false),
            (None, Some(r)) => (r, true),
            (None, None) => return None,
        };
        let (function, class) = function_of(m);
        let mut op = Op::new("modbus", function, u32::from(m.code()), class);
        op.response_only = response_only;
        op.unit = Some(u32::from(m.unit_id));
        match &m.data {
            MsgData::Read(ReadData::Request { address, quantity }) => {
                op.address = Some(u32::from(*address));
                op.quantity = Some(u32::from(*quantity));
            }
            MsgData::Write(w) | MsgData::ReadWrite { write: w, .. } => match w {
                WriteData::MultReq {
                    address, quantity, ..
                } => {
                    op.address = Some(u32::from(*address));
                    op.quantity = Some(u32::from(*quantity));
                }
                WriteData::Mask {
                    address,
                    and_mask,
                    or_mask,
                } => {
                    op.address = Some(u32::from(*address));
                    op.quantity = Some(1);
                    op.attrs.push(("and_mask", Attr::Int(i64::from(*and_mask))));
                    op.attrs.push(("or_mask", Attr::Int(i64::from(*or_mask))));
                }
                WriteData::Other { address, .. } => {
                    op.address = Some(u32::from(*address));
                    if m.access_type & access::SINGLE != 0 {
                        op.quantity = Some(1);
                    }
                }
            },
            MsgData::Diagnostic { sub, .. } => {
                op.attrs.push(("subfunction", Attr::Int(i64::from(*sub))));
            }
            MsgData::Mei { mei_type, data } => {
                op.attrs.push(("mei_type", Attr::Int(i64::from(*mei_type))));
                if *mei_type == 0x0e && !response_only {
                    if let Some((code, obj)) = parse_dev_id_request(data) {
                        op.attrs
                            .push(("read_dev_id_code", Attr::Int(i64::from(code))));
                        op.attrs.push(("object_id", Attr::Int(i64::from(obj))));
                    }
                }
            }
            MsgData::Bytes(b) if m.code() == 90 && b.len() >= 2 && m.function_raw & 0x80 == 0 => {
                op.attrs.push(("umas_code", Attr::Int(i64::from(b[1]))));
            }
            _ => {}
        }
        if let MsgData::ReadWrite {
            read: ReadData::Request { address, quantity },
            ..
        } = &m.data
        {
            op.attrs
                .push(("read_address", Attr::Int(i64::from(*address))));
            op.attrs
                .push(("read_quantity", Attr::Int(i64::from(*quantity))));
        }
        if !response_only && written_values(m, &mut op.values) {
            op.attrs.push(("values_truncated", Attr::Bool(true)));
        }
        if let Some(r) = &self.response {
            if let Some(exc) = r.exception() {
                op.status = Some(u32::from(exc));
            }
            device_id_attrs(r, &mut op);
            if r.code() == 17 {
                // Report Server ID: byte count, server id, run indicator.
                if let MsgData::Bytes(b) = &r.data {
                    if let [_, id, run, ..] = **b {
                        op.attrs.push(("server_id", Attr::Int(i64::from(id))));
                        op.attrs.push(("run_indicator", Attr::Bool(run == 0xff)));
                    }
                }
            }
        }
        if m.error_flags != 0 {
            op.attrs
                .push(("error_flags", Attr::Int(i64::from(m.error_flags))));
        }
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{parse_adu, Direction};
    use super::*;

    #[test]
    fn bytes_string_like_suricata() {
        assert_eq!(bytes_text(b"ab"), "ab");
        assert_eq!(bytes_text(&[0x00, 0x41, 0xff]), "\u{0}A\\xff");
    }

    #[test]
    fn eve_shape_read_coils() {
        let q = [0, 1, 0, 0, 0, 6, 10, 1, 0, 0, 0, 8];
        let r = [0, 1, 0, 0, 0, 4, 10, 1, 1, 0x55];
        let ev = ModbusEvent {
            tx: 0,
            id: 1,
            request: Some(ModbusMessage::from_parsed(
                &parse_adu(&q, Direction::Request).expect("q"),
            )),
            response: Some(ModbusMessage::from_parsed(
                &parse_adu(&r, Direction::Response).expect("r"),
            )),
        };
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"id":1,
                "request":{"transaction_id":1,"protocol_id":0,"unit_id":10,"function_raw":1,
                    "function_code":"RdCoils","access_type":"READ | COILS","category":"PUBLIC_ASSIGNED",
                    "error_flags":"NONE","read":{"address":0,"quantity":8}},
                "response":{"transaction_id":1,"protocol_id":0,"unit_id":10,"function_raw":1,
                    "function_code":"RdCoils","access_type":"READ | COILS","category":"PUBLIC_ASSIGNED",
                    "error_flags":"NONE","read":{"data":"U"}}})
        );
        let op = ev.op().expect("op");
        assert_eq!(op.function, "read_coils");
        assert_eq!(op.class, OpClass::Read);
        assert_eq!(
            (op.unit, op.address, op.quantity),
            (Some(10), Some(0), Some(8))
        );
    }

    fn pair(q: &[u8], r: &[u8]) -> ModbusEvent {
        ModbusEvent {
            tx: 0,
            id: 1,
            request: Some(ModbusMessage::from_parsed(
                &parse_adu(q, Direction::Request).expect("q"),
            )),
            response: Some(ModbusMessage::from_parsed(
                &parse_adu(r, Direction::Response).expect("r"),
            )),
        }
    }

    #[test]
    fn eve_shape_follows_schema_for_writes_and_mei() {
        // Write Multiple Registers: 2 registers from 1, values 0xaa, 0xbb.
        let ev = pair(
            &[0, 1, 0, 0, 0, 11, 1, 16, 0, 1, 0, 2, 4, 0, 0xaa, 0, 0xbb],
            &[0, 1, 0, 0, 0, 6, 1, 16, 0, 1, 0, 2],
        );
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(
            v["request"]["write"],
            serde_json::json!({"address":1,"data":2})
        );
        assert_eq!(
            v["response"]["write"],
            serde_json::json!({"address":1,"data":2})
        );
        let op = ev.op().expect("op");
        assert_eq!((op.address, op.quantity), (Some(1), Some(2)));
        assert_eq!(op.values, vec![170.0, 187.0]);

        // Mask Write Register: address only; the masks stay in the op.
        let mask = [0, 2, 0, 0, 0, 8, 1, 22, 0, 10, 0xde, 0xad, 0, 0];
        let ev = pair(&mask, &mask);
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(v["request"]["write"], serde_json::json!({"address":10}));
        assert_eq!(v["response"]["write"], serde_json::json!({"address":10}));
        let op = ev.op().expect("op");
        assert_eq!(op.attr("and_mask"), Some(&Attr::Int(0xdead)));
        assert_eq!(op.attr("or_mask"), Some(&Attr::Int(0)));

        // Read Device Identification: `mei` in the request, the MEI data
        // as `data` in the response.
        let ev = pair(
            &[0, 3, 0, 0, 0, 5, 1, 43, 14, 1, 0],
            &[
                0, 3, 0, 0, 0, 13, 1, 43, 14, 1, 1, 0, 0, 1, 0, 3, b'a', b'b', b'c',
            ],
        );
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(v["request"]["mei"]["raw"], 14);
        assert!(v["response"].get("mei").is_none());
        assert_eq!(
            v["response"]["data"],
            "\u{1}\u{1}\u{0}\u{0}\u{1}\u{0}\u{3}abc"
        );
        let op = ev.op().expect("op");
        assert_eq!(op.attr("mei_type"), Some(&Attr::Int(14)));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("abc".into())));
    }

    #[test]
    fn op_written_coils_bounded() {
        // 80 coils, all on.
        let mut q = vec![0, 1, 0, 0, 0, 17, 1, 15, 0, 5, 0, 80, 10];
        q.extend([0xff; 10]);
        let m = parse_adu(&q, Direction::Request).expect("m");
        assert_eq!(m.error_flags, 0);
        let ev = ModbusEvent {
            tx: 3,
            id: 4,
            request: Some(ModbusMessage::from_parsed(&m)),
            response: None,
        };
        let op = ev.op().expect("op");
        assert_eq!(op.values.len(), MAX_OP_VALUES);
        assert!(op.values.iter().all(|v| *v == 1.0));
        assert_eq!(op.attr("values_truncated"), Some(&Attr::Bool(true)));
        assert_eq!((op.address, op.quantity), (Some(5), Some(80)));
        assert_eq!(ev.tx_id(), 3);
    }
}
