//! Kernel fast path for live capture: the XDP program of
//! [`crate::capture::xdp`] attached to the capture interfaces, its IOC tries
//! loaded from the [`IocSet`], its ring-buffer hits turned into EVE `alert`
//! records, and its per-CPU counters exported to Prometheus.
//!
//! Attachment uses BPF links (`bpf_link_create`, via aya) where the kernel
//! has them (>= 5.9): the link belongs to this process, so a crash or
//! `kill -9` detaches the program. Native (driver) mode is tried first,
//! generic (skb) mode second, unless [`KernelOptions::force_mode`] picks one.
//! An interface that already has an XDP program is refused unless
//! [`KernelOptions::force`].

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use aya::programs::xdp::XdpLinkId;
use aya::programs::XdpMode;
use crossbeam_channel::Sender;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};
use rules::ioc::IocSet;

use crate::capture::xdp::{cnt, monotonic_ns, IocEvent, SensorXdp, DIR_SRC};
use crate::detect;
use crate::metrics::Metrics;
use crate::output::eve::{self, Endpoints, Header};
use crate::output::OutChunk;

/// How the program runs on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// Driver (native) XDP.
    Native,
    /// Generic (skb) XDP, in the kernel's network stack.
    Generic,
}

impl AttachMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        }
    }

    fn xdp(self) -> XdpMode {
        match self {
            AttachMode::Native => XdpMode::Driver,
            AttachMode::Generic => XdpMode::Skb,
        }
    }
}

impl std::str::FromStr for AttachMode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "native" | "driver" | "drv" => Ok(AttachMode::Native),
            "generic" | "skb" => Ok(AttachMode::Generic),
            _ => bail!("unknown XDP mode `{s}` (use native or generic)"),
        }
    }
}

/// Options of [`KernelPath::start_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelOptions {
    /// Replace (detach first) an XDP program already on the interface.
    pub force: bool,
    /// Only this mode (no fallback); `None`: native, then generic.
    pub force_mode: Option<AttachMode>,
}

/// Events moved from the ring buffer per lock of the loader.
const EVENT_BATCH: usize = 4096;
/// Longest wait for ring-buffer readiness (also the stop latency).
const POLL_MS: i32 = 50;

type Shared = Arc<Mutex<Option<SensorXdp>>>;

/// The running kernel fast path. [`KernelPath::stop`] (or drop) detaches it.
pub struct KernelPath {
    xdp: Shared,
    links: Vec<(String, AttachMode, XdpLinkId)>,
    stop_flag: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    bypass_thread: Option<JoinHandle<()>>,
    collector: Option<XdpCollector>,
    registry: prometheus::Registry,
    loaded_v4: usize,
    loaded_v6: usize,
}

impl KernelPath {
    /// Load the XDP program, attach it to every interface in `ifaces`, load
    /// the IP indicators of `ioc` into the kernel tries, start the event
    /// thread (alerts to `out`) and register the XDP counters on
    /// `metrics.registry`. Refuses interfaces that already have an XDP
    /// program unless `force`.
    pub fn start(
        ifaces: &[String],
        ioc: Arc<IocSet>,
        metrics: Metrics,
        out: Sender<OutChunk>,
        force: bool,
    ) -> anyhow::Result<KernelPath> {
        Self::start_with(
            ifaces,
            ioc,
            metrics,
            out,
            KernelOptions {
                force,
                force_mode: None,
            },
        )
    }

