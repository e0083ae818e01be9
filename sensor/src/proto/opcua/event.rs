//! The EVE `opcua` object and its [`Op`] view.
//!
//! Field meanings follow Zeek ICSNPP-OPCUA-Binary (`msg_type`, `msg_size`,
//! `sec_channel_id`, `sec_token_id`, `sec_policy_uri`, `snd_cert_len`,
//! `rcv_cert_len`, `seq_number`, `request_id`, `identifier`,
//! `identifier_str`, `request_handle`, `timeout_hint`, `version`,
//! `rcv_buf_size`, `snd_buf_size`, `max_msg_size`, `max_chunk_cnt`,
//! `endpoint_url`, `error`, `reason`), compacted into one event per
//! request/response pair.

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::names;
use super::parser::{self, Body, Hello, ServiceInfo};

fn is_false(b: &bool) -> bool {
    !*b
}

/// One endpoint offered by the server.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EndpointOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `None`, `Sign`, `SignAndEncrypt`.
    pub security_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_policy: Option<String>,
}

/// One message (request or response) of a transaction.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Part {
    /// HEL, ACK, ERR, RHE, OPN, MSG, CLO.
    pub msg_type: &'static str,
    /// Bytes of the message (all chunks).
    pub msg_size: u64,
    /// Chunks (only when more than one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_number: Option<u32>,
    /// Encoding id of the service type (`631`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<u32>,
    /// `ReadRequest`, `ServiceFault`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_str: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_handle: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_hint: Option<u32>,
    // HEL / ACK
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcv_buf_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snd_buf_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_msg_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chunk_cnt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// RHE server URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_uri: Option<String>,
    // ERR
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    // OPN
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_policy_uri: Option<String>,
    /// Sender certificate length (-1 = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snd_cert_len: Option<i32>,
    /// Receiver certificate thumbprint length (-1 = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcv_cert_len: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u32>,
    /// `issue` or `renew`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<String>,
    /// Requested (request) or revised (response) channel lifetime, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    /// OPN response: channel and token assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_channel_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_token_id: Option<u32>,
    // Sessions and discovery
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// ActivateSession identity token type (`UserNameIdentityToken`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u32>,
    // Operations
    /// Node ids operated on (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Call: method ids (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Values written, read or passed (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Per-operation status names (first 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<String>,
    /// More nodes/results than logged.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Service result name (`Good`, `BadNodeIdUnknown`), responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Service result as hex when not Good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// The body could not be read (encrypted chunk).
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted: bool,
    /// The body did not decode completely.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,

    #[serde(skip)]
    pub service_result: Option<u32>,
    #[serde(skip)]
    pub info: Option<Box<ServiceInfo>>,
}

impl Part {
    pub fn new(msg_type: &'static str, size: u32) -> Part {
        Part {
            msg_type,
            msg_size: u64::from(size),
            ..Part::default()
        }
    }

    pub fn add_hello(&mut self, h: &Hello) {
        self.version = Some(h.version);
        self.rcv_buf_size = Some(h.rcv_buf_size);
        self.snd_buf_size = Some(h.snd_buf_size);
        self.max_msg_size = Some(h.max_msg_size);
        self.max_chunk_cnt = Some(h.max_chunk_cnt);
        self.endpoint_url = h.endpoint_url.clone();
    }

    /// Fill from a decoded service body.
    pub fn add_body(&mut self, b: Body) {
        self.identifier = Some(b.type_id);
        self.identifier_str = names::identifier_str(b.type_id);
        if let Some(r) = &b.request {
            self.request_handle = Some(r.request_handle);
            self.timeout_hint = Some(r.timeout_hint);
        }
        if let Some(r) = &b.response {
            self.request_handle = Some(r.request_handle);
            self.service_result = Some(r.service_result);
            self.status = Some(parser::status_string(r.service_result));
            if r.service_result != 0 {
                self.status_code = Some(format!("0x{:08x}", r.service_result));
            }
        }
        self.malformed = b.malformed;
        let i = b.info;
        self.protocol_version = i.protocol_version;
        self.request_type = i
            .request_type
            .map(|t| if t == 1 { "renew" } else { "issue" });
        self.security_mode = i
            .security_mode
            .map(|m| names::security_mode(m).map_or_else(|| m.to_string(), str::to_string));
        self.lifetime = i.requested_lifetime;
        self.sec_channel_id = i.sec_channel_id;
        self.sec_token_id = i.token_id;
        if self.endpoint_url.is_none() {
            self.endpoint_url = i.endpoint_url.clone();
        }
        self.session_name = i.session_name.clone();
        self.application_uri = i.application_uri.clone();
        self.product_uri = i.product_uri.clone();
        self.application_name = i.application_name.clone();
        self.user_token_type = i
            .user_token
            .map(|t| names::user_token(t).map_or_else(|| t.to_string(), str::to_string));
        self.user_name = i.user_name.clone();
        self.policy_id = i.policy_id.clone();
        self.endpoints = i
            .endpoints
            .iter()
            .map(|e| EndpointOut {
                url: e.url.clone(),
                security_mode: names::security_mode(e.security_mode)
                    .map_or_else(|| e.security_mode.to_string(), str::to_string),
                security_policy: e.security_policy.clone(),
            })
            .collect();
        self.subscription_id = i.subscription_id;
        self.nodes = i.nodes.clone();
        self.methods = i.methods.clone();
        self.values = i.values.clone();
        self.results = i
            .results
            .iter()
            .map(|&s| parser::status_string(s))
            .collect();
        self.truncated = i.nodes_total > i.nodes.len()
            || i.results_total > i.results.len()
            || i.endpoints_total > i.endpoints.len();
        self.info = Some(Box::new(i));
    }
}

