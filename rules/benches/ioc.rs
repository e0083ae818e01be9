//! IOC lookup benchmarks on synthetic sets of 1k, 100k and 1M indicators
//! (70% domains, 20% IPv4 addresses, 10% IPv4 CIDRs; deterministic).
//!
//! Each iteration runs a batch of `BATCH` lookups; throughput is reported in
//! elements, so criterion's time per element is the cost of one lookup.
//!
//! `cargo bench -p rules -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rules::ioc::{Indicator, IocKind, IocSet, IocSetBuilder};

const BATCH: usize = 1024;
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// splitmix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn label(&mut self, len: usize) -> String {
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(ALPHA[(self.next() % ALPHA.len() as u64) as usize]))
            .collect()
    }

    fn domain(&mut self) -> String {
        const TLDS: [&str; 6] = ["com", "net", "org", "ru", "kr", "info"];
        let tld = TLDS[(self.next() % TLDS.len() as u64) as usize];
        let len = 6 + (self.next() % 10) as usize;
        if matches!(self.next() % 3, 0) {
            let sub = self.label(4);
            format!("{sub}.{}.{tld}", self.label(len))
        } else {
            format!("{}.{tld}", self.label(len))
        }
    }

    /// An IPv4 address outside 198.18.0.0/15, which is kept for misses.
    fn ipv4(&mut self) -> Ipv4Addr {
        loop {
            let a = Ipv4Addr::from(self.next() as u32);
            if a.octets()[0] != 198 {
                return a;
            }
        }
    }
}

struct Fixture {
    set: IocSet,
    domain_hits: Vec<String>,
    domain_misses: Vec<String>,
    ip_hits: Vec<IpAddr>,
    ip_misses: Vec<IpAddr>,
    /// Alternating subdomain-of-listed (hit) and unlisted (miss) names.
    sni_mixed: Vec<String>,
}

fn fixture(n: usize) -> Fixture {
    let mut rng = Rng(0x1234_5678 ^ n as u64);
    let mut b = IocSetBuilder::default();
    let mut domains = Vec::new();
    let mut ips = Vec::new();
    for i in 0..n {
        match i % 10 {
            0..=6 => {
                let d = rng.domain();
                domains.push(d.clone());
                b.add(Indicator::new(IocKind::Domain, d));
            }
            7 | 8 => {
                let a = rng.ipv4();
                ips.push(IpAddr::V4(a));
                b.add(Indicator::new(IocKind::Ip, a.to_string()));
            }
            _ => {
                let a = rng.ipv4();
                let len = 16 + (rng.next() % 13) as u8;
                b.add(Indicator::new(IocKind::Cidr, format!("{a}/{len}")));
            }
        }
    }
    let set = b.build();
    let pick = |rng: &mut Rng, len: usize| (rng.next() % len as u64) as usize;
    // Hits: half exact, half two labels below a listed domain.
    let domain_hits: Vec<String> = (0..BATCH)
        .map(|i| {
            let d = &domains[pick(&mut rng, domains.len())];
            if i % 2 == 0 {
                d.clone()
            } else {
                format!("cdn-{i}.www.{d}")
            }
        })
        .collect();
    // Misses: realistic query names (3 labels) under an unlisted registrable domain.
    let domain_misses: Vec<String> = (0..BATCH)
        .map(|_| format!("www.{}.example", rng.label(10)))
        .collect();
    let sni_mixed = domain_hits
        .iter()
        .zip(&domain_misses)
        .map(|(h, m): (&String, &String)| {
            if matches!(h.len() % 2, 0) {
                h.clone()
            } else {
                m.clone()
            }
        })
        .collect();
    let ip_hits = (0..BATCH).map(|_| ips[pick(&mut rng, ips.len())]).collect();
    let ip_misses = (0..BATCH)
        .map(|_| {
            IpAddr::V4(Ipv4Addr::new(
                198,
                18 + (rng.next() % 2) as u8,
                rng.next() as u8,
                rng.next() as u8,
            ))
        })
        .collect();
    Fixture {
        set,
        domain_hits,
        domain_misses,
        ip_hits,
        ip_misses,
        sni_mixed,
    }
}

fn bench_lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("ioc");
    g.throughput(Throughput::Elements(BATCH as u64));
    for &n in &SIZES {
        let f = fixture(n);
        assert!(f
            .domain_hits
            .iter()
            .all(|d| f.set.match_domain(d).is_some()));
        assert!(f
            .domain_misses
            .iter()
            .all(|d| f.set.match_domain(d).is_none()));
        assert!(f.ip_hits.iter().all(|ip| f.set.match_ip(*ip).is_some()));
        assert!(f.ip_misses.iter().all(|ip| f.set.match_ip(*ip).is_none()));
        g.bench_with_input(BenchmarkId::new("match_domain_hit", n), &f, |b, f| {
            b.iter(|| {
                f.domain_hits
                    .iter()
                    .filter(|d| f.set.match_domain(black_box(d)).is_some())
                    .count()
            })
        });
        g.bench_with_input(BenchmarkId::new("match_domain_miss", n), &f, |b, f| {
            b.iter(|| {
                f.domain_misses
                    .iter()
                    .filter(|d| f.set.match_domain(black_box(d)).is_some())
                    .count()
            })
        });
        g.bench_with_input(BenchmarkId::new("match_ip_hit", n), &f, |b, f| {
            b.iter(|| {
                f.ip_hits
                    .iter()
                    .filter(|ip| f.set.match_ip(black_box(**ip)).is_some())
                    .count()
            })
        });
        g.bench_with_input(BenchmarkId::new("match_ip_miss", n), &f, |b, f| {
            b.iter(|| {
                f.ip_misses
                    .iter()
                    .filter(|ip| f.set.match_ip(black_box(**ip)).is_some())
                    .count()
            })
        });
        g.bench_with_input(BenchmarkId::new("match_sni_mixed", n), &f, |b, f| {
            b.iter(|| {
                f.sni_mixed
                    .iter()
                    .filter(|s| f.set.match_sni(black_box(s)).is_some())
                    .count()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_lookups);
criterion_main!(benches);
