//! Who an event belongs to: container and pod, from the memory cgroup's path
//! ([`path`]) and the container's OCI bundle ([`oci`]), read as it appears by a watcher
//! (`watch`) so that short-lived containers are known too, with no API server involved.

pub mod oci;
pub mod path;
pub mod resolver;
pub mod starting;
mod watch;

pub use oci::{BundleFinder, NEGATIVE_TTL, PodInfo, pod_info_from_config};
pub use path::{CgroupDriver, ContainerIdentity, Qos, Runtime, parse_cgroup_path};
pub use resolver::WorkloadResolver;
pub use starting::{StartingTask, starting_task};

use serde::{Deserialize, Serialize};

/// Everything known about who an event belongs to, as stored with recordings.
///
/// Stored flat. Both halves know a pod UID and a runtime, from different sources (the cgroup
/// path, the OCI annotations); a flattened struct cannot hold two fields of one name, so the
/// pod half's two are stored as `oci_pod_uid` and `oci_runtime`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    #[serde(flatten)]
    pub container: ContainerIdentity,
    #[serde(flatten, with = "pod_fields")]
    pub pod: PodInfo,
}

impl Workload {
    /// `namespace/name` when both are known, the bare name without a namespace, else
    /// `pod <uid>` (the full UID: a prefix would be ambiguous across a node's pods), else
    /// `None`.
    pub fn pod_label(&self) -> Option<String> {
        match (&self.pod.pod_namespace, &self.pod.pod_name) {
            (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
            (None, Some(name)) => Some(name.clone()),
            _ => self.pod_uid().map(|uid| format!("pod {uid}")),
        }
    }

    /// Whether `uid_or_name` names this workload's pod: its UID (with dashes, or with the
    /// systemd driver's underscores), its name, or `namespace/name`.
    pub fn matches_pod(&self, uid_or_name: &str) -> bool {
        if uid_or_name.is_empty() {
            return false;
        }
        let wanted_uid = uid_or_name.replace('_', "-");
        let uid_matches = [&self.container.pod_uid, &self.pod.pod_uid]
            .into_iter()
            .flatten()
            .any(|uid| uid.eq_ignore_ascii_case(&wanted_uid));
        let name = self.pod.pod_name.as_deref();
        let name_matches = match uid_or_name.split_once('/') {
            Some((ns, n)) => self.pod.pod_namespace.as_deref() == Some(ns) && name == Some(n),
            None => name == Some(uid_or_name),
        };
        uid_matches || name_matches
    }

    /// The pod UID, preferring the cgroup path's (always present for kubelet pods).
    fn pod_uid(&self) -> Option<&str> {
        self.container.pod_uid.as_deref().or(self.pod.pod_uid.as_deref())
    }
}

/// [`PodInfo`]'s fields under names that do not collide with [`ContainerIdentity`]'s.
mod pod_fields {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{PodInfo, Runtime};

    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Wire {
        pod_name: Option<String>,
        pod_namespace: Option<String>,
        oci_pod_uid: Option<String>,
        container_name: Option<String>,
        oci_runtime: Option<Runtime>,
    }

    pub fn serialize<S: Serializer>(pod: &PodInfo, serializer: S) -> Result<S::Ok, S::Error> {
        let PodInfo { pod_name, pod_namespace, pod_uid, container_name, runtime } = pod.clone();
        Wire { pod_name, pod_namespace, oci_pod_uid: pod_uid, container_name, oci_runtime: runtime }
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PodInfo, D::Error> {
        let Wire { pod_name, pod_namespace, oci_pod_uid, container_name, oci_runtime } =
            Wire::deserialize(deserializer)?;
        Ok(PodInfo { pod_name, pod_namespace, pod_uid: oci_pod_uid, container_name, runtime: oci_runtime })
    }
}

#[cfg(test)]
mod tests;
