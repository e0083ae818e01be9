//! Modbus/TCP wire parsing: the MBAP header and one PDU (function code and
//! its data), with the validity checks Suricata 8 applies (the
//! `error_flags` of its EVE record).
//!
//! Everything here borrows from the input slice; nothing allocates.

/// MBAP header length: transaction id, protocol id, length (2 bytes each).
/// The length counts the unit id, the function code and the data.
pub const MBAP_LEN: usize = 6;
/// Smallest plausible MBAP length: unit id + function code.
pub const MIN_LENGTH: u16 = 2;
/// Largest MBAP length: unit id + a 253-byte PDU (Modbus/TCP spec §4.1).
pub const MAX_LENGTH: u16 = 254;
/// Largest whole ADU (header + length).
pub const MAX_ADU: usize = MBAP_LEN + MAX_LENGTH as usize;

/// Exception responses set this bit in the function code.
pub const EXCEPTION_BIT: u8 = 0x80;

const MAX_QUANTITY_BITS: u16 = 2000;
const MAX_QUANTITY_WORDS: u16 = 125;

/// Errors of [`parse_adu`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModbusError {
    /// Fewer bytes than the header, or than the header's length announces.
    Truncated,
    /// The MBAP length is outside 2..=254.
    BadLength(u16),
}

/// The MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    pub transaction_id: u16,
    pub protocol_id: u16,
    pub length: u16,
}

/// Read the MBAP header at the start of `data`.
pub fn parse_mbap(data: &[u8]) -> Option<Mbap> {
    let h = data.get(..MBAP_LEN)?;
    Some(Mbap {
        transaction_id: u16::from_be_bytes([h[0], h[1]]),
        protocol_id: u16::from_be_bytes([h[2], h[3]]),
        length: u16::from_be_bytes([h[4], h[5]]),
    })
}

/// Function codes with a name (Modbus Application Protocol V1.1b3 §5-6,
/// and the legacy codes 9, 10, 13, 14, 18, 19 of PI-MBUS-300), spelled as
/// Suricata's EVE `function_code` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunctionCode {
    RdCoils,
    RdDiscreteInputs,
    RdHoldRegs,
    RdInputRegs,
    WrSingleCoil,
    WrSingleReg,
    RdExcStatus,
    Diagnostic,
    Program484,
    Poll484,
    GetCommEventCtr,
    GetCommEventLog,
    ProgramController,
    PollController,
    WrMultCoils,
    WrMultRegs,
    ReportServerID,
    Program884,
    ResetCommLink,
    RdFileRec,
    WrFileRec,
    MaskWrReg,
    RdWrMultRegs,
    RdFIFOQueue,
    MEI,
    Unknown,
}

impl FunctionCode {
    /// The code of a function byte (the exception bit must be cleared).
    pub fn from_u8(v: u8) -> FunctionCode {
        use FunctionCode::*;
        match v {
            1 => RdCoils,
            2 => RdDiscreteInputs,
            3 => RdHoldRegs,
            4 => RdInputRegs,
            5 => WrSingleCoil,
            6 => WrSingleReg,
            7 => RdExcStatus,
            8 => Diagnostic,
            9 => Program484,
            10 => Poll484,
            11 => GetCommEventCtr,
            12 => GetCommEventLog,
            13 => ProgramController,
            14 => PollController,
            15 => WrMultCoils,
            16 => WrMultRegs,
            17 => ReportServerID,
            18 => Program884,
            19 => ResetCommLink,
            20 => RdFileRec,
            21 => WrFileRec,
            22 => MaskWrReg,
            23 => RdWrMultRegs,
            24 => RdFIFOQueue,
            43 => MEI,
            _ => Unknown,
        }
    }

    /// EVE `function_code` string.
    pub fn as_str(self) -> &'static str {
        use FunctionCode::*;
        match self {
            RdCoils => "RdCoils",
            RdDiscreteInputs => "RdDiscreteInputs",
            RdHoldRegs => "RdHoldRegs",
            RdInputRegs => "RdInputRegs",
            WrSingleCoil => "WrSingleCoil",
            WrSingleReg => "WrSingleReg",
            RdExcStatus => "RdExcStatus",
            Diagnostic => "Diagnostic",
            Program484 => "Program484",
            Poll484 => "Poll484",
            GetCommEventCtr => "GetCommEventCtr",
            GetCommEventLog => "GetCommEventLog",
            ProgramController => "ProgramController",
            PollController => "PollController",
            WrMultCoils => "WrMultCoils",
            WrMultRegs => "WrMultRegs",
            ReportServerID => "ReportServerID",
            Program884 => "Program884",
            ResetCommLink => "ResetCommLink",
            RdFileRec => "RdFileRec",
            WrFileRec => "WrFileRec",
            MaskWrReg => "MaskWrReg",
            RdWrMultRegs => "RdWrMultRegs",
            RdFIFOQueue => "RdFIFOQueue",
            MEI => "MEI",
            Unknown => "Unknown",
        }
    }

    /// The access type bits of the function ([`access`] constants).
    pub fn access(self) -> u8 {
        use access::*;
        use FunctionCode::*;
        match self {
            RdCoils => COILS | READ,
            RdDiscreteInputs => DISCRETES | READ,
            RdHoldRegs => HOLDING | READ,
            RdInputRegs => INPUT | READ,
            WrSingleCoil => COILS | WRITE | SINGLE,
            WrSingleReg => HOLDING | WRITE | SINGLE,
            WrMultCoils => COILS | WRITE | MULTIPLE,
            WrMultRegs => HOLDING | WRITE | MULTIPLE,
            MaskWrReg => HOLDING | WRITE,
            RdWrMultRegs => HOLDING | READ | WRITE | MULTIPLE,
            _ => 0,
        }
    }
}

