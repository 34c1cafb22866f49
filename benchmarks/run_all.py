"""`make bench`: every benchmark in turn, then one table of their figures, targets and whether each
is met: benchmarks/out/results.md and results.json (each benchmark's output in out/<name>.log), the
table also copied to benchmarks/RESULTS.md (committed: the README shows the latest run).

    .venv/bin/python -m benchmarks.run_all [--only catalogue,scale] [--report]

A benchmark that fails still gets a row (its exit status), and the others run on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from benchmarks.common import OUT, ROOT, Spread

BENCHMARKS = ("catalogue", "enroll_race", "competition_quota", "reminders", "hours_report", "member_import", "seed",
              "outbox", "api", "drills", "scale", "memory")


def run(name: str) -> dict:
    """Run one benchmark, its output copied to out/<name>.log; its exit status, minutes and load."""
    started, load = time.monotonic(), os.getloadavg()[0]
    with (OUT / f"{name}.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-u", "-m", f"benchmarks.{name}"], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ,
                                                                                          "BENCH_OUT": str(OUT)})
        try:
            for line in process.stdout:
                print(line, end="", flush=True)
                log.write(line)
        finally:  # stopped (Ctrl-C, SIGTERM): the benchmark stops too, dropping its databases
            if process.poll() is None:
                process.terminate()
            status = process.wait()
    return {"status": status, "minutes": round((time.monotonic() - started) / 60, 1),
            "load": [round(load, 1), round(os.getloadavg()[0], 1)]}


def table(results: dict) -> str:
    lines = ["| benchmark | measure | result: median (min–max) | CPU per operation ÷ baseline | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, found in results.items():
        rows = found.get("rows") or [{"measure": f"did not finish (exit {found.get('status')})", "value": "—",
                                      "cpu": "", "target": "", "met": False, "note": ""}]
        for item in rows:
            value = f"{item['value']:,}" if isinstance(item["value"], int) else str(item["value"])
            value = str(Spread(**item["spread"])) if item.get("spread") else value
            cpu = str(Spread(**item["cpu_spread"])) if item.get("cpu_spread") else item["cpu"]
            note = f" — {item['note']}" if item.get("note") else ""
            met = {True: "yes", False: "**no**", None: ""}[item["met"]]
            lines.append(f"| {name} | {item['measure']}{note} | {value} | {cpu or '—'} | "
                         f"{item['target'] or '—'} | {met} |")
    return "\n".join(lines)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--report", action="store_true", help="only rebuild the table from out/rows/")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    (OUT / "rows").mkdir(parents=True, exist_ok=True)
    runs_file = OUT / "runs.json"
    runs = json.loads(runs_file.read_text()) if runs_file.exists() else {}
    if not args.report:
        for name in names:
            (OUT / "rows" / f"{name}.json").unlink(missing_ok=True)
            runs[name] = run(name)
            runs_file.write_text(json.dumps(runs, indent=1))
    results = {}
    for name in BENCHMARKS:
        rows_file = OUT / "rows" / f"{name}.json"
        if rows_file.exists() or name in runs:
            results[name] = {**runs.get(name, {}), "rows": json.loads(rows_file.read_text())
                             if rows_file.exists() else []}
            if results[name].get("status"):
                results[name]["rows"].append({"measure": f"exit status {results[name]['status']}", "value": "—",
                                              "cpu": "", "target": "0", "met": False, "note": ""})
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {platform.platform(terse=True)}"
    loads = ", ".join(f"{name} {found['load'][0]}→{found['load'][1]} ({found['minutes']} min)"
                      for name, found in results.items() if "load" in found)
    text = (f"# Benchmark results\n\n{stamp}. Ratios are medians of alternating rounds (min–max in brackets); "
            f"CPU is the serving processes' plus the database backends', per operation.\n\n{table(results)}\n\n"
            f"Load average (1 min) at each benchmark's start→end, and its duration: {loads or '—'}.\n")
    if (OUT / "scale.md").exists() and "scale" in results:
        text += f"\n## scale: S, L and L/S per page (medians)\n\n{(OUT / 'scale.md').read_text()}"
    (OUT / "results.md").write_text(text)
    if OUT == ROOT / "benchmarks" / "out":  # the repository's own run: the table the README links
        (ROOT / "benchmarks" / "RESULTS.md").write_text(text)
    (OUT / "results.json").write_text(json.dumps({"when": stamp, "benchmarks": results}, ensure_ascii=False,
                                                 indent=1))
    print(f"\n{text}\nwritten to {OUT / 'results.md'} and results.json")
    raise SystemExit(1 if any(found.get("status") for found in results.values()) else 0)


if __name__ == "__main__":
    main()
