//! The learned baseline: which client talks to which server with which OT
//! protocol, function and unit, and which set-point values it writes —
//! learned from traffic for a while, then enforced.
//!
//! # What is learned
//!
//! * **Communication entries**, keyed by (client IP, server IP, protocol,
//!   function, unit): "who talks to whom with which protocol and function".
//!   The unit (Modbus unit id, DNP3 destination, IEC-104 common address,
//!   ...) is part of the key when the op has one.
//! * **Value ranges**, keyed by (server IP, protocol, function, unit,
//!   address): the smallest and largest value written or commanded there.
//!   Only [`OpClass::Write`] and [`OpClass::Command`] ops count (their
//!   [`Op::values`] are set-points); non-finite values are ignored, and at
//!   most [`MAX_VALUES_PER_OP`] values of one op are looked at. When an op
//!   carries one value per item (`quantity == values.len()`), value `i`
//!   belongs to address `address + i`; otherwise every value belongs to
//!   `address`.
//!
//! # Modes
//!
//! * [`Mode::Learn`] records everything until the packet time reaches
//!   `until_ns`, then switches itself to [`Mode::Enforce`] (the op that
//!   crosses the deadline is already enforced). [`Mode::LearnFor`] is the
//!   same with a duration that starts at the first op observed.
//! * [`Mode::Enforce`] reports what the baseline does not contain as a
//!   [`Deviation`]: [`DeviationKind::NewPair`] (this client never used this
//!   protocol with this server), [`DeviationKind::NewFunction`],
//!   [`DeviationKind::NewUnit`], [`DeviationKind::NewAddress`] (a set-point
//!   written where none was written while learning) and
//!   [`DeviationKind::ValueOutOfRange`].
//! * [`Mode::Off`] ignores everything.
//!
//! Each deviation is reported once: it stays *pending* (keyed by the pair,
//! the function, the unit or the value range it is about), and later ops
//! under the same key only update its counters and collect the entries and
//! values an approval would add. [`Baseline::approve_where`] /
//! [`Baseline::approve_all`] / [`Baseline::approve_deviation`] merge pending
//! deviations into the baseline; [`Baseline::dismiss_where`] forgets them
//! (they are reported again if seen again).
//!
//! Time is always the packet time (`ts_ns`, nanoseconds since the Unix
//! epoch), never the wall clock; only the file's `saved_at` is wall-clock.
//!
//! # Bounds
//!
//! [`BaselineConfig::max_entries`], [`BaselineConfig::max_ranges`] and
//! [`BaselineConfig::max_pending`] cap the three tables. What does not fit
//! is counted ([`Overflow`]): a full baseline stops learning new entries; a
//! full pending table evicts its oldest deviation (which may then be
//! reported again). A pending deviation collects at most
//! [`MAX_KEYS_PER_DEVIATION`] entries. Interned protocol and function names
//! only grow with entries, ranges and pending deviations.
//!
//! # File
//!
//! [`Baseline::save`] writes versioned JSON atomically (temporary file in
//! the same directory, fsync, rename); [`Baseline::load`] rejects a file it
//! cannot fully use with a [`StateFileError`] that names the file and what
//! is wrong — it never drops part of a file silently.
//!
//! ```json
//! {
//!   "format": "sensor-baseline",
//!   "version": 1,
//!   "saved_at": 1764095400,
//!   "mode": "enforce",
//!   "entries": [
//!     { "client": "10.0.0.10", "server": "10.0.0.20", "proto": "modbus",
//!       "function": "read_holding_registers", "unit": 1,
//!       "first_ns": 1700000000000000000, "last_ns": 1700000360000000000, "count": 3600 }
//!   ],
//!   "ranges": [
//!     { "server": "10.0.0.20", "proto": "modbus", "function": "write_single_register",
//!       "unit": 1, "address": 100, "min": 20.0, "max": 80.0,
//!       "first_ns": 1700000000000000000, "last_ns": 1700000300000000000, "count": 12 }
//!   ],
//!   "pending": [
//!     { "deviation": { "kind": "new_function", "client": "10.0.0.10", "server": "10.0.0.20",
//!                      "proto": "modbus", "function": "write_single_coil", "unit": 1,
//!                      "first_ns": 1700000400000000000 },
//!       "count": 2, "last_ns": 1700000410000000000,
//!       "entries": [ { "function": "write_single_coil", "unit": 1, "count": 2 } ] }
//!   ],
//!   "overflow": { "entries": 0, "ranges": 0, "pending_evicted": 0 }
//! }
//! ```
//!
//! `mode` is `"enforce"`, `"off"`, `{"learn": {"until_ns": N}}` or
//! `{"learn_for": {"duration_ns": N}}`. On [`Baseline::load`] the configured
//! mode wins, except that a configured `learn_for` resumes the saved
//! learning deadline (or stays enforcing when learning had finished), so a
//! restart neither extends nor repeats the learning period.
//!
//! [`read_state_file`], [`write_state_file`] and [`write_atomic`] are the
//! generic pieces; the sensor's asset inventory uses them for its own file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use foldhash::HashMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ot::{Op, OpClass};

/// `format` of a baseline file.
pub const FORMAT: &str = "sensor-baseline";
/// `version` of the baseline file this code writes and reads.
pub const VERSION: u32 = 1;
/// At most this many values of one op are checked against value ranges.
pub const MAX_VALUES_PER_OP: usize = 64;
/// A pending deviation remembers at most this many (function, unit)
/// entries to add on approval.
pub const MAX_KEYS_PER_DEVIATION: usize = 64;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// What the baseline does with the ops it observes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mode {
    /// Record until the packet time reaches `until_ns`, then enforce.
    Learn {
        /// Packet time (ns since the Unix epoch) at which learning ends.
        until_ns: u64,
    },
    /// Learn for `duration_ns` from the first op observed, then enforce.
    LearnFor {
        /// Length of the learning period in nanoseconds.
        duration_ns: u64,
    },
    /// Report what the baseline does not contain.
    Enforce,
    /// Do nothing.
    Off,
}

impl Mode {
    /// The mode to run after loading a file saved in `saved` when the
    /// configuration asks for `self`: the configuration wins, except that a
    /// relative learning period resumes the saved one.
    pub fn resume(self, saved: Mode) -> Mode {
        match (self, saved) {
            (Mode::LearnFor { .. }, Mode::Enforce) => Mode::Enforce,
            (Mode::LearnFor { .. }, Mode::Learn { until_ns }) => Mode::Learn { until_ns },
            (configured, _) => configured,
        }
    }
}

/// Settings of a [`Baseline`].
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineConfig {
    /// Starting mode.
    pub mode: Mode,
    /// Most communication entries kept; further ones are counted in
    /// [`Overflow::entries`] and not learned.
    pub max_entries: usize,
    /// Most value ranges kept; further ones are counted in
    /// [`Overflow::ranges`].
    pub max_ranges: usize,
    /// Most pending (reported, not yet approved) deviations remembered; the
    /// oldest is evicted to make room ([`Overflow::pending_evicted`]).
    pub max_pending: usize,
    /// Learn and enforce set-point value ranges.
    pub value_ranges: bool,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            mode: Mode::LearnFor {
                duration_ns: 7 * 24 * 3600 * 1_000_000_000,
            },
            max_entries: 100_000,
            max_ranges: 100_000,
            max_pending: 1_024,
            value_ranges: true,
        }
    }
}

