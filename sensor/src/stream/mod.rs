//! TCP stream reassembly.

pub mod reassembly;
