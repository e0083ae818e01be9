//! A worker thread: decode → flow table → TCP reassembly → app-layer parsers
//! → IOC detection → EVE records. Each worker owns its flows; nothing on
//! this path takes a lock or touches a shared atomic (metrics are folded in
//! once per batch).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use rules::ioc::{Indicator, IocSet};

use crate::config::Config;
use crate::decode::{self, Anomaly, Decoded, Packet, L4};
use crate::detect;
use crate::flow::{community_id, EndReason, FlowKey, FlowTable, Lookup};
use crate::metrics::Metrics;
use crate::output::eve::{self, Endpoints, Header};
use crate::output::OutChunk;
use crate::pipeline::batch::{Batch, Pkt};
use crate::proto::{self, AppEvent, AppParser, AppProto, Probe};
use crate::stream::reassembly::{Chunk, HalfStream, StreamConfig, StreamStats};

const TCP_FIN: u8 = 0x01;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;

/// Send the EVE buffer to the writer once it holds this much.
const EVE_FLUSH_BYTES: usize = 256 * 1024;
/// OT messages gathered before they go to the OT stage in one hand-off.
/// Each hand-off may wake the stage's thread (a context switch on both
/// sides); per packet batch that was 5% of a replay's CPU.
const OT_FLUSH_MSGS: usize = 512;

/// TCP connection state, coarse: what EVE's `tcp.state` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    Closed,
}

impl TcpState {
    fn as_str(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait => "fin_wait1",
            TcpState::Closed => "closed",
        }
    }
}

/// Reassembly and parser state of a flow that is still inspected.
struct AppFlow {
    /// [to server, to client].
    streams: [HalfStream; 2],
    parser: Option<AppParser>,
    probe: [Vec<u8>; 2],
    probe_failed: [bool; 2],
}

/// One flow, as a worker tracks it.
pub struct Flow {
    flow_id: u64,
    /// The initiator (client) is the key's `lo` side.
    client_is_lo: bool,
    start_ns: u64,
    last_ns: u64,
    /// The capture clock at the flow's latest packet.
    last_clock: u64,
    /// [to server, to client].
    pkts: [u64; 2],
    bytes: [u64; 2],
    tcp_flags: [u8; 2],
    tcp: TcpState,
    fins: u8,
    icmp: Option<(u8, u8)>,
    /// First ICMP type/code seen from the responder.
    icmp_reply: Option<(u8, u8)>,
    vlan: [u16; 2],
    vlan_count: u8,
    app_proto: AppProto,
    /// Still reassembling/probing/parsing; false once the app layer is done
    /// or failed (the rest of the flow is only counted).
    inspect: bool,
    app: Option<Box<AppFlow>>,
    alerted: bool,
    community_id: Option<Box<str>>,
    /// Next DNS transaction id.
    dns_next_tx: u64,
    /// The flow matched the bypass allowlist; bypassed once the app layer
    /// is done.
    bypass_wanted: bool,
    /// A kernel bypass was requested (EVE `flow.bypass: "capture"`).
    bypassed: bool,
    /// Per-flow state of a datagram (UDP) OT protocol.
    dgram: Option<Box<AppParser>>,
    /// Ethernet MACs (client, server) of the flow's latest frame, for
    /// events logged without a packet at hand (flow end).
    macs: Option<([u8; 6], [u8; 6])>,
}

