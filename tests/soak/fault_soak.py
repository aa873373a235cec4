#!/usr/bin/python3
"""Fault soak: `kisgate serve` with the demo's five jobs and API traffic (stock routes, the KIS
passthrough, status routes) against `kisgate sim --fault-disconnect 0.05 --fault-error 0.05
--fault-slow 0.05`, the simulator restarted midway on the same address.

Checks, and fails naming what broke:
- every API request is answered before its deadline (+ slack) with a success or a classified
  failure (a JSON error with a code, or KIS's envelope with a msg_cd on the passthrough);
- no job's cycle runs longer than its interval (+ slack), each finished cycle accounts for every
  code (ok + failed + dropped = planned), and every job finishes cycles after the restart;
- the gate accounts for every call (calls = ok + failed, nothing left queued or in flight);
- serve stays up and stops on SIGTERM; the SQLite file is sound with no duplicate key;
- RSS and open descriptors of serve are flat between the start and the end of the traffic.

Usage: fault_soak.py KISGATE [--duration SECONDS] [--report FILE.md]
ctest runs it for 40 s of traffic (label soak); bench/soak.sh for 10 minutes with a report.
"""
import argparse
import collections
import datetime
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_support as s  # noqa: E402

FAULTS = ["--fault-disconnect", "0.05", "--fault-error", "0.05", "--fault-slow", "0.05"]
API_DEADLINE_S = 2.0      # [api] deadline
GATE_DEADLINE_S = 3.0     # [gate] default_deadline: the passthrough's calls
SLACK_S = 3.0             # allowed beyond a deadline: scheduling on a loaded 2-core machine
EVERY_S = 5               # every job's interval
CYCLE_SLACK_S = 10.0      # a cycle running longer than EVERY_S + this is hung
STOP_S = 20               # serve stops within this after SIGTERM
TOKEN_INTERVAL_S = 60     # KIS's (and kisgate's) one token issuance a minute per key
CODES = s.CODES[:6]
# Growth allowed between the start and the end sample. A leak of one descriptor per connection
# the faults cut (hundreds per run), or of a few kB per call, goes past these.
# (The 10-minute run: RSS grows by about 1.7 MiB over the first two minutes, then stays within
# 0.1 MiB; descriptors move between 20 and 24 with the connections in use.)
FD_TOLERANCE = 8
RSS_TOLERANCE = 8 * 1024 * 1024


