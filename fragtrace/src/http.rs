//! The metrics endpoint of `fragtrace serve`: a deliberately small HTTP/1.x server. It runs
//! as root on production nodes, so it accepts nothing it does not need: `GET`/`HEAD` of
//! `/metrics`, `/healthz` and `/` only, no request bodies, a request head of at most
//! [`HttpLimits::max_head_bytes`], a deadline for reading it (slow clients are dropped), a
//! bounded number of connections (extra ones get 503), one request per connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};

use crate::metrics::Metrics;

#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub max_head_bytes: usize,
    /// Time allowed to receive the whole request head.
    pub read_timeout: Duration,
    /// Time allowed to send the response.
    pub write_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_connections: 16, max_head_bytes: 8192, read_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(10) }
    }
}

/// What the endpoint serves.
pub struct Endpoint {
    pub metrics: Arc<Metrics>,
    /// False once the session has ended (probes detached): `/healthz` then says 503.
    pub healthy: AtomicBool,
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Accepts connections until the listener fails; each is served in its own task.
pub async fn serve(listener: TcpListener, endpoint: Arc<Endpoint>, limits: HttpLimits) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (mut stream, _) = match listener.accept().await {
            Ok(c) => c,
            // Out of descriptors and the like: wait a little rather than spin.
            Err(e) => {
                log::warn!("metrics endpoint: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // Busy: answer at once and close, without reading the request.
            tokio::spawn(async move {
                let _ = tokio::time::timeout(limits.write_timeout, respond(&mut stream, 503, "text/plain", b"busy\n", false)).await;
            });
            continue;
        };
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = handle(stream, &endpoint, limits).await {
                log::debug!("metrics endpoint: {e}");
            }
        });
    }
}

async fn handle(mut stream: TcpStream, endpoint: &Endpoint, limits: HttpLimits) -> std::io::Result<()> {
    let head = match tokio::time::timeout(limits.read_timeout, read_head(&mut stream, limits.max_head_bytes)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => {
            return tokio::time::timeout(limits.write_timeout, respond(&mut stream, 431, "text/plain", b"request head too large\n", false))
                .await
                .unwrap_or(Ok(()));
        }
        Ok(Err(e)) => return Err(e),
        // Too slow: drop the connection without a word.
        Err(_) => return Ok(()),
    };
    let (status, content_type, body, head_only) = route(&head, endpoint);
    tokio::time::timeout(limits.write_timeout, respond(&mut stream, status, content_type, &body, head_only))
        .await
        .unwrap_or(Ok(()))
}

/// Reads up to the blank line ending the request head; `None` when it exceeds `max`.
async fn read_head(stream: &mut TcpStream, max: usize) -> std::io::Result<Option<String>> {
    // Read straight into the buffer's spare capacity; the head is sliced off it, not copied.
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "client closed before the end of the request head"));
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf.split_to(end);
            return Ok(Some(String::from_utf8_lossy(&head).into_owned()));
        }
        if buf.len() > max {
            return Ok(None);
        }
    }
}

/// Status, content type, body, and whether only the head is sent (HEAD). Fixed bodies are
/// static bytes, metrics the encoder's string: neither is copied on the way out.
fn route(head: &str, endpoint: &Endpoint) -> (u16, &'static str, Bytes, bool) {
    let mut parts = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return (405, "text/plain", Bytes::from_static(b"only GET and HEAD\n"), false);
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        // OpenMetrics for clients that ask for it (Prometheus does), else the classic format.
        "/metrics" if accepts_openmetrics(head) => (200, OPENMETRICS, Bytes::from(endpoint.metrics.encode()), head_only),
        "/metrics" => (200, PROMETHEUS_TEXT, Bytes::from(endpoint.metrics.encode_prometheus()), head_only),
        "/healthz" if endpoint.healthy.load(Ordering::Relaxed) => (200, "text/plain", Bytes::from_static(b"ok\n"), head_only),
        "/healthz" => (503, "text/plain", Bytes::from_static(b"probes detached\n"), head_only),
        "/" => (200, "text/plain", Bytes::from_static(b"fragtrace: metrics at /metrics, health at /healthz\n"), head_only),
        _ => (404, "text/plain", Bytes::from_static(b"not found\n"), head_only),
    }
}

fn accepts_openmetrics(head: &str) -> bool {
    head.lines().skip(1).any(|l| {
        l.split_once(':').is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("accept") && v.contains("application/openmetrics-text"))
    })
}

async fn respond(stream: &mut TcpStream, status: u16, content_type: &str, body: &[u8], head_only: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
        body.len(),
        if status == 405 { "Allow: GET, HEAD\r\n" } else { "" },
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricsOptions;

    async fn start(limits: HttpLimits) -> (std::net::SocketAddr, Arc<Endpoint>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = MetricsOptions { pod_labels: false, max_pods: 0, probe_mode: "tp_btf".into(), alloc_probe_policy: "always".into(), failure_hooks: "tp_btf:mm_page_alloc".into(), complete: true };
        let endpoint = Arc::new(Endpoint { metrics: Arc::new(Metrics::new(&options)), healthy: AtomicBool::new(true) });
        tokio::spawn(serve(listener, endpoint.clone(), limits));
        (addr, endpoint)
    }

    async fn request(addr: std::net::SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(raw).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn serves_metrics_health_and_refuses_the_rest() {
        let (addr, endpoint) = start(HttpLimits::default()).await;
        let r = request(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.contains("openmetrics-text") && r.contains("# TYPE fragtrace_oom_kills counter") && r.ends_with("# EOF\n"), "{r}");
        let r = request(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.contains("version=0.0.4") && r.contains("# TYPE fragtrace_oom_kills_total counter") && !r.contains("# EOF"), "classic format by default: {r}");
        let r = request(addr, b"GET /healthz HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("ok\n"), "{r}");
        endpoint.healthy.store(false, Ordering::Relaxed);
        assert!(request(addr, b"GET /healthz HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 503"));
        let r = request(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200") && !r.contains("fragtrace_build_info"), "HEAD has no body: {r}");
        assert!(request(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").await.starts_with("HTTP/1.1 405"));
        assert!(request(addr, b"DELETE / HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 405"));
        assert!(request(addr, b"GET /../etc/passwd HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 404"));
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        assert!(request(addr, huge.as_bytes()).await.starts_with("HTTP/1.1 431"), "oversized heads are refused");
    }

    #[tokio::test]
    async fn slow_clients_time_out_and_connections_are_bounded() {
        let limits = HttpLimits { max_connections: 2, read_timeout: Duration::from_millis(300), ..HttpLimits::default() };
        let (addr, _) = start(limits).await;
        // Two slow-loris clients hold both slots, sending a byte now and then.
        let mut slow = Vec::new();
        for _ in 0..2 {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"GET /metr").await.unwrap();
            slow.push(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(request(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 503"), "a third connection is turned away");
        // Past the read deadline the slow ones are dropped and the slots free up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for s in &mut slow {
            let _ = s.write_all(b"ics").await;
            let mut rest = Vec::new();
            let n = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut rest)).await.expect("closed by the server");
            assert!(n.is_err() || rest.is_empty(), "no response to a client that missed the deadline");
        }
        assert!(request(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 200"));
    }
}
