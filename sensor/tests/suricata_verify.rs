//! OISF suricata-verify checks over the sensor's EVE output.
//!
//! For every test directory under ../shared/testdata/suricata-verify, the
//! sensor replays the test's capture once (`--workers 1`). Every `filter`
//! check whose `match` concerns an event type the sensor implements (dns,
//! http, tls, flow; given by `event_type`, or inferred from the top-level
//! keys when the check has none) counts the records matching all entries
//! and compares with `count`. Checks that require another Suricata version
//! than 8 (`min-version: 9`, `lt-version: 8`, ...) are skipped, and so are
//! checks using match keys this harness does not implement.
//!
//! Matching follows suricata-verify's `find_value`: dotted paths with `[i]`
//! indices; numbers compare numerically, strings/bools exactly, arrays and
//! objects element-wise; `null` matches a missing or null field (as in
//! Python, where a missing path is `None`); `has-key` / `not-has-key` and a
//! trailing `__len` are supported; other `__` operators count as
//! unsupported.
//!
//! Every check in `KNOWN_PASS` must pass; a failing check that is not in
//! `KNOWN_FAIL` fails the test; a `KNOWN_FAIL` check that passes is printed
//! so it can be moved to `KNOWN_PASS`. Test-level `args`, rules and the
//! per-test suricata.yaml are not applied (the sensor has no equivalent);
//! failures caused by them are listed in `KNOWN_FAIL` with that reason.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{lookup, replay, testdata};

/// Event types the sensor writes and whose checks are evaluated.
const EVENT_TYPES: &[&str] = &["dns", "http", "tls", "flow"];

/// The Suricata version whose behaviour the sensor follows: 8.0.x.
const TARGET_VERSION: [u64; 3] = [8, 0, u64::MAX];

/// Checks known to pass: (test directory, index in `checks:`).
const KNOWN_PASS: &[(&str, usize)] = &[
    ("bug-7264-tcp-3whs-ack-data-tls-01", 0),
    ("decode-erspan-typeI-02", 0),
    ("decode-erspan-typeI-02", 1),
    ("decode-erspan-typeI-02", 2),
    ("decode-teredo-01", 0),
    ("decode-teredo-01", 2),
    ("decode-teredo-01", 4),
    ("decode-teredo-01", 7),
    ("decode-teredo-01", 9),
    ("decode-teredo-01", 11),
    ("decode-teredo-01", 14),
    ("decode-teredo-01", 16),
    ("decode-teredo-01", 18),
    ("decode-teredo-01", 20),
    ("decode-teredo-01", 24),
    ("decode-teredo-01", 25),
    ("decode-teredo-01", 27),
    ("decode-teredo-01", 32),
    ("decode-teredo-01", 33),
    ("decode-teredo-01", 34),
    ("decode-teredo-01", 35),
    ("detect-flowbits", 0),
    ("dnp3-eve", 56),
    ("dns-eve", 0),
    ("dns-eve", 1),
    ("dns-tcp-www-google-com", 0),
    ("dns-tcp-www-google-com", 1),
    ("dns-udp-eve-dig", 0),
    ("dns-udp-eve-dig", 1),
    ("dns-udp-eve-dig", 2),
    ("dns-udp-eve-txt", 0),
    ("dns-udp-eve-txt", 1),
    ("dns-udp-eve-txt", 2),
    ("dns-udp-eve-txt", 3),
    ("dns-udp-eve-txt", 4),
    ("dns-udp-eve-txt", 5),
    ("dns-z-bit", 0),
    ("dns-z-bit", 2),
    ("http-connect-simple", 0),
    ("http-ipv6", 2),
    ("ja4-tls", 0),
    ("threshold-config-rate-filter-alert-hostsrc", 2),
    ("threshold-config-suppress-bysrc-ip", 2),
    ("tls-alpn-log-detect-02", 0),
    ("vxlan-decoder-02", 0),
    ("vxlan-decoder-03", 5),
];

// Reasons for known failures. "bug:" the sensor differs from Suricata 8 in
// something it implements; "gap:" a decoder or protocol the sensor does not
// implement (yet); "suricata-only:" depends on Suricata rules or rule
// keywords, which the sensor does not run by design.
const BYTES: &str = "bug: flow.bytes_* exclude the link-layer header \
                     (Suricata counts the whole frame, or the whole tunnel payload)";
const PCAP_CNT: &str = "bug: pcap_cnt of a TCP app-layer record is the data packet \
                        (Suricata: the packet that ACKs it)";
