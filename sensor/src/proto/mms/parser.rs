//! Pure parsing of one COTP TSDU: ISO 8327 session SPDUs, ISO 8823
//! presentation PPDUs, ISO 8650 ACSE APDUs and ISO 9506 MMS PDUs. Also the
//! MMS `Data` decoder shared with GOOSE.

use super::event::MmsMessage;
use crate::proto::ber::{self, BerError, Class, Tlv};
use serde::{Serialize, Serializer};

/// Longest string (identifier, name, text value) kept, in bytes.
pub const MAX_STR: usize = 256;
/// Most list entries kept per message (variables, names, files, data).
pub const MAX_ITEMS: usize = 64;
/// Deepest nesting of `Data` structures/arrays decoded.
pub const MAX_DATA_DEPTH: usize = 8;
/// Most `Data` nodes (all levels) decoded per message.
pub const MAX_DATA_NODES: usize = 256;
/// Most PDVs / embedded PDUs taken from one TSDU.
pub const MAX_PDUS: usize = 8;

/// Why a TSDU or PDU could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmsError {
    /// Empty input.
    Empty,
    /// A BER error in the presentation, ACSE or MMS layer.
    Ber(BerError),
    /// Session SPDU header or parameter truncated.
    Session,
    /// Not an MMS PDU (tag outside the MMSpdu CHOICE).
    NotMms,
    /// A mandatory element is missing or has the wrong type.
    Malformed,
}

impl From<BerError> for MmsError {
    fn from(e: BerError) -> MmsError {
        MmsError::Ber(e)
    }
}

// ---------------------------------------------------------------------------
// Session layer (ISO 8327-1)

/// Kind of the session SPDU that carried the user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spdu {
    Connect,
    Accept,
    Refuse,
    Data,
    Finish,
    Disconnect,
    NotFinished,
    Abort,
    AbortAccept,
    /// Other SPDU types (SI value).
    Other(u8),
    /// No session layer: the TSDU starts with an MMS PDU (seen from some
    /// tools and test generators).
    Bare,
}

/// A TSDU split into its session SPDU kind and the presentation user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tsdu<'a> {
    pub spdu: Spdu,
    /// Presentation PPDU bytes (or the MMS PDU for [`Spdu::Bare`]).
    pub user_data: Option<&'a [u8]>,
}

const SI_DT_GT: u8 = 1; // DATA TRANSFER / GIVE TOKENS
const SI_PT: u8 = 2; // PLEASE TOKENS
const SI_NOT_FINISHED: u8 = 8;
const SI_FINISH: u8 = 9;
const SI_DISCONNECT: u8 = 10;
const SI_REFUSE: u8 = 12;
const SI_CONNECT: u8 = 13;
const SI_ACCEPT: u8 = 14;
const SI_ABORT: u8 = 25;
const SI_ABORT_ACCEPT: u8 = 26;
const SI_TYPED_DATA: u8 = 33;
/// Session User Data parameter (PGI 193) and Extended User Data (PGI 194).
const PI_USER_DATA: u8 = 193;
const PI_EXT_USER_DATA: u8 = 194;

/// SPDU header: SI, LI (one octet, or 0xff and two octets). Returns
/// (SI, parameter bytes, bytes after the parameters). A LI larger than the
/// TSDU is clipped.
fn spdu_header(d: &[u8]) -> Result<(u8, &[u8], &[u8]), MmsError> {
    let (&si, rest) = d.split_first().ok_or(MmsError::Session)?;
    let (&l0, rest) = rest.split_first().ok_or(MmsError::Session)?;
    let (len, rest) = if l0 == 0xff {
        match rest {
            [a, b, r @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), r),
            _ => return Err(MmsError::Session),
        }
    } else {
        (usize::from(l0), rest)
    };
    let len = len.min(rest.len());
    Ok((si, &rest[..len], &rest[len..]))
}

/// Find the User Data parameter among the SPDU parameters. A zero-length
/// User Data parameter followed by more bytes (a server quirk seen in the
/// test captures: the PPDU follows the parameter instead of being inside
/// it) yields the rest of the TSDU.
fn session_user_data<'a>(params: &'a [u8], after: &'a [u8]) -> Option<&'a [u8]> {
    let mut p = params;
    while let [code, l0, rest @ ..] = p {
        let (len, rest) = if *l0 == 0xff {
            match rest {
                [a, b, r @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), r),
                _ => return None,
            }
        } else {
            (usize::from(*l0), rest)
        };
        let value = rest.get(..len).unwrap_or(rest);
        if *code == PI_USER_DATA || *code == PI_EXT_USER_DATA {
            if !value.is_empty() {
                return Some(value);
            }
            // Quirk: empty user data, the PPDU follows.
            let tail = &rest[value.len()..];
            if !tail.is_empty() {
                return Some(tail);
            }
            return Some(after).filter(|a| !a.is_empty());
        }
        p = &rest[value.len()..];
    }
    None
}

