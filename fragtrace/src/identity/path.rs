//! Cgroup path → container identity, from names alone.
//!
//! The kubelet names pod cgroups after the QoS class and the pod UID, and container runtimes
//! name container cgroups after the container id, so a memory cgroup's path says whose memory
//! it is without asking any API. Two naming schemes exist, one per cgroup driver:
//!
//! - **cgroupfs**: `/kubepods[/burstable|/besteffort]/pod<uid>/<container>`; Guaranteed pods
//!   sit directly under `kubepods`. The container directory is the bare id for containerd,
//!   dockershim and cri-dockerd, `crio-<id>` for CRI-O.
//! - **systemd**: every level is a slice whose name repeats all its ancestors joined by `-`
//!   (`kubepods-burstable-pod<uid>.slice`), so the kubelet writes the UID's dashes as `_`; the
//!   container is a scope `<prefix>-<id>.scope` (`cri-containerd`, `crio`, `crio-conmon`,
//!   `docker`). systemd escapes other bytes of a unit name as `\xNN` (a dash inside a
//!   component is `\x2d`).
//!
//! Either may sit under a parent (a non-root `--cgroup-root` such as `/kubelet`, or
//! `/system.slice/containerd.service` when runtime and kubelet disagree on the driver, which
//! yields leaves like `kubepods-burstable-pod<uid>.slice:cri-containerd:<id>`), so the parser
//! scans every component instead of anchoring at the root. Cgroup v1 and v2 paths relative to
//! their hierarchy's root look the same.
//!
//! Bare ids under cgroupfs say nothing about the runtime: [`super::oci::BundleFinder`] can
//! fill it in from the container's OCI bundle.

use serde::{Deserialize, Serialize};

/// The container runtime that created a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Runtime {
    #[serde(rename = "containerd")]
    Containerd,
    #[serde(rename = "cri-o")]
    Crio,
    #[serde(rename = "docker")]
    Docker,
    #[serde(rename = "podman")]
    Podman,
}

/// Which cgroup driver named the cgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupDriver {
    Cgroupfs,
    Systemd,
}

/// The pod's Kubernetes QoS class, as encoded in its cgroup's parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qos {
    Guaranteed,
    Burstable,
    BestEffort,
}

/// What a cgroup path says about the container it belongs to. All `None` (and `kubepods`
/// false) for cgroups that are not containers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerIdentity {
    pub runtime: Option<Runtime>,
    pub driver: Option<CgroupDriver>,
    pub qos: Option<Qos>,
    /// Canonical form, with dashes.
    pub pod_uid: Option<String>,
    /// As written in the path (usually 64 hex digits).
    pub container_id: Option<String>,
    /// Under a kubelet `kubepods` hierarchy.
    pub kubepods: bool,
}

/// The marker the probes put in front of a path whose top was cut off.
const TRUNCATED_PREFIX: &str = "/…/";

