//! Which programs watch for failing allocations: the resolution of `--alloc-probe` against
//! what this kernel allows, and the fexit programs.
//!
//! Completeness comes first (a missed failure is a bug); among the complete combinations the
//! loader takes the cheapest:
//!
//! | combination | complete | cost |
//! |---|---|---|
//! | fexit `__alloc_pages_slowpath` + fexit `__memcg_kmem_charge_page` | yes | only allocations that already failed their fast path, or are memcg-charged |
//! | `mm_page_alloc` attached all the time (tp_btf, else classic) | yes | a load and a compare on every allocation |
//! | `mm_page_alloc` on slow-path signals (`on-pressure`) | no: a failure before any signal is missed | nothing while idle |
//!
//! fexit needs BPF trampolines (stock distribution kernels have them; some kernels, like the
//! development host's, answer EPERM) and the function in the kernel's BTF *and* in kallsyms
//! under its own name. `__alloc_pages_slowpath` is inlined in Debian's 5.10, 6.1 and 6.12; in
//! Debian's 7.3 it is in the BTF but compiled only as `__alloc_pages_slowpath.constprop.0`, a
//! specialised copy with another signature that fexit cannot attach to. So on every Debian
//! kernel `auto` ends up with `mm_page_alloc`, and the loader says why.
//!
//! Kernels with a lock-free allocator (`alloc_pages_nolock`, 6.15+) also fail allocations that
//! never enter the slow path; fexit on the slow path would miss those, so `auto` does not call
//! that combination complete there.

use aya::{
    Btf, Ebpf,
    programs::{FExit, fexit::FExitLinkId},
};

use super::{
    LoadError, program, program_error,
    table::{self, Probe, Target},
};
use crate::{
    host::kallsyms,
    probe_status::{AllocProbePolicy, FailureHooks, ProbeMode, TracepointUse},
};

/// One fexit program and the kernel function it watches: a row of the probe table.
#[derive(Clone, Copy, Debug)]
pub struct FexitHook {
    pub program: &'static str,
    pub function: &'static str,
}

impl FexitHook {
    /// The hook of an fexit row (in a `const`, another kind of row does not compile).
    const fn of(row: &'static Probe) -> Self {
        match row.target {
            Target::Function(function) => FexitHook { program: row.program, function },
            Target::Event { .. } => panic!("not an fexit row"),
        }
    }
}

/// Memory-cgroup charge failures (`__GFP_ACCOUNT` allocations only).
pub const MEMCG_CHARGE: FexitHook = FexitHook::of(table::row("memcg_charge_exit"));
/// Page-allocator failures: the slow path gave up.
pub const SLOWPATH: FexitHook = FexitHook::of(table::row("slowpath_exit"));

/// Attached fexit programs, kept to detach them if the combination is abandoned.
#[derive(Default)]
pub struct FexitLinks(Vec<(FexitHook, FExitLinkId)>);

impl FexitLinks {
    pub fn functions(&self) -> Vec<String> {
        self.0.iter().map(|(h, _)| h.function.to_string()).collect()
    }

    pub fn has(&self, hook: FexitHook) -> bool {
        self.0.iter().any(|(h, _)| h.function == hook.function)
    }

    /// Detaches every program (a no-op for those already gone).
    pub fn detach_all(&mut self, ebpf: &mut Ebpf) {
        for (hook, id) in self.0.drain(..) {
            if let Ok(p) = program::<FExit>(ebpf, hook.program)
                && let Err(e) = p.detach(id)
            {
                log::warn!("detaching fexit/{}: {e}", hook.function);
            }
        }
    }
}

/// Loads and attaches one fexit program; the error says why this kernel cannot.
pub fn attach_fexit(ebpf: &mut Ebpf, btf: Option<&Btf>, hook: FexitHook, links: &mut FexitLinks) -> Result<(), String> {
    let btf = btf.ok_or("no kernel BTF (/sys/kernel/btf/vmlinux)")?;
    let program: &mut FExit = program(ebpf, hook.program).map_err(|e| e.to_string())?;
    if let Err(e) = program.load(hook.function, btf) {
        return Err(match (e, kallsyms::specialised_copy(hook.function)) {
            (aya::programs::ProgramError::Btf(_), _) => format!("{} is not in this kernel's BTF (inlined or renamed)", hook.function),
            (_, Some(clone)) => format!(
                "{} exists here only as {clone}, a compiler-specialised copy with another signature that fexit cannot attach to",
                hook.function
            ),
            (e, None) => format!("loading fexit/{}: {}", hook.function, explain(&program_error("", e))),
        });
    }
    let id = program.attach().map_err(|e| format!("attaching fexit/{}: {}", hook.function, explain(&program_error("", e))))?;
    links.0.push((hook, id));
    Ok(())
}

