//! Plain-text rendering of a snapshot: `top --batch` output and the `report` summary.
//! Pure functions of their inputs so they can be tested with fixed snapshots.

use std::fmt::Write;

use crate::{
    aggregate::{ORDERS, Snapshot},
    event::migratetype_name,
    gfp::GfpTable,
};

/// Facts shown in the header line.
pub struct HeaderInfo<'a> {
    pub host: &'a str,
    pub kernel: &'a str,
    pub probe_mode: &'a str,
    pub elapsed_s: f64,
    /// Allocations per second seen by the probe over the last interval (`None` offline).
    pub allocs_per_s: Option<f64>,
}

pub struct RenderInput<'a> {
    pub header: HeaderInfo<'a>,
    pub snapshot: &'a Snapshot,
    pub gfp: &'a GfpTable,
    pub stack_of: &'a dyn Fn(u32) -> Option<String>,
    pub max_rows: usize,
}

const BAR_WIDTH: usize = 20;

/// A horizontal bar of `value / max` of `width` cells, in eighths of a cell; a non-zero
/// value is always visible. Not padded.
pub fn bar_of_width(value: u64, max: u64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max == 0 || value == 0 || width == 0 {
        return String::new();
    }
    let eighths = ((value as u128 * (width * 8) as u128).div_ceil(max as u128) as usize).clamp(1, width * 8);
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// `bar_of_width` padded to `BAR_WIDTH` cells.
pub fn bar(value: u64, max: u64) -> String {
    format!("{:<BAR_WIDTH$}", bar_of_width(value, max, BAR_WIDTH))
}

/// Rows of `label  count  bar`, the bar scaled to the largest count shown.
fn bar_table<'a>(out: &mut String, title: &str, rows: impl Iterator<Item = (String, u64)> + 'a, max_rows: usize) {
    let rows: Vec<(String, u64)> = rows.take(max_rows).collect();
    let _ = writeln!(out, "\n{title}");
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0).clamp(8, 60);
    for (label, count) in rows {
        let _ = writeln!(out, "  {label:<width$} {count:>9}  {}", bar(count, max));
    }
}

/// Who fragments: extfrag fallbacks per process and pod, most harmful first.
fn who_fragments(out: &mut String, s: &crate::aggregate::Snapshot, max_rows: usize) {
    let p = &s.polluters;
    if p.by_comm.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nWHO FRAGMENTS (harm: stolen pageblock ×{}, fragmenting ×{}, other ×{})", crate::aggregate::HARM_STOLEN, crate::aggregate::HARM_FRAGMENTING, crate::aggregate::HARM_OTHER);
    let max = p.by_comm.iter().map(|c| c.counts.harm()).chain(p.by_pod.iter().map(|c| c.counts.harm())).max().unwrap_or(0);
    let rows = p.by_comm.iter().map(|c| (c.comm.clone(), &c.counts)).chain(p.by_pod.iter().map(|c| (format!("pod {}", c.pod), &c.counts)));
    for (name, c) in rows.take(max_rows) {
        let _ = writeln!(out, "          {:<24} harm {:>8}  stolen {:<7} fragmenting {:<7} other {:<7} {}", name, c.harm(), c.stolen, c.fragmenting, c.other, bar(c.harm(), max));
    }
}

/// The whole report: header, failures (by group, then broken down), extfrag, stalls, OOM
/// kills and the zones' free lists.
pub fn render(input: &RenderInput<'_>) -> String {
    let mut out = String::new();
    header(&mut out, input);
    failure_groups(&mut out, input);
    failure_breakdowns(&mut out, input);
    extfrag(&mut out, input);
    who_fragments(&mut out, input.snapshot, input.max_rows);
    stalls(&mut out, input.snapshot);
    oom_kills(&mut out, input);
    zones(&mut out, input.snapshot);
    out
}

/// The header line, and what watched failures, how, and with what delay.
fn header(out: &mut String, input: &RenderInput<'_>) {
    let s = input.snapshot;
    let h = &input.header;
    let rate = h.allocs_per_s.map(|r| format!(" — {r:.0} allocs/s")).unwrap_or_default();
    let _ = writeln!(
        out,
        "fragtrace — {} — kernel {} — probe {} — {:.0}s{rate} — failures {} (silent {}) — extfrag {} — dropped {}{}",
        h.host, h.kernel, h.probe_mode, h.elapsed_s, s.failures, s.silent_failures, s.extfrag, s.lost,
        if s.lost > 0 { " (!)" } else { "" },
    );
    if let Some(a) = &s.alloc_probe {
        let _ = writeln!(
            out,
            "per-allocation probe {} — watched {:.0}s of {:.0}s{}",
            a.describe(),
            a.attached_ns as f64 / 1e9,
            a.observed_ns as f64 / 1e9,
            if a.partial() { format!(", attached {}× on memory pressure; failures while idle were not seen", a.attaches) } else { String::new() },
        );
    }
    if s.by_hook.iter().any(|(h, _)| *h != crate::event::FailureHook::Tracepoint) {
        let causes: Vec<String> = s.by_hook.iter().map(|(h, n)| format!("{} {n}", h.label())).collect();
        let _ = writeln!(out, "what failed: {}", causes.join(", "));
    }
    if h.allocs_per_s.is_some() {
        let _ = writeln!(out, "delivery lag p50 {}µs p99 {}µs max {}µs", s.lag.p50_us, s.lag.p99_us, s.lag.max_us);
    }
}

