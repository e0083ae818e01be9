//! IEC 60870-5-104 wire parsing: APCI framing, ASDU header, information
//! objects per type identification.

use crate::proto::common::Frame;

/// APDU start octet.
pub const START: u8 = 0x68;
/// Largest APDU: start, length (at most 253), then the body.
pub const MAX_APDU: usize = 2 + 253;
/// ASDU header: type id, VSQ, COT (2 octets), common address (2).
pub const ASDU_HEADER_LEN: usize = 6;

/// Parse errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Iec104Error {
    Truncated,
    BadStart,
    /// APDU length octet outside 4..=253, or not fitting the frame type.
    BadLength,
    /// Unknown U-format function.
    BadControl,
}

/// The APCI control field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apci {
    /// Information transfer: send and receive sequence numbers.
    I { tx: u16, rx: u16 },
    /// Supervisory: receive sequence number.
    S { rx: u16 },
    /// Unnumbered control function; the first control octet.
    U { ctrl: u8 },
}

/// One APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apdu<'a> {
    /// The length octet (control field + ASDU).
    pub len: u8,
    pub apci: Apci,
    /// The ASDU (I-format only; empty otherwise).
    pub asdu: &'a [u8],
}

/// Name of a U-format function (IEC 60870-5-104 §5.3).
pub fn u_function_name(ctrl: u8) -> Option<&'static str> {
    Some(match ctrl {
        0x07 => "startdt_act",
        0x0b => "startdt_con",
        0x13 => "stopdt_act",
        0x23 => "stopdt_con",
        0x43 => "testfr_act",
        0x83 => "testfr_con",
        _ => return None,
    })
}

/// Check an APCI header (`68 len c1 c2 c3 c4`) for plausibility; `strict`
/// also requires a known U-format function (used while probing and
/// resynchronising).
fn check_header(h: &[u8], strict: bool) -> Result<(), Iec104Error> {
    let len = usize::from(h[1]);
    if !(4..=253).contains(&len) {
        return Err(Iec104Error::BadLength);
    }
    let c1 = h[2];
    if c1 & 1 == 0 {
        if len < 4 + ASDU_HEADER_LEN {
            return Err(Iec104Error::BadLength);
        }
    } else {
        if len != 4 {
            return Err(Iec104Error::BadLength);
        }
        if strict && c1 & 3 == 3 && u_function_name(c1).is_none() {
            return Err(Iec104Error::BadControl);
        }
    }
    Ok(())
}

/// Parse one APDU at the start of `b` (exactly one APDU long or longer).
/// A U-format frame with an unknown function is accepted (its event says
/// `unknown`); [`parse_apdu_strict`] rejects it.
pub fn parse_apdu(b: &[u8]) -> Result<Apdu<'_>, Iec104Error> {
    parse(b, false)
}

/// [`parse_apdu`] that also rejects unknown U-format functions.
pub fn parse_apdu_strict(b: &[u8]) -> Result<Apdu<'_>, Iec104Error> {
    parse(b, true)
}

fn parse(b: &[u8], strict: bool) -> Result<Apdu<'_>, Iec104Error> {
    match b.first() {
        None => return Err(Iec104Error::Truncated),
        Some(&START) => {}
        Some(_) => return Err(Iec104Error::BadStart),
    }
    let h = b.get(..6).ok_or(Iec104Error::Truncated)?;
    check_header(h, strict)?;
    let len = h[1];
    let body = b
        .get(2..2 + usize::from(len))
        .ok_or(Iec104Error::Truncated)?;
    let c = [body[0], body[1], body[2], body[3]];
    let apci = if c[0] & 1 == 0 {
        Apci::I {
            tx: u16::from_le_bytes([c[0], c[1]]) >> 1,
            rx: u16::from_le_bytes([c[2], c[3]]) >> 1,
        }
    } else if c[0] & 3 == 1 {
        Apci::S {
            rx: u16::from_le_bytes([c[2], c[3]]) >> 1,
        }
    } else {
        Apci::U { ctrl: c[0] }
    };
    let asdu = if matches!(apci, Apci::I { .. }) {
        &body[4..]
    } else {
        &[]
    };
    Ok(Apdu { len, apci, asdu })
}

