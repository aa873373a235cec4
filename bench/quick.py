#!/usr/bin/python3
"""`make bench-quick`: short forms of the API, gate, collection and stream benchmarks (about 2.5
minutes on 2 cores), compared with the full benchmarks' figures in bench/results/summary.json.

  bench/quick.py [--build build] [--runs 3] [--only api,gate,collect,stream] [--json FILE]

Each short form runs --runs times and is compared by quantities the full form measures the same
way whatever its length:
  api      bench/api_bench.sh --quick: wrk against kisgate's cached GET /v1/stocks/005930/price and
           against nginx serving the same bytes, 3-s runs (10 s in the full form), alternating:
           kisgate's requests/s over nginx's, so that the machine's speed cancels out (its load
           only partly: builds beside it cost nginx more than kisgate, see busy below).
  gate     gate_bench --scenarios probe,4keys --scale 0.34: a third of the full scenarios' calls;
           the utilisation of the keys' rate and the interactive gate wait.
  collect  bench/collect_bench.sh --quick: the seed workload (53 codes x 4 data sets against
           `kisgate sim`), as in the full form: cycle time / the physical limit (212 calls / 18/s),
           CPU-seconds of the kisgate process per 1,000 calls the simulator answered.
  stream   stream_bench --speeds 10 --seconds 3: bursts every 100 ms, 4 clients of 41 codes and
           1,000 clients of one code each; kisgate's thread CPU per 1,000 events and the latency.

A figure regresses when it is worse than the baseline by more than its tolerance:
    tolerance = max(floor, spread now + spread of the baseline) + busy,
a spread being (max - min) / median of a figure's runs (the report's range where it gave no runs),
and busy the share of the machine's cores that other processes used while the part ran, when they
took more than 0.25 cores (this machine is shared: builds beside a benchmark slow the servers and
the load generators unequally and inflate CPU per unit of work; such figures are marked "busy").
Figures pinned to a rate limit (utilisation, cycle / limit, the gate wait: they wait on time, not
on the CPU) are not widened by busy. The tolerance is capped at 40 % (a figure whose spreads alone
exceed that is flagged "noisy"), so that a server twice as slow (50 % of its throughput, twice its
CPU per unit of work) fails however busy or noisy the machine was. Floors:
15 % for throughput ratios, 20-25 % for CPU costs and latencies, 5 % for figures pinned to a rate
limit (utilisation, cycle / limit), whose noise is small and whose regressions are too. Figures
that must be zero (failures, EGW00201, errors) or within a limit (busiest second <= 18) are checked
exactly. Tail latencies (p99) are printed but not judged: in a 3-s run on a shared machine they
are the noise.

Exit status 0 when no figure regressed, 1 when one did (each named, loudly), 2 when a benchmark
could not run. A figure within its tolerance only thanks to the busy share is marked "ok only" and
listed after the table: the run passes, but says to run again on a quieter machine.

Re-baseline by re-running the full benchmarks (`make bench`, or the one script: bench/api_bench.sh,
bench/collect_bench.sh, or bench/run.sh's gate_bench / stream_bench lines), which record their
entries in bench/results/summary.json; after a change of host too: CPU per unit of work is the
host's as much as the code's (this shared VM's store_bench trades per CPU-second went from 231,000
on 2026-11-27 to 126,000 on 2026-12-08, the store's code nearly unchanged).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summary  # noqa: E402

ROOT = summary.ROOT
CAP = 0.4  # a twice slower server loses 50 % of its throughput: beyond the cap, always
BUSY = 0.25  # cores used by other processes above which a part is marked busy
# Figures the machine's load does not move: the gate spaces calls by time.
RATE_BOUND = {"probe_utilisation", "probe_wait_p50_ms", "4keys_utilisation", "seed_cycle_over_limit"}

# (label, entry in summary.json, metric, kind, floor). Kinds: "higher"/"lower" is better, judged
# with the tolerance; "zero" must be 0; ("max", n) must be <= n; ("min", n) must be >= n; "info"
# is shown only.
CHECKS = {
    "api": [
        ("cached reads: kisgate / nginx requests/s", "api", "cached_ratio", "higher", 0.15),
        ("cached reads: kisgate p99 at saturation (ms)", "api", "cached_p99_ms_kisgate", "info", 0),
        ("cached reads: errors", "api", "cached_errors", "zero", 0),
    ],
    "gate": [
        ("gate, 1 key + probe: utilisation", "gate", "probe_utilisation", "higher", 0.05),
        ("gate, 1 key + probe: interactive wait p50 (ms)", "gate", "probe_wait_p50_ms", "lower", 0.25),
        ("gate, 1 key + probe: interactive wait p99 (ms)", "gate", "probe_wait_p99_ms", "info", 0),
        ("gate, 4 keys: utilisation", "gate", "4keys_utilisation", "higher", 0.05),
        ("gate: failed calls, 1 key + probe", "gate", "probe_failed", "zero", 0),
        ("gate: failed calls, 4 keys", "gate", "4keys_failed", "zero", 0),
        ("gate: EGW00201, 1 key", "gate", "probe_egw00201", "zero", 0),
        ("gate: EGW00201, 4 keys", "gate", "4keys_egw00201", "zero", 0),
        ("gate: busiest 1 s at the simulator", "gate", "4keys_busiest_1s", ("max", 18), 0),
    ],
    "collect": [
        ("seed cycle / physical limit (11.8 s)", "collect", "seed_cycle_over_limit", "lower", 0.05),
        ("seed: kisgate CPU-s per 1,000 calls", "collect", "seed_cpu_s_per_1000_calls", "lower", 0.20),
        ("seed: failed calls", "collect", "seed_failed", "zero", 0),
        ("seed: busiest 1 s at the simulator", "collect", "seed_busiest_1s", ("max", 18), 0),
    ],
    "stream": [
        ("stream, 4 clients: CPU ms / 1,000 events", "stream", "latency_100ms_cpu_ms_per_1000_events",
         "lower", 0.25),
        ("stream, 4 clients: latency p50 (ms)", "stream", "latency_100ms_p50_ms", "lower", 0.25),
        ("stream, 4 clients: latency p99 (ms)", "stream", "latency_100ms_p99_ms", "info", 0),
        ("stream, 1,000 clients: CPU ms / 1,000 events", "stream",
         "fanout_100ms_cpu_ms_per_1000_events", "lower", 0.25),
        ("stream, 1,000 clients: events received of due (%)", "stream", "fanout_100ms_due_pct",
         ("min", 99.9), 0),
        ("stream, 1,000 clients: clients cut", "stream", "fanout_100ms_cut", "zero", 0),
    ],
}


def progress(text):
    print(text, file=sys.stderr, flush=True)


def run_api(build, runs, tmp):
    out = os.path.join(tmp, "api.json")
    env = dict(os.environ, RUNS=str(runs), WRK_SECONDS=os.environ.get("WRK_SECONDS", "3"))
    subprocess.run([os.path.join(ROOT, "bench", "api_bench.sh"), build, "--quick", out], env=env,
                   cwd=ROOT, check=True)
    return out


def run_gate(build, runs, tmp):
    out = os.path.join(tmp, "gate.json")
    subprocess.run([os.path.join(build, "bench", "gate_bench"), "--runs", str(runs), "--scale", "0.34",
                    "--scenarios", "probe,4keys", "--out", "", "--data", "", "--json", out],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return out


def run_collect(build, runs, tmp):
    out = os.path.join(tmp, "collect.json")
    env = dict(os.environ, RUNS=str(runs))
    subprocess.run([os.path.join(ROOT, "bench", "collect_bench.sh"), build, "--quick", out],
                   env=env, cwd=ROOT, check=True)
    return out


def run_stream(build, runs, tmp):
    out = os.path.join(tmp, "stream.json")
    subprocess.run([os.path.join(build, "bench", "stream_bench"), "--runs", str(runs), "--seconds", "3",
                    "--speeds", "10", "--per-code", "50", "--latency-clients", "4",
                    "--fanout-clients", "1000", "--out", "", "--json", out],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return out


RUNNERS = {"api": run_api, "gate": run_gate, "collect": run_collect, "stream": run_stream}


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    return f"{v:.3f}"


def machine_cpu_seconds():
    """CPU-seconds the whole machine has spent busy (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return sum(int(x) for x in (fields[1:4] + fields[6:8])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU-seconds of this process and its finished children (the benchmarks, waited for)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def judge(kind, floor, base, now, busy=0.0):
    """(verdict, tolerance or None, change or None); verdict in ok, better, REGRESSED, no baseline."""
    value = now["value"]
    if kind == "zero":
        return ("ok" if value == 0 else "REGRESSED"), None, None
    if isinstance(kind, tuple):
        bound, limit = kind
        ok = value <= limit if bound == "max" else value >= limit
        return ("ok" if ok else "REGRESSED"), None, None
    if base is None:
        return "no baseline", None, None
    b = base["value"]
    change = (value - b) / abs(b) if b else 0.0
    if kind == "info":
        return "info", None, change
    spreads = max(floor, summary.spread(now) + summary.spread(base))
    noisy = spreads > CAP
    tol = min(spreads + busy, CAP)
    worse = -change if kind == "higher" else change
    if worse > tol:
        verdict = "REGRESSED"
    elif worse < -tol:
        verdict = "better"
    else:
        verdict = "ok"
    if noisy:
        verdict += " (noisy)"
    return verdict, tol, change


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", default="api,gate,collect,stream")
    p.add_argument("--summary", default=summary.PATH, help="the baseline (default: %(default)s)")
    p.add_argument("--json", help="write this run's figures here")
    args = p.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    parts = [x for x in args.only.split(",") if x]
    for part in parts:
        if part not in RUNNERS:
            sys.exit(f"bench-quick: unknown part '{part}' (known: {', '.join(RUNNERS)})")
    for exe in ["kisgate", "bench/gate_bench", "bench/stream_bench"]:
        if not os.access(os.path.join(build, exe), os.X_OK):
            sys.exit(f"bench-quick: {args.build}/{exe} is missing: `make bench-quick` builds it")
    baseline = summary.load(args.summary)
    started = time.monotonic()
    now, others = {}, {}
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        for part in parts:
            t0, m0, c0 = time.monotonic(), machine_cpu_seconds(), own_cpu_seconds()
            progress(f"== bench-quick: {part} ({args.runs} short runs)")
            try:
                with open(RUNNERS[part](build, args.runs, tmp)) as f:
                    now[part] = json.load(f)
            except (subprocess.CalledProcessError, OSError, ValueError) as e:
                progress(f"bench-quick: the {part} benchmark failed: {e}")
                return 2
            wall = time.monotonic() - t0
            others[part] = max(0.0, (machine_cpu_seconds() - m0 - (own_cpu_seconds() - c0)) / wall)
            progress(f"   {wall:.0f} s; other processes used {others[part]:.2f} of {cores} cores meanwhile")
    elapsed = time.monotonic() - started
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"commit": summary.commit(), "date": summary.now(), "figures": now,
                       "other_processes_cores": others}, f, indent=1)

    rows, regressions, busy_only = [], [], []
    for part in parts:
        busy = others[part] / cores if others[part] > BUSY else 0.0
        for label, entry, metric, kind, floor in CHECKS[part]:
            cur = now[part].get(metric)
            if cur is None:
                regressions.append(f"{label}: the short run did not report {metric}")
                continue
            base = baseline.get(entry, {}).get("metrics", {}).get(metric)
            widen = 0.0 if metric in RATE_BOUND else busy
            verdict, tol, change = judge(kind, floor, base, cur, widen)
            if widen and tol is not None:
                verdict += " (busy)"
                # Within the tolerance only thanks to the machine's load: say so.
                quiet_verdict, quiet_tol, _ = judge(kind, floor, base, cur)
                if quiet_verdict.startswith("REGRESSED") and not verdict.startswith("REGRESSED"):
                    verdict = "ok only (busy)"
                    busy_only.append(f"{label} [{entry}.{metric}]: {change * 100:+.0f}%, beyond the "
                                     f"±{quiet_tol * 100:.0f}% of a quiet machine")
            spread = summary.spread(cur)
            rows.append([
                label,
                f"{fmt(base['value'])} ({baseline[entry]['commit']})" if base else "–",
                f"{fmt(cur['value'])} ±{spread * 50:.0f}%" if cur.get("runs") else fmt(cur["value"]),
                f"{change * 100:+.0f}%" if change is not None else "",
                f"±{tol * 100:.0f}%" if tol is not None else
                ("= 0" if kind == "zero" else (f"{'≤' if kind[0] == 'max' else '≥'} {kind[1]}"
                                               if isinstance(kind, tuple) else "")),
                verdict,
            ])
            if verdict.startswith("REGRESSED"):
                regressions.append(
                    f"{label} [{entry}.{metric}]: now {fmt(cur['value'])}, baseline "
                    f"{fmt(base['value']) if base else '–'}"
                    + (f" ({change * 100:+.0f}%, tolerance ±{tol * 100:.0f}%)" if tol is not None else
                       ""))

    print()
    print(f"bench-quick: {args.runs} short runs of each, {elapsed:.0f} s; baseline "
          f"{os.path.relpath(args.summary, ROOT)}:")
    for entry in sorted({c[1] for part in parts for c in CHECKS[part]}):
        e = baseline.get(entry)
        if e:
            print(f"  {entry}: {e['report']}, commit {e['commit']}, {e['date']}"
                  + (f" ({e['note']})" if e.get("note") else ""))
        else:
            print(f"  {entry}: no entry (run the full benchmark)")
    print(f"  now: commit {summary.commit()}, {summary.now()}; 'now' is the median ± half the range")
    print("  other processes' CPU while each part ran (cores of " + str(cores) + "): "
          + ", ".join(f"{p} {others[p]:.2f}" for p in parts)
          + f" (above {BUSY}: the tolerance grows by their share of the machine)")
    print()
    head = ["figure", "baseline (commit)", "now", "change", "tolerance", "verdict"]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) if i < 5 else str(c)
                        for i, (c, w) in enumerate(zip(r, widths))))
    print()
    if regressions:
        bar = "!" * 100
        print(bar)
        print(f"!! bench-quick: {len(regressions)} figure(s) REGRESSED beyond their noise:")
        for r in regressions:
            print(f"!!   {r}")
        print(bar)
        return 1
    print("bench-quick: no figure regressed beyond its noise")
    if busy_only:
        print(f"bench-quick: but {len(busy_only)} figure(s) passed only because other processes were "
              "busy on the machine; run again when it is quieter:")
        for b in busy_only:
            print(f"  {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
