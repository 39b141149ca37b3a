//! `serve --otlp-endpoint` and `capture --otlp-endpoint` end to end, against a real OTLP/HTTP
//! receiver built on the official protobuf messages (tests/otlp/receiver.py, PyPI's
//! opentelemetry-proto): provoked failures arrive as one log record each with every documented
//! attribute (docs/otlp.md), the OTLP metrics carry the names `/metrics` shows, a receiver
//! that goes away and comes back loses nothing within the queue bound (and what is beyond it is
//! counted as dropped), and a storm is shed with the shed count exported.

use std::{
    collections::BTreeSet,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use fragtrace_tests::{
    MemCgroupPath,
    cli::{KillOnDrop, OciRoot, Says, TempPath, fragtrace, provoke_failures, provoke_in_child, signal, spawn_until},
    http::{free_port, get},
    require_root, wait_for_value, wait_until,
};
use serde_json::Value;

/// The receiver, on a port that stays the same across restarts.
struct Receiver {
    port: u16,
    out: TempPath,
    process: Option<KillOnDrop>,
}

impl Receiver {
    fn start(tag: &str) -> Self {
        let mut receiver = Self { port: free_port(), out: TempPath::new(&format!("otlp-{tag}.jsonl")), process: None };
        receiver.restart();
        receiver
    }

    fn restart(&mut self) {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("otlp/receiver.py");
        let mut command = Command::new("python3");
        command.arg(script).args(["--port", &self.port.to_string(), "--out"]).arg(&*self.out).stderr(Stdio::inherit());
        let (child, _, _) = spawn_until(&mut command, Says::Stdout, &format!("listening on {}", self.port));
        self.process = Some(child);
    }

    fn stop(&mut self) {
        drop(self.process.take());
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, decoded (one JSON line each).
    fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&*self.out).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("receiver line {l:?}: {e}"))).collect()
    }

    /// Log records accepted so far, each with its resource and scope: (resource, scope, record).
    fn records(&self) -> Vec<(Value, Value, Value)> {
        let mut out = Vec::new();
        for request in self.requests().into_iter().filter(|r| r["path"] == "/v1/logs" && r["status"] == 200) {
            assert_eq!(request["content_type"], "application/x-protobuf");
            for rl in request["request"]["resource_logs"].as_array().cloned().unwrap_or_default() {
                for sl in rl["scope_logs"].as_array().cloned().unwrap_or_default() {
                    for record in sl["log_records"].as_array().cloned().unwrap_or_default() {
                        out.push((rl["resource"].clone(), sl["scope"].clone(), record));
                    }
                }
            }
        }
        out
    }

    /// The failure records (event name `fragtrace.alloc_failure`).
    fn failures(&self) -> Vec<Value> {
        self.records().into_iter().map(|(_, _, r)| r).filter(|r| r["event_name"] == "fragtrace.alloc_failure").collect()
    }

    /// The metrics of the accepted pushes, in order.
    fn metric_pushes(&self) -> Vec<Vec<Value>> {
        self.requests()
            .into_iter()
            .filter(|r| r["path"] == "/v1/metrics" && r["status"] == 200)
            .map(|r| r["request"]["resource_metrics"][0]["scope_metrics"][0]["metrics"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Answer exports with `status` from now on (with Retry-After: 1 when not 200).
    fn answer(&self, status: u16) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("receiver control");
        write!(s, "POST /control?status={status}&retry_after=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").expect("control");
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        assert!(reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"), "{reply}");
    }
}

/// An attribute's value, as MessageToDict writes it (64-bit integers as strings).
fn attr<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    let kv = attributes.as_array()?.iter().find(|a| a["key"] == key)?;
    let value = kv["value"].as_object()?;
    value.values().next()
}

fn attr_str<'a>(attributes: &'a Value, key: &str) -> Option<&'a str> {
    attr(attributes, key)?.as_str()
}

fn attr_int(attributes: &Value, key: &str) -> Option<i64> {
    attr_str(attributes, key)?.parse().ok()
}

/// `fragtrace serve` pushing to `receiver`, with `extra` options; waits until it serves.
fn serve(receiver: &Receiver, extra: &[&str]) -> (Served, String) {
    serve_with(fragtrace(), receiver, extra)
}

