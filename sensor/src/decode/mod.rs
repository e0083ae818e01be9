//! Zero-copy L2–L4 packet decoder.
//!
//! Covers link layers Ethernet II, Linux cooked capture (SLL and SLL2), raw
//! IP, bare IPv4/IPv6 and BSD loopback (`NULL`); 802.1Q/802.1ad/0x9100 VLAN
//! stacks; MPLS label stacks (with pseudowire control word + Ethernet); ARP;
//! IPv4 (options, fragments), IPv6 (hop-by-hop, routing, destination
//! options, AH, fragment header); TCP, UDP, ICMP, ICMPv6; and the tunnels
//! IP-in-IP (4/41), GRE v0, ERSPAN types I/II/III, VXLAN (UDP 4789) and
//! Geneve (UDP 6081).
//!
//! [`decode`] never allocates and never panics: every read is bounds-checked
//! and malformed input yields an [`Anomaly`]. Fragments are returned as
//! [`Decoded::Fragment`] and can be reassembled with [`defrag::Defragmenter`],
//! whose output is fed back through [`decode_ip`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod defrag;

pub use defrag::{DefragConfig, DefragStats, Defragmenter};

/// Maximum number of encapsulation layers (MPLS, GRE, ERSPAN, VXLAN, Geneve,
/// IP-in-IP) removed before [`Anomaly::TunnelTooDeep`] is returned.
pub const MAX_TUNNEL_DEPTH: u8 = 4;
/// Maximum VLAN tags walked in one Ethernet header (only the first two are kept).
pub const MAX_VLAN_TAGS: usize = 8;
/// Maximum MPLS labels walked in one label stack.
pub const MAX_MPLS_LABELS: usize = 16;
/// Maximum IPv6 extension headers walked in one packet.
pub const MAX_IPV6_EXT_HDRS: usize = 8;

const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const ETH_P_QINQ_9100: u16 = 0x9100;
const ETH_P_MPLS_UC: u16 = 0x8847;
const ETH_P_MPLS_MC: u16 = 0x8848;
const ETH_P_TEB: u16 = 0x6558;
const ETH_P_ERSPAN2: u16 = 0x88be;
const ETH_P_ERSPAN3: u16 = 0x22eb;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;
const IPPROTO_ICMPV6: u8 = 58;
const IPV6_HOPOPTS: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AH: u8 = 51;
const IPV6_DSTOPTS: u8 = 60;

const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;

/// Capture link type (pcap `LINKTYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet II (`LINKTYPE_ETHERNET`, 1).
    Ethernet,
    /// Linux cooked capture v1 (`LINKTYPE_LINUX_SLL`, 113).
    LinuxSll,
    /// Linux cooked capture v2 (`LINKTYPE_LINUX_SLL2`, 276).
    LinuxSll2,
    /// Raw IP, IPv4 or IPv6 chosen by the version nibble (101, also 12 and 14).
    Raw,
    /// Bare IPv4 (`LINKTYPE_IPV4`, 228).
    Ipv4,
    /// Bare IPv6 (`LINKTYPE_IPV6`, 229).
    Ipv6,
    /// BSD loopback: 4-byte address family in the capturing host's byte order (0).
    Null,
}

impl LinkType {
    /// Map a pcap/pcapng link type number to a supported [`LinkType`].
    pub fn from_dlt(dlt: u32) -> Option<LinkType> {
        Some(match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Stable lower-case name (for logs and metrics).
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Ethernet => "ethernet",
            LinkType::LinuxSll => "linux_sll",
            LinkType::LinuxSll2 => "linux_sll2",
            LinkType::Raw => "raw",
            LinkType::Ipv4 => "ipv4",
            LinkType::Ipv6 => "ipv6",
            LinkType::Null => "null",
        }
    }
}

/// Fixed TCP header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHdr {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80.
    pub flags: u8,
    /// Receive window (unscaled).
    pub window: u16,
    /// Header length in bytes, options included (20..=60).
    pub hdr_len: u8,
}

impl TcpHdr {
    /// FIN flag bit.
    pub const FIN: u8 = 0x01;
    /// SYN flag bit.
    pub const SYN: u8 = 0x02;
    /// RST flag bit.
    pub const RST: u8 = 0x04;
    /// PSH flag bit.
    pub const PSH: u8 = 0x08;
    /// ACK flag bit.
    pub const ACK: u8 = 0x10;
    /// URG flag bit.
    pub const URG: u8 = 0x20;
    /// ECE flag bit.
    pub const ECE: u8 = 0x40;
    /// CWR flag bit.
    pub const CWR: u8 = 0x80;
}

/// Transport layer summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    /// TCP with its fixed header fields.
    Tcp(TcpHdr),
    /// UDP.
    Udp,
    /// ICMP (IPv4) type and code.
    Icmp { ty: u8, code: u8 },
    /// ICMPv6 type and code.
    Icmpv6 { ty: u8, code: u8 },
    /// Any other upper protocol (payload is the raw IP payload).
    Other,
}

/// Kind of encapsulation removed by the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tunnel {
    /// GRE carrying IPv4, IPv6, Ethernet (0x6558) or MPLS.
    Gre,
    /// ERSPAN type I: GRE 0x88BE without a sequence number, no ERSPAN header.
    ErspanI,
    /// ERSPAN type II: GRE 0x88BE with sequence number and 8-byte header.
    ErspanII,
    /// ERSPAN type III: GRE 0x22EB, 12-byte header (+8 platform bytes).
    ErspanIII,
    /// VXLAN (UDP 4789).
    Vxlan,
    /// Geneve (UDP 6081).
    Geneve,
    /// MPLS label stack.
    Mpls,
    /// IPv4/IPv6 directly inside IPv4/IPv6 (protocols 4 and 41).
    IpInIp,
}

impl Tunnel {
    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Tunnel::Gre => "gre",
            Tunnel::ErspanI => "erspan_i",
            Tunnel::ErspanII => "erspan_ii",
            Tunnel::ErspanIII => "erspan_iii",
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::Mpls => "mpls",
            Tunnel::IpInIp => "ip_in_ip",
        }
    }
}

/// A decoded, non-fragmented IP packet. For tunnelled traffic all fields
/// describe the innermost packet; `tunnel` names the outermost encapsulation.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// VLAN ids (12 bits), outermost first, accumulated over all layers.
    pub vlan: [u16; 2],
    /// Number of valid entries in `vlan` (0..=2).
    pub vlan_count: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper protocol (after IPv6 extension headers).
    pub ip_proto: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Source port (0 unless TCP/UDP).
    pub sport: u16,
    /// Destination port (0 unless TCP/UDP).
    pub dport: u16,
    /// Transport summary.
    pub l4: L4,
    /// L4 payload (TCP/UDP data, ICMP body after the 8-byte header), trimmed
    /// to the IP (and UDP) length, so Ethernet padding is excluded.
    pub payload: &'a [u8],
    /// IP datagram length (header + payload) as claimed, clamped to capture.
    pub ip_len: usize,
    /// Outermost encapsulation removed, if any.
    pub tunnel: Option<Tunnel>,
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// Operation (1 request, 2 reply).
    pub op: u16,
    /// Sender hardware address.
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: [u8; 4],
    /// Target hardware address.
    pub target_mac: [u8; 6],
    /// Target protocol address.
    pub target_ip: [u8; 4],
}

/// One IPv4 or IPv6 fragment, to be fed to [`Defragmenter::insert`].
#[derive(Clone, Debug)]
pub struct Fragment<'a> {
    /// VLAN ids as in [`Packet::vlan`].
    pub vlan: [u16; 2],
    /// Number of valid entries in `vlan`.
    pub vlan_count: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of `data` in the original payload, in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
    /// Upper protocol (IPv4 protocol, or IPv6 fragment header's next header).
    pub ip_proto: u8,
    /// Unfragmentable part: the whole IPv4 header (options included; the
    /// defragmenter rewrites its length, flags/offset and checksum), or the
    /// IPv6 header plus extension headers preceding the fragment header.
    pub ip_header: &'a [u8],
    /// Fragment payload, trimmed to the IP length.
    pub data: &'a [u8],
    /// True for IPv6.
    pub is_v6: bool,
    /// Outermost encapsulation removed before the fragmented IP header. After
    /// reassembly, copy it into the [`Packet`] produced by [`decode_ip`].
    pub tunnel: Option<Tunnel>,
}

