//! deploy/: the Kubernetes manifests against the Kubernetes OpenAPI schemas
//! (kubernetes-validate), their least-privilege settings, the PodMonitor against the
//! DaemonSet, and the alert rules with promtool. Metric names in the dashboard and the alerts
//! are checked against a live /metrics in e2e_serve.rs.

use std::{path::PathBuf, process::Command};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// YAML documents as JSON (PyYAML, a kubernetes-validate dependency).
fn yaml_documents(path: &str) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .args(["-c", "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))"])
        .arg(repo(path))
        .output()
        .expect("python3 with PyYAML (installed with kubernetes-validate by `cargo xtask test`)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn validate(path: &std::path::Path) -> (bool, String) {
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(path)
        .output()
        .expect("kubernetes-validate (pip; `cargo xtask test` installs it)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_daemonset_manifest_validates_against_the_kubernetes_schemas() {
    let (ok, said) = validate(&repo("deploy/kubernetes/daemonset.yaml"));
    assert!(ok, "{said}");
    for kind in ["namespace/fragtrace", "serviceaccount/fragtrace", "configmap/fragtrace-otlp", "daemonset/fragtrace"] {
        assert!(said.contains(&format!("passed for resource {kind}")), "{kind} not validated: {said}");
    }
    // The validator is strict: a misspelt field fails.
    let broken = fragtrace_tests::cli::TempPath::new("broken-daemonset.yaml");
    let text = std::fs::read_to_string(repo("deploy/kubernetes/daemonset.yaml")).expect("manifest");
    std::fs::write(&broken, text.replace("hostPID: true", "hostPIDs: true")).expect("write");
    let (ok, said) = validate(&broken);
    assert!(!ok, "a misspelt field must fail validation: {said}");
}

#[test]
fn the_daemonset_runs_with_least_privilege() {
    let docs = yaml_documents("deploy/kubernetes/daemonset.yaml");
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").expect("a DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true, "the host's /proc (buddyinfo, kallsyms) and pids");
    assert_eq!(pod["automountServiceAccountToken"], false, "no Kubernetes API access");
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(sc["capabilities"]["add"], serde_json::json!(["BPF", "PERFMON", "DAC_READ_SEARCH", "SYS_RESOURCE"]));
    let mounts: Vec<(&str, bool)> = c["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| (m["mountPath"].as_str().expect("path"), m["readOnly"] == true))
        .collect();
    for path in ["/sys/kernel/tracing", "/sys/kernel/btf", "/sys/fs/cgroup", "/run/containerd"] {
        assert!(mounts.contains(&(path, true)), "{path} mounted read-only: {mounts:?}");
    }
    assert!(mounts.iter().all(|(_, ro)| *ro), "every host mount is read-only: {mounts:?}");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert!(c["resources"]["limits"]["memory"].is_string() && c["resources"]["requests"]["cpu"].is_string());
    let args: Vec<&str> = c["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
    assert_eq!(args[0], "serve");
    assert!(args.iter().any(|a| a.starts_with("--listen=$(POD_IP):")), "{args:?}");
    let annotations = &ds["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], c["ports"][0]["containerPort"].to_string());
}

#[test]
fn the_podmonitor_selects_the_daemonset_pods() {
    let ds_docs = yaml_documents("deploy/kubernetes/daemonset.yaml");
    let ds = ds_docs.iter().find(|d| d["kind"] == "DaemonSet").expect("a DaemonSet");
    let pm_docs = yaml_documents("deploy/kubernetes/podmonitor.yaml");
    let pm = &pm_docs[0];
    assert_eq!((pm["apiVersion"].as_str(), pm["kind"].as_str()), (Some("monitoring.coreos.com/v1"), Some("PodMonitor")));
    let labels = &ds["spec"]["template"]["metadata"]["labels"];
    for (k, v) in pm["spec"]["selector"]["matchLabels"].as_object().expect("matchLabels") {
        assert_eq!(&labels[k], v, "the PodMonitor selects label {k}");
    }
    assert_eq!(pm["spec"]["namespaceSelector"]["matchNames"][0], ds["metadata"]["namespace"]);
    assert_eq!(pm["spec"]["podMetricsEndpoints"][0]["port"], ds["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"]);
}

#[test]
fn the_alert_rules_pass_promtool() {
    let out = Command::new("promtool").args(["check", "rules"]).arg(repo("deploy/prometheus/alerts.yaml")).output().expect("promtool");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("SUCCESS: 5 rules found"), "{said}");
}

#[test]
fn the_dashboard_is_grafana_json_with_prometheus_queries() {
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo("deploy/grafana/fragtrace.json")).expect("dashboard")).expect("JSON");
    let panels = dash["panels"].as_array().expect("panels");
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for wanted in ["Allocation failures by order", "Nodes with failing orders", "Unusable free space index", "Stall p99", "OOM kills"] {
        assert!(titles.iter().any(|t| t.starts_with(wanted)), "no {wanted:?} panel in {titles:?}");
    }
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            assert!(t["expr"].as_str().is_some_and(|e| e.contains("fragtrace_")), "{t}");
        }
    }
}

