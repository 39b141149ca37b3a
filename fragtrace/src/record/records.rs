//! The records inside a data block: a tag byte, then LEB128 varints (zigzag for signed
//! values and timestamp deltas). A block is self-contained: the comm names, stacks and
//! cgroup paths its events use are defined inside it, so every intact block can be read
//! even when its neighbours are damaged.
//!
//! ```text
//! 1 failure  Δts cpu pid tgid cgroup comm# order gfp_mask migratetype stack(0=none, id+1)
//!            n (pid comm#)*n              (ancestry: parent first)
//! 2 extfrag  Δts cpu pid tgid cgroup comm# alloc_order fallback_order alloc_mt fallback_mt ownership
//! 3 lost     Δts count
//! 4 counters Δts allocs_seen failures extfrag dropped stack_errors
//! 5 comm     len bytes                      (defines comm# = number of comm records before it)
//! 6 stack    id n (len bytes)*n             (symbolized frames, innermost first)
//! 7 cgroup   id known(0/1) [len bytes]      (path in the cgroup v2 hierarchy)
//! 8 zones    Δts len buddyinfo has_pti [len pagetypeinfo]
//! 9 workload id len JSON                   (who cgroup `id` belongs to: `identity::Workload`)
//! 10 stall   Δts cpu pid tgid cgroup comm# kind(1 reclaim, 2 compaction, 3 memcg reclaim) order(zz) gfp_mask duration_ns result(zz)
//! 11 oom     Δts cpu pid tgid cgroup comm# victim_pid victim_comm# anon_rss_kb
//! 12 alloc-probe Δts attached(0/1) reason(0 none, code+1)   (`--alloc-probe` gate changes)
//! 13 failure-via  as `failure`, then hook (1 memcg charge, 2 page allocator: `FailureHook`);
//!            written instead of `failure` when the hook is not the tracepoint, so older
//!            readers of files without fexit hooks are unaffected
//! 14 extfrag-stack  as `extfrag`, then stack(id+1): a fallback whose stack was sampled;
//!            written instead of `extfrag` only then, so files without extfrag stacks read
//!            as before
//! Counters gained `stalls` and `ooms` after `stack_errors`.
//! ```
//! Δts is the zigzag difference from the previous timestamped record in the block (the first
//! is relative to 0); records from different CPUs can be slightly out of order.

use std::collections::{HashMap, HashSet};

use bytes::Buf;

use thiserror::Error;

use crate::{
    event::{Ancestor, Counters, Event, Extfrag, Failure, FailureHook, Lost, OomKill, Stall, StallKind, Task},
    host::zones::ZoneSnapshot,
    identity::Workload,
    probe_status::{AllocProbeState, ArmReason},
};

const FAILURE: u8 = 1;
const EXTFRAG: u8 = 2;
const LOST: u8 = 3;
const COUNTERS: u8 = 4;
const COMM: u8 = 5;
const STACK: u8 = 6;
const CGROUP: u8 = 7;
const ZONES: u8 = 8;
const WORKLOAD: u8 = 9;
const STALL: u8 = 10;
const OOM: u8 = 11;
const ALLOC_PROBE: u8 = 12;
const FAILURE_VIA: u8 = 13;
const EXTFRAG_STACK: u8 = 14;

/// Longest string a record may carry (pagetypeinfo on a large NUMA machine is the biggest).
const MAX_STRING: u64 = 4 << 20;
/// Deepest stack kept (the kernel's PERF_MAX_STACK_DEPTH is 127).
const MAX_FRAMES: u64 = 1024;
/// Longest ancestry kept.
const MAX_ANCESTORS: u64 = 64;

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

/// Builds one data block. The recorder owns the recording-wide stack and cgroup tables and
/// passes them in, so a definition can be repeated in every block that needs it.
#[derive(Default)]
pub struct BlockEncoder {
    buf: Vec<u8>,
    last_ts: u64,
    comms: HashMap<String, u64>,
    stacks: HashSet<u32>,
    cgroups: HashSet<u64>,
    events: u64,
}

