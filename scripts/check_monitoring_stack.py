#!/usr/bin/env python3
"""Checks the monitoring stack shipped in deploy/monitoring-stack/, statically and end to end.

1. Static checks, no server started:
   - `promtool check config` on prometheus/prometheus.yml (on a copy with a placeholder API-key
     file, since the real one is a secret that is not committed), and again with the block of
     prometheus/remote-write.example.yml merged in;
   - `promtool check rules` and `promtool test rules` on prometheus/rules/;
   - every rule has a severity, summary, description and a runbook_url whose anchor is a heading
     of docs/monitoring.md, and unit tests in which it fires and in which it stays silent;
   - `amtool check-config` on alertmanager/config.yml, and routing of a critical channel alert;
   - the Grafana dashboard JSON loads, uses the ${datasource} variable everywhere and has its
     variables; the provisioning files and docker-compose.yml parse (Grafana's admin password
     must come from the environment, every port is published on 127.0.0.1 only).

2. End to end, everything on 127.0.0.1 with free ports in a temporary directory:
   a webhook recorder; Alertmanager with the shipped configuration whose receivers all point at
   the recorder (and short group timings); `orderflow demo` whose simulated commerce engine
   answers 503 to everything; Prometheus with the shipped orderflow job aimed at the demo, 1 s
   scrape and evaluation intervals, and the very rule files that are shipped. It waits until
   Prometheus fires ChannelDown{channel="commerce"} (the commerce circuit stays open) and
   Alertmanager delivers it to the recorder (E2E_ALERT names the alert; were it one that a
   ChannelDown inhibits, being held back by a delivered ChannelDown of the channel counts too).
   Every query of the dashboard must then be valid PromQL against that Prometheus.

3. OrderFlow's own alert notifiers (skip with --skip-orderflow-notifiers): an SMTP sink
   (aiosmtpd) and the same Alertmanager are given to the demo through
   ORDERFLOW_ALERT_NOTIFIERS; the demo's built-in ChannelDown rule must e-mail the sink
   (Subject naming ChannelDown and commerce) and post the alert to Alertmanager
   (alertname="ChannelDown", channel="commerce", source="orderflow").

Exits 0 only when every enabled check passed. Everything it starts is stopped on the way out,
Ctrl-C included; on failure the end of each program's log is printed.

Usage (parts 2 and 3 take about 1.5 minutes: ChannelDown fires a minute after the circuit opens):
  scripts/check_monitoring_stack.py [--binary .build/debug/orderflow]
      [--static-only] [--skip-orderflow-notifiers] [--timeout SECONDS]
      [--notifier-timeout SECONDS] [--require-all-metrics] [--keep-temp]

Needs promtool, prometheus, alertmanager (Debian: prometheus-alertmanager) and amtool
(`apt-get install -y prometheus prometheus-alertmanager`), Python's PyYAML, and aiosmtpd for
part 3 (`pip install pyyaml aiosmtpd`).
"""
import argparse
import email
import email.policy
import http.server
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import yaml
except ImportError:  # pragma: no cover - reported before anything runs
    sys.exit("check_monitoring_stack: needs PyYAML (pip install pyyaml)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACK = os.path.join(ROOT, "deploy", "monitoring-stack")
PROMETHEUS_DIR = os.path.join(STACK, "prometheus")
PROMETHEUS_YML = os.path.join(PROMETHEUS_DIR, "prometheus.yml")
REMOTE_WRITE_EXAMPLE = os.path.join(PROMETHEUS_DIR, "remote-write.example.yml")
RULES_DIR = os.path.join(PROMETHEUS_DIR, "rules")
ALERTS_YML = os.path.join(RULES_DIR, "alerts.yml")
MONITORING_DOC = os.path.join(ROOT, "docs", "monitoring.md")
ALERTS_TEST_YML = os.path.join(RULES_DIR, "alerts.test.yml")
ALERTMANAGER_YML = os.path.join(STACK, "alertmanager", "config.yml")
DASHBOARD_JSON = os.path.join(STACK, "grafana", "dashboards", "orderflow-overview.json")
DATASOURCES_YML = os.path.join(STACK, "grafana", "provisioning", "datasources", "datasource.yml")
DASHBOARDS_YML = os.path.join(STACK, "grafana", "provisioning", "dashboards", "dashboard.yml")
COMPOSE_YML = os.path.join(STACK, "docker-compose.yml")

RULE_GROUP = "o2o.rules"
# ChannelDown fires in about a minute (its `for`); TransmissionErrorRatioHigh needs 10 attempts in
# 5 minutes, which an open circuit (one probe per cooldown) takes minutes to make.
E2E_ALERT = "ChannelDown"
E2E_CHANNEL = "commerce"
SEVERITIES = {"critical", "warning", "info"}

# What OrderFlow exposes at /metrics, as the rules and the dashboard expect it.
EXPECTED_METRICS = [
    "o2o_orders_ingested_total", "o2o_orders_failed_total", "o2o_orders_rejected_total",
    "o2o_transmissions_total", "o2o_transmission_attempt_seconds_bucket",
    "o2o_transmissions_classified_total", "o2o_transmission_ack_latency_seconds_bucket",
    "o2o_transmissions_pending", "o2o_transmissions_delayed", "o2o_channel_up", "o2o_alerts_firing",
    "orderflow_jobs_queue_depth", "orderflow_jobs_oldest_age_seconds", "orderflow_dead_letters_open",
    "http_requests_total", "http_request_duration_seconds_bucket",
]

# Grafana variables replaced by something Prometheus can run, to validate the dashboard's queries.
DASHBOARD_SUBSTITUTIONS = {
    "$__rate_interval": "1m", "${channel}": ".*", "$channel": ".*", "${status}": ".*",
    "$status": ".*", "${window}": "10m", "$window": "10m",
}

STARTED = time.monotonic()


class CheckFailed(Exception):
    """A check failed; the message says which and why."""


def say(text="", stream=None):
    """print() that never raises: cleanup must go on when the terminal or the pipe is gone
    (Ctrl-C also stops a `| tee`)."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def log(message):
    say(f"[{time.monotonic() - STARTED:6.1f}s] {message}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def write_yaml(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


def http_get(url, timeout=5, headers=None):
    """GET url; returns (status, body text). Connection errors give status 0."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)


def http_json(url, timeout=5):
    status, body = http_get(url, timeout=timeout)
    if status != 200:
        raise CheckFailed(f"GET {url} answered {status or 'nothing'}: {body[:300]}")
    return json.loads(body)


# --------------------------------------------------------------------------------------------
# Tools


def find_tools():
    """The absolute paths of the Prometheus tools, or CheckFailed saying how to install them."""
    candidates = {
        "promtool": ["promtool"],
        "prometheus": ["prometheus"],
        "alertmanager": ["alertmanager", "prometheus-alertmanager"],
        "amtool": ["amtool"],
    }
    tools, missing = {}, []
    for tool, names in candidates.items():
        found = next((shutil.which(name) for name in names if shutil.which(name)), None)
        if found:
            tools[tool] = found
        else:
            missing.append(tool)
    if missing:
        raise CheckFailed(
            f"not found on PATH: {', '.join(missing)}. On Debian: "
            "apt-get update && apt-get install -y prometheus prometheus-alertmanager")
    return tools


def run_tool(argv, cwd=None):
    """Runs a checking tool; its output is shown, and a non-zero exit is a failure."""
    shown = " ".join([os.path.basename(argv[0])] + [os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in argv[1:]])
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise CheckFailed(f"`{shown}` exited {result.returncode}:\n{output}")
    log(f"ok: {shown}")
    return output


# --------------------------------------------------------------------------------------------
# Part 1: static checks


def check_prometheus_config(tools, tmp):
    """promtool check config on a copy of prometheus/ with a placeholder secret, then with the
    remote-write example merged in. The copy keeps the relative rule_files paths working."""
    copy = os.path.join(tmp, "prometheus-static")
    shutil.copytree(PROMETHEUS_DIR, copy, ignore=shutil.ignore_patterns("secrets"))
    config = load_yaml(PROMETHEUS_YML)
    for job in config.get("scrape_configs", []):
        credentials = (job.get("authorization") or {}).get("credentials_file")
        if credentials and not os.path.isabs(credentials):
            path = os.path.join(copy, credentials)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write("placeholder-api-key\n")
    run_tool([tools["promtool"], "check", "config", os.path.join(copy, "prometheus.yml")])

    example = load_yaml(REMOTE_WRITE_EXAMPLE)
    if not example or not example.get("remote_write"):
        raise CheckFailed(f"{REMOTE_WRITE_EXAMPLE} has no remote_write block")
    merged = dict(config, remote_write=example["remote_write"])
    merged_path = os.path.join(copy, "prometheus.remote-write.yml")
    write_yaml(merged_path, merged)
    run_tool([tools["promtool"], "check", "config", merged_path])


def check_rules(tools):
    run_tool([tools["promtool"], "check", "rules", ALERTS_YML])
    run_tool([tools["promtool"], "test", "rules", os.path.basename(ALERTS_TEST_YML)], cwd=RULES_DIR)


def markdown_anchors(path):
    """The anchors GitHub gives the headings of a Markdown file (lower case, punctuation dropped,
    spaces to hyphens, repeats numbered)."""
    anchors, seen, fenced = set(), {}, False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("```"):
                fenced = not fenced
            match = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not match:
                continue
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def lint_rules():
    """Every rule carries what Alertmanager and people need, and has tests both ways."""
    anchors = markdown_anchors(MONITORING_DOC)
    groups = load_yaml(ALERTS_YML)["groups"]
    if [g["name"] for g in groups] != [RULE_GROUP]:
        raise CheckFailed(f"alerts.yml must have exactly one group, {RULE_GROUP}")
    problems, names = [], []
    for rule in groups[0]["rules"]:
        name = rule.get("alert")
        if not name:
            problems.append(f"a rule without `alert`: {rule}")
            continue
        names.append(name)
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: labels.severity must be one of {sorted(SEVERITIES)}")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{name}: no annotations.{key}")
        runbook = annotations.get("runbook_url", "")
        if "docs/monitoring.md#" not in runbook:
            problems.append(f"{name}: runbook_url should point into docs/monitoring.md#…")
        elif runbook.split("#", 1)[1] not in anchors:
            problems.append(f"{name}: runbook_url's anchor #{runbook.split('#', 1)[1]} is no heading of docs/monitoring.md")
    if len(set(names)) != len(names):
        problems.append("alert names repeat")

    fires, silent = set(), set()
    for test in load_yaml(ALERTS_TEST_YML)["tests"]:
        for case in test.get("alert_rule_test", []):
            (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    for name in names:
        if name not in fires:
            problems.append(f"{name}: no unit test in which it fires")
        if name not in silent:
            problems.append(f"{name}: no unit test in which it stays silent")
    unknown = (fires | silent) - set(names)
    if unknown:
        problems.append(f"alerts.test.yml tests unknown alerts: {sorted(unknown)}")
    if problems:
        raise CheckFailed("alerts.yml:\n  " + "\n  ".join(problems))
    log(f"ok: {len(names)} rules, each with severity, summary, description, runbook_url and tests both ways")
    return names


def check_alertmanager_config(tools):
    run_tool([tools["amtool"], "check-config", ALERTMANAGER_YML])
    config = load_yaml(ALERTMANAGER_YML)
    group_by = config["route"].get("group_by", [])
    if not {"alertname", "channel"} <= set(group_by):
        raise CheckFailed(f"alertmanager route must group by alertname and channel, not {group_by}")
    inhibits = config.get("inhibit_rules", [])
    if not any('alertname="ChannelDown"' in " ".join(r.get("source_matchers", [])) and "channel" in r.get("equal", [])
               for r in inhibits):
        raise CheckFailed("alertmanager: no inhibit rule from ChannelDown with equal: [channel]")
    routed = run_tool([tools["amtool"], "config", "routes", "test", f"--config.file={ALERTMANAGER_YML}",
                       "alertname=ChannelDown", "channel=commerce", "severity=critical"])
    if config["route"]["receiver"] not in routed:
        raise CheckFailed(f"a critical ChannelDown is not routed to the default receiver: {routed}")


def dashboard_queries(dashboard):
    """(panel title, expr) of every query in the dashboard, rows' panels included."""
    queries = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    queries.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    return queries


def check_dashboard():
    with open(DASHBOARD_JSON, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    problems = []
    if not 36 <= dashboard.get("schemaVersion", 0) <= 41:
        problems.append(f"schemaVersion {dashboard.get('schemaVersion')} (expected about 39)")
    if not dashboard.get("uid"):
        problems.append("no uid")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    for name in ("datasource", "channel", "status", "order_type", "window"):
        if name not in variables:
            problems.append(f"no template variable `{name}`")
    channel = variables.get("channel", {})
    if "label_values(o2o_transmissions_total, channel)" not in json.dumps(channel.get("query")) \
            or not channel.get("multi") or not channel.get("includeAll"):
        problems.append("`channel` must be label_values(o2o_transmissions_total, channel), multi, with All")
    window = variables.get("window", {})
    if window.get("query") != "5m,10m,30m,1h,6h,24h" or window.get("current", {}).get("value") != "10m":
        problems.append("`window` must be 5m,10m,30m,1h,6h,24h with 10m selected")
    ids, panels = set(), []

    def walk(items):
        for panel in items:
            panels.append(panel)
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    for panel in panels:
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"panel id {panel.get('id')} repeats")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"{title}: wider than the grid")
        if panel.get("type") in ("row", "text"):
            continue
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        if any((s or {}).get("uid") != "${datasource}" for s in sources):
            problems.append(f"{title}: data source is not ${{datasource}}")
        if not panel.get("targets"):
            problems.append(f"{title}: no query")
    success = next((p for p in panels if p.get("title") == "Transmission success rate"), None)
    steps = success and success["fieldConfig"]["defaults"]["thresholds"]["steps"]
    if not steps or [(s["color"], s["value"]) for s in steps] != [("red", None), ("orange", 95), ("green", 99)]:
        problems.append("the success-rate stat must be red < 95 < orange < 99 < green")
    for path in (DATASOURCES_YML, DASHBOARDS_YML):
        if not load_yaml(path).get("apiVersion"):
            problems.append(f"{os.path.relpath(path, STACK)}: no apiVersion")
    if problems:
        raise CheckFailed("grafana:\n  " + "\n  ".join(problems))
    log(f"ok: dashboard {dashboard['uid']}: {len(panels)} panels, {len(dashboard_queries(dashboard))} queries, "
        f"variables {', '.join(variables)}")
    return dashboard


