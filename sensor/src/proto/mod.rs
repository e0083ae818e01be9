//! Application-layer protocols: detection by the first bytes, per-flow
//! parser state, and the events they emit.
//!
//! Adding a protocol: one folder (`mod.rs` spec notes, `parser.rs`,
//! `state.rs`, `event.rs`) plus one arm in [`AppProto`], [`probe_stream`] /
//! [`probe_datagram`], [`AppParser`] and [`AppEvent`].

pub mod bacnet;
pub mod ber;
pub mod c37118;
pub mod common;
pub mod cotp;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod fins;
pub mod fox;
pub mod goose;
pub mod hart_ip;
pub mod http;
pub mod iec104;
pub mod mms;
pub mod modbus;
pub mod opcua;
pub mod ot;
pub mod profinet_dcp;
pub mod profinet_io_cm;
pub mod s7comm;
pub mod s7comm_plus;
pub mod tls;

use serde::Serialize;

/// The application protocol of a flow, as EVE's `app_proto` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// Not yet known: still probing.
    Unknown,
    /// Probing gave up: no parser recognised the first bytes.
    Failed,
    Http,
    Tls,
    Dns,
    Ssh,
    Modbus,
    Dnp3,
    Iec104,
    /// TPKT/COTP (port 102) whose upper protocol is not known yet.
    Cotp,
    S7comm,
    S7commPlus,
    Mms,
    Enip,
    Bacnet,
    Opcua,
    Fins,
    HartIp,
    Fox,
    C37118,
    ProfinetIoCm,
    /// Layer 2 (EtherType 0x88B8).
    Goose,
    /// Layer 2 (EtherType 0x8892).
    ProfinetDcp,
}

impl AppProto {
    pub const ALL: &'static [AppProto] = &[
        AppProto::Unknown,
        AppProto::Failed,
        AppProto::Http,
        AppProto::Tls,
        AppProto::Dns,
        AppProto::Ssh,
        AppProto::Modbus,
        AppProto::Dnp3,
        AppProto::Iec104,
        AppProto::Cotp,
        AppProto::S7comm,
        AppProto::S7commPlus,
        AppProto::Mms,
        AppProto::Enip,
        AppProto::Bacnet,
        AppProto::Opcua,
        AppProto::Fins,
        AppProto::HartIp,
        AppProto::Fox,
        AppProto::C37118,
        AppProto::ProfinetIoCm,
        AppProto::Goose,
        AppProto::ProfinetDcp,
    ];

    /// One of the OT protocols (`[app_layer] ot`).
    pub fn is_ot(self) -> bool {
        !matches!(
            self,
            AppProto::Unknown
                | AppProto::Failed
                | AppProto::Http
                | AppProto::Tls
                | AppProto::Dns
                | AppProto::Ssh
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppProto::Unknown => "unknown",
            AppProto::Failed => "failed",
            AppProto::Http => "http",
            AppProto::Tls => "tls",
            AppProto::Dns => "dns",
            AppProto::Ssh => "ssh",
            AppProto::Modbus => "modbus",
            AppProto::Dnp3 => "dnp3",
            AppProto::Iec104 => "iec104",
            AppProto::Cotp => "cotp",
            AppProto::S7comm => "s7comm",
            AppProto::S7commPlus => "s7comm_plus",
            AppProto::Mms => "mms",
            AppProto::Enip => "enip",
            AppProto::Bacnet => "bacnet",
            AppProto::Opcua => "opcua",
            AppProto::Fins => "fins",
            AppProto::HartIp => "hart_ip",
            AppProto::Fox => "fox",
            AppProto::C37118 => "c37118",
            AppProto::ProfinetIoCm => "profinet_io_cm",
            AppProto::Goose => "goose",
            AppProto::ProfinetDcp => "profinet_dcp",
        }
    }
}

pub use common::Probe;

impl From<tls::Probe> for Probe {
    fn from(p: tls::Probe) -> Probe {
        match p {
            tls::Probe::Yes => Probe::Yes,
            tls::Probe::No => Probe::No,
            tls::Probe::NeedMore => Probe::NeedMore,
        }
    }
}

