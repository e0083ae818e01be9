/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map key/value types shared between the XDP program (ebpf/sensor_xdp.c) and
 * userspace (sensor/src/capture/xdp/maps.rs mirrors them as #[repr(C)]).
 *
 * Rules for this file:
 *  - fixed-width types only, natural alignment, every padding byte explicit;
 *  - every struct here appears in the object's BTF (see SENSOR_BTF_ANCHOR in
 *    sensor_xdp.c) and the Rust test `btf_layout_matches` checks size and
 *    field offsets of each against the Rust mirror; change both together.
 */
#ifndef SENSOR_MAPS_H
#define SENSOR_MAPS_H

#include <linux/types.h>

/* ---- counters: BPF_MAP_TYPE_PERCPU_ARRAY, value struct counter ---------- */
/* Protocol classes. A packet bumps at most one L2/L3 class (OTHER, IPV4,
 * IPV6, ARP), VLAN if it carried >= 1 tag, at most one L4 class (TCP, UDP,
 * ICMP, L4_OTHER) and MALFORMED if a header it needed was truncated/invalid. */
#define SENSOR_CNT_OTHER          0  /* ethertype not IPv4/IPv6/ARP (after VLAN tags) */
#define SENSOR_CNT_IPV4           1
#define SENSOR_CNT_IPV6           2
#define SENSOR_CNT_TCP            3
#define SENSOR_CNT_UDP            4
#define SENSOR_CNT_ICMP           5  /* ICMP and ICMPv6 */
#define SENSOR_CNT_ARP            6
#define SENSOR_CNT_VLAN           7  /* packet had 1 or 2 VLAN tags */
#define SENSOR_CNT_MALFORMED      8  /* truncated or invalid L2/L3/L4 header */
#define SENSOR_CNT_L4_OTHER       9  /* other IP protocol, non-first fragment, too many v6 ext headers */
#define SENSOR_CNT_FRAGMENT      10  /* IPv4 or IPv6 fragment (first or not) */
#define SENSOR_CNT_IOC_HIT       11  /* one per matching address (src and dst count separately) */
#define SENSOR_CNT_IOC_EV_LOST   12  /* IOC hit whose ring buffer event could not be reserved */
#define SENSOR_CNT_BYPASS        13  /* packet of a bypassed flow (dropped) */
/* Per returned XDP action (their sum is the total packets/bytes seen). */
#define SENSOR_CNT_ACT_PASS      16
#define SENSOR_CNT_ACT_DROP      17
#define SENSOR_CNT_ACT_REDIRECT  18
/* bpf_redirect_map() found no AF_XDP socket for the rx queue and fell back
 * to XDP_PASS (also counted in ACT_PASS). Failures after XDP_REDIRECT (full
 * XSK ring) are reported by the kernel (xdp:xdp_redirect_err tracepoint). */
#define SENSOR_CNT_ACT_REDIRECT_FAILED 19
#define SENSOR_CNT_MAX           32  /* max_entries of `counters` */

struct counter {
	__u64 packets;
	__u64 bytes;
};

/* ---- ioc_v4 / ioc_v6: BPF_MAP_TYPE_LPM_TRIE ---------------------------- */
struct ioc_v4_key {
	__u32 prefixlen;  /* 0..32 */
	__u8  addr[4];    /* network byte order */
};

struct ioc_v6_key {
	__u32 prefixlen;  /* 0..128 */
	__u8  addr[16];   /* network byte order */
};

/* An LPM lookup returns only the value, so the value carries the prefix
 * length of the stored entry for the event. */
struct ioc_value {
	__u32 indicator;  /* index into userspace's indicator table */
	__u8  prefixlen;  /* same as the key's prefixlen */
	__u8  _pad[3];
};

#define SENSOR_IOC_V4_MAX  262144
#define SENSOR_IOC_V6_MAX  65536

