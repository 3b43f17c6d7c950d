#!/usr/bin/env python3
"""Load and malformed-input runs against `wisp serve` (issue 12 item 3), on 127.0.0.1 only.

  tools/server_load.py load      [-m tiny.en-pypi] [--parallel 1] [--threads 2] [--total 1000]
  tools/server_load.py malformed [-m tiny.en-pypi] [--count 1000] [--seed 1]
  tools/server_load.py ... --port N --pid PID    # an already running server instead of starting one

`load` sends jfk.wav at concurrency 1, 2, 4, 8 (--per-level requests each, --level-seconds at most)
and prints requests/s and p50/p99 latency per level; then it sends more at --soak-concurrency
until --total requests were made in all, and prints the server's RSS (VmRSS of /proc/PID/status)
before the first and after the last. Every response must be 200 with the text of the first one.

`malformed` sends --count broken requests over raw sockets (random bytes, bad multipart, lying
Content-Length, huge fields, unknown formats, truncated or corrupt audio, wrong methods and
paths, invalid UTF-8 in fields), each with a per-request timeout; each must be answered with a
4xx. Then /health must answer and the RSS growth is printed. Exit status 1 when any check failed.
Stdlib only; python/tests/test_server.py imports Server, MalformedCase and run_malformed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DEFAULT_AUDIO = Path(os.environ.get("WISP_SHARED_DATA_DIR", REPO.parent / "shared" / "data")) / "jfk.wav"
PATH = "/v1/audio/transcriptions"


class Server:
    """`wisp serve` on a port the kernel picks (read from its "listening on" line), stderr in a
    temporary file; stopped with SIGTERM."""

    def __init__(self, binary: str, models: list[str], extra: list[str] | None = None, ready_seconds: float = 120):
        self.log_path = tempfile.mktemp(prefix="wisp-serve-", suffix=".log")
        args = [binary, "serve", "--host", HOST, "--port", "0"]
        for m in models:
            args += ["-m", m]
        args += extra or []
        self.args = args
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        self.pid = self.proc.pid
        deadline = time.monotonic() + ready_seconds
        while True:
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.log())
            if found:
                self.port = int(found.group(1))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"wisp serve did not start ({' '.join(args)}):\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def multipart(parts: list[tuple], boundary: bytes = b"wispboundary") -> bytes:
    """parts: (name, value) or (name, value, filename), each a str or bytes."""
    b = lambda v: v if isinstance(v, bytes) else str(v).encode()
    out = b""
    for part in parts:
        name, value = b(part[0]), b(part[1])
        disposition = b'form-data; name="' + name + b'"'
        if len(part) > 2:
            disposition += b'; filename="' + b(part[2]) + b'"'
        out += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def http_request(method: str, path: str, body: bytes = b"", headers: dict | None = None, *, port: int,
                 timeout: float = 120) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def health_ok(port: int) -> bool:
    try:
        status, body = http_request("GET", "/health", port=port, timeout=10)
        # wisp's /health also reports the requests admitted and the capacity
        return status == 200 and json.loads(body).get("status") == "ok"
    except OSError:
        return False


# ---- load ----

def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


@dataclass
class LevelResult:
    concurrency: int
    requests: int = 0
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def summary(self) -> dict:
        lat = self.latencies or [float("nan")]
        return {"concurrency": self.concurrency, "requests": self.requests, "seconds": round(self.seconds, 2),
                "req_per_s": round(self.requests / self.seconds, 3) if self.seconds else 0.0,
                "p50_s": round(percentile(lat, 50), 3), "p99_s": round(percentile(lat, 99), 3),
                "failures": len(self.failures)}


def run_level(port: int, body: bytes, content_type: str, concurrency: int, requests: int, max_seconds: float,
              expected_text: str | None) -> LevelResult:
    """`requests` transcriptions by `concurrency` threads, each on a new connection; no new one
    is started after max_seconds."""
    result = LevelResult(concurrency)
    lock = threading.Lock()
    started = time.perf_counter()

    def worker() -> None:
        while True:
            with lock:
                if result.requests >= requests or time.perf_counter() - started > max_seconds:
                    return
                result.requests += 1
            t0 = time.perf_counter()
            try:
                status, data = http_request("POST", PATH, body, {"Content-Type": content_type}, port=port)
                ok = status == 200 and (expected_text is None or json.loads(data)["text"] == expected_text)
                problem = None if ok else f"{status}: {data[:200]!r}"
            except (OSError, ValueError, KeyError) as e:
                problem = repr(e)
            with lock:
                result.latencies.append(time.perf_counter() - t0)
                if problem:
                    result.failures.append(problem)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result


def run_load(port: int, pid: int, audio: bytes, model: str, levels: list[int], per_level: int, level_seconds: float,
             total: int, soak_concurrency: int) -> tuple[dict, bool]:
    body = multipart([("file", audio, "jfk.wav"), ("model", model), ("response_format", "json")])
    content_type = "multipart/form-data; boundary=wispboundary"
    status, first = http_request("POST", PATH, body, {"Content-Type": content_type}, port=port)
    if status != 200:
        raise RuntimeError(f"warm-up request failed: {status} {first[:300]!r}")
    text = json.loads(first)["text"]
    report = {"rss_kb_before": rss_kb(pid), "levels": []}
    sent = 1
    ok = True
    for c in levels:
        r = run_level(port, body, content_type, c, per_level, level_seconds, text)
        sent += r.requests
        report["levels"].append(r.summary())
        print(json.dumps(r.summary()), flush=True)
        ok &= not r.failures
        for f in r.failures[:5]:
            print(f"  failure: {f}", file=sys.stderr)
    if total > sent:
        r = run_level(port, body, content_type, soak_concurrency, total - sent, float("inf"), text)
        sent += r.requests
        report["soak"] = r.summary()
        print(json.dumps({"soak": r.summary()}), flush=True)
        ok &= not r.failures
    report["requests_total"] = sent
    report["rss_kb_after"] = rss_kb(pid)
    report["health_after"] = health_ok(port)
    return report, ok and report["health_after"]


# ---- malformed ----

@dataclass
class MalformedCase:
    kind: str
    data: bytes               # the whole request, headers and body, as sent
    half_close: bool = False  # shutdown(SHUT_WR) after sending: the server sees the body end early


def _request(method: str, path: str, body: bytes, content_type: str | None = "multipart/form-data; boundary=wispboundary",
             length: int | None = None, extra_headers: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n".encode()
    if content_type is not None:
        head += b"Content-Type: " + content_type.encode("latin-1") + b"\r\n"
    if length is not None or body:
        head += f"Content-Length: {len(body) if length is None else length}\r\n".encode()
    return head + extra_headers + b"\r\n" + body


def malformed_cases(rng: random.Random, audio: bytes, count: int) -> list[MalformedCase]:
    """`count` broken requests, cycling through the kinds below with random details."""
    header, pcm = audio[:44], audio[44:]
    junk = lambda n: bytes(rng.getrandbits(8) for _ in range(n))
    bad_utf8 = [b"\xff\xfe", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"abc\x80"]
    ok_form = lambda *extra: [("file", audio, "jfk.wav"), *extra]

    def kinds():
        # random bytes: as a whole request, and as a multipart body
        yield "random request", MalformedCase("random request", junk(rng.randint(1, 4096)) + b"\r\n\r\n")
        yield "random body", MalformedCase("random body", _request("POST", PATH, junk(rng.randint(1, 65536))))
        # bad multipart
        form = multipart(ok_form())
        bad = rng.choice([
            ("no boundary", _request("POST", PATH, form, "multipart/form-data")),
            ("other boundary", _request("POST", PATH, form, "multipart/form-data; boundary=zzz")),
            ("no final boundary", _request("POST", PATH, form[: form.rfind(b"--wispboundary--")])),
            ("no disposition", _request("POST", PATH, b"--wispboundary\r\nContent-Type: x\r\n\r\nabc\r\n--wispboundary--\r\n")),
            ("no name", _request("POST", PATH, b"--wispboundary\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--wispboundary--\r\n")),
            ("bare LF", _request("POST", PATH, form.replace(b"\r\n", b"\n"))),
            ("empty body", _request("POST", PATH, b"", length=0)),
            ("cut in part header", _request("POST", PATH, form[: rng.randint(1, 60)])),
        ])
        yield "bad multipart: " + bad[0], MalformedCase("bad multipart: " + bad[0], bad[1])
        # lying Content-Length
        cut = rng.randint(1, len(form) - 1)
        yield "Content-Length shorter", MalformedCase("Content-Length shorter", _request("POST", PATH, form, length=cut))
        # The connection stays open, so only the server's read timeout ends it (408). (A client
        # that half-closes its side instead gets no answer: cpp-httplib 0.11 takes the peer's EOF
        # for a dead socket and does not write; docs/PERFORMANCE.md.)
        yield "Content-Length longer", MalformedCase(
            "Content-Length longer", _request("POST", PATH, form[:cut], length=len(form) + rng.randint(1, 100000)))
        # huge fields
        huge = rng.choice([
            ("model 1 MB", multipart(ok_form(("model", b"m" * (1 << 20))))),
            ("response_format 100 KB", multipart(ok_form(("response_format", b"j" * 100000)))),
            ("filename 100 KB", multipart([("file", junk(1000), "a" * 100000)])),
            ("field name 100 KB", multipart([("n" * 100000, "x")])),
            ("100 fields", multipart([("language", "en")] * 100 + ok_form())),
            ("header 100 KB", None),
            ("declared 30 MB", None),
        ])
        if huge[0] == "header 100 KB":
            data = _request("POST", PATH, multipart(ok_form()), extra_headers=b"X-Pad: " + b"p" * 100000 + b"\r\n")
        elif huge[0] == "declared 30 MB":
            data = _request("POST", PATH, form, length=30 << 20)
        else:
            data = _request("POST", PATH, huge[1])
        yield "huge: " + huge[0], MalformedCase("huge: " + huge[0], data, half_close=huge[0] == "declared 30 MB")
        # unknown formats and values
        field_, value = rng.choice([("response_format", "docx"), ("response_format", junk(12).hex()),
                                    ("timestamp_granularities[]", "sentence"), ("temperature", "nan"),
                                    ("temperature", "-1"), ("stream", "maybe"), ("language", "klingon")])
        yield "unknown " + field_, MalformedCase("unknown " + field_, _request("POST", PATH, multipart(ok_form((field_, value)))))
        # truncated and corrupt audio
        bad_audio = rng.choice([
            ("truncated header", audio[: rng.randint(1, 43)]),
            ("RIFF + junk", b"RIFF" + junk(rng.randint(8, 2000))),
            ("zero sample rate", header[:24] + b"\0\0\0\0" + header[28:] + pcm[:32000]),
            ("zero channels", header[:22] + b"\0\0" + header[24:] + pcm[:32000]),
            ("7-bit samples", header[:34] + b"\x07\0" + header[36:] + pcm[:32000]),
            ("ID3 + junk", b"ID3\x03\0\0\0\0\0\0" + junk(rng.randint(100, 5000))),
            ("OggS + junk", b"OggS\0" + junk(rng.randint(100, 5000))),
            ("fLaC + junk", b"fLaC" + junk(rng.randint(100, 5000))),
        ])
        yield "audio: " + bad_audio[0], MalformedCase(
            "audio: " + bad_audio[0], _request("POST", PATH, multipart([("file", bad_audio[1], "audio.wav")])))
        # wrong methods and paths
        method, path = rng.choice([("GET", PATH), ("PUT", PATH), ("DELETE", PATH), ("PATCH", PATH),
                                   ("BREW", PATH), ("POST", "/v1/audio/transcription"), ("POST", "/v1/models"),
                                   ("POST", "/health"), ("GET", "/../../etc/passwd"), ("POST", "/v1/audio/speech"),
                                   ("GET", "/v1/" + "x" * 20000), ("GET", "/v1/models/%ff%fe")])
        yield "wrong method/path", MalformedCase(f"wrong method/path: {method} {path[:30]}",
                                                 _request(method, path, multipart(ok_form()) if method != "GET" else b""))
        # invalid UTF-8 in fields
        bad = rng.choice(bad_utf8)
        where = rng.choice(["model", "language", "response_format", "filename", "field name"])
        if where == "filename":
            form = multipart([("file", junk(500), b"a" + bad + b".wav")])
        elif where == "field name":
            form = multipart([(b"fi" + bad, audio)])
        else:
            form = multipart(ok_form((where, bad)))
        yield "invalid UTF-8 in " + where, MalformedCase("invalid UTF-8 in " + where, _request("POST", PATH, form))

    cases: list[MalformedCase] = []
    while len(cases) < count:
        for _, case in kinds():
            if len(cases) < count:
                cases.append(case)
    return cases


def send_raw(port: int, case: MalformedCase, timeout: float) -> tuple[int | None, str]:
    """Sends the bytes and reads one response; (status, note). None: no response in time."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        try:
            s.sendall(case.data)
            if case.half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:  # the server may answer and close before reading everything
            note = f"send: {e.__class__.__name__}"
        else:
            note = ""
        buf = b""
        while b"\r\n\r\n" not in buf:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return None, note + " timed out"
            except OSError as e:
                return None, note + f" recv: {e.__class__.__name__}"
            if not chunk:
                return None, note + " closed without a response" + (f" ({buf[:80]!r})" if buf else "")
            buf += chunk
        status_line = buf.split(b"\r\n", 1)[0]
        found = re.match(rb"HTTP/1\.[01] (\d{3})", status_line)
        if not found:
            return None, f"not HTTP: {status_line[:80]!r}"
        return int(found.group(1)), note
    finally:
        s.close()


