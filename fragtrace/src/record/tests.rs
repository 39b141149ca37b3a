//! Round trips through real files, recovery of files cut short or damaged, rotation.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use super::{
    EndMarker, Recorder, RecorderOptions, RecordingFile, RecordingHeader, ReplayOptions, Warning, format::BLOCK_HEADER_LEN, open_all,
    part_path, replay,
};
use crate::{
    event::{Ancestor, Counters, Event, Extfrag, Failure, Lost, Task},
    gfp::{GfpName, GfpTable},
    host::{tracefs::{EventFormat, layout::PageField}, zones::ZoneSnapshot},
    probe_status::{KernelInfo, ProbeMode},
    sink::{Sink, SinkError},
};

pub(crate) fn header() -> RecordingHeader {
    RecordingHeader {
        fragtrace_version: "test".into(),
        recording_id: "r1".into(),
        part: 0,
        hostname: "node-1".into(),
        boot_id: "b".into(),
        start_wall_ns: 1_700_000_000_000_000_000,
        start_monotonic_ns: 1_000_000_000,
        command_line: vec!["fragtrace".into(), "record".into()],
        probe_mode: ProbeMode::TpBtf,
        failure_hooks: None,
        filter: String::new(),
        kernel: KernelInfo {
            release: "6.18.0".into(),
            page_alloc_format: EventFormat { name: "mm_page_alloc".into(), id: 1, fields: vec![], print_fmt: String::new() },
            extfrag_format: None,
            page_field: PageField::Pfn,
            gfp: GfpTable { names: vec![GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() }] },
            pageblock_order: 9,
            page_size: 4096,
        },
        extfrag_stack_every: None,
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("fragtrace-rec-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything a sink was given, in order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Seen {
    pub events: Vec<Event>,
    pub stacks: Vec<(u32, Vec<String>)>,
    pub cgroups: Vec<(u64, Option<String>)>,
    pub zones: Vec<ZoneSnapshot>,
    pub ticks: Vec<(u64, Counters)>,
    pub finished: Option<Counters>,
    pub alloc_probe: Vec<crate::probe_status::AllocProbeState>,
}

impl Sink for Seen {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.stacks.push((id, frames.to_vec()));
        Ok(())
    }
    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.cgroups.push((id, path.map(str::to_string)));
        Ok(())
    }
    fn event(&mut self, e: &Event) -> Result<(), SinkError> {
        self.events.push(e.clone());
        Ok(())
    }
    fn zones(&mut self, z: &ZoneSnapshot) -> Result<(), SinkError> {
        self.zones.push(z.clone());
        Ok(())
    }
    fn tick(&mut self, ts: u64, c: &Counters) -> Result<(), SinkError> {
        self.ticks.push((ts, *c));
        Ok(())
    }
    fn alloc_probe(&mut self, state: &crate::probe_status::AllocProbeState) -> Result<(), SinkError> {
        self.alloc_probe.push(*state);
        Ok(())
    }
    fn finish(&mut self, c: &Counters) -> Result<(), SinkError> {
        self.finished = Some(*c);
        Ok(())
    }
}

fn task(i: u64) -> Task {
    let comms = ["mysqld", "runc:[1:CHILD]", "kworker/u4:2", "java"];
    Task {
        ts_ns: 2_000_000_000 + i * 1000,
        cpu: (i % 2) as u32,
        pid: 100 + (i % 7) as u32,
        tgid: 100 + (i % 7) as u32,
        cgroup_id: 10 + i % 3,
        comm: comms[(i % 4) as usize].into(),
    }
}

/// Every hook in turn: tag 1 and tag 13 failures both round-trip.
fn fragtrace_hook(i: u64) -> crate::event::FailureHook {
    crate::event::FailureHook::from_code(i % 3).unwrap_or_default()
}

