//! Every eBPF program fragtrace loads, one row each: how it attaches and to what, what the
//! running kernel must have for it, whether the session can do without it, and what happens
//! when the kernel cannot give it (in the spirit of kunai's compatibility table,
//! `kunai/src/compat.rs`). [`Probes::load`](super::Probes::load) walks this table; the policy
//! that picks among the failure hooks (`--alloc-probe`) is in [`hooks`](super::hooks).
//!
//! Rows are in attach order: that order is what `stall_probes` and the sentinels list show.

use crate::probe_status::ProbeMode;

/// How a program attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// BTF-typed tracepoint (`tp_btf`): the raw tracepoint, arguments read directly.
    TpBtf,
    /// Classic tracepoint (`tracepoint/<category>/<event>`), fields at offsets from the event's
    /// format file.
    Tracepoint,
    /// fexit: when a kernel function returns, with its arguments and return value.
    Fexit,
}

/// What a program attaches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Tracepoint `category:event` (tracefs `events/<category>/<event>`); `tp_btf` attaches to
    /// the same event by name.
    Event { category: &'static str, event: &'static str },
    /// A kernel function.
    Function(&'static str),
}

/// Something the running kernel must have for a program to load and attach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Kernel BTF: `/sys/kernel/btf/vmlinux` (`CONFIG_DEBUG_INFO_BTF=y`).
    KernelBtf,
    /// The target tracepoint: its format file in tracefs.
    Tracepoint,
    /// The target tracepoint with the same fields as this one (one event class): the program
    /// reads both with one layout.
    SameFieldsAs { category: &'static str, event: &'static str },
    /// BPF trampolines (`CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`, and no lockdown refusing
    /// them).
    Trampolines,
    /// The target function in the kernel's BTF (not inlined away).
    FunctionInBtf,
    /// The target function in kallsyms under its own name, not only as a compiler-specialised
    /// copy (`.constprop.0`, `.isra.0`) with another signature.
    FunctionInKallsyms,
}

/// Whether the session needs a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Chosen by an option (`--probe-mode`, `--alloc-probe`) against what the kernel allows;
    /// one of the `mm_page_alloc` programs is always loaded.
    Chosen,
    /// Attached where the kernel has the feature; there, attaching must succeed.
    IfPresent,
    /// Attached where the kernel has the feature and attaching works.
    BestEffort,
}

/// What happens when the kernel lacks a program's feature, or (for [`Need::BestEffort`])
/// attaching it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// Loading fails; the error names what is missing.
    Fail,
    /// These programs do the job instead. Asked for explicitly (`--probe-mode tp-btf`,
    /// `--alloc-probe fexit`), loading fails with an error naming what is missing.
    FallBack(&'static [&'static str]),
    /// Not attached; the log says what is lost.
    Skip(&'static str),
    /// Not attached, without a log line: the recorded kernel facts ([`KernelInfo`]) show the
    /// tracepoint is absent.
    ///
    /// [`KernelInfo`]: crate::probe_status::KernelInfo
    Omit,
}

/// What a program is for, which says when the loader attaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `kmem:mm_page_alloc` for this probe mode: loaded at start, attached at once or by the
    /// gate (`--alloc-probe`).
    PageAlloc(ProbeMode),
    /// Watches failures at their source; which are attached is `--alloc-probe` resolved against
    /// the kernel ([`hooks::resolve`](super::hooks::resolve)).
    FailureHook,
    /// A slow-path signal for `--alloc-probe on-pressure`, shown under this name.
    Sentinel(&'static str),
    /// Extfrag fallbacks (unless `--extfrag` is off).
    Extfrag,
    /// Stall or OOM timing (unless stalls are off). The rows of one group attach together, in
    /// order, and the group is shown under this name.
    Stall(&'static str),
}

/// One eBPF program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Program name in the eBPF object.
    pub program: &'static str,
    pub attach: Attach,
    pub target: Target,
    pub needs: &'static [Feature],
    pub need: Need,
    pub unavailable: Unavailable,
    pub role: Role,
}