    /// [`KernelPath::start`] with an explicit attach mode.
    pub fn start_with(
        ifaces: &[String],
        ioc: Arc<IocSet>,
        metrics: Metrics,
        out: Sender<OutChunk>,
        opts: KernelOptions,
    ) -> anyhow::Result<KernelPath> {
        if ifaces.is_empty() {
            bail!("kernel fast path: no interface given");
        }
        let mut seen = Vec::new();
        for i in ifaces {
            if !seen.contains(i) {
                seen.push(i.clone());
            }
        }
        let ifaces = seen;
        // Cheap checks first: a typo should not cost a program load.
        for i in &ifaces {
            if_index(i)?;
        }
        for i in &ifaces {
            match existing_xdp(i) {
                Ok(None) => {}
                Ok(Some(what)) if opts.force => {
                    tracing::warn!(
                        "{i}: replacing the XDP program already attached ({what}) as forced"
                    );
                    remove_xdp(i);
                }
                Ok(Some(what)) => bail!(
                    "interface {i}: another XDP program is already attached ({what}); \
                     detach it (ip link set dev {i} xdp off) or force the kernel fast path"
                ),
                Err(e) => tracing::warn!(
                    "{i}: cannot check for an attached XDP program ({e:#}); the kernel will refuse a conflicting attach"
                ),
            }
        }
        raise_memlock();
        let mut xdp = SensorXdp::load().map_err(|e| {
            anyhow!(
                "loading the XDP program: {} (needs root or CAP_BPF + CAP_NET_ADMIN, and a kernel with BTF and BPF ring buffers, >= 5.8)",
                chain(&e)
            )
        })?;

        // IOC tries. The kernel's IPv4 prefilter works on /24s: prefixes
        // shorter than /8 stay with the userspace matcher.
        let v4: Vec<(u32, u8, u32)> = ioc
            .ipv4_prefixes()
            .into_iter()
            .filter(|&(_, len, _)| len >= 8)
            .collect();
        let v4_short = ioc.ipv4_prefixes().len() - v4.len();
        if v4_short > 0 {
            tracing::warn!(
                "{v4_short} IPv4 indicator(s) shorter than /8 not loaded into the kernel"
            );
        }
        let v6 = ioc.ipv6_prefixes();
        xdp.insert_ioc_v4(&v4)
            .map_err(|e| anyhow!("loading IPv4 indicators into the kernel: {}", chain(&e)))?;
        xdp.insert_ioc_v6(&v6)
            .map_err(|e| anyhow!("loading IPv6 indicators into the kernel: {}", chain(&e)))?;

        let mut kp = KernelPath {
            xdp: Arc::new(Mutex::new(Some(xdp))),
            links: Vec::new(),
            stop_flag: Arc::new(AtomicBool::new(false)),
            thread: None,
            bypass_thread: None,
            collector: None,
            registry: metrics.registry.clone(),
            loaded_v4: v4.len(),
            loaded_v6: v6.len(),
        };
        // From here on an error drops `kp`, which detaches what is attached.
        for i in &ifaces {
            let (mode, id) = kp.attach(i, opts.force_mode)?;
            kp.links.push((i.clone(), mode, id));
        }

        let fd = {
            let g = lock(&kp.xdp);
            let x = g.as_ref().ok_or_else(|| anyhow!("XDP program gone"))?;
            x.events_fd()
                .try_clone_to_owned()
                .context("duplicating the ring buffer fd")?
        };
        let worker = EventThread {
            xdp: kp.xdp.clone(),
            fd,
            ioc,
            metrics: metrics.clone(),
            out,
            stop: kp.stop_flag.clone(),
        };
        kp.thread = Some(
            std::thread::Builder::new()
                .name("xdp-events".into())
                .spawn(move || worker.run())
                .context("starting the XDP event thread")?,
        );

        let c = XdpCollector::new(kp.xdp.clone(), kp.modes());
        metrics
            .registry
            .register(Box::new(c.clone()))
            .context("registering the XDP metrics (is another kernel fast path running?)")?;
        kp.collector = Some(c);
        Ok(kp)
    }

    fn attach(
        &mut self,
        iface: &str,
        only: Option<AttachMode>,
    ) -> anyhow::Result<(AttachMode, XdpLinkId)> {
        let modes: &[AttachMode] = match only {
            Some(AttachMode::Native) => &[AttachMode::Native],
            Some(AttachMode::Generic) => &[AttachMode::Generic],
            None => &[AttachMode::Native, AttachMode::Generic],
        };
        let mut g = lock(&self.xdp);
        let x = g.as_mut().ok_or_else(|| anyhow!("XDP program gone"))?;
        let mut why = Vec::new();
        for &m in modes {
            match x.attach_link(iface, m.xdp()) {
                Ok(id) => {
                    if !why.is_empty() {
                        tracing::info!("{iface}: {}", why.join("; "));
                    }
                    return Ok((m, id));
                }
                Err(e) => why.push(format!("{} mode: {}", m.as_str(), chain(&e))),
            }
        }
        bail!(
            "attaching XDP to interface {iface} failed: {}",
            why.join("; ")
        )
    }

