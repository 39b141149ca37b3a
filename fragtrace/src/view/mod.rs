//! Views and output sinks.

pub mod census;
pub mod chrome_trace;
pub mod json;
pub mod polluters;
pub mod pprof;
pub mod text;