/// Next 0x68 after position 0.
fn next_start(b: &[u8]) -> usize {
    b.iter()
        .skip(1)
        .position(|&x| x == START)
        .map_or(b.len(), |i| i + 1)
}

/// Framer for [`crate::proto::common::StreamBuf`]: an APDU is `68 len`
/// with a plausible control field (a known U function too while
/// resynchronising); anything else is skipped up to the next 0x68.
pub fn apdu_frame(head: &[u8], resync: bool) -> Frame {
    match head.first() {
        None => return Frame::Need,
        Some(&START) => {}
        Some(_) => return Frame::Skip(next_start(head)),
    }
    let Some(h) = head.get(..6) else {
        // Reject an impossible length early.
        return match head.get(1) {
            Some(&l) if !(4..=253).contains(&l) => Frame::Skip(1),
            _ => Frame::Need,
        };
    };
    match check_header(h, resync) {
        Ok(()) => Frame::Len(2 + usize::from(h[1])),
        Err(_) => Frame::Skip(1),
    }
}

// ---------------------------------------------------------------------
// ASDU

/// The data unit identifier (IEC 60870-5-101 §7.2, 104 §9: two-octet
/// cause of transmission, two-octet common address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AsduHeader {
    pub type_id: u8,
    /// SQ: one address, consecutive elements.
    pub sq: bool,
    /// Number of objects / elements (0..=127).
    pub num: u8,
    /// Cause of transmission (0..=63).
    pub cot: u8,
    /// P/N bit: negative confirmation.
    pub negative: bool,
    /// T bit: test.
    pub test: bool,
    /// Originator address.
    pub oa: u8,
    /// Common address of the ASDU.
    pub ca: u16,
}

/// Parse the ASDU header; returns it and the information object octets.
pub fn parse_asdu_header(b: &[u8]) -> Result<(AsduHeader, &[u8]), Iec104Error> {
    let h = b.get(..ASDU_HEADER_LEN).ok_or(Iec104Error::Truncated)?;
    Ok((
        AsduHeader {
            type_id: h[0],
            sq: h[1] & 0x80 != 0,
            num: h[1] & 0x7f,
            cot: h[2] & 0x3f,
            negative: h[2] & 0x40 != 0,
            test: h[2] & 0x80 != 0,
            oa: h[3],
            ca: u16::from_le_bytes([h[4], h[5]]),
        },
        &b[ASDU_HEADER_LEN..],
    ))
}

/// Information element building blocks (IEC 60870-5-101 §7.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Single-point information with quality.
    Siq,
    /// Double-point information with quality.
    Diq,
    /// Value with transient state indication.
    Vti,
    /// Quality descriptor.
    Qds,
    /// Binary state information (32 bits).
    Bsi,
    /// Normalised value.
    Nva,
    /// Scaled value.
    Sva,
    /// Short floating point.
    R32,
    /// Binary counter reading.
    Bcr,
    /// Single event of protection equipment.
    Sep,
    /// Start events of protection equipment.
    Spe,
    /// Output circuit information.
    Oci,
    /// Quality descriptor for protection events.
    Qdp,
    /// Two-octet binary time (elapsed / relay duration, ms).
    Cp16,
    /// Three-octet binary time.
    Cp24,
    /// Seven-octet binary time.
    Cp56,
    /// Second seven-octet time (range stop of F_SC_NB_1).
    Cp56Stop,
    /// Status + change detection (32 bits).
    Scd,
    /// Single command.
    Sco,
    /// Double command.
    Dco,
    /// Regulating step command.
    Rco,
    /// Qualifier of set-point command.
    Qos,
    /// One-octet qualifier logged as the value (QOI, QCC, QRP, QPA, COI).
    Q8,
    /// Qualifier of parameter of measured values.
    Qpm,
    /// Fixed test bit pattern / test sequence counter (16 bits, value).
    U16,
    /// Name of file.
    Nof,
    /// Length of file or section (24 bits).
    Lof,
    /// Name of section.
    Nos,
    /// File qualifier (FRQ, SRQ, SCQ, LSQ, AFQ).
    Fq,
    /// Checksum.
    Chs,
    /// Status of file.
    Sof,
    /// Length of segment followed by the segment octets.
    Segment,
}

