//! The asset table: observation, identity, events, export, persistence.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use foldhash::{HashMap, HashSet};
use ipnet::IpNet;
use rules::baseline::{read_state_file, wall_clock_secs, write_state_file, StateFileError};
use rules::ot::{Attr, Op, OpClass};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::oui;
use super::role::{self, ProtoSet, Reason, Role, RoleThresholds};
use crate::output::eve::ts_string;

/// `format` of an inventory file.
pub const FORMAT: &str = "sensor-assets";
/// `version` of the inventory file this code writes and reads.
pub const VERSION: u32 = 1;
/// Longest identity string or protocol name kept (characters).
pub const MAX_TEXT: usize = 128;
/// Most protocols with addresses per asset.
pub const MAX_ADDRESS_PROTOS: usize = 16;
/// Most OT servers remembered per polling client.
pub const MAX_POLLED: usize = 64;
/// Seed of the hash that identifies a point read (server, protocol, unit,
/// address, object) for the historian heuristic.
const POINT_SEED: u64 = 0x0a55_e7f0_0000_0001;

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// An Ethernet MAC address; text form `00:1b:1b:12:34:56`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Group (multicast/broadcast) address.
    pub fn is_group(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Locally administered (not from an IEEE assignment).
    pub fn is_local(self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// A unicast, non-zero address: one station.
    pub fn is_station(self) -> bool {
        !self.is_group() && self.0 != [0; 6]
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacAddr {
    type Err = String;

    /// Six hex octets separated by `:` or `-`.
    fn from_str(s: &str) -> Result<MacAddr, String> {
        let mut m = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in &mut m {
            let p = parts.next().unwrap_or("");
            if p.len() != 2 {
                return Err(format!("invalid MAC address {s:?}"));
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| format!("invalid MAC address {s:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("invalid MAC address {s:?}"));
        }
        Ok(MacAddr(m))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How an asset is keyed: by MAC on the local segment, else by IP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetKey {
    /// A station on the sensor's segment.
    Mac(MacAddr),
    /// A host seen through a router (or without link-layer addresses).
    Ip(IpAddr),
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetKey::Mac(m) => m.fmt(f),
            AssetKey::Ip(ip) => ip.fmt(f),
        }
    }
}

impl fmt::Debug for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for AssetKey {
    type Err = String;

    fn from_str(s: &str) -> Result<AssetKey, String> {
        if let Ok(m) = s.parse::<MacAddr>() {
            return Ok(AssetKey::Mac(m));
        }
        s.parse::<IpAddr>()
            .map(AssetKey::Ip)
            .map_err(|_| format!("invalid asset key {s:?}: neither a MAC nor an IP address"))
    }
}

impl Serialize for AssetKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AssetKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One end of a conversation as the caller saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Source/destination MAC of the frame, when the capture has one.
    pub mac: Option<MacAddr>,
    /// IP address.
    pub ip: IpAddr,
    /// Transport port (0 when none).
    pub port: u16,
}

// ---------------------------------------------------------------------------
// The asset record
// ---------------------------------------------------------------------------

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A protocol an asset serves (as server) or uses (as client).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `app_proto` / `Op::proto` name.
    pub proto: String,
    /// Server port; none for layer-2 protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Packet time first seen.
    pub first_ns: u64,
    /// Packet time last seen.
    pub last_ns: u64,
    /// Flows and operations seen.
    pub count: u64,
}

/// What the wire revealed about a device (from `Op` attrs `id_*` of its
/// responses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Manufacturer (`id_vendor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product name or code (`id_product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Model / order number (`id_model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number (`id_serial`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Firmware / software version (`id_version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Station / device name (`id_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Identity {
    /// (field name, `Op` attr name) of every identity field.
    pub const FIELDS: [(&'static str, &'static str); 6] = [
        ("vendor", "id_vendor"),
        ("product", "id_product"),
        ("model", "id_model"),
        ("serial", "id_serial"),
        ("version", "id_version"),
        ("name", "id_name"),
    ];

    /// Nothing known.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    /// (field name, value) in [`Identity::FIELDS`] order.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("vendor", self.vendor.as_deref()),
            ("product", self.product.as_deref()),
            ("model", self.model.as_deref()),
            ("serial", self.serial.as_deref()),
            ("version", self.version.as_deref()),
            ("name", self.name.as_deref()),
        ]
    }

    fn slot(&mut self, field: &str) -> Option<&mut Option<String>> {
        Some(match field {
            "vendor" => &mut self.vendor,
            "product" => &mut self.product,
            "model" => &mut self.model,
            "serial" => &mut self.serial,
            "version" => &mut self.version,
            "name" => &mut self.name,
            _ => return None,
        })
    }

    /// One line: `vendor product model fw VERSION sn SERIAL "name"`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for v in [&self.vendor, &self.product, &self.model]
            .into_iter()
            .flatten()
        {
            parts.push(v.clone());
        }
        if let Some(v) = &self.version {
            parts.push(format!("fw {v}"));
        }
        if let Some(v) = &self.serial {
            parts.push(format!("sn {v}"));
        }
        if let Some(v) = &self.name {
            parts.push(format!("\"{v}\""));
        }
        parts.join(" ")
    }
}

