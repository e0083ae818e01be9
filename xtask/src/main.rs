//! Jobs around the build (never the build itself):
//!
//! - `cargo xtask bench-pcap --out F --size-mb N IN...`: a large benchmark
//!   capture made from real captures, each copy with its own addresses (so
//!   flows are distinct, not retransmissions) and later timestamps.
//! - `cargo xtask ioc-list --out F --count N`: a synthetic IOC list of N
//!   indicators (domains, addresses, CIDRs) for lookup-cost benchmarks.
//! - `cargo xtask bench --pcap F [--ioc F]`: end-to-end replay throughput
//!   with 1 and 2 workers, and Suricata's where it is installed.
//! - `cargo xtask live-bench --pcap F [--sensor BIN] [--suricata-config Y]`:
//!   live-capture throughput (root): per capture mode the highest
//!   tcpreplay rate into a veth pair at which `sensor run` counts every
//!   packet and drops none, CPU per thread, and a `--topspeed` run; the same
//!   for Suricata in AF_PACKET mode when given a config.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

mod live_bench;

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a large capture from real ones, rewriting IPv4 addresses per copy.
    BenchPcap {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 300)]
        size_mb: u64,
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Write a synthetic IOC list.
    IocList {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        count: usize,
    },
    /// End-to-end throughput of `sensor replay` (release build).
    Bench {
        #[arg(long)]
        pcap: PathBuf,
        /// IOC list; default: a generated 100k list.
        #[arg(long)]
        ioc: Option<PathBuf>,
        /// Runs per configuration; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Worker counts to measure.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        workers: Vec<usize>,
        /// Measure what OT decoding and the OT pack cost: per worker count,
        /// the spine alone (`[app_layer] ot = false`), OT decoding + pack
        /// without per-PDU OT records (`[output.types] ot = false`), and the
        /// default (everything on), runs interleaved; medians of wall time
        /// and of the CPU the sensor's threads report, relative to the spine.
        #[arg(long)]
        ot_cost: bool,
    },
    /// Live-capture throughput: highest zero-drop tcpreplay rate per capture mode (root).
    #[command(long_about = LIVE_BENCH_ABOUT)]
    LiveBench(live_bench::Opts),
}

const LIVE_BENCH_ABOUT: &str = "\
Live-capture throughput of a built sensor binary (not built here), and of
Suricata in AF_PACKET mode when --suricata-config is given. Needs root,
iproute2 and tcpreplay.

Every measurement point gets a fresh network namespace and veth pair (IPv6
off on both ends): `sensor run -i <root-namespace end> --capture MODE
--workers N --eve /dev/null` listens, `tcpreplay --pps R --timer nano`
replays --pcap into the other end from inside the namespace, SIGTERM ends
the sensor and its exit summary is parsed (packets, drops, drops by reason,
CPU). A point passes when the sensor counted every packet tcpreplay sent
and dropped none. Per target: one --topspeed run, then doubling from
--start-pps and bisection; each point is about --point-secs of traffic and
at least --min-packets packets (the capture is looped with --unique-ip if
short; at most --max-point-secs).