/// OTLP: the endpoint and headers come from the fragtrace-otlp ConfigMap (optional keys, off
/// when empty), the node name from the downward API (the k8s.node.name resource attribute).
#[test]
fn the_daemonset_takes_the_otlp_endpoint_from_its_configmap_and_the_node_name_from_the_downward_api() {
    let docs = yaml_documents("deploy/kubernetes/daemonset.yaml");
    let cm = docs.iter().find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "fragtrace-otlp").expect("the fragtrace-otlp ConfigMap");
    assert_eq!(cm["metadata"]["namespace"], "fragtrace");
    assert_eq!(cm["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"], "", "off until set");
    let ds = docs.iter().find(|d| d["kind"] == "DaemonSet").expect("a DaemonSet");
    let env = ds["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env").clone();
    let var = |name: &str| env.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("env {name}")).clone();
    assert_eq!(var("K8S_NODE_NAME")["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
    for key in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"] {
        let from = &var(key)["valueFrom"]["configMapKeyRef"];
        assert_eq!(from["name"], "fragtrace-otlp");
        assert_eq!(from["key"], key);
        assert_eq!(from["optional"], true, "a cluster without the ConfigMap still starts");
        assert!(cm["data"].get(key).is_some(), "{key} in the ConfigMap");
    }
}

/// deploy/otel/collector.yaml: an OTLP/HTTP receiver on 4318, batching, the debug exporter on
/// by default, and the Loki, Elasticsearch and ClickHouse examples defined (each exporter a
/// pipeline uses is defined, and so is each processor).
#[test]
fn the_collector_pipeline_receives_otlp_http_batches_and_has_the_backend_examples() {
    let docs = yaml_documents("deploy/otel/collector.yaml");
    let c = &docs[0];
    assert_eq!(c["receivers"]["otlp"]["protocols"]["http"]["endpoint"], "0.0.0.0:4318");
    assert!(c["processors"]["batch"].is_object());
    for exporter in ["debug", "otlphttp/loki", "elasticsearch", "clickhouse"] {
        assert!(c["exporters"][exporter].is_object(), "exporter {exporter}");
    }
    assert!(c["exporters"]["otlphttp/loki"]["endpoint"].as_str().is_some_and(|e| e.ends_with("/otlp")), "Loki's OTLP path");
    for signal in ["logs", "metrics"] {
        let p = &c["service"]["pipelines"][signal];
        assert_eq!(p["receivers"], serde_json::json!(["otlp"]));
        let names = |key: &str| p[key].as_array().expect(key).iter().map(|v| v.as_str().expect("name").to_string()).collect::<Vec<_>>();
        assert!(names("processors").contains(&"batch".to_string()));
        assert!(names("exporters").contains(&"debug".to_string()), "debug on by default");
        for e in names("exporters") {
            assert!(c["exporters"][&e].is_object(), "{signal} uses undefined exporter {e}");
        }
        for pr in names("processors") {
            assert!(c["processors"][&pr].is_object(), "{signal} uses undefined processor {pr}");
        }
    }
}