impl From<http::Probe> for Probe {
    fn from(p: http::Probe) -> Probe {
        match p {
            http::Probe::Yes => Probe::Yes,
            http::Probe::No => Probe::No,
            http::Probe::NeedMore => Probe::NeedMore,
        }
    }
}

impl From<dns::Probe> for Probe {
    fn from(p: dns::Probe) -> Probe {
        match p {
            dns::Probe::Yes => Probe::Yes,
            dns::Probe::No => Probe::No,
            dns::Probe::NeedMore => Probe::NeedMore,
        }
    }
}

/// Probe the first bytes of a TCP direction. `ports` are (server, client)
/// hints: a weak framing such as DNS over TCP is only tried on its port.
pub fn probe_stream(data: &[u8], to_server: bool, ports: (u16, u16)) -> (Probe, AppProto) {
    let server_port = ports.0;
    let mut need_more = false;
    for (proto, probe) in [
        (AppProto::Tls, Probe::from(tls::probe(data))),
        (AppProto::Http, Probe::from(http::probe(data, to_server))),
        (AppProto::Ssh, probe_ssh(data)),
    ] {
        match probe {
            Probe::Yes => return (Probe::Yes, proto),
            Probe::NeedMore => need_more = true,
            Probe::No => {}
        }
    }
    if server_port == 53 {
        match Probe::from(dns::probe_tcp(data)) {
            Probe::Yes => return (Probe::Yes, AppProto::Dns),
            Probe::NeedMore => need_more = true,
            Probe::No => {}
        }
    }
    match ot::probe_stream(data, to_server, ports) {
        (Probe::Yes, p) => return (Probe::Yes, p),
        (Probe::NeedMore, _) => need_more = true,
        (Probe::No, _) => {}
    }
    if need_more {
        (Probe::NeedMore, AppProto::Unknown)
    } else {
        (Probe::No, AppProto::Unknown)
    }
}

/// SSH identification string ("SSH-2.0-...", RFC 4253 section 4.2).
fn probe_ssh(data: &[u8]) -> Probe {
    const P: &[u8] = b"SSH-";
    let n = data.len().min(P.len());
    if data[..n] != P[..n] {
        Probe::No
    } else if n < P.len() {
        Probe::NeedMore
    } else {
        Probe::Yes
    }
}

/// Probe a UDP datagram. DNS is recognised by structure; on other than its
/// well-known ports the whole datagram must parse as a DNS message.
pub fn probe_datagram(payload: &[u8], sport: u16, dport: u16) -> AppProto {
    const DNS_PORTS: [u16; 3] = [53, 5353, 5355];
    // NetBIOS name and datagram services share DNS's message layout but are
    // not DNS (Suricata reports them as `failed` too).
    const NETBIOS_PORTS: [u16; 2] = [137, 138];
    if NETBIOS_PORTS.contains(&sport) || NETBIOS_PORTS.contains(&dport) {
        return AppProto::Unknown;
    }
    if dns::probe_udp(payload) {
        let on_port = DNS_PORTS.contains(&sport) || DNS_PORTS.contains(&dport);
        if on_port || dns::parse_message(payload).is_ok() {
            return AppProto::Dns;
        }
    }
    ot::probe_datagram(payload, sport, dport)
}

/// Per-flow parser state of a stream protocol.
pub enum AppParser {
    Http(Box<http::HttpState>),
    Tls(Box<tls::TlsState>),
    Dns(Box<dns::DnsTcpState>),
    Ot(Box<ot::OtParser>),
    /// Recognised, no parser: nothing more to inspect.
    Identified,
}