/// A realistic mix: mostly failures of a few shapes, some extfrag, an occasional drop.
fn sample_events(n: u64) -> Vec<Event> {
    (0..n)
        .map(|i| match i % 10 {
            0..=5 => Event::Failure(Failure { task: task(i), order: [4, 6, 9][(i % 3) as usize], gfp_mask: 0x400cc0, migratetype: 0, stack_id: Some((i % 3) as u32), ancestry: if i % 5 == 0 { vec![Ancestor { pid: 1, comm: "runc".into() }, Ancestor { pid: 0, comm: "swapper/0".into() }] } else { vec![] }, captured_cgroup: None, hook: fragtrace_hook(i) }),
            6..=8 => Event::Extfrag(Extfrag { task: task(i), alloc_order: 0, fallback_order: (i % 11) as i32, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: i % 2 == 0, stack_id: None }),
            _ => Event::Lost(Lost { ts_ns: 2_000_000_000 + i * 1000, count: 3 }),
        })
        .collect()
}

/// Writes `events` with definitions, a zone snapshot and ticks every 100 events.
fn write(options: RecorderOptions, events: &[Event]) -> Recorder {
    let mut rec = Recorder::create(options, header()).unwrap();
    for id in 0..3u32 {
        rec.stack(id, &[format!("frame_{id}"), "__alloc_pages_noprof".into()]).unwrap();
    }
    for id in 10..13u64 {
        let path = format!("/pods/{id}");
        rec.cgroup(id, (id != 12).then_some(path.as_str())).unwrap();
    }
    rec.zones(&ZoneSnapshot { ts_ns: 1_999_999_999, buddyinfo: "Node 0, zone Normal 1 2 3\n".into(), pagetypeinfo: Some("pti".into()) }).unwrap();
    for state in gate_changes() {
        rec.alloc_probe(&state).unwrap();
    }
    for (i, e) in events.iter().enumerate() {
        rec.event(e).unwrap();
        if i % 100 == 99 {
            rec.tick(e.ts_ns(), &Counters { allocs_seen: i as u64, ..Default::default() }).unwrap();
        }
    }
    rec.finish(&Counters { allocs_seen: 1_000_000, failures: 6, extfrag: 3, dropped: 9, stack_errors: 0, stalls: 2, ooms: 1, slow_path: 0 }).unwrap();
    rec
}

/// Idle at the start, attached by memcg reclaim, detached again.
fn gate_changes() -> Vec<crate::probe_status::AllocProbeState> {
    use crate::probe_status::{AllocProbeState, ArmReason};
    vec![
        AllocProbeState { attached: false, reason: None, since_ns: 1_000_000_000 },
        AllocProbeState { attached: true, reason: Some(ArmReason::MemcgReclaim), since_ns: 1_500_000_000 },
        AllocProbeState { attached: false, reason: None, since_ns: 1_900_000_000 },
    ]
}

fn read_all(paths: &[PathBuf], options: &ReplayOptions) -> (Seen, super::ReplayReport) {
    let files = open_all(paths).unwrap();
    let mut seen = Seen::default();
    let report = replay(&files, options, &mut [&mut seen]).unwrap();
    (seen, report)
}

fn small_blocks(path: &Path, compress: bool) -> RecorderOptions {
    RecorderOptions { compress, block_bytes: 2048, ..RecorderOptions::new(path) }
}

