//! Pure parsing of one GOOSE frame (IEC 61850-8-1 Annex A / §A.3).

use super::event::GooseEvent;
use crate::proto::ber::{self, BerError, Class};
use crate::proto::mms::parser::{decode_data, utc_time, DataBounds, MAX_ITEMS, MAX_STR};

/// APPID, Length, Reserved 1, Reserved 2.
pub const HEADER_LEN: usize = 8;
/// Reserved 1 bit 15: Simulation (IEC 61850-8-1 Ed.2 §A.3.3.1).
pub const RESERVED1_SIMULATION: u16 = 0x8000;

/// Why a frame is not a decodable GOOSE PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GooseError {
    /// Shorter than the header or than its Length field.
    Truncated,
    /// Length field below 8.
    BadLength,
    /// BER error in the PDU.
    Ber(BerError),
    /// Not a goosePdu [APPLICATION 1] (e.g. GSE management).
    NotGoose,
    /// A mandatory element is missing or out of range (the tag).
    Missing(u32),
}

impl From<BerError> for GooseError {
    fn from(e: BerError) -> GooseError {
        GooseError::Ber(e)
    }
}

/// FNV-1a, used for the allData fingerprint and tracker keys.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Decode a GOOSE frame; `payload` starts after the EtherType 0x88B8.
///
/// IECGoosePdu ::= [APPLICATION 1] IMPLICIT SEQUENCE { gocbRef [0]
/// VisibleString, timeAllowedtoLive [1] INTEGER, datSet [2] VisibleString,
/// goID [3] VisibleString OPTIONAL, t [4] UtcTime, stNum [5] INTEGER,
/// sqNum [6] INTEGER, simulation (Ed.1: test) [7] BOOLEAN DEFAULT FALSE,
/// confRev [8] INTEGER, ndsCom [9] BOOLEAN DEFAULT FALSE,
/// numDatSetEntries [10] INTEGER, allData [11] SEQUENCE OF Data,
/// security [12] OPTIONAL }
pub fn parse_goose(payload: &[u8]) -> Result<GooseEvent, GooseError> {
    let [a0, a1, l0, l1, r0, r1, s0, s1, ..] = payload else {
        return Err(GooseError::Truncated);
    };
    let appid = u16::from_be_bytes([*a0, *a1]);
    let length = usize::from(u16::from_be_bytes([*l0, *l1]));
    let reserved1 = u16::from_be_bytes([*r0, *r1]);
    let reserved2 = u16::from_be_bytes([*s0, *s1]);
    if length < HEADER_LEN {
        return Err(GooseError::BadLength);
    }
    // Ethernet padding may follow the APDU: Length bounds it.
    let apdu = payload
        .get(HEADER_LEN..length)
        .ok_or(GooseError::Truncated)?;
    let pdu = ber::read_one(apdu)?;
    if !pdu.is(Class::Application, 1) || !pdu.constructed {
        return Err(GooseError::NotGoose);
    }
    let mut ev = GooseEvent {
        tx_id: 0,
        appid,
        simulation: reserved1 & RESERVED1_SIMULATION != 0,
        reserved1: reserved1 & !RESERVED1_SIMULATION,
        reserved2,
        gocb_ref: String::new(),
        time_allowed_to_live: 0,
        dat_set: String::new(),
        go_id: None,
        t: None,
        t_quality: None,
        st_num: 0,
        sq_num: 0,
        test: false,
        conf_rev: 0,
        nds_com: false,
        num_dat_set_entries: 0,
        all_data: Vec::new(),
        truncated: false,
        security: false,
        data_hash: fnv1a(&[]),
    };
    let mut seen = 0u16;
    for c in pdu.children() {
        if c.class != Class::Context {
            continue;
        }
        let u32v = || c.u32().ok_or(GooseError::Missing(c.tag));
        match c.tag {
            0 => ev.gocb_ref = c.text(MAX_STR),
            1 => ev.time_allowed_to_live = u32v()?,
            2 => ev.dat_set = c.text(MAX_STR),
            3 => ev.go_id = Some(c.text(MAX_STR)),
            4 => {
                if let Some((t, q)) = utc_time(c.value) {
                    ev.t = Some(t);
                    ev.t_quality = Some(q);
                }
            }
            5 => ev.st_num = u32v()?,
            6 => ev.sq_num = u32v()?,
            7 => ev.test = c.boolean().unwrap_or(false),
            8 => ev.conf_rev = u32v()?,
            9 => ev.nds_com = c.boolean().unwrap_or(false),
            10 => ev.num_dat_set_entries = u32v()?,
            11 => {
                ev.data_hash = fnv1a(c.value);
                let mut b = DataBounds::default();
                for d in c.children() {
                    if ev.all_data.len() >= MAX_ITEMS {
                        ev.truncated = true;
                        break;
                    }
                    ev.all_data.push(decode_data(&d, 0, &mut b));
                }
                ev.truncated |= b.truncated;
            }
            12 => ev.security = true,
            _ => {}
        }
        if c.tag < 16 {
            seen |= 1 << c.tag;
        }
    }
    // Mandatory: gocbRef, timeAllowedtoLive, datSet, stNum, sqNum, confRev,
    // numDatSetEntries.
    for tag in [0u32, 1, 2, 5, 6, 8, 10] {
        if seen & (1 << tag) == 0 {
            return Err(GooseError::Missing(tag));
        }
    }
    Ok(ev)
}
