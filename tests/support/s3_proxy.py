#!/usr/bin/env python3
"""An HTTP proxy in front of a real S3 server, for the fault tests and the benchmarks.

    s3_proxy.py LISTEN_PORT UPSTREAM_PORT [--fail RATE] [--drop RATE] [--log FILE] [--seed N]

Requests are forwarded to 127.0.0.1:UPSTREAM_PORT unchanged (the Host header included, so
SigV4 signatures stay valid). With --fail, that share of requests gets `503 SlowDown`
without reaching the server; with --drop, that share has its connection closed without
an answer, half of them before and half after the server handled the request. With --log,
one line per request is appended: `METHOD STATUS REQUEST_BYTES RESPONSE_BYTES PATH` (body
bytes; STATUS is `503i` for an injected failure and `DROP` for a dropped connection), so a
test can see the faults and a benchmark can count requests and bytes moved.
"""

import argparse
import http.client
import random
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
RNG = random.Random()

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


def roll(rate):
    with LOCK:
        return RNG.random() < rate


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def drop(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def handle_any(self):
        body = self.body()
        if roll(ARGS.fail):
            self.note("503i", len(body), 0)
            msg = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                   b"<Message>injected by s3_proxy</Message></Error>")
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        drop = roll(ARGS.drop)
        if drop and roll(0.5):
            self.note("DROP", len(body), 0)
            return self.drop()
        conn = http.client.HTTPConnection("127.0.0.1", ARGS.upstream, timeout=300)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if drop:
            self.note("DROP", len(body), 0)
            return self.drop()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            # A HEAD answer keeps the server's Content-Length: the object's size.
            if k.lower() not in HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.note(resp.status, len(body), len(data))

    def note(self, status, sent, received):
        if ARGS.log:
            with LOCK, open(ARGS.log, "a") as f:
                f.write(f"{self.command} {status} {sent} {received} {self.path}\n")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("listen", type=int)
    p.add_argument("upstream", type=int)
    p.add_argument("--fail", type=float, default=0.0)
    p.add_argument("--drop", type=float, default=0.0)
    p.add_argument("--log")
    p.add_argument("--seed", type=int, default=1)
    ARGS = p.parse_args()
    RNG.seed(ARGS.seed)
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.listen), Handler)
    srv.daemon_threads = True
    print("ready", flush=True)
    sys.stdout.close()
    srv.serve_forever()


if __name__ == "__main__":
    main()
