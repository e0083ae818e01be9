//! Differential test of the OT decoders against two independent
//! implementations, on every capture under `../shared/testdata/pcaps/ot/`:
//!
//! 1. tshark: per capture and protocol, the multiset of per-PDU key tuples
//!    (function / service / type id, unit id, address ...) tshark dissects
//!    equals the multiset the sensor's EVE records carry.
//! 2. Zeek ICSNPP baselines (`../shared/testdata/expected/zeek/`): the same
//!    transactions are found (counts per function / command / service).
//!
//! Known, explained disagreements are listed in
//! `tests/ot-diff/exceptions.tsv` (capture, protocol, side, key, count,
//! reason). The test fails on any disagreement not listed there and on any
//! listed exception that no longer occurs. Skips with a visible note when
//! the test data or tshark is absent.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::{captures, replay, testdata};
use serde_json::Value;

/// One PDU / transaction key with where it was seen (tshark: frame
/// number; sensor: `pcap_cnt`).
type Keys = Vec<(String, u64)>;

// ------------------------------------------------------------------ tshark

/// tshark rows: (frame number, fields each split into its occurrences).
type Rows = Vec<(u64, Vec<Vec<String>>)>;

fn tshark(file: &Path, opts: &[&str], filter: &str, fields: &[&str]) -> Rows {
    let mut c = Command::new("tshark");
    c.arg("-n").arg("-r").arg(file).args(opts);
    c.args(["-Y", filter, "-T", "fields", "-E", "separator=/t"]);
    c.args(["-E", "occurrence=a", "-E", "aggregator=;"]);
    c.args(["-e", "frame.number"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            let frame = cols.next().unwrap().parse().unwrap_or(0);
            let rest = (0..fields.len())
                .map(|_| {
                    cols.next()
                        .unwrap_or("")
                        .split(';')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .collect();
            (frame, rest)
        })
        .collect()
}

/// Decimal or `0x` hex.
fn num(s: &str) -> i64 {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).unwrap_or(-1),
        None => s.parse().unwrap_or(-1),
    }
}

fn first(v: &[String]) -> Option<i64> {
    v.first().map(|s| num(s))
}

fn nth(v: &[String], i: usize) -> Option<i64> {
    v.get(i).map(|s| num(s))
}

// -------------------------------------------------------------- protocols

struct Proto {
    name: &'static str,
    event: &'static str,
    /// Capture folders (under pcaps/ot/) this protocol is compared in.
    dirs: &'static [&'static str],
    tshark: fn(&Path) -> Keys,
    eve: fn(&Value, u64, &mut Keys),
}

const PROTOS: &[Proto] = &[
    Proto {
        name: "modbus",
        event: "modbus",
        dirs: &["modbus", "mixed"],
        tshark: ts_modbus,
        eve: eve_modbus,
    },
    Proto {
        name: "dnp3",
        event: "dnp3",
        dirs: &["dnp3"],
        tshark: ts_dnp3,
        eve: eve_dnp3,
    },
    Proto {
        name: "iec104",
        event: "iec104",
        dirs: &["iec104"],
        tshark: ts_iec104,
        eve: eve_iec104,
    },
    Proto {
        name: "s7comm",
        event: "s7comm",
        dirs: &["s7comm", "s7comm-plus", "mixed"],
        tshark: ts_s7comm,
        eve: eve_s7comm,
    },
    Proto {
        name: "enip",
        event: "enip",
        dirs: &["enip-cip", "mixed"],
        tshark: ts_enip,
        eve: eve_enip,
    },
    Proto {
        name: "bacnet",
        event: "bacnet",
        dirs: &["bacnet"],
        tshark: ts_bacnet,
        eve: eve_bacnet,
    },
    Proto {
        name: "opcua",
        event: "opcua",
        dirs: &["opcua"],
        tshark: ts_opcua,
        eve: eve_opcua,
    },
    Proto {
        name: "mms",
        event: "mms",
        dirs: &["iec61850-mms", "iec61850-goose"],
        tshark: ts_mms,
        eve: eve_mms,
    },
    Proto {
        name: "goose",
        event: "goose",
        dirs: &["iec61850-goose"],
        tshark: ts_goose,
        eve: eve_goose,
    },
    Proto {
        name: "fins",
        event: "fins",
        dirs: &["omron-fins"],
        tshark: ts_fins,
        eve: eve_fins,
    },
    Proto {
        name: "hart_ip",
        event: "hart_ip",
        dirs: &["hart-ip"],
        tshark: ts_hart_ip,
        eve: eve_hart_ip,
    },
    Proto {
        name: "c37118",
        event: "c37118",
        dirs: &["c37118"],
        tshark: ts_c37118,
        eve: eve_c37118,
    },
    Proto {
        name: "profinet_dcp",
        event: "profinet_dcp",
        dirs: &["profinet", "mixed"],
        tshark: ts_dcp,
        eve: eve_dcp,
    },
];

fn i(v: &Value, path: &str) -> Option<i64> {
    common::lookup(v, path).and_then(Value::as_i64)
}

fn s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    common::lookup(v, path).and_then(Value::as_str)
}

// Modbus/TCP: request PDUs, key `u<unit> fc<fc>` plus `@<address>` for the
// function codes with a starting address.
const MB_ADDR_FC: &[i64] = &[1, 2, 3, 4, 5, 6, 15, 16];

fn mb_key(unit: i64, fc: i64, addr: Option<i64>) -> String {
    match addr {
        Some(a) if MB_ADDR_FC.contains(&fc) => format!("u{unit} fc{fc} @{a}"),
        _ => format!("u{unit} fc{fc}"),
    }
}

