// SPDX-License-Identifier: Apache-2.0
/*
 * sensor_xdp: the sensor's XDP fast path (passive: never modifies or
 * transmits a packet; returns only XDP_PASS, XDP_DROP or XDP_REDIRECT).
 *
 * Per packet:
 *   Ethernet -> up to 2 VLAN tags (0x8100, 0x88a8, 0x9100)
 *   -> IPv4 | IPv6 (+ up to SENSOR_V6_MAX_EXT extension headers:
 *      hop-by-hop, routing, destination options, fragment, AH) | ARP
 *   -> TCP | UDP | ICMP/ICMPv6
 *   1. per-CPU counters by protocol class (see sensor_maps.h);
 *   2. source and destination address looked up in the ioc_v4/ioc_v6 LPM
 *      tries; each hit is counted and reported through the ioc_events ring;
 *   3. flows present in `bypass` (normalised 5-tuple + VLAN) are counted
 *      there and dropped (userspace no longer needs them);
 *   4. everything else goes to the AF_XDP socket bound to this interface's
 *      rx queue in `xsks` (slot xsk_base[ifindex] + rx queue), or XDP_PASS
 *      when none is bound.
 *
 * Built by sensor/build.rs: clang -O2 -g -target bpf
 *   -I/usr/include/x86_64-linux-gnu -I ebpf/include -c sensor_xdp.c
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sensor_maps.h"

#define SENSOR_MAX_VLAN    2
#define SENSOR_V6_MAX_EXT  4
#define ETH_P_QINQ_9100    0x9100

/* ---------------------------------------------------------------- maps -- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENSOR_CNT_MAX);
	__type(key, __u32);
	__type(value, struct counter);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SENSOR_IOC_V4_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ioc_v4_key);
	__type(value, struct ioc_value);
} ioc_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SENSOR_IOC_V6_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ioc_v6_key);
	__type(value, struct ioc_value);
} ioc_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENSOR_IOC_V4_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} ioc_v4_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENSOR_IOC_V6_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} ioc_v6_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENSOR_BYPASS_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} bypass_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SENSOR_RINGBUF_BYTES);
} ioc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SENSOR_BYPASS_MAX);
	__type(key, struct flow_key);
	__type(value, struct bypass_value);
} bypass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SENSOR_XSKS_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENSOR_XSK_IFINDEX_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsk_base SEC(".maps");

/* ------------------------------------------------------------- helpers -- */

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct v6_frag_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;
	__be32 identification;
};

/* What the parser learned about one packet. */
struct pkt {
	__u32 src[4];        /* network byte order; v4 uses src[0] */
	__u32 dst[4];
	__u16 sport;         /* host byte order */
	__u16 dport;
	__u16 vlan_outer;
	__u16 vlan_inner;
	__u8  ip_version;    /* 0: not IP (or IP header invalid) */
	__u8  protocol;
	__u8  l4_ok;         /* the 5-tuple is complete (bypass may apply) */
	__u8  _pad;
};

static __always_inline void count(__u32 idx, __u64 bytes)
{
	struct counter *c = bpf_map_lookup_elem(&counters, &idx);

	if (c) {
		c->packets += 1;
		c->bytes += bytes;
	}
}

/* Tests bit `bit` of bitmap array `map`. */
static __always_inline int filter_test(void *map, __u32 bit)
{
	__u32 word = bit >> 6;
	__u64 *w = bpf_map_lookup_elem(map, &word);

	return w && (*w & (1ull << (bit & 63)));
}

/* Hashed /32 bucket of an IPv6 address (first word, network order). */
static __always_inline __u32 sensor_v6_bucket(__u32 first_word_be)
{
	return (bpf_ntohl(first_word_be) * SENSOR_HASH_MUL) >> (32 - SENSOR_IOC_V6_FILTER_LOG2);
}

static __always_inline int v6_maybe(__u32 first_word_be)
{
	__u32 always = SENSOR_IOC_V6_FILTER_ALWAYS;
	__u64 *w = bpf_map_lookup_elem(&ioc_v6_filter, &always);

	if (w && *w)
		return 1;
	return filter_test(&ioc_v6_filter, sensor_v6_bucket(first_word_be));
}

