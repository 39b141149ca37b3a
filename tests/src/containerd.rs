//! A real container runtime for the end-to-end tests: containerd and runc from Debian's
//! packages (`cargo xtask setup` installs them), run as a private daemon (its own root, state
//! and sockets, no systemd), driven with `ctr` and, for pods, with the CRI client in
//! [`crate::cri`]. Root filesystems and images are built here from static binaries: no
//! registry is ever contacted.
//!
//! Everything a test starts is undone on drop, also when the test fails: tasks, containers,
//! snapshots and images go with the daemon's private root; the shims it started are killed
//! by pid; mounts left under its directory are detached; cgroup directories the runtime
//! created for the test are removed in every hierarchy ([`CgroupCleanup`]).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::cli::KillOnDrop;

/// The image the CRI tests run (sandbox and app containers alike).
pub const TOOLS_IMAGE: &str = "fragtrace.test/tools:1";

/// A containerd of our own.
pub struct Containerd {
    daemon: KillOnDrop,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

impl Containerd {
    /// Starts containerd with a private configuration under a fresh temp directory and waits
    /// until it answers on its socket.
    pub fn start(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fragtrace-containerd-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("containerd dir");
        let socket = dir.join("containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(&config, config_toml(&dir, &socket)).expect("containerd config");
        let log = std::fs::File::create(dir.join("containerd.log")).expect("containerd log");
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("containerd is not installed (cargo xtask setup installs Debian's containerd and runc)");
        let mut this = Self { daemon: KillOnDrop(daemon), dir, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !this.ctr("default").arg("version").output().is_ok_and(|o| o.status.success()) {
            if let Some(status) = this.daemon.0.try_wait().expect("try_wait") {
                panic!("containerd exited ({status}) at start:\n{}", this.log());
            }
            assert!(Instant::now() < deadline, "containerd did not answer within 30 s:\n{}", this.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        this
    }

    /// `ctr` against this daemon, in `namespace`.
    pub fn ctr(&self, namespace: &str) -> Command {
        let mut ctr = Command::new("ctr");
        ctr.arg("--address").arg(&self.socket).arg("--namespace").arg(namespace).stdin(Stdio::null());
        ctr
    }

    /// Runs `ctr ARGS` and returns its output; panics if it cannot be started.
    pub fn ctr_output(&self, namespace: &str, args: &[&str]) -> Output {
        self.ctr(namespace).args(args).output().unwrap_or_else(|e| panic!("ctr {args:?}: {e}"))
    }

    /// Where containerd keeps the OCI bundles of `namespace`'s running tasks (fragtrace's
    /// `--oci-root`).
    pub fn task_root(&self, namespace: &str) -> PathBuf {
        self.dir.join("state/io.containerd.runtime.v2.task").join(namespace)
    }

    /// Imports an image tar (docker-archive) into `namespace`, unpacked for the native
    /// snapshotter the CRI plugin is configured with.
    pub fn import(&self, namespace: &str, tar: &Path) {
        let out = self.ctr_output(namespace, &["images", "import", "--snapshotter", "native", &tar.display().to_string()]);
        assert!(out.status.success(), "ctr images import: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// Kills and deletes every task and container in every namespace.
    fn remove_everything(&self) {
        let namespaces = self.ctr_output("default", &["namespaces", "list", "-q"]);
        for ns in String::from_utf8_lossy(&namespaces.stdout).lines() {
            let tasks = self.ctr_output(ns, &["tasks", "list", "-q"]);
            for id in String::from_utf8_lossy(&tasks.stdout).lines() {
                let _ = self.ctr_output(ns, &["tasks", "kill", "-s", "SIGKILL", id]);
                let _ = self.ctr_output(ns, &["tasks", "delete", "-f", id]);
            }
            let containers = self.ctr_output(ns, &["containers", "list", "-q"]);
            for id in String::from_utf8_lossy(&containers.stdout).lines() {
                let _ = self.ctr_output(ns, &["containers", "delete", id]);
            }
            // runc keeps its state under /run/containerd/runc/<namespace> whatever our state
            // directory is; the namespace's directory goes once empty.
            let _ = std::fs::remove_dir(Path::new("/run/containerd/runc").join(ns));
        }
    }

    /// Shims this daemon started (they name its socket on their command line): ours to kill.
    fn our_shims(&self) -> Vec<i32> {
        let needle = self.socket.display().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("containerd-shim") && String::from_utf8_lossy(&c).contains(&needle))
            })
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.remove_everything();
        // SAFETY: signalling the daemon we started, by its pid.
        unsafe { libc::kill(self.daemon.0.id() as i32, libc::SIGTERM) };
        if self.daemon.wait_timeout(Duration::from_secs(10)).is_none() {
            eprintln!("WARNING: containerd did not stop on SIGTERM; killing it");
        }
        for pid in self.our_shims() {
            // SAFETY: a shim our daemon started, found by our socket on its command line.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        unmount_under(&self.dir);
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("WARNING: could not remove {}: {e}", self.dir.display());
        }
    }
}

fn config_toml(dir: &Path, socket: &Path) -> String {
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{TOOLS_IMAGE}"
  # Sandboxes get oom_score_adj -998 otherwise, which a host without CAP_SYS_RESOURCE (as
  # some CI sandboxes are) refuses: runc then fails every pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
"#,
        root = dir.join("root").display(),
        state = dir.join("state").display(),
        socket = socket.display(),
    )
}

/// Detaches every mount at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let prefix = dir.display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| *p == prefix || p.starts_with(&format!("{prefix}/")))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let c = std::ffi::CString::new(point).expect("mount point without NUL");
        // SAFETY: a NUL-terminated path; MNT_DETACH never blocks.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// The static `alloc-trigger` (musl) that `cargo xtask test` builds for containers.
pub fn static_trigger() -> PathBuf {
    let path = std::env::var_os("FRAGTRACE_STATIC_TRIGGER").map(PathBuf::from).unwrap_or_else(|| {
        panic!("FRAGTRACE_STATIC_TRIGGER is not set: run the container tests through `cargo xtask test`, which builds a static alloc-trigger for the containers' root filesystems")
    });
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// A root filesystem of static binaries: busybox (`sh`, `sleep`, `cat`, …) and
/// `/alloc-trigger`, plus the mount points runc expects.
pub fn tools_rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "proc", "sys", "dev", "tmp", "etc", "run"] {
        std::fs::create_dir_all(rootfs.join(sub)).expect("rootfs dir");
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().find(|p| Path::new(p).exists()).expect("busybox-static is not installed");
    std::fs::copy(busybox, rootfs.join("bin/busybox")).expect("copying busybox");
    for applet in ["sh", "sleep", "cat", "echo", "true", "ls"] {
        let link = rootfs.join("bin").join(applet);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("busybox", &link).expect("busybox applet link");
    }
    std::fs::copy(static_trigger(), rootfs.join("alloc-trigger")).expect("copying alloc-trigger");
    rootfs
}

/// A docker-archive image tar of [`tools_rootfs`] named [`TOOLS_IMAGE`], whose default
/// command sleeps (the sandbox's "pause" process; app containers pass their own command).
pub fn tools_image(dir: &Path) -> PathBuf {
    let rootfs = tools_rootfs(&dir.join("image-rootfs"));
    let work = dir.join("image");
    std::fs::create_dir_all(&work).expect("image dir");
    let layer = work.join("layer.tar");
    run_ok(Command::new("tar").arg("-C").arg(&rootfs).arg("-cf").arg(&layer).arg("."));
    let sum = run_ok(Command::new("sha256sum").arg(&layer));
    let digest = sum.split_whitespace().next().expect("sha256sum output").to_string();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Entrypoint": ["/bin/sleep", "2147483647"], "Env": ["PATH=/bin"] },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{digest}")] },
    });
    std::fs::write(work.join("config.json"), config.to_string()).expect("image config");
    let manifest = serde_json::json!([{ "Config": "config.json", "RepoTags": [TOOLS_IMAGE], "Layers": ["layer.tar"] }]);
    std::fs::write(work.join("manifest.json"), manifest.to_string()).expect("image manifest");
    let tar = dir.join("tools-image.tar");
    run_ok(Command::new("tar").arg("-C").arg(&work).arg("-cf").arg(&tar).args(["manifest.json", "config.json", "layer.tar"]));
    tar
}

