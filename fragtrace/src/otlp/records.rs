//! Log records: a failure, a capture bundle, or a note that a storm was shed, as OTLP
//! `LogRecord`s with the attribute names documented in docs/otlp.md.
//!
//! Failures are mapped from their JSON object (docs/json.md; the same one `report --jsonl`
//! prints and a capture bundle's failures.jsonl holds), so a record sent live by `serve` and
//! one sent for a bundle by `capture` carry the same attributes.

use opentelemetry_proto::tonic::{
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber},
    resource::v1::Resource,
};
use serde_json::Value;

use crate::gfp::GfpTable;

/// The `event_name` of a failure's record.
pub const FAILURE_EVENT: &str = "fragtrace.alloc_failure";
/// The `event_name` of a capture bundle's record.
pub const CAPTURE_EVENT: &str = "fragtrace.capture";
/// The `event_name` of the record that says how many failures a storm shed.
pub const SHED_EVENT: &str = "fragtrace.otlp.shed";

pub fn string(v: impl Into<String>) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(v.into())) }
}

fn int(v: i64) -> AnyValue {
    AnyValue { value: Some(any_value::Value::IntValue(v)) }
}

fn boolean(v: bool) -> AnyValue {
    AnyValue { value: Some(any_value::Value::BoolValue(v)) }
}

pub fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(value), ..Default::default() }
}

/// The resource every record and metric is sent under. `k8s.node.name` comes from
/// `K8S_NODE_NAME` (or `NODE_NAME`), which the DaemonSet sets from `spec.nodeName`.
pub fn resource(env: impl Fn(&str) -> Option<String>) -> Resource {
    let mut attributes = vec![
        kv("service.name", string("fragtrace")),
        kv("service.version", string(env!("CARGO_PKG_VERSION"))),
        kv("host.name", string(crate::host::system::hostname())),
    ];
    if let Some(node) = env("K8S_NODE_NAME").or_else(|| env("NODE_NAME")).filter(|n| !n.is_empty()) {
        attributes.push(kv("k8s.node.name", string(node)));
    }
    Resource { attributes, ..Default::default() }
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope { name: "fragtrace".into(), version: env!("CARGO_PKG_VERSION").into(), ..Default::default() }
}

/// One request's worth of records under one resource and scope.
pub fn resource_logs(resource: &Resource, records: Vec<LogRecord>) -> ResourceLogs {
    ResourceLogs {
        resource: Some(resource.clone()),
        scope_logs: vec![ScopeLogs { scope: Some(scope()), log_records: records, ..Default::default() }],
        ..Default::default()
    }
}

/// A JSON string field, when present and not empty.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v[key].as_str().filter(|s| !s.is_empty())
}

/// The failure's facts the body and the attributes are made of.
struct Facts<'a> {
    json: &'a Value,
    mask: u64,
    flags: String,
    silent: bool,
    /// The bounded class `/metrics` labels the failure with (`gfp_class`).
    class: &'static str,
    cause: Option<&'a str>,
}

impl<'a> Facts<'a> {
    fn of(json: &'a Value, gfp: &GfpTable) -> Self {
        let mask = text(json, "gfp_mask").and_then(|m| u64::from_str_radix(m.trim_start_matches("0x"), 16).ok()).unwrap_or(0);
        let flags = match json["gfp_flags"].as_array() {
            Some(names) if !names.is_empty() => names.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"),
            _ => gfp.decode_joined(mask),
        };
        let nowarn = gfp.value_of("__GFP_NOWARN").unwrap_or(0);
        let class = crate::metrics::gfp_class(gfp, mask);
        Self { json, mask, flags, silent: nowarn != 0 && mask & nowarn != 0, class, cause: text(&json["cause"], "id") }
    }

    fn pod(&self) -> Option<String> {
        match (text(self.json, "pod_namespace"), text(self.json, "pod_name")) {
            (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
            (None, Some(name)) => Some(name.to_string()),
            _ => text(self.json, "pod_uid").map(|uid| format!("pod {uid}")),
        }
    }

    /// One line, like the kernel's own report: who, what, where, and the known cause.
    fn summary(&self) -> String {
        let j = self.json;
        let mut line = format!(
            "{}[{}] tid {}: order-{} page allocation failure ({}), mode:{:#x}({})",
            text(j, "comm").unwrap_or("?"),
            j["tgid"],
            j["pid"],
            j["order"],
            hook_words(text(j, "hook")),
            self.mask,
            self.flags,
        );
        if self.silent {
            line.push_str(" silent (__GFP_NOWARN)");
        }
        if let Some(pod) = self.pod() {
            line.push_str(&format!(" in pod {pod}"));
        }
        if let Some(cause) = self.cause {
            line.push_str(&format!("; known cause: {cause}"));
        }
        line
    }
}

fn hook_words(hook: Option<&str>) -> &'static str {
    match hook {
        Some("memcg-charge") => "memcg charge: the cgroup is at its limit",
        Some("page-allocator") => "page allocator",
        _ => "allocation",
    }
}

