//! `vm-fragment`: the guest-side driver of `cargo xtask vm-test`. It runs inside a small QEMU
//! guest (never on the host: it pins nearly all memory) and makes real fragmentation failures.
//!
//! - `pin MARGIN_MIB`: maps and mlocks anonymous memory in 4 KiB pages until only about
//!   MARGIN_MIB are free above the zones' high watermarks, then, reading each page's frame number from /proc/self/pagemap, unmaps
//!   all but one page of every physically aligned 16-page block. Free memory is then plenty,
//!   but no block of order ≥ 4 can be assembled, and with `vm.compact_unevictable_allowed = 0`
//!   compaction cannot move the pinned pages. Creates /tmp/pinned and sleeps until killed.
//! - `keyring`: `add_key("user", …)` with a 32767-byte payload, over and over: each is a
//!   `GFP_KERNEL` kmalloc of order 4 that the key keeps. The first calls use up whatever
//!   blocks of order ≥ 4 the pinning left free; then one fails, with a printed
//!   "page allocation failure: order:4" report, and the loop stops. Prints, then holds the
//!   keys until killed.
//! - `thp MIB`: touches MIB of `MADV_HUGEPAGE` memory: order-9 THP allocations fail silently
//!   (`__GFP_NOWARN`) and fall back to small pages.
//!
//! - `memcg CGROUP_DIR MIB`: joins the cgroup-v2 memory cgroup CGROUP_DIR, sets its
//!   `memory.max` a little above its usage, and resizes a pipe to MIB once: the pipe-slot
//!   array is a `GFP_KERNEL_ACCOUNT` kmalloc (order 7 for 32 MiB) whose memcg charge fails.
//!   Costly orders (> 3) never invoke the memcg OOM killer: the call just fails with ENOMEM.
//! - `add-key-once`: one more 32767-byte `add_key` (an order-4 `GFP_KERNEL` kmalloc): with
//!   `keyring` holding every block of order ≥ 4, an isolated page-allocator failure.
//!
//! Each subcommand prints one JSON line.

use std::io::{Read, Seek, SeekFrom};

const PAGE: usize = 4096;

fn fail(msg: &str) -> ! {
    eprintln!("vm-fragment: {msg}: {}", std::io::Error::last_os_error());
    std::process::exit(2);
}

fn meminfo_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_else(|_| fail("/proc/meminfo"));
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| fail(field))
}

/// Maps, locks and touches `bytes` of 4 KiB pages.
fn pinned_region(bytes: usize) -> *mut u8 {
    // SAFETY: a fresh anonymous mapping; touched within its bounds only.
    unsafe {
        let p = libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
        if p == libc::MAP_FAILED {
            fail("mmap");
        }
        libc::madvise(p, bytes, libc::MADV_NOHUGEPAGE);
        if libc::mlock(p, bytes) != 0 {
            fail("mlock");
        }
        p.cast()
    }
}

/// Free MiB above the high watermark in the zones user pages come from (all but DMA, whose
/// free pages the lowmem reserve keeps from them), from /proc/zoneinfo.
fn headroom_mib() -> i64 {
    let text = std::fs::read_to_string("/proc/zoneinfo").unwrap_or_else(|_| fail("/proc/zoneinfo"));
    let (mut headroom, mut zone, mut free) = (0i64, String::new(), 0i64);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Node", _, "zone", name, ..] => zone = name.to_string(),
            ["pages", "free", n] => free = n.parse().unwrap_or(0),
            ["high", n] if zone != "DMA" => headroom += free - n.parse::<i64>().unwrap_or(0),
            _ => {}
        }
    }
    headroom * PAGE as i64 / (1 << 20)
}

fn pin(margin_mib: u64) {
    // Stop MARGIN_MIB above the high watermark (which enabling THP raises): further down the
    // OOM killer would take the pinned pages back.
    let mut regions = Vec::new();
    // In steps that halve near the end: whatever stays free keeps its large blocks, which the
    // keyring step then uses up.
    loop {
        let headroom = headroom_mib();
        if headroom <= margin_mib as i64 + 1 {
            break;
        }
        let bytes = ((headroom as u64 - margin_mib) / 2).clamp(1, 16) as usize * (1 << 20);
        regions.push((pinned_region(bytes), bytes));
    }
    let mut pagemap = std::fs::File::open("/proc/self/pagemap").unwrap_or_else(|_| fail("/proc/self/pagemap"));
    let mut kept_blocks = std::collections::HashSet::new();
    let (mut kept, mut freed) = (0u64, 0u64);
    for (base, bytes) in &regions {
        for offset in (0..*bytes).step_by(PAGE) {
            // SAFETY: inside the region.
            let addr = unsafe { base.add(offset) } as u64;
            let mut entry = [0u8; 8];
            pagemap.seek(SeekFrom::Start(addr / PAGE as u64 * 8)).unwrap_or_else(|_| fail("pagemap seek"));
            pagemap.read_exact(&mut entry).unwrap_or_else(|_| fail("pagemap read"));
            let pfn = u64::from_le_bytes(entry) & ((1 << 55) - 1);
            if kept_blocks.insert(pfn / 16) {
                kept += 1;
            } else {
                // SAFETY: one page of our own mapping.
                if unsafe { libc::munmap(addr as *mut libc::c_void, PAGE) } != 0 {
                    fail("munmap");
                }
                freed += 1;
            }
        }
    }
    println!(
        "{{\"pinned_pages\":{kept},\"freed_pages\":{freed},\"mem_free_kib\":{}}}",
        meminfo_kib("MemFree:")
    );
    std::fs::write("/tmp/pinned", b"1").unwrap_or_else(|_| fail("/tmp/pinned"));
    loop {
        // SAFETY: pause has no preconditions; the process is killed by the scenario.
        unsafe { libc::pause() };
    }
}

