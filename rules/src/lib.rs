//! Detection engine of the sensor.
//!
//! * [`ioc`] — indicator-of-compromise sets: loading plain lists (maltrail
//!   style) and CSV/TSV feeds, normalising indicators, and answering the hot
//!   path questions "is this IP / domain / URL / SNI / JA3 / JA4 /
//!   certificate listed?" with hash and trie lookups.
//! * [`ot`] — the protocol-neutral record of one OT operation that
//!   behaviour rules, the baseline and the asset inventory consume.
#![warn(missing_docs)]

pub mod ioc;
pub mod ot;
