//! Loading indicator lists into an [`IocSetBuilder`].

use std::path::Path;
use std::sync::Arc;

use super::csv::Reader;
use super::parse::{classify, file_hash_type, Rejected};
use super::set::IocSet;
use super::{Indicator, IocError, IocKind, ListFormat, LoadReport, SkippedLine};

/// Collects indicators from files, strings and code, then builds an
/// [`IocSet`]. See the [module docs](super) for formats and semantics.
#[derive(Default)]
pub struct IocSetBuilder {
    indicators: Vec<Indicator>,
    seen: foldhash::HashSet<(IocKind, Box<str>)>,
}

/// What happened to one input line.
enum Outcome {
    Add(Indicator),
    Skip(u32, String, Rejected),
}

impl IocSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Indicators collected so far.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// True when nothing was collected yet.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Reads and loads one file; see [`load_str`](Self::load_str). Invalid
    /// UTF-8 is replaced (the affected lines are then skipped as invalid).
    pub fn load_file(&mut self, path: &Path, strict: bool) -> Result<LoadReport, IocError> {
        let bytes = std::fs::read(path).map_err(|source| IocError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        self.load_str(&path.display().to_string(), &text, strict)
    }

    /// Loads indicators from `text`; `name` is the file name used for
    /// reports, [`Indicator::file`] and maltrail actor / source derivation.
    ///
    /// Non-strict: bad lines are recorded in [`LoadReport::skipped`] and the
    /// valid ones load. Strict: the first bad line is returned as
    /// [`IocError::Strict`] and nothing from this text is added.
    /// Not-observable lines (file hashes) are never errors.
    pub fn load_str(
        &mut self,
        name: &str,
        text: &str,
        strict: bool,
    ) -> Result<LoadReport, IocError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file: Arc<str> = Arc::from(name);
        let format = detect_format(text);
        let mut outcomes = Vec::new();
        match format.0 {
            ListFormat::Plain => parse_plain(name, &file, text, &mut outcomes),
            ListFormat::Delimited(d) => {
                parse_delimited(name, &file, text, format.1, d, &mut outcomes)
            }
        }
        let mut report = LoadReport {
            file: name.to_string(),
            format: format.0,
            ..LoadReport::default()
        };
        let mut staged = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            match o {
                Outcome::Add(ind) => staged.push(ind),
                Outcome::Skip(line, text, rej) => {
                    if strict {
                        if let Rejected::Invalid(reason) = rej {
                            return Err(IocError::Strict {
                                path: name.to_string(),
                                line,
                                reason,
                            });
                        }
                    }
                    report.skipped.push(SkippedLine {
                        line,
                        text: truncate(&text, SkippedLine::MAX_TEXT),
                        not_observable: matches!(rej, Rejected::NotObservable(_)),
                        reason: match rej {
                            Rejected::Invalid(r) => r,
                            Rejected::NotObservable(r) => r.to_string(),
                        },
                    });
                }
            }
        }
        let mut counts = [0usize; IocKind::ALL.len()];
        for ind in staged {
            let kind = ind.kind;
            if self.insert(ind) {
                counts[kind.index()] += 1;
            } else {
                report.duplicates += 1;
            }
        }
        report.loaded_by_kind = IocKind::ALL
            .iter()
            .map(|k| (*k, counts[k.index()]))
            .collect();
        Ok(report)
    }

    /// Adds one indicator programmatically. Its value is normalised (and
    /// its kind checked) like a typed list entry. Returns `false` when the
    /// value is invalid or a duplicate; use [`try_add`](Self::try_add) to
    /// learn why.
    pub fn add(&mut self, ind: Indicator) -> bool {
        self.try_add(ind).unwrap_or(false)
    }

    /// Like [`add`](Self::add) but reports an invalid value. `Ok(false)`
    /// means duplicate.
    pub fn try_add(&mut self, mut ind: Indicator) -> Result<bool, Rejected> {
        let (kind, value) = classify(&ind.value, Some(ind.kind))?;
        ind.kind = kind;
        ind.value = value;
        Ok(self.insert(ind))
    }

    fn insert(&mut self, ind: Indicator) -> bool {
        if self.seen.insert((ind.kind, ind.value.as_str().into())) {
            self.indicators.push(ind);
            true
        } else {
            false
        }
    }

    /// Freezes the collected indicators into a lookup structure, assigning
    /// signature ids.
    pub fn build(self) -> IocSet {
        drop(self.seen);
        IocSet::from_indicators(self.indicators)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn line_no(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

/// Finds the first non-blank, non-comment line; CSV/TSV when it is a header
/// naming a value column. Returns the format and the header's byte offset.
fn detect_format(text: &str) -> (ListFormat, usize) {
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim();
        let here = offset;
        offset += raw.len();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let delim = if line.contains('\t') {
            b'\t'
        } else if line.contains(',') {
            b','
        } else if line.contains(';') {
            b';'
        } else {
            b','
        };
        let is_header = line
            .split(char::from(delim))
            .map(|f| f.trim().trim_matches('"').trim())
            .any(|f| column_of(f) == Some(Column::Value));
        return if is_header {
            (ListFormat::Delimited(delim), here)
        } else {
            (ListFormat::Plain, 0)
        };
    }
    (ListFormat::Plain, 0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Type,
    Value,
    Actor,
    Source,
    Confidence,
    Reference,
}

fn column_of(name: &str) -> Option<Column> {
    let mut buf = [0u8; 24];
    let lower = super::parse::lower_into(name, &mut buf)?;
    Some(match lower {
        b"type" | b"kind" | b"indicator_type" => Column::Type,
        b"value" | b"indicator" | b"ioc" => Column::Value,
        b"actor" | b"threat_actor" => Column::Actor,
        b"source" => Column::Source,
        b"confidence" => Column::Confidence,
        b"reference" => Column::Reference,
        _ => return None,
    })
}

fn file_stem(name: &str) -> &str {
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name)
}

/// maltrail naming: `apt_<actor>[-<n>].txt`.
fn actor_from_stem(stem: &str) -> Option<String> {
    let rest = stem.strip_prefix("apt_")?;
    let rest = match rest.rsplit_once('-') {
        Some((a, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => a,
        _ => rest,
    };
    (!rest.is_empty()).then(|| rest.to_ascii_lowercase())
}

/// Drops a trailing comment: `#` preceded by whitespace.
fn strip_trailing_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for (i, &c) in b.iter().enumerate().skip(1) {
        if c == b'#' && b[i - 1].is_ascii_whitespace() {
            return line[..i].trim_end();
        }
    }
    line
}

/// `# Reference: URL (note)` → the URL (first token containing `://`),
/// else the whole text.
fn reference_of(comment: &str) -> Option<String> {
    let mut r = comment.trim();
    loop {
        let t = r.trim_start_matches('#').trim_start();
        match strip_prefix_ci(t, "reference:") {
            Some(rest) => r = rest.trim(),
            None => break,
        }
    }
    if r.is_empty() {
        return None;
    }
    let url = r
        .split_whitespace()
        .find(|w| w.contains("://"))
        .unwrap_or(r);
    Some(url.to_string())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn parse_plain(name: &str, file: &Arc<str>, text: &str, out: &mut Vec<Outcome>) {
    let stem = file_stem(name);
    // The actor comes from the file name (`apt_kimsuky.txt`), or from an
    // `# actor: NAME` comment, which applies to the lines after it.
    let mut actor = actor_from_stem(stem);
    let mut source: Option<String> = None;
    let mut maltrail = false;
    let mut reference: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            if source.is_none() && !maltrail && comment.to_ascii_lowercase().contains("maltrail") {
                maltrail = true;
            }
            if strip_prefix_ci(comment, "reference:").is_some() {
                reference = reference_of(comment);
            }
            if let Some(a) = strip_prefix_ci(comment, "actor:") {
                let a = a.trim();
                actor = (!a.is_empty()).then(|| a.to_string());
            }
            continue;
        }
        let src = source.get_or_insert_with(|| {
            if maltrail {
                "maltrail".to_string()
            } else {
                stem.to_string()
            }
        });
        let value = strip_trailing_comment(line);
        let lineno = line_no(i);
        match classify(value, None) {
            Ok((kind, value)) => out.push(Outcome::Add(Indicator {
                kind,
                value,
                actor: actor.clone(),
                source: Some(src.clone()),
                confidence: None,
                reference: reference.clone(),
                signature_id: 0,
                file: Arc::clone(file),
                line: lineno,
            })),
            Err(rej) => out.push(Outcome::Skip(lineno, line.to_string(), rej)),
        }
    }
}

fn parse_delimited(
    name: &str,
    file: &Arc<str>,
    text: &str,
    header_at: usize,
    delim: u8,
    out: &mut Vec<Outcome>,
) {
    let first_line = line_no(text[..header_at].bytes().filter(|&c| c == b'\n').count());
    let stem = file_stem(name);
    let mut reader = Reader::new(&text[header_at..], delim, first_line);
    let Some(Ok(header)) = reader.next_record() else {
        out.push(Outcome::Skip(
            first_line,
            String::new(),
            Rejected::Invalid("unreadable header".into()),
        ));
        return;
    };
    let columns: Vec<Option<Column>> = header.fields.iter().map(|f| column_of(f)).collect();
    let col = |c: Column| columns.iter().position(|x| *x == Some(c));
    let (c_type, c_value, c_actor, c_source, c_conf, c_ref) = (
        col(Column::Type),
        col(Column::Value),
        col(Column::Actor),
        col(Column::Source),
        col(Column::Confidence),
        col(Column::Reference),
    );
    let skip = |line: u32, raw: &str, reason: String| {
        Outcome::Skip(line, raw.to_string(), Rejected::Invalid(reason))
    };
    while let Some(rec) = reader.next_record() {
        let rec = match rec {
            Ok(r) => r,
            Err(bad) => {
                out.push(skip(bad.line, bad.raw, bad.reason.to_string()));
                continue;
            }
        };
        if rec.fields.iter().all(|f| f.is_empty()) || rec.fields[0].starts_with('#') {
            continue;
        }
        if rec.fields.len() > columns.len() {
            let reason = format!(
                "{} fields but the header has {}",
                rec.fields.len(),
                columns.len()
            );
            out.push(skip(rec.line, rec.raw, reason));
            continue;
        }
        let field = |c: Option<usize>| {
            c.and_then(|i| rec.fields.get(i))
                .map(String::as_str)
                .filter(|s| !s.is_empty())
        };
        let Some(value) = field(c_value) else {
            out.push(skip(rec.line, rec.raw, "empty value".into()));
            continue;
        };
        let kind = match field(c_type) {
            None => None,
            Some(t) => match IocKind::from_name(t) {
                Some(k) => Some(k),
                None => {
                    let rej = match file_hash_type(t) {
                        Some(reason) => Rejected::NotObservable(reason),
                        None => Rejected::Invalid(format!("unknown type {t:?}")),
                    };
                    out.push(Outcome::Skip(rec.line, rec.raw.to_string(), rej));
                    continue;
                }
            },
        };
        let confidence = match field(c_conf) {
            None => None,
            Some(c) => match c.parse::<u8>() {
                Ok(v) if v <= 100 => Some(v),
                _ => {
                    out.push(skip(
                        rec.line,
                        rec.raw,
                        format!("bad confidence {c:?} (want 0-100)"),
                    ));
                    continue;
                }
            },
        };
        match classify(value, kind) {
            Ok((kind, value)) => out.push(Outcome::Add(Indicator {
                kind,
                value,
                actor: field(c_actor).map(str::to_string),
                source: Some(field(c_source).unwrap_or(stem).to_string()),
                confidence,
                reference: field(c_ref).map(str::to_string),
                signature_id: 0,
                file: Arc::clone(file),
                line: rec.line,
            })),
            Err(rej) => out.push(Outcome::Skip(rec.line, rec.raw.to_string(), rej)),
        }
    }
}
