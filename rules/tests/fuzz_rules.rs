//! Fuzz target for the behaviour-rule language (`rules::behaviour`).
//!
//! Arbitrary UTF-8 text goes through `RuleSet::builder().add_source(..)
//! .build()`; it must never panic, and every error must name the source
//! with a 1-based line and column. Rule sets that load are run through an
//! [`Engine`] with small limits on arbitrary [`Op`]s and contexts, which
//! must not panic and must keep its state within the limits.
//!
//! Random text rarely gets past the YAML parser, so the input's first byte
//! chooses how the text is made: the raw bytes (lossy UTF-8), a seed rule
//! file (the examples of `BEHAVIOUR.md`, the shipped packs and a few
//! inline rules) edited by the remaining bytes with rule-language tokens,
//! or a soup of those tokens.
//!
//! Under `cargo test` this is a bounded random run (`ITERATIONS` inputs,
//! `BOLERO_RANDOM_ITERATIONS=N` overrides). Longer runs:
//! `cargo bolero test -p rules --test fuzz_rules behaviour_rules_fuzz`
//! (libFuzzer; see `sensor/tests/fuzz_ot.rs` for the details).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use rules::behaviour::{Ctx, Engine, EngineLimits, RuleSet, KNOWN_PROTOS};
use rules::ot::{Attr, Op, OpClass};

/// Inputs per bounded `cargo test` run.
const ITERATIONS: usize = 30_000;
/// Longest generated input.
const MAX_LEN: usize = 2_048;
/// Engine limits for the run: small, so that the bounds are reached.
const LIMITS: EngineLimits = EngineLimits {
    max_keys_per_rule: 8,
    max_values_per_rule: 32,
};

/// Tokens of the rule language, for edits and soups.
const TOKENS: &[&str] = &[
    "- ",
    "\n",
    "\n  ",
    "\n    ",
    "\n      - ",
    ": ",
    ", ",
    "{ ",
    " }",
    "[",
    "]",
    "\"",
    "'",
    "!",
    "$",
    "#",
    "&a ",
    "*a",
    "<<: ",
    "---\n",
    "~",
    "null",
    "true",
    "false",
    "id: ",
    "id: 9200001",
    "id: 4294967295",
    "id: -1",
    "id: 0",
    "name: x",
    "severity: ",
    "high",
    "medium",
    "low",
    "critical",
    "attack: [T0816]",
    "reference: x",
    "description: d",
    "match: ",
    "proto: ",
    "function: ",
    "class: ",
    "unit: ",
    "address: ",
    "quantity: ",
    "value: ",
    "status: ",
    "object: ",
    "attrs: ",
    "response_only: ",
    "any",
    "src: ",
    "dst: ",
    "when: ",
    "hours: ",
    "\"22:00-06:00\"",
    "\"00:00-24:00\"",
    "\"25:61-99:99\"",
    "days: ",
    "weekend",
    "mon-fri",
    "sun",
    "sat-mon",
    "allow: ",
    "threshold: ",
    "distinct: ",
    "sequence: ",
    "steps: ",
    "within: ",
    "count: ",
    "seconds: ",
    "field: ",
    "by: ",
    "src_unit",
    "dst_unit",
    "pair",
    "flow",
    "none",
    "suppress: ",
    "5m",
    "1h",
    "0",
    "300",
    "1e400",
    "18446744073709551616",
    "-0",
    ".5",
    "\">1000\"",
    "\"<=-5\"",
    "\"40000-40100\"",
    "\"10-1\"",
    "\"$ENGINEERING_WS\"",
    "\"!$OT_NET\"",
    "\"[10.0.0.0/8, !$OT_NET]\"",
    "\"![$OT_NET, !10.0.7.7]\"",
    "\"::1/128\"",
    "\"10.0.0.0/33\"",
    "\"$UNDEFINED\"",
    "pack: ",
    "rules: ",
    "version: \"1\"",
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
    "fins",
    "hart_ip",
    "fox",
    "c37118",
    "profinet_dcp",
    "profinet_io_cm",
    "write",
    "read",
    "command",
    "mode_change",
    "download",
    "plc_stop",
    "plc_start",
    "write_single_register",
    "\u{0}",
    "\u{feff}",
    "é",
    "\t",
    "\r\n",
    "%YAML 1.2\n",
    "!!str ",
    "!!binary ",
    "? ",
    "|\n  ",
    ">-\n  ",
];

