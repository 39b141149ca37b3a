//! Prometheus/OpenMetrics view (`fragtrace serve`): a sink that keeps counters, gauges and
//! histograms in a `prometheus-client` registry, encoded on every scrape.
//!
//! Every label takes values from a bounded set whatever the workload (orders are capped,
//! GFP masks fold into a handful of classes, migratetypes are the kernel's few, pods are
//! capped with an overflow bucket), so a storm of distinct processes or masks cannot grow the
//! series count: fleets pay per series. Names and labels are documented in docs/metrics.md.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::AtomicU64},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::{
    definitions::Definitions,
    event::{Counters, Event, StallKind, migratetype_name},
    gfp::GfpTable,
    host::zones::ZoneSnapshot,
    identity::Workload,
    probe_status::AllocProbeState,
    sink::{Sink, SinkError},
};

/// Orders above this share one label value, "10" (MAX_PAGE_ORDER on x86_64).
const MAX_ORDER_LABEL: u32 = 10;
/// The pod label of failures beyond `--max-pods` distinct pods.
pub const OVERFLOW_POD: &str = "_other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    order: u32,
    gfp_class: &'static str,
    nowarn: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PodLabels {
    namespace: String,
    pod: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExtfragLabels {
    alloc_migratetype: &'static str,
    fallback_migratetype: &'static str,
    fragmenting: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneOrderLabels {
    node: u32,
    zone: String,
    order: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StallLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    mode: String,
    alloc_probe: String,
    /// The programs that watch failures: `fexit:__alloc_pages_slowpath,…`, `tp_btf:mm_page_alloc`.
    hooks: String,
}

/// The GFP class of a mask: a bounded label for dashboards. Decided from the kernel's own
/// names for the mask (its `__print_flags` table), most specific first.
pub fn gfp_class(gfp: &GfpTable, mask: u64) -> &'static str {
    let names = gfp.decode(mask);
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("GFP_TRANSHUGE") || has("GFP_TRANSHUGE_LIGHT") {
        "transhuge"
    } else if has("GFP_ATOMIC") {
        "atomic"
    } else if has("GFP_NOWAIT") {
        "nowait"
    } else if has("GFP_HIGHUSER_MOVABLE") || has("GFP_HIGHUSER") || has("GFP_USER") {
        "user_movable"
    } else if has("GFP_KERNEL") || has("GFP_KERNEL_ACCOUNT") || has("GFP_NOFS") || has("GFP_NOIO") {
        "kernel"
    } else {
        "other"
    }
}

/// Options of the metrics view.
#[derive(Clone, Debug)]
pub struct MetricsOptions {
    /// Also count failures per pod (`--pod-labels`).
    pub pod_labels: bool,
    /// Pods with a series of their own at once; a further pod takes over the series of one
    /// idle for [`POD_SERIES_IDLE`], or else counts under [`OVERFLOW_POD`].
    pub max_pods: usize,
    pub probe_mode: String,
    pub alloc_probe_policy: String,
    /// `ProbeLabels::hooks`.
    pub failure_hooks: String,
    /// Every failure is seen from the first moment (not `on-pressure`).
    pub complete: bool,
}

/// The metric handles, shared between the session (writer) and the HTTP server (reader).
pub struct Metrics {
    registry: Registry,
    failures: Family<FailureLabels, Counter>,
    pod_failures: Family<PodLabels, Counter>,
    extfrag: Family<ExtfragLabels, Counter>,
    polluters: Family<polluters::PolluterLabels, Counter>,
    free_blocks: Family<ZoneOrderLabels, Gauge>,
    unusable: Family<ZoneOrderLabels, Gauge<f64, AtomicU64>>,
    fragmentation: Family<ZoneOrderLabels, Gauge<f64, AtomicU64>>,
    pageblocks: pageblocks::PageblockGauges,
    stalls: Family<StallLabels, Histogram>,
    ooms: Counter,
    dropped: Counter,
    allocs_seen: Counter,
    alloc_probe_attached: Gauge,
    events: Counter,
}

/// Stall latencies from 10 µs to about 2.6 s in ×4 steps.
fn register_stalls(registry: &mut Registry) -> Family<StallLabels, Histogram> {
    let stalls = Family::<StallLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(1e-5, 4.0, 10)));
    registry.register("stall_seconds", "Time tasks stalled in direct reclaim, memory-cgroup reclaim or direct compaction", stalls.clone());
    stalls
}

