#!/usr/bin/python3
"""Side by side (issue 6): kisgate against the design it replaces (bench/baseline/), on the same
simulator settings, in the same run. Writes bench/results/REPORT.md, its PNG plots (gnuplot) and
the data behind them (bench/results/data/compare_*).

  /usr/bin/python3 bench/compare/compare.py [--build build] [--runs 3] [--scenarios S1,S2,S3,S4]
  /usr/bin/python3 bench/compare/compare.py --quick        # short development run, not a report

Each run starts its own `kisgate sim` on a free port with the scenario's settings, runs one
contender as its own process (so that os.wait4 gives that process's CPU time and peak RSS), polls
the simulator's /_sim/stats four times a second for the calls/s timeline, and reads the
simulator's own counts at the end (busiest 1-s window, EGW00201, refused and dropped connections).
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import summary  # noqa: E402  (bench/results/summary.json)
BASELINE = os.path.join(ROOT, "bench", "baseline", "kis_baseline.py")
PYTHON = "/usr/bin/python3"  # Debian's, which sees python3-httpx

RATE = 18.0
CLOCK = "2026-11-24T09:50:00"  # regular session: today's minute bars are 2 pages per code
# Burst rules: a key's 11th call at once is dropped without a response, a 13th connection is
# closed right after accept. 10 is also kisgate's own in-flight ceiling (adaptive 1..10).
BURST = ["--max-in-flight-per-key", "10", "--max-connections", "12"]
FAULTS = ["--fault-disconnect", "0.02", "--fault-error", "0.01"]
SEED_JOBS = ["price", "orderbook", "investors", "overtime_price"]
PROBE_HZ = 2.0
LATENCY_MS, LATENCY_SIGMA = 40.0, 0.5  # the simulator's defaults
UPSTREAM_P99_MS = LATENCY_MS * math.exp(2.3263 * LATENCY_SIGMA)  # log-normal 99th percentile

KNOWN = """005930 000660 373220 207940 005380 000270 068270 035420 035720 051910 006400 105560 055550
012330 028260 066570 003550 096770 017670 030200 032830 086790 316140 010130 005490 009150 018260
034730 015760 033780 003670 011200 010950 024110 259960 323410 352820 042700 012450 329180 009540
047050 010140 000810 138040 247540 086520 196170 028300 293490 263750 058470 145020""".split()


def universe(n):
    """The simulator's listing order: 53 well-known codes, then generated ones from 100000 by 30."""
    codes = list(KNOWN)
    c = 100000
    while len(codes) < n:
        code = f"{c:06d}"
        if code not in KNOWN:
            codes.append(code)
        c += 30
    return codes[:n]


def minute_bar_pages(clock):
    """Pages of 30 bars from 09:00 to the clock's minute, inclusive (kisgate's paging rule)."""
    hh, mm = int(clock[11:13]), int(clock[14:16])
    bars = hh * 60 + mm - 9 * 60 + 1
    return max(1, math.ceil(bars / 30))


class Scenario:
    def __init__(self, name, title, codes, jobs, sim_keys, sim_extra, probe, contenders):
        self.name, self.title, self.codes, self.jobs = name, title, codes, jobs
        self.sim_keys, self.sim_extra, self.probe, self.contenders = sim_keys, sim_extra, probe, contenders

    def needed_calls(self):
        per_code = sum(minute_bar_pages(CLOCK) if j == "bars_minute" else 1 for j in self.jobs)
        return self.codes * per_code

    def limit_rate(self, keys):
        return RATE * keys - (PROBE_HZ if self.probe else 0)

    def sim_args(self):
        return ["--clock", CLOCK] + BURST + self.sim_extra


# contender: (label, kind, keys used)
BASELINES = [("baseline before", "before", 1), ("baseline after", "after", 1)]


def scenarios(quick):
    market = 540 if quick else 2700
    return {
        "S1": Scenario("S1", "seed cycle: 53 codes x 4 data sets, 1 key", 53, SEED_JOBS, 1, [], False,
                       BASELINES + [("kisgate", "kisgate", 1)]),
        "S2": Scenario("S2", "overlap: S1 + a minute-bar job + the user probe (2/s), 1 key", 53,
                       SEED_JOBS + ["bars_minute"], 1, [], True, BASELINES + [("kisgate", "kisgate", 1)]),
        "S3": Scenario("S3", f"whole market: {market:,} codes x current price", market, ["price"], 4, [], False,
                       BASELINES + [("kisgate 1 key", "kisgate", 1), ("kisgate 4 keys", "kisgate", 4)]),
        "S4": Scenario("S4", "faults: S1 with 2 % disconnects and 1 % EGW00002", 53, SEED_JOBS, 1, FAULTS, False,
                       BASELINES + [("kisgate", "kisgate", 1)]),
    }


def key(k):
    return f"PSbenchKEY{k:026d}", f"secret-{k}"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def wait_listening(port, deadline_s=10.0, proc=None):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    i = min(len(v) - 1, max(0, math.ceil(p / 100.0 * len(v)) - 1))
    return v[i]


KISGATE_CAUSES = {
    "EGW00201": "EGW00201",
    "connect_refused": "refused", "connect_timeout": "refused",
    "closed_without_response": "dropped", "protocol": "dropped",
    "timeout": "timeout", "gate_deadline": "timeout", "deadline_exceeded": "timeout", "token_timeout": "timeout",
}


def cause_class(cause):
    """refused / dropped / timeout / EGW00201 / EGW00002 / other. The Python client cannot tell a
    connection closed right after accept from one dropped with the call in flight: both are
    'Server disconnected without sending a response', counted as dropped."""
    if cause in ("refused", "dropped", "timeout", "EGW00201", "EGW00002"):
        return cause
    if cause in KISGATE_CAUSES:
        return KISGATE_CAUSES[cause]
    return "other"


