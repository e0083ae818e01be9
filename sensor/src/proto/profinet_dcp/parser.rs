//! Zero-copy parsing of PROFINET DCP frames and RT alarm frames
//! (EtherType 0x8892 payloads, starting with the FrameID).

/// DCP header after the FrameID: ServiceID, ServiceType, Xid (4),
/// ResponseDelay / reserved (2), DCPDataLength (2).
pub const DCP_HEADER_LEN: usize = 10;
/// Blocks decoded per frame at most (a DCP PDU fits in one Ethernet
/// frame, so this only bounds hostile input).
pub const MAX_BLOCKS: usize = 64;

pub const FRAME_ID_HELLO: u16 = 0xfefc;
pub const FRAME_ID_GET_SET: u16 = 0xfefd;
pub const FRAME_ID_IDENTIFY_REQ: u16 = 0xfefe;
pub const FRAME_ID_IDENTIFY_RESP: u16 = 0xfeff;
pub const FRAME_ID_ALARM_HIGH: u16 = 0xfc01;
pub const FRAME_ID_ALARM_LOW: u16 = 0xfe01;

pub const SERVICE_GET: u8 = 3;
pub const SERVICE_SET: u8 = 4;
pub const SERVICE_IDENTIFY: u8 = 5;
pub const SERVICE_HELLO: u8 = 6;

/// What an EtherType 0x8892 frame is, by FrameID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Cyclic real-time data: RT_CLASS_3 0x0100..0x7FFF, RT_CLASS_2
    /// 0x8000..0xBFFF, RT_CLASS_1 0xC000..0xFBFF. Counted, never logged.
    Cyclic,
    /// Acyclic alarm (0xFC01 high, 0xFE01 low).
    Alarm,
    /// DCP (0xFEFC..0xFEFF).
    Dcp,
    /// Anything else (PTCP time sync, fragmentation, reserved).
    Other,
}

/// Classify a frame by its FrameID (first two bytes of `payload`).
pub fn classify(payload: &[u8]) -> Option<FrameKind> {
    let id = be16(payload, 0)?;
    Some(match id {
        0x0100..=0xfbff => FrameKind::Cyclic,
        FRAME_ID_ALARM_HIGH | FRAME_ID_ALARM_LOW => FrameKind::Alarm,
        FRAME_ID_HELLO..=FRAME_ID_IDENTIFY_RESP => FrameKind::Dcp,
        _ => FrameKind::Other,
    })
}

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcpError {
    Truncated,
    /// Not a DCP / alarm FrameID.
    NotDcp,
    /// Unknown service or service type bits.
    BadHeader,
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The DCP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DcpHeader {
    pub frame_id: u16,
    pub service_id: u8,
    /// Bit 0: response; bit 2: service not supported.
    pub service_type: u8,
    pub xid: u32,
    /// Identify request: response delay factor; otherwise reserved.
    pub response_delay: u16,
    pub data_length: u16,
}

impl DcpHeader {
    pub fn is_response(&self) -> bool {
        self.service_type & 0x01 != 0
    }
    pub fn unsupported(&self) -> bool {
        self.service_type & 0x04 != 0
    }
}

/// One DCP block, as the context gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    pub option: u8,
    pub suboption: u8,
    /// BlockInfo (responses, Hello) or BlockQualifier (Set request).
    pub info: Option<u16>,
    /// Block value after BlockInfo / BlockQualifier.
    pub value: &'a [u8],
}

/// A parsed DCP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcpFrame<'a> {
    pub header: DcpHeader,
    /// Blocks (Get requests: option/suboption pairs with empty values).
    pub blocks: Vec<Block<'a>>,
    /// More blocks than [`MAX_BLOCKS`], or the last block was cut short.
    pub truncated: bool,
}