/// The static facts: whether the probes are complete, how failures are watched, and the build.
fn register_probe_info(registry: &mut Registry, options: &MetricsOptions) {
        let complete = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        complete.set(i64::from(options.complete));
        registry.register(
            "failure_hooks_complete",
            "1 when the chosen probes see every failure from the first moment (--alloc-probe auto, always or fexit); 0 with on-pressure, which misses failures no slow-path signal precedes",
            complete,
        );
        let probe = Family::<ProbeLabels, Gauge>::default();
        probe
            .get_or_create(&ProbeLabels {
                mode: options.probe_mode.clone(),
                alloc_probe: options.alloc_probe_policy.clone(),
                hooks: options.failure_hooks.clone(),
            })
            .set(1);
        registry.register(
            "probe",
            "How failures are watched: mm_page_alloc mode (tp_btf or classic), --alloc-probe as resolved (always, fexit, on-pressure), and the programs attached",
            probe,
        );
        // A gauge, not an OpenMetrics info metric: the classic text parsers (promtool, older
        // scrapers) know only counter, gauge, histogram, summary and untyped.
        let build = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        build.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))]).set(1);
        registry.register("build_info", "fragtrace build information (always 1)", build);
}

impl Metrics {
    pub fn new(options: &MetricsOptions) -> Self {
        let mut registry = Registry::with_prefix("fragtrace");
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "alloc_failures",
            "Failed page allocations (kmem:mm_page_alloc with no page), by order, GFP class and whether __GFP_NOWARN hid them from dmesg",
            failures.clone(),
        );
        let pod_failures = Family::<PodLabels, Counter>::default();
        if options.pod_labels {
            registry.register(
                "pod_alloc_failures",
                "Failed page allocations by Kubernetes pod (capped; the rest share pod=\"_other\")",
                pod_failures.clone(),
            );
        }
        let extfrag = Family::<ExtfragLabels, Counter>::default();
        registry.register(
            "extfrag_fallbacks",
            "Allocations that fell back to another migratetype's free list (kmem:mm_page_alloc_extfrag); fragmenting = the fallback split a block smaller than a pageblock",
            extfrag.clone(),
        );
        let polluters = polluters::register(&mut registry);
        let free_blocks = Family::<ZoneOrderLabels, Gauge>::default();
        registry.register("zone_free_blocks", "Free blocks per node, zone and order (/proc/buddyinfo)", free_blocks.clone());
        let unusable = Family::<ZoneOrderLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "zone_unusable_index",
            "Unusable free space index for allocations of this order, 0-1: the share of free memory in blocks too small",
            unusable.clone(),
        );
        let fragmentation = Family::<ZoneOrderLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "zone_fragmentation_index",
            "Fragmentation index for allocations of this order, 0-1 (near 1: a failure would be from fragmentation, near 0: from lack of memory); -1 when a free block of the order exists",
            fragmentation.clone(),
        );
        let pageblocks = pageblocks::register(&mut registry);
        let stalls = register_stalls(&mut registry);
        let ooms = Counter::default();
        registry.register("oom_kills", "Tasks chosen by the OOM killer (oom:mark_victim)", ooms.clone());
        let dropped = Counter::default();
        registry.register("ringbuf_dropped_events", "Events the kernel could not queue because the ring buffer was full", dropped.clone());
        let allocs_seen = Counter::default();
        registry.register(
            "page_allocations_seen",
            "Pages the kernel allocated (/proc/vmstat pgalloc_*) while this process ran",
            allocs_seen.clone(),
        );
        let alloc_probe_attached = Gauge::default();
        registry.register(
            "alloc_probe_attached",
            "1 while every failure is watched (kmem:mm_page_alloc attached, or fexit programs); with --alloc-probe on-pressure, 0 while idle: failures can be missed then",
            alloc_probe_attached.clone(),
        );
        let events = Counter::default();
        registry.register("events", "Events received from the kernel (after filters)", events.clone());
        register_probe_info(&mut registry, options);
        Self {
            registry,
            failures,
            pod_failures,
            extfrag,
            polluters,
            free_blocks,
            unusable,
            fragmentation,
            pageblocks,
            stalls,
            ooms,
            dropped,
            allocs_seen,
            alloc_probe_attached,
            events,
        }
    }

    /// Registers more families (e.g. the OTLP exporter's loss counters) before sharing.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The OpenMetrics text exposition of everything, ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The classic Prometheus text format (0.0.4), for clients that do not ask for
    /// OpenMetrics (promtool, curl, older scrapers).
    pub fn encode_prometheus(&self) -> String {
        to_prometheus_text(&self.encode())
    }
}

