//! `cargo xtask live-bench`: live-capture throughput of a built sensor binary
//! (and of Suricata in AF_PACKET mode where given), on a veth pair.
//!
//! Per capture mode: a fresh network namespace and veth pair for every
//! measurement point (the sensor on the root-namespace end, tcpreplay inside
//! the namespace; IPv6 off on both ends, so nothing but the replayed packets
//! crosses the link), `sensor run -i <end> --capture MODE`, `tcpreplay
//! --pps N` (or `--topspeed`) of the capture, SIGTERM, and the exit summary
//! parsed. A point passes when the sensor counted every packet tcpreplay sent
//! and reported no drops. The search: one `--topspeed` run (it bounds the
//! rates worth trying), then doubling from `--start-pps` until a point fails
//! or the sender cannot reach the asked rate, then bisection.
//!
//! CPU is sampled from /proc/PID/task/*/stat (utime + stime per thread)
//! right before tcpreplay starts and after the last packet, so it is the
//! cost of the traffic, not of setup. The machine-wide /proc/stat figures
//! show how much of the box was busy meanwhile: tcpreplay and the kernel's
//! receive path (veth, XDP, AF_PACKET copies: softirq work, mostly charged to
//! the sender's CPU) compete with the sensor for the same cores.
//!
//! The namespace and veth pair are removed when a point ends, also on error;
//! pairs left by an interrupted run (Ctrl-C skips destructors) are removed
//! at the next start.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

const NS_PREFIX: &str = "live-bench-";

#[derive(clap::Args)]
pub struct Opts {
    /// Capture to replay: classic Ethernet pcap, e.g. a prefix of a mixed
    /// capture (`editcap -F pcap -r big.pcap live-mix.pcap 1-400000`).
    #[arg(long)]
    pcap: PathBuf,
    /// Sensor binary under test (not built here). Default: release/sensor
    /// under $CARGO_TARGET_DIR, else target/release/sensor in the repository.
    #[arg(long)]
    sensor: Option<PathBuf>,
    /// Capture modes to measure (`sensor run --capture`).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "xdp,afpacket"
    )]
    modes: Vec<Mode>,
    /// Sensor worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// IOC files passed to the sensor (none by default).
    #[arg(long)]
    ioc: Vec<PathBuf>,
    /// Sensor configuration file (`sensor run --config`); default: none,
    /// the built-in defaults.
    #[arg(long)]
    sensor_config: Option<PathBuf>,
    /// Suricata binary. Default: `suricata` on PATH.
    #[arg(long)]
    suricata: Option<PathBuf>,
    /// Suricata configuration for live AF_PACKET capture (an `af-packet`
    /// entry for `interface: default`, stats output on). Without it Suricata
    /// is skipped.
    #[arg(long)]
    suricata_config: Option<PathBuf>,
    /// Seconds of traffic per measurement point.
    #[arg(long, default_value_t = 3.0)]
    point_secs: f64,
    /// Fewest packets per point (the capture is looped, with
    /// `--unique-ip`, when it has fewer), unless that takes longer than
    /// --max-point-secs at the rate.
    #[arg(long, default_value_t = 200_000)]
    min_packets: u64,
    /// Longest point, seconds of traffic (low rates send fewer packets).
    #[arg(long, default_value_t = 10.0)]
    max_point_secs: f64,
    /// tcpreplay's timing mode (`--timer`): `nano` sleeps between packets,
    /// where the default `gtod` spins a whole core even at low rates, CPU
    /// the receiver then lacks on a small machine.
    #[arg(long, default_value = "nano")]
    timer: String,
    /// Packets sent in the `--topspeed` run.
    #[arg(long, default_value_t = 800_000)]
    topspeed_packets: u64,
    /// First rate of the doubling search, packets per second.
    #[arg(long, default_value_t = 25_000)]
    start_pps: u64,
    /// Bisection steps after the doubling phase.
    #[arg(long, default_value_t = 4)]
    bisect_steps: usize,
    /// Time budget for the whole benchmark, minutes (shared evenly by the
    /// modes and Suricata; a search out of time reports what it has).
    #[arg(long, default_value_t = 15.0)]
    budget_mins: f64,
    /// Before each point wait up to this many seconds for the machine to be
    /// quiet (other load under half a core for 3 s; the wait does not count
    /// against the budget), and rerun a losing point once when other
    /// processes were busy during it. 0: never wait.
    #[arg(long, default_value_t = 0.0)]
    quiet_wait: f64,
    /// veth MTU. Default: 1500, or 9000 when the capture has larger frames
    /// (veth then refuses native XDP: the sensor falls back to generic XDP).
    #[arg(long)]
    mtu: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Xdp,
    Afpacket,
    Pcap,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Xdp => "xdp",
            Mode::Afpacket => "afpacket",
            Mode::Pcap => "pcap",
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Sensor(Mode),
    Suricata,
}

