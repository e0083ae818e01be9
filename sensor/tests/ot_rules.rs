//! The shipped OT rule pack on every real OT capture: which rule fires how
//! often on which capture is pinned in `tests/ot-rules/fires.json`, so a
//! rule that starts firing on a benign capture, or stops firing on the
//! capture that shows its behaviour, fails the test. Each entry was judged
//! when blessed (see `rules/packs/README.md`); bless a deliberate change
//! with `SENSOR_BLESS=1`.
//!
//! The generated captures (`tests/captures/ot-*.pcap`, real protocol stacks
//! or protocol-speaking scripts between two network namespaces, made by
//! `tests/captures/make-ot.sh`) are pinned the same way in `GENERATED`:
//! exactly these rules, this often, and no other.
//!
//! Also: every rule of the pack either fires somewhere here or is listed in
//! `NEEDS_GENERATED` with the traffic that would fire it (to be produced by
//! real protocol stacks in `tests/captures/make-ot.sh`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{captures, replay, sensor, testdata};

/// Pack rules that neither a public capture nor a generated one exercises,
/// each with the traffic it needs (to be produced in
/// `tests/captures/make-ot.sh`). Empty since every rule fires on one of
/// the captures; a new rule without a capture goes here.
const NEEDS_GENERATED: &[(u32, &str)] = &[];

/// (capture, config, [(rule id, alert count)])
type Generated = (&'static str, Option<&'static str>, &'static [(u32, u64)]);

/// Generated captures (file under `tests/captures/`, the config file under
/// `tests/ot-rules/` it is replayed with, or the built-in defaults: no HMI /
/// SCADA / engineering hosts, OT_NET = everything) and every pack rule that
/// fires on them, with its alert count. See `tests/captures/make-ot.sh` and
/// `tests/captures/ot/*.py` for what each capture does.
const GENERATED: &[Generated] = &[
    // unit ids 1..20 read once each; 12 reads of unmapped registers
    ("ot-modbus-scan.pcap", None, &[(9300006, 1), (9300012, 1)]),
    // write sweep 0..39, 100-write flood, 12 refused writes
    (
        "ot-modbus-writes.pcap",
        None,
        &[
            (9300001, 1),
            (9300010, 1),
            (9300011, 1),
            (9300012, 1),
            (9309006, 1),
        ],
    ),
    // UMAS stop, download, start, upload
    (
        "ot-umas.pcap",
        None,
        &[(9300007, 2), (9300008, 1), (9300009, 1), (9309005, 1)],
    ),
    // C_SC_NA_1 sweep over 16 IOAs, flood, 6 unknown IOAs, C_RP_NA_1
    (
        "ot-iec104-attack.pcap",
        None,
        &[
            (9300201, 1),
            (9300203, 1),
            (9300205, 1),
            (9300206, 1),
            (9300207, 1),
        ],
    ),
    // ListIdentity over 20 hosts; Set_Attribute_Single 0xF5 / 0xF6; NVS 0xA1
    (
        "ot-enip-attack.pcap",
        None,
        &[
            (9300404, 1),
            (9300405, 2),
            (9300406, 1),
            (9300407, 1),
            (9300408, 1),
            (9309001, 1),
        ],
    ),
    // 24 Who-Is
    ("ot-bacnet-sweep.pcap", None, &[(9300509, 1)]),
    // controller data read, memory write, stop, program write, run,
    // program read, reset
    (
        "ot-fins.pcap",
        None,
        &[
            (9300901, 2),
            (9300902, 1),
            (9300903, 1),
            (9300904, 1),
            (9300905, 1),
            (9300906, 1),
            (9309005, 1),
        ],
    ),
    // commands 0, 18, 35, 40, 42
    ("ot-hart-ip.pcap", None, &[(9301101, 1), (9301102, 1)]),
    // open file, activate config, 55 unsolicited responses
    (
        "ot-dnp3.pcap",
        None,
        &[(9300105, 1), (9300107, 1), (9300108, 1)],
    ),
    // the same with the outstation outside OT_NET
    (
        "ot-dnp3.pcap",
        Some("ot-net-master-only.toml"),
        &[
            (9300104, 1),
            (9300105, 1),
            (9300107, 1),
            (9300108, 1),
            (9309004, 1),
        ],
    ),
    // 12 operates of CSWI1.Pos, initiateUploadSequence
    (
        "ot-mms-control.pcap",
        None,
        &[(9300701, 1), (9300706, 1), (9300707, 1), (9300708, 1)],
    ),
    // PLC stop, programmer command memory reset (userdata group 1 / 0x0C)
    ("ot-s7-mres.pcap", None, &[(9300301, 1), (9300310, 1)]),
    // 25 Identify All, Set reset to factory
    (
        "ot-dcp.pcap",
        None,
        &[(9300802, 1), (9300803, 1), (9300804, 1)],
    ),
    // test flag, simulation bit, TTL 0, 22 state changes
    (
        "ot-goose.pcap",
        None,
        &[(9300709, 1), (9300710, 1), (9300711, 1), (9300712, 1)],
    ),
];

fn fires_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ot-rules/fires.json")
}

