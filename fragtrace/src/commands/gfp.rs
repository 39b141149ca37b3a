//! `fragtrace gfp`: GFP masks ↔ names for any kernel era.

use clap::Args;
use fragtrace::gfp::{
    GfpTable,
    eras::{Era, EraMatch, best_guess, config_of, decode_all, rank_all, value_in},
};
use serde_json::json;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
  fragtrace gfp 0x10c0d0 --kernel 3.10        GFP_KERNEL|GFP_COMP|GFP_ZERO|GFP_KMEMCG (as 3.10 printed it)\n  \
  fragtrace gfp 0x10c0d0 --kernel 3.10.0-1160.el7.x86_64   GFP_KERNEL|GFP_COMP|GFP_ZERO|0x100000 (= __GFP_ACCOUNT)\n  \
  fragtrace gfp 0x10c0d0 --all-eras           every era's reading, and the most plausible one as a guess\n  \
  fragtrace gfp GFP_KERNEL --kernel 4.4       0x24000c0\n  \
  fragtrace gfp 0x442dc0 --kernel running     the live kernel's own table")]
pub struct GfpArgs {
    /// Masks (0x10c0d0, or decimal) or names (GFP_KERNEL, GFP_KERNEL|__GFP_COMP).
    #[arg(required = true, value_name = "MASK|NAME")]
    pub values: Vec<String>,
    /// Kernel release, as `uname -r` or a report prints it (3.10.0-1160.el7.x86_64, 4.4, 4.14.67,
    /// 5.15.0-91-generic, 6.8…), or `running`. Distribution builds other than RHEL 7 are read
    /// with their upstream version's table, and the output says so. Default: running.
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
    fn decode(&self, mask: u64) -> Vec<String> {
        match self {
            Table::Era(e) => e.decode(mask),
            Table::Running(t) => t.decode(mask),
        }
    }
    /// Names the era's kernel defines without listing them, for the hex remainder of `names`.
    fn unlisted(&self, names: &[String]) -> Vec<serde_json::Value> {
        let rest = names.last().and_then(|n| n.strip_prefix("0x")).and_then(|h| u64::from_str_radix(h, 16).ok());
        match (self, rest) {
            (Table::Era(e), Some(rest)) => {
                e.unlisted(rest).into_iter().map(|(v, n)| json!({"bits": format!("{v:#x}"), "name": n, "config": config_of(*e, n)})).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// `--kernel` → the table, and the note when the choice is an assumption.
fn table_for(kernel: Option<&str>) -> anyhow::Result<(Table, Option<String>)> {
    match kernel {
        None | Some("running") => Ok((running()?, None)),
        Some(v) => {
            let EraMatch { era, note } = Era::resolve(v).ok_or_else(|| {
                anyhow::anyhow!("--kernel {v:?} is not a kernel release fragtrace can place: expected MAJOR.MINOR[.PATCH][-SUFFIX] of 2.6 or newer (3.10.0-1160.el7.x86_64, 4.14.67, 5.15, 6.8.0-rc1+), or `running`")
            })?;
            Ok((Table::Era(era), note))
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

/// The widest era label, for aligned columns.
fn label_width() -> usize {
    Era::ALL.iter().map(|e| e.label().chars().count()).max().unwrap_or(10)
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
    let ranked = rank_all(mask, false);
    let guess = best_guess(mask, false);
    if !json_only {
        let width = label_width();
        for (era, names, rest) in &rows {
            let names: Vec<String> = names.iter().cloned().chain((*rest != 0).then(|| format!("{rest:#x}"))).collect();
            println!("{value:<12} {:<width$} {}", era.label(), names.join("|"));
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
            json!({"era": era.label(), "family": era.family(), "flags": names, "unknown_bits": format!("{rest:#x}"), "score": score, "objections": against})
        })
        .collect();
    json!({"input": value, "eras": eras, "guess": guess})
}

/// `--all-eras` for a list of names: their value in every era.
fn names_in_all_eras(value: &str, json_only: bool) -> serde_json::Value {
    let width = label_width();
    let rows: Vec<_> = Era::ALL.iter().map(|e| (e.label(), value_of_names(value, &Table::Era(*e)))).collect();
    for (era, v) in &rows {
        match v {
            Ok(v) if !json_only => println!("{value:<24} {era:<width$} {v:#x}"),
            Err(e) if !json_only => println!("{value:<24} {era:<width$} ({e})"),
            _ => {}
        }
    }
    json!({"input": value, "eras": rows.iter().map(|(era, v)| json!({"era": era, "value": v.as_ref().ok().map(|v| format!("{v:#x}"))})).collect::<Vec<_>>()})
}

/// One value with one table: a mask's names or a name list's mask.
fn one_value(value: &str, table: &Table, note: Option<&str>, json_only: bool) -> anyhow::Result<serde_json::Value> {
    let Some(mask) = parse_mask(value) else {
        let v = value_of_names(value, table).map_err(|e| anyhow::anyhow!(e))?;
        if !json_only {
            println!("{value} = {v:#x} (kernel {})", table.label());
        }
        return Ok(json!({"input": value, "kernel": table.label(), "mask": format!("{v:#x}"), "era_note": note}));
    };
    let names = table.decode(mask);
    let unlisted = table.unlisted(&names);
    if !json_only {
        let shown = if names.is_empty() { "none".to_string() } else { names.join("|") };
        println!("{value} = {shown} (kernel {})", table.label());
        for u in &unlisted {
            let when = u["config"].as_str().map_or(String::new(), |c| format!(", and only with {c}"));
            println!("  {} = {} (defined by that kernel, not in its print list{when})", u["bits"].as_str().unwrap_or("?"), u["name"].as_str().unwrap_or("?"));
        }
    }
    Ok(json!({"input": value, "kernel": table.label(), "mask": format!("{mask:#x}"), "flags": names, "unlisted": unlisted, "era_note": note}))
}

pub fn run(args: GfpArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let chosen = if args.all_eras { None } else { Some(table_for(args.kernel.as_deref())?) };
    if let Some((_, Some(note))) = &chosen
        && !args.json
    {
        println!("note: {note}");
    }
    for value in &args.values {
        out.push(match (&chosen, parse_mask(value)) {
            (Some((table, note)), _) => one_value(value, table, note.as_deref(), args.json)?,
            (None, Some(mask)) => all_eras(value, mask, args.json),
            (None, None) => names_in_all_eras(value, args.json),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
