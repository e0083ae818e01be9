//! Loading the embedded XDP object with aya and driving its maps.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use aya::maps::lpm_trie::Key;
use std::collections::{BTreeSet, HashMap as StdHashMap, HashSet};

use aya::maps::{Array, HashMap, LpmTrie, MapData, PerCpuArray, PerCpuValues, RingBuf, XskMap};
use aya::programs::{TestRun, TestRunOptions, Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};

use super::maps::{
    cnt, v6_bucket, BypassValue, Counter, FlowKey, IocEvent, IocValue, BYPASS_FILTER_WORDS,
    IOC_V4_FILTER_WORDS, IOC_V6_FILTER_ALWAYS, IOC_V6_FILTER_WORDS, XSK_IFACES, XSK_IFINDEX_MAX,
    XSK_QUEUES,
};
use super::{PROGRAM_NAME, SENSOR_XDP_OBJ};

/// Errors of the XDP loader.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    #[error("loading the XDP object: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("XDP program: {0}")]
    Program(#[from] aya::programs::ProgramError),
    #[error("XDP map: {0}")]
    Map(#[from] aya::maps::MapError),
    #[error("XDP object has no {kind} named `{name}`")]
    Missing {
        kind: &'static str,
        name: &'static str,
    },
    #[error("invalid prefix length {len} for IPv{version} (max {max})")]
    PrefixLen { version: u8, len: u8, max: u8 },
    #[error("IPv4 prefixes shorter than /8 are not supported (got /{0})")]
    PrefixTooShort(u8),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Limit(String),
}

/// Result of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The XDP action returned (`XDP_PASS` = 2, `XDP_DROP` = 1, `XDP_REDIRECT` = 4).
    pub action: u32,
    /// Mean time per repetition, as measured by the kernel.
    pub duration: Duration,
}

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

/// The loaded (verified) sensor XDP program and its maps.
pub struct SensorXdp {
    ebpf: Ebpf,
    counters: PerCpuArray<MapData, Counter>,
    ioc_v4: LpmTrie<MapData, [u8; 4], IocValue>,
    ioc_v6: LpmTrie<MapData, [u8; 16], IocValue>,
    bypass: HashMap<MapData, FlowKey, BypassValue>,
    events: RingBuf<MapData>,
    xsks: XskMap<MapData>,
    xsk_base: Array<MapData, u32>,
    /// Interfaces (ifindex) given a block of `xsks` slots, in order.
    xsk_ifaces: Vec<u32>,
    ioc_v4_filter: Array<MapData, u64>,
    ioc_v6_filter: Array<MapData, u64>,
    bypass_filter: Array<MapData, u64>,
    // Userspace copies of the prefilter bitmaps with per-bit reference
    // counts, and the installed prefixes (an LPM lookup cannot tell whether
    // an exact prefix is present).
    f4: Bitmap,
    f6: Bitmap,
    fb: Bitmap,
    installed_v4: HashSet<(u32, u8)>,
    installed_v6: HashSet<(u128, u8)>,
}

/// A prefilter bitmap mirrored in userspace with reference counts per bit.
struct Bitmap {
    words: Vec<u64>,
    refs: StdHashMap<u32, u32>,
    dirty: BTreeSet<u32>,
}