fn ts_modbus(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "mbtcp && tcp.dstport==502 && !tcp.analysis.retransmission",
        &["mbtcp.unit_id", "modbus.func_code", "modbus.reference_num"],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        let mut refs = r[2].iter();
        for (n, fc) in r[1].iter().enumerate() {
            let fc = num(fc);
            let unit = nth(&r[0], n).unwrap_or(-1);
            let addr = if MB_ADDR_FC.contains(&fc) {
                refs.next().map(|a| num(a))
            } else {
                None
            };
            k.push((mb_key(unit, fc, addr), fr));
        }
    }
    k
}

fn eve_modbus(r: &Value, pc: u64, k: &mut Keys) {
    let Some(q) = r.pointer("/modbus/request") else {
        return;
    };
    let fc = i(q, "function_raw").unwrap_or(-1) & 0x7f;
    let addr = i(q, "read.address").or(i(q, "write.address"));
    k.push((mb_key(i(q, "unit_id").unwrap_or(-1), fc, addr), pc));
}

// DNP3: every application fragment but confirms, key `fc<fc> <src>><dst>`
// (link addresses, when the frame's link frames agree), plus one
// `obj g<G>v<V>` key per object header.
fn ts_dnp3(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &["-o", "dnp3.desegment:TRUE", "-d", "udp.port==20000,dnp3"],
        "dnp3.al.func",
        &["dnp3.al.func", "dnp3.src", "dnp3.dst", "dnp3.al.obj"],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        let mut pairs: Vec<(String, String)> =
            r[1].iter().cloned().zip(r[2].iter().cloned()).collect();
        pairs.sort();
        pairs.dedup();
        let link = match pairs.as_slice() {
            [(s, d)] => format!(" {s}>{d}"),
            _ => " ?".to_string(),
        };
        for fc in &r[0] {
            if num(fc) != 0 {
                k.push((format!("fc{}{link}", num(fc)), fr));
            }
        }
        for o in &r[3] {
            let o = num(o);
            k.push((format!("obj g{}v{}", o >> 8, o & 0xff), fr));
        }
    }
    k
}

fn eve_dnp3(r: &Value, pc: u64, k: &mut Keys) {
    let d = &r["dnp3"];
    let fc = i(d, "application.function_code").unwrap_or(-1);
    k.push((
        format!(
            "fc{fc} {}>{}",
            i(d, "src").unwrap_or(-1),
            i(d, "dst").unwrap_or(-1)
        ),
        pc,
    ));
    if let Some(objs) = d.pointer("/application/objects").and_then(Value::as_array) {
        for o in objs {
            k.push((
                format!(
                    "obj g{}v{}",
                    i(o, "group").unwrap_or(-1),
                    i(o, "variation").unwrap_or(-1)
                ),
                pc,
            ));
        }
    }
}

// IEC 60870-5-104: I-frames `I t<type id> ca<common address> cot<cause>`,
// U-frames `U 0x<function bits>`; S-frames make no event.
fn ts_iec104(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "iec60870_104",
        &[
            "iec60870_104.type",
            "iec60870_104.utype",
            "iec60870_asdu.typeid",
            "iec60870_asdu.addr",
            "iec60870_asdu.causetx",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        let (mut u, mut a) = (0, 0);
        for t in &r[0] {
            match num(t) {
                0 => {
                    k.push((
                        format!(
                            "I t{} ca{} cot{}",
                            nth(&r[2], a).unwrap_or(-1),
                            nth(&r[3], a).unwrap_or(-1),
                            nth(&r[4], a).unwrap_or(-1)
                        ),
                        fr,
                    ));
                    a += 1;
                }
                3 => {
                    k.push((format!("U 0x{:02x}", nth(&r[1], u).unwrap_or(-1)), fr));
                    u += 1;
                }
                _ => {}
            }
        }
    }
    k
}

fn eve_iec104(r: &Value, pc: u64, k: &mut Keys) {
    let e = &r["iec104"];
    match s(e, "apci_type") {
        Some("I") => k.push((
            format!(
                "I t{} ca{} cot{}",
                i(e, "type_id").unwrap_or(-1),
                i(e, "common_address").unwrap_or(-1),
                i(e, "cot").unwrap_or(-1)
            ),
            pc,
        )),
        Some("U") => {
            let bit = match s(e, "u_function").unwrap_or("") {
                "startdt_act" => 0x01,
                "startdt_con" => 0x02,
                "stopdt_act" => 0x04,
                "stopdt_con" => 0x08,
                "testfr_act" => 0x10,
                "testfr_con" => 0x20,
                _ => -1,
            };
            k.push((format!("U 0x{bit:02x}"), pc));
        }
        _ => {}
    }
}

// S7comm: job requests `job fc<function>`, userdata requests
// `ud g<group> s<subfunction>`; userdata PDUs the sensor logs without a
// request (push, or a response whose request is not in the capture)
// `resp_only g<group> s<sub>`. Group 0 (mode transition) without the
// subfunction: tshark has no subfunction field for it.
fn s7_ud_key(kind: &str, g: i64, sf: i64) -> String {
    if g == 0 {
        format!("{kind} g0")
    } else {
        format!("{kind} g{g} s{sf}")
    }
}

