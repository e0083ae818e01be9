//! Tests of the XDP program through `BPF_PROG_TEST_RUN`. The ones that load
//! the program are skipped (with a message on stderr) when not root or when
//! this kernel/sandbox cannot load XDP programs.

use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use aya::maps::lpm_trie::Key;

use super::btf;
use super::frames::*;
use super::loader::{XDP_DROP, XDP_PASS};
use super::maps::*;
use super::{load_xdp_pass, SensorXdp, SENSOR_XDP_OBJ};

// ---------------------------------------------------------------- helpers --

fn setup(test: &str) -> Option<SensorXdp> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED {test}: not root (needs CAP_BPF + CAP_NET_ADMIN)");
        return None;
    }
    if let Err(e) = load_xdp_pass() {
        eprintln!("SKIPPED {test}: cannot load a trivial XDP program here: {e}");
        return None;
    }
    // From here on a failure is a real failure (e.g. the verifier).
    match SensorXdp::load() {
        Ok(s) => Some(s),
        Err(e) => panic!("loading sensor_xdp failed: {e}\n{e:?}"),
    }
}

/// Non-zero counters, as (index, packets, bytes).
fn nonzero(s: &SensorXdp) -> Vec<(u32, u64, u64)> {
    s.counters()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.packets != 0 || c.bytes != 0)
        .map(|(i, c)| (i as u32, c.packets, c.bytes))
        .collect()
}

/// Expected counters: every listed class once with `len` bytes (sorted).
fn once(classes: &[u32], len: usize) -> Vec<(u32, u64, u64)> {
    let mut v: Vec<_> = classes.iter().map(|&c| (c, 1, len as u64)).collect();
    v.sort();
    v
}

const PASSED: [u32; 2] = [cnt::ACT_PASS, cnt::ACT_REDIRECT_FAILED];

/// Resets counters, runs `frame` once, asserts the action and that exactly
/// `classes` (+ the PASS/redirect-failed pair when PASS) were bumped once.
fn run_case(s: &mut SensorXdp, name: &str, frame: &[u8], action: u32, classes: &[u32]) {
    s.reset_counters().unwrap();
    let r = s
        .test_run(frame, 1)
        .unwrap_or_else(|e| panic!("{name}: test_run: {e}"));
    assert_eq!(r.action, action, "{name}: action");
    let mut all = classes.to_vec();
    if action == XDP_PASS {
        all.extend_from_slice(&PASSED);
    }
    assert_eq!(nonzero(s), once(&all, frame.len()), "{name}: counters");
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut o = [0; 16];
    o[..4].copy_from_slice(&a);
    o
}

fn v6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().unwrap().octets()
}

fn events(s: &mut SensorXdp) -> Vec<IocEvent> {
    let mut v = Vec::new();
    s.poll_events(&mut v, 64);
    v
}

// ------------------------------------------------------------------- BTF --

#[test]
fn btf_layout_matches() {
    let sec = btf::elf_section(SENSOR_XDP_OBJ, ".BTF").expect(".BTF section in sensor_xdp.o");
    let structs = btf::structs(sec).expect("parse BTF");

    macro_rules! check {
        ($cname:literal, $ty:ty, [$($field:ident),* $(,)?]) => {{
            let c = structs.get($cname).unwrap_or_else(|| panic!("struct {} not in BTF", $cname));
            assert_eq!(c.size as usize, size_of::<$ty>(), "size of {}", $cname);
            let rust: Vec<(String, u32)> =
                vec![$((stringify!($field).to_string(), offset_of!($ty, $field) as u32)),*];
            assert_eq!(c.members, rust, "members/offsets of {}", $cname);
        }};
    }
    check!("counter", Counter, [packets, bytes]);
    check!("ioc_v4_key", IocV4Key, [prefixlen, addr]);
    check!("ioc_v6_key", IocV6Key, [prefixlen, addr]);
    check!("ioc_value", IocValue, [indicator, prefixlen, _pad]);
    check!(
        "ioc_event",
        IocEvent,
        [
            timestamp_ns,
            indicator,
            direction,
            prefixlen,
            ip_version,
            protocol,
            src,
            dst,
            sport,
            dport,
            vlan_outer,
            vlan_inner,
            ifindex,
            rx_queue
        ]
    );
    check!(
        "flow_key",
        FlowKey,
        [addr_a, addr_b, port_a, port_b, vlan_outer, vlan_inner, protocol, ip_version, _pad]
    );
    check!("bypass_value", BypassValue, [last_seen_ns, packets, bytes]);
    // aya's LPM key type used for the tries has the same layout.
    assert_eq!(
        size_of::<Key<[u8; 4]>>(),
        structs["ioc_v4_key"].size as usize
    );
    assert_eq!(
        size_of::<Key<[u8; 16]>>(),
        structs["ioc_v6_key"].size as usize
    );
    eprintln!("BTF: {} structs checked against Rust mirrors", 7);
}

