//! Report headers and their fields, across the generations listed in the fixture INDEX:
//! `failure. order:N, mode:0x…` (≤3.x) and `failure: …` (3.10+); names in parentheses (4.6+);
//! `, nodemask=(null)` (4.10+); `,cpuset=…,mems_allowed=…` (4.18+, absent with CPUSETS=n);
//! `stalls for Nms` (4.9–4.14); `invoked oom-killer: gfp_mask=…, [nodemask=…, ]order=…,
//! oom_score_adj=…`.

use super::scan::{after, leading_hex, leading_i64, leading_u64, split_at_pat, value};
use super::{Report, ReportKind};

/// Field values can be pasted garbage; none legitimately comes near this.
const MAX_FIELD: usize = 4096;

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Header<'a> {
    pub kind: ReportKind,
    pub comm: Option<&'a str>,
    /// Everything after the keyword: the fields.
    pub tail: &'a str,
    pub stall_ms: Option<u64>,
}

pub(super) fn detect(t: &str) -> Option<Header<'_>> {
    if let Some((before, rest)) = split_at_pat(t, "page allocation ") {
        if let Some(tail) = rest.strip_prefix("failure") {
            // `failure.`/`failure:` then `order:`; a header wrapped right after the punctuation
            // gets its fields from continuation lines.
            let fields = tail.trim_start_matches(['.', ':']).trim_start();
            if !(fields.is_empty() || fields.starts_with("order")) {
                return None;
            }
            return Some(Header { kind: ReportKind::Failure, comm: comm_before(before), tail, stall_ms: None });
        }
        let (ms, tail) = leading_u64(rest.strip_prefix("stalls for ")?)?;
        let tail = tail.strip_prefix("ms")?;
        return Some(Header { kind: ReportKind::Stall, comm: comm_before(before), tail, stall_ms: Some(ms) });
    }
    let (before, tail) = split_at_pat(t, " invoked oom-killer:")?;
    Some(Header { kind: ReportKind::Oom, comm: comm_before(before.trim_end_matches(':')), tail, stall_ms: None })
}

/// `runc:[1:CHILD]: ` → `runc:[1:CHILD]`. Splitting on the keyword (not the first `:`) keeps
/// colons inside the comm; anything before a `: ` (an unstripped tag, another CPU's
/// fragment) is dropped.
fn comm_before(before: &str) -> Option<&str> {
    let before = before.trim_end();
    let before = before.strip_suffix(':').unwrap_or(before);
    let comm = before.rsplit(": ").next().unwrap_or(before).trim();
    (!comm.is_empty()).then_some(comm)
}

/// Fills the header fields found in `text` that the report does not have yet (so a
/// continuation line from another CPU cannot overwrite them).
pub(super) fn apply_fields(report: &mut Report, text: &str) {
    if report.order.is_none() {
        let order = after(text, "order:").or_else(|| after(text, "order="));
        // order=-1 (SysRq, memcg) is not an allocation order.
        report.order = order.and_then(|o| leading_i64(o)).and_then(|(n, _)| u32::try_from(n).ok());
    }
    if report.gfp_mask.is_none() {
        let mode = after(text, "mode:").or_else(|| after(text, "gfp_mask="));
        if let Some((hex, rest)) = mode.and_then(leading_hex) {
            report.gfp_mask = Some(hex.to_string());
            report.gfp_names = names(rest);
        }
    }
    let fields = [
        ("nodemask=", &mut report.nodemask),
        ("cpuset=", &mut report.cpuset),
        ("mems_allowed=", &mut report.mems_allowed),
    ];
    for (key, slot) in fields {
        if slot.is_none() {
            *slot = after(text, key).map(field_value).filter(|v| !v.is_empty());
        }
    }
    if let Some(oom) = report.oom.as_mut().filter(|o| o.oom_score_adj.is_none()) {
        oom.oom_score_adj = after(text, "oom_score_adj=").and_then(leading_i64).map(|(n, _)| n);
    }
}

