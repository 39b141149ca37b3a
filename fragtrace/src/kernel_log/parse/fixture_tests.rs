//! One test per fixture in `testdata/kernel-logs/`, asserting its INDEX.md row (kind, comm,
//! order, mode hex, printed names, number of events) and, for the complete ones, the body.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        parse(include_str!(concat!("../../../testdata/kernel-logs/", $name)))
    };
}

/// (kind, comm, order, mode hex, printed names) of each report, the INDEX.md columns.
type Row<'a> = (ReportKind, Option<&'a str>, Option<u32>, Option<&'a str>, Option<Vec<&'a str>>);

fn rows(reports: &[Report]) -> Vec<Row<'_>> {
    reports
        .iter()
        .map(|r| {
            let names = r.gfp_names.as_ref().map(|n| n.iter().map(String::as_str).collect());
            (r.kind, r.comm.as_deref(), r.order, r.gfp_mask.as_deref(), names)
        })
        .collect()
}

use ReportKind::{Failure, Oom, Stall};

fn zone<'a>(r: &'a Report, node: Option<u32>, name: &str) -> &'a ZoneLine {
    r.zones
        .iter()
        .find(|z| z.node == node && z.zone == name)
        .unwrap_or_else(|| panic!("no zone {node:?} {name} in {:?}", r.zones))
}

/// (free, min, low, high, blocks, buddy total)
type ZoneRow = (Option<u64>, Option<u64>, Option<u64>, Option<u64>, Vec<u64>, Option<u64>);

fn zone_row(z: &ZoneLine) -> ZoneRow {
    (z.free_kb, z.min_kb, z.low_kb, z.high_kb, z.blocks.clone(), z.buddy_total_kb)
}

fn trace(r: &Report) -> Vec<&str> {
    r.call_trace.iter().map(String::as_str).collect()
}

#[test]
fn f01_ubuntu_2_6_28_iwlagn() {
    let r = fixture!("01-ubuntu-2.6.28-iwlagn-order4.log");
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("iwlagn/1"), Some(4), Some("0x40d0"), None),
            (Failure, Some("ifconfig"), Some(4), Some("0x40d0"), None)
        ]
    );
    assert_eq!((r[0].pid, r[1].pid), (Some(1624), Some(15388)));
    assert_eq!(r[0].kernel_release.as_deref(), Some("2.6.28-15-generic"));
    assert_eq!((r[0].line, r[1].line), (1, 50));
    assert_eq!(r[0].timestamp.as_deref(), Some("93075.317795"));
    assert_eq!(
        trace(&r[0]),
        [
            "__alloc_pages_internal",
            "__get_free_pages",
            "iwl_tx_queue_alloc",
            "iwl_tx_queue_init",
            "iwl_txq_ctx_reset",
            "iwl_hw_nic_init",
            "__iwl4965_up",
            "iwl4965_bg_up",
            "run_workqueue",
            "worker_thread",
            "kthread",
            "child_rip"
        ]
    );
    assert_eq!(r[0].frames.len(), 18);
    // Non-NUMA: `DMA free:` / `DMA: …`, no `Node 0`.
    assert_eq!(r[0].zones.len(), 2);
    assert_eq!(
        zone_row(zone(&r[0], None, "DMA")),
        (Some(3948), Some(20), Some(24), Some(28), vec![5, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0], Some(3948))
    );
    assert_eq!(
        zone_row(zone(&r[1], None, "DMA32")),
        (Some(10100), Some(4004), Some(5004), Some(6004), vec![2019, 14, 41, 8, 6, 5, 0, 0, 0, 0, 0], Some(10124))
    );
}

