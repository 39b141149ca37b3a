use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use serde_json::json;

use super::*;
use crate::gfp::eras::Era;

fn attr<'a>(record: &'a LogRecord, key: &str) -> Option<&'a V> {
    record.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn failure_json(mask: u64, pod: bool) -> Value {
    let mut v = json!({
        "kind": "failure", "ts_ns": 5, "cpu": 1, "pid": 1235, "tgid": 1234, "comm": "runc:[2:INIT]",
        "cgroup_id": 9, "cgroup": "/kubepods/pod1/abc", "order": 6, "gfp_mask": format!("{mask:#x}"),
        "hook": "memcg-charge", "stack": ["__alloc_pages_slowpath", "pipe_resize_ring"],
        "cause": {"id": "pipe-resize-memcg", "title": "t"},
        "ancestry": [{"pid": 1000, "comm": "runc"}],
        "pod_uid": null, "pod_name": null, "pod_namespace": null, "container_id": null, "container_name": null,
    });
    if pod {
        for (k, val) in [("pod_uid", "uid-1"), ("pod_name", "web-0"), ("pod_namespace", "shop"), ("container_id", "abc"), ("container_name", "app")] {
            v[k] = json!(val);
        }
    }
    v
}

#[test]
fn a_failure_carries_every_documented_attribute() {
    let gfp = Era::V5_1.table();
    let mask = gfp.value_of("GFP_KERNEL").unwrap() | gfp.value_of("__GFP_NOWARN").unwrap();
    let r = failure_record(&failure_json(mask, true), 10, 11, &gfp);
    assert_eq!((r.time_unix_nano, r.observed_time_unix_nano), (10, 11));
    assert_eq!(r.event_name, FAILURE_EVENT);
    assert_eq!(r.severity_number, SeverityNumber::Warn as i32, "silent failures are WARN");
    let s = |k: &str| match attr(&r, k) {
        Some(V::StringValue(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(s("thread.name"), "runc:[2:INIT]");
    assert_eq!(attr(&r, "thread.id"), Some(&V::IntValue(1235)));
    assert_eq!(attr(&r, "process.pid"), Some(&V::IntValue(1234)));
    assert_eq!(attr(&r, "fragtrace.order"), Some(&V::IntValue(6)));
    assert_eq!(s("k8s.pod.name"), "web-0");
    assert_eq!(s("k8s.pod.uid"), "uid-1");
    assert_eq!(s("k8s.namespace.name"), "shop");
    assert_eq!(s("k8s.container.name"), "app");
    assert_eq!(s("container.id"), "abc");
    assert_eq!(s("fragtrace.gfp.mask"), format!("{mask:#x}"));
    assert_eq!(s("fragtrace.gfp.flags"), gfp.decode_joined(mask), "decoded from the mask when the JSON has no names");
    assert!(s("fragtrace.gfp.flags").contains("__GFP_NOWARN"));
    assert_eq!(s("fragtrace.gfp.class"), "kernel", "the gfp_class label of /metrics");
    assert_eq!(attr(&r, "fragtrace.silent"), Some(&V::BoolValue(true)));
    assert_eq!(s("fragtrace.stack"), "__alloc_pages_slowpath\npipe_resize_ring");
    assert_eq!(s("fragtrace.cause"), "pipe-resize-memcg");
    assert_eq!(s("fragtrace.hook"), "memcg-charge");
    assert_eq!(s("fragtrace.cgroup"), "/kubepods/pod1/abc");
    assert_eq!(s("fragtrace.ancestry"), "runc[1000]");
    let Some(V::StringValue(body)) = r.body.as_ref().and_then(|b| b.value.as_ref()) else { panic!("a string body") };
    assert!(!body.contains('\n'), "one line: {body}");
    for part in ["runc:[2:INIT][1234] tid 1235", "order-6", "memcg charge", "in pod shop/web-0", "known cause: pipe-resize-memcg", "silent"] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
}

#[test]
fn unknown_values_are_left_out_and_loud_failures_are_errors() {
    let gfp = Era::V5_1.table();
    let mut json = failure_json(gfp.value_of("GFP_KERNEL").unwrap(), false);
    json["cause"] = Value::Null;
    json["stack"] = json!([]);
    json["gfp_flags"] = json!(["GFP_KERNEL", "__GFP_COMP"]);
    let r = failure_record(&json, 10, 11, &gfp);
    for key in ["k8s.pod.name", "k8s.pod.uid", "k8s.namespace.name", "k8s.container.name", "container.id", "fragtrace.cause", "fragtrace.stack"] {
        assert!(attr(&r, key).is_none(), "{key} left out");
    }
    assert_eq!(attr(&r, "fragtrace.gfp.flags"), Some(&V::StringValue("GFP_KERNEL|__GFP_COMP".into())), "the names as given");
    assert_eq!(attr(&r, "fragtrace.silent"), Some(&V::BoolValue(false)));
    assert_eq!(r.severity_number, SeverityNumber::Error as i32);
}

#[test]
fn the_resource_names_the_service_host_and_node() {
    let r = resource(|k| (k == "NODE_NAME").then(|| "node-7".to_string()));
    let keys: Vec<&str> = r.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["service.name", "service.version", "host.name", "k8s.node.name"]);
    assert_eq!(r.attributes[3].value.as_ref().and_then(|v| v.value.clone()), Some(V::StringValue("node-7".into())));
    let r = resource(|k| (k == "K8S_NODE_NAME").then(|| "a".to_string()).or_else(|| (k == "NODE_NAME").then(|| "b".to_string())));
    assert_eq!(r.attributes[3].value.as_ref().and_then(|v| v.value.clone()), Some(V::StringValue("a".into())), "K8S_NODE_NAME first");
    assert_eq!(resource(|_| None).attributes.len(), 3, "no node name outside Kubernetes");
}

#[test]
fn capture_and_shed_records() {
    let gfp = Era::V5_1.table();
    let json = failure_json(gfp.value_of("GFP_KERNEL").unwrap(), false);
    let r = capture_record("# Incident\nline 2\n", "/var/tmp/b1", Some(&json), 3, &gfp);
    assert_eq!(r.event_name, CAPTURE_EVENT);
    assert_eq!(r.body, Some(string("# Incident\nline 2\n")));
    assert_eq!(attr(&r, "fragtrace.bundle"), Some(&V::StringValue("/var/tmp/b1".into())));
    assert_eq!(attr(&r, "process.pid"), Some(&V::IntValue(1234)));
    let r = shed_record(42, 10.0, 100, 3);
    assert_eq!(attr(&r, "fragtrace.shed.count"), Some(&V::IntValue(42)));
    assert_eq!(r.event_name, SHED_EVENT);
}
