//! JSON output. `JsonLines` streams one object per event, then a `summary` object
//! (`report --jsonl`); `report_document` is the whole aggregate report as one object
//! (`report --json`). Both schemas are documented in docs/json.md.

use std::io::Write;

use serde_json::{Value, json};

use crate::{
    definitions::Definitions,
    event::{Counters, Event, Task, migratetype_name},
    gfp::GfpTable,
    sink::{Sink, SinkError},
};

pub struct JsonLines<W: Write> {
    out: W,
    gfp: GfpTable,
    pageblock_order: u32,
    /// The stream's stacks, cgroups and workloads (see [`Sink::use_definitions`]).
    definitions: Definitions,
    events: u64,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, gfp: GfpTable, pageblock_order: u32) -> Self {
        Self { out, gfp, pageblock_order, definitions: Definitions::new(), events: 0 }
    }

    /// Looks ids up in `definitions` (as [`Sink::use_definitions`] does).
    pub fn with_definitions(mut self, definitions: &Definitions) -> Self {
        self.definitions = definitions.clone();
        self
    }

    fn task_fields(&self, task: &Task) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("ts_ns".into(), json!(task.ts_ns));
        m.insert("cpu".into(), json!(task.cpu));
        m.insert("pid".into(), json!(task.pid));
        m.insert("tgid".into(), json!(task.tgid));
        m.insert("comm".into(), json!(task.comm));
        m.insert("cgroup_id".into(), json!(task.cgroup_id));
        m.insert("cgroup".into(), json!(self.definitions.cgroup_path(task.cgroup_id).as_deref()));
        // Who, in Kubernetes terms (null outside containers or when unknown).
        let w = self.definitions.workload(task.cgroup_id);
        let c = w.as_deref().map(|w| &w.container);
        let p = w.as_deref().map(|w| &w.pod);
        m.insert("pod_uid".into(), json!(c.and_then(|c| c.pod_uid.clone()).or_else(|| p.and_then(|p| p.pod_uid.clone()))));
        m.insert("pod_name".into(), json!(p.and_then(|p| p.pod_name.clone())));
        m.insert("pod_namespace".into(), json!(p.and_then(|p| p.pod_namespace.clone())));
        m.insert("container_id".into(), json!(c.and_then(|c| c.container_id.clone())));
        m.insert("container_name".into(), json!(p.and_then(|p| p.container_name.clone())));
        m.insert("qos".into(), json!(c.and_then(|c| c.qos)));
        m.insert("runtime".into(), json!(c.and_then(|c| c.runtime).or_else(|| p.and_then(|p| p.runtime))));
        m
    }

    /// The JSON object for one event.
    pub fn to_json(&self, event: &Event) -> Value {
        match event {
            Event::Failure(f) => {
                let mut m = self.task_fields(&f.task);
                m.insert("kind".into(), json!("failure"));
                m.insert("order".into(), json!(f.order));
                m.insert("gfp_mask".into(), json!(format!("{:#x}", f.gfp_mask)));
                m.insert("gfp_flags".into(), json!(self.gfp.decode(f.gfp_mask)));
                m.insert("migratetype".into(), json!(f.migratetype));
                m.insert("migratetype_name".into(), json!(migratetype_name(f.migratetype)));
                m.insert("hook".into(), json!(f.hook));
                m.insert("container_starting".into(), json!(crate::identity::starting_task(&f.task.comm, &f.ancestry).is_some()));
                let stack = f.stack_id.and_then(|id| self.definitions.stack(id));
                m.insert("stack".into(), json!(stack.as_deref().unwrap_or(&[])));
                m.insert("cause".into(), crate::causes::failure_json(f, stack.as_deref(), &self.gfp));
                m.insert("ancestry".into(), json!(f.ancestry.iter().map(|a| json!({"pid": a.pid, "comm": a.comm})).collect::<Vec<_>>()));
                Value::Object(m)
            }
            Event::Extfrag(e) => {
                let mut m = self.task_fields(&e.task);
                m.insert("kind".into(), json!("extfrag"));
                // The common fields, so consumers can treat every event alike.
                m.insert("order".into(), json!(e.alloc_order));
                m.insert("gfp_mask".into(), Value::Null);
                m.insert("gfp_flags".into(), json!([]));
                m.insert("migratetype".into(), json!(e.alloc_migratetype));
                let stack = e.stack_id.and_then(|id| self.definitions.stack(id));
                m.insert("stack".into(), json!(stack.as_deref().unwrap_or(&[])));
                m.insert("alloc_order".into(), json!(e.alloc_order));
                m.insert("fallback_order".into(), json!(e.fallback_order));
                m.insert("alloc_migratetype".into(), json!(e.alloc_migratetype));
                m.insert("fallback_migratetype".into(), json!(e.fallback_migratetype));
                m.insert("alloc_migratetype_name".into(), json!(migratetype_name(e.alloc_migratetype)));
                m.insert("fallback_migratetype_name".into(), json!(migratetype_name(e.fallback_migratetype)));
                m.insert("change_ownership".into(), json!(e.change_ownership));
                m.insert("fragmenting".into(), json!(e.fragmenting(self.pageblock_order)));
                m.insert("severe".into(), json!(e.severe()));
                Value::Object(m)
            }
            Event::Stall(st) => {
                let mut m = self.task_fields(&st.task);
                m.insert("kind".into(), json!("stall"));
                m.insert("stall".into(), json!(st.kind));
                m.insert("order".into(), json!(st.order));
                m.insert("gfp_mask".into(), json!(format!("{:#x}", st.gfp_mask)));
                m.insert("gfp_flags".into(), json!(self.gfp.decode(st.gfp_mask)));
                m.insert("duration_us".into(), json!(st.duration_ns / 1000));
                m.insert("result".into(), json!(st.result));
                Value::Object(m)
            }
            Event::Oom(o) => {
                let mut m = self.task_fields(&o.task);
                m.insert("kind".into(), json!("oom"));
                m.insert("victim_pid".into(), json!(o.victim_pid));
                m.insert("victim_comm".into(), json!(o.victim_comm));
                m.insert("anon_rss_kb".into(), json!(o.anon_rss_kb));
                Value::Object(m)
            }
            Event::Lost(l) => json!({"kind": "lost", "ts_ns": l.ts_ns, "count": l.count}),
        }
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.events += 1;
        let value = self.to_json(event);
        serde_json::to_writer(&mut self.out, &value)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn finish(&mut self, c: &Counters) -> Result<(), SinkError> {
        let summary = json!({
            "kind": "summary",
            "events": self.events,
            "allocs_seen": c.allocs_seen,
            "failures": c.failures,
            "extfrag": c.extfrag,
            "dropped": c.dropped,
            "stack_errors": c.stack_errors,
        });
        serde_json::to_writer(&mut self.out, &summary)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }
}

