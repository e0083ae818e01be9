//! The EVE `s7comm_plus` object and its [`rules::ot::Op`].
//!
//! Field meanings follow Zeek ICSNPP-S7COMM's `s7comm_plus.log`
//! (`version`, `opcode`, `opcode_name`, `function_code`, `function_name`)
//! with numbers as JSON numbers, plus the sequence number, session id,
//! return value and object ids the operation header carries.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{function, opcode};

fn is_false(b: &bool) -> bool {
    !*b
}

/// The EVE `s7comm_plus` object: one request/response transaction, or a
/// lone response, or a notification.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct S7PlusEvent {
    /// Per-flow transaction number (EVE top-level `tx_id`).
    #[serde(skip)]
    pub tx_id: u64,
    /// Protocol version (1, 2, 3).
    pub version: u8,
    /// Opcode of the request (of the response or notification when there
    /// is no request).
    pub opcode: u8,
    /// `Request`, `Response`, `Notification`, `Response2`.
    pub opcode_name: &'static str,
    /// No request was seen.
    #[serde(skip_serializing_if = "is_false")]
    pub response_only: bool,
    /// Function code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_code: Option<u16>,
    /// ICSNPP's function name (`Set Variable`, `Explore`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<&'static str>,
    /// Sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u16>,
    /// Session id of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// DeleteObject target, or the first object a CreateObject created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<u32>,
    /// Subscription object of a notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u32>,
    /// Return value of the response (bit 62 set: error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_value: Option<u64>,
    /// PLC order number from a session's CreateObject response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// PLC firmware version from a session's CreateObject response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    /// The PDU carried a V3 integrity digest.
    #[serde(skip_serializing_if = "is_false")]
    pub integrity: bool,
}

/// Opcode names (ICSNPP's).
pub fn opcode_name(o: u8) -> &'static str {
    match o {
        opcode::REQUEST => "Request",
        opcode::RESPONSE => "Response",
        opcode::NOTIFICATION => "Notification",
        opcode::RESPONSE2 => "Response2",
        _ => "unknown",
    }
}

/// Function: (ICSNPP-style name, op name, class).
pub fn function_info(f: u16) -> (&'static str, &'static str, OpClass) {
    use function::*;
    use OpClass::*;
    match f {
        ERROR => ("Error", "error", Other),
        EXPLORE => ("Explore", "explore", Discovery),
        CREATE_OBJECT => ("Create Object", "create_object", Session),
        DELETE_OBJECT => ("Delete Object", "delete_object", Session),
        SET_VARIABLE => ("Set Variable", "set_variable", Write),
        GET_VARIABLE => ("Get Variable", "get_variable", Read),
        ADD_LINK => ("Add Link", "add_link", Other),
        REMOVE_LINK => ("Remove Link", "remove_link", Other),
        GET_LINK => ("Get Link", "get_link", Read),
        SET_MULTI_VARIABLES => ("Set Multi Variables", "set_multi_variables", Write),
        GET_MULTI_VARIABLES => ("Get Multi Variables", "get_multi_variables", Read),
        BEGIN_SEQUENCE => ("Begin Sequence", "begin_sequence", Session),
        END_SEQUENCE => ("End Sequence", "end_sequence", Session),
        INVOKE => ("Invoke", "invoke", Command),
        SET_VAR_SUB_STREAMED => ("Set Variable Sub Streamed", "set_var_sub_streamed", Write),
        GET_VAR_SUB_STREAMED => ("Get Variable Sub Streamed", "get_var_sub_streamed", Read),
        GET_VARIABLES_ADDRESS => ("Get Variables Address", "get_variables_address", Read),
        ABORT => ("Abort", "abort", Session),
        _ => ("unknown", "unknown", Other),
    }
}

impl S7PlusEvent {
    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation (see the module notes).
    pub fn op(&self) -> Option<Op> {
        let (function, code, class) = match self.function_code {
            Some(f) => {
                let (_, name, class) = function_info(f);
                (name, u32::from(f), class)
            }
            None if self.opcode == opcode::NOTIFICATION => (
                "notification",
                u32::from(opcode::NOTIFICATION),
                OpClass::Report,
            ),
            None => ("unknown", u32::from(self.opcode), OpClass::Other),
        };
        let mut op = Op::new("s7comm_plus", function, code, class);
        op.response_only = self.response_only;
        op.status = self
            .return_value
            .filter(|v| v & (1 << 62) != 0)
            .map(|v| (v & 0xffff) as u32);
        op.object = self
            .object_id
            .or(self.subscription_id)
            .map(|o| format!("0x{o:x}"));
        op.attrs
            .push(("version", Attr::Int(i64::from(self.version))));
        if let Some(s) = self.sequence_number {
            op.attrs.push(("sequence_number", Attr::Int(i64::from(s))));
        }
        if let Some(s) = self.session_id {
            op.attrs.push(("session_id", Attr::Int(i64::from(s))));
        }
        if let Some(o) = self.object_id {
            op.attrs.push(("object_id", Attr::Int(i64::from(o))));
        }
        if let Some(m) = &self.order_number {
            op.attrs
                .push(("id_vendor", Attr::Str("Siemens".to_string())));
            op.attrs.push(("id_model", Attr::Str(m.clone())));
        }
        if let Some(v) = &self.firmware_version {
            op.attrs.push(("id_version", Attr::Str(v.clone())));
        }
        Some(op)
    }
}