impl AppParser {
    pub fn new(proto: AppProto) -> AppParser {
        match proto {
            AppProto::Http => AppParser::Http(Box::default()),
            AppProto::Tls => AppParser::Tls(Box::default()),
            AppProto::Dns => AppParser::Dns(Box::default()),
            p => match ot::OtParser::new(p) {
                Some(o) => AppParser::Ot(Box::new(o)),
                None => AppParser::Identified,
            },
        }
    }

    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<AppEvent>) {
        match self {
            AppParser::Http(s) => {
                let mut ev = Vec::new();
                s.input(to_server, data, &mut ev);
                out.extend(ev.into_iter().map(AppEvent::Http));
            }
            AppParser::Tls(s) => {
                let mut ev = Vec::new();
                s.input(to_server, data, &mut ev);
                out.extend(ev.into_iter().map(AppEvent::Tls));
            }
            AppParser::Dns(s) => {
                let mut ev = Vec::new();
                s.input(to_server, data, &mut ev);
                out.extend(ev.into_iter().map(AppEvent::Dns));
            }
            AppParser::Ot(s) => {
                let mut ev = Vec::new();
                s.input(to_server, data, &mut ev);
                out.extend(ev.into_iter().map(|e| AppEvent::Ot(Box::new(e))));
            }
            AppParser::Identified => {}
        }
    }

    /// One UDP datagram (OT protocols with per-flow datagram state).
    pub fn datagram(&mut self, to_server: bool, payload: &[u8], out: &mut Vec<AppEvent>) {
        if let AppParser::Ot(s) = self {
            let mut ev = Vec::new();
            s.datagram(to_server, payload, &mut ev);
            out.extend(ev.into_iter().map(|e| AppEvent::Ot(Box::new(e))));
        }
    }

    /// The flow's protocol as the parser now knows it, when it refines the
    /// probe's answer (COTP learns S7comm / S7comm-plus / MMS).
    pub fn refined(&self) -> Option<AppProto> {
        match self {
            AppParser::Ot(s) => s.refined(),
            _ => None,
        }
    }

    pub fn gap(&mut self, to_server: bool) {
        match self {
            AppParser::Http(s) => s.gap(to_server),
            AppParser::Tls(s) => s.gap(to_server),
            AppParser::Dns(s) => s.gap(to_server),
            AppParser::Ot(s) => s.gap(to_server),
            AppParser::Identified => {}
        }
    }

    pub fn finish(&mut self, out: &mut Vec<AppEvent>) {
        match self {
            AppParser::Http(s) => {
                let mut ev = Vec::new();
                s.finish(&mut ev);
                out.extend(ev.into_iter().map(AppEvent::Http));
            }
            AppParser::Tls(s) => {
                let mut ev = Vec::new();
                s.finish(&mut ev);
                out.extend(ev.into_iter().map(AppEvent::Tls));
            }
            AppParser::Ot(s) => {
                let mut ev = Vec::new();
                s.finish(&mut ev);
                out.extend(ev.into_iter().map(|e| AppEvent::Ot(Box::new(e))));
            }
            AppParser::Dns(_) | AppParser::Identified => {}
        }
    }

    /// True when the parser wants no more bytes (e.g. the TLS handshake was
    /// logged and the rest is encrypted): the flow may stop reassembling.
    pub fn is_done(&self) -> bool {
        match self {
            AppParser::Tls(s) => s.is_done(),
            AppParser::Ot(s) => s.is_done(),
            AppParser::Identified => true,
            _ => false,
        }
    }
}

/// A decoded application-layer event.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum AppEvent {
    Dns(dns::DnsEvent),
    Http(http::HttpEvent),
    Tls(tls::TlsEvent),
    Ot(Box<ot::OtEvent>),
}

impl AppEvent {
    /// EVE `event_type` and the key of the protocol object.
    pub fn event_type(&self) -> &'static str {
        match self {
            AppEvent::Dns(_) => "dns",
            AppEvent::Http(_) => "http",
            AppEvent::Tls(_) => "tls",
            AppEvent::Ot(o) => o.proto().as_str(),
        }
    }

    pub fn proto(&self) -> AppProto {
        match self {
            AppEvent::Dns(_) => AppProto::Dns,
            AppEvent::Http(_) => AppProto::Http,
            AppEvent::Tls(_) => AppProto::Tls,
            AppEvent::Ot(o) => o.proto(),
        }
    }
}
