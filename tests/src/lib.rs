//! Support for the privileged end-to-end tests: root check, RAII guards that restore sysctls
//! and remove cgroups even when a test fails, the trigger, and a collecting sink.
//!
//! Tests panic instead of returning errors so a failure keeps its message and location. They
//! wait for conditions ([`wait_until`], [`poll`]), not for fixed times, and clean up through
//! `Drop` guards, so a failed assertion leaves nothing behind.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use fragtrace::{
    event::{Counters, Event, Extfrag, Failure},
    filter::EventFilter,
    host::{cgroup::CgroupResolver, kallsyms::Kallsyms},
    probe::{ProbeConfig, Probes},
    probe_status::ProbeMode,
    session::{RunOptions, Session, SessionStats},
    sink::{Sink, SinkError},
};

pub mod cli;
pub mod containerd;
pub mod cri;
pub mod http;
pub mod pprof;
pub mod pty;

/// Checks `check` until it gives a value, for at most `timeout`; `None` when time ran out.
/// Looks again after 5 ms, then less and less often (at most every 100 ms): a cheap check
/// answers quickly, a costly one (running a command) does not hog the CPU the test needs.
/// These pauses are the only sleeps the tests need to wait for something to happen.
pub fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Waits until `cond` holds; panics after `timeout` saying what did not happen.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    if poll(timeout, || cond().then_some(())).is_none() {
        panic!("waited {timeout:?} for {what}, in vain");
    }
}

/// Waits until `check` gives a value and returns it; panics after `timeout` saying what did
/// not happen.
pub fn wait_for_value<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll(timeout, check).unwrap_or_else(|| panic!("waited {timeout:?} for {what}, in vain"))
}

/// Waits up to `timeout` for our child to exit; `None` if it is still running.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    poll(timeout, || child.try_wait().expect("try_wait on our child"))
}

/// The end-to-end tests attach probes and change global sysctls: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Fails loudly unless running as root: these tests never skip themselves.
pub fn require_root() -> MutexGuard<'static, ()> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "\n\n*** fragtrace end-to-end tests must run as root (they load eBPF programs and create \
         memory cgroups). Run `sudo cargo xtask test`. They do not skip themselves. ***\n"
    );
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sets a sysctl (a /proc/sys path) and restores the old value on drop.
pub struct SysctlGuard {
    path: PathBuf,
    old: String,
}

impl SysctlGuard {
    pub fn set(path: &str, value: &str) -> Self {
        let path = PathBuf::from(path);
        let old = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        // String sysctls (e.g. printk_devkmsg) need the newline; numeric ones accept it.
        std::fs::write(&path, format!("{value}\n")).unwrap_or_else(|e| panic!("writing {value} to {}: {e}", path.display()));
        Self { path, old: old.trim().to_string() }
    }
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.path, format!("{}\n", self.old)) {
            eprintln!("WARNING: could not restore {} to {}: {e}", self.path.display(), self.old);
        }
    }
}

/// Unmounts on drop a `fstype` mount at `target` that was not there when the guard was made:
/// a test that makes the library mount something (debugfs, for the kernel's extfrag indices)
/// leaves the machine's mounts as it found them, pass or fail. Detached (`MNT_DETACH`), so
/// mounts the kernel made under it (tracefs at debugfs' `tracing`) go with it.
pub struct UnmountIfNew {
    target: &'static str,
    fstype: &'static str,
    was_mounted: bool,
}

impl UnmountIfNew {
    pub fn watch(target: &'static str, fstype: &'static str) -> Self {
        Self { target, fstype, was_mounted: is_mounted(target, fstype) }
    }
}

/// Whether /proc/self/mounts has a `fstype` mount at `target`.
pub fn is_mounted(target: &str, fstype: &str) -> bool {
    std::fs::read_to_string("/proc/self/mounts").expect("/proc/self/mounts").lines().any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        fields.next() == Some(target) && fields.next() == Some(fstype)
    })
}

impl Drop for UnmountIfNew {
    fn drop(&mut self) {
        if self.was_mounted || !is_mounted(self.target, self.fstype) {
            return;
        }
        let target = std::ffi::CString::new(self.target).expect("a mount point without NUL");
        // SAFETY: a NUL-terminated path; MNT_DETACH takes no other argument.
        if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!("WARNING: could not unmount the {} this test mounted at {}: {}", self.fstype, self.target, std::io::Error::last_os_error());
        }
    }
}

/// A nested memory cgroup (cgroup v1 `memory` hierarchy) such as a Kubernetes container's
/// `kubepods/burstable/pod<uid>/<id>`, with the OOM killer disabled and a limit just above
/// its usage on the leaf. Every directory it created is removed on drop, deepest first.
pub struct MemCgroupPath {
    pub leaf: PathBuf,
    created: Vec<PathBuf>,
}

impl MemCgroupPath {
    pub fn create(rel: &str, headroom: u64) -> Self {
        let root = Path::new("/sys/fs/cgroup/memory");
        assert!(root.join("memory.limit_in_bytes").exists(), "no cgroup-v1 memory controller at {}", root.display());
        let mut dir = root.to_path_buf();
        let mut created = Vec::new();
        for part in rel.trim_matches('/').split('/') {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
                created.push(dir.clone());
            }
        }
        let cg = Self { leaf: dir, created };
        std::fs::write(cg.leaf.join("memory.oom_control"), "1").expect("oom_control");
        let usage: u64 = std::fs::read_to_string(cg.leaf.join("memory.usage_in_bytes")).expect("usage").trim().parse().expect("usage is a number");
        std::fs::write(cg.leaf.join("memory.limit_in_bytes"), (usage + headroom).to_string()).expect("limit");
        cg
    }
}

