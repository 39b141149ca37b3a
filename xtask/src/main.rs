//! `cargo xtask`: bootstrap, build, run and test fragtrace on a fresh machine.
//!
//! Every step checks before it acts, so a second run on a ready machine installs nothing.

mod bench;
mod bench_attach;
mod bench_dmesg;
mod bench_misses;
mod bench_misses_vm;
mod bench_nsrun;
mod bench_overhead;
mod bench_storm;
mod bench_top;
mod fuzz;
mod proc;
mod setup;
mod shell;
mod soak;
mod vm;
mod vm_kernels;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "fragtrace developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what building the eBPF object needs (idempotent): nightly rust-src, LLVM 22
    /// dev packages, bpf-linker built against LLVM 22.
    Setup,
    /// Setup, then build fragtrace in release mode.
    Build,
    /// Setup, build, and run `fragtrace top` as root (via sudo when not root). Extra
    /// arguments go to `fragtrace top`, e.g. `cargo xtask top -- --batch --count 5`.
    Top {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks (release build, root; all of them without a subcommand); figures are
    /// written into BENCHMARKS.md. Peers (bpftrace, perf, trace-cmd) are installed with apt.
    Bench {
        #[command(subcommand)]
        which: Option<Bench>,
        /// Print the figures without updating BENCHMARKS.md.
        #[arg(long, global = true)]
        no_update: bool,
        /// Every benchmark with small sizes, under 3 minutes: a smoke check, not figures
        /// to publish (implies --no-update).
        #[arg(long)]
        quick: bool,
    },
    /// Fuzz every parser of outside data (cargo-fuzz, libFuzzer) for SECONDS each; results
    /// go into docs/reliability.md.
    Fuzz {
        #[arg(long, default_value_t = 60)]
        time: u64,
        /// Only this target (results are then printed, not written).
        #[arg(long)]
        target: Option<String>,
    },
    /// A long failure storm under `record`, `top --json` and `serve` at once (root): RSS and
    /// CPU of each sampled over time, drops checked against the kernel's counter; the table
    /// goes into docs/reliability.md.
    Soak {
        /// How long the storm runs: 1h, 30m, 90s.
        #[arg(long, default_value = "1h", value_parser = soak::parse_duration)]
        duration: std::time::Duration,
        /// Samples over the run (rows of the table).
        #[arg(long, default_value_t = 12)]
        samples: usize,
        /// Storm processes (each keeps one CPU busy failing allocations).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Print the table without updating docs/reliability.md.
        #[arg(long)]
        no_update: bool,
    },
    /// fragtrace end to end on other kernels in QEMU (real fragmentation failures in a
    /// 512 MiB guest): Debian's newest `5.10` (bullseye), `6.1`, `6.12` (bookworm), `7.x`
    /// (trixie-backports or sid; `7` too), `all` of them, or a path to a vmlinuz.
    VmTest {
        #[arg(long, default_value = "6.1")]
        kernel: String,
    },
    /// A static release binary (x86_64-unknown-linux-musl, eBPF object embedded) in
    /// target/dist/fragtrace, for the container image (Dockerfile) and old userlands.
    Dist,
    /// Setup, then every test: unit tests and the privileged end-to-end tests (root only;
    /// they fail loudly rather than skip when not root). Builds the static binary too: the
    /// `serve` end-to-end test runs it. Then the QEMU scenario on Debian's 6.1 kernel (its
    /// checks count in the total).
    Test {
        /// Extra arguments for `cargo test`, e.g. a test name filter.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand, Clone)]
enum Bench {
    /// `fragtrace report` throughput and bytes per event over a generated recording.
    Reader {
        /// Events in the generated recording.
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
    },
    /// `fragtrace dmesg` throughput over a 100 MB kernel log.
    Dmesg {
        #[arg(long, default_value_t = 100)]
        mb: u64,
    },
    /// Time from starting `fragtrace capture` until its probes are live.
    Attach {
        #[arg(long, default_value_t = 21)]
        runs: usize,
    },
    /// CPU and memory of the full-screen `fragtrace top` under a 50 k events/s extfrag storm.
    Top {
        /// Length of the measured window.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Page-fault throughput under fragtrace and its peers (bpftrace, perf, trace-cmd),
    /// alternating configurations, as a ratio to the untraced baseline of the same round.
    Overhead {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Workload time per run.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// In-kernel ns per run of each eBPF program (kernel.bpf_stats_enabled).
    NsPerRun {
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Isolated failures on this host: per `record` mode (default, always, on-pressure), on an
    /// idle and a CPU-saturated node, N times a fresh kubepods-shaped memory cgroup, a fresh
    /// `fragtrace record`, and SETTLE seconds later ONE failing order-5 memcg charge from a
    /// `runc:[1:CHILD]`; caught/N into BENCHMARKS.md.
    Misses {
        /// Isolated failures per mode and load.
        #[arg(long, default_value_t = 20)]
        n: usize,
        /// Seconds from `record` saying it is recording to the failure.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        /// Then the same in QEMU guests with these Debian kernels, where the fexit modes run
        /// (as `bench misses-vm`; about 15 minutes a kernel); `none` skips them.
        #[arg(long, value_delimiter = ',', default_value = "6.1,7.x")]
        vm_kernels: Vec<String>,
        /// Isolated failures per mode, load and kind in the guests.
        #[arg(long, default_value_t = 10)]
        vm_tries: usize,
    },
    /// Isolated failures in QEMU guests with Debian's kernels (BPF trampolines): for the
    /// default (`auto`), `fexit` and `on-pressure`, on an idle and a CPU-saturated guest, one
    /// memcg charge failure and one page-allocator failure per freshly started `record`;
    /// caught/N into BENCHMARKS.md.
    MissesVm {
        /// Isolated failures per mode, load and kind.
        #[arg(long, default_value_t = 10)]
        tries: usize,
        /// Debian kernel series to boot (as `vm-test --kernel`), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "6.1,7.x")]
        kernels: Vec<String>,
    },
    /// A real failure storm: events/s, exact drop accounting per ring-buffer size, CPU and
    /// RSS of record and top; plus decode→aggregate throughput on one core.
    Storm {
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Events through the userspace pipeline benchmark.
        #[arg(long, default_value_t = 20_000_000)]
        pipeline_events: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = shell::workspace_root()?;
    std::env::set_current_dir(&root).with_context(|| format!("cd {}", root.display()))?;
    shell::put_cargo_bin_on_path();
    match cli.command {
        Command::Setup => setup::ensure().map(|_| ()),
        Command::Build => build(),
        Command::Dist => dist().map(|path| println!("{}", path.display())),
        Command::VmTest { kernel } => vm::vm_test(&kernel),
        Command::Fuzz { time, target } => fuzz::fuzz(time, target.as_deref()),
        Command::Top { args } => top(&args),
        Command::Soak { duration, samples, workers, no_update } => {
            if !shell::is_root() {
                bail!("the soak loads eBPF programs and creates a memory cgroup: run as root (sudo -E cargo xtask soak)");
            }
            soak::soak(duration, samples.max(2), workers.max(1), !no_update)
        }
        Command::Test { args } => test(&args),
        Command::Bench { which, no_update, quick } => bench(which, !no_update && !quick, quick),
    }
}

fn bench(which: Option<Bench>, update: bool, quick: bool) -> anyhow::Result<()> {
    if !shell::is_root() {
        bail!("the benchmarks load eBPF programs and create memory cgroups: run as root (sudo -E cargo xtask bench)");
    }
    let started = std::time::Instant::now();
    let result = match which {
        Some(Bench::Reader { events }) => bench::reader(events, update),
        Some(Bench::Top { seconds }) => bench_top::top(seconds, update),
        Some(Bench::Attach { runs }) => bench_attach::attach(runs, update),
        Some(Bench::Dmesg { mb }) => bench_dmesg::dmesg(mb, update),
        Some(Bench::Overhead { rounds, seconds }) => bench_overhead::overhead(rounds, seconds, update),
        Some(Bench::NsPerRun { seconds }) => bench_nsrun::ns_per_run(seconds, update),
        Some(Bench::Misses { n, settle, ref vm_kernels, vm_tries }) => bench_misses::misses(n, settle, update).and_then(|()| {
            let kernels: Vec<String> = vm_kernels.iter().filter(|k| k.as_str() != "none").cloned().collect();
            if kernels.is_empty() { Ok(()) } else { bench_misses_vm::misses_vm(&kernels, vm_tries, update) }
        }),
        Some(Bench::MissesVm { tries, ref kernels }) => bench_misses_vm::misses_vm(kernels, tries, update),
        Some(Bench::Storm { seconds, pipeline_events }) => bench_storm::storm(seconds, pipeline_events, update),
        None if quick => bench_overhead::overhead(2, 1.5, update)
            .and_then(|()| bench_nsrun::ns_per_run(1.5, update))
            .and_then(|()| bench_storm::storm(1.5, 2_000_000, update))
            .and_then(|()| bench_attach::attach(3, update))
            .and_then(|()| bench::reader(1_000_000, update))
            .and_then(|()| bench_top::top(4, update))
            .and_then(|()| bench_dmesg::dmesg(10, update))
            .and_then(|()| bench_misses::misses(2, 1.0, update)),
        None => bench_overhead::overhead(5, 5.0, update)
            .and_then(|()| bench_nsrun::ns_per_run(5.0, update))
            .and_then(|()| bench_storm::storm(5.0, 20_000_000, update))
            .and_then(|()| bench_attach::attach(21, update))
            .and_then(|()| bench::reader(10_000_000, update))
            .and_then(|()| bench_top::top(20, update))
            .and_then(|()| bench_dmesg::dmesg(100, update))
            .and_then(|()| bench_misses::misses(20, 3.0, update)),
    };
    eprintln!("bench: finished in {:.0} s", started.elapsed().as_secs_f64());
    result
}

fn build() -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    shell::cargo(&toolchain, &["build", "--release", "--package", "fragtrace"])
}

/// Static, no PIE (`ldd`: "not a dynamic executable"), stripped.
pub const MUSL_RUSTFLAGS: (&str, &str) =
    ("CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS", "-C target-feature=+crt-static -C relocation-model=static -C strip=symbols");

/// Builds target/dist/fragtrace: static (no PIE, so `ldd` calls it "not a dynamic
/// executable"), stripped, the eBPF object embedded like in every build.
pub fn dist() -> anyhow::Result<std::path::PathBuf> {
    let toolchain = setup::ensure()?;
    setup::ensure_musl_target()?;
    if !shell::succeeds("sh", &["-c", "command -v x86_64-linux-musl-gcc"]) {
        bail!("x86_64-linux-musl-gcc is missing (zstd's C code needs it): apt-get install musl-tools");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    shell::run_with_env(
        &cargo,
        &["build", "--release", "--target", setup::MUSL_TARGET, "--package", "fragtrace"],
        &[("FRAGTRACE_EBPF_TOOLCHAIN", toolchain.name()), MUSL_RUSTFLAGS],
    )?;
    let built = std::path::Path::new("target").join(setup::MUSL_TARGET).join("release/fragtrace");
    let dist = std::path::Path::new("target/dist");
    std::fs::create_dir_all(dist).context("creating target/dist")?;
    let out = dist.join("fragtrace");
    std::fs::copy(&built, &out).with_context(|| format!("copying {}", built.display()))?;
    let ldd = shell::output("sh", &["-c", &format!("ldd {} 2>&1 || true", out.display())]).unwrap_or_default();
    if !ldd.contains("not a dynamic executable") {
        bail!("{} is not static: ldd says {}", out.display(), ldd.trim());
    }
    eprintln!("xtask: {} is static ({} bytes)", out.display(), std::fs::metadata(&out)?.len());
    Ok(std::fs::canonicalize(&out)?)
}

/// A static (musl) build of one of fragtrace-tests' binaries, for guests and containers.
pub fn static_test_binary(toolchain: &setup::EbpfToolchain, name: &str) -> anyhow::Result<std::path::PathBuf> {
    setup::ensure_musl_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    shell::run_with_env(
        &cargo,
        &["build", "--release", "--target", setup::MUSL_TARGET, "--package", "fragtrace-tests", "--bin", name],
        &[("FRAGTRACE_EBPF_TOOLCHAIN", toolchain.name()), MUSL_RUSTFLAGS],
    )?;
    let built = std::path::Path::new("target").join(setup::MUSL_TARGET).join("release").join(name);
    std::fs::canonicalize(&built).with_context(|| format!("{} was not built", built.display()))
}

fn top(args: &[String]) -> anyhow::Result<()> {
    build()?;
    // Found from any directory of the checkout, as cargo finds the workspace.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| shell::workspace_root().map(|root| root.join("target")), |dir| Ok(dir.into()))?;
    let binary = target.join("release/fragtrace");
    let mut command = vec![binary.display().to_string(), "top".to_string()];
    command.extend(args.iter().cloned());
    shell::run_as_root(&command)
}

/// Clippy on the eBPF programs for the BPF target, built as aya-build builds them
/// (`-Z build-std=core`), in a target directory of their own.
fn clippy_ebpf(toolchain: &setup::EbpfToolchain) -> anyhow::Result<()> {
    let name = toolchain.name();
    setup::ensure_clippy(name)?;
    let bootstrap: &[(&str, &str)] = match toolchain {
        setup::EbpfToolchain::Nightly => &[],
        setup::EbpfToolchain::StableBootstrap => &[("RUSTC_BOOTSTRAP", "1")],
    };
    let args = [
        "run", name, "cargo", "clippy", "--package", "fragtrace-ebpf", "--lib", "--bins",
        "--target", "bpfel-unknown-none", "-Z", "build-std=core", "--target-dir", "target/ebpf-clippy",
        "--", "-D", "warnings",
    ];
    shell::run_with_env("rustup", &args, bootstrap)
}

fn test(args: &[String]) -> anyhow::Result<()> {
    let toolchain = setup::ensure()?;
    if !shell::is_root() {
        eprintln!(
            "\n************************************************************************\n\
             cargo xtask test: NOT ROOT. The end-to-end tests load eBPF programs and\n\
             create memory cgroups; they need root. Run: sudo -E cargo xtask test\n\
             ************************************************************************\n"
        );
        bail!("refusing to run a partial test suite as a non-root user");
    }
    setup::ensure_test_tools()?;
    // The CLI tests drive the real binaries; build them first.
    shell::cargo(&toolchain, &["build", "--package", "fragtrace", "--bins"])?;
    // Lints before tests: every crate and target of the host build, then the eBPF programs,
    // which the host build compiles out.
    setup::ensure_clippy(&setup::host_toolchain())?;
    shell::cargo(&toolchain, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    clippy_ebpf(&toolchain)?;
    let static_binary = dist()?;
    // SAFETY: single-threaded; read by the `serve` end-to-end test.
    unsafe { std::env::set_var("FRAGTRACE_STATIC_BIN", &static_binary) };
    // Containers get a static trigger in their root filesystems.
    let static_trigger = static_test_binary(&toolchain, "alloc-trigger")?;
    // SAFETY: as above; read by the container tests.
    unsafe { std::env::set_var("FRAGTRACE_STATIC_TRIGGER", &static_trigger) };
    // Every test binary runs even after one fails: the closing count covers the whole suite.
    let mut cargo_args = vec!["test", "--workspace", "--no-fail-fast"];
    cargo_args.extend(args.iter().map(String::as_str));
    let (mut passed, mut failed) = shell::cargo_test(&toolchain, &cargo_args)?;
    // A non-host kernel in QEMU, unless a test filter was given (then only cargo's tests).
    if args.is_empty() {
        let (p, f) = vm::run_kernel("6.1")?;
        println!("vm-test 6.1: {p} checks passed, {f} failed (`cargo xtask vm-test --kernel all` runs 5.10, 6.12 and 7.x too)");
        passed += p;
        failed += f;
    }
    // One closing line for the whole suite (unit + end-to-end).
    println!("\nfragtrace: {passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        bail!("test suite failed ({passed} passed, {failed} failed)");
    }
    Ok(())
}
