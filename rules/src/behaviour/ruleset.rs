//! The immutable, compiled rule set and its builder.

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;

use super::compile::{compile_source, Vars};
use super::rule::Rule;
use super::{RuleError, KNOWN_PROTOS};
use crate::ot::OpClass;

/// Loads rule sources and compiles them into a [`RuleSet`].
///
/// ```
/// # use rules::behaviour::RuleSet;
/// # use std::collections::HashMap;
/// let mut vars = HashMap::new();
/// vars.insert("ENGINEERING_WS".to_string(), vec!["10.1.2.0/28".parse().unwrap()]);
/// let set = RuleSet::builder()
///     .add_source("local.yaml", "- {id: 1, name: stop, severity: high, match: {function: plc_stop}, src: '!$ENGINEERING_WS'}")
///     .vars(vars)
///     .utc_offset(9 * 3600)
///     .build()
///     .unwrap();
/// assert_eq!(set.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RuleSetBuilder {
    sources: Vec<(String, String)>,
    vars: Vars,
    utc_offset_s: i32,
    disabled_packs: Vec<String>,
    disabled_rules: Vec<u32>,
}

impl RuleSetBuilder {
    /// Add one rule file. `name` is how errors and alerts name it: the
    /// file's path, or `pack:<pack path>.yaml` for a built-in pack (whose
    /// pack name is then `<pack path>` unless the file's `pack:` says
    /// otherwise). Nothing is parsed before [`build`](Self::build).
    pub fn add_source(&mut self, name: &str, text: &str) -> &mut Self {
        self.sources.push((name.to_string(), text.to_string()));
        self
    }

    /// Address variables (`$HOME_NET` → CIDRs). Names are given without
    /// `$` (a leading `$` is ignored). Replaces earlier variables.
    pub fn vars(&mut self, vars: HashMap<String, Vec<IpNet>>) -> &mut Self {
        self.vars = vars
            .into_iter()
            .map(|(k, v)| (k.trim_start_matches('$').to_string(), v))
            .collect();
        self
    }

    /// Offset of the plant's local time from UTC in seconds (east
    /// positive): `when:` windows are local time. Default 0 (UTC).
    pub fn utc_offset(&mut self, seconds: i32) -> &mut Self {
        self.utc_offset_s = seconds;
        self
    }

    /// Leave out every rule of pack `name` and of the packs inside it
    /// (`ot` leaves out `ot/modbus` and `ot/s7comm`). A disabled pack's
    /// file must still be valid YAML, but its rules are not checked.
    pub fn disable_pack(&mut self, name: &str) -> &mut Self {
        self.disabled_packs.push(name.to_string());
        self
    }

    /// Leave out the rule with this id (it is still checked).
    pub fn disable_rule(&mut self, id: u32) -> &mut Self {
        self.disabled_rules.push(id);
        self
    }

    /// Parse, check and compile every source. Returns every error found
    /// (each naming file, line and column), or the rule set.
    pub fn build(&self) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        if !(-86_399..=86_399).contains(&self.utc_offset_s) {
            errors.push(RuleError {
                file: "<config>".into(),
                line: 1,
                column: 1,
                message: format!("UTC offset {} s is not within ±24 h", self.utc_offset_s),
            });
        }
        let mut rules: Vec<Arc<Rule>> = Vec::new();
        let mut disabled = 0;
        // id → (file, line, column) of its first definition.
        let mut seen: HashMap<u32, (Arc<str>, u32, u32)> = HashMap::new();
        for (name, text) in &self.sources {
            let out = compile_source(name, text, &self.vars, &self.disabled_packs, &mut errors);
            disabled += out.skipped;
            for c in out.rules {
                let id = c.rule.id;
                if let Some((file, line, col)) = seen.get(&id) {
                    errors.push(RuleError {
                        file: name.clone(),
                        line: c.id_loc.line.max(1),
                        column: c.id_loc.col.max(1),
                        message: format!(
                            "duplicate rule id {id}: already used at {file}:{line}:{col}"
                        ),
                    });
                    continue;
                }
                seen.insert(
                    id,
                    (
                        Arc::clone(&c.rule.file),
                        c.id_loc.line.max(1),
                        c.id_loc.col.max(1),
                    ),
                );
                if c.enabled && !self.disabled_rules.contains(&id) {
                    rules.push(Arc::new(c.rule));
                } else {
                    disabled += 1;
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RuleSet::new(rules, disabled, self.utc_offset_s))
    }
}

/// Rule indices to try, per operation class (declaration order of
/// [`OpClass`]).
type ByClass = [Box<[u32]>; CLASSES];

const CLASSES: usize = OpClass::ALL.len();

/// A compiled, immutable set of behaviour rules, indexed by protocol and
/// operation class.
/// Share it with `Arc`; a reload builds a new one and hands it to
/// [`Engine::set_ruleset`](super::Engine::set_ruleset).
#[derive(Debug, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Arc<Rule>>,
    /// Rules to try per protocol and class: that protocol's rules and the
    /// rules without a protocol that can accept an op of the class, in
    /// load order.
    by_proto: HashMap<Box<str>, (u64, ByClass), foldhash::fast::RandomState>,
    /// The same for ops of protocols no rule names.
    any_proto: ByClass,
    by_id: HashMap<u32, u32>,
    disabled: usize,
    pub(crate) utc_offset_s: i32,
}

