//! Pure TPKT (RFC 1006) and COTP (ISO 8073 / X.224) parsing.
//!
//! No allocation, no panics: every read is bounds-checked and malformed
//! input comes back as a [`CotpError`].

use crate::proto::common::Frame;

/// TPKT version (RFC 1006 §6).
pub const TPKT_VERSION: u8 = 3;
/// TPKT header length.
pub const TPKT_HEADER_LEN: usize = 4;
/// Smallest TPKT packet carrying a COTP header (4 + LI + type + one byte).
pub const TPKT_MIN_LEN: usize = 7;
/// Largest TPKT packet (16-bit length field).
pub const TPKT_MAX_LEN: usize = 65535;

/// COTP PDU type codes (the high nibble of the second header byte; CR, CC,
/// AK and RJ carry a credit in the low nibble).
pub mod pdu_type {
    /// ED Expedited Data.
    pub const ED: u8 = 0x1;
    /// EA Expedited Data Acknowledgement.
    pub const EA: u8 = 0x2;
    /// RJ Reject.
    pub const RJ: u8 = 0x5;
    /// AK Data Acknowledgement.
    pub const AK: u8 = 0x6;
    /// ER TPDU Error.
    pub const ER: u8 = 0x7;
    /// DR Disconnect Request.
    pub const DR: u8 = 0x8;
    /// DC Disconnect Confirm.
    pub const DC: u8 = 0xc;
    /// CC Connection Confirm.
    pub const CC: u8 = 0xd;
    /// CR Connection Request.
    pub const CR: u8 = 0xe;
    /// DT Data.
    pub const DT: u8 = 0xf;
}

/// Variable-part parameter codes of CR/CC/DR/ER (ISO 8073 §13.3.4).
pub mod param {
    /// TPDU size (one byte: log2 of the size, 7..=13).
    pub const TPDU_SIZE: u8 = 0xc0;
    /// Calling (source) transport selector.
    pub const SRC_TSAP: u8 = 0xc1;
    /// Called (destination) transport selector.
    pub const DST_TSAP: u8 = 0xc2;
    /// Preferred maximum TPDU size (class 0 extension, 1..=4 bytes).
    pub const PREF_MAX_TPDU_SIZE: u8 = 0xf0;
}

/// Why a TPKT/COTP header could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CotpError {
    /// Input ended inside a header.
    Truncated,
    /// TPKT version is not 3 or the reserved byte is not 0.
    BadTpkt,
    /// TPKT length is smaller than the smallest COTP PDU.
    BadLength,
    /// COTP length indicator points past the packet or is too small for
    /// the PDU type.
    BadLengthIndicator,
    /// Unknown COTP PDU type code.
    UnknownType(u8),
    /// A CR/CC/DR/ER parameter overruns the header or has an invalid code.
    BadParameter,
}

impl std::fmt::Display for CotpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CotpError::Truncated => f.write_str("truncated header"),
            CotpError::BadTpkt => f.write_str("not a TPKT version 3 header"),
            CotpError::BadLength => f.write_str("TPKT length too small"),
            CotpError::BadLengthIndicator => f.write_str("bad COTP length indicator"),
            CotpError::UnknownType(t) => write!(f, "unknown COTP PDU type 0x{t:x}"),
            CotpError::BadParameter => f.write_str("malformed COTP parameter"),
        }
    }
}

impl std::error::Error for CotpError {}

/// Parse the 4-byte TPKT header: the total packet length (header included).
pub fn tpkt_len(head: &[u8]) -> Result<usize, CotpError> {
    let [v, r, hi, lo, ..] = *head else {
        return Err(CotpError::Truncated);
    };
    if v != TPKT_VERSION || r != 0 {
        return Err(CotpError::BadTpkt);
    }
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < TPKT_MIN_LEN {
        return Err(CotpError::BadLength);
    }
    Ok(len)
}

/// Is `code` (the high nibble of the type byte) a COTP PDU type?
pub fn is_pdu_type(code: u8) -> bool {
    use pdu_type::*;
    matches!(code, ED | EA | RJ | AK | ER | DR | DC | CC | CR | DT)
}

/// Smallest length indicator for each PDU type (fixed part only).
fn min_li(code: u8) -> usize {
    use pdu_type::*;
    match code {
        CR | CC | DR => 6,
        DC => 5,
        ED | EA | RJ | AK | ER => 4,
        _ => 2, // DT class 0/1: type + (EOT, TPDU-NR)
    }
}

