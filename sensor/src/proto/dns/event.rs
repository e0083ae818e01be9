//! Suricata 8 EVE `dns` object, version 3.
//!
//! Field order and presence follow Suricata's v3 logger: `version`,
//! `type`, `tx_id`, `id`, `flags` (lower-case hex, no padding), the flag
//! booleans `qr`/`aa`/`tc`/`rd`/`ra`/`z` only when set, `opcode`, `rcode`
//! (always, also for requests), then `queries`, `answers`, `grouped`,
//! `authorities`, `additionals` when non-empty.

use serde::Serialize;

use super::parser::{DnsMessage, DnsRecord, RData};

/// Suricata's name for a record type; unknown types are the decimal number.
pub fn rrtype_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return t.to_string(),
    };
    s.to_string()
}

/// Suricata's name for the 4-bit header rcode; 11..=15 are numbers.
pub fn rcode_name(rcode: u8) -> String {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return rcode.to_string(),
    };
    s.to_string()
}

/// Suricata's byte-string rule (see [`crate::proto::common::bytes_text`]).
pub use crate::proto::common::bytes_string as bytes_to_string;

/// IPv4 dotted quad; IPv6 as eight uncompressed 4-digit hex groups
/// (Suricata does not apply `::` compression).
fn addr_string(b: &[u8]) -> String {
    match b {
        [a, b, c, d] => format!("{a}.{b}.{c}.{d}"),
        _ if b.len() == 16 => b
            .chunks(2)
            .map(|p| format!("{:02x}{:02x}", p[0], p.get(1).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(":"),
        _ => String::new(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One entry of `queries`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsQueryEntry {
    /// Query name.
    pub rrname: String,
    /// Query type name.
    pub rrtype: String,
}

/// SOA object (`soa` in records, items of `grouped.SOA`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsSoa {
    /// Primary name server.
    pub mname: String,
    /// Responsible mailbox.
    pub rname: String,
    /// Serial.
    pub serial: u32,
    /// Refresh.
    pub refresh: u32,
    /// Retry.
    pub retry: u32,
    /// Expire.
    pub expire: u32,
    /// Minimum.
    pub minimum: u32,
}

/// SRV object.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsSrv {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target name.
    pub name: String,
}

/// SSHFP object.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsSshfp {
    /// Colon-separated lower-case hex fingerprint.
    pub fingerprint: String,
    /// Algorithm.
    pub algo: u8,
    /// Fingerprint type.
    #[serde(rename = "type")]
    pub fp_type: u8,
}

/// EDNS option object in `additionals[].opt`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsOpt {
    /// Option code.
    pub code: u16,
    /// Option data, lower-case hex.
    pub data: String,
}

/// One entry of `answers`, `authorities` or `additionals`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsAnswerEntry {
    /// Owner name.
    pub rrname: String,
    /// Type name.
    pub rrtype: String,
    /// TTL.
    pub ttl: u32,
    /// Text rdata for A/AAAA/CNAME/NS/PTR/MX/TXT/NULL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
    /// SOA fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa: Option<DnsSoa>,
    /// SSHFP fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sshfp: Option<DnsSshfp>,
    /// SRV fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<DnsSrv>,
    /// EDNS options (OPT records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt: Option<Vec<DnsOpt>>,
}

/// The `grouped` object: answer rdata grouped by type.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct DnsGrouped {
    /// A addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub A: Option<Vec<String>>,
    /// AAAA addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub AAAA: Option<Vec<String>>,
    /// CNAME targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub CNAME: Option<Vec<String>>,
    /// MX exchanges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub MX: Option<Vec<String>>,
    /// NS hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NS: Option<Vec<String>>,
    /// NULL payloads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NULL: Option<Vec<String>>,
    /// PTR targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub PTR: Option<Vec<String>>,
    /// SOA records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SOA: Option<Vec<DnsSoa>>,
    /// SRV records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SRV: Option<Vec<DnsSrv>>,
    /// SSHFP records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SSHFP: Option<Vec<DnsSshfp>>,
    /// TXT strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub TXT: Option<Vec<String>>,
}

fn push<T>(slot: &mut Option<Vec<T>>, v: T) {
    slot.get_or_insert_with(Vec::new).push(v);
}