/// OpenMetrics → Prometheus text 0.0.4. The two differ, for what fragtrace emits, in counter
/// naming (OpenMetrics names the family `x` and its sample `x_total`; the classic format
/// names both `x_total`) and in the `# EOF` terminator.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, text)) = pending_help.take() {
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            pending_help = Some((name, text));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let exposed = if kind == "counter" { format!("{name}_total") } else { name.to_string() };
            if let Some((help_name, text)) = pending_help.take() {
                let help_name = if help_name == name { exposed.as_str() } else { help_name };
                out.push_str(&format!("# HELP {help_name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {exposed} {kind}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// How long a pod's series must have seen no failure before a new pod may take its place
/// once `--max-pods` are labelled.
pub const POD_SERIES_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A label value as the exposition formats need it. prometheus-client writes label values
/// as they are, and pod names come from container annotations (outside data): a quote or a
/// newline there would break the whole scrape or forge a series. Control characters are
/// escaped first (as everywhere, [`crate::text::printable`]), then `\`, `"` and newlines
/// as OpenMetrics and the Prometheus text format both require.
fn label_value(raw: &str) -> String {
    let printable = crate::text::printable(raw);
    let mut out = String::with_capacity(printable.len());
    for c in printable.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A workload's pod label (namespace, name or else UID), escaped for the exposition.
fn pod_key(workload: &Workload) -> Option<(String, String)> {
    let uid = workload.container.pod_uid.as_ref().or(workload.pod.pod_uid.as_ref());
    let pod = workload.pod.pod_name.as_ref().or(uid)?;
    Some((label_value(workload.pod.pod_namespace.as_deref().unwrap_or_default()), label_value(pod)))
}

/// Feeds [`Metrics`] from a session.
pub struct MetricsSink {
    metrics: Arc<Metrics>,
    gfp: GfpTable,
    nowarn_bit: u64,
    pageblock_order: u32,
    pod_labels: bool,
    max_pods: usize,
    /// The stream's workloads (see [`Sink::use_definitions`]), for pod labels.
    definitions: Definitions,
    /// Pods that have a series of their own, with the time of their last failure.
    labelled_pods: HashMap<(String, String), u64>,
    /// Last kernel counters, to turn cumulative values into increments.
    last: Counters,
    gfp_classes: HashMap<u64, &'static str>,
    polluter_series: polluters::PolluterSeries,
}

impl MetricsSink {
    pub fn new(metrics: Arc<Metrics>, gfp: GfpTable, pageblock_order: u32, options: &MetricsOptions) -> Self {
        let nowarn_bit = gfp.value_of("__GFP_NOWARN").unwrap_or(0);
        Self {
            metrics,
            gfp,
            nowarn_bit,
            pageblock_order,
            pod_labels: options.pod_labels,
            max_pods: options.max_pods,
            definitions: Definitions::new(),
            labelled_pods: Default::default(),
            last: Counters::default(),
            gfp_classes: HashMap::new(),
            polluter_series: Default::default(),
        }
    }

    fn class(&mut self, mask: u64) -> &'static str {
        if let Some(c) = self.gfp_classes.get(&mask) {
            return c;
        }
        let c = gfp_class(&self.gfp, mask);
        // Masks are few in practice; the cache is bounded anyway.
        if self.gfp_classes.len() < 4096 {
            self.gfp_classes.insert(mask, c);
        }
        c
    }

    /// The series a failure at `now_ns` of a task in `cgroup_id` counts in. A DaemonSet's
    /// `serve` sees pods come and go for months: once `--max-pods` pods have series, the
    /// one that failed longest ago gives its series up to a newcomer if that was more than
    /// [`POD_SERIES_IDLE`] ago (Prometheus marks the series stale; `increase()` over it stays
    /// right). Otherwise the newcomer counts under `_other`.
    fn pod_label(&mut self, cgroup_id: u64, now_ns: u64) -> Option<PodLabels> {
        let key = pod_key(&*self.definitions.workload(cgroup_id)?)?;
        if let Some(last) = self.labelled_pods.get_mut(&key) {
            *last = (*last).max(now_ns);
        } else if self.labelled_pods.len() < self.max_pods || self.evict_idle_pod(now_ns) {
            self.labelled_pods.insert(key.clone(), now_ns);
        } else {
            return Some(PodLabels { namespace: OVERFLOW_POD.into(), pod: OVERFLOW_POD.into() });
        }
        let (namespace, pod) = key;
        Some(PodLabels { namespace, pod })
    }

    /// Removes the series of the pod idle longest, if idle for [`POD_SERIES_IDLE`].
    fn evict_idle_pod(&mut self, now_ns: u64) -> bool {
        let Some((key, last)) = self.labelled_pods.iter().min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0))).map(|(k, l)| (k.clone(), *l)) else {
            return false;
        };
        if now_ns.saturating_sub(last) < POD_SERIES_IDLE.as_nanos() as u64 {
            return false;
        }
        self.labelled_pods.remove(&key);
        self.metrics.pod_failures.remove(&PodLabels { namespace: key.0, pod: key.1 });
        true
    }
}