#[derive(Clone, Copy)]
enum Rate {
    Top,
    Pps(u64),
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Top => write!(f, "topspeed"),
            Rate::Pps(r) => write!(f, "{r} pps"),
        }
    }
}

/// What tcpreplay did.
#[derive(Clone, Copy, Default)]
struct Sent {
    packets: u64,
    failed: u64,
    secs: f64,
    pps: f64,
    /// tcpreplay's own CPU seconds (user + system).
    cpu: f64,
}

/// One measurement.
#[derive(Clone)]
struct Point {
    rate: Rate,
    sent: Sent,
    seen: u64,
    drops: u64,
    /// Drops by reason (the sensor's `dropped at capture` lines).
    reasons: Vec<(String, u64)>,
    /// CPU per thread name during the traffic.
    threads: Vec<ThreadUse>,
    /// The sensor's own `cpu:` summary line (whole run), or Suricata's
    /// decoder count.
    extra: String,
    /// Machine-wide busy and softirq CPU during the traffic, % of one core.
    busy: f64,
    softirq: f64,
    /// CPU seconds of everything else meanwhile (busy minus this process,
    /// tcpreplay and softirq): other load on a shared machine.
    others: f64,
    /// Seconds from just before tcpreplay started to the last sample.
    window: f64,
}

impl Point {
    fn ok(&self) -> bool {
        self.sent.packets > 0
            && self.seen == self.sent.packets
            && self.drops == 0
            && self.reasons.is_empty()
    }

    /// Other processes used more than a quarter of a core meanwhile: the
    /// point says less about the receiver under test.
    fn contended(&self) -> bool {
        self.others > 0.25 * self.window
    }

    /// tcpreplay fell clearly short of the asked rate.
    fn sender_short(&self) -> bool {
        match self.rate {
            Rate::Pps(r) => self.sent.pps < 0.95 * r as f64,
            Rate::Top => false,
        }
    }

