//! AF_PACKET live capture with a memory-mapped TPACKET_V3 receive ring.
//!
//! Receive only: the socket is never written to (no `sendto`, no TX ring).
//! Outgoing packets of the capture host are *not* ignored (no
//! `PACKET_IGNORE_OUTGOING`); on a span/tap port there are none.
//!
//! Setup order (see [`AfPacket::open`]):
//! 1. `if_nametoindex` + `SIOCGIFFLAGS` (unprivileged) → [`AfPacketError::NoSuchInterface`]
//!    / [`AfPacketError::InterfaceDown`];
//! 2. `socket(AF_PACKET, SOCK_RAW, 0)` — protocol 0 so that nothing is queued
//!    from *other* interfaces before the bind; `EPERM` → [`AfPacketError::Permission`];
//! 3. `PACKET_VERSION = TPACKET_V3`, `PACKET_RX_RING` (`tpacket_req3`), `mmap`;
//! 4. `bind` to the ifindex with `htons(ETH_P_ALL)` (capture starts here);
//! 5. `PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC` if asked (dropped by the
//!    kernel on close, so promiscuity is reference counted and undone on Drop);
//! 6. `PACKET_FANOUT` (HASH | DEFRAG) if a group is configured (the kernel
//!    only accepts it on a bound socket).
//!
//! Ring protocol: the kernel fills blocks in order and hands a block over by
//! storing `TP_STATUS_USER` in `block_status` (after a write barrier); we read
//! it with an acquire load, walk its `num_pkts` packets, and give it back with
//! a release store of `TP_STATUS_KERNEL`. Blocks are consumed strictly in
//! ring order. A block is closed when full or when `tp_retire_blk_tov`
//! ([`AfPacketConfig::block_timeout_ms`]) expires with at least one packet in
//! it, so under light traffic latency is up to `block_timeout_ms`; the socket
//! only becomes readable (poll wakeup) when a block is closed.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// `enum tpacket_versions` in <linux/if_packet.h>: TPACKET_V1 = 0, V2 = 1, V3 = 2.
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1 << 0;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const ETH_P_ALL: u16 = 0x0003;
const ETH_P_8021Q: u16 = 0x8100;

/// Block header, <linux/if_packet.h>:
/// ```c
/// struct tpacket_bd_ts { unsigned int ts_sec; union { unsigned int ts_usec; unsigned int ts_nsec; }; };
/// struct tpacket_hdr_v1 {
///     __u32 block_status; __u32 num_pkts; __u32 offset_to_first_pkt; __u32 blk_len;
///     __aligned_u64 seq_num;
///     struct tpacket_bd_ts ts_first_pkt, ts_last_pkt;
/// };
/// union tpacket_bd_header_u { struct tpacket_hdr_v1 bh1; };
/// struct tpacket_block_desc { __u32 version; __u32 offset_to_priv; union tpacket_bd_header_u hdr; };
/// ```
/// (only variant `bh1` exists, so the union is flattened here). 48 bytes.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug)]
struct TpacketBlockDesc {
    version: u32,
    offset_to_priv: u32,
    block_status: u32,
    num_pkts: u32,
    offset_to_first_pkt: u32,
    blk_len: u32,
    seq_num: u64,
    ts_first_sec: u32,
    ts_first_nsec: u32,
    ts_last_sec: u32,
    ts_last_nsec: u32,
}

/// Per-packet header, <linux/if_packet.h>:
/// ```c
/// struct tpacket_hdr_variant1 { __u32 tp_rxhash; __u32 tp_vlan_tci; __u16 tp_vlan_tpid; __u16 tp_padding; };
/// struct tpacket3_hdr {
///     __u32 tp_next_offset; __u32 tp_sec; __u32 tp_nsec; __u32 tp_snaplen; __u32 tp_len;
///     __u32 tp_status; __u16 tp_mac; __u16 tp_net;
///     union { struct tpacket_hdr_variant1 hv1; };
///     __u8 tp_padding[8];
/// };
/// ```
/// 48 bytes; packet data starts at `tp_mac` bytes from this header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct Tpacket3Hdr {
    tp_next_offset: u32,
    tp_sec: u32,
    tp_nsec: u32,
    tp_snaplen: u32,
    tp_len: u32,
    tp_status: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_rxhash: u32,
    tp_vlan_tci: u32,
    tp_vlan_tpid: u16,
    hv1_padding: u16,
    tp_padding: [u8; 8],
}