/// Result of decoding one frame.
#[derive(Clone, Debug)]
pub enum Decoded<'a> {
    /// A complete (non-fragmented) IP packet.
    Ip(Packet<'a>),
    /// An IP fragment that needs reassembly.
    Fragment(Fragment<'a>),
    /// An ARP packet.
    Arp(Arp),
    /// A frame that carries no IP (e.g. LLDP, CDP, an unknown EtherType).
    /// Values below 0x0600 are 802.3 length fields. `payload` follows the
    /// EtherType (and any VLAN tags).
    NonIp { ethertype: u16, payload: &'a [u8] },
}

macro_rules! anomalies {
    ($( $(#[$meta:meta])* $v:ident => ($label:literal, $eve:literal, $layer:literal), )*) => {
        /// Bounded, `'static` set of decoder/defragmenter anomaly kinds.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Anomaly {
            $( $(#[$meta])* $v, )*
        }

        impl Anomaly {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Anomaly] = &[ $(Anomaly::$v,)* ];

            /// Snake-case label for metrics, e.g. `"ipv4_truncated"`.
            pub fn as_str(self) -> &'static str {
                match self { $(Anomaly::$v => $label,)* }
            }

            /// Suricata-style EVE anomaly event name, e.g. `"decoder.ipv4.trunc_pkt"`.
            pub fn eve_event(self) -> &'static str {
                match self { $(Anomaly::$v => $eve,)* }
            }

            /// Protocol layer the anomaly belongs to, e.g. `"ipv4"`.
            pub fn layer(self) -> &'static str {
                match self { $(Anomaly::$v => $layer,)* }
            }
        }
    };
}

anomalies! {
    /// Frame shorter than the 14-byte Ethernet header.
    EthTruncated => ("eth_truncated", "decoder.ethernet.pkt_too_small", "eth"),
    /// VLAN tag cut short.
    VlanTruncated => ("vlan_truncated", "decoder.vlan.header_too_small", "vlan"),
    /// More than [`MAX_VLAN_TAGS`] stacked VLAN tags.
    VlanTooManyLayers => ("vlan_too_many_layers", "decoder.vlan.too_many_layers", "vlan"),
    /// MPLS label stack or pseudowire control word cut short.
    MplsTruncated => ("mpls_truncated", "decoder.mpls.header_too_small", "mpls"),
    /// More than [`MAX_MPLS_LABELS`] labels without bottom-of-stack.
    MplsTooManyLabels => ("mpls_too_many_labels", "decoder.mpls.too_many_labels", "mpls"),
    /// MPLS payload is neither IPv4, IPv6 nor a pseudowire control word.
    MplsUnknownPayload => ("mpls_unknown_payload", "decoder.mpls.unknown_payload_type", "mpls"),
    /// Fewer than 20 bytes for an IPv4 header.
    Ipv4TooSmall => ("ipv4_too_small", "decoder.ipv4.pkt_too_small", "ipv4"),
    /// IPv4 header (with options, per IHL) extends past the captured bytes.
    Ipv4Truncated => ("ipv4_truncated", "decoder.ipv4.trunc_pkt", "ipv4"),
    /// IPv4 version nibble is not 4.
    Ipv4BadVersion => ("ipv4_bad_version", "decoder.ipv4.wrong_ip_version", "ipv4"),
    /// IHL below 5.
    Ipv4BadHeaderLen => ("ipv4_bad_header_len", "decoder.ipv4.hlen_too_small", "ipv4"),
    /// Total length smaller than the header length.
    Ipv4TotalLenTooSmall => ("ipv4_total_len_too_small", "decoder.ipv4.iplen_smaller_than_hlen", "ipv4"),
    /// Fewer than 40 bytes for an IPv6 header.
    Ipv6Truncated => ("ipv6_truncated", "decoder.ipv6.pkt_too_small", "ipv6"),
    /// IPv6 version nibble is not 6.
    Ipv6BadVersion => ("ipv6_bad_version", "decoder.ipv6.wrong_ip_version", "ipv6"),
    /// IPv6 extension header extends past the datagram.
    Ipv6ExtHdrTruncated => ("ipv6_exthdr_truncated", "decoder.ipv6.trunc_exthdr", "ipv6"),
    /// More than [`MAX_IPV6_EXT_HDRS`] extension headers.
    Ipv6TooManyExtHdrs => ("ipv6_too_many_exthdrs", "decoder.ipv6.too_many_exthdrs", "ipv6"),
    /// Raw link type with a version nibble other than 4 or 6.
    RawBadVersion => ("raw_bad_version", "decoder.ipraw.invalid_ip_version", "raw"),
    /// TCP header cut short (fixed part or options).
    TcpTruncated => ("tcp_truncated", "decoder.tcp.pkt_too_small", "tcp"),
    /// TCP data offset below 5.
    TcpBadHeaderLen => ("tcp_bad_header_len", "decoder.tcp.hlen_too_small", "tcp"),
    /// Fewer than 8 bytes for a UDP header.
    UdpTruncated => ("udp_truncated", "decoder.udp.pkt_too_small", "udp"),
    /// UDP length below 8 or beyond the IP payload.
    UdpBadLen => ("udp_bad_len", "decoder.udp.hlen_invalid", "udp"),
    /// Fewer than 8 bytes for an ICMP header.
    IcmpTruncated => ("icmp_truncated", "decoder.icmpv4.pkt_too_small", "icmp"),
    /// Fewer than 8 bytes for an ICMPv6 header.
    Icmpv6Truncated => ("icmpv6_truncated", "decoder.icmpv6.pkt_too_small", "icmpv6"),
    /// Ethernet/IPv4 ARP shorter than 28 bytes.
    ArpTruncated => ("arp_truncated", "decoder.arp.pkt_too_small", "arp"),
    /// GRE header (with optional fields) cut short.
    GreTruncated => ("gre_truncated", "decoder.gre.pkt_too_small", "gre"),
    /// GRE version other than 0 (decapsulated) or 1 (PPTP, left as is).
    GreUnsupportedVersion => ("gre_unsupported_version", "decoder.gre.wrong_version", "gre"),
    /// GRE v0 with the (deprecated) routing bit set.
    GreBadFlags => ("gre_bad_flags", "decoder.gre.version0_flags", "gre"),
    /// ERSPAN header cut short.
    ErspanTruncated => ("erspan_truncated", "decoder.erspan.header_too_small", "erspan"),
    /// ERSPAN version field does not match the GRE protocol type.
    ErspanUnsupportedVersion => ("erspan_unsupported_version", "decoder.erspan.unsupported_version", "erspan"),
    /// UDP/4789 payload shorter than the 8-byte VXLAN header.
    VxlanTruncated => ("vxlan_truncated", "decoder.vxlan.pkt_too_small", "vxlan"),
    /// Geneve header or options cut short.
    GeneveTruncated => ("geneve_truncated", "decoder.geneve.pkt_too_small", "geneve"),
    /// Geneve protocol type other than Ethernet, IPv4 or IPv6.
    GeneveUnknownPayload => ("geneve_unknown_payload", "decoder.geneve.unknown_payload_type", "geneve"),
    /// More than [`MAX_TUNNEL_DEPTH`] nested encapsulations.
    TunnelTooDeep => ("tunnel_too_deep", "decoder.too_many_layers", "tunnel"),
    /// Frame shorter than the 16-byte Linux SLL header.
    SllTruncated => ("sll_truncated", "decoder.sll.pkt_too_small", "sll"),
    /// Frame shorter than the 20-byte Linux SLL2 header.
    Sll2Truncated => ("sll2_truncated", "decoder.sll2.pkt_too_small", "sll2"),
    /// Frame shorter than the 4-byte loopback header.
    NullTruncated => ("null_truncated", "decoder.ltnull.pkt_too_small", "null"),
    /// Loopback address family is neither IPv4 nor IPv6.
    NullUnsupportedType => ("null_unsupported_type", "decoder.ltnull.unsupported_type", "null"),
    /// Capture link type not supported by the decoder.
    UnknownLinkType => ("unknown_link_type", "decoder.unknown_link_type", "link"),
    /// IPv4 fragments overlap (first-received bytes kept).
    FragOverlap => ("frag_overlap", "decoder.ipv4.frag_overlap", "ipv4"),
    /// IPv6 fragments overlap (first-received bytes kept).
    Ipv6FragOverlap => ("ipv6_frag_overlap", "decoder.ipv6.frag_overlap", "ipv6"),
    /// Reassembled IPv4 datagram would exceed the size bound.
    FragTooLarge => ("frag_too_large", "decoder.ipv4.frag_pkt_too_large", "ipv4"),
    /// Reassembled IPv6 datagram would exceed the size bound.
    Ipv6FragTooLarge => ("ipv6_frag_too_large", "decoder.ipv6.frag_pkt_too_large", "ipv6"),
    /// Non-final IPv6 fragment whose length is not a multiple of 8.
    Ipv6FragInvalidLength => ("ipv6_frag_invalid_length", "decoder.ipv6.frag_invalid_length", "ipv6"),
    /// Fragment table full: the oldest incomplete datagram was evicted.
    FragTableFull => ("frag_table_full", "defrag.table_full", "defrag"),
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.eve_event())
    }
}

impl std::error::Error for Anomaly {}

/// Decode one captured frame of link type `link`.
pub fn decode<'a>(link: LinkType, frame: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
    let mut cx = Ctx::new([0; 2], 0);
    match link {
        LinkType::Ethernet => cx.ethernet(frame),
        LinkType::LinuxSll => {
            let proto = be16(frame, 14).ok_or(Anomaly::SllTruncated)?;
            cx.ethertype(proto, tail(frame, 16))
        }
        LinkType::LinuxSll2 => {
            let h: [u8; 20] = rd(frame, 0).ok_or(Anomaly::Sll2Truncated)?;
            cx.ethertype(u16::from_be_bytes([h[0], h[1]]), tail(frame, 20))
        }
        LinkType::Raw => cx.ip_any(frame),
        LinkType::Ipv4 => cx.ipv4(frame),
        LinkType::Ipv6 => cx.ipv6(frame),
        LinkType::Null => {
            let h: [u8; 4] = rd(frame, 0).ok_or(Anomaly::NullTruncated)?;
            // Written in the capturing host's byte order: try little endian
            // first, fall back to big endian when the value is implausible.
            let mut af = u32::from_le_bytes(h);
            if af > 0xffff {
                af = u32::from_be_bytes(h);
            }
            let body = tail(frame, 4);
            match af {
                2 => cx.ipv4(body),
                24 | 28 | 30 => cx.ipv6(body),
                _ => Err(Anomaly::NullUnsupportedType),
            }
        }
    }
}

/// Decode starting at an IP header (IPv4 or IPv6 by version nibble), e.g. a
/// reassembled datagram. `vlan`/`vlan_count` are carried into the result.
pub fn decode_ip<'a>(
    data: &'a [u8],
    vlan: [u16; 2],
    vlan_count: u8,
) -> Result<Decoded<'a>, Anomaly> {
    Ctx::new(vlan, vlan_count.min(2)).ip_any(data)
}

/// Read `N` bytes at `off`, or `None` when out of bounds.
#[inline(always)]
fn rd<const N: usize>(d: &[u8], off: usize) -> Option<[u8; N]> {
    d.get(off..)?.first_chunk::<N>().copied()
}

#[inline(always)]
fn be16(d: &[u8], off: usize) -> Option<u16> {
    rd::<2>(d, off).map(u16::from_be_bytes)
}

/// `d[off..]`, or empty when `off` is past the end.
#[inline(always)]
fn tail(d: &[u8], off: usize) -> &[u8] {
    d.get(off..).unwrap_or_default()
}

/// Network-layer facts handed to the transport decoder.
struct IpInfo {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ttl: u8,
    ip_len: usize,
    /// Captured bytes fewer than the IP header claims.
    truncated: bool,
}

/// Per-frame decoding state (lives on the stack).
struct Ctx {
    vlan: [u16; 2],
    vlan_count: u8,
    tunnel: Option<Tunnel>,
    depth: u8,
}

impl Ctx {
    #[inline]
    fn new(vlan: [u16; 2], vlan_count: u8) -> Self {
        Ctx {
            vlan,
            vlan_count,
            tunnel: None,
            depth: 0,
        }
    }

    #[inline]
    fn push_vlan(&mut self, tci: u16) {
        if let Some(slot) = self.vlan.get_mut(usize::from(self.vlan_count)) {
            *slot = tci & 0x0fff;
            self.vlan_count += 1;
        }
    }

    /// Account for one more encapsulation layer.
    #[inline]
    fn enter(&mut self, t: Tunnel) -> Result<(), Anomaly> {
        self.depth += 1;
        if self.depth > MAX_TUNNEL_DEPTH {
            return Err(Anomaly::TunnelTooDeep);
        }
        if self.tunnel.is_none() {
            self.tunnel = Some(t);
        }
        Ok(())
    }