/// Protocol addresses an asset answers to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtoAddresses {
    /// Units / stations served (Modbus unit ids, DNP3 outstation
    /// addresses, IEC-104 common addresses, BACnet device instances),
    /// sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<u32>,
    /// Names published or served (GOOSE gocbRefs, MMS domains), in order
    /// of appearance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// Behaviour counters the role is inferred from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Read operations sent as a client.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reads: u64,
    /// Write operations sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub writes: u64,
    /// Commands (operate, control) sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commands: u64,
    /// Downloads, uploads (program reads) and mode changes sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub engineering: u64,
    /// S7 block functions sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub s7_block: u64,
    /// S7 SZL reads sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub szl_reads: u64,
    /// Discovery / identification requests sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discovery: u64,
    /// OT servers (assets) read from (at most [`MAX_POLLED`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polled: Vec<AssetKey>,
    /// Distinct points read, counted up to the historian threshold.
    #[serde(default)]
    pub points: u32,
    /// Packet time of the first read sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_read_ns: Option<u64>,
    /// Packet time of the last read sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_ns: Option<u64>,
    /// Operations answered as a server.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub served_ops: u64,
    /// Hashes of the points counted in `points` (not saved: after a
    /// restart a point may be counted twice until the threshold).
    #[serde(skip)]
    pub(super) point_set: HashSet<u64>,
}

/// One asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// The key: the MAC, or the IP for an asset keyed by IP.
    pub key: AssetKey,
    /// MAC address (on the local segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// Vendor of the MAC's IEEE assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// IP addresses seen (at most `max_ips_per_asset`).
    pub ips: Vec<IpAddr>,
    /// Further IP addresses not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ips_dropped: u64,
    /// This MAC carries many hosts' traffic: a router. IPs first seen
    /// behind it after detection become assets of their own.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gateway: bool,
    /// Inferred role.
    pub role: Role,
    /// Confidence in the role, percent.
    pub confidence: u8,
    /// Evidence for the role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// Identity the wire revealed.
    #[serde(default, skip_serializing_if = "Identity::is_empty")]
    pub identity: Identity,
    /// Protocol addresses served, by protocol.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, ProtoAddresses>,
    /// Protocols served (as server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<Service>,
    /// Protocols used (as client; the port is the server's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<Service>,
    /// Services not kept (over `max_services_per_asset`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub services_dropped: u64,
    /// Behaviour counters.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Packet time first seen.
    pub first_seen_ns: u64,
    /// Packet time last seen.
    pub last_seen_ns: u64,
    #[serde(skip)]
    served: ProtoSet,
    #[serde(skip)]
    used: ProtoSet,
    #[serde(skip)]
    reason_mask: u32,
    /// Identity events emitted since start (for the per-asset cap).
    #[serde(skip)]
    identity_events: u32,
}

impl Asset {
    fn new(key: AssetKey, mac: Option<MacAddr>, ts_ns: u64) -> Asset {
        Asset {
            key,
            mac,
            vendor: mac.and_then(|m| oui::vendor(m.0)).map(str::to_string),
            ips: Vec::new(),
            ips_dropped: 0,
            gateway: false,
            role: Role::Unknown,
            confidence: 0,
            reasons: Vec::new(),
            identity: Identity::default(),
            addresses: BTreeMap::new(),
            serves: Vec::new(),
            uses: Vec::new(),
            services_dropped: 0,
            behaviour: Behaviour::default(),
            first_seen_ns: ts_ns,
            last_seen_ns: ts_ns,
            served: ProtoSet::default(),
            used: ProtoSet::default(),
            reason_mask: 0,
            identity_events: 0,
        }
    }

    fn touch(&mut self, ts_ns: u64) {
        self.first_seen_ns = self.first_seen_ns.min(ts_ns);
        self.last_seen_ns = self.last_seen_ns.max(ts_ns);
    }

    /// Recompute the protocol bit sets from the service lists.
    fn rebuild_sets(&mut self) {
        self.served = ProtoSet::default();
        for s in &self.serves {
            self.served.insert(&s.proto);
        }
        self.used = ProtoSet::default();
        for s in &self.uses {
            self.used.insert(&s.proto);
        }
        self.reason_mask = Reason::mask(&self.reasons);
    }

