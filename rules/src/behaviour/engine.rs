//! The stateful side: counting windows, distinct sets, sequence progress
//! and suppression, per rule and key, bounded and driven by packet time.

use std::collections::HashMap;
use std::sync::Arc;

use super::lru::Lru;
use super::rule::{Endpoint, Key, Kind, Rule, MAX_STEPS};
use super::{Ctx, RuleSet};
use crate::ot::Op;

/// Sub-windows of a threshold window (see [`Kind::Threshold`]).
const SLOTS: usize = 32;
/// Expired keys dropped per new key, so memory follows the traffic.
const EXPIRE_PER_INSERT: usize = 2;

/// Bounds of the engine's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineLimits {
    /// Keys (hosts, pairs, ...) each stateful rule tracks at most. When a
    /// new key arrives at a full rule, the least recently seen key is
    /// forgotten and counted in [`EngineStats::evicted_keys`].
    pub max_keys_per_rule: usize,
    /// Values a `distinct` rule remembers at most over all its keys;
    /// beyond it, least recently seen keys are forgotten.
    pub max_values_per_rule: usize,
}

impl Default for EngineLimits {
    /// 4096 keys and 262 144 distinct values per rule: about 1 MiB of
    /// state per stateful rule at the bound.
    fn default() -> Self {
        EngineLimits {
            max_keys_per_rule: 4096,
            max_values_per_rule: 1 << 18,
        }
    }
}

/// Counters for metrics. All only grow, except `keys`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Operations evaluated.
    pub ops: u64,
    /// Hits produced.
    pub hits: u64,
    /// Alerts held back by `suppress` (each is also counted in the next
    /// hit of its rule and key, [`Hit::suppressed`]).
    pub suppressed: u64,
    /// Keys forgotten because a rule reached its key or value bound.
    pub evicted_keys: u64,
    /// Keys dropped because their windows had passed.
    pub expired_keys: u64,
    /// Operations that arrived too late for a threshold window (packet
    /// time more than a window behind the newest).
    pub late_ops: u64,
    /// Keys tracked now, over all rules.
    pub keys: u64,
}

/// One alert: which rule fired, for which key, and why.
#[derive(Clone, Debug)]
pub struct Hit {
    /// The rule (id, name, severity, ATT&CK ids, references, pack).
    pub rule: Arc<Rule>,
    /// What the rule counted under (the `by` of the rule).
    pub key: Key,
    /// Ops counted (threshold), distinct values (distinct), steps
    /// (sequence), 1 (plain).
    pub count: u64,
    /// Packet time of the first op that contributed (threshold windows
    /// know it to 1/31 of the window).
    pub first_ts_ns: u64,
    /// Packet time of the op that made the rule fire.
    pub last_ts_ns: u64,
    /// Alerts of this rule and key held back by `suppress` since the last
    /// one that was reported.
    pub suppressed: u64,
    /// One line for humans: `10 writes in 60 s by 10.0.0.5`.
    pub reason: String,
}

/// Evaluates operations against a [`RuleSet`] and keeps the state of its
/// stateful rules.
///
/// One engine sees the ops of one thread: per-key counting is only as
/// complete as the ops fed in (an engine per worker counts per worker).
/// All state is bounded ([`EngineLimits`]) and timed by [`Ctx::ts_ns`],
/// never by the wall clock, so replaying a capture gives the same alerts
/// at any speed.
pub struct Engine {
    set: Arc<RuleSet>,
    /// Per rule of `set`, created on the rule's first accepted op.
    states: Vec<Option<RuleState>>,
    limits: EngineLimits,
    stats: EngineStats,
}

struct RuleState {
    keys: Lru<Key, KeyState>,
    /// Distinct values held over all keys.
    values: usize,
    /// How long an idle key matters: window plus suppression.
    horizon_ns: u64,
    /// [`Rule::state_sig`] of the rule the state was built for.
    sig: u64,
}

struct KeyState {
    last_ts: u64,
    /// No alert before this time (0: none pending).
    suppress_until: u64,
    suppressed: u64,
    win: Win,
}

enum Win {
    None,
    Count(Slots),
    Distinct(HashMap<u64, u64, foldhash::fast::RandomState>),
    Seq(SeqState),
}

impl Win {
    fn for_kind(kind: &Kind) -> Win {
        match kind {
            Kind::Plain => Win::None,
            Kind::Threshold { .. } => Win::Count(Slots::default()),
            Kind::Distinct { .. } => Win::Distinct(HashMap::default()),
            Kind::Sequence { .. } => Win::Seq(SeqState::default()),
        }
    }

    fn values(&self) -> usize {
        match self {
            Win::Distinct(m) => m.len(),
            _ => 0,
        }
    }
}