/// `(GFP_KERNEL|__GFP_COMP)` → the names; `()` → empty; no parentheses → `None`.
fn names(rest: &str) -> Option<Vec<String>> {
    let (inside, _) = split_at_pat(rest.strip_prefix('(')?, ")")?;
    Some(inside.split('|').map(str::trim).filter(|n| !n.is_empty()).map(|n| super::scan::clip(n, 64)).collect())
}

/// `(null)` is one value even though `value` would stop at nothing here; others run to `,`.
fn field_value(s: &str) -> String {
    let v = if s.starts_with("(null)") { "(null)" } else { value(s) };
    super::scan::clip(v, MAX_FIELD)
}

/// Lines that continue a wrapped or interleaved header: `mode:…`, `, mode:…`, `nodemask=…`.
pub(super) fn is_continuation(t: &str) -> bool {
    let t = t.trim_start_matches([',', ' ']);
    ["mode:", "gfp_mask=", "nodemask=", "cpuset=", "order:", "order=", "mems_allowed="].iter().any(|k| t.starts_with(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Report {
        let h = detect(line).expect("header");
        let mut r = Report::new(h.kind, 1);
        apply_fields(&mut r, h.tail);
        r
    }

    #[test]
    fn header_generations() {
        let r = fields("mysqld: page allocation failure. order:4, mode:0x10c0d0");
        assert_eq!((r.order, r.gfp_mask.as_deref(), r.gfp_names), (Some(4), Some("0x10c0d0"), None));
        let line = "cat: page allocation failure: order:5, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), \
                    nodemask=(null),cpuset=lxc.payload.openwrt,mems_allowed=0";
        let r = fields(line);
        assert_eq!(r.gfp_names, Some(vec!["GFP_KERNEL".into(), "__GFP_COMP".into(), "__GFP_ZERO".into()]));
        assert_eq!(
            (r.nodemask.as_deref(), r.cpuset.as_deref(), r.mems_allowed.as_deref()),
            (Some("(null)"), Some("lxc.payload.openwrt"), Some("0"))
        );
        let r = fields(
            "httpd invoked oom-killer: gfp_mask=0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD), nodemask=0, order=0, oom_score_adj=-17",
        );
        assert_eq!((r.kind, r.order, r.nodemask.as_deref()), (ReportKind::Oom, Some(0), Some("0")));
        assert_eq!(r.oom.and_then(|o| o.oom_score_adj), Some(-17));
        let r = fields("sh invoked oom-killer: gfp_mask=0x0(), order=-1, oom_score_adj=0");
        assert_eq!((r.order, r.gfp_names), (None, Some(vec![])));
    }

    #[test]
    fn comms_and_kinds() {
        let h = detect("runc:[1:CHILD]: page allocation failure: order:6, mode:0x10c0d0").expect("header");
        assert_eq!(h.comm, Some("runc:[1:CHILD]"));
        let h = detect("c.out: page allocation stalls for 209368ms, order:0, mode:0x1604040").expect("stall");
        assert_eq!((h.kind, h.comm, h.stall_ms), (ReportKind::Stall, Some("c.out"), Some(209368)));
        assert_eq!(detect("page allocation failure: order:0 0000").map(|h| h.comm), Some(None));
        assert_eq!(detect("Re: page allocation failure in 2.6.34").map(|h| h.kind), None);
        assert_eq!(
            detect("swapper/12: swapper/20: page allocation failure: order:0").and_then(|h| h.comm),
            Some("swapper/20")
        );
    }

    #[test]
    fn continuations() {
        assert!(is_continuation(", mode:0x2080020(GFP_ATOMIC)"));
        assert!(is_continuation("nodemask=(null),cpuset=/,mems_allowed=0"));
        assert!(!is_continuation("Mem-Info:"));
    }
}
