//! Niagara Fox decoder (recognition level), TCP 1911 plaintext (4911 is
//! TLS and is left to the TLS decoder).
//!
//! # Spec notes
//!
//! * No public specification; the format below is what Tridium Niagara
//!   AX/N4 stations and Workbench send (as documented by the nmap
//!   `fox-info` script and community dissectors).
//! * A message is text: a header line `fox <frame type> <seq> <reply>
//!   <channel> <command>` (frame types `a` async, `s` sync, `k`
//!   keep-alive, `r` reply, `e` error, `n` null), then `{`, one
//!   `key=<type>:<value>` tuple per line, and `};;`. Types: `s` string,
//!   `i` int, `f` float, `z` boolean, `t` time, `b` blob `N[<N bytes>]`,
//!   `o` object `<type> N[<N bytes>]`, `m` nested message `{ ... }`.
//!   Blob and object payloads may contain newlines and binary bytes; they
//!   are skipped by length. Nesting is limited to 8, a message to 16 KiB
//!   (longer ones are skipped), 64 top-level tuples are kept.
//! * Handshake: the client sends `fox a 1 -1 fox hello` with its
//!   identity (fox.version, hostName, hostAddress, app.name, app.version,
//!   vm.name/version, os.name/version, lang, timeZone, hostId, vmUuid,
//!   brandId); the station answers `fox a 0 -1 fox hello` with its own
//!   (plus station.name, sysInfo), then `fox ... fox challenge` (method,
//!   nonce) and the client authenticates.
//! * Events: one per hello exchange (client + server identity), one per
//!   other `fox`-channel message (challenge, authenticate, close; at most
//!   8 per flow); keep-alives and other channels are not logged. After 32
//!   messages the decoder stops ([`FoxState::is_done`]): the rest of a
//!   session is station data.
//!
//! # `Op::function` vocabulary
//!
//! `hello`, `close` (Session), `challenge`, `authenticate` (Security),
//! `other` (Other). `code` is always 0 (Fox has no numeric codes);
//! `object` = `<channel> <command>`. Server hello → `id_name`
//! (station.name, else hostName), `id_product` (app.name), `id_version`
//! (app.version), `id_vendor` (brandId), `id_serial` (hostId), plus
//! `os_name`, `os_version`, `vm_name`, `host_name`, `host_address`,
//! `fox_version`; client hello → `client_app_name`, `client_host_name`;
//! challenge → `auth_method`; authenticate → `username`.
//!
//! # EVE shape (`fox`)
//!
//! ```json
//! {"type":"transaction","channel":"fox","command":"hello","frame_type":"a",
//!  "client":{"fox_version":"1.0","host_name":"xpvm-0omdc01xmy",
//!  "app_name":"Workbench","app_version":"3.7.44",...},
//!  "server":{"fox_version":"1.0","host_name":"192.168.2.15",
//!  "app_name":"Station","app_version":"3.5.41.1","os_name":"QNX",
//!  "station_name":"Legion_HQ_V4","host_id":"Qnx-NPM6-0000-1490-C30C",
//!  "brand_id":"vykon",...}}
//! ```

pub mod event;
pub mod parser;
pub mod state;

pub use event::{FoxEvent, FoxHello};
pub use parser::{message_len, parse_message, FoxError, FoxMessage};
pub use state::FoxState;

use crate::proto::common::Probe;

/// Fox plaintext port.
pub const PORT: u16 = 1911;

