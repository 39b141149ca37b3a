//! `/proc/pagetypeinfo`: free blocks per migratetype and order, and pageblocks per
//! migratetype (mm/vmstat.c `pagetypeinfo_show*`). Root-only (mode 0400) since Linux 5.4.
//!
//! The kernel prints the whole report once per node with memory: the `Page block order` /
//! `Pages per block` header, the free table, the `Number of blocks type` table, and with
//! page_owner enabled a `Number of mixed blocks` table with the same shape (ignored here).
//! Migratetype names and their order changed (3.10: Unmovable Reclaimable Movable Reserve
//! [CMA] [Isolate]; 4.4+: Unmovable Movable Reclaimable HighAtomic [CMA] [Isolate]), so they
//! are taken from each row and header, never assumed.

use serde::Serialize;

use super::node_zone;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MigrateFree {
    pub node: u32,
    pub zone: String,
    pub migratetype: String,
    /// Free blocks of order 0, 1, 2, … on this migratetype's free lists. Since Linux 5.4 the
    /// kernel stops counting a list at 100000 and prints `>100000`: such a value is stored as
    /// 100000 and is a lower bound.
    pub blocks: Vec<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PageblockCounts {
    pub node: u32,
    pub zone: String,
    /// Migratetype → pageblocks of that type, in the header's order.
    pub counts: Vec<(String, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PageTypeInfo {
    pub pageblock_order: Option<u32>,
    pub pages_per_block: Option<u64>,
    pub free: Vec<MigrateFree>,
    pub pageblocks: Vec<PageblockCounts>,
}

#[derive(Clone, Copy, PartialEq)]
enum Table {
    None,
    Free,
    Blocks,
    /// `Number of mixed blocks` (page_owner): same shape as Blocks, not what `pageblocks` means.
    Mixed,
}

/// Parses the report; rows it cannot read are skipped.
pub fn parse_pagetypeinfo(text: &str) -> PageTypeInfo {
    let mut info = PageTypeInfo::default();
    let mut table = Table::None;
    let mut header: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(v) = trimmed.strip_prefix("Page block order:") {
            // Repeated per node with the same value: the first one stands.
            info.pageblock_order = info.pageblock_order.or(v.trim().parse().ok());
            table = Table::None;
        } else if let Some(v) = trimmed.strip_prefix("Pages per block:") {
            info.pages_per_block = info.pages_per_block.or(v.trim().parse().ok());
        } else if trimmed.starts_with("Free pages count per migrate type") {
            table = Table::Free;
        } else if let Some(types) = trimmed.strip_prefix("Number of blocks type") {
            table = Table::Blocks;
            header = types.split_whitespace().map(str::to_string).collect();
        } else if trimmed.starts_with("Number of mixed blocks") {
            table = Table::Mixed;
        } else if let Some((node, zone, rest)) = node_zone(line) {
            match table {
                Table::Free => info.free.extend(free_row(node, zone, rest)),
                Table::Blocks => info.pageblocks.extend(count_row(node, zone, rest, &header)),
                Table::None | Table::Mixed => {}
            }
        }
    }
    info
}

/// ` type    Movable   1   2 >100000 …`
fn free_row(node: u32, zone: &str, rest: &str) -> Option<MigrateFree> {
    let mut words = rest.split_whitespace();
    if words.next()? != "type" {
        return None;
    }
    let migratetype = words.next()?.to_string();
    let blocks = words.map(|w| w.strip_prefix('>').unwrap_or(w).parse().ok()).collect::<Option<Vec<u64>>>()?;
    Some(MigrateFree { node, zone: zone.to_string(), migratetype, blocks })
}

/// `   247   2566   131 …`, one count per header type; a row of another width is malformed.
fn count_row(node: u32, zone: &str, rest: &str, header: &[String]) -> Option<PageblockCounts> {
    let numbers = rest.split_whitespace().map(|w| w.parse().ok()).collect::<Option<Vec<u64>>>()?;
    if numbers.len() != header.len() || header.is_empty() {
        return None;
    }
    Some(PageblockCounts { node, zone: zone.to_string(), counts: header.iter().cloned().zip(numbers).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(node: u32, zone: &str, mt: &str, blocks: &[u64]) -> MigrateFree {
        MigrateFree { node, zone: zone.into(), migratetype: mt.into(), blocks: blocks.to_vec() }
    }

    fn counts(node: u32, zone: &str, types: &[&str], n: &[u64]) -> PageblockCounts {
        PageblockCounts {
            node,
            zone: zone.into(),
            counts: types.iter().map(|t| t.to_string()).zip(n.iter().copied()).collect(),
        }
    }

    const Z: [u64; 11] = [0; 11];

    #[test]
    fn parses_3_10_two_nodes_with_an_all_zero_zone() {
        let pti = parse_pagetypeinfo(include_str!("../../../testdata/procfs/pagetypeinfo-3.10-2node.txt"));
        assert_eq!(pti.pageblock_order, Some(9));
        assert_eq!(pti.pages_per_block, Some(512));
        assert_eq!(pti.free.len(), 3 * 6 + 6);
        assert_eq!(pti.free[2], free(0, "DMA", "Movable", &[1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 3]));
        assert_eq!(pti.free[3], free(0, "DMA", "Reserve", &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(pti.free[14], free(0, "Normal", "Movable", &[20013, 9812, 4410, 1870, 702, 251, 88, 31, 9, 2, 1063]));
        let types = ["Unmovable", "Reclaimable", "Movable", "Reserve", "CMA", "Isolate"];
        let node1: Vec<MigrateFree> = pti.free.iter().filter(|f| f.node == 1).cloned().collect();
        assert_eq!(node1, types.iter().map(|t| free(1, "Normal", t, &Z)).collect::<Vec<_>>(), "fully allocated: all zero");
        assert_eq!(
            pti.pageblocks,
            vec![
                counts(0, "DMA", &types, &[1, 0, 6, 1, 0, 0]),
                counts(0, "DMA32", &types, &[22, 4, 1416, 2, 0, 0]),
                counts(0, "Normal", &types, &[611, 233, 5810, 2, 0, 0]),
                counts(1, "Normal", &types, &[402, 121, 7667, 2, 0, 0]),
            ]
        );
    }

    #[test]
    fn parses_capped_counts_and_ignores_mixed_blocks() {
        let pti = parse_pagetypeinfo(include_str!("../../../testdata/procfs/pagetypeinfo-5.4-2node-capped.txt"));
        assert_eq!((pti.pageblock_order, pti.pages_per_block), (Some(9), Some(512)));
        assert_eq!(pti.free.len(), 3 * 5 + 5);
        assert_eq!(pti.free[11], free(0, "Normal", "Movable", &[100000, 100000, 61027, 20410, 6230, 1650, 411, 98, 15, 2, 0]));
        assert_eq!(pti.free[16], free(1, "Normal", "Movable", &[98812, 100000, 70233, 18844, 4102, 712, 90, 8, 0, 0, 0]));
        let types = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"];
        assert_eq!(
            pti.pageblocks,
            vec![
                counts(0, "DMA", &types, &[1, 7, 0, 0, 0]),
                counts(0, "DMA32", &types, &[2, 1524, 2, 0, 0]),
                counts(0, "Normal", &types, &[1021, 30211, 1512, 2, 0]),
                counts(1, "Normal", &types, &[655, 31801, 312, 0, 0]),
            ]
        );
    }

    #[test]
    fn parses_6_18_live() {
        let pti = parse_pagetypeinfo(include_str!("../../../testdata/procfs/pagetypeinfo-6.18-live.txt"));
        assert_eq!((pti.pageblock_order, pti.pages_per_block), (Some(9), Some(512)));
        assert_eq!(pti.free.len(), 15);
        assert_eq!(pti.free[0], free(0, "DMA", "Unmovable", &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]));
        assert_eq!(pti.free[11], free(0, "Normal", "Movable", &[17206, 8141, 3575, 3186, 1560, 694, 333, 262, 125, 62, 199]));
        assert_eq!(pti.free[14], free(0, "Normal", "Isolate", &Z));
        let types = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"];
        assert_eq!(
            pti.pageblocks,
            vec![
                counts(0, "DMA", &types, &[1, 7, 0, 0, 0]),
                counts(0, "DMA32", &types, &[0, 1528, 0, 0, 0]),
                counts(0, "Normal", &types, &[204, 2609, 131, 0, 0]),
            ]
        );
    }

    #[test]
    fn malformed_rows_are_skipped() {
        let text = "Page block order: x\nPages per block:  512\nNode 0, zone DMA, type Movable 1 2\n\
                    Free pages count per migrate type at order 0 1\n\
                    Node 0, zone DMA, type Movable 1 -2\nNode 0, zone DMA, kind Movable 1 2\n\
                    Node 0, zone DMA, type Movable 1 2\n\
                    Number of blocks type Unmovable Movable\nNode 0, zone DMA 1\nNode 0, zone DMA 1 2\n";
        let pti = parse_pagetypeinfo(text);
        assert_eq!(pti.pageblock_order, None);
        assert_eq!(pti.pages_per_block, Some(512));
        assert_eq!(pti.free, vec![free(0, "DMA", "Movable", &[1, 2])]);
        assert_eq!(pti.pageblocks, vec![counts(0, "DMA", &["Unmovable", "Movable"], &[1, 2])]);
        assert_eq!(parse_pagetypeinfo(""), PageTypeInfo::default());
        assert_eq!(parse_pagetypeinfo("Number of blocks type\nNode 0, zone DMA\n").pageblocks, vec![]);
    }
}