/// Parses a cgroup path (relative to its hierarchy's root, starting with `/`). Never fails:
/// what is not recognised stays `None`. A truncated path (`/…/…`) is parsed as far as it goes;
/// a `pod<uid>` component in one counts as kubepods, since only the kubelet names cgroups so.
pub fn parse_cgroup_path(path: &str) -> ContainerIdentity {
    let truncated = path.starts_with(TRUNCATED_PREFIX);
    let mut id = ContainerIdentity::default();
    // Whether the previous component was the cgroupfs `kubepods` level, and whether we are
    // inside a pod's cgroup (so its children are containers).
    let mut prev_kubepods = false;
    let mut in_pod = false;
    let mut prev_docker = false;
    // The previous component, when it could be a containerd namespace (only the first one).
    let mut containerd_namespace: Option<&str> = None;
    for (depth, comp) in path.split('/').filter(|c| !c.is_empty()).enumerate() {
        let was_kubepods = std::mem::take(&mut prev_kubepods);
        let was_docker = std::mem::take(&mut prev_docker);
        let namespace_before = containerd_namespace.take();
        if depth == 0 && !truncated && is_containerd_namespace(comp) {
            containerd_namespace = Some(comp);
        }
        if let Some((slice, rest)) = comp.split_once(':') {
            // `<slice>:<prefix>:<id>`: runc's systemd cgroupsPath syntax, used verbatim as a
            // directory name when the runtime is set up for systemd but the kubelet is not.
            if let Some(unit) = slice.strip_suffix(".slice") {
                in_pod |= parse_slice(unit, &mut id);
            }
            if let Some((prefix, cid)) = rest.split_once(':')
                && let Some(runtime) = runtime_of_prefix(prefix)
                && is_container_id(cid)
            {
                set_container(&mut id, Some(runtime), cid, CgroupDriver::Systemd);
            }
        } else if let Some(unit) = comp.strip_suffix(".slice") {
            in_pod |= parse_slice(unit, &mut id);
        } else if let Some(unit) = comp.strip_suffix(".scope") {
            let unit = unescape_unit(unit);
            if let Some((runtime, cid)) = split_prefixed(&unit) {
                set_container(&mut id, Some(runtime), cid, CgroupDriver::Systemd);
            }
        } else if comp == "kubepods" {
            id.kubepods = true;
            id.driver = Some(CgroupDriver::Cgroupfs);
            prev_kubepods = true;
        } else if let Some(qos) = qos_of(comp)
            && (was_kubepods || (truncated && !id.kubepods))
        {
            id.qos = Some(qos);
            id.kubepods |= truncated;
        } else if let Some(uid) = comp.strip_prefix("pod").and_then(pod_uid)
            && (id.kubepods || truncated)
        {
            id.kubepods = true;
            id.driver.get_or_insert(CgroupDriver::Cgroupfs);
            if was_kubepods {
                id.qos = Some(Qos::Guaranteed);
            }
            id.pod_uid = Some(uid);
            in_pod = true;
        } else if comp == "docker" {
            prev_docker = true;
        } else if namespace_before.is_some()
            && !in_pod
            && !id.kubepods
            && comp.len() == 64
            && is_container_id(comp)
        {
            // `ctr`/nerdctl without a kubelet: `/<containerd namespace>/<id>` (`k8s.io`,
            // `default`, …); Docker's own namespace is the `/docker` case below.
            set_container(&mut id, Some(Runtime::Containerd), comp, CgroupDriver::Cgroupfs);
        } else if in_pod || was_docker {
            // A pod's child, or a child of cgroupfs Docker's `/docker`: the container.
            let runtime = if was_docker && !in_pod { Some(Runtime::Docker) } else { None };
            if let Some((prefixed, cid)) = split_prefixed(comp) {
                set_container(&mut id, Some(prefixed), cid, CgroupDriver::Cgroupfs);
            } else if is_container_id(comp) {
                set_container(&mut id, runtime, comp, CgroupDriver::Cgroupfs);
            }
        }
    }
    id
}

/// Records a container, keeping the driver already known from the kubepods hierarchy: a
/// systemd-named pod slice holds systemd-named scopes, and the innermost container wins
/// (Docker in Docker).
fn set_container(id: &mut ContainerIdentity, runtime: Option<Runtime>, cid: &str, driver: CgroupDriver) {
    id.runtime = runtime;
    id.container_id = Some(cid.to_string());
    id.driver.get_or_insert(driver);
}

/// Reads a slice name (without `.slice`): its `-`-separated parts are the hierarchy from the
/// top, so `kubepods-burstable-pod<uid>` holds the QoS class and the pod. Returns whether the
/// slice is a pod's.
fn parse_slice(unit: &str, id: &mut ContainerIdentity) -> bool {
    // Split before unescaping: `-` is the hierarchy separator, `\x2d` a dash inside a part.
    let parts: Vec<String> = unit.split('-').map(unescape_unit).collect();
    let Some(k) = parts.iter().position(|p| p == "kubepods") else { return false };
    id.kubepods = true;
    id.driver = Some(CgroupDriver::Systemd);
    let mut is_pod = false;
    for (i, part) in parts.iter().enumerate().skip(k + 1) {
        if let Some(qos) = qos_of(part) {
            id.qos = Some(qos);
        } else if let Some(uid) = part.strip_prefix("pod").and_then(pod_uid) {
            if i == k + 1 {
                id.qos = Some(Qos::Guaranteed);
            }
            id.pod_uid = Some(uid);
            is_pod = true;
        }
    }
    is_pod
}

