//! `fragtrace record`: events to a trace file until Ctrl-C, SIGTERM or `--duration`.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use clap::Args;
use fragtrace::{
    event::{Counters, Event},
    probe::kernel::{hostname, monotonic_ns},
    record::{Recorder, RecordingHeader},
    sink::{Sink, SinkError},
};
use tokio::sync::Notify;

use super::{ProbeArgs, live, parse_duration};

#[derive(Debug, Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Output file (created with mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Stop after this long (e.g. 30s, 10m, 1h). Default: until Ctrl-C or SIGTERM.
    #[arg(long, short = 'd', value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Writes events to the recorder and keeps a one-line status on stderr when it is a terminal.
struct RecordSink {
    recorder: Recorder,
    started: Instant,
    status: bool,
}

impl Sink for RecordSink {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.recorder.stack(id, frames)
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.recorder.event(event)
    }

    fn tick(&mut self, ts_ns: u64, counters: &Counters) -> Result<(), SinkError> {
        self.recorder.tick(ts_ns, counters)?;
        if self.status {
            let mut err = std::io::stderr().lock();
            write!(
                err,
                "\rrecording: {} events, {} dropped, {} KiB, {:.0}s   ",
                self.recorder.events_written(),
                counters.dropped,
                self.recorder.bytes_written() / 1024,
                self.started.elapsed().as_secs_f64()
            )?;
            err.flush()?;
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

pub async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let mut session = live::start_session(&args.probe)?;
    let probes = session.probes();
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let header = RecordingHeader {
        fragtrace_version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: hostname(),
        boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default(),
        start_wall_ns: wall.as_nanos() as u64,
        start_monotonic_ns: monotonic_ns(),
        command_line: std::env::args().collect(),
        probe_mode: probes.mode,
        little_endian: cfg!(target_endian = "little"),
        kernel: probes.kernel.clone(),
    };
    let recorder = Recorder::create(&args.output, args.force, &header)?;
    eprintln!(
        "fragtrace: recording to {} (probe {}); Ctrl-C or SIGTERM stops and closes the file",
        args.output.display(),
        session.probes().mode
    );
    let mut sink = RecordSink { recorder, started: Instant::now(), status: std::io::stderr().is_terminal() };
    let stop = live::stop_signal(args.duration, Arc::new(Notify::new()))?;
    let stats = session
        .run(&mut [&mut sink], Duration::from_secs(1), stop)
        .await
        .with_context(|| format!("recording to {}", args.output.display()))?;
    let c = stats.counters;
    eprintln!(
        "fragtrace: recorded {} events to {} ({} bytes): {} failures, {} extfrag, {} dropped, {} allocations seen",
        stats.events,
        args.output.display(),
        sink.recorder.bytes_written(),
        c.failures,
        c.extfrag,
        c.dropped,
        c.allocs_seen
    );
    Ok(())
}
