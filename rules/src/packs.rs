//! The rule packs shipped inside the binary (`rules/packs/<pack>/*.yaml`,
//! embedded at build time). They are loaded by default; an operator turns a
//! pack off in the configuration.

include!(concat!(env!("OUT_DIR"), "/packs.rs"));

/// Names of the shipped packs, sorted, without repeats.
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<&str> = BUILTIN.iter().map(|(p, _, _)| *p).collect();
    v.dedup();
    v
}

/// The source name a shipped file is loaded under (`pack:ot/modbus.yaml`),
/// as rule errors and alerts show it.
pub fn source_name(pack: &str, file: &str) -> String {
    format!("pack:{pack}/{file}")
}
