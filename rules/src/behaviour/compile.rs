//! Rule files → compiled [`Rule`]s, validating as it goes.
//!
//! Works on the positioned tree of [`super::yaml`], so that every error
//! names the file, line and column of the value at fault, and collects
//! every error of a file instead of stopping at the first.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use ipnet::IpNet;

use super::matchers::{
    AddrSet, AttrPat, Glob, NameSet, NumSet, Pred, StatusMatch, When, Window, ALL_DAYS,
};
use super::rule::{
    class_bit, AttrMatch, By, Cond, Field, Kind, OpMatch, Rule, Severity, MAX_STEPS,
};
use super::values::{
    addr_items, combine, parse_days, parse_duration, parse_hours, parse_int_term, parse_pred,
    parse_uint,
};
use super::yaml::{Loc, Node, Val};
use super::{RuleError, KNOWN_PROTOS};
use crate::ot::OpClass;

/// Largest `count` of a threshold.
pub(crate) const MAX_THRESHOLD_COUNT: u64 = 1_000_000;
/// Largest `count` of a distinct rule (it bounds the per-key value set).
pub(crate) const MAX_DISTINCT_COUNT: u64 = 10_000;
/// Longest window, sequence deadline or suppression: 7 days.
pub(crate) const MAX_SECONDS: u64 = 7 * 86_400;

const RULE_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "severity",
    "attack",
    "reference",
    "enabled",
    "match",
    "src",
    "dst",
    "when",
    "allow",
    "threshold",
    "distinct",
    "sequence",
    "suppress",
];
const MATCH_KEYS: &[&str] = &[
    "proto",
    "function",
    "code",
    "class",
    "unit",
    "address",
    "value",
    "object",
    "status",
    "response_only",
    "attrs",
];

/// Variables by name (without `$`).
pub(crate) type Vars = HashMap<String, Vec<IpNet>>;

/// One rule as the builder receives it.
pub(crate) struct Compiled {
    pub rule: Rule,
    pub enabled: bool,
    /// Where the `id` value stands (duplicate-id errors point there).
    pub id_loc: Loc,
}

/// What one source gave.
pub(crate) struct SourceOut {
    pub rules: Vec<Compiled>,
    /// Rules not compiled because their pack is disabled.
    pub skipped: usize,
}

/// Compile one source. Errors go to `errors`; rules with errors are left
/// out of the result.
pub(crate) fn compile_source(
    name: &str,
    text: &str,
    vars: &Vars,
    disabled_packs: &[String],
    errors: &mut Vec<RuleError>,
) -> SourceOut {
    let file: Arc<str> = Arc::from(name);
    let mut out = SourceOut {
        rules: Vec::new(),
        skipped: 0,
    };
    let mut cx = Cx {
        file: &file,
        vars,
        errors,
        fallback: Loc { line: 1, col: 1 },
    };
    let docs = match super::yaml::parse(text) {
        Ok(docs) => docs,
        Err(e) => {
            cx.err(e.loc, format!("YAML syntax: {}", e.message));
            return out;
        }
    };

    // Find the rule lists and the pack metadata of every document.
    let mut lists: Vec<&Node> = Vec::new();
    let mut pack: Option<(Loc, String)> = None;
    for doc in &docs {
        match &doc.val {
            Val::Null => {}
            Val::Seq(_) => lists.push(doc),
            Val::Map(entries) if entries.iter().any(|(k, _)| k.val == Val::Str("id".into())) => {
                cx.err(
                    doc.loc,
                    "a rule file is a list of rules: start each rule with `- ` (`- id: …`)",
                );
            }
            Val::Map(_) => {
                let Some(m) = cx.map(doc, "a rule file", &["pack", "rules"]) else {
                    continue;
                };
                if let Some(p) = m.get("pack") {
                    if let Some(meta) = cx.pack_meta(p) {
                        if let Some((first, _)) = &pack {
                            cx.err(
                                m.key_loc("pack"),
                                format!("`pack:` is given twice (first at line {})", first.line),
                            );
                        } else {
                            pack = Some((m.key_loc("pack"), meta));
                        }
                    }
                }
                match m.get("rules") {
                    Some(
                        n @ Node {
                            val: Val::Seq(_), ..
                        },
                    ) => lists.push(n),
                    Some(Node { val: Val::Null, .. }) => {}
                    Some(n) => cx.err(
                        n.loc,
                        format!("`rules:` must be a list of rules, found {}", n.val.kind()),
                    ),
                    None => {}
                }
            }
            other => cx.err(
                doc.loc,
                format!(
                    "a rule file is a list of rules, or a mapping with `rules:` and `pack:`; \
                     found {}",
                    other.kind()
                ),
            ),
        }
    }

    let pack_name: Option<Arc<str>> = pack
        .map(|(_, n)| n)
        .or_else(|| pack_from_source(name))
        .map(Arc::from);
    if let Some(p) = &pack_name {
        if disabled_packs.iter().any(|d| pack_in(p, d)) {
            out.skipped = lists
                .iter()
                .map(|l| match &l.val {
                    Val::Seq(items) => items.len(),
                    _ => 0,
                })
                .sum();
            return out;
        }
    }

    for list in lists {
        let Val::Seq(items) = &list.val else { continue };
        for item in items {
            cx.fallback = item.loc.or(list.loc).or(Loc { line: 1, col: 1 });
            if let Some(c) = cx.rule(item, &pack_name) {
                out.rules.push(c);
            }
        }
    }
    out
}