class Traffic:
    """API clients on threads, each with its own keep-alive session; every request's outcome is
    classified and counted."""

    def __init__(self, base_url, seed):
        self.base_url = base_url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = collections.Counter()       # (kind, class) -> n
        self.worst = collections.defaultdict(float)  # kind -> slowest answer, s
        self.problems = []
        self.rng = random.Random(seed)
        self.threads = []
        self.pass_token = None

    def start(self):
        # A passthrough token, as an existing KIS client gets it (kisgate issues its own).
        r = requests.post(f"{self.base_url}/oauth2/tokenP", timeout=10,
                          json={"grant_type": "client_credentials", "appkey": s.APP_KEY,
                                "appsecret": s.APP_SECRET})
        if r.status_code != 200:
            raise RuntimeError(f"passthrough token: {r.status_code} {r.text[:200]}")
        self.pass_token = r.json()["access_token"]
        # Two clients that need KIS, two that mostly read what is held, and one on the status routes.
        plans = [("kis", 0.4), ("kis", 0.4), ("held", 0.1), ("held", 0.1), ("status", 0.2)]
        for i, (plan, pause) in enumerate(plans):
            t = threading.Thread(target=self._client, args=(plan, pause, self.rng.randrange(1 << 30)),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def total(self):
        with self.lock:
            return sum(self.outcomes.values())

    def _request(self, rng, plan):
        code = rng.choice(CODES)
        if plan == "status":
            return "status", rng.choice(["/v1/jobs", "/v1/budget", "/metrics", "/healthz", "/readyz"]), {}, API_DEADLINE_S
        if plan == "held":
            kind = rng.choice(["price", "orderbook", "investors", "overtime", "bars/minute"])
            return "stock", f"/v1/stocks/{code}/{kind}", {}, API_DEADLINE_S
        choice = rng.random()
        if choice < 0.5:
            kind = rng.choice(["price", "orderbook", "investors", "overtime"])
            return "stock", f"/v1/stocks/{code}/{kind}?max_age=0", {}, API_DEADLINE_S
        if choice < 0.65:
            day = 20261101 + rng.randrange(20)
            return "stock", f"/v1/stocks/{code}/bars/daily?from=20261001&to={day}&max_age=0", {}, API_DEADLINE_S
        headers = {"authorization": f"Bearer {self.pass_token}", "appkey": s.APP_KEY,
                   "appsecret": s.APP_SECRET, "tr_id": "FHKST01010100", "custtype": "P"}
        return ("passthrough", "/uapi/domestic-stock/v1/quotations/inquire-price"
                f"?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD={code}", headers, GATE_DEADLINE_S)

    def _classify(self, kind, r):
        if kind == "status":
            # /readyz answers 503 while no key holds a token: an answer, not a failure.
            if r.status_code == 200 or (r.status_code == 503 and r.url.endswith("/readyz")):
                return "ok" if r.status_code == 200 else "not ready"
            return f"unclassified:{r.status_code}"
        try:
            body = r.json()
        except ValueError:
            return f"unclassified:{r.status_code}:not json"
        if kind == "passthrough":
            if r.status_code == 200 and body.get("rt_cd") == "0":
                return "ok"
            code = body.get("msg_cd") or body.get("error_code")
            return f"kis:{code}" if code else f"unclassified:{r.status_code}"
        if r.status_code == 200:
            return "stale" if isinstance(body, dict) and body.get("stale") else "ok"
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        return f"error:{r.status_code}:{code}" if code else f"unclassified:{r.status_code}"

    def _client(self, plan, pause, seed):
        rng = random.Random(seed)
        session = requests.Session()
        while not self.stop.is_set():
            kind, path, headers, deadline = self._request(rng, plan)
            started = time.monotonic()
            try:
                r = session.get(f"{self.base_url}{path}", headers=headers, timeout=deadline + SLACK_S)
                outcome = self._classify(kind, r)
            except requests.RequestException as e:
                outcome = f"unanswered:{type(e).__name__}"
            took = time.monotonic() - started
            with self.lock:
                self.outcomes[(kind, outcome)] += 1
                self.worst[kind] = max(self.worst[kind], took)
                if outcome.startswith(("unclassified", "unanswered")) or took > deadline + SLACK_S:
                    if len(self.problems) < 20:
                        self.problems.append(f"{path}: {outcome} after {took:.2f} s")
            self.stop.wait(pause)
        session.close()


class Watch:
    """Once a second: serve's RSS and descriptors, and /v1/jobs, to catch a cycle that never ends."""

    def __init__(self, serve):
        self.serve = serve
        self.stop = threading.Event()
        self.running_since = {}
        self.longest_running = collections.defaultdict(float)
        self.samples = []  # (t, rss, fds)
        self.problems = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pid = self.serve.proc.pid
        while not self.stop.wait(1.0):
            if self.serve.proc.poll() is not None:
                self.problems.append(f"serve exited with {self.serve.proc.returncode}")
                return
            try:
                self.samples.append((time.monotonic(), s.rss_bytes(pid), s.open_fds(pid)))
                jobs = self.serve.get("/v1/jobs", timeout=API_DEADLINE_S + SLACK_S).json()["jobs"]
            except (OSError, requests.RequestException, ValueError) as e:
                self.problems.append(f"/v1/jobs unanswered: {e}")
                continue
            now = time.monotonic()
            for job in jobs:
                # A cycle may start as soon as the previous one closes, so `running` can stay true
                # across cycles: a cycle is hung when the job runs and its count does not move.
                name = job["name"]
                cycles, since = self.running_since.get(name, (None, now))
                if not job["running"] or job["cycles"] != cycles:
                    since = now
                self.running_since[name] = (job["cycles"], since)
                self.longest_running[name] = max(self.longest_running[name], now - since)

    def hung(self):
        return any(v > EVERY_S + CYCLE_SLACK_S for v in self.longest_running.values())

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=10)


