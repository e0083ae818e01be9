//! The demo capture (real DNS/HTTP/TLS stacks in network namespaces, made by
//! tests/captures/make-demo.sh) against the demo IOC list: exactly the
//! expected alerts, with actor metadata, and none for the benign names.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::replay;

#[test]
fn demo_capture_raises_the_expected_alerts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap = root.join("tests/captures/demo-ioc.pcap");
    let ioc = root.join("deploy/demo/ioc-demo.txt");
    let r = replay(
        &[&pcap],
        &["--ioc", ioc.to_str().unwrap(), "--workers", "2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts: Vec<_> = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    let got: BTreeSet<(String, String, String)> = alerts
        .iter()
        .map(|a| {
            let md = &a["alert"]["metadata"];
            (
                md["matched_field"][0].as_str().unwrap().to_string(),
                md["ioc_value"][0].as_str().unwrap().to_string(),
                md["actor"][0].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("dns.query", "tcjst.com", "kimsuky"),
        ("dns.query", "safe-naver-mail.pe.hu", "kimsuky"),
        ("dns.query", "korea.getenjoyment.net", "kimsuky"),
        ("dns.query", "celasllc.com", "lazarus"),
        ("dns.query", "bitfiniex.org", "lazarus"),
        ("dns.query", "admin-ru.ru", "gamaredon"),
        ("dns.query", "check-update.ru", "gamaredon"),
        ("dns.query", "email-attachments.ru", "gamaredon"),
        ("http.hostname", "tcjst.com", "kimsuky"),
        ("http.hostname", "check-update.ru", "gamaredon"),
        ("http.url", "ando.co.kr/service/s_top.asp", "lazarus"),
        ("tls.sni", "safe-naver-mail.pe.hu", "kimsuky"),
        ("tls.sni", "email-attachments.ru", "gamaredon"),
        ("tls.sni", "celasllc.com", "lazarus"),
        ("tls.sni", "bitfiniex.org", "lazarus"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
    // korea.getenjoyment.net is asked twice (UDP and TCP): 16 alerts.
    assert_eq!(alerts.len(), 16);
    for a in &alerts {
        assert_eq!(a["alert"]["metadata"]["source"][0], "maltrail", "{a}");
        assert!(a["community_id"].as_str().unwrap().starts_with("1:"), "{a}");
        let sig = a["alert"]["signature"].as_str().unwrap();
        assert!(sig.starts_with("IOC "), "{sig}");
    }
    // The benign names were seen but raised nothing.
    let dns: BTreeSet<&str> = r
        .records
        .iter()
        .filter_map(|e| e["dns"]["queries"][0]["rrname"].as_str())
        .collect();
    assert!(dns.contains("updates.plant.example"), "{dns:?}");
    for a in &alerts {
        for v in [
            &a["dns"]["queries"][0]["rrname"],
            &a["tls"]["sni"],
            &a["http"]["hostname"],
        ] {
            if let Some(name) = v.as_str() {
                assert!(
                    !name.ends_with("plant.example"),
                    "alert on a benign name: {a}"
                );
            }
        }
    }
}
