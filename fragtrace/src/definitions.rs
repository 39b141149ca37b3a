//! The definitions behind an event stream's ids: symbolized kernel stacks (stack id →
//! frames), cgroup paths (cgroup id → path) and workloads (cgroup id → container and pod).
//!
//! One table per stream, filled once per new id by whoever drives the stream (the live
//! session, or a replay from a recording's definition records) and shared with the sinks,
//! which look ids up instead of keeping their own copies. Handles are cheap clones of one
//! `Arc`; lookups hand out `Arc`s, so nothing is copied per event.
//!
//! The table does not bound itself: the driver decides when to start over
//! ([`Definitions::forget_cgroups`]), as it also decides what the sinks are told.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rustc_hash::FxHashMap;

use crate::identity::Workload;

#[derive(Default)]
struct Tables {
    stacks: FxHashMap<u32, Arc<[String]>>,
    /// `None`: the cgroup is known but its path could not be resolved.
    cgroups: FxHashMap<u64, Option<Arc<str>>>,
    workloads: FxHashMap<u64, Arc<Workload>>,
}

/// A copy of the table's entries (the values themselves are shared, not copied).
pub struct AllDefinitions {
    pub stacks: Vec<(u32, Arc<[String]>)>,
    pub cgroups: Vec<(u64, Option<Arc<str>>)>,
    pub workloads: Vec<(u64, Arc<Workload>)>,
}

/// A shared handle on one stream's definitions; clones see the same table.
#[derive(Clone, Default)]
pub struct Definitions(Arc<RwLock<Tables>>);

impl std::fmt::Debug for Definitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.read();
        f.debug_struct("Definitions")
            .field("stacks", &t.stacks.len())
            .field("cgroups", &t.cgroups.len())
            .field("workloads", &t.workloads.len())
            .finish()
    }
}

impl Definitions {
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock leaves plain maps behind, still consistent enough
    // for lookups: poisoning is ignored.
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A stack's frames, innermost first.
    pub fn stack(&self, id: u32) -> Option<Arc<[String]>> {
        self.read().stacks.get(&id).cloned()
    }

    pub fn has_stack(&self, id: u32) -> bool {
        self.read().stacks.contains_key(&id)
    }

    pub fn stack_count(&self) -> usize {
        self.read().stacks.len()
    }

    /// Defines a stack unless already defined; returns the frames when the id is new.
    pub fn define_stack(&self, id: u32, frames: &[String]) -> Option<Arc<[String]>> {
        let mut t = self.write();
        if t.stacks.contains_key(&id) {
            return None;
        }
        let frames: Arc<[String]> = frames.into();
        t.stacks.insert(id, frames.clone());
        Some(frames)
    }

    /// `None` when the cgroup is unknown; `Some(None)` when known without a path.
    pub fn cgroup(&self, id: u64) -> Option<Option<Arc<str>>> {
        self.read().cgroups.get(&id).cloned()
    }

    /// The cgroup's path, if known and resolved.
    pub fn cgroup_path(&self, id: u64) -> Option<Arc<str>> {
        self.read().cgroups.get(&id).cloned().flatten()
    }

    pub fn cgroup_count(&self) -> usize {
        self.read().cgroups.len()
    }

    /// Defines a cgroup's path unless already defined; returns whether the id was new.
    pub fn define_cgroup(&self, id: u64, path: Option<&str>) -> bool {
        let mut t = self.write();
        if t.cgroups.contains_key(&id) {
            return false;
        }
        t.cgroups.insert(id, path.map(Arc::from));
        true
    }

    pub fn workload(&self, cgroup_id: u64) -> Option<Arc<Workload>> {
        self.read().workloads.get(&cgroup_id).cloned()
    }

    pub fn workload_count(&self) -> usize {
        self.read().workloads.len()
    }

    /// Defines who a cgroup belongs to unless already defined; returns whether it was new.
    pub fn define_workload(&self, cgroup_id: u64, workload: Workload) -> bool {
        let mut t = self.write();
        if t.workloads.contains_key(&cgroup_id) {
            return false;
        }
        t.workloads.insert(cgroup_id, Arc::new(workload));
        true
    }

    /// Every stack, cgroup and workload defined so far, in no particular order (e.g. to
    /// write them into a new recording).
    pub fn all(&self) -> AllDefinitions {
        let t = self.read();
        AllDefinitions {
            stacks: t.stacks.iter().map(|(id, f)| (*id, f.clone())).collect(),
            cgroups: t.cgroups.iter().map(|(id, p)| (*id, p.clone())).collect(),
            workloads: t.workloads.iter().map(|(id, w)| (*id, w.clone())).collect(),
        }
    }

    /// Forgets every cgroup and workload (months of pod churn); stacks stay.
    pub fn forget_cgroups(&self) {
        let mut t = self.write();
        t.cgroups.clear();
        t.workloads.clear();
    }

    /// Forgets the workloads only.
    pub fn forget_workloads(&self) {
        self.write().workloads.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defines_once_and_shares_between_handles() {
        let defs = Definitions::new();
        let view = defs.clone();
        assert!(defs.define_stack(3, &["a".into(), "b".into()]).is_some());
        assert!(defs.define_stack(3, &["other".into()]).is_none(), "a stack is defined once");
        assert_eq!(view.stack(3).as_deref(), Some(&["a".to_string(), "b".to_string()][..]));
        assert!(defs.define_cgroup(7, None));
        assert!(!defs.define_cgroup(7, Some("/late")));
        assert_eq!(view.cgroup(7), Some(None));
        assert_eq!(view.cgroup_path(7), None);
        assert_eq!(view.cgroup(8), None);
        assert!(defs.define_workload(7, Workload::default()));
        assert!(view.workload(7).is_some());
        defs.forget_cgroups();
        assert_eq!((view.cgroup_count(), view.workload_count(), view.stack_count()), (0, 0, 1));
    }
}
