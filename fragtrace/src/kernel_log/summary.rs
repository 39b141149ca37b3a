//! The human summary of `fragtrace dmesg`: groups, verdicts, call paths.

use std::{collections::BTreeMap, fmt::Write};

use serde_json::{Value, json};

use super::{
    analyze::{Analysis, Verdict},
    parse::ReportKind,
};

fn count(analyses: &[Analysis], kind: ReportKind) -> usize {
    analyses.iter().filter(|a| a.report.kind == kind).count()
}

/// (comm, order, mode).
type GroupKey = (String, Option<u32>, String);

/// (comm, order, mode) → (count, flags text).
fn groups(analyses: &[Analysis]) -> Vec<(GroupKey, usize, String)> {
    let mut map: BTreeMap<GroupKey, (usize, String)> = BTreeMap::new();
    for a in analyses.iter().filter(|a| a.report.kind == ReportKind::Failure) {
        let key = (a.report.comm.clone().unwrap_or_else(|| "?".into()), a.report.order, a.report.gfp_mask.clone().unwrap_or_else(|| "?".into()));
        let flags = match &a.gfp.guess {
            Some(g) if a.gfp.flags.is_empty() => format!("{} (best guess: {} era, {})", g.flags.join("|"), g.era, g.confidence),
            _ if a.gfp.flags.is_empty() => format!("({})", a.gfp.source),
            _ => format!("{} ({})", a.gfp.flags.join("|"), a.gfp.source),
        };
        let e = map.entry(key).or_insert((0, flags));
        e.0 += 1;
    }
    let mut v: Vec<_> = map.into_iter().map(|(k, (n, f))| (k, n, f)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn paths(analyses: &[Analysis]) -> Vec<(String, usize)> {
    let mut map: BTreeMap<String, usize> = BTreeMap::new();
    for a in analyses.iter().filter(|a| a.report.kind == ReportKind::Failure && !a.path.is_empty()) {
        *map.entry(a.path.join(" → ")).or_default() += 1;
    }
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The text summary. Names in kernel logs come from outside (a task can name itself
/// `ESC[2J`; a log file may hold anything): every line is made printable.
pub fn render(analyses: &[Analysis], source: &str) -> String {
    let text = render_raw(analyses, source);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(&crate::text::printable(line));
        out.push('\n');
    }
    out
}

fn render_raw(analyses: &[Analysis], source: &str) -> String {
    let mut out = String::new();
    let (f, s, o) = (count(analyses, ReportKind::Failure), count(analyses, ReportKind::Stall), count(analyses, ReportKind::Oom));
    let _ = writeln!(out, "{source}: {f} allocation failures, {s} allocation stalls, {o} OOM-killer reports");
    if analyses.is_empty() {
        let _ = writeln!(out, "(no page allocation failure, stall or OOM report found)");
        return out;
    }
    if f > 0 {
        let _ = writeln!(out, "\nFAILURES  {:>5}  {:<16} {:>5}  {:<10} FLAGS", "COUNT", "COMM", "ORDER", "MODE");
        for ((comm, order, mode), n, flags) in groups(analyses) {
            let order = order.map_or("?".into(), |o| o.to_string());
            let _ = writeln!(out, "          {n:>5}  {comm:<16} {order:>5}  {mode:<10} {flags}");
        }
        let _ = writeln!(out, "\nVERDICTS (from each report's own zone and buddy lines)");
        for a in analyses.iter().filter(|a| a.report.kind == ReportKind::Failure) {
            let Some(v) = &a.verdict else { continue };
            let name = match v.verdict {
                Verdict::Fragmentation => "fragmentation",
                Verdict::Exhaustion => "exhaustion",
                Verdict::Unknown => "unknown",
            };
            let _ = writeln!(
                out,
                "  line {:>6}  {:<16} order {:<2} {name:<13} {}",
                a.report.line,
                a.report.comm.as_deref().unwrap_or("?"),
                a.report.order.map_or("?".into(), |o| o.to_string()),
                v.reason
            );
        }
        known_causes(&mut out, analyses);
        let p = paths(analyses);
        if !p.is_empty() {
            let _ = writeln!(out, "\nCALL PATHS (who asked for the memory)");
            for (path, n) in p.iter().take(10) {
                let _ = writeln!(out, "  {n:>5}  {path}");
            }
        }
    }
    for a in analyses.iter().filter(|a| a.report.kind == ReportKind::Stall) {
        let _ = writeln!(
            out,
            "\nSTALL     line {}: {} waited {} ms for an order-{} allocation ({}) — a stall, not a failure",
            a.report.line,
            a.report.comm.as_deref().unwrap_or("?"),
            a.report.stall_ms.map_or("?".into(), |m| m.to_string()),
            a.report.order.map_or("?".into(), |o| o.to_string()),
            a.gfp.flags.join("|"),
        );
    }
    for a in analyses.iter().filter(|a| a.report.kind == ReportKind::Oom) {
        let oom = a.report.oom.as_ref();
        let victim = oom.and_then(|o| o.victim_comm.clone().map(|c| format!("{c} (pid {})", o.victim_pid.map_or("?".into(), |p| p.to_string())))).unwrap_or_else(|| "?".into());
        let constraint = oom.and_then(|o| o.constraint.clone()).unwrap_or_else(|| "?".into());
        let _ = writeln!(out, "\nOOM       line {}: {} invoked the OOM killer (order {}, {}); constraint {constraint}; killed {victim}", a.report.line, a.report.comm.as_deref().unwrap_or("?"), a.report.order.map_or("?".into(), |o| o.to_string()), a.gfp.flags.join("|"));
    }
    era_notes(&mut out, analyses);
    let ambiguous: Vec<&Analysis> = analyses.iter().filter(|a| !a.gfp.candidates.is_empty()).collect();
    if !ambiguous.is_empty() {
        let _ = writeln!(out, "\nAMBIGUOUS: the kernel version is not in the log, and these masks mean different flags in different kernels (pass --kernel VERSION):");
        for a in ambiguous {
            let _ = writeln!(out, "  line {} mode {}:", a.report.line, a.report.gfp_mask.as_deref().unwrap_or("?"));
            for c in &a.gfp.candidates {
                let _ = writeln!(out, "    {}:\n      {}", c.eras.join(", "), c.flags.join("|"));
            }
            if let Some(g) = &a.gfp.guess {
                let _ = writeln!(out, "    best guess: {} era: {} ({}: {})", g.era, g.flags.join("|"), g.confidence, g.reason);
            }
        }
    }
    out
}

/// Which GFP table was assumed and why (distribution builds, unknown RHEL 7 builds, …): each
/// note once, with the report lines it applies to.
fn era_notes(out: &mut String, analyses: &[Analysis]) {
    let mut notes: Vec<(&str, Vec<usize>)> = Vec::new();
    for a in analyses {
        let Some(note) = a.gfp.note.as_deref() else { continue };
        match notes.iter_mut().find(|(n, _)| *n == note) {
            Some((_, lines)) => lines.push(a.report.line),
            None => notes.push((note, vec![a.report.line])),
        }
    }
    for (note, lines) in notes {
        let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "\nGFP TABLE (line {}): {note}", lines.join(", "));
    }
}

/// Failures whose known cause the catalogue names: each cause once, with its report lines.
fn known_causes(out: &mut String, analyses: &[Analysis]) {
    let mut by_cause: BTreeMap<&str, (&crate::causes::Cause, Vec<usize>)> = BTreeMap::new();
    for a in analyses {
        if let Some(c) = a.cause {
            by_cause.entry(c.id.as_str()).or_insert((c, Vec::new())).1.push(a.report.line);
        }
    }
    if by_cause.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nKNOWN CAUSES (fragtrace/causes.toml)");
    for (id, (c, lines)) in by_cause {
        let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
        let _ = writeln!(out, "  {id}: {} (line {})", c.title, lines.join(", "));
        let _ = writeln!(out, "    why: {}", c.explanation);
        if !c.fixed_in.is_empty() {
            let _ = writeln!(out, "    fixed in: {}", c.fixed_in);
        }
        let _ = writeln!(out, "    remedy: {}", c.remedy);
    }
}

/// The summary object ending `--json` / `--jsonl` output.
pub fn summary_json(analyses: &[Analysis]) -> Value {
    let verdicts = |v: Verdict| analyses.iter().filter(|a| a.verdict.as_ref().is_some_and(|x| x.verdict == v)).count();
    json!({
        "kind": "summary",
        "failures": count(analyses, ReportKind::Failure),
        "stalls": count(analyses, ReportKind::Stall),
        "ooms": count(analyses, ReportKind::Oom),
        "verdicts": {"fragmentation": verdicts(Verdict::Fragmentation), "exhaustion": verdicts(Verdict::Exhaustion), "unknown": verdicts(Verdict::Unknown)},
        "groups": groups(analyses).into_iter().map(|((comm, order, mode), n, flags)| json!({"comm": comm, "order": order, "gfp_mask": mode, "gfp": flags, "count": n})).collect::<Vec<_>>(),
        "paths": paths(analyses).into_iter().map(|(p, n)| json!({"path": p, "count": n})).collect::<Vec<_>>(),
        "causes": cause_counts(analyses),
    })
}

/// `[{"id": …, "title": …, "count": n}]`, most frequent first.
fn cause_counts(analyses: &[Analysis]) -> Value {
    let mut map: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for c in analyses.iter().filter_map(|a| a.cause) {
        map.entry(c.id.as_str()).or_insert((c.title.as_str(), 0)).1 += 1;
    }
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    Value::Array(v.into_iter().map(|(id, (title, n))| json!({"id": id, "title": title, "count": n})).collect())
}
