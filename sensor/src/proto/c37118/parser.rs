//! Zero-copy parsing of IEEE C37.118.2 frames.

/// Common header: SYNC(2) FRAMESIZE(2) IDCODE(2) SOC(4) FRACSEC(4).
pub const HEADER_LEN: usize = 14;
/// Smallest frame: header + CHK.
pub const MIN_FRAME: usize = HEADER_LEN + 2;
/// Largest frame (FRAMESIZE is 16 bits).
pub const MAX_FRAME: usize = 65535;
/// PMU blocks of a configuration frame logged at most.
pub const MAX_PMUS: usize = 64;

/// Frame types (SYNC bits 6..4).
pub const FT_DATA: u8 = 0;
pub const FT_HEADER: u8 = 1;
pub const FT_CFG1: u8 = 2;
pub const FT_CFG2: u8 = 3;
pub const FT_COMMAND: u8 = 4;
pub const FT_CFG3: u8 = 5;

/// Parse failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum C37Error {
    Truncated,
    /// SYNC byte, frame type, version or FRAMESIZE invalid.
    BadHeader,
    /// CRC-CCITT mismatch.
    BadCrc,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// CRC-CCITT as C37.118.2 §6.2 specifies it: polynomial 0x1021, initial
/// value 0xFFFF, no reflection, no final XOR.
pub fn crc_ccitt(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The common frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub frame_type: u8,
    pub version: u8,
    pub framesize: u16,
    pub idcode: u16,
    pub soc: u32,
    pub fracsec: u32,
}

/// Check the first 4 bytes (SYNC and FRAMESIZE) and return the header
/// fields available (`idcode`, `soc`, `fracsec` are 0 when `b` is short).
pub fn parse_sync(b: &[u8]) -> Result<(u8, u8, u16), C37Error> {
    let s0 = *b.first().ok_or(C37Error::Truncated)?;
    if s0 != 0xaa {
        return Err(C37Error::BadHeader);
    }
    let s1 = *b.get(1).ok_or(C37Error::Truncated)?;
    let ft = (s1 >> 4) & 0x07;
    let ver = s1 & 0x0f;
    if s1 & 0x80 != 0 || ft > 5 || !(1..=3).contains(&ver) {
        return Err(C37Error::BadHeader);
    }
    let size = be16(b, 2).ok_or(C37Error::Truncated)?;
    let min = if ft == FT_COMMAND {
        MIN_FRAME + 2
    } else {
        MIN_FRAME
    };
    if usize::from(size) < min {
        return Err(C37Error::BadHeader);
    }
    Ok((ft, ver, size))
}

/// Cheap recogniser for the 30-60 per second data frames: SYNC 0xAA with
/// frame type 0. No CRC check, no allocation.
pub fn is_data_frame(b: &[u8]) -> bool {
    matches!(b, [0xaa, s1, ..] if (s1 >> 4) & 0x0f == FT_DATA && (1..=3).contains(&(s1 & 0x0f)))
}

/// A configuration frame's PMU block (the parts worth logging).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PmuConfig {
    pub station_name: String,
    pub idcode: u16,
    pub format: u16,
    pub phasors: u16,
    pub analogs: u16,
    pub digitals: u16,
    /// Nominal frequency: 50 or 60 Hz.
    pub fnom: Option<u16>,
    pub cfgcnt: Option<u16>,
}

/// A configuration frame (CFG-1, CFG-2 or CFG-3).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Config {
    /// CFG-3 continuation index (0 = only frame, 1 = first, ...).
    pub cont_idx: Option<u16>,
    pub time_base: u32,
    pub num_pmu: u16,
    /// First [`MAX_PMUS`] PMU blocks that were complete.
    pub pmus: Vec<PmuConfig>,
    /// Rate of data transmission (frames per second if > 0, seconds per
    /// frame if < 0). Absent when the frame was cut short.
    pub data_rate: Option<i16>,
    /// Not all PMU blocks could be decoded or kept.
    pub truncated: bool,
}

/// Frame body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    Data,
    /// Header frame: free ASCII text.
    Header(&'a [u8]),
    Config(Config),
    /// Command frame: CMD word and extended data.
    Command {
        cmd: u16,
        ext: &'a [u8],
    },
}

/// A parsed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct C37Frame<'a> {
    pub header: Header,
    pub body: Body<'a>,
}

fn station_name(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                ' '
            }
        })
        .collect();
    s.trim().to_string()
}

/// Parse one complete frame (`b` is exactly FRAMESIZE bytes or more) and
/// verify its CRC.
pub fn parse_frame(b: &[u8]) -> Result<C37Frame<'_>, C37Error> {
    let (ft, ver, size) = parse_sync(b)?;
    let frame = b.get(..usize::from(size)).ok_or(C37Error::Truncated)?;
    let n = frame.len();
    let chk = be16(frame, n - 2).ok_or(C37Error::Truncated)?;
    if crc_ccitt(&frame[..n - 2]) != chk {
        return Err(C37Error::BadCrc);
    }
    let header = Header {
        frame_type: ft,
        version: ver,
        framesize: size,
        idcode: be16(frame, 4).unwrap_or(0),
        soc: be32(frame, 6).unwrap_or(0),
        fracsec: be32(frame, 10).unwrap_or(0),
    };
    let payload = &frame[HEADER_LEN..n - 2];
    let body = match ft {
        FT_DATA => Body::Data,
        FT_HEADER => Body::Header(payload),
        FT_COMMAND => Body::Command {
            cmd: be16(payload, 0).ok_or(C37Error::Truncated)?,
            ext: payload.get(2..).unwrap_or(&[]),
        },
        FT_CFG3 => Body::Config(parse_cfg3(payload)),
        _ => Body::Config(parse_cfg12(payload)),
    };
    Ok(C37Frame { header, body })
}

