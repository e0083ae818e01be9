//! The IEC 104 EVE object (Zeek ICSNPP-like field meanings, snake_case)
//! and its [`Op`].

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use rules::ot::{Attr, Op, OpClass};

use super::parser::{q, type_info, AsduHeader, InfoObject, Num, Objects, Time};

/// Most values copied into [`Op::values`].
pub const MAX_OP_VALUES: usize = 64;

/// Cause of transmission name (IEC 60870-5-101 §7.2.3).
pub fn cot_name(cot: u8) -> Option<&'static str> {
    const INRO: [&str; 16] = [
        "inro1", "inro2", "inro3", "inro4", "inro5", "inro6", "inro7", "inro8", "inro9", "inro10",
        "inro11", "inro12", "inro13", "inro14", "inro15", "inro16",
    ];
    const REQCO: [&str; 4] = ["reqco1", "reqco2", "reqco3", "reqco4"];
    Some(match cot {
        1 => "per_cyc",
        2 => "back",
        3 => "spont",
        4 => "init",
        5 => "req",
        6 => "act",
        7 => "actcon",
        8 => "deact",
        9 => "deactcon",
        10 => "actterm",
        11 => "retrem",
        12 => "retloc",
        13 => "file",
        20 => "inrogen",
        21..=36 => INRO[usize::from(cot - 21)],
        37 => "reqcogen",
        38..=41 => REQCO[usize::from(cot - 38)],
        44 => "unknown_type",
        45 => "unknown_cause",
        46 => "unknown_common_address",
        47 => "unknown_object_address",
        _ => return None,
    })
}

/// The [`OpClass`] of a type identification (control direction).
pub fn type_class(type_id: u8) -> OpClass {
    match type_id {
        1..=40 => OpClass::Report,
        45..=64 => OpClass::Command,
        70 => OpClass::Report,
        100..=102 => OpClass::Read,
        103 | 104 | 106 | 107 => OpClass::Diagnostic,
        105 => OpClass::Restart,
        110..=113 => OpClass::Write,
        120..=127 => OpClass::File,
        _ => OpClass::Other,
    }
}

/// How the paired confirmation answered an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confirm {
    pub cot: u8,
    pub negative: bool,
}

struct ObjectLog<'a>(&'a InfoObject);

struct QualityLog(u16);

impl Serialize for QualityLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (bit, name) in q::NAMES {
            if self.0 & bit != 0 {
                seq.serialize_element(name)?;
            }
        }
        seq.end()
    }
}

struct NumLog(Num);

impl Serialize for NumLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Num::Int(v) => s.serialize_i64(v),
            Num::Float(v) if v.is_finite() => s.serialize_f64(v),
            Num::Float(_) => s.serialize_none(),
        }
    }
}

struct TimeLog(Time);

impl Serialize for TimeLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for ObjectLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ioa", &o.ioa)?;
        if let Some(v) = o.value {
            m.serialize_entry("value", &NumLog(v))?;
        }
        if o.quality != 0 {
            m.serialize_entry("quality", &QualityLog(o.quality))?;
        }
        if let Some(sel) = o.select {
            m.serialize_entry("select", &sel)?;
        }
        if let Some(x) = o.qualifier {
            m.serialize_entry("qualifier", &x)?;
        }
        if let Some(x) = o.counter_seq {
            m.serialize_entry("counter_seq", &x)?;
        }
        if let Some(x) = o.elapsed_ms {
            m.serialize_entry("elapsed_ms", &x)?;
        }
        if let Some(t) = o.time {
            m.serialize_entry("time", &TimeLog(t))?;
        }
        if let Some(t) = o.time_stop {
            m.serialize_entry("time_stop", &TimeLog(t))?;
        }
        if let Some(x) = o.nof {
            m.serialize_entry("nof", &x)?;
        }
        if let Some(x) = o.nos {
            m.serialize_entry("nos", &x)?;
        }
        if let Some(x) = o.length {
            m.serialize_entry("length", &x)?;
        }
        if let Some(x) = o.chs {
            m.serialize_entry("chs", &x)?;
        }
        if let Some(x) = o.sof {
            m.serialize_entry("sof", &x)?;
        }
        m.end()
    }
}

/// One ASDU.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Asdu {
    pub header: AsduHeader,
    pub objects: Objects,
}