#[test]
fn flow_key_is_direction_independent() {
    let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let k1 = FlowKey::from_ips(6, a, 1000, b, 502, 5, 0).unwrap();
    let k2 = FlowKey::from_ips(6, b, 502, a, 1000, 5, 0).unwrap();
    assert_eq!(k1, k2);
    assert_eq!(k1.addr_a[..4], [10, 0, 0, 1]);
    assert_eq!((k1.port_a, k1.port_b), (502, 1000));
    // same address: ordered by port
    let k3 = FlowKey::from_ips(17, a, 9, a, 7, 0, 0).unwrap();
    assert_eq!((k3.port_a, k3.port_b), (7, 9));
    assert!(FlowKey::from_ips(6, a, 1, IpAddr::V6(Ipv6Addr::LOCALHOST), 2, 0, 0).is_none());
}

// ---------------------------------------------------- BPF_PROG_TEST_RUN --

#[test]
fn parse_and_count() {
    let Some(mut s) = setup("parse_and_count") else {
        return;
    };
    let src4 = [192, 0, 2, 1];
    let dst4 = [198, 51, 100, 7];

    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_TCP, 20)
        .tcp(40000, 502)
        .finish(0);
    run_case(&mut s, "tcp/ipv4", &f, XDP_PASS, &[cnt::IPV4, cnt::TCP]);

    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_UDP, 8)
        .udp(5353, 53, 0)
        .finish(60);
    run_case(
        &mut s,
        "udp/ipv4 padded",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::UDP],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_ICMP, 8)
        .icmp_echo(false)
        .finish(0);
    run_case(&mut s, "icmp", &f, XDP_PASS, &[cnt::IPV4, cnt::ICMP]);

    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, 47, 4)
        .bytes(&[0; 4])
        .finish(0);
    run_case(
        &mut s,
        "gre (l4 other)",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::L4_OTHER],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(100, ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_TCP, 20)
        .tcp(1, 2)
        .finish(0);
    run_case(
        &mut s,
        "vlan tcp/ipv4",
        &f,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_8021AD)
        .vlan(10, ETH_P_8021Q)
        .vlan(20, ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_UDP, 8)
        .udp(1, 2, 0)
        .finish(0);
    run_case(
        &mut s,
        "qinq 88a8/8100 udp/ipv4",
        &f,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::UDP],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_QINQ_9100)
        .vlan(10, ETH_P_8021Q)
        .vlan(20, ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_TCP, 20)
        .tcp(1, 2)
        .finish(0);
    run_case(
        &mut s,
        "qinq 9100/8100 tcp/ipv6",
        &f,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV6, cnt::TCP],
    );

    // Three tags: the third TPID is not walked, counted as other ethertype.
    let f = FrameBuilder::new()
        .eth(ETH_P_8021AD)
        .vlan(1, ETH_P_8021Q)
        .vlan(2, ETH_P_8021Q)
        .vlan(3, ETH_P_IP)
        .finish(60);
    run_case(&mut s, "three tags", &f, XDP_PASS, &[cnt::VLAN, cnt::OTHER]);

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(
            v6("2001:db8::1"),
            v6("2001:db8::2"),
            IPPROTO_HOPOPTS,
            8 + 16 + 20,
        )
        .ipv6_opts(IPPROTO_DSTOPTS, 0)
        .ipv6_opts(IPPROTO_TCP, 1)
        .tcp(443, 50000)
        .finish(0);
    run_case(
        &mut s,
        "ipv6 hbh+dstopts+tcp",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::TCP],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_HOPOPTS, 0)
        .ipv6_opts(IPPROTO_ROUTING, 0)
        .ipv6_opts(IPPROTO_DSTOPTS, 0)
        .ipv6_opts(IPPROTO_FRAGMENT, 0)
        .ipv6_frag(IPPROTO_UDP, 0, true)
        .udp(53, 5353, 0)
        .finish(0);
    run_case(
        &mut s,
        "ipv6 hbh+rt+dst+frag(first)+udp",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::FRAGMENT, cnt::UDP],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_FRAGMENT, 0)
        .ipv6_frag(IPPROTO_UDP, 185, false)
        .bytes(&[0; 16])
        .finish(0);
    run_case(
        &mut s,
        "ipv6 non-first fragment",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::FRAGMENT, cnt::L4_OTHER],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_HOPOPTS, 0)
        .ipv6_opts(IPPROTO_DSTOPTS, 0)
        .ipv6_opts(IPPROTO_ROUTING, 0)
        .ipv6_opts(IPPROTO_DSTOPTS, 0)
        .ipv6_opts(IPPROTO_DSTOPTS, 0)
        .ipv6_opts(IPPROTO_TCP, 0)
        .tcp(1, 2)
        .finish(0);
    run_case(
        &mut s,
        "ipv6 5 ext headers (> bound)",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::L4_OTHER],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("fe80::1"), v6("ff02::1"), IPPROTO_ICMPV6, 8)
        .icmp_echo(true)
        .finish(0);
    run_case(&mut s, "icmpv6", &f, XDP_PASS, &[cnt::IPV6, cnt::ICMP]);

    let f = FrameBuilder::new().eth(ETH_P_ARP).bytes(&[0; 28]).finish(0);
    run_case(&mut s, "arp", &f, XDP_PASS, &[cnt::ARP]);

    let f = FrameBuilder::new().eth(0x88b8).bytes(&[0; 46]).finish(0); // GOOSE
    run_case(&mut s, "goose (other)", &f, XDP_PASS, &[cnt::OTHER]);

    // IPv4 first fragment (MF) still has L4; non-first goes to l4_other.
    let mut f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_UDP, 8)
        .udp(1, 2, 0)
        .finish(0);
    f[20] = 0x20; // flags: MF, offset 0
    run_case(
        &mut s,
        "ipv4 first fragment",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::FRAGMENT, cnt::UDP],
    );
    f[20] = 0x00;
    f[21] = 0xb9; // offset 185
    run_case(
        &mut s,
        "ipv4 last fragment",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::FRAGMENT, cnt::L4_OTHER],
    );
}

