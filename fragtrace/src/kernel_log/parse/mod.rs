//! Kernel-log parser: page-allocation failures, allocation stalls and OOM kills, from any
//! kernel era and any log format, as [`Report`]s.
//!
//! Input is text as people have it: `dmesg` (plain, `-T`, `-x`), `/dev/kmsg` records, syslog
//! and journalctl files, rsyslog's `#012`-joined lines, mail-quoted and mail-wrapped reports,
//! markdown-indented snippets. Each line is first reduced to the kernel's own text; the
//! [`Parser`] then joins wrapped lines back together, finds report headers and reads each
//! report's body (task line, call trace, zone watermarks, buddy lists, OOM victims).
//!
//! Nothing here panics on any input, and the work per line is linear in its length (no regexes,
//! no backtracking), so a 100 MB log or a `dmesg --follow` stream is fine. [`parse`] is the
//! whole-text convenience; [`Parser`] is the streaming form.
//!
//! Decisions worth knowing:
//! - [`Report::call_trace`] is the reliable path: frames printed with `? ` (stale return
//!   addresses the unwinder found on the stack) are left out. When *every* frame is marked `?`
//!   (kernels without frame pointers, e.g. RHEL6), the path is all of them, since that is all
//!   there is. [`Report::frames`] keeps every frame with its module and reliability.
//! - Function names are kept as printed, compiler suffixes included (`warn_alloc.cold`,
//!   `__alloc_pages_slowpath.constprop.0`): they are the symbol names.
//! - Two identical headers back to back with nothing in between are one report printed twice
//!   (a copy duplicate, or concurrent CPUs whose lines cannot be told apart).
//! - A negative OOM `order=-1` (SysRq-f, memcg) is `order: None`.

mod body;
mod header;
mod normalize;
mod parser;
mod scan;

pub use parser::Parser;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// `page allocation failure`: the allocation returned NULL.
    Failure,
    /// `page allocation stalls for Nms` (4.9–4.14): slow, not failed.
    Stall,
    /// `invoked oom-killer` (or a lone `Killed process` line when the dump was rate-limited).
    Oom,
}

/// One zone from the Mem-Info dump: watermarks from `Node 0 Normal free:…kB min:… low:… high:…`
/// and free blocks from the buddy line `Node 0 Normal: 35*4kB (UME) 12*8kB … = 123kB`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZoneLine {
    /// `None` on non-NUMA kernels, which print `Normal free:` / `Normal:` with no `Node N`.
    pub node: Option<u32>,
    pub zone: String,
    pub free_kb: Option<u64>,
    pub min_kb: Option<u64>,
    pub low_kb: Option<u64>,
    pub high_kb: Option<u64>,
    /// Free blocks per order 0.. from the buddy line, in printed order.
    pub blocks: Vec<u64>,
    /// The buddy line's `= NkB` total.
    pub buddy_total_kb: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OomInfo {
    /// The process the OOM killer chose: from `oom-kill:…,task=,pid=` (5.x+), else the first
    /// `Killed process N (comm)`, else `Out of memory: Kill process N (comm) … or sacrifice child`.
    pub victim_pid: Option<u32>,
    pub victim_comm: Option<String>,
    /// `CONSTRAINT_NONE`, `CONSTRAINT_MEMCG`, `CONSTRAINT_CPUSET`, `CONSTRAINT_MEMORY_POLICY`.
    pub constraint: Option<String>,
    pub oom_memcg: Option<String>,
    pub task_memcg: Option<String>,
    /// Every `Killed process N (comm)`, first mention order, each process once (a
    /// `memory.oom.group` kill re-announces the victim).
    pub killed: Vec<(u32, String)>,
    /// The invoking task's `oom_score_adj=` from the header.
    pub oom_score_adj: Option<i64>,
}

/// One stack frame: `nf_conntrack_init_net+0xf1/0x260 [nf_conntrack]` →
/// `{function: "nf_conntrack_init_net", module: Some("nf_conntrack"), reliable: true}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub function: String,
    pub module: Option<String>,
    /// `false` for `? ` frames.
    pub reliable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub kind: ReportKind,
    /// The allocating task (OOM: the task that invoked the OOM killer).
    pub comm: Option<String>,
    /// From the `CPU: 1 PID: 123 Comm: x` / `Pid: N, comm: x` line, when its comm agrees.
    pub pid: Option<u32>,
    pub order: Option<u32>,
    /// Hex exactly as printed, e.g. `0x10c0d0`.
    pub gfp_mask: Option<String>,
    /// The names the kernel printed (`0x40cc0(GFP_KERNEL|__GFP_COMP)`); `None` for hex-only
    /// headers, which must be decoded with that kernel era's table.
    pub gfp_names: Option<Vec<String>>,
    /// `nodemask=` as printed (`(null)`, `0`, `0-1`).
    pub nodemask: Option<String>,
    /// From the task line: `Not tainted 5.10.2 #80` → `5.10.2`.
    pub kernel_release: Option<String>,
    pub hardware: Option<String>,
    pub cpuset: Option<String>,
    pub mems_allowed: Option<String>,
    /// Function names, innermost first, reliable frames only (see the module docs).
    pub call_trace: Vec<String>,
    /// Every frame, `? ` ones included.
    pub frames: Vec<Frame>,
    pub zones: Vec<ZoneLine>,
    /// 1-based input line of the report header (its first line, when wrapped).
    pub line: usize,
    /// `page allocation stalls for 209368ms` → 209368.
    pub stall_ms: Option<u64>,
    pub oom: Option<OomInfo>,
    /// As printed: `12345.678901`, a `dmesg -T` or syslog date; kmsg microseconds as seconds.
    pub timestamp: Option<String>,
    /// `warn_alloc: N callbacks suppressed` just before the header: N more reports like this
    /// one were rate-limited away.
    pub callbacks_suppressed: Option<u64>,
}

impl Report {
    pub(crate) fn new(kind: ReportKind, line: usize) -> Self {
        Report {
            kind,
            comm: None,
            pid: None,
            order: None,
            gfp_mask: None,
            gfp_names: None,
            nodemask: None,
            kernel_release: None,
            hardware: None,
            cpuset: None,
            mems_allowed: None,
            call_trace: Vec::new(),
            frames: Vec::new(),
            zones: Vec::new(),
            line,
            stall_ms: None,
            oom: (kind == ReportKind::Oom).then(OomInfo::default),
            timestamp: None,
            callbacks_suppressed: None,
        }
    }
}

/// Whole-text parse.
pub fn parse(text: &str) -> Vec<Report> {
    let mut parser = Parser::new();
    let mut reports: Vec<Report> = text.lines().flat_map(|line| parser.push_line(line)).collect();
    reports.extend(parser.finish());
    reports
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod robust_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod release_tests;