fn ts_s7comm(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "s7comm",
        &[
            "s7comm.header.rosctr",
            "s7comm.param.func",
            "s7comm.param.userdata.type",
            "s7comm.param.userdata.funcgroup",
            "s7comm.param.userdata.subfunc",
            "tcp.stream",
            "s7comm.header.pduref",
        ],
    );
    let mut k = Vec::new();
    let mut asked = std::collections::HashSet::new();
    for (fr, r) in rows {
        let (mut p, mut u) = (0, 0);
        let stream = first(&r[5]).unwrap_or(-1);
        for (n, ros) in r[0].iter().enumerate() {
            let pduref = nth(&r[6], n).unwrap_or(-1);
            match num(ros) {
                1 => {
                    k.push((format!("job fc{}", nth(&r[1], p).unwrap_or(-1)), fr));
                    p += 1;
                }
                3 => p += 1,
                7 => {
                    let g = nth(&r[3], u).unwrap_or(-1);
                    let sf = nth(&r[4], u).unwrap_or(-1);
                    match nth(&r[2], u) {
                        Some(4) => {
                            asked.insert((stream, pduref));
                            k.push((s7_ud_key("ud", g, sf), fr));
                        }
                        Some(8) if !asked.contains(&(stream, pduref)) => {
                            k.push((s7_ud_key("resp_only", g, sf), fr))
                        }
                        Some(0) => k.push((s7_ud_key("resp_only", g, sf), fr)),
                        _ => {}
                    }
                    u += 1;
                }
                _ => {}
            }
        }
    }
    k
}

fn eve_s7comm(r: &Value, pc: u64, k: &mut Keys) {
    let e = &r["s7comm"];
    let resp_only = e["response_only"].as_bool().unwrap_or(false);
    let fc = i(e, "function_code").unwrap_or(-1);
    match i(e, "rosctr_code") {
        Some(1) if !resp_only => k.push((format!("job fc{fc}"), pc)),
        Some(7) => {
            let sf = i(e, "subfunction_code").unwrap_or(-1);
            let kind = if resp_only { "resp_only" } else { "ud" };
            k.push((s7_ud_key(kind, fc, sf), pc));
        }
        _ => {}
    }
}

// EtherNet/IP: requests to port 44818, `<command>` plus the CIP service
// (Suricata's name) when there is one.
/// The sensor's CIP service name table; the comparison checks that the
/// same service codes are found, tshark giving the numbers.
fn cip_service(sc: i64) -> String {
    let code = (sc & 0x7f) as u8;
    sensor::proto::enip::names::service_name(code)
        .map_or_else(|| format!("unknown-{code}"), str::to_string)
}

fn enip_command(c: i64) -> String {
    match c {
        0x0000 => "nop".into(),
        0x0004 => "list_services".into(),
        0x0063 => "list_identity".into(),
        0x0064 => "list_interfaces".into(),
        0x0065 => "register_session".into(),
        0x0066 => "unregister_session".into(),
        0x006f => "send_r_r_data".into(),
        0x0070 => "send_unit_data".into(),
        x => format!("unknown-{x}"),
    }
}

fn ts_enip(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "enip && (tcp.dstport==44818 || udp.dstport==44818) && !tcp.analysis.retransmission",
        &["enip.command", "cip.sc"],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        for c in &r[0] {
            let key = match first(&r[1]) {
                Some(sc) => format!("{} {}", enip_command(num(c)), cip_service(sc)),
                None => enip_command(num(c)),
            };
            k.push((key, fr));
        }
    }
    k
}

fn eve_enip(r: &Value, pc: u64, k: &mut Keys) {
    let Some(q) = r.pointer("/enip/request") else {
        return;
    };
    let c = s(q, "command").unwrap_or("?");
    let key = match s(q, "cip.service") {
        Some(sv) => format!("{c} {sv}"),
        None => c.to_string(),
    };
    k.push((key, pc));
}

// BACnet: confirmed / unconfirmed request APDUs (first segment),
// `cr s<service>` / `ur s<service>`.
fn ts_bacnet(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "bacapp.type==0 || bacapp.type==1",
        &[
            "bacapp.type",
            "bacapp.confirmed_service",
            "bacapp.unconfirmed_service",
            "bacapp.sequence_number",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        match first(&r[0]) {
            Some(0) if first(&r[3]).unwrap_or(0) == 0 => {
                k.push((format!("cr s{}", first(&r[1]).unwrap_or(-1)), fr))
            }
            Some(1) => k.push((format!("ur s{}", first(&r[2]).unwrap_or(-1)), fr)),
            _ => {}
        }
    }
    k
}

fn eve_bacnet(r: &Value, pc: u64, k: &mut Keys) {
    let b = &r["bacnet"];
    for part in ["request", "response"] {
        let p = &b[part];
        let sc = i(p, "service_choice").unwrap_or(-1);
        match s(p, "pdu_type") {
            Some("confirmed_request") => k.push((format!("cr s{sc}"), pc)),
            Some("unconfirmed_request") => k.push((format!("ur s{sc}"), pc)),
            _ => {}
        }
    }
}

// OPC UA: every message (final chunks), `<type>`, plus `svc <encoding id>`
// per service node id.
fn ts_opcua(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "opcua",
        &[
            "opcua.transport.type",
            "opcua.transport.chunk",
            "opcua.servicenodeid.numeric",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        for (n, t) in r[0].iter().enumerate() {
            if r[1].get(n).map(String::as_str) != Some("C") {
                k.push((t.clone(), fr));
            }
        }
        for id in &r[2] {
            k.push((format!("svc {}", num(id)), fr));
        }
    }
    k
}

fn eve_opcua(r: &Value, pc: u64, k: &mut Keys) {
    let o = &r["opcua"];
    let enc = o["encrypted"].as_bool().unwrap_or(false);
    for part in ["request", "response"] {
        let p = &o[part];
        let Some(t) = s(p, "msg_type") else {
            continue;
        };
        let n = if enc { i(p, "chunks").unwrap_or(1) } else { 1 };
        for _ in 0..n {
            k.push((t.to_string(), pc));
        }
        if let Some(id) = i(p, "identifier") {
            k.push((format!("svc {id}"), pc));
        }
    }
}

// MMS: request PDUs, `conf <service>`, `unconf <service>`, `initiate`,
// `conclude`.
use sensor::proto::mms::parser::SERVICES as MMS_SERVICES;