/// Live-capture configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfPacketConfig {
    pub iface: String,
    /// Bytes per ring block; a power of two and a multiple of the page size.
    pub block_size: u32,
    pub block_count: u32,
    /// Only used to compute `tp_frame_nr` (V3 packets are variable length).
    pub frame_size: u32,
    /// `tp_retire_blk_tov`: a partly filled block is handed to userspace after this.
    pub block_timeout_ms: u32,
    /// Join this `PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG` group
    /// (several sockets on one interface split flows between them).
    pub fanout_group: Option<u16>,
    pub promiscuous: bool,
}

impl AfPacketConfig {
    pub fn new(iface: impl Into<String>) -> Self {
        AfPacketConfig {
            iface: iface.into(),
            ..Default::default()
        }
    }
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        AfPacketConfig {
            iface: String::new(),
            block_size: 1 << 20,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 10,
            fanout_group: None,
            promiscuous: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    #[error(
        "no such network interface {iface:?}: check the capture interface name with `ip link`"
    )]
    NoSuchInterface { iface: String },
    #[error(
        "interface {iface} is down: bring it up with `ip link set {iface} up` before capturing"
    )]
    InterfaceDown { iface: String },
    #[error("permission denied to {what} on {iface}: needs {needs} (run as root or grant it, e.g. `setcap cap_net_raw,cap_net_admin+ep <binary>`)")]
    Permission {
        iface: String,
        what: &'static str,
        needs: &'static str,
    },
    #[error("invalid AF_PACKET config for {iface}: {reason}")]
    InvalidConfig { iface: String, reason: String },
    #[error("cannot allocate a {bytes}-byte TPACKET_V3 ring on {iface}: {source}; reduce block_size or block_count")]
    RingAlloc {
        iface: String,
        bytes: u64,
        #[source]
        source: io::Error,
    },
    #[error("AF_PACKET capture on {iface}: {step} failed: {source}")]
    Socket {
        iface: String,
        step: &'static str,
        #[source]
        source: io::Error,
    },
}

/// `tpacket_stats_v3` counters since the previous [`AfPacket::stats`] call
/// (the kernel resets them on every read). `tp_packets` counts every packet
/// that reached the socket, including the dropped ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AfPacketStats {
    pub tp_packets: u64,
    pub tp_drops: u64,
    /// Times the ring was full and the kernel froze the queue.
    pub tp_freeze_q_cnt: u64,
}

/// An AF_PACKET socket bound to one interface with an mmap'd TPACKET_V3 ring.
/// Drop unmaps the ring and closes the socket (which also drops the
/// promiscuous membership and leaves the fanout group).
pub struct AfPacket {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    block_size: usize,
    block_count: usize,
    cur: usize,
    ifindex: u32,
    /// Scratch for frames whose VLAN tag the kernel/NIC stripped.
    vlan_buf: Vec<u8>,
}

// The ring is owned exclusively by this value; nothing is tied to a thread.
unsafe impl Send for AfPacket {}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            val as *const T as *const libc::c_void,
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn is_perm(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

/// Checks that `iface` exists and is up (unprivileged), returning its index:
/// the first step of every capture mode, so a typo or a down link gets the
/// same clear error whatever the mode.
pub fn check_interface(iface: &str) -> Result<u32, AfPacketError> {
    let no_such = || AfPacketError::NoSuchInterface {
        iface: iface.to_string(),
    };
    if iface.is_empty() || iface.len() >= libc::IFNAMSIZ {
        return Err(no_such());
    }
    let cname = CString::new(iface.as_bytes()).map_err(|_| no_such())?;
    // SAFETY: valid NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if ifindex == 0 {
        return Err(no_such());
    }
    let flags = iface_flags(&cname).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENODEV) {
            no_such()
        } else if is_perm(&e) {
            AfPacketError::Permission {
                iface: iface.to_string(),
                what: "SIOCGIFFLAGS",
                needs: "CAP_NET_RAW",
            }
        } else {
            AfPacketError::Socket {
                iface: iface.to_string(),
                step: "SIOCGIFFLAGS",
                source: e,
            }
        }
    })?;
    if flags & libc::IFF_UP == 0 {
        return Err(AfPacketError::InterfaceDown {
            iface: iface.to_string(),
        });
    }
    Ok(ifindex)
}

