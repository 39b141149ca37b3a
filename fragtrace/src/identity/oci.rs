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
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{Runtime, watch::BundleWatcher};

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
    parse_config(json).flatten()
}

/// `None` if `json` is not an OCI config (not JSON, or cut short: still being written);
/// `Some(None)` if it is one without Kubernetes annotations.
fn parse_config(json: &[u8]) -> Option<Option<PodInfo>> {
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
    Some(pod_info_from_annotations(&annotations))
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
pub(super) enum Layout {
    /// `<root>/<id>/config.json`: containerd's runtime v2 task directories, extra roots.
    Bundle,
    /// `<root>/<id>/userdata/config.json`: CRI-O's containers/storage run root.
    CrioUserdata,
    /// `<root>/<id>/state.json`: runc's state; names the bundle, and repeats the annotations.
    RuncState,
}

/// A directory holding one entry per container, `<dir>/<container id>`, laid out as `layout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Root {
    pub(super) dir: PathBuf,
    pub(super) layout: Layout,
}

/// What one root's entry for a container says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Entry {
    /// The container's pod.
    Pod(PodInfo),
    /// The file is there and complete but names no pod: a container outside Kubernetes.
    NotPod,
    /// No file yet, or one that is not (yet) a whole JSON document: ask again when it changes.
    Missing,
}

impl Entry {
    pub(super) fn into_pod(self) -> Option<PodInfo> {
        match self {
            Entry::Pod(info) => Some(info),
            Entry::NotPod | Entry::Missing => None,
        }
    }

    fn from_parsed(parsed: Option<Option<PodInfo>>) -> Self {
        match parsed {
            Some(Some(info)) => Entry::Pod(info),
            Some(None) => Entry::NotPod,
            None => Entry::Missing,
        }
    }
}

#[derive(Clone, Debug)]
struct Cached {
    info: Option<PodInfo>,
    at: Instant,
}