class Run:
    """One contender, one run, against its own simulator."""

    def __init__(self, build, scenario, contender, index, tmp):
        self.build, self.sc, self.index, self.tmp = build, scenario, index, tmp
        self.label, self.kind, self.keys = contender
        self.result = {}

    # -- the simulator -------------------------------------------------------------------------
    def start_sim(self):
        self.sim_port = free_port()
        args = [os.path.join(self.build, "kisgate"), "sim", "--listen", f"127.0.0.1:{self.sim_port}"]
        for k in range(1, self.sc.sim_keys + 1):
            app_key, secret = key(k)
            args += ["--key", f"{app_key}:{secret}:real"]
        args += self.sc.sim_args()
        self.sim_log = open(os.path.join(self.tmp, f"sim-{self.sim_port}.log"), "w")
        self.sim = subprocess.Popen(args, stdout=self.sim_log, stderr=subprocess.STDOUT)
        if not wait_listening(self.sim_port, 10, self.sim):
            raise RuntimeError(f"kisgate sim did not start: see {self.sim_log.name}")

    def stop_sim(self):
        self.sim.terminate()
        try:
            self.sim.wait(5)
        except subprocess.TimeoutExpired:
            self.sim.kill()
            self.sim.wait()
        self.sim_log.close()

    def sim_stats(self):
        return get_json(f"http://127.0.0.1:{self.sim_port}/_sim/stats")

    # -- the contender -------------------------------------------------------------------------
    def write_kisgate_config(self, codes_file, listen):
        path = os.path.join(self.tmp, f"kisgate-{self.sim_port}.toml")
        with open(path, "w") as f:
            f.write(f'data_dir = "{self.tmp}/data-{self.sim_port}"\n')
            f.write(f'[storage]\nurl = "sqlite://{self.tmp}/kisgate-{self.sim_port}.db"\n')
            for k in range(1, self.keys + 1):
                app_key, secret = key(k)
                f.write(f'[[kis.keys]]\nname = "key{k}"\nbase_url = "http://127.0.0.1:{self.sim_port}"\n'
                        f'app_key = "{app_key}"\napp_secret = "{secret}"\nrate = {RATE:g}\n')
            f.write(f'[universe]\nfile = "{codes_file}"\n')
            for job in self.sc.jobs:
                f.write(f'[[jobs]]\nname = "{job}"\ndataset = "{job}"\nevery = "5m"\n')
        return path

    def command(self, codes_file):
        if self.kind == "kisgate":
            self.api_port = free_port() if self.sc.probe and self.has_listen else None
            cfg = self.write_kisgate_config(codes_file, self.api_port)
            cmd = [os.path.join(self.build, "kisgate"), "collect", "--once", "--config", cfg]
            if self.api_port:
                cmd += ["--listen", f"127.0.0.1:{self.api_port}"]
            return cmd
        app_key, secret = key(1)
        cmd = [PYTHON, BASELINE, "--base-url", f"http://127.0.0.1:{self.sim_port}", "--app-key", app_key,
               "--app-secret", secret, "--variant", self.kind, "--codes-file", codes_file,
               "--jobs", ",".join(self.sc.jobs), "--out", os.path.join(self.tmp, f"baseline-{self.sim_port}.json")]
        if self.sc.probe:
            cmd += ["--probe-hz", f"{PROBE_HZ:g}", "--probe-codes", ",".join(KNOWN)]
        return cmd

    def execute(self, codes_file, timeout_s):
        self.start_sim()
        try:
            self._execute(codes_file, timeout_s)
        finally:
            self.stop_sim()
        return self.result

    def _execute(self, codes_file, timeout_s):
        cmd = self.command(codes_file)
        polls = []  # (t, calls, ok) summed over keys
        stop = threading.Event()
        out_path = os.path.join(self.tmp, f"contender-{self.sim_port}.out")
        out = open(out_path, "w")
        t_start = time.monotonic()
        wall_start = time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp)

        def poll():
            while not stop.is_set():
                try:
                    s = self.sim_stats()
                    polls.append((time.monotonic() - t_start, sum(k["calls"] for k in s["keys"]),
                                  sum(k["ok"] for k in s["keys"])))
                except OSError:
                    pass
                stop.wait(0.25)

        probes = []
        threads = [threading.Thread(target=poll, daemon=True)]
        if self.kind == "kisgate" and self.sc.probe and self.api_port:
            threads.append(threading.Thread(target=self.kisgate_probe, args=(proc, stop, t_start, probes),
                                            daemon=True))
        for t in threads:
            t.start()
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - t_start
        stop.set()
        for t in threads:
            t.join(15)
        out.close()
        final = self.sim_stats()
        polls.append((time.monotonic() - t_start, sum(k["calls"] for k in final["keys"]),
                      sum(k["ok"] for k in final["keys"])))
        with open(out_path) as f:
            output = f.read()

        r = self.result
        r["label"], r["run"], r["exit"], r["process_s"] = self.label, self.index, proc.returncode, elapsed
        r["cpu_s"] = usage.ru_utime + usage.ru_stime
        r["rss_mb"] = usage.ru_maxrss / 1024.0
        if self.kind == "kisgate":
            self.parse_kisgate(output)
            r["probe"] = probes
        else:
            self.parse_baseline(wall_start)
        # The simulator's own view.
        keys = final["keys"]
        conns = final.get("connections", {})
        r["sim_calls"] = sum(k["calls"] for k in keys)
        r["sim_ok"] = sum(k["ok"] for k in keys)
        r["busiest_1s"] = max(k["max_calls_in_1s"] for k in keys)
        r["sim_egw00201"] = sum(k["errors"].get("EGW00201", 0) for k in keys)
        r["sim_egw00002"] = sum(k["errors"].get("EGW00002", 0) for k in keys)
        r["sim_refused"] = conns.get("closed_by_max_connections", 0)
        r["sim_dropped"] = sum(k["dropped_over_in_flight"] for k in keys)
        r["sim_fault_drops"] = sum(k["dropped_by_fault"] for k in keys)
        r["max_in_flight"] = max(k["max_in_flight"] for k in keys)
        r["peak_connections"] = conns.get("peak_active", 0)
        r["client_calls"] = r["sim_calls"] + r["sim_refused"]
        r["cpu_per_1k"] = 1000.0 * r["cpu_s"] / max(1, r["client_calls"])
        probed = self.kind != "kisgate" or getattr(self, "api_port", None)
        rate = self.sc.limit_rate(self.keys) if probed else RATE * self.keys
        r["limit_s"] = self.sc.needed_calls() / rate
        r["ratio"] = r["cycle_s"] / r["limit_s"] if r.get("cycle_s") else float("nan")
        r["timeline"] = per_second(polls)
        if self.sc.probe:
            lat = [p[1] for p in r["probe"] if not p[2]]
            r["probe_n"] = len(r["probe"])
            r["probe_failed"] = sum(1 for p in r["probe"] if p[2])
            r["probe_p50"] = percentile(lat, 50)
            r["probe_p99"] = percentile(lat, 99)
        r["output_tail"] = output[-2000:]

    def kisgate_probe(self, proc, stop, t_start, probes):
        """The frontend asking kisgate: GET /v1/stocks/{code}/price?max_age=0, 2 a second, each
        request in its own thread so a slow one does not delay the next."""
        if not wait_listening(self.api_port, 30, proc):
            return
        lock = threading.Lock()

        def one(code, started):
            cause = ""
            try:
                url = f"http://127.0.0.1:{self.api_port}/v1/stocks/{code}/price?max_age=0"
                with urllib.request.urlopen(url, timeout=10) as resp:
                    body = json.loads(resp.read())
                    if "price" not in body:
                        cause = "no_price"
            except urllib.error.HTTPError as e:
                cause = f"HTTP{e.code}"
            except (TimeoutError, socket.timeout):
                cause = "timeout"
            except (urllib.error.URLError, OSError, ValueError) as e:
                cause = "refused" if "refused" in str(e).lower() else "dropped"
            with lock:
                probes.append((started - t_start, (time.monotonic() - started) * 1000.0, cause))

        workers = []
        n = 0
        next_at = time.monotonic()
        while not stop.is_set() and proc.poll() is None:
            w = threading.Thread(target=one, args=(KNOWN[n % len(KNOWN)], time.monotonic()), daemon=True)
            w.start()
            workers.append(w)
            n += 1
            next_at += 1.0 / PROBE_HZ
            stop.wait(max(0.0, next_at - time.monotonic()))
        for w in workers:
            w.join(12)

    def parse_kisgate(self, output):
        r = self.result
        lines = output.splitlines()
        rows, failures, committed = [], {}, None
        in_table = False
        for line in lines:
            if line.startswith("job ") and "duration" in line:
                in_table = True
                continue
            if in_table:
                if line.startswith("limit:"):
                    in_table = False
                    if "rows committed" in line:
                        committed = int(line.rsplit("store:", 1)[1].split()[0])
                    continue
                parts = line.split()
                if len(parts) >= 8 and parts[5].endswith("s"):
                    rows.append({"job": parts[0], "planned": int(parts[1]), "ok": int(parts[2]),
                                 "failed": int(parts[3]), "dropped": int(parts[4]),
                                 "seconds": float(parts[5][:-1])})
                    for tok in parts[8:]:
                        if "x" in tok:
                            n, code = tok.split("x", 1)
                            if n.isdigit():
                                failures[code] = failures.get(code, 0) + int(n)
        if not rows:
            r["error"] = "no summary table in kisgate's output"
            r["cycle_s"] = None
            return
        concurrent = self.concurrent_jobs
        r["cycle_s"] = max(x["seconds"] for x in rows) if concurrent else sum(x["seconds"] for x in rows)
        r["planned"] = sum(x["planned"] for x in rows)
        r["ok"] = sum(x["ok"] for x in rows)
        r["failed"] = sum(x["failed"] + x["dropped"] for x in rows)
        classes = {}
        for code, n in failures.items():
            classes[cause_class(code)] = classes.get(cause_class(code), 0) + n
        superseded = sum(x["dropped"] for x in rows)
        if superseded:
            classes["timeout"] = classes.get("timeout", 0) + superseded
        r["failed_by"] = classes
        r["rows"] = committed

    def parse_baseline(self, wall_start):
        r = self.result
        path = os.path.join(self.tmp, f"baseline-{self.sim_port}.json")
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            r["error"] = "the baseline wrote no result"
            r["cycle_s"] = None
            r["probe"] = []
            return
        r["cycle_s"] = d["cycle_s"]
        r["planned"] = sum(j["planned"] for j in d["jobs"])
        r["ok"] = sum(j["ok"] for j in d["jobs"])
        r["failed"] = r["planned"] - r["ok"]
        classes = {}
        for j in d["jobs"]:
            for cause, n in j["failed"].items():
                classes[cause_class(cause)] = classes.get(cause_class(cause), 0) + n
        r["failed_by"] = classes
        r["rows"] = None
        shift = d["wall_start"] - wall_start  # interpreter start-up before the baseline's clock
        r["probe"] = [(t + shift, ms, cause) for t, ms, cause in d["probe"]]


