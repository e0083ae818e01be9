//! Tests of the asset inventory as a whole: feeding, roles, identity,
//! bounds, export and persistence.

use std::net::IpAddr;

use rules::ot::{Attr, Op, OpClass};

use super::*;

const S: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * S;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn ep(m: &str, i: &str, port: u16) -> Endpoint {
    Endpoint {
        mac: Some(mac(m)),
        ip: ip(i),
        port,
    }
}

fn op(proto: &'static str, function: &'static str, class: OpClass) -> Op {
    Op::new(proto, function, 0, class)
}

fn read(proto: &'static str, unit: u32, address: u32) -> Op {
    let mut o = op(proto, "read_holding_registers", OpClass::Read);
    o.unit = Some(unit);
    o.address = Some(address);
    o.quantity = Some(10);
    o
}

const HMI_MAC: &str = "00:0c:29:00:00:10";
const PLC1_MAC: &str = "00:1b:1b:00:00:01";
const PLC2_MAC: &str = "00:00:bc:00:00:02";
const PLC3_MAC: &str = "00:80:f4:00:00:03";

fn hmi() -> Endpoint {
    ep(HMI_MAC, "10.0.0.10", 50_000)
}

fn plcs() -> [Endpoint; 3] {
    [
        ep(PLC1_MAC, "10.0.0.21", 502),
        ep(PLC2_MAC, "10.0.0.22", 502),
        ep(PLC3_MAC, "10.0.0.23", 502),
    ]
}

/// An HMI polling three PLCs with Modbus reads, writing once.
fn plant() -> (Inventory, Vec<AssetEvent>) {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    for (n, plc) in plcs().iter().enumerate() {
        inv.observe_flow(T0, &hmi(), plc, "modbus", &mut ev);
        for k in 0..5u64 {
            inv.observe_op(
                T0 + k * S,
                &hmi(),
                plc,
                &read("modbus", 1 + n as u32, 0),
                &mut ev,
            );
        }
    }
    let mut w = op("modbus", "write_single_register", OpClass::Write);
    w.unit = Some(1);
    w.values = vec![42.0];
    inv.observe_op(T0 + 10 * S, &hmi(), &plcs()[0], &w, &mut ev);
    (inv, ev)
}

#[test]
fn new_assets_keyed_by_mac_with_vendor() {
    let (inv, ev) = plant();
    let news: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            AssetEvent::New {
                asset, vendor, ip, ..
            } => Some((asset.to_string(), vendor.clone(), *ip)),
            _ => None,
        })
        .collect();
    assert_eq!(news.len(), 4, "{news:?}");
    assert_eq!(
        news[1],
        (
            PLC1_MAC.to_string(),
            Some("Siemens".to_string()),
            Some(ip("10.0.0.21"))
        )
    );
    let plc2 = inv.get(&AssetKey::Mac(mac(PLC2_MAC))).unwrap();
    assert_eq!(plc2.vendor.as_deref(), Some("Rockwell Automation"));
    assert_eq!(plc2.ips, vec![ip("10.0.0.22")]);
    assert_eq!(plc2.serves.len(), 1);
    assert_eq!(
        (plc2.serves[0].proto.as_str(), plc2.serves[0].port),
        ("modbus", Some(502))
    );
    assert_eq!(plc2.serves[0].count, 6, "one flow and five ops");
    assert_eq!((plc2.first_seen_ns, plc2.last_seen_ns), (T0, T0 + 4 * S));
    assert_eq!(
        inv.find_ip(ip("10.0.0.23")).unwrap().key,
        AssetKey::Mac(mac(PLC3_MAC))
    );
    // VMware's OUI for the HMI.
    assert!(inv
        .get(&AssetKey::Mac(mac(HMI_MAC)))
        .unwrap()
        .vendor
        .is_some());
}

