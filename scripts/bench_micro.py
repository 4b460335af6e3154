#!/usr/bin/env python3
"""Runs OrderFlow's micro-benchmarks (Benchmarks/, ordo-one/benchmark) and writes a Markdown table.

  python3 scripts/bench_micro.py OUTPUT.md [--filter REGEX]

Builds the Benchmarks package in release mode through the package's `benchmark` command plugin
(its own Benchmarks/.build; a first build takes several minutes), runs every benchmark with the
plugin's JMH JSON export (written to a temporary directory, nothing inside the repository) and writes a
Markdown fragment to OUTPUT.md: one row per benchmark with the median (p50) and p99 time per
operation, operations per second at the median, and heap allocations per operation. Exits
non-zero if the build or any benchmark fails. Python 3 standard library only.

Benchmarks of very short operations run a batch of operations per sample; they carry the tag
`batch: N` (their name ends in `(batch: N)`, as the plugin appends tags) and N equals their
scaling factor, so this script divides a sample's time and allocations by N. Their p99 is
the p99 of batch means, not of single operations.
"""

import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "Benchmarks")
TARGET = "OrderFlowBenchmarks"
BATCH = re.compile(r"^(?P<name>.*) \(batch: (?P<batch>\d+)\)$")


def say(message):
    print(message, file=sys.stderr, flush=True)


def run(command, what):
    """Runs `command` from the repository's root, echoing its output; exits if it fails."""
    say("$ " + " ".join(command))
    started = time.monotonic()
    output = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process:
        for line in process.stdout:
            sys.stderr.write(line)
            output.append(line.rstrip("\n"))
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        say(f"bench_micro: {what} failed (exit status {process.returncode}) after {elapsed:.0f} s")
        sys.exit(process.returncode)
    say(f"bench_micro: {what} took {elapsed:.0f} s")
    return output


def failed_benchmarks(output):
    """The plugin exits 0 when a benchmark throws; it lists such benchmarks after this line."""
    failed = []
    for index, line in enumerate(output):
        if line.startswith("The following benchmarks failed"):
            failed += [text for text in output[index + 1:] if text.startswith(TARGET + "/")]
    return sorted(set(failed))


def percentile(metric, p):
    value = metric["scorePercentiles"].get(f"{p:.1f}")
    if value is None:
        raise KeyError(f"percentile {p} missing")
    return float(value)


def declared_names():
    """Benchmark names in the order the sources register them (the export's order is arbitrary)."""
    names = []
    for path in sorted(glob.glob(os.path.join(PACKAGE, "Benchmarks", TARGET, "*.swift"))):
        with open(path, encoding="utf-8") as handle:
            code = "".join(line for line in handle if not line.lstrip().startswith("//"))
        names += re.findall(r'Benchmark\(\s*"((?:[^"\\]|\\.)*)"', code)
    return names


def parse(path):
    """Rows from the plugin's JMH export: time in µs per sample, counts per sample."""
    with open(path, encoding="utf-8") as handle:
        elements = json.load(handle)
    prefix = f"package.benchmark.{TARGET}."
    declared = declared_names()
    rows = []
    for element in elements:
        full = element["benchmark"]
        exported = full[len(prefix):] if full.startswith(prefix) else full
        # The export writes spaces as underscores; the sources have the real names.
        matches = [n for n in declared if exported == n.replace(" ", "_") or exported.startswith(n.replace(" ", "_") + "_(")]
        name = max(matches, key=len) if matches else None
        position = declared.index(name) if name is not None else len(declared)
        name = exported.replace("_", " ") if name is None else name + exported[len(name):].replace("_", " ")
        batch = 1
        match = BATCH.match(name)
        if match:
            name, batch = match["name"], int(match["batch"])
        metrics = element.get("secondaryMetrics", {})
        wall = metrics.get("Time (wall clock)")
        mallocs = metrics.get("Malloc (total)")
        if wall is None or mallocs is None:
            raise SystemExit(f"bench_micro: '{name}' has no wall clock or malloc results in {path}")
        instructions = metrics.get("Instructions")
        p50 = percentile(wall, 50) * 1_000 / batch  # µs per sample → ns per operation
        p99 = percentile(wall, 99) * 1_000 / batch
        rows.append({
            "position": position,
            "name": name,
            "batch": batch,
            "p50_ns": p50,
            "p99_ns": p99,
            "ops": 1e9 / p50 if p50 > 0 else float("inf"),
            "mallocs": percentile(mallocs, 50) / batch,
            "instructions": percentile(instructions, 50) / batch if instructions else None,
        })
    rows.sort(key=lambda row: (row["position"], row["name"]))
    return rows


