//! The ENIP event: Suricata 8's EVE `enip` object (one per transaction)
//! and the protocol-neutral [`Op`].
//!
//! The EVE part reproduces what Suricata's parser accepts: a request path
//! made only of logical segments (else the `cip` object is absent), the
//! first data item's CIP message, Multiple_Service_Packet members one
//! level deep, and the additional status size read as a byte count. The
//! [`Op`] comes from the full decoder (symbolic and port segments,
//! Unconnected_Send unwrapping, Rockwell services).

use rules::ot::{Attr, Op, OpClass};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::names;
use super::parser::{
    command, item, parse_cip, parse_cpf, parse_encap, parse_forward_close, parse_forward_open,
    parse_forward_open_reply, parse_identity_attrs, parse_identity_item, parse_multiple,
    parse_send_data, parse_service_item, parse_unconnected_send, status_name, Cip, CipRequest,
    CipResponse, EnipError, Identity, Rd, MAX_MULTIPLE,
};

/// EVE path segments kept per request.
const MAX_EVE_SEGMENTS: usize = 32;
/// Multiple_Service_Packet members validated like Suricata (beyond, the
/// rest is accepted unchecked).
const MAX_EVE_VALIDATE: usize = 256;
/// Service data bytes kept for the [`Op`] (identity, values).
const MAX_KEPT_DATA: usize = 256;
/// Values kept in [`Op::values`].
pub const MAX_OP_VALUES: usize = 64;

// ---------------------------------------------------------------------
// EVE view (Suricata's acceptance rules).

/// One EVE path segment: the segment byte and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EveSegment {
    pub segment_type: u8,
    pub value: u32,
}

impl Serialize for EveSegment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self.segment_type >> 2 {
            8 => m.serialize_entry("segment_type", "class")?,
            9 => m.serialize_entry("segment_type", "instance")?,
            12 => m.serialize_entry("segment_type", "attribute")?,
            _ => m.serialize_entry("segment_type", &format!("unknown-{}", self.segment_type))?,
        }
        m.serialize_entry("value", &self.value)?;
        m.end()
    }
}

/// Direction-specific part of an EVE `cip` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EveCipDir {
    Request {
        path: Vec<EveSegment>,
        multiple: Vec<EveCip>,
    },
    Response {
        status: u8,
        /// As many bytes as the additional status size says (Suricata
        /// reads it as bytes, the spec as words).
        status_extended: Vec<u8>,
        multiple: Vec<EveCip>,
    },
}

/// The EVE `cip` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EveCip {
    /// Service without the reply bit.
    pub service: u8,
    pub dir: EveCipDir,
    /// More Multiple_Service_Packet members than kept (not logged: the
    /// schema has no place for it).
    pub truncated: bool,
}

/// An EVE `cip` object as logged in a transaction slot (`request`: the
/// encapsulation message came from the client). The schema gives the two
/// slots different fields: a request's `cip` holds `service`, `path`,
/// `class_name`, `multiple`; a response's `service`, `status`,
/// `status_extended`, `status_extended_meaning`, `multiple`. A CIP message
/// of the other kind in a slot (a reply sent by the client, a request by
/// the server: mid-stream or reversed flows, target-originated
/// messaging) logs its `service` (and members) only.
struct CipLog<'a> {
    cip: &'a EveCip,
    request: bool,
}

struct Multiple<'a> {
    members: &'a [EveCip],
    request: bool,
}

impl Serialize for Multiple<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.members.len()))?;
        for c in self.members {
            q.serialize_element(&CipLog {
                cip: c,
                request: self.request,
            })?;
        }
        q.end()
    }
}

impl Serialize for CipLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.cip;
        let mut m = s.serialize_map(None)?;
        match names::service_name(c.service) {
            Some(n) => m.serialize_entry("service", n)?,
            None => m.serialize_entry("service", &format!("unknown-{}", c.service))?,
        }
        let multiple = match &c.dir {
            EveCipDir::Response {
                status,
                status_extended,
                multiple,
            } => {
                if !self.request {
                    match names::status_name(*status) {
                        Some(n) => m.serialize_entry("status", n)?,
                        None => m.serialize_entry("status", &format!("unknown-{status}"))?,
                    }
                    if !status_extended.is_empty() {
                        let hex: String =
                            status_extended.iter().map(|b| format!("{b:02x}")).collect();
                        m.serialize_entry("status_extended", &hex)?;
                        if let [a, b] = status_extended[..] {
                            if let Some(t) = names::ext_status_meaning(u16::from_le_bytes([a, b])) {
                                m.serialize_entry("status_extended_meaning", t)?;
                            }
                        }
                    }
                }
                multiple
            }
            EveCipDir::Request { path, multiple } => {
                if self.request && !path.is_empty() {
                    m.serialize_entry("path", path)?;
                    if let Some(c) = path.iter().rev().find(|p| p.segment_type & 0xfc == 0x20) {
                        match names::class_name(c.value) {
                            Some(n) => m.serialize_entry("class_name", n)?,
                            None => {
                                m.serialize_entry("class_name", &format!("unknown-{}", c.value))?
                            }
                        }
                    }
                }
                multiple
            }
        };
        if !multiple.is_empty() {
            m.serialize_entry(
                "multiple",
                &Multiple {
                    members: multiple,
                    request: self.request,
                },
            )?;
        }
        m.end()
    }
}

