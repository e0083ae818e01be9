//! EtherNet/IP encapsulation, Common Packet Format and CIP message parsing.
//! Everything borrows from the input; lists are bounded.

/// Encapsulation header length (Vol. 2 §2-3).
pub const HEADER_LEN: usize = 24;
/// CPF items kept per message.
pub const MAX_ITEMS: usize = 8;
/// Path segments kept per request path.
pub const MAX_SEGMENTS: usize = 16;
/// Multiple_Service_Packet members kept.
pub const MAX_MULTIPLE: usize = 64;

/// Encapsulation commands (Vol. 2 §2-3.2).
pub mod command {
    pub const NOP: u16 = 0x0000;
    pub const LIST_SERVICES: u16 = 0x0004;
    pub const LIST_IDENTITY: u16 = 0x0063;
    pub const LIST_INTERFACES: u16 = 0x0064;
    pub const REGISTER_SESSION: u16 = 0x0065;
    pub const UNREGISTER_SESSION: u16 = 0x0066;
    pub const SEND_RR_DATA: u16 = 0x006f;
    pub const SEND_UNIT_DATA: u16 = 0x0070;
    pub const INDICATE_STATUS: u16 = 0x0072;
    pub const CANCEL: u16 = 0x0073;

    /// Suricata's EVE spelling of a command.
    pub fn name(c: u16) -> Option<&'static str> {
        Some(match c {
            NOP => "nop",
            LIST_SERVICES => "list_services",
            LIST_IDENTITY => "list_identity",
            LIST_INTERFACES => "list_interfaces",
            REGISTER_SESSION => "register_session",
            UNREGISTER_SESSION => "unregister_session",
            SEND_RR_DATA => "send_r_r_data",
            SEND_UNIT_DATA => "send_unit_data",
            INDICATE_STATUS => "indicate_status",
            CANCEL => "cancel",
            _ => return None,
        })
    }
}

/// Encapsulation status names (Vol. 2 §2-3.3), Suricata's spelling.
pub fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0x00 => "success",
        0x01 => "invalid_cmd",
        0x02 => "no_resources",
        0x03 => "incorrect_data",
        0x64 => "invalid_session",
        0x65 => "invalid_length",
        0x69 => "unsupported_prot_rev",
        0x6a => "encap_header_error",
        _ => return None,
    })
}

/// CPF item type ids (Vol. 2 §2-6).
pub mod item {
    pub const NULL_ADDRESS: u16 = 0x0000;
    pub const LIST_IDENTITY: u16 = 0x000c;
    pub const CONNECTED_ADDRESS: u16 = 0x00a1;
    pub const CONNECTED_DATA: u16 = 0x00b1;
    pub const UNCONNECTED_DATA: u16 = 0x00b2;
    pub const LIST_SERVICES: u16 = 0x0100;
    pub const SOCKADDR_O_T: u16 = 0x8000;
    pub const SOCKADDR_T_O: u16 = 0x8001;
    pub const SEQUENCED_ADDRESS: u16 = 0x8002;
}

/// Parse errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnipError {
    /// A field runs past the end of its enclosing data.
    Truncated,
    /// A path segment type this decoder does not understand.
    BadSegment(u8),
}

/// The encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    pub command: u16,
    /// Length of the data after the header.
    pub length: u16,
    pub session: u32,
    pub status: u32,
    pub context: u64,
    pub options: u32,
}

/// Little-endian bounds-checked reader.
#[derive(Clone, Copy, Debug)]
pub struct Rd<'a> {
    pub b: &'a [u8],
}

