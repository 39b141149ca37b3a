//! What the matcher looks at, built from either a kernel-log report or a live failure.

use super::{
    catalogue::{Hook, Match},
    glob,
};
use crate::{
    event::{Failure, FailureHook},
    gfp::GfpTable,
};

/// A failure's GFP mask and how to read it: with the name table of the mask's own kernel (or
/// the running one) a flag is tested by its bits, so `__GFP_DIRECT_RECLAIM` is seen inside
/// `GFP_KERNEL`; without one, only the printed names are known.
#[derive(Clone, Copy, Debug, Default)]
pub struct GfpFacts<'a> {
    pub mask: Option<u64>,
    pub table: Option<&'a GfpTable>,
    pub names: &'a [String],
}

impl GfpFacts<'_> {
    /// Whether `flag` (a single flag or a composite name) is set.
    pub fn has(&self, flag: &str) -> bool {
        if let (Some(mask), Some(table)) = (self.mask, self.table) {
            let value = table.value_of(flag).or_else(|| flag.strip_prefix("__").and_then(|f| table.value_of(f)));
            return value.is_some_and(|v| v != 0 && mask & v == v);
        }
        // 2.6–3.x printed single flags without the leading `__` (`GFP_COMP`).
        self.names.iter().any(|n| n == flag || flag.strip_prefix("__") == Some(n.as_str()))
    }

    fn known(&self) -> bool {
        (self.mask.is_some() && self.table.is_some()) || !self.names.is_empty()
    }
}

/// One failure, as the catalogue's conditions see it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CauseInput<'a> {
    /// Stack frames, innermost first, as printed or symbolised (`veth_alloc_queues+0x25/0x80
    /// [veth]`, `pipe_resize_ring [kernel]`, or bare names).
    pub frames: &'a [String],
    pub comm: Option<&'a str>,
    pub order: Option<u32>,
    pub gfp: GfpFacts<'a>,
    /// `None` when it is not known what failed (a live failure seen by the tracepoint alone).
    pub hook: Option<Hook>,
    /// The kernel release (`uname -r`), when known.
    pub kernel: Option<&'a str>,
}

impl<'a> CauseInput<'a> {
    /// A live or recorded failure with its symbolised stack, its GFP mask read with `table`
    /// (the recording kernel's own).
    pub fn from_failure(failure: &'a Failure, frames: &'a [String], table: &'a GfpTable) -> Self {
        let hook = match failure.hook {
            FailureHook::MemcgCharge => Some(Hook::Memcg),
            FailureHook::PageAllocator => Some(Hook::Allocator),
            FailureHook::Tracepoint => None,
        };
        CauseInput {
            frames,
            comm: Some(&failure.task.comm),
            order: Some(failure.order),
            gfp: GfpFacts { mask: Some(failure.gfp_mask), table: Some(table), names: &[] },
            hook,
            kernel: None,
        }
    }

    /// Whether every condition of `m` holds.
    pub(super) fn meets(&self, m: &Match) -> bool {
        (m.frames.is_empty() || self.frames.iter().any(|f| frame_matches(f, &m.frames)))
            && m.comm.as_ref().is_none_or(|p| self.comm.is_some_and(|c| glob::matches(p, c)))
            && m.order.is_none_or(|[min, max]| self.order.is_some_and(|o| (min..=max).contains(&o)))
            && self.meets_gfp(m)
            && m.hook.is_none_or(|h| self.hook == Some(h))
            && m.kernel.as_ref().is_none_or(|range| self.kernel_within(range))
    }

    fn meets_gfp(&self, m: &Match) -> bool {
        if m.gfp_all.is_empty() && m.gfp_any.is_empty() && m.gfp_none.is_empty() {
            return true;
        }
        // A condition on flags cannot hold for a mask nobody can read.
        self.gfp.known()
            && m.gfp_all.iter().all(|f| self.gfp.has(f))
            && (m.gfp_any.is_empty() || m.gfp_any.iter().any(|f| self.gfp.has(f)))
            && !m.gfp_none.iter().any(|f| self.gfp.has(f))
    }

    /// Checked only when the release is known (a kernel log often does not name it).
    fn kernel_within(&self, [min, max]: &[String; 2]) -> bool {
        let Some(release) = self.kernel.and_then(version) else { return true };
        let above = min.is_empty() || version(min).is_some_and(|v| release >= v);
        // An upper bound without a patch level covers all its patch releases (4.6 ⊇ 4.6.7).
        let below = max.is_empty() || version(max).is_some_and(|(a, b, c)| release <= (a, b, if max.matches('.').count() < 2 { u32::MAX } else { c }));
        above && below
    }
}

/// `nf_conntrack_init_net+0xf1/0x260 [nf_conntrack]` → `nf_conntrack_init_net`; the pattern is
/// tried on that name and on it without compiler suffixes (`page_to_skb.isra.28`).
fn frame_matches(frame: &str, patterns: &[String]) -> bool {
    let frame = frame.trim_start_matches("? ").trim();
    let name = frame.split([' ', '+']).next().unwrap_or(frame);
    let base = name.split('.').next().unwrap_or(name);
    patterns.iter().any(|p| glob::matches(p, name) || glob::matches(p, base))
}

/// `3.10.0-957.el7` → (3, 10, 0); `4.6` → (4, 6, 0).
pub(super) fn version(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.trim().trim_start_matches('v');
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}
