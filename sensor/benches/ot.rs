//! Criterion benchmarks of the OT decoders on real captures.
//!
//! Setup reads every capture of `ot/<dir>/` with the sensor's own reader and
//! decoder, splits it into flows (5-tuple), keeps each TCP direction's
//! in-order payloads (duplicate/retransmitted segments are dropped) and
//! each UDP datagram, and probes the flow with the pipeline's OT probes.
//! GOOSE and PROFINET DCP frames are kept as frames.
//!
//! Per protocol directory, three stages, each over all flows of the
//! directory (throughput in payload bytes):
//!
//! * `parse`: [`OtParser`] (probe not included) to events, `finish` at the end;
//! * `parse+op`: plus [`OtEvent::op`] for every event (behaviour rules,
//!   baseline, inventory);
//! * `parse+op+eve`: plus serialising each event as the EVE body.
//!
//! PDU counts (events) are printed at setup; PDUs/s = events / time.
//!
//! Run with
//! `cargo bench -p sensor --bench ot -- --warm-up-time 1 --measurement-time 3`.

use std::collections::HashMap;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sensor::capture::file::CaptureFile;
use sensor::decode::{decode, Decoded, L4};
use sensor::output::eve;
use sensor::proto::ot::{self, OtEvent, OtParser};
use sensor::proto::{goose, profinet_dcp, AppProto, Probe};

const OT_PCAPS: &str = "/work/shared/testdata/pcaps/ot";
const DIRS: [&str; 16] = [
    "modbus",
    "dnp3",
    "iec104",
    "s7comm",
    "s7comm-plus",
    "iec61850-mms",
    "enip-cip",
    "bacnet",
    "opcua",
    "omron-fins",
    "hart-ip",
    "niagara-fox",
    "c37118",
    "iec61850-goose",
    "profinet",
    "mixed",
];

/// One unit of input to a parser.
enum Unit {
    Stream(bool, Vec<u8>),
    Datagram(bool, Vec<u8>),
}

/// One flow's inputs, in capture order.
struct OtFlow {
    proto: AppProto,
    units: Vec<Unit>,
}

/// A directory's decodable input.
#[derive(Default)]
struct Corpus {
    flows: Vec<OtFlow>,
    goose: Vec<Vec<u8>>,
    dcp: Vec<Vec<u8>>,
    bytes: u64,
}

#[derive(Default)]
struct RawFlow {
    /// Client (initiator) address and port.
    client: Option<(IpAddr, u16)>,
    server_port: u16,
    udp: bool,
    /// Next expected TCP sequence number per direction [to_server, to_client].
    next: [Option<u32>; 2],
    units: Vec<Unit>,
}