/// A sliding count over `SLOTS - 1` sub-windows plus the current one:
/// every op within the window is counted, and ops up to 1/31 of a window
/// older may be.
#[derive(Default)]
struct Slots {
    /// Absolute index of the newest sub-window.
    head: u64,
    first_ts: u64,
    counts: [u32; SLOTS],
}

impl Slots {
    fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// Count an op at `ts`; the count in the window, or `None` when the op
    /// is too old to count.
    fn add(&mut self, ts: u64, window_ns: u64) -> Option<u64> {
        let width = (window_ns / (SLOTS as u64 - 1)).max(1);
        let s = ts / width;
        let span = SLOTS as u64;
        if self.total() == 0 || s >= self.head + span || s + 4 * span < self.head {
            // Empty, everything expired, or the clock went far back: start over.
            self.counts = [0; SLOTS];
            self.head = s;
            self.first_ts = ts;
        } else if s > self.head {
            for k in self.head + 1..=s {
                self.counts[(k % span) as usize] = 0;
            }
            self.head = s;
        } else if self.head - s >= span {
            return None;
        }
        let c = &mut self.counts[(s % span) as usize];
        *c = c.saturating_add(1);
        self.first_ts = self.first_ts.min(ts);
        Some(self.total())
    }

    /// Approximate time of the oldest op still counted.
    fn first(&self, window_ns: u64) -> u64 {
        let width = (window_ns / (SLOTS as u64 - 1)).max(1);
        let span = SLOTS as u64;
        let oldest = (0..span)
            .rev()
            .map(|back| self.head.saturating_sub(back))
            .find(|&k| self.counts[(k % span) as usize] != 0)
            .unwrap_or(self.head);
        self.first_ts.max(oldest.saturating_mul(width))
    }
}

/// For each step k reached, the latest start time of a chain that reached
/// it: keeping the latest start leaves the most time for later steps.
#[derive(Default)]
struct SeqState {
    starts: [u64; MAX_STEPS],
    /// Bit k: `starts[k]` holds.
    reached: u16,
}

impl SeqState {
    /// Advance with an op matching the steps in `mask`; the chain's start
    /// time when the last step completes it.
    fn advance(&mut self, mask: u16, n: usize, ts: u64, within_ns: u64) -> Option<u64> {
        // Later steps first, so one op never completes two steps.
        for j in (0..n).rev() {
            if mask & (1 << j) == 0 {
                continue;
            }
            if j == 0 {
                self.starts[0] = ts;
                self.reached |= 1;
                continue;
            }
            let prev = 1u16 << (j - 1);
            if self.reached & prev == 0 {
                continue;
            }
            let start = self.starts[j - 1];
            if ts.saturating_sub(start) > within_ns {
                self.reached &= !prev;
                continue;
            }
            if j == n - 1 {
                *self = SeqState::default();
                return Some(start);
            }
            if self.reached & (1 << j) == 0 || self.starts[j] < start {
                self.starts[j] = start;
            }
            self.reached |= 1 << j;
        }
        None
    }
}

impl Engine {
    /// An engine with default [`EngineLimits`].
    pub fn new(set: Arc<RuleSet>) -> Engine {
        Engine::with_limits(set, EngineLimits::default())
    }

    /// An engine with the given limits.
    pub fn with_limits(set: Arc<RuleSet>, limits: EngineLimits) -> Engine {
        let states = (0..set.len()).map(|_| None).collect();
        Engine {
            set,
            states,
            limits,
            stats: EngineStats::default(),
        }
    }

    /// The rule set in use.
    pub fn ruleset(&self) -> &Arc<RuleSet> {
        &self.set
    }

    /// Switch to a new rule set (hot reload). A rule whose id is still
    /// there keeps its counters, distinct sets, sequence progress and
    /// suppression, as long as its `threshold`/`distinct`/`sequence` block
    /// and its `by` are unchanged; other state is dropped.
    pub fn set_ruleset(&mut self, set: Arc<RuleSet>) {
        let mut old: HashMap<u32, RuleState> = HashMap::new();
        for (rule, st) in self.set.rules().iter().zip(self.states.drain(..)) {
            if let Some(st) = st {
                old.insert(rule.id, st);
            }
        }
        self.states = set
            .rules()
            .iter()
            .map(|rule| {
                let mut st = old.remove(&rule.id).filter(|st| st.sig == rule.state_sig)?;
                st.horizon_ns = horizon(rule);
                Some(st)
            })
            .collect();
        self.set = set;
    }

    /// Counters for metrics.
    pub fn stats(&self) -> EngineStats {
        let keys = self
            .states
            .iter()
            .flatten()
            .map(|s| s.keys.len() as u64)
            .sum();
        EngineStats { keys, ..self.stats }
    }

