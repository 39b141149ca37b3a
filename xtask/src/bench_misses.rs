//! `cargo xtask bench misses`: how many isolated failures `fragtrace record` misses, per
//! `--alloc-probe` mode, on this host.
//!
//! An isolated failure is what a failing pod start usually is: ONE `runc:[1:CHILD]`
//! allocation in a fresh, nearly empty memory cgroup, with no memory pressure before it. Per
//! try: a fresh kubepods-shaped cgroup-v1 memory cgroup
//! (`kubepods/burstable/pod<uuid>/<64-hex id>`, 64 KiB above its usage, OOM killer off), a
//! fresh `fragtrace record` (release build), `settle` seconds after it says it is recording
//! exactly one `alloc-trigger pipe-resize-child 'runc:[1:CHILD]' DIR 8` (an 8 MiB pipe: its
//! 2048-slot pipe_buffer array is an order-5 `GFP_KERNEL_ACCOUNT` kmalloc whose memcg charge
//! fails), then SIGINT and `report --json`. Caught: the recording has an order-5
//! `runc:[1:CHILD]` failure in that try's cgroup. Tries whose resize did not fail with ENOMEM
//! are not counted. Modes alternate within each round (default, always, on-pressure, …), on
//! an idle node and then with a busy loop on every CPU.
//!
//! The fexit modes need BPF trampolines, which this host lacks: `bench misses-vm` measures
//! them in QEMU guests.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::proc::{Ready, Restore, Tracer, catch_interrupts, interrupted, median, sleep_until, today};

const START: &str = "<!-- bench:misses:start -->";
const END: &str = "<!-- bench:misses:end -->";

const FRAGTRACE: &str = "target/release/fragtrace";
const TRIGGER: &str = "target/release/alloc-trigger";
const FILE: &str = "target/bench/misses.ftr";
const COMM: &str = "runc:[1:CHILD]";
/// 8 MiB of pipe = 2048 slots × 40-byte `struct pipe_buffer` = 80 KiB → an order-5 kmalloc.
const PIPE_MIB: u64 = 8;
const ORDER: u64 = 5;
/// Below the 128 KiB the order-5 charge needs, above the page the trigger's result pipe takes.
const HEADROOM: u64 = 64 * 1024;

/// (label, extra `record` arguments).
const MODES: &[(&str, &[&str])] =
    &[("default (no flag)", &[]), ("--alloc-probe always", &["--alloc-probe", "always"]), ("--alloc-probe on-pressure", &["--alloc-probe", "on-pressure"])];

/// A kubelet-shaped (cgroupfs driver) memory cgroup `kubepods/burstable/pod<uid>/<id>` with
/// `headroom` bytes above its usage and the OOM killer off; the directories it created are
/// removed on drop, deepest first.
struct PodMemcg {
    leaf: PathBuf,
    /// As the kernel names it: `/kubepods/burstable/pod…/…`.
    path: String,
    created: Vec<PathBuf>,
}

fn uuid() -> anyhow::Result<String> {
    Ok(std::fs::read_to_string("/proc/sys/kernel/random/uuid").context("reading a random uuid")?.trim().to_string())
}

impl PodMemcg {
    fn create(headroom: u64) -> anyhow::Result<Self> {
        let root = Path::new("/sys/fs/cgroup/memory");
        if !root.join("memory.limit_in_bytes").exists() {
            bail!("bench misses needs the cgroup-v1 memory controller at {}", root.display());
        }
        let container = format!("{}{}", uuid()?, uuid()?).replace('-', "");
        let rel = format!("kubepods/burstable/pod{}/{container}", uuid()?);
        let mut cg = Self { leaf: root.to_path_buf(), path: format!("/{rel}"), created: Vec::new() };
        for part in rel.split('/') {
            cg.leaf.push(part);
            if !cg.leaf.exists() {
                std::fs::create_dir(&cg.leaf).with_context(|| format!("creating {}", cg.leaf.display()))?;
                cg.created.push(cg.leaf.clone());
            }
        }
        crate::proc::limit_above_usage(&cg.leaf, headroom)?;
        Ok(cg)
    }
}

impl Drop for PodMemcg {
    fn drop(&mut self) {
        let _ = std::fs::write(self.leaf.join("memory.limit_in_bytes"), "-1");
        for dir in self.created.iter().rev() {
            let removed = (0..50).any(|_| {
                let done = std::fs::remove_dir(dir).is_ok() || !dir.exists();
                if !done {
                    std::thread::sleep(Duration::from_millis(100));
                }
                done
            });
            if !removed {
                eprintln!("bench misses: could not remove {}", dir.display());
            }
        }
    }
}

/// One busy loop per CPU, killed (by pid, our children) on drop.
struct BusyCpus(Vec<Child>);

impl BusyCpus {
    fn start() -> anyhow::Result<Self> {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut hogs = Self(Vec::new());
        for _ in 0..cpus {
            hogs.0.push(Command::new("sh").args(["-c", "while :; do :; done"]).stdin(Stdio::null()).spawn().context("starting a busy loop")?);
        }
        Ok(hogs)
    }
}

