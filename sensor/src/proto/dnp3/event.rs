//! The DNP3 EVE object (Suricata 8 `dnp3` logger layout) and its [`Op`].

use crate::proto::common::bytes_text;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use rules::ot::{Attr, Op, OpClass};

use super::parser::{
    object_desc, walk_point, AppControl, Field, ObjDesc, Object, Objects, PointData, Val,
};

/// Most values copied into [`Op::values`].
pub const MAX_OP_VALUES: usize = 64;

/// Function code name (IEEE 1815-2012 Table 4-1), snake_case; `None` for
/// codes the standard does not define.
pub fn function_name(fc: u8) -> Option<&'static str> {
    Some(match fc {
        0 => "confirm",
        1 => "read",
        2 => "write",
        3 => "select",
        4 => "operate",
        5 => "direct_operate",
        6 => "direct_operate_nr",
        7 => "immediate_freeze",
        8 => "immediate_freeze_nr",
        9 => "freeze_clear",
        10 => "freeze_clear_nr",
        11 => "freeze_at_time",
        12 => "freeze_at_time_nr",
        13 => "cold_restart",
        14 => "warm_restart",
        15 => "initialize_data",
        16 => "initialize_application",
        17 => "start_application",
        18 => "stop_application",
        19 => "save_configuration",
        20 => "enable_unsolicited",
        21 => "disable_unsolicited",
        22 => "assign_class",
        23 => "delay_measure",
        24 => "record_current_time",
        25 => "open_file",
        26 => "close_file",
        27 => "delete_file",
        28 => "get_file_info",
        29 => "authenticate_file",
        30 => "abort_file",
        31 => "activate_config",
        32 => "authenticate_req",
        33 => "authenticate_req_nr",
        129 => "response",
        130 => "unsolicited_response",
        131 => "authenticate_resp",
        _ => return None,
    })
}

/// The [`OpClass`] of a function code.
pub fn function_class(fc: u8) -> OpClass {
    match fc {
        1 => OpClass::Read,
        2 | 22 => OpClass::Write,
        3..=12 => OpClass::Command,
        13..=15 => OpClass::Restart,
        16..=18 | 20 | 21 => OpClass::ModeChange,
        23 | 24 => OpClass::Diagnostic,
        25..=30 => OpClass::File,
        31 => OpClass::Download,
        32 | 33 | 131 => OpClass::Security,
        130 => OpClass::Report,
        _ => OpClass::Other,
    }
}

/// True for requests that never get a response (the `_nr` codes).
pub fn expects_no_response(fc: u8) -> bool {
    matches!(fc, 6 | 8 | 10 | 12 | 33)
}

/// IIN bit names, most significant first (IIN1.7 .. IIN2.0), as
/// Suricata logs them.
pub const IIN_NAMES: [(u16, &str); 16] = [
    (0x8000, "device_restart"),
    (0x4000, "device_trouble"),
    (0x2000, "local_control"),
    (0x1000, "need_time"),
    (0x0800, "class_3_events"),
    (0x0400, "class_2_events"),
    (0x0200, "class_1_events"),
    (0x0100, "all_stations"),
    (0x0080, "reserved_1"),
    (0x0040, "reserved_2"),
    (0x0020, "config_corrupt"),
    (0x0010, "already_executing"),
    (0x0008, "event_buffer_overflow"),
    (0x0004, "parameter_error"),
    (0x0002, "object_unknown"),
    (0x0001, "no_func_code_support"),
];

/// IIN2 error bits (no_func_code_support .. config_corrupt).
pub const IIN_ERROR_MASK: u16 = 0x003f;

/// Link control octet, logged as `{dir, pri, fcb, fcv, function_code}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LinkControl(pub u8);

impl Serialize for LinkControl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut st = s.serialize_struct("control", 5)?;
        st.serialize_field("dir", &(c & 0x80 != 0))?;
        st.serialize_field("pri", &(c & 0x40 != 0))?;
        st.serialize_field("fcb", &(c & 0x20 != 0))?;
        st.serialize_field("fcv", &(c & 0x10 != 0))?;
        st.serialize_field("function_code", &(c & 0x0f))?;
        st.end()
    }
}

/// Application control, logged as `{fir, fin, con, uns, sequence}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AppControlLog(pub u8);

