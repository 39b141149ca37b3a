//! The kernel's own fragmentation indices: debugfs `extfrag/unusable_index` and
//! `extfrag/extfrag_index` (mm/vmstat.c, `CONFIG_DEBUG_FS` and `CONFIG_COMPACTION`), one
//! row per populated zone and one value per order:
//!
//! ```text
//! Node 0, zone   Normal -1.000 -1.000 0.874 …
//! ```
//!
//! They are what [`crate::host::buddyinfo::ZoneFree::indices`] computes from `/proc/buddyinfo`;
//! reading them lets a test hold that arithmetic to the kernel's.

use std::path::Path;

use super::{ProcfsError, node_zone};

/// `(node, zone, value per order)`. In `extfrag_index`, −1.0 means a suitable block exists.
pub type ZoneIndexRow = (u32, String, Vec<f64>);

/// Where debugfs is mounted by convention, and where the kernel creates its mount point.
pub const DEBUGFS: &str = "/sys/kernel/debug";

/// Parses an `unusable_index` or `extfrag_index` file; unreadable rows are skipped.
pub fn parse_index_file(text: &str) -> Vec<ZoneIndexRow> {
    text.lines()
        .filter_map(|line| {
            let (node, zone, rest) = node_zone(line)?;
            let values = rest.split_whitespace().map(parse_thousandths).collect::<Option<Vec<f64>>>()?;
            Some((node, zone.to_string(), values))
        })
        .collect()
}

/// The kernel prints an index `i` in thousandths as `"%d.%03d", i / 1000, i % 1000`, with C's
/// truncating division: −1000 is `-1.000`, but −500 (which `extfrag_index` does produce, for a
/// zone whose only free block is just too small) is `0.-500`. Both parts carry the sign.
fn parse_thousandths(word: &str) -> Option<f64> {
    let (int, frac) = word.split_once('.')?;
    let int_part: i64 = int.parse().ok()?;
    let frac_part: i64 = frac.parse().ok()?;
    // `-1.500` is not kernel output, but read as a decimal it means −1500, not −500.
    let frac_part = if int.starts_with('-') { -frac_part.abs() } else { frac_part };
    let thousandths = int_part.checked_mul(1000)?.checked_add(frac_part)?;
    Some(thousandths as f64 / 1000.0)
}

/// Reads `(unusable_index, extfrag_index)` now, mounting debugfs at [`DEBUGFS`] first when it
/// is not mounted (needs root). It is left mounted: it is the conventional mount, other tools
/// expect it there, and unmounting under them would break them.
pub fn read_kernel_indices() -> Result<(Vec<ZoneIndexRow>, Vec<ZoneIndexRow>), ProcfsError> {
    let dir = Path::new(DEBUGFS).join("extfrag");
    if !dir.is_dir() {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        if !mounted_at(&mounts, DEBUGFS, "debugfs") {
            // Unreadable /proc/filesystems: let the mount attempt tell.
            if let Ok(filesystems) = std::fs::read_to_string("/proc/filesystems")
                && !has_filesystem(&filesystems, "debugfs")
            {
                return Err(ProcfsError::NoDebugfs);
            }
            mount_debugfs()?;
        }
        if !dir.is_dir() {
            return Err(ProcfsError::NoExtfrag { path: dir.display().to_string() });
        }
    }
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map(|text| parse_index_file(&text))
            .map_err(|source| ProcfsError::Read { path: path.display().to_string(), source })
    };
    Ok((read("unusable_index")?, read("extfrag_index")?))
}

fn mount_debugfs() -> Result<(), ProcfsError> {
    // SAFETY: all pointers are NUL-terminated literals; debugfs takes no mount data.
    let rc = unsafe { libc::mount(c"nodev".as_ptr(), c"/sys/kernel/debug".as_ptr(), c"debugfs".as_ptr(), 0, std::ptr::null()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(ProcfsError::Mount { path: DEBUGFS.to_string(), source: std::io::Error::last_os_error() })
    }
}

/// Whether `/proc/self/mounts` text has a `fstype` mount at `target`.
fn mounted_at(mounts: &str, target: &str, fstype: &str) -> bool {
    mounts.lines().any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        fields.next() == Some(target) && fields.next() == Some(fstype)
    })
}

/// Whether `/proc/filesystems` text lists `name` (`nodev\tdebugfs` or `\text4`).
fn has_filesystem(filesystems: &str, name: &str) -> bool {
    filesystems.lines().any(|line| line.split_whitespace().last() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_thousandths() {
        assert_eq!(parse_thousandths("0.000"), Some(0.0));
        assert_eq!(parse_thousandths("0.066"), Some(0.066));
        assert_eq!(parse_thousandths("1.000"), Some(1.0));
        assert_eq!(parse_thousandths("-1.000"), Some(-1.0));
        assert_eq!(parse_thousandths("0.-500"), Some(-0.5), "the kernel's %d.%03d of -500");
        assert_eq!(parse_thousandths("-1.-500"), Some(-1.5));
        assert_eq!(parse_thousandths("-1.500"), Some(-1.5));
        for bad in ["", "1", ".", "x.000", "0.x", "99999999999999999.000", "0.0.0"] {
            assert_eq!(parse_thousandths(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_live_6_18_index_files() {
        let unusable = parse_index_file(include_str!("../../../testdata/procfs/extfrag-unusable_index-6.18-live.txt"));
        assert_eq!(
            unusable,
            vec![
                (0, "DMA".into(), vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.066, 0.2]),
                (0, "DMA32".into(), vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.001, 0.002, 0.003]),
                (0, "Normal".into(), vec![0.0, 0.033, 0.066, 0.096, 0.151, 0.21, 0.265, 0.33, 0.438, 0.553, 0.614]),
            ]
        );
        let extfrag = parse_index_file(include_str!("../../../testdata/procfs/extfrag-extfrag_index-6.18-live.txt"));
        assert_eq!(extfrag.len(), 3);
        assert!(extfrag.iter().all(|(_, _, v)| v == &vec![-1.0; 11]));
    }

    #[test]
    fn skips_unreadable_rows() {
        let text = "Node 0, zone DMA 0.500 -1.000\nNode 0, zone DMA 0.5x\ngarbage\nNode 1, zone Normal 0.-500 \n";
        assert_eq!(
            parse_index_file(text),
            vec![(0, "DMA".into(), vec![0.5, -1.0]), (1, "Normal".into(), vec![-0.5])]
        );
    }

    #[test]
    fn finds_debugfs_in_mounts_and_filesystems() {
        let mounts = "sysfs /sys sysfs rw 0 0\ntracefs /sys/kernel/tracing tracefs rw 0 0\n";
        assert!(!mounted_at(mounts, DEBUGFS, "debugfs"));
        assert!(mounted_at(&format!("{mounts}debugfs /sys/kernel/debug debugfs rw 0 0\n"), DEBUGFS, "debugfs"));
        assert!(!mounted_at("none /sys/kernel/debug tmpfs rw 0 0\n", DEBUGFS, "debugfs"));
        assert!(has_filesystem("nodev\tsysfs\nnodev\tdebugfs\n\text4\n", "debugfs"));
        assert!(!has_filesystem("nodev\tsysfs\n\text4\n", "debugfs"));
    }
}
