//! The kernel release from every task-line shape, 2.6 to 7.x, alone and inside a report with
//! the prefixes logs add (syslog, journal, timestamps).

use super::{body::task_line, parse};

#[test]
fn release_from_every_task_line_shape() {
    let cases: [(&str, &str); 12] = [
        // 2.6-era dump_stack: `Pid: N, comm: NAME Not tainted|Tainted: … RELEASE #BUILD`.
        ("Pid: 1624, comm: iwlagn/1 Not tainted 2.6.28-15-generic #52-Ubuntu", "2.6.28-15-generic"),
        ("Pid: 11115, comm: squid-analyzer Tainted: G           --------------- H  2.6.32-279.9.1.el6.x86_64 #1", "2.6.32-279.9.1.el6.x86_64"),
        ("Pid: 0, comm: swapper Tainted: P        W  2.6.32-5-amd64 #1 Dell Inc. PowerEdge R710", "2.6.32-5-amd64"),
        // i386 register dumps put it in parentheses.
        ("Pid: 1, comm: swapper Not tainted (2.6.27.5-117.fc10.i686 #1) Dell Inc.", "2.6.27.5-117.fc10.i686"),
        ("CPU: 27 PID: 70623 Comm: runc:[1:CHILD] Kdump: loaded Tainted: P        W  OE  ------------   3.10.0-1160.el7.x86_64 #1", "3.10.0-1160.el7.x86_64"),
        ("CPU: 1 PID: 2 Comm: kthreadd Not tainted 4.14.67-1.el7 #1", "4.14.67-1.el7"),
        ("CPU: 3 PID: 0 Comm: swapper/3 Tainted: G    B   W  O  4.4.0-21-generic #37-Ubuntu", "4.4.0-21-generic"),
        ("CPU: 0 PID: 7788 Comm: bash Not tainted 5.15.0-1087-azure #96-Ubuntu", "5.15.0-1087-azure"),
        ("CPU: 2 PID: 1 Comm: (udev-worker) Not tainted 6.8.0-rc1+ #3", "6.8.0-rc1+"),
        ("CPU: 0 UID: 0 PID: 1 Comm: Web Content Not tainted 6.12.0 #1 PREEMPT(voluntary)", "6.12.0"),
        ("CPU: 5 UID: 0 PID: 10 Comm: kswapd0 Not tainted 7.0.0-1-amd64 #1 PREEMPT(lazy) Debian 7.0.1-1", "7.0.0-1-amd64"),
        ("CPU: 5 UID: 0 PID: 10 Comm: kswapd0 Tainted: G        W          7.3.4+deb13-amd64 #1 Debian 7.3.4-1", "7.3.4+deb13-amd64"),
    ];
    for (line, release) in cases {
        assert_eq!(task_line(line).and_then(|t| t.release), Some(release), "{line}");
    }
    // Hardware lines carry BIOS versions and dates, never the release.
    assert_eq!(task_line("Hardware name: Dell Inc. PowerEdge R730/0WCJNT, BIOS 2.4.3 01/17/2017"), None);
}

#[test]
fn release_of_a_2_6_report_through_syslog_and_journal_prefixes() {
    let shapes = [
        "Aug 24 21:14:20 host kernel: [12345.678901] ",
        "Aug 24 21:14:20 host kernel: ",
        "[12345.678901] kernel: ",
        "",
    ];
    for prefix in shapes {
        let text = format!(
            "{prefix}swapper: page allocation failure. order:0, mode:0x4020\n{prefix}Pid: 0, comm: swapper Not tainted 2.6.32-24-generic #39-Ubuntu\n{prefix}Call Trace:\n{prefix} <IRQ>  [<ffffffff810fa4c2>] __alloc_pages_nodemask+0x5f2/0x7f0\n"
        );
        let reports = parse(&text);
        assert_eq!(reports.len(), 1, "{prefix:?}");
        assert_eq!(reports[0].kernel_release.as_deref(), Some("2.6.32-24-generic"), "{prefix:?}");
        assert_eq!(reports[0].comm.as_deref(), Some("swapper"), "{prefix:?}");
    }
}
