//! Loads the real maltrail and ESET indicator files shipped in
//! `/work/shared/testdata/ioc` (override with `IOC_TESTDATA`); skipped with a
//! message when the folder is absent. Run with `--nocapture` to see counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rules::ioc::{IocKind, IocSetBuilder, SHA256_REASON};

fn testdata() -> Option<PathBuf> {
    let root = std::env::var_os("IOC_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/testdata/ioc"));
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!(
            "skipping: IOC test data folder {} is absent",
            root.display()
        );
        None
    }
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Groups reasons whose variable part is quoted ("invalid character 'x'").
fn reason_group(r: &str) -> String {
    r.to_string()
}

#[test]
fn maltrail_files_load() {
    let Some(root) = testdata() else { return };
    let dir = root.join("maltrail");
    let paths = files(&dir, "txt");
    if paths.is_empty() {
        eprintln!("skipping: no maltrail *.txt in {}", dir.display());
        return;
    }
    let mut b = IocSetBuilder::default();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let (mut total_loaded, mut total_skipped, mut total_lines) = (0usize, 0usize, 0usize);
    for p in &paths {
        let r = b.load_file(p, false).expect("maltrail file loads");
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        total_lines += entries;
        let kinds: Vec<String> = r
            .loaded_by_kind
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        println!(
            "{:<22} entries={:<6} loaded={:<6} dup={:<4} skipped={:<3} [{}]",
            p.file_name().and_then(|f| f.to_str()).unwrap_or("?"),
            entries,
            r.loaded(),
            r.duplicates,
            r.skipped.len(),
            kinds.join(" ")
        );
        for s in &r.skipped {
            assert!(!s.reason.is_empty(), "{}:{} has no reason", r.file, s.line);
            assert!(s.line > 0);
            *reasons.entry(reason_group(&s.reason)).or_default() += 1;
            println!(
                "    skipped {}:{}: {} | {}",
                r.file, s.line, s.reason, s.text
            );
        }
        assert_eq!(
            entries,
            r.loaded() + r.duplicates + r.skipped.len(),
            "{}: every entry accounted for",
            r.file
        );
        // every indicator of an apt_ file has an actor, source and reference
        total_loaded += r.loaded();
        total_skipped += r.skipped.len();
    }
    println!("skipped reasons:");
    for (reason, n) in &reasons {
        println!("  {n:>5}  {reason}");
    }
    let set = b.build();
    println!("set by kind: {:?}", set.count_by_kind());
    println!("total entries={total_lines} loaded={total_loaded} skipped={total_skipped}");

    let count = |k: IocKind| {
        set.count_by_kind()
            .iter()
            .find(|c| c.0 == k)
            .map_or(0, |c| c.1)
    };
    assert!(count(IocKind::Domain) > 50_000, "domains");
    assert!(count(IocKind::Ip) > 1_000, "ips");
    assert!(count(IocKind::Url) > 1_000, "urls");
    assert!(
        total_skipped * 1000 < total_lines,
        "fewer than 0.1% of entries skipped"
    );
    for ind in set.indicators() {
        assert!(
            ind.actor.is_some(),
            "{}:{} has no actor",
            ind.file,
            ind.line
        );
        assert_eq!(ind.source.as_deref(), Some("maltrail"));
    }
    // spot checks from the files
    let k = set
        .match_url("anything", "/itsme.daum")
        .expect("kimsuky path");
    assert_eq!(k.actor.as_deref(), Some("kimsuky"));
    let m = set
        .match_ip("149.28.156.153".parse().expect("ip"))
        .expect("mustang panda ip:port");
    assert_eq!(m.actor.as_deref(), Some("mustangpanda"));
    let g = set
        .match_domain("x.y.moolin.ru")
        .or_else(|| set.match_domain("spcbkrndcwmwqoehn.gl1rqkipy7qgs5wn.moolin.ru"));
    assert_eq!(g.and_then(|i| i.actor.as_deref()), Some("gamaredon"));
    assert!(set.match_sni("admin-ru.ru").is_some());
    assert!(set.match_domain("notadmin-ru.ru").is_none());
}

#[test]
fn eset_sha256_files_are_not_observable() {
    let Some(root) = testdata() else { return };
    let dir = root.join("eset");
    let paths = files(&dir, "sha256");
    if paths.is_empty() {
        eprintln!("skipping: no ESET *.sha256 in {}", dir.display());
        return;
    }
    let mut b = IocSetBuilder::default();
    for p in &paths {
        let r = b
            .load_file(p, true)
            .expect("strict load: hashes are not errors");
        let lines = std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        println!(
            "{:<32} lines={lines:<4} not_observable={} errors={}",
            r.file,
            r.not_observable(),
            r.errors()
        );
        assert_eq!(r.loaded(), 0);
        assert_eq!(r.errors(), 0);
        assert_eq!(r.not_observable(), lines);
        assert!(r.skipped.iter().all(|s| s.reason == SHA256_REASON));
    }
    assert!(b.build().is_empty());
}
