//! `capture --otlp-endpoint`: each bundle as one log record the moment it is written (not at
//! exit: `--count 3 --timeout 1d` may run for a day). A pass-through [`Sink`] around the
//! [`CaptureSink`] that notices a new bundle after every call and offers its record.

use crate::{
    capture::CaptureSink,
    definitions::Definitions,
    event::{Counters, Event},
    gfp::GfpTable,
    host::zones::ZoneSnapshot,
    identity::Workload,
    probe_status::AllocProbeState,
    sink::{Sink, SinkError},
};

use super::{Offer, capture_record};

pub struct BundleSink<'a> {
    capture: &'a mut CaptureSink,
    offer: Offer,
    gfp: GfpTable,
    /// Bundles already offered.
    offered: usize,
}

impl<'a> BundleSink<'a> {
    pub fn new(capture: &'a mut CaptureSink, offer: Offer, gfp: GfpTable) -> Self {
        Self { capture, offer, gfp, offered: 0 }
    }

    /// Offers the records of bundles written since the last call; passes `result` on.
    fn after(&mut self, result: Result<(), SinkError>) -> Result<(), SinkError> {
        while let Some(bundle) = self.capture.captured.get(self.offered) {
            match capture_record(bundle, &self.gfp) {
                Ok(record) => {
                    self.offer.offer(record);
                }
                Err(e) => log::warn!("OTLP: cannot read the bundle {}: {e}", bundle.display()),
            }
            self.offered += 1;
        }
        result
    }
}

impl Sink for BundleSink<'_> {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.capture.use_definitions(definitions);
    }
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.capture.stack(id, frames)
    }
    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.capture.cgroup(id, path)
    }
    fn workload(&mut self, cgroup_id: u64, workload: &Workload) -> Result<(), SinkError> {
        self.capture.workload(cgroup_id, workload)
    }
    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        let result = self.capture.event(event);
        self.after(result)
    }
    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        let result = self.capture.zones(snapshot);
        self.after(result)
    }
    fn alloc_probe(&mut self, state: &AllocProbeState) -> Result<(), SinkError> {
        self.capture.alloc_probe(state)
    }
    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        let result = self.capture.tick(ts_ns, counters);
        self.after(result)
    }
    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        let result = self.capture.finish(counters);
        self.after(result)
    }
}
