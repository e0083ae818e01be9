//! Captures of real OT protocol stacks from PyPI talking between two network
//! namespaces (tests/captures/ot-*.pcap, made by tests/captures/make-ot.sh
//! with the scenarios in tests/captures/ot/*.py): each decodes to exactly
//! the operations the script performed, and the shipped OT pack raises
//! exactly the expected behaviour alerts on them (default variables: no
//! HMI / SCADA / engineering hosts configured, OT_NET = everything).
//!
//! Client 10.78.0.1, server 10.78.0.2; no other address may appear.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use common::replay;

const CLIENT: &str = "10.78.0.1";
const SERVER: &str = "10.78.0.2";

fn run(proto: &str) -> Vec<Value> {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/captures")
        .join(format!("ot-{proto}.pcap"));
    let r = replay(&[&pcap], &["--workers", "2"]);
    assert_eq!(r.code, 0, "{proto}: {}", r.stderr);
    assert!(!r.records.is_empty(), "{proto}: no records");
    for e in &r.records {
        for k in ["src_ip", "dest_ip"] {
            if let Some(ip) = e[k].as_str() {
                assert!(
                    ip == CLIENT || ip == SERVER,
                    "{proto}: foreign address {ip}: {e}"
                );
            }
        }
    }
    r.records
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|e| e["event_type"] == t).collect()
}

