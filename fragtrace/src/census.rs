//! The pageblock census: how many pageblocks of each migratetype every zone has
//! (`/proc/pagetypeinfo`, "Number of blocks type"), the first sample and the latest, and how
//! fast the unmovable and reclaimable ones grow.
//!
//! Why it matters: a pageblock the kernel has handed to unmovable or reclaimable allocations
//! (an extfrag fallback that stole it) rarely turns movable again, and compaction cannot move
//! what sits in it. A steady rise of those blocks is fragmentation that compaction will not
//! undo; its rate says how soon high orders run out.
//!
//! Migratetype names are the kernel's own, as its header prints them (`Unmovable`,
//! `Reclaimable`, `Movable`, `HighAtomic` or `Reserve`, `CMA`, `Isolate`).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Value, json};

use crate::host::procfs::{PageblockCounts, parse_pagetypeinfo};

/// The migratetypes whose growth is bad news: blocks compaction cannot empty.
pub const PINNED_TYPES: [&str; 2] = ["Unmovable", "Reclaimable"];

/// Pageblocks per migratetype in one zone at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CensusSample {
    /// CLOCK_MONOTONIC nanoseconds of the zone snapshot it came from.
    pub ts_ns: u64,
    /// Migratetype → pageblocks, in the kernel's header order.
    pub counts: Vec<(String, u64)>,
}

impl CensusSample {
    pub fn count(&self, migratetype: &str) -> Option<u64> {
        self.counts.iter().find(|(t, _)| t == migratetype).map(|(_, n)| *n)
    }

    /// Unmovable + reclaimable pageblocks (the types the kernel has, of [`PINNED_TYPES`]).
    pub fn pinned(&self) -> u64 {
        PINNED_TYPES.iter().filter_map(|t| self.count(t)).sum()
    }
}

impl Serialize for CensusSample {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.counts.len()))?;
        for (t, n) in &self.counts {
            map.serialize_entry(t, n)?;
        }
        map.end()
    }
}

/// One zone's census: its first sample and its latest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZoneCensus {
    pub node: u32,
    pub zone: String,
    pub first: CensusSample,
    pub last: CensusSample,
}

impl ZoneCensus {
    /// Seconds between the first sample and the latest.
    pub fn window_s(&self) -> f64 {
        self.last.ts_ns.saturating_sub(self.first.ts_ns) as f64 / 1e9
    }

    /// Latest minus first pageblocks of a migratetype (0 when the kernel has no such type).
    pub fn growth(&self, migratetype: &str) -> i64 {
        self.last.count(migratetype).unwrap_or(0) as i64 - self.first.count(migratetype).unwrap_or(0) as i64
    }

    /// Growth of unmovable + reclaimable pageblocks since the first sample.
    pub fn pinned_growth(&self) -> i64 {
        self.last.pinned() as i64 - self.first.pinned() as i64
    }

    /// `growth` per hour over the window; `None` before two samples at different times.
    pub fn per_hour(&self, growth: i64) -> Option<f64> {
        let window = self.window_s();
        (window > 0.0).then(|| growth as f64 * 3600.0 / window)
    }

    /// The `report --json` / `doctor --json` shape (docs/json.md, "pageblocks").
    pub fn to_json(&self) -> Value {
        let growth: BTreeMap<&str, i64> = self.last.counts.iter().map(|(t, _)| (t.as_str(), self.growth(t))).collect();
        let per_hour: Option<BTreeMap<&str, f64>> =
            (self.window_s() > 0.0).then(|| growth.iter().map(|(t, g)| (*t, round2(self.per_hour(*g).unwrap_or(0.0)))).collect());
        json!({
            "node": self.node,
            "zone": self.zone,
            "first": {"ts_ns": self.first.ts_ns, "blocks": self.first},
            "last": {"ts_ns": self.last.ts_ns, "blocks": self.last},
            "window_s": round2(self.window_s()),
            "growth": growth,
            "growth_per_hour": per_hour,
            "unmovable_reclaimable": {
                "first": self.first.pinned(),
                "last": self.last.pinned(),
                "growth": self.pinned_growth(),
                "growth_per_hour": self.per_hour(self.pinned_growth()).map(round2),
            },
        })
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Every zone's census, in the order the kernel lists the zones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageblockCensus {
    pub zones: Vec<ZoneCensus>,
}

impl PageblockCensus {
    /// Takes the "Number of blocks type" table of a `/proc/pagetypeinfo` text; a snapshot
    /// without one (unreadable file, older recording) changes nothing.
    pub fn observe_text(&mut self, ts_ns: u64, pagetypeinfo: Option<&str>) {
        if let Some(text) = pagetypeinfo {
            self.observe(ts_ns, &parse_pagetypeinfo(text).pageblocks);
        }
    }

