//! Decode stage: ring-buffer bytes → typed events, with length and version checks.
//! Fields are read one by one from their `#[repr(C)]` offsets; raw bytes are never
//! transmuted.

use std::mem::{offset_of, size_of};

use fragtrace_ebpf::{
    ABI_VERSION, ANCESTORS, ATTR_TRUNCATED, Ancestor as RawAncestor, Attribution, CGROUP_LEVELS, CGROUP_NAME_LEN, COMM_LEN, EventHeader,
    ExtfragEvent, FailureEvent, OomEvent, SlowPathEvent, StallEvent, kind, stall,
};
use thiserror::Error;

use crate::event::{Ancestor, EXTFRAG_STACK_BIT, Event, Extfrag, Failure, FailureHook, OomKill, Stall, StallKind, Task};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {got} bytes is shorter than the {need}-byte {what}")]
    Short { what: &'static str, need: usize, got: usize },
    #[error("record ABI version {0}, this fragtrace understands {ABI_VERSION}")]
    Version(u16),
    #[error("unknown record kind {0}")]
    UnknownKind(u16),
}

/// Little helper over a byte slice whose length has already been checked.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u16(&self, at: usize) -> u16 {
        u16::from_ne_bytes([self.0[at], self.0[at + 1]])
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_ne_bytes(self.0[at..at + 4].try_into().expect("4 bytes"))
    }
    fn i32(&self, at: usize) -> i32 {
        self.u32(at) as i32
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_ne_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }
}

fn need(what: &'static str, bytes: &[u8], size: usize) -> Result<(), DecodeError> {
    if bytes.len() < size {
        Err(DecodeError::Short { what, need: size, got: bytes.len() })
    } else {
        Ok(())
    }
}

/// Task name from a NUL-padded buffer; invalid UTF-8 is replaced and control characters are
/// escaped so a hostile name cannot drive the terminal.
pub fn comm_from_bytes(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let raw = &raw[..end];
    // Hot path (every event): printable ASCII is copied as is, one allocation.
    if raw.iter().all(|b| (0x20..0x7f).contains(b))
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return text.to_string();
    }
    crate::text::printable(&String::from_utf8_lossy(raw)).into_owned()
}

fn task(r: &Reader<'_>) -> Task {
    let comm_at = offset_of!(EventHeader, comm);
    Task {
        ts_ns: r.u64(offset_of!(EventHeader, ts_ns)),
        cpu: r.u32(offset_of!(EventHeader, cpu)),
        pid: r.u32(offset_of!(EventHeader, pid)),
        tgid: r.u32(offset_of!(EventHeader, tgid)),
        cgroup_id: r.u64(offset_of!(EventHeader, cgroup_id)),
        comm: comm_from_bytes(&r.0[comm_at..comm_at + COMM_LEN]),
    }
}

/// The kernel-captured memory-cgroup path: directory names leaf first, joined root first.
/// A name that is not valid UTF-8 is escaped like a comm. `None` when nothing was captured.
fn captured_cgroup(r: &Reader<'_>) -> Option<String> {
    let base = offset_of!(FailureEvent, attribution);
    let levels = (r.u32(base + offset_of!(Attribution, levels)) as usize).min(CGROUP_LEVELS);
    if levels == 0 {
        return None;
    }
    let flags = r.u32(base + offset_of!(Attribution, flags));
    let names_at = base + offset_of!(Attribution, names);
    let mut path = String::new();
    if flags & ATTR_TRUNCATED != 0 {
        path.push_str("/…");
    }
    for level in (0..levels).rev() {
        let at = names_at + level * CGROUP_NAME_LEN;
        path.push('/');
        path.push_str(&comm_from_bytes(&r.0[at..at + CGROUP_NAME_LEN]));
    }
    Some(path)
}