#[test]
fn roles_hmi_and_plcs() {
    let (inv, ev) = plant();
    let h = inv.get(&AssetKey::Mac(mac(HMI_MAC))).unwrap();
    assert_eq!(h.role, Role::HmiScada);
    assert_eq!(h.confidence, 70);
    assert_eq!(
        h.reasons,
        vec![Reason::PollsManyServers, Reason::OperatorCommands]
    );
    assert_eq!(h.behaviour.polled.len(), 3);
    assert_eq!((h.behaviour.reads, h.behaviour.writes), (15, 1));
    for plc in plcs() {
        let a = inv.get(&AssetKey::Mac(plc.mac.unwrap())).unwrap();
        assert_eq!((a.role, a.confidence), (Role::PlcRtu, 60), "{}", a.key);
    }
    // Role events: each PLC once; the HMI went unknown → hmi_scada once
    // (confidence changes do not make events).
    let roles: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            AssetEvent::RoleChanged {
                asset, old, new, ..
            } => Some((*asset, *old, *new)),
            _ => None,
        })
        .collect();
    assert_eq!(roles.len(), 4, "{roles:?}");
    assert!(roles.contains(&(AssetKey::Mac(mac(HMI_MAC)), Role::Unknown, Role::HmiScada)));
    assert_eq!(
        inv.counts_by_role(),
        [
            (Role::Unknown, 0),
            (Role::PlcRtu, 3),
            (Role::HmiScada, 1),
            (Role::EngineeringWorkstation, 0),
            (Role::Historian, 0)
        ]
    );
}

#[test]
fn engineering_workstation_from_s7_functions() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let ews = ep("00:50:56:00:00:99", "10.0.0.99", 49_000);
    let plc = ep(PLC1_MAC, "10.0.0.21", 102);
    let mut szl = op("s7comm", "read_szl", OpClass::Discovery);
    szl.unit = Some(0);
    inv.observe_op(T0, &ews, &plc, &szl, &mut ev);
    inv.observe_op(
        T0 + S,
        &ews,
        &plc,
        &op("s7comm", "list_blocks", OpClass::Discovery),
        &mut ev,
    );
    inv.observe_op(
        T0 + 2 * S,
        &ews,
        &plc,
        &op("s7comm", "plc_stop", OpClass::ModeChange),
        &mut ev,
    );
    inv.observe_op(
        T0 + 3 * S,
        &ews,
        &plc,
        &op("s7comm", "download_block", OpClass::Download),
        &mut ev,
    );
    let a = inv.find_ip(ip("10.0.0.99")).unwrap();
    assert_eq!(a.role, Role::EngineeringWorkstation);
    assert_eq!(a.confidence, 95);
    assert_eq!(
        a.reasons,
        vec![
            Reason::EngineeringOps,
            Reason::S7BlockFunctions,
            Reason::SzlReads,
            Reason::DiscoveryRequests
        ]
    );
    let p = inv.find_ip(ip("10.0.0.21")).unwrap();
    assert_eq!(p.role, Role::PlcRtu);
    assert_eq!(p.addresses["s7comm"].units, vec![0]);
}

#[test]
fn historian_reads_many_points_for_long() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let hist = ep("00:15:5d:00:00:50", "10.0.1.50", 51_000);
    let plc = plcs();
    inv.observe_flow(
        T0,
        &hist,
        &ep("00:15:5d:00:00:60", "10.0.1.60", 4840),
        "opcua",
        &mut ev,
    );
    inv.observe_flow(
        T0,
        &hist,
        &ep("00:15:5d:00:00:61", "10.0.1.61", 1433),
        "",
        &mut ev,
    );
    for k in 0..100u32 {
        let t = T0 + u64::from(k) * 60 * S;
        inv.observe_op(
            t,
            &hist,
            &plc[(k % 2) as usize],
            &read("modbus", 1, k * 10),
            &mut ev,
        );
    }
    let a = inv.find_ip(ip("10.0.1.50")).unwrap();
    assert_eq!(a.behaviour.points, 500, "counted up to the threshold");
    assert_eq!(a.role, Role::Historian);
    assert_eq!(
        a.reasons,
        vec![
            Reason::ReadsOnly,
            Reason::ManyPoints,
            Reason::LongLivedPolling,
            Reason::OpcUaClient,
            Reason::SqlClient
        ]
    );
    assert_eq!(a.confidence, 95);
    // The SQL server on 1433 was recorded as serving `sql`.
    let sql = inv.find_ip(ip("10.0.1.61")).unwrap();
    assert_eq!(sql.serves[0].proto, "sql");
    // OPC UA alone does not make a PLC.
    assert_eq!(inv.find_ip(ip("10.0.1.60")).unwrap().role, Role::Unknown);
}