/// Access type bits (Suricata's `access_type`).
pub mod access {
    pub const READ: u8 = 0x01;
    pub const WRITE: u8 = 0x02;
    pub const DISCRETES: u8 = 0x04;
    pub const COILS: u8 = 0x08;
    pub const INPUT: u8 = 0x10;
    pub const HOLDING: u8 = 0x20;
    pub const SINGLE: u8 = 0x40;
    pub const MULTIPLE: u8 = 0x80;
    /// Named combinations, printed after the single bits when all of
    /// their bits are set.
    pub const BIT_ACCESS_MASK: u8 = DISCRETES | COILS;
    pub const FUNC_MASK: u8 = DISCRETES | COILS | INPUT | HOLDING;
    pub const WRITE_SINGLE: u8 = WRITE | SINGLE;
    pub const WRITE_MULTIPLE: u8 = WRITE | MULTIPLE;
    /// Display order and names.
    pub const NAMES: [(u8, &str); 12] = [
        (READ, "READ"),
        (WRITE, "WRITE"),
        (DISCRETES, "DISCRETES"),
        (COILS, "COILS"),
        (INPUT, "INPUT"),
        (HOLDING, "HOLDING"),
        (SINGLE, "SINGLE"),
        (MULTIPLE, "MULTIPLE"),
        (BIT_ACCESS_MASK, "BIT_ACCESS_MASK"),
        (FUNC_MASK, "FUNC_MASK"),
        (WRITE_SINGLE, "WRITE_SINGLE"),
        (WRITE_MULTIPLE, "WRITE_MULTIPLE"),
    ];
}

/// Function code category bits (Suricata's `category`).
pub mod category {
    pub const PUBLIC_ASSIGNED: u8 = 0x01;
    pub const PUBLIC_UNASSIGNED: u8 = 0x02;
    pub const USER_DEFINED: u8 = 0x04;
    pub const RESERVED: u8 = 0x08;
    pub const NAMES: [(u8, &str); 4] = [
        (PUBLIC_ASSIGNED, "PUBLIC_ASSIGNED"),
        (PUBLIC_UNASSIGNED, "PUBLIC_UNASSIGNED"),
        (USER_DEFINED, "USER_DEFINED"),
        (RESERVED, "RESERVED"),
    ];

    /// Category of a function byte that has no name (MAP spec §5 ranges:
    /// user-defined 65-72 and 100-110; reserved 9-14, 41-42, 90-91,
    /// 125-127).
    pub fn of_unnamed(raw: u8) -> u8 {
        match raw {
            0 => 0,
            1..=8 => PUBLIC_UNASSIGNED,
            9..=14 => RESERVED,
            15..=40 => PUBLIC_UNASSIGNED,
            41..=42 => RESERVED,
            43..=64 => PUBLIC_UNASSIGNED,
            65..=72 => USER_DEFINED,
            73..=89 => PUBLIC_UNASSIGNED,
            90..=91 => RESERVED,
            92..=99 => PUBLIC_UNASSIGNED,
            100..=110 => USER_DEFINED,
            111..=124 => PUBLIC_UNASSIGNED,
            125..=127 => RESERVED,
            _ => 0,
        }
    }
}

/// Validity flags (Suricata's `error_flags`).
pub mod error_flags {
    pub const DATA_VALUE: u8 = 0x01;
    pub const DATA_LENGTH: u8 = 0x02;
    pub const EXC_CODE: u8 = 0x04;
    pub const FUNC_CODE: u8 = 0x08;
    pub const PROTO_ID: u8 = 0x10;
    pub const NAMES: [(u8, &str); 5] = [
        (DATA_VALUE, "DATA_VALUE"),
        (DATA_LENGTH, "DATA_LENGTH"),
        (EXC_CODE, "EXC_CODE"),
        (FUNC_CODE, "FUNC_CODE"),
        (PROTO_ID, "PROTO_ID"),
    ];
}

