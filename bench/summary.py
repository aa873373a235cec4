#!/usr/bin/python3
"""bench/results/summary.json: the full benchmarks' figures in a form scripts read.

Each full benchmark (bench/run.sh) records its entry here beside its Markdown report, with the
commit and the date it was measured at; `make bench-quick` (bench/quick.py) compares the short
forms with these entries, and bench/readme.py renders the README's performance tables from them.

  summary.py record NAME --report PATH [--commit C] [--build DIR] [--from FILE.json] [METRIC=VALUE[:RUN,RUN,...]]...
  summary.py commit        the commit to record, as below: take it when a benchmark starts

records the entry NAME (replacing the previous one): its metrics from FILE.json (an object
{"metric": {"value": v, "runs": [...]}} or {"metric": v}) and from the arguments (VALUE the median,
RUNS the single runs when given). The commit (--commit, taken when the benchmark started: HEAD
may move while it runs; by default now) is `git rev-parse --short HEAD`, marked "+changes" when
src/ or bench/ have uncommitted changes; the date is now (UTC). Recording an entry re-renders
the README's performance blocks (bench/readme.py), so that they stay those of summary.json.

An entry: {"measured_by": "...", "report": "bench/results/x.md", "commit": "abc1234",
"date": "2026-12-07T23:00Z", "build": "RelWithDebInfo", "note": "...", "metrics": {NAME: {"value": v,
"runs": [...], "spread": s}}}; "runs" and "spread" (the relative spread of the runs, (max-min)/median,
stated where the report gave only a range) are optional.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "bench", "results", "summary.json")


def load(path=PATH):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(data, path=PATH):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit():
    """The short commit of HEAD, "+changes" when the code measured differs from it."""
    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src", "bench", "CMakeLists.txt", "cmake")
    # The results folder is what a benchmark writes: its changes are not changes to the code.
    dirty = [line for line in dirty.splitlines() if "bench/results/" not in line]
    return head + ("+changes" if dirty else "")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def build_type(build_dir):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "?"


def median(values):
    v = sorted(values)
    return v[(len(v) - 1) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def spread(metric):
    """The relative spread of a metric's runs, (max - min) / |median|; 0 when unknown."""
    runs = metric.get("runs") or []
    if len(runs) >= 2:
        m = abs(median(runs))
        return (max(runs) - min(runs)) / m if m else 0.0
    return float(metric.get("spread", 0.0))


def parse_metric(text):
    name, _, value = text.partition("=")
    if not name or not value:
        raise ValueError(f"'{text}' is not METRIC=VALUE[:RUN,RUN,...]")
    value, _, runs = value.partition(":")
    metric = {"value": float(value)}
    if runs:
        metric["runs"] = [float(r) for r in runs.replace(" ", ",").split(",") if r]
    return name, metric


def record(name, report, metrics, measured_by, build_dir=None, note=None, path=PATH, at=None):
    """Records entry NAME; `at` is the commit the benchmark started at (default: now's)."""
    data = load(path)
    entry = {"measured_by": measured_by, "report": report, "commit": at or commit(), "date": now(),
             "metrics": metrics}
    if build_dir:
        entry["build"] = build_type(build_dir)
    if note:
        entry["note"] = note
    data[name] = entry
    save(data, path)
    if path == PATH:
        rerender()
    return entry


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="record a benchmark's entry")
    r.add_argument("name")
    r.add_argument("--report", required=True)
    r.add_argument("--measured-by", required=True, help="the command that measured it")
    r.add_argument("--build", help="the build directory (its build type is recorded)")
    r.add_argument("--from", dest="from_file", help="a JSON object of metrics")
    r.add_argument("--note")
    r.add_argument("--commit", help="the commit measured (summary.py commit when it started)")
    sub.add_parser("commit", help="print the commit a benchmark starting now measures")
    r.add_argument("--summary", default=PATH, help="the summary file (default: %(default)s)")
    # METRIC=VALUE arguments may follow the options: argparse would give a "*" positional only
    # those before the first option.
    args, extra = p.parse_known_args()
    if args.command == "commit":
        print(commit())
        return
    args.metric = [x for x in extra if "=" in x and not x.startswith("-")]
    if len(args.metric) != len(extra):
        p.error(f"unrecognized arguments: {' '.join(x for x in extra if x not in args.metric)}")
    metrics = {}
    if args.from_file:
        with open(args.from_file) as f:
            for k, v in json.load(f).items():
                metrics[k] = v if isinstance(v, dict) else {"value": v}
    for text in args.metric:
        k, v = parse_metric(text)
        metrics[k] = v
    entry = record(args.name, args.report, metrics, args.measured_by, args.build, args.note,
                   args.summary, args.commit)
    print(f"summary: {args.name} recorded in {os.path.relpath(args.summary, ROOT)} "
          f"(commit {entry['commit']}, {entry['date']}, {len(metrics)} figures)", file=sys.stderr)


def rerender():
    """README.md's performance blocks from the summary just written (bench/readme.py)."""
    import readme  # here: readme imports this module
    try:
        if readme.update():
            print("summary: README.md's performance blocks re-rendered (commit them with the report)",
                  file=sys.stderr)
    except (KeyError, SystemExit) as e:
        print(f"summary: README.md not re-rendered: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