#[test]
fn iec104_and_dnp3_masters_and_unsolicited() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let scada = ep("00:0c:29:00:00:01", "10.0.2.1", 40_000);
    let rtu = ep("00:0c:29:00:00:02", "10.0.2.2", 2404);
    let outstation = ep("00:0c:29:00:00:03", "10.0.2.3", 20_000);
    let mut gi = op("iec104", "c_ic_na_1", OpClass::Read);
    gi.unit = Some(7);
    inv.observe_op(T0, &scada, &rtu, &gi, &mut ev);
    let mut unsol = op("dnp3", "unsolicited_response", OpClass::Report);
    unsol.response_only = true;
    unsol.unit = Some(10); // the outstation's (source) address
    inv.observe_op(T0, &scada, &outstation, &unsol, &mut ev);
    let mut r = op("dnp3", "read", OpClass::Read);
    r.unit = Some(11);
    inv.observe_op(T0 + S, &scada, &outstation, &r, &mut ev);
    let s = inv.find_ip(ip("10.0.2.1")).unwrap();
    assert_eq!(s.role, Role::HmiScada);
    assert!(s.reasons.contains(&Reason::Iec104ControllingStation));
    assert!(s.reasons.contains(&Reason::Dnp3Master));
    assert_eq!(s.confidence, 95);
    assert_eq!(
        inv.find_ip(ip("10.0.2.2")).unwrap().addresses["iec104"].units,
        vec![7]
    );
    let o = inv.find_ip(ip("10.0.2.3")).unwrap();
    assert_eq!(o.addresses["dnp3"].units, vec![10, 11]);
    assert_eq!(o.role, Role::PlcRtu);
    // The unsolicited response was not a read by the master.
    assert_eq!(s.behaviour.reads, 2);
}

#[test]
fn identity_learned_and_changed() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let (h, p) = (hmi(), plcs()[0]);
    let mut id = op("modbus", "read_device_identification", OpClass::Discovery);
    id.attrs = vec![
        ("id_vendor", Attr::Str("Schneider Electric".into())),
        ("id_product", Attr::Str("BMX P34 2020\0\0".into())),
        ("id_version", Attr::Str("v2.8".into())),
        ("id_serial", Attr::Int(123_456)),
    ];
    inv.observe_op(T0, &h, &p, &id, &mut ev);
    let changes: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            AssetEvent::IdentityChanged {
                field, old, new, ..
            } => Some((*field, old.clone(), new.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("vendor", None, "Schneider Electric".to_string()),
            ("product", None, "BMX P34 2020".to_string()),
            ("serial", None, "123456".to_string()),
            ("version", None, "v2.8".to_string()),
        ]
    );
    // The same answer again: nothing.
    ev.clear();
    inv.observe_op(T0 + S, &h, &p, &id, &mut ev);
    assert!(ev.is_empty(), "{ev:?}");
    // New firmware: one event with the old value.
    id.attrs[2].1 = Attr::Str("v2.9".into());
    inv.observe_op(T0 + 2 * S, &h, &p, &id, &mut ev);
    assert_eq!(ev.len(), 1);
    let json = serde_json::to_string(&ev[0]).unwrap();
    assert_eq!(
        json,
        r#"{"event":"identity_changed","asset":"00:1b:1b:00:00:01","ip":"10.0.0.21","field":"version","old":"v2.8","new":"v2.9"}"#
    );
    let a = inv.find_ip(ip("10.0.0.21")).unwrap();
    assert_eq!(
        a.identity.summary(),
        "Schneider Electric BMX P34 2020 fw v2.9 sn 123456"
    );
    // Identity raises the PLC's confidence.
    assert_eq!((a.role, a.confidence), (Role::PlcRtu, 70));
    // The client does not get the server's identity.
    assert!(inv.find_ip(ip("10.0.0.10")).unwrap().identity.is_empty());
}