impl Bitmap {
    fn new(words: u32) -> Self {
        Self {
            words: vec![0; words as usize],
            refs: StdHashMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    fn inc(&mut self, bit: u32) {
        let r = self.refs.entry(bit).or_insert(0);
        *r += 1;
        if *r == 1 {
            self.words[(bit >> 6) as usize] |= 1 << (bit & 63);
            self.dirty.insert(bit >> 6);
        }
    }

    fn dec(&mut self, bit: u32) {
        if let Some(r) = self.refs.get_mut(&bit) {
            *r -= 1;
            if *r == 0 {
                self.refs.remove(&bit);
                self.words[(bit >> 6) as usize] &= !(1 << (bit & 63));
                self.dirty.insert(bit >> 6);
            }
        }
    }

    fn flush(&mut self, map: &mut Array<MapData, u64>) -> Result<(), XdpError> {
        while let Some(w) = self.dirty.pop_first() {
            map.set(w, self.words[w as usize], 0)?;
        }
        Ok(())
    }
}

/// Bits of `ioc_v4_filter` covered by a (masked) prefix: its /24s.
fn v4_bits(addr: u32, len: u8) -> std::ops::Range<u32> {
    let start = addr >> 8;
    let n = if len >= 24 {
        1
    } else {
        1u32 << (24 - u32::from(len))
    };
    start..start + n
}

/// Bits of `ioc_v6_filter` covered by a (masked) prefix: hashed /32s, or
/// the ALWAYS word for prefixes shorter than /24.
fn v6_bits(addr: u128, len: u8) -> Vec<u32> {
    let top = (addr >> 96) as u32;
    if len >= 32 {
        vec![v6_bucket(top)]
    } else if len >= 24 {
        (0..1u32 << (32 - u32::from(len)))
            .map(|i| v6_bucket(top | i))
            .collect()
    } else {
        vec![IOC_V6_FILTER_ALWAYS * 64]
    }
}

fn take<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, XdpError>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf
        .take_map(name)
        .ok_or(XdpError::Missing { kind: "map", name })?;
    Ok(T::try_from(map)?)
}

impl SensorXdp {
    /// Loads the embedded object, creates its maps and loads (verifies) the
    /// program. Nothing is attached yet; see [`SensorXdp::attach`].
    pub fn load() -> Result<Self, XdpError> {
        Self::load_with(&mut EbpfLoader::new())
    }

    /// Like [`SensorXdp::load`] with a caller-configured loader (e.g. to
    /// shrink map sizes with `map_max_entries` or pin maps).
    pub fn load_with(loader: &mut EbpfLoader<'_>) -> Result<Self, XdpError> {
        let mut ebpf = loader.load(SENSOR_XDP_OBJ)?;
        {
            let prog: &mut Xdp = ebpf
                .program_mut(PROGRAM_NAME)
                .ok_or(XdpError::Missing {
                    kind: "program",
                    name: PROGRAM_NAME,
                })?
                .try_into()?;
            prog.load()?;
        }
        Ok(Self {
            counters: take(&mut ebpf, "counters")?,
            ioc_v4: take(&mut ebpf, "ioc_v4")?,
            ioc_v6: take(&mut ebpf, "ioc_v6")?,
            bypass: take(&mut ebpf, "bypass")?,
            events: take(&mut ebpf, "ioc_events")?,
            xsks: take(&mut ebpf, "xsks")?,
            xsk_base: take(&mut ebpf, "xsk_base")?,
            xsk_ifaces: Vec::new(),
            ioc_v4_filter: take(&mut ebpf, "ioc_v4_filter")?,
            ioc_v6_filter: take(&mut ebpf, "ioc_v6_filter")?,
            bypass_filter: take(&mut ebpf, "bypass_filter")?,
            f4: Bitmap::new(IOC_V4_FILTER_WORDS),
            f6: Bitmap::new(IOC_V6_FILTER_WORDS),
            fb: Bitmap::new(BYPASS_FILTER_WORDS),
            installed_v4: HashSet::new(),
            installed_v6: HashSet::new(),
            ebpf,
        })
    }

    /// The loaded program.
    pub fn program(&self) -> &Xdp {
        // Checked in load_with: present and of type Xdp.
        self.ebpf
            .program(PROGRAM_NAME)
            .and_then(|p| <&Xdp>::try_from(p).ok())
            .expect("sensor_xdp program present")
    }

    fn program_mut(&mut self) -> &mut Xdp {
        self.ebpf
            .program_mut(PROGRAM_NAME)
            .and_then(|p| <&mut Xdp>::try_from(p).ok())
            .expect("sensor_xdp program present")
    }

