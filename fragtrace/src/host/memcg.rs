//! A memory cgroup's limit, usage and charge failures, read at one moment: what a memcg
//! charge failure ran into.
//!
//! cgroup v1 (the `memory` controller's own hierarchy): `memory.limit_in_bytes`,
//! `memory.usage_in_bytes`, `memory.max_usage_in_bytes`, `memory.failcnt` (charges the limit
//! refused), and the kernel-memory counters `memory.kmem.usage_in_bytes` /
//! `memory.kmem.failcnt` where the kernel still has them. cgroup v2: `memory.max`,
//! `memory.current`, `memory.peak` (5.19+) and `memory.events` (`max`, `oom`, `oom_kill`, …).
//!
//! Limits are hierarchical: a charge fails at the first ancestor whose limit it would
//! exceed, so [`read_chain`] reads the cgroup and every ancestor below the hierarchy's root.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::cgroup::{cgroup2_mount, memory_v1_mount};

/// v1 prints "no limit" as PAGE_COUNTER_MAX × page size (9223372036854771712 on x86_64);
/// anything this large is no limit.
const UNLIMITED_FROM: u64 = 1 << 62;

/// Ancestors read at most (a hierarchy deeper than this is not a real one).
const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemcgVersion {
    V1,
    V2,
}

/// One cgroup's memory counters. A field is `None` when its file is absent or unreadable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemcgState {
    /// Path relative to the hierarchy's root, starting with `/`.
    pub path: String,
    pub version: MemcgVersion,
    /// `None`: no limit (`max` on v2, the page counter's maximum on v1).
    pub limit_bytes: Option<u64>,
    pub usage_bytes: Option<u64>,
    /// Highest usage seen (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`).
    pub max_usage_bytes: Option<u64>,
    /// v1: times the limit refused a charge.
    pub failcnt: Option<u64>,
    /// v1: kernel memory (slab, page tables, pipe buffers…) charged to the cgroup.
    pub kmem_usage_bytes: Option<u64>,
    pub kmem_failcnt: Option<u64>,
    /// v2 `memory.events`: `low`, `high`, `max` (charges that hit the limit), `oom`,
    /// `oom_kill`, `oom_group_kill`.
    pub events: BTreeMap<String, u64>,
}

impl MemcgState {
    /// How full the cgroup is, 0–1 (and above while reclaim catches up); `None` without a
    /// limit or a usage.
    pub fn fill(&self) -> Option<f64> {
        let (limit, usage) = (self.limit_bytes?, self.usage_bytes?);
        (limit > 0).then(|| usage as f64 / limit as f64)
    }
}

/// The root of the hierarchy holding the memory controller: the v1 `memory` mount if there is
/// one, else the cgroup2 mount (where the probes' memory-cgroup ids and paths live).
pub fn memory_root() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    memory_v1_mount(&text).or_else(|| cgroup2_mount(&text))
}

/// The cgroup at `path` (relative to `root`) and its ancestors, nearest first, down to but
/// not including the root (whose counters are the whole machine's). Cgroups already removed
/// (a container whose start failed is deleted milliseconds later) are skipped: their nearest
/// living ancestor still holds the limit that refused the charge.
pub fn read_chain(root: &Path, path: &str) -> Vec<MemcgState> {
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
    let mut chain = Vec::new();
    while !parts.is_empty() && chain.len() < MAX_DEPTH {
        let rel = format!("/{}", parts.join("/"));
        if let Some(state) = read_one(&root.join(&rel[1..]), rel) {
            chain.push(state);
        }
        parts.pop();
    }
    chain
}

