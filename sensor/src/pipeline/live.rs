//! Live capture: one capture thread per interface (per rx queue with
//! AF_XDP) feeds the same worker rings as replay. The hand-off never blocks the capture: a full ring is a
//! counted drop (`sensor_capture_dropped_packets_total{reason="ring_full"}`),
//! and so are drops before the sensor saw the packet, from the socket
//! statistics (`kernel` for AF_PACKET, `xsk_ring_full` / `xsk_dropped` /
//! `xsk_invalid_desc` for AF_XDP, `pcap_buffer` / `pcap_interface` for
//! libpcap) and from the NIC's own counters (`nic_missed`, `nic_fifo`,
//! `nic_overrun`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::batch::Pkt;
use super::{start, worker, Classifier, Dispatcher, HandOff, RunSpec, Summary};
use crate::capture::afpacket::{AfPacket, AfPacketConfig};
use crate::capture::libpcap::PcapSource;
use crate::capture::xsk::{rx_queues, Xsk, XskConfig, XskStats};
use crate::decode::LinkType;

/// How packets are taken from the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CaptureMode {
    /// The best that works, and the log says why: AF_XDP behind the XDP
    /// program on interfaces without host addresses (span ports); the XDP
    /// program with AF_PACKET where the host uses the interface (AF_XDP
    /// would take its packets from the host stack) or where AF_XDP fails;
    /// AF_PACKET alone where XDP cannot attach.
    Auto,
    /// XDP program (counters, kernel IOC prefixes, flow bypass) and AF_XDP
    /// sockets, one per rx queue, zero-copy where the driver supports it.
    /// Fails with the reason when either cannot be set up.
    Xdp,
    /// AF_PACKET TPACKET_V3 ring.
    Afpacket,
    /// libpcap, for interfaces the others do not handle.
    Pcap,
}

/// A live frame (its bytes are copied into the batch).
fn live_pkt(cnt: u64, ts_ns: u64, link: LinkType) -> Pkt {
    Pkt {
        off: 0,
        len: 0,
        ts_ns,
        clock_ns: ts_ns,
        pcap_cnt: cnt,
        link,
        owned: true,
        reassembled: false,
        vlan: [0; 2],
        vlan_count: 0,
    }
}

/// Longest a partial batch waits in the capture thread on a busy link.
const FLUSH_EVERY: Duration = Duration::from_millis(1);

/// What one capture thread did.
struct CaptureReport {
    packets: u64,
    bytes: u64,
    dropped_ring_full: u64,
    kernel_drops: u64,
    cpu: Duration,
}

/// One packet source of a capture thread.
enum Source {
    AfPacket(AfPacket),
    Xsk { sock: Box<Xsk>, last: XskStats },
    Pcap(PcapSource),
}

impl Source {
    fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&[u8], u64)) -> std::io::Result<usize> {
        match self {
            Source::AfPacket(s) => s.poll(timeout, f),
            Source::Xsk { sock, .. } => sock.poll(timeout, f),
            Source::Pcap(s) => s.poll(timeout, f),
        }
    }

    fn link(&self) -> LinkType {
        match self {
            Source::Pcap(s) => s.link(),
            _ => LinkType::Ethernet,
        }
    }

    /// Counts the socket's new drops by reason; returns how many.
    fn account_drops(&mut self, m: &crate::metrics::Metrics) -> u64 {
        let drops: Vec<(&str, u64)> = match self {
            Source::AfPacket(s) => match s.stats() {
                Ok(st) => vec![("kernel", st.tp_drops)],
                Err(_) => Vec::new(),
            },
            Source::Xsk { sock, last } => match sock.stats() {
                Ok(st) => {
                    let d = vec![
                        (
                            "xsk_ring_full",
                            st.rx_ring_full.saturating_sub(last.rx_ring_full),
                        ),
                        ("xsk_dropped", st.rx_dropped.saturating_sub(last.rx_dropped)),
                        (
                            "xsk_invalid_desc",
                            st.rx_invalid_descs.saturating_sub(last.rx_invalid_descs),
                        ),
                    ];
                    m.xsk_fill_empty.inc_by(
                        st.rx_fill_ring_empty
                            .saturating_sub(last.rx_fill_ring_empty),
                    );
                    *last = st;
                    d
                }
                Err(_) => Vec::new(),
            },
            Source::Pcap(s) => match s.drops() {
                Ok(d) => vec![("pcap_buffer", d.buffer), ("pcap_interface", d.interface)],
                Err(_) => Vec::new(),
            },
        };
        let mut n = 0;
        for (reason, v) in drops {
            if v > 0 {
                m.capture_dropped.with_label_values(&[reason]).inc_by(v);
                n += v;
            }
        }
        n
    }
}