impl BlockEncoder {
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Events (failures, extfrag, lost) in the block.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.last_ts = 0;
        self.comms.clear();
        self.stacks.clear();
        self.cgroups.clear();
        self.events = 0;
    }

    fn ts(&mut self, ts: u64) {
        put_varint(&mut self.buf, zigzag(ts.wrapping_sub(self.last_ts) as i64));
        self.last_ts = ts;
    }

    fn comm(&mut self, comm: &str) -> u64 {
        if let Some(&n) = self.comms.get(comm) {
            return n;
        }
        let n = self.comms.len() as u64;
        self.buf.push(COMM);
        put_str(&mut self.buf, comm);
        self.comms.insert(comm.to_string(), n);
        n
    }

    fn task(&mut self, tag: u8, t: &Task) {
        let comm = self.comm(&t.comm);
        self.buf.push(tag);
        self.ts(t.ts_ns);
        for v in [u64::from(t.cpu), u64::from(t.pid), u64::from(t.tgid), t.cgroup_id, comm] {
            put_varint(&mut self.buf, v);
        }
    }

    /// Defines stack `id` in this block unless it already is.
    pub fn define_stack(&mut self, id: u32, frames: &[String]) {
        if !self.stacks.insert(id) {
            return;
        }
        self.buf.push(STACK);
        put_varint(&mut self.buf, u64::from(id));
        put_varint(&mut self.buf, frames.len() as u64);
        for f in frames {
            put_str(&mut self.buf, f);
        }
    }

    pub fn has_stack(&self, id: u32) -> bool {
        self.stacks.contains(&id)
    }

    pub fn has_cgroup(&self, id: u64) -> bool {
        self.cgroups.contains(&id)
    }

    /// Defines cgroup `id` in this block unless it already is.
    pub fn define_cgroup(&mut self, id: u64, path: Option<&str>) {
        if !self.cgroups.insert(id) {
            return;
        }
        self.buf.push(CGROUP);
        put_varint(&mut self.buf, id);
        match path {
            Some(p) => {
                self.buf.push(1);
                put_str(&mut self.buf, p);
            }
            None => self.buf.push(0),
        }
    }

    /// Appends an event. Its stack and cgroup must have been defined in this block.
    pub fn event(&mut self, event: &Event) {
        self.events += 1;
        match event {
            Event::Failure(f) => {
                // Comm definitions must precede the record that uses them.
                let ancestors: Vec<(u32, u64)> = f.ancestry.iter().map(|a| (a.pid, self.comm(&a.comm))).collect();
                let tag = if f.hook == FailureHook::Tracepoint { FAILURE } else { FAILURE_VIA };
                self.task(tag, &f.task);
                put_varint(&mut self.buf, u64::from(f.order));
                put_varint(&mut self.buf, f.gfp_mask);
                put_varint(&mut self.buf, zigzag(i64::from(f.migratetype)));
                put_varint(&mut self.buf, f.stack_id.map_or(0, |id| u64::from(id) + 1));
                put_varint(&mut self.buf, ancestors.len() as u64);
                for (pid, comm) in ancestors {
                    put_varint(&mut self.buf, u64::from(pid));
                    put_varint(&mut self.buf, comm);
                }
                if tag == FAILURE_VIA {
                    put_varint(&mut self.buf, f.hook.code());
                }
            }
            Event::Extfrag(e) => {
                self.task(if e.stack_id.is_some() { EXTFRAG_STACK } else { EXTFRAG }, &e.task);
                for v in [e.alloc_order, e.fallback_order, e.alloc_migratetype, e.fallback_migratetype] {
                    put_varint(&mut self.buf, zigzag(i64::from(v)));
                }
                self.buf.push(u8::from(e.change_ownership));
                if let Some(id) = e.stack_id {
                    put_varint(&mut self.buf, u64::from(id) + 1);
                }
            }
            Event::Stall(st) => {
                self.task(STALL, &st.task);
                self.buf.push(match st.kind {
                    StallKind::Reclaim => 1,
                    StallKind::Compaction => 2,
                    StallKind::MemcgReclaim => 3,
                });
                put_varint(&mut self.buf, zigzag(i64::from(st.order)));
                put_varint(&mut self.buf, st.gfp_mask);
                put_varint(&mut self.buf, st.duration_ns);
                put_varint(&mut self.buf, zigzag(st.result));
            }
            Event::Oom(o) => {
                let victim = self.comm(&o.victim_comm);
                self.task(OOM, &o.task);
                put_varint(&mut self.buf, u64::from(o.victim_pid));
                put_varint(&mut self.buf, victim);
                put_varint(&mut self.buf, o.anon_rss_kb);
            }
            Event::Lost(l) => {
                self.buf.push(LOST);
                self.ts(l.ts_ns);
                put_varint(&mut self.buf, l.count);
            }
        }
    }

    pub fn counters(&mut self, ts_ns: u64, c: &Counters) {
        self.buf.push(COUNTERS);
        self.ts(ts_ns);
        for v in [c.allocs_seen, c.failures, c.extfrag, c.dropped, c.stack_errors, c.stalls, c.ooms] {
            put_varint(&mut self.buf, v);
        }
    }

    /// The per-allocation probe was attached or detached.
    pub fn alloc_probe(&mut self, state: &AllocProbeState) {
        self.buf.push(ALLOC_PROBE);
        self.ts(state.since_ns);
        self.buf.push(u8::from(state.attached));
        put_varint(&mut self.buf, state.reason.map_or(0, |r| r.code() + 1));
    }

    /// Who cgroup `id` belongs to; written with the cgroup's definition.
    pub fn define_workload(&mut self, id: u64, workload: &Workload) {
        let Ok(json) = serde_json::to_string(workload) else { return };
        self.buf.push(WORKLOAD);
        put_varint(&mut self.buf, id);
        put_str(&mut self.buf, &json);
    }

    pub fn zones(&mut self, z: &ZoneSnapshot) {
        self.buf.push(ZONES);
        self.ts(z.ts_ns);
        put_str(&mut self.buf, &z.buddyinfo);
        match &z.pagetypeinfo {
            Some(p) => {
                self.buf.push(1);
                put_str(&mut self.buf, p);
            }
            None => self.buf.push(0),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("record at byte {offset} of the block: {reason}")]
pub struct RecordError {
    pub offset: usize,
    pub reason: &'static str,
}

/// One decoded record.
#[derive(Debug, PartialEq)]
pub enum Record {
    Event(Event),
    Counters(u64, Counters),
    Stack(u32, Vec<String>),
    Cgroup(u64, Option<String>),
    Workload(u64, Workload),
    Zones(ZoneSnapshot),
    AllocProbe(AllocProbeState),
}

/// Iterates over the records of one decompressed data block. Every read is bounds-checked;
/// a malformed record ends the block with an error. Reads go through [`bytes::Buf`] on the
/// block's slice: strings are copied out of it once, nothing else is.
pub struct BlockDecoder<'a> {
    /// What is left of the block.
    data: &'a [u8],
    /// The block's length, so errors can say at which offset they happened.
    len: usize,
    last_ts: u64,
    comms: Vec<String>,
}

