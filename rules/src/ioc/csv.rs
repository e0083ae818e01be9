//! A minimal RFC 4180 record reader.
//!
//! Written here instead of depending on the `csv` crate: feeds are small,
//! we need exact 1-based line numbers of each record for error reports
//! (including records spanning lines inside quotes), lenient recovery from
//! a bad record, and only the subset "delimiter, double quotes, doubled
//! quote escape, CRLF or LF" — about a hundred lines.

/// One record: its first line, raw text (without line break) and fields
/// (unquoted, trimmed).
pub(crate) struct Record<'a> {
    pub line: u32,
    pub raw: &'a str,
    pub fields: Vec<String>,
}

/// A record that could not be read.
pub(crate) struct BadRecord<'a> {
    pub line: u32,
    pub raw: &'a str,
    pub reason: &'static str,
}

pub(crate) struct Reader<'a> {
    s: &'a str,
    pos: usize,
    line: u32,
    delim: u8,
}

impl<'a> Reader<'a> {
    /// Reads `s`, whose first byte is on line `first_line`.
    pub(crate) fn new(s: &'a str, delim: u8, first_line: u32) -> Self {
        Reader {
            s,
            pos: 0,
            line: first_line,
            delim,
        }
    }

    fn find_from(&self, from: usize, pred: impl Fn(u8) -> bool) -> usize {
        self.s.as_bytes()[from..]
            .iter()
            .position(|&c| pred(c))
            .map_or(self.s.len(), |p| from + p)
    }

    /// Skips the rest of the current line after an error.
    fn resync(
        &mut self,
        from: usize,
        start: usize,
        line: u32,
        reason: &'static str,
    ) -> BadRecord<'a> {
        let nl = self.find_from(from, |c| c == b'\n');
        let raw = self.s[start..nl].trim_end_matches('\r');
        self.pos = (nl + 1).min(self.s.len());
        if nl < self.s.len() {
            self.line = self.line.saturating_add(1);
        }
        BadRecord { line, raw, reason }
    }

    /// The next record, `None` at end of input.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record<'a>, BadRecord<'a>>> {
        let s = self.s;
        let b = s.as_bytes();
        let len = b.len();
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        let line = self.line;
        let mut fields = Vec::new();
        let mut i = start;
        let end;
        loop {
            let mut field = String::new();
            if i < len && b[i] == b'"' {
                i += 1;
                let mut seg = i;
                loop {
                    let q = self.find_from(i, |c| c == b'"');
                    if q >= len {
                        self.pos = len;
                        return Some(Err(BadRecord {
                            line,
                            raw: s[start..].trim_end(),
                            reason: "unterminated quoted field",
                        }));
                    }
                    let chunk = &s[seg..q];
                    let newlines = chunk.bytes().filter(|&c| c == b'\n').count();
                    self.line = self
                        .line
                        .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
                    field.push_str(chunk);
                    if q + 1 < len && b[q + 1] == b'"' {
                        field.push('"');
                        i = q + 2;
                        seg = i;
                    } else {
                        i = q + 1;
                        break;
                    }
                }
                if i < len && !matches!(b[i], b'\n' | b'\r') && b[i] != self.delim {
                    return Some(Err(self.resync(i, start, line, "text after closing quote")));
                }
            } else {
                let e = self.find_from(i, |c| c == self.delim || c == b'\n');
                field.push_str(s[i..e].trim_end_matches('\r'));
                i = e;
            }
            fields.push(field.trim().to_string());
            if i >= len {
                end = len;
                self.pos = len;
                break;
            }
            if b[i] == self.delim {
                i += 1;
                continue;
            }
            end = i;
            if b[i] == b'\r' {
                i += 1;
            }
            if i < len && b[i] == b'\n' {
                i += 1;
                self.line = self.line.saturating_add(1);
            }
            self.pos = i;
            break;
        }
        Some(Ok(Record {
            line,
            raw: s[start..end].trim_end_matches('\r'),
            fields,
        }))
    }
}