/// Lock-free page allocators that fail without entering the slow path (6.15+), newest name
/// first.
const NOLOCK_ALLOCATORS: [&str; 3] = ["alloc_frozen_pages_nolock_noprof", "alloc_pages_nolock_noprof", "try_alloc_pages_noprof"];

/// A lock-free page allocator that fails without entering the slow path (6.15+), if this
/// kernel has one.
fn nolock_allocator() -> Option<&'static str> {
    kallsyms::first_present(&NOLOCK_ALLOCATORS)
}

/// EPERM/ENOTSUPP from a tracing program usually means no BPF trampolines: say so.
fn explain(error: &LoadError) -> String {
    // The OS error sits in the source chain (aya's SyscallError shows only the call).
    let mut full = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !full.contains(&text) {
            full = format!("{full}: {text}");
        }
        source = e.source();
    }
    // aya appends the verifier's log; when it is empty it only adds noise.
    let text = match full.split_once("Verifier output:") {
        Some((head, log)) if log.trim().is_empty() => head.trim_end().trim_end_matches('.').to_string(),
        _ => full,
    };
    let lower = text.to_lowercase();
    if lower.contains("operation not permitted") || lower.contains("not supported") || lower.contains("os error 524") {
        format!("{} — this kernel has no BPF trampolines for fexit (CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, or locked down)", text.trim_start_matches(": "))
    } else {
        text.trim_start_matches(": ").to_string()
    }
}

/// Resolves `--alloc-probe` against the kernel: attaches the fexit programs it calls for and
/// says when `mm_page_alloc` is to be attached. `Fexit` asked explicitly is an error where
/// the kernel cannot do it; `Auto` falls back to `Always`.
pub fn resolve(ebpf: &mut Ebpf, btf: Option<&Btf>, requested: AllocProbePolicy, probe_mode: ProbeMode) -> Result<(FailureHooks, FexitLinks), LoadError> {
    let mut links = FexitLinks::default();
    let mut unavailable = Vec::new();
    let mut try_attach = |hook: FexitHook, links: &mut FexitLinks| match attach_fexit(ebpf, btf, hook, links) {
        Ok(()) => true,
        Err(why) => {
            log::info!("fexit/{}: {why}", hook.function);
            unavailable.push(why);
            false
        }
    };
    let tracepoint = match requested {
        AllocProbePolicy::Always => TracepointUse::Always,
        AllocProbePolicy::OnPressure => {
            // Memory-cgroup charge failures come with no slow-path signal: catch them in
            // the kernel where fexit works, so the gate's blind spot shrinks to the rest.
            try_attach(MEMCG_CHARGE, &mut links);
            TracepointUse::OnPressure
        }
        AllocProbePolicy::Fexit => {
            if !try_attach(MEMCG_CHARGE, &mut links) {
                return Err(LoadError::Fexit(unavailable.join("; ")));
            }
            if try_attach(SLOWPATH, &mut links) && nolock_allocator().is_none() { TracepointUse::Off } else { TracepointUse::Always }
        }
        AllocProbePolicy::Auto => {
            if try_attach(SLOWPATH, &mut links) && try_attach(MEMCG_CHARGE, &mut links) {
                match nolock_allocator() {
                    None => TracepointUse::Off,
                    Some(nolock) => {
                        unavailable.push(format!("{nolock} fails allocations outside the slow path, where fexit does not look"));
                        links.detach_all(ebpf);
                        TracepointUse::Always
                    }
                }
            } else {
                // Half a combination is not complete, and the tracepoint sees both causes.
                links.detach_all(ebpf);
                TracepointUse::Always
            }
        }
    };
    let fexit = links.functions();
    let hooks = FailureHooks {
        requested,
        tracepoint,
        probe_mode,
        complete: tracepoint != TracepointUse::OnPressure,
        fexit_unavailable: (!unavailable.is_empty()).then(|| unavailable.join("; ")),
        fexit,
    };
    Ok((hooks, links))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_missing_trampolines() {
        let e = program_error("", aya::programs::ProgramError::SyscallError(aya::sys::SyscallError { call: "bpf_link_create", io_error: std::io::Error::from_raw_os_error(libc::EPERM) }));
        assert!(explain(&e).contains("no BPF trampolines"), "{}", explain(&e));
    }
}
