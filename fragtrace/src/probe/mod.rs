//! Probe stage: check prerequisites, load the eBPF object, attach, and hand out the maps.

pub mod gate;
pub mod hooks;
pub mod preflight;
pub mod task_layout;

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{Array, MapData, PerCpuArray, RingBuf, StackTraceMap},
    programs::{BtfTracePoint, TracePoint, trace_point::TracePointLinkId, tp_btf::BtfTracePointLinkId},
};
use fragtrace_ebpf::{ExtfragLayout, counter};
use thiserror::Error;

use crate::{
    event::Counters,
    host::{
        btf::kernel_has_btf,
        tracefs::{FormatError, Tracefs, TracefsError, layout},
    },
    probe_status::{AllocProbePolicy, FailureHooks, KernelInfo, ProbeMode, TracepointUse},
};

#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Preflight(#[from] preflight::PreflightError),
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    #[error("tracepoint layout: {0}")]
    Layout(#[from] FormatError),
    #[error(
        "--probe-mode tp-btf needs kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y); \
         use --probe-mode classic on this kernel"
    )]
    NoBtf,
    #[error("loading the eBPF object: {0}")]
    Ebpf(#[from] aya::EbpfError),
    #[error("{what}: {source}")]
    Program { what: String, source: aya::programs::ProgramError },
    #[error("map {name}: {source}")]
    Map { name: &'static str, source: aya::maps::MapError },
    #[error("map {0} is missing from the eBPF object")]
    MissingMap(&'static str),
    #[error("reading kernel BTF: {0}")]
    Btf(#[from] aya::BtfError),
    #[error("--alloc-probe fexit: {0}; use --alloc-probe auto (falls back to mm_page_alloc) on this kernel")]
    Fexit(String),
}

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// `None`: tp_btf when the kernel has BTF, else classic.
    pub mode: Option<ProbeMode>,
    /// Ring buffer size in bytes (a power of two, multiple of the page size).
    pub ring_bytes: u32,
    /// Attach the extfrag tracepoint too.
    pub extfrag: bool,
    /// Attach the stall (direct reclaim/compaction) and OOM probes where the kernel has them.
    pub stalls: bool,
    /// How failures are watched (default `Auto`: every failure, the cheapest way this kernel
    /// allows, see [`hooks`]). `OnPressure` loads `mm_page_alloc` detached and attaches the
    /// slow-path sentinels; the session attaches it when they fire ([`gate`]).
    pub alloc_probe: AllocProbePolicy,
    /// `OnPressure`: calm time after the last slow-path signal before detaching.
    pub alloc_probe_hold: std::time::Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            mode: None,
            ring_bytes: 1 << 20,
            extfrag: true,
            stalls: true,
            alloc_probe: AllocProbePolicy::Auto,
            alloc_probe_hold: gate::HOLD,
        }
    }
}

/// The attached `mm_page_alloc` program.
enum AllocLink {
    Btf(BtfTracePointLinkId),
    Classic(TracePointLinkId),
}

/// Loaded and attached probes. Dropping this detaches everything.
pub struct Probes {
    // Owns the programs and their links; kept alive for the session.
    ebpf: Ebpf,
    pub mode: ProbeMode,
    pub kernel: KernelInfo,
    pub ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    stacks: StackTraceMap<MapData>,
    /// Events carry the memory cgroup's id, and failures its path and the task's ancestry.
    pub attribution: bool,
    /// Which of `reclaim`, `compaction`, `oom` are attached.
    pub stall_probes: Vec<&'static str>,
    /// Which slow-path wake-up sentinels are attached (`kswapd-wake`, `kcompactd-wake`).
    pub sentinels: Vec<&'static str>,
    /// What watches failures: fexit programs and when `mm_page_alloc` is attached.
    pub hooks: FailureHooks,
    pub alloc_hold: std::time::Duration,
    /// Kept alive with `ebpf`: the fexit programs stay attached for the session.
    _fexit: hooks::FexitLinks,
    /// /proc/vmstat `pgalloc_*` at load: `allocs_seen` counts from there.
    pages_at_load: u64,
    alloc_link: Option<AllocLink>,
    /// 1 while `mm_page_alloc` is attached: the sentinels stay quiet then.
    alloc_flag: Array<MapData, u32>,
}