#[test]
fn identity_events_are_capped_and_text_cleaned() {
    let mut inv = Inventory::new(InventoryConfig {
        max_identity_events_per_asset: 3,
        ..InventoryConfig::default()
    });
    let mut ev = Vec::new();
    for k in 0..10 {
        let mut o = op("enip", "list_identity", OpClass::Discovery);
        o.attrs = vec![(
            "id_name",
            Attr::Str(format!("plc\x1b[31m{k}{}", "x".repeat(500))),
        )];
        inv.observe_op(T0, &hmi(), &plcs()[1], &o, &mut ev);
    }
    let n = ev
        .iter()
        .filter(|e| matches!(e, AssetEvent::IdentityChanged { .. }))
        .count();
    assert_eq!(n, 3);
    assert_eq!(inv.stats().identity_events_suppressed, 7);
    let name = inv
        .find_ip(ip("10.0.0.22"))
        .unwrap()
        .identity
        .name
        .clone()
        .unwrap();
    assert_eq!(name.chars().count(), MAX_TEXT);
    assert!(name.starts_with("plc?[31m9"), "{name}");
}

#[test]
fn goose_and_mms_names() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let ied = mac("00:a0:45:00:00:07");
    for _ in 0..3 {
        let mut g = op("goose", "publish", OpClass::Report);
        g.object = Some("IED1CTRL/LLN0$GO$gcb01".into());
        g.response_only = true;
        inv.observe_l2_op(T0, ied, &g, &mut ev);
    }
    inv.observe_l2(T0, mac("01:0c:cd:01:00:01"), "goose", &mut ev);
    let mut m = op("mms", "read", OpClass::Read);
    m.object = Some("IED1CTRL/MMXU1$MX$TotW".into());
    inv.observe_op(
        T0 + S,
        &hmi(),
        &ep("00:a0:45:00:00:07", "10.0.3.7", 102),
        &m,
        &mut ev,
    );
    let a = inv.get(&AssetKey::Mac(ied)).unwrap();
    assert_eq!(a.addresses["goose"].names, vec!["IED1CTRL/LLN0$GO$gcb01"]);
    assert_eq!(a.addresses["mms"].names, vec!["IED1CTRL"]);
    assert_eq!(
        a.ips,
        vec![ip("10.0.3.7")],
        "the GOOSE publisher got its IP later"
    );
    assert_eq!(
        a.serves
            .iter()
            .map(|s| s.proto.as_str())
            .collect::<Vec<_>>(),
        vec!["goose", "mms"]
    );
    assert_eq!(a.role, Role::PlcRtu);
    assert!(a.reasons.contains(&Reason::GoosePublisher));
    assert_eq!(
        inv.stats().assets,
        2,
        "the multicast destination is no asset"
    );
    assert_eq!(inv.stats().ignored, 1);
}

#[test]
fn routed_hosts_keyed_by_ip() {
    let router = "00:00:5e:00:01:01";
    // With local_nets, hosts outside it are keyed by IP even with a MAC.
    let mut inv = Inventory::new(InventoryConfig {
        local_nets: vec!["10.0.0.0/24".parse().unwrap()],
        ..InventoryConfig::default()
    });
    let mut ev = Vec::new();
    inv.observe_flow(
        T0,
        &ep(router, "192.168.5.5", 40_000),
        &plcs()[0],
        "modbus",
        &mut ev,
    );
    assert!(inv.get(&AssetKey::Ip(ip("192.168.5.5"))).is_some());
    assert!(inv.get(&AssetKey::Mac(mac(router))).is_none());
    // Without it, a MAC with many IPv4 addresses becomes a gateway.
    let mut inv = Inventory::new(InventoryConfig::default());
    for k in 1..=10u8 {
        let remote = Endpoint {
            mac: Some(mac(router)),
            ip: IpAddr::from([192, 168, 5, k]),
            port: 40_000,
        };
        inv.observe_flow(T0, &remote, &plcs()[0], "modbus", &mut ev);
    }
    let r = inv.get(&AssetKey::Mac(mac(router))).unwrap();
    assert!(r.gateway);
    assert_eq!(r.ips.len(), 4);
    for k in 5..=10u8 {
        assert!(
            inv.get(&AssetKey::Ip(IpAddr::from([192, 168, 5, k])))
                .is_some(),
            "{k}"
        );
    }
    // Without a MAC at all (raw IP capture): keyed by IP, or found by IP.
    let no_mac = Endpoint {
        mac: None,
        ip: ip("10.0.0.21"),
        port: 502,
    };
    inv.observe_flow(T0, &hmi(), &no_mac, "modbus", &mut ev);
    assert_eq!(
        inv.find_ip(ip("10.0.0.21")).unwrap().key,
        AssetKey::Mac(mac(PLC1_MAC))
    );
}

