//! The EVE `mms` object and its [`Op`].
//!
//! One event per confirmed transaction (request + response / error /
//! reject), per unconfirmed PDU, per association (initiate, with the ACSE
//! AARQ/AARE facts), per conclude, per cancel and per abort. Fields follow
//! the service names of ISO 9506-2 in snake_case; absent fields are
//! omitted.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{flatten_numbers, DataValue};

fn is_false(b: &bool) -> bool {
    !*b
}

/// The decoded content of one side (request or response) of an MMS
/// exchange. Only the fields the service has are set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MmsMessage {
    /// Response outcome: `success`, `error` (confirmed-/initiate-/
    /// conclude-/cancel-ErrorPDU), `reject` (rejectPDU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// getNameList object class (`named_variable`, `domain`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_class: Option<&'static str>,
    /// getNameList scope: `vmd`, `domain` (then `domain` is set) or `aa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// Domain (IEC 61850 logical device) a service names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_after: Option<String>,
    /// Named variables: `domain/item` (e.g. `LD0/LLN0$ST$Mod$stVal`),
    /// `item` for VMD-specific and `@item` for AA-specific names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
    /// Named variable list (data set), same notation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable_list: Option<String>,
    /// Other named object (type, semaphore, event condition, journal,
    /// operator station, renamed object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_invocation: Option<String>,
    /// File names (components joined with '/').
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Identifier lists: getNameList result, capabilities, domains of a
    /// program invocation, deleted lists, new identifier of a rename.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Values written, read or reported; write results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<DataValue>,
    /// IEC 61850 report: RptID (first value of an `RPT` information report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_follows: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frsm_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ulsm_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// identify response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// status response / unsolicitedStatus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmd_logical_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmd_physical_status: Option<&'static str>,
    /// ServiceError class (`access`, `definition`, ...) and code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// rejectPDU: which PDU type was rejected and the reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_pdu: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_code: Option<i64>,
    /// initiate parameters (proposed in the request, negotiated in the
    /// response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_detail: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_serv_outstanding_calling: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_serv_outstanding_called: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_structure_nesting_level: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Parameter CBB and services supported bit strings, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_cbb: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services_supported: Option<String>,
    /// ACSE: application context name (OID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_context: Option<String>,
    /// ACSE: calling (request) / responding (response) AP title and AE
    /// qualifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ap_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ae_qualifier: Option<i64>,
    /// ACSE: called AP title / AE qualifier (request only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ap_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_ae_qualifier: Option<i64>,
    /// ACSE authentication value kind (`password`, ...); never the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<&'static str>,
    /// ACSE mechanism name (OID; 2.2.3.1 = password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_mechanism: Option<String>,
    /// ACSE AARE result (0 accepted, 1 rejected-permanent, 2
    /// rejected-transient), or RLRQ/RLRE reason, or ABRT source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acse_result: Option<i64>,
    /// A list was cut at its bound.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl MmsMessage {
    /// Copy the ACSE facts of `a` into `self`.
    pub(crate) fn merge_acse(&mut self, a: &MmsMessage) {
        macro_rules! take {
            ($($f:ident),*) => {$(
                if self.$f.is_none() {
                    self.$f = a.$f.clone();
                }
            )*};
        }
        take!(
            application_context,
            ap_title,
            ae_qualifier,
            called_ap_title,
            called_ae_qualifier,
            authentication,
            auth_mechanism,
            acse_result
        );
    }
}

/// One MMS transaction / report / association event: the EVE `mms` object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MmsEvent {
    pub tx_id: u64,
    /// PDU family: `confirmed`, `unconfirmed`, `initiate`, `conclude`,
    /// `cancel`, `reject` (unmatched rejectPDU), `abort`.
    pub pdu: &'static str,
    /// Service name (see the module docs).
    pub service: &'static str,
    /// Service tag number on the wire (confirmed / unconfirmed service
    /// CHOICE tag; for the other families the MMSpdu tag).
    #[serde(skip)]
    pub code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u32>,
    /// Direction of the request (or of the lone PDU): `to_server` or
    /// `to_client` (peer-to-peer MMS such as ICCP sends requests both ways).
    pub direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<MmsMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<MmsMessage>,
}

/// Most values copied into [`Op::values`].
const MAX_OP_VALUES: usize = 64;