type EveResult<T> = Result<T, EnipError>;

/// Suricata's CIP message rules (`multi`: expand a Multiple_Service_Packet).
fn eve_cip(data: &[u8], multi: bool) -> EveResult<EveCip> {
    let mut r = Rd::new(data);
    let service = r.u8()?;
    if service & 0x80 == 0 {
        let words = r.u8()?;
        let mut p = Rd::new(r.take(2 * usize::from(words))?);
        let mut path = Vec::new();
        while !p.b.is_empty() {
            let t = p.u8()?;
            if t >> 5 != 1 {
                return Err(EnipError::BadSegment(t));
            }
            let value = match t & 3 {
                0 => u32::from(p.u8()?),
                1 => {
                    p.u8()?;
                    u32::from(p.u16()?)
                }
                2 => {
                    p.u8()?;
                    p.u32()?
                }
                _ => return Err(EnipError::BadSegment(t)),
            };
            if path.len() < MAX_EVE_SEGMENTS {
                path.push(EveSegment {
                    segment_type: t,
                    value,
                });
            }
        }
        let mut multiple = Vec::new();
        let mut truncated = false;
        match service {
            0x03 => {
                let n = r.u16()?;
                r.take(2 * usize::from(n))?;
            }
            0x04 => {
                // Count, then the first attribute id only.
                let n = r.u16()?;
                r.take(if n > 0 { 2 } else { 0 })?;
            }
            0x0a if multi => truncated = eve_multiple(r.b, &mut multiple)?,
            _ => {}
        }
        Ok(EveCip {
            service,
            dir: EveCipDir::Request { path, multiple },
            truncated,
        })
    } else {
        let _reserved = r.u8()?;
        let status = r.u8()?;
        let n = r.u8()?;
        let status_extended = r.take(usize::from(n))?.to_vec();
        let mut multiple = Vec::new();
        let mut truncated = false;
        if service & 0x7f == 0x0a && multi {
            truncated = eve_multiple(r.b, &mut multiple)?;
        }
        Ok(EveCip {
            service: service & 0x7f,
            dir: EveCipDir::Response {
                status,
                status_extended,
                multiple,
            },
            truncated,
        })
    }
}

/// Suricata's Multiple_Service_Packet rules: every offset inside the data
/// and every member parsable. Returns whether members were cut.
fn eve_multiple(start: &[u8], out: &mut Vec<EveCip>) -> EveResult<bool> {
    let mut r = Rd::new(start);
    let n = usize::from(r.u16()?);
    let offsets = r.take(2 * n)?;
    for (j, o) in offsets.chunks_exact(2).enumerate().take(MAX_EVE_VALIDATE) {
        let off = usize::from(u16::from_le_bytes([o[0], o[1]]));
        let member = start.get(off..).filter(|m| !m.is_empty());
        let Some(member) = member else {
            return Err(EnipError::Truncated);
        };
        let c = eve_cip(member, false)?;
        if j < MAX_MULTIPLE {
            out.push(c);
        }
    }
    Ok(n > MAX_MULTIPLE)
}

/// Identity as EVE logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EveIdentity {
    pub protocol_version: u16,
    pub revision_major: u8,
    pub revision_minor: u8,
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub status: u16,
    pub serial: u32,
    pub product_name: String,
    pub state: u8,
}

impl EveIdentity {
    fn from_item(id: &Identity<'_>) -> EveIdentity {
        EveIdentity {
            protocol_version: id.protocol_version,
            revision_major: id.revision_major,
            revision_minor: id.revision_minor,
            vendor_id: id.vendor_id,
            device_type: id.device_type,
            product_code: id.product_code,
            status: id.status,
            serial: id.serial,
            product_name: String::from_utf8_lossy(id.product_name).into_owned(),
            state: id.state,
        }
    }
}

impl Serialize for EveIdentity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("protocol_version", &self.protocol_version)?;
        m.serialize_entry(
            "revision",
            &format!("{}.{}", self.revision_major, self.revision_minor),
        )?;
        match names::vendor_name(self.vendor_id) {
            Some(n) => m.serialize_entry("vendor_id", n)?,
            None => m.serialize_entry("vendor_id", &format!("unknown-{}", self.vendor_id))?,
        }
        match names::device_type_name(self.device_type) {
            Some(n) => m.serialize_entry("device_type", n)?,
            None => m.serialize_entry("device_type", &format!("unknown-{}", self.device_type))?,
        }
        m.serialize_entry("product_code", &self.product_code)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("serial", &self.serial)?;
        m.serialize_entry("product_name", &self.product_name)?;
        m.serialize_entry("state", &self.state)?;
        m.end()
    }
}

