//! The sensor: capture → decode → flows → reassembly → app-layer parsers →
//! detection → EVE JSON, with Prometheus metrics. See DESIGN.md in the
//! repository for the architecture.

pub mod assets;
pub mod capture;
pub mod config;
pub mod decode;
pub mod detect;
pub mod flow;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod privs;
pub mod proto;
pub mod stream;
#[cfg(test)]
mod test_util;
