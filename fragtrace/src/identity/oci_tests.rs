use super::*;

pub(in crate::identity) const CID: &str = "6a825448c5ef07ac0c3b99532b18bdec0e1d0bb1eb41b4672d570634a1409a85";
pub(in crate::identity) const UID: &str = "005f082b-5fd9-4650-8ef4-473e63bc2d13";

/// A temporary directory removed on drop, so a failing assertion does not leave it behind.
pub(in crate::identity) struct TempDir(pub(in crate::identity) PathBuf);

impl TempDir {
    pub(in crate::identity) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fragtrace-oci-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(in crate::identity) fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An app container's config as containerd's CRI plugin writes it (trimmed).
pub(in crate::identity) fn containerd_app() -> String {
    format!(
        r#"{{"ociVersion":"1.1.0","process":{{"args":["/app"]}},"annotations":{{
        "io.kubernetes.cri.container-name":"web",
        "io.kubernetes.cri.container-type":"container",
        "io.kubernetes.cri.image-name":"docker.io/library/nginx:1.27",
        "io.kubernetes.cri.sandbox-id":"446c65ab43d490ab8d7f693a46050db88f66a2bf657eda0c3de8bc8bab516be4",
        "io.kubernetes.cri.sandbox-name":"web-7d4b9c-xk2lp",
        "io.kubernetes.cri.sandbox-namespace":"shop",
        "io.kubernetes.cri.sandbox-uid":"{UID}"}},
        "linux":{{"cgroupsPath":"/kubepods/burstable/pod{UID}/{CID}"}}}}"#
    )
}

/// The pause container's config from containerd: no container name.
pub(in crate::identity) fn containerd_sandbox() -> String {
    format!(
        r#"{{"annotations":{{
        "io.kubernetes.cri.container-type":"sandbox",
        "io.kubernetes.cri.sandbox-id":"{CID}",
        "io.kubernetes.cri.sandbox-log-directory":"/var/log/pods/shop_web-7d4b9c-xk2lp_{UID}",
        "io.kubernetes.cri.sandbox-name":"web-7d4b9c-xk2lp",
        "io.kubernetes.cri.sandbox-namespace":"shop",
        "io.kubernetes.cri.sandbox-uid":"{UID}"}}}}"#
    )
}

/// A CRI-O app container (keys as CRI-O writes them, trimmed).
pub(in crate::identity) fn crio_app() -> String {
    format!(
        r#"{{"annotations":{{
        "io.container.manager":"cri-o",
        "io.kubernetes.container.name":"db",
        "io.kubernetes.cri-o.ContainerType":"container",
        "io.kubernetes.cri-o.Labels":"{{\"io.kubernetes.container.name\":\"db\",\"io.kubernetes.pod.name\":\"pg-0\",\"io.kubernetes.pod.namespace\":\"data\",\"io.kubernetes.pod.uid\":\"{UID}\"}}",
        "io.kubernetes.cri-o.SandboxID":"{CID}",
        "io.kubernetes.pod.name":"pg-0",
        "io.kubernetes.pod.namespace":"data",
        "io.kubernetes.pod.uid":"{UID}"}}}}"#
    )
}

fn pod(name: &str, ns: &str, container: &str, runtime: Runtime) -> PodInfo {
    PodInfo {
        pod_name: Some(name.into()),
        pod_namespace: Some(ns.into()),
        pod_uid: Some(UID.into()),
        container_name: Some(container.into()),
        runtime: Some(runtime),
    }
}

#[test]
fn containerd_configs() {
    assert_eq!(
        pod_info_from_config(containerd_app().as_bytes()),
        Some(pod("web-7d4b9c-xk2lp", "shop", "web", Runtime::Containerd))
    );
    assert_eq!(
        pod_info_from_config(containerd_sandbox().as_bytes()),
        Some(pod("web-7d4b9c-xk2lp", "shop", "POD", Runtime::Containerd))
    );
}

#[test]
fn crio_configs() {
    assert_eq!(pod_info_from_config(crio_app().as_bytes()), Some(pod("pg-0", "data", "db", Runtime::Crio)));
    // Only the JSON copy of the labels, plus CRI-O's own namespace key.
    let labels_only = format!(
        r#"{{"annotations":{{"io.kubernetes.cri-o.Namespace":"data",
        "io.kubernetes.cri-o.Labels":"{{\"io.kubernetes.container.name\":\"POD\",\"io.kubernetes.pod.name\":\"pg-0\",\"io.kubernetes.pod.uid\":\"{UID}\"}}"}}}}"#
    );
    assert_eq!(pod_info_from_config(labels_only.as_bytes()), Some(pod("pg-0", "data", "POD", Runtime::Crio)));
    // A broken Labels value does not hide the top-level keys.
    let broken = r#"{"annotations":{"io.kubernetes.cri-o.Labels":"{not json","io.kubernetes.pod.name":"x"}}"#;
    let info = pod_info_from_config(broken.as_bytes()).unwrap();
    assert_eq!(info.pod_name.as_deref(), Some("x"));
    assert_eq!(info.runtime, Some(Runtime::Crio));
}

