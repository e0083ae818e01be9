//! The OT detection stage: one thread that sees every OT operation from
//! every worker (and every finished flow), so that state across flows —
//! behaviour-rule thresholds, distinct counts and sequences by host, the
//! learned baseline, the asset inventory — is counted in one place.
//!
//! Workers send [`OtMsg`]s over a bounded channel, one batch per packet batch; the stage writes EVE
//! `alert` records (behaviour rules, baseline deviations) and `asset`
//! records to the writer, and keeps the baseline and inventory files up to
//! date (written atomically every minute and at the end).
//!
//! Ordering. Live: ops of one flow arrive in order; ops of different flows
//! on different workers interleave in arrival order. Windows run on packet
//! time, so only rules whose outcome depends on the interleaving of two
//! workers' ops within one batch can differ between runs with several
//! workers. Replay: messages are handled in an order that does not depend
//! on the worker count (see [`OtBatch`]), as soon as every worker's
//! low-water mark has passed them, so the stage works alongside the
//! workers and holds only the last second or so of messages.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rules::baseline::{Baseline, Deviation, DeviationKind};
use rules::behaviour::{Ctx, Engine, Hit, RuleSet};
use rules::ot::Op;

use crate::assets::{AssetEvent, Endpoint, Inventory, MacAddr};
use crate::metrics::Metrics;
use crate::output::eve::{self, Endpoints, Header};
use crate::output::OutChunk;

/// One operation as a worker saw it.
#[derive(Debug)]
pub struct OpMsg {
    pub op: Op,
    pub ctx: Ctx,
    /// IP protocol (6, 17), 0 for layer 2.
    pub l4: u8,
    pub app_proto: &'static str,
    pub pcap_cnt: u64,
    /// Where the op goes in replay's order (see [`OtBatch`]).
    pub order_ns: u64,
    /// The transaction's id (EVE `tx_id`). The flow's Community ID is
    /// computed from `ctx` when a record is written: most ops write none,
    /// and a string per op was a heap allocation freed on another thread.
    pub tx_id: Option<u64>,
}

/// A flow that ended, for the inventory (who serves what).
#[derive(Debug)]
pub struct FlowMsg {
    /// The flow's last packet time.
    pub ts_ns: u64,
    /// Where the flow's end goes in replay's order (see [`OtBatch`]).
    pub order_ns: u64,
    pub flow_id: u64,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// Ethernet MACs (client, server) of the flow's latest frame.
    pub macs: Option<([u8; 6], [u8; 6])>,
    pub app_proto: &'static str,
}

/// What a worker hands the stage: its messages, and its low-water mark.
///
/// Replay's order is (order time, flow id, packet number). The order time
/// of an op is the capture clock at its packet (the latest timestamp read
/// so far: the packet's own time unless the capture's timestamps go back);
/// that of a flow's end, and of ops its parsers give up at the end, is when
/// the flow ended (its timeout deadline on that clock, or the end of
/// input). None of it depends on how flows are spread over workers.
///
/// `low_water_ns` promises that no message this worker sends later has an
/// order time below it; the stage handles, in order, every message below
/// the lowest mark of all workers, and holds the rest.
#[derive(Debug)]
pub struct OtBatch {
    pub worker: usize,
    pub low_water_ns: u64,
    pub msgs: Vec<OtMsg>,
}

// Ops are the bulk of the messages and flows few: ops inline (one
// allocation per batch, not one per op), flows boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum OtMsg {
    Op(OpMsg),
    Flow(Box<FlowMsg>),
}

/// What the stage starts from (built by the caller before the run).
pub struct OtInit {
    pub rules: Arc<RuleSet>,
    pub baseline: Option<(Baseline, PathBuf)>,
    pub assets: Option<(Inventory, Option<PathBuf>)>,
}

/// What the stage needs.
pub struct OtSetup {
    pub rules: Arc<RuleSet>,
    pub baseline: Option<(Baseline, PathBuf)>,
    pub assets: Option<(Inventory, Option<PathBuf>)>,
    pub out: Sender<OutChunk>,
    pub metrics: Metrics,
    /// Write alert records.
    pub alerts: bool,
    /// Replay: handle messages in replay's order (see [`OtBatch`]) as the
    /// workers' low-water marks allow, so that the records do not depend
    /// on how flows were spread over workers. Live: handle each as it comes.
    pub ordered: bool,
    /// How many workers send (each reports its own low-water mark).
    pub workers: usize,
    /// Replay: most messages held before the oldest half is handled even
    /// though a mark holds it back ([`ORDERED_MAX`] outside tests).
    pub max_held: usize,
}