impl RuleSet {
    /// Start loading rules.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// A set without rules.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    fn new(rules: Vec<Arc<Rule>>, disabled: usize, utc_offset_s: i32) -> RuleSet {
        let protos: Vec<Option<u64>> = rules.iter().map(|r| r.protos()).collect();
        let any: Vec<u32> = (0..rules.len() as u32)
            .filter(|&i| protos[i as usize].is_none())
            .collect();
        let classes: Vec<u16> = rules.iter().map(|r| r.possible_classes()).collect();
        let split = |list: &[u32]| -> ByClass {
            std::array::from_fn(|c| {
                list.iter()
                    .copied()
                    .filter(|&i| classes[i as usize] & (1 << c) != 0)
                    .collect()
            })
        };
        // Every known protocol gets an entry (even without rules of its
        // own) so that its bit is found for `allow:` entries and steps.
        let by_proto = KNOWN_PROTOS
            .iter()
            .enumerate()
            .map(|(b, name)| {
                let bit = 1u64 << b;
                let list: Vec<u32> = (0..rules.len() as u32)
                    .filter(|&i| protos[i as usize].is_none_or(|p| p & bit != 0))
                    .collect();
                (Box::from(*name), (bit, split(&list)))
            })
            .collect();
        let by_id = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i as u32))
            .collect();
        RuleSet {
            rules,
            by_proto,
            any_proto: split(&any),
            by_id,
            disabled,
            utc_offset_s,
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Arc<Rule>] {
        &self.rules
    }

    /// Number of rules in use.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule in use.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule with this id.
    pub fn get(&self, id: u32) -> Option<&Arc<Rule>> {
        self.by_id
            .get(&id)
            .and_then(|&i| self.rules.get(i as usize))
    }

    /// Rules left out: `enabled: false`, disabled by id, or in a disabled
    /// pack.
    pub fn disabled(&self) -> usize {
        self.disabled
    }

    /// Offset of `when:` windows from UTC, in seconds.
    pub fn utc_offset(&self) -> i32 {
        self.utc_offset_s
    }

    /// The bit of `proto` in [`KNOWN_PROTOS`] (0 when unknown) and the
    /// indices of the rules an op of `proto` and `class` must be tried
    /// against: the rules of the protocol and the rules without one that
    /// can accept the class, in load order.
    #[inline]
    pub(crate) fn lookup(&self, proto: &str, class: OpClass) -> (u64, &[u32]) {
        match self.by_proto.get(proto) {
            Some((bit, lists)) => (*bit, &lists[class as usize]),
            None => (0, &self.any_proto[class as usize]),
        }
    }

    /// The rule indices of [`lookup`](Self::lookup).
    #[cfg(test)]
    pub(crate) fn candidates(&self, proto: &str, class: OpClass) -> &[u32] {
        self.lookup(proto, class).1
    }
}
