use super::*;

const UID: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
const UID_SYSTEMD: &str = "1b4e28ba_2fa1_11d2_883f_0016d3cca427";
const CID: &str = "6a825448c5ef07ac0c3b99532b18bdec0e1d0bb1eb41b4672d570634a1409a85";

/// The expected identity, built tersely.
fn k8s(
    runtime: Option<Runtime>,
    driver: CgroupDriver,
    qos: Option<Qos>,
    pod: bool,
    container: bool,
) -> ContainerIdentity {
    ContainerIdentity {
        runtime,
        driver: Some(driver),
        qos,
        pod_uid: pod.then(|| UID.to_string()),
        container_id: container.then(|| CID.to_string()),
        kubepods: true,
    }
}

fn docker(driver: CgroupDriver) -> ContainerIdentity {
    ContainerIdentity {
        runtime: Some(Runtime::Docker),
        driver: Some(driver),
        container_id: Some(CID.to_string()),
        ..Default::default()
    }
}

use CgroupDriver::{Cgroupfs, Systemd};
use Qos::{BestEffort, Burstable, Guaranteed};
use Runtime::{Containerd, Crio, Docker};

#[test]
fn real_world_shapes() {
    let none = ContainerIdentity::default();
    let cases: Vec<(String, ContainerIdentity)> = vec![
        // cgroupfs driver, containerd or dockershim: bare ids, runtime unknown.
        (format!("/kubepods/pod{UID}/{CID}"), k8s(None, Cgroupfs, Some(Guaranteed), true, true)),
        (format!("/kubepods/burstable/pod{UID}/{CID}"), k8s(None, Cgroupfs, Some(Burstable), true, true)),
        (format!("/kubepods/besteffort/pod{UID}/{CID}"), k8s(None, Cgroupfs, Some(BestEffort), true, true)),
        // The pod cgroup alone, and the QoS levels alone.
        (format!("/kubepods/burstable/pod{UID}"), k8s(None, Cgroupfs, Some(Burstable), true, false)),
        (format!("/kubepods/pod{UID}"), k8s(None, Cgroupfs, Some(Guaranteed), true, false)),
        ("/kubepods/besteffort".into(), k8s(None, Cgroupfs, Some(BestEffort), false, false)),
        ("/kubepods".into(), k8s(None, Cgroupfs, None, false, false)),
        // A non-root --cgroup-root.
        (format!("/kubelet/kubepods/burstable/pod{UID}/{CID}"), k8s(None, Cgroupfs, Some(Burstable), true, true)),
        // cgroupfs with prefixed leaves.
        (format!("/kubepods/burstable/pod{UID}/crio-{CID}"), k8s(Some(Crio), Cgroupfs, Some(Burstable), true, true)),
        (format!("/kubepods/pod{UID}/crio-conmon-{CID}"), k8s(Some(Crio), Cgroupfs, Some(Guaranteed), true, true)),
        (
            format!("/kubepods/besteffort/pod{UID}/cri-containerd-{CID}"),
            k8s(Some(Containerd), Cgroupfs, Some(BestEffort), true, true),
        ),
        (
            format!("/kubepods/burstable/pod{UID}/docker-{CID}"),
            k8s(Some(Docker), Cgroupfs, Some(Burstable), true, true),
        ),
        // systemd driver, each runtime's scope.
        (
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_SYSTEMD}.slice/cri-containerd-{CID}.scope"
            ),
            k8s(Some(Containerd), Systemd, Some(Burstable), true, true),
        ),
        (
            format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_SYSTEMD}.slice/crio-{CID}.scope"
            ),
            k8s(Some(Crio), Systemd, Some(BestEffort), true, true),
        ),
        (
            format!("/kubepods.slice/kubepods-pod{UID_SYSTEMD}.slice/crio-conmon-{CID}.scope"),
            k8s(Some(Crio), Systemd, Some(Guaranteed), true, true),
        ),
        (
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_SYSTEMD}.slice/docker-{CID}.scope"
            ),
            k8s(Some(Docker), Systemd, Some(Burstable), true, true),
        ),
        (
            format!("/kubepods.slice/kubepods-pod{UID_SYSTEMD}.slice/cri-containerd-{CID}.scope"),
            k8s(Some(Containerd), Systemd, Some(Guaranteed), true, true),
        ),
        // The pod slice alone, and the QoS slice alone.
        (
            format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_SYSTEMD}.slice"),
            k8s(None, Systemd, Some(Burstable), true, false),
        ),
        ("/kubepods.slice/kubepods-besteffort.slice".into(), k8s(None, Systemd, Some(BestEffort), false, false)),
        // kind: systemd driver under --cgroup-root=/kubelet, so every slice name starts `kubelet-`.
        (
            format!(
                "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_SYSTEMD}.slice/cri-containerd-{CID}.scope"
            ),
            k8s(Some(Containerd), Systemd, Some(BestEffort), true, true),
        ),
        // Runtime on systemd, kubelet on cgroupfs: runc's `slice:prefix:id` as a directory name.
        (
            format!("/system.slice/containerd.service/kubepods-burstable-pod{UID_SYSTEMD}.slice:cri-containerd:{CID}"),
            k8s(Some(Containerd), Systemd, Some(Burstable), true, true),
        ),
        // A cgroup root with a dash in it: systemd writes it `\x2d`, which must not split.
        (
            format!(
                "/my\\x2droot.slice/my\\x2droot-kubepods.slice/my\\x2droot-kubepods-pod{UID_SYSTEMD}.slice/crio-{CID}.scope"
            ),
            k8s(Some(Crio), Systemd, Some(Guaranteed), true, true),
        ),
        // Plain Docker, both drivers, and Docker in Docker (the inner container wins).
        (format!("/docker/{CID}"), docker(Cgroupfs)),
        (format!("/system.slice/docker-{CID}.scope"), docker(Systemd)),
        (format!("/docker/{}/docker/{CID}", "ab".repeat(32)), docker(Cgroupfs)),
        // A process inside a container's own sub-cgroup (systemd in a container, cgroupns).
        (format!("/system.slice/docker-{CID}.scope/init.scope"), docker(Systemd)),
        // Not containers.
        ("/".into(), none.clone()),
        ("".into(), none.clone()),
        ("/user.slice/user-1000.slice/session-3.scope".into(), none.clone()),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service".into(), none.clone()),
        ("/system.slice/sshd.service".into(), none.clone()),
        ("/system.slice/containerd.service".into(), none.clone()),
        ("/system.slice/docker.service".into(), none.clone()),
        ("/init.scope".into(), none.clone()),
        ("/docker".into(), none.clone()),
        // Look-alikes: not hex, not under kubepods, too short.
        ("/system.slice/docker-notanid.scope".into(), none.clone()),
        (format!("/pod{UID}/{CID}"), none.clone()),
        ("/kubepods/burstable/podxyz/abc".into(), k8s(None, Cgroupfs, Some(Burstable), false, false)),
        ("/docker/abc".into(), none.clone()),
    ];
    assert!(cases.len() >= 25, "the brief asks for at least 25 shapes");
    for (path, want) in cases {
        assert_eq!(parse_cgroup_path(&path), want, "path {path:?}");
    }
}