/// Most messages an ordered (replay) stage holds before it handles the
/// oldest half (a low-water mark held back for long: only a flow past its
/// deadline that no sweep has reached does that).
pub const ORDERED_MAX: usize = 1 << 20;

impl OtMsg {
    /// (packet time, flow id, packet number): the replay order.
    fn order_key(&self) -> (u64, u64, u64) {
        match self {
            OtMsg::Op(m) => (m.order_ns, m.ctx.flow_id, m.pcap_cnt),
            OtMsg::Flow(f) => (f.order_ns, f.flow_id, u64::MAX),
        }
    }
}

/// What the stage did.
#[derive(Debug, Default)]
pub struct OtReport {
    pub ops: u64,
    pub alerts: u64,
    pub asset_records: u64,
    /// Problems saving the baseline or inventory.
    pub errors: Vec<String>,
    /// CPU time the stage's thread used.
    pub cpu: std::time::Duration,
}

/// Signature ids of baseline deviations (one per kind).
pub const SID_BASELINE: u32 = 9_290_000;

/// Start the stage; it runs until every sender of `rx` is gone.
pub fn spawn(setup: OtSetup, rx: Receiver<OtBatch>) -> std::io::Result<JoinHandle<OtReport>> {
    std::thread::Builder::new()
        .name("ot-detect".into())
        .spawn(move || {
            let _ = crate::privs::drop_thread_capabilities();
            Stage::new(setup).run(rx)
        })
}

struct Stage {
    engine: Engine,
    baseline: Option<(Baseline, PathBuf)>,
    assets: Option<(Inventory, Option<PathBuf>)>,
    out: Sender<OutChunk>,
    metrics: Metrics,
    alerts_on: bool,
    ordered: bool,
    workers: usize,
    max_held: usize,
    buf: Vec<u8>,
    records: u64,
    hits: Vec<Hit>,
    asset_events: Vec<AssetEvent>,
    report: OtReport,
    last_save: Instant,
}

impl Stage {
    fn new(s: OtSetup) -> Stage {
        Stage {
            engine: Engine::new(s.rules),
            baseline: s.baseline,
            assets: s.assets,
            out: s.out,
            metrics: s.metrics,
            alerts_on: s.alerts,
            ordered: s.ordered,
            workers: s.workers,
            max_held: s.max_held,
            buf: Vec::with_capacity(64 * 1024),
            records: 0,
            hits: Vec::new(),
            asset_events: Vec::new(),
            report: OtReport::default(),
            last_save: Instant::now(),
        }
    }

    /// Handle, in replay's order, every held message ordered below `below`
    /// (the workers' lowest low-water mark; `u64::MAX`: all), and drop them; keep the rest
    /// in arrival order. The messages are handled where they lie: only the
    /// keys are sorted, with the arrival index last (messages of one flow
    /// keep their order), and only the kept ones move.
    fn release(&mut self, held: &mut Vec<OtMsg>, below: u64) {
        let mut keyed: Vec<((u64, u64, u64), usize)> = held
            .iter()
            .enumerate()
            .map(|(i, m)| (m.order_key(), i))
            .filter(|(k, _)| k.0 < below || below == u64::MAX)
            .collect();
        keyed.sort_unstable();
        for &(_, i) in &keyed {
            self.handle(&held[i]);
            if self.buf.len() > 256 * 1024 {
                self.flush();
            }
        }
        self.flush();
        if below == u64::MAX {
            held.clear();
        } else {
            held.retain(|m| m.order_key().0 >= below);
        }
    }

