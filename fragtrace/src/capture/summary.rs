//! SUMMARY.md: what failed, who, where in the kernel, what the zones looked like at the
//! failing order, the memory cgroup's limit and usage for a memcg verdict, and what to do
//! next. A pure function of the incident's facts.

use std::fmt::Write;

use crate::{
    aggregate::ORDERS,
    event::{Failure, FailureHook, migratetype_name},
    gfp::GfpTable,
    host::{buddyinfo::ZoneFree, memcg::MemcgState},
    identity::{StartingTask, starting_task},
};

/// Counts over the captured window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowStats {
    pub before_s: u64,
    pub after_s: u64,
    pub failures: u64,
    pub by_order: [u64; ORDERS],
    pub extfrag: u64,
    pub extfrag_fragmenting: u64,
    pub lost: u64,
    /// Events the flight recorder had to forget (storm beyond its memory bound).
    pub overflowed: u64,
    /// Extfrag fallbacks per process: the "Who fragments" section.
    pub who_fragments: super::polluters::WindowPolluters,
}

pub struct IncidentFacts<'a> {
    pub host: &'a str,
    pub kernel: &'a str,
    /// RFC 3339 UTC time of the failure.
    pub when: &'a str,
    pub trigger: &'a Failure,
    pub gfp: &'a GfpTable,
    pub stack: Option<&'a [String]>,
    pub cgroup_path: Option<&'a str>,
    /// One line per known identity fact (`pod: default/web-0`, `container: 3f2a… (containerd)`).
    pub identity: Vec<String>,
    pub zones: &'a [ZoneFree],
    pub page_size: u64,
    pub sysctls: &'a [(String, String)],
    pub window: &'a WindowStats,
    /// The failing cgroup and its ancestors as read when the failure arrived, nearest first.
    pub memcg: &'a [MemcgState],
}

/// Why the allocation most likely failed, from the zone state at its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A zone had a free block big enough: the page allocator would have succeeded, so the
    /// memory-cgroup charge failed (the cgroup is at its limit).
    CgroupLimit,
    /// No block big enough, and the free memory is in small pieces.
    Fragmentation,
    /// No block big enough because there is little free memory at all.
    LowMemory,
}

pub fn verdict(zones: &[ZoneFree], order: u32, accounted: bool) -> Verdict {
    let usable = zones.iter().any(|z| z.indices(order).fragmentation.is_none() && z.free_pages() > 0);
    if usable && accounted {
        return Verdict::CgroupLimit;
    }
    let worst = zones.iter().filter_map(|z| z.indices(order).fragmentation).fold(0.0_f64, f64::max);
    if usable || worst > 0.5 { Verdict::Fragmentation } else { Verdict::LowMemory }
}

fn kib(order: u32, page_size: u64) -> u64 {
    (page_size << order) / 1024
}

/// For a memcg verdict (or a failure the memcg charge hook saw): the cgroup's limit, usage
/// and failure counters at the failure.
fn memcg_section(out: &mut String, f: &IncidentFacts<'_>, accounted: bool) {
    let memcg = f.trigger.hook == FailureHook::MemcgCharge || verdict(f.zones, f.trigger.order, accounted) == Verdict::CgroupLimit;
    if memcg {
        out.push('\n');
        super::memcg::render_section(out, f.cgroup_path, f.memcg);
    }
}