/// ListServices item as EVE logs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EveServices {
    pub protocol_version: u16,
    pub capabilities: u16,
    /// The 16-byte name as text (NUL padding included, like Suricata).
    pub service_name: String,
}

/// RegisterSession data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EveRegister {
    pub protocol_version: u16,
    pub options: u16,
}

/// What EVE logs after the header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvePayload {
    None,
    RegisterSession(EveRegister),
    /// SendRRData/SendUnitData that Suricata parses: the first data item's
    /// CIP message, if any.
    Cip(Option<EveCip>),
    ListIdentity(Option<EveIdentity>),
    ListServices(Option<EveServices>),
}

/// Suricata's item rules: every item fits; identity, service, connected
/// and unconnected data items must parse. Returns the first data item's
/// CIP, the first identity / service item, and whether the second item is
/// connected data (for sequence pairing).
struct EveItems {
    cip: Option<EveCip>,
    identity: Option<EveIdentity>,
    services: Option<EveServices>,
}

fn eve_items(r: &mut Rd<'_>) -> EveResult<EveItems> {
    let n = r.u16()?;
    let mut out = EveItems {
        cip: None,
        identity: None,
        services: None,
    };
    for i in 0..n {
        let t = r.u16()?;
        let len = r.u16()?;
        let d = r.take(usize::from(len))?;
        match t {
            item::LIST_IDENTITY => {
                let id = parse_identity_item(d)?;
                // Suricata requires the state byte.
                let name_end = 2 + 16 + 15 + id.product_name.len();
                if d.len() <= name_end {
                    return Err(EnipError::Truncated);
                }
                if i == 0 {
                    out.identity = Some(EveIdentity::from_item(&id));
                }
            }
            item::LIST_SERVICES => {
                let s = parse_service_item(d)?;
                if i == 0 {
                    out.services = Some(EveServices {
                        protocol_version: s.protocol_version,
                        capabilities: s.capabilities,
                        service_name: String::from_utf8_lossy(s.name).into_owned(),
                    });
                }
            }
            item::CONNECTED_DATA => {
                let mut dr = Rd::new(d);
                dr.u16()?;
                let c = eve_cip(dr.b, true)?;
                if out.cip.is_none() {
                    out.cip = Some(c);
                }
            }
            item::UNCONNECTED_DATA => {
                let c = eve_cip(d, true)?;
                if out.cip.is_none() {
                    out.cip = Some(c);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn eve_payload(cmd: u16, data: &[u8]) -> EvePayload {
    match cmd {
        command::REGISTER_SESSION => {
            let mut r = Rd::new(data);
            match (r.u16(), r.u16()) {
                (Ok(protocol_version), Ok(options)) => EvePayload::RegisterSession(EveRegister {
                    protocol_version,
                    options,
                }),
                _ => EvePayload::None,
            }
        }
        command::LIST_SERVICES | command::LIST_IDENTITY | command::LIST_INTERFACES
            if !data.is_empty() =>
        {
            match eve_items(&mut Rd::new(data)) {
                Ok(i) if cmd == command::LIST_IDENTITY => EvePayload::ListIdentity(i.identity),
                Ok(i) if cmd == command::LIST_SERVICES => EvePayload::ListServices(i.services),
                _ => EvePayload::None,
            }
        }
        command::SEND_RR_DATA | command::SEND_UNIT_DATA => {
            let mut r = Rd::new(data);
            let ok = r.u32().and_then(|_| r.u16());
            match ok.and_then(|_| eve_items(&mut r)) {
                Ok(i) => EvePayload::Cip(i.cip),
                Err(_) => EvePayload::None,
            }
        }
        _ => EvePayload::None,
    }
}

// ---------------------------------------------------------------------
// Operation facts (full decoder).

/// A CIP message summarised for the [`Op`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CipInfo {
    /// Service code without the reply bit.
    pub service: u8,
    pub reply: bool,
    /// First class / instance / attribute / connection point of the path.
    pub class: Option<u32>,
    pub instance: Option<u32>,
    pub attribute: Option<u32>,
    pub connection_point: Option<u32>,
    /// Second class of the path (Rockwell controller sub-objects).
    pub class2: Option<u32>,
    /// Symbolic segments (a Logix tag), at most 128 characters.
    pub symbol: Option<String>,
    /// The request came inside an Unconnected_Send.
    pub routed: bool,
    /// The request path did not parse.
    pub bad_path: bool,
    /// Response general status and first additional status word.
    pub status: Option<u8>,
    pub ext_status: Option<u16>,
    /// Service data (request data or reply data), first 256 bytes.
    pub data: Box<[u8]>,
    /// Multiple_Service_Packet members (no deeper nesting).
    pub members: Vec<CipInfo>,
    /// Declared member count.
    pub member_count: u16,
}

const MAX_SYMBOL: usize = 128;

fn keep(d: &[u8]) -> Box<[u8]> {
    d[..d.len().min(MAX_KEPT_DATA)].into()
}

/// Nesting levels unwrapped (Unconnected_Send, then one
/// Multiple_Service_Packet level); members get `MEMBER_DEPTH`.
const MEMBER_DEPTH: u8 = 3;

fn request_info(q: &CipRequest<'_>, depth: u8) -> CipInfo {
    // Unconnected_Send to the Connection Manager: describe the embedded
    // request (once).
    if depth == 0 && q.service == 0x52 && q.path.class() == Some(0x06) {
        if let Ok(u) = parse_unconnected_send(q.data) {
            if let Ok(Cip::Request(inner)) = parse_cip(u.message) {
                let mut i = request_info(&inner, 1);
                i.routed = true;
                return i;
            }
        }
    }
    let mut classes = q.path.classes();
    let class = classes.next();
    let class2 = classes.next();
    let mut info = CipInfo {
        service: q.service,
        class,
        class2,
        instance: q.path.instance(),
        attribute: q.path.attribute(),
        connection_point: q.path.connection_point(),
        symbol: q.path.symbol().map(|mut s| {
            if s.len() > MAX_SYMBOL {
                let mut n = MAX_SYMBOL;
                while !s.is_char_boundary(n) {
                    n -= 1;
                }
                s.truncate(n);
            }
            s
        }),
        // Members keep no data (bounds the pending queue's memory).
        data: if depth < MEMBER_DEPTH {
            keep(q.data)
        } else {
            Box::default()
        },
        ..CipInfo::default()
    };
    if depth < MEMBER_DEPTH && q.service == 0x0a {
        if let Ok((n, members)) = parse_multiple(q.data) {
            info.member_count = n;
            for m in members {
                match parse_cip(m) {
                    Ok(Cip::Request(mq)) => info.members.push(request_info(&mq, MEMBER_DEPTH)),
                    Ok(Cip::Response(mr)) => info.members.push(response_info(&mr, MEMBER_DEPTH)),
                    Err(_) => {}
                }
            }
        }
    }
    info
}

fn response_info(r: &CipResponse<'_>, depth: u8) -> CipInfo {
    let mut info = CipInfo {
        service: r.service,
        reply: true,
        status: Some(r.general_status),
        ext_status: r.ext_status_word(),
        data: if depth < MEMBER_DEPTH {
            keep(r.data)
        } else {
            Box::default()
        },
        ..CipInfo::default()
    };
    if depth < MEMBER_DEPTH && r.service == 0x0a {
        if let Ok((n, members)) = parse_multiple(r.data) {
            info.member_count = n;
            for m in members {
                if let Ok(Cip::Response(mr)) = parse_cip(m) {
                    info.members.push(response_info(&mr, MEMBER_DEPTH));
                }
            }
        }
    }
    info
}

/// Identity facts of a ListIdentity reply (for the asset inventory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityInfo {
    pub vendor_id: u16,
    pub device_type: u16,
    pub product_code: u16,
    pub revision: (u8, u8),
    pub status: u16,
    pub serial: u32,
    pub product_name: String,
    pub state: u8,
}

fn identity_info(id: &Identity<'_>) -> IdentityInfo {
    IdentityInfo {
        vendor_id: id.vendor_id,
        device_type: id.device_type,
        product_code: id.product_code,
        revision: (id.revision_major, id.revision_minor),
        status: id.status,
        serial: id.serial,
        product_name: String::from_utf8_lossy(id.product_name)
            .trim_end_matches('\0')
            .to_owned(),
        state: id.state,
    }
}

/// One encapsulation message of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnipMessage {
    pub command: u16,
    pub length: u16,
    pub session: u32,
    pub status: u32,
    pub context: u64,
    pub options: u32,
    /// The encapsulation data after the header. What EVE logs of it
    /// ([`EvePayload`]) is decoded when the record is written, not here:
    /// building it for every PDU cost more than the rest of the decoding
    /// when OT records are not written (`[output.types] ot = false`).
    pub data: Box<[u8]>,
    /// Connected address item's connection id.
    pub connection_id: Option<u32>,
    /// Sequence count of the second item when it is connected data
    /// (Suricata's pairing key).
    pub seq: Option<u16>,
    /// The CIP message of the first data item (full decoder).
    pub cip: Option<CipInfo>,
    /// ListIdentity reply identity.
    pub identity: Option<IdentityInfo>,
    /// SendRRData/SendUnitData whose CPF parsed.
    pub cpf_ok: bool,
    /// Sent by the client.
    pub(crate) is_request: bool,
}

impl EnipMessage {
    /// Decode one encapsulation message (`pdu` = header + data).
    pub fn parse(pdu: &[u8], is_request: bool) -> Result<EnipMessage, EnipError> {
        let e = parse_encap(pdu)?;
        let h = e.header;
        let mut m = EnipMessage {
            command: h.command,
            length: h.length,
            session: h.session,
            status: h.status,
            context: h.context,
            options: h.options,
            data: e.data.into(),
            connection_id: None,
            seq: None,
            cip: None,
            identity: None,
            cpf_ok: false,
            is_request,
        };
        match h.command {
            command::SEND_RR_DATA | command::SEND_UNIT_DATA => {
                if let Ok((_, _, cpf)) = parse_send_data(e.data) {
                    if let Some(a) = cpf.find(item::CONNECTED_ADDRESS) {
                        if let [a, b, c, d, ..] = *a.data {
                            m.connection_id = Some(u32::from_le_bytes([a, b, c, d]));
                        }
                    }
                    m.cpf_ok = true;
                    {
                        if let Some(it) = cpf.items.get(1) {
                            if it.type_id == item::CONNECTED_DATA {
                                if let [a, b, ..] = *it.data {
                                    m.seq = Some(u16::from_le_bytes([a, b]));
                                }
                            }
                        }
                    }
                    let data = cpf.items.iter().find_map(|i| match i.type_id {
                        item::CONNECTED_DATA => i.data.get(2..),
                        item::UNCONNECTED_DATA => Some(i.data),
                        _ => None,
                    });
                    m.cip = match data.map(parse_cip) {
                        Some(Ok(Cip::Request(q))) => Some(request_info(&q, 0)),
                        Some(Ok(Cip::Response(r))) => Some(response_info(&r, 0)),
                        Some(Err(_)) => data.and_then(|d| d.first()).map(|&s| CipInfo {
                            service: s & 0x7f,
                            reply: s & 0x80 != 0,
                            bad_path: true,
                            ..CipInfo::default()
                        }),
                        None => None,
                    };
                }
            }
            command::LIST_IDENTITY if !e.data.is_empty() => {
                if let Ok(cpf) = parse_cpf(e.data) {
                    m.identity = cpf
                        .find(item::LIST_IDENTITY)
                        .and_then(|i| parse_identity_item(i.data).ok())
                        .map(|id| identity_info(&id));
                }
            }
            _ => {}
        }
        Ok(m)
    }

    /// A SendRRData/SendUnitData with a well-formed CPF (Suricata also
    /// requires the CIP message to parse by its rules; pairing here does
    /// not, so requests with symbolic paths still pair).
    pub fn is_cip(&self) -> bool {
        self.cpf_ok
    }
}

/// A message as logged in its transaction slot (`request` or `response`).
struct MsgLog<'a> {
    msg: &'a EnipMessage,
    request: bool,
}

/// Standalone, a message serialises for the slot of its direction.
impl Serialize for EnipMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MsgLog {
            msg: self,
            request: self.is_request,
        }
        .serialize(s)
    }
}

