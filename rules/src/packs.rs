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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::RuleSet;

    /// The shipped packs are in the crate and all of them load: an empty
    /// list here once came from a build script that read a stale checkout.
    #[test]
    fn shipped_packs_are_built_in_and_load() {
        let files: Vec<&str> = BUILTIN.iter().map(|(_, f, _)| *f).collect();
        assert!(files.contains(&"modbus.yaml"), "{files:?}");
        assert!(files.contains(&"s7.yaml"), "{files:?}");
        assert_eq!(names(), vec!["ot"]);
        let mut b = RuleSet::builder();
        for (pack, file, text) in BUILTIN {
            b.add_source(&source_name(pack, file), text);
        }
        let vars = ["SCADA_HOSTS", "HMI_HOSTS", "ENGINEERING_WS", "OT_NET"]
            .iter()
            .map(|v| (v.to_string(), Vec::new()))
            .collect();
        b.vars(vars);
        let set = b.build().unwrap_or_else(|e| panic!("{e:?}"));
        assert!(set.len() >= 90, "{} rules", set.len());
    }
}
