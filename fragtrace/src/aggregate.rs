//! Aggregate stage: counts per order, per GFP mask, per comm, per cgroup and per (comm,
//! order, mask) group; extfrag per migratetype pair; the latest zone state; delivery lag as
//! an HDR histogram. Produces immutable `Snapshot`s for the views; a [`Publisher`] owns the
//! aggregator and sends them on a `watch` channel to views that run as their own tasks.
//!
//! `event` runs once per event (millions per second when replaying a file), so the per-event
//! path looks strings up by `&str` and only allocates for a key it has never seen.

mod polluters;

pub use polluters::{
    CgroupPolluter, CommPolluter, FallbackKind, HARM_FRAGMENTING, HARM_OTHER, HARM_STOLEN, HarmCounts, PodPolluter, PollutersSnapshot,
    StackPolluter,
};

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rustc_hash::FxHashMap as HashMap;
use std::collections::hash_map::Entry;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::watch;

use crate::{
    census::{PageblockCensus, ZoneCensus},
    definitions::Definitions,
    event::{Counters, Event, Extfrag, Failure, FailureHook, Stall, StallKind},
    host::{buddyinfo::ZoneFree, clock::monotonic_ns, zones::ZoneSnapshot},
    identity::Workload,
    probe_status::{AllocProbeState, ArmReason},
    sink::{Sink, SinkError},
};

/// Orders 0..=10 (MAX_PAGE_ORDER on x86_64); larger orders are counted in the last bucket.
pub const ORDERS: usize = 11;

/// Distinct keys (comms, cgroups, GFP masks, stacks) counted one by one. A `serve` that runs
/// for months on a node with churning pods, or a hostile recording, must not grow the
/// aggregator without end: past this, new keys are folded into [`OTHER`] (comms, cgroups)
/// or counted only in the totals (masks, stacks).
pub const MAX_KEYS: usize = 16_384;

/// (order, mask) groups of one comm, and stacks of one group, counted one by one.
const MAX_GROUPS_PER_COMM: usize = 256;
const MAX_STACKS_PER_GROUP: usize = 64;

/// The comm (and cgroup path) of what was folded together once [`MAX_KEYS`] was reached.
pub const OTHER: &str = "(other)";

/// The cgroup id the overflow is counted under; no cgroup has it (ids are inode numbers).
pub const OTHER_CGROUP: u64 = u64::MAX;

/// Whether `map` may take `key`: it has it already, or still has room.
fn has_room<K: std::hash::Hash + Eq, V>(map: &HashMap<K, V>, key: &K, max: usize) -> bool {
    map.len() < max || map.contains_key(key)
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FailureGroup {
    pub comm: String,
    pub order: u32,
    pub gfp_mask: u64,
    pub count: u64,
    pub last_seen_ns: u64,
    /// The most frequent stack id in the group.
    pub top_stack: Option<u32>,
    /// The group's most frequent stacks (id, count), most frequent first, at most
    /// `TOP_STACKS`.
    pub stacks: Vec<(u32, u64)>,
}

/// Stacks kept per group in a snapshot (the TUI's stack view shows them).
pub const TOP_STACKS: usize = 5;

/// Failures with one kernel stack.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StackCount {
    pub stack_id: u32,
    pub count: u64,
    pub last_seen_ns: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExtfragGroup {
    pub alloc_migratetype: i32,
    pub fallback_migratetype: i32,
    pub count: u64,
    pub fragmenting: u64,
    pub severe: u64,
}

/// Failures of one cgroup.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CgroupCount {
    pub cgroup_id: u64,
    /// Path in the cgroup v2 hierarchy, when it could be resolved.
    pub path: Option<String>,
    pub count: u64,
    pub last_seen_ns: u64,
}

/// Stall latencies of one kind at one order (microseconds).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StallSummary {
    pub kind: StallKind,
    pub order: i32,
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub total_us: u64,
}

/// One OOM kill.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OomSummary {
    pub ts_ns: u64,
    /// The task that ran the OOM killer.
    pub killer: String,
    pub victim_pid: u32,
    pub victim_comm: String,
    pub anon_rss_kb: u64,
}

/// OOM kills kept for display (the newest).
const MAX_OOMS: usize = 20;

/// Failures of one pod.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PodCount {
    pub pod: String,
    pub count: u64,
    pub last_seen_ns: u64,
    /// Cgroup ids of the pod's containers that failed (its rates are theirs summed).
    pub cgroup_ids: Vec<u64>,
}

/// When the per-allocation probe watched (`--alloc-probe`): failures outside its attached
/// time were not seen.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AllocProbeSummary {
    /// Attached now (as of the latest state).
    pub attached: bool,
    /// What attached it (`always` for `--alloc-probe always`).
    pub reason: Option<ArmReason>,
    /// CLOCK_MONOTONIC ns of the latest change.
    pub since_ns: u64,
    /// Times the gate attached it.
    pub attaches: u64,
    /// Time attached, ns, up to the newest timestamp seen.
    pub attached_ns: u64,
    /// Time observed since the first state, ns.
    pub observed_ns: u64,
    /// How long the current state has lasted, ns.
    pub state_ns: u64,
}

impl AllocProbeSummary {
    /// "always on", "on for 12s (memcg reclaim)", "idle for 40s (no memory pressure)".
    pub fn describe(&self) -> String {
        let secs = self.state_ns as f64 / 1e9;
        match (self.attached, self.reason) {
            (true, Some(ArmReason::Always)) => "always on".into(),
            (true, Some(ArmReason::Fexit)) => "not needed (fexit sees every failure)".into(),
            (true, reason) => format!("on for {secs:.0}s ({})", reason.map_or("pressure", ArmReason::label)),
            (false, _) => format!("idle for {secs:.0}s (no memory pressure)"),
        }
    }

