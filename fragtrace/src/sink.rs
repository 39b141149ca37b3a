//! The sink stage: everything downstream of decode (aggregator, recorder, JSON printer, trace
//! exporter) is a `Sink` of the same stream, live or replayed from a file.
//!
//! Order guarantees, live and replayed alike: `use_definitions` comes first; `stack` and
//! `cgroup` definitions are in the table and announced before the first event that refers
//! to them; events, `zones` and `tick` arrive in the order they
//! were observed; `finish` comes once, last.

use thiserror::Error;

use crate::{
    definitions::Definitions,
    event::{Counters, Event},
    host::zones::ZoneSnapshot,
    identity::Workload,
    probe_status::AllocProbeState,
};

#[derive(Debug, Error)]
pub enum SinkError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The sink has seen enough (e.g. `top --count`); the driver stops cleanly.
    #[error("stopped")]
    Stopped,
}

/// Ids in events (stack ids, cgroup ids) are looked up in the stream's [`Definitions`],
/// handed to every sink by [`Sink::use_definitions`] before anything else. The `stack`,
/// `cgroup` and `workload` callbacks announce each definition once, when it enters the
/// table: they are for sinks that persist definitions (the recorder writes them into the
/// file); a sink that only looks ids up reads the shared table instead of copying them.
pub trait Sink {
    /// The table the stream's ids are defined in, shared by every sink of the stream;
    /// given once, before any other call.
    fn use_definitions(&mut self, _definitions: &Definitions) {}
    /// Announces a stack entering the table (seen for the first time, symbolized, innermost
    /// frame first). For sinks that persist definitions; others look it up.
    fn stack(&mut self, _id: u32, _frames: &[String]) -> Result<(), SinkError> {
        Ok(())
    }
    /// Announces a cgroup entering the table (for sinks that persist definitions), with its
    /// path in the cgroup v2 hierarchy (`/` for the root; `None` when it could not be
    /// resolved, e.g. the cgroup is gone).
    fn cgroup(&mut self, _id: u64, _path: Option<&str>) -> Result<(), SinkError> {
        Ok(())
    }
    /// Announces who a cgroup belongs to (container, pod), right after its `cgroup`
    /// announcement, for cgroups of containers only (for sinks that persist definitions).
    fn workload(&mut self, _cgroup_id: u64, _workload: &Workload) -> Result<(), SinkError> {
        Ok(())
    }
    fn event(&mut self, event: &Event) -> Result<(), SinkError>;
    /// A periodic snapshot of the zones' free lists.
    fn zones(&mut self, _snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        Ok(())
    }
    /// The per-allocation probe was attached or detached (`--alloc-probe`); also sent once at
    /// the start of a live session.
    fn alloc_probe(&mut self, _state: &AllocProbeState) -> Result<(), SinkError> {
        Ok(())
    }
    /// Periodic: kernel counters as of `ts_ns` (CLOCK_MONOTONIC).
    fn tick(&mut self, _ts_ns: u64, _counters: &Counters) -> Result<(), SinkError> {
        Ok(())
    }
    /// End of stream with the final counters.
    fn finish(&mut self, _counters: &Counters) -> Result<(), SinkError> {
        Ok(())
    }
}