/// Framer for [`crate::proto::common::StreamBuf`]: TPKT packets. While
/// resynchronising after a gap the COTP type and length indicator must be
/// plausible too.
pub fn frame_tpkt(head: &[u8], resync: bool) -> Frame {
    match head {
        [] => return Frame::Need,
        [v, ..] if *v != TPKT_VERSION => return Frame::Skip(1),
        [_, r, ..] if *r != 0 => return Frame::Skip(1),
        _ => {}
    }
    let len = match tpkt_len(head) {
        Ok(l) => l,
        Err(CotpError::Truncated) => return Frame::Need,
        Err(_) => return Frame::Skip(1),
    };
    if resync {
        let [_, _, _, _, li, ty, ..] = *head else {
            return Frame::Need;
        };
        let code = ty >> 4;
        let li = usize::from(li);
        if !is_pdu_type(code) || li < min_li(code) || TPKT_HEADER_LEN + 1 + li > len {
            return Frame::Skip(1);
        }
    }
    Frame::Len(len)
}

/// A transport selector (TSAP), kept inline (at most 32 bytes are kept).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tsap {
    len: u8,
    bytes: [u8; Tsap::MAX],
}

impl Tsap {
    /// Bytes kept of a TSAP; longer selectors are cut.
    pub const MAX: usize = 32;

    /// A TSAP from wire bytes (cut to [`Tsap::MAX`]).
    pub fn new(b: &[u8]) -> Tsap {
        let n = b.len().min(Self::MAX);
        let mut bytes = [0u8; Self::MAX];
        bytes[..n].copy_from_slice(&b[..n]);
        Tsap {
            len: n as u8,
            bytes,
        }
    }

    /// The selector bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Display form: the text when every byte is printable ASCII (and there
    /// are at least 3), else lower-case hex (`0102` for an S7 rack 0 slot 2
    /// selector).
    pub fn display(&self) -> String {
        let b = self.as_bytes();
        if b.len() >= 3 && b.iter().all(|c| (0x20..0x7f).contains(c)) {
            b.iter().map(|&c| c as char).collect()
        } else {
            let mut s = String::with_capacity(b.len() * 2);
            for c in b {
                s.push_str(&format!("{c:02x}"));
            }
            s
        }
    }
}

impl std::fmt::Debug for Tsap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tsap({})", self.display())
    }
}

/// Fixed and variable part of a CR or CC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Connect {
    /// Destination reference.
    pub dst_ref: u16,
    /// Source reference.
    pub src_ref: u16,
    /// Protocol class (0..=4).
    pub class: u8,
    /// Option bits (extended formats 0x02, no explicit flow control 0x01).
    pub options: u8,
    /// Calling TSAP (parameter 0xc1).
    pub src_tsap: Option<Tsap>,
    /// Called TSAP (parameter 0xc2).
    pub dst_tsap: Option<Tsap>,
    /// Maximum TPDU size in bytes (parameter 0xc0, or 0xf0 when present).
    pub tpdu_size: Option<u32>,
}

/// One parsed COTP PDU; `payload` borrows from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CotpPdu<'a> {
    /// CR.
    ConnectRequest(Connect),
    /// CC.
    ConnectConfirm(Connect),
    /// DR with its reason code.
    DisconnectRequest {
        /// Destination reference.
        dst_ref: u16,
        /// Source reference.
        src_ref: u16,
        /// Disconnect reason.
        reason: u8,
    },
    /// DC.
    DisconnectConfirm {
        /// Destination reference.
        dst_ref: u16,
        /// Source reference.
        src_ref: u16,
    },
    /// DT.
    Data {
        /// End of TSDU mark.
        eot: bool,
        /// TPDU send sequence number (7 bits).
        tpdu_nr: u8,
        /// Destination reference (classes 1..4 normal format only).
        dst_ref: Option<u16>,
        /// User data.
        payload: &'a [u8],
    },
    /// ED.
    ExpeditedData {
        /// Destination reference.
        dst_ref: u16,
        /// User data (at most 16 bytes per the standard; not enforced).
        payload: &'a [u8],
    },
    /// AK, EA or RJ: acknowledgements, with the PDU type code.
    Ack {
        /// `pdu_type::AK`, `EA` or `RJ`.
        code: u8,
        /// Destination reference.
        dst_ref: u16,
    },
    /// ER with its reject cause.
    Error {
        /// Destination reference.
        dst_ref: u16,
        /// Reject cause.
        cause: u8,
    },
}

