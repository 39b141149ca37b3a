//! Periodic zone state: `/proc/buddyinfo` (world-readable) and `/proc/pagetypeinfo` (root
//! only since 5.4), kept as the kernel's text so a recording stays readable by future
//! parsers, and parsed on demand.

use serde::{Deserialize, Serialize};

use crate::host::buddyinfo::{self, ZoneFree};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSnapshot {
    /// CLOCK_MONOTONIC nanoseconds when it was read.
    pub ts_ns: u64,
    /// `/proc/buddyinfo` verbatim.
    pub buddyinfo: String,
    /// `/proc/pagetypeinfo` verbatim, when readable (root).
    pub pagetypeinfo: Option<String>,
}

impl ZoneSnapshot {
    /// Reads both files now. `pagetypeinfo` is silently absent when not readable: it is
    /// optional evidence, and mode 0400 since Linux 5.4.
    pub fn read(ts_ns: u64) -> std::io::Result<Self> {
        Ok(Self {
            ts_ns,
            buddyinfo: std::fs::read_to_string("/proc/buddyinfo")?,
            pagetypeinfo: std::fs::read_to_string("/proc/pagetypeinfo").ok(),
        })
    }

    /// Free blocks per order for every zone.
    pub fn zones(&self) -> Vec<ZoneFree> {
        buddyinfo::parse(&self.buddyinfo)
    }
}
