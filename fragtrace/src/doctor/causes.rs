//! Known causes (fragtrace/causes.toml) of the failures the doctor saw: those the probes
//! caught while sampling, and those the kernel log reports.

use std::{collections::BTreeMap, fmt::Write};

use serde::Serialize;

use crate::{
    aggregate::Snapshot,
    causes::{Cause, of_group},
    definitions::Definitions,
    gfp::GfpTable,
    kernel_log::Analysis,
};

/// One known cause and the failures it explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CauseFinding {
    pub id: String,
    pub title: String,
    pub fixed_in: Option<String>,
    pub remedy: String,
    /// `live` (caught while sampling) or `kernel log`.
    pub source: &'static str,
    pub failures: u64,
    /// The processes that failed this way, most frequent first.
    pub comms: Vec<String>,
}

fn collect<'a>(found: impl Iterator<Item = (&'static Cause, &'a str, u64)>, source: &'static str) -> Vec<CauseFinding> {
    let mut by_id: BTreeMap<&str, (&Cause, u64, BTreeMap<&str, u64>)> = BTreeMap::new();
    for (cause, comm, n) in found {
        let entry = by_id.entry(cause.id.as_str()).or_insert((cause, 0, BTreeMap::new()));
        entry.1 += n;
        *entry.2.entry(comm).or_default() += n;
    }
    let mut out: Vec<CauseFinding> = by_id
        .into_values()
        .map(|(c, failures, comms)| {
            let mut comms: Vec<(&str, u64)> = comms.into_iter().collect();
            comms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            CauseFinding {
                id: c.id.clone(),
                title: c.title.clone(),
                fixed_in: (!c.fixed_in.is_empty()).then(|| c.fixed_in.clone()),
                remedy: c.remedy.clone(),
                source,
                failures,
                comms: comms.into_iter().take(5).map(|(c, _)| c.to_string()).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.id.cmp(&b.id)));
    out
}

/// The causes of the failure groups the probes caught (each group by its most frequent stack).
pub fn from_snapshot(snapshot: &Snapshot, definitions: &Definitions, gfp: &GfpTable) -> Vec<CauseFinding> {
    let found = snapshot.groups.iter().filter_map(|g| {
        let stack = g.top_stack.and_then(|id| definitions.stack(id));
        of_group(&g.comm, g.order, g.gfp_mask, stack.as_deref(), gfp).map(|c| (c, g.comm.as_str(), g.count))
    });
    collect(found, "live")
}

/// The causes of the failure reports in the kernel log.
pub fn from_kernel_log(analyses: &[Analysis]) -> Vec<CauseFinding> {
    collect(analyses.iter().filter_map(|a| a.cause.map(|c| (c, a.report.comm.as_deref().unwrap_or("?"), 1))), "kernel log")
}

/// The doctor's text section; empty when nothing matched.
pub fn render(findings: &[CauseFinding]) -> String {
    let mut out = String::new();
    if findings.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nKNOWN CAUSES of recent failures (fragtrace/causes.toml)");
    for f in findings {
        let source = if f.source == "live" { "caught while sampling" } else { "in the kernel log" };
        let _ = writeln!(out, "  • {} ({}): {} failure(s) {source}, by {}", f.title, f.id, f.failures, f.comms.join(", "));
        if let Some(fixed) = &f.fixed_in {
            let _ = writeln!(out, "    fixed in: {fixed}");
        }
        let _ = writeln!(out, "    remedy: {}", f.remedy);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel_log::{
        analyze::{EraChoice, analyze},
        parse::parse,
    };

    #[test]
    fn kernel_log_failures_are_summed_per_cause() {
        let path = format!("{}/testdata/kernel-logs/15-arm64-5.10.2-cat-proc_sys-kmalloc-order5-lxc-and-order6.log", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture");
        let analyses: Vec<Analysis> = parse(&text).into_iter().map(|r| analyze(r, &EraChoice::Auto { fallback: None })).collect();
        let found = from_kernel_log(&analyses);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].id.as_str(), found[0].failures, found[0].comms.clone()), ("proc-sysctl-large-read", 2, vec!["cat".to_string()]));
        let text = render(&found);
        assert!(text.contains("KNOWN CAUSES") && text.contains("2 failure(s) in the kernel log, by cat") && text.contains("remedy:"), "{text}");
        assert!(render(&[]).is_empty());
    }
}