/// Facts about the input shown at the top of a report.
pub struct ReportSource<'a> {
    pub files: Vec<String>,
    pub hostname: &'a str,
    pub kernel: &'a str,
    pub probe_mode: String,
    /// What watched failures (recordings made before fexit hooks: `None`).
    pub failure_hooks: Option<&'a crate::probe_status::FailureHooks>,
    pub start_wall_ns: u64,
    /// Seconds from the recording's start to its last record.
    pub span_s: f64,
    pub warnings: Vec<String>,
    pub clean_end: bool,
    /// Extfrag stacks were taken for every this-many-th fallback per CPU (`None`: no
    /// extfrag stacks, e.g. a recording made before them).
    pub extfrag_stack_every: Option<u32>,
}

/// The gate's history, and what watched failures: `hooks` (the programs), `watched_by` (in
/// words), `complete` (every failure from the first moment).
fn alloc_probe(summary: Option<&crate::aggregate::AllocProbeSummary>, hooks: Option<&crate::probe_status::FailureHooks>) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or(Value::Null);
    if let Some(h) = hooks {
        if !value.is_object() {
            value = json!({});
        }
        value["hooks"] = json!(h.label());
        value["watched_by"] = json!(h.describe());
        value["complete"] = json!(h.complete);
        value["resolved"] = json!(h.resolved().to_string());
        value["requested"] = json!(h.requested.to_string());
        value["fexit"] = json!(h.fexit);
        value["fexit_unavailable"] = json!(h.fexit_unavailable);
    }
    value
}