/// All pack rule ids, from `sensor rules check`-equivalent loading: the ids
/// in the shipped YAML files.
fn pack_ids() -> Vec<u32> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/packs/ot");
    let mut ids = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        for l in text.lines() {
            let t = l.trim_start().trim_start_matches("- ");
            if let Some(v) = t.strip_prefix("id:") {
                if let Ok(id) = v.trim().parse::<u32>() {
                    ids.push(id);
                }
            }
        }
    }
    ids.sort_unstable();
    ids
}

#[test]
fn pack_fires_exactly_as_pinned_on_real_captures() {
    let Some(td) = testdata("pack_fires_exactly_as_pinned_on_real_captures") else {
        return;
    };
    let root = td.join("pcaps/ot");
    let mut got: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for f in captures(&root) {
        let name = f.strip_prefix(&root).unwrap().display().to_string();
        let r = replay(&[&f], &["--workers", "2"]);
        assert!(r.code == 0 || r.code == 3, "{name}: {}", r.stderr);
        let mut per: BTreeMap<String, u64> = BTreeMap::new();
        for rec in &r.records {
            if rec["event_type"] != "alert" || rec["alert"]["category"] != "OT behaviour" {
                continue;
            }
            let sid = rec["alert"]["signature_id"].as_u64().unwrap();
            *per.entry(sid.to_string()).or_default() += 1;
        }
        if !per.is_empty() {
            got.insert(name, per);
        }
    }
    let path = fires_file();
    if std::env::var_os("SENSOR_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let want: BTreeMap<String, BTreeMap<String, u64>> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut diffs = Vec::new();
    for k in want.keys().chain(got.keys()) {
        if want.get(k) != got.get(k) && !diffs.iter().any(|d: &String| d.starts_with(k)) {
            diffs.push(format!("{k}: want {:?} got {:?}", want.get(k), got.get(k)));
        }
    }
    assert!(
        diffs.is_empty(),
        "rule firings changed:\n{}",
        diffs.join("\n")
    );

    // Coverage: every rule fires on some capture or says what it needs.
    let fired: std::collections::BTreeSet<u32> = got
        .values()
        .flat_map(|m| m.keys().map(|k| k.parse::<u32>().unwrap()))
        .collect();
    let missing: Vec<u32> = pack_ids()
        .into_iter()
        .filter(|id| {
            !fired.contains(id)
                && !generated_ids().contains(id)
                && !NEEDS_GENERATED.iter().any(|(n, _)| n == id)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "pack rules that neither fire on a real capture nor say what traffic they need: {missing:?}"
    );
    eprintln!(
        "ot pack: {} rules fire on real captures, {} on generated ones, {} need generated traffic",
        fired.len(),
        generated_ids().difference(&fired).count(),
        NEEDS_GENERATED.len()
    );
}

/// Rule ids that fire on some generated capture (as pinned in `GENERATED`).
fn generated_ids() -> std::collections::BTreeSet<u32> {
    GENERATED
        .iter()
        .flat_map(|(_, _, fires)| fires.iter().map(|(id, _)| *id))
        .collect()
}

#[test]
fn pack_fires_exactly_as_pinned_on_generated_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
    let mut diffs = Vec::new();
    for (file, config, want) in GENERATED {
        let pcap = dir.join("captures").join(file);
        let mut extra = vec!["--workers".to_string(), "2".to_string()];
        if let Some(c) = config {
            extra.push("-c".into());
            extra.push(dir.join("ot-rules").join(c).display().to_string());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = replay(&[&pcap], &extra);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let mut got: BTreeMap<u32, u64> = BTreeMap::new();
        for rec in &r.records {
            // The namespaces' addresses only: 10.78.0.1 and 10.78.0.2,
            // 10.78.0.10-29 for sweeps.
            for k in ["src_ip", "dest_ip"] {
                if let Some(ip) = rec[k].as_str() {
                    assert!(ip.starts_with("10.78.0."), "{file}: foreign address {ip}");
                }
            }
            if rec["event_type"] != "alert" || rec["alert"]["category"] != "OT behaviour" {
                continue;
            }
            let sid = rec["alert"]["signature_id"].as_u64().unwrap();
            *got.entry(u32::try_from(sid).unwrap()).or_default() += 1;
        }
        let want: BTreeMap<u32, u64> = want.iter().copied().collect();
        if got != want {
            diffs.push(format!("{file} ({config:?}): want {want:?} got {got:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "rule firings on generated captures changed:\n{}",
        diffs.join("\n")
    );
}

/// Coverage without ../shared/testdata: the public captures' firings as
/// pinned in fires.json, the generated ones as pinned in `GENERATED`, and
/// `NEEDS_GENERATED` account for every pack rule; and no rule is listed as
/// needing traffic that a capture here already fires it with.
#[test]
fn every_pack_rule_fires_on_a_pinned_capture_or_says_what_it_needs() {
    let pinned: BTreeMap<String, BTreeMap<String, u64>> =
        serde_json::from_str(&std::fs::read_to_string(fires_file()).unwrap()).unwrap();
    let mut fired: std::collections::BTreeSet<u32> = pinned
        .values()
        .flat_map(|m| m.keys().map(|k| k.parse::<u32>().unwrap()))
        .collect();
    fired.extend(generated_ids());
    let ids = pack_ids();
    let missing: Vec<u32> = ids
        .iter()
        .copied()
        .filter(|id| !fired.contains(id) && !NEEDS_GENERATED.iter().any(|(n, _)| n == id))
        .collect();
    assert!(
        missing.is_empty(),
        "pack rules that fire on no capture and do not say what traffic they need: {missing:?}"
    );
    let stale: Vec<u32> = NEEDS_GENERATED
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| fired.contains(id) || !ids.contains(id))
        .collect();
    assert!(
        stale.is_empty(),
        "NEEDS_GENERATED lists rules that already fire on a capture (or are not in the pack): {stale:?}"
    );
}

#[test]
fn the_pack_loads_and_a_bad_site_rule_names_file_and_line() {
    let out = sensor().args(["rules", "check"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let n: usize = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("rules: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(n >= 30, "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("site.yaml"),
        "- id: 9990001\n  name: x\n  severity: high\n  attack: [T0855]\n  reference: https://example.org\n  match:\n    proto: modbus\n    clas: write\n",
    )
    .unwrap();
    let out = sensor()
        .args(["rules", "check", "--rules-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site.yaml:8:"), "{err}");
    // A replay with the bad rule refuses to start, naming it too.
    let out = sensor()
        .args(["replay", "/dev/null", "--rules-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("site.yaml:8:"));
}
