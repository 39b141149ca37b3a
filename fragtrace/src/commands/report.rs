//! `fragtrace report`: the same views, from recordings: text tables, one JSON document,
//! JSON lines, a Chrome/Perfetto trace, or a pprof profile of the failures.

use std::{
    io::{BufWriter, Write},
    path::PathBuf,
};

use clap::{Args, ValueEnum};
use fragtrace::{
    definitions::Definitions,
    aggregate::Aggregator,
    event::Event,
    host::kallsyms::caller_frame,
    record::{ReadError, Recording, ReplayOptions, ReplayReport, open_all, replay},
    sink::{Sink, SinkError},
    timespec::TimeBound,
    view::{
        chrome_trace::ChromeTrace,
        json::{JsonLines, ReportSource, report_document},
        text::{HeaderInfo, RenderInput, render},
    },
};
use serde_json::json;

use super::FilterArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables with bar histograms.
    Text,
    /// The summary as one JSON document (docs/json.md).
    Json,
    /// One JSON object per event, then a summary object (docs/json.md).
    Jsonl,
    /// Trace Event Format for ui.perfetto.dev or chrome://tracing.
    ChromeTrace,
    /// The failures as a gzip'd pprof profile (docs/pprof.md) for `go tool pprof` and
    /// Pyroscope: binary, so to --output FILE or a redirect.
    Pprof,
}

#[derive(Debug, Args)]
#[command(after_help = "Reads files written by `fragtrace record`, on any machine (no privileges needed). \
Give every part of a rotated recording (FILE FILE.1 …, in any order). A file cut short or damaged \
is read as far as its intact blocks go, with a warning on stderr; --strict makes that an error.\n\n\
Examples:\n  \
  fragtrace report incident.ftr\n  \
  fragtrace report ring.ftr* --since 5m --until 10m     minutes 5 to 10 of the recording\n  \
  fragtrace report incident.ftr --since 2026-11-27T10:02:00Z --comm mysqld\n  \
  fragtrace report incident.ftr --jsonl | jq 'select(.kind==\"failure\")'\n  \
  fragtrace report --format chrome-trace incident.ftr > trace.json\n  \
  fragtrace report --format pprof incident.ftr -o failures.pb.gz   then: go tool pprof -top failures.pb.gz")]
pub struct ReportArgs {
    /// Recordings written by `fragtrace record`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Same as --format json.
    #[arg(long, conflicts_with_all = ["format", "jsonl"])]
    pub json: bool,
    /// Same as --format jsonl.
    #[arg(long, conflicts_with = "format")]
    pub jsonl: bool,
    /// Only from this point: an offset from the recording's start (90s, 5m) or a time
    /// (2026-11-27T10:02:00Z, 2026-11-27 10:02:00 = UTC).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<TimeBound>,
    /// Only before this point (same forms as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<TimeBound>,
    /// Treat damage and truncation as errors (exit non-zero) instead of warnings.
    #[arg(long)]
    pub strict: bool,
    /// Rows per table (text output).
    #[arg(long, default_value_t = 30)]
    pub rows: usize,
    /// Write the profile to this file (--format pprof; the other formats go to stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Holds on to the replay's definitions, for the text (caller frame) and JSON (frames)
/// views of stacks after the replay.
#[derive(Default)]
struct Stacks(Definitions);

impl Sink for Stacks {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.0 = definitions.clone();
    }
    fn event(&mut self, _: &Event) -> Result<(), SinkError> {
        Ok(())
    }
}

