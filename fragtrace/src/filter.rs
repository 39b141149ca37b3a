//! Event filters shared by `top`, `record` and `report`.
//!
//! A filter has four lists. Values within one list are alternatives (OR); every non-empty list
//! must match (AND). Lost-event records always match: a filter narrows what is shown, it must
//! never hide that the kernel dropped records.
//!
//! Pattern semantics:
//! - **comm** patterns are shell-style globs: `*` matches any run of characters, `?` exactly
//!   one; there are no bracket classes (`[` is an ordinary character). A pattern without
//!   wildcards matches the task name exactly, except that the kernel keeps only the first 15
//!   bytes of a name, so a longer pattern matches a name equal to its first 15 bytes.
//! - **cgroup** patterns are paths in the cgroup v2 hierarchy. With wildcards they are a glob
//!   over the whole path (`*` also crosses `/`); without, they match the cgroup itself and every
//!   descendant: `/kubepods` matches `/kubepods` and `/kubepods/burstable/pod1` but not
//!   `/kubepods2`. A trailing `/` is ignored, so `/` matches everything.
//! - **pid** matches a thread id or a process (thread group) id.
//! - **min order** keeps failures of at least that order and fallbacks whose *requested* order is
//!   at least that.

use thiserror::Error;

use crate::{
    event::Event,
    identity::{Workload, parse_cgroup_path},
};

/// `TASK_COMM_LEN` (16) minus the terminating NUL.
const COMM_MAX_BYTES: usize = 15;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("empty task name pattern: give a name such as `mysqld` or a glob such as `java*`")]
    EmptyComm,
    #[error(
        "empty cgroup pattern: give a cgroup v2 path such as `/kubepods` or a glob such as \
         `/system.slice/*.service`"
    )]
    EmptyCgroup,
    #[error(
        "cgroup pattern `{0}` must start with `/` (a path in the cgroup v2 hierarchy such as \
         `/system.slice/docker.service`) or `*` (a glob such as `*docker*`)"
    )]
    CgroupNotAbsolute(String),
}

/// Which list a pattern is meant for; the two have different rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternKind {
    Comm,
    Cgroup,
}