def rounded(value):
    """The raw runs with floats to 4 significant decimals: the JSON stays small in the repository."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return value


def per_second(polls):
    """Calls per second from cumulative (t, calls, ok) samples, by linear interpolation."""
    if len(polls) < 2:
        return []

    def at(t, idx):
        if t <= polls[0][0]:
            return polls[0][idx + 1]
        for (t0, *v0), (t1, *v1) in zip(polls, polls[1:]):
            if t0 <= t <= t1:
                f = 0 if t1 == t0 else (t - t0) / (t1 - t0)
                return v0[idx] + f * (v1[idx] - v0[idx])
        return polls[-1][idx + 1]

    out = []
    end = int(math.ceil(polls[-1][0]))
    for s in range(end):
        out.append((s, at(s + 1, 0) - at(s, 0), at(s + 1, 1) - at(s, 1)))
    return out


# -- statistics and the report ----------------------------------------------------------------

def med(values):
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(v) if v else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def mm(runs, field, digits=1):
    """median (min–max) of one field over the runs."""
    v = [r.get(field) for r in runs]
    v = [x for x in v if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "–"
    m = statistics.median(v)
    if len(v) == 1 or min(v) == max(v):
        return fmt(m, digits)
    return f"{fmt(m, digits)} ({fmt(min(v), digits)}–{fmt(max(v), digits)})"


def causes(runs):
    """Median count of final failures per cause."""
    names = sorted({c for r in runs for c in (r.get("failed_by") or {})})
    parts = []
    for c in names:
        m = statistics.median([(r.get("failed_by") or {}).get(c, 0) for r in runs])
        if m:
            parts.append(f"{c} {fmt(m, 0)}")
    return ", ".join(parts) if parts else "–"


def median_run(runs):
    ok = [r for r in runs if r.get("cycle_s") is not None]
    if not ok:
        return None
    ok.sort(key=lambda r: r["cycle_s"])
    return ok[(len(ok) - 1) // 2]


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
        except OSError:
            return ""
    cpu = ""
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    load = os.getloadavg()
    return {"nproc": sh(["nproc"]), "cpu": cpu, "uname": sh(["uname", "-srmo"]),

            "load": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"}


COLOURS = {"baseline before": "#9400d3", "baseline after": "#009e73", "kisgate": "#0072b2",
           "kisgate 1 key": "#0072b2", "kisgate 4 keys": "#e69f00"}


def slug(label):
    return label.replace(" ", "_")


def write_data_and_plots(results, sc_map, data_dir, results_dir):
    os.makedirs(data_dir, exist_ok=True)
    gp = ["set datafile separator ','", "set terminal pngcairo size 900,420 font ',10'", "set grid",
          "set key top right"]
    pngs = []
    for name, by_label in results.items():
        sc = sc_map[name]
        series = []
        for label, runs in by_label.items():
            r = median_run(runs)
            if r is None:
                continue
            path = os.path.join(data_dir, f"compare_{name}_{slug(label)}_calls.csv")
            with open(path, "w") as f:
                f.write("second,calls,ok\n")
                for s, calls, ok in r["timeline"]:
                    f.write(f"{s},{calls:.1f},{ok:.1f}\n")
            series.append((label, os.path.relpath(path, results_dir)))
        png = f"compare_{name}_calls_per_second.png"
        limit = RATE * max(c[2] for c in sc.contenders)
        gp += [f"set output '{png}'",
               f"set title \"{name} {sc.title}: calls per second at the simulator (median run)\" noenhanced",
               "set xlabel 'seconds since the contender started'", "set ylabel 'calls that second (all outcomes)'",
               "set yrange [0:*]", "set logscale y 10" if False else "unset logscale y",
               "plot " + ", \\\n     ".join(
                   [f"'{p}' skip 1 using 1:2 with steps lw 2 lc rgb '{COLOURS.get(lab, 'black')}' title '{lab}'"
                    for lab, p in series]
                   + [f"{RATE:g} with lines dt 2 lc rgb 'red' title 'KIS limit, 1 key ({RATE:g}/s)'"]
                   + ([f"{limit:g} with lines dt 2 lc rgb 'dark-red' title 'KIS limit, 4 keys ({limit:g}/s)'"]
                      if limit > RATE else []))]
        pngs.append(png)
        if sc.probe:
            lat = []
            for label, runs in by_label.items():
                r = median_run(runs)
                if r is None or not r.get("probe"):
                    continue
                path = os.path.join(data_dir, f"compare_{name}_{slug(label)}_user_latency.csv")
                with open(path, "w") as f:
                    f.write("t_s,latency_ms,failed\n")
                    for t, ms, cause in sorted(r["probe"]):
                        f.write(f"{t:.3f},{ms:.1f},{1 if cause else 0}\n")
                lat.append((label, os.path.relpath(path, results_dir), any(c for _, _, c in r["probe"])))
            if lat:
                png = f"compare_{name}_user_latency.png"
                gp += [f"set output '{png}'",
                       f"set title \"{name}: user probe latency (a current price, 2 a second) while the jobs run\" noenhanced",
                       "set xlabel 'seconds since the contender started'", "set ylabel 'ms (log scale)'",
                       "set logscale y 10", "set yrange [*:*]", "set key below",
                       "plot " + ", \\\n     ".join(
                           [f"'{p}' skip 1 using 1:($3==0?$2:1/0) with points pt 7 ps 0.6 "
                            f"lc rgb '{COLOURS.get(lab, 'black')}' title '{lab}'" for lab, p, _ in lat]
                           + [f"'{p}' skip 1 using 1:($3==1?$2:1/0) with points pt 2 ps 1.4 "
                              f"lc rgb '{COLOURS.get(lab, 'black')}' title '{lab}: failed'" for lab, p, failed in lat if failed]
                           + [f"{UPSTREAM_P99_MS + 60:.0f} with lines dt 2 lc rgb 'red' "
                              f"title 'target: upstream p99 + 60 ms ({UPSTREAM_P99_MS + 60:.0f} ms)'"]),
                       "unset logscale y", "set key default", "set key inside top right"]
                pngs.append(png)
    script = os.path.join(data_dir, "compare_plots.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    if shutil.which("gnuplot"):
        subprocess.run(["gnuplot", os.path.relpath(script, results_dir)], cwd=results_dir, check=False)
    else:
        print("compare: gnuplot not found; plots not drawn (scripts/bootstrap.sh --bench installs it)")
    return pngs


def targets(results, sc_map):
    """kisgate's targets from issue 6, each with the measured median and whether it is met."""
    rows = []

    def runs(name, label):
        return results.get(name, {}).get(label, [])

    s1 = runs("S1", "kisgate")
    if s1:
        ratio, failed, busiest = med([r["ratio"] for r in s1]), med([r["failed"] for r in s1]), \
            med([r["busiest_1s"] for r in s1])
        rows.append(("S1 cycle ≤ 1.05 × the physical limit", f"{fmt(ratio, 3)}×", ratio is not None and ratio <= 1.05))
        rows.append(("S1 0 failed calls", fmt(failed, 0), failed == 0))
        rows.append(("S1 busiest 1-s window ≤ 18", fmt(busiest, 0), busiest is not None and busiest <= 18))
    s2 = runs("S2", "kisgate")
    if s2:
        p99 = med([r.get("probe_p99") for r in s2])
        pf = med([r.get("probe_failed") for r in s2])
        n = med([r.get("probe_n") for r in s2])
        rows.append((f"S2 user p99 ≤ upstream p99 + 60 ms = {UPSTREAM_P99_MS + 60:.0f} ms", f"{fmt(p99, 0)} ms",
                     p99 is not None and p99 <= UPSTREAM_P99_MS + 60))
        rows.append(("S2 0 user failures", f"{fmt(pf, 0)} of {fmt(n, 0)}", pf == 0 and bool(n)))
    for label, keys in (("kisgate 1 key", 1), ("kisgate 4 keys", 4)):
        s3 = runs("S3", label)
        if s3:
            rate = med([r["ok"] / r["cycle_s"] for r in s3 if r.get("cycle_s")])
            rss = med([r["rss_mb"] for r in s3])
            goal = 0.95 * keys * RATE
            rows.append((f"S3 {label}: ≥ 0.95 × {keys} × 18/s = {goal:.1f}/s", f"{fmt(rate, 2)}/s",
                         rate is not None and rate >= goal))
            rows.append((f"S3 {label}: RSS ≤ 64 MB", f"{fmt(rss, 1)} MB", rss is not None and rss <= 64))
    s4 = runs("S4", "kisgate")
    if s4:
        lost = med([r["planned"] - r["ok"] for r in s4 if r.get("planned") is not None])
        rows.append(("S4 every call succeeds within the cycle, 0 codes lost", fmt(lost, 0), lost == 0))
        ref = [r.get("rows") for r in s1 if r.get("rows")] if s1 else []
        got = [r.get("rows") for r in s4 if r.get("rows") is not None]
        if ref and got:
            rows.append(("S4 0 rows lost (rows committed vs S1)", f"{fmt(med(got), 0)} vs {fmt(med(ref), 0)}",
                         min(got) >= max(ref)))
    # CPU per 1,000 calls where a fixed start-up cost matters least: S3's long runs (1 key: the
    # same calls as the baselines over the same time). S1's short runs are in the tables.
    k3 = [r["cpu_per_1k"] for r in runs("S3", "kisgate 1 key")]
    b3 = [r["cpu_per_1k"] for lab in ("baseline before", "baseline after") for r in runs("S3", lab)]
    if k3:
        kc = med(k3)
        rows.append(("CPU ≤ 0.1 s per 1,000 calls (S3, kisgate 1 key, whole process)", f"{fmt(kc, 3)} s",
                     kc is not None and kc <= 0.1))
        if b3:
            bc = med(b3)
            rows.append(("CPU ≥ 10× less than the baseline (S3, 1 key)",
                         f"{fmt(bc / kc if kc else float('nan'), 1)}× ({fmt(bc, 3)} s vs {fmt(kc, 3)} s)",
                         bool(kc) and bc / kc >= 10))
    return rows