    /// Whether failures may have gone unwatched (the probe was detached some of the time).
    pub fn partial(&self) -> bool {
        self.attached_ns < self.observed_ns
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LagSummary {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// An immutable view of everything aggregated so far.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub counters: Counters,
    pub failures: u64,
    /// Failures with `__GFP_NOWARN`: never printed by `dmesg`.
    pub silent_failures: u64,
    pub by_order: [u64; ORDERS],
    /// Silent (`__GFP_NOWARN`) failures per order.
    pub silent_by_order: [u64; ORDERS],
    /// Failures by what failed (where fexit programs told): tracepoint-only, memcg charge,
    /// page allocator; zero counts left out.
    pub by_hook: Vec<(FailureHook, u64)>,
    /// Failures per kernel stack, by count descending (failures without a stack are not
    /// here).
    pub by_stack: Vec<StackCount>,
    /// Sorted by count, descending.
    pub groups: Vec<FailureGroup>,
    /// Failures per GFP mask, by count descending.
    pub by_gfp: Vec<(u64, u64)>,
    /// Failures per task name, by count descending.
    pub by_comm: Vec<(String, u64)>,
    /// Failures per cgroup, by count descending.
    pub by_cgroup: Vec<CgroupCount>,
    /// Failures per Kubernetes pod (`namespace/name`, or `pod <uid>` without the OCI
    /// bundle), by count descending; tasks outside pods are not here.
    pub by_pod: Vec<PodCount>,
    pub extfrag: u64,
    pub extfrag_fragmenting: u64,
    pub extfrag_severe: u64,
    pub extfrag_groups: Vec<ExtfragGroup>,
    pub lost: u64,
    pub lag: LagSummary,
    /// Stall latency per (kind, order), by kind then order.
    pub stalls: Vec<StallSummary>,
    /// Time stalled per task name (µs), most first.
    pub stalls_by_comm: Vec<(String, u64)>,
    /// The newest OOM kills, oldest first, and how many there were in all.
    pub ooms: Vec<OomSummary>,
    pub oom_total: u64,
    /// The latest zone snapshot: CLOCK_MONOTONIC time and free blocks per zone.
    pub zones_ts_ns: Option<u64>,
    pub zones: Vec<ZoneFree>,
    /// Pageblocks per migratetype and zone, first and latest (`/proc/pagetypeinfo`; empty
    /// when it was unreadable).
    pub pageblocks: Vec<ZoneCensus>,
    /// `None` for recordings made before the gate existed.
    pub alloc_probe: Option<AllocProbeSummary>,
    /// Who fragments: extfrag fallbacks per comm, cgroup, pod and stack, by harm.
    pub polluters: PollutersSnapshot,
}

/// Failures of one cgroup, with its path and workload as the stream's [`Definitions`] had
/// them when it was first counted: a counted cgroup keeps its name once the table forgets it
/// (the session starts over after months of pod churn) or the cgroup is gone.
#[derive(Default)]
struct CgroupTally {
    count: u64,
    last_seen_ns: u64,
    path: Option<Arc<str>>,
    workload: Option<Arc<Workload>>,
}

impl CgroupTally {
    fn first(definitions: &Definitions, id: u64) -> Self {
        if id == OTHER_CGROUP {
            return CgroupTally { path: Some(Arc::from(OTHER)), ..CgroupTally::default() };
        }
        CgroupTally { path: definitions.cgroup_path(id), workload: definitions.workload(id), ..CgroupTally::default() }
    }
}

#[derive(Default)]
struct GroupState {
    count: u64,
    last_seen_ns: u64,
    stacks: HashMap<u32, u64>,
}

pub struct Aggregator {
    pageblock_order: u32,
    nowarn_bit: u64,
    /// Whether event timestamps are from this boot's monotonic clock (live), so lag is
    /// meaningful.
    live: bool,
    counters: Counters,
    failures: u64,
    silent_failures: u64,
    by_order: [u64; ORDERS],
    silent_by_order: [u64; ORDERS],
    by_hook: [u64; 3],
    by_stack: HashMap<u32, (u64, u64)>,
    /// comm → (order, mask) → group: two levels so lookups need no owned key.
    groups: HashMap<String, HashMap<(u32, u64), GroupState>>,
    by_gfp: HashMap<u64, u64>,
    by_cgroup: HashMap<u64, CgroupTally>,
    /// The stream's cgroup paths and workloads (see [`Sink::use_definitions`]).
    definitions: Definitions,
    zones: Option<(u64, Vec<ZoneFree>)>,
    census: PageblockCensus,
    stall_hists: HashMap<(StallKind, i32), (Histogram<u64>, u64)>,
    stall_comm: HashMap<String, u64>,
    ooms: Vec<OomSummary>,
    oom_total: u64,
    extfrag: HashMap<(i32, i32), ExtfragGroup>,
    extfrag_total: u64,
    /// Kept apart from the groups, which are bounded: the totals stay exact.
    extfrag_fragmenting: u64,
    extfrag_severe: u64,
    polluters: polluters::Polluters,
    lost: u64,
    lag_us: Histogram<u64>,
    alloc_probe: Option<AllocProbeSummary>,
    /// First gate state and the newest timestamp seen (for the attached/observed times).
    alloc_probe_first_ns: u64,
    newest_ns: u64,
}

impl Aggregator {
    pub fn new(pageblock_order: u32, nowarn_bit: u64, live: bool) -> Self {
        Self {
            pageblock_order,
            nowarn_bit,
            live,
            counters: Counters::default(),
            failures: 0,
            silent_failures: 0,
            by_order: [0; ORDERS],
            silent_by_order: [0; ORDERS],
            by_hook: [0; 3],
            by_stack: HashMap::default(),
            groups: HashMap::default(),
            by_gfp: HashMap::default(),
            by_cgroup: HashMap::default(),
            definitions: Definitions::new(),
            zones: None,
            census: PageblockCensus::default(),
            stall_hists: HashMap::default(),
            stall_comm: HashMap::default(),
            ooms: Vec::new(),
            oom_total: 0,
            extfrag: HashMap::default(),
            extfrag_total: 0,
            extfrag_fragmenting: 0,
            extfrag_severe: 0,
            polluters: polluters::Polluters::default(),
            lost: 0,
            lag_us: Histogram::new_with_bounds(1, 60_000_000, 2).expect("static histogram bounds"),
            alloc_probe: None,
            alloc_probe_first_ns: 0,
            newest_ns: 0,
        }
    }

    fn alloc_probe_summary(&self) -> Option<AllocProbeSummary> {
        let mut a = self.alloc_probe?;
        let now = self.newest_ns.max(a.since_ns);
        if a.attached {
            a.attached_ns += now - a.since_ns;
        }
        a.state_ns = now - a.since_ns;
        a.observed_ns = now.saturating_sub(self.alloc_probe_first_ns);
        Some(a)
    }

    fn failure(&mut self, f: &Failure) {
        self.failures += 1;
        let order = (f.order as usize).min(ORDERS - 1);
        if self.nowarn_bit != 0 && f.gfp_mask & self.nowarn_bit != 0 {
            self.silent_failures += 1;
            self.silent_by_order[order] += 1;
        }
        self.by_order[order] += 1;
        self.by_hook[f.hook.code() as usize % 3] += 1;
        if let Some(id) = f.stack_id
            && has_room(&self.by_stack, &id, MAX_KEYS)
        {
            let entry = self.by_stack.entry(id).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(f.task.ts_ns);
        }
        if has_room(&self.by_gfp, &f.gfp_mask, MAX_KEYS) {
            *self.by_gfp.entry(f.gfp_mask).or_default() += 1;
        }
        self.count_cgroup(f.task.cgroup_id, f.task.ts_ns);
        let comm = f.task.comm.as_str();
        let known = self.groups.get(comm).is_some_and(|m| has_room(m, &(f.order, f.gfp_mask), MAX_GROUPS_PER_COMM));
        let (comm, key) = if known || (self.groups.len() < MAX_KEYS && !self.groups.contains_key(comm)) {
            (comm, (f.order, f.gfp_mask))
        } else {
            // Folded: the order is kept (clamped, so this comm has at most ORDERS groups).
            (OTHER, (order as u32, 0))
        };
        let per_comm = match self.groups.get_mut(comm) {
            Some(m) => m,
            None => self.groups.entry(comm.to_string()).or_default(),
        };
        let group = per_comm.entry(key).or_default();
        group.count += 1;
        group.last_seen_ns = group.last_seen_ns.max(f.task.ts_ns);
        if let Some(id) = f.stack_id
            && has_room(&group.stacks, &id, MAX_STACKS_PER_GROUP)
        {
            *group.stacks.entry(id).or_default() += 1;
        }
    }

    /// One failure of cgroup `id` (folded into [`OTHER_CGROUP`] past [`MAX_KEYS`]); who the
    /// cgroup is is looked up once, when it is first counted.
    fn count_cgroup(&mut self, id: u64, ts_ns: u64) {
        let id = if has_room(&self.by_cgroup, &id, MAX_KEYS) { id } else { OTHER_CGROUP };
        let cg = match self.by_cgroup.entry(id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(CgroupTally::first(&self.definitions, id)),
        };
        cg.count += 1;
        cg.last_seen_ns = cg.last_seen_ns.max(ts_ns);
    }

    fn cgroup_count(id: u64, tally: &CgroupTally) -> CgroupCount {
        CgroupCount { cgroup_id: id, path: tally.path.as_deref().map(str::to_string), count: tally.count, last_seen_ns: tally.last_seen_ns }
    }

    /// The pod of a counted cgroup, if it belongs to one.
    fn pod_label(&self, cgroup_id: u64) -> Option<String> {
        self.by_cgroup.get(&cgroup_id)?.workload.as_deref()?.pod_label()
    }

    fn stall(&mut self, s: &Stall) {
        let us = (s.duration_ns / 1000).clamp(1, 3_600_000_000);
        // Each histogram is ~20 KB: a recording claiming a million orders must not make a
        // million of them. Real orders are -1 (none) to MAX_PAGE_ORDER.
        let order = s.order.clamp(-1, ORDERS as i32 - 1);
        let entry = self
            .stall_hists
            .entry((s.kind, order))
            .or_insert_with(|| (Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("static histogram bounds"), 0));
        let _ = entry.0.record(us);
        entry.1 += us;
        let room = self.stall_comm.len() < MAX_KEYS;
        match self.stall_comm.get_mut(s.task.comm.as_str()) {
            Some(total) => *total += us,
            None if room => {
                self.stall_comm.insert(s.task.comm.clone(), us);
            }
            None => *self.stall_comm.entry(OTHER.to_string()).or_default() += us,
        }
    }

    fn extfrag_event(&mut self, e: &Extfrag) {
        self.extfrag_total += 1;
        let fragmenting = e.fragmenting(self.pageblock_order);
        self.extfrag_fragmenting += u64::from(fragmenting);
        self.extfrag_severe += u64::from(e.severe());
        self.polluters.record(e, self.pageblock_order, &self.definitions);
        // Real kernels have fewer than 8 migratetypes; a hostile file may claim any.
        if !has_room(&self.extfrag, &(e.alloc_migratetype, e.fallback_migratetype), 64) {
            return;
        }
        let group = self
            .extfrag
            .entry((e.alloc_migratetype, e.fallback_migratetype))
            .or_insert_with(|| ExtfragGroup {
                alloc_migratetype: e.alloc_migratetype,
                fallback_migratetype: e.fallback_migratetype,
                count: 0,
                fragmenting: 0,
                severe: 0,
            });
        group.count += 1;
        group.fragmenting += u64::from(fragmenting);
        group.severe += u64::from(e.severe());
    }

    pub fn snapshot(&self) -> Snapshot {
        let by_cgroup = self.cgroup_counts();
        Snapshot {
            counters: self.counters,
            failures: self.failures,
            silent_failures: self.silent_failures,
            by_order: self.by_order,
            silent_by_order: self.silent_by_order,
            by_hook: [FailureHook::Tracepoint, FailureHook::MemcgCharge, FailureHook::PageAllocator]
                .into_iter()
                .map(|h| (h, self.by_hook[h.code() as usize]))
                .filter(|(_, n)| *n > 0)
                .collect(),
            by_stack: self.stack_counts(),
            groups: self.failure_groups(),
            by_gfp: sorted_by_count(self.by_gfp.iter().map(|(k, v)| (*k, *v))),
            by_comm: sorted_by_count(self.groups.iter().map(|(comm, m)| (comm.clone(), m.values().map(|g| g.count).sum()))),
            by_pod: self.pod_counts(&by_cgroup),
            by_cgroup,
            extfrag: self.extfrag_total,
            extfrag_fragmenting: self.extfrag_fragmenting,
            extfrag_severe: self.extfrag_severe,
            extfrag_groups: self.extfrag_groups(),
            lost: self.lost,
            lag: LagSummary {
                p50_us: self.lag_us.value_at_quantile(0.5),
                p99_us: self.lag_us.value_at_quantile(0.99),
                max_us: self.lag_us.max(),
            },
            stalls: self.stall_summaries(),
            stalls_by_comm: sorted_by_count(self.stall_comm.iter().map(|(c, t)| (c.clone(), *t))),
            ooms: self.ooms.clone(),
            oom_total: self.oom_total,
            zones_ts_ns: self.zones.as_ref().map(|z| z.0),
            zones: self.zones.as_ref().map(|z| z.1.clone()).unwrap_or_default(),
            pageblocks: self.census.zones.clone(),
            alloc_probe: self.alloc_probe_summary(),
            polluters: self.polluters.snapshot(),
        }
    }

    /// Failure groups (comm, order, mask), most frequent first, then the newest.
    fn failure_groups(&self) -> Vec<FailureGroup> {
        let mut groups: Vec<FailureGroup> = self
            .groups
            .iter()
            .flat_map(|(comm, m)| m.iter().map(move |(k, g)| (comm, k, g)))
            .map(|(comm, (order, gfp_mask), g)| FailureGroup {
                comm: comm.clone(),
                order: *order,
                gfp_mask: *gfp_mask,
                count: g.count,
                last_seen_ns: g.last_seen_ns,
                top_stack: g.stacks.iter().max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id))).map(|(id, _)| *id),
                stacks: {
                    let mut top: Vec<(u32, u64)> = g.stacks.iter().map(|(id, n)| (*id, *n)).collect();
                    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    top.truncate(TOP_STACKS);
                    top
                },
            })
            .collect();
        groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen_ns.cmp(&a.last_seen_ns)).then(a.comm.cmp(&b.comm)));
        groups
    }

    fn stack_counts(&self) -> Vec<StackCount> {
        let mut by_stack: Vec<StackCount> =
            self.by_stack.iter().map(|(id, (n, last))| StackCount { stack_id: *id, count: *n, last_seen_ns: *last }).collect();
        by_stack.sort_by(|a, b| b.count.cmp(&a.count).then(a.stack_id.cmp(&b.stack_id)));
        by_stack
    }

    fn cgroup_counts(&self) -> Vec<CgroupCount> {
        let mut by_cgroup: Vec<CgroupCount> = self.by_cgroup.iter().map(|(id, tally)| Self::cgroup_count(*id, tally)).collect();
        by_cgroup.sort_by(|a, b| b.count.cmp(&a.count).then(a.cgroup_id.cmp(&b.cgroup_id)));
        by_cgroup
    }

    /// A pod's failures are its containers' cgroups' summed.
    fn pod_counts(&self, by_cgroup: &[CgroupCount]) -> Vec<PodCount> {
        let mut pods: HashMap<String, PodCount> = HashMap::default();
        for c in by_cgroup {
            if let Some(label) = self.pod_label(c.cgroup_id) {
                let p = pods.entry(label).or_insert_with_key(|label| PodCount { pod: label.clone(), count: 0, last_seen_ns: 0, cgroup_ids: Vec::new() });
                p.count += c.count;
                p.last_seen_ns = p.last_seen_ns.max(c.last_seen_ns);
                p.cgroup_ids.push(c.cgroup_id);
            }
        }
        let mut by_pod: Vec<PodCount> = pods.into_values().collect();
        by_pod.sort_by(|a, b| b.count.cmp(&a.count).then(a.pod.cmp(&b.pod)));
        by_pod
    }

    fn extfrag_groups(&self) -> Vec<ExtfragGroup> {
        let mut groups: Vec<ExtfragGroup> = self.extfrag.values().cloned().collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups
    }

    fn stall_summaries(&self) -> Vec<StallSummary> {
        let mut v: Vec<StallSummary> = self
            .stall_hists
            .iter()
            .map(|((kind, order), (h, total))| StallSummary {
                kind: *kind,
                order: *order,
                count: h.len(),
                p50_us: h.value_at_quantile(0.5),
                p90_us: h.value_at_quantile(0.9),
                p99_us: h.value_at_quantile(0.99),
                max_us: h.max(),
                total_us: *total,
            })
            .collect();
        v.sort_by_key(|s| (s.kind as u8, s.order));
        v
    }

    /// Forget everything counted so far. Definitions (cgroup paths), the zone state (with the
    /// pageblock census: "since start" stays the session's start) and the kernel counters
    /// are facts, not counts, and are kept.
    pub fn reset(&mut self) {
        let mut fresh = Self::new(self.pageblock_order, self.nowarn_bit, self.live);
        fresh.counters = self.counters;
        fresh.definitions = self.definitions.clone();
        fresh.zones = self.zones.take();
        fresh.census = std::mem::take(&mut self.census);
        fresh.alloc_probe = self.alloc_probe;
        fresh.alloc_probe_first_ns = self.alloc_probe_first_ns;
        fresh.newest_ns = self.newest_ns;
        *self = fresh;
    }
}

