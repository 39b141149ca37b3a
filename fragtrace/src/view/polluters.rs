//! "Who fragments": the extfrag polluter tables of a snapshot as JSON fields (`report
//! --json`, `top --json`) and as text lines (text report, capture's SUMMARY.md, doctor).

use serde_json::{Map, Value, json};

use crate::{
    aggregate::{HARM_FRAGMENTING, HARM_OTHER, HARM_STOLEN, HarmCounts, PollutersSnapshot},
    definitions::Definitions,
    host::kallsyms::is_allocator_frame,
};

/// The first frame that is neither allocator machinery nor the free-list code that falls
/// back (`__rmqueue_fallback`, `try_to_claim_block`, …): who asked for the memory.
pub fn fallback_caller(frames: &[String]) -> Option<&str> {
    const FREE_LIST: [&str; 6] = ["__rmqueue", "rmqueue", "get_page_from_freelist", "steal_suitable_fallback", "try_to_claim_block", "try_to_steal_block"];
    let inner = |f: &str| is_allocator_frame(f) || FREE_LIST.iter().any(|p| f.starts_with(p));
    frames.iter().map(String::as_str).find(|f| !inner(f)).or_else(|| frames.first().map(String::as_str))
}

fn counts(c: &HarmCounts) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("fallbacks".into(), json!(c.fallbacks()));
    m.insert("stolen".into(), json!(c.stolen));
    m.insert("fragmenting".into(), json!(c.fragmenting));
    m.insert("other".into(), json!(c.other));
    m.insert("harm".into(), json!(c.harm()));
    m
}

fn row(key: &[(&str, Value)], c: &HarmCounts) -> Value {
    let mut m = counts(c);
    for (k, v) in key {
        m.insert((*k).into(), v.clone());
    }
    Value::Object(m)
}

/// How stacks were sampled: `every` (a stack per this many fallbacks per CPU, null when
/// the recording predates extfrag stacks), `sampled` (fallbacks with a stack) of `fallbacks`.
pub fn stack_sampling(p: &PollutersSnapshot, fallbacks: u64, every: Option<u32>) -> Value {
    json!({
        "every": every,
        "sampled": p.stacks_sampled,
        "fallbacks": fallbacks,
        "note": match every {
            Some(n) => format!("stacks are a sample: every {n}th fallback on each CPU; every fallback is counted and attributed"),
            None => "this recording has no extfrag stacks".to_string(),
        },
    })
}

/// The `extfrag` fields `by_comm`, `by_cgroup`, `by_pod`, `stacks`, `stack_sampling` and
/// `harm_weights` (docs/json.md).
pub fn json_fields(p: &PollutersSnapshot, fallbacks: u64, stacks: &Definitions, every: Option<u32>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("harm_weights".into(), json!({"stolen": HARM_STOLEN, "fragmenting": HARM_FRAGMENTING, "other": HARM_OTHER}));
    m.insert("by_comm".into(), p.by_comm.iter().map(|c| row(&[("comm", json!(c.comm))], &c.counts)).collect());
    m.insert(
        "by_cgroup".into(),
        p.by_cgroup.iter().map(|c| row(&[("cgroup_id", json!(c.cgroup_id)), ("cgroup", json!(c.path))], &c.counts)).collect(),
    );
    m.insert("by_pod".into(), p.by_pod.iter().map(|c| row(&[("pod", json!(c.pod))], &c.counts)).collect());
    m.insert(
        "stacks".into(),
        p.stacks
            .iter()
            .map(|s| row(&[("stack", json!(stacks.stack(s.stack_id).as_deref().unwrap_or(&[])))], &s.counts))
            .collect(),
    );
    m.insert("stack_sampling".into(), stack_sampling(p, fallbacks, every));
    m
}

/// "alloc-trigger: harm 420 (40 stolen, 12 fragmenting, 3 other of 55)".
pub fn describe(name: &str, c: &HarmCounts) -> String {
    format!("{name}: harm {} ({} stolen, {} fragmenting, {} other of {} fallbacks)", c.harm(), c.stolen, c.fragmenting, c.other, c.fallbacks())
}

/// The most harmful comms, pods and stacks as lines of text, at most `limit` of each;
/// empty when no fallback was seen.
pub fn text_lines(p: &PollutersSnapshot, stacks: &Definitions, limit: usize) -> Vec<String> {
    let mut out: Vec<String> = p.by_comm.iter().take(limit).map(|c| format!("process {}", describe(&c.comm, &c.counts))).collect();
    out.extend(p.by_pod.iter().take(limit).map(|c| format!("pod {}", describe(&c.pod, &c.counts))));
    out.extend(p.stacks.iter().take(limit).map(|s| {
        let frames = stacks.stack(s.stack_id);
        let caller = frames.as_deref().and_then(fallback_caller).unwrap_or("?");
        format!("stack {}", describe(caller, &s.counts))
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{CommPolluter, StackPolluter};

    #[test]
    fn fields_and_lines() {
        let c = HarmCounts { stolen: 2, fragmenting: 1, other: 1 };
        let p = PollutersSnapshot {
            by_comm: vec![CommPolluter { comm: "alloc-trigger".into(), counts: c }],
            stacks: vec![StackPolluter { stack_id: 1 << 31 | 2, counts: c }],
            stacks_sampled: 1,
            ..Default::default()
        };
        let defs = Definitions::new();
        defs.define_stack(1 << 31 | 2, &["__rmqueue".into(), "pipe_write".into()]);
        let m = json_fields(&p, 4, &defs, Some(8));
        assert_eq!(m["by_comm"][0], json!({"comm": "alloc-trigger", "fallbacks": 4, "stolen": 2, "fragmenting": 1, "other": 1, "harm": 24}));
        assert_eq!(m["stacks"][0]["stack"], json!(["__rmqueue", "pipe_write"]));
        assert_eq!((m["stack_sampling"]["every"].clone(), m["stack_sampling"]["sampled"].clone()), (json!(8), json!(1)));
        assert_eq!(text_lines(&p, &defs, 3), vec![
            "process alloc-trigger: harm 24 (2 stolen, 1 fragmenting, 1 other of 4 fallbacks)".to_string(),
            "stack pipe_write: harm 24 (2 stolen, 1 fragmenting, 1 other of 4 fallbacks)".to_string(),
        ]);
    }
}