def summary_metrics(results):
    """The figures bench/results/summary.json keeps ("compare"): for each scenario and contender,
    "<S>_<contender>_<field>" (contender with underscores) = the median and the runs of each field
    of the summary table; "S3_<contender>_calls_per_s"; and the CPU comparison of the targets."""
    fields = ["cycle_s", "ratio", "failed", "planned", "busiest_1s", "sim_egw00201", "sim_refused",
              "sim_dropped", "probe_p50", "probe_p99", "probe_failed", "probe_n", "cpu_per_1k", "rss_mb"]
    metrics = {}
    for name, by_label in results.items():
        for label, runs in by_label.items():
            for field in fields + (["calls_per_s"] if name == "S3" else []):
                if field == "calls_per_s":
                    v = [r["ok"] / r["cycle_s"] for r in runs if r.get("cycle_s")]
                else:
                    v = [r.get(field) for r in runs]
                    v = [x for x in v if x is not None and not (isinstance(x, float) and math.isnan(x))]
                if v:
                    metrics[f"{name}_{slug(label)}_{field}"] = {"value": statistics.median(v), "runs": v}
    k3 = [r["cpu_per_1k"] for r in results.get("S3", {}).get("kisgate 1 key", [])]
    b3 = [r["cpu_per_1k"] for lab in ("baseline before", "baseline after")
          for r in results.get("S3", {}).get(lab, [])]
    if k3 and b3 and statistics.median(k3):
        metrics["S3_cpu_per_1k_kisgate_1_key"] = {"value": statistics.median(k3)}
        metrics["S3_cpu_per_1k_baselines"] = {"value": statistics.median(b3)}
        metrics["S3_cpu_baselines_over_kisgate"] = {"value": statistics.median(b3) / statistics.median(k3)}
    return metrics