fn ancestry(r: &Reader<'_>) -> Vec<Ancestor> {
    let base = offset_of!(FailureEvent, attribution);
    let n = (r.u32(base + offset_of!(Attribution, ancestors_len)) as usize).min(ANCESTORS);
    let at = base + offset_of!(Attribution, ancestors);
    (0..n)
        .map(|i| {
            let a = at + i * size_of::<RawAncestor>();
            let comm_at = a + offset_of!(RawAncestor, comm);
            Ancestor { pid: r.u32(a + offset_of!(RawAncestor, tgid)), comm: comm_from_bytes(&r.0[comm_at..comm_at + COMM_LEN]) }
        })
        .collect()
}

/// A ring-buffer record: an event for the sinks, or a control record for the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    Event(Event),
    /// The allocator's slow path was entered while `mm_page_alloc` was detached; the reason
    /// is `SlowPathEvent::reason` (see [`crate::probe_status::ArmReason::from_kernel`]).
    SlowPath { ts_ns: u64, reason: u32 },
}

/// Decodes one ring-buffer record, control records included.
pub fn decode_record(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    need("event header", bytes, size_of::<EventHeader>())?;
    let r = Reader(bytes);
    if r.u16(offset_of!(EventHeader, version)) == ABI_VERSION && r.u16(offset_of!(EventHeader, kind)) == kind::SLOW_PATH {
        need("slow-path record", bytes, size_of::<SlowPathEvent>())?;
        return Ok(Decoded::SlowPath {
            ts_ns: r.u64(offset_of!(EventHeader, ts_ns)),
            reason: r.u32(offset_of!(SlowPathEvent, reason)),
        });
    }
    decode(bytes).map(Decoded::Event)
}

/// Decodes one ring-buffer event record.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    need("event header", bytes, size_of::<EventHeader>())?;
    let r = Reader(bytes);
    let version = r.u16(offset_of!(EventHeader, version));
    if version != ABI_VERSION {
        return Err(DecodeError::Version(version));
    }
    match r.u16(offset_of!(EventHeader, kind)) {
        kind::FAILURE => {
            need("failure record", bytes, size_of::<FailureEvent>())?;
            let stack_id = r.i32(offset_of!(FailureEvent, stack_id));
            Ok(Event::Failure(Failure {
                task: task(&r),
                order: r.u32(offset_of!(FailureEvent, order)),
                gfp_mask: r.u64(offset_of!(FailureEvent, gfp_mask)),
                migratetype: r.i32(offset_of!(FailureEvent, migratetype)),
                // NO_STACK and any other negative value (a kernel error code) mean no stack.
                stack_id: u32::try_from(stack_id).ok(),
                ancestry: ancestry(&r),
                captured_cgroup: captured_cgroup(&r),
                hook: FailureHook::from_kernel(r.u32(offset_of!(FailureEvent, hook))),
            }))
        }
        kind::EXTFRAG => {
            need("extfrag record", bytes, size_of::<ExtfragEvent>())?;
            Ok(Event::Extfrag(Extfrag {
                task: task(&r),
                alloc_order: r.i32(offset_of!(ExtfragEvent, alloc_order)),
                fallback_order: r.i32(offset_of!(ExtfragEvent, fallback_order)),
                alloc_migratetype: r.i32(offset_of!(ExtfragEvent, alloc_migratetype)),
                fallback_migratetype: r.i32(offset_of!(ExtfragEvent, fallback_migratetype)),
                change_ownership: r.i32(offset_of!(ExtfragEvent, change_ownership)) != 0,
                // NO_STACK, NOT_SAMPLED and kernel error codes are negative: no stack.
                stack_id: u32::try_from(r.i32(offset_of!(ExtfragEvent, stack_id))).ok().map(|id| id | EXTFRAG_STACK_BIT),
            }))
        }
        kind::STALL => {
            need("stall record", bytes, size_of::<StallEvent>())?;
            let stall_kind = match r.u32(offset_of!(StallEvent, stall_kind)) {
                stall::RECLAIM => StallKind::Reclaim,
                stall::COMPACTION => StallKind::Compaction,
                stall::MEMCG_RECLAIM => StallKind::MemcgReclaim,
                other => return Err(DecodeError::UnknownKind(other as u16)),
            };
            Ok(Event::Stall(Stall {
                task: task(&r),
                kind: stall_kind,
                order: r.i32(offset_of!(StallEvent, order)),
                gfp_mask: r.u64(offset_of!(StallEvent, gfp_mask)),
                duration_ns: r.u64(offset_of!(StallEvent, duration_ns)),
                result: r.u64(offset_of!(StallEvent, result)) as i64,
            }))
        }
        kind::OOM => {
            need("OOM record", bytes, size_of::<OomEvent>())?;
            let at = offset_of!(OomEvent, victim_comm);
            Ok(Event::Oom(OomKill {
                task: task(&r),
                victim_pid: r.u32(offset_of!(OomEvent, victim_pid)),
                victim_comm: comm_from_bytes(&r.0[at..at + COMM_LEN]),
                anon_rss_kb: r.u64(offset_of!(OomEvent, anon_rss_kb)),
            }))
        }
        other => Err(DecodeError::UnknownKind(other)),
    }
}