impl Serialize for MsgLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = self.msg;
        let mut m = s.serialize_map(None)?;
        match command::name(msg.command) {
            Some(n) => m.serialize_entry("command", n)?,
            None => m.serialize_entry("command", &format!("unknown-{}", msg.command))?,
        }
        match status_name(msg.status) {
            Some(n) => m.serialize_entry("status", n)?,
            None => m.serialize_entry("status", &format!("unknown-{}", msg.status))?,
        }
        // The header's options are not logged (no place in the schema).
        match &eve_payload(msg.command, &msg.data) {
            EvePayload::RegisterSession(r) => m.serialize_entry("register_session", r)?,
            EvePayload::Cip(Some(c)) => m.serialize_entry(
                "cip",
                &CipLog {
                    cip: c,
                    request: self.request,
                },
            )?,
            EvePayload::ListServices(Some(l)) if !self.request => {
                m.serialize_entry("list_services", l)?
            }
            EvePayload::ListIdentity(Some(i)) if !self.request => {
                m.serialize_entry("identity", i)?
            }
            _ => {}
        }
        m.end()
    }
}

/// One ENIP transaction: the EVE `enip` object
/// `{"request":{..},"response":{..}}`.
#[derive(Clone, Debug)]
pub struct EnipEvent {
    pub(crate) tx: u64,
    pub request: Option<EnipMessage>,
    pub response: Option<EnipMessage>,
}

