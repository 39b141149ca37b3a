//! The bootstrap: nightly (or stable + RUSTC_BOOTSTRAP) with rust-src, the LLVM 22 dev
//! packages, and bpf-linker linked against LLVM 22 (without LLVM_PREFIX it would link the
//! machine's default LLVM 14 and fail).

use anyhow::{Context, bail};

use crate::shell::{is_root, output, run, run_with_env, succeeds};

/// Which toolchain builds the eBPF object.
pub enum EbpfToolchain {
    Nightly,
    /// Stable with RUSTC_BOOTSTRAP=1 (set by fragtrace/build.rs).
    StableBootstrap,
}

impl EbpfToolchain {
    pub fn name(&self) -> &'static str {
        match self {
            EbpfToolchain::Nightly => "nightly",
            EbpfToolchain::StableBootstrap => "stable",
        }
    }
}

const APT_PACKAGES: [&str; 5] = ["llvm-22-dev", "libpolly-22-dev", "libzstd-dev", "zlib1g-dev", "libxml2-dev"];
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

pub fn ensure() -> anyhow::Result<EbpfToolchain> {
    let toolchain = ensure_rust_src()?;
    ensure_bpf_linker()?;
    ensure_protoc()?;
    Ok(toolchain)
}

/// The workspace's test crate talks to containerd's CRI plugin with `k8s-cri`, whose build
/// script generates the gRPC code with `protoc`; fragtrace's build script compiles pprof's
/// profile.proto with it (`report --format pprof`).
fn ensure_protoc() -> anyhow::Result<()> {
    if succeeds("sh", &["-c", "command -v protoc"]) {
        return Ok(());
    }
    install_missing_packages(&["protobuf-compiler"]).context("installing protoc (protobuf-compiler), which fragtrace's and k8s-cri's build scripts need")
}

fn has_rust_src(toolchain: &str) -> bool {
    has_component(toolchain, "rust-src")
}

fn has_component(toolchain: &str, component: &str) -> bool {
    output("rustup", &["component", "list", "--toolchain", toolchain, "--installed"])
        .is_some_and(|list| list.lines().any(|l| l.trim().starts_with(component)))
}

/// The toolchain cargo runs with here (`rustup show active-toolchain`'s first word).
pub fn host_toolchain() -> String {
    output("rustup", &["show", "active-toolchain"])
        .and_then(|o| o.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "stable".to_string())
}

/// `cargo xtask test` runs clippy on the host and on the eBPF target: a toolchain installed
/// with rustup's minimal profile has no clippy until this adds it.
pub fn ensure_clippy(toolchain: &str) -> anyhow::Result<()> {
    if has_component(toolchain, "clippy") {
        return Ok(());
    }
    run("rustup", &["component", "add", "clippy", "--toolchain", toolchain])
        .with_context(|| format!("adding clippy to the {toolchain} toolchain (cargo xtask test runs it)"))
}

fn ensure_rust_src() -> anyhow::Result<EbpfToolchain> {
    if succeeds("rustup", &["run", "nightly", "rustc", "--version"]) {
        if !has_rust_src("nightly") {
            run("rustup", &["component", "add", "rust-src", "--toolchain", "nightly"])?;
        }
        return Ok(EbpfToolchain::Nightly);
    }
    eprintln!("xtask: no nightly toolchain; building the eBPF object with stable and RUSTC_BOOTSTRAP=1");
    if !has_rust_src("stable") {
        run("rustup", &["component", "add", "rust-src", "--toolchain", "stable"])
            .context("stable's rust-src is needed for -Z build-std=core without nightly")?;
    }
    Ok(EbpfToolchain::StableBootstrap)
}

fn bpf_linker_ok() -> bool {
    output("bpf-linker", &["--version"]).is_some_and(|v| v.contains(BPF_LINKER_VERSION))
}

fn ensure_bpf_linker() -> anyhow::Result<()> {
    if bpf_linker_ok() {
        return Ok(());
    }
    ensure_apt_packages()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_with_env(
        &cargo,
        &[
            "install",
            "--locked",
            "--version",
            BPF_LINKER_VERSION,
            "bpf-linker",
            "--no-default-features",
            "--features",
            "llvm-22",
        ],
        &[("LLVM_PREFIX", LLVM_PREFIX)],
    )?;
    if !bpf_linker_ok() {
        bail!("bpf-linker {BPF_LINKER_VERSION} was installed but is not on PATH");
    }
    Ok(())
}