const TUNNEL_BYTES: &str =
    "differs: for a tunnelled packet the sensor counts the whole outer frame, \
     Suricata the tunnel payload";
const OUTER_FLOW: &str = "gap: no flow record for the outer tunnel flow";
const ALERTED: &str = "suricata-only: flow.alerted: true comes from Suricata rules";
const COND_LOG: &str =
    "suricata-only: the test's rule (`config: logging disable`) suppresses these records";
const MIDSTREAM: &str = "suricata-only: Suricata does not track this mid-stream TCP session \
                         (flow.state new, tcp_flags 00); the sensor does";
const CONNECT: &str = "bug: no http record for the plain-HTTP GET tunnelled after CONNECT 200 \
                       (Suricata re-detects the protocol; tx_id restarts at 0)";
const TEREDO: &str = "gap: no Teredo decapsulation (the inner ICMPv6 flow is missing)";
const DNP3: &str = "gap: no DNP3 app-layer (app_proto dnp3)";
const SMB: &str = "gap: no SMB app-layer (app_proto smb)";

/// Checks known to fail: (test directory, index in `checks:`, every reason
/// the check fails for; it passes only when all are addressed).
const KNOWN_FAIL: &[(&str, usize, &[&str])] = &[
    ("bug-4571-03", 1, &[ALERTED]),
    ("bug-4571-03", 2, &[OUTER_FLOW]), // IPv6-in-IPv6 outer flow
    ("bug-4571-03", 3, &[OUTER_FLOW]), // 2 flows expected (inner + outer), got 1
    ("bug-4571-04", 1, &[OUTER_FLOW]), // IPv6-in-IPv4 outer flow (proto IPv6)
    ("bug-4571-04", 2, &[ALERTED]),
    ("bug-78-http-uri", 1, &[ALERTED]),
    ("cond-log-dns-dig", 0, &[COND_LOG]),
    ("cond-log-http-testmyids", 1, &[COND_LOG]),
    ("decode-erspan-typeII-01", 0, &[TUNNEL_BYTES, ALERTED]),
    ("decode-teredo-01", 13, &[PCAP_CNT]),
    ("decode-teredo-01", 22, &[PCAP_CNT]),
    ("decode-teredo-01", 26, &[ALERTED, MIDSTREAM]),
    ("decode-teredo-01", 28, &[ALERTED]),
    (
        "decode-teredo-01",
        29,
        &[BYTES, "gap: no DHCP app-layer (app_proto dhcp)"],
    ),
    ("decode-teredo-01", 30, &[TEREDO]),
    ("decode-teredo-01", 31, &[ALERTED, MIDSTREAM]),
    ("dnp3-en-spon", 2, &[DNP3]),
    ("dnp3-eve", 57, &[DNP3]),
    ("dnp3-file-del", 2, &[DNP3]),
    ("dnp3-file-write", 4, &[DNP3]),
    ("dnp3-select-operate", 4, &[DNP3]),
    // Suricata's DNP3 probing also reverses this flow's direction.
    ("dnp3-toclient-start", 0, &[DNP3]),
    ("dns-z-bit", 3, &[ALERTED]),
    ("geneve-decoder", 0, &[TUNNEL_BYTES]),
    ("http-connect-simple", 1, &[CONNECT]),
    ("smb2-04", 3, &[SMB]),
    ("smb2-06", 4, &[SMB]),
    ("tls-glupteba", 0, &[PCAP_CNT]),
    ("vxlan-decoder-02", 1, &[OUTER_FLOW]), // outer VXLAN UDP/4789 flows
    ("vxlan-decoder-03", 0, &[OUTER_FLOW]),
    ("vxlan-decoder-03", 1, &[OUTER_FLOW]),
    (
        "vxlan-decoder-03",
        4,
        &["gap: no NTP app-layer (app_proto ntp)"],
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Pass,
    Fail,
    /// Excluded by `requires` (version) or by an unsupported match key.
    Skip(String),
}

struct CheckResult {
    index: usize,
    outcome: Outcome,
    /// For failures: what was expected and what the sensor produced.
    detail: String,
}

struct DirResult {
    dir: String,
    checks: Vec<CheckResult>,
    /// Checks about event types the sensor does not implement.
    not_applicable: usize,
    note: Option<String>,
}

fn verify_root() -> Option<PathBuf> {
    let td = testdata("suricata_verify")?;
    let root = td.join("suricata-verify");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!("SKIPPED suricata_verify: {} is absent", root.display());
        None
    }
}

