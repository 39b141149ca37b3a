//! Chrome Trace Event Format export (`report --format chrome-trace`), for Perfetto
//! (ui.perfetto.dev) and chrome://tracing.
//!
//! Layout: each process that hit an event is a track (pid = tgid, tid = pid), failures and
//! extfrag fallbacks are instant events on it; zone free lists and the kernel counters are
//! counter tracks on one pseudo-process. Events are streamed as they arrive: memory grows with
//! the number of distinct processes, threads, stacks and cgroups, never with the events.

use std::{
    collections::HashSet,
    io::Write,
};

use serde_json::{Map, Value, json};

use crate::{
    definitions::Definitions,
    event::{Counters, Event, Extfrag, Failure, Lost, Task, migratetype_name, Stall, StallKind},
    gfp::GfpTable,
    host::{kallsyms::caller_frame, zones::ZoneSnapshot},
    sink::{Sink, SinkError},
};

/// The pid of the counters' pseudo-process. Not 0: the idle task is pid 0, and atomic
/// allocations failing in softirq on an idle CPU are reported as `swapper/N`, pid 0. Above
/// PID_MAX_LIMIT (2^22), so no real process can share it.
pub const COUNTERS_PID: u32 = 1 << 30;

/// A [`Sink`] that writes one Trace Event Format JSON document to `out`, complete after
/// [`Sink::finish`].
pub struct ChromeTrace<W: Write> {
    out: W,
    gfp: GfpTable,
    pageblock_order: u32,
    page_size: u64,
    start_ns: u64,
    meta: Value,
    /// The stream's stacks and cgroups (see [`Sink::use_definitions`]).
    definitions: Definitions,
    /// tgids and (tgid, pid)s whose name metadata has been written.
    processes: HashSet<u32>,
    threads: HashSet<(u32, u32)>,
    /// `{"traceEvents":[` written; written lazily so a sink that never sees data and is never
    /// finished leaves its output untouched.
    opened: bool,
    /// At least one event written: the next needs a comma before it.
    any_event: bool,
    finished: bool,
}

impl<W: Write> ChromeTrace<W> {
    /// `meta` becomes the top-level `otherData` object (host, kernel, …); a non-object is kept
    /// under `otherData.meta`. `page_size` is the recording kernel's, for the MiB counters.
    pub fn new(out: W, gfp: GfpTable, pageblock_order: u32, page_size: u64, start_monotonic_ns: u64, meta: Value) -> Self {
        Self {
            out,
            gfp,
            pageblock_order,
            page_size,
            start_ns: start_monotonic_ns,
            meta,
            definitions: Definitions::new(),
            processes: HashSet::new(),
            threads: HashSet::new(),
            opened: false,
            any_event: false,
            finished: false,
        }
    }

    /// Microseconds since the start of the recording, the format's unit; a float keeps the
    /// nanoseconds. Events stamped before the start (clock races at startup) sit at 0.
    fn ts_us(&self, ts_ns: u64) -> f64 {
        ts_ns.saturating_sub(self.start_ns) as f64 / 1000.0
    }

    fn open(&mut self) -> Result<(), SinkError> {
        if !self.opened {
            self.out.write_all(b"{\"traceEvents\":[")?;
            self.opened = true;
        }
        Ok(())
    }

    fn write(&mut self, event: &Value) -> Result<(), SinkError> {
        self.open()?;
        // One event per line: the file stays greppable and diffable.
        self.out.write_all(if self.any_event { b",\n" } else { b"\n" })?;
        serde_json::to_writer(&mut self.out, event)?;
        self.any_event = true;
        Ok(())
    }

    /// Name metadata the first time a process or thread shows up. The process is named after
    /// the first of its threads seen, the best we have: events carry the thread's comm only.
    fn name_task(&mut self, task: &Task) -> Result<(), SinkError> {
        if self.processes.insert(task.tgid) {
            let name = format!("{} (pid {})", task.comm, task.tgid);
            self.write(&metadata("process_name", task.tgid, None, &name))?;
        }
        if self.threads.insert((task.tgid, task.pid)) {
            self.write(&metadata("thread_name", task.tgid, Some(task.pid), &task.comm))?;
        }
        Ok(())
    }

    /// The pseudo-process holding the counter tracks, named once, before its first counter.
    fn name_counters(&mut self) -> Result<(), SinkError> {
        if self.processes.insert(COUNTERS_PID) {
            self.write(&metadata("process_name", COUNTERS_PID, None, "zones (/proc/buddyinfo) and counters"))?;
            // Above the processes: it is the context every failure is read against.
            self.write(&json!({"ph": "M", "name": "process_sort_index", "pid": COUNTERS_PID, "tid": 0, "args": {"sort_index": -1}}))?;
        }
        Ok(())
    }