/// Encodes a failure record exactly as the probe lays it out (used by tests and the recorder's
/// fixtures; the probe itself writes the bytes in the kernel).
pub fn encode_failure(e: &FailureEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_of::<FailureEvent>());
    encode_header(&mut out, &e.header);
    out.extend_from_slice(&e.gfp_mask.to_ne_bytes());
    out.extend_from_slice(&e.order.to_ne_bytes());
    out.extend_from_slice(&e.migratetype.to_ne_bytes());
    out.extend_from_slice(&e.stack_id.to_ne_bytes());
    out.extend_from_slice(&e.hook.to_ne_bytes());
    let a = &e.attribution;
    out.extend_from_slice(&a.levels.to_ne_bytes());
    out.extend_from_slice(&a.flags.to_ne_bytes());
    for name in &a.names {
        out.extend_from_slice(name);
    }
    out.extend_from_slice(&a.ancestors_len.to_ne_bytes());
    out.extend_from_slice(&a._pad.to_ne_bytes());
    for anc in &a.ancestors {
        out.extend_from_slice(&anc.tgid.to_ne_bytes());
        out.extend_from_slice(&anc._pad.to_ne_bytes());
        out.extend_from_slice(&anc.comm);
    }
    out
}

/// An empty attribution (nothing captured).
pub fn no_attribution() -> Attribution {
    Attribution {
        levels: 0,
        flags: 0,
        names: [[0; CGROUP_NAME_LEN]; CGROUP_LEVELS],
        ancestors_len: 0,
        _pad: 0,
        ancestors: [RawAncestor::default(); ANCESTORS],
    }
}

/// Encodes an extfrag record as the probe lays it out.
pub fn encode_extfrag(e: &ExtfragEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_of::<ExtfragEvent>());
    encode_header(&mut out, &e.header);
    for v in [e.alloc_order, e.fallback_order, e.alloc_migratetype, e.fallback_migratetype, e.change_ownership] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    out.extend_from_slice(&e.stack_id.to_ne_bytes());
    out
}