/// The aggregate report (`report --json`): the same tables as the text report.
pub fn report_document(
    source: &ReportSource<'_>,
    snapshot: &crate::aggregate::Snapshot,
    gfp: &GfpTable,
    stacks: &Definitions,
) -> Value {
    let s = snapshot;
    let groups: Vec<Value> = s
        .groups
        .iter()
        .map(|g| {
            json!({
                "comm": g.comm, "order": g.order, "gfp_mask": format!("{:#x}", g.gfp_mask),
                "gfp_flags": gfp.decode(g.gfp_mask), "count": g.count, "last_seen_ns": g.last_seen_ns,
                "top_stack": g.top_stack.and_then(|id| stacks.stack(id)).as_deref().unwrap_or(&[]),
                "cause": crate::causes::to_json(crate::causes::of_group(&g.comm, g.order, g.gfp_mask, g.top_stack.and_then(|id| stacks.stack(id)).as_deref(), gfp)),
            })
        })
        .collect();
    let by_order: serde_json::Map<String, Value> =
        s.by_order.iter().enumerate().filter(|(_, n)| **n > 0).map(|(o, n)| (o.to_string(), json!(n))).collect();
    let mut doc = json!({
        "kind": "report",
        "source": {
            "files": source.files, "hostname": source.hostname, "kernel": source.kernel,
            "probe_mode": source.probe_mode, "start_wall_ns": source.start_wall_ns, "span_s": source.span_s,
            "clean_end": source.clean_end, "warnings": source.warnings,
        },
        "counters": s.counters,
        "alloc_probe": alloc_probe(s.alloc_probe.as_ref(), source.failure_hooks),
        "failures": {
            "total": s.failures,
            "silent": s.silent_failures,
            "by_order": by_order,
            "by_hook": s.by_hook.iter().map(|(h, n)| (serde_json::to_value(h).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(), json!(n))).collect::<serde_json::Map<String, Value>>(),
            "by_gfp": s.by_gfp.iter().map(|(m, n)| json!({"gfp_mask": format!("{m:#x}"), "gfp_flags": gfp.decode(*m), "count": n})).collect::<Vec<_>>(),
            "by_comm": s.by_comm.iter().map(|(c, n)| json!({"comm": c, "count": n})).collect::<Vec<_>>(),
            "by_cgroup": s.by_cgroup.iter().map(|c| json!({"cgroup_id": c.cgroup_id, "cgroup": c.path, "count": c.count})).collect::<Vec<_>>(),
            "by_pod": s.by_pod.iter().map(|p| json!({"pod": p.pod, "count": p.count})).collect::<Vec<_>>(),
            "groups": groups,
        },
        "extfrag": {
            "total": s.extfrag,
            "fragmenting": s.extfrag_fragmenting,
            "severe": s.extfrag_severe,
            "by_migratetype": s.extfrag_groups.iter().map(|g| json!({
                "alloc_migratetype": migratetype_name(g.alloc_migratetype),
                "fallback_migratetype": migratetype_name(g.fallback_migratetype),
                "count": g.count, "fragmenting": g.fragmenting, "severe": g.severe,
            })).collect::<Vec<_>>(),
        },
        "stalls": s.stalls,
        "stalls_by_comm": s.stalls_by_comm.iter().map(|(c, us)| json!({"comm": c, "total_us": us})).collect::<Vec<_>>(),
        "oom_kills": {"total": s.oom_total, "recent": s.ooms},
        "dropped": s.lost,
        "zones": s.zones.iter().map(|z| json!({"node": z.node, "zone": z.zone, "free_blocks": z.free_blocks, "free_pages": z.free_pages()})).collect::<Vec<_>>(),
        "pageblocks": s.pageblocks.iter().map(crate::census::ZoneCensus::to_json).collect::<Vec<_>>(),
    });
    if let Some(extfrag) = doc["extfrag"].as_object_mut() {
        extfrag.extend(super::polluters::json_fields(&s.polluters, s.extfrag, stacks, source.extfrag_stack_every));
    }
    doc
}
