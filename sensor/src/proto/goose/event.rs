//! The EVE `goose` object and its [`Op`].

use rules::ot::{Attr, Op, OpClass};
use serde::Serialize;

use crate::proto::mms::parser::{flatten_numbers, DataValue};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

/// Most values copied into [`Op::values`].
const MAX_OP_VALUES: usize = 64;

/// One GOOSE publication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GooseEvent {
    /// Not logged: GOOSE is not a flow; the caller may number frames.
    #[serde(skip)]
    pub tx_id: u64,
    pub appid: u16,
    /// Reserved 1 bit 15 (Ed.2 Simulation / S bit).
    pub simulation: bool,
    /// Other Reserved 1 bits, when set.
    #[serde(skip_serializing_if = "is_zero")]
    pub reserved1: u16,
    /// Reserved 2, when set.
    #[serde(skip_serializing_if = "is_zero")]
    pub reserved2: u16,
    pub gocb_ref: String,
    /// Milliseconds.
    pub time_allowed_to_live: u32,
    pub dat_set: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_id: Option<String>,
    /// Time of the last state change, ISO 8601 UTC with nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    /// UtcTime quality octet (leap second known, clock failure, not
    /// synchronised, accuracy bits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_quality: Option<u8>,
    pub st_num: u32,
    pub sq_num: u32,
    /// goosePdu element [7] (Ed.1 `test`, Ed.2 `simulation`).
    pub test: bool,
    pub conf_rev: u32,
    pub nds_com: bool,
    pub num_dat_set_entries: u32,
    /// Decoded allData (at most 64 top-level entries).
    pub all_data: Vec<DataValue>,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// A security [12] element is present.
    #[serde(skip_serializing_if = "is_false")]
    pub security: bool,
    /// FNV-1a of the allData contents octets (change detection).
    #[serde(skip)]
    pub data_hash: u64,
}

impl GooseEvent {
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    /// proto `goose`, function `publish`, class Report, response-only;
    /// unit = APPID, object = gocbRef, values = allData booleans (0/1) and
    /// numbers flattened; attrs `st_num`, `sq_num`, `ttl`, `test`,
    /// `simulation`, `dat_set`, `go_id`, `conf_rev`, `nds_com`.
    pub fn op(&self) -> Option<Op> {
        let mut op = Op::new("goose", "publish", 0, OpClass::Report);
        op.response_only = true;
        op.unit = Some(u32::from(self.appid));
        op.object = Some(self.gocb_ref.clone());
        op.quantity = Some(self.num_dat_set_entries);
        for d in &self.all_data {
            flatten_numbers(d, &mut op.values, MAX_OP_VALUES);
        }
        op.attrs.push(("st_num", Attr::Int(i64::from(self.st_num))));
        op.attrs.push(("sq_num", Attr::Int(i64::from(self.sq_num))));
        op.attrs
            .push(("ttl", Attr::Int(i64::from(self.time_allowed_to_live))));
        op.attrs.push(("test", Attr::Bool(self.test)));
        op.attrs.push(("simulation", Attr::Bool(self.simulation)));
        op.attrs.push(("dat_set", Attr::Str(self.dat_set.clone())));
        if let Some(g) = &self.go_id {
            op.attrs.push(("go_id", Attr::Str(g.clone())));
        }
        op.attrs
            .push(("conf_rev", Attr::Int(i64::from(self.conf_rev))));
        op.attrs.push(("nds_com", Attr::Bool(self.nds_com)));
        Some(op)
    }
}
