//! A compiled behaviour rule and the conditions it is made of.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::matchers::{AddrSet, AttrPat, NameSet, NumSet, Pred, StatusMatch, When};
use super::Ctx;
use crate::ot::{Op, OpClass};

/// How serious an alert is. EVE's `alert.severity` is 1 (high) to 3 (low).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// EVE severity 1.
    High,
    /// EVE severity 2.
    Medium,
    /// EVE severity 3.
    Low,
}

impl Severity {
    /// EVE's `alert.severity`: 1, 2 or 3.
    pub fn eve(self) -> u8 {
        match self {
            Severity::High => 1,
            Severity::Medium => 2,
            Severity::Low => 3,
        }
    }

    /// The name rules use (`high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Severity> {
        match s {
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            _ => None,
        }
    }
}

/// Which value of an operation a rule keeps its counters, distinct sets,
/// sequence progress and suppression under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum By {
    /// One key for everything.
    None,
    /// The client (requester; for response-only ops the sender).
    Src,
    /// The server.
    Dst,
    /// Client and server together.
    Pair,
    /// Client and unit (Modbus unit id, DNP3 address, ...).
    SrcUnit,
    /// Server and unit.
    DstUnit,
    /// The flow (`Ctx::flow_id`).
    Flow,
}

impl By {
    pub(crate) const NAMES: &'static [&'static str] =
        &["src", "dst", "pair", "src_unit", "dst_unit", "flow", "none"];

    pub(crate) fn parse(s: &str) -> Option<By> {
        Some(match s {
            "none" => By::None,
            "src" => By::Src,
            "dst" => By::Dst,
            "pair" => By::Pair,
            "src_unit" => By::SrcUnit,
            "dst_unit" => By::DstUnit,
            "flow" => By::Flow,
            _ => return None,
        })
    }

    /// The key of `op` seen in `ctx`.
    pub(crate) fn key(self, op: &Op, ctx: &Ctx) -> Key {
        match self {
            By::None => Key::All,
            By::Src => Key::Src(Endpoint::src(ctx)),
            By::Dst => Key::Dst(Endpoint::dst(ctx)),
            By::Pair => Key::Pair(Endpoint::src(ctx), Endpoint::dst(ctx)),
            By::SrcUnit => Key::SrcUnit(Endpoint::src(ctx), op.unit),
            By::DstUnit => Key::DstUnit(Endpoint::dst(ctx), op.unit),
            By::Flow => Key::Flow(ctx.flow_id),
        }
    }
}

/// One side of a conversation: its IP address, else its MAC address (layer-2
/// protocols such as GOOSE), else unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// IP address.
    Ip(IpAddr),
    /// MAC address, when there is no IP layer.
    Mac([u8; 6]),
    /// Neither known.
    Unknown,
}

impl Endpoint {
    fn of(ip: Option<IpAddr>, mac: Option<[u8; 6]>) -> Endpoint {
        match (ip, mac) {
            (Some(ip), _) => Endpoint::Ip(ip),
            (None, Some(mac)) => Endpoint::Mac(mac),
            (None, None) => Endpoint::Unknown,
        }
    }

    /// The client side of `ctx`.
    pub fn src(ctx: &Ctx) -> Endpoint {
        Endpoint::of(ctx.src, ctx.src_mac)
    }

    /// The server side of `ctx`.
    pub fn dst(ctx: &Ctx) -> Endpoint {
        Endpoint::of(ctx.dst, ctx.dst_mac)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Ip(ip) => write!(f, "{ip}"),
            Endpoint::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            Endpoint::Unknown => f.write_str("unknown host"),
        }
    }
}

/// The value a stateful rule counted under (see [`By`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// `by: none`.
    All,
    /// `by: src`.
    Src(Endpoint),
    /// `by: dst`.
    Dst(Endpoint),
    /// `by: pair`: client, server.
    Pair(Endpoint, Endpoint),
    /// `by: src_unit`.
    SrcUnit(Endpoint, Option<u32>),
    /// `by: dst_unit`.
    DstUnit(Endpoint, Option<u32>),
    /// `by: flow`.
    Flow(u64),
}

impl fmt::Display for Key {
    /// `10.0.0.5`, `10.0.0.5 -> 10.0.0.9`, `10.0.0.5 unit 3`, `flow 42`,
    /// `all hosts`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |f: &mut fmt::Formatter<'_>, u: &Option<u32>| match u {
            Some(u) => write!(f, " unit {u}"),
            None => f.write_str(" (no unit)"),
        };
        match self {
            Key::All => f.write_str("all hosts"),
            Key::Src(e) | Key::Dst(e) => write!(f, "{e}"),
            Key::Pair(a, b) => write!(f, "{a} -> {b}"),
            Key::SrcUnit(e, u) => {
                write!(f, "{e}")?;
                unit(f, u)
            }
            Key::DstUnit(e, u) => {
                write!(f, "{e}")?;
                unit(f, u)
            }
            Key::Flow(id) => write!(f, "flow {id}"),
        }
    }
}

