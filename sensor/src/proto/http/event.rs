//! Suricata EVE `http` object (HTTP/1.x subset).
//!
//! Field order follows Suricata's `EveHttpLogJSONBasic` +
//! `EveHttpLogJSONExtended`: `hostname`, `http_port` (only when the
//! Host header / URI carried a port), `url`, `http_user_agent`, `xff`,
//! `http_content_type` (response, cut at `;`), `http_refer`,
//! `http_method`, `protocol`, `status`, `redirect`, `length` (response
//! body bytes after transfer decoding, always present). The transaction id
//! is logged at top level by the caller and is therefore not serialised.

use serde::Serialize;

use super::parser::{parse_hostport, uri_authority, RequestHead, ResponseHead};

/// Suricata's byte-string rule (see [`crate::proto::common::bytes_text`]).
pub use crate::proto::common::bytes_string as bytes_to_string;

/// One HTTP transaction as logged in EVE.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct HttpEvent {
    /// Lower-cased host from the absolute URI or the Host header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port given in the Host header or URI authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// Request target as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// `X-Forwarded-For`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xff: Option<String>,
    /// Response `Content-Type` up to the first `;`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// `Referer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_refer: Option<String>,
    /// Request method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Request protocol (`HTTP/1.0`, `HTTP/1.1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Response status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response `Location`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Response body length in bytes (0 when no response).
    pub length: u64,
    /// Per-flow transaction number (EVE top-level `tx_id`).
    #[serde(skip)]
    pub tx_id: u64,
}

fn opt(v: &Option<Vec<u8>>) -> Option<String> {
    v.as_deref().map(bytes_to_string)
}

impl HttpEvent {
    /// Build the event from the request head (if any), the response head
    /// (if any) and the response body length.
    pub fn build(
        req: Option<&RequestHead>,
        resp: Option<&ResponseHead>,
        length: u64,
        tx_id: u64,
    ) -> Self {
        let mut e = HttpEvent {
            length,
            tx_id,
            ..HttpEvent::default()
        };
        if let Some(r) = req {
            let from_uri = uri_authority(&r.uri, &r.method).and_then(parse_hostport);
            let from_host = r.headers.host.as_deref().and_then(parse_hostport);
            if let Some((h, p)) = from_uri.or(from_host) {
                e.hostname = Some(bytes_to_string(&h));
                e.http_port = p;
            }
            e.url = Some(bytes_to_string(&r.uri));
            e.http_user_agent = opt(&r.headers.user_agent);
            e.xff = opt(&r.headers.xff);
            e.http_refer = opt(&r.headers.referer);
            e.http_method = Some(r.method.clone());
            e.protocol = Some(match r.minor {
                0 => "HTTP/1.0".to_string(),
                1 => "HTTP/1.1".to_string(),
                m => format!("HTTP/1.{m}"),
            });
        }
        if let Some(r) = resp {
            e.http_content_type = r.headers.content_type.as_deref().map(|ct| {
                let end = memchr::memchr(b';', ct).unwrap_or(ct.len());
                bytes_to_string(&ct[..end])
            });
            e.status = Some(r.status).filter(|s| *s > 0);
            e.redirect = opt(&r.headers.location);
        }
        e
    }

    /// Hostname, if known.
    pub fn hostname(&self) -> Option<&str> {
        self.hostname.as_deref()
    }

    /// Request target (`""` for a response without a request).
    pub fn url(&self) -> &str {
        self.url.as_deref().unwrap_or("")
    }

    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// Method, if a request was seen.
    pub fn method(&self) -> Option<&str> {
        self.http_method.as_deref()
    }

    /// Response status, if a response was seen.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// User agent, if present.
    pub fn user_agent(&self) -> Option<&str> {
        self.http_user_agent.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{parse_request_head, parse_response_head};
    use super::*;

    #[test]
    fn bug78_fields_exact() {
        // Request/response heads from suricata-verify bug-78-uricontent pcap.
        let req = parse_request_head(b"GET /blah/ HTTP/1.0\r\nUser-Agent: Wget/1.11.4\r\nAccept: */*\r\nHost: www.google.com\r\nConnection: Keep-Alive\r\n\r\n").expect("req");
        let resp = parse_response_head(b"HTTP/1.0 404 Not Found\r\nCache-Control: private, max-age=0\r\nDate: Fri, 16 Oct 2009 16:44:16 GMT\r\nExpires: -1\r\nContent-Type: text/html; charset=ISO-8859-1\r\nServer: gws\r\nX-XSS-Protection: 0\r\nX-Cache: MISS from .\r\nVia: 1.0 .:80 (squid)\r\nConnection: close\r\n\r\n").expect("resp");
        let e = HttpEvent::build(Some(&req), Some(&resp), 1194, 0);
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            r#"{"hostname":"www.google.com","url":"/blah/","http_user_agent":"Wget/1.11.4","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.0","status":404,"length":1194}"#
        );
    }

    #[test]
    fn non_utf8_bytes_are_escaped() {
        assert_eq!(bytes_to_string(b"a\xff\x80/\xc3"), "a\\xff\\x80/\\xc3");
        assert_eq!(bytes_to_string("é".as_bytes()), "é");
    }

    #[test]
    fn absolute_uri_wins_over_host() {
        let req = parse_request_head(
            b"GET http://Proxy.Example:3128/x HTTP/1.1\r\nHost: other\r\nReferer: http://r/\r\n\r\n",
        )
        .expect("req");
        let e = HttpEvent::build(Some(&req), None, 0, 3);
        assert_eq!(e.hostname(), Some("proxy.example"));
        assert_eq!(e.http_port, Some(3128));
        assert_eq!(e.url(), "http://Proxy.Example:3128/x");
        assert_eq!(e.http_refer.as_deref(), Some("http://r/"));
        assert_eq!(e.tx_id(), 3);
        let v = serde_json::to_value(&e).expect("json");
        assert!(v.get("status").is_none());
        assert_eq!(v["length"], 0);
    }

    #[test]
    fn ipv6_host_keeps_brackets() {
        let req = parse_request_head(b"GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n").expect("req");
        let e = HttpEvent::build(Some(&req), None, 0, 0);
        assert_eq!(e.hostname(), Some("[::1]"));
        assert_eq!(e.http_port, Some(8000));
    }
}
