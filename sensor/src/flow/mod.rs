//! Flows: normalised keys, the symmetric hash that picks a worker,
//! Community ID, and the per-worker flow table.

mod key;
mod table;

pub use key::{community_id, proto_name, FlowKey};
pub use table::{EndReason, FlowTable, Lookup, Slot};
