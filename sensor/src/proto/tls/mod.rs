//! TLS / SSLv3 app-layer decoder: handshake metadata and fingerprints.
//!
//! # What is decoded
//! * **Record layer** (RFC 5246 §6.2, RFC 8446 §5): 5-byte header
//!   `type(1) version(2) length(2)`, length ≤ 2^14 + 2048. Types 20
//!   ChangeCipherSpec, 21 Alert, 22 Handshake, 23 ApplicationData,
//!   24 Heartbeat. Only handshake bodies are looked at.
//! * **Handshake layer**: `type(1) length(3)` messages reassembled across
//!   records (capped at 64 KiB; longer messages are processed truncated).
//!   ClientHello (1), ServerHello (2, incl. HelloRetryRequest), Certificate
//!   (11, leaf only), ServerHelloDone (14).
//! * **Extensions**: server_name (0), supported_groups (10), ec_point_formats
//!   (11), signature_algorithms (13), ALPN (16), supported_versions (43);
//!   every extension type is recorded in wire order for JA3/JA4.
//! * **Certificates** via `x509-parser`: subject, issuer, serial, validity,
//!   subjectAltName; SHA-1 fingerprint of the DER.
//!
//! # When the event is emitted (once per flow)
//! * TLS ≤ 1.2: at the server Certificate; without one, at ServerHelloDone or
//!   at the server's ChangeCipherSpec (resumed session).
//! * TLS 1.3 (and drafts): at the ServerHello (the certificate is encrypted).
//!   A HelloRetryRequest does not trigger; the following ServerHello does.
//! * Otherwise at [`TlsState::finish`], if any hello or certificate was seen.
//! * If the server side is ready before any ClientHello was fed (callers may
//!   deliver the server stream first), the event waits for the ClientHello
//!   or for the client direction to stop.
//!
//! # Suricata 8 EVE compatibility
//! Field names/format of [`TlsEvent`] follow the EVE `tls` object (extended
//! logging): `subject`, `issuerdn`, `session_resumed`, `serial`
//! (`03:DE:..` upper-case), `fingerprint` (`e9:a0:..` lower-case),
//! `sni`, `version` (`TLSv1`, `TLS 1.1`, `TLS 1.2`, `TLS 1.3`, `SSLv3`,
//! `TLS 1.3 draft-NN`, `UNDETERMINED` when the server never spoke, else
//! `0x%04x`), `notbefore`/`notafter` (`2016-09-12T07:25:06`, UTC),
//! `subjectaltname`, `ja3`/`ja3s` (`{hash,string}`), `ja4`, `client_alpns`,
//! `server_alpns`. Checked against suricata-verify `tls-glupteba`,
//! `tls-fingerprint-alert`, `ja4-tls`, `detect-bidir-ja3`,
//! `tls-alpn-log-detect-02` and `bug-7264-tcp-3whs-ack-data-tls-01`.
//! The version logged is the server's (ServerHello supported_versions, else
//! its legacy version, else the server's first record version), as Suricata
//! logs `server_connp.version`.
//!
//! # Fingerprints
//! * **JA3** `SSLVersion,Ciphers,Extensions,EllipticCurves,ECPointFormats`,
//!   decimal, `-`-joined, GREASE (RFC 8701, `0x?a?a`) removed from every
//!   list; MD5 lower-case hex. **JA3S** `SSLVersion,Cipher,Extensions` of
//!   the ServerHello (legacy version field, even for TLS 1.3).
//! * **JA4** (FoxIO): `t` + version + `d`/`i` + cipher count + extension
//!   count + ALPN code, `_`, 12 hex of SHA-256 of the sorted cipher list,
//!   `_`, 12 hex of SHA-256 of sorted extensions (without SNI and ALPN)
//!   `_` signature algorithms in wire order. Ambiguities resolved:
//!   - version: highest non-GREASE supported_versions value, else the
//!     hello's legacy version; unknown versions give `00`;
//!   - counts exclude GREASE, include SNI/ALPN, and are capped at 99;
//!   - ALPN code: first/last byte of the first ALPN value (a 1-byte value
//!     gives that byte twice); if either is not ASCII alphanumeric, the first
//!     and last characters of the value's hex; `00` when absent or empty;
//!   - GREASE is also removed from the signature algorithm list;
//!   - empty cipher list, or empty (post-filter) extension list, hashes to
//!     `000000000000`; no signature algorithms means no trailing `_`.
//!
//! # Known gaps
//! * SSLv2-format ClientHello, DTLS and QUIC are not decoded.
//! * Client certificates, the full chain (`chain`, `certificate` base64)
//!   and `client_handshake`/`server_handshake` objects are not logged.
//! * After a HelloRetryRequest the first ClientHello's fingerprints are kept.
//! * After a gap, resynchronisation can latch onto a handshake record that
//!   continues a message split before the gap; such a direction is abandoned
//!   if the bytes do not form a known handshake message type.

mod event;
mod parser;
mod state;

pub use event::{JaFingerprint, TlsEvent};
pub use parser::{
    is_grease, ja3, ja3s, ja4, parse_cert_der, parse_certificate_msg, parse_client_hello,
    parse_server_hello, version_string, CertInfo, ClientHello, ServerHello,
};
pub use state::{probe, Probe, TlsState, MAX_HANDSHAKE_MSG, RESYNC_LIMIT};