impl Serialize for AppControlLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = AppControl(self.0);
        let mut st = s.serialize_struct("control", 5)?;
        st.serialize_field("fir", &c.fir())?;
        st.serialize_field("fin", &c.fin())?;
        st.serialize_field("con", &c.con())?;
        st.serialize_field("uns", &c.uns())?;
        st.serialize_field("sequence", &c.seq())?;
        st.end()
    }
}

/// Internal indications, logged as `{"indicators": [names...]}` (an
/// empty object when no bit is set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Iin(pub u16);

impl Iin {
    /// Names of the set bits.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        IIN_NAMES
            .iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
    }
}

impl Serialize for Iin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Names(Iin);
        impl Serialize for Names {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.names())
            }
        }
        let mut m = s.serialize_map(None)?;
        if self.0 != 0 {
            m.serialize_entry("indicators", &Names(*self))?;
        }
        m.end()
    }
}

/// The decoded objects of one fragment with the octets they point into.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectList {
    /// The object area (application fragment after its header), bounded
    /// by the fragment limit.
    pub data: Vec<u8>,
    pub objects: Objects,
}

impl ObjectList {
    pub fn is_empty(&self) -> bool {
        self.objects.objects.is_empty()
    }

    /// Call `f` for every logged field of every point of `obj`, with the
    /// point index.
    pub fn for_each_field<'a>(
        &'a self,
        obj: &Object,
        mut f: impl FnMut(u32, &'static str, Val<'a>),
    ) {
        let Some(desc) = object_desc(obj.header.group, obj.header.variation) else {
            return;
        };
        for p in self.points(obj) {
            match p.data {
                PointData::Packed(v) => {
                    if let Some(Field::Num(name, _)) = desc.fields.first() {
                        f(p.index, name, Val::U(u64::from(v)));
                    }
                }
                PointData::Raw { off, len } => {
                    let raw = self
                        .data
                        .get(off as usize..(off as usize).saturating_add(len as usize))
                        .unwrap_or(&[]);
                    walk_point(desc, raw, p.prefix, |n, v| f(p.index, n, v));
                }
            }
        }
    }

    /// The points of `obj`.
    pub fn points(&self, obj: &Object) -> &[super::parser::Point] {
        let a = obj.first_point as usize;
        let b = a.saturating_add(obj.num_points as usize);
        self.objects.points.get(a..b).unwrap_or(&[])
    }
}

struct ObjLog<'a> {
    list: &'a ObjectList,
    obj: &'a Object,
}

impl Serialize for ObjLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.obj.header;
        let points = self.list.points(self.obj);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("group", &h.group)?;
        m.serialize_entry("variation", &h.variation)?;
        m.serialize_entry("qualifier", &h.qualifier)?;
        m.serialize_entry("prefix_code", &h.prefix_code())?;
        m.serialize_entry("range_code", &h.range_code())?;
        m.serialize_entry("start", &h.start)?;
        m.serialize_entry("stop", &h.stop)?;
        m.serialize_entry("count", &h.count)?;
        if !points.is_empty() {
            if let Some(desc) = object_desc(h.group, h.variation) {
                m.serialize_entry(
                    "points",
                    &PointsLog {
                        list: self.list,
                        desc,
                        points,
                        size: h.prefix_is_size(),
                    },
                )?;
            }
        }
        m.end()
    }
}

struct PointsLog<'a> {
    list: &'a ObjectList,
    desc: &'static ObjDesc,
    points: &'a [super::parser::Point],
    size: bool,
}

impl Serialize for PointsLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.points.len()))?;
        for p in self.points {
            seq.serialize_element(&PointLog {
                list: self.list,
                desc: self.desc,
                point: p,
                size: self.size,
            })?;
        }
        seq.end()
    }
}

struct PointLog<'a> {
    list: &'a ObjectList,
    desc: &'static ObjDesc,
    point: &'a super::parser::Point,
    size: bool,
}

impl Serialize for PointLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.point;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("prefix", &p.prefix)?;
        m.serialize_entry("index", &p.index)?;
        if self.size {
            m.serialize_entry("size", &p.prefix)?;
        }
        match p.data {
            PointData::Packed(v) => {
                if let Some(Field::Num(name, _)) = self.desc.fields.first() {
                    m.serialize_entry(name, &v)?;
                }
            }
            PointData::Raw { off, len } => {
                let raw = self
                    .list
                    .data
                    .get(off as usize..(off as usize).saturating_add(len as usize))
                    .unwrap_or(&[]);
                let mut err = None;
                walk_point(self.desc, raw, p.prefix, |name, v| {
                    if err.is_none() {
                        if let Err(e) = m.serialize_entry(name, &ValLog(v)) {
                            err = Some(e);
                        }
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
            }
        }
        m.end()
    }
}

struct ValLog<'a>(Val<'a>);