/// Key and count pairs, largest count first, ties by key (stable across snapshots).
fn sorted_by_count<K: Ord>(pairs: impl Iterator<Item = (K, u64)>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = pairs.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl Sink for Aggregator {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.zones = Some((snapshot.ts_ns, snapshot.zones()));
        self.census.observe_text(snapshot.ts_ns, snapshot.pagetypeinfo.as_deref());
        Ok(())
    }

    fn alloc_probe(&mut self, state: &AllocProbeState) -> Result<(), SinkError> {
        self.newest_ns = self.newest_ns.max(state.since_ns);
        let mut a = match self.alloc_probe {
            Some(a) => a,
            None => {
                self.alloc_probe_first_ns = state.since_ns;
                AllocProbeSummary::default()
            }
        };
        if a.attached {
            a.attached_ns += state.since_ns.saturating_sub(a.since_ns);
        }
        if state.attached && !a.attached {
            a.attaches += 1;
        }
        a.attached = state.attached;
        a.reason = state.reason;
        a.since_ns = state.since_ns;
        self.alloc_probe = Some(a);
        Ok(())
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.newest_ns = self.newest_ns.max(event.ts_ns());
        if self.live && !matches!(event, Event::Lost(_)) {
            let lag_us = monotonic_ns().saturating_sub(event.ts_ns()) / 1000;
            let _ = self.lag_us.record(lag_us.clamp(1, 60_000_000));
        }
        match event {
            Event::Failure(f) => self.failure(f),
            Event::Extfrag(e) => self.extfrag_event(e),
            Event::Stall(s) => self.stall(s),
            Event::Oom(o) => {
                self.ooms.push(OomSummary { ts_ns: o.task.ts_ns, killer: o.task.comm.clone(), victim_pid: o.victim_pid, victim_comm: o.victim_comm.clone(), anon_rss_kb: o.anon_rss_kb });
                if self.ooms.len() > MAX_OOMS {
                    self.ooms.remove(0);
                }
                self.oom_total += 1;
            }
            Event::Lost(l) => self.lost += l.count,
        }
        Ok(())
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.newest_ns = self.newest_ns.max(ts_ns);
        self.counters = *counters;
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.counters = *counters;
        Ok(())
    }
}

