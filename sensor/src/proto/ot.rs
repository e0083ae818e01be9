//! The OT protocols behind one enum each for parser state and events, so
//! the pipeline handles them uniformly: probing, per-flow parsers (stream
//! and datagram), the ISO transport stack on port 102 (TPKT/COTP carrying
//! S7comm, S7comm-plus or MMS), and layer-2 protocols (GOOSE, PROFINET).
//!
//! Every event converts to a protocol-neutral [`rules::ot::Op`] for the
//! behaviour rules, the baseline and the asset inventory.

use rules::ot::Op;
use serde::Serialize;

use super::common::Probe;
use super::{
    bacnet, c37118, cotp, dnp3, enip, fins, fox, goose, hart_ip, iec104, mms, modbus, opcua,
    profinet_dcp, profinet_io_cm, s7comm, s7comm_plus, AppProto,
};

/// Well-known ports of protocols whose first bytes are too weak to probe
/// anywhere else.
const MODBUS_PORT: u16 = 502;
const IEC104_PORT: u16 = 2404;
const ENIP_PORT: u16 = 44818;
const HART_IP_PORT: u16 = 5094;

/// Probe a TCP direction for the OT protocols. `ports` are (server,
/// client): a capture that starts mid-stream may have them swapped, so a
/// port-gated protocol is tried when either port is its own.
pub fn probe_stream(data: &[u8], to_server: bool, ports: (u16, u16)) -> (Probe, AppProto) {
    let mut need_more = false;
    let mut cands: [(AppProto, Option<Probe>); 9] = [
        (AppProto::Dnp3, Some(dnp3::probe(data, to_server))),
        (AppProto::Opcua, Some(opcua::probe(data, to_server))),
        (AppProto::Cotp, Some(cotp::probe(data, to_server))),
        (AppProto::Fins, Some(fins::probe(data, to_server))),
        (AppProto::Fox, Some(fox::probe(data, to_server))),
        (AppProto::C37118, Some(c37118::probe(data, to_server))),
        (AppProto::Modbus, None),
        (AppProto::Iec104, None),
        (AppProto::Enip, None),
    ];
    let on = |port: u16| ports.0 == port || ports.1 == port;
    if on(MODBUS_PORT) {
        cands[6].1 = Some(modbus::probe(data, to_server));
    }
    if on(IEC104_PORT) {
        cands[7].1 = Some(iec104::probe(data, to_server));
    }
    if on(ENIP_PORT) {
        cands[8].1 = Some(enip::probe(data, to_server));
    }
    if on(HART_IP_PORT) {
        cands[5] = (AppProto::HartIp, Some(hart_ip::probe(data, to_server)));
    }
    for (proto, p) in cands {
        match p {
            Some(Probe::Yes) => return (Probe::Yes, proto),
            Some(Probe::NeedMore) => need_more = true,
            _ => {}
        }
    }
    if need_more {
        (Probe::NeedMore, AppProto::Unknown)
    } else {
        (Probe::No, AppProto::Unknown)
    }
}

/// Probe a UDP datagram for the OT protocols.
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> AppProto {
    if dnp3::probe_datagram(payload, sport, dport) {
        AppProto::Dnp3
    } else if enip::probe_datagram(payload, sport, dport) {
        AppProto::Enip
    } else if fins::probe_datagram(payload, sport, dport) {
        AppProto::Fins
    } else if hart_ip::probe_datagram(payload, sport, dport) {
        AppProto::HartIp
    } else if c37118::probe_datagram(payload, sport, dport) {
        AppProto::C37118
    } else if profinet_io_cm::probe_datagram(payload, sport, dport) {
        AppProto::ProfinetIoCm
    } else if bacnet::probe_datagram(payload, sport, dport) {
        AppProto::Bacnet
    } else {
        AppProto::Unknown
    }
}

/// Which protocol the ISO transport (port 102) carries on a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IsoUpper {
    Unknown,
    S7,
    S7Plus,
    Mms,
}

/// TPKT/COTP with the protocol above it, decided on the first TSDU.
#[derive(Debug)]
pub struct IsoState {
    cotp: cotp::CotpState,
    upper: IsoUpper,
    s7: Option<Box<s7comm::S7State>>,
    s7p: Option<Box<s7comm_plus::S7PlusState>>,
    mms: Option<Box<mms::MmsState>>,
}