def check_compose():
    compose = load_yaml(COMPOSE_YML)
    services = compose.get("services", {})
    problems = [f"no service {s}" for s in ("prometheus", "alertmanager", "grafana", "mimir") if s not in services]
    password = str(services.get("grafana", {}).get("environment", {}).get("GF_SECURITY_ADMIN_PASSWORD", ""))
    if not password.startswith("${GRAFANA_ADMIN_PASSWORD:?"):
        problems.append("GF_SECURITY_ADMIN_PASSWORD must be ${GRAFANA_ADMIN_PASSWORD:?…}, never a literal")
    for name, service in services.items():
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port} is not published on 127.0.0.1 only")
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("./") and not os.path.exists(os.path.join(STACK, source)):
                problems.append(f"{name}: mounts {source}, which does not exist")
    if problems:
        raise CheckFailed("docker-compose.yml:\n  " + "\n  ".join(problems))
    log(f"ok: docker-compose.yml: services {', '.join(services)}")


def static_checks(tools, tmp):
    log("== part 1: static checks")
    check_prometheus_config(tools, tmp)
    check_rules(tools)
    rules = lint_rules()
    check_alertmanager_config(tools)
    dashboard = check_dashboard()
    check_compose()
    return rules, dashboard


# --------------------------------------------------------------------------------------------
# Peers: every program and server the end-to-end check starts, stopped in reverse order


