//! Tests of the language and the engine, table-driven where they can be.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::*;
use crate::ot::{Attr, Op, OpClass};

/// 2024-01-01 00:00:00 UTC, a Monday.
const MONDAY: u64 = 1_704_067_200;
const S: u64 = 1_000_000_000;

fn vars() -> HashMap<String, Vec<ipnet::IpNet>> {
    let mut v = HashMap::new();
    v.insert(
        "ENGINEERING_WS".to_string(),
        vec!["10.1.2.0/28".parse().unwrap()],
    );
    v.insert(
        "$OT_NET".to_string(),
        vec!["10.0.0.0/16".parse().unwrap(), "fd00::/64".parse().unwrap()],
    );
    v
}

fn build(yaml: &str) -> RuleSet {
    match RuleSet::builder()
        .add_source("test.yaml", yaml)
        .vars(vars())
        .build()
    {
        Ok(set) => set,
        Err(errors) => panic!("{}", errors_text(&errors)),
    }
}

fn errors_text(errors: &[RuleError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn build_err(yaml: &str) -> Vec<String> {
    match RuleSet::builder()
        .add_source("bad.yaml", yaml)
        .vars(vars())
        .build()
    {
        Ok(set) => panic!("expected errors, got {} rules", set.len()),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Context at `secs` after MONDAY from `src` to `dst` (empty: none).
fn cx(secs: u64, src: &str, dst: &str) -> Ctx {
    Ctx {
        ts_ns: (MONDAY + secs) * S,
        src: (!src.is_empty()).then(|| ip(src)),
        dst: (!dst.is_empty()).then(|| ip(dst)),
        sport: 50_000,
        dport: 502,
        src_mac: None,
        dst_mac: None,
        flow_id: 7,
    }
}

fn op(proto: &'static str, function: &'static str, code: u32, class: OpClass) -> Op {
    Op::new(proto, function, code, class)
}

struct Harness {
    engine: Engine,
    hits: Vec<Hit>,
}

impl Harness {
    fn new(yaml: &str) -> Harness {
        Harness {
            engine: Engine::new(Arc::new(build(yaml))),
            hits: Vec::new(),
        }
    }

    /// Ids of the rules the op fires.
    fn ids(&mut self, op: &Op, ctx: &Ctx) -> Vec<u32> {
        self.hits.clear();
        self.engine.eval(op, ctx, &mut self.hits);
        self.hits.iter().map(|h| h.rule.id()).collect()
    }
}

// ----- single-op conditions ---------------------------------------------

const MATCH_RULES: &str = r#"
- {id: 1, name: proto, severity: low, match: {proto: dnp3}}
- {id: 2, name: proto list, severity: low, match: {proto: [bacnet, fins]}}
- {id: 3, name: function, severity: low, match: {proto: modbus, function: write_single_register}}
- {id: 4, name: function glob, severity: low, match: {proto: modbus, function: "write_*_coils"}}
- {id: 5, name: code hex range, severity: low, match: {proto: modbus, code: "0x0f-0x10"}}
- {id: 6, name: code list, severity: low, match: {proto: modbus, code: [5, 6]}}
- {id: 7, name: class, severity: low, match: {proto: s7comm, class: mode_change}}
- {id: 8, name: unit range, severity: low, match: {proto: modbus, unit: "200-210"}}
- {id: 9, name: address overlap, severity: low, match: {proto: modbus, address: "40000-40100"}}
- {id: 10, name: value, severity: low, match: {proto: modbus, value: ">1000"}}
- {id: 11, name: value list, severity: low, match: {proto: modbus, value: [-5, "7.5-8"]}}
- {id: 12, name: object glob, severity: low, match: {proto: mms, object: "LLN0$*"}}
- {id: 13, name: status any, severity: low, match: {proto: enip, status: any}}
- {id: 14, name: status none, severity: low, match: {proto: enip, status: none}}
- {id: 15, name: status codes, severity: low, match: {proto: enip, status: [8, "0x1e"]}}
- {id: 16, name: response only, severity: low, match: {proto: dnp3, response_only: true}}
- {id: 17, name: attrs, severity: low, match: {proto: iec104, attrs: {cot: 6, test: true}}}
- {id: 18, name: attrs glob cmp, severity: low, match: {proto: goose, attrs: {go_id: "X*", st_num: ">100"}}}
- {id: 19, name: src cidr, severity: low, match: {proto: opcua}, src: 10.9.0.0/16}
- {id: 20, name: src not eng, severity: low, match: {proto: s7comm, function: plc_stop}, src: "!$ENGINEERING_WS"}
- {id: 21, name: dst list, severity: low, match: {proto: fins}, dst: ["$OT_NET", "!10.0.5.0/24"]}
- {id: 22, name: no proto, severity: low, match: {class: restart}}
- {id: 23, name: any src, severity: low, match: {proto: goose}, src: any}
- {id: 24, name: ip range, severity: low, match: {proto: hart_ip}, src: "10.0.0.10-10.0.0.20"}
- {id: 25, name: suricata list, severity: low, match: {proto: fox}, src: "[10.0.0.0/8, !$OT_NET, 10.0.7.7]"}
- {id: 26, name: v6, severity: low, match: {proto: c37118}, dst: "$OT_NET"}
"#;

#[test]
fn every_match_key_fires_and_stays_silent() {
    let mut h = Harness::new(MATCH_RULES);
    let a = "10.0.0.1";
    let b = "10.0.0.2";
    let with = |mut o: Op, f: &dyn Fn(&mut Op)| {
        f(&mut o);
        o
    };
    let modbus = |f, c| op("modbus", f, c, OpClass::Write);
    let read = op("modbus", "read_holding_registers", 3, OpClass::Read);
    let enip = op("enip", "get_attribute_single", 0x0e, OpClass::Read);
    let iec = op("iec104", "c_sc_na_1", 45, OpClass::Command);
    let goose = op("goose", "publish", 0, OpClass::Report);
    let stop = op("s7comm", "plc_stop", 0x29, OpClass::ModeChange);
    let no_ip = Ctx {
        src_mac: Some([1, 2, 3, 4, 5, 6]),
        dst_mac: Some([1, 0x0c, 0xcd, 1, 0, 1]),
        ..cx(0, "", "")
    };
    #[rustfmt::skip]
    let table: Vec<(&str, Op, Ctx, Vec<u32>)> = vec![
        ("proto", op("dnp3", "read", 1, OpClass::Read), cx(0, a, b), vec![1]),
        ("response only", with(op("dnp3", "unsolicited_response", 130, OpClass::Report), &|o| o.response_only = true), cx(0, a, b), vec![1, 16]),
        ("proto list", op("bacnet", "who_is", 8, OpClass::Discovery), cx(0, a, b), vec![2]),
        ("other proto", op("profinet_dcp", "identify", 5, OpClass::Discovery), cx(0, a, b), vec![]),
        ("function + code list", modbus("write_single_register", 6), cx(0, a, b), vec![3, 6]),
        ("glob + hex range", modbus("write_multiple_coils", 15), cx(0, a, b), vec![4, 5]),
        ("hex range end", modbus("write_multiple_registers", 16), cx(0, a, b), vec![5]),
        ("unit range", with(read.clone(), &|o| o.unit = Some(205)), cx(0, a, b), vec![8]),
        ("unit outside", with(read.clone(), &|o| o.unit = Some(211)), cx(0, a, b), vec![]),
        ("no unit", read.clone(), cx(0, a, b), vec![]),
        ("address overlaps end", with(read.clone(), &|o| { o.address = Some(40090); o.quantity = Some(20) }), cx(0, a, b), vec![9]),
        ("address overlaps start", with(read.clone(), &|o| { o.address = Some(39990); o.quantity = Some(11) }), cx(0, a, b), vec![9]),
        ("address just before", with(read.clone(), &|o| { o.address = Some(39990); o.quantity = Some(10) }), cx(0, a, b), vec![]),
        ("address after", with(read.clone(), &|o| { o.address = Some(40101); o.quantity = Some(5) }), cx(0, a, b), vec![]),
        ("address no quantity", with(read.clone(), &|o| o.address = Some(40100)), cx(0, a, b), vec![9]),
        ("value >", with(read.clone(), &|o| o.values = vec![5.0, 1001.0]), cx(0, a, b), vec![10]),
        ("value = 1000", with(read.clone(), &|o| o.values = vec![1000.0]), cx(0, a, b), vec![]),
        ("value list eq", with(read.clone(), &|o| o.values = vec![-5.0]), cx(0, a, b), vec![11]),
        ("value list range", with(read.clone(), &|o| o.values = vec![7.7]), cx(0, a, b), vec![11]),
        ("object glob", with(op("mms", "write", 5, OpClass::Write), &|o| o.object = Some("LLN0$ST$Mod".into())), cx(0, a, b), vec![12]),
        ("object other", with(op("mms", "write", 5, OpClass::Write), &|o| o.object = Some("LLN1$ST".into())), cx(0, a, b), vec![]),
        ("object none", op("mms", "write", 5, OpClass::Write), cx(0, a, b), vec![]),
        ("status 8", with(enip.clone(), &|o| o.status = Some(8)), cx(0, a, b), vec![13, 15]),
        ("status 0x1e", with(enip.clone(), &|o| o.status = Some(0x1e)), cx(0, a, b), vec![13, 15]),
        ("status 1", with(enip.clone(), &|o| o.status = Some(1)), cx(0, a, b), vec![13]),
        ("status none", enip.clone(), cx(0, a, b), vec![14]),
        ("attrs", with(iec.clone(), &|o| o.attrs = vec![("cot", Attr::Int(6)), ("test", Attr::Bool(true))]), cx(0, a, b), vec![17]),
        ("attrs wrong int", with(iec.clone(), &|o| o.attrs = vec![("cot", Attr::Int(7)), ("test", Attr::Bool(true))]), cx(0, a, b), vec![]),
        ("attrs wrong bool", with(iec.clone(), &|o| o.attrs = vec![("cot", Attr::Int(6)), ("test", Attr::Bool(false))]), cx(0, a, b), vec![]),
        ("attrs missing", with(iec.clone(), &|o| o.attrs = vec![("cot", Attr::Int(6))]), cx(0, a, b), vec![]),
        ("attrs text 6", with(iec.clone(), &|o| o.attrs = vec![("cot", Attr::Str("6".into())), ("test", Attr::Bool(true))]), cx(0, a, b), vec![17]),
        ("attrs glob + cmp, layer 2", with(goose.clone(), &|o| o.attrs = vec![("go_id", Attr::Str("Xfeeder".into())), ("st_num", Attr::Int(101))]), no_ip, vec![18, 23]),
        ("attrs cmp fails", with(goose.clone(), &|o| o.attrs = vec![("go_id", Attr::Str("Xfeeder".into())), ("st_num", Attr::Int(100))]), no_ip, vec![23]),
        ("attrs glob fails", with(goose.clone(), &|o| o.attrs = vec![("go_id", Attr::Str("Yfeeder".into())), ("st_num", Attr::Int(101))]), no_ip, vec![23]),
        ("src cidr", op("opcua", "write", 673, OpClass::Write), cx(0, "10.9.1.1", b), vec![19]),
        ("src outside", op("opcua", "write", 673, OpClass::Write), cx(0, "10.8.1.1", b), vec![]),
        ("stop from eng ws", stop.clone(), cx(0, "10.1.2.3", b), vec![7]),
        ("stop from elsewhere", stop.clone(), cx(0, "10.1.2.20", b), vec![7, 20]),
        ("stop without ip", stop.clone(), no_ip, vec![7]),
        ("dst in var", op("fins", "memory_area_write", 0x0102, OpClass::Write), cx(0, a, "10.0.1.1"), vec![2, 21]),
        ("dst in negated part", op("fins", "memory_area_write", 0x0102, OpClass::Write), cx(0, a, "10.0.5.1"), vec![2]),
        ("dst outside var", op("fins", "memory_area_write", 0x0102, OpClass::Write), cx(0, a, "192.168.1.1"), vec![2]),
        ("protocol-less rule", op("dnp3", "cold_restart", 13, OpClass::Restart), cx(0, a, b), vec![1, 22]),
        ("protocol-less rule, other proto", op("profinet_dcp", "reset", 5, OpClass::Restart), cx(0, a, b), vec![22]),
        ("ip range", op("hart_ip", "read", 3, OpClass::Read), cx(0, "10.0.0.15", b), vec![24]),
        ("ip range outside", op("hart_ip", "read", 3, OpClass::Read), cx(0, "10.0.0.21", b), vec![]),
        ("list: in 10/8, not OT_NET", op("fox", "hello", 0, OpClass::Session), cx(0, "10.5.0.1", b), vec![25]),
        ("list: in OT_NET", op("fox", "hello", 0, OpClass::Session), cx(0, "10.0.3.1", b), vec![]),
        ("list: negation wins over 10.0.7.7", op("fox", "hello", 0, OpClass::Session), cx(0, "10.0.7.7", b), vec![]),
        ("v6 in var", op("c37118", "data", 0, OpClass::Report), cx(0, "fd00::1", "fd00::2"), vec![26]),
        ("v6 outside", op("c37118", "data", 0, OpClass::Report), cx(0, "fd00::1", "fd01::2"), vec![]),
    ];
    for (what, o, c, want) in table {
        assert_eq!(h.ids(&o, &c), want, "{what}");
    }
}

#[test]
fn plain_hits_carry_what_an_eve_alert_needs() {
    let mut h = Harness::new(
        r#"
pack: { name: ot/s7comm, description: S7 rules }
rules:
  - id: 9200001
    name: "S7 PLC stop from a host that is not an engineering workstation"
    severity: high
    attack: [T0816, T0858]
    reference: [https://attack.mitre.org/techniques/T0816/]
    match: { proto: s7comm, function: plc_stop }
    src: "!$ENGINEERING_WS"
"#,
    );
    let mut o = op("s7comm", "plc_stop", 0x29, OpClass::ModeChange);
    o.unit = Some(2);
    assert_eq!(h.ids(&o, &cx(5, "10.9.9.9", "10.0.0.9")), vec![9200001]);
    let hit = &h.hits[0];
    assert_eq!(hit.rule.severity().eve(), 1);
    assert_eq!(hit.rule.attack(), ["T0816", "T0858"]);
    assert_eq!(
        hit.rule.references(),
        ["https://attack.mitre.org/techniques/T0816/"]
    );
    assert_eq!(hit.rule.pack(), Some("ot/s7comm"));
    assert_eq!(hit.rule.kind(), "plain");
    assert_eq!((hit.rule.file(), hit.rule.line()), ("test.yaml", 4));
    assert_eq!(hit.count, 1);
    assert_eq!(hit.first_ts_ns, (MONDAY + 5) * S);
    assert_eq!(
        hit.key,
        Key::Pair(Endpoint::Ip(ip("10.9.9.9")), Endpoint::Ip(ip("10.0.0.9")))
    );
    assert_eq!(
        hit.reason,
        "s7comm plc_stop from 10.9.9.9 to 10.0.0.9 unit 2"
    );
    // Plain rules do not suppress by default.
    assert_eq!(h.ids(&o, &cx(6, "10.9.9.9", "10.0.0.9")), vec![9200001]);
}

#[test]
fn allow_entries_are_exceptions() {
    let mut h = Harness::new(
        r#"
- id: 70
  name: writes to PLCs
  severity: low
  match: {proto: modbus, class: write}
  allow:
    - {src: 10.1.2.3, function: write_single_register}
    - {src: "$ENGINEERING_WS", unit: 1}
    - {dst: 10.0.0.99, when: {hours: "08:00-17:00", days: weekdays}}
"#,
    );
    let single = op("modbus", "write_single_register", 6, OpClass::Write);
    let mut multi = op("modbus", "write_multiple_registers", 16, OpClass::Write);
    multi.unit = Some(2);
    assert_eq!(
        h.ids(&single, &cx(0, "10.1.2.3", "10.0.0.2")),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&multi, &cx(0, "10.1.2.3", "10.0.0.2")), vec![70]);
    multi.unit = Some(1);
    assert_eq!(
        h.ids(&multi, &cx(0, "10.1.2.3", "10.0.0.2")),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&single, &cx(0, "10.5.5.5", "10.0.0.2")), vec![70]);
    // Maintenance window on one device: Monday 09:00 allowed, 18:00 not.
    assert_eq!(
        h.ids(&single, &cx(9 * 3600, "10.5.5.5", "10.0.0.99")),
        Vec::<u32>::new()
    );
    assert_eq!(
        h.ids(&single, &cx(18 * 3600, "10.5.5.5", "10.0.0.99")),
        vec![70]
    );
}

// ----- time windows -------------------------------------------------------

const WHEN_RULES: &str = r#"
- {id: 30, name: night, severity: low, match: {proto: modbus}, when: {hours: "22:00-06:00"}}
- {id: 31, name: friday night, severity: low, match: {proto: modbus}, when: {hours: "22:00-06:00", days: [fri]}}
- id: 32
  name: weekend or weekday evenings
  severity: low
  match: {proto: modbus}
  when: [{days: weekend}, {hours: "18:00-07:00", days: "mon-fri"}]
"#;

fn at(day: u64, h: u64, m: u64) -> u64 {
    day * 86_400 + h * 3600 + m * 60
}

#[test]
fn time_windows_cross_midnight() {
    let mut h = Harness::new(WHEN_RULES);
    let o = op("modbus", "read_coils", 1, OpClass::Read);
    // Day 4 is Friday 2024-01-05.
    #[rustfmt::skip]
    let table = [
        ("Fri 21:59", at(4, 21, 59), vec![32]),
        ("Fri 22:00", at(4, 22, 0), vec![30, 31, 32]),
        ("Sat 02:00 belongs to Friday night", at(5, 2, 0), vec![30, 31, 32]),
        ("Sat 06:00 is past the end", at(5, 6, 0), vec![32]),
        ("Sat 23:00 is Saturday night", at(5, 23, 0), vec![30, 32]),
        ("Mon 03:00 belongs to Sunday night", at(7, 3, 0), vec![30]),
        ("Tue 03:00 belongs to Monday night", at(8, 3, 0), vec![30, 32]),
        ("Wed 12:00", at(9, 12, 0), vec![]),
    ];
    for (what, t, want) in table {
        assert_eq!(h.ids(&o, &cx(t, "10.0.0.1", "10.0.0.2")), want, "{what}");
    }
}

#[test]
fn time_windows_use_the_configured_utc_offset() {
    let set = RuleSet::builder()
        .add_source("w.yaml", WHEN_RULES)
        .utc_offset(9 * 3600)
        .build()
        .unwrap();
    assert_eq!(set.utc_offset(), 9 * 3600);
    let mut engine = Engine::new(Arc::new(set));
    let mut hits = Vec::new();
    // Friday 13:00 UTC is Friday 22:00 at +09:00.
    let o = op("modbus", "read_coils", 1, OpClass::Read);
    engine.eval(&o, &cx(at(4, 13, 0), "10.0.0.1", "10.0.0.2"), &mut hits);
    let ids: Vec<u32> = hits.iter().map(|h| h.rule.id()).collect();
    assert_eq!(ids, vec![30, 31, 32]);
    assert!(RuleSet::builder().utc_offset(90_000).build().is_err());
}

// ----- thresholds -----------------------------------------------------------

#[test]
fn threshold_counts_per_source_and_slides() {
    let mut h = Harness::new(
        "- {id: 40, name: writes, severity: medium, match: {proto: modbus, class: write}, \
         threshold: {count: 3, seconds: 10, by: src}}",
    );
    let w = op("modbus", "write_single_register", 6, OpClass::Write);
    let (a, b, d) = ("10.0.0.1", "10.0.0.2", "10.0.0.9");
    // Interleaved sources count apart.
    assert_eq!(h.ids(&w, &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(0, b, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(1, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(1, b, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(2, a, d)), vec![40]);
    let hit = &h.hits[0];
    assert_eq!(hit.reason, "3 writes in 10 s by 10.0.0.1");
    assert_eq!(hit.count, 3);
    assert_eq!(hit.first_ts_ns, MONDAY * S);
    assert_eq!(hit.last_ts_ns, (MONDAY + 2) * S);
    assert_eq!(hit.key, Key::Src(Endpoint::Ip(ip(a))));
    assert_eq!(h.ids(&w, &cx(2, b, d)), vec![40]);
    // A read does not count.
    let r = op("modbus", "read_coils", 1, OpClass::Read);
    let c = "10.0.0.3";
    assert_eq!(h.ids(&r, &cx(100, c, d)), Vec::<u32>::new());
    // Spread wider than the window: silent; then sliding catches up.
    assert_eq!(h.ids(&w, &cx(100, c, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(106, c, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(112, c, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(114, c, d)), vec![40]);
}

#[test]
fn threshold_suppression_reports_the_held_back_count() {
    let mut h = Harness::new(
        "- {id: 41, name: writes, severity: medium, match: {class: write}, \
         threshold: {count: 2, seconds: 10}}",
    );
    let w = op("modbus", "write_single_register", 6, OpClass::Write);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&w, &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(1, a, d)), vec![41]);
    // Default suppression of 60 s: two more bursts are held back.
    for t in [2, 3, 30, 31] {
        assert_eq!(h.ids(&w, &cx(t, a, d)), Vec::<u32>::new(), "t={t}");
    }
    assert_eq!(h.engine.stats().suppressed, 2);
    assert_eq!(h.ids(&w, &cx(70, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(71, a, d)), vec![41]);
    assert_eq!(h.hits[0].suppressed, 2);
}

#[test]
fn threshold_keys() {
    let mut h = Harness::new(
        r#"
- {id: 1, name: by src, severity: low, threshold: {count: 2, seconds: 60, by: src}, suppress: 0}
- {id: 2, name: by dst, severity: low, threshold: {count: 2, seconds: 60, by: dst}, suppress: 0}
- {id: 3, name: by pair, severity: low, threshold: {count: 2, seconds: 60, by: pair}, suppress: 0}
- {id: 4, name: by src_unit, severity: low, threshold: {count: 2, seconds: 60, by: src_unit}, suppress: 0}
- {id: 5, name: by none, severity: low, threshold: {count: 2, seconds: 60, by: none}, suppress: 0}
- {id: 6, name: by dst_unit, severity: low, threshold: {count: 2, seconds: 60, by: dst_unit}, suppress: 0}
- {id: 7, name: by flow, severity: low, threshold: {count: 2, seconds: 60, by: flow}, suppress: 0}
"#,
    );
    let unit = |u| {
        let mut o = op("modbus", "read_coils", 1, OpClass::Read);
        o.unit = Some(u);
        o
    };
    let flow = |mut c: Ctx, id| {
        c.flow_id = id;
        c
    };
    // Each row is one op; the ids fired follow from which keys repeat.
    let (a, b, x, y) = ("10.0.0.1", "10.0.0.2", "10.0.1.1", "10.0.1.2");
    #[rustfmt::skip]
    let table = [
        (unit(1), flow(cx(0, a, x), 1), vec![]),
        (unit(2), flow(cx(1, b, y), 2), vec![5]),            // anything twice
        (unit(1), flow(cx(2, a, y), 3), vec![1, 2, 4]),      // a, y, a+unit 1 again
        (unit(3), flow(cx(3, b, x), 4), vec![1, 2, 5]),      // b, x again; 2 ops since 5 fired
        (unit(2), flow(cx(4, b, y), 2), vec![3, 4, 6, 7]),   // pair b-y, b+2, y+2, flow 2
    ];
    for (i, (o, c, want)) in table.iter().enumerate() {
        assert_eq!(h.ids(o, c), *want, "row {i}");
    }
}

// ----- distinct -------------------------------------------------------------

#[test]
fn distinct_counts_different_values_in_the_window() {
    let mut h = Harness::new(
        r#"
- {id: 50, name: unit scan, severity: medium, match: {proto: modbus}, distinct: {field: unit, count: 4, seconds: 60, by: src}}
- {id: 51, name: host scan, severity: medium, match: {proto: modbus}, distinct: {field: dst, count: 3, seconds: 60}}
"#,
    );
    let unit = |u| {
        let mut o = op("modbus", "read_coils", 1, OpClass::Read);
        o.unit = Some(u);
        o
    };
    let (a, b, d) = ("10.0.0.1", "10.0.0.2", "10.0.0.9");
    // Repeats do not count; another source does not add up.
    for (t, u) in [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3)] {
        assert_eq!(h.ids(&unit(u), &cx(t, a, d)), Vec::<u32>::new(), "t={t}");
    }
    assert_eq!(h.ids(&unit(4), &cx(5, b, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&unit(4), &cx(6, a, d)), vec![50]);
    assert_eq!(h.hits[0].reason, "4 distinct units in 60 s by 10.0.0.1");
    assert_eq!(h.hits[0].first_ts_ns, (MONDAY + 1) * S);
    // Values older than the window drop out.
    let c = "10.0.0.3";
    for (t, u) in [(100, 1), (101, 2), (102, 3)] {
        assert_eq!(h.ids(&unit(u), &cx(t, c, d)), Vec::<u32>::new());
    }
    assert_eq!(h.ids(&unit(4), &cx(200, c, d)), Vec::<u32>::new());
    // Ops without the field are not counted.
    let no_unit = op("modbus", "read_coils", 1, OpClass::Read);
    assert_eq!(h.ids(&no_unit, &cx(201, c, d)), Vec::<u32>::new());
    // Destinations by source (a host scan).
    let e = "10.0.0.4";
    assert_eq!(h.ids(&no_unit, &cx(300, e, "10.0.2.1")), Vec::<u32>::new());
    assert_eq!(h.ids(&no_unit, &cx(301, e, "10.0.2.2")), Vec::<u32>::new());
    assert_eq!(h.ids(&no_unit, &cx(302, e, "10.0.2.2")), Vec::<u32>::new());
    assert_eq!(h.ids(&no_unit, &cx(303, e, "10.0.2.3")), vec![51]);
    assert_eq!(
        h.hits[0].reason,
        "3 distinct destinations in 60 s by 10.0.0.4"
    );
}

// ----- sequences ------------------------------------------------------------

const SEQ_RULE: &str = r#"
- id: 60
  name: stop, download, start
  severity: high
  attack: [T0843]
  sequence:
    by: src
    within: 600
    steps:
      - match: {proto: s7comm, function: plc_stop}
      - match: {proto: s7comm, class: download}
      - match: {proto: s7comm, function: plc_start}
"#;

fn s7(f: &'static str) -> Op {
    match f {
        "plc_stop" => op("s7comm", f, 0x29, OpClass::ModeChange),
        "plc_start" => op("s7comm", f, 0x28, OpClass::ModeChange),
        _ => op("s7comm", f, 0x1a, OpClass::Download),
    }
}

#[test]
fn sequence_in_order_fires() {
    let mut h = Harness::new(SEQ_RULE);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&s7("plc_stop"), &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(10, a, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(20, a, d)), vec![60]);
    let hit = &h.hits[0];
    assert_eq!(
        hit.reason,
        "plc_stop -> download -> plc_start within 20 s by 10.0.0.1"
    );
    assert_eq!((hit.count, hit.first_ts_ns), (3, MONDAY * S));
    assert_eq!(hit.rule.kind(), "sequence");
}

#[test]
fn sequence_out_of_order_is_silent_until_in_order() {
    let mut h = Harness::new(SEQ_RULE);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&s7("plc_start"), &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(1, a, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_stop"), &cx(2, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("plc_start"), &cx(3, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(4, a, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(5, a, d)), vec![60]);
    // Another host's steps do not complete this host's chain.
    let b = "10.0.0.2";
    assert_eq!(h.ids(&s7("plc_stop"), &cx(10, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(11, b, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(12, a, d)), Vec::<u32>::new());
}

#[test]
fn sequence_deadline_expires_and_restarts() {
    let mut h = Harness::new(SEQ_RULE);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&s7("plc_stop"), &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(10, a, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(700, a, d)), Vec::<u32>::new());
    // A later stop starts a chain of its own: the latest start is kept.
    let b = "10.0.0.2";
    assert_eq!(h.ids(&s7("plc_stop"), &cx(1000, b, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("plc_stop"), &cx(1500, b, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(1550, b, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(2000, b, d)), vec![60]);
    assert_eq!(h.hits[0].first_ts_ns, (MONDAY + 1500) * S);
    // Exactly at the deadline still counts; one second later does not.
    let c = "10.0.0.3";
    assert_eq!(h.ids(&s7("plc_stop"), &cx(3000, c, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(3001, c, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(3600, c, d)), vec![60]);
    let e = "10.0.0.4";
    assert_eq!(h.ids(&s7("plc_stop"), &cx(4000, e, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(4001, e, d)),
        Vec::<u32>::new()
    );
    assert_eq!(h.ids(&s7("plc_start"), &cx(4601, e, d)), Vec::<u32>::new());
}

#[test]
fn sequence_one_op_completes_one_step() {
    let mut h = Harness::new(
        r#"
- id: 61
  name: two writes to a server, then a restart
  severity: medium
  match: {proto: modbus}
  sequence:
    by: dst
    within: 60
    steps:
      - match: {class: write}
      - match: {class: write}
        src: "!$ENGINEERING_WS"
      - match: {class: restart}
"#,
    );
    let w = op("modbus", "write_single_register", 6, OpClass::Write);
    let r = op("modbus", "restart_communications", 8, OpClass::Restart);
    let other = op("dnp3", "cold_restart", 13, OpClass::Restart);
    let d = "10.0.0.9";
    assert_eq!(h.ids(&w, &cx(0, "10.0.0.1", d)), Vec::<u32>::new());
    // The rule-level match (modbus) applies to every step.
    assert_eq!(h.ids(&other, &cx(1, "10.0.0.1", d)), Vec::<u32>::new());
    assert_eq!(h.ids(&r, &cx(2, "10.0.0.1", d)), Vec::<u32>::new());
    // Second write from an engineering workstation: the step's src fails.
    assert_eq!(h.ids(&w, &cx(3, "10.1.2.1", d)), Vec::<u32>::new());
    assert_eq!(h.ids(&r, &cx(4, "10.0.0.1", d)), Vec::<u32>::new());
    // From elsewhere (by dst: any client) it completes step 2.
    assert_eq!(h.ids(&w, &cx(5, "10.0.0.2", d)), Vec::<u32>::new());
    assert_eq!(h.ids(&r, &cx(6, "10.0.0.3", d)), vec![61]);
    assert_eq!(h.hits[0].key, Key::Dst(Endpoint::Ip(ip(d))));
    // The chain starts at the latest first step (t=3).
    assert_eq!(
        h.hits[0].reason,
        "write -> write -> restart within 3 s by 10.0.0.9"
    );
}

// ----- suppression, enabling, packs -----------------------------------------

#[test]
fn plain_suppression_by_key() {
    let mut h = Harness::new(
        "- {id: 80, name: stop, severity: high, match: {proto: s7comm, function: plc_stop}, \
         suppress: {seconds: 300, by: src}}",
    );
    let o = s7("plc_stop");
    let (a, b) = ("10.0.0.1", "10.0.0.2");
    assert_eq!(h.ids(&o, &cx(0, a, "10.0.0.9")), vec![80]);
    assert_eq!(h.ids(&o, &cx(10, a, "10.0.0.8")), Vec::<u32>::new());
    assert_eq!(h.ids(&o, &cx(20, b, "10.0.0.9")), vec![80]);
    assert_eq!(h.ids(&o, &cx(301, a, "10.0.0.9")), vec![80]);
    assert_eq!(h.hits[0].suppressed, 1);
    assert_eq!(h.hits[0].key, Key::Src(Endpoint::Ip(ip(a))));
    assert!(h.hits[0]
        .reason
        .starts_with("s7comm plc_stop from 10.0.0.1"));
}

#[test]
fn enabled_disabled_packs_and_rules() {
    let pack = "- {id: 1, name: a, severity: low, match: {proto: modbus}}\n\
                - {id: 2, name: b, severity: low, match: {proto: modbus}}\n";
    let named = "pack: {name: ot/s7comm, version: '1'}\nrules:\n  \
                 - {id: 3, name: c, severity: low, match: {proto: s7comm}}\n";
    let local = "- {id: 4, name: d, severity: low, match: {proto: modbus}}\n\
                 - {id: 5, name: e, severity: low, enabled: false, match: {proto: modbus}}\n\
                 - {id: 6, name: f, severity: low, match: {proto: modbus}}\n";
    let set = RuleSet::builder()
        .add_source("pack:ot/modbus.yaml", pack)
        .add_source("pack:ot/other.yaml", named)
        .add_source("/etc/sensor/local.yaml", local)
        .build()
        .unwrap();
    let ids: Vec<u32> = set.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 6]);
    assert_eq!(set.disabled(), 1);
    assert_eq!(set.get(1).and_then(|r| r.pack()), Some("ot/modbus"));
    assert_eq!(set.get(3).and_then(|r| r.pack()), Some("ot/s7comm"));
    assert_eq!(set.get(4).and_then(|r| r.pack()), None);

    let set = RuleSet::builder()
        .add_source("pack:ot/modbus.yaml", pack)
        .add_source("pack:ot/other.yaml", named)
        .add_source("/etc/sensor/local.yaml", local)
        .disable_pack("ot")
        .disable_rule(6)
        .build()
        .unwrap();
    let ids: Vec<u32> = set.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, vec![4]);
    assert_eq!(set.disabled(), 5);

    // A disabled pack's rules are not checked (it may use variables the
    // site does not define), and its ids may be reused.
    let set = RuleSet::builder()
        .add_source(
            "pack:ot/x.yaml",
            "- {id: 4, name: x, severity: low, src: $UNDEFINED}",
        )
        .add_source("/etc/sensor/local.yaml", local)
        .disable_pack("ot/x")
        .build()
        .unwrap();
    assert_eq!(set.len(), 2);
    assert!(compile::pack_in("ot/x", "ot/") && !compile::pack_in("otx/y", "ot"));
}

#[test]
fn file_forms_multi_document_and_anchors() {
    let set = build(
        r#"
# a comment
- id: 1
  name: first
  severity: low
---
rules:
  - &base
    id: 2
    name: base
    severity: low
    match: {proto: modbus}
  - <<: *base
    id: 3
    name: merged
---
"#,
    );
    let ids: Vec<(u32, u32)> = set.rules().iter().map(|r| (r.id(), r.line())).collect();
    assert_eq!(ids, vec![(1, 3), (2, 9), (3, 14)]);
    assert_eq!(set.get(3).map(|r| r.severity()), Some(Severity::Low));
    assert_eq!(set.get(3).map(|r| r.name()), Some("merged"));
    assert!(build("").is_empty());
    assert!(build("rules: []").is_empty());
}

#[test]
fn protocol_index_only_tries_rules_of_the_protocol() {
    let set = build(MATCH_RULES);
    let ids = |proto, class| -> Vec<u32> {
        set.candidates(proto, class)
            .iter()
            .map(|&i| set.rules()[i as usize].id())
            .collect()
    };
    assert_eq!(ids("modbus", OpClass::Read), vec![3, 4, 5, 6, 8, 9, 10, 11]);
    assert_eq!(
        ids("modbus", OpClass::Restart),
        vec![3, 4, 5, 6, 8, 9, 10, 11, 22]
    );
    assert_eq!(ids("s7comm", OpClass::Read), vec![20]);
    assert_eq!(ids("s7comm", OpClass::ModeChange), vec![7, 20]);
    assert_eq!(ids("nonesuch", OpClass::Read), Vec::<u32>::new());
    assert_eq!(ids("nonesuch", OpClass::Restart), vec![22]);
    // A sequence is indexed under the protocols and classes of its steps.
    let set = build(SEQ_RULE);
    let ids = |proto, class| set.candidates(proto, class).len();
    assert_eq!(ids("s7comm", OpClass::ModeChange), 1);
    assert_eq!(ids("s7comm", OpClass::Download), 1);
    assert_eq!(ids("s7comm", OpClass::Read), 1);
    assert_eq!(ids("modbus", OpClass::ModeChange), 0);
    let set = build(
        "- {id: 1, name: s, severity: low, sequence: {within: 9, steps: \
         [{match: {class: write}}, {match: {class: restart}}]}}",
    );
    assert_eq!(set.candidates("modbus", OpClass::Write).len(), 1);
    assert_eq!(set.candidates("modbus", OpClass::Read).len(), 0);
}

#[test]
fn ruleset_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
    check::<Arc<RuleSet>>();
    check::<Hit>();
    fn send<T: Send>() {}
    send::<Engine>();
}

// ----- hot reload -------------------------------------------------------------

#[test]
fn reload_keeps_state_of_rules_that_remain() {
    let rules = |seconds: u32, extra: &str| {
        Arc::new(build(&format!(
            "- {{id: 40, name: writes, severity: low, match: {{class: write}}, \
             threshold: {{count: 3, seconds: {seconds}}}}}\n\
             - {{id: 80, name: stop, severity: high, match: {{function: plc_stop}}, suppress: 300}}\n{extra}"
        )))
    };
    let w = op("modbus", "write_single_register", 6, OpClass::Write);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    let mut h = Harness {
        engine: Engine::new(rules(60, "")),
        hits: Vec::new(),
    };
    assert_eq!(h.ids(&w, &cx(0, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(1, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("plc_stop"), &cx(1, a, d)), vec![80]);
    // Same rules (another rule added in front): counters and suppression kept.
    h.engine.set_ruleset(Arc::new(build(
        "- {id: 9, name: new, severity: low, match: {proto: bacnet}}\n\
         - {id: 40, name: writes (renamed), severity: low, match: {class: write}, \
         threshold: {count: 3, seconds: 60}}\n\
         - {id: 80, name: stop, severity: high, match: {function: plc_stop}, suppress: 300}\n",
    )));
    assert_eq!(h.ids(&s7("plc_stop"), &cx(2, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(2, a, d)), vec![40]);
    assert_eq!(h.hits[0].rule.name(), "writes (renamed)");
    // Changed window: the threshold starts over; suppression stays.
    assert_eq!(h.ids(&w, &cx(100, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(101, a, d)), Vec::<u32>::new());
    h.engine.set_ruleset(rules(30, ""));
    assert_eq!(h.ids(&w, &cx(102, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("plc_stop"), &cx(103, a, d)), Vec::<u32>::new());
    // Removed and re-added: everything starts over.
    h.engine
        .set_ruleset(Arc::new(build("- {id: 1, name: x, severity: low}")));
    assert_eq!(h.engine.stats().keys, 0);
    h.engine.set_ruleset(rules(30, ""));
    assert_eq!(h.ids(&s7("plc_stop"), &cx(104, a, d)), vec![80]);
}

// ----- bounded state ----------------------------------------------------------

#[test]
fn state_stays_bounded_under_a_million_keys() {
    let set = Arc::new(build(
        r#"
- {id: 1, name: t, severity: low, match: {proto: modbus}, threshold: {count: 1000, seconds: 3600, by: pair}}
- {id: 2, name: d, severity: low, match: {proto: modbus}, distinct: {field: address, count: 5000, seconds: 3600, by: src}}
- {id: 3, name: s, severity: low, sequence: {by: src, within: 3600, steps: [{match: {class: read}}, {match: {class: write}}]}}
"#,
    ));
    let limits = EngineLimits {
        max_keys_per_rule: 1000,
        max_values_per_rule: 20_000,
    };
    let mut engine = Engine::with_limits(set, limits);
    let mut hits = Vec::new();
    let mut o = op("modbus", "read_coils", 1, OpClass::Read);
    for i in 0..1_000_000u32 {
        o.address = Some(i % 7919);
        let c = Ctx {
            ts_ns: (MONDAY + u64::from(i / 1000)) * S,
            src: Some(IpAddr::V4((0x0a00_0000 + i).into())),
            dst: Some(IpAddr::V4((0x0b00_0000 + (i % 3)).into())),
            ..Ctx::default()
        };
        engine.eval(&o, &c, &mut hits);
        if i % 100_000 == 0 {
            assert!(engine.stats().keys <= 3000);
            assert!(engine.values_held() <= 20_000);
        }
    }
    let st = engine.stats();
    assert!(hits.is_empty());
    assert_eq!(st.ops, 1_000_000);
    assert_eq!(st.keys, 3000, "{st:?}");
    assert_eq!(st.evicted_keys, 3 * (1_000_000 - 1000), "{st:?}");
    assert!(engine.values_held() <= 20_000);
    // Idle keys go once their windows have passed.
    assert_eq!(engine.expire((MONDAY + 999 + 3660) * S), 0);
    assert_eq!(engine.expire((MONDAY + 999 + 3661) * S), 3000);
    assert_eq!(engine.stats().keys, 0);
    assert_eq!(engine.values_held(), 0);
}

#[test]
fn distinct_values_bound_evicts_whole_keys() {
    let set = Arc::new(build(
        "- {id: 2, name: d, severity: low, distinct: {field: address, count: 10000, seconds: 3600, by: src}}",
    ));
    let limits = EngineLimits {
        max_keys_per_rule: 100,
        max_values_per_rule: 500,
    };
    let mut engine = Engine::with_limits(set, limits);
    let mut hits = Vec::new();
    let mut o = op("modbus", "read_coils", 1, OpClass::Read);
    for i in 0..10_000u32 {
        o.address = Some(i);
        let c = Ctx {
            ts_ns: (MONDAY + u64::from(i)) * S,
            src: Some(IpAddr::V4((0x0a00_0000 + i % 5).into())),
            ..Ctx::default()
        };
        engine.eval(&o, &c, &mut hits);
        assert!(engine.values_held() <= 500);
    }
    assert!(engine.stats().evicted_keys > 0);
}

#[test]
fn expired_keys_make_room_as_traffic_moves_on() {
    let set = Arc::new(build(
        "- {id: 1, name: t, severity: low, threshold: {count: 100, seconds: 10, by: src}, suppress: 0}",
    ));
    let mut engine = Engine::new(set);
    let mut hits = Vec::new();
    let o = op("modbus", "read_coils", 1, OpClass::Read);
    for i in 0..10_000u32 {
        let c = Ctx {
            ts_ns: (MONDAY + u64::from(i)) * S,
            src: Some(IpAddr::V4((0x0a00_0000 + i).into())),
            ..Ctx::default()
        };
        engine.eval(&o, &c, &mut hits);
    }
    let st = engine.stats();
    assert!(st.keys <= 12, "{st:?}");
    assert_eq!(st.evicted_keys, 0);
    assert!(st.expired_keys >= 9_988, "{st:?}");
}

#[test]
fn time_going_backwards_is_harmless() {
    let mut h = Harness::new(
        "- {id: 40, name: writes, severity: low, match: {class: write}, threshold: {count: 3, seconds: 10}}",
    );
    let w = op("modbus", "write_single_register", 6, OpClass::Write);
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&w, &cx(1000, a, d)), Vec::<u32>::new());
    // Slightly late ops count; very late ones are counted as late.
    assert_eq!(h.ids(&w, &cx(995, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(980, a, d)), Vec::<u32>::new());
    assert_eq!(h.engine.stats().late_ops, 1);
    assert_eq!(h.ids(&w, &cx(1001, a, d)), vec![40]);
    // A capture from an earlier time: the key starts over (window and
    // suppression), so three new writes fire again.
    assert_eq!(h.ids(&w, &cx(10, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(11, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&w, &cx(12, a, d)), vec![40]);
}

#[test]
fn time_going_far_back_starts_distinct_and_sequence_keys_over() {
    let mut h = Harness::new(&format!(
        "{SEQ_RULE}- {{id: 50, name: d, severity: low, match: {{proto: s7comm}}, \
         distinct: {{field: function, count: 3, seconds: 60}}}}\n"
    ));
    let (a, d) = ("10.0.0.1", "10.0.0.9");
    assert_eq!(h.ids(&s7("plc_stop"), &cx(10_000, a, d)), Vec::<u32>::new());
    assert_eq!(
        h.ids(&s7("download_block"), &cx(10_001, a, d)),
        Vec::<u32>::new()
    );
    // Another capture, a day earlier: neither the chain nor the two
    // functions seen carry over.
    assert_eq!(h.ids(&s7("plc_start"), &cx(100, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("plc_stop"), &cx(101, a, d)), Vec::<u32>::new());
    assert_eq!(h.ids(&s7("download_block"), &cx(102, a, d)), vec![50]);
    assert_eq!(h.ids(&s7("plc_start"), &cx(103, a, d)), vec![60]);
}

// ----- errors -------------------------------------------------------------------

/// What a bad file must give: a name for the case, the file, and its
/// errors as (`file:line:col:` prefix, message substring).
type ErrorCase = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Each bad file gives exactly these `file:line:col: message` errors.
#[test]
fn every_error_names_file_line_and_column() {
    #[rustfmt::skip]
    let cases: &[ErrorCase] = &[
        ("yaml syntax",
         "- id: 1\n  name: [x\n",
         &[("bad.yaml:3:1:", "YAML syntax")]),
        ("unknown rule key",
         "- id: 1\n  name: x\n  severity: low\n  thresold: {count: 1}\n",
         &[("bad.yaml:4:3:", "unknown key `thresold` in a rule; did you mean `threshold`?")]),
        ("unknown match key",
         "- id: 1\n  name: x\n  severity: low\n  match: {proto: modbus, fc: 5}\n",
         &[("bad.yaml:4:26:", "unknown key `fc` in `match:`")]),
        ("wrong type",
         "- id: 1\n  name: x\n  severity: low\n  threshold: {count: ten, seconds: 5}\n",
         &[("bad.yaml:4:22:", "`count` must be a whole number, found a string \"ten\"")]),
        ("bad range",
         "- id: 1\n  name: x\n  severity: low\n  match:\n    unit: \"8-5\"\n",
         &[("bad.yaml:5:11:", "`unit`: range \"8-5\" runs backwards")]),
        ("bad value comparison",
         "- id: 1\n  name: x\n  severity: low\n  match: {value: \">abc\"}\n",
         &[("bad.yaml:4:18:", "`value`: \"abc\" is not a number")]),
        ("bad CIDR",
         "- id: 1\n  name: x\n  severity: low\n  dst: [10.0.0.0/8, 10.0.0.0/33]\n",
         &[("bad.yaml:4:21:", "`dst`: \"10.0.0.0/33\" is not an IP address")]),
        ("unknown class",
         "- id: 1\n  name: x\n  severity: low\n  match: {class: [write, stop]}\n",
         &[("bad.yaml:4:26:", "unknown operation class \"stop\"")]),
        ("bad attack id",
         "- id: 1\n  name: x\n  severity: low\n  attack: [T0816, T1059]\n",
         &[("bad.yaml:4:19:", "\"T1059\" is not a MITRE ATT&CK for ICS technique id")]),
        ("undefined variable",
         "- id: 1\n  name: x\n  severity: low\n  src: \"!$ENG\"\n",
         &[("bad.yaml:4:8:", "undefined variable $ENG")]),
        ("two kinds",
         "- id: 1\n  name: x\n  severity: low\n  threshold: {count: 2, seconds: 5}\n  sequence: {within: 5, steps: [{match: {class: read}}, {match: {class: write}}]}\n",
         &[("bad.yaml:5:3:", "only one of threshold, distinct and sequence; this one has `threshold` (line 4) and `sequence`")]),
        ("missing keys",
         "- id: 1\n  match: {proto: modbus}\n",
         &[("bad.yaml:1:3:", "needs a `name`"), ("bad.yaml:1:3:", "needs a `severity`")]),
        ("unknown proto",
         "- {id: 1, name: x, severity: low, match: {proto: modbuss}}\n",
         &[("bad.yaml:1:50:", "unknown protocol \"modbuss\"; did you mean `modbus`?")]),
        ("bad severity",
         "- {id: 1, name: x, severity: critical}\n",
         &[("bad.yaml:1:30:", "`severity` is high, medium or low")]),
        ("id out of range",
         "- {id: 4294967296, name: x, severity: low}\n",
         &[("bad.yaml:1:8:", "`id` must be between 1 and 4294967295")]),
        ("yaml tag",
         "- id: 1\n  name: x\n  severity: low\n  src: !$ENG\n",
         &[("bad.yaml:4:8:", "quote a value that starts with `!` (\"!$ENG\")")]),
        ("duplicate key",
         "- id: 1\n  name: x\n  severity: low\n  name: y\n",
         &[("bad.yaml:4:3:", "key `name` is given twice in a rule (first at line 2)")]),
        ("bad hours",
         "- {id: 1, name: x, severity: low, when: {hours: \"25:00-06:00\"}}\n",
         &[("bad.yaml:1:49:", "`hours`: \"25:00\" is not a time of day")]),
        ("bad by and field",
         "- {id: 1, name: x, severity: low, distinct: {field: colour, count: 2, seconds: 5, by: host}}\n",
         &[("bad.yaml:1:87:", "`by` is one of"), ("bad.yaml:1:53:", "`field` is one of")]),
        ("short sequence",
         "- {id: 1, name: x, severity: low, sequence: {within: 5, steps: [{match: {class: read}}]}}\n",
         &[("bad.yaml:1:66:", "a sequence has 2 to 8 steps, this one has 1")]),
        ("threshold missing seconds",
         "- {id: 1, name: x, severity: low, threshold: {count: 5}}\n",
         &[("bad.yaml:1:47:", "`threshold:` needs `seconds`")]),
        ("function given as number",
         "- {id: 1, name: x, severity: low, match: {function: 5}}\n",
         &[("bad.yaml:1:53:", "match numbers with `code:`")]),
        ("single rule without list",
         "id: 1\nname: x\n",
         &[("bad.yaml:1:1:", "start each rule with `- `")]),
        ("not a rule file",
         "just text\n",
         &[("bad.yaml:1:1:", "a rule file is a list of rules")]),
        ("empty allow entry",
         "- {id: 1, name: x, severity: low, allow: [{}]}\n",
         &[("bad.yaml:1:4:", "empty `allow:` entry")]),
        ("suppress by on threshold",
         "- {id: 1, name: x, severity: low, threshold: {count: 2, seconds: 5}, suppress: {seconds: 5, by: src}}\n",
         &[("bad.yaml:1:93:", "`suppress.by` is for plain rules")]),
    ];
    let mut failures = Vec::new();
    for (what, text, want) in cases {
        let got = build_err(text);
        let ok = got.len() == want.len()
            && want
                .iter()
                .zip(&got)
                .all(|((prefix, msg), g)| g.starts_with(prefix) && g.contains(msg));
        if !ok {
            failures.push(format!("{what}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn duplicate_ids_name_both_places() {
    let errors = RuleSet::builder()
        .add_source("pack:ot/a.yaml", "- {id: 7, name: a, severity: low}\n")
        .add_source(
            "/etc/local.yaml",
            "# local\n- id: 8\n  name: b\n  severity: low\n- id: 7\n  name: c\n  severity: low\n",
        )
        .build()
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "/etc/local.yaml:5:7: duplicate rule id 7: already used at pack:ot/a.yaml:1:8"
    );
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line, errors[0].column),
        ("/etc/local.yaml", 5, 7)
    );
}

#[test]
fn errors_of_all_rules_and_files_are_reported_together() {
    let errors = RuleSet::builder()
        .add_source(
            "a.yaml",
            "- {id: 1, name: x, severity: low, src: $NOPE}\n\
             - {id: 2, name: y, severity: lo}\n\
             - {id: 3, name: z, severity: low}\n",
        )
        .add_source(
            "b.yaml",
            "- {id: 4, name: x, severity: low, match: {unit: -1}}\n",
        )
        .build()
        .unwrap_err();
    let lines: Vec<(String, u32)> = errors.iter().map(|e| (e.file.clone(), e.line)).collect();
    assert_eq!(
        lines,
        vec![
            ("a.yaml".into(), 1),
            ("a.yaml".into(), 2),
            ("b.yaml".into(), 1)
        ],
        "{}",
        errors_text(&errors)
    );
}

#[test]
fn documentation_examples_load() {
    let doc = include_str!("../../BEHAVIOUR.md");
    let mut vars = vars();
    for name in ["SCADA_MASTERS", "PLC_NET"] {
        vars.insert(name.to_string(), vec!["10.0.9.0/24".parse().unwrap()]);
    }
    let mut loaded = 0;
    for (i, block) in doc.split("```yaml\n").skip(1).enumerate() {
        let text = block.split("```").next().unwrap_or_default();
        // Whole rules only; fragments (`when: …`) and skeletons are skipped.
        if !(text.contains("id:") && text.contains("severity:")) {
            continue;
        }
        let set = RuleSet::builder()
            .add_source(&format!("BEHAVIOUR.md block {i}"), text)
            .vars(vars.clone())
            .build();
        if let Err(e) = set {
            panic!("{}", errors_text(&e));
        }
        loaded += 1;
    }
    assert!(loaded >= 3, "{loaded}");
}

// ----- no panics on random input ----------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "- ",
    "id: ",
    "name: ",
    "severity: ",
    "match: ",
    "proto: ",
    "function: ",
    "code: ",
    "class: ",
    "unit: ",
    "address: ",
    "value: ",
    "object: ",
    "status: ",
    "attrs: ",
    "src: ",
    "dst: ",
    "allow: ",
    "when: ",
    "hours: ",
    "days: ",
    "threshold: ",
    "distinct: ",
    "sequence: ",
    "steps: ",
    "within: ",
    "by: ",
    "count: ",
    "seconds: ",
    "field: ",
    "suppress: ",
    "enabled: ",
    "attack: ",
    "reference: ",
    "pack: ",
    "rules: ",
    "response_only: ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    ": ",
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    "\"",
    "'",
    "!",
    "$ENGINEERING_WS",
    "$X",
    "&a ",
    "*a",
    "<<: ",
    "---\n",
    "#",
    "modbus",
    "s7comm",
    "write",
    "mode_change",
    "plc_stop",
    "high",
    "low",
    "1",
    "0",
    "-1",
    "4294967296",
    "0x1f",
    "5-8",
    ">1000",
    "<=3",
    "!=0",
    "1e9",
    "nan",
    "10.0.0.0/8",
    "fd00::/8",
    "10.0.0.1-10.0.0.9",
    "any",
    "none",
    "true",
    "false",
    "~",
    "22:00-06:00",
    "mon-fri",
    "T0816",
    "src",
    "pair",
    "unit",
    "LLN0$*",
    "*",
    "?",
    "é",
    "\t",
    "\\",
    "%",
    "@",
];

#[test]
fn random_yamlish_text_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut built = 0;
    for _ in 0..4000 {
        let n = 1 + rng.below(60);
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(rng.pick(FRAGMENTS));
        }
        if let Ok(set) = RuleSet::builder()
            .add_source("fuzz.yaml", &text)
            .vars(vars())
            .build()
        {
            built += 1;
            run_random_ops(&mut rng, Arc::new(set), 50);
        }
    }
    assert!(built > 0);
}

#[test]
fn mutated_rule_files_never_panic() {
    let base = format!("{MATCH_RULES}{WHEN_RULES}{SEQ_RULE}");
    let base = base
        .replace("- id: 60", "- id: 600")
        .replace("- id: 32", "- id: 320");
    assert!(RuleSet::builder()
        .add_source("base.yaml", &base)
        .vars(vars())
        .build()
        .is_ok());
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut built = 0;
    for _ in 0..1500 {
        let mut bytes = base.clone().into_bytes();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = (rng.next() & 0x7f) as u8,
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let frag = rng.pick(FRAGMENTS).as_bytes().to_vec();
                    bytes.splice(at..at, frag);
                }
                _ => {
                    let len = rng.below(40).min(bytes.len() - at);
                    bytes.drain(at..at + len);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match RuleSet::builder()
            .add_source("mut.yaml", &text)
            .vars(vars())
            .build()
        {
            Ok(set) => {
                built += 1;
                run_random_ops(&mut rng, Arc::new(set), 200);
            }
            Err(errors) => {
                for e in errors {
                    assert!(e.line >= 1 && e.column >= 1, "{e}");
                    assert_eq!(e.file, "mut.yaml");
                }
            }
        }
    }
    assert!(built > 10, "{built}");
}

fn run_random_ops(rng: &mut XorShift, set: Arc<RuleSet>, n: usize) {
    const PROTOS: &[&str] = &[
        "modbus", "s7comm", "dnp3", "goose", "iec104", "enip", "mms", "x",
    ];
    const FUNCS: &[&str] = &[
        "plc_stop",
        "plc_start",
        "write_single_register",
        "read",
        "download_block",
    ];
    let mut engine = Engine::with_limits(
        set,
        EngineLimits {
            max_keys_per_rule: 16,
            max_values_per_rule: 64,
        },
    );
    let mut hits = Vec::new();
    for _ in 0..n {
        let class = OpClass::ALL[rng.below(OpClass::ALL.len())];
        let mut o = Op::new(
            PROTOS[rng.below(PROTOS.len())],
            FUNCS[rng.below(FUNCS.len())],
            rng.next() as u32 % 300,
            class,
        );
        o.response_only = rng.below(4) == 0;
        o.unit = (rng.below(3) > 0).then(|| rng.next() as u32 % 16);
        o.address = (rng.below(3) > 0).then(|| rng.next() as u32);
        o.quantity = (rng.below(3) > 0).then(|| rng.next() as u32);
        o.values = (0..rng.below(3))
            .map(|_| (rng.next() as i64 as f64) / 1e6)
            .collect();
        o.object = (rng.below(2) > 0).then(|| "LLN0$ST".to_string());
        o.status = (rng.below(2) > 0).then(|| rng.next() as u32 % 40);
        o.attrs = vec![
            ("cot", Attr::Int(rng.below(10) as i64)),
            ("test", Attr::Bool(rng.below(2) == 0)),
        ];
        let v4 = |r: &mut XorShift| {
            Some(IpAddr::V4(
                ((r.next() as u32) & 0x0f0f_000f | 0x0a00_0000).into(),
            ))
        };
        let c = Ctx {
            ts_ns: rng.next() % (u64::MAX / 2),
            src: if rng.below(5) == 0 { None } else { v4(rng) },
            dst: if rng.below(5) == 0 {
                Some(ip("fd00::1"))
            } else {
                v4(rng)
            },
            src_mac: Some([0, 1, 2, 3, 4, rng.below(4) as u8]),
            flow_id: rng.next() % 8,
            ..Ctx::default()
        };
        engine.eval(&o, &c, &mut hits);
        hits.clear();
        if rng.below(50) == 0 {
            engine.expire(rng.next());
        }
    }
}