/* ---- prefilters: BPF_MAP_TYPE_ARRAY of __u64 bitmap words -------------- */
/* An LPM trie / LRU hash lookup costs far more than an (inlined) array
 * lookup, and almost every packet misses, so each is guarded by a bitmap
 * that userspace keeps a superset of the map's contents (false positives
 * only cost the real lookup). Userspace sets bits before inserting and
 * clears them after removing.
 *
 * ioc_v4_filter: bit (addr >> 8), i.e. one bit per /24, set when a prefix
 *   covers any address of that /24 (prefixes shorter than /24 set all
 *   their /24s).
 * ioc_v6_filter: bit sensor_v6_bucket(top 32 bits), one bit per hashed /32;
 *   prefixes /24../31 set all their /32 buckets; if a prefix shorter than
 *   /24 is present, word SENSOR_IOC_V6_FILTER_ALWAYS is non-zero and every
 *   IPv6 address is looked up.
 * bypass_filter: bit sensor_flow_bucket(flow), see sensor_xdp.c. */
#define SENSOR_IOC_V4_FILTER_WORDS   (1u << 18)          /* 2^24 bits */
#define SENSOR_IOC_V6_FILTER_LOG2    20                  /* 2^20 bits */
#define SENSOR_IOC_V6_FILTER_ALWAYS  (1u << (SENSOR_IOC_V6_FILTER_LOG2 - 6))
#define SENSOR_IOC_V6_FILTER_WORDS   (SENSOR_IOC_V6_FILTER_ALWAYS + 1)
#define SENSOR_BYPASS_FILTER_LOG2    20
#define SENSOR_BYPASS_FILTER_WORDS   (1u << (SENSOR_BYPASS_FILTER_LOG2 - 6))
#define SENSOR_HASH_MUL              0x9e3779b1u  /* Fibonacci hashing */

/* ---- ioc_events: BPF_MAP_TYPE_RINGBUF of struct ioc_event -------------- */
#define SENSOR_DIR_SRC 1  /* the source address matched */
#define SENSOR_DIR_DST 2  /* the destination address matched */

struct ioc_event {
	__u64 timestamp_ns;  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 indicator;
	__u8  direction;     /* SENSOR_DIR_* */
	__u8  prefixlen;     /* of the matching entry */
	__u8  ip_version;    /* 4 or 6 */
	__u8  protocol;      /* IPPROTO_*, 0 if L4 not reached */
	__u8  src[16];       /* v4: first 4 bytes, rest 0; network byte order */
	__u8  dst[16];
	__u16 sport;         /* host byte order; 0 if no ports (ICMP, fragments, malformed L4) */
	__u16 dport;
	__u16 vlan_outer;    /* VLAN id (12 bits) of the outer tag, 0 if none */
	__u16 vlan_inner;    /* VLAN id of the second tag, 0 if none */
	__u32 ifindex;
	__u32 rx_queue;
};

#define SENSOR_RINGBUF_BYTES (256 * 1024)

/* ---- bypass: BPF_MAP_TYPE_LRU_HASH flow_key -> bypass_value ------------ */
/* Normalised 5-tuple + VLAN: endpoint "a" is the smaller of the two
 * (address compared bytewise in network order, then port), so both
 * directions of a flow map to one key. */
struct flow_key {
	__u8  addr_a[16];    /* v4: first 4 bytes, rest 0; network byte order */
	__u8  addr_b[16];
	__u16 port_a;        /* host byte order; 0 for ICMP / no ports */
	__u16 port_b;
	__u16 vlan_outer;
	__u16 vlan_inner;
	__u8  protocol;      /* IPPROTO_* */
	__u8  ip_version;    /* 4 or 6 */
	__u8  _pad[2];
};

struct bypass_value {
	__u64 last_seen_ns;  /* bpf_ktime_get_ns() of the last packet */
	__u64 packets;       /* packets dropped under this entry */
	__u64 bytes;
};

#define SENSOR_BYPASS_MAX 65536

/* ---- xsks: BPF_MAP_TYPE_XSKMAP indexed by xsk_base[ifindex] + rx queue -- */
/* One program serves every monitored interface; each gets a block of
 * SENSOR_XSK_QUEUES slots (queue ids 0..63). xsk_base: ARRAY indexed by
 * ifindex -> first slot of the interface's block (0 when unset). */
#define SENSOR_XSK_QUEUES        64
#define SENSOR_XSK_IFACES        16
#define SENSOR_XSKS_MAX          (SENSOR_XSK_QUEUES * SENSOR_XSK_IFACES)
#define SENSOR_XSK_IFINDEX_MAX   4096

#endif /* SENSOR_MAPS_H */
