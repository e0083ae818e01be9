//! AF_XDP receive sockets: a UMEM, its fill and completion rings and an RX
//! ring, bound to one rx queue of one interface. The XDP program
//! (`ebpf/sensor_xdp.c`) redirects each frame it does not drop to the socket
//! registered for its queue ([`crate::capture::xdp::SensorXdp::bind_xsk`]).
//!
//! Receive only: the sensor never transmits, so no TX ring is created, and
//! frames go straight back to the fill ring once the pipeline has copied
//! them into a batch.
//!
//! Written here against the kernel ABI (`linux/if_xdp.h`, via `libc`)
//! instead of taken from a crate: `xsk-rs` links the libxdp and libbpf C
//! libraries, and `xdpilone` is EUPL-1.2 (copyleft). The part the sensor
//! needs (RX only) is a few hundred lines.
//!
//! Zero-copy needs driver support and native XDP; copy mode works on every
//! interface (including veth and generic XDP). [`ZeroCopy::Auto`] tries
//! zero-copy first and falls back to copy mode, and [`Xsk::zero_copy`] says
//! which one the kernel accepted.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Zero-copy choice for binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroCopy {
    /// Zero-copy when the driver supports it, copy mode otherwise.
    Auto,
    /// Zero-copy or fail.
    On,
    /// Copy mode.
    Off,
}

/// Sizes of one socket's memory.
#[derive(Clone, Debug)]
pub struct XskConfig {
    /// Frames in the UMEM (also the fill ring size). Power of two.
    pub frames: u32,
    /// Bytes per frame: 2048 or 4096. Frames longer than this are dropped
    /// by the kernel (counted in `rx_dropped`).
    pub frame_size: u32,
    /// RX ring entries. Power of two.
    pub rx_size: u32,
    pub zero_copy: ZeroCopy,
}

impl Default for XskConfig {
    fn default() -> Self {
        XskConfig {
            frames: 4096,
            frame_size: 4096,
            rx_size: 2048,
            zero_copy: ZeroCopy::Auto,
        }
    }
}

/// Kernel counters of one socket (`XDP_STATISTICS`), cumulative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XskStats {
    /// Frames dropped for other reasons (e.g. longer than a frame).
    pub rx_dropped: u64,
    /// Invalid descriptors (a bug, ours or the kernel's).
    pub rx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full (userspace too slow).
    pub rx_ring_full: u64,
    /// Times the driver found the fill ring empty (no frame to write into).
    pub rx_fill_ring_empty: u64,
}

/// Errors opening a socket, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum XskError {
    #[error("AF_XDP socket: permission denied (needs CAP_NET_RAW, and CAP_NET_ADMIN to bind)")]
    Permission,
    #[error("AF_XDP is not supported by this kernel (CONFIG_XDP_SOCKETS)")]
    Unsupported,
    #[error(
        "AF_XDP: cannot lock the {mib} MiB packet buffer (RLIMIT_MEMLOCK is {limit}); raise it \
         (systemd: LimitMEMLOCK=infinity; shell: ulimit -l unlimited) or give CAP_IPC_LOCK"
    )]
    Memlock { mib: u64, limit: String },
    #[error(
        "{iface} rx queue {queue}: zero-copy AF_XDP is not supported by this driver ({source})"
    )]
    NoZeroCopy {
        iface: String,
        queue: u32,
        source: io::Error,
    },
    #[error("{iface} rx queue {queue} already has an AF_XDP socket (another sensor or XDP tool running?)")]
    Busy { iface: String, queue: u32 },
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        source: io::Error,
    },
}

fn sys(what: &'static str) -> impl FnOnce(io::Error) -> XskError {
    move |source| XskError::Sys { what, source }
}

/// One mmapped ring shared with the kernel.
struct Ring {
    map: NonNull<u8>,
    map_len: usize,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    desc: *mut u8,
    mask: u32,
    size: u32,
}