/// What a confirmed service does (see the module docs for the rationale).
pub fn service_class(service: &str) -> OpClass {
    match service {
        "read" | "read_journal" | "get_alarm_summary" | "get_alarm_enrollment_summary" => {
            OpClass::Read
        }
        "write" | "write_journal" => OpClass::Write,
        "status" => OpClass::Diagnostic,
        "identify"
        | "get_name_list"
        | "get_capability_list"
        | "get_variable_access_attributes"
        | "get_scattered_access_attributes"
        | "get_named_variable_list_attributes"
        | "get_named_type_attributes"
        | "get_domain_attributes"
        | "get_program_invocation_attributes"
        | "get_event_condition_attributes"
        | "get_event_action_attributes"
        | "get_event_enrollment_attributes"
        | "report_semaphore_status"
        | "report_pool_semaphore_status"
        | "report_semaphore_entry_status"
        | "report_event_condition_status"
        | "report_event_action_status"
        | "report_event_enrollment_status"
        | "report_journal_status" => OpClass::Discovery,
        "initiate_download_sequence"
        | "download_segment"
        | "terminate_download_sequence"
        | "request_domain_download"
        | "load_domain_content"
        | "delete_domain" => OpClass::Download,
        "initiate_upload_sequence"
        | "upload_segment"
        | "terminate_upload_sequence"
        | "request_domain_upload"
        | "store_domain_content" => OpClass::Upload,
        "create_program_invocation"
        | "delete_program_invocation"
        | "start"
        | "stop"
        | "resume"
        | "kill" => OpClass::ModeChange,
        "reset" => OpClass::Restart,
        "obtain_file" | "file_open" | "file_read" | "file_close" | "file_rename"
        | "file_delete" | "file_directory" => OpClass::File,
        "information_report" | "unsolicited_status" | "event_notification" => OpClass::Report,
        "initiate" | "conclude" | "cancel" | "abort" => OpClass::Session,
        _ => OpClass::Other,
    }
}

/// True when a variable name is an IEC 61850 control object (functional
/// constraint CO: `...$CO$Pos$Oper`, `SBOw`, `Cancel`).
fn is_control(name: &str) -> bool {
    name.contains("$CO$")
}

impl MmsEvent {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation (see the module docs).
    pub fn op(&self) -> Option<Op> {
        let mut class = service_class(self.service);
        let main = self.request.as_ref().or(self.response.as_ref())?;
        if self.service == "write" && main.variables.iter().any(|v| is_control(v)) {
            class = OpClass::Command;
        }
        let mut op = Op::new("mms", self.service, self.code, class);
        // Unconfirmed PDUs (reports) are unsolicited: response-only.
        op.response_only = self.request.is_none() || self.pdu == "unconfirmed";
        op.object = main
            .report_id
            .as_ref()
            .or(main.variables.first())
            .or(main.variable_list.as_ref())
            .or(main.program_invocation.as_ref())
            .or(main.object_name.as_ref())
            .or(main.domain.as_ref())
            .or(main.files.first())
            .cloned();
        if !main.variables.is_empty() {
            op.quantity = u32::try_from(main.variables.len()).ok();
        }
        if self.service == "write" {
            for d in &main.data {
                flatten_numbers(d, &mut op.values, MAX_OP_VALUES);
            }
        }
        if let Some(id) = self.invoke_id {
            op.attrs.push(("invoke_id", Attr::Int(i64::from(id))));
        }
        if let Some(d) = &main.domain {
            op.attrs.push(("domain", Attr::Str(d.clone())));
        }
        if let Some(c) = main.object_class {
            op.attrs.push(("object_class", Attr::Str(c.to_owned())));
        }
        if let Some(a) = main.authentication {
            op.attrs.push(("authentication", Attr::Str(a.to_owned())));
        }
        if let Some(r) = &self.response {
            if let Some(v) = &r.vendor {
                op.attrs.push(("id_vendor", Attr::Str(v.clone())));
            }
            if let Some(v) = &r.model {
                op.attrs.push(("id_model", Attr::Str(v.clone())));
            }
            if let Some(v) = &r.revision {
                op.attrs.push(("id_version", Attr::Str(v.clone())));
            }
            if let Some(c) = r.error_class {
                op.attrs.push(("error_class", Attr::Str(c.to_owned())));
            }
            if let Some(c) = r.error_code {
                op.attrs.push(("error_code", Attr::Int(c)));
            }
            op.status = status(r, self.service);
        }
        Some(op)
    }
}

/// Failure status of a response: ServiceError class tag (0..12) for an
/// error PDU; 0x100 + rejected PDU type for a reject; 0x200 + the first
/// DataAccessError of a write; the AARE result for a refused association.
fn status(r: &MmsMessage, service: &str) -> Option<u32> {
    match r.result {
        Some("error") => Some(
            r.error_class
                .and_then(|c| super::parser::ERROR_CLASS_TAGS.iter().position(|x| *x == c))
                .map_or(0xff, |p| p as u32),
        ),
        Some("reject") => Some(
            0x100
                + r.reject_pdu
                    .and_then(|p| super::parser::REJECT_PDU_NAMES.iter().position(|x| *x == p))
                    .map_or(0, |p| p as u32),
        ),
        _ => {
            if service == "write" {
                for d in &r.data {
                    if let DataValue::Failure(f) = d {
                        let code = super::parser::DATA_ACCESS_ERROR_NAMES
                            .iter()
                            .position(|x| x == f)
                            .map_or(0xff, |p| p as u32);
                        return Some(0x200 + code);
                    }
                }
            }
            match r.acse_result {
                Some(res) if service == "initiate" && res != 0 => u32::try_from(res).ok(),
                _ => None,
            }
        }
    }
}
