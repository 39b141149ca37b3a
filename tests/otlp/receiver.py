#!/usr/bin/env python3
"""A real OTLP/HTTP receiver for the end-to-end tests (tests/tests/e2e_otlp.rs).

Decodes every POST to /v1/logs and /v1/metrics with the official protobuf messages (PyPI's
opentelemetry-proto, installed by `cargo xtask setup`) and appends one JSON line per request
to --out: {"path", "status", "content_type", "headers", "request"}, where "request" is the
decoded export request as google.protobuf.json_format.MessageToDict gives it (proto field
names; 64-bit integers as strings). A body that does not decode is a 400 and is logged with
"error" instead of "request".

POST /control?status=503 makes later exports answer 503 (status=200 again to accept);
&retry_after=N adds a Retry-After header. Stopping is killing the process; a new one may bind
the same port at once (SO_REUSEADDR). Prints "listening on PORT" once ready.
"""

import argparse
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

MESSAGES = {
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}


class State:
    def __init__(self, out, status):
        self.lock = threading.Lock()
        self.out = out
        self.status = status
        self.retry_after = None

    def write(self, entry):
        with self.lock:
            self.out.write(json.dumps(entry) + "\n")
            self.out.flush()


def handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b"", content_type="application/x-protobuf", extra=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            url = urllib.parse.urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if url.path == "/control":
                query = urllib.parse.parse_qs(url.query)
                state.status = int(query.get("status", ["200"])[0])
                state.retry_after = query.get("retry_after", [None])[0]
                self.reply(200, b"ok\n", "text/plain")
                return
            if url.path not in MESSAGES:
                self.reply(404, b"not an OTLP path\n", "text/plain")
                return
            request_type, response_type = MESSAGES[url.path]
            entry = {
                "path": url.path,
                "status": state.status,
                "content_type": self.headers.get("Content-Type"),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
            if state.status != 200:
                state.write(entry)
                extra = [("Retry-After", state.retry_after)] if state.retry_after else []
                self.reply(state.status, b"", "text/plain", extra)
                return
            try:
                message = request_type()
                message.ParseFromString(body)
                entry["request"] = MessageToDict(message, preserving_proto_field_name=True)
            except Exception as e:  # a body that is not the message: report it, refuse it
                entry["status"] = 400
                entry["error"] = repr(e)
                state.write(entry)
                self.reply(400, b"bad protobuf\n", "text/plain")
                return
            state.write(entry)
            self.reply(200, response_type().SerializeToString())

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    with open(args.out, "a", encoding="utf-8") as out:
        state = State(out, args.status)
        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(state))
        print(f"listening on {server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
