//! The system state at the moment of a capture: files copied verbatim into `snapshots/`, so
//! nothing is lost to interpretation and any tool can read them later.

use std::path::Path;

/// (file in the bundle, source). Missing sources are skipped (e.g. no THP, older kernels).
pub const SNAPSHOT_SOURCES: &[(&str, &str)] = &[
    ("buddyinfo", "/proc/buddyinfo"),
    ("pagetypeinfo", "/proc/pagetypeinfo"),
    ("zoneinfo", "/proc/zoneinfo"),
    ("meminfo", "/proc/meminfo"),
    ("vmstat", "/proc/vmstat"),
    ("cmdline", "/proc/cmdline"),
    ("osrelease", "/proc/sys/kernel/osrelease"),
];

/// The tunables that decide how hard the kernel works for high-order pages.
pub const SYSCTLS: &[(&str, &str)] = &[
    ("vm.min_free_kbytes", "/proc/sys/vm/min_free_kbytes"),
    ("vm.watermark_scale_factor", "/proc/sys/vm/watermark_scale_factor"),
    ("vm.extfrag_threshold", "/proc/sys/vm/extfrag_threshold"),
    ("vm.compaction_proactiveness", "/proc/sys/vm/compaction_proactiveness"),
    ("transparent_hugepage.enabled", "/sys/kernel/mm/transparent_hugepage/enabled"),
    ("transparent_hugepage.defrag", "/sys/kernel/mm/transparent_hugepage/defrag"),
];

/// Copies the snapshot files into `dir/snapshots/` and writes `sysctl.txt`; returns the
/// sysctls read (name, value) for the summary.
pub fn take(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let snaps = dir.join("snapshots");
    std::fs::create_dir_all(&snaps)?;
    for (name, source) in SNAPSHOT_SOURCES {
        if let Ok(bytes) = std::fs::read(source) {
            std::fs::write(snaps.join(format!("{name}.txt")), bytes)?;
        }
    }
    let sysctls: Vec<(String, String)> = SYSCTLS
        .iter()
        .filter_map(|(name, path)| std::fs::read_to_string(path).ok().map(|v| (name.to_string(), v.trim().to_string())))
        .collect();
    let text: String = sysctls.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    std::fs::write(snaps.join("sysctl.txt"), text)?;
    Ok(sysctls)
}