    fn run(mut self, rx: Receiver<OtBatch>) -> OtReport {
        if self.ordered {
            let mut held: Vec<OtMsg> = Vec::new();
            let mut marks = vec![0u64; self.workers.max(1)];
            let mut released = 0u64;
            for batch in rx.iter() {
                held.extend(batch.msgs);
                if let Some(m) = marks.get_mut(batch.worker) {
                    *m = (*m).max(batch.low_water_ns);
                }
                let low = marks.iter().copied().min().unwrap_or(0);
                if low > released && !held.is_empty() {
                    released = low;
                    self.release(&mut held, low);
                }
                if held.len() >= self.max_held.max(2) {
                    // The oldest half or so (at least the oldest time).
                    let mut times: Vec<u64> = held.iter().map(|m| m.order_key().0).collect();
                    let (_, &mut mid, _) = times.select_nth_unstable(held.len() / 2);
                    let below = mid.max(times.iter().copied().min().unwrap_or(0).saturating_add(1));
                    self.release(&mut held, below);
                }
            }
            self.release(&mut held, u64::MAX);
            self.save();
            self.update_gauges();
            self.report.cpu = crate::pipeline::worker::thread_cpu_time();
            return self.report;
        }
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(batch) => {
                    // This batch and what is queued behind it, then flush.
                    let queued = rx.try_iter().flat_map(|b| b.msgs);
                    for m in batch.msgs.into_iter().chain(queued) {
                        self.handle(&m);
                        if self.buf.len() > 256 * 1024 {
                            self.flush();
                        }
                    }
                    self.flush();
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
            if self.last_save.elapsed() >= Duration::from_secs(60) {
                self.save();
            }
        }
        self.flush();
        self.save();
        self.update_gauges();
        self.report.cpu = crate::pipeline::worker::thread_cpu_time();
        self.report
    }

    fn handle(&mut self, m: &OtMsg) {
        match m {
            OtMsg::Op(m) => self.op(m),
            OtMsg::Flow(f) => {
                if let Some((inv, _)) = self.assets.as_mut() {
                    let c = Endpoint {
                        mac: f.macs.map(|m| MacAddr(m.0)),
                        ip: f.client.0,
                        port: f.client.1,
                    };
                    let s = Endpoint {
                        mac: f.macs.map(|m| MacAddr(m.1)),
                        ip: f.server.0,
                        port: f.server.1,
                    };
                    inv.observe_flow(f.ts_ns, &c, &s, f.app_proto, &mut self.asset_events);
                    self.write_asset_events();
                }
            }
        }
    }

    fn op(&mut self, m: &OpMsg) {
        self.report.ops += 1;
        let mut hits = std::mem::take(&mut self.hits);
        self.engine.eval(&m.op, &m.ctx, &mut hits);
        for h in &hits {
            self.rule_alert(m, h);
        }
        hits.clear();
        self.hits = hits;
        if let (Some((b, _)), Some(c), Some(s)) = (self.baseline.as_mut(), m.ctx.src, m.ctx.dst) {
            // Requests only: a response-only op's sender is the server.
            if !m.op.response_only {
                if let Some(d) = b.observe(&m.op, c, s, m.ctx.ts_ns) {
                    self.baseline_alert(m, &d);
                }
            }
        }
        if let Some((inv, _)) = self.assets.as_mut() {
            match (m.ctx.src, m.ctx.dst) {
                (Some(c), Some(s)) => {
                    // The packet's MACs travel with the op (Ethernet
                    // captures): the inventory keys local hosts by MAC.
                    let (c_mac, s_mac) = (m.ctx.src_mac.map(MacAddr), m.ctx.dst_mac.map(MacAddr));
                    let (client, server) = if m.op.response_only {
                        ((s, m.ctx.dport, s_mac), (c, m.ctx.sport, c_mac))
                    } else {
                        ((c, m.ctx.sport, c_mac), (s, m.ctx.dport, s_mac))
                    };
                    let ce = Endpoint {
                        mac: client.2,
                        ip: client.0,
                        port: client.1,
                    };
                    let se = Endpoint {
                        mac: server.2,
                        ip: server.0,
                        port: server.1,
                    };
                    inv.observe_op(m.ctx.ts_ns, &ce, &se, &m.op, &mut self.asset_events);
                }
                _ => {
                    if let Some(mac) = m.ctx.src_mac {
                        inv.observe_l2_op(m.ctx.ts_ns, MacAddr(mac), &m.op, &mut self.asset_events);
                    }
                }
            }
            self.write_asset_events();
        }
    }