impl Serialize for ValLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Val::U(v) => s.serialize_u64(v),
            Val::I(v) => s.serialize_i64(v),
            Val::F(v) if v.is_finite() => s.serialize_f64(v),
            Val::F(_) => s.serialize_none(),
            Val::Text(b) | Val::CStr(b) => s.serialize_str(&bytes_text(b)),
            Val::Octets(b) => s.serialize_str(&base64(b)),
        }
    }
}

/// Standard base64 with padding.
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                o.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                o.push('=');
            }
        }
    }
    o
}

struct ObjectsLog<'a>(&'a ObjectList);

impl Serialize for ObjectsLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let objs = &self.0.objects.objects;
        let mut seq = s.serialize_seq(Some(objs.len()))?;
        for o in objs {
            seq.serialize_element(&ObjLog {
                list: self.0,
                obj: o,
            })?;
        }
        seq.end()
    }
}

/// The `application` object.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Application {
    pub control: u8,
    pub function_code: u8,
    pub objects: ObjectList,
    /// All objects decoded (Suricata's `complete`).
    pub complete: bool,
}

impl Serialize for Application {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("control", &AppControlLog(self.control))?;
        m.serialize_entry("function_code", &self.function_code)?;
        if !self.objects.is_empty() {
            m.serialize_entry("objects", &ObjectsLog(&self.objects))?;
        }
        m.serialize_entry("complete", &self.complete)?;
        // `objects.objects.truncated` is not logged: the schema has no
        // place for it (`complete` is false then).
        m.end()
    }
}

/// What the paired response said about a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reply {
    /// The response's IIN.
    pub iin: u16,
    /// First non-zero command status (g12 `status_code`, g41
    /// `control_status`) in the response objects.
    pub control_status: u8,
}

/// One DNP3 request or response, serialised as Suricata 8's `dnp3`
/// object: `type`, link `control`, `src`, `dst`, `application`, and for
/// responses `iin`. Nothing else: the EVE schema allows no extension, so
/// `crc_errors` and the object list's `truncated` flag stay in the struct.
#[derive(Clone, Debug, Serialize)]
pub struct Dnp3Event {
    /// `request`, `response` or `unsolicited_response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub control: LinkControl,
    pub src: u16,
    pub dst: u16,
    pub application: Application,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iin: Option<Iin>,
    /// Data blocks whose CRC did not match (the data was decoded anyway).
    #[serde(skip)]
    pub crc_errors: u32,
    /// Per-flow counter (not serialised; EVE carries it in the header).
    #[serde(skip)]
    pub tx_id: u64,
    /// Direction the fragment travelled (to the TCP server).
    #[serde(skip)]
    pub to_server: bool,
    /// The paired response, for requests.
    #[serde(skip)]
    pub reply: Option<Reply>,
    /// For responses: paired with a request (its op carries it).
    #[serde(skip)]
    pub paired: bool,
}

impl Dnp3Event {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// True for responses (function 129, 130, 131).
    pub fn is_response(&self) -> bool {
        self.iin.is_some()
    }

    /// First non-zero command status in the objects (g12 / g41).
    pub fn control_status(&self) -> u8 {
        let list = &self.application.objects;
        let mut st = 0u8;
        for o in &list.objects.objects {
            if !matches!(o.header.group, 12 | 41) {
                continue;
            }
            list.for_each_field(o, |_, name, v| {
                if st == 0 && matches!(name, "status_code" | "control_status") {
                    if let Val::U(x) = v {
                        st = x as u8;
                    }
                }
            });
            if st != 0 {
                break;
            }
        }
        st
    }

