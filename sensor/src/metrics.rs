//! Every metric the sensor exports, named in one place.
//!
//! Naming: `sensor_<stage>_<what>_<unit>[_total]`; labels are bounded
//! (stage, reason, kind, proto, severity, source, output, worker). Workers
//! count in plain local integers and add them here once per batch, so the
//! packet path never touches a shared atomic.

use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType, Quantile, Summary};
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use crate::decode::Anomaly;
use crate::proto::AppProto;

/// Packet-to-alert latency, in microseconds, shared by the workers.
#[derive(Clone)]
pub struct Latency {
    hist: Arc<Mutex<Histogram<u64>>>,
    desc: Desc,
}

impl Latency {
    fn new() -> Latency {
        // 1 µs .. 1 hour, 3 significant digits. The bounds are constants.
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()));
        Latency {
            hist: Arc::new(Mutex::new(hist)),
            desc: Desc::new(
                "sensor_alert_latency_seconds".into(),
                "Time from reading a packet to emitting the alert it caused".into(),
                vec![],
                Default::default(),
            )
            .unwrap_or_else(|_| unreachable!("constant metric description")),
        }
    }

    /// Fold a worker's local histogram in.
    pub fn merge(&self, local: &mut Histogram<u64>) {
        if local.is_empty() {
            return;
        }
        if let Ok(mut h) = self.hist.lock() {
            let _ = h.add(&*local);
        }
        local.reset();
    }

    /// (count, p50, p99, max) in microseconds.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        match self.hist.lock() {
            Ok(h) => (
                h.len(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.max(),
            ),
            Err(_) => (0, 0, 0, 0),
        }
    }
}

impl Collector for Latency {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok(h) = self.hist.lock() else {
            return vec![];
        };
        let mut s = Summary::default();
        s.set_sample_count(h.len());
        s.set_sample_sum(h.mean() * h.len() as f64 / 1e6);
        let qs = [0.5, 0.9, 0.99, 0.999]
            .iter()
            .map(|&q| {
                let mut x = Quantile::default();
                x.set_quantile(q);
                x.set_value(h.value_at_quantile(q) as f64 / 1e6);
                x
            })
            .collect();
        s.set_quantile(qs);
        let mut m = prometheus::proto::Metric::default();
        m.set_summary(s);
        let mut f = MetricFamily::default();
        f.set_name("sensor_alert_latency_seconds".into());
        f.set_help(self.desc.help.clone());
        f.set_field_type(MetricType::SUMMARY);
        f.set_metric(vec![m]);
        vec![f]
    }
}

/// All the sensor's metrics.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub capture_packets: IntCounter,
    pub capture_bytes: IntCounter,
    pub capture_dropped: IntCounterVec,
    pub worker_packets: IntCounterVec,
    pub worker_bytes: IntCounterVec,
    pub anomalies: IntCounterVec,
    pub flows_active: IntGauge,
    pub flows_created: IntCounter,
    pub flows_ended: IntCounterVec,
    pub flows_evicted: IntCounter,
    pub stream_events: IntCounterVec,
    pub defrag_events: IntCounterVec,
    pub app_flows: IntCounterVec,
    pub app_events: IntCounterVec,
    pub alerts: IntCounterVec,
    pub output_records: IntCounterVec,
    pub output_bytes: IntCounterVec,
    pub output_dropped: IntCounterVec,
    pub ioc_indicators: IntGaugeVec,
    pub ioc_skipped_lines: IntCounter,
    pub kernel_ioc_events: IntCounterVec,
    pub capture_info: IntGaugeVec,
    pub xsk_fill_empty: IntCounter,
    pub bypass_flows: IntCounterVec,
    pub ot_ops: IntCounterVec,
    pub assets: IntGaugeVec,
    pub latency: Latency,
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    c
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    c
}