impl Default for IsoState {
    fn default() -> Self {
        IsoState {
            cotp: cotp::CotpState::default(),
            upper: IsoUpper::Unknown,
            s7: None,
            s7p: None,
            mms: None,
        }
    }
}

impl IsoState {
    fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<OtEvent>) {
        let Self {
            cotp,
            upper,
            s7,
            s7p,
            mms,
        } = self;
        cotp.input_with(to_server, data, |ev| {
            let cotp::CotpEvent::Data { to_server, tsdu } = ev else {
                return;
            };
            let tsdu: &[u8] = &tsdu;
            if *upper == IsoUpper::Unknown {
                *upper = match cotp::classify_tsdu(tsdu) {
                    cotp::Upper::S7comm => IsoUpper::S7,
                    cotp::Upper::S7commPlus => IsoUpper::S7Plus,
                    cotp::Upper::Session | cotp::Upper::Mms => IsoUpper::Mms,
                    cotp::Upper::Unknown => {
                        // An MMS server quirk (a session ACCEPT one byte too
                        // long) fails the strict check; MMS's own probe is
                        // more lenient.
                        if mms::probe_tsdu(tsdu) == Probe::Yes {
                            IsoUpper::Mms
                        } else {
                            IsoUpper::Unknown
                        }
                    }
                };
            }
            match upper {
                IsoUpper::S7 => {
                    let mut ev = Vec::new();
                    s7.get_or_insert_with(Default::default)
                        .input_tsdu(to_server, tsdu, &mut ev);
                    out.extend(ev.into_iter().map(OtEvent::S7comm));
                }
                IsoUpper::S7Plus => {
                    let mut ev = Vec::new();
                    s7p.get_or_insert_with(Default::default)
                        .input_tsdu(to_server, tsdu, &mut ev);
                    out.extend(ev.into_iter().map(OtEvent::S7commPlus));
                }
                IsoUpper::Mms => {
                    let mut ev = Vec::new();
                    mms.get_or_insert_with(Default::default)
                        .input_tsdu(to_server, tsdu, &mut ev);
                    out.extend(ev.into_iter().map(OtEvent::Mms));
                }
                IsoUpper::Unknown => {}
            }
        });
    }

    fn gap(&mut self, to_server: bool) {
        self.cotp.gap(to_server);
        if let Some(s) = self.s7.as_mut() {
            s.gap(to_server);
        }
        if let Some(s) = self.s7p.as_mut() {
            s.gap(to_server);
        }
    }

    fn finish(&mut self, out: &mut Vec<OtEvent>) {
        self.cotp.finish();
        if let Some(s) = self.s7.as_mut() {
            let mut ev = Vec::new();
            s.finish(&mut ev);
            out.extend(ev.into_iter().map(OtEvent::S7comm));
        }
        if let Some(s) = self.s7p.as_mut() {
            let mut ev = Vec::new();
            s.finish(&mut ev);
            out.extend(ev.into_iter().map(OtEvent::S7commPlus));
        }
        if let Some(s) = self.mms.as_mut() {
            let mut ev = Vec::new();
            s.finish(&mut ev);
            out.extend(ev.into_iter().map(OtEvent::Mms));
        }
    }

    /// The protocol above COTP, once known.
    fn refined(&self) -> AppProto {
        match self.upper {
            IsoUpper::S7 => AppProto::S7comm,
            IsoUpper::S7Plus => AppProto::S7commPlus,
            IsoUpper::Mms => AppProto::Mms,
            IsoUpper::Unknown => AppProto::Cotp,
        }
    }
}

/// Per-flow state of an OT protocol. Variants differ in size; the whole
/// enum is boxed once per flow (`AppParser::Ot`), so that costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum OtParser {
    Modbus(modbus::ModbusState),
    Dnp3(dnp3::Dnp3State),
    Iec104(iec104::Iec104State),
    Iso(IsoState),
    Enip(enip::EnipState),
    Bacnet(bacnet::BacnetState),
    Opcua(opcua::OpcuaState),
    Fins(fins::FinsState),
    HartIp(hart_ip::HartIpState),
    Fox(fox::FoxState),
    C37118(c37118::C37118State),
    ProfinetIoCm(profinet_io_cm::IoCmState),
}