    /// The operation: requests (with the paired response's status) and
    /// unsolicited or unmatched responses. Solicited responses that were
    /// paired, continuation fragments and confirms give `None`.
    pub fn op(&self) -> Option<Op> {
        let app = &self.application;
        let fc = app.function_code;
        let name = function_name(fc).unwrap_or("unknown");
        let mut op = Op::new("dnp3", name, u32::from(fc), function_class(fc));
        op.attrs.push(("src", Attr::Int(i64::from(self.src))));
        if let Some(iin) = self.iin {
            // Only a response standing alone (unsolicited, or its request
            // unseen) is an operation; continuation fragments are not.
            if self.paired || !AppControl(app.control).fir() {
                return None;
            }
            op.response_only = true;
            op.unit = Some(u32::from(self.src));
            op.attrs.push(("iin", Attr::Int(i64::from(iin.0))));
            let err = iin.0 & IIN_ERROR_MASK;
            if err != 0 {
                op.status = Some(u32::from(err));
            }
        } else {
            if fc == 0 {
                return None;
            }
            op.unit = Some(u32::from(self.dst));
            if let Some(r) = self.reply {
                op.attrs.push(("iin", Attr::Int(i64::from(r.iin))));
                let st = u32::from(r.iin & IIN_ERROR_MASK) | (u32::from(r.control_status) << 8);
                if st != 0 {
                    op.status = Some(st);
                }
                if r.control_status != 0 {
                    op.attrs
                        .push(("control_status", Attr::Int(i64::from(r.control_status))));
                }
            }
        }
        self.fill_points(&mut op);
        Some(op)
    }

    /// `object`, `address`, `quantity`, `values` from the first object
    /// header; CROB timing attrs.
    fn fill_points(&self, op: &mut Op) {
        let list = &self.application.objects;
        let Some(first) = list.objects.objects.first() else {
            return;
        };
        let h = first.header;
        op.object = Some(format!("g{}v{}", h.group, h.variation));
        let points = list.points(first);
        if let Some(p) = points.first() {
            op.address = Some(p.index);
            op.quantity = Some(h.count.max(first.num_points));
        } else if h.range_code() <= 5 {
            op.address = Some(h.start);
            op.quantity = Some(h.count);
        } else if matches!(h.range_code(), 7..=9 | 0xb) && h.count > 0 {
            op.quantity = Some(h.count);
        }
        if points.is_empty() {
            return;
        }
        let mut values = Vec::new();
        let mut first_point = true;
        let mut last_index = None;
        let is_crob = h.group == 12 && matches!(h.variation, 1 | 2);
        let mut code = 0u8;
        list.for_each_field(first, |index, name, v| {
            if last_index != Some(index) && last_index.is_some() {
                first_point = false;
            }
            last_index = Some(index);
            if is_crob {
                // Rebuild the control code octet from its bit fields.
                match (name, v) {
                    ("op_type", Val::U(x)) => code = x as u8,
                    ("qu", Val::U(x)) => code |= (x as u8) << 4,
                    ("cr", Val::U(x)) => code |= (x as u8) << 5,
                    ("tcc", Val::U(x)) => {
                        code |= (x as u8) << 6;
                        if values.len() < MAX_OP_VALUES {
                            values.push(f64::from(code));
                        }
                    }
                    ("count", Val::U(x)) if first_point => {
                        op.attrs.push(("count", Attr::Int(x as i64)));
                    }
                    ("ontime", Val::U(x)) if first_point => {
                        op.attrs.push(("on_time", Attr::Int(x as i64)));
                    }
                    ("offtime", Val::U(x)) if first_point => {
                        op.attrs.push(("off_time", Attr::Int(x as i64)));
                    }
                    _ => {}
                }
            } else if matches!(name, "value" | "state" | "point") && values.len() < MAX_OP_VALUES {
                if let Some(n) = v.number() {
                    values.push(n);
                }
            }
        });
        op.values = values;
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::{parse_objects, Limits};
    use super::*;

    fn event(kind: &'static str, fc: u8, ac: u8, objs: &[u8], iin: Option<u16>) -> Dnp3Event {
        Dnp3Event {
            kind,
            control: LinkControl(if iin.is_some() { 0x44 } else { 0xc4 }),
            src: if iin.is_some() { 10 } else { 1 },
            dst: if iin.is_some() { 1 } else { 10 },
            application: Application {
                control: ac,
                function_code: fc,
                objects: ObjectList {
                    data: objs.to_vec(),
                    objects: parse_objects(objs, &Limits::default()),
                },
                complete: true,
            },
            iin: iin.map(Iin),
            crc_errors: 0,
            tx_id: 0,
            to_server: iin.is_none(),
            reply: None,
            paired: false,
        }
    }

    #[test]
    fn request_json_matches_suricata_layout() {
        let e = event("request", 21, 0xc0, &[0x3c, 0x02, 0x06], None);
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            concat!(
                r#"{"type":"request","control":{"dir":true,"pri":true,"fcb":false,"fcv":false,"function_code":4},"#,
                r#""src":1,"dst":10,"application":{"control":{"fir":true,"fin":true,"con":false,"uns":false,"sequence":0},"#,
                r#""function_code":21,"objects":[{"group":60,"variation":2,"qualifier":6,"prefix_code":0,"range_code":6,"start":0,"stop":0,"count":0}],"#,
                r#""complete":true}}"#
            )
        );
        let op = e.op().expect("op");
        assert_eq!(
            (op.function, op.code, op.class),
            ("disable_unsolicited", 21, OpClass::ModeChange)
        );
        assert_eq!(op.unit, Some(10));
        assert_eq!(op.object.as_deref(), Some("g60v2"));
    }