    /// Attaches the program to `interface`; detached when `self` is dropped.
    pub fn attach(&mut self, interface: &str, mode: XdpMode) -> Result<(), XdpError> {
        self.program_mut().attach(interface, mode)?;
        Ok(())
    }

    /// Attaches the program to `interface` and returns the link id for
    /// [`SensorXdp::detach`]. aya uses `bpf_link_create` (a BPF link owned by
    /// this process: closed, and so detached, when the process dies) and
    /// falls back to netlink only when the kernel rejects links (EINVAL).
    pub fn attach_link(
        &mut self,
        interface: &str,
        mode: XdpMode,
    ) -> Result<aya::programs::xdp::XdpLinkId, XdpError> {
        Ok(self.program_mut().attach(interface, mode)?)
    }

    /// Detaches one attachment made with [`SensorXdp::attach_link`].
    pub fn detach(&mut self, link: aya::programs::xdp::XdpLinkId) -> Result<(), XdpError> {
        self.program_mut().detach(link)?;
        Ok(())
    }

    /// Binds an AF_XDP socket to rx queue `queue` of the interface with
    /// index `ifindex`: each interface gets its own block of
    /// [`XSK_QUEUES`] slots in `xsks` (`xsk_base[ifindex]` is the first).
    pub fn bind_xsk(
        &mut self,
        ifindex: u32,
        queue: u32,
        socket: impl AsRawFd,
    ) -> Result<(), XdpError> {
        if queue >= XSK_QUEUES {
            return Err(XdpError::Limit(format!(
                "rx queue {queue}: AF_XDP sockets are bound to queues 0..{XSK_QUEUES} only"
            )));
        }
        if ifindex >= XSK_IFINDEX_MAX {
            return Err(XdpError::Limit(format!(
                "interface index {ifindex} is above {XSK_IFINDEX_MAX}"
            )));
        }
        let block = match self.xsk_ifaces.iter().position(|&i| i == ifindex) {
            Some(b) => b as u32,
            None => {
                if self.xsk_ifaces.len() as u32 >= XSK_IFACES {
                    return Err(XdpError::Limit(format!(
                        "AF_XDP on more than {XSK_IFACES} interfaces"
                    )));
                }
                let b = self.xsk_ifaces.len() as u32;
                self.xsk_base.set(ifindex, b * XSK_QUEUES, 0)?;
                self.xsk_ifaces.push(ifindex);
                b
            }
        };
        self.xsks.set(block * XSK_QUEUES + queue, socket, 0)?;
        Ok(())
    }

    // ---- IOC tries --------------------------------------------------------

    /// Inserts IPv4 indicators: (address in host order, e.g.
    /// `u32::from(Ipv4Addr)`, prefix length 8..=32, indicator index). Host
    /// bits beyond the prefix are cleared; re-inserting a prefix replaces
    /// its indicator. Returns the number of entries processed.
    pub fn insert_ioc_v4(&mut self, entries: &[(u32, u8, u32)]) -> Result<usize, XdpError> {
        for &(addr, len, _) in entries {
            v4_key(addr, len)?;
            if len < 8 {
                return Err(XdpError::PrefixTooShort(len));
            }
        }
        let mut keys = Vec::with_capacity(entries.len());
        for &(addr, len, indicator) in entries {
            let (key, masked) = v4_key(addr, len)?;
            if self.installed_v4.insert((masked, len)) {
                for bit in v4_bits(masked, len) {
                    self.f4.inc(bit);
                }
            }
            keys.push((key, ioc_value(indicator, len)));
        }
        // prefilter bits first: a packet racing the update at worst misses
        self.f4.flush(&mut self.ioc_v4_filter)?;
        for (key, value) in &keys {
            self.ioc_v4.insert(key, value, 0)?;
        }
        Ok(entries.len())
    }