/// Write `a | b | c` for the named bit sets all contained in `bits`, or
/// `NONE` (the format of Suricata's flag fields).
pub fn flags_string(bits: u8, names: &[(u8, &str)]) -> String {
    let mut s = String::new();
    for (b, n) in names {
        if bits & b == *b {
            if !s.is_empty() {
                s.push_str(" | ");
            }
            s.push_str(n);
        }
    }
    if s.is_empty() {
        s.push_str("NONE");
    }
    s
}

/// Diagnostics (function 8) sub-function names (MAP spec §6.8), as
/// Suricata spells them; `None` for reserved values.
pub fn diagnostic_name(sub: u16) -> Option<&'static str> {
    Some(match sub {
        0x00 => "RetQueryData",
        0x01 => "RestartCommOpt",
        0x02 => "RetDiagReg",
        0x03 => "ChangeInputDelimiter",
        0x04 => "ForceListenOnlyMode",
        0x0a => "ClearCtrDiagReg",
        0x0b => "RetBusMsgCount",
        0x0c => "RetBusCommErrCount",
        0x0d => "RetBusExcErrCount",
        0x0e => "RetServerMsgCount",
        0x0f => "RetServerNoRespCount",
        0x10 => "RetServerNAKCount",
        0x11 => "RetServerBusyCount",
        0x12 => "RetBusCharOverrunCount",
        0x13 => "RetOverrunErrCount",
        0x14 => "ClearOverrunCounterFlag",
        0x15 => "GetClearPlusStats",
        _ => return None,
    })
}

/// MEI type names (function 43): 13 CANopen general reference, 14 read
/// device identification.
pub fn mei_name(t: u8) -> Option<&'static str> {
    match t {
        0x0d => Some("CANOpenGenRefReqResp"),
        0x0e => Some("RdDevId"),
        _ => None,
    }
}

/// Exception code names (MAP spec §7).
pub fn exception_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x01 => "IllegalFunction",
        0x02 => "IllegalDataAddr",
        0x03 => "IllegalDataValue",
        0x04 => "ServerDeviceFail",
        0x05 => "Ack",
        0x06 => "ServerDeviceBusy",
        0x07 => "NegAck",
        0x08 => "MemParityErr",
        0x0a => "GatewayPathUnavailable",
        0x0b => "GatewayTargetFailToResp",
        _ => return None,
    })
}

/// Read part of a request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// Request: starting address and quantity.
    Request { address: u16, quantity: u16 },
    /// Response: the data bytes after the byte count.
    Response(&'a [u8]),
}

/// Write part of a request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write<'a> {
    /// Write multiple coils/registers request (the values bytes).
    MultReq {
        address: u16,
        quantity: u16,
        data: &'a [u8],
    },
    /// Mask write register request and response.
    Mask {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// Single write request/response (value), multiple write response
    /// (`data` is the quantity).
    Other { address: u16, data: u16 },
}

/// The data of a PDU after the function code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data<'a> {
    /// Exception response: the exception code.
    Exception(u8),
    /// Diagnostics: sub-function and its data.
    Diagnostic {
        sub: u16,
        data: &'a [u8],
    },
    /// Encapsulated interface transport: MEI type and its data.
    Mei {
        mei_type: u8,
        data: &'a [u8],
    },
    Read(Read<'a>),
    Write(Write<'a>),
    ReadWrite {
        read: Read<'a>,
        write: Write<'a>,
    },
    /// Anything else: the raw data.
    Bytes(&'a [u8]),
    Empty,
}

/// Which side sent a PDU; `Unknown` parses direction-neutrally (probing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
    Unknown,
}

/// One parsed Modbus/TCP ADU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub transaction_id: u16,
    pub protocol_id: u16,
    pub length: u16,
    pub unit_id: u8,
    /// The function byte as sent (with the exception bit).
    pub function_raw: u8,
    pub function: FunctionCode,
    /// [`access`] bits.
    pub access_type: u8,
    /// [`category`] bits.
    pub category: u8,
    /// [`error_flags`] bits.
    pub error_flags: u8,
    pub data: Data<'a>,
}

impl Message<'_> {
    /// True for an exception response.
    pub fn is_exception(&self) -> bool {
        self.function_raw & EXCEPTION_BIT != 0
    }

    /// The function code without the exception bit.
    pub fn code(&self) -> u8 {
        self.function_raw & !EXCEPTION_BIT
    }
}

/// Bounds-checked big-endian reader over a PDU's data.
struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&v, rest) = self.b.split_first()?;
        self.b = rest;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = self.b.get(..2)?;
        let v = u16::from_be_bytes([v[0], v[1]]);
        self.b = &self.b[2..];
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(..n)?;
        self.b = &self.b[n..];
        Some(v)
    }
}

