//! Memory-cgroup path → [`Workload`], cached: the path says runtime, QoS, pod UID and
//! container id; the container's OCI bundle adds the pod's name and namespace, or, when that
//! bundle was never seen, any bundle of the same pod (its sandbox's).

use std::{collections::HashMap, path::PathBuf};

use super::{BundleFinder, CgroupDriver, ContainerIdentity, PodInfo, Runtime, Workload, parse_cgroup_path};

pub struct WorkloadResolver {
    finder: BundleFinder,
    cache: HashMap<String, Workload>,
}

/// Paths remembered at most; a node's containers come and go, the cache must not grow forever.
const MAX_CACHED: usize = 16_384;

impl WorkloadResolver {
    /// Searches `extra_roots` (each holding `<container id>/config.json`), then the runtimes'
    /// default state directories, and watches them all for new bundles from now on
    /// ([`BundleFinder::start_watching`]).
    pub fn new(extra_roots: Vec<PathBuf>) -> Self {
        let mut finder = BundleFinder::with_roots(extra_roots);
        finder.start_watching();
        Self::with_finder(finder)
    }

    /// With a finder as it is (tests: no watcher).
    pub fn with_finder(finder: BundleFinder) -> Self {
        Self { finder, cache: HashMap::new() }
    }

    /// `/<namespace>/<name>` where `<namespace>` is one of this node's containerd namespaces:
    /// a container made by `ctr` or nerdctl, whose name the path parser cannot tell from any
    /// other two-level cgroup when it is not hex.
    fn containerd_client_container(&self, path: &str, container: &mut ContainerIdentity) {
        let mut parts = path.trim_start_matches('/').split('/');
        let (Some(namespace), Some(name), None) = (parts.next(), parts.next(), parts.next()) else { return };
        if super::oci::is_safe_id(name) && self.finder.is_containerd_namespace(namespace) {
            container.container_id = Some(name.to_string());
            container.runtime = Some(Runtime::Containerd);
            container.driver = Some(CgroupDriver::Cgroupfs);
        }
    }

    /// The workload of a cgroup path; `None` when the path is not a container's.
    pub fn resolve(&mut self, path: &str) -> Option<Workload> {
        if let Some(w) = self.cache.get(path) {
            return Some(w.clone());
        }
        let mut container = parse_cgroup_path(path);
        if container.container_id.is_none() && !container.kubepods {
            self.containerd_client_container(path, &mut container);
        }
        if !container.kubepods && container.container_id.is_none() && container.pod_uid.is_none() {
            return None;
        }
        let mut pod = container.container_id.as_deref().and_then(|id| self.finder.lookup(id)).unwrap_or_default();
        let found_bundle = pod.pod_name.is_some();
        if !found_bundle
            && let Some(sibling) = container.pod_uid.as_deref().and_then(|uid| self.finder.pod_by_uid(uid))
        {
            // The container's own bundle is gone or never was (a start that failed at once),
            // but another of its pod's was seen: the pod is known, the container's name is not.
            pod = PodInfo { container_name: pod.container_name, ..sibling };
        }
        let workload = Workload { container, pod };
        // Without its own bundle yet (created a moment later), or, for a pod's own cgroup,
        // without a bundle of the pod yet, look again next time.
        let pod_level_done = workload.container.pod_uid.is_none() || workload.pod.pod_name.is_some();
        if found_bundle || (workload.container.container_id.is_none() && pod_level_done) {
            if self.cache.len() >= MAX_CACHED {
                self.cache.clear();
            }
            self.cache.insert(path.to_string(), workload.clone());
        }
        Some(workload)
    }
}
