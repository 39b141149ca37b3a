//! Views and output sinks.

pub mod json;
pub mod text;