/// CFG-1 / CFG-2 payload: TIME_BASE, NUM_PMU, PMU blocks, DATA_RATE.
fn parse_cfg12(p: &[u8]) -> Config {
    let mut c = Config {
        time_base: be32(p, 0).unwrap_or(0) & 0x00ff_ffff,
        num_pmu: be16(p, 4).unwrap_or(0),
        ..Config::default()
    };
    let mut at = 6usize;
    for _ in 0..c.num_pmu {
        // STN(16) IDCODE(2) FORMAT(2) PHNMR(2) ANNMR(2) DGNMR(2)
        let Some(fixed) = p.get(at..at + 26) else {
            c.truncated = true;
            return c;
        };
        let ph = u16::from_be_bytes([fixed[20], fixed[21]]);
        let an = u16::from_be_bytes([fixed[22], fixed[23]]);
        let dg = u16::from_be_bytes([fixed[24], fixed[25]]);
        let ph_n = usize::from(ph);
        let an_n = usize::from(an);
        let dg_n = usize::from(dg);
        // CHNAM 16*(PHNMR+ANNMR+16*DGNMR), PHUNIT 4*PHNMR, ANUNIT 4*ANNMR,
        // DIGUNIT 4*DGNMR, FNOM 2, CFGCNT 2.
        let names = 16 * (ph_n + an_n + 16 * dg_n);
        let units = 4 * (ph_n + an_n + dg_n);
        let end = at + 26 + names + units;
        let pmu = PmuConfig {
            station_name: station_name(&fixed[..16]),
            idcode: u16::from_be_bytes([fixed[16], fixed[17]]),
            format: u16::from_be_bytes([fixed[18], fixed[19]]),
            phasors: ph,
            analogs: an,
            digitals: dg,
            fnom: be16(p, end).map(|f| if f & 1 == 1 { 50 } else { 60 }),
            cfgcnt: be16(p, end + 2),
        };
        if p.len() < end + 4 {
            c.truncated = true;
            if c.pmus.len() < MAX_PMUS {
                c.pmus.push(pmu);
            }
            return c;
        }
        if c.pmus.len() < MAX_PMUS {
            c.pmus.push(pmu);
        } else {
            c.truncated = true;
        }
        at = end + 4;
    }
    c.data_rate = be16(p, at).map(|r| r as i16);
    c
}

/// CFG-3 payload: CONT_IDX, TIME_BASE, NUM_PMU, PMU blocks with
/// length-prefixed names, DATA_RATE.
fn parse_cfg3(p: &[u8]) -> Config {
    let mut c = Config {
        cont_idx: be16(p, 0),
        time_base: be32(p, 2).unwrap_or(0) & 0x00ff_ffff,
        num_pmu: be16(p, 6).unwrap_or(0),
        ..Config::default()
    };
    if c.cont_idx.is_some_and(|i| i > 1) {
        // A continuation fragment: PMU blocks do not start here.
        c.truncated = true;
        return c;
    }
    let mut at = 8usize;
    for _ in 0..c.num_pmu {
        let Some(&slen) = p.get(at) else {
            c.truncated = true;
            return c;
        };
        let Some(name) = p.get(at + 1..at + 1 + usize::from(slen)) else {
            c.truncated = true;
            return c;
        };
        at += 1 + usize::from(slen);
        // IDCODE(2) G_PMU_ID(16) FORMAT(2) PHNMR(2) ANNMR(2) DGNMR(2)
        let Some(fixed) = p.get(at..at + 26) else {
            c.truncated = true;
            return c;
        };
        let ph = u16::from_be_bytes([fixed[20], fixed[21]]);
        let an = u16::from_be_bytes([fixed[22], fixed[23]]);
        let dg = u16::from_be_bytes([fixed[24], fixed[25]]);
        let mut pmu = PmuConfig {
            station_name: station_name(name),
            idcode: u16::from_be_bytes([fixed[0], fixed[1]]),
            format: u16::from_be_bytes([fixed[18], fixed[19]]),
            phasors: ph,
            analogs: an,
            digitals: dg,
            fnom: None,
            cfgcnt: None,
        };
        at += 26;
        // CHNAM: length-prefixed names, PHNMR + ANNMR + 16*DGNMR of them.
        let n_names = usize::from(ph) + usize::from(an) + 16 * usize::from(dg);
        let mut ok = true;
        for _ in 0..n_names {
            match p.get(at) {
                Some(&l) => at += 1 + usize::from(l),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        // PHSCALE 12*PHNMR, ANSCALE 8*ANNMR, DIGUNIT 4*DGNMR, PMU_LAT(4)
        // PMU_LON(4) PMU_ELEV(4) SVC_CLASS(1) WINDOW(4) GRP_DLY(4) FNOM(2)
        // CFGCNT(2).
        at += 12 * usize::from(ph) + 8 * usize::from(an) + 4 * usize::from(dg) + 21;
        pmu.fnom = be16(p, at).map(|f| if f & 1 == 1 { 50 } else { 60 });
        pmu.cfgcnt = be16(p, at + 2);
        let complete = ok && p.len() >= at + 4;
        if c.pmus.len() < MAX_PMUS {
            c.pmus.push(pmu);
        } else {
            c.truncated = true;
        }
        if !complete {
            c.truncated = true;
            return c;
        }
        at += 4;
    }
    c.data_rate = be16(p, at).map(|r| r as i16);
    c
}