#[test]
fn f03_centos7_runc_nf_conntrack() {
    let r = fixture!("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log");
    assert_eq!(rows(&r), [(Failure, Some("runc:[1:CHILD]"), Some(5), Some("0x10c0d0"), None)]);
    let r = &r[0];
    assert_eq!((r.pid, r.kernel_release.as_deref()), (Some(70623), Some("3.10.0-957.1.3.el7.x86_64")));
    assert_eq!(r.hardware.as_deref(), Some("Dell Inc. PowerEdge T630/0NT78X, BIOS 2.1.5 04/13/2016"));
    assert_eq!(r.timestamp.as_deref(), Some("Jul  1 00:45:31"));
    // The first dump only: the second dump_stack (kmem_cache_create failed) is not this trace.
    let t = trace(r);
    assert_eq!(t.len(), 20);
    assert_eq!((t[0], t[1], t[19]), ("dump_stack", "warn_alloc_failed", "system_call_fastpath"));
    assert_eq!(&t[10..13], ["kmem_cache_create", "nf_conntrack_init_net", "nf_conntrack_pernet_init"]);
    assert!(!t.contains(&"__memcg_kmem_get_cache"), "`?` frames stay out of the path");
    assert_eq!(
        r.frames[12],
        Frame { function: "nf_conntrack_init_net".into(), module: Some("nf_conntrack".into()), reliable: true }
    );
    // Two NUMA nodes; the rsyslog `#012` Mem-Info pieces add no zones.
    assert_eq!(r.zones.len(), 4);
    assert_eq!(
        zone_row(zone(r, Some(0), "Normal")),
        (
            Some(79912),
            Some(43728),
            Some(54660),
            Some(65592),
            vec![7662, 4239, 658, 184, 5, 0, 0, 0, 0, 0, 0],
            Some(81296)
        )
    );
    assert_eq!(zone(r, Some(1), "Normal").blocks, [18666, 2260, 953, 267, 14, 0, 0, 0, 0, 0, 0]);
    assert_eq!(zone(r, Some(0), "DMA").buddy_total_kb, Some(15188));
}

#[test]
fn f05_ubuntu_3_13_java_radeon() {
    let r = fixture!("05-ubuntu-3.13-java-radeon-kmalloc-order4.log");
    assert_eq!(rows(&r), [(Failure, Some("java"), Some(4), Some("0x10c0d0"), None)]);
    let r = &r[0];
    assert_eq!((r.pid, r.kernel_release.as_deref(), r.line), (Some(22245), Some("3.13.0-29-generic"), 3));
    assert_eq!(r.callbacks_suppressed, Some(83));
    // The wrap inside `08/15/2011` is undone.
    assert_eq!(
        r.hardware.as_deref(),
        Some("System manufacturer System Product Name/P8P67 PRO REV 3.1, BIOS 1904 08/15/2011")
    );
    let t = trace(r);
    assert_eq!((t[0], t.len()), ("dump_stack", 13));
    assert!(t.contains(&"radeon_cs_ioctl") && t.contains(&"kmalloc_order_trace"));
    assert_eq!(
        zone_row(zone(r, Some(0), "Normal")),
        (
            Some(25312),
            Some(11952),
            Some(14940),
            Some(17928),
            vec![652, 1455, 377, 163, 14, 0, 0, 0, 0, 0, 0],
            Some(26392)
        )
    );
}

#[test]
fn f07_mips_quoted_wrapped_headers() {
    let r = fixture!("07-mips-ingenic-5.8.0-containerd-shim-order4-and-kswapd0-order0.QUOTED.log");
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("containerd-shim"), Some(4), Some("0x40cc0"), Some(vec!["GFP_KERNEL", "__GFP_COMP"])),
            (Failure, Some("kswapd0"), Some(0), Some("0xa20"), Some(vec!["GFP_ATOMIC"])),
        ]
    );
    assert_eq!((r[0].pid, r[1].pid), (Some(19817), Some(439)));
    assert_eq!(r[0].kernel_release.as_deref(), Some("5.8.0-00013-g192f2fd7b678"));
    assert_eq!((r[0].line, r[1].line), (4, 67));
    assert_eq!((r[0].callbacks_suppressed, r[1].callbacks_suppressed), (Some(25), Some(27)));
    // CONFIG_CPUSETS=n: nodemask but no cpuset.
    assert_eq!((r[0].nodemask.as_deref(), r[0].cpuset.as_deref()), (Some("(null)"), None));
    assert_eq!(
        trace(&r[0]),
        [
            "show_stack",
            "warn_alloc",
            "__alloc_pages_nodemask",
            "____cache_alloc",
            "__kmalloc",
            "proc_sys_call_handler",
            "proc_sys_read",
            "vfs_read",
            "ksys_read",
            "syscall_common"
        ]
    );
    // Zone and buddy lines wrapped over 3–6 quoted lines, no Node prefix.
    assert_eq!(r[0].zones.len(), 1);
    assert_eq!(
        zone_row(zone(&r[0], None, "Normal")),
        (Some(6484), Some(1376), Some(1720), Some(2064), vec![117, 406, 149, 12, 0, 0, 0, 0, 0, 0, 0], Some(6484))
    );
    assert_eq!(
        zone_row(zone(&r[1], None, "Normal")),
        (Some(1812), Some(5472), Some(5816), Some(6160), vec![11, 59, 75, 3, 0, 0, 0, 0, 0, 0, 0], Some(1812))
    );
}