#[test]
fn round_trip_across_blocks_with_and_without_compression() {
    let dir = TempDir::new("round-trip");
    let events = sample_events(5000);
    for compress in [false, true] {
        let path = dir.file(&format!("c{compress}.ftr"));
        let rec = write(small_blocks(&path, compress), &events);
        assert_eq!(rec.events_written(), 5000);
        let (seen, report) = read_all(std::slice::from_ref(&path), &ReplayOptions::default());
        assert_eq!(seen.events, events, "compress={compress}");
        assert_eq!(seen.stacks.len(), 3, "each stack is delivered once although every block defines it");
        assert_eq!(seen.stacks[0].1, vec!["frame_0".to_string(), "__alloc_pages_noprof".into()]);
        let mut cgroups = seen.cgroups.clone();
        cgroups.sort();
        assert_eq!(cgroups, vec![(10, Some("/pods/10".into())), (11, Some("/pods/11".into())), (12, None)]);
        assert_eq!(seen.zones.len(), 1);
        assert_eq!(seen.zones[0].pagetypeinfo.as_deref(), Some("pti"));
        assert_eq!(seen.alloc_probe, gate_changes(), "per-allocation probe changes round-trip");
        assert_eq!(seen.ticks.len(), 50);
        assert_eq!(seen.finished.unwrap().dropped, 9);
        assert!(report.clean_end && report.warnings.is_empty(), "{:?}", report.warnings);
        assert_eq!(report.events, 5000);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let plain = std::fs::metadata(dir.file("cfalse.ftr")).unwrap().len();
    let zstd = std::fs::metadata(dir.file("ctrue.ftr")).unwrap().len();
    assert!(zstd * 2 < plain, "compression should pay off on a realistic mix: {zstd} vs {plain}");
}

#[test]
fn no_overwrite_without_force_and_force_removes_stale_parts() {
    let dir = TempDir::new("force");
    let path = dir.file("t.ftr");
    write(RecorderOptions::new(&path), &sample_events(10));
    let err = Recorder::create(RecorderOptions::new(&path), header()).err().expect("refuses to overwrite");
    assert!(err.to_string().contains("--force"), "{err}");
    std::fs::write(part_path(&path, 1), b"stale").unwrap();
    std::fs::write(part_path(&path, 2), b"stale").unwrap();
    let mut rotating = RecorderOptions::new(&path);
    rotating.max_size = Some(1 << 20);
    rotating.force = false;
    std::fs::remove_file(&path).unwrap();
    assert!(Recorder::create(rotating.clone(), header()).is_err(), "a stale FILE.1 would be mixed into this recording");
    rotating.force = true;
    write(rotating, &sample_events(10));
    assert!(!part_path(&path, 1).exists() && !part_path(&path, 2).exists());
}

#[test]
fn every_cut_keeps_every_complete_block() {
    let dir = TempDir::new("cut");
    let path = dir.file("t.ftr");
    let events = sample_events(600);
    write(small_blocks(&path, true), &events);
    let full = std::fs::read(&path).unwrap();
    let header_end = RecordingFile::open(&path).unwrap().body_offset();
    let cut_path = dir.file("cut.ftr");
    let mut previous = 0;
    for len in (header_end as usize..full.len()).step_by(7).chain([full.len() - 1]) {
        std::fs::write(&cut_path, &full[..len]).unwrap();
        let (seen, report) = read_all(std::slice::from_ref(&cut_path), &ReplayOptions::default());
        assert!(!report.clean_end);
        assert!(seen.events.len() >= previous, "a longer prefix never yields fewer events");
        assert_eq!(seen.events[..], events[..seen.events.len()], "events are an exact prefix");
        previous = seen.events.len();
        match report.warnings.as_slice() {
            [Warning::Truncated { bytes, offset, .. }] => assert_eq!(*offset + *bytes, len as u64),
            [Warning::Interrupted { .. }] => {}
            other => panic!("cut at {len}: {other:?}"),
        }
        let strict = ReplayOptions { strict: true, ..Default::default() };
        let files = open_all(std::slice::from_ref(&cut_path)).unwrap();
        let err = replay(&files, &strict, &mut [&mut Seen::default()]).unwrap_err();
        assert!(err.to_string().contains("--strict"), "{err}");
    }
    assert_eq!(previous, events.len(), "cutting off only the end block loses no event");
    for len in 0..header_end as usize {
        std::fs::write(&cut_path, &full[..len]).unwrap();
        let err = RecordingFile::open(&cut_path).err().expect("no header, no recording");
        assert!(err.to_string().contains("cut.ftr"), "names the file: {err}");
    }
}

/// Offsets of every block after the header, from the framing.
fn block_offsets(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = RecordingFile::open(path).unwrap().body_offset() as usize;
    let mut offsets = Vec::new();
    while at + BLOCK_HEADER_LEN <= bytes.len() {
        offsets.push(at as u64);
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += BLOCK_HEADER_LEN + len;
    }
    offsets
}

#[test]
fn a_damaged_block_is_skipped_and_reading_resumes() {
    let dir = TempDir::new("damage");
    let path = dir.file("t.ftr");
    let events = sample_events(3000);
    write(small_blocks(&path, true), &events);
    let offsets = block_offsets(&path);
    assert!(offsets.len() > 6, "want several blocks, got {}", offsets.len());
    let victim = offsets[offsets.len() / 2];
    let flip = |at: u64| move |bytes: &mut Vec<u8>| bytes[at as usize] ^= 0x5a;
    let delete = |at: u64| move |bytes: &mut Vec<u8>| drop(bytes.drain(at as usize..at as usize + 10));
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damages: [(&str, Damage); 4] = [
        ("payload", Box::new(flip(victim + BLOCK_HEADER_LEN as u64 + 5))),
        ("length", Box::new(flip(victim + 9))),
        ("sync", Box::new(flip(victim))),
        ("deleted bytes", Box::new(delete(victim + BLOCK_HEADER_LEN as u64 + 5))),
    ];
    for (what, damage) in damages {
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes);
        let damaged = dir.file(&format!("{what}.ftr"));
        std::fs::write(&damaged, &bytes).unwrap();
        let (seen, report) = read_all(std::slice::from_ref(&damaged), &ReplayOptions::default());
        let [Warning::Damaged { offset, skipped, .. }] = report.warnings.as_slice() else {
            panic!("{what}: {:?}", report.warnings)
        };
        assert_eq!(*offset, victim, "{what}: the warning names the damaged block");
        let shift = if what == "deleted bytes" { 10 } else { 0 };
        let next = offsets[offsets.len() / 2 + 1] - shift;
        assert_eq!(offset + skipped, next, "{what}: resumes at the next block");
        assert!(report.clean_end, "{what}: the end marker after the damage is still read");
        let lost = events.len() - seen.events.len();
        assert!(lost > 0 && lost < 200, "{what}: only the damaged block's events are lost ({lost})");
        assert_eq!(seen.events.last(), events.last(), "{what}: events after the damage are read");
        let files = open_all(&[damaged]).unwrap();
        let strict = ReplayOptions { strict: true, ..Default::default() };
        assert!(replay(&files, &strict, &mut [&mut Seen::default()]).is_err(), "{what}: --strict fails");
    }
}

