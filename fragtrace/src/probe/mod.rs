//! Probe stage: check prerequisites, load the eBPF object, attach, and hand out the maps.

mod attach;
pub mod gate;
pub mod hooks;
pub mod preflight;
pub mod table;
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
    /// Stacks of sampled extfrag fallbacks (their ids carry `EXTFRAG_STACK_BIT`).
    extfrag_stacks: StackTraceMap<MapData>,
    /// Events carry the memory cgroup's id, and failures its path and the task's ancestry.
    pub attribution: bool,
    /// Which stall groups of the [probe table](table) are attached (`reclaim`, `memcg-reclaim`,
    /// `compaction`, `oom`).
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
    /// Reads what the programs say through aya-log (rare: a layout problem, a full ring).
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

impl Probes {
    /// Checks what the kernel allows, loads the eBPF object and attaches the programs of the
    /// [probe table](table) this configuration and kernel call for.
    pub fn load(config: &ProbeConfig) -> Result<Self, LoadError> {
        preflight::check_capabilities()?;
        let tracefs = Tracefs::locate(true)?;
        let kernel = KernelInfo::discover(&tracefs)?;
        let mode = choose_mode(config.mode)?;
        preflight::raise_memlock_limit();

        let (page_alloc, _) = layout::page_alloc_layout(&kernel.page_alloc_format)?;
        let extfrag = match &kernel.extfrag_format {
            Some(f) => layout::extfrag_layout(f)?,
            None => ExtfragLayout::default(),
        };
        // Both parse the kernel's BTF (a few MB): in parallel, and aya's parse is shared by
        // the loader (CO-RE relocations) and the tp_btf program (attach target), saving ~20 ms
        // of attach time each.
        let task = task_layout::discover();
        let btf = read_btf(mode)?;
        // Stall and OOM tracepoints are optional: attach what this kernel has.
        let stall_formats = attach::StallFormats::read(&tracefs);
        let stall = stall_formats.layout()?;
        let mut ebpf = EbpfLoader::new()
            .btf(btf.as_ref())
            .override_global("PAGE_ALLOC_LAYOUT", &page_alloc, true)
            .override_global("EXTFRAG_LAYOUT", &extfrag, true)
            .override_global("TASK_LAYOUT", &task, true)
            .override_global("STALL_LAYOUT", &stall, true)
            .override_global("EXTFRAG_STACK_EVERY", &crate::event::EXTFRAG_STACK_EVERY, true)
            .map_max_entries("EVENTS", config.ring_bytes.next_power_of_two().max(4096))
            .load(crate::EBPF_OBJECT)?;

        // Loaded (and verified) now whatever the policy, so attaching later is one syscall.
        attach::load_page_alloc(&mut ebpf, mode, btf.as_ref())?;
        let (failure_hooks, fexit_links) = hooks::resolve(&mut ebpf, btf.as_ref(), config.alloc_probe, mode)?;
        log::info!("failures watched by {}", failure_hooks.describe());
        // Tens of MB parsed: not kept for the session.
        drop(btf);
        let sentinels = match failure_hooks.tracepoint {
            TracepointUse::OnPressure => attach::attach_sentinels(&mut ebpf, &tracefs),
            _ => Vec::new(),
        };
        if config.extfrag && kernel.extfrag_format.is_some() {
            attach::attach_tracepoint(&mut ebpf, table::EXTFRAG)?;
        }
        let stall_probes = if config.stalls { attach::attach_stalls(&mut ebpf, &stall_formats) } else { Vec::new() };

        let maps = Maps::take(&mut ebpf)?;
        // The programs' own diagnostics (aya-log); without it they go unread, nothing breaks.
        let logger = aya_log::EbpfLogger::init(&mut ebpf)
            .inspect_err(|e| log::debug!("the eBPF programs' diagnostics will not be shown: {e}"))
            .ok();
        let mut probes = Self {
            ebpf,
            mode,
            kernel,
            ring: maps.ring,
            counters: maps.counters,
            stacks: maps.stacks,
            extfrag_stacks: maps.extfrag_stacks,
            attribution: task.enabled != 0,
            stall_probes,
            sentinels,
            hooks: failure_hooks,
            alloc_hold: config.alloc_probe_hold,
            _fexit: fexit_links,
            pages_at_load: pages_allocated(),
            alloc_link: None,
            alloc_flag: maps.alloc_flag,
            logger,
        };
        if probes.hooks.tracepoint == TracepointUse::Always {
            probes.attach_alloc_probe()?;
        }
        Ok(probes)
    }