impl Ring {
    /// Maps ring `pgoff` of `fd` with entries of `entry` bytes.
    fn map(
        fd: RawFd,
        off: &libc::xdp_ring_offset,
        size: u32,
        entry: usize,
        pgoff: u64,
    ) -> io::Result<Ring> {
        let map_len = off.desc as usize + size as usize * entry;
        // SAFETY: a fresh shared mapping of the socket's ring; the kernel
        // validates the offset and length.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                pgoff as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = p.cast::<u8>();
        // SAFETY: the offsets come from XDP_MMAP_OFFSETS for this mapping.
        unsafe {
            Ok(Ring {
                map: NonNull::new_unchecked(base),
                map_len,
                producer: base.add(off.producer as usize).cast(),
                consumer: base.add(off.consumer as usize).cast(),
                flags: base.add(off.flags as usize).cast(),
                desc: base.add(off.desc as usize),
                mask: size - 1,
                size,
            })
        }
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping, 4-byte aligned by the ABI.
        unsafe { &*self.producer }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as above.
        unsafe { &*self.consumer }
    }

    fn needs_wakeup(&self) -> bool {
        // SAFETY: as above.
        unsafe { &*self.flags }.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping once.
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

/// One AF_XDP socket bound to an rx queue.
pub struct Xsk {
    fd: OwnedFd,
    umem: NonNull<u8>,
    umem_len: usize,
    fill: Ring,
    // The completion ring is required by bind() but unused (no TX).
    _comp: Ring,
    rx: Ring,
    frame_size: u32,
    /// Frames back from the RX ring that did not fit in the fill ring yet.
    stash: Vec<u64>,
    zero_copy: bool,
    iface: String,
    queue: u32,
    /// Unmaps the UMEM; declared last so it drops after the socket closed.
    _umem_map: UmemGuard,
}

// SAFETY: the raw pointers are into mappings owned by this value; it is used
// from one thread at a time.
unsafe impl Send for Xsk {}

impl Xsk {
    /// Opens a socket on rx queue `queue` of `iface` (interface index
    /// `ifindex`).
    pub fn open(iface: &str, ifindex: u32, queue: u32, cfg: &XskConfig) -> Result<Xsk, XskError> {
        match cfg.zero_copy {
            ZeroCopy::On => Self::open_mode(iface, ifindex, queue, cfg, true),
            ZeroCopy::Off => Self::open_mode(iface, ifindex, queue, cfg, false),
            ZeroCopy::Auto => match Self::open_mode(iface, ifindex, queue, cfg, true) {
                Err(XskError::NoZeroCopy { .. }) => {
                    Self::open_mode(iface, ifindex, queue, cfg, false)
                }
                r => r,
            },
        }
    }

    fn open_mode(
        iface: &str,
        ifindex: u32,
        queue: u32,
        cfg: &XskConfig,
        zero_copy: bool,
    ) -> Result<Xsk, XskError> {
        assert!(cfg.frames.is_power_of_two() && cfg.rx_size.is_power_of_two());
        // SAFETY: plain syscall.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => XskError::Permission,
                Some(libc::EAFNOSUPPORT) => XskError::Unsupported,
                _ => XskError::Sys {
                    what: "creating the AF_XDP socket",
                    source: e,
                },
            });
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let umem_len = cfg.frames as usize * cfg.frame_size as usize;
        // SAFETY: anonymous private mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                umem_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(sys("allocating the AF_XDP packet buffer")(
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: mmap succeeded.
        let umem = unsafe { NonNull::new_unchecked(p.cast::<u8>()) };
        // From here on, free the UMEM on error.
        let guard = UmemGuard(umem, umem_len);

        let reg = libc::xdp_umem_reg {
            addr: umem.as_ptr() as u64,
            len: umem_len as u64,
            chunk_size: cfg.frame_size,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        if let Err(e) = setsockopt(&fd, libc::XDP_UMEM_REG, &reg) {
            return Err(match e.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::ENOMEM) | Some(libc::EPERM) => XskError::Memlock {
                    mib: (umem_len as u64) >> 20,
                    limit: memlock_limit(),
                },
                _ => XskError::Sys {
                    what: "registering the AF_XDP packet buffer",
                    source: e,
                },
            });
        }
        let comp_size: u32 = 64;
        setsockopt(&fd, libc::XDP_UMEM_FILL_RING, &cfg.frames)
            .map_err(sys("sizing the AF_XDP fill ring"))?;
        setsockopt(&fd, libc::XDP_UMEM_COMPLETION_RING, &comp_size)
            .map_err(sys("sizing the AF_XDP completion ring"))?;
        setsockopt(&fd, libc::XDP_RX_RING, &cfg.rx_size)
            .map_err(sys("sizing the AF_XDP rx ring"))?;

