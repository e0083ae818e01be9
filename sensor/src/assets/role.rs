//! Role inference: what an asset is, from what it does on the wire.
//!
//! Each candidate role gets a score from the asset's behaviour; the best
//! score at or above [`MIN_SCORE`] wins (ties in the order engineering
//! workstation, PLC/RTU, HMI/SCADA, historian), is reported as the
//! confidence (capped at 95: passive evidence is never certain), and its
//! reasons are listed.
//!
//! | role | evidence (points) |
//! |---|---|
//! | `plc_rtu` | serves a control protocol — Modbus, S7comm(+), EtherNet/IP, DNP3 outstation, IEC-104 controlled station, BACnet device, GOOSE publisher, MMS server, FINS, HART-IP, Fox, C37.118 (60, +10 per further protocol up to +20); identity revealed in its responses (+10); answers PROFINET DCP only (40) |
//! | `hmi_scada` | reads from `hmi_min_servers`+ OT servers (55, +5 per further server up to +20) or from one (35); IEC-104 controlling station (+25, at least 50); DNP3 master (+25, at least 50); writes or commands (+10) |
//! | `engineering_workstation` | downloads, uploads, mode changes (70); S7 block functions and SZL reads (+10 each); discovery requests (+5, or 35 alone) |
//! | `historian` | reads and never writes (30); `historian_min_points`+ distinct points (+20); polling over `historian_min_span_ns`+ (+15); OPC UA client (+20), SQL client (+15), HTTP client (+5); two or more servers (+5) |

use serde::{Deserialize, Serialize};

use super::inventory::Behaviour;

/// Scores below this leave the role unknown.
pub const MIN_SCORE: u32 = 30;
/// Highest confidence given.
pub const MAX_CONFIDENCE: u32 = 95;

/// What an asset is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not enough evidence.
    #[default]
    Unknown,
    /// PLC, RTU, IED or another field controller: serves a control
    /// protocol.
    PlcRtu,
    /// HMI or SCADA server: polls controllers, operates them.
    HmiScada,
    /// Engineering workstation: programs and configures controllers.
    EngineeringWorkstation,
    /// Historian: reads many points for a long time, never writes.
    Historian,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 5] = [
        Role::Unknown,
        Role::PlcRtu,
        Role::HmiScada,
        Role::EngineeringWorkstation,
        Role::Historian,
    ];

    /// The name EVE, CSV and metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Unknown => "unknown",
            Role::PlcRtu => "plc_rtu",
            Role::HmiScada => "hmi_scada",
            Role::EngineeringWorkstation => "engineering_workstation",
            Role::Historian => "historian",
        }
    }
}

/// Why a role was inferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Serves a control protocol (see `serves`).
    ServesControlProtocol,
    /// Serves more than one control protocol.
    ServesSeveralControlProtocols,
    /// Publishes GOOSE.
    GoosePublisher,
    /// Answers PROFINET DCP.
    ProfinetDevice,
    /// Its responses name vendor, product, firmware or serial.
    IdentityFromResponses,
    /// Reads from several OT servers.
    PollsManyServers,
    /// Reads from one OT server.
    PollsOneServer,
    /// IEC 60870-5-104 client (controlling station).
    Iec104ControllingStation,
    /// DNP3 master.
    Dnp3Master,
    /// Writes or operates as a client.
    OperatorCommands,
    /// Downloads, uploads or changes operating modes.
    EngineeringOps,
    /// S7 block functions (list, upload, download, delete blocks).
    S7BlockFunctions,
    /// S7 SZL (system status list) reads.
    SzlReads,
    /// Sends discovery / identification requests.
    DiscoveryRequests,
    /// Reads and never writes.
    ReadsOnly,
    /// Reads many distinct points.
    ManyPoints,
    /// Has been polling for a long time.
    LongLivedPolling,
    /// OPC UA client.
    #[serde(rename = "opcua_client")]
    OpcUaClient,
    /// SQL client.
    SqlClient,
    /// HTTP client.
    HttpClient,
}