/// "8", 6.0, "7.0.7" -> [major, minor, patch].
fn parse_version(v: &serde_yaml::Value) -> Option<[u64; 3]> {
    let s = match v {
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let mut out = [0u64; 3];
    for (i, part) in s.split('.').enumerate() {
        if i >= 3 {
            return None;
        }
        out[i] = part.trim().parse().ok()?;
    }
    Some(out)
}

/// Why a `requires:` mapping excludes Suricata 8, or None when it does not.
/// `features` (build features such as HAVE_JA3) are ignored.
fn requires_excludes(req: Option<&serde_yaml::Value>) -> Option<String> {
    let map = req?.as_mapping()?;
    for (k, v) in map {
        let key = k.as_str().unwrap_or("?");
        match key {
            "min-version" => match parse_version(v) {
                Some(min) if min > TARGET_VERSION => {
                    return Some(format!("requires min-version {}", yaml_str(v)))
                }
                Some(_) => {}
                None => return Some(format!("unparsable min-version {}", yaml_str(v))),
            },
            "lt-version" => match parse_version(v) {
                Some(lt) if TARGET_VERSION >= lt => {
                    return Some(format!("requires lt-version {}", yaml_str(v)))
                }
                Some(_) => {}
                None => return Some(format!("unparsable lt-version {}", yaml_str(v))),
            },
            "features" => {}
            other => return Some(format!("unknown requirement {other}")),
        }
    }
    None
}

fn yaml_str(v: &serde_yaml::Value) -> String {
    serde_json::to_string(&to_json(v)).unwrap_or_else(|_| format!("{v:?}"))
}

/// serde_yaml -> serde_json (keys stringified; tags dropped).
fn to_json(v: &serde_yaml::Value) -> Value {
    match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(*b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        serde_yaml::Value::String(s) => Value::String(s.clone()),
        serde_yaml::Value::Sequence(s) => Value::Array(s.iter().map(to_json).collect()),
        serde_yaml::Value::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => yaml_str(other),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        serde_yaml::Value::Tagged(t) => to_json(&t.value),
    }
}

/// Equality as suricata-verify sees it, but without Python's `True == 1`.
fn json_eq(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (a.as_u64(), b.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            },
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| json_eq(x, y)))
        }
        _ => got == want,
    }
}

/// One `match:` entry.
enum Matcher {
    /// Dotted path must equal the value (`null`: missing or null).
    Eq(String, Value),
    /// Length of the value at the path (`foo.__len`).
    Len(String, Value),
    HasKey(String),
    NotHasKey(String),
}

impl Matcher {
    fn key(&self) -> &str {
        match self {
            Matcher::Eq(k, _) | Matcher::Len(k, _) | Matcher::HasKey(k) | Matcher::NotHasKey(k) => {
                k
            }
        }
    }

    fn matches(&self, r: &Value) -> bool {
        match self {
            Matcher::Eq(k, want) => match lookup(r, k) {
                Some(got) => json_eq(got, want),
                None => want.is_null(),
            },
            Matcher::Len(k, want) => {
                let len = match lookup(r, k) {
                    Some(Value::Array(a)) => a.len() as i64,
                    Some(Value::Object(o)) => o.len() as i64,
                    Some(Value::String(s)) => s.chars().count() as i64,
                    _ => -1,
                };
                json_eq(&Value::from(len), want)
            }
            Matcher::HasKey(k) => lookup(r, k).is_some(),
            Matcher::NotHasKey(k) => lookup(r, k).is_none(),
        }
    }

    /// "key: want X, got Y" for a record that does not satisfy this entry.
    fn describe_miss(&self, r: &Value) -> String {
        let got = lookup(r, self.key())
            .map(|v| v.to_string())
            .unwrap_or_else(|| "<missing>".into());
        match self {
            Matcher::Eq(k, want) => format!("{k}: want {want}, got {got}"),
            Matcher::Len(k, want) => format!("{k}.__len: want {want}, got {got}"),
            Matcher::HasKey(k) => format!("has-key {k}: missing"),
            Matcher::NotHasKey(k) => format!("not-has-key {k}: present ({got})"),
        }
    }
}

