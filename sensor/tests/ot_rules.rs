//! The shipped OT rule pack on every real OT capture: which rule fires how
//! often on which capture is pinned in `tests/ot-rules/fires.json`, so a
//! rule that starts firing on a benign capture, or stops firing on the
//! capture that shows its behaviour, fails the test. Each entry was judged
//! when blessed (see `rules/packs/README.md`); bless a deliberate change
//! with `SENSOR_BLESS=1`.
//!
//! Also: every rule of the pack either fires somewhere here or is listed in
//! `NEEDS_GENERATED` with the traffic that would fire it (to be produced by
//! real protocol stacks in `tests/captures/make-ot.sh`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{captures, replay, sensor, testdata};

/// Pack rules no real capture here exercises (their behaviour is absent
/// from the public captures); the reason is the traffic they need.
const NEEDS_GENERATED: &[(u32, &str)] = &[
    (
        9300006,
        "Modbus unit id scan: pymodbus client reading one register from unit ids 0..30 of one server within a minute (not from a SCADA/HMI host)",
    ),
    (
        9300007,
        "UMAS PLC stop/start: FC 90 with UMAS 0x41 / 0x40 (Schneider M340/M580 or a UMAS simulator; pymodbus can send the raw FC 90 PDU)",
    ),
    (
        9300009,
        "UMAS upload: FC 90 with UMAS 0x30/0x31/0x32",
    ),
    (
        9300010,
        "Modbus write sweep: pymodbus `write_register` to addresses 0..40 of one unit within a minute",
    ),
    (
        9300011,
        "Modbus write flood: pymodbus: 100+ writes to one server within 10 s",
    ),
    (
        9300012,
        "Modbus exception burst: pymodbus reads of unmapped registers / unsupported FCs (>=10 exceptions in 60 s)",
    ),
    (
        9300104,
        "DNP3 unsolicited from outside OT_NET: unsolicited response (FC 130) from an address outside OT_NET (needs OT_NET set)",
    ),
    (
        9300105,
        "DNP3 unsolicited flood: >=50 FC 130 in 10 s from one outstation (opendnp3 outstation with a tiny unsolicited delay and changing points)",
    ),
    (
        9300107,
        "DNP3 open file / activate config: opendnp3 master file open (FC 25) / FC 31",
    ),
    (
        9300108,
        "DNP3 open file / activate config: opendnp3 master file open (FC 25) / FC 31",
    ),
    (
        9300203,
        "IEC-104 C_RP_NA_1: c104 client `ResetProcess` (type 105)",
    ),
    (
        9300205,
        "IEC-104 IOA sweep: c104 client: C_SC_NA_1 to IOAs 100..115 of one station within a minute",
    ),
    (
        9300206,
        "IEC-104 command flood: c104 client: >=30 commands in 10 s",
    ),
    (
        9300207,
        "IEC-104 rejected commands: c104 client: >=5 commands to IOAs the server does not have (COT 47) in a minute",
    ),
    (
        9300310,
        "S7 memory reset: programmer-command MRES (TIA \"Memory reset\"; snap7 has no MRES call - use a real CPU or PLCSIM Advanced)",
    ),
    (
        9300405,
        "CIP TCP/IP / Ethernet Link change: pycomm3 `generic_message` Set_Attribute_Single to class 0xF5 / 0xF6",
    ),
    (
        9300406,
        "CIP NVS firmware update: any request to class 0xA1 (ControlFLASH; or pycomm3 generic_message to 0xA1)",
    ),
    (
        9300408,
        "ListIdentity sweep: ListIdentity unicast to >=10 hosts in a minute (nmap enip-info over a /24, cpppo list_identity)",
    ),
    (
        9300509,
        "BACnet Who-Is sweep: >=20 Who-Is in a minute from one host (bacpypes3 / BAC0 discover loop)",
    ),
    (
        9300701,
        "MMS control operation: libiec61850 `client_example_control` (Oper on CSWI/XCBR Pos) from a non-SCADA host",
    ),
    (
        9300706,
        "MMS upload: MMS initiate upload sequence / request domain upload",
    ),
    (
        9300708,
        "61850 command flood: >=10 Oper writes in 30 s (libiec61850 client loop)",
    ),
    (
        9300709,
        "GOOSE test / simulation / TTL 0: libiec61850 `goose_publisher_example` with `GoosePublisher_setTest`, the simulation bit in Reserved1, TTL 0",
    ),
    (
        9300710,
        "GOOSE test / simulation / TTL 0: libiec61850 `goose_publisher_example` with `GoosePublisher_setTest`, the simulation bit in Reserved1, TTL 0",
    ),
    (
        9300711,
        "GOOSE test / simulation / TTL 0: libiec61850 `goose_publisher_example` with `GoosePublisher_setTest`, the simulation bit in Reserved1, TTL 0",
    ),
    (
        9300712,
        "GOOSE state-change flood: publisher changing a data set value >=20 times in 10 s (new stNum, sqNum 0 each time)",
    ),
    (
        9300802,
        "DCP factory reset / Identify flood: scapy PNIO-DCP Set \"Reset to factory\" / >=20 Identify in 10 s",
    ),
    (
        9300804,
        "DCP factory reset / Identify flood: scapy PNIO-DCP Set \"Reset to factory\" / >=20 Identify in 10 s",
    ),
    (
        9300902,
        "FINS program write / read / reset / memory write: FINS commands 0x0307 / 0x0306 / 0x0403 (reset) / 0x0102 from a FINS client to a simulator",
    ),
    (
        9300903,
        "FINS program write / read / reset / memory write: FINS commands 0x0307 / 0x0306 / 0x0403 (reset) / 0x0102 from a FINS client to a simulator",
    ),
    (
        9300904,
        "FINS program write / read / reset / memory write: FINS commands 0x0307 / 0x0306 / 0x0403 (reset) / 0x0102 from a FINS client to a simulator",
    ),
    (
        9300905,
        "FINS program write / read / reset / memory write: FINS commands 0x0307 / 0x0306 / 0x0403 (reset) / 0x0102 from a FINS client to a simulator",
    ),
    (
        9301101,
        "HART-IP reset / writes: HART-IP command 42 / write commands (17, 18, 35, 40...) through a HART-IP server",
    ),
    (
        9301102,
        "HART-IP reset / writes: HART-IP command 42 / write commands (17, 18, 35, 40...) through a HART-IP server",
    ),
    (
        9309001,
        "OT host sweep: nmap / plcscan over >=10 OT devices in 5 min from an undeclared host (fires on plant1 with the default variables: the SCADA master polls 27 devices)",
    ),
    (
        9309005,
        "stop -> download -> start (non-S7): UMAS stop, download, start (Unity/Control Expert) or FINS stop, program area write, run",
    ),
    (
        9309006,
        "failed writes/commands burst: >=10 refused writes in a minute (pymodbus writes to unmapped registers -> exception 2)",
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
        .filter(|id| !fired.contains(id) && !NEEDS_GENERATED.iter().any(|(n, _)| n == id))
        .collect();
    assert!(
        missing.is_empty(),
        "pack rules that neither fire on a real capture nor say what traffic they need: {missing:?}"
    );
    eprintln!(
        "ot pack: {} rules fire on real captures, {} need generated traffic",
        fired.len(),
        NEEDS_GENERATED.len()
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