class Peers:
    """The cleanup stack of everything started. Programs log to files in the temporary
    directory; their log tails are printed when something fails."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.stack = []       # (name, stop function)
        self.processes = {}   # name -> (Popen, log path)

    def add(self, name, stop):
        self.stack.append((name, stop))

    def start_process(self, name, argv, env=None, cwd=None):
        log_path = os.path.join(self.tmp, f"{name}.log")
        log_file = open(log_path, "wb")
        try:
            # A session of its own: Ctrl-C reaches only this script, which then stops it.
            process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=cwd or self.tmp, start_new_session=True)
        finally:
            log_file.close()
        self.processes[name] = (process, log_path)
        self.add(name, lambda: stop_process(process))
        log(f"started {name} (pid {process.pid}): {' '.join(argv)}")
        return process

    def log_path(self, name):
        return self.processes[name][1]

    def read_log(self, name):
        with open(self.log_path(name), encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def check_alive(self):
        for name, (process, _) in self.processes.items():
            if process.poll() is not None:
                raise CheckFailed(f"{name} exited with {process.returncode}")

    def print_tails(self, lines=40):
        for name, (process, path) in self.processes.items():
            state = "running" if process.poll() is None else f"exited {process.returncode}"
            say(f"\n---- {name} ({state}), last {lines} lines of {path}")
            with open(path, encoding="utf-8", errors="replace") as handle:
                say("".join(handle.readlines()[-lines:]).rstrip() or "(empty)")

    def close(self):
        while self.stack:
            name, stop = self.stack.pop()
            started = time.monotonic()
            try:
                stop()
            except BaseException as error:  # a second Ctrl-C included: keep stopping the others
                say(f"stopping {name}: {error!r}", sys.stderr)
            if time.monotonic() - started > 2:
                log(f"stopping {name} took {time.monotonic() - started:.1f} s")


def stop_process(process):
    """SIGTERM to the process group of a program we started (it has a session of its own, so the
    group holds that program and its children only), SIGKILL if it is still there after 10 s."""

    def signal_group(signum):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass

    if process.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            signal_group(signal.SIGKILL)
            process.wait(timeout=10)
    signal_group(signal.SIGKILL)  # children that outlived their parent


def wait_until(what, probe, timeout, peers, interval=0.5):
    """Calls probe() until it returns something truthy; CheckFailed after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        peers.check_alive()
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not within {timeout} s")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# Part 2 peers


