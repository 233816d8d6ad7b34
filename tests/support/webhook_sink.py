"""A webhook receiver for DriftGuard's tests (not product code): an HTTP server on
127.0.0.1 that records every POST and answers the first N of them with failures, the way a
webhook endpoint under load does.

Prints {"port": N} once listening. Options (environment):
  SINK_FAIL=N   the first N POSTs fail: alternately 500 and 429 (with Retry-After: 0).
GET /_sink/requests returns every POST so far: [{"path", "status", "body"}], body parsed as JSON.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
FAIL = int(os.environ.get("SINK_FAIL", "0"))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def do_GET(self):
        if self.path != "/_sink/requests":
            self.send_error(404)
            return
        with LOCK:
            data = json.dumps(REQUESTS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with LOCK:
            failing = len(REQUESTS) < FAIL
            status = (500 if len(REQUESTS) % 2 == 0 else 429) if failing else 200
            REQUESTS.append({"path": self.path, "status": status, "body": body,
                             "content_type": self.headers.get("Content-Type")})
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