    /// Adds one sample per zone: a zone seen for the first time keeps it as its first.
    pub fn observe(&mut self, ts_ns: u64, rows: &[PageblockCounts]) {
        for row in rows {
            let sample = CensusSample { ts_ns, counts: row.counts.clone() };
            match self.zones.iter_mut().find(|z| z.node == row.node && z.zone == row.zone) {
                Some(z) => z.last = sample,
                None => self.zones.push(ZoneCensus { node: row.node, zone: row.zone.clone(), first: sample.clone(), last: sample }),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    pub fn to_json(&self) -> Value {
        Value::Array(self.zones.iter().map(ZoneCensus::to_json).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_NS: u64 = 3_600_000_000_000;

    fn text(normal: [u64; 5]) -> String {
        format!(
            "Page block order: 9\nPages per block:  512\n\n\
             Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n\
             Node 0, zone      DMA            1            7            0            0            0 \n\
             Node 0, zone   Normal {:>12} {:>12} {:>12} {:>12} {:>12} \n",
            normal[0], normal[1], normal[2], normal[3], normal[4]
        )
    }

    #[test]
    fn keeps_the_first_sample_and_the_latest_and_rates_the_growth() {
        let mut c = PageblockCensus::default();
        c.observe_text(HOUR_NS, Some(&text([207, 7476, 317, 0, 0])));
        c.observe_text(HOUR_NS + HOUR_NS / 2, Some(&text([209, 7470, 320, 1, 0])));
        c.observe_text(3 * HOUR_NS, Some(&text([217, 7461, 322, 0, 0])));
        assert_eq!(c.zones.len(), 2);
        let n = &c.zones[1];
        assert_eq!((n.node, n.zone.as_str()), (0, "Normal"));
        assert_eq!(n.first.count("Unmovable"), Some(207));
        assert_eq!(n.last.count("Unmovable"), Some(217));
        assert_eq!(n.growth("Unmovable"), 10);
        assert_eq!(n.growth("Movable"), -15);
        assert_eq!(n.growth("Reserve"), 0, "a type this kernel does not have");
        assert_eq!(n.pinned_growth(), 15);
        assert_eq!(n.window_s(), 7200.0);
        assert_eq!(n.per_hour(n.pinned_growth()), Some(7.5));
        let dma = &c.zones[0];
        assert_eq!((dma.pinned_growth(), dma.per_hour(0)), (0, Some(0.0)));
    }

    #[test]
    fn one_sample_has_no_rate_and_missing_tables_change_nothing() {
        let mut c = PageblockCensus::default();
        c.observe_text(5, None);
        c.observe_text(6, Some("Page block order: 9\n"));
        assert!(c.is_empty());
        c.observe_text(7, Some(&text([1, 2, 3, 0, 0])));
        assert_eq!(c.zones[1].per_hour(0), None);
        assert_eq!(c.zones[1].to_json()["growth_per_hour"], Value::Null);
    }

    #[test]
    fn json_names_each_migratetype() {
        let mut c = PageblockCensus::default();
        c.observe_text(0, Some(&text([200, 7476, 300, 0, 0])));
        c.observe_text(HOUR_NS / 2, Some(&text([203, 7470, 301, 2, 0])));
        let v = c.to_json();
        assert_eq!(
            v[1],
            json!({
                "node": 0, "zone": "Normal",
                "first": {"ts_ns": 0, "blocks": {"Unmovable": 200, "Movable": 7476, "Reclaimable": 300, "HighAtomic": 0, "Isolate": 0}},
                "last": {"ts_ns": HOUR_NS / 2, "blocks": {"Unmovable": 203, "Movable": 7470, "Reclaimable": 301, "HighAtomic": 2, "Isolate": 0}},
                "window_s": 1800.0,
                "growth": {"Unmovable": 3, "Movable": -6, "Reclaimable": 1, "HighAtomic": 2, "Isolate": 0},
                "growth_per_hour": {"Unmovable": 6.0, "Movable": -12.0, "Reclaimable": 2.0, "HighAtomic": 4.0, "Isolate": 0.0},
                "unmovable_reclaimable": {"first": 500, "last": 504, "growth": 4, "growth_per_hour": 8.0},
            })
        );
    }

    #[test]
    fn older_kernels_with_reserve_count_the_same_types() {
        let text = "Number of blocks type     Unmovable  Reclaimable      Movable      Reserve          CMA      Isolate \n\
                    Node 0, zone   Normal          611          233         5810            2            0            0 \n";
        let mut c = PageblockCensus::default();
        c.observe_text(1, Some(text));
        assert_eq!(c.zones[0].last.pinned(), 611 + 233);
        assert_eq!(c.zones[0].last.count("Reserve"), Some(2));
    }

    #[test]
    fn the_live_6_18_file_and_a_4_x_cma_kernel_by_header_name() {
        let mut c = PageblockCensus::default();
        c.observe_text(1, Some(include_str!("../testdata/procfs/pagetypeinfo-6.18-live-2.txt")));
        let zones: Vec<(&str, u64, Option<u64>)> = c.zones.iter().map(|z| (z.zone.as_str(), z.last.pinned(), z.last.count("Movable"))).collect();
        assert_eq!(zones, vec![("DMA", 1, Some(7)), ("DMA32", 0, Some(1528)), ("Normal", 205 + 317, Some(7478))]);
        // 4.4–4.19 with CONFIG_CMA: a CMA column between HighAtomic and Isolate.
        let cma = "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n\
                   Node 0, zone   Normal          120         3800           64            1           16            0 \n";
        c.observe_text(2, Some(cma));
        let n = &c.zones[2];
        assert_eq!((n.last.count("CMA"), n.last.pinned(), n.pinned_growth()), (Some(16), 184, 184 - 522));
    }
}
