//! Pod and container attribution as on a Kubernetes node: kubelet-shaped memory cgroups
//! (cgroupfs and systemd drivers), the runtime's OCI bundle with pod annotations, and the
//! failing task a `runc:[1:CHILD]` that lives for a millisecond.

use std::{path::Path, time::Duration};

use fragtrace_tests::{
    MemCgroupPath,
    cli::{OciRoot, TempPath, fragtrace, json_lines, provoke_in_child, signal, start_capture, start_recorder},
    require_root,
};
use serde_json::{Value, json};

fn ids(tag: u32) -> (String, String) {
    let pid = std::process::id();
    let uid = format!("1b4e28ba-2fa1-11d2-{tag:04x}-{pid:012x}");
    let container = format!("{:016x}", u64::from(pid) << 8 | u64::from(tag)).repeat(4);
    (uid, container)
}

/// Records while `work` runs, then returns every failure event of `tgid` from `report --jsonl`.
fn record_failures(tag: &str, oci: &OciRoot, work: impl FnOnce() -> u32) -> (Vec<Value>, TempPath) {
    let file = TempPath::new(&format!("{tag}.ftr"));
    let oci_root = oci.0.display().to_string();
    let (mut recorder, _stderr, _) = start_recorder(&file, &["--kubepods", "--oci-root", &oci_root]);
    let tgid = work();
    signal(&recorder, libc::SIGINT);
    assert!(recorder.wait().expect("exit").success());
    let out = fragtrace().args(["report", "--jsonl"]).arg(&file).output().expect("report");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let failures = json_lines(&out.stdout).into_iter().filter(|o| o["kind"] == "failure" && o["tgid"] == tgid).collect();
    (failures, file)
}

#[test]
fn a_runc_child_in_a_cgroupfs_containerd_pod_is_attributed() {
    let _serial = require_root();
    let (uid, container) = ids(1);
    let cgroup = MemCgroupPath::create(&format!("kubepods/burstable/pod{uid}/{container}"), 128 * 1024);
    let oci = OciRoot::new("containerd");
    oci.add(
        &container,
        json!({
            "io.kubernetes.cri.container-type": "sandbox",
            "io.kubernetes.cri.sandbox-name": "web-0",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": uid,
        }),
    );
    let mut trigger = None;
    let (failures, file) = record_failures("pod-containerd", &oci, || {
        let t = provoke_in_child("runc:[1:CHILD]", &cgroup.leaf);
        let child = t.child_pid;
        trigger = Some(t);
        child
    });
    let trigger = trigger.expect("trigger ran");
    let orders: Vec<u64> = failures.iter().map(|f| f["order"].as_u64().expect("order")).collect();
    assert_eq!(orders, vec![6, 7, 8, 9], "the child's four failures");
    for f in &failures {
        assert_eq!(f["comm"], "runc:[1:CHILD]");
        assert_eq!(f["pod_uid"], uid.as_str(), "{f}");
        assert_eq!(f["container_id"], container.as_str(), "{f}");
        assert_eq!(f["pod_name"], "web-0", "{f}");
        assert_eq!(f["pod_namespace"], "shop", "{f}");
        assert_eq!(f["qos"], "burstable", "{f}");
        assert_eq!(f["runtime"], "containerd", "{f}");
        assert_eq!(f["cgroup"], format!("/kubepods/burstable/pod{uid}/{container}").as_str(), "the path as the kernel named it");
        assert_eq!(f["ancestry"][0], json!({"pid": trigger.pid, "comm": "runc"}), "the child's parent, captured in the kernel: {f}");
    }
    let doc: Value = serde_json::from_slice(&fragtrace().args(["report", "--json"]).arg(&file).output().expect("report").stdout).expect("json");
    assert_eq!(doc["failures"]["by_pod"][0], json!({"pod": "shop/web-0", "count": 4}));
    let by_pod = |pod: &str| {
        let out = fragtrace().args(["report", "--jsonl", "--pod", pod]).arg(&file).output().expect("report");
        json_lines(&out.stdout).iter().filter(|o| o["kind"] == "failure").count()
    };
    assert_eq!(by_pod("shop/web-0"), 4);
    assert_eq!(by_pod(&uid.replace('-', "_")), 4, "systemd-style uid");
    assert_eq!(by_pod("shop/other"), 0);
    let text = String::from_utf8(fragtrace().arg("report").arg(&file).output().expect("report").stdout).expect("utf-8");
    assert!(text.contains("FAILURES BY POD") && text.contains("shop/web-0"), "{text}");
}

