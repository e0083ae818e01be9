//! `#[repr(C)]` mirrors of the map key/value types in
//! `ebpf/include/sensor_maps.h`. Sizes and field offsets are checked against
//! the compiled object's BTF by the test `btf_layout_matches`; change the
//! header and this file together.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::Pod;

/// Indexes of the `counters` per-CPU array (`SENSOR_CNT_*` in the header).
pub mod cnt {
    /// Ethertype not IPv4/IPv6/ARP (after VLAN tags).
    pub const OTHER: u32 = 0;
    pub const IPV4: u32 = 1;
    pub const IPV6: u32 = 2;
    pub const TCP: u32 = 3;
    pub const UDP: u32 = 4;
    /// ICMP and ICMPv6.
    pub const ICMP: u32 = 5;
    pub const ARP: u32 = 6;
    /// Packet carried one or two VLAN tags.
    pub const VLAN: u32 = 7;
    /// A header the parser needed was truncated or invalid.
    pub const MALFORMED: u32 = 8;
    /// Other IP protocol, non-first fragment, or more IPv6 extension headers than walked.
    pub const L4_OTHER: u32 = 9;
    /// IPv4 or IPv6 fragment (first or not).
    pub const FRAGMENT: u32 = 10;
    /// One per matching address (source and destination counted separately).
    pub const IOC_HIT: u32 = 11;
    /// IOC hit whose ring-buffer event could not be reserved (ring full).
    pub const IOC_EV_LOST: u32 = 12;
    /// Packet of a bypassed flow (dropped).
    pub const BYPASS: u32 = 13;
    pub const ACT_PASS: u32 = 16;
    pub const ACT_DROP: u32 = 17;
    pub const ACT_REDIRECT: u32 = 18;
    /// No AF_XDP socket bound on the rx queue: fell back to XDP_PASS (also in `ACT_PASS`).
    pub const ACT_REDIRECT_FAILED: u32 = 19;
    /// `max_entries` of the map.
    pub const MAX: u32 = 32;

    /// (index, metric label) of every used slot, for exporters.
    pub const NAMES: &[(u32, &str)] = &[
        (OTHER, "other"),
        (IPV4, "ipv4"),
        (IPV6, "ipv6"),
        (TCP, "tcp"),
        (UDP, "udp"),
        (ICMP, "icmp"),
        (ARP, "arp"),
        (VLAN, "vlan"),
        (MALFORMED, "malformed"),
        (L4_OTHER, "l4_other"),
        (FRAGMENT, "fragment"),
        (IOC_HIT, "ioc_hit"),
        (IOC_EV_LOST, "ioc_event_lost"),
        (BYPASS, "bypass"),
        (ACT_PASS, "action_pass"),
        (ACT_DROP, "action_drop"),
        (ACT_REDIRECT, "action_redirect"),
        (ACT_REDIRECT_FAILED, "action_redirect_failed"),
    ];
}

/// Prefilter bitmaps (`SENSOR_*_FILTER_*` in the header): one bit per IPv4
/// /24, per hashed IPv6 /32, per hashed flow.
pub const IOC_V4_FILTER_WORDS: u32 = 1 << 18;
/// `xsks` slots per interface (rx queues 0..64); `SENSOR_XSK_QUEUES`.
pub const XSK_QUEUES: u32 = 64;
/// Interfaces with AF_XDP sockets; `SENSOR_XSK_IFACES`.
pub const XSK_IFACES: u32 = 16;
/// Size of `xsk_base` (indexed by ifindex); `SENSOR_XSK_IFINDEX_MAX`.
pub const XSK_IFINDEX_MAX: u32 = 4096;
pub const IOC_V6_FILTER_LOG2: u32 = 20;
/// Word of `ioc_v6_filter` that, when non-zero, makes every IPv6 address
/// go to the trie (a prefix shorter than /24 is loaded).
pub const IOC_V6_FILTER_ALWAYS: u32 = 1 << (IOC_V6_FILTER_LOG2 - 6);
pub const IOC_V6_FILTER_WORDS: u32 = IOC_V6_FILTER_ALWAYS + 1;
pub const BYPASS_FILTER_LOG2: u32 = 20;
pub const BYPASS_FILTER_WORDS: u32 = 1 << (BYPASS_FILTER_LOG2 - 6);
pub const HASH_MUL: u32 = 0x9e37_79b1;

/// `sensor_v6_bucket()`: the hashed /32 bucket of an IPv6 address whose first
/// 32 bits (host order) are `top32`.
pub fn v6_bucket(top32: u32) -> u32 {
    top32.wrapping_mul(HASH_MUL) >> (32 - IOC_V6_FILTER_LOG2)
}

/// `struct counter`: one slot of `counters` (per CPU).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// `struct ioc_v4_key` (the same layout as `aya::maps::lpm_trie::Key<[u8; 4]>`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IocV4Key {
    pub prefixlen: u32,
    /// Network byte order.
    pub addr: [u8; 4],
}

/// `struct ioc_v6_key` (the same layout as `aya::maps::lpm_trie::Key<[u8; 16]>`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IocV6Key {
    pub prefixlen: u32,
    pub addr: [u8; 16],
}

/// `struct ioc_value`: value of `ioc_v4` / `ioc_v6`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IocValue {
    /// Index into userspace's indicator table.
    pub indicator: u32,
    /// The entry's prefix length (an LPM lookup returns only the value).
    pub prefixlen: u8,
    pub _pad: [u8; 3],
}