impl Serialize for EnipEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(q) = &self.request {
            m.serialize_entry(
                "request",
                &MsgLog {
                    msg: q,
                    request: true,
                },
            )?;
        }
        if let Some(r) = &self.response {
            m.serialize_entry(
                "response",
                &MsgLog {
                    msg: r,
                    request: false,
                },
            )?;
        }
        m.end()
    }
}

/// `Op::function` and class of a CIP request (or a reply alone).
pub fn cip_function(c: &CipInfo) -> (&'static str, OpClass) {
    use OpClass::*;
    let class = c.class;
    let symbolic = c.symbol.is_some() || class == Some(0x6b);
    match (c.service, class) {
        (0x06, Some(0x8e)) => ("plc_start", ModeChange),
        (0x07, Some(0x8e)) => ("plc_stop", ModeChange),
        (0x4b, Some(0x8e)) if c.class2 == Some(0x74) => ("controller_lock", Security),
        (0x4c, Some(0x8e)) if c.class2 == Some(0x74) => ("controller_unlock", Security),
        (0x02 | 0x04 | 0x10, Some(0x8b)) => ("set_wall_clock_time", Diagnostic),
        (0x4e, Some(0x06)) => ("forward_close", Session),
        (0x52, Some(0x06)) => ("unconnected_send", Other),
        (0x54, Some(0x06)) => ("forward_open", Session),
        (0x56, Some(0x06)) => ("get_connection_data", Read),
        (0x57, Some(0x06)) => ("search_connection_data", Read),
        (0x5a, Some(0x06)) => ("get_connection_owner", Read),
        (0x5b, Some(0x06)) => ("large_forward_open", Session),
        (0x4b, Some(0x67)) => ("execute_pccc", Other),
        (0x4c, _) if symbolic => ("read_tag", Read),
        (0x4d, _) if symbolic => ("write_tag", Write),
        (0x4e, _) if symbolic => ("read_modify_write_tag", Write),
        (0x52, _) if symbolic => ("read_tag_fragmented", Read),
        (0x53, _) if symbolic => ("write_tag_fragmented", Write),
        (0x55, _) if symbolic => ("get_instance_attribute_list", Read),
        (0x01, _) => ("get_attributes_all", Read),
        (0x02, _) => ("set_attributes_all", Write),
        (0x03, _) => ("get_attribute_list", Read),
        (0x04, _) => ("set_attribute_list", Write),
        (0x05, _) => ("reset", Restart),
        (0x06, _) => ("start", ModeChange),
        (0x07, _) => ("stop", ModeChange),
        (0x08, _) => ("create", Write),
        (0x09, _) => ("delete", Write),
        (0x0a, _) => ("multiple_service_packet", Other),
        (0x0d, _) => ("apply_attributes", Write),
        (0x0e, _) => ("get_attribute_single", Read),
        (0x10, _) => ("set_attribute_single", Write),
        (0x11, _) => ("find_next_object_instance", Discovery),
        (0x15, _) => ("restore", Write),
        (0x16, _) => ("save", Write),
        (0x17, _) => ("nop", Other),
        (0x18, _) => ("get_member", Read),
        (0x19, _) => ("set_member", Write),
        (0x1a, _) => ("insert_member", Write),
        (0x1b, _) => ("remove_member", Write),
        (0x1c, _) => ("group_sync", Other),
        (0x1d, _) => ("get_connection_point_member_list", Read),
        _ => ("vendor_specific", Other),
    }
}