    /// Attach mode per interface ("native" / "generic"), for the start log.
    pub fn modes(&self) -> Vec<(String, &'static str)> {
        self.links
            .iter()
            .map(|(i, m, _)| (i.clone(), m.as_str()))
            .collect()
    }

    /// Registers an AF_XDP socket for rx queue `queue` of interface
    /// `ifindex`: from now on the program redirects that queue's packets
    /// to it.
    pub fn bind_xsk(
        &self,
        ifindex: u32,
        queue: u32,
        sock: &impl std::os::fd::AsRawFd,
    ) -> anyhow::Result<()> {
        let mut g = lock(&self.xdp);
        let x = g.as_mut().ok_or_else(|| anyhow!("XDP program gone"))?;
        x.bind_xsk(ifindex, queue, sock.as_raw_fd())
            .map_err(|e| anyhow!("{}", chain(&e)))
    }

    /// Serve bypass requests: insert each flow key from `rx` into the
    /// program's bypass map (its packets are then dropped in the kernel)
    /// and expire entries idle for `idle`.
    pub fn start_bypass(
        &mut self,
        rx: crossbeam_channel::Receiver<crate::capture::xdp::FlowKey>,
        idle: std::time::Duration,
        metrics: Metrics,
    ) -> anyhow::Result<()> {
        let xdp = self.xdp.clone();
        let stop = self.stop_flag.clone();
        let h = std::thread::Builder::new()
            .name("xdp-bypass".into())
            .spawn(move || {
                let _ = crate::privs::drop_thread_capabilities();
                let m = |r: &str| metrics.bypass_flows.with_label_values(&[r]);
                let (inserted, failed, expired) = (m("inserted"), m("failed"), m("expired"));
                let mut last_expiry = std::time::Instant::now();
                while !stop.load(Ordering::Acquire) {
                    match rx.recv_timeout(std::time::Duration::from_millis(200)) {
                        Ok(k) => {
                            if let Some(x) = lock(&xdp).as_mut() {
                                match x.bypass_insert(&k) {
                                    Ok(()) => inserted.inc(),
                                    Err(e) => {
                                        failed.inc();
                                        tracing::debug!("bypass insert: {}", chain(&e));
                                    }
                                }
                            }
                        }
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                    }
                    if last_expiry.elapsed() >= std::time::Duration::from_secs(1) {
                        last_expiry = std::time::Instant::now();
                        if let Some(x) = lock(&xdp).as_mut() {
                            if let Ok(n) = x.bypass_expire(idle) {
                                expired.inc_by(n as u64);
                            }
                        }
                    }
                }
            })
            .context("starting the bypass thread")?;
        self.bypass_thread = Some(h);
        Ok(())
    }

    /// The program's packet counters by class name, summed over CPUs.
    pub fn packet_counts(&self) -> Vec<(&'static str, u64)> {
        let g = lock(&self.xdp);
        let Some(x) = g.as_ref() else {
            return Vec::new();
        };
        let Ok(c) = x.counters() else {
            return Vec::new();
        };
        crate::capture::xdp::cnt::NAMES
            .iter()
            .filter_map(|&(i, name)| c.get(i as usize).map(|v| (name, v.packets)))
            .collect()
    }

    /// IPv4 and IPv6 prefixes loaded into the kernel tries.
    pub fn loaded_prefixes(&self) -> (usize, usize) {
        (self.loaded_v4, self.loaded_v6)
    }

    /// Detach from every interface, stop the event thread (after it has
    /// sent every pending event), unregister the metrics.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        let mut errors = Vec::new();
        // Detach first: no new events after this.
        {
            let mut g = lock(&self.xdp);
            if let Some(x) = g.as_mut() {
                for (i, _, id) in self.links.drain(..) {
                    if let Err(e) = x.detach(id) {
                        errors.push(format!("detaching XDP from {i}: {}", chain(&e)));
                    }
                }
            }
        }
        self.stop_flag.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                errors.push("the XDP event thread panicked".into());
            }
        }
        if let Some(t) = self.bypass_thread.take() {
            if t.join().is_err() {
                errors.push("the XDP bypass thread panicked".into());
            }
        }
        if let Some(c) = self.collector.take() {
            let _ = self.registry.unregister(Box::new(c));
        }
        // Unloads the program and frees the maps (and detaches anything
        // left, had a detach above failed).
        drop(lock(&self.xdp).take());
        if errors.is_empty() {
            Ok(())
        } else {
            bail!("{}", errors.join("; "))
        }
    }
}

