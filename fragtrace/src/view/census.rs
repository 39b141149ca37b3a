//! The pageblock census in text (`report`, `top --batch`, `doctor`): per zone, pageblocks
//! per migratetype at the first sample and the last, and the growth of the unmovable and
//! reclaimable ones.

use std::fmt::Write;

use crate::census::ZoneCensus;

/// `Unmovable 207 → 217 (+10)`, or `Isolate 0` when it did not change.
fn migratetype(z: &ZoneCensus, name: &str, last: u64) -> String {
    let first = z.first.count(name).unwrap_or(0);
    if first == last { format!("{name} {last}") } else { format!("{name} {first} → {last} ({:+})", last as i64 - first as i64) }
}

/// The growth line: `+15 unmovable+reclaimable since the first sample (7200 s ago), +7.5/h`.
pub fn growth_line(z: &ZoneCensus) -> String {
    let growth = z.pinned_growth();
    let rate = z.per_hour(growth).map(|r| format!(", {r:+.1}/h")).unwrap_or_default();
    format!("{growth:+} unmovable+reclaimable over {:.0} s{rate}", z.window_s())
}

/// Appends the census section; nothing without one.
pub fn render(out: &mut String, census: &[ZoneCensus]) {
    if census.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nPAGEBLOCKS per migratetype (/proc/pagetypeinfo), first sample → last");
    for z in census {
        let types: Vec<String> = z.last.counts.iter().map(|(t, n)| migratetype(z, t, *n)).collect();
        let _ = writeln!(out, "  node {} {:<8}{}", z.node, z.zone, types.join("  "));
        let _ = writeln!(out, "  {:<15}{}", "", growth_line(z));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::census::PageblockCensus;

    #[test]
    fn shows_first_last_and_growth() {
        let table = |u: u64, m: u64, r: u64| {
            format!("Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \nNode 0, zone   Normal {u:>12} {m:>12} {r:>12}            0            0 \n")
        };
        let mut c = PageblockCensus::default();
        c.observe_text(0, Some(&table(207, 7476, 317)));
        c.observe_text(7_200_000_000_000, Some(&table(217, 7461, 322)));
        let mut out = String::new();
        render(&mut out, &c.zones);
        assert_eq!(
            out,
            "\nPAGEBLOCKS per migratetype (/proc/pagetypeinfo), first sample → last\n  \
             node 0 Normal  Unmovable 207 → 217 (+10)  Movable 7476 → 7461 (-15)  Reclaimable 317 → 322 (+5)  HighAtomic 0  Isolate 0\n                 \
             +15 unmovable+reclaimable over 7200 s, +7.5/h\n"
        );
        let mut empty = String::new();
        render(&mut empty, &[]);
        assert_eq!(empty, "");
    }
}