fn ensure_apt_packages() -> anyhow::Result<()> {
    install_missing_packages(&APT_PACKAGES).context("installing the LLVM 22 development packages bpf-linker links against")
}

/// What `cargo xtask test` needs beyond the build: a real Prometheus server and promtool
/// (the `serve` end-to-end test scrapes with them), musl for the static release binary
/// (`cargo xtask dist`), bpftool (what is loaded after fragtrace exits), and the Kubernetes
/// schema validator for deploy/, and a real container runtime (containerd and runc: the
/// pod-start tests run containers with them), and Go (`go tool pprof` reads `report --format
/// pprof` output in tests/tests/pprof.rs and e2e_pprof.rs).
pub fn ensure_test_tools() -> anyhow::Result<()> {
    // libcap2-bin (setcap): the least-privilege test of file capabilities; bpftrace: the
    // test that other BPF users of the same tracepoints are undisturbed.
    install_missing_packages(&["prometheus", "musl-tools", "bpftool", "libcap2-bin", "bpftrace", "containerd", "runc"])
        .context("installing prometheus, musl-tools, bpftool, libcap2-bin, bpftrace, containerd and runc")?;
    install_missing_packages(&["golang-go"]).context("installing golang-go (go tool pprof, for the profile tests)")?;
    ensure_musl_target()?;
    if !succeeds("sh", &["-c", "command -v kubernetes-validate"]) {
        run("python3", &["-m", "pip", "install", "--quiet", "kubernetes-validate==1.37.0"])
            .context("installing kubernetes-validate (validates deploy/kubernetes against the Kubernetes OpenAPI schemas)")?;
    }
    ensure_otlp_receiver_deps()
}

/// The OTLP end-to-end tests' receiver (tests/otlp/receiver.py) decodes what `serve` sends
/// with the official protobuf messages from PyPI's `opentelemetry-proto`.
fn ensure_otlp_receiver_deps() -> anyhow::Result<()> {
    if !succeeds("python3", &["-c", "import opentelemetry.proto.collector.logs.v1.logs_service_pb2"]) {
        run("python3", &["-m", "pip", "install", "--quiet", "opentelemetry-proto==1.45.2"])
            .context("installing opentelemetry-proto (the OTLP receiver of the end-to-end tests)")?;
    }
    Ok(())
}

pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn ensure_musl_target() -> anyhow::Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).is_some_and(|t| t.lines().any(|l| l.trim() == MUSL_TARGET));
    if !installed {
        run("rustup", &["target", "add", MUSL_TARGET])?;
    }
    Ok(())
}

pub fn install_missing_packages(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            output("dpkg-query", &["-W", "-f=${Status}", p]).is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let env = [("DEBIAN_FRONTEND", "noninteractive")];
        if is_root() {
            run_with_env("apt-get", args, &env)
        } else {
            let mut with_sudo = vec!["apt-get"];
            with_sudo.extend_from_slice(args);
            run_with_env("sudo", &with_sudo, &env)
        }
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing);
    apt(&install)
}

/// The tools fragtrace is compared with (`cargo xtask bench`), from Debian packages. Best
/// effort: a peer that cannot be installed is reported as not measured, not fatal.
pub fn ensure_peers() {
    let peers = [("bpftrace", "bpftrace"), ("perf", "linux-perf"), ("trace-cmd", "trace-cmd"), ("bpftool", "bpftool")];
    let missing: Vec<&str> = peers
        .iter()
        .filter(|(program, _)| !succeeds("sh", &["-c", &format!("command -v {program}")]))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return;
    }
    if !is_root() || !succeeds("sh", &["-c", "command -v apt-get"]) {
        eprintln!("bench: not installed (needs root and apt-get): {}", missing.join(", "));
        return;
    }
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    if let Err(e) = run_with_env("apt-get", &args, &[("DEBIAN_FRONTEND", "noninteractive")]) {
        eprintln!("bench: installing {}: {e:#}", missing.join(", "));
    }
}