impl<'a> Rd<'a> {
    pub fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b }
    }
    pub fn u8(&mut self) -> Result<u8, EnipError> {
        let (&v, rest) = self.b.split_first().ok_or(EnipError::Truncated)?;
        self.b = rest;
        Ok(v)
    }
    pub fn u16(&mut self) -> Result<u16, EnipError> {
        let v = self.take(2)?;
        Ok(u16::from_le_bytes([v[0], v[1]]))
    }
    pub fn u32(&mut self) -> Result<u32, EnipError> {
        let v = self.take(4)?;
        Ok(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, EnipError> {
        let lo = u64::from(self.u32()?);
        let hi = u64::from(self.u32()?);
        Ok(lo | (hi << 32))
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], EnipError> {
        let v = self.b.get(..n).ok_or(EnipError::Truncated)?;
        self.b = &self.b[n..];
        Ok(v)
    }
}

/// Read the header at the start of `data`.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    let mut r = Rd::new(data.get(..HEADER_LEN)?);
    Some(Header {
        command: r.u16().ok()?,
        length: r.u16().ok()?,
        session: r.u32().ok()?,
        status: r.u32().ok()?,
        context: r.u64().ok()?,
        options: r.u32().ok()?,
    })
}

/// One encapsulation message: header and its data (`length` bytes).
#[derive(Clone, Copy, Debug)]
pub struct Encap<'a> {
    pub header: Header,
    pub data: &'a [u8],
}

/// Parse a whole encapsulation message (`pdu` holds at least
/// `24 + length` bytes).
pub fn parse_encap(pdu: &[u8]) -> Result<Encap<'_>, EnipError> {
    let header = parse_header(pdu).ok_or(EnipError::Truncated)?;
    let data = pdu
        .get(HEADER_LEN..HEADER_LEN + usize::from(header.length))
        .ok_or(EnipError::Truncated)?;
    Ok(Encap { header, data })
}

/// One Common Packet Format item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpfItem<'a> {
    pub type_id: u16,
    pub data: &'a [u8],
}

/// Common Packet Format: item count, then items (type, length, data).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cpf<'a> {
    /// Declared item count.
    pub count: u16,
    /// The first [`MAX_ITEMS`] items.
    pub items: Vec<CpfItem<'a>>,
}

impl<'a> Cpf<'a> {
    /// First item of a type.
    pub fn find(&self, type_id: u16) -> Option<&CpfItem<'a>> {
        self.items.iter().find(|i| i.type_id == type_id)
    }
}

/// Parse a CPF (every declared item must fit).
pub fn parse_cpf(data: &[u8]) -> Result<Cpf<'_>, EnipError> {
    let mut r = Rd::new(data);
    let count = r.u16()?;
    let mut items = Vec::new();
    for _ in 0..count {
        let type_id = r.u16()?;
        let len = r.u16()?;
        let d = r.take(usize::from(len))?;
        if items.len() < MAX_ITEMS {
            items.push(CpfItem { type_id, data: d });
        }
    }
    Ok(Cpf { count, items })
}

/// SendRRData / SendUnitData data: interface handle, timeout, CPF.
pub fn parse_send_data(data: &[u8]) -> Result<(u32, u16, Cpf<'_>), EnipError> {
    let mut r = Rd::new(data);
    let handle = r.u32()?;
    let timeout = r.u16()?;
    Ok((handle, timeout, parse_cpf(r.b)?))
}

/// Logical segment types (bits 4-2 of the segment byte, Vol. 1 §C-1.4.2).
pub mod logical {
    pub const CLASS: u8 = 0;
    pub const INSTANCE: u8 = 1;
    pub const MEMBER: u8 = 2;
    pub const CONNECTION_POINT: u8 = 3;
    pub const ATTRIBUTE: u8 = 4;
    pub const SPECIAL: u8 = 5;
    pub const SERVICE_ID: u8 = 6;
}