    /// `comm`, `cpu` and `cgroup` (its path when known, else the numeric id).
    fn task_args(&self, task: &Task) -> Map<String, Value> {
        let mut args = Map::new();
        args.insert("comm".into(), json!(task.comm));
        args.insert("cpu".into(), json!(task.cpu));
        let cgroup = match self.definitions.cgroup_path(task.cgroup_id) {
            Some(path) => json!(*path),
            None => json!(task.cgroup_id),
        };
        args.insert("cgroup".into(), cgroup);
        args
    }

    fn failure(&self, f: &Failure) -> Value {
        let mut args = self.task_args(&f.task);
        args.insert("order".into(), json!(f.order));
        args.insert("gfp_mask".into(), json!(format!("{:#x}", f.gfp_mask)));
        args.insert("gfp_flags".into(), json!(self.gfp.decode_joined(f.gfp_mask)));
        args.insert("migratetype".into(), json!(migratetype_label(f.migratetype)));
        if let Some(frames) = f.stack_id.and_then(|id| self.definitions.stack(id)) {
            args.insert("caller".into(), json!(caller_frame(&frames)));
            args.insert("stack".into(), json!(*frames));
        }
        instant(&format!("alloc failure order {}", f.order), "failure", self.ts_us(f.task.ts_ns), &f.task, args)
    }

    /// A complete event ("X") spanning the stall on the task's track.
    fn stall(&self, s: &Stall) -> Value {
        let mut args = self.task_args(&s.task);
        args.insert("order".into(), json!(s.order));
        args.insert("gfp_flags".into(), json!(self.gfp.decode_joined(s.gfp_mask)));
        args.insert("result".into(), json!(s.result));
        let what = match s.kind {
            StallKind::Reclaim => "direct reclaim",
            StallKind::Compaction => "direct compaction",
            StallKind::MemcgReclaim => "memcg reclaim",
        };
        let end = self.ts_us(s.task.ts_ns);
        let dur = s.duration_ns as f64 / 1000.0;
        json!({"name": format!("{what} order {}", s.order), "cat": "stall", "ph": "X", "ts": (end - dur).max(0.0), "dur": dur, "pid": s.task.tgid, "tid": s.task.pid, "args": args})
    }

    fn extfrag(&self, e: &Extfrag) -> Value {
        let mut args = self.task_args(&e.task);
        args.insert("alloc_order".into(), json!(e.alloc_order));
        args.insert("fallback_order".into(), json!(e.fallback_order));
        args.insert("alloc_migratetype".into(), json!(migratetype_label(e.alloc_migratetype)));
        args.insert("fallback_migratetype".into(), json!(migratetype_label(e.fallback_migratetype)));
        args.insert("change_ownership".into(), json!(e.change_ownership));
        args.insert("fragmenting".into(), json!(e.fragmenting(self.pageblock_order)));
        args.insert("severe".into(), json!(e.severe()));
        // Allocating type ← the type it stole from, as the kernel's "fallback" reads.
        let name = format!(
            "extfrag {}←{}",
            migratetype_label(e.alloc_migratetype),
            migratetype_label(e.fallback_migratetype)
        );
        instant(&name, "extfrag", self.ts_us(e.task.ts_ns), &e.task, args)
    }

    fn lost(&self, l: &Lost) -> Value {
        // Global scope: a drop concerns no process, and a full-height line is hard to miss.
        json!({
            "name": format!("ring buffer dropped {} events", l.count),
            "cat": "lost",
            "ph": "i",
            "s": "g",
            "ts": self.ts_us(l.ts_ns),
            "pid": COUNTERS_PID,
            "tid": 0,
            "args": {"count": l.count},
        })
    }

    /// `pageblocks node N ZONE`, one series per migratetype (/proc/pagetypeinfo, in
    /// recordings made as root): a growing unmovable/reclaimable band is fragmentation that
    /// compaction cannot undo.
    fn pageblock_counters(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        let Some(text) = snapshot.pagetypeinfo.as_deref() else { return Ok(()) };
        for row in crate::host::procfs::parse_pagetypeinfo(text).pageblocks {
            let series: Map<String, Value> = row.counts.iter().map(|(t, n)| (t.clone(), json!(n))).collect();
            self.counter(&format!("pageblocks node {} {}", row.node, row.zone), snapshot.ts_ns, series)?;
        }
        Ok(())
    }

