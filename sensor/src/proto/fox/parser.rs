//! Parsing of Niagara Fox messages (plaintext).

/// Largest message reassembled (hello messages are ~0.5 KiB; larger
/// messages are skipped).
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Tuples kept per message.
pub const MAX_FIELDS: usize = 64;
/// Nesting depth of `m:` (message) values accepted.
pub const MAX_DEPTH: usize = 8;
/// Longest header token / key / value kept.
pub const MAX_TOKEN: usize = 256;

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoxError {
    /// Does not start with `fox `.
    NotFox,
    /// Header line malformed.
    BadHeader,
    /// Body malformed (bad tuple, blob length, nesting too deep).
    BadBody,
    /// Message incomplete.
    Truncated,
}

/// `fox <frame type> <seq> <reply> <channel> <command>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoxHeader<'a> {
    /// `a` async, `s` sync, `k` keep-alive, `r` reply, `e` error, `n`
    /// null.
    pub frame_type: u8,
    pub seq: i64,
    pub reply: i64,
    pub channel: &'a str,
    pub command: &'a str,
}

/// One `key=type:value` tuple of the top-level body. Blob / object values
/// are the bytes inside the brackets; nested messages have an empty
/// value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub key: &'a str,
    pub kind: u8,
    pub value: &'a [u8],
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoxMessage<'a> {
    pub header: FoxHeader<'a>,
    /// Top-level tuples (first [`MAX_FIELDS`]).
    pub fields: Vec<Field<'a>>,
    pub truncated: bool,
}

impl FoxMessage<'_> {
    /// Value of a top-level string-ish tuple as text.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| std::str::from_utf8(f.value).ok())
    }
}

fn find_nl(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&c| c == b'\n')
        .map(|p| p + from)
}

fn parse_header_line(line: &[u8]) -> Result<FoxHeader<'_>, FoxError> {
    let s = std::str::from_utf8(line).map_err(|_| FoxError::BadHeader)?;
    let s = s.strip_suffix('\r').unwrap_or(s);
    let mut it = s.splitn(6, ' ');
    if it.next() != Some("fox") {
        return Err(FoxError::NotFox);
    }
    let ft = it.next().ok_or(FoxError::BadHeader)?;
    let seq = it.next().ok_or(FoxError::BadHeader)?;
    let reply = it.next().ok_or(FoxError::BadHeader)?;
    let channel = it.next().ok_or(FoxError::BadHeader)?;
    let command = it.next().unwrap_or("");
    let &[frame_type] = ft.as_bytes() else {
        return Err(FoxError::BadHeader);
    };
    if !frame_type.is_ascii_lowercase() && frame_type != b'?' {
        return Err(FoxError::BadHeader);
    }
    Ok(FoxHeader {
        frame_type,
        seq: seq.parse().map_err(|_| FoxError::BadHeader)?,
        reply: reply.parse().map_err(|_| FoxError::BadHeader)?,
        channel,
        command,
    })
}

/// Parse `N[` at `b[at..]`, returning N and the offset after `[`.
fn blob_len(b: &[u8], at: usize) -> Result<(usize, usize), FoxError> {
    let mut n: usize = 0;
    let mut i = at;
    let mut digits = 0;
    loop {
        match b.get(i) {
            Some(c @ b'0'..=b'9') => {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(usize::from(c - b'0')))
                    .filter(|n| *n <= MAX_MESSAGE)
                    .ok_or(FoxError::BadBody)?;
                digits += 1;
                i += 1;
            }
            Some(b'[') if digits > 0 => return Ok((n, i + 1)),
            Some(_) => return Err(FoxError::BadBody),
            None => return Err(FoxError::Truncated),
        }
    }
}