fn ts_mms(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &["-o", "uat:pres_context_list:\"3\",\"1.0.9506.2.1\""],
        "mms",
        &[
            "mms.confirmedServiceRequest",
            "mms.unconfirmedService",
            "mms.initiate_RequestPDU_element",
            "mms.conclude_RequestPDU_element",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        for c in &r[0] {
            let n = MMS_SERVICES
                .get(num(c) as usize)
                .copied()
                .unwrap_or("unknown");
            k.push((format!("conf {n}"), fr));
        }
        for u in &r[1] {
            k.push((format!("unconf {}", num(u)), fr));
        }
        for _ in &r[2] {
            k.push(("initiate".into(), fr));
        }
        for _ in &r[3] {
            k.push(("conclude".into(), fr));
        }
    }
    k
}

fn eve_mms(r: &Value, pc: u64, k: &mut Keys) {
    let m = &r["mms"];
    if m.get("request").is_none() && s(m, "pdu") != Some("unconfirmed") {
        return;
    }
    let svc = s(m, "service").unwrap_or("?");
    let key = match s(m, "pdu").unwrap_or("?") {
        "confirmed" => format!("conf {svc}"),
        "unconfirmed" => format!(
            "unconf {}",
            match svc {
                "information_report" => 0,
                "unsolicited_status" => 1,
                "event_notification" => 2,
                _ => -1,
            }
        ),
        "initiate" => "initiate".into(),
        "conclude" => "conclude".into(),
        p => format!("{p} {svc}"),
    };
    k.push((key, pc));
}

// GOOSE: every frame, `appid<appid> st<stNum> sq<sqNum>`.
fn ts_goose(f: &Path) -> Keys {
    tshark(
        f,
        &[],
        "goose",
        &["goose.appid", "goose.stNum", "goose.sqNum"],
    )
    .into_iter()
    .map(|(fr, r)| {
        let key = format!(
            "appid{} st{} sq{}",
            first(&r[0]).unwrap_or(-1),
            first(&r[1]).unwrap_or(-1),
            first(&r[2]).unwrap_or(-1)
        );
        (key, fr)
    })
    .collect()
}

fn eve_goose(r: &Value, pc: u64, k: &mut Keys) {
    let g = &r["goose"];
    k.push((
        format!(
            "appid{} st{} sq{}",
            i(g, "appid").unwrap_or(-1),
            i(g, "st_num").unwrap_or(-1),
            i(g, "sq_num").unwrap_or(-1)
        ),
        pc,
    ));
}

// Omron FINS: command frames `cmd0x<command> da<dest node>`, FINS/TCP
// node address handshake `tcp node_address_data_send`.
fn ts_fins(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "omron",
        &[
            "omron.tcp.command",
            "omron.icf",
            "omron.command",
            "omron.da1",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        if first(&r[0]) == Some(0) {
            k.push(("tcp node_address_data_send".into(), fr));
        }
        if let Some(icf) = first(&r[1]) {
            if icf & 0x40 == 0 {
                k.push((
                    format!(
                        "cmd0x{:04x} da{}",
                        first(&r[2]).unwrap_or(-1),
                        first(&r[3]).unwrap_or(-1)
                    ),
                    fr,
                ));
            }
        }
    }
    k
}

fn eve_fins(r: &Value, pc: u64, k: &mut Keys) {
    let e = &r["fins"];
    if s(e, "type") == Some("response") {
        return;
    }
    if s(e, "tcp_command") == Some("node_address_data_send") {
        k.push(("tcp node_address_data_send".into(), pc));
    }
    if let Some(c) = i(e, "command_code") {
        k.push((
            format!(
                "cmd0x{c:04x} da{}",
                i(e, "destination_node_number").unwrap_or(-1)
            ),
            pc,
        ));
    }
}

// HART-IP: requests `m<message id>` (+ ` c<command>` for token-passing
// PDUs), publish messages `pub m<id> c<command>`.
fn ts_hart_ip(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &["-d", "udp.port==5095,hart_ip"],
        "hart_ip",
        &[
            "hart_ip.message_type",
            "hart_ip.message_id",
            "hart_ip.pt.command",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        let mut cmds = r[2].iter();
        for (n, t) in r[0].iter().enumerate() {
            let id = nth(&r[1], n).unwrap_or(-1);
            let cmd = if id == 3 {
                cmds.next().map(|c| num(c))
            } else {
                None
            };
            let pre = match num(t) {
                0 => "",
                2 => "pub ",
                _ => continue,
            };
            let key = match cmd {
                Some(c) => format!("{pre}m{id} c{c}"),
                None => format!("{pre}m{id}"),
            };
            k.push((key, fr));
        }
    }
    k
}

fn eve_hart_ip(r: &Value, pc: u64, k: &mut Keys) {
    let h = &r["hart_ip"];
    let pre = match s(h, "type") {
        Some("request" | "transaction") => "",
        Some("publish") => "pub ",
        _ => return,
    };
    let id = i(h, "message_id").unwrap_or(-1);
    let key = match i(h, "command") {
        Some(c) if id == 3 => format!("{pre}m{id} c{c}"),
        _ => format!("{pre}m{id}"),
    };
    k.push((key, pc));
}

// C37.118: command frames `cmd<command> id<idcode>`, header and
// configuration frames `frame<type>`; data frames make no event.
fn ts_c37118(f: &Path) -> Keys {
    let rows = tshark(
        f,
        &[],
        "synphasor.frtype != 0",
        &[
            "synphasor.frtype",
            "synphasor.command",
            "synphasor.idcode_stream_source",
        ],
    );
    let mut k = Vec::new();
    for (fr, r) in rows {
        match first(&r[0]) {
            Some(4) => k.push((
                format!(
                    "cmd{} id{}",
                    first(&r[1]).unwrap_or(-1),
                    first(&r[2]).unwrap_or(-1)
                ),
                fr,
            )),
            Some(t) => k.push((format!("frame{t}"), fr)),
            None => {}
        }
    }
    k
}