/// Protocol names for generated ops: the known ones and some others.
const PROTOS: &[&str] = &["", "http", "MODBUS", "s7comm-plus", "modbus\0"];
/// Function names for generated ops.
const FUNCTIONS: &[&str] = &[
    "plc_stop",
    "plc_start",
    "write_single_register",
    "read_holding_registers",
    "write_var",
    "c_se_na_1",
    "c_sc_na_1",
    "select",
    "operate",
    "cold_restart",
    "",
    "unknown",
];
const ATTR_NAMES: &[&str] = &["test", "cot", "simulation", "name", "x"];

/// Inputs tried, rule sets that loaded, hits (shown with `--nocapture`).
static TRIED: AtomicU64 = AtomicU64::new(0);
static LOADED: AtomicU64 = AtomicU64::new(0);
static HITS: AtomicU64 = AtomicU64::new(0);

fn seeds() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    let mut out = vec![
        "- id: 1\n  name: a\n  severity: high\n  match: { proto: modbus, class: write }\n"
            .to_string(),
        "- id: 2\n  name: t\n  severity: low\n  match: { proto: modbus }\n  threshold: { count: 3, seconds: 60, by: pair }\n  suppress: 30\n".to_string(),
        "- id: 3\n  name: d\n  severity: medium\n  match: { class: read }\n  distinct: { field: unit, count: 4, seconds: 60, by: src }\n".to_string(),
        "- id: 4\n  name: s\n  severity: high\n  sequence:\n    by: src\n    within: 10m\n    steps:\n      - match: { function: plc_stop }\n      - match: { class: download }\n      - match: { function: plc_start }\n".to_string(),
        "- id: 5\n  name: w\n  severity: low\n  match: { proto: iec104, value: \">10\", attrs: { test: true } }\n  src: \"!$ENGINEERING_WS\"\n  dst: [\"$OT_NET\", \"!10.0.5.0/24\"]\n  when: [ { days: weekend }, { hours: \"18:00-07:00\", days: mon-fri } ]\n  allow:\n    - src: 10.0.0.1\n".to_string(),
    ];
    // Fenced YAML blocks of the language reference.
    if let Ok(doc) = std::fs::read_to_string(format!("{dir}BEHAVIOUR.md")) {
        let mut block: Option<String> = None;
        for line in doc.lines() {
            match &mut block {
                None if line.trim_start().starts_with("```yaml") => block = Some(String::new()),
                Some(b) if line.trim_start().starts_with("```") => {
                    out.push(std::mem::take(b));
                    block = None;
                }
                Some(b) => {
                    b.push_str(line);
                    b.push('\n');
                }
                None => {}
            }
        }
    }
    // The shipped packs.
    if let Ok(rd) = std::fs::read_dir(format!("{dir}packs/ot")) {
        let mut paths: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
    out
}

/// Reads the fuzz input as a little stream of choices.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) << 8 | u16::from(self.u8())
    }
    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) << 16 | u32::from(self.u16())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The nearest char boundary at or before `at`.