#[test]
fn asset_nets_limit_what_is_tracked() {
    let mut inv = Inventory::new(InventoryConfig {
        asset_nets: vec!["10.0.0.0/8".parse().unwrap()],
        ..InventoryConfig::default()
    });
    let mut ev = Vec::new();
    inv.observe_flow(
        T0,
        &hmi(),
        &ep("00:00:5e:00:01:01", "8.8.8.8", 53),
        "dns",
        &mut ev,
    );
    inv.observe_flow(
        T0,
        &hmi(),
        &ep("00:00:5e:00:01:01", "10.0.0.255", 47808),
        "bacnet",
        &mut ev,
    );
    assert_eq!(inv.stats().assets, 2);
    assert_eq!(inv.stats().ignored, 1);
    assert_eq!(inv.find_ip(ip("10.0.0.10")).unwrap().uses[0].proto, "dns");
}

#[test]
fn bounded_memory() {
    let mut inv = Inventory::new(InventoryConfig {
        max_assets: 50,
        max_ips_per_asset: 3,
        max_services_per_asset: 4,
        max_addresses_per_proto: 5,
        ..InventoryConfig::default()
    });
    let mut ev = Vec::new();
    for k in 0..1_000u32 {
        let c = Endpoint {
            mac: None,
            ip: IpAddr::from([10, 9, (k >> 8) as u8, k as u8]),
            port: 1,
        };
        inv.observe_flow(T0, &c, &plcs()[0], "http", &mut ev);
    }
    assert_eq!(inv.stats().assets, 50);
    assert_eq!(
        inv.stats().overflow,
        951,
        "one endpoint per flow did not fit"
    );
    let news = ev
        .iter()
        .filter(|e| matches!(e, AssetEvent::New { .. }))
        .count();
    assert_eq!(news, 50);
    // One station with many IPv6 addresses, ports and units.
    let mut inv = Inventory::new(InventoryConfig {
        max_ips_per_asset: 3,
        max_services_per_asset: 4,
        max_addresses_per_proto: 5,
        ..InventoryConfig::default()
    });
    for k in 0..100u16 {
        let s = Endpoint {
            mac: Some(mac(PLC1_MAC)),
            ip: IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, k]),
            port: 1_000 + k,
        };
        inv.observe_op(T0, &hmi(), &s, &read("modbus", u32::from(k), 0), &mut ev);
    }
    let a = inv.get(&AssetKey::Mac(mac(PLC1_MAC))).unwrap();
    assert_eq!(a.ips.len(), 3);
    assert_eq!(a.ips_dropped, 97);
    assert!(!a.gateway, "IPv6 addresses do not make a router");
    assert_eq!(a.serves.len(), 4);
    assert_eq!(a.addresses["modbus"].units, vec![0, 1, 2, 3, 4]);
    // One PLC polled at 100 addresses is one polled server.
    assert_eq!(
        inv.find_ip(ip("10.0.0.10")).unwrap().behaviour.polled.len(),
        1
    );
}

