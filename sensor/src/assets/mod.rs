//! Passive asset inventory: which devices are on the plant network, what
//! they are and what they run — learned from traffic only.
//!
//! # What an asset is
//!
//! One station. On the sensor's own segment it is keyed by its MAC address
//! (one asset may then have several IPs, at most `max_ips_per_asset`);
//! hosts seen through a router, or in captures without link-layer
//! addresses, are keyed by IP. `local_nets` says which subnets are on the
//! segment (empty: trust every MAC); a MAC that shows up with more than
//! `gateway_min_ipv4` IPv4 addresses is taken for a router (`gateway`) and
//! the hosts behind it are keyed by IP from then on. `asset_nets` limits
//! which addresses become assets at all (empty: every unicast address).
//!
//! Per asset the inventory keeps: MAC and the vendor of its IEEE
//! assignment ([`oui`]), IPs, protocols served (server side: protocol and
//! port) and used (client side), protocol addresses served (Modbus unit
//! ids, DNP3 outstation addresses, IEC-104 common addresses, BACnet device
//! instances from `Op::unit`; GOOSE gocbRefs and MMS domains from
//! `Op::object`), identity revealed by its responses (`Op` attrs
//! `id_vendor`, `id_product`, `id_model`, `id_serial`, `id_version`,
//! `id_name`), behaviour counters, the inferred role with a confidence
//! and its reasons ([`role`] has the heuristics), and first/last seen in
//! packet time.
//!
//! # Feeding it
//!
//! * [`Inventory::observe_flow`] — a flow with its `app_proto`; unknown
//!   protocols on the SQL ports (1433, 1521, 3306, 5432) count as `sql`.
//! * [`Inventory::observe_op`] — an OT operation ([`rules::ot::Op`]) with
//!   both endpoints; the client is the requester.
//! * [`Inventory::observe_l2`] / [`Inventory::observe_l2_op`] — layer-2
//!   frames by source MAC: publications and responses (GOOSE, DCP
//!   identify responses and Hello, which may carry the device's IP) make
//!   the sender a server of the protocol; requests (DCP identify/set) make
//!   it a client.
//!
//! Each call appends [`AssetEvent`]s — `new`, `identity_changed`,
//! `role_changed` — for EVE records with `event_type: "asset"`:
//!
//! ```json
//! {"event":"new","asset":"00:1b:1b:12:34:56","mac":"00:1b:1b:12:34:56","ip":"10.0.0.20","vendor":"Siemens"}
//! {"event":"identity_changed","asset":"00:1b:1b:12:34:56","ip":"10.0.0.20","field":"version","old":"V2.8.1","new":"V2.9.4"}
//! {"event":"role_changed","asset":"00:1b:1b:12:34:56","ip":"10.0.0.20","old":"unknown","new":"plc_rtu","confidence":70,"reasons":["serves_control_protocol","identity_from_responses"]}
//! ```
//!
//! Identity events are capped per asset (`max_identity_events_per_asset`;
//! a Modbus gateway answering for many units would otherwise flap).
//!
//! # Output and persistence
//!
//! [`Inventory::export_json`], [`Inventory::export_csv`] and
//! [`Inventory::table`] (fixed columns MAC, vendor, IPs, role, identity,
//! protocols, first seen, last seen); [`Inventory::counts_by_role`] and
//! [`Inventory::stats`] for metrics. [`Inventory::save`] /
//! [`Inventory::load`] keep the inventory across restarts in a versioned
//! JSON file written atomically; a bad file is rejected with an error that
//! names it and says what is wrong (the same machinery as the learned
//! baseline, [`rules::baseline`]):
//!
//! ```json
//! {
//!   "format": "sensor-assets",
//!   "version": 1,
//!   "saved_at": 1764095400,
//!   "stats": { "overflow": 0, "ignored": 0, "identity_events_suppressed": 0 },
//!   "assets": [
//!     { "key": "00:1b:1b:12:34:56", "mac": "00:1b:1b:12:34:56", "vendor": "Siemens",
//!       "ips": ["10.0.0.20"], "role": "plc_rtu", "confidence": 70,
//!       "reasons": ["serves_control_protocol", "identity_from_responses"],
//!       "identity": { "vendor": "Siemens", "model": "6ES7 315-2EH14-0AB0", "version": "V3.2.8" },
//!       "addresses": { "modbus": { "units": [1] } },
//!       "serves": [ { "proto": "s7comm", "port": 102, "first_ns": 1700000000000000000,
//!                     "last_ns": 1700000360000000000, "count": 120 } ],
//!       "behaviour": { "points": 0, "served_ops": 120 },
//!       "first_seen_ns": 1700000000000000000, "last_seen_ns": 1700000360000000000 }
//!   ]
//! }
//! ```
//!
//! # Bounds
//!
//! `max_assets` (further assets counted in `stats.overflow`), IPs,
//! services, units and names per asset, protocols with addresses per asset
//! ([`MAX_ADDRESS_PROTOS`]), polled servers per client ([`MAX_POLLED`]),
//! identity strings ([`MAX_TEXT`] characters, control characters replaced),
//! and the point set behind the historian heuristic (cleared once the
//! threshold is reached).

mod inventory;
pub mod oui;
pub mod role;

#[cfg(test)]
mod tests;

pub use inventory::{
    Asset, AssetEvent, AssetKey, Behaviour, Endpoint, Identity, Inventory, InventoryConfig,
    InventoryStats, MacAddr, ProtoAddresses, Service, FORMAT, MAX_ADDRESS_PROTOS, MAX_POLLED,
    MAX_TEXT, VERSION,
};
pub use role::{Reason, Role, RoleThresholds};