/// Probe the first bytes of a TCP direction: `fox ` and a one-letter
/// frame type.
pub fn probe(data: &[u8], _to_server: bool) -> Probe {
    const P: &[u8] = b"fox ";
    let n = data.len().min(P.len());
    if data[..n] != P[..n] {
        return Probe::No;
    }
    match data.get(4..6) {
        None => Probe::NeedMore,
        Some([t, b' ']) if t.is_ascii_lowercase() => Probe::Yes,
        Some(_) => Probe::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rules::ot::{Attr, OpClass};

    /// Workbench hello (fox_info.pcap, client → station).
    const CLIENT_HELLO: &[u8] = b"fox a 1 -1 fox hello\n\
{\n\
fox.version=s:1.0\n\
id=i:1\n\
hostName=s:xpvm-0omdc01xmy\n\
hostAddress=s:192.168.1.125\n\
app.name=s:Workbench\n\
app.version=s:3.7.44\n\
vm.name=s:Java HotSpot(TM) Server VM\n\
vm.version=s:20.4-b02\n\
os.name=s:Windows XP\n\
os.version=s:5.1\n\
lang=s:en\n\
hostId=s:Win-99CB-D49D-5442-07BB\n\
brandId=s:vykon\n\
};;\n";
    /// Station hello with an object tuple spanning lines.
    const SERVER_HELLO: &[u8] = b"fox a 0 -1 fox hello\n\
{\n\
fox.version=s:1.0\n\
id=i:2\n\
hostName=s:192.168.2.15\n\
app.name=s:Station\n\
app.version=s:3.5.41.1\n\
os.name=s:QNX\n\
station.name=s:Legion_HQ_V4\n\
hostId=s:Qnx-NPM6-0000-1490-C30C\n\
brandId=s:vykon\n\
sysInfo=o:bog 61[<bog version=\"1.0\">\n<p m=\"b=baja\" t=\"b:Facets\" v=\"\"/>\n</bog>\n]\n\
};;\n";
    /// Challenge with a binary blob (contains NUL and `]`-free bytes).
    const CHALLENGE: &[u8] = b"fox a 1 -1 fox challenge\n{\nmethod=s:digest-md5\n\
nonce=b:10[\x00\x05nonce\n\x00\x01]\n};;\n";
    /// Client authentication with a nested message value.
    const AUTH: &[u8] = b"fox a 2 -1 fox authenticate\n{\nusername=s:admin\n\
resp=m:{\nx=i:1\n}\n};;\n";

    fn run(chunks: &[(bool, &[u8])]) -> Vec<String> {
        let mut st = FoxState::new();
        let mut out = Vec::new();
        for (ts, c) in chunks {
            st.input(*ts, c, &mut out);
        }
        st.finish(&mut out);
        out.iter()
            .map(|e| format!("{} {}", e.tx_id(), serde_json::to_string(e).unwrap()))
            .collect()
    }

    #[test]
    fn message_parsing() {
        assert_eq!(message_len(CLIENT_HELLO), Ok(Some(CLIENT_HELLO.len())));
        assert_eq!(message_len(&SERVER_HELLO[..100]), Ok(None));
        assert_eq!(message_len(SERVER_HELLO), Ok(Some(SERVER_HELLO.len())));
        assert_eq!(message_len(CHALLENGE), Ok(Some(CHALLENGE.len())));
        assert_eq!(message_len(AUTH), Ok(Some(AUTH.len())));
        let m = parse_message(SERVER_HELLO).unwrap();
        assert_eq!(m.header.command, "hello");
        assert_eq!(m.header.seq, 0);
        assert_eq!(m.header.reply, -1);
        assert_eq!(m.get("station.name"), Some("Legion_HQ_V4"));
        let sys = m.fields.iter().find(|f| f.key == "sysInfo").unwrap();
        assert_eq!(sys.kind, b'o');
        assert_eq!(sys.value.len(), 61);
        assert_eq!(message_len(b"fox a 0 -1 fox bye\n;;\n"), Ok(Some(22)));
        assert!(message_len(b"GET / HTTP/1.1\r\n").is_err());
    }

    #[test]
    fn hello_challenge_authenticate() {
        assert_eq!(probe(CLIENT_HELLO, true), Probe::Yes);
        assert_eq!(probe(b"fo", true), Probe::NeedMore);
        assert_eq!(probe(b"\x16\x03\x01\x02\x00", true), Probe::No);
        let mut st = FoxState::new();
        let mut out = Vec::new();
        st.input(true, CLIENT_HELLO, &mut out);
        assert!(out.is_empty());
        st.input(false, SERVER_HELLO, &mut out);
        st.input(false, CHALLENGE, &mut out);
        st.input(true, AUTH, &mut out);
        assert_eq!(out.len(), 3);
        let h = &out[0];
        assert_eq!(h.kind, "transaction");
        assert_eq!(
            h.client.as_ref().unwrap().app_name.as_deref(),
            Some("Workbench")
        );
        let op = h.op().unwrap();
        assert_eq!((op.function, op.class), ("hello", OpClass::Session));
        assert_eq!(op.attr("id_name"), Some(&Attr::Str("Legion_HQ_V4".into())));
        assert_eq!(op.attr("id_product"), Some(&Attr::Str("Station".into())));
        assert_eq!(op.attr("id_version"), Some(&Attr::Str("3.5.41.1".into())));
        assert_eq!(op.attr("id_vendor"), Some(&Attr::Str("vykon".into())));
        assert_eq!(
            op.attr("id_serial"),
            Some(&Attr::Str("Qnx-NPM6-0000-1490-C30C".into()))
        );
        let c = out[1].op().unwrap();
        assert_eq!((c.function, c.class), ("challenge", OpClass::Security));
        assert_eq!(c.attr("auth_method"), Some(&Attr::Str("digest-md5".into())));
        let a = out[2].op().unwrap();
        assert_eq!(a.function, "authenticate");
        assert_eq!(a.attr("username"), Some(&Attr::Str("admin".into())));
    }

    #[test]
    fn split_at_every_byte_gives_same_events() {
        let ts: Vec<u8> = [CLIENT_HELLO, AUTH].concat();
        let tc: Vec<u8> = [SERVER_HELLO, CHALLENGE].concat();
        let whole = run(&[
            (true, &ts[..CLIENT_HELLO.len()]),
            (false, &tc),
            (true, &ts[CLIENT_HELLO.len()..]),
        ]);
        assert_eq!(whole.len(), 3);
        let ch = CLIENT_HELLO.len();
        for cut in 0..=ch {
            let got = run(&[
                (true, &ts[..cut]),
                (true, &ts[cut..ch]),
                (false, &tc),
                (true, &ts[ch..]),
            ]);
            assert_eq!(got, whole, "cut {cut}");
        }
        for cut in 0..=tc.len() {
            let got = run(&[
                (true, &ts[..ch]),
                (false, &tc[..cut]),
                (false, &tc[cut..]),
                (true, &ts[ch..]),
            ]);
            assert_eq!(got, whole, "cut {cut}");
        }
    }

    #[test]
    fn bounded_memory_and_early_stop() {
        // A message that never ends.
        let mut st = FoxState::new();
        let mut out = Vec::new();
        st.input(true, b"fox a 1 -1 fox hello\n{\n", &mut out);
        for _ in 0..10_000 {
            st.input(true, b"k=s:vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n", &mut out);
            assert!(st.buffered() <= parser::MAX_MESSAGE);
        }
        // Huge blob length and garbage.
        let mut st = FoxState::new();
        st.input(
            false,
            b"fox a 0 -1 fox hello\n{\nx=b:99999999999[",
            &mut out,
        );
        for _ in 0..10_000 {
            st.input(false, b"fox fox fox \n", &mut out);
            assert!(st.buffered() <= parser::MAX_MESSAGE);
        }
        // Many messages: the decoder stops.
        let mut st = FoxState::new();
        for _ in 0..100 {
            st.input(true, b"fox a 3 -1 station ping\n{\n};;\n", &mut out);
        }
        assert!(st.is_done());
        assert_eq!(st.buffered(), 0);
    }

    use crate::test_util::XorShift;

    #[test]
    fn no_panics_on_random_and_mutated_input() {
        let mut rng = XorShift(0x7777_1111_3333_9999);
        let seeds: [&[u8]; 4] = [CLIENT_HELLO, SERVER_HELLO, CHALLENGE, AUTH];
        let alphabet = b"fox a1-{}=;:[]bmos\n 0123456789";
        let mut out = Vec::new();
        for i in 0..100_000u32 {
            let len = (rng.next() % 64) as usize;
            let mut buf: Vec<u8> = (0..len)
                .map(|_| {
                    if i.is_multiple_of(2) {
                        alphabet[(rng.next() as usize) % alphabet.len()]
                    } else {
                        rng.next() as u8
                    }
                })
                .collect();
            if i.is_multiple_of(4) {
                let mut v = b"fox a 1 -1 fox hello\n{\n".to_vec();
                v.append(&mut buf);
                buf = v;
            }
            let _ = probe(&buf, true);
            let _ = message_len(&buf);
            let _ = parse_message(&buf);
            let mut st = FoxState::new();
            st.input(true, &buf, &mut out);
            st.input(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
            }
        }
        for i in 0..100_000usize {
            let mut buf = seeds[i % seeds.len()].to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let p = (rng.next() as usize) % buf.len();
                buf[p] = if rng.next().is_multiple_of(2) {
                    alphabet[(rng.next() as usize) % alphabet.len()]
                } else {
                    rng.next() as u8
                };
            }
            if rng.next().is_multiple_of(4) {
                let cut = (rng.next() as usize) % buf.len();
                buf.truncate(cut);
            }
            let _ = probe(&buf, false);
            let mut st = FoxState::new();
            st.input(true, &buf, &mut out);
            st.input(false, &buf, &mut out);
            st.finish(&mut out);
            for e in out.drain(..) {
                let _ = e.op();
                let _ = serde_json::to_string(&e);
            }
        }
    }
}
