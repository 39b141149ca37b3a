//! One kernel-log report → its GFP flags decoded for the right kernel era, the call path
//! that asked for memory, and (failures) a verdict from its own zone and buddy lines.

use serde::Serialize;
use serde_json::{Value, json};

use super::parse::{Report, ReportKind, ZoneLine};
use crate::{
    causes::Cause,
    gfp::{GfpTable, eras::{Era, EraGuess, EraMatch, best_guess, decode_all}},
    host::kallsyms::is_allocator_frame,
};

/// How hex masks without printed names are decoded.
#[derive(Clone, Debug)]
pub enum EraChoice {
    /// `--kernel VERSION`.
    Fixed(Era),
    /// `--kernel VERSION`, with the note that says when the table is an assumption (a
    /// distribution build read with an upstream table).
    Given(EraMatch),
    /// Reading the live log: a report naming another kernel (e.g. written into the log by a
    /// tool) decodes for that kernel; every other one with the running kernel's own table.
    Running(GfpTable),
    /// From the report's kernel release, else `fallback` (the log's other reports).
    Auto { fallback: Option<Era> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The oldest era with this reading.
    pub era: &'static str,
    /// Every era with this reading, oldest first.
    pub eras: Vec<&'static str>,
    pub flags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GfpDecode {
    pub flags: Vec<String>,
    /// `printed`, `table:<era>`, `running`, or `unknown`.
    pub source: String,
    /// When the era is unknown: every distinct decode, so the ambiguity is visible.
    pub candidates: Vec<Candidate>,
    /// When the era is unknown: the most plausible era's decode, marked as a guess.
    pub guess: Option<EraGuess>,
    /// Which table was used and why, when that is an assumption (`EraMatch::note`).
    pub note: Option<String>,
}

impl GfpDecode {
    fn plain(flags: Vec<String>, source: &str) -> Self {
        GfpDecode { flags, source: source.into(), candidates: Vec::new(), guess: None, note: None }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Free memory existed in the usable zones, none in blocks of the failing order or above.
    Fragmentation,
    /// Little free memory at all.
    Exhaustion,
    /// The report has no zone/buddy lines to tell.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerdictInfo {
    pub verdict: Verdict,
    pub reason: String,
    /// Free memory in the zones the allocation could use.
    pub free_kb: u64,
    pub blocks_at_or_above_order: u64,
    pub largest_free_order: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Analysis {
    pub report: Report,
    pub gfp: GfpDecode,
    pub verdict: Option<VerdictInfo>,
    /// Callers that asked for memory, outermost first (`nf_conntrack_init_net →
    /// kmem_cache_create`).
    pub path: Vec<String>,
    /// Failures: the known cause from the catalogue (`causes.toml`), if one matches.
    pub cause: Option<&'static Cause>,
}

fn parse_mask(hex: &str) -> Option<u64> {
    u64::from_str_radix(hex.trim().trim_start_matches("0x").trim_start_matches("0X"), 16).ok()
}

pub fn decode_gfp(report: &Report, choice: &EraChoice) -> GfpDecode {
    if let Some(names) = report.gfp_names.as_ref().filter(|n| !n.is_empty()) {
        return GfpDecode::plain(names.clone(), "printed");
    }
    let Some(mask) = report.gfp_mask.as_deref().and_then(parse_mask) else {
        return GfpDecode::plain(Vec::new(), "unknown");
    };
    let own = report.kernel_release.as_deref().and_then(Era::resolve);
    let chosen = match choice {
        EraChoice::Running(table) => match own {
            Some(m) if report.kernel_release.as_deref() != Some(crate::host::system::kernel_release().as_str()) => Some(m),
            _ => return GfpDecode::plain(table.decode(mask), "running"),
        },
        EraChoice::Fixed(era) => Some(EraMatch { era: *era, note: None }),
        EraChoice::Given(m) => Some(m.clone()),
        EraChoice::Auto { fallback } => own.or(fallback.map(|era| EraMatch { era, note: None })),
    };
    match chosen {
        Some(EraMatch { era, note }) => GfpDecode { note, ..GfpDecode::plain(era.decode(mask), &format!("table:{}", era.label())) },
        None => {
            let mut candidates: Vec<Candidate> = Vec::new();
            for (era, flags, rest) in decode_all(mask) {
                let flags: Vec<String> = flags.into_iter().chain((rest != 0).then(|| format!("{rest:#x}"))).collect();
                match candidates.iter_mut().find(|c| c.flags == flags) {
                    Some(c) => c.eras.push(era.label()),
                    None => candidates.push(Candidate { era: era.label(), eras: vec![era.label()], flags }),
                }
            }
            let guess = best_guess(mask, report.gfp_names.is_none());
            GfpDecode { candidates, guess, ..GfpDecode::plain(Vec::new(), "unknown") }
        }
    }
}

/// The zones an allocation with these flags may use: DMA only when it asked for DMA.
fn usable<'a>(zones: &'a [ZoneLine], flags: &[String]) -> Vec<&'a ZoneLine> {
    let wants_dma = flags.iter().any(|f| f == "__GFP_DMA" || f == "GFP_DMA");
    zones.iter().filter(|z| wants_dma || !z.zone.eq_ignore_ascii_case("DMA")).collect()
}

pub fn verdict(report: &Report, flags: &[String]) -> VerdictInfo {
    let order = report.order.unwrap_or(0);
    let zones = usable(&report.zones, flags);
    if zones.is_empty() {
        return VerdictInfo { verdict: Verdict::Unknown, reason: "the report has no zone lines".into(), free_kb: 0, blocks_at_or_above_order: 0, largest_free_order: None };
    }
    let free_kb: u64 = zones.iter().map(|z| z.free_kb.or(z.buddy_total_kb).unwrap_or(0)).fold(0, u64::saturating_add);
    let high_kb: u64 = zones.iter().filter_map(|z| z.high_kb).fold(0, u64::saturating_add);
    let at_or_above: u64 = zones.iter().flat_map(|z| z.blocks.iter().skip(order as usize).copied()).fold(0, u64::saturating_add);
    let largest = zones.iter().filter_map(|z| z.blocks.iter().rposition(|&n| n > 0)).max().map(|o| o as u32);
    let have_buddy = zones.iter().any(|z| !z.blocks.is_empty());
    // Saturating throughout: orders and counts come from the log (fuzzing found `order:60`).
    let kb = |n: u64, order: usize| crate::host::buddyinfo::blocks_to_pages(n, order as u32).saturating_mul(4);
    let request_kb = kb(1, order as usize);
    // kB in blocks of at least `order` (buddy lines count 4 KiB pages per order).
    let big_kb: u64 = zones
        .iter()
        .flat_map(|z| z.blocks.iter().enumerate().skip(order as usize).map(|(o, n)| kb(*n, o)))
        .fold(0u64, u64::saturating_add);
    let (verdict, reason) = if !have_buddy {
        (Verdict::Unknown, format!("{free_kb} kB free in the usable zones, but no buddy lines say in which block sizes"))
    } else if order == 0 {
        // Any free page serves order 0: its failure is never fragmentation.
        (Verdict::Exhaustion, format!("order 0 needs any free page: {free_kb} kB free was still below what the watermarks allow this allocation (high watermarks {high_kb} kB)"))
    } else if free_kb < request_kb.saturating_mul(4) || (high_kb > 0 && free_kb <= high_kb) {
        (Verdict::Exhaustion, format!("only {free_kb} kB free in the usable zones (high watermarks {high_kb} kB): too little memory at all"))
    } else if at_or_above == 0 {
        let largest_text = largest.map_or("none".to_string(), |o| format!("order {o} ({} kB)", kb(1, o as usize)));
        (Verdict::Fragmentation, format!("{free_kb} kB free in the usable zones, none in blocks of order ≥ {order}; the largest free block is {largest_text}"))
    } else {
        // A few big blocks existed, but the watermark check at this order (which discounts
        // the smaller blocks and the reserves) still failed: free memory is in pieces.
        (
            Verdict::Fragmentation,
            format!(
                "{free_kb} kB free in the usable zones, only {big_kb} kB of it ({at_or_above} blocks) of order ≥ {order}: too little for the watermark check at this order"
            ),
        )
    };
    VerdictInfo { verdict, reason, free_kb, blocks_at_or_above_order: at_or_above, largest_free_order: largest }
}

/// The frames that asked for memory, outermost first, at most `depth`.
pub fn call_path(trace: &[String], depth: usize) -> Vec<String> {
    let mut callers: Vec<String> = trace.iter().filter(|f| !is_allocator_frame(f)).take(depth).cloned().collect();
    callers.reverse();
    callers
}

pub fn analyze(report: Report, choice: &EraChoice) -> Analysis {
    let gfp = decode_gfp(&report, choice);
    let verdict = (report.kind == ReportKind::Failure).then(|| verdict(&report, &gfp.flags));
    let path = call_path(&report.call_trace, 2);
    let cause = (report.kind == ReportKind::Failure).then(|| super::cause::of(&report, &gfp, choice)).flatten();
    Analysis { report, gfp, verdict, path, cause }
}

impl Analysis {
    /// The JSON object of `fragtrace dmesg --json/--jsonl` (docs/json.md).
    pub fn to_json(&self) -> Value {
        let r = &self.report;
        json!({
            "kind": r.kind,
            "comm": r.comm,
            "pid": r.pid,
            "order": r.order,
            "gfp_mask": r.gfp_mask,
            "gfp_flags": self.gfp.flags,
            "gfp_source": self.gfp.source,
            "gfp_candidates": self.gfp.candidates,
            "gfp_era_guess": self.gfp.guess,
            "era_note": self.gfp.note,
            "kernel_release": r.kernel_release,
            "cpuset": r.cpuset,
            "mems_allowed": r.mems_allowed,
            "call_trace": r.call_trace,
            "path": self.path,
            "zones": r.zones,
            "line": r.line,
            "timestamp": r.timestamp,
            "stall_ms": r.stall_ms,
            "oom": r.oom,
            "verdict": self.verdict,
            "cause": crate::causes::to_json(self.cause),
        })
    }
}

#[cfg(test)]
mod tests {

    /// Inputs that crashed `cargo xtask fuzz` once (testdata/fuzz): they must analyse, not
    /// panic.
    #[test]
    fn fuzz_regressions_analyse_without_panicking() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz");
        for name in ["kernel_log-order60", "buddyinfo-huge"] {
            let text = String::from_utf8_lossy(&std::fs::read(dir.join(name)).expect("fixture")).into_owned();
            for report in crate::kernel_log::parse::parse(&text) {
                let _ = analyze(report, &EraChoice::Auto { fallback: None }).to_json();
            }
            for zone in crate::host::buddyinfo::parse(&text) {
                let _ = (zone.free_pages(), zone.indices(4));
            }
        }
    }
    use super::*;
    use crate::kernel_log::parse::parse;

    fn one(fixture: &str, choice: &EraChoice) -> Vec<Analysis> {
        let path = format!("{}/testdata/kernel-logs/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        parse(&text).into_iter().map(|r| analyze(r, choice)).collect()
    }

    #[test]
    fn hex_masks_decode_for_the_reports_own_kernel() {
        let a = one("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log", &EraChoice::Auto { fallback: None });
        // 3.10.0-957 (RHEL 7.6) still has __GFP_KMEMCG, printed as 3.10 spelled it; the build
        // was not transcribed itself, which the note says.
        assert_eq!(a[0].gfp.flags, ["GFP_KERNEL", "GFP_COMP", "GFP_ZERO", "GFP_KMEMCG"]);
        assert_eq!(a[0].gfp.source, "table:RHEL 7.0–7.7 (3.10.0-123…1062)");
        assert!(a[0].gfp.note.as_deref().is_some_and(|n| n.contains("build 957")), "{:?}", a[0].gfp.note);
        let printed = one("13-6.7.0-kworker-atlantic-resume-kmalloc-large-order6.FRAGMENT.log", &EraChoice::Fixed(Era::V3_10));
        assert_eq!(printed[0].gfp.source, "printed", "printed names win over --kernel");
    }

    #[test]
    fn without_a_version_every_candidate_is_shown() {
        let a = one("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log", &EraChoice::Auto { fallback: None });
        assert_eq!(a[0].gfp.source, "unknown");
        assert!(a[0].gfp.candidates.len() >= 3, "{:?}", a[0].gfp.candidates);
        assert!(a[0].gfp.candidates.iter().any(|c| c.era == "3.8–3.14" && c.flags.contains(&"GFP_KMEMCG".to_string())));
        // 0x100000 unnamed: 2.6.38–3.7, 3.15–4.0 and RHEL 7.8+ read it alike (one candidate).
        assert!(a[0].gfp.candidates.iter().any(|c| c.flags.contains(&"0x100000".to_string())));
        let fixed = one("39-tke-doc-mysqld-order4-and-runc-order6-0x10c0d0.ONELINERS.log", &EraChoice::Fixed(Era::V3_10));
        assert_eq!(fixed[1].gfp.flags, ["GFP_KERNEL", "GFP_COMP", "GFP_ZERO", "GFP_KMEMCG"]);
    }

    #[test]
    fn verdicts_come_from_the_reports_own_buddy_lines() {
        let auto = EraChoice::Auto { fallback: None };
        let frag = one("07-mips-ingenic-5.8.0-containerd-shim-order4-and-kswapd0-order0.QUOTED.log", &auto);
        let v = frag[0].verdict.as_ref().expect("failure verdict");
        assert_eq!(v.verdict, Verdict::Fragmentation);
        assert_eq!((v.blocks_at_or_above_order, v.largest_free_order), (0, Some(3)));
        let order0 = frag[1].verdict.as_ref().expect("verdict");
        assert_eq!(order0.verdict, Verdict::Exhaustion, "order 0 is never fragmentation");
        let nc = one("03-centos7-3.10.0-957-runc-nf_conntrack-order5.log", &auto);
        assert_eq!(nc[0].verdict.as_ref().map(|v| v.verdict), Some(Verdict::Fragmentation), "448 MB free, 384 kB of it in order ≥ 5 blocks");
        assert_eq!(nc[0].path, ["kmem_cache_create_memcg", "memcg_alloc_cache_params"]);
        let none = one("13-6.7.0-kworker-atlantic-resume-kmalloc-large-order6.FRAGMENT.log", &auto);
        assert_eq!(none[0].verdict.as_ref().map(|v| v.verdict), Some(Verdict::Unknown));
        let stall = one("12-linux-next-4.12-c.out-page-allocation-STALLS-xfs.VARIANT.log", &auto);
        assert!(stall.iter().all(|a| a.verdict.is_none()), "stalls get no failure verdict");
    }
}