/// Parse one whole ADU (`adu` starts with the MBAP header and holds at
/// least `6 + length` bytes; bytes beyond are ignored).
pub fn parse_adu(adu: &[u8], dir: Direction) -> Result<Message<'_>, ModbusError> {
    let h = parse_mbap(adu).ok_or(ModbusError::Truncated)?;
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&h.length) {
        return Err(ModbusError::BadLength(h.length));
    }
    let body = adu
        .get(MBAP_LEN..MBAP_LEN + usize::from(h.length))
        .ok_or(ModbusError::Truncated)?;
    let unit_id = body[0];
    let function_raw = body[1];
    let function = FunctionCode::from_u8(function_raw & !EXCEPTION_BIT);
    let mut m = Message {
        transaction_id: h.transaction_id,
        protocol_id: h.protocol_id,
        length: h.length,
        unit_id,
        function_raw,
        function,
        access_type: function.access(),
        category: 0,
        error_flags: if h.protocol_id != 0 {
            error_flags::PROTO_ID
        } else {
            0
        },
        data: Data::Empty,
    };
    let data = &body[2..];
    let mut rd = Rd { b: data };
    let ok = match dir {
        Direction::Request => m.parse_request(&mut rd),
        Direction::Response => m.parse_response(&mut rd),
        Direction::Unknown => m.parse_unknown(&mut rd),
    };
    match ok {
        Some(()) => {
            if !rd.b.is_empty() {
                m.error_flags |= error_flags::DATA_LENGTH;
            }
        }
        None => {
            // Ran out of data in the middle of a field.
            m.error_flags |= error_flags::DATA_LENGTH;
            if m.data == Data::Empty {
                m.data = Data::Bytes(data);
            }
        }
    }
    m.category = m.compute_category();
    Ok(m)
}

impl<'a> Message<'a> {
    fn dlen(&self) -> usize {
        usize::from(self.length) - 2
    }

    fn has(&self, bits: u8) -> bool {
        self.access_type & bits == bits
    }

    fn any(&self, bits: u8) -> bool {
        self.access_type & bits != 0
    }

    fn compute_category(&self) -> u8 {
        match self.function {
            FunctionCode::Diagnostic => match self.data {
                Data::Diagnostic { sub, .. } if diagnostic_name(sub).is_none() => {
                    category::RESERVED
                }
                Data::Diagnostic { .. } => category::PUBLIC_ASSIGNED,
                _ => 0,
            },
            FunctionCode::MEI => match self.data {
                Data::Mei { mei_type, .. } if mei_name(mei_type).is_none() => category::RESERVED,
                Data::Mei { .. } => category::PUBLIC_ASSIGNED,
                _ => 0,
            },
            // The raw byte (an exception of an unnamed code is >= 128).
            FunctionCode::Unknown => category::of_unnamed(self.function_raw),
            _ => category::PUBLIC_ASSIGNED,
        }
    }

    fn parse_exception(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        let code = rd.u8()?;
        let bad = match code {
            0x08 => !matches!(
                self.function,
                FunctionCode::RdFileRec | FunctionCode::WrFileRec
            ),
            c => exception_name(c).is_none(),
        };
        if bad {
            self.error_flags |= error_flags::EXC_CODE;
        }
        self.data = Data::Exception(code);
        Some(())
    }

    fn parse_diagnostic(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        if self.dlen() < 2 {
            self.error_flags |= error_flags::DATA_LENGTH;
            return Some(());
        }
        let sub = rd.u16()?;
        let data = rd.take(self.dlen() - 2)?;
        self.data = Data::Diagnostic { sub, data };
        Some(())
    }

    fn parse_mei(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        if self.dlen() < 1 {
            self.error_flags |= error_flags::DATA_LENGTH;
            return Some(());
        }
        let mei_type = rd.u8()?;
        let data = rd.take(self.dlen() - 1)?;
        self.data = Data::Mei { mei_type, data };
        Some(())
    }

    fn parse_bytes(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        let d = rd.take(self.dlen())?;
        self.data = Data::Bytes(d);
        Some(())
    }

    fn parse_read_request(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        let address = rd.u16()?;
        let quantity = rd.u16()?;
        if quantity == 0 {
            self.error_flags |= error_flags::DATA_VALUE;
        }
        if self.function != FunctionCode::RdWrMultRegs && self.dlen() > 4 {
            self.error_flags |= error_flags::DATA_LENGTH;
        }
        let max = if self.any(access::BIT_ACCESS_MASK) {
            MAX_QUANTITY_BITS
        } else {
            MAX_QUANTITY_WORDS
        };
        if quantity > max {
            self.error_flags |= error_flags::DATA_VALUE;
        }
        self.data = Data::Read(Read::Request { address, quantity });
        Some(())
    }

    fn parse_read_response(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        if self.dlen() < 1 {
            self.error_flags |= error_flags::DATA_LENGTH;
            return Some(());
        }
        let count = rd.u8()?;
        if !(1..=250).contains(&count) || self.dlen() - 1 != usize::from(count) {
            self.error_flags |= error_flags::DATA_VALUE;
        }
        let d = rd.take(self.dlen() - 1)?;
        self.data = Data::Read(Read::Response(d));
        Some(())
    }