/// `pack:ot/modbus.yaml` → `ot/modbus`.
fn pack_from_source(name: &str) -> Option<String> {
    let rest = name.strip_prefix("pack:")?;
    let rest = rest
        .strip_suffix(".yaml")
        .or_else(|| rest.strip_suffix(".yml"))
        .unwrap_or(rest);
    Some(rest.to_string())
}

/// Whether pack `name` is `disabled` or inside it (`ot` holds `ot/modbus`).
pub(crate) fn pack_in(name: &str, disabled: &str) -> bool {
    let d = disabled.trim_end_matches('/');
    name == d || (name.starts_with(d) && name[d.len()..].starts_with('/'))
}

/// A mapping's entries by key, after unknown/duplicate keys were reported.
struct Map<'n> {
    items: Vec<(&'n str, &'n Node, &'n Node)>,
    loc: Loc,
}

impl<'n> Map<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.items
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    fn key_loc(&self, key: &str) -> Loc {
        self.items
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(self.loc, |(_, k, _)| k.loc)
    }
}

struct Cx<'a> {
    file: &'a Arc<str>,
    vars: &'a Vars,
    errors: &'a mut Vec<RuleError>,
    /// Where errors without a position of their own point (the rule).
    fallback: Loc,
}

/// Accumulates whether a rule compiled cleanly.
type R<T> = Option<T>;

