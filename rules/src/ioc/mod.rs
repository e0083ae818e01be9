//! Indicator-of-compromise (IOC) sets.
//!
//! An [`IocSetBuilder`] loads indicator lists (files or strings), normalises
//! every value, drops duplicates and finally [`build`](IocSetBuilder::build)s
//! an immutable [`IocSet`] that the packet path queries. Every lookup is a
//! hash lookup or a trie walk; nothing scans the list of indicators.
//!
//! # Input formats
//!
//! The format is chosen by content: when the first line that is neither blank
//! nor a `#` comment is a header naming a `value` (or `indicator` / `ioc`)
//! column, the file is CSV — or TSV when that header contains a tab, or
//! semicolon separated when it contains `;` but no `,`. Otherwise it is a plain
//! list with one indicator per line.
//!
//! ## Plain lists
//!
//! * `#` starts a comment: full-line, or trailing when preceded by whitespace
//!   (`1.2.3.4:443 # RAT`). A `#` glued to a value (`http://x/#frag`) is kept.
//! * The type is inferred, see [`classify`]: IPv4/IPv6 address, CIDR,
//!   `ip:port` (the port is **ignored**: the indicator becomes a plain IP
//!   indicator and `1.2.3.4:443` / `1.2.3.4:8080` are duplicates), URL with a
//!   scheme (`http://host/` with an empty path becomes a domain or IP
//!   indicator), `host/path` (maltrail style), `/path` alone (matches on any
//!   host), 32 hex digits (JA3 MD5), JA4 fingerprints, 40 hex digits with or
//!   without colons (certificate SHA-1), domain names. SHA-256 / SHA-512 file
//!   hashes are recognised and skipped as *not observable on the wire*; they
//!   are not errors, not even in strict mode.
//! * An explicit type prefix overrides inference: `sni:foo.com`,
//!   `ja3:…`, `domain:…`, `ip:…`, `cidr:…`, `url:…`, `ja4:…`, `cert_sha1:…`
//!   (see [`IocKind::from_name`] for the accepted aliases).
//! * maltrail metadata: the actor is taken from the file name when its stem
//!   starts with `apt_` (`apt_kimsuky.txt` → `kimsuky`,
//!   `apt_gamaredon-1.txt` → `gamaredon`: a trailing `-<digits>` is a
//!   continuation file of the same actor). Other file names give no actor.
//!   The most recent `# Reference: URL` comment is the reference of the
//!   indicators that follow it. The source is `"maltrail"` when a comment
//!   before the first indicator mentions Maltrail, else the file stem.
//!
//! ## CSV / TSV
//!
//! Header columns (case-insensitive, any order, unknown columns ignored):
//! `type` (alias `kind`, `indicator_type`), `value` (alias `indicator`,
//! `ioc`), `actor` (alias `threat_actor`), `source`, `confidence` (integer
//! 0–100), `reference`. Fields may be quoted following RFC 4180 (quoted
//! delimiters, doubled quotes, line breaks inside quotes). An empty type is
//! inferred as for plain lists. The source defaults to the file stem.
//!
//! # Duplicates
//!
//! Identity is `(kind, normalised value)`. The first occurrence wins, later
//! ones are counted in [`LoadReport::duplicates`]; their metadata (actor,
//! reference, …) is **not** merged. Duplicates are detected across all files
//! loaded into one builder.
//!
//! # Signature ids
//!
//! Ids are stable across reloads: `SID_BASE + fnv1a64(kind ‖ 0 ‖ value) mod
//! SID_SPACE` (see [`SID_BASE`], [`SID_SPACE`]). The space holds 2^30 ids so
//! that collisions are rare even for millions of indicators (folding into a
//! 10^6 space would collide thousands of times for 100k indicators). A
//! collision is resolved by linear probing, processing indicators ordered by
//! (hash, kind, value), so the result does not depend on load order either.
//! An indicator passed to [`IocSetBuilder::add`] with a non-zero
//! `signature_id` keeps it; computed ids avoid those.

mod csv;
mod load;
mod parse;
mod set;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

pub use load::IocSetBuilder;
pub use parse::{classify, Rejected};
pub use set::IocSet;

/// First signature id handed out to computed indicator ids.
pub const SID_BASE: u32 = 3_000_000_000;
/// Size of the computed signature id space (`SID_BASE..SID_BASE + SID_SPACE`).
pub const SID_SPACE: u32 = 1 << 30;

/// Reason attached to skipped SHA-256 file-hash lines.
pub const SHA256_REASON: &str = "sha256 file hash: not observable on the wire";

/// The kind of an indicator, i.e. which observable it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IocKind {
    /// A single IPv4 or IPv6 address.
    Ip,
    /// An IPv4 or IPv6 network (longest-prefix match).
    Cidr,
    /// A DNS name; also matches its subdomains, in DNS, HTTP Host and TLS SNI.
    Domain,
    /// `host/path-prefix`, or `/path-prefix` alone for any host.
    Url,
    /// A TLS server name, matched exactly.
    Sni,
    /// JA3 TLS client fingerprint (MD5, 32 hex digits).
    Ja3,
    /// JA4 TLS client fingerprint (`t13d1516h2_8daaf6152771_02713d6af862`).
    Ja4,
    /// SHA-1 of a DER certificate (40 hex digits).
    CertSha1,
}

impl IocKind {
    /// Every kind, in the order used by per-kind counts.
    pub const ALL: [IocKind; 8] = [
        IocKind::Ip,
        IocKind::Cidr,
        IocKind::Domain,
        IocKind::Url,
        IocKind::Sni,
        IocKind::Ja3,
        IocKind::Ja4,
        IocKind::CertSha1,
    ];

