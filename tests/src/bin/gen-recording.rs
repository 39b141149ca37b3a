//! `gen-recording`: writes a synthetic recording for the reader benchmark (`cargo xtask
//! bench`) with the library's own recorder, so the bytes are exactly what `fragtrace record`
//! writes.
//!
//! The mix imitates an incident: a handful of processes in a few cgroups failing the same
//! few (order, GFP mask, stack) shapes over and over, extfrag fallbacks from page-cache
//! and slab traffic, an occasional ring-buffer drop, a tick every recorded second and a zone
//! snapshot every five.
//!
//! With `--extfrag-only` every event is an extfrag fallback (the `top` benchmark's storm).
//!
//! Usage: gen-recording -o FILE --events N [--compress] [--extfrag-only]

use std::path::PathBuf;

use fragtrace::{
    event::{Counters, Event, Extfrag, Failure, Lost, Task},
    gfp::GfpTable,
    host::{tracefs::{EventFormat, layout::page_alloc_layout}, zones::ZoneSnapshot},
    probe_status::{KernelInfo, ProbeMode},
    record::{Recorder, RecorderOptions, RecordingHeader},
    sink::Sink,
};

const PAGE_ALLOC_FORMAT: &str = include_str!("../../../fragtrace/testdata/format/6.18-mm_page_alloc");
const EXTFRAG_FORMAT: &str = include_str!("../../../fragtrace/testdata/format/6.18-mm_page_alloc_extfrag");
const BUDDYINFO: &str = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n\
Node 0, zone    DMA32      1      1      4      2      5      4      3      3      4      2    752 \n\
Node 0, zone   Normal  19138  20402  11771   3939   1797    905    449    229    132     27     42 \n";

/// xorshift64*: deterministic, so every run writes the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("gen-recording: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut output = None;
    let mut events = 0u64;
    let mut compress = false;
    let mut extfrag_only = false;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-o" => output = args.get(i + 1).map(PathBuf::from),
            "--events" => events = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| fail("--events N")),
            "--compress" => {
                compress = true;
                i += 1;
                continue;
            }
            "--extfrag-only" => {
                extfrag_only = true;
                i += 1;
                continue;
            }
            other => fail(&format!("unknown argument {other}; usage: gen-recording -o FILE --events N [--compress]")),
        }
        i += 2;
    }
    let output = output.unwrap_or_else(|| fail("-o FILE is required"));
    let page_alloc_format = EventFormat::parse(PAGE_ALLOC_FORMAT).unwrap_or_else(|e| fail(&e.to_string()));
    let (_, page_field) = page_alloc_layout(&page_alloc_format).unwrap_or_else(|e| fail(&e.to_string()));
    let gfp = GfpTable::from_page_alloc_format(&page_alloc_format).unwrap_or_else(|e| fail(&e.to_string()));
    let header = RecordingHeader {
        fragtrace_version: env!("CARGO_PKG_VERSION").into(),
        recording_id: "bench".into(),
        part: 0,
        hostname: "bench-node".into(),
        boot_id: "bench".into(),
        start_wall_ns: 1_800_000_000_000_000_000,
        start_monotonic_ns: 1_000_000_000,
        command_line: args.clone(),
        probe_mode: ProbeMode::TpBtf,
        failure_hooks: None,
        filter: String::new(),
        kernel: KernelInfo {
            release: "6.18.0-bench".into(),
            page_alloc_format,
            extfrag_format: EventFormat::parse(EXTFRAG_FORMAT).ok(),
            page_field,
            gfp,
            pageblock_order: 9,
            page_size: 4096,
        },
        extfrag_stack_every: None,
    };
    let options = RecorderOptions { force: true, compress, ..RecorderOptions::new(&output) };
    let mut rec = Recorder::create(options, header).unwrap_or_else(|e| fail(&e.to_string()));
    let comms = ["mysqld", "java", "runc:[1:CHILD]", "kworker/u4:2", "nginx", "containerd-shim", "python3", "postgres"];
    let masks = [0x400cc0u64, 0xcc0, 0x2800, 0x140cca, 0x52800];
    let orders = [0u32, 1, 2, 3, 4, 6, 9];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ts = 1_000_000_000u64;
    let mut next_tick = ts + 1_000_000_000;
    let mut next_zones = ts;
    let mut c = Counters::default();
    for id in 0..64u32 {
        let frames: Vec<String> = (0..12).map(|d| format!("kernel_function_{}_{d}", id % 16)).collect();
        rec.stack(id, &frames).unwrap_or_else(|e| fail(&e.to_string()));
    }
    for id in 0..6u64 {
        rec.cgroup(100 + id, Some(&format!("/kubepods/burstable/pod{id}/container"))).unwrap_or_else(|e| fail(&e.to_string()));
    }
    for n in 0..events {
        // ~50 k events per recorded second: a bad incident.
        ts += 1 + rng.below(40_000);
        while ts >= next_tick {
            c.allocs_seen += 3_000_000;
            rec.tick(next_tick, &c).unwrap_or_else(|e| fail(&e.to_string()));
            next_tick += 1_000_000_000;
        }
        if ts >= next_zones {
            rec.zones(&ZoneSnapshot { ts_ns: ts, buddyinfo: BUDDYINFO.into(), pagetypeinfo: None }).unwrap_or_else(|e| fail(&e.to_string()));
            next_zones += 5_000_000_000;
        }
        let p = rng.below(8);
        let task = Task {
            ts_ns: ts,
            cpu: rng.below(2) as u32,
            pid: 1000 + p as u32 * 37 + rng.below(3) as u32,
            tgid: 1000 + p as u32 * 37,
            cgroup_id: 100 + p % 6,
            comm: comms[p as usize].into(),
        };
        let kind = if extfrag_only { 700 + rng.below(299) } else { rng.below(1000) };
        let event = match kind {
            0..=699 => {
                c.failures += 1;
                let shape = rng.below(5) as usize;
                Event::Failure(Failure { task, order: orders[(shape + p as usize) % orders.len()], gfp_mask: masks[shape], migratetype: (shape % 3) as i32, stack_id: Some((p * 8 + shape as u64) as u32 % 64), ancestry: vec![], captured_cgroup: None, hook: Default::default() })
            }
            700..=998 => {
                c.extfrag += 1;
                Event::Extfrag(Extfrag { task, alloc_order: 0, fallback_order: rng.below(11) as i32, alloc_migratetype: 0, fallback_migratetype: 1 + rng.below(2) as i32, change_ownership: rng.below(4) == 0, stack_id: None })
            }
            _ => {
                c.dropped += 10;
                Event::Lost(Lost { ts_ns: ts, count: 10 })
            }
        };
        rec.event(&event).unwrap_or_else(|e| fail(&e.to_string()));
        if n % 1_000_000 == 999_999 {
            eprint!("\rgen-recording: {} M events", (n + 1) / 1_000_000);
        }
    }
    rec.finish(&c).unwrap_or_else(|e| fail(&e.to_string()));
    eprintln!("\rgen-recording: {events} events, {} bytes → {}", rec.bytes_written(), output.display());
}
