//! `fragtrace serve`: Prometheus/OpenMetrics metrics for fleets, on `--listen`.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::Context;
use clap::Args;
use fragtrace::{
    http::{Endpoint, HttpLimits},
    metrics::{Metrics, MetricsOptions, MetricsSink},
    session::RunOptions,
};
use tokio::{net::TcpListener, sync::Notify};

use super::{FilterArgs, ProbeArgs, live, parse_duration};

#[derive(Debug, Args)]
#[command(after_help = "Metric names and labels: docs/metrics.md. Every label is bounded (orders, GFP \
classes, migratetypes; pods only with --pod-labels, capped by --max-pods), so the series count \
does not grow with the workload. The endpoint serves GET /metrics and /healthz only, one request \
per connection, with size, time and connection limits.\n\n\
With --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) every failure is also pushed as an OTLP \
log record (process, pod, order, GFP flags, kernel stack, known cause) and the same metrics over \
OTLP/HTTP, through a bounded queue that never slows the probes; losses are counted in \
fragtrace_otlp_records_total. docs/otlp.md has every attribute, deploy/otel/ a Collector.\n\n\
Examples:\n  \
  sudo fragtrace serve\n  \
  sudo fragtrace serve --listen 0.0.0.0:9862 --pod-labels\n  \
  curl -s localhost:9862/metrics | grep fragtrace_alloc_failures_total\n  \
  sudo fragtrace serve --otlp-endpoint http://otel-collector:4318 --otlp-max-logs-per-sec 50")]
pub struct ServeArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Address to serve on. Loopback by default; the DaemonSet passes the pod's address.
    #[arg(long, default_value = "127.0.0.1:9862", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Also count failures per Kubernetes pod (fragtrace_pod_alloc_failures_total).
    #[arg(long)]
    pub pod_labels: bool,
    /// With --pod-labels: pods with a series of their own at once. A further pod takes the
    /// series of the pod that failed longest ago, if that was over an hour ago; otherwise its
    /// failures count under pod="_other".
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_pods: usize,
    /// How often the zone gauges (free blocks, indices) are refreshed from /proc/buddyinfo.
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "DURATION")]
    pub zones_interval: Duration,
    #[command(flatten)]
    pub otlp: super::otlp::OtlpArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let filter = args.filter.to_filter()?;
    let (otlp_to, otlp_options) = (args.otlp.destination()?, args.otlp.options()?);
    let mut session = live::start_session(&args.probe).await?;
    let probes = session.probes();
    let options = MetricsOptions {
        pod_labels: args.pod_labels,
        max_pods: args.max_pods,
        probe_mode: probes.mode.to_string(),
        alloc_probe_policy: probes.hooks.resolved().to_string(),
        failure_hooks: probes.hooks.label(),
        complete: probes.hooks.complete,
    };
    let mut metrics = Metrics::new(&options);
    let otlp_accounting = fragtrace::otlp::Accounting::default();
    if otlp_to.is_some() {
        otlp_accounting.register(metrics.registry_mut());
    }
    let metrics = Arc::new(metrics);
    let mut sink = MetricsSink::new(metrics.clone(), probes.kernel.gfp.clone(), probes.kernel.pageblock_order, &options);
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    live::harden(false);
    let endpoint = Arc::new(Endpoint { metrics, healthy: AtomicBool::new(true) });
    let server = tokio::spawn(fragtrace::http::serve(listener, endpoint.clone(), HttpLimits::default()));
    // Handlers first: a SIGTERM right after the readiness line must stop cleanly too.
    let stop = live::stop_signal(None, Arc::new(Notify::new()))?;
    eprintln!(
        "fragtrace: serving metrics on http://{}/metrics (failures watched by {}); Ctrl-C or SIGTERM stops",
        args.listen,
        session.probes().hooks.describe()
    );
    let run = RunOptions { tick: Duration::from_secs(1), zones_every: Some(args.zones_interval), filter };
    let exporter = otlp_to.map(|to| fragtrace::otlp::Exporter::start(to, otlp_options, otlp_accounting, Some(endpoint.metrics.clone())));
    let kernel = &session.probes().kernel;
    let mut otlp_sink = exporter.as_ref().map(|e| e.log_sink(kernel.gfp.clone(), kernel.pageblock_order));
    if let Some(e) = &exporter {
        eprintln!("fragtrace: pushing OTLP to {} and {}", e.destination().logs, e.destination().metrics);
    }
    let mut sinks: Vec<&mut dyn fragtrace::sink::Sink> = vec![&mut sink];
    sinks.extend(otlp_sink.as_mut().map(|s| s as &mut dyn fragtrace::sink::Sink));
    let result = session.run(&mut sinks, &run, stop).await;
    drop(sinks);
    drop(otlp_sink);
    if let Some(exporter) = exporter {
        exporter.shutdown(args.otlp.otlp_flush_timeout).await;
    }
    endpoint.healthy.store(false, std::sync::atomic::Ordering::Relaxed);
    server.abort();
    result.context("the probe session failed")?;
    eprintln!("fragtrace: stopped serving");
    Ok(())
}
