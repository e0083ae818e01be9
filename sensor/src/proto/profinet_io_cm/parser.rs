//! Zero-copy parsing of connectionless DCE/RPC (v4) carrying PROFINET IO
//! context management calls.

/// Connectionless DCE/RPC header length.
pub const RPC_HEADER_LEN: usize = 80;
/// NDR header of a PNIO call: request ArgsMaximum, ArgsLength,
/// MaximumCount, Offset, ActualCount; response PNIOStatus instead of
/// ArgsMaximum.
pub const NDR_HEADER_LEN: usize = 20;

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoCmError {
    Truncated,
    /// Not RPC version 4 or a packet type we do not log.
    NotRpc,
}

/// Packet types logged.
pub const PT_REQUEST: u8 = 0;
pub const PT_RESPONSE: u8 = 2;
pub const PT_FAULT: u8 = 3;
pub const PT_REJECT: u8 = 6;

/// A UUID in canonical (big-endian field) byte order.
pub type Uuid = [u8; 16];

/// Canonical text form.
pub fn uuid_text(u: &Uuid) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// PNIO interface UUIDs DEA0000x-6C97-11D1-8271-00A02442DF7D.
const PNIO_IF_PREFIX: [u8; 3] = [0xde, 0xa0, 0x00];
const PNIO_IF_SUFFIX: [u8; 12] = [
    0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
];
/// Endpoint mapper E1AF8308-5D1F-11C9-91A4-08002B14A0FA.
const EPM_IF: Uuid = [
    0xe1, 0xaf, 0x83, 0x08, 0x5d, 0x1f, 0x11, 0xc9, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa,
];
/// PNIO object UUID prefix DEA00000-6C97-11D1-8271 (node part: instance,
/// device id, vendor id).
const PNIO_OBJ_PREFIX: [u8; 10] = [0xde, 0xa0, 0x00, 0x00, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71];

/// Which RPC interface a call is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    Device,
    Controller,
    Supervisor,
    ParameterServer,
    Epm,
    Other,
}

impl Interface {
    pub fn name(self) -> &'static str {
        match self {
            Interface::Device => "device",
            Interface::Controller => "controller",
            Interface::Supervisor => "supervisor",
            Interface::ParameterServer => "parameter_server",
            Interface::Epm => "epm",
            Interface::Other => "other",
        }
    }
}

/// Classify an interface UUID.
pub fn interface_of(u: &Uuid) -> Interface {
    if u == &EPM_IF {
        return Interface::Epm;
    }
    if u[..3] == PNIO_IF_PREFIX && u[4..] == PNIO_IF_SUFFIX {
        return match u[3] {
            1 => Interface::Device,
            2 => Interface::Controller,
            3 => Interface::Supervisor,
            4 => Interface::ParameterServer,
            _ => Interface::Other,
        };
    }
    Interface::Other
}

/// Vendor id, device id and instance from a PNIO object UUID.
pub fn object_ids(u: &Uuid) -> Option<(u16, u16, u16)> {
    if u[..10] != PNIO_OBJ_PREFIX {
        return None;
    }
    Some((
        u16::from_be_bytes([u[14], u[15]]),
        u16::from_be_bytes([u[12], u[13]]),
        u16::from_be_bytes([u[10], u[11]]),
    ))
}

/// The connectionless RPC header (integers already in host order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcHeader {
    pub ptype: u8,
    pub flags1: u8,
    pub little_endian: bool,
    pub object: Uuid,
    pub interface: Uuid,
    pub activity: Uuid,
    pub seqnum: u32,
    pub opnum: u16,
    pub fraglen: u16,
    pub fragnum: u16,
}

fn read_uuid(b: &[u8], le: bool) -> Uuid {
    let mut u = [0u8; 16];
    u.copy_from_slice(&b[..16]);
    if le {
        u[..4].reverse();
        u[4..6].reverse();
        u[6..8].reverse();
    }
    u
}

fn rd16(b: &[u8], at: usize, le: bool) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    let a = [s[0], s[1]];
    Some(if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    })
}

