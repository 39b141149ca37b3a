//! Who fragments memory: extfrag fallbacks attributed to task names, cgroups (and so pods)
//! and kernel stacks, and ranked by the harm they do, not just by how many there were.
//!
//! Each fallback is of one [`FallbackKind`], checked in this order:
//! - **stolen**: an unmovable or reclaimable allocation took a whole pageblock over
//!   (`change_ownership`). The block now holds pages compaction cannot move, for as long as
//!   any of them lives: the lasting damage.
//! - **fragmenting**: the fallback split a block smaller than a pageblock
//!   (`fallback_order < pageblock_order`), mixing migratetypes inside one pageblock.
//! - **other**: a whole pageblock or more was taken without mixing, or a movable allocation
//!   took a block over (its pages can be migrated away again).
//!
//! Harm = [`HARM_STOLEN`] × stolen + [`HARM_FRAGMENTING`] × fragmenting + [`HARM_OTHER`] ×
//! other: weights that order the kinds, not measured quantities.

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use super::{MAX_KEYS, OTHER, OTHER_CGROUP, has_room};
use crate::{definitions::Definitions, event::Extfrag};

/// Harm of one stolen pageblock.
pub const HARM_STOLEN: u64 = 10;
/// Harm of one fragmenting fallback.
pub const HARM_FRAGMENTING: u64 = 3;
/// Harm of any other fallback.
pub const HARM_OTHER: u64 = 1;

/// Stacks kept in a snapshot (the most harmful).
pub const TOP_POLLUTER_STACKS: usize = 20;

/// Migratetypes whose pages compaction cannot move (include/linux/mmzone.h).
const UNMOVABLE: i32 = 0;
const RECLAIMABLE: i32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FallbackKind {
    Stolen,
    Fragmenting,
    Other,
}

impl FallbackKind {
    pub fn of(e: &Extfrag, pageblock_order: u32) -> Self {
        let unmovable = matches!(e.alloc_migratetype, UNMOVABLE | RECLAIMABLE);
        if e.change_ownership && unmovable {
            FallbackKind::Stolen
        } else if e.fragmenting(pageblock_order) {
            FallbackKind::Fragmenting
        } else {
            FallbackKind::Other
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FallbackKind::Stolen => "stolen",
            FallbackKind::Fragmenting => "fragmenting",
            FallbackKind::Other => "other",
        }
    }
}

/// Fallbacks of one polluter, by kind.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct HarmCounts {
    pub stolen: u64,
    pub fragmenting: u64,
    pub other: u64,
}

impl HarmCounts {
    pub fn add(&mut self, kind: FallbackKind) {
        match kind {
            FallbackKind::Stolen => self.stolen += 1,
            FallbackKind::Fragmenting => self.fragmenting += 1,
            FallbackKind::Other => self.other += 1,
        }
    }

    pub fn merge(&mut self, other: &HarmCounts) {
        self.stolen += other.stolen;
        self.fragmenting += other.fragmenting;
        self.other += other.other;
    }

    pub fn fallbacks(&self) -> u64 {
        self.stolen + self.fragmenting + self.other
    }

    /// The documented harm score (see the module docs).
    pub fn harm(&self) -> u64 {
        HARM_STOLEN * self.stolen + HARM_FRAGMENTING * self.fragmenting + HARM_OTHER * self.other
    }