fn load_dir(dir: &Path) -> Corpus {
    let mut c = Corpus::default();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return c;
    };
    let mut files: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let Ok(cap) = CaptureFile::open(&f) else {
            continue;
        };
        let map = cap.map().clone();
        let mut flows: HashMap<(u8, IpAddr, u16, IpAddr, u16), RawFlow> = HashMap::new();
        let mut order = Vec::new();
        for rec in cap.records() {
            let Ok(r) = rec else { break };
            let frame = &map[r.offset..r.offset + r.caplen as usize];
            match decode(r.link, frame) {
                Ok(Decoded::NonIp { ethertype, payload }) => match ethertype {
                    0x88b8 => c.goose.push(payload.to_vec()),
                    0x8892 => c.dcp.push(payload.to_vec()),
                    _ => {}
                },
                Ok(Decoded::Ip(p)) => {
                    let (a, b) = ((p.src, p.sport), (p.dst, p.dport));
                    let k = if a <= b {
                        (p.ip_proto, a.0, a.1, b.0, b.1)
                    } else {
                        (p.ip_proto, b.0, b.1, a.0, a.1)
                    };
                    let fl = flows.entry(k).or_insert_with(|| {
                        order.push(k);
                        RawFlow::default()
                    });
                    let syn = matches!(p.l4, L4::Tcp(t) if t.flags & 0x02 != 0);
                    let synack = matches!(p.l4, L4::Tcp(t) if t.flags & 0x12 == 0x12);
                    if fl.client.is_none() {
                        // Initiator: SYN sender, else the higher port.
                        let client = if synack || (!syn && p.sport < p.dport) {
                            (p.dst, p.dport)
                        } else {
                            (p.src, p.sport)
                        };
                        fl.server_port = if client == (p.src, p.sport) {
                            p.dport
                        } else {
                            p.sport
                        };
                        fl.client = Some(client);
                    }
                    let to_server = fl.client == Some((p.src, p.sport));
                    let d = usize::from(!to_server);
                    match p.l4 {
                        L4::Tcp(t) => {
                            let seq = if syn { t.seq.wrapping_add(1) } else { t.seq };
                            if syn {
                                fl.next[d] = Some(seq);
                            }
                            if p.payload.is_empty() {
                                continue;
                            }
                            let next = fl.next[d].unwrap_or(seq);
                            if seq != next {
                                // Retransmission, overlap or a hole: keep it simple.
                                if seq.wrapping_sub(next) as i32 > 0 {
                                    fl.next[d] = Some(seq.wrapping_add(p.payload.len() as u32));
                                }
                                continue;
                            }
                            fl.next[d] = Some(seq.wrapping_add(p.payload.len() as u32));
                            fl.units.push(Unit::Stream(to_server, p.payload.to_vec()));
                        }
                        L4::Udp => {
                            fl.udp = true;
                            if !p.payload.is_empty() {
                                fl.units.push(Unit::Datagram(to_server, p.payload.to_vec()));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        for k in order {
            let Some(fl) = flows.remove(&k) else { continue };
            let proto = probe(&fl);
            if proto == AppProto::Unknown || OtParser::new(proto).is_none() {
                continue;
            }
            c.bytes += fl
                .units
                .iter()
                .map(|u| match u {
                    Unit::Stream(_, d) | Unit::Datagram(_, d) => d.len() as u64,
                })
                .sum::<u64>();
            c.flows.push(OtFlow {
                proto,
                units: fl.units,
            });
        }
    }
    c.bytes += c
        .goose
        .iter()
        .chain(&c.dcp)
        .map(|f| f.len() as u64)
        .sum::<u64>();
    c
}

/// The pipeline's probe on the flow's first data.
fn probe(fl: &RawFlow) -> AppProto {
    let client_port = fl.client.map_or(0, |c| c.1);
    if fl.udp {
        return match fl.units.first() {
            Some(Unit::Datagram(ts, d)) => {
                let (s, dp) = if *ts {
                    (client_port, fl.server_port)
                } else {
                    (fl.server_port, client_port)
                };
                ot::probe_datagram(d, s, dp)
            }
            _ => AppProto::Unknown,
        };
    }
    for dir in [true, false] {
        let mut buf = Vec::new();
        for u in &fl.units {
            if let Unit::Stream(ts, d) = u {
                if *ts == dir {
                    buf.extend_from_slice(d);
                    match ot::probe_stream(&buf, dir, (fl.server_port, client_port)) {
                        (Probe::Yes, p) => return p,
                        (Probe::NeedMore, _) if buf.len() < 4096 => continue,
                        _ => break,
                    }
                }
            }
        }
    }
    AppProto::Unknown
}

/// Decode everything once; `each` sees every event.
fn run(c: &Corpus, evs: &mut Vec<OtEvent>, mut each: impl FnMut(&OtEvent)) -> usize {
    let mut n = 0;
    for fl in &c.flows {
        let Some(mut p) = OtParser::new(fl.proto) else {
            continue;
        };
        for u in &fl.units {
            match u {
                Unit::Stream(ts, d) => p.input(*ts, d, evs),
                Unit::Datagram(ts, d) => p.datagram(*ts, d, evs),
            }
            n += evs.len();
            evs.iter().for_each(&mut each);
            evs.clear();
        }
        p.finish(evs);
        n += evs.len();
        evs.iter().for_each(&mut each);
        evs.clear();
    }
    let mut g = Vec::new();
    for f in &c.goose {
        goose::parse_frame(f, &mut g);
        n += g.len();
        g.drain(..).map(OtEvent::Goose).for_each(|e| each(&e));
    }
    let mut dcp = profinet_dcp::state::DcpCounters::default();
    let mut d = Vec::new();
    for f in &c.dcp {
        dcp.frame(f, &mut d);
        n += d.len();
        d.drain(..).map(OtEvent::ProfinetDcp).for_each(|e| each(&e));
    }
    n
}

fn bench_ot(cr: &mut Criterion) {
    if !Path::new(OT_PCAPS).is_dir() {
        eprintln!("{OT_PCAPS} absent: OT benchmarks skipped");
        return;
    }
    eprintln!(
        "size_of::<OtEvent>() = {} bytes",
        std::mem::size_of::<OtEvent>()
    );
    let mut group = cr.benchmark_group("ot");
    for dir in DIRS {
        let c = load_dir(&Path::new(OT_PCAPS).join(dir));
        if c.bytes == 0 {
            continue;
        }
        let mut evs = Vec::new();
        let mut ops = 0usize;
        let pdus = run(&c, &mut evs, |e| ops += e.op().is_some() as usize);
        let t = Instant::now();
        let mut iters = 0u32;
        while t.elapsed().as_millis() < 300 {
            black_box(run(&c, &mut evs, |_| {}));
            iters += 1;
        }
        let per = t.elapsed().as_secs_f64() / f64::from(iters);
        eprintln!(
            "{dir}: {} flows + {} L2 frames, {} payload bytes, {pdus} PDUs ({ops} ops); \
             parse ≈ {:.0} PDUs/s, {:.1} MB/s",
            c.flows.len(),
            c.goose.len() + c.dcp.len(),
            c.bytes,
            pdus as f64 / per,
            c.bytes as f64 / per / 1e6,
        );
        group.throughput(Throughput::Bytes(c.bytes));
        group.bench_function(format!("{dir}/parse"), |b| {
            b.iter(|| {
                black_box(run(&c, &mut evs, |e| {
                    black_box(e);
                }))
            })
        });
        group.bench_function(format!("{dir}/parse+op"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                run(&c, &mut evs, |e| n += black_box(e.op()).is_some() as usize);
                n
            })
        });
        let mut buf = Vec::with_capacity(1 << 20);
        group.bench_function(format!("{dir}/parse+op+eve"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                run(&c, &mut evs, |e| {
                    n += black_box(e.op()).is_some() as usize;
                    eve::json_value(&mut buf, e);
                    if buf.len() > 1 << 20 {
                        buf.clear();
                    }
                });
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ot);
criterion_main!(benches);
