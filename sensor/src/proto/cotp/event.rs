//! What the COTP layer hands to the integrator: connection management
//! PDUs and reassembled TSDUs.
//!
//! COTP is a transport; it has no EVE object and no [`rules::ot::Op`] of its
//! own. The TSDUs go to S7comm, S7comm-plus or the ISO session / MMS
//! decoder (see [`super::classify_tsdu`]).

use std::borrow::Cow;

use super::parser::Tsap;

/// One COTP-level event of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CotpEvent<'a> {
    /// CR: the client asks for a transport connection.
    ConnectRequest {
        /// Direction of the PDU.
        to_server: bool,
        /// Source reference.
        src_ref: u16,
        /// Destination reference (0 in a CR).
        dst_ref: u16,
        /// Proposed protocol class.
        class: u8,
        /// Calling TSAP (S7: `0100` PG, `0200` OP, `0300` other).
        src_tsap: Option<Tsap>,
        /// Called TSAP (S7: `01xy`/`02xy`/`03xy`, rack and slot in `xy`).
        dst_tsap: Option<Tsap>,
        /// Proposed maximum TPDU size in bytes.
        tpdu_size: Option<u32>,
    },
    /// CC: the server accepts.
    ConnectConfirm {
        /// Direction of the PDU.
        to_server: bool,
        /// Source reference.
        src_ref: u16,
        /// Destination reference.
        dst_ref: u16,
        /// Selected protocol class.
        class: u8,
        /// Calling TSAP echoed.
        src_tsap: Option<Tsap>,
        /// Called TSAP echoed.
        dst_tsap: Option<Tsap>,
        /// Selected maximum TPDU size in bytes.
        tpdu_size: Option<u32>,
    },
    /// DR (`confirm == false`, with its reason) or DC (`confirm == true`).
    Disconnect {
        /// Direction of the PDU.
        to_server: bool,
        /// DC rather than DR.
        confirm: bool,
        /// Source reference.
        src_ref: u16,
        /// Destination reference.
        dst_ref: u16,
        /// DR reason code (ISO 8073 §13.5.3 e).
        reason: Option<u8>,
    },
    /// ER: the peer rejected a TPDU.
    Error {
        /// Direction of the PDU.
        to_server: bool,
        /// Reject cause (ISO 8073 §13.12.3 d).
        cause: u8,
    },
    /// ED: expedited data (not used by class 0; passed through).
    ExpeditedData {
        /// Direction of the PDU.
        to_server: bool,
        /// User data.
        data: Cow<'a, [u8]>,
    },
    /// A complete TSDU (one DT with EOT, or the concatenation of DTs up to
    /// the one with EOT). Borrowed when it was a single DT.
    Data {
        /// Direction of the TSDU.
        to_server: bool,
        /// The reassembled TSDU.
        tsdu: Cow<'a, [u8]>,
    },
}

impl CotpEvent<'_> {
    /// Copy out borrowed bytes so the event can outlive the input slice.
    pub fn into_owned(self) -> CotpEvent<'static> {
        match self {
            CotpEvent::ConnectRequest {
                to_server,
                src_ref,
                dst_ref,
                class,
                src_tsap,
                dst_tsap,
                tpdu_size,
            } => CotpEvent::ConnectRequest {
                to_server,
                src_ref,
                dst_ref,
                class,
                src_tsap,
                dst_tsap,
                tpdu_size,
            },
            CotpEvent::ConnectConfirm {
                to_server,
                src_ref,
                dst_ref,
                class,
                src_tsap,
                dst_tsap,
                tpdu_size,
            } => CotpEvent::ConnectConfirm {
                to_server,
                src_ref,
                dst_ref,
                class,
                src_tsap,
                dst_tsap,
                tpdu_size,
            },
            CotpEvent::Disconnect {
                to_server,
                confirm,
                src_ref,
                dst_ref,
                reason,
            } => CotpEvent::Disconnect {
                to_server,
                confirm,
                src_ref,
                dst_ref,
                reason,
            },
            CotpEvent::Error { to_server, cause } => CotpEvent::Error { to_server, cause },
            CotpEvent::ExpeditedData { to_server, data } => CotpEvent::ExpeditedData {
                to_server,
                data: Cow::Owned(data.into_owned()),
            },
            CotpEvent::Data { to_server, tsdu } => CotpEvent::Data {
                to_server,
                tsdu: Cow::Owned(tsdu.into_owned()),
            },
        }
    }

    /// Direction of the PDU or TSDU.
    pub fn to_server(&self) -> bool {
        match self {
            CotpEvent::ConnectRequest { to_server, .. }
            | CotpEvent::ConnectConfirm { to_server, .. }
            | CotpEvent::Disconnect { to_server, .. }
            | CotpEvent::Error { to_server, .. }
            | CotpEvent::ExpeditedData { to_server, .. }
            | CotpEvent::Data { to_server, .. } => *to_server,
        }
    }
}