    /// Most harmful first, then most fallbacks.
    fn rank(&self) -> (std::cmp::Reverse<u64>, std::cmp::Reverse<u64>) {
        (std::cmp::Reverse(self.harm()), std::cmp::Reverse(self.fallbacks()))
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CommPolluter {
    pub comm: String,
    pub counts: HarmCounts,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CgroupPolluter {
    pub cgroup_id: u64,
    pub path: Option<String>,
    pub counts: HarmCounts,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PodPolluter {
    pub pod: String,
    pub counts: HarmCounts,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StackPolluter {
    pub stack_id: u32,
    pub counts: HarmCounts,
}

/// Who fragments, most harmful first.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PollutersSnapshot {
    pub by_comm: Vec<CommPolluter>,
    pub by_cgroup: Vec<CgroupPolluter>,
    /// Tasks outside pods are not here.
    pub by_pod: Vec<PodPolluter>,
    /// The most harmful sampled stacks, at most [`TOP_POLLUTER_STACKS`].
    pub stacks: Vec<StackPolluter>,
    /// Fallbacks that came with a stack (the sample behind `stacks`).
    pub stacks_sampled: u64,
}

/// Counts fallbacks per comm, cgroup and stack; bounded like the failure tables (past
/// [`MAX_KEYS`] new comms and cgroups fold into [`OTHER`], new stacks are not kept).
#[derive(Default)]
pub struct Polluters {
    by_comm: HashMap<String, HarmCounts>,
    by_cgroup: HashMap<u64, HarmCounts>,
    by_stack: HashMap<u32, HarmCounts>,
    /// Path and pod label of each counted cgroup, taken from the shared definitions when
    /// it is first counted, so a ranked cgroup keeps its name after it is removed.
    names: HashMap<u64, (Option<String>, Option<String>)>,
    stacks_sampled: u64,
}

impl Polluters {
    pub fn record(&mut self, e: &Extfrag, pageblock_order: u32, definitions: &Definitions) {
        let kind = FallbackKind::of(e, pageblock_order);
        let comm = e.task.comm.as_str();
        let room = self.by_comm.len() < MAX_KEYS;
        match self.by_comm.get_mut(comm) {
            Some(c) => c.add(kind),
            None if room => self.by_comm.entry(comm.to_string()).or_default().add(kind),
            None => self.by_comm.entry(OTHER.to_string()).or_default().add(kind),
        }
        let cgroup = if has_room(&self.by_cgroup, &e.task.cgroup_id, MAX_KEYS) { e.task.cgroup_id } else { OTHER_CGROUP };
        self.by_cgroup.entry(cgroup).or_default().add(kind);
        self.names.entry(cgroup).or_insert_with(|| name_of(definitions, cgroup));
        if let Some(id) = e.stack_id {
            self.stacks_sampled += 1;
            if has_room(&self.by_stack, &id, MAX_KEYS) {
                self.by_stack.entry(id).or_default().add(kind);
            }
        }
    }

    pub fn snapshot(&self) -> PollutersSnapshot {
        let path = |id: &u64| self.names.get(id).and_then(|(path, _)| path.clone());
        let mut by_comm: Vec<CommPolluter> = self.by_comm.iter().map(|(c, n)| CommPolluter { comm: c.clone(), counts: *n }).collect();
        by_comm.sort_by(|a, b| a.counts.rank().cmp(&b.counts.rank()).then_with(|| a.comm.cmp(&b.comm)));
        let mut by_cgroup: Vec<CgroupPolluter> = self
            .by_cgroup
            .iter()
            .map(|(id, n)| CgroupPolluter { cgroup_id: *id, path: path(id), counts: *n })
            .collect();
        by_cgroup.sort_by(|a, b| a.counts.rank().cmp(&b.counts.rank()).then(a.cgroup_id.cmp(&b.cgroup_id)));
        let mut stacks: Vec<StackPolluter> = self.by_stack.iter().map(|(id, n)| StackPolluter { stack_id: *id, counts: *n }).collect();
        stacks.sort_by(|a, b| a.counts.rank().cmp(&b.counts.rank()).then(a.stack_id.cmp(&b.stack_id)));
        stacks.truncate(TOP_POLLUTER_STACKS);
        PollutersSnapshot { by_pod: by_pod(&by_cgroup, &self.names), by_comm, by_cgroup, stacks, stacks_sampled: self.stacks_sampled }
    }
}

/// The cgroup's path and pod label as the stream defined them ([`OTHER`] for the overflow row).
fn name_of(definitions: &Definitions, id: u64) -> (Option<String>, Option<String>) {
    if id == OTHER_CGROUP {
        return (Some(OTHER.to_string()), None);
    }
    let path = definitions.cgroup_path(id).map(|p| p.to_string());
    (path, definitions.workload(id).and_then(|w| w.pod_label()))
}

/// A pod's fallbacks are its containers' cgroups' summed.
fn by_pod(by_cgroup: &[CgroupPolluter], names: &HashMap<u64, (Option<String>, Option<String>)>) -> Vec<PodPolluter> {
    let mut sums: HashMap<&str, HarmCounts> = HashMap::default();
    for c in by_cgroup {
        if let Some((_, Some(pod))) = names.get(&c.cgroup_id) {
            sums.entry(pod.as_str()).or_default().merge(&c.counts);
        }
    }
    let mut out: Vec<PodPolluter> = sums.into_iter().map(|(pod, counts)| PodPolluter { pod: pod.to_string(), counts }).collect();
    out.sort_by(|a, b| a.counts.rank().cmp(&b.counts.rank()).then_with(|| a.pod.cmp(&b.pod)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Task;
    use crate::identity::{PodInfo, Workload, parse_cgroup_path};

    fn fallback(comm: &str, cgroup_id: u64, fallback_order: i32, alloc_mt: i32, stolen: bool, stack: Option<u32>) -> Extfrag {
        Extfrag {
            task: Task { ts_ns: 1, cpu: 0, pid: 1, tgid: 1, cgroup_id, comm: comm.into() },
            alloc_order: 0,
            fallback_order,
            alloc_migratetype: alloc_mt,
            fallback_migratetype: 1,
            change_ownership: stolen,
            stack_id: stack,
        }
    }

    #[test]
    fn kinds_follow_the_documented_order() {
        assert_eq!(FallbackKind::of(&fallback("a", 1, 3, UNMOVABLE, true, None), 9), FallbackKind::Stolen);
        assert_eq!(FallbackKind::of(&fallback("a", 1, 3, RECLAIMABLE, true, None), 9), FallbackKind::Stolen);
        assert_eq!(FallbackKind::of(&fallback("a", 1, 3, 1, true, None), 9), FallbackKind::Fragmenting, "a movable claim is not a steal");
        assert_eq!(FallbackKind::of(&fallback("a", 1, 3, UNMOVABLE, false, None), 9), FallbackKind::Fragmenting);
        assert_eq!(FallbackKind::of(&fallback("a", 1, 9, UNMOVABLE, false, None), 9), FallbackKind::Other);
    }

    #[test]
    fn ranks_by_harm_not_by_count() {
        let defs = Definitions::new();
        defs.define_cgroup(8, Some("/kubepods/pod1/c1"));
        let pod = PodInfo { pod_name: Some("web-0".into()), pod_namespace: Some("shop".into()), ..PodInfo::default() };
        defs.define_workload(8, Workload { container: parse_cgroup_path("/kubepods/pod1/c1"), pod });
        let mut p = Polluters::default();
        // Twelve harmless fallbacks against two stolen pageblocks.
        for _ in 0..12 {
            p.record(&fallback("kworker/0:1", 7, 10, UNMOVABLE, false, None), 9, &defs);
        }
        p.record(&fallback("alloc-trigger", 8, 4, UNMOVABLE, true, Some(1 << 31 | 3)), 9, &defs);
        p.record(&fallback("alloc-trigger", 8, 4, UNMOVABLE, true, None), 9, &defs);
        let s = p.snapshot();
        assert_eq!(s.by_comm[0].comm, "alloc-trigger");
        assert_eq!((s.by_comm[0].counts.stolen, s.by_comm[0].counts.harm()), (2, 20));
        assert_eq!((s.by_comm[1].counts.fallbacks(), s.by_comm[1].counts.harm()), (12, 12));
        assert_eq!((s.by_cgroup[0].cgroup_id, s.by_cgroup[0].path.as_deref()), (8, Some("/kubepods/pod1/c1")));
        assert_eq!(s.by_pod, vec![PodPolluter { pod: "shop/web-0".into(), counts: HarmCounts { stolen: 2, fragmenting: 0, other: 0 } }]);
        assert_eq!(s.stacks, vec![StackPolluter { stack_id: 1 << 31 | 3, counts: HarmCounts { stolen: 1, fragmenting: 0, other: 0 } }]);
        assert_eq!(s.stacks_sampled, 1);
    }

    #[test]
    fn is_bounded_and_counts_the_overflow() {
        let mut p = Polluters::default();
        let n = MAX_KEYS as u64 + 10;
        for i in 0..n {
            p.record(&fallback(&format!("c{i}"), 100 + i, 3, UNMOVABLE, false, Some(i as u32)), 9, &Definitions::new());
        }
        let s = p.snapshot();
        assert!(s.by_comm.len() <= MAX_KEYS + 1 && s.by_cgroup.len() <= MAX_KEYS + 1);
        assert_eq!(s.by_comm.iter().map(|c| c.counts.fallbacks()).sum::<u64>(), n, "every fallback counted");
        assert_eq!(s.by_cgroup.iter().map(|c| c.counts.fallbacks()).sum::<u64>(), n);
        assert_eq!(s.stacks.len(), TOP_POLLUTER_STACKS);
        assert_eq!(s.stacks_sampled, n);
    }
}
