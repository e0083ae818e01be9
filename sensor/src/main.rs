//! `sensor`: the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use rules::ioc::{IocSet, IocSetBuilder};

use sensor::capture::file::FileError;
use sensor::config::{Config, DEFAULT_TOML};
use sensor::metrics::Metrics;
use sensor::output::EveTarget;
use sensor::pipeline::{self, RunSpec};

/// Exit codes (also in `--help`).
mod exit {
    /// Bad usage, configuration, IOC file in strict mode, or an input file
    /// that cannot be read at all (missing, not a capture, unknown link type).
    pub const BAD_INPUT: u8 = 2;
    /// The run finished but part of an input was unreadable (truncated file,
    /// corrupt record): everything before the damage was processed.
    pub const PARTIAL_INPUT: u8 = 3;
    /// Anything else went wrong at run time (e.g. the EVE file could not be
    /// written).
    pub const RUNTIME: u8 = 1;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  run-time failure (e.g. the EVE output could not be written)
  2  bad usage, configuration or IOC file (strict), or an input file that
     cannot be read at all (missing, not pcap/pcapng, unsupported link type)
  3  finished, but part of an input was unreadable (truncated file, corrupt
     record length): everything before the damage was processed

Examples:
  sensor replay capture.pcap --ioc iocs.txt --eve -
  sensor run -i ens5f1 --ioc iocs.txt --eve /var/log/sensor/eve.json
  sensor replay a.pcapng b.pcap --workers 4 --eve /var/log/sensor/eve.json
  sensor ioc check feeds/*.txt
  sensor config check /etc/sensor/sensor.toml";

/// Passive network sensor for OT/ICS and enterprise traffic: decodes
/// traffic, tracks flows, matches IOC feeds and writes Suricata EVE JSON.
#[derive(Parser)]
#[command(name = "sensor", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read pcap/pcapng files through the same pipeline live capture uses.
    Replay(ReplayArgs),
    /// Capture live from network interfaces until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Check or print the configuration file.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Load IOC files and report what was loaded and what was skipped.
    #[command(subcommand)]
    Ioc(IocCmd),
    /// Check behaviour rules (built-in packs, config and --rules-dir).
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Print the passive asset inventory (table, JSON or CSV).
    Assets(AssetsArgs),
    /// List, compare and approve the learned OT baseline.
    #[command(subcommand)]
    Baseline(BaselineCmd),
}

#[derive(Subcommand)]
enum RulesCmd {
    /// Load every rule and report the count per pack, or every error with
    /// FILE:LINE:COL (exit 2).
    Check {
        /// Configuration file (TOML) for [rules] and [vars].
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Directory of rule files; repeat for several.
        #[arg(long = "rules-dir", value_name = "DIR")]
        rules_dirs: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum AssetFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args, Debug)]
struct AssetsArgs {
    /// Inventory file (default: [assets] file of the configuration, in its
    /// log directory).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: AssetFormat,
}

#[derive(Subcommand)]
enum BaselineCmd {
    /// Print the learned entries and value ranges, and pending deviations.
    List {
        /// Baseline file (default: [baseline] file of the configuration).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// What OTHER has that FILE lacks, and the reverse.
    Diff {
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// The baseline to compare with.
        #[arg(value_name = "OTHER")]
        other: PathBuf,
    },
    /// Accept pending deviations into the baseline (all, or those of one
    /// client or protocol).
    Approve {
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Only deviations of this client address.
        #[arg(long, value_name = "IP")]
        client: Option<std::net::IpAddr>,
        /// Only deviations of this protocol.
        #[arg(long, value_name = "PROTO")]
        proto: Option<String>,
    },
}

/// Options shared by replay and live capture.
#[derive(Args, Debug)]
struct CommonArgs {
    /// Configuration file (TOML). Without it the built-in defaults apply.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// EVE JSON output file; `-` for standard output. Default: eve.json in
    /// the log directory.
    #[arg(long, value_name = "PATH")]
    eve: Option<String>,
    /// Directory for outputs given as relative names.
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// IOC file (plain list or CSV/TSV); repeat for several.
    #[arg(long = "ioc", value_name = "FILE")]
    ioc: Vec<PathBuf>,
    /// Fail on the first invalid IOC line instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'w', value_name = "N")]
    workers: Option<usize>,
    /// Serve Prometheus /metrics and /healthz here (replay: off unless given).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Directory of the site's own behaviour rules (*.yaml, see
    /// rules/BEHAVIOUR.md), loaded after the built-in packs; repeat for
    /// several.
    #[arg(long = "rules-dir", value_name = "DIR")]
    rules_dirs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// Capture files (pcap or pcapng), processed in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Interfaces to capture from (comma-separated or repeated), e.g. `-i ens5f1`.
    #[arg(
        long = "iface",
        short = 'i',
        required = true,
        value_delimiter = ',',
        value_name = "IFACE"
    )]
    ifaces: Vec<String>,
    /// Capture mechanism: auto picks the best that works and says why.
    #[arg(long, value_enum, default_value = "auto")]
    capture: pipeline::live::CaptureMode,
    /// Replace an XDP program another tool attached to the interface
    /// (refused otherwise).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// No summary on standard error at exit.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Parse and validate a configuration file.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the built-in default configuration (every key, documented).
    Default,
}

#[derive(Subcommand)]
enum IocCmd {
    /// Load IOC files, print counts by type and every skipped line.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Treat any invalid line as an error.
        #[arg(long)]
        strict: bool,
    },
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    err: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let err = e.into();
        let code = if err.downcast_ref::<FileError>().is_some() {
            exit::BAD_INPUT
        } else {
            exit::RUNTIME
        };
        Failure { code, err }
    }
}

fn bad_input(err: anyhow::Error) -> Failure {
    Failure {
        code: exit::BAD_INPUT,
        err,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SENSOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let r = match cli.cmd {
        Cmd::Replay(a) => replay(a),
        Cmd::Run(a) => run(a),
        Cmd::Config(ConfigCmd::Check { file }) => config_check(&file),
        Cmd::Config(ConfigCmd::Default) => {
            print!("{DEFAULT_TOML}");
            Ok(0)
        }
        Cmd::Ioc(IocCmd::Check { files, strict }) => ioc_check(&files, strict),
        Cmd::Rules(RulesCmd::Check { config, rules_dirs }) => {
            rules_check(config.as_deref(), &rules_dirs)
        }
        Cmd::Assets(a) => assets_cmd(a),
        Cmd::Baseline(b) => baseline_cmd(b),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    match path {
        Some(p) => Config::load(p).map_err(|e| bad_input(e.into())),
        None => Config::from_str("built-in default", DEFAULT_TOML).map_err(|e| bad_input(e.into())),
    }
}

fn rules_check(config: Option<&Path>, dirs: &[PathBuf]) -> Result<u8, Failure> {
    let cfg = load_config(config)?;
    let set = sensor::detect::ot::load_rules(&cfg, dirs).map_err(|e| bad_input(e.into()))?;
    let mut by_pack: std::collections::BTreeMap<String, usize> = Default::default();
    for r in set.rules() {
        *by_pack
            .entry(r.pack().unwrap_or("(site)").to_string())
            .or_default() += 1;
    }
    println!("rules: {} loaded", set.len());
    for (p, n) in by_pack {
        println!("  {p:<12} {n}");
    }
    Ok(0)
}

fn state_file(
    config: Option<&Path>,
    file: Option<PathBuf>,
    which: &str,
) -> Result<PathBuf, Failure> {
    if let Some(f) = file {
        return Ok(f);
    }
    let cfg = load_config(config)?;
    let p = match which {
        "assets" => &cfg.assets.file,
        _ => &cfg.baseline.file,
    };
    Ok(sensor::detect::ot::state_path(&cfg, p))
}

fn assets_cmd(a: AssetsArgs) -> Result<u8, Failure> {
    let path = state_file(a.config.as_deref(), a.file, "assets")?;
    let inv = sensor::assets::Inventory::load(&path, Default::default())
        .map_err(|e| bad_input(anyhow::anyhow!("{e}")))?;
    let stdout = std::io::stdout();
    let r = match a.format {
        AssetFormat::Table => return write_stdout(&inv.table()).map(|()| 0),
        AssetFormat::Json => inv.export_json(stdout.lock()),
        AssetFormat::Csv => inv.export_csv(stdout.lock()),
    };
    r.context("writing the inventory").map_err(|e| Failure {
        code: exit::RUNTIME,
        err: e,
    })?;
    Ok(0)
}

/// Print to standard output; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure {
            code: exit::RUNTIME,
            err: anyhow::Error::new(e).context("writing to standard output"),
        }),
        _ => Ok(()),
    }
}

fn baseline_cmd(b: BaselineCmd) -> Result<u8, Failure> {
    use rules::baseline::{Baseline, BaselineConfig};
    let load = |p: &Path| {
        Baseline::load(p, BaselineConfig::default()).map_err(|e| bad_input(anyhow::anyhow!("{e}")))
    };
    match b {
        BaselineCmd::List { file, config } => {
            let bl = load(&state_file(config.as_deref(), file, "baseline")?)?;
            use std::fmt::Write as _;
            let dash = |v: Option<u32>| v.map_or("-".into(), |u| u.to_string());
            let mut out = String::from("# entries (client server proto function unit count)\n");
            for e in bl.list() {
                let _ = writeln!(
                    out,
                    "{} {} {} {} {} {}",
                    e.client,
                    e.server,
                    e.proto,
                    e.function,
                    dash(e.unit),
                    e.count
                );
            }
            out.push_str("# value ranges (server proto function unit address min max)\n");
            for r in bl.list_ranges() {
                let _ = writeln!(
                    out,
                    "{} {} {} {} {} {} {}",
                    r.server,
                    r.proto,
                    r.function,
                    dash(r.unit),
                    dash(r.address),
                    r.min,
                    r.max
                );
            }
            out.push_str("# pending deviations\n");
            for p in bl.pending() {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&p.deviation).unwrap_or_default()
                );
            }
            write_stdout(&out)?;
            Ok(0)
        }
        BaselineCmd::Diff {
            file,
            config,
            other,
        } => {
            let a = load(&state_file(config.as_deref(), file, "baseline")?)?;
            let o = load(&other)?;
            let d = a.diff(&o);
            println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
            Ok(if d.is_empty() { 0 } else { 1 })
        }
        BaselineCmd::Approve {
            file,
            config,
            client,
            proto,
        } => {
            let path = state_file(config.as_deref(), file, "baseline")?;
            let mut bl = load(&path)?;
            let rep = bl.approve_where(|d| {
                client.is_none_or(|c| d.client == c)
                    && proto.as_deref().is_none_or(|p| d.proto == p)
            });
            bl.save(&path)
                .map_err(|e| bad_input(anyhow::anyhow!("{e}")))?;
            println!("{}", serde_json::to_string(&rep).unwrap_or_default());
            Ok(0)
        }
    }
}

fn config_check(file: &Path) -> Result<u8, Failure> {
    let c = load_config(Some(file))?;
    println!(
        "{}: OK ({} address variables, {} IOC files, workers {})",
        file.display(),
        c.vars.len(),
        c.ioc.files.len(),
        c.workers()
    );
    Ok(0)
}

/// Load IOC files, reporting per file; strict mode fails on a bad line.
fn load_iocs(
    files: &[PathBuf],
    strict: bool,
    metrics: Option<&Metrics>,
    verbose: bool,
) -> Result<IocSet, Failure> {
    let mut b = IocSetBuilder::default();
    for f in files {
        let rep = b.load_file(f, strict).map_err(|e| bad_input(e.into()))?;
        let kinds: Vec<String> = rep
            .loaded_by_kind
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        eprintln!(
            "ioc: {}: loaded {} ({}), skipped {} lines, {} duplicates",
            f.display(),
            rep.loaded_by_kind.iter().map(|(_, n)| n).sum::<usize>(),
            kinds.join(", "),
            rep.skipped.len(),
            rep.duplicates
        );
        let shown = if verbose { usize::MAX } else { 5 };
        for s in rep.skipped.iter().take(shown) {
            eprintln!(
                "ioc: {}:{}: skipped: {} ({:?})",
                f.display(),
                s.line,
                s.reason,
                s.text
            );
        }
        if rep.skipped.len() > shown {
            eprintln!(
                "ioc: {}: ... and {} more skipped lines (`sensor ioc check {}` lists all)",
                f.display(),
                rep.skipped.len() - shown,
                f.display()
            );
        }
        if let Some(m) = metrics {
            m.ioc_skipped_lines.inc_by(rep.skipped.len() as u64);
        }
    }
    let set = b.build();
    if let Some(m) = metrics {
        for (k, n) in set.count_by_kind() {
            m.ioc_indicators
                .with_label_values(&[k.as_str()])
                .set(n as i64);
        }
    }
    Ok(set)
}

fn ioc_check(files: &[PathBuf], strict: bool) -> Result<u8, Failure> {
    let set = load_iocs(files, strict, None, true)?;
    println!("total indicators: {}", set.len());
    for (k, n) in set.count_by_kind() {
        println!("  {:<10} {n}", k.as_str());
    }
    Ok(0)
}

fn serve_metrics(addr: &str, metrics: Metrics) -> Result<(), Failure> {
    sensor::metrics::serve(addr, metrics)
        .map(|_| ())
        .map_err(|e| bad_input(anyhow::anyhow!("--metrics-addr {addr}: {e}")))
}

/// Resolve config file and flags into a run specification. `live`: serve
/// metrics at the configured address unless `--metrics-addr` says otherwise.
fn prepare(c: &CommonArgs, live: bool, progress: bool) -> Result<RunSpec, Failure> {
    let mut cfg = load_config(c.config.as_deref())?;
    if let Some(w) = c.workers {
        if w == 0 || w > 256 {
            return Err(bad_input(anyhow::anyhow!(
                "--workers must be between 1 and 256"
            )));
        }
        cfg.capture.workers = w;
    }
    if let Some(d) = &c.log_dir {
        cfg.output.log_dir = d.clone();
    }
    if let Some(e) = &c.eve {
        cfg.output.eve = e.clone();
    }
    let metrics = Metrics::new();
    let addr = match &c.metrics_addr {
        Some(a) => Some(a.clone()),
        None if live && !cfg.metrics.addr.is_empty() => Some(cfg.metrics.addr.clone()),
        None => None,
    };
    if let Some(addr) = addr {
        serve_metrics(&addr, metrics.clone())?;
    }
    let mut ioc_files = cfg.ioc.files.clone();
    ioc_files.extend(c.ioc.iter().cloned());
    let ioc = load_iocs(
        &ioc_files,
        c.strict || cfg.ioc.strict,
        Some(&metrics),
        false,
    )?;
    let eve = EveTarget::resolve(&cfg.output.eve, &cfg.output.log_dir);
    let workers = cfg.workers();
    let ot = sensor::detect::ot::init(&cfg, &c.rules_dirs, live)
        .map_err(|e| bad_input(anyhow::anyhow!("{e}")))?;
    tracing::info!(rules = ot.rules.len(), "behaviour rules loaded");
    Ok(RunSpec {
        ot: std::sync::Mutex::new(Some(ot)),
        ordered_ot: !live,
        cfg: Arc::new(cfg),
        ioc: Arc::new(ioc),
        metrics,
        eve,
        workers,
        progress,
    })
}

fn finish(summary: &pipeline::Summary, metrics: &Metrics, quiet: bool) -> u8 {
    if !quiet {
        eprint!("{}", summary.render(metrics));
    }
    if summary.writer.error.is_some() {
        return exit::RUNTIME;
    }
    if !summary.input_errors.is_empty() {
        return exit::PARTIAL_INPUT;
    }
    0
}

fn replay(a: ReplayArgs) -> Result<u8, Failure> {
    let spec = prepare(&a.common, false, !a.no_progress)?;
    let metrics = spec.metrics.clone();
    let summary = pipeline::replay(spec, &a.files)?;
    Ok(finish(&summary, &metrics, a.quiet))
}

fn run(a: RunArgs) -> Result<u8, Failure> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let spec = prepare(&a.common, true, false)?;
    let metrics = spec.metrics.clone();
    let summary = pipeline::live::run(spec, &a.ifaces, a.capture, a.force, stop).map_err(|e| {
        // Interface problems (missing, down, no permission) are the
        // operator's input.
        if e.chain()
            .any(|c| c.is::<sensor::capture::afpacket::AfPacketError>())
        {
            bad_input(e)
        } else {
            Failure {
                code: exit::RUNTIME,
                err: e,
            }
        }
    })?;
    Ok(finish(&summary, &metrics, a.quiet))
}
