//! Pod and container starts with a real runtime: a private containerd with runc (Debian's
//! packages), containers made with `ctr` from a root filesystem of static binaries, and
//! real failures:
//!
//! - **while the container starts**, in runc's own `runc:[1:CHILD]`: with
//!   `net.ipv4.tcp_child_ehash_entries` set, every new network namespace allocates its TCP
//!   hash table (2 MiB, order 9, `GFP_KERNEL_ACCOUNT|__GFP_NOWARN`) in the task that creates
//!   it, which for a container is runc's child, already in the container's cgroup. A
//!   pod-level memory limit (as the kubelet sets on `pod<uid>`) that this does not fit in
//!   makes the charge fail: silently (no dmesg line), and the container never starts.
//! - **inside a running container**: its first process resizes pipes after the test lowered
//!   the container's memory limit; in a plain container and in CRI pods (both cgroup
//!   layouts the kubelet produces), driven through containerd's CRI plugin as the kubelet
//!   does, with the pod sandbox ("pause") image built here and imported with `ctr`.

use std::{path::Path, time::Duration};

use fragtrace_tests::{
    SysctlGuard,
    cli::{TempPath, fragtrace, json_lines, signal, start_capture, start_recorder},
    containerd::{CgroupCleanup, Containerd, TOOLS_IMAGE, tools_image, tools_rootfs, wait_for_file},
    cri::{ContainerSpec, Cri, PodSpec},
    require_root,
};
use serde_json::Value;

/// The per-netns TCP hash a new network namespace allocates: 262144 buckets × 8 bytes =
/// 2 MiB, an order-9 `vmalloc_huge` block.
const CHILD_EHASH_ENTRIES: &str = "262144";

/// A container id as containerd's clients (nerdctl, the CRI plugin) make them: 64 hex digits.
fn container_id(tag: u8) -> String {
    format!("{:08x}{tag:02x}", std::process::id()).repeat(7)[..64].to_string()
}

/// Records (default probes) while `work` runs; returns the failures from `report --jsonl`.
fn record(tag: &str, oci_root: &Path, work: impl FnOnce()) -> Vec<Value> {
    let file = TempPath::new(&format!("{tag}.ftr"));
    let root = oci_root.display().to_string();
    let (mut recorder, _stderr, _) = start_recorder(&file, &["--alloc-probe", "auto", "--oci-root", &root]);
    work();
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("recorder exit").success());
    let out = fragtrace().args(["report", "--jsonl"]).arg(&*file).output().expect("report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json_lines(&out.stdout).into_iter().filter(|o| o["kind"] == "failure").collect()
}

/// `ctr run --rm` of a container whose start fails in `runc:[1:CHILD]` (see the module doc):
/// tries pod-level limits from tight to less tight until one start fails; returns the ids
/// that failed.
/// `extra` gives a container's further `ctr run` flags from its id.
fn failing_starts(ctrd: &Containerd, ns: &str, parent: &CgroupCleanup, ids: &[String], extra: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let _ehash = SysctlGuard::set("/proc/sys/net/ipv4/tcp_child_ehash_entries", CHILD_EHASH_ENTRIES);
    let mut failed = Vec::new();
    for (id, limit) in ids.iter().zip([2u64 << 20, 3 << 19, 5 << 19]) {
        parent.set_memory_limit(limit);
        let rootfs = tools_rootfs(&ctrd.dir.join(id));
        let rootfs = rootfs.display().to_string();
        // `--rootfs` is a switch: the directory is the first argument after the flags.
        let extra = extra(id);
        let mut args = vec!["run", "--rm"];
        args.extend(extra.iter().map(String::as_str));
        args.extend_from_slice(&["--rootfs", &rootfs, id, "/bin/true"]);
        let out = ctrd.ctr_output(ns, &args);
        if !out.status.success() {
            eprintln!("container {id} did not start, as intended: {}", String::from_utf8_lossy(&out.stderr).trim());
            failed.push(id.clone());
            break;
        }
    }
    failed
}