#[test]
fn f09_fedora_4_9_two_failures_and_oom() {
    let r = fixture!("09-fedora-4.9.0-rc8-virtio-atomic-order0-x2-plus-oom.QUOTED.log");
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("ksoftirqd/0"), Some(0), Some("0x2080020"), Some(vec!["GFP_ATOMIC"])),
            (Failure, Some("kworker/1:1H"), Some(0), Some("0x2280020"), Some(vec!["GFP_ATOMIC", "__GFP_NOTRACK"])),
            (Oom, Some("httpd"), Some(0), Some("0x24201ca"), Some(vec!["GFP_HIGHUSER_MOVABLE", "__GFP_COLD"])),
        ]
    );
    assert_eq!((r[0].pid, r[1].pid, r[2].pid), (Some(3), Some(440), Some(19043)));
    assert_eq!(r[0].kernel_release.as_deref(), Some("4.9.0-0.rc8.git2.1.fc26.x86_64"));
    assert_eq!((r[0].line, r[1].line, r[2].line), (1, 41, 150));
    // 4.9 failure headers have names but no nodemask.
    assert_eq!(r[0].nodemask, None);
    let wrapped = r[0].frames.iter().find(|f| f.function == "page_to_skb.isra.28").map(|f| f.module.as_deref());
    assert_eq!(wrapped, Some(Some("virtio_net")));
    assert_eq!(trace(&r[1]).first(), Some(&"dump_stack"));
    assert!(trace(&r[1]).contains(&"alloc_indirect.isra.11"));
    assert_eq!(
        zone_row(zone(&r[1], Some(0), "DMA")),
        (Some(924), Some(172), Some(212), Some(252), vec![36, 29, 22, 6, 0, 0, 0, 0, 0, 0, 0], Some(920))
    );
    assert_eq!(
        zone_row(zone(&r[1], Some(0), "DMA32")),
        (Some(1836), Some(1296), Some(1620), Some(1944), vec![77, 71, 28, 8, 4, 0, 0, 0, 0, 0, 0], Some(1836))
    );
    // The OOM: `nodemask=0`, a separate cpuset line, old-style kill lines.
    let oom = &r[2];
    assert_eq!(
        (oom.nodemask.as_deref(), oom.cpuset.as_deref(), oom.mems_allowed.as_deref()),
        (Some("0"), Some("/"), Some("0"))
    );
    let info = oom.oom.as_ref().expect("oom info");
    assert_eq!((info.victim_pid, info.victim_comm.as_deref(), info.oom_score_adj), (Some(13985), Some("dnf"), Some(0)));
    assert_eq!(info.killed, [(13985, "dnf".to_string())]);
    assert_eq!(zone(oom, Some(0), "DMA32").blocks, [13, 4, 13, 8, 9, 1, 1, 0, 0, 0, 0]);
    assert!(trace(oom).contains(&"oom_kill_process"));
}