    /// Inserts IPv6 indicators: (address bytes in network order, prefix
    /// length 0..=128, indicator index).
    pub fn insert_ioc_v6(&mut self, entries: &[([u8; 16], u8, u32)]) -> Result<usize, XdpError> {
        for &(addr, len, _) in entries {
            v6_key(addr, len)?;
        }
        let mut keys = Vec::with_capacity(entries.len());
        for &(addr, len, indicator) in entries {
            let (key, masked) = v6_key(addr, len)?;
            if self.installed_v6.insert((masked, len)) {
                for bit in v6_bits(masked, len) {
                    self.f6.inc(bit);
                }
            }
            keys.push((key, ioc_value(indicator, len)));
        }
        self.f6.flush(&mut self.ioc_v6_filter)?;
        for (key, value) in &keys {
            self.ioc_v6.insert(key, value, 0)?;
        }
        Ok(entries.len())
    }

    pub fn remove_ioc_v4(&mut self, addr: u32, len: u8) -> Result<(), XdpError> {
        let (key, masked) = v4_key(addr, len)?;
        self.ioc_v4.remove(&key)?;
        if self.installed_v4.remove(&(masked, len)) {
            for bit in v4_bits(masked, len) {
                self.f4.dec(bit);
            }
            self.f4.flush(&mut self.ioc_v4_filter)?;
        }
        Ok(())
    }

    pub fn remove_ioc_v6(&mut self, addr: [u8; 16], len: u8) -> Result<(), XdpError> {
        let (key, masked) = v6_key(addr, len)?;
        self.ioc_v6.remove(&key)?;
        if self.installed_v6.remove(&(masked, len)) {
            for bit in v6_bits(masked, len) {
                self.f6.dec(bit);
            }
            self.f6.flush(&mut self.ioc_v6_filter)?;
        }
        Ok(())
    }

    // ---- bypass -----------------------------------------------------------

    /// Starts dropping `key`'s flow in the kernel (both directions).
    pub fn bypass_insert(&mut self, key: &FlowKey) -> Result<(), XdpError> {
        if self.bypass_get(key)?.is_none() {
            self.fb.inc(key.filter_bucket());
            self.fb.flush(&mut self.bypass_filter)?;
        }
        let v = BypassValue {
            last_seen_ns: monotonic_ns(),
            packets: 0,
            bytes: 0,
        };
        self.bypass.insert(key, v, 0)?;
        Ok(())
    }

    /// Stops bypassing `key`'s flow. Entries the kernel evicted (LRU) leave
    /// their prefilter bit set until removed here: a false positive only.
    pub fn bypass_remove(&mut self, key: &FlowKey) -> Result<(), XdpError> {
        self.bypass.remove(key)?;
        self.fb.dec(key.filter_bucket());
        self.fb.flush(&mut self.bypass_filter)
    }