#[test]
fn configs_without_pod_identity() {
    for json in [
        "",
        "{",
        "null",
        "[]",
        r#"{"annotations":null}"#,
        r#"{"annotations":"x"}"#,
        r#"{"ociVersion":"1.0.2"}"#,
        r#"{"annotations":{}}"#,
        r#"{"annotations":{"org.opencontainers.image.ref.name":"x"}}"#,
        r#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox"}}"#,
        r#"{"annotations":{"io.kubernetes.cri.sandbox-name":""}}"#,
        r#"{"annotations":{"io.kubernetes.pod.name":7}}"#,
    ] {
        assert_eq!(pod_info_from_config(json.as_bytes()), None, "{json}");
    }
    assert_eq!(pod_info_from_config(&[0xff, 0xfe, 0x00]), None);
    // One non-string annotation does not spoil the rest.
    let mixed = r#"{"annotations":{"weird":{"a":1},"io.kubernetes.cri.sandbox-name":"p"}}"#;
    assert_eq!(pod_info_from_config(mixed.as_bytes()).unwrap().pod_name.as_deref(), Some("p"));
}

#[test]
fn finds_containerd_and_crio_bundles() {
    let containerd = TempDir::new("containerd");
    containerd.write(&format!("{CID}/config.json"), containerd_app().as_bytes());
    let crio = TempDir::new("crio");
    let crio_id = "b".repeat(64);
    crio.write(&format!("{crio_id}/userdata/config.json"), crio_app().as_bytes());
    let broken_id = "c".repeat(64);
    containerd.write(&format!("{broken_id}/config.json"), b"{\"annotations\": {");

    let mut finder = BundleFinder::with_roots(vec![containerd.0.clone(), crio.0.clone()]);
    assert_eq!(finder.lookup(CID), Some(pod("web-7d4b9c-xk2lp", "shop", "web", Runtime::Containerd)));
    assert_eq!(finder.lookup(&crio_id), Some(pod("pg-0", "data", "db", Runtime::Crio)));
    assert_eq!(finder.lookup(&broken_id), None);
    assert_eq!(finder.lookup(&"d".repeat(64)), None, "missing");
}

#[test]
fn ids_cannot_escape_the_roots() {
    let root = TempDir::new("escape");
    // A config one level above the root, reachable only by climbing out.
    root.write("config.json", containerd_app().as_bytes());
    root.write("inner/x/config.json", containerd_app().as_bytes());
    let mut finder = BundleFinder::with_roots(vec![root.0.join("inner")]);
    finder.set_negative_ttl(Duration::ZERO);
    for id in ["..", ".", "", "../", "x/..", "/etc", "x\0y", "../inner/x"] {
        assert_eq!(finder.lookup(id), None, "{id:?}");
    }
    assert!(finder.lookup("x").is_some(), "a plain id inside the root is found");
}

#[test]
fn misses_expire_hits_stay() {
    let root = TempDir::new("cache");
    let mut finder = BundleFinder::with_roots(vec![root.0.clone()]);
    assert_eq!(finder.lookup(CID), None);
    // Created just after the miss: still hidden by the cached miss within the TTL…
    root.write(&format!("{CID}/config.json"), containerd_app().as_bytes());
    assert_eq!(finder.lookup(CID), None);
    // …and found once it has expired.
    finder.set_negative_ttl(Duration::ZERO);
    let found = finder.lookup(CID);
    assert_eq!(found.as_ref().and_then(|p| p.pod_name.as_deref()), Some("web-7d4b9c-xk2lp"));
    // A hit outlives its bundle (the container's pod cannot change).
    std::fs::remove_dir_all(root.0.join(CID)).unwrap();
    assert_eq!(finder.lookup(CID), found);
}

#[test]
fn default_ttl_is_short() {
    assert!(NEGATIVE_TTL <= Duration::from_secs(2));
    assert_eq!(BundleFinder::with_default_roots().negative_ttl, NEGATIVE_TTL);
}

