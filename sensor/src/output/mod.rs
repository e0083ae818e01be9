//! Outputs: EVE JSON lines, written by one thread from the chunks workers
//! serialise. Workers build records in parallel; the writer only copies
//! bytes to the file.

pub mod eve;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::Context;
use crossbeam_channel::{Receiver, Sender};

use crate::metrics::Metrics;

/// Serialised EVE records from a worker: whole lines only.
pub struct OutChunk {
    pub bytes: Vec<u8>,
    pub records: u64,
}

/// Where EVE goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EveTarget {
    Stdout,
    File(PathBuf),
}

impl EveTarget {
    /// `-` is stdout; a relative path is under `log_dir`.
    pub fn resolve(eve: &str, log_dir: &Path) -> EveTarget {
        if eve == "-" {
            EveTarget::Stdout
        } else {
            let p = Path::new(eve);
            if p.is_absolute() || eve.starts_with("./") || eve.starts_with("../") {
                EveTarget::File(p.to_owned())
            } else {
                EveTarget::File(log_dir.join(p))
            }
        }
    }
}

/// What the writer did.
#[derive(Debug, Default, Clone)]
pub struct WriterReport {
    pub records: u64,
    pub bytes: u64,
    pub error: Option<String>,
}

/// Open the target (append) and start the writer thread.
pub fn spawn_writer(
    target: &EveTarget,
    queue: usize,
    metrics: Metrics,
) -> anyhow::Result<(Sender<OutChunk>, JoinHandle<WriterReport>)> {
    let sink: Box<dyn Write + Send> = match target {
        EveTarget::Stdout => Box::new(std::io::stdout()),
        EveTarget::File(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating log directory {}", dir.display()))?;
            }
            let f: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening EVE output {}", p.display()))?;
            Box::new(f)
        }
    };
    let (tx, rx) = crossbeam_channel::bounded::<OutChunk>(queue);
    let h = std::thread::Builder::new()
        .name("eve-writer".into())
        .spawn(move || write_loop(rx, BufWriter::with_capacity(1 << 20, sink), metrics))
        .context("starting the EVE writer thread")?;
    Ok((tx, h))
}

fn write_loop(
    rx: Receiver<OutChunk>,
    mut w: BufWriter<Box<dyn Write + Send>>,
    m: Metrics,
) -> WriterReport {
    // The output file is open: the writer needs no privilege.
    let _ = crate::privs::drop_thread_capabilities();
    let mut rep = WriterReport::default();
    let records = m.output_records.with_label_values(&["eve"]);
    let bytes = m.output_bytes.with_label_values(&["eve"]);
    let dropped = m.output_dropped.with_label_values(&["eve", "write_error"]);
    for chunk in rx.iter() {
        if rep.error.is_some() {
            dropped.inc_by(chunk.records);
            continue;
        }
        match w.write_all(&chunk.bytes) {
            Ok(()) => {
                rep.records += chunk.records;
                rep.bytes += chunk.bytes.len() as u64;
                records.inc_by(chunk.records);
                bytes.inc_by(chunk.bytes.len() as u64);
            }
            Err(e) => {
                rep.error = Some(e.to_string());
                dropped.inc_by(chunk.records);
            }
        }
        // Records reach the file promptly when traffic is slow.
        if rx.is_empty() {
            if let Err(e) = w.flush() {
                rep.error.get_or_insert(e.to_string());
            }
        }
    }
    if let Err(e) = w.flush() {
        rep.error.get_or_insert(e.to_string());
    }
    rep
}
