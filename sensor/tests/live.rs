//! Live capture in a network namespace: `sensor run -i` on one end of a
//! veth pair, `tcpreplay` of the demo capture into the other end. The sensor
//! must count every packet sent, drop none at this modest rate, and produce
//! the same alerts and flow records as `sensor replay` of the same file
//! (timestamps and flow ids aside). SIGTERM ends it cleanly.
//! Needs root and tcpreplay; skipped with a visible message otherwise.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A namespace with one end of a veth pair; the other end stays here.
struct Veth {
    ns: String,
    here: String,
    there: String,
}

impl Veth {
    fn new(tag: &str) -> Option<Veth> {
        let id = std::process::id() % 100_000;
        let v = Veth {
            ns: format!("sensor-live-{tag}-{id}"),
            here: format!("sl{tag}{id}a"),
            there: format!("sl{tag}{id}b"),
        };
        let ok = sh(&["ip", "netns", "add", &v.ns])
            && sh(&["ip", "link", "add", &v.here, "type", "veth", "peer", "name", &v.there])
            && sh(&["ip", "link", "set", &v.there, "netns", &v.ns])
            // No IPv6 on either end: no router solicitations or MLD reports
            // mixed into what is counted.
            && sh(&["sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", v.here)])
            && sh(&["ip", "netns", "exec", &v.ns, "sysctl", "-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", v.there)])
            && sh(&["ip", "link", "set", &v.here, "up"])
            && sh(&["ip", "netns", "exec", &v.ns, "ip", "link", "set", &v.there, "up"]);
        if ok {
            Some(v)
        } else {
            drop(v);
            None
        }
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        sh(&["ip", "link", "del", &self.here]);
        sh(&["ip", "netns", "del", &self.ns]);
    }
}

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED live capture test: needs root");
        return false;
    }
    if !sh(&["tcpreplay", "--version"]) {
        eprintln!(
            "SKIPPED live capture test: tcpreplay is not installed (tests/run.sh installs it)"
        );
        return false;
    }
    true
}

/// What must be equal between live capture and replay.
fn essence(records: &[Value]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| {
            matches!(
                r["event_type"].as_str(),
                Some("alert" | "flow" | "dns" | "http" | "tls")
            )
        })
        .map(|r| {
            let mut r = r.clone();
            if let Some(o) = r.as_object_mut() {
                for k in ["timestamp", "flow_id", "pcap_cnt"] {
                    o.remove(k);
                }
                if let Some(f) = o.get_mut("flow").and_then(|f| f.as_object_mut()) {
                    for k in ["start", "end", "age", "reason"] {
                        f.remove(k);
                    }
                }
            }
            r.to_string()
        })
        .collect()
}

/// A finished `sensor run`: its standard error and EVE records.
struct LiveRun {
    stderr: String,
    records: Vec<Value>,
}

/// After setup no thread of process `pid` holds a capability.
fn assert_no_capabilities(pid: u32) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    for t in tasks.flatten() {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .unwrap_or("")
            .trim()
            .to_string();
        if !eff.is_empty() {
            assert_eq!(
                eff,
                "0000000000000000",
                "thread {} keeps capabilities",
                comm.trim()
            );
        }
    }
}

