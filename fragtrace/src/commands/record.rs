//! `fragtrace record`: events to a trace file until Ctrl-C, SIGTERM or `--duration`.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use fragtrace::{
    event::{Counters, Event},
    host::{clock::monotonic_ns, zones::ZoneSnapshot},
    record::{Recorder, RecorderOptions},
    session::RunOptions,
    sink::{Sink, SinkError},
};
use tokio::sync::Notify;

use super::{FilterArgs, ProbeArgs, live, parse_duration, parse_size};

#[derive(Debug, Args)]
#[command(after_help = "The file survives crashes: events are written in checksummed blocks at least once a \
second, and `fragtrace report` recovers every complete block of a file cut short by kill -9, \
power loss or a full disk. Ctrl-C or SIGTERM closes the file cleanly.\n\n\
Examples:\n  \
  sudo fragtrace record -o incident.ftr --duration 10m\n  \
  sudo fragtrace record -o ring.ftr --compress --max-size 64M --keep 4\n  \
  sudo fragtrace record -o pods.ftr --comm 'runc*' --min-order 3")]
pub struct RecordArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output file (created with mode 0600). With --max-size, later parts are FILE.1, FILE.2, …
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Stop after this long (e.g. 30s, 10m, 1h). Default: until Ctrl-C or SIGTERM.
    #[arg(long, short = 'd', value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Overwrite FILE if it exists (and remove its old rotated parts).
    #[arg(long)]
    pub force: bool,
    /// zstd-compress each block (typically 3–6× smaller).
    #[arg(long)]
    pub compress: bool,
    /// Start a new part when a file reaches SIZE (e.g. 64M, 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// With --max-size: keep only the newest N parts, deleting older ones (bounded disk use).
    #[arg(long, value_name = "N", requires = "max_size")]
    pub keep: Option<u32>,
    /// How often to store /proc/buddyinfo (and /proc/pagetypeinfo) in the file.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub zones_interval: Duration,
}

/// Writes events to the recorder and keeps a one-line status on stderr when it is a terminal.
struct RecordSink {
    recorder: Recorder,
    started: Instant,
    status: bool,
    dropped: u64,
}

impl RecordSink {
    fn status_line(&self) -> Result<(), SinkError> {
        let mut err = std::io::stderr().lock();
        write!(
            err,
            "\r\x1b[Krecording to {}: {} events, {} dropped, {} KiB, {:.0}s",
            self.recorder.current_path().display(),
            self.recorder.events_written(),
            self.dropped,
            self.recorder.bytes_written() / 1024,
            self.started.elapsed().as_secs_f64()
        )?;
        err.flush()?;
        Ok(())
    }
}

impl Sink for RecordSink {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.recorder.stack(id, frames)
    }

    fn cgroup(&mut self, id: u64, path: Option<&str>) -> Result<(), SinkError> {
        self.recorder.cgroup(id, path)
    }

    fn workload(&mut self, cgroup_id: u64, workload: &fragtrace::identity::Workload) -> Result<(), SinkError> {
        self.recorder.workload(cgroup_id, workload)
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.recorder.event(event)
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        self.recorder.zones(snapshot)
    }

    fn alloc_probe(&mut self, state: &fragtrace::probe_status::AllocProbeState) -> Result<(), SinkError> {
        self.recorder.alloc_probe(state)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.dropped = counters.dropped;
        self.recorder.tick(ts_ns, counters)?;
        if self.status {
            // Best effort: a broken terminal must not stop the recording.
            let _ = self.status_line();
        }
        Ok(())
    }

    fn finish(&mut self, counters: &Counters) -> Result<(), SinkError> {
        if self.status {
            eprintln!();
        }
        self.recorder.finish(counters)
    }
}

/// 64 random bits, enough to tell recordings apart.
fn recording_id() -> String {
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes)).is_err() {
        bytes = (monotonic_ns() ^ u64::from(std::process::id()) << 32).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let filter = args.filter.to_filter()?;
    if let Some(max) = args.max_size
        && max < 64 * 1024
    {
        anyhow::bail!("--max-size must be at least 64K (one block), got {max} bytes");
    }
    if args.keep == Some(0) {
        anyhow::bail!("--keep must be at least 1");
    }
    let mut session = live::start_session(&args.probe).await?;
    let header = live::recording_header(&session, &filter, recording_id());
    let options = RecorderOptions {
        force: args.force,
        compress: args.compress,
        max_size: args.max_size,
        keep: args.keep,
        ..RecorderOptions::new(&args.output)
    };
    let recorder = Recorder::create(options, header)?;
    live::harden(true);
    // Handlers first: a SIGTERM right after the readiness line must stop cleanly too.
    let stop = live::stop_signal(args.duration, Arc::new(Notify::new()))?;
    eprintln!(
        "fragtrace: recording to {} (failures watched by {}{}); Ctrl-C or SIGTERM stops and closes the file",
        args.output.display(),
        session.probes().hooks.describe(),
        if filter.is_empty() { String::new() } else { format!(", only {}", filter.describe()) },
    );
    let mut sink = RecordSink { recorder, started: Instant::now(), status: std::io::stderr().is_terminal(), dropped: 0 };
    let run = RunOptions { tick: Duration::from_secs(1), zones_every: Some(args.zones_interval), filter };
    let stats = session
        .run(&mut [&mut sink], &run, stop)
        .await
        .with_context(|| format!("recording to {} stopped; everything written before the error is readable", sink.recorder.current_path().display()))?;
    let c = stats.counters;
    let parts = sink.recorder.part() + 1;
    eprintln!(
        "fragtrace: recorded {} events to {}{} ({} bytes): {} failures, {} extfrag, {} dropped, {} allocations seen{}",
        stats.events,
        args.output.display(),
        if parts > 1 { format!(" and {} more parts", parts - 1) } else { String::new() },
        sink.recorder.bytes_written(),
        c.failures,
        c.extfrag,
        c.dropped,
        c.allocs_seen,
        if stats.filtered > 0 { format!(", {} filtered out", stats.filtered) } else { String::new() },
    );
    Ok(())
}