    /// `srv modbus/502 s7comm/102; cli http/80`.
    pub fn protocols_summary(&self) -> String {
        let list = |v: &[Service]| {
            v.iter()
                .map(|s| match s.port {
                    Some(p) => format!("{}/{p}", s.proto),
                    None => s.proto.clone(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        match (self.serves.is_empty(), self.uses.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!("srv {}", list(&self.serves)),
            (true, false) => format!("cli {}", list(&self.uses)),
            (false, false) => format!("srv {}; cli {}", list(&self.serves), list(&self.uses)),
        }
    }

    /// `modbus units 1,2; goose CTRL/LLN0$GO$gcb1`.
    pub fn addresses_summary(&self) -> String {
        let mut out = Vec::new();
        for (proto, a) in &self.addresses {
            if !a.units.is_empty() {
                let u: Vec<String> = a.units.iter().map(u32::to_string).collect();
                out.push(format!("{proto} units {}", u.join(",")));
            }
            if !a.names.is_empty() {
                out.push(format!("{proto} {}", a.names.join(",")));
            }
        }
        out.join("; ")
    }
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// A change worth an EVE record (`event_type: "asset"`; this is the object
/// under `"asset"`). The record's timestamp is [`AssetEvent::ts_ns`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AssetEvent {
    /// A new asset.
    New {
        /// Packet time.
        #[serde(skip)]
        ts_ns: u64,
        /// Its key.
        asset: AssetKey,
        /// MAC.
        #[serde(skip_serializing_if = "Option::is_none")]
        mac: Option<MacAddr>,
        /// The IP it was first seen with.
        #[serde(skip_serializing_if = "Option::is_none")]
        ip: Option<IpAddr>,
        /// Vendor of the MAC.
        #[serde(skip_serializing_if = "Option::is_none")]
        vendor: Option<String>,
    },
    /// An identity field was learned (`old` absent) or changed.
    IdentityChanged {
        /// Packet time.
        #[serde(skip)]
        ts_ns: u64,
        /// The asset.
        asset: AssetKey,
        /// Its first IP.
        #[serde(skip_serializing_if = "Option::is_none")]
        ip: Option<IpAddr>,
        /// `vendor`, `product`, `model`, `serial`, `version` or `name`.
        field: &'static str,
        /// Previous value.
        #[serde(skip_serializing_if = "Option::is_none")]
        old: Option<String>,
        /// New value.
        new: String,
    },
    /// The inferred role changed.
    RoleChanged {
        /// Packet time.
        #[serde(skip)]
        ts_ns: u64,
        /// The asset.
        asset: AssetKey,
        /// Its first IP.
        #[serde(skip_serializing_if = "Option::is_none")]
        ip: Option<IpAddr>,
        /// Previous role.
        old: Role,
        /// New role.
        new: Role,
        /// Confidence in the new role, percent.
        confidence: u8,
        /// Evidence.
        reasons: Vec<Reason>,
    },
}

impl AssetEvent {
    /// Packet time of the observation that caused it.
    pub fn ts_ns(&self) -> u64 {
        match self {
            AssetEvent::New { ts_ns, .. }
            | AssetEvent::IdentityChanged { ts_ns, .. }
            | AssetEvent::RoleChanged { ts_ns, .. } => *ts_ns,
        }
    }

    /// The asset's key.
    pub fn asset(&self) -> AssetKey {
        match self {
            AssetEvent::New { asset, .. }
            | AssetEvent::IdentityChanged { asset, .. }
            | AssetEvent::RoleChanged { asset, .. } => *asset,
        }
    }

    /// An IP of the asset, for the record's `src_ip`.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            AssetEvent::New { ip, .. }
            | AssetEvent::IdentityChanged { ip, .. }
            | AssetEvent::RoleChanged { ip, .. } => *ip,
        }
    }
}

// ---------------------------------------------------------------------------
// Configuration and counters
// ---------------------------------------------------------------------------

/// Settings of an [`Inventory`].
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryConfig {
    /// Most assets kept; further ones are counted in
    /// [`InventoryStats::overflow`].
    pub max_assets: usize,
    /// Most IP addresses kept per asset.
    pub max_ips_per_asset: usize,
    /// Most served plus used services kept per asset.
    pub max_services_per_asset: usize,
    /// Most units and most names kept per protocol of an asset.
    pub max_addresses_per_proto: usize,
    /// Most identity events per asset since start; further changes are
    /// applied but only counted.
    pub max_identity_events_per_asset: u32,
    /// A MAC seen with more distinct IPv4 addresses than this is a router.
    pub gateway_min_ipv4: usize,
    /// Subnets on the sensor's own segment(s): their hosts are keyed by
    /// MAC. Empty: every host with a MAC, except detected routers.
    pub local_nets: Vec<IpNet>,
    /// Subnets whose hosts are assets. Empty: every unicast address.
    pub asset_nets: Vec<IpNet>,
    /// Role heuristics.
    pub roles: RoleThresholds,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            max_assets: 10_000,
            max_ips_per_asset: 8,
            max_services_per_asset: 32,
            max_addresses_per_proto: 32,
            max_identity_events_per_asset: 32,
            gateway_min_ipv4: 4,
            local_nets: Vec::new(),
            asset_nets: Vec::new(),
            roles: RoleThresholds::default(),
        }
    }
}

/// Counters for metrics (`sensor_assets_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryStats {
    /// Assets known.
    #[serde(skip)]
    pub assets: usize,
    /// Observations of new assets not kept (table full).
    pub overflow: u64,
    /// Endpoints outside `asset_nets` or not unicast.
    pub ignored: u64,
    /// Identity changes over the per-asset event cap.
    pub identity_events_suppressed: u64,
}

