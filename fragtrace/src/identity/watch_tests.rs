use std::sync::mpsc;

use super::*;
use crate::identity::{
    BundleFinder, Runtime, WorkloadResolver,
    oci::{
        pod_info_from_config,
        tests::{CID, TempDir, UID, containerd_app, containerd_sandbox, crio_app},
    },
};

/// Generous: the watcher normally answers within a millisecond, but CI machines stall.
const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `found` until it yields, failing the test after [`DEADLINE`].
fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn roots(dir: &TempDir, layouts: &[Layout]) -> Vec<Root> {
    layouts.iter().map(|&layout| Root { dir: dir.0.clone(), layout }).collect()
}

fn start(dir: &TempDir, layouts: &[Layout]) -> BundleWatcher {
    BundleWatcher::start_with(&roots(dir, layouts), Limits::default()).unwrap()
}

fn pending(watcher: &BundleWatcher) -> usize {
    watcher.shared.known().pending
}

fn dirs_seen(watcher: &BundleWatcher) -> u64 {
    watcher.shared.known().dirs_seen
}

/// Waits until the thread reports exactly `n` watched container directories.
fn wait_pending(watcher: &BundleWatcher, n: usize) {
    wait_for(&format!("{n} pending directory watches"), || (pending(watcher) == n).then_some(()));
}

/// A containerd app container `app` of pod `pod` (namespace `ns`) with UID `uid`.
fn app_config(pod: &str, uid: &str) -> String {
    format!(
        r#"{{"annotations":{{"io.kubernetes.cri.container-type":"container",
        "io.kubernetes.cri.container-name":"app","io.kubernetes.cri.sandbox-name":"{pod}",
        "io.kubernetes.cri.sandbox-namespace":"ns","io.kubernetes.cri.sandbox-uid":"{uid}"}}}}"#
    )
}

fn hex_id(n: usize) -> String {
    format!("{n:064x}")
}

fn uid(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

#[test]
fn a_bundle_seen_then_deleted_is_still_found() {
    let root = TempDir::new("watch-deleted");
    let mut finder = BundleFinder::with_roots(vec![root.0.clone()]);
    finder.set_negative_ttl(Duration::ZERO);
    assert_eq!(finder.pod_by_uid(UID), None, "no watcher, no pods");
    assert!(finder.start_watching());
    assert!(finder.start_watching(), "starting again keeps the running watcher");

    root.write(&format!("{CID}/config.json"), containerd_app().as_bytes());
    // Only the watcher answers `pod_by_uid`: once it does, it has read the bundle.
    let pod = wait_for("the watcher to read the bundle", || finder.pod_by_uid(UID));
    std::fs::remove_dir_all(root.0.join(CID)).unwrap();

    let want = pod_info_from_config(containerd_app().as_bytes()).unwrap();
    assert_eq!(finder.lookup(CID), Some(want.clone()));
    assert_eq!(pod, PodInfo { container_name: None, ..want });
    assert_eq!(finder.pod_by_uid(&UID.to_uppercase()), Some(pod), "UIDs match in any case");
    // Read lazily, as without the watcher, the container is lost with its bundle.
    assert_eq!(BundleFinder::with_roots(vec![root.0.clone()]).lookup(CID), None);
}

#[test]
fn a_config_written_after_its_directory_is_found() {
    let root = TempDir::new("watch-late-config");
    let watcher = start(&root, &[Layout::Bundle]);
    std::fs::create_dir(root.0.join(CID)).unwrap();
    wait_pending(&watcher, 1);
    assert_eq!(watcher.container(CID), None);

    std::fs::write(root.0.join(CID).join("config.json"), containerd_app()).unwrap();
    let found = wait_for("the late config", || watcher.container(CID));
    assert_eq!(Some(found), pod_info_from_config(containerd_app().as_bytes()));
    wait_pending(&watcher, 0);
}

#[test]
fn a_crio_userdata_config_written_in_steps_is_found() {
    // Both layouts, as an `--oci-root` is searched.
    let root = TempDir::new("watch-crio");
    let watcher = start(&root, &[Layout::Bundle, Layout::CrioUserdata]);
    let dir = root.0.join(CID);
    std::fs::create_dir(&dir).unwrap();
    wait_pending(&watcher, 1);
    std::fs::create_dir(dir.join("userdata")).unwrap();
    wait_pending(&watcher, 2);
    // Files other than the config do not settle it.
    std::fs::write(dir.join("userdata").join("hostname"), "pg-0").unwrap();

    std::fs::write(dir.join("userdata").join("config.json"), crio_app()).unwrap();
    let found = wait_for("the CRI-O config", || watcher.container(CID));
    assert_eq!(found.runtime, Some(Runtime::Crio));
    assert_eq!(found.container_name.as_deref(), Some("db"));
    wait_pending(&watcher, 0);
}

#[test]
fn a_runc_state_renamed_into_place_is_found() {
    let root = TempDir::new("watch-runc");
    let watcher = start(&root, &[Layout::RuncState]);
    let dir = root.0.join(CID);
    std::fs::create_dir(&dir).unwrap();
    wait_pending(&watcher, 1);

    // runc writes a temporary file, then renames it.
    let state = format!(
        r#"{{"config":{{"labels":["io.kubernetes.cri.sandbox-name=web-0",
        "io.kubernetes.cri.sandbox-namespace=shop","io.kubernetes.cri.sandbox-uid={UID}"]}}}}"#
    );
    std::fs::write(dir.join("state-123.json"), state).unwrap();
    std::fs::rename(dir.join("state-123.json"), dir.join("state.json")).unwrap();
    let found = wait_for("the runc state", || watcher.container(CID));
    assert_eq!(found.pod_name.as_deref(), Some("web-0"));
    wait_pending(&watcher, 0);
}

