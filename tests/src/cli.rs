//! Helpers for driving the real `fragtrace` binary: spawning, reading its output lines,
//! signalling it, and provoking failures while it runs.

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader},
    ops::{Deref, DerefMut},
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::mpsc,
    time::Duration,
};

use crate::{MemCgroupPath, SysctlGuard, TriggerResult, built_binary, run_trigger, wait_exit, wait_for_value};

pub fn fragtrace() -> Command {
    Command::new(built_binary("fragtrace"))
}

/// A fresh path in this test process's temp directory.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fragtrace-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// A [`temp_path`] removed on drop, file or directory (whatever the test made of it), so a
/// failing assertion does not leave it behind.
pub struct TempPath(PathBuf);

impl TempPath {
    /// A fresh path; nothing is created.
    pub fn new(name: &str) -> Self {
        let path = temp_path(name);
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    /// A fresh, empty directory.
    pub fn dir(name: &str) -> Self {
        let dir = Self::new(name);
        std::fs::create_dir_all(&dir.0).unwrap_or_else(|e| panic!("creating {}: {e}", dir.0.display()));
        dir
    }
}

impl Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for TempPath {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Forwards a child's output lines to a channel.
pub fn lines_of(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (30 s at most) for a line containing `needle`, keeping every line in `seen`.
pub fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!("no line containing {needle:?} within 30 s; got {seen:?}"),
        }
    }
}

/// The output on which a child says it is ready.
#[derive(Clone, Copy)]
pub enum Says {
    Stdout,
    Stderr,
}

/// Spawns `command` with that stream piped and waits (30 s at most) for a line containing
/// `needle`; returns the child (killed on drop if still running), the stream's lines, and
/// those seen so far.
pub fn spawn_until(command: &mut Command, stream: Says, needle: &str) -> (KillOnDrop, mpsc::Receiver<String>, Vec<String>) {
    match stream {
        Says::Stdout => command.stdout(std::process::Stdio::piped()),
        Says::Stderr => command.stderr(std::process::Stdio::piped()),
    };
    let mut child = KillOnDrop(command.spawn().unwrap_or_else(|e| panic!("spawning {:?}: {e}", command.get_program())));
    let lines = match stream {
        Says::Stdout => lines_of(child.stdout.take().expect("stdout")),
        Says::Stderr => lines_of(child.stderr.take().expect("stderr")),
    };
    let mut seen = Vec::new();
    wait_for(&lines, needle, &mut seen);
    (child, lines, seen)
}

/// Starts `fragtrace record -o FILE EXTRA…` (stopping by itself after 120 s at most) and
/// waits until it says it is recording; returns the child (killed on drop if still running),
/// its stderr lines and those seen. `--alloc-probe always` unless EXTRA says otherwise: these tests count every provoked
/// failure on the per-allocation probe itself (the default, `auto`, is the same on this host;
/// tests/tests/e2e_isolated.rs tests the default, e2e_gate.rs the opt-in `on-pressure`).
pub fn start_recorder(file: &Path, extra: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>, Vec<String>) {
    let always: &[&str] = if extra.contains(&"--alloc-probe") { &[] } else { &["--alloc-probe", "always"] };
    spawn_until(fragtrace().args(["record", "--duration", "120s", "-o"]).arg(file).args(always).args(extra), Says::Stderr, "recording to")
}

/// Starts `fragtrace capture ARGS… -o DIR` and waits until it says it is armed; returns the
/// child (killed on drop if still running), its stderr lines and those seen.
pub fn start_capture(dir: &Path, args: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>, Vec<String>) {
    spawn_until(fragtrace().arg("capture").args(args).arg("-o").arg(dir).stdout(std::process::Stdio::null()), Says::Stderr, "armed")
}

/// A memory cgroup `/fragtrace-e2e-{tag}-{pid}` with almost no headroom, where every pipe
/// resize fails its memcg charge, and `fs.pipe-max-size` raised for such resizes; the
/// cgroup is removed and the sysctl restored on drop.
pub struct FailingCgroup {
    pub cgroup: MemCgroupPath,
    _pipe_max: SysctlGuard,
}

impl FailingCgroup {
    pub fn new(tag: &str) -> Self {
        let pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
        Self { cgroup: MemCgroupPath::create(&format!("fragtrace-e2e-{tag}-{}", std::process::id()), 128 * 1024), _pipe_max: pipe_max }
    }
}

/// Provokes the four pipe-resize failures (orders 6–9) in a fresh memory cgroup
/// `/fragtrace-e2e-{tag}-{pid}`.
pub fn provoke_failures(tag: &str) -> TriggerResult {
    let failing = FailingCgroup::new(tag);
    let dirs = failing.cgroup.leaf.display().to_string();
    let result = run_trigger(&["pipe-resize", &dirs, "16", "32", "64", "128"], Duration::from_secs(60));
    assert_eq!(result.errnos, vec![libc::ENOMEM; 4]);
    result
}

