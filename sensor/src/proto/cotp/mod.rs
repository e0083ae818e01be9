//! ISO transport over TCP: TPKT (RFC 1006) framing and COTP (ISO 8073 /
//! ITU-T X.224) class 0, the transport under S7comm, S7comm-plus and
//! ISO session / presentation / MMS (IEC 61850) on TCP port 102.
//!
//! # Spec notes
//!
//! * TPKT (RFC 1006 §6): `version(1)=3`, `reserved(1)=0`, `length(2)`
//!   big-endian, the whole packet including these 4 bytes (7..=65535 here:
//!   the smallest COTP PDU is 3 bytes). Several packets may share a TCP
//!   segment and a packet may be split anywhere; framing uses
//!   [`crate::proto::common::StreamBuf`] (zero-copy for whole packets,
//!   bounded at 65535 bytes). After a gap the framer accepts a header only
//!   when the COTP type and length indicator are plausible too.
//! * COTP (ISO 8073 §13): `LI(1)` = header length after LI, then the PDU
//!   type in the high nibble of the next byte (CR `0xE`, CC `0xD`, DR `0x8`,
//!   DC `0xC`, DT `0xF`, ED `0x1`, AK `0x6`, EA `0x2`, RJ `0x5`, ER `0x7`).
//!   - CR/CC: `dst-ref(2) src-ref(2) class|options(1)` then parameters
//!     `code(1) len(1) value`: `0xC1` calling TSAP, `0xC2` called TSAP,
//!     `0xC0` TPDU size (2^n), `0xF0` preferred max TPDU size (×128).
//!     Parameters must fit the header exactly and have the top bit set
//!     (this rejects RDP's X.224 negotiation request, which shares TPKT).
//!   - DR: `dst-ref src-ref reason(1)`; DC: `dst-ref src-ref`;
//!     ER: `dst-ref cause(1)`; AK/EA/RJ: `dst-ref ...` (no event).
//!   - DT class 0 (LI = 2): `EOT(bit 7)|TPDU-NR(7 bits)`, then user data;
//!     classes 2-4 normal format (LI ≥ 4): `dst-ref(2) EOT|NR`.
//!   - ED: `dst-ref(2) EOT|NR`, user data.
//! * TSDU reassembly: DT user data is concatenated until a DT with EOT. A
//!   TSDU in a single DT is handed out borrowed (no copy); fragments are
//!   copied into a per-direction buffer bounded by [`MAX_TSDU`] (64 KiB);
//!   an oversized TSDU is dropped up to its EOT. Empty DTs (seen from
//!   S7-1200/1500 HMIs: DT without EOT and without data) are harmless.
//!   A gap drops the partial packet and the partial TSDU; the protocols
//!   above validate their own lengths.
//! * Dispatch: [`classify_tsdu`] tells which decoder a TSDU belongs to:
//!   S7comm (protocol id `0x32`, header lengths consistent), S7comm-plus
//!   (`0x72`, known version), ISO 8327 session SPDU (MMS over the full OSI
//!   stack: CN `0x0D`, AC `0x0E`, GT/DT `0x01`, FN, DN, AB, ...), or a bare
//!   MMS PDU directly on COTP (BER tag `0xA0..=0xAD`, `0x85`, `0x86`,
//!   `0x8B`, `0x8C` — seen in some test captures).
//!
//! # API
//!
//! [`probe`] recognises TPKT+COTP on the first bytes of a direction.
//! [`CotpState`] (per flow) turns stream bytes into [`CotpEvent`]s:
//! connection requests/confirms with TSAPs and TPDU size, disconnects,
//! errors, expedited data and TSDUs. [`CotpState::input_with`] hands each
//! event to a callback while its bytes are borrowed (the efficient path:
//! dispatch the TSDU straight to `S7State::input_tsdu` etc.);
//! [`CotpState::input`] collects owned events.
//!
//! COTP has no EVE object of its own and no `Op`: ICSNPP's `cotp.log` only
//! lists PDU types ([`parser::pdu_type_name`] gives its names).

pub mod event;
pub mod parser;
pub mod state;

pub use event::CotpEvent;
pub use parser::{
    frame_tpkt, parse_cotp, parse_tpkt, pdu_type, pdu_type_name, Connect, CotpError, CotpPdu, Tsap,
};
pub use state::{CotpState, CotpStats, MAX_TSDU};

use crate::proto::common::Probe;
use parser::{is_pdu_type, tpkt_len, TPKT_HEADER_LEN};