impl<'a> BlockDecoder<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, len: data.len(), last_ts: 0, comms: Vec::new() }
    }

    fn err(&self, reason: &'static str) -> RecordError {
        RecordError { offset: self.len - self.data.remaining(), reason }
    }

    fn varint(&mut self) -> Result<u64, RecordError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 64 bits"))
    }

    fn u32(&mut self) -> Result<u32, RecordError> {
        u32::try_from(self.varint()?).map_err(|_| self.err("value out of range"))
    }

    fn i32(&mut self) -> Result<i32, RecordError> {
        i32::try_from(unzigzag(self.varint()?)).map_err(|_| self.err("value out of range"))
    }

    fn byte(&mut self) -> Result<u8, RecordError> {
        if !self.data.has_remaining() {
            return Err(self.err("record cut short"));
        }
        Ok(self.data.get_u8())
    }

    fn string(&mut self) -> Result<String, RecordError> {
        let len = self.varint()?;
        if len > MAX_STRING {
            return Err(self.err("string length implausible"));
        }
        let len = len as usize;
        if self.data.remaining() < len {
            return Err(self.err("string cut short"));
        }
        // The writer only stores valid UTF-8; anything else is damage, but a lossy copy
        // loses less than dropping the record.
        let s = String::from_utf8_lossy(&self.data.chunk()[..len]).into_owned();
        self.data.advance(len);
        Ok(s)
    }

    fn ts(&mut self) -> Result<u64, RecordError> {
        let delta = unzigzag(self.varint()?);
        self.last_ts = self.last_ts.wrapping_add(delta as u64);
        Ok(self.last_ts)
    }

    fn task(&mut self) -> Result<Task, RecordError> {
        let ts_ns = self.ts()?;
        let cpu = self.u32()?;
        let pid = self.u32()?;
        let tgid = self.u32()?;
        let cgroup_id = self.varint()?;
        let n = self.varint()?;
        let comm = self.comms.get(n as usize).ok_or_else(|| self.err("undefined comm"))?.clone();
        Ok(Task { ts_ns, cpu, pid, tgid, cgroup_id, comm })
    }

    fn record(&mut self) -> Result<Option<Record>, RecordError> {
        loop {
            if !self.data.has_remaining() {
                return Ok(None);
            }
            let tag = self.byte()?;
            return Ok(Some(match tag {
                FAILURE | FAILURE_VIA => self.read_failure(tag)?,
                EXTFRAG | EXTFRAG_STACK => self.read_extfrag(tag)?,
                LOST => {
                    let ts_ns = self.ts()?;
                    Record::Event(Event::Lost(Lost { ts_ns, count: self.varint()? }))
                }
                STALL => self.read_stall()?,
                OOM => self.read_oom()?,
                COUNTERS => self.read_counters()?,
                COMM => {
                    let comm = self.string()?;
                    self.comms.push(comm);
                    continue;
                }
                STACK => {
                    let id = self.u32()?;
                    let n = self.varint()?;
                    if n > MAX_FRAMES {
                        return Err(self.err("stack deeper than any kernel stack"));
                    }
                    let frames = (0..n).map(|_| self.string()).collect::<Result<_, _>>()?;
                    Record::Stack(id, frames)
                }
                CGROUP => {
                    let id = self.varint()?;
                    let path = match self.byte()? {
                        0 => None,
                        _ => Some(self.string()?),
                    };
                    Record::Cgroup(id, path)
                }
                WORKLOAD => {
                    let id = self.varint()?;
                    let json = self.string()?;
                    let workload = serde_json::from_str(&json).map_err(|_| self.err("workload is not valid JSON"))?;
                    Record::Workload(id, workload)
                }
                ZONES => self.read_zones()?,
                ALLOC_PROBE => self.read_alloc_probe()?,
                _ => return Err(self.err("unknown record tag")),
            }));
        }
    }

    /// A failed allocation, with its ancestry and (FAILURE_VIA) the hook that saw it.
    fn read_failure(&mut self, tag: u8) -> Result<Record, RecordError> {
        let task = self.task()?;
        let order = self.u32()?;
        let gfp_mask = self.varint()?;
        let migratetype = self.i32()?;
        let stack = self.varint()?;
        let stack_id = match stack {
            0 => None,
            n => Some(u32::try_from(n - 1).map_err(|_| self.err("stack id out of range"))?),
        };
        let n = self.varint()?;
        if n > MAX_ANCESTORS {
            return Err(self.err("implausible ancestry"));
        }
        let mut ancestry = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let pid = self.u32()?;
            let c = self.varint()?;
            let comm = self.comms.get(c as usize).ok_or_else(|| self.err("undefined comm"))?.clone();
            ancestry.push(Ancestor { pid, comm });
        }
        let hook = if tag == FAILURE_VIA {
            let code = self.varint()?;
            FailureHook::from_code(code).ok_or_else(|| self.err("unknown failure hook"))?
        } else {
            FailureHook::Tracepoint
        };
    Ok(Record::Event(Event::Failure(Failure { task, order, gfp_mask, migratetype, stack_id, ancestry, captured_cgroup: None, hook })))
    }

    /// An extfrag fallback, with its sampled stack id (EXTFRAG_STACK).
    fn read_extfrag(&mut self, tag: u8) -> Result<Record, RecordError> {
        let task = self.task()?;
        let alloc_order = self.i32()?;
        let fallback_order = self.i32()?;
        let alloc_migratetype = self.i32()?;
        let fallback_migratetype = self.i32()?;
        let change_ownership = self.byte()? != 0;
        let stack_id = match tag {
            EXTFRAG_STACK => Some(self.u32()?.checked_sub(1).ok_or_else(|| self.err("stack id out of range"))?),
            _ => None,
        };
    Ok(Record::Event(Event::Extfrag(Extfrag { task, alloc_order, fallback_order, alloc_migratetype, fallback_migratetype, change_ownership, stack_id })))
    }

    /// A reclaim or compaction stall.
    fn read_stall(&mut self) -> Result<Record, RecordError> {
        let task = self.task()?;
        let kind = match self.byte()? {
            1 => StallKind::Reclaim,
            2 => StallKind::Compaction,
            3 => StallKind::MemcgReclaim,
            _ => return Err(self.err("unknown stall kind")),
        };
        let order = self.i32()?;
        let gfp_mask = self.varint()?;
        let duration_ns = self.varint()?;
        let result = unzigzag(self.varint()?);
    Ok(Record::Event(Event::Stall(Stall { task, kind, order, gfp_mask, duration_ns, result })))
    }

    /// An OOM kill.
    fn read_oom(&mut self) -> Result<Record, RecordError> {
        let task = self.task()?;
        let victim_pid = self.u32()?;
        let c = self.varint()?;
        let victim_comm = self.comms.get(c as usize).ok_or_else(|| self.err("undefined comm"))?.clone();
        let anon_rss_kb = self.varint()?;
    Ok(Record::Event(Event::Oom(OomKill { task, victim_pid, victim_comm, anon_rss_kb })))
    }

    /// The kernel's counters at a moment.
    fn read_counters(&mut self) -> Result<Record, RecordError> {
        let ts = self.ts()?;
        let c = Counters {
            allocs_seen: self.varint()?,
            failures: self.varint()?,
            extfrag: self.varint()?,
            dropped: self.varint()?,
            stack_errors: self.varint()?,
            stalls: self.varint()?,
            ooms: self.varint()?,
            slow_path: 0,
        };
    Ok(Record::Counters(ts, c))
    }

    /// buddyinfo and pagetypeinfo as read at a moment.
    fn read_zones(&mut self) -> Result<Record, RecordError> {
        let ts_ns = self.ts()?;
        let buddyinfo = self.string()?;
        let pagetypeinfo = match self.byte()? {
            0 => None,
            _ => Some(self.string()?),
        };
    Ok(Record::Zones(ZoneSnapshot { ts_ns, buddyinfo, pagetypeinfo }))
    }

    /// The allocation probe attached or detached.
    fn read_alloc_probe(&mut self) -> Result<Record, RecordError> {
        let since_ns = self.ts()?;
        let attached = self.byte()? != 0;
        let reason = match self.varint()? {
            0 => None,
            code => Some(ArmReason::from_code(code - 1).ok_or_else(|| self.err("unknown alloc-probe reason"))?),
        };
    Ok(Record::AllocProbe(AllocProbeState { attached, reason, since_ns }))
    }
}

