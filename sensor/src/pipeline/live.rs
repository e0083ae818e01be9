//! Live capture: one capture thread per interface feeds the same worker
//! rings as replay. The hand-off never blocks the capture: a full ring is a
//! counted drop (`sensor_capture_dropped_packets_total{reason="ring_full"}`),
//! and so is a full kernel ring (`reason="kernel"`, from the socket
//! statistics).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::batch::Pkt;
use super::{start, worker, Classifier, Dispatcher, HandOff, RunSpec, Summary};
use crate::capture::afpacket::{AfPacket, AfPacketConfig};
use crate::decode::LinkType;

/// How packets are taken from the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CaptureMode {
    /// XDP fast path if it attaches, else AF_PACKET alone (says which).
    Auto,
    /// XDP program attached (counters, kernel IOC prefixes, flow bypass);
    /// packets reach userspace through AF_PACKET until AF_XDP sockets land.
    Xdp,
    /// AF_PACKET TPACKET_V3 ring.
    Afpacket,
    /// libpcap (not yet available).
    Pcap,
}

/// A live frame (Ethernet; its bytes are copied into the batch).
fn live_pkt(cnt: u64, ts_ns: u64) -> Pkt {
    Pkt {
        off: 0,
        len: 0,
        ts_ns,
        pcap_cnt: cnt,
        link: LinkType::Ethernet,
        owned: true,
        reassembled: false,
        vlan: [0; 2],
        vlan_count: 0,
    }
}

/// What one capture thread did.
struct CaptureReport {
    packets: u64,
    bytes: u64,
    dropped_ring_full: u64,
    kernel_drops: u64,
    cpu: Duration,
}

/// Capture from `ifaces` until `stop` is set, then flush flows and outputs.
pub fn run(
    spec: RunSpec,
    ifaces: &[String],
    mode: CaptureMode,
    force: bool,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    match mode {
        CaptureMode::Auto => tracing::info!(
            "capture mode auto: XDP fast path if it attaches, packets to userspace through AF_PACKET (AF_XDP sockets and libpcap are not built yet)"
        ),
        CaptureMode::Xdp => tracing::info!(
            "capture mode xdp: XDP fast path (counters, kernel IOC prefixes, flow bypass); packets reach userspace through AF_PACKET until AF_XDP sockets are built"
        ),
        CaptureMode::Afpacket => {}
        CaptureMode::Pcap => {
            anyhow::bail!("--capture pcap: not available in this version; use --capture afpacket")
        }
    }
    // Open every socket before starting anything: a typo in an interface
    // name fails at once with the reason.
    let mut socks = Vec::new();
    for iface in ifaces {
        let cfg = AfPacketConfig {
            iface: iface.clone(),
            promiscuous: true,
            ..AfPacketConfig::default()
        };
        let s = AfPacket::open(&cfg).with_context(|| format!("opening {iface} for capture"))?;
        tracing::info!(iface = %iface, "capturing with AF_PACKET (TPACKET_V3), promiscuous");
        for w in crate::capture::offload::offload_warnings(iface) {
            tracing::warn!("{w}");
        }
        socks.push((iface.clone(), s));
    }
    let started = Instant::now();
    let run = start(&spec)?;
    let n = spec.workers;
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
                Ok(kp) => {
                    for (i, m) in kp.modes() {
                        tracing::info!(iface = %i, mode = m, "XDP kernel fast path attached");
                    }
                    Some(kp)
                }
                Err(e) if mode == CaptureMode::Auto => {
                    tracing::warn!(
                        "XDP fast path not attached, continuing with AF_PACKET only: {e:#}"
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
    for (iface, mut sock) in socks {
        let rings = run.rings.clone();
        let metrics = spec.metrics.clone();
        let stop = stop.clone();
        let mut classify = Classifier::new(&spec, n);
        let batch = spec.cfg.capture.batch_size;
        let h = std::thread::Builder::new()
            .name(format!("capture-{iface}"))
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
                let kernel = metrics.capture_dropped.with_label_values(&["kernel"]);
                while !stop.load(Ordering::Relaxed) {
                    let mut bytes = 0u64;
                    let polled = sock.poll(Duration::from_millis(100), &mut |frame, ts_ns| {
                        cnt += 1;
                        bytes += frame.len() as u64;
                        classify.frame(&mut disp, frame, live_pkt(cnt, ts_ns), false);
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
                    // Send partial batches every round: alerts do not wait
                    // for a batch to fill on a quiet link.
                    disp.flush_all();
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
                        if let Ok(st) = sock.stats() {
                            rep.kernel_drops += st.tp_drops;
                            kernel.inc_by(st.tp_drops);
                        }
                    }
                }
                // Drain what the kernel still holds, then final statistics.
                let _ = sock.poll(Duration::ZERO, &mut |frame, ts_ns| {
                    cnt += 1;
                    rep.packets += 1;
                    rep.bytes += frame.len() as u64;
                    classify.frame(&mut disp, frame, live_pkt(cnt, ts_ns), false);
                });
                disp.flush_all();
                if let Ok(st) = sock.stats() {
                    rep.kernel_drops += st.tp_drops;
                    kernel.inc_by(st.tp_drops);
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
    if let Some(kp) = kernel {
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
    summary.writer = run
        .writer
        .join()
        .map_err(|_| anyhow::anyhow!("the EVE writer thread panicked"))?;
    if let Some(e) = first_err {
        return Err(e);
    }
    summary.wall = started.elapsed();
    summary.fill_totals(&spec.metrics);
    Ok(summary)
}