impl Asdu {
    /// Serialise the ASDU fields into an open map.
    fn serialize_into<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let h = &self.header;
        m.serialize_entry("type_id", &h.type_id)?;
        if let Some(t) = type_info(h.type_id) {
            m.serialize_entry("type_name", t.name)?;
        }
        m.serialize_entry("sq", &h.sq)?;
        m.serialize_entry("num_ix", &h.num)?;
        m.serialize_entry("cot", &h.cot)?;
        if let Some(n) = cot_name(h.cot) {
            m.serialize_entry("cot_name", n)?;
        }
        m.serialize_entry("negative", &h.negative)?;
        m.serialize_entry("test", &h.test)?;
        m.serialize_entry("originator", &h.oa)?;
        m.serialize_entry("common_address", &h.ca)?;
        if !self.objects.objects.is_empty() {
            struct Objs<'a>(&'a [InfoObject]);
            impl Serialize for Objs<'_> {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.collect_seq(self.0.iter().map(ObjectLog))
                }
            }
            m.serialize_entry("objects", &Objs(&self.objects.objects))?;
        }
        if self.objects.truncated {
            m.serialize_entry("truncated", &true)?;
        }
        if self.objects.malformed {
            m.serialize_entry("malformed", &true)?;
        }
        Ok(())
    }
}

/// What an APDU carried.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// I-format with its ASDU (None when the ASDU header was cut short).
    I {
        tx: u16,
        rx: u16,
        asdu: Option<Asdu>,
    },
    /// U-format control function (first control octet).
    U { ctrl: u8 },
}

/// One IEC 104 event: an I-format APDU (one ASDU) or a U-format APDU.
///
/// ```json
/// {"apdu_len":14,"apci_type":"I","apci_tx":20,"apci_rx":78,"type_id":58,"type_name":"C_SC_TA_1",
///  "sq":false,"num_ix":1,"cot":6,"cot_name":"act","negative":false,"test":false,"originator":0,
///  "common_address":3,"objects":[{"ioa":4501,"value":1,"select":false,"qualifier":0,
///  "time":"2009-08-13T12:05:01.000"}]}
/// {"apdu_len":4,"apci_type":"U","u_function":"testfr_act"}
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Iec104Event {
    pub apdu_len: u8,
    pub body: Body,
    /// Per-flow counter (not serialised).
    pub tx_id: u64,
    /// Sent to the TCP server (the controlled station).
    pub to_server: bool,
    /// For activations: the confirmation (or termination) paired with it.
    pub confirm: Option<Confirm>,
    /// For confirmations: paired with an activation (its op carries it).
    pub paired: bool,
}

impl Serialize for Iec104Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apdu_len", &self.apdu_len)?;
        match &self.body {
            Body::I { tx, rx, asdu } => {
                m.serialize_entry("apci_type", "I")?;
                m.serialize_entry("apci_tx", tx)?;
                m.serialize_entry("apci_rx", rx)?;
                if let Some(a) = asdu {
                    a.serialize_into(&mut m)?;
                }
            }
            Body::U { ctrl } => {
                m.serialize_entry("apci_type", "U")?;
                m.serialize_entry(
                    "u_function",
                    super::parser::u_function_name(*ctrl).unwrap_or("unknown"),
                )?;
            }
        }
        m.end()
    }
}

/// COT values of activations (commands) and their mirrors.
pub const COT_ACT: u8 = 6;
pub const COT_DEACT: u8 = 8;

/// True for a confirmation-like COT (actcon, deactcon, actterm, the
/// unknown-* negative mirrors).
pub fn is_mirror_cot(cot: u8) -> bool {
    matches!(cot, 7 | 9 | 10 | 44..=47)
}

/// True for type ids sent by the controlling station as activations.
pub fn is_control_type(type_id: u8) -> bool {
    matches!(type_id, 45..=64 | 100..=113)
}

impl Iec104Event {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The ASDU, for I-format events.
    pub fn asdu(&self) -> Option<&Asdu> {
        match &self.body {
            Body::I { asdu, .. } => asdu.as_ref(),
            Body::U { .. } => None,
        }
    }

