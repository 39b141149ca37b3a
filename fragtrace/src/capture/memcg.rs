//! The failing task's memory cgroup in a bundle: read when the failure arrives (its counters
//! move on within milliseconds), written into `memcg.json` and SUMMARY.md.

use std::{fmt::Write, path::Path};

use serde_json::json;

use crate::host::memcg::{self, MemcgState, MemcgVersion};

/// The cgroup at `path` (in the memory controller's hierarchy) and its ancestors, now.
pub fn read_now(path: Option<&str>) -> Vec<MemcgState> {
    match (path, memcg::memory_root()) {
        (Some(path), Some(root)) => memcg::read_chain(&root, path),
        _ => Vec::new(),
    }
}

/// `memcg.json`: the failing cgroup's path and the chain as read, nearest first.
pub fn write_json(dir: &Path, cgroup: Option<&str>, chain: &[MemcgState]) -> std::io::Result<()> {
    let doc = json!({"cgroup": cgroup, "chain": chain});
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("memcg.json"), text + "\n")
}

/// 2.0 MiB, 128.0 KiB, 1.50 GiB.
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", b / f64::from(1 << 30))
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// `limit 2.0 MiB (2097152 bytes), usage 1.9 MiB (97% of the limit), max usage 2.0 MiB, failcnt 37`.
pub fn describe(m: &MemcgState) -> String {
    let mut parts = vec![match m.limit_bytes {
        Some(l) => format!("limit **{}** ({l} bytes)", human_bytes(l)),
        None => "no limit".to_string(),
    }];
    if let Some(u) = m.usage_bytes {
        let fill = m.fill().map(|f| format!(" ({:.0}% of the limit)", f * 100.0)).unwrap_or_default();
        parts.push(format!("usage **{}**{fill}", human_bytes(u)));
    }
    if let Some(p) = m.max_usage_bytes {
        parts.push(format!("max usage {}", human_bytes(p)));
    }
    if let Some(f) = m.failcnt {
        parts.push(format!("failcnt **{f}**"));
    }
    if let Some(k) = m.kmem_usage_bytes {
        parts.push(format!("kernel memory {}{}", human_bytes(k), m.kmem_failcnt.map(|f| format!(" (kmem failcnt {f})")).unwrap_or_default()));
    }
    if !m.events.is_empty() {
        let events: Vec<String> = m.events.iter().map(|(k, v)| format!("{k} {v}")).collect();
        parts.push(format!("memory.events: {}", events.join(", ")));
    }
    parts.join(", ")
}

/// The SUMMARY section: the failing cgroup first, then the ancestors that have a limit (one
/// of them may be the one that refused the charge).
pub fn render_section(out: &mut String, cgroup: Option<&str>, chain: &[MemcgState]) {
    let _ = writeln!(out, "## Memory cgroup at the failure\n");
    let Some(first) = chain.first() else {
        let _ = writeln!(out, "`{}` could not be read when the failure arrived (gone, or no memory controller).\n", cgroup.unwrap_or("(unknown)"));
        return;
    };
    let version = match first.version {
        MemcgVersion::V1 => "cgroup v1",
        MemcgVersion::V2 => "cgroup v2",
    };
    let _ = writeln!(out, "Read when the failure arrived ({version}):\n");
    if cgroup.is_some_and(|c| c.trim_end_matches('/') != first.path) {
        let _ = writeln!(out, "- `{}`: gone before it could be read", cgroup.unwrap_or_default());
    }
    for (i, m) in chain.iter().enumerate() {
        if i > 0 && m.limit_bytes.is_none() {
            continue;
        }
        let role = if i == 0 { "" } else { " (parent)" };
        let _ = writeln!(out, "- `{}`{role}: {}", m.path, describe(m));
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn v1(path: &str, limit: Option<u64>, usage: u64, failcnt: u64) -> MemcgState {
        MemcgState {
            path: path.into(),
            version: MemcgVersion::V1,
            limit_bytes: limit,
            usage_bytes: Some(usage),
            max_usage_bytes: Some(usage),
            failcnt: Some(failcnt),
            kmem_usage_bytes: None,
            kmem_failcnt: None,
            events: BTreeMap::new(),
        }
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(2 << 20), "2.0 MiB");
        assert_eq!(human_bytes(131072), "128.0 KiB");
        assert_eq!(human_bytes(3 << 29), "1.50 GiB");
    }

    #[test]
    fn names_the_limit_usage_and_failcnt_and_the_limited_parents() {
        let chain = [v1("/pod/c1", None, 4096, 0), v1("/pod", Some(2 << 20), 2027520, 37), v1("/", None, 1, 0)];
        let mut out = String::new();
        render_section(&mut out, Some("/pod/c1"), &chain);
        assert_eq!(
            out,
            "## Memory cgroup at the failure\n\nRead when the failure arrived (cgroup v1):\n\n\
             - `/pod/c1`: no limit, usage **4.0 KiB**, max usage 4.0 KiB, failcnt **0**\n\
             - `/pod` (parent): limit **2.0 MiB** (2097152 bytes), usage **1.9 MiB** (97% of the limit), max usage 1.9 MiB, failcnt **37**\n\n"
        );
        let mut out = String::new();
        render_section(&mut out, Some("/pod/c2"), &chain[1..2]);
        assert!(out.contains("- `/pod/c2`: gone before it could be read\n- `/pod`: limit"), "{out}");
        let mut out = String::new();
        render_section(&mut out, Some("/x"), &[]);
        assert!(out.contains("`/x` could not be read"), "{out}");
    }

    #[test]
    fn v2_events_are_listed() {
        let mut m = v1("/a", Some(1 << 20), 1 << 20, 0);
        (m.version, m.failcnt, m.max_usage_bytes) = (MemcgVersion::V2, None, None);
        m.events = [("max".to_string(), 12), ("oom".to_string(), 1)].into_iter().collect();
        assert_eq!(describe(&m), "limit **1.0 MiB** (1048576 bytes), usage **1.0 MiB** (100% of the limit), memory.events: max 12, oom 1");
    }
}