fn serve_with(mut command: Command, receiver: &Receiver, extra: &[&str]) -> (Served, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    command
        .args(["serve", "--listen", &listen, "--alloc-probe", "always", "--otlp-endpoint", &receiver.endpoint(), "--otlp-interval", "1s", "--otlp-batch-delay", "200ms"])
        .args(extra)
        .env("K8S_NODE_NAME", "otlp-test-node");
    let (child, lines, _) = spawn_until(&mut command, Says::Stderr, "serving metrics on");
    ((child, lines), listen)
}

/// A running `serve` and its stderr lines (shown when it does not exit cleanly).
type Served = (KillOnDrop, std::sync::mpsc::Receiver<String>);

/// Sum of a counter's samples on `/metrics`, filtered by a label substring.
fn scraped(listen: &str, name: &str, labels: &str) -> u64 {
    let (status, text) = get(listen, "/metrics");
    assert_eq!(status, 200);
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn losses(listen: &str, outcome: &str) -> u64 {
    scraped(listen, "fragtrace_otlp_records_total", &format!("signal=\"logs\",outcome=\"{outcome}\""))
}

/// Family names with samples on `/metrics` (the Prometheus text format's `# TYPE` names).
fn scraped_names(listen: &str) -> BTreeSet<String> {
    let (_, text) = get(listen, "/metrics");
    let mut names = BTreeSet::new();
    let mut declared: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared = rest.split(' ').next().map(str::to_string);
        } else if !line.starts_with('#') && !line.is_empty() {
            names.extend(declared.clone());
        }
    }
    names
}

fn stop((mut serve, lines): Served) {
    signal(&serve, libc::SIGINT);
    let status = serve.expect_exit("serve", Duration::from_secs(30));
    let said: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "serve exited with {status:?}: {said:#?}");
}

#[test]
fn each_failure_arrives_as_one_log_record_with_every_attribute_and_metrics_keep_their_names() {
    let _serial = require_root();
    let receiver = Receiver::start("attributes");
    let (serve, listen) = serve(&receiver, &[]);
    let before_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let trigger = provoke_failures("otlp");
    let ours = |r: &Value| attr_int(&r["attributes"], "process.pid") == Some(i64::from(trigger.pid));
    let mine = wait_for_value("the four failures as log records", Duration::from_secs(30), || {
        let mine: Vec<Value> = receiver.failures().into_iter().filter(ours).collect();
        (mine.len() >= 4).then_some(mine)
    });
    // One record per failure: the receiver's count equals what /metrics counted, and stays so.
    let counted = wait_for_value("log records == fragtrace_alloc_failures_total", Duration::from_secs(20), || {
        let counted = scraped(&listen, "fragtrace_alloc_failures_total", "");
        (receiver.failures().len() as u64 == counted && losses(&listen, "sent") == counted).then_some(counted)
    });
    assert!(counted >= 4);
    assert_eq!(mine.len(), 4, "exactly one record per provoked failure: {mine:#?}");
    let mut orders: Vec<i64> = mine.iter().map(|r| attr_int(&r["attributes"], "fragtrace.order").expect("fragtrace.order")).collect();
    orders.sort();
    assert_eq!(orders, [6, 7, 8, 9]);
    let now_ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    for r in &mine {
        check_failure_record(r, trigger.pid, before_ns, now_ns);
    }
    check_resource_and_scope(&receiver);
    check_metric_names(&receiver, &listen, counted);
    for outcome in ["dropped_queue_full", "shed_rate_limit", "rejected", "failed"] {
        assert_eq!(losses(&listen, outcome), 0, "no log record lost ({outcome})");
    }
    stop(serve);
}

