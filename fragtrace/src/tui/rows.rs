//! The failures pane's rows for the current grouping, filter and sort: a pure function of
//! the screen, shared by the pane and the stacks overlay.

use super::{
    screen::Screen,
    state::{GroupBy, SortBy},
};

#[derive(Clone, Debug, PartialEq)]
pub struct FailureRow {
    /// Identifies the group across refreshes (the selection follows it when rows re-sort).
    pub key: String,
    /// What the row is: the comm, the cgroup path or the stack's caller.
    pub label: String,
    pub order: Option<u32>,
    pub gfp: Option<String>,
    pub count: u64,
    pub rate: f64,
    pub last_seen_ns: u64,
    /// Caller frame of the most frequent stack.
    pub caller: Option<String>,
    /// The row's most frequent stacks (id, count).
    pub stacks: Vec<(u32, u64)>,
}

pub fn failure_rows(screen: &Screen) -> Vec<FailureRow> {
    let mut rows: Vec<FailureRow> = match screen.ui.group_by {
        GroupBy::Process => process_rows(screen),
        GroupBy::Pod => pod_rows(screen),
        GroupBy::Cgroup => cgroup_rows(screen),
        GroupBy::Stack => stack_rows(screen),
    };
    if !screen.ui.filter.is_empty() {
        let needle = screen.ui.filter.to_lowercase();
        rows.retain(|row| {
            row.label.to_lowercase().contains(&needle)
                || row.gfp.as_deref().is_some_and(|g| g.to_lowercase().contains(&needle))
                || row.caller.as_deref().is_some_and(|c| c.to_lowercase().contains(&needle))
        });
    }
    match screen.ui.sort {
        SortBy::Count => rows.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen_ns.cmp(&a.last_seen_ns))),
        SortBy::Rate => rows.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(b.count.cmp(&a.count))),
        SortBy::LastSeen => rows.sort_by(|a, b| b.last_seen_ns.cmp(&a.last_seen_ns).then(b.count.cmp(&a.count))),
        SortBy::Order => rows.sort_by(|a, b| b.order.cmp(&a.order).then(b.count.cmp(&a.count))),
    }
    rows
}

/// One row per process.
fn process_rows(screen: &Screen) -> Vec<FailureRow> {
    let (s, r) = (&screen.snapshot, &screen.rates);
    s
        .groups
        .iter()
        .map(|g| FailureRow {
            key: format!("p\0{}\0{}\0{}", g.comm, g.order, g.gfp_mask),
            label: g.comm.clone(),
            order: Some(g.order),
            // "__GFP_" adds nothing on screen: GFP_KERNEL_ACCOUNT|ZERO|NOWARN|COMP.
            gfp: Some(screen.gfp.decode_joined(g.gfp_mask).replace("__GFP_", "")),
            count: g.count,
            rate: r.groups.get(&(g.comm.clone(), g.order, g.gfp_mask)).copied().unwrap_or(0.0),
            last_seen_ns: g.last_seen_ns,
            caller: g.top_stack.and_then(|id| screen.caller(id)),
            stacks: g.stacks.clone(),
        })
        .collect()
}

/// One row per pod.
fn pod_rows(screen: &Screen) -> Vec<FailureRow> {
    let (s, r) = (&screen.snapshot, &screen.rates);
    s
        .by_pod
        .iter()
        .map(|p| FailureRow {
            key: format!("pod\0{}", p.pod),
            label: p.pod.clone(),
            order: None,
            gfp: None,
            count: p.count,
            rate: p.cgroup_ids.iter().filter_map(|id| r.cgroups.get(id)).sum(),
            last_seen_ns: p.last_seen_ns,
            caller: None,
            stacks: Vec::new(),
        })
        .collect()
}

/// One row per cgroup.
fn cgroup_rows(screen: &Screen) -> Vec<FailureRow> {
    let (s, r) = (&screen.snapshot, &screen.rates);
    s
        .by_cgroup
        .iter()
        .map(|c| FailureRow {
            key: format!("c\0{}", c.cgroup_id),
            label: c.path.clone().unwrap_or_else(|| format!("cgroup id {}", c.cgroup_id)),
            order: None,
            gfp: None,
            count: c.count,
            rate: r.cgroups.get(&c.cgroup_id).copied().unwrap_or(0.0),
            last_seen_ns: c.last_seen_ns,
            caller: None,
            stacks: Vec::new(),
        })
        .collect()
}

/// One row per stack.
fn stack_rows(screen: &Screen) -> Vec<FailureRow> {
    let (s, r) = (&screen.snapshot, &screen.rates);
    s
        .by_stack
        .iter()
        .map(|st| FailureRow {
            key: format!("s\0{}", st.stack_id),
            // Stacks that share a caller differ further down: say which one this is.
            label: match screen.caller(st.stack_id) {
                Some(caller) => format!("{caller} (stack {})", st.stack_id),
                None => format!("stack {}", st.stack_id),
            },
            order: None,
            gfp: None,
            count: st.count,
            rate: r.stacks.get(&st.stack_id).copied().unwrap_or(0.0),
            last_seen_ns: st.last_seen_ns,
            caller: None,
            stacks: vec![(st.stack_id, st.count)],
        })
        .collect()
}