#[test]
fn truncated_headers() {
    let Some(mut s) = setup("truncated_headers") else {
        return;
    };
    let src4 = [192, 0, 2, 1];
    let dst4 = [198, 51, 100, 7];
    let tcp4 = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_TCP, 20)
        .tcp(1, 2);

    // The kernel refuses test frames shorter than an Ethernet header.
    assert!(
        s.test_run(&tcp4.clone().truncate(13), 1).is_err(),
        "13-byte frame must be EINVAL"
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(7, ETH_P_IP)
        .truncate(16);
    run_case(
        &mut s,
        "vlan tag cut",
        &f,
        XDP_PASS,
        &[cnt::VLAN, cnt::MALFORMED],
    );

    run_case(
        &mut s,
        "ipv4 cut",
        &tcp4.clone().truncate(14 + 19),
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );

    let mut f = tcp4.clone().finish(0);
    f[14] = 0x4f; // ihl 15 = 60 bytes > what is there
    run_case(
        &mut s,
        "ipv4 ihl beyond end",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );
    f[14] = 0x44; // ihl 4 < 5
    run_case(
        &mut s,
        "ipv4 ihl < 5",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );

    run_case(
        &mut s,
        "tcp cut",
        &tcp4.clone().truncate(14 + 20 + 19),
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );
    let mut f = tcp4.clone().finish(0);
    f[14 + 20 + 12] = 0x60; // doff 6: 24 bytes, only 20 there
    run_case(
        &mut s,
        "tcp doff beyond end",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4(src4, dst4, IPPROTO_UDP, 8)
        .udp(1, 2, 0)
        .truncate(14 + 20 + 7);
    run_case(
        &mut s,
        "udp cut",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::MALFORMED],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_TCP, 20)
        .truncate(14 + 39);
    run_case(
        &mut s,
        "ipv6 cut",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::MALFORMED],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_HOPOPTS, 8)
        .ipv6_opts(IPPROTO_TCP, 0)
        .truncate(14 + 40 + 1);
    run_case(
        &mut s,
        "ipv6 ext header cut",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::MALFORMED],
    );

    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_HOPOPTS, 8)
        .ipv6_opts(IPPROTO_TCP, 3) // claims 32 bytes
        .truncate(14 + 40 + 8);
    run_case(
        &mut s,
        "ipv6 ext header length beyond end",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::MALFORMED],
    );
}

