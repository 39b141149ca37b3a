//! `/proc/zoneinfo`: per-zone watermarks and sizes (mm/vmstat.c `zoneinfo_show_print`).
//!
//! The layout moved between kernels and this parser only relies on what stayed put: a
//! `Node N, zone NAME` header, then `pages free N` and `KEY N` lines up to `pagesets`.
//! - 2.6.x: no `managed` line (added in 3.8); `protection:` after the zone counters.
//! - 3.x: `managed` after `present`; still `protection:` after the counters.
//! - 4.8+: a `per-node stats` block under each node's first zone; `protection:` right after
//!   the sizes; 4.13+ prints unpopulated zones too, without `pagesets`; 5.x adds `boost`,
//!   `cma`, 6.x `promo`.

use serde::Serialize;

use super::node_zone;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ZoneInfo {
    pub node: u32,
    pub zone: String,
    pub free_pages: u64,
    /// Watermarks, in pages.
    pub min: u64,
    pub low: u64,
    pub high: u64,
    pub spanned: u64,
    pub present: u64,
    /// Pages the buddy allocator manages; `None` before Linux 3.8, which did not print it.
    pub managed: Option<u64>,
    /// `lowmem_reserve`: pages kept free in this zone against allocations that could have
    /// used each higher zone, one entry per zone type.
    pub protection: Vec<u64>,
}

/// Parses every zone; a zone missing any of free/min/low/high/spanned/present (a truncated
/// read) is left out rather than reported with made-up zeros.
pub fn parse_zoneinfo(text: &str) -> Vec<ZoneInfo> {
    let mut zones = Vec::new();
    let mut current: Option<Partial> = None;
    for line in text.lines() {
        if let Some((node, zone, _)) = node_zone(line) {
            zones.extend(current.take().and_then(Partial::finish));
            current = Some(Partial { info: ZoneInfo { node, zone: zone.to_string(), ..ZoneInfo::default() }, ..Partial::default() });
            continue;
        }
        let Some(partial) = current.as_mut() else { continue };
        // Past `pagesets` come per-cpu `high:`/`count:` lines that must not be taken for the
        // zone's watermarks.
        if partial.in_pagesets {
            continue;
        }
        partial.line(line.trim());
    }
    zones.extend(current.and_then(Partial::finish));
    zones
}

#[derive(Default)]
struct Partial {
    info: ZoneInfo,
    seen: u8,
    in_pagesets: bool,
}

const FREE: u8 = 1;
const MIN: u8 = 2;
const LOW: u8 = 4;
const HIGH: u8 = 8;
const SPANNED: u8 = 16;
const PRESENT: u8 = 32;
const REQUIRED: u8 = FREE | MIN | LOW | HIGH | SPANNED | PRESENT;

impl Partial {
    fn line(&mut self, line: &str) {
        if line == "pagesets" {
            self.in_pagesets = true;
            return;
        }
        if let Some(list) = line.strip_prefix("protection:") {
            self.info.protection = parse_protection(list).unwrap_or_default();
            return;
        }
        let mut words = line.split_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next()) else { return };
        let (key, value) = if key == "pages" && value == "free" {
            ("free", words.next())
        } else {
            (key, Some(value))
        };
        let Some(Ok(n)) = value.map(str::parse::<u64>) else { return };
        let info = &mut self.info;
        let (field, bit) = match key {
            "free" => (&mut info.free_pages, FREE),
            "min" => (&mut info.min, MIN),
            "low" => (&mut info.low, LOW),
            "high" => (&mut info.high, HIGH),
            "spanned" => (&mut info.spanned, SPANNED),
            "present" => (&mut info.present, PRESENT),
            "managed" => {
                info.managed = Some(n);
                return;
            }
            _ => return,
        };
        *field = n;
        self.seen |= bit;
    }

    fn finish(self) -> Option<ZoneInfo> {
        (self.seen & REQUIRED == REQUIRED).then_some(self.info)
    }
}