const PAGE_ALLOC: Target = Target::Event { category: "kmem", event: "mm_page_alloc" };
const PAGE_ALLOC_PROGRAMS: &[&str] = &["mm_page_alloc_btf", "mm_page_alloc_classic"];
const FEXIT_NEEDS: &[Feature] = &[Feature::KernelBtf, Feature::Trampolines, Feature::FunctionInBtf, Feature::FunctionInKallsyms];
const TRACEPOINT: &[Feature] = &[Feature::Tracepoint];
const SENTINEL_LOST: Unavailable = Unavailable::Skip("one slow-path signal fewer");

const fn event(category: &'static str, event: &'static str) -> Target {
    Target::Event { category, event }
}

/// A best-effort stall tracepoint of `group`; `lost` is what the log says when the group
/// cannot be attached.
const fn stall(program: &'static str, target: Target, needs: &'static [Feature], group: &'static str, lost: &'static str) -> Probe {
    Probe { program, attach: Attach::Tracepoint, target, needs, need: Need::BestEffort, unavailable: Unavailable::Skip(lost), role: Role::Stall(group) }
}

const fn sentinel(program: &'static str, target: Target, name: &'static str) -> Probe {
    Probe { program, attach: Attach::Tracepoint, target, needs: TRACEPOINT, need: Need::BestEffort, unavailable: SENTINEL_LOST, role: Role::Sentinel(name) }
}

/// The table.
pub const PROBES: &[Probe] = &[
    Probe {
        program: "mm_page_alloc_btf",
        attach: Attach::TpBtf,
        target: PAGE_ALLOC,
        needs: &[Feature::KernelBtf, Feature::Tracepoint],
        need: Need::Chosen,
        unavailable: Unavailable::FallBack(&["mm_page_alloc_classic"]),
        role: Role::PageAlloc(ProbeMode::TpBtf),
    },
    Probe {
        program: "mm_page_alloc_classic",
        attach: Attach::Tracepoint,
        target: PAGE_ALLOC,
        needs: TRACEPOINT,
        need: Need::Chosen,
        unavailable: Unavailable::Fail,
        role: Role::PageAlloc(ProbeMode::Classic),
    },
    Probe {
        program: "slowpath_exit",
        attach: Attach::Fexit,
        target: Target::Function("__alloc_pages_slowpath"),
        needs: FEXIT_NEEDS,
        need: Need::Chosen,
        unavailable: Unavailable::FallBack(PAGE_ALLOC_PROGRAMS),
        role: Role::FailureHook,
    },
    Probe {
        program: "memcg_charge_exit",
        attach: Attach::Fexit,
        target: Target::Function("__memcg_kmem_charge_page"),
        needs: FEXIT_NEEDS,
        need: Need::Chosen,
        unavailable: Unavailable::FallBack(PAGE_ALLOC_PROGRAMS),
        role: Role::FailureHook,
    },
    sentinel("wakeup_kswapd", event("vmscan", "mm_vmscan_wakeup_kswapd"), "kswapd-wake"),
    sentinel("wakeup_kcompactd", event("compaction", "mm_compaction_wakeup_kcompactd"), "kcompactd-wake"),
    Probe {
        program: "mm_page_alloc_extfrag",
        attach: Attach::Tracepoint,
        target: event("kmem", "mm_page_alloc_extfrag"),
        needs: TRACEPOINT,
        need: Need::IfPresent,
        unavailable: Unavailable::Omit,
        role: Role::Extfrag,
    },
    stall("direct_reclaim_begin", event("vmscan", "mm_vmscan_direct_reclaim_begin"), TRACEPOINT, "reclaim", "no direct-reclaim stall times"),
    stall("direct_reclaim_end", event("vmscan", "mm_vmscan_direct_reclaim_end"), TRACEPOINT, "reclaim", "no direct-reclaim stall times"),
    stall(
        "memcg_reclaim_begin",
        event("vmscan", "mm_vmscan_memcg_reclaim_begin"),
        &[Feature::Tracepoint, Feature::SameFieldsAs { category: "vmscan", event: "mm_vmscan_direct_reclaim_begin" }],
        "memcg-reclaim",
        "no memory-cgroup reclaim stall times",
    ),
    stall(
        "memcg_reclaim_end",
        event("vmscan", "mm_vmscan_memcg_reclaim_end"),
        &[Feature::Tracepoint, Feature::SameFieldsAs { category: "vmscan", event: "mm_vmscan_direct_reclaim_end" }],
        "memcg-reclaim",
        "no memory-cgroup reclaim stall times",
    ),
    stall("compact_try", event("compaction", "mm_compaction_try_to_compact_pages"), TRACEPOINT, "compaction", "no direct-compaction stall times"),
    stall("compact_zone_begin", event("compaction", "mm_compaction_begin"), TRACEPOINT, "compaction", "no direct-compaction stall times"),
    stall("compact_zone_end", event("compaction", "mm_compaction_end"), TRACEPOINT, "compaction", "no direct-compaction stall times"),
    stall("mark_victim", event("oom", "mark_victim"), TRACEPOINT, "oom", "no OOM kills"),
];