impl Reason {
    /// Every reason, in declaration order (bit `i` of a mask is `ALL[i]`).
    pub const ALL: [Reason; 20] = [
        Reason::ServesControlProtocol,
        Reason::ServesSeveralControlProtocols,
        Reason::GoosePublisher,
        Reason::ProfinetDevice,
        Reason::IdentityFromResponses,
        Reason::PollsManyServers,
        Reason::PollsOneServer,
        Reason::Iec104ControllingStation,
        Reason::Dnp3Master,
        Reason::OperatorCommands,
        Reason::EngineeringOps,
        Reason::S7BlockFunctions,
        Reason::SzlReads,
        Reason::DiscoveryRequests,
        Reason::ReadsOnly,
        Reason::ManyPoints,
        Reason::LongLivedPolling,
        Reason::OpcUaClient,
        Reason::SqlClient,
        Reason::HttpClient,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The reasons in a mask, in declaration order.
    pub(crate) fn from_mask(mask: u32) -> Vec<Reason> {
        Reason::ALL
            .iter()
            .copied()
            .filter(|r| mask & r.bit() != 0)
            .collect()
    }

    /// The mask of a list.
    pub(crate) fn mask(list: &[Reason]) -> u32 {
        list.iter().fold(0, |m, r| m | r.bit())
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ServesControlProtocol => "serves_control_protocol",
            Reason::ServesSeveralControlProtocols => "serves_several_control_protocols",
            Reason::GoosePublisher => "goose_publisher",
            Reason::ProfinetDevice => "profinet_device",
            Reason::IdentityFromResponses => "identity_from_responses",
            Reason::PollsManyServers => "polls_many_servers",
            Reason::PollsOneServer => "polls_one_server",
            Reason::Iec104ControllingStation => "iec104_controlling_station",
            Reason::Dnp3Master => "dnp3_master",
            Reason::OperatorCommands => "operator_commands",
            Reason::EngineeringOps => "engineering_ops",
            Reason::S7BlockFunctions => "s7_block_functions",
            Reason::SzlReads => "szl_reads",
            Reason::DiscoveryRequests => "discovery_requests",
            Reason::ReadsOnly => "reads_only",
            Reason::ManyPoints => "many_points",
            Reason::LongLivedPolling => "long_lived_polling",
            Reason::OpcUaClient => "opcua_client",
            Reason::SqlClient => "sql_client",
            Reason::HttpClient => "http_client",
        }
    }
}

/// Thresholds of the role heuristics.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleThresholds {
    /// An HMI reads from at least this many OT servers.
    pub hmi_min_servers: usize,
    /// A historian reads at least this many distinct points.
    pub historian_min_points: u32,
    /// A historian has been polling for at least this long (ns).
    pub historian_min_span_ns: u64,
}

impl Default for RoleThresholds {
    fn default() -> Self {
        RoleThresholds {
            hmi_min_servers: 2,
            historian_min_points: 500,
            historian_min_span_ns: 3_600 * 1_000_000_000,
        }
    }
}

/// Protocols the heuristics care about, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProtoSet(u32);

impl ProtoSet {
    pub const MODBUS: u32 = 1;
    pub const S7COMM: u32 = 1 << 1;
    pub const S7COMM_PLUS: u32 = 1 << 2;
    pub const ENIP: u32 = 1 << 3;
    pub const DNP3: u32 = 1 << 4;
    pub const IEC104: u32 = 1 << 5;
    pub const BACNET: u32 = 1 << 6;
    pub const GOOSE: u32 = 1 << 7;
    pub const MMS: u32 = 1 << 8;
    pub const FINS: u32 = 1 << 9;
    pub const HART_IP: u32 = 1 << 10;
    pub const FOX: u32 = 1 << 11;
    pub const C37118: u32 = 1 << 12;
    pub const PROFINET_DCP: u32 = 1 << 13;
    pub const OPCUA: u32 = 1 << 14;
    pub const HTTP: u32 = 1 << 15;
    pub const SQL: u32 = 1 << 16;
    /// Protocols whose server is a field controller.
    pub const CONTROL: u32 = Self::MODBUS
        | Self::S7COMM
        | Self::S7COMM_PLUS
        | Self::ENIP
        | Self::DNP3
        | Self::IEC104
        | Self::BACNET
        | Self::GOOSE
        | Self::MMS
        | Self::FINS
        | Self::HART_IP
        | Self::FOX
        | Self::C37118;

