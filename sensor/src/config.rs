//! The one configuration file (TOML). Every section rejects unknown keys;
//! errors name the file, line and column. With no file the built-in
//! defaults apply (`sensor config default` prints them).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// Built-in default configuration, with every key documented.
pub const DEFAULT_TOML: &str = include_str!("../../deploy/sensor.toml");

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Whole-file configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address groups usable by rules, e.g. `HOME_NET = ["10.0.0.0/8"]`.
    /// Each entry is an address or CIDR, optionally negated with `!`.
    pub vars: BTreeMap<String, Vec<Spanned<String>>>,
    pub capture: CaptureConfig,
    pub flow: FlowConfig,
    pub stream: StreamConfig,
    pub defrag: DefragConfig,
    pub app_layer: AppLayerConfig,
    pub ioc: IocConfig,
    pub bypass: BypassConfig,
    pub rules: RulesConfig,
    pub baseline: BaselineSection,
    pub assets: AssetsConfig,
    pub output: OutputConfig,
    pub metrics: MetricsConfig,
}

/// Behaviour rules (YAML, see `rules/BEHAVIOUR.md`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Directories of the site's own rule files (`*.yaml`); `--rules-dir`
    /// adds more.
    pub dirs: Vec<PathBuf>,
    /// Shipped packs to turn off (e.g. `["ot"]`).
    pub disable_packs: Vec<String>,
    /// Rule ids to turn off.
    pub disable_ids: Vec<u32>,
    /// Offset of the site's local time from UTC for `when:` windows,
    /// `+HH:MM` or `-HH:MM`.
    pub utc_offset: String,
}

/// Learned baseline of OT communication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineSection {
    /// `off`, `learn` (for `learn_for` seconds of traffic, then enforce)
    /// or `enforce`.
    pub mode: String,
    /// Length of the learning period in seconds of packet time.
    pub learn_for: u64,
    /// Where the baseline is kept across restarts (relative: in the log
    /// directory).
    pub file: PathBuf,
}

impl Default for BaselineSection {
    fn default() -> Self {
        BaselineSection {
            mode: "off".into(),
            learn_for: 7 * 24 * 3600,
            file: PathBuf::from("baseline.json"),
        }
    }
}

/// Passive asset inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssetsConfig {
    pub enabled: bool,
    /// Where the inventory is kept across restarts (relative: in the log
    /// directory); empty: not kept.
    pub file: PathBuf,
    /// Most assets tracked.
    pub max_assets: usize,
}

impl Default for AssetsConfig {
    fn default() -> Self {
        AssetsConfig {
            enabled: true,
            file: PathBuf::from("assets.json"),
            max_assets: 10_000,
        }
    }
}

/// `+HH:MM` / `-HH:MM` / `Z` / empty as seconds east of UTC.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.is_empty() || s == "Z" || s == "UTC" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// Flow bypass: flows that need no further inspection are dropped in the
/// kernel by the XDP program (`--capture xdp`/`auto`) instead of being
/// copied to userspace; other capture modes only stop inspecting them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BypassConfig {
    /// TLS server names whose flows are bypassed once the handshake is
    /// logged: exact names or `*.suffix` (any subdomain).
    pub tls_sni: Vec<String>,
    /// Seconds without a packet after which a kernel bypass entry expires.
    pub idle_timeout: u64,
}

impl Default for BypassConfig {
    fn default() -> Self {
        BypassConfig {
            tls_sni: Vec::new(),
            idle_timeout: 60,
        }
    }
}

impl BypassConfig {
    /// Does `sni` match the allowlist?
    pub fn tls_matches(&self, sni: &str) -> bool {
        self.tls_sni.iter().any(|p| match p.strip_prefix("*.") {
            Some(suffix) => {
                sni.len() > suffix.len() + 1
                    && sni.ends_with(suffix)
                    && sni.as_bytes()[sni.len() - suffix.len() - 1] == b'.'
            }
            None => p.eq_ignore_ascii_case(sni),
        })
    }
}

/// Capture and hand-off to workers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Packets per batch handed from the capture thread to a worker.
    pub batch_size: usize,
    /// Batches each worker's ring holds before the hand-off waits (replay)
    /// or drops (live).
    pub ring_batches: usize,
}