/// How much an op class matters when several ride in one
/// Multiple_Service_Packet (the op takes the weightiest).
fn weight(c: OpClass) -> u8 {
    use OpClass::*;
    match c {
        Restart => 9,
        ModeChange => 8,
        Download => 7,
        Security => 6,
        Write | Command => 5,
        File | Upload => 4,
        Diagnostic => 3,
        Session => 2,
        Read | Discovery | Report => 1,
        Other => 0,
    }
}

/// Name and class of an encapsulation command without CIP.
fn command_function(cmd: u16) -> (&'static str, OpClass) {
    use OpClass::*;
    match cmd {
        command::NOP => ("nop", Other),
        command::LIST_SERVICES => ("list_services", Discovery),
        command::LIST_IDENTITY => ("list_identity", Discovery),
        command::LIST_INTERFACES => ("list_interfaces", Discovery),
        command::REGISTER_SESSION => ("register_session", Session),
        command::UNREGISTER_SESSION => ("unregister_session", Session),
        command::SEND_RR_DATA => ("send_rr_data", Other),
        command::SEND_UNIT_DATA => ("send_unit_data", Other),
        command::INDICATE_STATUS => ("indicate_status", Other),
        command::CANCEL => ("cancel", Other),
        _ => ("unknown_command", Other),
    }
}