/// NIC/driver drop counters of an interface (sysfs `statistics/`, the
/// standard counters `ethtool -S` summarises), as deltas from the start.
struct NicDrops {
    iface: String,
    last: [u64; 3],
}

impl NicDrops {
    const FILES: [(&'static str, &'static str); 3] = [
        ("rx_missed_errors", "nic_missed"),
        ("rx_fifo_errors", "nic_fifo"),
        ("rx_over_errors", "nic_overrun"),
    ];

    fn read(iface: &str) -> [u64; 3] {
        let mut v = [0; 3];
        for (i, (f, _)) in Self::FILES.iter().enumerate() {
            v[i] = std::fs::read_to_string(format!("/sys/class/net/{iface}/statistics/{f}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
        }
        v
    }

    fn new(iface: &str) -> NicDrops {
        NicDrops {
            iface: iface.to_string(),
            last: Self::read(iface),
        }
    }

    fn account(&mut self, m: &crate::metrics::Metrics) -> u64 {
        let now = Self::read(&self.iface);
        let mut n = 0;
        for (i, (_, reason)) in Self::FILES.iter().enumerate() {
            let d = now[i].saturating_sub(self.last[i]);
            if d > 0 {
                m.capture_dropped.with_label_values(&[reason]).inc_by(d);
                n += d;
            }
        }
        self.last = now;
        n
    }
}

/// True when the host has an address on `iface` other than an IPv6
/// link-local one: the host uses the interface, so AF_XDP (which takes the
/// redirected packets away from the host stack) is not chosen by `auto`.
fn host_uses(iface: &str) -> bool {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head`, freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return true; // unknown: be careful
    }
    let mut used = false;
    let mut p = head;
    while !p.is_null() {
        // SAFETY: a node of the list getifaddrs returned.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: NUL-terminated name from the kernel.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if name.to_bytes() != iface.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr of its family.
        let fam = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if fam == libc::AF_INET {
            used = true;
        } else if fam == libc::AF_INET6 {
            // SAFETY: AF_INET6 entries are sockaddr_in6.
            let a = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            let b = a.sin6_addr.s6_addr;
            let link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
            if !link_local {
                used = true;
            }
        }
    }
    // SAFETY: the list from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    used
}

/// One capture thread's source and how it is labelled.
struct Plan {
    iface: String,
    queue: u32,
    source: Source,
    /// Reads the interface's NIC drop counters (one plan per interface).
    nic: Option<NicDrops>,
}

fn open_afpacket(iface: &str, fanout_group: Option<u16>) -> anyhow::Result<Source> {
    let cfg = AfPacketConfig {
        iface: iface.to_string(),
        promiscuous: true,
        fanout_group,
        ..AfPacketConfig::default()
    };
    let s = AfPacket::open(&cfg).with_context(|| format!("opening {iface} for capture"))?;
    Ok(Source::AfPacket(s))
}

/// AF_XDP sockets on every rx queue of `iface`, registered in the XDP
/// program's map.
fn open_xsks(
    iface: &str,
    ifindex: u32,
    kp: &super::kernel::KernelPath,
    metrics: &crate::metrics::Metrics,
    xdp_mode: &str,
) -> anyhow::Result<Vec<Plan>> {
    let queues = rx_queues(iface);
    let cfg = XskConfig::default();
    let mut plans = Vec::new();
    for q in 0..queues {
        let sock = Xsk::open(iface, ifindex, q, &cfg)
            .with_context(|| format!("opening an AF_XDP socket on {iface} rx queue {q}"))?;
        kp.bind_xsk(ifindex, q, &sock)
            .with_context(|| format!("registering the AF_XDP socket of {iface} rx queue {q}"))?;
        let bind = if sock.zero_copy() { "zerocopy" } else { "copy" };
        metrics
            .capture_info
            .with_label_values(&[iface, &q.to_string(), "af_xdp", bind, xdp_mode])
            .set(1);
        plans.push(Plan {
            iface: iface.to_string(),
            queue: q,
            source: Source::Xsk {
                sock: Box::new(sock),
                last: XskStats::default(),
            },
            nic: (q == 0).then(|| NicDrops::new(iface)),
        });
    }
    tracing::info!(
        iface = %iface,
        queues,
        bind = if plans.iter().any(|p| matches!(&p.source, Source::Xsk { sock, .. } if sock.zero_copy())) { "zero-copy" } else { "copy mode (driver without zero-copy support)" },
        xdp = xdp_mode,
        "capturing with AF_XDP, one socket per rx queue"
    );
    Ok(plans)
}

/// Capture from `ifaces` until `stop` is set, then flush flows and outputs.
pub fn run(
    spec: RunSpec,
    ifaces: &[String],
    mode: CaptureMode,
    force: bool,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    // Every interface must exist and be up, whatever the mode: a typo fails
    // at once with the reason.
    let mut idx = Vec::new();
    for iface in ifaces {
        idx.push(crate::capture::afpacket::check_interface(iface)?);
    }
    let metrics = spec.metrics.clone();
    let mut plans: Vec<Plan> = Vec::new();
    // Promiscuous mode for every mechanism (AF_PACKET and libpcap ask for
    // it themselves; AF_XDP does not): held until the run ends.
    let mut _promisc = Vec::new();
    for iface in ifaces {
        _promisc.push(crate::capture::afpacket::promiscuous_guard(iface)?);
    }
    let run = start(&spec)?;
    // The kernel fast path: required in xdp mode, best effort in auto mode.
    let kernel = match mode {
        CaptureMode::Xdp | CaptureMode::Auto => {
            match super::kernel::KernelPath::start(
                ifaces,
                spec.ioc.clone(),
                spec.metrics.clone(),
                run.out.clone(),
                force,
            ) {
                Ok(mut kp) => {
                    for (i, m) in kp.modes() {
                        tracing::info!(iface = %i, mode = m, "XDP kernel fast path attached");
                    }
                    kp.start_bypass(
                        run.bypass.clone(),
                        Duration::from_secs(spec.cfg.bypass.idle_timeout),
                        spec.metrics.clone(),
                    )?;
                    Some(kp)
                }
                Err(e) if mode == CaptureMode::Auto => {
                    tracing::warn!(
                        "capture mode auto: XDP fast path not attached, using AF_PACKET: {e:#}"
                    );
                    None
                }
                Err(e) => {
                    return Err(e.context("starting the XDP kernel fast path (--capture xdp)"))
                }
            }
        }
        _ => None,
    };
    let modes: Vec<(String, &'static str)> = kernel.as_ref().map(|k| k.modes()).unwrap_or_default();
    for (iface, &ifindex) in ifaces.iter().zip(&idx) {
        let xdp_mode = modes
            .iter()
            .find(|(i, _)| i == iface)
            .map_or("none", |(_, m)| *m);
        match (mode, &kernel) {
            (CaptureMode::Xdp, Some(kp)) => {
                if host_uses(iface) {
                    tracing::warn!(
                        "{iface} has host addresses: packets the XDP program redirects to AF_XDP no longer reach the host's network stack on it (use a dedicated span/tap interface, or --capture afpacket)"
                    );
                }
                plans.extend(open_xsks(iface, ifindex, kp, &metrics, xdp_mode)?);
            }
            (CaptureMode::Auto, Some(kp)) if !host_uses(iface) => {
                match open_xsks(iface, ifindex, kp, &metrics, xdp_mode) {
                    Ok(p) => plans.extend(p),
                    Err(e) => {
                        tracing::warn!("capture mode auto: AF_XDP unavailable on {iface}, using AF_PACKET behind the XDP program: {e:#}");
                        plans.extend(afpacket_plan(iface, xdp_mode, &metrics)?);
                    }
                }
            }
            (CaptureMode::Auto, Some(_)) => {
                tracing::info!("capture mode auto: {iface} carries host addresses, so packets are read with AF_PACKET (AF_XDP would take them from the host stack); the XDP program still counts, matches IOC prefixes and bypasses");
                plans.extend(afpacket_plan(iface, xdp_mode, &metrics)?);
            }
            (CaptureMode::Pcap, _) => {
                let s = PcapSource::open(iface, 64, true)?;
                tracing::info!(iface = %iface, "capturing with libpcap, promiscuous");
                metrics
                    .capture_info
                    .with_label_values(&[iface, "0", "pcap", "", "none"])
                    .set(1);
                plans.push(Plan {
                    iface: iface.clone(),
                    queue: 0,
                    source: Source::Pcap(s),
                    nic: Some(NicDrops::new(iface)),
                });
            }
            _ => plans.extend(afpacket_plan(iface, xdp_mode, &metrics)?),
        }
        for w in crate::capture::offload::offload_warnings(iface) {
            tracing::warn!("{w}");
        }
    }
    let started = Instant::now();
    let n = spec.workers;
    drop(run.out);
    // Everything privileged is done: sockets are open and bound, the XDP
    // program is attached and its maps are reachable through open fds. Run
    // on without capabilities.
    // Capabilities are per thread: the workers, the writer and the other
    // helper threads drop theirs when they start; this is the main thread's.
    match crate::privs::drop_thread_capabilities() {
        Ok(()) => tracing::info!("setup done: all capabilities dropped"),
        Err(e) => tracing::warn!("could not drop capabilities: {e}"),
    }
    let mut threads = Vec::new();
    for plan in plans {
        let Plan {
            iface,
            queue,
            source: mut sock,
            mut nic,
        } = plan;
        let rings = run.rings.clone();
        let metrics = spec.metrics.clone();
        let stop = stop.clone();
        let mut classify = Classifier::new(&spec, n);
        let batch = spec.cfg.capture.batch_size;
        let h = std::thread::Builder::new()
            .name(format!("cap-{iface}-{queue}"))
            .spawn(move || -> anyhow::Result<CaptureReport> {
                let _ = crate::privs::drop_thread_capabilities();
                let mut disp = Dispatcher::new(rings, batch, HandOff::Drop, metrics.clone());
                let mut rep = CaptureReport {
                    packets: 0,
                    bytes: 0,
                    dropped_ring_full: 0,
                    kernel_drops: 0,
                    cpu: Duration::ZERO,
                };
                let mut cnt = 0u64;
                let mut last_stats = Instant::now();
                let mut last_flush = Instant::now();
                let link = sock.link();
                while !stop.load(Ordering::Relaxed) {
                    let mut bytes = 0u64;
                    let polled = sock.poll(Duration::from_millis(100), &mut |frame, ts_ns| {
                        cnt += 1;
                        bytes += frame.len() as u64;
                        classify.frame(&mut disp, frame, live_pkt(cnt, ts_ns, link), false);
                    });
                    let got = match polled {
                        Ok(g) => g,
                        Err(e) => {
                            // Stop the other threads too, so the run ends.
                            stop.store(true, Ordering::Relaxed);
                            return Err(
                                anyhow::Error::new(e).context(format!("capturing on {iface}"))
                            );
                        }
                    };
                    // Partial batches go out when the link is quiet or every
                    // millisecond: alerts do not wait for a batch to fill,
                    // and a busy link still hands over full batches (one
                    // packet per hand-off would overrun the worker rings,
                    // which hold `ring_batches` hand-offs).
                    if got == 0 || last_flush.elapsed() >= FLUSH_EVERY {
                        disp.flush_all();
                        last_flush = Instant::now();
                    }
                    rep.packets += got as u64;
                    rep.bytes += bytes;
                    metrics.capture_packets.inc_by(got as u64);
                    metrics.capture_bytes.inc_by(bytes);
                    if last_stats.elapsed() >= Duration::from_secs(1) {
                        last_stats = Instant::now();
                        // Frames carry wall-clock capture times: tick with it.
                        let now_ns = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos() as u64);
                        disp.tick(now_ns);
                        rep.kernel_drops += sock.account_drops(&metrics);
                        if let Some(n) = nic.as_mut() {
                            rep.kernel_drops += n.account(&metrics);
                        }
                    }
                }
                // Drain what the kernel still holds, then final statistics.
                let _ = sock.poll(Duration::ZERO, &mut |frame, ts_ns| {
                    cnt += 1;
                    rep.packets += 1;
                    rep.bytes += frame.len() as u64;
                    classify.frame(&mut disp, frame, live_pkt(cnt, ts_ns, link), false);
                });
                disp.flush_all();
                rep.kernel_drops += sock.account_drops(&metrics);
                if let Some(n) = nic.as_mut() {
                    rep.kernel_drops += n.account(&metrics);
                }
                rep.dropped_ring_full = disp.dropped;
                rep.cpu = worker::thread_cpu_time();
                Ok(rep)
            })
            .context("starting a capture thread")?;
        threads.push(h);
    }
    drop(run.rings);
    let mut summary = Summary {
        workers: n,
        ..Default::default()
    };
    let mut first_err = None;
    for h in threads {
        match h.join() {
            Ok(Ok(r)) => {
                summary.packets += r.packets;
                summary.bytes += r.bytes;
                summary.dropped += r.dropped_ring_full + r.kernel_drops;
                summary.reader_cpu += r.cpu;
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => anyhow::bail!("a capture thread panicked (a bug: please report it)"),
        }
    }
    // Detach from the interfaces and flush the last kernel events before
    // the writer can finish.
    let mut kernel_counts = Vec::new();
    if let Some(kp) = kernel {
        kernel_counts = kp.packet_counts();
        if let Err(e) = kp.stop() {
            first_err.get_or_insert(e.context("detaching the XDP program"));
        }
    }
    for w in run.workers {
        match w.join() {
            Ok(r) => summary.worker_reports.push(r),
            Err(_) => anyhow::bail!("a worker thread panicked (a bug: please report it)"),
        }
    }
    summary.ot = super::join_ot(run.ot)?;
    summary.writer = run
        .writer
        .join()
        .map_err(|_| anyhow::anyhow!("the EVE writer thread panicked"))?;
    if let Some(e) = first_err {
        return Err(e);
    }
    summary.wall = started.elapsed();
    summary.kernel = kernel_counts;
    summary.fill_totals(&spec.metrics);
    Ok(summary)
}

fn afpacket_plan(
    iface: &str,
    xdp_mode: &str,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<Vec<Plan>> {
    // One socket and capture thread per rx queue (at most 8), joined in a
    // PACKET_FANOUT group that splits flows between them; one socket when
    // the interface has a single queue.
    let queues = rx_queues(iface).clamp(1, 8);
    let group = (queues > 1).then(|| {
        let idx = crate::capture::afpacket::check_interface(iface).unwrap_or(0);
        (std::process::id() as u16) ^ (idx as u16).rotate_left(8)
    });
    let mut plans = Vec::new();
    for q in 0..queues {
        let source = open_afpacket(iface, group)?;
        metrics
            .capture_info
            .with_label_values(&[iface, &q.to_string(), "afpacket", "", xdp_mode])
            .set(1);
        plans.push(Plan {
            iface: iface.to_string(),
            queue: q,
            source,
            nic: (q == 0).then(|| NicDrops::new(iface)),
        });
    }
    tracing::info!(iface = %iface, sockets = queues, xdp = xdp_mode, "capturing with AF_PACKET (TPACKET_V3), promiscuous");
    Ok(plans)
}