def significant(value, unit):
    """Three significant figures, e.g. 3.62, 48.9, 252."""
    text = f"{value:.2f}" if value < 9.995 else f"{value:.1f}" if value < 99.95 else f"{value:.0f}"
    return f"{text} {unit}"


def duration(ns):
    if round(ns, 1 if ns < 100 else 0) < 1_000:
        return f"{ns:.1f} ns" if ns < 99.95 else f"{ns:.0f} ns"
    if ns < 999_500:
        return significant(ns / 1_000, "µs")
    return significant(ns / 1_000_000, "ms")


def rate(ops):
    if ops == float("inf"):
        return "∞"
    if ops >= 100:
        return f"{float(f'{ops:.3g}'):,.0f}"  # three significant figures
    return f"{ops:.3g}"


def count(value, batch):
    if batch == 1:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 1 or value == 0 else f"{value:.2f}"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout
        swift = re.search(r"Swift version (\S+)", swift)
        swift = swift.group(1) if swift else "?"
    except OSError:
        swift = "?"
    return f"Swift {swift}, {platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu})"


def markdown(rows):
    with_instructions = any(row["instructions"] is not None for row in rows)
    header = ["Benchmark", "p50 / op", "p99 / op", "ops/s at p50", "mallocs / op"]
    if with_instructions:
        header.append("instructions / op")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        name = row["name"] + (" †" if row["batch"] > 1 else "")
        cells = [name, duration(row["p50_ns"]), duration(row["p99_ns"]), rate(row["ops"]), count(row["mallocs"], row["batch"])]
        if with_instructions:
            cells.append("—" if row["instructions"] is None else f"{row['instructions']:,.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if any(row["batch"] > 1 for row in rows):
        batches = sorted({row["batch"] for row in rows if row["batch"] > 1})
        lines.append(f"† Measured in batches of {', '.join(f'{b:,}' for b in batches)} operations: "
                     "time and allocations are per operation, p99 is of batch means.")
    if not with_instructions:
        lines.append("No instruction counts: hardware performance counters are not available on this machine.")
    lines.append("")
    lines.append(f"Measured on {machine()}, release build. Reproduce with `python3 scripts/bench_micro.py OUTPUT.md` "
                 "(or `swift package --package-path Benchmarks benchmark` for the plugin's own tables); "
                 "sources in `Benchmarks/Benchmarks/OrderFlowBenchmarks/`.")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="where to write the Markdown fragment")
    parser.add_argument("--filter", help="run only benchmarks whose name matches this regular expression")
    args = parser.parse_args()
    output = os.path.abspath(args.output)

    # One plugin invocation builds (release) and runs: each invocation relinks the plugins' tools,
    # and a separate `swift build -c release` would not share all of its work with the plugin's.
    say("bench_micro: building Benchmarks/ in release mode and running it "
        "(a first build takes several minutes, with no output until it is done)")
    with tempfile.TemporaryDirectory(prefix="bench-micro-") as export:
        command = ["swift", "package", "--package-path", PACKAGE, "--allow-writing-to-directory", export,
                   "benchmark", "run", "--target", f"^{TARGET}$", "--format", "jmh", "--path", export, "--no-progress"]
        if args.filter:
            command += ["--filter", args.filter]
        log = run(command, "build and benchmark run")
        failed = failed_benchmarks(log)
        if failed:
            say(f"bench_micro: failed: {', '.join(failed)}")
            sys.exit(1)
        exports = glob.glob(os.path.join(export, "*.jmh.json"))
        if len(exports) != 1:
            say(f"bench_micro: expected one JMH export in {export}, found {exports}")
            sys.exit(1)
        rows = parse(exports[0])

    if not rows:
        say("bench_micro: no benchmark results")
        sys.exit(1)
    # The plugin matches --filter against whole names.
    expected = [name for name in declared_names() if not args.filter or re.fullmatch(args.filter, name)]
    missing = sorted(set(expected) - {row["name"] for row in rows})
    if missing:
        say(f"bench_micro: no results for {', '.join(missing)}")
        sys.exit(1)
    text = markdown(rows)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(text, end="")
    say(f"bench_micro: wrote {output}")


if __name__ == "__main__":
    main()
