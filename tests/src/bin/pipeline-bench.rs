//! `pipeline-bench EVENTS`: the userspace half of a live session on one core, without the
//! kernel: ring-buffer records (encoded exactly as the probes lay them out) → decode →
//! filter → aggregate. Prints `events_per_sec=N`. Used by `cargo xtask bench storm`, since no
//! kernel path on a test machine fails a million times a second.

use std::time::Instant;

use fragtrace::{
    aggregate::Aggregator,
    decode::{Decoded, decode_record, encode_extfrag, encode_failure},
    filter::EventFilter,
    sink::Sink,
};
use fragtrace_ebpf::{ABI_VERSION, Attribution, COMM_LEN, EventHeader, ExtfragEvent, FailureEvent, kind};

fn header(kind: u16, i: u64) -> EventHeader {
    let names: [&[u8]; 4] = [b"mysqld", b"runc:[1:CHILD]", b"kworker/u4:2", b"java"];
    let mut comm = [0u8; COMM_LEN];
    let name = names[(i % 4) as usize];
    comm[..name.len()].copy_from_slice(name);
    EventHeader { version: ABI_VERSION, kind, cpu: (i % 2) as u32, ts_ns: 1_000_000 + i, pid: 100 + (i % 9) as u32, tgid: 100, cgroup_id: 10 + i % 5, comm }
}

fn records() -> Vec<Vec<u8>> {
    (0..10_000u64)
        .map(|i| {
            if i % 10 < 6 {
                let mut attribution = Attribution { levels: 3, flags: 0, names: [[0; 128]; 6], ancestors_len: 1, _pad: 0, ancestors: Default::default() };
                for (level, name) in [&b"cri-containerd-0123456789abcdef.scope"[..], b"kubepods-burstable-pod1234.slice", b"kubepods.slice"].iter().enumerate() {
                    attribution.names[level][..name.len()].copy_from_slice(name);
                }
                encode_failure(&FailureEvent {
                    header: header(kind::FAILURE, i),
                    gfp_mask: 0x400cc0 | (i % 3),
                    order: [4, 6, 9][(i % 3) as usize],
                    migratetype: 0,
                    stack_id: (i % 7) as i32,
                    hook: 0,
                    attribution,
                })
            } else {
                encode_extfrag(&ExtfragEvent {
                    header: header(kind::EXTFRAG, i),
                    alloc_order: 0,
                    fallback_order: (i % 11) as i32,
                    alloc_migratetype: 0,
                    fallback_migratetype: 1,
                    change_ownership: (i % 2) as i32,
                    stack_id: fragtrace_ebpf::NOT_SAMPLED,
                })
            }
        })
        .collect()
}

fn main() {
    let events: u64 = match std::env::args().nth(1).map(|s| s.parse()) {
        Some(Ok(n)) if n > 0 => n,
        _ => {
            eprintln!("usage: pipeline-bench EVENTS");
            std::process::exit(2);
        }
    };
    let records = records();
    let filter = EventFilter::default();
    let mut aggregator = Aggregator::new(9, 0x2000, false);
    let started = Instant::now();
    let mut done = 0u64;
    'outer: loop {
        for bytes in &records {
            if done == events {
                break 'outer;
            }
            done += 1;
            let Ok(Decoded::Event(mut event)) = decode_record(bytes) else {
                eprintln!("pipeline-bench: record {done} did not decode");
                std::process::exit(1);
            };
            if let fragtrace::event::Event::Failure(f) = &mut event {
                // The session turns the captured path into a cgroup definition once.
                f.captured_cgroup = None;
            }
            if filter.matches_with(&event, None, None) {
                aggregator.event(&event).expect("aggregator never fails");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let snapshot = aggregator.snapshot();
    assert_eq!(snapshot.failures + snapshot.extfrag, events, "every event aggregated");
    println!("events_per_sec={:.0} events={events} seconds={secs:.3}", events as f64 / secs);
}
