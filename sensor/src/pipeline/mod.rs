//! The pipeline: a capture thread hands batches to N workers chosen by the
//! symmetric flow hash, through bounded lock-free rings (crossbeam array
//! channels); workers hand serialised EVE records to the writer.
//!
//! In replay the hand-off waits when a ring is full (nothing is lost); in
//! live capture the same hand-off counts a drop with reason `ring_full`.

pub mod batch;
pub mod kernel;
pub mod live;
pub mod worker;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::{Sender, TrySendError};
use prometheus::core::Collector;
use rules::ioc::IocSet;

use crate::capture::file::{CaptureFile, RecordError};
use crate::config::Config;
use crate::decode::defrag::{DefragConfig, Defragmenter};
use crate::decode::{self, Decoded};
use crate::flow::FlowKey;
use crate::metrics::Metrics;
use crate::output::{self, EveTarget, WriterReport};
use batch::{Batch, Pkt};
use worker::{Worker, WorkerSetup};

/// How the capture thread hands batches over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandOff {
    /// Wait for room (replay: lose nothing).
    Wait,
    /// Drop and count (live: never stall the capture).
    Drop,
}

/// What a replay did.
#[derive(Debug, Default)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    pub wall: Duration,
    pub flows: u64,
    pub alerts: u64,
    pub anomalies: u64,
    pub dropped: u64,
    /// What the OT detection stage did.
    pub ot: Option<crate::detect::ot::OtReport>,
    /// XDP program counters at the end of a live run (packets by class,
    /// as in `sensor_xdp_packets_total`), empty without the program.
    pub kernel: Vec<(&'static str, u64)>,
    pub records: u64,
    pub input_errors: Vec<String>,
    pub writer: WriterReport,
    pub workers: usize,
    /// CPU time of the capture (reader) thread.
    pub reader_cpu: Duration,
    pub worker_reports: Vec<worker::WorkerReport>,
    /// Largest anonymous (heap) RSS seen while reading, KiB.
    pub peak_anon_kib: u64,
}

impl Summary {
    /// Flow, alert, anomaly and record totals, once every stage has ended.
    fn fill_totals(&mut self, m: &Metrics) {
        self.flows = m.flows_created.get();
        self.alerts = Metrics::sum(&m.alerts);
        self.anomalies = Metrics::sum(&m.anomalies);
        self.records = self.writer.records;
    }

    pub fn pps(&self) -> f64 {
        self.packets as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    pub fn gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.wall.as_secs_f64().max(1e-9) / 1e9
    }

    /// Human summary for the end of a run.
    pub fn render(&self, m: &Metrics) -> String {
        let mut s = String::new();
        use std::fmt::Write;
        let _ = writeln!(
            s,
            "packets {}  bytes {}  wall {:.3}s  {:.0} pkt/s  {:.3} Gbit/s  workers {}",
            self.packets,
            self.bytes,
            self.wall.as_secs_f64(),
            self.pps(),
            self.gbps(),
            self.workers
        );
        let (n, p50, p99, max) = m.latency.snapshot();
        let _ = writeln!(
            s,
            "flows {}  alerts {}  anomalies {}  drops {}  eve records {}  alert latency p50 {}us p99 {}us max {}us (n={})",
            self.flows, self.alerts, self.anomalies, self.dropped, self.records, p50, p99, max, n
        );
        for f in m
            .capture_dropped
            .collect()
            .iter()
            .flat_map(|f| f.get_metric().iter())
        {
            let v = f.get_counter().get_value() as u64;
            if v > 0 {
                let reason = f.get_label().first().map(|l| l.value()).unwrap_or("?");
                let _ = writeln!(s, "  dropped at capture, {reason}: {v}");
            }
        }
        if let Some(o) = &self.ot {
            let _ = writeln!(
                s,
                "  OT: {} operations, {} behaviour/baseline alerts, {} asset records",
                o.ops, o.alerts, o.asset_records
            );
        }
        let kernel: Vec<String> = self
            .kernel
            .iter()
            .filter(|(c, v)| {
                *v > 0
                    && matches!(
                        *c,
                        "bypass"
                            | "ioc_hit"
                            | "action_redirect"
                            | "action_redirect_failed"
                            | "ioc_event_lost"
                    )
            })
            .map(|(c, v)| format!("{c} {v}"))
            .collect();
        if !kernel.is_empty() {
            let _ = writeln!(s, "  XDP program: {}", kernel.join("  "));
        }
        for f in m
            .output_dropped
            .collect()
            .iter()
            .flat_map(|f| f.get_metric().iter())
        {
            let v = f.get_counter().get_value() as u64;
            if v > 0 {
                let _ = writeln!(s, "  EVE records lost: {v}");
            }
        }
        let mut cpu = format!("cpu: reader {:.3}s", self.reader_cpu.as_secs_f64());
        for (i, w) in self.worker_reports.iter().enumerate() {
            let secs = w.cpu.as_secs_f64();
            let rate = if secs > 0.0 {
                w.packets as f64 / secs
            } else {
                0.0
            };
            let _ = write!(
                cpu,
                "  worker-{i} {secs:.3}s ({} pkts, {rate:.0} pkt per CPU-s)",
                w.packets
            );
        }
        if let Some(ot) = &self.ot {
            let _ = write!(cpu, "  ot-detect {:.3}s", ot.cpu.as_secs_f64());
        }
        let _ = writeln!(s, "{cpu}");
        if let Some(kb) = status_kib("VmHWM:") {
            let _ = writeln!(
                s,
                "peak RSS {:.1} MiB including the mapped capture file; heap (anonymous) peak {:.1} MiB",
                kb as f64 / 1024.0,
                self.peak_anon_kib.max(status_kib("RssAnon:").unwrap_or(0)) as f64 / 1024.0
            );
        }
        for e in &self.input_errors {
            let _ = writeln!(s, "  input error: {e}");
        }
        if let Some(e) = &self.writer.error {
            let _ = writeln!(s, "  EVE write error: {e}");
        }
        s
    }
}