fn boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Rule text from the fuzz input (see the module docs).
fn make_text(data: &[u8], seeds: &[String]) -> String {
    let mut b = Bytes(data);
    match b.u8() % 8 {
        0 => String::from_utf8_lossy(b.0).into_owned(),
        1 | 2 => {
            let mut s = String::new();
            while !b.is_empty() {
                let t = b.u8();
                if t < 0xf0 {
                    s.push_str(TOKENS[usize::from(t) % TOKENS.len()]);
                } else {
                    s.push(char::from(b.u8() & 0x7f));
                }
            }
            s
        }
        _ => {
            let mut s = seeds[usize::from(b.u16()) % seeds.len()].clone();
            // A few edits only: most edited files should still load.
            for _ in 0..b.u8() % 6 {
                let op = b.u8();
                let at = if s.is_empty() {
                    0
                } else {
                    boundary(&s, usize::from(b.u16()) % (s.len() + 1))
                };
                let tok = TOKENS[usize::from(b.u8()) % TOKENS.len()];
                match op % 5 {
                    0 => s.insert_str(at, tok),
                    1 => {
                        let end = boundary(&s, at + usize::from(b.u8() % 32));
                        s.replace_range(at..end.max(at), "");
                    }
                    2 => {
                        let end = boundary(&s, at + usize::from(b.u8() % 16));
                        s.replace_range(at..end.max(at), tok);
                    }
                    3 => {
                        // Duplicate the line at `at` (ids collide, keys repeat).
                        let start = s[..at].rfind('\n').map_or(0, |i| i + 1);
                        let end = s[at..].find('\n').map_or(s.len(), |i| at + i + 1);
                        let line = s[start..end].to_string();
                        s.insert_str(end, &line);
                    }
                    _ => {
                        let c = b.u8();
                        if c.is_ascii() {
                            s.insert(at, char::from(c));
                        }
                    }
                }
                if s.len() > 64 * 1024 {
                    break;
                }
            }
            s
        }
    }
}

fn ip(b: &mut Bytes) -> Option<IpAddr> {
    match b.u8() % 4 {
        0 => None,
        1 => Some(IpAddr::from([10, 0, b.u8() % 8, b.u8() % 8])),
        2 => Some(IpAddr::from([b.u8(), b.u8(), b.u8(), b.u8()])),
        _ => Some(IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, b.u16()])),
    }
}

fn op_and_ctx(b: &mut Bytes, ts: &mut u64) -> (Op, Ctx) {
    let p = usize::from(b.u8());
    let proto = if p < 240 {
        KNOWN_PROTOS[p % KNOWN_PROTOS.len()]
    } else {
        PROTOS[p % PROTOS.len()]
    };
    let function = FUNCTIONS[usize::from(b.u8()) % FUNCTIONS.len()];
    let class = OpClass::ALL[usize::from(b.u8()) % OpClass::ALL.len()];
    let mut op = Op::new(proto, function, u32::from(b.u8()), class);
    let flags = b.u8();
    op.response_only = flags & 1 != 0;
    if flags & 2 != 0 {
        op.unit = Some(u32::from(b.u8()));
    }
    if flags & 4 != 0 {
        op.address = Some(b.u32() % 70_000);
    }
    if flags & 8 != 0 {
        op.quantity = Some(u32::from(b.u16()));
    }
    if flags & 16 != 0 {
        for _ in 0..b.u8() % 4 {
            op.values.push(match b.u8() % 6 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -0.0,
                _ => f64::from(b.u32() as i32) / 4.0,
            });
        }
    }
    if flags & 32 != 0 {
        op.object = Some(format!("obj{}", b.u8() % 4));
    }
    if flags & 64 != 0 {
        op.status = Some(u32::from(b.u8()));
    }
    if flags & 128 != 0 {
        let name = ATTR_NAMES[usize::from(b.u8()) % ATTR_NAMES.len()];
        let v = match b.u8() % 3 {
            0 => Attr::Bool(b.u8() & 1 != 0),
            1 => Attr::Int(i64::from(b.u32() as i32)),
            _ => Attr::Str("x".into()),
        };
        op.attrs.push((name, v));
    }
    // Packet time mostly moves forward, sometimes far, sometimes back.
    *ts = match b.u8() % 8 {
        0 => ts.saturating_sub(u64::from(b.u32()) * 1_000_000),
        1 => ts.saturating_add(u64::from(b.u32()) * 1_000_000_000),
        2 => u64::MAX - u64::from(b.u8()),
        _ => ts.saturating_add(u64::from(b.u16()) * 1_000_000),
    };
    let ctx = Ctx {
        ts_ns: *ts,
        src: ip(b),
        dst: ip(b),
        sport: b.u16(),
        dport: b.u16(),
        src_mac: (b.u8() & 1 != 0).then(|| [2, 0, 0, 0, 0, b.u8()]),
        dst_mac: (b.u8() & 1 != 0).then(|| [2, 0, 0, 0, 0, b.u8()]),
        flow_id: u64::from(b.u8() % 8),
    };
    (op, ctx)
}