#[test]
fn truncated_paths_parse_what_remains() {
    // A systemd leaf repeats its whole hierarchy, so nothing is lost.
    let path = format!("/…/kubepods-burstable-pod{UID_SYSTEMD}.slice/cri-containerd-{CID}.scope");
    assert_eq!(parse_cgroup_path(&path), k8s(Some(Containerd), Systemd, Some(Burstable), true, true));
    // cgroupfs keeps the QoS level only if it survived the cut.
    let path = format!("/…/burstable/pod{UID}/{CID}");
    assert_eq!(parse_cgroup_path(&path), k8s(None, Cgroupfs, Some(Burstable), true, true));
    let path = format!("/…/pod{UID}/{CID}");
    assert_eq!(parse_cgroup_path(&path), k8s(None, Cgroupfs, None, true, true));
    // Only the container left.
    let path = format!("/…/crio-{CID}.scope");
    let want = ContainerIdentity {
        runtime: Some(Crio),
        driver: Some(Systemd),
        container_id: Some(CID.to_string()),
        ..Default::default()
    };
    assert_eq!(parse_cgroup_path(&path), want);
    assert_eq!(parse_cgroup_path("/…/"), ContainerIdentity::default());
}

#[test]
fn static_pod_uids_are_config_hashes() {
    let hash = "5f8a6b0c1d2e3f405162738495a6b7c8";
    let id = parse_cgroup_path(&format!("/kubepods.slice/kubepods-pod{hash}.slice/cri-containerd-{CID}.scope"));
    assert_eq!(id.pod_uid.as_deref(), Some(hash));
    assert_eq!(id.qos, Some(Guaranteed));
}