/// Everything a run needs, resolved from config and flags.
pub struct RunSpec {
    pub cfg: Arc<Config>,
    pub ioc: Arc<IocSet>,
    pub metrics: Metrics,
    pub eve: EveTarget,
    pub workers: usize,
    pub progress: bool,
    /// The OT detection stage's rules, baseline and inventory; taken by the
    /// run that starts it. `None`: no OT stage.
    pub ot: std::sync::Mutex<Option<crate::detect::ot::OtInit>>,
    /// Handle OT operations in packet-time order at the end (replay).
    pub ordered_ot: bool,
}

/// Wait for the OT stage (after the workers are gone) and report what it
/// could not save.
fn join_ot(
    h: Option<std::thread::JoinHandle<crate::detect::ot::OtReport>>,
) -> anyhow::Result<Option<crate::detect::ot::OtReport>> {
    let Some(h) = h else { return Ok(None) };
    let r = h.join().map_err(|_| {
        anyhow::anyhow!("the OT detection thread panicked (a bug: please report it)")
    })?;
    for e in &r.errors {
        tracing::warn!("{e}");
    }
    Ok(Some(r))
}

/// Start workers and the writer; returns the rings and a join function.
struct Running {
    clock: Arc<AtomicU64>,
    /// The OT detection stage (ends after the workers).
    ot: Option<std::thread::JoinHandle<crate::detect::ot::OtReport>>,
    /// Flows the workers want bypassed in the kernel.
    bypass: crossbeam_channel::Receiver<crate::capture::xdp::FlowKey>,
    /// A sender to the EVE writer for stages other than the workers (the
    /// kernel path's events); drop it when unused or the writer never ends.
    out: Sender<output::OutChunk>,
    rings: Vec<Sender<Batch>>,
    workers: Vec<std::thread::JoinHandle<worker::WorkerReport>>,
    writer: std::thread::JoinHandle<WriterReport>,
}

