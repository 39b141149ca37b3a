//! `fragtrace_pageblocks{node,zone,migratetype}`: the pageblock census as a gauge, from each
//! zone snapshot's `/proc/pagetypeinfo` (absent without root or CAP_DAC_READ_SEARCH).
//! Migratetypes are the kernel's few names, so the series stay bounded.

use prometheus_client::{encoding::EncodeLabelSet, metrics::{family::Family, gauge::Gauge}, registry::Registry};

use crate::host::procfs::parse_pagetypeinfo;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PageblockLabels {
    node: u32,
    zone: String,
    migratetype: String,
}

pub type PageblockGauges = Family<PageblockLabels, Gauge>;

pub fn register(registry: &mut Registry) -> PageblockGauges {
    let gauges = PageblockGauges::default();
    registry.register(
        "pageblocks",
        "Pageblocks per node, zone and migratetype (/proc/pagetypeinfo \"Number of blocks type\"); a rise of unmovable and reclaimable ones is fragmentation compaction cannot undo",
        gauges.clone(),
    );
    gauges
}

/// Sets the gauges from a snapshot's pagetypeinfo text; without one they keep their values.
pub fn update(gauges: &PageblockGauges, pagetypeinfo: Option<&str>) {
    let Some(text) = pagetypeinfo else { return };
    for row in parse_pagetypeinfo(text).pageblocks {
        for (migratetype, count) in row.counts {
            let labels = PageblockLabels { node: row.node, zone: row.zone.clone(), migratetype };
            gauges.get_or_create(&labels).set(count.min(i64::MAX as u64) as i64);
        }
    }
}