impl Drop for KernelPath {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!("stopping the kernel fast path: {e:#}");
        }
    }
}

fn lock(x: &Shared) -> std::sync::MutexGuard<'_, Option<SensorXdp>> {
    x.lock().unwrap_or_else(|p| p.into_inner())
}

/// An error and its sources, without repeating text already shown.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn if_index(iface: &str) -> anyhow::Result<u32> {
    let c = CString::new(iface).map_err(|_| anyhow!("invalid interface name {iface:?}"))?;
    // SAFETY: valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        bail!(
            "interface {iface} not found: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(idx)
}

/// The XDP program already on `iface`, described, from `ip -j link show`.
fn existing_xdp(iface: &str) -> anyhow::Result<Option<String>> {
    let out = Command::new("ip")
        .args(["-j", "link", "show", "dev", iface])
        .output()
        .context("running `ip -j link show`")?;
    if !out.status.success() {
        bail!(
            "`ip -j link show dev {iface}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing `ip -j link show` output")?;
    Ok(xdp_of(&v))
}

/// Description of the "xdp" object of an `ip -j link show` entry, if any.
fn xdp_of(v: &serde_json::Value) -> Option<String> {
    let x = v.get(0).unwrap_or(v).get("xdp")?;
    let mode = match x.get("mode").and_then(|m| m.as_u64()) {
        Some(1) => "native",
        Some(2) => "generic",
        Some(3) => "offload",
        Some(4) => "multiple modes",
        _ => "unknown mode",
    };
    let id = x
        .get("prog")
        .and_then(|p| p.get("id"))
        .or_else(|| {
            x.get("attached")
                .and_then(|a| a.get(0))
                .and_then(|a| a.get("prog"))
                .and_then(|p| p.get("id"))
        })
        .map(|i| format!(" id {i}"))
        .unwrap_or_default();
    Some(format!("program{id}, {mode}"))
}

/// Best effort removal of netlink-attached programs (links owned by other
/// processes cannot be removed this way; the attach then fails with EBUSY).
fn remove_xdp(iface: &str) {
    for kind in ["xdp", "xdpgeneric", "xdpdrv"] {
        let _ = Command::new("ip")
            .args(["link", "set", "dev", iface, kind, "off"])
            .output();
    }
}

/// Older kernels charge BPF maps to RLIMIT_MEMLOCK; newer ones (>= 5.11)
/// use memcg accounting. Raise it anyway; failure is harmless there.
fn raise_memlock() {
    let r = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid pointer to an rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &r) } != 0 {
        tracing::debug!(
            "raising RLIMIT_MEMLOCK: {}",
            std::io::Error::last_os_error()
        );
    }
}

// ---- events -----------------------------------------------------------------

/// (indicator, direction, src, dst, sport, dport, protocol) of a kernel
/// IOC event: the unit of alert de-duplication.
type EventKey = (u32, u8, [u8; 16], [u8; 16], u16, u16, u8);

struct EventThread {
    xdp: Shared,
    fd: OwnedFd,
    ioc: Arc<IocSet>,
    metrics: Metrics,
    out: Sender<OutChunk>,
    stop: Arc<AtomicBool>,
}

