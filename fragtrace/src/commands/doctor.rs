//! `fragtrace doctor`: sample, judge, advise; change nothing unless `--apply` says so.

use std::{sync::Arc, time::{Duration, Instant}};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use fragtrace::{
    aggregate::Aggregator,
    doctor::{DoctorInput, Pressure, Sysctls, census::CensusWindow, diagnose, render::render},
    host::{buddyinfo::{self, ZoneFree}, procfs::{parse_vmstat, vmstat_rates}},
    session::RunOptions,
};
use serde_json::json;
use tokio::sync::Notify;

use super::{ProbeArgs, live, parse_duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Remedy {
    /// `echo 3 > /proc/sys/vm/drop_caches` (after sync).
    DropCaches,
    /// `echo 1 > /proc/sys/vm/compact_memory`.
    Compact,
}

#[derive(Debug, Args)]
#[command(after_help = "Samples for --duration: the zones' free lists, the kernel's compaction and reclaim \
counters, the pageblocks per migratetype (/proc/pagetypeinfo: root or CAP_DAC_READ_SEARCH) at the start and \
the end, and (as root, with eBPF) the allocation failures meanwhile. Then says, per zone, which orders \
are unavailable and why, whether compaction keeps up, and what to do, with commands computed from this \
machine's numbers. Nothing is changed unless --apply is given.\n\n\
Examples:\n  \
  sudo fragtrace doctor\n  \
  sudo fragtrace doctor --duration 30s --json\n  \
  sudo fragtrace doctor --apply compact        compact memory and show before/after")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// How long to sample.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Perform one remedy (root) and report before/after free blocks and indices.
    #[arg(long, value_enum)]
    pub apply: Option<Remedy>,
    /// Everything as one JSON document.
    #[arg(long)]
    pub json: bool,
}

fn read_vmstat() -> std::collections::BTreeMap<String, u64> {
    std::fs::read_to_string("/proc/vmstat").map(|t| parse_vmstat(&t)).unwrap_or_default()
}

