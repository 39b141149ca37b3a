//! TEMPORARY stub; replaced by the full implementation from the helper-cgroup branch.
use crate::event::Event;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub comms: Vec<String>,
    pub pids: Vec<u32>,
    pub min_order: Option<u32>,
    pub cgroups: Vec<String>,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        self.comms.is_empty() && self.pids.is_empty() && self.min_order.is_none() && self.cgroups.is_empty()
    }
    pub fn needs_cgroup_path(&self) -> bool {
        !self.cgroups.is_empty()
    }
    pub fn matches(&self, _event: &Event, _cgroup_path: Option<&str>) -> bool {
        true
    }
    pub fn describe(&self) -> String {
        String::new()
    }
}