/// The file: `A` is `Asset` when reading, `&Asset` when writing (no copy).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile<A> {
    format: String,
    version: u32,
    /// Wall-clock seconds since the Unix epoch when written.
    saved_at: u64,
    stats: InventoryStats,
    assets: Vec<A>,
}

/// The export document: assets sorted by key.
#[derive(Serialize)]
struct Export<'a> {
    stats: InventoryStats,
    counts_by_role: BTreeMap<&'static str, usize>,
    assets: Vec<&'a Asset>,
}

// ---------------------------------------------------------------------------
// The inventory
// ---------------------------------------------------------------------------

/// The passive asset inventory. Single-threaded (`&mut self`): one per
/// sensor behind a mutex, or fed from a channel.
#[derive(Debug)]
pub struct Inventory {
    cfg: InventoryConfig,
    assets: Vec<Asset>,
    by_key: HashMap<AssetKey, u32>,
    /// IP → the MAC-keyed asset that holds it.
    by_ip: HashMap<IpAddr, u32>,
    /// MACs detected as routers.
    gateways: HashSet<MacAddr>,
    stats: InventoryStats,
}

impl Inventory {
    /// An empty inventory.
    pub fn new(cfg: InventoryConfig) -> Inventory {
        Inventory {
            cfg,
            assets: Vec::new(),
            by_key: HashMap::default(),
            by_ip: HashMap::default(),
            gateways: HashSet::default(),
            stats: InventoryStats::default(),
        }
    }

    /// Counters for metrics.
    pub fn stats(&self) -> InventoryStats {
        InventoryStats {
            assets: self.assets.len(),
            ..self.stats
        }
    }

    /// Number of assets per role, every role listed.
    pub fn counts_by_role(&self) -> [(Role, usize); 5] {
        let mut out = Role::ALL.map(|r| (r, 0));
        for a in &self.assets {
            if let Some(slot) = out.iter_mut().find(|(r, _)| *r == a.role) {
                slot.1 += 1;
            }
        }
        out
    }

    /// The asset with this key.
    pub fn get(&self, key: &AssetKey) -> Option<&Asset> {
        self.by_key.get(key).map(|&i| &self.assets[i as usize])
    }

    /// The asset holding this IP.
    pub fn find_ip(&self, ip: IpAddr) -> Option<&Asset> {
        self.by_ip
            .get(&ip)
            .or_else(|| self.by_key.get(&AssetKey::Ip(ip)))
            .map(|&i| &self.assets[i as usize])
    }

    /// Every asset, sorted by key (MAC-keyed first).
    pub fn assets(&self) -> Vec<&Asset> {
        let mut v: Vec<&Asset> = self.assets.iter().collect();
        v.sort_by_key(|a| a.key);
        v
    }

    // -- observation --------------------------------------------------------

    /// A flow (at its end, or once its protocol is known): both ends are
    /// assets; `app_proto` (EVE's name; empty, `unknown` or `failed` when
    /// not recognised) is served by the server on its port and used by the
    /// client.
    pub fn observe_flow(
        &mut self,
        ts_ns: u64,
        client: &Endpoint,
        server: &Endpoint,
        app_proto: &str,
        out: &mut Vec<AssetEvent>,
    ) {
        let c = self.resolve(ts_ns, client, out);
        let s = self.resolve(ts_ns, server, out);
        let proto = match app_proto {
            "" | "unknown" | "failed" => sql_port(server.port).then_some("sql"),
            p => Some(p),
        };
        let port = (server.port != 0).then_some(server.port);
        if let Some(proto) = proto {
            if let Some(s) = s {
                self.add_service(s, true, proto, port, ts_ns);
            }
            if let Some(c) = c {
                self.add_service(c, false, proto, port, ts_ns);
            }
        }
        for i in [c, s].into_iter().flatten() {
            self.reinfer(i, ts_ns, out);
        }
    }

    /// One OT operation: the server serves `op.proto` and owns the units,
    /// names and identity the op reveals; the client's behaviour counters
    /// follow the op's class.
    pub fn observe_op(
        &mut self,
        ts_ns: u64,
        client: &Endpoint,
        server: &Endpoint,
        op: &Op,
        out: &mut Vec<AssetEvent>,
    ) {
        let c = self.resolve(ts_ns, client, out);
        let s = self.resolve(ts_ns, server, out);
        let port = (server.port != 0).then_some(server.port);
        if let Some(s) = s {
            self.add_service(s, true, op.proto, port, ts_ns);
            self.served_op(s, op, ts_ns, out);
        }
        if let Some(c) = c {
            self.add_service(c, false, op.proto, port, ts_ns);
            if !op.response_only {
                let server_key = s.map_or(AssetKey::Ip(server.ip), |s| self.assets[s].key);
                self.client_op(c, Some((server_key, server.ip)), op, ts_ns);
            }
        }
        for i in [c, s].into_iter().flatten() {
            self.reinfer(i, ts_ns, out);
        }
    }