#[test]
fn f12_stall_is_not_a_failure() {
    let r = fixture!("12-linux-next-4.12-c.out-page-allocation-STALLS-xfs.VARIANT.log");
    assert_eq!(
        rows(&r),
        [(Stall, Some("c.out"), Some(0), Some("0x1604040"), Some(vec!["GFP_NOFS", "__GFP_COMP", "__GFP_NOTRACK"]))]
    );
    let r = &r[0];
    assert_eq!(r.stall_ms, Some(209368));
    assert_eq!((r.cpuset.as_deref(), r.mems_allowed.as_deref()), (Some("/"), Some("0")));
    assert_eq!((r.pid, r.kernel_release.as_deref()), (Some(4561), Some("4.12.0-next-20170705+")));
    // RIP/RSP register lines end the trace.
    assert_eq!(trace(r).last(), Some(&"entry_SYSCALL64_slow_path"));
    assert_eq!(
        zone_row(zone(r, Some(0), "Normal")),
        (Some(17252), Some(17404), Some(21752), Some(26100), vec![29, 33, 22, 134, 22, 5, 0, 2, 9, 0, 0], Some(17308))
    );
}

#[test]
fn f13_header_wrapped_over_three_lines() {
    let r = fixture!("13-6.7.0-kworker-atlantic-resume-kmalloc-large-order6.FRAGMENT.log");
    assert_eq!(
        rows(&r),
        [(
            Failure,
            Some("kworker/u65:2"),
            Some(6),
            Some("0x40d00"),
            Some(vec!["GFP_NOIO", "__GFP_COMP", "__GFP_ZERO"])
        )]
    );
    let r = &r[0];
    assert_eq!(
        (r.nodemask.as_deref(), r.cpuset.as_deref(), r.mems_allowed.as_deref()),
        (Some("(null)"), Some("/"), Some("0"))
    );
    assert_eq!(
        (r.pid, r.kernel_release.as_deref(), r.timestamp.as_deref(), r.line),
        (Some(166017), Some("6.7.0"), None, 1)
    );
    assert_eq!(r.hardware.as_deref(), Some("ASUS System Product [...] BIOS 1502 06/08/2023"));
    assert_eq!(
        trace(r),
        [
            "dump_stack_lvl",
            "warn_alloc",
            "__alloc_pages",
            "__kmalloc_large_node",
            "__kmalloc",
            "aq_ring_alloc",
            "aq_vec_ring_alloc",
            "aq_nic_init",
            "atl_resume_common"
        ]
    );
}

#[test]
fn f15_arm64_two_cat_failures() {
    let r = fixture!("15-arm64-5.10.2-cat-proc_sys-kmalloc-order5-lxc-and-order6.log");
    let names = Some(vec!["GFP_KERNEL", "__GFP_COMP", "__GFP_ZERO"]);
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("cat"), Some(5), Some("0x40dc0"), names.clone()),
            (Failure, Some("cat"), Some(6), Some("0x40dc0"), names)
        ]
    );
    assert_eq!((r[0].cpuset.as_deref(), r[1].cpuset.as_deref()), (Some("lxc.payload.openwrt"), Some("/")));
    assert_eq!((r[0].pid, r[1].pid), (Some(2034240), Some(2029652)));
    assert_eq!(r[0].kernel_release.as_deref(), Some("5.10.2"));
    assert_eq!(r[0].callbacks_suppressed, Some(3));
    // arm64 `Call trace:`.
    let t = trace(&r[0]);
    assert_eq!((t[0], t[10], t.len()), ("dump_backtrace", "proc_sys_call_handler", 23));
    // arm64 has DMA and DMA32 only; CMA migratetype letters.
    assert_eq!(r[0].zones.len(), 2);
    assert_eq!(
        zone_row(zone(&r[0], Some(0), "DMA32")),
        (
            Some(60196),
            Some(49012),
            Some(61264),
            Some(73516),
            vec![4154, 2362, 960, 270, 31, 0, 0, 0, 0, 0, 0],
            Some(61496)
        )
    );
}

