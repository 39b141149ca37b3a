//! `alloc-trigger`: provokes real kernel allocation events for the end-to-end tests.
//!
//! - `pipe-resize CGROUP_DIR[,CGROUP_DIR…] MIB…`: joins the cgroup-v1 memory cgroup CGROUP_DIR (`-`: stays in its own, e.g. a container's)
//!   (and any further cgroups listed, e.g. one in the cgroup v2 hierarchy) and resizes a
//!   pipe to each size with `fcntl(F_SETPIPE_SZ)`. The pipe-slot array is a `GFP_KERNEL_ACCOUNT`
//!   large kmalloc (order 6 for 16 MiB … order 9 for 128 MiB) whose memcg charge fails in a
//!   cgroup with almost no headroom, so `mm_page_alloc` reports page == NULL once per call.
//! - `pipe-resize-child NAME CGROUP_DIR[,…] MIB…`: like `pipe-resize`, but from a child
//!   process named NAME (`prctl(PR_SET_NAME)`, e.g. `runc:[1:CHILD]`) that exits right after
//!   its failures; the parent names itself `runc` and waits. The child lives for about a
//!   millisecond: attribution must not depend on reading /proc after the fact.
//! - `eat CGROUP_DIR MIB`: joins CGROUP_DIR (a memory cgroup with a small limit and the OOM
//!   killer enabled) and touches MIB of anonymous memory, so the kernel's memcg OOM killer
//!   prints its report and kills this process (only this cgroup is affected).
//! - `storm CGROUP_DIR SECONDS MIB`: like `pipe-resize`, but one size over and over for
//!   SECONDS (a failure storm for the benchmarks); prints how many calls failed.
//! - `pipe-resize-on-signal DIR MIB…`: for a container's first process. Prepares the pipes,
//!   writes `DIR/ready`, waits for SIGUSR1 (`ctr tasks kill -s SIGUSR1`: the test lowers the
//!   container's memory limit first), resizes in the cgroup it was started in, and writes the
//!   JSON line to `DIR/result` as well as stdout.
//! - `fill-pipes MIB`: fills MIB one-MiB pipes with data (unmovable order-0 pages), beyond the
//!   free unmovable pool, so the allocator steals movable blocks (extfrag), then frees them.
//!
//! Prints one JSON line with its pid and the errno of each call. Everything that allocates is
//! done before joining the cgroup, and the process is mlocked: otherwise reclaim inside the
//! full cgroup can evict its own code, and the fault back in parks it in the v1 OOM wait.

use std::io::Write;

fn fail(msg: &str) -> ! {
    eprintln!("alloc-trigger: {msg}: {}", std::io::Error::last_os_error());
    std::process::exit(2);
}

fn new_pipe() -> [i32; 2] {
    let mut fds = [0i32; 2];
    // SAFETY: valid pointer to two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        fail("pipe2");
    }
    fds
}

fn errno_of(rc: libc::c_int) -> i32 {
    if rc < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) } else { 0 }
}

fn pipe_resize(cgroup: &str, sizes_mib: &[u64]) -> Vec<i32> {
    let pipes: Vec<[i32; 2]> = sizes_mib.iter().map(|_| new_pipe()).collect();
    // `-`: stay where we are (inside a container, whose cgroup the runtime chose).
    let procs: Vec<std::ffi::CString> = cgroup
        .split(',')
        .filter(|dir| *dir != "-")
        .map(|dir| std::ffi::CString::new(format!("{dir}/cgroup.procs")).expect("path without NUL"))
        .collect();
    let pid = std::process::id().to_string();
    // SAFETY: plain syscalls on valid, NUL-terminated buffers.
    unsafe {
        if libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) != 0 {
            fail("mlockall");
        }
        for path in &procs {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, pid.as_ptr().cast(), pid.len()) != pid.len() as isize {
                fail("joining the cgroup");
            }
            libc::close(fd);
        }
    }
    sizes_mib
        .iter()
        .zip(&pipes)
        // SAFETY: F_SETPIPE_SZ on our own pipe.
        .map(|(mib, p)| errno_of(unsafe { libc::fcntl(p[1], libc::F_SETPIPE_SZ, (mib << 20) as libc::c_int) }))
        .collect()
}

