//! Processes under measurement: start a tracer, wait until it says it is live, read its CPU
//! time and peak memory, stop it the way a user would (SIGINT), and never leave it running.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of `pid`, seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context("reading /proc/PID/stat")?;
    // Fields after the parenthesised comm; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / clock_ticks())
}

/// A `kB` field of /proc/PID/status (`VmHWM`, `VmRSS`), MiB.
pub fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc/PID/status")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("{field} in /proc/{pid}/status"))?;
    Ok(kib / 1024.0)
}

/// VmHWM (peak resident memory) of `pid`, MiB.
pub fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmHWM")
}

/// How a tracer tells us its probes are live.
#[derive(Clone, Copy, Debug)]
pub enum Ready {
    /// A line on stderr containing this.
    Stderr(&'static str),
    /// A line on stdout containing this.
    Stdout(&'static str),
    /// No signal: wait this long (perf, trace-cmd print nothing reliable on attach).
    After(Duration),
}

/// A running tracer; killed (by pid, our own child) on drop if still running.
pub struct Tracer {
    child: Child,
    /// Lines of the stream not used for readiness are drained so the tracer never blocks.
    pub lines: mpsc::Receiver<String>,
    pub ready_after: Duration,
}

fn forward_lines(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                // Nobody listens any more; keep draining so the pipe never fills.
                continue;
            }
        }
    });
}

impl Tracer {
    /// Spawns `command` and waits (at most `timeout`) until it is live.
    pub fn start(mut command: Command, ready: Ready, timeout: Duration) -> anyhow::Result<Self> {
        let program = format!("{:?}", command.get_program());
        let started = Instant::now();
        // Its own process group, so helpers it forks (trace-cmd's per-CPU readers) can be
        // cleaned up with it even if it dies first.
        use std::os::unix::process::CommandExt;
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let (tx, rx) = mpsc::channel();
        forward_lines(child.stdout.take().context("stdout")?, tx.clone());
        forward_lines(child.stderr.take().context("stderr")?, tx);
        let mut tracer = Self { child, lines: rx, ready_after: Duration::ZERO };
        let needle = match ready {
            Ready::Stderr(n) | Ready::Stdout(n) => n,
            Ready::After(d) => {
                std::thread::sleep(d);
                if let Some(status) = tracer.child.try_wait()? {
                    bail!("{program} exited at start: {status}: {}", tracer.drain().join(" | "));
                }
                tracer.ready_after = started.elapsed();
                return Ok(tracer);
            }
        };
        let mut seen = Vec::new();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match tracer.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => break,
                Ok(line) => seen.push(line),
                Err(_) => bail!("{program} did not become ready ({needle:?}) within {timeout:?}: {}", seen.join(" | ")),
            }
        }
        tracer.ready_after = started.elapsed();
        Ok(tracer)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn drain(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// SIGINT, then wait up to `grace` before SIGKILL. Returns whether it exited by itself.
    pub fn stop(self, grace: Duration) -> anyhow::Result<bool> {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.wait_exit(grace)
    }

    /// Waits up to `grace` for the tracer to exit by itself (a tracer running a command),
    /// then kills it. Returns whether it exited by itself.
    pub fn wait_exit(mut self, grace: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + grace;
        let mut exited = false;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.kill_group();
        Ok(exited)
    }

    /// Whatever is left of the tracer's process group (our own group, by its id).
    fn kill_group(&self) {
        // SAFETY: the group was created for this child (process_group(0)), so its id is the
        // child's pid and holds only processes it forked.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.kill_group();
    }
}

/// Writes a sysctl-like file and puts the old value back on drop.
pub struct Restore {
    path: &'static str,
    old: String,
}

impl Restore {
    pub fn set(path: &'static str, value: &str) -> anyhow::Result<Self> {
        let old = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        std::fs::write(path, format!("{value}\n")).with_context(|| format!("writing {path}"))?;
        Ok(Self { path, old })
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(self.path, &self.old) {
            eprintln!("bench: could not restore {}: {e}", self.path);
        }
    }
}

/// A cgroup-v1 memory cgroup with `headroom` bytes above its current usage and the OOM
/// killer disabled, removed on drop: charges in it fail instead of killing anything.
pub struct TightMemcg {
    pub dir: std::path::PathBuf,
}

impl TightMemcg {
    pub fn create(name: &str, headroom: u64) -> anyhow::Result<Self> {
        let root = std::path::Path::new("/sys/fs/cgroup/memory");
        if !root.join("memory.limit_in_bytes").exists() {
            bail!("the storm needs the cgroup-v1 memory controller at {}", root.display());
        }
        let dir = root.join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let cg = Self { dir };
        limit_above_usage(&cg.dir, headroom)?;
        Ok(cg)
    }
}

/// A cgroup-v1 memory cgroup's OOM killer off and its limit `headroom` bytes above its usage:
/// every larger charge then fails (ENOMEM) instead of killing anything.
pub fn limit_above_usage(dir: &std::path::Path, headroom: u64) -> anyhow::Result<()> {
    std::fs::write(dir.join("memory.oom_control"), "1").context("memory.oom_control")?;
    let usage: u64 = std::fs::read_to_string(dir.join("memory.usage_in_bytes"))?.trim().parse()?;
    std::fs::write(dir.join("memory.limit_in_bytes"), (usage + headroom).to_string()).context("memory.limit_in_bytes")
}

impl Drop for TightMemcg {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("memory.limit_in_bytes"), "-1");
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("bench: could not remove {}", self.dir.display());
    }
}

pub fn today() -> String {
    crate::shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim().to_string()
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(signal: libc::c_int) {
    // A second Ctrl-C means "now": the default action, without the cleanup.
    if INTERRUPTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: signal() and raise() are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

/// From now on a first SIGINT/SIGTERM only sets a flag ([`interrupted`]): a long run polls it
/// and ends early through its normal path, so its guards restore sysctls, remove cgroups and
/// stop the processes it started. A second one ends the process at once. (Tracers run in
/// their own process groups: Ctrl-C reaches only us.)
pub fn catch_interrupts() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_interrupt as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_interrupt as *const () as libc::sighandler_t);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Sleeps until `deadline` or an interrupt; returns whether it was interrupted.
pub fn sleep_until(deadline: Instant) -> bool {
    while Instant::now() < deadline {
        if interrupted() {
            return true;
        }
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(200)));
    }
    interrupted()
}
