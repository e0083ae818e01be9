//! Split-point tests through the whole pipeline: the same HTTP exchange,
//! cut into TCP segments at every possible point (and sent out of order),
//! gives the same `http` event, including when the first segment is too
//! short to recognise the protocol.

mod common;

use std::io::Write;

use common::{pcap_header, replay};

struct Cap {
    buf: Vec<u8>,
    t: u32,
}

impl Cap {
    /// Append an Ethernet/IPv4/TCP frame.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        src: [u8; 4],
        dst: [u8; 4],
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let ip_len = 20 + 20 + payload.len();
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.t += 1;
        self.buf.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        self.buf.extend_from_slice(&self.t.to_le_bytes());
        self.buf.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&f);
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

#[test]
fn http_exchange_split_at_every_point_gives_the_same_event() {
    let req = b"GET /update/check.php?id=7 HTTP/1.1\r\nHost: historian.plant.example\r\nUser-Agent: split-test\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    let c = [10, 1, 0, 1];
    let s = [10, 2, 0, 1];
    let mut cap = Cap {
        buf: pcap_header(1),
        t: 0,
    };
    let n = req.len();
    for cut in 1..n {
        let sport = 20000 + cut as u16;
        let (cs, ss) = (1000u32, 5000u32);
        cap.tcp(c, s, sport, 80, cs, 0, SYN, &[]);
        cap.tcp(s, c, 80, sport, ss, cs + 1, SYN | ACK, &[]);
        cap.tcp(c, s, sport, 80, cs + 1, ss + 1, ACK, &[]);
        // Second part first on odd cuts: out of order.
        let (a, b) = req.split_at(cut);
        if cut % 2 == 1 {
            cap.tcp(
                c,
                s,
                sport,
                80,
                cs + 1 + a.len() as u32,
                ss + 1,
                ACK | PSH,
                b,
            );
            cap.tcp(c, s, sport, 80, cs + 1, ss + 1, ACK | PSH, a);
        } else {
            cap.tcp(c, s, sport, 80, cs + 1, ss + 1, ACK | PSH, a);
            cap.tcp(
                c,
                s,
                sport,
                80,
                cs + 1 + a.len() as u32,
                ss + 1,
                ACK | PSH,
                b,
            );
        }
        cap.tcp(s, c, 80, sport, ss + 1, cs + 1 + n as u32, ACK | PSH, resp);
        cap.tcp(
            c,
            s,
            sport,
            80,
            cs + 1 + n as u32,
            ss + 1 + resp.len() as u32,
            ACK | FIN,
            &[],
        );
        cap.tcp(
            s,
            c,
            80,
            sport,
            ss + 1 + resp.len() as u32,
            cs + 2 + n as u32,
            ACK | FIN,
            &[],
        );
    }
    let mut f = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    f.write_all(&cap.buf).unwrap();
    let r = replay(&[f.path()], &["--workers", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let http: Vec<_> = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "http")
        .collect();
    assert_eq!(http.len(), n - 1, "one http event per connection");
    for e in &http {
        assert_eq!(e["http"]["hostname"], "historian.plant.example", "{e}");
        assert_eq!(e["http"]["url"], "/update/check.php?id=7", "{e}");
        assert_eq!(e["http"]["http_user_agent"], "split-test", "{e}");
        assert_eq!(e["http"]["status"], 200, "{e}");
        assert_eq!(e["http"]["length"], 5, "{e}");
        assert_eq!(e["src_ip"], "10.1.0.1");
    }
    let flows: Vec<_> = r
        .records
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .collect();
    assert_eq!(flows.len(), n - 1);
    for e in &flows {
        assert_eq!(e["app_proto"], "http", "{e}");
        assert_eq!(e["tcp"]["state"], "closed", "{e}");
        assert_eq!(e["flow"]["pkts_toserver"], 5, "{e}");
        assert_eq!(e["flow"]["pkts_toclient"], 3, "{e}");
    }
}
