//! `/metrics` as OTLP metrics. The source of truth is the registry's own OpenMetrics text
//! ([`crate::metrics::Metrics::encode`]), read back here: every family on `/metrics` is sent
//! under the name a Prometheus scrape shows, with the same labels as attributes, so the two
//! cannot drift apart. prometheus-client has no pluggable encoder to walk the registry with;
//! the text format is the stable interface it offers, and what it writes is a small, known
//! subset (counters, gauges, histograms; no exemplars).
//!
//! Names: a counter family `x` is sent as the Sum `x_total` (its sample name, and its name in
//! the Prometheus text format), gauges as Gauges under their names, a histogram `x` as the
//! Histogram `x` (its `x_bucket`/`x_sum`/`x_count` series on `/metrics`).

use opentelemetry_proto::tonic::{
    common::v1::KeyValue,
    metrics::v1::{AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum, metric::Data, number_data_point},
};

use super::records::{kv, string};

/// One sample line: name, labels in order, value.
#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    integral: bool,
}

/// A family as declared by `# TYPE` (and `# HELP`), with its samples.
#[derive(Debug, Default)]
struct Family {
    name: String,
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

/// Times stamped on every data point: cumulative values count from `start_ns`.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub start_ns: u64,
    pub now_ns: u64,
}

/// The metrics of an OpenMetrics (or Prometheus text) exposition; families without a sample
/// are left out (there is nothing to send).
pub fn from_exposition(text: &str, stamp: Stamp) -> Vec<Metric> {
    parse(text).into_iter().filter(|f| !f.samples.is_empty()).map(|f| to_metric(f, stamp)).collect()
}

fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            let help = families.last().filter(|f| f.name == name && f.kind.is_empty()).map(|f| f.help.clone());
            if help.is_some() {
                families.pop();
            }
            families.push(Family { name: name.into(), kind: kind.into(), help: help.unwrap_or_default(), samples: vec![] });
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.push(Family { name: name.into(), help: help.replace("\\n", "\n").replace("\\\\", "\\"), ..Default::default() });
        } else if !line.starts_with('#')
            && !line.trim().is_empty()
            && let (Some(sample), Some(family)) = (parse_sample(line), families.last_mut())
        {
            family.samples.push(sample);
        }
    }
    families.retain(|f| !f.kind.is_empty());
    families
}

/// `name{a="x",b="y"} value [timestamp]`, label values unescaped.
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inner)?;
        labels = parsed;
        rest = after;
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample { name, labels, value, integral: !value_text.contains(['.', 'e', 'E', 'I', 'N']) })
}

/// Labels up to the closing `}`; returns them and the text after it.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([',', ' ']);
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after) = s.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim().to_string(), value));
        s = &after[end + 1..];
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().filter(|(k, _)| k != "le").map(|(k, v)| kv(k, string(v.clone()))).collect()
}

fn number_point(s: &Sample, stamp: Stamp, cumulative: bool) -> NumberDataPoint {
    let value = if s.integral && s.value.abs() < 9.0e15 { number_data_point::Value::AsInt(s.value as i64) } else { number_data_point::Value::AsDouble(s.value) };
    NumberDataPoint {
        attributes: attributes(&s.labels),
        start_time_unix_nano: if cumulative { stamp.start_ns } else { 0 },
        time_unix_nano: stamp.now_ns,
        value: Some(value),
        ..Default::default()
    }
}

fn to_metric(family: Family, stamp: Stamp) -> Metric {
    let (name, data) = match family.kind.as_str() {
        "counter" => {
            let total = format!("{}_total", family.name);
            let points = family.samples.iter().filter(|s| s.name == total).map(|s| number_point(s, stamp, true)).collect();
            (total, Data::Sum(Sum { data_points: points, aggregation_temporality: AggregationTemporality::Cumulative as i32, is_monotonic: true }))
        }
        "histogram" => (family.name.clone(), Data::Histogram(histogram(&family, stamp))),
        _ => (family.name.clone(), Data::Gauge(Gauge { data_points: family.samples.iter().map(|s| number_point(s, stamp, false)).collect() })),
    };
    Metric { name, description: family.help, data: Some(data), ..Default::default() }
}

/// Histogram series, grouped by their labels without `le`; cumulative bucket counts become
/// OTLP's per-bucket counts, and the `+Inf` bound is implied.
fn histogram(family: &Family, stamp: Stamp) -> Histogram {
    let mut points: Vec<(Vec<(String, String)>, HistogramDataPoint)> = Vec::new();
    for s in &family.samples {
        let key: Vec<(String, String)> = s.labels.iter().filter(|(k, _)| k != "le").cloned().collect();
        let index = match points.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let point = HistogramDataPoint { attributes: attributes(&key), start_time_unix_nano: stamp.start_ns, time_unix_nano: stamp.now_ns, ..Default::default() };
                points.push((key, point));
                points.len() - 1
            }
        };
        let point = &mut points[index].1;
        match s.name.strip_prefix(family.name.as_str()) {
            Some("_sum") => point.sum = Some(s.value),
            Some("_count") => point.count = s.value as u64,
            Some("_bucket") => {
                let le = s.labels.iter().find(|(k, _)| k == "le").and_then(|(_, v)| if v == "+Inf" { Some(f64::INFINITY) } else { v.parse().ok() });
                let cumulative = s.value as u64;
                let below: u64 = point.bucket_counts.iter().sum();
                point.bucket_counts.push(cumulative.saturating_sub(below));
                if let Some(le) = le.filter(|l| l.is_finite()) {
                    point.explicit_bounds.push(le);
                }
            }
            _ => {}
        }
    }
    Histogram { data_points: points.into_iter().map(|(_, p)| p).collect(), aggregation_temporality: AggregationTemporality::Cumulative as i32 }
}


/// Data points in a metric (what `fragtrace_otlp_records_total{signal="metrics"}` counts).
pub fn point_count(metric: &Metric) -> usize {
    match &metric.data {
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(_) | None => 0,
    }
}

#[cfg(test)]
mod tests;