static __always_inline void ioc_report(struct xdp_md *ctx, const struct pkt *p,
				       const struct ioc_value *v, __u8 dir, __u64 len)
{
	struct ioc_event *e;

	count(SENSOR_CNT_IOC_HIT, len);
	e = bpf_ringbuf_reserve(&ioc_events, sizeof(*e), 0);
	if (!e) {
		count(SENSOR_CNT_IOC_EV_LOST, len);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_ns();
	e->indicator = v->indicator;
	e->direction = dir;
	e->prefixlen = v->prefixlen;
	e->ip_version = p->ip_version;
	e->protocol = p->protocol;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->vlan_outer = p->vlan_outer;
	e->vlan_inner = p->vlan_inner;
	e->ifindex = ctx->ingress_ifindex;
	e->rx_queue = ctx->rx_queue_index;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void ioc_lookup(struct xdp_md *ctx, const struct pkt *p, __u64 len)
{
	struct ioc_value *v;

	if (p->ip_version == 4) {
		struct ioc_v4_key k = { .prefixlen = 32 };

		if (filter_test(&ioc_v4_filter, bpf_ntohl(p->src[0]) >> 8)) {
			__builtin_memcpy(k.addr, &p->src[0], 4);
			v = bpf_map_lookup_elem(&ioc_v4, &k);
			if (v)
				ioc_report(ctx, p, v, SENSOR_DIR_SRC, len);
		}
		if (filter_test(&ioc_v4_filter, bpf_ntohl(p->dst[0]) >> 8)) {
			__builtin_memcpy(k.addr, &p->dst[0], 4);
			v = bpf_map_lookup_elem(&ioc_v4, &k);
			if (v)
				ioc_report(ctx, p, v, SENSOR_DIR_DST, len);
		}
	} else if (p->ip_version == 6) {
		struct ioc_v6_key k = { .prefixlen = 128 };

		if (v6_maybe(p->src[0])) {
			__builtin_memcpy(k.addr, p->src, 16);
			v = bpf_map_lookup_elem(&ioc_v6, &k);
			if (v)
				ioc_report(ctx, p, v, SENSOR_DIR_SRC, len);
		}
		if (v6_maybe(p->dst[0])) {
			__builtin_memcpy(k.addr, p->dst, 16);
			v = bpf_map_lookup_elem(&ioc_v6, &k);
			if (v)
				ioc_report(ctx, p, v, SENSOR_DIR_DST, len);
		}
	}
}

/* <0, 0, >0 like memcmp of (addr, port) with addresses compared bytewise in
 * network order (== word-wise after ntohl) and ports numerically. */
static __always_inline int endpoint_cmp(const struct pkt *p)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 a = bpf_ntohl(p->src[i]), b = bpf_ntohl(p->dst[i]);

		if (a != b)
			return a < b ? -1 : 1;
	}
	if (p->sport != p->dport)
		return p->sport < p->dport ? -1 : 1;
	return 0;
}

/* Bucket of a flow in bypass_filter: symmetric in the two endpoints (XOR of
 * the address words as loaded from the packet, i.e. little-endian, and of
 * the host-order ports), so it needs no normalisation. Rust mirror:
 * FlowKey::filter_bucket. */
static __always_inline __u32 sensor_flow_bucket(const struct pkt *p)
{
	__u32 h = p->src[0] ^ p->src[1] ^ p->src[2] ^ p->src[3] ^
		  p->dst[0] ^ p->dst[1] ^ p->dst[2] ^ p->dst[3];

	h ^= (__u32)(p->sport ^ p->dport);
	h ^= ((__u32)p->vlan_outer << 16 | p->vlan_inner) ^ ((__u32)p->protocol << 8);
	return (h * SENSOR_HASH_MUL) >> (32 - SENSOR_BYPASS_FILTER_LOG2);
}