/// Checks a pattern before it is used, so a typo is reported instead of silently matching
/// nothing.
pub fn validate_pattern(kind: PatternKind, p: &str) -> Result<(), FilterError> {
    match kind {
        PatternKind::Comm if p.is_empty() => Err(FilterError::EmptyComm),
        PatternKind::Cgroup if p.is_empty() => Err(FilterError::EmptyCgroup),
        PatternKind::Cgroup if !(p.starts_with('/') || p.starts_with('*')) => {
            Err(FilterError::CgroupNotAbsolute(p.to_string()))
        }
        _ => Ok(()),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Task name patterns.
    pub comms: Vec<String>,
    /// Matches `Task::pid` or `Task::tgid`.
    pub pids: Vec<u32>,
    /// Failures: `order >= min`; fallbacks: `alloc_order >= min` (a negative order never does).
    pub min_order: Option<u32>,
    /// Cgroup path patterns.
    pub cgroups: Vec<String>,
    /// Pod UIDs (dashes or underscores), names or `namespace/name`s.
    pub pods: Vec<String>,
    /// Pod namespaces.
    pub namespaces: Vec<String>,
    /// Container id prefixes.
    pub containers: Vec<String>,
    /// Only Kubernetes workloads (tasks under a kubepods cgroup).
    pub kubepods: bool,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        self.comms.is_empty() && self.pids.is_empty() && self.min_order.is_none() && self.cgroups.is_empty() && !self.needs_workload()
    }

    /// Whether [`matches`](Self::matches) needs the event's cgroup path (resolving ids costs a
    /// directory walk, so callers skip it when no cgroup pattern is set).
    pub fn needs_cgroup_path(&self) -> bool {
        !self.cgroups.is_empty() || self.needs_workload()
    }

    /// Whether pod/container criteria are set.
    pub fn needs_workload(&self) -> bool {
        !self.pods.is_empty() || !self.namespaces.is_empty() || !self.containers.is_empty() || self.kubepods
    }

    /// [`matches`](Self::matches) with the event's workload when the caller knows it (pod
    /// names and namespaces come from OCI bundles); without it, what the cgroup path says.
    pub fn matches_with(&self, event: &Event, cgroup_path: Option<&str>, workload: Option<&Workload>) -> bool {
        if !self.matches(event, cgroup_path) {
            return false;
        }
        if !self.needs_workload() || matches!(event, Event::Lost(_)) {
            return true;
        }
        let parsed;
        let w = match workload {
            Some(w) => w,
            None => {
                parsed = Workload { container: parse_cgroup_path(cgroup_path.unwrap_or("")), ..Workload::default() };
                &parsed
            }
        };
        let pod_ok = self.pods.is_empty() || self.pods.iter().any(|p| w.matches_pod(p));
        let ns_ok = self.namespaces.is_empty() || w.pod.pod_namespace.as_ref().is_some_and(|ns| self.namespaces.contains(ns));
        let container_ok = self.containers.is_empty()
            || w.container.container_id.as_ref().is_some_and(|id| self.containers.iter().any(|c| id.to_ascii_lowercase().starts_with(&c.to_ascii_lowercase())));
        let kube_ok = !self.kubepods || w.container.kubepods;
        pod_ok && ns_ok && container_ok && kube_ok
    }

    /// Every pattern, checked with [`validate_pattern`].
    pub fn validate(&self) -> Result<(), FilterError> {
        self.comms.iter().try_for_each(|p| validate_pattern(PatternKind::Comm, p))?;
        self.cgroups.iter().try_for_each(|p| validate_pattern(PatternKind::Cgroup, p))
    }

    /// `cgroup_path` is the event's cgroup resolved to a path; when cgroup patterns are set and
    /// it is `None` (unresolvable), the event does not match.
    /// Pod and container criteria are checked by [`matches_with`](Self::matches_with).
    pub fn matches(&self, event: &Event, cgroup_path: Option<&str>) -> bool {
        let (task, order) = match event {
            Event::Lost(_) => return true,
            Event::Failure(f) => (&f.task, Some(f.order)),
            Event::Extfrag(e) => (&e.task, u32::try_from(e.alloc_order).ok()),
            Event::Stall(s) => (&s.task, u32::try_from(s.order).ok()),
            // An OOM kill is not about an order; --min-order does not hide it.
            Event::Oom(o) => (&o.task, None),
        };
        let comm_ok = self.comms.is_empty() || self.comms.iter().any(|p| comm_matches(p, &task.comm));
        let pid_ok = self.pids.is_empty() || self.pids.iter().any(|&p| p == task.pid || p == task.tgid);
        let order_ok = matches!(event, Event::Oom(_)) || self.min_order.is_none_or(|min| order.is_some_and(|o| o >= min));
        let cgroup_ok = self.cgroups.is_empty()
            || cgroup_path.is_some_and(|path| self.cgroups.iter().any(|p| cgroup_matches(p, path)));
        comm_ok && pid_ok && order_ok && cgroup_ok
    }

    /// One line for headers and status lines, e.g. `comm=mysqld,java* pid=42 order>=4
    /// cgroup=/kubepods*`; empty when the filter is.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.comms.is_empty() {
            parts.push(format!("comm={}", self.comms.join(",")));
        }
        if !self.pids.is_empty() {
            let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
            parts.push(format!("pid={}", pids.join(",")));
        }
        if let Some(min) = self.min_order {
            parts.push(format!("order>={min}"));
        }
        if !self.cgroups.is_empty() {
            parts.push(format!("cgroup={}", self.cgroups.join(",")));
        }
        if !self.pods.is_empty() {
            parts.push(format!("pod={}", self.pods.join(",")));
        }
        if !self.namespaces.is_empty() {
            parts.push(format!("namespace={}", self.namespaces.join(",")));
        }
        if !self.containers.is_empty() {
            parts.push(format!("container={}", self.containers.join(",")));
        }
        if self.kubepods {
            parts.push("kubepods".into());
        }
        parts.join(" ")
    }
}

