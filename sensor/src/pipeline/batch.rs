//! What crosses from the capture thread to a worker: a batch of packet
//! references into shared memory (the capture file's map) or into the
//! batch's own buffer (reassembled datagrams, live frames).

use std::sync::Arc;
use std::time::Instant;

use memmap2::Mmap;

use crate::decode::LinkType;

/// One packet of a batch.
#[derive(Clone, Copy, Debug)]
pub struct Pkt {
    /// Offset of the packet bytes in the shared map, or in `Batch::owned`.
    pub off: usize,
    pub len: u32,
    pub ts_ns: u64,
    /// The capture clock at this packet: the latest timestamp read so far,
    /// this packet's included (replay); the packet's own time (live). It
    /// never goes back, even when a capture's timestamps do, so replay's OT
    /// stage can order operations by it (see `detect::ot`).
    pub clock_ns: u64,
    /// 1-based packet number in the input (EVE `pcap_cnt`).
    pub pcap_cnt: u64,
    pub link: LinkType,
    /// Bytes live in `Batch::owned` (live frames, reassembled datagrams).
    pub owned: bool,
    /// The bytes are a reassembled IP datagram, not a frame of `link`;
    /// `vlan` carries the tags of the frames it was reassembled from.
    pub reassembled: bool,
    pub vlan: [u16; 2],
    pub vlan_count: u8,
}

/// A batch of packets for one worker.
pub struct Batch {
    pub shared: Option<Arc<Mmap>>,
    pub owned: Vec<u8>,
    pub pkts: Vec<Pkt>,
    /// When the first packet of the batch was read (alert latency).
    pub read_at: Instant,
    /// Live capture: the capture clock (ns) when the batch was sent. An
    /// empty batch carrying it lets a worker age its flows on a quiet link.
    pub tick_ns: u64,
}

impl Batch {
    pub fn new(shared: Option<Arc<Mmap>>, cap: usize) -> Batch {
        Batch {
            shared,
            owned: Vec::new(),
            pkts: Vec::with_capacity(cap),
            read_at: Instant::now(),
            tick_ns: 0,
        }
    }

    /// The bytes of packet `p` of this batch.
    #[inline]
    pub fn data(&self, p: &Pkt) -> &[u8] {
        let src: &[u8] = if p.owned {
            &self.owned
        } else {
            match &self.shared {
                Some(m) => m,
                None => &[],
            }
        };
        src.get(p.off..p.off + p.len as usize).unwrap_or(&[])
    }
}