/// The row of `program`; in a `const`, a name not in the table does not compile.
pub const fn row(program: &str) -> &'static Probe {
    let mut i = 0;
    while i < PROBES.len() {
        if same(PROBES[i].program, program) {
            return &PROBES[i];
        }
        i += 1;
    }
    panic!("program not in the probe table")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

pub const PAGE_ALLOC_BTF: &Probe = row("mm_page_alloc_btf");
pub const PAGE_ALLOC_CLASSIC: &Probe = row("mm_page_alloc_classic");
pub const EXTFRAG: &Probe = row("mm_page_alloc_extfrag");

/// The `mm_page_alloc` program of `mode`.
pub fn page_alloc(mode: ProbeMode) -> &'static Probe {
    match mode {
        ProbeMode::TpBtf => PAGE_ALLOC_BTF,
        ProbeMode::Classic => PAGE_ALLOC_CLASSIC,
    }
}

/// The slow-path sentinels, in attach order.
pub fn sentinels() -> impl Iterator<Item = (&'static str, &'static Probe)> {
    PROBES.iter().filter_map(|p| match p.role {
        Role::Sentinel(name) => Some((name, p)),
        _ => None,
    })
}

/// The stall groups in attach order, each with its rows in order.
pub fn stall_groups() -> Vec<(&'static str, Vec<&'static Probe>)> {
    let mut groups: Vec<(&'static str, Vec<&'static Probe>)> = Vec::new();
    for p in PROBES {
        let Role::Stall(group) = p.role else { continue };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, rows)) => rows.push(p),
            None => groups.push((group, vec![p])),
        }
    }
    groups
}

impl Probe {
    /// `tp_btf/mm_page_alloc`, `tracepoint/kmem/mm_page_alloc`, `fexit/__alloc_pages_slowpath`:
    /// the program's section, as errors name it.
    pub fn section(&self) -> String {
        match (self.attach, self.target) {
            (Attach::TpBtf, Target::Event { event, .. }) => format!("tp_btf/{event}"),
            (Attach::Tracepoint, Target::Event { category, event }) => format!("tracepoint/{category}/{event}"),
            (Attach::Fexit, Target::Function(function)) => format!("fexit/{function}"),
            (_, Target::Event { category, event }) => format!("{category}/{event}"),
            (_, Target::Function(function)) => function.to_string(),
        }
    }

    /// `(category, event)` of a tracepoint row (`tp_btf` too); `None` for a function.
    pub fn event(&self) -> Option<(&'static str, &'static str)> {
        match self.target {
            Target::Event { category, event } => Some((category, event)),
            Target::Function(_) => None,
        }
    }

    /// The tracepoint another must share its fields with, if any.
    pub fn same_fields_as(&self) -> Option<(&'static str, &'static str)> {
        self.needs.iter().find_map(|f| match *f {
            Feature::SameFieldsAs { category, event } => Some((category, event)),
            _ => None,
        })
    }