/// One OPC UA event: a HEL/ACK handshake, an OPN/MSG request with its
/// response, a CLO, an unsolicited ERR/RHE, or a run of encrypted MSG
/// chunks.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct OpcuaEvent {
    pub tx_id: u64,
    /// Message type of the request (or of the lone response).
    pub msg_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_channel_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_token_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u32>,
    /// Security policy URI of the channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sec_policy_uri: Option<String>,
    /// Message security mode of the channel, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<String>,
    /// Bodies were encrypted: only header fields are logged.
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Part>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Part>,
}

fn policy_short(uri: &str) -> &str {
    uri.rsplit('#').next().unwrap_or(uri)
}

impl OpcuaEvent {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let main = self.request.as_ref().or(self.response.as_ref())?;
        let (function, code, class) =
            if self.encrypted && main.identifier.is_none() && main.msg_type == "MSG" {
                ("encrypted_messages", 0, OpClass::Other)
            } else if let Some(id) = main.identifier {
                match names::service_by_id(id) {
                    Some((s, _)) => (s.function, s.request, s.class),
                    None if id == names::SERVICE_FAULT => ("service_fault", id, OpClass::Other),
                    None => ("unknown_service", id, OpClass::Other),
                }
            } else {
                match main.msg_type {
                    "HEL" => ("hello", 0, OpClass::Session),
                    "ACK" => ("acknowledge", 0, OpClass::Session),
                    "ERR" => ("error", 0, OpClass::Other),
                    "RHE" => ("reverse_hello", 0, OpClass::Session),
                    "OPN" => ("open_secure_channel", 446, OpClass::Session),
                    "CLO" => ("close_secure_channel", 452, OpClass::Session),
                    _ => ("unknown_service", 0, OpClass::Other),
                }
            };
        let mut op = Op::new("opcua", function, code, class);
        op.response_only = self.request.is_none();
        if let Some(i) = main.info.as_deref() {
            if let Some(m) = i.methods.first() {
                op.object = Some(m.clone());
            } else if let Some(n) = i.nodes.first() {
                op.object = Some(n.clone());
            }
            if i.nodes_total > 0 {
                op.quantity = u32::try_from(i.nodes_total).ok();
            }
            if matches!(function, "write" | "call") && self.request.is_some() {
                op.values = i.numbers.clone();
            }
            if let Some(t) = i.user_token {
                let kind = match t {
                    321 => "anonymous",
                    324 => "username",
                    327 => "x509",
                    940 => "issued",
                    _ => "other",
                };
                op.attrs.push(("user_token", Attr::Str(kind.to_string())));
            }
            if let Some(u) = &i.user_name {
                op.attrs.push(("user_name", Attr::Str(u.clone())));
            }
            if let Some(u) = &i.endpoint_url {
                op.attrs.push(("endpoint_url", Attr::Str(u.clone())));
            }
            if let Some(u) = &i.session_name {
                op.attrs.push(("session_name", Attr::Str(u.clone())));
            }
        }
        if let Some(r) = &self.response {
            if let Some(s) = r.service_result.filter(|&s| parser::is_bad(s)) {
                op.status = Some(s);
            } else if let Some(e) = r.error {
                op.status = Some(e);
            }
            if let Some(i) = r.info.as_deref() {
                let bad = i.results.iter().filter(|&&s| parser::is_bad(s)).count();
                if bad > 0 {
                    op.attrs.push(("bad_results", Attr::Int(bad as i64)));
                }
                // Identity of the responding server.
                if self.request.is_some()
                    || matches!(
                        function,
                        "get_endpoints" | "create_session" | "find_servers"
                    )
                {
                    if let Some(p) = &i.product_uri {
                        op.attrs.push(("id_product", Attr::Str(p.clone())));
                    }
                    if let Some(n) = &i.application_name {
                        op.attrs.push(("id_name", Attr::Str(n.clone())));
                    }
                    if let Some(u) = &i.application_uri {
                        op.attrs.push(("application_uri", Attr::Str(u.clone())));
                    }
                }
            }
        }
        if self.request.is_none() {
            if let Some(e) = main.error {
                op.status = Some(e);
            }
        }
        if let Some(p) = &self.sec_policy_uri {
            op.attrs
                .push(("security_policy", Attr::Str(policy_short(p).to_string())));
        }
        if let Some(m) = &self.security_mode {
            op.attrs.push(("security_mode", Attr::Str(m.clone())));
        }
        if self.encrypted {
            op.attrs.push(("encrypted", Attr::Bool(true)));
        }
        if let Some(id) = self.request_id {
            op.attrs.push(("request_id", Attr::Int(i64::from(id))));
        }
        if let Some(id) = self.sec_channel_id {
            op.attrs.push(("sec_channel_id", Attr::Int(i64::from(id))));
        }
        Some(op)
    }
}