impl CotpPdu<'_> {
    /// The PDU type code (high nibble of the type byte).
    pub fn code(&self) -> u8 {
        match self {
            CotpPdu::ConnectRequest(_) => pdu_type::CR,
            CotpPdu::ConnectConfirm(_) => pdu_type::CC,
            CotpPdu::DisconnectRequest { .. } => pdu_type::DR,
            CotpPdu::DisconnectConfirm { .. } => pdu_type::DC,
            CotpPdu::Data { .. } => pdu_type::DT,
            CotpPdu::ExpeditedData { .. } => pdu_type::ED,
            CotpPdu::Ack { code, .. } => *code,
            CotpPdu::Error { .. } => pdu_type::ER,
        }
    }
}

/// Zeek ICSNPP's name of a COTP PDU type code (`cotp.log` `pdu_name`).
pub fn pdu_type_name(code: u8) -> &'static str {
    use pdu_type::*;
    match code {
        ED => "ED Expedited Data",
        EA => "EA Expedited Data Acknowledgement",
        RJ => "RJ Reject",
        AK => "AK Data Acknowledgement",
        ER => "ER TPDU Error",
        DR => "DR Disconnect Request",
        DC => "DC Disconnect Confirm",
        CC => "CC Connection Confirm",
        CR => "CR Connection Request",
        DT => "DT Data",
        _ => "unknown",
    }
}

fn be16(b: &[u8], at: usize) -> Result<u16, CotpError> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_be_bytes([x, y])),
        _ => Err(CotpError::Truncated),
    }
}

/// Walk the variable part of a CR/CC: every parameter must fit exactly and
/// carry a parameter code with the top bit set (all ISO 8073 codes do; this
/// also keeps RDP's X.224 negotiation request, type 0x01, out).
fn parse_connect_params(mut v: &[u8], c: &mut Connect) -> Result<(), CotpError> {
    while !v.is_empty() {
        let [code, len, ref rest @ ..] = *v else {
            return Err(CotpError::BadParameter);
        };
        let len = usize::from(len);
        if code & 0x80 == 0 || rest.len() < len {
            return Err(CotpError::BadParameter);
        }
        let (val, next) = rest.split_at(len);
        match code {
            param::SRC_TSAP => c.src_tsap = Some(Tsap::new(val)),
            param::DST_TSAP => c.dst_tsap = Some(Tsap::new(val)),
            param::TPDU_SIZE => {
                if let [e] = *val {
                    if (7..=13).contains(&e) {
                        c.tpdu_size = Some(1u32 << e);
                    }
                }
            }
            param::PREF_MAX_TPDU_SIZE if (1..=4).contains(&len) && c.tpdu_size.is_none() => {
                let n = val.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
                c.tpdu_size = Some(n.saturating_mul(128));
            }
            _ => {}
        }
        v = next;
    }
    Ok(())
}

/// Parse a COTP PDU (the TPKT payload, i.e. after the 4-byte header).
pub fn parse_cotp(b: &[u8]) -> Result<CotpPdu<'_>, CotpError> {
    let [li, ty, ..] = *b else {
        return Err(CotpError::Truncated);
    };
    let li = usize::from(li);
    let code = ty >> 4;
    if !is_pdu_type(code) {
        return Err(CotpError::UnknownType(code));
    }
    if li < min_li(code) || 1 + li > b.len() {
        return Err(CotpError::BadLengthIndicator);
    }
    // Header bytes after LI, and the user data after the header.
    let hdr = &b[1..=li];
    let payload = &b[1 + li..];
    use pdu_type::*;
    let pdu = match code {
        DT => {
            // Class 0/1: [F0][EOT|NR]. Classes 2..4 normal format:
            // [F0][dst-ref 2][EOT|NR] (+ optional parameters).
            let (dst_ref, nr) = if li >= 4 {
                (Some(be16(hdr, 1)?), hdr[3])
            } else {
                (None, hdr[1])
            };
            CotpPdu::Data {
                eot: nr & 0x80 != 0,
                tpdu_nr: nr & 0x7f,
                dst_ref,
                payload,
            }
        }
        CR | CC => {
            let mut c = Connect {
                dst_ref: be16(hdr, 1)?,
                src_ref: be16(hdr, 3)?,
                class: hdr[5] >> 4,
                options: hdr[5] & 0x0f,
                ..Connect::default()
            };
            parse_connect_params(&hdr[6..], &mut c)?;
            if code == CR {
                CotpPdu::ConnectRequest(c)
            } else {
                CotpPdu::ConnectConfirm(c)
            }
        }
        DR => CotpPdu::DisconnectRequest {
            dst_ref: be16(hdr, 1)?,
            src_ref: be16(hdr, 3)?,
            reason: hdr[5],
        },
        DC => CotpPdu::DisconnectConfirm {
            dst_ref: be16(hdr, 1)?,
            src_ref: be16(hdr, 3)?,
        },
        ED => CotpPdu::ExpeditedData {
            dst_ref: be16(hdr, 1)?,
            payload,
        },
        ER => CotpPdu::Error {
            dst_ref: be16(hdr, 1)?,
            cause: hdr[3],
        },
        _ => CotpPdu::Ack {
            code,
            dst_ref: be16(hdr, 1)?,
        },
    };
    Ok(pdu)
}