/// Logix atomic data values (type code, count, values), bounded.
fn tag_values(data: &[u8], out: &mut Vec<f64>) -> bool {
    let mut r = Rd::new(data);
    let (Ok(t), Ok(n)) = (r.u16(), r.u16()) else {
        return false;
    };
    let size = match t {
        0xc1 | 0xc2 | 0xc6 => 1,
        0xc3 | 0xc7 => 2,
        0xc4 | 0xc8 | 0xca => 4,
        0xc5 | 0xc9 | 0xcb => 8,
        _ => return false,
    };
    let mut cut = false;
    for (i, c) in r.b.chunks_exact(size).take(usize::from(n)).enumerate() {
        if i >= MAX_OP_VALUES {
            cut = true;
            break;
        }
        let v = match (t, c) {
            (0xc1, [b]) => f64::from(u8::from(*b != 0)),
            (0xc2, [b]) => f64::from(*b as i8),
            (0xc6, [b]) => f64::from(*b),
            (0xc3, [a, b]) => f64::from(i16::from_le_bytes([*a, *b])),
            (0xc7, [a, b]) => f64::from(u16::from_le_bytes([*a, *b])),
            (0xc4, [a, b, c, d]) => f64::from(i32::from_le_bytes([*a, *b, *c, *d])),
            (0xc8, [a, b, c, d]) => f64::from(u32::from_le_bytes([*a, *b, *c, *d])),
            (0xca, [a, b, c, d]) => f64::from(f32::from_le_bytes([*a, *b, *c, *d])),
            (0xc5, s) => s
                .try_into()
                .map(|a: [u8; 8]| i64::from_le_bytes(a) as f64)
                .unwrap_or(0.0),
            (0xc9, s) => s
                .try_into()
                .map(|a: [u8; 8]| u64::from_le_bytes(a) as f64)
                .unwrap_or(0.0),
            (0xcb, s) => s.try_into().map(f64::from_le_bytes).unwrap_or(0.0),
            _ => continue,
        };
        out.push(v);
    }
    cut
}

fn push_identity(op: &mut Op, id: &IdentityInfo) {
    let vendor = names::vendor_name(id.vendor_id)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("vendor {}", id.vendor_id));
    op.attrs.push(("id_vendor", Attr::Str(vendor)));
    op.attrs
        .push(("id_product", Attr::Str(id.product_code.to_string())));
    op.attrs.push((
        "id_version",
        Attr::Str(format!("{}.{}", id.revision.0, id.revision.1)),
    ));
    op.attrs
        .push(("id_serial", Attr::Str(format!("0x{:08x}", id.serial))));
    if !id.product_name.is_empty() {
        op.attrs
            .push(("id_name", Attr::Str(id.product_name.clone())));
        op.attrs
            .push(("id_model", Attr::Str(id.product_name.clone())));
    }
    op.attrs
        .push(("vendor_id", Attr::Int(i64::from(id.vendor_id))));
    op.attrs
        .push(("device_type", Attr::Int(i64::from(id.device_type))));
    op.attrs
        .push(("identity_status", Attr::Int(i64::from(id.status))));
    op.attrs.push(("state", Attr::Int(i64::from(id.state))));
}

