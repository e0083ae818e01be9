//! Criterion benchmarks of the packet path.
//!
//! * `decode`: [`decode`] over every frame of a few real captures, plus a
//!   synthetic 64-byte TCP/IPv4 frame.
//! * `flow_lookup`: the [`FlowTable::lookup_or_insert`] hit path with 1k,
//!   100k and 1M flows present, and [`FlowKey::from_packet`] + hash.
//! * `worker`: one [`Worker`] (decode, flows, reassembly, DNS/TLS/HTTP, IOC
//!   lookups against 100k synthetic indicators, EVE serialisation) over a
//!   real mixed capture, fed in batches of 256.
//!
//! Run with
//! `cargo bench -p sensor --bench pipeline -- --warm-up-time 1 --measurement-time 3`.
//! Benchmarks that need capture files print a note and are skipped when the
//! files are absent.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use crossbeam_channel::Receiver;
use rules::ioc::{IocSet, IocSetBuilder};
use sensor::capture::file::CaptureFile;
use sensor::config::Config;
use sensor::decode::defrag::{DefragConfig, Defragmenter};
use sensor::decode::{decode, Decoded, LinkType, Packet, TcpHdr, L4};
use sensor::flow::{FlowKey, FlowTable, Lookup};
use sensor::metrics::Metrics;
use sensor::output::OutChunk;
use sensor::pipeline::batch::{Batch, Pkt};
use sensor::pipeline::worker::{Flow, Worker, WorkerSetup};

const TESTDATA: &str = "/work/shared/testdata";
const PCAPS: &str = "/work/shared/testdata/pcaps";
const DECODE_CAPTURES: [&str; 3] = [
    "enterprise/tls/chrome-34-google.pcap",
    "ot/modbus/modbus_test_data_part1.pcap",
    "enterprise/tunnels/gre-erspan3-dot1q.pcap",
];
const BIG_CAPTURE: &str = "/var/cache/sensor-bench/bench-1200.pcap";
/// Packets of `BIG_CAPTURE` used by the worker benchmark.
const WORKER_PACKETS: usize = 200_000;
/// Packets per batch handed to the worker (the default `capture.batch_size`).
const BATCH: usize = 256;
/// Synthetic indicators in the worker's IOC set.
const IOC_COUNT: usize = 100_000;
/// Lookups per iteration of the flow table benchmarks.
const LOOKUPS: usize = 1 << 16;

/// splitmix64: a small deterministic generator, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------- decode

/// Every frame of a capture, copied into one contiguous buffer.
struct Frames {
    buf: Vec<u8>,
    frames: Vec<(LinkType, usize, usize)>,
}

impl Frames {
    fn load(path: &Path) -> Result<Frames, String> {
        let file = CaptureFile::open(path).map_err(|e| e.to_string())?;
        let map = file.map();
        let mut out = Frames {
            buf: Vec::with_capacity(map.len()),
            frames: Vec::new(),
        };
        for r in file.records() {
            let r = r.map_err(|e| e.to_string())?;
            let start = out.buf.len();
            out.buf
                .extend_from_slice(&map[r.offset..r.offset + r.caplen as usize]);
            out.frames.push((r.link, start, out.buf.len()));
        }
        Ok(out)
    }

    fn iter(&self) -> impl Iterator<Item = (LinkType, &[u8])> + '_ {
        self.frames
            .iter()
            .map(|&(link, s, e)| (link, &self.buf[s..e]))
    }

    /// (ip, fragment, arp/non-IP, anomaly) counts, for the log.
    fn census(&self) -> [usize; 4] {
        let mut c = [0; 4];
        for (link, f) in self.iter() {
            let i = match decode(link, f) {
                Ok(Decoded::Ip(_)) => 0,
                Ok(Decoded::Fragment(_)) => 1,
                Ok(Decoded::Arp(_)) | Ok(Decoded::NonIp { .. }) => 2,
                Err(_) => 3,
            };
            c[i] += 1;
        }
        c
    }
}

