//! Helpers for driving the real `fragtrace` binary: spawning, reading its output lines,
//! signalling it, and provoking failures while it runs.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command},
    sync::mpsc,
    time::Duration,
};

use crate::{MemCgroup, SysctlGuard, TriggerResult, built_binary, run_trigger};

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

/// Provokes the four pipe-resize failures (orders 6–9) in a fresh memory cgroup, with the
/// trigger also joining `extra_cgroup` (a cgroup v2 directory) when given.
pub fn provoke_failures(tag: &str, extra_cgroup: Option<&std::path::Path>) -> TriggerResult {
    let _pipe_max = SysctlGuard::set("/proc/sys/fs/pipe-max-size", &(256u64 << 20).to_string());
    let cgroup = MemCgroup::with_headroom(&format!("fragtrace-e2e-{tag}"), 128 * 1024);
    let mut dirs = cgroup.dir.display().to_string();
    if let Some(extra) = extra_cgroup {
        dirs.push(',');
        dirs.push_str(&extra.display().to_string());
    }
    let result = run_trigger(&["pipe-resize", &dirs, "16", "32", "64", "128"], Duration::from_secs(60));
    assert_eq!(result.errnos, vec![libc::ENOMEM; 4]);
    result
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