/// `(0, 3019, 8907, 8907)` → the numbers; `None` when any is malformed.
fn parse_protection(list: &str) -> Option<Vec<u64>> {
    let inner = list.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(|n| n.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pages` is free, min, low, high, spanned, present.
    fn zone(node: u32, name: &str, pages: [u64; 6], managed: Option<u64>, protection: &[u64]) -> ZoneInfo {
        let [free_pages, min, low, high, spanned, present] = pages;
        ZoneInfo { node, zone: name.into(), free_pages, min, low, high, spanned, present, managed, protection: protection.to_vec() }
    }

    #[test]
    fn parses_2_6_32_without_managed() {
        let zones = parse_zoneinfo(include_str!("../../../testdata/procfs/zoneinfo-2.6.32.txt"));
        assert_eq!(
            zones,
            vec![
                zone(0, "DMA", [3935, 20, 25, 30, 4080, 3920], None, &[0, 3502, 4010, 4010]),
                zone(0, "DMA32", [845201, 4826, 6032, 7239, 1044480, 896720], None, &[0, 0, 508, 508]),
                zone(0, "Normal", [41277, 700, 875, 1050, 131072, 130048], None, &[0, 0, 0, 0]),
            ]
        );
    }

    #[test]
    fn parses_3_10_two_nodes() {
        let zones = parse_zoneinfo(include_str!("../../../testdata/procfs/zoneinfo-3.10.txt"));
        assert_eq!(
            zones,
            vec![
                zone(0, "DMA", [3975, 33, 41, 49, 4095, 3994], Some(3975), &[0, 2811, 15891, 15891]),
                zone(0, "DMA32", [651437, 6210, 7762, 9315, 1044480, 723929], Some(719624), &[0, 0, 13080, 13080]),
                zone(0, "Normal", [1203311, 28893, 36116, 43339, 3407872, 3407872], Some(3348664), &[0, 0, 0, 0]),
                zone(1, "Normal", [1764022, 45113, 56391, 67669, 4194304, 4194304], Some(4128768), &[0, 0, 0, 0]),
            ]
        );
    }

    #[test]
    fn parses_6_18_live_with_per_node_stats_and_unpopulated_zones() {
        let zones = parse_zoneinfo(include_str!("../../../testdata/procfs/zoneinfo-6.18-live.txt"));
        let p = &[0, 0, 0, 0, 0];
        assert_eq!(
            zones,
            vec![
                zone(0, "DMA", [3840, 28, 35, 42, 4095, 3998], Some(3840), &[0, 3019, 8907, 8907, 8907]),
                zone(0, "DMA32", [772915, 5717, 7146, 8575, 1044480, 782336], Some(772915), &[0, 0, 5888, 5888, 5888]),
                zone(0, "Normal", [528793, 11150, 13937, 16724, 5505024, 5505024], Some(1507328), p),
                zone(0, "Movable", [0, 32, 32, 32, 0, 0], Some(0), p),
                zone(0, "Device", [0, 0, 0, 0, 0, 0], Some(0), p),
            ]
        );
    }

    #[test]
    fn pageset_lines_do_not_overwrite_watermarks() {
        let text = "Node 0, zone   Normal\n  pages free     10\n        min      1\n        low      2\n        high     3\n        spanned  9\n        present  9\n  pagesets\n    cpu: 0\n              high:  186\n        min      77\n";
        assert_eq!(parse_zoneinfo(text), vec![zone(0, "Normal", [10, 1, 2, 3, 9, 9], None, &[])]);
    }

    #[test]
    fn truncated_and_garbage_input_yields_no_made_up_zones() {
        assert_eq!(parse_zoneinfo(""), vec![]);
        assert_eq!(parse_zoneinfo("Node 0, zone Normal\n  pages free 5\n        min 1\n"), vec![]);
        assert_eq!(parse_zoneinfo("\u{0}\u{ffff}\nNode\nNode 0,\n pages free x\n protection: (1, x)\n"), vec![]);
        // A malformed protection list is dropped, not half-parsed.
        let text = "Node 1, zone DMA\npages free 1\nmin 1\nlow 1\nhigh 1\nspanned 1\npresent 1\nprotection: (1, -2)\n";
        assert_eq!(parse_zoneinfo(text), vec![zone(1, "DMA", [1, 1, 1, 1, 1, 1], None, &[])]);
    }
}