fn set_name(name: &str) {
    let name = std::ffi::CString::new(name).unwrap_or_else(|_| fail("name with NUL"));
    // SAFETY: PR_SET_NAME with a NUL-terminated buffer (the kernel copies at most 16 bytes).
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

/// Runs `pipe_resize` in a short-lived child named `name`; returns (child pid, errnos).
fn pipe_resize_child(name: &str, cgroup: &str, sizes_mib: &[u64]) -> (u32, Vec<i32>) {
    set_name("runc");
    let mut fds = [0i32; 2];
    // SAFETY: valid pointer to two ints.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        fail("pipe");
    }
    // SAFETY: the child only runs the syscalls below and _exit; it never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail("fork");
    }
    if pid == 0 {
        set_name(name);
        let errnos = pipe_resize(cgroup, sizes_mib);
        let bytes: Vec<u8> = errnos.iter().flat_map(|e| e.to_ne_bytes()).collect();
        // SAFETY: writing our own buffer to our own pipe, then leaving at once.
        unsafe {
            libc::write(fds[1], bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0);
        }
    }
    let mut buf = vec![0u8; 4 * sizes_mib.len()];
    // SAFETY: closing our copy of the write end; reading into our buffer; reaping our child.
    unsafe {
        libc::close(fds[1]);
        let mut got = 0usize;
        while got < buf.len() {
            let n = libc::read(fds[0], buf[got..].as_mut_ptr().cast(), buf.len() - got);
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    let errnos = buf.chunks_exact(4).map(|c| i32::from_ne_bytes(c.try_into().expect("4 bytes"))).collect();
    (pid as u32, errnos)
}

/// Failing pipe resizes in a tight loop; returns (failed calls, seconds).
fn storm(cgroup: &str, seconds: f64, mib: u64) -> (u64, f64) {
    // Joins the cgroup (and mlocks) through a first, failing, call.
    let first = pipe_resize(cgroup, &[mib]);
    let p = new_pipe();
    let started = std::time::Instant::now();
    let mut failed = u64::from(first[0] == libc::ENOMEM);
    while started.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            // SAFETY: F_SETPIPE_SZ on our own pipe.
            if unsafe { libc::fcntl(p[1], libc::F_SETPIPE_SZ, (mib << 20) as libc::c_int) } < 0 {
                failed += 1;
            }
        }
    }
    (failed, started.elapsed().as_secs_f64())
}

/// Waits for SIGUSR1 after announcing readiness, then resizes where the runtime put us.
fn pipe_resize_on_signal(dir: &str, sizes_mib: &[u64]) -> Vec<i32> {
    // Locked before the test squeezes the limit (and drops the cgroup's reclaimable pages):
    // faulting our own code back in at the limit would be an OOM kill, not a failed charge.
    // SAFETY: plain syscall.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
        fail("mlockall");
    }
    // SAFETY: a sigset on our stack; blocking the signal before announcing readiness so it
    // cannot arrive (and kill us with its default action) before sigwait.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        std::fs::write(format!("{dir}/ready"), std::process::id().to_string()).unwrap_or_else(|_| fail("writing ready"));
        let mut got = 0;
        libc::sigwait(&set, &mut got);
    }
    let errnos = pipe_resize("-", sizes_mib);
    let line = format!("{{\"pid\":{},\"errnos\":{:?}}}", std::process::id(), errnos);
    // The result file is written after the failures: its memory may be charged, and the
    // limit may have been raised again by then; a failed write is reported on stderr only.
    if std::fs::write(format!("{dir}/result"), &line).is_err() {
        eprintln!("alloc-trigger: could not write {dir}/result");
    }
    errnos
}