/// Flow table bounds and per-state timeouts (seconds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Most flows tracked at once (over all workers); past it the stalest
    /// flow is evicted and counted.
    pub max_flows: usize,
    pub tcp_new_timeout: u64,
    pub tcp_established_timeout: u64,
    pub tcp_closed_timeout: u64,
    pub udp_new_timeout: u64,
    pub udp_established_timeout: u64,
    pub icmp_timeout: u64,
    pub other_timeout: u64,
}

/// TCP reassembly bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Out-of-order bytes held per direction of a connection.
    pub max_buffered_bytes: usize,
    /// Out-of-order segments held per direction.
    pub max_segments: usize,
}

/// IP fragment reassembly bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Seconds an incomplete datagram is kept.
    pub timeout: u64,
}

/// Application-layer parsers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppLayerConfig {
    pub dns: bool,
    pub http: bool,
    pub tls: bool,
    /// The OT protocols (Modbus, DNP3, IEC-104, S7, MMS, ENIP, BACnet,
    /// OPC UA, GOOSE, PROFINET, FINS, HART-IP, Fox, C37.118).
    pub ot: bool,
    /// Bytes per direction inspected to recognise a protocol before the
    /// flow is marked `failed` and reassembly stops.
    pub probe_limit: usize,
}

/// Indicator feeds.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IocConfig {
    /// Plain lists or CSV/TSV files; `--ioc` adds more.
    pub files: Vec<PathBuf>,
    /// Refuse to start when any line is invalid (else: skip and report).
    pub strict: bool,
}

/// EVE output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Directory for `eve.json` when `eve` is relative or unset.
    pub log_dir: PathBuf,
    /// EVE file name or path; `-` is standard output.
    pub eve: String,
    /// Record types to write.
    pub types: EveTypes,
    /// Records queued between workers and the writer.
    pub queue: usize,
}

/// Which EVE record types are written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EveTypes {
    pub alert: bool,
    pub flow: bool,
    pub dns: bool,
    pub http: bool,
    pub tls: bool,
    /// OT protocol records (modbus, dnp3, iec104, s7comm, enip, ...).
    pub ot: bool,
    pub anomaly: bool,
}

/// Prometheus endpoint.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Listen address for `/metrics` and `/healthz`; empty disables it.
    /// `sensor replay` serves metrics only when `--metrics-addr` is given.
    pub addr: String,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            workers: 0,
            batch_size: 256,
            ring_batches: 32,
        }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            tcp_new_timeout: 60,
            tcp_established_timeout: 600,
            tcp_closed_timeout: 60,
            udp_new_timeout: 30,
            udp_established_timeout: 300,
            icmp_timeout: 30,
            other_timeout: 30,
        }
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_buffered_bytes: 256 * 1024,
            max_segments: 256,
        }
    }
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            timeout: 60,
        }
    }
}

impl Default for AppLayerConfig {
    fn default() -> Self {
        AppLayerConfig {
            dns: true,
            http: true,
            tls: true,
            ot: true,
            probe_limit: 2048,
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            log_dir: PathBuf::from("."),
            eve: "eve.json".into(),
            types: EveTypes::default(),
            queue: 1024,
        }
    }
}

impl Default for EveTypes {
    fn default() -> Self {
        EveTypes {
            alert: true,
            flow: true,
            dns: true,
            http: true,
            tls: true,
            ot: true,
            anomaly: true,
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Config {
    /// Parse and validate configuration text; `name` is used in errors.
    pub fn from_str(name: &str, text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let message = match e.span() {
                Some(span) => format!("line {}: {}", line_of(text, span.start), e.message()),
                None => e.message().to_string(),
            };
            ConfigError::Parse {
                path: name.to_string(),
                message,
            }
        })?;
        cfg.validate(name, text)?;
        Ok(cfg)
    }

    /// Read, parse and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_str(&path.display().to_string(), &text)
    }