    fn header<'a>(m: &'a OpMsg, ep: Option<&'a Endpoints>, cid: Option<&'a str>) -> Header<'a> {
        Header {
            ts_ns: m.ctx.ts_ns,
            event_type: "alert",
            flow_id: (m.ctx.flow_id != 0).then_some(m.ctx.flow_id),
            pcap_cnt: (m.pcap_cnt != 0).then_some(m.pcap_cnt),
            ep,
            vlan: &[],
            community_id: cid,
            app_proto: Some(m.app_proto),
            tx_id: m.tx_id,
        }
    }

    fn endpoints(m: &OpMsg) -> Option<Endpoints> {
        Some(Endpoints {
            src: m.ctx.src?,
            dst: m.ctx.dst?,
            sport: m.ctx.sport,
            dport: m.ctx.dport,
            proto: m.l4,
            icmp: None,
        })
    }

    fn rule_alert(&mut self, m: &OpMsg, h: &Hit) {
        let sev = h.rule.severity().eve();
        self.metrics
            .alerts
            .with_label_values(&[&sev.to_string(), "behaviour"])
            .inc();
        self.report.alerts += 1;
        if !self.alerts_on {
            return;
        }
        let ep = Self::endpoints(m);
        let cid = ep
            .as_ref()
            .map(|e| crate::flow::community_id(e.src, e.dst, e.proto, e.sport, e.dport, None));
        let hdr = Self::header(m, ep.as_ref(), cid.as_deref());
        let b = &mut self.buf;
        eve::begin_record(b, &hdr);
        eve::member(b, "alert");
        use std::io::Write;
        let _ = write!(
            b,
            "{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":1,\"signature\":",
            h.rule.id()
        );
        eve::json_str(b, h.rule.name());
        let _ = write!(
            b,
            ",\"category\":\"OT behaviour\",\"severity\":{sev},\"metadata\":{{\"mitre_technique_id\":["
        );
        for (i, a) in h.rule.attack().iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            eve::json_str(b, a);
        }
        b.extend_from_slice(b"],\"reference\":[");
        for (i, r) in h.rule.references().iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            eve::json_str(b, r);
        }
        b.extend_from_slice(b"],\"reason\":[");
        eve::json_str(b, &h.reason);
        b.extend_from_slice(b"],\"ot_function\":[");
        eve::json_str(b, m.op.function);
        b.extend_from_slice(b"],\"ot_class\":[");
        eve::json_str(b, m.op.class.as_str());
        b.push(b']');
        if let Some(p) = h.rule.pack() {
            b.extend_from_slice(b",\"pack\":[");
            eve::json_str(b, p);
            b.push(b']');
        }
        b.extend_from_slice(b"}}");
        eve::end_record(b);
        self.records += 1;
    }

    fn baseline_alert(&mut self, m: &OpMsg, d: &Deviation) {
        let (n, what) = match &d.kind {
            DeviationKind::NewPair => (1, format!("new {} conversation", d.proto)),
            DeviationKind::NewFunction => (2, format!("new {} function {}", d.proto, d.function)),
            DeviationKind::NewUnit => (
                3,
                format!(
                    "new {} unit {} for {}",
                    d.proto,
                    d.unit.map_or("?".into(), |u| u.to_string()),
                    d.function
                ),
            ),
            DeviationKind::NewAddress { value } => (
                4,
                format!(
                    "{} {} to a new address {} (value {value})",
                    d.proto,
                    d.function,
                    d.address.map_or("?".into(), |a| a.to_string())
                ),
            ),
            DeviationKind::ValueOutOfRange { min, max, value } => (
                5,
                format!(
                    "{} {} value {value} outside the learned {min}..{max} at address {}",
                    d.proto,
                    d.function,
                    d.address.map_or("?".into(), |a| a.to_string())
                ),
            ),
        };
        self.metrics
            .alerts
            .with_label_values(&["2", "baseline"])
            .inc();
        self.report.alerts += 1;
        if !self.alerts_on {
            return;
        }
        let ep = Self::endpoints(m);
        let cid = ep
            .as_ref()
            .map(|e| crate::flow::community_id(e.src, e.dst, e.proto, e.sport, e.dport, None));
        let hdr = Self::header(m, ep.as_ref(), cid.as_deref());
        let b = &mut self.buf;
        eve::begin_record(b, &hdr);
        eve::member(b, "alert");
        use std::io::Write;
        let _ = write!(
            b,
            "{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":1,\"signature\":",
            SID_BASELINE + n
        );
        eve::json_str(
            b,
            &format!(
                "OT baseline deviation: {what} from {} to {}",
                d.client, d.server
            ),
        );
        b.extend_from_slice(
            b",\"category\":\"OT baseline deviation\",\"severity\":2,\"metadata\":{\"deviation\":[",
        );
        eve::json_str(b, d.kind.as_str());
        b.extend_from_slice(b"],\"ot_function\":[");
        eve::json_str(b, &d.function);
        b.extend_from_slice(b"]}}");
        eve::end_record(b);
        self.records += 1;
    }

    fn write_asset_events(&mut self) {
        for ev in self.asset_events.drain(..) {
            self.report.asset_records += 1;
            eve::begin_record(
                &mut self.buf,
                &Header {
                    ts_ns: ev.ts_ns(),
                    event_type: "asset",
                    flow_id: None,
                    pcap_cnt: None,
                    ep: None,
                    vlan: &[],
                    community_id: None,
                    app_proto: None,
                    tx_id: None,
                },
            );
            eve::member(&mut self.buf, "asset");
            eve::json_value(&mut self.buf, &ev);
            eve::end_record(&mut self.buf);
            self.records += 1;
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(64 * 1024));
        let _ = self.out.send(OutChunk {
            bytes,
            records: self.records,
        });
        self.records = 0;
        self.update_gauges();
    }

    fn update_gauges(&self) {
        if let Some((inv, _)) = self.assets.as_ref() {
            for (role, n) in inv.counts_by_role() {
                self.metrics
                    .assets
                    .with_label_values(&[role.as_str()])
                    .set(n as i64);
            }
        }
    }

    fn save(&mut self) {
        self.last_save = Instant::now();
        if let Some((b, path)) = self.baseline.as_ref() {
            if let Err(e) = b.save(path) {
                self.report.errors.push(format!("saving the baseline: {e}"));
            }
        }
        if let Some((inv, Some(path))) = self.assets.as_ref() {
            if let Err(e) = inv.save(path) {
                self.report
                    .errors
                    .push(format!("saving the asset inventory: {e}"));
            }
        }
    }
}

