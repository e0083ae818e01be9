//! Fuzz targets for the OT decoders, through their public API.
//!
//! * every stream protocol: `OtParser::new(p)` + `input`/`gap`/`finish`,
//!   with the input split into chunks at fuzzer-chosen points, in both
//!   directions, with gaps (`Cotp` also covers S7comm, S7comm-plus and MMS,
//!   which the ISO stack picks from the first data unit);
//! * every datagram protocol: `OtParser::datagram`, in both directions;
//! * the layer-2 decoders: `goose::parse_frame`, `profinet_dcp::parse_frame`;
//! * the probes: `proto::probe_stream` / `probe_datagram` (and the OT ones
//!   behind them), whose answer is then fed to its parser as the pipeline
//!   does.
//!
//! Each must not panic; every event must convert with `op()`, serialise with
//! serde_json and belong to the protocol of its parser; and the parser's
//! heap (measured by a counting allocator, per thread) must stay under a
//! per-protocol bound, also when the input is replayed many times (a
//! "flood" that would grow an unbounded pending table or buffer).
//!
//! Random bytes rarely get past a length field or a CRC, so the input's
//! first byte also chooses whether to start from a small set of valid
//! messages per protocol (edited by the input) and whether to repair the
//! DNP3 and C37.118 CRCs after editing.
//!
//! # Running
//!
//! `cargo test --release -p sensor --test fuzz_ot` runs each target for a
//! bounded number of random inputs (the constants below;
//! `BOLERO_RANDOM_ITERATIONS=N` overrides them, `BOLERO_RANDOM_SEED=S`
//! replays the seed a failure prints). Longer, coverage-guided runs use
//! `cargo-bolero` (`cargo install cargo-bolero`; libFuzzer needs a nightly
//! toolchain for `-Z sanitizer`, or pass `--sanitizer NONE` on stable):
//!
//! ```text
//! cargo bolero test -p sensor --test fuzz_ot stream_modbus --sanitizer NONE -T 10m
//! cargo bolero test -p rules --test fuzz_rules behaviour_rules_fuzz --sanitizer NONE -T 10m
//! ```
//!
//! (cargo-bolero was not installed where these targets were written, so
//! check the flags against `cargo bolero test --help`.) `cargo bolero list`
//! names the targets. Crashes land in
//! `sensor/tests/__fuzz__/<target>/crashes/` and are replayed by the plain
//! `cargo test` run from then on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sensor::proto::ot::{OtEvent, OtParser};
use sensor::proto::{self, goose, profinet_dcp, AppProto, Probe};

// ---------------------------------------------------------------------------
// Heap accounting: live bytes allocated by this thread.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|l| l.set(l.get() + delta));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.with(Cell::get)
}

// ---------------------------------------------------------------------------
// Run sizes.

/// Random inputs per stream / datagram target in the bounded run.
const STREAM_ITERATIONS: usize = 20_000;
/// Random inputs per layer-2 and probe target.
const SMALL_ITERATIONS: usize = 30_000;
/// Longest generated input.
const MAX_LEN: usize = 4_096;
/// Times a "flood" input is replayed into the same parser.
const FLOOD: usize = 48;

/// Heap a parser may hold (both directions), from its documented caps:
/// the reassembly buffers (twice the largest unit per direction, Vec
/// doubling) plus the pending tables (`MAX_PENDING` = 64 events, each with
/// up to 64 objects or items: an IEC 104 flow flooded with 64-object
/// activations holds ~300 KiB and stays there), plus slack. A leak shows as
/// a parser that passes these after the `FLOOD` replays.
fn heap_bound(p: AppProto) -> isize {
    const K: isize = 1024;
    match p {
        AppProto::Modbus | AppProto::Iec104 => 512 * K,
        AppProto::Dnp3 | AppProto::Fins | AppProto::HartIp => 1024 * K,
        AppProto::C37118 | AppProto::Bacnet => 1024 * K,
        AppProto::Enip | AppProto::Fox | AppProto::ProfinetIoCm => 2048 * K,
        AppProto::Cotp => 4096 * K,
        AppProto::Opcua => 8192 * K,
        _ => 2048 * K,
    }
}

// ---------------------------------------------------------------------------
// Seeds: a few well-formed messages per protocol (to_server, bytes).

fn dnp3_frame(ctrl: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
    let mut f = vec![0x05, 0x64, (5 + user.len()) as u8, ctrl];
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    f.extend_from_slice(&[0, 0]);
    for chunk in user.chunks(16) {
        f.extend_from_slice(chunk);
        f.extend_from_slice(&[0, 0]);
    }
    fix_dnp3(&mut f);
    f
}

