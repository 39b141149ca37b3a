//! `cargo xtask bench top`: the cost of the full-screen view under an extfrag storm.
//!
//! `fragtrace top` runs on a pseudo-terminal (full screen, as a user runs it) replaying a
//! generated recording of extfrag fallbacks at 50,000 events per recorded second, at
//! recorded speed, so the view decodes and aggregates 50 k events/s while redrawing every
//! second. CPU time comes from /proc/PID/stat (utime + stime) over a measured window after
//! a warm-up, peak RSS from VmHWM. The live path differs only in where events come from (the
//! ring buffer instead of the file), which costs less than reading and decompressing.

use std::{
    io::Read,
    os::fd::FromRawFd,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use crate::{
    proc::{cpu_seconds, peak_rss_mib},
    setup, shell,
};

const START: &str = "<!-- top-bench:start -->";
const END: &str = "<!-- top-bench:end -->";

pub fn top(seconds: u64, update: bool) -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace", "--package", "fragtrace-tests", "--bins"])?;
    std::fs::create_dir_all("target/bench").context("creating target/bench")?;
    let file = Path::new("target/bench/top-extfrag.ftr");
    // 50 k events per recorded second, for the measured window plus warm-up and slack.
    let events = (seconds + 10) * 50_000;
    let status = Command::new("target/release/gen-recording")
        .arg("-o")
        .arg(file)
        .args(["--events", &events.to_string(), "--compress", "--extfrag-only"])
        .status()
        .context("running gen-recording")?;
    if !status.success() {
        bail!("gen-recording failed");
    }
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize { ws_row: 48, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: valid out-pointers and winsize.
    if unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) } != 0 {
        bail!("openpty: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from openpty, owned from here on.
    let (mut master, slave) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
    let child = Command::new("target/release/fragtrace")
        .arg("top")
        .arg("--replay")
        .arg(file)
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave))
        .spawn()
        .context("starting fragtrace top")?;
    let pid = child.id();
    // Kill our child (by pid) if anything below fails, so no full-screen top is left behind.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Ok(None) = self.0.try_wait() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let mut child = KillOnDrop(child);
    // Drain the screen output like a terminal would.
    let mut reader = master.try_clone()?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
    });
    let warmup = Duration::from_secs(3);
    std::thread::sleep(warmup);
    let (cpu0, t0) = (cpu_seconds(pid)?, Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, wall) = (cpu_seconds(pid)?, t0.elapsed().as_secs_f64());
    let rss = peak_rss_mib(pid)?;
    std::io::Write::write_all(&mut master, b"q")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.0.try_wait()?.is_none() {
        if Instant::now() > deadline {
            bail!("fragtrace top did not quit on q");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(file).ok();
    let cpu_pct = (cpu1 - cpu0) / wall * 100.0;
    let section = format!(
        "{START}\n`fragtrace top` full screen (160×48 pty), extfrag storm of 50,000 events/s replayed at recorded speed, \
         measured over {seconds} s after a {}-s warm-up — {}:\n\n\
         | metric | result | target |\n|---|---:|---:|\n\
         | CPU (one core) | {cpu_pct:.2} % | < 2 % |\n| peak RSS | {rss:.1} MiB | < 50 MiB |\n\n\
         Reproduce: `cargo xtask bench top --seconds {seconds}`\n{END}",
        warmup.as_secs(),
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim(),
    );
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## top under an extfrag storm", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