impl Part {
    fn size(self) -> usize {
        match self {
            Part::Siq
            | Part::Diq
            | Part::Vti
            | Part::Qds
            | Part::Sep
            | Part::Spe
            | Part::Oci
            | Part::Qdp
            | Part::Sco
            | Part::Dco
            | Part::Rco
            | Part::Qos
            | Part::Q8
            | Part::Qpm
            | Part::Nos
            | Part::Fq
            | Part::Chs
            | Part::Sof
            | Part::Segment => 1,
            Part::Nva | Part::Sva | Part::Cp16 | Part::U16 | Part::Nof => 2,
            Part::Cp24 | Part::Lof => 3,
            Part::Bsi | Part::R32 | Part::Scd => 4,
            Part::Bcr => 5,
            Part::Cp56 | Part::Cp56Stop => 7,
        }
    }
}

/// A type identification: mnemonic and element layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub id: u8,
    pub name: &'static str,
    /// Lower-case mnemonic (the `Op::function`).
    pub function: &'static str,
    pub parts: &'static [Part],
}

macro_rules! types {
    ($($id:literal $name:ident $func:literal [$($p:ident),*];)*) => {
        /// Every standard type identification (IEC 60870-5-101 Table 8,
        /// 104 Table 2), sorted by id.
        pub static TYPES: &[TypeInfo] = &[
            $(TypeInfo { id: $id, name: stringify!($name), function: $func, parts: &[$(Part::$p),*] },)*
        ];
    };
}

