//! Detection engine of the sensor.
//!
//! * [`ioc`] — indicator-of-compromise sets: loading plain lists (maltrail
//!   style) and CSV/TSV feeds, normalising indicators, and answering the hot
//!   path questions "is this IP / domain / URL / SNI / JA3 / JA4 /
//!   certificate listed?" with hash and trie lookups.
//! * [`behaviour`] — the YAML behaviour-rule language (see `BEHAVIOUR.md`)
//!   and its engine: matches, thresholds, distinct counts, sequences.
//! * [`baseline`] — the learned baseline of who talks to whom with which
//!   protocol and function, and alerts on what is new.
//! * [`packs`] — the shipped rule packs, embedded at build time.
//! * [`ot`] — the protocol-neutral record of one OT operation that
//!   behaviour rules, the baseline and the asset inventory consume.
#![warn(missing_docs)]

pub mod baseline;
pub mod behaviour;
pub mod ioc;
pub mod ot;
pub mod packs;