fn broken_pipe(e: &ReadError) -> bool {
    match e {
        ReadError::Sink(SinkError::Io(io)) => io.kind() == std::io::ErrorKind::BrokenPipe,
        ReadError::Sink(SinkError::Json(j)) => j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe),
        _ => false,
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let format = if args.json {
        ReportFormat::Json
    } else if args.jsonl {
        ReportFormat::Jsonl
    } else {
        args.format
    };
    let filter = args.filter.to_filter()?;
    super::report_pprof::check_output(format == ReportFormat::Pprof, args.output.as_deref(), &args.files)?;
    let recording = open_all(&args.files)?;
    let first = recording.header();
    let options = ReplayOptions {
        filter,
        since_wall_ns: args.since.map(|t| t.resolve(first.start_wall_ns)),
        until_wall_ns: args.until.map(|t| t.resolve(first.start_wall_ns)),
        strict: args.strict,
        speed: None,
    };
    if let (Some(s), Some(u)) = (options.since_wall_ns, options.until_wall_ns)
        && s >= u
    {
        anyhow::bail!("--since must be before --until");
    }
    let result = match format {
        ReportFormat::Text | ReportFormat::Json => summary(&recording, &options, format, args.rows),
        ReportFormat::Jsonl => {
            let kernel = &first.kernel;
            let mut sink = JsonLines::new(BufWriter::new(std::io::stdout().lock()), kernel.gfp.clone(), kernel.pageblock_order);
            replay(&recording, &options, &mut [&mut sink])
        }
        ReportFormat::ChromeTrace => {
            let kernel = &first.kernel;
            let meta = json!({
                "hostname": first.hostname, "kernel": kernel.release, "recording_id": first.recording_id,
                "start_wall_ns": first.start_wall_ns, "probe_mode": first.probe_mode.to_string(),
                "files": args.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            });
            let mut sink = ChromeTrace::new(
                BufWriter::new(std::io::stdout().lock()),
                kernel.gfp.clone(),
                kernel.pageblock_order,
                kernel.page_size,
                first.start_monotonic_ns,
                meta,
            );
            replay(&recording, &options, &mut [&mut sink])
        }
        ReportFormat::Pprof => super::report_pprof::write(&recording, &options, args.output.as_ref()),
    };
    let report = match result {
        Ok(r) => r,
        Err(e) if broken_pipe(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for w in &report.warnings {
        eprintln!("fragtrace: warning: {w}");
    }
    Ok(())
}

fn summary(recording: &Recording, options: &ReplayOptions, format: ReportFormat, rows: usize) -> Result<ReplayReport, ReadError> {
    let first = recording.header();
    let kernel = &first.kernel;
    let nowarn = kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0);
    let mut aggregator = Aggregator::new(kernel.pageblock_order, nowarn, false);
    let mut stacks = Stacks::default();
    let report = replay(recording, options, &mut [&mut aggregator, &mut stacks])?;
    let snapshot = aggregator.snapshot();
    // The length shown: from the recording's start (or --since) to its last record (or
    // --until), in the recording's monotonic clock.
    let from = options.since_wall_ns.map_or(first.start_monotonic_ns, |w| first.monotonic_ns(w).max(first.start_monotonic_ns));
    let to = report.end_ts_ns.map(|end| options.until_wall_ns.map_or(end, |w| end.min(first.monotonic_ns(w))));
    let span_s = to.map_or(0.0, |to| to.saturating_sub(from) as f64 / 1e9);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| ReadError::Sink(SinkError::Io(e));
    if format == ReportFormat::Json {
        let source = ReportSource {
            files: recording.files.iter().map(|f| f.path.display().to_string()).collect(),
            hostname: &first.hostname,
            kernel: &kernel.release,
            probe_mode: first.probe_mode.to_string(),
            failure_hooks: first.failure_hooks.as_ref(),
            start_wall_ns: first.start_wall_ns,
            span_s,
            warnings: report.warnings.iter().map(ToString::to_string).collect(),
            clean_end: report.clean_end,
            extfrag_stack_every: first.extfrag_stack_every,
        };
        let doc = report_document(&source, &snapshot, &kernel.gfp, &stacks.0);
        serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| ReadError::Sink(SinkError::Json(e)))?;
        writeln!(out).map_err(io)?;
    } else {
        let stack_of = |id: u32| stacks.0.stack(id).map(|f| caller_frame(&f).unwrap_or("?").to_string());
        let text = render(&RenderInput {
            header: HeaderInfo {
                host: &first.hostname,
                kernel: &kernel.release,
                probe_mode: &first.failure_hooks.as_ref().map_or_else(|| first.probe_mode.to_string(), |h| h.describe()),
                elapsed_s: span_s,
                allocs_per_s: None,
            },
            snapshot: &snapshot,
            gfp: &kernel.gfp,
            stack_of: &stack_of,
            max_rows: rows,
        });
        out.write_all(text.as_bytes()).map_err(io)?;
        writeln!(
            out,
            "\nallocations seen {}  events {} of {} read{}",
            report.counters.allocs_seen,
            report.events,
            report.events_read,
            if first.filter.is_empty() { String::new() } else { format!("  (recorded with filter {})", first.filter) },
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(report)
}