    #[test]
    fn cut_object_list_and_crc_errors_not_logged() {
        // Five class 0 reads, two kept: the flag and the CRC count stay in
        // the struct, the EVE object has only the schema's keys.
        let mut d = Vec::new();
        for _ in 0..5 {
            d.extend_from_slice(&[0x3c, 0x01, 0x06]);
        }
        let mut e = event("request", 1, 0xc0, &[], None);
        e.application.objects = ObjectList {
            objects: parse_objects(
                &d,
                &Limits {
                    max_objects: 2,
                    ..Limits::default()
                },
            ),
            data: d,
        };
        e.crc_errors = 1;
        assert!(e.application.objects.objects.truncated);
        let v = serde_json::to_value(&e).expect("json");
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&v), ["application", "control", "dst", "src", "type"]);
        assert_eq!(
            keys(&v["application"]),
            ["complete", "control", "function_code", "objects"]
        );
        assert_eq!(
            v["application"]["objects"].as_array().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn response_iin_and_points() {
        // g1v2 two points from 0, flags 0x01 (online) and 0x81 (online, state).
        let e = event(
            "response",
            129,
            0xc2,
            &[1, 2, 0, 0, 1, 0x01, 0x81],
            Some(0x8000),
        );
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(
            v["iin"]["indicators"],
            serde_json::json!(["device_restart"])
        );
        let p = &v["application"]["objects"][0]["points"];
        assert_eq!(p[1]["index"], 1);
        assert_eq!(p[1]["state"], 1);
        assert_eq!(p[1]["online"], 1);
        assert!(p[1].get("size").is_none());
        let e = event("response", 129, 0xc2, &[], Some(0));
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["iin"], serde_json::json!({}));
        assert!(v["application"].get("objects").is_none());
    }

    #[test]
    fn crob_op_values() {
        let crob = [
            0x0c, 0x01, 0x28, 0x01, 0x00, 0x05, 0x00, 0x41, 0x01, 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut e = event("request", 5, 0xc3, &crob, None);
        e.reply = Some(Reply {
            iin: 0x0004,
            control_status: 4,
        });
        let op = e.op().expect("op");
        assert_eq!(op.class, OpClass::Command);
        assert_eq!(op.address, Some(5));
        assert_eq!(op.quantity, Some(1));
        assert_eq!(op.values, vec![65.0]);
        assert_eq!(op.attr("on_time"), Some(&Attr::Int(1000)));
        assert_eq!(op.status, Some(0x0404));
        let v = serde_json::to_value(&e).expect("json");
        let p = &v["application"]["objects"][0]["points"][0];
        assert_eq!(p["op_type"], 1);
        assert_eq!(p["tcc"], 1);
        assert_eq!(p["ontime"], 1000);
        assert_eq!(p["prefix"], 5);
    }

    #[test]
    fn analog_output_values() {
        // g41v2 (int16) qualifier 0x17 (1-octet index, 1-octet count).
        let ao = [
            0x29, 0x02, 0x17, 0x02, 0x03, 0x18, 0xfc, 0x00, 0x04, 0x10, 0x00, 0x00,
        ];
        let e = event("request", 3, 0xc1, &ao, None);
        let op = e.op().expect("op");
        assert_eq!(op.values, vec![-1000.0, 16.0]);
        assert_eq!(op.address, Some(3));
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["application"]["objects"][0]["points"][0]["value"], -1000);
    }

    #[test]
    fn names_and_classes() {
        assert_eq!(function_name(13), Some("cold_restart"));
        assert_eq!(function_class(13), OpClass::Restart);
        assert_eq!(function_class(18), OpClass::ModeChange);
        assert_eq!(function_class(27), OpClass::File);
        assert_eq!(function_class(32), OpClass::Security);
        assert_eq!(function_name(99), None);
        assert_eq!(base64(b"abcd"), "YWJjZA==");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(bytes_text(b"a\xffb"), "a\\xffb");
    }
}
