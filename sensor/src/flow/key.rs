//! Bidirectional flow keys, the symmetric flow hash and Community ID v1.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::decode::{Packet, L4};

/// Seed of the flow hash. Fixed so that worker choice and `flow_id` are the
/// same on every run over the same capture.
const FLOW_HASH_SEED: u64 = 0x5e45_0a11_f10e_d00d;

/// A flow key normalised so both directions give the same key: the smaller
/// (address, port) pair is `lo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo_addr: [u8; 16],
    pub hi_addr: [u8; 16],
    pub lo_port: u16,
    pub hi_port: u16,
    pub vlan: u16,
    pub proto: u8,
    pub v6: bool,
}

fn addr_bytes(a: IpAddr) -> ([u8; 16], bool) {
    match a {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), false),
        IpAddr::V6(v6) => (v6.octets(), true),
    }
}

fn bytes_addr(b: [u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]))
    }
}

impl FlowKey {
    /// The key of a packet, and whether the packet goes from `lo` to `hi`.
    #[inline]
    pub fn from_packet(p: &Packet<'_>) -> (FlowKey, bool) {
        let (s, v6) = addr_bytes(p.src);
        let (d, _) = addr_bytes(p.dst);
        let (sport, dport) = match p.l4 {
            L4::Tcp(_) | L4::Udp => (p.sport, p.dport),
            _ => (0, 0),
        };
        let vlan = if p.vlan_count > 0 { p.vlan[0] } else { 0 };
        let src_is_lo = (s, sport) <= (d, dport);
        let (lo_addr, lo_port, hi_addr, hi_port) = if src_is_lo {
            (s, sport, d, dport)
        } else {
            (d, dport, s, sport)
        };
        (
            FlowKey {
                lo_addr,
                hi_addr,
                lo_port,
                hi_port,
                vlan,
                proto: p.ip_proto,
                v6,
            },
            src_is_lo,
        )
    }

    /// Symmetric hash: both directions of a flow hash alike, so the same
    /// worker sees them.
    #[inline]
    pub fn hash(&self) -> u64 {
        foldhash::fast::FixedState::with_seed(FLOW_HASH_SEED).hash_one(self)
    }

    pub fn lo_ip(&self) -> IpAddr {
        bytes_addr(self.lo_addr, self.v6)
    }

    pub fn hi_ip(&self) -> IpAddr {
        bytes_addr(self.hi_addr, self.v6)
    }
}

/// Name of an IP protocol as EVE's `proto` field spells it.
pub fn proto_name(proto: u8) -> &'static str {
    match proto {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "IPv6-ICMP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        132 => "SCTP",
        2 => "IGMP",
        4 => "IPIP",
        41 => "IPv6",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        _ => "other",
    }
}

/// ICMP/ICMPv6 type pairs that Community ID treats as two ends of one
/// conversation (echo, timestamp, info, address mask, router/neighbour
/// solicitation, MLD, node information).
fn icmp_counterpart(v6: bool, ty: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if v6 {
        &[
            (128, 129),
            (133, 134),
            (135, 136),
            (130, 131),
            (139, 140),
            (144, 145),
        ]
    } else {
        &[(8, 0), (13, 14), (15, 16), (17, 18), (10, 9)]
    };
    pairs.iter().find_map(|&(a, b)| {
        if a == ty {
            Some(b)
        } else if b == ty {
            Some(a)
        } else {
            None
        }
    })
}

/// Community ID v1 (seed 0) of a conversation seen from `src` to `dst`.
///
/// Spec: corelight/community-id-spec. For ICMP the "ports" are type and
/// code (or the counterpart type for request/response pairs); one-way ICMP
/// types keep the packet's order.
pub fn community_id(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    icmp: Option<(u8, u8)>,
) -> String {
    let (mut s, v6) = addr_bytes(src);
    let (mut d, _) = addr_bytes(dst);
    let alen = if v6 { 16 } else { 4 };
    let off = 16 - alen;
    let (mut sp, mut dp) = (sport, dport);
    let mut one_way = false;
    if let Some((ty, code)) = icmp {
        sp = ty as u16;
        match icmp_counterpart(v6, ty) {
            Some(c) => dp = c as u16,
            None => {
                dp = code as u16;
                one_way = true;
            }
        }
    }
    let ordered = (&s[off..], sp) <= (&d[off..], dp);
    if !one_way && !ordered {
        std::mem::swap(&mut s, &mut d);
        std::mem::swap(&mut sp, &mut dp);
    }
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(&s[off..]);
    h.update(&d[off..]);
    h.update([proto, 0]);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from the Community ID spec's reference baseline
    // (community-id-spec/baseline/baseline_deflt.json): facts, not code.
    #[test]
    fn community_id_tcp_udp_spec_vectors() {
        let a: IpAddr = "128.232.110.120".parse().unwrap();
        let b: IpAddr = "66.35.250.204".parse().unwrap();
        assert_eq!(
            community_id(a, b, 6, 34855, 80, None),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // The reverse direction gives the same id.
        assert_eq!(
            community_id(b, a, 6, 80, 34855, None),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        let c: IpAddr = "192.168.1.52".parse().unwrap();
        let d: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(
            community_id(c, d, 17, 54585, 53, None),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
    }

    #[test]
    fn community_id_icmp_spec_vector() {
        let a: IpAddr = "192.168.0.89".parse().unwrap();
        let b: IpAddr = "192.168.0.1".parse().unwrap();
        // Echo request and its reply share one id.
        let req = community_id(a, b, 1, 0, 0, Some((8, 0)));
        let rep = community_id(b, a, 1, 0, 0, Some((0, 0)));
        assert_eq!(req, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
        assert_eq!(req, rep);
    }

    #[test]
    fn key_is_symmetric() {
        use crate::decode::{Packet, TcpHdr};
        let tcp = L4::Tcp(TcpHdr {
            seq: 0,
            ack: 0,
            flags: 2,
            window: 0,
            hdr_len: 20,
        });
        let p = Packet {
            vlan: [7, 0],
            vlan_count: 1,
            src: "10.0.0.2".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            ip_proto: 6,
            ttl: 64,
            sport: 40000,
            dport: 502,
            l4: tcp,
            payload: &[],
            ip_len: 40,
            tunnel: None,
        };
        let mut q = p.clone();
        std::mem::swap(&mut q.src, &mut q.dst);
        std::mem::swap(&mut q.sport, &mut q.dport);
        let (k1, d1) = FlowKey::from_packet(&p);
        let (k2, d2) = FlowKey::from_packet(&q);
        assert_eq!(k1, k2);
        assert_eq!(k1.hash(), k2.hash());
        assert_ne!(d1, d2);
        assert_eq!(k1.vlan, 7);
        assert_eq!(k1.lo_ip(), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