impl Metrics {
    /// Build and register every metric. Names and labels are constants, so
    /// a failure here is a programming error caught by the unit test.
    pub fn new() -> Metrics {
        let r = Registry::new();
        let flows_active = IntGauge::new("sensor_flow_active", "Flows currently tracked")
            .unwrap_or_else(|e| panic!("{e}"));
        r.register(Box::new(flows_active.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        let ioc_indicators = IntGaugeVec::new(
            Opts::new("sensor_ioc_indicators", "Indicators loaded, by type"),
            &["kind"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        r.register(Box::new(ioc_indicators.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        let latency = Latency::new();
        r.register(Box::new(latency.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        let m = Metrics {
            capture_packets: counter(
                &r,
                "sensor_capture_packets_total",
                "Packets read from the capture source",
            ),
            capture_bytes: counter(
                &r,
                "sensor_capture_bytes_total",
                "Bytes read from the capture source",
            ),
            capture_dropped: counter_vec(
                &r,
                "sensor_capture_dropped_packets_total",
                "Packets the capture stage did not pass on, by reason",
                &["reason"],
            ),
            worker_packets: counter_vec(
                &r,
                "sensor_worker_packets_total",
                "Packets processed by each worker",
                &["worker"],
            ),
            worker_bytes: counter_vec(
                &r,
                "sensor_worker_bytes_total",
                "Bytes processed by each worker",
                &["worker"],
            ),
            anomalies: counter_vec(
                &r,
                "sensor_decode_anomalies_total",
                "Malformed or truncated packets, by kind",
                &["kind"],
            ),
            flows_active,
            flows_created: counter(&r, "sensor_flow_created_total", "Flows created"),
            flows_ended: counter_vec(
                &r,
                "sensor_flow_ended_total",
                "Flows ended, by reason",
                &["reason"],
            ),
            flows_evicted: counter(
                &r,
                "sensor_flow_evicted_total",
                "Flows evicted because the flow table was full",
            ),
            stream_events: counter_vec(
                &r,
                "sensor_stream_events_total",
                "TCP reassembly events, by kind",
                &["kind"],
            ),
            defrag_events: counter_vec(
                &r,
                "sensor_defrag_events_total",
                "IP fragment reassembly events, by kind",
                &["kind"],
            ),
            app_flows: counter_vec(
                &r,
                "sensor_app_flows_total",
                "Flows by detected application protocol",
                &["proto"],
            ),
            app_events: counter_vec(
                &r,
                "sensor_app_events_total",
                "Application-layer events, by protocol",
                &["proto"],
            ),
            alerts: counter_vec(
                &r,
                "sensor_alerts_total",
                "Alerts raised, by severity and source",
                &["severity", "source"],
            ),
            output_records: counter_vec(
                &r,
                "sensor_output_records_total",
                "EVE records written, by output",
                &["output"],
            ),
            output_bytes: counter_vec(
                &r,
                "sensor_output_bytes_total",
                "EVE bytes written, by output",
                &["output"],
            ),
            output_dropped: counter_vec(
                &r,
                "sensor_output_dropped_records_total",
                "EVE records lost, by output and reason",
                &["output", "reason"],
            ),
            ioc_indicators,
            ioc_skipped_lines: counter(
                &r,
                "sensor_ioc_skipped_lines_total",
                "IOC file lines skipped as invalid or not observable",
            ),
            kernel_ioc_events: counter_vec(&r, "sensor_kernel_ioc_events_total", "IOC hit events from the XDP program: alerted, or suppressed as a repeat within a minute", &["result"]),
            capture_info: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "sensor_capture_info",
                        "Capture sockets in use (value 1): interface, rx queue, mechanism (af_xdp, afpacket, pcap), af_xdp bind mode (zerocopy, copy) and XDP attach mode (native, generic, none)",
                    ),
                    &["iface", "queue", "mechanism", "bind", "xdp"],
                )
                .unwrap_or_else(|e| panic!("metric sensor_capture_info: {e}"));
                r.register(Box::new(g.clone()))
                    .unwrap_or_else(|e| panic!("metric sensor_capture_info: {e}"));
                g
            },
            xsk_fill_empty: counter(
                &r,
                "sensor_xsk_fill_ring_empty_total",
                "Times the driver found an AF_XDP fill ring empty (userspace returned frames too slowly)",
            ),
            bypass_flows: counter_vec(
                &r,
                "sensor_bypass_flows_total",
                "Flows matched by the bypass allowlist: requested (sent to the kernel path), not_requested (no kernel path or queue full), inserted / failed (kernel map), expired (idle)",
                &["result"],
            ),
            ot_ops: counter_vec(
                &r,
                "sensor_ot_operations_total",
                "OT operations decoded, by protocol and class (read, write, command, mode_change, download, upload, restart, discovery, ...)",
                &["proto", "class"],
            ),
            assets: {
                let g = IntGaugeVec::new(
                    Opts::new("sensor_assets", "Assets in the passive inventory, by inferred role"),
                    &["role"],
                )
                .unwrap_or_else(|e| panic!("metric sensor_assets: {e}"));
                r.register(Box::new(g.clone()))
                    .unwrap_or_else(|e| panic!("metric sensor_assets: {e}"));
                g
            },
            latency,
            registry: r,
        };
        // Pre-create label values so a scrape shows zeros, not absences.
        for a in Anomaly::ALL {
            m.anomalies.with_label_values(&[a.as_str()]);
        }
        for p in AppProto::ALL {
            m.app_flows.with_label_values(&[p.as_str()]);
        }
        for r in ["ring_full", "unsupported_link_type", "input_error"] {
            m.capture_dropped.with_label_values(&[r]);
        }
        for r in ["timeout", "forced", "shutdown"] {
            m.flows_ended.with_label_values(&[r]);
        }
        m
    }

    /// Prometheus text exposition of everything.
    pub fn render(&self) -> String {
        let enc = prometheus::TextEncoder::new();
        enc.encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encode error: {e}\n"))
    }

    /// Sum of a counter vec over all label values.
    pub fn sum(vec: &IntCounterVec) -> u64 {
        vec.collect()
            .iter()
            .flat_map(|f| f.get_metric().iter())
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serve `/metrics` (Prometheus text) and `/healthz` on `addr` from a
/// background thread. Fails when the address cannot be bound.
///
/// The server (and the threads it starts itself) run without capabilities:
/// the thread drops them before it binds, so binding a port below 1024
/// fails.
pub fn serve(addr: &str, metrics: Metrics) -> std::io::Result<std::net::SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    let addr = addr.to_string();
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let _ = crate::privs::drop_thread_capabilities();
            let server = match tiny_http::Server::http(addr.as_str()) {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::new(
                        std::io::ErrorKind::AddrNotAvailable,
                        format!("cannot listen: {e}"),
                    )));
                    return;
                }
            };
            match server.server_addr().to_ip() {
                Some(a) => {
                    let _ = tx.send(Ok(a));
                }
                None => {
                    let _ = tx.send(Err(std::io::Error::other("not an IP listener")));
                    return;
                }
            }
            for req in server.incoming_requests() {
                let (status, body, ctype) = match req.url() {
                    "/metrics" => (200, metrics.render(), "text/plain; version=0.0.4"),
                    "/healthz" => (200, "ok\n".to_string(), "text/plain"),
                    _ => (
                        404,
                        "not found: try /metrics or /healthz\n".to_string(),
                        "text/plain",
                    ),
                };
                let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
                if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes())
                {
                    resp.add_header(h);
                }
                let _ = req.respond(resp);
            }
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the metrics thread ended before listening"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_builds_and_renders() {
        let m = Metrics::new();
        m.capture_packets.inc_by(3);
        m.alerts.with_label_values(&["1", "ioc"]).inc();
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.record(250).unwrap();
        m.latency.merge(&mut h);
        let text = m.render();
        assert!(text.contains("sensor_capture_packets_total 3"), "{text}");
        assert!(text.contains("sensor_alerts_total{severity=\"1\",source=\"ioc\"} 1"));
        assert!(
            text.contains("sensor_alert_latency_seconds{quantile=\"0.5\"} 0.00025"),
            "{text}"
        );
        assert!(text.contains("sensor_decode_anomalies_total{kind="));
    }

    fn get(addr: std::net::SocketAddr, path: &str) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_health_over_http() {
        let m = Metrics::new();
        m.flows_created.inc_by(7);
        let addr = serve("127.0.0.1:0", m.clone()).unwrap();
        let r = get(addr, "/metrics");
        assert!(
            r.starts_with("HTTP/1.1 200") || r.starts_with("HTTP/1.0 200"),
            "{r}"
        );
        assert!(r.contains("sensor_flow_created_total 7"), "{r}");
        m.flows_created.inc();
        assert!(get(addr, "/metrics").contains("sensor_flow_created_total 8"));
        assert!(get(addr, "/healthz").contains("ok"));
        assert!(get(addr, "/nope").contains("404"));
        assert!(serve("256.0.0.1:1", m).is_err());
    }
}