class WebhookRecorder:
    """Records the JSON bodies POSTed to it (Alertmanager's webhook payloads)."""

    def __init__(self, peers):
        self.posts = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsed": body.decode("utf-8", "replace")}
                recorder.posts.append({"at": time.monotonic(), "path": self.path, "payload": payload})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        thread = threading.Thread(target=self.server.serve_forever, name="webhook-recorder", daemon=True)
        thread.start()
        peers.add("webhook recorder", self.stop)
        log(f"webhook recorder on {self.url}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def alerts(self):
        """(time received, alert) for every alert in every notification so far."""
        return [(post["at"], alert) for post in list(self.posts) for alert in post["payload"].get("alerts", [])]

    def find(self, status="firing", **labels):
        for at, alert in self.alerts():
            if alert.get("status") == status and all(alert.get("labels", {}).get(k) == v for k, v in labels.items()):
                return at, alert
        return None


class SMTPSink:
    """An SMTP server that keeps every message (aiosmtpd's Controller, in its own thread)."""

    def __init__(self, peers):
        from aiosmtpd.controller import Controller

        self.messages = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                sink.messages.append({"at": time.monotonic(), "from": envelope.mail_from,
                                      "to": list(envelope.rcpt_tos), "subject": str(message.get("Subject", ""))})
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        peers.add("SMTP sink", self.controller.stop)
        log(f"SMTP sink on 127.0.0.1:{self.port}")

    def find(self, *words):
        for message in list(self.messages):
            if all(word in message["subject"] for word in words):
                return message
        return None


def start_alertmanager(peers, tools, webhook_url):
    """The shipped configuration with every receiver sent to the recorder, so nothing leaves the
    machine, and short group timings. Routes and inhibit rules stay as shipped."""
    config = load_yaml(ALERTMANAGER_YML)
    for receiver in config.get("receivers", []):
        name = receiver["name"]
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": f"{webhook_url}?receiver={urllib.parse.quote(name)}",
                                        "send_resolved": True}]
    config["global"] = {k: v for k, v in (config.get("global") or {}).items() if not k.startswith("smtp_")}
    config["templates"] = [t if os.path.isabs(t) else os.path.join(os.path.dirname(ALERTMANAGER_YML), t)
                           for t in config.get("templates", [])]

    def shorten(route):
        route.update({"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"})
        for child in route.get("routes") or []:
            shorten(child)

    shorten(config["route"])
    path = os.path.join(peers.tmp, "alertmanager.yml")
    write_yaml(path, config)
    port = free_port()
    storage = os.path.join(peers.tmp, "alertmanager-data")
    os.makedirs(storage)
    peers.start_process("alertmanager", [
        tools["alertmanager"], f"--config.file={path}", f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ])
    url = f"http://127.0.0.1:{port}"
    wait_until("Alertmanager ready", lambda: http_get(f"{url}/-/ready")[0] == 200, 30, peers)
    return url