fn eve_c37118(r: &Value, pc: u64, k: &mut Keys) {
    let c = &r["c37118"];
    if let Some(cmd) = i(c, "command_code") {
        k.push((format!("cmd{cmd} id{}", i(c, "idcode").unwrap_or(-1)), pc));
    }
    let t = match s(c, "frame_type") {
        Some("header") => 1,
        Some("cfg1") => 2,
        Some("cfg2") => 3,
        Some("cfg3") => 5,
        _ => return,
    };
    k.push((format!("frame{t}"), pc));
}

// PROFINET DCP: every PDU, `s<service id> t<service type> x<xid>`.
fn ts_dcp(f: &Path) -> Keys {
    tshark(
        f,
        &[],
        "pn_dcp",
        &["pn_dcp.service_id", "pn_dcp.service_type", "pn_dcp.xid"],
    )
    .into_iter()
    .map(|(fr, r)| {
        let key = format!(
            "s{} t{} x{}",
            first(&r[0]).unwrap_or(-1),
            first(&r[1]).unwrap_or(-1),
            first(&r[2]).unwrap_or(-1)
        );
        (key, fr)
    })
    .collect()
}

fn eve_dcp(r: &Value, pc: u64, k: &mut Keys) {
    let d = &r["profinet_dcp"];
    k.push((
        format!(
            "s{} t{} x{}",
            i(d, "service_id").unwrap_or(-1),
            i(d, "service_type").unwrap_or(-1),
            i(d, "xid").unwrap_or(-1)
        ),
        pc,
    ));
}

// ------------------------------------------------------------- comparison

/// A documented disagreement: (capture, protocol, side, key) → count.
type ExcKey = (String, String, String, String);

fn exceptions() -> BTreeMap<ExcKey, (i64, String)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ot-diff/exceptions.tsv");
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    let mut m = BTreeMap::new();
    for l in text.lines() {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let c: Vec<&str> = l.split('\t').collect();
        assert!(c.len() >= 6, "bad exceptions line: {l}");
        m.insert(
            (c[0].into(), c[1].into(), c[2].into(), c[3].into()),
            (c[4].parse().expect("count"), c[5].into()),
        );
    }
    m
}

/// Per-key counts and where they were seen.
fn tally(keys: &Keys) -> BTreeMap<&str, (i64, Vec<u64>)> {
    let mut m: BTreeMap<&str, (i64, Vec<u64>)> = BTreeMap::new();
    for (k, f) in keys {
        let e = m.entry(k.as_str()).or_default();
        e.0 += 1;
        e.1.push(*f);
    }
    m
}

fn frames(v: &[u64]) -> String {
    let mut v = v.to_vec();
    v.sort();
    let mut s: Vec<String> = v.iter().take(12).map(u64::to_string).collect();
    if v.len() > 12 {
        s.push(format!("... ({} in all)", v.len()));
    }
    s.join(",")
}

/// A difference: (capture, protocol, side, key, count, where).
type Diff = (String, String, String, String, i64, String);

/// Match differences against the documented exceptions (those of the Zeek
/// comparison when `zeek`, else the tshark ones); returns the errors and
/// how many exceptions matched.
fn judge(
    diffs: Vec<Diff>,
    exc: &BTreeMap<ExcKey, (i64, String)>,
    zeek: bool,
) -> (Vec<String>, usize) {
    let exc: BTreeMap<ExcKey, (i64, String)> = exc
        .iter()
        .filter(|(k, _)| k.1.starts_with("zeek:") == zeek)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // A `*` exception covers every key of its capture, protocol and side:
    // fold those differences into one.
    let mut diffs = diffs;
    let mut folded: BTreeMap<(String, String, String), (i64, usize)> = BTreeMap::new();
    diffs.retain(|d| {
        let star = (d.0.clone(), d.1.clone(), d.2.clone(), "*".to_string());
        if exc.contains_key(&star)
            && !exc.contains_key(&(d.0.clone(), d.1.clone(), d.2.clone(), d.3.clone()))
        {
            let e = folded
                .entry((d.0.clone(), d.1.clone(), d.2.clone()))
                .or_default();
            e.0 += d.4;
            e.1 += 1;
            false
        } else {
            true
        }
    });
    for ((cap, proto, side), (n, keys)) in folded {
        diffs.push((
            cap,
            proto,
            side,
            "*".into(),
            n,
            format!("{keys} distinct keys"),
        ));
    }
    let mut errors = Vec::new();
    let mut used = 0;
    for (cap, proto, side, key, n, where_) in &diffs {
        let ek = (cap.clone(), proto.clone(), side.clone(), key.clone());
        match exc.get(&ek) {
            Some((m, _)) if m == n => used += 1,
            Some((m, _)) => errors.push(format!(
                "{cap} {proto}: only in {side}: {n} x `{key}` (documented: {m}) [{where_}]"
            )),
            None => errors.push(format!(
                "{cap} {proto}: only in {side}: {n} x `{key}` [{where_}]\n    \
                 exceptions.tsv line: {cap}\t{proto}\t{side}\t{key}\t{n}\t<reason>"
            )),
        }
    }
    for ((cap, proto, side, key), (n, why)) in &exc {
        if !diffs
            .iter()
            .any(|d| &d.0 == cap && &d.1 == proto && &d.2 == side && &d.3 == key)
        {
            errors.push(format!(
                "stale exception (no longer differs): {cap} {proto} {side} `{key}` x{n} ({why})"
            ));
        }
    }
    (errors, used)
}

