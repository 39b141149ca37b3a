//! Subcommands. Each is a small function from parsed arguments to library calls.

mod live;
mod record;
mod report;
mod top;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use fragtrace::probe::ProbeMode;

#[derive(Debug, Parser)]
#[command(
    name = "fragtrace",
    version,
    about = "Why can't the kernel hand out memory? Failing allocations (order, GFP flags, process, \
             kernel stack), extfrag fallbacks and zone state, live from eBPF.",
    after_help = "Examples:\n  \
        sudo fragtrace top                         live view, refreshed every second\n  \
        sudo fragtrace top --batch --count 5       five plain-text reports, for logs and scripts\n  \
        sudo fragtrace record -o incident.ftr --duration 10m\n  \
        fragtrace report incident.ftr              summary of a recording (any machine)\n  \
        fragtrace report incident.ftr --json       one JSON object per event, then a summary"
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
}

/// Options shared by every command that attaches probes.
#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// How to hook kmem:mm_page_alloc: `tp-btf` (fast, needs kernel BTF) or `classic`
    /// (any kernel). Default: tp-btf when /sys/kernel/btf/vmlinux exists.
    #[arg(long, value_enum)]
    pub probe_mode: Option<ProbeMode>,
    /// Kernel→user ring buffer size in KiB (rounded up to a power of two). Larger buffers
    /// drop fewer events in storms.
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub ring_buffer_kib: u32,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Top(args) => top::run(args).await,
        Command::Record(args) => record::run(args).await,
        Command::Report(args) => report::run(args),
    }
}

/// `500ms`, `10s`, `5m`, `2h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration (try 30s, 5m, 1h)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {text:?} (use ms, s, m or h)")),
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("{text:?} must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
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
}