CPU per thread comes from /proc/PID/task/*/stat around the traffic; the
machine-wide busy and softirq share shows when tcpreplay and the kernel's
receive path, not the receiver, are the limit (all share the same cores),
and points during which other processes used over a quarter of a core are
marked CONTENDED. The namespace and veth pair are removed after each point,
also on failure; pairs left by an interrupted run are removed at the next
start.

Example:
  cargo xtask live-bench --pcap live-mix.pcap --sensor ./sensor \\
    --suricata /opt/suricata/bin/suricata --suricata-config live-afpacket.yaml";

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::BenchPcap {
            out,
            size_mb,
            inputs,
        } => bench_pcap(&out, size_mb, &inputs),
        Cmd::IocList { out, count } => ioc_list(&out, count),
        Cmd::Bench {
            pcap,
            ioc,
            runs,
            workers,
            ot_cost: false,
        } => bench(&pcap, ioc, runs, &workers),
        Cmd::Bench {
            pcap,
            runs,
            workers,
            ot_cost: true,
            ..
        } => bench_ot_cost(&pcap, runs, &workers),
        Cmd::LiveBench(o) => live_bench::run(o),
    }
}

struct Rec {
    ts_ns: u64,
    data: Vec<u8>,
}

/// Read an Ethernet classic pcap (the benchmark source must be simple).
fn read_pcap(p: &Path) -> Result<Vec<Rec>> {
    let d = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    if d.len() < 24 {
        bail!("{}: too short", p.display());
    }
    let magic = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    let nanos = match magic {
        0xa1b2c3d4 => false,
        0xa1b23c4d => true,
        _ => bail!(
            "{}: only little-endian classic pcap is supported here",
            p.display()
        ),
    };
    if u32::from_le_bytes([d[20], d[21], d[22], d[23]]) != 1 {
        bail!("{}: only Ethernet captures are supported here", p.display());
    }
    let mut at = 24;
    let mut v = Vec::new();
    while at + 16 <= d.len() {
        let rd = |o: usize| u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]) as u64;
        let (s, f, cap) = (rd(at), rd(at + 4), rd(at + 8) as usize);
        if at + 16 + cap > d.len() {
            break;
        }
        v.push(Rec {
            ts_ns: s * 1_000_000_000 + if nanos { f } else { f * 1000 },
            data: d[at + 16..at + 16 + cap].to_vec(),
        });
        at += 16 + cap;
    }
    Ok(v)
}

/// One's-complement incremental checksum update (RFC 1624): replace 16-bit
/// word `old` by `new` under checksum `sum`.
fn csum_update(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = (!sum as u32) + (!old as u32 & 0xffff) + new as u32;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// Rewrite IPv4 source/destination (Ethernet, optional one VLAN tag): the
/// second and third octets are XORed with the copy number, keeping header
/// and TCP/UDP checksums valid.
fn rewrite(frame: &mut [u8], copy: u16) {
    let mut l3 = 14;
    let mut et = u16::from_be_bytes([frame[12], frame[13]]);
    if et == 0x8100 && frame.len() > 18 {
        et = u16::from_be_bytes([frame[16], frame[17]]);
        l3 = 18;
    }
    if et != 0x0800 || frame.len() < l3 + 20 {
        return;
    }
    let ihl = (frame[l3] & 0x0f) as usize * 4;
    let proto = frame[l3 + 9];
    let frag = u16::from_be_bytes([frame[l3 + 6], frame[l3 + 7]]) & 0x1fff;
    let l4 = l3 + ihl;
    let csum_at = match proto {
        6 if frag == 0 && frame.len() >= l4 + 18 => Some(l4 + 16),
        17 if frag == 0 && frame.len() >= l4 + 8 => Some(l4 + 6),
        _ => None,
    };
    for addr in [l3 + 12, l3 + 16] {
        let at = addr + 1;
        let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
        let new = old ^ copy;
        frame[at..at + 2].copy_from_slice(&new.to_be_bytes());
        let ip = u16::from_be_bytes([frame[l3 + 10], frame[l3 + 11]]);
        frame[l3 + 10..l3 + 12].copy_from_slice(&csum_update(ip, old, new).to_be_bytes());
        if let Some(c) = csum_at {
            let cur = u16::from_be_bytes([frame[c], frame[c + 1]]);
            // UDP checksum 0 means "none": leave it.
            if !(proto == 17 && cur == 0) {
                frame[c..c + 2].copy_from_slice(&csum_update(cur, old, new).to_be_bytes());
            }
        }
    }
}

fn bench_pcap(out: &Path, size_mb: u64, inputs: &[PathBuf]) -> Result<()> {
    let mut recs = Vec::new();
    for p in inputs {
        match read_pcap(p) {
            Ok(mut v) => recs.append(&mut v),
            Err(e) => eprintln!("skipping {e:#}"),
        }
    }
    if recs.is_empty() {
        bail!("no usable input packets");
    }
    // Inputs are laid end to end in time, in the order given.
    let mut offset = 0u64;
    let mut prev_end = 0u64;
    let mut start = None;
    for r in recs.iter_mut() {
        let s = *start.get_or_insert(r.ts_ns);
        if r.ts_ns < s {
            start = Some(r.ts_ns);
            offset = prev_end + 1_000_000;
        }
        r.ts_ns = r.ts_ns - start.unwrap_or(0) + offset;
        prev_end = prev_end.max(r.ts_ns);
    }
    let span = prev_end + 1_000_000_000;
    let target = size_mb * 1_000_000;
    let mut w = BufWriter::with_capacity(
        1 << 20,
        File::create(out).with_context(|| format!("creating {}", out.display()))?,
    );
    let mut hdr = Vec::new();
    hdr.extend_from_slice(&0xa1b23c4du32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&hdr)?;
    let mut written = hdr.len() as u64;
    let mut copy: u16 = 0;
    let mut packets = 0u64;
    let base = 1_700_000_000_000_000_000u64;
    while written < target {
        copy = copy.wrapping_add(1);
        if copy == 0 {
            bail!("more than 65535 copies needed: give more input");
        }
        for r in &recs {
            let mut f = r.data.clone();
            rewrite(&mut f, copy);
            let ts = base + r.ts_ns + span * copy as u64;
            w.write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())?;
            w.write_all(&((ts % 1_000_000_000) as u32).to_le_bytes())?;
            w.write_all(&(f.len() as u32).to_le_bytes())?;
            w.write_all(&(f.len() as u32).to_le_bytes())?;
            w.write_all(&f)?;
            written += 16 + f.len() as u64;
            packets += 1;
        }
    }
    w.flush()?;
    println!(
        "{}: {} packets, {} bytes, {} copies",
        out.display(),
        packets,
        written,
        copy
    );
    Ok(())
}

fn ioc_list(out: &Path, count: usize) -> Result<()> {
    let mut w = BufWriter::new(File::create(out)?);
    writeln!(
        w,
        "# synthetic benchmark list: {count} indicators that do not occur in the benchmark traffic"
    )?;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match i % 4 {
            0 | 1 => writeln!(w, "h{:x}.bench-ioc-{}.example", x & 0xffff_ffff, i % 997)?,
            // 100.64.0.0/10 (shared address space) does not occur in the traffic.
            2 => writeln!(
                w,
                "100.{}.{}.{}",
                64 + (x >> 8) % 64,
                (x >> 16) & 0xff,
                (x >> 24) & 0xff
            )?,
            _ => writeln!(w, "100.{}.{}.0/24", 64 + (x >> 8) % 64, (x >> 16) & 0xff)?,
        }
    }
    w.flush()?;
    Ok(())
}

/// Build the sensor (release) and return the binary's path.
fn build_sensor() -> Result<PathBuf> {
    let root = repo_root();
    let status = Command::new("cargo")
        .current_dir(&root)
        .args(["build", "--release", "-p", "sensor"])
        .status()?;
    if !status.success() {
        bail!("release build failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    Ok(target.join("release/sensor"))
}

/// CPU seconds of all threads in a replay summary's `cpu:` line.
fn summary_cpu(stderr: &str) -> f64 {
    let Some(line) = stderr.lines().find(|l| l.starts_with("cpu: ")) else {
        return 0.0;
    };
    line.split_whitespace()
        .filter_map(|w| w.strip_suffix('s').and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn bench_ot_cost(pcap: &Path, runs: usize, workers: &[usize]) -> Result<()> {
    let bin = build_sensor()?;
    let dir = std::env::temp_dir().join(format!("sensor-ot-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let configs = [
        ("spine (OT off)", "[app_layer]\not = false\n"),
        (
            "OT decode + pack, no OT records",
            "[output.types]\not = false\n",
        ),
        ("OT decode + pack + OT records (default)", ""),
    ];
    let mut files = Vec::new();
    for (i, (_, text)) in configs.iter().enumerate() {
        let f = dir.join(format!("c{i}.toml"));
        std::fs::write(&f, text)?;
        files.push(f);
    }
    let pkts_of = |err: &str| -> f64 {
        err.lines()
            .find(|l| l.starts_with("packets "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    println!(
        "capture {} ({runs} runs per configuration, interleaved)",
        pcap.display()
    );
    for &w in workers {
        let mut wall = vec![Vec::new(); configs.len()];
        let mut cpu = vec![Vec::new(); configs.len()];
        let mut pkts = 0.0;
        for _ in 0..runs {
            for (i, f) in files.iter().enumerate() {
                let t = Instant::now();
                let out = Command::new(&bin)
                    .args(["replay", "--no-progress", "--eve", "/dev/null", "--workers"])
                    .arg(w.to_string())
                    .arg("-c")
                    .arg(f)
                    .arg(pcap)
                    .current_dir(&dir)
                    .output()
                    .context("running sensor")?;
                let secs = t.elapsed().as_secs_f64();
                let err = String::from_utf8_lossy(&out.stderr);
                if !out.status.success() {
                    bail!("sensor failed: {err}");
                }
                pkts = pkts_of(&err);
                wall[i].push(secs);
                cpu[i].push(summary_cpu(&err));
            }
        }
        let base_wall = median(&mut wall[0].clone());
        let base_cpu = median(&mut cpu[0].clone());
        for (i, (name, _)) in configs.iter().enumerate() {
            let mw = median(&mut wall[i]);
            let mc = median(&mut cpu[i]);
            // The target's measure: throughput lost against the spine's.
            let cost = if i == 0 {
                String::new()
            } else {
                format!(", throughput cost {:.0}%", 100.0 * (1.0 - base_wall / mw))
            };
            println!(
                "workers={w} {name}: median wall {mw:.2}s ({:.0} pkt/s, x{:.2} of the spine's time{cost}), \
                 median CPU {mc:.2}s (x{:.2})",
                pkts / mw,
                mw / base_wall,
                mc / base_cpu.max(1e-9)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn run_sensor(bin: &Path, pcap: &Path, ioc: &Path, workers: usize) -> Result<(f64, String)> {
    let t = Instant::now();
    let out = Command::new(bin)
        .args(["replay", "--no-progress", "--eve", "/dev/null", "--workers"])
        .arg(workers.to_string())
        .arg("--ioc")
        .arg(ioc)
        .arg(pcap)
        .output()
        .context("running sensor")?;
    let secs = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("sensor failed: {err}");
    }
    Ok((secs, err))
}

/// The repository root: from `cargo run`'s `CARGO_MANIFEST_DIR` when set,
/// the compile-time one otherwise (a reused binary may come from another
/// checkout).
pub(crate) fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
}

fn bench(pcap: &Path, ioc: Option<PathBuf>, runs: usize, workers: &[usize]) -> Result<()> {
    let bin = build_sensor()?;
    let ioc = match ioc {
        Some(p) => p,
        None => {
            let p = std::env::temp_dir().join("sensor-bench-ioc-100k.txt");
            ioc_list(&p, 100_000)?;
            p
        }
    };
    let size = std::fs::metadata(pcap)?.len();
    println!(
        "capture {} ({:.1} MB), IOC list {}",
        pcap.display(),
        size as f64 / 1e6,
        ioc.display()
    );
    let mut base_pps = None;
    for &w in workers {
        let mut results = Vec::new();
        for _ in 0..runs {
            let (secs, err) = run_sensor(&bin, pcap, &ioc, w)?;
            results.push((secs, err));
        }
        results.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (secs, err) = &results[results.len() / 2];
        let line = err
            .lines()
            .find(|l| l.starts_with("packets "))
            .unwrap_or("");
        let rss = err
            .lines()
            .find(|l| l.starts_with("peak RSS"))
            .unwrap_or("");
        let pkts: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let pps = pkts / secs;
        let gbps = size as f64 * 8.0 / secs / 1e9;
        let ratio = base_pps.map(|b: f64| pps / b).unwrap_or(1.0);
        base_pps.get_or_insert(pps);
        println!(
            "sensor workers={w}: median {secs:.2}s over {runs} runs, {pps:.0} pkt/s ({:.0} per worker), {gbps:.2} Gbit/s, {rss}, x{ratio:.2} vs first",
            pps / w as f64
        );
    }
    if let Ok(sur) = which("suricata") {
        println!(
            "suricata found at {}: run it with --runmode single on the same capture for comparison",
            sur.display()
        );
    } else {
        println!("suricata is not installed here: no side-by-side number");
    }
    Ok(())
}

fn which(name: &str) -> Result<PathBuf> {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{name} not found")
}