fn encode_header(out: &mut Vec<u8>, h: &EventHeader) {
    out.extend_from_slice(&h.version.to_ne_bytes());
    out.extend_from_slice(&h.kind.to_ne_bytes());
    out.extend_from_slice(&h.cpu.to_ne_bytes());
    out.extend_from_slice(&h.ts_ns.to_ne_bytes());
    out.extend_from_slice(&h.pid.to_ne_bytes());
    out.extend_from_slice(&h.tgid.to_ne_bytes());
    out.extend_from_slice(&h.cgroup_id.to_ne_bytes());
    out.extend_from_slice(&h.comm);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fragtrace_ebpf::NO_STACK;

    fn header(kind: u16) -> EventHeader {
        let mut comm = [0u8; COMM_LEN];
        comm[..6].copy_from_slice(b"mysqld");
        EventHeader { version: ABI_VERSION, kind, cpu: 1, ts_ns: 42, pid: 7, tgid: 6, cgroup_id: 99, comm }
    }

    fn failure() -> FailureEvent {
        FailureEvent { header: header(kind::FAILURE), gfp_mask: 0x442dc0, order: 4, migratetype: 0, stack_id: 3, hook: 1, attribution: no_attribution() }
    }

    #[test]
    fn round_trips_a_failure() {
        let bytes = encode_failure(&failure());
        assert_eq!(bytes.len(), size_of::<FailureEvent>());
        let Event::Failure(f) = decode(&bytes).unwrap() else { panic!("not a failure") };
        assert_eq!((f.order, f.gfp_mask, f.migratetype, f.stack_id), (4, 0x442dc0, 0, Some(3)));
        assert_eq!(f.hook, FailureHook::MemcgCharge, "the fexit mark says what failed");
        assert_eq!((f.task.pid, f.task.tgid, f.task.cpu, f.task.ts_ns, f.task.cgroup_id), (7, 6, 1, 42, 99));
        assert_eq!(f.task.comm, "mysqld");
    }

    #[test]
    fn round_trips_an_extfrag() {
        let e = ExtfragEvent {
            header: header(kind::EXTFRAG),
            alloc_order: 0,
            fallback_order: 10,
            alloc_migratetype: 0,
            fallback_migratetype: 1,
            change_ownership: 1,
            stack_id: 5,
        };
        let Event::Extfrag(x) = decode(&encode_extfrag(&e)).unwrap() else { panic!("not extfrag") };
        assert_eq!((x.alloc_order, x.fallback_order, x.alloc_migratetype, x.fallback_migratetype), (0, 10, 0, 1));
        assert!(x.change_ownership);
        assert!(!x.fragmenting(9));
        assert_eq!(x.stack_id, Some(5 | EXTFRAG_STACK_BIT), "extfrag stack ids never collide with failures'");
        for unsampled in [fragtrace_ebpf::NOT_SAMPLED, NO_STACK] {
            let Event::Extfrag(x) = decode(&encode_extfrag(&ExtfragEvent { stack_id: unsampled, ..e })).unwrap() else { panic!() };
            assert_eq!(x.stack_id, None);
        }
    }

    #[test]
    fn slow_path_records_are_control_records() {
        let mut bytes = Vec::new();
        encode_header(&mut bytes, &header(kind::SLOW_PATH));
        bytes.extend_from_slice(&fragtrace_ebpf::slow_path::MEMCG_RECLAIM.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        assert_eq!(bytes.len(), size_of::<SlowPathEvent>());
        assert_eq!(decode_record(&bytes), Ok(Decoded::SlowPath { ts_ns: 42, reason: fragtrace_ebpf::slow_path::MEMCG_RECLAIM }));
        assert!(decode_record(&bytes[..50]).is_err(), "short slow-path record");
        assert!(decode(&bytes).is_err(), "not an event for the sinks");
        assert!(matches!(decode_record(&encode_failure(&failure())), Ok(Decoded::Event(Event::Failure(_)))));
    }

    #[test]
    fn missing_stack_is_none() {
        let mut f = failure();
        f.stack_id = NO_STACK;
        let Event::Failure(f) = decode(&encode_failure(&f)).unwrap() else { panic!() };
        assert_eq!(f.stack_id, None);
    }

    #[test]
    fn short_and_garbled_buffers_are_errors() {
        let bytes = encode_failure(&failure());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "prefix of {len} bytes decoded");
        }
        let mut bad_version = bytes.clone();
        bad_version[0] = 0xff;
        assert!(matches!(decode(&bad_version), Err(DecodeError::Version(_))));
        let mut bad_kind = bytes.clone();
        bad_kind[2] = 77;
        assert_eq!(decode(&bad_kind), Err(DecodeError::UnknownKind(77)));
        // Arbitrary garbage never panics.
        let mut x: u32 = 12345;
        for len in [0, 1, 47, 48, 71, 72, 200] {
            let junk: Vec<u8> = (0..len).map(|_| { x = x.wrapping_mul(1103515245).wrapping_add(12345); (x >> 16) as u8 }).collect();
            let _ = decode(&junk);
        }
    }

    #[test]
    fn hostile_comm_is_escaped() {
        assert_eq!(comm_from_bytes(b"a\x1b[2Jb\n\0junk"), "a\\u{1b}[2Jb\\n");
        assert_eq!(comm_from_bytes(&[0xff, b'x', 0]), "\u{fffd}x");
    }
}