fn start(spec: &RunSpec) -> anyhow::Result<Running> {
    let (out_tx, writer) =
        output::spawn_writer(&spec.eve, spec.cfg.output.queue, spec.metrics.clone())?;
    let per_worker_flows = (spec.cfg.flow.max_flows / spec.workers).max(1024);
    let clock = Arc::new(AtomicU64::new(0));
    // Bypass requests from the workers; live XDP capture takes the receiver.
    let (bypass_tx, bypass_rx) = crossbeam_channel::bounded(4096);
    let init = spec.ot.lock().ok().and_then(|mut g| g.take());
    let (ot_tx, ot) = match init {
        Some(init) => {
            // Batches of messages, one per worker batch.
            let (tx, rx) = crossbeam_channel::bounded(1024);
            let h = crate::detect::ot::spawn(
                crate::detect::ot::OtSetup {
                    rules: init.rules,
                    baseline: init.baseline,
                    assets: init.assets,
                    out: out_tx.clone(),
                    metrics: spec.metrics.clone(),
                    alerts: spec.cfg.output.types.alert,
                    ordered: spec.ordered_ot,
                    workers: spec.workers,
                    max_held: crate::detect::ot::ORDERED_MAX,
                },
                rx,
            )
            .context("starting the OT detection thread")?;
            (Some(tx), Some(h))
        }
        None => (None, None),
    };
    let mut rings = Vec::new();
    let mut workers = Vec::new();
    for id in 0..spec.workers {
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(spec.cfg.capture.ring_batches);
        let w = Worker::new(WorkerSetup {
            id,
            cfg: spec.cfg.clone(),
            ioc: spec.ioc.clone(),
            metrics: spec.metrics.clone(),
            out: out_tx.clone(),
            max_flows: per_worker_flows,
            clock: clock.clone(),
            bypass: Some(bypass_tx.clone()),
            ot: ot_tx.clone(),
            ot_ordered: spec.ordered_ot,
        });
        let h = std::thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || w.run(rx))
            .context("starting a worker thread")?;
        rings.push(tx);
        workers.push(h);
    }
    Ok(Running {
        ot,
        bypass: bypass_rx,
        out: out_tx,
        clock,
        rings,
        workers,
        writer,
    })
}

/// The capture side of the hand-off: per-worker batches being filled.
struct Dispatcher {
    rings: Vec<Sender<Batch>>,
    pending: Vec<Batch>,
    batch_size: usize,
    mode: HandOff,
    metrics: Metrics,
    dropped: u64,
}

impl Dispatcher {
    fn new(rings: Vec<Sender<Batch>>, batch_size: usize, mode: HandOff, metrics: Metrics) -> Self {
        let pending = (0..rings.len())
            .map(|_| Batch::new(None, batch_size))
            .collect();
        Dispatcher {
            rings,
            pending,
            batch_size,
            mode,
            metrics,
            dropped: 0,
        }
    }

    /// Point all pending batches at a new shared buffer (next file).
    fn set_shared(&mut self, shared: Option<Arc<memmap2::Mmap>>) {
        for i in 0..self.pending.len() {
            self.flush(i);
            self.pending[i].shared = shared.clone();
        }
    }

    #[inline]
    fn push(&mut self, w: usize, p: Pkt) {
        let b = &mut self.pending[w];
        if b.pkts.is_empty() {
            b.read_at = Instant::now();
        }
        b.pkts.push(p);
        if b.pkts.len() >= self.batch_size {
            self.flush(w);
        }
    }

    /// Hand over bytes that do not live in the shared map (live frames,
    /// reassembled datagrams): they are copied into the batch.
    fn push_owned(&mut self, w: usize, mut p: Pkt, bytes: &[u8]) {
        let b = &mut self.pending[w];
        p.off = b.owned.len();
        p.len = bytes.len() as u32;
        p.owned = true;
        b.owned.extend_from_slice(bytes);
        self.push(w, p);
    }

    fn flush(&mut self, w: usize) {
        if self.pending[w].pkts.is_empty() {
            return;
        }
        let shared = self.pending[w].shared.clone();
        let b = std::mem::replace(&mut self.pending[w], Batch::new(shared, self.batch_size));
        match self.mode {
            HandOff::Wait => {
                let _ = self.rings[w].send(b);
            }
            HandOff::Drop => match self.rings[w].try_send(b) {
                Ok(()) => {}
                Err(TrySendError::Full(b)) | Err(TrySendError::Disconnected(b)) => {
                    let n = b.pkts.len() as u64;
                    self.dropped += n;
                    self.metrics
                        .capture_dropped
                        .with_label_values(&["ring_full"])
                        .inc_by(n);
                }
            },
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.pending.len() {
            self.flush(i);
        }
    }

    /// Tell every worker the capture clock: its pending packets first, then
    /// an empty batch with the clock. Live capture never waits (a full ring
    /// simply skips this tick); replay does, so that an idle worker's
    /// low-water mark still moves (see `detect::ot::OtBatch`).
    fn tick(&mut self, now_ns: u64) {
        for w in 0..self.rings.len() {
            self.flush(w);
            let mut b = Batch::new(None, 0);
            b.tick_ns = now_ns;
            match self.mode {
                HandOff::Wait => {
                    let _ = self.rings[w].send(b);
                }
                HandOff::Drop => {
                    let _ = self.rings[w].try_send(b);
                }
            }
        }
    }
}

/// Pick the worker for a frame (symmetric: both directions of a flow go to
/// the same worker). Frames that are not IP, or do not decode, go to worker
/// 0, which reports them.
#[inline]
fn worker_for(d: &Result<Decoded<'_>, decode::Anomaly>, n: usize) -> usize {
    match d {
        Ok(Decoded::Ip(p)) if n > 1 => (FlowKey::from_packet(p).0.hash() % n as u64) as usize,
        _ => 0,
    }
}

/// The capture side's per-frame work, shared by replay and live capture:
/// pick the worker by flow hash, reassemble IP fragments (a fragment's
/// ports are in the first fragment only, so this must happen before the
/// hash), hand the frame over.
struct Classifier {
    defrag: Defragmenter,
    workers: usize,
    last_expire: u64,
    metrics: Metrics,
}

impl Classifier {
    fn new(spec: &RunSpec, workers: usize) -> Classifier {
        Classifier {
            defrag: Defragmenter::new(DefragConfig {
                max_datagrams: spec.cfg.defrag.max_datagrams,
                max_datagram_bytes: 65_535 + 60,
                timeout_ns: spec.cfg.defrag.timeout.saturating_mul(1_000_000_000),
            }),
            workers,
            last_expire: 0,
            metrics: spec.metrics.clone(),
        }
    }

