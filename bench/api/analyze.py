#!/usr/bin/python3
"""Small parsers for bench/api_bench.sh; each prints space-separated numbers for the shell.

  analyze.py wrk FILE                      -> requests/s  p50_ms  p99_ms  errors
  analyze.py hist BEFORE AFTER LANE        -> count  p50_ms  p99_ms  mean_ms  p99_bucket_lo_ms  p99_bucket_hi_ms
                                              percent_over_50ms  (the lane's gate waits between two
                                              /metrics snapshots; quantiles interpolated inside the
                                              histogram's buckets, like Prometheus)
  analyze.py probe FILE                    -> requests  failed  p50_ms  p90_ms  p99_ms  max_ms
  analyze.py added IDLE LOADED             -> p50_ms  p99_ms  max_ms of (loaded latency - idle median)
  analyze.py series FILE                   -> "at_s latency_ms" lines (the plot's data)
  analyze.py budget FILE LANE              -> admitted  (from a /v1/budget snapshot)
  analyze.py buckets FILE                  -> the gate wait histogram's bucket bounds in ms
  analyze.py sim FILE                      -> calls  busiest_1s  egw00201  dropped  (from /_sim/stats;
                                              dropped: over in-flight calls + connections refused)
"""
import json
import re
import sys


def wrk(path):
    text = open(path).read()
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def ms(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        return float(m.group(1)) * scale[m.group(2)] if m else float("nan")

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    print(f"{rps:.0f} {ms('50%'):.3f} {ms('99%'):.3f} {errors}")


def metrics_hist(path, lane):
    buckets, total, count = {}, 0.0, 0
    for line in open(path):
        if 'kisgate_gate_wait_seconds' not in line or f'lane="{lane}"' not in line:
            continue
        name, value = line.rsplit(" ", 1)
        if "_bucket{" in name:
            le = re.search(r'le="([^"]+)"', name).group(1)
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0) + float(value)  # summed over keys
        elif name.startswith("kisgate_gate_wait_seconds_sum"):
            total += float(value)
        elif name.startswith("kisgate_gate_wait_seconds_count"):
            count += int(float(value))
    return buckets, total, count


def hist(before, after, lane):
    b0, s0, c0 = metrics_hist(before, lane)
    b1, s1, c1 = metrics_hist(after, lane)
    bounds = sorted(b1)
    cum = [b1[b] - b0.get(b, 0) for b in bounds]
    n = c1 - c0

    def quantile(q):
        if n == 0:
            return float("nan")
        rank = q * n
        prev_bound, prev_cum = 0.0, 0.0
        for bound, c in zip(bounds, cum):
            if c >= rank:
                if bound == float("inf"):
                    return prev_bound * 1e3
                return (prev_bound + (bound - prev_bound) * (rank - prev_cum) / max(c - prev_cum, 1e-9)) * 1e3
            prev_bound, prev_cum = bound, c
        return prev_bound * 1e3

    mean = (s1 - s0) / n * 1e3 if n else float("nan")
    # The bucket that holds the p99, and the share of waits above 50 ms.
    lo, hi = 0.0, float("inf")
    for bound, c in zip(bounds, cum):
        if c >= 0.99 * n:
            hi = bound
            break
        lo = bound
    at_50ms = next((c for bound, c in zip(bounds, cum) if bound >= 0.05), n)
    over50 = 100.0 * (n - at_50ms) / n if n else float("nan")
    print(f"{n} {quantile(0.5):.1f} {quantile(0.99):.1f} {mean:.1f} {lo * 1e3:g} {hi * 1e3:g} {over50:.0f}")


def buckets(path):
    b, _, _ = metrics_hist(path, "interactive")
    print(", ".join(f"{x * 1e3:g}" for x in sorted(b) if x != float("inf")))


def quantile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))] if v else float("nan")


def probe(path):
    s = json.load(open(path))["summary"]
    print(f"{s['requests']} {s['failed']} {s['p50_ms']:.1f} {s['p90_ms']:.1f} {s['p99_ms']:.1f} {s['max_ms']:.1f}")


def ok_latencies(path):
    return [r["latency_ms"] for r in json.load(open(path))["requests"]
            if r["status"] == 200 and r["source"] == "kis" and not r["stale"]]


def added(idle, loaded):
    base = quantile(ok_latencies(idle), 0.5)
    extra = [x - base for x in ok_latencies(loaded)]
    print(f"{quantile(extra, 0.5):.1f} {quantile(extra, 0.99):.1f} {max(extra):.1f}")


def series(path):
    for r in json.load(open(path))["requests"]:
        print(f"{r['at_s']} {r['latency_ms'] if r['status'] == 200 else 'NaN'}")


def budget(path, lane):
    doc = json.load(open(path))
    print(sum(k["lanes"][lane]["admitted"] for k in doc["keys"]))


def sim(path):
    doc = json.load(open(path))
    keys = doc["keys"]
    calls = sum(k["calls"] for k in keys)
    busiest = max(k["max_calls_in_1s"] for k in keys)
    egw = sum(k["errors"].get("EGW00201", 0) for k in keys)
    dropped = sum(k["dropped_over_in_flight"] for k in keys) + doc["connections"]["closed_by_max_connections"]
    print(f"{calls} {busiest} {egw} {dropped}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"wrk": wrk, "hist": hist, "probe": probe, "added": added, "series": series, "budget": budget, "sim": sim, "buckets": buckets}[cmd](*args)
