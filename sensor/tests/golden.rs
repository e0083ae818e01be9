//! Golden cases over the real captures in ../shared/testdata/pcaps: every
//! record validates against Suricata's EVE schema; per-capture summaries
//! (event counts, app protocols, DNS names, SNIs, HTTP hosts) equal the
//! blessed ones in tests/golden/; 1 and 4 workers give identical output.
//!
//! Bless after a deliberate change: `SENSOR_BLESS=1 cargo test --release
//! --test golden`, then read the diff of tests/golden/ before committing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{captures, replay, testdata};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// A compact, reviewable summary of a run.
fn summarise(records: &[Value]) -> Value {
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut app: BTreeMap<String, u64> = BTreeMap::new();
    let mut dns: BTreeSet<String> = BTreeSet::new();
    let mut sni: BTreeSet<String> = BTreeSet::new();
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    let mut anomalies: BTreeMap<String, u64> = BTreeMap::new();
    let mut ja3: BTreeSet<String> = BTreeSet::new();
    let mut pkts = 0u64;
    for r in records {
        let t = r["event_type"].as_str().unwrap_or("?").to_string();
        *types.entry(t.clone()).or_default() += 1;
        match t.as_str() {
            "flow" => {
                let a = r["app_proto"].as_str().unwrap_or("none").to_string();
                *app.entry(a).or_default() += 1;
                pkts += r["flow"]["pkts_toserver"].as_u64().unwrap_or(0)
                    + r["flow"]["pkts_toclient"].as_u64().unwrap_or(0);
            }
            "dns" => {
                if let Some(q) = r["dns"]["queries"][0]["rrname"].as_str() {
                    dns.insert(q.to_string());
                }
            }
            "tls" => {
                if let Some(s) = r["tls"]["sni"].as_str() {
                    sni.insert(s.to_string());
                }
                if let Some(s) = r["tls"]["ja3"]["hash"].as_str() {
                    ja3.insert(s.to_string());
                }
            }
            "http" => {
                if let Some(h) = r["http"]["hostname"].as_str() {
                    hosts.insert(h.to_string());
                }
            }
            "anomaly" => {
                let e = r["anomaly"]["event"].as_str().unwrap_or("?").to_string();
                *anomalies.entry(e).or_default() += 1;
            }
            _ => {}
        }
    }
    let cap = |s: BTreeSet<String>| s.into_iter().take(20).collect::<Vec<_>>();
    json!({
        "event_types": types,
        "flow_app_proto": app,
        "flow_packets": pkts,
        "dns_queries": cap(dns),
        "tls_sni": cap(sni),
        "tls_ja3": cap(ja3),
        "http_hosts": cap(hosts),
        "anomalies": anomalies,
    })
}

/// Event types the sensor adds to Suricata's.
const OWN_EVENT_TYPES: &[&str] = &[
    "iec104",
    "s7comm",
    "s7comm_plus",
    "mms",
    "bacnet",
    "opcua",
    "fins",
    "hart_ip",
    "fox",
    "c37118",
    "profinet_io_cm",
    "profinet_dcp",
    "goose",
    "goose_anomaly",
    "asset",
];

fn schema_validator(td: &Path) -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(td.join("eve-schema.json")).unwrap())
            .unwrap();
    let mut schema = schema;
    // Protocols Suricata does not log: the sensor's own event types (field
    // meanings after Zeek ICSNPP). Their objects are checked by the
    // decoders' own tests; here they only may appear.
    if let Some(props) = schema["properties"].as_object_mut() {
        for t in OWN_EVENT_TYPES {
            props
                .entry(t.to_string())
                .or_insert_with(|| serde_json::json!({"type": "object"}));
        }
    }
    jsonschema::validator_for(&schema).expect("EVE schema compiles")
}

#[test]
fn real_captures_match_golden_and_schema() {
    let Some(td) = testdata("real_captures_match_golden_and_schema") else {
        return;
    };
    let validator = schema_validator(&td);
    let bless = std::env::var_os("SENSOR_BLESS").is_some();
    let mut failures = Vec::new();
    let files = captures(&td.join("pcaps"));
    assert!(
        files.len() > 50,
        "expected the shared captures, found {}",
        files.len()
    );
    let mut checked = 0;
    for f in &files {
        let rel = f.strip_prefix(td.join("pcaps")).unwrap();
        let r = replay(&[f], &["--workers", "2"]);
        assert!(
            r.code == 0 || r.code == 3,
            "{}: exit {} {}",
            rel.display(),
            r.code,
            r.stderr
        );
        for rec in &r.records {
            let errs: Vec<String> = validator
                .iter_errors(rec)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            if !errs.is_empty() {
                failures.push(format!(
                    "{}: schema: {} in {}",
                    rel.display(),
                    errs.join("; "),
                    rec
                ));
            }
        }
        let got = summarise(&r.records);
        let name = rel.to_string_lossy().replace('/', "__") + ".json";
        let path = golden_dir().join(name);
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        } else {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let want: Value = serde_json::from_str(&text).unwrap();
                    if want != got {
                        failures.push(format!(
                            "{}: summary differs from {}\n want {}\n got  {}",
                            rel.display(),
                            path.display(),
                            want,
                            got
                        ));
                    }
                }
                Err(_) => failures.push(format!(
                    "{}: no golden file {} (bless it)",
                    rel.display(),
                    path.display()
                )),
            }
        }
        checked += 1;
    }
    eprintln!("golden: {checked} captures checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Records minus what legitimately depends on scheduling: sorted lines.
fn canonical(records: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

#[test]
fn one_and_four_workers_give_identical_records() {
    let Some(td) = testdata("one_and_four_workers_give_identical_records") else {
        return;
    };
    let files: Vec<PathBuf> = captures(&td.join("pcaps/enterprise"))
        .into_iter()
        .chain(captures(&td.join("pcaps/ot/modbus")))
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    // An IOC list that hits: addresses and names seen in these captures.
    let dir = tempfile::tempdir().unwrap();
    let ioc = dir.path().join("ioc.txt");
    let one = replay(&refs, &["--workers", "1"]);
    let mut names: BTreeSet<String> = BTreeSet::new();
    for r in &one.records {
        if let Some(q) = r["dns"]["queries"][0]["rrname"].as_str() {
            names.insert(q.to_string());
        }
        if let Some(s) = r["tls"]["sni"].as_str() {
            names.insert(s.to_string());
        }
    }
    let mut list: Vec<String> = names.into_iter().take(10).collect();
    list.push("192.168.0.0/16".into());
    std::fs::write(&ioc, list.join("\n")).unwrap();
    let ioc = ioc.to_str().unwrap();
    let one = replay(&refs, &["--workers", "1", "--ioc", ioc]);
    let four = replay(&refs, &["--workers", "4", "--ioc", ioc]);
    assert_eq!(one.code, four.code);
    let alerts = one
        .records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .count();
    assert!(
        alerts > 10,
        "expected alerts from the IOC list, got {alerts}"
    );
    let a = canonical(&one.records);
    let b = canonical(&four.records);
    assert_eq!(a.len(), b.len(), "record counts differ");
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x, y);
    }
}