/// One EPATH segment (Vol. 1 Appendix C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Logical segment: type ([`logical`]) and value (8/16/32-bit).
    Logical { kind: u8, value: u32 },
    /// Port segment: port number and link address.
    Port { port: u16, link: &'a [u8] },
    /// ANSI extended symbolic segment (0x91): a tag name.
    Symbolic(&'a [u8]),
    /// Data segment (simple 0x80 or ANSI 0x91 is symbolic): raw data.
    Data(&'a [u8]),
    /// Network, electronic key and other segments (skipped).
    Other(u8),
}

/// A parsed EPATH.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path<'a> {
    /// The first [`MAX_SEGMENTS`] segments.
    pub segments: Vec<Segment<'a>>,
}

impl<'a> Path<'a> {
    fn logical(&self, kind: u8) -> Option<u32> {
        self.segments.iter().find_map(|s| match s {
            Segment::Logical { kind: k, value } if *k == kind => Some(*value),
            _ => None,
        })
    }
    /// First class id.
    pub fn class(&self) -> Option<u32> {
        self.logical(logical::CLASS)
    }
    /// First instance id.
    pub fn instance(&self) -> Option<u32> {
        self.logical(logical::INSTANCE)
    }
    /// First attribute id.
    pub fn attribute(&self) -> Option<u32> {
        self.logical(logical::ATTRIBUTE)
    }
    /// First connection point.
    pub fn connection_point(&self) -> Option<u32> {
        self.logical(logical::CONNECTION_POINT)
    }
    /// Class ids in order.
    pub fn classes(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Logical {
                kind: logical::CLASS,
                value,
            } => Some(*value),
            _ => None,
        })
    }
    /// Symbolic segments joined with `.` (a Logix tag name).
    pub fn symbol(&self) -> Option<String> {
        let mut s = String::new();
        for seg in &self.segments {
            if let Segment::Symbolic(b) = seg {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(&String::from_utf8_lossy(b));
            }
        }
        (!s.is_empty()).then_some(s)
    }
}

/// Parse `words` 16-bit words of EPATH from `r` (padded forms).
pub fn parse_path<'a>(bytes: &'a [u8]) -> Result<Path<'a>, EnipError> {
    let mut r = Rd::new(bytes);
    let mut segments = Vec::new();
    while !r.b.is_empty() {
        let t = r.u8()?;
        let seg = match t >> 5 {
            // Port segment: bit 4 extended link address, bits 3-0 port.
            0 => {
                let ext = t & 0x10 != 0;
                let mut port = u16::from(t & 0x0f);
                let link = if ext {
                    let n = r.u8()?;
                    if port == 0x0f {
                        port = r.u16()?;
                    }
                    let l = r.take(usize::from(n))?;
                    if n % 2 == 1 {
                        let _ = r.u8();
                    }
                    l
                } else {
                    if port == 0x0f {
                        port = r.u16()?;
                    }
                    r.take(1)?
                };
                Segment::Port { port, link }
            }
            // Logical segment.
            1 => {
                let kind = (t >> 2) & 0x07;
                let format = t & 0x03;
                if kind == logical::SPECIAL {
                    // Electronic key: key format 4 and 8 bytes.
                    let f = r.u8()?;
                    if f == 4 {
                        r.take(8)?;
                    }
                    Segment::Other(t)
                } else {
                    let value = match format {
                        0 => u32::from(r.u8()?),
                        1 => {
                            r.u8()?;
                            u32::from(r.u16()?)
                        }
                        2 => {
                            r.u8()?;
                            r.u32()?
                        }
                        _ => return Err(EnipError::BadSegment(t)),
                    };
                    Segment::Logical { kind, value }
                }
            }
            // Network segment: one data byte, or a word count (0x50).
            2 => {
                if t & 0x1f == 0x10 {
                    let n = r.u8()?;
                    r.take(2 * usize::from(n))?;
                } else {
                    r.u8()?;
                }
                Segment::Other(t)
            }
            // Symbolic segment (0x60..): size in low 5 bits.
            3 => {
                let n = usize::from(t & 0x1f);
                if n == 0 {
                    // Extended string format: one format byte.
                    r.u8()?;
                    Segment::Other(t)
                } else {
                    let s = r.take(n)?;
                    if (1 + n) % 2 == 1 {
                        let _ = r.u8();
                    }
                    Segment::Symbolic(s)
                }
            }
            // Data segments.
            4 => match t {
                0x80 => {
                    let n = r.u8()?;
                    Segment::Data(r.take(2 * usize::from(n))?)
                }
                0x91 => {
                    let n = r.u8()?;
                    let s = r.take(usize::from(n))?;
                    if n % 2 == 1 {
                        let _ = r.u8();
                    }
                    Segment::Symbolic(s)
                }
                _ => return Err(EnipError::BadSegment(t)),
            },
            _ => return Err(EnipError::BadSegment(t)),
        };
        if segments.len() < MAX_SEGMENTS {
            segments.push(seg);
        }
    }
    Ok(Path { segments })
}