/// Puts `iface` in promiscuous mode for as long as the returned descriptor
/// is open (the kernel counts the membership and drops it on close, so a
/// crash leaves the interface as it was). For capture mechanisms that do
/// not go through an AF_PACKET ring (AF_XDP): without it a NIC on a span
/// port discards the frames addressed to other stations.
pub fn promiscuous_guard(iface: &str) -> Result<std::os::fd::OwnedFd, AfPacketError> {
    use std::os::fd::FromRawFd;
    let ifindex = check_interface(iface)?;
    // SAFETY: plain syscall; protocol 0 receives nothing.
    let s = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        let e = io::Error::last_os_error();
        return Err(if is_perm(&e) {
            AfPacketError::Permission {
                iface: iface.to_string(),
                what: "enable promiscuous mode",
                needs: "CAP_NET_RAW",
            }
        } else {
            AfPacketError::Socket {
                iface: iface.to_string(),
                step: "socket",
                source: e,
            }
        });
    }
    // SAFETY: `s` is a fresh descriptor we own.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(s) };
    // SAFETY: zeroed plain-data struct.
    let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
    mr.mr_ifindex = ifindex as i32;
    mr.mr_type = libc::PACKET_MR_PROMISC as u16;
    setsockopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mr).map_err(|e| {
        if is_perm(&e) {
            AfPacketError::Permission {
                iface: iface.to_string(),
                what: "enable promiscuous mode",
                needs: "CAP_NET_RAW",
            }
        } else {
            AfPacketError::Socket {
                iface: iface.to_string(),
                step: "PACKET_ADD_MEMBERSHIP(PACKET_MR_PROMISC)",
                source: e,
            }
        }
    })?;
    Ok(fd)
}

impl AfPacket {
    pub fn open(cfg: &AfPacketConfig) -> Result<AfPacket, AfPacketError> {
        let iface = cfg.iface.clone();
        let sock_err = |step: &'static str, source: io::Error| {
            if is_perm(&source) {
                AfPacketError::Permission {
                    iface: iface.clone(),
                    what: step,
                    needs: "CAP_NET_RAW",
                }
            } else {
                AfPacketError::Socket {
                    iface: iface.clone(),
                    step,
                    source,
                }
            }
        };

        // ---- config ----
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u32;
        let invalid = |reason: String| AfPacketError::InvalidConfig {
            iface: iface.clone(),
            reason,
        };
        if !cfg.block_size.is_power_of_two() || !cfg.block_size.is_multiple_of(page) {
            return Err(invalid(format!(
                "block_size {} must be a power of two and a multiple of the page size {page}",
                cfg.block_size
            )));
        }
        if cfg.block_count == 0 {
            return Err(invalid("block_count must be > 0".into()));
        }
        if cfg.frame_size < 64
            || !cfg.frame_size.is_multiple_of(16)
            || cfg.frame_size > cfg.block_size
        {
            return Err(invalid(format!(
                "frame_size {} must be a multiple of 16, >= 64 and <= block_size",
                cfg.frame_size
            )));
        }
        let ring_len_u64 = cfg.block_size as u64 * cfg.block_count as u64;
        let frame_nr = (cfg.block_size / cfg.frame_size) as u64 * cfg.block_count as u64;
        if ring_len_u64 > isize::MAX as u64 || frame_nr > u32::MAX as u64 {
            return Err(invalid(format!(
                "ring of {ring_len_u64} bytes is too large"
            )));
        }

        // ---- interface (unprivileged checks first, for clearer errors) ----
        let ifindex = check_interface(&cfg.iface)?;

