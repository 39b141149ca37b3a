//! `fragtrace gfp`: GFP masks ↔ names for any kernel era.

use clap::Args;
use fragtrace::gfp::{
    GfpTable,
    eras::{Era, best_guess, decode_all, rank, value_in},
};
use serde_json::json;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
  fragtrace gfp 0x10c0d0 --kernel 3.10        GFP_KERNEL|__GFP_COMP|__GFP_ZERO|__GFP_KMEMCG\n  \
  fragtrace gfp 0x10c0d0 --all-eras           every era's reading, and the most plausible one as a guess\n  \
  fragtrace gfp GFP_KERNEL --kernel 4.4       0x24000c0\n  \
  fragtrace gfp 0x442dc0 --kernel running     the live kernel's own table")]
pub struct GfpArgs {
    /// Masks (0x10c0d0, or decimal) or names (GFP_KERNEL, GFP_KERNEL|__GFP_COMP).
    #[arg(required = true, value_name = "MASK|NAME")]
    pub values: Vec<String>,
    /// Kernel version (3.10, 4.4, 4.14, 5.15, 6.8…) or `running`. Default: running.
    #[arg(long, value_name = "VERSION", conflicts_with = "all_eras")]
    pub kernel: Option<String>,
    /// Decode in every kernel era side by side.
    #[arg(long)]
    pub all_eras: bool,
    #[arg(long)]
    pub json: bool,
}

enum Table {
    Era(Era),
    Running(GfpTable),
}

impl Table {
    fn label(&self) -> String {
        match self {
            Table::Era(e) => e.label().to_string(),
            Table::Running(_) => format!("running ({})", fragtrace::host::system::kernel_release()),
        }
    }
    fn table(&self) -> GfpTable {
        match self {
            Table::Era(e) => e.table(),
            Table::Running(t) => t.clone(),
        }
    }
}

fn parse_mask(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn running() -> anyhow::Result<Table> {
    let tracefs = fragtrace::host::tracefs::Tracefs::locate(false);
    let table = tracefs.ok().and_then(|t| t.event_format("kmem", "mm_page_alloc").ok()).and_then(|f| GfpTable::from_page_alloc_format(&f).ok());
    match table {
        Some(t) => Ok(Table::Running(t)),
        None => {
            let release = fragtrace::host::system::kernel_release();
            Era::for_release(&release).map(Table::Era).ok_or_else(|| {
                anyhow::anyhow!("cannot read the running kernel's GFP table (tracefs is not mounted or readable) and {release} has no known layout; pass --kernel VERSION")
            })
        }
    }
}

/// `GFP_KERNEL|__GFP_COMP` → its value in `table`.
fn value_of_names(names: &str, table: &Table) -> Result<u64, String> {
    names.split('|').map(str::trim).try_fold(0u64, |acc, name| {
        let v = match table {
            Table::Era(e) => value_in(*e, name),
            Table::Running(t) => t.value_of(name),
        };
        v.map(|v| acc | v).ok_or_else(|| format!("{name} is not a GFP flag in kernel {}", table.label()))
    })
}

/// `--all-eras` for a mask: every era's reading, then the most plausible one marked as a
/// guess (gfp/eras/plausibility.rs says how readings are scored).
fn all_eras(value: &str, mask: u64, json_only: bool) -> serde_json::Value {
    let rows = decode_all(mask);
    let ranked = rank(mask, false);
    let guess = best_guess(mask, false);
    if !json_only {
        for (era, names, _) in &rows {
            println!("{value:<12} {:<10} {}", era.label(), names.join("|"));
        }
        if let Some(g) = &guess {
            println!("{value:<12} best guess: {} era: {} ({}: {})", g.era, g.flags.join("|"), g.confidence, g.reason);
        }
    }
    let objections = |era: Era| ranked.iter().find(|r| r.era == era).map(|r| (r.score, r.objections.clone())).unwrap_or_default();
    let eras: Vec<_> = rows
        .iter()
        .map(|(era, names, rest)| {
            let (score, against) = objections(*era);
            json!({"era": era.label(), "flags": names, "unknown_bits": format!("{rest:#x}"), "score": score, "objections": against})
        })
        .collect();
    json!({"input": value, "eras": eras, "guess": guess})
}

pub fn run(args: GfpArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for value in &args.values {
        if args.all_eras {
            let Some(mask) = parse_mask(value) else {
                let rows: Vec<_> = Era::ALL.iter().map(|e| (e.label(), value_of_names(value, &Table::Era(*e)))).collect();
                for (era, v) in &rows {
                    match v {
                        Ok(v) if !args.json => println!("{value:<24} {era:<10} {v:#x}"),
                        Err(e) if !args.json => println!("{value:<24} {era:<10} ({e})"),
                        _ => {}
                    }
                }
                out.push(json!({"input": value, "eras": rows.iter().map(|(era, v)| json!({"era": era, "value": v.as_ref().ok().map(|v| format!("{v:#x}"))})).collect::<Vec<_>>()}));
                continue;
            };
            out.push(all_eras(value, mask, args.json));
            continue;
        }
        let table = match args.kernel.as_deref() {
            None | Some("running") => running()?,
            Some(v) => Table::Era(Era::for_release(v).ok_or_else(|| anyhow::anyhow!("--kernel {v:?} is not a kernel version fragtrace knows (try 3.10, 4.4, 4.14, 5.4, 6.1)"))?),
        };
        match parse_mask(value) {
            Some(mask) => {
                let names = table.table().decode(mask);
                if !args.json {
                    println!("{value} = {} (kernel {})", names.join("|"), table.label());
                }
                out.push(json!({"input": value, "kernel": table.label(), "mask": format!("{mask:#x}"), "flags": names}));
            }
            None => {
                let v = value_of_names(value, &table).map_err(|e| anyhow::anyhow!(e))?;
                if !args.json {
                    println!("{value} = {v:#x} (kernel {})", table.label());
                }
                out.push(json!({"input": value, "kernel": table.label(), "mask": format!("{v:#x}")}));
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