/// One communication entry of the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Client (requester) address.
    pub client: IpAddr,
    /// Server (responder) address.
    pub server: IpAddr,
    /// Protocol (`Op::proto`).
    pub proto: String,
    /// Function (`Op::function`).
    pub function: String,
    /// Unit / station (`Op::unit`), when the protocol has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u32>,
    /// Packet time first seen.
    pub first_ns: u64,
    /// Packet time last seen.
    pub last_ns: u64,
    /// Ops seen.
    pub count: u64,
}

/// One learned set-point value range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeEntry {
    /// Device written to.
    pub server: IpAddr,
    /// Protocol.
    pub proto: String,
    /// Function.
    pub function: String,
    /// Unit / station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u32>,
    /// Data address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<u32>,
    /// Smallest value seen.
    pub min: f64,
    /// Largest value seen.
    pub max: f64,
    /// Packet time first seen.
    pub first_ns: u64,
    /// Packet time last seen.
    pub last_ns: u64,
    /// Values seen.
    pub count: u64,
}

/// What is new about an op.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviationKind {
    /// The client never used this protocol with this server.
    NewPair,
    /// Known client, server and protocol; new function.
    NewFunction,
    /// Known function; new unit.
    NewUnit,
    /// A set-point written to an address never written while learning.
    NewAddress {
        /// The value written.
        value: f64,
    },
    /// A set-point outside the learned range.
    ValueOutOfRange {
        /// Learned minimum.
        min: f64,
        /// Learned maximum.
        max: f64,
        /// The value written.
        value: f64,
    },
}

impl DeviationKind {
    /// The snake_case name (`new_pair`, `value_out_of_range`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviationKind::NewPair => "new_pair",
            DeviationKind::NewFunction => "new_function",
            DeviationKind::NewUnit => "new_unit",
            DeviationKind::NewAddress { .. } => "new_address",
            DeviationKind::ValueOutOfRange { .. } => "value_out_of_range",
        }
    }
}

/// Something the baseline does not contain, as reported once per key.
///
/// Serialises flat: `{"kind": "value_out_of_range", "min": 0.0, "max": 50.0,
/// "value": 99.0, "client": ..., "server": ..., "proto": ..., ...}`. The key
/// is (client, server, proto) for `new_pair`, plus function for
/// `new_function`, plus unit for `new_unit`, and (server, proto, function,
/// unit, address) for the value kinds; the other fields describe the op
/// that first showed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deviation {
    /// What is new, with the values for range deviations.
    #[serde(flatten)]
    pub kind: DeviationKind,
    /// Requester.
    pub client: IpAddr,
    /// Responder.
    pub server: IpAddr,
    /// Protocol.
    pub proto: String,
    /// Function.
    pub function: String,
    /// Unit / station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u32>,
    /// Data address (value kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<u32>,
    /// Packet time of the first op that showed it.
    pub first_ns: u64,
}

/// An entry a pending deviation would add on approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingEntry {
    /// Function.
    pub function: String,
    /// Unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<u32>,
    /// Ops seen with this function and unit.
    pub count: u64,
}

/// A reported deviation waiting for approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The deviation as reported.
    pub deviation: Deviation,
    /// Ops that matched it (including the first).
    pub count: u64,
    /// Packet time of the last matching op.
    pub last_ns: u64,
    /// Communication kinds: the entries approval adds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<PendingEntry>,
    /// Value kinds: smallest and largest value seen, which approval makes
    /// part of the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<[f64; 2]>,
}

/// What did not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overflow {
    /// Ops whose new communication entry was not learned (table full).
    pub entries: u64,
    /// Values whose new range was not learned (table full).
    pub ranges: u64,
    /// Pending deviations evicted to make room.
    pub pending_evicted: u64,
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BaselineStats {
    /// Communication entries.
    pub entries: usize,
    /// Value ranges.
    pub ranges: usize,
    /// Pending deviations.
    pub pending: usize,
    /// Deviations reported since start.
    pub deviations: u64,
    /// What did not fit.
    pub overflow: Overflow,
}

/// Result of an approval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApproveReport {
    /// Deviations merged into the baseline (and no longer pending).
    pub approved: usize,
    /// Deviations that did not fit (baseline full); they stay pending.
    pub not_fitting: usize,
}

/// Difference between two baselines, by key (counters and times ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BaselineDiff {
    /// Entries in the other baseline only.
    pub added: Vec<Entry>,
    /// Entries in this baseline only.
    pub removed: Vec<Entry>,
    /// Ranges in the other baseline only.
    pub ranges_added: Vec<RangeEntry>,
    /// Ranges in this baseline only.
    pub ranges_removed: Vec<RangeEntry>,
    /// Ranges in both with different bounds: (this, other).
    pub ranges_changed: Vec<(RangeEntry, RangeEntry)>,
}

impl BaselineDiff {
    /// True when the baselines hold the same keys and ranges.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.ranges_added.is_empty()
            && self.ranges_removed.is_empty()
            && self.ranges_changed.is_empty()
    }
}

/// Errors reading or writing a state file (baseline, asset inventory).
/// Every message names the file.
#[derive(thiserror::Error, Debug)]
pub enum StateFileError {
    /// The file could not be read or written.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// Underlying error.
        source: io::Error,
    },
    /// The JSON ends before it is complete.
    #[error(
        "{}: the file ends early at line {line} column {column}: it is truncated \
         (interrupted copy or full disk?); restore it from a backup or remove it",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Not JSON.
    #[error("{}: not valid JSON at line {line} column {column}: {msg}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        msg: String,
    },
    /// JSON of the wrong shape: a missing or unknown field, a wrong type.
    #[error("{}: line {line} column {column}: {msg}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong (names the field or the expected type).
        msg: String,
    },
    /// Another kind of file.
    #[error("{}: \"format\" is {found:?}, expected {expected:?}: not a {expected} file", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The file's format string.
        found: String,
        /// The format expected.
        expected: &'static str,
    },
    /// A version this code does not read.
    #[error(
        "{}: {format} file version {found}; this sensor reads version {supported} only{}",
        path.display(),
        if *found > u64::from(*supported) { " (written by a newer sensor)" } else { "" }
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The format.
        format: &'static str,
        /// The file's version.
        found: u64,
        /// The version this code reads.
        supported: u32,
    },
    /// Well-formed but unusable content.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the item.
        what: String,
    },
}

// ---------------------------------------------------------------------------
// Generic state-file helpers
// ---------------------------------------------------------------------------

/// Write a file atomically: the bytes go to a temporary file in the same
/// directory, which is flushed to disk and renamed over `path`; readers see
/// the old or the new file, never a part. The directory is synced
/// afterwards (best effort).
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Serialise `value` as pretty JSON into `path` with [`write_atomic`].
pub fn write_state_file<T: Serialize>(path: &Path, value: &T) -> Result<(), StateFileError> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|source| StateFileError::Io {
        path: path.to_path_buf(),
        action: "cannot write",
        source,
    })
}

/// The header every state file starts with.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

