//! `cargo xtask fuzz --time SECONDS`: every `cargo fuzz` target in fuzz/ (one per parser of
//! outside data) for SECONDS each, seeded from the test fixtures and this machine's /proc and
//! tracefs, with libFuzzer. The results (runs, time, crashes) go into docs/reliability.md;
//! a crash stops with the reproducer's path.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

use crate::shell;

const START: &str = "<!-- fuzz:start -->";
const END: &str = "<!-- fuzz:end -->";
const CARGO_FUZZ_VERSION: &str = "0.13.2";

pub const TARGETS: [&str; 12] = [
    "tracefs_format",
    "print_flags_expr",
    "kernel_log",
    "buddyinfo",
    "pagetypeinfo",
    "zoneinfo",
    "vmstat",
    "cgroup_path",
    "oci_config",
    "record_block",
    "trace_file",
    "ring_decoder",
];

fn copy_matching(dir: &Path, into: &Path, prefix: &str) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && !name.ends_with(".md") {
            std::fs::copy(entry.path(), into.join(&name))?;
        }
    }
    Ok(())
}

/// Seed inputs per target: fixtures and real system files.
fn seeds(target: &str, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let testdata = Path::new("fragtrace/testdata");
    let live = |name: &str, path: &str| {
        if let Ok(bytes) = std::fs::read(path) {
            let _ = std::fs::write(dir.join(name), bytes);
        }
    };
    match target {
        "tracefs_format" => {
            copy_matching(&testdata.join("format"), dir, "")?;
            for event in ["kmem/mm_page_alloc", "kmem/mm_page_alloc_extfrag", "vmscan/mm_vmscan_direct_reclaim_begin", "compaction/mm_compaction_end", "oom/mark_victim"] {
                live(&event.replace('/', "-"), &format!("/sys/kernel/tracing/events/{event}/format"));
            }
        }
        "print_flags_expr" => {
            for (i, e) in ["(unsigned long)(((gfp_t)(0x400u|0x800u)) | ((gfp_t)0x40u))", "((gfp_t)((1 << 3) - 1))", "0x1000000u", "(((gfp_t)0x20u)|((gfp_t)0x200u)|((gfp_t)0x800u))"].iter().enumerate() {
                std::fs::write(dir.join(format!("expr-{i}")), e)?;
            }
        }
        "kernel_log" => copy_matching(&testdata.join("kernel-logs"), dir, "")?,
        "buddyinfo" => {
            copy_matching(&testdata.join("procfs"), dir, "buddyinfo")?;
            live("live", "/proc/buddyinfo");
        }
        "pagetypeinfo" => {
            copy_matching(&testdata.join("procfs"), dir, "pagetypeinfo")?;
            live("live", "/proc/pagetypeinfo");
        }
        "zoneinfo" => {
            copy_matching(&testdata.join("procfs"), dir, "zoneinfo")?;
            live("live", "/proc/zoneinfo");
        }
        "vmstat" => {
            copy_matching(&testdata.join("procfs"), dir, "vmstat")?;
            copy_matching(&testdata.join("procfs"), dir, "extfrag")?;
        }
        "cgroup_path" => {
            for (i, p) in [
                "/kubepods/burstable/pod0f3c7e2a-5b1d-4c8e-9a6f-2d7b8c9e0a1b/3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e",
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f3c7e2a_5b1d_4c8e_9a6f_2d7b8c9e0a1b.slice/cri-containerd-3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e.scope",
                "/system.slice/docker-3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e.scope",
                "/machine.slice/libpod-3f2a1c9d8e7b.scope/container",
            ]
            .iter()
            .enumerate()
            {
                std::fs::write(dir.join(format!("path-{i}")), p)?;
            }
        }
        "oci_config" => {
            std::fs::write(
                dir.join("config.json"),
                r#"{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"0f3c7e2a-5b1d-4c8e-9a6f-2d7b8c9e0a1b","io.kubernetes.cri.container-name":"app"}}"#,
            )?;
            std::fs::write(dir.join("cmdline"), b"runc\0--root\0/run/runc\0create\0--bundle\0/nonexistent/bundle\0id\0")?;
        }
        "record_block" | "trace_file" => {
            let file = dir.join("small.ftr");
            let status = Command::new("target/release/gen-recording").arg("-o").arg(&file).args(["--events", "300"]).status().context("gen-recording")?;
            if !status.success() {
                bail!("gen-recording failed");
            }
        }
        "ring_decoder" => {
            // Version, kind, then zeros: the fuzzer fills in the rest.
            for (kind, len) in [(1u16, 1000usize), (2, 72), (3, 80), (4, 80), (5, 56)] {
                let mut bytes = vec![0u8; len];
                bytes[..2].copy_from_slice(&3u16.to_ne_bytes());
                bytes[2..4].copy_from_slice(&kind.to_ne_bytes());
                std::fs::write(dir.join(format!("kind-{kind}")), bytes)?;
            }
        }
        other => bail!("no seeds for {other}"),
    }
    Ok(())
}