impl DnsGrouped {
    fn add(&mut self, rec: &DnsRecord) {
        match &rec.rdata {
            RData::A(a) => push(&mut self.A, addr_string(a)),
            RData::Aaaa(a) => push(&mut self.AAAA, addr_string(a)),
            RData::Cname(n) => push(&mut self.CNAME, bytes_to_string(n)),
            RData::Ns(n) => push(&mut self.NS, bytes_to_string(n)),
            RData::Ptr(n) => push(&mut self.PTR, bytes_to_string(n)),
            RData::Mx { exchange, .. } => push(&mut self.MX, bytes_to_string(exchange)),
            RData::Txt(t) => {
                for s in t {
                    push(&mut self.TXT, bytes_to_string(s));
                }
            }
            RData::Null(b) => push(&mut self.NULL, bytes_to_string(b)),
            RData::Soa(_) | RData::Srv(_) | RData::Sshfp { .. } => {
                let e = detail(rec, 0);
                if let Some(s) = e.soa {
                    push(&mut self.SOA, s);
                }
                if let Some(s) = e.srv {
                    push(&mut self.SRV, s);
                }
                if let Some(s) = e.sshfp {
                    push(&mut self.SSHFP, s);
                }
            }
            RData::Opt(_) | RData::Unknown(_) | RData::Malformed(_) => {}
        }
    }
}

/// Detail entry for one record; `txt_index` selects the TXT string.
fn detail(rec: &DnsRecord, txt_index: usize) -> DnsAnswerEntry {
    let mut e = DnsAnswerEntry {
        rrname: bytes_to_string(&rec.name),
        rrtype: rrtype_name(rec.rrtype),
        ttl: rec.ttl,
        rdata: None,
        soa: None,
        sshfp: None,
        srv: None,
        opt: None,
    };
    match &rec.rdata {
        RData::A(a) => e.rdata = Some(addr_string(a)),
        RData::Aaaa(a) => e.rdata = Some(addr_string(a)),
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => e.rdata = Some(bytes_to_string(n)),
        RData::Mx { exchange, .. } => e.rdata = Some(bytes_to_string(exchange)),
        RData::Txt(t) => e.rdata = t.get(txt_index).map(|s| bytes_to_string(s)),
        RData::Null(b) => e.rdata = Some(bytes_to_string(b)),
        RData::Soa(s) => {
            e.soa = Some(DnsSoa {
                mname: bytes_to_string(&s.mname),
                rname: bytes_to_string(&s.rname),
                serial: s.serial,
                refresh: s.refresh,
                retry: s.retry,
                expire: s.expire,
                minimum: s.minimum,
            })
        }
        RData::Srv(s) => {
            e.srv = Some(DnsSrv {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                name: bytes_to_string(&s.target),
            })
        }
        RData::Sshfp {
            algo,
            fp_type,
            fingerprint,
        } => {
            e.sshfp = Some(DnsSshfp {
                fingerprint: fingerprint
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                algo: *algo,
                fp_type: *fp_type,
            })
        }
        RData::Opt(o) => {
            e.opt = Some(
                o.iter()
                    .map(|(code, d)| DnsOpt {
                        code: *code,
                        data: d.iter().map(|b| format!("{b:02x}")).collect(),
                    })
                    .collect(),
            )
        }
        RData::Unknown(_) | RData::Malformed(_) => {}
    }
    e
}

/// Expand records into detail entries (one per TXT string, like Suricata;
/// a TXT record without strings yields no entry).
fn details(recs: &[DnsRecord], skip_empty_opt: bool) -> Vec<DnsAnswerEntry> {
    let mut out = Vec::with_capacity(recs.len());
    for r in recs {
        match &r.rdata {
            RData::Txt(t) => out.extend((0..t.len()).map(|i| detail(r, i))),
            RData::Opt(o) if skip_empty_opt && o.is_empty() => {}
            _ => out.push(detail(r, 0)),
        }
    }
    out
}

/// One DNS transaction half as logged by Suricata 8 (EVE dns v3).
#[derive(Clone, Debug, Serialize)]
pub struct DnsEvent {
    /// Always 3.
    pub version: u8,
    /// `"request"` or `"response"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Internal transaction counter; assigned by the caller.
    pub tx_id: u64,
    /// Wire transaction ID.
    pub id: u16,
    /// Flags word as lower-case hex without padding (e.g. `"81a0"`, `"100"`).
    pub flags: String,
    /// Response bit.
    #[serde(skip_serializing_if = "is_false")]
    pub qr: bool,
    /// Authoritative answer.
    #[serde(skip_serializing_if = "is_false")]
    pub aa: bool,
    /// Truncated.
    #[serde(skip_serializing_if = "is_false")]
    pub tc: bool,
    /// Recursion desired.
    #[serde(skip_serializing_if = "is_false")]
    pub rd: bool,
    /// Recursion available.
    #[serde(skip_serializing_if = "is_false")]
    pub ra: bool,
    /// Reserved Z bit set.
    #[serde(skip_serializing_if = "is_false")]
    pub z: bool,
    /// Opcode.
    pub opcode: u8,
    /// Rcode name.
    pub rcode: String,
    /// Questions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<DnsQueryEntry>,
    /// Detailed answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswerEntry>,
    /// Grouped answers (present whenever the answer section is non-empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouped: Option<DnsGrouped>,
    /// Authority records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<DnsAnswerEntry>,
    /// Additional records (OPT without options omitted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additionals: Vec<DnsAnswerEntry>,
    /// Numeric header rcode (not serialised).
    #[serde(skip)]
    pub rcode_value: u8,
}