/// `report --jsonl FILE EXTRA…`: its objects (failures, zones, …, then the summary). Works on a
/// recording still being written: the complete blocks are read (and the cut is warned about).
pub fn report_jsonl(file: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = fragtrace().args(["report", "--jsonl"]).args(extra).arg(file).output().expect("fragtrace report --jsonl");
    assert!(out.status.success(), "report --jsonl {extra:?} {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    json_lines(&out.stdout)
}

/// `report --json FILE`: the aggregate document of the complete blocks so far.
pub fn report_json(file: &Path) -> serde_json::Value {
    let out = fragtrace().args(["report", "--json"]).arg(file).output().expect("fragtrace report --json");
    assert!(out.status.success(), "report --json {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report --json {}: {e}", file.display()))
}

/// Waits until the recording being written to `file` has, on disk, a data block with a zone
/// snapshot and a tick (the recorder writes its block at every one-second tick).
pub fn wait_until_recorded_ticks(file: &Path) {
    crate::wait_until(&format!("a zone snapshot and a tick on disk in {}", file.display()), Duration::from_secs(30), || {
        let doc = report_json(file);
        doc["zones"].as_array().is_some_and(|z| !z.is_empty()) && doc["counters"]["allocs_seen"].as_u64().is_some_and(|n| n > 0)
    });
}

/// Waits until the recording being written to `file` has, on disk, the failures of process
/// `tgid` with exactly these orders (the recorder writes its block at every one-second tick).
pub fn wait_until_recorded_failures(file: &Path, tgid: u32, orders: &[u64]) {
    let mut last = Vec::new();
    let found = crate::poll(Duration::from_secs(30), || {
        last = report_jsonl(file, &[])
            .iter()
            .filter(|o| o["kind"] == "failure" && o["tgid"] == tgid)
            .filter_map(|o| o["order"].as_u64())
            .collect();
        (last == orders).then_some(())
    });
    assert!(found.is_some(), "waited 30 s for the failures {orders:?} of {tgid} on disk in {}; last read {last:?}", file.display());
}

/// Sends `signal` to our own child, by pid.
pub fn signal(child: &Child, signal: i32) {
    // SAFETY: signalling our own child by pid.
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0, "kill({}, {signal})", child.id());
}

/// Parses JSON lines.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// What `alloc-trigger pipe-resize-child` reported.
#[derive(Debug)]
pub struct ChildTrigger {
    /// The parent, named `runc`.
    pub pid: u32,
    /// The short-lived child that failed, named as asked.
    pub child_pid: u32,
}

