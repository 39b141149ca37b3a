//! What the probes are and did, as plain values for every layer above the host facts: how
//! `mm_page_alloc` is hooked ([`ProbeMode`]), the `--alloc-probe` policy and the gate's state
//! ([`AllocProbePolicy`], [`AllocProbeState`]…), which programs watch failures
//! ([`FailureHooks`]) and what the loader learned about the kernel ([`KernelInfo`]).
//!
//! No eBPF loading here: sinks, views and recordings use these types without depending on
//! `probe`, which does the loading and attaching.

mod hooks;
mod kernel;
mod policy;

use serde::{Deserialize, Serialize};

pub use hooks::FailureHooks;
pub use kernel::{DEFAULT_PAGEBLOCK_ORDER, KernelInfo};
pub use policy::{AllocProbePolicy, AllocProbeState, ArmReason, TracepointUse};

/// How `mm_page_alloc` is hooked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeMode {
    /// BTF tracepoint (`tp_btf`): arguments read directly, ≈75 ns/call here. Needs kernel BTF.
    TpBtf,
    /// Classic tracepoint with field offsets from the format file, ≈125 ns/call. Any kernel.
    Classic,
}

impl std::fmt::Display for ProbeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProbeMode::TpBtf => "tp_btf",
            ProbeMode::Classic => "classic",
        })
    }
}