#[test]
fn a_short_lived_plain_container_failing_to_start_keeps_its_cgroup_and_id() {
    let _serial = require_root();
    let ctrd = Containerd::start("plain-start");
    let ns = format!("ft-e2e-{}", std::process::id());
    // ctr's default cgroup is /<namespace>/<id>: the namespace's cgroup carries the limit.
    let parent = CgroupCleanup::new(&ns);
    // Named as people name `ctr` containers, not hex: the namespace tells it is containerd's.
    let ids: Vec<String> = (1..=3).map(|n| format!("web-start-{n}")).collect();
    let mut failed = Vec::new();
    let failures = record("plain-start", &ctrd.task_root(&ns), || failed = failing_starts(&ctrd, &ns, &parent, &ids, |_| Vec::new()));
    let id = failed.first().expect("no container start failed at any pod-level limit");
    let listed = ctrd.ctr_output(&ns, &["containers", "list", "-q"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(id.as_str()), "the container is gone");
    assert!(!Path::new("/sys/fs/cgroup/memory").join(&ns).join(id).exists(), "its cgroup is gone");
    let ours: Vec<&Value> = failures.iter().filter(|f| f["comm"] == "runc:[1:CHILD]" && f["order"] == 9).collect();
    assert!(!ours.is_empty(), "runc's child failed its order-9 netns hash; failures seen: {failures:#?}");
    for f in ours {
        assert_eq!(f["cgroup"], format!("/{ns}/{id}").as_str(), "the kernel-captured path: {f}");
        assert_eq!(f["container_id"], id.as_str(), "{f}");
        assert_eq!(f["runtime"], "containerd", "{f}");
        assert!(f["gfp_flags"].as_array().is_some_and(|g| g.iter().any(|n| n == "__GFP_NOWARN")), "a silent failure: {f}");
    }
}

#[test]
fn a_failure_inside_a_running_plain_container_is_attributed() {
    let _serial = require_root();
    let ctrd = Containerd::start("plain-running");
    let ns = format!("ft-e2e-run-{}", std::process::id());
    let _parent = CgroupCleanup::new(&ns);
    let id = container_id(9);
    let rootfs = tools_rootfs(&ctrd.dir.join(&id));
    let _pipes = PipeSizesForContainers::allow();
    let failures = record("plain-running", &ctrd.task_root(&ns), || {
        let root = rootfs.display().to_string();
        let out = ctrd.ctr_output(
            &ns,
            &["run", "-d", "--memory-limit", &(64u64 << 20).to_string(), "--rootfs", &root, &id, "/alloc-trigger", "pipe-resize-on-signal", "/tmp", "64", "128"],
        );
        assert!(out.status.success(), "ctr run -d: {}", String::from_utf8_lossy(&out.stderr));
        wait_for_file(&rootfs.join("tmp/ready"), Duration::from_secs(30));
        squeeze(&Path::new("/sys/fs/cgroup/memory").join(&ns).join(&id));
        let out = ctrd.ctr_output(&ns, &["tasks", "kill", "-s", "SIGUSR1", &id]);
        assert!(out.status.success(), "ctr tasks kill: {}", String::from_utf8_lossy(&out.stderr));
        wait_for_file(&rootfs.join("tmp/result"), Duration::from_secs(30));
    });
    let result: Value = serde_json::from_slice(&std::fs::read(rootfs.join("tmp/result")).expect("result")).expect("result JSON");
    assert_eq!(result["errnos"], serde_json::json!(vec![libc::ENOMEM; 2]), "both resizes failed their charge");
    let ours: Vec<&Value> = failures.iter().filter(|f| f["comm"] == "alloc-trigger").collect();
    let orders: Vec<u64> = ours.iter().map(|f| f["order"].as_u64().expect("order")).collect();
    assert_eq!(orders, [8, 9], "{failures:#?}");
    for f in ours {
        assert_eq!(f["cgroup"], format!("/{ns}/{id}").as_str(), "{f}");
        assert_eq!(f["container_id"], id.as_str(), "{f}");
        assert_eq!(f["runtime"], "containerd", "{f}");
    }
}

/// Pipes up to 256 MiB for a container's unprivileged root (no CAP_SYS_RESOURCE): the
/// size cap and the per-user soft limit (root in a container is root's user on the host)
/// lifted, and restored on drop.
pub struct PipeSizesForContainers(#[allow(dead_code, reason = "restores on drop")] SysctlGuard, #[allow(dead_code, reason = "restores on drop")] SysctlGuard);

impl PipeSizesForContainers {
    pub fn allow() -> Self {
        Self(
            SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string()),
            SysctlGuard::set("/proc/sys/fs/pipe-user-pages-soft", "0"),
        )
    }
}

/// Lowers a memory cgroup's limit to just above its usage, as a tight limit would be; its
/// reclaimable pages are dropped first, so that reclaim cannot make room for the charge.
/// The usage includes the per-CPU charge stock (up to 64 pages a CPU), which a charge at
/// the limit drains: only charges well above that (order ≥ 8, 1 MiB) fail for certain.
pub fn squeeze(cgroup: &Path) {
    std::fs::write(cgroup.join("memory.force_empty"), "0").expect("force_empty");
    let usage: u64 = std::fs::read_to_string(cgroup.join("memory.usage_in_bytes")).expect("usage").trim().parse().expect("usage");
    std::fs::write(cgroup.join("memory.limit_in_bytes"), (usage + (128 << 10)).to_string()).expect("limit");
}

/// The memory cgroup directory of a running process, as /proc says.
fn memory_cgroup_of(pid: u32) -> std::path::PathBuf {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("/proc/PID/cgroup");
    let path = cgroups
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .expect("a cgroup-v1 memory line");
    Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/'))
}

/// The host pid of a container's task (`ctr tasks list`).
fn task_pid(ctrd: &Containerd, ns: &str, id: &str) -> u32 {
    let out = ctrd.ctr_output(ns, &["tasks", "list"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let mut cols = l.split_whitespace();
            (cols.next() == Some(id)).then(|| cols.next()?.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no task {id} in {}", String::from_utf8_lossy(&out.stdout)))
}

/// A CRI pod (sandbox plus one app container running the trigger) started through
/// containerd's CRI plugin as the kubelet would; the app container's pipe resizes fail once
/// the test has squeezed its memory limit. Returns (container id, the failures recorded).
fn cri_pod_failure(tag: &str, pod: &PodSpec) -> (String, Vec<Value>) {
    let ctrd = Containerd::start(tag);
    ctrd.import("k8s.io", &tools_image(&ctrd.dir));
    let mut cri = Cri::connect(&ctrd.socket).expect("CRI connect");
    let _pipes = PipeSizesForContainers::allow();
    let mut id = String::new();
    let app = ContainerSpec {
        name: "app".into(),
        image: TOOLS_IMAGE.into(),
        command: ["/alloc-trigger", "pipe-resize-on-signal", "/tmp", "64", "128"].map(String::from).to_vec(),
        memory_limit_bytes: 64 << 20,
        add_capabilities: vec![],
    };
    let failures = record(tag, &ctrd.task_root("k8s.io"), || {
        let sandbox = cri.run_pod_sandbox(pod).expect("RunPodSandbox");
        id = cri.create_container(&sandbox, pod, &app).expect("CreateContainer");
        cri.start_container(&id).expect("StartContainer");
        let pid = task_pid(&ctrd, "k8s.io", &id);
        wait_for_file(Path::new(&format!("/proc/{pid}/root/tmp/ready")), Duration::from_secs(30));
        squeeze(&memory_cgroup_of(pid));
        let out = ctrd.ctr_output("k8s.io", &["tasks", "kill", "-s", "SIGUSR1", &id]);
        assert!(out.status.success(), "ctr tasks kill: {}", String::from_utf8_lossy(&out.stderr));
        let (code, reason) = cri.wait_exited(&id, Duration::from_secs(30)).expect("the app container exits");
        assert_eq!(code, 0, "the trigger exited with {code} ({reason})");
        cri.remove_pod(&sandbox);
    });
    let log = std::fs::read_to_string(pod.log_dir.join("app/0.log")).expect("the app container's CRI log");
    assert!(log.contains("\"errnos\":[12, 12]"), "both resizes failed their charge: {log}");
    let ours: Vec<Value> = failures.into_iter().filter(|f| f["comm"] == "alloc-trigger").collect();
    let orders: Vec<u64> = ours.iter().map(|f| f["order"].as_u64().expect("order")).collect();
    assert_eq!(orders, [8, 9], "{ours:#?}");
    (id, ours)
}

/// The pod, and its log directory (removed on drop).
fn pod_spec(name: &str, uid: &str, cgroup_parent: String) -> (PodSpec, TempPath) {
    let logs = TempPath::new(&format!("pod-logs-{uid}"));
    let pod = PodSpec { name: name.into(), namespace: "shop".into(), uid: uid.into(), cgroup_parent, log_dir: logs.to_path_buf() };
    (pod, logs)
}

fn pod_uid(tag: u16) -> String {
    format!("5c0ffee0-0000-4000-{tag:04x}-{:012x}", std::process::id())
}

/// Everything a CRI pod's failure says about who it was.
fn assert_identity(f: &Value, pod: &PodSpec, container_id: &str, qos: &str) {
    assert_eq!(f["pod_name"], pod.name.as_str(), "{f}");
    assert_eq!(f["pod_namespace"], pod.namespace.as_str(), "{f}");
    assert_eq!(f["pod_uid"], pod.uid.as_str(), "{f}");
    assert_eq!(f["container_name"], "app", "{f}");
    assert_eq!(f["container_id"], container_id, "{f}");
    assert_eq!(f["qos"], qos, "{f}");
    assert_eq!(f["runtime"], "containerd", "{f}");
}

#[test]
fn a_cri_pod_with_the_cgroupfs_driver_is_attributed() {
    let _serial = require_root();
    let uid = pod_uid(1);
    let _cgroups = CgroupCleanup::new(&format!("kubepods/burstable/pod{uid}"));
    let (pod, _logs) = pod_spec("web-0", &uid, format!("/kubepods/burstable/pod{uid}"));
    let (id, failures) = cri_pod_failure("cri-cgroupfs", &pod);
    for f in &failures {
        assert_identity(f, &pod, &id, "burstable");
        assert_eq!(f["cgroup"], format!("/kubepods/burstable/pod{uid}/{id}").as_str(), "{f}");
    }
}

/// With the kubelet's systemd driver, the pod's parent is a slice name. The real driver needs
/// systemd as PID 1 (this CI has none: runc says "systemd not running on this host"), so
/// containerd runs runc with the cgroupfs driver here, which is what a node whose kubelet and
/// containerd disagree on the driver does: the container's cgroup is
/// `kubepods-besteffort-pod<uid_>.slice:cri-containerd:<id>`, below the runtime's own cgroup.
#[test]
fn a_cri_pod_with_a_systemd_slice_parent_is_attributed() {
    let _serial = require_root();
    let uid = pod_uid(2);
    let slice = format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"));
    let (pod, _logs) = pod_spec("batch-7", &uid, slice.clone());
    let (id, failures) = cri_pod_failure("cri-systemd", &pod);
    for f in &failures {
        // The slice spells the UID with underscores; the event has it with dashes.
        assert_identity(f, &pod, &id, "besteffort");
        assert!(f["cgroup"].as_str().is_some_and(|c| c.ends_with(&format!("/{slice}:cri-containerd:{id}"))), "{f}");
    }
}

/// `capture` during a real failing start: a kubepods-shaped container (pod-level limit on
/// `pod<uid>`, CRI annotations as the CRI plugin writes them) whose `runc:[1:CHILD]` fails.
/// The bundle is deleted by containerd milliseconds after the failure; the SUMMARY still
/// names the pod and container and says the container was starting.
#[test]
fn capture_of_a_failing_container_start_names_the_pod_and_says_it_was_starting() {
    let _serial = require_root();
    let ctrd = Containerd::start("capture-start");
    let ns = "k8s.io";
    let uid = pod_uid(3);
    let pod_cgroup = format!("kubepods/burstable/pod{uid}");
    let parent = CgroupCleanup::new(&pod_cgroup);
    let dir = TempPath::new("start-bundles");
    let task_root = ctrd.task_root(ns).display().to_string();
    let (mut capture, err, mut seen) = start_capture(
        &dir,
        &["--comm", "runc*", "--pod", "shop/web-0", "--min-order", "9", "--before", "2s", "--after", "1s", "--timeout", "90s", "--oci-root", &task_root],
    );
    let ids: Vec<String> = (20..=22).map(container_id).collect();
    let annotations: Vec<String> = [
        "io.kubernetes.cri.container-type=container".to_string(),
        "io.kubernetes.cri.container-name=app".to_string(),
        "io.kubernetes.cri.sandbox-name=web-0".to_string(),
        "io.kubernetes.cri.sandbox-namespace=shop".to_string(),
        format!("io.kubernetes.cri.sandbox-uid={uid}"),
    ]
    .into_iter()
    .flat_map(|a| ["--annotation".to_string(), a])
    .collect();
    let failed = failing_starts(&ctrd, ns, &parent, &ids, |id| {
        let mut extra = annotations.clone();
        extra.extend(["--cgroup".to_string(), format!("/{pod_cgroup}/{id}")]);
        extra
    });
    let id = failed.first().expect("no container start failed at any pod-level limit").clone();
    let status = capture.wait_timeout(Duration::from_secs(60)).unwrap_or_else(|| panic!("capture did not finish: {seen:?}"));
    seen.extend(err.iter());
    assert_eq!(status.code(), Some(0), "{seen:?}");
    let bundles: Vec<_> = std::fs::read_dir(&*dir).expect("bundle dir").flatten().map(|e| e.path()).collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let summary = std::fs::read_to_string(bundles[0].join("SUMMARY.md")).expect("SUMMARY.md");
    for needle in [
        "**runc:[1:CHILD]**",
        "order-9 allocation",
        "dmesg shows nothing",
        "pod: shop/web-0",
        &format!("container: {id} \"app\", containerd"),
        "QoS class: burstable",
        "**while the container was starting**: the failing task was the runtime's own `runc:[1:CHILD]`",
        "ContainerCreating",
        "memory-cgroup charge failed** while the runtime was creating the container",
    ] {
        assert!(summary.contains(needle), "SUMMARY.md lacks {needle:?}:\n{summary}");
    }
    let failures = json_lines(&std::fs::read(bundles[0].join("failures.jsonl")).expect("failures.jsonl"));
    assert!(failures.iter().any(|f| f["comm"] == "runc:[1:CHILD]" && f["container_starting"] == true && f["container_name"] == "app"), "{failures:#?}");
}
