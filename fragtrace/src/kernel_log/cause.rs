//! A kernel-log failure report matched against the known-causes catalogue.

use super::{
    analyze::{EraChoice, GfpDecode},
    parse::Report,
};
use crate::{
    causes::{CauseInput, GfpFacts, Hook, find},
    gfp::{GfpTable, eras::Era},
};

/// The table that reads the report's mask: the one its flags were decoded with, else (names
/// printed, or no kernel named) the report's own era, else the era guess.
fn table_for(report: &Report, gfp: &GfpDecode, choice: &EraChoice) -> Option<GfpTable> {
    let own = report.kernel_release.as_deref().and_then(Era::for_release);
    let era = match choice {
        EraChoice::Running(table) if gfp.source == "running" => return Some(table.clone()),
        EraChoice::Fixed(era) if gfp.source != "printed" => Some(*era),
        EraChoice::Given(m) if gfp.source != "printed" => Some(m.era),
        EraChoice::Auto { fallback } => own.or(*fallback),
        _ => own,
    };
    era.or_else(|| gfp.guess.as_ref().map(|g| g.era_value)).map(Era::lookup_table)
}

/// The report's known cause. Every "page allocation failure" report comes from the page
/// allocator (`warn_alloc`): memory-cgroup charges fail without one.
pub(crate) fn of(report: &Report, gfp: &GfpDecode, choice: &EraChoice) -> Option<&'static crate::causes::Cause> {
    let mask = report.gfp_mask.as_deref().and_then(|m| u64::from_str_radix(m.trim().trim_start_matches("0x").trim_start_matches("0X"), 16).ok());
    let table = table_for(report, gfp, choice);
    // Kernels without frame pointers mark every frame `?`: then the frames are all there is.
    let all: Vec<String>;
    let frames = if report.call_trace.is_empty() {
        all = report.frames.iter().map(|f| f.function.clone()).collect();
        &all
    } else {
        &report.call_trace
    };
    let input = CauseInput {
        frames,
        comm: report.comm.as_deref(),
        order: report.order,
        gfp: GfpFacts { mask, table: table.as_ref(), names: &gfp.flags },
        hook: Some(Hook::Allocator),
        kernel: report.kernel_release.as_deref(),
    };
    find(&input)
}