fn fill_pipes(mib: u64) -> Vec<i32> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid rlimit pointers.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    let chunk = vec![0x5au8; 1 << 20];
    let mut errors = Vec::new();
    let mut pipes = Vec::new();
    for _ in 0..mib {
        let p = new_pipe();
        // SAFETY: our own pipe; the buffer outlives the call.
        unsafe {
            errors.push(errno_of(libc::fcntl(p[1], libc::F_SETPIPE_SZ, 1 << 20)));
            let mut written = 0usize;
            while written < chunk.len() {
                let n = libc::write(p[1], chunk[written..].as_ptr().cast(), chunk.len() - written);
                if n <= 0 {
                    break;
                }
                written += n as usize;
            }
        }
        pipes.push(p);
    }
    // Closing the pipes frees every page.
    for p in pipes {
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
    errors
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Allocate stdout's buffer before anything else (see the module comment).
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"");
    if args.get(1).map(String::as_str) == Some("eat") && args.len() == 4 {
        let mib: usize = args[3].parse().unwrap_or_else(|_| fail("bad MiB"));
        let procs = format!("{}/cgroup.procs", args[2]);
        std::fs::write(&procs, std::process::id().to_string()).unwrap_or_else(|_| fail("joining the cgroup"));
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for _ in 0..mib {
            // Touch every page: the memcg charge happens on first write.
            chunks.push(vec![0x5a; 1 << 20]);
        }
        let _ = writeln!(out, "{{\"pid\":{},\"errnos\":[],\"survived\":{}}}", std::process::id(), chunks.len());
        return;
    }
    if args.get(1).map(String::as_str) == Some("storm") && args.len() == 5 {
        let seconds: f64 = args[3].parse().unwrap_or_else(|_| fail("bad SECONDS"));
        let mib: u64 = args[4].parse().unwrap_or_else(|_| fail("bad MiB"));
        let (failed, secs) = storm(&args[2], seconds, mib);
        let _ = writeln!(out, "{{\"pid\":{},\"failed\":{failed},\"seconds\":{secs:.3}}}", std::process::id());
        return;
    }
    if args.get(1).map(String::as_str) == Some("pipe-resize-child") && args.len() >= 5 {
        let sizes: Vec<u64> = args[4..].iter().map(|s| s.parse().unwrap_or_else(|_| fail("bad size"))).collect();
        let (child, errnos) = pipe_resize_child(&args[2], &args[3], &sizes);
        let _ = writeln!(out, "{{\"pid\":{},\"child_pid\":{child},\"errnos\":{:?}}}", std::process::id(), errnos);
        return;
    }
    let errnos = match args.get(1).map(String::as_str) {
        Some("pipe-resize") if args.len() >= 4 => {
            let sizes: Vec<u64> = args[3..].iter().map(|s| s.parse().unwrap_or_else(|_| fail("bad size"))).collect();
            pipe_resize(&args[2], &sizes)
        }
        Some("pipe-resize-on-signal") if args.len() >= 4 => {
            let sizes: Vec<u64> = args[3..].iter().map(|s| s.parse().unwrap_or_else(|_| fail("bad size"))).collect();
            pipe_resize_on_signal(&args[2], &sizes)
        }
        Some("fill-pipes") if args.len() == 3 => fill_pipes(args[2].parse().unwrap_or_else(|_| fail("bad MiB"))),
        _ => {
            eprintln!("usage: alloc-trigger pipe-resize CGROUP_DIR[,CGROUP_DIR…]|- MIB… | pipe-resize-on-signal DIR MIB… | fill-pipes MIB");
            std::process::exit(2);
        }
    };
    let _ = writeln!(out, "{{\"pid\":{},\"errnos\":{:?}}}", std::process::id(), errnos);
}