/// Parse a DCP frame (`payload` starts with the FrameID).
pub fn parse_dcp(payload: &[u8]) -> Result<DcpFrame<'_>, DcpError> {
    let frame_id = be16(payload, 0).ok_or(DcpError::Truncated)?;
    if !(FRAME_ID_HELLO..=FRAME_ID_IDENTIFY_RESP).contains(&frame_id) {
        return Err(DcpError::NotDcp);
    }
    let h = payload
        .get(2..2 + DCP_HEADER_LEN)
        .ok_or(DcpError::Truncated)?;
    let header = DcpHeader {
        frame_id,
        service_id: h[0],
        service_type: h[1],
        xid: u32::from_be_bytes([h[2], h[3], h[4], h[5]]),
        response_delay: u16::from_be_bytes([h[6], h[7]]),
        data_length: u16::from_be_bytes([h[8], h[9]]),
    };
    if header.service_type & !0x05 != 0 {
        return Err(DcpError::BadHeader);
    }
    let rest = &payload[2 + DCP_HEADER_LEN..];
    let declared = usize::from(header.data_length);
    let mut truncated = declared > rest.len();
    let data = &rest[..declared.min(rest.len())];
    let mut blocks = Vec::new();
    let response = header.is_response();
    if header.service_id == SERVICE_GET && !response {
        // Get request: option/suboption pairs.
        for pair in data.chunks_exact(2) {
            if blocks.len() >= MAX_BLOCKS {
                truncated = true;
                break;
            }
            blocks.push(Block {
                option: pair[0],
                suboption: pair[1],
                info: None,
                value: &[],
            });
        }
        return Ok(DcpFrame {
            header,
            blocks,
            truncated,
        });
    }
    // Identify request filters carry no BlockInfo; Set requests carry a
    // BlockQualifier; responses and Hello carry BlockInfo — except the
    // Control / Response block (5/4), which is option, suboption, error.
    let with_info =
        response || header.service_id == SERVICE_HELLO || header.service_id == SERVICE_SET;
    let mut at = 0usize;
    while at + 4 <= data.len() {
        if blocks.len() >= MAX_BLOCKS {
            truncated = true;
            break;
        }
        let option = data[at];
        let suboption = data[at + 1];
        let len = usize::from(u16::from_be_bytes([data[at + 2], data[at + 3]]));
        let Some(body) = data.get(at + 4..at + 4 + len) else {
            truncated = true;
            break;
        };
        let control_response = option == 5 && suboption == 4;
        let (info, value) = if with_info && !control_response && body.len() >= 2 {
            (Some(u16::from_be_bytes([body[0], body[1]])), &body[2..])
        } else {
            (None, body)
        };
        blocks.push(Block {
            option,
            suboption,
            info,
            value,
        });
        // Blocks are padded to an even length.
        at += 4 + len + (len & 1);
    }
    Ok(DcpFrame {
        header,
        blocks,
        truncated,
    })
}

/// Printable text of a name block (NameOfStation, type of station, alias).
pub fn block_text(v: &[u8]) -> String {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    v[..end]
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '.'
            }
        })
        .collect()
}

/// Dotted IPv4 text.
pub fn ipv4(v: &[u8]) -> Option<String> {
    let s = v.get(..4)?;
    Some(format!("{}.{}.{}.{}", s[0], s[1], s[2], s[3]))
}

/// An RT alarm notification (DATA-RTA-PDU carrying AlarmNotification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alarm {
    pub frame_id: u16,
    pub dst_endpoint: u16,
    pub src_endpoint: u16,
    pub send_seq: u16,
    /// BlockType 0x0001 (high) / 0x0002 (low).
    pub block_type: u16,
    pub alarm_type: u16,
    pub api: u32,
    pub slot: u16,
    pub subslot: u16,
    pub module_ident: u32,
    pub submodule_ident: u32,
    pub specifier: u16,
}

/// Parse an alarm frame. ACK / NACK / ERR RTA-PDUs and DATA PDUs carrying
/// anything but an AlarmNotification (e.g. the controller's AlarmAck)
/// give `Ok(None)`: they are protocol housekeeping, not events.
pub fn parse_alarm(payload: &[u8]) -> Result<Option<Alarm>, DcpError> {
    let frame_id = be16(payload, 0).ok_or(DcpError::Truncated)?;
    if frame_id != FRAME_ID_ALARM_HIGH && frame_id != FRAME_ID_ALARM_LOW {
        return Err(DcpError::NotDcp);
    }
    // AlarmDstEndpoint, AlarmSrcEndpoint, PDUType, AddFlags, SendSeqNum,
    // AckSeqNum, VarPartLen.
    let rta = payload.get(2..14).ok_or(DcpError::Truncated)?;
    if rta[4] & 0x0f != 1 {
        return Ok(None);
    }
    let var = payload.get(14..).unwrap_or(&[]);
    let block_type = be16(var, 0).ok_or(DcpError::Truncated)?;
    if block_type != 0x0001 && block_type != 0x0002 {
        return Ok(None);
    }
    // BlockType(2) BlockLength(2) BlockVersion(2) AlarmType(2) API(4)
    // Slot(2) Subslot(2) ModuleIdent(4) SubmoduleIdent(4) Specifier(2).
    let get16 = |at| be16(var, at).ok_or(DcpError::Truncated);
    let get32 = |at| be32(var, at).ok_or(DcpError::Truncated);
    Ok(Some(Alarm {
        frame_id,
        dst_endpoint: u16::from_be_bytes([rta[0], rta[1]]),
        src_endpoint: u16::from_be_bytes([rta[2], rta[3]]),
        send_seq: u16::from_be_bytes([rta[6], rta[7]]),
        block_type,
        alarm_type: get16(6)?,
        api: get32(8)?,
        slot: get16(12)?,
        subslot: get16(14)?,
        module_ident: get32(16)?,
        submodule_ident: get32(20)?,
        specifier: get16(24)?,
    }))
}
