//! Embeds the shipped rule packs (`packs/<pack>/*.yaml`) into the crate,
//! so the sensor binary carries them and loads them by default.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // The directory is read from the environment when the script runs, not
    // baked in with `env!` when it is compiled: cargo reuses a compiled build
    // script for a checkout at another path (its fingerprint is relative to
    // the workspace), and a baked-in path then points at the old checkout.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("packs");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    if let Ok(packs) = std::fs::read_dir(&dir) {
        for pack in packs.flatten() {
            let p = pack.path();
            if !p.is_dir() {
                continue;
            }
            println!("cargo:rerun-if-changed={}", p.display());
            if let Ok(rd) = std::fs::read_dir(&p) {
                for f in rd.flatten() {
                    let f = f.path();
                    if f.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                        println!("cargo:rerun-if-changed={}", f.display());
                        files.push(f);
                    }
                }
            }
        }
    }
    files.sort();
    assert!(
        !files.is_empty(),
        "no rule pack files under {}: the shipped packs must be built in",
        dir.display()
    );
    let mut out = String::from("/// (pack, file name, text) of every shipped rule file.\npub const BUILTIN: &[(&str, &str, &str)] = &[\n");
    for f in &files {
        let pack = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({pack:?}, {name:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("packs.rs");
    std::fs::write(dest, out).expect("writing packs.rs");
}