fn cached_kb() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo.lines().find_map(|l| l.strip_prefix("Cached:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Free blocks of order ≥ `order` over the zones ordinary allocations use.
fn blocks_at_or_above(zones: &[ZoneFree], order: usize) -> u64 {
    zones.iter().filter(|z| !z.zone.eq_ignore_ascii_case("DMA")).map(|z| z.free_blocks.iter().skip(order).sum::<u64>()).sum()
}

fn apply(remedy: Remedy, failing_orders: &[usize]) -> anyhow::Result<serde_json::Value> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("--apply needs root (it writes /proc/sys/vm)");
    }
    let before = buddyinfo::read().context("reading /proc/buddyinfo")?;
    let started = Instant::now();
    match remedy {
        Remedy::DropCaches => {
            // SAFETY: sync has no preconditions.
            unsafe { libc::sync() };
            std::fs::write("/proc/sys/vm/drop_caches", "3\n").context("writing /proc/sys/vm/drop_caches")?;
        }
        // Synchronous: the write returns when compaction of every zone has run.
        Remedy::Compact => std::fs::write("/proc/sys/vm/compact_memory", "1\n").context("writing /proc/sys/vm/compact_memory")?,
    }
    let took = started.elapsed();
    let after = buddyinfo::read().context("reading /proc/buddyinfo")?;
    let orders: Vec<usize> = if failing_orders.is_empty() { vec![3, 4, 6, 9] } else { failing_orders.to_vec() };
    let per_order: Vec<serde_json::Value> = orders
        .iter()
        .map(|&o| json!({"order": o, "blocks_at_or_above_before": blocks_at_or_above(&before, o), "blocks_at_or_above_after": blocks_at_or_above(&after, o)}))
        .collect();
    let zones: Vec<serde_json::Value> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            json!({
                "node": b.node, "zone": b.zone,
                "free_blocks_before": b.free_blocks, "free_blocks_after": a.free_blocks,
                "unusable_index_before": (0..11).map(|o| b.indices(o).unusable).collect::<Vec<_>>(),
                "unusable_index_after": (0..11).map(|o| a.indices(o).unusable).collect::<Vec<_>>(),
                "fragmentation_index_before": (0..11).map(|o| b.indices(o).fragmentation.unwrap_or(-1.0)).collect::<Vec<_>>(),
                "fragmentation_index_after": (0..11).map(|o| a.indices(o).fragmentation.unwrap_or(-1.0)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({"remedy": format!("{remedy:?}"), "seconds": took.as_secs_f64(), "orders": per_order, "zones": zones}))
}

/// Known causes of the failure reports in the running kernel's log; nothing when the log
/// cannot be read (`dmesg_restrict` without root): the doctor goes on without them.
fn kernel_log_causes() -> Vec<fragtrace::doctor::causes::CauseFinding> {
    use fragtrace::kernel_log::{analyze::{EraChoice, analyze}, parse::Parser, source::Kmsg};
    let Ok(mut kmsg) = Kmsg::open() else { return Vec::new() };
    let mut parser = Parser::new();
    let mut reports = Vec::new();
    while let Ok(Some(record)) = kmsg.next_record() {
        for line in record.lines() {
            reports.extend(parser.push_line(line));
        }
    }
    reports.extend(parser.finish());
    let choice = EraChoice::Auto { fallback: fragtrace::gfp::eras::Era::for_release(&fragtrace::host::system::kernel_release()) };
    let analyses: Vec<_> = reports.into_iter().map(|r| analyze(r, &choice)).collect();
    fragtrace::doctor::causes::from_kernel_log(&analyses)
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let sysctls = Sysctls::read();
    let vm_before = read_vmstat();
    let mut census = CensusWindow::start();
    let started = Instant::now();
    // The probes tell who fails while sampling; without them (no root, no BPF) the verdict
    // still stands on the zones and counters.
    let mut live_causes = Vec::new();
    let mut stacks = fragtrace::definitions::Definitions::new();
    let (snapshot, pageblock_order, page_size) = match live::start_session(&args.probe).await {
        Ok(mut session) => {
            let (definitions, gfp) = (session.definitions().clone(), session.probes().kernel.gfp.clone());
            stacks = definitions.clone();
            let k = &session.probes().kernel;
            let (pageblock, page_size) = (k.pageblock_order, k.page_size);
            let mut aggregator = Aggregator::new(pageblock, k.gfp.value_of("__GFP_NOWARN").unwrap_or(0), true);
            if !args.json {
                eprintln!("fragtrace: sampling for {:.0}s…", args.duration.as_secs_f64());
            }
            let stop = live::stop_signal(Some(args.duration), Arc::new(Notify::new()))?;
            let run = RunOptions { tick: Duration::from_secs(1), zones_every: None, filter: Default::default() };
            session.run(&mut [&mut aggregator], &run, stop).await?;
            let snapshot = aggregator.snapshot();
            live_causes = fragtrace::doctor::causes::from_snapshot(&snapshot, &definitions, &gfp);
            (Some(snapshot), pageblock, page_size)
        }
        Err(e) => {
            eprintln!("fragtrace: sampling without the probes (no failure attribution): {e:#}");
            tokio::time::sleep(args.duration).await;
            (None, fragtrace::probe_status::DEFAULT_PAGEBLOCK_ORDER, 4096)
        }
    };
    let vm_after = read_vmstat();
    census.sample();
    let rates = vmstat_rates(&vm_before, &vm_after, started.elapsed().as_secs_f64());
    let pressure = Pressure {
        seconds: rates.seconds,
        compact_stall_per_s: rates.compact_stall_per_s,
        compact_fail_per_s: rates.compact_fail_per_s,
        compaction_failure_ratio: rates.compaction_failure_ratio,
        allocstall_per_s: rates.allocstall_per_s,
        thp_fault_fallback_per_s: rates.thp_fault_fallback_per_s,
    };
    let zones = buddyinfo::read().context("reading /proc/buddyinfo")?;
    let diagnosis = diagnose(&DoctorInput {
        zones: &zones,
        pressure: Some(pressure),
        failures: snapshot.as_ref(),
        sysctls: &sysctls,
        pageblock_order,
        page_size,
        cached_kb: cached_kb(),
    });
    let failing: Vec<usize> = snapshot.as_ref().map(|s| s.by_order.iter().enumerate().filter(|(_, n)| **n > 0).map(|(o, _)| o).collect()).unwrap_or_default();
    let applied = match args.apply {
        Some(r) => Some(apply(r, &failing)?),
        None => None,
    };
    let causes = [live_causes, kernel_log_causes()].concat();
    if args.json {
        let (pageblocks, pageblocks_error) = census.to_json();
        let who = fragtrace::doctor::polluters::json(snapshot.as_ref(), &stacks);
        let doc = json!({"diagnosis": diagnosis, "sysctls": sysctls, "applied": applied, "pageblocks": pageblocks, "pageblocks_error": pageblocks_error, "causes": causes, "who_fragments": who});
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&diagnosis));
        print!("{}", census.render());
        print!("{}", fragtrace::doctor::causes::render(&causes));
        print!("{}", fragtrace::doctor::polluters::text(snapshot.as_ref(), &stacks, args.duration.as_secs_f64()));
        if let Some(a) = applied {
            println!("\nAPPLIED {} in {:.2} s — free blocks of order ≥ N (ordinary zones), before → after:", a["remedy"], a["seconds"].as_f64().unwrap_or(0.0));
            for o in a["orders"].as_array().into_iter().flatten() {
                println!("  order {:>2}: {:>8} → {}", o["order"], o["blocks_at_or_above_before"], o["blocks_at_or_above_after"]);
            }
        }
    }
    Ok(())
}