    fn counter(&mut self, name: &str, ts_ns: u64, args: Map<String, Value>) -> Result<(), SinkError> {
        let event = json!({"name": name, "ph": "C", "ts": self.ts_us(ts_ns), "pid": COUNTERS_PID, "tid": 0, "args": args});
        self.write(&event)
    }

    /// `otherData`: the caller's metadata plus what is needed to map `ts` back to the
    /// recording, and the final counters.
    fn other_data(&self, c: &Counters) -> Value {
        let mut other = match &self.meta {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            other => Map::from_iter([("meta".to_string(), other.clone())]),
        };
        other.entry("start_monotonic_ns").or_insert(json!(self.start_ns));
        other.entry("pageblock_order").or_insert(json!(self.pageblock_order));
        other.entry("counters").or_insert(json!({
            "allocs_seen": c.allocs_seen,
            "failures": c.failures,
            "extfrag": c.extfrag,
            "dropped": c.dropped,
            "stack_errors": c.stack_errors,
        }));
        Value::Object(other)
    }
}

impl<W: Write> Sink for ChromeTrace<W> {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        if self.finished {
            // The array is closed; anything more would make the file invalid JSON.
            return Err(SinkError::Stopped);
        }
        let value = match event {
            Event::Failure(f) => {
                self.name_task(&f.task)?;
                self.failure(f)
            }
            Event::Extfrag(e) => {
                self.name_task(&e.task)?;
                self.extfrag(e)
            }
            Event::Stall(s) => {
                self.name_task(&s.task)?;
                self.stall(s)
            }
            Event::Oom(o) => {
                self.name_task(&o.task)?;
                let mut args = self.task_args(&o.task);
                args.insert("victim_pid".into(), json!(o.victim_pid));
                args.insert("victim_comm".into(), json!(o.victim_comm));
                args.insert("anon_rss_kb".into(), json!(o.anon_rss_kb));
                instant(&format!("OOM kill of {} ({})", o.victim_comm, o.victim_pid), "oom", self.ts_us(o.task.ts_ns), &o.task, args)
            }
            Event::Lost(l) => {
                self.name_counters()?;
                self.lost(l)
            }
        };
        self.write(&value)
    }

    /// Two counters per zone:
    /// - `free blocks node N ZONE`, one series per order: the raw /proc/buddyinfo row;
    /// - `free MiB node N ZONE`, split at the pageblock order into `below order P` and
    ///   `order P+`. Block counts are not weighted by size (one order-10 block is 1024 order-0
    ///   pages), so they hide where the free memory is; in MiB the stacked total is the zone's
    ///   free memory, and the upper band is the part still contiguous enough for huge pages and
    ///   high-order allocations. A shrinking band under a steady total is fragmentation.
    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        if self.finished {
            return Err(SinkError::Stopped);
        }
        self.name_counters()?;
        let pageblock = self.pageblock_order as usize;
        let (low_key, high_key) = (format!("below order {pageblock}"), format!("order {pageblock}+"));
        for zone in snapshot.zones() {
            let blocks: Map<String, Value> =
                zone.free_blocks.iter().enumerate().map(|(order, n)| (format!("order {order}"), json!(n))).collect();
            self.counter(&format!("free blocks node {} {}", zone.node, zone.zone), snapshot.ts_ns, blocks)?;

            // In f64: a hostile buddyinfo with 70 columns must not overflow a shift.
            let mib = |range: &[u64], first_order: usize| -> f64 {
                range
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| n as f64 * 2f64.powi((first_order + i) as i32) * self.page_size as f64)
                    .sum::<f64>()
                    / (1024.0 * 1024.0)
            };
            let split = pageblock.min(zone.free_blocks.len());
            let (low, high) = zone.free_blocks.split_at(split);
            let mut bands = Map::new();
            bands.insert(low_key.clone(), json!(mib(low, 0)));
            bands.insert(high_key.clone(), json!(mib(high, split)));
            self.counter(&format!("free MiB node {} {}", zone.node, zone.zone), snapshot.ts_ns, bands)?;
        }
        self.pageblock_counters(snapshot)
    }

    /// Cumulative totals, one counter each: the viewer's slope is the rate, and separate
    /// tracks keep failures (a handful) from being flattened by allocations (millions).
    fn tick(&mut self, ts_ns: u64, c: &Counters) -> Result<(), SinkError> {
        if self.finished {
            return Err(SinkError::Stopped);
        }
        self.name_counters()?;
        for (name, value) in [
            ("allocations seen", c.allocs_seen),
            ("failures", c.failures),
            ("extfrag fallbacks", c.extfrag),
            ("dropped events", c.dropped),
        ] {
            self.counter(name, ts_ns, Map::from_iter([("total".to_string(), json!(value))]))?;
        }
        Ok(())
    }

    fn finish(&mut self, c: &Counters) -> Result<(), SinkError> {
        if self.finished {
            return Ok(());
        }
        self.open()?;
        let other_data = self.other_data(c);
        self.out.write_all(b"\n],\"displayTimeUnit\":\"ms\",\"otherData\":")?;
        serde_json::to_writer(&mut self.out, &other_data)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        self.finished = true;
        Ok(())
    }
}

