use super::*;

const UID: &str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";

fn workload() -> Workload {
    Workload {
        container: parse_cgroup_path(&format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{}.scope",
            UID.replace('-', "_"),
            "a".repeat(64)
        )),
        pod: PodInfo {
            pod_name: Some("web-0".into()),
            pod_namespace: Some("shop".into()),
            pod_uid: Some(UID.into()),
            container_name: Some("nginx".into()),
            runtime: Some(Runtime::Containerd),
        },
    }
}

#[test]
fn pod_labels() {
    let mut w = workload();
    assert_eq!(w.pod_label().as_deref(), Some("shop/web-0"));
    w.pod.pod_namespace = None;
    assert_eq!(w.pod_label().as_deref(), Some("web-0"));
    w.pod.pod_name = None;
    assert_eq!(w.pod_label(), Some(format!("pod {UID}")));
    // The UID from the OCI annotations alone will do.
    w.container.pod_uid = None;
    assert_eq!(w.pod_label(), Some(format!("pod {UID}")));
    assert_eq!(Workload::default().pod_label(), None);
}

#[test]
fn pod_matching() {
    let w = workload();
    for yes in [UID, &UID.replace('-', "_"), &UID.to_uppercase(), "web-0", "shop/web-0"] {
        assert!(w.matches_pod(yes), "{yes}");
    }
    for no in ["", "web", "shop", "other/web-0", "shop/", "/web-0", "1b4e28ba", "nginx"] {
        assert!(!w.matches_pod(no), "{no}");
    }
    assert!(!Workload::default().matches_pod(UID));
    // A path-only workload matches by UID.
    let path_only = Workload { container: w.container.clone(), pod: PodInfo::default() };
    assert!(path_only.matches_pod(UID));
    assert!(!path_only.matches_pod("web-0"));
}

#[test]
fn stored_flat_and_round_trips() {
    let w = workload();
    let json = serde_json::to_value(&w).unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "container_id",
            "container_name",
            "driver",
            "kubepods",
            "oci_pod_uid",
            "oci_runtime",
            "pod_name",
            "pod_namespace",
            "pod_uid",
            "qos",
            "runtime",
        ]
    );
    assert_eq!(json["pod_uid"], UID);
    assert_eq!(json["oci_pod_uid"], UID);
    assert_eq!(json["qos"], "burstable");
    assert_eq!(json["runtime"], "containerd");
    let back: Workload = serde_json::from_value(json).unwrap();
    assert_eq!(back, w);

    // The two sources may disagree; both survive.
    let mut split = w.clone();
    split.container.runtime = None;
    split.pod.pod_uid = Some("other".into());
    let back: Workload = serde_json::from_str(&serde_json::to_string(&split).unwrap()).unwrap();
    assert_eq!(back, split);

    // Older or partial records: missing fields are unknown.
    let sparse: Workload = serde_json::from_str(r#"{"pod_name":"p","kubepods":true}"#).unwrap();
    assert_eq!(sparse.pod.pod_name.as_deref(), Some("p"));
    assert!(sparse.container.kubepods);
    assert_eq!(serde_json::from_str::<Workload>("{}").unwrap(), Workload::default());
}

#[test]
fn a_workload_survives_a_json_round_trip_through_the_recording() {
    let path = "/kubepods/burstable/pod1b4e28ba-2fa1-11d2-0001-000000004a84/00000000004a840100000000004a840100000000004a840100000000004a8401";
    let w = super::Workload { container: super::parse_cgroup_path(path), pod: Default::default() };
    assert!(w.container.pod_uid.is_some(), "{w:?}");
    let json = serde_json::to_string(&w).unwrap();
    let back: super::Workload = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(back, w);
}