/// Runs the four pipe-resize failures (orders 6–9) in a child named `name` that joins
/// `cgroup_dir` (a memory cgroup with little headroom) and exits right after.
pub fn provoke_in_child(name: &str, cgroup_dir: &std::path::Path) -> ChildTrigger {
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
    let out = std::process::Command::new(built_binary("alloc-trigger"))
        .args(["pipe-resize-child", name])
        .arg(cgroup_dir)
        .args(["16", "32", "64", "128"])
        .output()
        .expect("running alloc-trigger");
    assert!(out.status.success(), "alloc-trigger failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("trigger JSON");
    let errnos: Vec<i64> = json["errnos"].as_array().expect("errnos").iter().map(|v| v.as_i64().expect("errno")).collect();
    assert_eq!(errnos, vec![i64::from(libc::ENOMEM); 4], "the four resizes fail their memcg charge");
    ChildTrigger { pid: json["pid"].as_u64().expect("pid") as u32, child_pid: json["child_pid"].as_u64().expect("child_pid") as u32 }
}

/// A directory of fake OCI bundles (`<container id>/config.json`), removed on drop.
pub struct OciRoot(pub PathBuf);

impl OciRoot {
    pub fn new(tag: &str) -> Self {
        let dir = temp_path(&format!("oci-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("oci root");
        Self(dir)
    }

    pub fn add(&self, container_id: &str, annotations: serde_json::Value) {
        let dir = self.0.join(container_id);
        std::fs::create_dir_all(&dir).expect("bundle dir");
        let config = serde_json::json!({"ociVersion": "1.0.2", "process": {"args": ["/pause"]}, "annotations": annotations});
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&config).expect("json")).expect("config.json");
    }
}

impl Drop for OciRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The uid and gid the least-privilege tests run fragtrace as (`nobody` on Debian).
pub const NOBODY: u32 = 65534;

/// fragtrace run as an unprivileged user holding exactly the given capabilities, with its
/// own 0700 working directory (the binary is copied there, so the test does not depend on
/// the checkout's directories being searchable by that user). Removed on drop.
pub struct Unprivileged {
    pub dir: PathBuf,
    binary: PathBuf,
}

impl Unprivileged {
    pub fn new(tag: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_path(&format!("unprivileged-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("unprivileged dir");
        let binary = dir.join("fragtrace");
        std::fs::copy(built_binary("fragtrace"), &binary).expect("copying fragtrace");
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod binary");
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).expect("chown dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod dir");
        Self { dir, binary }
    }

    /// `setpriv` to uid/gid 65534, no supplementary groups, and `caps` (names as setpriv
    /// takes them, e.g. "bpf") as the only inheritable, ambient and bounding capabilities.
    pub fn fragtrace(&self, caps: &[&str]) -> Command {
        self.fragtrace_bounded(caps, caps)
    }

    /// Like [`Self::fragtrace`] with separate ambient and bounding sets: `ambient` empty and
    /// `bounding` wider runs the binary on its file capabilities alone.
    pub fn fragtrace_bounded(&self, ambient: &[&str], bounding: &[&str]) -> Command {
        let set = |caps: &[&str]| std::iter::once("-all".to_string()).chain(caps.iter().map(|c| format!("+{c}"))).collect::<Vec<_>>().join(",");
        let mut c = Command::new("setpriv");
        c.args([format!("--reuid={NOBODY}"), format!("--regid={NOBODY}"), "--clear-groups".into()])
            .args([format!("--inh-caps={}", set(ambient)), format!("--ambient-caps={}", set(ambient))])
            .args([format!("--bounding-set={}", set(bounding)), "--".into()])
            .arg(&self.binary);
        c
    }

    /// `setcap CAPS+ep` on the copied binary (how an administrator grants them for good).
    pub fn grant_file_capabilities(&self, caps: &[&str]) {
        let text = caps.iter().map(|c| format!("cap_{c}")).collect::<Vec<_>>().join(",") + "+ep";
        let out = Command::new("setcap").arg(&text).arg(&self.binary).output().expect("setcap (libcap2-bin; `cargo xtask test` installs it)");
        assert!(out.status.success(), "setcap {text}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Unprivileged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Random ids of a Kubernetes container: a pod UID (a UUID) and a 64-hex container id, fresh
/// on every call (from the kernel's /proc/sys/kernel/random/uuid).
#[derive(Clone, Debug)]
pub struct PodIds {
    pub uid: String,
    pub container: String,
}

impl PodIds {
    pub fn random() -> Self {
        let uuid = || std::fs::read_to_string("/proc/sys/kernel/random/uuid").expect("random uuid").trim().to_string();
        let uid = uuid();
        let container = format!("{}{}", uuid(), uuid()).replace('-', "");
        assert_eq!(container.len(), 64);
        Self { uid, container }
    }

    /// The container's memory cgroup under the cgroupfs kubelet driver, relative to the
    /// hierarchy's root: `kubepods/<qos>/pod<uid>/<container>` (`qos` "" for guaranteed).
    pub fn cgroupfs_path(&self, qos: &str) -> String {
        let qos = if qos.is_empty() { String::new() } else { format!("{qos}/") };
        format!("kubepods/{qos}pod{}/{}", self.uid, self.container)
    }
}

/// Runs `alloc-trigger pipe-resize-child NAME CGROUP_DIR MIB…` (one pipe resize per size, in
/// a short-lived child named `name` that joins `cgroup_dir`) with `fs.pipe-max-size` raised
/// for the call; kills it (our child, by pid) after 30 s. Returns the trigger and the errno
/// of each resize, for the caller to check.
pub fn provoke_sizes_in_child(name: &str, cgroup_dir: &std::path::Path, sizes_mib: &[u64]) -> (ChildTrigger, Vec<i32>) {
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
    let mut child = Command::new(built_binary("alloc-trigger"))
        .args(["pipe-resize-child", name])
        .arg(cgroup_dir)
        .args(sizes_mib.iter().map(u64::to_string))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning alloc-trigger");
    if wait_exit(&mut child, Duration::from_secs(30)).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("alloc-trigger pipe-resize-child {name} {} {sizes_mib:?} did not finish within 30 s", cgroup_dir.display());
    }
    let out = child.wait_with_output().expect("alloc-trigger output");
    assert!(out.status.success(), "alloc-trigger failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("trigger printed {:?}: {e}", String::from_utf8_lossy(&out.stdout)));
    let errnos = json["errnos"].as_array().expect("errnos").iter().map(|v| v.as_i64().expect("errno") as i32).collect();
    (ChildTrigger { pid: json["pid"].as_u64().expect("pid") as u32, child_pid: json["child_pid"].as_u64().expect("child_pid") as u32 }, errnos)
}

/// A child process killed (by its pid: it is ours) and reaped on drop if still running, so a
/// failing test never leaves a tracer or a workload behind. Derefs to the [`Child`].
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Waits up to `timeout` for the child to exit; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        wait_exit(&mut self.0, timeout)
    }

    /// Waits up to `timeout` for the child to exit; panics saying `what` did not stop.
    pub fn expect_exit(&mut self, what: &str, timeout: Duration) -> std::process::ExitStatus {
        wait_for_value(&format!("{what} to exit"), timeout, || self.0.try_wait().expect("try_wait on our child"))
    }
}

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Busy loops (`sh -c 'while :; do :; done'`), one per CPU: a node whose CPUs are all busy.
/// Each is killed by its pid on drop.
pub struct CpuHogs(Vec<KillOnDrop>);

impl CpuHogs {
    pub fn start() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hogs = (0..cpus)
            .map(|_| {
                KillOnDrop(
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(std::process::Stdio::null())
                        .spawn()
                        .expect("spawning a busy loop"),
                )
            })
            .collect();
        Self(hogs)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