/// `SENSOR_DIR_SRC`: the source address matched.
pub const DIR_SRC: u8 = 1;
/// `SENSOR_DIR_DST`: the destination address matched.
pub const DIR_DST: u8 = 2;

/// `struct ioc_event`: one record of the `ioc_events` ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IocEvent {
    /// `bpf_ktime_get_ns()` (CLOCK_MONOTONIC).
    pub timestamp_ns: u64,
    pub indicator: u32,
    /// [`DIR_SRC`] or [`DIR_DST`].
    pub direction: u8,
    pub prefixlen: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// IPPROTO_*; 0 if L4 was not reached.
    pub protocol: u8,
    /// Network byte order; IPv4 in the first 4 bytes.
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// Host byte order; 0 without ports (ICMP, fragments, malformed L4).
    pub sport: u16,
    pub dport: u16,
    pub vlan_outer: u16,
    pub vlan_inner: u16,
    pub ifindex: u32,
    pub rx_queue: u32,
}

impl IocEvent {
    /// Decodes one ring-buffer record; `None` if it is too short.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() < size_of::<Self>() {
            return None;
        }
        // SAFETY: length checked; IocEvent is plain old data, any bytes are valid.
        Some(unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<Self>()) })
    }

    pub fn src_ip(&self) -> IpAddr {
        to_ip(self.ip_version, &self.src)
    }

    pub fn dst_ip(&self) -> IpAddr {
        to_ip(self.ip_version, &self.dst)
    }

    /// The address that matched the indicator.
    pub fn matched_ip(&self) -> IpAddr {
        if self.direction == DIR_DST {
            self.dst_ip()
        } else {
            self.src_ip()
        }
    }
}

fn to_ip(version: u8, a: &[u8; 16]) -> IpAddr {
    if version == 4 {
        IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*a))
    }
}

/// `struct flow_key`: key of `bypass`, a normalised 5-tuple + VLAN ids.
///
/// Build it with [`FlowKey::new`] / [`FlowKey::from_ips`], which order the
/// endpoints exactly like the XDP program does (smaller (address, port)
/// first, addresses compared bytewise in network order), so either
/// direction of a flow gives the same key.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub addr_a: [u8; 16],
    pub addr_b: [u8; 16],
    pub port_a: u16,
    pub port_b: u16,
    pub vlan_outer: u16,
    pub vlan_inner: u16,
    pub protocol: u8,
    pub ip_version: u8,
    pub _pad: [u8; 2],
}

impl FlowKey {
    /// Addresses in network byte order (IPv4 in the first 4 bytes, rest 0),
    /// ports in host order (0 for ICMP and protocols without ports), VLAN ids
    /// as 12-bit values (0 if untagged).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ip_version: u8,
        protocol: u8,
        src: [u8; 16],
        sport: u16,
        dst: [u8; 16],
        dport: u16,
        vlan_outer: u16,
        vlan_inner: u16,
    ) -> Self {
        let ((addr_a, port_a), (addr_b, port_b)) = if (src, sport) <= (dst, dport) {
            ((src, sport), (dst, dport))
        } else {
            ((dst, dport), (src, sport))
        };
        Self {
            addr_a,
            addr_b,
            port_a,
            port_b,
            vlan_outer,
            vlan_inner,
            protocol,
            ip_version,
            _pad: [0; 2],
        }
    }

    /// `None` if the two addresses are of different families.
    pub fn from_ips(
        protocol: u8,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        vlan_outer: u16,
        vlan_inner: u16,
    ) -> Option<Self> {
        let (v, s, d) = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (4, pad4(s.octets()), pad4(d.octets())),
            (IpAddr::V6(s), IpAddr::V6(d)) => (6, s.octets(), d.octets()),
            _ => return None,
        };
        Some(Self::new(
            v, protocol, s, sport, d, dport, vlan_outer, vlan_inner,
        ))
    }

    /// `sensor_flow_bucket()`: the flow's bit in `bypass_filter`.
    pub fn filter_bucket(&self) -> u32 {
        let mut h = 0u32;
        for c in self
            .addr_a
            .chunks_exact(4)
            .chain(self.addr_b.chunks_exact(4))
        {
            // the BPF program loads the words from packet memory (little-endian BPF)
            h ^= u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        h ^= u32::from(self.port_a ^ self.port_b);
        h ^= (u32::from(self.vlan_outer) << 16 | u32::from(self.vlan_inner))
            ^ (u32::from(self.protocol) << 8);
        h.wrapping_mul(HASH_MUL) >> (32 - BYPASS_FILTER_LOG2)
    }
}

fn pad4(a: [u8; 4]) -> [u8; 16] {
    let mut o = [0u8; 16];
    o[..4].copy_from_slice(&a);
    o
}

/// `struct bypass_value`: value of `bypass`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BypassValue {
    /// `bpf_ktime_get_ns()` of the last packet (CLOCK_MONOTONIC).
    pub last_seen_ns: u64,
    /// Packets dropped under this entry.
    pub packets: u64,
    pub bytes: u64,
}

// SAFETY: all of these are #[repr(C)], Copy, contain only integers and
// arrays of integers, and have no implicit padding (checked against BTF).
unsafe impl Pod for Counter {}
unsafe impl Pod for IocV4Key {}
unsafe impl Pod for IocV6Key {}
unsafe impl Pod for IocValue {}
unsafe impl Pod for IocEvent {}
unsafe impl Pod for FlowKey {}
unsafe impl Pod for BypassValue {}
