//! Per-flow DNS state: TCP reassembly of 2-byte length-prefixed messages
//! and the one-datagram UDP path.

use super::event::DnsEvent;
use super::parser::{parse_header, parse_message, DnsError, HEADER_LEN};
use super::{probe_tcp, Probe};

/// Largest buffered TCP record: 2-byte prefix + 65535-byte message.
pub const MAX_TCP_BUFFER: usize = 2 + 65535;

/// Parse one UDP datagram into an event.
///
/// `to_server` picks the event `type` (`request`/`response`) the way
/// Suricata does (by direction). A QR=1 message sent to the server is
/// rejected with [`DnsError::NotRequest`], like Suricata's request parser.
pub fn udp_event(payload: &[u8], to_server: bool) -> Result<DnsEvent, DnsError> {
    message_event(payload, to_server)
}

fn message_event(msg: &[u8], to_server: bool) -> Result<DnsEvent, DnsError> {
    let header = parse_header(msg)?;
    if !header.plausible(msg.len()) {
        return Err(DnsError::InvalidHeader);
    }
    if to_server && header.qr() {
        return Err(DnsError::NotRequest);
    }
    let m = parse_message(msg)?;
    Ok(DnsEvent::from_message(&m, !to_server))
}

/// One direction of a DNS-over-TCP stream.
#[derive(Debug, Default)]
struct Dir {
    buf: Vec<u8>,
    /// After a gap: drop data until it probes as DNS again.
    resync: bool,
}

/// Per-flow DNS-over-TCP state (RFC 1035 §4.2.2 / RFC 7766 framing).
///
/// Accepts arbitrary chunking; buffers at most one message per direction
/// ([`MAX_TCP_BUFFER`]). Messages that fail to parse are counted and
/// skipped; framing is kept.
#[derive(Debug, Default)]
pub struct DnsTcpState {
    ts: Dir,
    tc: Dir,
    /// Messages that failed to parse.
    pub errors: u64,
    /// Messages successfully turned into events.
    pub messages: u64,
}