    /// `in_shared`: the bytes are in the dispatcher's shared map (replay);
    /// otherwise they are copied into the batch.
    #[inline]
    fn frame(&mut self, disp: &mut Dispatcher, data: &[u8], pkt: Pkt, in_shared: bool) {
        let n = self.workers;
        let d = decode::decode(pkt.link, data);
        if let Ok(Decoded::Fragment(f)) = &d {
            match self.defrag.insert(f, pkt.ts_ns) {
                Ok(Some(dgram)) => {
                    let w = match decode::decode_ip(&dgram, f.vlan, f.vlan_count) {
                        r @ Ok(_) => worker_for(&r, n),
                        Err(_) => 0,
                    };
                    let p = Pkt {
                        vlan: f.vlan,
                        vlan_count: f.vlan_count,
                        reassembled: true,
                        ..pkt
                    };
                    disp.push_owned(w, p, &dgram);
                }
                Ok(None) => {}
                Err(a) => {
                    self.metrics
                        .defrag_events
                        .with_label_values(&[a.as_str()])
                        .inc();
                }
            }
            if pkt.ts_ns > self.last_expire + 1_000_000_000 {
                self.defrag.expire(pkt.ts_ns);
                self.last_expire = pkt.ts_ns;
            }
            return;
        }
        let w = worker_for(&d, n);
        if in_shared {
            disp.push(w, pkt);
        } else {
            disp.push_owned(w, pkt, data);
        }
    }
}

/// Replay capture files through the pipeline.
pub fn replay(spec: RunSpec, files: &[PathBuf]) -> anyhow::Result<Summary> {
    // Open every file first: a typo in the third name should not cost a
    // half-finished run.
    let mut opened = Vec::new();
    for f in files {
        opened.push(CaptureFile::open(f)?);
    }
    let total: u64 = opened.iter().map(|f| f.len()).sum();
    let started = Instant::now();
    let run = start(&spec)?;
    let clock = run.clock.clone();
    drop(run.out);
    let mut disp = Dispatcher::new(
        run.rings,
        spec.cfg.capture.batch_size,
        HandOff::Wait,
        spec.metrics.clone(),
    );
    let n = spec.workers;
    let bar = (spec.progress && std::io::stderr().is_terminal() && total > 20 << 20).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut summary = Summary {
        workers: n,
        ..Default::default()
    };
    let mut pcap_cnt = 0u64;
    let mut done_bytes = 0u64;
    let mut max_ts = 0u64;
    let mut classify = Classifier::new(&spec, n);
    // Once per second of capture time every worker hears the clock, so the
    // OT stage's low-water marks move even for a worker no flow reaches.
    let ticks = run.ot.is_some() && spec.ordered_ot;
    let mut last_tick = 0u64;
    for file in &opened {
        disp.set_shared(Some(file.map().clone()));
        let map = file.map().clone();
        let mut recs = file.records();
        let mut since_bar = 0u32;
        while let Some(r) = recs.next() {
            let rec = match r {
                Ok(r) => r,
                Err(e) => {
                    record_error(&spec.metrics, &mut summary, file.path(), &e);
                    break;
                }
            };
            pcap_cnt += 1;
            summary.packets += 1;
            max_ts = max_ts.max(rec.ts_ns);
            if ticks && max_ts >= last_tick.saturating_add(1_000_000_000) {
                last_tick = max_ts;
                disp.tick(max_ts);
            }
            summary.bytes += rec.caplen as u64;
            let data = &map[rec.offset..rec.offset + rec.caplen as usize];
            let pkt = Pkt {
                off: rec.offset,
                len: rec.caplen,
                ts_ns: rec.ts_ns,
                clock_ns: max_ts,
                pcap_cnt,
                link: rec.link,
                owned: false,
                reassembled: false,
                vlan: [0; 2],
                vlan_count: 0,
            };
            classify.frame(&mut disp, data, pkt, true);
            since_bar += 1;
            if since_bar >= 65_536 {
                since_bar = 0;
                if let Some(b) = &bar {
                    b.set_position(done_bytes + recs.position());
                }
                spec.metrics.capture_packets.inc_by(65_536);
                // Heap use without the mapped capture file (sampled).
                if let Some(kb) = status_kib("RssAnon:") {
                    summary.peak_anon_kib = summary.peak_anon_kib.max(kb);
                }
            }
        }
        spec.metrics.capture_packets.inc_by(since_bar as u64);
        if recs.unsupported_link > 0 {
            spec.metrics
                .capture_dropped
                .with_label_values(&["unsupported_link_type"])
                .inc_by(recs.unsupported_link);
            summary.input_errors.push(format!(
                "{}: {} packets on interfaces with an unsupported link type were skipped",
                file.path().display(),
                recs.unsupported_link
            ));
        }
        done_bytes += file.len();
    }
    // Reassembled-fragment packets were counted when their fragments were read.
    let ds = classify.defrag.stats();
    for (k, v) in [
        ("reassembled", ds.reassembled),
        ("timeout", ds.timeouts),
        ("evicted_table_full", ds.evicted_table_full),
        ("overlap", ds.overlaps),
        ("too_large", ds.too_large),
    ] {
        if v > 0 {
            spec.metrics.defrag_events.with_label_values(&[k]).inc_by(v);
        }
    }
    spec.metrics.capture_bytes.inc_by(summary.bytes);
    clock.store(max_ts, Ordering::Release);
    disp.flush_all();
    summary.dropped = disp.dropped;
    drop(disp);
    summary.reader_cpu = worker::thread_cpu_time();
    for w in run.workers {
        match w.join() {
            Ok(r) => summary.worker_reports.push(r),
            Err(_) => {
                anyhow::bail!("a worker thread panicked (a bug: please report it with the capture)")
            }
        }
    }
    summary.ot = join_ot(run.ot)?;
    summary.writer = run
        .writer
        .join()
        .map_err(|_| anyhow::anyhow!("the EVE writer thread panicked"))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    summary.wall = started.elapsed();
    summary.fill_totals(&spec.metrics);
    Ok(summary)
}

fn record_error(m: &Metrics, s: &mut Summary, path: &std::path::Path, e: &RecordError) {
    m.capture_dropped.with_label_values(&["input_error"]).inc();
    s.input_errors.push(format!("{}: {e}", path.display()));
}

/// A `/proc/self/status` field in KiB (`VmHWM:` is the peak RSS).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LinkType;

