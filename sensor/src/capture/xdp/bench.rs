//! ns/packet of the sensor XDP program vs a bare `return XDP_PASS;`,
//! measured by the kernel with `BPF_PROG_TEST_RUN` (`repeat`, `duration`).

use aya::programs::Xdp;

use super::frames;
use super::loader::{load_xdp_pass, test_run, SensorXdp, XdpError, XDP_PASS};

/// Result of [`bench_ns_per_packet`].
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Median over rounds of the kernel's mean ns per run: sensor_xdp.
    pub sensor_ns: f64,
    /// The same for `xdp_pass`.
    pub pass_ns: f64,
    /// `sensor_ns / pass_ns`.
    pub ratio: f64,
    /// Best round of each.
    pub sensor_min_ns: f64,
    pub pass_min_ns: f64,
    pub v4_prefixes: usize,
    pub v6_prefixes: usize,
    pub repeat: u32,
    pub rounds: usize,
}

/// xorshift64*: deterministic prefixes without a rand dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// IPv4 prefixes (host-order address, length, indicator index).
pub type V4Prefixes = Vec<(u32, u8, u32)>;
/// IPv6 prefixes (address, length, indicator index).
pub type V6Prefixes = Vec<([u8; 16], u8, u32)>;

/// `v4` random IPv4 prefixes /24../32 (none covering the benchmark frame's
/// addresses) and `v6` random IPv6 prefixes /32../128.
pub fn random_prefixes(v4: usize, v6: usize, seed: u64) -> (V4Prefixes, V6Prefixes) {
    let mut rng = Rng(seed | 1);
    let avoid = [
        u32::from_be_bytes([192, 0, 2, 1]),
        u32::from_be_bytes([198, 51, 100, 7]),
    ];
    let mut p4 = Vec::with_capacity(v4);
    while p4.len() < v4 {
        let r = rng.next();
        let addr = (r >> 32) as u32;
        let len = 24 + (r % 9) as u8;
        let mask = u32::MAX << (32 - u32::from(len));
        if avoid.iter().any(|a| a & mask == addr & mask) {
            continue;
        }
        p4.push((addr & mask, len, p4.len() as u32));
    }
    let mut p6 = Vec::with_capacity(v6);
    while p6.len() < v6 {
        let a = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        let len = 32 + (rng.next() % 97) as u8;
        p6.push((a.to_be_bytes(), len, p6.len() as u32));
    }
    (p4, p6)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn per_packet(prog: &Xdp, frame: &[u8], repeat: u32) -> Result<f64, XdpError> {
    let r = test_run(prog, frame, repeat)?;
    debug_assert_eq!(r.action, XDP_PASS);
    Ok(r.duration.as_nanos() as f64)
}

/// Loads the sensor program with 100k IPv4 and 10k IPv6 prefixes, then
/// times it and `xdp_pass` on the 64-byte TCP/IPv4 frame
/// ([`frames::tcp4_64`], an IOC miss), `rounds` alternating rounds of
/// `repeat` runs each. The kernel reports whole ns per run.
pub fn bench_ns_per_packet(repeat: u32, rounds: usize) -> Result<BenchReport, XdpError> {
    bench_with_prefixes(repeat, rounds, 100_000, 10_000)
}

/// [`bench_ns_per_packet`] with `v4` / `v6` random prefixes loaded.
pub fn bench_with_prefixes(
    repeat: u32,
    rounds: usize,
    v4: usize,
    v6: usize,
) -> Result<BenchReport, XdpError> {
    let rounds = rounds.max(1);
    let mut sensor = SensorXdp::load()?;
    let (p4, p6) = random_prefixes(v4, v6, 0x5eed_cafe);
    sensor.insert_ioc_v4(&p4)?;
    sensor.insert_ioc_v6(&p6)?;
    let pass = load_xdp_pass()?;
    let pass_prog: &Xdp = pass
        .program("xdp_pass")
        .and_then(|p| p.try_into().ok())
        .ok_or(XdpError::Missing {
            kind: "program",
            name: "xdp_pass",
        })?;
    let frame = frames::tcp4_64();

    // warm-up
    per_packet(sensor.program(), &frame, repeat.min(10_000))?;
    per_packet(pass_prog, &frame, repeat.min(10_000))?;
    let (mut s, mut p) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        s.push(per_packet(sensor.program(), &frame, repeat)?);
        p.push(per_packet(pass_prog, &frame, repeat)?);
    }
    let sensor_min_ns = s.iter().copied().fold(f64::INFINITY, f64::min);
    let pass_min_ns = p.iter().copied().fold(f64::INFINITY, f64::min);
    let sensor_ns = median(&mut s);
    let pass_ns = median(&mut p);
    Ok(BenchReport {
        sensor_ns,
        pass_ns,
        ratio: if pass_ns > 0.0 {
            sensor_ns / pass_ns
        } else {
            f64::INFINITY
        },
        sensor_min_ns,
        pass_min_ns,
        v4_prefixes: p4.len(),
        v6_prefixes: p6.len(),
        repeat,
        rounds,
    })
}
