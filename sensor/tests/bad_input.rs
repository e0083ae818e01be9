//! Each kind of bad input gives a clear message and a defined exit code.

mod common;

use std::io::Write;

use common::{pcap_header, replay, sensor};

/// A UDP/IPv4 DNS query frame for `www.example.org`.
fn dns_frame() -> Vec<u8> {
    let mut dns = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in ["www", "example", "org"] {
        dns.push(l.len() as u8);
        dns.extend_from_slice(l.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]);
    let udp_len = 8 + dns.len();
    let ip_len = 20 + udp_len;
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 53]);
    f.extend_from_slice(&[0xc0, 0x00, 0, 53, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    f.extend_from_slice(&dns);
    f
}

fn record(v: &mut Vec<u8>, sec: u32, data: &[u8]) {
    v.extend_from_slice(&sec.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
}

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f
}

#[test]
fn nonexistent_file_exits_2_and_names_it() {
    let r = replay(&[std::path::Path::new("/nonexistent/capture.pcap")], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("/nonexistent/capture.pcap: cannot open"),
        "{}",
        r.stderr
    );
}

#[test]
fn truncated_pcap_processes_what_it_can_and_exits_3() {
    let mut v = pcap_header(1);
    record(&mut v, 1, &dns_frame());
    record(&mut v, 2, &dns_frame());
    v.truncate(v.len() - 10);
    let f = file_with(&v);
    let r = replay(&[f.path()], &["--workers", "1"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("record 2 at offset"), "{}", r.stderr);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    // The first packet was processed: its DNS query was logged.
    let dns: Vec<_> = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "dns")
        .collect();
    assert_eq!(dns.len(), 1, "{:?}", r.records);
    assert_eq!(dns[0]["dns"]["queries"][0]["rrname"], "www.example.org");
}

#[test]
fn garbage_record_length_exits_3() {
    let mut v = pcap_header(1);
    record(&mut v, 1, &dns_frame());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&0x4000_0000u32.to_le_bytes());
    v.extend_from_slice(&0x4000_0000u32.to_le_bytes());
    v.extend_from_slice(&[0xee; 64]);
    let f = file_with(&v);
    let r = replay(&[f.path()], &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("impossible length 1073741824"),
        "{}",
        r.stderr
    );
}

#[test]
fn unknown_link_type_exits_2() {
    let f = file_with(&pcap_header(105));
    let r = replay(&[f.path()], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("unsupported link type 105"),
        "{}",
        r.stderr
    );
}

#[test]
fn not_a_capture_exits_2() {
    let f = file_with(b"GET / HTTP/1.1\r\n\r\n this is text, not a capture");
    let r = replay(&[f.path()], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a pcap or pcapng file"),
        "{}",
        r.stderr
    );
}

#[test]
fn garbage_packets_become_anomalies_not_crashes() {
    let mut v = pcap_header(1);
    let mut seed = 0x1234_5678_9abc_def0u64;
    for i in 0..2000u32 {
        let mut frame = dns_frame();
        // Corrupt a few bytes of the L2-L4 headers.
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % 42;
            frame[at] = (seed >> 32) as u8;
        }
        let cut = 14 + (i as usize % 60);
        record(&mut v, i, &frame[..cut.min(frame.len())]);
    }
    let f = file_with(&v);
    let r = replay(&[f.path()], &["--workers", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let anomalies = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .count();
    assert!(anomalies > 100, "expected anomaly events, got {anomalies}");
    for a in r.records.iter().filter(|e| e["event_type"] == "anomaly") {
        assert!(
            a["anomaly"]["event"]
                .as_str()
                .unwrap()
                .starts_with("decoder."),
            "{a}"
        );
    }
}

#[test]
fn ioc_file_with_bad_lines_loads_the_good_ones_unless_strict() {
    let mut ioc = tempfile::Builder::new().suffix(".txt").tempfile().unwrap();
    writeln!(ioc, "# test list").unwrap();
    writeln!(ioc, "example.org").unwrap();
    writeln!(ioc, "not a valid indicator !!").unwrap();
    writeln!(ioc, "10.0.0.53").unwrap();
    let mut v = pcap_header(1);
    record(&mut v, 1, &dns_frame());
    let f = file_with(&v);
    let ioc_path = ioc.path().to_str().unwrap().to_string();
    let r = replay(&[f.path()], &["--ioc", &ioc_path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{ioc_path}:3:")), "{}", r.stderr);
    let alerts: Vec<_> = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    // The address and the domain (subdomain www.) both hit.
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let r = replay(&[f.path()], &["--ioc", &ioc_path, "--strict"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{ioc_path}:3:")), "{}", r.stderr);
    assert!(r.records.is_empty());
}

#[test]
fn bad_config_exits_2_with_file_and_line() {
    let mut c = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    write!(c, "[flow]\nmax_flows = 100000\nmax_flow = 5\n").unwrap();
    let out = sensor()
        .args(["config", "check"])
        .arg(c.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: line 3", c.path().display())),
        "{err}"
    );
    assert!(err.contains("max_flow"), "{err}");
    let mut v = pcap_header(1);
    record(&mut v, 1, &dns_frame());
    let f = file_with(&v);
    let r = replay(&[f.path()], &["--config", c.path().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn default_config_checks_ok() {
    let out = sensor().args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let mut c = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    c.write_all(&out.stdout).unwrap();
    let out = sensor()
        .args(["config", "check"])
        .arg(c.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_workers_flag() {
    let mut v = pcap_header(1);
    record(&mut v, 1, &dns_frame());
    let f = file_with(&v);
    let r = replay(&[f.path()], &["--workers", "0"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--workers"), "{}", r.stderr);
}