fn check_failure_record(r: &Value, pid: u32, before_ns: u64, now_ns: u64) {
    let a = &r["attributes"];
    let time: u64 = r["time_unix_nano"].as_str().and_then(|t| t.parse().ok()).expect("time_unix_nano");
    assert!((before_ns - 1_000_000_000..=now_ns).contains(&time), "the failure's wall time {time} within [{before_ns}, {now_ns}]");
    assert_eq!(attr_str(a, "thread.name"), Some("alloc-trigger"));
    assert_eq!(attr_int(a, "thread.id"), Some(i64::from(pid)), "single-threaded: tid = pid");
    let mask = attr_str(a, "fragtrace.gfp.mask").expect("fragtrace.gfp.mask");
    assert!(mask.starts_with("0x") && u64::from_str_radix(&mask[2..], 16).is_ok(), "{mask}");
    let flags = attr_str(a, "fragtrace.gfp.flags").expect("fragtrace.gfp.flags");
    assert!(flags.contains("GFP_KERNEL_ACCOUNT") && flags.contains("__GFP_NOWARN"), "pipe_resize_ring's mask as the kernel names it: {flags}");
    assert_eq!(attr(a, "fragtrace.silent"), Some(&Value::Bool(true)), "__GFP_NOWARN");
    assert_eq!(attr_str(a, "fragtrace.gfp.class"), Some("kernel"), "as /metrics labels it");
    assert_eq!(r["severity_number"], "SEVERITY_NUMBER_WARN", "silent failures are WARN");
    let stack = attr_str(a, "fragtrace.stack").expect("fragtrace.stack");
    assert!(stack.lines().any(|f| f.starts_with("pipe_resize_ring") || f.starts_with("pipe_fcntl")), "the failing kernel path: {stack}");
    assert!(stack.lines().count() > 3, "newline-separated frames: {stack}");
    assert_eq!(attr_str(a, "fragtrace.cause"), Some("pipe-resize-memcg"));
    assert!(attr_str(a, "fragtrace.hook").is_some());
    for key in ["k8s.pod.name", "k8s.pod.uid", "k8s.namespace.name", "k8s.container.name", "container.id"] {
        assert!(attr(a, key).is_none(), "{key}: a host process has none, and unknown values are left out");
    }
    let body = r["body"]["string_value"].as_str().expect("a string body");
    assert!(!body.contains('\n') && body.contains(&format!("alloc-trigger[{pid}]")) && body.contains("pipe-resize-memcg"), "{body}");
}

fn check_resource_and_scope(receiver: &Receiver) {
    let (resource, scope, _) = receiver.records().into_iter().next().expect("a record");
    let a = &resource["attributes"];
    assert_eq!(attr_str(a, "service.name"), Some("fragtrace"));
    assert!(attr_str(a, "service.version").is_some());
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(attr_str(a, "host.name"), Some(hostname.trim()));
    assert_eq!(attr_str(a, "k8s.node.name"), Some("otlp-test-node"), "from K8S_NODE_NAME (the downward API)");
    assert_eq!(scope["name"], "fragtrace");
}