impl Cx<'_> {
    fn err(&mut self, loc: Loc, message: impl Into<String>) {
        let loc = loc.or(self.fallback);
        self.errors.push(RuleError {
            file: self.file.to_string(),
            line: loc.line.max(1),
            column: loc.col.max(1),
            message: message.into(),
        });
    }

    /// Check that `node` is a mapping with string keys from `known`, each
    /// once. Reports every bad key; `None` only when it is not a mapping.
    fn map<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> R<Map<'n>> {
        let entries: &[(Node, Node)] = match &node.val {
            Val::Map(m) => m,
            Val::Null => &[],
            other => {
                self.err(
                    node.loc,
                    format!("{what} must be a mapping, found {}", other.kind()),
                );
                return None;
            }
        };
        let mut items: Vec<(&'n str, &'n Node, &'n Node)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Val::Str(key) = &k.val else {
                self.err(
                    k.loc,
                    format!("keys of {what} are names; found {} {}", k.val.kind(), k.val),
                );
                continue;
            };
            if !known.contains(&key.as_str()) {
                let hint = match suggest(key, known) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None => String::new(),
                };
                self.err(
                    k.loc,
                    format!(
                        "unknown key `{key}` in {what}{hint} (known keys: {})",
                        known.join(", ")
                    ),
                );
                continue;
            }
            if let Some((_, first, _)) = items.iter().find(|(have, _, _)| *have == key) {
                let line = first.loc.line;
                self.err(
                    k.loc,
                    format!("key `{key}` is given twice in {what} (first at line {line})"),
                );
                continue;
            }
            items.push((key, k, v));
        }
        Some(Map {
            items,
            loc: node.loc,
        })
    }

    fn pack_meta(&mut self, node: &Node) -> R<String> {
        let m = self.map(node, "`pack:`", &["name", "description", "version"])?;
        for k in ["description", "version"] {
            if let Some(v) = m.get(k) {
                self.text(v, k);
            }
        }
        let Some(n) = m.get("name") else {
            self.err(m.loc, "`pack:` needs a `name` (such as `ot/modbus`)");
            return None;
        };
        let name = self.text(n, "pack name")?;
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-/.".contains(&b));
        if !ok {
            self.err(
                n.loc,
                format!("pack name {name:?} may hold only a-z, 0-9, `_`, `-`, `.` and `/`"),
            );
            return None;
        }
        Some(name)
    }

    // ----- scalars -------------------------------------------------------

    fn text(&mut self, node: &Node, what: &str) -> R<String> {
        match &node.val {
            Val::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Val::Str(_) => {
                self.err(node.loc, format!("`{what}` must not be empty"));
                None
            }
            other => {
                self.err(
                    node.loc,
                    format!("`{what}` must be a string, found {} {other}", other.kind()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> R<bool> {
        match node.val {
            Val::Bool(b) => Some(b),
            ref other => {
                self.err(
                    node.loc,
                    format!(
                        "`{what}` must be true or false, found {} {other}",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    /// A string or a non-empty list of strings.
    fn strings(&mut self, node: &Node, what: &str) -> R<Vec<(Loc, String)>> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) if items.is_empty() => {
                self.err(node.loc, format!("`{what}` must not be an empty list"));
                return None;
            }
            Val::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for n in items {
            match self.text(n, what) {
                Some(s) => out.push((n.loc, s)),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, node: &Node, what: &str, lo: u64, hi: u64) -> R<u64> {
        let v = match &node.val {
            Val::Int(i) => Some(*i),
            Val::Str(s) => parse_uint(s.trim()).map(i128::from),
            _ => None,
        };
        match v {
            Some(v) if v >= i128::from(lo) && v <= i128::from(hi) => Some(v as u64),
            Some(v) => {
                self.err(
                    node.loc,
                    format!("`{what}` must be between {lo} and {hi}, found {v}"),
                );
                None
            }
            None => {
                self.err(
                    node.loc,
                    format!(
                        "`{what}` must be a whole number, found {} {}",
                        node.val.kind(),
                        node.val
                    ),
                );
                None
            }
        }
    }

    /// Seconds: `60`, `"90s"`, `"5m"`, `"2h"`, `"1d"`, in `lo..=MAX_SECONDS`.
    fn seconds(&mut self, node: &Node, what: &str, lo: u64) -> R<u64> {
        let v = match &node.val {
            Val::Int(i) => u64::try_from(*i).ok(),
            Val::Str(s) => parse_duration(s.trim()),
            _ => None,
        };
        match v {
            Some(v) if (lo..=MAX_SECONDS).contains(&v) => Some(v),
            Some(v) => {
                self.err(
                    node.loc,
                    format!("`{what}` must be between {lo} and {MAX_SECONDS} seconds, found {v}"),
                );
                None
            }
            None => {
                self.err(
                    node.loc,
                    format!(
                        "`{what}` must be seconds (60) or a duration (\"90s\", \"5m\", \"2h\", \
                         \"1d\"), found {} {}",
                        node.val.kind(),
                        node.val
                    ),
                );
                None
            }
        }
    }

    /// A set of integers in `0..=max`: a number, `"a-b"`, `">x"`, `">=x"`,
    /// `"<x"`, `"<=x"`, `"!=x"`, comma-separated in a string, or a list.
    fn num_set(&mut self, node: &Node, what: &str, max: u64) -> R<NumSet> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        if items.is_empty() {
            self.err(node.loc, format!("`{what}` must not be an empty list"));
            return None;
        }
        let mut ranges = Vec::new();
        let mut ok = true;
        for n in items {
            match self.int_ranges(n, what, max) {
                Some(r) => ranges.extend(r),
                None => ok = false,
            }
        }
        ok.then(|| NumSet::new(ranges))
    }

    /// The ranges of one scalar of an integer set.
    fn int_ranges(&mut self, n: &Node, what: &str, max: u64) -> R<Vec<(u64, u64)>> {
        match &n.val {
            Val::Int(i) if *i >= 0 && *i <= i128::from(max) => Some(vec![(*i as u64, *i as u64)]),
            Val::Int(i) => {
                self.err(
                    n.loc,
                    format!("`{what}` values lie between 0 and {max}; {i} does not"),
                );
                None
            }
            Val::Str(s) => {
                let mut out = Vec::new();
                let mut ok = true;
                for part in s.split(',') {
                    match parse_int_term(part.trim(), max) {
                        Ok(r) => out.extend(r),
                        Err(e) => {
                            self.err(n.loc, format!("`{what}`: {e}"));
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            other => {
                self.err(
                    n.loc,
                    format!(
                        "`{what}` takes numbers or ranges (5, \"5-8\", \">100\"), found {} \
                         {other}",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    fn preds(&mut self, node: &Node, what: &str) -> R<Vec<Pred>> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        if items.is_empty() {
            self.err(node.loc, format!("`{what}` must not be an empty list"));
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for n in items {
            let p = match &n.val {
                Val::Int(i) => Ok(Pred::Eq(*i as f64)),
                Val::Float(x) if x.is_finite() => Ok(Pred::Eq(*x)),
                Val::Str(s) => parse_pred(s.trim()),
                other => Err(format!(
                    "takes numbers or comparisons (1000, \"5-8\", \">1000\", \"!=0\"), found \
                     {} {other}",
                    other.kind()
                )),
            };
            match p {
                Ok(p) => out.push(p),
                Err(e) => {
                    self.err(n.loc, format!("`{what}`: {e}"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    // ----- rules ---------------------------------------------------------

    fn rule(&mut self, node: &Node, pack: &Option<Arc<str>>) -> R<Compiled> {
        let before = self.errors.len();
        let m = self.map(node, "a rule", RULE_KEYS)?;
        let line = node.loc.or(self.fallback).line;

        let id_node = m.get("id");
        let id = match id_node {
            Some(n) => self.int(n, "id", 1, u64::from(u32::MAX)).map(|v| v as u32),
            None => {
                self.err(
                    m.loc,
                    "a rule needs an `id` (a number, unique across all rules)",
                );
                None
            }
        };
        let name = match m.get("name") {
            Some(n) => self.text(n, "name"),
            None => {
                self.err(m.loc, "a rule needs a `name`");
                None
            }
        };
        let severity = match m.get("severity") {
            Some(n) => match &n.val {
                Val::Str(s) => {
                    let s = Severity::parse(s);
                    if s.is_none() {
                        self.err(n.loc, "`severity` is high, medium or low");
                    }
                    s
                }
                other => {
                    self.err(
                        n.loc,
                        format!("`severity` is high, medium or low, found {}", other.kind()),
                    );
                    None
                }
            },
            None => {
                self.err(m.loc, "a rule needs a `severity` (high, medium or low)");
                None
            }
        };
        let description = m
            .get("description")
            .and_then(|n| self.text(n, "description"));
        let enabled = match m.get("enabled") {
            Some(n) => self.boolean(n, "enabled").unwrap_or(true),
            None => true,
        };
        let mut attack = Vec::new();
        if let Some(n) = m.get("attack") {
            for (loc, t) in self.strings(n, "attack").unwrap_or_default() {
                if is_attack_id(&t) {
                    if !attack.contains(&t) {
                        attack.push(t);
                    }
                } else {
                    self.err(
                        loc,
                        format!(
                            "{t:?} is not a MITRE ATT&CK for ICS technique id (T0 and three \
                             digits, such as T0816)"
                        ),
                    );
                }
            }
        }
        let references = match m.get("reference") {
            Some(n) => self
                .strings(n, "reference")
                .unwrap_or_default()
                .into_iter()
                .map(|(_, s)| s)
                .collect(),
            None => Vec::new(),
        };

        let cond = self.cond_parts(m.get("match"), m.get("src"), m.get("dst"), m.get("when"));
        let allow = m.get("allow").map(|n| self.allow(n)).unwrap_or_default();

        // threshold / distinct / sequence: at most one.
        let given: Vec<&str> = ["threshold", "distinct", "sequence"]
            .into_iter()
            .filter(|k| m.get(k).is_some())
            .collect();
        if given.len() > 1 {
            let first = m.key_loc(given[0]);
            self.err(
                m.key_loc(given[1]),
                format!(
                    "a rule takes only one of threshold, distinct and sequence; this one has \
                     `{}` (line {}) and `{}`",
                    given[0], first.line, given[1]
                ),
            );
        }
        let mut by = By::Pair;
        let mut sig_node: Option<&Node> = None;
        let kind = if let Some(n) = m.get("threshold") {
            sig_node = Some(n);
            self.threshold(n, &mut by)
        } else if let Some(n) = m.get("distinct") {
            sig_node = Some(n);
            self.distinct(n, &mut by)
        } else if let Some(n) = m.get("sequence") {
            sig_node = Some(n);
            self.sequence(n, &mut by)
        } else {
            Some(Kind::Plain)
        };
        let plain = matches!(kind, Some(Kind::Plain));
        let mut suppress_s = if plain { 0 } else { 60 };
        if let Some(n) = m.get("suppress") {
            if let Some((s, b)) = self.suppress(n, plain) {
                suppress_s = s;
                if let Some(b) = b {
                    by = b;
                }
            }
        }

        if self.errors.len() > before {
            return None;
        }
        let (id, name, severity, kind) = (id?, name?, severity?, kind?);
        let cond = cond?;
        let (noun, step_labels) = nouns(&cond, &kind);
        let mut h = foldhash::fast::FixedState::with_seed(7).build_hasher();
        by.hash(&mut h);
        std::mem::discriminant(&kind).hash(&mut h);
        if let Some(n) = sig_node {
            hash_val(&n.val, &mut h);
        }
        Some(Compiled {
            id_loc: id_node.map_or(m.loc, |n| n.loc),
            enabled,
            rule: Rule {
                id,
                name,
                description,
                severity,
                attack,
                references,
                pack: pack.clone(),
                file: Arc::clone(self.file),
                line,
                cond,
                allow: allow.into_boxed_slice(),
                kind,
                by,
                suppress_ns: suppress_s * 1_000_000_000,
                noun,
                step_labels,
                state_sig: h.finish(),
            },
        })
    }

    /// A condition from its `match`, `src`, `dst` and `when` nodes.
    fn cond_parts(
        &mut self,
        m: Option<&Node>,
        src: Option<&Node>,
        dst: Option<&Node>,
        when: Option<&Node>,
    ) -> Option<Cond> {
        let before = self.errors.len();
        let op = match m {
            Some(n) => {
                let map = self.map(n, "`match:`", MATCH_KEYS);
                map.map(|map| self.op_match(&map)).unwrap_or_default()
            }
            None => OpMatch::default(),
        };
        let src = src.and_then(|n| self.addr(n, "src"));
        let dst = dst.and_then(|n| self.addr(n, "dst"));
        let when = when.and_then(|n| self.when(n));
        (self.errors.len() == before).then_some(Cond {
            op,
            src: src.flatten(),
            dst: dst.flatten(),
            when,
        })
    }

    fn allow(&mut self, node: &Node) -> Vec<Cond> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) => items.iter().collect(),
            Val::Map(_) => vec![node],
            other => {
                self.err(
                    node.loc,
                    format!(
                        "`allow:` is a list of exceptions ({{src: 10.1.2.3, function: …}}), \
                         found {}",
                        other.kind()
                    ),
                );
                return Vec::new();
            }
        };
        let mut keys: Vec<&str> = vec!["src", "dst", "when"];
        keys.extend_from_slice(MATCH_KEYS);
        let mut out = Vec::new();
        for item in items {
            let Some(map) = self.map(item, "an `allow:` entry", &keys) else {
                continue;
            };
            if map.items.is_empty() {
                self.err(
                    item.loc,
                    "an empty `allow:` entry would allow everything; give src, dst, function, …",
                );
                continue;
            }
            let before = self.errors.len();
            let op = self.op_match(&map);
            let src = map.get("src").and_then(|n| self.addr(n, "src"));
            let dst = map.get("dst").and_then(|n| self.addr(n, "dst"));
            let when = map.get("when").and_then(|n| self.when(n));
            if self.errors.len() == before {
                out.push(Cond {
                    op,
                    src: src.flatten(),
                    dst: dst.flatten(),
                    when,
                });
            }
        }
        out
    }

    fn op_match(&mut self, m: &Map<'_>) -> OpMatch {
        let mut out = OpMatch::default();
        if let Some(n) = m.get("proto") {
            if let Some(list) = self.strings(n, "proto") {
                let mut protos = 0u64;
                for (loc, p) in list {
                    if let Some(i) = KNOWN_PROTOS.iter().position(|k| *k == p) {
                        protos |= 1 << i;
                    } else {
                        let hint = suggest(&p, KNOWN_PROTOS)
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        self.err(
                            loc,
                            format!(
                                "unknown protocol {p:?}{hint} (known: {})",
                                KNOWN_PROTOS.join(", ")
                            ),
                        );
                    }
                }
                out.protos = Some(protos);
            }
        }
        if let Some(n) = m.get("function") {
            if matches!(n.val, Val::Int(_)) {
                self.err(
                    n.loc,
                    "`function` takes names (write_single_register); match numbers with `code:`",
                );
            } else if let Some(list) = self.strings(n, "function") {
                let mut globs = Vec::new();
                for (loc, f) in list {
                    if f.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"_*?".contains(&b)
                    }) {
                        globs.push(Glob::new(&f));
                    } else {
                        self.err(
                            loc,
                            format!(
                                "function {f:?}: function names are snake_case (a-z, 0-9, `_`; \
                                 `*` and `?` as wildcards)"
                            ),
                        );
                    }
                }
                out.functions = Some(NameSet {
                    globs: globs.into_boxed_slice(),
                });
            }
        }
        if let Some(n) = m.get("code") {
            out.code = self.num_set(n, "code", u64::from(u32::MAX));
        }
        if let Some(n) = m.get("class") {
            if let Some(list) = self.strings(n, "class") {
                let mut bits = 0u16;
                for (loc, c) in list {
                    match OpClass::parse(&c) {
                        Some(c) => bits |= class_bit(c),
                        None => {
                            let names: Vec<&str> =
                                OpClass::ALL.iter().map(|c| c.as_str()).collect();
                            let hint = suggest(&c, &names)
                                .map(|s| format!("; did you mean `{s}`?"))
                                .unwrap_or_default();
                            self.err(
                                loc,
                                format!(
                                    "unknown operation class {c:?}{hint} (classes: {})",
                                    names.join(", ")
                                ),
                            );
                        }
                    }
                }
                out.classes = Some(bits);
            }
        }
        if let Some(n) = m.get("unit") {
            out.unit = self.num_set(n, "unit", u64::from(u32::MAX));
        }
        if let Some(n) = m.get("address") {
            out.address = self.num_set(n, "address", u64::from(u32::MAX));
        }
        if let Some(n) = m.get("value") {
            out.value = self.preds(n, "value").map(Vec::into_boxed_slice);
        }
        if let Some(n) = m.get("object") {
            let items: Vec<&Node> = match &n.val {
                Val::Seq(items) => items.iter().collect(),
                _ => vec![n],
            };
            let mut globs = Vec::new();
            for item in items {
                match &item.val {
                    Val::Str(s) => globs.push(Glob::new(s)),
                    Val::Int(i) => globs.push(Glob::new(&i.to_string())),
                    other => self.err(
                        item.loc,
                        format!(
                            "`object` takes names or patterns (\"LLN0$*\"), found {}",
                            other.kind()
                        ),
                    ),
                }
            }
            if globs.is_empty() {
                self.err(n.loc, "`object` must not be an empty list");
            }
            out.object = Some(NameSet {
                globs: globs.into_boxed_slice(),
            });
        }
        if let Some(n) = m.get("status") {
            out.status = self.status(n);
        }
        if let Some(n) = m.get("response_only") {
            out.response_only = self.boolean(n, "response_only");
        }
        if let Some(n) = m.get("attrs") {
            out.attrs = self.attrs(n).into_boxed_slice();
        }
        out
    }

    fn status(&mut self, node: &Node) -> R<StatusMatch> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        if items.is_empty() {
            self.err(node.loc, "`status` must not be an empty list");
            return None;
        }
        let mut none = false;
        let mut ranges = Vec::new();
        let mut ok = true;
        for n in items {
            match &n.val {
                Val::Str(s) if s == "any" => ranges.push((0, u64::from(u32::MAX))),
                Val::Str(s) if s == "none" => none = true,
                _ => match self.int_ranges(n, "status", u64::from(u32::MAX)) {
                    Some(r) => ranges.extend(r),
                    None => ok = false,
                },
            }
        }
        ok.then(|| StatusMatch {
            none,
            codes: NumSet::new(ranges),
        })
    }

    fn attrs(&mut self, node: &Node) -> Vec<AttrMatch> {
        let Val::Map(entries) = &node.val else {
            self.err(
                node.loc,
                format!(
                    "`attrs` is a mapping of attribute names to values ({{cot: 6}}), found {}",
                    node.val.kind()
                ),
            );
            return Vec::new();
        };
        let mut out: Vec<AttrMatch> = Vec::new();
        for (k, v) in entries {
            let Val::Str(name) = &k.val else {
                self.err(k.loc, "attribute names are strings");
                continue;
            };
            if !is_snake(name) {
                self.err(
                    k.loc,
                    format!("attribute name {name:?} is not snake_case (a-z, 0-9, `_`)"),
                );
                continue;
            }
            if out.iter().any(|(n, _)| **n == **name) {
                self.err(k.loc, format!("attribute `{name}` is given twice"));
                continue;
            }
            let items: Vec<&Node> = match &v.val {
                Val::Seq(items) if !items.is_empty() => items.iter().collect(),
                Val::Seq(_) => {
                    self.err(v.loc, format!("attribute `{name}`: empty list"));
                    continue;
                }
                _ => vec![v],
            };
            let mut pats = Vec::new();
            for item in items {
                match &item.val {
                    Val::Bool(b) => pats.push(AttrPat::Bool(*b)),
                    Val::Int(i) => {
                        pats.push(AttrPat::Num(Pred::Eq(*i as f64), Glob::new(&i.to_string())))
                    }
                    Val::Float(x) if x.is_finite() => {
                        pats.push(AttrPat::Num(Pred::Eq(*x), Glob::new(&x.to_string())))
                    }
                    Val::Str(s) => match parse_pred(s.trim()) {
                        Ok(p) => pats.push(AttrPat::Num(p, Glob::new(s))),
                        Err(_) => pats.push(AttrPat::Text(Glob::new(s))),
                    },
                    other => self.err(
                        item.loc,
                        format!(
                            "attribute `{name}` takes a boolean, a number, a comparison or a \
                             text pattern, found {}",
                            other.kind()
                        ),
                    ),
                }
            }
            out.push((name.as_str().into(), pats.into_boxed_slice()));
        }
        out
    }

    /// An address expression. `Some(None)`: `any` (no condition).
    fn addr(&mut self, node: &Node, what: &str) -> R<Option<AddrSet>> {
        let texts: Vec<(Loc, &str)> = match &node.val {
            Val::Str(s) => vec![(node.loc, s.as_str())],
            Val::Seq(items) if !items.is_empty() => {
                let mut v = Vec::new();
                for n in items {
                    match &n.val {
                        Val::Str(s) => v.push((n.loc, s.as_str())),
                        other => {
                            self.err(
                                n.loc,
                                format!(
                                    "`{what}` list items are addresses, CIDRs or $VARIABLES, \
                                     found {}",
                                    other.kind()
                                ),
                            );
                            return None;
                        }
                    }
                }
                v
            }
            other => {
                self.err(
                    node.loc,
                    format!(
                        "`{what}` takes an address expression (\"10.0.0.0/8\", \"!$ENG_WS\", \
                         [a, b], any), found {} {other}",
                        other.kind()
                    ),
                );
                return None;
            }
        };
        if texts.len() == 1 && texts[0].1.trim() == "any" {
            return Some(None);
        }
        let before = self.errors.len();
        // A YAML list is one list: `[10.0.0.0/8, "!10.0.0.5"]` is 10/8
        // without 10.0.0.5, as `"10.0.0.0/8, !10.0.0.5"` is.
        let mut items = Vec::new();
        for (loc, t) in texts {
            let (parsed, problems) = addr_items(t, self.vars);
            items.extend(parsed);
            for msg in problems {
                self.err(loc, format!("`{what}`: {msg}"));
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let (v4, v6) = combine(items);
        Some(Some(AddrSet::from_ranges(&v4, &v6)))
    }

    fn when(&mut self, node: &Node) -> R<When> {
        let items: Vec<&Node> = match &node.val {
            Val::Seq(items) if !items.is_empty() => items.iter().collect(),
            Val::Map(_) => vec![node],
            other => {
                self.err(
                    node.loc,
                    format!(
                        "`when` is a window ({{hours: \"22:00-06:00\", days: [sat, sun]}}) or a \
                         list of windows, found {}",
                        other.kind()
                    ),
                );
                return None;
            }
        };
        let mut windows = Vec::new();
        let before = self.errors.len();
        for item in items {
            let Some(m) = self.map(item, "a `when:` window", &["hours", "days"]) else {
                continue;
            };
            if m.items.is_empty() {
                self.err(item.loc, "a `when:` window needs `hours`, `days` or both");
                continue;
            }
            let mut hours = Vec::new();
            if let Some(n) = m.get("hours") {
                for (loc, h) in self.strings(n, "hours").unwrap_or_default() {
                    match parse_hours(&h) {
                        Ok(r) => hours.push(r),
                        Err(e) => self.err(loc, format!("`hours`: {e}")),
                    }
                }
            }
            let mut days = ALL_DAYS;
            if let Some(n) = m.get("days") {
                days = 0;
                for (loc, d) in self.strings(n, "days").unwrap_or_default() {
                    for part in d.split(',') {
                        match parse_days(part.trim()) {
                            Ok(bits) => days |= bits,
                            Err(e) => self.err(loc, format!("`days`: {e}")),
                        }
                    }
                }
            }
            windows.push(Window {
                hours: hours.into_boxed_slice(),
                days,
            });
        }
        (self.errors.len() == before).then(|| When {
            windows: windows.into_boxed_slice(),
        })
    }

    fn by(&mut self, m: &Map<'_>, out: &mut By) {
        let Some(n) = m.get("by") else {
            *out = By::Src;
            return;
        };
        let parsed = match &n.val {
            Val::Str(s) => By::parse(s),
            _ => None,
        };
        match parsed {
            Some(b) => *out = b,
            None => self.err(
                n.loc,
                format!("`by` is one of {}; found {}", By::NAMES.join(", "), n.val),
            ),
        }
    }

    fn threshold(&mut self, node: &Node, by: &mut By) -> R<Kind> {
        let m = self.map(node, "`threshold:`", &["count", "seconds", "by"])?;
        self.by(&m, by);
        let count = self.required(&m, "count", "`threshold:`", |cx, n| {
            cx.int(n, "count", 1, MAX_THRESHOLD_COUNT)
        });
        let secs = self.required(&m, "seconds", "`threshold:`", |cx, n| {
            cx.seconds(n, "seconds", 1)
        });
        Some(Kind::Threshold {
            count: count? as u32,
            window_ns: secs? * 1_000_000_000,
        })
    }

    fn distinct(&mut self, node: &Node, by: &mut By) -> R<Kind> {
        let m = self.map(node, "`distinct:`", &["field", "count", "seconds", "by"])?;
        self.by(&m, by);
        let field = self.required(&m, "field", "`distinct:`", |cx, n| match &n.val {
            Val::Str(s) if Field::parse(s).is_some() => Field::parse(s),
            other => {
                cx.err(
                    n.loc,
                    format!(
                        "`field` is one of {}; found {other}",
                        Field::NAMES.join(", ")
                    ),
                );
                None
            }
        });
        let count = self.required(&m, "count", "`distinct:`", |cx, n| {
            cx.int(n, "count", 1, MAX_DISTINCT_COUNT)
        });
        let secs = self.required(&m, "seconds", "`distinct:`", |cx, n| {
            cx.seconds(n, "seconds", 1)
        });
        Some(Kind::Distinct {
            field: field?,
            count: count? as u32,
            window_ns: secs? * 1_000_000_000,
        })
    }

    fn sequence(&mut self, node: &Node, by: &mut By) -> R<Kind> {
        let m = self.map(node, "`sequence:`", &["steps", "within", "by"])?;
        self.by(&m, by);
        let within = self.required(&m, "within", "`sequence:`", |cx, n| {
            cx.seconds(n, "within", 1)
        });
        let steps = self.required(&m, "steps", "`sequence:`", |cx, n| {
            let Val::Seq(items) = &n.val else {
                cx.err(
                    n.loc,
                    format!("`steps` is a list of steps, found {}", n.val.kind()),
                );
                return None;
            };
            if items.len() < 2 || items.len() > MAX_STEPS {
                cx.err(
                    n.loc,
                    format!(
                        "a sequence has 2 to {MAX_STEPS} steps, this one has {}",
                        items.len()
                    ),
                );
                return None;
            }
            let mut steps = Vec::new();
            let mut ok = true;
            for item in items {
                let Some(sm) = cx.map(item, "a sequence step", &["match", "src", "dst", "when"])
                else {
                    ok = false;
                    continue;
                };
                if sm.items.is_empty() {
                    cx.err(
                        item.loc,
                        "a sequence step needs a `match:` (or src/dst/when)",
                    );
                    ok = false;
                    continue;
                }
                match cx.cond_parts(
                    sm.get("match"),
                    sm.get("src"),
                    sm.get("dst"),
                    sm.get("when"),
                ) {
                    Some(c) => steps.push(c),
                    None => ok = false,
                }
            }
            ok.then_some(steps)
        });
        Some(Kind::Sequence {
            within_ns: within? * 1_000_000_000,
            steps: steps?.into_boxed_slice(),
        })
    }

    /// `suppress: 300` or `suppress: {seconds: 300, by: src}` (`by` only on
    /// plain rules).
    fn suppress(&mut self, node: &Node, plain: bool) -> R<(u64, Option<By>)> {
        if let Val::Map(_) = node.val {
            let m = self.map(node, "`suppress:`", &["seconds", "by"])?;
            let secs = self.required(&m, "seconds", "`suppress:`", |cx, n| {
                cx.seconds(n, "seconds", 0)
            })?;
            let mut by = None;
            if m.get("by").is_some() {
                if plain {
                    let mut b = By::Pair;
                    self.by(&m, &mut b);
                    by = Some(b);
                } else {
                    self.err(
                        m.key_loc("by"),
                        "`suppress.by` is for plain rules; threshold, distinct and sequence rules \
                         suppress by their own `by`",
                    );
                }
            }
            return Some((secs, by));
        }
        self.seconds(node, "suppress", 0).map(|s| (s, None))
    }

    fn required<T>(
        &mut self,
        m: &Map<'_>,
        key: &str,
        what: &str,
        f: impl FnOnce(&mut Self, &Node) -> R<T>,
    ) -> R<T> {
        match m.get(key) {
            Some(n) => f(self, n),
            None => {
                self.err(m.loc, format!("{what} needs `{key}`"));
                None
            }
        }
    }
}

/// Alert-reason words: the noun for counted ops and the labels of
/// sequence steps.
fn nouns(cond: &Cond, kind: &Kind) -> (String, Vec<String>) {
    fn label(op: &OpMatch) -> Option<String> {
        if let Some(f) = &op.functions {
            if let [Glob::Exact(name)] = &*f.globs {
                return Some(name.to_string());
            }
        }
        if let Some(bits) = op.classes {
            if bits.count_ones() == 1 {
                let c = OpClass::ALL.iter().find(|c| class_bit(**c) == bits)?;
                return Some(c.as_str().replace('_', " "));
            }
        }
        None
    }
    let noun = if let Some(f) = &cond.op.functions {
        match &*f.globs {
            [Glob::Exact(name)] => format!("{name} operations"),
            _ => "matching operations".to_string(),
        }
    } else if let Some(bits) = cond.op.classes.filter(|b| b.count_ones() == 1) {
        let c = OpClass::ALL
            .iter()
            .find(|c| class_bit(**c) == bits)
            .copied()
            .unwrap_or(OpClass::Other);
        class_plural(c).to_string()
    } else if let Some(bits) = cond.op.protos.filter(|b| b.count_ones() == 1) {
        let p = KNOWN_PROTOS
            .get(bits.trailing_zeros() as usize)
            .copied()
            .unwrap_or("protocol");
        format!("{p} operations")
    } else {
        "matching operations".to_string()
    };
    let labels = match kind {
        Kind::Sequence { steps, .. } => steps
            .iter()
            .enumerate()
            .map(|(i, s)| label(&s.op).unwrap_or_else(|| format!("step {}", i + 1)))
            .collect(),
        _ => Vec::new(),
    };
    (noun, labels)
}

fn class_plural(c: OpClass) -> &'static str {
    match c {
        OpClass::Read => "reads",
        OpClass::Write => "writes",
        OpClass::Command => "commands",
        OpClass::ModeChange => "mode changes",
        OpClass::Download => "downloads",
        OpClass::Upload => "uploads",
        OpClass::Restart => "restarts",
        OpClass::Discovery => "discovery requests",
        OpClass::Diagnostic => "diagnostic requests",
        OpClass::File => "file operations",
        OpClass::Session => "session operations",
        OpClass::Security => "security operations",
        OpClass::Report => "reports",
        OpClass::Other => "operations",
    }
}

/// Hash a value without positions (the state signature of a rule).
fn hash_val(v: &Val, h: &mut impl Hasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Val::Null => {}
        Val::Bool(b) => b.hash(h),
        Val::Int(i) => i.hash(h),
        Val::Float(x) => x.to_bits().hash(h),
        Val::Str(s) => s.hash(h),
        Val::Seq(items) => {
            items.len().hash(h);
            for n in items {
                hash_val(&n.val, h);
            }
        }
        Val::Map(entries) => {
            entries.len().hash(h);
            for (k, v) in entries {
                hash_val(&k.val, h);
                hash_val(&v.val, h);
            }
        }
    }
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `T0` and three digits.
fn is_attack_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5 && b[0] == b'T' && b[1] == b'0' && b[2..].iter().all(u8::is_ascii_digit)
}

/// The known name closest to `word`, if it is close (edit distance ≤ 2).
fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("thresold", RULE_KEYS), Some("threshold"));
        assert_eq!(suggest("zzzzzz", RULE_KEYS), None);
        assert!(is_attack_id("T0816") && !is_attack_id("T816") && !is_attack_id("T1059"));
    }
}