    /// A layer-2 frame of `proto` (`goose`, `profinet_dcp`, ...) published
    /// by `src_mac`: the station serves that protocol.
    pub fn observe_l2(
        &mut self,
        ts_ns: u64,
        src_mac: MacAddr,
        proto: &str,
        out: &mut Vec<AssetEvent>,
    ) {
        if let Some(i) = self.resolve_mac(ts_ns, src_mac, out) {
            self.add_service(i, true, proto, None, ts_ns);
            self.reinfer(i, ts_ns, out);
        }
    }

    /// A layer-2 operation from `src_mac`. A publication, response or
    /// announcement (`response_only`, class `Report`, or carrying `id_*`
    /// attrs: GOOSE, DCP identify responses and Hello) describes the
    /// sender: as [`Inventory::observe_l2`], plus the unit, names, identity
    /// and the IP (DCP attr `ip`) it carries. Anything else (a DCP identify
    /// or set request) is a request: the sender uses the protocol and its
    /// behaviour counters follow the op's class.
    pub fn observe_l2_op(
        &mut self,
        ts_ns: u64,
        src_mac: MacAddr,
        op: &Op,
        out: &mut Vec<AssetEvent>,
    ) {
        let Some(i) = self.resolve_mac(ts_ns, src_mac, out) else {
            return;
        };
        let announces = op.response_only
            || op.class == OpClass::Report
            || op.attrs.iter().any(|(k, _)| k.starts_with("id_"));
        if announces {
            self.add_service(i, true, op.proto, None, ts_ns);
            if let Some(Attr::Str(ip)) = op.attr("ip") {
                if let Ok(ip) = ip.parse::<IpAddr>() {
                    if self.is_asset_ip(ip) && !self.assets[i].ips.contains(&ip) {
                        self.add_ip(i, ip);
                    }
                }
            }
            self.served_op(i, op, ts_ns, out);
        } else {
            self.add_service(i, false, op.proto, None, ts_ns);
            self.client_op(i, None, op, ts_ns);
        }
        self.reinfer(i, ts_ns, out);
    }