/// Probe the first bytes of a direction for TPKT + COTP. `to_server` is
/// accepted for interface symmetry: any COTP PDU type is plausible in
/// either direction (capture may start mid-connection).
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    match data {
        [] => return Probe::NeedMore,
        [v, ..] if *v != parser::TPKT_VERSION => return Probe::No,
        [_, r, ..] if *r != 0 => return Probe::No,
        _ => {}
    }
    let len = match tpkt_len(data) {
        Ok(l) => l,
        Err(CotpError::Truncated) => return Probe::NeedMore,
        Err(_) => return Probe::No,
    };
    let [_, _, _, _, li, ty, ..] = *data else {
        return Probe::NeedMore;
    };
    if !is_pdu_type(ty >> 4) || TPKT_HEADER_LEN + 1 + usize::from(li) > len {
        return Probe::No;
    }
    let avail = &data[TPKT_HEADER_LEN..data.len().min(len)];
    if avail.len() < 1 + usize::from(li) {
        return Probe::NeedMore;
    }
    match parse_cotp(avail) {
        Ok(_) => Probe::Yes,
        Err(_) => Probe::No,
    }
}

/// The protocol a TSDU carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upper {
    /// S7comm (protocol id 0x32): `s7comm::S7State::input_tsdu`.
    S7comm,
    /// S7comm-plus (protocol id 0x72): `s7comm_plus::S7PlusState::input_tsdu`.
    S7commPlus,
    /// ISO 8327 session SPDU (MMS / IEC 61850 over the OSI stack).
    Session,
    /// A bare MMS PDU straight on COTP (no session/presentation layer).
    Mms,
    /// Anything else.
    Unknown,
}

/// Which decoder a TSDU belongs to (see the module notes for the checks).
pub fn classify_tsdu(tsdu: &[u8]) -> Upper {
    match tsdu.first() {
        Some(0x32) if is_s7comm(tsdu) => Upper::S7comm,
        Some(0x72) if matches!(tsdu.get(1), Some(1 | 2 | 3 | 0xfe | 0xff)) => Upper::S7commPlus,
        Some(&t) if is_spdu(t, tsdu) => Upper::Session,
        Some(&t) if is_bare_mms(t, tsdu) => Upper::Mms,
        _ => Upper::Unknown,
    }
}

/// S7comm header: ROSCTR 1/2/3/7 and header + parameter + data lengths
/// within the TSDU.
fn is_s7comm(b: &[u8]) -> bool {
    let hdr = match b.get(1) {
        Some(1 | 7) => 10,
        Some(2 | 3) => 12,
        _ => return false,
    };
    match b.get(6..10) {
        Some(&[p0, p1, d0, d1]) => {
            let p = usize::from(u16::from_be_bytes([p0, p1]));
            let d = usize::from(u16::from_be_bytes([d0, d1]));
            b.len() >= hdr && hdr + p + d <= b.len()
        }
        _ => false,
    }
}

/// ISO 8327 SPDU: a known SPDU identifier and a length that fits.
fn is_spdu(si: u8, b: &[u8]) -> bool {
    const SI: &[u8] = &[
        1, 2, 5, 8, 9, 10, 12, 13, 14, 15, 16, 25, 26, 33, 34, 41, 48, 49, 53, 61, 62,
    ];
    if !SI.contains(&si) {
        return false;
    }
    match b.get(1) {
        Some(0xff) => match b.get(2..4) {
            Some(&[h, l]) => 4 + usize::from(u16::from_be_bytes([h, l])) <= b.len(),
            _ => false,
        },
        Some(&l) => 2 + usize::from(l) <= b.len(),
        None => false,
    }
}

/// Bare MMS PDU: an MMSpdu CHOICE tag and a BER length that fits.
fn is_bare_mms(tag: u8, b: &[u8]) -> bool {
    if !matches!(tag, 0xa0..=0xad | 0x85 | 0x86 | 0x8b | 0x8c) {
        return false;
    }
    let (len, hdr) = match b.get(1) {
        Some(&l) if l < 0x80 => (usize::from(l), 2),
        Some(&l) if (0x81..=0x84).contains(&l) => {
            let n = usize::from(l & 0x7f);
            let Some(bytes) = b.get(2..2 + n) else {
                return false;
            };
            (
                bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
                2 + n,
            )
        }
        _ => return false,
    };
    hdr.saturating_add(len) <= b.len()
}

#[cfg(test)]
mod tests {
    use super::parser::tests::{CC_S7, CR_S7};
    use super::*;

