//! JSON-lines output: one object per event, then a `summary` object.

use std::{collections::HashMap, io::Write, sync::Arc};

use serde_json::{Value, json};

use crate::{
    event::{Counters, Event, Task, migratetype_name},
    gfp::GfpTable,
    sink::{Sink, SinkError},
};

pub struct JsonLines<W: Write> {
    out: W,
    gfp: GfpTable,
    pageblock_order: u32,
    stacks: HashMap<u32, Arc<Vec<String>>>,
    events: u64,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, gfp: GfpTable, pageblock_order: u32) -> Self {
        Self { out, gfp, pageblock_order, stacks: HashMap::new(), events: 0 }
    }

    fn task_fields(task: &Task) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("ts_ns".into(), json!(task.ts_ns));
        m.insert("cpu".into(), json!(task.cpu));
        m.insert("pid".into(), json!(task.pid));
        m.insert("tgid".into(), json!(task.tgid));
        m.insert("comm".into(), json!(task.comm));
        m.insert("cgroup_id".into(), json!(task.cgroup_id));
        m
    }

    /// The JSON object for one event.
    pub fn to_json(&self, event: &Event) -> Value {
        match event {
            Event::Failure(f) => {
                let mut m = Self::task_fields(&f.task);
                m.insert("kind".into(), json!("failure"));
                m.insert("order".into(), json!(f.order));
                m.insert("gfp_mask".into(), json!(format!("{:#x}", f.gfp_mask)));
                m.insert("gfp_flags".into(), json!(self.gfp.decode(f.gfp_mask)));
                m.insert("migratetype".into(), json!(f.migratetype));
                m.insert("migratetype_name".into(), json!(migratetype_name(f.migratetype)));
                let stack = f.stack_id.and_then(|id| self.stacks.get(&id)).map(|s| s.as_slice()).unwrap_or(&[]);
                m.insert("stack".into(), json!(stack));
                Value::Object(m)
            }
            Event::Extfrag(e) => {
                let mut m = Self::task_fields(&e.task);
                m.insert("kind".into(), json!("extfrag"));
                // The common fields, so consumers can treat every event alike.
                m.insert("order".into(), json!(e.alloc_order));
                m.insert("gfp_mask".into(), Value::Null);
                m.insert("gfp_flags".into(), json!([]));
                m.insert("migratetype".into(), json!(e.alloc_migratetype));
                m.insert("stack".into(), json!([]));
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
            Event::Lost(l) => json!({"kind": "lost", "ts_ns": l.ts_ns, "count": l.count}),
        }
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn stack(&mut self, id: u32, frames: &[String]) -> Result<(), SinkError> {
        self.stacks.insert(id, Arc::new(frames.to_vec()));
        Ok(())
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