impl Probes {
    pub fn load(config: &ProbeConfig) -> Result<Self, LoadError> {
        preflight::check_capabilities()?;
        let tracefs = Tracefs::locate(true)?;
        let kernel = KernelInfo::discover(&tracefs)?;
        let mode = match config.mode {
            Some(ProbeMode::TpBtf) if !kernel_has_btf() => return Err(LoadError::NoBtf),
            Some(mode) => mode,
            None if kernel_has_btf() => ProbeMode::TpBtf,
            None => ProbeMode::Classic,
        };
        preflight::raise_memlock_limit();

        let (page_alloc, _) = layout::page_alloc_layout(&kernel.page_alloc_format)?;
        let extfrag = match &kernel.extfrag_format {
            Some(f) => layout::extfrag_layout(f)?,
            None => ExtfragLayout::default(),
        };
        let ring_bytes = config.ring_bytes.next_power_of_two().max(4096);
        // Both parse the kernel's BTF (a few MB): in parallel, and aya's parse is shared by
        // the loader (CO-RE relocations) and the tp_btf program (attach target), saving ~20 ms
        // of attach time each.
        let task = task_layout::discover();
        let btf = kernel_has_btf().then(Btf::from_sys_fs).transpose();
        let btf = match (btf, mode) {
            (Ok(btf), _) => btf,
            (Err(e), ProbeMode::TpBtf) => return Err(e.into()),
            (Err(e), ProbeMode::Classic) => {
                log::warn!("kernel BTF unreadable, continuing without it: {e}");
                None
            }
        };
        // Stall and OOM tracepoints are optional: attach what this kernel has.
        let optional_format = |system: &str, event: &str| match tracefs.event_format(system, event) {
            Ok(f) => Some(f),
            Err(e) => {
                log::info!("{system}:{event} unavailable: {e}");
                None
            }
        };
        let reclaim_begin = optional_format("vmscan", "mm_vmscan_direct_reclaim_begin");
        let reclaim_end = optional_format("vmscan", "mm_vmscan_direct_reclaim_end");
        // memcg reclaim shares direct reclaim's event class; only attach if the layouts agree.
        let memcg_same_layout = |a: &Option<crate::host::tracefs::EventFormat>, b: Option<crate::host::tracefs::EventFormat>| {
            matches!((a, b), (Some(a), Some(b)) if a.fields == b.fields)
        };
        let memcg_reclaim = memcg_same_layout(&reclaim_begin, optional_format("vmscan", "mm_vmscan_memcg_reclaim_begin"))
            && memcg_same_layout(&reclaim_end, optional_format("vmscan", "mm_vmscan_memcg_reclaim_end"));
        let mark_victim = optional_format("oom", "mark_victim");
        let compact_try = optional_format("compaction", "mm_compaction_try_to_compact_pages");
        let compact_begin = optional_format("compaction", "mm_compaction_begin");
        let compact_end = optional_format("compaction", "mm_compaction_end");
        let stall = layout::stall_layout(reclaim_begin.as_ref(), reclaim_end.as_ref(), mark_victim.as_ref(), compact_try.as_ref(), compact_end.as_ref())?;
        let mut ebpf = EbpfLoader::new()
            .btf(btf.as_ref())
            .override_global("PAGE_ALLOC_LAYOUT", &page_alloc, true)
            .override_global("EXTFRAG_LAYOUT", &extfrag, true)
            .override_global("TASK_LAYOUT", &task, true)
            .override_global("STALL_LAYOUT", &stall, true)
            .map_max_entries("EVENTS", ring_bytes)
            .load(crate::EBPF_OBJECT)?;

        // Loaded (and verified) now whatever the policy, so attaching later is one syscall.
        match mode {
            ProbeMode::TpBtf => {
                let btf = btf.as_ref().ok_or(LoadError::NoBtf)?;
                let program: &mut BtfTracePoint = program(&mut ebpf, "mm_page_alloc_btf")?;
                program.load("mm_page_alloc", btf).map_err(|e| program_error("loading tp_btf/mm_page_alloc", e))?;
            }
            ProbeMode::Classic => {
                let program: &mut TracePoint = program(&mut ebpf, "mm_page_alloc_classic")?;
                program.load().map_err(|e| program_error("loading tracepoint/kmem/mm_page_alloc", e))?;
            }
        }
        let (failure_hooks, fexit_links) = hooks::resolve(&mut ebpf, btf.as_ref(), config.alloc_probe, mode)?;
        log::info!("failures watched by {}", failure_hooks.describe());
        // Tens of MB parsed: not kept for the session.
        drop(btf);
        let mut sentinels = Vec::new();
        if failure_hooks.tracepoint == TracepointUse::OnPressure {
            for (name, program_name, system, event) in [
                ("kswapd-wake", "wakeup_kswapd", "vmscan", "mm_vmscan_wakeup_kswapd"),
                ("kcompactd-wake", "wakeup_kcompactd", "compaction", "mm_compaction_wakeup_kcompactd"),
            ] {
                if tracefs.event_format(system, event).is_err() {
                    log::info!("{system}:{event} unavailable: one slow-path signal fewer");
                    continue;
                }
                match attach_tracepoint_in(&mut ebpf, program_name, system, event) {
                    Ok(()) => sentinels.push(name),
                    Err(e) => log::warn!("slow-path sentinel {system}:{event}: {e}"),
                }
            }
        }
        if config.extfrag && kernel.extfrag_format.is_some() {
            attach_tracepoint(&mut ebpf, "mm_page_alloc_extfrag", "mm_page_alloc_extfrag")?;
        }
        let mut stall_probes = Vec::new();
        if config.stalls {
            if reclaim_begin.is_some() && reclaim_end.is_some() {
                let begin = attach_tracepoint_in(&mut ebpf, "direct_reclaim_begin", "vmscan", "mm_vmscan_direct_reclaim_begin");
                let end = attach_tracepoint_in(&mut ebpf, "direct_reclaim_end", "vmscan", "mm_vmscan_direct_reclaim_end");
                match begin.and(end) {
                    Ok(()) => stall_probes.push("reclaim"),
                    Err(e) => log::warn!("no direct-reclaim stall times: {e}"),
                }
            }
            if memcg_reclaim {
                let begin = attach_tracepoint_in(&mut ebpf, "memcg_reclaim_begin", "vmscan", "mm_vmscan_memcg_reclaim_begin");
                let end = attach_tracepoint_in(&mut ebpf, "memcg_reclaim_end", "vmscan", "mm_vmscan_memcg_reclaim_end");
                match begin.and(end) {
                    Ok(()) => stall_probes.push("memcg-reclaim"),
                    Err(e) => log::warn!("no memory-cgroup reclaim stall times: {e}"),
                }
            }
            if compact_try.is_some() && compact_begin.is_some() && compact_end.is_some() {
                let attached = attach_tracepoint_in(&mut ebpf, "compact_try", "compaction", "mm_compaction_try_to_compact_pages")
                    .and_then(|()| attach_tracepoint_in(&mut ebpf, "compact_zone_begin", "compaction", "mm_compaction_begin"))
                    .and_then(|()| attach_tracepoint_in(&mut ebpf, "compact_zone_end", "compaction", "mm_compaction_end"));
                match attached {
                    Ok(()) => stall_probes.push("compaction"),
                    Err(e) => log::warn!("no direct-compaction stall times: {e}"),
                }
            }
            if mark_victim.is_some() {
                match attach_tracepoint_in(&mut ebpf, "mark_victim", "oom", "mark_victim") {
                    Ok(()) => stall_probes.push("oom"),
                    Err(e) => log::warn!("no OOM kills: {e}"),
                }
            }
        }

        let ring = RingBuf::try_from(take_map(&mut ebpf, "EVENTS")?).map_err(|source| LoadError::Map { name: "EVENTS", source })?;
        let counters = PerCpuArray::try_from(take_map(&mut ebpf, "COUNTERS")?)
            .map_err(|source| LoadError::Map { name: "COUNTERS", source })?;
        let stacks = StackTraceMap::try_from(take_map(&mut ebpf, "STACKS")?)
            .map_err(|source| LoadError::Map { name: "STACKS", source })?;
        let alloc_flag = Array::try_from(take_map(&mut ebpf, "ALLOC_PROBE")?)
            .map_err(|source| LoadError::Map { name: "ALLOC_PROBE", source })?;
        let mut probes = Self {
            ebpf,
            mode,
            kernel,
            ring,
            counters,
            stacks,
            attribution: task.enabled != 0,
            stall_probes,
            sentinels,
            hooks: failure_hooks,
            alloc_hold: config.alloc_probe_hold,
            _fexit: fexit_links,
            pages_at_load: pages_allocated(),
            alloc_link: None,
            alloc_flag,
        };
        if probes.hooks.tracepoint == TracepointUse::Always {
            probes.attach_alloc_probe()?;
        }
        Ok(probes)
    }