fn c37_frame(sync2: u8, id: u16, body: &[u8]) -> Vec<u8> {
    let size = (14 + body.len() + 2) as u16;
    let mut f = vec![0xaa, sync2];
    f.extend_from_slice(&size.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(body);
    f.extend_from_slice(&[0, 0]);
    fix_c37(&mut f);
    f
}

fn tpkt(cotp_and_data: &[u8]) -> Vec<u8> {
    let mut f = vec![3, 0];
    f.extend_from_slice(&((4 + cotp_and_data.len()) as u16).to_be_bytes());
    f.extend_from_slice(cotp_and_data);
    f
}

fn enip(cmd: u16, session: u32, data: &[u8]) -> Vec<u8> {
    let mut f = cmd.to_le_bytes().to_vec();
    f.extend_from_slice(&(data.len() as u16).to_le_bytes());
    f.extend_from_slice(&session.to_le_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(b"ctx01234");
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(data);
    f
}

fn opcua(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut f = kind.to_vec();
    f.extend_from_slice(&((8 + body.len()) as u32).to_le_bytes());
    f.extend_from_slice(body);
    f
}

fn seeds(p: AppProto, datagram: bool) -> Vec<(bool, Vec<u8>)> {
    let cip_read = [
        0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb2, 0x00, 0x06,
        0x00, 0x0e, 0x02, 0x20, 0x01, 0x24, 0x01,
    ];
    match p {
        AppProto::Modbus => vec![
            (true, vec![0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10]),
            (false, vec![0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 42, 0, 7]),
            (true, vec![0, 2, 0, 0, 0, 6, 1, 6, 0, 1, 0, 3]),
            (false, vec![0, 2, 0, 0, 0, 3, 1, 0x86, 2]),
            (
                true,
                vec![0, 3, 0, 0, 0, 11, 1, 16, 0, 0, 0, 2, 4, 0, 1, 0, 2],
            ),
            (true, vec![0, 4, 0, 0, 0, 5, 1, 0x2b, 0x0e, 1, 0]),
        ],
        AppProto::Iec104 => vec![
            (true, vec![0x68, 4, 7, 0, 0, 0]),
            (false, vec![0x68, 4, 0x0b, 0, 0, 0]),
            (
                true,
                vec![
                    0x68, 14, 0, 0, 0, 0, 45, 1, 6, 0, 1, 0, 1, 0, 0, 1,
                ],
            ),
            (
                false,
                vec![
                    0x68, 18, 0, 0, 2, 0, 13, 1, 3, 0, 1, 0, 2, 0, 0, 0, 0, 0x48, 0x42, 0,
                ],
            ),
            (true, vec![0x68, 4, 1, 0, 2, 0]),
        ],
        AppProto::Dnp3 => vec![
            (
                true,
                dnp3_frame(0xc4, 10, 1, &[0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06]),
            ),
            (
                false,
                dnp3_frame(
                    0x44,
                    1,
                    10,
                    &[0xc0, 0xc1, 0x81, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01, 0x01, 0x81],
                ),
            ),
            (
                true,
                dnp3_frame(
                    0xc4,
                    10,
                    1,
                    &[
                        0xc1, 0xc2, 0x05, 0x0c, 0x01, 0x28, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01,
                        0x64, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00,
                    ],
                ),
            ),
            (true, dnp3_frame(0xc0, 10, 1, &[0xc2, 0xc3, 0x0d])),
        ],
        AppProto::Cotp => vec![
            (
                true,
                tpkt(&[
                    0x11, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2,
                ]),
            ),
            (
                false,
                tpkt(&[
                    0x11, 0xd0, 0, 1, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2,
                ]),
            ),
            (
                true,
                tpkt(&[
                    2, 0xf0, 0x80, 0x32, 1, 0, 0, 0, 1, 0, 8, 0, 0, 0xf0, 0, 0, 1, 0, 1, 1, 0xe0,
                ]),
            ),
            (
                false,
                tpkt(&[
                    2, 0xf0, 0x80, 0x32, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0xf0, 0, 0, 1, 0, 1, 0,
                    0xf0,
                ]),
            ),
            (
                true,
                tpkt(&[
                    2, 0xf0, 0x80, 0x32, 1, 0, 0, 0, 2, 0, 14, 0, 0, 4, 1, 0x12, 10, 0x10, 2, 0, 1,
                    0, 1, 0x84, 0, 0, 0,
                ]),
            ),
            (true, tpkt(&[2, 0xf0, 0x80, 0x29, 0, 0, 0, 0, 0, 0x09, 0x00])),
        ],
        AppProto::Enip if datagram => vec![
            (true, enip(0x63, 0, &[])),
            (
                false,
                enip(
                    0x63,
                    0,
                    &[
                        1, 0, 0x0c, 0, 20, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x0e,
                        0, 0x36, 0, 0x14, 0x0b, 0x60, 0x31, 0x1a, 6, 0x6c, 0, 4, b'T', b'E', b'S',
                        b'T', 0xff,
                    ],
                ),
            ),
        ],
        AppProto::Enip => vec![
            (true, enip(0x65, 0, &[1, 0, 0, 0])),
            (false, enip(0x65, 0x1234, &[1, 0, 0, 0])),
            (true, enip(0x6f, 0x1234, &cip_read)),
            (
                false,
                enip(
                    0x6f,
                    0x1234,
                    &[
                        0, 0, 0, 0, 0x0a, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0, 6, 0, 0x8e, 0, 0, 0, 1, 0,
                    ],
                ),
            ),
            (true, enip(0x66, 0x1234, &[])),
        ],
        AppProto::Opcua => {
            let mut hel = vec![0, 0, 0, 0];
            for v in [65536u32, 65536, 0, 0] {
                hel.extend_from_slice(&v.to_le_bytes());
            }
            let url = b"opc.tcp://plc:4840";
            hel.extend_from_slice(&(url.len() as u32).to_le_bytes());
            hel.extend_from_slice(url);
            let mut ack = vec![0, 0, 0, 0];
            for v in [65536u32, 65536, 0, 0] {
                ack.extend_from_slice(&v.to_le_bytes());
            }
            let mut opn = vec![0, 0, 0, 0];
            let pol = b"http://opcfoundation.org/UA/SecurityPolicy#None";
            opn.extend_from_slice(&(pol.len() as u32).to_le_bytes());
            opn.extend_from_slice(pol);
            opn.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
            opn.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
            opn.extend_from_slice(&[1, 0, 0xbe, 1]);
            opn.extend_from_slice(&[0; 24]);
            let mut msg = vec![1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0];
            msg.extend_from_slice(&[1, 0, 0x77, 2]); // ReadRequest
            msg.extend_from_slice(&[0; 24]);
            vec![
                (true, opcua(b"HELF", &hel)),
                (false, opcua(b"ACKF", &ack)),
                (true, opcua(b"OPNF", &opn)),
                (true, opcua(b"MSGF", &msg)),
                (true, opcua(b"CLOF", &[1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0])),
            ]
        }
        AppProto::Fins => {
            let fins_hdr = |icf: u8, sid: u8, cmd: [u8; 2], data: &[u8]| {
                let mut f = vec![icf, 0, 2, 0, 1, 0, 0, 10, 0, sid];
                f.extend_from_slice(&cmd);
                f.extend_from_slice(data);
                f
            };
            let read = fins_hdr(0x80, 1, [1, 1], &[0x82, 0, 100, 0, 0, 2]);
            let resp = fins_hdr(0xc0, 1, [1, 1], &[0, 0, 0, 1, 0, 2]);
            let stop = fins_hdr(0x80, 2, [4, 2], &[0xff, 0xff]);
            if datagram {
                vec![(true, read), (false, resp), (true, stop)]
            } else {
                let tcp = |cmd: u32, body: &[u8]| {
                    let mut f = b"FINS".to_vec();
                    f.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
                    f.extend_from_slice(&cmd.to_be_bytes());
                    f.extend_from_slice(&[0; 4]);
                    f.extend_from_slice(body);
                    f
                };
                vec![
                    (true, tcp(0, &[0, 0, 0, 0])),
                    (false, tcp(1, &[0, 0, 0, 10, 0, 0, 0, 1])),
                    (true, tcp(2, &read)),
                    (false, tcp(2, &resp)),
                    (true, tcp(2, &stop)),
                ]
            }
        }
        AppProto::HartIp => vec![
            (
                true,
                vec![1, 0, 0, 0, 0, 1, 0, 13, 1, 0, 0, 0x75, 0x30],
            ),
            (
                false,
                vec![1, 1, 0, 0, 0, 1, 0, 13, 1, 0, 0, 0x75, 0x30],
            ),
            (
                true,
                vec![
                    0x01, 0x00, 0x03, 0x00, 0x00, 0x0a, 0x00, 0x11, 0x82, 0x26, 0x4e, 0x00, 0x00,
                    0xd2, 0x14, 0x00, 0x2c,
                ],
            ),
            (
                true,
                vec![
                    0x01, 0x00, 0x04, 0x00, 0x00, 0x04, 0x00, 0x0e, 0, 0, 0x36, 1, 0, 0,
                ],
            ),
            (true, vec![1, 0, 1, 0, 0, 2, 0, 8]),
        ],
        AppProto::Fox => vec![
            (
                true,
                b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nhostName=s:ws1\napp.name=s:Workbench\nid=i:1\n};;\n".to_vec(),
            ),
            (
                false,
                b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nstation.name=s:st\nbrandId=s:vykon\nblob=b:3[a\nb]\nn=m:{\nx=z:true\n}\n};;\n".to_vec(),
            ),
            (
                false,
                b"fox a 2 -1 fox challenge\n{\nauthAlgorithm=s:basic\nnonce=s:abc\n};;\n".to_vec(),
            ),
            (
                true,
                b"fox a 3 -1 fox authenticate\n{\nusername=s:admin\n};;\nfox k 4 -1\n".to_vec(),
            ),
        ],
        AppProto::C37118 => vec![
            (true, c37_frame(0x41, 7, &[0, 5])),
            (
                false,
                c37_frame(
                    0x31,
                    7,
                    &[
                        0, 0x0f, 0x42, 0x40, 0, 1, b'P', b'M', b'U', b'1', b' ', b' ', b' ', b' ',
                        b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', 0, 7, 0, 0, 0, 1, 0, 0, 0,
                        0, b'V', b'A', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ',
                        b' ', b' ', b' ', b' ', 0, 0, 0, 1, 0, 0, 0, 0x1e,
                    ],
                ),
            ),
            (false, c37_frame(0x01, 7, &[0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0])),
            (true, c37_frame(0x41, 7, &[0, 2])),
        ],
        AppProto::Bacnet => vec![
            (
                true,
                vec![
                    0x81, 0x0a, 0, 17, 1, 4, 0, 5, 1, 0x0c, 0x0c, 2, 0, 0, 1, 0x19, 0x55,
                ],
            ),
            (
                false,
                vec![
                    0x81, 0x0a, 0, 20, 1, 0, 0x30, 1, 0x0c, 0x0c, 2, 0, 0, 1, 0x19, 0x55, 0x3e,
                    0x21, 5, 0x3f,
                ],
            ),
            (true, vec![0x81, 0x0b, 0, 12, 1, 0x20, 0xff, 0xff, 0, 0xff, 0x10, 8]),
            (true, vec![0x81, 0x0a, 0, 13, 1, 4, 0, 5, 2, 0x11, 0x19, 1, 0]),
        ],
        AppProto::ProfinetIoCm => {
            // DCE/RPC request header (little-endian data representation).
            let mut rpc = vec![4, 0, 0x20, 0, 0x10, 0, 0, 0];
            rpc.extend_from_slice(&[
                0, 0, 0xa0, 0xde, 0x97, 0x6c, 0xd1, 0x11, 0x82, 0x71, 0, 0xa0, 0x24, 0x42, 0xdf,
                0x7d,
            ]); // object
            rpc.extend_from_slice(&[
                1, 0, 0xa0, 0xde, 0x97, 0x6c, 0xd1, 0x11, 0x82, 0x71, 0, 0xa0, 0x24, 0x42, 0xdf,
                0x7d,
            ]); // interface (PNIO device)
            rpc.extend_from_slice(&[7; 16]); // activity
            rpc.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
            rpc.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff]);
            let body = [0x10u8, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            rpc.extend_from_slice(&(body.len() as u16).to_le_bytes());
            rpc.extend_from_slice(&[0, 0, 0, 0]);
            rpc.extend_from_slice(&body);
            let mut resp = rpc.clone();
            resp[1] = 2;
            vec![(true, rpc), (false, resp)]
        }
        AppProto::Goose => {
            let mut apdu = vec![0x61, 0];
            for (tag, v) in [
                (0x80u8, &b"IED1LD0/LLN0$GO$gcb1"[..]),
                (0x81, &[0, 0, 0x07, 0xd0][..]),
                (0x82, &b"IED1LD0/LLN0$DS1"[..]),
                (0x83, &b"IED1"[..]),
                (0x84, &[0x65, 0, 0, 0, 0, 0, 0, 0x0a][..]),
                (0x85, &[1][..]),
                (0x86, &[2][..]),
                (0x87, &[0][..]),
                (0x88, &[1][..]),
                (0x89, &[0][..]),
                (0x8a, &[2][..]),
            ] {
                apdu.push(tag);
                apdu.push(v.len() as u8);
                apdu.extend_from_slice(v);
            }
            apdu.extend_from_slice(&[0xab, 6, 0x83, 1, 1, 0x85, 1, 7]);
            apdu[1] = (apdu.len() - 2) as u8;
            let mut f = vec![0, 1];
            f.extend_from_slice(&((8 + apdu.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0]);
            f.extend_from_slice(&apdu);
            vec![(true, f)]
        }
        AppProto::ProfinetDcp => vec![
            (
                true,
                vec![0xfe, 0xfe, 5, 0, 0, 0, 0, 1, 0, 1, 0, 4, 0xff, 0xff, 0, 0],
            ),
            (
                false,
                vec![
                    0xfe, 0xff, 5, 1, 0, 0, 0, 1, 0, 0, 0, 18, 2, 2, 0, 6, 0, 0, b'p', b'l',
                    b'c', b'1', 1, 2, 0, 4, 0, 0, 10, 0,
                ],
            ),
            (
                true,
                vec![
                    0xfe, 0xfd, 4, 0, 0, 0, 0, 2, 0, 0, 0, 18, 1, 2, 0, 14, 0, 1, 10, 0, 0, 9,
                    255, 255, 255, 0, 10, 0, 0, 1,
                ],
            ),
            (
                true,
                vec![
                    0xfc, 0x01, 0, 1, 0, 2, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0,
                ],
            ),
        ],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// CRC repair, so that edited frames still reach the decoders.

/// Recompute the header and block CRCs of every DNP3 link frame found.
fn fix_dnp3(buf: &mut [u8]) {
    let mut i = 0;
    while i + 10 <= buf.len() {
        if buf[i] != 0x05 || buf[i + 1] != 0x64 || buf[i + 2] < 5 {
            i += 1;
            continue;
        }
        let crc = proto::dnp3::crc16(&buf[i..i + 8]).to_le_bytes();
        buf[i + 8..i + 10].copy_from_slice(&crc);
        let mut left = usize::from(buf[i + 2]) - 5;
        let mut j = i + 10;
        while left > 0 && j < buf.len() {
            let n = left.min(16);
            if j + n + 2 > buf.len() {
                break;
            }
            let crc = proto::dnp3::crc16(&buf[j..j + n]).to_le_bytes();
            buf[j + n..j + n + 2].copy_from_slice(&crc);
            left -= n;
            j += n + 2;
        }
        i = j;
    }
}

/// Recompute the CRC of every C37.118 frame found (sync 0xAA, FRAMESIZE).
fn fix_c37(buf: &mut [u8]) {
    let mut i = 0;
    while i + 4 <= buf.len() {
        let size = usize::from(u16::from_be_bytes([buf[i + 2], buf[i + 3]]));
        if buf[i] != 0xaa || size < 4 || i + size > buf.len() {
            i += 1;
            continue;
        }
        let crc = proto::c37118::crc_ccitt(&buf[i..i + size - 2]).to_be_bytes();
        buf[i + size - 2..i + size].copy_from_slice(&crc);
        i += size;
    }
}

fn fix_crcs(p: AppProto, buf: &mut [u8]) {
    match p {
        AppProto::Dnp3 => fix_dnp3(buf),
        AppProto::C37118 => fix_c37(buf),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Input → a scenario: a list of steps, each data in one direction or a gap.

#[derive(Debug)]
enum Step {
    Data(bool, Vec<u8>),
    Gap(bool),
}

struct Scenario {
    steps: Vec<Step>,
    flood: bool,
}

/// Reads the fuzz input as a little stream of choices.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Flags byte: bit 0 seeds, bit 1 CRC repair, bit 2 flood.
///
/// Raw mode: the rest is a list of segments, each a control byte
/// `c` (`c >= 0xf0`: gap in direction `c & 1`; else direction `c & 1` and
/// length `(c >> 1) & 0x3f`, 0x3f meaning "next byte + 63") and its bytes.
///
/// Seed mode: byte count `n` of edits, `n` edits of 3 bytes (position,
/// value, kind: overwrite / xor / insert / delete), applied to the seed
/// messages laid end to end; then the messages (in their directions) are
/// cut at the lengths the remaining bytes give (0 = a gap in that
/// direction), and whatever is left is sent raw to the server.
fn scenario(p: AppProto, data: &[u8], datagram: bool) -> Scenario {
    let mut b = Bytes(data);
    let flags = b.u8();
    let flood = flags & 4 != 0;
    let seeds = seeds(p, datagram);
    let mut steps = Vec::new();
    if flags & 1 == 0 || seeds.is_empty() {
        while !b.is_empty() {
            let c = b.u8();
            let dir = c & 1 == 0;
            if c >= 0xf0 {
                steps.push(Step::Gap(dir));
                continue;
            }
            let mut len = usize::from((c >> 1) & 0x3f);
            if len == 0x3f {
                len += usize::from(b.u8());
            }
            steps.push(Step::Data(dir, b.take(len).to_vec()));
        }
        if flags & 2 != 0 {
            // Repair over each direction's stream, as the parser sees it.
            for dir in [true, false] {
                let mut all: Vec<u8> = steps
                    .iter()
                    .filter_map(|s| match s {
                        Step::Data(d, v) if *d == dir => Some(v.as_slice()),
                        _ => None,
                    })
                    .flatten()
                    .copied()
                    .collect();
                fix_crcs(p, &mut all);
                let mut at = 0;
                for s in steps.iter_mut() {
                    if let Step::Data(d, v) = s {
                        if *d == dir {
                            let n = v.len();
                            v.copy_from_slice(&all[at..at + n]);
                            at += n;
                        }
                    }
                }
            }
        }
        return Scenario { steps, flood };
    }
    // Seed mode.
    let mut msgs = seeds;
    let n_edits = usize::from(b.u8() % 16);
    for _ in 0..n_edits {
        let total: usize = msgs.iter().map(|m| m.1.len()).sum();
        if total == 0 {
            break;
        }
        let pos = usize::from(b.u8()) * 7 % total;
        let val = b.u8();
        let kind = b.u8();
        let (mut m, mut off) = (0, pos);
        while off >= msgs[m].1.len() {
            off -= msgs[m].1.len();
            m += 1;
        }
        let v = &mut msgs[m].1;
        match kind % 4 {
            0 => v[off] = val,
            1 => v[off] ^= 1 << (val % 8),
            2 => v.insert(off, val),
            _ => {
                v.remove(off);
            }
        }
    }
    if flags & 2 != 0 {
        for (_, m) in msgs.iter_mut() {
            fix_crcs(p, m);
        }
    }
    // A fuzzer-chosen subset and order: byte k picks the k-th message.
    let order = b.u8();
    if order & 0x80 != 0 {
        let start = usize::from(order) % msgs.len();
        msgs.rotate_left(start);
        let keep = 1 + usize::from(b.u8()) % msgs.len();
        msgs.truncate(keep);
        if order & 1 != 0 {
            let again = msgs.clone();
            msgs.extend(again);
        }
    }
    for (dir, m) in msgs {
        if datagram {
            steps.push(Step::Data(dir, m));
            continue;
        }
        let mut rest = &m[..];
        while !rest.is_empty() {
            let cut = if b.is_empty() {
                rest.len()
            } else {
                match b.u8() {
                    0 => {
                        steps.push(Step::Gap(dir));
                        continue;
                    }
                    n => usize::from(n).min(rest.len()),
                }
            };
            steps.push(Step::Data(dir, rest[..cut].to_vec()));
            rest = &rest[cut..];
        }
    }
    if !b.is_empty() {
        steps.push(Step::Data(true, b.0.to_vec()));
    }
    Scenario { steps, flood }
}

// ---------------------------------------------------------------------------
// Checks on events.

fn check_events(p: AppProto, events: &[OtEvent], fed: usize) {
    assert!(
        events.len() <= fed + 1024,
        "{} events from {fed} bytes",
        events.len()
    );
    for e in events {
        let ep = e.proto();
        let ok = match p {
            AppProto::Cotp => matches!(ep, AppProto::S7comm | AppProto::S7commPlus | AppProto::Mms),
            _ => ep == p,
        };
        assert!(ok, "{p:?} parser produced a {ep:?} event: {e:?}");
        let _ = e.tx_id();
        if let Some(op) = e.op() {
            assert_eq!(
                op.proto,
                ep.as_str(),
                "op of a {ep:?} event names another protocol: {op:?}"
            );
            let _ = format!("{op:?}");
        }
        let json = serde_json::to_string(e)
            .unwrap_or_else(|err| panic!("{ep:?} event does not serialise: {err}: {e:?}"));
        assert!(
            json.starts_with('{'),
            "{ep:?} event is not an object: {json}"
        );
    }
}

/// Feed a scenario; returns nothing, panics on a broken invariant.
fn run_stream(p: AppProto, data: &[u8], datagram: bool) {
    let sc = scenario(p, data, datagram);
    let base = live();
    let mut parser = OtParser::new(p).expect("an OT parser");
    let rounds = if sc.flood { FLOOD } else { 1 };
    for _ in 0..rounds {
        for s in &sc.steps {
            match s {
                Step::Data(dir, bytes) => {
                    let mut out = Vec::new();
                    if datagram {
                        parser.datagram(*dir, bytes, &mut out);
                    } else {
                        if parser.is_done() {
                            continue;
                        }
                        parser.input(*dir, bytes, &mut out);
                    }
                    check_events(p, &out, bytes.len());
                }
                Step::Gap(dir) => {
                    if !datagram {
                        parser.gap(*dir);
                    }
                }
            }
        }
        let _ = parser.refined();
    }
    let held = live() - base;
    assert!(
        held <= heap_bound(p),
        "{p:?} parser holds {held} bytes of heap (bound {}) after {} rounds",
        heap_bound(p),
        rounds
    );
    let mut out = Vec::new();
    parser.finish(&mut out);
    check_events(p, &out, 0);
    drop(out);
    drop(parser);
}

// ---------------------------------------------------------------------------
// Targets.

macro_rules! stream_target {
    ($name:ident, $proto:expr) => {
        #[test]
        fn $name() {
            bolero::check!()
                .with_iterations(STREAM_ITERATIONS)
                .with_max_len(MAX_LEN)
                .for_each(|data: &[u8]| run_stream($proto, data, false));
        }
    };
}

macro_rules! datagram_target {
    ($name:ident, $proto:expr) => {
        #[test]
        fn $name() {
            bolero::check!()
                .with_iterations(STREAM_ITERATIONS)
                .with_max_len(MAX_LEN)
                .for_each(|data: &[u8]| run_stream($proto, data, true));
        }
    };
}

stream_target!(stream_modbus, AppProto::Modbus);
stream_target!(stream_dnp3, AppProto::Dnp3);
stream_target!(stream_iec104, AppProto::Iec104);
stream_target!(stream_cotp, AppProto::Cotp);
stream_target!(stream_enip, AppProto::Enip);
stream_target!(stream_opcua, AppProto::Opcua);
stream_target!(stream_fins, AppProto::Fins);
stream_target!(stream_hart_ip, AppProto::HartIp);
stream_target!(stream_fox, AppProto::Fox);
stream_target!(stream_c37118, AppProto::C37118);

datagram_target!(datagram_dnp3, AppProto::Dnp3);
datagram_target!(datagram_enip, AppProto::Enip);
datagram_target!(datagram_bacnet, AppProto::Bacnet);
datagram_target!(datagram_fins, AppProto::Fins);
datagram_target!(datagram_hart_ip, AppProto::HartIp);
datagram_target!(datagram_c37118, AppProto::C37118);
datagram_target!(datagram_profinet_io_cm, AppProto::ProfinetIoCm);

/// A layer-2 frame: raw, or a seed frame edited by the input.
fn l2_frame(p: AppProto, data: &[u8]) -> Vec<u8> {
    let sc = scenario(p, data, true);
    // Layer 2 has no direction: each data step is one frame; keep the first
    // (seed mode puts the seeds first) and the raw rest as frames too.
    sc.steps
        .into_iter()
        .find_map(|s| match s {
            Step::Data(_, v) => Some(v),
            Step::Gap(_) => None,
        })
        .unwrap_or_default()
}

#[test]
fn layer2_goose() {
    bolero::check!()
        .with_iterations(SMALL_ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|data: &[u8]| {
            for frame in [data.to_vec(), l2_frame(AppProto::Goose, data)] {
                let mut out = Vec::new();
                goose::parse_frame(&frame, &mut out);
                assert!(out.len() <= 1);
                let evs: Vec<OtEvent> = out.into_iter().map(OtEvent::Goose).collect();
                check_events(AppProto::Goose, &evs, frame.len());
            }
        });
}

#[test]
fn layer2_profinet_dcp() {
    bolero::check!()
        .with_iterations(SMALL_ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|data: &[u8]| {
            for frame in [data.to_vec(), l2_frame(AppProto::ProfinetDcp, data)] {
                let mut out = Vec::new();
                profinet_dcp::parse_frame(&frame, &mut out);
                assert!(out.len() <= 1);
                let evs: Vec<OtEvent> = out.into_iter().map(OtEvent::ProfinetDcp).collect();
                check_events(AppProto::ProfinetDcp, &evs, frame.len());
            }
        });
}

const PORTS: &[u16] = &[
    502, 2404, 44818, 2222, 5094, 102, 20000, 4840, 9600, 1911, 4712, 4713, 47808, 34964, 53, 80,
    443,
];

fn ports(b: &mut Bytes) -> (u16, u16) {
    let pick = |b: &mut Bytes| {
        let x = b.u8();
        if x < 0xc0 {
            PORTS[usize::from(x) % PORTS.len()]
        } else {
            u16::from(x) << 8 | u16::from(b.u8())
        }
    };
    (pick(b), pick(b))
}

/// Payload for a probe: raw, or a seed message of a protocol chosen by
/// the input (so that probes answer "yes" often enough to matter).
fn probe_payload(b: &mut Bytes, datagram: bool) -> Vec<u8> {
    const PROTOS: &[AppProto] = &[
        AppProto::Modbus,
        AppProto::Dnp3,
        AppProto::Iec104,
        AppProto::Cotp,
        AppProto::Enip,
        AppProto::Opcua,
        AppProto::Fins,
        AppProto::HartIp,
        AppProto::Fox,
        AppProto::C37118,
        AppProto::Bacnet,
        AppProto::ProfinetIoCm,
    ];
    let sel = b.u8();
    if sel < 0x80 {
        return b.0.to_vec();
    }
    let p = PROTOS[usize::from(sel) % PROTOS.len()];
    let mut s = seeds(p, datagram);
    if s.is_empty() {
        return b.0.to_vec();
    }
    let mut m = s.swap_remove(usize::from(b.u8()) % s.len()).1;
    // Truncate or edit it a little.
    match b.u8() % 4 {
        0 => m.truncate(usize::from(b.u8())),
        1 if !m.is_empty() => {
            let i = usize::from(b.u8()) % m.len();
            m[i] = b.u8();
        }
        2 => m.extend_from_slice(b.0),
        _ => {}
    }
    m
}

#[test]
fn probe_stream_then_parse() {
    bolero::check!()
        .with_iterations(SMALL_ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|data: &[u8]| {
            let mut b = Bytes(data);
            let to_server = b.u8() & 1 == 0;
            let ports = ports(&mut b);
            let payload = probe_payload(&mut b, false);
            // Every prefix, as the pipeline probes while bytes arrive.
            for n in (0..payload.len().min(64)).chain([payload.len()]) {
                let (probe, p) = proto::probe_stream(&payload[..n], to_server, ports);
                let (oprobe, op) = proto::ot::probe_stream(&payload[..n], to_server, ports);
                if probe == Probe::Yes {
                    assert!(p != AppProto::Unknown && p != AppProto::Failed);
                } else {
                    assert_eq!(p, AppProto::Unknown);
                }
                if oprobe == Probe::Yes {
                    assert!(op.is_ot(), "{op:?}");
                    // Hand the bytes to the parser, as the pipeline does.
                    let mut parser = OtParser::new(op).expect("OT parser for a probed protocol");
                    let mut out = Vec::new();
                    parser.input(to_server, &payload, &mut out);
                    parser.finish(&mut out);
                    check_events(op, &out, payload.len());
                }
            }
        });
}

#[test]
fn probe_datagram_then_parse() {
    bolero::check!()
        .with_iterations(SMALL_ITERATIONS)
        .with_max_len(MAX_LEN)
        .for_each(|data: &[u8]| {
            let mut b = Bytes(data);
            let to_server = b.u8() & 1 == 0;
            let (sport, dport) = ports(&mut b);
            let payload = probe_payload(&mut b, true);
            let _ = proto::probe_datagram(&payload, sport, dport);
            let p = proto::ot::probe_datagram(&payload, sport, dport);
            if p != AppProto::Unknown {
                assert!(p.is_ot(), "{p:?}");
                let mut parser = OtParser::new(p).expect("OT parser for a probed protocol");
                let mut out = Vec::new();
                parser.datagram(to_server, &payload, &mut out);
                parser.finish(&mut out);
                check_events(p, &out, payload.len());
            }
        });
}

/// The seeds themselves decode to events (so the seed mode starts from
/// something the decoders accept); a guard against seeds rotting.
#[test]
fn seeds_produce_events() {
    for (p, datagram) in [
        (AppProto::Modbus, false),
        (AppProto::Iec104, false),
        (AppProto::Dnp3, false),
        (AppProto::Cotp, false),
        (AppProto::Enip, false),
        (AppProto::Fins, false),
        (AppProto::Fox, false),
        (AppProto::C37118, true),
        (AppProto::Bacnet, true),
    ] {
        let mut parser = OtParser::new(p).unwrap();
        let mut out = Vec::new();
        for (dir, m) in seeds(p, datagram) {
            if datagram {
                parser.datagram(dir, &m, &mut out);
            } else {
                parser.input(dir, &m, &mut out);
            }
        }
        parser.finish(&mut out);
        assert!(!out.is_empty(), "{p:?} seeds give no event");
        check_events(p, &out, usize::MAX / 2);
    }
}