#[test]
fn runc_command_lines() {
    let bundle = TempDir::new("runc");
    bundle.write("config.json", crio_app().as_bytes());
    let dir = bundle.0.to_str().unwrap();
    let want = Some(pod("pg-0", "data", "db", Runtime::Crio));
    for args in [
        vec!["runc", "--root", "/run/runc", "create", "--bundle", dir, "--pid-file", "/p", CID],
        vec!["/usr/bin/runc", "create", "-b", dir, CID],
        vec!["runc", "run", &format!("--bundle={dir}"), CID],
        vec!["runc", "create", &format!("-b={dir}"), CID],
    ] {
        let cmdline = args.join("\0") + "\0";
        assert_eq!(BundleFinder::from_runc_cmdline(cmdline.as_bytes()), want, "{args:?}");
    }
    for cmdline in [
        &b""[..],
        b"runc\0create\0--bundle",
        b"runc\0create\0--bundle\0\0x",
        b"runc\0create\0--bundle\0relative/dir\0x",
        b"runc\0create\0--bundle\0/nonexistent/fragtrace\0x",
        b"runc\0state\0x",
        b"\xff\xfe\0-b\0\xff",
    ] {
        assert_eq!(BundleFinder::from_runc_cmdline(cmdline), None, "{cmdline:?}");
    }
}

#[test]
fn runc_state_files() {
    // runc copies the annotations into config.labels as `key=value`, then `bundle=<dir>`.
    let state = format!(
        r#"{{"id":"{CID}","init_process_pid":4242,"config":{{"labels":[
        "io.kubernetes.cri.sandbox-uid={UID}","io.kubernetes.cri.container-name=web",
        "io.kubernetes.cri.container-type=container","io.kubernetes.cri.sandbox-name=web-7d4b9c-xk2lp",
        "io.kubernetes.cri.sandbox-namespace=shop",
        "bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/{CID}"]}}}}"#
    );
    assert_eq!(
        parse_runc_state(state.as_bytes()).flatten(),
        Some(pod("web-7d4b9c-xk2lp", "shop", "web", Runtime::Containerd))
    );

    // Without annotations in the labels, the bundle is read.
    let bundle = TempDir::new("state-bundle");
    bundle.write("config.json", crio_app().as_bytes());
    let state = format!(r#"{{"config":{{"labels":["bundle={}"]}}}}"#, bundle.0.display());
    assert_eq!(parse_runc_state(state.as_bytes()).flatten(), Some(pod("pg-0", "data", "db", Runtime::Crio)));
    let top_level = format!(r#"{{"bundle":"{}"}}"#, bundle.0.display());
    assert_eq!(parse_runc_state(top_level.as_bytes()).flatten(), Some(pod("pg-0", "data", "db", Runtime::Crio)));

    for bad in [r#"{}"#, r#"{"config":{"labels":["bundle=rel"]}}"#, "not json", r#"{"config":{"labels":[1]}}"#] {
        assert_eq!(parse_runc_state(bad.as_bytes()).flatten(), None, "{bad}");
    }

    // And through a finder: a runc root holds `<id>/state.json`.
    let root = TempDir::new("runc-root");
    root.write(&format!("{CID}/state.json"), state.as_bytes());
    let mut finder = BundleFinder::with_roots(Vec::new());
    finder.roots.insert(0, Root { dir: root.0.clone(), layout: Layout::RuncState });
    assert_eq!(finder.lookup(CID), Some(pod("pg-0", "data", "db", Runtime::Crio)));
}

#[test]
fn a_ctr_container_with_any_name_is_recognised_in_a_containerd_namespace() {
    let state = TempDir::new("ctr-names");
    let tasks = state.0.join("io.containerd.runtime.v2.task");
    std::fs::create_dir_all(tasks.join("builds")).unwrap();
    let mut resolver = super::super::WorkloadResolver::with_finder(BundleFinder::with_roots(vec![tasks.join("builds")]));
    let w = resolver.resolve("/builds/redis-1").expect("a container");
    assert_eq!(w.container.container_id.as_deref(), Some("redis-1"));
    assert_eq!(w.container.runtime, Some(Runtime::Containerd));
    assert_eq!(w.pod, PodInfo::default());
    // Not a containerd namespace on this node, or not two levels: not a container.
    assert_eq!(resolver.resolve("/system/redis-1"), None);
    assert_eq!(resolver.resolve("/builds/redis-1/sub"), None);
    assert_eq!(resolver.resolve("/builds"), None);
    assert_eq!(resolver.resolve("/../redis"), None);
}
