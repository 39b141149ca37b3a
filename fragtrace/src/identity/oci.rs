//! Pod name and namespace from a container's OCI bundle.
//!
//! CRI runtimes copy the pod's identity into the annotations of every container's OCI
//! `config.json`, which they leave in a state directory on the node, so no API server (and
//! no credentials) are needed:
//!
//! - containerd's CRI plugin: `io.kubernetes.cri.sandbox-{name,namespace,uid}`,
//!   `io.kubernetes.cri.container-name` and `io.kubernetes.cri.container-type`
//!   (`sandbox` for the pause container, which has no container name);
//! - CRI-O: the kubelet's labels `io.kubernetes.pod.{name,namespace,uid}` and
//!   `io.kubernetes.container.name` (`POD` for the pause container), also as a JSON object
//!   in `io.kubernetes.cri-o.Labels`, plus `io.kubernetes.cri-o.*` keys of its own.
//!
//! Docker (dockershim, cri-dockerd) keeps the kubelet's labels in its own store, not in
//! config.json, so its containers yield nothing here.

use std::{
    collections::{BTreeMap, HashMap},
    io::Read,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::Runtime;

/// Who a container belongs to, from its OCI annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodInfo {
    pub pod_name: Option<String>,
    pub pod_namespace: Option<String>,
    pub pod_uid: Option<String>,
    /// The pod spec's container name; `POD` for the sandbox (pause) container, as the kubelet
    /// has always named it.
    pub container_name: Option<String>,
    pub runtime: Option<Runtime>,
}

/// The kubelet's name for a pod's sandbox container (CRI-O writes it; containerd leaves the
/// name out, and we fill it in so both runtimes read the same).
const SANDBOX_CONTAINER_NAME: &str = "POD";

/// How long a failed lookup is remembered. Short, because the failure is usually a container
/// that was created a moment ago and whose first allocation failure we are looking at.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(2);

/// Config files larger than this are not OCI configs we want to parse (real ones, seccomp
/// profile included, are tens of KiB).
const MAX_FILE: u64 = 8 << 20;

/// Bound on remembered containers; past it the cache starts over (ids are never reused, so
/// this only costs re-reads).
const MAX_CACHED: usize = 16_384;

#[derive(Deserialize)]
struct OciConfig {
    // Values other than strings are skipped rather than failing the whole file.
    #[serde(default)]
    annotations: BTreeMap<String, serde_json::Value>,
}

/// The pod identity in an OCI `config.json`; `None` if it has no Kubernetes annotations or
/// is not JSON.
pub fn pod_info_from_config(json: &[u8]) -> Option<PodInfo> {
    let config: OciConfig = serde_json::from_slice(json).ok()?;
    let annotations: BTreeMap<String, String> = config
        .annotations
        .into_iter()
        .filter_map(|(k, v)| match v {
            // Pod and container names are shown in the TUI and reports: escaped here, once.
            serde_json::Value::String(s) => Some((k, crate::text::printable_owned(s))),
            _ => None,
        })
        .collect();
    pod_info_from_annotations(&annotations)
}

fn pod_info_from_annotations(a: &BTreeMap<String, String>) -> Option<PodInfo> {
    let get = |key: &str| a.get(key).filter(|v| !v.is_empty()).cloned();
    let info = if a.keys().any(|k| k.starts_with("io.kubernetes.cri.")) {
        let sandbox = a.get("io.kubernetes.cri.container-type").is_some_and(|t| t == "sandbox");
        PodInfo {
            pod_name: get("io.kubernetes.cri.sandbox-name"),
            pod_namespace: get("io.kubernetes.cri.sandbox-namespace"),
            pod_uid: get("io.kubernetes.cri.sandbox-uid"),
            container_name: get("io.kubernetes.cri.container-name")
                .or_else(|| sandbox.then(|| SANDBOX_CONTAINER_NAME.to_string())),
            runtime: Some(Runtime::Containerd),
        }
    } else {
        // CRI-O; the JSON copy of the labels covers versions that do not repeat them at the
        // top level.
        let labels: BTreeMap<String, String> =
            a.get("io.kubernetes.cri-o.Labels").and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
        let either = |key: &str| get(key).or_else(|| labels.get(key).filter(|v| !v.is_empty()).cloned());
        let crio = a.keys().any(|k| k.starts_with("io.kubernetes.cri-o."));
        PodInfo {
            pod_name: either("io.kubernetes.pod.name"),
            pod_namespace: either("io.kubernetes.pod.namespace").or_else(|| get("io.kubernetes.cri-o.Namespace")),
            pod_uid: either("io.kubernetes.pod.uid"),
            container_name: either("io.kubernetes.container.name"),
            runtime: crio.then_some(Runtime::Crio),
        }
    };
    let known = info.pod_name.is_some() || info.pod_namespace.is_some() || info.pod_uid.is_some();
    known.then_some(info)
}