impl DnsTcpState {
    /// New empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed stream bytes of one direction; completed messages are appended
    /// to `out` as events (tx_id left 0 for the caller to assign).
    pub fn input(&mut self, to_server: bool, data: &[u8], out: &mut Vec<DnsEvent>) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        if dir.resync {
            if !dir.buf.is_empty() {
                // Keep looking from the buffered prefix plus new data.
                dir.buf.extend_from_slice(data);
            } else {
                dir.buf = data.to_vec();
            }
            match probe_tcp(&dir.buf) {
                Probe::Yes => dir.resync = false,
                Probe::NeedMore if dir.buf.len() < 2 + HEADER_LEN => return,
                _ => {
                    dir.buf.clear();
                    return;
                }
            }
        } else {
            dir.buf.extend_from_slice(data);
        }
        let mut pos = 0usize;
        loop {
            let rest = &dir.buf[pos..];
            let len = match rest {
                [a, b, ..] => u16::from_be_bytes([*a, *b]) as usize,
                _ => break,
            };
            if len == 0 {
                pos += 2;
                continue;
            }
            let Some(msg) = rest.get(2..2 + len) else {
                break;
            };
            match message_event(msg, to_server) {
                Ok(ev) => {
                    self.messages += 1;
                    out.push(ev);
                }
                Err(_) => self.errors += 1,
            }
            pos += 2 + len;
        }
        dir.buf.drain(..pos);
        debug_assert!(dir.buf.len() <= MAX_TCP_BUFFER);
    }

    /// Bytes were lost in one direction: drop the partial message and
    /// resynchronise on the next chunk that looks like a DNS record.
    pub fn gap(&mut self, to_server: bool) {
        let dir = if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        };
        dir.buf.clear();
        dir.resync = true;
    }

    /// Bytes currently buffered (both directions).
    pub fn buffered(&self) -> usize {
        self.ts.buf.len() + self.tc.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::{DIG_QUERY, DIG_RESPONSE};
    use super::*;

    fn framed(m: &[u8]) -> Vec<u8> {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    }

    /// dns-tcp-www-google-com pcap packet 6 (response, 12 A records).
    const GOOGLE_TCP_RESPONSE_HEX: &str = "00eb5f7881800001000c000000010377777706676f6f676c6503636f6d0000010001c00c00010001000000080004d8c5f2f4c00c00010001000000080004d8c5f2e0c00c00010001000000080004d8c5f2eec00c00010001000000080004d8c5f2d2c00c00010001000000080004d8c5f2e6c00c00010001000000080004d8c5f2dfc00c00010001000000080004d8c5f2f5c00c00010001000000080004d8c5f2e7c00c00010001000000080004d8c5f2fbc00c00010001000000080004d8c5f2edc00c00010001000000080004d8c5f2d9c00c00010001000000080004d8c5f2d80000290200000000000000";
    /// Packet 4 (request with EDNS cookie option).
    const GOOGLE_TCP_REQUEST_HEX: &str = "00375f78012000010000000000010377777706676f6f676c6503636f6d0000010001000029100000000000000c000a00085a760730fb2b37d5";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }

    #[test]
    fn tcp_google_request_and_response() {
        let mut st = DnsTcpState::new();
        let mut out = Vec::new();
        st.input(true, &unhex(GOOGLE_TCP_REQUEST_HEX), &mut out);
        st.input(false, &unhex(GOOGLE_TCP_RESPONSE_HEX), &mut out);
        assert_eq!(out.len(), 2);
        assert!(!out[0].is_response());
        assert_eq!(out[0].query_names().collect::<Vec<_>>(), ["www.google.com"]);
        let v = serde_json::to_value(&out[0]).expect("json");
        assert_eq!(
            v["additionals"],
            serde_json::json!([{"rrname":"","rrtype":"OPT","ttl":0,"opt":[{"code":10,"data":"5a760730fb2b37d5"}]}])
        );
        assert!(out[1].is_response());
        assert_eq!(out[1].answers.len(), 12);
        assert_eq!(out[1].answers[0].rdata.as_deref(), Some("216.197.242.244"));
        let v = serde_json::to_value(&out[1]).expect("json");
        assert_eq!(v["flags"], "8180");
        assert_eq!(v["grouped"]["A"].as_array().map(|a| a.len()), Some(12));
        assert!(v.get("additionals").is_none(), "empty OPT not logged");
        assert_eq!(st.buffered(), 0);
    }

    #[test]
    fn tcp_split_at_every_byte() {
        let mut stream = framed(DIG_QUERY);
        stream.extend(framed(DIG_QUERY));
        let mut whole = Vec::new();
        DnsTcpState::new().input(true, &stream, &mut whole);
        assert_eq!(whole.len(), 2);
        let want = serde_json::to_string(&whole).expect("json");
        for cut in 0..=stream.len() {
            let mut st = DnsTcpState::new();
            let mut out = Vec::new();
            st.input(true, &stream[..cut], &mut out);
            st.input(true, &stream[cut..], &mut out);
            assert_eq!(
                serde_json::to_string(&out).expect("json"),
                want,
                "cut {cut}"
            );
        }
        // Byte-at-a-time.
        let mut st = DnsTcpState::new();
        let mut out = Vec::new();
        for b in &stream {
            st.input(true, std::slice::from_ref(b), &mut out);
        }
        assert_eq!(serde_json::to_string(&out).expect("json"), want);
    }

    #[test]
    fn tcp_bad_message_skipped_framing_kept() {
        let mut stream = framed(&[0u8; 5]);
        stream.extend(framed(DIG_RESPONSE));
        let mut st = DnsTcpState::new();
        let mut out = Vec::new();
        st.input(false, &stream, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(st.errors, 1);
    }

    #[test]
    fn tcp_gap_resync() {
        let mut st = DnsTcpState::new();
        let mut out = Vec::new();
        let f = framed(DIG_RESPONSE);
        st.input(false, &f[..30], &mut out);
        st.gap(false);
        // Tail of the lost message is not DNS-looking: dropped.
        st.input(false, &f[60..], &mut out);
        assert!(out.is_empty());
        st.input(false, &f, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].answers.len(), 3);
    }

    #[test]
    fn udp_direction_rules() {
        assert!(matches!(
            udp_event(DIG_RESPONSE, true),
            Err(DnsError::NotRequest)
        ));
        let e = udp_event(DIG_RESPONSE, false).expect("resp");
        assert!(e.is_response());
        // Request seen to-client is still logged as a response (Suricata
        // keys the type on direction).
        assert!(udp_event(DIG_QUERY, false).expect("ev").is_response());
        assert!(matches!(
            udp_event(&DIG_QUERY[..20], true),
            Err(DnsError::Truncated)
        ));
    }
}
