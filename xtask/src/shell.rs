//! Running commands, with their command line echoed so a failure is easy to reproduce.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use anyhow::{Context, bail};

use crate::setup::EbpfToolchain;

pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).context("xtask has no parent directory")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// `cargo install` puts bpf-linker in $CARGO_HOME/bin, which a CI shell may not have on PATH.
pub fn put_cargo_bin_on_path() {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(bin) = cargo_home.map(|h| h.join("bin")) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut parts: Vec<PathBuf> = std::env::split_paths(&path).collect();
        if !parts.contains(&bin) {
            parts.insert(0, bin);
            if let Ok(joined) = std::env::join_paths(parts) {
                // SAFETY: single-threaded at this point.
                unsafe { std::env::set_var("PATH", joined) };
            }
        }
    }
}

pub fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    run_with_env(program, args, &[])
}

pub fn run_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("+ {}{program} {}", env.iter().map(|(k, v)| format!("{k}={v} ")).collect::<String>(), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed: {status}", args.join(" "));
    }
    Ok(())
}

/// Whether `program args` runs and exits 0 (output discarded).
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs cargo with the eBPF toolchain choice passed to `fragtrace/build.rs`.
pub fn cargo(toolchain: &EbpfToolchain, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_with_env(&cargo, args, &[("FRAGTRACE_EBPF_TOOLCHAIN", toolchain.name())])
}

/// Runs a command as root, on this terminal: directly when root, else through sudo. Standard
/// input, output and error are inherited (not /dev/null as for [`run`]): the command may be
/// `fragtrace top`, whose full-screen view needs a terminal on stdin and stdout, and sudo
/// may need the terminal to ask for a password.
pub fn run_as_root(command: &[String]) -> anyhow::Result<()> {
    let (program, args) = if is_root() {
        (command[0].as_str(), &command[1..])
    } else {
        eprintln!("fragtrace needs root to load eBPF programs: using sudo");
        ("sudo", command)
    };
    eprintln!("+ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed: {status}", args.join(" "));
    }
    Ok(())
}

/// Runs `cargo test`, echoing its output, and sums the `test result:` lines.
pub fn cargo_test(toolchain: &EbpfToolchain, args: &[&str]) -> anyhow::Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("+ FRAGTRACE_EBPF_TOOLCHAIN={} INSTA_UPDATE=no {cargo} {}", toolchain.name(), args.join(" "));
    let mut child = Command::new(&cargo)
        .args(args)
        .env("FRAGTRACE_EBPF_TOOLCHAIN", toolchain.name())
        // A snapshot that differs or is missing fails the test; none is ever written here
        // (insta's default writes `.snap.new` files outside CI).
        .env("INSTA_UPDATE", "no")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {cargo}"))?;
    let (mut passed, mut failed) = (0, 0);
    for line in BufReader::new(child.stdout.take().context("cargo test stdout")?).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| -> u64 {
                rest.split(';')
                    .find_map(|part| part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(word))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() && failed == 0 {
        bail!("`cargo {}` failed: {status}", args.join(" "));
    }
    Ok((passed, failed))
}