/// Turn a serde_json error into a [`StateFileError`] for `path`.
pub fn json_error(path: &Path, e: &serde_json::Error) -> StateFileError {
    use serde_json::error::Category;
    let path = path.to_path_buf();
    let (line, column) = (e.line(), e.column());
    match e.classify() {
        Category::Eof => StateFileError::Truncated { path, line, column },
        Category::Syntax | Category::Io => StateFileError::Syntax {
            path,
            line,
            column,
            msg: strip_position(e),
        },
        Category::Data => StateFileError::Field {
            path,
            line,
            column,
            msg: strip_position(e),
        },
    }
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Read a state file: check its `format` and `version` first (so a file of
/// another version gets a version error, not a field error), then parse it
/// whole into `T`.
pub fn read_state_file<T: DeserializeOwned>(
    path: &Path,
    format: &'static str,
    version: u32,
) -> Result<T, StateFileError> {
    let bytes = fs::read(path).map_err(|source| StateFileError::Io {
        path: path.to_path_buf(),
        action: "cannot read",
        source,
    })?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))?;
    if header.format != format {
        return Err(StateFileError::Format {
            path: path.to_path_buf(),
            found: header.format,
            expected: format,
        });
    }
    if header.version != u64::from(version) {
        return Err(StateFileError::Version {
            path: path.to_path_buf(),
            format,
            found: header.version,
            supported: version,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))
}

/// Wall-clock seconds since the Unix epoch (file metadata only).
pub fn wall_clock_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// ---------------------------------------------------------------------------
// Internal keys
// ---------------------------------------------------------------------------

/// Interned protocol and function names: keys hold small ids, so lookups on
/// the op path hash two strings and compare integers.
#[derive(Default, Debug)]
struct Names {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Names {
    fn id(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.id(s) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(s.into());
        self.index.insert(s.into(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", |s| s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PairKey {
    client: IpAddr,
    server: IpAddr,
    proto: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FuncKey {
    pair: PairKey,
    function: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct EntryKey {
    func: FuncKey,
    unit: Option<u32>,
}

impl EntryKey {
    fn new(client: IpAddr, server: IpAddr, proto: u32, function: u32, unit: Option<u32>) -> Self {
        let pair = PairKey {
            client,
            server,
            proto,
        };
        EntryKey {
            func: FuncKey { pair, function },
            unit,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RangeKey {
    server: IpAddr,
    proto: u32,
    function: u32,
    unit: Option<u32>,
    address: Option<u32>,
}

/// What a pending deviation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PendingKey {
    Pair(PairKey),
    Func(FuncKey),
    Unit(EntryKey),
    Range(RangeKey),
}

#[derive(Clone, Copy, Debug)]
struct Stat {
    first_ns: u64,
    last_ns: u64,
    count: u64,
}

impl Stat {
    fn new(ts_ns: u64) -> Stat {
        Stat {
            first_ns: ts_ns,
            last_ns: ts_ns,
            count: 1,
        }
    }

    fn touch(&mut self, ts_ns: u64) {
        self.first_ns = self.first_ns.min(ts_ns);
        self.last_ns = self.last_ns.max(ts_ns);
        self.count = self.count.saturating_add(1);
    }
}

#[derive(Clone, Copy, Debug)]
struct Range {
    min: f64,
    max: f64,
    stat: Stat,
}

#[derive(Clone, Debug)]
struct PendingState {
    /// Insertion order, for evicting the oldest.
    seq: u64,
    deviation: Deviation,
    count: u64,
    last_ns: u64,
    entries: Vec<(EntryKey, u64)>,
    values: Option<[f64; 2]>,
}

/// The file as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    format: String,
    version: u32,
    /// Wall-clock seconds since the Unix epoch when written.
    saved_at: u64,
    mode: Mode,
    entries: Vec<Entry>,
    ranges: Vec<RangeEntry>,
    pending: Vec<Pending>,
    overflow: Overflow,
}

// ---------------------------------------------------------------------------
// The baseline
// ---------------------------------------------------------------------------

/// A learned baseline. Single-threaded (`&mut self`): share it behind a
/// mutex or keep one per worker and merge with [`Baseline::diff`].
#[derive(Debug)]
pub struct Baseline {
    cfg: BaselineConfig,
    mode: Mode,
    names: Names,
    entries: HashMap<EntryKey, Stat>,
    /// Entries per (client, server, proto), for the new-pair test.
    pairs: HashMap<PairKey, u32>,
    /// Entries per (client, server, proto, function).
    funcs: HashMap<FuncKey, u32>,
    ranges: HashMap<RangeKey, Range>,
    pending: HashMap<PendingKey, PendingState>,
    seq: u64,
    deviations: u64,
    overflow: Overflow,
}

impl Baseline {
    /// An empty baseline in `cfg.mode`.
    pub fn new(cfg: BaselineConfig) -> Baseline {
        Baseline {
            mode: cfg.mode,
            cfg,
            names: Names::default(),
            entries: HashMap::default(),
            pairs: HashMap::default(),
            funcs: HashMap::default(),
            ranges: HashMap::default(),
            pending: HashMap::default(),
            seq: 0,
            deviations: 0,
            overflow: Overflow::default(),
        }
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switch mode (e.g. `sensor baseline enforce`).
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Counters for metrics.
    pub fn stats(&self) -> BaselineStats {
        BaselineStats {
            entries: self.entries.len(),
            ranges: self.ranges.len(),
            pending: self.pending.len(),
            deviations: self.deviations,
            overflow: self.overflow,
        }
    }

    /// Look at one op between `client` and `server` at packet time `ts_ns`:
    /// learn it, or report what is new about it (once per key).
    pub fn observe(
        &mut self,
        op: &Op,
        client: IpAddr,
        server: IpAddr,
        ts_ns: u64,
    ) -> Option<Deviation> {
        if let Mode::LearnFor { duration_ns } = self.mode {
            self.mode = Mode::Learn {
                until_ns: ts_ns.saturating_add(duration_ns),
            };
        }
        match self.mode {
            Mode::Off => None,
            Mode::Learn { until_ns } if ts_ns < until_ns => {
                self.learn(op, client, server, ts_ns);
                None
            }
            Mode::Learn { .. } => {
                self.mode = Mode::Enforce;
                self.enforce(op, client, server, ts_ns)
            }
            Mode::Enforce | Mode::LearnFor { .. } => self.enforce(op, client, server, ts_ns),
        }
    }

    fn learn(&mut self, op: &Op, client: IpAddr, server: IpAddr, ts_ns: u64) {
        let proto = self.names.intern(op.proto);
        let function = self.names.intern(op.function);
        let key = EntryKey::new(client, server, proto, function, op.unit);
        let _ = self.add_entry(key, Stat::new(ts_ns));
        if !self.cfg.value_ranges || !carries_setpoints(op) {
            return;
        }
        for (address, value) in setpoints(op) {
            let rk = RangeKey {
                server,
                proto,
                function,
                unit: op.unit,
                address,
            };
            let _ = self.add_range(rk, value, value, Stat::new(ts_ns));
        }
    }

    /// Merge an entry; false when the table is full (counted).
    fn add_entry(&mut self, key: EntryKey, stat: Stat) -> bool {
        if let Some(s) = self.entries.get_mut(&key) {
            s.first_ns = s.first_ns.min(stat.first_ns);
            s.last_ns = s.last_ns.max(stat.last_ns);
            s.count = s.count.saturating_add(stat.count);
            return true;
        }
        if self.entries.len() >= self.cfg.max_entries {
            self.overflow.entries += 1;
            return false;
        }
        self.entries.insert(key, stat);
        *self.pairs.entry(key.func.pair).or_insert(0) += 1;
        *self.funcs.entry(key.func).or_insert(0) += 1;
        true
    }

    /// Merge a range; false when the table is full (counted).
    fn add_range(&mut self, key: RangeKey, min: f64, max: f64, stat: Stat) -> bool {
        if let Some(r) = self.ranges.get_mut(&key) {
            r.min = r.min.min(min);
            r.max = r.max.max(max);
            r.stat.first_ns = r.stat.first_ns.min(stat.first_ns);
            r.stat.last_ns = r.stat.last_ns.max(stat.last_ns);
            r.stat.count = r.stat.count.saturating_add(stat.count);
            return true;
        }
        if self.ranges.len() >= self.cfg.max_ranges {
            self.overflow.ranges += 1;
            return false;
        }
        self.ranges.insert(key, Range { min, max, stat });
        true
    }

    fn enforce(
        &mut self,
        op: &Op,
        client: IpAddr,
        server: IpAddr,
        ts_ns: u64,
    ) -> Option<Deviation> {
        let proto = self.names.id(op.proto);
        let function = self.names.id(op.function);
        let known = match (proto, function) {
            (Some(proto), Some(function)) => {
                let key = EntryKey::new(client, server, proto, function, op.unit);
                self.entries.get_mut(&key).map(|s| s.touch(ts_ns)).is_some()
            }
            _ => false,
        };
        if !known {
            return self.new_entry(op, client, server, ts_ns);
        }
        if !self.cfg.value_ranges || !carries_setpoints(op) {
            return None;
        }
        let (proto, function) = (proto?, function?);
        for (address, value) in setpoints(op) {
            let rk = RangeKey {
                server,
                proto,
                function,
                unit: op.unit,
                address,
            };
            let kind = match self.ranges.get_mut(&rk) {
                Some(r) if value >= r.min && value <= r.max => {
                    r.stat.touch(ts_ns);
                    continue;
                }
                Some(r) => DeviationKind::ValueOutOfRange {
                    min: r.min,
                    max: r.max,
                    value,
                },
                None => DeviationKind::NewAddress { value },
            };
            let dev = self.raise(
                PendingKey::Range(rk),
                kind,
                None,
                Some(value),
                op,
                (client, server, address),
                ts_ns,
            );
            if dev.is_some() {
                return dev;
            }
        }
        None
    }

    fn new_entry(
        &mut self,
        op: &Op,
        client: IpAddr,
        server: IpAddr,
        ts_ns: u64,
    ) -> Option<Deviation> {
        let proto = self.names.intern(op.proto);
        let function = self.names.intern(op.function);
        let key = EntryKey::new(client, server, proto, function, op.unit);
        let (pair, func) = (key.func.pair, key.func);
        let (kind, pk) = if !self.pairs.contains_key(&pair) {
            (DeviationKind::NewPair, PendingKey::Pair(pair))
        } else if !self.funcs.contains_key(&func) {
            (DeviationKind::NewFunction, PendingKey::Func(func))
        } else {
            (DeviationKind::NewUnit, PendingKey::Unit(key))
        };
        self.raise(pk, kind, Some(key), None, op, (client, server, None), ts_ns)
    }

    /// Report a deviation unless one is pending under `pk`; either way
    /// remember what approval would add.
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        pk: PendingKey,
        kind: DeviationKind,
        entry: Option<EntryKey>,
        value: Option<f64>,
        op: &Op,
        (client, server, address): (IpAddr, IpAddr, Option<u32>),
        ts_ns: u64,
    ) -> Option<Deviation> {
        if let Some(p) = self.pending.get_mut(&pk) {
            p.count = p.count.saturating_add(1);
            p.last_ns = p.last_ns.max(ts_ns);
            if let Some(e) = entry {
                note_entry(&mut p.entries, e);
            }
            if let Some(v) = value {
                p.values = Some(widen(p.values, v));
            }
            return None;
        }
        let deviation = Deviation {
            kind,
            client,
            server,
            proto: op.proto.to_string(),
            function: op.function.to_string(),
            unit: op.unit,
            address,
            first_ns: ts_ns,
        };
        self.deviations += 1;
        if self.cfg.max_pending == 0 {
            self.overflow.pending_evicted += 1;
            return Some(deviation);
        }
        if self.pending.len() >= self.cfg.max_pending {
            // Evict the oldest; a scan is fine: this runs only for a new
            // deviation while the table is full.
            if let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.seq)
                .map(|(k, _)| *k)
            {
                self.pending.remove(&oldest);
                self.overflow.pending_evicted += 1;
            }
        }
        self.seq += 1;
        let mut entries = Vec::new();
        if let Some(e) = entry {
            note_entry(&mut entries, e);
        }
        self.pending.insert(
            pk,
            PendingState {
                seq: self.seq,
                deviation: deviation.clone(),
                count: 1,
                last_ns: ts_ns,
                entries,
                values: value.map(|v| [v, v]),
            },
        );
        Some(deviation)
    }

    // -- inspection ---------------------------------------------------------

    fn entry_of(&self, k: &EntryKey, s: &Stat) -> Entry {
        Entry {
            client: k.func.pair.client,
            server: k.func.pair.server,
            proto: self.names.name(k.func.pair.proto).to_string(),
            function: self.names.name(k.func.function).to_string(),
            unit: k.unit,
            first_ns: s.first_ns,
            last_ns: s.last_ns,
            count: s.count,
        }
    }

    fn range_of(&self, k: &RangeKey, r: &Range) -> RangeEntry {
        RangeEntry {
            server: k.server,
            proto: self.names.name(k.proto).to_string(),
            function: self.names.name(k.function).to_string(),
            unit: k.unit,
            address: k.address,
            min: r.min,
            max: r.max,
            first_ns: r.stat.first_ns,
            last_ns: r.stat.last_ns,
            count: r.stat.count,
        }
    }

    /// Communication entries, sorted by client, server, protocol, function,
    /// unit.
    pub fn list(&self) -> Vec<Entry> {
        let mut v: Vec<Entry> = self
            .entries
            .iter()
            .map(|(k, s)| self.entry_of(k, s))
            .collect();
        v.sort_by(|a, b| entry_order(a).cmp(&entry_order(b)));
        v
    }

    /// Value ranges, sorted by server, protocol, function, unit, address.
    pub fn list_ranges(&self) -> Vec<RangeEntry> {
        let mut v: Vec<RangeEntry> = self
            .ranges
            .iter()
            .map(|(k, r)| self.range_of(k, r))
            .collect();
        v.sort_by(|a, b| range_order(a).cmp(&range_order(b)));
        v
    }

    /// Pending deviations, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        let mut v: Vec<&PendingState> = self.pending.values().collect();
        v.sort_by_key(|p| p.seq);
        v.into_iter().map(|p| self.pending_of(p)).collect()
    }

    fn pending_of(&self, p: &PendingState) -> Pending {
        Pending {
            deviation: p.deviation.clone(),
            count: p.count,
            last_ns: p.last_ns,
            entries: p
                .entries
                .iter()
                .map(|(k, n)| PendingEntry {
                    function: self.names.name(k.func.function).to_string(),
                    unit: k.unit,
                    count: *n,
                })
                .collect(),
            values: p.values,
        }
    }

    /// What `other` has that this baseline lacks (`added`) and the reverse
    /// (`removed`), by key; ranges also by bounds.
    pub fn diff(&self, other: &Baseline) -> BaselineDiff {
        use std::collections::BTreeMap;
        let mine: BTreeMap<_, Entry> = self
            .list()
            .into_iter()
            .map(|e| (entry_key_of(&e), e))
            .collect();
        let theirs: BTreeMap<_, Entry> = other
            .list()
            .into_iter()
            .map(|e| (entry_key_of(&e), e))
            .collect();
        let mut d = BaselineDiff {
            added: theirs
                .iter()
                .filter(|(k, _)| !mine.contains_key(*k))
                .map(|(_, e)| e.clone())
                .collect(),
            removed: mine
                .iter()
                .filter(|(k, _)| !theirs.contains_key(*k))
                .map(|(_, e)| e.clone())
                .collect(),
            ..BaselineDiff::default()
        };
        let mine: BTreeMap<_, RangeEntry> = self
            .list_ranges()
            .into_iter()
            .map(|r| (range_key_of(&r), r))
            .collect();
        let theirs: BTreeMap<_, RangeEntry> = other
            .list_ranges()
            .into_iter()
            .map(|r| (range_key_of(&r), r))
            .collect();
        for (k, r) in &theirs {
            match mine.get(k) {
                None => d.ranges_added.push(r.clone()),
                Some(m) if m.min != r.min || m.max != r.max => {
                    d.ranges_changed.push((m.clone(), r.clone()))
                }
                Some(_) => {}
            }
        }
        d.ranges_removed = mine
            .iter()
            .filter(|(k, _)| !theirs.contains_key(*k))
            .map(|(_, r)| r.clone())
            .collect();
        d
    }

    // -- approval -----------------------------------------------------------

    /// Merge every pending deviation into the baseline.
    pub fn approve_all(&mut self) -> ApproveReport {
        self.approve_where(|_| true)
    }

    /// Merge the pending deviations `filter` accepts into the baseline.
    /// Those that do not fit (baseline full) stay pending, with what was
    /// merged removed from them.
    pub fn approve_where(&mut self, mut filter: impl FnMut(&Deviation) -> bool) -> ApproveReport {
        let mut keys: Vec<(u64, PendingKey)> = self
            .pending
            .iter()
            .filter(|(_, p)| filter(&p.deviation))
            .map(|(k, p)| (p.seq, *k))
            .collect();
        keys.sort_unstable_by_key(|(seq, _)| *seq);
        let mut report = ApproveReport::default();
        for (_, pk) in keys {
            if self.merge_pending(pk) {
                report.approved += 1;
            } else {
                report.not_fitting += 1;
            }
        }
        report
    }

    /// Approve one deviation, e.g. taken from an EVE record: merge its
    /// pending state when it is pending, else the deviation itself. False
    /// when it did not fit.
    pub fn approve_deviation(&mut self, dev: &Deviation) -> bool {
        let (pk, key, rk) = self.keys_of(dev);
        if self.pending.contains_key(&pk) {
            return self.merge_pending(pk);
        }
        let stat = Stat::new(dev.first_ns);
        match dev.kind {
            DeviationKind::NewAddress { value } | DeviationKind::ValueOutOfRange { value, .. } => {
                value.is_finite() && self.add_range(rk, value, value, stat)
            }
            _ => self.add_entry(key, stat),
        }
    }

    /// Merge one pending deviation; true when all of it fitted (it is then
    /// no longer pending).
    fn merge_pending(&mut self, pk: PendingKey) -> bool {
        let Some(mut p) = self.pending.remove(&pk) else {
            return true;
        };
        let stat = |count: u64| Stat {
            first_ns: p.deviation.first_ns,
            last_ns: p.last_ns,
            count,
        };
        let fitted = match pk {
            PendingKey::Range(rk) => match p.values {
                Some([lo, hi]) => self.add_range(rk, lo, hi, stat(p.count)),
                None => true,
            },
            _ => {
                let mut rest = Vec::new();
                for &(k, n) in &p.entries {
                    if !self.add_entry(k, stat(n)) {
                        rest.push((k, n));
                    }
                }
                let all = rest.is_empty();
                p.entries = rest;
                all
            }
        };
        if !fitted {
            self.pending.insert(pk, p);
        }
        fitted
    }

    /// Forget the pending deviations `filter` accepts without approving
    /// them; they are reported again when seen again. Returns how many.
    pub fn dismiss_where(&mut self, mut filter: impl FnMut(&Deviation) -> bool) -> usize {
        let before = self.pending.len();
        self.pending.retain(|_, p| !filter(&p.deviation));
        before - self.pending.len()
    }

    // -- persistence --------------------------------------------------------

    /// Write the baseline (entries, ranges, pending deviations, mode,
    /// overflow counters) to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateFileError> {
        let file = BaselineFile {
            format: FORMAT.to_string(),
            version: VERSION,
            saved_at: wall_clock_secs(),
            mode: self.mode,
            entries: self.list(),
            ranges: self.list_ranges(),
            pending: self.pending(),
            overflow: self.overflow,
        };
        write_state_file(path, &file)
    }

    /// Read a baseline saved by [`Baseline::save`]. The mode is
    /// `cfg.mode.resume(saved mode)`. A file that does not fit the
    /// configured bounds is an error, not a partial load.
    pub fn load(path: &Path, cfg: BaselineConfig) -> Result<Baseline, StateFileError> {
        let file: BaselineFile = read_state_file(path, FORMAT, VERSION)?;
        let invalid = |what: String| StateFileError::Invalid {
            path: path.to_path_buf(),
            what,
        };
        for (what, n, max, key) in [
            (
                "entries",
                file.entries.len(),
                cfg.max_entries,
                "max_entries",
            ),
            ("ranges", file.ranges.len(), cfg.max_ranges, "max_ranges"),
            (
                "pending deviations",
                file.pending.len(),
                cfg.max_pending,
                "max_pending",
            ),
        ] {
            if n > max {
                return Err(invalid(format!(
                    "{n} {what}, more than the configured baseline {key} of {max}: raise {key} \
                     or prune the file"
                )));
            }
        }
        let mut b = Baseline::new(cfg);
        b.mode = b.cfg.mode.resume(file.mode);
        b.overflow = file.overflow;
        for (i, e) in file.entries.iter().enumerate() {
            if e.proto.is_empty() || e.function.is_empty() {
                return Err(invalid(format!("entries[{i}]: empty proto or function")));
            }
            if e.first_ns > e.last_ns {
                return Err(invalid(format!("entries[{i}]: first_ns is after last_ns")));
            }
            let proto = b.names.intern(&e.proto);
            let function = b.names.intern(&e.function);
            let key = EntryKey::new(e.client, e.server, proto, function, e.unit);
            if b.entries.contains_key(&key) {
                return Err(invalid(format!(
                    "entries[{i}]: duplicate entry {} -> {} {} {}",
                    e.client, e.server, e.proto, e.function
                )));
            }
            b.add_entry(
                key,
                Stat {
                    first_ns: e.first_ns,
                    last_ns: e.last_ns,
                    count: e.count,
                },
            );
        }
        for (i, r) in file.ranges.iter().enumerate() {
            if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                return Err(invalid(format!(
                    "ranges[{i}]: min {} and max {} are not a finite range",
                    r.min, r.max
                )));
            }
            let rk = RangeKey {
                server: r.server,
                proto: b.names.intern(&r.proto),
                function: b.names.intern(&r.function),
                unit: r.unit,
                address: r.address,
            };
            if b.ranges.contains_key(&rk) {
                return Err(invalid(format!(
                    "ranges[{i}]: duplicate range {} {} {} address {:?}",
                    r.server, r.proto, r.function, r.address
                )));
            }
            b.add_range(
                rk,
                r.min,
                r.max,
                Stat {
                    first_ns: r.first_ns,
                    last_ns: r.last_ns,
                    count: r.count,
                },
            );
        }
        for (i, p) in file.pending.into_iter().enumerate() {
            let (pk, _, _) = b.keys_of(&p.deviation);
            if b.pending.contains_key(&pk) {
                return Err(invalid(format!("pending[{i}]: duplicate deviation")));
            }
            if let Some([lo, hi]) = p.values {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    return Err(invalid(format!(
                        "pending[{i}]: values are not a finite range"
                    )));
                }
            }
            if p.entries.len() > MAX_KEYS_PER_DEVIATION {
                return Err(invalid(format!(
                    "pending[{i}]: {} entries, more than {MAX_KEYS_PER_DEVIATION}",
                    p.entries.len()
                )));
            }
            let d = &p.deviation;
            let proto = b.names.intern(&d.proto);
            let entries = p
                .entries
                .iter()
                .map(|pe| {
                    let function = b.names.intern(&pe.function);
                    let key = EntryKey::new(d.client, d.server, proto, function, pe.unit);
                    (key, pe.count)
                })
                .collect();
            b.seq += 1;
            b.pending.insert(
                pk,
                PendingState {
                    seq: b.seq,
                    count: p.count,
                    last_ns: p.last_ns,
                    entries,
                    values: p.values,
                    deviation: p.deviation,
                },
            );
        }
        Ok(b)
    }

    /// The pending key of a deviation, and the entry and range keys it
    /// names (interning its names).
    fn keys_of(&mut self, d: &Deviation) -> (PendingKey, EntryKey, RangeKey) {
        let proto = self.names.intern(&d.proto);
        let function = self.names.intern(&d.function);
        let key = EntryKey::new(d.client, d.server, proto, function, d.unit);
        let rk = RangeKey {
            server: d.server,
            proto,
            function,
            unit: d.unit,
            address: d.address,
        };
        let pk = match d.kind {
            DeviationKind::NewPair => PendingKey::Pair(key.func.pair),
            DeviationKind::NewFunction => PendingKey::Func(key.func),
            DeviationKind::NewUnit => PendingKey::Unit(key),
            DeviationKind::NewAddress { .. } | DeviationKind::ValueOutOfRange { .. } => {
                PendingKey::Range(rk)
            }
        };
        (pk, key, rk)
    }
}

fn note_entry(entries: &mut Vec<(EntryKey, u64)>, e: EntryKey) {
    if let Some((_, n)) = entries.iter_mut().find(|(k, _)| *k == e) {
        *n = n.saturating_add(1);
    } else if entries.len() < MAX_KEYS_PER_DEVIATION {
        entries.push((e, 1));
    }
}

fn widen(values: Option<[f64; 2]>, v: f64) -> [f64; 2] {
    match values {
        Some([lo, hi]) => [lo.min(v), hi.max(v)],
        None => [v, v],
    }
}

/// True for ops whose values are set-points.
fn carries_setpoints(op: &Op) -> bool {
    matches!(op.class, OpClass::Write | OpClass::Command) && !op.values.is_empty()
}

/// (address, value) of each finite set-point of `op`, at most
/// [`MAX_VALUES_PER_OP`].
fn setpoints(op: &Op) -> impl Iterator<Item = (Option<u32>, f64)> + '_ {
    let per_item = op.values.len() > 1 && op.quantity == u32::try_from(op.values.len()).ok();
    op.values
        .iter()
        .take(MAX_VALUES_PER_OP)
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(move |(i, v)| {
            let address = if per_item {
                op.address.and_then(|a| a.checked_add(i as u32))
            } else {
                op.address
            };
            (address, *v)
        })
}

type EntryOrder<'a> = (IpAddr, IpAddr, &'a str, &'a str, Option<u32>);

fn entry_order(e: &Entry) -> EntryOrder<'_> {
    (e.client, e.server, &e.proto, &e.function, e.unit)
}

fn entry_key_of(e: &Entry) -> (IpAddr, IpAddr, String, String, Option<u32>) {
    (
        e.client,
        e.server,
        e.proto.clone(),
        e.function.clone(),
        e.unit,
    )
}

type RangeOrder<'a> = (IpAddr, &'a str, &'a str, Option<u32>, Option<u32>);

fn range_order(r: &RangeEntry) -> RangeOrder<'_> {
    (r.server, &r.proto, &r.function, r.unit, r.address)
}

