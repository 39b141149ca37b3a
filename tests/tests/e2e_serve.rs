//! `fragtrace serve` end to end, with a real Prometheus server: failures provoked in a memory
//! cgroup must show up in Prometheus' query API under the right order, and the scrape output
//! must pass `promtool check metrics`. Run once with the normal build and once with the static
//! release binary from `cargo xtask dist` (FRAGTRACE_STATIC_BIN, set by `cargo xtask test`).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fragtrace_tests::{
    built_binary,
    cli::{TempPath, lines_of, provoke_failures, signal, wait_for},
    http::{encode, free_port, get, try_get},
    poll, require_root, wait_exit, wait_until,
};

/// Kills (SIGTERM, then SIGKILL) our own child on drop, so no server outlives a failed test.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            signal(&self.0, libc::SIGTERM);
            if wait_exit(&mut self.0, Duration::from_secs(10)).is_none() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
}

fn start_prometheus(dir: &Path, target: &str) -> (Owned, String) {
    std::fs::create_dir_all(dir.join("data")).expect("prometheus dir");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: fragtrace\n    static_configs:\n      - targets: ['{target}']\n"),
    )
    .expect("prometheus.yml");
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian package `prometheus`; `cargo xtask test` installs it)");
    let prometheus = Owned(child);
    wait_until(&format!("prometheus to be ready on {addr}"), Duration::from_secs(30), || matches!(try_get(&addr, "/-/ready"), Ok((200, _))));
    (prometheus, addr)
}

/// The value of an instant query's first sample, if any.
fn query(prometheus: &str, promql: &str) -> Option<f64> {
    let (status, body) = get(prometheus, &format!("/api/v1/query?query={}", encode(promql)));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("query JSON");
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn serve_and_scrape(binary: &Path) {
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let mut serve = Command::new(binary)
        .args(["serve", "--listen", &target, "--zones-interval", "1s", "--pod-labels", "--alloc-probe", "always"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("fragtrace serve");
    let stderr = lines_of(serve.stderr.take().expect("stderr"));
    let serve = Owned(serve);
    let mut seen = Vec::new();
    wait_for(&stderr, "serving metrics on", &mut seen);
    assert_eq!(get(&target, "/healthz"), (200, "ok\n".to_string()));

    let dir = TempPath::dir("prometheus");
    let (prometheus, prom_addr) = start_prometheus(&dir, &target);
    let trigger = provoke_failures("serve");
    assert_eq!(trigger.errnos.len(), 4);

    // Scraped every second: each provoked order shows up within a few scrapes.
    let mut by_order = Vec::new();
    let scraped = poll(Duration::from_secs(45), || {
        by_order = (6..=9).map(|o| query(&prom_addr, &format!("sum(fragtrace_alloc_failures_total{{order=\"{o}\",gfp_class=\"kernel\"}})"))).collect();
        by_order.iter().all(|v| v.is_some_and(|n| n >= 1.0)).then_some(())
    });
    assert!(scraped.is_some(), "Prometheus never saw the failures by order 6..9 within 45 s: {by_order:?}");
    assert_eq!(query(&prom_addr, "fragtrace_build_info"), Some(1.0));
    assert!(query(&prom_addr, "sum(fragtrace_zone_free_blocks)").is_some_and(|n| n > 0.0), "zone gauges scraped");
    // Pageblocks change migratetype, not number: the scraped sum is the kernel's total.
    let pti = fragtrace::host::procfs::parse_pagetypeinfo(&std::fs::read_to_string("/proc/pagetypeinfo").expect("pagetypeinfo"));
    let blocks: u64 = pti.pageblocks.iter().flat_map(|z| z.counts.iter().map(|(_, n)| n)).sum();
    assert_eq!(query(&prom_addr, "sum(fragtrace_pageblocks)"), Some(blocks as f64), "pageblock gauges scraped");
    let normal_unmovable = query(&prom_addr, "sum(fragtrace_pageblocks{zone=\"Normal\",migratetype=\"Unmovable\"})");
    assert!(normal_unmovable.is_some_and(|n| n > 0.0), "the kernel's own memory sits in unmovable pageblocks: {normal_unmovable:?}");
    assert!(query(&prom_addr, "sum(fragtrace_stall_seconds_count{kind=\"memcg_reclaim\"})").is_some_and(|n| n > 0.0), "stall histogram scraped");
    assert_eq!(query(&prom_addr, "up{job=\"fragtrace\"}"), Some(1.0));

    // The exposition passes promtool's linter.
    let (status, metrics) = get(&target, "/metrics");
    assert_eq!(status, 200);
    let mut promtool = Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("promtool");
    std::io::Write::write_all(promtool.stdin.as_mut().expect("stdin"), metrics.as_bytes()).expect("feed promtool");
    let out = promtool.wait_with_output().expect("promtool");
    assert!(out.status.success(), "promtool check metrics: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    names_in_deploy_exist(&metrics);

    drop(prometheus);
    let mut serve = serve;
    signal(&serve.0, libc::SIGINT);
    assert!(serve.0.wait().expect("serve exit").success(), "{seen:?}");
}

/// `fragtrace_…` names in a text.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("fragtrace_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// Every metric the dashboard and the alert rules query exists on /metrics (as a sample or a
/// declared family: a histogram's `_bucket`/`_count`/`_sum` count as its family).
fn names_in_deploy_exist(exposition: &str) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let exposed: std::collections::BTreeSet<String> = exposition
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("# TYPE ").or(Some(l).filter(|l| !l.starts_with('#')))?;
            Some(l.split(['{', ' ']).next()?.to_string())
        })
        .collect();
    for file in ["deploy/grafana/fragtrace.json", "deploy/prometheus/alerts.yaml"] {
        let text = std::fs::read_to_string(repo.join(file)).expect(file);
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} queries no fragtrace metric");
        for name in used {
            let family = ["_bucket", "_count", "_sum"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(&name);
            assert!(exposed.contains(&name) || exposed.contains(family), "{file} uses {name}, which /metrics does not have");
        }
    }
}

#[test]
fn prometheus_scrapes_the_failures_by_order() {
    let _serial = require_root();
    serve_and_scrape(&built_binary("fragtrace"));
}

fn static_binary() -> PathBuf {
    let path = std::env::var_os("FRAGTRACE_STATIC_BIN").map(PathBuf::from).expect(
        "FRAGTRACE_STATIC_BIN is not set: run `cargo xtask test`, which builds the static binary with `cargo xtask dist` and points this test at it",
    );
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

#[test]
fn the_static_binary_is_static_and_serves_too() {
    let _serial = require_root();
    let binary = static_binary();
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    let said = format!("{}{}", String::from_utf8_lossy(&ldd.stdout), String::from_utf8_lossy(&ldd.stderr));
    assert!(said.contains("not a dynamic executable") || said.contains("statically linked"), "ldd says: {said}");
    serve_and_scrape(&binary);
}
