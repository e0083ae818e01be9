//! Detection glue: which fields of which events are looked up in the IOC
//! set, and how a hit becomes an EVE `alert` object.

pub mod ot;

use rules::ioc::{Indicator, IocSet};

use crate::output::eve;
use crate::proto::AppEvent;

/// Indicators hit by an app-layer event, with the field that hit
/// (`dns.query`, `http.hostname`, ...). At most one hit per field.
pub fn match_event<'s>(ioc: &'s IocSet, ev: &AppEvent) -> Vec<(&'s Indicator, &'static str)> {
    let mut hits = Vec::new();
    if ioc.is_empty() {
        return hits;
    }
    match ev {
        AppEvent::Dns(d) => {
            // Requests only: the response repeats the same query name.
            if !d.is_response() {
                for q in d.query_names() {
                    if let Some(i) = ioc.match_domain(q) {
                        hits.push((i, "dns.query"));
                        break;
                    }
                }
            }
        }
        AppEvent::Http(h) => {
            if let Some(host) = h.hostname() {
                let host_hit = ioc.match_domain(host).or_else(|| {
                    host.parse::<std::net::IpAddr>()
                        .ok()
                        .and_then(|ip| ioc.match_ip(ip))
                });
                if let Some(i) = host_hit {
                    hits.push((i, "http.hostname"));
                }
                if let Some(i) = ioc.match_url(host, h.url()) {
                    hits.push((i, "http.url"));
                }
            } else if let Some(i) = ioc.match_url("", h.url()) {
                hits.push((i, "http.url"));
            }
        }
        AppEvent::Ot(_) => {}
        AppEvent::Tls(t) => {
            if let Some(i) = t.sni().and_then(|s| ioc.match_sni(s)) {
                hits.push((i, "tls.sni"));
            }
            if let Some(i) = t.ja3_hash().and_then(|s| ioc.match_ja3(s)) {
                hits.push((i, "tls.ja3"));
            }
            if let Some(i) = t.ja4().and_then(|s| ioc.match_ja4(s)) {
                hits.push((i, "tls.ja4"));
            }
            if let Some(i) = t.cert_sha1().and_then(|s| ioc.match_cert_sha1(s)) {
                hits.push((i, "tls.cert_sha1"));
            }
        }
    }
    hits
}

/// EVE severity (1 high .. 3 low) from the indicator's confidence.
pub fn severity(ind: &Indicator) -> u8 {
    match ind.confidence {
        Some(c) if c >= 80 => 1,
        Some(c) if c < 50 => 3,
        _ => 2,
    }
}

/// Write the `alert` object of an IOC hit.
pub fn write_alert(buf: &mut Vec<u8>, ind: &Indicator, field: &str, severity: u8) {
    use std::io::Write;
    let _ = write!(
        buf,
        "{{\"action\":\"allowed\",\"gid\":1,\"signature_id\":{},\"rev\":1,\"signature\":",
        ind.signature_id
    );
    let actor = ind
        .actor
        .as_deref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    eve::json_str(
        buf,
        &format!(
            "IOC {} {}{} in {}",
            ind.kind.as_str(),
            ind.value,
            actor,
            field
        ),
    );
    let _ = write!(
        buf,
        ",\"category\":\"Known threat indicator\",\"severity\":{severity},\"metadata\":{{\"ioc_type\":["
    );
    eve::json_str(buf, ind.kind.as_str());
    buf.extend_from_slice(b"],\"ioc_value\":[");
    eve::json_str(buf, &ind.value);
    buf.extend_from_slice(b"],\"matched_field\":[");
    eve::json_str(buf, field);
    buf.push(b']');
    for (k, v) in [
        ("actor", ind.actor.as_deref()),
        ("source", ind.source.as_deref()),
        ("reference", ind.reference.as_deref()),
    ] {
        if let Some(v) = v {
            eve::member(buf, k);
            buf.push(b'[');
            eve::json_str(buf, v);
            buf.push(b']');
        }
    }
    if let Some(c) = ind.confidence {
        let _ = write!(buf, ",\"confidence\":[\"{c}\"]");
    }
    buf.extend_from_slice(b"}}");
}
