//! `fragtrace dmesg`: page allocation failures, stalls and OOM kills from kernel logs of any
//! era, without eBPF.

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use clap::Args;
use tokio::sync::Notify;
use fragtrace::{
    gfp::{GfpTable, eras::Era},
    host::{system::kernel_release, tracefs::Tracefs},
    kernel_log::{
        Analysis,
        analyze::{EraChoice, analyze},
        parse::{Parser, Report},
        source::{Kmsg, KmsgFollower},
        summary::{render, summary_json},
    },
};

use super::live;

#[derive(Debug, Args)]
#[command(after_help = "Reads plain dmesg, dmesg -T, syslog/kern.log, journalctl -k, rsyslog #012-joined \
lines and mail-quoted reports. Hex GFP masks are decoded for the report's own kernel (from its \
`CPU:` line), or --kernel; when neither is known the candidates of every era are shown.\n\n\
Examples:\n  \
  fragtrace dmesg /var/log/kern.log\n  \
  journalctl -k --since today | fragtrace dmesg -\n  \
  fragtrace dmesg incident.txt --kernel 3.10 --json\n  \
  sudo fragtrace dmesg --follow            report new failures as the kernel prints them")]
pub struct DmesgArgs {
    /// Log files, or - for stdin. Default: the running kernel's log (/dev/kmsg).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Keep reading the running kernel's log and report new events as they arrive.
    #[arg(long, short = 'f', conflicts_with = "files")]
    pub follow: bool,
    /// Decode hex masks for this kernel version (e.g. 3.10, 4.4.0-21, 5.15), or `running`.
    #[arg(long, value_name = "VERSION")]
    pub kernel: Option<String>,
    /// One JSON array: every report, then a summary object (`"kind": "summary"`).
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// One JSON object per report, then a summary object.
    #[arg(long)]
    pub jsonl: bool,
}

fn running_table() -> Option<GfpTable> {
    let tracefs = Tracefs::locate(false).ok()?;
    let format = tracefs.event_format("kmem", "mm_page_alloc").ok()?;
    GfpTable::from_page_alloc_format(&format).ok()
}

fn era_choice(kernel: Option<&str>, live: bool) -> anyhow::Result<EraChoice> {
    Ok(match kernel {
        Some("running") => match running_table() {
            Some(t) => EraChoice::Running(t),
            None => EraChoice::Fixed(Era::for_release(&kernel_release()).context("the running kernel's release has no known GFP layout")?),
        },
        Some(v) => EraChoice::Given(Era::resolve(v).with_context(|| format!("--kernel {v:?} is not a kernel release (expected MAJOR.MINOR[.PATCH][-SUFFIX], 2.6 or newer, e.g. 3.10.0-1160.el7.x86_64, 4.14.67, 5.15, 6.8.0-rc1+)"))?),
        None if live => match running_table() {
            Some(t) => EraChoice::Running(t),
            None => EraChoice::Auto { fallback: Era::for_release(&kernel_release()) },
        },
        None => EraChoice::Auto { fallback: None },
    })
}

/// Every report in `text`, with the era fallback taken from the log itself: a log with one
/// kernel release names it in its other reports.
fn analyze_all(reports: Vec<Report>, choice: &EraChoice) -> Vec<Analysis> {
    let choice = match choice {
        EraChoice::Auto { fallback: None } => {
            let releases: Vec<&str> = reports.iter().filter_map(|r| r.kernel_release.as_deref()).collect();
            let one = releases.first().filter(|first| releases.iter().all(|r| r == *first)).and_then(|r| Era::for_release(r));
            EraChoice::Auto { fallback: one }
        }
        other => other.clone(),
    };
    reports.into_iter().map(|r| analyze(r, &choice)).collect()
}