/// Where a root keeps a container's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `<root>/<id>/config.json`: containerd's runtime v2 task directories, extra roots.
    Bundle,
    /// `<root>/<id>/userdata/config.json`: CRI-O's containers/storage run root.
    CrioUserdata,
    /// `<root>/<id>/state.json`: runc's state; names the bundle, and repeats the annotations.
    RuncState,
}

#[derive(Clone, Debug)]
struct Root {
    dir: PathBuf,
    layout: Layout,
}

#[derive(Clone, Debug)]
struct Cached {
    info: Option<PodInfo>,
    at: Instant,
}

/// Finds containers' OCI bundles on this node and reads their pod identity, caching results.
#[derive(Clone, Debug)]
pub struct BundleFinder {
    roots: Vec<Root>,
    cache: HashMap<String, Cached>,
    negative_ttl: Duration,
}

/// The state directories of the usual runtimes, in the order they are searched.
const DEFAULT_ROOTS: [(&str, Layout); 8] = [
    // containerd: `<state>/io.containerd.runtime.v2.task/<namespace>/<id>`; CRI uses the
    // `k8s.io` namespace, Docker (20.10+, on the system containerd) `moby`.
    ("/run/containerd/io.containerd.runtime.v2.task/k8s.io", Layout::Bundle),
    ("/run/containerd/io.containerd.runtime.v2.task/moby", Layout::Bundle),
    // Docker running its own containerd.
    ("/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby", Layout::Bundle),
    // k3s and RKE2 run containerd with its state under /run/k3s.
    ("/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io", Layout::Bundle),
    // CRI-O: containers/storage's default run root, overlay driver.
    ("/run/containers/storage/overlay-containers", Layout::CrioUserdata),
    // runc's state under CRI-O (runc's default root), containerd and Docker.
    ("/run/runc", Layout::RuncState),
    ("/run/containerd/runc/k8s.io", Layout::RuncState),
    ("/run/docker/runtime-runc/moby", Layout::RuncState),
];

impl BundleFinder {
    /// Searches the default state directories of containerd, Docker, k3s, CRI-O and runc.
    pub fn with_default_roots() -> Self {
        Self::with_roots(Vec::new())
    }

    /// The default roots plus `extra` ones (searched first), each a directory holding
    /// `<container_id>/config.json` (or CRI-O's `<container_id>/userdata/config.json`).
    pub fn with_roots(extra: Vec<PathBuf>) -> Self {
        let extra = extra.into_iter().flat_map(|dir| {
            [Root { dir: dir.clone(), layout: Layout::Bundle }, Root { dir, layout: Layout::CrioUserdata }]
        });
        let defaults = DEFAULT_ROOTS.iter().map(|(dir, layout)| Root { dir: PathBuf::from(dir), layout: *layout });
        BundleFinder { roots: extra.chain(defaults).collect(), cache: HashMap::new(), negative_ttl: NEGATIVE_TTL }
    }

    /// Changes how long a miss is remembered (default [`NEGATIVE_TTL`]; tests use zero).
    pub fn set_negative_ttl(&mut self, ttl: Duration) {
        self.negative_ttl = ttl;
    }