def write_report(path, results, sc_map, runs_per, info, pngs, elapsed, notes):
    L = []
    L.append("# kisgate against the design it replaces (issue 6)")
    L.append("")
    L.append(f"{datetime.date.today().isoformat()}; {info['nproc']} cores ({info['cpu']}), {info['uname']}; "
             f"load average (1, 5, 15 min) {info.get('load_start', '?')} at the start, {info['load']} at the end. Generated by `make bench` "
             f"(`/usr/bin/python3 bench/compare/compare.py`), {runs_per} runs per contender and scenario "
             f"({elapsed:.0f} s in all); median, and (min–max) over the runs. Source tree: "
             f"`{info.get('commit', '?')}` (the kisgate binary is the build directory's, built from it).")
    if notes:
        L.append("")
        for n in notes:
            L.append(f"> {n}")
    L.append("")
    L.append("## Contenders")
    L.append("")
    L.append("- **baseline before**: `bench/baseline/kis_baseline.py --variant before`, a re-implementation of the "
             "Python design in the change record (`../shared/seed/000_a028517aadea02d2.txt`): four collectors run "
             "concurrently, each gathering batches of 10 codes with a 0.5 s pause after each batch; one shared "
             "`httpx.AsyncClient` (httpx's default pool: `max_connections=100`, 20 kept alive); one token from "
             "`/oauth2/tokenP`; a client-side sliding-window limiter at 20 calls/s taken once per request (KIS's "
             "limit when it was written; retries do not take it again); 3 attempts per request, 1 s pause "
             "after a failed one, every failure retried.")
    L.append("- **baseline after**: the same with the fix, an `asyncio.Semaphore(5)` per collector (20 in flight "
             "across the four).")
    L.append("- In S2 both baselines also run the minute-bar collector (`Semaphore(3)`, as its module had before "
             "the fix) paging today's bars like kisgate, and the user probe inside the same process through the "
             "same client, outside any semaphore, as the frontend's stock page was served.")
    L.append("- **kisgate**: `kisgate collect --once` with one `[[jobs]]` per data set (`every = \"5m\"`), "
             "default gate settings (rate 18 × 0.97, 5 in flight, adaptive), SQLite store. In S2 it serves its API "
             "(`--listen`) and the probe asks `GET /v1/stocks/{code}/price?max_age=0` (a fresh KIS call through the "
             "interactive lane) from the runner, as a frontend would.")
    L.append("")
    L.append("## Simulator settings (one `kisgate sim` per run, on a free port)")
    L.append("")
    L.append(f"`--rate {RATE:g} --window sliding --latency-ms {LATENCY_MS:g} --latency-sigma {LATENCY_SIGMA:g} "
             f"--clock {CLOCK} {' '.join(BURST)}`; S4 adds `{' '.join(FAULTS)}`; S3 serves 4 keys (the "
             "1-key contenders use the first). The burst rules: a key's 11th call at once is dropped without a "
             "response and a 13th open connection is closed right after accept; they reproduce what production saw "
             "(refused and dropped connections) for the \"before\" variant, and 10 in flight is also kisgate's own "
             "adaptive ceiling. Upstream latency is log-normal, median 40 ms, p99 "
             f"{UPSTREAM_P99_MS:.0f} ms; at 09:50 today's minute bars are {minute_bar_pages(CLOCK)} pages per code.")
    L.append("")
    L.append("Physical limit = calls the work needs / the rate the keys give: S1 212 calls / 18/s = 11.8 s; S2 "
             f"{sc_map['S2'].needed_calls()} calls / (18 − 2 probe calls)/s = "
             f"{sc_map['S2'].needed_calls() / sc_map['S2'].limit_rate(1):.1f} s; S3 "
             f"{sc_map['S3'].needed_calls():,} calls / (18 × keys)/s.")
    L.append("")
    L.append("## Summary (medians)")
    L.append("")
    L.append("| scenario | contender | cycle | × limit | codes failed | busiest 1 s at KIS | EGW00201 / refused / dropped at KIS | user p50 / p99 | user failures | CPU s per 1,000 calls | peak RSS |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, by_label in results.items():
        sc = sc_map[name]
        for label, runs in by_label.items():
            c = med([r.get("cycle_s") for r in runs])
            probe = f"{fmt(med([r.get('probe_p50') for r in runs]), 0)} / {fmt(med([r.get('probe_p99') for r in runs]), 0)} ms" if sc.probe else "–"
            pf = fmt(med([r.get("probe_failed") for r in runs]), 0) if sc.probe else "–"
            L.append(f"| {name} | {label} | {fmt(c, 1)} s | {fmt(med([r.get('ratio') for r in runs]), 2)} | "
                     f"{fmt(med([r.get('failed') for r in runs]), 0)} of {fmt(med([r.get('planned') for r in runs]), 0)} | "
                     f"{fmt(med([r['busiest_1s'] for r in runs]), 0)} | "
                     f"{fmt(med([r['sim_egw00201'] for r in runs]), 0)} / {fmt(med([r['sim_refused'] for r in runs]), 0)} / "
                     f"{fmt(med([r['sim_dropped'] for r in runs]), 0)} | {probe} | {pf} | "
                     f"{fmt(med([r['cpu_per_1k'] for r in runs]), 3)} | {fmt(med([r['rss_mb'] for r in runs]), 1)} MB |")
    L.append("")
    L.append("## kisgate's targets")
    L.append("")
    L.append("| target (issue 6) | measured (median) | met |")
    L.append("|---|---:|:---:|")
    for what, value, ok in targets(results, sc_map):
        L.append(f"| {what} | {value} | {'yes' if ok else '**no**'} |")
    L.append("")
    for name, by_label in results.items():
        sc = sc_map[name]
        L.append(f"## {name}: {sc.title}")
        L.append("")
        L.append(f"Physical limit {sc.needed_calls():,} calls at "
                 + ", ".join(sorted({f'{sc.limit_rate(c[2]):g}/s' for c in sc.contenders}))
                 + f"; {len(next(iter(by_label.values())))} runs each.")
        L.append("")
        L.append("| contender | cycle s | × limit | codes ok | failed by cause (final) | calls at KIS | busiest 1 s | EGW00201 | refused | dropped (burst) | dropped (fault) | EGW00002 | most in flight | most connections | CPU s | CPU s / 1,000 calls | peak RSS MB |")
        L.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, runs in by_label.items():
            L.append(f"| {label} | {mm(runs, 'cycle_s', 2)} | {mm(runs, 'ratio', 2)} | {mm(runs, 'ok', 0)} of "
                     f"{fmt(med([r.get('planned') for r in runs]), 0)} | {causes(runs)} | {mm(runs, 'client_calls', 0)} | "
                     f"{mm(runs, 'busiest_1s', 0)} | {mm(runs, 'sim_egw00201', 0)} | {mm(runs, 'sim_refused', 0)} | "
                     f"{mm(runs, 'sim_dropped', 0)} | {mm(runs, 'sim_fault_drops', 0)} | {mm(runs, 'sim_egw00002', 0)} | "
                     f"{mm(runs, 'max_in_flight', 0)} | {mm(runs, 'peak_connections', 0)} | {mm(runs, 'cpu_s', 2)} | {mm(runs, 'cpu_per_1k', 3)} | "
                     f"{mm(runs, 'rss_mb', 1)} |")
        if sc.probe:
            L.append("")
            L.append("| contender | user requests | user p50 ms | user p99 ms | user failures |")
            L.append("|---|---:|---:|---:|---:|")
            for label, runs in by_label.items():
                L.append(f"| {label} | {mm(runs, 'probe_n', 0)} | {mm(runs, 'probe_p50', 0)} | "
                         f"{mm(runs, 'probe_p99', 0)} | {mm(runs, 'probe_failed', 0)} |")
        L.append("")
        for png in pngs:
            if f"compare_{name}_" in png:
                L.append(f"![{name}]({png})")
                L.append("")
    L.append("## How the numbers are taken")
    L.append("")
    L.append("- *cycle*: baseline, from its token request to the end of its last collector; kisgate, the job "
             "durations of its summary table (the longest when the jobs run concurrently, their sum when they "
             "run one after another). *× limit*: cycle / physical limit.")
    L.append("- *codes failed*: codes whose data was not obtained in the cycle, by the cause of the last attempt "
             "(kisgate's superseded calls count as timeout). A Python client sees a connection closed right after "
             "accept and one dropped with the call in flight alike (`Server disconnected without sending a "
             "response`), so its final failures say *dropped* for both; the simulator's columns tell them apart.")
    L.append("- *at KIS*: the simulator's `/_sim/stats` after the run: every call it saw (a refused connection "
             "counted as a call), its busiest sliding 1-s window, EGW00201 answers, connections closed by "
             "`--max-connections` (refused), calls dropped by `--max-in-flight-per-key` and by the disconnect fault.")
    L.append("- *CPU*, *peak RSS*: `os.wait4` of the contender's own process (user + system time; `ru_maxrss`); "
             "CPU per 1,000 of the calls it made. kisgate's figure includes its SQLite writes and its HTTP API; "
             "the baseline stores nothing. The kisgate user probe runs in the runner, not in kisgate.")
    L.append("- *user p50/p99*: latency of the user probe's successful requests over the cycle; the target is "
             f"the upstream's p99 ({UPSTREAM_P99_MS:.0f} ms, from the simulator's latency settings) + 60 ms.")
    L.append("- Plots: calls per second at the simulator from `/_sim/stats` polled 4 times a second; the run "
             "drawn is each contender's median run. Data: `bench/results/data/compare_*.csv`, raw runs in "
             "`bench/results/data/compare_runs.json`.")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def cpu_ticks():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v) - idle, sum(v)
    except (OSError, ValueError):
        return None


