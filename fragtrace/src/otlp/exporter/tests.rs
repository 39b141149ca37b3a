//! The exporter against a scripted in-process HTTP server: retries, refusals, partial
//! success, the queue bound and the shutdown deadline.

use std::{sync::Mutex, time::Duration};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsPartialSuccess;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::*;
use crate::otlp::{Exporter, config, records::shed_record};

/// One scripted answer: status, extra header lines, body.
type Reply = (u16, &'static str, Vec<u8>);

/// Serves `replies` in order (the last one forever after); returns the port and the bodies
/// of the requests received.
async fn scripted(replies: Vec<Reply>) -> (u16, std::sync::Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let body = read_request(&mut conn).await;
            log.lock().unwrap().push(body);
            let (status, headers, body) = &replies[n.min(replies.len() - 1)];
            n += 1;
            let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n", body.len());
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body).await;
        }
    });
    (port, seen)
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))).unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return buf[end + 4..end + 4 + length].to_vec();
            }
        }
    }
}

fn options() -> ExportOptions {
    ExportOptions {
        queue: 16,
        batch_size: 8,
        batch_delay: Duration::from_millis(20),
        metrics_interval: Duration::from_secs(3600),
        max_logs_per_sec: 0,
        retry_for: Duration::from_secs(5),
        backoff: Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(40) },
    }
}

fn start(port: u16, options: ExportOptions) -> (Exporter, Accounting) {
    let to = config::resolve(Some(&format!("http://127.0.0.1:{port}")), |_| None).unwrap().unwrap();
    let accounting = Accounting::default();
    (Exporter::start(to, options, accounting.clone(), None), accounting)
}

fn record(i: u64) -> LogRecord {
    shed_record(i, 1.0, 1, i)
}

#[tokio::test(flavor = "current_thread")]
async fn retries_on_503_then_counts_a_partial_success() {
    let partial = ExportLogsServiceResponse { partial_success: Some(ExportLogsPartialSuccess { rejected_log_records: 1, error_message: "one bad".into() }) };
    let (port, seen) = scripted(vec![(503, "Retry-After: 0\r\n", vec![]), (502, "", vec![]), (200, "Content-Type: application/x-protobuf\r\n", partial.encode_to_vec())]).await;
    let (exporter, accounting) = start(port, options());
    for i in 0..3 {
        assert!(exporter.offer().offer(record(i)));
    }
    exporter.shutdown(Duration::from_secs(5)).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "two retries, then accepted");
    let request = ExportLogsServiceRequest::decode(seen[2].as_slice()).expect("a protobuf export request");
    assert_eq!(request.resource_logs[0].scope_logs[0].log_records.len(), 3, "one batch");
    assert_eq!(accounting.get(Signal::Logs, Outcome::Sent), 2);
    assert_eq!(accounting.get(Signal::Logs, Outcome::Rejected), 1);
    assert_eq!(accounting.get(Signal::Logs, Outcome::Failed), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn other_client_errors_are_not_retried() {
    let (port, seen) = scripted(vec![(400, "", b"bad".to_vec()), (200, "", vec![])]).await;
    let (exporter, accounting) = start(port, options());
    exporter.offer().offer(record(1));
    exporter.shutdown(Duration::from_secs(5)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(accounting.get(Signal::Logs, Outcome::Rejected), 1);
    assert_eq!(accounting.get(Signal::Logs, Outcome::Sent), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_drops_without_waiting() {
    let (tx, _rx) = mpsc::channel(2);
    let offer = crate::otlp::Offer { tx, accounting: Accounting::default() };
    let queued = (0..5).filter(|&i| offer.offer(record(i))).count();
    assert_eq!(queued, 2);
    assert_eq!(offer.accounting.get(Signal::Logs, Outcome::DroppedQueueFull), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_gives_up_at_its_deadline_and_counts_the_rest_as_failed() {
    // A port nothing listens on: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (exporter, accounting) = start(port, ExportOptions { retry_for: Duration::from_secs(600), ..options() });
    for i in 0..3 {
        exporter.offer().offer(record(i));
    }
    let started = std::time::Instant::now();
    exporter.shutdown(Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(accounting.get(Signal::Logs, Outcome::Failed), 3);
    assert_eq!(accounting.get(Signal::Logs, Outcome::Sent), 0);
}