/// A `process_name` (tid `None`) or `thread_name` metadata event.
fn metadata(kind: &str, pid: u32, tid: Option<u32>, name: &str) -> Value {
    json!({"name": kind, "ph": "M", "pid": pid, "tid": tid.unwrap_or(0), "args": {"name": name}})
}

/// A thread-scoped instant event on the task's track.
fn instant(name: &str, cat: &str, ts_us: f64, task: &Task, args: Map<String, Value>) -> Value {
    json!({"name": name, "cat": cat, "ph": "i", "s": "t", "ts": ts_us, "pid": task.tgid, "tid": task.pid, "args": args})
}

/// The migratetype's name, or its number when this build does not know it (newer kernels).
fn migratetype_label(mt: i32) -> String {
    match migratetype_name(mt) {
        "?" => format!("migratetype {mt}"),
        name => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gfp::GfpName;

    const START: u64 = 1_000_000_000;

    fn task(tgid: u32, pid: u32, comm: &str, ts_ns: u64) -> Task {
        Task { ts_ns, cpu: 3, pid, tgid, cgroup_id: 42, comm: comm.into() }
    }

    fn failure(task: Task, order: u32, stack_id: Option<u32>) -> Event {
        Event::Failure(Failure { task, order, gfp_mask: 0x400cc0, migratetype: 1, stack_id, ancestry: vec![], captured_cgroup: None, hook: Default::default() })
    }

    /// Feeds a fresh exporter, finishes it, and parses what it wrote: every test checks the
    /// output is one valid JSON document.
    fn export(feed: impl FnOnce(&mut ChromeTrace<&mut Vec<u8>>)) -> (Value, String) {
        let mut out = Vec::new();
        let gfp = GfpTable { names: vec![GfpName { value: 0x400cc0, name: "GFP_KERNEL_ACCOUNT".into() }] };
        let mut trace = ChromeTrace::new(&mut out, gfp, 9, 4096, START, json!({"host": "h", "kernel": "6.18"}));
        feed(&mut trace);
        trace.finish(&Counters { failures: 2, ..Counters::default() }).unwrap();
        drop(trace);
        let text = String::from_utf8(out).unwrap();
        (serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")), text)
    }

    fn events(trace: &Value) -> &[Value] {
        trace["traceEvents"].as_array().expect("traceEvents array")
    }

    fn with_ph<'a>(trace: &'a Value, ph: &str) -> Vec<&'a Value> {
        events(trace).iter().filter(|e| e["ph"] == ph).collect()
    }

    #[test]
    fn empty_trace_is_valid_json() {
        let (trace, _) = export(|_| {});
        assert_eq!(trace["traceEvents"], json!([]));
        assert_eq!(trace["displayTimeUnit"], "ms");
        assert_eq!(trace["otherData"]["host"], "h");
        assert_eq!(trace["otherData"]["start_monotonic_ns"], START);
        assert_eq!(trace["otherData"]["counters"]["failures"], 2);
    }

    #[test]
    fn timestamps_are_microseconds_since_the_start() {
        let (trace, _) = export(|t| {
            t.event(&failure(task(1, 1, "a", START + 1_500), 0, None)).unwrap();
            t.event(&failure(task(1, 1, "a", START + 2_000_000_000), 0, None)).unwrap();
            t.event(&failure(task(1, 1, "a", START - 10), 0, None)).unwrap();
        });
        let ts: Vec<f64> = with_ph(&trace, "i").iter().map(|e| e["ts"].as_f64().unwrap()).collect();
        assert_eq!(ts, vec![1.5, 2_000_000.0, 0.0]);
    }

    #[test]
    fn failures_are_instants_on_the_process_track() {
        let (trace, _) = export(|t| t.event(&failure(task(100, 101, "worker", START), 6, None)).unwrap());
        let [event] = with_ph(&trace, "i")[..] else { panic!("one instant: {trace}") };
        assert_eq!((event["pid"].as_u64(), event["tid"].as_u64()), (Some(100), Some(101)), "pid = tgid, tid = pid");
        assert_eq!(event["name"], "alloc failure order 6");
        assert_eq!((&event["cat"], &event["s"]), (&json!("failure"), &json!("t")));
        let args = &event["args"];
        assert_eq!(args["order"], 6);
        assert_eq!(args["gfp_mask"], "0x400cc0");
        assert_eq!(args["gfp_flags"], "GFP_KERNEL_ACCOUNT");
        assert_eq!(args["migratetype"], "Movable");
        assert_eq!(args["comm"], "worker");
        assert_eq!(args["cgroup"], 42, "no path known: the numeric id");
        assert!(args.get("stack").is_none() && args.get("caller").is_none(), "no stack id, no stack");
    }

    #[test]
    fn names_each_process_and_thread_once_before_its_events() {
        let (trace, _) = export(|t| {
            for (tgid, pid) in [(100, 100), (100, 101), (100, 101), (200, 200), (100, 100)] {
                t.event(&failure(task(tgid, pid, "worker", START), 1, None)).unwrap();
            }
        });
        let metadata = with_ph(&trace, "M");
        let processes: Vec<_> = metadata.iter().filter(|e| e["name"] == "process_name").map(|e| (&e["pid"], &e["args"]["name"])).collect();
        assert_eq!(processes, vec![(&json!(100), &json!("worker (pid 100)")), (&json!(200), &json!("worker (pid 200)"))]);
        let threads: Vec<_> = metadata.iter().filter(|e| e["name"] == "thread_name").map(|e| (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap())).collect();
        assert_eq!(threads, vec![(100, 100), (100, 101), (200, 200)]);
        let first_of = |pred: &dyn Fn(&Value) -> bool| events(&trace).iter().position(pred).unwrap();
        assert!(first_of(&|e| e["ph"] == "M" && e["pid"] == 200) < first_of(&|e| e["ph"] == "i" && e["pid"] == 200));
    }

    #[test]
    fn zone_counters_from_buddyinfo() {
        let buddyinfo = "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3\n\
                         Node 0, zone   Normal      1      2      0      0      0      0      0      0      0      2      0\n";
        let (trace, _) = export(|t| {
            for ts_ns in [START + 1000, START + 2000] {
                t.zones(&ZoneSnapshot { ts_ns, buddyinfo: buddyinfo.into(), pagetypeinfo: None }).unwrap();
            }
        });
        let counters = with_ph(&trace, "C");
        assert_eq!(counters.len(), 8, "two counters per zone per snapshot");
        assert!(counters.iter().all(|c| c["pid"] == COUNTERS_PID));
        let blocks = counters.iter().find(|c| c["name"] == "free blocks node 0 DMA").unwrap();
        assert_eq!(blocks["ts"], 1.0);
        assert_eq!(blocks["args"].as_object().unwrap().len(), 11);
        assert_eq!((&blocks["args"]["order 8"], &blocks["args"]["order 10"]), (&json!(1), &json!(3)));
        let mib = counters.iter().find(|c| c["name"] == "free MiB node 0 Normal").unwrap();
        // Below order 9: 1 + 2×2 pages = 20 KiB; order 9+: 2 × 512 pages = 4 MiB.
        assert_eq!(mib["args"], json!({"below order 9": 20.0 / 1024.0, "order 9+": 4.0}));
        let named: Vec<_> = with_ph(&trace, "M").iter().filter(|m| m["name"] == "process_name").map(|m| m["args"]["name"].clone()).collect();
        assert_eq!(named, vec![json!("zones (/proc/buddyinfo) and counters")], "named once");
    }

    #[test]
    fn pageblock_counters_from_pagetypeinfo() {
        let pti = include_str!("../../testdata/procfs/pagetypeinfo-6.18-live-2.txt");
        let (trace, _) = export(|t| {
            t.zones(&ZoneSnapshot { ts_ns: START + 1000, buddyinfo: String::new(), pagetypeinfo: Some(pti.into()) }).unwrap();
        });
        let counters = with_ph(&trace, "C");
        let names: Vec<&str> = counters.iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(names, ["pageblocks node 0 DMA", "pageblocks node 0 DMA32", "pageblocks node 0 Normal"]);
        assert_eq!(counters[2]["args"], json!({"Unmovable": 205, "Movable": 7478, "Reclaimable": 317, "HighAtomic": 0, "Isolate": 0}));
    }

    #[test]
    fn hostile_comm_survives_escaping() {
        let comm = "a\"b\nc\\d\u{1}é";
        let (trace, text) = export(|t| t.event(&failure(task(7, 7, comm, START), 0, None)).unwrap());
        assert_eq!(with_ph(&trace, "i")[0]["args"]["comm"], comm);
        let names: Vec<_> = with_ph(&trace, "M").iter().map(|m| m["args"]["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, vec![format!("{comm} (pid 7)"), comm.to_string()]);
        assert!(!text.contains("b\nc") && !text.contains('\u{1}'), "escaped, not raw");
    }

    #[test]
    fn stack_and_cgroup_defined_before_the_event() {
        let frames: Vec<String> = ["__alloc_pages_noprof", "pipe_resize_ring", "pipe_fcntl"].map(String::from).into();
        let (trace, _) = export(|t| {
            let defs = Definitions::new();
            t.use_definitions(&defs);
            defs.define_stack(7, &frames);
            defs.define_cgroup(42, Some("/system.slice/app.service"));
            defs.define_cgroup(43, None);
            t.event(&failure(task(1, 1, "a", START), 4, Some(7))).unwrap();
            t.event(&failure(Task { cgroup_id: 43, ..task(1, 1, "a", START) }, 4, Some(8))).unwrap();
        });
        let instants = with_ph(&trace, "i");
        let args = &instants[0]["args"];
        assert_eq!(args["stack"], json!(frames));
        assert_eq!(args["caller"], "pipe_resize_ring");
        assert_eq!(args["cgroup"], "/system.slice/app.service");
        let args = &instants[1]["args"];
        assert!(args.get("stack").is_none(), "stack 8 was never defined");
        assert_eq!(args["cgroup"], 43, "path unresolved: the numeric id");
    }

    #[test]
    fn extfrag_and_lost_events() {
        let (trace, _) = export(|t| {
            let e = Extfrag { task: task(5, 6, "kswapd0", START), alloc_order: 0, fallback_order: 3, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: false, stack_id: None };
            t.event(&Event::Extfrag(e)).unwrap();
            t.event(&Event::Lost(Lost { ts_ns: START + 1000, count: 5 })).unwrap();
        });
        let instants = with_ph(&trace, "i");
        let e = instants[0];
        assert_eq!((&e["name"], &e["cat"], &e["pid"], &e["tid"]), (&json!("extfrag Unmovable←Movable"), &json!("extfrag"), &json!(5), &json!(6)));
        assert_eq!(e["args"]["fragmenting"], true, "order 3 < pageblock order 9");
        assert_eq!((&e["args"]["severe"], &e["args"]["fallback_migratetype"]), (&json!(true), &json!("Movable")));
        let lost = instants[1];
        assert_eq!((&lost["name"], &lost["s"], &lost["args"]["count"]), (&json!("ring buffer dropped 5 events"), &json!("g"), &json!(5)));
    }

    #[test]
    fn ticks_are_cumulative_counters() {
        let (trace, _) = export(|t| {
            t.tick(START + 1_000_000, &Counters { allocs_seen: 1000, failures: 3, extfrag: 2, dropped: 1, stack_errors: 0, ..Default::default() }).unwrap();
        });
        let totals: Vec<_> = with_ph(&trace, "C").iter().map(|c| (c["name"].as_str().unwrap(), c["args"]["total"].as_u64().unwrap(), c["ts"].as_f64().unwrap())).collect();
        assert_eq!(totals, vec![("allocations seen", 1000, 1000.0), ("failures", 3, 1000.0), ("extfrag fallbacks", 2, 1000.0), ("dropped events", 1, 1000.0)]);
    }

    #[test]
    fn nothing_after_finish() {
        let mut out = Vec::new();
        let mut trace = ChromeTrace::new(&mut out, GfpTable::default(), 9, 4096, 0, json!("not an object"));
        trace.finish(&Counters::default()).unwrap();
        trace.finish(&Counters::default()).unwrap();
        assert!(matches!(trace.event(&Event::Lost(Lost { ts_ns: 1, count: 1 })), Err(SinkError::Stopped)));
        drop(trace);
        let trace: Value = serde_json::from_slice(&out).expect("still one valid document");
        assert_eq!(trace["otherData"]["meta"], "not an object");
        assert_eq!(trace["traceEvents"], json!([]));
    }
}