/// Start `sensor run -i` on the near end with `args`, replay `pcap` into the
/// far end from inside the namespace, check the interface while running
/// (`while_running`), stop with SIGTERM and collect the output.
fn live_run(v: &Veth, args: &[&str], pcap: &Path, while_running: impl FnOnce(u32)) -> LiveRun {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let mut child = common::sensor()
        .args([
            "run",
            "-i",
            &v.here,
            "--workers",
            "2",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .arg("--log-dir")
        .arg(dir.path())
        .args(args)
        .arg("--eve")
        .arg(&eve)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sensor run");
    // Give the socket time to bind and the program time to attach.
    std::thread::sleep(Duration::from_millis(700));
    while_running(child.id());
    let sent = Command::new("ip")
        .args([
            "netns",
            "exec",
            &v.ns,
            "tcpreplay",
            "-q",
            "--pps",
            "500",
            "-i",
            &v.there,
        ])
        .arg(pcap)
        .output()
        .expect("run tcpreplay");
    assert!(
        sent.status.success(),
        "tcpreplay: {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "sensor did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    LiveRun { stderr, records }
}

/// The packet count `sensor replay` reports for `pcap`.
fn replay_packets(pcap: &Path, extra: &[&str]) -> (String, common::Run) {
    let r = common::replay(&[pcap], extra);
    let n = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("packets "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    (n, r)
}

/// The live run saw exactly `want` packets and dropped none.
fn assert_all_packets(live: &LiveRun, want: &str) {
    let line = live
        .stderr
        .lines()
        .find(|l| l.starts_with("packets "))
        .unwrap_or("");
    assert!(
        line.starts_with(&format!("packets {want} ")),
        "live: {line}\n{}",
        live.stderr
    );
    assert!(live.stderr.contains(" drops 0 "), "{}", live.stderr);
}

fn xdp_shown(iface: &str) -> bool {
    let out = Command::new("ip")
        .args(["link", "show", "dev", iface])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("xdp")
}

#[test]
fn afpacket_capture_matches_replay() {
    if !can_run() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap = root.join("tests/captures/demo-ioc.pcap");
    let ioc = root.join("deploy/demo/ioc-demo.txt");
    let ioc = ioc.to_str().unwrap();
    let Some(v) = Veth::new("a") else {
        panic!("could not create the test namespace and veth pair");
    };
    let live = live_run(
        &v,
        &["--capture", "afpacket", "--ioc", ioc],
        &pcap,
        assert_no_capabilities,
    );
    let (want, replayed) = replay_packets(&pcap, &["--ioc", ioc, "--workers", "2"]);
    assert_all_packets(&live, &want);
    let alerts = live
        .records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .count();
    assert_eq!(alerts, 16, "live alerts");
    let a = essence(&live.records);
    let b = essence(&replayed.records);
    let only_live: Vec<_> = a.difference(&b).collect();
    let only_replay: Vec<_> = b.difference(&a).collect();
    assert!(
        only_live.is_empty() && only_replay.is_empty(),
        "live and replay differ:\nonly live: {only_live:#?}\nonly replay: {only_replay:#?}"
    );
}

#[test]
fn pcap_capture_matches_replay() {
    if !can_run() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap = root.join("tests/captures/demo-ioc.pcap");
    let ioc = root.join("deploy/demo/ioc-demo.txt");
    let ioc = ioc.to_str().unwrap();
    let Some(v) = Veth::new("p") else {
        panic!("could not create the test namespace and veth pair");
    };
    let live = live_run(&v, &["--capture", "pcap", "--ioc", ioc], &pcap, |_| {});
    assert!(
        live.stderr.contains("capturing with libpcap"),
        "{}",
        live.stderr
    );
    let (want, replayed) = replay_packets(&pcap, &["--ioc", ioc, "--workers", "2"]);
    assert_all_packets(&live, &want);
    let a = essence(&live.records);
    let b = essence(&replayed.records);
    assert_eq!(a, b, "libpcap capture and replay differ");
}

#[test]
fn xdp_mode_kernel_ioc_alerts_and_clean_detach() {
    if !can_run() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap = root.join("tests/captures/demo-ioc.pcap");
    let dir = tempfile::tempdir().unwrap();
    // The demo server's address as a prefix: the XDP program's trie hits it.
    let ioc = dir.path().join("ioc.txt");
    std::fs::write(&ioc, "# actor: test\n10.77.0.0/24\n").unwrap();
    let Some(v) = Veth::new("x") else {
        panic!("could not create the test namespace and veth pair");
    };
    let live = live_run(
        &v,
        &["--capture", "xdp", "--ioc", ioc.to_str().unwrap()],
        &pcap,
        |pid| {
            assert!(xdp_shown(&v.here), "no XDP program attached while running");
            assert_no_capabilities(pid);
        },
    );
    assert!(
        live.stderr.contains("XDP kernel fast path attached"),
        "{}",
        live.stderr
    );
    // Packets reach userspace through AF_XDP (veth: copy mode).
    assert!(
        live.stderr.contains("capturing with AF_XDP"),
        "{}",
        live.stderr
    );
    assert!(
        !xdp_shown(&v.here),
        "XDP program left attached after SIGTERM"
    );
    let kernel: Vec<&Value> = live
        .records
        .iter()
        .filter(|r| {
            r["event_type"] == "alert"
                && r["alert"]["metadata"]["matched_field"][0]
                    .as_str()
                    .is_some_and(|f| f.starts_with("kernel."))
        })
        .collect();
    assert!(
        !kernel.is_empty(),
        "no kernel-side IOC alert in {} records",
        live.records.len()
    );
    for a in &kernel {
        assert_eq!(
            a["alert"]["metadata"]["ioc_value"][0], "10.77.0.0/24",
            "{a}"
        );
        assert_eq!(a["alert"]["metadata"]["actor"][0], "test", "{a}");
    }
    // Repeats of one conversation are not re-alerted within a minute.
    let distinct: BTreeSet<String> = kernel
        .iter()
        .map(|a| {
            let md = &a["alert"]["metadata"]["matched_field"][0];
            format!(
                "{} {} {} {} {} {md}",
                a["src_ip"], a["src_port"], a["dest_ip"], a["dest_port"], a["proto"]
            )
        })
        .collect();
    assert_eq!(distinct.len(), kernel.len(), "duplicate kernel alerts");
    // Packets still reach userspace: the same count as replay of the file.
    let (want, _) = replay_packets(&pcap, &["--workers", "1"]);
    assert_all_packets(&live, &want);
}

#[test]
fn nonexistent_interface_is_a_clear_error() {
    if !can_run() {
        return;
    }
    let out = common::sensor()
        .args([
            "run",
            "-i",
            "no-such-if0",
            "--capture",
            "afpacket",
            "--eve",
            "/dev/null",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-if0"), "{err}");
}

#[test]
fn bypassed_tls_flow_is_dropped_in_the_kernel() {
    if !can_run() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pcap = root.join("tests/captures/demo-ioc.pcap");
    let dir = tempfile::tempdir().unwrap();
    // The demo's historian TLS session: 22 packets, of which the ones after
    // the handshake are no longer needed once it is logged.
    let cfg = dir.path().join("sensor.toml");
    std::fs::write(
        &cfg,
        "[bypass]\ntls_sni = [\"historian.plant.example\"]\nidle_timeout = 30\n",
    )
    .unwrap();
    let Some(v) = Veth::new("b") else {
        panic!("could not create the test namespace and veth pair");
    };
    let live = live_run(
        &v,
        &["--capture", "xdp", "--config", cfg.to_str().unwrap()],
        &pcap,
        |_| {},
    );
    // The kernel dropped packets of the bypassed flow and said so.
    let xdp_line = live
        .stderr
        .lines()
        .find(|l| l.contains("XDP program:"))
        .unwrap_or_else(|| panic!("no XDP summary line:\n{}", live.stderr));
    let bypassed: u64 = xdp_line
        .split("bypass ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bypass count in {xdp_line:?}"));
    assert!(bypassed > 0, "{xdp_line}");
    // Userspace saw that many packets fewer than were sent.
    let (want, _) = replay_packets(&pcap, &["--workers", "1"]);
    let want: u64 = want.parse().unwrap();
    let seen: u64 = live
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("packets "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert_eq!(seen + bypassed, want, "{}", live.stderr);
    // The flow record says the flow was bypassed; the TLS record is there.
    let tls = live
        .records
        .iter()
        .find(|r| r["event_type"] == "tls" && r["tls"]["sni"] == "historian.plant.example")
        .expect("tls record of the bypassed flow");
    let flow = live
        .records
        .iter()
        .find(|r| r["event_type"] == "flow" && r["flow_id"] == tls["flow_id"])
        .expect("flow record of the bypassed flow");
    assert_eq!(flow["flow"]["bypass"], "capture", "{flow}");
    assert!(
        live.records
            .iter()
            .filter(|r| r["event_type"] == "flow" && r["flow_id"] != tls["flow_id"])
            .all(|r| r["flow"].get("bypass").is_none()),
        "only the allowlisted flow is bypassed"
    );
}