    fn parse_write_request(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        let address = rd.u16()?;
        if self.has(access::SINGLE) {
            let data = rd.u16()?;
            if self.has(access::COILS) && data != 0x0000 && data != 0xff00 {
                self.error_flags |= error_flags::DATA_VALUE;
            }
            self.data = Data::Write(Write::Other { address, data });
        } else if self.has(access::MULTIPLE) {
            let quantity = rd.u16()?;
            let count = rd.u8()?;
            let offset: u16 = if self.function == FunctionCode::RdWrMultRegs {
                11
            } else {
                7
            };
            // `length >= offset`: the fields read so far are in the PDU.
            let rest_len = self.length.saturating_sub(offset);
            if quantity == 0 || rest_len != u16::from(count) {
                self.error_flags |= error_flags::DATA_LENGTH;
            }
            let bad = if self.any(access::BIT_ACCESS_MASK) {
                quantity > MAX_QUANTITY_BITS || u16::from(count) != quantity.div_ceil(8)
            } else {
                quantity > MAX_QUANTITY_WORDS || u32::from(count) != 2 * u32::from(quantity)
            };
            if bad {
                self.error_flags |= error_flags::DATA_VALUE;
            }
            let data = rd.take(usize::from(rest_len))?;
            let write = Write::MultReq {
                address,
                quantity,
                data,
            };
            self.data = match self.data {
                Data::Read(read) => Data::ReadWrite { read, write },
                _ => Data::Write(write),
            };
        } else {
            let and_mask = rd.u16()?;
            let or_mask = rd.u16()?;
            self.data = Data::Write(Write::Mask {
                address,
                and_mask,
                or_mask,
            });
        }
        Some(())
    }

    fn parse_write_response(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        let address = rd.u16()?;
        if self.has(access::SINGLE) {
            let data = rd.u16()?;
            self.data = Data::Write(Write::Other { address, data });
        } else if self.has(access::MULTIPLE) {
            let quantity = rd.u16()?;
            // Suricata (sawp-modbus) checks these limits crosswise.
            let max = if self.any(access::BIT_ACCESS_MASK) {
                MAX_QUANTITY_WORDS
            } else {
                MAX_QUANTITY_BITS
            };
            if quantity == 0 || quantity > max {
                self.error_flags |= error_flags::DATA_VALUE;
            }
            self.data = Data::Write(Write::Other {
                address,
                data: quantity,
            });
        } else {
            let and_mask = rd.u16()?;
            let or_mask = rd.u16()?;
            self.data = Data::Write(Write::Mask {
                address,
                and_mask,
                or_mask,
            });
        }
        Some(())
    }

    fn parse_request(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        use FunctionCode::*;
        let dl = self.dlen();
        match self.function {
            Diagnostic => {
                if dl != 4 {
                    self.error_flags |= error_flags::DATA_LENGTH;
                }
                self.parse_diagnostic(rd)?;
                if let Data::Diagnostic { sub, data: [a, b] } = self.data {
                    let (a, b) = (*a, *b);
                    let bad = match sub {
                        0x00 | 0x04 => false,
                        _ if diagnostic_name(sub).is_none() => false,
                        0x01 => b != 0 || (a != 0 && a != 0xff),
                        0x03 => b != 0,
                        _ => a != 0 || b != 0,
                    };
                    if bad {
                        self.error_flags |= error_flags::DATA_VALUE;
                    }
                }
                return Some(());
            }
            MEI => return self.parse_mei(rd),
            RdFileRec | WrFileRec if dl == 0 => self.error_flags |= error_flags::DATA_LENGTH,
            RdExcStatus | GetCommEventCtr | GetCommEventLog | ReportServerID if dl > 0 => {
                self.error_flags |= error_flags::DATA_LENGTH
            }
            RdFIFOQueue if dl != 2 => self.error_flags |= error_flags::DATA_LENGTH,
            _ => {
                if self.function_raw == 0 || self.function_raw >= EXCEPTION_BIT {
                    self.error_flags |= error_flags::FUNC_CODE;
                }
                if self.any(access::READ) {
                    self.parse_read_request(rd)?;
                    if self.any(access::WRITE) {
                        return self.parse_write_request(rd);
                    }
                    return Some(());
                }
                if self.any(access::WRITE) {
                    return self.parse_write_request(rd);
                }
            }
        }
        self.parse_bytes(rd)
    }

    fn parse_response(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        use FunctionCode::*;
        let dl = self.dlen();
        if self.is_exception() {
            return self.parse_exception(rd);
        }
        match self.function {
            Diagnostic => return self.parse_diagnostic(rd),
            MEI => return self.parse_mei(rd),
            RdExcStatus if dl != 1 => self.error_flags |= error_flags::DATA_LENGTH,
            GetCommEventCtr if dl != 4 => self.error_flags |= error_flags::DATA_LENGTH,
            _ => {
                if self.any(access::READ) {
                    return self.parse_read_response(rd);
                }
                if self.any(access::WRITE) {
                    return self.parse_write_response(rd);
                }
            }
        }
        self.parse_bytes(rd)
    }