#[test]
fn f17_aks_memcg_oom_group_kill() {
    let r = fixture!("17-aks-5.15.0-1087-azure-memcg-oom-kubepods-oom-group.log");
    assert_eq!(rows(&r), [(Oom, Some("bash"), Some(0), Some("0xcc0"), Some(vec!["GFP_KERNEL"]))]);
    let r = &r[0];
    assert_eq!((r.pid, r.kernel_release.as_deref()), (Some(7788), Some("5.15.0-1087-azure")));
    let scope = "cri-containerd-9192cb33411ff69d015a3577db136757f5b145064a1703efea3d0e12e8a64987.scope";
    assert_eq!((r.cpuset.as_deref(), r.mems_allowed.as_deref()), (Some(scope), Some("0")));
    let info = r.oom.as_ref().expect("oom info");
    assert_eq!(info.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
    assert_eq!(info.oom_memcg.as_deref(), Some("/kubepods.slice"));
    let task_memcg = format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poda5d8fdd1_1369_469e_8a7d_2c1047529435.slice/{scope}"
    );
    assert_eq!(info.task_memcg.as_deref(), Some(task_memcg.as_str()));
    assert_eq!(
        (info.victim_pid, info.victim_comm.as_deref(), info.oom_score_adj),
        (Some(7788), Some("bash"), Some(1000))
    );
    let killed: Vec<(u32, &str)> = info.killed.iter().map(|(p, c)| (*p, c.as_str())).collect();
    assert_eq!(killed, [(7788, "bash"), (7620, "nginx"), (7656, "nginx"), (7657, "nginx"), (7712, "bash")]);
    // A memcg OOM prints no Mem-Info.
    assert!(r.zones.is_empty());
    assert_eq!(&trace(r)[..4], ["show_stack", "dump_stack_lvl", "dump_stack", "dump_header"]);
    assert!(trace(r).contains(&"mem_cgroup_out_of_memory"));
}

#[test]
fn f19_email_wrapped_zone_and_buddy_lines() {
    let r = fixture!("19-ubuntu-2.6.32-24-swapper-r8169-atomic-order0-slub.WRAPPED.log");
    assert_eq!(rows(&r), [(Failure, Some("swapper"), Some(0), Some("0x4020"), None)]);
    let r = &r[0];
    assert_eq!((r.pid, r.kernel_release.as_deref()), (Some(0), Some("2.6.32-24-generic")));
    assert_eq!(trace(r)[..2], ["__alloc_pages_slowpath", "__alloc_pages_nodemask"]);
    assert!(trace(r).contains(&"rtl8169_rx_interrupt"));
    assert_eq!(r.zones.len(), 3);
    assert_eq!(
        zone_row(zone(r, Some(0), "DMA")),
        (Some(15860), Some(20), Some(24), Some(28), vec![3, 3, 3, 1, 2, 2, 0, 0, 1, 1, 3], Some(15860))
    );
    assert_eq!(
        zone_row(zone(r, Some(0), "Normal")),
        (Some(2680), Some(7192), Some(8988), Some(10788), vec![374, 4, 20, 1, 0, 0, 1, 1, 0, 0, 0], Some(2648))
    );
    assert_eq!(zone(r, Some(0), "DMA32").blocks, [789, 765, 589, 1, 1, 4, 4, 2, 0, 0, 0]);
}

#[test]
fn f21_coreos_hex_only() {
    let r = fixture!("21-coreos-4.3.3-ksoftirqd-atomic-order0.FRAGMENT.log");
    assert_eq!(rows(&r), [(Failure, Some("ksoftirqd/0"), Some(0), Some("0x20"), None)]);
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(3), Some("4.3.3-coreos-r2")));
    assert_eq!(trace(&r[0]), ["dump_stack", "warn_alloc_failed", "__alloc_pages_nodemask"]);
}

#[test]
fn f23_interleaved_cpus() {
    let r = fixture!("23-debian9-4.9.0-5-ixgbe-atomic-order0-INTERLEAVED.FRAGMENT.log");
    let atomic = Some(vec!["GFP_ATOMIC"]);
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("swapper/20"), Some(0), Some("0x2080020"), atomic.clone()),
            (Failure, Some("swapper/12"), Some(0), Some("0x2080020"), atomic),
        ]
    );
    // swapper/20 from its task line; swapper/12 from the orphaned `swapper/12: ` piece.
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(0), Some("4.9.0-5-amd64")));
    assert_eq!((r[1].pid, r[1].line), (None, 7));
    // Every frame is `?`, so the path is all of them.
    assert_eq!(trace(&r[1]).len(), 8);
    assert_eq!(trace(&r[1]).last(), Some(&"ixgbe_clean_rx_irq"));
}