impl EventThread {
    fn run(self) {
        // Polling an open ring-buffer fd needs no privilege.
        let _ = crate::privs::drop_thread_capabilities();
        let mut evs = Vec::with_capacity(EVENT_BATCH);
        let mut buf = Vec::with_capacity(64 * 1024);
        // The kernel reports every matching packet; the SOC gets one alert
        // per indicator, direction and 5-tuple per minute. The set is
        // bounded: it is cleared when it grows past its limit or a minute
        // has passed.
        let mut seen: std::collections::HashSet<EventKey> = std::collections::HashSet::new();
        let mut seen_since = std::time::Instant::now();
        let alerted = self
            .metrics
            .kernel_ioc_events
            .with_label_values(&["alerted"]);
        let suppressed = self
            .metrics
            .kernel_ioc_events
            .with_label_values(&["suppressed"]);
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            if !stopping {
                let mut p = libc::pollfd {
                    fd: self.fd.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd. Errors (EINTR) just loop.
                unsafe { libc::poll(&mut p, 1, POLL_MS) };
            }
            let n = match lock(&self.xdp).as_mut() {
                Some(x) => x.poll_events(&mut evs, EVENT_BATCH),
                None => 0,
            };
            if n > 0 {
                let offset = wall_minus_mono();
                let mut records = 0u64;
                if seen_since.elapsed() >= std::time::Duration::from_secs(60) || seen.len() > 65_536
                {
                    seen.clear();
                    seen_since = std::time::Instant::now();
                }
                for ev in evs.drain(..) {
                    let key = (
                        ev.indicator,
                        ev.direction,
                        ev.src,
                        ev.dst,
                        ev.sport,
                        ev.dport,
                        ev.protocol,
                    );
                    if !seen.insert(key) {
                        suppressed.inc();
                        continue;
                    }
                    alerted.inc();
                    let ts = ev.timestamp_ns.wrapping_add(offset);
                    if let Some(sev) = write_event(&mut buf, &ev, &self.ioc, ts) {
                        records += 1;
                        self.metrics
                            .alerts
                            .with_label_values(&[&sev.to_string(), "kernel_ioc"])
                            .inc();
                    }
                }
                if records > 0 {
                    let chunk = OutChunk {
                        bytes: std::mem::replace(&mut buf, Vec::with_capacity(64 * 1024)),
                        records,
                    };
                    if let Err(e) = self.out.send(chunk) {
                        self.metrics
                            .output_dropped
                            .with_label_values(&["eve", "writer_gone"])
                            .inc_by(e.0.records);
                    }
                }
            }
            if stopping && n < EVENT_BATCH {
                break;
            }
        }
    }
}

/// CLOCK_REALTIME - CLOCK_MONOTONIC in ns: turns the events' monotonic
/// timestamps (`bpf_ktime_get_ns`) into wall-clock time.
fn wall_minus_mono() -> u64 {
    let mono = monotonic_ns();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    wall.wrapping_sub(mono)
}

/// Append the EVE alert of one IOC hit; returns its severity, or `None`
/// (nothing written) when the indicator index or IP version is unknown.
pub fn write_event(buf: &mut Vec<u8>, ev: &IocEvent, ioc: &IocSet, ts_ns: u64) -> Option<u8> {
    let ind = ioc.get(ev.indicator)?;
    let (src, dst) = match ev.ip_version {
        4 => (
            IpAddr::V4(Ipv4Addr::new(ev.src[0], ev.src[1], ev.src[2], ev.src[3])),
            IpAddr::V4(Ipv4Addr::new(ev.dst[0], ev.dst[1], ev.dst[2], ev.dst[3])),
        ),
        6 => (
            IpAddr::V6(Ipv6Addr::from(ev.src)),
            IpAddr::V6(Ipv6Addr::from(ev.dst)),
        ),
        _ => return None,
    };
    let ep = Endpoints {
        src,
        dst,
        sport: ev.sport,
        dport: ev.dport,
        proto: ev.protocol,
        icmp: None,
    };
    let (field, dir) = if ev.direction == DIR_SRC {
        ("kernel.src_ip", "src")
    } else {
        ("kernel.dest_ip", "dst")
    };
    let severity = detect::severity(ind);
    eve::begin_record(
        buf,
        &Header {
            ts_ns,
            event_type: "alert",
            flow_id: None,
            pcap_cnt: None,
            ep: Some(&ep),
            vlan: &[],
            community_id: None,
            app_proto: None,
            tx_id: None,
        },
    );
    eve::member(buf, "direction");
    eve::json_str(buf, dir);
    eve::member(buf, "alert");
    detect::write_alert(buf, ind, field, severity);
    eve::end_record(buf);
    Some(severity)
}

// ---- metrics ----------------------------------------------------------------

