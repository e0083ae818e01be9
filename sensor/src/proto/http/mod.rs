//! HTTP/1.x app-layer decoder.
//!
//! # Spec notes
//!
//! * Message syntax: RFC 9112. A request is `method SP target SP
//!   HTTP/1.x CRLF`, header fields, an empty line, then an optional body;
//!   a response starts with `HTTP/1.x SP status SP reason CRLF`. Leading
//!   empty lines before a start line are ignored (RFC 9112 §2.2). Bare LF
//!   line endings are accepted. Header blocks are parsed with `httparse`
//!   (at most 64 fields, block at most 16 KiB, else an anomaly is counted
//!   and the direction resynchronises at the next start line).
//! * Body length (RFC 9112 §6.3): responses to HEAD, 1xx, 204 and 304
//!   have no body; a 2xx answer to CONNECT switches to a tunnel;
//!   `Transfer-Encoding: chunked` wins over `Content-Length`; otherwise
//!   `Content-Length`; a response with neither is read until connection
//!   close ([`HttpState::finish`]). Requests without either have no body.
//!   Bodies are counted, never stored.
//! * Chunked coding (RFC 9112 §7.1): hex size line with optional
//!   `;extensions`, data, CRLF, ..., `0` line, trailer fields, empty line.
//! * Transactions: requests are queued FIFO (at most 64); each final
//!   response pairs with the oldest unanswered request. Interim 1xx
//!   responses (e.g. `100 Continue`) are skipped; `101 Switching
//!   Protocols` ends HTTP parsing on the flow. One event is emitted per
//!   transaction when the response (head and body) is complete;
//!   unanswered requests are emitted by [`HttpState::finish`].
//! * CONNECT (RFC 9110 §9.3.6): after a 2xx answer, if the client then
//!   sends an HTTP request line, parsing restarts as a fresh HTTP session
//!   (transaction ids restart at 0, like Suricata); anything else (TLS)
//!   makes the flow opaque.
//! * Output: the Suricata EVE `http` object (see [`event`]). Hostname
//!   comes from an absolute-form URI (or CONNECT authority) first, then
//!   the Host header, lower-cased; IPv6 literals keep their brackets;
//!   `http_port` only when a valid port was given; `http_content_type` is
//!   cut at the first `;`; `length` is the response body size after
//!   removing chunked framing.

pub mod event;
pub mod parser;
pub mod state;

pub use event::HttpEvent;
pub use parser::probe;
pub use state::HttpState;

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
