use std::{collections::BTreeSet, sync::Arc};

use opentelemetry_proto::tonic::common::v1::any_value;

use super::*;
use crate::{
    event::{Event, Failure, Stall, StallKind, Task},
    gfp::eras::Era,
    metrics::{Metrics, MetricsOptions, MetricsSink, to_prometheus_text},
    otlp::delivery::Accounting,
    sink::Sink,
};

const STAMP: Stamp = Stamp { start_ns: 1, now_ns: 2 };

fn options() -> MetricsOptions {
    MetricsOptions { pod_labels: true, max_pods: 10, probe_mode: "tp_btf".into(), alloc_probe_policy: "always".into(), failure_hooks: "tp_btf:mm_page_alloc".into(), complete: true }
}

fn task() -> Task {
    Task { ts_ns: 5, cpu: 0, pid: 7, tgid: 7, cgroup_id: 1, comm: "x".into() }
}

/// A registry with a failure, a stall and the OTLP loss counters, as `serve` has it.
fn busy_metrics() -> Arc<Metrics> {
    let mut metrics = Metrics::new(&options());
    Accounting::default().register(metrics.registry_mut());
    let metrics = Arc::new(metrics);
    let gfp = Era::V5_1.table();
    let mut sink = MetricsSink::new(metrics.clone(), gfp.clone(), 9, &options());
    let mask = gfp.value_of("GFP_KERNEL").unwrap();
    sink.event(&Event::Failure(Failure { task: task(), order: 6, gfp_mask: mask, migratetype: 0, stack_id: None, ancestry: vec![], captured_cgroup: None, hook: Default::default() })).unwrap();
    for us in [50, 3000, 3000] {
        sink.event(&Event::Stall(Stall { task: task(), kind: StallKind::Compaction, order: 4, gfp_mask: mask, duration_ns: us * 1000, result: 0 })).unwrap();
    }
    metrics
}

/// Family names a Prometheus scrape shows (`# TYPE` lines of the 0.0.4 text) that have samples.
fn scraped_names(prometheus_text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut declared: Option<String> = None;
    for line in prometheus_text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared = rest.split(' ').next().map(str::to_string);
        } else if !line.starts_with('#') && !line.is_empty() {
            names.extend(declared.clone());
        }
    }
    names
}

#[test]
fn otlp_names_are_the_names_a_scrape_shows() {
    let metrics = busy_metrics();
    let exported = from_exposition(&metrics.encode(), STAMP);
    let otlp: BTreeSet<String> = exported.iter().map(|m| m.name.clone()).collect();
    assert_eq!(otlp, scraped_names(&metrics.encode_prometheus()));
    assert!(otlp.contains("fragtrace_alloc_failures_total") && otlp.contains("fragtrace_stall_seconds") && otlp.contains("fragtrace_otlp_records_total"), "{otlp:?}");
    assert_eq!(exported.len(), otlp.len(), "one metric per name");
    assert_eq!(scraped_names(&to_prometheus_text(&metrics.encode())), otlp);
}

fn find<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
    metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name}"))
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.as_str()),
        _ => None,
    })
}

#[test]
fn counters_are_cumulative_monotonic_sums_with_their_labels() {
    let exported = from_exposition(&busy_metrics().encode(), STAMP);
    let Some(Data::Sum(sum)) = &find(&exported, "fragtrace_alloc_failures_total").data else { panic!("a Sum") };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
    let point = &sum.data_points[0];
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(1)));
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (1, 2));
    assert_eq!(attr(&point.attributes, "order"), Some("6"));
    assert_eq!(attr(&point.attributes, "gfp_class"), Some("kernel"));
    assert_eq!(attr(&point.attributes, "nowarn"), Some("false"));
    assert!(matches!(find(&exported, "fragtrace_build_info").data, Some(Data::Gauge(_))));
}

#[test]
fn histograms_keep_their_buckets_sum_and_count() {
    let exported = from_exposition(&busy_metrics().encode(), STAMP);
    let Some(Data::Histogram(h)) = &find(&exported, "fragtrace_stall_seconds").data else { panic!("a Histogram") };
    let point = &h.data_points[0];
    assert_eq!(attr(&point.attributes, "kind"), Some("compaction"));
    assert!(attr(&point.attributes, "le").is_none());
    assert_eq!(point.count, 3);
    assert!((point.sum.unwrap() - 0.00605).abs() < 1e-9);
    assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1, "the +Inf bucket is implied");
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 3, "per-bucket counts, not cumulative");
    let first_over = point.explicit_bounds.iter().position(|&b| b >= 0.003).unwrap();
    assert_eq!(point.bucket_counts[first_over], 2);
}

#[test]
fn label_values_are_unescaped_and_odd_lines_skipped() {
    let text = "# HELP fragtrace_x A gauge.\n# TYPE fragtrace_x gauge\n# UNIT fragtrace_x seconds\nfragtrace_x{pod=\"a\\\"b\\\\c\\nd\",ns=\"\"} -1.5\ngarbage\n# TYPE fragtrace_empty counter\n# EOF\n";
    let exported = from_exposition(text, STAMP);
    assert_eq!(exported.len(), 1, "families without samples are left out");
    let Some(Data::Gauge(g)) = &exported[0].data else { panic!("a Gauge") };
    assert_eq!(exported[0].description, "A gauge.");
    assert_eq!(attr(&g.data_points[0].attributes, "pod"), Some("a\"b\\c\nd"));
    assert_eq!(attr(&g.data_points[0].attributes, "ns"), Some(""));
    assert_eq!(g.data_points[0].value, Some(number_data_point::Value::AsDouble(-1.5)));
}
