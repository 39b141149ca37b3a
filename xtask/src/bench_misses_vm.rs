//! The miss-rate benchmark in QEMU guests (`cargo xtask bench misses-vm`, and the second half of
//! `cargo xtask bench misses`):
//! isolated failures on Debian's kernels, which have BPF trampolines, so the fexit modes are
//! measured where they run. The guest (`vm_guest.sh`, scenario `misses`) pins memory so no
//! block of order ≥ 4 is left, then per load (idle, one busy loop on its one CPU) and mode,
//! N times: a fresh `fragtrace record`, 3 s, ONE failure, stop, report. Two kinds of failure:
//! a memcg charge failure (order 7, pipe resize in a fresh kubepods-shaped cgroup v2, before the
//! pinning) and a
//! page-allocator failure (order 4, one `add_key` with the blocks used up).

use std::{collections::BTreeMap, fmt::Write, time::Duration};

use serde_json::Value;

use crate::{shell, vm, vm_kernels};

/// Modes measured in the guests: the default, fexit asked explicitly, and the opt-in gate.
pub const MODES: &[&str] = &["auto", "fexit", "on-pressure"];
const LOADS: &[&str] = &["idle", "busy"];
const KINDS: &[(&str, u64)] = &[("memcg", 7), ("keyring", 4)];

pub const START: &str = "<!-- bench:misses-vm:start -->";
pub const END: &str = "<!-- bench:misses-vm:end -->";

/// One cell of the table: `caught` of `provoked` isolated failures.
pub struct Row {
    pub kernel: String,
    pub load: &'static str,
    pub mode: &'static str,
    /// What the loader chose in that mode (`alloc_probe.watched_by`).
    pub watched_by: String,
    pub kind: &'static str,
    pub caught: usize,
    pub provoked: usize,
}

/// Boots each kernel with the `misses` scenario and counts what `record` caught.
pub fn run(kernels: &[&str], tries: usize) -> anyhow::Result<Vec<Row>> {
    let (fragtrace, driver) = vm::guest_binaries()?;
    let files = [
        ("scenario", "misses".to_string()),
        ("modes", MODES.join(" ")),
        ("loads", LOADS.join(" ")),
        ("tries", tries.to_string()),
    ];
    let initrd = vm::initramfs(&fragtrace, &driver, &files)?;
    // ~4 s a try under TCG, plus the boot and the pinning.
    let timeout = Duration::from_secs(120 + (MODES.len() * LOADS.len() * KINDS.len() * tries) as u64 * 12);
    let mut rows = Vec::new();
    for spec in kernels {
        let kernel = vm_kernels::resolve(spec)?;
        eprintln!("bench misses: booting {} ({} tries per cell)", kernel.label, tries);
        let console = vm::boot(&kernel, &initrd, timeout)?;
        let release = console.lines().find_map(|l| l.split_once("==KERNEL ")?.1.strip_suffix("==")).unwrap_or(spec).to_string();
        rows.extend(count(&vm::blocks(&console), &release, tries));
    }
    Ok(rows)
}

/// Caught: the trigger failed with ENOMEM and the recording holds a failure of
/// `vm-fragment` of that order. Tries whose trigger did not fail are not counted.
fn count(blocks: &BTreeMap<String, String>, kernel: &str, tries: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for &load in LOADS {
        for &mode in MODES {
            for &(kind, order) in KINDS {
                let mut row = Row { kernel: kernel.to_string(), load, mode, watched_by: String::new(), kind, caught: 0, provoked: 0 };
                for t in 1..=tries {
                    let id = format!("{load}-{mode}-{kind}-{t}");
                    let (Ok(trigger), Ok(report)) = (vm::json(blocks, &format!("trigger-{id}")), vm::json(blocks, &format!("try-{id}"))) else {
                        continue;
                    };
                    let errno = trigger.get("pipe_resize_errno").or_else(|| trigger.get("add_key_errno")).and_then(Value::as_i64);
                    if errno != Some(12) {
                        continue;
                    }
                    row.provoked += 1;
                    if row.watched_by.is_empty() {
                        row.watched_by = report["alloc_probe"]["watched_by"].as_str().unwrap_or("?").to_string();
                    }
                    let groups = report["failures"]["groups"].as_array().cloned().unwrap_or_default();
                    if groups.iter().any(|g| g["comm"] == "vm-fragment" && g["order"] == order) {
                        row.caught += 1;
                    }
                }
                rows.push(row);
            }
        }
    }
    rows
}

pub fn render(rows: &[Row], tries: usize, kernels: &[&str]) -> String {
    let mut s = format!(
        "{START}\nIsolated failures in QEMU guests (TCG, 1 CPU, 512 MiB), each under a `fragtrace record` started 3 s before — measured {}:\n\n\
         | kernel | node | mode | failures watched by | memcg charge (order 7) | page allocator (order 4) |\n|---|---|---|---|---:|---:|\n",
        shell::output("date", &["-u", "+%Y-%m-%d"]).unwrap_or_default().trim()
    );
    for pair in rows.chunks(KINDS.len()) {
        let (Some(memcg), Some(keyring)) = (pair.iter().find(|r| r.kind == "memcg"), pair.iter().find(|r| r.kind == "keyring")) else { continue };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {}/{} | {}/{} |",
            memcg.kernel, memcg.load, memcg.mode, memcg.watched_by, memcg.caught, memcg.provoked, keyring.caught, keyring.provoked
        );
    }
    let _ = write!(s, "\nReproduce: `cargo xtask bench misses-vm --tries {tries} --kernels {}` (also run by `cargo xtask bench misses`)\n{END}", kernels.join(","));
    s
}

/// `cargo xtask bench misses-vm`: runs, prints, and updates BENCHMARKS.md.
pub fn misses_vm(kernels: &[String], tries: usize, update: bool) -> anyhow::Result<()> {
    let specs: Vec<&str> = kernels.iter().map(String::as_str).collect();
    let rows = run(&specs, tries)?;
    let section = render(&rows, tries, &specs);
    println!("{section}");
    if update {
        crate::bench::update_section(START, END, "## Miss rate (QEMU guests)", &section)?;
        eprintln!("bench: BENCHMARKS.md updated");
    }
    Ok(())
}