/// Why the OT stage could not be set up: every rule error with its
/// `FILE:LINE:COL`, or a bad baseline/inventory file.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{} rule error(s):\n  {}", .0.len(), .0.join("\n  "))]
    Rules(Vec<String>),
    #[error("{0}")]
    State(String),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The rule files of `dirs` (`*.yaml`, `*.yml`, sorted), as (name, text).
fn rule_files(dirs: &[PathBuf]) -> Result<Vec<(String, String)>, SetupError> {
    let mut out = Vec::new();
    for d in dirs {
        let rd = std::fs::read_dir(d).map_err(|source| SetupError::Read {
            path: d.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| SetupError::Read {
                path: f.clone(),
                source,
            })?;
            out.push((f.display().to_string(), text));
        }
    }
    Ok(out)
}

/// Address variables for rules from the config's `[vars]` (negated
/// entries cannot be expressed in a rule variable and are left out with a
/// warning).
fn rule_vars(cfg: &crate::config::Config) -> std::collections::HashMap<String, Vec<ipnet::IpNet>> {
    let mut vars = std::collections::HashMap::new();
    // The shipped pack's variables, so a configuration without them still
    // loads: empty host lists (every "not from X" rule then applies to
    // every host) and an OT network of everything.
    for v in ["ENGINEERING_WS", "SCADA_HOSTS", "HMI_HOSTS"] {
        vars.insert(v.to_string(), Vec::new());
    }
    vars.insert(
        "OT_NET".to_string(),
        vec![
            "0.0.0.0/0".parse().unwrap_or_else(|_| unreachable!()),
            "::/0".parse().unwrap_or_else(|_| unreachable!()),
        ],
    );
    for (name, entries) in &cfg.vars {
        let mut v = Vec::new();
        for e in entries {
            let t = e.get_ref().trim();
            if t.starts_with('!') {
                tracing::warn!("vars.{name}: negated entry `{t}` is not used by behaviour rules");
                continue;
            }
            if let Ok(n) = t.parse::<ipnet::IpNet>() {
                v.push(n);
            } else if let Ok(a) = t.parse::<IpAddr>() {
                v.push(ipnet::IpNet::from(a));
            }
        }
        vars.insert(name.clone(), v);
    }
    vars
}