/// Prometheus view of the XDP program's per-CPU counters, summed at scrape.
#[derive(Clone)]
pub struct XdpCollector {
    xdp: Shared,
    modes: Arc<Vec<(String, &'static str)>>,
    descs: Arc<Vec<Desc>>,
}

const M_PACKETS: &str = "sensor_xdp_packets_total";
const M_BYTES: &str = "sensor_xdp_bytes_total";
const M_ACTIONS: &str = "sensor_xdp_actions_total";
const M_MODE: &str = "sensor_xdp_attach_mode";

impl XdpCollector {
    fn new(xdp: Shared, modes: Vec<(String, &'static str)>) -> XdpCollector {
        let d = |name: &str, help: &str, labels: &[&str]| {
            Desc::new(
                name.into(),
                help.into(),
                labels.iter().map(|s| s.to_string()).collect(),
                Default::default(),
            )
            .unwrap_or_else(|e| unreachable!("constant metric description {name}: {e}"))
        };
        XdpCollector {
            xdp,
            modes: Arc::new(modes),
            descs: Arc::new(vec![
                d(
                    M_PACKETS,
                    "Packets seen by the XDP program, by class (one packet counts in several classes)",
                    &["class"],
                ),
                d(M_BYTES, "Bytes seen by the XDP program, by class", &["class"]),
                d(
                    M_ACTIONS,
                    "Packets by XDP action returned (redirect_failed: no AF_XDP socket, passed)",
                    &["action"],
                ),
                d(
                    M_MODE,
                    "XDP attach mode per interface (1 = attached in this mode)",
                    &["iface", "mode"],
                ),
            ]),
        }
    }
}

fn metric(labels: &[(&str, &str)], value: f64, gauge: bool) -> Metric {
    let mut m = Metric::default();
    m.set_label(
        labels
            .iter()
            .map(|(k, v)| {
                let mut l = LabelPair::default();
                l.set_name(k.to_string());
                l.set_value(v.to_string());
                l
            })
            .collect(),
    );
    if gauge {
        let mut g = prometheus::proto::Gauge::default();
        g.set_value(value);
        m.set_gauge(g);
    } else {
        let mut c = prometheus::proto::Counter::default();
        c.set_value(value);
        m.set_counter(c);
    }
    m
}

fn family(desc: &Desc, t: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(desc.fq_name.clone());
    f.set_help(desc.help.clone());
    f.set_field_type(t);
    f.set_metric(metrics);
    f
}

impl Collector for XdpCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let counters = match lock(&self.xdp).as_ref().map(|x| x.counters()) {
            Some(Ok(c)) => c,
            _ => return vec![],
        };
        let (mut packets, mut bytes, mut actions) = (Vec::new(), Vec::new(), Vec::new());
        for &(i, name) in cnt::NAMES {
            let c = counters.get(i as usize).copied().unwrap_or_default();
            if let Some(action) = name.strip_prefix("action_") {
                actions.push(metric(&[("action", action)], c.packets as f64, false));
            } else {
                packets.push(metric(&[("class", name)], c.packets as f64, false));
                bytes.push(metric(&[("class", name)], c.bytes as f64, false));
            }
        }
        let modes = self
            .modes
            .iter()
            .map(|(i, m)| metric(&[("iface", i), ("mode", m)], 1.0, true))
            .collect();
        vec![
            family(&self.descs[0], MetricType::COUNTER, packets),
            family(&self.descs[1], MetricType::COUNTER, bytes),
            family(&self.descs[2], MetricType::COUNTER, actions),
            family(&self.descs[3], MetricType::GAUGE, modes),
        ]
    }
}

