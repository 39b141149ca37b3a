//! `/proc/vmstat`: `name value` counters, and the ones that explain stalls and
//! fragmentation as rates between two samples.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every `name value` line whose value is a `u64` (the kernel prints them all with `%lu`);
/// anything else is skipped.
pub fn parse_vmstat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (name, value, None) = (words.next()?, words.next()?, words.next()) else { return None };
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Counters taken as they are, on the kernels that have them: compaction (`compact_*` since
/// 2.6.35, `compact_daemon_*` since 4.6/4.13), migration (`pgmigrate_*` since 3.8), THP
/// (`thp_*` since 2.6.38).
const DIRECT: &[&str] = &[
    "compact_stall",
    "compact_fail",
    "compact_success",
    "compact_migrate_scanned",
    "compact_free_scanned",
    "compact_isolated",
    "compact_daemon_wake",
    "compact_daemon_migrate_scanned",
    "compact_daemon_free_scanned",
    "pgmigrate_success",
    "pgmigrate_fail",
    "thp_fault_alloc",
    "thp_fault_fallback",
    "thp_collapse_alloc",
    "thp_collapse_alloc_failed",
    "pgscan_direct_throttle",
];

/// Counters that were one per zone on older kernels and one in all on newer ones, summed
/// under the newer name so both eras give the same key:
/// - `allocstall` (one counter until 4.9) and `allocstall_<zone>` (4.10+);
/// - `pgscan_*`/`pgsteal_*` were `…_<zone>` until 4.7 and per node since 4.8.
///
/// Only zone suffixes are summed: `pgscan_direct_throttle` is a different counter.
const SUMMED: &[&str] = &["allocstall", "pgscan_direct", "pgsteal_direct", "pgscan_kswapd", "pgsteal_kswapd"];

/// The `TEXTS_FOR_ZONES` suffixes (include/linux/vm_event_item.h, mm/vmstat.c).
const ZONE_SUFFIXES: &[&str] = &["dma", "dma32", "normal", "high", "movable", "device"];

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VmstatRates {
    pub seconds: f64,
    pub compact_stall_per_s: f64,
    pub compact_fail_per_s: f64,
    pub compact_success_per_s: f64,
    /// Direct-reclaim stalls, all zones.
    pub allocstall_per_s: f64,
    pub thp_fault_fallback_per_s: f64,
    pub pgmigrate_fail_per_s: f64,
    /// compact_fail / compact_stall over the window (None when no stalls)
    pub compaction_failure_ratio: Option<f64>,
    /// Increase of each counter over the window, under the names of [`DIRECT`] and
    /// [`SUMMED`]; a counter this kernel lacks is absent (its `_per_s` field reads 0).
    pub deltas: BTreeMap<String, u64>,
}

/// Rates of the stall and fragmentation counters between two samples `seconds` apart.
/// A counter that went backwards (a different boot's sample, say) counts as 0, and a
/// non-positive or non-finite `seconds` gives rates of 0 rather than infinities.
pub fn vmstat_rates(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, seconds: f64) -> VmstatRates {
    let mut deltas = BTreeMap::new();
    for &name in DIRECT {
        if let (Some(b), Some(a)) = (before.get(name), after.get(name)) {
            deltas.insert(name.to_string(), a.saturating_sub(*b));
        }
    }
    for &name in SUMMED {
        if let Some(delta) = summed_delta(before, after, name) {
            deltas.insert(name.to_string(), delta);
        }
    }
    let get = |name: &str| deltas.get(name).copied().unwrap_or(0);
    let rate = |name: &str| if seconds.is_finite() && seconds > 0.0 { get(name) as f64 / seconds } else { 0.0 };
    let stalls = get("compact_stall");
    VmstatRates {
        seconds,
        compact_stall_per_s: rate("compact_stall"),
        compact_fail_per_s: rate("compact_fail"),
        compact_success_per_s: rate("compact_success"),
        allocstall_per_s: rate("allocstall"),
        thp_fault_fallback_per_s: rate("thp_fault_fallback"),
        pgmigrate_fail_per_s: rate("pgmigrate_fail"),
        compaction_failure_ratio: (stalls > 0).then(|| get("compact_fail") as f64 / stalls as f64),
        deltas,
    }
}

/// Sum of the increases of `name` and `name_<zone>` over the counters both samples have;
/// `None` when they share none of them.
fn summed_delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, name: &str) -> Option<u64> {
    let names = std::iter::once(name.to_string()).chain(ZONE_SUFFIXES.iter().map(|z| format!("{name}_{z}")));
    let mut total: Option<u64> = None;
    for n in names {
        if let (Some(b), Some(a)) = (before.get(&n), after.get(&n)) {
            total = Some(total.unwrap_or(0).saturating_add(a.saturating_sub(*b)));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    const V310: &str = include_str!("../../../testdata/procfs/vmstat-3.10.txt");
    const V310_LATER: &str = include_str!("../../../testdata/procfs/vmstat-3.10-later.txt");
    const V618: &str = include_str!("../../../testdata/procfs/vmstat-6.18-live.txt");
    const V618_LATER: &str = include_str!("../../../testdata/procfs/vmstat-6.18-later.txt");

    fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn parses_every_line_of_both_eras() {
        let old = parse_vmstat(V310);
        assert_eq!(old.len(), 107);
        assert_eq!(old["nr_free_pages"], 4622745);
        assert_eq!(old["allocstall"], 1840);
        assert_eq!(old["pgscan_direct_normal"], 880412);
        assert!(!old.contains_key("allocstall_normal"));
        let new = parse_vmstat(V618);
        assert_eq!(new.len(), 192);
        assert_eq!(new["nr_free_pages"], 1305490);
        assert_eq!(new["allocstall_device"], 0);
        assert!(!new.contains_key("allocstall"));
    }

    #[test]
    fn skips_malformed_lines() {
        assert_eq!(
            parse_vmstat("a 1\nb -1\nc\nd 2 3\n e   4 \nf 18446744073709551616\n\n\u{0} 5\n"),
            map(&[("a", 1), ("e", 4), ("\u{0}", 5)])
        );
    }

    #[test]
    fn rates_on_3_10_sum_the_per_zone_scan_counters() {
        let r = vmstat_rates(&parse_vmstat(V310), &parse_vmstat(V310_LATER), 10.0);
        assert_eq!(r.seconds, 10.0);
        assert_eq!(r.compact_stall_per_s, 4.0);
        assert_eq!(r.compact_fail_per_s, 3.0);
        assert_eq!(r.compact_success_per_s, 1.0);
        assert_eq!(r.allocstall_per_s, 5.0);
        assert_eq!(r.thp_fault_fallback_per_s, 20.0);
        assert_eq!(r.pgmigrate_fail_per_s, 15.0);
        assert_eq!(r.compaction_failure_ratio, Some(0.75));
        assert_eq!(
            r.deltas,
            map(&[
                ("allocstall", 50),
                ("compact_fail", 30),
                ("compact_free_scanned", 3_000_000),
                ("compact_isolated", 40_000),
                ("compact_migrate_scanned", 500_000),
                ("compact_stall", 40),
                ("compact_success", 10),
                ("pgmigrate_fail", 150),
                ("pgmigrate_success", 20_000),
                ("pgscan_direct", 10_000),
                ("pgscan_direct_throttle", 3),
                ("pgscan_kswapd", 0),
                ("pgsteal_direct", 9_090),
                ("pgsteal_kswapd", 0),
                ("thp_collapse_alloc", 0),
                ("thp_collapse_alloc_failed", 1),
                ("thp_fault_alloc", 0),
                ("thp_fault_fallback", 200),
            ])
        );
    }

    #[test]
    fn rates_on_6_18_sum_allocstall_zones() {
        let r = vmstat_rates(&parse_vmstat(V618), &parse_vmstat(V618_LATER), 4.0);
        assert_eq!(r.allocstall_per_s, 37.0 / 4.0);
        assert_eq!(r.compact_stall_per_s, 5.0);
        assert_eq!(r.compact_fail_per_s, 1.25);
        assert_eq!(r.compaction_failure_ratio, Some(0.25));
        assert_eq!(r.deltas["compact_daemon_wake"], 4);
        assert_eq!(r.deltas["compact_daemon_migrate_scanned"], 12_000);
        assert_eq!(r.deltas["pgscan_direct"], 4_000);
        assert_eq!(r.deltas["pgsteal_direct"], 3_500);
        assert_eq!(r.deltas["pgscan_direct_throttle"], 1);
        assert_eq!(r.deltas.len(), DIRECT.len() + SUMMED.len(), "a 6.18 kernel has every counter");
    }

    #[test]
    fn degenerate_windows_do_not_make_infinities() {
        let before = map(&[("compact_stall", 10), ("compact_fail", 5), ("allocstall_normal", 9)]);
        let after = map(&[("compact_stall", 4), ("compact_fail", 7), ("allocstall_normal", 12)]);
        for seconds in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = vmstat_rates(&before, &after, seconds);
            assert_eq!((r.compact_fail_per_s, r.allocstall_per_s), (0.0, 0.0));
        }
        let r = vmstat_rates(&before, &after, 1.0);
        assert_eq!(r.compact_stall_per_s, 0.0, "a counter that went backwards counts as 0");
        assert_eq!(r.compaction_failure_ratio, None, "no stalls, no ratio");
        assert_eq!(r.deltas, map(&[("allocstall", 3), ("compact_fail", 2), ("compact_stall", 0)]));
        assert_eq!(vmstat_rates(&BTreeMap::new(), &after, 1.0), VmstatRates { seconds: 1.0, ..VmstatRates::default() });
    }
}