#[test]
fn bad_files_are_one_line_errors_naming_the_file() {
    let dir = TempDir::new("bad");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("empty.ftr", vec![], "empty"),
        ("text.ftr", b"hello, this is not a trace\n".to_vec(), "not a fragtrace recording"),
        ("newer.ftr", [&b"FRAGTRCE"[..], &99u32.to_le_bytes(), &[0; 4]].concat(), "newer"),
        ("flags.ftr", [&b"FRAGTRCE"[..], &2u32.to_le_bytes(), &[1, 0, 0, 0]].concat(), "flags 0x1"),
        ("v1.ftr", [&b"FRAGTRCE"[..], &1u32.to_le_bytes(), &[0; 4]].concat(), "pre-release"),
        ("headless.ftr", [&b"FRAGTRCE"[..], &2u32.to_le_bytes(), &[0; 4], &[7; 40]].concat(), "header"),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.file(name);
        std::fs::write(&path, bytes).unwrap();
        let err = RecordingFile::open(&path).err().expect(name).to_string();
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    let err = RecordingFile::open(&dir.file("missing.ftr")).err().unwrap().to_string();
    assert!(err.contains("missing.ftr") && err.contains("No such file"), "{err}");
    let err = RecordingFile::open(Path::new("/dev/null")).err().unwrap().to_string();
    assert!(err.contains("/dev/null: not a regular file"), "{err}");
}

#[test]
fn a_zero_filled_tail_is_a_truncation_and_appended_bytes_are_reported() {
    let dir = TempDir::new("tail");
    let path = dir.file("t.ftr");
    let events = sample_events(300);
    write(small_blocks(&path, false), &events);
    let mut bytes = std::fs::read(&path).unwrap();
    let end_block = *block_offsets(&path).last().unwrap();
    bytes.truncate(end_block as usize);
    bytes.extend_from_slice(&[0u8; 4096]);
    let zeroed = dir.file("zeroed.ftr");
    std::fs::write(&zeroed, &bytes).unwrap();
    let (seen, report) = read_all(&[zeroed], &ReplayOptions::default());
    assert_eq!(seen.events, events);
    assert!(matches!(report.warnings.as_slice(), [Warning::Truncated { bytes: 4096, .. }]), "{:?}", report.warnings);
    let mut appended = std::fs::read(&path).unwrap();
    let clean_len = appended.len() as u64;
    appended.extend_from_slice(b"junk after the end");
    let junk = dir.file("junk.ftr");
    std::fs::write(&junk, &appended).unwrap();
    let (seen, report) = read_all(&[junk], &ReplayOptions::default());
    assert_eq!(seen.events, events);
    assert_eq!(report.warnings, vec![Warning::TrailingData { file: dir.file("junk.ftr"), offset: clean_len, bytes: 18 }]);
}