/// Internet checksum of an IPv4 header.
fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A 64-byte Ethernet/IPv4/TCP frame (PSH|ACK, 10 bytes of payload).
fn synthetic_tcp_frame() -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]); // dst MAC
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]); // src MAC
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let ip_start = f.len();
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&50u16.to_be_bytes()); // total length: 20 + 20 + 10
    f.extend_from_slice(&[0x12, 0x34, 0x40, 0]); // id, DF
    f.extend_from_slice(&[64, 6, 0, 0]); // ttl, TCP, checksum
    f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    let ck = ip_checksum(&f[ip_start..ip_start + 20]);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&ck.to_be_bytes());
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&502u16.to_be_bytes());
    f.extend_from_slice(&1000u32.to_be_bytes()); // seq
    f.extend_from_slice(&2000u32.to_be_bytes()); // ack
    f.extend_from_slice(&[0x50, 0x18]); // data offset 5, PSH|ACK
    f.extend_from_slice(&8192u16.to_be_bytes()); // window
    f.extend_from_slice(&[0, 0, 0, 0]); // checksum (unchecked), urgent
    f.extend_from_slice(b"0123456789");
    assert_eq!(f.len(), 64);
    f
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");

    let frame = synthetic_tcp_frame();
    assert!(matches!(
        decode(LinkType::Ethernet, &frame),
        Ok(Decoded::Ip(_))
    ));
    g.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: frame.len() as u64,
    });
    g.bench_function("synthetic-tcp-ipv4-64B", |b| {
        b.iter(|| black_box(decode(LinkType::Ethernet, black_box(&frame[..]))).is_ok())
    });

    if !Path::new(TESTDATA).is_dir() {
        eprintln!("decode: {TESTDATA} is absent, skipping the capture benchmarks");
        g.finish();
        return;
    }
    for rel in DECODE_CAPTURES {
        let path = Path::new(PCAPS).join(rel);
        let frames = match Frames::load(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("decode: skipping {}: {e}", path.display());
                continue;
            }
        };
        let [ip, frag, other, bad] = frames.census();
        eprintln!(
            "decode: {rel}: {} frames, {} bytes (ip {ip}, fragments {frag}, arp/non-ip {other}, anomalies {bad})",
            frames.frames.len(),
            frames.buf.len()
        );
        let name = Path::new(rel)
            .file_stem()
            .map_or_else(|| rel.to_string(), |s| s.to_string_lossy().into_owned());
        g.throughput(Throughput::ElementsAndBytes {
            elements: frames.frames.len() as u64,
            bytes: frames.buf.len() as u64,
        });
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for (link, f) in frames.iter() {
                    ok += black_box(decode(link, f)).is_ok() as usize;
                }
                ok
            })
        });
    }
    g.finish();
}

// ----------------------------------------------------------- flow_lookup

/// Stand-in for the worker's flow state, of the same size, so table slots
/// (and so cache behaviour) match the real table. `Flow` itself cannot be
/// built outside the crate.
type FlowStandIn = [u64; FLOW_WORDS];
const FLOW_WORDS: usize = std::mem::size_of::<Flow>().div_ceil(8);

fn tcp() -> L4 {
    L4::Tcp(TcpHdr {
        seq: 1,
        ack: 1,
        flags: TcpHdr::ACK,
        window: 8192,
        hdr_len: 20,
    })
}

