//! `fragtrace report`: the same views, from a recording.

use std::{collections::HashMap, io::Write, path::PathBuf};

use anyhow::Context;
use clap::Args;
use fragtrace::{
    aggregate::Aggregator,
    event::Event,
    record::Recording,
    sink::{Sink, SinkError},
    symbolize::caller_frame,
    view::{
        json::JsonLines,
        text::{HeaderInfo, RenderInput, render},
    },
};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A file written by `fragtrace record`.
    pub file: PathBuf,
    /// One JSON object per event, then a `summary` object.
    #[arg(long)]
    pub json: bool,
    /// Rows per table (text output).
    #[arg(long, default_value_t = 30)]
    pub rows: usize,
}

/// Remembers the caller frame of each stack for the text view.
struct Callers(HashMap<u32, String>);

impl Sink for Callers {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.0.insert(id, caller_frame(frames).unwrap_or("?").to_string());
        Ok(())
    }
    fn event(&mut self, _: &Event) -> Result<(), SinkError> {
        Ok(())
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let recording = Recording::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let header = &recording.header;
    let kernel = &header.kernel;
    let stats = if args.json {
        let stdout = std::io::stdout().lock();
        let mut json = JsonLines::new(std::io::BufWriter::new(stdout), kernel.gfp.clone(), kernel.pageblock_order);
        recording.replay(&mut [&mut json])?
    } else {
        let nowarn = kernel.gfp.value_of("__GFP_NOWARN").unwrap_or(0);
        let mut aggregator = Aggregator::new(kernel.pageblock_order, nowarn, false);
        let mut callers = Callers(HashMap::new());
        let stats = recording.replay(&mut [&mut aggregator, &mut callers])?;
        let snapshot = aggregator.snapshot();
        let stack_of = |id: u32| callers.0.get(&id).cloned();
        let text = render(&RenderInput {
            header: HeaderInfo {
                host: &header.hostname,
                kernel: &kernel.release,
                probe_mode: &header.probe_mode.to_string(),
                elapsed_s: 0.0,
                allocs_per_s: 0.0,
            },
            snapshot: &snapshot,
            gfp: &kernel.gfp,
            zones: &[],
            stack_of: &stack_of,
            max_rows: args.rows,
        });
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        writeln!(out, "\nallocations seen {}  (recording: {} events)", stats.counters.allocs_seen, stats.events)?;
        stats
    };
    if stats.truncated_bytes > 0 {
        eprintln!(
            "fragtrace: {} ends with an incomplete frame; ignored its last {} bytes (every complete frame was read)",
            args.file.display(),
            stats.truncated_bytes
        );
    } else if !stats.clean_end {
        eprintln!("fragtrace: {} has no end marker: the recorder was interrupted; showing everything it wrote", args.file.display());
    }
    Ok(())
}