#[test]
fn a_child_in_a_systemd_crio_pod_is_attributed() {
    let _serial = require_root();
    let (uid, container) = ids(2);
    let slice_uid = uid.replace('-', "_");
    let path = format!("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{slice_uid}.slice/crio-{container}.scope");
    let cgroup = MemCgroupPath::create(&path, 128 * 1024);
    let oci = OciRoot::new("crio");
    oci.add(
        &container,
        json!({
            "io.kubernetes.pod.name": "batch-7",
            "io.kubernetes.pod.namespace": "jobs",
            "io.kubernetes.pod.uid": uid,
            "io.kubernetes.container.name": "worker",
        }),
    );
    let (failures, _file) = record_failures("pod-crio", &oci, || provoke_in_child("exe", &cgroup.leaf).child_pid);
    assert_eq!(failures.len(), 4);
    for f in &failures {
        assert_eq!(f["comm"], "exe");
        assert_eq!(f["pod_uid"], uid.as_str(), "underscores turned back into dashes: {f}");
        assert_eq!(f["container_id"], container.as_str());
        assert_eq!(f["pod_name"], "batch-7");
        assert_eq!(f["pod_namespace"], "jobs");
        assert_eq!(f["container_name"], "worker");
        assert_eq!(f["qos"], "besteffort");
        assert_eq!(f["runtime"], "cri-o");
    }
}

/// The bundle's memcg.json and SUMMARY.md give the failing cgroup's limit as the test set it,
/// its usage at the limit and the charges it refused.
fn memcg_numbers_are_the_cgroups(bundle: &Path, summary: &str, leaf: &Path, path: &str) {
    let limit: u64 = std::fs::read_to_string(leaf.join("memory.limit_in_bytes")).expect("limit").trim().parse().expect("number");
    let memcg: Value = serde_json::from_slice(&std::fs::read(bundle.join("memcg.json")).expect("memcg.json")).expect("memcg.json is JSON");
    assert_eq!(memcg["cgroup"], path, "{memcg}");
    let ours = &memcg["chain"][0];
    assert_eq!((ours["path"].as_str(), ours["version"].as_str()), (Some(path), Some("v1")), "{memcg}");
    assert_eq!(ours["limit_bytes"].as_u64(), Some(limit), "the limit the test set: {memcg}");
    let usage = ours["usage_bytes"].as_u64().expect("usage_bytes");
    // The order-6 charge (256 KiB) exceeds the 128 KiB of headroom whatever the usage was;
    // usage itself may read 0 once the failing task's pages were uncharged (seen in CI).
    assert!(usage <= limit, "usage {usage} within the limit {limit}: {memcg}");
    assert!(ours["failcnt"].as_u64().is_some_and(|n| n >= 1), "the limit refused at least the failing charge: {memcg}");
    assert!(ours["max_usage_bytes"].as_u64().is_some_and(|m| m >= usage && m <= limit), "{memcg}");
    let parents: Vec<&str> = memcg["chain"].as_array().expect("chain").iter().skip(1).filter_map(|c| c["path"].as_str()).collect();
    assert_eq!(parents, [path.rsplit_once('/').expect("parent").0, "/kubepods"], "every ancestor below the root, nearest first");
    let line = format!("- `{path}`: limit **{}** ({limit} bytes), usage **", fragtrace::capture::memcg::human_bytes(limit));
    assert!(summary.contains("## Memory cgroup at the failure") && summary.contains(&line), "SUMMARY.md lacks {line:?}:\n{summary}");
    assert!(summary.contains(&format!("failcnt **{}**", ours["failcnt"])), "{summary}");
}