impl DnsEvent {
    /// Build an event from a parsed message. `response` selects the
    /// `type` (Suricata uses the direction, not the QR bit).
    pub fn from_message(msg: &DnsMessage, response: bool) -> Self {
        let h = &msg.header;
        let f = h.flags;
        let grouped = if msg.answers.is_empty() {
            None
        } else {
            let mut g = DnsGrouped::default();
            for r in &msg.answers {
                g.add(r);
            }
            Some(g)
        };
        DnsEvent {
            version: 3,
            kind: if response { "response" } else { "request" },
            tx_id: 0,
            id: h.id,
            flags: format!("{f:x}"),
            qr: f & 0x8000 != 0,
            aa: f & 0x0400 != 0,
            tc: f & 0x0200 != 0,
            rd: f & 0x0100 != 0,
            ra: f & 0x0080 != 0,
            z: f & 0x0040 != 0,
            opcode: h.opcode(),
            rcode: rcode_name(h.rcode()),
            queries: msg
                .questions
                .iter()
                .map(|q| DnsQueryEntry {
                    rrname: bytes_to_string(&q.name),
                    rrtype: rrtype_name(q.rrtype),
                })
                .collect(),
            answers: details(&msg.answers, false),
            grouped,
            authorities: details(&msg.authorities, false),
            additionals: details(&msg.additionals, true),
            rcode_value: h.rcode(),
        }
    }

    /// Query names in question order.
    pub fn query_names(&self) -> impl Iterator<Item = &str> {
        self.queries.iter().map(|q| q.rrname.as_str())
    }

    /// True for a to-client (response) event.
    pub fn is_response(&self) -> bool {
        self.kind == "response"
    }

    /// Numeric 4-bit header rcode.
    pub fn rcode(&self) -> u8 {
        self.rcode_value
    }

    /// Rcode name as logged (`"NOERROR"`, `"NXDOMAIN"`, ...).
    pub fn rcode_name(&self) -> &str {
        &self.rcode
    }

    /// Answer rrnames (for `dns.answers.rrname`-style matching).
    pub fn answer_names(&self) -> impl Iterator<Item = &str> {
        self.answers.iter().map(|a| a.rrname.as_str())
    }

    /// Whether any answer/authority/additional has rrtype OPT with options.
    pub fn has_edns_options(&self) -> bool {
        self.additionals.iter().any(|a| a.opt.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::tests::{DIG_QUERY, DIG_RESPONSE};
    use super::super::parser::{parse_message, DnsHeader, DnsRecord, SoaData, SrvData};
    use super::*;

    #[test]
    fn dig_request_json_exact() {
        let m = parse_message(DIG_QUERY).expect("parse");
        let e = DnsEvent::from_message(&m, false);
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            r#"{"version":3,"type":"request","tx_id":0,"id":36146,"flags":"120","rd":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.suricata-ids.org","rrtype":"A"}]}"#
        );
        assert!(!e.is_response());
        assert_eq!(
            e.query_names().collect::<Vec<_>>(),
            ["www.suricata-ids.org"]
        );
    }

    #[test]
    fn dig_response_json_exact() {
        // Values from suricata-verify dns-udp-eve-dig test.yaml.
        let m = parse_message(DIG_RESPONSE).expect("parse");
        let mut e = DnsEvent::from_message(&m, true);
        e.tx_id = 1;
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            concat!(
                r#"{"version":3,"type":"response","tx_id":1,"id":36146,"flags":"81a0","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","#,
                r#""queries":[{"rrname":"www.suricata-ids.org","rrtype":"A"}],"#,
                r#""answers":[{"rrname":"www.suricata-ids.org","rrtype":"CNAME","ttl":3544,"rdata":"suricata-ids.org"},"#,
                r#"{"rrname":"suricata-ids.org","rrtype":"A","ttl":244,"rdata":"192.0.78.24"},"#,
                r#"{"rrname":"suricata-ids.org","rrtype":"A","ttl":244,"rdata":"192.0.78.25"}],"#,
                r#""grouped":{"A":["192.0.78.24","192.0.78.25"],"CNAME":["suricata-ids.org"]}}"#
            )
        );
        assert!(e.is_response());
        assert_eq!(e.rcode(), 0);
    }