fn qos_of(level: &str) -> Option<Qos> {
    match level {
        "burstable" => Some(Qos::Burstable),
        "besteffort" => Some(Qos::BestEffort),
        _ => None,
    }
}

/// `cri-containerd-<id>`, `crio-conmon-<id>` (conmon, CRI-O's monitor, is charged to the
/// container it watches), `crio-<id>`, `docker-<id>` → runtime and id.
fn split_prefixed(name: &str) -> Option<(Runtime, &str)> {
    // Longest prefix first: `crio-` would also match `crio-conmon-`.
    const PREFIXES: [(&str, Runtime); 6] = [
        ("cri-containerd-", Runtime::Containerd),
        ("crio-conmon-", Runtime::Crio),
        ("crio-", Runtime::Crio),
        ("docker-", Runtime::Docker),
        ("libpod-conmon-", Runtime::Podman),
        ("libpod-", Runtime::Podman),
    ];
    PREFIXES.iter().find_map(|(prefix, runtime)| {
        let cid = name.strip_prefix(prefix)?;
        is_container_id(cid).then_some((*runtime, cid))
    })
}

/// The runtime named by the middle field of `<slice>:<prefix>:<id>`.
fn runtime_of_prefix(prefix: &str) -> Option<Runtime> {
    match prefix {
        "cri-containerd" => Some(Runtime::Containerd),
        "crio" | "crio-conmon" => Some(Runtime::Crio),
        "docker" => Some(Runtime::Docker),
        "libpod" | "libpod-conmon" => Some(Runtime::Podman),
        _ => None,
    }
}

/// A containerd namespace name as a cgroup directory (`k8s.io`, `default`, `buildkit`):
/// lowercase letters, digits, `.`, `_`, `-`; not a systemd unit, not a kubelet level.
fn is_containerd_namespace(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 76
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        && !s.ends_with(".slice")
        && !s.ends_with(".scope")
        && !s.ends_with(".service")
        && !matches!(s, "kubepods" | "docker" | "system" | "user" | "init")
        // `pod<uid>` alone is a kubelet pod level seen without its parents, not a namespace.
        && s.strip_prefix("pod").and_then(pod_uid).is_none()
}

/// Container ids are hex: 64 digits from every runtime here, but short forms (12 digits)
/// appear in hand-made setups. Anything else (`init.scope`, `user-1000.slice`) is not one.
fn is_container_id(s: &str) -> bool {
    (12..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A pod UID from the text after `pod`: a UUID with `-` (cgroupfs) or `_` (systemd), or the
/// 32-hex-digit hash the kubelet gives static pods. Returns it with dashes.
fn pod_uid(s: &str) -> Option<String> {
    let hex = s.bytes().filter(u8::is_ascii_hexdigit).count();
    let well_formed = s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    (well_formed && (32..=64).contains(&hex) && s.len() <= 72).then(|| s.replace('_', "-"))
}

/// Undoes systemd's unit-name escaping (`\xNN` → byte). Invalid escapes stay as they are;
/// bytes that do not form UTF-8 become U+FFFD rather than an error.
fn unescape_unit(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(value) = bytes.get(i + 2..i + 4).and_then(hex_byte)
        {
            out.push(value);
            i += 4;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(digits: &[u8]) -> Option<u8> {
    // `from_str_radix` alone would also take a sign (`\x+f`).
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u8::from_str_radix(text, 16).ok()
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