#[test]
fn capture_writes_a_bundle_for_the_pod_and_times_out_with_status_2() {
    let _serial = require_root();
    let (uid, container) = ids(3);
    let cgroup = MemCgroupPath::create(&format!("kubepods/pod{uid}/{container}"), 128 * 1024);
    let oci = OciRoot::new("capture");
    oci.add(&container, json!({"io.kubernetes.cri.sandbox-name": "db-1", "io.kubernetes.cri.sandbox-namespace": "prod", "io.kubernetes.cri.sandbox-uid": uid}));
    let dir = TempPath::new("bundles");
    let oci_root = oci.0.display().to_string();
    let (mut capture, err, mut seen) =
        start_capture(&dir, &["--comm", "runc*", "--min-order", "4", "--before", "5s", "--after", "1s", "--timeout", "60s", "--oci-root", &oci_root]);
    let trigger = provoke_in_child("runc:[1:CHILD]", &cgroup.leaf);
    let status = capture.wait_timeout(Duration::from_secs(30));
    seen.extend(err.try_iter());
    let status = status.unwrap_or_else(|| panic!("capture did not finish within 30 s of the failure: {seen:?}"));
    seen.extend(err.iter());
    assert_eq!(status.code(), Some(0), "{seen:?}");
    let bundles: Vec<_> = std::fs::read_dir(&dir).expect("bundle dir").flatten().map(|e| e.path()).collect();
    assert_eq!(bundles.len(), 1, "{bundles:?}");
    let bundle = &bundles[0];
    assert!(bundle.file_name().unwrap().to_string_lossy().ends_with("runc__1_CHILD_-order6"), "{}", bundle.display());
    let summary = std::fs::read_to_string(bundle.join("SUMMARY.md")).expect("SUMMARY.md");
    for needle in ["runc:[1:CHILD]", "order-6 allocation", "pod: prod/db-1", &format!("container: {container}"), "QoS class: guaranteed", "pipe_resize_ring", "memory-cgroup charge", &format!("runc:[1:CHILD] ({}) ← runc ({})", trigger.child_pid, trigger.pid)] {
        assert!(summary.contains(needle), "SUMMARY.md lacks {needle:?}:\n{summary}");
    }
    for snapshot in ["buddyinfo", "pagetypeinfo", "zoneinfo", "meminfo", "vmstat", "sysctl", "osrelease", "cmdline"] {
        let f = bundle.join("snapshots").join(format!("{snapshot}.txt"));
        assert!(std::fs::metadata(&f).is_ok_and(|m| m.len() > 0), "{} missing or empty", f.display());
    }
    memcg_numbers_are_the_cgroups(bundle, &summary, &cgroup.leaf, &format!("/kubepods/pod{uid}/{container}"));
    let failures = json_lines(&std::fs::read(bundle.join("failures.jsonl")).expect("failures.jsonl"));
    let ours: Vec<&Value> = failures.iter().filter(|f| f["tgid"] == trigger.child_pid).collect();
    assert_eq!(ours.len(), 4, "{failures:?}");
    assert!(ours.iter().all(|f| f["pod_name"] == "db-1" && f["stack"].as_array().is_some_and(|s| !s.is_empty())));
    let report = fragtrace().args(["report", "--jsonl"]).arg(bundle.join("trace.ftr")).output().expect("report");
    assert!(report.status.success() && report.stderr.is_empty(), "the bundle's recording is complete: {}", String::from_utf8_lossy(&report.stderr));
    std::fs::remove_dir_all(&dir).expect("removing the bundles before the second capture");

    // Nothing matches: exit status 2 after the timeout.
    let out = fragtrace().args(["capture", "--comm", "no-such-task", "--timeout", "1s", "-o"]).arg(&dir).output().expect("capture");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing captured"));
    assert!(!dir.exists() || std::fs::read_dir(&dir).expect("dir").next().is_none(), "no bundle written");
}
