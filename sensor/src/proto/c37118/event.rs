//! The EVE `c37118` object and its [`Op`].

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use super::parser::{Config, FT_CFG1, FT_CFG2, FT_CFG3, FT_COMMAND, FT_DATA, FT_HEADER};

/// `(name, class, expected answer frame type)` of a command word.
pub fn command_info(cmd: u16) -> (&'static str, OpClass, Option<u8>) {
    match cmd {
        1 => ("turn_off_transmission", OpClass::ModeChange, None),
        2 => ("turn_on_transmission", OpClass::ModeChange, None),
        3 => ("send_header", OpClass::Read, Some(FT_HEADER)),
        4 => ("send_cfg1", OpClass::Read, Some(FT_CFG1)),
        5 => ("send_cfg2", OpClass::Read, Some(FT_CFG2)),
        6 => ("send_cfg3", OpClass::Read, Some(FT_CFG3)),
        8 => ("extended_frame", OpClass::Command, None),
        0x8000..=0xffff => ("user_command", OpClass::Command, None),
        _ => ("reserved_command", OpClass::Other, None),
    }
}

/// Frame type names.
pub fn frame_type_name(ft: u8) -> &'static str {
    match ft {
        FT_DATA => "data",
        FT_HEADER => "header",
        FT_CFG1 => "cfg1",
        FT_CFG2 => "cfg2",
        FT_COMMAND => "command",
        FT_CFG3 => "cfg3",
        _ => "unknown",
    }
}

/// One PMU of a configuration frame.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StationEntry {
    pub station_name: String,
    pub idcode: u16,
    pub phasors: u16,
    pub analogs: u16,
    pub digitals: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominal_frequency: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cfgcnt: Option<u16>,
}

/// One C37.118 transaction (command and the frame answering it), lone
/// command, or unsolicited configuration / header frame. Data frames are
/// never logged (see [`super::C37118State::data_frames`]).
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct C37118Event {
    #[serde(skip)]
    pub tx_id: u64,
    /// `transaction`, `request` or `response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub version: u8,
    /// IDCODE of the command (or of the answering frame when alone).
    pub idcode: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_code: Option<u16>,
    /// Answer frame type: `header`, `cfg1`, `cfg2`, `cfg3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cont_idx: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_base: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_pmu: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_rate: Option<i16>,
    /// PMU blocks (first 64).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stations: Vec<StationEntry>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Header frame text (first 256 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

/// Header frame text kept at most.
pub const MAX_HEADER_TEXT: usize = 256;

impl C37118Event {
    /// Fill the answer (configuration or header frame).
    pub fn set_config(&mut self, c: &Config) {
        self.cont_idx = c.cont_idx;
        self.time_base = Some(c.time_base);
        self.num_pmu = Some(c.num_pmu);
        self.data_rate = c.data_rate;
        self.truncated = c.truncated;
        self.stations = c
            .pmus
            .iter()
            .map(|p| StationEntry {
                station_name: p.station_name.clone(),
                idcode: p.idcode,
                phasors: p.phasors,
                analogs: p.analogs,
                digitals: p.digitals,
                nominal_frequency: p.fnom,
                cfgcnt: p.cfgcnt,
            })
            .collect();
    }

    /// Header frame text.
    pub fn set_header(&mut self, text: &[u8]) {
        let s: String = text
            .iter()
            .take(MAX_HEADER_TEXT)
            .map(|&c| {
                if c.is_ascii_graphic() || c == b' ' {
                    c as char
                } else {
                    '.'
                }
            })
            .collect();
        self.truncated |= text.len() > MAX_HEADER_TEXT;
        self.header = Some(s);
    }

    /// Per-flow transaction number.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// The protocol-neutral operation.
    pub fn op(&self) -> Option<Op> {
        let mut op = match (self.command, self.command_code) {
            (Some(_), Some(code)) => {
                let (name, class, _) = command_info(code);
                Op::new("c37118", name, u32::from(code), class)
            }
            _ => {
                let ft = self.frame_type?;
                let code = match ft {
                    "header" => FT_HEADER,
                    "cfg1" => FT_CFG1,
                    "cfg2" => FT_CFG2,
                    _ => FT_CFG3,
                };
                let mut op = Op::new("c37118", ft, u32::from(code), OpClass::Report);
                op.response_only = true;
                op
            }
        };
        op.unit = Some(u32::from(self.idcode));
        if let Some(ft) = self.frame_type {
            op.attrs.push(("frame_type", Attr::Str(ft.to_string())));
        }
        if let Some(n) = self.num_pmu {
            op.attrs.push(("num_pmu", Attr::Int(i64::from(n))));
            op.quantity = Some(u32::from(n));
        }
        if let Some(r) = self.data_rate {
            op.attrs.push(("data_rate", Attr::Int(i64::from(r))));
        }
        if let Some(s) = self.stations.first() {
            if !s.station_name.is_empty() {
                op.attrs
                    .push(("id_name", Attr::Str(s.station_name.clone())));
                op.object = Some(s.station_name.clone());
            }
        }
        Some(op)
    }
}