/// Walk a complete message starting at `b[0]`. Returns its length and
/// the top-level fields (when `fields` is given).
fn walk<'a>(
    b: &'a [u8],
    mut fields: Option<&mut Vec<Field<'a>>>,
    truncated: &mut bool,
) -> Result<usize, FoxError> {
    // Header line.
    let n = b.len().min(4);
    if b[..n] != b"fox "[..n] {
        return Err(FoxError::NotFox);
    }
    let Some(eol) = find_nl(b, 0) else {
        return if b.len() > MAX_TOKEN * 4 {
            Err(FoxError::BadHeader)
        } else {
            Err(FoxError::Truncated)
        };
    };
    parse_header_line(&b[..eol])?;
    let mut at = eol + 1;
    // Empty body: ";;\n".
    match b.get(at..at + 2) {
        None => return Err(FoxError::Truncated),
        Some(b";;") => {
            return match b.get(at + 2) {
                Some(b'\n') => Ok(at + 3),
                Some(_) => Ok(at + 2),
                None => Err(FoxError::Truncated),
            }
        }
        Some(b"{\n") => at += 2,
        Some(_) => return Err(FoxError::BadBody),
    }
    let mut depth = 0usize;
    loop {
        if at > MAX_MESSAGE {
            return Err(FoxError::BadBody);
        }
        let line_start = at;
        match b.get(at) {
            None => return Err(FoxError::Truncated),
            Some(b'}') => {
                if depth == 0 {
                    // "};;" ends the message.
                    return match b.get(at + 1..at + 3) {
                        Some(b";;") => match b.get(at + 3) {
                            Some(b'\n') => Ok(at + 4),
                            Some(_) => Ok(at + 3),
                            None => Err(FoxError::Truncated),
                        },
                        Some(_) => Err(FoxError::BadBody),
                        None => Err(FoxError::Truncated),
                    };
                }
                depth -= 1;
                at = find_nl(b, at).ok_or(FoxError::Truncated)? + 1;
                continue;
            }
            Some(b'\n') | Some(b'\r') => {
                at += 1;
                continue;
            }
            Some(_) => {}
        }
        // key=t:value
        let eq = b.get(at..).and_then(|r| {
            r.iter()
                .take(MAX_TOKEN)
                .position(|&c| c == b'=' || c == b'\n')
        });
        let Some(eq) = eq else {
            return if b.len() - at < MAX_TOKEN {
                Err(FoxError::Truncated)
            } else {
                Err(FoxError::BadBody)
            };
        };
        if b.get(at + eq) != Some(&b'=') {
            return Err(FoxError::BadBody);
        }
        let key = &b[at..at + eq];
        let kind = *b.get(at + eq + 1).ok_or(FoxError::Truncated)?;
        match b.get(at + eq + 2) {
            Some(b':') => {}
            Some(_) => return Err(FoxError::BadBody),
            None => return Err(FoxError::Truncated),
        }
        let vstart = at + eq + 3;
        let (value, next) = match kind {
            b'b' => {
                let (len, data) = blob_len(b, vstart)?;
                let end = data + len;
                match b.get(end) {
                    Some(b']') => {}
                    Some(_) => return Err(FoxError::BadBody),
                    None => return Err(FoxError::Truncated),
                }
                (
                    &b[data..end],
                    find_nl(b, end).ok_or(FoxError::Truncated)? + 1,
                )
            }
            b'o' => {
                // "<type> N[...]"
                let sp = b.get(vstart..).and_then(|r| {
                    r.iter()
                        .take(MAX_TOKEN)
                        .position(|&c| c == b' ' || c == b'\n')
                });
                let Some(sp) = sp else {
                    return Err(FoxError::Truncated);
                };
                if b.get(vstart + sp) != Some(&b' ') {
                    return Err(FoxError::BadBody);
                }
                let (len, data) = blob_len(b, vstart + sp + 1)?;
                let end = data + len;
                match b.get(end) {
                    Some(b']') => {}
                    Some(_) => return Err(FoxError::BadBody),
                    None => return Err(FoxError::Truncated),
                }
                (
                    &b[data..end],
                    find_nl(b, end).ok_or(FoxError::Truncated)? + 1,
                )
            }
            b'm' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(FoxError::BadBody);
                }
                (
                    &b[vstart..vstart],
                    find_nl(b, vstart).ok_or(FoxError::Truncated)? + 1,
                )
            }
            _ => {
                let eol = find_nl(b, vstart).ok_or(FoxError::Truncated)?;
                let mut v = &b[vstart..eol];
                if let [rest @ .., b'\r'] = v {
                    v = rest;
                }
                (v, eol + 1)
            }
        };
        if depth == 0 || (kind == b'm' && depth == 1) {
            if let Some(f) = fields.as_deref_mut() {
                if f.len() < MAX_FIELDS {
                    if let Ok(k) = std::str::from_utf8(key) {
                        f.push(Field {
                            key: k,
                            kind,
                            value,
                        });
                    }
                } else {
                    *truncated = true;
                }
            }
        }
        debug_assert!(next > line_start);
        at = next;
    }
}

/// Length of the complete message at the start of `b`: `Ok(None)` when
/// more bytes are needed.
pub fn message_len(b: &[u8]) -> Result<Option<usize>, FoxError> {
    let mut t = false;
    match walk(b, None, &mut t) {
        Ok(n) => Ok(Some(n)),
        Err(FoxError::Truncated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Parse one complete message.
pub fn parse_message(b: &[u8]) -> Result<FoxMessage<'_>, FoxError> {
    let eol = find_nl(b, 0).ok_or(FoxError::Truncated)?;
    let header = parse_header_line(&b[..eol])?;
    let mut fields = Vec::new();
    let mut truncated = false;
    walk(b, Some(&mut fields), &mut truncated)?;
    Ok(FoxMessage {
        header,
        fields,
        truncated,
    })
}
