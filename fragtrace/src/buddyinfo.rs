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

impl ZoneFree {
    /// Free pages in the zone.
    pub fn free_pages(&self) -> u64 {
        self.free_blocks.iter().enumerate().map(|(order, n)| n << order).sum()
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
}
