//! `ZoneFree::indices` from `/proc/buddyinfo` against the kernel's own debugfs
//! `extfrag/*_index`: the same formulas, so the same numbers for the same free lists.

use super::debugfs::{ZoneIndexRow, parse_index_file, read_kernel_indices};
use crate::host::buddyinfo::{self, ZoneFree};

/// The kernel prints thousandths; ours are thousandths too, so this only absorbs f64 noise.
const TOLERANCE: f64 = 0.001;

/// Every zone and order of `zones` against the kernel's rows; the list of mismatches.
fn mismatches(zones: &[ZoneFree], unusable: &[ZoneIndexRow], extfrag: &[ZoneIndexRow]) -> Vec<String> {
    let mut out = Vec::new();
    let row = |rows: &[ZoneIndexRow], z: &ZoneFree| rows.iter().find(|(n, name, _)| *n == z.node && *name == z.zone).map(|r| r.2.clone());
    for (file, rows) in [("unusable_index", unusable), ("extfrag_index", extfrag)] {
        if rows.len() != zones.len() {
            out.push(format!("{file} has {} zones, buddyinfo {}", rows.len(), zones.len()));
        }
    }
    for z in zones {
        let (Some(u), Some(e)) = (row(unusable, z), row(extfrag, z)) else {
            out.push(format!("node {} zone {} missing from the kernel's index files", z.node, z.zone));
            continue;
        };
        if u.len() != z.free_blocks.len() || e.len() != z.free_blocks.len() {
            out.push(format!("node {} zone {}: {} orders in buddyinfo, {}/{} in debugfs", z.node, z.zone, z.free_blocks.len(), u.len(), e.len()));
            continue;
        }
        for order in 0..z.free_blocks.len() {
            let ours = z.indices(order as u32);
            if (ours.unusable - u[order]).abs() > TOLERANCE {
                out.push(format!("node {} zone {} order {order}: unusable {} vs kernel {}", z.node, z.zone, ours.unusable, u[order]));
            }
            // The kernel's −1000 is our None.
            let ours_frag = ours.fragmentation.unwrap_or(-1.0);
            if (ours_frag - e[order]).abs() > TOLERANCE {
                out.push(format!("node {} zone {} order {order}: extfrag {ours_frag} vs kernel {}", z.node, z.zone, e[order]));
            }
        }
    }
    out
}

#[test]
fn procfs_indices_match_the_captured_6_18_kernel_output() {
    let zones = buddyinfo::parse(include_str!("../../../testdata/procfs/buddyinfo-6.18-live.txt"));
    let unusable = parse_index_file(include_str!("../../../testdata/procfs/extfrag-unusable_index-6.18-live.txt"));
    let extfrag = parse_index_file(include_str!("../../../testdata/procfs/extfrag-extfrag_index-6.18-live.txt"));
    assert_eq!(zones.len(), 3);
    assert_eq!(mismatches(&zones, &unusable, &extfrag), Vec::<String>::new());
}

/// Needs root (debugfs), as CI has. Fails, not skips, when the kernel cannot show its indices:
/// then this tool's central arithmetic is unchecked on this machine, which someone must see.
#[test]
fn procfs_indices_from_live_buddyinfo_equal_the_kernels_debugfs_indices() {
    // The free lists change under us; compare only when buddyinfo read the same before and
    // after the debugfs files, so both sides describe one state.
    const ATTEMPTS: usize = 50;
    for _ in 0..ATTEMPTS {
        let before = buddyinfo::read().expect("read /proc/buddyinfo");
        let (unusable, extfrag) = match read_kernel_indices() {
            Ok(indices) => indices,
            Err(e) => panic!("cannot compare with the kernel's own fragmentation indices: {e}"),
        };
        let after = buddyinfo::read().expect("read /proc/buddyinfo");
        if before != after {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        assert!(!before.is_empty(), "/proc/buddyinfo lists no zone");
        assert_eq!(mismatches(&before, &unusable, &extfrag), Vec::<String>::new(), "buddyinfo: {before:?}");
        return;
    }
    panic!("/proc/buddyinfo changed across the debugfs reads in all {ATTEMPTS} attempts: no fair comparison");
}