fn range_key_of(r: &RangeEntry) -> (IpAddr, String, String, Option<u32>, Option<u32>) {
    (
        r.server,
        r.proto.clone(),
        r.function.clone(),
        r.unit,
        r.address,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * S;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn read(unit: u32) -> Op {
        let mut op = Op::new("modbus", "read_holding_registers", 3, OpClass::Read);
        op.unit = Some(unit);
        op.address = Some(0);
        op.quantity = Some(10);
        op
    }

    fn write(unit: u32, address: u32, value: f64) -> Op {
        let mut op = Op::new("modbus", "write_single_register", 6, OpClass::Write);
        op.unit = Some(unit);
        op.address = Some(address);
        op.quantity = Some(1);
        op.values = vec![value];
        op
    }

    fn learning(until_ns: u64) -> Baseline {
        Baseline::new(BaselineConfig {
            mode: Mode::Learn { until_ns },
            ..BaselineConfig::default()
        })
    }

    /// A baseline that learned HMI 10.0.0.10 reading PLC 10.0.0.20 unit 1
    /// and writing set-points 20..80 to register 100, now enforcing.
    fn learned() -> Baseline {
        let (hmi, plc) = (ip("10.0.0.10"), ip("10.0.0.20"));
        let mut b = learning(T0 + 100 * S);
        for i in 0..10 {
            assert_eq!(b.observe(&read(1), hmi, plc, T0 + i * S), None);
        }
        for (i, v) in [20.0, 50.0, 80.0].into_iter().enumerate() {
            assert_eq!(
                b.observe(&write(1, 100, v), hmi, plc, T0 + (20 + i as u64) * S),
                None
            );
        }
        b.set_mode(Mode::Enforce);
        b
    }

    #[test]
    fn learn_then_enforce() {
        let (hmi, plc, ews) = (ip("10.0.0.10"), ip("10.0.0.20"), ip("10.0.0.99"));
        let mut b = learning(T0 + 60 * S);
        assert_eq!(b.observe(&read(1), hmi, plc, T0), None);
        // Still learning: a new function is learned silently.
        let stop = Op::new("modbus", "write_single_coil", 5, OpClass::Write);
        assert_eq!(b.observe(&stop, hmi, plc, T0 + 59 * S), None);
        assert!(matches!(b.mode(), Mode::Learn { .. }));
        // The deadline passes: known traffic is fine ...
        assert_eq!(b.observe(&read(1), hmi, plc, T0 + 61 * S), None);
        assert_eq!(b.mode(), Mode::Enforce);
        assert_eq!(b.observe(&stop, hmi, plc, T0 + 62 * S), None);
        // ... a new client is a new pair, reported once.
        let d = b
            .observe(&read(1), ews, plc, T0 + 63 * S)
            .expect("new pair");
        assert_eq!(d.kind, DeviationKind::NewPair);
        assert_eq!((d.client, d.server, d.first_ns), (ews, plc, T0 + 63 * S));
        assert_eq!(b.observe(&read(1), ews, plc, T0 + 64 * S), None);
        // Another function of the same new pair is part of the same report.
        assert_eq!(b.observe(&stop, ews, plc, T0 + 65 * S), None);
        // New function of a known pair, new unit of a known function.
        let diag = Op::new("modbus", "diagnostics", 8, OpClass::Diagnostic);
        let d = b
            .observe(&diag, hmi, plc, T0 + 66 * S)
            .expect("new function");
        assert_eq!(d.kind, DeviationKind::NewFunction);
        assert_eq!(d.function, "diagnostics");
        let d = b
            .observe(&read(7), hmi, plc, T0 + 67 * S)
            .expect("new unit");
        assert_eq!((d.kind.clone(), d.unit), (DeviationKind::NewUnit, Some(7)));
        assert_eq!(b.observe(&read(7), hmi, plc, T0 + 68 * S), None);
        let p = b.pending();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].count, 3);
        assert_eq!(p[0].entries.len(), 2, "{:?}", p[0].entries);
        assert_eq!(b.stats().deviations, 3);
    }

    #[test]
    fn learn_for_starts_at_first_op_and_off_ignores() {
        let (a, c) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let mut b = Baseline::new(BaselineConfig {
            mode: Mode::LearnFor {
                duration_ns: 10 * S,
            },
            ..BaselineConfig::default()
        });
        assert_eq!(b.observe(&read(1), a, c, T0), None);
        assert_eq!(
            b.mode(),
            Mode::Learn {
                until_ns: T0 + 10 * S
            }
        );
        assert!(b.observe(&read(2), a, c, T0 + 10 * S).is_some());
        b.set_mode(Mode::Off);
        assert_eq!(b.observe(&read(3), a, c, T0 + 11 * S), None);
        assert_eq!(b.stats().pending, 1);
    }

    #[test]
    fn value_ranges() {
        let (hmi, plc) = (ip("10.0.0.10"), ip("10.0.0.20"));
        let mut b = learned();
        assert_eq!(
            b.list_ranges()
                .iter()
                .map(|r| (r.address, r.min, r.max, r.count))
                .collect::<Vec<_>>(),
            vec![(Some(100), 20.0, 80.0, 3)]
        );
        assert_eq!(
            b.observe(&write(1, 100, 35.5), hmi, plc, T0 + 200 * S),
            None
        );
        let d = b
            .observe(&write(1, 100, 95.0), hmi, plc, T0 + 201 * S)
            .expect("out of range");
        assert_eq!(
            d.kind,
            DeviationKind::ValueOutOfRange {
                min: 20.0,
                max: 80.0,
                value: 95.0
            }
        );
        assert_eq!(d.address, Some(100));
        // Once per key; the pending deviation collects the extremes.
        assert_eq!(b.observe(&write(1, 100, 5.0), hmi, plc, T0 + 202 * S), None);
        assert_eq!(b.pending()[0].values, Some([5.0, 95.0]));
        // A write to another address is a new address.
        let d = b
            .observe(&write(1, 101, 1.0), hmi, plc, T0 + 203 * S)
            .expect("new address");
        assert_eq!(d.kind, DeviationKind::NewAddress { value: 1.0 });
        // NaN is ignored; reads carry no set-points.
        assert_eq!(
            b.observe(&write(1, 100, f64::NAN), hmi, plc, T0 + 204 * S),
            None
        );
        // One value per item: value i belongs to address + i.
        let mut multi = Op::new("modbus", "write_multiple_registers", 16, OpClass::Write);
        multi.unit = Some(1);
        multi.address = Some(200);
        multi.quantity = Some(3);
        multi.values = vec![1.0, 2.0, 3.0];
        let mut b = learning(u64::MAX);
        b.observe(&multi, hmi, plc, T0);
        let addrs: Vec<_> = b.list_ranges().iter().map(|r| (r.address, r.min)).collect();
        assert_eq!(
            addrs,
            vec![(Some(200), 1.0), (Some(201), 2.0), (Some(202), 3.0)]
        );
    }

    #[test]
    fn approve_merges_pending() {
        let (hmi, plc, ews) = (ip("10.0.0.10"), ip("10.0.0.20"), ip("10.0.0.99"));
        let mut b = learned();
        let n = b.list().len();
        let stop = Op::new("modbus", "write_single_coil", 5, OpClass::Write);
        assert!(b.observe(&read(1), ews, plc, T0 + 200 * S).is_some());
        assert_eq!(b.observe(&stop, ews, plc, T0 + 201 * S), None);
        assert!(b
            .observe(&write(1, 100, 99.0), hmi, plc, T0 + 202 * S)
            .is_some());
        // Approve only the new pair: both functions seen under it are added.
        let r = b.approve_where(|d| d.kind == DeviationKind::NewPair);
        assert_eq!(
            r,
            ApproveReport {
                approved: 1,
                not_fitting: 0
            }
        );
        assert_eq!(b.list().len(), n + 2);
        assert_eq!(b.observe(&stop, ews, plc, T0 + 203 * S), None);
        assert_eq!(b.pending().len(), 1);
        // Approving the range widens it.
        assert_eq!(b.approve_all().approved, 1);
        assert_eq!(b.list_ranges()[0].max, 99.0);
        assert_eq!(
            b.observe(&write(1, 100, 99.0), hmi, plc, T0 + 204 * S),
            None
        );
        assert!(b.pending().is_empty());
        // A deviation from an EVE record, no longer pending, still approves.
        let d = b
            .observe(&read(3), hmi, plc, T0 + 205 * S)
            .expect("new unit");
        assert_eq!(b.dismiss_where(|_| true), 1);
        assert!(b.approve_deviation(&d));
        assert_eq!(b.observe(&read(3), hmi, plc, T0 + 206 * S), None);
    }

    #[test]
    fn diff_by_key() {
        let (hmi, plc, ews) = (ip("10.0.0.10"), ip("10.0.0.20"), ip("10.0.0.99"));
        let a = learned();
        let mut b = learned();
        assert!(a.diff(&b).is_empty());
        b.set_mode(Mode::Learn { until_ns: u64::MAX });
        b.observe(&read(1), ews, plc, T0 + 300 * S);
        b.observe(&write(1, 100, 90.0), hmi, plc, T0 + 301 * S);
        let d = a.diff(&b);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].client, ews);
        assert!(d.removed.is_empty());
        assert_eq!(d.ranges_changed.len(), 1);
        assert_eq!(
            (d.ranges_changed[0].0.max, d.ranges_changed[0].1.max),
            (80.0, 90.0)
        );
        let back = b.diff(&a);
        assert_eq!(back.removed.len(), 1);
        assert!(back.added.is_empty());
    }

    #[test]
    fn list_is_sorted() {
        let mut b = learning(u64::MAX);
        for (c, u) in [
            ("10.0.0.3", 2),
            ("10.0.0.1", 9),
            ("10.0.0.3", 1),
            ("10.0.0.2", 1),
        ] {
            b.observe(&read(u), ip(c), ip("10.0.0.20"), T0);
        }
        let keys: Vec<_> = b
            .list()
            .iter()
            .map(|e| (e.client.to_string(), e.unit))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("10.0.0.1".to_string(), Some(9)),
                ("10.0.0.2".to_string(), Some(1)),
                ("10.0.0.3".to_string(), Some(1)),
                ("10.0.0.3".to_string(), Some(2)),
            ]
        );
    }

    #[test]
    fn save_load_round_trip_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.json");
        let (hmi, plc, ews) = (ip("10.0.0.10"), ip("fd00::20"), ip("10.0.0.99"));
        let mut b = learned();
        b.observe(&read(1), hmi, plc, T0 + 200 * S);
        assert!(b.observe(&read(1), ews, plc, T0 + 201 * S).is_some());
        b.save(&path).unwrap();
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut c = Baseline::load(&path, BaselineConfig::default()).unwrap();
        assert_eq!(c.list(), b.list());
        assert_eq!(c.list_ranges(), b.list_ranges());
        assert_eq!(c.pending(), b.pending());
        assert_eq!(c.mode(), Mode::Enforce, "learn_for resumes enforcement");
        // After the restart the pending deviation is not reported again,
        // known traffic passes, new traffic is still reported.
        assert_eq!(c.observe(&read(1), ews, plc, T0 + 300 * S), None);
        assert_eq!(
            c.observe(&read(1), hmi, ip("10.0.0.20"), T0 + 301 * S),
            None
        );
        assert!(c
            .observe(&read(5), hmi, ip("10.0.0.20"), T0 + 302 * S)
            .is_some());
        // The text is stable apart from saved_at.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"format\": \"sensor-baseline\""), "{text}");
        assert!(text.contains("\"kind\": \"new_pair\""), "{text}");
    }

    #[test]
    fn resume_modes() {
        let learn_for = Mode::LearnFor { duration_ns: 5 };
        let learn = Mode::Learn { until_ns: 9 };
        assert_eq!(learn_for.resume(Mode::Enforce), Mode::Enforce);
        assert_eq!(learn_for.resume(learn), learn);
        assert_eq!(learn_for.resume(Mode::Off), learn_for);
        assert_eq!(Mode::Off.resume(Mode::Enforce), Mode::Off);
        assert_eq!(learn.resume(Mode::Enforce), learn);
        assert_eq!(Mode::Enforce.resume(learn), Mode::Enforce);
    }

    fn load_text(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, text).unwrap();
        match Baseline::load(&path, BaselineConfig::default()) {
            Ok(_) => panic!("loaded a bad file: {text}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("b.json"), "message names the file: {msg}");
                msg
            }
        }
    }

    fn good_file() -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        learned().save(&path).unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn bad_files_are_rejected_with_reasons() {
        let good = good_file();
        // Truncated.
        let msg = load_text(&good[..good.len() / 2]);
        assert!(
            msg.contains("ends early") && msg.contains("truncated"),
            "{msg}"
        );
        // Empty.
        assert!(load_text("").contains("ends early"));
        // Not JSON.
        let msg = load_text("format = 'toml'\n");
        assert!(msg.contains("not valid JSON at line 1"), "{msg}");
        // Another format.
        let msg = load_text(&good.replace("sensor-baseline", "sensor-assets"));
        assert!(msg.contains("not a sensor-baseline file"), "{msg}");
        // Wrong versions.
        let msg = load_text(&good.replace("\"version\": 1", "\"version\": 2"));
        assert!(
            msg.contains("version 2") && msg.contains("newer sensor"),
            "{msg}"
        );
        let msg = load_text(&good.replace("\"version\": 1", "\"version\": 0"));
        assert!(
            msg.contains("version 0; this sensor reads version 1 only"),
            "{msg}"
        );
        // Wrong types.
        let msg = load_text(&good.replace("\"version\": 1", "\"version\": \"1\""));
        assert!(
            msg.contains("invalid type: string \"1\", expected u64"),
            "{msg}"
        );
        let msg = load_text(&good.replacen("\"count\": 10", "\"count\": -1", 1));
        assert!(msg.contains("invalid value: integer `-1`"), "{msg}");
        let msg =
            load_text(&good.replacen("\"client\": \"10.0.0.10\"", "\"client\": \"plc-1\"", 1));
        assert!(msg.contains("invalid IP address syntax"), "{msg}");
        // Missing and unknown fields.
        let msg = load_text(&good.replace("\"mode\": \"enforce\",", ""));
        assert!(msg.contains("missing field `mode`"), "{msg}");
        let msg = load_text(&good.replacen("\"count\"", "\"cnt\"", 1));
        assert!(msg.contains("unknown field `cnt`"), "{msg}");
        // Unusable content.
        let msg = load_text(&good.replacen("\"max\": 80.0", "\"max\": 1.0", 1));
        assert!(
            msg.contains("ranges[0]: min 20 and max 1 are not a finite range"),
            "{msg}"
        );
        // Missing file.
        let dir = tempfile::tempdir().unwrap();
        let e =
            Baseline::load(&dir.path().join("none.json"), BaselineConfig::default()).unwrap_err();
        assert!(e.to_string().contains("none.json: cannot read"), "{e}");
    }

    #[test]
    fn file_larger_than_bounds_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        learned().save(&path).unwrap();
        let cfg = BaselineConfig {
            max_entries: 1,
            ..BaselineConfig::default()
        };
        let e = Baseline::load(&path, cfg).unwrap_err().to_string();
        assert!(
            e.contains("2 entries, more than the configured baseline max_entries of 1"),
            "{e}"
        );
    }

    #[test]
    fn bounded_memory() {
        let plc = ip("10.0.0.20");
        let mut b = Baseline::new(BaselineConfig {
            mode: Mode::Learn {
                until_ns: T0 + 1_000 * S,
            },
            max_entries: 100,
            max_ranges: 10,
            max_pending: 16,
            value_ranges: true,
        });
        for i in 0..1_000u32 {
            let client = IpAddr::from([10, 1, (i >> 8) as u8, i as u8]);
            b.observe(&write(1, i, 1.0), client, plc, T0 + u64::from(i));
        }
        let s = b.stats();
        assert_eq!((s.entries, s.ranges), (100, 10));
        assert_eq!(s.overflow.entries, 900);
        assert_eq!(s.overflow.ranges, 990);
        // Enforcing: every new client is reported; pending stays bounded.
        let mut reported = 0;
        for i in 0..1_000u32 {
            let client = IpAddr::from([10, 2, (i >> 8) as u8, i as u8]);
            reported += usize::from(b.observe(&read(1), client, plc, T0 + 2_000 * S).is_some());
        }
        assert_eq!(reported, 1_000);
        let s = b.stats();
        assert_eq!(s.pending, 16);
        assert_eq!(s.overflow.pending_evicted, 1_000 - 16);
        // A pending deviation collects a bounded number of entries.
        let client = ip("10.3.0.1");
        for u in 0..1_000 {
            b.observe(&read(u), client, plc, T0 + 3_000 * S);
        }
        let p = b.pending();
        let last = p.last().unwrap();
        assert_eq!(last.count, 1_000);
        assert_eq!(last.entries.len(), MAX_KEYS_PER_DEVIATION);
        // Approval beyond capacity: what does not fit stays pending.
        let r = b.approve_all();
        assert_eq!(r.approved, 0);
        assert_eq!(r.not_fitting, 16);
        assert_eq!(b.stats().pending, 16);
    }

    #[test]
    fn deviation_serialises_flat() {
        let d = Deviation {
            kind: DeviationKind::ValueOutOfRange {
                min: 0.0,
                max: 50.0,
                value: 99.0,
            },
            client: ip("10.0.0.1"),
            server: ip("10.0.0.2"),
            proto: "modbus".into(),
            function: "write_single_register".into(),
            unit: Some(1),
            address: Some(100),
            first_ns: 5,
        };
        let s = serde_json::to_string(&d).unwrap();
        assert_eq!(
            s,
            r#"{"kind":"value_out_of_range","min":0.0,"max":50.0,"value":99.0,"client":"10.0.0.1","server":"10.0.0.2","proto":"modbus","function":"write_single_register","unit":1,"address":100,"first_ns":5}"#
        );
        let back: Deviation = serde_json::from_str(&s).unwrap();
        assert_eq!(back, d);
        assert_eq!(d.kind.as_str(), "value_out_of_range");
    }

    #[test]
    fn write_atomic_keeps_old_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        std::fs::write(&path, "old").unwrap();
        let r = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