struct Outcome {
    target: &'static str,
    runs: u64,
    seconds: u64,
    crashed: Option<String>,
}

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    if shell::output("cargo", &["fuzz", "--version"]).is_some_and(|v| v.contains(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    shell::run("cargo", &["install", "--locked", "--version", CARGO_FUZZ_VERSION, "cargo-fuzz"])
}

pub fn fuzz(seconds: u64, only: Option<&str>) -> anyhow::Result<()> {
    crate::bench::build_release()?;
    crate::setup::ensure()?;
    ensure_cargo_fuzz()?;
    let mut outcomes = Vec::new();
    for target in TARGETS.iter().filter(|t| only.is_none_or(|o| o == **t)) {
        let seed_dir = PathBuf::from("target/fuzz-seeds").join(target);
        let _ = std::fs::remove_dir_all(&seed_dir);
        seeds(target, &seed_dir)?;
        let corpus = PathBuf::from("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        eprintln!("fuzz: {target} for {seconds} s");
        // No sanitizer: the code is safe Rust, and panics (what we look for) need none.
        let out = Command::new("cargo")
            .current_dir("fuzz")
            .env("FRAGTRACE_EBPF_TOOLCHAIN", "nightly")
            .args(["+nightly", "fuzz", "run", "-s", "none", target])
            .arg(Path::new("corpus").join(target))
            .arg(std::fs::canonicalize(&seed_dir)?)
            .args(["--", &format!("-max_total_time={seconds}"), "-rss_limit_mb=2048", "-timeout=10"])
            .output()
            .context("cargo fuzz run")?;
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let runs = log.lines().rev().find_map(|l| l.strip_prefix("Done ")?.split_whitespace().next()?.parse().ok()).unwrap_or(0);
        let crashed = (!out.status.success()).then(|| {
            log.lines().filter(|l| l.contains("Test unit written to") || l.contains("panicked")).collect::<Vec<_>>().join("; ")
        });
        outcomes.push(Outcome { target, runs, seconds, crashed });
    }
    let mut section = format!(
        "{START}\n`cargo xtask fuzz --time {seconds}` — {} — libFuzzer via cargo-fuzz {CARGO_FUZZ_VERSION}, no sanitizer (safe Rust; panics are the failures):\n\n\
         | target | parser | seconds | runs | result |\n|---|---|---:|---:|---|\n",
        crate::proc::today()
    );
    for o in &outcomes {
        section.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            o.target,
            parser_of(o.target),
            o.seconds,
            o.runs,
            o.crashed.as_deref().map_or("no crash".to_string(), |c| format!("CRASH: {c}"))
        ));
    }
    section.push_str(END);
    println!("{section}");
    if only.is_none() {
        crate::bench::update_section_in(Path::new("docs/reliability.md"), START, END, "## Fuzzing", &section)?;
    }
    if let Some(o) = outcomes.iter().find(|o| o.crashed.is_some()) {
        bail!("{} crashed: {}", o.target, o.crashed.as_deref().unwrap_or(""));
    }
    Ok(())
}

fn parser_of(target: &str) -> &'static str {
    match target {
        "tracefs_format" => "tracefs `format` files, and the layouts and GFP table derived from them",
        "print_flags_expr" => "the `__print_flags` constant-expression evaluator",
        "kernel_log" => "kernel-log reports and their verdicts (`fragtrace dmesg`)",
        "buddyinfo" => "/proc/buddyinfo and the fragmentation indices",
        "pagetypeinfo" => "/proc/pagetypeinfo",
        "zoneinfo" => "/proc/zoneinfo",
        "vmstat" => "/proc/vmstat, vmstat rates, debugfs extfrag index files",
        "cgroup_path" => "cgroup paths (runtime, QoS, pod UID, container id)",
        "oci_config" => "OCI `config.json` annotations, runc command lines",
        "record_block" => "the records of a trace-file block",
        "trace_file" => "whole trace files (header, blocks, resync, replay)",
        "ring_decoder" => "ring-buffer event records",
        _ => "?",
    }
}