pub fn render(f: &IncidentFacts<'_>) -> String {
    let t = f.trigger;
    let mut out = String::new();
    let flags = f.gfp.decode(t.gfp_mask);
    let accounted = flags.iter().any(|n| n.contains("ACCOUNT"));
    let silent = flags.iter().any(|n| n == "__GFP_NOWARN");
    let _ = writeln!(out, "# Allocation failure on {} at {}\n", f.host, f.when);
    let _ = writeln!(
        out,
        "**{}** (pid {}, process {}) could not get an **order-{} allocation ({} KiB contiguous)** with GFP flags `{}` (`{:#x}`, {}).{}\n",
        t.task.comm,
        t.task.pid,
        t.task.tgid,
        t.order,
        kib(t.order, f.page_size),
        flags.join("|"),
        t.gfp_mask,
        migratetype_name(t.migratetype),
        if silent { " It carried `__GFP_NOWARN`: **dmesg shows nothing** about it." } else { "" },
    );
    let starting = who_section(&mut out, f);
    stack_section(&mut out, f.stack);
    out.push_str(&super::known_cause::section(f));
    zones_section(&mut out, f);
    memcg_section(&mut out, f, accounted);
    window_section(&mut out, f.window);
    next_steps(&mut out, f, accounted, starting.is_some());
    if !f.sysctls.is_empty() {
        let _ = writeln!(out, "\nTunables at the time: {}.", f.sysctls.iter().map(|(k, v)| format!("`{k}` = {v}")).collect::<Vec<_>>().join(", "));
    }
    let _ = writeln!(
        out,
        "\n## In this bundle\n\n- `trace.ftr`: the events around the failure (`fragtrace report trace.ftr`, `fragtrace top --replay trace.ftr`)\n- `failures.jsonl`: the failing events with stacks, ancestry and identity\n- `memcg.json`: the failing memory cgroup's and its ancestors' limit, usage and failure counters when the failure arrived\n- `snapshots/`: buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmstat, sysctls, kernel release and cmdline at the moment of the failure"
    );
    out
}

/// Who failed: cgroup, workload, ancestry, whether a container was starting, the kernel.
fn who_section(out: &mut String, f: &IncidentFacts<'_>) -> Option<StartingTask> {
    let t = f.trigger;
    let _ = writeln!(out, "## Who\n");
    let _ = writeln!(out, "- cgroup: `{}`", f.cgroup_path.unwrap_or("(unknown)"));
    for line in &f.identity {
        let _ = writeln!(out, "- {line}");
    }
    if !t.ancestry.is_empty() {
        let chain: Vec<String> = std::iter::once(format!("{} ({})", t.task.comm, t.task.pid))
            .chain(t.ancestry.iter().map(|a| format!("{} ({})", a.comm, a.pid)))
            .collect();
        let _ = writeln!(out, "- ancestry: {}", chain.join(" ← "));
    }
    let starting = starting_task(&t.task.comm, &t.ancestry);
    if let Some(s) = &starting {
        let _ = writeln!(
            out,
            "- **while the container was starting**: the failing task was the runtime's own `{}`, {}. The container's own process never ran; under Kubernetes the pod stays in `ContainerCreating`.",
            s.step, s.does
        );
    }
    let _ = writeln!(out, "- kernel: {}\n", f.kernel);
    starting
}

/// The kernel path, innermost first (at most 24 frames).
fn stack_section(out: &mut String, stack: Option<&[String]>) {
    let _ = writeln!(out, "## Kernel path (innermost first)\n");
    match stack {
        Some(frames) if !frames.is_empty() => {
            let _ = writeln!(out, "```");
            for frame in frames.iter().take(24) {
                let _ = writeln!(out, "{frame}");
            }
            let _ = writeln!(out, "```\n");
        }
        _ => {
            let _ = writeln!(out, "(no stack captured)\n");
        }
    }
}

/// Each zone's free memory and indices for the failed order.
fn zones_section(out: &mut String, f: &IncidentFacts<'_>) {
    let t = f.trigger;
    let _ = writeln!(out, "## Zones at the failure, for order {}\n", t.order);
    let _ = writeln!(out, "| zone | free MiB | free blocks ≥ order {} | unusable index | fragmentation index |", t.order);
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for z in f.zones {
        let idx = z.indices(t.order);
        let suitable: u64 = z.free_blocks.iter().skip(t.order as usize).sum();
        let _ = writeln!(
            out,
            "| node {} {} | {} | {} | {:.3} | {} |",
            z.node,
            z.zone,
            z.free_pages() * f.page_size / (1 << 20),
            suitable,
            idx.unusable,
            idx.fragmentation.map_or("– (a block exists)".to_string(), |v| format!("{v:.3}")),
        );
    }
}