    /// Whether `mm_page_alloc` is attached right now.
    pub fn alloc_probe_attached(&self) -> bool {
        self.alloc_link.is_some()
    }

    /// Attaches `mm_page_alloc` (already loaded); a no-op when attached.
    pub fn attach_alloc_probe(&mut self) -> Result<(), LoadError> {
        if self.alloc_link.is_some() {
            return Ok(());
        }
        let link = match self.mode {
            ProbeMode::TpBtf => {
                let program: &mut BtfTracePoint = program(&mut self.ebpf, "mm_page_alloc_btf")?;
                AllocLink::Btf(program.attach().map_err(|e| program_error("attaching tp_btf/mm_page_alloc", e))?)
            }
            ProbeMode::Classic => {
                let program: &mut TracePoint = program(&mut self.ebpf, "mm_page_alloc_classic")?;
                AllocLink::Classic(
                    program.attach("kmem", "mm_page_alloc").map_err(|e| program_error("attaching tracepoint/kmem/mm_page_alloc", e))?,
                )
            }
        };
        self.alloc_link = Some(link);
        // After attaching: a sentinel firing in between still asks, harmlessly.
        self.alloc_flag.set(0, 1, 0).map_err(|source| LoadError::Map { name: "ALLOC_PROBE", source })
    }

