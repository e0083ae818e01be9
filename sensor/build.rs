//! Compiles the XDP programs in `ebpf/*.c` into `$OUT_DIR/<name>.o` with
//! Debian's clang (see DESIGN.md, "Decisions"); `capture::xdp` embeds them
//! with `aya::include_bytes_aligned!`.
//!
//! Environment:
//! - `CLANG`: the compiler to run (default `clang`);
//! - `SENSOR_EBPF_DIR`: where the C sources are (default `../ebpf` next to
//!   this crate); headers come from `<dir>/include`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL_HINT: &str = "install clang and libbpf-dev: apt-get install clang libbpf-dev";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CLANG");
    println!("cargo:rerun-if-env-changed=SENSOR_EBPF_DIR");

    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src_dir = env::var_os("SENSOR_EBPF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("..").join("ebpf"));
    let include_dir = src_dir.join("include");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());

    println!("cargo:rerun-if-changed={}", src_dir.display());
    println!("cargo:rerun-if-changed={}", include_dir.display());
    for header in list(&include_dir, "h") {
        println!("cargo:rerun-if-changed={}", header.display());
    }

    let sources = list(&src_dir, "c");
    if sources.is_empty() {
        fail(&format!(
            "no eBPF sources (*.c) found in {}",
            src_dir.display()
        ));
    }

    // Headers: linux/*.h from linux-libc-dev, asm/ from the multiarch dir,
    // bpf/bpf_helpers.h from libbpf-dev.
    if !Path::new("/usr/include/bpf/bpf_helpers.h").exists() {
        println!("cargo:warning=/usr/include/bpf/bpf_helpers.h not found; {INSTALL_HINT}");
    }

    for src in sources {
        println!("cargo:rerun-if-changed={}", src.display());
        let stem = src
            .file_stem()
            .expect("file stem")
            .to_string_lossy()
            .into_owned();
        let obj = out_dir.join(format!("{stem}.o"));
        let output = Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-Wall"])
            .arg("-I/usr/include/x86_64-linux-gnu")
            .arg("-I")
            .arg(&include_dir)
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .output();
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(&format!(
                "`{clang}` not found: the XDP program (ebpf/) is compiled at build time; {INSTALL_HINT}"
            )),
            Err(e) => fail(&format!("could not run `{clang}`: {e}; {INSTALL_HINT}")),
            Ok(out) if !out.status.success() => fail(&format!(
                "`{clang}` failed to compile {} ({}):\n{}\n(if headers are missing: {INSTALL_HINT})",
                src.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )),
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stderr).lines() {
                    println!("cargo:warning={line}");
                }
            }
        }
    }
}

fn list(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    panic!("{msg}");
}
