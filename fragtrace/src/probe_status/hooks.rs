//! What watches failures in a session, as the loader resolved `--alloc-probe`: recorded in
//! trace files and shown by the views.

use serde::{Deserialize, Serialize};

use super::{AllocProbePolicy, ProbeMode, TracepointUse};

/// What watches failures in this session, as recorded and shown (`report --json`
/// `alloc_probe.hooks`, the `top` header, `fragtrace_failure_hooks` on /metrics).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureHooks {
    /// `--alloc-probe` as given (or the command's default).
    pub requested: AllocProbePolicy,
    /// When `mm_page_alloc` is attached.
    pub tracepoint: TracepointUse,
    /// How `mm_page_alloc` is hooked when it is.
    pub probe_mode: ProbeMode,
    /// Kernel functions with an fexit program attached.
    pub fexit: Vec<String>,
    /// Every failure is seen from the first moment.
    pub complete: bool,
    /// Why fexit was not used or only partly (no trampolines, function not in BTF).
    pub fexit_unavailable: Option<String>,
}

impl FailureHooks {
    /// The policy in effect: `fexit`, `always` or `on-pressure` (never `auto`).
    pub fn resolved(&self) -> AllocProbePolicy {
        match self.tracepoint {
            TracepointUse::Off => AllocProbePolicy::Fexit,
            TracepointUse::OnPressure => AllocProbePolicy::OnPressure,
            TracepointUse::Always if self.fexit.is_empty() => AllocProbePolicy::Always,
            TracepointUse::Always => AllocProbePolicy::Fexit,
        }
    }

    /// For narrow places (the `top` header): `tp_btf`, `fexit`, `fexit+tp_btf`,
    /// `tp_btf on pressure (can miss)`.
    pub fn short(&self) -> String {
        match (self.tracepoint, self.fexit.is_empty()) {
            (TracepointUse::Off, _) => "fexit".into(),
            (TracepointUse::Always, true) => self.probe_mode.to_string(),
            (TracepointUse::Always, false) => format!("fexit+{}", self.probe_mode),
            (TracepointUse::OnPressure, _) => format!("{} on pressure (can miss)", self.probe_mode),
        }
    }

    /// A bounded label value: `fexit:__alloc_pages_slowpath,fexit:__memcg_kmem_charge_page`,
    /// `tp_btf:mm_page_alloc`.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = self.fexit.iter().map(|f| format!("fexit:{f}")).collect();
        if self.tracepoint != TracepointUse::Off {
            parts.push(format!("{}:mm_page_alloc", self.probe_mode));
        }
        parts.join(",")
    }

    /// "fexit __alloc_pages_slowpath + __memcg_kmem_charge_page",
    /// "tp_btf mm_page_alloc on every allocation", …
    pub fn describe(&self) -> String {
        let tracepoint = match self.tracepoint {
            TracepointUse::Always => Some(format!("{} mm_page_alloc on every allocation", self.probe_mode)),
            TracepointUse::OnPressure => Some(format!("{} mm_page_alloc on memory pressure", self.probe_mode)),
            TracepointUse::Off => None,
        };
        let fexit = (!self.fexit.is_empty()).then(|| format!("fexit {}", self.fexit.join(" + ")));
        let parts: Vec<String> = [fexit, tracepoint].into_iter().flatten().collect();
        let coverage = if self.complete { "every failure" } else { "may miss failures before memory pressure" };
        format!("{} ({coverage})", parts.join(" + "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(tracepoint: TracepointUse, fexit: &[&str]) -> FailureHooks {
        FailureHooks {
            requested: AllocProbePolicy::Auto,
            tracepoint,
            probe_mode: ProbeMode::TpBtf,
            fexit: fexit.iter().map(|s| s.to_string()).collect(),
            complete: tracepoint != TracepointUse::OnPressure,
            fexit_unavailable: None,
        }
    }

    #[test]
    fn describes_every_combination() {
        assert_eq!(
            hooks(TracepointUse::Off, &["__alloc_pages_slowpath", "__memcg_kmem_charge_page"]).describe(),
            "fexit __alloc_pages_slowpath + __memcg_kmem_charge_page (every failure)"
        );
        assert_eq!(hooks(TracepointUse::Always, &[]).describe(), "tp_btf mm_page_alloc on every allocation (every failure)");
        assert_eq!(
            hooks(TracepointUse::OnPressure, &["__memcg_kmem_charge_page"]).describe(),
            "fexit __memcg_kmem_charge_page + tp_btf mm_page_alloc on memory pressure (may miss failures before memory pressure)"
        );
    }

    #[test]
    fn short_forms_fit_the_top_header() {
        assert_eq!(hooks(TracepointUse::Off, &["__alloc_pages_slowpath", "__memcg_kmem_charge_page"]).short(), "fexit");
        assert_eq!(hooks(TracepointUse::Always, &[]).short(), "tp_btf");
        assert_eq!(hooks(TracepointUse::Always, &["__memcg_kmem_charge_page"]).short(), "fexit+tp_btf");
        assert_eq!(hooks(TracepointUse::OnPressure, &[]).short(), "tp_btf on pressure (can miss)");
    }
}