/// Calls `$body` with the state bound to `$s` and the event wrapper as
/// `$wrap` for every stream-capable variant.
macro_rules! each_stream {
    ($self:expr, $s:ident, $wrap:ident => $body:expr, $other:expr) => {
        match $self {
            OtParser::Modbus($s) => {
                let $wrap = OtEvent::Modbus;
                $body
            }
            OtParser::Dnp3($s) => {
                let $wrap = OtEvent::Dnp3;
                $body
            }
            OtParser::Iec104($s) => {
                let $wrap = OtEvent::Iec104;
                $body
            }
            OtParser::Enip($s) => {
                let $wrap = OtEvent::Enip;
                $body
            }
            OtParser::Opcua($s) => {
                let $wrap = OtEvent::Opcua;
                $body
            }
            OtParser::Fins($s) => {
                let $wrap = OtEvent::Fins;
                $body
            }
            OtParser::HartIp($s) => {
                let $wrap = OtEvent::HartIp;
                $body
            }
            OtParser::Fox($s) => {
                let $wrap = OtEvent::Fox;
                $body
            }
            OtParser::C37118($s) => {
                let $wrap = OtEvent::C37118;
                $body
            }
            _ => $other,
        }
    };
}

impl OtParser {
    /// A parser for `proto`, if it is an OT protocol with one.
    pub fn new(proto: AppProto) -> Option<OtParser> {
        Some(match proto {
            AppProto::Modbus => OtParser::Modbus(Default::default()),
            AppProto::Dnp3 => OtParser::Dnp3(Default::default()),
            AppProto::Iec104 => OtParser::Iec104(Default::default()),
            AppProto::Cotp | AppProto::S7comm | AppProto::S7commPlus | AppProto::Mms => {
                OtParser::Iso(IsoState::default())
            }
            AppProto::Enip => OtParser::Enip(Default::default()),
            AppProto::Bacnet => OtParser::Bacnet(Default::default()),
            AppProto::Opcua => OtParser::Opcua(Default::default()),
            AppProto::Fins => OtParser::Fins(Default::default()),
            AppProto::HartIp => OtParser::HartIp(Default::default()),
            AppProto::Fox => OtParser::Fox(Default::default()),
            AppProto::C37118 => OtParser::C37118(Default::default()),
            AppProto::ProfinetIoCm => OtParser::ProfinetIoCm(Default::default()),
            _ => return None,
        })
    }

    /// Stream bytes of one direction.
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<OtEvent>) {
        if let OtParser::Iso(s) = self {
            s.input(to_server, data, out);
            return;
        }
        each_stream!(self, s, wrap => {
            let mut ev = Vec::new();
            s.input(to_server, data, &mut ev);
            out.extend(ev.into_iter().map(wrap));
        }, {})
    }

    /// One UDP datagram.
    pub fn datagram(&mut self, to_server: bool, payload: &[u8], out: &mut Vec<OtEvent>) {
        macro_rules! dg {
            ($s:expr, $wrap:path) => {{
                let mut ev = Vec::new();
                $s.datagram(to_server, payload, &mut ev);
                out.extend(ev.into_iter().map($wrap));
            }};
        }
        match self {
            OtParser::Dnp3(s) => dg!(s, OtEvent::Dnp3),
            OtParser::Enip(s) => dg!(s, OtEvent::Enip),
            OtParser::Bacnet(s) => dg!(s, OtEvent::Bacnet),
            OtParser::Fins(s) => dg!(s, OtEvent::Fins),
            OtParser::HartIp(s) => dg!(s, OtEvent::HartIp),
            OtParser::C37118(s) => dg!(s, OtEvent::C37118),
            OtParser::ProfinetIoCm(s) => dg!(s, OtEvent::ProfinetIoCm),
            _ => {}
        }
    }

    pub fn gap(&mut self, to_server: bool) {
        if let OtParser::Iso(s) = self {
            s.gap(to_server);
            return;
        }
        each_stream!(self, s, _wrap => s.gap(to_server), {})
    }

    pub fn finish(&mut self, out: &mut Vec<OtEvent>) {
        macro_rules! fin {
            ($s:expr, $wrap:path) => {{
                let mut ev = Vec::new();
                $s.finish(&mut ev);
                out.extend(ev.into_iter().map($wrap));
            }};
        }
        match self {
            OtParser::Iso(s) => s.finish(out),
            OtParser::Bacnet(s) => fin!(s, OtEvent::Bacnet),
            // Requests still unanswered: a call to the endpoint port 34964
            // is usually answered from another port, so on another flow.
            OtParser::ProfinetIoCm(s) => fin!(s, OtEvent::ProfinetIoCm),
            other => each_stream!(other, s, wrap => {
                let mut ev = Vec::new();
                s.finish(&mut ev);
                out.extend(ev.into_iter().map(wrap));
            }, {}),
        }
    }

    /// True when the parser wants no more bytes.
    pub fn is_done(&self) -> bool {
        matches!(self, OtParser::Fox(s) if s.is_done())
    }

    /// The flow's protocol as now known (the ISO stack learns what it
    /// carries from the first data unit).
    pub fn refined(&self) -> Option<AppProto> {
        match self {
            OtParser::Iso(s) => Some(s.refined()),
            _ => None,
        }
    }
}