#[test]
fn exports() {
    let (mut inv, mut ev) = plant();
    let mut id = op("modbus", "read_device_identification", OpClass::Discovery);
    id.attrs = vec![("id_name", Attr::Str("=cmd|' /C calc'!A0, \"pump\"".into()))];
    inv.observe_op(T0, &hmi(), &plcs()[0], &id, &mut ev);
    // JSON parses back and lists every asset.
    let mut buf = Vec::new();
    inv.export_json(&mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["assets"].as_array().unwrap().len(), 4);
    assert_eq!(v["counts_by_role"]["plc_rtu"], 3);
    assert_eq!(v["assets"][0]["key"], "00:00:bc:00:00:02");
    // CSV: header + one line per asset; the hostile name is quoted and
    // neutralised.
    let mut buf = Vec::new();
    inv.export_csv(&mut buf).unwrap();
    let csv = String::from_utf8(buf).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("key,mac,vendor,ips,role,confidence,reasons,"));
    let plc1 = lines.iter().find(|l| l.starts_with(PLC1_MAC)).unwrap();
    assert!(
        plc1.contains(r#","'=cmd|' /C calc'!A0, ""pump""","#),
        "{plc1}"
    );
    assert!(
        plc1.contains(",plc_rtu,70,serves_control_protocol identity_from_responses,"),
        "{plc1}"
    );
    assert!(
        plc1.ends_with(",2023-11-14T22:13:20.000000+0000,2023-11-14T22:13:30.000000+0000"),
        "{plc1}"
    );
    // Table: fixed columns.
    let t = inv.table();
    let rows: Vec<&str> = t.lines().collect();
    assert_eq!(rows.len(), 5);
    let col = |h: &str| rows[0].find(h).unwrap();
    assert_eq!(col("VENDOR"), 19);
    assert_eq!(col("IPS"), 41);
    for r in &rows[1..] {
        assert_eq!(&r[col("VENDOR") - 2..col("VENDOR")], "  ", "{r}");
        assert!(r.len() > col("LAST SEEN"), "{r}");
    }
    let plc1 = rows.iter().find(|l| l.starts_with(PLC1_MAC)).unwrap();
    assert!(plc1.contains("Siemens"), "{plc1}");
    assert!(plc1.contains("plc_rtu 70%"), "{plc1}");
    assert!(plc1.contains("srv modbus/502"), "{plc1}");
    assert!(
        plc1.contains("2023-11-14T22:13:20  2023-11-14T22:13:30"),
        "{plc1}"
    );
    println!("{t}");
}

#[test]
fn event_shapes() {
    let (_, ev) = plant();
    let json: Vec<String> = ev
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert_eq!(
        json[0],
        format!(
            r#"{{"event":"new","asset":"{HMI_MAC}","mac":"{HMI_MAC}","ip":"10.0.0.10","vendor":"VMware"}}"#
        )
    );
    let role = json.iter().find(|j| j.contains("role_changed")).unwrap();
    assert_eq!(
        role,
        r#"{"event":"role_changed","asset":"00:1b:1b:00:00:01","ip":"10.0.0.21","old":"unknown","new":"plc_rtu","confidence":60,"reasons":["serves_control_protocol"]}"#
    );
    assert_eq!(ev[0].ts_ns(), T0);
    assert_eq!(ev[0].ip(), Some(ip("10.0.0.10")));
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assets.json");
    let (inv, _) = plant();
    inv.save(&path).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let mut back = Inventory::load(&path, InventoryConfig::default()).unwrap();
    let export = |i: &Inventory| {
        let mut b = Vec::new();
        i.export_json(&mut b).unwrap();
        String::from_utf8(b).unwrap()
    };
    assert_eq!(export(&back), export(&inv));
    // After the restart known assets make no new events.
    let mut ev = Vec::new();
    back.observe_op(
        T0 + 100 * S,
        &hmi(),
        &plcs()[0],
        &read("modbus", 1, 0),
        &mut ev,
    );
    assert!(ev.is_empty(), "{ev:?}");
    assert_eq!(
        back.get(&AssetKey::Mac(mac(PLC1_MAC)))
            .unwrap()
            .last_seen_ns,
        T0 + 100 * S
    );
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("assets.json");
    std::fs::write(&path, text).unwrap();
    let e = Inventory::load(&path, InventoryConfig::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("assets.json"), "{e}");
    e
}