#[test]
fn ioc_hits_send_events() {
    let Some(mut s) = setup("ioc_hits_send_events") else {
        return;
    };
    let ioc4 = u32::from(Ipv4Addr::new(203, 0, 113, 77)); // host bits are cleared
    s.insert_ioc_v4(&[
        (ioc4, 24, 7),
        (u32::from(Ipv4Addr::new(198, 51, 100, 9)), 32, 8),
    ])
    .unwrap();
    s.insert_ioc_v6(&[(v6("2001:db8:1234::"), 48, 42)]).unwrap();
    assert!(s.insert_ioc_v4(&[(0, 33, 1)]).is_err());

    // IPv4 source hit, tagged.
    let f = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(300, ETH_P_IP)
        .ipv4([203, 0, 113, 9], [192, 0, 2, 1], IPPROTO_TCP, 20)
        .tcp(4444, 502)
        .finish(0);
    let t0 = super::monotonic_ns();
    run_case(
        &mut s,
        "v4 src hit",
        &f,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP, cnt::IOC_HIT],
    );
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    let e = ev[0];
    assert!(e.timestamp_ns >= t0 && e.timestamp_ns <= super::monotonic_ns());
    assert_eq!(
        (
            e.indicator,
            e.direction,
            e.prefixlen,
            e.ip_version,
            e.protocol
        ),
        (7, DIR_SRC, 24, 4, IPPROTO_TCP)
    );
    assert_eq!((e.src, e.dst), (v4([203, 0, 113, 9]), v4([192, 0, 2, 1])));
    assert_eq!(
        (e.sport, e.dport, e.vlan_outer, e.vlan_inner, e.rx_queue),
        (4444, 502, 300, 0, 0)
    );
    assert_eq!(e.matched_ip(), IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));

    // IPv4 destination hit.
    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4([192, 0, 2, 1], [203, 0, 113, 200], IPPROTO_UDP, 8)
        .udp(5353, 53, 0)
        .finish(0);
    run_case(
        &mut s,
        "v4 dst hit",
        &f,
        XDP_PASS,
        &[cnt::IPV4, cnt::UDP, cnt::IOC_HIT],
    );
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (
            ev[0].indicator,
            ev[0].direction,
            ev[0].prefixlen,
            ev[0].protocol,
            ev[0].sport,
            ev[0].dport
        ),
        (7, DIR_DST, 24, IPPROTO_UDP, 5353, 53)
    );
    assert_eq!(ev[0].dst_ip(), IpAddr::V4(Ipv4Addr::new(203, 0, 113, 200)));

    // Both ends hit: two events, src first; counted twice.
    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4([198, 51, 100, 9], [203, 0, 113, 1], IPPROTO_ICMP, 8)
        .icmp_echo(false)
        .finish(0);
    s.reset_counters().unwrap();
    assert_eq!(s.test_run(&f, 1).unwrap().action, XDP_PASS);
    let c = s.counters().unwrap();
    assert_eq!(c[cnt::IOC_HIT as usize].packets, 2);
    let ev = events(&mut s);
    assert_eq!(
        ev.iter()
            .map(|e| (e.indicator, e.direction, e.prefixlen))
            .collect::<Vec<_>>(),
        vec![(8, DIR_SRC, 32), (7, DIR_DST, 24)]
    );

    // Miss right next to the /24.
    let f = FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4([203, 0, 114, 1], [203, 0, 112, 255], IPPROTO_TCP, 20)
        .tcp(1, 2)
        .finish(0);
    run_case(&mut s, "v4 miss", &f, XDP_PASS, &[cnt::IPV4, cnt::TCP]);
    assert!(events(&mut s).is_empty());

    // IPv6 destination hit in the /48, behind hop-by-hop.
    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(
            v6("2001:db8::1"),
            v6("2001:db8:1234:ffff::5"),
            IPPROTO_HOPOPTS,
            8 + 20,
        )
        .ipv6_opts(IPPROTO_TCP, 0)
        .tcp(50000, 443)
        .finish(0);
    run_case(
        &mut s,
        "v6 dst hit",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::TCP, cnt::IOC_HIT],
    );
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (
            ev[0].indicator,
            ev[0].direction,
            ev[0].prefixlen,
            ev[0].ip_version,
            ev[0].protocol
        ),
        (42, DIR_DST, 48, 6, IPPROTO_TCP)
    );
    assert_eq!(
        (ev[0].src, ev[0].dst),
        (v6("2001:db8::1"), v6("2001:db8:1234:ffff::5"))
    );
    assert_eq!((ev[0].sport, ev[0].dport), (50000, 443));

    // IPv6 source hit.
    let f = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(
            v6("2001:db8:1234::99"),
            v6("2001:db8:1235::1"),
            IPPROTO_UDP,
            8,
        )
        .udp(123, 123, 0)
        .finish(0);
    run_case(
        &mut s,
        "v6 src hit",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::UDP, cnt::IOC_HIT],
    );
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(
        (ev[0].indicator, ev[0].direction, ev[0].prefixlen),
        (42, DIR_SRC, 48)
    );

    // Removal.
    s.remove_ioc_v6(v6("2001:db8:1234::"), 48).unwrap();
    run_case(
        &mut s,
        "v6 after removal",
        &f,
        XDP_PASS,
        &[cnt::IPV6, cnt::UDP],
    );
    assert!(events(&mut s).is_empty());

    // Short prefixes: the prefilters expand them (v4 /16: 256 /24 bits;
    // v6 /28: 16 hashed /32 buckets; v6 /20: the ALWAYS word).
    assert!(
        s.insert_ioc_v4(&[(0x0a00_0000, 7, 1)]).is_err(),
        "< /8 refused"
    );
    let hit = |s: &mut SensorXdp, f: &[u8]| -> Vec<(u32, u8, u8)> {
        assert_eq!(s.test_run(f, 1).unwrap().action, XDP_PASS);
        events(s)
            .iter()
            .map(|e| (e.indicator, e.direction, e.prefixlen))
            .collect()
    };
    let f4 = |src: [u8; 4]| {
        FrameBuilder::new()
            .eth(ETH_P_IP)
            .ipv4(src, [192, 0, 2, 1], IPPROTO_UDP, 8)
            .udp(1, 2, 0)
            .finish(0)
    };
    let f6 = |src: &str| {
        FrameBuilder::new()
            .eth(ETH_P_IPV6)
            .ipv6(v6(src), v6("2001:db8::1"), IPPROTO_UDP, 8)
            .udp(1, 2, 0)
            .finish(0)
    };
    s.insert_ioc_v4(&[(u32::from(Ipv4Addr::new(172, 16, 0, 0)), 16, 100)])
        .unwrap();
    assert_eq!(
        hit(&mut s, &f4([172, 16, 254, 3])),
        vec![(100, DIR_SRC, 16)]
    );
    assert_eq!(hit(&mut s, &f4([172, 17, 0, 3])), vec![]);
    s.insert_ioc_v6(&[(v6("2a00:1450::"), 28, 200)]).unwrap();
    assert_eq!(
        hit(&mut s, &f6("2a00:145f:ffff::1")),
        vec![(200, DIR_SRC, 28)]
    );
    assert_eq!(hit(&mut s, &f6("2a00:1460::1")), vec![]);
    s.insert_ioc_v6(&[(v6("2c0f:f000::"), 20, 300)]).unwrap();
    assert_eq!(hit(&mut s, &f6("2c0f:ffff:1::1")), vec![(300, DIR_SRC, 20)]);
    // Overlap: the more specific prefix wins; removing it falls back.
    s.insert_ioc_v4(&[(u32::from(Ipv4Addr::new(172, 16, 9, 0)), 24, 101)])
        .unwrap();
    assert_eq!(hit(&mut s, &f4([172, 16, 9, 9])), vec![(101, DIR_SRC, 24)]);
    s.remove_ioc_v4(u32::from(Ipv4Addr::new(172, 16, 9, 0)), 24)
        .unwrap();
    assert_eq!(hit(&mut s, &f4([172, 16, 9, 9])), vec![(100, DIR_SRC, 16)]);
    s.remove_ioc_v4(u32::from(Ipv4Addr::new(172, 16, 0, 0)), 16)
        .unwrap();
    s.remove_ioc_v6(v6("2a00:1450::"), 28).unwrap();
    s.remove_ioc_v6(v6("2c0f:f000::"), 20).unwrap();
    assert_eq!(hit(&mut s, &f4([172, 16, 9, 9])), vec![]);
    assert_eq!(hit(&mut s, &f6("2a00:145f:ffff::1")), vec![]);
    assert_eq!(hit(&mut s, &f6("2c0f:ffff:1::1")), vec![]);
}

