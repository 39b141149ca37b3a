//! SUMMARY.md's "Known cause" section: the catalogue entry (fragtrace/causes.toml) that
//! matches the triggering failure, or a line saying none does.

use std::fmt::Write;

use super::summary::IncidentFacts;

pub fn section(f: &IncidentFacts<'_>) -> String {
    let mut out = String::from("## Known cause\n\n");
    let Some(c) = crate::causes::of_failure(f.trigger, f.stack, f.gfp) else {
        out.push_str("None of fragtrace's known causes matches this failure.\n\n");
        return out;
    };
    let _ = writeln!(out, "**{}** (`{}`)\n", c.title, c.id);
    let _ = writeln!(out, "{}\n", c.explanation);
    if !c.fixed_in.is_empty() {
        let _ = writeln!(out, "- fixed in: {}", c.fixed_in);
    }
    let _ = writeln!(out, "- remedy: {}", c.remedy);
    let _ = writeln!(out, "- references: {}\n", c.references.join("; "));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        capture::summary::WindowStats,
        event::{Failure, Task},
        gfp::eras::Era,
    };

    fn facts<'a>(trigger: &'a Failure, stack: &'a [String], gfp: &'a crate::gfp::GfpTable, window: &'a WindowStats) -> IncidentFacts<'a> {
        IncidentFacts {
            host: "h",
            kernel: "6.18",
            when: "2026-12-05T10:00:00Z",
            trigger,
            gfp,
            stack: Some(stack),
            cgroup_path: None,
            identity: Vec::new(),
            zones: &[],
            page_size: 4096,
            sysctls: &[],
            window,
            memcg: &[],
        }
    }

    #[test]
    fn a_pipe_resize_names_its_cause_and_an_unknown_path_says_none() {
        let trigger = Failure {
            task: Task { ts_ns: 1, cpu: 0, pid: 9, tgid: 9, cgroup_id: 1, comm: "alloc-trigger".into() },
            order: 6,
            gfp_mask: 0x440cc0,
            migratetype: 0,
            stack_id: Some(1),
            ancestry: Vec::new(),
            captured_cgroup: None,
            hook: Default::default(),
        };
        let (gfp, window) = (Era::V5_1.table(), WindowStats::default());
        let stack = vec!["__kmalloc_large_noprof".to_string(), "pipe_resize_ring".into(), "pipe_fcntl".into()];
        let text = section(&facts(&trigger, &stack, &gfp, &window));
        assert!(text.contains("## Known cause") && text.contains("(`pipe-resize-memcg`)") && text.contains("- remedy: Raise"), "{text}");
        let other = vec!["do_sys_open".to_string()];
        assert!(section(&facts(&trigger, &other, &gfp, &window)).contains("None of fragtrace's known causes"));
    }
}