types! {
    1 M_SP_NA_1 "m_sp_na_1" [Siq];
    2 M_SP_TA_1 "m_sp_ta_1" [Siq, Cp24];
    3 M_DP_NA_1 "m_dp_na_1" [Diq];
    4 M_DP_TA_1 "m_dp_ta_1" [Diq, Cp24];
    5 M_ST_NA_1 "m_st_na_1" [Vti, Qds];
    6 M_ST_TA_1 "m_st_ta_1" [Vti, Qds, Cp24];
    7 M_BO_NA_1 "m_bo_na_1" [Bsi, Qds];
    8 M_BO_TA_1 "m_bo_ta_1" [Bsi, Qds, Cp24];
    9 M_ME_NA_1 "m_me_na_1" [Nva, Qds];
    10 M_ME_TA_1 "m_me_ta_1" [Nva, Qds, Cp24];
    11 M_ME_NB_1 "m_me_nb_1" [Sva, Qds];
    12 M_ME_TB_1 "m_me_tb_1" [Sva, Qds, Cp24];
    13 M_ME_NC_1 "m_me_nc_1" [R32, Qds];
    14 M_ME_TC_1 "m_me_tc_1" [R32, Qds, Cp24];
    15 M_IT_NA_1 "m_it_na_1" [Bcr];
    16 M_IT_TA_1 "m_it_ta_1" [Bcr, Cp24];
    17 M_EP_TA_1 "m_ep_ta_1" [Sep, Cp16, Cp24];
    18 M_EP_TB_1 "m_ep_tb_1" [Spe, Qdp, Cp16, Cp24];
    19 M_EP_TC_1 "m_ep_tc_1" [Oci, Qdp, Cp16, Cp24];
    20 M_PS_NA_1 "m_ps_na_1" [Scd, Qds];
    21 M_ME_ND_1 "m_me_nd_1" [Nva];
    30 M_SP_TB_1 "m_sp_tb_1" [Siq, Cp56];
    31 M_DP_TB_1 "m_dp_tb_1" [Diq, Cp56];
    32 M_ST_TB_1 "m_st_tb_1" [Vti, Qds, Cp56];
    33 M_BO_TB_1 "m_bo_tb_1" [Bsi, Qds, Cp56];
    34 M_ME_TD_1 "m_me_td_1" [Nva, Qds, Cp56];
    35 M_ME_TE_1 "m_me_te_1" [Sva, Qds, Cp56];
    36 M_ME_TF_1 "m_me_tf_1" [R32, Qds, Cp56];
    37 M_IT_TB_1 "m_it_tb_1" [Bcr, Cp56];
    38 M_EP_TD_1 "m_ep_td_1" [Sep, Cp16, Cp56];
    39 M_EP_TE_1 "m_ep_te_1" [Spe, Qdp, Cp16, Cp56];
    40 M_EP_TF_1 "m_ep_tf_1" [Oci, Qdp, Cp16, Cp56];
    45 C_SC_NA_1 "c_sc_na_1" [Sco];
    46 C_DC_NA_1 "c_dc_na_1" [Dco];
    47 C_RC_NA_1 "c_rc_na_1" [Rco];
    48 C_SE_NA_1 "c_se_na_1" [Nva, Qos];
    49 C_SE_NB_1 "c_se_nb_1" [Sva, Qos];
    50 C_SE_NC_1 "c_se_nc_1" [R32, Qos];
    51 C_BO_NA_1 "c_bo_na_1" [Bsi];
    58 C_SC_TA_1 "c_sc_ta_1" [Sco, Cp56];
    59 C_DC_TA_1 "c_dc_ta_1" [Dco, Cp56];
    60 C_RC_TA_1 "c_rc_ta_1" [Rco, Cp56];
    61 C_SE_TA_1 "c_se_ta_1" [Nva, Qos, Cp56];
    62 C_SE_TB_1 "c_se_tb_1" [Sva, Qos, Cp56];
    63 C_SE_TC_1 "c_se_tc_1" [R32, Qos, Cp56];
    64 C_BO_TA_1 "c_bo_ta_1" [Bsi, Cp56];
    70 M_EI_NA_1 "m_ei_na_1" [Q8];
    100 C_IC_NA_1 "c_ic_na_1" [Q8];
    101 C_CI_NA_1 "c_ci_na_1" [Q8];
    102 C_RD_NA_1 "c_rd_na_1" [];
    103 C_CS_NA_1 "c_cs_na_1" [Cp56];
    104 C_TS_NA_1 "c_ts_na_1" [U16];
    105 C_RP_NA_1 "c_rp_na_1" [Q8];
    106 C_CD_NA_1 "c_cd_na_1" [Cp16];
    107 C_TS_TA_1 "c_ts_ta_1" [U16, Cp56];
    110 P_ME_NA_1 "p_me_na_1" [Nva, Qpm];
    111 P_ME_NB_1 "p_me_nb_1" [Sva, Qpm];
    112 P_ME_NC_1 "p_me_nc_1" [R32, Qpm];
    113 P_AC_NA_1 "p_ac_na_1" [Q8];
    120 F_FR_NA_1 "f_fr_na_1" [Nof, Lof, Fq];
    121 F_SR_NA_1 "f_sr_na_1" [Nof, Nos, Lof, Fq];
    122 F_SC_NA_1 "f_sc_na_1" [Nof, Nos, Fq];
    123 F_LS_NA_1 "f_ls_na_1" [Nof, Nos, Fq, Chs];
    124 F_AF_NA_1 "f_af_na_1" [Nof, Nos, Fq];
    125 F_SG_NA_1 "f_sg_na_1" [Nof, Nos, Segment];
    126 F_DR_TA_1 "f_dr_ta_1" [Nof, Lof, Sof, Cp56];
    127 F_SC_NB_1 "f_sc_nb_1" [Nof, Cp56, Cp56Stop];
}

/// Look up a type identification.
pub fn type_info(id: u8) -> Option<&'static TypeInfo> {
    TYPES
        .binary_search_by_key(&id, |t| t.id)
        .ok()
        .and_then(|i| TYPES.get(i))
}

/// Quality and flag bits of an object, as a bit set.
pub mod q {
    pub const OV: u16 = 0x0001;
    pub const EI: u16 = 0x0002;
    pub const BL: u16 = 0x0004;
    pub const SB: u16 = 0x0008;
    pub const NT: u16 = 0x0010;
    pub const IV: u16 = 0x0020;
    pub const CY: u16 = 0x0040;
    pub const CA: u16 = 0x0080;
    pub const TIME_INVALID: u16 = 0x0100;
    pub const TRANSIENT: u16 = 0x0200;
    /// Names in bit order.
    pub const NAMES: [(u16, &str); 10] = [
        (OV, "ov"),
        (EI, "ei"),
        (BL, "bl"),
        (SB, "sb"),
        (NT, "nt"),
        (IV, "iv"),
        (CY, "cy"),
        (CA, "ca"),
        (TIME_INVALID, "time_invalid"),
        (TRANSIENT, "transient"),
    ];
}

/// A number as logged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

