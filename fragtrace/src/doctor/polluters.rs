//! The doctor's "who fragments" part: the processes, pods and stacks behind the extfrag
//! fallbacks of its sampling window, or where to look when it sampled without the probes.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::{aggregate::Snapshot, definitions::Definitions, view::polluters};

/// Rows of each kind shown.
const SHOWN: usize = 3;

/// Without the probes, where the answer is.
const WHERE_TO_LOOK: &str = "extfrag fallbacks are attributed only with the probes (root): `sudo fragtrace top` (the \"Who fragments\" pane) or `sudo fragtrace record -o f.ftr` then `fragtrace report --json f.ftr` (`extfrag.by_comm`)";

/// `None` for the snapshot: the doctor sampled without the probes.
pub fn text(snapshot: Option<&Snapshot>, stacks: &Definitions, window_s: f64) -> String {
    let mut out = String::from("\nWHO FRAGMENTS (extfrag fallbacks while sampling, most harmful first)\n");
    match snapshot {
        None => {
            let _ = writeln!(out, "  {WHERE_TO_LOOK}");
        }
        Some(s) if s.extfrag == 0 => {
            let _ = writeln!(out, "  no extfrag fallbacks in {window_s:.0} s: nothing was stealing pageblocks meanwhile");
        }
        Some(s) => {
            for line in polluters::text_lines(&s.polluters, stacks, SHOWN) {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// The same for `--json`: `null` without the probes, else the report's `extfrag` fields.
pub fn json(snapshot: Option<&Snapshot>, stacks: &Definitions) -> Value {
    match snapshot {
        None => json!({"collected": false, "where_to_look": WHERE_TO_LOOK}),
        Some(s) => {
            let mut m = polluters::json_fields(&s.polluters, s.extfrag, stacks, Some(crate::event::EXTFRAG_STACK_EVERY));
            m.insert("collected".into(), json!(true));
            m.insert("fallbacks".into(), json!(s.extfrag));
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CommPolluter, HarmCounts};

    #[test]
    fn says_who_or_where_to_look() {
        let defs = Definitions::new();
        assert!(text(None, &defs, 10.0).contains("sudo fragtrace top"));
        assert!(text(Some(&Snapshot::default()), &defs, 10.0).contains("no extfrag fallbacks in 10 s"));
        let mut s = Snapshot { extfrag: 3, ..Default::default() };
        s.polluters.by_comm = vec![CommPolluter { comm: "alloc-trigger".into(), counts: HarmCounts { stolen: 3, fragmenting: 0, other: 0 } }];
        let t = text(Some(&s), &defs, 10.0);
        assert!(t.contains("process alloc-trigger: harm 30 (3 stolen"), "{t}");
        assert_eq!(json(Some(&s), &defs)["by_comm"][0]["comm"], "alloc-trigger");
        assert_eq!(json(None, &defs)["collected"], false);
    }
}