    fn parse_unknown(&mut self, rd: &mut Rd<'a>) -> Option<()> {
        if self.is_exception() {
            return self.parse_exception(rd);
        }
        match self.function {
            FunctionCode::Diagnostic => self.parse_diagnostic(rd),
            FunctionCode::MEI => self.parse_mei(rd),
            _ => self.parse_bytes(rd),
        }
    }
}

/// Does `resp` answer `req`? Same transaction id, unit id, function and
/// access type; for public functions the data must have a compatible
/// shape. Returns `(matches, value_mismatch)`: the second flag is Suricata's
/// `DATA_VALUE` on the checked message (e.g. a read response whose byte
/// count does not fit the requested quantity, or a write echo that differs).
pub fn matches(checked: &Message<'_>, other: &Message<'_>) -> (bool, bool) {
    if checked.transaction_id != other.transaction_id
        || checked.unit_id != other.unit_id
        || checked.function != other.function
        || checked.access_type != other.access_type
    {
        return (false, false);
    }
    if checked.category != category::PUBLIC_ASSIGNED {
        return (true, false);
    }
    if matches!(other.data, Data::Exception(_)) {
        return (true, false);
    }
    let bits_len = |q: u16| usize::from(q).div_ceil(8);
    match (&checked.data, &other.data) {
        (Data::Exception(_), _) => (true, false),
        (Data::Bytes(_), Data::Bytes(_)) => (true, false),
        (Data::Bytes(_), _) => (checked.error_flags & error_flags::DATA_LENGTH != 0, false),
        (_, Data::Bytes(_)) => (other.error_flags & error_flags::DATA_LENGTH != 0, false),
        (Data::Read(Read::Response(d)), Data::Read(Read::Request { quantity, .. }))
        | (Data::Read(Read::Request { quantity, .. }), Data::Read(Read::Response(d))) => {
            (true, d.len() != bits_len(*quantity))
        }
        (
            Data::Read(Read::Response(d)),
            Data::ReadWrite {
                read: Read::Request { quantity, .. },
                ..
            },
        )
        | (
            Data::ReadWrite {
                read: Read::Request { quantity, .. },
                ..
            },
            Data::Read(Read::Response(d)),
        ) => (true, d.len() != 2 * usize::from(*quantity)),
        (Data::Write(Write::Other { address, data }), Data::Write(w)) => match w {
            Write::Other {
                address: a2,
                data: d2,
            } => (true, address != a2 || data != d2),
            Write::MultReq {
                address: a2,
                quantity,
                ..
            } => (true, address != a2 || data != quantity),
            Write::Mask { .. } => (false, false),
        },
        (
            Data::Write(Write::MultReq {
                address, quantity, ..
            }),
            Data::Write(Write::Other {
                address: a2,
                data: d2,
            }),
        ) => (true, address != a2 || quantity != d2),
        (
            Data::Write(Write::Mask {
                address,
                and_mask,
                or_mask,
            }),
            Data::Write(Write::Mask {
                address: a2,
                and_mask: n2,
                or_mask: o2,
            }),
        ) => (true, address != a2 || and_mask != n2 || or_mask != o2),
        (Data::Diagnostic { sub, .. }, Data::Diagnostic { sub: s2, .. }) => {
            // Suricata compares the named sub-function (reserved values
            // compare equal among themselves).
            let same =
                sub == s2 || (diagnostic_name(*sub).is_none() && diagnostic_name(*s2).is_none());
            (same, false)
        }
        (Data::Mei { mei_type, .. }, Data::Mei { mei_type: t2, .. }) => {
            let same = mei_type == t2 || (mei_name(*mei_type).is_none() && mei_name(*t2).is_none());
            (same, false)
        }
        _ => (false, false),
    }
}

/// One object of a Read Device Identification response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevIdObject<'a> {
    pub id: u8,
    pub value: &'a [u8],
}

/// Read Device Identification (MEI 14) response header and objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevIdResponse<'a> {
    /// 1 basic, 2 regular, 3 extended, 4 one specific object.
    pub read_dev_id_code: u8,
    pub conformity_level: u8,
    pub more_follows: bool,
    pub next_object_id: u8,
    /// Objects in wire order (at most [`MAX_DEVID_OBJECTS`]).
    pub objects: Vec<DevIdObject<'a>>,
}

/// Objects kept from one Read Device Identification response.
pub const MAX_DEVID_OBJECTS: usize = 16;