    fn validate(&self, name: &str, text: &str) -> Result<(), ConfigError> {
        let invalid = |offset: usize, message: String| ConfigError::Invalid {
            path: name.to_string(),
            line: line_of(text, offset),
            message,
        };
        for (var, entries) in &self.vars {
            if !var
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                let at = text.find(var.as_str()).unwrap_or(0);
                return Err(invalid(
                    at,
                    format!("variable name `{var}`: use upper-case letters, digits and `_` (e.g. OT_NET)"),
                ));
            }
            for e in entries {
                let v = e.get_ref().trim();
                let body = v.strip_prefix('!').unwrap_or(v);
                if parse_net(body).is_none() {
                    return Err(invalid(
                        e.span().start,
                        format!("vars.{var}: `{v}` is not an IP address or CIDR (e.g. 10.0.0.0/8)"),
                    ));
                }
            }
        }
        let pos = |key: &str| text.find(key).unwrap_or(0);
        for p in &self.bypass.tls_sni {
            let body = p.strip_prefix("*.").unwrap_or(p);
            if body.is_empty()
                || body.contains('*')
                || !body
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_')
            {
                return Err(invalid(
                    text.find(p.as_str()).unwrap_or(0),
                    format!("bypass.tls_sni: `{p}` is not a host name or `*.suffix`"),
                ));
            }
        }
        if parse_utc_offset(&self.rules.utc_offset).is_none() {
            return Err(invalid(
                pos("utc_offset"),
                format!(
                    "rules.utc_offset: `{}` is not an offset like +09:00 or -05:00",
                    self.rules.utc_offset
                ),
            ));
        }
        if !matches!(self.baseline.mode.as_str(), "off" | "learn" | "enforce") {
            return Err(invalid(
                pos("mode"),
                format!(
                    "baseline.mode: `{}` is not one of off, learn, enforce",
                    self.baseline.mode
                ),
            ));
        }
        if self.bypass.idle_timeout == 0 {
            return Err(invalid(
                pos("idle_timeout"),
                "bypass.idle_timeout must be at least 1 second".into(),
            ));
        }
        if self.capture.batch_size == 0 || self.capture.batch_size > 4096 {
            return Err(invalid(
                pos("batch_size"),
                "capture.batch_size must be between 1 and 4096".into(),
            ));
        }
        if self.capture.ring_batches == 0 {
            return Err(invalid(
                pos("ring_batches"),
                "capture.ring_batches must be at least 1".into(),
            ));
        }
        if self.capture.workers > 256 {
            return Err(invalid(
                pos("workers"),
                "capture.workers must be at most 256".into(),
            ));
        }
        if self.flow.max_flows < 1024 {
            return Err(invalid(
                pos("max_flows"),
                "flow.max_flows must be at least 1024".into(),
            ));
        }
        if self.output.queue == 0 {
            return Err(invalid(
                pos("queue"),
                "output.queue must be at least 1".into(),
            ));
        }
        if !self.metrics.addr.is_empty() && self.metrics.addr.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                pos("addr"),
                format!(
                    "metrics.addr `{}` is not HOST:PORT (e.g. 127.0.0.1:9477)",
                    self.metrics.addr
                ),
            ));
        }
        Ok(())
    }

    /// Worker count with 0 resolved to the number of cores.
    pub fn workers(&self) -> usize {
        if self.capture.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.capture.workers
        }
    }
}

/// An address or CIDR.
pub fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    match s.split_once('/') {
        Some((a, l)) => {
            let a: IpAddr = a.parse().ok()?;
            let l: u8 = l.parse().ok()?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            (l <= max).then_some((a, l))
        }
        None => {
            let a: IpAddr = s.parse().ok()?;
            Some((a, if a.is_ipv4() { 32 } else { 128 }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_parses_and_matches_builtin_defaults() {
        let c = Config::from_str("default", DEFAULT_TOML).unwrap();
        let d = Config::default();
        assert_eq!(c.flow.max_flows, d.flow.max_flows);
        assert_eq!(c.capture.batch_size, d.capture.batch_size);
        assert_eq!(c.app_layer.probe_limit, d.app_layer.probe_limit);
        assert!(c.vars.contains_key("HOME_NET"));
    }

    #[test]
    fn unknown_key_names_line() {
        let e = Config::from_str("site.toml", "[flow]\nmax_flows = 5000\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("site.toml: line 3:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn bad_var_names_line() {
        let e = Config::from_str(
            "site.toml",
            "[vars]\nHOME_NET = [\"10.0.0.0/8\",\n  \"10.1.2.300\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("site.toml:3:"), "{e}");
        assert!(e.contains("10.1.2.300"), "{e}");
    }

    #[test]
    fn bad_values_rejected() {
        for (text, want) in [
            ("[capture]\nbatch_size = 0\n", "batch_size"),
            ("[metrics]\naddr = \"nope\"\n", "metrics.addr"),
            ("[flow]\nmax_flows = 10\n", "max_flows"),
            ("[flow]\nmax_flows = \"many\"\n", "line 2"),
        ] {
            let e = Config::from_str("x.toml", text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?} -> {e}");
        }
    }
}