/// CP56Time2a (or CP24Time2a with only `ms` and `min` set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Time {
    /// Milliseconds within the minute (0..=59999).
    pub ms: u16,
    pub min: u8,
    pub hour: u8,
    pub day: u8,
    pub month: u8,
    /// Two-digit year (0..=99, 20xx).
    pub year: u8,
    pub invalid: bool,
    pub summer: bool,
    /// Only minutes and milliseconds (CP24Time2a).
    pub short: bool,
}

impl Time {
    fn cp56(b: &[u8]) -> Time {
        Time {
            ms: u16::from_le_bytes([b[0], b[1]]),
            min: b[2] & 0x3f,
            invalid: b[2] & 0x80 != 0,
            hour: b[3] & 0x1f,
            summer: b[3] & 0x80 != 0,
            day: b[4] & 0x1f,
            month: b[5] & 0x0f,
            year: b[6] & 0x7f,
            short: false,
        }
    }
    fn cp24(b: &[u8]) -> Time {
        Time {
            ms: u16::from_le_bytes([b[0], b[1]]),
            min: b[2] & 0x3f,
            invalid: b[2] & 0x80 != 0,
            short: true,
            ..Time::default()
        }
    }
}

impl std::fmt::Display for Time {
    /// `20YY-MM-DDTHH:MM:SS.mmm` (CP56) or `MM:SS.mmm` (CP24).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, ms) = (self.ms / 1000, self.ms % 1000);
        if self.short {
            write!(f, "{:02}:{:02}.{:03}", self.min, s, ms)
        } else {
            write!(
                f,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
                2000 + u16::from(self.year),
                self.month,
                self.day,
                self.hour,
                self.min,
                s,
                ms
            )
        }
    }
}

/// One decoded information object (element).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct InfoObject {
    pub ioa: u32,
    pub value: Option<Num>,
    /// Bits of [`q`].
    pub quality: u16,
    /// S/E bit of a command or set-point: true = select.
    pub select: Option<bool>,
    /// QU of SCO/DCO/RCO, QL of QOS.
    pub qualifier: Option<u8>,
    /// BCR sequence number.
    pub counter_seq: Option<u8>,
    /// CP16Time2a (elapsed, relay duration or operating time), ms.
    pub elapsed_ms: Option<u16>,
    pub time: Option<Time>,
    pub time_stop: Option<Time>,
    /// File transfer: name of file, name of section, length, checksum,
    /// status of file, segment length.
    pub nof: Option<u16>,
    pub nos: Option<u8>,
    pub length: Option<u32>,
    pub chs: Option<u8>,
    pub sof: Option<u8>,
}

