//! Parser behaviour beyond the fixtures: streaming, input formats the corpus lacks, OOM
//! variants, report boundaries.

use super::*;

const HEADER_5X: &str = "cat: page allocation failure: order:5, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0";

fn one(text: &str) -> Report {
    let mut reports = parse(text);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    reports.remove(0)
}

#[test]
fn streaming_returns_a_report_when_the_next_header_arrives() {
    let text = include_str!("../../../testdata/kernel-logs/01-ubuntu-2.6.28-iwlagn-order4.log");
    let mut parser = Parser::new();
    let mut emitted_at = Vec::new();
    let mut streamed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let out = parser.push_line(line);
        emitted_at.extend(out.iter().map(|_| i + 1));
        streamed.extend(out);
    }
    // The first report is complete once line 50 (the second header) is seen, plus the one
    // line held back for wrap detection.
    assert_eq!(emitted_at, [51]);
    streamed.extend(parser.finish());
    assert_eq!(streamed, parse(text));
}

#[test]
fn dev_kmsg_records_with_metadata() {
    let text = format!(
        "4,100,5678901,-;{HEADER_5X}\n SUBSYSTEM=foo\n DEVICE=+foo:bar\n4,101,5678950,c;CPU: 0 PID: 12 Comm: cat Not tainted 6.1.0 #1\n\
         4,102,5678960,c;Call Trace:\n4,103,5678970,c; <TASK>\n4,104,5678980,c; dump_stack_lvl+0x47/0x60\n\
         4,105,5678990,c; </TASK>\n4,106,5679000,-;Mem-Info:\n4,107,5679001,-;Node 0 Normal: 1*4kB (U) 2*8kB = 20kB\n"
    );
    let r = one(&text);
    assert_eq!(
        (r.timestamp.as_deref(), r.pid, r.kernel_release.as_deref()),
        (Some("5.678901"), Some(12), Some("6.1.0"))
    );
    assert_eq!((r.call_trace.as_slice(), r.line), (["dump_stack_lvl".to_string()].as_slice(), 1));
    assert_eq!((r.zones[0].node, r.zones[0].blocks.as_slice(), r.zones[0].free_kb), (Some(0), [1, 2].as_slice(), None));
}

#[test]
fn dmesg_t_syslog_without_host_and_foreign_daemons() {
    let r = one(&format!(
        "[Fri Nov 27 10:00:01 2026] {HEADER_5X}\n[Fri Nov 27 10:00:01 2026] CPU: 3 PID: 9 Comm: cat Not tainted 6.1.0 #1\n"
    ));
    assert_eq!((r.timestamp.as_deref(), r.pid), (Some("Fri Nov 27 10:00:01 2026"), Some(9)));
    let text = format!(
        "Nov 27 10:00:01 kernel: {HEADER_5X}\nNov 27 10:00:01 host systemd[1]: Started x.\nNov 27 10:00:01 kernel: CPU: 1 PID: 7 Comm: cat Tainted: G W 6.1.0 #1\n"
    );
    let r = one(&text);
    assert_eq!((r.timestamp.as_deref(), r.pid), (Some("Nov 27 10:00:01"), Some(7)));
}

#[test]
fn markdown_indent_caller_ids_and_6_12_task_line() {
    let text = format!(
        "    [  100.000001][ T4711] {HEADER_5X}\n    [  100.000002][ T4711] CPU: 2 UID: 1000 PID: 4711 Comm: cat Not tainted 6.12.0 #1 PREEMPT(voluntary)\n"
    );
    let r = one(&text);
    assert_eq!(
        (r.timestamp.as_deref(), r.pid, r.kernel_release.as_deref()),
        (Some("100.000001"), Some(4711), Some("6.12.0"))
    );
}

