//! Subcommands. Each is a small function from parsed arguments to library calls.

mod capture;
mod dmesg;
mod doctor;
mod gfp;
mod live;
mod otlp;
mod record;
mod report;
mod report_pprof;
mod serve;
mod top;
mod top_tui;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fragtrace::{
    filter::EventFilter,
    probe_status::{AllocProbePolicy, ProbeMode},
};

#[derive(Debug, Parser)]
#[command(
    name = "fragtrace",
    version,
    about = "Why can't the kernel hand out memory? Failing allocations (order, GFP flags, process, \
             kernel stack), extfrag fallbacks and zone state, live from eBPF.",
    after_help = "Examples:\n  \
        sudo fragtrace top                         live view, refreshed every second\n  \
        sudo fragtrace top --batch --count 5       five plain-text reports, for logs and scripts\n  \
        sudo fragtrace top --comm 'runc*' --min-order 4   only what matters to a stuck pod\n  \
        sudo fragtrace record -o incident.ftr --duration 10m --compress\n  \
        sudo fragtrace record -o ring.ftr --max-size 64M --keep 4   bounded disk use\n  \
        fragtrace report incident.ftr              summary of a recording (any machine)\n  \
        fragtrace report ring.ftr* --since 5m      every part, from 5 minutes in\n  \
        fragtrace report incident.ftr --json       the summary as one JSON document\n  \
        fragtrace report incident.ftr --jsonl      one JSON object per event, then a summary\n  \
        fragtrace report --format chrome-trace incident.ftr > trace.json   open in ui.perfetto.dev\n  \
        fragtrace report --format pprof incident.ftr -o failures.pb.gz   go tool pprof, Pyroscope\n  \
        fragtrace top --replay incident.ftr --speed 10   the live view, driven from a file"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live view of failing allocations, extfrag fallbacks and free blocks per zone (root).
    Top(top::TopArgs),
    /// Record events to a file for later analysis, here or on another machine (root).
    Record(record::RecordArgs),
    /// Analyse a recording made by `fragtrace record` (no privileges needed).
    Report(report::ReportArgs),
    /// Wait for a matching allocation failure and write an incident bundle (root).
    Capture(capture::CaptureArgs),
    /// Page allocation failures, stalls and OOM kills from kernel logs of any era (no eBPF).
    Dmesg(dmesg::DmesgArgs),
    /// Decode GFP masks (or encode names) for any kernel era.
    Gfp(gfp::GfpArgs),
    /// Judge the zones' fragmentation and the stalls, and say what to do (root for --apply).
    Doctor(doctor::DoctorArgs),
    /// Prometheus/OpenMetrics metrics on /metrics for fleets (root; see deploy/).
    Serve(serve::ServeArgs),
}

/// An error with its own exit status (e.g. 2: `capture --timeout` with nothing captured).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

/// Options shared by every command that attaches probes.
#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// How to hook kmem:mm_page_alloc: `tp-btf` (fast, needs kernel BTF) or `classic`
    /// (any kernel). Default: tp-btf when /sys/kernel/btf/vmlinux exists.
    #[arg(long, value_enum)]
    pub probe_mode: Option<ProbeModeArg>,
    /// How failing allocations are watched.
    /// `auto` (default): every failure from the first moment, the cheapest way the kernel
    /// allows: fexit on `__alloc_pages_slowpath` and `__memcg_kmem_charge_page` where it has
    /// BPF trampolines and both functions in its BTF (nothing runs on the allocation fast
    /// path), else `always`. The choice is shown in `top`'s header, `report --json`
    /// (`alloc_probe.hooks`) and /metrics (`fragtrace_probe`).
    /// `always`: kmem:mm_page_alloc on every allocation (a load and a compare each).
    /// `fexit`: the fexit programs, with mm_page_alloc kept for page-allocator failures where
    /// `__alloc_pages_slowpath` is inlined; every memcg charge failure is labelled as such;
    /// an error on kernels without trampolines.
    /// `on-pressure` (opt-in, CAN MISS FAILURES): mm_page_alloc only while the allocator is on
    /// its slow path (kswapd/kcompactd woken, direct or memcg reclaim, direct compaction,
    /// extfrag, OOM kills, THP fallbacks in /proc/vmstat) and for --alloc-probe-hold after;
    /// an idle machine pays nothing, but a failure no slow-path signal precedes is missed
    /// (BENCHMARKS.md "Miss rate").
    #[arg(long, value_enum, value_name = "HOW", default_value_t = AllocProbeArg::Auto)]
    pub alloc_probe: AllocProbeArg,
    /// With `--alloc-probe on-pressure`: how long the per-allocation probe stays attached
    /// after the last slow-path signal.
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DURATION")]
    pub alloc_probe_hold: std::time::Duration,
    /// Kernel→user ring buffer size in KiB (rounded up to a power of two). Larger buffers
    /// drop fewer events in storms.
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub ring_buffer_kib: u32,
    /// Another directory holding OCI bundles as `<container id>/config.json`, searched
    /// before the container runtimes' usual state directories for pod names.
    #[arg(long, value_name = "DIR")]
    pub oci_root: Vec<std::path::PathBuf>,
}

/// `--probe-mode` values ([`ProbeMode`] for clap; the help text is the variants' docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProbeModeArg {
    /// BTF tracepoint (`tp_btf`): arguments read directly, ≈75 ns/call here. Needs kernel BTF.
    TpBtf,
    /// Classic tracepoint with field offsets from the format file, ≈125 ns/call. Any kernel.
    Classic,
}

impl From<ProbeModeArg> for ProbeMode {
    fn from(arg: ProbeModeArg) -> Self {
        match arg {
            ProbeModeArg::TpBtf => ProbeMode::TpBtf,
            ProbeModeArg::Classic => ProbeMode::Classic,
        }
    }
}

