//! Unit tests of inference, loading and lookup semantics.

use std::net::IpAddr;

use super::*;

/// Expected outcome of a classification: kind and value, or a rejection class.
type Expect = Result<(IocKind, String), &'static str>;

fn ok(kind: IocKind, value: &str) -> Expect {
    Ok((kind, value.to_string()))
}

/// Ok((kind, value)), Err("invalid") or Err("not_observable").
fn run(input: &str) -> Expect {
    match classify(input, None) {
        Ok(r) => Ok(r),
        Err(Rejected::Invalid(_)) => Err("invalid"),
        Err(Rejected::NotObservable(_)) => Err("not_observable"),
    }
}

#[test]
fn inference_table() {
    use IocKind::*;
    let long_domain = format!("{}.com", "a".repeat(300));
    let long_label = format!("{}.com", "a".repeat(64));
    let huge = "x".repeat(5000);
    let cases: Vec<(&str, Expect)> = vec![
        // IPs
        ("1.2.3.4", ok(Ip, "1.2.3.4")),
        ("  10.0.0.1  ", ok(Ip, "10.0.0.1")),
        ("2001:DB8::1", ok(Ip, "2001:db8::1")),
        ("::ffff:1.2.3.4", ok(Ip, "1.2.3.4")),
        ("149.28.156.153:443", ok(Ip, "149.28.156.153")),
        ("[2001:db8::1]:8443", ok(Ip, "2001:db8::1")),
        // CIDR
        ("10.0.0.0/8", ok(Cidr, "10.0.0.0/8")),
        ("10.1.2.3/8", ok(Cidr, "10.0.0.0/8")),
        ("2001:db8::/32", ok(Cidr, "2001:db8::/32")),
        ("1.2.3.4/32", ok(Ip, "1.2.3.4")),
        ("10.0.0.0/33", Err("invalid")),
        // URLs with scheme
        ("http://144.202.54.8", ok(Ip, "144.202.54.8")),
        ("http://144.202.54.8:8080/", ok(Ip, "144.202.54.8")),
        ("https://Evil.COM/", ok(Domain, "evil.com")),
        (
            "http://evil.com/a/B.php?x=1",
            ok(Url, "evil.com/a/B.php?x=1"),
        ),
        ("http://evil.com:8080/a#frag", ok(Url, "evil.com/a")),
        ("http://user@evil.com/a", ok(Url, "evil.com/a")),
        ("http://evil.com?q=1", ok(Url, "evil.com/?q=1")),
        ("http://[2001:db8::1]/x", ok(Url, "[2001:db8::1]/x")),
        ("hxxp://evil[.]com/x", ok(Url, "evil.com/x")),
        ("ht tp://x", Err("invalid")),
        ("1http://x.com/a", Err("invalid")),
        // maltrail host/path and path-only
        (
            "apshenyihl.com/include/arc.speclist.class.php",
            ok(Url, "apshenyihl.com/include/arc.speclist.class.php"),
        ),
        ("Evil.com:8080/A/b", ok(Url, "evil.com/A/b")),
        ("1.2.3.4/gate.php", ok(Url, "1.2.3.4/gate.php")),
        ("evil.com/", ok(Domain, "evil.com")),
        ("/itsme.daum", ok(Url, "/itsme.daum")),
        (
            "/USER-ПК/perceived.accdw",
            ok(Url, "/USER-ПК/perceived.accdw"),
        ),
        ("/", Err("invalid")),
        ("bad_host!/x", Err("invalid")),
        // hashes / fingerprints
        (
            "E7D705A3286E19EA42F587B344EE6865",
            ok(Ja3, "e7d705a3286e19ea42f587b344ee6865"),
        ),
        (
            "t13d1516h2_8daaf6152771_02713d6af862",
            ok(Ja4, "t13d1516h2_8daaf6152771_02713d6af862"),
        ),
        (
            "T13D1516H2_8DAAF6152771_02713D6AF862",
            ok(Ja4, "t13d1516h2_8daaf6152771_02713d6af862"),
        ),
        ("x13d1516h2_8daaf6152771_02713d6af862", Err("invalid")),
        (
            "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3",
            ok(CertSha1, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        ),
        (
            "a9:4a:8f:e5:cc:b1:9b:a6:1c:4c:08:73:d3:91:e9:87:98:2f:bb:d3",
            ok(CertSha1, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        ),
        (
            "ee29eb3980dff9034b1c539a799cedc1428224855e6d515d81da226448b81521",
            Err("not_observable"),
        ),
        (
            "sha256:ee29eb3980dff9034b1c539a799cedc1428224855e6d515d81da226448b81521",
            Err("not_observable"),
        ),
        ("deadbeef", Err("invalid")),
        // explicit prefixes
        ("sni:Foo.COM", ok(Sni, "foo.com")),
        ("domain:evil.com.", ok(Domain, "evil.com")),
        (
            "ja3:e7d705a3286e19ea42f587b344ee6865",
            ok(Ja3, "e7d705a3286e19ea42f587b344ee6865"),
        ),
        (
            "ja4:t13d1516h2_8daaf6152771_02713d6af862",
            ok(Ja4, "t13d1516h2_8daaf6152771_02713d6af862"),
        ),
        (
            "cert_sha1:a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            ok(CertSha1, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        ),
        ("ip:1.2.3.4", ok(Ip, "1.2.3.4")),
        ("cidr:10.0.0.0/8", ok(Cidr, "10.0.0.0/8")),
        ("url:evil.com", ok(Url, "evil.com/")),
        ("URL:http://evil.com/", ok(Url, "evil.com/")),
        ("domain:1.2.3.4", Err("invalid")),
        ("ja3:xyz", Err("invalid")),
        // domains
        ("evil.com", ok(Domain, "evil.com")),
        ("Sub.EVIL.com.", ok(Domain, "sub.evil.com")),
        (
            "xn--_-7sbnylvv.restored.domasq.ru",
            ok(Domain, "xn--_-7sbnylvv.restored.domasq.ru"),
        ),
        (
            "71properties_.soportas.ru",
            ok(Domain, "71properties_.soportas.ru"),
        ),
        ("*.evil.com", ok(Domain, "evil.com")),
        ("newidealupvc.com:443", ok(Domain, "newidealupvc.com")),
        ("xn--80ak6aa92e.com", ok(Domain, "xn--80ak6aa92e.com")),
        // junk
        ("", Err("invalid")),
        ("   ", Err("invalid")),
        ("1.2.3", Err("invalid")),
        ("999.1.1.1", Err("invalid")),
        ("-bad-.com", Err("invalid")),
        ("bad-.com", Err("invalid")),
        ("a..b", Err("invalid")),
        (".evil.com", Err("invalid")),
        ("localhost", Err("invalid")),
        ("пример.рф", Err("invalid")),
        ("evil.com:99999", Err("invalid")),
        ("evil .com", Err("invalid")),
        ("12345", Err("invalid")),
        (long_domain.as_str(), Err("invalid")),
        (long_label.as_str(), Err("invalid")),
        (huge.as_str(), Err("invalid")),
    ];
    let mut failures = Vec::new();
    for (input, want) in &cases {
        let got = run(input);
        if &got != want {
            failures.push(format!("{input:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejection_reasons_are_specific() {
    let reason = |s: &str| classify(s, None).unwrap_err().reason().to_string();
    assert_eq!(reason("999.1.1.1"), "invalid IPv4 address");
    assert_eq!(reason("1.2.3"), "invalid IPv4 address");
    assert_eq!(reason("a..b"), "empty label in domain name");
    assert_eq!(reason("-bad-.com"), "domain label starts or ends with '-'");
    assert_eq!(
        reason("ee29eb3980dff9034b1c539a799cedc1428224855e6d515d81da226448b81521"),
        SHA256_REASON
    );
    assert!(reason(&"x".repeat(5000)).starts_with("value too long"));
}

fn set_of(text: &str) -> IocSet {
    let mut b = IocSetBuilder::default();
    let r = b.load_str("t.txt", text, true).expect("strict load");
    assert_eq!(r.errors(), 0, "{:?}", r.skipped);
    b.build()
}

fn value(i: Option<&Indicator>) -> Option<&str> {
    i.map(|i| i.value.as_str())
}

#[test]
fn domain_lookup_semantics() {
    let s = set_of("evil.com\nsub.bad.org\nsni:tls-only.net\n");
    let cases: &[(&str, Option<&str>)] = &[
        ("evil.com", Some("evil.com")),
        ("EVIL.Com", Some("evil.com")),
        ("evil.com.", Some("evil.com")),
        ("a.b.evil.com", Some("evil.com")),
        ("x.EVIL.COM.", Some("evil.com")),
        ("notevil.com", None),
        ("evil.com.au", None),
        ("com", None),
        ("", None),
        (".", None),
        ("bad.org", None),
        ("sub.bad.org", Some("sub.bad.org")),
        ("deep.sub.bad.org", Some("sub.bad.org")),
        ("tls-only.net", None), // Sni indicators are not DNS indicators
    ];
    for (name, want) in cases {
        assert_eq!(value(s.match_domain(name)), *want, "match_domain({name:?})");
    }
    let long = format!("{}.evil.com", "a.".repeat(200));
    assert_eq!(value(s.match_domain(&long)), Some("evil.com"));
}

#[test]
fn sni_lookup_semantics() {
    let s = set_of("evil.com\nsni:tls-only.net\n");
    assert_eq!(value(s.match_sni("tls-only.net")), Some("tls-only.net"));
    assert_eq!(value(s.match_sni("TLS-ONLY.net.")), Some("tls-only.net"));
    assert_eq!(value(s.match_sni("a.tls-only.net")), None, "sni is exact");
    assert_eq!(value(s.match_sni("cdn.evil.com")), Some("evil.com"));
    assert_eq!(value(s.match_sni("notevil.com")), None);
}

#[test]
fn ip_lookup_semantics() {
    let s =
        set_of("10.0.0.0/8\n10.1.0.0/16\n10.1.2.3\n2001:db8::/32\n2001:db8:1::/48\n2001:db8::5\n");
    let cases: &[(&str, Option<&str>)] = &[
        ("10.1.2.3", Some("10.1.2.3")),
        ("10.1.2.4", Some("10.1.0.0/16")),
        ("10.2.0.1", Some("10.0.0.0/8")),
        ("11.0.0.1", None),
        ("::ffff:10.1.2.3", Some("10.1.2.3")),
        ("2001:db8::5", Some("2001:db8::5")),
        ("2001:db8:1::9", Some("2001:db8:1::/48")),
        ("2001:db8:2::9", Some("2001:db8::/32")),
        ("2001:db9::1", None),
    ];
    for (ip, want) in cases {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(value(s.match_ip(ip)), *want, "match_ip({ip})");
    }
    let v4 = s.ipv4_prefixes();
    assert_eq!(v4.len(), 3);
    assert!(v4.contains(&(0x0a01_0203, 32, v4.iter().find(|p| p.1 == 32).unwrap().2)));
    assert!(v4.iter().any(|&(a, l, _)| a == 0x0a00_0000 && l == 8));
    for &(_, _, i) in &v4 {
        assert!(s.get(i).is_some());
    }
    let v6 = s.ipv6_prefixes();
    assert_eq!(v6.len(), 3);
    assert!(v6.iter().any(|&(_, l, _)| l == 128));
}

#[test]
fn url_lookup_semantics() {
    let s =
        set_of("evil.com/gate.php\nevil.com/gate.php?id=\nhttp://1.2.3.4:8080/x/\n/itsme.daum\n");
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("evil.com", "/gate.php", Some("evil.com/gate.php")),
        ("EVIL.com:80", "/gate.php?a=1", Some("evil.com/gate.php")),
        ("evil.com", "/gate.php?id=7", Some("evil.com/gate.php?id=")),
        ("evil.com.", "/gate.phpx", Some("evil.com/gate.php")),
        ("evil.com", "/gate.ph", None),
        ("evil.com", "/other", None),
        ("www.evil.com", "/gate.php", None),
        ("1.2.3.4", "/x/y", Some("1.2.3.4/x/")),
        ("1.2.3.4:8080", "/x/", Some("1.2.3.4/x/")),
        ("1.2.3.4", "/x", None),
        ("anything.example", "/itsme.daum/q", Some("/itsme.daum")),
        ("evil.com", "/itsme.daum", Some("/itsme.daum")),
        (
            "evil.com",
            "http://evil.com/gate.php",
            Some("evil.com/gate.php"),
        ),
        ("x.org", "/ITSME.daum", None),
    ];
    for (host, path, want) in cases {
        assert_eq!(
            value(s.match_url(host, path)),
            *want,
            "match_url({host:?}, {path:?})"
        );
    }
}

#[test]
fn fingerprint_lookups() {
    let s = set_of(
        "e7d705a3286e19ea42f587b344ee6865\nt13d1516h2_8daaf6152771_02713d6af862\nA9:4A:8F:E5:CC:B1:9B:A6:1C:4C:08:73:D3:91:E9:87:98:2F:BB:D3\n",
    );
    assert!(s.match_ja3("E7D705A3286E19EA42F587B344EE6865").is_some());
    assert!(s.match_ja3("e7d705a3286e19ea42f587b344ee6866").is_none());
    assert!(s.match_ja3("short").is_none());
    assert!(s
        .match_ja4("T13D1516H2_8daaf6152771_02713d6af862")
        .is_some());
    assert!(s
        .match_ja4("t13d1516h2_8daaf6152771_02713d6af863")
        .is_none());
    assert!(s
        .match_cert_sha1("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3")
        .is_some());
    assert!(s
        .match_cert_sha1("a9:4a:8f:e5:cc:b1:9b:a6:1c:4c:08:73:d3:91:e9:87:98:2f:bb:d3")
        .is_some());
    assert!(s
        .match_cert_sha1("A94A8FE5CCB19BA61C4C0873D391E987982FBBD3")
        .is_some());
    assert!(s
        .match_cert_sha1("a94a8fe5ccb19ba61c4c0873d391e987982fbbd4")
        .is_none());
    assert!(s.match_cert_sha1("zz").is_none());
}

#[test]
fn maltrail_metadata_and_comments() {
    let text = "# Copyright (c) 2014-2026 Maltrail developers\n\n# Aliases: a, b\n\n\
                # Reference: https://one.example/a (Korean)\n# Reference: https://two.example/b\n\n\
                evil.com\n78.129.222.56:8090 # LisfonService RAT\n\n# Reference: # Reference: https://three.example/c\n\
                /itsme.daum\nbad..name\n";
    let mut b = IocSetBuilder::default();
    let r = b.load_str("/x/apt_kimsuky-2.txt", text, false).unwrap();
    assert_eq!(r.loaded(), 3);
    assert_eq!(r.count(IocKind::Domain), 1);
    assert_eq!(r.count(IocKind::Ip), 1);
    assert_eq!(r.count(IocKind::Url), 1);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].line, 13);
    assert_eq!(r.skipped[0].reason, "empty label in domain name");
    let s = b.build();
    let d = s.match_domain("evil.com").unwrap();
    assert_eq!(d.actor.as_deref(), Some("kimsuky"));
    assert_eq!(d.source.as_deref(), Some("maltrail"));
    assert_eq!(d.reference.as_deref(), Some("https://two.example/b"));
    assert_eq!(d.line, 8);
    assert_eq!(&*d.file, "/x/apt_kimsuky-2.txt");
    let ip = s.match_ip("78.129.222.56".parse().unwrap()).unwrap();
    assert_eq!(ip.value, "78.129.222.56");
    let u = s.match_url("h", "/itsme.daum").unwrap();
    assert_eq!(u.reference.as_deref(), Some("https://three.example/c"));

    // not maltrail, not apt_: no actor, source = stem
    let mut b = IocSetBuilder::default();
    b.load_str("feeds/blocklist.txt", "evil.com\n", true)
        .unwrap();
    let s = b.build();
    let d = s.match_domain("evil.com").unwrap();
    assert_eq!(d.actor, None);
    assert_eq!(d.source.as_deref(), Some("blocklist"));
}

#[test]
fn duplicates_keep_first() {
    let mut b = IocSetBuilder::default();
    let r = b
        .load_str(
            "a.txt",
            "evil.com\nEVIL.com.\n1.2.3.4:443\n1.2.3.4:80\nsni:evil.com\n",
            true,
        )
        .unwrap();
    assert_eq!(r.duplicates, 2);
    assert_eq!(r.loaded(), 3);
    let r2 = b.load_str("apt_other.txt", "evil.com\n", true).unwrap();
    assert_eq!(r2.duplicates, 1);
    let s = b.build();
    assert_eq!(s.len(), 3);
    let d = s.match_domain("evil.com").unwrap();
    assert_eq!((&*d.file, d.line, d.actor.as_deref()), ("a.txt", 1, None));
}

#[test]
fn csv_with_quotes() {
    let text = "# exported feed\n\
        type,value,actor,source,confidence,reference\n\
        domain,evil.com,Lazarus,\"vendor, inc\",90,\"https://r.example/a,b\"\n\
        ,1.2.3.4,,,,\n\
        url,\"http://x.com/a?b=\"\"c\"\"\",,,,\n\
        sni,\"multi\nline.com\",,,,\n\
        bogus,evil.net,,,,\n\
        ip,5.6.7.8,,,101,\n\
        sha256,ee29eb3980dff9034b1c539a799cedc1428224855e6d515d81da226448b81521,,,,\n\
        ja3,E7D705A3286E19EA42F587B344EE6865,,,,\n\
        domain,ok.org,,,,,extra\n\
        cidr,10.0.0.0/8,\"x\"y,,,\n";
    let mut b = IocSetBuilder::default();
    let r = b.load_str("feed.csv", text, false).unwrap();
    assert_eq!(r.format, ListFormat::Delimited(b','));
    let reasons: Vec<(u32, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (6, "whitespace or control character inside value"),
            (8, "unknown type \"bogus\""),
            (9, "bad confidence \"101\" (want 0-100)"),
            (10, SHA256_REASON),
            (12, "7 fields but the header has 6"),
            (13, "text after closing quote"),
        ]
    );
    assert_eq!(r.not_observable(), 1);
    assert_eq!(r.errors(), 5);
    assert_eq!(r.loaded(), 4);
    let s = b.build();
    let d = s.match_domain("www.evil.com").unwrap();
    assert_eq!(d.actor.as_deref(), Some("Lazarus"));
    assert_eq!(d.source.as_deref(), Some("vendor, inc"));
    assert_eq!(d.confidence, Some(90));
    assert_eq!(d.reference.as_deref(), Some("https://r.example/a,b"));
    assert_eq!(d.line, 3);
    let ip = s.match_ip("1.2.3.4".parse().unwrap()).unwrap();
    assert_eq!(ip.source.as_deref(), Some("feed"));
    assert_eq!(ip.line, 4);
    assert_eq!(
        value(s.match_url("x.com", "/a?b=\"c\"&d")),
        Some("x.com/a?b=\"c\"")
    );
    assert!(s.match_ja3("e7d705a3286e19ea42f587b344ee6865").is_some());
}

#[test]
fn tsv_and_value_only_header() {
    let mut b = IocSetBuilder::default();
    let r = b
        .load_str(
            "f.tsv",
            "indicator\ttype\r\nevil.com\tsni\r\n1.2.3.0/24\t\r\n",
            true,
        )
        .unwrap();
    assert_eq!(r.format, ListFormat::Delimited(b'\t'));
    assert_eq!(r.count(IocKind::Sni), 1);
    assert_eq!(r.count(IocKind::Cidr), 1);
    let r = b.load_str("g.csv", "value\nfoo.org\n", true).unwrap();
    assert_eq!(r.count(IocKind::Domain), 1);
    let s = b.build();
    assert!(s.match_sni("evil.com").is_some());
    assert!(s.match_ip("1.2.3.9".parse().unwrap()).is_some());
}

#[test]
fn unterminated_quote_is_reported() {
    let mut b = IocSetBuilder::default();
    let r = b
        .load_str("f.csv", "type,value\ndomain,a.com\ndomain,\"b.com\n", false)
        .unwrap();
    assert_eq!(r.loaded(), 1);
    assert_eq!(r.skipped[0].line, 3);
    assert_eq!(r.skipped[0].reason, "unterminated quoted field");
}

#[test]
fn strict_mode_error_text() {
    let mut b = IocSetBuilder::default();
    let err = b
        .load_str(
            "lists/x.txt",
            "# c\nevil.com\n\n999.1.1.1\nalso.bad..\n",
            true,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "lists/x.txt:4: invalid IPv4 address");
    assert!(matches!(err, IocError::Strict { line: 4, .. }));
    assert!(b.is_empty(), "nothing from a failed strict load is kept");

    let err = b
        .load_str("f.csv", "type,value\nfoo,evil.com\n", true)
        .unwrap_err();
    assert_eq!(err.to_string(), "f.csv:2: unknown type \"foo\"");

    // not-observable lines are fine in strict mode
    let r = b
        .load_str(
            "h.sha256",
            "ee29eb3980dff9034b1c539a799cedc1428224855e6d515d81da226448b81521\n",
            true,
        )
        .unwrap();
    assert_eq!(r.not_observable(), 1);
    assert_eq!(r.errors(), 0);
}

#[test]
fn load_file_and_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("apt_test.txt");
    std::fs::write(&p, "\u{feff}evil.com\n\u{1}\n").unwrap();
    let mut b = IocSetBuilder::default();
    let r = b.load_file(&p, false).unwrap();
    assert_eq!(r.loaded(), 1);
    assert_eq!(r.skipped.len(), 1);
    let err = b
        .load_file(&dir.path().join("missing.txt"), false)
        .unwrap_err();
    assert!(matches!(err, IocError::Io { .. }));
    assert!(err.to_string().contains("missing.txt"));
}

#[test]
fn skipped_text_is_truncated() {
    let mut b = IocSetBuilder::default();
    let line = format!("{}!.com", "é".repeat(200));
    let r = b.load_str("t", &line, false).unwrap();
    assert_eq!(r.skipped.len(), 1);
    assert!(r.skipped[0].text.len() <= SkippedLine::MAX_TEXT + '…'.len_utf8());
}

#[test]
fn programmatic_add_and_sids() {
    let mut b = IocSetBuilder::default();
    assert!(b.add(Indicator::new(IocKind::Domain, "Evil.COM.")));
    assert!(!b.add(Indicator::new(IocKind::Domain, "evil.com")));
    assert!(!b.add(Indicator::new(IocKind::Ja3, "nothex")));
    assert!(b.try_add(Indicator::new(IocKind::Ip, "nope")).is_err());
    let mut fixed = Indicator::new(IocKind::Ip, "1.2.3.4");
    fixed.signature_id = 42;
    assert!(b.add(fixed));
    let s = b.build();
    let d = s.match_domain("evil.com").unwrap();
    assert_eq!(
        d.signature_id,
        super::set::preferred_sid(IocKind::Domain, "evil.com")
    );
    assert!(d.signature_id >= SID_BASE && d.signature_id - SID_BASE < SID_SPACE);
    assert_eq!(
        s.match_ip("1.2.3.4".parse().unwrap()).unwrap().signature_id,
        42
    );

    // Stable across reloads and load order.
    let build = |lines: &[&str]| {
        let mut b = IocSetBuilder::default();
        b.load_str("x", &lines.join("\n"), true).unwrap();
        b.build()
    };
    let a = build(&["a.com", "b.com", "1.2.3.4"]);
    let c = build(&["1.2.3.4", "zzz.org", "b.com", "a.com"]);
    for n in ["a.com", "b.com"] {
        assert_eq!(
            a.match_domain(n).unwrap().signature_id,
            c.match_domain(n).unwrap().signature_id
        );
    }
    // all unique
    let ids: std::collections::HashSet<u32> =
        c.indicators().iter().map(|i| i.signature_id).collect();
    assert_eq!(ids.len(), c.len());
}

#[test]
fn count_by_kind_and_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IocSet>();
    let s = set_of("evil.com\n1.2.3.4\n10.0.0.0/8\n/p\nsni:a.b\n");
    let counts = s.count_by_kind();
    assert_eq!(counts.len(), 8);
    assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 5);
    assert_eq!(counts[0], (IocKind::Ip, 1));
    assert!(!s.is_empty());
    assert_eq!(IocKind::CertSha1.as_str(), "cert_sha1");
    assert_eq!(
        IocKind::from_name("X509-Fingerprint-SHA1"),
        Some(IocKind::CertSha1)
    );
}

#[test]
fn actor_directive_in_plain_lists() {
    let mut b = IocSetBuilder::default();
    let text = "one.example\n# actor: Kimsuky\ntwo.example\n# Actor:\nthree.example\n";
    b.load_str("feed.txt", text, true).unwrap();
    let set = b.build();
    assert_eq!(set.match_domain("one.example").unwrap().actor, None);
    assert_eq!(
        set.match_domain("two.example").unwrap().actor.as_deref(),
        Some("Kimsuky")
    );
    assert_eq!(set.match_domain("three.example").unwrap().actor, None);
}