    /// The bit of an `app_proto` / `Op::proto` name (0: not tracked).
    pub fn bit(proto: &str) -> u32 {
        match proto {
            "modbus" => Self::MODBUS,
            "s7comm" => Self::S7COMM,
            "s7comm_plus" => Self::S7COMM_PLUS,
            "enip" | "cip" => Self::ENIP,
            "dnp3" => Self::DNP3,
            "iec104" => Self::IEC104,
            "bacnet" => Self::BACNET,
            "goose" => Self::GOOSE,
            "mms" => Self::MMS,
            "fins" => Self::FINS,
            "hart_ip" => Self::HART_IP,
            "fox" => Self::FOX,
            "c37118" => Self::C37118,
            "profinet_dcp" => Self::PROFINET_DCP,
            "opcua" => Self::OPCUA,
            "http" | "http2" => Self::HTTP,
            "sql" | "pgsql" | "mysql" | "tds" | "mssql" | "tns" => Self::SQL,
            _ => 0,
        }
    }

    pub fn insert(&mut self, proto: &str) {
        self.0 |= Self::bit(proto);
    }

    pub fn has(self, bits: u32) -> bool {
        self.0 & bits != 0
    }

    pub fn count(self, bits: u32) -> u32 {
        (self.0 & bits).count_ones()
    }
}