#[derive(Default)]
struct Stats {
    tshark: usize,
    sensor: usize,
    agree: usize,
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn ot_decoders_agree_with_tshark() {
    let Some(data) = testdata("ot_decoders_agree_with_tshark") else {
        return;
    };
    if !tshark_available() {
        eprintln!("SKIPPED ot_decoders_agree_with_tshark: tshark is not installed");
        return;
    }
    let root = data.join("pcaps/ot");
    let caps: Vec<PathBuf> = captures(&root);
    assert!(!caps.is_empty(), "no captures under {}", root.display());
    let exc = exceptions();
    let work = Mutex::new(caps.iter());
    let diffs: Mutex<Vec<Diff>> = Mutex::default();
    let stats: Mutex<BTreeMap<&str, Stats>> = Mutex::default();
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| loop {
                let Some(cap) = work.lock().unwrap().next() else {
                    break;
                };
                let rel = cap
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let dir = rel.split('/').next().unwrap_or("");
                let protos: Vec<&Proto> = PROTOS.iter().filter(|p| p.dirs.contains(&dir)).collect();
                if protos.is_empty() {
                    continue;
                }
                let run = replay(&[cap.as_path()], &["-q", "-w", "1"]);
                assert_eq!(run.code, 0, "sensor failed on {rel}: {}", run.stderr);
                for p in protos {
                    let ts = (p.tshark)(cap);
                    let mut ev = Vec::new();
                    for r in run.records.iter().filter(|r| r["event_type"] == p.event) {
                        let pc = r["pcap_cnt"].as_u64().unwrap_or(0);
                        (p.eve)(r, pc, &mut ev);
                    }
                    let (tt, et) = (tally(&ts), tally(&ev));
                    let mut agree = 0;
                    let mut keys: Vec<&str> = tt.keys().chain(et.keys()).copied().collect();
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        let (tc, tf) = tt.get(k).cloned().unwrap_or_default();
                        let (ec, ef) = et.get(k).cloned().unwrap_or_default();
                        agree += tc.min(ec) as usize;
                        let d = if tc > ec {
                            ("tshark", tc - ec, format!("tshark frames {}", frames(&tf)))
                        } else if ec > tc {
                            (
                                "sensor",
                                ec - tc,
                                format!("sensor pcap_cnt {}", frames(&ef)),
                            )
                        } else {
                            continue;
                        };
                        diffs.lock().unwrap().push((
                            rel.clone(),
                            p.name.into(),
                            d.0.into(),
                            k.into(),
                            d.1,
                            d.2,
                        ));
                    }
                    let mut st = stats.lock().unwrap();
                    let e = st.entry(p.name).or_default();
                    e.tshark += ts.len();
                    e.sensor += ev.len();
                    e.agree += agree;
                }
            });
        }
    });
    let diffs = diffs.into_inner().unwrap();
    let (errors, used) = judge(diffs, &exc, false);
    for (p, s) in stats.into_inner().unwrap() {
        eprintln!(
            "{p:>13}: tshark {} keys, sensor {} keys, {} agree",
            s.tshark, s.sensor, s.agree
        );
    }
    eprintln!("documented exceptions matched: {used}");
    assert!(
        errors.is_empty(),
        "{} undocumented disagreement(s) with tshark:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

// ------------------------------------------------------------------- Zeek

/// Rows of a Zeek log (comment lines dropped), split on tabs.
fn zeek_rows(p: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn col(r: &[String], n: usize) -> &str {
    r.get(n).map(String::as_str).unwrap_or("-")
}

fn modbus_zeek_name(fc: i64) -> String {
    match fc {
        1 => "READ_COILS".into(),
        2 => "READ_DISCRETE_INPUTS".into(),
        3 => "READ_HOLDING_REGISTERS".into(),
        4 => "READ_INPUT_REGISTERS".into(),
        5 => "WRITE_SINGLE_COIL".into(),
        6 => "WRITE_SINGLE_REGISTER".into(),
        7 => "READ_EXCEPTION_STATUS".into(),
        8 => "DIAGNOSTICS".into(),
        11 => "GET_COMM_EVENT_COUNTER".into(),
        12 => "GET_COMM_EVENT_LOG".into(),
        15 => "WRITE_MULTIPLE_COILS".into(),
        16 => "WRITE_MULTIPLE_REGISTERS".into(),
        17 => "REPORT_SLAVE_ID".into(),
        20 => "READ_FILE_RECORD".into(),
        21 => "WRITE_FILE_RECORD".into(),
        22 => "MASK_WRITE_REGISTER".into(),
        23 => "READ_WRITE_MULTIPLE_REGISTERS".into(),
        24 => "READ_FIFO_QUEUE".into(),
        43 => "ENCAP_INTERFACE_TRANSPORT".into(),
        x => format!("fc{x}"),
    }
}

fn dnp3_zeek_name(fc: i64) -> String {
    match fc {
        0 => "CONFIRM".into(),
        1 => "READ".into(),
        2 => "WRITE".into(),
        3 => "SELECT".into(),
        4 => "OPERATE".into(),
        5 => "DIRECT_OPERATE".into(),
        6 => "DIRECT_OPERATE_NR".into(),
        13 => "COLD_RESTART".into(),
        14 => "WARM_RESTART".into(),
        20 => "ENABLE_UNSOLICITED".into(),
        21 => "DISABLE_UNSOLICITED".into(),
        129 => "RESPONSE".into(),
        130 => "UNSOLICITED_RESPONSE".into(),
        x => format!("fc{x}"),
    }
}

/// One Zeek ICSNPP baseline: the capture it was made from, its log, how a
/// log row and an EVE record of `event` become keys.
struct ZeekCase {
    name: &'static str,
    capture: &'static str,
    log: &'static str,
    event: &'static str,
    zeek: fn(&[String], &mut Vec<String>),
    eve: fn(&Value, &mut Vec<String>),
}

const ZEEK: &[ZeekCase] = &[
    // modbus.log: one row per transaction, `func` (name, `_EXCEPTION`
    // suffix for exception replies).
    ZeekCase {
        name: "modbus",
        capture: "modbus/modbus_example.pcap",
        log: "icsnpp-modbus/analyzer.basic/modbus.log",
        event: "modbus",
        zeek: |r, k| k.push(col(r, 6).trim_end_matches("_EXCEPTION").to_string()),
        eve: |v, k| {
            let m = &v["modbus"];
            let fc = i(m, "request.function_raw")
                .or(i(m, "response.function_raw"))
                .unwrap_or(-1);
            k.push(modbus_zeek_name(fc & 0x7f));
        },
    },
    // dnp3.log: one row per request/reply pair, `fc_request`, `fc_reply`.
    ZeekCase {
        name: "dnp3",
        capture: "dnp3/dnp3_example.pcap",
        log: "icsnpp-dnp3/analyzer.basic/dnp3.log",
        event: "dnp3",
        zeek: |r, k| {
            if col(r, 6) != "-" {
                k.push(format!("req {}", col(r, 6)));
            }
            if col(r, 7) != "-" {
                k.push(format!("reply {}", col(r, 7)));
            }
        },
        eve: |v, k| {
            let fc = i(&v["dnp3"], "application.function_code").unwrap_or(-1);
            let kind = if fc >= 129 { "reply" } else { "req" };
            k.push(format!("{kind} {}", dnp3_zeek_name(fc)));
        },
    },
    // cip.log: one row per CIP service (MSP members too), `direction`,
    // `cip_service` (hex).
    ZeekCase {
        name: "enip",
        capture: "enip-cip/multiple_service_packet_cip.pcapng",
        log: "icsnpp-enip/analyzer.multiple_service_request/cip.log",
        event: "enip",
        zeek: |r, k| {
            if col(r, 12) == "request" {
                k.push(cip_service(num(col(r, 13))));
            }
        },
        eve: |v, k| {
            let Some(c) = v.pointer("/enip/request/cip") else {
                return;
            };
            k.push(s(c, "service").unwrap_or("?").to_string());
            for m in c["multiple"].as_array().into_iter().flatten() {
                k.push(s(m, "service").unwrap_or("?").to_string());
            }
        },
    },
    // bacnet.log: one row per APDU, `pdu_type`, `pdu_service`.
    ZeekCase {
        name: "bacnet",
        capture: "bacnet/bacnet_error_reject_abort.pcap",
        log: "icsnpp-bacnet/analyzer.error-reject-abort/bacnet.log",
        event: "bacnet",
        zeek: zeek_bacnet,
        eve: eve_bacnet_names,
    },
    ZeekCase {
        name: "bacnet",
        capture: "bacnet/bacnet_segmented_data.pcap",
        log: "icsnpp-bacnet/analyzer.segmented_data/bacnet.log",
        event: "bacnet",
        zeek: zeek_bacnet,
        eve: eve_bacnet_names,
    },
    // s7comm.log: one row per PDU; requests (is_orig T) `rosctr_code`,
    // `function_code`, `subfunction_code`.
    ZeekCase {
        name: "s7comm",
        capture: "s7comm/s7ident.pcap",
        log: "icsnpp-s7comm/analyzer.s7ident/s7comm.log",
        event: "s7comm",
        zeek: zeek_s7comm,
        eve: eve_s7comm_zeek,
    },
    ZeekCase {
        name: "s7comm",
        capture: "s7comm-plus/s7comm_plus.pcap",
        log: "icsnpp-s7comm/analyzer.s7comm_plus/s7comm.log",
        event: "s7comm",
        zeek: zeek_s7comm,
        eve: eve_s7comm_zeek,
    },
    // opcua_binary.log: `msg_type`.
    ZeekCase {
        name: "opcua",
        capture: "opcua/open62541_client-server_mainloop.pcap",
        log: "icsnpp-opcua-binary/analyzer.basic/opcua_binary.log",
        event: "opcua",
        zeek: |r, k| k.push(col(r, 6).to_string()),
        // Zeek logs HEL and ACK as rows of their own, OPN / MSG / CLO
        // request-response pairs as one row.
        eve: |v, k| {
            let o = &v["opcua"];
            if let Some(t) = s(&o["request"], "msg_type") {
                k.push(t.to_string());
            }
            if let Some(t @ ("ACK" | "ERR")) = s(&o["response"], "msg_type") {
                k.push(t.to_string());
            }
        },
    },
    // omron_fins_general.log: one row per FINS frame; commands
    // (`Command (0)`) by command code.
    ZeekCase {
        name: "fins",
        capture: "omron-fins/omron_fins_tcp_commands_responses.pcap",
        log: "icsnpp-omron-fins/tests.omron_fins_tcp/omron_fins_general.log",
        event: "fins",
        zeek: |r, k| {
            let c = col(r, 23);
            if col(r, 13).starts_with("Command") {
                if let Some(h) = c.split("(0x").nth(1) {
                    k.push(format!("cmd0x{}", h.trim_end_matches(')').to_lowercase()));
                }
            }
        },
        eve: |v, k| {
            let f = &v["fins"];
            if s(f, "type") != Some("response") {
                if let Some(c) = i(f, "command_code") {
                    k.push(format!("cmd0x{c:04x}"));
                }
            }
        },
    },
    // hart_ip_general.log: one row per message, `Request` / `Response`.
    ZeekCase {
        name: "hart_ip",
        capture: "hart-ip/hart-ip.pcap",
        log: "icsnpp-hart-ip/tests.hart_ip/hart_ip_general.log",
        event: "hart_ip",
        zeek: |r, k| k.push(col(r, 10).to_string()),
        eve: eve_request_response,
    },
    ZeekCase {
        name: "hart_ip",
        capture: "hart-ip/hart-ip_all_messageIDs.pcapng",
        log: "icsnpp-hart-ip/tests.all_message_ids/hart_ip_general.log",
        event: "hart_ip",
        zeek: |r, k| k.push(col(r, 10).to_string()),
        eve: eve_request_response,
    },
    // profinet_io_cm.log: one row per DCE/RPC PDU, `Request` / `Response`.
    ZeekCase {
        name: "profinet_io_cm",
        capture: "profinet/profinet_io_cm_connect_minimal.pcapng",
        log: "icsnpp-profinet-io-cm/tests.profinet_io_cm_connect_minimal/profinet_io_cm.log",
        event: "profinet_io_cm",
        zeek: |r, k| k.push(col(r, 10).to_string()),
        eve: eve_request_response,
    },
    ZeekCase {
        name: "profinet_io_cm",
        capture: "profinet/profinet_io_cm_read.pcapng",
        log: "icsnpp-profinet-io-cm/tests.profinet_io_cm_read/profinet_io_cm.log",
        event: "profinet_io_cm",
        zeek: |r, k| k.push(col(r, 10).to_string()),
        eve: eve_request_response,
    },
    ZeekCase {
        name: "profinet_io_cm",
        capture: "profinet/profinet_io_cm_release.pcapng",
        log: "icsnpp-profinet-io-cm/tests.profinet_io_cm_release/profinet_io_cm.log",
        event: "profinet_io_cm",
        zeek: |r, k| k.push(col(r, 10).to_string()),
        eve: eve_request_response,
    },
];

fn zeek_bacnet(r: &[String], k: &mut Vec<String>) {
    match col(r, 12) {
        "CONFIRMED_REQUEST" => k.push(format!("cr {}", col(r, 13))),
        "UNCONFIRMED_REQUEST" => k.push(format!("ur {}", col(r, 13))),
        _ => {}
    }
}

fn eve_bacnet_names(v: &Value, k: &mut Vec<String>) {
    for part in ["request", "response"] {
        let p = &v["bacnet"][part];
        let svc = s(p, "pdu_service").unwrap_or("?");
        match s(p, "pdu_type") {
            Some("confirmed_request") => k.push(format!("cr {svc}")),
            Some("unconfirmed_request") => k.push(format!("ur {svc}")),
            _ => {}
        }
    }
}

fn zeek_s7comm(r: &[String], k: &mut Vec<String>) {
    if col(r, 6) != "T" {
        return;
    }
    match col(r, 11) {
        "1" => k.push(format!("job fc{}", num(col(r, 14)))),
        // Zeek logs the userdata type nibble with the group (0x44).
        "7" => k.push(s7_ud_key("ud", num(col(r, 14)) & 0x0f, num(col(r, 16)))),
        _ => {}
    }
}

fn eve_s7comm_zeek(v: &Value, k: &mut Vec<String>) {
    let mut keys = Vec::new();
    eve_s7comm(v, 0, &mut keys);
    k.extend(
        keys.into_iter()
            .map(|(key, _)| key)
            .filter(|key| !key.starts_with("resp_only")),
    );
}

/// `Request` and/or `Response` by the EVE record's `type`.
fn eve_request_response(v: &Value, k: &mut Vec<String>) {
    let t = v
        .as_object()
        .and_then(|o| o.get(v["event_type"].as_str().unwrap_or("")))
        .and_then(|p| p["type"].as_str())
        .unwrap_or("?");
    match t {
        "request" => k.push("Request".into()),
        "response" => k.push("Response".into()),
        "transaction" => {
            k.push("Request".into());
            k.push("Response".into());
        }
        x => k.push(x.into()),
    }
}

#[test]
fn ot_decoders_agree_with_zeek_icsnpp() {
    let Some(data) = testdata("ot_decoders_agree_with_zeek_icsnpp") else {
        return;
    };
    let zdir = data.join("expected/zeek");
    let exc = exceptions();
    let mut diffs = Vec::new();
    for z in ZEEK {
        let cap = data.join("pcaps/ot").join(z.capture);
        let log = zdir.join(z.log);
        if !cap.is_file() || !log.is_file() {
            eprintln!("SKIPPED zeek {}: {} or {} absent", z.name, z.capture, z.log);
            continue;
        }
        let mut zk = Vec::new();
        for r in zeek_rows(&log) {
            (z.zeek)(&r, &mut zk);
        }
        let run = replay(&[cap.as_path()], &["-q"]);
        assert_eq!(
            run.code, 0,
            "sensor failed on {}: {}",
            z.capture, run.stderr
        );
        let mut ek = Vec::new();
        for r in run.records.iter().filter(|r| r["event_type"] == z.event) {
            (z.eve)(r, &mut ek);
        }
        let count = |v: &[String]| {
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            for k in v {
                *m.entry(k.clone()).or_default() += 1;
            }
            m
        };
        let (zc, ec) = (count(&zk), count(&ek));
        let mut agree = 0;
        let mut keys: Vec<&String> = zc.keys().chain(ec.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let (a, b) = (
                zc.get(k).copied().unwrap_or(0),
                ec.get(k).copied().unwrap_or(0),
            );
            agree += a.min(b);
            if a != b {
                let (side, n) = if a > b {
                    ("zeek", a - b)
                } else {
                    ("sensor", b - a)
                };
                diffs.push((
                    z.capture.to_string(),
                    format!("zeek:{}", z.name),
                    side.to_string(),
                    k.clone(),
                    n,
                    format!("zeek {a}, sensor {b}"),
                ));
            }
        }
        eprintln!(
            "zeek {:>15} {}: zeek {} keys, sensor {} keys, {agree} agree",
            z.name,
            z.capture,
            zk.len(),
            ek.len()
        );
    }
    let (errors, used) = judge(diffs, &exc, true);
    eprintln!("documented Zeek exceptions matched: {used}");
    assert!(
        errors.is_empty(),
        "{} undocumented disagreement(s) with Zeek ICSNPP:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