impl Drop for MemCgroupPath {
    fn drop(&mut self) {
        let _ = std::fs::write(self.leaf.join("memory.limit_in_bytes"), "-1");
        for dir in self.created.iter().rev() {
            // A cgroup whose last task just exited may still be busy for a moment.
            let removed = poll(Duration::from_secs(5), || (std::fs::remove_dir(dir).is_ok() || !dir.exists()).then_some(()));
            if removed.is_none() {
                eprintln!("WARNING: could not remove {}", dir.display());
            }
        }
    }
}

/// Path of a binary built next to the test executable (`target/<profile>/NAME`).
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let path = profile_dir.join(name);
    assert!(path.exists(), "{} is not built; run `cargo xtask test` (it builds it first)", path.display());
    path
}

/// What the trigger reported.
#[derive(Debug)]
pub struct TriggerResult {
    pub pid: u32,
    pub errnos: Vec<i32>,
}

/// Runs the trigger to completion, killing it (by pid, it is our child) after `timeout`.
pub fn run_trigger(args: &[&str], timeout: Duration) -> TriggerResult {
    // Cargo builds this package's binaries before its integration tests.
    let trigger = built_binary("alloc-trigger");
    let mut child = Command::new(&trigger)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning alloc-trigger");
    if wait_exit(&mut child, timeout).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("alloc-trigger {args:?} did not finish within {timeout:?} (stuck in the memcg OOM wait?)");
    }
    let output = child.wait_with_output().expect("trigger output");
    assert!(output.status.success(), "alloc-trigger {args:?} failed: {:?}", output.status);
    let line = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("trigger printed {line:?}: {e}"));
    TriggerResult {
        pid: json["pid"].as_u64().expect("pid") as u32,
        errnos: json["errnos"].as_array().expect("errnos").iter().map(|v| v.as_i64().expect("errno") as i32).collect(),
    }
}

/// Collects everything a session emits.
#[derive(Default)]
pub struct Collector {
    pub events: Vec<Event>,
    pub stacks: HashMap<u32, Vec<String>>,
    pub finished: Option<Counters>,
}

impl Collector {
    /// Failures of the process `tgid`, in arrival order.
    pub fn failures_of(&self, tgid: u32) -> Vec<&Failure> {
        self.events.iter().filter_map(|e| match e {
            Event::Failure(f) if f.task.tgid == tgid => Some(f),
            _ => None,
        }).collect()
    }

    /// Extfrag fallbacks of the process `tgid`, in arrival order.
    pub fn extfrags_of(&self, tgid: u32) -> Vec<&Extfrag> {
        self.events.iter().filter_map(|e| match e {
            Event::Extfrag(x) if x.task.tgid == tgid => Some(x),
            _ => None,
        }).collect()
    }
}

/// The first (or, with `last`, the final) text line whose first words are `words`.
pub fn row_starting_with<'a>(lines: impl DoubleEndedIterator<Item = &'a str>, words: &[&str], last: bool) -> Option<&'a str> {
    let matches = |l: &&str| l.split_whitespace().take(words.len()).eq(words.iter().copied());
    if last { lines.rev().find(matches) } else { lines.into_iter().find(matches) }
}

impl Sink for Collector {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.stacks.insert(id, frames.to_vec());
        Ok(())
    }
    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.events.push(event.clone());
        Ok(())
    }
    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.finished = Some(*counters);
        Ok(())
    }
}

/// Attaches the real probes in `mode`, runs `work` on a blocking thread while the session
/// collects, and returns what was collected once `work` has returned.
pub fn collect_during<T: Send + 'static>(
    mode: ProbeMode,
    work: impl FnOnce() -> T + Send + 'static,
) -> (T, Collector, SessionStats, KernelFacts) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let probes = Probes::load(&ProbeConfig { mode: Some(mode), ..ProbeConfig::default() })
            .unwrap_or_else(|e| panic!("loading the probes in {mode:?} mode: {e}"));
        assert_eq!(probes.mode, mode);
        let info = KernelFacts { gfp: probes.kernel.gfp.clone(), pageblock_order: probes.kernel.pageblock_order };
        let kallsyms = Kallsyms::load().expect("kallsyms (root sees real addresses)");
        let cgroups = if probes.attribution { CgroupResolver::for_memory() } else { CgroupResolver::discover() };
        let mut session = Session::new(probes, kallsyms, cgroups);
        let mut collector = Collector::default();
        let handle = tokio::task::spawn_blocking(work);
        let (tx, rx) = tokio::sync::oneshot::channel();
        // No grace period after `work`: `Session::run` drains the ring buffer once `stop`
        // completes, so every event `work` caused is collected.
        let stop = async move {
            let _ = tx.send(handle.await);
        };
        let options = RunOptions { tick: Duration::from_millis(100), zones_every: None, filter: EventFilter::default() };
        let stats = session.run(&mut [&mut collector], &options, stop).await.expect("session");
        let result = rx.await.expect("work result").unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        (result, collector, stats, info)
    })
}

/// Facts about the kernel the probes were loaded on.
pub struct KernelFacts {
    pub gfp: fragtrace::gfp::GfpTable,
    pub pageblock_order: u32,
}

/// MemAvailable in bytes.
pub fn mem_available() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("MemAvailable")
        * 1024
}

/// BPF links that process `pid` holds on the tracepoint `tp_name` (read from the link
/// descriptors' /proc fdinfo: `tp_name:` names the tracepoint for raw (tp_btf) and perf
/// (classic) links alike).
pub fn links_on(pid: u32, tp_name: &str) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return 0 };
    let wanted = format!("tp_name:\t{tp_name}");
    dir.filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .filter(|info| info.lines().any(|l| l == wanted))
        .count()
}