/* Returns 1 if the packet belongs to a bypassed flow (entry updated). */
static __always_inline int bypass_lookup(const struct pkt *p, __u64 len)
{
	struct flow_key k = {};
	struct bypass_value *v;

	if (!filter_test(&bypass_filter, sensor_flow_bucket(p)))
		return 0;

	if (endpoint_cmp(p) <= 0) {
		__builtin_memcpy(k.addr_a, p->src, 16);
		__builtin_memcpy(k.addr_b, p->dst, 16);
		k.port_a = p->sport;
		k.port_b = p->dport;
	} else {
		__builtin_memcpy(k.addr_a, p->dst, 16);
		__builtin_memcpy(k.addr_b, p->src, 16);
		k.port_a = p->dport;
		k.port_b = p->sport;
	}
	k.vlan_outer = p->vlan_outer;
	k.vlan_inner = p->vlan_inner;
	k.protocol = p->protocol;
	k.ip_version = p->ip_version;

	v = bpf_map_lookup_elem(&bypass, &k);
	if (!v)
		return 0;
	v->last_seen_ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	return 1;
}

static __always_inline int is_vlan_tpid(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD) ||
	       proto == bpf_htons(ETH_P_QINQ_9100);
}

/* Parses L4 at `l4`; fills ports and l4_ok, bumps the L4 class counter. */
static __always_inline void parse_l4(struct pkt *p, void *l4, void *data_end, __u64 len)
{
	switch (p->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			goto malformed;
		doff = th->doff;
		if (doff < 5 || (void *)th + doff * 4 > data_end)
			goto malformed;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->l4_ok = 1;
		count(SENSOR_CNT_TCP, len);
		return;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			goto malformed;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->l4_ok = 1;
		count(SENSOR_CNT_UDP, len);
		return;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* type, code, checksum, 4 bytes rest-of-header */
		if (l4 + 8 > data_end)
			goto malformed;
		p->l4_ok = 1;
		count(SENSOR_CNT_ICMP, len);
		return;
	default:
		p->l4_ok = 1; /* protocol-only flow key, ports 0 */
		count(SENSOR_CNT_L4_OTHER, len);
		return;
	}
malformed:
	count(SENSOR_CNT_MALFORMED, len);
}

/* ---------------------------------------------------------------- main -- */