impl Drop for BusyCpus {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The single failing pipe resize in a `runc:[1:CHILD]` child in `cgroup`; its errno.
fn provoke(cgroup: &PodMemcg) -> anyhow::Result<i64> {
    let mut child = Command::new(TRIGGER)
        .args(["pipe-resize-child", COMM])
        .arg(&cgroup.leaf)
        .arg(PIPE_MIB.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running alloc-trigger")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("alloc-trigger did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("alloc-trigger: {}", String::from_utf8_lossy(&out.stderr));
    }
    let json: Value = serde_json::from_slice(&out.stdout).context("alloc-trigger output")?;
    json["errnos"][0].as_i64().context("alloc-trigger printed no errno")
}

/// What one try found.
struct Try {
    provoked: bool,
    caught: bool,
    watched_by: String,
    complete: Option<bool>,
    live: Duration,
}

fn one_try(extra: &[&str], settle: Duration) -> anyhow::Result<Try> {
    let cgroup = PodMemcg::create(HEADROOM)?;
    let mut c = Command::new(FRAGTRACE);
    c.args(["record", "--force", "--duration", "120s", "-o", FILE]).args(extra);
    let tracer = Tracer::start(c, Ready::Stderr("recording to"), Duration::from_secs(30))?;
    let live = tracer.ready_after;
    if sleep_until(Instant::now() + settle) {
        bail!("interrupted");
    }
    let errno = provoke(&cgroup)?;
    if !tracer.stop(Duration::from_secs(20))? {
        bail!("fragtrace record did not stop on SIGINT");
    }
    let out = Command::new(FRAGTRACE).args(["report", "--json", FILE]).output().context("fragtrace report")?;
    if !out.status.success() {
        bail!("fragtrace report: {}", String::from_utf8_lossy(&out.stderr));
    }
    let doc: Value = serde_json::from_slice(&out.stdout).context("report --json")?;
    let failures = &doc["failures"];
    let list = |key: &str| failures[key].as_array().cloned().unwrap_or_default();
    let caught = list("groups").iter().any(|g| g["comm"] == COMM && g["order"].as_u64() == Some(ORDER))
        && list("by_cgroup").iter().any(|c| c["cgroup"] == cgroup.path.as_str());
    let probe = &doc["alloc_probe"];
    Ok(Try {
        provoked: errno == i64::from(libc::ENOMEM),
        caught,
        watched_by: probe["watched_by"].as_str().unwrap_or("?").to_string(),
        complete: probe["complete"].as_bool(),
        live,
    })
}

struct Cell {
    load: String,
    mode: &'static str,
    watched_by: String,
    complete: Option<bool>,
    caught: usize,
    provoked: usize,
    live_ms: Vec<f64>,
}

pub fn misses(n: usize, settle_s: f64, update: bool) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let settle = Duration::from_secs_f64(settle_s);
    let _pipe_max = Restore::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string())?;
    catch_interrupts();
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut cells = Vec::new();
    for (load, busy) in [("idle".to_string(), false), (format!("CPU-saturated ({cpus} busy loops)"), true)] {
        let _hogs = if busy { Some(BusyCpus::start()?) } else { None };
        let mut row: Vec<Cell> = MODES
            .iter()
            .map(|(mode, _)| Cell { load: load.clone(), mode, watched_by: String::new(), complete: None, caught: 0, provoked: 0, live_ms: Vec::new() })
            .collect();
        // Modes alternate within each round: drift on a shared machine hits them alike.
        for t in 1..=n {
            for ((mode, extra), cell) in MODES.iter().zip(&mut row) {
                if interrupted() {
                    bail!("interrupted");
                }
                let r = one_try(extra, settle).with_context(|| format!("{load}, {mode}, try {t}"))?;
                eprintln!(
                    "bench misses: {load}, {mode}, try {t}/{n}: {}",
                    if !r.provoked { "the resize did not fail (not counted)" } else if r.caught { "caught" } else { "MISSED" }
                );
                if cell.watched_by.is_empty() {
                    cell.watched_by = r.watched_by;
                    cell.complete = r.complete;
                }
                cell.live_ms.push(r.live.as_secs_f64() * 1e3);
                if r.provoked {
                    cell.provoked += 1;
                    cell.caught += usize::from(r.caught);
                }
            }
        }
        cells.extend(row);
    }
    std::fs::remove_file(FILE).ok();
    let section = render(&mut cells, n, settle_s);
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Miss rate (host)", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}

fn render(cells: &mut [Cell], n: usize, settle_s: f64) -> String {
    let mut s = format!(
        "{START}\nIsolated failures: per try a fresh kubepods-shaped memory cgroup (cgroup v1, 64 KiB headroom), a fresh \
         `fragtrace record` (release build), {settle_s} s after it says it is recording ONE failing `F_SETPIPE_SZ` (8 MiB: \
         order 5, `GFP_KERNEL_ACCOUNT`, memcg charge) from a `runc:[1:CHILD]` in that cgroup, no memory pressure before \
         it; {n} tries per cell, modes alternating, {} — {}:\n\n\
         | node | `record` mode | failures watched by | complete (`alloc_probe.complete`) | caught | tool live after (median) |\n\
         |---|---|---|---|---:|---:|\n",
        crate::bench::machine(),
        today()
    );
    for c in cells.iter_mut() {
        let complete = match c.complete {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "?",
        };
        let caught = if c.caught == c.provoked { format!("{}/{}", c.caught, c.provoked) } else { format!("**{}/{}**", c.caught, c.provoked) };
        let _ = writeln!(s, "| {} | {} | {} | {complete} | {caught} | {:.0} ms |", c.load, c.mode, c.watched_by, median(&mut c.live_ms));
    }
    let _ = write!(
        s,
        "\nCaught: the recording has the order-5 `runc:[1:CHILD]` failure in that try's cgroup. The fexit modes need BPF \
         trampolines, which this host lacks (see \"Miss rate (QEMU guests)\").\n\n\
         Reproduce: `cargo xtask bench misses --n {n} --settle {settle_s}`\n{END}"
    );
    s
}