    fn ethernet<'a>(&mut self, d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        let h: [u8; 14] = rd(d, 0).ok_or(Anomaly::EthTruncated)?;
        self.ethertype(u16::from_be_bytes([h[12], h[13]]), tail(d, 14))
    }

    fn ethertype<'a>(&mut self, mut et: u16, mut d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        let mut tags = 0usize;
        loop {
            match et {
                ETH_P_8021Q | ETH_P_8021AD | ETH_P_QINQ_9100 => {
                    tags += 1;
                    if tags > MAX_VLAN_TAGS {
                        return Err(Anomaly::VlanTooManyLayers);
                    }
                    let t: [u8; 4] = rd(d, 0).ok_or(Anomaly::VlanTruncated)?;
                    self.push_vlan(u16::from_be_bytes([t[0], t[1]]));
                    et = u16::from_be_bytes([t[2], t[3]]);
                    d = tail(d, 4);
                }
                ETH_P_IPV4 => return self.ipv4(d),
                ETH_P_IPV6 => return self.ipv6(d),
                ETH_P_ARP => return arp(d),
                ETH_P_MPLS_UC | ETH_P_MPLS_MC => return self.mpls(d),
                _ => {
                    return Ok(Decoded::NonIp {
                        ethertype: et,
                        payload: d,
                    })
                }
            }
        }
    }

    fn mpls<'a>(&mut self, d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        self.enter(Tunnel::Mpls)?;
        let mut off = 0usize;
        let mut labels = 0usize;
        loop {
            let l: [u8; 4] = rd(d, off).ok_or(Anomaly::MplsTruncated)?;
            off += 4;
            labels += 1;
            if l[2] & 0x01 != 0 {
                break; // bottom of stack
            }
            if labels >= MAX_MPLS_LABELS {
                return Err(Anomaly::MplsTooManyLabels);
            }
        }
        let p = tail(d, off);
        match p.first().ok_or(Anomaly::MplsTruncated)? >> 4 {
            4 => self.ipv4(p),
            6 => self.ipv6(p),
            0 => {
                // Pseudowire control word, then Ethernet.
                let inner = p.get(4..).ok_or(Anomaly::MplsTruncated)?;
                self.ethernet(inner)
            }
            _ => Err(Anomaly::MplsUnknownPayload),
        }
    }

    fn ip_any<'a>(&mut self, d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        match d.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(d),
            Some(6) => self.ipv6(d),
            _ => Err(Anomaly::RawBadVersion),
        }
    }

    fn ipv4<'a>(&mut self, d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        let h: [u8; 20] = rd(d, 0).ok_or(Anomaly::Ipv4TooSmall)?;
        let [vihl, _tos, tl0, tl1, id0, id1, fo0, fo1, ttl, proto, _c0, _c1, s0, s1, s2, s3, d0, d1, d2, d3] =
            h;
        if vihl >> 4 != 4 {
            return Err(Anomaly::Ipv4BadVersion);
        }
        let hlen = usize::from(vihl & 0x0f) * 4;
        if hlen < 20 {
            return Err(Anomaly::Ipv4BadHeaderLen);
        }
        if d.len() < hlen {
            return Err(Anomaly::Ipv4Truncated);
        }
        let total = usize::from(u16::from_be_bytes([tl0, tl1]));
        if total < hlen {
            return Err(Anomaly::Ipv4TotalLenTooSmall);
        }
        let ip_len = total.min(d.len());
        let header = d.get(..hlen).ok_or(Anomaly::Ipv4Truncated)?;
        let body = d.get(hlen..ip_len).unwrap_or_default();
        let src = IpAddr::V4(Ipv4Addr::new(s0, s1, s2, s3));
        let dst = IpAddr::V4(Ipv4Addr::new(d0, d1, d2, d3));
        let fo = u16::from_be_bytes([fo0, fo1]);
        let more = fo & 0x2000 != 0;
        let offset = u32::from(fo & 0x1fff) * 8;
        if more || offset != 0 {
            return Ok(Decoded::Fragment(Fragment {
                vlan: self.vlan,
                vlan_count: self.vlan_count,
                src,
                dst,
                id: u32::from(u16::from_be_bytes([id0, id1])),
                offset,
                more,
                ip_proto: proto,
                ip_header: header,
                data: body,
                is_v6: false,
                tunnel: self.tunnel,
            }));
        }
        let ip = IpInfo {
            src,
            dst,
            proto,
            ttl,
            ip_len,
            truncated: d.len() < total,
        };
        self.transport(ip, body)
    }

    fn ipv6<'a>(&mut self, d: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        let h: [u8; 8] = rd(d, 0).ok_or(Anomaly::Ipv6Truncated)?;
        let s: [u8; 16] = rd(d, 8).ok_or(Anomaly::Ipv6Truncated)?;
        let t: [u8; 16] = rd(d, 24).ok_or(Anomaly::Ipv6Truncated)?;
        if h[0] >> 4 != 6 {
            return Err(Anomaly::Ipv6BadVersion);
        }
        let total = 40 + usize::from(u16::from_be_bytes([h[4], h[5]]));
        let ip_len = total.min(d.len());
        let pkt = d.get(..ip_len).unwrap_or_default();
        let src = IpAddr::V6(Ipv6Addr::from(s));
        let dst = IpAddr::V6(Ipv6Addr::from(t));
        let mut nh = h[6];
        let mut off = 40usize;
        let mut exts = 0usize;
        while let IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS | IPV6_AH | IPV6_FRAGMENT = nh {
            exts += 1;
            if exts > MAX_IPV6_EXT_HDRS {
                return Err(Anomaly::Ipv6TooManyExtHdrs);
            }
            let e: [u8; 2] = rd(pkt, off).ok_or(Anomaly::Ipv6ExtHdrTruncated)?;
            let len = match nh {
                IPV6_FRAGMENT => 8,
                IPV6_AH => (usize::from(e[1]) + 2) * 4,
                _ => (usize::from(e[1]) + 1) * 8,
            };
            if pkt.len() < off + len {
                return Err(Anomaly::Ipv6ExtHdrTruncated);
            }
            if nh == IPV6_FRAGMENT {
                let f: [u8; 8] = rd(pkt, off).ok_or(Anomaly::Ipv6ExtHdrTruncated)?;
                let fo = u16::from_be_bytes([f[2], f[3]]);
                let offset = u32::from(fo >> 3) * 8;
                let more = fo & 0x0001 != 0;
                if more || offset != 0 {
                    return Ok(Decoded::Fragment(Fragment {
                        vlan: self.vlan,
                        vlan_count: self.vlan_count,
                        src,
                        dst,
                        id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                        offset,
                        more,
                        ip_proto: f[0],
                        ip_header: pkt.get(..off).unwrap_or_default(),
                        data: tail(pkt, off + 8),
                        is_v6: true,
                        tunnel: self.tunnel,
                    }));
                }
                // Atomic fragment (RFC 6946): process as a whole packet.
            }
            nh = e[0];
            off += len;
        }
        let ip = IpInfo {
            src,
            dst,
            proto: nh,
            ttl: h[7],
            ip_len,
            truncated: d.len() < total,
        };
        self.transport(ip, tail(pkt, off))
    }

    fn transport<'a>(&mut self, ip: IpInfo, body: &'a [u8]) -> Result<Decoded<'a>, Anomaly> {
        let mut p = Packet {
            vlan: self.vlan,
            vlan_count: self.vlan_count,
            src: ip.src,
            dst: ip.dst,
            ip_proto: ip.proto,
            ttl: ip.ttl,
            sport: 0,
            dport: 0,
            l4: L4::Other,
            payload: body,
            ip_len: ip.ip_len,
            tunnel: self.tunnel,
        };
        match ip.proto {
            IPPROTO_TCP => {
                let h: [u8; 20] = rd(body, 0).ok_or(Anomaly::TcpTruncated)?;
                let hlen = usize::from(h[12] >> 4) * 4;
                if hlen < 20 {
                    return Err(Anomaly::TcpBadHeaderLen);
                }
                p.payload = body.get(hlen..).ok_or(Anomaly::TcpTruncated)?;
                p.sport = u16::from_be_bytes([h[0], h[1]]);
                p.dport = u16::from_be_bytes([h[2], h[3]]);
                p.l4 = L4::Tcp(TcpHdr {
                    seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                    flags: h[13],
                    window: u16::from_be_bytes([h[14], h[15]]),
                    hdr_len: (hlen & 0xff) as u8,
                });
            }
            IPPROTO_UDP => {
                let h: [u8; 8] = rd(body, 0).ok_or(Anomaly::UdpTruncated)?;
                let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
                if ulen < 8 || (ulen > body.len() && !ip.truncated) {
                    return Err(Anomaly::UdpBadLen);
                }
                p.payload = body.get(8..ulen.min(body.len())).unwrap_or_default();
                p.sport = u16::from_be_bytes([h[0], h[1]]);
                p.dport = u16::from_be_bytes([h[2], h[3]]);
                p.l4 = L4::Udp;
                match p.dport {
                    VXLAN_PORT => return self.vxlan(p),
                    GENEVE_PORT => return self.geneve(p),
                    _ => {}
                }
            }
            IPPROTO_ICMP => {
                let h: [u8; 8] = rd(body, 0).ok_or(Anomaly::IcmpTruncated)?;
                p.l4 = L4::Icmp {
                    ty: h[0],
                    code: h[1],
                };
                p.payload = tail(body, 8);
            }
            IPPROTO_ICMPV6 => {
                let h: [u8; 8] = rd(body, 0).ok_or(Anomaly::Icmpv6Truncated)?;
                p.l4 = L4::Icmpv6 {
                    ty: h[0],
                    code: h[1],
                };
                p.payload = tail(body, 8);
            }
            IPPROTO_IPIP => {
                self.enter(Tunnel::IpInIp)?;
                return self.ipv4(body);
            }
            IPPROTO_IPV6 => {
                self.enter(Tunnel::IpInIp)?;
                return self.ipv6(body);
            }
            IPPROTO_GRE => return self.gre(p),
            _ => {}
        }
        Ok(Decoded::Ip(p))
    }

    /// GRE (RFC 2784/2890). `outer.payload` holds the GRE header onwards.
    /// Protocol types that are not decapsulated leave the outer packet as is.
    fn gre<'a>(&mut self, outer: Packet<'a>) -> Result<Decoded<'a>, Anomaly> {
        let g = outer.payload;
        let h: [u8; 4] = rd(g, 0).ok_or(Anomaly::GreTruncated)?;
        let flags = u16::from_be_bytes([h[0], h[1]]);
        let proto = u16::from_be_bytes([h[2], h[3]]);
        match flags & 0x0007 {
            0 => {}
            1 => return Ok(Decoded::Ip(outer)), // PPTP enhanced GRE: not decapsulated
            _ => return Err(Anomaly::GreUnsupportedVersion),
        }
        if flags & 0x4000 != 0 {
            return Err(Anomaly::GreBadFlags);
        }
        let has_csum = flags & 0x8000 != 0;
        let has_key = flags & 0x2000 != 0;
        let has_seq = flags & 0x1000 != 0;
        let hlen = 4 + 4 * (usize::from(has_csum) + usize::from(has_key) + usize::from(has_seq));
        let inner = g.get(hlen..).ok_or(Anomaly::GreTruncated)?;
        match proto {
            ETH_P_IPV4 => {
                self.enter(Tunnel::Gre)?;
                self.ipv4(inner)
            }
            ETH_P_IPV6 => {
                self.enter(Tunnel::Gre)?;
                self.ipv6(inner)
            }
            ETH_P_TEB => {
                self.enter(Tunnel::Gre)?;
                self.ethernet(inner)
            }
            ETH_P_MPLS_UC | ETH_P_MPLS_MC => {
                self.enter(Tunnel::Gre)?;
                self.mpls(inner)
            }
            ETH_P_ERSPAN2 if !has_seq => {
                self.enter(Tunnel::ErspanI)?;
                self.ethernet(inner)
            }
            ETH_P_ERSPAN2 => {
                let e: [u8; 8] = rd(inner, 0).ok_or(Anomaly::ErspanTruncated)?;
                if e[0] >> 4 != 1 {
                    return Err(Anomaly::ErspanUnsupportedVersion);
                }
                self.enter(Tunnel::ErspanII)?;
                // Original VLAN, unless the mirrored frame kept its tag (En=3).
                let vlan = u16::from_be_bytes([e[0], e[1]]) & 0x0fff;
                let en = (e[2] >> 3) & 0x03;
                if vlan != 0 && en != 3 {
                    self.push_vlan(vlan);
                }
                self.ethernet(tail(inner, 8))
            }
            ETH_P_ERSPAN3 => {
                let e: [u8; 12] = rd(inner, 0).ok_or(Anomaly::ErspanTruncated)?;
                if e[0] >> 4 != 2 {
                    return Err(Anomaly::ErspanUnsupportedVersion);
                }
                self.enter(Tunnel::ErspanIII)?;
                // O flag: 8-byte platform specific subheader follows.
                let hl = if e[11] & 0x01 != 0 { 20 } else { 12 };
                let frame = inner.get(hl..).ok_or(Anomaly::ErspanTruncated)?;
                self.ethernet(frame)
            }
            _ => Ok(Decoded::Ip(outer)),
        }
    }

    /// VXLAN (RFC 7348); a header without the I flag is left as plain UDP.
    fn vxlan<'a>(&mut self, outer: Packet<'a>) -> Result<Decoded<'a>, Anomaly> {
        let h: [u8; 8] = rd(outer.payload, 0).ok_or(Anomaly::VxlanTruncated)?;
        if h[0] & 0x08 == 0 {
            return Ok(Decoded::Ip(outer));
        }
        self.enter(Tunnel::Vxlan)?;
        self.ethernet(tail(outer.payload, 8))
    }

    /// Geneve (RFC 8926); a version other than 0 is left as plain UDP.
    fn geneve<'a>(&mut self, outer: Packet<'a>) -> Result<Decoded<'a>, Anomaly> {
        let h: [u8; 8] = rd(outer.payload, 0).ok_or(Anomaly::GeneveTruncated)?;
        if h[0] >> 6 != 0 {
            return Ok(Decoded::Ip(outer));
        }
        let hlen = 8 + usize::from(h[0] & 0x3f) * 4;
        let inner = outer.payload.get(hlen..).ok_or(Anomaly::GeneveTruncated)?;
        let proto = u16::from_be_bytes([h[2], h[3]]);
        if !matches!(proto, ETH_P_TEB | ETH_P_IPV4 | ETH_P_IPV6) {
            return Err(Anomaly::GeneveUnknownPayload);
        }
        self.enter(Tunnel::Geneve)?;
        match proto {
            ETH_P_IPV4 => self.ipv4(inner),
            ETH_P_IPV6 => self.ipv6(inner),
            _ => self.ethernet(inner),
        }
    }
}