/// A decoded OT event (EVE object of its protocol).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum OtEvent {
    Modbus(modbus::ModbusEvent),
    Dnp3(dnp3::Dnp3Event),
    Iec104(iec104::Iec104Event),
    S7comm(s7comm::S7Event),
    S7commPlus(s7comm_plus::S7PlusEvent),
    Mms(mms::MmsEvent),
    Enip(enip::EnipEvent),
    Bacnet(bacnet::BacnetEvent),
    Opcua(opcua::OpcuaEvent),
    Fins(fins::FinsEvent),
    HartIp(hart_ip::HartIpEvent),
    Fox(fox::FoxEvent),
    C37118(c37118::C37118Event),
    ProfinetIoCm(profinet_io_cm::IoCmEvent),
    Goose(goose::GooseEvent),
    ProfinetDcp(profinet_dcp::DcpEvent),
}

macro_rules! each_event {
    ($self:expr, $e:ident => $body:expr) => {
        match $self {
            OtEvent::Modbus($e) => $body,
            OtEvent::Dnp3($e) => $body,
            OtEvent::Iec104($e) => $body,
            OtEvent::S7comm($e) => $body,
            OtEvent::S7commPlus($e) => $body,
            OtEvent::Mms($e) => $body,
            OtEvent::Enip($e) => $body,
            OtEvent::Bacnet($e) => $body,
            OtEvent::Opcua($e) => $body,
            OtEvent::Fins($e) => $body,
            OtEvent::HartIp($e) => $body,
            OtEvent::Fox($e) => $body,
            OtEvent::C37118($e) => $body,
            OtEvent::ProfinetIoCm($e) => $body,
            OtEvent::Goose($e) => $body,
            OtEvent::ProfinetDcp($e) => $body,
        }
    };
}

impl OtEvent {
    pub fn proto(&self) -> AppProto {
        match self {
            OtEvent::Modbus(_) => AppProto::Modbus,
            OtEvent::Dnp3(_) => AppProto::Dnp3,
            OtEvent::Iec104(_) => AppProto::Iec104,
            OtEvent::S7comm(_) => AppProto::S7comm,
            OtEvent::S7commPlus(_) => AppProto::S7commPlus,
            OtEvent::Mms(_) => AppProto::Mms,
            OtEvent::Enip(_) => AppProto::Enip,
            OtEvent::Bacnet(_) => AppProto::Bacnet,
            OtEvent::Opcua(_) => AppProto::Opcua,
            OtEvent::Fins(_) => AppProto::Fins,
            OtEvent::HartIp(_) => AppProto::HartIp,
            OtEvent::Fox(_) => AppProto::Fox,
            OtEvent::C37118(_) => AppProto::C37118,
            OtEvent::ProfinetIoCm(_) => AppProto::ProfinetIoCm,
            OtEvent::Goose(_) => AppProto::Goose,
            OtEvent::ProfinetDcp(_) => AppProto::ProfinetDcp,
        }
    }

    pub fn tx_id(&self) -> u64 {
        each_event!(self, e => e.tx_id())
    }

    /// The protocol-neutral operation this event describes.
    pub fn op(&self) -> Option<Op> {
        each_event!(self, e => e.op())
    }
}