/// The field a `distinct:` rule counts values of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    Unit,
    Address,
    Src,
    Dst,
    Function,
    Code,
    Object,
}

impl Field {
    pub(crate) const NAMES: &'static [&'static str] = &[
        "unit", "address", "src", "dst", "function", "code", "object",
    ];

    pub(crate) fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "unit" => Field::Unit,
            "address" => Field::Address,
            "src" => Field::Src,
            "dst" => Field::Dst,
            "function" => Field::Function,
            "code" => Field::Code,
            "object" => Field::Object,
            _ => return None,
        })
    }

    pub(crate) fn plural(self) -> &'static str {
        match self {
            Field::Unit => "units",
            Field::Address => "addresses",
            Field::Src => "sources",
            Field::Dst => "destinations",
            Field::Function => "functions",
            Field::Code => "function codes",
            Field::Object => "objects",
        }
    }

    /// The field's value in `op`, as a number to put in a set (text and
    /// IPv6 addresses are hashed). `None` when the op has no such value.
    pub(crate) fn value(self, op: &Op, ctx: &Ctx) -> Option<u64> {
        match self {
            Field::Unit => op.unit.map(u64::from),
            Field::Address => op.address.map(u64::from),
            Field::Code => Some(u64::from(op.code)),
            Field::Src => endpoint_value(Endpoint::src(ctx)),
            Field::Dst => endpoint_value(Endpoint::dst(ctx)),
            Field::Function => Some(hash_str(op.function)),
            Field::Object => op.object.as_deref().map(hash_str),
        }
    }
}

fn endpoint_value(e: Endpoint) -> Option<u64> {
    use std::hash::BuildHasher;
    match e {
        Endpoint::Ip(IpAddr::V4(a)) => Some(u64::from(u32::from(a))),
        Endpoint::Ip(IpAddr::V6(a)) => Some(FIXED.hash_one(u128::from(a))),
        Endpoint::Mac(m) => Some(FIXED.hash_one(m) | 1 << 63),
        Endpoint::Unknown => None,
    }
}

fn hash_str(s: &str) -> u64 {
    use std::hash::BuildHasher;
    FIXED.hash_one(s)
}

const FIXED: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5eed_0b5e_55ed);

/// An `attrs:` entry: the attribute's name and its patterns (any of).
pub(crate) type AttrMatch = (Box<str>, Box<[AttrPat]>);

/// One `match:` block. Every given part must hold; `None` means "not
/// given".
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OpMatch {
    /// Bit `i`: `KNOWN_PROTOS[i]`.
    pub protos: Option<u64>,
    /// Bit per [`OpClass`] (declaration order).
    pub classes: Option<u16>,
    pub functions: Option<NameSet>,
    pub code: Option<NumSet>,
    pub unit: Option<NumSet>,
    pub address: Option<NumSet>,
    pub value: Option<Box<[Pred]>>,
    pub object: Option<NameSet>,
    pub status: Option<StatusMatch>,
    pub response_only: Option<bool>,
    pub attrs: Box<[AttrMatch]>,
}

pub(crate) fn class_bit(c: OpClass) -> u16 {
    1 << (c as u16)
}

impl OpMatch {
    /// Whether `op` passes. `proto_bit` is the bit of `op.proto` in
    /// [`KNOWN_PROTOS`](super::KNOWN_PROTOS) (0 for others), found once per
    /// op by [`RuleSet::lookup`](super::RuleSet).
    #[inline]
    pub fn matches(&self, op: &Op, proto_bit: u64) -> bool {
        if let Some(p) = self.protos {
            if p & proto_bit == 0 {
                return false;
            }
        }
        if let Some(c) = self.classes {
            if c & class_bit(op.class) == 0 {
                return false;
            }
        }
        if let Some(r) = self.response_only {
            if r != op.response_only {
                return false;
            }
        }
        if let Some(c) = &self.code {
            if !c.contains(u64::from(op.code)) {
                return false;
            }
        }
        if let Some(f) = &self.functions {
            if !f.matches(op.function) {
                return false;
            }
        }
        if let Some(u) = &self.unit {
            match op.unit {
                Some(x) if u.contains(u64::from(x)) => {}
                _ => return false,
            }
        }
        if let Some(s) = &self.status {
            if !s.matches(op.status) {
                return false;
            }
        }
        if let Some(a) = &self.address {
            let Some(start) = op.address else {
                return false;
            };
            let start = u64::from(start);
            let n = u64::from(op.quantity.unwrap_or(1).max(1));
            if !a.overlaps(start, start + n - 1) {
                return false;
            }
        }
        if let Some(preds) = &self.value {
            if !op.values.iter().any(|&v| preds.iter().any(|p| p.test(v))) {
                return false;
            }
        }
        if let Some(o) = &self.object {
            match &op.object {
                Some(text) if o.matches(text) => {}
                _ => return false,
            }
        }
        self.attrs.iter().all(|(name, pats)| {
            op.attr(name)
                .is_some_and(|a| pats.iter().any(|p| p.matches(a)))
        })
    }
}

