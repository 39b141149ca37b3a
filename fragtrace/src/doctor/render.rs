//! The doctor's text report.

use std::fmt::Write;

use super::diagnose::Diagnosis;

pub fn render(d: &Diagnosis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "VERDICT");
    for f in &d.findings {
        let _ = writeln!(out, "  • {f}");
    }
    let _ = writeln!(out, "\nZONES     free blocks per order 0..10 · unusable index / fragmentation index per order");
    for z in &d.zones {
        let blocks: Vec<String> = z.free_blocks.iter().map(|n| format!("{n:>6}")).collect();
        let _ = writeln!(out, "  node {} {:<8}{}   {} MiB free, {}", z.node, z.zone, blocks.join(""), z.free_mib, z.state);
        let unusable: Vec<String> = z.unusable_index.iter().map(|v| format!("{v:>6.3}")).collect();
        let frag: Vec<String> = z.fragmentation_index.iter().map(|v| if *v < 0.0 { format!("{:>6}", "-") } else { format!("{v:>6.3}") }).collect();
        let _ = writeln!(out, "    unusable      {}", unusable.join(""));
        let _ = writeln!(out, "    fragmentation {}", frag.join(""));
    }
    if !d.remedies.is_empty() {
        let _ = writeln!(out, "\nREMEDIES (cheapest first)");
        for (i, r) in d.remedies.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}: {}\n     cost: {}\n     $ {}", i + 1, r.name, r.why, r.cost, r.command);
        }
    }
    if !d.prevention.is_empty() {
        let _ = writeln!(out, "\nPREVENTION (from this machine's numbers)");
        for p in &d.prevention {
            let _ = writeln!(out, "  • {}: {}\n    cost: {}\n    $ {}", p.name, p.why, p.cost, p.command);
        }
    }
    if d.remedies.is_empty() && d.prevention.is_empty() {
        let _ = writeln!(out, "\nNothing to fix: high-order memory is available.");
    }
    out
}