#[test]
fn bypassed_flow_is_dropped() {
    let Some(mut s) = setup("bypassed_flow_is_dropped") else {
        return;
    };
    let a = [10, 1, 1, 20];
    let b = [10, 1, 1, 10];
    let key = FlowKey::new(4, IPPROTO_TCP, v4(a), 33000, v4(b), 502, 100, 0);
    s.bypass_insert(&key).unwrap();
    assert_eq!(s.bypass_get(&key).unwrap().map(|v| v.packets), Some(0));

    let fwd = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(100, ETH_P_IP)
        .ipv4(a, b, IPPROTO_TCP, 20)
        .tcp(33000, 502)
        .finish(0);
    let rev = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(100, ETH_P_IP)
        .ipv4(b, a, IPPROTO_TCP, 26)
        .tcp(502, 33000)
        .finish(70);

    let t0 = super::monotonic_ns();
    run_case(
        &mut s,
        "bypass fwd",
        &fwd,
        XDP_DROP,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP, cnt::BYPASS, cnt::ACT_DROP],
    );
    let v = s.bypass_get(&key).unwrap().unwrap();
    assert_eq!((v.packets, v.bytes), (1, fwd.len() as u64));
    assert!(v.last_seen_ns >= t0);

    run_case(
        &mut s,
        "bypass rev",
        &rev,
        XDP_DROP,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP, cnt::BYPASS, cnt::ACT_DROP],
    );
    let v = s.bypass_get(&key).unwrap().unwrap();
    assert_eq!((v.packets, v.bytes), (2, (fwd.len() + rev.len()) as u64));

    // Other VLAN, other port: not bypassed.
    let other_vlan = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(101, ETH_P_IP)
        .ipv4(a, b, IPPROTO_TCP, 20)
        .tcp(33000, 502)
        .finish(0);
    run_case(
        &mut s,
        "other vlan",
        &other_vlan,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP],
    );
    let other_port = FrameBuilder::new()
        .eth(ETH_P_8021Q)
        .vlan(100, ETH_P_IP)
        .ipv4(a, b, IPPROTO_TCP, 20)
        .tcp(33001, 502)
        .finish(0);
    run_case(
        &mut s,
        "other port",
        &other_port,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP],
    );
    assert_eq!(s.bypass_get(&key).unwrap().unwrap().packets, 2);

    // IOC hits still report on bypassed flows (the drop happens after).
    s.insert_ioc_v4(&[(u32::from_be_bytes(b), 32, 5)]).unwrap();
    run_case(
        &mut s,
        "bypass + ioc",
        &fwd,
        XDP_DROP,
        &[
            cnt::VLAN,
            cnt::IPV4,
            cnt::TCP,
            cnt::IOC_HIT,
            cnt::BYPASS,
            cnt::ACT_DROP,
        ],
    );
    let ev = events(&mut s);
    assert_eq!(
        ev.iter()
            .map(|e| (e.indicator, e.direction))
            .collect::<Vec<_>>(),
        vec![(5, DIR_DST)]
    );

    // IPv6 bypass.
    let k6 = FlowKey::from_ips(
        IPPROTO_UDP,
        IpAddr::V6("2001:db8::2".parse().unwrap()),
        53,
        IpAddr::V6("2001:db8::1".parse().unwrap()),
        40000,
        0,
        0,
    )
    .unwrap();
    s.bypass_insert(&k6).unwrap();
    let f6 = FrameBuilder::new()
        .eth(ETH_P_IPV6)
        .ipv6(v6("2001:db8::1"), v6("2001:db8::2"), IPPROTO_UDP, 8)
        .udp(40000, 53, 0)
        .finish(0);
    run_case(
        &mut s,
        "bypass v6",
        &f6,
        XDP_DROP,
        &[cnt::IPV6, cnt::UDP, cnt::BYPASS, cnt::ACT_DROP],
    );

    // Expiry by last_seen.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(s.bypass_expire(Duration::from_secs(60)).unwrap(), 0);
    assert_eq!(s.bypass_expire(Duration::from_millis(10)).unwrap(), 2);
    assert_eq!(s.bypass_get(&key).unwrap(), None);
    run_case(
        &mut s,
        "after expiry",
        &fwd,
        XDP_PASS,
        &[cnt::VLAN, cnt::IPV4, cnt::TCP, cnt::IOC_HIT],
    );

    s.bypass_insert(&key).unwrap();
    s.bypass_remove(&key).unwrap();
    assert_eq!(s.bypass_get(&key).unwrap(), None);
}

