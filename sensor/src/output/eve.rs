//! Suricata EVE JSON records, written into a worker's byte buffer.
//!
//! Records are built by hand around the serde-serialised protocol objects:
//! the header fields are few and fixed, and writing them directly avoids a
//! `serde(flatten)` map round-trip per event on the packet path. Field names
//! and types follow Suricata's EVE schema (`eve-schema.json`), which the test
//! suite validates every record against.

use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

/// Append `s` as a JSON string literal (quoted, escaped).
#[inline]
pub fn json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail; serde_json escapes per RFC 8259.
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// Append any serialisable value as JSON.
#[inline]
pub fn json_value<T: Serialize + ?Sized>(buf: &mut Vec<u8>, v: &T) {
    if serde_json::to_writer(&mut *buf, v).is_err() {
        buf.extend_from_slice(b"null");
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian. The
/// well-known "civil from days" arithmetic (era of 400 years).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Append an EVE timestamp (`2024-01-31T12:00:00.123456+0000`, UTC).
/// Digits are written directly: this runs for every record.
pub fn write_ts(buf: &mut Vec<u8>, ts_ns: u64) {
    let secs = (ts_ns / 1_000_000_000) as i64;
    let micros = ((ts_ns % 1_000_000_000) / 1000) as u32;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let y = y.clamp(0, 9999) as u32;
    let mut out = *b"0000-00-00T00:00:00.000000+0000";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, mo);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, (sod / 60) % 60);
    put(17, 2, sod % 60);
    put(20, 6, micros);
    buf.extend_from_slice(&out);
}

/// Append an integer.
#[inline]
pub fn int<I: itoa::Integer>(buf: &mut Vec<u8>, v: I) {
    let mut b = itoa::Buffer::new();
    buf.extend_from_slice(b.format(v).as_bytes());
}

/// Append an IP address in its usual text form.
#[inline]
pub fn ip(buf: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            for (i, x) in o.iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                int(buf, *x);
            }
        }
        IpAddr::V6(v6) => {
            // Suricata writes IPv6 addresses in full: eight groups of four
            // hex digits, no `::` compression.
            const HEX: &[u8; 16] = b"0123456789abcdef";
            for (i, g) in v6.segments().iter().enumerate() {
                if i > 0 {
                    buf.push(b':');
                }
                for shift in [12, 8, 4, 0] {
                    buf.push(HEX[((g >> shift) & 0xf) as usize]);
                }
            }
        }
    }
}

/// Timestamp without the fraction's time zone, as a String (flow start/end).
pub fn ts_string(ts_ns: u64) -> String {
    let mut v = Vec::with_capacity(32);
    write_ts(&mut v, ts_ns);
    String::from_utf8(v).unwrap_or_default()
}

/// The 5-tuple of a record, oriented as the record reports it.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// ICMP type and code, for ICMP records.
    pub icmp: Option<(u8, u8)>,
}

impl Endpoints {
    pub fn reversed(&self) -> Endpoints {
        Endpoints {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            ..*self
        }
    }
}

/// Common header fields of an EVE record.
pub struct Header<'a> {
    pub ts_ns: u64,
    pub event_type: &'a str,
    pub flow_id: Option<u64>,
    pub pcap_cnt: Option<u64>,
    pub ep: Option<&'a Endpoints>,
    pub vlan: &'a [u16],
    pub community_id: Option<&'a str>,
    pub app_proto: Option<&'a str>,
    pub tx_id: Option<u64>,
}