    fn rec(rrtype: u16, rdata: RData) -> DnsRecord {
        DnsRecord {
            name: b"ex.org".to_vec(),
            rrtype,
            rrclass: 1,
            ttl: 60,
            rdata,
        }
    }

    #[test]
    fn rdata_formats_match_suricata() {
        let m = DnsMessage {
            header: DnsHeader {
                id: 1,
                flags: 0x8583, // QR AA RD RA NXDOMAIN
                qdcount: 1,
                ..DnsHeader::default()
            },
            answers: vec![
                rec(
                    28,
                    RData::Aaaa([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                ),
                rec(
                    15,
                    RData::Mx {
                        preference: 10,
                        exchange: b"mx.ex.org".to_vec(),
                    },
                ),
                rec(16, RData::Txt(vec![b"a".to_vec(), b"b\xff".to_vec()])),
                rec(
                    33,
                    RData::Srv(SrvData {
                        priority: 1,
                        weight: 2,
                        port: 3,
                        target: b"t.ex.org".to_vec(),
                    }),
                ),
                rec(
                    44,
                    RData::Sshfp {
                        algo: 1,
                        fp_type: 2,
                        fingerprint: vec![0xab, 0x01],
                    },
                ),
                rec(99, RData::Unknown(vec![1, 2])),
            ],
            authorities: vec![rec(
                6,
                RData::Soa(SoaData {
                    mname: b"ns.ex.org".to_vec(),
                    rname: b"h.ex.org".to_vec(),
                    serial: 1,
                    refresh: 2,
                    retry: 3,
                    expire: 4,
                    minimum: 5,
                }),
            )],
            ..DnsMessage::default()
        };
        let e = DnsEvent::from_message(&m, true);
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["flags"], "8583");
        assert_eq!(v["aa"], true);
        assert_eq!(v["rcode"], "NXDOMAIN");
        assert_eq!(e.rcode(), 3);
        assert!(v.get("tc").is_none() && v.get("z").is_none());
        assert!(v.get("queries").is_none());
        let a = &v["answers"];
        assert_eq!(a[0]["rdata"], "2001:0db8:0000:0000:0000:0000:0000:0001");
        assert_eq!(a[1]["rdata"], "mx.ex.org");
        assert_eq!(a[2]["rdata"], "a");
        assert_eq!(a[3]["rdata"], "b\\xff");
        assert_eq!(a[3]["rrtype"], "TXT");
        assert_eq!(
            a[4],
            serde_json::json!({"rrname":"ex.org","rrtype":"SRV","ttl":60,"srv":{"priority":1,"weight":2,"port":3,"name":"t.ex.org"}})
        );
        assert_eq!(
            a[5]["sshfp"],
            serde_json::json!({"fingerprint":"ab:01","algo":1,"type":2})
        );
        assert_eq!(
            a[6],
            serde_json::json!({"rrname":"ex.org","rrtype":"SPF","ttl":60})
        );
        assert_eq!(a.as_array().map(|x| x.len()), Some(7));
        let g = &v["grouped"];
        assert_eq!(g["TXT"], serde_json::json!(["a", "b\\xff"]));
        assert_eq!(g["MX"], serde_json::json!(["mx.ex.org"]));
        assert_eq!(g["SRV"][0]["port"], 3);
        assert_eq!(
            v["authorities"],
            serde_json::json!([{"rrname":"ex.org","rrtype":"SOA","ttl":60,
                "soa":{"mname":"ns.ex.org","rname":"h.ex.org","serial":1,"refresh":2,"retry":3,"expire":4,"minimum":5}}])
        );
    }

    #[test]
    fn names_and_codes() {
        assert_eq!(rrtype_name(65), "HTTPS");
        assert_eq!(rrtype_name(255), "ANY");
        assert_eq!(rrtype_name(1234), "1234");
        assert_eq!(rcode_name(5), "REFUSED");
        assert_eq!(rcode_name(12), "12");
        assert_eq!(bytes_to_string(b"a\x80"), "a\\x80");
    }

    #[test]
    fn opt_with_options_logged() {
        let mut m = DnsMessage::default();
        m.header.qdcount = 1;
        m.additionals.push(DnsRecord {
            name: vec![],
            rrtype: 41,
            rrclass: 4096,
            ttl: 0,
            rdata: RData::Opt(vec![(10, vec![0x5a, 0x76])]),
        });
        let v = serde_json::to_value(DnsEvent::from_message(&m, false)).expect("json");
        assert_eq!(
            v["additionals"],
            serde_json::json!([{"rrname":"","rrtype":"OPT","ttl":0,"opt":[{"code":10,"data":"5a76"}]}])
        );
    }
}