/// Ethernet/IPv4 ARP; other hardware/protocol types are reported as non-IP.
fn arp(d: &[u8]) -> Result<Decoded<'_>, Anomaly> {
    let h: [u8; 8] = rd(d, 0).ok_or(Anomaly::ArpTruncated)?;
    if h != [0, 1, 0x08, 0x00, 6, 4, h[6], h[7]] {
        return Ok(Decoded::NonIp {
            ethertype: ETH_P_ARP,
            payload: d,
        });
    }
    let a: [u8; 28] = rd(d, 0).ok_or(Anomaly::ArpTruncated)?;
    let [_, _, _, _, _, _, o0, o1, sm0, sm1, sm2, sm3, sm4, sm5, si0, si1, si2, si3, tm0, tm1, tm2, tm3, tm4, tm5, ti0, ti1, ti2, ti3] =
        a;
    Ok(Decoded::Arp(Arp {
        op: u16::from_be_bytes([o0, o1]),
        sender_mac: [sm0, sm1, sm2, sm3, sm4, sm5],
        sender_ip: [si0, si1, si2, si3],
        target_mac: [tm0, tm1, tm2, tm3, tm4, tm5],
        target_ip: [ti0, ti1, ti2, ti3],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // ----- Reusable annotated pieces -------------------------------------

    /// Ethernet MAC addresses (followed by a tag or an EtherType).
    const ETH_MACS: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
    ];

    /// Ethernet II header carrying IPv4.
    const ETH_V4: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x08, 0x00, // EtherType: IPv4
    ];

    /// Ethernet II header carrying IPv6.
    const ETH_V6: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x86, 0xdd, // EtherType: IPv6
    ];

    /// Ethernet padding up to the 60-byte minimum frame.
    const PAD14: &[u8] = &[0; 14];

    /// IPv4 + UDP (BACnet/IP), 32 bytes.
    const IPV4_UDP: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x20, // total length 32
        0x12, 0x34, // identification
        0x00, 0x00, // flags 0, fragment offset 0
        0x40, // TTL 64
        0x11, // protocol UDP
        0x00, 0x00, // header checksum (not verified)
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        // UDP
        0xc0, 0x01, // source port 49153
        0xba, 0xc0, // destination port 47808 (BACnet/IP)
        0x00, 0x0c, // length 12
        0x00, 0x00, // checksum
        0x81, 0x0b, 0x00, 0x04, // BVLC type, function, length
    ];

    /// IPv4 with one option + TCP with options + Modbus/TCP request, 64 bytes.
    const IPV4_TCP: &[u8] = &[
        0x46, // version 4, IHL 6 (24 bytes)
        0x00, // DSCP/ECN
        0x00, 0x40, // total length 64
        0x00, 0x01, // identification
        0x40, 0x00, // flags DF, fragment offset 0
        0x40, // TTL 64
        0x06, // protocol TCP
        0x00, 0x00, // header checksum
        0xc0, 0xa8, 0x01, 0x0a, // source 192.168.1.10
        0xc0, 0xa8, 0x01, 0x14, // destination 192.168.1.20
        0x94, 0x04, 0x00, 0x00, // option: router alert
        // TCP
        0xc3, 0x50, // source port 50000
        0x01, 0xf6, // destination port 502 (Modbus/TCP)
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x00, 0x00, 0x00, 0x02, // acknowledgement number 2
        0x70, // data offset 7 (28 bytes)
        0x18, // flags PSH|ACK
        0x20, 0x00, // window 8192
        0x00, 0x00, // checksum
        0x00, 0x00, // urgent pointer
        0x02, 0x04, 0x05, 0xb4, // option: MSS 1460
        0x01, 0x01, // options: NOP, NOP
        0x04, 0x02, // option: SACK permitted
        // Modbus/TCP read holding registers
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, // MBAP: transaction 1, protocol 0, length 6
        0x01, 0x03, 0x00, 0x00, 0x00, 0x0a, // unit 1, function 3, address 0, count 10
    ];

    /// IPv4 + ICMP echo request, 32 bytes.
    const IPV4_ICMP: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x20, // total length 32
        0x00, 0x02, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x01, // protocol ICMP
        0x00, 0x00, // header checksum
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        // ICMP
        0x08, // type 8 echo request
        0x00, // code 0
        0x00, 0x00, // checksum
        0x00, 0x07, // identifier 7
        0x00, 0x01, // sequence 1
        0xde, 0xad, 0xbe, 0xef, // data
    ];

    /// IPv6 + UDP (DNP3), 52 bytes.
    const IPV6_UDP: &[u8] = &[
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
        0x00, 0x0c, // payload length 12
        0x11, // next header UDP
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // source 2001:db8::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // destination 2001:db8::2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, //
        // UDP
        0xc0, 0x02, // source port 49154
        0x4e, 0x20, // destination port 20000 (DNP3)
        0x00, 0x0c, // length 12
        0x00, 0x00, // checksum
        0x05, 0x64, 0x05, 0xc0, // DNP3 start, length, control
    ];

    // ----- Whole frames ----------------------------------------------------

    /// Real ARP reply (suricata-verify decode-arp-2, frame 2).
    const ETH_ARP: &[u8] = &[
        0x00, 0x1a, 0x6b, 0x6c, 0x0c, 0xcc, // destination MAC
        0x00, 0x1d, 0x09, 0xf0, 0x92, 0xab, // source MAC
        0x08, 0x06, // EtherType: ARP
        0x00, 0x01, // hardware type Ethernet
        0x08, 0x00, // protocol type IPv4
        0x06, // hardware size
        0x04, // protocol size
        0x00, 0x02, // opcode reply
        0x00, 0x1d, 0x09, 0xf0, 0x92, 0xab, // sender MAC
        0x0a, 0x0a, 0x0a, 0x01, // sender IP 10.10.10.1
        0x00, 0x1a, 0x6b, 0x6c, 0x0c, 0xcc, // target MAC
        0x0a, 0x0a, 0x0a, 0x02, // target IP 10.10.10.2
    ];

    /// IPv6 with hop-by-hop and destination options, then TCP (DNP3).
    const ETH_IPV6_EXT_TCP: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x86, 0xdd, // EtherType: IPv6
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class, flow label
        0x00, 0x28, // payload length 40
        0x00, // next header: hop-by-hop options
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // source 2001:db8::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // destination 2001:db8::2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, //
        // hop-by-hop options
        0x3c, // next header: destination options
        0x00, // header extension length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN, 4 bytes
        // destination options
        0x06, // next header: TCP
        0x00, // header extension length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN, 4 bytes
        // TCP
        0xc3, 0x51, // source port 50001
        0x4e, 0x20, // destination port 20000 (DNP3)
        0x00, 0x00, 0x00, 0x0a, // sequence number 10
        0x00, 0x00, 0x00, 0x00, // acknowledgement number
        0x50, // data offset 5
        0x18, // flags PSH|ACK
        0xff, 0xff, // window
        0x00, 0x00, // checksum
        0x00, 0x00, // urgent pointer
        0x05, 0x64, 0x05, 0xc0, // DNP3 start, length, control
    ];

    /// IPv6 first fragment (hop-by-hop before the fragment header), UDP.
    const ETH_IPV6_FRAG1: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x86, 0xdd, // EtherType: IPv6
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class, flow label
        0x00, 0x20, // payload length 32
        0x00, // next header: hop-by-hop options
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // source 2001:db8::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // destination 2001:db8::2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, //
        // hop-by-hop options
        0x2c, // next header: fragment
        0x00, // header extension length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN, 4 bytes
        // fragment header
        0x11, // next header: UDP
        0x00, // reserved
        0x00, 0x01, // offset 0, M=1
        0x00, 0x00, 0xab, 0xcd, // identification 0xabcd
        // fragment data: UDP header + 8 bytes
        0xc0, 0x03, // source port 49155
        0x4e, 0x20, // destination port 20000
        0x00, 0x18, // length 24 (whole datagram)
        0x00, 0x00, // checksum
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // data
    ];

    /// IPv6 last fragment matching [`ETH_IPV6_FRAG1`].
    const ETH_IPV6_FRAG2: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x86, 0xdd, // EtherType: IPv6
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class, flow label
        0x00, 0x18, // payload length 24
        0x00, // next header: hop-by-hop options
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // source 2001:db8::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // destination 2001:db8::2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, //
        // hop-by-hop options
        0x2c, // next header: fragment
        0x00, // header extension length 0 (8 bytes)
        0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // PadN, 4 bytes
        // fragment header
        0x11, // next header: UDP
        0x00, // reserved
        0x00, 0x10, // offset 2 (16 bytes), M=0
        0x00, 0x00, 0xab, 0xcd, // identification 0xabcd
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, // data
    ];

    /// IPv4 first fragment (MF, offset 0), UDP.
    const ETH_IPV4_FRAG1: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x08, 0x00, // EtherType: IPv4
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x24, // total length 36
        0x43, 0x21, // identification 0x4321
        0x20, 0x00, // flags MF, fragment offset 0
        0x40, // TTL 64
        0x11, // protocol UDP
        0x00, 0x00, // header checksum
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        // fragment data: UDP header + 8 bytes
        0xc0, 0x04, // source port 49156
        0x00, 0xa1, // destination port 161 (SNMP)
        0x00, 0x18, // length 24 (whole datagram)
        0x00, 0x00, // checksum
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // data
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // Ethernet padding
    ];

    /// IPv4 last fragment matching [`ETH_IPV4_FRAG1`].
    const ETH_IPV4_FRAG2: &[u8] = &[
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x08, 0x00, // EtherType: IPv4
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x1c, // total length 28
        0x43, 0x21, // identification 0x4321
        0x00, 0x02, // flags 0, fragment offset 2 (16 bytes)
        0x40, // TTL 64
        0x11, // protocol UDP
        0x00, 0x00, // header checksum
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, // data
    ];

    /// Outer IPv4 header for GRE (protocol 47), total length 68.
    const IPV4_GRE_68: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x44, // total length 68 = 20 + 16 (GRE) + 32
        0x00, 0x03, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x2f, // protocol GRE
        0x00, 0x00, // header checksum
        0xc0, 0xa8, 0x00, 0x01, // source 192.168.0.1
        0xc0, 0xa8, 0x00, 0x02, // destination 192.168.0.2
    ];

    /// GRE with checksum, key and sequence number, carrying IPv4.
    const GRE_CKS_V4: &[u8] = &[
        0xb0, 0x00, // flags C|K|S, version 0
        0x08, 0x00, // protocol type IPv4
        0x00, 0x00, 0x00, 0x00, // checksum, reserved1
        0x00, 0x00, 0x00, 0x2a, // key 42
        0x00, 0x00, 0x00, 0x07, // sequence number 7
    ];

    /// Outer IPv4 + GRE + ERSPAN type II header (inner Ethernet follows).
    const IPV4_GRE_ERSPAN2: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x52, // total length 82 = 20 + 8 + 8 + 14 + 32
        0x00, 0x04, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x2f, // protocol GRE
        0x00, 0x00, // header checksum
        0xc0, 0xa8, 0x00, 0x01, // source 192.168.0.1
        0xc0, 0xa8, 0x00, 0x02, // destination 192.168.0.2
        // GRE
        0x10, 0x00, // flags S, version 0
        0x88, 0xbe, // protocol type ERSPAN II
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        // ERSPAN type II
        0x10, 0x0a, // version 1, VLAN 10
        0x00, 0x05, // COS 0, En 0, T 0, session id 5
        0x00, 0x00, 0x00, 0x00, // reserved, index
    ];

    /// Outer IPv4 + GRE + ERSPAN type III header with platform subheader.
    const IPV4_GRE_ERSPAN3: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x5a, // total length 90 = 20 + 4 + 12 + 8 + 14 + 32
        0x00, 0x05, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x2f, // protocol GRE
        0x00, 0x00, // header checksum
        0xc0, 0xa8, 0x00, 0x01, // source 192.168.0.1
        0xc0, 0xa8, 0x00, 0x02, // destination 192.168.0.2
        // GRE
        0x00, 0x00, // no flags, version 0
        0x22, 0xeb, // protocol type ERSPAN III
        // ERSPAN type III
        0x20, 0x00, // version 2, VLAN 0
        0x00, 0x07, // COS, BSO, T, session id 7
        0x00, 0x00, 0x00, 0x01, // timestamp
        0x00, 0x00, // security group tag
        0x00, 0x01, // P, FT, HW id, D, Gra, O=1
        0x0c, 0x00, 0x00, 0x03, 0x15, 0xf7, 0x42, 0xe8, // platform specific subheader
    ];

    /// Real ERSPAN type I frame (suricata-verify decode-erspan-typeI-02).
    const ERSPAN1_REAL: &[u8] = &[
        0xc4, 0x54, 0x44, 0x88, 0x9c, 0x99, // destination MAC
        0x80, 0xa2, 0x35, 0x94, 0xbf, 0xc1, // source MAC
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, // version 4, IHL 5, DSCP
        0x00, 0x7e, // total length 126
        0x00, 0x00, 0x00, 0x00, // identification, flags/offset
        0x3e, 0x2f, // TTL 62, protocol GRE
        0xb5, 0x02, // header checksum
        0x64, 0x5f, 0x00, 0x0f, // source 100.95.0.15
        0x64, 0x5f, 0xfe, 0x81, // destination 100.95.254.129
        0x00, 0x00, // GRE: no flags (no sequence → ERSPAN type I), version 0
        0x88, 0xbe, // GRE protocol ERSPAN
        0x80, 0xa2, 0x35, 0x94, 0xc6, 0x35, // inner destination MAC
        0x80, 0xa2, 0x35, 0x46, 0x37, 0xae, // inner source MAC
        0x81, 0x00, 0x03, 0xf3, // 802.1Q VLAN 1011
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x54, // version, IHL, DSCP, total length 84
        0x97, 0x85, 0x40, 0x00, // identification, DF
        0x3e, 0x01, 0xd6, 0x33, // TTL 62, protocol ICMP, checksum
        0x64, 0x5f, 0x02, 0xc9, // source 100.95.2.201
        0x64, 0x5f, 0x03, 0x69, // destination 100.95.3.105
        0x08, 0x00, 0xff, 0x3f, // ICMP echo request, code 0, checksum
        0x52, 0xd5, 0x00, 0x31, // identifier, sequence
        0xc2, 0xea, 0xed, 0x5d, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x9e, 0x0c, 0x00, // echo data
        0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, //
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, //
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, //
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, //
    ];

    /// Real ERSPAN type III frame (enterprise/tunnels/gre-erspan3-dot1q.pcap).
    const ERSPAN3_REAL: &[u8] = &[
        0x02, 0x42, 0xac, 0x1f, 0x01, 0x87, // destination MAC
        0x00, 0xae, 0xcd, 0x00, 0x07, 0xc7, // source MAC
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x92, // version 4, IHL 5, DSCP, total length 146
        0x00, 0x00, 0x00, 0x00, // identification, flags/offset
        0x40, 0x2f, 0x1f, 0x61, // TTL 64, protocol GRE, checksum
        0xac, 0x1f, 0x01, 0x17, // source 172.31.1.23
        0xac, 0x1f, 0x01, 0x87, // destination 172.31.1.135
        0x00, 0x00, 0x22, 0xeb, // GRE: no flags, protocol ERSPAN III
        0x20, 0x0a, // ERSPAN version 2, VLAN 10
        0x00, 0x00, // COS, BSO, T, session id
        0x70, 0x50, 0x7e, 0x55, // timestamp
        0x00, 0x00, // security group tag
        0x00, 0x07, // P, FT, HW id, D, Gra, O=1
        0x0c, 0x00, 0x00, 0x03, 0x15, 0xf7, 0x42, 0xe8, // platform specific subheader
        0x00, 0x50, 0x56, 0x8b, 0x6d, 0xc7, // inner destination MAC
        0x00, 0xae, 0xcd, 0x00, 0x0c, 0xf1, // inner source MAC
        0x81, 0x00, 0x00, 0x0a, // 802.1Q VLAN 10
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x54, // version, IHL, DSCP, total length 84
        0xba, 0xe6, 0x40, 0x00, // identification, DF
        0x40, 0x01, 0x13, 0x63, // TTL 64, protocol ICMP, checksum
        0xac, 0x1f, 0x0a, 0x1f, // source 172.31.10.31
        0xac, 0x1f, 0x0a, 0x02, // destination 172.31.10.2
        0x08, 0x00, 0x06, 0xba, // ICMP echo request, code 0, checksum
        0x00, 0x2b, 0x00, 0x04, // identifier, sequence
        0x40, 0xb9, 0x57, 0x5e, 0x00, 0x00, 0x00, 0x00, 0x98, 0x2c, 0x02, 0x00, // echo data
        0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, //
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, //
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, //
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, //
    ];

    /// Real VXLAN frame (suricata-verify vxlan-decoder-02).
    const VXLAN_REAL: &[u8] = &[
        0x00, 0x16, 0x3e, 0x08, 0x71, 0xcf, // destination MAC
        0x36, 0xdc, 0x85, 0x1e, 0xb3, 0x40, // source MAC
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x86, // version 4, IHL 5, DSCP, total length 134
        0xd2, 0xc0, 0x40, 0x00, // identification, DF
        0x40, 0x11, 0x51, 0x52, // TTL 64, protocol UDP, checksum
        0xc0, 0xa8, 0xcb, 0x01, // source 192.168.203.1
        0xc0, 0xa8, 0xca, 0x01, // destination 192.168.202.1
        0xb0, 0x5d, // UDP source port 45149
        0x12, 0xb5, // UDP destination port 4789 (VXLAN)
        0x00, 0x72, // UDP length 114
        0x00, 0x00, // UDP checksum
        0x08, 0x00, 0x00, 0x00, // VXLAN flags (I), reserved
        0x00, 0x00, 0x64, 0x00, // VNI 100, reserved
        0x00, 0x30, 0x88, 0x01, 0x00, 0x02, // inner destination MAC
        0x00, 0x16, 0x3e, 0x37, 0xf6, 0x04, // inner source MAC
        0x08, 0x00, // EtherType IPv4
        0x45, 0x00, 0x00, 0x54, // version, IHL, DSCP, total length 84
        0x00, 0x00, 0x40, 0x00, // identification, DF
        0x40, 0x01, 0x23, 0x4f, // TTL 64, protocol ICMP, checksum
        0xc0, 0xa8, 0xcb, 0x03, // source 192.168.203.3
        0xc0, 0xa8, 0xcb, 0x05, // destination 192.168.203.5
        0x08, 0x00, 0xf6, 0xf2, // ICMP echo request, code 0, checksum
        0x05, 0x0c, 0x00, 0x01, // identifier, sequence
        0xfc, 0xe2, 0x97, 0x51, 0x00, 0x00, 0x00, 0x00, 0xa6, 0xf8, 0x02, 0x00, // echo data
        0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, //
        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, //
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, //
        0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, //
    ];

    /// Outer IPv4 + UDP + Geneve header with one option (inner Ethernet follows).
    const IPV4_UDP_GENEVE: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x5a, // total length 90 = 20 + 70
        0x00, 0x06, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x11, // protocol UDP
        0x00, 0x00, // header checksum
        0xc0, 0xa8, 0x00, 0x01, // source 192.168.0.1
        0xc0, 0xa8, 0x00, 0x02, // destination 192.168.0.2
        // UDP
        0xd4, 0x31, // source port 54321
        0x17, 0xc1, // destination port 6081 (Geneve)
        0x00, 0x46, // length 70 = 8 + 8 + 8 + 14 + 32
        0x00, 0x00, // checksum
        // Geneve
        0x02, // version 0, option length 2 (8 bytes)
        0x00, // O, C flags, reserved
        0x65, 0x58, // protocol type: Ethernet
        0x00, 0x00, 0x7b, // VNI 123
        0x00, // reserved
        0x01, 0x02, // option class
        0x80, // option type (critical)
        0x01, // reserved, option data length 1 (4 bytes)
        0xde, 0xad, 0xbe, 0xef, // option data
    ];

    /// Linux cooked capture v1 header, IPv4.
    const SLL_V4: &[u8] = &[
        0x00, 0x00, // packet type: to us
        0x00, 0x01, // ARPHRD_ETHER
        0x00, 0x06, // link-layer address length
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, // address, padded to 8
        0x08, 0x00, // protocol IPv4
    ];

    /// Linux cooked capture v2 header, IPv4.
    const SLL2_V4: &[u8] = &[
        0x08, 0x00, // protocol IPv4
        0x00, 0x00, // reserved
        0x00, 0x00, 0x00, 0x02, // interface index 2
        0x00, 0x01, // ARPHRD_ETHER
        0x04, // packet type: outgoing
        0x06, // link-layer address length
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, // address, padded to 8
    ];

    /// Outer IPv4 carrying IPv6 (protocol 41), total 72.
    const IPV4_6IN4: &[u8] = &[
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x48, // total length 72 = 20 + 52
        0x00, 0x08, // identification
        0x00, 0x00, // flags, fragment offset
        0x40, // TTL 64
        0x29, // protocol IPv6
        0x00, 0x00, // header checksum
        0xc0, 0x00, 0x02, 0x01, // source 192.0.2.1
        0xc0, 0x00, 0x02, 0x02, // destination 192.0.2.2
    ];

    fn eth_ipv4_tcp() -> Vec<u8> {
        [ETH_V4, IPV4_TCP].concat()
    }
    fn eth_ipv4_udp() -> Vec<u8> {
        [ETH_V4, IPV4_UDP, PAD14].concat()
    }
    fn eth_ipv4_icmp() -> Vec<u8> {
        [ETH_V4, IPV4_ICMP, PAD14].concat()
    }
    fn eth_vlan() -> Vec<u8> {
        let tag: &[u8] = &[
            0x81, 0x00, // TPID 802.1Q
            0x00, 0x64, // PCP 0, DEI 0, VLAN 100
            0x08, 0x00, // EtherType IPv4
        ];
        [ETH_MACS, tag, IPV4_UDP, PAD14].concat()
    }
    fn eth_qinq() -> Vec<u8> {
        let tags: &[u8] = &[
            0x88, 0xa8, // TPID 802.1ad (S-tag)
            0x00, 0xc8, // VLAN 200
            0x81, 0x00, // TPID 802.1Q (C-tag)
            0x00, 0x64, // VLAN 100
            0x08, 0x00, // EtherType IPv4
        ];
        [ETH_MACS, tags, IPV4_UDP].concat()
    }
    fn eth_9100_triple() -> Vec<u8> {
        let tags: &[u8] = &[
            0x91, 0x00, // TPID 0x9100
            0x01, 0x2c, // VLAN 300
            0x81, 0x00, // TPID 802.1Q
            0x20, 0x1e, // PCP 1, VLAN 30
            0x81, 0x00, // TPID 802.1Q (third tag: walked, not kept)
            0x00, 0x03, // VLAN 3
            0x08, 0x00, // EtherType IPv4
        ];
        [ETH_MACS, tags, IPV4_UDP].concat()
    }
    fn eth_mpls2() -> Vec<u8> {
        let labels: &[u8] = &[
            0x88, 0x47, // EtherType MPLS unicast
            0x00, 0x3e, 0x80, 0x40, // label 1000, TC 0, S 0, TTL 64
            0x00, 0x7d, 0x01, 0x40, // label 2000, TC 0, S 1, TTL 64
        ];
        [ETH_MACS, labels, IPV4_TCP].concat()
    }
    fn eth_mpls_pw() -> Vec<u8> {
        let labels: &[u8] = &[
            0x88, 0x47, // EtherType MPLS unicast
            0x00, 0x01, 0x01, 0x40, // label 16, TC 0, S 1, TTL 64
            0x00, 0x00, 0x00, 0x00, // pseudowire control word
        ];
        [ETH_MACS, labels, ETH_V4, IPV4_UDP].concat()
    }
    fn eth_gre() -> Vec<u8> {
        [ETH_V4, IPV4_GRE_68, GRE_CKS_V4, IPV4_UDP].concat()
    }
    fn eth_erspan2() -> Vec<u8> {
        [ETH_V4, IPV4_GRE_ERSPAN2, ETH_V4, IPV4_UDP].concat()
    }
    fn eth_erspan3() -> Vec<u8> {
        [ETH_V4, IPV4_GRE_ERSPAN3, ETH_V4, IPV4_UDP].concat()
    }
    fn eth_geneve() -> Vec<u8> {
        [ETH_V4, IPV4_UDP_GENEVE, ETH_V4, IPV4_UDP].concat()
    }
    fn eth_6in4() -> Vec<u8> {
        [ETH_V4, IPV4_6IN4, IPV6_UDP].concat()
    }
    fn null_le_v4() -> Vec<u8> {
        [
            &[0x02, 0x00, 0x00, 0x00][..], /* AF_INET, little endian */
            IPV4_UDP,
        ]
        .concat()
    }
    fn null_be_v6() -> Vec<u8> {
        [
            &[0x00, 0x00, 0x00, 0x1e][..], /* AF_INET6 (30), big endian */
            IPV6_UDP,
        ]
        .concat()
    }

    /// Every valid fixture with its link type.
    fn fixtures() -> Vec<(&'static str, LinkType, Vec<u8>)> {
        use LinkType::*;
        vec![
            ("eth_ipv4_tcp", Ethernet, eth_ipv4_tcp()),
            ("eth_ipv4_udp", Ethernet, eth_ipv4_udp()),
            ("eth_ipv4_icmp", Ethernet, eth_ipv4_icmp()),
            ("eth_arp", Ethernet, ETH_ARP.to_vec()),
            ("eth_vlan", Ethernet, eth_vlan()),
            ("eth_qinq", Ethernet, eth_qinq()),
            ("eth_9100_triple", Ethernet, eth_9100_triple()),
            ("eth_mpls2", Ethernet, eth_mpls2()),
            ("eth_mpls_pw", Ethernet, eth_mpls_pw()),
            ("eth_ipv6_udp", Ethernet, [ETH_V6, IPV6_UDP].concat()),
            ("eth_ipv6_ext_tcp", Ethernet, ETH_IPV6_EXT_TCP.to_vec()),
            ("eth_ipv6_frag1", Ethernet, ETH_IPV6_FRAG1.to_vec()),
            ("eth_ipv6_frag2", Ethernet, ETH_IPV6_FRAG2.to_vec()),
            ("eth_ipv4_frag1", Ethernet, ETH_IPV4_FRAG1.to_vec()),
            ("eth_ipv4_frag2", Ethernet, ETH_IPV4_FRAG2.to_vec()),
            ("eth_gre", Ethernet, eth_gre()),
            ("eth_erspan2", Ethernet, eth_erspan2()),
            ("eth_erspan3", Ethernet, eth_erspan3()),
            ("erspan1_real", Ethernet, ERSPAN1_REAL.to_vec()),
            ("erspan3_real", Ethernet, ERSPAN3_REAL.to_vec()),
            ("vxlan_real", Ethernet, VXLAN_REAL.to_vec()),
            ("eth_geneve", Ethernet, eth_geneve()),
            ("eth_6in4", Ethernet, eth_6in4()),
            ("sll", LinuxSll, [SLL_V4, IPV4_UDP].concat()),
            ("sll2", LinuxSll2, [SLL2_V4, IPV4_UDP].concat()),
            ("null_le_v4", Null, null_le_v4()),
            ("null_be_v6", Null, null_be_v6()),
            ("raw_v4", Raw, IPV4_UDP.to_vec()),
            ("raw_v6", Raw, IPV6_UDP.to_vec()),
            ("ipv4", LinkType::Ipv4, IPV4_UDP.to_vec()),
            ("ipv6", LinkType::Ipv6, IPV6_UDP.to_vec()),
        ]
    }

    #[track_caller]
    fn ip(r: Result<Decoded<'_>, Anomaly>) -> Packet<'_> {
        match r {
            Ok(Decoded::Ip(p)) => p,
            other => panic!("expected an IP packet, got {other:?}"),
        }
    }

    #[track_caller]
    fn frag(r: Result<Decoded<'_>, Anomaly>) -> Fragment<'_> {
        match r {
            Ok(Decoded::Fragment(f)) => f,
            other => panic!("expected a fragment, got {other:?}"),
        }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn db8(last: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
    }

    /// Checks the inner [`IPV4_UDP`] packet.
    #[track_caller]
    fn assert_bacnet(p: &Packet<'_>) {
        assert_eq!(p.src, v4(10, 0, 0, 1));
        assert_eq!(p.dst, v4(10, 0, 0, 2));
        assert_eq!((p.ip_proto, p.ttl), (17, 64));
        assert_eq!((p.sport, p.dport), (49153, 47808));
        assert_eq!(p.l4, L4::Udp);
        assert_eq!(p.payload, &[0x81, 0x0b, 0x00, 0x04]);
        assert_eq!(p.ip_len, 32);
    }

    #[test]
    fn all_fixtures_decode() {
        for (name, link, frame) in fixtures() {
            assert!(decode(link, &frame).is_ok(), "{name}");
        }
    }

    #[test]
    fn ethernet_ipv4_tcp_with_options() {
        let f = eth_ipv4_tcp();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.src, v4(192, 168, 1, 10));
        assert_eq!(p.dst, v4(192, 168, 1, 20));
        assert_eq!((p.sport, p.dport, p.ip_proto, p.ttl), (50000, 502, 6, 64));
        assert_eq!(
            p.l4,
            L4::Tcp(TcpHdr {
                seq: 1,
                ack: 2,
                flags: TcpHdr::PSH | TcpHdr::ACK,
                window: 8192,
                hdr_len: 28
            })
        );
        assert_eq!(p.payload.len(), 12);
        assert_eq!(p.payload.get(7), Some(&0x03)); // Modbus function code
        assert_eq!(p.ip_len, 64);
        assert_eq!((p.vlan_count, p.tunnel), (0, None));
    }

    #[test]
    fn ethernet_ipv4_udp_padding_trimmed() {
        let f = eth_ipv4_udp();
        assert_eq!(f.len(), 60);
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_bacnet(&p);
        assert_eq!(p.vlan_count, 0);
    }

    #[test]
    fn ethernet_ipv4_icmp() {
        let f = eth_ipv4_icmp();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.l4, L4::Icmp { ty: 8, code: 0 });
        assert_eq!((p.sport, p.dport, p.ip_proto), (0, 0, 1));
        assert_eq!(p.payload, &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn arp_reply() {
        match decode(LinkType::Ethernet, ETH_ARP) {
            Ok(Decoded::Arp(a)) => {
                assert_eq!(a.op, 2);
                assert_eq!(a.sender_mac, [0x00, 0x1d, 0x09, 0xf0, 0x92, 0xab]);
                assert_eq!(a.sender_ip, [10, 10, 10, 1]);
                assert_eq!(a.target_mac, [0x00, 0x1a, 0x6b, 0x6c, 0x0c, 0xcc]);
                assert_eq!(a.target_ip, [10, 10, 10, 2]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vlan_single_qinq_and_9100() {
        let f = eth_vlan();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.vlan, p.vlan_count), ([100, 0], 1));
        assert_bacnet(&p);

        let f = eth_qinq();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.vlan, p.vlan_count), ([200, 100], 2));
        assert_bacnet(&p);

        let f = eth_9100_triple();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.vlan, p.vlan_count), ([300, 30], 2));
        assert_bacnet(&p);
    }

    #[test]
    fn vlan_too_many_layers() {
        let mut f = ETH_MACS.to_vec();
        for _ in 0..=MAX_VLAN_TAGS {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]); // 802.1Q VLAN 1
        }
        f.extend_from_slice(&[0x08, 0x00]); // EtherType IPv4
        f.extend_from_slice(IPV4_UDP);
        assert_eq!(
            decode(LinkType::Ethernet, &f).err(),
            Some(Anomaly::VlanTooManyLayers)
        );
    }

    #[test]
    fn mpls_two_labels_ipv4() {
        let f = eth_mpls2();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::Mpls));
        assert_eq!((p.sport, p.dport), (50000, 502));
    }

    #[test]
    fn mpls_pseudowire_ethernet() {
        let f = eth_mpls_pw();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::Mpls));
        assert_bacnet(&p);
    }

    #[test]
    fn ipv6_hop_by_hop_dstopts_tcp() {
        let p = ip(decode(LinkType::Ethernet, ETH_IPV6_EXT_TCP));
        assert_eq!((p.src, p.dst), (db8(1), db8(2)));
        assert_eq!((p.ip_proto, p.ttl), (6, 64));
        assert_eq!((p.sport, p.dport), (50001, 20000));
        assert_eq!(p.payload, &[0x05, 0x64, 0x05, 0xc0]);
        assert_eq!(p.ip_len, 80);
        match p.l4 {
            L4::Tcp(t) => assert_eq!((t.seq, t.hdr_len, t.flags), (10, 20, 0x18)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_fragment_header() {
        let f = frag(decode(LinkType::Ethernet, ETH_IPV6_FRAG1));
        assert!(f.is_v6 && f.more);
        assert_eq!((f.offset, f.id, f.ip_proto), (0, 0xabcd, 17));
        assert_eq!(f.ip_header.len(), 48); // IPv6 + hop-by-hop
        assert_eq!(f.data.len(), 16);
        let f = frag(decode(LinkType::Ethernet, ETH_IPV6_FRAG2));
        assert!(!f.more);
        assert_eq!((f.offset, f.data.len()), (16, 8));
    }

    #[test]
    fn ipv6_atomic_fragment_is_a_packet() {
        let mut f = ETH_IPV6_FRAG2.to_vec();
        // offset 0, M=0 and a complete UDP datagram of 8 bytes
        f[64..66].copy_from_slice(&[0x00, 0x00]);
        f[70..78].copy_from_slice(&[0xc0, 0x05, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00]);
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.ip_proto, p.sport, p.dport), (17, 49157, 53));
    }

    #[test]
    fn ipv4_fragment() {
        let f = frag(decode(LinkType::Ethernet, ETH_IPV4_FRAG1));
        assert!(!f.is_v6 && f.more);
        assert_eq!((f.offset, f.id, f.ip_proto), (0, 0x4321, 17));
        assert_eq!((f.ip_header.len(), f.data.len()), (20, 16)); // padding trimmed
        let f = frag(decode(LinkType::Ethernet, ETH_IPV4_FRAG2));
        assert!(!f.more);
        assert_eq!((f.offset, f.data.len()), (16, 8));
    }

    #[test]
    fn gre_ipv4() {
        let f = eth_gre();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::Gre));
        assert_bacnet(&p);
    }

    #[test]
    fn gre_v1_and_unknown_protocol_left_undecapsulated() {
        let mut f = eth_gre();
        f[35] = 0x01; // GRE version 1 (PPTP)
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.ip_proto, p.tunnel, p.l4), (47, None, L4::Other));
        let mut f = eth_gre();
        f[36..38].copy_from_slice(&[0x88, 0x0b]); // protocol PPP
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.ip_proto, p.tunnel), (47, None));
        let mut f = eth_gre();
        f[35] = 0x02; // GRE version 2
        assert_eq!(
            decode(LinkType::Ethernet, &f).err(),
            Some(Anomaly::GreUnsupportedVersion)
        );
    }

    #[test]
    fn erspan_type_ii() {
        let f = eth_erspan2();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::ErspanII));
        assert_eq!((p.vlan, p.vlan_count), ([10, 0], 1)); // from the ERSPAN header
        assert_bacnet(&p);
    }

    #[test]
    fn erspan_type_ii_bad_version() {
        let mut f = eth_erspan2();
        f[42] = 0x20; // ERSPAN version 2 under GRE 0x88be
        assert_eq!(
            decode(LinkType::Ethernet, &f).err(),
            Some(Anomaly::ErspanUnsupportedVersion)
        );
    }

    #[test]
    fn erspan_type_iii() {
        let f = eth_erspan3();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::ErspanIII));
        assert_eq!(p.vlan_count, 0);
        assert_bacnet(&p);
    }

    #[test]
    fn erspan_real_captures() {
        let p = ip(decode(LinkType::Ethernet, ERSPAN1_REAL));
        assert_eq!(p.tunnel, Some(Tunnel::ErspanI));
        assert_eq!((p.vlan, p.vlan_count), ([1011, 0], 1));
        assert_eq!((p.src, p.dst), (v4(100, 95, 2, 201), v4(100, 95, 3, 105)));
        assert_eq!(p.l4, L4::Icmp { ty: 8, code: 0 });
        assert_eq!(p.payload.len(), 56);

        let p = ip(decode(LinkType::Ethernet, ERSPAN3_REAL));
        assert_eq!(p.tunnel, Some(Tunnel::ErspanIII));
        assert_eq!((p.vlan, p.vlan_count), ([10, 0], 1));
        assert_eq!((p.src, p.dst), (v4(172, 31, 10, 31), v4(172, 31, 10, 2)));
        assert_eq!(p.l4, L4::Icmp { ty: 8, code: 0 });
    }

    #[test]
    fn vxlan_real_capture() {
        let p = ip(decode(LinkType::Ethernet, VXLAN_REAL));
        assert_eq!(p.tunnel, Some(Tunnel::Vxlan));
        assert_eq!((p.src, p.dst), (v4(192, 168, 203, 3), v4(192, 168, 203, 5)));
        assert_eq!(p.l4, L4::Icmp { ty: 8, code: 0 });
        assert_eq!(p.ip_len, 84);
    }

    #[test]
    fn vxlan_without_i_flag_is_plain_udp() {
        let mut f = VXLAN_REAL.to_vec();
        f[42] = 0x00; // VXLAN flags without I
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!((p.tunnel, p.dport), (None, 4789));
        assert_eq!(p.src, v4(192, 168, 203, 1));
    }

    #[test]
    fn geneve_with_option() {
        let f = eth_geneve();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::Geneve));
        assert_bacnet(&p);
        let mut f = eth_geneve();
        f[44..46].copy_from_slice(&[0x88, 0x47]); // protocol type MPLS
        assert_eq!(
            decode(LinkType::Ethernet, &f).err(),
            Some(Anomaly::GeneveUnknownPayload)
        );
    }

    #[test]
    fn ip_in_ip() {
        let f = eth_6in4();
        let p = ip(decode(LinkType::Ethernet, &f));
        assert_eq!(p.tunnel, Some(Tunnel::IpInIp));
        assert_eq!((p.src, p.dst), (db8(1), db8(2)));
        assert_eq!((p.sport, p.dport), (49154, 20000));
    }

    #[test]
    fn tunnel_too_deep() {
        // IPv4-in-IPv4 nested MAX_TUNNEL_DEPTH + 1 times.
        let depth = usize::from(MAX_TUNNEL_DEPTH) + 1;
        let mut f = Vec::new();
        for i in 0..depth {
            let total = (20 * (depth - i) + IPV4_UDP.len()) as u16;
            let [t0, t1] = total.to_be_bytes();
            f.extend_from_slice(&[
                0x45, 0x00, t0, t1, // version/IHL, DSCP, total length
                0x00, 0x00, 0x00, 0x00, // identification, flags/offset
                0x40, 0x04, 0x00, 0x00, // TTL, protocol IPv4, checksum
                0x0a, 0x09, 0x09, 0x01, // source
                0x0a, 0x09, 0x09, 0x02, // destination
            ]);
        }
        f.extend_from_slice(IPV4_UDP);
        assert_eq!(
            decode(LinkType::Raw, &f).err(),
            Some(Anomaly::TunnelTooDeep)
        );
        // One level less is accepted.
        let p = ip(decode(LinkType::Raw, &f[20..]));
        assert_eq!(p.tunnel, Some(Tunnel::IpInIp));
        assert_bacnet(&p);
    }

    #[test]
    fn linux_sll_and_sll2() {
        let f = [SLL_V4, IPV4_UDP].concat();
        assert_bacnet(&ip(decode(LinkType::LinuxSll, &f)));
        let f = [SLL2_V4, IPV4_UDP].concat();
        assert_bacnet(&ip(decode(LinkType::LinuxSll2, &f)));
        assert_eq!(
            decode(LinkType::LinuxSll, &SLL_V4[..15]).err(),
            Some(Anomaly::SllTruncated)
        );
        assert_eq!(
            decode(LinkType::LinuxSll2, &SLL2_V4[..19]).err(),
            Some(Anomaly::Sll2Truncated)
        );
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        let f = null_le_v4();
        assert_bacnet(&ip(decode(LinkType::Null, &f)));
        let f = null_be_v6();
        let p = ip(decode(LinkType::Null, &f));
        assert_eq!((p.src, p.dport, p.payload.len()), (db8(1), 20000, 4));
        let f = [&[0x07, 0x00, 0x00, 0x00][..], IPV4_UDP].concat();
        assert_eq!(
            decode(LinkType::Null, &f).err(),
            Some(Anomaly::NullUnsupportedType)
        );
    }

    #[test]
    fn raw_and_bare_ip() {
        assert_bacnet(&ip(decode(LinkType::Raw, IPV4_UDP)));
        assert_bacnet(&ip(decode(LinkType::Ipv4, IPV4_UDP)));
        let p = ip(decode(LinkType::Raw, IPV6_UDP));
        assert_eq!((p.ip_len, p.ttl, p.sport), (52, 64, 49154));
        let p = ip(decode(LinkType::Ipv6, IPV6_UDP));
        assert_eq!(p.l4, L4::Udp);
        assert_eq!(
            decode(LinkType::Raw, &[0x50, 0, 0, 0]).err(),
            Some(Anomaly::RawBadVersion)
        );
        assert_eq!(
            decode(LinkType::Ipv4, IPV6_UDP).err(),
            Some(Anomaly::Ipv4BadVersion)
        );
        assert_eq!(
            decode(LinkType::Ipv6, IPV4_TCP).err(),
            Some(Anomaly::Ipv6BadVersion)
        );
        assert_eq!(
            decode(LinkType::Ipv6, &IPV6_UDP[..39]).err(),
            Some(Anomaly::Ipv6Truncated)
        );
    }

    #[test]
    fn decode_ip_carries_vlans() {
        let p = ip(decode_ip(IPV4_UDP, [7, 8], 2));
        assert_eq!((p.vlan, p.vlan_count), ([7, 8], 2));
        assert_bacnet(&p);
    }

    #[test]
    fn non_ip_ethertype() {
        let f = [ETH_MACS, &[0x88, 0xcc][..], &[0u8; 46][..]].concat(); // LLDP
        assert!(matches!(
            decode(LinkType::Ethernet, &f),
            Ok(Decoded::NonIp {
                ethertype: 0x88cc,
                ..
            })
        ));
    }

    #[test]
    fn snaplen_truncation_is_clamped() {
        let f = eth_ipv4_tcp();
        let p = ip(decode(LinkType::Ethernet, &f[..f.len() - 5]));
        assert_eq!(p.ip_len, 59);
        assert_eq!(p.payload.len(), 7);
        // UDP whose length exceeds a snaplen-truncated capture is fine too.
        let f = eth_ipv4_udp();
        let p = ip(decode(LinkType::Ethernet, &f[..14 + 30]));
        assert_eq!(p.payload, &[0x81, 0x0b]);
    }

    #[test]
    fn header_anomalies() {
        let mut f = IPV4_UDP.to_vec();
        f[2..4].copy_from_slice(&[0x00, 0x10]); // total length 16 < 20
        assert_eq!(
            decode(LinkType::Raw, &f).err(),
            Some(Anomaly::Ipv4TotalLenTooSmall)
        );
        let mut f = IPV4_UDP.to_vec();
        f[0] = 0x44; // IHL 4
        assert_eq!(
            decode(LinkType::Raw, &f).err(),
            Some(Anomaly::Ipv4BadHeaderLen)
        );
        let mut f = IPV4_UDP.to_vec();
        f[0] = 0x4f; // IHL 15 (60 bytes) > captured
        assert_eq!(
            decode(LinkType::Raw, &f).err(),
            Some(Anomaly::Ipv4Truncated)
        );
        assert_eq!(
            decode(LinkType::Raw, &IPV4_UDP[..19]).err(),
            Some(Anomaly::Ipv4TooSmall)
        );
        let mut f = IPV4_TCP.to_vec();
        f[36] = 0x40; // TCP data offset 4
        assert_eq!(
            decode(LinkType::Raw, &f).err(),
            Some(Anomaly::TcpBadHeaderLen)
        );
        let mut f = IPV4_TCP.to_vec();
        f[36] = 0xf0; // TCP data offset 15 (60 bytes) > segment
        assert_eq!(decode(LinkType::Raw, &f).err(), Some(Anomaly::TcpTruncated));
        let mut f = IPV4_UDP.to_vec();
        f[24..26].copy_from_slice(&[0x00, 0x07]); // UDP length 7
        assert_eq!(decode(LinkType::Raw, &f).err(), Some(Anomaly::UdpBadLen));
        let mut f = IPV4_UDP.to_vec();
        f[24..26].copy_from_slice(&[0x00, 0x40]); // UDP length 64 > IP payload
        assert_eq!(decode(LinkType::Raw, &f).err(), Some(Anomaly::UdpBadLen));
        let mut f = IPV6_UDP.to_vec();
        f[0] = 0x70; // version 7
        assert_eq!(
            decode(LinkType::Ipv6, &f).err(),
            Some(Anomaly::Ipv6BadVersion)
        );
        assert_eq!(
            decode(LinkType::Ethernet, &ETH_V4[..13]).err(),
            Some(Anomaly::EthTruncated)
        );
    }

    #[test]
    fn ipv6_extension_header_bounds() {
        // 9 destination-options headers exceed MAX_IPV6_EXT_HDRS.
        let mut f = IPV6_UDP[..40].to_vec();
        f[4..6].copy_from_slice(&[0x00, 0x48]); // payload length 72
        f[6] = 60; // next header: destination options
        for i in 0..9 {
            let nh = if i == 8 { 59 } else { 60 };
            f.extend_from_slice(&[nh, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00]);
        }
        assert_eq!(
            decode(LinkType::Ipv6, &f).err(),
            Some(Anomaly::Ipv6TooManyExtHdrs)
        );
        // Extension header longer than the packet.
        let mut f = ETH_IPV6_EXT_TCP.to_vec();
        f[55] = 0x10; // hop-by-hop length 136 bytes
        assert_eq!(
            decode(LinkType::Ethernet, &f).err(),
            Some(Anomaly::Ipv6ExtHdrTruncated)
        );
    }

    #[test]
    fn anomaly_names_are_unique_and_well_formed() {
        let mut labels = std::collections::HashSet::new();
        let mut events = std::collections::HashSet::new();
        for a in Anomaly::ALL {
            assert!(labels.insert(a.as_str()), "{a:?}");
            assert!(events.insert(a.eve_event()), "{a:?}");
            assert!(a
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            assert!(!a.layer().is_empty());
            assert_eq!(a.to_string(), a.eve_event());
        }
        assert_eq!(Anomaly::Ipv4Truncated.eve_event(), "decoder.ipv4.trunc_pkt");
        assert_eq!(
            Anomaly::TcpBadHeaderLen.eve_event(),
            "decoder.tcp.hlen_too_small"
        );
        assert_eq!(
            Anomaly::FragOverlap.eve_event(),
            "decoder.ipv4.frag_overlap"
        );
    }

    #[test]
    fn link_types() {
        for (dlt, lt) in [
            (0, LinkType::Null),
            (1, LinkType::Ethernet),
            (12, LinkType::Raw),
            (14, LinkType::Raw),
            (101, LinkType::Raw),
            (113, LinkType::LinuxSll),
            (228, LinkType::Ipv4),
            (229, LinkType::Ipv6),
            (276, LinkType::LinuxSll2),
        ] {
            assert_eq!(LinkType::from_dlt(dlt), Some(lt));
            assert!(!lt.name().is_empty());
        }
        assert_eq!(LinkType::from_dlt(105), None);
    }

    /// Decoding every prefix of every fixture never panics.
    #[test]
    fn every_truncation_point() {
        for (_name, link, frame) in fixtures() {
            for n in 0..=frame.len() {
                let _ = decode(link, &frame[..n]);
            }
            let _ = decode_ip(&frame, [0; 2], 0);
        }
    }

    use crate::test_util::XorShift;

    const LINKS: [LinkType; 7] = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Raw,
        LinkType::Ipv4,
        LinkType::Ipv6,
        LinkType::Null,
    ];

    #[test]
    fn random_frames_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut buf = [0u8; 256];
        for i in 0..100_000 {
            let len = rng.below(buf.len() + 1);
            for b in buf.iter_mut().take(len) {
                *b = rng.next() as u8;
            }
            // Bias the first bytes towards plausible headers sometimes.
            if i % 4 == 0 && len > 0 {
                buf[0] = 0x45;
            }
            let _ = decode(LINKS[i % LINKS.len()], &buf[..len]);
        }
    }

    #[test]
    fn mutated_fixtures_never_panic() {
        let mut rng = XorShift(0x1234_5678_9abc_def1);
        let fx = fixtures();
        for _ in 0..100_000 {
            let (_, link, frame) = &fx[rng.below(fx.len())];
            let mut f = frame.clone();
            for _ in 0..1 + rng.below(4) {
                let pos = rng.below(f.len());
                f[pos] = rng.next() as u8;
            }
            let n = rng.below(f.len() + 1);
            let _ = decode(*link, &f);
            let _ = decode(*link, &f[..n]);
        }
    }
}
