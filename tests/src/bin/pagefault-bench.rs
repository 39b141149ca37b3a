//! `pagefault-bench SECONDS [MIB]`: the page-fault microbenchmark of `cargo xtask bench
//! overhead`. Maps an anonymous region (default 64 MiB), touches one byte per 4 KiB page,
//! unmaps it, and repeats for SECONDS; prints `pages_per_sec=N pages=N seconds=F`.
//!
//! Each touch is one page fault and one order-0 page allocation (THP is switched off for the
//! region with MADV_NOHUGEPAGE, so no order-9 allocation replaces 512 small ones): the hottest
//! path a `kmem:mm_page_alloc` tracer sits on.

use std::time::{Duration, Instant};

const PAGE: usize = 4096;

fn fail(msg: &str) -> ! {
    eprintln!("pagefault-bench: {msg}: {}", std::io::Error::last_os_error());
    std::process::exit(2);
}

/// One pass: map, touch every page, unmap. Returns the pages touched.
fn one_pass(bytes: usize) -> u64 {
    // SAFETY: anonymous private mapping; every access below stays inside it, and it is unmapped
    // before returning.
    unsafe {
        let region = libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if region == libc::MAP_FAILED {
            fail("mmap");
        }
        // Not fatal: a kernel without THP has nothing to switch off.
        libc::madvise(region, bytes, libc::MADV_NOHUGEPAGE);
        let base = region.cast::<u8>();
        let mut offset = 0;
        while offset < bytes {
            std::ptr::write_volatile(base.add(offset), 1);
            offset += PAGE;
        }
        if libc::munmap(region, bytes) != 0 {
            fail("munmap");
        }
    }
    (bytes / PAGE) as u64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: pagefault-bench SECONDS [MIB]";
    let seconds: f64 = match args.first().map(|s| s.parse()) {
        Some(Ok(s)) if s > 0.0 => s,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let mib: usize = match args.get(1).map(|s| s.parse()) {
        None => 64,
        Some(Ok(m)) if m > 0 => m,
        Some(_) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let bytes = mib << 20;
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut pages = 0u64;
    while started.elapsed() < budget {
        pages += one_pass(bytes);
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("pages_per_sec={:.0} pages={pages} seconds={elapsed:.3}", pages as f64 / elapsed);
}