    /// Distinct values held over all rules (tests check the bound).
    #[cfg(test)]
    pub(crate) fn values_held(&self) -> usize {
        self.states.iter().flatten().map(|s| s.values).sum()
    }

    /// Drop every key whose windows and suppression ended before `now_ns`
    /// (packet time). The engine also does this a little on every new key;
    /// calling it from a periodic tick returns memory sooner. Returns the
    /// number of keys dropped.
    pub fn expire(&mut self, now_ns: u64) -> usize {
        let mut n = 0;
        for st in self.states.iter_mut().flatten() {
            while st.expire_oldest(now_ns) {
                n += 1;
            }
        }
        self.stats.expired_keys += n as u64;
        n
    }

    /// Evaluate one operation; push the alerts it raises to `hits`.
    ///
    /// Only rules of `op.proto` and rules without a protocol are looked at.
    /// Nothing is allocated unless a rule accepts the op.
    pub fn eval(&mut self, op: &Op, ctx: &Ctx, hits: &mut Vec<Hit>) {
        let Engine {
            set,
            states,
            limits,
            stats,
        } = self;
        stats.ops += 1;
        let off = set.utc_offset_s;
        let ts = ctx.ts_ns;
        let (proto_bit, candidates) = set.lookup(op.proto, op.class);
        for &ri in candidates {
            let ri = ri as usize;
            let Some(rule) = set.rules.get(ri) else {
                continue;
            };
            if !rule.accepts(op, ctx, off, proto_bit) {
                continue;
            }
            // Values the kind needs before touching any state.
            let mut mask = 0u16;
            let mut value = 0u64;
            match &rule.kind {
                Kind::Plain if rule.suppress_ns == 0 => {
                    stats.hits += 1;
                    hits.push(plain_hit(rule, op, ctx, 0));
                    continue;
                }
                Kind::Distinct { field, .. } => match field.value(op, ctx) {
                    Some(v) => value = v,
                    None => continue,
                },
                Kind::Sequence { steps, .. } => {
                    for (j, s) in steps.iter().enumerate() {
                        if s.matches(op, ctx, off, proto_bit) {
                            mask |= 1 << j;
                        }
                    }
                    if mask == 0 {
                        continue;
                    }
                }
                _ => {}
            }
            let key = rule.by.key(op, ctx);
            let Some(slot) = states.get_mut(ri) else {
                continue;
            };
            let st = slot.get_or_insert_with(|| RuleState {
                keys: Lru::new(limits.max_keys_per_rule),
                values: 0,
                horizon_ns: horizon(rule),
                sig: rule.state_sig,
            });
            // A later step with no chain under way needs no new key.
            if mask != 0 && mask & 1 == 0 && st.keys.get_mut(&key).is_none() {
                continue;
            }
            for _ in 0..EXPIRE_PER_INSERT {
                if !st.expire_oldest(ts) {
                    break;
                }
                stats.expired_keys += 1;
            }
            let horizon_ns = st.horizon_ns;
            let (ks, evicted) = st.keys.get_or_insert_with(key, || KeyState {
                last_ts: ts,
                suppress_until: 0,
                suppressed: 0,
                win: Win::for_kind(&rule.kind),
            });
            let mut freed = 0;
            if let Some((_, old)) = evicted {
                stats.evicted_keys += 1;
                freed = old.win.values();
            }
            let values_before = ks.win.values();
            if ks.last_ts > ts.saturating_add(horizon_ns) {
                // Time went back further than anything the key remembers
                // matters (another capture): start the key over.
                *ks = KeyState {
                    last_ts: ts,
                    suppress_until: 0,
                    suppressed: 0,
                    win: Win::for_kind(&rule.kind),
                };
            }
            ks.last_ts = ks.last_ts.max(ts);
            // (count, first_ts) when the rule fires.
            let fired = match (&rule.kind, &mut ks.win) {
                (Kind::Plain, _) => Some((1, ts)),
                (Kind::Threshold { count, window_ns }, Win::Count(slots)) => {
                    match slots.add(ts, *window_ns) {
                        Some(n) if n >= u64::from(*count) => {
                            let first = slots.first(*window_ns);
                            *slots = Slots::default();
                            Some((n, first))
                        }
                        Some(_) => None,
                        None => {
                            stats.late_ops += 1;
                            None
                        }
                    }
                }
                (
                    Kind::Distinct {
                        count, window_ns, ..
                    },
                    Win::Distinct(values),
                ) => {
                    let seen = values.entry(value).or_insert(ts);
                    *seen = (*seen).max(ts);
                    if values.len() >= *count as usize {
                        values.retain(|_, t| ts.saturating_sub(*t) <= *window_ns);
                    }
                    if values.len() >= *count as usize {
                        let first = values.values().copied().min().unwrap_or(ts);
                        let n = values.len() as u64;
                        *values = HashMap::default();
                        Some((n, first))
                    } else {
                        None
                    }
                }
                (Kind::Sequence { within_ns, steps }, Win::Seq(seq)) => seq
                    .advance(mask, steps.len(), ts, *within_ns)
                    .map(|start| (steps.len() as u64, start)),
                (kind, win) => {
                    // Cannot happen (state is rebuilt when a rule's kind
                    // changes); start the key over rather than misread it.
                    *win = Win::for_kind(kind);
                    None
                }
            };
            let values_after = ks.win.values();
            let mut hit = None;
            if let Some((count, first)) = fired {
                if rule.suppress_ns > 0
                    && ks.suppress_until > ts
                    && ks.suppress_until - ts <= rule.suppress_ns
                {
                    ks.suppressed += 1;
                    stats.suppressed += 1;
                } else {
                    if rule.suppress_ns > 0 {
                        ks.suppress_until = ts.saturating_add(rule.suppress_ns);
                    }
                    let suppressed = std::mem::take(&mut ks.suppressed);
                    hit = Some((count, first, suppressed));
                }
            }
            st.values = (st.values + values_after)
                .saturating_sub(values_before)
                .saturating_sub(freed);
            while st.values > limits.max_values_per_rule {
                let Some((_, old)) = st.keys.pop_oldest() else {
                    st.values = 0;
                    break;
                };
                st.values = st.values.saturating_sub(old.win.values());
                stats.evicted_keys += 1;
            }
            if let Some((count, first, suppressed)) = hit {
                stats.hits += 1;
                hits.push(match rule.kind {
                    Kind::Plain => plain_hit(rule, op, ctx, suppressed),
                    _ => Hit {
                        rule: Arc::clone(rule),
                        key,
                        count,
                        first_ts_ns: first,
                        last_ts_ns: ts,
                        suppressed,
                        reason: reason(rule, key, count, ts.saturating_sub(first)),
                    },
                });
            }
        }
    }
}