    /// The pod identity of container `container_id`, from the first root that has it.
    /// Hits are kept for good (a container's pod never changes); misses for the negative TTL.
    pub fn lookup(&mut self, container_id: &str) -> Option<PodInfo> {
        if let Some(entry) = self.cache.get(container_id)
            && (entry.info.is_some() || entry.at.elapsed() < self.negative_ttl)
        {
            return entry.info.clone();
        }
        // The id comes from a cgroup name, which an unprivileged owner of a delegated subtree
        // can choose: never let it climb out of the roots.
        if !is_safe_id(container_id) {
            return None;
        }
        let info = self.roots.iter().find_map(|root| read_root(root, container_id));
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        self.cache.insert(container_id.to_string(), Cached { info: info.clone(), at: Instant::now() });
        info
    }

    /// The pod identity from a runc command line (NUL-separated, as in `/proc/PID/cmdline`)
    /// naming its bundle with `--bundle <dir>`, `--bundle=<dir>`, `-b <dir>` or `-b=<dir>`.
    /// Only absolute bundle paths are followed: a relative one is relative to runc's working
    /// directory, which the command line does not tell.
    pub fn from_runc_cmdline(cmdline: &[u8]) -> Option<PodInfo> {
        let bundle = bundle_arg(cmdline)?;
        let path = Path::new(&bundle);
        if !path.is_absolute() {
            return None;
        }
        pod_info_from_config(&read_capped(&path.join("config.json"))?)
    }
}

/// The value of runc's bundle option in a NUL-separated command line.
fn bundle_arg(cmdline: &[u8]) -> Option<String> {
    let mut args = cmdline.split(|&b| b == 0).map(String::from_utf8_lossy);
    while let Some(arg) = args.next() {
        for flag in ["--bundle", "-b"] {
            if arg == flag {
                return args.next().map(|v| v.into_owned()).filter(|v| !v.is_empty());
            }
            if let Some(value) = arg.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
                return (!value.is_empty()).then(|| value.to_string());
            }
        }
    }
    None
}

/// Container ids are hex, but runtimes accept `[A-Za-z0-9][A-Za-z0-9_.-]*`; nothing with a
/// `/` or starting with `.` can name a directory outside the root.
fn is_safe_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && id.len() <= 256
}

fn read_root(root: &Root, id: &str) -> Option<PodInfo> {
    let dir = root.dir.join(id);
    match root.layout {
        Layout::Bundle => pod_info_from_config(&read_capped(&dir.join("config.json"))?),
        Layout::CrioUserdata => pod_info_from_config(&read_capped(&dir.join("userdata").join("config.json"))?),
        Layout::RuncState => pod_info_from_runc_state(&read_capped(&dir.join("state.json"))?),
    }
}

#[derive(Deserialize)]
struct RuncState {
    /// Not written by runc; crun and some forks keep the bundle at the top level.
    #[serde(default)]
    bundle: Option<String>,
    #[serde(default)]
    config: RuncConfig,
}

#[derive(Default, Deserialize)]
struct RuncConfig {
    /// runc stores each annotation as `key=value`, followed by `bundle=<dir>`.
    #[serde(default)]
    labels: Vec<String>,
}

/// runc's `state.json`: the annotations are right there among the labels; failing that, the
/// bundle's config.json.
fn pod_info_from_runc_state(json: &[u8]) -> Option<PodInfo> {
    let state: RuncState = serde_json::from_slice(json).ok()?;
    let labels: BTreeMap<String, String> = state
        .config
        .labels
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(info) = pod_info_from_annotations(&labels) {
        return Some(info);
    }
    let bundle = state.bundle.or_else(|| labels.get("bundle").cloned())?;
    let path = Path::new(&bundle);
    if !path.is_absolute() {
        return None;
    }
    pod_info_from_config(&read_capped(&path.join("config.json"))?)
}

/// The file's bytes, or `None` if it is missing, unreadable or too large.
fn read_capped(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_FILE).then_some(bytes)
}

#[cfg(test)]
#[path = "oci_tests.rs"]
mod tests;