    fn line(&self) -> String {
        let verdict = if self.ok() { "zero-drop" } else { "LOSS" };
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, v)| format!("{r} {v}"))
            .collect();
        format!(
            "{:>12}: sent {} ({} failed) at {:.0} pps in {:.2}s, tcpreplay {:.2} CPU-s | seen {} drops {}{} | {verdict}{} | machine busy {:.0}% softirq {:.0}% (of {}%), other processes {:.2} CPU-s{}\n{:>14}threads: {}{}",
            self.rate.to_string(),
            self.sent.packets,
            self.sent.failed,
            self.sent.pps,
            self.sent.secs,
            self.sent.cpu,
            self.seen,
            self.drops,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            if self.sender_short() {
                ", sender short of the asked rate"
            } else {
                ""
            },
            self.busy,
            self.softirq,
            cpus() * 100,
            self.others,
            if self.contended() { " (CONTENDED)" } else { "" },
            "",
            self.threads_text(),
            if self.extra.is_empty() {
                String::new()
            } else {
                format!("\n{:>14}{}", "", self.extra)
            },
        )
    }

    /// CPU seconds per thread, % of a core over the sending time, and
    /// context switches (a thread woken per small batch switches a lot).
    fn threads_text(&self) -> String {
        let secs = self.sent.secs.max(1e-9);
        self.threads
            .iter()
            .filter(|t| t.cpu >= 0.005)
            .map(|t| {
                format!(
                    "{} {:.2}s ({:.0}%, {} cs)",
                    t.name,
                    t.cpu,
                    t.cpu / secs * 100.0,
                    t.switches
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The outcome of one target's search.
struct Outcome {
    top: Option<Point>,
    best: Option<Point>,
    first_fail: Option<Point>,
    sender_limited: bool,
    note: String,
}

pub fn run(o: Opts) -> Result<()> {
    if !is_root() {
        bail!("live-bench needs root (network namespaces, veth, capture)");
    }
    for tool in ["ip", "tcpreplay"] {
        if super::which(tool).is_err() {
            bail!("{tool} is not installed");
        }
    }
    remove_stale_pairs();
    let sensor = match &o.sensor {
        Some(p) => p.clone(),
        None => {
            let root = super::repo_root();
            std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| root.join("target"))
                .join("release/sensor")
        }
    };
    if !sensor.is_file() {
        bail!(
            "no sensor binary at {} (build it, or pass --sensor)",
            sensor.display()
        );
    }
    let cap = Capture::scan(&o.pcap)?;
    let mtu = o
        .mtu
        .unwrap_or(if cap.max_frame > 1514 { 9000 } else { 1500 });
    if cap.max_frame as u64 > mtu as u64 + 14 {
        bail!(
            "{}: frames up to {} bytes do not fit MTU {mtu}",
            o.pcap.display(),
            cap.max_frame
        );
    }
    let tmp = TmpDir::new()?;
    let tck = clock_ticks();
    let mut targets: Vec<Target> = o.modes.iter().map(|&m| Target::Sensor(m)).collect();
    let suricata = match (&o.suricata, &o.suricata_config) {
        (_, None) => {
            println!("note: Suricata skipped: no --suricata-config given");
            None
        }
        (Some(p), Some(c)) if p.is_file() => Some((p.clone(), c.clone())),
        (Some(p), Some(_)) => {
            println!("note: Suricata skipped: {} does not exist", p.display());
            None
        }
        (None, Some(c)) => match super::which("suricata") {
            Ok(p) => Some((p, c.clone())),
            Err(_) => {
                println!("note: Suricata skipped: not on PATH (pass --suricata)");
                None
            }
        },
    };
    if suricata.is_some() {
        targets.push(Target::Suricata);
    }
    println!(
        "sensor {} | capture {}: {} packets, largest frame {} bytes | veth MTU {mtu} | {} CPUs, load {}",
        sensor.display(),
        o.pcap.display(),
        cap.packets,
        cap.max_frame,
        cpus(),
        loadavg()
    );
    let start = Instant::now();
    let budget = Duration::from_secs_f64(o.budget_mins * 60.0);
    // Time spent waiting for a quiet machine extends the budget.
    let waited = std::cell::Cell::new(Duration::ZERO);
    let mut results = Vec::new();
    for (i, &t) in targets.iter().enumerate() {
        let share = budget.mul_f64((i + 1) as f64 / targets.len() as f64);
        let deadline = || start + share + waited.get();
        let name = match t {
            Target::Sensor(m) => format!("sensor --capture {} --workers {}", m.name(), o.workers),
            Target::Suricata => "suricata --af-packet".to_string(),
        };
        println!("\n== {name}");
        let env = Env {
            o: &o,
            cap: &cap,
            mtu,
            tmp: &tmp.0,
            tck,
            sensor: &sensor,
            suricata: suricata.as_ref(),
        };
        let measure = |rate: Rate| -> Result<Point> {
            if o.quiet_wait > 0.0 {
                waited.set(waited.get() + wait_quiet(o.quiet_wait));
            }
            match t {
                Target::Sensor(m) => env.sensor_point(m, rate),
                Target::Suricata => env.suricata_point(rate),
            }
        };
        let mut point = |rate: Rate| -> Result<Point> {
            let mut p = measure(rate)?;
            println!("{}", p.line());
            if o.quiet_wait > 0.0 && !p.ok() && p.contended() {
                println!("{:>14}(other processes were busy: once more)", "");
                p = measure(rate)?;
                println!("{}", p.line());
            }
            Ok(p)
        };
        let out = search(&o, &mut point, &deadline);
        results.push((name, out));
    }
    println!(
        "\n== summary (elapsed {:.0}s, load {})",
        start.elapsed().as_secs_f64(),
        loadavg()
    );
    for (name, out) in &results {
        print_outcome(name, out);
    }
    Ok(())
}

fn print_outcome(name: &str, out: &Result<Outcome>) {
    println!("{name}:");
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            println!("  failed: {e:#}");
            return;
        }
    };
    match &out.best {
        Some(b) => {
            println!(
                "  max zero-drop rate: {:.0} pps achieved (asked {}){}",
                b.sent.pps,
                b.rate,
                if out.sender_limited {
                    ", limited by the sender (tcpreplay could not go faster with this receiver)"
                } else {
                    ""
                }
            );
            println!("  CPU during that run: {}", b.threads_text());
            println!(
                "  machine meanwhile: busy {:.0}%, softirq {:.0}% (of {}%), tcpreplay {:.2} CPU-s, other processes {:.2} CPU-s",
                b.busy,
                b.softirq,
                cpus() * 100,
                b.sent.cpu,
                b.others
            );
            if !b.extra.is_empty() {
                println!("  {}", b.extra);
            }
        }
        None => println!("  no zero-drop rate found"),
    }
    if let Some(f) = &out.first_fail {
        let reasons: Vec<String> = f.reasons.iter().map(|(r, v)| format!("{r} {v}")).collect();
        println!(
            "  lowest losing rate: {} (achieved {:.0} pps): seen {} of {}, drops {} {}",
            f.rate,
            f.sent.pps,
            f.seen,
            f.sent.packets,
            f.drops,
            reasons.join(", ")
        );
    }
    if let Some(t) = &out.top {
        let reasons: Vec<String> = t.reasons.iter().map(|(r, v)| format!("{r} {v}")).collect();
        println!(
            "  topspeed: tcpreplay {:.0} pps ({:.2} CPU-s in {:.2}s), seen {} of {}, drops {}{}",
            t.sent.pps,
            t.sent.cpu,
            t.sent.secs,
            t.seen,
            t.sent.packets,
            t.drops,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            }
        );
        println!("    CPU: {}", t.threads_text());
    }
    if !out.note.is_empty() {
        println!("  note: {}", out.note);
    }
}