/// Parse one whole TPKT packet (header included) into its COTP PDU.
pub fn parse_tpkt(pkt: &[u8]) -> Result<CotpPdu<'_>, CotpError> {
    let len = tpkt_len(pkt)?;
    let body = pkt.get(TPKT_HEADER_LEN..len).ok_or(CotpError::Truncated)?;
    parse_cotp(body)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// CR from s7comm_downloading_block_db1.pcap frame 5: src TSAP 0x0100,
    /// dst TSAP 0x0102, TPDU size 1024.
    pub const CR_S7: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, // TPKT v3, reserved, length 22
        0x11, // LI 17
        0xe0, // CR, CDT 0
        0x00, 0x00, // dst-ref
        0x00, 0x07, // src-ref
        0x00, // class 0, no options
        0xc1, 0x02, 0x01, 0x00, // calling TSAP 0x0100
        0xc2, 0x02, 0x01, 0x02, // called TSAP 0x0102 (rack 0 slot 2)
        0xc0, 0x01, 0x0a, // TPDU size 2^10
    ];

    /// CC answering [`CR_S7`] (frame 6).
    pub const CC_S7: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, // TPKT
        0x11, 0xd0, // LI 17, CC
        0x00, 0x07, // dst-ref
        0x00, 0x03, // src-ref
        0x00, // class 0
        0xc0, 0x01, 0x0a, // TPDU size 1024
        0xc1, 0x02, 0x01, 0x00, // calling TSAP
        0xc2, 0x02, 0x01, 0x02, // called TSAP
    ];

    #[test]
    fn connect_request_and_confirm() {
        let CotpPdu::ConnectRequest(c) = parse_tpkt(CR_S7).expect("cr") else {
            panic!("not CR");
        };
        assert_eq!((c.dst_ref, c.src_ref, c.class), (0, 7, 0));
        assert_eq!(c.src_tsap.map(|t| t.display()).as_deref(), Some("0100"));
        assert_eq!(c.dst_tsap.map(|t| t.display()).as_deref(), Some("0102"));
        assert_eq!(c.tpdu_size, Some(1024));
        let CotpPdu::ConnectConfirm(c) = parse_tpkt(CC_S7).expect("cc") else {
            panic!("not CC");
        };
        assert_eq!((c.dst_ref, c.src_ref), (7, 3));
        assert_eq!(c.tpdu_size, Some(1024));
    }

    #[test]
    fn data_disconnect_and_others() {
        // DT class 0, EOT, TPDU-NR 0, payload "ab".
        let dt = [3, 0, 0, 9, 2, 0xf0, 0x80, b'a', b'b'];
        assert_eq!(
            parse_tpkt(&dt),
            Ok(CotpPdu::Data {
                eot: true,
                tpdu_nr: 0,
                dst_ref: None,
                payload: b"ab"
            })
        );
        // DT class 2 normal format: dst-ref 0x1234, NR 5, no EOT.
        let dt2 = [3, 0, 0, 10, 4, 0xf0, 0x12, 0x34, 0x05, 0xee];
        assert_eq!(
            parse_tpkt(&dt2),
            Ok(CotpPdu::Data {
                eot: false,
                tpdu_nr: 5,
                dst_ref: Some(0x1234),
                payload: &[0xee]
            })
        );
        // DR: dst 1, src 2, reason 0x80 (normal).
        let dr = [3, 0, 0, 11, 6, 0x80, 0, 1, 0, 2, 0x80];
        assert_eq!(
            parse_tpkt(&dr),
            Ok(CotpPdu::DisconnectRequest {
                dst_ref: 1,
                src_ref: 2,
                reason: 0x80
            })
        );
        // DC.
        let dc = [3, 0, 0, 10, 5, 0xc0, 0, 2, 0, 1];
        assert_eq!(
            parse_tpkt(&dc),
            Ok(CotpPdu::DisconnectConfirm {
                dst_ref: 2,
                src_ref: 1
            })
        );
        // ED with one byte.
        let ed = [3, 0, 0, 10, 4, 0x10, 0, 7, 0x80, 0x42];
        assert_eq!(
            parse_tpkt(&ed),
            Ok(CotpPdu::ExpeditedData {
                dst_ref: 7,
                payload: &[0x42]
            })
        );
        // AK with credit 3.
        let ak = [3, 0, 0, 9, 4, 0x63, 0, 7, 0x01];
        assert_eq!(
            parse_tpkt(&ak),
            Ok(CotpPdu::Ack {
                code: pdu_type::AK,
                dst_ref: 7
            })
        );
        // ER cause 2 (invalid parameter code).
        let er = [3, 0, 0, 9, 4, 0x70, 0, 7, 0x02];
        assert_eq!(
            parse_tpkt(&er),
            Ok(CotpPdu::Error {
                dst_ref: 7,
                cause: 2
            })
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_tpkt(&[3, 0, 0]), Err(CotpError::Truncated));
        assert_eq!(
            parse_tpkt(&[4, 0, 0, 7, 2, 0xf0, 0x80]),
            Err(CotpError::BadTpkt)
        );
        assert_eq!(
            parse_tpkt(&[3, 0, 0, 6, 2, 0xf0]),
            Err(CotpError::BadLength)
        );
        assert_eq!(
            parse_tpkt(&[3, 0, 0, 7, 9, 0xf0, 0x80]),
            Err(CotpError::BadLengthIndicator)
        );
        assert_eq!(
            parse_tpkt(&[3, 0, 0, 7, 2, 0x30, 0x80]),
            Err(CotpError::UnknownType(3))
        );
        // RDP negotiation request: X.224 CR whose variable part is not
        // ISO parameters (type 0x01 ...).
        let rdp = [
            3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x08, 0x00, 0x03, 0, 0, 0,
        ];
        assert_eq!(parse_tpkt(&rdp), Err(CotpError::BadParameter));
        // Parameter overrunning the header.
        let bad = [3, 0, 0, 13, 8, 0xe0, 0, 0, 0, 1, 0, 0xc1, 0x09];
        assert_eq!(parse_tpkt(&bad), Err(CotpError::BadParameter));
    }

    #[test]
    fn framer() {
        assert_eq!(frame_tpkt(&[], false), Frame::Need);
        assert_eq!(frame_tpkt(&[3], false), Frame::Need);
        assert_eq!(frame_tpkt(&[9], false), Frame::Skip(1));
        assert_eq!(frame_tpkt(&[3, 1], false), Frame::Skip(1));
        assert_eq!(frame_tpkt(&[3, 0, 0, 9], false), Frame::Len(9));
        assert_eq!(frame_tpkt(&[3, 0, 0, 2], false), Frame::Skip(1));
        // Resynchronising: the COTP header must be plausible as well.
        assert_eq!(frame_tpkt(&[3, 0, 0, 9], true), Frame::Need);
        assert_eq!(frame_tpkt(&[3, 0, 0, 9, 2, 0xf0], true), Frame::Len(9));
        assert_eq!(frame_tpkt(&[3, 0, 0, 9, 2, 0x30], true), Frame::Skip(1));
        assert_eq!(frame_tpkt(&[3, 0, 0, 9, 40, 0xf0], true), Frame::Skip(1));
    }

    #[test]
    fn tsap_display() {
        assert_eq!(Tsap::new(&[1, 2]).display(), "0102");
        assert_eq!(Tsap::new(b"SIMATIC-ROOT-ES").display(), "SIMATIC-ROOT-ES");
        assert_eq!(Tsap::new(&[0u8; 40]).as_bytes().len(), Tsap::MAX);
    }
}