def start_orderflow(peers, binary, notifier_env):
    """`orderflow demo` whose commerce engine refuses everything. Returns (URL, port, API key):
    the demo prints an API key (role integration, which may read /metrics)."""
    port, simulator_port = free_port(), free_port()
    # None of the caller's ORDERFLOW_* settings (channels, database, notifiers): only ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")}
    env.update(notifier_env)
    peers.start_process("orderflow", [
        binary, "demo", "--host", "127.0.0.1", "--port", str(port), "--simulator-port", str(simulator_port),
        "--database", f"sqlite:{os.path.join(peers.tmp, 'demo.sqlite')}",
        "--commerce-failure-rate", "1", "--order-rate", "5",
    ], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until("OrderFlow healthy", lambda: http_get(f"{url}/api/v1/health")[0] == 200, 90, peers)
    except CheckFailed as failure:
        unknown = [name for name in notifier_env if f"{name} is not a setting" in peers.read_log("orderflow")]
        if unknown:
            raise CheckFailed(f"this OrderFlow does not know {', '.join(unknown)}: its own alert notifiers have "
                              "not landed in this binary. Rebuild it, or run with --skip-orderflow-notifiers") from failure
        raise

    def api_key():
        match = re.search(r"Demo API key[^\n]*\n\s*(ofk_\S+)", peers.read_log("orderflow"))
        return match and match.group(1)

    key = wait_until("the demo's API key in its output", api_key, 30, peers)
    status, body = http_get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"})
    if status != 200:
        raise CheckFailed(f"GET /metrics with the demo's API key answered {status}: {body[:200]}")
    return url, port, key


def start_prometheus(peers, tools, orderflow_port, api_key, alertmanager_url):
    """The shipped configuration's orderflow job aimed at the demo, the shipped rule files by
    absolute path, alerts to the test Alertmanager, 1 s intervals; nothing else."""
    shipped = load_yaml(PROMETHEUS_YML)
    jobs = [job for job in shipped.get("scrape_configs", []) if job.get("job_name") == "orderflow"]
    if not jobs:
        raise CheckFailed("prometheus.yml has no scrape job `orderflow`")
    job = {k: v for k, v in jobs[0].items() if not k.endswith("_sd_configs")}
    job["static_configs"] = [{"targets": [f"127.0.0.1:{orderflow_port}"]}]
    job["scrape_interval"] = job["scrape_timeout"] = "1s"
    key_file = os.path.join(peers.tmp, "orderflow-api-key")
    with open(key_file, "w") as handle:
        handle.write(api_key)
    os.chmod(key_file, 0o600)
    job["authorization"] = {"type": "Bearer", "credentials_file": key_file}
    config_dir = os.path.dirname(PROMETHEUS_YML)
    config = {
        "global": dict(shipped.get("global") or {}, scrape_interval="1s", scrape_timeout="1s",
                       evaluation_interval="1s"),
        "rule_files": [os.path.join(config_dir, f) for f in shipped.get("rule_files", [])],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [urllib.parse.urlsplit(alertmanager_url).netloc]}]}]},
        "scrape_configs": [job],
    }
    path = os.path.join(peers.tmp, "prometheus.yml")
    write_yaml(path, config)
    port = free_port()
    peers.start_process("prometheus", [
        tools["prometheus"], f"--config.file={path}", f"--storage.tsdb.path={os.path.join(peers.tmp, 'prometheus-data')}",
        f"--web.listen-address=127.0.0.1:{port}",
    ])
    url = f"http://127.0.0.1:{port}"
    wait_until("Prometheus ready", lambda: http_get(f"{url}/-/ready")[0] == 200, 60, peers)
    return url


# --------------------------------------------------------------------------------------------
# Part 2 and 3: watching