// ---- tests ------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ioc::IocSetBuilder;
    use std::time::Duration;

    fn ioc() -> Arc<IocSet> {
        let mut b = IocSetBuilder::new();
        b.load_str("t", "10.66.0.0/24\n", true).unwrap();
        Arc::new(b.build())
    }

    #[test]
    fn event_record_shape() {
        let ioc = ioc();
        let idx = ioc.ipv4_prefixes()[0].2;
        let mut ev = IocEvent {
            timestamp_ns: 0,
            indicator: idx,
            direction: DIR_SRC,
            prefixlen: 24,
            ip_version: 4,
            protocol: 17,
            ..IocEvent::default()
        };
        ev.src[..4].copy_from_slice(&[10, 66, 0, 7]);
        ev.dst[..4].copy_from_slice(&[10, 66, 0, 1]);
        ev.sport = 40000;
        ev.dport = 9999;
        let mut buf = Vec::new();
        let sev = write_event(&mut buf, &ev, &ioc, 1_700_000_000_000_000_000).unwrap();
        assert_eq!(buf.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.000000+0000");
        assert_eq!(v["src_ip"], "10.66.0.7");
        assert_eq!(v["dest_ip"], "10.66.0.1");
        assert_eq!(v["src_port"], 40000);
        assert_eq!(v["dest_port"], 9999);
        assert_eq!(v["proto"], "UDP");
        assert_eq!(v["direction"], "src");
        assert_eq!(v["alert"]["severity"], sev);
        assert_eq!(v["alert"]["metadata"]["ioc_value"][0], "10.66.0.0/24");
        assert_eq!(v["alert"]["metadata"]["matched_field"][0], "kernel.src_ip");
        // unknown indicator: nothing written
        ev.indicator = 999;
        let mut b2 = Vec::new();
        assert!(write_event(&mut b2, &ev, &ioc, 0).is_none());
        assert!(b2.is_empty());
    }

    #[test]
    fn xdp_key_of_ip_json() {
        let none: serde_json::Value = serde_json::from_str(r#"[{"ifname":"a"}]"#).unwrap();
        assert_eq!(xdp_of(&none), None);
        let one: serde_json::Value =
            serde_json::from_str(r#"[{"ifname":"a","xdp":{"mode":2,"prog":{"id":42}}}]"#).unwrap();
        assert_eq!(xdp_of(&one).unwrap(), "program id 42, generic");
    }

    #[test]
    fn missing_interface_is_named() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let e = KernelPath::start(&["kpnope0".to_string()], ioc(), Metrics::new(), tx, false)
            .err()
            .unwrap();
        let msg = format!("{e:#}");
        assert!(msg.contains("interface kpnope0 not found"), "{msg}");
    }

    fn sh(args: &[&str]) -> std::process::Output {
        Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap_or_else(|e| panic!("running {args:?}: {e}"))
    }

    fn ok(args: &[&str]) {
        let o = sh(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Deletes the namespace and the veth pair, even when the test fails.
    struct Veth {
        ns: String,
        host: String,
        peer: String,
    }

    impl Veth {
        fn new() -> Veth {
            let pid = std::process::id();
            let v = Veth {
                ns: format!("kpns{pid}"),
                host: format!("kph{pid}"),
                peer: format!("kpp{pid}"),
            };
            let (ns, host, peer) = (v.ns.as_str(), v.host.as_str(), v.peer.as_str());
            ok(&["ip", "netns", "add", ns]);
            ok(&[
                "ip", "link", "add", host, "type", "veth", "peer", "name", peer,
            ]);
            ok(&["ip", "link", "set", peer, "netns", ns]);
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1");
            let _ = sh(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{peer}.disable_ipv6=1"),
            ]);
            ok(&["ip", "addr", "add", "10.66.0.1/24", "dev", host]);
            ok(&["ip", "link", "set", host, "up"]);
            ok(&[
                "ip",
                "netns",
                "exec",
                ns,
                "ip",
                "addr",
                "add",
                "10.66.0.7/24",
                "dev",
                peer,
            ]);
            ok(&["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"]);
            ok(&["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
            v
        }
    }

    impl Drop for Veth {
        fn drop(&mut self) {
            let _ = sh(&["ip", "link", "del", &self.host]);
            let _ = sh(&["ip", "netns", "del", &self.ns]);
        }
    }

    fn xdp_attached(iface: &str) -> Option<String> {
        let o = sh(&["ip", "-j", "link", "show", "dev", iface]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        xdp_of(&v)
    }

    fn counter_value(text: &str, prefix: &str) -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn veth_end_to_end() {
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED veth_end_to_end: needs root");
            return;
        }
        if Command::new("ip").arg("-V").output().is_err() {
            eprintln!("SKIPPED veth_end_to_end: no `ip` command");
            return;
        }
        let veth = Veth::new();
        let metrics = Metrics::new();
        let (tx, rx) = crossbeam_channel::unbounded::<OutChunk>();
        let kp = KernelPath::start(
            std::slice::from_ref(&veth.host),
            ioc(),
            metrics.clone(),
            tx,
            false,
        )
        .unwrap_or_else(|e| panic!("start: {e:#}"));
        let modes = kp.modes();
        eprintln!("attach modes: {modes:?}");
        assert_eq!(modes.len(), 1);
        assert_eq!(modes[0].0, veth.host);
        assert_eq!(kp.loaded_prefixes(), (1, 0));

        let attached = xdp_attached(&veth.host);
        eprintln!("ip -j link show: xdp = {attached:?}");
        assert!(attached.is_some(), "no XDP program on {}", veth.host);
        // Attached through a BPF link owned by this process (detached by the
        // kernel if the process dies), not through netlink.
        let links = std::fs::read_dir("/proc/self/fdinfo")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .filter(|t| {
                t.lines()
                    .any(|l| l.starts_with("link_type:") && l.ends_with("xdp"))
            })
            .count();
        assert!(links >= 1, "no XDP bpf_link fd in /proc/self/fdinfo");

        // A second instance without force is refused, naming the interface.
        let (tx2, _rx2) = crossbeam_channel::unbounded();
        let e = KernelPath::start(
            std::slice::from_ref(&veth.host),
            ioc(),
            Metrics::new(),
            tx2,
            false,
        )
        .err()
        .expect("second start on the same interface must fail");
        let msg = format!("{e:#}");
        eprintln!("second start: {msg}");
        assert!(msg.contains(&veth.host), "{msg}");
        assert!(
            msg.contains("another XDP program is already attached"),
            "{msg}"
        );
        // ... and did not disturb the first.
        assert!(xdp_attached(&veth.host).is_some());

        // UDP 10.66.0.7:40000 -> 10.66.0.1:9999 from inside the namespace.
        let py = "import socket,time\n\
                  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
                  s.bind(('10.66.0.7',40000))\n\
                  for _ in range(5):\n    s.sendto(b'kernel-path-test',('10.66.0.1',9999)); time.sleep(0.05)\n";
        let o = Command::new("ip")
            .args(["netns", "exec", &veth.ns, "python3", "-c", py])
            .output();
        let sent_py = matches!(&o, Ok(o) if o.status.success());
        if !sent_py {
            eprintln!("python3 failed ({o:?}); sending with bash /dev/udp");
            ok(&[
                "ip",
                "netns",
                "exec",
                &veth.ns,
                "bash",
                "-c",
                "for i in 1 2 3 4 5; do echo kp > /dev/udp/10.66.0.1/9999; sleep 0.05; done",
            ]);
        }

        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut found = None;
        let mut records = 0;
        while found.is_none() && std::time::Instant::now() < deadline {
            let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            records += chunk.records;
            for line in chunk.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!("bad EVE line {}: {e}", String::from_utf8_lossy(line))
                });
                if v["event_type"] == "alert"
                    && v["src_ip"] == "10.66.0.7"
                    && v["alert"]["metadata"]["ioc_value"][0] == "10.66.0.0/24"
                {
                    found = Some(v);
                }
            }
        }
        let v = found.expect("no kernel IOC alert for 10.66.0.7 within 5 s");
        eprintln!("alert: {v}");
        assert!(records >= 1);
        assert_eq!(v["dest_ip"], "10.66.0.1");
        assert_eq!(v["proto"], "UDP");
        if sent_py {
            assert_eq!(v["src_port"], 40000);
            assert_eq!(v["dest_port"], 9999);
        }

        let text = metrics.render();
        let ipv4 = counter_value(&text, "sensor_xdp_packets_total{class=\"ipv4\"}")
            .unwrap_or_else(|| panic!("no ipv4 packet counter in:\n{text}"));
        assert!(ipv4 > 0.0, "{text}");
        let hits = counter_value(&text, "sensor_xdp_packets_total{class=\"ioc_hit\"}").unwrap();
        assert!(hits > 0.0, "{text}");
        assert!(
            counter_value(&text, "sensor_xdp_actions_total{action=\"pass\"}").unwrap() > 0.0,
            "{text}"
        );
        let mode_line = format!(
            "sensor_xdp_attach_mode{{iface=\"{}\",mode=\"{}\"}} 1",
            veth.host, modes[0].1
        );
        assert!(text.contains(&mode_line), "{text}");
        assert!(
            text.contains("sensor_alerts_total{severity=\"2\",source=\"kernel_ioc\"}"),
            "{text}"
        );
        for l in text.lines().filter(|l| l.starts_with("sensor_xdp_")) {
            eprintln!("  {l}");
        }

        kp.stop().unwrap();
        let o = sh(&["ip", "link", "show", "dev", &veth.host]);
        let shown = String::from_utf8_lossy(&o.stdout);
        eprintln!("after stop: {shown}");
        assert!(o.status.success());
        assert!(!shown.contains("xdp"), "XDP still attached: {shown}");
        assert_eq!(xdp_attached(&veth.host), None);
        // The collector is gone from the registry.
        assert!(!metrics.render().contains("sensor_xdp_packets_total"));
    }
}