        // ---- socket + ring ----
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(if is_perm(&e) {
                AfPacketError::Permission {
                    iface,
                    what: "open an AF_PACKET socket",
                    needs: "CAP_NET_RAW",
                }
            } else {
                AfPacketError::Socket {
                    iface,
                    step: "socket(AF_PACKET)",
                    source: e,
                }
            });
        }
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let s = fd.as_raw_fd();

        setsockopt(s, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3)
            .map_err(|e| sock_err("PACKET_VERSION=TPACKET_V3", e))?;

        let req = libc::tpacket_req3 {
            tp_block_size: cfg.block_size,
            tp_block_nr: cfg.block_count,
            tp_frame_size: cfg.frame_size,
            tp_frame_nr: frame_nr as u32,
            tp_retire_blk_tov: cfg.block_timeout_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(s, libc::SOL_PACKET, libc::PACKET_RX_RING, &req).map_err(|e| {
            if matches!(e.raw_os_error(), Some(libc::ENOMEM) | Some(libc::ENOBUFS)) {
                AfPacketError::RingAlloc {
                    iface: iface.clone(),
                    bytes: ring_len_u64,
                    source: e,
                }
            } else {
                sock_err("PACKET_RX_RING", e)
            }
        })?;

        let ring_len = ring_len_u64 as usize;
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED | libc::MAP_POPULATE,
                s,
                0,
            )
        };
        let ring = if ring == libc::MAP_FAILED {
            // MAP_LOCKED can fail on RLIMIT_MEMLOCK; the ring pages are kernel
            // pages anyway, so retry without it.
            let r = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    ring_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    s,
                    0,
                )
            };
            if r == libc::MAP_FAILED {
                let e = io::Error::last_os_error();
                return Err(AfPacketError::RingAlloc {
                    iface,
                    bytes: ring_len_u64,
                    source: e,
                });
            }
            r
        } else {
            ring
        };
        // From here on Drop cleans up.
        let me = AfPacket {
            fd,
            ring: ring as *mut u8,
            ring_len,
            block_size: cfg.block_size as usize,
            block_count: cfg.block_count as usize,
            cur: 0,
            ifindex,
            vlan_buf: Vec::new(),
        };

        // ---- bind: capture starts ----
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        let r = unsafe {
            libc::bind(
                s,
                &sll as *const _ as *const libc::sockaddr,
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENODEV) => AfPacketError::NoSuchInterface {
                    iface: iface.clone(),
                },
                Some(libc::ENETDOWN) => AfPacketError::InterfaceDown { iface },
                _ => sock_err("bind", e),
            });
        }

        if cfg.promiscuous {
            let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
            mr.mr_ifindex = ifindex as i32;
            mr.mr_type = libc::PACKET_MR_PROMISC as u16;
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mr).map_err(|e| {
                match is_perm(&e) {
                    true => AfPacketError::Permission {
                        iface: iface.clone(),
                        what: "enable promiscuous mode",
                        needs: "CAP_NET_RAW",
                    },
                    false => sock_err("PACKET_ADD_MEMBERSHIP(PACKET_MR_PROMISC)", e),
                }
            })?;
        }

        if let Some(group) = cfg.fanout_group {
            let kind = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
            let arg: libc::c_int = (group as u32 | (kind << 16)) as libc::c_int;
            setsockopt(s, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg).map_err(|e| {
                sock_err(
                    "PACKET_FANOUT (group exists with another mode/interface?)",
                    e,
                )
            })?;
        }
        Ok(me)
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    #[inline]
    fn block(&self, i: usize) -> *mut u8 {
        debug_assert!(i < self.block_count);
        unsafe { self.ring.add(i * self.block_size) }
    }

    #[inline]
    fn block_status(&self, i: usize) -> &AtomicU32 {
        let p = self.block(i) as *mut TpacketBlockDesc;
        // Aligned (block start is page aligned, field offset 8) and shared
        // with the kernel, which writes it only while the block is its own.
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*p).block_status)) }
    }

    #[inline]
    fn block_ready(&self, i: usize) -> bool {
        self.block_status(i).load(Ordering::Acquire) & TP_STATUS_USER != 0
    }

    /// Wait up to `timeout` for a block, then call `f(frame_bytes, ts_ns)` for
    /// every packet in each ready block and return the blocks to the kernel.
    /// Returns the number of packets delivered (0 on timeout or EINTR).
    /// `ts_ns` is the kernel receive timestamp, ns since the Unix epoch.
    /// Frames whose 802.1Q tag was stripped by VLAN offload get it re-inserted.
    pub fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&[u8], u64)) -> io::Result<usize> {
        if !self.block_ready(self.cur) {
            let ms = if timeout.is_zero() {
                0
            } else {
                let ms = timeout.as_nanos().div_ceil(1_000_000);
                ms.min(i32::MAX as u128) as libc::c_int
            };
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                return if e.kind() == io::ErrorKind::Interrupted {
                    Ok(0)
                } else {
                    Err(e)
                };
            }
            if !self.block_ready(self.cur) {
                if pfd.revents & libc::POLLERR != 0 {
                    // e.g. ENETDOWN when the interface goes down.
                    let mut err: libc::c_int = 0;
                    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
                    unsafe {
                        libc::getsockopt(
                            self.fd.as_raw_fd(),
                            libc::SOL_SOCKET,
                            libc::SO_ERROR,
                            &mut err as *mut _ as *mut libc::c_void,
                            &mut len,
                        )
                    };
                    if err != 0 {
                        return Err(io::Error::from_raw_os_error(err));
                    }
                }
                return Ok(0);
            }
        }
        let mut delivered = 0;
        // At most one lap, so a busy link cannot keep us here forever.
        for _ in 0..self.block_count {
            if !self.block_ready(self.cur) {
                break;
            }
            delivered += self.walk_block(self.cur, f);
            self.block_status(self.cur)
                .store(TP_STATUS_KERNEL, Ordering::Release);
            self.cur = (self.cur + 1) % self.block_count;
        }
        Ok(delivered)
    }

    fn walk_block(&mut self, i: usize, f: &mut dyn FnMut(&[u8], u64)) -> usize {
        let base = self.block(i);
        let bs = self.block_size;
        // The acquire load of block_status happened-before; plain reads are fine
        // for the rest of the user-owned block.
        let desc = unsafe { std::ptr::read(base as *const TpacketBlockDesc) };
        let mut off = desc.offset_to_first_pkt as usize;
        let mut n = 0;
        for _ in 0..desc.num_pkts {
            if off + size_of::<Tpacket3Hdr>() > bs || !off.is_multiple_of(4) {
                debug_assert!(false, "corrupt TPACKET_V3 block: packet offset {off}");
                break;
            }
            let h = unsafe { std::ptr::read(base.add(off) as *const Tpacket3Hdr) };
            let (mac, snap) = (h.tp_mac as usize, h.tp_snaplen as usize);
            if off + mac + snap > bs {
                debug_assert!(false, "corrupt TPACKET_V3 packet at {off}");
                break;
            }
            let data = unsafe { std::slice::from_raw_parts(base.add(off + mac), snap) };
            let ts = h.tp_sec as u64 * 1_000_000_000 + h.tp_nsec as u64;
            if h.tp_status & TP_STATUS_VLAN_VALID != 0 && snap >= 12 {
                let tpid = if h.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 && h.tp_vlan_tpid != 0 {
                    h.tp_vlan_tpid
                } else {
                    ETH_P_8021Q
                };
                let buf = &mut self.vlan_buf;
                buf.clear();
                buf.extend_from_slice(&data[..12]);
                buf.extend_from_slice(&tpid.to_be_bytes());
                buf.extend_from_slice(&(h.tp_vlan_tci as u16).to_be_bytes());
                buf.extend_from_slice(&data[12..]);
                f(buf, ts);
            } else {
                f(data, ts);
            }
            n += 1;
            if h.tp_next_offset == 0 {
                break;
            }
            off += h.tp_next_offset as usize;
        }
        n
    }

    /// Kernel socket statistics since the last call (`PACKET_STATISTICS`).
    pub fn stats(&mut self) -> io::Result<AfPacketStats> {
        let mut st = MaybeUninit::<libc::tpacket_stats_v3>::zeroed();
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                st.as_mut_ptr() as *mut libc::c_void,
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let st = unsafe { st.assume_init() };
        Ok(AfPacketStats {
            tp_packets: st.tp_packets as u64,
            tp_drops: st.tp_drops as u64,
            tp_freeze_q_cnt: st.tp_freeze_q_cnt as u64,
        })
    }
}