fn rd32(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    let a = [s[0], s[1], s[2], s[3]];
    Some(if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}

/// Parse the 80-byte header.
pub fn parse_rpc_header(b: &[u8]) -> Result<RpcHeader, IoCmError> {
    let h = b.get(..RPC_HEADER_LEN).ok_or(IoCmError::Truncated)?;
    if h[0] != 4 || h[1] & 0xf0 != 0 {
        return Err(IoCmError::NotRpc);
    }
    let le = h[4] & 0x10 != 0;
    Ok(RpcHeader {
        ptype: h[1],
        flags1: h[2],
        little_endian: le,
        object: read_uuid(&h[8..24], le),
        interface: read_uuid(&h[24..40], le),
        activity: read_uuid(&h[40..56], le),
        seqnum: rd32(h, 64, le).unwrap_or(0),
        opnum: rd16(h, 68, le).unwrap_or(0),
        fraglen: rd16(h, 74, le).unwrap_or(0),
        fragnum: rd16(h, 76, le).unwrap_or(0),
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// What the first PNIO block of a call says.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CallInfo {
    /// Response: PNIOStatus (ErrorCode, ErrorDecode, ErrorCode1,
    /// ErrorCode2 as one big-endian u32). Fault/reject: the status code.
    pub status: Option<u32>,
    pub block_type: Option<u16>,
    pub api: Option<u32>,
    pub slot: Option<u16>,
    pub subslot: Option<u16>,
    pub index: Option<u16>,
    pub record_data_length: Option<u32>,
    pub ar_type: Option<u16>,
    pub ar_uuid: Option<Uuid>,
    /// Connect request: CMInitiatorStationName.
    pub station_name: Option<String>,
    /// Release / control: ControlCommand bits.
    pub control_command: Option<u16>,
}

/// Decode the NDR header and first block of a PNIO request or response
/// body (the bytes after the RPC header).
pub fn parse_call(h: &RpcHeader, body: &[u8]) -> CallInfo {
    let mut c = CallInfo::default();
    match h.ptype {
        PT_FAULT | PT_REJECT => {
            c.status = rd32(body, 0, h.little_endian);
            return c;
        }
        PT_RESPONSE => c.status = be32(body, 0),
        _ => {}
    }
    if h.fragnum != 0 {
        return c;
    }
    let Some(blk) = body.get(NDR_HEADER_LEN..) else {
        return c;
    };
    let Some(bt) = be16(blk, 0) else {
        return c;
    };
    c.block_type = Some(bt);
    match bt {
        // IODWriteReqHeader / IODReadReqHeader and their responses.
        0x0008 | 0x0009 | 0x8008 | 0x8009 => {
            c.ar_uuid = blk.get(8..24).map(|s| read_uuid(s, false));
            c.api = be32(blk, 24);
            c.slot = be16(blk, 28);
            c.subslot = be16(blk, 30);
            c.index = be16(blk, 34);
            c.record_data_length = be32(blk, 36);
            if bt == 0x8008 {
                // IODWriteResHeader: AdditionalValue1/2 then PNIOStatus.
                if let Some(s) = be32(blk, 44).filter(|s| *s != 0) {
                    c.status = Some(s);
                }
            }
        }
        // ARBlockReq / ARBlockRes.
        0x0101 | 0x8101 => {
            c.ar_type = be16(blk, 6);
            c.ar_uuid = blk.get(8..24).map(|s| read_uuid(s, false));
            if bt == 0x0101 {
                let n = usize::from(be16(blk, 56).unwrap_or(0)).min(240);
                c.station_name = blk.get(58..58 + n).map(|s| {
                    s.iter()
                        .map(|&ch| {
                            if ch.is_ascii_graphic() || ch == b' ' {
                                ch as char
                            } else {
                                '.'
                            }
                        })
                        .collect()
                });
            }
        }
        // IODControlReq/Res, IODReleaseReq/Res and the plug variants.
        0x0110..=0x0118 | 0x8110..=0x8118 => {
            c.ar_uuid = blk.get(8..24).map(|s| read_uuid(s, false));
            c.control_command = be16(blk, 28);
        }
        _ => {}
    }
    c
}