/// Failures by (comm, order, mask), with each group's top stack.
fn failure_groups(out: &mut String, input: &RenderInput<'_>) {
    let s = input.snapshot;
    let _ = writeln!(out, "\nFAILURES  {:<16} {:>5} {:>8}  {:<44} TOP STACK", "COMM", "ORDER", "COUNT", "GFP");
    if s.groups.is_empty() {
        let _ = writeln!(out, "          (no allocation failures)");
    }
    for g in s.groups.iter().take(input.max_rows) {
        let stack = g.top_stack.and_then(|id| (input.stack_of)(id)).unwrap_or_default();
        let _ = writeln!(
            out,
            "          {:<16} {:>5} {:>8}  {:<44} {}",
            g.comm, g.order, g.count, input.gfp.decode_joined(g.gfp_mask), stack
        );
    }
}

/// Failures by order, GFP mask, process, pod and cgroup, as bar tables.
fn failure_breakdowns(out: &mut String, input: &RenderInput<'_>) {
    let s = input.snapshot;
    let max_order = s.by_order.iter().copied().max().unwrap_or(0);
    let _ = writeln!(out, "\nFAILURES BY ORDER");
    for order in 0..ORDERS {
        if s.by_order[order] > 0 {
            let label = if order == ORDERS - 1 { format!("{order}+") } else { order.to_string() };
            let _ = writeln!(out, "  order {label:<3} {:>9}  {}", s.by_order[order], bar(s.by_order[order], max_order));
        }
    }
    if max_order == 0 {
        let _ = writeln!(out, "  (none)");
    }
    bar_table(
        out,
        "FAILURES BY GFP MASK",
        s.by_gfp.iter().map(|(mask, n)| (format!("{mask:#x} {}", input.gfp.decode_joined(*mask)), *n)),
        input.max_rows,
    );
    bar_table(out, "FAILURES BY PROCESS", s.by_comm.iter().map(|(c, n)| (c.clone(), *n)), input.max_rows);
    if !s.by_pod.is_empty() {
        bar_table(out, "FAILURES BY POD", s.by_pod.iter().map(|p| (p.pod.clone(), p.count)), input.max_rows);
    }
    bar_table(
        out,
        "FAILURES BY CGROUP",
        s.by_cgroup.iter().map(|c| (c.path.clone().unwrap_or_else(|| format!("cgroup id {}", c.cgroup_id)), c.count)),
        input.max_rows,
    );
}

/// Extfrag totals and the migratetype pairs that fell back.
fn extfrag(out: &mut String, input: &RenderInput<'_>) {
    let s = input.snapshot;
    let _ = writeln!(
        out,
        "\nEXTFRAG   total {} fragmenting {} severe(≤3) {}",
        s.extfrag, s.extfrag_fragmenting, s.extfrag_severe
    );
    let max_extfrag = s.extfrag_groups.iter().map(|g| g.count).max().unwrap_or(0);
    for g in s.extfrag_groups.iter().take(input.max_rows) {
        let _ = writeln!(
            out,
            "          {:>11} → {:<11} {:>8}  fragmenting {:<8} severe {:<8} {}",
            migratetype_name(g.alloc_migratetype),
            migratetype_name(g.fallback_migratetype),
            g.count,
            g.fragmenting,
            g.severe,
            bar(g.count, max_extfrag),
        );
    }
}

