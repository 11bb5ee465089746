#!/usr/bin/env python3
"""Minimal AWS Lambda Runtime API emulator: run a function binary the way Lambda does.

    lambda-rie.py --binary PATH [--event FILE]... [--repeat N] [--interval S]
                  [--function-name NAME] [--memory MB] [--timeout S]

Serves the Runtime API (2018-06-01) on a free 127.0.0.1 port, starts PATH with
AWS_LAMBDA_RUNTIME_API pointing at it (plus the AWS_LAMBDA_* variables the Rust
lambda_runtime crate reads at start; the rest of the environment passes through),
delivers each event in turn, and prints each invocation's result on stdout: the
response as pretty JSON, or the error payload the function reported
({"errorType": ..., "errorMessage": ...}). The binary's own stdout and stderr both
go to stderr, so stdout carries results only. Exit status: 0 when every invocation
succeeded, 1 when any failed (function error, init error, crash, timeout), 2 on
bad usage.

Events: each --event FILE (JSON; "-" reads stdin), in order; without --event, one
EventBridge "Scheduled Event" (fresh id and time per invocation). --repeat N delivers
the whole list N times, --interval S sleeps between invocations. Like Lambda, a
binary that crashed or timed out is started again for the next invocation.

Endpoints served:
  GET  /2018-06-01/runtime/invocation/next        (long poll; Lambda-Runtime-* headers)
  POST /2018-06-01/runtime/invocation/{id}/response
  POST /2018-06-01/runtime/invocation/{id}/error
  POST /2018-06-01/runtime/init/error
Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

API = "/2018-06-01/runtime"
ACCOUNT = "123456789012"


def log(msg: str) -> None:
    print(f"lambda-rie: {msg}", file=sys.stderr, flush=True)


@dataclass
class Invocation:
    number: int
    request_id: str
    payload: bytes
    deadline_ms: int
    trace_id: str
    done: threading.Event = field(default_factory=threading.Event)
    taken: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    body: bytes = b""
    error_type: str = ""
    taken_at: float = 0.0  # perf_counter when the runtime received the event
    answered_at: float = 0.0  # ... and when its answer arrived


class Runtime:
    """State shared by the HTTP handlers and the driver loop."""

    def __init__(self, function_arn: str):
        self.function_arn = function_arn
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.lock = threading.Lock()
        self.by_id: dict[str, Invocation] = {}
        self.init_error: tuple[str, bytes] | None = None
        self.init_error_event = threading.Event()
        self.stopping = threading.Event()
        # Cold start: process start to its first request for an event (--timings).
        self.process_started_at: float | None = None
        self.cold_starts: list[float] = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the Rust client keeps connections alive
    server_version = "lambda-rie"
    rt: Runtime  # set on the subclass made in main()

    def log_message(self, fmt, *args):  # quiet: the driver reports what matters
        pass

    def _send(self, status: int, body: dict | bytes, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the binary went away (killed at the end, crashed, timed out)
            self.close_connection = True

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers (streaming responses put errors here) until a blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):  # noqa: N802 - http.server naming
        if self.path != f"{API}/invocation/next":
            return self._send(404, {"errorType": "NotFound", "errorMessage": f"no route GET {self.path}"})
        with self.rt.lock:
            if self.rt.process_started_at is not None:
                self.rt.cold_starts.append(time.perf_counter() - self.rt.process_started_at)
                self.rt.process_started_at = None
        while not self.rt.stopping.is_set():
            try:
                inv = self.rt.pending.get(timeout=0.25)
            except queue.Empty:
                continue
            inv.taken_at = time.perf_counter()
            inv.taken.set()
            return self._send(200, inv.payload, {
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.rt.function_arn,
                "Lambda-Runtime-Trace-Id": inv.trace_id,
            })
        # Shutting down: hang up on the long poll; the binary is being killed.
        self.close_connection = True
        return None

    def do_POST(self):  # noqa: N802
        body = self._body()
        if self.path == f"{API}/init/error":
            kind = self.headers.get("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
            self.rt.init_error = (kind, body)
            self.rt.init_error_event.set()
            return self._send(202, {"status": "OK"})
        m = re.fullmatch(rf"{API}/invocation/([^/]+)/(response|error)", self.path)
        if not m:
            return self._send(404, {"errorType": "NotFound", "errorMessage": f"no route POST {self.path}"})
        request_id, outcome = m.groups()
        with self.rt.lock:
            inv = self.rt.by_id.get(request_id)
            if inv is None or inv.done.is_set():
                return self._send(400, {"errorType": "InvalidRequestID",
                                        "errorMessage": f"unknown or finished request id {request_id}"})
            inv.answered_at = time.perf_counter()
            inv.ok = outcome == "response"
            inv.body = body
            inv.error_type = "" if inv.ok else self.headers.get("Lambda-Runtime-Function-Error-Type", "")
            inv.done.set()
        return self._send(202, {"status": "OK"})


def scheduled_event(region: str) -> bytes:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return json.dumps({
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/ci-fleet-local-schedule"],
        "detail": {},
    }).encode()


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Binary:
    """The function process; started lazily, restarted after a crash or timeout."""

    def __init__(self, path: str, env: dict[str, str], rt: Runtime):
        self.path, self.env, self.rt = path, env, rt
        self.proc: subprocess.Popen | None = None

    def ensure_running(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        try:
            self.rt.process_started_at = time.perf_counter()
            # stdout -> our stderr: stdout is reserved for invocation results.
            self.proc = subprocess.Popen([self.path], env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=sys.stderr.fileno(), stderr=sys.stderr.fileno())
        except OSError as e:
            raise SystemExit(f"lambda-rie: cannot start {self.path}: {e}") from e
        log(f"started {self.path} (pid {self.proc.pid})")

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def print_result(body: bytes) -> None:
    try:
        text = json.dumps(json.loads(body), indent=2, sort_keys=False)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace")
    print(text, flush=True)


def error_summary(body: bytes) -> str:
    try:
        d = json.loads(body)
        return f"{d.get('errorType', '?')}: {d.get('errorMessage', '')}"
    except (ValueError, AttributeError):
        return body.decode("utf-8", errors="replace")[:300]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="function executable (a lambda_runtime binary)")
    ap.add_argument("--event", action="append", default=[], metavar="FILE",
                    help="JSON event file, '-' for stdin; repeatable (default: a Scheduled Event)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N", help="deliver the events N times (default 1)")
    ap.add_argument("--interval", type=float, default=0.0, metavar="S", help="seconds between invocations")
    ap.add_argument("--function-name", help="AWS_LAMBDA_FUNCTION_NAME (default: the binary's file name)")
    ap.add_argument("--memory", type=int, default=128, metavar="MB", help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    ap.add_argument("--timeout", type=float, default=60.0, metavar="S",
                    help="function timeout: deadline header, and when to give up (default 60)")
    ap.add_argument("--init-timeout", type=float, default=30.0, metavar="S",
                    help="how long a fresh binary may take to ask for its first event (default 30)")
    ap.add_argument("--timings", metavar="FILE",
                    help="write JSON {cold_starts_ms, invocations_ms}: process start to first event request, "
                         "and event received to answer, per invocation (benchmarks)")
    ap.add_argument("--quiet", action="store_true", help="do not print each invocation's result")
    args = ap.parse_args()

    binary = os.path.abspath(args.binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        ap.error(f"--binary {args.binary}: not an executable file")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    events: list[bytes | None] = []
    for path in args.event:
        try:
            raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
            json.loads(raw)
        except OSError as e:
            ap.error(f"--event {path}: {e.strerror}")
        except ValueError as e:
            ap.error(f"--event {path}: not JSON ({e})")
        events.append(raw)
    if not events:
        events = [None]  # a fresh Scheduled Event per invocation

    name = args.function_name or os.path.basename(binary)
    rt = Runtime(f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}")
    handler = type("BoundHandler", (Handler,), {"rt": rt})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="runtime-api", daemon=True).start()

    env = dict(os.environ)
    env.setdefault("AWS_REGION", region)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(args.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME":
            f"{datetime.date.today():%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    })
    fn = Binary(binary, env, rt)
    log(f"Runtime API on 127.0.0.1:{port} for {name}")

    stop_signal = []

    def on_signal(signum, _frame):
        stop_signal.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)

    total = len(events) * args.repeat
    failed = 0
    number = 0
    durations: list[float] = []
    try:
        for _round in range(args.repeat):
            for raw in events:
                number += 1
                if number > 1 and args.interval > 0:
                    time.sleep(args.interval)
                if not run_one(rt, fn, number, total, raw if raw is not None else scheduled_event(region),
                               args.timeout, args.init_timeout, durations, args.quiet):
                    failed += 1
    except KeyboardInterrupt:
        log("interrupted")
        failed += 1
    finally:
        rt.stopping.set()
        fn.stop()
        server.shutdown()
    log(f"{number} invocation(s): {number - failed} succeeded, {failed} failed")
    if args.timings:
        with open(args.timings, "w") as out:
            json.dump({"cold_starts_ms": [t * 1000 for t in rt.cold_starts], "invocations_ms": [d * 1000 for d in durations]}, out)
    return 1 if failed else 0


def run_one(rt: Runtime, fn: Binary, number: int, total: int, payload: bytes,
            timeout: float, init_timeout: float, durations: list[float], quiet: bool = False) -> bool:
    """Deliver one event; print its result. True when the function answered with a response."""
    label = f"invocation {number}/{total}"
    fresh = fn.proc is None or fn.proc.poll() is not None
    fn.ensure_running()
    rt.init_error = None
    rt.init_error_event.clear()
    inv = Invocation(number=number, request_id=str(uuid.uuid4()), payload=payload,
                     deadline_ms=int((time.time() + timeout) * 1000), trace_id=trace_id())
    with rt.lock:
        rt.by_id[inv.request_id] = inv
    rt.pending.put(inv)

    def fail(kind: str, message: str, body: bytes | None = None) -> bool:
        # Take the event back if nobody fetched it, so the next binary does not get it.
        with rt.lock:
            inv.done.set()
        try:
            while True:
                rt.pending.get_nowait()
        except queue.Empty:
            pass
        if body is None:
            body = json.dumps({"errorType": kind, "errorMessage": message}).encode()
        log(f"{label} ({inv.request_id}) FAILED: {kind}: {message}")
        print_result(body)
        fn.stop()  # like Lambda: the next invocation gets a fresh process
        return False

    fetch_deadline = time.monotonic() + (init_timeout if fresh else timeout)
    answer_deadline = None
    while not inv.done.wait(0.05):
        if rt.init_error_event.is_set() and not inv.taken.is_set():
            kind, body = rt.init_error
            return fail(f"init error ({kind or 'Runtime.InitError'})", error_summary(body), body)
        code = fn.exit_code()
        if code is not None:
            when = "while handling the event" if inv.taken.is_set() else "before fetching the event"
            return fail("Runtime.ExitError", f"{fn.path} exited with status {code} {when}")
        now = time.monotonic()
        if inv.taken.is_set() and answer_deadline is None:
            answer_deadline = now + timeout
        if not inv.taken.is_set() and now > fetch_deadline:
            return fail("Runtime.Unavailable",
                        f"{fn.path} did not ask for an event within {init_timeout if fresh else timeout:g}s")
        if answer_deadline is not None and now > answer_deadline:
            return fail("Sandbox.Timedout", f"Task timed out after {timeout:g} seconds")

    if inv.ok:
        durations.append(inv.answered_at - inv.taken_at)
        if not quiet:
            log(f"{label} ({inv.request_id}) succeeded")
            print_result(inv.body)
        return True
    log(f"{label} ({inv.request_id}) returned an error"
        f"{' (' + inv.error_type + ')' if inv.error_type else ''}: {error_summary(inv.body)}")
    print_result(inv.body)
    return False


if __name__ == "__main__":
    sys.exit(main())