impl Iterator for BlockDecoder<'_> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                // Stop after the first error: without lengths, nothing after it can be trusted.
                self.data.advance(self.data.remaining());
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip() {
        for v in [0i64, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        let mut buf = Vec::new();
        for v in [0u64, 127, 128, u64::MAX] {
            buf.clear();
            put_varint(&mut buf, v);
            assert_eq!(BlockDecoder::new(&buf).varint(), Ok(v));
        }
        assert!(BlockDecoder::new(&[0xff; 11]).varint().is_err(), "overlong varint");
        assert!(BlockDecoder::new(&[0x80]).varint().is_err(), "cut varint");
    }

    #[test]
    fn every_prefix_of_a_block_decodes_or_errors_without_panic() {
        let mut enc = BlockEncoder::default();
        let task = Task { ts_ns: 5_000_000_000, cpu: 1, pid: 7, tgid: 7, cgroup_id: 99, comm: "mysqld".into() };
        enc.define_stack(3, &["a".into(), "b".into()]);
        enc.define_cgroup(99, Some("/kubepods/pod1"));
        enc.event(&Event::Failure(Failure { task: task.clone(), order: 4, gfp_mask: 0x400cc0, migratetype: 1, stack_id: Some(3), ancestry: vec![Ancestor { pid: 9, comm: "runc".into() }], captured_cgroup: None, hook: Default::default() }));
        enc.event(&Event::Extfrag(Extfrag { task: Task { ts_ns: 4_999_999_000, ..task.clone() }, alloc_order: 0, fallback_order: -1, alloc_migratetype: 0, fallback_migratetype: 2, change_ownership: true, stack_id: None }));
        enc.define_stack(crate::event::EXTFRAG_STACK_BIT | 4, &["steal_suitable_fallback".into()]);
        enc.event(&Event::Extfrag(Extfrag { task: Task { ts_ns: 5_000_000_100, ..task.clone() }, alloc_order: 0, fallback_order: 2, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: false, stack_id: Some(crate::event::EXTFRAG_STACK_BIT | 4) }));
        enc.counters(6_000_000_000, &Counters { allocs_seen: 10, ..Default::default() });
        enc.zones(&ZoneSnapshot { ts_ns: 6_000_000_001, buddyinfo: "Node 0".into(), pagetypeinfo: None });
        let bytes = enc.bytes().to_vec();
        let all: Vec<Record> = BlockDecoder::new(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 8);
        assert!(matches!(&all[3], Record::Event(Event::Extfrag(e)) if e.task.ts_ns == 4_999_999_000 && e.fallback_order == -1 && e.stack_id.is_none()));
        assert!(matches!(&all[5], Record::Event(Event::Extfrag(e)) if e.stack_id == Some(crate::event::EXTFRAG_STACK_BIT | 4)), "{:?}", all[5]);
        for cut in 0..bytes.len() {
            let _ = BlockDecoder::new(&bytes[..cut]).count();
        }
        let mut bad = bytes.clone();
        bad[0] = 200;
        assert!(BlockDecoder::new(&bad).next().unwrap().is_err());
    }
}