/// Stall latencies per kind and order, and who stalled most (nothing without stalls).
fn stalls(out: &mut String, s: &Snapshot) {
    if s.stalls.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nSTALLS    {:<15} {:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10}", "KIND", "ORDER", "COUNT", "p50 µs", "p90 µs", "p99 µs", "max µs", "total ms");
    for st in &s.stalls {
        let kind = serde_json::to_value(st.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let _ = writeln!(
            out,
            "          {kind:<15} {:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>10.1}",
            st.order, st.count, st.p50_us, st.p90_us, st.p99_us, st.max_us, st.total_us as f64 / 1000.0
        );
    }
    let top: Vec<String> = s.stalls_by_comm.iter().take(5).map(|(c, us)| format!("{c} {:.1} ms", *us as f64 / 1000.0)).collect();
    let _ = writeln!(out, "          stalled most: {}", top.join(", "));
}

/// The newest OOM kills (nothing without any).
fn oom_kills(out: &mut String, input: &RenderInput<'_>) {
    let s = input.snapshot;
    if s.oom_total == 0 {
        return;
    }
    let _ = writeln!(out, "\nOOM KILLS {}", s.oom_total);
    for o in s.ooms.iter().rev().take(input.max_rows) {
        let _ = writeln!(out, "          {} (pid {}) killed, {} MiB anon, chosen by {}", o.victim_comm, o.victim_pid, o.anon_rss_kb / 1024, o.killer);
    }
}

/// Free blocks per order of every zone (nothing before the first zone snapshot).
fn zones(out: &mut String, s: &Snapshot) {
    if s.zones.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nZONES     free blocks per order 0..10 (/proc/buddyinfo)");
    for z in &s.zones {
        let blocks: Vec<String> = z.free_blocks.iter().map(|n| format!("{n:>6}")).collect();
        let _ = writeln!(out, "  node {} {:<8}{}", z.node, z.zone, blocks.join(""));
    }
    super::census::render(out, &s.pageblocks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        aggregate::{CgroupCount, FailureGroup},
        gfp::GfpName,
        host::buddyinfo::ZoneFree,
    };

    #[test]
    fn bars_scale_to_the_largest_value() {
        assert_eq!(bar(10, 10).trim_end().chars().count(), BAR_WIDTH);
        assert_eq!(bar(5, 10).trim_end(), "█".repeat(BAR_WIDTH / 2));
        assert_eq!(bar(0, 10).trim(), "");
        assert_eq!(bar(1, 1_000_000).trim_end(), "▏", "a non-zero count is always visible");
        assert_eq!(bar(3, 0).trim(), "");
        assert!(bar(7, 10).chars().count() == BAR_WIDTH);
    }

    #[test]
    fn renders_groups_orders_tables_and_zones() {
        let mut snapshot = Snapshot { failures: 3, ..Default::default() };
        snapshot.by_order[6] = 3;
        snapshot.groups.push(FailureGroup { comm: "runc:[1:CHILD]".into(), order: 6, gfp_mask: 0x50, count: 3, last_seen_ns: 1, top_stack: Some(7), stacks: vec![(7, 3)] });
        snapshot.by_gfp = vec![(0x50, 3)];
        snapshot.by_comm = vec![("runc:[1:CHILD]".into(), 3)];
        snapshot.by_cgroup = vec![CgroupCount { cgroup_id: 9, path: Some("/kubepods/pod1".into()), count: 2, last_seen_ns: 0 }, CgroupCount { cgroup_id: 4, path: None, count: 1, last_seen_ns: 0 }];
        snapshot.zones = vec![ZoneFree { node: 0, zone: "Normal".into(), free_blocks: vec![5, 0, 0] }];
        let gfp = GfpTable { names: vec![GfpName { value: 0x50, name: "GFP_X".into() }] };
        let stack_of = |id: u32| (id == 7).then(|| "nf_conntrack_init_net".to_string());
        let text = render(&RenderInput {
            header: HeaderInfo { host: "h", kernel: "3.10", probe_mode: "tp_btf", elapsed_s: 1.0, allocs_per_s: Some(10.0) },
            snapshot: &snapshot,
            gfp: &gfp,
            stack_of: &stack_of,
            max_rows: 10,
        });
        let row = text.lines().find(|l| l.contains("runc:[1:CHILD]")).expect("group row");
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            vec!["runc:[1:CHILD]", "6", "3", "GFP_X", "nf_conntrack_init_net"]
        );
        let order_row = text.lines().find(|l| l.trim_start().starts_with("order 6")).expect("order row");
        assert!(order_row.contains(&"█".repeat(BAR_WIDTH)), "{order_row}");
        assert!(text.lines().any(|l| l.trim_start().starts_with("0x50 GFP_X") && l.contains(" 3 ")), "{text}");
        let cg = text.lines().find(|l| l.contains("/kubepods/pod1")).expect("cgroup row");
        assert!(cg.contains(&"█".repeat(BAR_WIDTH)));
        assert!(text.lines().any(|l| l.contains("cgroup id 4")), "unresolved cgroups show their id");
        assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["node", "0", "Normal", "5", "0", "0"]));
    }
}