/// Topspeed once, then doubling (or halving when the first rate already
/// loses) to a bracket, then bisection within it.
fn search(
    o: &Opts,
    point: &mut dyn FnMut(Rate) -> Result<Point>,
    deadline: &dyn Fn() -> Instant,
) -> Result<Outcome> {
    let mut all: Vec<bool> = Vec::new();
    let mut point = |r: Rate| -> Result<Point> {
        let p = point(r)?;
        all.push(p.contended());
        Ok(p)
    };
    let top = point(Rate::Top)?;
    let ceiling = top.sent.pps;
    let mut out = Outcome {
        top: None,
        best: None,
        first_fail: None,
        sender_limited: false,
        note: String::new(),
    };
    // Rough cost of a point: traffic, tcpreplay's preload, start and stop.
    let fits = |r: u64| {
        let secs = packets_for(o, r) as f64 / r as f64 + 6.0;
        Instant::now() + Duration::from_secs_f64(secs) < deadline()
    };
    let round = |r: f64| ((r / 1000.0).round() as u64 * 1000).max(1000);
    let mut r = o.start_pps.min(round(ceiling)).max(1000);
    let mut lo = 0u64;
    let mut hi: Option<u64> = None;
    loop {
        if !fits(r) {
            out.note = "out of time budget during the search".into();
            break;
        }
        let p = point(Rate::Pps(r))?;
        if p.ok() {
            let short = p.sender_short();
            lo = r;
            out.best = Some(p);
            if short {
                out.sender_limited = true;
                break;
            }
            let next = (r * 2).min(round(ceiling));
            if next <= r {
                // Already at what tcpreplay reaches at top speed.
                out.sender_limited = true;
                break;
            }
            if hi.is_some() {
                break;
            }
            r = next;
        } else {
            hi = Some(r);
            out.first_fail = Some(p);
            if lo > 0 || r <= 1000 {
                break;
            }
            r = round(r as f64 / 2.0);
        }
    }
    if let Some(mut h) = hi {
        for _ in 0..o.bisect_steps {
            if lo == 0 || h - lo <= (lo / 20).max(1000) {
                break;
            }
            let mid = round((lo + h) as f64 / 2.0);
            if mid <= lo || mid >= h {
                break;
            }
            if !fits(mid) {
                out.note = "out of time budget during bisection".into();
                break;
            }
            let p = point(Rate::Pps(mid))?;
            if p.ok() {
                lo = mid;
                let short = p.sender_short();
                out.best = Some(p);
                if short {
                    out.sender_limited = true;
                    break;
                }
            } else {
                h = mid;
                out.first_fail = Some(p);
            }
        }
    }
    // A zero-drop topspeed run beats any paced one.
    if top.ok() && out.best.as_ref().is_none_or(|b| b.sent.pps <= top.sent.pps) {
        out.sender_limited = true;
        out.note = "the topspeed run itself was loss-free".into();
        out.best = Some(top.clone());
    }
    out.top = Some(top);
    let busy = all.iter().filter(|&&c| c).count();
    if busy > 0 {
        out.note = format!(
            "{}{}{busy} of {} points ran while other processes used over a quarter of a core",
            out.note,
            if out.note.is_empty() { "" } else { "; " },
            all.len()
        );
    }
    Ok(out)
}

fn packets_for(o: &Opts, r: u64) -> u64 {
    let r = r as f64;
    (r * o.point_secs).max((o.min_packets as f64).min(r * o.max_point_secs)) as u64
}

/// tcpreplay's result and the CPU used meanwhile.
struct Traffic {
    sent: Sent,
    threads: Vec<ThreadUse>,
    busy: f64,
    softirq: f64,
    others: f64,
    window: f64,
}

/// What every point needs.
struct Env<'a> {
    o: &'a Opts,
    cap: &'a Capture,
    mtu: u32,
    tmp: &'a Path,
    tck: f64,
    sensor: &'a Path,
    suricata: Option<&'a (PathBuf, PathBuf)>,
}