/// `--alloc-probe` values ([`AllocProbePolicy`] for clap; the help text is the variants' docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AllocProbeArg {
    /// The cheapest combination that sees every failure from the first moment: `fexit` where
    /// the kernel has BPF trampolines and `__alloc_pages_slowpath` in its BTF (no program on
    /// the allocation fast path), else `always`.
    Auto,
    /// Keep `mm_page_alloc` attached all the time: every failure, at a cost on every
    /// allocation.
    Always,
    /// fexit on `__memcg_kmem_charge_page` (memory-cgroup charge failures) and on
    /// `__alloc_pages_slowpath` (page-allocator failures); where the slow path is inlined
    /// (Debian's 6.1, 6.12), `mm_page_alloc` stays attached for those. Needs BPF
    /// trampolines: an error where the kernel has none.
    Fexit,
    /// Attach `mm_page_alloc` while the allocator is on its slow path and for 30 s after;
    /// an idle machine pays nothing, but a failure that comes before any slow-path signal is
    /// missed (memory-cgroup charge failures are still caught where fexit works).
    OnPressure,
}

impl From<AllocProbeArg> for AllocProbePolicy {
    fn from(arg: AllocProbeArg) -> Self {
        match arg {
            AllocProbeArg::Auto => AllocProbePolicy::Auto,
            AllocProbeArg::Always => AllocProbePolicy::Always,
            AllocProbeArg::Fexit => AllocProbePolicy::Fexit,
            AllocProbeArg::OnPressure => AllocProbePolicy::OnPressure,
        }
    }
}

/// Event filters shared by `top`, `record` and `report`. Values of one option are
/// alternatives; different options must all match. Ring-buffer drops are never filtered.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only tasks whose name matches PATTERN (exact, or a glob with * and ?; repeat the
    /// option or separate with commas).
    #[arg(long, value_name = "PATTERN", value_delimiter = ',')]
    pub comm: Vec<String>,
    /// Only these process or thread ids.
    #[arg(long, value_name = "PID", value_delimiter = ',')]
    pub pid: Vec<u32>,
    /// Only allocations of at least this order (extfrag: the requested order).
    #[arg(long, value_name = "ORDER")]
    pub min_order: Option<u32>,
    /// Only tasks in this cgroup v2 path or below it (e.g. /kubepods/burstable), or a glob
    /// over the whole path (e.g. '*docker*').
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub cgroup: Vec<String>,
    /// Only this Kubernetes pod: its UID, name, or namespace/name (names come from the
    /// container runtime's OCI bundles on this node).
    #[arg(long, value_name = "UID|NAME", value_delimiter = ',')]
    pub pod: Vec<String>,
    /// Only pods in this namespace.
    #[arg(long, value_name = "NAMESPACE", value_delimiter = ',')]
    pub namespace: Vec<String>,
    /// Only this container (an id prefix, as `crictl ps` shows it).
    #[arg(long, value_name = "ID-PREFIX", value_delimiter = ',')]
    pub container: Vec<String>,
    /// Only Kubernetes workloads (tasks in kubepods cgroups).
    #[arg(long)]
    pub kubepods: bool,
}

impl FilterArgs {
    pub fn to_filter(&self) -> anyhow::Result<EventFilter> {
        let filter = EventFilter {
            comms: self.comm.clone(),
            pids: self.pid.clone(),
            min_order: self.min_order,
            cgroups: self.cgroup.clone(),
            pods: self.pod.clone(),
            namespaces: self.namespace.clone(),
            containers: self.container.clone(),
            kubepods: self.kubepods,
        };
        filter.validate()?;
        Ok(filter)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Top(args) => top::run(args).await,
        Command::Record(args) => record::run(args).await,
        Command::Report(args) => report::run(args),
        Command::Capture(args) => capture::run(args).await,
        Command::Dmesg(args) => dmesg::run(args).await,
        Command::Gfp(args) => gfp::run(args),
        Command::Doctor(args) => doctor::run(args).await,
        Command::Serve(args) => serve::run(args).await,
    }
}

/// `500ms`, `10s`, `5m`, `1h30m`, or plain seconds (clap value parser).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    fragtrace::timespec::parse_duration(text).map_err(|e| e.to_string())
}

/// `4096`, `64K`, `100M`, `2G` (powers of 1024; a trailing `B`/`iB` is accepted).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let body = upper.strip_suffix("IB").or_else(|| upper.strip_suffix('B')).unwrap_or(&upper);
    let split = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
    let (number, unit) = body.split_at(split);
    let shift = match unit {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{t:?} is not a size: use a number with K, M, G or T, like 64M")),
    };
    let n: u64 = number.parse().map_err(|_| format!("{t:?} is not a size: use a number with K, M, G or T, like 64M"))?;
    n.checked_mul(1 << shift).filter(|v| *v > 0).ok_or_else(|| format!("{t:?} must be a positive size below 16 EiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "x", "5y", "0", "-1s", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    /// The clap values are the library's own names (as serialized in recordings and JSON).
    #[test]
    fn clap_values_are_the_library_names() {
        for arg in ProbeModeArg::value_variants() {
            let name = arg.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(serde_json::to_value(ProbeMode::from(*arg)).ok(), name.map(serde_json::Value::String));
        }
        for arg in AllocProbeArg::value_variants() {
            let name = arg.to_possible_value().map(|v| v.get_name().to_string());
            assert_eq!(Some(AllocProbePolicy::from(*arg).to_string()), name);
        }
        assert_eq!(AllocProbePolicy::from(AllocProbeArg::Auto), AllocProbePolicy::default());
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1gb"), Ok(1 << 30));
        for bad in ["", "M", "0", "-5M", "5X", "1.5G", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
