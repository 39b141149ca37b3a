//! Pieces shared by the live commands: attaching, symbols, stopping on signals.

use std::{future::Future, time::Duration};

use anyhow::Context;
use fragtrace::{
    host::{cgroup::CgroupResolver, kallsyms::Kallsyms},
    probe::{ProbeConfig, Probes},
    session::Session,
};
use tokio::signal::unix::{SignalKind, signal};

use super::ProbeArgs;

/// After loading: OOM protection, then every capability but what the rest of the run needs.
/// `writes_files`: the command creates files (record, capture).
pub fn harden(writes_files: bool) {
    fragtrace::probe::preflight::protect_from_oom_killer();
    if let Err(e) = fragtrace::probe::preflight::drop_capabilities_except(&fragtrace::probe::preflight::live_capabilities(writes_files)) {
        log::warn!("could not drop capabilities: {e}");
    }
}

/// Loads and attaches the probes.
pub async fn start_session(args: &ProbeArgs) -> anyhow::Result<Session> {
    let config = ProbeConfig {
        mode: args.probe_mode.map(Into::into),
        ring_bytes: args.ring_buffer_kib.saturating_mul(1024),
        extfrag: true,
        stalls: true,
        alloc_probe: args.alloc_probe.into(),
        alloc_probe_hold: args.alloc_probe_hold,
    };
    // /proc/kallsyms (~200k lines) is read on tokio's blocking pool while the probes load
    // (synchronously, on the runtime's one thread): part of attach time. Nothing else runs
    // on the runtime yet, so blocking it here delays nobody.
    let kallsyms = tokio::task::spawn_blocking(|| {
        Kallsyms::load().unwrap_or_else(|e| {
            log::warn!("kernel stacks will show raw addresses: {e}");
            Kallsyms::default()
        })
    });
    let probes = Probes::load(&config).context("cannot attach the probes")?;
    let kallsyms = kallsyms.await.unwrap_or_default();
    // With in-kernel attribution the ids are memory-cgroup ids; without, cgroup v2 ids.
    let cgroups = if probes.attribution { CgroupResolver::for_memory() } else { CgroupResolver::discover() };
    if cgroups.root().is_none() {
        log::warn!("no cgroup hierarchy to resolve ids in: cgroup paths will show as ids");
    }
    let workloads = fragtrace::identity::WorkloadResolver::new(args.oci_root.clone());
    Ok(Session::with_workloads(probes, kallsyms, cgroups, workloads))
}

/// Completes on SIGINT, SIGTERM, SIGHUP (the ssh session running it went away), after
/// `limit` if given, or when `done` is notified.
pub fn stop_signal(
    limit: Option<Duration>,
    done: std::sync::Arc<tokio::sync::Notify>,
) -> anyhow::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    Ok(async move {
        let sleep = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
            () = sleep => {}
            () = done.notified() => {}
        }
    })
}

/// The header of a recording made from `session` now: host facts, clock anchors, command
/// line, probe mode, filters and the kernel's layouts (shared by `record` and `capture`).
pub fn recording_header(session: &Session, filter: &fragtrace::filter::EventFilter, recording_id: String) -> fragtrace::record::RecordingHeader {
    let probes = session.probes();
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    fragtrace::record::RecordingHeader {
        fragtrace_version: env!("CARGO_PKG_VERSION").to_string(),
        recording_id,
        part: 0,
        hostname: fragtrace::host::system::hostname(),
        boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default(),
        start_wall_ns: wall.as_nanos() as u64,
        start_monotonic_ns: fragtrace::host::clock::monotonic_ns(),
        command_line: std::env::args().collect(),
        probe_mode: probes.mode,
        failure_hooks: Some(probes.hooks.clone()),
        filter: filter.describe(),
        kernel: probes.kernel.clone(),
        extfrag_stack_every: Some(fragtrace::event::EXTFRAG_STACK_EVERY),
    }
}