/// Packet `i` of a synthetic population: flow `i` has a distinct client
/// address (10.0.0.0/8 holds 16M), a server among 251 and a client port;
/// odd `i` are server-to-client, to exercise key normalisation.
fn synthetic_packet(i: usize, v6: bool) -> Packet<'static> {
    let client_n = i as u32;
    let server_n = (i % 251) as u32;
    let (client, server) = if v6 {
        (
            IpAddr::V6(Ipv6Addr::from(V6_CLIENTS | u128::from(client_n))),
            IpAddr::V6(Ipv6Addr::from(V6_SERVERS | u128::from(server_n))),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | client_n)),
            IpAddr::V4(Ipv4Addr::from(0xc000_0200 | server_n)),
        )
    };
    let cport = 1024 + (i % 60_000) as u16;
    let (src, dst, sport, dport) = if i.is_multiple_of(2) {
        (client, server, cport, 443)
    } else {
        (server, client, 443, cport)
    };
    Packet {
        vlan: [0; 2],
        vlan_count: 0,
        src,
        dst,
        ip_proto: 6,
        ttl: 64,
        sport,
        dport,
        l4: tcp(),
        payload: &[],
        ip_len: 40,
        tunnel: None,
    }
}

/// 2001:db8:0:1::/64 and 2001:db8:0:2::/64.
const V6_CLIENTS: u128 = 0x2001_0db8_0000_0001 << 64;
const V6_SERVERS: u128 = 0x2001_0db8_0000_0002 << 64;