/// Every alert, in EVE order, as (signature_id, ot_function); checks that
/// each is a client -> server OT pack alert on the protocol's one flow.
fn alerts(records: &[Value], app_proto: &str) -> Vec<(u64, String)> {
    let flows = of_type(records, "flow");
    assert_eq!(flows.len(), 1, "{flows:?}");
    let flow = flows[0];
    assert_eq!(flow["app_proto"], app_proto, "{flow}");
    of_type(records, "alert")
        .into_iter()
        .map(|a| {
            assert_eq!(a["src_ip"], CLIENT, "{a}");
            assert_eq!(a["dest_ip"], SERVER, "{a}");
            assert_eq!(a["flow_id"], flow["flow_id"], "{a}");
            assert_eq!(a["app_proto"], app_proto, "{a}");
            assert_eq!(a["alert"]["category"], "OT behaviour", "{a}");
            let md = &a["alert"]["metadata"];
            let pack = md["pack"][0].as_str().unwrap();
            assert!(pack.starts_with("ot/"), "{a}");
            (
                a["alert"]["signature_id"].as_u64().unwrap(),
                md["ot_function"][0].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(u64, &str)]) -> Vec<(u64, String)> {
    v.iter().map(|(s, f)| (*s, f.to_string())).collect()
}

/// pymodbus: read 0 x10, write single register 9 (= 40010, 1-based Modicon
/// numbering) = 1234, read 9 x1, write multiple 20..22, diagnostics restart.
#[test]
fn modbus_pymodbus() {
    let recs = run("modbus");
    let ops = of_type(&recs, "modbus");
    let got: Vec<(String, Value)> = ops
        .iter()
        .map(|e| {
            let req = &e["modbus"]["request"];
            assert_eq!(req["unit_id"], 1, "{e}");
            assert_eq!(req["error_flags"], "NONE", "{e}");
            assert_eq!(e["src_ip"], CLIENT, "{e}");
            assert_eq!(e["dest_port"], 502, "{e}");
            let body = req
                .get("read")
                .or(req.get("write"))
                .or(req.get("diagnostic"))
                .cloned()
                .unwrap_or(Value::Null);
            (req["function_code"].as_str().unwrap().to_string(), body)
        })
        .collect();
    let want = vec![
        (
            "RdHoldRegs".to_string(),
            json!({"address": 0, "quantity": 10}),
        ),
        (
            "WrSingleReg".to_string(),
            json!({"address": 9, "data": 1234}),
        ),
        (
            "RdHoldRegs".to_string(),
            json!({"address": 9, "quantity": 1}),
        ),
        // multiple write: `data` is the register count (see proto/modbus)
        ("WrMultRegs".to_string(), json!({"address": 20, "data": 3})),
        (
            "Diagnostic".to_string(),
            json!({"raw": 1, "code": "RestartCommOpt", "data": "\u{0}\u{0}"}),
        ),
    ];
    assert_eq!(got, want);
    // Every request was answered; the single-register write echoes 1234.
    for e in &ops {
        let resp = &e["modbus"]["response"];
        assert_eq!(
            resp["function_code"], e["modbus"]["request"]["function_code"],
            "{e}"
        );
    }
    assert_eq!(
        ops[1]["modbus"]["response"]["write"],
        json!({"address": 9, "data": 1234})
    );
    assert_eq!(
        ops[2]["modbus"]["response"]["read"]["data"], "\u{4}\\xd2",
        "read back 0x04d2"
    );
    // One write alert for the pair (both writes: per-pair suppression), one
    // for the restart. Nothing for reads.
    assert_eq!(
        alerts(&recs, "modbus"),
        pairs(&[
            (9300001, "write_single_register"),
            (9300002, "restart_communications_option"),
        ])
    );
}

/// python-snap7: setup communication, read DB1.DBB0 x16, write DB1.DBW4 =
/// 1234, read it back, PLC stop, PLC hot start.
#[test]
fn s7_python_snap7() {
    let recs = run("s7");
    let ops = of_type(&recs, "s7comm");
    let names: Vec<&str> = ops
        .iter()
        .map(|e| {
            assert_eq!(e["src_ip"], CLIENT, "{e}");
            assert_eq!(e["dest_port"], 102, "{e}");
            assert_eq!(e["s7comm"]["rosctr_name"], "Job-Request", "{e}");
            e["s7comm"]["function_name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "Setup Communication",
            "Read Variable",
            "Write Variable",
            "Read Variable",
            "PLC Stop",
            "PLC Control",
        ]
    );
    let item = |i: usize| ops[i]["s7comm"]["items"][0].clone();
    assert_eq!(
        item(1),
        json!({"area": "DB", "db_number": 1, "byte_address": 0,
               "transport_size": "BYTE", "length": 16, "return_code": 255})
    );
    assert_eq!(
        item(2),
        json!({"area": "DB", "db_number": 1, "byte_address": 4,
               "transport_size": "BYTE", "length": 2, "return_code": 255})
    );
    // The written bytes 0x04 0xd2 (1234); compared as numbers: the EVE
    // record renders them as floats ([4.0,210.0]).
    let values: Vec<f64> = ops[2]["s7comm"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values, [4.0, 210.0], "1234 = 0x04d2");
    assert_eq!(ops[4]["s7comm"]["function_code"], 41);
    assert_eq!(ops[5]["s7comm"]["function_code"], 40);
    assert_eq!(ops[5]["s7comm"]["pi_service"], "P_PROGRAM");
    // Write, stop, start. No program download, so no stop/download/start
    // sequence (9300305); no SZL reads.
    assert_eq!(
        alerts(&recs, "s7comm"),
        pairs(&[
            (9300308, "write_var"),
            (9300301, "plc_stop"),
            (9300302, "plc_start"),
        ])
    );
}

/// c104: STARTDT, general interrogation, C_SC_NA_1 IOA 20 ON select then
/// execute.
#[test]
fn iec104_c104() {
    let recs = run("iec104");
    let apdus = of_type(&recs, "iec104");
    // Records carry the flow's addresses (client -> server) whichever side
    // sent the APDU; the cause of transmission tells requests from replies.
    let got: Vec<(String, String, Value)> = apdus
        .iter()
        .map(|e| {
            let a = &e["iec104"];
            assert_eq!(e["src_ip"], CLIENT, "{e}");
            assert_eq!(e["dest_port"], 2404, "{e}");
            let what = a["type_name"]
                .as_str()
                .or(a["u_function"].as_str())
                .unwrap()
                .to_string();
            if a["apci_type"] == "I" {
                assert_eq!(a["common_address"], 47, "{e}");
                assert_eq!(a["negative"], false, "{e}");
                assert_eq!(a["test"], false, "{e}");
            }
            (
                what,
                a["cot_name"].as_str().unwrap_or("").to_string(),
                a["objects"][0].clone(),
            )
        })
        .collect();
    let sc = |select: bool| json!({"ioa": 20, "value": 1, "select": select, "qualifier": 0});
    let gi = json!({"ioa": 0, "value": 20});
    let want: Vec<(String, String, Value)> = vec![
        ("startdt_act", "", Value::Null),
        ("startdt_con", "", Value::Null),
        ("C_IC_NA_1", "act", gi.clone()),
        ("C_IC_NA_1", "actcon", gi.clone()),
        ("M_SP_NA_1", "inrogen", json!({"ioa": 12, "value": 0})),
        ("M_ME_NC_1", "inrogen", json!({"ioa": 11, "value": 42.5})),
        ("C_IC_NA_1", "actterm", gi),
        ("C_SC_NA_1", "act", sc(true)),
        ("C_SC_NA_1", "actcon", sc(true)),
        ("C_SC_NA_1", "act", sc(false)),
        ("C_SC_NA_1", "actcon", sc(false)),
        // c104 terminates the command with the S/E bit of the select set
        // (SCO 0x81 on the wire).
        ("C_SC_NA_1", "actterm", sc(true)),
    ]
    .into_iter()
    .map(|(w, c, o)| (w.to_string(), c.to_string(), o))
    .collect();
    assert_eq!(got, want);
    // Interrogation and one command alert (select and execute are both
    // commands; the second is suppressed for the pair). No clock sync, no
    // reset, no test bit, no sweep.
    assert_eq!(
        alerts(&recs, "iec104"),
        pairs(&[(9300208, "c_ic_na_1"), (9300201, "c_sc_na_1")])
    );
}

/// asyncua: session, browse Objects and Plant, read and write Setpoint,
/// call Plant.Reset.
#[test]
fn opcua_asyncua() {
    let recs = run("opcua");
    let txs = of_type(&recs, "opcua");
    let got: Vec<&str> = txs
        .iter()
        .map(|e| {
            assert_eq!(e["src_ip"], CLIENT, "{e}");
            assert_eq!(e["dest_port"], 4840, "{e}");
            let req = &e["opcua"]["request"];
            req["identifier_str"]
                .as_str()
                .or(req["msg_type"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(
        got,
        [
            "HEL",
            "OpenSecureChannelRequest",
            "CreateSessionRequest",
            "ActivateSessionRequest",
            "ReadRequest",
            "BrowseRequest",
            "TranslateBrowsePathsToNodeIdsRequest",
            "BrowseRequest",
            "ReadRequest",
            "WriteRequest",
            "ReadRequest",
            "CallRequest",
            "CloseSessionRequest",
            "CloseSecureChannelRequest",
        ]
    );
    for e in &txs[1..] {
        assert_eq!(
            e["opcua"]["sec_policy_uri"], "http://opcfoundation.org/UA/SecurityPolicy#None",
            "{e}"
        );
    }
    let by_handle: BTreeMap<u64, &Value> = txs
        .iter()
        .filter_map(|e| {
            Some((
                e["opcua"]["request"]["request_handle"].as_u64()?,
                &e["opcua"],
            ))
        })
        .collect();
    assert_eq!(by_handle[&5]["request"]["nodes"], json!(["i=85"]));
    assert_eq!(by_handle[&7]["request"]["nodes"], json!(["ns=2;s=Plant"]));
    let write = by_handle[&9];
    assert_eq!(write["request"]["identifier_str"], "WriteRequest");
    assert_eq!(write["request"]["nodes"], json!(["ns=2;s=Setpoint"]));
    assert_eq!(write["request"]["values"], json!(["1234.5"]));
    assert_eq!(write["response"]["results"], json!(["Good"]));
    assert_eq!(by_handle[&10]["response"]["values"], json!(["1234.5"]));
    let call = by_handle[&11];
    assert_eq!(call["request"]["identifier_str"], "CallRequest");
    assert_eq!(call["request"]["nodes"], json!(["ns=2;s=Plant"]));
    assert_eq!(call["request"]["methods"], json!(["ns=2;s=Reset"]));
    assert_eq!(call["response"]["values"], json!(["true"]));
    // Browse (TranslateBrowsePaths and the second Browse suppressed for the
    // pair), write, call. Reads and session services raise nothing.
    assert_eq!(
        alerts(&recs, "opcua"),
        pairs(&[(9300603, "browse"), (9300601, "write"), (9300602, "call")])
    );
}