/// Parse a `match:` mapping; Err names the unsupported key.
fn parse_match(m: &serde_yaml::Mapping) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for (k, v) in m {
        let key = k
            .as_str()
            .ok_or_else(|| format!("non-string match key {k:?}"))?
            .to_string();
        let want = to_json(v);
        if key == "has-key" || key == "not-has-key" {
            let path = want
                .as_str()
                .ok_or_else(|| format!("{key} with non-string value"))?
                .to_string();
            out.push(if key == "has-key" {
                Matcher::HasKey(path)
            } else {
                Matcher::NotHasKey(path)
            });
        } else if let Some(path) = key.strip_suffix(".__len") {
            if path.contains("__") {
                return Err(format!("unsupported operator in {key}"));
            }
            out.push(Matcher::Len(path.to_string(), want));
        } else if key.contains("__") {
            return Err(format!("unsupported operator in {key}"));
        } else {
            out.push(Matcher::Eq(key, want));
        }
    }
    Ok(out)
}

/// The event type a check is about: `event_type`, else the implemented
/// event type named by the keys' first segment. None when the check is
/// about something the sensor does not implement (alert, stats, smb, ...).
fn check_event_type(m: &serde_yaml::Mapping) -> Option<String> {
    if let Some(et) = m.get("event_type") {
        return et.as_str().map(str::to_string);
    }
    let mut found: Option<String> = None;
    for k in m.keys() {
        let Some(k) = k.as_str() else { continue };
        let head = k.split(['.', '[']).next().unwrap_or(k);
        let is_common = matches!(
            head,
            "src_ip"
                | "dest_ip"
                | "src_port"
                | "dest_port"
                | "proto"
                | "app_proto"
                | "pcap_cnt"
                | "tx_id"
                | "direction"
                | "flow_id"
                | "vlan"
                | "ip_v"
                | "has-key"
                | "not-has-key"
        );
        if is_common {
            continue;
        }
        if EVENT_TYPES.contains(&head) && found.is_none() {
            found = Some(head.to_string());
        } else {
            // alert.*, fileinfo.*, two protocols, ...: not one of ours.
            return Some(format!("<{head}>"));
        }
    }
    found
}

/// The capture a test replays: `pcap:` (copied in under its basename), else
/// the single *.pcap / *.pcapng in the directory.
fn test_pcap(dir: &Path, y: &serde_yaml::Value) -> Result<PathBuf, String> {
    if let Some(p) = y.get("pcap").and_then(|p| p.as_str()) {
        let base = Path::new(p.trim())
            .file_name()
            .ok_or_else(|| format!("pcap {p:?} has no file name"))?;
        let path = dir.join(base);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("pcap {} not found", path.display()))
        };
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err("no capture in directory".into()),
        n => Err(format!("{n} captures and no pcap: in test.yaml")),
    }
}

fn compact(m: &[Matcher]) -> String {
    let mut s = String::from("{");
    for (i, x) in m.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        match x {
            Matcher::Eq(k, v) => {
                let _ = write!(s, "{k}: {v}");
            }
            Matcher::Len(k, v) => {
                let _ = write!(s, "{k}.__len: {v}");
            }
            Matcher::HasKey(k) => {
                let _ = write!(s, "has-key: {k}");
            }
            Matcher::NotHasKey(k) => {
                let _ = write!(s, "not-has-key: {k}");
            }
        }
    }
    s.push('}');
    s
}

/// Expected vs got for a failing check: the count, and the closest records
/// of the event type with the entries they miss.
fn explain(
    matchers: &[Matcher],
    event_type: Option<&str>,
    want: u64,
    got: u64,
    records: &[Value],
) -> String {
    let mut s = format!(
        "match {}\n      want count {want}, got {got}",
        compact(matchers)
    );
    let pool: Vec<&Value> = records
        .iter()
        .filter(|r| event_type.is_none_or(|et| r["event_type"] == et))
        .collect();
    let _ = write!(
        s,
        " ({} {} records in output)",
        pool.len(),
        event_type.unwrap_or("(any)")
    );
    if got > want {
        // Too many: show the surplus matching records' identity.
        for r in pool
            .iter()
            .filter(|r| matchers.iter().all(|m| m.matches(r)))
            .take(4)
        {
            let _ = write!(s, "\n      matched: {}", identity(r));
        }
        return s;
    }
    let mut scored: Vec<(usize, &Value)> = pool
        .iter()
        .filter(|r| !matchers.iter().all(|m| m.matches(r)))
        .map(|r| (matchers.iter().filter(|m| m.matches(r)).count(), *r))
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (score, r) in scored.iter().take(3) {
        let misses: Vec<String> = matchers
            .iter()
            .filter(|m| !m.matches(r))
            .map(|m| m.describe_miss(r))
            .collect();
        let _ = write!(
            s,
            "\n      closest ({score}/{} ok) {}:",
            matchers.len(),
            identity(r)
        );
        for m in misses.iter().take(8) {
            let _ = write!(s, "\n        {m}");
        }
        if misses.len() > 8 {
            let _ = write!(s, "\n        ... {} more", misses.len() - 8);
        }
    }
    s
}