        // SAFETY: zeroed plain-data struct filled by the kernel.
        let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: valid buffer and length.
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_MMAP_OFFSETS,
                (&mut off as *mut libc::xdp_mmap_offsets).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(sys("reading the AF_XDP ring offsets")(
                io::Error::last_os_error(),
            ));
        }
        let raw = fd.as_raw_fd();
        let fill = Ring::map(raw, &off.fr, cfg.frames, 8, libc::XDP_UMEM_PGOFF_FILL_RING)
            .map_err(sys("mapping the AF_XDP fill ring"))?;
        let comp = Ring::map(
            raw,
            &off.cr,
            comp_size,
            8,
            libc::XDP_UMEM_PGOFF_COMPLETION_RING,
        )
        .map_err(sys("mapping the AF_XDP completion ring"))?;
        let rx = Ring::map(
            raw,
            &off.rx,
            cfg.rx_size,
            std::mem::size_of::<XdpDesc>(),
            libc::XDP_PGOFF_RX_RING as u64,
        )
        .map_err(sys("mapping the AF_XDP rx ring"))?;

        let mut xsk = Xsk {
            fd,
            umem,
            umem_len,
            fill,
            _comp: comp,
            rx,
            frame_size: cfg.frame_size,
            stash: (0..cfg.frames)
                .rev()
                .map(|i| u64::from(i) * u64::from(cfg.frame_size))
                .collect(),
            zero_copy,
            iface: iface.to_string(),
            queue,
            _umem_map: guard,
        };
        // Give the kernel every frame before binding.
        xsk.refill();

        let flags = if zero_copy {
            libc::XDP_ZEROCOPY
        } else {
            libc::XDP_COPY
        } | libc::XDP_USE_NEED_WAKEUP;
        let sa = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: valid sockaddr of the right length.
        let rc = unsafe {
            libc::bind(
                xsk.fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EBUSY) => XskError::Busy {
                    iface: iface.into(),
                    queue,
                },
                Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) | Some(libc::EPROTONOSUPPORT)
                    if zero_copy =>
                {
                    XskError::NoZeroCopy {
                        iface: iface.into(),
                        queue,
                        source: e,
                    }
                }
                Some(libc::EPERM) => XskError::Permission,
                _ => XskError::Sys {
                    what: "binding the AF_XDP socket to its rx queue",
                    source: e,
                },
            });
        }
        Ok(xsk)
    }

    /// True when the kernel bound the socket in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// Interface and rx queue the socket is bound to.
    pub fn queue(&self) -> (&str, u32) {
        (&self.iface, self.queue)
    }

    /// Puts stashed frames back into the fill ring, as many as fit.
    fn refill(&mut self) {
        if self.stash.is_empty() {
            return;
        }
        let prod = self.fill.producer().load(Ordering::Relaxed);
        let cons = self.fill.consumer().load(Ordering::Acquire);
        let free = self.fill.size - prod.wrapping_sub(cons);
        let n = (free as usize).min(self.stash.len());
        for i in 0..n {
            let addr = self.stash.pop().unwrap_or(0);
            let slot = (prod.wrapping_add(i as u32) & self.fill.mask) as usize;
            // SAFETY: slot < size; 8-byte entries in the live mapping.
            unsafe { self.fill.desc.cast::<u64>().add(slot).write(addr) };
        }
        self.fill
            .producer()
            .store(prod.wrapping_add(n as u32), Ordering::Release);
        if n > 0 && self.fill.needs_wakeup() {
            self.kick();
        }
    }

    /// Wakes the driver to fetch fill entries (need_wakeup mode).
    fn kick(&self) {
        // SAFETY: zero-length non-blocking receive on our socket.
        unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
        }
    }

    /// Receives what is ready, waiting up to `timeout` when nothing is; calls
    /// `f(frame, ts_ns)` for each frame (`ts_ns`: wall-clock time of the
    /// batch; AF_XDP carries no timestamps). Returns the frames handled.
    pub fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&[u8], u64)) -> io::Result<usize> {
        let mut avail = self.rx_available();
        if avail == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e);
            }
            avail = self.rx_available();
            if avail == 0 {
                return Ok(0);
            }
        }
        let ts = realtime_ns();
        let cons = self.rx.consumer().load(Ordering::Relaxed);
        for i in 0..avail {
            let slot = (cons.wrapping_add(i) & self.rx.mask) as usize;
            // SAFETY: slot < size; descriptors are 16 bytes in the mapping.
            let d = unsafe { self.rx.desc.cast::<XdpDesc>().add(slot).read() };
            let start = d.addr as usize;
            let end = start.saturating_add(d.len as usize);
            if end <= self.umem_len {
                // SAFETY: bounds checked against the UMEM; the kernel does not
                // write a frame while it is on the RX ring.
                let frame = unsafe {
                    std::slice::from_raw_parts(self.umem.as_ptr().add(start), d.len as usize)
                };
                f(frame, ts);
            }
            // Aligned mode: the frame's base address goes back.
            self.stash
                .push(d.addr - d.addr % u64::from(self.frame_size));
        }
        self.rx
            .consumer()
            .store(cons.wrapping_add(avail), Ordering::Release);
        self.refill();
        Ok(avail as usize)
    }

    fn rx_available(&self) -> u32 {
        let prod = self.rx.producer().load(Ordering::Acquire);
        let cons = self.rx.consumer().load(Ordering::Relaxed);
        prod.wrapping_sub(cons)
    }

    /// The kernel's counters for this socket.
    pub fn stats(&self) -> io::Result<XskStats> {
        // SAFETY: zeroed plain-data struct filled by the kernel.
        let mut st: libc::xdp_statistics = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::xdp_statistics>() as libc::socklen_t;
        // SAFETY: valid buffer and length.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                (&mut st as *mut libc::xdp_statistics).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(XskStats {
            rx_dropped: st.rx_dropped,
            rx_invalid_descs: st.rx_invalid_descs,
            rx_ring_full: st.rx_ring_full,
            rx_fill_ring_empty: st.rx_fill_ring_empty_descs,
        })
    }
}

impl AsRawFd for Xsk {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `struct xdp_desc`.
#[repr(C)]
#[derive(Clone, Copy)]
struct XdpDesc {
    addr: u64,
    len: u32,
    options: u32,
}

struct UmemGuard(NonNull<u8>, usize);

impl Drop for UmemGuard {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe {
            libc::munmap(self.0.as_ptr().cast(), self.1);
        }
    }
}

fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` is a valid value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            opt,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn memlock_limit() -> String {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } != 0 {
        return "unknown".into();
    }
    if r.rlim_cur == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        format!("{} KiB", r.rlim_cur / 1024)
    }
}

fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Number of rx queues of `iface` (from sysfs; 1 when unknown).
pub fn rx_queues(iface: &str) -> u32 {
    std::fs::read_dir(format!("/sys/class/net/{iface}/queues"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                .count() as u32
        })
        .unwrap_or(1)
        .max(1)
}