impl Env<'_> {
    fn sensor_point(&self, mode: Mode, rate: Rate) -> Result<Point> {
        let v = Veth::new(self.mtu)?;
        let err = self.tmp.join("sensor.err");
        let mut cmd = Command::new(self.sensor);
        cmd.args(["run", "-i", &v.here, "--capture", mode.name(), "--workers"])
            .arg(self.o.workers.to_string())
            .args(["--eve", "/dev/null", "--metrics-addr", "127.0.0.1:0"])
            // Live runs keep their asset inventory in the log directory.
            .arg("--log-dir")
            .arg(self.tmp);
        for f in &self.o.ioc {
            cmd.arg("--ioc").arg(f);
        }
        if let Some(c) = &self.o.sensor_config {
            cmd.arg("--config").arg(c);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&err)?);
        let mut child = Guard(cmd.spawn().context("starting the sensor")?);
        wait_for_text(
            &mut child,
            &err,
            &["setup done", "could not drop capabilities"],
            Duration::from_secs(30),
        )
        .context("sensor start")?;
        std::thread::sleep(Duration::from_millis(300));
        let t = self.traffic(&v, rate, child.0.id(), 500)?;
        let status = child.stop(Duration::from_secs(30))?;
        let text = strip_ansi(&fs::read_to_string(&err)?);
        if !status.success() {
            bail!("sensor exited with {status}:\n{}", tail(&text, 20));
        }
        let s = SensorSummary::parse(&text)
            .with_context(|| format!("no exit summary:\n{}", tail(&text, 20)))?;
        let mut extra = s.cpu_line;
        if let Some(m) = text
            .lines()
            .find(|l| l.contains("capturing with"))
            .and_then(|l| l.split("capturing with").nth(1))
        {
            extra = format!("capturing with{} | {extra}", m.trim_end());
        }
        if let Some(x) = s.xdp_line {
            extra = format!("{extra} | {x}");
        }
        Ok(Point {
            rate,
            sent: t.sent,
            seen: s.packets,
            drops: s.drops,
            reasons: s.reasons,
            threads: t.threads,
            extra,
            busy: t.busy,
            softirq: t.softirq,
            others: t.others,
            window: t.window,
        })
    }

    fn suricata_point(&self, rate: Rate) -> Result<Point> {
        let Some((bin, cfg)) = self.suricata else {
            bail!("no Suricata");
        };
        let v = Veth::new(self.mtu)?;
        let dir = self.tmp.join("suricata");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let console = dir.join("console.txt");
        let mut cmd = Command::new(bin);
        cmd.arg("-c")
            .arg(cfg)
            .arg(format!("--af-packet={}", v.here))
            .arg("-l")
            .arg(&dir)
            .args(["-k", "none"])
            .stdin(Stdio::null())
            .stdout(File::create(&console)?)
            .stderr(File::create(dir.join("stderr.txt"))?);
        let mut child = Guard(cmd.spawn().context("starting Suricata")?);
        wait_for_text(
            &mut child,
            &console,
            &["Engine started"],
            Duration::from_secs(120),
        )
        .context("Suricata start")?;
        std::thread::sleep(Duration::from_millis(500));
        // Two stats intervals of the live config, so stats.log is current.
        let t = self.traffic(&v, rate, child.0.id(), 2000)?;
        let status = child.stop(Duration::from_secs(60))?;
        let text = fs::read_to_string(&console)?;
        if !status.success() {
            bail!("Suricata exited with {status}:\n{}", tail(&text, 20));
        }
        let stats = fs::read_to_string(dir.join("stats.log")).unwrap_or_default();
        let counter = |name: &str| -> Option<u64> {
            stats
                .lines()
                .rev()
                .find(|l| l.split('|').next().map(str::trim) == Some(name))
                .and_then(|l| l.rsplit('|').next())
                .and_then(|v| v.trim().parse().ok())
        };
        // The exit line is final; stats.log lags by up to an interval.
        let device = text
            .lines()
            .find_map(|l| l.split(&format!("device: {}: ", v.here)).nth(1))
            .map(str::to_string);
        let (seen, drops) = match &device {
            Some(d) => {
                let num = |key: &str| -> Option<u64> {
                    d.split(key)
                        .nth(1)?
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|s| !s.is_empty())?
                        .parse()
                        .ok()
                };
                (num("packets: ").unwrap_or(0), num("drops: ").unwrap_or(0))
            }
            None => (
                counter("capture.kernel_packets").unwrap_or(0),
                counter("capture.kernel_drops").unwrap_or(0),
            ),
        };
        let mut reasons = Vec::new();
        if drops > 0 {
            reasons.push(("kernel_drops".to_string(), drops));
        }
        let extra = format!(
            "stats.log: capture.kernel_packets {} capture.kernel_drops {} decoder.pkts {}; exit: {}",
            counter("capture.kernel_packets").unwrap_or(0),
            counter("capture.kernel_drops").unwrap_or(0),
            counter("decoder.pkts").unwrap_or(0),
            device.as_deref().unwrap_or("no device line").trim()
        );
        Ok(Point {
            rate,
            sent: t.sent,
            seen: seen.saturating_sub(drops),
            drops,
            reasons,
            threads: t.threads,
            extra,
            busy: t.busy,
            softirq: t.softirq,
            others: t.others,
            window: t.window,
        })
    }

    /// Replay into the far end; CPU of `pid`'s threads and of the machine
    /// around it. `settle_ms`: wait after the last packet before sampling.
    fn traffic(&self, v: &Veth, rate: Rate, pid: u32, settle_ms: u64) -> Result<Traffic> {
        let n = match rate {
            Rate::Top => self.o.topspeed_packets.max(self.o.min_packets),
            Rate::Pps(r) => packets_for(self.o, r),
        };
        let t0 = Instant::now();
        let before = thread_cpu(pid);
        let sys0 = SysCpu::read();
        let sent = self.replay(v, rate, n)?;
        std::thread::sleep(Duration::from_millis(settle_ms));
        let after = thread_cpu(pid);
        let sys1 = SysCpu::read();
        let threads = cpu_delta(&before, &after, self.tck);
        let (mut busy, mut softirq, mut others) = (0.0, 0.0, 0.0);
        if let (Some(a), Some(b)) = (sys0, sys1) {
            let scale = 100.0 * cpus() as f64 / (b.total - a.total).max(1) as f64;
            busy = (b.busy - a.busy) as f64 * scale;
            softirq = (b.softirq - a.softirq) as f64 * scale;
            let mine: f64 = threads.iter().map(|t| t.cpu).sum();
            others =
                ((b.busy - a.busy - (b.softirq - a.softirq)) as f64 / self.tck - mine - sent.cpu)
                    .max(0.0);
        }
        Ok(Traffic {
            sent,
            threads,
            busy,
            softirq,
            others,
            window: t0.elapsed().as_secs_f64(),
        })
    }

    fn replay(&self, v: &Veth, rate: Rate, n: u64) -> Result<Sent> {
        let out = self.tmp.join("tcpreplay.out");
        let err = self.tmp.join("tcpreplay.err");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &v.ns, "tcpreplay", "-q", "-K"])
            .arg(format!("--timer={}", self.o.timer))
            .args(["--no-flow-stats", "-i", &v.there]);
        match rate {
            Rate::Top => cmd.arg("--topspeed"),
            Rate::Pps(r) => cmd.arg(format!("--pps={r}")),
        };
        if n > self.cap.packets {
            cmd.arg(format!("--loop={}", n.div_ceil(self.cap.packets)))
                .arg("--unique-ip");
        }
        cmd.arg(format!("--limit={n}"))
            .arg(&self.cap.path)
            .stdin(Stdio::null())
            .stdout(File::create(&out)?)
            .stderr(File::create(&err)?);
        let mut child = Guard(cmd.spawn().context("starting tcpreplay")?);
        let pid = child.0.id();
        let limit = match rate {
            Rate::Top => 120.0,
            Rate::Pps(r) => n as f64 / r as f64 * 3.0 + 60.0,
        };
        let t = Instant::now();
        // Poll until it is a zombie: its stat then holds the final CPU times.
        let mut cpu = 0.0;
        while let Some((state, ticks)) = proc_stat(&format!("/proc/{pid}/stat")) {
            cpu = ticks as f64 / self.tck;
            if state == 'Z' {
                break;
            }
            if t.elapsed().as_secs_f64() > limit {
                bail!("tcpreplay did not finish in {limit:.0}s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.0.wait()?;
        let text = fs::read_to_string(&out)?;
        if !status.success() {
            bail!(
                "tcpreplay failed ({status}): {}{}",
                text,
                tail(&fs::read_to_string(&err)?, 5)
            );
        }
        let field = |prefix: &str| -> Option<String> {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(prefix))
                .map(|s| s.trim().to_string())
        };
        let num = |s: Option<String>, nth: usize| -> f64 {
            s.and_then(|s| {
                s.split_whitespace()
                    .nth(nth)
                    .and_then(|x| x.trim_end_matches(',').parse().ok())
            })
            .unwrap_or(0.0)
        };
        Ok(Sent {
            packets: num(field("Successful packets:"), 0) as u64,
            failed: num(field("Failed packets:"), 0) as u64,
            // "Actual: N packets (B bytes) sent in S seconds"
            secs: num(field("Actual:"), 6),
            // "Rated: X Bps, Y Mbps, Z pps"
            pps: num(field("Rated:"), 4),
            cpu,
        })
    }
}

