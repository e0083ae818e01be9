//! Builders of test frames for `BPF_PROG_TEST_RUN` (tests and benchmark).
//! Checksums are left zero: the XDP program does not verify them.

/// Frame builder: push headers in order, then `finish` (pads to `min_len`).
#[derive(Default, Clone, Debug)]
pub struct FrameBuilder {
    buf: Vec<u8>,
}

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;
pub const ETH_P_QINQ_9100: u16 = 0x9100;
pub const IPPROTO_HOPOPTS: u8 = 0;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ROUTING: u8 = 43;
pub const IPPROTO_FRAGMENT: u8 = 44;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_DSTOPTS: u8 = 60;

impl FrameBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ethernet header with `ethertype` (for a VLAN-tagged frame pass the TPID).
    pub fn eth(mut self, ethertype: u16) -> Self {
        self.buf
            .extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]);
        self.buf.extend_from_slice(&ethertype.to_be_bytes());
        self
    }

    /// A VLAN tag (TCI with `vid`, then the next ethertype).
    pub fn vlan(mut self, vid: u16, next: u16) -> Self {
        self.buf.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
        self.buf.extend_from_slice(&next.to_be_bytes());
        self
    }

    /// IPv4 header without options; `payload_len` sets total length.
    pub fn ipv4(mut self, src: [u8; 4], dst: [u8; 4], proto: u8, payload_len: u16) -> Self {
        let total = 20 + payload_len;
        self.buf.extend_from_slice(&[0x45, 0]);
        self.buf.extend_from_slice(&total.to_be_bytes());
        self.buf
            .extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        self.buf.extend_from_slice(&src);
        self.buf.extend_from_slice(&dst);
        self
    }

    /// IPv6 fixed header.
    pub fn ipv6(mut self, src: [u8; 16], dst: [u8; 16], next: u8, payload_len: u16) -> Self {
        self.buf.extend_from_slice(&[0x60, 0, 0, 0]);
        self.buf.extend_from_slice(&payload_len.to_be_bytes());
        self.buf.extend_from_slice(&[next, 64]);
        self.buf.extend_from_slice(&src);
        self.buf.extend_from_slice(&dst);
        self
    }

    /// A hop-by-hop / routing / destination-options header of
    /// `(hdrlen + 1) * 8` bytes (PadN filled).
    pub fn ipv6_opts(mut self, next: u8, hdrlen: u8) -> Self {
        let total = (usize::from(hdrlen) + 1) * 8;
        self.buf
            .extend_from_slice(&[next, hdrlen, 1, (total - 4) as u8]);
        self.buf.resize(self.buf.len() + total - 4, 0);
        self
    }

    /// An IPv6 fragment header (offset in 8-byte units).
    pub fn ipv6_frag(mut self, next: u8, offset: u16, more: bool) -> Self {
        let fo = (offset << 3) | u16::from(more);
        self.buf.extend_from_slice(&[next, 0]);
        self.buf.extend_from_slice(&fo.to_be_bytes());
        self.buf.extend_from_slice(&[0, 0, 0, 1]);
        self
    }

    /// TCP header without options (SYN).
    pub fn tcp(mut self, sport: u16, dport: u16) -> Self {
        self.buf.extend_from_slice(&sport.to_be_bytes());
        self.buf.extend_from_slice(&dport.to_be_bytes());
        self.buf
            .extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        self
    }

    pub fn udp(mut self, sport: u16, dport: u16, payload_len: u16) -> Self {
        self.buf.extend_from_slice(&sport.to_be_bytes());
        self.buf.extend_from_slice(&dport.to_be_bytes());
        self.buf.extend_from_slice(&(8 + payload_len).to_be_bytes());
        self.buf.extend_from_slice(&[0, 0]);
        self
    }

    /// ICMP / ICMPv6 echo request header (8 bytes).
    pub fn icmp_echo(mut self, v6: bool) -> Self {
        self.buf
            .extend_from_slice(&[if v6 { 128 } else { 8 }, 0, 0, 0, 0, 1, 0, 1]);
        self
    }

    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// The frame, zero-padded to at least `min_len` bytes.
    pub fn finish(mut self, min_len: usize) -> Vec<u8> {
        if self.buf.len() < min_len {
            self.buf.resize(min_len, 0);
        }
        self.buf
    }

    /// The frame cut to `len` bytes (truncated headers).
    pub fn truncate(mut self, len: usize) -> Vec<u8> {
        self.buf.truncate(len);
        self.buf
    }
}

/// The 64-byte TCP/IPv4 frame of the benchmark: 192.0.2.1:40000 -> 198.51.100.7:502.
pub fn tcp4_64() -> Vec<u8> {
    FrameBuilder::new()
        .eth(ETH_P_IP)
        .ipv4([192, 0, 2, 1], [198, 51, 100, 7], IPPROTO_TCP, 30)
        .tcp(40000, 502)
        .finish(64)
}