/// Decode one element of `ti` from `b` (which starts at the element);
/// returns the octets used.
pub fn decode_element(ti: &TypeInfo, b: &[u8], o: &mut InfoObject) -> Option<usize> {
    let mut pos = 0usize;
    for &p in ti.parts {
        let d = b.get(pos..pos + p.size())?;
        pos += p.size();
        let x = d[0];
        match p {
            Part::Siq => {
                o.value = Some(Num::Int(i64::from(x & 1)));
                o.quality |= quality_bits(x);
            }
            Part::Diq => {
                o.value = Some(Num::Int(i64::from(x & 3)));
                o.quality |= quality_bits(x);
            }
            Part::Vti => {
                // 7-bit two's complement value, bit 7 transient.
                let v = ((x << 1) as i8) >> 1;
                o.value = Some(Num::Int(i64::from(v)));
                if x & 0x80 != 0 {
                    o.quality |= q::TRANSIENT;
                }
            }
            Part::Qds => o.quality |= quality_bits(x) | if x & 1 != 0 { q::OV } else { 0 },
            Part::Qdp => o.quality |= quality_bits(x) | if x & 0x08 != 0 { q::EI } else { 0 },
            Part::Bsi | Part::Scd => {
                o.value = Some(Num::Int(i64::from(u32::from_le_bytes([
                    d[0], d[1], d[2], d[3],
                ]))))
            }
            Part::Nva => {
                let v = i16::from_le_bytes([d[0], d[1]]);
                o.value = Some(Num::Float(f64::from(v) / 32768.0));
            }
            Part::Sva => o.value = Some(Num::Int(i64::from(i16::from_le_bytes([d[0], d[1]])))),
            Part::R32 => {
                o.value = Some(Num::Float(f64::from(f32::from_le_bytes([
                    d[0], d[1], d[2], d[3],
                ]))))
            }
            Part::Bcr => {
                o.value = Some(Num::Int(i64::from(i32::from_le_bytes([
                    d[0], d[1], d[2], d[3],
                ]))));
                let s = d[4];
                o.counter_seq = Some(s & 0x1f);
                for (bit, f) in [(0x20, q::CY), (0x40, q::CA), (0x80, q::IV)] {
                    if s & bit != 0 {
                        o.quality |= f;
                    }
                }
            }
            Part::Sep => {
                o.value = Some(Num::Int(i64::from(x & 3)));
                o.quality |= quality_bits(x) | if x & 0x08 != 0 { q::EI } else { 0 };
            }
            Part::Spe | Part::Oci | Part::Q8 => o.value = Some(Num::Int(i64::from(x))),
            Part::Cp16 => o.elapsed_ms = Some(u16::from_le_bytes([d[0], d[1]])),
            Part::Cp24 => set_time(o, Time::cp24(d)),
            Part::Cp56 => set_time(o, Time::cp56(d)),
            Part::Cp56Stop => o.time_stop = Some(Time::cp56(d)),
            Part::Sco | Part::Dco | Part::Rco => {
                let mask = if p == Part::Sco { 1 } else { 3 };
                o.value = Some(Num::Int(i64::from(x & mask)));
                o.qualifier = Some((x >> 2) & 0x1f);
                o.select = Some(x & 0x80 != 0);
            }
            Part::Qos => {
                o.qualifier = Some(x & 0x7f);
                o.select = Some(x & 0x80 != 0);
            }
            Part::Qpm | Part::Fq => o.qualifier = Some(x),
            Part::U16 => o.value = Some(Num::Int(i64::from(u16::from_le_bytes([d[0], d[1]])))),
            Part::Nof => o.nof = Some(u16::from_le_bytes([d[0], d[1]])),
            Part::Lof => o.length = Some(u32::from_le_bytes([d[0], d[1], d[2], 0])),
            Part::Nos => o.nos = Some(x),
            Part::Chs => o.chs = Some(x),
            Part::Sof => o.sof = Some(x),
            Part::Segment => {
                // The segment octets follow their length.
                b.get(pos..pos + usize::from(x))?;
                pos += usize::from(x);
                o.length = Some(u32::from(x));
            }
        }
    }
    Some(pos)
}

fn set_time(o: &mut InfoObject, t: Time) {
    if t.invalid {
        o.quality |= q::TIME_INVALID;
    }
    o.time = Some(t);
}

/// BL/SB/NT/IV (bits 4..7, common to SIQ, DIQ, QDS, SEP, QDP).
fn quality_bits(x: u8) -> u16 {
    let mut f = 0;
    for (bit, v) in [(0x10, q::BL), (0x20, q::SB), (0x40, q::NT), (0x80, q::IV)] {
        if x & bit != 0 {
            f |= v;
        }
    }
    f
}

/// Information object address: three octets little endian.
pub const IOA_LEN: usize = 3;

fn ioa(b: &[u8]) -> Option<u32> {
    let d = b.get(..IOA_LEN)?;
    Some(u32::from_le_bytes([d[0], d[1], d[2], 0]))
}

/// Decoded objects of an ASDU.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Objects {
    pub objects: Vec<InfoObject>,
    /// More objects than kept.
    pub truncated: bool,
    /// The objects did not fit the ASDU (or the type is unknown while
    /// objects are announced).
    pub malformed: bool,
    /// First information object address (even when not kept).
    pub first_ioa: Option<u32>,
}

