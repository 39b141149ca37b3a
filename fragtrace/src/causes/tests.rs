//! The catalogue checked as code: it parses, every entry is valid, and every entry is tested
//! against a real report (testdata/kernel-logs) or, where no public report was found, a
//! constructed failure (named as such in the entry's references).

use std::collections::BTreeSet;

use super::*;
use crate::{
    event::{Failure, FailureHook, Task},
    gfp::eras::Era,
    kernel_log::{
        analyze::{EraChoice, analyze},
        parse::parse,
    },
};

/// The cause ids of a fixture's reports, in report order (`-` for none; stalls and OOMs
/// never get one).
fn fixture_causes(name: &str) -> Vec<String> {
    let path = format!("{}/testdata/kernel-logs/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&text).into_iter().map(|r| analyze(r, &EraChoice::Auto { fallback: None })).map(|a| a.cause.map_or("-".into(), |c| c.id.clone())).collect()
}

fn failure(comm: &str, order: u32, gfp_mask: u64, hook: FailureHook) -> Failure {
    Failure {
        task: Task { ts_ns: 0, cpu: 0, pid: 1, tgid: 1, cgroup_id: 0, comm: comm.into() },
        order,
        gfp_mask,
        migratetype: 0,
        stack_id: Some(1),
        ancestry: Vec::new(),
        captured_cgroup: None,
        hook,
    }
}

fn frames(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A constructed live failure on a 5.1+ kernel (GFP_KERNEL = 0xcc0): its cause id.
fn live_cause(comm: &str, order: u32, gfp_mask: u64, hook: FailureHook, stack: &[&str]) -> Option<String> {
    let table = Era::V5_1.table();
    of_failure(&failure(comm, order, gfp_mask, hook), Some(&frames(stack)), &table).map(|c| c.id.clone())
}

/// Real reports: every fixture whose report has a known cause, and some that have none.
const FIXTURE_CASES: &[(&str, &[&str])] = &[
    ("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log", &["nf-conntrack-netns-cache"]),
    ("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log", &["-", "nf-conntrack-netns-cache"]),
    ("40-runbook-runc-order6-0x10c0d0.ONELINER.log", &["nf-conntrack-netns-cache"]),
    ("41-ubuntu-5.15.0-91-dockerd-veth_alloc_queues-order4.FRAGMENT.log", &["veth-queue-array"]),
    ("15-arm64-5.10.2-cat-proc_sys-kmalloc-order5-lxc-and-order6.log", &["proc-sysctl-large-read", "proc-sysctl-large-read"]),
    ("07-mips-ingenic-5.8.0-containerd-shim-order4-and-kswapd0-order0.QUOTED.log", &["proc-sysctl-large-read", "net-atomic-skb"]),
    ("01-ubuntu-2.6.28-iwlagn-order4.log", &["netdev-ring-alloc", "netdev-ring-alloc"]),
    ("13-6.7.0-kworker-atlantic-resume-kmalloc-large-order6.FRAGMENT.log", &["netdev-ring-alloc"]),
    ("19-ubuntu-2.6.32-24-swapper-r8169-atomic-order0-slub.WRAPPED.log", &["net-atomic-skb"]),
    ("27-centos6-2.6.32-279-squid-analyzer-tcp-atomic-order1.FRAGMENT.log", &["net-atomic-skb"]),
    ("05-ubuntu-3.13-java-radeon-kmalloc-order4.log", &["drm-ioctl-kmalloc"]),
    ("29-ubuntu-5.7.0-bcachefs-updater-kmalloc-order7.FRAGMENT.log", &["fs-high-order-kmalloc"]),
    ("33-3.18.18-dm-writeboost-slab-order8.FRAGMENT.log", &["large-slab-order"]),
    // No known cause: an SELinux AVC GFP_NOWAIT slab refill, an IRQ thread without a trace.
    ("31-fedora-5.9.0-rc4-earlyoom-nowait-order0-journal-prefix.FRAGMENT.log", &["-"]),
    ("35-xtensa-6.8.0-irq-thread-atomic-order0-nocpuset.FRAGMENT.log", &["-"]),
];

#[test]
fn the_catalogue_parses_and_every_entry_is_complete() {
    let catalogue = Catalogue::parse(CATALOGUE_TOML).unwrap_or_else(|e| panic!("{e}"));
    assert!(catalogue.causes.len() >= 12, "at least 12 entries: {}", catalogue.causes.len());
    assert_eq!(super::catalogue().causes.len(), catalogue.causes.len(), "the embedded catalogue loads");
    for c in &catalogue.causes {
        assert!(!c.title.is_empty() && !c.explanation.is_empty() && !c.remedy.is_empty() && !c.references.is_empty(), "{}", c.id);
        assert!(!c.explanation.contains("  ") && !c.remedy.contains('\n'), "{}: line continuations left spaces or breaks", c.id);
    }
}

#[test]
fn every_entry_is_tested() {
    let mut tested: BTreeSet<String> = FIXTURE_CASES.iter().flat_map(|(_, ids)| ids.iter().map(|s| s.to_string())).collect();
    tested.extend(CONSTRUCTED.iter().map(|s| s.to_string()));
    tested.remove("-");
    let all: BTreeSet<String> = catalogue().causes.iter().map(|c| c.id.clone()).collect();
    assert_eq!(all, tested, "each catalogue entry needs a real report in FIXTURE_CASES or a constructed test in CONSTRUCTED");
}

#[test]
fn real_reports_get_their_causes() {
    for (fixture, expected) in FIXTURE_CASES {
        assert_eq!(fixture_causes(fixture), *expected, "{fixture}");
    }
}

/// Entries without a public report, tested by [`constructed_failures_get_their_causes`].
const CONSTRUCTED: &[&str] = &["pipe-resize-memcg", "bpf-map-area", "hugetlb-pool-growth", "khugepaged-collapse", "thp-fault-fallback", "kvmalloc-fallback"];

/// (comm, order, mask, hook, stack innermost first, expected cause id).
type Constructed = (&'static str, u32, u64, FailureHook, &'static [&'static str], &'static str);

#[test]
fn constructed_failures_get_their_causes() {
    const KERNEL_ACCOUNT: u64 = 0x400cc0;
    let cases: [Constructed; 7] = [
        // What the e2e test records on this host (tests/tests/e2e_causes.rs), frame for frame.
        ("alloc-trigger", 6, KERNEL_ACCOUNT | 0x40000, FailureHook::MemcgCharge, &["__alloc_frozen_pages_noprof", "___kmalloc_large_node", "__kmalloc_large_noprof", "pipe_resize_ring", "pipe_set_size", "pipe_fcntl", "do_fcntl"], "pipe-resize-memcg"),
        ("bpftool", 3, KERNEL_ACCOUNT | 0x10000 | 0x2000, FailureHook::PageAllocator, &["__kmalloc_node_noprof", "__bpf_map_area_alloc", "array_map_alloc", "map_create", "__sys_bpf"], "bpf-map-area"),
        ("sh", 9, 0x4000 | 0x2000 | 0x40000 | 0x100cca, FailureHook::PageAllocator, &["alloc_buddy_hugetlb_folio", "only_alloc_fresh_hugetlb_folio", "alloc_pool_huge_folio", "set_max_huge_pages", "nr_hugepages_store_common"], "hugetlb-pool-growth"),
        ("khugepaged", 9, 0x1c2cca, FailureHook::PageAllocator, &["__folio_alloc_noprof", "alloc_charge_folio", "collapse_huge_page", "hpage_collapse_scan_pmd", "khugepaged"], "khugepaged-collapse"),
        ("khugepaged", 9, 0x1c2cca, FailureHook::PageAllocator, &[], "khugepaged-collapse"),
        ("java", 9, 0x1c2cca, FailureHook::PageAllocator, &["vma_alloc_folio_noprof", "vma_alloc_anon_folio_pmd", "do_huge_pmd_anonymous_page", "__handle_mm_fault"], "thp-fault-fallback"),
        ("dockerd", 4, 0xcc0 | 0x10000 | 0x2000, FailureHook::PageAllocator, &["__kmalloc_node_noprof", "__kvmalloc_node_noprof", "alloc_fdtable", "expand_files"], "kvmalloc-fallback"),
    ];
    for (comm, order, mask, hook, stack, expected) in cases {
        assert_eq!(live_cause(comm, order, mask, hook, stack).as_deref(), Some(expected), "{comm} {stack:?}");
    }
    // The same pipe resize seen by the tracepoint alone, or from a group: still a pipe resize.
    assert_eq!(live_cause("x", 7, KERNEL_ACCOUNT, FailureHook::Tracepoint, &["pipe_resize_ring"]).as_deref(), Some("pipe-resize-memcg"));
    assert_eq!(live_cause("x", 0, 0xcc0, FailureHook::PageAllocator, &["do_sys_open"]), None, "no match is null");
}

#[test]
fn conditions_hook_kernel_range_and_flags() {
    // Printed frames (offset, module) match by function name.
    let table = Era::V3_10.table();
    let conntrack = frames(&["kmem_cache_create", "nf_conntrack_init_net+0xf1/0x260 [nf_conntrack]"]);
    let input = CauseInput { frames: &conntrack, order: Some(5), hook: Some(Hook::Allocator), ..CauseInput::default() };
    assert_eq!(find(&input).map(|c| c.id.as_str()), Some("nf-conntrack-netns-cache"));
    // The hook condition: only that hook, and an unknown hook meets none.
    let hooked = Catalogue::parse("[[cause]]\nid = \"m\"\ntitle = \"t\"\nexplanation = \"e\"\nfixed_in = \"\"\nremedy = \"r\"\nreferences = [\"x\"]\n[[cause.match]]\nhook = \"memcg\"\n").expect("catalogue");
    let memcg = CauseInput { hook: Some(Hook::Memcg), ..CauseInput::default() };
    assert!(hooked.find(&memcg).is_some());
    assert!(hooked.find(&CauseInput { hook: Some(Hook::Allocator), ..memcg }).is_none() && hooked.find(&CauseInput::default()).is_none());
    // The header-only runc line: only on kernels up to 4.6 when the kernel is named.
    let mut runc = CauseInput {
        comm: Some("runc:[1:CHILD]"),
        order: Some(6),
        gfp: GfpFacts { mask: Some(0x10c0d0), table: Some(&table), names: &[] },
        ..CauseInput::default()
    };
    assert_eq!(find(&runc).map(|c| c.id.as_str()), Some("nf-conntrack-netns-cache"));
    runc.kernel = Some("4.6.7-1");
    assert!(find(&runc).is_some(), "4.6 covers its patch releases");
    runc.kernel = Some("4.7.0");
    assert!(find(&runc).is_none(), "fixed in 4.7");
    // RHEL 7.8+ charges the same allocation with __GFP_ACCOUNT (the same bit, unnamed in its list).
    let rhel79 = Era::for_release("3.10.0-1160.el7.x86_64").expect("RHEL 7.9 era").lookup_table();
    runc.kernel = Some("3.10.0-1160.el7.x86_64");
    runc.gfp.table = Some(&rhel79);
    assert_eq!(find(&runc).map(|c| c.id.as_str()), Some("nf-conntrack-netns-cache"));
    // Upstream 3.18 has no memcg bit at 0x100000: not this cause.
    let v3_18 = Era::for_release("3.18.63").expect("3.18 era").lookup_table();
    runc.kernel = Some("3.18.63");
    runc.gfp.table = Some(&v3_18);
    assert!(find(&runc).is_none(), "0x100000 means nothing on 3.18");
    // Flags are bits of the era's table: GFP_ATOMIC in 3.10 has no __GFP_WAIT, GFP_KERNEL has.
    let skb = frames(&["__netdev_alloc_skb"]);
    let atomic = CauseInput { frames: &skb, order: Some(0), gfp: GfpFacts { mask: Some(0x20), table: Some(&table), names: &[] }, ..CauseInput::default() };
    assert_eq!(find(&atomic).map(|c| c.id.as_str()), Some("net-atomic-skb"));
    let sleeping = CauseInput { gfp: GfpFacts { mask: Some(0xd0), table: Some(&table), names: &[] }, ..atomic };
    assert!(find(&sleeping).is_none(), "a GFP_KERNEL skb is not atomic");
    let unreadable = CauseInput { gfp: GfpFacts::default(), ..atomic };
    assert!(find(&unreadable).is_none(), "flag conditions need a readable mask");
}

#[test]
fn invalid_catalogues_are_refused_with_the_entry_named() {
    let entry = |id: &str, m: &str| {
        format!("[[cause]]\nid = \"{id}\"\ntitle = \"t\"\nexplanation = \"e\"\nfixed_in = \"\"\nremedy = \"r\"\nreferences = [\"x\"]\n[[cause.match]]\n{m}\n")
    };
    let ok = entry("a", "order = [1, 2]");
    assert!(Catalogue::parse(&ok).is_ok());
    let cases = [
        (format!("{ok}{}", entry("a", "order = [1, 2]")), "used twice"),
        (entry("b", "hook = \"memcg\"\nbogus = 1"), "bogus"),
        (entry("c", "gfp_all = [\"__GFP_NOSUCH\"]"), "no kernel era"),
        (entry("d", "order = [5, 2]"), "order range"),
        (entry("e", "kernel = [\"x\", \"\"]"), "not a version"),
        (entry("F", "order = [1, 2]"), "kebab-case"),
        (entry("g", "frames = [\"\"]"), "invalid pattern"),
        (ok.replace("order = [1, 2]", "frames = []"), "without conditions"),
        (ok.replace("remedy = \"r\"", "remedy = \" \""), "remedy"),
    ];
    for (text, needle) in cases {
        let err = Catalogue::parse(&text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(needle), "{needle:?} not in {err:?} for:\n{text}");
    }
}

#[test]
fn the_json_field_is_the_cause_or_null() {
    let c = catalogue().get("pipe-resize-memcg").expect("entry");
    let v = to_json(Some(c));
    assert_eq!(v["id"], "pipe-resize-memcg");
    assert!(v["fixed_in"].is_null() && v["remedy"].is_string() && v["explanation"].is_string() && v["references"].is_array());
    assert!(to_json(catalogue().get("nf-conntrack-netns-cache"))["fixed_in"].as_str().is_some_and(|f| f.starts_with("4.7")));
    assert!(to_json(None).is_null());
}