/// The attributes of a failure (docs/otlp.md): semantic-convention names where they exist,
/// `fragtrace.*` for the rest; unknown values are left out rather than sent empty.
fn failure_attributes(f: &Facts<'_>) -> Vec<KeyValue> {
    let j = f.json;
    let mut out = Vec::with_capacity(24);
    let mut put_str = |key: &str, field: &str| {
        if let Some(v) = text(j, field) {
            out.push(kv(key, string(v)));
        }
    };
    put_str("thread.name", "comm");
    put_str("k8s.pod.name", "pod_name");
    put_str("k8s.pod.uid", "pod_uid");
    put_str("k8s.namespace.name", "pod_namespace");
    put_str("k8s.container.name", "container_name");
    put_str("container.id", "container_id");
    put_str("container.runtime", "runtime");
    put_str("fragtrace.cgroup", "cgroup");
    put_str("fragtrace.hook", "hook");
    for (key, field) in [("thread.id", "pid"), ("process.pid", "tgid"), ("fragtrace.order", "order"), ("fragtrace.cpu", "cpu")] {
        if let Some(n) = j[field].as_i64() {
            out.push(kv(key, int(n)));
        }
    }
    out.push(kv("fragtrace.gfp.mask", string(format!("{:#x}", f.mask))));
    out.push(kv("fragtrace.gfp.flags", string(f.flags.clone())));
    out.push(kv("fragtrace.gfp.class", string(f.class)));
    out.push(kv("fragtrace.silent", boolean(f.silent)));
    if let Some(frames) = j["stack"].as_array().filter(|s| !s.is_empty()) {
        let frames: Vec<&str> = frames.iter().filter_map(Value::as_str).collect();
        out.push(kv("fragtrace.stack", string(frames.join("\n"))));
    }
    if let Some(cause) = f.cause {
        out.push(kv("fragtrace.cause", string(cause)));
    }
    if let Some(ancestry) = j["ancestry"].as_array().filter(|a| !a.is_empty()) {
        let chain: Vec<String> = ancestry.iter().map(|a| format!("{}[{}]", a["comm"].as_str().unwrap_or("?"), a["pid"])).collect();
        out.push(kv("fragtrace.ancestry", string(chain.join(" <- "))));
    }
    out
}

/// Failures the kernel reports in dmesg (no `__GFP_NOWARN`) are ERROR: nothing caught them.
/// Silent ones are WARN: the caller asked not to be warned because it has a fallback, but the
/// failure still says memory could not be handed out.
fn severity(silent: bool) -> (SeverityNumber, &'static str) {
    if silent { (SeverityNumber::Warn, "WARN") } else { (SeverityNumber::Error, "ERROR") }
}

/// A failure's record, from its JSON object; `wall_ns` is when it happened (Unix time).
pub fn failure_record(json: &Value, wall_ns: u64, observed_ns: u64, gfp: &GfpTable) -> LogRecord {
    let facts = Facts::of(json, gfp);
    let (number, name) = severity(facts.silent);
    LogRecord {
        time_unix_nano: wall_ns,
        observed_time_unix_nano: observed_ns,
        severity_number: number as i32,
        severity_text: name.into(),
        body: Some(string(facts.summary())),
        attributes: failure_attributes(&facts),
        event_name: FAILURE_EVENT.into(),
        ..Default::default()
    }
}

/// A capture bundle's record: SUMMARY.md as the body, the bundle's path, and the triggering
/// failure's attributes (its JSON object from failures.jsonl) when there is one.
pub fn capture_record(summary: &str, bundle: &str, trigger: Option<&Value>, wall_ns: u64, gfp: &GfpTable) -> LogRecord {
    let mut attributes = vec![kv("fragtrace.bundle", string(bundle))];
    let mut silent = false;
    if let Some(json) = trigger {
        let facts = Facts::of(json, gfp);
        silent = facts.silent;
        attributes.extend(failure_attributes(&facts));
    }
    let (number, name) = severity(silent);
    LogRecord {
        time_unix_nano: wall_ns,
        observed_time_unix_nano: wall_ns,
        severity_number: number as i32,
        severity_text: name.into(),
        body: Some(string(summary)),
        attributes,
        event_name: CAPTURE_EVENT.into(),
        ..Default::default()
    }
}

/// The note sent after failures were shed by `--otlp-max-logs-per-sec`.
pub fn shed_record(shed: u64, interval_s: f64, rate: u32, wall_ns: u64) -> LogRecord {
    LogRecord {
        time_unix_nano: wall_ns,
        observed_time_unix_nano: wall_ns,
        severity_number: SeverityNumber::Warn as i32,
        severity_text: "WARN".into(),
        body: Some(string(format!(
            "{shed} failure records shed in the last {interval_s:.0} s (over --otlp-max-logs-per-sec {rate}); every failure is still counted in fragtrace_alloc_failures_total"
        ))),
        attributes: vec![kv("fragtrace.shed.count", int(shed as i64)), kv("fragtrace.shed.interval_s", AnyValue { value: Some(any_value::Value::DoubleValue(interval_s)) })],
        event_name: SHED_EVENT.into(),
        ..Default::default()
    }
}

/// Unix time now, in nanoseconds.
pub fn wall_now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests;