/// What happened in the flight recorder's window around the failure.
fn window_section(out: &mut String, w: &WindowStats) {
    let _ = writeln!(out, "\n## Around it ({} s before, {} s after)\n", w.before_s, w.after_s);
    let orders: Vec<String> = (0..ORDERS).filter(|&o| w.by_order[o] > 0).map(|o| format!("order {o}: {}", w.by_order[o])).collect();
    let _ = writeln!(out, "- {} failures ({})", w.failures, if orders.is_empty() { "none".into() } else { orders.join(", ") });
    let _ = writeln!(out, "- {} extfrag fallbacks, {} of them fragmenting", w.extfrag, w.extfrag_fragmenting);
    if w.lost > 0 || w.overflowed > 0 {
        let _ = writeln!(out, "- **incomplete**: {} events dropped by the ring buffer, {} forgotten by the flight recorder", w.lost, w.overflowed);
    }
    w.who_fragments.write_section(out);
}

/// The verdict and what to do about it, cheapest first.
fn next_steps(out: &mut String, f: &IncidentFacts<'_>, accounted: bool, starting: bool) {
    let t = f.trigger;
    let _ = writeln!(out, "\n## What to do next\n");
    match verdict(f.zones, t.order, accounted) {
        Verdict::CgroupLimit if starting => {
            let _ = writeln!(
                out,
                "- A zone had a free block of order ≥ {}, so the **memory-cgroup charge failed** while the runtime was creating the container: the kernel memory of a new container (namespaces, their tables) is charged to the container's cgroup and its parents (the pod's cgroup under Kubernetes), before the container's own limit is applied. Raise the pod's limit (the sum of its containers' limits plus overhead), or shrink what each new namespace allocates (e.g. `net.ipv4.tcp_child_ehash_entries`, per-namespace conntrack tables on old kernels).",
                t.order
            );
        }
        Verdict::CgroupLimit => {
            let _ = writeln!(
                out,
                "- A zone had a free block of order ≥ {}: the page allocator could have served it. The allocation is `__GFP_ACCOUNT`ed, so it most likely **failed its memory-cgroup charge**: the cgroup above is at its memory limit. Check `memory.max`/`memory.limit_in_bytes` and usage of that cgroup; raise the limit or find what fills it. Compacting or dropping caches system-wide will not help.",
                t.order
            );
        }
        Verdict::Fragmentation => {
            let _ = writeln!(
                out,
                "- **Fragmentation**: memory is free, but not in blocks of order {}. Immediate relief: `echo 1 > /proc/sys/vm/compact_memory` (measure with `fragtrace doctor`). Lasting: raise `vm.min_free_kbytes` in steps of 3 × pageblock × NUMA nodes (Documentation/trace/events-kmem.rst), keep `vm.extfrag_threshold` at or below 500, and look at who fragments (extfrag above and in `fragtrace report`).",
                t.order
            );
        }
        Verdict::LowMemory => {
            let _ = writeln!(out, "- **Low memory**: the zones have little free memory at all (fragmentation index near 0). Look for memory pressure (reclaim, OOM kills) rather than fragmentation.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        event::{Ancestor, Task},
        gfp::GfpName,
    };

    fn zone(blocks: &[u64]) -> ZoneFree {
        ZoneFree { node: 0, zone: "Normal".into(), free_blocks: blocks.to_vec() }
    }

    #[test]
    fn verdicts_follow_the_zone_state() {
        assert_eq!(verdict(&[zone(&[0, 0, 0, 0, 0, 0, 5])], 6, true), Verdict::CgroupLimit);
        assert_eq!(verdict(&[zone(&[5000, 100])], 6, true), Verdict::Fragmentation);
        // One order-5 block for an order-6 request: index 0, not enough memory at all.
        assert_eq!(verdict(&[zone(&[0, 0, 0, 0, 0, 1])], 6, false), Verdict::LowMemory);
    }

    #[test]
    fn the_summary_names_who_what_where_and_next_steps() {
        let gfp = GfpTable { names: vec![GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() }, GfpName { value: 0x2000, name: "__GFP_NOWARN".into() }] };
        let trigger = Failure {
            task: Task { ts_ns: 1, cpu: 0, pid: 4242, tgid: 4242, cgroup_id: 7, comm: "runc:[1:CHILD]".into() },
            order: 6,
            gfp_mask: 0x402cc0,
            migratetype: 0,
            stack_id: Some(1),
            ancestry: vec![Ancestor { pid: 4240, comm: "runc".into() }, Ancestor { pid: 900, comm: "containerd-shim".into() }],
            captured_cgroup: None,
            hook: Default::default(),
        };
        let stack = vec!["__alloc_pages_noprof".to_string(), "kmem_cache_create".into(), "nf_conntrack_init_net".into()];
        let mut window = WindowStats { before_s: 30, after_s: 10, failures: 3, ..Default::default() };
        window.by_order[6] = 3;
        let text = render(&IncidentFacts {
            host: "node-7",
            kernel: "3.10.0-1160",
            when: "2026-11-27T10:02:03Z",
            trigger: &trigger,
            gfp: &gfp,
            stack: Some(&stack),
            cgroup_path: Some("/kubepods/burstable/pod1234/abcd"),
            identity: vec!["pod: default/web-0 (uid 1234)".into()],
            zones: &[zone(&[9000, 4000, 100, 3, 0, 0, 0])],
            page_size: 4096,
            sysctls: &[("vm.min_free_kbytes".into(), "67584".into())],
            window: &window,
            memcg: &[],
        });
        for needle in [
            "runc:[1:CHILD]",
            "order-6 allocation (256 KiB contiguous)",
            "dmesg shows nothing",
            "runc:[1:CHILD] (4242) ← runc (4240) ← containerd-shim (900)",
            "pod: default/web-0",
            "nf_conntrack_init_net",
            "**Fragmentation**",
            "nf_conntrack's per-network-namespace slab cache at container start",
            "`vm.min_free_kbytes` = 67584",
            "order 6: 3",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
    }

    #[test]
    fn a_memcg_verdict_gives_the_cgroups_limit_usage_and_failcnt() {
        use crate::host::memcg::{MemcgState, MemcgVersion};
        let gfp = GfpTable { names: vec![GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() }] };
        let trigger = Failure {
            task: Task { ts_ns: 1, cpu: 0, pid: 7, tgid: 7, cgroup_id: 7, comm: "exe".into() },
            order: 6,
            gfp_mask: 0x400cc0,
            migratetype: 0,
            stack_id: None,
            ancestry: vec![],
            captured_cgroup: None,
            hook: Default::default(),
        };
        let memcg = [MemcgState {
            path: "/pod/c1".into(),
            version: MemcgVersion::V1,
            limit_bytes: Some(2 << 20),
            usage_bytes: Some(2027520),
            max_usage_bytes: Some(2 << 20),
            failcnt: Some(37),
            kmem_usage_bytes: None,
            kmem_failcnt: None,
            events: Default::default(),
        }];
        let window = WindowStats::default();
        let (usable, fragmented) = ([zone(&[0, 0, 0, 0, 0, 0, 5])], [zone(&[5000, 100])]);
        let mut facts = IncidentFacts {
            host: "h",
            kernel: "6.18",
            when: "t",
            trigger: &trigger,
            gfp: &gfp,
            stack: None,
            cgroup_path: Some("/pod/c1"),
            identity: vec![],
            zones: &usable,
            page_size: 4096,
            sysctls: &[],
            window: &window,
            memcg: &memcg,
        };
        let line = "- `/pod/c1`: limit **2.0 MiB** (2097152 bytes), usage **1.9 MiB** (97% of the limit), max usage 2.0 MiB, failcnt **37**";
        let text = render(&facts);
        assert!(text.contains("## Memory cgroup at the failure") && text.contains(line), "{text}");
        facts.zones = &fragmented;
        let text = render(&facts);
        assert!(!text.contains("## Memory cgroup"), "a fragmentation verdict: {text}");
    }
}
