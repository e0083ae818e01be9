//! Kernel fast path: the XDP program in `ebpf/sensor_xdp.c`, compiled by
//! `sensor/build.rs` with clang, embedded here and driven with aya.
//!
//! What the program does per packet (see the C source for details):
//! - parses Ethernet, up to two VLAN tags (0x8100, 0x88a8, 0x9100),
//!   IPv4 / IPv6 (walking up to 4 extension headers: hop-by-hop, routing,
//!   destination options, fragment, AH) and TCP / UDP / ICMP / ICMPv6;
//! - bumps per-CPU `counters` (packets, bytes) by protocol class and by
//!   returned action ([`maps::cnt`]);
//! - looks the source and destination address up in the `ioc_v4` / `ioc_v6`
//!   LPM tries; every hit is counted and sent as an [`IocEvent`] through the
//!   `ioc_events` ring buffer ([`SensorXdp::poll_events`]);
//! - drops packets of flows in `bypass` (normalised 5-tuple + VLAN ids,
//!   [`FlowKey`]), updating the entry's packets, bytes and `last_seen_ns`;
//!   userspace expires idle entries ([`SensorXdp::bypass_expire`]);
//! - redirects everything else to the AF_XDP socket bound to the rx queue
//!   in `xsks` ([`SensorXdp::bind_xsk`]), or passes it to the stack when
//!   none is bound (counted as `action_redirect_failed` + `action_pass`).
//!
//! It never modifies or transmits a packet: the only actions are PASS, DROP
//! and REDIRECT (to AF_XDP).
//!
//! Layout: [`maps`] mirrors `ebpf/include/sensor_maps.h` (`#[repr(C)]`,
//! checked against the object's BTF in the tests), [`loader`] loads the
//! object and wraps its maps, [`bench`] measures ns/packet with
//! `BPF_PROG_TEST_RUN` against a bare `return XDP_PASS;` program.
//!
//! Needs root or CAP_BPF + CAP_NET_ADMIN (+ CAP_PERFMON for the
//! benchmark's timing on some kernels) and a kernel with BTF, ring buffers
//! and `bpf_redirect_map` fallback flags (>= 5.8).

pub mod bench;
pub mod frames;
pub mod loader;
pub mod maps;

#[cfg(test)]
mod btf;
#[cfg(test)]
mod tests;

pub use loader::{load_xdp_pass, monotonic_ns, test_run, RunResult, SensorXdp, XdpError};
pub use maps::{cnt, BypassValue, Counter, FlowKey, IocEvent, IocValue, DIR_DST, DIR_SRC};

/// Name of the XDP program (the C function) in [`SENSOR_XDP_OBJ`].
pub const PROGRAM_NAME: &str = "sensor_xdp";

/// The compiled `ebpf/sensor_xdp.c` (BPF ELF object with BTF).
pub static SENSOR_XDP_OBJ: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor_xdp.o"));

/// The compiled `ebpf/xdp_pass.c` (benchmark baseline).
pub static XDP_PASS_OBJ: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/xdp_pass.o"));