/// Plain per-worker counters, folded into [`Metrics`] after each batch.
#[derive(Default)]
struct Local {
    packets: u64,
    bytes: u64,
    anomalies: Vec<(Anomaly, u64)>,
    flows_created: u64,
    flows_ended: [u64; 3],
    flows_evicted: u64,
    app_flows: Vec<(AppProto, u64)>,
    app_events: Vec<(&'static str, u64)>,
    ot_ops: Vec<((&'static str, &'static str), u64)>,
    alerts: Vec<((u8, &'static str), u64)>,
    stream: StreamStats,
}

fn bump<K: PartialEq + Copy>(v: &mut Vec<(K, u64)>, k: K) {
    match v.iter_mut().find(|(x, _)| *x == k) {
        Some((_, n)) => *n += 1,
        None => v.push((k, 1)),
    }
}

/// Server ports of OT protocols (Modbus, S7/MMS, EtherNet/IP, IEC-104,
/// DNP3, BACnet, OPC UA, FINS, HART-IP, Fox, C37.118, PROFINET CM): decide
/// who is the client of a flow seen without its SYN.
const OT_SERVER_PORTS: [u16; 14] = [
    502, 102, 44818, 2222, 2404, 20000, 47808, 4840, 9600, 5094, 1911, 4712, 4713, 34964,
];

/// Per-state idle timeouts in nanoseconds.
struct Timeouts {
    tcp_new: u64,
    tcp_est: u64,
    tcp_closed: u64,
    udp_new: u64,
    udp_est: u64,
    icmp: u64,
    other: u64,
}

/// Static settings a worker needs.
pub struct WorkerSetup {
    pub id: usize,
    pub cfg: Arc<Config>,
    pub ioc: Arc<IocSet>,
    pub metrics: Metrics,
    pub out: Sender<OutChunk>,
    pub max_flows: usize,
    /// Latest packet time the capture thread has read (ns); read at the end
    /// to age the remaining flows consistently across workers.
    pub clock: Arc<AtomicU64>,
    /// Flows to bypass in the kernel (read by the XDP path when there is
    /// one; a send to a closed channel is ignored).
    pub bypass: Option<Sender<crate::capture::xdp::FlowKey>>,
    /// The OT detection stage (behaviour rules, baseline, assets).
    pub ot: Option<Sender<crate::detect::ot::OtBatch>>,
    /// Replay: tell the OT stage how far this worker has got (its low-water
    /// mark), so the stage can handle messages in order as it goes rather
    /// than hold them all to the end.
    pub ot_ordered: bool,
}

/// Serialise either an event or an anomaly through one code path.
mod erased {
    pub trait Json {
        fn write_json(&self, buf: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Json for T {
        fn write_json(&self, buf: &mut Vec<u8>) {
            crate::output::eve::json_value(buf, self);
        }
    }
}

pub struct Worker {
    ot: Option<Sender<crate::detect::ot::OtBatch>>,
    id: usize,
    /// The capture clock at the latest packet ([`Pkt::clock_ns`]).
    clock_ns: u64,
    /// Replay: compute and send the low-water mark (see [`WorkerSetup`]).
    ot_ordered: bool,
    /// No OT message this worker sends from now on has an order time below
    /// this (see `detect::ot::OtBatch`).
    ot_low_water: u64,
    /// `clock_ns` when `ot_low_water` was last computed, and the mark the
    /// stage last heard.
    ot_low_water_at: u64,
    ot_low_water_sent: u64,
    /// OT messages not yet handed to the OT stage: they go in one channel
    /// operation per [`OT_FLUSH_MSGS`] messages or per tick (the stage's
    /// wake-ups and receive spinning cost more than its work).
    ot_out: Vec<crate::detect::ot::OtMsg>,
    /// Ethernet (source, destination) of the frame being handled.
    pkt_macs: Option<([u8; 6], [u8; 6])>,
    goose: proto::goose::GooseTracker,
    dcp: proto::profinet_dcp::DcpCounters,
    bypass: Option<Sender<crate::capture::xdp::FlowKey>>,
    id_label: String,
    cfg: Arc<Config>,
    ioc: Arc<IocSet>,
    metrics: Metrics,
    out: Sender<OutChunk>,
    flows: FlowTable<Flow>,
    stream_cfg: StreamConfig,
    timeouts: Timeouts,
    now_ns: u64,
    last_sweep_ns: u64,
    eve: Vec<u8>,
    eve_records: u64,
    events: Vec<AppEvent>,
    local: Local,
    latency: Histogram<u64>,
    read_at: Instant,
    probe_limit: usize,
    clock: Arc<AtomicU64>,
}

/// What a worker did, for the run summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorkerReport {
    pub packets: u64,
    /// CPU time the worker thread used.
    pub cpu: std::time::Duration,
}

/// CPU time used by the calling thread.
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Which flow an app event or packet belongs to, and where it is going.
struct Ctx {
    ts_ns: u64,
    pcap_cnt: u64,
    /// Where OT messages raised here go in replay's order: the capture
    /// clock at the packet, or the flow's end time (see `end_order`).
    order_ns: u64,
    to_server: bool,
    /// Ethernet (source, destination) of the packet at hand; at flow end
    /// the flow's latest (client, server); `None` for other link types and
    /// reassembled datagrams.
    macs: Option<([u8; 6], [u8; 6])>,
}

/// The (source, destination) MACs of an Ethernet frame.
fn frame_macs(pkt: &Pkt, frame: &[u8]) -> Option<([u8; 6], [u8; 6])> {
    if pkt.reassembled || pkt.link != crate::decode::LinkType::Ethernet {
        return None;
    }
    let d: [u8; 6] = frame.get(..6)?.try_into().ok()?;
    let s: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    Some((s, d))
}

impl Worker {
    pub fn new(s: WorkerSetup) -> Worker {
        let f = &s.cfg.flow;
        let secs = |x: u64| x.saturating_mul(1_000_000_000);
        let timeouts = Timeouts {
            tcp_new: secs(f.tcp_new_timeout),
            tcp_est: secs(f.tcp_established_timeout),
            tcp_closed: secs(f.tcp_closed_timeout),
            udp_new: secs(f.udp_new_timeout),
            udp_est: secs(f.udp_established_timeout),
            icmp: secs(f.icmp_timeout),
            other: secs(f.other_timeout),
        };
        let stream_cfg = StreamConfig {
            max_buffered_bytes: s.cfg.stream.max_buffered_bytes,
            max_segments: s.cfg.stream.max_segments,
        };
        let probe_limit = s.cfg.app_layer.probe_limit;
        Worker {
            pkt_macs: None,
            id_label: s.id.to_string(),
            flows: FlowTable::new(s.max_flows),
            ioc: s.ioc,
            metrics: s.metrics,
            out: s.out,
            stream_cfg,
            timeouts,
            now_ns: 0,
            last_sweep_ns: 0,
            eve: Vec::with_capacity(EVE_FLUSH_BYTES + 4096),
            eve_records: 0,
            events: Vec::new(),
            local: Local::default(),
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds")),
            read_at: Instant::now(),
            probe_limit,
            clock: s.clock,
            goose: proto::goose::GooseTracker::default(),
            dcp: proto::profinet_dcp::DcpCounters::default(),
            bypass: s.bypass,
            ot: s.ot,
            id: s.id,
            clock_ns: 0,
            ot_ordered: s.ot_ordered,
            ot_low_water: 0,
            ot_low_water_at: 0,
            ot_low_water_sent: 0,
            ot_out: Vec::new(),
            cfg: s.cfg,
        }
    }

    /// Run until the ring closes, then end every flow and flush.
    pub fn run(mut self, rx: Receiver<Batch>) -> WorkerReport {
        // A worker needs no privilege (see `privs`).
        let _ = crate::privs::drop_thread_capabilities();
        let mut packets = 0u64;
        for batch in rx {
            packets += batch.pkts.len() as u64;
            self.process_batch(&batch);
        }
        self.finish();
        WorkerReport {
            packets,
            cpu: thread_cpu_time(),
        }
    }

    pub fn process_batch(&mut self, batch: &Batch) {
        self.read_at = batch.read_at;
        // Live capture's clock: flows age even when no packet arrives. In
        // replay it is the capture clock, which every later packet's clock
        // reaches (the low-water mark may move up to it).
        if batch.tick_ns > self.now_ns {
            self.now_ns = batch.tick_ns;
        }
        if self.ot_ordered {
            self.clock_ns = self.clock_ns.max(batch.tick_ns);
        }
        for p in &batch.pkts {
            let data = batch.data(p);
            self.process(p, data);
        }
        self.maybe_sweep();
        self.update_low_water();
        self.flush_metrics();
        // A tick means the link is quiet (or a second passed): records and
        // OT operations go out now rather than when enough have gathered.
        let tick = batch.pkts.is_empty() && batch.tick_ns > 0;
        if self.ot_out.len() >= OT_FLUSH_MSGS
            || tick
            || self.ot_low_water >= self.ot_low_water_sent.saturating_add(1_000_000_000)
        {
            self.flush_ot();
        }
        if self.eve.len() >= EVE_FLUSH_BYTES || tick {
            self.flush_eve();
        }
    }

    /// End all flows and flush everything (end of input, shutdown).
    pub fn finish(&mut self) {
        let end_ns = self.clock.load(Ordering::Acquire).max(self.now_ns);
        let mut ended = Vec::new();
        self.flows.drain(&mut |k, f| ended.push((k, f)));
        for (k, f) in ended {
            // A flow idle past its timeout at the end of input ended by
            // timeout, whichever worker held it and whenever it last swept.
            let reason =
                if end_ns.saturating_sub(f.last_ns) > timeout_of(&self.timeouts, &f, k.proto) {
                    EndReason::Timeout
                } else {
                    EndReason::Shutdown
                };
            self.end_flow(k, f, reason);
        }
        // Nothing more comes from this worker.
        self.ot_low_water = u64::MAX;
        self.flush_ot();
        self.flush_metrics();
        self.flush_eve();
    }

    /// Hand the gathered OT messages to the stage (with the low-water mark,
    /// which alone is worth a message when it moved).
    fn flush_ot(&mut self) {
        if self.ot_out.is_empty() && self.ot_low_water <= self.ot_low_water_sent {
            return;
        }
        let msgs = std::mem::replace(&mut self.ot_out, Vec::with_capacity(64));
        if let Some(tx) = &self.ot {
            self.ot_low_water_sent = self.ot_low_water;
            // Blocks when the stage is behind; fails only once it is gone.
            let _ = tx.send(crate::detect::ot::OtBatch {
                worker: self.id,
                low_water_ns: self.ot_low_water,
                msgs,
            });
        }
    }

    /// Replay: recompute the low-water mark once per second of capture
    /// time. Messages raised while a packet is handled are ordered at the
    /// packet's clock, which never goes back; those raised when a flow ends
    /// at its end time (see [`Worker::end_order`]), which for a live flow
    /// is at least its timeout deadline or the current clock. So the mark
    /// is the smaller of the clock and every live flow's deadline: flows
    /// past their deadline that no sweep has reached yet hold it back.
    fn update_low_water(&mut self) {
        if !self.ot_ordered || self.ot.is_none() {
            return;
        }
        if self.clock_ns < self.ot_low_water_at.saturating_add(1_000_000_000) {
            return;
        }
        self.ot_low_water_at = self.clock_ns;
        let t = &self.timeouts;
        let mut low = self.clock_ns;
        for (k, f) in self.flows.iter() {
            low = low.min(deadline(t, f, k.proto));
        }
        // Never back: an older mark stays true, a lower one adds nothing.
        self.ot_low_water = self.ot_low_water.max(low);
    }

    /// Where the messages raised when `flow` ends go in replay's order: a
    /// timed-out flow at its deadline, an evicted one now, one still open
    /// at the end of input at the last packet's time. Each depends only on
    /// the flow and the capture, not on which worker held the flow or when
    /// it swept, and each comes after every message the flow raised before.
    fn end_order(&self, key: &FlowKey, flow: &Flow, reason: EndReason) -> u64 {
        match reason {
            EndReason::Timeout => deadline(&self.timeouts, flow, key.proto),
            EndReason::Evicted => self.clock_ns,
            EndReason::Shutdown => self
                .clock
                .load(Ordering::Acquire)
                .max(self.clock_ns)
                .max(flow.last_clock),
        }
    }

    fn flush_eve(&mut self) {
        if self.eve.is_empty() {
            return;
        }
        let bytes = std::mem::replace(&mut self.eve, Vec::with_capacity(EVE_FLUSH_BYTES + 4096));
        let chunk = OutChunk {
            bytes,
            records: std::mem::take(&mut self.eve_records),
        };
        // The writer blocks us when it is behind (no silent loss); it only
        // disconnects on shutdown, when there is nowhere left to write.
        if let Err(e) = self.out.send(chunk) {
            self.metrics
                .output_dropped
                .with_label_values(&["eve", "writer_gone"])
                .inc_by(e.0.records);
        }
    }

    fn flush_metrics(&mut self) {
        let m = &self.metrics;
        let l = &mut self.local;
        m.worker_packets
            .with_label_values(&[&self.id_label])
            .inc_by(l.packets);
        m.worker_bytes
            .with_label_values(&[&self.id_label])
            .inc_by(l.bytes);
        l.packets = 0;
        l.bytes = 0;
        for (a, n) in l.anomalies.drain(..) {
            m.anomalies.with_label_values(&[a.as_str()]).inc_by(n);
        }
        m.flows_created.inc_by(l.flows_created);
        m.flows_active.add(l.flows_created as i64);
        for (i, r) in ["timeout", "forced", "shutdown"].iter().enumerate() {
            let n = l.flows_ended[i];
            if n > 0 {
                m.flows_ended.with_label_values(&[r]).inc_by(n);
                m.flows_active.sub(n as i64);
            }
        }
        l.flows_created = 0;
        l.flows_ended = [0; 3];
        m.flows_evicted.inc_by(l.flows_evicted);
        l.flows_evicted = 0;
        for (p, n) in l.app_flows.drain(..) {
            m.app_flows.with_label_values(&[p.as_str()]).inc_by(n);
        }
        for (p, n) in l.app_events.drain(..) {
            m.app_events.with_label_values(&[p]).inc_by(n);
        }
        for ((p, c), n) in l.ot_ops.drain(..) {
            m.ot_ops.with_label_values(&[p, c]).inc_by(n);
        }
        for ((sev, src), n) in l.alerts.drain(..) {
            m.alerts
                .with_label_values(&[&sev.to_string(), src])
                .inc_by(n);
        }
        let s = std::mem::take(&mut l.stream);
        for (k, n) in [
            ("gap", s.gaps),
            ("out_of_order", s.out_of_order),
            ("retransmission", s.retransmissions),
            ("overlap", s.overlaps),
            ("overlap_mismatch", s.overlap_mismatch),
            ("buffer_overflow", s.buffer_overflows),
            ("after_fin", s.after_fin),
            ("out_of_window", s.out_of_window),
        ] {
            if n > 0 {
                m.stream_events.with_label_values(&[k]).inc_by(n);
            }
        }
        m.latency.merge(&mut self.latency);
    }

    fn maybe_sweep(&mut self) {
        // Sweep in packet time, so replay ages flows as the capture did.
        if self.now_ns < self.last_sweep_ns + 100_000_000 {
            return;
        }
        self.last_sweep_ns = self.now_ns;
        let now = self.now_ns;
        let t = &self.timeouts;
        let budget = (self.flows.len() / 64).max(256);
        let mut ended = Vec::new();
        self.flows.sweep(
            budget,
            &mut |slot| {
                let Some(f) = slot.flow.as_ref() else {
                    return false;
                };
                now.saturating_sub(slot.last_ns) > timeout_of(t, f, slot.key.proto)
            },
            &mut |k, f| ended.push((k, f)),
        );
        for (k, f) in ended {
            self.end_flow(k, f, EndReason::Timeout);
        }
    }

    #[inline]
    fn process(&mut self, pkt: &Pkt, data: &[u8]) {
        self.local.packets += 1;
        self.local.bytes += data.len() as u64;
        if pkt.ts_ns > self.now_ns {
            self.now_ns = pkt.ts_ns;
        }
        self.clock_ns = self.clock_ns.max(pkt.clock_ns);
        let decoded = if pkt.reassembled {
            decode::decode_ip(data, pkt.vlan, pkt.vlan_count)
        } else {
            decode::decode(pkt.link, data)
        };
        match decoded {
            Ok(Decoded::Ip(p)) => {
                self.pkt_macs = frame_macs(pkt, data);
                self.packet(pkt, &p, data.len())
            }
            Ok(Decoded::Fragment(_)) => {
                // The capture thread reassembles fragments; one that reaches
                // a worker is a fragment inside a reassembled datagram.
                // (nested fragments are not reassembled twice)
            }
            Ok(Decoded::NonIp { ethertype, payload }) => self.layer2(pkt, data, ethertype, payload),
            Ok(Decoded::Arp(_)) => {}
            Err(a) => self.anomaly(pkt, a),
        }
    }

    /// Layer-2 OT protocols: GOOSE (0x88B8) and PROFINET (0x8892). Non-IP
    /// frames all go to worker 0, so per-publisher GOOSE tracking sees
    /// every frame.
    fn layer2(&mut self, pkt: &Pkt, frame: &[u8], ethertype: u16, payload: &[u8]) {
        const ETH_P_GOOSE: u16 = 0x88b8;
        const ETH_P_PROFINET: u16 = 0x8892;
        if !self.cfg.app_layer.ot {
            return;
        }
        let mut evs = Vec::new();
        match ethertype {
            ETH_P_GOOSE => {
                let mut g = Vec::new();
                proto::goose::parse_frame(payload, &mut g);
                evs.extend(g.into_iter().map(proto::ot::OtEvent::Goose));
            }
            ETH_P_PROFINET => {
                let mut d = Vec::new();
                self.dcp.frame(payload, &mut d);
                evs.extend(d.into_iter().map(proto::ot::OtEvent::ProfinetDcp));
            }
            _ => return,
        }
        let macs =
            (pkt.link == crate::decode::LinkType::Ethernet && frame.len() >= 12).then(|| {
                let mut d = [0u8; 6];
                let mut s = [0u8; 6];
                d.copy_from_slice(&frame[..6]);
                s.copy_from_slice(&frame[6..12]);
                (s, d)
            });
        for ev in evs {
            let proto = ev.proto();
            bump(&mut self.local.app_events, proto.as_str());
            if let Some(op) = ev.op() {
                bump(&mut self.local.ot_ops, (op.proto, op.class.as_str()));
                if self.ot.is_some() {
                    let msg = crate::detect::ot::OpMsg {
                        app_proto: op.proto,
                        op,
                        ctx: rules::behaviour::Ctx {
                            ts_ns: pkt.ts_ns,
                            src: None,
                            dst: None,
                            sport: 0,
                            dport: 0,
                            src_mac: macs.map(|(s, _)| s),
                            dst_mac: macs.map(|(_, d)| d),
                            flow_id: 0,
                        },
                        l4: 0,
                        pcap_cnt: pkt.pcap_cnt,
                        order_ns: self.clock_ns,
                        tx_id: None,
                    };
                    self.ot_out.push(crate::detect::ot::OtMsg::Op(msg));
                }
            }
            let mut anomaly = None;
            if let (proto::ot::OtEvent::Goose(g), Some((src, _))) = (&ev, macs) {
                anomaly = self.goose.observe(src, g);
            }
            if !self.cfg.output.types.ot {
                continue;
            }
            for (event_type, body) in [
                (proto.as_str(), Some(&ev as &dyn erased::Json)),
                (
                    "goose_anomaly",
                    anomaly.as_ref().map(|a| a as &dyn erased::Json),
                ),
            ] {
                let Some(body) = body else { continue };
                let vlan = &pkt.vlan[..usize::from(pkt.vlan_count.min(2))];
                eve::begin_record(
                    &mut self.eve,
                    &Header {
                        ts_ns: pkt.ts_ns,
                        event_type,
                        flow_id: None,
                        pcap_cnt: Some(pkt.pcap_cnt),
                        ep: None,
                        vlan,
                        community_id: None,
                        app_proto: Some(proto.as_str()),
                        tx_id: None,
                    },
                );
                if let Some((s, d)) = macs {
                    eve::member(&mut self.eve, "ether");
                    self.eve.extend_from_slice(b"{\"src_mac\":");
                    eve::json_str(&mut self.eve, &proto::goose::state::mac_str(&s));
                    self.eve.extend_from_slice(b",\"dest_mac\":");
                    eve::json_str(&mut self.eve, &proto::goose::state::mac_str(&d));
                    self.eve.push(b'}');
                }
                eve::member(&mut self.eve, event_type);
                body.write_json(&mut self.eve);
                eve::end_record(&mut self.eve);
                self.eve_records += 1;
            }
        }
    }

    fn anomaly(&mut self, pkt: &Pkt, a: Anomaly) {
        bump(&mut self.local.anomalies, a);
        if !self.cfg.output.types.anomaly {
            return;
        }
        eve::begin_record(
            &mut self.eve,
            &Header {
                ts_ns: pkt.ts_ns,
                event_type: "anomaly",
                flow_id: None,
                pcap_cnt: Some(pkt.pcap_cnt),
                ep: None,
                vlan: &[],
                community_id: None,
                app_proto: None,
                tx_id: None,
            },
        );
        eve::member(&mut self.eve, "anomaly");
        self.eve
            .extend_from_slice(b"{\"type\":\"decode\",\"event\":");
        eve::json_str(&mut self.eve, a.eve_event());
        self.eve.extend_from_slice(b",\"layer\":");
        eve::json_str(&mut self.eve, a.layer());
        self.eve.push(b'}');
        eve::end_record(&mut self.eve);
        self.eve_records += 1;
    }

    fn packet(&mut self, pkt: &Pkt, p: &Packet<'_>, frame_len: usize) {
        let (key, lo_to_hi) = FlowKey::from_packet(p);
        let hash = key.hash();
        let ts = pkt.ts_ns;
        let clock_ns = self.clock_ns;
        let tcp = match p.l4 {
            L4::Tcp(t) => Some(t),
            _ => None,
        };
        // The table is taken out of `self` while this packet is handled, so
        // the flow can be borrowed from it and passed to methods of `self`.
        let mut flows = std::mem::take(&mut self.flows);
        let make = || {
            // The initiator is the sender of the first packet, unless
            // that packet is a SYN-ACK (we missed the SYN).
            let synack = tcp.is_some_and(|t| t.flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK);
            // A flow picked up mid-stream (no SYN) whose first packet comes
            // from a well-known OT server port was sent by the server: the
            // controller is not the one issuing commands.
            let midstream = tcp.is_some_and(|t| t.flags & TCP_SYN == 0) || p.ip_proto == 17;
            let from_ot_server = midstream
                && OT_SERVER_PORTS.contains(&p.sport)
                && !OT_SERVER_PORTS.contains(&p.dport);
            let client_is_lo = lo_to_hi != (synack || from_ot_server);
            let icmp = match p.l4 {
                L4::Icmp { ty, code } | L4::Icmpv6 { ty, code } => Some((ty, code)),
                _ => None,
            };
            Flow {
                flow_id: flow_id(&key, ts),
                client_is_lo,
                start_ns: ts,
                last_ns: ts,
                last_clock: clock_ns,
                pkts: [0; 2],
                bytes: [0; 2],
                tcp_flags: [0; 2],
                tcp: TcpState::None,
                fins: 0,
                icmp,
                icmp_reply: None,
                vlan: p.vlan,
                vlan_count: p.vlan_count,
                app_proto: AppProto::Unknown,
                inspect: matches!(p.l4, L4::Tcp(_) | L4::Udp),
                app: None,
                alerted: false,
                community_id: None,
                dns_next_tx: 0,
                bypass_wanted: false,
                bypassed: false,
                dgram: None,
                macs: None,
            }
        };
        let mut evicted = Vec::new();
        let mut lookup =
            flows.lookup_or_insert(&key, hash, ts, make, &mut |k, f| evicted.push((k, f)));
        // Idle timeouts are applied when the next packet arrives, so the
        // result does not depend on when a sweep happened to run (and so not
        // on the worker count).
        if let Lookup::Found(idx, prev) = lookup {
            let expired = flows.get_mut(idx).is_some_and(|f| {
                ts.saturating_sub(prev) > timeout_of(&self.timeouts, f, key.proto)
            });
            if expired {
                if let Some((k, f)) = flows.remove(idx) {
                    self.end_flow(k, f, EndReason::Timeout);
                }
                lookup =
                    flows.lookup_or_insert(&key, hash, ts, make, &mut |k, f| evicted.push((k, f)));
            }
        }
        for (k, f) in evicted {
            self.local.flows_evicted += 1;
            self.end_flow(k, f, EndReason::Evicted);
        }
        let (idx, created) = match lookup {
            Lookup::Found(i, _) => (i, false),
            Lookup::Created(i) => (i, true),
        };
        if let Some(flow) = flows.get_mut(idx) {
            self.packet_in_flow(pkt, p, frame_len, &key, lo_to_hi, created, flow);
        }
        self.flows = flows;
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn packet_in_flow(
        &mut self,
        pkt: &Pkt,
        p: &Packet<'_>,
        frame_len: usize,
        key: &FlowKey,
        lo_to_hi: bool,
        created: bool,
        flow: &mut Flow,
    ) {
        let ts = pkt.ts_ns;
        let to_server = lo_to_hi == flow.client_is_lo;
        let d = if to_server { 0 } else { 1 };
        flow.pkts[d] += 1;
        // Bytes as Suricata counts them: the whole frame, tunnel included.
        flow.bytes[d] += frame_len as u64;
        if d == 1 && flow.icmp_reply.is_none() {
            if let L4::Icmp { ty, code } | L4::Icmpv6 { ty, code } = p.l4 {
                flow.icmp_reply = Some((ty, code));
            }
        }
        flow.last_ns = ts.max(flow.last_ns);
        if let Some((s, d)) = self.pkt_macs {
            flow.macs = Some(if to_server { (s, d) } else { (d, s) });
        }
        flow.last_clock = self.clock_ns;
        let ctx = Ctx {
            ts_ns: ts,
            pcap_cnt: pkt.pcap_cnt,
            order_ns: self.clock_ns,
            to_server,
            macs: self.pkt_macs,
        };
        if created {
            self.local.flows_created += 1;
            self.check_addresses(key, flow, &ctx);
        }
        match p.l4 {
            L4::Tcp(t) => {
                flow.tcp_flags[d] |= t.flags;
                update_tcp_state(flow, t.flags, to_server);
                if flow.inspect {
                    self.tcp_app(key, flow, &ctx, t.seq, t.ack, t.flags, p.payload);
                }
            }
            L4::Udp if flow.inspect && !p.payload.is_empty() => {
                self.udp_app(key, flow, &ctx, p.sport, p.dport, p.payload);
            }
            _ => {}
        }
        // A connection closed by RST or both FINs ends now (its record is
        // written; late packets start a new flow, as in Suricata's closed
        // state handling it would be reused).
    }

    /// IOC check of the two addresses, once per flow.
    fn check_addresses(&mut self, key: &FlowKey, flow: &mut Flow, ctx: &Ctx) {
        if self.ioc.is_empty() {
            return;
        }
        for ip in [key.lo_ip(), key.hi_ip()] {
            if let Some(ind) = self.ioc.match_ip(ip) {
                let ind = ind.clone();
                let ep = packet_endpoints(key, flow, ctx.to_server);
                self.alert(key, flow, ctx, &ep, &ind, "ip", None);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp_app(
        &mut self,
        key: &FlowKey,
        flow: &mut Flow,
        ctx: &Ctx,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let server_port = server_ports(key, flow);
        let af = flow.app.get_or_insert_with(|| {
            Box::new(AppFlow {
                streams: [HalfStream::new(), HalfStream::new()],
                parser: None,
                probe: [Vec::new(), Vec::new()],
                probe_failed: [false; 2],
            })
        });
        let d = if ctx.to_server { 0 } else { 1 };
        // This packet acknowledges the other direction: data buffered there
        // behind a hole the receiver acknowledged is released now (a request
        // behind a capture loss reaches its parser before its response).
        let mut released = false;
        if flags & TCP_ACK != 0 {
            af.streams[1 - d].note_peer_ack(ack);
        }
        if flags & TCP_ACK != 0 && af.streams[1 - d].buffered_segments() > 0 {
            self.drive_stream(
                af,
                &mut flow.app_proto,
                1 - d,
                server_port,
                |s, _, st, f| s.acked(ack, st, f),
            );
            released = true;
        }
        if flags & TCP_SYN != 0 {
            af.streams[d].on_syn(seq);
        }
        if payload.is_empty() && flags & TCP_FIN == 0 {
            if released {
                self.after_app(key, flow, ctx);
            }
            return;
        }
        // Data seq starts after the SYN's phantom byte.
        let seq = if flags & TCP_SYN != 0 {
            seq.wrapping_add(1)
        } else {
            seq
        };
        let fin = flags & TCP_FIN != 0;
        self.drive_stream(af, &mut flow.app_proto, d, server_port, |s, cfg, st, f| {
            s.segment(seq, payload, fin, cfg, st, f)
        });
        self.after_app(key, flow, ctx);
    }

    /// Account every event gathered in `self.events`, and empty it (its
    /// capacity stays for the next packet).
    fn drain_events(&mut self, key: &FlowKey, flow: &mut Flow, ctx: &Ctx) {
        let mut events = std::mem::take(&mut self.events);
        for ev in &mut events {
            self.app_event(key, flow, ctx, ev);
        }
        events.clear();
        self.events = events;
    }

    /// Account app-layer events and decide whether to keep inspecting.
    fn after_app(&mut self, key: &FlowKey, flow: &mut Flow, ctx: &Ctx) {
        self.drain_events(key, flow, ctx);
        if let Some(p) = flow
            .app
            .as_ref()
            .and_then(|af| af.parser.as_ref())
            .and_then(|p| p.refined())
        {
            flow.app_proto = p;
        }
        let done = match &flow.app {
            Some(af) => af.parser.as_ref().is_some_and(|p| p.is_done()),
            None => false,
        };
        if done || flow.app_proto == AppProto::Failed {
            // Nothing more to learn from this flow's bytes: free the
            // reassembly state and only count from now on.
            if flow.app_proto == AppProto::Failed {
                bump(&mut self.local.app_flows, AppProto::Failed);
            }
            flow.inspect = false;
            if flow.bypass_wanted && !flow.bypassed {
                flow.bypassed = true;
                if let Some(tx) = &self.bypass {
                    let k = crate::capture::xdp::FlowKey::from_ips(
                        key.proto,
                        key.lo_ip(),
                        key.lo_port,
                        key.hi_ip(),
                        key.hi_port,
                        flow.vlan[0],
                        if flow.vlan_count > 1 { flow.vlan[1] } else { 0 },
                    );
                    if let Some(k) = k {
                        let r = if tx.try_send(k).is_ok() {
                            "requested"
                        } else {
                            "not_requested"
                        };
                        self.metrics.bypass_flows.with_label_values(&[r]).inc();
                    }
                }
            }
            if let Some(mut af) = flow.app.take() {
                if let Some(p) = af.parser.as_mut() {
                    p.finish(&mut self.events);
                }
                self.drain_events(key, flow, ctx);
            }
        }
    }

    fn udp_app(
        &mut self,
        key: &FlowKey,
        flow: &mut Flow,
        ctx: &Ctx,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) {
        if flow.app_proto == AppProto::Unknown {
            let p = proto::probe_datagram(payload, sport, dport);
            let p = if (p == AppProto::Dns && !self.cfg.app_layer.dns)
                || (p.is_ot() && !self.cfg.app_layer.ot)
            {
                AppProto::Unknown
            } else {
                p
            };
            if p == AppProto::Unknown {
                flow.app_proto = AppProto::Failed;
                flow.inspect = false;
                bump(&mut self.local.app_flows, AppProto::Failed);
                return;
            }
            flow.app_proto = p;
            bump(&mut self.local.app_flows, p);
        }
        if flow.app_proto != AppProto::Dns {
            if !flow.inspect {
                return;
            }
            let p = flow.app_proto;
            let parser = flow
                .dgram
                .get_or_insert_with(|| Box::new(AppParser::new(p)));
            parser.datagram(ctx.to_server, payload, &mut self.events);
            self.drain_events(key, flow, ctx);
            return;
        }
        if flow.app_proto == AppProto::Dns {
            match proto::dns::udp_event(payload, ctx.to_server) {
                Ok(ev) => {
                    let mut ev = AppEvent::Dns(ev);
                    self.app_event(key, flow, ctx, &mut ev);
                }
                Err(_) => {
                    bump(&mut self.local.app_events, "dns_malformed");
                }
            }
        }
    }

    /// One decoded app-layer event: count, match, log.
    fn app_event(&mut self, key: &FlowKey, flow: &mut Flow, ctx: &Ctx, ev: &mut AppEvent) {
        bump(&mut self.local.app_events, ev.event_type());
        // Transaction id and record direction.
        let (tx_id, from_server) = match ev {
            AppEvent::Dns(ref mut d) => {
                // As Suricata 8: every DNS message is its own transaction.
                let tx = flow.dns_next_tx;
                flow.dns_next_tx += 1;
                d.tx_id = tx;
                (tx, d.is_response())
            }
            AppEvent::Http(h) => (h.tx_id(), false),
            AppEvent::Tls(_) => (0, false),
            AppEvent::Ot(o) => (o.tx_id(), false),
        };
        if let AppEvent::Ot(o) = ev {
            if let Some(op) = o.op() {
                bump(&mut self.local.ot_ops, (op.proto, op.class.as_str()));
                if self.ot.is_some() {
                    let c = packet_endpoints(key, flow, true);
                    // The packet's MACs as (client, server).
                    let macs = ctx
                        .macs
                        .map(|(s, d)| if ctx.to_server { (s, d) } else { (d, s) });
                    let (src, dst, sport, dport) = if op.response_only {
                        (c.dst, c.src, c.dport, c.sport)
                    } else {
                        (c.src, c.dst, c.sport, c.dport)
                    };
                    let (src_mac, dst_mac) = match macs {
                        Some((cm, sm)) if op.response_only => (Some(sm), Some(cm)),
                        Some((cm, sm)) => (Some(cm), Some(sm)),
                        None => (None, None),
                    };
                    let msg = crate::detect::ot::OpMsg {
                        app_proto: op.proto,
                        op,
                        ctx: rules::behaviour::Ctx {
                            ts_ns: ctx.ts_ns,
                            src: Some(src),
                            dst: Some(dst),
                            sport,
                            dport,
                            src_mac,
                            dst_mac,
                            flow_id: flow.flow_id,
                        },
                        l4: key.proto,
                        pcap_cnt: ctx.pcap_cnt,
                        order_ns: ctx.order_ns,
                        tx_id: Some(tx_id),
                    };
                    self.ot_out.push(crate::detect::ot::OtMsg::Op(msg));
                }
            }
        }
        if let AppEvent::Tls(t) = ev {
            if t.sni().is_some_and(|n| self.cfg.bypass.tls_matches(n)) {
                flow.bypass_wanted = true;
            }
        }
        let ep = packet_endpoints(key, flow, !from_server);
        let hits: Vec<(Indicator, &'static str)> = detect::match_event(&self.ioc, ev)
            .into_iter()
            .map(|(i, w)| (i.clone(), w))
            .collect();
        for (ind, what) in &hits {
            self.alert(key, flow, ctx, &ep, ind, what, Some((ev, tx_id)));
        }
        let enabled = match ev {
            AppEvent::Dns(_) => self.cfg.output.types.dns,
            AppEvent::Http(_) => self.cfg.output.types.http,
            AppEvent::Tls(_) => self.cfg.output.types.tls,
            AppEvent::Ot(_) => self.cfg.output.types.ot,
        };
        if !enabled {
            return;
        }
        let cid = community(flow, key);
        let vlan = &flow.vlan[..flow.vlan_count as usize];
        eve::begin_record(
            &mut self.eve,
            &Header {
                ts_ns: ctx.ts_ns,
                event_type: ev.event_type(),
                flow_id: Some(flow.flow_id),
                pcap_cnt: Some(ctx.pcap_cnt),
                ep: Some(&ep),
                vlan,
                community_id: Some(&cid),
                app_proto: None,
                tx_id: Some(tx_id),
            },
        );
        eve::member(&mut self.eve, ev.event_type());
        eve::json_value(&mut self.eve, ev);
        eve::end_record(&mut self.eve);
        self.eve_records += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &mut self,
        key: &FlowKey,
        flow: &mut Flow,
        ctx: &Ctx,
        ep: &Endpoints,
        ind: &Indicator,
        what: &'static str,
        event: Option<(&AppEvent, u64)>,
    ) {
        flow.alerted = true;
        let severity = detect::severity(ind);
        bump(&mut self.local.alerts, (severity, "ioc"));
        let us = self.read_at.elapsed().as_micros().max(1) as u64;
        let _ = self.latency.record(us.min(3_600_000_000));
        if !self.cfg.output.types.alert {
            return;
        }
        let cid = community(flow, key);
        let app = (flow.app_proto != AppProto::Unknown && flow.app_proto != AppProto::Failed)
            .then(|| flow.app_proto.as_str());
        let vlan = &flow.vlan[..flow.vlan_count as usize];
        eve::begin_record(
            &mut self.eve,
            &Header {
                ts_ns: ctx.ts_ns,
                event_type: "alert",
                flow_id: Some(flow.flow_id),
                pcap_cnt: Some(ctx.pcap_cnt),
                ep: Some(ep),
                vlan,
                community_id: Some(&cid),
                app_proto: app,
                tx_id: event.map(|(_, t)| t),
            },
        );
        eve::member(&mut self.eve, "alert");
        detect::write_alert(&mut self.eve, ind, what, severity);
        if let Some((ev, _)) = event {
            eve::member(&mut self.eve, ev.event_type());
            eve::json_value(&mut self.eve, ev);
        }
        eve::member(&mut self.eve, "flow");
        let _ = std::io::Write::write_fmt(
            &mut self.eve,
            format_args!(
                "{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},\"bytes_toclient\":{},\"start\":\"",
                flow.pkts[0], flow.pkts[1], flow.bytes[0], flow.bytes[1]
            ),
        );
        eve::write_ts(&mut self.eve, flow.start_ns);
        self.eve.extend_from_slice(b"\"}");
        eve::end_record(&mut self.eve);
        self.eve_records += 1;
    }

    /// Run direction `d` of a flow's stream (`drive`: a segment, an ACK or
    /// the final flush) with its in-order chunks going to probing and the
    /// parser; count a protocol detected on the way.
    fn drive_stream(
        &mut self,
        af: &mut AppFlow,
        app_proto: &mut AppProto,
        d: usize,
        server_port: (u16, u16),
        drive: impl FnOnce(&mut HalfStream, &StreamConfig, &mut StreamStats, &mut dyn FnMut(Chunk<'_>)),
    ) {
        let AppFlow {
            streams,
            parser,
            probe,
            probe_failed,
        } = af;
        let mut state = ProbeCtx {
            parser,
            probe,
            probe_failed,
            app_proto,
            events: &mut self.events,
            to_server: d == 0,
            server_port,
            limit: self.probe_limit,
            detected: None,
            cfg: &self.cfg,
        };
        drive(
            &mut streams[d],
            &self.stream_cfg,
            &mut self.local.stream,
            &mut |c| state.chunk(c),
        );
        if let Some(p) = state.detected {
            bump(&mut self.local.app_flows, p);
        }
    }

    fn end_flow(&mut self, key: FlowKey, mut flow: Flow, reason: EndReason) {
        self.local.flows_ended[match reason {
            EndReason::Timeout => 0,
            EndReason::Evicted => 1,
            EndReason::Shutdown => 2,
        }] += 1;
        // Flush reassembly and parsers so the last transactions are logged.
        let order_ns = self.end_order(&key, &flow, reason);
        let ctx = Ctx {
            ts_ns: flow.last_ns,
            pcap_cnt: 0,
            order_ns,
            to_server: true,
            macs: flow.macs,
        };
        if let Some(mut af) = flow.app.take() {
            let server_port = server_ports(&key, &flow);
            for d in 0..2 {
                self.drive_stream(
                    &mut af,
                    &mut flow.app_proto,
                    d,
                    server_port,
                    |s, _, st, f| s.flush(st, f),
                );
            }
            if let Some(p) = af.parser.as_mut() {
                p.finish(&mut self.events);
            }
            self.drain_events(&key, &mut flow, &ctx);
        }
        // Datagram parsers' last events (unanswered requests) before the
        // flow's end reaches the detection thread, as for streams above.
        if let Some(mut p) = flow.dgram.take() {
            p.finish(&mut self.events);
            self.drain_events(&key, &mut flow, &ctx);
        }
        if self.ot.is_some() && !matches!(flow.app_proto, AppProto::Unknown | AppProto::Failed) {
            let c = packet_endpoints(&key, &flow, true);
            self.ot_out.push(crate::detect::ot::OtMsg::Flow(Box::new(
                crate::detect::ot::FlowMsg {
                    ts_ns: flow.last_ns,
                    order_ns,
                    flow_id: flow.flow_id,
                    client: (c.src, c.sport),
                    server: (c.dst, c.dport),
                    macs: flow.macs,
                    app_proto: flow.app_proto.as_str(),
                },
            )));
        }
        if !self.cfg.output.types.flow {
            return;
        }
        let cid = community(&mut flow, &key);
        let ep = packet_endpoints(&key, &flow, true);
        let app = match flow.app_proto {
            AppProto::Unknown => None,
            p => Some(p.as_str()),
        };
        let vlan = &flow.vlan[..flow.vlan_count as usize];
        eve::begin_record(
            &mut self.eve,
            &Header {
                ts_ns: flow.last_ns,
                event_type: "flow",
                flow_id: Some(flow.flow_id),
                pcap_cnt: None,
                ep: Some(&ep),
                vlan,
                community_id: Some(&cid),
                app_proto: app,
                tx_id: None,
            },
        );
        let state = match flow.tcp {
            TcpState::Closed => "closed",
            TcpState::None | TcpState::SynSent => {
                if flow.pkts[1] > 0 {
                    "established"
                } else {
                    "new"
                }
            }
            _ => "established",
        };
        let b = &mut self.eve;
        if let Some((t, c)) = flow.icmp_reply {
            b.extend_from_slice(b",\"response_icmp_type\":");
            eve::int(b, t);
            b.extend_from_slice(b",\"response_icmp_code\":");
            eve::int(b, c);
        }
        eve::member(b, "flow");
        let _ = std::io::Write::write_fmt(
            b,
            format_args!(
                "{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},\"bytes_toclient\":{},\"start\":\"",
                flow.pkts[0], flow.pkts[1], flow.bytes[0], flow.bytes[1]
            ),
        );
        eve::write_ts(b, flow.start_ns);
        b.extend_from_slice(b"\",\"end\":\"");
        eve::write_ts(b, flow.last_ns);
        let age = (flow.last_ns / 1_000_000_000).saturating_sub(flow.start_ns / 1_000_000_000);
        let _ = std::io::Write::write_fmt(
            b,
            format_args!(
                "\",\"age\":{age},\"state\":\"{state}\",\"reason\":\"{}\",\"alerted\":{}",
                reason.as_str(),
                flow.alerted
            ),
        );
        if flow.bypassed {
            b.extend_from_slice(b",\"bypass\":\"capture\"");
        }
        b.push(b'}');
        if key.proto == 6 {
            let all = flow.tcp_flags[0] | flow.tcp_flags[1];
            eve::member(b, "tcp");
            let _ = std::io::Write::write_fmt(
                b,
                format_args!(
                    "{{\"tcp_flags\":\"{all:02x}\",\"tcp_flags_ts\":\"{:02x}\",\"tcp_flags_tc\":\"{:02x}\"",
                    flow.tcp_flags[0], flow.tcp_flags[1]
                ),
            );
            for (bit, name) in [
                (0x01, "fin"),
                (0x02, "syn"),
                (0x04, "rst"),
                (0x08, "psh"),
                (0x10, "ack"),
                (0x20, "urg"),
                (0x40, "ecn"),
                (0x80, "cwr"),
            ] {
                if all & bit != 0 {
                    let _ = std::io::Write::write_fmt(b, format_args!(",\"{name}\":true"));
                }
            }
            let _ = std::io::Write::write_fmt(
                b,
                format_args!(",\"state\":\"{}\"}}", flow.tcp.as_str()),
            );
        }
        eve::end_record(b);
        self.eve_records += 1;
    }
}

/// Probing and parsing of one direction's in-order chunks.
struct ProbeCtx<'a> {
    parser: &'a mut Option<AppParser>,
    probe: &'a mut [Vec<u8>; 2],
    probe_failed: &'a mut [bool; 2],
    app_proto: &'a mut AppProto,
    events: &'a mut Vec<AppEvent>,
    to_server: bool,
    /// (server, client) ports.
    server_port: (u16, u16),
    limit: usize,
    detected: Option<AppProto>,
    cfg: &'a Config,
}

impl ProbeCtx<'_> {
    fn enabled(&self, p: AppProto) -> bool {
        let a = &self.cfg.app_layer;
        match p {
            AppProto::Dns => a.dns,
            AppProto::Http => a.http,
            AppProto::Tls => a.tls,
            p if p.is_ot() => a.ot,
            _ => true,
        }
    }

    fn chunk(&mut self, c: Chunk<'_>) {
        let d = if self.to_server { 0 } else { 1 };
        match c {
            Chunk::Data(data) => {
                if let Some(p) = self.parser.as_mut() {
                    p.input(self.to_server, data, self.events);
                    return;
                }
                if *self.app_proto == AppProto::Failed || self.probe_failed[d] {
                    return;
                }
                let room = self.limit.saturating_sub(self.probe[d].len());
                let take = data.len().min(room);
                let buf_was_empty = self.probe[d].is_empty();
                // Probe in place when nothing is buffered (the common case).
                let (res, proto) = if buf_was_empty {
                    proto::probe_stream(data, self.to_server, self.server_port)
                } else {
                    self.probe[d].extend_from_slice(&data[..take]);
                    proto::probe_stream(&self.probe[d], self.to_server, self.server_port)
                };
                match res {
                    Probe::Yes if self.enabled(proto) => {
                        let mut parser = AppParser::new(proto);
                        // Client bytes first, then what the server sent.
                        for (dd, ts) in [(0usize, true), (1, false)] {
                            if dd == d && buf_was_empty {
                                continue;
                            }
                            let buf = std::mem::take(&mut self.probe[dd]);
                            if !buf.is_empty() {
                                parser.input(ts, &buf, self.events);
                            }
                        }
                        // The part of this chunk not yet fed (all of it when
                        // it was probed in place, else what exceeded the
                        // probe buffer).
                        let rest = if buf_was_empty { data } else { &data[take..] };
                        if !rest.is_empty() {
                            parser.input(self.to_server, rest, self.events);
                        }
                        *self.parser = Some(parser);
                        *self.app_proto = proto;
                        self.detected = Some(proto);
                    }
                    Probe::NeedMore
                        if take == data.len()
                            && self.probe[d].len() + if buf_was_empty { data.len() } else { 0 }
                                < self.limit =>
                    {
                        if buf_was_empty {
                            self.probe[d].extend_from_slice(data);
                        }
                    }
                    _ => self.fail_dir(d),
                }
            }
            Chunk::Gap(_) => match self.parser.as_mut() {
                Some(p) => p.gap(self.to_server),
                None => self.fail_dir(d),
            },
        }
    }

    fn fail_dir(&mut self, d: usize) {
        self.probe_failed[d] = true;
        self.probe[d] = Vec::new();
        // Client-first protocols: a client that says nothing we know ends it;
        // otherwise both directions must fail.
        if d == 0 || self.probe_failed[0] {
            *self.app_proto = AppProto::Failed;
        }
    }
}

/// A flow's (server, client) ports.
fn server_ports(key: &FlowKey, flow: &Flow) -> (u16, u16) {
    if flow.client_is_lo {
        (key.hi_port, key.lo_port)
    } else {
        (key.lo_port, key.hi_port)
    }
}

/// The capture clock past which `f` times out (on the clock, for ordering;
/// the timeout itself is judged on packet time).
fn deadline(t: &Timeouts, f: &Flow, proto: u8) -> u64 {
    f.last_clock
        .saturating_add(timeout_of(t, f, proto))
        .saturating_add(1)
}

fn timeout_of(t: &Timeouts, f: &Flow, proto: u8) -> u64 {
    match proto {
        6 => match f.tcp {
            TcpState::Closed => t.tcp_closed,
            TcpState::Established | TcpState::FinWait => t.tcp_est,
            _ => t.tcp_new,
        },
        17 => {
            if f.pkts[0] > 0 && f.pkts[1] > 0 {
                t.udp_est
            } else {
                t.udp_new
            }
        }
        1 | 58 => t.icmp,
        _ => t.other,
    }
}

fn update_tcp_state(f: &mut Flow, flags: u8, to_server: bool) {
    if flags & TCP_RST != 0 {
        f.tcp = TcpState::Closed;
        return;
    }
    let syn = flags & TCP_SYN != 0;
    let ack = flags & TCP_ACK != 0;
    f.tcp = match f.tcp {
        TcpState::None if syn && !ack => TcpState::SynSent,
        TcpState::None if syn && ack => TcpState::SynRecv,
        TcpState::None => TcpState::Established,
        TcpState::SynSent if syn && ack && !to_server => TcpState::SynRecv,
        TcpState::SynRecv if ack && !syn && to_server => TcpState::Established,
        TcpState::SynSent | TcpState::SynRecv if !syn && f.pkts[0] > 0 && f.pkts[1] > 0 => {
            TcpState::Established
        }
        s => s,
    };
    if flags & TCP_FIN != 0 {
        let bit = if to_server { 1 } else { 2 };
        f.fins |= bit;
        f.tcp = if f.fins == 3 {
            TcpState::Closed
        } else {
            TcpState::FinWait
        };
    }
}

/// Deterministic flow id: the same flow gets the same id whatever the
/// worker count. Kept below 2^51 so JSON consumers using doubles keep it.
fn flow_id(key: &FlowKey, start_ns: u64) -> u64 {
    use std::hash::BuildHasher;
    let h = foldhash::fast::FixedState::with_seed(0x0f10_1d5e_ed00_0001).hash_one((key, start_ns));
    h & ((1 << 51) - 1)
}

/// The flow's Community ID (computed once).
fn community(flow: &mut Flow, key: &FlowKey) -> Box<str> {
    if let Some(c) = &flow.community_id {
        return c.clone();
    }
    let ep = packet_endpoints(key, flow, true);
    let c: Box<str> = community_id(ep.src, ep.dst, key.proto, ep.sport, ep.dport, flow.icmp).into();
    flow.community_id = Some(c.clone());
    c
}

/// The flow's endpoints oriented client→server (`to_server`) or back.
fn packet_endpoints(key: &FlowKey, flow: &Flow, to_server: bool) -> Endpoints {
    let (c_ip, c_port, s_ip, s_port): (IpAddr, u16, IpAddr, u16) = if flow.client_is_lo {
        (key.lo_ip(), key.lo_port, key.hi_ip(), key.hi_port)
    } else {
        (key.hi_ip(), key.hi_port, key.lo_ip(), key.lo_port)
    };
    let ep = Endpoints {
        src: c_ip,
        dst: s_ip,
        sport: c_port,
        dport: s_port,
        proto: key.proto,
        icmp: flow.icmp,
    };
    if to_server {
        ep
    } else {
        ep.reversed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LinkType;

    /// Ethernet/IPv4/UDP 10.0.0.1:1000 -> 10.0.0.2:2000 with 4 bytes of data.
    fn udp_frame() -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 12, 0, 0]);
        f.extend_from_slice(b"ping");
        f
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A worker `id` with `cfg`, sending OT batches to `ot` (as replay
    /// does: with low-water marks); its EVE chunks and its end-of-input
    /// clock.
    fn test_worker(
        id: usize,
        cfg: Arc<Config>,
        metrics: Metrics,
        ot: Option<Sender<crate::detect::ot::OtBatch>>,
    ) -> (
        Worker,
        crossbeam_channel::Receiver<OutChunk>,
        Arc<AtomicU64>,
    ) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let clock = Arc::new(AtomicU64::new(0));
        let w = Worker::new(WorkerSetup {
            id,
            cfg,
            ioc: Arc::new(rules::ioc::IocSetBuilder::default().build()),
            metrics,
            out: tx,
            max_flows: 4096,
            clock: clock.clone(),
            bypass: None,
            ot_ordered: ot.is_some(),
            ot,
        });
        (w, rx, clock)
    }

    /// Ethernet frames (pcap frame number, hex) through one worker (with the
    /// OT stage's sender `ot`) to the end of input; the EVE chunks.
    fn run_frames(
        frames: &[(u64, &str)],
        ot: Option<Sender<crate::detect::ot::OtBatch>>,
    ) -> crossbeam_channel::Receiver<OutChunk> {
        let (mut w, rx, _) = test_worker(0, Arc::new(Config::default()), Metrics::new(), ot);
        let mut b = Batch::new(None, frames.len());
        for (n, h) in frames {
            let f = hex(h);
            b.pkts.push(Pkt {
                off: b.owned.len(),
                len: f.len() as u32,
                ts_ns: 1_000_000_000 + n * 1_000_000,
                clock_ns: 1_000_000_000 + n * 1_000_000,
                pcap_cnt: *n,
                link: LinkType::Ethernet,
                owned: true,
                reassembled: false,
                vlan: [0; 2],
                vlan_count: 0,
            });
            b.owned.extend_from_slice(&f);
        }
        w.process_batch(&b);
        w.finish();
        drop(w);
        rx
    }

    /// The EVE records of `frames` through one worker.
    fn eve_of(frames: &[(u64, &str)]) -> Vec<serde_json::Value> {
        let rx = run_frames(frames, None);
        rx.try_iter()
            .flat_map(|c| {
                c.bytes
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::from_slice(l).unwrap())
                    .collect::<Vec<serde_json::Value>>()
            })
            .collect()
    }

    fn of_type<'a>(ev: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
        ev.iter().filter(|v| v["event_type"] == t).collect()
    }

    /// step7_s300_AuthPassword.pcapng, all 6 frames: the client's requests
    /// of frames 3 and 5 follow bytes the capture lost; the responses
    /// (frames 4, 6) acknowledge them. The requests used to wait for the
    /// flow end (pcap_cnt 0), the responses were logged response-only.
    #[test]
    fn a_request_behind_a_capture_loss_pairs_with_its_response() {
        let ev = eve_of(&[
            (1, "001b1b1ad6e0000c296e5d0108004500004912cb400080065d6886f93ee686f93da3c0660066fceae605004d14df5018fa1d47bb00000300002102f080320700000500000800080001120411440100ff09000401320004"),
            (2, "000c296e5d01001b1b1ad6e00800450000790c5e00001e0605a686f93da386f93ee60066c066004d14dffceae62650181000bf3a00000300005102f080320700000500000c0034000112081284010100000000ff09003001320004002800010004000100030003000200000000565658016b420000000002000001000000000000000000000000"),
            (3, "001b1b1ad6e0000c296e5d0108004500004d12cd400080065d6286f93ee686f93da3c0660066fceae62d004d15305018f9cc97c500000300002502f0803207000006000008000c0001120411450100ff090008213a1b1d6e681b1d"),
            (4, "000c296e5d01001b1b1ad6e00800450000490c6100001e0605d386f93da386f93ee60066c066004d1530fceae652501810002f2f00000300002102f080320700000600000c00040001120812850101000000000a000000"),
            (5, "001b1b1ad6e0000c296e5d0108004500004912cf400080065d6486f93ee686f93da3c0660066fceae659004d15515018f9ab596200000300002102f080320700000700000800080001120411440100ff09000404240000"),
            (6, "000c296e5d01001b1b1ad6e00800450000650c6300001e0605b586f93da386f93ee60066c066004d1551fceae67a50181000dfda00000300003d02f080320700000700000c0020000112081284010100000000ff09001c04240000001400015140ff0800000000000000009401290236309557"),
        ]);
        let s7 = of_type(&ev, "s7comm");
        let cnt: Vec<u64> = s7.iter().map(|v| v["pcap_cnt"].as_u64().unwrap()).collect();
        assert_eq!(cnt, [2, 4, 6], "{s7:#?}");
        for v in &s7 {
            assert!(v["s7comm"].get("response_only").is_none(), "{v}");
        }
        assert_eq!(s7[1]["s7comm"]["function_name"], "Security");
    }

    /// Sample_File_MMS_and_GOOSE.pcap tcp.stream 5 (frames 41-45, 260,
    /// 261): picked up mid-connection; the client's first payload is a
    /// 1-byte keep-alive probe (frame 44) re-sending a byte the server
    /// had acknowledged. It used to anchor the client stream and fail the
    /// probe, so the flow was app_proto failed and the InformationReport
    /// of frame 260 was lost.
    #[test]
    fn a_keep_alive_does_not_fail_a_mid_stream_mms_flow() {
        let ev = eve_of(&[
            (41, "001b2102f79d0002a3013bb80800450000281ed7000040063a6cac10c907ac10006500660441d2cbdcca50327d3950104470c82d0000000000000000"),
            (42, "0002a3013bb8001b2102f79d0800450000281d6e40008006bbd4ac100065ac10c9070441006650327d39d2cbdccb5010fd200f7c0000000000000000"),
            (44, "0002a3013bb8001b2102f79d0800450000291d7040008006bbd1ac100065ac10c9070441006650327d38d2cbdccb5010fd200f7c0000000000000000"),
            (45, "001b2102f79d0002a3013bb80800450000281ed840004006fa6aac10c907ac10006500660441d2cbdccb50327d3950104470c82c0000000000000000"),
            (260, "001b2102f79d0002a3013bb80800450000bf1edc40004006f9cfac10c907ac10006500660441d2cbdccb50327d39501844708e3d00000300009702f08001000100618189308186020103a08180a37ea07ca1058003525054a0738a20414131514251424246503141424230352f4c4c4e3024627263625f42303630318403065300860201938301008908000000000000029584080400001000800000a2128301018403030000910848808dd5c6a7f00aa213840206408403030000910848808dd5c6a7f00a8402024084020240"),
            (261, "0002a3013bb8001b2102f79d0800450000281e8c40008006bab6ac100065ac10c9070441006650327d39d2cbdd625010fc890f7c0000000000000000"),
        ]);
        let flows = of_type(&ev, "flow");
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0]["app_proto"], "mms", "{:#}", flows[0]);
        let mms = of_type(&ev, "mms");
        assert_eq!(mms.len(), 1, "{ev:#?}");
        assert_eq!(mms[0]["pcap_cnt"], 260);
    }

    /// Frames through one worker that sends its OT ops; the ops.
    fn ops_of(frames: &[(u64, &str)]) -> Vec<crate::detect::ot::OpMsg> {
        let (otx, orx) = crossbeam_channel::unbounded();
        let _eve = run_frames(frames, Some(otx));
        orx.try_iter()
            .flat_map(|b: crate::detect::ot::OtBatch| b.msgs)
            .filter_map(|m| match m {
                crate::detect::ot::OtMsg::Op(o) => Some(o),
                crate::detect::ot::OtMsg::Flow(_) => None,
            })
            .collect()
    }

    /// modbus_test_data_part2.pcap frames 6 (client 192.168.66.235,
    /// 00:0c:29:6b:2d:28 -> server 166.161.16.230, 00:c0:a8:f2:bf:fb) and 9
    /// (the server's exception): the OT op carries the packet's MACs as
    /// (src, dst) of the op, also when the op is logged on the server's
    /// packet or stands alone as a response; through the OT stage the
    /// inventory then keys the hosts by MAC with their OUI vendor. Ops
    /// used to carry no MAC, so IP assets had neither.
    #[test]
    fn ot_ops_carry_the_endpoints_macs_to_the_inventory() {
        const F6: &str = "00c0a8f2bffb000c296b2d28080045000034fd054000800642a3c0a842eba6a110e60a1601f6f1ecdd4e8a75f5be5018faf09d320000000000000006010000000000";
        const F9: &str = "000c296b2d2800c0a8f2bffb0800450000310f3e00002b06c56ea6a110e6c0a842eb01f60a168a75f5bef1ecdd5a50181000869d0000000000000003018001";
        const CLIENT: [u8; 6] = [0x00, 0x0c, 0x29, 0x6b, 0x2d, 0x28];
        const SERVER: [u8; 6] = [0x00, 0xc0, 0xa8, 0xf2, 0xbf, 0xfb];
        let ops = ops_of(&[(6, F6), (9, F9)]);
        assert_eq!(ops.len(), 1);
        assert!(!ops[0].op.response_only);
        assert_eq!(ops[0].pcap_cnt, 9, "logged on the server's packet");
        assert_eq!(
            (ops[0].ctx.src_mac, ops[0].ctx.dst_mac),
            (Some(CLIENT), Some(SERVER))
        );
        // The response alone: src is its sender, the server.
        let alone = ops_of(&[(9, F9)]);
        assert_eq!(alone.len(), 1);
        assert!(alone[0].op.response_only);
        assert_eq!(
            (alone[0].ctx.src_mac, alone[0].ctx.dst_mac),
            (Some(SERVER), Some(CLIENT))
        );
        // The request alone, logged at flow end: the flow's MACs.
        let at_end = ops_of(&[(6, F6)]);
        assert_eq!(at_end.len(), 1);
        assert_eq!(at_end[0].pcap_cnt, 0);
        assert_eq!(
            (at_end[0].ctx.src_mac, at_end[0].ctx.dst_mac),
            (Some(CLIENT), Some(SERVER))
        );
        // Through the OT stage and its inventory.
        let (atx, arx) = crossbeam_channel::unbounded();
        let (mtx, mrx) = crossbeam_channel::unbounded();
        let stage = crate::detect::ot::spawn(
            crate::detect::ot::OtSetup {
                rules: Arc::new(rules::behaviour::RuleSet::empty()),
                baseline: None,
                assets: Some((
                    crate::assets::Inventory::new(crate::assets::InventoryConfig::default()),
                    None,
                )),
                out: atx,
                metrics: Metrics::new(),
                alerts: false,
                ordered: false,
                workers: 1,
                max_held: crate::detect::ot::ORDERED_MAX,
            },
            mrx,
        )
        .unwrap();
        mtx.send(crate::detect::ot::OtBatch {
            worker: 0,
            low_water_ns: u64::MAX,
            msgs: ops.into_iter().map(crate::detect::ot::OtMsg::Op).collect(),
        })
        .unwrap();
        drop(mtx);
        stage.join().unwrap();
        let news: Vec<serde_json::Value> = arx
            .try_iter()
            .flat_map(|c| {
                c.bytes
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .filter(|v| v["event_type"] == "asset" && v["asset"]["event"] == "new")
            .map(|v| v["asset"].clone())
            .collect();
        let of = |ip: &str| news.iter().find(|a| a["ip"] == ip).cloned();
        let c = of("192.168.66.235").expect("client asset");
        assert_eq!(c["asset"], "00:0c:29:6b:2d:28");
        assert_eq!(c["mac"], "00:0c:29:6b:2d:28");
        assert_eq!(c["vendor"], "VMware");
        let s = of("166.161.16.230").expect("server asset");
        assert_eq!(s["mac"], "00:c0:a8:f2:bf:fb");
        assert_eq!(news.len(), 2, "no IP-keyed duplicates: {news:?}");
    }

    /// Frames `(ts_ns, link, bytes)` through one worker with the OT stage's
    /// channel, in batches of 8 as replay would send them (each packet's
    /// clock the latest time so far); what the worker sent.
    fn ot_batches_of(
        cfg: &Arc<Config>,
        frames: &[(u64, LinkType, Vec<u8>)],
    ) -> Vec<crate::detect::ot::OtBatch> {
        let (otx, orx) = crossbeam_channel::unbounded();
        let (mut w, _rx, clock) = test_worker(0, cfg.clone(), Metrics::new(), Some(otx));
        let mut max_ts = 0;
        for (i, chunk) in frames.chunks(8).enumerate() {
            let mut b = Batch::new(None, chunk.len());
            for (j, (ts, link, f)) in chunk.iter().enumerate() {
                max_ts = max_ts.max(*ts);
                b.pkts.push(Pkt {
                    off: b.owned.len(),
                    len: f.len() as u32,
                    ts_ns: *ts,
                    clock_ns: max_ts,
                    pcap_cnt: (i * 8 + j) as u64 + 1,
                    link: *link,
                    owned: true,
                    reassembled: false,
                    vlan: [0; 2],
                    vlan_count: 0,
                });
                b.owned.extend_from_slice(f);
            }
            w.process_batch(&b);
        }
        clock.store(max_ts, Ordering::Release);
        w.finish();
        orx.try_iter().collect()
    }

    /// Checks that no message of a later batch is ordered below an earlier
    /// batch's low-water mark, and that the mark moved before the end; the
    /// number of messages.
    fn check_low_water(name: &str, batches: &[crate::detect::ot::OtBatch]) -> usize {
        let order = |m: &crate::detect::ot::OtMsg| match m {
            crate::detect::ot::OtMsg::Op(o) => o.order_ns,
            crate::detect::ot::OtMsg::Flow(f) => f.order_ns,
        };
        let mut moving = 0;
        let mut mark = 0;
        for b in batches {
            for m in &b.msgs {
                assert!(
                    order(m) >= mark,
                    "{name}: a message ordered at {} came after the mark {mark}: {m:?}",
                    order(m)
                );
            }
            assert!(b.low_water_ns >= mark, "{name}: the mark went back");
            mark = b.low_water_ns;
            if mark != 0 && mark != u64::MAX {
                moving += 1;
            }
        }
        assert!(moving > 0, "{name}: the mark never moved before the end");
        assert_eq!(batches.last().map(|b| b.low_water_ns), Some(u64::MAX));
        batches.iter().map(|b| b.msgs.len()).sum()
    }

    /// Replay's low-water mark is a promise: no OT message a worker sends
    /// after a batch is ordered below that batch's mark. Checked on the
    /// committed OT captures with one-second flow timeouts (so flows end by
    /// timeout mid-capture, lazily and in sweeps), and on 600 BACnet flows
    /// that all time out at once while another keeps the clock going: a
    /// sweep ends at most 256 of them per 100 ms, so the mark must wait for
    /// the ones it has not reached yet.
    #[test]
    fn low_water_marks_bound_every_later_ot_message() {
        let mut cfg = Config::default();
        for t in [
            &mut cfg.flow.tcp_new_timeout,
            &mut cfg.flow.tcp_established_timeout,
            &mut cfg.flow.tcp_closed_timeout,
            &mut cfg.flow.udp_new_timeout,
            &mut cfg.flow.udp_established_timeout,
            &mut cfg.flow.other_timeout,
        ] {
            *t = 1;
        }
        let cfg = Arc::new(cfg);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/captures");
        for name in [
            "ot-modbus-writes.pcap",
            "ot-dnp3.pcap",
            "ot-enip-attack.pcap",
            "ot-iec104-attack.pcap",
            "ot-goose.pcap",
        ] {
            let file = crate::capture::file::CaptureFile::open(&dir.join(name)).unwrap();
            let frames: Vec<_> = file
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    let d = &file.map()[r.offset..r.offset + r.caplen as usize];
                    (r.ts_ns, r.link, d.to_vec())
                })
                .collect();
            let n = check_low_water(name, &ot_batches_of(&cfg, &frames));
            assert!(n > 0, "{name}: no OT messages");
        }
        // BACnet Who-Is from 600 source ports at t = 1 s, then one flow
        // every 50 ms for 5 s.
        let who_is = |sport: u16| {
            let mut f = udp_frame();
            f[34..36].copy_from_slice(&sport.to_be_bytes());
            f[36..38].copy_from_slice(&47808u16.to_be_bytes());
            f.truncate(42);
            f.extend_from_slice(&[
                0x81, 0x0b, 0x00, 0x0c, 0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08,
            ]);
            let ip_len = (f.len() - 14) as u16;
            f[16..18].copy_from_slice(&ip_len.to_be_bytes());
            f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
            f
        };
        let mut frames = Vec::new();
        for i in 0..600u16 {
            frames.push((1_000_000_000, LinkType::Ethernet, who_is(40_000 + i)));
        }
        for i in 0..100u64 {
            frames.push((
                1_000_000_000 + i * 50_000_000,
                LinkType::Ethernet,
                who_is(39_999),
            ));
        }
        let batches = ot_batches_of(&cfg, &frames);
        let flows = batches
            .iter()
            .flat_map(|b| &b.msgs)
            .filter(|m| matches!(m, crate::detect::ot::OtMsg::Flow(_)))
            .count();
        assert_eq!(flows, 601, "every BACnet flow ends once");
        check_low_water("600 BACnet flows", &batches);
    }

    /// Replay: a worker no flow reaches still moves its low-water mark when
    /// the reader's clock tick comes (else it would hold the OT stage back
    /// to the end of input).
    #[test]
    fn an_idle_worker_moves_its_mark_on_clock_ticks() {
        let (otx, orx) = crossbeam_channel::unbounded();
        let (mut w, _rx, _) =
            test_worker(1, Arc::new(Config::default()), Metrics::new(), Some(otx));
        for t in [5, 6, 8] {
            let mut b = Batch::new(None, 0);
            b.tick_ns = t * 1_000_000_000;
            w.process_batch(&b);
        }
        let marks: Vec<(usize, u64)> = orx.try_iter().map(|b| (b.worker, b.low_water_ns)).collect();
        assert_eq!(
            marks,
            [(1, 5_000_000_000), (1, 6_000_000_000), (1, 8_000_000_000)]
        );
    }

    #[test]
    fn a_clock_tick_ages_flows_on_a_quiet_link() {
        let metrics = Metrics::new();
        let (mut w, rx, _) = test_worker(0, Arc::new(Config::default()), metrics.clone(), None);
        let frame = udp_frame();
        let mut b = Batch::new(None, 1);
        b.owned.extend_from_slice(&frame);
        b.pkts.push(Pkt {
            off: 0,
            len: frame.len() as u32,
            ts_ns: 1_000_000_000,
            clock_ns: 1_000_000_000,
            pcap_cnt: 1,
            link: LinkType::Ethernet,
            owned: true,
            reassembled: false,
            vlan: [0; 2],
            vlan_count: 0,
        });
        w.process_batch(&b);
        assert_eq!(metrics.flows_active.get(), 1);
        // Five seconds later: not idle long enough (UDP new: 30 s).
        let mut t = Batch::new(None, 0);
        t.tick_ns = 6_000_000_000;
        w.process_batch(&t);
        assert_eq!(metrics.flows_active.get(), 1);
        // Two minutes later, still no packet: the flow ends by timeout and
        // its record is sent at once.
        t.tick_ns = 121_000_000_000;
        w.process_batch(&t);
        assert_eq!(metrics.flows_active.get(), 0);
        assert_eq!(metrics.flows_ended.with_label_values(&["timeout"]).get(), 1);
        let chunk = rx.try_recv().expect("the flow record was flushed");
        let rec: serde_json::Value = serde_json::from_slice(&chunk.bytes).unwrap();
        assert_eq!(rec["event_type"], "flow");
        assert_eq!(rec["flow"]["reason"], "timeout");
        assert_eq!(rec["flow"]["pkts_toserver"], 1);
    }
}
