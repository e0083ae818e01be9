//! The TLS event, serialised exactly like the `tls` object of Suricata 8's
//! EVE JSON output (extended form): absent values are omitted, never `null`.

use serde::Serialize;

/// A JA3 / JA3S fingerprint: the MD5 `hash` of the comma-separated `string`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JaFingerprint {
    /// MD5 of `string`, 32 lower-case hex characters.
    pub hash: String,
    /// The fingerprint input, e.g. `771,4865-4866,0-23,29-23,0`.
    pub string: String,
}

/// One event per TLS session, the EVE `tls` object.
///
/// Field names and formats follow Suricata 8:
/// * `serial`: upper-case colon-separated hex of the serial's DER bytes;
/// * `fingerprint`: SHA-1 of the leaf DER, lower-case colon-separated hex;
/// * `notbefore`/`notafter`: `YYYY-MM-DDTHH:MM:SS`, UTC;
/// * `version`: `TLSv1`, `TLS 1.1`, `TLS 1.2`, `TLS 1.3`, `SSLv3`, …,
///   `UNDETERMINED` when the server never answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsEvent {
    /// Leaf certificate subject DN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Leaf certificate issuer DN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// Set (true) for an abbreviated TLS ≤ 1.2 handshake that resumed a
    /// session (server echoed the client's session id, no certificate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_resumed: Option<bool>,
    /// Leaf certificate serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SHA-1 fingerprint of the leaf certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Server name from the ClientHello SNI extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated protocol version string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Leaf certificate notBefore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notbefore: Option<String>,
    /// Leaf certificate notAfter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notafter: Option<String>,
    /// Leaf certificate subjectAltName entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjectaltname: Vec<String>,
    /// JA3 client fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<JaFingerprint>,
    /// JA3S server fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<JaFingerprint>,
    /// JA4 client fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// ALPN protocols offered by the client, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_alpns: Vec<String>,
    /// ALPN protocol selected by the server (Suricata logs it as an array).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_alpns: Vec<String>,
}

impl TlsEvent {
    /// SNI host name, if the client sent one.
    pub fn sni(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// JA3 MD5 hash, if a ClientHello was parsed.
    pub fn ja3_hash(&self) -> Option<&str> {
        self.ja3.as_ref().map(|j| j.hash.as_str())
    }

    /// JA3S MD5 hash, if a ServerHello was parsed.
    pub fn ja3s_hash(&self) -> Option<&str> {
        self.ja3s.as_ref().map(|j| j.hash.as_str())
    }

    /// JA4 fingerprint, if a ClientHello was parsed.
    pub fn ja4(&self) -> Option<&str> {
        self.ja4.as_deref()
    }

    /// SHA-1 fingerprint of the leaf certificate (`aa:bb:..`).
    pub fn cert_sha1(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_serialises_empty() {
        let s = serde_json::to_string(&TlsEvent::default()).expect("json");
        assert_eq!(s, "{}");
    }

    #[test]
    fn field_names_match_eve() {
        let ev = TlsEvent {
            subject: Some("CN=a".into()),
            issuerdn: Some("CN=b".into()),
            serial: Some("01:02".into()),
            fingerprint: Some("aa:bb".into()),
            sni: Some("a.example".into()),
            version: Some("TLS 1.2".into()),
            notbefore: Some("2016-09-12T07:25:06".into()),
            notafter: Some("2017-09-12T07:25:06".into()),
            ja3: Some(JaFingerprint {
                hash: "h".into(),
                string: "s".into(),
            }),
            ja3s: Some(JaFingerprint {
                hash: "h2".into(),
                string: "s2".into(),
            }),
            ja4: Some("t13d".into()),
            client_alpns: vec!["h2".into(), "http/1.1".into()],
            server_alpns: vec!["h2".into()],
            ..TlsEvent::default()
        };
        let v = serde_json::to_value(&ev).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "subject",
            "issuerdn",
            "serial",
            "fingerprint",
            "sni",
            "version",
            "notbefore",
            "notafter",
            "ja3",
            "ja3s",
            "ja4",
            "client_alpns",
            "server_alpns",
        ];
        let mut got = keys.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(v["ja3"]["hash"], "h");
        assert_eq!(v["ja3s"]["string"], "s2");
        assert_eq!(v["client_alpns"][1], "http/1.1");
        assert_eq!(ev.sni(), Some("a.example"));
        assert_eq!(ev.ja3_hash(), Some("h"));
        assert_eq!(ev.ja3s_hash(), Some("h2"));
        assert_eq!(ev.ja4(), Some("t13d"));
        assert_eq!(ev.cert_sha1(), Some("aa:bb"));
    }
}