    fn pkt(n: u64) -> Pkt {
        Pkt {
            off: 0,
            len: 0,
            ts_ns: n,
            clock_ns: n,
            pcap_cnt: n,
            link: LinkType::Ethernet,
            owned: false,
            reassembled: false,
            vlan: [0; 2],
            vlan_count: 0,
        }
    }

    #[test]
    fn live_hand_off_counts_ring_full_drops_and_replay_waits() {
        let m = Metrics::new();
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(1);
        let mut d = Dispatcher::new(vec![tx], 2, HandOff::Drop, m.clone());
        // Three batches of two packets into a ring that holds one batch and
        // is never drained: the first goes in, four packets are dropped.
        for n in 0..6 {
            d.push(0, pkt(n));
        }
        assert_eq!(d.dropped, 4);
        assert_eq!(m.capture_dropped.with_label_values(&["ring_full"]).get(), 4);
        assert_eq!(rx.len(), 1);
        drop(rx);

        // Replay: the hand-off waits for the consumer and loses nothing.
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(1);
        let consumer = std::thread::spawn(move || rx.iter().map(|b| b.pkts.len()).sum::<usize>());
        let mut d = Dispatcher::new(vec![tx], 2, HandOff::Wait, m.clone());
        for n in 0..1001 {
            d.push(0, pkt(n));
        }
        d.flush_all();
        assert_eq!(d.dropped, 0);
        drop(d);
        assert_eq!(consumer.join().unwrap(), 1001);
    }
}
