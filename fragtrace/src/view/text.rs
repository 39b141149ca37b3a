//! Plain-text rendering of a snapshot: `top --batch` output and the `report` summary.
//! Pure functions of their inputs so they can be tested with fixed snapshots.

use std::fmt::Write;

use crate::{
    aggregate::{ORDERS, Snapshot},
    buddyinfo::ZoneFree,
    event::migratetype_name,
    gfp::GfpTable,
};

/// Facts shown in the header line.
pub struct HeaderInfo<'a> {
    pub host: &'a str,
    pub kernel: &'a str,
    pub probe_mode: &'a str,
    pub elapsed_s: f64,
    /// Allocations per second seen by the probe over the last interval.
    pub allocs_per_s: f64,
}

pub struct RenderInput<'a> {
    pub header: HeaderInfo<'a>,
    pub snapshot: &'a Snapshot,
    pub gfp: &'a GfpTable,
    pub zones: &'a [ZoneFree],
    pub stack_of: &'a dyn Fn(u32) -> Option<String>,
    pub max_rows: usize,
}

pub fn render(input: &RenderInput<'_>) -> String {
    let s = input.snapshot;
    let h = &input.header;
    let mut out = String::new();
    let c = &s.counters;
    let _ = writeln!(
        out,
        "fragtrace — {} — kernel {} — probe {} — {:.0}s — {:.0} allocs/s — failures {} (silent {}) — extfrag {} — dropped {}{}",
        h.host, h.kernel, h.probe_mode, h.elapsed_s, h.allocs_per_s, s.failures, s.silent_failures, s.extfrag, c.dropped,
        if c.dropped > 0 { " (!)" } else { "" },
    );
    let _ = writeln!(out, "delivery lag p50 {}µs p99 {}µs max {}µs", s.lag.p50_us, s.lag.p99_us, s.lag.max_us);

    let _ = writeln!(out, "\nFAILURES  {:<16} {:>5} {:>8}  {:<44} {}", "COMM", "ORDER", "COUNT", "GFP", "TOP STACK");
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

    let _ = write!(out, "\nORDERS   ");
    for order in 0..ORDERS {
        let _ = write!(out, " {order:>2}:{:<5}", s.by_order[order]);
    }
    let _ = writeln!(out);

    let _ = writeln!(
        out,
        "\nEXTFRAG   total {} fragmenting {} severe(≤3) {}",
        s.extfrag, s.extfrag_fragmenting, s.extfrag_severe
    );
    for g in s.extfrag_groups.iter().take(input.max_rows) {
        let _ = writeln!(
            out,
            "          {:>11} → {:<11} {:>8}  fragmenting {}",
            migratetype_name(g.alloc_migratetype),
            migratetype_name(g.fallback_migratetype),
            g.count,
            g.fragmenting
        );
    }

    if !input.zones.is_empty() {
        let _ = writeln!(out, "\nZONES     free blocks per order 0..10 (/proc/buddyinfo)");
        for z in input.zones {
            let blocks: Vec<String> = z.free_blocks.iter().map(|n| format!("{n:>6}")).collect();
            let _ = writeln!(out, "  node {} {:<8}{}", z.node, z.zone, blocks.join(""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{aggregate::FailureGroup, gfp::GfpName};

    #[test]
    fn renders_groups_orders_and_zones() {
        let mut snapshot = Snapshot::default();
        snapshot.failures = 3;
        snapshot.by_order[6] = 3;
        snapshot.groups.push(FailureGroup { comm: "runc:[1:CHILD]".into(), order: 6, gfp_mask: 0x50, count: 3, last_seen_ns: 1, top_stack: Some(7) });
        let gfp = GfpTable { names: vec![GfpName { value: 0x50, name: "GFP_X".into() }] };
        let zones = vec![ZoneFree { node: 0, zone: "Normal".into(), free_blocks: vec![5, 0, 0] }];
        let stack_of = |id: u32| (id == 7).then(|| "nf_conntrack_init_net".to_string());
        let text = render(&RenderInput {
            header: HeaderInfo { host: "h", kernel: "3.10", probe_mode: "tp_btf", elapsed_s: 1.0, allocs_per_s: 10.0 },
            snapshot: &snapshot,
            gfp: &gfp,
            zones: &zones,
            stack_of: &stack_of,
            max_rows: 10,
        });
        let row = text.lines().find(|l| l.contains("runc:[1:CHILD]")).expect("group row");
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            vec!["runc:[1:CHILD]", "6", "3", "GFP_X", "nf_conntrack_init_net"]
        );
        assert!(text.contains(" 6:3 "), "{text}");
        assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["node", "0", "Normal", "5", "0", "0"]));
    }
}
