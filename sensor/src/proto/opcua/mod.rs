//! OPC UA Binary decoder (UA Connection Protocol over TCP, usually port
//! 4840).
//!
//! # Wire format (OPC 10000-6)
//!
//! * Every chunk starts with an 8-byte header (§7.1.2): 3-byte message
//!   type (`HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG`, `CLO`), 1-byte chunk
//!   type (`F` final, `C` intermediate, `A` abort; HEL/ACK/ERR/RHE are
//!   always `F`), little-endian u32 size of the whole chunk.
//! * HEL: protocol version, receive/send buffer sizes, max message size,
//!   max chunk count, endpoint URL (UA String). ACK: the same without the
//!   URL. ERR: StatusCode + reason. RHE: server URI + endpoint URL.
//! * OPN/MSG/CLO (§6.7.2): secure channel id, then the security header:
//!   asymmetric for OPN (security policy URI, sender certificate,
//!   receiver certificate thumbprint) or symmetric for MSG/CLO (token
//!   id); then the sequence header (sequence number, request id) and the
//!   body, which starts with the ExpandedNodeId of its type (the
//!   DefaultBinary encoding id: ReadRequest = 631, ...). With a security
//!   policy other than None the OPN body is encrypted; MSG bodies are
//!   encrypted in SignAndEncrypt mode and readable in Sign mode.
//! * Built-in types (§5.2.2): String/ByteString are i32 length + bytes
//!   (-1 = null), NodeId has six encodings (two-byte, four-byte,
//!   numeric, string, guid, opaque; + namespace-URI / server-index flags
//!   for ExpandedNodeId), Variant/DataValue/DiagnosticInfo/
//!   ExtensionObject carry masks.
//! * Services (OPC 10000-4): RequestHeader (authentication token,
//!   timestamp, request handle, return diagnostics, audit entry id,
//!   timeout hint, additional header) and ResponseHeader (timestamp,
//!   request handle, service result, diagnostics, string table,
//!   additional header) precede the service parameters.
//!
//! # What is decoded
//!
//! Header fields of every chunk; HEL/ACK parameters; ERR status and
//! reason; OPN asymmetric header (policy URI, certificate lengths) and,
//! when the policy is None, OpenSecureChannel request (protocol version,
//! issue/renew, security mode, lifetime) and response (channel id, token
//! id, revised lifetime). For MSG/CLO whose body is readable (policy None,
//! or a secured channel whose body still decodes as a known service:
//! Sign mode) the service type is mapped to its name, the request/response
//! headers are read, and: GetEndpoints/FindServers (endpoint URL; server
//! application and offered endpoints), CreateSession (client application,
//! endpoint URL, session name; server endpoints), ActivateSession (user
//! identity token type, user name, policy id; never the password), Read,
//! HistoryRead, Write (nodes + written values), Call (object and method
//! ids, input arguments), Browse, TranslateBrowsePathsToNodeIds,
//! RegisterNodes, AddNodes, DeleteNodes, CreateMonitoredItems (nodes);
//! responses: service result, per-operation results of Read/Write/Call/
//! Browse/AddNodes/DeleteNodes/CreateMonitoredItems, Read values and Call
//! outputs. Other services are logged by name.
//!
//! # Pairing and bounds
//!
//! Chunks are framed by [`StreamBuf`](crate::proto::common::StreamBuf)
//! (chunks above 1 MiB are skipped); intermediate chunks (`C`) of one
//! request id are reassembled into the final one keeping at most 256 KiB
//! of body (then `truncated`); an abort chunk drops the message. HEL pairs
//! with the next ACK/ERR; OPN/MSG requests pair with the response of the
//! same request id (at most 64 pending, the oldest then emitted
//! request-only); encrypted OPNs pair by order; CLO is logged at once.
//! Encrypted MSG chunks are not logged one by one: a run of them on one
//! channel/token becomes one event (`encrypted: true`) with chunk and byte
//! counts per direction, flushed when a readable message, another token,
//! CLO, 10 000 chunks or the flow end comes. At most 16 nodes, values,
//! results and endpoints per message; strings are cut at 256 characters;
//! variants and diagnostics nest at most 8 deep.
//!
//! # `Op::function` vocabulary
//!
//! `hello`, `acknowledge` (lone ACK), `error` (lone ERR), `reverse_hello`,
//! `open_secure_channel`, `close_secure_channel`, `encrypted_messages`,
//! `service_fault` (lone), `unknown_service`, and per service (code = the
//! request encoding id): `find_servers`, `find_servers_on_network`,
//! `get_endpoints`, `register_server`, `register_server2`,
//! `create_session`, `activate_session`, `close_session`, `cancel`,
//! `add_nodes`, `add_references`, `delete_nodes`, `delete_references`,
//! `browse`, `browse_next`, `translate_browse_paths_to_node_ids`,
//! `register_nodes`, `unregister_nodes`, `query_first`, `query_next`,
//! `read`, `history_read`, `write`, `history_update`, `call`,
//! `create_monitored_items`, `modify_monitored_items`,
//! `set_monitoring_mode`, `set_triggering`, `delete_monitored_items`,
//! `create_subscription`, `modify_subscription`, `set_publishing_mode`,
//! `publish`, `republish`, `transfer_subscriptions`,
//! `delete_subscriptions`.
//!
//! Classes: Write/HistoryUpdate `write`; Call `command`; Read/HistoryRead,
//! RegisterNodes and the subscription/monitored-item/publish services
//! `read`; GetEndpoints/FindServers/RegisterServer/Browse/BrowseNext/
//! TranslateBrowsePaths/Query `discovery`; HEL/RHE/OPN/CLO and
//! Create/Activate/CloseSession/Cancel `session`; AddNodes/DeleteNodes/
//! AddReferences/DeleteReferences change the address space and are
//! `download` (configuration sent to the server); the rest `other`.
//!
//! `Op` fields: `object` = first method id (Call) or first node id
//! (`ns=1;s=the.answer`), `quantity` = nodes in the request, `values` =
//! numeric/boolean scalars written (Write) or passed (Call), `status` =
//! service result when Bad (or the ERR code). Attrs: `security_policy`
//! (`None`, `Basic256Sha256`, ...), `security_mode` (`None`, `Sign`,
//! `SignAndEncrypt`; inferred from readable/encrypted bodies when the OPN
//! was encrypted), `encrypted`, `request_id`, `sec_channel_id`,
//! `user_token` (`anonymous`/`username`/`x509`/`issued`), `user_name`,
//! `endpoint_url`, `session_name`, `bad_results` (count of Bad operation
//! results), and for the responding server `id_product` (product URI),
//! `id_name` (application name), `application_uri`.
//!
//! # EVE shape (`"opcua"`)
//!
//! ```json
//! {"tx_id":5,"msg_type":"MSG","sec_channel_id":4,"sec_token_id":1,
//!  "request_id":21,"sec_policy_uri":"http://opcfoundation.org/UA/SecurityPolicy#None",
//!  "security_mode":"None",
//!  "request":{"msg_type":"MSG","msg_size":109,"seq_number":21,"identifier":673,
//!    "identifier_str":"WriteRequest","request_handle":22,"timeout_hint":0,
//!    "nodes":["ns=1;s=the.answer"],"values":["43"]},
//!  "response":{"msg_type":"MSG","msg_size":64,"seq_number":11,"identifier":676,
//!    "identifier_str":"WriteResponse","request_handle":22,
//!    "results":["BadNodeIdUnknown"],"status":"Good"}}
//! ```
//! See [`event::Part`] for every request/response field.

pub mod event;
pub mod names;
pub mod parser;
pub mod state;

use crate::proto::common::Probe;

pub use event::{OpcuaEvent, Part};
pub use parser::ParseError;
pub use state::OpcuaState;

/// Probe the first bytes of a direction: a UACP chunk header with a
/// message type the direction can start with (client: HEL, OPN, MSG, CLO;
/// server: ACK, ERR, RHE, OPN, MSG), a valid chunk type and a plausible
/// size. Recognised on any port.
pub fn probe(data: &[u8], to_server: bool) -> Probe {
    let types: &[&[u8; 3]] = if to_server {
        &[b"HEL", b"OPN", b"MSG", b"CLO"]
    } else {
        &[b"ACK", b"ERR", b"RHE", b"OPN", b"MSG"]
    };
    let n = data.len().min(3);
    if !types.iter().any(|t| t[..n] == data[..n]) {
        return Probe::No;
    }
    if data.len() < parser::HEADER_LEN {
        return Probe::NeedMore;
    }
    match parser::parse_header(data) {
        Ok(h) if (h.size as usize) <= parser::MAX_CHUNK * 16 => Probe::Yes,
        _ => Probe::No,
    }
}

#[cfg(test)]
mod tests;