/// Finds containers' OCI bundles on this node and reads their pod identity, caching results.
///
/// By default it reads a bundle when asked ([`lookup`](Self::lookup)), which misses
/// containers whose bundle was already deleted by then (a container whose start failed is
/// cleaned up within milliseconds). [`start_watching`](Self::start_watching) adds a
/// background watcher that reads bundles as they appear (`identity/watch.rs`).
#[derive(Clone, Debug)]
pub struct BundleFinder {
    roots: Vec<Root>,
    cache: HashMap<String, Cached>,
    negative_ttl: Duration,
    /// Shared by clones; the watcher's thread stops when the last clone is dropped.
    watcher: Option<Arc<BundleWatcher>>,
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

/// containerd's directory of task bundles, one subdirectory per namespace.
const CONTAINERD_TASK_DIR: &str = "io.containerd.runtime.v2.task";
const DEFAULT_CONTAINERD_TASKS: &str = "/run/containerd/io.containerd.runtime.v2.task";

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
        BundleFinder {
            roots: extra.chain(defaults).collect(),
            cache: HashMap::new(),
            negative_ttl: NEGATIVE_TTL,
            watcher: None,
        }
    }

    /// Starts a background thread that reads every bundle in the roots as soon as it appears
    /// and remembers it after it is gone; [`lookup`](Self::lookup) and
    /// [`pod_by_uid`](Self::pod_by_uid) consult it first. Returns whether it runs: when
    /// inotify cannot be had (limits, permissions), a warning is logged once per process and
    /// lookups stay lazy. Calling it again while it runs does nothing.
    pub fn start_watching(&mut self) -> bool {
        if self.watcher.is_none() {
            match BundleWatcher::start(&self.roots) {
                Ok(watcher) => self.watcher = Some(Arc::new(watcher)),
                Err(e) => super::watch::warn_unavailable(&e),
            }
        }
        self.watcher.is_some()
    }

    /// Whether `namespace` is a containerd namespace on this node: containerd keeps a task
    /// directory `…/io.containerd.runtime.v2.task/<namespace>` for it (in its default state
    /// directory or next to a root given with `--oci-root`), which stays after the
    /// namespace's containers are gone. Plain containerd clients (`ctr`, nerdctl) put a
    /// container in the cgroup `/<namespace>/<container name>`, and names need not be hex.
    pub fn is_containerd_namespace(&self, namespace: &str) -> bool {
        if !is_safe_id(namespace) {
            return false;
        }
        let given = self
            .roots
            .iter()
            .filter(|r| r.layout == Layout::Bundle)
            .filter_map(|r| r.dir.parent())
            .filter(|parent| parent.file_name().is_some_and(|n| n == CONTAINERD_TASK_DIR));
        given.chain([Path::new(DEFAULT_CONTAINERD_TASKS)]).any(|tasks| tasks.join(namespace).is_dir())
    }

    /// The pod (name, namespace, UID, runtime; no container name) whose UID is `pod_uid`,
    /// from any of its containers' bundles the watcher has seen, the sandbox's included.
    /// `None` without a running watcher.
    pub fn pod_by_uid(&self, pod_uid: &str) -> Option<PodInfo> {
        self.watcher.as_ref()?.pod(pod_uid)
    }

    /// Changes how long a miss is remembered (default [`NEGATIVE_TTL`]; tests use zero).
    pub fn set_negative_ttl(&mut self, ttl: Duration) {
        self.negative_ttl = ttl;
    }

    /// The pod identity of container `container_id`, from the first root that has it.
    /// Hits are kept for good (a container's pod never changes); misses for the negative TTL.
    pub fn lookup(&mut self, container_id: &str) -> Option<PodInfo> {
        // What the watcher saw, even if the bundle is gone since.
        if let Some(info) = self.watcher.as_ref().and_then(|w| w.container(container_id)) {
            return Some(info);
        }
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
        let info = self.roots.iter().find_map(|root| read_entry(root, container_id).into_pod());
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
        pod_info_from_config(&read_capped(&path.join(CONFIG_FILE))?)
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
pub(super) fn is_safe_id(id: &str) -> bool {
    let mut bytes = id.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && id.len() <= 256
}

/// Reads container `id`'s entry in `root`: the one way both the lazy lookup and the watcher
/// read a root. `id` must have passed [`is_safe_id`].
pub(super) fn read_entry(root: &Root, id: &str) -> Entry {
    let path = root.layout.file_in(&root.dir.join(id));
    let Some(bytes) = read_capped(&path) else { return Entry::Missing };
    Entry::from_parsed(match root.layout {
        Layout::Bundle | Layout::CrioUserdata => parse_config(&bytes),
        Layout::RuncState => parse_runc_state(&bytes),
    })
}

impl Layout {
    /// The file holding the pod identity, in a container's directory under a root.
    fn file_in(self, container_dir: &Path) -> PathBuf {
        match self {
            Layout::Bundle => container_dir.join(CONFIG_FILE),
            Layout::CrioUserdata => container_dir.join(CRIO_USERDATA).join(CONFIG_FILE),
            Layout::RuncState => container_dir.join(RUNC_STATE_FILE),
        }
    }
}

/// The OCI bundle's config file.
pub(super) const CONFIG_FILE: &str = "config.json";
/// runc's state file in `<runc root>/<id>`.
pub(super) const RUNC_STATE_FILE: &str = "state.json";
/// CRI-O's subdirectory of `<run root>/<id>` holding the config.
pub(super) const CRIO_USERDATA: &str = "userdata";

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
/// bundle's config.json. As [`parse_config`]: `None` if `json` is not a runc state,
/// `Some(None)` if it names no pod (runc writes the file whole, by a rename, so it is never
/// seen cut short).
fn parse_runc_state(json: &[u8]) -> Option<Option<PodInfo>> {
    let state: RuncState = serde_json::from_slice(json).ok()?;
    let labels: BTreeMap<String, String> = state
        .config
        .labels
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(info) = pod_info_from_annotations(&labels) {
        return Some(Some(info));
    }
    let Some(bundle) = state.bundle.or_else(|| labels.get("bundle").cloned()) else { return Some(None) };
    let path = Path::new(&bundle);
    if !path.is_absolute() {
        return Some(None);
    }
    Some(read_capped(&path.join(CONFIG_FILE)).as_deref().and_then(pod_info_from_config))
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
pub(super) mod tests;