    fn is_asset_ip(&self, ip: IpAddr) -> bool {
        let unicast = match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        };
        unicast
            && (self.cfg.asset_nets.is_empty()
                || self.cfg.asset_nets.iter().any(|n| n.contains(&ip)))
    }

    fn on_local_segment(&self, ip: IpAddr) -> bool {
        self.cfg.local_nets.is_empty() || self.cfg.local_nets.iter().any(|n| n.contains(&ip))
    }

    /// The asset of an endpoint, created if new and there is room.
    fn resolve(&mut self, ts_ns: u64, ep: &Endpoint, out: &mut Vec<AssetEvent>) -> Option<usize> {
        if !self.is_asset_ip(ep.ip) {
            self.stats.ignored += 1;
            return None;
        }
        let mac = ep.mac.filter(|m| {
            m.is_station() && !self.gateways.contains(m) && self.on_local_segment(ep.ip)
        });
        if let Some(mac) = mac {
            match self.by_key.get(&AssetKey::Mac(mac)) {
                None => return self.create(AssetKey::Mac(mac), Some(mac), Some(ep.ip), ts_ns, out),
                Some(&i) => {
                    let i = i as usize;
                    let a = &mut self.assets[i];
                    if a.ips.contains(&ep.ip) {
                        a.touch(ts_ns);
                        return Some(i);
                    }
                    let v4 = a.ips.iter().filter(|ip| ip.is_ipv4()).count();
                    if ep.ip.is_ipv4() && v4 >= self.cfg.gateway_min_ipv4 {
                        // Too many hosts behind one MAC: a router. This IP
                        // and later ones are keyed by IP.
                        a.gateway = true;
                        self.gateways.insert(mac);
                    } else {
                        a.touch(ts_ns);
                        self.add_ip(i, ep.ip);
                        return Some(i);
                    }
                }
            }
        }
        if let Some(&i) = self.by_ip.get(&ep.ip) {
            self.assets[i as usize].touch(ts_ns);
            return Some(i as usize);
        }
        match self.by_key.get(&AssetKey::Ip(ep.ip)) {
            Some(&i) => {
                self.assets[i as usize].touch(ts_ns);
                Some(i as usize)
            }
            None => self.create(AssetKey::Ip(ep.ip), None, Some(ep.ip), ts_ns, out),
        }
    }

    fn resolve_mac(
        &mut self,
        ts_ns: u64,
        mac: MacAddr,
        out: &mut Vec<AssetEvent>,
    ) -> Option<usize> {
        if !mac.is_station() {
            self.stats.ignored += 1;
            return None;
        }
        match self.by_key.get(&AssetKey::Mac(mac)) {
            Some(&i) => {
                self.assets[i as usize].touch(ts_ns);
                Some(i as usize)
            }
            None => self.create(AssetKey::Mac(mac), Some(mac), None, ts_ns, out),
        }
    }

    fn create(
        &mut self,
        key: AssetKey,
        mac: Option<MacAddr>,
        ip: Option<IpAddr>,
        ts_ns: u64,
        out: &mut Vec<AssetEvent>,
    ) -> Option<usize> {
        if self.assets.len() >= self.cfg.max_assets {
            self.stats.overflow += 1;
            return None;
        }
        let i = self.assets.len();
        let a = Asset::new(key, mac, ts_ns);
        out.push(AssetEvent::New {
            ts_ns,
            asset: key,
            mac,
            ip,
            vendor: a.vendor.clone(),
        });
        self.assets.push(a);
        self.by_key.insert(key, i as u32);
        if let Some(ip) = ip {
            self.add_ip(i, ip);
        }
        Some(i)
    }

    fn add_ip(&mut self, i: usize, ip: IpAddr) {
        let a = &mut self.assets[i];
        if a.ips.len() >= self.cfg.max_ips_per_asset {
            a.ips_dropped += 1;
            return;
        }
        a.ips.push(ip);
        if matches!(a.key, AssetKey::Mac(_)) {
            // The latest MAC seen with an IP owns it.
            self.by_ip.insert(ip, i as u32);
        }
    }

    fn add_service(&mut self, i: usize, serves: bool, proto: &str, port: Option<u16>, ts_ns: u64) {
        let max = self.cfg.max_services_per_asset;
        let a = &mut self.assets[i];
        let total = a.serves.len() + a.uses.len();
        let list = if serves { &mut a.serves } else { &mut a.uses };
        if let Some(s) = list.iter_mut().find(|s| s.port == port && s.proto == proto) {
            s.first_ns = s.first_ns.min(ts_ns);
            s.last_ns = s.last_ns.max(ts_ns);
            s.count = s.count.saturating_add(1);
            return;
        }
        if total >= max || proto.is_empty() {
            a.services_dropped += 1;
            return;
        }
        list.push(Service {
            proto: clean(proto).into_owned(),
            port,
            first_ns: ts_ns,
            last_ns: ts_ns,
            count: 1,
        });
        if serves {
            a.served.insert(proto);
        } else {
            a.used.insert(proto);
        }
    }

    /// What an op tells about its server: units, names, identity.
    fn served_op(&mut self, i: usize, op: &Op, ts_ns: u64, out: &mut Vec<AssetEvent>) {
        let max = self.cfg.max_addresses_per_proto;
        let a = &mut self.assets[i];
        a.behaviour.served_ops = a.behaviour.served_ops.saturating_add(1);
        // Decoders set the unit to the server's address, also for
        // responses standing alone (DNP3 source, IEC-104 common address,
        // GOOSE APPID).
        let unit = op.unit;
        let name = match op.proto {
            "goose" => op.object.as_deref(),
            // The MMS domain (logical device) of `domain/item`.
            "mms" => op
                .object
                .as_deref()
                .map(|o| o.split('/').next().unwrap_or(o)),
            _ => None,
        }
        .map(|n| n.trim())
        .filter(|n| !n.is_empty());
        if unit.is_some() || name.is_some() {
            // Look up before inserting: the key is allocated only for a
            // protocol's first address; protocols beyond the cap are not
            // recorded.
            if !a.addresses.contains_key(op.proto) && a.addresses.len() < MAX_ADDRESS_PROTOS {
                a.addresses
                    .insert(op.proto.to_string(), ProtoAddresses::default());
            }
            if let Some(entry) = a.addresses.get_mut(op.proto) {
                if let Some(u) = unit {
                    if let Err(pos) = entry.units.binary_search(&u) {
                        if entry.units.len() < max {
                            entry.units.insert(pos, u);
                        }
                    }
                }
                if let Some(n) = name.map(clean) {
                    if entry.names.len() < max && !entry.names.iter().any(|x| *x == *n) {
                        entry.names.push(n.into_owned());
                    }
                }
            }
        }
        self.learn_identity(i, op, ts_ns, out);
    }

    fn learn_identity(&mut self, i: usize, op: &Op, ts_ns: u64, out: &mut Vec<AssetEvent>) {
        if op.attrs.is_empty() {
            return;
        }
        let cap = self.cfg.max_identity_events_per_asset;
        let a = &mut self.assets[i];
        for (field, attr) in Identity::FIELDS {
            let new = match op.attr(attr) {
                Some(Attr::Str(s)) => {
                    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
                    if t.is_empty() {
                        continue;
                    }
                    let t = clean(t);
                    let Some(slot) = a.identity.slot(field) else {
                        continue;
                    };
                    // Compare before allocating: most responses repeat.
                    if slot.as_deref() == Some(&*t) {
                        continue;
                    }
                    t.into_owned()
                }
                Some(Attr::Int(n)) => n.to_string(),
                _ => continue,
            };
            let Some(slot) = a.identity.slot(field) else {
                continue;
            };
            if slot.as_deref() == Some(new.as_str()) {
                continue;
            }
            let old = slot.replace(new.clone());
            if a.identity_events < cap {
                a.identity_events += 1;
                out.push(AssetEvent::IdentityChanged {
                    ts_ns,
                    asset: a.key,
                    ip: a.ips.first().copied(),
                    field,
                    old,
                    new,
                });
            } else {
                self.stats.identity_events_suppressed += 1;
            }
        }
    }

    /// What an op tells about its client.
    /// What an op tells about its client; `server` is the server's asset
    /// key and IP (none for layer-2 requests to a group address).
    fn client_op(&mut self, i: usize, server: Option<(AssetKey, IpAddr)>, op: &Op, ts_ns: u64) {
        let min_points = self.cfg.roles.historian_min_points;
        let b = &mut self.assets[i].behaviour;
        let s7 = op.proto.starts_with("s7comm");
        if s7 && op.function.contains("szl") {
            b.szl_reads += 1;
        } else if s7 && op.function.contains("block") {
            b.s7_block += 1;
        }
        match op.class {
            OpClass::Read => {
                b.reads += 1;
                b.first_read_ns = Some(b.first_read_ns.map_or(ts_ns, |t| t.min(ts_ns)));
                b.last_read_ns = Some(b.last_read_ns.map_or(ts_ns, |t| t.max(ts_ns)));
                let control = ProtoSet::bit(op.proto) & ProtoSet::CONTROL != 0;
                if let Some((key, _)) = server.filter(|_| control) {
                    if b.polled.len() < MAX_POLLED && !b.polled.contains(&key) {
                        b.polled.push(key);
                    }
                }
                if b.points < min_points {
                    let point = (
                        server.map(|s| s.1),
                        op.proto,
                        op.unit,
                        op.address,
                        op.object.as_deref(),
                    );
                    let h = foldhash::fast::FixedState::with_seed(POINT_SEED).hash_one(point);
                    if b.point_set.insert(h) {
                        let items = op.quantity.unwrap_or(1).clamp(1, 2_000);
                        b.points = b.points.saturating_add(items).min(min_points);
                    }
                    if b.points >= min_points {
                        b.point_set = HashSet::default();
                    }
                }
            }
            OpClass::Write => b.writes += 1,
            OpClass::Command => b.commands += 1,
            OpClass::Download | OpClass::Upload | OpClass::ModeChange => b.engineering += 1,
            OpClass::Discovery => b.discovery += 1,
            _ => {}
        }
    }

    fn reinfer(&mut self, i: usize, ts_ns: u64, out: &mut Vec<AssetEvent>) {
        let a = &mut self.assets[i];
        let (role, confidence, mask) = role::infer(
            a.served,
            a.used,
            &a.behaviour,
            !a.identity.is_empty(),
            &self.cfg.roles,
        );
        if role != a.role {
            out.push(AssetEvent::RoleChanged {
                ts_ns,
                asset: a.key,
                ip: a.ips.first().copied(),
                old: a.role,
                new: role,
                confidence,
                reasons: Reason::from_mask(mask),
            });
        }
        a.role = role;
        a.confidence = confidence;
        if mask != a.reason_mask {
            a.reason_mask = mask;
            a.reasons = Reason::from_mask(mask);
        }
    }

    // -- export -------------------------------------------------------------

    /// The inventory as pretty JSON: `{"stats", "counts_by_role",
    /// "assets": [...]}`, assets sorted by key, each as in the state file.
    pub fn export_json<W: Write>(&self, w: W) -> io::Result<()> {
        let doc = Export {
            stats: self.stats(),
            counts_by_role: self
                .counts_by_role()
                .iter()
                .map(|(r, n)| (r.as_str(), *n))
                .collect(),
            assets: self.assets(),
        };
        serde_json::to_writer_pretty(w, &doc).map_err(io::Error::other)
    }

    /// The inventory as CSV (RFC 4180, header line, one asset per line;
    /// lists separated by spaces or `;`; times as EVE timestamps). Cells
    /// that a spreadsheet would run as a formula are prefixed with `'`.
    pub fn export_csv<W: Write>(&self, mut w: W) -> io::Result<()> {
        writeln!(
            w,
            "key,mac,vendor,ips,role,confidence,reasons,id_vendor,id_product,id_model,id_serial,\
             id_version,id_name,addresses,serves,uses,first_seen,last_seen"
        )?;
        for a in self.assets() {
            let mut cells: Vec<String> = vec![
                a.key.to_string(),
                a.mac.map(|m| m.to_string()).unwrap_or_default(),
                a.vendor.clone().unwrap_or_default(),
                join(a.ips.iter()),
                a.role.as_str().to_string(),
                a.confidence.to_string(),
                a.reasons
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ];
            for (_, v) in a.identity.fields() {
                cells.push(v.unwrap_or_default().to_string());
            }
            let services = |v: &[Service]| {
                v.iter()
                    .map(|s| match s.port {
                        Some(p) => format!("{}/{p}", s.proto),
                        None => s.proto.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            cells.push(a.addresses_summary());
            cells.push(services(&a.serves));
            cells.push(services(&a.uses));
            cells.push(ts_string(a.first_seen_ns));
            cells.push(ts_string(a.last_seen_ns));
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            writeln!(w, "{}", line.join(","))?;
        }
        Ok(())
    }

    /// The inventory as a fixed-width text table: MAC, vendor, IPs, role,
    /// identity, protocols, first seen, last seen (UTC). Long cells are cut
    /// with `~`; control characters become `?`.
    pub fn table(&self) -> String {
        const COLS: [(&str, usize); 8] = [
            ("MAC", 17),
            ("VENDOR", 20),
            ("IPS", 24),
            ("ROLE", 28),
            ("IDENTITY", 36),
            ("PROTOCOLS", 36),
            ("FIRST SEEN", 19),
            ("LAST SEEN", 19),
        ];
        let mut out = String::new();
        let row = |out: &mut String, cells: [String; 8]| {
            let mut line = String::new();
            for (i, (cell, (_, width))) in cells.iter().zip(COLS).enumerate() {
                let text = fit(cell, width);
                line.push_str(&text);
                if i + 1 < COLS.len() {
                    let pad = width - text.chars().count();
                    line.extend(std::iter::repeat_n(' ', pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        };
        row(&mut out, COLS.map(|(h, _)| h.to_string()));
        for a in self.assets() {
            let ips = match a.ips.len() {
                0 => "-".to_string(),
                1 => a.ips[0].to_string(),
                n => format!("{} +{}", a.ips[0], n - 1),
            };
            let role = if a.role == Role::Unknown {
                "unknown".to_string()
            } else {
                format!("{} {}%", a.role.as_str(), a.confidence)
            };
            let seen = |ns: u64| ts_string(ns).chars().take(19).collect::<String>();
            row(
                &mut out,
                [
                    a.mac.map_or_else(|| "-".to_string(), |m| m.to_string()),
                    a.vendor.clone().unwrap_or_else(|| "-".to_string()),
                    ips,
                    role,
                    a.identity.summary(),
                    a.protocols_summary(),
                    seen(a.first_seen_ns),
                    seen(a.last_seen_ns),
                ],
            );
        }
        out
    }

    // -- persistence --------------------------------------------------------

    /// Write the inventory to `path` atomically (versioned JSON).
    pub fn save(&self, path: &Path) -> Result<(), StateFileError> {
        let file = InventoryFile {
            format: FORMAT.to_string(),
            version: VERSION,
            saved_at: wall_clock_secs(),
            stats: self.stats,
            assets: self.assets(),
        };
        write_state_file(path, &file)
    }

    /// Read an inventory saved by [`Inventory::save`]. Roles are
    /// re-inferred with `cfg`'s thresholds (silently). A file that does not
    /// fit `cfg`'s bounds is an error, not a partial load.
    pub fn load(path: &Path, cfg: InventoryConfig) -> Result<Inventory, StateFileError> {
        let file: InventoryFile<Asset> = read_state_file(path, FORMAT, VERSION)?;
        let invalid = |what: String| StateFileError::Invalid {
            path: path.to_path_buf(),
            what,
        };
        if file.assets.len() > cfg.max_assets {
            return Err(invalid(format!(
                "{} assets, more than the configured max_assets of {}: raise it or remove the file",
                file.assets.len(),
                cfg.max_assets
            )));
        }
        let mut inv = Inventory::new(cfg);
        inv.stats = file.stats;
        for (i, mut a) in file.assets.into_iter().enumerate() {
            let at = |what: &str| invalid(format!("assets[{i}] ({}): {what}", a.key));
            match (a.key, a.mac) {
                (AssetKey::Mac(k), Some(m)) if k == m => {}
                (AssetKey::Ip(ip), _) if a.ips.contains(&ip) => {}
                _ => return Err(at("the key is neither its MAC nor one of its IPs")),
            }
            if a.ips.len() > inv.cfg.max_ips_per_asset {
                return Err(at("more IPs than the configured max_ips_per_asset"));
            }
            if a.serves.len() + a.uses.len() > inv.cfg.max_services_per_asset {
                return Err(at(
                    "more services than the configured max_services_per_asset",
                ));
            }
            if a.first_seen_ns > a.last_seen_ns {
                return Err(at("first_seen_ns is after last_seen_ns"));
            }
            if inv.by_key.contains_key(&a.key) {
                return Err(at("duplicate asset"));
            }
            a.rebuild_sets();
            let idx = inv.assets.len();
            inv.by_key.insert(a.key, idx as u32);
            if let AssetKey::Mac(m) = a.key {
                for ip in &a.ips {
                    inv.by_ip.insert(*ip, idx as u32);
                }
                if a.gateway {
                    inv.gateways.insert(m);
                }
            }
            inv.assets.push(a);
        }
        let mut silent = Vec::new();
        for i in 0..inv.assets.len() {
            inv.reinfer(i, 0, &mut silent);
        }
        Ok(inv)
    }
}

fn sql_port(port: u16) -> bool {
    matches!(port, 1433 | 1521 | 3306 | 5432)
}

/// Wire text made safe to keep: control characters become `?`, at most
/// [`MAX_TEXT`] characters. Borrowed when already clean.
fn clean(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_TEXT && !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .take(MAX_TEXT)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect(),
    )
}

fn join<T: fmt::Display>(it: impl Iterator<Item = T>) -> String {
    it.map(|x| x.to_string()).collect::<Vec<_>>().join(" ")
}

/// One CSV cell: quoted when needed; a leading `= + - @` (a formula to a
/// spreadsheet) is neutralised with `'`.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A table cell: printable, at most `width` characters (`~` marks a cut).
fn fit(s: &str, width: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
    cut.push('~');
    cut
}