/// A one-line identity for a record: type, 5-tuple, pcap_cnt.
fn identity(r: &Value) -> String {
    let f = |k: &str| match lookup(r, k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "-".into(),
    };
    format!(
        "{} {} {}:{} -> {}:{} pcap_cnt={}",
        f("event_type"),
        f("proto"),
        f("src_ip"),
        f("src_port"),
        f("dest_ip"),
        f("dest_port"),
        f("pcap_cnt")
    )
}

fn run_dir(dir: &Path) -> DirResult {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut res = DirResult {
        dir: name,
        checks: Vec::new(),
        not_applicable: 0,
        note: None,
    };
    let yaml_path = dir.join("test.yaml");
    let text = match std::fs::read_to_string(&yaml_path) {
        Ok(t) => t,
        Err(e) => {
            res.note = Some(format!("no test.yaml: {e}"));
            return res;
        }
    };
    let y: serde_yaml::Value = match serde_yaml::from_str(&text) {
        Ok(y) => y,
        Err(e) => {
            res.note = Some(format!("bad test.yaml: {e}"));
            return res;
        }
    };
    let test_excluded = requires_excludes(y.get("requires"));
    let checks = y
        .get("checks")
        .and_then(|c| c.as_sequence())
        .cloned()
        .unwrap_or_default();

    // Work out which checks to evaluate before running the sensor.
    struct Pending {
        index: usize,
        event_type: Option<String>,
        matchers: Vec<Matcher>,
        count: u64,
    }
    let mut pending = Vec::new();
    for (index, c) in checks.iter().enumerate() {
        let Some(filter) = c.get("filter") else {
            res.not_applicable += 1; // shell:, stats:, file-compare:, ...
            continue;
        };
        let Some(m) = filter.get("match").and_then(|m| m.as_mapping()) else {
            res.not_applicable += 1;
            continue;
        };
        let event_type = check_event_type(m);
        let ours = match &event_type {
            Some(et) => EVENT_TYPES.contains(&et.as_str()),
            // Only generic keys (src_ip, proto, ...): every event type.
            None => true,
        };
        if !ours {
            res.not_applicable += 1;
            continue;
        }
        let skip = |reason: String| CheckResult {
            index,
            outcome: Outcome::Skip(reason),
            detail: String::new(),
        };
        if let Some(r) = test_excluded
            .clone()
            .or_else(|| requires_excludes(filter.get("requires")))
        {
            res.checks.push(skip(r));
            continue;
        }
        let Some(count) = filter.get("count").and_then(|c| c.as_u64()) else {
            res.checks.push(skip("no numeric count".into()));
            continue;
        };
        match parse_match(m) {
            Ok(matchers) => pending.push(Pending {
                index,
                event_type,
                matchers,
                count,
            }),
            Err(e) => res.checks.push(skip(e)),
        }
    }
    if pending.is_empty() {
        return res;
    }

    let pcap = match test_pcap(dir, &y) {
        Ok(p) => p,
        Err(e) => {
            for p in pending {
                res.checks.push(CheckResult {
                    index: p.index,
                    outcome: Outcome::Fail,
                    detail: format!("cannot run: {e}"),
                });
            }
            return res;
        }
    };
    let run = replay(&[pcap.as_path()], &["--workers", "1"]);
    if run.code != 0 {
        res.note = Some(format!("sensor exited {}: {}", run.code, run.stderr.trim()));
    }
    for p in pending {
        let got = run
            .records
            .iter()
            .filter(|r| p.matchers.iter().all(|m| m.matches(r)))
            .count() as u64;
        let (outcome, detail) = if got == p.count && run.code == 0 {
            (Outcome::Pass, String::new())
        } else {
            (
                Outcome::Fail,
                explain(
                    &p.matchers,
                    p.event_type.as_deref(),
                    p.count,
                    got,
                    &run.records,
                ),
            )
        };
        res.checks.push(CheckResult {
            index: p.index,
            outcome,
            detail,
        });
    }
    res.checks.sort_by_key(|c| c.index);
    res
}