impl Sink for MetricsSink {
    fn use_definitions(&mut self, definitions: &Definitions) {
        self.definitions = definitions.clone();
    }

    fn event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.metrics.events.inc();
        match event {
            Event::Failure(f) => {
                let labels = FailureLabels {
                    order: f.order.min(MAX_ORDER_LABEL),
                    gfp_class: self.class(f.gfp_mask),
                    nowarn: if self.nowarn_bit != 0 && f.gfp_mask & self.nowarn_bit != 0 { "true" } else { "false" },
                };
                self.metrics.failures.get_or_create(&labels).inc();
                if self.pod_labels
                    && let Some(pod) = self.pod_label(f.task.cgroup_id, f.task.ts_ns)
                {
                    self.metrics.pod_failures.get_or_create(&pod).inc();
                }
            }
            Event::Extfrag(e) => {
                let labels = ExtfragLabels {
                    alloc_migratetype: migratetype_name(e.alloc_migratetype),
                    fallback_migratetype: migratetype_name(e.fallback_migratetype),
                    fragmenting: if e.fragmenting(self.pageblock_order) { "true" } else { "false" },
                };
                self.metrics.extfrag.get_or_create(&labels).inc();
                let who = self.polluter_series.labels(e, self.pageblock_order, &self.definitions, self.pod_labels);
                self.metrics.polluters.get_or_create(&who).inc();
            }
            Event::Stall(s) => {
                let kind = match s.kind {
                    StallKind::Reclaim => "direct_reclaim",
                    StallKind::Compaction => "compaction",
                    StallKind::MemcgReclaim => "memcg_reclaim",
                };
                self.metrics.stalls.get_or_create(&StallLabels { kind }).observe(s.duration_ns as f64 / 1e9);
            }
            // OOM kills and drops are counted from the kernel's counters (below), so an
            // event lost in the ring buffer is still counted.
            Event::Oom(_) | Event::Lost(_) => {}
        }
        Ok(())
    }

    fn zones(&mut self, snapshot: &ZoneSnapshot) -> Result<(), SinkError> {
        for zone in snapshot.zones() {
            for order in 0..zone.free_blocks.len().min(MAX_ORDER_LABEL as usize + 1) as u32 {
                let labels = ZoneOrderLabels { node: zone.node, zone: zone.zone.clone(), order };
                self.metrics.free_blocks.get_or_create(&labels).set(zone.free_blocks[order as usize] as i64);
                let indices = zone.indices(order);
                self.metrics.unusable.get_or_create(&labels).set(indices.unusable);
                self.metrics.fragmentation.get_or_create(&labels).set(indices.fragmentation.unwrap_or(-1.0));
            }
        }
        pageblocks::update(&self.metrics.pageblocks, snapshot.pagetypeinfo.as_deref());
        Ok(())
    }

    fn alloc_probe(&mut self, state: &AllocProbeState) -> Result<(), SinkError> {
        self.metrics.alloc_probe_attached.set(i64::from(state.attached));
        Ok(())
    }

    fn tick(&mut self, _ts_ns: u64, c: &Counters) -> Result<(), SinkError> {
        self.metrics.ooms.inc_by(c.ooms.saturating_sub(self.last.ooms));
        self.metrics.dropped.inc_by(c.dropped.saturating_sub(self.last.dropped));
        self.metrics.allocs_seen.inc_by(c.allocs_seen.saturating_sub(self.last.allocs_seen));
        self.last = *c;
        Ok(())
    }

    fn finish(&mut self, c: &Counters) -> Result<(), SinkError> {
        self.tick(0, c)
    }
}

mod pageblocks;
mod polluters;
pub use polluters::MAX_POLLUTER_SERIES;

#[cfg(test)]
mod tests;