fn has_wildcards(p: &str) -> bool {
    p.contains(['*', '?'])
}

fn comm_matches(pattern: &str, comm: &str) -> bool {
    if has_wildcards(pattern) {
        return glob(pattern, comm);
    }
    if pattern == comm {
        return true;
    }
    // The kernel stores only 15 bytes of a task name (`TASK_COMM_LEN`), so `--comm
    // my-long-daemon-name` could otherwise never match anything. Compare against the first 15
    // bytes, cut back to a character boundary. If a character straddled byte 15, the kernel
    // kept part of it and decode turned that into one U+FFFD, so accept that form too.
    if pattern.len() <= COMM_MAX_BYTES {
        return false;
    }
    let mut cut = COMM_MAX_BYTES;
    while !pattern.is_char_boundary(cut) {
        cut -= 1;
    }
    match comm.strip_prefix(&pattern[..cut]) {
        Some("") => true,
        Some("\u{FFFD}") => cut < COMM_MAX_BYTES,
        _ => false,
    }
}

fn cgroup_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if has_wildcards(pattern) {
        return glob(pattern, path);
    }
    // Prefix at a `/` boundary: the cgroup itself or a descendant, not a sibling sharing a
    // name prefix.
    path.strip_prefix(pattern).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `*`/`?` glob over the whole text. Iterative with a single backtrack point (the last `*`):