def wait_for(predicate, timeout, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def collected_ok(serve):
    """Codes collected successfully so far, per job (/metrics)."""
    return {dict(labels)["job"]: value for (name, labels), value in s.metrics(serve.get("/metrics").text).items()
            if name == "kisgate_collect_calls_total" and dict(labels)["result"] == "ok"}


def gate_settled(serve):
    """The /v1/budget snapshot when every call routed to a key has ended: calls = ok + failed,
    nothing queued or in flight. None while calls are under way."""
    budget = serve.get("/v1/budget").json()
    for key in budget["keys"]:
        busy = key["in_flight"] or any(lane["queued"] for lane in key["lanes"].values())
        if busy or key["calls"] != key["ok"] + key["failed"]:
            return None
    return budget


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate")
    parser.add_argument("--duration", type=float, default=45, help="seconds of traffic")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--report", help="write the figures as Markdown to this file")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    workdir = tempfile.mkdtemp(prefix="kisgate-soak-")
    s.log(f"soak: {args.duration:.0f} s, seed {seed}, files in {workdir}")
    problems = []
    hang = []  # the symptoms of issue 11's hang after a token failure

    sim = s.Sim(args.kisgate, os.path.join(workdir, "sim.log"), flags=FAULTS + ["--seed", str(seed)])
    config = s.write_config(workdir, sim.base_url, CODES, s.DEMO_JOBS, every=f"{EVERY_S}s", extra=f"""
[api]
deadline = "{API_DEADLINE_S:g}s"
[gate]
default_deadline = "{GATE_DEADLINE_S:g}s"
""")
    serve_log = os.path.join(workdir, "serve.log")
    serve_started = time.monotonic()
    serve = s.Serve(args.kisgate, config, serve_log)
    watch = Watch(serve)
    traffic = Traffic(serve.base_url, seed)
    sims_stats, jobs, metric, budget = [], [], {}, {"keys": [{}]}
    start_sample = end_sample = (0, 0)
    restarted_ok = None
    recovery = "not checked (hung)"
    try:
        # Warm-up: every job has finished a cycle (its code paths, the store, the connection pool).
        warm = wait_for(lambda: all(j["cycles"] > 0 for j in serve.get("/v1/jobs").json()["jobs"]),
                        timeout=3 * EVERY_S + CYCLE_SLACK_S)
        if not warm:
            problems.append("not every job finished a first cycle")
        traffic.start()
        started = time.monotonic()
        time.sleep(min(5.0, args.duration / 6))
        start_sample = (s.rss_bytes(serve.proc.pid), s.open_fds(serve.proc.pid))
        s.log(f"start: serve RSS {start_sample[0] / 2**20:.1f} MiB, {start_sample[1]} fds")

        restart_at = started + args.duration / 2
        next_progress = time.monotonic() + 10
        while time.monotonic() < started + args.duration and serve.proc.poll() is None:
            time.sleep(0.5)
            now = time.monotonic()
            if restarted_ok is None and now >= restart_at:
                sims_stats.append(sim.stats())
                s.log("restarting the simulator")
                sim.stop()
                time.sleep(2)
                sim = s.Sim(args.kisgate, os.path.join(workdir, "sim.log"), port=sim.port,
                            flags=FAULTS + ["--seed", str(seed + 1)])
                restarted_ok = collected_ok(serve)
            if now >= next_progress:
                next_progress += 10
                s.log(f"{now - started:5.0f} s: {traffic.total()} API requests, RSS "
                      f"{s.rss_bytes(serve.proc.pid) / 2**20:.1f} MiB, {s.open_fds(serve.proc.pid)} fds")
        end_sample = (s.rss_bytes(serve.proc.pid), s.open_fds(serve.proc.pid))
        traffic.finish()
        s.log(f"end: serve RSS {end_sample[0] / 2**20:.1f} MiB, {end_sample[1]} fds")

        # A cycle still running past its interval is the hang of issue 11 (collection stops for
        # good after a token failure): waiting for recovery would only wait for nothing.
        if not watch.hung():
            # Every job collects again after the restart. The restarted simulator knows no token,
            # and kisgate waits out KIS's one-issuance-a-minute rule, counted from its first
            # issuance soon after serve_started: a short run ends before that.
            if time.monotonic() >= serve_started + TOKEN_INTERVAL_S + 3 * EVERY_S:
                recovered = restarted_ok is not None and wait_for(
                    lambda: all(v > restarted_ok.get(k, 0) for k, v in collected_ok(serve).items()),
                    timeout=2 * EVERY_S + CYCLE_SLACK_S)
                if not recovered:
                    problems.append("a job collected nothing after the simulator restart")
                recovery = "every job collected again after the restart" if recovered else "no recovery"
            else:
                recovery = "not checked (the run ends before kisgate may ask the new simulator for a token)"
            settled = wait_for(lambda: gate_settled(serve), timeout=3 * EVERY_S)
        else:
            settled = gate_settled(serve)
        budget = settled or serve.get("/v1/budget").json()
        if settled is None:
            k = budget["keys"][0]
            hang.append(f"the gate never settled: calls {k['calls']}, ok {k['ok']}, failed {k['failed']}, "
                        f"in flight {k['in_flight']}")
        jobs = serve.get("/v1/jobs").json()["jobs"]
        metric = s.metrics(serve.get("/metrics").text)
    except (OSError, RuntimeError, ValueError, KeyError, requests.RequestException) as e:
        problems.append(f"the run stopped early: {type(e).__name__}: {e}")
    finally:
        watch.finish()
        traffic.stop.set()
        exit_code = serve.terminate(timeout=STOP_S) if serve.proc.poll() is None else serve.proc.returncode
        if sim.proc.poll() is None:
            sims_stats.append(sim.stats())
            sim.stop()

    if exit_code is None:
        hang.append(f"serve did not stop within {STOP_S} s of SIGTERM (killed)")
    elif exit_code != 0:
        problems.append(f"serve exited with {exit_code}")
    for name, longest in sorted(watch.longest_running.items()):
        if longest > EVERY_S + CYCLE_SLACK_S:
            hang.append(f"job {name}: a cycle was running for {longest:.0f} s (interval {EVERY_S} s)")
    problems += watch.problems + traffic.problems
    cycles = collections.Counter()
    for job in jobs:
        for c in job["recent"]:
            if c["ok"] + c["failed"] + c["dropped"] != c["planned"]:
                problems.append(f"job {job['name']}: cycle {c['cycle_time']} accounts for "
                                f"{c['ok'] + c['failed'] + c['dropped']} of {c['planned']} codes")
    for (name, labels), value in metric.items():
        if name == "kisgate_collect_calls_total":
            cycles[dict(labels)["result"]] += value
        if name == "kisgate_collect_cycles_total":
            cycles["cycles"] += value
    db_problems, rows = s.check_database(os.path.join(workdir, "kisgate.db"))
    problems += db_problems
    if sum(n for t, n in rows.items() if t != "schema_migrations") == 0:
        problems.append("no rows stored")
    rss_growth = end_sample[0] - start_sample[0]
    fd_growth = end_sample[1] - start_sample[1]
    if rss_growth > RSS_TOLERANCE:
        problems.append(f"RSS grew by {rss_growth / 2**20:.1f} MiB (tolerance {RSS_TOLERANCE / 2**20:.0f})")
    if fd_growth > FD_TOLERANCE:
        problems.append(f"open descriptors grew by {fd_growth} (tolerance {FD_TOLERANCE})")

    key = collections.defaultdict(int, budget["keys"][0])
    key["errors"] = key["errors"] or {}
    api_by_class = collections.Counter()
    for (kind, outcome), n in traffic.outcomes.items():
        api_by_class[f"{kind} {outcome}"] += n
    lines = [
        f"duration: {args.duration:.0f} s of API traffic, simulator restarted at {args.duration / 2:.0f} s, seed {seed}",
        f"API requests: {sum(api_by_class.values())}",
        *[f"  {name}: {n}" for name, n in sorted(api_by_class.items())],
        "  slowest answer: " + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(traffic.worst.items())),
        f"collection: {cycles['cycles']:.0f} cycles; codes ok {cycles['ok']:.0f}, failed {cycles['failed']:.0f}, "
        f"dropped {cycles['dropped']:.0f}; longest cycle "
        + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(watch.longest_running.items())),
        f"gate: {key['calls']} calls = {key['ok']} ok + {key['failed']} failed; {key['upstream']} HTTP requests "
        f"to KIS, {key['retries']} retries; errors {dict(sorted(key['errors'].items()))}",
        "simulator (before, after the restart): " + "; ".join(
            f"{st['calls']} calls, {st['ok']} ok, {st['dropped_by_fault']} dropped by fault, "
            f"errors {dict(sorted(st['errors'].items()))}, tokens issued {st['tokens_issued']}" for st in sims_stats),
        f"store: rows {dict(sorted(rows.items()))}; integrity and keys: "
        + ("ok" if not db_problems else "; ".join(db_problems)),
        f"serve RSS: {start_sample[0] / 2**20:.1f} MiB at the start, {end_sample[0] / 2**20:.1f} MiB at the end; "
        f"open fds: {start_sample[1]} at the start, {end_sample[1]} at the end",
        f"serve exit on SIGTERM: {exit_code}",
        f"after the restart: {recovery}",
    ]
    if len(watch.samples) > 10:
        first, last = watch.samples[len(watch.samples) // 10], watch.samples[-1]
        minutes = (last[0] - first[0]) / 60
        lines.append(f"serve RSS slope after warm-up: {(last[1] - first[1]) / 2**20 / minutes:+.2f} MiB/min over "
                     f"{minutes:.1f} min; peak RSS {max(x[1] for x in watch.samples) / 2**20:.1f} MiB, "
                     f"peak fds {max(x[2] for x in watch.samples)}")
    print("\n".join(lines), flush=True)
    if args.report:
        write_report(args.report, lines, problems + hang, watch.samples)
    if hang:
        print("\nHUNG (collection stopped for good, or SIGTERM did not stop serve):\n  " + "\n  ".join(hang), flush=True)
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems), flush=True)
    if problems or hang:
        print(f"\nserve log (last lines), {serve_log}:\n{s.tail(serve_log)}", flush=True)
    if problems or hang:
        return 1
    shutil.rmtree(workdir, ignore_errors=True)  # kept when the soak fails
    print("soak: passed", flush=True)
    return 0