/// A CIP request (Message Router request, Vol. 1 §2-4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipRequest<'a> {
    pub service: u8,
    pub path: Path<'a>,
    /// Raw path bytes.
    pub path_bytes: &'a [u8],
    /// Service data after the path.
    pub data: &'a [u8],
}

/// A CIP response (Message Router response, Vol. 1 §2-4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipResponse<'a> {
    /// Service code without the reply bit.
    pub service: u8,
    pub general_status: u8,
    /// Additional status words (raw bytes, 2 per word).
    pub ext_status: &'a [u8],
    pub data: &'a [u8],
}

impl CipResponse<'_> {
    /// First additional status word.
    pub fn ext_status_word(&self) -> Option<u16> {
        self.ext_status
            .get(..2)
            .map(|w| u16::from_le_bytes([w[0], w[1]]))
    }
}

/// A CIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cip<'a> {
    Request(CipRequest<'a>),
    Response(CipResponse<'a>),
}

/// Reply bit of the service code.
pub const REPLY: u8 = 0x80;

/// Parse a CIP Message Router request or response.
pub fn parse_cip(data: &[u8]) -> Result<Cip<'_>, EnipError> {
    let mut r = Rd::new(data);
    let service = r.u8()?;
    if service & REPLY == 0 {
        let words = r.u8()?;
        let path_bytes = r.take(2 * usize::from(words))?;
        let path = parse_path(path_bytes)?;
        Ok(Cip::Request(CipRequest {
            service,
            path,
            path_bytes,
            data: r.b,
        }))
    } else {
        let _reserved = r.u8()?;
        let general_status = r.u8()?;
        let words = r.u8()?;
        let ext_status = r.take(2 * usize::from(words))?;
        Ok(Cip::Response(CipResponse {
            service: service & !REPLY,
            general_status,
            ext_status,
            data: r.b,
        }))
    }
}

/// Multiple_Service_Packet data: the member messages (offsets are from
/// the start of `data`, i.e. the count field). Returns the declared count
/// and the first [`MAX_MULTIPLE`] members.
pub fn parse_multiple(data: &[u8]) -> Result<(u16, Vec<&[u8]>), EnipError> {
    let mut r = Rd::new(data);
    let n = r.u16()?;
    let mut offsets = Vec::new();
    for _ in 0..n {
        let o = usize::from(r.u16()?);
        if offsets.len() < MAX_MULTIPLE + 1 {
            offsets.push(o);
        }
    }
    let mut out = Vec::new();
    for (i, &o) in offsets.iter().enumerate().take(MAX_MULTIPLE) {
        let end = if i + 1 < usize::from(n) {
            offsets.get(i + 1).copied().unwrap_or(data.len())
        } else {
            data.len()
        };
        let m = data.get(o..end.max(o)).ok_or(EnipError::Truncated)?;
        out.push(m);
    }
    Ok((n, out))
}

/// Unconnected_Send (Connection Manager service 0x52) request data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    /// The embedded message request.
    pub message: &'a [u8],
    /// Route path bytes (port segments).
    pub route: &'a [u8],
}

/// Parse Unconnected_Send request data (Vol. 1 §3-5.6.3).
pub fn parse_unconnected_send(data: &[u8]) -> Result<UnconnectedSend<'_>, EnipError> {
    let mut r = Rd::new(data);
    let _priority_tick = r.u8()?;
    let _timeout_ticks = r.u8()?;
    let size = usize::from(r.u16()?);
    let message = r.take(size)?;
    if size % 2 == 1 {
        let _ = r.u8();
    }
    let route = match r.u8() {
        Ok(words) => {
            let _reserved = r.u8();
            r.b.get(..2 * usize::from(words)).unwrap_or(r.b)
        }
        Err(_) => &[],
    };
    Ok(UnconnectedSend { message, route })
}