#[test]
fn f27_centos6_all_unreliable_frames() {
    let r = fixture!("27-centos6-2.6.32-279-squid-analyzer-tcp-atomic-order1.FRAGMENT.log");
    assert_eq!(rows(&r), [(Failure, Some("squid-analyzer"), Some(1), Some("0x20"), None)]);
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(11115), Some("2.6.32-279.9.1.el6.x86_64")));
    assert_eq!(r[0].timestamp.as_deref(), Some("Dec  1 15:42:51"));
    let t = trace(&r[0]);
    assert_eq!((t.len(), t[0], t[7]), (13, "__alloc_pages_nodemask", "sk_clone"));
    assert!(r[0].frames.iter().all(|f| !f.reliable));
}

#[test]
fn f29_bcachefs_kmalloc_order7() {
    let r = fixture!("29-ubuntu-5.7.0-bcachefs-updater-kmalloc-order7.FRAGMENT.log");
    assert_eq!(
        rows(&r),
        [(Failure, Some("updater"), Some(7), Some("0x40cc0"), Some(vec!["GFP_KERNEL", "__GFP_COMP"]))]
    );
    assert_eq!(
        (r[0].pid, r[0].kernel_release.as_deref()),
        (Some(319221), Some("5.7.0+bcachefs.git20200629.278fe397-1-generic"))
    );
    assert_eq!(trace(&r[0])[..2], ["dump_stack", "warn_alloc.cold"]);
    assert!(trace(&r[0]).contains(&"generic_file_buffered_read"));
    assert_eq!(
        r[0].frames.iter().find(|f| f.function == "bch2_read_iter").and_then(|f| f.module.as_deref()),
        Some("bcachefs")
    );
}

#[test]
fn f31_journal_prefix_after_timestamp() {
    let r = fixture!("31-fedora-5.9.0-rc4-earlyoom-nowait-order0-journal-prefix.FRAGMENT.log");
    assert_eq!(rows(&r), [(Failure, Some("earlyoom"), Some(0), Some("0x800"), Some(vec!["GFP_NOWAIT"]))]);
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(84786), Some("5.9.0-0.rc4.5.fc34.x86_64+debug")));
    assert_eq!(r[0].timestamp.as_deref(), Some("21161.092614"));
    assert_eq!(
        trace(&r[0])[..4],
        ["dump_stack", "warn_alloc.cold", "__alloc_pages_slowpath.constprop.0", "__alloc_pages_nodemask"]
    );
}

#[test]
fn f33_truncated_comm_order8() {
    let r = fixture!("33-3.18.18-dm-writeboost-slab-order8.FRAGMENT.log");
    assert_eq!(rows(&r), [(Failure, Some("dmwb_writeback_"), Some(8), Some("0x204010"), None)]);
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(2674), Some("3.18.18+40-ph")));
    assert_eq!(trace(&r[0]).last(), Some(&"kmem_cache_alloc"));
}

#[test]
fn f35_xtensa_no_cpuset() {
    let r = fixture!("35-xtensa-6.8.0-irq-thread-atomic-order0-nocpuset.FRAGMENT.log");
    assert_eq!(rows(&r), [(Failure, Some("irq/5-600c0004."), Some(0), Some("0x820"), Some(vec!["GFP_ATOMIC"]))]);
    assert_eq!((r[0].nodemask.as_deref(), r[0].cpuset.as_deref()), (Some("(null)"), None));
    assert_eq!((r[0].pid, r[0].kernel_release.as_deref()), (Some(29), Some("6.8.0")));
    assert!(r[0].call_trace.is_empty(), "the fragment ends at `Call Trace:`");
}

#[test]
fn f39_two_famous_one_liners() {
    let r = fixture!("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log");
    assert_eq!(
        rows(&r),
        [
            (Failure, Some("mysqld"), Some(4), Some("0x10c0d0"), None),
            (Failure, Some("runc:[1:CHILD]"), Some(6), Some("0x10c0d0"), None)
        ]
    );
    assert_eq!((r[0].line, r[1].line), (1, 2));
}