def write_report(path, lines, problems, samples):
    with open(path, "w") as f:
        f.write("# Fault soak\n\n")
        f.write(f"`bench/soak.sh`, {datetime.date.today().isoformat()}: `kisgate serve` with the demo's five jobs "
                f"({len(CODES)} codes, every {EVERY_S} s) and API traffic (stock routes with `max_age=0` and "
                "held values, bars/daily, the KIS passthrough, status routes) against `kisgate sim "
                + " ".join(FAULTS) + "`, the simulator restarted midway on the same address. "
                "Figures from `tests/soak/fault_soak.py`, the script of the ctest `fault_soak_test` (40 s of "
                "traffic there).\n\n")
        f.write("```\n" + "\n".join(lines) + "\n```\n\n")
        f.write("Result: " + ("**passed**" if not problems else "**failed**:\n\n" + "\n".join(f"- {p}" for p in problems))
                + "\n\n")
        if samples:
            f.write("serve's RSS and open descriptors, one line a minute:\n\n| minute | RSS MiB | fds |\n|---:|---:|---:|\n")
            t0, last_minute = samples[0][0], -1
            for t, rss, fds in samples:
                minute = int((t - t0) // 60)
                if minute != last_minute:
                    f.write(f"| {minute} | {rss / 2**20:.1f} | {fds} |\n")
                    last_minute = minute
            t, rss, fds = samples[-1]
            f.write(f"| {(t - t0) / 60:.1f} (end) | {rss / 2**20:.1f} | {fds} |\n")


if __name__ == "__main__":
    sys.exit(main())
