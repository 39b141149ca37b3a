//! The diagnosis: pure functions of the measurements, so every rule is unit-tested.

use serde::Serialize;

use super::settings::{Sysctls, nodes};
use crate::{aggregate::Snapshot, host::buddyinfo::ZoneFree};

/// Orders 0..=10 are reported (MAX_PAGE_ORDER on x86_64).
const ORDERS: u32 = 11;

/// Reclaim and compaction activity over the sampling window (vmstat deltas).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pressure {
    pub seconds: f64,
    pub compact_stall_per_s: f64,
    pub compact_fail_per_s: f64,
    /// compact_fail / compact_stall over the window (None without stalls).
    pub compaction_failure_ratio: Option<f64>,
    pub allocstall_per_s: f64,
    pub thp_fault_fallback_per_s: f64,
}

pub struct DoctorInput<'a> {
    /// /proc/buddyinfo at the end of the window.
    pub zones: &'a [ZoneFree],
    pub pressure: Option<Pressure>,
    /// What the probes saw during the window (None without eBPF).
    pub failures: Option<&'a Snapshot>,
    pub sysctls: &'a Sysctls,
    pub pageblock_order: u32,
    pub page_size: u64,
    /// Page cache that `drop_caches` could free (meminfo `Cached`), kB.
    pub cached_kb: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneReport {
    pub node: u32,
    pub zone: String,
    pub free_blocks: Vec<u64>,
    pub free_mib: u64,
    /// Per order, 0.000–1.000 (the kernel's debugfs `unusable_index` scale).
    pub unusable_index: Vec<f64>,
    /// Per order, 0.000–1.000, or −1.000 where a suitable block exists (debugfs
    /// `extfrag_index`).
    pub fragmentation_index: Vec<f64>,
    pub highest_available_order: Option<u32>,
    /// `healthy`, `fragmented` (high orders gone, free memory in small blocks) or `low memory`.
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advice {
    pub name: String,
    pub why: String,
    pub cost: String,
    pub command: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnosis {
    pub zones: Vec<ZoneReport>,
    /// The verdict, one finding per line.
    pub findings: Vec<String>,
    /// Immediate relief, cheapest first (the runbook's order).
    pub remedies: Vec<Advice>,
    /// Settings that prevent it, computed from this machine's numbers.
    pub prevention: Vec<Advice>,
    pub pressure: Option<Pressure>,
}

fn zone_report(z: &ZoneFree, page_size: u64, threshold: f64) -> ZoneReport {
    let indices: Vec<_> = (0..ORDERS).map(|o| z.indices(o)).collect();
    let highest = (0..ORDERS).rev().find(|&o| z.free_blocks.get(o as usize).is_some_and(|&n| n > 0));
    let first_missing = (0..ORDERS).find(|&o| indices[o as usize].fragmentation.is_some());
    let state = match first_missing {
        None => "healthy".to_string(),
        Some(o) => match indices[o as usize].fragmentation {
            Some(f) if f > threshold => "fragmented".to_string(),
            _ => "low memory".to_string(),
        },
    };
    ZoneReport {
        node: z.node,
        zone: z.zone.clone(),
        free_blocks: z.free_blocks.clone(),
        free_mib: z.free_pages() * page_size / (1 << 20),
        unusable_index: indices.iter().map(|i| i.unusable).collect(),
        fragmentation_index: indices.iter().map(|i| i.fragmentation.unwrap_or(-1.0)).collect(),
        highest_available_order: highest,
        state,
    }
}

/// The zones ordinary allocations use (DMA is a 16 MiB legacy zone: judged only if alone).
fn relevant(zones: &[ZoneReport]) -> Vec<&ZoneReport> {
    let main: Vec<&ZoneReport> = zones.iter().filter(|z| !z.zone.eq_ignore_ascii_case("DMA")).collect();
    if main.is_empty() { zones.iter().collect() } else { main }
}

pub fn diagnose(input: &DoctorInput<'_>) -> Diagnosis {
    let threshold = input.sysctls.extfrag_threshold.unwrap_or(500) as f64 / 1000.0;
    let zones: Vec<ZoneReport> = input.zones.iter().map(|z| zone_report(z, input.page_size, threshold)).collect();
    let main = relevant(&zones);
    let fragmented = main.iter().any(|z| z.state == "fragmented");
    let low = main.iter().any(|z| z.state == "low memory");
    let mut findings = Vec::new();
    zone_findings(&mut findings, &main, input.page_size);
    if let Some(f) = input.failures {
        failure_findings(&mut findings, f);
    }
    if let Some(p) = &input.pressure {
        pressure_findings(&mut findings, p);
    }
    let remedies = remedies(input, fragmented, low);
    let prevention = prevention(input, fragmented);
    Diagnosis { zones, findings, remedies, prevention, pressure: input.pressure.clone() }
}

/// One line per ordinary zone: healthy, fragmented or short of memory, and why.
fn zone_findings(findings: &mut Vec<String>, main: &[&ZoneReport], page_size: u64) {
    for z in main {
        let avail = z.highest_available_order.map_or("no free memory".to_string(), |o| format!("largest free block order {o} ({} KiB)", (page_size << o) / 1024));
        let detail = match z.state.as_str() {
            "healthy" => format!("every order available ({avail})"),
            "fragmented" => {
                let first = z.fragmentation_index.iter().position(|&f| f >= 0.0).unwrap_or(0);
                format!(
                    "orders ≥ {first} unavailable although {} MiB are free ({avail}); fragmentation index at order {first}: {:.3} → FRAGMENTATION",
                    z.free_mib, z.fragmentation_index[first]
                )
            }
            _ => {
                let first = z.fragmentation_index.iter().position(|&f| f >= 0.0).unwrap_or(0);
                format!("orders ≥ {first} unavailable and only {} MiB free ({avail}) → LACK OF MEMORY, not fragmentation", z.free_mib)
            }
        };
        findings.push(format!("node {} {}: {detail}", z.node, z.zone));
    }
}

/// Who failed while sampling, who stalled, and OOM kills.
fn failure_findings(findings: &mut Vec<String>, f: &Snapshot) {
    if f.failures > 0 {
        let orders: Vec<String> = f.by_order.iter().enumerate().filter(|(_, n)| **n > 0).map(|(o, n)| format!("order {o} ×{n}")).collect();
        let who: Vec<String> = f.by_comm.iter().take(5).map(|(c, n)| format!("{c} ×{n}")).collect();
        let pods: Vec<String> = f.by_pod.iter().take(5).map(|p| format!("{} ×{}", p.pod, p.count)).collect();
        findings.push(format!(
            "{} allocation failures while sampling ({}, {} silent), by {}{}",
            f.failures,
            orders.join(", "),
            f.silent_failures,
            who.join(", "),
            if pods.is_empty() { String::new() } else { format!("; pods: {}", pods.join(", ")) }
        ));
    } else {
        findings.push("no allocation failure while sampling".into());
    }
    for st in &f.stalls {
        let kind = serde_json::to_value(st.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        findings.push(format!(
            "{} {kind} stalls at order {}: p50 {} µs, p99 {} µs, max {} µs ({:.1} ms in all)",
            st.count, st.order, st.p50_us, st.p99_us, st.max_us, st.total_us as f64 / 1000.0
        ));
    }
    if !f.stalls_by_comm.is_empty() {
        let who: Vec<String> = f.stalls_by_comm.iter().take(5).map(|(c, us)| format!("{c} {:.1} ms", *us as f64 / 1000.0)).collect();
        findings.push(format!("stalled most: {}", who.join(", ")));
    }
    if f.oom_total > 0 {
        let victims: Vec<String> = f.ooms.iter().map(|o| format!("{} ({})", o.victim_comm, o.victim_pid)).collect();
        findings.push(format!("{} OOM kills while sampling: {}", f.oom_total, victims.join(", ")));
    }
}

/// Compaction and reclaim stalls from /proc/vmstat over the sampling window.
fn pressure_findings(findings: &mut Vec<String>, p: &Pressure) {
    if p.compact_stall_per_s > 0.0 {
        let ratio = p.compaction_failure_ratio.map_or(String::new(), |r| format!(", {:.0}% of them failed", r * 100.0));
        let keeping = if p.compaction_failure_ratio.is_some_and(|r| r > 0.5) { ": compaction is NOT keeping up" } else { "" };
        findings.push(format!("tasks stalled in direct compaction {:.1}/s{ratio}{keeping}", p.compact_stall_per_s));
    }
    if p.allocstall_per_s > 0.0 {
        findings.push(format!("tasks stalled in direct reclaim {:.1}/s: kswapd does not keep free memory ahead of demand", p.allocstall_per_s));
    }
    if p.thp_fault_fallback_per_s > 0.0 {
        findings.push(format!("transparent huge page faults fell back to small pages {:.1}/s", p.thp_fault_fallback_per_s));
    }
    if p.compact_stall_per_s == 0.0 && p.allocstall_per_s == 0.0 {
        findings.push(format!("no direct compaction or reclaim stalls in {:.0} s", p.seconds));
    }
}

/// What helps now, cheapest first.
fn remedies(input: &DoctorInput<'_>, fragmented: bool, low: bool) -> Vec<Advice> {
    let mut remedies = Vec::new();
    if fragmented {
        let cache = input.cached_kb.map_or(String::new(), |kb| format!(" ({} MiB of page cache now)", kb / 1024));
        remedies.push(Advice {
            name: "drop caches".into(),
            why: format!("frees clean page cache{cache}; freed pages merge back into larger blocks"),
            cost: "cheap-ish; temporary (the cache refills, with I/O to re-read it)".into(),
            command: "sync; echo 3 > /proc/sys/vm/drop_caches   # or: fragtrace doctor --apply drop-caches (measures before/after)".into(),
        });
        remedies.push(Advice {
            name: "compact memory".into(),
            why: "migrates movable pages to rebuild contiguous free blocks".into(),
            cost: "can stall the machine for seconds while it runs (all zones); use with care on a busy node".into(),
            command: "echo 1 > /proc/sys/vm/compact_memory   # or: fragtrace doctor --apply compact (measures before/after)".into(),
        });
    } else if low {
        remedies.push(Advice {
            name: "free memory".into(),
            why: "the zones are short of memory overall: compaction cannot make blocks out of nothing".into(),
            cost: "depends on what holds the memory".into(),
            command: "fragtrace top (who fails) · ps aux --sort=-rss | head · check memory cgroup limits".into(),
        });
    }
    remedies
}

/// Settings that keep it from coming back, computed from this machine's numbers.
fn prevention(input: &DoctorInput<'_>, fragmented: bool) -> Vec<Advice> {
    let s = input.sysctls;
    let mut prevention = Vec::new();
    let node_count = nodes(input.zones);
    let pageblock_kb = (input.page_size << input.pageblock_order) / 1024;
    let step = 3 * pageblock_kb * node_count;
    if fragmented
        && let Some(current) = s.min_free_kbytes
    {
        prevention.push(Advice {
            name: "vm.min_free_kbytes".into(),
            why: format!("a bigger free reserve gives the allocator room to keep blocks whole; the kernel docs suggest steps of 3 × pageblock ({pageblock_kb} kB) × {node_count} node(s) = {step} kB (now {current} kB)"),
            cost: "memory held back from applications".into(),
            command: format!("sysctl -w vm.min_free_kbytes={}", current + step),
        });
    }
    let stalling = input.pressure.as_ref().is_some_and(|p| p.allocstall_per_s > 0.0 || p.compact_stall_per_s > 0.0);
    if stalling && s.watermark_scale_factor.is_some_and(|w| w < 100) {
        prevention.push(Advice {
            name: "vm.watermark_scale_factor".into(),
            why: format!("wakes kswapd earlier so tasks stall less in direct reclaim/compaction (now {})", s.watermark_scale_factor.unwrap_or(0)),
            cost: "more background reclaim".into(),
            command: "sysctl -w vm.watermark_scale_factor=100".into(),
        });
    }
    if fragmented && s.compaction_proactiveness.is_some_and(|c| c < 40) {
        prevention.push(Advice {
            name: "vm.compaction_proactiveness".into(),
            why: format!("compacts in the background before high orders run out (now {})", s.compaction_proactiveness.unwrap_or(0)),
            cost: "some background CPU for migration".into(),
            command: "sysctl -w vm.compaction_proactiveness=40".into(),
        });
    }
    if s.thp_defrag.as_deref() == Some("always") {
        prevention.push(Advice {
            name: "transparent_hugepage/defrag".into(),
            why: "`always` makes page faults compact synchronously for huge pages: direct compaction stalls".into(),
            cost: "fewer huge pages right away (khugepaged collapses them later)".into(),
            command: "echo defer+madvise > /sys/kernel/mm/transparent_hugepage/defrag".into(),
        });
    }
    if s.extfrag_threshold.is_some_and(|t| t > 500) {
        prevention.push(Advice {
            name: "vm.extfrag_threshold".into(),
            why: format!("above 500 the kernel reclaims instead of compacting for fragmentation failures (now {})", s.extfrag_threshold.unwrap_or(0)),
            cost: "more compaction work".into(),
            command: "sysctl -w vm.extfrag_threshold=500".into(),
        });
    }
    prevention
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, blocks: &[u64]) -> ZoneFree {
        ZoneFree { node: 0, zone: name.into(), free_blocks: blocks.to_vec() }
    }

    fn sysctls() -> Sysctls {
        Sysctls {
            min_free_kbytes: Some(67584),
            watermark_scale_factor: Some(10),
            compaction_proactiveness: Some(20),
            extfrag_threshold: Some(500),
            thp_enabled: Some("always".into()),
            thp_defrag: Some("always".into()),
        }
    }

    #[test]
    fn the_runbooks_buddyinfo_is_fragmentation_with_computed_remedies() {
        // From the runbook: zeros in the high columns, thousands of small blocks.
        let zones = [zone("DMA", &[1, 0, 1, 0, 2, 1, 1, 0, 1, 1, 3]), zone("DMA32", &[2725, 624, 489, 178, 0, 0, 0, 0, 0, 0, 0]), zone("Normal", &[1163, 1101, 932, 222, 0, 0, 0, 0, 0, 0, 0])];
        let s = sysctls();
        let pressure = Pressure { seconds: 10.0, compact_stall_per_s: 3.0, compact_fail_per_s: 2.4, compaction_failure_ratio: Some(0.8), allocstall_per_s: 1.0, thp_fault_fallback_per_s: 0.0 };
        let d = diagnose(&DoctorInput { zones: &zones, pressure: Some(pressure), failures: None, sysctls: &s, pageblock_order: 9, page_size: 4096, cached_kb: Some(2 << 20) });
        assert_eq!(d.zones[2].state, "fragmented");
        assert_eq!(d.zones[2].highest_available_order, Some(3));
        assert_eq!(d.zones[2].fragmentation_index[3], -1.0, "order 3 blocks exist");
        assert!(d.zones[2].fragmentation_index[4] > 0.5);
        assert!(d.findings.iter().any(|f| f.contains("node 0 Normal: orders ≥ 4 unavailable") && f.contains("FRAGMENTATION")), "{:#?}", d.findings);
        assert!(d.findings.iter().any(|f| f.contains("NOT keeping up")));
        assert_eq!(d.remedies.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["drop caches", "compact memory"], "the runbook's order");
        let min_free = d.prevention.iter().find(|p| p.name == "vm.min_free_kbytes").expect("min_free_kbytes");
        assert_eq!(min_free.command, "sysctl -w vm.min_free_kbytes=73728", "67584 + 3 × 2048 kB × 1 node");
        for name in ["vm.watermark_scale_factor", "vm.compaction_proactiveness", "transparent_hugepage/defrag"] {
            assert!(d.prevention.iter().any(|p| p.name == name), "{name}");
        }
        assert!(!d.prevention.iter().any(|p| p.name == "vm.extfrag_threshold"), "500 is fine");
    }

    #[test]
    fn healthy_and_low_memory_zones() {
        let s = Sysctls { thp_defrag: Some("madvise".into()), ..sysctls() };
        let healthy = [zone("Normal", &[10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10])];
        let d = diagnose(&DoctorInput { zones: &healthy, pressure: None, failures: None, sysctls: &s, pageblock_order: 9, page_size: 4096, cached_kb: None });
        assert_eq!(d.zones[0].state, "healthy");
        assert!(d.remedies.is_empty() && d.prevention.is_empty(), "nothing to fix: {d:?}");
        let low = [zone("Normal", &[0, 0, 0, 0, 0, 1])];
        let d = diagnose(&DoctorInput { zones: &low, pressure: None, failures: None, sysctls: &s, pageblock_order: 9, page_size: 4096, cached_kb: None });
        assert_eq!(d.zones[0].state, "low memory");
        assert_eq!(d.remedies[0].name, "free memory", "compaction cannot help");
    }
}
