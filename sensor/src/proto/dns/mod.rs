//! DNS app-layer decoder (UDP and TCP).
//!
//! # Spec notes
//!
//! * Wire format: RFC 1035 §4.1. 12-byte header (id, flags, qd/an/ns/ar
//!   counts), then question entries (name, type, class) and three resource
//!   record sections (name, type, class, ttl, rdlength, rdata).
//! * Flags word: QR(15) opcode(14..11) AA(10) TC(9) RD(8) RA(7) Z(6)
//!   AD(5) CD(4) rcode(3..0).
//! * Name compression (RFC 1035 §4.1.4): a length byte with the top two
//!   bits `11` is a 14-bit offset into the message. We require each pointer
//!   to point strictly before the label run that contains it, allow at
//!   most 128 pointers per name and at most 255 decoded bytes, so
//!   malicious loops fail fast with an error instead of hanging. Label
//!   types `01`/`10` (RFC 6891 extended labels) are rejected.
//! * TCP (RFC 1035 §4.2.2, RFC 7766): each message is prefixed by a
//!   2-byte big-endian length; several messages may share a segment and a
//!   message may be split anywhere. A zero length is skipped.
//! * Decoded rdata: A, AAAA, CNAME, NS, PTR, MX, TXT, SOA, SRV, NULL,
//!   SSHFP, OPT (EDNS0, RFC 6891); other types keep raw bytes and are
//!   logged without `rdata` (as Suricata does).
//! * Output: Suricata 8 EVE `dns` v3 (see [`event`]); in particular
//!   `flags` is unpadded lower-case hex (`"100"` for a plain RD query),
//!   `rcode` is logged for requests too, TXT records expand to one answer
//!   entry per character-string, AAAA is printed as eight uncompressed
//!   4-digit groups, MX logs only the exchange, an OPT additional without
//!   options is not logged.
//! * Probing mirrors Suricata's header plausibility rule: each counted
//!   record needs at least 2 bytes, a zero-record message is exactly 12
//!   bytes, and a query must carry a question; the questions must parse.

pub mod event;
pub mod parser;
pub mod state;

pub use event::{
    rcode_name, rrtype_name, DnsAnswerEntry, DnsEvent, DnsGrouped, DnsOpt, DnsQueryEntry, DnsSoa,
    DnsSrv, DnsSshfp,
};
pub use parser::{
    parse_message, DnsError, DnsHeader, DnsMessage, DnsQuestion, DnsRecord, RData, SoaData, SrvData,
};
pub use state::{udp_event, DnsTcpState};

use parser::{parse_header, parse_questions, HEADER_LEN};

/// Result of protocol probing on the first bytes of a flow direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Looks like this protocol.
    Yes,
    /// Does not look like this protocol.
    No,
    /// Not enough bytes to decide.
    NeedMore,
}

/// Check that `msg` (the full or partial message of declared length
/// `dlen`) has a plausible header and parseable questions.
fn probe_message(msg: &[u8], dlen: usize) -> Probe {
    let Ok(h) = parse_header(msg) else {
        return Probe::NeedMore;
    };
    if dlen < HEADER_LEN || !h.plausible(dlen) {
        return Probe::No;
    }
    match parse_questions(msg, &h) {
        Ok(_) => Probe::Yes,
        // Partial TCP message: header plausibility is all we can check.
        Err(DnsError::Truncated) if msg.len() < dlen => Probe::Yes,
        Err(_) => Probe::No,
    }
}

/// Does a UDP payload look like a DNS message (plausible header and the
/// question section parses)?
pub fn probe_udp(payload: &[u8]) -> bool {
    payload.len() >= HEADER_LEN && probe_message(payload, payload.len()) == Probe::Yes
}

/// Probe the start of a DNS-over-TCP stream (2-byte length prefix).
pub fn probe_tcp(data: &[u8]) -> Probe {
    let dlen = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]) as usize,
        _ => return Probe::NeedMore,
    };
    if dlen < HEADER_LEN {
        return Probe::No;
    }
    let rest = &data[2..];
    let msg = rest.get(..dlen).unwrap_or(rest);
    probe_message(msg, dlen)
}

#[cfg(test)]
mod tests {
    use super::parser::tests::{DIG_QUERY, DIG_RESPONSE};
    use super::*;

    #[test]
    fn probe_udp_cases() {
        assert!(probe_udp(DIG_QUERY));
        assert!(probe_udp(DIG_RESPONSE));
        assert!(!probe_udp(&DIG_QUERY[..11]));
        assert!(!probe_udp(&DIG_QUERY[..30]));
        assert!(!probe_udp(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        // Query without a question.
        let mut q = DIG_QUERY.to_vec();
        q[5] = 0;
        assert!(!probe_udp(&q));
    }

    #[test]
    fn probe_tcp_cases() {
        let mut f = (DIG_QUERY.len() as u16).to_be_bytes().to_vec();
        f.extend_from_slice(DIG_QUERY);
        assert_eq!(probe_tcp(&f), Probe::Yes);
        assert_eq!(probe_tcp(&f[..1]), Probe::NeedMore);
        assert_eq!(probe_tcp(&f[..10]), Probe::NeedMore);
        assert_eq!(probe_tcp(&f[..20]), Probe::Yes);
        assert_eq!(
            probe_tcp(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdef"),
            Probe::No
        );
        assert_eq!(probe_tcp(b"GET / HTTP/1.1\r\n"), Probe::No);
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut st = DnsTcpState::new();
        let mut out = Vec::new();
        for i in 0..20000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 120) as usize;
            let mut buf: Vec<u8> = (0..len)
                .map(|j| (x.rotate_left(j as u32 % 64) >> (j % 8)) as u8)
                .collect();
            // Half the time start from a real message and corrupt it.
            if i % 2 == 0 {
                buf = DIG_RESPONSE.to_vec();
                let n = buf.len();
                buf[(x as usize >> 8) % n] = x as u8;
                buf[(x as usize >> 20) % n] = (x >> 32) as u8;
            }
            let _ = parse_message(&buf);
            let _ = probe_udp(&buf);
            let _ = probe_tcp(&buf);
            let _ = udp_event(&buf, i % 3 == 0);
            st.input(i % 2 == 0, &buf, &mut out);
            assert!(st.buffered() <= 2 * state::MAX_TCP_BUFFER);
        }
    }
}
