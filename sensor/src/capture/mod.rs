//! Packet sources. Replay reads pcap/pcapng files; live capture (AF_XDP,
//! AF_PACKET, libpcap) feeds the same worker rings.

pub mod afpacket;
pub mod file;
pub mod libpcap;
pub mod offload;
pub mod xdp;
pub mod xsk;