/// A condition on one operation: a `match:` block plus `src`, `dst` and
/// `when`. Rules, `allow:` entries and sequence steps are conditions.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Cond {
    pub op: OpMatch,
    /// `None`: any host, including ops without an IP address.
    pub src: Option<AddrSet>,
    pub dst: Option<AddrSet>,
    pub when: Option<When>,
}

impl Cond {
    /// Whether `op` seen in `ctx` passes (see [`OpMatch::matches`] for
    /// `proto_bit`).
    #[inline]
    pub fn matches(&self, op: &Op, ctx: &Ctx, utc_offset_s: i32, proto_bit: u64) -> bool {
        if !self.op.matches(op, proto_bit) {
            return false;
        }
        if let Some(s) = &self.src {
            if !ctx.src.is_some_and(|ip| s.contains(ip)) {
                return false;
            }
        }
        if let Some(d) = &self.dst {
            if !ctx.dst.is_some_and(|ip| d.contains(ip)) {
                return false;
            }
        }
        if let Some(w) = &self.when {
            if !w.matches(ctx.ts_ns, utc_offset_s) {
                return false;
            }
        }
        true
    }
}

/// What a rule does with the operations its conditions accept.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Alert on every accepted op.
    Plain,
    /// Alert when `count` ops fall within `window_ns`.
    Threshold { count: u32, window_ns: u64 },
    /// Alert when `count` distinct values of `field` fall within
    /// `window_ns`.
    Distinct {
        field: Field,
        count: u32,
        window_ns: u64,
    },
    /// Alert when the steps happen in order within `within_ns`.
    Sequence { within_ns: u64, steps: Box<[Cond]> },
}

/// Most steps a sequence may have.
pub(crate) const MAX_STEPS: usize = 8;

/// A compiled behaviour rule: what it is (id, name, severity, ATT&CK
/// techniques, references, pack) and how it matches. Shared by `Arc`;
/// immutable.
#[derive(Debug)]
pub struct Rule {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) severity: Severity,
    pub(crate) attack: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) pack: Option<Arc<str>>,
    pub(crate) file: Arc<str>,
    pub(crate) line: u32,
    pub(crate) cond: Cond,
    pub(crate) allow: Box<[Cond]>,
    pub(crate) kind: Kind,
    /// The key of counters and of suppression.
    pub(crate) by: By,
    pub(crate) suppress_ns: u64,
    /// "writes", "plc_stop operations", ... for alert reasons.
    pub(crate) noun: String,
    /// Step labels of a sequence, for alert reasons.
    pub(crate) step_labels: Vec<String>,
    /// Hash of everything the engine's per-key state depends on; state
    /// survives a reload only when it is unchanged.
    pub(crate) state_sig: u64,
}

impl Rule {
    /// Signature id (EVE `alert.signature_id`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Signature text (EVE `alert.signature`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Longer explanation, when the rule has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Severity; [`Severity::eve`] gives EVE's number.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// MITRE ATT&CK for ICS technique ids (`T0816`, ...).
    pub fn attack(&self) -> &[String] {
        &self.attack
    }

    /// References (URLs, advisories).
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// The pack the rule came from (`ot/s7comm`), if any.
    pub fn pack(&self) -> Option<&str> {
        self.pack.as_deref()
    }

    /// The source the rule was loaded from (file path or `pack:…` name).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Line of the rule's first key in its source.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// `plain`, `threshold`, `distinct` or `sequence`.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Plain => "plain",
            Kind::Threshold { .. } => "threshold",
            Kind::Distinct { .. } => "distinct",
            Kind::Sequence { .. } => "sequence",
        }
    }

    /// Whether the op passes the rule's own condition and no `allow:` entry.
    #[inline]
    pub(crate) fn accepts(&self, op: &Op, ctx: &Ctx, utc_offset_s: i32, proto_bit: u64) -> bool {
        self.cond.matches(op, ctx, utc_offset_s, proto_bit)
            && !self
                .allow
                .iter()
                .any(|a| a.matches(op, ctx, utc_offset_s, proto_bit))
    }

    /// The classes of op the rule can accept, as [`class_bit`]s.
    pub(crate) fn possible_classes(&self) -> u16 {
        let all = (1u16 << OpClass::ALL.len()) - 1;
        if let Some(c) = self.cond.op.classes {
            return c;
        }
        let Kind::Sequence { steps, .. } = &self.kind else {
            return all;
        };
        let mut mask = 0;
        for s in steps.iter() {
            match s.op.classes {
                Some(c) => mask |= c,
                None => return all,
            }
        }
        mask
    }

    /// The protocols the rule can match, as bits of
    /// [`KNOWN_PROTOS`](super::KNOWN_PROTOS) (for the index); `None` when
    /// it can match any.
    pub(crate) fn protos(&self) -> Option<u64> {
        if let Some(p) = self.cond.op.protos {
            return Some(p);
        }
        let Kind::Sequence { steps, .. } = &self.kind else {
            return None;
        };
        let mut all = 0;
        for s in steps.iter() {
            all |= s.op.protos?;
        }
        Some(all)
    }
}
