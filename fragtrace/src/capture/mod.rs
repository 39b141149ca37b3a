//! Incident capture (`fragtrace capture`): a flight recorder keeps the last seconds of
//! events in memory; when a matching failure happens, the evidence is written to a bundle
//! directory: the recording around the failure, the failing events, the system state at
//! that moment, and a SUMMARY.md a person can act on.

pub mod bundle;
pub mod flight;
mod known_cause;
pub mod memcg;
pub mod polluters;
pub mod sink;
pub mod summary;

pub use sink::{CaptureOptions, CaptureSink, identity_lines};