impl Snapshot {
    /// What [`Aggregator::snapshot`] says right after [`Aggregator::reset`]: the facts (kernel
    /// counters, zones, the gate's history) without any counts. Lets a view show a reset at
    /// once, before the aggregator it watches has applied it.
    pub fn after_reset(&self) -> Snapshot {
        Snapshot {
            counters: self.counters,
            zones_ts_ns: self.zones_ts_ns,
            zones: self.zones.clone(),
            pageblocks: self.pageblocks.clone(),
            alloc_probe: self.alloc_probe,
            ..Snapshot::default()
        }
    }
}

/// One refresh as published by a [`Publisher`]: immutable, shared by every watcher.
#[derive(Debug, Default)]
pub struct Published {
    /// The tick the snapshot was taken at (CLOCK_MONOTONIC, or recorded time in a replay).
    pub ts_ns: u64,
    /// How many resets the aggregator had applied when the snapshot was taken.
    pub epoch: u64,
    pub snapshot: Arc<Snapshot>,
    /// The stream's definitions: symbolized stacks by id, innermost frame first (shared,
    /// not copied per refresh).
    pub stacks: Definitions,
    /// The stream ended: this is the final state (sent from `finish`).
    pub last: bool,
}

/// The aggregate stage as a sink for views that run on their own: owns the [`Aggregator`]
/// and, at the first tick and then once per `every`, publishes an immutable snapshot on a
/// `watch` channel. Watchers always see the newest refresh; a slow one skips refreshes
/// instead of slowing the stream.
///
/// Control goes the other way without locks: a watcher asks for a reset by bumping the
/// counter from [`Publisher::reset_requests`] (applied before the next event or tick, and
/// every snapshot says which resets it follows), and ends the stream by dropping its
/// receiver (the next event or tick returns [`SinkError::Stopped`]).
pub struct Publisher {
    aggregator: Aggregator,
    /// The stream's definitions (see [`Sink::use_definitions`]), handed on with each refresh.
    stacks: Definitions,
    every_ns: u64,
    last_published: Option<u64>,
    newest_tick: u64,
    resets: Arc<AtomicU64>,
    epoch: u64,
    tx: watch::Sender<Arc<Published>>,
}

