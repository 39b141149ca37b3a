//! The "Who fragments" section of SUMMARY.md: the processes whose extfrag fallbacks fell in
//! the captured window, most harmful first (weights as in `aggregate::polluters`).

use std::{collections::HashMap, fmt::Write};

use crate::{
    aggregate::{FallbackKind, HarmCounts, OTHER},
    event::Extfrag,
    view::polluters::describe,
};

/// Processes counted one by one in a window; later ones are folded into [`OTHER`].
const MAX_COMMS: usize = 256;
/// Rows in the section.
const SHOWN: usize = 5;

/// Fallbacks per process over the captured window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowPolluters(HashMap<String, HarmCounts>);

impl WindowPolluters {
    pub fn add(&mut self, e: &Extfrag, pageblock_order: u32) {
        let kind = FallbackKind::of(e, pageblock_order);
        let comm = if self.0.len() < MAX_COMMS || self.0.contains_key(&e.task.comm) { e.task.comm.as_str() } else { OTHER };
        self.0.entry(comm.to_string()).or_default().add(kind);
    }

    fn ranked(&self) -> Vec<(&str, &HarmCounts)> {
        let mut v: Vec<(&str, &HarmCounts)> = self.0.iter().map(|(c, n)| (c.as_str(), n)).collect();
        v.sort_by(|a, b| b.1.harm().cmp(&a.1.harm()).then(b.1.fallbacks().cmp(&a.1.fallbacks())).then(a.0.cmp(b.0)));
        v
    }

    /// The section, or nothing when the window had no fallback.
    pub fn write_section(&self, out: &mut String) {
        if self.0.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## Who fragments\n");
        let _ = writeln!(out, "Extfrag fallbacks in the window by process, most harmful first (a pageblock stolen by an unmovable or reclaimable allocation weighs most, then fallbacks that split a pageblock; `fragtrace report --json trace.ftr` has them by cgroup, pod and stack):\n");
        for (comm, counts) in self.ranked().into_iter().take(SHOWN) {
            let _ = writeln!(out, "- {}", describe(&format!("`{comm}`"), counts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Task;

    #[test]
    fn ranks_the_window_by_harm() {
        let mut w = WindowPolluters::default();
        let mut out = String::new();
        w.write_section(&mut out);
        assert!(out.is_empty(), "no section without fallbacks");
        let e = |comm: &str, stolen: bool, fallback_order: i32| Extfrag {
            task: Task { ts_ns: 1, cpu: 0, pid: 1, tgid: 1, cgroup_id: 1, comm: comm.into() },
            alloc_order: 0,
            fallback_order,
            alloc_migratetype: 0,
            fallback_migratetype: 1,
            change_ownership: stolen,
            stack_id: None,
        };
        for _ in 0..5 {
            w.add(&e("kswapd0", false, 10), 9);
        }
        w.add(&e("alloc-trigger", true, 3), 9);
        w.write_section(&mut out);
        let first = out.find("alloc-trigger").expect("listed");
        assert!(first < out.find("kswapd0").expect("listed"), "{out}");
        assert!(out.contains("- `alloc-trigger`: harm 10 (1 stolen, 0 fragmenting, 0 other of 1 fallbacks)"), "{out}");
    }
}