fn keyring() {
    let mut added = 0u32;
    let mut errno = 0;
    while added < 2000 {
        // KEY_SPEC_PROCESS_KEYRING: the keys (and their blocks) live with this process.
        errno = add_key(&format!("fragtrace-vm-{added}"));
        if errno != 0 {
            break;
        }
        added += 1;
    }
    println!("{{\"pid\":{},\"keys_added\":{added},\"add_key_errno\":{errno}}}", std::process::id());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // Holds the keys, and the order-4 blocks they use, until killed: the later steps must
    // not find those blocks free again.
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

/// One `add_key` with a 32767-byte payload; returns its errno (0: it succeeded).
fn add_key(description: &str) -> i32 {
    let payload = vec![0x5au8; 32767];
    let description = std::ffi::CString::new(description).expect("no NUL");
    // SAFETY: add_key with NUL-terminated strings and a payload buffer of the given length.
    let rc = unsafe { libc::syscall(libc::SYS_add_key, c"user".as_ptr(), description.as_ptr(), payload.as_ptr(), payload.len(), -2i32) };
    if rc < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) } else { 0 }
}

fn add_key_once() {
    let errno = add_key(&format!("fragtrace-vm-once-{}", std::process::id()));
    println!("{{\"pid\":{},\"add_key_errno\":{errno}}}", std::process::id());
}

fn write_file(path: &str, value: &str) {
    if std::fs::write(path, value).is_err() {
        fail(path);
    }
}

fn memcg(cgroup: &str, mib: u64) {
    let mut fds = [0i32; 2];
    // SAFETY: plain syscalls on valid buffers; everything allocated before joining the
    // cgroup, and the process locked, so nothing but the resize is charged there.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            fail("pipe2");
        }
        if libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) != 0 {
            fail("mlockall");
        }
    }
    let procs = format!("{cgroup}/cgroup.procs");
    let current_path = format!("{cgroup}/memory.current");
    let max_path = format!("{cgroup}/memory.max");
    write_file(&procs, &std::process::id().to_string());
    let current: u64 = std::fs::read_to_string(&current_path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or_else(|| fail(&current_path));
    write_file(&max_path, &(current + 16 * 1024).to_string());
    // SAFETY: fcntl on our own pipe.
    let rc = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, (mib << 20) as libc::c_int) };
    let errno = if rc < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(-1) } else { 0 };
    println!("{{\"pid\":{},\"pipe_resize_errno\":{errno}}}", std::process::id());
}

fn thp(mib: usize) {
    let huge = 2usize << 20;
    let bytes = (mib << 20) + huge;
    // SAFETY: a fresh anonymous mapping; the aligned part inside it is touched once per 2 MiB.
    unsafe {
        let p = libc::mmap(std::ptr::null_mut(), bytes, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
        if p == libc::MAP_FAILED {
            fail("mmap");
        }
        let aligned = ((p as usize + huge - 1) & !(huge - 1)) as *mut u8;
        libc::madvise(aligned.cast(), mib << 20, libc::MADV_HUGEPAGE);
        for offset in (0..mib << 20).step_by(huge) {
            std::ptr::write_volatile(aligned.add(offset), 1);
        }
        libc::munmap(p, bytes);
    }
    println!("{{\"pid\":{},\"thp_touched_mib\":{mib}}}", std::process::id());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2).and_then(|a| a.parse::<u64>().ok())) {
        (Some("pin"), Some(leave)) => pin(leave),
        (Some("keyring"), None) => keyring(),
        (Some("thp"), Some(mib)) => thp(mib as usize),
        (Some("add-key-once"), None) => add_key_once(),
        (Some("memcg"), None) if args.len() == 4 => memcg(&args[2], args[3].parse().unwrap_or_else(|_| fail("bad MiB"))),
        _ => {
            eprintln!("usage: vm-fragment pin MARGIN_MIB | keyring | thp MIB | add-key-once | memcg CGROUP_DIR MIB");
            std::process::exit(2);
        }
    }
}