    /// Passes the programs' diagnostics on to the `log` crate (shown per `RUST_LOG`). Called
    /// on the session's tick and at its end: they are rare, a second's delay does not matter.
    pub fn flush_logs(&mut self) {
        if let Some(logger) = &mut self.logger {
            logger.flush();
        }
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
        let row = table::page_alloc(self.mode);
        let what = format!("attaching {}", row.section());
        let link = match self.mode {
            ProbeMode::TpBtf => {
                let program: &mut BtfTracePoint = program(&mut self.ebpf, row.program)?;
                AllocLink::Btf(program.attach().map_err(|e| program_error(&what, e))?)
            }
            ProbeMode::Classic => {
                let (category, event) = attach::tracepoint_of(row)?;
                let program: &mut TracePoint = program(&mut self.ebpf, row.program)?;
                AllocLink::Classic(program.attach(category, event).map_err(|e| program_error(&what, e))?)
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
        let row = table::page_alloc(self.mode);
        let what = format!("detaching {}", row.section());
        match link {
            AllocLink::Btf(id) => {
                let program: &mut BtfTracePoint = program(&mut self.ebpf, row.program)?;
                program.detach(id).map_err(|e| program_error(&what, e))
            }
            AllocLink::Classic(id) => {
                let program: &mut TracePoint = program(&mut self.ebpf, row.program)?;
                program.detach(id).map_err(|e| program_error(&what, e))
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

    /// Raw instruction pointers of a kernel stack, innermost first; ids with
    /// `EXTFRAG_STACK_BIT` are looked up in the extfrag fallbacks' own map.
    pub fn stack(&self, id: u32) -> Option<Vec<u64>> {
        let bit = crate::event::EXTFRAG_STACK_BIT;
        let (map, id) = if id & bit != 0 { (&self.extfrag_stacks, id & !bit) } else { (&self.stacks, id) };
        let trace = map.get(&id, 0).ok()?;
        Some(trace.frames().iter().map(|f| f.ip).collect())
    }
}

/// `--probe-mode`, or by default tp_btf where the kernel has BTF and classic where it has not
/// (the fallback of the tp_btf row in the [table]).
fn choose_mode(requested: Option<ProbeMode>) -> Result<ProbeMode, LoadError> {
    Ok(match requested {
        Some(ProbeMode::TpBtf) if !kernel_has_btf() => return Err(LoadError::NoBtf),
        Some(mode) => mode,
        None if kernel_has_btf() => ProbeMode::TpBtf,
        None => ProbeMode::Classic,
    })
}

/// The kernel's BTF where it has one: tp_btf cannot do without it; classic mode uses it for
/// CO-RE relocations and fexit, and goes on without it.
fn read_btf(mode: ProbeMode) -> Result<Option<Btf>, LoadError> {
    match (kernel_has_btf().then(Btf::from_sys_fs).transpose(), mode) {
        (Ok(btf), _) => Ok(btf),
        (Err(e), ProbeMode::TpBtf) => Err(e.into()),
        (Err(e), ProbeMode::Classic) => {
            log::warn!("kernel BTF unreadable, continuing without it: {e}");
            Ok(None)
        }
    }
}

/// The maps user space reads, taken out of the loaded object.
struct Maps {
    ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    stacks: StackTraceMap<MapData>,
    extfrag_stacks: StackTraceMap<MapData>,
    alloc_flag: Array<MapData, u32>,
}

impl Maps {
    fn take(ebpf: &mut Ebpf) -> Result<Self, LoadError> {
        let ring = RingBuf::try_from(take_map(ebpf, "EVENTS")?).map_err(|source| LoadError::Map { name: "EVENTS", source })?;
        let counters = PerCpuArray::try_from(take_map(ebpf, "COUNTERS")?).map_err(|source| LoadError::Map { name: "COUNTERS", source })?;
        let stacks = StackTraceMap::try_from(take_map(ebpf, "STACKS")?).map_err(|source| LoadError::Map { name: "STACKS", source })?;
        let extfrag_stacks =
            StackTraceMap::try_from(take_map(ebpf, "EXTFRAG_STACKS")?).map_err(|source| LoadError::Map { name: "EXTFRAG_STACKS", source })?;
        let alloc_flag = Array::try_from(take_map(ebpf, "ALLOC_PROBE")?).map_err(|source| LoadError::Map { name: "ALLOC_PROBE", source })?;
        Ok(Self { ring, counters, stacks, extfrag_stacks, alloc_flag })
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

fn program_error(what: &str, source: aya::programs::ProgramError) -> LoadError {
    LoadError::Program { what: what.to_string(), source }
}

fn take_map(ebpf: &mut Ebpf, name: &'static str) -> Result<aya::maps::Map, LoadError> {
    ebpf.take_map(name).ok_or(LoadError::MissingMap(name))
}
