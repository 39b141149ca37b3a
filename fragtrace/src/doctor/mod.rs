//! `fragtrace doctor`: a verdict a person can act on, from the zones' free lists, the
//! kernel's compaction and reclaim counters, the failures seen while sampling, and the
//! tunables: which orders are effectively unavailable, whether that is fragmentation or lack
//! of memory, whether compaction keeps up, and what to do, cheapest first, with the exact
//! commands computed from this machine's numbers.

pub mod causes;
pub mod census;
pub mod diagnose;
pub mod polluters;
pub mod render;
pub mod settings;

pub use diagnose::{Diagnosis, DoctorInput, Pressure, ZoneReport, diagnose};
pub use settings::Sysctls;