fn bench_flow(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_lookup");
    eprintln!(
        "flow_lookup: table payload {} bytes (size of the worker's Flow)",
        std::mem::size_of::<FlowStandIn>()
    );
    let mut rng = Rng(0x5eed);
    for n in [1_000usize, 100_000, 1_000_000] {
        let keys: Vec<(FlowKey, u64)> = (0..n)
            .map(|i| {
                let (k, _) = FlowKey::from_packet(&synthetic_packet(i, false));
                (k, k.hash())
            })
            .collect();
        let mut table: FlowTable<FlowStandIn> = FlowTable::new(n);
        let mut never = |_: FlowKey, _: FlowStandIn| panic!("no eviction expected");
        for (i, (k, h)) in keys.iter().enumerate() {
            let r = table.lookup_or_insert(k, *h, i as u64, || [i as u64; FLOW_WORDS], &mut never);
            assert!(matches!(r, Lookup::Created(_)), "keys must be distinct");
        }
        assert_eq!(table.len(), n);
        // Hits on existing flows, in a random order fixed in advance.
        let queries: Vec<(FlowKey, u64)> = (0..LOOKUPS).map(|_| keys[rng.below(n)]).collect();
        drop(keys);
        g.throughput(Throughput::Elements(LOOKUPS as u64));
        g.bench_function(BenchmarkId::new("hit", n), |b| {
            let mut now = n as u64;
            b.iter(|| {
                now += 1;
                let mut acc = 0u64;
                for (k, h) in &queries {
                    match table.lookup_or_insert(k, *h, now, || [0; FLOW_WORDS], &mut never) {
                        Lookup::Found(i, _) => acc = acc.wrapping_add(u64::from(i)),
                        Lookup::Created(_) => panic!("miss on an existing flow"),
                    }
                }
                acc
            })
        });
    }

    for (name, v6) in [("ipv4", false), ("ipv6", true)] {
        let pkts: Vec<Packet<'static>> =
            (0..1024).map(|i| synthetic_packet(i * 7919, v6)).collect();
        g.throughput(Throughput::Elements(pkts.len() as u64));
        g.bench_function(BenchmarkId::new("key_from_packet+hash", name), |b| {
            b.iter(|| {
                let mut acc = 0u64;
                for p in &pkts {
                    let (k, lo_to_hi) = FlowKey::from_packet(black_box(p));
                    acc = acc.wrapping_add(k.hash()) ^ u64::from(lo_to_hi);
                }
                acc
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------- worker

/// 100k distinct indicators that never match the benchmark traffic:
/// domains `h<random hex>.bench-ioc.example` (60%), addresses (35%) and /24
/// networks (5%) in 100.64.0.0/10. Addresses and networks come from
/// multiplying the index by an odd constant modulo 2^22 (resp. 2^14), a
/// bijection, so none repeat.
fn synthetic_iocs() -> IocSet {
    let mut rng = Rng(0x10c);
    let mut text = String::with_capacity(IOC_COUNT * 32);
    for i in 0..IOC_COUNT as u32 {
        match i % 20 {
            0..12 => text.push_str(&format!("h{:016x}.bench-ioc.example\n", rng.next())),
            12..19 => {
                let a = 0x6440_0000 | (i.wrapping_mul(0x9e37_79b1) & 0x003f_ffff);
                text.push_str(&format!("{}\n", Ipv4Addr::from(a)));
            }
            _ => {
                let a = 0x6440_0000 | (((i / 20).wrapping_mul(0x9e37_79b1) & 0x3fff) << 8);
                text.push_str(&format!("{}/24\n", Ipv4Addr::from(a)));
            }
        }
    }
    let mut b = IocSetBuilder::new();
    let report = b
        .load_str("bench-iocs", &text, true)
        .unwrap_or_else(|e| panic!("synthetic IOC list: {e}"));
    let set = b.build();
    assert_eq!(
        set.len(),
        IOC_COUNT,
        "synthetic indicators must be distinct"
    );
    eprintln!(
        "worker: IOC set {} indicators ({} duplicates dropped): {:?}",
        set.len(),
        report.duplicates,
        set.count_by_kind()
    );
    set
}

/// The worker's input, prepared as the capture thread would: batches of up
/// to 256 packets pointing into the capture's map, with IP fragments
/// reassembled into the batch's own buffer.
struct Input {
    batches: Vec<Batch>,
    packets: u64,
    bytes: u64,
    /// Keeps the maps the batches point into alive (they hold `Arc`s too).
    _files: Vec<CaptureFile>,
}

fn load_input(files: &[PathBuf], limit: usize) -> Result<Input, String> {
    let cfg = Config::default();
    let mut defrag = Defragmenter::new(DefragConfig {
        max_datagrams: cfg.defrag.max_datagrams,
        max_datagram_bytes: 65_535 + 60,
        timeout_ns: cfg.defrag.timeout.saturating_mul(1_000_000_000),
    });
    let mut input = Input {
        batches: Vec::new(),
        packets: 0,
        bytes: 0,
        _files: Vec::new(),
    };
    let mut pcap_cnt = 0u64;
    'files: for path in files {
        let file = CaptureFile::open(path).map_err(|e| e.to_string())?;
        let map = file.map().clone();
        let mut batch = Batch::new(Some(map.clone()), BATCH);
        for r in file.records() {
            if pcap_cnt as usize >= limit {
                break;
            }
            let r = r.map_err(|e| format!("{}: {e}", path.display()))?;
            pcap_cnt += 1;
            input.bytes += u64::from(r.caplen);
            let data = &map[r.offset..r.offset + r.caplen as usize];
            let mut pkt = Pkt {
                off: r.offset,
                len: r.caplen,
                ts_ns: r.ts_ns,
                clock_ns: r.ts_ns,
                pcap_cnt,
                link: r.link,
                owned: false,
                reassembled: false,
                vlan: [0; 2],
                vlan_count: 0,
            };
            if let Ok(Decoded::Fragment(f)) = decode(r.link, data) {
                let Ok(Some(dgram)) = defrag.insert(&f, r.ts_ns) else {
                    continue;
                };
                pkt.off = batch.owned.len();
                pkt.len = dgram.len() as u32;
                pkt.owned = true;
                pkt.reassembled = true;
                pkt.vlan = f.vlan;
                pkt.vlan_count = f.vlan_count;
                batch.owned.extend_from_slice(&dgram);
            }
            batch.pkts.push(pkt);
            input.packets += 1;
            if batch.pkts.len() == BATCH {
                let next = Batch::new(Some(map.clone()), BATCH);
                input.batches.push(std::mem::replace(&mut batch, next));
            }
        }
        if !batch.pkts.is_empty() {
            input.batches.push(batch);
        }
        input._files.push(file);
        if pcap_cnt as usize >= limit {
            break 'files;
        }
    }
    if input.packets == 0 {
        return Err("no packets".into());
    }
    Ok(input)
}

/// `BIG_CAPTURE` if present, else the shared enterprise captures.
fn worker_captures() -> Option<(String, Vec<PathBuf>, usize)> {
    if Path::new(BIG_CAPTURE).is_file() {
        return Some((
            format!("bench-1200-first-{}k", WORKER_PACKETS / 1000),
            vec![PathBuf::from(BIG_CAPTURE)],
            WORKER_PACKETS,
        ));
    }
    let dir = Path::new(PCAPS).join("enterprise");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    (!files.is_empty()).then(|| ("enterprise-concat".to_string(), files, usize::MAX))
}

fn drain(rx: &Receiver<OutChunk>) -> (u64, u64) {
    rx.try_iter().fold((0, 0), |(r, b), c| {
        (r + c.records, b + c.bytes.len() as u64)
    })
}

fn bench_worker(c: &mut Criterion) {
    let Some((name, files, limit)) = worker_captures() else {
        eprintln!("worker: neither {BIG_CAPTURE} nor {PCAPS}/enterprise is present, skipping");
        return;
    };
    let t = Instant::now();
    let input = match load_input(&files, limit) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("worker: cannot load the input ({e}), skipping");
            return;
        }
    };
    eprintln!(
        "worker: {name}: {} packets, {} bytes, {} batches from {} file(s), loaded in {:.1?}",
        input.packets,
        input.bytes,
        input.batches.len(),
        files.len(),
        t.elapsed()
    );
    let cfg = Arc::new(Config::default());
    let ioc = Arc::new(synthetic_iocs());
    let metrics = Metrics::new();
    // Unbounded, so the worker never blocks on the writer; drained (and the
    // chunks freed) in each iteration's untimed setup.
    let (out_tx, out_rx) = crossbeam_channel::unbounded::<OutChunk>();
    let new_worker = || {
        Worker::new(WorkerSetup {
            id: 0,
            cfg: cfg.clone(),
            ioc: ioc.clone(),
            metrics: metrics.clone(),
            out: out_tx.clone(),
            max_flows: cfg.flow.max_flows,
            clock: Arc::new(AtomicU64::new(0)),
            bypass: None,
            ot: None,
            ot_ordered: false,
        })
    };
    let run = |mut w: Worker| {
        for b in &input.batches {
            w.process_batch(b);
        }
        w.finish();
        w
    };

    // One untimed pass: page the capture in and report what the worker made
    // of it (the IOC set must not match anything).
    let t = Instant::now();
    drop(run(new_worker()));
    let once = t.elapsed();
    let (records, eve_bytes) = drain(&out_rx);
    eprintln!(
        "worker: one pass {:.1?} ({:.0} pkt/s): flows {}, alerts {}, anomalies {}, EVE records {records} ({eve_bytes} bytes)",
        once,
        input.packets as f64 / once.as_secs_f64(),
        metrics.flows_created.get(),
        Metrics::sum(&metrics.alerts),
        Metrics::sum(&metrics.anomalies),
    );

    let mut g = c.benchmark_group("worker");
    // Each iteration is a whole pass (hundreds of ms): flat sampling keeps
    // the run to ~sample_size passes.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.throughput(Throughput::ElementsAndBytes {
        elements: input.packets,
        bytes: input.bytes,
    });
    // A fresh worker per iteration: flows start empty, time starts at the
    // first packet, and finish() ends (and serialises) every flow, so each
    // iteration does exactly what a replay of the input does in one worker.
    // Worker construction and drop, and freeing the EVE chunks, are untimed.
    g.bench_function(BenchmarkId::new("batches-of-256", &name), |b| {
        b.iter_batched(
            || {
                drain(&out_rx);
                new_worker()
            },
            run,
            BatchSize::PerIteration,
        )
    });
    g.finish();
    drain(&out_rx);
}

criterion_group!(benches, bench_decode, bench_flow, bench_worker);
criterion_main!(benches);