impl RuleState {
    /// Drop the least recent key if its time has passed.
    fn expire_oldest(&mut self, now: u64) -> bool {
        let expired = self
            .keys
            .oldest()
            .is_some_and(|(_, ks)| now.saturating_sub(ks.last_ts) > self.horizon_ns);
        if expired {
            if let Some((_, old)) = self.keys.pop_oldest() {
                self.values = self.values.saturating_sub(old.win.values());
            }
        }
        expired
    }
}

/// How long a key's state can still matter after its last op.
fn horizon(rule: &Rule) -> u64 {
    let window = match &rule.kind {
        Kind::Plain => 0,
        Kind::Threshold { window_ns, .. } | Kind::Distinct { window_ns, .. } => *window_ns,
        Kind::Sequence { within_ns, .. } => *within_ns,
    };
    window.saturating_add(rule.suppress_ns)
}

fn plain_hit(rule: &Arc<Rule>, op: &Op, ctx: &Ctx, suppressed: u64) -> Hit {
    use std::fmt::Write;
    let mut reason = format!(
        "{} {} from {} to {}",
        op.proto,
        op.function,
        Endpoint::src(ctx),
        Endpoint::dst(ctx)
    );
    if let Some(u) = op.unit {
        let _ = write!(reason, " unit {u}");
    }
    if let Some(a) = op.address {
        let _ = write!(reason, " address {a}");
        if let Some(q) = op.quantity.filter(|&q| q > 1) {
            let _ = write!(reason, "+{q}");
        }
    }
    if let Some(o) = &op.object {
        let o: String = o.chars().take(64).collect();
        let _ = write!(reason, " object {o}");
    }
    if op.response_only {
        reason.push_str(" (response only)");
    }
    Hit {
        rule: Arc::clone(rule),
        key: rule.by.key(op, ctx),
        count: 1,
        first_ts_ns: ctx.ts_ns,
        last_ts_ns: ctx.ts_ns,
        suppressed,
        reason,
    }
}

fn reason(rule: &Rule, key: Key, count: u64, elapsed_ns: u64) -> String {
    let by = match key {
        Key::All => String::new(),
        k => format!(" by {k}"),
    };
    let secs = |ns: u64| ns.div_ceil(1_000_000_000);
    match &rule.kind {
        Kind::Plain => format!("{}{by}", rule.noun),
        Kind::Threshold { window_ns, .. } => {
            format!("{count} {} in {} s{by}", rule.noun, secs(*window_ns))
        }
        Kind::Distinct {
            field, window_ns, ..
        } => format!(
            "{count} distinct {} in {} s{by}",
            field.plural(),
            secs(*window_ns)
        ),
        Kind::Sequence { .. } => format!(
            "{} within {} s{by}",
            rule.step_labels.join(" -> "),
            secs(elapsed_ns)
        ),
    }
}