/// Start a record: writes `{` and the header fields. Finish it with
/// [`end_record`] after appending `,"key":value` members.
pub fn begin_record(buf: &mut Vec<u8>, h: &Header<'_>) {
    buf.extend_from_slice(b"{\"timestamp\":\"");
    write_ts(buf, h.ts_ns);
    buf.push(b'"');
    if let Some(id) = h.flow_id {
        buf.extend_from_slice(b",\"flow_id\":");
        int(buf, id);
    }
    if let Some(n) = h.pcap_cnt {
        buf.extend_from_slice(b",\"pcap_cnt\":");
        int(buf, n);
    }
    buf.extend_from_slice(b",\"event_type\":");
    json_str(buf, h.event_type);
    if !h.vlan.is_empty() {
        buf.extend_from_slice(b",\"vlan\":");
        json_value(buf, h.vlan);
    }
    if let Some(ep) = h.ep {
        buf.extend_from_slice(b",\"src_ip\":\"");
        ip(buf, ep.src);
        buf.push(b'"');
        let ports = matches!(ep.proto, 6 | 17 | 132);
        if ports {
            buf.extend_from_slice(b",\"src_port\":");
            int(buf, ep.sport);
        }
        buf.extend_from_slice(b",\"dest_ip\":\"");
        ip(buf, ep.dst);
        buf.push(b'"');
        if ports {
            buf.extend_from_slice(b",\"dest_port\":");
            int(buf, ep.dport);
        }
        buf.extend_from_slice(if ep.src.is_ipv4() {
            b",\"ip_v\":4"
        } else {
            b",\"ip_v\":6"
        });
        buf.extend_from_slice(b",\"proto\":");
        json_str(buf, crate::flow::proto_name(ep.proto));
        if let Some((t, c)) = ep.icmp {
            let _ = write!(buf, ",\"icmp_type\":{t},\"icmp_code\":{c}");
        }
    }
    if let Some(c) = h.community_id {
        buf.extend_from_slice(b",\"community_id\":");
        json_str(buf, c);
    }
    if let Some(a) = h.app_proto {
        buf.extend_from_slice(b",\"app_proto\":");
        json_str(buf, a);
    }
    if let Some(t) = h.tx_id {
        buf.extend_from_slice(b",\"tx_id\":");
        int(buf, t);
    }
}

/// Append `,"key":` (the value follows).
#[inline]
pub fn member(buf: &mut Vec<u8>, key: &str) {
    buf.push(b',');
    json_str(buf, key);
    buf.push(b':');
}

/// Close a record and end the line.
#[inline]
pub fn end_record(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(ts_string(0), "1970-01-01T00:00:00.000000+0000");
        // 2009-11-12T01:32:17.812450 UTC
        assert_eq!(
            ts_string(1_257_989_537_812_450_123),
            "2009-11-12T01:32:17.812450+0000"
        );
        // Leap day.
        assert_eq!(
            ts_string(1_709_210_096_000_000_000),
            "2024-02-29T12:34:56.000000+0000"
        );
    }

    #[test]
    fn record_shape() {
        let ep = Endpoints {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            sport: 1234,
            dport: 53,
            proto: 17,
            icmp: None,
        };
        let mut b = Vec::new();
        begin_record(
            &mut b,
            &Header {
                ts_ns: 0,
                event_type: "dns",
                flow_id: Some(42),
                pcap_cnt: Some(1),
                ep: Some(&ep),
                vlan: &[5],
                community_id: Some("1:x"),
                app_proto: None,
                tx_id: None,
            },
        );
        member(&mut b, "dns");
        json_value(&mut b, &serde_json::json!({"version": 3}));
        end_record(&mut b);
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["flow_id"], 42);
        assert_eq!(v["src_port"], 1234);
        assert_eq!(v["proto"], "UDP");
        assert_eq!(v["vlan"][0], 5);
        assert_eq!(v["src_ip"], "10.0.0.1");
        assert!(b.ends_with(b"}\n"));
        let mut a = Vec::new();
        ip(&mut a, "2001:db8::1".parse().unwrap());
        assert_eq!(a, b"2001:0db8:0000:0000:0000:0000:0000:0001");
        assert_eq!(v["dns"]["version"], 3);
        assert!(b.ends_with(b"}\n"));
    }
}