#[test]
fn garbage_never_panics() {
    let long = format!("/kubepods/burstable/pod{UID}/{}", "a/".repeat(100_000));
    let id = parse_cgroup_path(&long);
    assert_eq!(id.pod_uid.as_deref(), Some(UID));
    assert_eq!(id.container_id, None, "single letters are not container ids");

    let deep = format!("{}kubepods/pod{UID}/{CID}", "x/".repeat(50_000));
    assert_eq!(parse_cgroup_path(&deep), k8s(None, Cgroupfs, Some(Guaranteed), true, true));

    for path in [
        "\u{fffd}\u{fffd}/\u{fffd}",
        "/kubepods.slice/kubepods-\u{fffd}.slice/cri-containerd-\u{fffd}.scope",
        "/kubepods/burstable/pod\u{fffd}\u{fffd}/é",
        "/a.slice/\\x.slice/\\x2.slice/\\xzz-\\x+f.slice/\\",
        "::::/:a:b:/.slice:.scope:",
        "/kubepods-.slice/-.slice/--.slice/pod.slice/.scope/crio-.scope",
        "//////",
        "/…",
        "…/…/…",
    ] {
        let id = parse_cgroup_path(path);
        assert_eq!(id.container_id, None, "{path:?}");
        assert_eq!(id.pod_uid, None, "{path:?}");
    }
    // A replacement character inside an otherwise good id disqualifies it.
    let bad = format!("/docker/{}\u{fffd}", &CID[..60]);
    assert_eq!(parse_cgroup_path(&bad).container_id, None);
}

#[test]
fn unit_unescaping() {
    assert_eq!(unescape_unit("a\\x2db"), "a-b");
    assert_eq!(unescape_unit("a\\x2"), "a\\x2");
    assert_eq!(unescape_unit("a\\x+fb"), "a\\x+fb");
    assert_eq!(unescape_unit("\\xff"), "\u{fffd}");
    assert_eq!(unescape_unit("\\xc3\\xa9"), "é");
}

#[test]
fn enums_serialize_as_documented() {
    let id = k8s(Some(Crio), Systemd, Some(BestEffort), true, true);
    let json = serde_json::to_value(&id).unwrap();
    assert_eq!(json["runtime"], "cri-o");
    assert_eq!(json["driver"], "systemd");
    assert_eq!(json["qos"], "besteffort");
    assert_eq!(serde_json::to_value(Containerd).unwrap(), "containerd");
    assert_eq!(serde_json::to_value(Docker).unwrap(), "docker");
    assert_eq!(serde_json::to_value(Guaranteed).unwrap(), "guaranteed");
    assert_eq!(serde_json::to_value(Burstable).unwrap(), "burstable");
    assert_eq!(serde_json::to_value(Cgroupfs).unwrap(), "cgroupfs");
    let back: ContainerIdentity = serde_json::from_value(json).unwrap();
    assert_eq!(back, id);
}

#[test]
fn podman_and_containerd_native_shapes() {
    let podman = ContainerIdentity { runtime: Some(Runtime::Podman), driver: Some(CgroupDriver::Systemd), container_id: Some(CID.into()), ..Default::default() };
    assert_eq!(parse_cgroup_path(&format!("/machine.slice/libpod-{CID}.scope")), podman);
    assert_eq!(parse_cgroup_path(&format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{CID}.scope")), podman);
    assert_eq!(parse_cgroup_path(&format!("/machine.slice/libpod-conmon-{CID}.scope")), podman);
    let containerd = ContainerIdentity { runtime: Some(Runtime::Containerd), driver: Some(CgroupDriver::Cgroupfs), container_id: Some(CID.into()), ..Default::default() };
    for namespace in ["k8s.io", "default", "buildkit"] {
        assert_eq!(parse_cgroup_path(&format!("/{namespace}/{CID}")), containerd, "{namespace}");
    }
    // Not containers: a hex directory deeper down, a unit, a short id under a namespace.
    assert_eq!(parse_cgroup_path(&format!("/system.slice/{CID}")), ContainerIdentity::default());
    assert_eq!(parse_cgroup_path(&format!("/a/b/{CID}")), ContainerIdentity::default());
    assert_eq!(parse_cgroup_path("/k8s.io/abc123"), ContainerIdentity::default());
    assert_eq!(serde_json::to_string(&Runtime::Podman).unwrap(), "\"podman\"");
}