/// Split a TSDU into SPDU kind and user data (ISO 8327-1 §8).
pub fn parse_session(tsdu: &[u8]) -> Result<Tsdu<'_>, MmsError> {
    let first = *tsdu.first().ok_or(MmsError::Empty)?;
    if first >= 0x80 {
        // Context-class tag: an MMS PDU without session/presentation.
        return Ok(Tsdu {
            spdu: Spdu::Bare,
            user_data: Some(tsdu),
        });
    }
    let (si, params, after) = spdu_header(tsdu)?;
    match si {
        SI_DT_GT | SI_PT => {
            // Category 0 (GIVE/PLEASE TOKENS) concatenated with a category 2
            // SPDU, or a DATA TRANSFER on its own.
            if matches!(after.first(), Some(&SI_DT_GT) | Some(&SI_TYPED_DATA)) {
                let (_, _, user) = spdu_header(after)?;
                return Ok(Tsdu {
                    spdu: Spdu::Data,
                    user_data: Some(user).filter(|u| !u.is_empty()),
                });
            }
            Ok(Tsdu {
                spdu: Spdu::Data,
                user_data: Some(after).filter(|u| !u.is_empty()),
            })
        }
        SI_TYPED_DATA => Ok(Tsdu {
            spdu: Spdu::Data,
            user_data: Some(after).filter(|u| !u.is_empty()),
        }),
        _ => {
            let spdu = match si {
                SI_CONNECT => Spdu::Connect,
                SI_ACCEPT => Spdu::Accept,
                SI_REFUSE => Spdu::Refuse,
                SI_FINISH => Spdu::Finish,
                SI_DISCONNECT => Spdu::Disconnect,
                SI_NOT_FINISHED => Spdu::NotFinished,
                SI_ABORT => Spdu::Abort,
                SI_ABORT_ACCEPT => Spdu::AbortAccept,
                other => Spdu::Other(other),
            };
            Ok(Tsdu {
                spdu,
                user_data: session_user_data(params, after),
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Presentation layer (ISO 8823-1)

/// Collect the presentation data values (embedded PDU encodings) of a
/// PPDU: CP-type / CPA-PPDU / CPR-PPDU (user data inside the
/// normal-mode parameters), ARU-PPDU, or bare User-data (DT).
pub fn presentation_pdvs<'a>(ppdu: &'a [u8], out: &mut Vec<&'a [u8]>) -> Result<(), MmsError> {
    let t = ber::read_one(ppdu)?;
    match (t.class, t.tag, t.constructed) {
        // User-data: fully-encoded-data / simply-encoded-data.
        (Class::Application, 1, true) | (Class::Application, 0, false) => user_data(&t, out),
        // CP-type / CPA-PPDU (SET), CPR-PPDU (SEQUENCE), ARU-PPDU ([0]).
        (Class::Universal, 17, true) | (Class::Universal, 16, true) | (Class::Context, 0, true) => {
            for c in t.children() {
                if c.ctx(2) && c.constructed {
                    for u in c.children() {
                        user_data(&u, out);
                    }
                } else {
                    user_data(&c, out);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn user_data<'a>(t: &Tlv<'a>, out: &mut Vec<&'a [u8]>) {
    match (t.class, t.tag, t.constructed) {
        (Class::Application, 0, false) if out.len() < MAX_PDUS => out.push(t.value),
        (Class::Application, 1, true) => {
            // SEQUENCE OF PDV-list { transfer-syntax-name OID OPTIONAL,
            // presentation-context-identifier INTEGER,
            // presentation-data-values CHOICE { single-ASN1-type [0],
            // octet-aligned [1] IMPLICIT OCTET STRING, arbitrary [2] } }
            for pdv in t.children() {
                for v in pdv.children() {
                    if (v.ctx(0) || v.ctx(1)) && out.len() < MAX_PDUS {
                        out.push(v.value);
                    }
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// ACSE (ISO 8650-1)

/// ACSE APDU kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcseKind {
    /// A-ASSOCIATE request.
    Aarq,
    /// A-ASSOCIATE response.
    Aare,
    /// A-RELEASE request.
    Rlrq,
    /// A-RELEASE response.
    Rlre,
    /// A-ABORT.
    Abrt,
}

/// What an ACSE APDU says, and the MMS PDUs in its user information.
#[derive(Clone, Debug, PartialEq)]
pub struct Acse<'a> {
    pub kind: AcseKind,
    /// Fields logged in the initiate / abort event (ACSE part).
    pub info: MmsMessage,
    pub mms: Vec<&'a [u8]>,
}

/// AP-title CHOICE: form 2 is an OBJECT IDENTIFIER.
fn ap_title(t: &Tlv) -> Option<String> {
    let inner = t.first()?;
    if inner.is(Class::Universal, 6) {
        inner.oid()
    } else {
        Some(ber::hex(inner.value, 32))
    }
}

fn explicit_int(t: &Tlv) -> Option<i64> {
    t.first().and_then(|i| i.int())
}

/// Parse an ACSE APDU (tag [APPLICATION 0..4]).
pub fn parse_acse<'a>(t: &Tlv<'a>) -> Option<Acse<'a>> {
    let kind = match t.tag {
        0 => AcseKind::Aarq,
        1 => AcseKind::Aare,
        2 => AcseKind::Rlrq,
        3 => AcseKind::Rlre,
        4 => AcseKind::Abrt,
        _ => return None,
    };
    let mut info = MmsMessage::default();
    let mut mms = Vec::new();
    for c in t.children() {
        if c.class != Class::Context {
            continue;
        }
        match (kind, c.tag) {
            (_, 30) => {
                // user-information: SEQUENCE OF EXTERNAL { direct-reference
                // OID OPTIONAL, indirect-reference INTEGER OPTIONAL,
                // encoding CHOICE { single-ASN1-type [0], octet-aligned [1],
                // arbitrary [2] } }
                for ext in c.children() {
                    for e in ext.children() {
                        if (e.ctx(0) || e.ctx(1)) && mms.len() < MAX_PDUS {
                            mms.push(e.value);
                        }
                    }
                }
            }
            (AcseKind::Aarq | AcseKind::Aare, 1) => {
                info.application_context = c.first().and_then(|o| o.oid());
            }
            (AcseKind::Aarq, 2) => info.called_ap_title = ap_title(&c),
            (AcseKind::Aarq, 3) => info.called_ae_qualifier = explicit_int(&c),
            (AcseKind::Aarq, 6) | (AcseKind::Aare, 4) => info.ap_title = ap_title(&c),
            (AcseKind::Aarq, 7) | (AcseKind::Aare, 5) => info.ae_qualifier = explicit_int(&c),
            (AcseKind::Aarq, 11) | (AcseKind::Aare, 9) => info.auth_mechanism = c.oid(),
            (AcseKind::Aarq, 12) | (AcseKind::Aare, 10) => {
                // Authentication-value CHOICE { charstring [0], bitstring [1],
                // external [2], other [3] }. The value itself (a password)
                // is never logged.
                info.authentication = c.first().map(|v| match (v.class, v.tag) {
                    (Class::Context, 0) => "password",
                    (Class::Context, 1) => "bitstring",
                    (Class::Context, 2) => "external",
                    (Class::Context, 3) => "other",
                    _ => "unknown",
                });
            }
            (AcseKind::Aare, 2) => info.acse_result = explicit_int(&c),
            (AcseKind::Rlrq | AcseKind::Rlre | AcseKind::Abrt, 0) => {
                info.acse_result = c.int();
            }
            _ => {}
        }
    }
    Some(Acse { kind, info, mms })
}

// ---------------------------------------------------------------------------
// MMS (ISO 9506-2)

/// One decoded MMS PDU (the `MMSpdu` CHOICE).
#[derive(Clone, Debug, PartialEq)]
pub enum MmsPdu {
    /// [0] confirmed-RequestPDU.
    ConfirmedRequest {
        invoke_id: u32,
        service: u32,
        msg: MmsMessage,
    },
    /// [1] confirmed-ResponsePDU; `service` is `None` when the response
    /// carries no service element.
    ConfirmedResponse {
        invoke_id: u32,
        service: Option<u32>,
        msg: MmsMessage,
    },
    /// [2] confirmed-ErrorPDU.
    ConfirmedError { invoke_id: u32, msg: MmsMessage },
    /// [3] unconfirmed-PDU.
    Unconfirmed { service: u32, msg: MmsMessage },
    /// [4] rejectPDU.
    Reject {
        invoke_id: Option<u32>,
        msg: MmsMessage,
    },
    /// [5] cancel-RequestPDU.
    CancelRequest { invoke_id: u32 },
    /// [6] cancel-ResponsePDU.
    CancelResponse { invoke_id: u32 },
    /// [7] cancel-ErrorPDU.
    CancelError { invoke_id: u32, msg: MmsMessage },
    /// [8] initiate-RequestPDU.
    InitiateRequest(MmsMessage),
    /// [9] initiate-ResponsePDU.
    InitiateResponse(MmsMessage),
    /// [10] initiate-ErrorPDU.
    InitiateError(MmsMessage),
    /// [11] conclude-RequestPDU.
    ConcludeRequest,
    /// [12] conclude-ResponsePDU.
    ConcludeResponse,
    /// [13] conclude-ErrorPDU.
    ConcludeError(MmsMessage),
}

impl MmsPdu {
    /// The MMSpdu CHOICE tag number.
    pub fn tag(&self) -> u32 {
        match self {
            MmsPdu::ConfirmedRequest { .. } => 0,
            MmsPdu::ConfirmedResponse { .. } => 1,
            MmsPdu::ConfirmedError { .. } => 2,
            MmsPdu::Unconfirmed { .. } => 3,
            MmsPdu::Reject { .. } => 4,
            MmsPdu::CancelRequest { .. } => 5,
            MmsPdu::CancelResponse { .. } => 6,
            MmsPdu::CancelError { .. } => 7,
            MmsPdu::InitiateRequest(_) => 8,
            MmsPdu::InitiateResponse(_) => 9,
            MmsPdu::InitiateError(_) => 10,
            MmsPdu::ConcludeRequest => 11,
            MmsPdu::ConcludeResponse => 12,
            MmsPdu::ConcludeError(_) => 13,
        }
    }
}

/// ConfirmedServiceRequest / Response CHOICE names (ISO 9506-2 §7.5),
/// indexed by context tag.
pub const SERVICES: [&str; 78] = [
    "status",
    "get_name_list",
    "identify",
    "rename",
    "read",
    "write",
    "get_variable_access_attributes",
    "define_named_variable",
    "define_scattered_access",
    "get_scattered_access_attributes",
    "delete_variable_access",
    "define_named_variable_list",
    "get_named_variable_list_attributes",
    "delete_named_variable_list",
    "define_named_type",
    "get_named_type_attributes",
    "delete_named_type",
    "input",
    "output",
    "take_control",
    "relinquish_control",
    "define_semaphore",
    "delete_semaphore",
    "report_semaphore_status",
    "report_pool_semaphore_status",
    "report_semaphore_entry_status",
    "initiate_download_sequence",
    "download_segment",
    "terminate_download_sequence",
    "initiate_upload_sequence",
    "upload_segment",
    "terminate_upload_sequence",
    "request_domain_download",
    "request_domain_upload",
    "load_domain_content",
    "store_domain_content",
    "delete_domain",
    "get_domain_attributes",
    "create_program_invocation",
    "delete_program_invocation",
    "start",
    "stop",
    "resume",
    "reset",
    "kill",
    "get_program_invocation_attributes",
    "obtain_file",
    "define_event_condition",
    "delete_event_condition",
    "get_event_condition_attributes",
    "report_event_condition_status",
    "alter_event_condition_monitoring",
    "trigger_event",
    "define_event_action",
    "delete_event_action",
    "get_event_action_attributes",
    "report_event_action_status",
    "define_event_enrollment",
    "delete_event_enrollment",
    "alter_event_enrollment",
    "report_event_enrollment_status",
    "get_event_enrollment_attributes",
    "acknowledge_event_notification",
    "get_alarm_summary",
    "get_alarm_enrollment_summary",
    "read_journal",
    "write_journal",
    "initialize_journal",
    "report_journal_status",
    "create_journal",
    "delete_journal",
    "get_capability_list",
    "file_open",
    "file_read",
    "file_close",
    "file_rename",
    "file_delete",
    "file_directory",
];

/// Name of a confirmed service tag.
pub fn service_name(tag: u32) -> &'static str {
    SERVICES.get(tag as usize).copied().unwrap_or("unknown")
}

/// UnconfirmedService CHOICE names.
pub fn unconfirmed_name(tag: u32) -> &'static str {
    match tag {
        0 => "information_report",
        1 => "unsolicited_status",
        2 => "event_notification",
        _ => "unknown",
    }
}

const OBJECT_CLASSES: [&str; 14] = [
    "named_variable",
    "scattered_access",
    "named_variable_list",
    "named_type",
    "semaphore",
    "event_condition",
    "event_action",
    "event_enrollment",
    "journal",
    "domain",
    "program_invocation",
    "operator_station",
    "data_exchange",
    "access_control_list",
];

pub const ERROR_CLASS_TAGS: [&str; 13] = [
    "vmd_state",
    "application_reference",
    "definition",
    "resource",
    "service",
    "service_preempt",
    "time_resolution",
    "access",
    "initiate",
    "conclude",
    "cancel",
    "file",
    "others",
];

pub const DATA_ACCESS_ERROR_NAMES: [&str; 12] = [
    "object_invalidated",
    "hardware_fault",
    "temporarily_unavailable",
    "object_access_denied",
    "object_undefined",
    "invalid_address",
    "type_unsupported",
    "type_inconsistent",
    "object_attribute_inconsistent",
    "object_access_unsupported",
    "object_non_existent",
    "object_value_invalid",
];

pub const REJECT_PDU_NAMES: [&str; 12] = [
    "unknown",
    "confirmed_request",
    "confirmed_response",
    "confirmed_error",
    "unconfirmed",
    "pdu_error",
    "cancel_request",
    "cancel_response",
    "cancel_error",
    "conclude_request",
    "conclude_response",
    "conclude_error",
];

/// Name of a ServiceError errorClass CHOICE tag.
pub fn error_class_name(tag: u32) -> &'static str {
    ERROR_CLASS_TAGS
        .get(tag as usize)
        .copied()
        .unwrap_or("unknown")
}

fn data_access_error(code: Option<i64>) -> &'static str {
    code.and_then(|c| usize::try_from(c).ok())
        .and_then(|c| DATA_ACCESS_ERROR_NAMES.get(c).copied())
        .unwrap_or("unknown")
}

/// Decode an MMS PDU (one complete BER encoding).
pub fn parse_pdu(data: &[u8]) -> Result<MmsPdu, MmsError> {
    let t = ber::read_one(data)?;
    if t.class != Class::Context {
        return Err(MmsError::NotMms);
    }
    let inv = |t: &Tlv| -> Result<u32, MmsError> {
        t.first()
            .filter(|i| i.is(Class::Universal, 2))
            .and_then(|i| i.u32())
            .ok_or(MmsError::Malformed)
    };
    Ok(match (t.tag, t.constructed) {
        (0, true) => {
            let invoke_id = inv(&t)?;
            // invokeID, listOfModifier SEQUENCE OF OPTIONAL, service.
            let svc = t
                .children()
                .skip(1)
                .find(|c| c.class == Class::Context)
                .ok_or(MmsError::Malformed)?;
            let mut msg = MmsMessage::default();
            request_detail(&svc, &mut msg);
            MmsPdu::ConfirmedRequest {
                invoke_id,
                service: svc.tag,
                msg,
            }
        }
        (1, true) => {
            let invoke_id = inv(&t)?;
            let svc = t.children().skip(1).find(|c| c.class == Class::Context);
            let mut msg = MmsMessage {
                result: Some("success"),
                ..MmsMessage::default()
            };
            if let Some(s) = &svc {
                response_detail(s, &mut msg);
            }
            MmsPdu::ConfirmedResponse {
                invoke_id,
                service: svc.map(|s| s.tag),
                msg,
            }
        }
        (2, true) => {
            // invokeID [0] IMPLICIT, modifierPosition [1] OPTIONAL,
            // serviceError [2] IMPLICIT ServiceError.
            let invoke_id = t
                .child_ctx(0)
                .and_then(|i| i.u32())
                .ok_or(MmsError::Malformed)?;
            let mut msg = MmsMessage::default();
            if let Some(e) = t.child_ctx(2) {
                service_error(&e, &mut msg);
            }
            msg.result = Some("error");
            MmsPdu::ConfirmedError { invoke_id, msg }
        }
        (3, true) => {
            let svc = t
                .first()
                .filter(|c| c.class == Class::Context)
                .ok_or(MmsError::Malformed)?;
            let mut msg = MmsMessage::default();
            unconfirmed_detail(&svc, &mut msg);
            MmsPdu::Unconfirmed {
                service: svc.tag,
                msg,
            }
        }
        (4, true) => {
            // originalInvokeID [0] OPTIONAL, rejectReason CHOICE [1..11].
            let invoke_id = t.child_ctx(0).and_then(|i| i.u32());
            let mut msg = MmsMessage {
                result: Some("reject"),
                ..MmsMessage::default()
            };
            if let Some(r) = t
                .children()
                .find(|c| c.class == Class::Context && c.tag != 0)
            {
                msg.reject_pdu = Some(
                    REJECT_PDU_NAMES
                        .get(r.tag as usize)
                        .copied()
                        .unwrap_or("unknown"),
                );
                msg.reject_code = r.int();
            }
            MmsPdu::Reject { invoke_id, msg }
        }
        (5, false) => MmsPdu::CancelRequest {
            invoke_id: t.u32().ok_or(MmsError::Malformed)?,
        },
        (6, false) => MmsPdu::CancelResponse {
            invoke_id: t.u32().ok_or(MmsError::Malformed)?,
        },
        (7, true) => {
            let invoke_id = t
                .child_ctx(0)
                .and_then(|i| i.u32())
                .ok_or(MmsError::Malformed)?;
            let mut msg = MmsMessage::default();
            if let Some(e) = t.child_ctx(1) {
                service_error(&e, &mut msg);
            }
            msg.result = Some("error");
            MmsPdu::CancelError { invoke_id, msg }
        }
        (8, true) => MmsPdu::InitiateRequest(initiate_detail(&t)),
        (9, true) => {
            let mut m = initiate_detail(&t);
            m.result = Some("success");
            MmsPdu::InitiateResponse(m)
        }
        (10, true) => {
            let mut msg = MmsMessage::default();
            service_error(&t, &mut msg);
            msg.result = Some("error");
            MmsPdu::InitiateError(msg)
        }
        (11, false) => MmsPdu::ConcludeRequest,
        (12, false) => MmsPdu::ConcludeResponse,
        (13, true) => {
            let mut msg = MmsMessage::default();
            service_error(&t, &mut msg);
            msg.result = Some("error");
            MmsPdu::ConcludeError(msg)
        }
        _ => return Err(MmsError::NotMms),
    })
}

/// ServiceError ::= SEQUENCE { errorClass [0] CHOICE { vmd-state [0] ..
/// others [12] INTEGER }, additionalCode [1] OPTIONAL, additionalDescription
/// [2] OPTIONAL, serviceSpecificInformation [3] OPTIONAL }
fn service_error(t: &Tlv, msg: &mut MmsMessage) {
    if let Some(c) = t.child_ctx(0).and_then(|c| c.first()) {
        msg.error_class = Some(error_class_name(c.tag));
        msg.error_code = c.int();
    }
}

/// initiate-Request/ResponsePDU ::= SEQUENCE { localDetail [0],
/// maxServOutstandingCalling [1], maxServOutstandingCalled [2],
/// dataStructureNestingLevel [3] OPTIONAL, initDetail [4] SEQUENCE {
/// versionNumber [0], parameterCBB [1] BIT STRING, servicesSupported [2]
/// BIT STRING } }
fn initiate_detail(t: &Tlv) -> MmsMessage {
    let mut m = MmsMessage::default();
    for c in t.children() {
        match c.tag {
            0 => m.local_detail = c.int(),
            1 => m.max_serv_outstanding_calling = c.int(),
            2 => m.max_serv_outstanding_called = c.int(),
            3 => m.data_structure_nesting_level = c.int(),
            4 => {
                for d in c.children() {
                    match d.tag {
                        0 => m.version = d.int(),
                        1 => m.parameter_cbb = Some(ber::hex(d.value, 16)),
                        2 => m.services_supported = Some(ber::hex(d.value, 16)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    m
}

// --- names -----------------------------------------------------------------

fn push_bounded(v: &mut Vec<String>, s: String, truncated: &mut bool) {
    if v.len() < MAX_ITEMS {
        v.push(s);
    } else {
        *truncated = true;
    }
}

/// ObjectName ::= CHOICE { vmd-specific [0] Identifier, domain-specific [1]
/// SEQUENCE { domainId, itemId }, aa-specific [2] Identifier }, written
/// `item`, `domain/item` and `@item`.
pub fn object_name(t: &Tlv) -> Option<String> {
    match (t.class, t.tag) {
        (Class::Context, 0) => Some(t.text(MAX_STR)),
        (Class::Context, 1) => {
            let mut it = t.children();
            let d = it.next()?;
            let i = it.next()?;
            let mut s = d.text(MAX_STR);
            s.push('/');
            s.push_str(&i.text(MAX_STR));
            Some(s)
        }
        (Class::Context, 2) => Some(format!("@{}", t.text(MAX_STR))),
        _ => None,
    }
}

/// An EXPLICIT-tagged ObjectName (the tag wraps the CHOICE).
fn explicit_object_name(t: &Tlv) -> Option<String> {
    t.first().and_then(|n| object_name(&n))
}

/// FileName ::= SEQUENCE OF GraphicString, components joined with '/'.
fn file_name(t: &Tlv) -> String {
    let mut s = String::new();
    for (i, c) in t.children().take(16).enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&c.text(MAX_STR));
        if s.len() > MAX_STR {
            break;
        }
    }
    s
}

/// VariableSpecification ::= CHOICE { name [0] ObjectName, address [1],
/// variableDescription [2], scatteredAccessDescription [3], invalidated [4] }
fn variable_specification(t: &Tlv, msg: &mut MmsMessage) {
    let name = match t.tag {
        0 => explicit_object_name(t),
        1 => Some("address".to_owned()),
        2 => Some("variable_description".to_owned()),
        3 => Some("scattered_access".to_owned()),
        _ => None,
    };
    if let Some(n) = name {
        push_bounded(&mut msg.variables, n, &mut msg.truncated);
    }
}

/// SEQUENCE OF SEQUENCE { variableSpecification, alternateAccess [5] OPTIONAL }
fn list_of_variable(t: &Tlv, msg: &mut MmsMessage) {
    for item in t.children() {
        if let Some(spec) = item.first() {
            variable_specification(&spec, msg);
        }
    }
}

/// VariableAccessSpecification ::= CHOICE { listOfVariable [0],
/// variableListName [1] ObjectName }
fn variable_access_spec(t: &Tlv, msg: &mut MmsMessage) {
    match t.tag {
        0 => list_of_variable(t, msg),
        1 => msg.variable_list = explicit_object_name(t),
        _ => {}
    }
}

fn identifiers(t: &Tlv, out: &mut Vec<String>, truncated: &mut bool) {
    for c in t.children() {
        push_bounded(out, c.text(MAX_STR), truncated);
    }
}

fn object_names(t: &Tlv, out: &mut Vec<String>, truncated: &mut bool) {
    for c in t.children() {
        if let Some(n) = object_name(&c) {
            push_bounded(out, n, truncated);
        }
    }
}

fn set_files(t: &Tlv, msg: &mut MmsMessage) {
    push_bounded(&mut msg.files, file_name(t), &mut msg.truncated);
}

// --- request / response details ----------------------------------------------

/// Fill `msg` from a ConfirmedServiceRequest element.
fn request_detail(s: &Tlv, msg: &mut MmsMessage) {
    match s.tag {
        1 => {
            // getNameList: objectClass [0] CHOICE { basicObjectClass [0] },
            // objectScope [1] CHOICE { vmdSpecific [0], domainSpecific [1]
            // Identifier, aaSpecific [2] }, continueAfter [2] OPTIONAL.
            for c in s.children() {
                match c.tag {
                    0 => {
                        msg.object_class = c.first().and_then(|o| o.int()).map(|n| {
                            usize::try_from(n)
                                .ok()
                                .and_then(|n| OBJECT_CLASSES.get(n).copied())
                                .unwrap_or("unknown")
                        })
                    }
                    1 => {
                        if let Some(sc) = c.first() {
                            msg.scope = match sc.tag {
                                0 => Some("vmd"),
                                1 => {
                                    msg.domain = Some(sc.text(MAX_STR));
                                    Some("domain")
                                }
                                2 => Some("aa"),
                                _ => None,
                            }
                        }
                    }
                    2 => msg.continue_after = Some(c.text(MAX_STR)),
                    _ => {}
                }
            }
        }
        3 => {
            // rename: extendedObjectClass [0], currentName [1], newIdentifier [2].
            for c in s.children() {
                match c.tag {
                    1 => msg.object_name = explicit_object_name(&c),
                    2 => push_bounded(&mut msg.names, c.text(MAX_STR), &mut msg.truncated),
                    _ => {}
                }
            }
        }
        4 => {
            // read: specificationWithResult [0], variableAccessSpecification [1].
            if let Some(v) = s.child_ctx(1).and_then(|v| v.first()) {
                variable_access_spec(&v, msg);
            }
        }
        5 => {
            // write: variableAccessSpecification, listOfData [0].
            let mut it = s.children();
            if let Some(v) = it.next() {
                variable_access_spec(&v, msg);
            }
            if let Some(d) = it.next() {
                list_of_data(&d, msg);
            }
        }
        6 => {
            // getVariableAccessAttributes: CHOICE { name [0], address [1] }.
            if let Some(c) = s.first() {
                variable_specification(&c, msg);
            }
        }
        7 | 8 | 14 => {
            // defineNamedVariable / defineScatteredAccess / defineNamedType:
            // the name is the first element.
            if let Some(n) = s.first().and_then(|n| object_name(&n)) {
                if s.tag == 7 {
                    push_bounded(&mut msg.variables, n, &mut msg.truncated);
                } else {
                    msg.object_name = Some(n);
                }
            }
        }
        9 | 15 | 22 | 23 | 49 | 50 | 55 | 56 | 60 | 68 => {
            msg.object_name = explicit_object_name(s);
        }
        10 | 13 | 16 => {
            // delete*: scopeOfDelete [0], listOfName [1], domainName [2].
            for c in s.children() {
                match c.tag {
                    1 => {
                        let mut names = Vec::new();
                        object_names(&c, &mut names, &mut msg.truncated);
                        if s.tag == 13 {
                            msg.variable_list = names.first().cloned();
                        }
                        if s.tag == 10 {
                            msg.variables = names;
                        } else {
                            msg.names = names;
                        }
                    }
                    2 => msg.domain = Some(c.text(MAX_STR)),
                    _ => {}
                }
            }
        }
        11 => {
            // defineNamedVariableList: variableListName, listOfVariable [0].
            for c in s.children() {
                if c.ctx(0) && c.constructed {
                    list_of_variable(&c, msg);
                } else if msg.variable_list.is_none() {
                    msg.variable_list = object_name(&c);
                }
            }
        }
        12 => msg.variable_list = explicit_object_name(s),
        17 | 18 => {
            // input / output: operatorStationName [0].
            if let Some(c) = s.child_ctx(0) {
                msg.object_name = Some(c.text(MAX_STR));
            }
        }
        19 | 20 | 21 | 24 | 25 | 47 | 51 | 52 | 53 | 57 | 59 | 62 | 65 | 66 | 67 | 69 | 70 => {
            // SEQUENCE whose element [0] is the ObjectName.
            if let Some(c) = s.child_ctx(0) {
                msg.object_name = explicit_object_name(&c);
            }
        }
        48 | 54 | 58 => {
            // delete event condition/action/enrollment: CHOICE { specific
            // [0] SEQUENCE OF ObjectName, aa-specific [1], domain [2]
            // Identifier, vmd [3] }.
            if let Some(c) = s.first() {
                match c.tag {
                    0 => object_names(&c, &mut msg.names, &mut msg.truncated),
                    2 => msg.domain = Some(c.text(MAX_STR)),
                    _ => {}
                }
            }
        }
        61 => {
            if let Some(c) = s.child_ctx(1) {
                object_names(&c, &mut msg.names, &mut msg.truncated);
            }
        }
        26 | 32 | 34 => {
            // initiateDownloadSequence / requestDomainDownload /
            // loadDomainContent: domainName [0], listOfCapabilities [1],
            // sharable [2], fileName [4].
            for c in s.children() {
                match c.tag {
                    0 => msg.domain = Some(c.text(MAX_STR)),
                    1 => identifiers(&c, &mut msg.names, &mut msg.truncated),
                    4 => set_files(&c, msg),
                    _ => {}
                }
            }
        }
        33 | 35 => {
            // requestDomainUpload / storeDomainContent: domainName [0],
            // fileName [1].
            for c in s.children() {
                match c.tag {
                    0 => msg.domain = Some(c.text(MAX_STR)),
                    1 => set_files(&c, msg),
                    _ => {}
                }
            }
        }
        27 | 29 | 36 | 37 => msg.domain = Some(s.text(MAX_STR)),
        28 => {
            if let Some(c) = s.child_ctx(0) {
                msg.domain = Some(c.text(MAX_STR));
            }
        }
        30 | 31 => msg.ulsm_id = s.int(),
        38 => {
            // createProgramInvocation: name [0], listOfDomainName [1].
            for c in s.children() {
                match c.tag {
                    0 => msg.program_invocation = Some(c.text(MAX_STR)),
                    1 => identifiers(&c, &mut msg.names, &mut msg.truncated),
                    _ => {}
                }
            }
        }
        39 | 45 => msg.program_invocation = Some(s.text(MAX_STR)),
        40..=44 => {
            if let Some(c) = s.child_ctx(0) {
                msg.program_invocation = Some(c.text(MAX_STR));
            }
        }
        46 => {
            // obtainFile: sourceFileServer [0], sourceFile [1], destinationFile [2].
            for c in s.children() {
                if c.ctx(1) || c.ctx(2) {
                    set_files(&c, msg);
                }
            }
        }
        71 => {
            if let Some(c) = s.first() {
                msg.continue_after = Some(c.text(MAX_STR));
            }
        }
        72 | 75 | 77 => {
            // fileOpen: fileName [0], initialPosition [1]; fileRename:
            // current [0], new [1]; fileDirectory: spec [0], continueAfter [1].
            for c in s.children() {
                if c.constructed && (c.ctx(0) || (s.tag == 75 && c.ctx(1))) {
                    set_files(&c, msg);
                }
            }
        }
        73 | 74 => msg.frsm_id = s.int(),
        76 => set_files(s, msg),
        _ => {}
    }
}

const LOGICAL_STATUS: [&str; 4] = [
    "state_changes_allowed",
    "no_state_changes_allowed",
    "limited_services_permitted",
    "support_services_allowed",
];
const PHYSICAL_STATUS: [&str; 4] = [
    "operational",
    "partially_operational",
    "inoperable",
    "needs_commissioning",
];

fn status_detail(s: &Tlv, msg: &mut MmsMessage) {
    let pick = |t: &[&'static str; 4], v: Option<i64>| {
        v.and_then(|v| usize::try_from(v).ok())
            .and_then(|v| t.get(v).copied())
            .unwrap_or("unknown")
    };
    for c in s.children() {
        match c.tag {
            0 => msg.vmd_logical_status = Some(pick(&LOGICAL_STATUS, c.int())),
            1 => msg.vmd_physical_status = Some(pick(&PHYSICAL_STATUS, c.int())),
            _ => {}
        }
    }
}

/// Fill `msg` from a ConfirmedServiceResponse element.
fn response_detail(s: &Tlv, msg: &mut MmsMessage) {
    match s.tag {
        0 => status_detail(s, msg),
        1 | 71 => {
            // getNameList / getCapabilityList: list [0], moreFollows [1].
            for c in s.children() {
                match c.tag {
                    0 => identifiers(&c, &mut msg.names, &mut msg.truncated),
                    1 => msg.more_follows = c.boolean(),
                    _ => {}
                }
            }
        }
        2 => {
            for c in s.children() {
                match c.tag {
                    0 => msg.vendor = Some(c.text(MAX_STR)),
                    1 => msg.model = Some(c.text(MAX_STR)),
                    2 => msg.revision = Some(c.text(MAX_STR)),
                    _ => {}
                }
            }
        }
        4 => {
            // read: variableAccessSpecification [0] OPTIONAL,
            // listOfAccessResult [1].
            for c in s.children() {
                match c.tag {
                    0 => {
                        if let Some(v) = c.first() {
                            variable_access_spec(&v, msg);
                        }
                    }
                    1 => list_of_data(&c, msg),
                    _ => {}
                }
            }
        }
        5 => {
            // write: SEQUENCE OF CHOICE { failure [0], success [1] }.
            for c in s.children() {
                let v = match c.tag {
                    0 => DataValue::Failure(data_access_error(c.int())),
                    _ => DataValue::Success,
                };
                if msg.data.len() < MAX_ITEMS {
                    msg.data.push(v);
                } else {
                    msg.truncated = true;
                }
            }
        }
        12 => {
            // getNamedVariableListAttributes: mmsDeletable [0], listOfVariable [1].
            if let Some(c) = s.child_ctx(1) {
                list_of_variable(&c, msg);
            }
        }
        27 | 30 | 73 => {
            // downloadSegment / uploadSegment / fileRead: data, moreFollows [1].
            if let Some(c) = s.child_ctx(1) {
                msg.more_follows = c.boolean();
            }
        }
        29 => {
            if let Some(c) = s.child_ctx(0) {
                msg.ulsm_id = c.int();
            }
        }
        72 => {
            // fileOpen: frsmID [0], fileAttributes [1] { sizeOfFile [0] }.
            for c in s.children() {
                match c.tag {
                    0 => msg.frsm_id = c.int(),
                    1 => msg.file_size = c.child_ctx(0).and_then(|z| z.uint()),
                    _ => {}
                }
            }
        }
        77 => {
            // fileDirectory: listOfDirectoryEntry [0] SEQUENCE OF SEQUENCE {
            // fileName [0], fileAttributes [1] }, moreFollows [1].
            for c in s.children() {
                match c.tag {
                    0 => {
                        for e in c.children() {
                            if let Some(f) = e.child_ctx(0) {
                                set_files(&f, msg);
                            }
                        }
                    }
                    1 => msg.more_follows = c.boolean(),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Fill `msg` from an UnconfirmedService element.
fn unconfirmed_detail(s: &Tlv, msg: &mut MmsMessage) {
    match s.tag {
        0 => {
            // informationReport: variableAccessSpecification,
            // listOfAccessResult [0].
            let mut it = s.children();
            if let Some(v) = it.next() {
                variable_access_spec(&v, msg);
            }
            if let Some(d) = it.next() {
                list_of_data(&d, msg);
            }
            // IEC 61850-8-1 reports: variable list "RPT", first value RptID.
            if msg.variable_list.as_deref() == Some("RPT") {
                if let Some(DataValue::VisibleString(id)) = msg.data.first() {
                    msg.report_id = Some(id.clone());
                }
            }
        }
        1 => status_detail(s, msg),
        2 => {
            if let Some(c) = s.child_ctx(0) {
                msg.object_name = explicit_object_name(&c);
            }
        }
        _ => {}
    }
}

fn list_of_data(t: &Tlv, msg: &mut MmsMessage) {
    let mut b = DataBounds::default();
    for c in t.children() {
        if msg.data.len() >= MAX_ITEMS {
            msg.truncated = true;
            break;
        }
        msg.data.push(decode_data(&c, 0, &mut b));
    }
    msg.truncated |= b.truncated;
}

// ---------------------------------------------------------------------------
// Data (ISO 9506-2 §14.4, used by IEC 61850 MMS and GOOSE)

/// A floating-point value: single or double precision as on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Float {
    Single(f32),
    Double(f64),
}

impl Float {
    pub fn as_f64(self) -> f64 {
        match self {
            Float::Single(v) => f64::from(v),
            Float::Double(v) => v,
        }
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Float::Single(v) => s.serialize_f32(v),
            Float::Double(v) => s.serialize_f64(v),
        }
    }
}

/// One MMS `Data` value, or an access result. Serialised as a one-key
/// object `{"<type>": value}` (`"success"` for a write success).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataValue {
    Array(Vec<DataValue>),
    Structure(Vec<DataValue>),
    Boolean(bool),
    /// Bits as '0'/'1' characters, first bit first (at most 256).
    BitString(String),
    Integer(i64),
    Unsigned(u64),
    FloatingPoint(Float),
    /// Hex of the contents (at most 64 bytes).
    OctetString(String),
    VisibleString(String),
    GeneralizedTime(String),
    /// TimeOfDay: `HH:MM:SS.mmm`, with the date when present.
    BinaryTime(String),
    Bcd(i64),
    BooleanArray(String),
    ObjId(String),
    MmsString(String),
    /// ISO 8601 UTC with nanoseconds.
    UtcTime(String),
    /// AccessResult failure (DataAccessError name).
    Failure(&'static str),
    /// Write-Response success.
    Success,
    /// Undecodable or unknown: the tag number.
    Unknown(u32),
    /// Nesting or node budget exceeded.
    Truncated,
}

/// Limits shared across one decoded list of `Data`.
#[derive(Debug)]
pub struct DataBounds {
    pub nodes_left: usize,
    pub truncated: bool,
}

impl Default for DataBounds {
    fn default() -> Self {
        DataBounds {
            nodes_left: MAX_DATA_NODES,
            truncated: false,
        }
    }
}

/// Decode one `Data` element (context-tagged CHOICE); also takes
/// AccessResult failure [0].
pub fn decode_data(t: &Tlv, depth: usize, b: &mut DataBounds) -> DataValue {
    if b.nodes_left == 0 || depth > MAX_DATA_DEPTH {
        b.truncated = true;
        return DataValue::Truncated;
    }
    b.nodes_left -= 1;
    if t.class != Class::Context {
        return DataValue::Unknown(t.tag);
    }
    let v = t.value;
    let d = match (t.tag, t.constructed) {
        (0, false) => Some(DataValue::Failure(data_access_error(t.int()))),
        (1, true) | (2, true) => {
            let mut items = Vec::new();
            for c in t.children() {
                if b.nodes_left == 0 || items.len() >= MAX_ITEMS {
                    b.truncated = true;
                    break;
                }
                items.push(decode_data(&c, depth + 1, b));
            }
            Some(if t.tag == 1 {
                DataValue::Array(items)
            } else {
                DataValue::Structure(items)
            })
        }
        (3, false) => t.boolean().map(DataValue::Boolean),
        (4, false) => bit_string(v).map(DataValue::BitString),
        (5, false) => t.int().map(DataValue::Integer),
        (6, false) => t.uint().map(DataValue::Unsigned),
        (7, false) => floating_point(v).map(DataValue::FloatingPoint),
        (9, false) => Some(DataValue::OctetString(ber::hex(v, 64))),
        (10, false) => Some(DataValue::VisibleString(t.text(MAX_STR))),
        (11, false) => Some(DataValue::GeneralizedTime(t.text(64))),
        (12, false) => binary_time(v).map(DataValue::BinaryTime),
        (13, false) => t.int().map(DataValue::Bcd),
        (14, false) => bit_string(v).map(DataValue::BooleanArray),
        (15, false) => t.oid().map(DataValue::ObjId),
        (16, false) => Some(DataValue::MmsString(t.text(MAX_STR))),
        (17, false) => utc_time(v).map(|(s, _)| DataValue::UtcTime(s)),
        _ => None,
    };
    d.unwrap_or(DataValue::Unknown(t.tag))
}

/// Flatten booleans (0/1) and numbers of a value into `out` (at most `max`).
pub fn flatten_numbers(v: &DataValue, out: &mut Vec<f64>, max: usize) {
    if out.len() >= max {
        return;
    }
    match v {
        DataValue::Boolean(b) => out.push(if *b { 1.0 } else { 0.0 }),
        DataValue::Integer(i) | DataValue::Bcd(i) => out.push(*i as f64),
        DataValue::Unsigned(u) => out.push(*u as f64),
        DataValue::FloatingPoint(f) => out.push(f.as_f64()),
        DataValue::Array(items) | DataValue::Structure(items) => {
            for i in items {
                flatten_numbers(i, out, max);
            }
        }
        _ => {}
    }
}

/// BIT STRING contents (unused-bits octet first) as '0'/'1' characters.
pub fn bit_string(v: &[u8]) -> Option<String> {
    let (&unused, bits) = v.split_first()?;
    if unused > 7 || (bits.is_empty() && unused != 0) {
        return None;
    }
    let n = (bits.len() * 8)
        .saturating_sub(usize::from(unused))
        .min(256);
    let mut s = String::with_capacity(n);
    for i in 0..n {
        let byte = bits[i / 8];
        s.push(if byte & (0x80 >> (i % 8)) != 0 {
            '1'
        } else {
            '0'
        });
    }
    Some(s)
}

/// FloatingPoint: exponent-width octet (8 = IEEE single, 11 = double), then
/// the IEEE 754 value.
pub fn floating_point(v: &[u8]) -> Option<Float> {
    match v {
        [8, a, b, c, d] => Some(Float::Single(f32::from_be_bytes([*a, *b, *c, *d]))),
        [11, r @ ..] if r.len() == 8 => {
            let mut x = [0u8; 8];
            x.copy_from_slice(r);
            Some(Float::Double(f64::from_be_bytes(x)))
        }
        _ => None,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS` for seconds since the Unix epoch.
pub fn format_unix(secs: i64) -> String {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

/// UtcTime (IEC 61850-8-1 §8.1.3.7 / ISO 9506 Ed.2): 4 octets seconds since
/// 1970, 3 octets fraction of a second (/2^24), 1 octet time quality.
/// Returns the ISO 8601 text with nanoseconds and the quality octet.
pub fn utc_time(v: &[u8]) -> Option<(String, u8)> {
    let [s0, s1, s2, s3, f0, f1, f2, q] = v else {
        return None;
    };
    let secs = u32::from_be_bytes([*s0, *s1, *s2, *s3]);
    let frac = u32::from_be_bytes([0, *f0, *f1, *f2]);
    let nanos = (u64::from(frac) * 1_000_000_000) >> 24;
    Some((format!("{}.{nanos:09}Z", format_unix(i64::from(secs))), *q))
}

/// TimeOfDay: 4 octets milliseconds since midnight, optionally 2 octets
/// days since 1984-01-01.
fn binary_time(v: &[u8]) -> Option<String> {
    let ms = match v.get(..4)? {
        [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => return None,
    };
    let secs_in_day = i64::from(ms / 1000);
    let millis = ms % 1000;
    match v.len() {
        4 => Some(format!(
            "{:02}:{:02}:{:02}.{millis:03}",
            secs_in_day / 3600,
            (secs_in_day / 60) % 60,
            secs_in_day % 60
        )),
        6 => {
            let days = i64::from(u16::from_be_bytes([v[4], v[5]]));
            // 1984-01-01 is day 5113 of the Unix epoch.
            let secs = (days + 5113) * 86_400 + secs_in_day;
            Some(format!("{}.{millis:03}Z", format_unix(secs)))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Whole TSDU

/// Everything one TSDU carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded<'a> {
    pub spdu: Spdu,
    /// ACSE APDU, when the TSDU carried one.
    pub acse: Option<Acse<'a>>,
    /// MMS PDU encodings (from PDVs or ACSE user information), in order.
    pub mms: Vec<&'a [u8]>,
}

/// Split a TSDU down to its ACSE APDU and MMS PDU encodings.
pub fn decode_tsdu(tsdu: &[u8]) -> Result<Decoded<'_>, MmsError> {
    let s = parse_session(tsdu)?;
    let mut out = Decoded {
        spdu: s.spdu,
        acse: None,
        mms: Vec::new(),
    };
    let Some(ud) = s.user_data else {
        return Ok(out);
    };
    if s.spdu == Spdu::Bare {
        out.mms.push(ud);
        return Ok(out);
    }
    let mut pdvs = Vec::new();
    presentation_pdvs(ud, &mut pdvs)?;
    for pdv in pdvs {
        let Ok(t) = ber::read_one(pdv) else {
            continue;
        };
        match t.class {
            Class::Application if t.constructed && out.acse.is_none() => {
                if let Some(a) = parse_acse(&t) {
                    for m in &a.mms {
                        if out.mms.len() < MAX_PDUS {
                            out.mms.push(m);
                        }
                    }
                    out.acse = Some(a);
                }
            }
            Class::Context if out.mms.len() < MAX_PDUS => out.mms.push(pdv),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len() / 2)
            .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }

    #[test]
    fn bare_mms_tsdu() {
        // deleteProgramInvocation without session/presentation:
        // a0 1e                       confirmed-RequestPDU
        //   02 01 01                  invokeID 1
        //   9f 27 18 "MuSecurity_Application_1"  [39] deleteProgramInvocation
        let t = unhex("a01e0201019f27184d7553656375726974795f4170706c69636174696f6e5f31");
        let d = decode_tsdu(&t).expect("tsdu");
        assert_eq!(d.spdu, Spdu::Bare);
        assert_eq!(d.mms.len(), 1);
        match parse_pdu(d.mms[0]).expect("pdu") {
            MmsPdu::ConfirmedRequest {
                invoke_id,
                service,
                msg,
            } => {
                assert_eq!(invoke_id, 1);
                assert_eq!(service, 39);
                assert_eq!(service_name(service), "delete_program_invocation");
                assert_eq!(
                    msg.program_invocation.as_deref(),
                    Some("MuSecurity_Application_1")
                );
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn session_data_transfer_read() {
        // 01 00                   GIVE TOKENS, LI 0
        // 01 00                   DATA TRANSFER, LI 0
        // 61 1d                   fully-encoded-data
        //   30 1b                 PDV-list
        //     02 01 03            presentation-context-identifier 3
        //     a0 16               single-ASN1-type
        //       a0 14             confirmed-RequestPDU
        //         02 01 00        invokeID 0
        //         a4 0f           read
        //           80 01 00      specificationWithResult FALSE
        //           a1 0a         variableAccessSpecification
        //             a0 08       listOfVariable
        //               30 06 a0 04 80 02 "mu"   name vmd-specific "mu"
        let t = unhex("01000100611d301b020103a016a014020100a40f800100a10aa0083006a00480026d75");
        let d = decode_tsdu(&t).expect("tsdu");
        assert_eq!(d.spdu, Spdu::Data);
        let p = parse_pdu(d.mms[0]).expect("pdu");
        let MmsPdu::ConfirmedRequest { service, msg, .. } = p else {
            panic!("{p:?}")
        };
        assert_eq!(service, 4);
        assert_eq!(msg.variables, vec!["mu".to_owned()]);
    }

    #[test]
    fn connect_with_aarq_and_initiate() {
        // Session CONNECT (0d) with PGI 5, PI 20, PI 51/52 and User Data
        // (c1) holding CP-type (31) -> normal-mode-parameters (a2) ->
        // fully-encoded-data (61) -> PDV (context 1, ACSE) -> AARQ (60)
        // with calling-authentication-value [12] { charstring [0] } and
        // user-information (be) -> EXTERNAL (28) -> single-ASN1-type (a0)
        // -> initiate-RequestPDU (a8).
        let aarq_body = unhex(
            "a107060528ca220203\
             a20606042bce0f02\
             a303020117\
             8b03520301\
             ac0a800870617373776f7264\
             be1f281d020103a018a816800101810103820103a40b800101810305e800820100",
        );
        let mut aarq = vec![0x60, aarq_body.len() as u8];
        aarq.extend(&aarq_body);
        let mut pdv = unhex("020101");
        pdv.push(0xa0);
        pdv.push(aarq.len() as u8);
        pdv.extend(&aarq);
        let mut fed = vec![0x30, pdv.len() as u8];
        fed.extend(&pdv);
        let mut ud = vec![0x61, fed.len() as u8];
        ud.extend(&fed);
        let mut nm = unhex("80020780 810400000001 820400000001");
        nm.extend(&ud);
        let mut a2 = vec![0xa2, nm.len() as u8];
        a2.extend(&nm);
        let mut cp = unhex("a003800101");
        cp.extend(&a2);
        let mut set = vec![0x31, cp.len() as u8];
        set.extend(&cp);
        let mut params = unhex("050613010016010214020002");
        params.push(0xc1);
        params.push(set.len() as u8);
        params.extend(&set);
        let mut tsdu = vec![0x0d, params.len() as u8];
        tsdu.extend(&params);
        let d = decode_tsdu(&tsdu).expect("tsdu");
        assert_eq!(d.spdu, Spdu::Connect);
        let a = d.acse.expect("acse");
        assert_eq!(a.kind, AcseKind::Aarq);
        assert_eq!(a.info.application_context.as_deref(), Some("1.0.9506.2.3"));
        assert_eq!(a.info.called_ap_title.as_deref(), Some("1.3.9999.2"));
        assert_eq!(a.info.called_ae_qualifier, Some(23));
        assert_eq!(a.info.authentication, Some("password"));
        assert_eq!(a.info.auth_mechanism.as_deref(), Some("2.2.3.1"));
        assert_eq!(d.mms.len(), 1);
        let MmsPdu::InitiateRequest(m) = parse_pdu(d.mms[0]).expect("pdu") else {
            panic!()
        };
        assert_eq!(m.local_detail, Some(1));
        assert_eq!(m.max_serv_outstanding_calling, Some(3));
        assert_eq!(m.version, Some(1));
        // Indefinite-length presentation SET decodes the same.
        let mut indef = vec![0x31, 0x80];
        indef.extend(&cp);
        indef.extend([0, 0]);
        let mut pdvs = Vec::new();
        presentation_pdvs(&indef, &mut pdvs).expect("pdvs");
        assert_eq!(pdvs.len(), 1);
    }

    #[test]
    fn accept_quirk_empty_user_data() {
        // ACCEPT whose User Data parameter is empty (c1 00) and the CPA
        // follows (libiec61850-style server in the iec61850_* captures).
        let t = unhex("0e0a0506130100160102c100310a a003800101a203020100");
        let s = parse_session(&t).expect("session");
        assert_eq!(s.spdu, Spdu::Accept);
        assert_eq!(s.user_data.map(|u| u[0]), Some(0x31));
    }

    #[test]
    fn data_values() {
        let mut b = DataBounds::default();
        let dec = |hexs: &str, b: &mut DataBounds| {
            let v = unhex(hexs);
            decode_data(&ber::read_one(&v).expect("tlv"), 0, b)
        };
        assert_eq!(dec("830101", &mut b), DataValue::Boolean(true));
        // bit-string, 3 unused bits, 13 bits.
        assert_eq!(
            dec("8403030000", &mut b),
            DataValue::BitString("0000000000000".into())
        );
        assert_eq!(dec("84020880", &mut b), DataValue::Unknown(4));
        assert_eq!(dec("850180", &mut b), DataValue::Integer(-128));
        assert_eq!(dec("86020100", &mut b), DataValue::Unsigned(256));
        assert_eq!(
            dec("8705083e5a95fc", &mut b),
            DataValue::FloatingPoint(Float::Single(f32::from_be_bytes([0x3e, 0x5a, 0x95, 0xfc])))
        );
        assert_eq!(
            dec("8a03414243", &mut b),
            DataValue::VisibleString("ABC".into())
        );
        assert_eq!(
            dec("91084ab9a2a4400000 0a", &mut b),
            DataValue::UtcTime("2009-09-23T04:23:00.250000000Z".into())
        );
        assert_eq!(
            dec("a208830100a203850101", &mut b),
            DataValue::Structure(vec![
                DataValue::Boolean(false),
                DataValue::Structure(vec![DataValue::Integer(1)])
            ])
        );
        assert_eq!(
            dec("8c0400000001", &mut b),
            DataValue::BinaryTime("00:00:00.001".into())
        );
        assert_eq!(
            dec("8c06000003e80001", &mut b),
            DataValue::BinaryTime("1984-01-02T00:00:01.000Z".into())
        );
        assert_eq!(
            dec("800103", &mut b),
            DataValue::Failure("object_access_denied")
        );
        let j = serde_json::to_string(&vec![
            DataValue::Boolean(true),
            DataValue::Success,
            DataValue::FloatingPoint(Float::Single(0.25)),
        ])
        .expect("json");
        assert_eq!(j, r#"[{"boolean":true},"success",{"floating_point":0.25}]"#);
        // Depth bound.
        let mut deep = Vec::new();
        for i in 0..20u8 {
            deep.extend([0xa2, 2 * (19 - i)]);
        }
        let t = ber::read_one(&deep).expect("tlv");
        let mut b = DataBounds::default();
        let _ = decode_data(&t, 0, &mut b);
        assert!(b.truncated);
    }

    #[test]
    fn times() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00");
        assert_eq!(format_unix(951_782_400), "2000-02-29T00:00:00");
        // GOOSE.pcap frame 1: 38 6e bb f3 42 17 28 0a.
        assert_eq!(
            utc_time(&[0x38, 0x6e, 0xbb, 0xf3, 0x42, 0x17, 0x28, 0x0a]),
            Some(("2000-01-02T02:46:11.258165836Z".into(), 0x0a))
        );
        assert_eq!(utc_time(&[1, 2, 3]), None);
    }
}