    /// Stable lower-case name: `ip`, `cidr`, `domain`, `url`, `sni`, `ja3`,
    /// `ja4`, `cert_sha1`.
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ip => "ip",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Sni => "sni",
            IocKind::Ja3 => "ja3",
            IocKind::Ja4 => "ja4",
            IocKind::CertSha1 => "cert_sha1",
        }
    }

    /// Parses a type name as written in a CSV `type` column or a
    /// `type:value` prefix (case-insensitive). Besides [`as_str`](Self::as_str)
    /// names it accepts `ipv4`, `ipv6`, `ip-dst`, `ip-src`, `ip_address`,
    /// `net`, `network`, `subnet`, `hostname`, `host`, `fqdn`, `uri`,
    /// `tls_sni`, `ja3_md5`, `ja3-fingerprint-md5`, `cert-sha1`, `certsha1`,
    /// `x509-fingerprint-sha1`.
    pub fn from_name(name: &str) -> Option<IocKind> {
        let mut buf = [0u8; 32];
        let lower = parse::lower_into(name.trim(), &mut buf)?;
        Some(match lower {
            b"ip" | b"ipv4" | b"ipv6" | b"ip-dst" | b"ip-src" | b"ip_address" => IocKind::Ip,
            b"cidr" | b"net" | b"network" | b"subnet" => IocKind::Cidr,
            b"domain" | b"hostname" | b"host" | b"fqdn" => IocKind::Domain,
            b"url" | b"uri" => IocKind::Url,
            b"sni" | b"tls_sni" => IocKind::Sni,
            b"ja3" | b"ja3_md5" | b"ja3-fingerprint-md5" => IocKind::Ja3,
            b"ja4" => IocKind::Ja4,
            b"cert_sha1" | b"cert-sha1" | b"certsha1" | b"x509-fingerprint-sha1" => {
                IocKind::CertSha1
            }
            _ => return None,
        })
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for IocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator with its provenance.
#[derive(Clone, Debug)]
pub struct Indicator {
    /// What the value is compared with.
    pub kind: IocKind,
    /// Normalised value: canonical IP / network address, lower-case domain
    /// without trailing dot, `host/path` or `/path` for URLs (host lower-case,
    /// port dropped, path verbatim), lower-case hex for hashes (no colons).
    pub value: String,
    /// Threat actor, e.g. `kimsuky`.
    pub actor: Option<String>,
    /// Feed the indicator came from, e.g. `maltrail`.
    pub source: Option<String>,
    /// Confidence 0–100 when the feed gives one.
    pub confidence: Option<u8>,
    /// Report or URL documenting the indicator.
    pub reference: Option<String>,
    /// Signature id reported in alerts; assigned by
    /// [`IocSetBuilder::build`] when zero (see the module docs).
    pub signature_id: u32,
    /// File (or name given to [`IocSetBuilder::load_str`]) it was read from.
    pub file: Arc<str>,
    /// 1-based line in `file` (0 when added programmatically).
    pub line: u32,
}

impl Indicator {
    /// An indicator without metadata, for programmatic use with
    /// [`IocSetBuilder::add`]; `value` is normalised on insertion.
    pub fn new(kind: IocKind, value: impl Into<String>) -> Indicator {
        Indicator {
            kind,
            value: value.into(),
            actor: None,
            source: None,
            confidence: None,
            reference: None,
            signature_id: 0,
            file: Arc::from(""),
            line: 0,
        }
    }
}

/// A line that did not produce an indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: u32,
    /// The offending text, truncated to [`SkippedLine::MAX_TEXT`] bytes.
    pub text: String,
    /// Why it was skipped.
    pub reason: String,
    /// True for valid lines that are simply not network observable (file
    /// hashes); false for malformed or unsupported lines (errors).
    pub not_observable: bool,
}

impl SkippedLine {
    /// Maximum length of [`SkippedLine::text`] in bytes.
    pub const MAX_TEXT: usize = 120;
}

/// What one `load_*` call did.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// File name (or the name given to `load_str`).
    pub file: String,
    /// Indicators added by this load, per kind, in [`IocKind::ALL`] order
    /// (kinds with zero included). Duplicates are not counted here.
    pub loaded_by_kind: Vec<(IocKind, usize)>,
    /// Lines that produced no indicator, errors and not-observable ones.
    pub skipped: Vec<SkippedLine>,
    /// Lines whose `(kind, value)` was already present.
    pub duplicates: usize,
    /// Detected input format.
    pub format: ListFormat,
}

impl LoadReport {
    /// Total indicators added by this load.
    pub fn loaded(&self) -> usize {
        self.loaded_by_kind.iter().map(|(_, n)| n).sum()
    }

    /// Skipped lines that are valid but not network observable.
    pub fn not_observable(&self) -> usize {
        self.skipped.iter().filter(|s| s.not_observable).count()
    }

    /// Skipped lines that are errors (malformed or unsupported).
    pub fn errors(&self) -> usize {
        self.skipped.len() - self.not_observable()
    }

    /// Indicators added for `kind`.
    pub fn count(&self, kind: IocKind) -> usize {
        self.loaded_by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

/// Input format detected by [`IocSetBuilder::load_str`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    /// One indicator per line.
    #[default]
    Plain,
    /// Delimiter-separated values with a header; the delimiter byte.
    Delimited(u8),
}

/// Errors of the loaders.
#[derive(thiserror::Error, Debug)]
pub enum IocError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// File being read.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Strict mode: the first bad line.
    #[error("{path}:{line}: {reason}")]
    Strict {
        /// File name.
        path: String,
        /// 1-based line number.
        line: u32,
        /// Why the line was rejected.
        reason: String,
    },
}
