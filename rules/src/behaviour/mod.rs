//! Behaviour rules: a small YAML language for "who may do what to which
//! device, when, how often and in which order" over OT operations
//! ([`crate::ot::Op`]), and the engine that evaluates it.
//!
//! The language is documented in full, with examples, in `rules/BEHAVIOUR.md`.
//! In short, a rule file is a list of rules:
//!
//! ```yaml
//! - id: 9200001
//!   name: "S7 PLC stop from a host that is not an engineering workstation"
//!   severity: high
//!   attack: [T0816]
//!   match: { proto: s7comm, function: plc_stop }
//!   src: "!$ENGINEERING_WS"
//! ```
//!
//! Each rule has a condition on one op (`match:`, `src:`, `dst:`, `when:`,
//! minus `allow:` exceptions) and fires on every accepted op, or — with
//! `threshold:`, `distinct:` or `sequence:` — when accepted ops add up per
//! key (`by: src|dst|pair|src_unit|dst_unit|flow|none`). `suppress:` holds
//! back repeats.
//!
//! # Parts
//!
//! * [`RuleSetBuilder`] loads sources (files or built-in packs), checks
//!   them — every error names file, line and column, and all errors of all
//!   files are reported at once — and builds a [`RuleSet`].
//! * [`RuleSet`] is immutable, `Send + Sync`, indexed by protocol; share it
//!   with `Arc` and swap it on reload.
//! * [`Engine`] holds the mutable state (windows, distinct sets, sequence
//!   progress, suppression), bounded by [`EngineLimits`] and timed by packet
//!   time; [`Engine::eval`] turns an op into [`Hit`]s.
//!
//! ```
//! use std::sync::Arc;
//! use rules::behaviour::{Ctx, Engine, RuleSet};
//! use rules::ot::{Op, OpClass};
//!
//! let set = RuleSet::builder()
//!     .add_source("local.yaml", r#"
//! - id: 9200100
//!   name: Burst of Modbus writes
//!   severity: medium
//!   match: { proto: modbus, class: write }
//!   threshold: { count: 3, seconds: 60, by: src }
//! "#)
//!     .build()
//!     .unwrap();
//! let mut engine = Engine::new(Arc::new(set));
//! let op = Op::new("modbus", "write_single_register", 6, OpClass::Write);
//! let mut hits = Vec::new();
//! for i in 0..3 {
//!     let ctx = Ctx { ts_ns: i * 1_000_000_000, src: Some([10, 0, 0, 5].into()), ..Ctx::default() };
//!     engine.eval(&op, &ctx, &mut hits);
//! }
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].reason, "3 writes in 60 s by 10.0.0.5");
//! ```

mod compile;
mod engine;
mod lru;
mod matchers;
mod rule;
mod ruleset;
mod values;
mod yaml;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use engine::{Engine, EngineLimits, EngineStats, Hit};
pub use rule::{By, Endpoint, Key, Rule, Severity};
pub use ruleset::{RuleSet, RuleSetBuilder};

/// Protocol names rules may use in `proto:` (EVE `app_proto` names, as
/// [`crate::ot::Op::proto`] documents them). A name outside this list is an
/// error, so that a typo cannot silently disable a rule; add a protocol
/// here when a decoder for it is added.
pub const KNOWN_PROTOS: &[&str] = &[
    "modbus",
    "dnp3",
    "iec104",
    "s7comm",
    "s7comm_plus",
    "enip",
    "bacnet",
    "opcua",
    "goose",
    "mms",
    "profinet_dcp",
    "fins",
    "hart_ip",
    "fox",
    "c37118",
    "profinet_io_cm",
];

// Rules keep protocols as bits of a u64.
const _: () = assert!(KNOWN_PROTOS.len() <= 64);

/// Where and when an operation was seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    /// Packet time, Unix nanoseconds. All windows run on it.
    pub ts_ns: u64,
    /// Client (requester); for response-only ops, the sender.
    pub src: Option<IpAddr>,
    /// Server; for response-only ops, the receiver.
    pub dst: Option<IpAddr>,
    /// Client port.
    pub sport: u16,
    /// Server port.
    pub dport: u16,
    /// Client MAC, when known (layer-2 protocols have no IP).
    pub src_mac: Option<[u8; 6]>,
    /// Server MAC, when known.
    pub dst_mac: Option<[u8; 6]>,
    /// The flow's id (EVE `flow_id`).
    pub flow_id: u64,
}

/// A problem in a rule source: `FILE:LINE:COL: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct RuleError {
    /// The source's name as given to [`RuleSetBuilder::add_source`].
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}
