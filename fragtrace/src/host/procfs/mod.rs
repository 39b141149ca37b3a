//! The kernel's zone-state files, parsed on every kernel format from 2.6.32 to 6.x:
//! `/proc/buddyinfo` (via [`crate::host::buddyinfo`]), `/proc/zoneinfo` ([`zoneinfo`]),
//! `/proc/pagetypeinfo` ([`pagetypeinfo`]), `/proc/vmstat` ([`vmstat`]), and debugfs
//! `extfrag/*_index` ([`debugfs`]), the kernel's own fragmentation indices.
//!
//! # Why not the `procfs` crate
//!
//! `procfs` 0.18 (and `procfs-core`, which parses from any reader) was checked first. It has
//! no parser for buddyinfo, zoneinfo or pagetypeinfo, so those had to be written anyway. It
//! does parse vmstat, but:
//! - one malformed line fails the whole file (`expect!` returns an error), where we want
//!   the other counters;
//! - values are `i64` in a `HashMap`, where every vmstat value is the kernel's `%lu` and we
//!   want a sorted map to serialize stably;
//! - for those ten lines it would bring `procfs-core`, `bitflags`, `hex` and, by default,
//!   `chrono`, `flate2` and `rustix`.
//!
//! So every parser here is our own: small, line-oriented, skipping what it does not
//! understand instead of failing, and never panicking on any input.

pub mod debugfs;
pub mod pagetypeinfo;
pub mod vmstat;
pub mod zoneinfo;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::host::buddyinfo::{self, ZoneFree};

pub use debugfs::{ZoneIndexRow, parse_index_file, read_kernel_indices};
pub use pagetypeinfo::{MigrateFree, PageTypeInfo, PageblockCounts, parse_pagetypeinfo};
pub use vmstat::{VmstatRates, parse_vmstat, vmstat_rates};
pub use zoneinfo::{ZoneInfo, parse_zoneinfo};

#[derive(Debug, thiserror::Error)]
pub enum ProcfsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "debugfs is not available: this kernel was built without CONFIG_DEBUG_FS, or booted with \
         debugfs=off (no `debugfs` in /proc/filesystems), so the kernel's extfrag indices cannot be read"
    )]
    NoDebugfs,
    #[error("debugfs is not mounted and mounting it at {path} failed: {source} (mounting needs root)")]
    Mount { path: String, source: std::io::Error },
    #[error(
        "{path} does not exist although debugfs is mounted: this kernel has no extfrag debugfs files \
         (they need CONFIG_COMPACTION as well as CONFIG_DEBUG_FS)"
    )]
    NoExtfrag { path: String },
}

/// Everything the zone-state files say, read at (nearly) one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ZoneState {
    pub buddyinfo: Vec<ZoneFree>,
    pub zoneinfo: Vec<ZoneInfo>,
    /// `None` when unreadable: mode 0400 (root only) since Linux 5.4.
    pub pagetypeinfo: Option<PageTypeInfo>,
    pub vmstat: BTreeMap<String, u64>,
    /// CLOCK_MONOTONIC nanoseconds before the first read, the clock eBPF events are stamped with.
    pub taken_ns: u64,
}

/// Reads the four files now. buddyinfo, zoneinfo and vmstat are world-readable on every
/// kernel with /proc, so a failure there is logged and left empty rather than failing the
/// whole snapshot: the rest still explains something.
pub fn read_all() -> ZoneState {
    let taken_ns = crate::host::clock::monotonic_ns();
    ZoneState {
        buddyinfo: read_logged("/proc/buddyinfo").map(|t| buddyinfo::parse(&t)).unwrap_or_default(),
        zoneinfo: read_logged("/proc/zoneinfo").map(|t| parse_zoneinfo(&t)).unwrap_or_default(),
        // Not logged: unreadable without root is the normal case, not an error.
        pagetypeinfo: std::fs::read_to_string("/proc/pagetypeinfo").ok().map(|t| parse_pagetypeinfo(&t)),
        vmstat: read_logged("/proc/vmstat").map(|t| parse_vmstat(&t)).unwrap_or_default(),
        taken_ns,
    }
}

fn read_logged(path: &str) -> Option<String> {
    std::fs::read_to_string(path).map_err(|e| log::warn!("cannot read {path}: {e}")).ok()
}

/// Splits `Node 0, zone   Normal rest…` into `(0, "Normal", "rest…")`. The zone name may be
/// followed by a comma (pagetypeinfo's free table: `zone   Normal, type …`), which is dropped.
pub(crate) fn node_zone(line: &str) -> Option<(u32, &str, &str)> {
    let rest = line.trim_start().strip_prefix("Node")?;
    let (node, rest) = rest.split_once(',')?;
    let node = node.trim().parse().ok()?;
    let rest = rest.trim_start().strip_prefix("zone")?.trim_start();
    let end = rest.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(rest.len());
    let (zone, rest) = rest.split_at(end);
    if zone.is_empty() {
        return None;
    }
    Some((node, zone, rest.strip_prefix(',').unwrap_or(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_node_and_zone() {
        assert_eq!(node_zone("Node 0, zone   Normal  1 2"), Some((0, "Normal", "  1 2")));
        assert_eq!(node_zone("Node    1, zone    DMA32, type Movable 3"), Some((1, "DMA32", " type Movable 3")));
        assert_eq!(node_zone("Node 0, zone      DMA"), Some((0, "DMA", "")));
        assert_eq!(node_zone("Node x, zone DMA"), None);
        assert_eq!(node_zone("Node 0, zone "), None);
        assert_eq!(node_zone("Node 0 zone DMA"), None);
        assert_eq!(node_zone(""), None);
    }

    #[test]
    fn missing_debugfs_errors_name_the_missing_piece() {
        assert_eq!(
            ProcfsError::NoDebugfs.to_string(),
            "debugfs is not available: this kernel was built without CONFIG_DEBUG_FS, or booted with \
             debugfs=off (no `debugfs` in /proc/filesystems), so the kernel's extfrag indices cannot be read"
        );
        assert_eq!(
            ProcfsError::NoExtfrag { path: "/sys/kernel/debug/extfrag".into() }.to_string(),
            "/sys/kernel/debug/extfrag does not exist although debugfs is mounted: this kernel has no \
             extfrag debugfs files (they need CONFIG_COMPACTION as well as CONFIG_DEBUG_FS)"
        );
    }

    #[test]
    fn reads_the_live_files() {
        let state = read_all();
        assert!(state.taken_ns > 0);
        assert!(!state.buddyinfo.is_empty(), "/proc/buddyinfo lists at least one zone");
        assert!(!state.zoneinfo.is_empty());
        assert!(state.vmstat.contains_key("nr_free_pages"));
        // Every zone buddyinfo shows (populated ones) is in zoneinfo too.
        for z in &state.buddyinfo {
            assert!(state.zoneinfo.iter().any(|i| i.node == z.node && i.zone == z.zone), "{z:?} missing from zoneinfo");
        }
        // Root's read of pagetypeinfo (mode 0400): tests/tests/e2e_host.rs.
    }
}