    /// The entry of `key`, if present.
    pub fn bypass_get(&self, key: &FlowKey) -> Result<Option<BypassValue>, XdpError> {
        match self.bypass.get(key, 0) {
            Ok(v) => Ok(Some(v)),
            Err(aya::maps::MapError::KeyNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes entries whose last packet is older than `idle`; returns how many.
    pub fn bypass_expire(&mut self, idle: Duration) -> Result<usize, XdpError> {
        let now = monotonic_ns();
        let idle = u64::try_from(idle.as_nanos()).unwrap_or(u64::MAX);
        let stale: Vec<FlowKey> = self
            .bypass
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| now.saturating_sub(v.last_seen_ns) > idle)
            .map(|(k, _)| k)
            .collect();
        let mut n = 0;
        for k in &stale {
            match self.bypass.remove(k) {
                Ok(()) => {
                    n += 1;
                    self.fb.dec(k.filter_bucket());
                }
                Err(aya::maps::MapError::KeyNotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.fb.flush(&mut self.bypass_filter)?;
        Ok(n)
    }

    // ---- counters ---------------------------------------------------------

    /// Sums every counter slot over all CPUs; index with [`cnt`] constants.
    pub fn counters(&self) -> Result<Vec<Counter>, XdpError> {
        let mut out = vec![Counter::default(); cnt::MAX as usize];
        for (i, slot) in out.iter_mut().enumerate() {
            let per_cpu = self.counters.get(&(i as u32), 0)?;
            for c in per_cpu.iter() {
                slot.packets = slot.packets.wrapping_add(c.packets);
                slot.bytes = slot.bytes.wrapping_add(c.bytes);
            }
        }
        Ok(out)
    }

    /// Sets every counter to zero on every CPU.
    pub fn reset_counters(&mut self) -> Result<(), XdpError> {
        let ncpu = aya::util::nr_cpus().map_err(|(_, e)| e)?;
        for i in 0..cnt::MAX {
            let zero = PerCpuValues::try_from(vec![Counter::default(); ncpu])?;
            self.counters.set(i, zero, 0)?;
        }
        Ok(())
    }

    // ---- events -----------------------------------------------------------

    /// Moves up to `max` pending IOC events into `out`; returns how many.
    /// Non-blocking: wait for readiness on [`SensorXdp::events_fd`] (epoll).
    pub fn poll_events(&mut self, out: &mut Vec<IocEvent>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(item) = self.events.next() else {
                break;
            };
            if let Some(ev) = IocEvent::from_bytes(&item) {
                out.push(ev);
                n += 1;
            }
        }
        n
    }

    /// The ring buffer's fd: readable when events are pending.
    pub fn events_fd(&self) -> BorrowedFd<'_> {
        self.events.as_fd()
    }

    // ---- testing ----------------------------------------------------------

    /// Runs the program on `frame` with `BPF_PROG_TEST_RUN` (`repeat` times;
    /// maps are updated for real). The kernel needs `frame.len() >= 14`.
    pub fn test_run(&self, frame: &[u8], repeat: u32) -> Result<RunResult, XdpError> {
        test_run(self.program(), frame, repeat)
    }
}

/// `BPF_PROG_TEST_RUN` of any loaded XDP program.
pub fn test_run(prog: &Xdp, frame: &[u8], repeat: u32) -> Result<RunResult, XdpError> {
    let r = prog.test_run(TestRunOptions {
        data_in: Some(frame),
        repeat: repeat.max(1),
        ..TestRunOptions::default()
    })?;
    Ok(RunResult {
        action: r.return_value,
        duration: r.duration,
    })
}

fn ioc_value(indicator: u32, len: u8) -> IocValue {
    IocValue {
        indicator,
        prefixlen: len,
        _pad: [0; 3],
    }
}

fn v4_key(addr: u32, len: u8) -> Result<(Key<[u8; 4]>, u32), XdpError> {
    if len > 32 {
        return Err(XdpError::PrefixLen {
            version: 4,
            len,
            max: 32,
        });
    }
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    let a = addr & mask;
    Ok((Key::new(u32::from(len), a.to_be_bytes()), a))
}

fn v6_key(addr: [u8; 16], len: u8) -> Result<(Key<[u8; 16]>, u128), XdpError> {
    if len > 128 {
        return Err(XdpError::PrefixLen {
            version: 6,
            len,
            max: 128,
        });
    }
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    let a = u128::from_be_bytes(addr) & mask;
    Ok((Key::new(u32::from(len), a.to_be_bytes()), a))
}

/// CLOCK_MONOTONIC in ns: the clock of `bpf_ktime_get_ns()`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Loads `xdp_pass.o` (a bare `return XDP_PASS;`), the benchmark baseline
/// and the probe for "can this process load XDP programs at all".
pub fn load_xdp_pass() -> Result<Ebpf, XdpError> {
    let mut ebpf = EbpfLoader::new().load(super::XDP_PASS_OBJ)?;
    let prog: &mut Xdp = ebpf
        .program_mut("xdp_pass")
        .ok_or(XdpError::Missing {
            kind: "program",
            name: "xdp_pass",
        })?
        .try_into()?;
    prog.load()?;
    Ok(ebpf)
}