#[test]
fn repeat_counts_every_run() {
    let Some(s) = setup("repeat_counts_every_run") else {
        return;
    };
    let f = tcp4_64();
    let r = s.test_run(&f, 1000).unwrap();
    assert_eq!(r.action, XDP_PASS);
    let c = s.counters().unwrap();
    assert_eq!(
        c[cnt::TCP as usize],
        Counter {
            packets: 1000,
            bytes: 64_000
        }
    );
    assert_eq!(c[cnt::ACT_PASS as usize].packets, 1000);
}

/// `cargo test --release -- --ignored --nocapture bench_vs_xdp_pass`
#[test]
#[ignore]
fn bench_vs_xdp_pass() {
    if setup("bench_vs_xdp_pass").is_none() {
        return;
    }
    for (v4, v6) in [(0, 0), (100_000, 10_000)] {
        let r = super::bench::bench_with_prefixes(1_000_000, 9, v4, v6).unwrap();
        eprintln!(
            "sensor_xdp {:.1} ns/pkt (min {:.1}), xdp_pass {:.1} ns/pkt (min {:.1}), ratio {:.2}x \
         ({} v4 + {} v6 prefixes, repeat {}, {} rounds, median)",
            r.sensor_ns,
            r.sensor_min_ns,
            r.pass_ns,
            r.pass_min_ns,
            r.ratio,
            r.v4_prefixes,
            r.v6_prefixes,
            r.repeat,
            r.rounds
        );
    }
}