/// Forward_Open / Large_Forward_Open request (Vol. 1 §3-5.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    pub ot_connection_id: u32,
    pub to_connection_id: u32,
    pub connection_serial: u16,
    pub vendor_id: u16,
    pub originator_serial: u32,
    pub ot_rpi: u32,
    pub to_rpi: u32,
    pub transport: u8,
    /// Connection path bytes.
    pub path: &'a [u8],
}

/// Parse Forward_Open (`large`: 32-bit network connection parameters).
pub fn parse_forward_open(data: &[u8], large: bool) -> Result<ForwardOpen<'_>, EnipError> {
    let mut r = Rd::new(data);
    r.take(2)?; // priority/tick, timeout ticks
    let ot_connection_id = r.u32()?;
    let to_connection_id = r.u32()?;
    let connection_serial = r.u16()?;
    let vendor_id = r.u16()?;
    let originator_serial = r.u32()?;
    r.take(4)?; // timeout multiplier, reserved
    let ot_rpi = r.u32()?;
    r.take(if large { 4 } else { 2 })?;
    let to_rpi = r.u32()?;
    r.take(if large { 4 } else { 2 })?;
    let transport = r.u8()?;
    let words = r.u8()?;
    let path = r.take(2 * usize::from(words)).unwrap_or(r.b);
    Ok(ForwardOpen {
        ot_connection_id,
        to_connection_id,
        connection_serial,
        vendor_id,
        originator_serial,
        ot_rpi,
        to_rpi,
        transport,
        path,
    })
}

/// Successful Forward_Open reply: the connection ids the target chose.
pub fn parse_forward_open_reply(data: &[u8]) -> Result<(u32, u32, u16), EnipError> {
    let mut r = Rd::new(data);
    let ot = r.u32()?;
    let to = r.u32()?;
    let serial = r.u16()?;
    Ok((ot, to, serial))
}

/// Forward_Close request: connection serial, vendor, originator serial.
pub fn parse_forward_close(data: &[u8]) -> Result<(u16, u16, u32), EnipError> {
    let mut r = Rd::new(data);
    r.take(2)?;
    Ok((r.u16()?, r.u16()?, r.u32()?))
}

/// Identity facts (ListIdentity item 0x0C, Vol. 2 §2-4.3.2; the same
/// fields open the Identity object's Get_Attributes_All reply).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Identity<'a> {
    pub protocol_version: u16,
    /// Socket address: port and IPv4 address (big-endian on the wire).
    pub sin_port: u16,
    pub sin_addr: [u8; 4],
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision_major: u8,
    pub revision_minor: u8,
    pub status: u16,
    pub serial: u32,
    pub product_name: &'a [u8],
    pub state: u8,
}

/// Parse a ListIdentity item's data.
pub fn parse_identity_item(data: &[u8]) -> Result<Identity<'_>, EnipError> {
    let mut r = Rd::new(data);
    let protocol_version = r.u16()?;
    let sa = r.take(16)?;
    let mut id = parse_identity_attrs(r.b)?;
    id.protocol_version = protocol_version;
    id.sin_port = u16::from_be_bytes([sa[2], sa[3]]);
    id.sin_addr = [sa[4], sa[5], sa[6], sa[7]];
    Ok(id)
}

/// Parse Identity attributes 1-7 (+ state): vendor, device type, product
/// code, revision, status, serial, product name (SHORT_STRING), state.
pub fn parse_identity_attrs(data: &[u8]) -> Result<Identity<'_>, EnipError> {
    let mut r = Rd::new(data);
    let vendor_id = r.u16()?;
    let device_type = r.u16()?;
    let product_code = r.u16()?;
    let revision_major = r.u8()?;
    let revision_minor = r.u8()?;
    let status = r.u16()?;
    let serial = r.u32()?;
    let n = r.u8()?;
    let product_name = r.take(usize::from(n))?;
    let state = r.u8().unwrap_or(0xff);
    Ok(Identity {
        vendor_id,
        device_type,
        product_code,
        revision_major,
        revision_minor,
        status,
        serial,
        product_name,
        state,
        ..Identity::default()
    })
}

