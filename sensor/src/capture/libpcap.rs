//! libpcap capture (`--capture pcap`), for interfaces that neither AF_XDP
//! nor the AF_PACKET ring handle well (odd link types, tunnels, USB,
//! vendor drivers). Slower than the other two: one copy per packet through
//! libpcap's own buffer. Uses the `pcap` crate (bindings to Debian's
//! libpcap).

use std::io;
use std::time::Duration;

use crate::decode::LinkType;

/// An open libpcap live capture.
pub struct PcapSource {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    last_drop: u32,
    last_ifdrop: u32,
}

/// libpcap counters since the last call (see [`PcapSource::drops`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PcapDrops {
    /// Dropped because libpcap's buffer was full.
    pub buffer: u64,
    /// Dropped by the interface or driver.
    pub interface: u64,
}

impl PcapSource {
    /// Opens `iface` in promiscuous mode with a `buffer_mib` kernel buffer.
    pub fn open(iface: &str, buffer_mib: u32, promiscuous: bool) -> anyhow::Result<PcapSource> {
        let cap = pcap::Capture::from_device(iface)
            .and_then(|c| {
                c.promisc(promiscuous)
                    .snaplen(65535)
                    .buffer_size((buffer_mib.max(1) as i32).saturating_mul(1 << 20))
                    .timeout(100)
                    .immediate_mode(false)
                    .open()
            })
            .map_err(|e| anyhow::anyhow!("libpcap cannot open {iface}: {e}"))?;
        let dl = cap.get_datalink();
        let link =
            LinkType::from_dlt(u32::try_from(dl.0).unwrap_or(u32::MAX)).ok_or_else(|| {
                anyhow::anyhow!(
                    "libpcap: {iface} has link type {} ({}), which the sensor does not decode",
                    dl.0,
                    dl.get_name().unwrap_or_else(|_| "unknown".into())
                )
            })?;
        let cap = cap
            .setnonblock()
            .map_err(|e| anyhow::anyhow!("libpcap: {iface}: {e}"))?;
        Ok(PcapSource {
            cap,
            link,
            last_drop: 0,
            last_ifdrop: 0,
        })
    }

    /// Link type of the captured frames.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Reads what is ready (waiting up to `timeout` when nothing is) and
    /// calls `f(frame, ts_ns)` for each packet.
    pub fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&[u8], u64)) -> io::Result<usize> {
        let mut n = 0;
        loop {
            match self.cap.next_packet() {
                Ok(p) => {
                    let ts = p.header.ts;
                    let ts_ns = (ts.tv_sec as u64)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(ts.tv_usec as u64 * 1000);
                    f(p.data, ts_ns);
                    n += 1;
                    if n >= 4096 {
                        return Ok(n);
                    }
                }
                Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                    if n > 0 {
                        return Ok(n);
                    }
                    // Non-blocking: wait for readability on the pcap fd.
                    let fd = self.cap.as_raw_fd();
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
                    // SAFETY: one valid pollfd.
                    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
                    if rc <= 0 {
                        return Ok(0);
                    }
                    if ms == 0 {
                        return Ok(0);
                    }
                    // Readable: one more round, then return whatever came.
                    match self.cap.next_packet() {
                        Ok(p) => {
                            let ts = p.header.ts;
                            let ts_ns = (ts.tv_sec as u64)
                                .saturating_mul(1_000_000_000)
                                .saturating_add(ts.tv_usec as u64 * 1000);
                            f(p.data, ts_ns);
                            n += 1;
                        }
                        Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                            return Ok(0)
                        }
                        Err(e) => return Err(io::Error::other(e.to_string())),
                    }
                }
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
    }

    /// Drops since the previous call (libpcap's counters are cumulative and
    /// 32-bit; wrap-around is handled).
    pub fn drops(&mut self) -> io::Result<PcapDrops> {
        let st = self
            .cap
            .stats()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let d = PcapDrops {
            buffer: u64::from(st.dropped.wrapping_sub(self.last_drop)),
            interface: u64::from(st.if_dropped.wrapping_sub(self.last_ifdrop)),
        };
        self.last_drop = st.dropped;
        self.last_ifdrop = st.if_dropped;
        Ok(d)
    }
}

use std::os::fd::AsRawFd;