    /// The operation of this APDU, if it is one:
    /// * control-direction activations (COT 6/8) of commands, set-points,
    ///   interrogation, read, clock sync, test, reset, parameters, with the
    ///   paired confirmation in `status` (its COT when negative);
    /// * file commands F_SC_NA_1, F_SC_NB_1, F_AF_NA_1 (class File);
    /// * spontaneous (COT 3) and initialisation (COT 4) monitor ASDUs, one
    ///   op per ASDU (class Report, response only);
    /// * confirmations that found no activation (response only);
    /// * STARTDT/STOPDT activation U-frames (class Session).
    ///
    /// Periodic, background and interrogated data, paired confirmations,
    /// terminations, TESTFR and S-frames give no op.
    pub fn op(&self) -> Option<Op> {
        let asdu = match &self.body {
            Body::U { ctrl } => {
                let f = match ctrl {
                    0x07 => "startdt_act",
                    0x13 => "stopdt_act",
                    _ => return None,
                };
                return Some(Op::new("iec104", f, u32::from(*ctrl), OpClass::Session));
            }
            Body::I { asdu, .. } => asdu.as_ref()?,
        };
        let h = &asdu.header;
        let ti = type_info(h.type_id)?;
        let cot = h.cot;
        let mut op = Op::new(
            "iec104",
            ti.function,
            u32::from(h.type_id),
            type_class(h.type_id),
        );
        let activation = is_control_type(h.type_id)
            && (matches!(cot, COT_ACT | COT_DEACT) || (h.type_id == 102 && cot == 5));
        let file_cmd = matches!(h.type_id, 122 | 124 | 127);
        let report = matches!(h.type_id, 1..=40 | 70) && matches!(cot, 3 | 4);
        let lone_mirror =
            is_control_type(h.type_id) && is_mirror_cot(cot) && cot != 10 && !self.paired;
        if !(activation || file_cmd || report || lone_mirror) {
            return None;
        }
        op.response_only = report || lone_mirror;
        op.unit = Some(u32::from(h.ca));
        op.address = asdu.objects.first_ioa;
        op.quantity = Some(u32::from(h.num));
        op.attrs.push(("cot", Attr::Int(i64::from(cot))));
        op.attrs.push(("negative", Attr::Bool(h.negative)));
        op.attrs.push(("test", Attr::Bool(h.test)));
        op.attrs.push(("oa", Attr::Int(i64::from(h.oa))));
        if let Some(sel) = asdu.objects.objects.first().and_then(|o| o.select) {
            op.attrs.push(("select", Attr::Bool(sel)));
        }
        if let Some(qu) = asdu.objects.objects.first().and_then(|o| o.qualifier) {
            op.attrs.push(("qualifier", Attr::Int(i64::from(qu))));
        }
        if lone_mirror && h.negative {
            op.status = Some(u32::from(cot));
        }
        if let Some(c) = self.confirm {
            op.attrs.push(("confirm_cot", Attr::Int(i64::from(c.cot))));
            if c.negative || matches!(c.cot, 44..=47) {
                op.status = Some(u32::from(c.cot));
            }
        }
        op.values = asdu
            .objects
            .objects
            .iter()
            .filter_map(|o| o.value)
            .take(MAX_OP_VALUES)
            .map(Num::as_f64)
            .collect();
        if cot == COT_DEACT {
            op.attrs.push(("deactivate", Attr::Bool(true)));
        }
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{parse_asdu_header, parse_objects};
    use super::*;

    fn ev(asdu_bytes: &[u8]) -> Iec104Event {
        let (h, rest) = parse_asdu_header(asdu_bytes).expect("hdr");
        Iec104Event {
            apdu_len: (4 + asdu_bytes.len()) as u8,
            body: Body::I {
                tx: 20,
                rx: 78,
                asdu: Some(Asdu {
                    header: h,
                    objects: parse_objects(&h, rest, 64),
                }),
            },
            tx_id: 0,
            to_server: true,
            confirm: None,
            paired: false,
        }
    }

    #[test]
    fn command_json_and_op() {
        // C_SC_TA_1 act, CA 3, IOA 4501, SCO 0x01 (execute, on), CP56 time.
        let e = ev(&[
            58, 1, 6, 0, 3, 0, 0x95, 0x11, 0x00, 0x01, 0xe8, 0x03, 0x05, 0x0c, 0x0d, 0x08, 0x09,
        ]);
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            concat!(
                r#"{"apdu_len":21,"apci_type":"I","apci_tx":20,"apci_rx":78,"type_id":58,"type_name":"C_SC_TA_1","#,
                r#""sq":false,"num_ix":1,"cot":6,"cot_name":"act","negative":false,"test":false,"originator":0,"#,
                r#""common_address":3,"objects":[{"ioa":4501,"value":1,"select":false,"qualifier":0,"#,
                r#""time":"2009-08-13T12:05:01.000"}]}"#
            )
        );
        let mut e = e;
        e.confirm = Some(Confirm {
            cot: 7,
            negative: true,
        });
        let op = e.op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("c_sc_ta_1", 58, OpClass::Command)
        );
        assert_eq!(
            (op.unit, op.address, op.quantity),
            (Some(3), Some(4501), Some(1))
        );
        assert_eq!(op.values, vec![1.0]);
        assert_eq!(op.attr("select"), Some(&Attr::Bool(false)));
        assert_eq!(op.attr("cot"), Some(&Attr::Int(6)));
        assert_eq!(op.status, Some(7));
        assert!(!op.response_only);
    }

    #[test]
    fn classes_and_reports() {
        // C_IC_NA_1 act, QOI 20 -> Read.
        let op = ev(&[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]).op().expect("op");
        assert_eq!((op.function, op.class), ("c_ic_na_1", OpClass::Read));
        assert_eq!(op.values, vec![20.0]);
        // C_RP_NA_1 -> Restart; C_CS_NA_1 -> Diagnostic.
        let op = ev(&[105, 1, 6, 0, 1, 0, 0, 0, 0, 1]).op().expect("op");
        assert_eq!(op.class, OpClass::Restart);
        let op = ev(&[103, 1, 6, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 9])
            .op()
            .expect("op");
        assert_eq!(op.class, OpClass::Diagnostic);
        // Spontaneous M_SP_NA_1 -> Report, response only; periodic -> none.
        let op = ev(&[1, 2, 3, 0, 7, 0, 1, 0, 0, 1, 2, 0, 0, 0x80])
            .op()
            .expect("op");
        assert_eq!(
            (op.class, op.response_only, op.quantity),
            (OpClass::Report, true, Some(2))
        );
        assert_eq!(op.values, vec![1.0, 0.0]);
        assert!(ev(&[1, 1, 1, 0, 7, 0, 1, 0, 0, 1]).op().is_none());
        // Interrogated data -> none; actcon unpaired -> response only.
        assert!(ev(&[1, 1, 20, 0, 7, 0, 1, 0, 0, 1]).op().is_none());
        let op = ev(&[45, 1, 0x47, 0, 3, 0, 0x94, 0x11, 0, 0x81])
            .op()
            .expect("op");
        assert!(op.response_only);
        assert_eq!(op.status, Some(7));
        // actterm -> none.
        assert!(ev(&[45, 1, 10, 0, 3, 0, 0x94, 0x11, 0, 0x01])
            .op()
            .is_none());
        // Quality names.
        let v =
            serde_json::to_value(ev(&[1, 2, 3, 0, 7, 0, 1, 0, 0, 1, 2, 0, 0, 0x90])).expect("j");
        assert_eq!(v["objects"][1]["quality"], serde_json::json!(["bl", "iv"]));
        assert_eq!(v["cot_name"], "spont");
    }

    #[test]
    fn u_frames() {
        let u = |ctrl| Iec104Event {
            apdu_len: 4,
            body: Body::U { ctrl },
            tx_id: 0,
            to_server: true,
            confirm: None,
            paired: false,
        };
        assert_eq!(
            serde_json::to_string(&u(0x43)).expect("j"),
            r#"{"apdu_len":4,"apci_type":"U","u_function":"testfr_act"}"#
        );
        assert!(u(0x43).op().is_none());
        let op = u(0x13).op().expect("op");
        assert_eq!((op.function, op.class), ("stopdt_act", OpClass::Session));
    }

    #[test]
    fn cot_names() {
        assert_eq!(cot_name(3), Some("spont"));
        assert_eq!(cot_name(21), Some("inro1"));
        assert_eq!(cot_name(36), Some("inro16"));
        assert_eq!(cot_name(41), Some("reqco4"));
        assert_eq!(cot_name(47), Some("unknown_object_address"));
        assert_eq!(cot_name(50), None);
    }
}
