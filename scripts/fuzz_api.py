#!/usr/bin/env python3
"""Fuzzes the API with schemathesis against a running `orderflow demo`, signed in as admin.

Every check schemathesis has runs, in every phase (examples, coverage, fuzzing, and the stateful
phase that follows the document's links from one answer to the next request). Every generated
request, valid or not, must get an answer that the document allows: no 5xx, a documented status
code, content type, headers and body schema. A request that breaks the document must be refused;
one that matches it must be accepted, or refused only for a rule the document states in words
because JSON Schema cannot (fuzz_hooks.py lists them; fuzz_api.toml lets such refusals reach it).

Usage: fuzz_api.py PATH-TO-ORDERFLOW-BINARY [--max-examples N] [--seed N]
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = sys.argv[1]
    max_examples = sys.argv[sys.argv.index("--max-examples") + 1] if "--max-examples" in sys.argv else "30"
    seed = ["--seed", sys.argv[sys.argv.index("--seed") + 1]] if "--seed" in sys.argv else []
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="orderflow-fuzz-")
    password = secrets.token_urlsafe(18)
    environment = dict(os.environ, ORDERFLOW_ADMIN_PASSWORD=password, ORDERFLOW_RATE_LIMIT="0", ORDERFLOW_ANONYMOUS_RATE_LIMIT="0",
                       ORDERFLOW_LOG_LEVEL="error")
    log_path = os.path.join(workdir, "server.log")
    with open(log_path, "w") as log:
        # The simulator's port too: by default it is OrderFlow's + 1, which may be taken.
        server = subprocess.Popen([binary, "demo", "--port", str(port), "--simulator-port", str(free_port()), "--database", f"sqlite:{workdir}/demo.sqlite"],
                                  stdout=log, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    with open(log_path) as log:
                        raise SystemExit(f"orderflow demo ended before it answered:\n{log.read()[-2000:]}")
                time.sleep(0.1)
        request = urllib.request.Request(base + "/api/auth/login", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"username": "admin", "password": password}).encode())
        token = json.loads(urllib.request.urlopen(request, timeout=10).read())["accessToken"]
        command = [
            "schemathesis", "--config-file", os.path.join(HERE, "fuzz_api.toml"),
            "run", base + "/openapi.yaml", "--header", f"Authorization: Bearer {token}",
            "--checks", "all", "--max-examples", max_examples, "--phases", "examples,coverage,fuzzing,stateful",
            "--workers", "2", "--request-timeout", "10", "--suppress-health-check", "all", *seed,
            # These can end the run's own session (the fuzzer reuses IDs it has seen, the admin's
            # among them); the route tests and check_api_document.py cover them.
            "--exclude-operation-id", "logout", "--exclude-operation-id", "updateMe",
            "--exclude-operation-id", "updateUser", "--exclude-operation-id", "resetPassword",
            # An accepted stream never ends, which a fuzzer reads as a timeout; StreamRoutesTests and
            # check_api_document.py cover it, refusals included.
            "--exclude-operation-id", "streamEvents",
        ]
        # The check of refusals (fuzz_hooks.py) is loaded by schemathesis itself.
        hooks = dict(os.environ, SCHEMATHESIS_HOOKS=os.path.join(HERE, "fuzz_hooks.py"),
                     PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
        result = subprocess.run(command, cwd=workdir, env=hooks)  # its cache of failures stays out of the repository
        if os.environ.get("FUZZ_KEEP"):
            print("kept", workdir)
        if result.returncode != 0:
            print(f"schemathesis found problems; the server log is {log_path}")
        return result.returncode
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