/// The OTLP metric names are the `/metrics` names: those scraped before a push are in it, and
/// it has nothing a scrape after it does not show. The failure counter's value agrees.
fn check_metric_names(receiver: &Receiver, listen: &str, failures: u64) {
    let before = scraped_names(listen);
    let pushes_then = receiver.metric_pushes().len();
    let metrics = wait_for_value("a metrics push after the scrape", Duration::from_secs(10), || receiver.metric_pushes().into_iter().nth(pushes_then));
    let after = scraped_names(listen);
    let pushed: BTreeSet<String> = metrics.iter().map(|m| m["name"].as_str().expect("name").to_string()).collect();
    assert!(before.is_subset(&pushed), "scraped but not pushed: {:?}", before.difference(&pushed).collect::<Vec<_>>());
    assert!(pushed.is_subset(&after), "pushed but not on /metrics: {:?}", pushed.difference(&after).collect::<Vec<_>>());
    assert!(pushed.contains("fragtrace_otlp_records_total") && pushed.contains("fragtrace_stall_seconds"), "{pushed:?}");
    let failures_metric = metrics.iter().find(|m| m["name"] == "fragtrace_alloc_failures_total").expect("fragtrace_alloc_failures_total");
    assert_eq!(failures_metric["sum"]["is_monotonic"], true);
    assert_eq!(failures_metric["sum"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
    let total: u64 = failures_metric["sum"]["data_points"].as_array().expect("points").iter().map(|p| p["as_int"].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)).sum();
    assert_eq!(total, failures, "the pushed counter equals the scraped one");
    let point = &failures_metric["sum"]["data_points"][0];
    for label in ["order", "gfp_class", "nowarn"] {
        assert!(attr(&point["attributes"], label).is_some(), "label {label} as an attribute: {point}");
    }
    let stalls = metrics.iter().find(|m| m["name"] == "fragtrace_stall_seconds").expect("the stall histogram");
    assert!(stalls["histogram"]["data_points"][0]["explicit_bounds"].as_array().is_some_and(|b| !b.is_empty()), "{stalls}");
}

#[test]
fn a_receiver_that_goes_away_and_comes_back_loses_nothing_within_the_queue_bound() {
    let _serial = require_root();
    let mut receiver = Receiver::start("outage");
    // Room for 6 queued records plus a batch of 2 in flight.
    let (serve, listen) = serve(&receiver, &["--otlp-queue", "6", "--otlp-batch-size", "2"]);

    // Within the bound: 4 failures while the receiver is down all arrive once it is back.
    receiver.stop();
    let first = provoke_failures("otlp-outage");
    wait_until("the four records queued or in flight", Duration::from_secs(10), || scraped(&listen, "fragtrace_alloc_failures_total", "") >= 4);
    receiver.restart();
    let of = |pid: u32| move |r: &Value| attr_int(&r["attributes"], "process.pid") == Some(i64::from(pid));
    wait_until("the four records after the receiver came back", Duration::from_secs(30), || receiver.failures().iter().filter(|r| of(first.pid)(r)).count() >= 4);
    assert_eq!(receiver.failures().iter().filter(|r| of(first.pid)(r)).count(), 4, "each exactly once");
    assert_eq!(losses(&listen, "dropped_queue_full"), 0);

    // A receiver answering 503 (with Retry-After) is retried, not given up on.
    receiver.answer(503);
    let second = provoke_failures("otlp-503");
    wait_until("a refused export", Duration::from_secs(10), || receiver.requests().iter().any(|r| r["status"] == 503));
    receiver.answer(200);
    wait_until("the four records after the 503s", Duration::from_secs(30), || receiver.failures().iter().filter(|r| of(second.pid)(r)).count() >= 4);

    // Beyond the bound: 12 failures while it is down; what does not arrive is counted.
    receiver.stop();
    let pids: Vec<u32> = (0..3).map(|i| provoke_failures(&format!("otlp-over{i}")).pid).collect();
    wait_until("some records dropped", Duration::from_secs(10), || losses(&listen, "dropped_queue_full") > 0);
    receiver.restart();
    let accounted = |listen: &str| {
        let total = scraped(listen, "fragtrace_alloc_failures_total", "");
        let received = receiver.failures().len() as u64;
        let lost: u64 = ["dropped_queue_full", "shed_rate_limit", "rejected", "failed"].iter().map(|o| losses(listen, o)).sum();
        (received + lost == total && losses(listen, "sent") == received && scraped(listen, "fragtrace_otlp_queue_depth", "") == 0).then_some((received, lost, total))
    };
    let (received, lost, total) = wait_for_value("every failure received or counted as lost", Duration::from_secs(40), || accounted(&listen));
    let arrived_of_12 = receiver.failures().iter().filter(|r| pids.iter().any(|&p| of(p)(r))).count() as u64;
    let dropped = losses(&listen, "dropped_queue_full");
    assert!(dropped >= 4, "12 records for room of 8: {dropped} dropped");
    assert_eq!(arrived_of_12 + dropped, 12, "the dropped count is exactly what is missing (received {received}, lost {lost}, failures {total})");
    stop(serve);
}

#[test]
fn a_storm_is_shed_and_the_shed_count_is_exported() {
    let _serial = require_root();
    let receiver = Receiver::start("storm");
    // One record a second, bursts of five: 12 failures at once shed about seven.
    let (serve, listen) = serve(&receiver, &["--otlp-max-logs-per-sec", "1"]);
    let pids: Vec<u32> = (0..3).map(|i| provoke_failures(&format!("otlp-storm{i}")).pid).collect();
    let (received, shed) = wait_for_value("every failure sent or shed", Duration::from_secs(30), || {
        let total = scraped(&listen, "fragtrace_alloc_failures_total", "");
        let (received, shed) = (receiver.failures().len() as u64, losses(&listen, "shed_rate_limit"));
        (total >= 12 && received + shed == total && losses(&listen, "sent") >= received).then_some((received, shed))
    });
    assert!(shed >= 5, "shed {shed}, received {received}");
    let ours = receiver.failures().iter().filter(|r| pids.iter().any(|&p| attr_int(&r["attributes"], "process.pid") == Some(i64::from(p)))).count();
    assert!((5..=7).contains(&ours), "the burst of five (and a refill or two) got through: {ours}");
    // The shed count is in the pushed metrics, as on /metrics.
    let pushed_shed = wait_for_value("the shed count pushed", Duration::from_secs(10), || {
        let last = receiver.metric_pushes().pop()?;
        let records = last.iter().find(|m| m["name"] == "fragtrace_otlp_records_total")?.clone();
        let points = records["sum"]["data_points"].as_array()?.clone();
        let value = points.iter().find(|p| attr_str(&p["attributes"], "outcome") == Some("shed_rate_limit") && attr_str(&p["attributes"], "signal") == Some("logs"))?["as_int"].as_str()?.parse::<u64>().ok()?;
        (value == shed).then_some(value)
    });
    assert_eq!(pushed_shed, shed);
    // And announced in a record of its own, by the time serve stops at the latest.
    stop(serve);
    let notes: Vec<Value> = receiver.records().into_iter().map(|(_, _, r)| r).filter(|r| r["event_name"] == "fragtrace.otlp.shed").collect();
    let announced: i64 = notes.iter().filter_map(|r| attr_int(&r["attributes"], "fragtrace.shed.count")).sum();
    assert_eq!(announced, shed as i64, "{notes:#?}");
    assert!(notes[0]["body"]["string_value"].as_str().is_some_and(|b| b.contains("failure records shed")), "{notes:#?}");
}

#[test]
fn capture_sends_its_bundle_as_one_record_with_the_summary() {
    let _serial = require_root();
    let receiver = Receiver::start("capture");
    let dir = TempPath::dir("otlp-capture");
    let mut command = fragtrace();
    command
        .args(["capture", "--comm", "alloc-trigger", "--min-order", "6", "--before", "2s", "--after", "1s", "--timeout", "60s", "--alloc-probe", "always", "-o"])
        .arg(&*dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_EXPORTER_OTLP_HEADERS", "X-Scope-OrgID=tenant%201");
    let (mut capture, lines, _) = spawn_until(&mut command, Says::Stderr, "armed after");
    let trigger = provoke_failures("otlp-capture");
    let status = capture.expect_exit("capture", Duration::from_secs(60));
    let said: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "capture exited with {status:?}: {said:#?}");
    let bundles: Vec<PathBuf> = std::fs::read_dir(&*dir).expect("bundles").map(|e| e.expect("entry").path()).collect();
    assert_eq!(bundles.len(), 1);
    let records: Vec<Value> = receiver.records().into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(records.len(), 1, "one record per bundle: {records:#?}");
    let r = &records[0];
    assert_eq!(r["event_name"], "fragtrace.capture");
    let summary = std::fs::read_to_string(bundles[0].join("SUMMARY.md")).expect("SUMMARY.md");
    assert_eq!(r["body"]["string_value"].as_str(), Some(summary.as_str()));
    assert_eq!(attr_str(&r["attributes"], "fragtrace.bundle").map(Path::new), Some(bundles[0].as_path()));
    assert_eq!(attr_int(&r["attributes"], "process.pid"), Some(i64::from(trigger.pid)), "the triggering failure's attributes");
    assert!(attr_int(&r["attributes"], "fragtrace.order").is_some_and(|o| o >= 6));
    let headers = &receiver.requests()[0]["headers"];
    assert_eq!(headers["x-scope-orgid"], "tenant 1", "OTEL_EXPORTER_OTLP_HEADERS, percent-decoded");
}

/// A failure in a kubelet-style pod cgroup (cgroupfs driver) whose container's OCI bundle
/// carries containerd's CRI annotations: the record names the pod, namespace, container and
/// its ID under the semantic-convention attributes.
#[test]
fn a_failure_in_a_pod_carries_the_kubernetes_attributes() {
    let _serial = require_root();
    let pid = std::process::id();
    let uid = format!("5c0f7a11-2fa1-11d2-0022-{pid:012x}");
    let container = format!("{:016x}", u64::from(pid) << 8 | 0x22).repeat(4);
    let cgroup = MemCgroupPath::create(&format!("kubepods/burstable/pod{uid}/{container}"), 128 * 1024);
    let oci = OciRoot::new("otlp-pod");
    oci.add(
        &container,
        serde_json::json!({
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": "app",
            "io.kubernetes.cri.sandbox-name": "web-0",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": uid,
        }),
    );
    let receiver = Receiver::start("pod");
    let (serve, _listen) = serve(&receiver, &["--oci-root", &oci.0.display().to_string()]);
    let trigger = provoke_in_child("runc:[1:CHILD]", &cgroup.leaf);
    let of_child = |r: &Value| attr_int(&r["attributes"], "process.pid") == Some(i64::from(trigger.child_pid));
    let records = wait_for_value("the child's four records", Duration::from_secs(30), || {
        let mine: Vec<Value> = receiver.failures().into_iter().filter(of_child).collect();
        (mine.len() >= 4).then_some(mine)
    });
    assert_eq!(records.len(), 4);
    for r in &records {
        let a = &r["attributes"];
        assert_eq!(attr_str(a, "thread.name"), Some("runc:[1:CHILD]"));
        assert_eq!(attr_str(a, "k8s.pod.name"), Some("web-0"), "{a}");
        assert_eq!(attr_str(a, "k8s.namespace.name"), Some("shop"));
        assert_eq!(attr_str(a, "k8s.pod.uid"), Some(uid.as_str()));
        assert_eq!(attr_str(a, "k8s.container.name"), Some("app"));
        assert_eq!(attr_str(a, "container.id"), Some(container.as_str()));
        assert_eq!(attr_str(a, "container.runtime"), Some("containerd"));
        assert_eq!(attr_str(a, "fragtrace.cgroup"), Some(format!("/kubepods/burstable/pod{uid}/{container}").as_str()), "the path as the kernel named it");
        assert!(attr_str(a, "fragtrace.ancestry").is_some_and(|c| c.starts_with(&format!("runc[{}]", trigger.pid))), "{a}");
        assert!(r["body"]["string_value"].as_str().is_some_and(|b| b.contains("in pod shop/web-0")), "{r}");
    }
    stop(serve);
}

/// The static musl binary from `cargo xtask dist` (FRAGTRACE_STATIC_BIN, set by `cargo xtask
/// test`) exports too: its HTTP client, name resolution included, works without libc's NSS.
#[test]
fn the_static_binary_exports_too() {
    let _serial = require_root();
    let binary = std::env::var_os("FRAGTRACE_STATIC_BIN").map(PathBuf::from).expect(
        "FRAGTRACE_STATIC_BIN is not set: run `cargo xtask test`, which builds the static binary with `cargo xtask dist` and points this test at it",
    );
    let receiver = Receiver::start("static");
    // --otlp-endpoint names 127.0.0.1; the per-signal variable sends the logs by host name.
    let mut command = Command::new(&binary);
    command.env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", format!("http://localhost:{}/v1/logs", receiver.port));
    let (served, _listen) = serve_with(command, &receiver, &[]);
    let trigger = provoke_failures("otlp-static");
    wait_until("the static binary's four records", Duration::from_secs(30), || {
        receiver.failures().iter().filter(|r| attr_int(&r["attributes"], "process.pid") == Some(i64::from(trigger.pid))).count() == 4
    });
    let via_name = receiver.requests().iter().any(|r| r["path"] == "/v1/logs" && r["headers"]["host"].as_str().is_some_and(|h| h.starts_with("localhost:")));
    assert!(via_name, "the logs went to localhost by name");
    wait_until("a metrics push (to 127.0.0.1)", Duration::from_secs(10), || !receiver.metric_pushes().is_empty());
    stop(served);
}
