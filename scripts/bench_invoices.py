#!/usr/bin/env python3
"""The invoice stream in real time: one whole cycle, as seed 003 measures it.

Starts `orderflow serve` on a fresh SQLite database (durable defaults), opens two viewers on
`GET /api/v1/stream?topics=invoice`, presses START, and lets the cycle run its 5 minutes and its
backlog drain (about 12.5 minutes in all; `--stop-after S` presses STOP after S seconds instead).
Meanwhile it reads `GET /api/v1/invoices/stats` every 50 ms (the server says in
`Read-Microseconds` how long the read took inside it) and samples the server's resident memory every second.

Reports: invoices made and at what rate, how fast they were shown (the most in any one second,
and the mean), how long an event took from commit to a viewer (seed 003: < 100 ms), whether
both viewers saw the same invoices, the cost of reading the totals, and peak memory
(seed 003: < 500 MB). Writes a Markdown fragment (and the raw figures as JSON beside it).

Usage: bench_invoices.py PATH-TO-ORDERFLOW OUTPUT.md [--stop-after SECONDS]
"""
import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read() or b"null"), response.headers


def instant(text):
    """RFC 3339 with up to microseconds → seconds since 1970."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Viewer(threading.Thread):
    """One open page: every invoice event with the moment its last byte arrived."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.events = []
        self.ready = threading.Event()
        self.stopped = False

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/api/v1/stream?topics=invoice", headers={"Authorization": "Bearer " + self.token})
        response = connection.getresponse()
        self.ready.set()
        data = None
        while not self.stopped:
            line = response.fp.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                received = time.time()
                event = json.loads(data)
                self.events.append((received, event))
                data = None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("output")
    parser.add_argument("--stop-after", type=float, help="press STOP after this many seconds instead of letting the cycle end")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="orderflow-invoices-")
    port = free_port()
    password = secrets.token_urlsafe(18)
    log = open(os.path.join(work, "server.log"), "w")
    environment = dict(os.environ, ORDERFLOW_ADMIN_PASSWORD=password, ORDERFLOW_RATE_LIMIT="0", ORDERFLOW_LOG_LEVEL="warning")
    server = subprocess.Popen([args.binary, "serve", "--port", str(port), "--database", f"sqlite:{work}/invoices.sqlite"],
                              stdout=log, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                call(base, "GET", "/api/v1/health")
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit(f"orderflow serve did not start; see {log.name}")
                time.sleep(0.2)
        token = call(base, "POST", "/api/auth/login", body={"username": "admin", "password": password})[0]["accessToken"]
        viewers = [Viewer(port, token), Viewer(port, token)]
        for viewer in viewers:
            viewer.start()
            viewer.ready.wait(10)

        memory = []
        reads = []
        done = threading.Event()

        def sample_memory():
            while not done.is_set():
                with open(f"/proc/{server.pid}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                memory.append(int(fields["VmRSS"].split()[0]) / 1024)
                done.wait(1)

        def read_stats():
            while not done.is_set():
                started = time.perf_counter()
                _, headers = call(base, "GET", "/api/v1/invoices/stats", token)
                took = time.perf_counter() - started
                reads.append((took * 1000, float(headers.get("Read-Microseconds", "nan"))))
                done.wait(0.05)

        threads = [threading.Thread(target=sample_memory, daemon=True), threading.Thread(target=read_stats, daemon=True)]
        for thread in threads:
            thread.start()
        rss_start = None
        while not memory:
            time.sleep(0.05)
        rss_start = memory[0]

        print("START; the cycle runs 5 minutes, then its backlog is shown", flush=True)
        started = time.time()
        call(base, "POST", "/api/v1/invoice-stream/start", token)
        stopped_at = None
        while True:
            time.sleep(1)
            status = call(base, "GET", "/api/v1/invoice-stream", token)[0]
            elapsed = time.time() - started
            if args.stop_after and stopped_at is None and elapsed >= args.stop_after:
                call(base, "POST", "/api/v1/invoice-stream/stop", token)
                stopped_at = elapsed
            if int(elapsed) % 30 == 0:
                print(f"  {elapsed:5.0f} s  {status['state']:<18} made {status['produced']:>5}  still to show {status['backlog']:>5}", flush=True)
            if status["state"] == "idle":
                break
            if elapsed > 1_200:
                raise SystemExit("the cycle did not end within 20 minutes")
        time.sleep(1)
        done.set()
        for viewer in viewers:
            viewer.stopped = True
        with open(f"/proc/{server.pid}/status") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        peak = int(fields["VmHWM"].split()[0]) / 1024
        final = call(base, "GET", "/api/v1/invoice-stream", token)[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    produced = [event for _, event in viewers[0].events if event["type"] == "invoice.produced"]
    shown = [(received, event) for received, event in viewers[0].events if event["type"] == "invoice.shown"]
    made_times = [instant(event["invoiceDate"]) for event in produced]
    gaps = [b - a for a, b in zip(made_times, made_times[1:])]
    shown_commits = [instant(event["committedAt"]) for _, event in shown]
    most_in_a_second = 0
    start_index = 0
    for index, moment in enumerate(shown_commits):
        while moment - shown_commits[start_index] >= 1.0:
            start_index += 1
        most_in_a_second = max(most_in_a_second, index - start_index + 1)
    span = (shown_commits[-1] - shown_commits[0]) if len(shown_commits) > 1 else 0
    latencies = {kind: [(received - instant(event["committedAt"])) * 1000 for viewer in viewers for received, event in viewer.events
                        if event["type"] == kind] for kind in ("invoice.produced", "invoice.shown")}
    same = [e["invoiceId"] for _, e in viewers[0].events if e["type"] == "invoice.shown"] == \
           [e["invoiceId"] for _, e in viewers[1].events if e["type"] == "invoice.shown"]
    figures = {
        "produced": len(produced), "stats_count": final["stats"]["count"], "stopped_after_seconds": args.stop_after,
        "production_seconds": (made_times[-1] - made_times[0]) if len(made_times) > 1 else 0,
        "production_gap_ms": {"mean": statistics.mean(gaps) * 1000 if gaps else None, "max": max(gaps) * 1000 if gaps else None},
        "shown": len(shown), "distinct_shown": len({e["invoiceId"] for _, e in shown}), "most_shown_in_one_second": most_in_a_second,
        "shown_per_second": (len(shown) - 1) / span if span else None, "viewers_agree": same,
        "latency_ms": {kind: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "max": max(values) if values else None,
                              "count": len(values)} for kind, values in latencies.items()},
        "stats_read": {"requests": len(reads), "http_p50_ms": percentile([r[0] for r in reads], 0.5),
                       "http_p99_ms": percentile([r[0] for r in reads], 0.99),
                       "inside_p50_us": percentile([r[1] for r in reads], 0.5),
                       "inside_max_us": max((r[1] for r in reads), default=None)},
        "memory_mib": {"start": rss_start, "peak": peak, "end": memory[-1] if memory else None},
        "total_seconds": time.time() - started,
    }
    with open(os.path.splitext(args.output)[0] + ".json", "w") as handle:
        json.dump(figures, handle, indent=2)

    p, s = figures["latency_ms"]["invoice.produced"], figures["latency_ms"]["invoice.shown"]
    r, m = figures["stats_read"], figures["memory_mib"]
    ok_latency = (p["max"] or 1e9) < 100 and (s["max"] or 1e9) < 100
    run = "one whole cycle" if not args.stop_after else f"a cycle stopped after {args.stop_after:.0f} s"
    lines = [
        f"`scripts/bench_invoices.py`: {run} in real time on `orderflow serve` (SQLite, `synchronous=full`), two viewers on "
        "the event stream, the totals read over HTTP every 50 ms throughout.", "",
        "| seed 003 asks | measured | verdict |", "|---|---|---|",
        f"| 1,500 invoices in 5 minutes, 5 a second | {figures['produced']:,} made over {figures['production_seconds']:.1f} s, "
        f"one every {figures['production_gap_ms']['mean']:.1f} ms on average (longest gap {figures['production_gap_ms']['max']:.1f} ms); "
        f"totals count {figures['stats_count']:,} | {'met' if figures['produced'] == 1500 or args.stop_after else '**missed**'} |",
        f"| shown at most 2 a second | at most {figures['most_shown_in_one_second']} in any one second; "
        f"{figures['shown_per_second']:.2f}/s on average over {figures['shown']:,} shown ({figures['distinct_shown']:,} distinct) | "
        f"{'met' if figures['most_shown_in_one_second'] <= 2 else '**missed**'} |",
        f"| every invoice shown, backlog drained | {figures['distinct_shown']:,} of {figures['produced']:,}; both viewers saw the same "
        f"sequence: {'yes' if same else 'no'} | {'met' if figures['distinct_shown'] == figures['produced'] and same else '**missed**'} |",
        f"| UI updates < 100 ms after the change | commit → viewer: totals p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms, max {p['max']:.2f} ms; "
        f"rows p50 {s['p50']:.2f} ms, p99 {s['p99']:.2f} ms, max {s['max']:.2f} ms | {'met' if ok_latency else '**missed**'} |",
        f"| memory < 500 MB during the cycle | peak resident {m['peak']:.0f} MiB ({m['start']:.0f} MiB at start, {m['end']:.0f} MiB at the end) | "
        f"{'met' if m['peak'] < 500 else '**missed**'} |",
        f"| totals without Redis | read inside the server in {r['inside_p50_us']:.1f} µs (p50; max {r['inside_max_us']:.1f} µs) during "
        f"generation; {r['requests']:,} reads over HTTP: p50 {r['http_p50_ms']:.2f} ms, p99 {r['http_p99_ms']:.2f} ms | "
        f"{'met' if (r['inside_max_us'] or 1e9) < 1000 else '**missed**'} |",
        "",
    ]
    with open(args.output, "w") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