/// The role, confidence and reason mask for an asset's behaviour.
pub(crate) fn infer(
    served: ProtoSet,
    used: ProtoSet,
    b: &Behaviour,
    identity_known: bool,
    t: &RoleThresholds,
) -> (Role, u8, u32) {
    use Reason as R;

    // Engineering workstation: (score, reason mask).
    let mut ews = (0u32, 0u32);
    let signals = [
        (b.engineering > 0, R::EngineeringOps),
        (b.s7_block > 0, R::S7BlockFunctions),
        (b.szl_reads > 0, R::SzlReads),
    ];
    let k = signals.iter().filter(|(on, _)| *on).count() as u32;
    for (on, r) in signals {
        if on {
            ews.1 |= r.bit();
        }
    }
    if k > 0 {
        ews.0 = 70 + 10 * (k - 1);
        if b.discovery > 0 {
            ews.0 += 5;
            ews.1 |= R::DiscoveryRequests.bit();
        }
    } else if b.discovery > 0 {
        ews = (35, R::DiscoveryRequests.bit());
    }

    // PLC / RTU.
    let mut plc = (0u32, 0u32);
    let n = served.count(ProtoSet::CONTROL);
    if n > 0 {
        plc.0 = 60 + 10 * (n - 1).min(2);
        plc.1 |= R::ServesControlProtocol.bit();
        if n > 1 {
            plc.1 |= R::ServesSeveralControlProtocols.bit();
        }
        if served.has(ProtoSet::GOOSE) {
            plc.1 |= R::GoosePublisher.bit();
        }
    } else if served.has(ProtoSet::PROFINET_DCP) {
        plc = (40, R::ProfinetDevice.bit());
    }
    if plc.0 > 0 && identity_known {
        plc.0 += 10;
        plc.1 |= R::IdentityFromResponses.bit();
    }

    // HMI / SCADA.
    let mut hmi = (0u32, 0u32);
    let servers = b.polled.len();
    if servers >= t.hmi_min_servers.max(1) {
        let extra = (servers - t.hmi_min_servers.max(1)).min(4) as u32;
        hmi = (55 + 5 * extra, R::PollsManyServers.bit());
    } else if servers >= 1 {
        hmi = (35, R::PollsOneServer.bit());
    }
    for (bit, r) in [
        (ProtoSet::IEC104, R::Iec104ControllingStation),
        (ProtoSet::DNP3, R::Dnp3Master),
    ] {
        if used.has(bit) {
            hmi.0 = hmi.0.max(50) + 25;
            hmi.1 |= r.bit();
        }
    }
    if hmi.0 > 0 && b.writes + b.commands > 0 {
        hmi.0 += 10;
        hmi.1 |= R::OperatorCommands.bit();
    }

    // Historian.
    let mut hist = (0u32, 0u32);
    if b.reads > 0 && b.writes + b.commands + b.engineering == 0 {
        hist = (30, R::ReadsOnly.bit());
        if b.points >= t.historian_min_points {
            hist.0 += 20;
            hist.1 |= R::ManyPoints.bit();
        }
        if let (Some(first), Some(last)) = (b.first_read_ns, b.last_read_ns) {
            if last.saturating_sub(first) >= t.historian_min_span_ns {
                hist.0 += 15;
                hist.1 |= R::LongLivedPolling.bit();
            }
        }
        for (bit, points, r) in [
            (ProtoSet::OPCUA, 20, R::OpcUaClient),
            (ProtoSet::SQL, 15, R::SqlClient),
            (ProtoSet::HTTP, 5, R::HttpClient),
        ] {
            if used.has(bit) {
                hist.0 += points;
                hist.1 |= r.bit();
            }
        }
        if servers >= 2 {
            hist.0 += 5;
        }
    }

    // Best score; ties go to the earlier role of this list.
    let mut best = (Role::Unknown, (0u32, 0u32));
    for c in [
        (Role::EngineeringWorkstation, ews),
        (Role::PlcRtu, plc),
        (Role::HmiScada, hmi),
        (Role::Historian, hist),
    ] {
        if c.1 .0 > best.1 .0 {
            best = c;
        }
    }
    let (role, (score, reasons)) = best;
    if score < MIN_SCORE {
        return (Role::Unknown, 0, 0);
    }
    (role, score.min(MAX_CONFIDENCE) as u8, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::AssetKey;
    use std::net::IpAddr;

    fn set(protos: &[&str]) -> ProtoSet {
        let mut s = ProtoSet::default();
        for p in protos {
            s.insert(p);
        }
        s
    }

    fn polled(n: u8) -> Vec<AssetKey> {
        (0..n)
            .map(|i| AssetKey::Ip(IpAddr::from([10, 0, 0, i])))
            .collect()
    }

    #[test]
    fn roles_from_behaviour() {
        let t = RoleThresholds::default();
        let none = ProtoSet::default();
        let quiet = Behaviour::default();
        // Table: (served, used, behaviour, identity) -> (role, confidence).
        let cases: Vec<(ProtoSet, ProtoSet, Behaviour, bool, Role, u8)> = vec![
            (none, none, quiet.clone(), false, Role::Unknown, 0),
            (
                set(&["modbus"]),
                none,
                quiet.clone(),
                false,
                Role::PlcRtu,
                60,
            ),
            (
                set(&["s7comm", "modbus"]),
                none,
                quiet.clone(),
                true,
                Role::PlcRtu,
                80,
            ),
            (
                set(&["goose", "mms", "iec104"]),
                none,
                quiet.clone(),
                true,
                Role::PlcRtu,
                90,
            ),
            (
                set(&["profinet_dcp"]),
                none,
                quiet.clone(),
                false,
                Role::PlcRtu,
                40,
            ),
            (
                set(&["opcua"]),
                none,
                quiet.clone(),
                false,
                Role::Unknown,
                0,
            ),
            (
                none,
                set(&["modbus"]),
                Behaviour {
                    reads: 10,
                    writes: 1,
                    polled: polled(3),
                    ..quiet.clone()
                },
                false,
                Role::HmiScada,
                70,
            ),
            (
                none,
                set(&["iec104"]),
                Behaviour {
                    reads: 1,
                    commands: 2,
                    polled: polled(1),
                    ..quiet.clone()
                },
                false,
                Role::HmiScada,
                85,
            ),
            (
                none,
                set(&["s7comm"]),
                Behaviour {
                    reads: 5,
                    engineering: 1,
                    s7_block: 2,
                    szl_reads: 1,
                    polled: polled(1),
                    ..quiet.clone()
                },
                false,
                Role::EngineeringWorkstation,
                90,
            ),
            (
                none,
                set(&["modbus", "opcua", "sql"]),
                Behaviour {
                    reads: 100_000,
                    points: 800,
                    first_read_ns: Some(0),
                    last_read_ns: Some(2 * 3_600 * 1_000_000_000),
                    polled: polled(4),
                    ..quiet.clone()
                },
                false,
                Role::Historian,
                95,
            ),
            (
                none,
                none,
                Behaviour {
                    discovery: 3,
                    ..quiet.clone()
                },
                false,
                Role::EngineeringWorkstation,
                35,
            ),
        ];
        for (i, (served, used, b, id, role, conf)) in cases.into_iter().enumerate() {
            let (r, c, _) = infer(served, used, &b, id, &t);
            assert_eq!((r, c), (role, conf), "case {i}");
        }
    }

    #[test]
    fn reasons_round_trip_through_masks() {
        let mask = Reason::ServesControlProtocol.bit() | Reason::HttpClient.bit();
        let list = Reason::from_mask(mask);
        assert_eq!(
            list,
            vec![Reason::ServesControlProtocol, Reason::HttpClient]
        );
        assert_eq!(Reason::mask(&list), mask);
        for r in Reason::ALL {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        for r in Role::ALL {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
    }
}