impl Publisher {
    /// The publisher and the receiving end of its snapshots (holding the initial, empty
    /// [`Published`] marked as seen).
    pub fn new(aggregator: Aggregator, every: Duration) -> (Self, watch::Receiver<Arc<Published>>) {
        let (tx, rx) = watch::channel(Arc::new(Published::default()));
        let publisher = Self {
            aggregator,
            stacks: Definitions::new(),
            every_ns: every.as_nanos() as u64,
            last_published: None,
            newest_tick: 0,
            resets: Arc::default(),
            epoch: 0,
            tx,
        };
        (publisher, rx)
    }

    /// Bump it (`fetch_add(1)`) to have the counts forgotten.
    pub fn reset_requests(&self) -> Arc<AtomicU64> {
        self.resets.clone()
    }

    fn apply_resets(&mut self) {
        let requested = self.resets.load(Ordering::Relaxed);
        if requested != self.epoch {
            self.aggregator.reset();
            self.epoch = requested;
        }
    }

    /// Applies pending resets; `Stopped` once nobody watches.
    fn control(&mut self) -> Result<(), SinkError> {
        if self.tx.is_closed() {
            return Err(SinkError::Stopped);
        }
        self.apply_resets();
        Ok(())
    }

    fn publish(&mut self, ts_ns: u64, last: bool) {
        self.last_published = Some(ts_ns);
        let published = Published { ts_ns, epoch: self.epoch, snapshot: Arc::new(self.aggregator.snapshot()), stacks: self.stacks.clone(), last };
        // Sent even with no watcher left: nothing is waiting for it then.
        self.tx.send_replace(Arc::new(published));
    }
}