    #[test]
    fn probe_cases() {
        assert_eq!(probe(CR_S7, true), Probe::Yes);
        assert_eq!(probe(CC_S7, false), Probe::Yes);
        for n in 0..10 {
            assert_eq!(probe(&CR_S7[..n], true), Probe::NeedMore, "{n}");
        }
        assert_eq!(probe(&CR_S7[..12], true), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1\r\n", true), Probe::No);
        assert_eq!(probe(b"\x16\x03\x01\x02\x00\x01", true), Probe::No);
        // DT with an S7 header.
        assert_eq!(
            probe(&[3, 0, 0, 9, 2, 0xf0, 0x80, 0x32, 1], true),
            Probe::Yes
        );
        // RDP connection request with cookie.
        let rdp = b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=user\r\n\x01\x00\x08\x00\x03\x00\x00\x00";
        assert_eq!(probe(rdp, true), Probe::No);
        // LI pointing past the packet.
        assert_eq!(probe(&[3, 0, 0, 7, 6, 0xf0, 0x80], true), Probe::No);
    }

    #[test]
    fn random_and_mutated_streams_never_panic() {
        let mut x = 0x0123_4567_89ab_cdef_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seeds: [&[u8]; 4] = [
            CR_S7,
            CC_S7,
            &[3, 0, 0, 12, 2, 0xf0, 0x00, 0x32, 0x01, 0x00, 0x00, 0x00],
            &[3, 0, 0, 11, 6, 0x80, 0, 1, 0, 2, 0x80],
        ];
        let mut st = CotpState::new();
        let mut tsdus = 0u64;
        for i in 0..200_000u32 {
            let r = next();
            let buf: Vec<u8> = if i % 2 == 0 {
                // Random bytes, half of the time behind a plausible TPKT header.
                let n = (r % 64) as usize;
                let mut b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
                if r & 1 == 0 && n >= 6 {
                    b[0] = 3;
                    b[1] = 0;
                    b[2..4].copy_from_slice(&((n as u16).max(7)).to_be_bytes());
                }
                b
            } else {
                let mut b = seeds[(r % 4) as usize].to_vec();
                for _ in 0..1 + (r >> 4) % 3 {
                    let p = next() as usize % b.len();
                    b[p] = next() as u8;
                }
                b.truncate(b.len() - (r >> 12) as usize % 3);
                b
            };
            let d = r & 0x100 == 0;
            let _ = probe(&buf, d);
            let _ = parse_tpkt(&buf);
            let _ = parse_cotp(&buf);
            let _ = classify_tsdu(&buf);
            st.input_with(d, &buf, |e| {
                if let CotpEvent::Data { tsdu, .. } = e {
                    tsdus += 1;
                    let _ = classify_tsdu(&tsdu);
                }
            });
            if r.is_multiple_of(1000) {
                st.gap(d);
            }
            assert!(st.buffered() <= 2 * (parser::TPKT_MAX_LEN + MAX_TSDU));
        }
        assert!(tsdus > 0);
    }

    #[test]
    fn classify() {
        // S7comm setup communication job (10-byte header, 8 bytes param).
        let s7 = [
            0x32, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0xf0, 0, 0, 1, 0, 1, 1, 0xe0,
        ];
        assert_eq!(classify_tsdu(&s7), Upper::S7comm);
        assert_eq!(classify_tsdu(&s7[..17]), Upper::Unknown);
        assert_eq!(classify_tsdu(&[0x72, 0x02, 0x00, 0x11]), Upper::S7commPlus);
        assert_eq!(classify_tsdu(&[0x72, 0x09, 0x00, 0x11]), Upper::Unknown);
        // Session CONNECT SPDU (from iec61850_read.pcap), cut.
        let cn = [0x0d, 0x03, 0x05, 0x06, 0x13];
        assert_eq!(classify_tsdu(&cn), Upper::Session);
        // Give tokens + data transfer, then a presentation PPDU.
        assert_eq!(
            classify_tsdu(&[0x01, 0x00, 0x01, 0x00, 0x61, 0x02, 0x30, 0x00]),
            Upper::Session
        );
        // Bare MMS: initiate-request a8 26 ..., conclude-request 8b 00.
        let mut ini = vec![0xa8, 0x03, 0x80, 0x01, 0x01];
        assert_eq!(classify_tsdu(&ini), Upper::Mms);
        ini[1] = 0x20;
        assert_eq!(classify_tsdu(&ini), Upper::Unknown);
        assert_eq!(classify_tsdu(&[0x8b, 0x00]), Upper::Mms);
        assert_eq!(classify_tsdu(&[]), Upper::Unknown);
        assert_eq!(classify_tsdu(&[0x55, 0x00]), Upper::Unknown);
    }
}