#[test]
fn a_container_waited_on_in_one_root_is_found_in_another() {
    // containerd's task directory and runc's state directory name the same container.
    let bundles = TempDir::new("watch-two-bundles");
    let runc = TempDir::new("watch-two-runc");
    let mut both = roots(&bundles, &[Layout::Bundle]);
    both.extend(roots(&runc, &[Layout::RuncState]));
    let watcher = BundleWatcher::start_with(&both, Limits::default()).unwrap();
    std::fs::create_dir(bundles.0.join(CID)).unwrap();
    wait_pending(&watcher, 1);
    std::fs::create_dir(runc.0.join(CID)).unwrap();
    wait_pending(&watcher, 2);

    let state = format!(r#"{{"config":{{"labels":["io.kubernetes.pod.name=p","io.kubernetes.pod.uid={UID}"]}}}}"#);
    std::fs::write(runc.0.join(CID).join("state.json"), state).unwrap();
    let found = wait_for("the runc state", || watcher.container(CID));
    assert_eq!(found.pod_name.as_deref(), Some("p"));
    // Known now: neither directory is watched any longer.
    wait_pending(&watcher, 0);
}

#[test]
fn what_is_there_at_start_is_read() {
    let root = TempDir::new("watch-start");
    root.write(&format!("{CID}/config.json"), containerd_app().as_bytes());
    // Outside Kubernetes: complete, but no pod, so not waited on.
    let plain = hex_id(1);
    root.write(&format!("{plain}/config.json"), br#"{"ociVersion":"1.2.0","annotations":{}}"#);
    // No config yet: waited on.
    let early = hex_id(2);
    std::fs::create_dir(root.0.join(&early)).unwrap();
    // Not a container id: ignored.
    root.write(".hidden/config.json", containerd_app().as_bytes());
    root.write("not-a-dir", b"");

    let watcher = start(&root, &[Layout::Bundle]);
    wait_for("the first scan", || watcher.shared.known().scanned.then_some(()));
    assert_eq!((dirs_seen(&watcher), pending(&watcher)), (3, 1));
    assert_eq!(watcher.container(CID), pod_info_from_config(containerd_app().as_bytes()));
    assert_eq!(watcher.container(&plain), None);
    assert_eq!(watcher.container(".hidden"), None);
}

#[test]
fn a_root_created_later_is_watched() {
    let parent = TempDir::new("watch-later");
    let dir = parent.0.join("k8s.io");
    let limits = Limits { retry: Duration::from_millis(20), ..Limits::default() };
    let watcher = BundleWatcher::start_with(&[Root { dir: dir.clone(), layout: Layout::Bundle }], limits).unwrap();

    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(dir.join(CID)).unwrap();
    std::fs::write(dir.join(CID).join("config.json"), containerd_app()).unwrap();
    wait_for("the root to be found", || watcher.container(CID));
    // Bundles created after it was found are seen as they come.
    let next = hex_id(7);
    std::fs::create_dir(dir.join(&next)).unwrap();
    std::fs::write(dir.join(&next).join("config.json"), app_config("next", &uid(7))).unwrap();
    let found = wait_for("a bundle in the new root", || watcher.container(&next));
    assert_eq!(found.pod_name.as_deref(), Some("next"));
}

#[test]
fn an_app_container_without_a_bundle_gets_its_pod_from_the_sandbox() {
    let root = TempDir::new("watch-sandbox");
    let mut resolver = WorkloadResolver::new(vec![root.0.clone()]);
    let app = "a".repeat(64);
    let path = format!("/kubepods/burstable/pod{UID}/{app}");
    // The pod's own cgroup, resolved before any of its bundles exists.
    let pod_path = format!("/kubepods/burstable/pod{UID}");
    assert_eq!(resolver.resolve(&pod_path).map(|w| w.pod), Some(PodInfo::default()));
    assert_eq!(resolver.resolve(&path).map(|w| w.pod), Some(PodInfo::default()));
    // The sandbox's bundle (its id is CID in the fixture); the app container's never exists.
    root.write(&format!("{CID}/config.json"), containerd_sandbox().as_bytes());

    let workload =
        wait_for("the sandbox's pod", || resolver.resolve(&path).filter(|w| w.pod.pod_name.is_some()));
    let want = PodInfo {
        pod_name: Some("web-7d4b9c-xk2lp".into()),
        pod_namespace: Some("shop".into()),
        pod_uid: Some(UID.into()),
        container_name: None,
        runtime: Some(Runtime::Containerd),
    };
    assert_eq!(workload.pod, want);
    assert_eq!(workload.container.container_id.as_deref(), Some(app.as_str()));
    assert_eq!(workload.pod_label().as_deref(), Some("shop/web-7d4b9c-xk2lp"));

    // The sandbox going too changes nothing.
    std::fs::remove_dir_all(root.0.join(CID)).unwrap();
    assert_eq!(resolver.resolve(&path).map(|w| w.pod), Some(want.clone()));
    // The pod's cgroup was not remembered nameless.
    assert_eq!(resolver.resolve(&pod_path).map(|w| w.pod), Some(want));
    // A pod never seen stays a bare UID.
    let stranger = format!("/kubepods/besteffort/pod{}/{app}", uid(9));
    let workload = resolver.resolve(&stranger).unwrap();
    assert_eq!(workload.pod, PodInfo::default());
    assert_eq!(workload.pod_label(), Some(format!("pod {}", uid(9))));
}

#[test]
fn fifo_forgets_the_oldest_first() {
    let mut fifo = Fifo::new(3);
    for (key, value) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        fifo.insert(key.into(), value);
    }
    assert_eq!(fifo.len(), 3);
    assert_eq!(fifo.get("a"), None);
    // An update keeps the key's place: `b` is still the oldest.
    fifo.insert("b".into(), 20);
    assert_eq!((fifo.len(), fifo.get("b")), (3, Some(&20)));
    fifo.insert("e".into(), 5);
    assert_eq!([fifo.get("b"), fifo.get("c"), fifo.get("d"), fifo.get("e")], [None, Some(&3), Some(&4), Some(&5)]);

    let mut none = Fifo::new(0);
    none.insert("a".into(), 1);
    assert_eq!(none.len(), 0);
}

#[test]
fn the_watcher_bounds_hold() {
    let root = TempDir::new("watch-bounds");
    let limits = Limits { containers: 3, pods: 2, pending: 2, retry: RETRY };
    let watcher = BundleWatcher::start_with(&roots(&root, &[Layout::Bundle]), limits).unwrap();
    // Once the first scan is done, every directory is seen once, from its event.
    wait_for("the first scan", || watcher.shared.known().scanned.then_some(()));

    // Four directories waiting for their config; only the newest two stay watched.
    for n in 1..=4 {
        std::fs::create_dir(root.0.join(hex_id(n))).unwrap();
    }
    wait_for("four directories", || (dirs_seen(&watcher) == 4).then_some(()));
    assert_eq!(pending(&watcher), 2);
    std::fs::write(root.0.join(hex_id(1)).join("config.json"), app_config("p1", &uid(1))).unwrap();
    std::fs::write(root.0.join(hex_id(4)).join("config.json"), app_config("p4", &uid(4))).unwrap();
    wait_for("the newest directory", || watcher.container(&hex_id(4)));
    // Events come in order: had the oldest still been watched, it would be known by now.
    assert_eq!(watcher.container(&hex_id(1)), None);

    // Five more containers, each of its own pod: the newest three and two are kept.
    for n in 5..=9 {
        root.write(&format!("{}/config.json", hex_id(n)), app_config(&format!("p{n}"), &uid(n)).as_bytes());
    }
    wait_for("the last container", || watcher.container(&hex_id(9)));
    let known = watcher.shared.known();
    assert_eq!((known.containers.len(), known.pods.len()), (3, 2));
    let kept: Vec<bool> = (4..=9).map(|n| known.containers.get(&hex_id(n)).is_some()).collect();
    assert_eq!(kept, [false, false, false, true, true, true]);
    let pods: Vec<bool> = (4..=9).map(|n| known.pods.get(&uid(n)).is_some()).collect();
    assert_eq!(pods, [false, false, false, false, true, true]);
    assert!(known.pending <= 2);
}

#[test]
fn dropping_the_watcher_stops_its_thread() {
    let root = TempDir::new("watch-stop");
    // A retry far away: only the eventfd can wake the thread in time.
    let limits = Limits { retry: Duration::from_secs(3600), ..Limits::default() };
    let watcher = BundleWatcher::start_with(&roots(&root, &[Layout::Bundle]), limits).unwrap();
    let shared = Arc::clone(&watcher.shared);
    let (done, dropped) = mpsc::channel();
    std::thread::spawn(move || {
        drop(watcher);
        let _ = done.send(());
    });
    dropped.recv_timeout(DEADLINE).expect("drop joins the thread promptly");
    assert_eq!(Arc::strong_count(&shared), 1, "the thread has let go of the maps");
}