impl Sink for Publisher {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.stacks = definitions.clone();
        self.aggregator.use_definitions(definitions);
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.control()?;
        self.aggregator.event(event)
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.aggregator.zones(snapshot)
    }

    fn alloc_probe(&mut self, state: &AllocProbeState) -> Result<(), SinkError> {
        self.aggregator.alloc_probe(state)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.control()?;
        self.aggregator.tick(ts_ns, counters)?;
        self.newest_tick = ts_ns;
        if self.last_published.is_none_or(|at| ts_ns.saturating_sub(at) >= self.every_ns) {
            self.publish(ts_ns, false);
        }
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        self.apply_resets();
        self.aggregator.finish(counters)?;
        self.publish(self.newest_tick, true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Lost, Task};

    fn task(comm: &str, ts: u64) -> Task {
        Task { ts_ns: ts, cpu: 0, pid: 1, tgid: 1, cgroup_id: 1, comm: comm.into() }
    }

    #[test]
    fn alloc_probe_time_watched() {
        use crate::probe_status::{AllocProbeState, ArmReason};
        const S: u64 = 1_000_000_000;
        let mut agg = Aggregator::new(9, 0x2000, false);
        assert_eq!(agg.snapshot().alloc_probe, None, "recordings without gate records say nothing");
        agg.alloc_probe(&AllocProbeState { attached: false, reason: None, since_ns: 10 * S }).unwrap();
        agg.alloc_probe(&AllocProbeState { attached: true, reason: Some(ArmReason::Compaction), since_ns: 20 * S }).unwrap();
        agg.alloc_probe(&AllocProbeState { attached: false, reason: None, since_ns: 50 * S }).unwrap();
        agg.alloc_probe(&AllocProbeState { attached: true, reason: Some(ArmReason::Vmstat), since_ns: 60 * S }).unwrap();
        agg.tick(70 * S, &Counters::default()).unwrap();
        let a = agg.snapshot().alloc_probe.unwrap();
        assert_eq!((a.attached, a.attaches, a.attached_ns, a.observed_ns, a.state_ns), (true, 2, 40 * S, 60 * S, 10 * S));
        assert!(a.partial());
        assert_eq!(a.describe(), "on for 10s (vmstat pressure counters)");
        agg.reset();
        assert_eq!(agg.snapshot().alloc_probe.map(|a| a.attached_ns), Some(40 * S), "a reset keeps the gate's history");
        let mut always = Aggregator::new(9, 0x2000, false);
        always.alloc_probe(&AllocProbeState { attached: true, reason: Some(ArmReason::Always), since_ns: 5 * S }).unwrap();
        always.tick(9 * S, &Counters::default()).unwrap();
        let a = always.snapshot().alloc_probe.unwrap();
        assert!(!a.partial());
        assert_eq!(a.describe(), "always on");
    }

    /// Months of pod churn, or a hostile recording, in one go: every key new.
    #[test]
    fn distinct_keys_are_bounded_and_the_overflow_is_counted() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        let defs = Definitions::new();
        agg.use_definitions(&defs);
        let n = MAX_KEYS as u64 * 3;
        for i in 0..n {
            let mut t = task(&format!("c{i}"), i);
            t.cgroup_id = 1000 + i;
            defs.define_cgroup(t.cgroup_id, Some(&format!("/pod{i}")));
            let f = Failure { task: t.clone(), order: (i % 40) as u32, gfp_mask: i, migratetype: 0, stack_id: Some(i as u32), ancestry: vec![], captured_cgroup: None, hook: Default::default() };
            agg.event(&Event::Failure(f)).unwrap();
            let stall = Stall { task: t, kind: StallKind::Compaction, order: i as i32, gfp_mask: 0, duration_ns: 1_000_000, result: 0 };
            agg.event(&Event::Stall(stall)).unwrap();
            agg.event(&Event::Extfrag(Extfrag { task: task("x", i), alloc_order: 0, fallback_order: 3, alloc_migratetype: i as i32, fallback_migratetype: 1, change_ownership: false, stack_id: None })).unwrap();
        }
        let s = agg.snapshot();
        assert_eq!(s.failures, n, "totals are exact");
        assert_eq!(s.extfrag, n);
        assert_eq!((s.extfrag_fragmenting, s.extfrag_severe), (n, n), "extfrag totals stay exact past the pair bound");
        assert!(s.by_comm.len() <= MAX_KEYS + 1 && s.by_cgroup.len() <= MAX_KEYS + 1, "{} {}", s.by_comm.len(), s.by_cgroup.len());
        assert!(s.groups.len() <= MAX_KEYS + ORDERS && s.by_gfp.len() <= MAX_KEYS && s.by_stack.len() <= MAX_KEYS);
        assert!(s.stalls.len() <= ORDERS + 1 && s.stalls_by_comm.len() <= MAX_KEYS + 1 && s.extfrag_groups.len() <= 64);
        assert_eq!(s.by_cgroup.iter().find(|c| c.cgroup_id == 1000).and_then(|c| c.path.as_deref()), Some("/pod0"));
        let other = s.by_comm.iter().find(|(c, _)| c == OTHER).expect("an (other) row").1;
        assert_eq!(other, n - MAX_KEYS as u64, "every folded failure is in (other)");
        assert_eq!(s.by_comm.iter().map(|(_, c)| c).sum::<u64>(), n);
        let other_cg = s.by_cgroup.iter().find(|c| c.cgroup_id == OTHER_CGROUP).expect("an (other) cgroup");
        assert_eq!((other_cg.count, other_cg.path.as_deref()), (n - MAX_KEYS as u64, Some(OTHER)));
        assert_eq!(s.stalls.iter().map(|h| h.count).sum::<u64>(), n, "stall orders are clamped, not dropped");
    }

    /// One comm with every (order, mask) and stack new; cgroups defined that never fail.
    #[test]
    fn per_comm_groups_stacks_and_definitions_are_bounded_too() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        for i in 0..10_000u64 {
            let f = Failure { task: task("one", i), order: (i % 11) as u32, gfp_mask: i, migratetype: 0, stack_id: Some(7), ancestry: vec![], captured_cgroup: None, hook: Default::default() };
            agg.event(&Event::Failure(f)).unwrap();
            let f = Failure { task: task("stacks", i), order: 3, gfp_mask: 0xcc0, migratetype: 0, stack_id: Some(i as u32), ancestry: vec![], captured_cgroup: None, hook: Default::default() };
            agg.event(&Event::Failure(f)).unwrap();
        }
        let s = agg.snapshot();
        let of = |comm: &str| s.groups.iter().filter(|g| g.comm == comm).count();
        assert_eq!(of("one"), MAX_GROUPS_PER_COMM);
        assert!(of(OTHER) <= ORDERS);
        assert_eq!(s.groups.iter().map(|g| g.count).sum::<u64>(), 20_000, "nothing lost from the groups");
        assert_eq!(agg.groups["stacks"][&(3, 0xcc0)].stacks.len(), MAX_STACKS_PER_GROUP);
    }

    /// Paths and pods come from the stream's table; a counted cgroup keeps them once the
    /// table forgets it (the session starts over after months of churn) and after a reset
    /// they are looked up again.
    #[test]
    fn cgroups_are_named_from_the_shared_definitions() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        let defs = Definitions::new();
        agg.use_definitions(&defs);
        let fail = |agg: &mut Aggregator, cgroup_id: u64| {
            let t = Task { cgroup_id, ..task("runc", 5) };
            agg.event(&Event::Failure(Failure { task: t, order: 4, gfp_mask: 0xcc0, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })).unwrap();
        };
        let pod = |name: &str| {
            let mut w = Workload::default();
            (w.pod.pod_namespace, w.pod.pod_name) = (Some("shop".into()), Some(name.into()));
            w
        };
        defs.define_cgroup(7, Some("/kubepods/a"));
        defs.define_workload(7, pod("web-0"));
        defs.define_cgroup(8, Some("/kubepods/b"));
        defs.define_workload(8, pod("web-0"));
        defs.define_cgroup(9, None);
        for id in [7, 7, 8, 9] {
            fail(&mut agg, id);
        }
        defs.forget_cgroups();
        let s = agg.snapshot();
        let paths: Vec<(u64, Option<&str>)> = s.by_cgroup.iter().map(|c| (c.cgroup_id, c.path.as_deref())).collect();
        assert_eq!(paths, vec![(7, Some("/kubepods/a")), (8, Some("/kubepods/b")), (9, None)]);
        assert_eq!(s.by_pod, vec![PodCount { pod: "shop/web-0".into(), count: 3, last_seen_ns: 5, cgroup_ids: vec![7, 8] }]);
        agg.reset();
        defs.define_cgroup(7, Some("/kubepods/a2"));
        fail(&mut agg, 7);
        assert_eq!(agg.snapshot().by_cgroup[0].path.as_deref(), Some("/kubepods/a2"));
    }

    #[test]
    fn counts_what_failed() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        for hook in [FailureHook::MemcgCharge, FailureHook::MemcgCharge, FailureHook::PageAllocator] {
            agg.event(&Event::Failure(Failure { task: task("runc", 1), order: 5, gfp_mask: 0xcc0, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook })).unwrap();
        }
        assert_eq!(agg.snapshot().by_hook, vec![(FailureHook::MemcgCharge, 2), (FailureHook::PageAllocator, 1)], "zero counts are left out");
    }

    #[test]
    fn groups_and_counts() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        for (comm, order, gfp, stack) in [("a", 4, 0x2000u64, Some(1)), ("a", 4, 0x2000, Some(2)), ("a", 4, 0x2000, Some(2)), ("b", 12, 0xcc0, None)] {
            agg.event(&Event::Failure(Failure { task: task(comm, 5), order, gfp_mask: gfp, migratetype: 0, stack_id: stack, ancestry: vec![], captured_cgroup: None, hook: Default::default() })).unwrap();
        }
        agg.event(&Event::Extfrag(Extfrag { task: task("c", 6), alloc_order: 0, fallback_order: 3, alloc_migratetype: 0, fallback_migratetype: 1, change_ownership: false, stack_id: None })).unwrap();
        agg.event(&Event::Lost(Lost { ts_ns: 7, count: 5 })).unwrap();
        let s = agg.snapshot();
        assert_eq!(s.failures, 4);
        assert_eq!(s.silent_failures, 3);
        assert_eq!(s.by_order[4], 3);
        assert_eq!(s.by_order[ORDERS - 1], 1, "order 12 lands in the last bucket");
        assert_eq!(
            s.groups[0],
            FailureGroup { comm: "a".into(), order: 4, gfp_mask: 0x2000, count: 3, last_seen_ns: 5, top_stack: Some(2), stacks: vec![(2, 2), (1, 1)] }
        );
        assert_eq!(s.silent_by_order[4], 3);
        assert_eq!(s.by_stack[0], StackCount { stack_id: 2, count: 2, last_seen_ns: 5 });
        assert_eq!((s.extfrag, s.extfrag_fragmenting, s.extfrag_severe), (1, 1, 1));
        assert_eq!(s.lost, 5);
        assert_eq!(s.by_gfp, vec![(0x2000, 3), (0xcc0, 1)]);
        assert_eq!(s.by_comm, vec![("a".to_string(), 3), ("b".to_string(), 1)]);
        assert_eq!(s.by_cgroup, vec![CgroupCount { cgroup_id: 1, path: None, count: 4, last_seen_ns: 5 }]);
        agg.reset();
        assert_eq!(agg.snapshot().failures, 0);
    }

    #[test]
    fn a_publisher_refreshes_once_per_interval_resets_on_request_and_stops_unwatched() {
        const S: u64 = 1_000_000_000;
        let fail = |ts| {
            Event::Failure(Failure { task: task("cat", ts), order: 4, gfp_mask: 0xcc0, migratetype: 0, stack_id: Some(3), ancestry: vec![], captured_cgroup: None, hook: Default::default() })
        };
        let (mut p, mut rx) = Publisher::new(Aggregator::new(9, 0x2000, false), Duration::from_secs(2));
        let defs = Definitions::new();
        p.use_definitions(&defs);
        defs.define_stack(3, &["__alloc_pages_noprof".into()]);
        p.event(&fail(S)).unwrap();
        p.tick(S, &Counters::default()).unwrap();
        assert!(rx.has_changed().unwrap(), "the first tick publishes");
        let first = rx.borrow_and_update().clone();
        assert_eq!((first.ts_ns, first.epoch, first.snapshot.failures, first.last), (S, 0, 1, false));
        assert_eq!(first.stacks.stack(3).as_deref(), Some(&["__alloc_pages_noprof".to_string()][..]));
        p.event(&fail(2 * S)).unwrap();
        p.tick(2 * S, &Counters::default()).unwrap();
        assert!(!rx.has_changed().unwrap(), "one second later: no refresh yet");
        p.tick(3 * S, &Counters::default()).unwrap();
        assert_eq!(rx.borrow_and_update().snapshot.failures, 2, "two seconds later: refreshed");
        p.reset_requests().fetch_add(1, Ordering::Relaxed);
        p.event(&fail(4 * S)).unwrap();
        p.finish(&Counters::default()).unwrap();
        let end = rx.borrow_and_update().clone();
        assert_eq!((end.ts_ns, end.epoch, end.snapshot.failures, end.last), (3 * S, 1, 1, true), "counted since the reset");
        drop(rx);
        assert!(matches!(p.event(&fail(5 * S)), Err(SinkError::Stopped)), "nobody watches: the stream stops");
    }

    #[test]
    fn a_snapshot_after_reset_is_what_the_aggregator_says_after_one() {
        let mut agg = Aggregator::new(9, 0x2000, false);
        agg.alloc_probe(&AllocProbeState { attached: true, reason: Some(ArmReason::Always), since_ns: 5 }).unwrap();
        agg.event(&Event::Lost(Lost { ts_ns: 6, count: 3 })).unwrap();
        agg.tick(9, &Counters { dropped: 3, ..Counters::default() }).unwrap();
        let before = agg.snapshot();
        agg.reset();
        let json = |s: &Snapshot| serde_json::to_value(s).unwrap();
        assert_eq!(json(&before.after_reset()), json(&agg.snapshot()));
        assert_eq!(before.after_reset().counters.dropped, 3, "kernel counters are kept");
    }
}

