//! Builds the eBPF object (`fragtrace-probes`) for the BPF target with aya-build, which runs a
//! nested `cargo build -Z build-std=core --target bpfel-unknown-none` using `bpf-linker`.
//! `cargo xtask` installs the toolchain pieces this needs.
//!
//! Also compiles pprof's `proto/profile.proto` into prost types (`report --format pprof`,
//! src/view/pprof.rs) with `protoc`, which the bootstrap installs.

use anyhow::{Context as _, anyhow};
use aya_build::Toolchain;
use std::process::Command;

fn main() -> anyhow::Result<()> {
    compile_profile_proto()?;
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = metadata
        .packages
        .into_iter()
        .find(|p| p.name.as_str() == "fragtrace-ebpf")
        .ok_or_else(|| anyhow!("fragtrace-ebpf package not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("no parent for {}", ebpf.manifest_path))?
        .to_string();

    println!("cargo:rerun-if-env-changed=FRAGTRACE_EBPF_TOOLCHAIN");
    let toolchain = choose_toolchain();
    let package = aya_build::Package {
        name: "fragtrace-ebpf",
        root_dir: &root_dir,
        ..Default::default()
    };
    aya_build::build_ebpf([package], toolchain).context(
        "building the eBPF object failed; run `cargo xtask setup` to install bpf-linker, \
         the nightly rust-src component and LLVM 22",
    )
}

/// The pprof profile messages (`perftools.profiles`), generated into OUT_DIR. protoc runs on
/// the build machine, so the static musl build needs nothing more.
fn compile_profile_proto() -> anyhow::Result<()> {
    println!("cargo:rerun-if-changed=proto/profile.proto");
    println!("cargo:rerun-if-env-changed=PROTOC");
    prost_build::Config::new().compile_protos(&["proto/profile.proto"], &["proto/"]).context(
        "compiling proto/profile.proto needs protoc: run `cargo xtask setup` (installs Debian's \
         protobuf-compiler), or set PROTOC to a protoc binary",
    )
}

/// Nightly is preferred (`-Z build-std=core`). Without one, stable is made to accept `-Z` flags
/// with `RUSTC_BOOTSTRAP=1`; aya-build reads that variable and passes it to the nested build.
fn choose_toolchain() -> Toolchain<'static> {
    if let Ok(name) = std::env::var("FRAGTRACE_EBPF_TOOLCHAIN") {
        if name == "stable" {
            // SAFETY: single-threaded build script, before any thread is spawned.
            unsafe { std::env::set_var("RUSTC_BOOTSTRAP", "1") };
        }
        return Toolchain::Custom(Box::leak(name.into_boxed_str()));
    }
    let has_nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if has_nightly {
        Toolchain::Nightly
    } else {
        println!("cargo:warning=no nightly toolchain: building the eBPF object with stable and RUSTC_BOOTSTRAP=1");
        // SAFETY: single-threaded build script, before any thread is spawned.
        unsafe { std::env::set_var("RUSTC_BOOTSTRAP", "1") };
        Toolchain::Custom("stable")
    }
}