#[test]
fn bad_files_are_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.json");
    plant().0.save(&path).unwrap();
    let good = std::fs::read_to_string(&path).unwrap();
    let e = load_err(&good[..good.len() - 40]);
    assert!(e.contains("ends early") && e.contains("truncated"), "{e}");
    let e = load_err(&good.replace("\"version\": 1", "\"version\": 9"));
    assert!(
        e.contains("version 9; this sensor reads version 1 only (written by a newer sensor)"),
        "{e}"
    );
    let e = load_err(&good.replace("sensor-assets", "sensor-baseline"));
    assert!(e.contains("not a sensor-assets file"), "{e}");
    let e = load_err(&good.replacen("\"confidence\": 70", "\"confidence\": \"high\"", 1));
    assert!(
        e.contains("invalid type: string \"high\", expected u8"),
        "{e}"
    );
    let e = load_err(&good.replacen("\"role\": \"plc_rtu\"", "\"role\": \"robot\"", 1));
    assert!(e.contains("unknown variant `robot`"), "{e}");
    let e = load_err(&good.replacen(
        "\"mac\": \"00:00:bc:00:00:02\"",
        "\"mac\": \"00:00:bc:00:00\"",
        1,
    ));
    assert!(e.contains("invalid MAC address"), "{e}");
    let e = load_err(&good.replacen(
        "\"mac\": \"00:00:bc:00:00:02\"",
        "\"mac\": \"00:00:bc:00:00:03\"",
        1,
    ));
    assert!(
        e.contains("assets[0] (00:00:bc:00:00:02): the key is neither its MAC nor one of its IPs"),
        "{e}"
    );
    let e = Inventory::load(
        &path,
        InventoryConfig {
            max_assets: 2,
            ..InventoryConfig::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("4 assets, more than the configured max_assets of 2"),
        "{e}"
    );
}

#[test]
fn mac_and_key_text_forms() {
    assert_eq!(mac("00-1B-1B-0A-0b-0c").to_string(), "00:1b:1b:0a:0b:0c");
    for bad in [
        "",
        "00:1b:1b:0a:0b",
        "00:1b:1b:0a:0b:0c:0d",
        "0:1b:1b:0a:0b:0c",
        "zz:1b:1b:0a:0b:0c",
    ] {
        assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
    }
    assert_eq!(
        "10.0.0.1".parse::<AssetKey>().unwrap(),
        AssetKey::Ip(ip("10.0.0.1"))
    );
    assert_eq!(
        "fd00::1".parse::<AssetKey>().unwrap(),
        AssetKey::Ip(ip("fd00::1"))
    );
    assert!(matches!(
        "00:1b:1b:0a:0b:0c".parse::<AssetKey>(),
        Ok(AssetKey::Mac(_))
    ));
    assert!("plc".parse::<AssetKey>().is_err());
}

#[test]
fn profinet_dcp_requests_and_responses() {
    let mut inv = Inventory::new(InventoryConfig::default());
    let mut ev = Vec::new();
    let ews = mac("00:50:56:00:00:99");
    let device = mac("00:0e:8c:00:00:42");
    let mut identify = op("profinet_dcp", "identify", OpClass::Discovery);
    identify.attrs = vec![("xid", Attr::Int(1))];
    inv.observe_l2_op(T0, ews, &identify, &mut ev);
    let mut answer = op("profinet_dcp", "identify", OpClass::Discovery);
    answer.response_only = true;
    answer.attrs = vec![
        ("xid", Attr::Int(1)),
        ("ip", Attr::Str("192.168.0.6".into())),
        ("id_name", Attr::Str("x208-bord".into())),
        ("id_vendor", Attr::Str("0x002a".into())),
    ];
    inv.observe_l2_op(T0 + S, device, &answer, &mut ev);
    let e = inv.get(&AssetKey::Mac(ews)).unwrap();
    assert_eq!(e.uses[0].proto, "profinet_dcp");
    assert!(e.serves.is_empty());
    assert_eq!(
        (e.role, e.behaviour.discovery),
        (Role::EngineeringWorkstation, 1)
    );
    let d = inv.get(&AssetKey::Mac(device)).unwrap();
    assert_eq!(d.serves[0].proto, "profinet_dcp");
    assert_eq!(d.ips, vec![ip("192.168.0.6")]);
    assert_eq!(d.identity.name.as_deref(), Some("x208-bord"));
    assert_eq!((d.role, d.confidence), (Role::PlcRtu, 50));
    assert!(d.reasons.contains(&Reason::ProfinetDevice));
    // Later IP traffic of the device finds the same asset.
    assert_eq!(
        inv.find_ip(ip("192.168.0.6")).unwrap().key,
        AssetKey::Mac(device)
    );
}