#[test]
fn suricata_verify() {
    let Some(root) = verify_root() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("read suricata-verify directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("test.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no test directories in {}",
        root.display()
    );

    let known_pass: BTreeSet<(&str, usize)> = KNOWN_PASS.iter().copied().collect();
    let known_fail: BTreeMap<(&str, usize), &[&str]> =
        KNOWN_FAIL.iter().map(|&(d, i, r)| ((d, i), r)).collect();
    let mut problems: Vec<String> = Vec::new();
    if known_pass.len() != KNOWN_PASS.len() {
        problems.push("KNOWN_PASS has duplicate entries".into());
    }
    if known_fail.len() != KNOWN_FAIL.len() {
        problems.push("KNOWN_FAIL has duplicate entries".into());
    }
    for k in known_pass.intersection(&known_fail.keys().copied().collect()) {
        problems.push(format!(
            "{}#{} is in both KNOWN_PASS and KNOWN_FAIL",
            k.0, k.1
        ));
    }

    let results: Vec<DirResult> = dirs.iter().map(|d| run_dir(d)).collect();

    let (mut pass, mut fail, mut skip, mut na) = (0, 0, 0, 0);
    let mut newly_passing = Vec::new();
    let mut seen: BTreeMap<(String, usize), Outcome> = BTreeMap::new();
    let mut table = String::new();
    let mut details = String::new();
    let _ = writeln!(
        table,
        "{:<40} {:>4} {:>4} {:>4} {:>4}",
        "suricata-verify test", "pass", "fail", "skip", "n/a"
    );
    for d in &results {
        let p = d
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Pass)
            .count();
        let f = d
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count();
        let s = d.checks.len() - p - f;
        pass += p;
        fail += f;
        skip += s;
        na += d.not_applicable;
        let _ = writeln!(
            table,
            "{:<40} {:>4} {:>4} {:>4} {:>4}{}",
            d.dir,
            p,
            f,
            s,
            d.not_applicable,
            d.note
                .as_deref()
                .map(|n| format!("  ({})", n.lines().next().unwrap_or("")))
                .unwrap_or_default()
        );
        for c in &d.checks {
            seen.insert((d.dir.clone(), c.index), c.outcome.clone());
            let key = (d.dir.as_str(), c.index);
            match &c.outcome {
                Outcome::Pass => {
                    if !known_pass.contains(&key) {
                        newly_passing.push(format!("    (\"{}\", {}),", d.dir, c.index));
                    }
                }
                Outcome::Fail => {
                    let tag = match known_fail.get(&key) {
                        Some(reasons) => format!("known: {}", reasons.join("; ")),
                        None => {
                            problems.push(format!(
                                "{}#{} fails and is not in KNOWN_FAIL",
                                d.dir, c.index
                            ));
                            "NEW FAILURE".to_string()
                        }
                    };
                    let _ = writeln!(
                        details,
                        "  {}#{} [{tag}]\n      {}",
                        d.dir, c.index, c.detail
                    );
                }
                Outcome::Skip(reason) => {
                    let _ = writeln!(details, "  {}#{} skipped: {reason}", d.dir, c.index);
                }
            }
        }
    }
    for &(d, i) in KNOWN_PASS {
        match seen.get(&(d.to_string(), i)) {
            Some(Outcome::Pass) => {}
            Some(Outcome::Fail) => {
                problems.push(format!("{d}#{i} is in KNOWN_PASS but fails (regression)"))
            }
            Some(Outcome::Skip(r)) => {
                problems.push(format!("{d}#{i} is in KNOWN_PASS but was skipped: {r}"))
            }
            None => problems.push(format!("{d}#{i} is in KNOWN_PASS but was not evaluated")),
        }
    }
    for &(d, i, _) in KNOWN_FAIL {
        match seen.get(&(d.to_string(), i)) {
            Some(Outcome::Fail) => {}
            Some(Outcome::Pass) => {} // reported as newly passing below
            _ => problems.push(format!("{d}#{i} is in KNOWN_FAIL but was not evaluated")),
        }
    }

    eprintln!("\n{table}");
    eprintln!(
        "total: {pass} passed, {fail} failed, {skip} skipped, {na} not applicable \
         (event types the sensor does not implement, non-filter checks)\n"
    );
    if !details.is_empty() {
        eprintln!("details:\n{details}");
    }
    if !newly_passing.is_empty() {
        eprintln!(
            "{} passing check(s) not in KNOWN_PASS (add them):\n{}\n",
            newly_passing.len(),
            newly_passing.join("\n")
        );
    }
    assert!(
        problems.is_empty(),
        "suricata-verify: {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