def run_malformed(port: int, cases: list[MalformedCase], concurrency: int, timeout: float, pid: int | None = None) -> dict:
    """Sends the cases from `concurrency` threads; returns statuses by kind, the failures (no
    4xx) and, with pid, the server's RSS (kB) after every tenth of the requests."""
    by_kind: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    rss_samples: list[tuple[int, int]] = []
    done = [0]
    lock = threading.Lock()
    todo = list(enumerate(cases))

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                i, case = todo.pop(0)
            status, note = send_raw(port, case, timeout)
            with lock:
                kind = by_kind.setdefault(case.kind, {})
                kind[str(status)] = kind.get(str(status), 0) + 1
                if status is None or not 400 <= status < 500:
                    failures.append(f"#{i} {case.kind}: {status} {note}")
                done[0] += 1
                if pid and done[0] % max(1, len(cases) // 10) == 0:
                    rss_samples.append((done[0], rss_kb(pid)))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests": len(cases), "seconds": round(time.perf_counter() - started, 1), "statuses": by_kind,
            "failures": failures, "rss_kb_samples": rss_samples}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["load", "malformed"])
    ap.add_argument("--wisp", default=os.environ.get("WISP_CLI", str(REPO / "build" / "bin" / "wisp")))
    ap.add_argument("-m", "--model", default="tiny.en-pypi")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="threads per transcription (serve -t)")
    ap.add_argument("--timeout", type=int, help="serve --timeout (default: load 300; malformed 2, which ends the "
                    "lying uploads with 408)")
    ap.add_argument("--port", type=int, help="use the server already listening on 127.0.0.1:PORT")
    ap.add_argument("--pid", type=int, help="its process id (for RSS), with --port")
    ap.add_argument("--audio", default=str(DEFAULT_AUDIO))
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--per-level", type=int, default=40)
    ap.add_argument("--level-seconds", type=float, default=120)
    ap.add_argument("--total", type=int, default=1000, help="load: requests in all (the levels, then a soak)")
    ap.add_argument("--soak-concurrency", type=int, default=4)
    ap.add_argument("--count", type=int, default=1000, help="malformed: requests")
    ap.add_argument("--concurrency", type=int, default=8, help="malformed: client threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-out", help="also write the report here")
    args = ap.parse_args()
    audio = Path(args.audio).read_bytes()
    if args.timeout is None:
        args.timeout = 300 if args.mode == "load" else 2

    server = None
    if args.port:
        if not args.pid:
            ap.error("--port needs --pid (the RSS is read from /proc/PID/status)")
        port, pid = args.port, args.pid
    else:
        extra = ["--parallel", str(args.parallel), "-t", str(args.threads), "--timeout", str(args.timeout), "-q"]
        server = Server(args.wisp, [args.model], extra)
        port, pid = server.port, server.pid
    try:
        load = os.getloadavg()
        header = {"mode": args.mode, "server": server.args if server else f"pid {pid} port {port}",
                  "load_average": [round(x, 2) for x in load], "cpus": os.cpu_count(),
                  "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        print(json.dumps(header), flush=True)
        if args.mode == "load":
            levels = [int(x) for x in args.levels.split(",")]
            report, ok = run_load(port, pid, audio, args.model, levels, args.per_level, args.level_seconds,
                                  args.total, args.soak_concurrency)
        else:
            before = rss_kb(pid)
            cases = malformed_cases(random.Random(args.seed), audio, args.count)
            report = run_malformed(port, cases, args.concurrency, timeout=args.timeout + 30, pid=pid)
            report["rss_kb_before"], report["rss_kb_after"] = before, rss_kb(pid)
            report["health_after"] = health_ok(port)
            ok = not report["failures"] and report["health_after"]
        report["rss_growth_mb"] = round((report["rss_kb_after"] - report["rss_kb_before"]) / 1024, 1)
        report.update(header)
        print(json.dumps({k: v for k, v in report.items() if k not in ("levels", "soak")}, indent=1))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(report, indent=1) + "\n")
        return 0 if ok else 1
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