fn run_ok(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Cgroup directories a runtime creates for a test (`kubepods/burstable/pod<uid>`,
/// `<namespace>`) in every v1 hierarchy (or the v2 tree), removed on drop, deepest first,
/// once the runtime has removed the containers' own directories below them. Directories
/// that existed before are left alone.
pub struct CgroupCleanup {
    rel: PathBuf,
    preexisting: Vec<PathBuf>,
}

impl CgroupCleanup {
    /// Will clean `rel` and each of its parents that does not exist yet.
    pub fn new(rel: &str) -> Self {
        let rel = PathBuf::from(rel.trim_matches('/'));
        let preexisting = Self::levels(&rel).into_iter().filter(|d| d.exists()).collect();
        Self { rel, preexisting }
    }

    /// The memory cgroup at `rel` (created if missing) with `limit` bytes: the pod-level
    /// limit the kubelet sets, which applies while runc is still creating the container.
    pub fn set_memory_limit(&self, limit: u64) -> PathBuf {
        let dir = Path::new("/sys/fs/cgroup/memory").join(&self.rel);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        std::fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).unwrap_or_else(|e| panic!("limit on {}: {e}", dir.display()));
        dir
    }

    /// Every level of `rel` in every hierarchy, deepest first.
    fn levels(rel: &Path) -> Vec<PathBuf> {
        let root = Path::new("/sys/fs/cgroup");
        let hierarchies: Vec<PathBuf> = if root.join("cgroup.controllers").exists() {
            vec![root.to_path_buf()]
        } else {
            std::fs::read_dir(root)
                .map(|d| d.filter_map(|e| Some(e.ok()?.path())).filter(|p| p.is_dir() && !p.is_symlink()).collect())
                .unwrap_or_default()
        };
        let mut levels = Vec::new();
        for hierarchy in hierarchies {
            let mut sub = rel.to_path_buf();
            loop {
                levels.push(hierarchy.join(&sub));
                if !sub.pop() || sub.as_os_str().is_empty() {
                    break;
                }
            }
        }
        levels
    }
}

impl Drop for CgroupCleanup {
    fn drop(&mut self) {
        for dir in Self::levels(&self.rel) {
            if dir.exists() && !self.preexisting.contains(&dir) {
                remove_cgroup_tree(&dir);
            }
        }
    }
}

/// Removes a cgroup directory and any left below it (leaves first), retrying while the
/// last tasks exit.
fn remove_cgroup_tree(dir: &Path) {
    if let Ok(children) = std::fs::read_dir(dir) {
        for child in children.flatten() {
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&child.path());
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && dir.exists() {
        if Instant::now() > deadline {
            eprintln!("WARNING: could not remove cgroup {}", dir.display());
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `path` exists.
pub fn wait_for_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} did not appear within {timeout:?}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}
