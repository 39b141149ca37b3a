//! Memory-cgroup path → [`Workload`], cached: the path says runtime, QoS, pod UID and
//! container id; the container's OCI bundle adds the pod's name and namespace.

use std::{collections::HashMap, path::PathBuf};

use super::{BundleFinder, Workload, parse_cgroup_path};

pub struct WorkloadResolver {
    finder: BundleFinder,
    cache: HashMap<String, Workload>,
}

/// Paths remembered at most; a node's containers come and go, the cache must not grow forever.
const MAX_CACHED: usize = 16_384;

impl WorkloadResolver {
    /// Searches the runtimes' default state directories, then `extra_roots`
    /// (each holding `<container id>/config.json`).
    pub fn new(extra_roots: Vec<PathBuf>) -> Self {
        Self { finder: BundleFinder::with_roots(extra_roots), cache: HashMap::new() }
    }

    /// The workload of a cgroup path; `None` when the path is not a container's.
    pub fn resolve(&mut self, path: &str) -> Option<Workload> {
        if let Some(w) = self.cache.get(path) {
            return Some(w.clone());
        }
        let container = parse_cgroup_path(path);
        if !container.kubepods && container.container_id.is_none() && container.pod_uid.is_none() {
            return None;
        }
        let pod = container.container_id.as_deref().and_then(|id| self.finder.lookup(id)).unwrap_or_default();
        let found_bundle = pod.pod_name.is_some();
        let workload = Workload { container, pod };
        // Without its bundle yet (created a moment later), look again next time.
        if found_bundle || workload.container.container_id.is_none() {
            if self.cache.len() >= MAX_CACHED {
                self.cache.clear();
            }
            self.cache.insert(path.to_string(), workload.clone());
        }
        Some(workload)
    }
}
