//! Helpers shared by the end-to-end tests: run the real `sensor` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn sensor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sensor"))
}

/// `../shared/testdata`, or None with a visible note.
pub fn testdata(test: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED {test}: ../shared/testdata is absent");
        None
    }
}

pub struct Run {
    pub code: i32,
    pub stderr: String,
    pub records: Vec<Value>,
}

/// Replay `files` with extra args; EVE into a temp file, parsed.
pub fn replay(files: &[&Path], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let mut c = sensor();
    c.arg("replay")
        .args(files)
        .arg("--eve")
        .arg(&eve)
        .arg("--no-progress");
    c.args(extra);
    let out = c.output().expect("run sensor");
    let text = std::fs::read_to_string(&eve).unwrap_or_default();
    let records = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad EVE line {e}: {l}")))
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        records,
    }
}

/// Every capture file under a directory, sorted.
pub fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng" | "cap")
            ) {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Resolve a dotted path with `[i]` indices ("dns.answers[0].rdata").
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (name, idx) = match part.find('[') {
            Some(i) => (&part[..i], Some(&part[i..])),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(mut rest) = idx {
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']')?;
                let n: usize = stripped[..end].parse().ok()?;
                cur = cur.get(n)?;
                rest = &stripped[end + 1..];
            }
        }
    }
    Some(cur)
}

/// A classic pcap file header: microseconds, little-endian, with `link` as
/// the link type (1 = Ethernet).
pub fn pcap_header(link: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes()); // magic, microseconds
    v.extend_from_slice(&2u16.to_le_bytes()); // version major
    v.extend_from_slice(&4u16.to_le_bytes()); // version minor
    v.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    v.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    v.extend_from_slice(&link.to_le_bytes()); // link type
    v
}