#[test]
fn modern_global_oom_and_rate_limited_kill() {
    let text = "[ 1.0] stress invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0\n\
                [ 1.0] CPU: 1 PID: 55 Comm: stress Not tainted 6.1.0 #1\n\
                [ 1.1] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,global_oom,task_memcg=/user.slice,task=stress,pid=56,uid=0\n\
                [ 1.1] Out of memory: Killed process 56 (stress) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0\n\
                [ 1.2] systemd-journald[1]: Under memory pressure\n\
                [ 9.0] Out of memory: Killed process 77 (java) total-vm:1kB\n";
    let r = parse(text);
    assert_eq!(r.iter().map(|r| (r.kind, r.line)).collect::<Vec<_>>(), [(ReportKind::Oom, 1), (ReportKind::Oom, 6)]);
    let info = r[0].oom.as_ref().expect("oom");
    assert_eq!(
        (info.constraint.as_deref(), info.task_memcg.as_deref()),
        (Some("CONSTRAINT_NONE"), Some("/user.slice"))
    );
    assert_eq!(
        (info.victim_pid, info.victim_comm.as_deref(), r[0].mems_allowed.as_deref()),
        (Some(56), Some("stress"), Some("0-1"))
    );
    // The second kill's dump was rate-limited: a report with only the victim.
    let info = r[1].oom.as_ref().expect("oom");
    assert_eq!((r[1].comm.as_deref(), info.victim_pid, info.killed.len()), (None, Some(77), 1));
}

#[test]
fn old_memcg_oom_and_sacrificed_child() {
    let text = "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0\n\
                Task in /docker/abc killed as a result of limit of /docker/abc\n\
                Memory cgroup out of memory: Kill process 100 (java) score 900 or sacrifice child\n\
                Killed process 101 (java-child) total-vm:1kB\n";
    let r = one(text);
    let info = r.oom.as_ref().expect("oom");
    assert_eq!((info.oom_memcg.as_deref(), info.task_memcg.as_deref()), (Some("/docker/abc"), Some("/docker/abc")));
    // The child actually killed is the victim.
    assert_eq!((info.victim_pid, info.victim_comm.as_deref()), (Some(101), Some("java-child")));
    assert_eq!((r.gfp_mask.as_deref(), r.gfp_names.as_ref()), (Some("0xd0"), None));
}

#[test]
fn rsyslog_escapes_split_into_lines() {
    let text = format!(
        "Jul  1 00:45:31 h kernel: {HEADER_5X}#012CPU: 1 PID: 5 Comm: cat Not tainted 5.1.0 #1#012Mem-Info:#012Normal: 3*4kB = 12kB\n"
    );
    let r = one(&text);
    assert_eq!((r.pid, r.zones[0].blocks.as_slice()), (Some(5), [3].as_slice()));
}

#[test]
fn duplicate_header_is_one_report_but_a_repeat_after_a_body_is_two() {
    let dup = format!("{HEADER_5X}\n{HEADER_5X}\nCPU: 1 PID: 5 Comm: cat Not tainted 5.1.0 #1\n");
    assert_eq!(parse(&dup).len(), 1);
    let repeat = format!("{HEADER_5X}\nCPU: 1 PID: 5 Comm: cat Not tainted 5.1.0 #1\n{HEADER_5X}\n");
    assert_eq!(parse(&repeat).len(), 2);
}

#[test]
fn body_ends_after_the_line_budget_and_at_a_second_dump() {
    let mut text = format!("{HEADER_5X}\n");
    text.push_str(&"noise\n".repeat(6_000));
    text.push_str("Node 0 Normal: 1*4kB = 4kB\n");
    assert!(one(&text).zones.is_empty());
    let text = format!(
        "{HEADER_5X}\nCPU: 1 PID: 5 Comm: cat Not tainted 5.1.0 #1\nCall Trace:\n a+0x1/0x2\nsomething failed\n\
         CPU: 1 PID: 5 Comm: cat Not tainted 5.1.0 #1\nCall Trace:\n b+0x1/0x2\n"
    );
    assert_eq!(one(&text).call_trace, ["a"]);
}

#[test]
fn stall_and_wrapped_oom_header_continuations() {
    // No trailing space to show the wrap: the continuation keys still attach.
    let text = "x invoked oom-killer:\ngfp_mask=0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD), nodemask=0,\norder=2, oom_score_adj=0\n";
    let r = one(text);
    assert_eq!((r.order, r.gfp_mask.as_deref(), r.nodemask.as_deref()), (Some(2), Some("0x24201ca"), Some("0")));
}

#[test]
fn serializes_kinds_in_lowercase() {
    let json = serde_json::to_value(one(HEADER_5X)).expect("json");
    assert_eq!(json["kind"], "failure");
    assert_eq!(json["gfp_names"][1], "__GFP_COMP");
}