def derive_notes(results, info, s3_parallel):
    """Caveats the report states, from the data (so --replot writes the same ones)."""
    notes = []
    s2 = results.get("S2", {}).get("kisgate", [])
    if s2 and not any(r.get("probe_n") for r in s2):
        notes.append("This kisgate binary had no `collect --listen`: its S2 runs have no user probe.")
    s3 = [r for runs in results.get("S3", {}).values() for r in runs]
    if s3 and s3_parallel:
        cpu = sum(r.get("cpu_s") or 0 for r in s3)
        wall = max(r.get("process_s") or 0 for r in s3)
        notes.append(f"S3's {len(s3)} runs (every contender, every repetition) ran at the same time, each against "
                     f"its own simulator: they are bound by the simulated rate, not by the CPU (the contenders' "
                     f"own CPU time added up to {cpu:.0f} s over those {wall:.0f} s, {100 * cpu / max(wall, 1):.0f} % "
                     "of one core), and one after another they would take half an hour. S1, S2 and S4 ran one run "
                     "at a time, the contenders interleaved.")
    busy = info.get("machine_busy_pct")
    if busy is not None:
        own = sum(r.get("cpu_s") or 0 for runs in results.values() for rs in runs.values() for r in rs)
        cores = float(info.get("nproc") or 1)
        own_pct = 100 * own / max(1.0, info.get("elapsed_s", 1) * cores)
        notes.append(f"The machine's {info['nproc']} cores were {busy:.0f} % busy on average during the run, "
                     f"counting every process; the contenders themselves account for {own_pct:.0f} % of the "
                     f"{info['nproc']} cores, the simulators and this runner for a little more, and the rest is "
                     "other work on this shared machine (builds): "
                     + ("latencies and CPU figures may be noisier than on an idle machine."
                        if busy > 25 else "it was quiet during this run."))
    return notes