/// Decode up to `max` information objects of an ASDU body.
pub fn parse_objects(h: &AsduHeader, mut b: &[u8], max: usize) -> Objects {
    let mut out = Objects::default();
    if h.num == 0 {
        return out;
    }
    out.first_ioa = ioa(b);
    let Some(ti) = type_info(h.type_id) else {
        out.malformed = true;
        return out;
    };
    let mut next_ioa = 0u32;
    for i in 0..h.num {
        let a = if h.sq && i > 0 {
            next_ioa
        } else {
            let Some(a) = ioa(b) else {
                out.malformed = true;
                return out;
            };
            b = &b[IOA_LEN..];
            a
        };
        next_ioa = a.wrapping_add(1) & 0x00ff_ffff;
        let mut o = InfoObject {
            ioa: a,
            ..InfoObject::default()
        };
        let Some(n) = decode_element(ti, b, &mut o) else {
            out.malformed = true;
            return out;
        };
        b = &b[n..];
        if out.objects.len() < max {
            out.objects.push(o);
        } else {
            out.truncated = true;
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// I-frame: 68 len | tx<<1 | rx<<1 | ASDU.
    pub fn i_frame(tx: u16, rx: u16, asdu: &[u8]) -> Vec<u8> {
        let mut v = vec![START, (4 + asdu.len()) as u8];
        v.extend_from_slice(&(tx << 1).to_le_bytes());
        v.extend_from_slice(&(rx << 1).to_le_bytes());
        v.extend_from_slice(asdu);
        v
    }

    pub fn u_frame(ctrl: u8) -> Vec<u8> {
        vec![START, 4, ctrl, 0, 0, 0]
    }

    pub fn s_frame(rx: u16) -> Vec<u8> {
        let r = (rx << 1).to_le_bytes();
        vec![START, 4, 0x01, 0, r[0], r[1]]
    }

    /// ASDU: type, vsq, cot (with P/N, T), oa, ca, then objects.
    pub fn asdu(type_id: u8, vsq: u8, cot: u8, ca: u16, objs: &[u8]) -> Vec<u8> {
        let mut v = vec![type_id, vsq, cot, 0];
        v.extend_from_slice(&ca.to_le_bytes());
        v.extend_from_slice(objs);
        v
    }

    #[test]
    fn apci_formats() {
        // I: 68 0e | 4c 00 | 28 00 | ... (tx 38, rx 20)
        let f = i_frame(38, 20, &asdu(45, 1, 6, 3, &[0x94, 0x11, 0, 0x81]));
        let a = parse_apdu(&f).expect("i");
        assert_eq!(a.apci, Apci::I { tx: 38, rx: 20 });
        assert_eq!(a.len, 14);
        assert_eq!(a.asdu.len(), 10);
        // S: 68 04 01 00 | 9c 00 (rx 78)
        let s = s_frame(78);
        let a = parse_apdu(&s).expect("s");
        assert_eq!(a.apci, Apci::S { rx: 78 });
        // U: 68 04 43 00 00 00 (TESTFR act)
        let u = u_frame(0x43);
        let a = parse_apdu(&u).expect("u");
        assert_eq!(a.apci, Apci::U { ctrl: 0x43 });
        assert_eq!(u_function_name(0x43), Some("testfr_act"));
        assert_eq!(
            parse_apdu_strict(&u_frame(0x47)),
            Err(Iec104Error::BadControl)
        );
        assert!(parse_apdu(&u_frame(0x47)).is_ok());
        assert_eq!(apdu_frame(&u_frame(0x47), true), Frame::Skip(1));
        assert_eq!(
            parse_apdu(&[0x68, 2, 0, 0, 0, 0]),
            Err(Iec104Error::BadLength)
        );
        assert_eq!(parse_apdu(&f[..8]), Err(Iec104Error::Truncated));
        assert_eq!(apdu_frame(&f, false), Frame::Len(16));
        assert_eq!(apdu_frame(&f[..3], false), Frame::Need);
        assert_eq!(apdu_frame(b"\x68\x02", false), Frame::Skip(1));
        assert_eq!(apdu_frame(b"ab\x68", false), Frame::Skip(2));
    }

    #[test]
    fn asdu_header_fields() {
        // 2d 01 47 05 03 00: C_SC_NA_1, 1 object, COT 7 negative, OA 5, CA 3
        let (h, rest) = parse_asdu_header(&[0x2d, 0x01, 0x47, 0x05, 0x03, 0x00, 9]).expect("h");
        assert_eq!(h.type_id, 45);
        assert!(!h.sq);
        assert_eq!(
            (h.num, h.cot, h.negative, h.test, h.oa, h.ca),
            (1, 7, true, false, 5, 3)
        );
        assert_eq!(rest, &[9]);
        let (h, _) = parse_asdu_header(&[0x01, 0x83, 0x83, 0, 1, 1]).expect("h");
        assert!(h.sq && h.test);
        assert_eq!((h.num, h.cot, h.ca), (3, 3, 257));
    }

    #[test]
    fn elements_decode() {
        // C_SC_NA_1 IOA 4500 SCO 0x81: select, on.
        let h = AsduHeader {
            type_id: 45,
            num: 1,
            ..AsduHeader::default()
        };
        let o = parse_objects(&h, &[0x94, 0x11, 0x00, 0x81], 64);
        assert!(!o.malformed);
        let x = o.objects[0];
        assert_eq!(
            (x.ioa, x.value, x.select, x.qualifier),
            (4500, Some(Num::Int(1)), Some(true), Some(0))
        );
        // M_ME_NC_1 SQ=1, 2 elements from IOA 1300: 1.5 and -2.0, QDS IV on the second.
        let h = AsduHeader {
            type_id: 13,
            sq: true,
            num: 2,
            ..AsduHeader::default()
        };
        let mut b = vec![0x14, 0x05, 0x00];
        b.extend(1.5f32.to_le_bytes());
        b.push(0);
        b.extend((-2.0f32).to_le_bytes());
        b.push(0x80);
        let o = parse_objects(&h, &b, 64);
        assert_eq!(o.objects.len(), 2);
        assert_eq!(o.objects[1].ioa, 1301);
        assert_eq!(o.objects[1].value, Some(Num::Float(-2.0)));
        assert_eq!(o.objects[1].quality, q::IV);
        // C_SE_NA_1 normalised -0.5, QOS execute QL 0; with CP56 time (C_SE_TA_1).
        let h = AsduHeader {
            type_id: 61,
            num: 1,
            ..AsduHeader::default()
        };
        let b = [
            1, 0, 0, 0x00, 0xc0, 0x00, 0xe8, 0x03, 0x05, 0x0c, 0x0d, 0x08, 0x09,
        ];
        let o = parse_objects(&h, &b, 64);
        let x = o.objects[0];
        assert_eq!(x.value, Some(Num::Float(-0.5)));
        assert_eq!(x.select, Some(false));
        assert_eq!(
            x.time.map(|t| t.to_string()).as_deref(),
            Some("2009-08-13T12:05:01.000")
        );
        // VTI -1 transient, M_IT_NA_1 counter with carry.
        let mut o = InfoObject::default();
        decode_element(type_info(5).expect("t"), &[0xff, 0x00], &mut o);
        assert_eq!(o.value, Some(Num::Int(-1)));
        assert_eq!(o.quality, q::TRANSIENT);
        let mut o = InfoObject::default();
        decode_element(type_info(15).expect("t"), &[10, 0, 0, 0, 0x23], &mut o);
        assert_eq!(
            (o.value, o.counter_seq, o.quality),
            (Some(Num::Int(10)), Some(3), q::CY)
        );
        // Too few octets.
        let h = AsduHeader {
            type_id: 13,
            num: 3,
            ..AsduHeader::default()
        };
        let o = parse_objects(&h, &[1, 0, 0, 0, 0], 64);
        assert!(o.malformed);
        // Unknown type with objects.
        let h = AsduHeader {
            type_id: 99,
            num: 1,
            ..AsduHeader::default()
        };
        assert!(parse_objects(&h, &[1, 0, 0], 64).malformed);
        // F_SG_NA_1 segment.
        let h = AsduHeader {
            type_id: 125,
            num: 1,
            ..AsduHeader::default()
        };
        let o = parse_objects(&h, &[1, 0, 0, 2, 0, 1, 3, 0xaa, 0xbb, 0xcc], 64);
        assert!(!o.malformed);
        assert_eq!(o.objects[0].length, Some(3));
    }

    #[test]
    fn table_sorted_and_sizes() {
        for w in TYPES.windows(2) {
            assert!(w[0].id < w[1].id);
        }
        for t in TYPES {
            assert_eq!(t.function, t.name.to_ascii_lowercase());
        }
        let size = |id| type_info(id).map(|t| t.parts.iter().map(|p| p.size()).sum::<usize>());
        assert_eq!(size(36), Some(12));
        assert_eq!(size(58), Some(8));
        assert_eq!(size(107), Some(9));
        assert_eq!(size(127), Some(16));
        assert_eq!(size(18), Some(7));
    }
}