impl EnipEvent {
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
        let resp = self.response.as_ref();
        let mut op = match &m.cip {
            Some(c) => {
                let (mut function, mut class) = cip_function(c);
                if c.service == 0x0a && !c.members.is_empty() {
                    // The weightiest member decides the class.
                    for mem in &c.members {
                        let (_, mc) = cip_function(mem);
                        if weight(mc) > weight(class) {
                            class = mc;
                        }
                    }
                    function = "multiple_service_packet";
                }
                let mut op = Op::new("enip", function, u32::from(c.service), class);
                op.address = c.instance;
                op.object = c.class.map(|k| format!("class 0x{k:02x}"));
                if let Some(k) = c.class {
                    op.attrs.push(("class", Attr::Int(i64::from(k))));
                }
                if let Some(a) = c.attribute {
                    op.attrs.push(("attribute", Attr::Int(i64::from(a))));
                }
                if let Some(p) = c.connection_point {
                    op.attrs.push(("connection_point", Attr::Int(i64::from(p))));
                }
                if let Some(s) = &c.symbol {
                    op.attrs.push(("symbol", Attr::Str(s.clone())));
                }
                if c.routed {
                    op.attrs.push(("routed", Attr::Bool(true)));
                }
                if c.service == 0x0a && !c.members.is_empty() {
                    let mut names: Vec<&str> = Vec::new();
                    for mem in &c.members {
                        let (f, _) = cip_function(mem);
                        if !names.contains(&f) {
                            names.push(f);
                        }
                    }
                    op.attrs.push(("services", Attr::Str(names.join(","))));
                    op.attrs
                        .push(("service_count", Attr::Int(i64::from(c.member_count))));
                }
                if !response_only {
                    if function == "write_tag" || function == "write_tag_fragmented" {
                        let d = if function == "write_tag_fragmented" {
                            // type, count, offset (4), data
                            c.data.get(..4).map(|h| {
                                let mut v = h.to_vec();
                                v.extend(c.data.get(8..).unwrap_or(&[]));
                                v
                            })
                        } else {
                            Some(c.data.to_vec())
                        };
                        if tag_values(&d.unwrap_or_default(), &mut op.values) {
                            op.attrs.push(("values_truncated", Attr::Bool(true)));
                        }
                    }
                    if c.service == 0x05 {
                        if let Some(&t) = c.data.first() {
                            op.attrs.push(("reset_type", Attr::Int(i64::from(t))));
                        }
                    }
                    if matches!(c.service, 0x54 | 0x5b) && c.class == Some(0x06) {
                        if let Ok(f) = parse_forward_open(&c.data, c.service == 0x5b) {
                            op.attrs.push((
                                "connection_serial",
                                Attr::Int(i64::from(f.connection_serial)),
                            ));
                            op.attrs.push((
                                "to_connection_id",
                                Attr::Int(i64::from(f.to_connection_id)),
                            ));
                            op.attrs.push(("rpi", Attr::Int(i64::from(f.ot_rpi))));
                        }
                    }
                    if c.service == 0x4e && c.class == Some(0x06) {
                        if let Ok((serial, _, _)) = parse_forward_close(&c.data) {
                            op.attrs
                                .push(("connection_serial", Attr::Int(i64::from(serial))));
                        }
                    }
                }
                op
            }
            None => {
                let (f, class) = command_function(m.command);
                Op::new("enip", f, u32::from(m.command), class)
            }
        };
        op.response_only = response_only;
        op.attrs.push(("command", Attr::Int(i64::from(m.command))));
        if m.session != 0 {
            op.attrs.push(("session", Attr::Int(i64::from(m.session))));
        }
        if let Some(id) = m.connection_id {
            op.attrs.push(("connection_id", Attr::Int(i64::from(id))));
        }
        // Status: CIP general status of the reply, else the encapsulation
        // status.
        let rc = resp.and_then(|r| r.cip.as_ref());
        let cip_status = rc.and_then(|c| {
            c.status.filter(|s| *s != 0).or_else(|| {
                c.members
                    .iter()
                    .filter_map(|mem| mem.status)
                    .find(|s| *s != 0)
            })
        });
        if let Some(s) = cip_status {
            op.status = Some(u32::from(s));
            if let Some(x) = rc.and_then(|c| c.ext_status) {
                op.attrs.push(("ext_status", Attr::Int(i64::from(x))));
            }
        } else if let Some(r) = resp.filter(|r| r.status != 0) {
            op.status = Some(r.status);
        }
        if let Some(r) = resp {
            if let Some(id) = &r.identity {
                push_identity(&mut op, id);
            }
            // Get_Attributes_All of the Identity object: same facts.
            let q = m.cip.as_ref();
            if let (Some(q), Some(rc)) = (q, r.cip.as_ref()) {
                if !response_only
                    && q.service == 0x01
                    && q.class == Some(0x01)
                    && rc.service == 0x01
                    && rc.status == Some(0)
                {
                    if let Ok(id) = parse_identity_attrs(&rc.data) {
                        push_identity(&mut op, &identity_info(&id));
                    }
                }
                if matches!(q.service, 0x54 | 0x5b) && rc.status == Some(0) {
                    if let Ok((ot, _, _)) = parse_forward_open_reply(&rc.data) {
                        op.attrs
                            .push(("ot_connection_id", Attr::Int(i64::from(ot))));
                    }
                }
            }
        }
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::STOP_PLC;
    use super::*;

    #[test]
    fn eve_cip_request_and_op() {
        let m = EnipMessage::parse(STOP_PLC, true).expect("m");
        let v = serde_json::to_value(&m).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"command":"send_unit_data","status":"success",
                "cip":{"service":"Stop","path":[{"segment_type":"class","value":142},
                {"segment_type":"instance","value":1}],"class_name":"unknown-142"}})
        );
        assert_eq!(m.seq, Some(0x28b0));
        let ev = EnipEvent {
            tx: 0,
            request: Some(m),
            response: None,
        };
        let op = ev.op().expect("op");
        assert_eq!(op.function, "plc_stop");
        assert_eq!(op.class, OpClass::ModeChange);
        assert_eq!(op.object.as_deref(), Some("class 0x8e"));
        assert_eq!(op.address, Some(1));
    }

    #[test]
    fn eve_rejects_symbolic_path_like_suricata() {
        // Read Tag with a symbolic path: Suricata logs no cip object.
        let mut cip = vec![0x4c, 0x03, 0x91, 0x03, b'a', b'b', b'c', 0x00, 0x01, 0x00];
        let eve = eve_cip(&cip, true);
        assert!(eve.is_err());
        cip.truncate(8);
        let Ok(Cip::Request(q)) = parse_cip(&cip) else {
            panic!("full decoder parses it");
        };
        let info = request_info(&q, 0);
        assert_eq!(cip_function(&info).0, "read_tag");
        assert_eq!(info.symbol.as_deref(), Some("abc"));
    }

    #[test]
    fn tag_value_decoding() {
        let mut v = Vec::new();
        // DINT x2: 7, -1
        assert!(!tag_values(
            &[0xc4, 0x00, 0x02, 0x00, 7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
            &mut v
        ));
        assert_eq!(v, vec![7.0, -1.0]);
        v.clear();
        // REAL 1.5
        tag_values(&[0xca, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc0, 0x3f], &mut v);
        assert_eq!(v, vec![1.5]);
    }
}
