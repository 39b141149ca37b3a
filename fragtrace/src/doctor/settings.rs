//! The tunables that decide how the kernel keeps high-order pages available.

use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sysctls {
    pub min_free_kbytes: Option<u64>,
    pub watermark_scale_factor: Option<u64>,
    pub compaction_proactiveness: Option<u64>,
    pub extfrag_threshold: Option<u64>,
    /// `always [madvise] never` → `madvise`.
    pub thp_enabled: Option<String>,
    pub thp_defrag: Option<String>,
}

/// The bracketed choice of a sysfs multiple-choice file.
fn selected(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_string())
}

fn number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Sysctls {
    pub fn read() -> Self {
        Self {
            min_free_kbytes: number("/proc/sys/vm/min_free_kbytes"),
            watermark_scale_factor: number("/proc/sys/vm/watermark_scale_factor"),
            compaction_proactiveness: number("/proc/sys/vm/compaction_proactiveness"),
            extfrag_threshold: number("/proc/sys/vm/extfrag_threshold"),
            thp_enabled: std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok().and_then(|t| selected(&t)),
            thp_defrag: std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/defrag").ok().and_then(|t| selected(&t)),
        }
    }
}

/// Online NUMA nodes (buddyinfo lists each node's zones).
pub fn nodes(zones: &[crate::host::buddyinfo::ZoneFree]) -> u64 {
    let mut nodes: Vec<u32> = zones.iter().map(|z| z.node).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes.len().max(1) as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_selected_choice() {
        assert_eq!(super::selected("always defer defer+madvise [madvise] never\n"), Some("madvise".into()));
        assert_eq!(super::selected("[always] madvise never"), Some("always".into()));
        assert_eq!(super::selected("garbage"), None);
    }
}
