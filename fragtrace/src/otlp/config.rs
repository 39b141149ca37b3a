//! Where OTLP goes: the endpoint and headers from the command line or the environment
//! variables the OpenTelemetry specification defines for exporters
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{LOGS,METRICS}_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_HEADERS`). A base endpoint gets `/v1/logs` or `/v1/metrics` appended;
//! a per-signal endpoint is used as it is, as the specification says.

use hyper::{
    Uri,
    header::{HeaderName, HeaderValue},
};

use super::OtlpError;

/// The two signals fragtrace sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    Logs,
    Metrics,
}

impl Signal {
    /// The `signal` label of `fragtrace_otlp_records_total`.
    pub fn label(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }

    fn env(self) -> &'static str {
        match self {
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        }
    }
}

/// Resolved destinations: one URL per signal and the extra request headers.
#[derive(Clone, Debug)]
pub struct Destination {
    pub logs: Uri,
    pub metrics: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Destination {
    pub fn uri(&self, signal: Signal) -> &Uri {
        match signal {
            Signal::Logs => &self.logs,
            Signal::Metrics => &self.metrics,
        }
    }
}

/// Resolves the destination from `--otlp-endpoint` (`flag`) and the environment, read
/// through `env` (a parameter so that tests need not touch the process environment).
/// `Ok(None)`: no endpoint anywhere, OTLP is off.
pub fn resolve(flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Option<Destination>, OtlpError> {
    let nonempty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] {
        if let Some(protocol) = nonempty(name).filter(|p| p.trim() != "http/protobuf") {
            return Err(OtlpError::Config(format!("{name}={protocol}: fragtrace sends http/protobuf only (unset it, or point it at a receiver's OTLP/HTTP port, 4318)")));
        }
    }
    let base = flag.map(str::to_string).or_else(|| nonempty("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let per_signal = |signal: Signal| -> Result<Option<Uri>, OtlpError> {
        match nonempty(signal.env()) {
            Some(url) => parse_http_uri(url.trim()).map(Some),
            None => base.as_deref().map(|b| signal_uri(b, signal)).transpose(),
        }
    };
    let (logs, metrics) = (per_signal(Signal::Logs)?, per_signal(Signal::Metrics)?);
    let (Some(logs), Some(metrics)) = (logs, metrics) else {
        if base.is_none() && (nonempty(Signal::Logs.env()).is_some() || nonempty(Signal::Metrics.env()).is_some()) {
            return Err(OtlpError::Config(
                "only one of OTEL_EXPORTER_OTLP_LOGS_ENDPOINT and _METRICS_ENDPOINT is set: set both, or OTEL_EXPORTER_OTLP_ENDPOINT / --otlp-endpoint".into(),
            ));
        }
        return Ok(None);
    };
    let headers = match nonempty("OTEL_EXPORTER_OTLP_HEADERS") {
        Some(raw) => parse_headers(&raw)?,
        None => Vec::new(),
    };
    Ok(Some(Destination { logs, metrics, headers }))
}

/// `base` + `/v1/logs` (or metrics), with one slash between them.
pub fn signal_uri(base: &str, signal: Signal) -> Result<Uri, OtlpError> {
    let base = base.trim().trim_end_matches('/');
    parse_http_uri(&format!("{base}{}", signal.path()))
}

fn parse_http_uri(url: &str) -> Result<Uri, OtlpError> {
    let uri: Uri = url.parse().map_err(|e| OtlpError::Config(format!("OTLP endpoint {url:?} is not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => Ok(uri),
        Some("https") => Err(OtlpError::Config(format!(
            "OTLP endpoint {url:?}: https is not supported by this build; send to a Collector on the node or in the cluster over http (deploy/otel/) and let it speak TLS onwards"
        ))),
        _ => Err(OtlpError::Config(format!("OTLP endpoint {url:?} must be an http://HOST[:PORT] URL"))),
    }
}

/// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas, values
/// percent-decoded (the W3C Baggage format the specification refers to).
pub fn parse_headers(raw: &str) -> Result<Vec<(HeaderName, HeaderValue)>, OtlpError> {
    let mut headers = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(OtlpError::Config(format!("OTEL_EXPORTER_OTLP_HEADERS: {pair:?} is not key=value")));
        };
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8()
            .map_err(|_| OtlpError::Config(format!("OTEL_EXPORTER_OTLP_HEADERS: the value of {key:?} is not UTF-8 once decoded")))?;
        let name = HeaderName::from_bytes(key.trim().as_bytes())
            .map_err(|_| OtlpError::Config(format!("OTEL_EXPORTER_OTLP_HEADERS: {key:?} is not a header name")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| OtlpError::Config(format!("OTEL_EXPORTER_OTLP_HEADERS: the value of {key:?} is not a valid header value")))?;
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_base_endpoint_gets_the_signal_paths() {
        let d = resolve(Some("http://collector:4318/"), env_of(&[])).unwrap().unwrap();
        assert_eq!(d.logs, "http://collector:4318/v1/logs");
        assert_eq!(d.metrics, "http://collector:4318/v1/metrics");
        let d = resolve(None, env_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/prefix")])).unwrap().unwrap();
        assert_eq!(d.logs, "http://c:4318/prefix/v1/logs");
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_per_signal_urls_are_taken_as_they_are() {
        let env = env_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"), ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://loki:3100/otlp/v1/logs")]);
        let d = resolve(Some("http://flag:4318"), env).unwrap().unwrap();
        assert_eq!(d.logs, "http://loki:3100/otlp/v1/logs");
        assert_eq!(d.metrics, "http://flag:4318/v1/metrics");
    }

    #[test]
    fn no_endpoint_is_off_and_bad_ones_are_errors() {
        assert!(resolve(None, env_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])).unwrap().is_none());
        for bad in ["collector:4318", "ftp://x", "https://collector:4318", "http://"] {
            assert!(resolve(Some(bad), env_of(&[])).is_err(), "{bad}");
        }
        assert!(resolve(None, env_of(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://a/v1/logs")])).is_err());
        assert!(resolve(Some("http://c:4317"), env_of(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).is_err(), "gRPC is refused, not silently spoken to in HTTP");
        assert!(resolve(Some("http://c:4318"), env_of(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")])).unwrap().is_some());
    }

    #[test]
    fn headers_are_percent_decoded_pairs() {
        let h = parse_headers("Authorization=Basic%20dXNlcjpwdw%3D%3D, X-Scope-OrgID = tenant-1 ,").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].0, "authorization");
        assert_eq!(h[0].1, "Basic dXNlcjpwdw==");
        assert_eq!(h[1].0, "x-scope-orgid");
        assert_eq!(h[1].1, "tenant-1");
        assert!(parse_headers("novalue").is_err());
        assert!(parse_headers("bad key=1").is_err());
        assert!(parse_headers("k=a%0Ab").is_err(), "a decoded newline is refused");
    }
}
