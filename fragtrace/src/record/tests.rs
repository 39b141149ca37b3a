//! Round trips through a real file, and recovery of files cut short.

use std::path::PathBuf;

use super::{Recorder, RecordingHeader, Recording};
use crate::{
    event::{Counters, Event, Extfrag, Failure, Lost, Task},
    gfp::{GfpName, GfpTable},
    probe::{KernelInfo, ProbeMode},
    sink::Sink,
    tracefs::{EventFormat, layout::PageField},
};

fn header() -> RecordingHeader {
    RecordingHeader {
        fragtrace_version: "test".into(),
        hostname: "node-1".into(),
        boot_id: "b".into(),
        start_wall_ns: 1,
        start_monotonic_ns: 2,
        command_line: vec!["fragtrace".into(), "record".into()],
        probe_mode: ProbeMode::TpBtf,
        little_endian: true,
        kernel: KernelInfo {
            release: "6.18.0".into(),
            page_alloc_format: EventFormat { name: "mm_page_alloc".into(), id: 1, fields: vec![], print_fmt: String::new() },
            extfrag_format: None,
            page_field: PageField::Pfn,
            gfp: GfpTable { names: vec![GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() }] },
            pageblock_order: 9,
            page_size: 4096,
        },
    }
}

fn task(pid: u32) -> Task {
    Task { ts_ns: 100 + u64::from(pid), cpu: 1, pid, tgid: pid, cgroup_id: 5, comm: "mysqld".into() }
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("fragtrace-rec-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[derive(Default)]
struct Seen {
    events: Vec<Event>,
    stacks: Vec<(u32, Vec<String>)>,
}

impl Sink for Seen {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), crate::sink::SinkError> {
        self.stacks.push((id, frames.to_vec()));
        Ok(())
    }
    fn event(&mut self, e: &Event) -> Result<(), crate::sink::SinkError> {
        self.events.push(e.clone());
        Ok(())
    }
}

fn write_sample(path: &PathBuf) -> Vec<Event> {
    let events = vec![
        Event::Failure(Failure { task: task(1), order: 4, gfp_mask: 0x400cc0, migratetype: 0, stack_id: Some(3) }),
        Event::Extfrag(Extfrag { task: task(2), alloc_order: 0, fallback_order: 9, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: true }),
        Event::Lost(Lost { ts_ns: 300, count: 7 }),
        Event::Failure(Failure { task: task(3), order: 6, gfp_mask: 0x400cc0, migratetype: 0, stack_id: None }),
    ];
    let mut rec = Recorder::create(path, false, &header()).unwrap();
    rec.stack(3, &["pipe_resize_ring".into()]).unwrap();
    for e in &events {
        rec.event(e).unwrap();
    }
    rec.finish(&Counters { allocs_seen: 10, failures: 2, extfrag: 1, dropped: 7, stack_errors: 0 }).unwrap();
    events
}

#[test]
fn round_trip() {
    let path = temp("round-trip.ftr");
    let events = write_sample(&path);
    let recording = Recording::open(&path).unwrap();
    assert_eq!(recording.header, header());
    let mut seen = Seen::default();
    let stats = recording.replay(&mut [&mut seen]).unwrap();
    assert_eq!(seen.events, events);
    assert_eq!(seen.stacks, vec![(3, vec!["pipe_resize_ring".to_string()])]);
    assert!(stats.clean_end);
    assert_eq!(stats.truncated_bytes, 0);
    assert_eq!(stats.counters.dropped, 7);
    assert!(Recorder::create(&path, false, &header()).is_err(), "no overwrite without force");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn every_cut_keeps_all_complete_frames() {
    let path = temp("cut.ftr");
    write_sample(&path);
    let full = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let header_end = Recording::from_bytes(full.clone()).unwrap().body;
    let mut previous = 0;
    for len in header_end..full.len() {
        let recording = Recording::from_bytes(full[..len].to_vec()).unwrap();
        let mut seen = Seen::default();
        let stats = recording.replay(&mut [&mut seen]).unwrap();
        assert!(!stats.clean_end);
        assert!(seen.events.len() >= previous, "a longer prefix never yields fewer events");
        previous = seen.events.len();
    }
    assert_eq!(previous, 4, "the last cut loses only the end frame");
    for len in 0..header_end {
        assert!(Recording::from_bytes(full[..len].to_vec()).is_err(), "a file without its header is an error");
    }
}

#[test]
fn corruption_is_an_error() {
    let path = temp("corrupt.ftr");
    write_sample(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 0xff;
    let recording = Recording::from_bytes(bytes).unwrap();
    let err = recording.replay(&mut [&mut Seen::default()]).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
}