fn vars() -> HashMap<String, Vec<ipnet::IpNet>> {
    let mut v = HashMap::new();
    for (k, nets) in [
        ("ENGINEERING_WS", &["10.0.0.5/32", "fd00::5/128"][..]),
        ("OT_NET", &["10.0.0.0/16"][..]),
        ("PLC_NET", &["10.0.1.0/24"][..]),
        ("SCADA_MASTERS", &["10.0.0.10/31"][..]),
        ("SCADA_HOSTS", &["10.0.0.10/31", "10.0.2.0/24"][..]),
        ("HMI_HOSTS", &["10.0.3.0/24"][..]),
        ("ENG_WS", &["10.0.0.5/32"][..]),
        ("HOME_NET", &["10.0.0.0/8", "192.168.0.0/16"][..]),
        ("EMPTY", &[][..]),
    ] {
        v.insert(
            k.to_string(),
            nets.iter().map(|n| n.parse().unwrap()).collect(),
        );
    }
    v
}

fn run_one(text_bytes: &[u8], op_bytes: &[u8], seeds: &[String]) {
    let text = make_text(text_bytes, seeds);
    let mut builder = RuleSet::builder();
    builder
        .add_source("fuzz.yaml", &text)
        .vars(vars())
        .utc_offset(i32::from(op_bytes.first().copied().unwrap_or(0) as i8) * 1800);
    TRIED.fetch_add(1, Relaxed);
    let set = match builder.build() {
        Ok(set) => {
            LOADED.fetch_add(1, Relaxed);
            set
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "build failed with no error");
            for e in &errors {
                assert!(
                    e.file == "fuzz.yaml" || e.file == "<config>",
                    "error names another file: {e}"
                );
                assert!(e.line >= 1 && e.column >= 1, "not 1-based: {e}");
                assert!(!e.message.is_empty(), "empty message: {e}");
                let _ = e.to_string();
            }
            return;
        }
    };
    let n_rules = set.len() as u64;
    let mut engine = Engine::with_limits(Arc::new(set), LIMITS);
    let mut b = Bytes(op_bytes);
    let mut ts = 1_700_000_000_000_000_000u64;
    let mut hits = Vec::new();
    let mut evaluated = 0u64;
    while !b.is_empty() {
        let (op, ctx) = op_and_ctx(&mut b, &mut ts);
        // The same op a few times, so that counting rules fire.
        for _ in 0..=(b.u8() % 4) {
            hits.clear();
            engine.eval(&op, &ctx, &mut hits);
            evaluated += 1;
            assert!(hits.len() as u64 <= n_rules, "more hits than rules");
            HITS.fetch_add(hits.len() as u64, Relaxed);
            for h in &hits {
                assert!(!h.reason.is_empty());
                let _ = format!("{:?} {:?}", h.key, h.rule.severity());
            }
        }
        let st = engine.stats();
        assert!(
            st.keys <= n_rules * LIMITS.max_keys_per_rule as u64,
            "engine keys {} over the bound ({n_rules} rules × {})",
            st.keys,
            LIMITS.max_keys_per_rule
        );
    }
    engine.expire(ts.saturating_add(86_400_000_000_000));
    let st = engine.stats();
    assert_eq!(st.ops, evaluated);
}

#[test]
fn behaviour_rules_fuzz() {
    let seeds = seeds();
    assert!(seeds.len() > 5, "seed rule files not found");
    bolero::check!()
        .with_type::<(Vec<u8>, Vec<u8>)>()
        .with_iterations(ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|(text, ops)| run_one(text, ops, &seeds));
    eprintln!(
        "behaviour_rules_fuzz: {} inputs, {} rule sets loaded, {} hits",
        TRIED.load(Relaxed),
        LOADED.load(Relaxed),
        HITS.load(Relaxed)
    );
}

/// Every seed loads or fails cleanly, and loaded seeds run a fixed op mix.
#[test]
fn behaviour_rules_seeds() {
    let seeds = seeds();
    let ops: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    for i in 0..seeds.len() {
        let mut text = vec![2u8];
        text.extend_from_slice(&(i as u16).to_be_bytes());
        run_one(&text, &ops, &seeds);
    }
}