impl Drop for AfPacket {
    fn drop(&mut self) {
        unsafe { libc::munmap(self.ring as *mut libc::c_void, self.ring_len) };
        // `fd` (OwnedFd) closes after this; close releases the promiscuous
        // membership and the fanout group membership.
    }
}

fn iface_flags(name: &CString) -> io::Result<libc::c_int> {
    let s = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if s < 0 {
        return Err(io::Error::last_os_error());
    }
    let s = unsafe { OwnedFd::from_raw_fd(s) };
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, b) in ifr.ifr_name.iter_mut().zip(name.as_bytes()) {
        *d = *b as libc::c_char;
    }
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { ifr.ifr_ifru.ifru_flags } as libc::c_int)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::mem::offset_of;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn kernel_struct_layouts() {
        assert_eq!(size_of::<TpacketBlockDesc>(), 48);
        assert_eq!(offset_of!(TpacketBlockDesc, block_status), 8);
        assert_eq!(offset_of!(TpacketBlockDesc, num_pkts), 12);
        assert_eq!(offset_of!(TpacketBlockDesc, offset_to_first_pkt), 16);
        assert_eq!(offset_of!(TpacketBlockDesc, seq_num), 24);
        assert_eq!(
            size_of::<TpacketBlockDesc>(),
            size_of::<libc::tpacket_block_desc>()
        );
        assert_eq!(size_of::<Tpacket3Hdr>(), 48);
        assert_eq!(offset_of!(Tpacket3Hdr, tp_status), 20);
        assert_eq!(offset_of!(Tpacket3Hdr, tp_mac), 24);
        assert_eq!(offset_of!(Tpacket3Hdr, tp_vlan_tci), 32);
        assert_eq!(offset_of!(Tpacket3Hdr, tp_vlan_tpid), 36);
        assert_eq!(size_of::<Tpacket3Hdr>(), size_of::<libc::tpacket3_hdr>());
        assert_eq!(size_of::<libc::tpacket_req3>(), 28);
        assert_eq!(size_of::<libc::tpacket_stats_v3>(), 12);
    }

    #[test]
    fn invalid_config_rejected() {
        let mut c = AfPacketConfig::new("lo");
        c.block_size = 3 * 4096;
        let e = AfPacket::open(&c).err().expect("must fail");
        assert!(matches!(e, AfPacketError::InvalidConfig { .. }), "{e}");
        let mut c = AfPacketConfig::new("lo");
        c.frame_size = 100;
        assert!(matches!(
            AfPacket::open(&c),
            Err(AfPacketError::InvalidConfig { .. })
        ));
    }

    #[test]
    fn nonexistent_interface() {
        for name in ["afp-nope0", "this-name-is-far-too-long-for-ifnamsiz", ""] {
            let e = AfPacket::open(&AfPacketConfig::new(name))
                .err()
                .expect("must fail");
            assert!(
                matches!(e, AfPacketError::NoSuchInterface { .. }),
                "{name}: {e}"
            );
            assert!(e.to_string().contains(name), "{e}");
            eprintln!("ok: {e}");
        }
    }

    // ---------- root-only tests on veth pairs ----------

    fn is_root() -> bool {
        unsafe { libc::geteuid() == 0 }
    }

    macro_rules! require_root {
        ($name:expr) => {
            if !is_root() {
                eprintln!(
                    "SKIPPED {}: needs root (CAP_NET_ADMIN + CAP_NET_RAW) to create veth/netns",
                    $name
                );
                return;
            }
        };
    }

    fn ip(args: &[&str]) {
        let out = Command::new("ip").args(args).output().expect("run ip");
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ip_quiet(args: &[&str]) {
        let _ = Command::new("ip").args(args).output();
    }

    /// veth pair `host` (root namespace, up, no address) <-> `peer` in netns `ns`
    /// (10.99.<net>.2/24, static neighbour for 10.99.<net>.1 = host's MAC so
    /// no ARP is needed). Drop deletes both.
    struct VethNs {
        ns: String,
        host: String,
        net: u8,
    }

    impl VethNs {
        fn new(tag: &str, net: u8, up: bool) -> VethNs {
            let g = VethNs {
                ns: format!("afp-test-{tag}"),
                host: format!("afpt{tag}h"),
                net,
            };
            let peer = format!("afpt{tag}p");
            g.cleanup(); // leftovers of an aborted run
            ip(&["netns", "add", &g.ns]);
            ip(&[
                "link", "add", &g.host, "type", "veth", "peer", "name", &peer, "netns", &g.ns,
            ]);
            let _ = std::fs::write(
                format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", g.host),
                "1",
            );
            if up {
                ip(&["link", "set", &g.host, "up"]);
                let addr = format!("10.99.{net}.2/24");
                ip(&["-n", &g.ns, "addr", "add", &addr, "dev", &peer]);
                ip(&["-n", &g.ns, "link", "set", &peer, "up"]);
                let mac =
                    std::fs::read_to_string(format!("/sys/class/net/{}/address", g.host)).unwrap();
                let dst = format!("10.99.{net}.1");
                ip(&[
                    "-n",
                    &g.ns,
                    "neigh",
                    "replace",
                    &dst,
                    "lladdr",
                    mac.trim(),
                    "dev",
                    &peer,
                    "nud",
                    "permanent",
                ]);
            }
            g
        }

        fn cleanup(&self) {
            ip_quiet(&["link", "del", &self.host]);
            ip_quiet(&["netns", "del", &self.ns]);
        }

        fn dst(&self) -> Ipv4Addr {
            Ipv4Addr::new(10, 99, self.net, 1)
        }

        /// Send `n` datagrams "afp <i>" from the namespace, source ports
        /// round-robin over `sports`.
        fn send_udp(&self, dport: u16, sports: &[u16], n: usize) {
            let (ns, src, dst, sports) = (
                self.ns.clone(),
                Ipv4Addr::new(10, 99, self.net, 2),
                self.dst(),
                sports.to_vec(),
            );
            std::thread::spawn(move || {
                let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
                assert_eq!(
                    unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) },
                    0,
                    "setns: {}",
                    io::Error::last_os_error()
                );
                let socks: Vec<UdpSocket> = sports
                    .iter()
                    .map(|p| UdpSocket::bind((src, *p)).unwrap())
                    .collect();
                for i in 0..n {
                    socks[i % socks.len()]
                        .send_to(payload(i).as_bytes(), (dst, dport))
                        .unwrap();
                }
            })
            .join()
            .unwrap();
        }
    }

    impl Drop for VethNs {
        fn drop(&mut self) {
            self.cleanup();
        }
    }

    fn payload(i: usize) -> String {
        format!("afp {i:06}")
    }

    /// (src port, payload) of an untagged Ethernet/IPv4/UDP frame to `dport`.
    fn udp_to(frame: &[u8], dport: u16) -> Option<(u16, &[u8])> {
        if frame.len() < 14 + 20 + 8 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 17 {
            return None;
        }
        let ihl = (frame[14] & 0x0f) as usize * 4;
        let u = &frame[14 + ihl..];
        if u16::from_be_bytes([u[2], u[3]]) != dport {
            return None;
        }
        let ulen = u16::from_be_bytes([u[4], u[5]]) as usize;
        Some((u16::from_be_bytes([u[0], u[1]]), &u[8..ulen]))
    }

    fn promisc(iface: &str) -> bool {
        let s = std::fs::read_to_string(format!("/sys/class/net/{iface}/flags")).unwrap();
        u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap()
            & libc::IFF_PROMISC as u32
            != 0
    }

    #[test]
    fn capture_udp_from_netns() {
        require_root!("capture_udp_from_netns");
        const N: usize = 500;
        const PORT: u16 = 9901;
        let v = VethNs::new("1", 1, true);
        assert!(!promisc(&v.host));
        let cfg = AfPacketConfig {
            iface: v.host.clone(),
            promiscuous: true,
            ..Default::default()
        };
        let mut cap = AfPacket::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(promisc(&v.host), "PACKET_MR_PROMISC not applied");
        assert_eq!(
            cap.ifindex(),
            std::fs::read_to_string(format!("/sys/class/net/{}/ifindex", v.host))
                .unwrap()
                .trim()
                .parse::<u32>()
                .unwrap()
        );
        let _ = cap.stats().unwrap(); // reset counters

        let t_send = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        v.send_udp(PORT, &[40000], N);

        let mut seen = vec![0u32; N];
        let got = std::cell::Cell::new(0usize);
        let mut other = 0usize;
        let mut bad_ts = 0;
        let start = Instant::now();
        let mut first_latency = None;
        let mut on_pkt = |frame: &[u8], ts: u64| match udp_to(frame, PORT) {
            Some((_, p)) => {
                let s = std::str::from_utf8(p).unwrap();
                let i: usize = s.strip_prefix("afp ").unwrap().parse().unwrap();
                assert_eq!(s, payload(i));
                seen[i] += 1;
                got.set(got.get() + 1);
                if ts + 1_000_000_000 < t_send || ts > t_send + 10_000_000_000 {
                    bad_ts += 1;
                }
            }
            None => other += 1,
        };
        while got.get() < N && start.elapsed() < Duration::from_secs(5) {
            cap.poll(Duration::from_millis(100), &mut on_pkt).unwrap();
            if got.get() > 0 && first_latency.is_none() {
                first_latency = Some(start.elapsed());
            }
        }
        // Anything extra (duplicates) would show up now.
        cap.poll(Duration::from_millis(50), &mut on_pkt).unwrap();
        #[allow(clippy::drop_non_drop)] // ends the closure's borrows
        drop(on_pkt);
        let got = got.get();
        eprintln!("capture: {got} udp + {other} other frames in {:?} (first block after {first_latency:?})", start.elapsed());
        assert_eq!(got, N);
        assert!(seen.iter().all(|&c| c == 1), "each payload exactly once");
        assert_eq!(bad_ts, 0, "timestamps not near wall clock");

        let st = cap.stats().unwrap();
        eprintln!("stats: {st:?}");
        assert!(st.tp_packets >= N as u64, "{st:?}");
        assert_eq!(st.tp_drops, 0, "{st:?}");

        drop(cap);
        assert!(!promisc(&v.host), "promiscuous mode not left on drop");
    }

    /// VLAN: the receive path (`skb_vlan_untag`) moves the outer tag into
    /// skb metadata before AF_PACKET taps run, so the kernel reports it in
    /// tp_vlan_tci/tp_vlan_tpid and the ring holds untagged bytes; poll()
    /// must hand over the wire frame. Tagged frames are injected from a raw
    /// socket in the namespace (this kernel has no 8021q module).
    #[test]
    fn vlan_tag_reinserted() {
        require_root!("vlan_tag_reinserted");
        const PORT: u16 = 9904;
        let v = VethNs::new("4", 4, true);
        let cfg = AfPacketConfig {
            iface: v.host.clone(),
            block_size: 1 << 16,
            block_count: 4,
            ..Default::default()
        };
        let mut cap = AfPacket::open(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", v.host)).unwrap();
        let dst: Vec<u8> = mac
            .trim()
            .split(':')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        let udp_ip = |tag: &[u8]| {
            let mut f = dst.clone();
            f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
            f.extend_from_slice(tag);
            f.extend_from_slice(&[0x08, 0x00]);
            let body = b"afp vlan";
            let ulen = 8 + body.len() as u16;
            f.extend_from_slice(&[
                0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 99, 4, 2, 10, 99, 4, 1,
            ]);
            let tot = (20 + ulen).to_be_bytes();
            let l = f.len();
            f[l - 18..l - 16].copy_from_slice(&tot);
            f.extend_from_slice(&42000u16.to_be_bytes());
            f.extend_from_slice(&PORT.to_be_bytes());
            f.extend_from_slice(&ulen.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(body);
            f
        };
        let frames = vec![
            udp_ip(&[0x81, 0x00, 0x60, 0x0a]), // 802.1Q PCP 3, VID 10
            udp_ip(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]), // QinQ S-VID 100, C-VID 10
            udp_ip(&[]),                       // untagged
        ];
        let (ns, sent) = (v.ns.clone(), frames.clone());
        std::thread::spawn(move || {
            let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
            assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
            let ifx = unsafe { libc::if_nametoindex(c"afpt4p".as_ptr()) };
            assert!(ifx > 0);
            let s = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            assert!(s >= 0);
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_ifindex = ifx as i32;
            sll.sll_halen = 6;
            for fr in &sent {
                let r = unsafe {
                    libc::sendto(
                        s,
                        fr.as_ptr() as *const _,
                        fr.len(),
                        0,
                        &sll as *const _ as *const libc::sockaddr,
                        size_of::<libc::sockaddr_ll>() as u32,
                    )
                };
                assert_eq!(r, fr.len() as isize, "{}", io::Error::last_os_error());
            }
            unsafe { libc::close(s) };
        })
        .join()
        .unwrap();
        let mut got: Vec<Vec<u8>> = Vec::new();
        let start = Instant::now();
        while got.len() < frames.len() && start.elapsed() < Duration::from_secs(5) {
            cap.poll(Duration::from_millis(100), &mut |f, _| {
                if f.windows(2).any(|w| w == PORT.to_be_bytes()) && f.ends_with(b"afp vlan") {
                    got.push(f.to_vec());
                }
            })
            .unwrap();
        }
        assert_eq!(
            got, frames,
            "captured frames must equal the wire frames, tags included"
        );
    }

    #[test]
    fn interface_down() {
        require_root!("interface_down");
        let v = VethNs::new("2", 2, false);
        let e = AfPacket::open(&AfPacketConfig::new(v.host.clone()))
            .err()
            .expect("must fail");
        assert!(matches!(e, AfPacketError::InterfaceDown { .. }), "{e}");
        assert!(e.to_string().contains(&v.host), "{e}");
        eprintln!("ok: {e}");
    }

    #[test]
    fn fanout_hash_splits_flows() {
        require_root!("fanout_hash_splits_flows");
        const N: usize = 500;
        const PORT: u16 = 9903;
        let v = VethNs::new("3", 3, true);
        let group = (std::process::id() as u16) ^ 0x5a5a;
        let cfg = AfPacketConfig {
            iface: v.host.clone(),
            block_size: 1 << 16,
            block_count: 8,
            fanout_group: Some(group),
            promiscuous: false,
            ..Default::default()
        };
        let mut caps = [
            AfPacket::open(&cfg).unwrap_or_else(|e| panic!("{e}")),
            AfPacket::open(&cfg).unwrap_or_else(|e| panic!("{e}")),
        ];
        let sports: Vec<u16> = (41000..41016).collect();
        v.send_udp(PORT, &sports, N);

        // flow (source port) -> packets per socket
        let mut flows: HashMap<u16, [usize; 2]> = HashMap::new();
        let mut seen = vec![0u32; N];
        let mut per_sock = [0usize; 2];
        let start = Instant::now();
        let mut deadline_extra = None;
        loop {
            for (k, cap) in caps.iter_mut().enumerate() {
                cap.poll(Duration::from_millis(20), &mut |frame, _| {
                    if let Some((sport, p)) = udp_to(frame, PORT) {
                        let i: usize = std::str::from_utf8(p).unwrap()[4..].parse().unwrap();
                        seen[i] += 1;
                        per_sock[k] += 1;
                        flows.entry(sport).or_default()[k] += 1;
                    }
                })
                .unwrap();
            }
            let total = per_sock[0] + per_sock[1];
            if total >= N && deadline_extra.is_none() {
                deadline_extra = Some(Instant::now() + Duration::from_millis(50));
            }
            if deadline_extra.is_some_and(|d| Instant::now() > d)
                || start.elapsed() > Duration::from_secs(5)
            {
                break;
            }
        }
        eprintln!("fanout: per socket {per_sock:?}, flows {:?}", {
            let mut f: Vec<_> = flows.iter().collect();
            f.sort();
            f
        });
        assert_eq!(per_sock[0] + per_sock[1], N);
        assert!(seen.iter().all(|&c| c == 1));
        assert!(
            per_sock[0] > 0 && per_sock[1] > 0,
            "hash put every flow on one socket: {per_sock:?}"
        );
        assert_eq!(flows.len(), sports.len());
        for (sport, c) in &flows {
            assert!(
                c[0] == 0 || c[1] == 0,
                "flow {sport} split across sockets: {c:?}"
            );
        }
        for cap in &mut caps {
            let st = cap.stats().unwrap();
            assert_eq!(st.tp_drops, 0, "{st:?}");
        }
    }
}