def main():
    p = argparse.ArgumentParser(description="kisgate against the design it replaces (issue 6)")
    p.add_argument("--build", default="build", help="build directory with the kisgate binary")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scenarios", default="S1,S2,S3,S4")
    p.add_argument("--s3-sequential", action="store_true",
                   help="run S3's contenders one after another (default: each repetition's contenders at once, "
                        "each against its own simulator)")
    p.add_argument("--quick", action="store_true", help="a short development run (S3 with 540 codes); "
                   "writes to a temporary folder unless --out is given")
    p.add_argument("--out", default=None, help="report path (default bench/results/REPORT.md)")
    p.add_argument("--note", action="append", default=[], help="a line for the report, e.g. 'machine busy'")
    p.add_argument("--replot", metavar="RUNS_JSON", help="only redraw the plots and rewrite the report from a "
                   "previous run's data/compare_runs.json")
    args = p.parse_args()
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        out = os.path.abspath(args.out or os.path.join(os.path.dirname(os.path.abspath(args.replot)), "..",
                                                       "REPORT.md"))
        sc_map = scenarios(saved.get("quick", False))
        results = saved["results"]
        pngs = write_data_and_plots(results, sc_map, os.path.join(os.path.dirname(out), "data"), os.path.dirname(out))
        notes = saved.get("extra_notes", []) + derive_notes(results, saved["machine"], saved.get("s3_parallel", True))
        write_report(out, results, sc_map, saved.get("runs", 3), saved["machine"], pngs, saved.get("elapsed_s", 0),
                     notes + args.note)
        print(f"compare: report {out}")
        return
    build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
    if not os.access(os.path.join(build, "kisgate"), os.X_OK):
        sys.exit(f"compare: {build}/kisgate not found; build it first (make build)")
    try:
        subprocess.run([PYTHON, "-c", "import httpx"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        sys.exit("compare: /usr/bin/python3 cannot import httpx (scripts/bootstrap.sh --bench installs python3-httpx)")
    help_text = subprocess.run([os.path.join(build, "kisgate"), "collect", "--help"], capture_output=True,
                               text=True).stdout
    has_listen = "--listen" in help_text
    notes = list(args.note)
    if args.quick and args.out is None:
        out = os.path.join(tempfile.mkdtemp(prefix="compare-quick-"), "REPORT.md")
    else:
        out = os.path.abspath(args.out or os.path.join(ROOT, "bench", "results", "REPORT.md"))
    results_dir = os.path.dirname(out)
    data_dir = os.path.join(results_dir, "data")
    sc_map = scenarios(args.quick)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    tmp = tempfile.mkdtemp(prefix="kisgate-compare-")
    codes_files = {}
    for n in {sc_map[s].codes for s in chosen}:
        codes_files[n] = os.path.join(tmp, f"universe-{n}.txt")
        with open(codes_files[n], "w") as f:
            f.write("\n".join(universe(n)) + "\n")
    commit = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()[:100]  # the tree at the start: others may commit meanwhile
    at = summary.commit()
    started = time.monotonic()
    load_start = os.getloadavg()
    ticks_start = cpu_ticks()
    results = {}
    total = sum(len(sc_map[s].contenders) * args.runs for s in chosen)
    done = 0
    print(f"compare: {total} runs over {', '.join(chosen)}; kisgate from {build}; results in {results_dir}",
          flush=True)

    def one(sc, contender, i):
        run = Run(build, sc, contender, i, tmp)
        run.has_listen = has_listen
        run.concurrent_jobs = has_listen  # the same change made collect --once run its jobs together
        expected = sc.needed_calls() / sc.limit_rate(contender[2])
        try:
            return run.execute(codes_files[sc.codes], timeout_s=max(120, 6 * expected))
        except Exception as e:  # a broken run is reported, not fatal to the others
            return {"label": contender[0], "run": i, "error": repr(e), "cycle_s": None, "busiest_1s": 0,
                    "sim_egw00201": 0, "sim_refused": 0, "sim_dropped": 0, "cpu_per_1k": float("nan"),
                    "rss_mb": float("nan"), "timeline": [], "probe": []}

    def report_line(sc, r):
        nonlocal done
        done += 1
        extra = ""
        if sc.probe and r.get("probe_n"):
            extra = f", user p50/p99 {fmt(r.get('probe_p50'), 0)}/{fmt(r.get('probe_p99'), 0)} ms, " \
                    f"{r.get('probe_failed')} failed"
        if r.get("error"):
            extra += f"  ERROR {r['error']}"
        print(f"  [{done}/{total} {time.monotonic() - started:5.0f}s] {sc.name} {r['label']:<16} run {r['run']}: "
              f"cycle {fmt(r.get('cycle_s'), 2)} s ({fmt(r.get('ratio'), 2)}x), "
              f"{r.get('failed', '–')} failed {r.get('failed_by') or ''}, busiest 1 s {r.get('busiest_1s')}, "
              f"CPU {fmt(r.get('cpu_per_1k'), 3)} s/1k calls, RSS {fmt(r.get('rss_mb'), 1)} MB{extra}", flush=True)

    for name in chosen:
        sc = sc_map[name]
        print(f"{name}: {sc.title} (limit {sc.needed_calls() / sc.limit_rate(1):.1f} s at 1 key)", flush=True)
        by_label = {c[0]: [] for c in sc.contenders}
        if name == "S3" and not args.s3_sequential:
            # Every run of every contender at once, each against its own simulator: S3 is bound by
            # the simulated rate (a few % of one core in all), and one after another it would take
            # half an hour.
            jobs = [(c, i) for i in range(1, args.runs + 1) for c in sc.contenders]
            out_runs = [None] * len(jobs)
            threads = []
            for j, (c, i) in enumerate(jobs):
                def target(j=j, c=c, i=i):
                    out_runs[j] = one(sc, c, i)
                t = threading.Thread(target=target)
                t.start()
                threads.append(t)
                time.sleep(0.2)
            for t in threads:
                t.join()
            for (c, i), r in zip(jobs, out_runs):
                by_label[c[0]].append(r)
                report_line(sc, r)
        else:
            for i in range(1, args.runs + 1):
                # Interleave the contenders so that a busy spell of the machine hits all of them.
                for c in sc.contenders:
                    r = one(sc, c, i)
                    by_label[c[0]].append(r)
                    report_line(sc, r)
        results[name] = by_label
    finished = time.monotonic()
    info = machine()
    info["load_start"] = f"{load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}"
    info["commit"] = commit
    info["elapsed_s"] = finished - started
    ticks_end = cpu_ticks()
    if ticks_start and ticks_end and ticks_end[1] > ticks_start[1]:
        info["machine_busy_pct"] = 100.0 * (ticks_end[0] - ticks_start[0]) / (ticks_end[1] - ticks_start[1])
    extra_notes = notes
    notes = extra_notes + derive_notes(results, info, not args.s3_sequential)
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "compare_runs.json"), "w") as f:
        json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": info,
                   "runs": args.runs, "quick": args.quick, "elapsed_s": finished - started,
                   "extra_notes": extra_notes, "s3_parallel": not args.s3_sequential,
                   "results": rounded(results)}, f, separators=(",", ":"), default=str)
    pngs = write_data_and_plots(results, sc_map, data_dir, results_dir)
    write_report(out, results, sc_map, args.runs, info, pngs, finished - started, notes)
    if out == os.path.join(ROOT, "bench", "results", "REPORT.md") and not args.quick:
        summary.record("compare", "bench/results/REPORT.md", summary_metrics(results),
                       f"bench/compare/compare.py --runs {args.runs} --scenarios {args.scenarios}", build, at=at)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"compare: report {os.path.relpath(out, ROOT) if out.startswith(ROOT) else out} "
          f"({finished - started:.0f} s)", flush=True)
    for what, value, ok in targets(results, sc_map):
        print(f"  {'ok  ' if ok else 'MISS'} {what}: {value}")


if __name__ == "__main__":
    main()