/// Load the shipped packs (minus the disabled ones), the config's rule
/// directories and `extra_dirs`.
pub fn load_rules(
    cfg: &crate::config::Config,
    extra_dirs: &[PathBuf],
) -> Result<RuleSet, SetupError> {
    let mut b = RuleSet::builder();
    for (pack, file, text) in rules::packs::BUILTIN {
        b.add_source(&rules::packs::source_name(pack, file), text);
    }
    for p in &cfg.rules.disable_packs {
        b.disable_pack(p);
    }
    for id in &cfg.rules.disable_ids {
        b.disable_rule(*id);
    }
    let mut dirs = cfg.rules.dirs.clone();
    dirs.extend(extra_dirs.iter().cloned());
    for (name, text) in rule_files(&dirs)? {
        b.add_source(&name, &text);
    }
    b.vars(rule_vars(cfg));
    b.utc_offset(crate::config::parse_utc_offset(&cfg.rules.utc_offset).unwrap_or(0));
    b.build()
        .map_err(|errs| SetupError::Rules(errs.iter().map(|e| e.to_string()).collect()))
}

/// Where a state file lives: relative paths are in the log directory.
pub fn state_path(cfg: &crate::config::Config, p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cfg.output.log_dir.join(p)
    }
}

/// Everything the OT stage starts from. `persist`: keep the inventory in
/// its file (live capture); the baseline is kept whenever it is on.
pub fn init(
    cfg: &crate::config::Config,
    extra_dirs: &[PathBuf],
    persist: bool,
) -> Result<OtInit, SetupError> {
    let rules = Arc::new(load_rules(cfg, extra_dirs)?);
    let baseline = match cfg.baseline.mode.as_str() {
        "off" => None,
        m => {
            let mode = if m == "enforce" {
                rules::baseline::Mode::Enforce
            } else {
                rules::baseline::Mode::LearnFor {
                    duration_ns: cfg.baseline.learn_for.saturating_mul(1_000_000_000),
                }
            };
            let bc = rules::baseline::BaselineConfig {
                mode,
                ..Default::default()
            };
            let path = state_path(cfg, &cfg.baseline.file);
            let b = if path.exists() {
                Baseline::load(&path, bc).map_err(|e| SetupError::State(e.to_string()))?
            } else {
                Baseline::new(bc)
            };
            Some((b, path))
        }
    };
    let assets = if cfg.assets.enabled {
        let ic = crate::assets::InventoryConfig {
            max_assets: cfg.assets.max_assets,
            ..Default::default()
        };
        let path = (persist && !cfg.assets.file.as_os_str().is_empty())
            .then(|| state_path(cfg, &cfg.assets.file));
        let inv = match &path {
            Some(p) if p.exists() => {
                Inventory::load(p, ic).map_err(|e| SetupError::State(e.to_string()))?
            }
            _ => Inventory::new(ic),
        };
        Some((inv, path))
    } else {
        None
    };
    Ok(OtInit {
        rules,
        baseline,
        assets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A Modbus read from 10.0.0.`c` to 10.0.0.`c + 1`, ordered at `order`.
    fn read(c: u8, order: u64) -> OtMsg {
        OtMsg::Op(OpMsg {
            op: Op::new(
                "modbus",
                "read_holding_registers",
                3,
                rules::ot::OpClass::Read,
            ),
            ctx: Ctx {
                ts_ns: order,
                src: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, c))),
                dst: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, c + 1))),
                sport: 40_000,
                dport: 502,
                src_mac: None,
                dst_mac: None,
                flow_id: c as u64,
            },
            l4: 6,
            app_proto: "modbus",
            pcap_cnt: order,
            order_ns: order,
            tx_id: Some(0),
        })
    }

    /// A replay stage with an inventory and no rules: its input, its
    /// records, its thread.
    fn ordered_stage(
        workers: usize,
        max_held: usize,
    ) -> (Sender<OtBatch>, Receiver<OutChunk>, JoinHandle<OtReport>) {
        let (out, records) = crossbeam_channel::unbounded();
        let (tx, rx) = crossbeam_channel::unbounded();
        let stage = spawn(
            OtSetup {
                rules: Arc::new(RuleSet::empty()),
                baseline: None,
                assets: Some((
                    Inventory::new(crate::assets::InventoryConfig::default()),
                    None,
                )),
                out,
                metrics: Metrics::new(),
                alerts: false,
                ordered: true,
                workers,
                max_held,
            },
            rx,
        )
        .unwrap();
        (tx, records, stage)
    }

    /// The IPs of new-asset records written so far; with `want > 0`, wait
    /// (at most 5 s) until there are that many.
    fn new_ips(records: &Receiver<OutChunk>, want: usize) -> Vec<String> {
        let mut ips = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while want == 0 || ips.len() < want {
            let chunk = if want > 0 {
                records.recv_deadline(deadline).ok()
            } else {
                records.try_recv().ok()
            };
            let Some(chunk) = chunk else { break };
            for l in chunk.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                if v["asset"]["event"] == "new" {
                    ips.push(v["asset"]["ip"].as_str().unwrap().to_string());
                }
            }
        }
        ips
    }

    fn batch(worker: usize, low_water_ns: u64, msgs: Vec<OtMsg>) -> OtBatch {
        OtBatch {
            worker,
            low_water_ns,
            msgs,
        }
    }

    /// Replay's stage handles what both workers' marks allow while they are
    /// still sending, in order across workers, and the rest at the end: the
    /// inventory's new-asset records come out by order time.
    #[test]
    fn the_ordered_stage_releases_below_the_lowest_mark_as_it_goes() {
        let (tx, records, stage) = ordered_stage(2, ORDERED_MAX);
        // Worker 0 is at 20, worker 1 has sent nothing: nothing may go.
        tx.send(batch(0, 20, vec![read(1, 10)])).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            new_ips(&records, 0).is_empty(),
            "released before worker 1 reported"
        );
        // Worker 1 at 30: everything below 20 goes, worker 1's op first.
        tx.send(batch(1, 30, vec![read(3, 5), read(5, 25)]))
            .unwrap();
        assert_eq!(
            new_ips(&records, 4),
            ["10.0.0.3", "10.0.0.4", "10.0.0.1", "10.0.0.2"],
            "handled below the lowest mark, by order time, before the end"
        );
        tx.send(batch(0, u64::MAX, vec![read(7, 22)])).unwrap();
        tx.send(batch(1, u64::MAX, vec![])).unwrap();
        drop(tx);
        let report = stage.join().unwrap();
        assert_eq!(report.ops, 4);
        assert_eq!(
            new_ips(&records, 0),
            ["10.0.0.7", "10.0.0.8", "10.0.0.5", "10.0.0.6"]
        );
    }

    /// A mark that never moves (a worker silent to the end) does not let
    /// the held messages grow without bound: past `max_held` the oldest
    /// half is handled, in order.
    #[test]
    fn a_stuck_mark_still_bounds_what_the_stage_holds() {
        let (tx, records, stage) = ordered_stage(2, 8);
        // Worker 1 never reports; worker 0 sends 20 ops, newest first.
        for i in 0..20u8 {
            tx.send(batch(0, 1000, vec![read(2 * (20 - i), 100 - u64::from(i))]))
                .unwrap();
        }
        let early = new_ips(&records, 8);
        assert_eq!(early.len(), 8, "nothing handled before the end: {early:?}");
        // The oldest of the first eight held (ordered 100 down to 93) came
        // first: ordered 93, from 10.0.0.26.
        assert_eq!(early[..2], ["10.0.0.26", "10.0.0.27"]);
        drop(tx);
        assert_eq!(stage.join().unwrap().ops, 20);
        assert_eq!(early.len() + new_ips(&records, 0).len(), 40);
    }
}