class Prometheus:
    """The few API calls the checks need."""

    def __init__(self, url):
        self.url = url

    def query(self, expr):
        data = http_json(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        return data["data"]["result"]

    def scalar(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alert(self, name, **labels):
        for alert in http_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]:
            if alert["labels"].get("alertname") == name and all(alert["labels"].get(k) == v for k, v in labels.items()):
                return alert
        return None

    def target_error(self, job):
        for target in http_json(f"{self.url}/api/v1/targets")["data"]["activeTargets"]:
            if target["labels"].get("job") == job:
                return target.get("health"), target.get("lastError")
        return None, "no such target"


def alertmanager_alerts(url):
    return http_json(f"{url}/api/v2/alerts")


def check_rules_loaded(prometheus, rule_names, peers):
    def loaded():
        groups = http_json(f"{prometheus.url}/api/v1/rules")["data"]["groups"]
        names = [r["name"] for g in groups if g["name"] == RULE_GROUP for r in g["rules"]]
        return names if sorted(names) == sorted(rule_names) else None

    wait_until(f"Prometheus loaded the {len(rule_names)} shipped rules", loaded, 15, peers)
    log(f"ok: Prometheus evaluates the shipped group {RULE_GROUP} ({len(rule_names)} rules)")


def check_target_up(prometheus, peers):
    def up():
        return prometheus.scalar('up{job="orderflow"}') == 1

    try:
        wait_until("OrderFlow scraped", up, 30, peers)
    except CheckFailed:
        health, error = prometheus.target_error("orderflow")
        raise CheckFailed(f"Prometheus cannot scrape OrderFlow: {health}, {error}")
    log("ok: Prometheus scrapes OrderFlow (up{job=\"orderflow\"} == 1)")


class Expectation:
    """Something that must happen before a deadline; check() returns a description when it has."""

    def __init__(self, name, deadline, check, hint=""):
        self.name, self.deadline, self.check, self.hint = name, deadline, check, hint
        self.met_at = self.detail = None

    def poll(self, now):
        if self.met_at is None and now <= self.deadline:
            detail = self.check()
            if detail:
                self.met_at, self.detail = time.monotonic(), detail

    @property
    def open(self):
        return self.met_at is None and time.monotonic() <= self.deadline


def e2e_delivery_check(recorder, alertmanager_url, fired):
    """Alertmanager delivered the alert to the webhook, or held it back because a ChannelDown of
    the same channel fired (the shipped inhibit rule) and delivered that ChannelDown."""

    def check():
        if not fired.get("at"):
            return None
        # Prometheus's alert, not OrderFlow's own of the same name (that one carries source=orderflow).
        found = recorder.find(alertname=E2E_ALERT, channel=E2E_CHANNEL, source=None)
        if found:
            return f"delivered to the webhook {max(0.0, found[0] - fired['at']):.1f} s after firing"
        alerts = alertmanager_alerts(alertmanager_url)
        target = next((a for a in alerts if a["labels"].get("alertname") == E2E_ALERT
                       and a["labels"].get("channel") == E2E_CHANNEL), None)
        if not target or not target["status"].get("inhibitedBy"):
            return None
        sources = [a for a in alerts if a["fingerprint"] in target["status"]["inhibitedBy"]]
        for source in sources:
            if source["labels"].get("alertname") == "ChannelDown" and source["labels"].get("channel") == E2E_CHANNEL:
                delivered = recorder.find(alertname="ChannelDown", channel=E2E_CHANNEL)
                if delivered:
                    origin = source["labels"].get("source", "prometheus")
                    return (f"inhibited by ChannelDown{{channel=\"{E2E_CHANNEL}\"}} from {origin} (shipped inhibit rule), "
                            f"and that ChannelDown was delivered to the webhook")
        return None

    return check


def rule_summary(name):
    """`expr for DURATION` of a shipped rule, to say what it waited for."""
    for rule in load_yaml(ALERTS_YML)["groups"][0]["rules"]:
        if rule.get("alert") == name:
            return f"the rule is `{' '.join(rule['expr'].split())}` for {rule.get('for', '0s')}"
    return f"alerts.yml has no rule {name}"


def progress_line(prometheus, alertmanager_url, recorder, sink):
    channel = f'channel="{E2E_CHANNEL}"'
    attempts = {r["metric"].get("outcome", "?"): int(float(r["value"][1]))
                for r in prometheus.query(f"sum by (outcome) (o2o_transmissions_total{{{channel}}})")}
    ratio = prometheus.scalar(f'sum(rate(o2o_transmissions_total{{{channel}, outcome!="delivered"}}[5m]))'
                              f' / sum(rate(o2o_transmissions_total{{{channel}}}[5m]))')
    volume = prometheus.scalar(f"sum(increase(o2o_transmissions_total{{{channel}}}[5m]))")
    alert = prometheus.alert(E2E_ALERT, channel=E2E_CHANNEL)
    channel_down = prometheus.alert("ChannelDown", channel=E2E_CHANNEL)
    up = prometheus.scalar(f"max(o2o_channel_up{{{channel}}})")
    parts = [
        f"{E2E_CHANNEL} attempts {attempts or 'none yet'}",
        f"not delivered 5m {ratio:.0%}" if ratio is not None else "not delivered 5m n/a",
        f"attempts 5m {volume:.1f}" if volume is not None else "attempts 5m n/a",
        f"{E2E_ALERT}: {alert['state'] if alert else 'inactive'}",
        f"channel_up {'n/a' if up is None else int(up)}"
        + ("" if E2E_ALERT == "ChannelDown" else f", ChannelDown: {channel_down['state'] if channel_down else 'inactive'}"),
        f"webhook alerts {len(recorder.alerts())}",
    ]
    if sink is not None:
        from_orderflow = [a for a in alertmanager_alerts(alertmanager_url) if a["labels"].get("source") == "orderflow"]
        parts.append(f"e-mails {len(sink.messages)}, OrderFlow alerts in Alertmanager {len(from_orderflow)}")
    return "; ".join(parts)


def watch(expectations, prometheus, alertmanager_url, recorder, sink, peers, orderflow_url):
    """Polls every expectation until each is met or past its deadline, printing progress every
    15 s. Stops early when OrderFlow no longer answers: nothing can fire then."""
    next_progress = time.monotonic()
    unhealthy_since = None
    while any(e.open for e in expectations):
        peers.check_alive()
        now = time.monotonic()
        status, body = http_get(f"{orderflow_url}/api/v1/health", timeout=3)
        if status == 200:
            unhealthy_since = None
        elif unhealthy_since is None:
            unhealthy_since = now
        elif now - unhealthy_since > 20:
            raise CheckFailed(f"OrderFlow has not answered GET /api/v1/health for 20 s (last: {status or body}), "
                              "although its process is still running")
        for expectation in expectations:
            before = expectation.met_at
            expectation.poll(now)
            if before is None and expectation.met_at is not None:
                log(f"ok: {expectation.name}: {expectation.detail}")
        if now >= next_progress:
            log(progress_line(prometheus, alertmanager_url, recorder, sink))
            next_progress = now + 15
        time.sleep(1)


def check_dashboard_queries(prometheus, dashboard, require_all_metrics):
    """Every dashboard query is valid PromQL here; reports the expected metrics this OrderFlow
    does not export (yet)."""
    problems, with_data, without = [], 0, []
    for title, expr in dashboard_queries(dashboard):
        runnable = expr
        for variable, value in DASHBOARD_SUBSTITUTIONS.items():
            runnable = runnable.replace(variable, value)
        status, body = http_get(f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': runnable})}")
        if status != 200:
            problems.append(f"{title}: {runnable}\n    -> {status}: {body[:200]}")
        elif json.loads(body)["data"]["result"]:
            with_data += 1
        else:
            without.append(title)
    if problems:
        raise CheckFailed("dashboard queries Prometheus refuses:\n  " + "\n  ".join(problems))
    names = set(http_json(f"{prometheus.url}/api/v1/label/__name__/values")["data"])
    missing = [m for m in EXPECTED_METRICS if m not in names]
    log(f"ok: all {len(dashboard_queries(dashboard))} dashboard queries are valid; {with_data} have data now"
        + (f" (not yet: {', '.join(sorted(set(without)))})" if without else ""))
    if missing:
        message = f"metrics the stack uses that this OrderFlow does not export: {', '.join(missing)}"
        if require_all_metrics:
            raise CheckFailed(message)
        log(f"note: {message}")


def end_to_end(args, tools, rule_names, dashboard, tmp):
    log("== part 2: Prometheus -> Alertmanager end to end" +
        ("" if args.skip_orderflow_notifiers else ", part 3: OrderFlow's own notifiers"))
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise CheckFailed(f"no OrderFlow binary at {binary} (build it, or pass --binary, or --static-only)")
    peers = Peers(tmp)
    recorder = None
    try:
        recorder = WebhookRecorder(peers)
        sink = None if args.skip_orderflow_notifiers else SMTPSink(peers)
        alertmanager_url = start_alertmanager(peers, tools, recorder.url)
        notifier_env = {}
        if sink is not None:
            notifier_env = {
                "ORDERFLOW_ALERT_NOTIFIERS": json.dumps([
                    {"name": "oncall-email", "type": "email", "url": f"smtp://127.0.0.1:{sink.port}",
                     "to": ["oncall@example.test"]},
                    {"name": "alertmanager", "type": "alertmanager", "url": alertmanager_url},
                ]),
                "ORDERFLOW_ALERT_EVALUATION_SECONDS": "1",
            }
        orderflow_started = time.monotonic()
        orderflow_url, orderflow_port, api_key = start_orderflow(peers, binary, notifier_env)
        log(f"OrderFlow demo ready on {orderflow_url} after {time.monotonic() - orderflow_started:.1f} s")
        prometheus = Prometheus(start_prometheus(peers, tools, orderflow_port, api_key, alertmanager_url))
        prometheus_started = time.monotonic()
        check_rules_loaded(prometheus, rule_names, peers)
        check_target_up(prometheus, peers)

        fired = {}
        # Until the alert fires, delivery shares its deadline; then it has 90 s more.
        delivery = Expectation("Alertmanager handles it", prometheus_started + args.timeout,
                               e2e_delivery_check(recorder, alertmanager_url, fired),
                               "see the webhook notifications and Alertmanager's log below")

        def firing():
            alert = prometheus.alert(E2E_ALERT, channel=E2E_CHANNEL)
            if alert and alert["state"] == "firing":
                fired["at"] = time.monotonic()
                delivery.deadline = fired["at"] + 90
                return f"firing {fired['at'] - prometheus_started:.0f} s after Prometheus started (value {float(alert['value']):.2f})"
            return None

        expectations = [
            Expectation(f'Prometheus fires {E2E_ALERT}{{channel="{E2E_CHANNEL}"}}',
                        prometheus_started + args.timeout, firing, rule_summary(E2E_ALERT)),
            delivery,
        ]
        if sink is not None:
            notifier_deadline = orderflow_started + args.notifier_timeout

            def emailed():
                message = sink.find("ChannelDown", E2E_CHANNEL)
                return message and (f"{message['at'] - orderflow_started:.0f} s after the demo started: "
                                    f"\"{message['subject']}\" to {', '.join(message['to'])}")

            def posted():
                for alert in alertmanager_alerts(alertmanager_url):
                    labels = alert["labels"]
                    if (labels.get("alertname"), labels.get("channel"), labels.get("source")) == ("ChannelDown", E2E_CHANNEL, "orderflow"):
                        return f"{time.monotonic() - orderflow_started:.0f} s after the demo started: {labels}"
                return None

            hint = ("does this OrderFlow have alert notifiers (ORDERFLOW_ALERT_NOTIFIERS, "
                    "ORDERFLOW_ALERT_EVALUATION_SECONDS) and the demo's ChannelDown rule?")
            expectations += [
                Expectation("OrderFlow e-mails ChannelDown for commerce", notifier_deadline, emailed, hint),
                Expectation("OrderFlow posts ChannelDown{source=\"orderflow\"} to Alertmanager", notifier_deadline, posted, hint),
            ]

        watch(expectations, prometheus, alertmanager_url, recorder, sink, peers, orderflow_url)
        check_dashboard_queries(prometheus, dashboard, args.require_all_metrics)

        failed = [e for e in expectations if e.met_at is None]
        say()
        for expectation in expectations:
            mark = "PASS" if expectation.met_at is not None else "FAIL"
            say(f"{mark}  {expectation.name}: {expectation.detail or 'not in time. ' + expectation.hint}")
        if sink is not None:
            say(f"      e-mails received: {[m['subject'] for m in sink.messages] or 'none'}")
            say(f"      OrderFlow alerts in Alertmanager: "
                  f"{[a['labels'] for a in alertmanager_alerts(alertmanager_url) if a['labels'].get('source') == 'orderflow'] or 'none'}")
        if fired.get("at") and delivery.met_at:
            say(f"      timings: {E2E_ALERT} firing {fired['at'] - prometheus_started:.0f} s after Prometheus started "
                  f"({fired['at'] - orderflow_started:.0f} s after OrderFlow), handled by Alertmanager "
                  f"{max(0.0, delivery.met_at - fired['at']):.1f} s later")
        if failed:
            raise CheckFailed(f"{len(failed)} end-to-end expectation(s) not met")
    except BaseException:
        peers.print_tails()
        if recorder is not None:
            say(f"\nwebhook notifications received: {len(recorder.posts)}")
            for at, alert in recorder.alerts():
                say(f"  {at - STARTED:6.1f}s {alert.get('status')} {alert.get('labels')}")
        raise
    finally:
        peers.close()
        log("stopped everything the check started")


# --------------------------------------------------------------------------------------------


def interrupted(signum, frame):
    """SIGTERM is handled like Ctrl-C, so the finally blocks stop what was started."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "orderflow"),
                        help="the orderflow executable (default: .build/debug/orderflow)")
    parser.add_argument("--static-only", action="store_true", help="part 1 only: start nothing")
    parser.add_argument("--skip-orderflow-notifiers", action="store_true",
                        help="skip part 3 (OrderFlow's own e-mail and Alertmanager notifiers)")
    parser.add_argument("--timeout", type=float, default=240,
                        help="seconds for Prometheus to fire the end-to-end alert (default 240)")
    parser.add_argument("--notifier-timeout", type=float, default=150,
                        help="seconds from the demo's start for OrderFlow's own notifications (default 150)")
    parser.add_argument("--require-all-metrics", action="store_true",
                        help="fail when OrderFlow lacks a metric the rules or the dashboard use")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (logs, configs)")
    return parser.parse_args()


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    tmp = tempfile.mkdtemp(prefix="orderflow-monitoring-")
    try:
        tools = find_tools()
        if not args.static_only and not args.skip_orderflow_notifiers:
            if importlib.util.find_spec("aiosmtpd") is None:
                raise CheckFailed("part 3 needs aiosmtpd (pip install aiosmtpd), or pass --skip-orderflow-notifiers")
        rule_names, dashboard = static_checks(tools, tmp)
        if not args.static_only:
            end_to_end(args, tools, rule_names, dashboard, tmp)
        say("\nmonitoring stack: all enabled checks passed")
        return 0
    except CheckFailed as failure:
        say(f"\nFAILED: {failure}", sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        say(f"\ninterrupted ({interruption.args[0] if interruption.args else 'SIGINT'})", sys.stderr)
        return 130
    finally:
        if args.keep_temp:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