    /// What the log says is lost when the program cannot be attached.
    pub fn lost(&self) -> &'static str {
        match self.unavailable {
            Unavailable::Skip(lost) => lost,
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn one_row_per_program() {
        let names: HashSet<_> = PROBES.iter().map(|p| p.program).collect();
        assert_eq!(names.len(), PROBES.len());
    }

    #[test]
    fn fallbacks_name_rows_of_the_table() {
        for p in PROBES {
            if let Unavailable::FallBack(others) = p.unavailable {
                for other in others {
                    assert!(PROBES.iter().any(|q| q.program == *other && q.program != p.program), "{}: {other}", p.program);
                }
            }
        }
    }

    #[test]
    fn attach_kinds_match_their_targets() {
        for p in PROBES {
            match (p.attach, p.target) {
                (Attach::TpBtf | Attach::Tracepoint, Target::Event { .. }) | (Attach::Fexit, Target::Function(_)) => {}
                other => panic!("{}: {other:?}", p.program),
            }
            let btf = p.needs.contains(&Feature::KernelBtf);
            assert_eq!(btf, p.attach != Attach::Tracepoint, "{}: BTF is needed by tp_btf and fexit only", p.program);
        }
    }

    #[test]
    fn the_rows_of_a_group_agree() {
        let groups = stall_groups();
        let names: Vec<&str> = groups.iter().map(|(g, _)| *g).collect();
        assert_eq!(names, ["reclaim", "memcg-reclaim", "compaction", "oom"], "the order stall_probes shows");
        for (group, rows) in &groups {
            assert!(rows.iter().all(|r| r.need == Need::BestEffort && r.lost() == rows[0].lost() && !r.lost().is_empty()), "{group}");
        }
        let sentinels: Vec<&str> = sentinels().map(|(name, _)| name).collect();
        assert_eq!(sentinels, ["kswapd-wake", "kcompactd-wake"]);
    }

    #[test]
    fn sections_are_what_errors_name() {
        assert_eq!(PAGE_ALLOC_BTF.section(), "tp_btf/mm_page_alloc");
        assert_eq!(PAGE_ALLOC_CLASSIC.section(), "tracepoint/kmem/mm_page_alloc");
        assert_eq!(row("slowpath_exit").section(), "fexit/__alloc_pages_slowpath");
        assert_eq!(EXTFRAG.section(), "tracepoint/kmem/mm_page_alloc_extfrag");
    }

    /// Every program in the eBPF object has a row and every row a program, with the attach
    /// kind and target its ELF section says.
    #[test]
    fn the_table_is_the_object() {
        let object = programs_in(crate::EBPF_OBJECT);
        let rows: HashSet<(String, String)> = PROBES.iter().map(|p| (p.program.to_string(), p.section())).collect();
        assert_eq!(object, rows);
    }

    /// `(function, section)` of every global function outside `.text` in a little-endian ELF64
    /// object: the eBPF programs and the sections that say how they attach.
    fn programs_in(elf: &[u8]) -> HashSet<(String, String)> {
        let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().expect("2 bytes")) as usize;
        let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().expect("4 bytes")) as usize;
        let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().expect("8 bytes")) as usize;
        let cstr = |at: usize| {
            let end = elf[at..].iter().position(|b| *b == 0).expect("NUL") + at;
            String::from_utf8_lossy(&elf[at..end]).into_owned()
        };
        assert_eq!(&elf[..5], b"\x7fELF\x02", "ELF64");
        let (shoff, shentsize, shnum, shstrndx) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
        let section = |i: usize| shoff + i * shentsize;
        let name_of = |i: usize| cstr(u64_at(section(shstrndx) + 0x18) + u32_at(section(i)));
        let symtab = (0..shnum).find(|i| u32_at(section(*i) + 4) == 2).expect("a symbol table");
        let (offset, size, strtab) = (u64_at(section(symtab) + 0x18), u64_at(section(symtab) + 0x20), u32_at(section(symtab) + 0x28));
        let strings = u64_at(section(strtab) + 0x18);
        let mut programs = HashSet::new();
        for sym in (offset..offset + size).step_by(24) {
            let (info, shndx) = (elf[sym + 4], u16_at(sym + 6));
            // STT_FUNC, STB_GLOBAL, in a real section
            if info & 0xf == 2 && info >> 4 == 1 && shndx != 0 && shndx < shnum && name_of(shndx) != ".text" {
                programs.insert((cstr(strings + u32_at(sym)), name_of(shndx)));
            }
        }
        programs
    }
}