/// The parts of `sensor run`'s exit summary that matter here.
struct SensorSummary {
    packets: u64,
    drops: u64,
    reasons: Vec<(String, u64)>,
    cpu_line: String,
    xdp_line: Option<String>,
}

impl SensorSummary {
    fn parse(text: &str) -> Option<SensorSummary> {
        let packets = text
            .lines()
            .find_map(|l| l.strip_prefix("packets "))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let drops = text
            .lines()
            .find(|l| l.starts_with("flows "))?
            .split(" drops ")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        let reasons = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("dropped at capture, "))
            .filter_map(|l| {
                let (r, v) = l.rsplit_once(": ")?;
                Some((r.to_string(), v.trim().parse().ok()?))
            })
            .collect();
        let cpu_line = text
            .lines()
            .find(|l| l.starts_with("cpu: "))
            .map(|l| format!("summary {l}"))
            .unwrap_or_default();
        let xdp_line = text
            .lines()
            .find(|l| l.trim().starts_with("XDP program:"))
            .map(|l| l.trim().to_string());
        Some(SensorSummary {
            packets,
            drops,
            reasons,
            cpu_line,
            xdp_line,
        })
    }
}

/// A child killed on drop unless it ended.
struct Guard(Child);

impl Guard {
    /// SIGTERM, then wait up to `limit` (SIGKILL after that).
    fn stop(&mut self, limit: Duration) -> Result<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t = Instant::now();
        loop {
            if let Some(s) = self.0.try_wait()? {
                return Ok(s);
            }
            if t.elapsed() > limit {
                bail!("did not stop within {}s of SIGTERM", limit.as_secs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Wait until `file` contains one of `needles`; fail if the child ends first.
fn wait_for_text(child: &mut Guard, file: &Path, needles: &[&str], limit: Duration) -> Result<()> {
    let t = Instant::now();
    loop {
        let text = fs::read_to_string(file).unwrap_or_default();
        if needles.iter().any(|n| text.contains(n)) {
            return Ok(());
        }
        if let Some(s) = child.0.try_wait()? {
            bail!("exited ({s}) before it was ready:\n{}", tail(&text, 20));
        }
        if t.elapsed() > limit {
            bail!("not ready after {}s:\n{}", limit.as_secs(), tail(&text, 20));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A namespace holding one end of a veth pair; the other end stays in the
/// root namespace. Both go on drop.
struct Veth {
    ns: String,
    here: String,
    there: String,
}

impl Veth {
    fn new(mtu: u32) -> Result<Veth> {
        let id = std::process::id();
        let v = Veth {
            ns: format!("{NS_PREFIX}{id}"),
            here: format!("lb{id}a"),
            there: format!("lb{id}b"),
        };
        // Whatever an earlier point of this process left (it should not).
        v.cleanup();
        let mtu = mtu.to_string();
        let steps: [&[&str]; 7] = [
            &["ip", "netns", "add", &v.ns],
            &[
                "ip", "link", "add", &v.here, "mtu", &mtu, "type", "veth", "peer", "name",
                &v.there, "mtu", &mtu,
            ],
            &["ip", "link", "set", &v.there, "netns", &v.ns],
            // No IPv6 on either end: no router solicitations or MLD reports
            // mixed into what is counted.
            &[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{}.disable_ipv6=1", v.here),
            ],
            &[
                "ip",
                "netns",
                "exec",
                &v.ns,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{}.disable_ipv6=1", v.there),
            ],
            &["ip", "link", "set", &v.here, "up"],
            &[
                "ip", "netns", "exec", &v.ns, "ip", "link", "set", &v.there, "up",
            ],
        ];
        for s in steps {
            let out = Command::new(s[0]).args(&s[1..]).output()?;
            if !out.status.success() {
                bail!(
                    "`{}` failed: {}",
                    s.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        Ok(v)
    }

    fn cleanup(&self) {
        quiet(&["ip", "link", "del", &self.here]);
        quiet(&["ip", "netns", "del", &self.ns]);
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn quiet(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Namespaces and veth ends of earlier runs whose process is gone.
fn remove_stale_pairs() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        println!("removing namespace {name} left by an interrupted run");
        quiet(&["ip", "link", "del", &format!("lb{pid}a")]);
        quiet(&["ip", "netns", "del", name]);
    }
}

/// A private scratch directory, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new() -> Result<TmpDir> {
        let p = std::env::temp_dir().join(format!("live-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TmpDir(p))
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Packet count and largest frame of a classic pcap.
struct Capture {
    path: PathBuf,
    packets: u64,
    max_frame: u32,
}

impl Capture {
    fn scan(p: &Path) -> Result<Capture> {
        let mut r = BufReader::with_capacity(
            1 << 20,
            File::open(p).with_context(|| format!("opening {}", p.display()))?,
        );
        let mut hdr = [0u8; 24];
        r.read_exact(&mut hdr)
            .with_context(|| format!("{}: too short", p.display()))?;
        let le = match u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) {
            0xa1b2c3d4 | 0xa1b23c4d => true,
            0xd4c3b2a1 | 0x4d3cb2a1 => false,
            _ => bail!(
                "{}: not a classic pcap (convert with `editcap -F pcap`)",
                p.display()
            ),
        };
        let u32_at = |b: &[u8], o: usize| {
            let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
            if le {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            }
        };
        if u32_at(&hdr, 20) != 1 {
            bail!("{}: not an Ethernet capture", p.display());
        }
        let (mut packets, mut max_frame) = (0u64, 0u32);
        let mut rec = [0u8; 16];
        while r.read_exact(&mut rec).is_ok() {
            let caplen = u32_at(&rec, 8);
            r.seek_relative(caplen as i64)?;
            packets += 1;
            max_frame = max_frame.max(caplen);
        }
        if packets == 0 {
            bail!("{}: no packets", p.display());
        }
        Ok(Capture {
            path: p.to_path_buf(),
            packets,
            max_frame,
        })
    }
}

/// CPU ticks and context switches of one thread.
struct ThreadCpu {
    tid: String,
    name: String,
    ticks: u64,
    switches: u64,
}

/// One thread name's use between two samples.
#[derive(Clone)]
struct ThreadUse {
    name: String,
    cpu: f64,
    switches: u64,
}

fn thread_cpu(pid: u32) -> Vec<ThreadCpu> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|t| {
            let tid = t.file_name().to_string_lossy().into_owned();
            let name = fs::read_to_string(t.path().join("comm")).ok()?;
            let (_, ticks) = proc_stat(&t.path().join("stat").to_string_lossy())?;
            let status = fs::read_to_string(t.path().join("status")).unwrap_or_default();
            let switches = status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
            Some(ThreadCpu {
                tid,
                name: name.trim().to_string(),
                ticks,
                switches,
            })
        })
        .collect()
}

/// CPU seconds per thread name between two samples, capture threads and
/// workers first.
fn cpu_delta(before: &[ThreadCpu], after: &[ThreadCpu], tck: f64) -> Vec<ThreadUse> {
    let mut by_name: BTreeMap<String, (f64, u64, usize)> = BTreeMap::new();
    for a in after {
        let (ticks, switches) = before
            .iter()
            .find(|b| b.tid == a.tid)
            .map_or((0, 0), |b| (b.ticks, b.switches));
        let e = by_name.entry(a.name.clone()).or_default();
        e.0 += a.ticks.saturating_sub(ticks) as f64 / tck;
        e.1 += a.switches.saturating_sub(switches);
        e.2 += 1;
    }
    let rank = |n: &str| {
        if n.starts_with("cap-") || n.starts_with("W#") {
            0
        } else if n.starts_with("worker-") {
            1
        } else {
            2
        }
    };
    let mut v: Vec<ThreadUse> = by_name
        .into_iter()
        .map(|(n, (cpu, switches, k))| ThreadUse {
            name: if k > 1 { format!("{n} x{k}") } else { n },
            cpu,
            switches,
        })
        .collect();
    v.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then(a.name.cmp(&b.name)));
    v
}

/// State and utime + stime + cutime + cstime (ticks) from a stat file.
fn proc_stat(path: &str) -> Option<(char, u64)> {
    let s = fs::read_to_string(path).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let state = f.first()?.chars().next()?;
    let mut ticks = 0;
    for i in 11..=14 {
        ticks += f.get(i)?.parse::<i64>().ok()?.max(0) as u64;
    }
    Some((state, ticks))
}

/// Machine-wide CPU ticks from /proc/stat.
struct SysCpu {
    total: u64,
    busy: u64,
    softirq: u64,
}

impl SysCpu {
    fn read() -> Option<SysCpu> {
        let s = fs::read_to_string("/proc/stat").ok()?;
        let v: Vec<u64> = s
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() < 8 {
            return None;
        }
        let total: u64 = v.iter().sum();
        Some(SysCpu {
            total,
            busy: total - v[3] - v[4],
            softirq: v[6],
        })
    }
}

/// Wait (at most `limit` seconds) until the machine has been nearly idle
/// for 3 s: busy under half a core. Returns the time waited.
fn wait_quiet(limit: f64) -> Duration {
    let t = Instant::now();
    let mut quiet = 0;
    let mut said = false;
    while quiet < 3 && t.elapsed().as_secs_f64() < limit {
        let Some(a) = SysCpu::read() else { break };
        std::thread::sleep(Duration::from_secs(1));
        let Some(b) = SysCpu::read() else { break };
        let cores = (b.busy - a.busy) as f64 * cpus() as f64 / (b.total - a.total).max(1) as f64;
        if cores < 0.5 {
            quiet += 1;
        } else {
            quiet = 0;
            if !said {
                println!(
                    "{:>14}(waiting for other processes to go quiet, load {})",
                    "",
                    loadavg()
                );
                said = true;
            }
        }
    }
    t.elapsed()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