fn print(analyses: &[Analysis], source: &str, args: &DmesgArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        // An array of the reports, the summary object last.
        let mut doc: Vec<serde_json::Value> = analyses.iter().map(Analysis::to_json).collect();
        doc.push(summary_json(analyses));
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else if args.jsonl {
        for a in analyses {
            serde_json::to_writer(&mut out, &a.to_json())?;
            writeln!(out)?;
        }
        serde_json::to_writer(&mut out, &summary_json(analyses))?;
        writeln!(out)?;
    } else {
        out.write_all(render(analyses, source).as_bytes())?;
    }
    Ok(())
}

/// A report is complete when the next one starts or its body ends; the last one before a
/// quiet spell would wait forever, so this long without a record completes it.
const QUIET: Duration = Duration::from_secs(1);

/// Follows /dev/kmsg until SIGINT, SIGTERM or SIGHUP (through `tokio::signal`, like the live
/// commands: its handlers are installed even when the shell started us with SIGINT ignored,
/// as a script's background job is), then prints the report being assembled too. Further
/// signals while it prints change nothing.
async fn follow(args: &DmesgArgs) -> anyhow::Result<()> {
    let choice = era_choice(args.kernel.as_deref(), true)?;
    let mut kmsg = KmsgFollower::open()?;
    let mut parser = Parser::new();
    let stop = live::stop_signal(None, Arc::new(Notify::new()))?;
    tokio::pin!(stop);
    eprintln!("fragtrace: following the kernel log (/dev/kmsg); Ctrl-C stops");
    loop {
        let record = tokio::select! {
            () = &mut stop => break,
            record = kmsg.next_record(QUIET) => record?,
        };
        let reports = match record {
            Some(record) => record.lines().flat_map(|l| parser.push_line(l)).collect(),
            None => parser.finish(),
        };
        print_live(reports, &choice, args)?;
    }
    print_live(parser.finish(), &choice, args)?;
    Ok(())
}

fn print_live(reports: Vec<Report>, choice: &EraChoice, args: &DmesgArgs) -> anyhow::Result<()> {
    for report in reports {
        let a = analyze(report, choice);
        let mut out = std::io::stdout().lock();
        if args.json || args.jsonl {
            serde_json::to_writer(&mut out, &a.to_json())?;
            writeln!(out)?;
        } else {
            out.write_all(render(std::slice::from_ref(&a), "kernel log").lines().skip(1).collect::<Vec<_>>().join("\n").as_bytes())?;
            writeln!(out)?;
        }
        out.flush()?;
    }
    Ok(())
}

pub async fn run(args: DmesgArgs) -> anyhow::Result<()> {
    if args.follow {
        return follow(&args).await;
    }
    if args.files.is_empty() {
        let choice = era_choice(args.kernel.as_deref(), true)?;
        let mut kmsg = Kmsg::open()?;
        let mut parser = Parser::new();
        let mut reports = Vec::new();
        while let Some(record) = kmsg.next_record()? {
            for line in record.lines() {
                reports.extend(parser.push_line(line));
            }
        }
        reports.extend(parser.finish());
        let analyses = analyze_all(reports, &choice);
        return print(&analyses, "kernel log (/dev/kmsg)", &args);
    }
    let choice = era_choice(args.kernel.as_deref(), false)?;
    let mut all = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        let reader: Box<dyn Read> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(file).with_context(|| format!("cannot read {name}"))?)
        };
        // Streaming: memory stays bounded whatever the log's size; bytes that are not UTF-8
        // are replaced rather than rejected (logs are often mixed).
        let mut parser = Parser::new();
        let mut reports = Vec::new();
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).with_context(|| format!("reading {name}"))?;
            if n == 0 {
                break;
            }
            let line = String::from_utf8_lossy(&buf);
            reports.extend(parser.push_line(line.trim_end_matches(['\n', '\r'])));
        }
        reports.extend(parser.finish());
        all.extend(analyze_all(reports, &choice));
    }
    let source = args.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
    print(&all, &source, &args)
}