/// One cgroup directory; `None` when it does not exist or has no memory files.
pub fn read_one(dir: &Path, path: String) -> Option<MemcgState> {
    let num = |name: &str| -> Option<u64> { std::fs::read_to_string(dir.join(name)).ok()?.trim().parse().ok() };
    if dir.join("memory.limit_in_bytes").exists() {
        return Some(MemcgState {
            path,
            version: MemcgVersion::V1,
            limit_bytes: num("memory.limit_in_bytes").filter(|l| *l < UNLIMITED_FROM),
            usage_bytes: num("memory.usage_in_bytes"),
            max_usage_bytes: num("memory.max_usage_in_bytes"),
            failcnt: num("memory.failcnt"),
            kmem_usage_bytes: num("memory.kmem.usage_in_bytes"),
            kmem_failcnt: num("memory.kmem.failcnt"),
            events: BTreeMap::new(),
        });
    }
    let current = num("memory.current");
    let max = std::fs::read_to_string(dir.join("memory.max")).ok();
    if current.is_none() && max.is_none() {
        return None;
    }
    Some(MemcgState {
        path,
        version: MemcgVersion::V2,
        limit_bytes: max.and_then(|m| m.trim().parse().ok()),
        usage_bytes: current,
        max_usage_bytes: num("memory.peak"),
        failcnt: None,
        kmem_usage_bytes: None,
        kmem_failcnt: None,
        events: std::fs::read_to_string(dir.join("memory.events")).map(|t| parse_events(&t)).unwrap_or_default(),
    })
}

/// `memory.events`: `name value` lines; malformed lines are skipped.
pub fn parse_events(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tree(name: &str, files: &[(&str, &str)]) -> Dir {
        let root = std::env::temp_dir().join(format!("fragtrace-memcg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, content) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        Dir(root)
    }

    #[test]
    fn reads_a_v1_chain_nearest_first_without_the_root() {
        let d = tree("v1", &[
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("pod/memory.limit_in_bytes", "2097152\n"),
            ("pod/memory.usage_in_bytes", "2027520\n"),
            ("pod/memory.max_usage_in_bytes", "2097152\n"),
            ("pod/memory.failcnt", "37\n"),
            ("pod/memory.kmem.usage_in_bytes", "1048576\n"),
            ("pod/memory.kmem.failcnt", "0\n"),
            ("pod/c1/memory.limit_in_bytes", "9223372036854771712\n"),
            ("pod/c1/memory.usage_in_bytes", "4096\n"),
        ]);
        let chain = read_chain(&d.0, "/pod/c1");
        assert_eq!(chain.len(), 2);
        assert_eq!((chain[0].path.as_str(), chain[0].limit_bytes, chain[0].usage_bytes), ("/pod/c1", None, Some(4096)));
        let pod = &chain[1];
        assert_eq!(pod.path, "/pod");
        assert_eq!(pod.version, MemcgVersion::V1);
        assert_eq!((pod.limit_bytes, pod.usage_bytes, pod.max_usage_bytes, pod.failcnt), (Some(2097152), Some(2027520), Some(2097152), Some(37)));
        assert_eq!((pod.kmem_usage_bytes, pod.kmem_failcnt), (Some(1048576), Some(0)));
        assert!((pod.fill().unwrap() - 0.966_796_875).abs() < 1e-9);
        assert_eq!(read_chain(&d.0, "/pod/gone/deeper").len(), 1, "removed cgroups are skipped, the living parent stays");
        assert!(read_chain(&d.0, "/").is_empty(), "the root's counters are the machine's");
        assert!(read_chain(&d.0, "/../..").is_empty(), "never above the root");
    }

    #[test]
    fn reads_v2_limits_and_events() {
        let d = tree("v2", &[
            ("a/memory.max", "max\n"),
            ("a/memory.current", "123\n"),
            ("a/b/memory.max", "1048576\n"),
            ("a/b/memory.current", "1040384\n"),
            ("a/b/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\nbroken\n"),
        ]);
        let chain = read_chain(&d.0, "/a/b");
        assert_eq!(chain.len(), 2);
        let b = &chain[0];
        assert_eq!((b.version, b.limit_bytes, b.usage_bytes, b.max_usage_bytes, b.failcnt), (MemcgVersion::V2, Some(1048576), Some(1040384), None, None));
        assert_eq!(b.events.get("max"), Some(&12));
        assert_eq!(b.events.get("oom_kill"), Some(&1));
        assert_eq!(b.events.len(), 6);
        assert_eq!((chain[1].limit_bytes, chain[1].fill()), (None, None));
    }
}
