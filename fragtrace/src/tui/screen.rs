//! One frame's worth of facts, immutable while it is drawn.

use std::sync::Arc;

use crate::{aggregate::Snapshot, definitions::Definitions, gfp::GfpTable};

use super::{rates::Rates, state::UiState};

/// Facts for the header line.
#[derive(Clone, Debug, Default)]
pub struct HeaderFacts {
    pub host: String,
    pub kernel: String,
    pub probe_mode: String,
    /// Seconds since the trace started (recorded time in a replay).
    pub elapsed_s: f64,
    pub interval_s: f64,
    /// Active filters (`EventFilter::describe`), "" for none.
    pub filters: String,
    /// `Some("incident.ftr ×10")` in a replay.
    pub replay: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Screen {
    pub header: HeaderFacts,
    pub snapshot: Arc<Snapshot>,
    pub rates: Rates,
    /// Symbolized stacks by id, innermost frame first.
    pub stacks: Definitions,
    pub gfp: Arc<GfpTable>,
    /// The clock events are stamped with (CLOCK_MONOTONIC, or recorded time in a replay).
    pub now_ns: u64,
    pub pageblock_order: u32,
    /// Bytes per page (buddyinfo counts pages).
    pub page_size: u64,
    /// Live: which stall/OOM probes are attached (`reclaim`, `memcg-reclaim`, `compaction`,
    /// `oom`); `None` in a replay (the recording says what it has).
    pub collected: Option<Vec<String>>,
    pub ui: UiState,
}

impl Screen {
    /// The caller frame of a stack (skipping allocator internals), for one-line displays.
    pub fn caller(&self, id: u32) -> Option<String> {
        self.stacks.stack(id).and_then(|f| crate::host::kallsyms::caller_frame(&f).map(str::to_string))
    }

    /// "3s", "2m", "1h" since `ts_ns`, or "-" for never.
    pub fn ago(&self, ts_ns: u64) -> String {
        if ts_ns == 0 {
            return "-".into();
        }
        let s = self.now_ns.saturating_sub(ts_ns) / 1_000_000_000;
        match s {
            0..=99 => format!("{s}s"),
            100..=5999 => format!("{}m", s / 60),
            _ => format!("{}h", s / 3600),
        }
    }

    /// The order the zones pane computes indices for: chosen with `o`, else the highest order
    /// that failed in the last minute, else 3 (a common costly order: 32 KiB).
    pub fn zone_order(&self) -> u32 {
        if let Some(o) = self.ui.zone_order {
            return o;
        }
        let recent = self.now_ns.saturating_sub(60_000_000_000);
        self.snapshot.groups.iter().filter(|g| g.last_seen_ns >= recent && g.last_seen_ns > 0).map(|g| g.order).max().unwrap_or(3).min(10)
    }
}