/// Parse the data of an MEI 14 response (after the MEI type byte).
pub fn parse_dev_id_response(data: &[u8]) -> Option<DevIdResponse<'_>> {
    let mut rd = Rd { b: data };
    let read_dev_id_code = rd.u8()?;
    let conformity_level = rd.u8()?;
    let more_follows = rd.u8()? == 0xff;
    let next_object_id = rd.u8()?;
    let n = rd.u8()?;
    let mut objects = Vec::new();
    for _ in 0..n {
        let Some(id) = rd.u8() else { break };
        let Some(len) = rd.u8() else { break };
        let Some(value) = rd.take(usize::from(len)) else {
            break;
        };
        if objects.len() < MAX_DEVID_OBJECTS {
            objects.push(DevIdObject { id, value });
        }
    }
    Some(DevIdResponse {
        read_dev_id_code,
        conformity_level,
        more_follows,
        next_object_id,
        objects,
    })
}

/// Read Device Identification request: (read device id code, object id).
pub fn parse_dev_id_request(data: &[u8]) -> Option<(u8, u8)> {
    match data {
        [code, obj, ..] => Some((*code, *obj)),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Read holding registers request: tid 1, unit 1, address 0x006b,
    /// quantity 3.
    pub const READ_HOLD_REQ: &[u8] = &[
        0x00, 0x01, // transaction id 1
        0x00, 0x00, // protocol id 0
        0x00, 0x06, // length 6: unit + fc + 4 data bytes
        0x01, // unit id 1
        0x03, // function 3 read holding registers
        0x00, 0x6b, // starting address 107
        0x00, 0x03, // quantity 3
    ];
    /// Its response: 3 registers 0x022b 0x0000 0x0064.
    pub const READ_HOLD_RESP: &[u8] = &[
        0x00, 0x01, // transaction id 1
        0x00, 0x00, // protocol id
        0x00, 0x09, // length 9
        0x01, // unit id
        0x03, // function 3
        0x06, // byte count 6
        0x02, 0x2b, 0x00, 0x00, 0x00, 0x64, // register values
    ];

    #[test]
    fn mbap_and_read_request() {
        let m = parse_adu(READ_HOLD_REQ, Direction::Request).expect("parse");
        assert_eq!(m.transaction_id, 1);
        assert_eq!(m.unit_id, 1);
        assert_eq!(m.function, FunctionCode::RdHoldRegs);
        assert_eq!(m.error_flags, 0);
        assert_eq!(m.category, category::PUBLIC_ASSIGNED);
        assert_eq!(
            m.data,
            Data::Read(Read::Request {
                address: 107,
                quantity: 3
            })
        );
        assert_eq!(
            flags_string(m.access_type, &access::NAMES),
            "READ | HOLDING"
        );
    }

    #[test]
    fn read_response_and_match() {
        let q = parse_adu(READ_HOLD_REQ, Direction::Request).expect("q");
        let r = parse_adu(READ_HOLD_RESP, Direction::Response).expect("r");
        assert_eq!(
            r.data,
            Data::Read(Read::Response(&[0x02, 0x2b, 0, 0, 0, 0x64]))
        );
        assert_eq!(r.error_flags, 0);
        // Suricata checks the byte count against ceil(quantity / 8) even
        // for registers: a 3-register answer is flagged DATA_VALUE.
        assert_eq!(matches(&r, &q), (true, true));
    }

    #[test]
    fn write_single_coil() {
        let adu = [
            0x00, 0x02, 0x00, 0x00, 0x00, 0x06, // MBAP, length 6
            0x11, // unit 17
            0x05, // write single coil
            0x00, 0xac, // address 172
            0xff, 0x00, // ON
        ];
        let m = parse_adu(&adu, Direction::Request).expect("m");
        assert_eq!(
            m.data,
            Data::Write(Write::Other {
                address: 172,
                data: 0xff00
            })
        );
        assert_eq!(
            flags_string(m.access_type, &access::NAMES),
            "WRITE | COILS | SINGLE | WRITE_SINGLE"
        );
        let mut bad = adu;
        bad[10] = 0x12; // neither 0x0000 nor 0xff00
        let m = parse_adu(&bad, Direction::Request).expect("m");
        assert_eq!(m.error_flags, error_flags::DATA_VALUE);
    }

    #[test]
    fn write_multiple_registers_and_echo() {
        let req = [
            0x00, 0x03, 0x00, 0x00, 0x00, 0x0b, // MBAP, length 11
            0x01, // unit
            0x10, // write multiple registers
            0x00, 0x01, // address 1
            0x00, 0x02, // quantity 2
            0x04, // byte count 4
            0x00, 0x0a, 0x01, 0x02, // values 10, 258
        ];
        let m = parse_adu(&req, Direction::Request).expect("m");
        assert_eq!(m.error_flags, 0);
        assert_eq!(
            m.data,
            Data::Write(Write::MultReq {
                address: 1,
                quantity: 2,
                data: &[0x00, 0x0a, 0x01, 0x02]
            })
        );
        let resp = [
            0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x01, 0x10, // MBAP, unit, fc
            0x00, 0x01, // address
            0x00, 0x02, // quantity
        ];
        let r = parse_adu(&resp, Direction::Response).expect("r");
        assert_eq!(
            r.data,
            Data::Write(Write::Other {
                address: 1,
                data: 2
            })
        );
        assert_eq!(matches(&r, &m), (true, false));
    }

    #[test]
    fn mask_write_and_read_write_multiple() {
        let mask = [
            0x00, 0x04, 0x00, 0x00, 0x00, 0x08, 0x01, 0x16, // MBAP, unit, fc 22
            0x00, 0x04, // address 4
            0x00, 0xf2, // and mask
            0x00, 0x25, // or mask
        ];
        let m = parse_adu(&mask, Direction::Request).expect("m");
        assert_eq!(
            m.data,
            Data::Write(Write::Mask {
                address: 4,
                and_mask: 0xf2,
                or_mask: 0x25
            })
        );
        let rw = [
            0x00, 0x05, 0x00, 0x00, 0x00, 0x11, 0x01, 0x17, // MBAP (length 17), unit, fc 23
            0x00, 0x03, // read address 3
            0x00, 0x06, // read quantity 6
            0x00, 0x0e, // write address 14
            0x00, 0x03, // write quantity 3
            0x06, // byte count
            0x00, 0xff, 0x00, 0xff, 0x00, 0xff, // values
        ];
        let m = parse_adu(&rw, Direction::Request).expect("m");
        assert_eq!(m.error_flags, 0);
        assert!(matches!(
            m.data,
            Data::ReadWrite {
                read: Read::Request {
                    address: 3,
                    quantity: 6
                },
                write: Write::MultReq {
                    address: 14,
                    quantity: 3,
                    ..
                }
            }
        ));
    }

    #[test]
    fn exception_and_diagnostics() {
        let exc = [
            0x00, 0x06, 0x00, 0x00, 0x00, 0x03, 0x01, // MBAP, unit
            0x83, // read holding registers | exception bit
            0x02, // illegal data address
        ];
        let m = parse_adu(&exc, Direction::Response).expect("m");
        assert!(m.is_exception());
        assert_eq!(m.function, FunctionCode::RdHoldRegs);
        assert_eq!(m.data, Data::Exception(2));
        assert_eq!(m.error_flags, 0);
        let diag = [
            0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, // MBAP, unit, fc 8
            0x00, 0x04, // force listen only mode
            0x00, 0x00, // data
        ];
        let m = parse_adu(&diag, Direction::Request).expect("m");
        assert_eq!(
            m.data,
            Data::Diagnostic {
                sub: 4,
                data: &[0, 0]
            }
        );
        assert_eq!(m.category, category::PUBLIC_ASSIGNED);
        assert_eq!(m.error_flags, 0);
    }

    #[test]
    fn device_identification() {
        let resp = [
            0x0e, // MEI type 14 (stripped by the caller: kept here for clarity)
            0x01, // read dev id code: basic
            0x01, // conformity level
            0x00, // more follows: no
            0x00, // next object id
            0x03, // 3 objects
            0x00, 0x03, b'A', b'B', b'C', // VendorName "ABC"
            0x01, 0x02, b'P', b'1', // ProductCode "P1"
            0x02, 0x04, b'V', b'1', b'.', b'0', // MajorMinorRevision
        ];
        let r = parse_dev_id_response(&resp[1..]).expect("r");
        assert_eq!(r.objects.len(), 3);
        assert_eq!(r.objects[0].value, b"ABC");
        assert_eq!(r.objects[2].id, 2);
        assert_eq!(parse_dev_id_request(&[0x01, 0x00]), Some((1, 0)));
    }

    #[test]
    fn short_and_bad_lengths() {
        assert_eq!(
            parse_adu(&READ_HOLD_REQ[..5], Direction::Request),
            Err(ModbusError::Truncated)
        );
        assert_eq!(
            parse_adu(&READ_HOLD_REQ[..11], Direction::Request),
            Err(ModbusError::Truncated)
        );
        let mut b = READ_HOLD_REQ.to_vec();
        b[5] = 1;
        assert_eq!(
            parse_adu(&b, Direction::Request),
            Err(ModbusError::BadLength(1))
        );
        // Length 3: read request cut short -> DATA_LENGTH, raw bytes kept.
        let short = [0, 1, 0, 0, 0, 3, 1, 3, 0];
        let m = parse_adu(&short, Direction::Request).expect("m");
        assert_eq!(m.error_flags, error_flags::DATA_LENGTH);
        assert_eq!(m.data, Data::Bytes(&[0]));
    }

    #[test]
    fn categories() {
        assert_eq!(category::of_unnamed(90), category::RESERVED);
        assert_eq!(category::of_unnamed(66), category::USER_DEFINED);
        assert_eq!(category::of_unnamed(30), category::PUBLIC_UNASSIGNED);
        assert_eq!(flags_string(0, &category::NAMES), "NONE");
        assert_eq!(
            flags_string(
                error_flags::DATA_VALUE | error_flags::PROTO_ID,
                &error_flags::NAMES
            ),
            "DATA_VALUE | PROTO_ID"
        );
    }
}
