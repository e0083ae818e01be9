//! The protocol-neutral view of one OT operation that behaviour rules, the
//! learned baseline and the asset inventory work on.
//!
//! Every OT decoder (Modbus, DNP3, IEC-104, S7comm, ENIP/CIP, BACnet,
//! OPC UA, IEC 61850, and the recognised-only protocols) turns each
//! transaction or PDU it logs into one [`Op`]: which protocol, which
//! function (a stable snake_case name per protocol plus the numeric code),
//! which unit/station, which data addresses, which values. Fields a protocol
//! does not have stay `None`/empty; protocol-specific extras go in
//! [`Op::attrs`] under documented names.

/// What an operation does, independent of protocol. Rules and the baseline
/// can match a class instead of listing every function code of every
/// protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpClass {
    /// Reads process data or configuration.
    Read,
    /// Writes process data (registers, coils, points, properties, nodes).
    Write,
    /// Operates an output or a control point (select/operate, direct
    /// operate, IEC-104 commands, OPC UA Call).
    Command,
    /// Changes the device's operating mode: PLC stop/start/run, program
    /// mode, communication enable/disable.
    ModeChange,
    /// Sends program, configuration or firmware to the device.
    Download,
    /// Reads program, configuration or firmware from the device.
    Upload,
    /// Restarts or resets the device.
    Restart,
    /// Identification, enumeration or scanning (device identification,
    /// ListIdentity, Who-Is, SZL reads, DCP identify).
    Discovery,
    /// Diagnostics, time synchronisation and other maintenance functions.
    Diagnostic,
    /// File transfer and file management.
    File,
    /// Session and association management (open, close, setup, keep-alive).
    Session,
    /// Security functions: passwords, keys, authentication.
    Security,
    /// Spontaneous data the device sends unasked (DNP3 unsolicited
    /// responses, IEC-104 spontaneous ASDUs, GOOSE publications).
    Report,
    /// Anything else.
    Other,
}

impl OpClass {
    /// Every class, in declaration order.
    pub const ALL: &'static [OpClass] = &[
        OpClass::Read,
        OpClass::Write,
        OpClass::Command,
        OpClass::ModeChange,
        OpClass::Download,
        OpClass::Upload,
        OpClass::Restart,
        OpClass::Discovery,
        OpClass::Diagnostic,
        OpClass::File,
        OpClass::Session,
        OpClass::Security,
        OpClass::Report,
        OpClass::Other,
    ];

    /// The name rules and EVE use (`mode_change`, `download`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            OpClass::Read => "read",
            OpClass::Write => "write",
            OpClass::Command => "command",
            OpClass::ModeChange => "mode_change",
            OpClass::Download => "download",
            OpClass::Upload => "upload",
            OpClass::Restart => "restart",
            OpClass::Discovery => "discovery",
            OpClass::Diagnostic => "diagnostic",
            OpClass::File => "file",
            OpClass::Session => "session",
            OpClass::Security => "security",
            OpClass::Report => "report",
            OpClass::Other => "other",
        }
    }

    /// Parse a class name as written in a rule.
    pub fn parse(s: &str) -> Option<OpClass> {
        OpClass::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

/// A protocol-specific value attached to an operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// Integer (counters, flags as 0/1 are better as `Bool`).
    Int(i64),
    /// Text (names, references).
    Str(String),
    /// Flag.
    Bool(bool),
}

/// One OT operation: a request/response transaction, an unsolicited report
/// or a published frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Protocol name as EVE's `app_proto` spells it (`modbus`, `dnp3`,
    /// `iec104`, `s7comm`, `s7comm_plus`, `enip`, `bacnet`, `opcua`,
    /// `goose`, `mms`, `profinet_dcp`, `fins`, `hart_ip`, `fox`, `c37118`).
    pub proto: &'static str,
    /// Stable snake_case function/service name within the protocol
    /// (`write_single_register`, `cold_restart`, `plc_stop`, ...). Each
    /// decoder's module documentation lists its names.
    pub function: &'static str,
    /// The function's numeric code on the wire (function code, service
    /// code, type id), for rules that match numbers.
    pub code: u32,
    /// What the function does.
    pub class: OpClass,
    /// True when the op was seen only as a response or report (no request
    /// seen: unsolicited, or the request was lost).
    pub response_only: bool,
    /// Unit / station / device address: Modbus unit id, DNP3 destination
    /// of the request, IEC-104 common address, BACnet device instance,
    /// FINS destination node, ...
    pub unit: Option<u32>,
    /// First data address touched: Modbus register/coil address, IEC-104
    /// information object address, DNP3 point index, S7 byte address, CIP
    /// instance, BACnet object instance.
    pub address: Option<u32>,
    /// Number of data items from `address` on.
    pub quantity: Option<u32>,
    /// Values written or commanded (set-points, register values, command
    /// states), as numbers.
    pub values: Vec<f64>,
    /// Named object: DNP3 `g12v1`, CIP `class 0x01`, S7 block `OB1`,
    /// BACnet `analog-value,3`, OPC UA node id, GOOSE gocbRef, MMS item.
    pub object: Option<String>,
    /// Exception / error status of the response, when it failed (Modbus
    /// exception code, CIP general status, S7 error class, ...). `None`
    /// when the response succeeded or there was none.
    pub status: Option<u32>,
    /// Protocol-specific extras under documented names (`cot`, `test`,
    /// `st_num`, `sq_num`, `security_mode`, ...).
    pub attrs: Vec<(&'static str, Attr)>,
}

impl Op {
    /// An op with only its identity set; fill the rest field by field.
    pub fn new(proto: &'static str, function: &'static str, code: u32, class: OpClass) -> Op {
        Op {
            proto,
            function,
            code,
            class,
            response_only: false,
            unit: None,
            address: None,
            quantity: None,
            values: Vec::new(),
            object: None,
            status: None,
            attrs: Vec::new(),
        }
    }

    /// Look up an attribute by name.
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_round_trip() {
        for c in OpClass::ALL {
            assert_eq!(OpClass::parse(c.as_str()), Some(*c));
        }
        assert_eq!(OpClass::parse("stop"), None);
    }

    #[test]
    fn attr_lookup() {
        let mut op = Op::new("iec104", "c_sc_na_1", 45, OpClass::Command);
        op.attrs.push(("cot", Attr::Int(6)));
        assert_eq!(op.attr("cot"), Some(&Attr::Int(6)));
        assert_eq!(op.attr("test"), None);
    }
}
