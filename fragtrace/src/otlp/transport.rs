//! OTLP/HTTP with protobuf bodies: one POST per batch, the answer classified for the retry
//! policy. hyper-util's client (plain HTTP/1.1, keep-alive), which builds into the static
//! musl binary with nothing else; TLS is left to a Collector (deploy/otel/).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

use super::{
    config::{Destination, Signal},
    delivery::retryable,
};

/// A response body bigger than this is not read (a partial-success answer is small).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What the receiver said.
#[derive(Debug)]
pub enum Answer {
    /// 2xx, with the response body (maybe a partial success).
    Accepted(Bytes),
    /// Worth trying again: no connection, a timeout, or 429/502/503/504.
    Retry { after: Option<Duration>, why: String },
    /// Refused for good (another 4xx or 5xx).
    Refused(String),
}

#[derive(Clone)]
pub struct Transport {
    client: Client<HttpConnector, Full<Bytes>>,
    destination: Destination,
}

impl Transport {
    pub fn new(destination: Destination) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Self { client, destination }
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// POSTs one protobuf-encoded export request, giving up after `timeout`.
    pub async fn post(&self, signal: Signal, body: Vec<u8>, timeout: Duration) -> Answer {
        let mut request = Request::post(self.destination.uri(signal).clone())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header(header::USER_AGENT, concat!("fragtrace/", env!("CARGO_PKG_VERSION")));
        for (name, value) in &self.destination.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(r) => r,
            Err(e) => return Answer::Refused(format!("cannot build the request: {e}")),
        };
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Answer::Retry { after: None, why: format!("no answer within {} s", timeout.as_secs_f64()) },
        }
    }

    async fn exchange(&self, request: Request<Full<Bytes>>) -> Answer {
        let response = match self.client.request(request).await {
            Ok(r) => r,
            Err(e) => return Answer::Retry { after: None, why: format!("{e}: {}", source_chain(&e)) },
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if (200..300).contains(&status) {
            Answer::Accepted(body)
        } else if retryable(status) {
            Answer::Retry { after, why: format!("HTTP {status}") }
        } else {
            Answer::Refused(format!("HTTP {status}: {}", crate::text::printable(&String::from_utf8_lossy(&body[..body.len().min(200)]))))
        }
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out.join(": ")
}

/// `Retry-After` in seconds (the HTTP-date form is not used by OTLP receivers in practice
/// and falls back to the backoff).
fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}