SEC("xdp")
int sensor_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct pkt p = {};
	struct ethhdr *eth = data;
	void *cur;
	__be16 proto;
	long action;

	if ((void *)(eth + 1) > data_end) {
		count(SENSOR_CNT_MALFORMED, len);
		goto out;
	}
	proto = eth->h_proto;
	cur = eth + 1;

	if (is_vlan_tpid(proto)) {
		count(SENSOR_CNT_VLAN, len);
#pragma unroll
		for (int i = 0; i < SENSOR_MAX_VLAN; i++) {
			struct vlan_hdr *vh = cur;

			if (!is_vlan_tpid(proto))
				break;
			if ((void *)(vh + 1) > data_end) {
				count(SENSOR_CNT_MALFORMED, len);
				goto out;
			}
			if (i == 0)
				p.vlan_outer = bpf_ntohs(vh->tci) & 0x0fff;
			else
				p.vlan_inner = bpf_ntohs(vh->tci) & 0x0fff;
			proto = vh->proto;
			cur = vh + 1;
		}
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = cur;
		__u32 hlen;
		__u16 frag;

		count(SENSOR_CNT_IPV4, len);
		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5) {
			count(SENSOR_CNT_MALFORMED, len);
			goto out;
		}
		hlen = iph->ihl * 4;
		if (cur + hlen > data_end) {
			count(SENSOR_CNT_MALFORMED, len);
			goto out;
		}
		p.ip_version = 4;
		p.protocol = iph->protocol;
		p.src[0] = iph->saddr;
		p.dst[0] = iph->daddr;
		frag = bpf_ntohs(iph->frag_off);
		if (frag & 0x3fff) { /* MF or offset */
			count(SENSOR_CNT_FRAGMENT, len);
			if (frag & 0x1fff) {
				count(SENSOR_CNT_L4_OTHER, len);
				goto lookups;
			}
		}
		parse_l4(&p, cur + hlen, data_end, len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;
		void *l4;
		__u8 nh;
		int done = 0;

		count(SENSOR_CNT_IPV6, len);
		if ((void *)(ip6 + 1) > data_end || ip6->version != 6) {
			count(SENSOR_CNT_MALFORMED, len);
			goto out;
		}
		p.ip_version = 6;
		__builtin_memcpy(p.src, &ip6->saddr, 16);
		__builtin_memcpy(p.dst, &ip6->daddr, 16);
		nh = ip6->nexthdr;
		l4 = ip6 + 1;
#pragma unroll
		for (int i = 0; i < SENSOR_V6_MAX_EXT; i++) {
			if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
			    nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH) {
				struct ipv6_opt_hdr *eh = l4;
				__u32 elen;

				if ((void *)(eh + 1) > data_end) {
					p.protocol = nh;
					count(SENSOR_CNT_MALFORMED, len);
					goto lookups;
				}
				elen = nh == IPPROTO_AH ? ((__u32)eh->hdrlen + 2) * 4
							: ((__u32)eh->hdrlen + 1) * 8;
				nh = eh->nexthdr;
				l4 += elen;
			} else if (nh == IPPROTO_FRAGMENT) {
				struct v6_frag_hdr *fh = l4;

				if ((void *)(fh + 1) > data_end) {
					p.protocol = nh;
					count(SENSOR_CNT_MALFORMED, len);
					goto lookups;
				}
				count(SENSOR_CNT_FRAGMENT, len);
				nh = fh->nexthdr;
				l4 = fh + 1;
				if (bpf_ntohs(fh->frag_off) & 0xfff8) {
					/* non-first fragment: no L4 header here */
					p.protocol = nh;
					count(SENSOR_CNT_L4_OTHER, len);
					goto lookups;
				}
			} else {
				done = 1;
				break;
			}
		}
		p.protocol = nh;
		if (!done && (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
			      nh == IPPROTO_DSTOPTS || nh == IPPROTO_AH ||
			      nh == IPPROTO_FRAGMENT)) {
			/* more extension headers than we walk */
			count(SENSOR_CNT_L4_OTHER, len);
			goto lookups;
		}
		parse_l4(&p, l4, data_end, len);
	} else if (proto == bpf_htons(ETH_P_ARP)) {
		count(SENSOR_CNT_ARP, len);
		goto out;
	} else {
		count(SENSOR_CNT_OTHER, len);
		goto out;
	}

lookups:
	ioc_lookup(ctx, &p, len);
	if (p.l4_ok && bypass_lookup(&p, len)) {
		count(SENSOR_CNT_BYPASS, len);
		count(SENSOR_CNT_ACT_DROP, len);
		return XDP_DROP;
	}

out:
	{
		__u32 ifi = ctx->ingress_ifindex;
		__u32 slot = ctx->rx_queue_index;
		__u32 *base = bpf_map_lookup_elem(&xsk_base, &ifi);

		if (base)
			slot += *base;
		action = bpf_redirect_map(&xsks, slot, XDP_PASS);
	}
	if (action == XDP_REDIRECT) {
		count(SENSOR_CNT_ACT_REDIRECT, len);
	} else {
		count(SENSOR_CNT_ACT_PASS, len);
		count(SENSOR_CNT_ACT_REDIRECT_FAILED, len);
	}
	return (int)action;
}

/*
 * Never called, never loaded: its signature makes clang emit BTF for every
 * shared type (BTF only covers types reachable from maps, globals and
 * function signatures), so userspace can check its #[repr(C)] mirrors
 * against the object (test `btf_layout_matches`).
 */
struct sensor_btf_types {
	struct counter       counter;
	struct ioc_v4_key    ioc_v4_key;
	struct ioc_v6_key    ioc_v6_key;
	struct ioc_value     ioc_value;
	struct ioc_event     ioc_event;
	struct flow_key      flow_key;
	struct bypass_value  bypass_value;
};

__attribute__((noinline, used)) int sensor_btf_anchor(struct sensor_btf_types *t)
{
	return 0;
}

char LICENSE[] SEC("license") = "Apache-2.0";