/// a later `*` can absorb anything an earlier one would, so earlier stars never need
/// revisiting, and the worst case is O(pattern × text) rather than exponential.
///
/// Works on bytes without allocating (it runs per event); `?` and backtracking step over a
/// whole UTF-8 character, and literal bytes compared in order keep both sides on character
/// boundaries.
fn glob(pattern: &str, text: &str) -> bool {
    let (pat, txt) = (pattern.as_bytes(), text.as_bytes());
    let char_len = |i: usize| 1 + txt[i + 1..].iter().take_while(|&&b| b & 0xC0 == 0x80).count();
    let (mut p, mut t) = (0, 0);
    // (pattern index after the last `*`, text index that `*` currently extends to)
    let mut star: Option<(usize, usize)> = None;
    while t < txt.len() {
        match pat.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, t));
            }
            Some(b'?') => {
                p += 1;
                t += char_len(t);
            }
            Some(&b) if b == txt[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from there.
                Some((sp, st)) => {
                    let st = st + char_len(st);
                    star = Some((sp, st));
                    p = sp;
                    t = st;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Extfrag, Failure, Lost, Task};

    fn task(pid: u32, tgid: u32, comm: &str) -> Task {
        Task { ts_ns: 1, cpu: 0, pid, tgid, cgroup_id: 1, comm: comm.to_string() }
    }

    fn failure(comm: &str, pid: u32, order: u32) -> Event {
        Event::Failure(Failure { task: task(pid, pid, comm), order, gfp_mask: 0, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })
    }

    fn extfrag(comm: &str, alloc_order: i32) -> Event {
        Event::Extfrag(Extfrag {
            task: task(7, 7, comm),
            alloc_order,
            fallback_order: 2,
            alloc_migratetype: 0,
            fallback_migratetype: 1,
            change_ownership: false,
            stack_id: None,
        })
    }

    fn lost() -> Event {
        Event::Lost(Lost { ts_ns: 1, count: 3 })
    }

    fn comms(p: &[&str]) -> EventFilter {
        EventFilter { comms: p.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn cgroups(p: &[&str]) -> EventFilter {
        EventFilter { cgroups: p.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn empty_filter_matches_everything() {
        let f = EventFilter::default();
        assert!(f.is_empty());
        assert!(!f.needs_cgroup_path());
        assert!(f.matches(&failure("x", 1, 0), None));
        assert!(f.matches(&extfrag("x", -1), None));
        assert!(f.matches(&lost(), None));
        assert_eq!(f.describe(), "");
    }

    #[test]
    fn lost_always_matches() {
        let f = EventFilter { comms: vec!["nomatch".into()], pids: vec![999], min_order: Some(10), cgroups: vec!["/x".into()], ..Default::default() };
        assert!(f.matches(&lost(), None));
        assert!(f.matches(&lost(), Some("/elsewhere")));
        assert!(!f.matches(&failure("other", 1, 0), Some("/elsewhere")));
    }

    #[test]
    fn glob_basics() {
        assert!(glob("java*", "java"));
        assert!(glob("java*", "javaThread"));
        assert!(!glob("java*", "jav"));
        assert!(glob("*sql*", "mysqld"));
        assert!(glob("?ysqld", "mysqld"));
        assert!(!glob("?ysqld", "ysqld"));
        assert!(glob("*", ""));
        assert!(!glob("?", ""));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("a*b*c", "a-b-b-"));
        assert!(glob("[x]*", "[x]y"), "brackets are literal");
        assert!(glob("k?rker", "kérker"), "? is one character, not one byte");
        assert!(glob("*é", "ééé"));
        assert!(!glob("é?", "é"));
    }

    #[test]
    fn glob_pathological_pattern_is_fast() {
        let text = "a".repeat(100_000);
        let start = std::time::Instant::now();
        assert!(!glob("a*a*a*a*a*a*b", &text));
        assert!(glob("a*a*a*a*a*a*a", &text));
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "took {:?}", start.elapsed());
    }

    #[test]
    fn comm_exact_and_glob() {
        let f = comms(&["mysqld", "java*"]);
        assert!(f.matches(&failure("mysqld", 1, 0), None));
        assert!(!f.matches(&failure("mysqld2", 1, 0), None), "no wildcard means exact");
        assert!(!f.matches(&failure("mysql", 1, 0), None));
        assert!(f.matches(&failure("java", 1, 0), None));
        assert!(f.matches(&failure("javaGC", 1, 0), None));
        assert!(!f.matches(&failure("openjava", 1, 0), None));
    }

    #[test]
    fn comm_long_pattern_matches_truncated_name() {
        // 20 bytes; the kernel reports the first 15.
        let f = comms(&["my-long-daemon-name"]);
        assert!(f.matches(&failure("my-long-daemon-", 1, 0), None));
        assert!(!f.matches(&failure("my-long-daemon", 1, 0), None));
        assert!(!f.matches(&failure("my-long-daemon-x", 1, 0), None));
        // Exactly 15 bytes: no special case needed, and shorter names stay exact.
        assert!(!comms(&["abc"]).matches(&failure("ab", 1, 0), None));
        // "ééééééé" is 14 bytes, the 8th é straddles byte 15: cut back to 14 bytes.
        let f = comms(&["éééééééé"]);
        assert!(f.matches(&failure("ééééééé", 1, 0), None), "as stored in a recording");
        assert!(f.matches(&failure("ééééééé\u{FFFD}", 1, 0), None), "as decoded live");
        assert!(!f.matches(&failure("éééééé", 1, 0), None));
        // The U+FFFD form only when a character really straddled the boundary.
        assert!(!comms(&["my-long-daemon-name"]).matches(&failure("my-long-daemon-\u{FFFD}", 1, 0), None));
    }

    #[test]
    fn pid_matches_pid_or_tgid() {
        let f = EventFilter { pids: vec![42, 43], ..Default::default() };
        let thread = Event::Failure(Failure { task: task(100, 42, "t"), order: 0, gfp_mask: 0, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() });
        assert!(f.matches(&thread, None), "tgid");
        assert!(f.matches(&failure("t", 43, 0), None), "pid");
        assert!(!f.matches(&failure("t", 44, 0), None));
    }

    #[test]
    fn min_order() {
        let f = EventFilter { min_order: Some(4), ..Default::default() };
        assert!(f.matches(&failure("x", 1, 4), None));
        assert!(f.matches(&failure("x", 1, 9), None));
        assert!(!f.matches(&failure("x", 1, 3), None));
        assert!(f.matches(&extfrag("x", 4), None));
        assert!(!f.matches(&extfrag("x", 3), None));
        assert!(!f.matches(&extfrag("x", -1), None), "negative order never meets a minimum");
        let zero = EventFilter { min_order: Some(0), ..Default::default() };
        assert!(zero.matches(&extfrag("x", 0), None));
        assert!(!zero.matches(&extfrag("x", -1), None));
    }

    #[test]
    fn cgroup_prefix_at_slash_boundary() {
        let f = cgroups(&["/kubepods"]);
        assert!(f.needs_cgroup_path());
        let ev = failure("x", 1, 0);
        assert!(f.matches(&ev, Some("/kubepods")));
        assert!(f.matches(&ev, Some("/kubepods/burstable/pod1")));
        assert!(!f.matches(&ev, Some("/kubepods2")));
        assert!(!f.matches(&ev, Some("/")));
        assert!(!f.matches(&ev, None), "unresolved cgroup never matches a cgroup pattern");
        // Trailing '/' ignored.
        let f = cgroups(&["/kubepods/"]);
        assert!(f.matches(&ev, Some("/kubepods")));
        assert!(f.matches(&ev, Some("/kubepods/pod")));
        assert!(!f.matches(&ev, Some("/kubepods2")));
        // The root matches every cgroup.
        let root = cgroups(&["/"]);
        assert!(root.matches(&ev, Some("/")));
        assert!(root.matches(&ev, Some("/a/b")));
    }

    #[test]
    fn cgroup_glob_is_whole_path() {
        let ev = failure("x", 1, 0);
        let f = cgroups(&["/kubepods*"]);
        assert!(f.matches(&ev, Some("/kubepods2")));
        assert!(f.matches(&ev, Some("/kubepods/burstable/pod1")), "* crosses /");
        assert!(!f.matches(&ev, Some("/system.slice/kubepods")));
        let f = cgroups(&["*docker*"]);
        assert!(f.matches(&ev, Some("/system.slice/docker-abc.scope")));
        let f = cgroups(&["/system.slice/*.service"]);
        assert!(f.matches(&ev, Some("/system.slice/sshd.service")));
        assert!(!f.matches(&ev, Some("/system.slice/sshd.service/child")), "glob anchors at the end");
    }

    #[test]
    fn lists_or_within_and_across() {
        let f = EventFilter {
            comms: vec!["mysqld".into(), "java*".into()],
            pids: vec![1, 2],
            min_order: Some(2),
            cgroups: vec!["/db".into(), "/app".into()],
            ..Default::default()
        };
        assert!(f.matches(&failure("mysqld", 1, 2), Some("/db")));
        assert!(f.matches(&failure("javaX", 2, 5), Some("/app/x")));
        assert!(!f.matches(&failure("nginx", 1, 2), Some("/db")), "comm fails");
        assert!(!f.matches(&failure("mysqld", 3, 2), Some("/db")), "pid fails");
        assert!(!f.matches(&failure("mysqld", 1, 1), Some("/db")), "order fails");
        assert!(!f.matches(&failure("mysqld", 1, 2), Some("/web")), "cgroup fails");
        assert!(!f.matches(&failure("mysqld", 1, 2), None), "cgroup unknown");
    }

    #[test]
    fn describe_lists_every_part() {
        let f = EventFilter {
            comms: vec!["mysqld".into(), "java*".into()],
            pids: vec![42],
            min_order: Some(4),
            cgroups: vec!["/kubepods*".into()],
            ..Default::default()
        };
        assert_eq!(f.describe(), "comm=mysqld,java* pid=42 order>=4 cgroup=/kubepods*");
        let f = EventFilter { pids: vec![1, 2], ..Default::default() };
        assert!(!f.is_empty());
        assert_eq!(f.describe(), "pid=1,2");
        assert_eq!(EventFilter { min_order: Some(0), ..Default::default() }.describe(), "order>=0");
    }

    #[test]
    fn validate_patterns() {
        assert_eq!(validate_pattern(PatternKind::Comm, ""), Err(FilterError::EmptyComm));
        assert_eq!(validate_pattern(PatternKind::Cgroup, ""), Err(FilterError::EmptyCgroup));
        assert_eq!(validate_pattern(PatternKind::Comm, "kworker/0:1"), Ok(()));
        assert_eq!(validate_pattern(PatternKind::Cgroup, "/kubepods"), Ok(()));
        assert_eq!(validate_pattern(PatternKind::Cgroup, "*docker*"), Ok(()));
        let err = validate_pattern(PatternKind::Cgroup, "kubepods").unwrap_err();
        assert_eq!(err, FilterError::CgroupNotAbsolute("kubepods".into()));
        let msg = err.to_string();
        assert!(msg.contains("`kubepods`") && msg.contains("start with `/`"), "{msg}");
        assert!(FilterError::EmptyComm.to_string().contains("`java*`"));
        let bad = EventFilter { comms: vec!["ok".into()], cgroups: vec!["/ok".into(), "nope".into()], ..Default::default() };
        assert_eq!(bad.validate(), Err(FilterError::CgroupNotAbsolute("nope".into())));
        assert_eq!(comms(&["a", ""]).validate(), Err(FilterError::EmptyComm));
        assert_eq!(EventFilter::default().validate(), Ok(()));
    }
}

#[cfg(test)]
mod workload_tests {
    use super::*;
    use crate::{
        event::{Failure, Task},
        identity::PodInfo,
    };

    fn failure() -> Event {
        Event::Failure(Failure {
            task: Task { ts_ns: 1, cpu: 0, pid: 5, tgid: 5, cgroup_id: 9, comm: "runc:[1:CHILD]".into() },
            order: 6,
            gfp_mask: 0,
            migratetype: 0,
            stack_id: None,
            ancestry: vec![],
            captured_cgroup: None,
            hook: Default::default(),
        })
    }

    const PATH: &str = "/kubepods/burstable/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pod_namespace_container_and_kubepods_criteria() {
        let e = failure();
        let by = |f: EventFilter| f.matches_with(&e, Some(PATH), None);
        assert!(by(EventFilter { kubepods: true, ..Default::default() }));
        assert!(!EventFilter { kubepods: true, ..Default::default() }.matches_with(&e, Some("/user.slice"), None));
        assert!(by(EventFilter { pods: vec!["1b4e28ba_2fa1_11d2_883f_0016d3cca427".into()], ..Default::default() }), "uid with underscores");
        assert!(by(EventFilter { containers: vec!["0123456".into()], ..Default::default() }), "id prefix");
        assert!(!by(EventFilter { containers: vec!["fff".into()], ..Default::default() }));
        assert!(!by(EventFilter { namespaces: vec!["default".into()], ..Default::default() }), "no namespace without the bundle");
        let w = Workload { container: parse_cgroup_path(PATH), pod: PodInfo { pod_name: Some("web-0".into()), pod_namespace: Some("default".into()), ..Default::default() } };
        let f = EventFilter { pods: vec!["default/web-0".into()], namespaces: vec!["default".into()], ..Default::default() };
        assert!(f.matches_with(&e, Some(PATH), Some(&w)));
        assert!(f.needs_cgroup_path() && !f.is_empty());
        assert_eq!(f.describe(), "pod=default/web-0 namespace=default");
    }
}