/// ListServices item (type 0x100): version, capability flags, name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceItem<'a> {
    pub protocol_version: u16,
    pub capabilities: u16,
    /// 16 bytes, NUL-padded.
    pub name: &'a [u8],
}

/// Parse a ListServices item's data.
pub fn parse_service_item(data: &[u8]) -> Result<ServiceItem<'_>, EnipError> {
    let mut r = Rd::new(data);
    Ok(ServiceItem {
        protocol_version: r.u16()?,
        capabilities: r.u16()?,
        name: r.take(16)?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// cip_stop_plc.pcap: SendUnitData, Stop (0x07) to class 0x8E inst 1.
    pub const STOP_PLC: &[u8] = &[
        0x70, 0x00, // command SendUnitData
        0x1c, 0x00, // length 28
        0x00, 0x01, 0x02, 0x12, // session handle
        0x00, 0x00, 0x00, 0x00, // status success
        0, 0, 0, 0, 0, 0, 0, 0, // sender context
        0x00, 0x00, 0x00, 0x00, // options
        0x00, 0x00, 0x00, 0x00, // interface handle (CIP)
        0x01, 0x00, // timeout
        0x02, 0x00, // item count 2
        0xa1, 0x00, 0x04, 0x00, // connected address item, length 4
        0x01, 0x39, 0xdd, 0x00, // connection id
        0xb1, 0x00, 0x08, 0x00, // connected data item, length 8
        0xb0, 0x28, // sequence count
        0x07, // service Stop
        0x02, // path 2 words
        0x20, 0x8e, // class 0x8E
        0x24, 0x01, // instance 1
    ];

    #[test]
    fn header_cpf_and_request() {
        let e = parse_encap(STOP_PLC).expect("encap");
        assert_eq!(e.header.command, command::SEND_UNIT_DATA);
        assert_eq!(e.header.length, 28);
        assert_eq!(e.header.session, 0x1202_0100);
        let (_, timeout, cpf) = parse_send_data(e.data).expect("send");
        assert_eq!(timeout, 1);
        assert_eq!(cpf.count, 2);
        assert_eq!(cpf.items[0].type_id, item::CONNECTED_ADDRESS);
        let d = cpf.find(item::CONNECTED_DATA).expect("data");
        assert_eq!(&d.data[..2], &[0xb0, 0x28]);
        let Cip::Request(q) = parse_cip(&d.data[2..]).expect("cip") else {
            panic!("request expected");
        };
        assert_eq!(q.service, 0x07);
        assert_eq!(q.path.class(), Some(0x8e));
        assert_eq!(q.path.instance(), Some(1));
        assert_eq!(q.data, &[] as &[u8]);
    }

    #[test]
    fn paths_all_formats() {
        let p = parse_path(&[
            0x21, 0x00, 0x34, 0x12, // 16-bit class 0x1234
            0x26, 0x00, 0x78, 0x56, 0x34, 0x12, // 32-bit instance
            0x30, 0x05, // attribute 5
            0x2c, 0x64, // connection point 100
            0x91, 0x03, b'a', b'b', b'c', 0x00, // symbol "abc" + pad
            0x01, 0x00, // port 1, link 0
        ])
        .expect("path");
        assert_eq!(p.class(), Some(0x1234));
        assert_eq!(p.instance(), Some(0x1234_5678));
        assert_eq!(p.attribute(), Some(5));
        assert_eq!(p.connection_point(), Some(100));
        assert_eq!(p.symbol().as_deref(), Some("abc"));
        assert_eq!(
            p.segments.last(),
            Some(&Segment::Port {
                port: 1,
                link: &[0]
            })
        );
        assert!(parse_path(&[0x20]).is_err());
        assert!(parse_path(&[0xe0, 0x00]).is_err());
    }

    #[test]
    fn response_and_multiple() {
        let r = parse_cip(&[0x8a, 0x00, 0x1e, 0x01, 0x34, 0x12, 0xaa]).expect("r");
        let Cip::Response(r) = r else {
            panic!("response expected")
        };
        assert_eq!(r.service, 0x0a);
        assert_eq!(r.general_status, 0x1e);
        assert_eq!(r.ext_status_word(), Some(0x1234));
        assert_eq!(r.data, &[0xaa]);
        let msp = [
            0x02, 0x00, // 2 services
            0x06, 0x00, 0x0c, 0x00, // offsets 6, 12
            0x0e, 0x02, 0x20, 0x01, 0x24, 0x01, // get attribute single id/1
            0x0e, 0x02, 0x20, 0x02, 0x24, 0x01, // get attribute single mr/1
        ];
        let (n, items) = parse_multiple(&msp).expect("msp");
        assert_eq!(n, 2);
        assert_eq!(items[1], &msp[12..]);
        assert!(parse_multiple(&[0x02, 0x00, 0x06, 0x00]).is_err());
    }

    #[test]
    fn unconnected_send_and_forward_open() {
        // From EIP-RebootorRestart frame 8: Unconnected_Send wrapping a
        // Get_Attributes_All to Identity/1, route port 1 slot 0.
        let data = [
            0x07, 0xf9, // priority/tick, timeout ticks
            0x06, 0x00, // message size 6
            0x01, 0x02, 0x20, 0x01, 0x24, 0x01, // embedded request
            0x01, 0x00, // route path 1 word, reserved
            0x01, 0x00, // port 1, link 0
        ];
        let u = parse_unconnected_send(&data).expect("u");
        assert_eq!(u.message, &[0x01, 0x02, 0x20, 0x01, 0x24, 0x01]);
        assert_eq!(u.route, &[0x01, 0x00]);
        let fo = [
            0x0a, 0x0e, // priority, timeout
            0x00, 0x00, 0x00, 0x00, // O->T id
            0x01, 0x00, 0xfe, 0x80, // T->O id
            0x13, 0x00, // connection serial
            0x4d, 0x00, // vendor
            0xf3, 0x2b, 0x95, 0x32, // originator serial
            0x00, 0x00, 0x00, 0x00, // multiplier + reserved
            0x00, 0x12, 0x7a, 0x00, // O->T RPI
            0xf4, 0x43, // O->T params
            0x00, 0x12, 0x7a, 0x00, // T->O RPI
            0xf4, 0x43, // T->O params
            0xa3, // transport
            0x03, // path 3 words
            0x01, 0x00, 0x20, 0x02, 0x24, 0x01, // port 1/0, MR/1
        ];
        let f = parse_forward_open(&fo, false).expect("fo");
        assert_eq!(f.to_connection_id, 0x80fe_0001);
        assert_eq!(f.connection_serial, 0x13);
        assert_eq!(f.vendor_id, 0x4d);
        assert_eq!(f.transport, 0xa3);
        assert_eq!(f.path.len(), 6);
    }

    #[test]
    fn identity_item() {
        // enip_test.pcap ListIdentity reply item (1756-ENBT/A).
        let mut d = vec![0x01, 0x00]; // encapsulation version 1
        d.extend([0x00, 0x02, 0xaf, 0x12, 192, 168, 1, 10]); // AF_INET, 44818, ip
        d.extend([0; 8]); // sin_zero
        d.extend([0x01, 0x00]); // vendor 1
        d.extend([0x0c, 0x00]); // device type 12
        d.extend([0x3a, 0x00]); // product code 58
        d.extend([0x04, 0x03]); // revision 4.3
        d.extend([0x30, 0x00]); // status 0x0030
        d.extend([0x8e, 0x4d, 0x52, 0x00]); // serial 0x00524d8e
        d.push(11);
        d.extend(b"1756-ENBT/A");
        d.push(0x03); // state
        let id = parse_identity_item(&d).expect("id");
        assert_eq!(id.sin_port, 44818);
        assert_eq!(id.sin_addr, [192, 168, 1, 10]);
        assert_eq!((id.vendor_id, id.device_type, id.product_code), (1, 12, 58));
        assert_eq!((id.revision_major, id.revision_minor), (4, 3));
        assert_eq!(id.serial, 0x0052_4d8e);
        assert_eq!(id.product_name, b"1756-ENBT/A");
        assert_eq!(id.state, 3);
        assert!(parse_identity_item(&d[..30]).is_err());
    }
}