#[cfg(test)]
mod stall_tests {
    use super::*;
    use crate::event::{OomKill, Task};

    fn stall(kind: StallKind, order: i32, us: u64, comm: &str) -> Event {
        Event::Stall(Stall {
            task: Task { ts_ns: 1, cpu: 0, pid: 1, tgid: 1, cgroup_id: 1, comm: comm.into() },
            kind,
            order,
            gfp_mask: 0xcc0,
            duration_ns: us * 1000,
            result: 32,
        })
    }

    #[test]
    fn stall_latencies_per_kind_and_order_and_oom_kills() {
        let mut agg = Aggregator::new(9, 0, false);
        for us in [100, 200, 300, 400, 10_000] {
            agg.event(&stall(StallKind::Reclaim, 0, us, "cat")).unwrap();
        }
        agg.event(&stall(StallKind::Compaction, 6, 50_000, "runc")).unwrap();
        agg.event(&Event::Oom(OomKill {
            task: Task { ts_ns: 9, cpu: 0, pid: 2, tgid: 2, cgroup_id: 1, comm: "java".into() },
            victim_pid: 7,
            victim_comm: "java".into(),
            anon_rss_kb: 1024,
        }))
        .unwrap();
        let s = agg.snapshot();
        assert_eq!(s.stalls.len(), 2);
        let r = &s.stalls[0];
        assert_eq!((r.kind, r.order, r.count, r.total_us), (StallKind::Reclaim, 0, 5, 11_000));
        assert!(r.p50_us >= 299 && r.p50_us <= 301, "{r:?}");
        assert!((9_900..=10_100).contains(&r.max_us), "two significant digits: {r:?}");
        assert_eq!(s.stalls[1].kind, StallKind::Compaction);
        assert_eq!(s.stalls_by_comm[0], ("runc".to_string(), 50_000));
        assert_eq!(s.oom_total, 1);
        assert_eq!(s.ooms[0].victim_pid, 7);
    }
}
