//! `/proc/buddyinfo`: free blocks per order for every node and zone. World-readable, and the
//! truth about contiguous free memory (`free` is not).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneFree {
    pub node: u32,
    pub zone: String,
    /// Free blocks of order 0, 1, 2, …
    pub free_blocks: Vec<u64>,
}

/// `n × 2^shift`, saturating: buddyinfo comes from outside (files, recordings, logs), and
/// absurd counts or column numbers must not overflow (found by fuzzing).
pub fn blocks_to_pages(n: u64, shift: u32) -> u64 {
    if n == 0 {
        0
    } else if shift >= 64 || n.leading_zeros() < shift {
        u64::MAX
    } else {
        n << shift
    }
}

impl ZoneFree {
    /// Free pages in the zone (saturating).
    pub fn free_pages(&self) -> u64 {
        self.free_blocks.iter().enumerate().fold(0u64, |sum, (order, n)| sum.saturating_add(blocks_to_pages(*n, order as u32)))
    }
}

/// Parses `Node 0, zone   Normal  35059  19214 …` lines; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<ZoneFree> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("Node")?;
            let (node, rest) = rest.split_once(',')?;
            let rest = rest.trim().strip_prefix("zone")?;
            let mut parts = rest.split_whitespace();
            let zone = parts.next()?.to_string();
            let free_blocks = parts.map(str::parse).collect::<Result<Vec<u64>, _>>().ok()?;
            Some(ZoneFree { node: node.trim().parse().ok()?, zone, free_blocks })
        })
        .collect()
}

pub fn read() -> std::io::Result<Vec<ZoneFree>> {
    Ok(parse(&std::fs::read_to_string("/proc/buddyinfo")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buddyinfo() {
        let zones = parse(
            "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n\
             Node 0, zone   Normal  35059  19214   6189   2288   1067    543    287    133     62     32     50 \n\
             garbage\nNode x, zone Normal 1\n",
        );
        assert_eq!(zones.len(), 2);
        assert_eq!(zones[1].zone, "Normal");
        assert_eq!(zones[1].free_blocks[10], 50);
        assert_eq!(zones[0].free_pages(), 256 + 512 + 3 * 1024);
    }

    /// Found by `cargo xtask fuzz`: huge counts and more columns than bits overflowed.
    #[test]
    fn absurd_buddyinfo_saturates_instead_of_overflowing() {
        let many = format!("Node 0, zone DMA 88888888888888888888 {}\n", "1 ".repeat(80));
        let huge = "Node 0, zone DMA 18446744073709551615 18446744073709551615 0 0 0 0 0 0 0 0 9\n";
        for text in [many.as_str(), huge] {
            for zone in parse(text) {
                let _ = zone.free_pages();
                for order in [0, 4, 10, 63, 64, 200] {
                    let i = zone.indices(order);
                    assert!((0.0..=1.0).contains(&i.unusable), "{i:?}");
                }
            }
        }
        assert_eq!(blocks_to_pages(3, 63), u64::MAX);
        assert_eq!(blocks_to_pages(1, 63), 1 << 63);
        assert_eq!(blocks_to_pages(5, 64), u64::MAX);
    }
}

/// The kernel's fragmentation metrics for one zone and order (mm/vmstat.c), from free block
/// counts alone, so they work on buddyinfo from any kernel and any recording.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZoneIndices {
    /// Unusable free space index, 0.0–1.0: the share of free memory in blocks too small for
    /// the order. Near 1 with plenty free = fragmented.
    pub unusable: f64,
    /// Fragmentation index, 0.0–1.0, or `None` when a suitable block exists (the kernel's
    /// −1000): near 0 a failure would be from lack of memory, near 1 from fragmentation. The
    /// kernel compacts above `vm.extfrag_threshold` (default 500, i.e. 0.5).
    pub fragmentation: Option<f64>,
}

impl ZoneFree {
    /// Both indices for allocations of `order`, with the kernel's integer arithmetic
    /// (thousandths) so the numbers match debugfs `extfrag/*_index`.
    pub fn indices(&self, order: u32) -> ZoneIndices {
        let free_pages = self.free_pages();
        let total_blocks: u64 = self.free_blocks.iter().fold(0u64, |sum, n| sum.saturating_add(*n));
        // Counted in blocks of `order`, as fill_contig_page_info does: an order-5 block is
        // 2^(5-order) suitable blocks.
        let suitable: u64 = self
            .free_blocks
            .iter()
            .enumerate()
            .skip(order as usize)
            .fold(0u64, |sum, (k, n)| sum.saturating_add(blocks_to_pages(*n, k as u32 - order)));
        let unusable = if free_pages == 0 {
            1000
        } else {
            let unusable_pages = free_pages - blocks_to_pages(suitable, order).min(free_pages);
            (u128::from(unusable_pages) * 1000 / u128::from(free_pages)) as u64
        };
        let fragmentation = if suitable > 0 {
            None
        } else if total_blocks == 0 {
            Some(0)
        } else {
            // 1000 - (1000 + free_pages * 1000 / 2^order) / total_blocks, as in
            // __fragmentation_index; signed: it goes negative (debugfs prints `0.-500`) when
            // a few free blocks add up to more than the request.
            let requested = 1i128 << order.min(100);
            let value = 1000 - (1000 + i128::from(free_pages) * 1000 / requested) / i128::from(total_blocks);
            Some(value as i64)
        };
        ZoneIndices { unusable: unusable as f64 / 1000.0, fragmentation: fragmentation.map(|f| f as f64 / 1000.0) }
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    fn zone(blocks: &[u64]) -> ZoneFree {
        ZoneFree { node: 0, zone: "Normal".into(), free_blocks: blocks.to_vec() }
    }

    #[test]
    fn unusable_index_is_the_share_in_too_small_blocks() {
        // 8 free pages: four order-0 blocks and one order-2 block.
        let z = zone(&[4, 0, 1]);
        assert_eq!(z.indices(0).unusable, 0.0);
        assert_eq!(z.indices(1).unusable, 0.5, "the order-0 pages are unusable for order 1");
        assert_eq!(z.indices(3).unusable, 1.0);
        assert_eq!(zone(&[0, 0]).indices(0).unusable, 1.0, "no free memory is fully unusable");
    }

    #[test]
    fn fragmentation_index_matches_the_kernel() {
        assert_eq!(zone(&[4, 0, 1]).indices(2).fragmentation, None, "a suitable block exists (-1000)");
        // 1000 free order-0 pages, order 3: 1000 - (1000 + 1000*1000/8) / 1000 = 1000 - 126 = 874.
        assert_eq!(zone(&[1000]).indices(3).fragmentation, Some(0.874));
        // One order-0 page for an order-10 request: 1000 - (1000 + 0) / 1 = 0: lack of memory.
        assert_eq!(zone(&[1]).indices(10).fragmentation, Some(0.0));
        // One order-9 block asked about order 10: 1000 - (1000 + 512000/1024) / 1 = -500.
        let mut only_order9 = vec![0; 10];
        only_order9[9] = 1;
        assert_eq!(zone(&only_order9).indices(10).fragmentation, Some(-0.5), "negative, as the kernel computes it");
        assert_eq!(zone(&[0; 11]).indices(4).fragmentation, Some(0.0), "an empty zone: lack of memory, as the kernel says");
        // Suitable blocks are counted in units of the order: two order-3 blocks are 4 order-2.
        // 24 free pages, 16 of them in suitable blocks: (24 - 16) * 1000 / 24 = 333.
        assert_eq!(zone(&[8, 0, 0, 2]).indices(2).unusable, 0.333);
    }
}
