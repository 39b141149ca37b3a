//! Rates over the last refresh: the difference between two snapshots divided by the time
//! between them. Pure, so it is tested with hand-made snapshots.

use std::collections::HashMap;

use crate::aggregate::Snapshot;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rates {
    pub allocs_per_s: f64,
    pub failures_per_s: f64,
    pub extfrag_per_s: f64,
    /// Per (comm, order, gfp_mask) group.
    pub groups: HashMap<(String, u32, u64), f64>,
    pub cgroups: HashMap<u64, f64>,
    pub stacks: HashMap<u32, f64>,
    /// Per (alloc, fallback) migratetype pair.
    pub extfrag: HashMap<(i32, i32), f64>,
}

fn per_s(now: u64, before: Option<u64>, dt: f64) -> f64 {
    now.saturating_sub(before.unwrap_or(0)) as f64 / dt
}

impl Rates {
    /// Rates between `prev` and `next`, `dt_s` seconds apart. Without a previous snapshot
    /// there is no interval: every rate is zero (shown as "-"). After a reset (counts went
    /// down) the counts restart from zero.
    pub fn between(prev: Option<&Snapshot>, next: &Snapshot, dt_s: f64) -> Self {
        if prev.is_none() {
            return Self::default();
        }
        let dt = dt_s.max(1e-3);
        // Kernel counters never reset; the aggregate's do (`r`).
        let allocs_before = prev.map(|p| p.counters.allocs_seen);
        let prev = prev.filter(|p| p.failures <= next.failures && p.extfrag <= next.extfrag);
        let groups_before: HashMap<(&str, u32, u64), u64> =
            prev.map(|p| p.groups.iter().map(|g| ((g.comm.as_str(), g.order, g.gfp_mask), g.count)).collect()).unwrap_or_default();
        let cgroups_before: HashMap<u64, u64> = prev.map(|p| p.by_cgroup.iter().map(|c| (c.cgroup_id, c.count)).collect()).unwrap_or_default();
        let stacks_before: HashMap<u32, u64> = prev.map(|p| p.by_stack.iter().map(|s| (s.stack_id, s.count)).collect()).unwrap_or_default();
        let extfrag_before: HashMap<(i32, i32), u64> = prev
            .map(|p| p.extfrag_groups.iter().map(|g| ((g.alloc_migratetype, g.fallback_migratetype), g.count)).collect())
            .unwrap_or_default();
        Self {
            allocs_per_s: per_s(next.counters.allocs_seen, allocs_before, dt),
            failures_per_s: per_s(next.failures, prev.map(|p| p.failures), dt),
            extfrag_per_s: per_s(next.extfrag, prev.map(|p| p.extfrag), dt),
            groups: next
                .groups
                .iter()
                .map(|g| {
                    let before = groups_before.get(&(g.comm.as_str(), g.order, g.gfp_mask)).copied();
                    ((g.comm.clone(), g.order, g.gfp_mask), per_s(g.count, before, dt))
                })
                .collect(),
            cgroups: next.by_cgroup.iter().map(|c| (c.cgroup_id, per_s(c.count, cgroups_before.get(&c.cgroup_id).copied(), dt))).collect(),
            stacks: next.by_stack.iter().map(|s| (s.stack_id, per_s(s.count, stacks_before.get(&s.stack_id).copied(), dt))).collect(),
            extfrag: next
                .extfrag_groups
                .iter()
                .map(|g| {
                    let key = (g.alloc_migratetype, g.fallback_migratetype);
                    (key, per_s(g.count, extfrag_before.get(&key).copied(), dt))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{ExtfragGroup, FailureGroup};

    fn snap(count: u64, extfrag: u64, allocs: u64) -> Snapshot {
        let mut s = Snapshot { failures: count, extfrag, ..Default::default() };
        s.counters.allocs_seen = allocs;
        s.groups.push(FailureGroup { comm: "a".into(), order: 4, gfp_mask: 1, count, last_seen_ns: 1, top_stack: None, stacks: vec![] });
        s.extfrag_groups.push(ExtfragGroup { alloc_migratetype: 0, fallback_migratetype: 1, count: extfrag, fragmenting: 0, severe: 0 });
        s
    }

    #[test]
    fn rates_are_differences_over_time() {
        let r = Rates::between(Some(&snap(10, 100, 1000)), &snap(30, 300, 5000), 2.0);
        assert_eq!(r.failures_per_s, 10.0);
        assert_eq!(r.extfrag_per_s, 100.0);
        assert_eq!(r.allocs_per_s, 2000.0);
        assert_eq!(r.groups[&("a".to_string(), 4, 1)], 10.0);
        assert_eq!(r.extfrag[&(0, 1)], 100.0);
    }

    #[test]
    fn a_reset_or_first_snapshot_counts_from_zero() {
        let r = Rates::between(Some(&snap(50, 0, 0)), &snap(4, 0, 0), 2.0);
        assert_eq!(r.failures_per_s, 2.0, "after a reset the counts restart from zero");
        assert_eq!(Rates::between(None, &snap(4, 0, 0), 1.0), Rates::default(), "no interval yet: no rates");
        let r = Rates::between(Some(&snap(50, 0, 1000)), &snap(4, 0, 3000), 2.0);
        assert_eq!(r.allocs_per_s, 1000.0, "kernel counters are not reset with the view");
    }
}