#[test]
fn recordings_are_not_mixed_and_a_part_given_twice_is_read_once() {
    let dir = TempDir::new("mixed");
    let a = dir.file("a.ftr");
    let b = dir.file("b.ftr");
    write(RecorderOptions::new(&a), &sample_events(50));
    let mut other = header();
    other.recording_id = "r2".into();
    let mut rec = Recorder::create(RecorderOptions::new(&b), other).unwrap();
    rec.finish(&Counters::default()).unwrap();
    let err = open_all(&[a.clone(), b]).err().expect("mixed recordings are refused").to_string();
    assert!(err.contains("2 different recordings") && err.contains("a.ftr") && err.contains("b.ftr"), "{err}");
    let (seen, report) = read_all(&[a.clone(), a.clone()], &ReplayOptions::default());
    assert_eq!(seen.events.len(), 50, "read once");
    assert_eq!(report.warnings, vec![Warning::DuplicatePart { file: a.clone(), same_as: a }]);
}

#[test]
fn force_replaces_links_and_old_modes_and_every_stale_part() {
    let dir = TempDir::new("force-links");
    let target = dir.file("precious");
    std::fs::write(&target, b"do not touch").unwrap();
    let path = dir.file("t.ftr");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    write(RecorderOptions { force: true, ..RecorderOptions::new(&path) }, &sample_events(5));
    assert_eq!(std::fs::read(&target).unwrap(), b"do not touch", "--force never writes through a symlink");
    assert!(!std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Parts left with a gap by an earlier --keep run.
    for stale in [6, 9] {
        std::fs::write(part_path(&path, stale), b"stale").unwrap();
    }
    let rotating = RecorderOptions { max_size: Some(1 << 20), ..RecorderOptions::new(&path) };
    let err = Recorder::create(rotating.clone(), header()).err().expect("stale parts are refused without --force");
    assert!(err.to_string().contains("t.ftr."), "{err}");
    write(RecorderOptions { force: true, ..rotating }, &sample_events(5));
    assert!(!part_path(&path, 6).exists() && !part_path(&path, 9).exists(), "every stale part is removed");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn oversized_snapshots_are_capped_and_the_block_stays_readable() {
    let dir = TempDir::new("huge");
    let path = dir.file("t.ftr");
    let mut rec = Recorder::create(RecorderOptions::new(&path), header()).unwrap();
    let huge = "x".repeat(5 << 20);
    rec.zones(&ZoneSnapshot { ts_ns: 1, buddyinfo: "Node 0, zone Normal 1\n".into(), pagetypeinfo: Some(huge) }).unwrap();
    let events = sample_events(20);
    for e in &events {
        rec.event(e).unwrap();
    }
    rec.finish(&Counters::default()).unwrap();
    let (seen, report) = read_all(&[path], &ReplayOptions::default());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(seen.events, events, "events after a huge snapshot are kept");
    let pti = seen.zones[0].pagetypeinfo.as_deref().unwrap();
    assert!(pti.len() < 2 << 20 && pti.ends_with("bytes]\n"), "cut with a marker");
}

#[test]
fn finishing_never_starts_an_empty_part() {
    let dir = TempDir::new("finish");
    let path = dir.file("t.ftr");
    // ~45 KB of events stay in one unsealed 64 KiB block; sealing it at finish crosses the
    // 16 KiB max size, which must not open an empty FILE.1.
    let options = RecorderOptions { max_size: Some(16 * 1024), ..RecorderOptions::new(&path) };
    let mut rec = Recorder::create(options, header()).unwrap();
    for e in sample_events(3000) {
        rec.event(&e).unwrap();
    }
    assert_eq!(rec.part(), 0);
    rec.finish(&Counters::default()).unwrap();
    assert!(rec.bytes_written() > 16 * 1024, "the test must cross the max size");
    assert_eq!(rec.part(), 0);
    assert!(!part_path(&path, 1).exists());
}

#[test]
fn rotation_writes_self_contained_parts_read_back_in_order() {
    let dir = TempDir::new("rotate");
    let path = dir.file("t.ftr");
    let events = sample_events(4000);
    let options = RecorderOptions { max_size: Some(16 * 1024), ..small_blocks(&path, false) };
    let rec = write(options, &events);
    let parts = rec.part() + 1;
    assert!(parts >= 4, "expected several parts, got {parts}");
    let mut paths: Vec<PathBuf> = (0..parts).map(|p| part_path(&path, p)).collect();
    for p in &paths {
        assert!(std::fs::metadata(p).unwrap().len() < 16 * 1024 + 4096, "{} exceeds --max-size by more than a block", p.display());
    }
    paths.reverse();
    let (seen, report) = read_all(&paths, &ReplayOptions::default());
    assert_eq!(seen.events, events, "given in any order, parts are read in part order");
    assert!(report.clean_end && report.warnings.is_empty(), "{:?}", report.warnings);
    // Each part alone is a readable recording with the stacks its events use.
    let (alone, report) = read_all(&[part_path(&path, 2)], &ReplayOptions::default());
    assert!(!alone.events.is_empty() && !alone.stacks.is_empty());
    assert_eq!(report.warnings, vec![Warning::MissingParts { recording_id: "r1".into(), missing: vec![3] }]);
    // A missing middle part is named.
    let without: Vec<PathBuf> = (0..parts).filter(|p| *p != 1).map(|p| part_path(&path, p)).collect();
    let (_, report) = read_all(&without, &ReplayOptions::default());
    assert_eq!(report.warnings, vec![Warning::MissingParts { recording_id: "r1".into(), missing: vec![1] }]);
}

#[test]
fn keep_deletes_the_oldest_parts() {
    let dir = TempDir::new("keep");
    let path = dir.file("t.ftr");
    let options = RecorderOptions { max_size: Some(16 * 1024), keep: Some(2), ..small_blocks(&path, false) };
    let rec = write(options, &sample_events(4000));
    let last = rec.part();
    assert!(last >= 3);
    let existing: Vec<u32> = (0..=last).filter(|p| part_path(&path, *p).exists()).collect();
    assert_eq!(existing, vec![last - 1, last]);
    let (seen, report) = read_all(&[part_path(&path, last - 1), part_path(&path, last)], &ReplayOptions::default());
    assert!(report.warnings.is_empty(), "a deleted oldest part is expected, not a gap: {:?}", report.warnings);
    assert!(!seen.events.is_empty());
    // Asking for FILE itself, deleted by --keep, names the parts that are left.
    let err = open_all(std::slice::from_ref(&path)).map(|_| ()).unwrap_err().to_string();
    let left = format!("{} {}", part_path(&path, last - 1).display(), part_path(&path, last).display());
    assert!(err.contains("later parts of it are there") && err.ends_with(&left), "{err}");
}

#[test]
fn the_time_window_selects_events() {
    let dir = TempDir::new("window");
    let path = dir.file("t.ftr");
    let events = sample_events(1000);
    write(small_blocks(&path, true), &events);
    let h = header();
    // Events are at monotonic 2 s + i µs; the recording started at monotonic 1 s.
    let since = h.wall_ns(2_000_100_000);
    let until = h.wall_ns(2_000_200_000);
    let (seen, _) = read_all(&[path], &ReplayOptions { since_wall_ns: Some(since), until_wall_ns: Some(until), ..Default::default() });
    assert_eq!(seen.events.len(), 100);
    assert_eq!(seen.events[0], events[100]);
}

#[test]
fn end_marker_round_trips() {
    let json = serde_json::to_string(&EndMarker { counters: Counters { dropped: 3, ..Default::default() }, events: 5, continued: true }).unwrap();
    let back: EndMarker = serde_json::from_str(&json).unwrap();
    assert!(back.continued && back.events == 5 && back.counters.dropped == 3);
}

/// A file claiming more stacks, deeper stacks or more cgroups than a live session can make
/// costs the reader no more than a real one.
#[test]
fn hostile_definition_counts_are_bounded_on_replay() {
    let dir = TempDir::new("definitions");
    let path = dir.file("t.ftr");
    let mut rec = Recorder::create(RecorderOptions::new(&path), header()).unwrap();
    let deep: Vec<String> = (0..500).map(|i| format!("f{i}")).collect();
    rec.stack(0, &deep).unwrap();
    let n = super::replay::MAX_STACKS as u32 + 5_000;
    for id in 1..n {
        rec.stack(id, &["x".to_string()]).unwrap();
    }
    // The writer stores the definitions its events refer to: one event per stack.
    for id in 0..n {
        let f = Failure { task: task(u64::from(id)), order: 4, gfp_mask: 0xcc0, migratetype: 0, stack_id: Some(id), ancestry: vec![], captured_cgroup: None, hook: Default::default() };
        rec.event(&Event::Failure(f)).unwrap();
    }
    rec.finish(&Counters::default()).unwrap();
    let (seen, _) = read_all(&[path], &ReplayOptions::default());
    assert_eq!(seen.stacks.len(), super::replay::MAX_STACKS, "stack definitions beyond the bound are not kept");
    assert_eq!(seen.stacks[0].1.len(), 127, "frames beyond PERF_MAX_STACK_DEPTH are cut");
    assert_eq!(seen.events.len(), n as usize, "events are unaffected");
}

#[test]
fn replay_feeds_the_shared_definitions_that_json_lines_looks_up() {
    let dir = TempDir::new("shared-definitions");
    let path = dir.file("defs.ftr");
    let events = sample_events(10);
    write(RecorderOptions::new(&path), &events);
    let files = open_all(std::slice::from_ref(&path)).unwrap();
    let mut out = Vec::new();
    {
        let mut json = crate::view::json::JsonLines::new(&mut out, header().kernel.gfp, 9);
        replay(&files, &ReplayOptions::default(), &mut [&mut json]).unwrap();
    }
    let first: serde_json::Value = serde_json::from_slice(out.split(|b| *b == b'\n').next().unwrap()).unwrap();
    // sample_events(10)[0]: a failure in cgroup 10 with stack 0.
    assert_eq!(first["cgroup"], "/pods/10");
    assert_eq!(first["stack"], serde_json::json!(["frame_0", "__alloc_pages_noprof"]));
}

/// The pageblock census of a recording comes from the zone records' pagetypeinfo, which
/// every recording made as root carries: no record kind of its own, so files written before
/// the census existed have one too, and older readers read new files unchanged.
#[test]
fn a_recording_replays_into_a_pageblock_census_with_its_growth() {
    let dir = TempDir::new("census");
    let path = dir.file("census.ftr");
    let table = |unmovable: u64, reclaimable: u64| {
        format!(
            "Page block order: 9\nPages per block:  512\n\nNumber of blocks type     Unmovable      Movable  Reclaimable   HighAtomic      Isolate \n\
             Node 0, zone   Normal {unmovable:>12} {:>12} {reclaimable:>12}            0            0 \n",
            8000 - unmovable - reclaimable
        )
    };
    let mut rec = Recorder::create(RecorderOptions::new(&path), header()).unwrap();
    let hour = 3_600_000_000_000;
    for (i, (u, r)) in [(200, 300), (203, 300), (212, 306)].into_iter().enumerate() {
        let ts_ns = 1_000_000_000 + i as u64 * hour;
        rec.zones(&ZoneSnapshot { ts_ns, buddyinfo: "Node 0, zone Normal 1 2 3\n".into(), pagetypeinfo: Some(table(u, r)) }).unwrap();
    }
    rec.zones(&ZoneSnapshot { ts_ns: 1_000_000_000 + 3 * hour, buddyinfo: "Node 0, zone Normal 1 2 3\n".into(), pagetypeinfo: None }).unwrap();
    rec.finish(&Counters::default()).unwrap();
    let files = open_all(std::slice::from_ref(&path)).unwrap();
    let mut aggregator = crate::aggregate::Aggregator::new(9, 0, false);
    replay(&files, &ReplayOptions::default(), &mut [&mut aggregator]).unwrap();
    let census = aggregator.snapshot().pageblocks;
    assert_eq!(census.len(), 1);
    let z = &census[0];
    assert_eq!((z.first.count("Unmovable"), z.last.count("Unmovable")), (Some(200), Some(212)));
    assert_eq!((z.growth("Unmovable"), z.growth("Reclaimable"), z.pinned_growth()), (12, 6, 18));
    assert_eq!(z.per_hour(z.pinned_growth()), Some(9.0), "18 blocks over the 2 h between the first and last readable sample");
}