    /// Detaches `mm_page_alloc`; a no-op when detached.
    pub fn detach_alloc_probe(&mut self) -> Result<(), LoadError> {
        let Some(link) = self.alloc_link.take() else { return Ok(()) };
        // Before detaching, so no slow-path entry falls between the two.
        self.alloc_flag.set(0, 0, 0).map_err(|source| LoadError::Map { name: "ALLOC_PROBE", source })?;
        match link {
            AllocLink::Btf(id) => {
                let program: &mut BtfTracePoint = program(&mut self.ebpf, "mm_page_alloc_btf")?;
                program.detach(id).map_err(|e| program_error("detaching tp_btf/mm_page_alloc", e))
            }
            AllocLink::Classic(id) => {
                let program: &mut TracePoint = program(&mut self.ebpf, "mm_page_alloc_classic")?;
                program.detach(id).map_err(|e| program_error("detaching tracepoint/kmem/mm_page_alloc", e))
            }
        }
    }

    /// Kernel counters summed over CPUs.
    pub fn counters(&self) -> Counters {
        let sum = |index: u32| -> u64 {
            self.counters
                .get(&index, 0)
                .map(|values| values.iter().sum())
                .unwrap_or(0)
        };
        Counters {
            allocs_seen: pages_allocated().wrapping_sub(self.pages_at_load),
            failures: sum(counter::FAILURES),
            extfrag: sum(counter::EXTFRAG),
            dropped: sum(counter::DROPPED),
            stack_errors: sum(counter::STACK_ERRORS),
            stalls: sum(counter::STALLS),
            ooms: sum(counter::OOMS),
            slow_path: sum(counter::SLOW_PATH),
        }
    }

    /// Raw instruction pointers of a kernel stack, innermost first.
    pub fn stack(&self, id: u32) -> Option<Vec<u64>> {
        let trace = self.stacks.get(&id, 0).ok()?;
        Some(trace.frames().iter().map(|f| f.ip).collect())
    }
}

/// Pages allocated since boot (/proc/vmstat `pgalloc_*`): the allocation rate, counted by the
/// kernel itself so the failure probe's success path need not.
fn pages_allocated() -> u64 {
    let text = std::fs::read_to_string("/proc/vmstat").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("pgalloc_"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .fold(0u64, u64::wrapping_add)
}

fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, LoadError>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let prog = ebpf.program_mut(name).ok_or_else(|| LoadError::Program {
        what: format!("program {name}"),
        source: aya::programs::ProgramError::UnexpectedProgramType,
    })?;
    prog.try_into().map_err(|e| program_error(&format!("program {name}"), e))
}

fn attach_tracepoint(ebpf: &mut Ebpf, program_name: &str, event: &str) -> Result<(), LoadError> {
    let program: &mut TracePoint = program(ebpf, program_name)?;
    program.load().map_err(|e| program_error(&format!("loading tracepoint/kmem/{event}"), e))?;
    program.attach("kmem", event).map_err(|e| program_error(&format!("attaching tracepoint/kmem/{event}"), e))?;
    Ok(())
}

fn attach_tracepoint_in(ebpf: &mut Ebpf, program_name: &str, system: &str, event: &str) -> Result<(), LoadError> {
    let program: &mut TracePoint = program(ebpf, program_name)?;
    program.load().map_err(|e| program_error(&format!("loading tracepoint/{system}/{event}"), e))?;
    program.attach(system, event).map_err(|e| program_error(&format!("attaching tracepoint/{system}/{event}"), e))?;
    Ok(())
}

fn program_error(what: &str, source: aya::programs::ProgramError) -> LoadError {
    LoadError::Program { what: what.to_string(), source }
}

fn take_map(ebpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, LoadError> {
    ebpf.take_map(name).ok_or(LoadError::MissingMap(name))
}
