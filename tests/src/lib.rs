//! Support for the privileged end-to-end tests: root check, RAII guards that restore sysctls
//! and remove cgroups even when a test fails, the trigger, and a collecting sink.
//!
//! Tests panic instead of returning errors so a failure keeps its message and location.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
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
pub mod pty;

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
            let mut removed = false;
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    removed = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !removed {
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
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().expect("waiting for alloc-trigger").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("alloc-trigger {args:?} did not finish within {timeout:?} (stuck in the memcg OOM wait?)");
        }
        std::thread::sleep(Duration::from_millis(20));
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
        let stop = async move {
            let result = handle.await;
            // Give the ring buffer a moment to be drained after the last event.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send(result);
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
