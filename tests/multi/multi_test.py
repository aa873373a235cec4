#!/usr/bin/python3
"""Several `kisgate serve` instances on one KIS key (issue 13, item 3): one simulator, one Redis,
one PostgreSQL, the demo's five jobs every few seconds on every instance, and a single-instance
reference run beside them (its own simulator with the same seed and clock, SQLite, no traffic).

  (a) a passthrough burst of 20 calls/s for 10 s into each instance: the simulator sees at most
      18 calls in any 1-s window, no EGW00201 and one token; each job's cycle ran once per
      interval (from every instance's /v1/jobs); the rows equal the reference run's;
  (b) kill -9 of the instance running the jobs: another runs the next cycle (the failover time is
      printed), and its in-flight slots come back (the key's whole in-flight cap serves again);
  (c) Redis stopped for 10 s mid-run: still no window over the limit, every instance is back in
      shared mode (/readyz "coordination") afterwards;
  (d) PostgreSQL restarted mid-cycle: every cycle that reported all codes written has a row for
      each code, none held twice.

--instances 1 (the ctest `multi_single_test`) is the variant that runs before the coordination
and PostgreSQL storage exist: the launcher starts and checks redis-server and PostgreSQL
(stop/start, restart), and one instance on SQLite without [coordination] goes through the same
burst, cycle, row and kill -9 (then restart) checks; only the multi-instance assertions wait.

Usage: multi_test.py KISGATE [--instances 3] [--every 5] [--keep]
"""
import argparse
import collections
import concurrent.futures
import os
import shutil
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multi_support as m  # noqa: E402

s = m.s
LIMIT = 18                 # KIS's calls per second per key (the simulator's --rate default)
BURST_RATE = 20            # passthrough calls per second into each instance
BURST_S = 10
GATE_DEADLINE_S = 2        # [gate] default_deadline: how long a passthrough call may wait
MAX_IN_FLIGHT = 5          # the key's max_in_flight
REDIS_DOWN_S = 10
SIM_FLAGS = ["--seed", "1313", "--latency-ms", "60", "--latency-sigma", "0.3"]
CODES = s.CODES[:3]       # 15 calls a cycle: under the burst, batch still ends each within 5 s
UNKNOWN = "?"               # the runner of a cycle held elsewhere when /v1/jobs cannot name it
JOBS = s.DEMO_JOBS          # the demo's (and the seed's collectors') five jobs


class Problems(list):
    def check(self, ok, message):
        if not ok:
            self.append(message)
            s.log(f"PROBLEM: {message}")
        return ok


class JobsWatch:
    """Polls every instance's /v1/jobs twice a second and keeps every cycle it saw:
    (job, cycle_time) -> {runner: report}. The runner is the report's "instance" when /v1/jobs
    has one (instances sharing jobs), else the instance whose board showed it."""

    def __init__(self, instances):
        self.instances = instances
        self.lock = threading.Lock()
        self.cycles = collections.defaultdict(dict)
        self.first_seen = {}  # (job, cycle_time) -> when a poll first showed it (epoch s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def poll(self):
        for inst in list(self.instances):
            if not inst.alive():
                continue
            try:
                jobs = inst.jobs()
            except (requests.RequestException, ValueError, KeyError):
                continue
            with self.lock:
                for job in jobs:
                    for report in job.get("recent", []):
                        # A cycle another instance held carries only its name (null when unknown).
                        runner = report["instance"] if "instance" in report else inst.name
                        runner = runner or UNKNOWN
                        self.first_seen.setdefault((job["name"], report["cycle_time"]), time.time())
                        seen = self.cycles[(job["name"], report["cycle_time"])]
                        if "planned" in report or runner not in seen:
                            seen[runner] = report

    def _run(self):
        while not self.stop.wait(0.5):
            self.poll()

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=15)
        self.poll()

    def snapshot(self):
        with self.lock:
            return {k: dict(v) for k, v in self.cycles.items()}

    def latest_runner(self, after=0.0):
        """The runner of the newest cycle whose start is after `after` (epoch s), or None."""
        best = None
        for (_, cycle_time), runners in self.snapshot().items():
            t = m.compact_seconds(cycle_time)
            known = sorted(set(runners) - {UNKNOWN})
            if t > after and known and (best is None or t > best[0]):
                best = (t, known[0])
        return best[1] if best else None


class Burst:
    """`rate` passthrough calls a second into `base_url` for `seconds`, open loop: each call is
    sent on time on a pool thread whatever the earlier ones do."""

    def __init__(self, base_url, rate, seconds):
        self.base_url = base_url
        self.rate = rate
        self.seconds = seconds
        self.outcomes = collections.Counter()
        self.lock = threading.Lock()
        self.token = m.pass_token(base_url)
        self.local = threading.local()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _one(self, code):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        outcome = m.passthrough_price(self.local.session, self.base_url, self.token, code,
                                      timeout=GATE_DEADLINE_S + 10)
        with self.lock:
            self.outcomes[outcome] += 1

    def _run(self):
        n = int(self.rate * self.seconds)
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.rate * (GATE_DEADLINE_S + 2)) as pool:
            t0 = time.monotonic()
            for i in range(n):
                delay = t0 + i / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._one, CODES[i % len(CODES)])

    def join(self):
        self.thread.join(timeout=self.seconds + GATE_DEADLINE_S + 30)
        return self.outcomes


class SimTotals:
    """The simulator's stats summed over /_sim/reset (a reset starts a measured window)."""

    def __init__(self, sim):
        self.sim = sim
        self.before = collections.Counter()
        self.max_1s = 0

    def now(self):
        st = self.sim.stats()
        out = collections.Counter(self.before)
        for k in ("calls", "ok", "tokens_issued", "tokens_reused"):
            out[k] += st[k]
        for code, n in st["errors"].items():
            out[f"error:{code}"] += n
        out["max_calls_in_1s"] = max(self.max_1s, st["max_calls_in_1s"])
        out["window_max_in_flight"] = st["max_in_flight"]
        return out

    def reset(self):
        now = self.now()
        self.max_1s = now["max_calls_in_1s"]
        self.before = collections.Counter({k: v for k, v in now.items()
                                           if k not in ("max_calls_in_1s", "window_max_in_flight")})
        requests.post(f"{self.sim.base_url}/_sim/reset", timeout=10).raise_for_status()


def coordination_mode(instance):
    """/readyz's "coordination" mode (single, shared, fallback), or None when unanswered."""
    try:
        return (instance.readyz().get("coordination") or {}).get("mode")
    except (requests.RequestException, ValueError):
        return None


def check_cycles(problems, watch, every_s, allowed_gaps, since, redis_down=()):
    """Each job's cycles, from every instance's /v1/jobs: none run by two instances, consecutive
    cycle starts `every_s` apart except inside an allowed (from, to) window (epoch s). While Redis
    is away (`redis_down` windows) no instance can tell who holds a cycle, and each runs it rather
    than none (collect/scheduler.hpp): there, and for the cycles that started then, two runners are
    expected (their rows are idempotent writes)."""
    per_job = collections.defaultdict(list)
    duplicates = []
    for (job, cycle_time), runners in watch.snapshot().items():
        t = m.compact_seconds(cycle_time)
        if t < since:
            continue
        per_job[job].append(t)
        during_outage = any(lo - every_s <= t <= hi + every_s for lo, hi in redis_down)
        if len(set(runners) - {UNKNOWN}) > 1 and not during_outage:
            duplicates.append(f"{job} {cycle_time} by {sorted(runners)}")
    problems.check(not duplicates, f"{len(duplicates)} cycles run by more than one instance, "
                                   f"first {sorted(duplicates)[:3]}")
    for job, _ in JOBS:
        times = sorted(per_job.get(job, []))
        problems.check(len(times) >= 3, f"job {job}: only {len(times)} cycles seen")
        for a, b in zip(times, times[1:]):
            if b - a == every_s:
                continue
            # The cycle cut by the kill, and the one it started late, fall inside the window.
            excused = any(lo - 2 * every_s <= a and b <= hi + every_s for lo, hi in allowed_gaps)
            problems.check(excused, f"job {job}: cycles {time.strftime('%H:%M:%S', time.localtime(a))} and "
                                    f"{time.strftime('%H:%M:%S', time.localtime(b))} are {b - a:.0f} s apart, "
                                    f"not {every_s}")
    return {job: len(v) for job, v in per_job.items()}


def check_rows_of_cycles(problems, watch, keys, codes):
    """Every cycle that reported all its codes ok has a row for each code (no row lost)."""
    missing = []
    for (job, cycle_time), runners in watch.snapshot().items():
        dataset = dict(JOBS)[job]
        if dataset not in m.CYCLE_KEYED:
            continue
        report = next((r for r in runners.values() if "planned" in r), {})
        if report.get("ok") != report.get("planned") or not report.get("planned"):
            continue
        stamp = "".join(ch for ch in cycle_time if ch.isdigit())[:14]
        for code in codes:
            if (dataset, code, stamp) not in keys:
                missing.append(f"{dataset} {code} {stamp}")
    problems.check(not missing, f"rows missing for cycles that reported them written: {missing[:8]} "
                                f"({len(missing)} in all)")


def incomplete_cycles(watch):
    """(dataset, cycle stamp) of the cycles that reported codes not collected (dropped at the
    cycle's deadline or failed), with how many there were."""
    out = set()
    for (job, cycle_time), runners in watch.snapshot().items():
        report = next((r for r in runners.values() if "planned" in r), {})
        if report.get("planned") and report.get("ok") != report.get("planned"):
            out.add((dict(JOBS)[job], "".join(ch for ch in cycle_time if ch.isdigit())[:14]))
    return out


def compare_with_reference(problems, keys, ref_keys, every_s, excused=frozenset()):
    """The rows' keys equal the reference run's: the market's own dates and minutes fully, the
    cycle-keyed data sets from the later first cycle to the earlier last cycle, that last one
    left out (it may still be writing). `excused` cycles (dataset, stamp) reported codes they did
    not collect: the reference may have rows there that this run, saying so, has not."""
    def span(ks):
        out = {}
        for dataset in m.CYCLE_KEYED:
            ts = [m.compact_seconds(t) for d, _, t in ks if d == dataset]
            if ts:
                out[dataset] = (min(ts), max(ts))
        return out
    sa, sb = span(keys), span(ref_keys)

    def restrict(ks):
        out = set()
        for d, code, t in ks:
            if d not in m.CYCLE_KEYED:
                out.add((d, code, t))
            elif d in sa and d in sb and \
                    max(sa[d][0], sb[d][0]) <= m.compact_seconds(t) <= min(sa[d][1], sb[d][1]) - every_s:
                out.add((d, code, t))
        return out
    a, b = restrict(keys), restrict(ref_keys)
    b = {k for k in b if k in a or (k[0], k[2]) not in excused}
    only_a, only_b = sorted(a - b), sorted(b - a)
    problems.check(not only_a and not only_b,
                   f"rows differ from the single-instance run's: {len(only_a)} keys only here "
                   f"{only_a[:5]}, {len(only_b)} only there {only_b[:5]}")
    problems.check(len(b) > 0, "the reference run stored no rows")
    return len(a), len(b)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--every", type=int, default=5, help="every job's interval, s")
    parser.add_argument("--storage", choices=["postgresql", "sqlite"], default=None,
                        help="the instances' storage (default: postgresql for several, sqlite for one); "
                             "sqlite gives each instance its own file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    multi = args.instances > 1
    use_pg = (args.storage or ("postgresql" if multi else "sqlite")) == "postgresql"
    every_s = args.every
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="kisgate-multi-")
    problems = Problems()
    summary = {}
    s.log(f"{args.instances} instance(s), jobs every {every_s} s, files in {workdir}")

    # Servers.
    redis = m.Redis(workdir)
    redis.cli("SET", "kisgate-test", "kept")
    redis.stop()
    problems.check(not redis.ping(), "redis-server still answers after stop")
    redis.start()
    problems.check(redis.cli("GET", "kisgate-test").strip() == "kept", "redis lost its data over stop/start")
    s.log(f"redis-server on port {redis.port}: stop/start keeps its data")
    pg = m.Postgres(workdir)
    pg.psql(pg.database, "CREATE TABLE launcher_check (k int PRIMARY KEY); INSERT INTO launcher_check VALUES (1)")
    pg.restart()
    problems.check(pg.psql(pg.database, "SELECT k FROM launcher_check") == [["1"]],
                   "PostgreSQL lost a row over pg_ctl restart -m fast")
    pg.psql(pg.database, "DROP TABLE launcher_check")
    s.log(f"PostgreSQL 15 on port {pg.port} (socket in {pg.folder}): restart -m fast keeps rows")

    sim = s.Sim(args.kisgate, os.path.join(workdir, "sim.log"), flags=SIM_FLAGS)
    m.on_exit("sim", lambda: sim.proc.poll() is None and sim.proc.kill())
    ref_sim = s.Sim(args.kisgate, os.path.join(workdir, "ref-sim.log"), flags=SIM_FLAGS)
    m.on_exit("reference sim", lambda: ref_sim.proc.poll() is None and ref_sim.proc.kill())
    totals = SimTotals(sim)

    extra_gate = f'[gate]\ndefault_deadline = "{GATE_DEADLINE_S}s"\n'
    instances = []
    for i in range(1, args.instances + 1):
        folder = os.path.join(workdir, f"i{i}")
        config = m.write_serve_config(
            folder, sim.base_url, CODES, JOBS, every_s,
            storage_url=pg.url if use_pg else f"sqlite://{folder}/kisgate.db",
            coordination={"url": redis.url, "instance": f"i{i}"} if multi else None,
            max_in_flight=MAX_IN_FLIGHT)
        with open(config, "a") as f:
            f.write(extra_gate)
        instances.append(m.Instance(args.kisgate, f"i{i}", config, os.path.join(folder, "serve.log")))
    ref_folder = os.path.join(workdir, "reference")
    ref_config = m.write_serve_config(ref_folder, ref_sim.base_url, CODES, JOBS, every_s,
                                      storage_url=f"sqlite://{ref_folder}/kisgate.db",
                                      max_in_flight=MAX_IN_FLIGHT)
    reference = m.Instance(args.kisgate, "reference", ref_config, os.path.join(ref_folder, "serve.log"))
    everyone = list(instances)  # for the logs: also the killed one
    s.log("serve: " + ", ".join(f"{x.name} {x.base_url}" for x in instances) + f"; reference {reference.base_url}")
    run_since = time.time()
    watch = JobsWatch(instances)

    def keys_now():
        if use_pg:
            keys, duplicates = m.postgres_keys(pg)
            problems.check(not duplicates, f"PostgreSQL holds keys more than once: {duplicates[:5]}")
            return keys
        keys = set()
        for i in range(1, args.instances + 1):
            path = os.path.join(workdir, f"i{i}", "kisgate.db")
            if os.path.exists(path):
                keys |= m.sqlite_keys(path)
        return keys

    try:
        # Every instance has a token and a first cycle behind it.
        first = m.wait_until(lambda: len({job for job, _ in watch.snapshot()}) == len(JOBS), 30 + every_s)
        problems.check(first, "not every job finished a first cycle within 30 s")
        want = "shared" if multi else "single"
        modes = {x.name: coordination_mode(x) for x in instances}
        problems.check(all(v == want for v in modes.values()), f"/readyz coordination modes {modes}, not {want}")

        # (a) the burst.
        s.log(f"(a) {BURST_RATE} passthrough calls/s for {BURST_S} s into each of {len(instances)} instance(s)")
        bursts = [Burst(x.base_url, BURST_RATE, BURST_S).start() for x in instances]
        outcomes = collections.Counter()
        for b in bursts:
            outcomes.update(b.join())
        s.log(f"(a) passthrough outcomes: {dict(outcomes)}")
        problems.check(not any(k.startswith(("unanswered", "http:5")) for k in outcomes),
                       f"passthrough calls unanswered or failing without a KIS envelope: {dict(outcomes)}")
        problems.check(outcomes["ok"] > 0, "no passthrough call succeeded")
        time.sleep(2 * every_s)  # cycles after the burst
        st = totals.now()
        summary["(a) busiest second at the simulator"] = f"{st['max_calls_in_1s']} calls (limit {LIMIT})"
        summary["(a) tokens issued"] = st["tokens_issued"]
        s.log(f"(a) simulator: {st['calls']} calls, busiest second {st['max_calls_in_1s']}, "
              f"EGW00201 {st['error:EGW00201']}, tokens issued {st['tokens_issued']}")
        problems.check(st["max_calls_in_1s"] <= LIMIT, f"(a) a 1-s window held {st['max_calls_in_1s']} calls")
        problems.check(st["error:EGW00201"] == 0, f"(a) {st['error:EGW00201']} EGW00201")
        problems.check(st["tokens_issued"] == 1, f"(a) {st['tokens_issued']} tokens issued, not 1")
        watch.poll()
        cycles = check_cycles(problems, watch, every_s, [], run_since)
        s.log(f"(a) cycles seen per job: {cycles}")
        keys = keys_now()
        ref_keys = m.sqlite_keys(os.path.join(ref_folder, "kisgate.db"))
        # Under the burst (3 x 20 calls/s on an 18/s key) the instance running the jobs gets about a
        # third of the key's slots, and a cycle may drop codes at its deadline; it reports them.
        incomplete = incomplete_cycles(watch)
        compared = compare_with_reference(problems, keys, ref_keys, every_s, incomplete)
        summary["(a) rows compared with the single-instance run"] = \
            f"{compared[0]} keys vs {compared[1]} ({len(incomplete)} cycles reported dropped codes)"
        s.log(f"(a) rows: {compared[0]} keys compared with the reference's {compared[1]}")
        reference.serve.terminate(timeout=20)

        # (b) kill -9 of the instance running the jobs; another (or, alone, its restart) runs on.
        # Killed while a cycle runs and a burst fills its in-flight slots.
        gaps = []
        redis_down = []
        runner_name = watch.latest_runner() or instances[0].name
        victim = next(x for x in instances if x.name == runner_name)
        # The burst spans a whole cycle period, so a cycle of the victim starts inside it.
        bursts = [Burst(x.base_url, BURST_RATE, every_s + 3).start() for x in instances]
        time.sleep(1)
        m.wait_until(lambda: any(j["running"] for j in victim.jobs()), 2 * every_s, step=0.05)
        held = None
        if multi:  # the victim holds in-flight leases in Redis when it dies
            held = m.wait_until(lambda: (redis.live_leases() or {}).get(victim.name), every_s, step=0.01)
            problems.check(held, f"(b) no in-flight lease of {victim.name} seen in Redis before the kill "
                                 f"(leases: {redis.live_leases()})")
        killed_at = time.time()
        victim.serve.kill()
        s.log(f"(b) kill -9 of {victim.name}, the instance running the jobs, under a passthrough burst"
              + (f"; it held {held} in-flight leases" if held else ""))
        if held:
            gone = m.wait_until(lambda: not (redis.live_leases() or {}).get(victim.name), 60, step=0.1)
            if problems.check(gone, f"(b) {victim.name}'s in-flight leases still live 60 s after the kill"):
                summary["(b) killed instance's in-flight leases expired after"] = f"{time.time() - killed_at:.1f} s"
                s.log(f"(b) {victim.name}'s in-flight leases expired {time.time() - killed_at:.1f} s after the kill")
        for b in bursts:
            b.join()
        if not multi:
            victim_config = victim.config
            instances.remove(victim)
            instances.append(m.Instance(args.kisgate, victim.name, victim_config, victim.log_path))
        else:
            instances.remove(victim)
        watch.instances = instances

        def next_cycle_elsewhere():
            # A cycle due after the kill can only have run elsewhere (or on the restart); when a
            # poll first showed it finished.
            with watch.lock:
                seen = [at for (_, cycle_time), at in watch.first_seen.items()
                        if m.compact_seconds(cycle_time) > killed_at]
            return min(seen) if seen else None
        resumed = m.wait_until(next_cycle_elsewhere, 60 + 4 * every_s)
        if problems.check(resumed, "(b) no instance ran a cycle after the kill -9"):
            failover = resumed - killed_at
            summary["(b) failover after kill -9 (kill to the next cycle on /v1/jobs)"] = f"{failover:.1f} s"
            s.log(f"(b) the next cycle showed on /v1/jobs {failover:.1f} s after the kill")
            gaps.append((killed_at, resumed))
        # Its in-flight slots return: calls up to the whole cap, at once, all served.
        totals.reset()
        survivor = instances[0]
        token = m.pass_token(survivor.base_url)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2 * MAX_IN_FLIGHT) as pool:
            sessions = [requests.Session() for _ in range(2 * MAX_IN_FLIGHT)]
            results = list(pool.map(lambda sess: m.passthrough_price(sess, survivor.base_url, token, CODES[0]),
                                    sessions))
        st = totals.now()
        s.log(f"(b) {len(results)} concurrent calls into {survivor.name}: {dict(collections.Counter(results))}, "
              f"{st['window_max_in_flight']} in flight at the simulator at most")
        problems.check(all(r == "ok" for r in results),
                       f"(b) after the kill, concurrent calls failed: {dict(collections.Counter(results))}")

        # (c) Redis away for 10 s under traffic.
        s.log(f"(c) redis-server stopped for {REDIS_DOWN_S} s")
        bursts = [Burst(x.base_url, BURST_RATE // 2, REDIS_DOWN_S + 4).start() for x in instances]
        down_at = time.time()
        redis.stop()
        if multi:
            fell_back = m.wait_until(lambda: all(coordination_mode(x) == "fallback" for x in instances),
                                     REDIS_DOWN_S)
            if problems.check(fell_back, "(c) not every instance reported mode fallback while Redis was away"):
                s.log(f"(c) every instance in fallback mode {time.time() - down_at:.1f} s after the stop")
        time.sleep(max(0.0, down_at + REDIS_DOWN_S - time.time()))
        redis.start()
        up_at = time.time()
        if multi:
            shared = m.wait_until(lambda: all(coordination_mode(x) == "shared" for x in instances), 30)
            back_s = time.time() - up_at
            if problems.check(shared, "(c) not every instance returned to shared mode within 30 s of Redis' return"):
                summary["(c) Redis down, then every instance shared again"] = \
                    f"down {up_at - down_at:.1f} s, shared {back_s:.1f} s after its return"
                s.log(f"(c) every instance in shared mode {back_s:.1f} s after Redis' return")
        for b in bursts:
            b.join()
        gaps.append((down_at, time.time()))
        redis_down.append((down_at, up_at))
        st = totals.now()
        problems.check(st["max_calls_in_1s"] <= LIMIT, f"(c) a 1-s window held {st['max_calls_in_1s']} calls")
        problems.check(st["error:EGW00201"] == 0, f"(c) {st['error:EGW00201']} EGW00201")
        s.log(f"(c) busiest second so far {st['max_calls_in_1s']}, EGW00201 {st['error:EGW00201']}")

        # (d) PostgreSQL restarted in the middle of a cycle.
        m.wait_until(lambda: any(j["running"] for x in instances for j in x.jobs()), 2 * every_s, step=0.05)
        s.log("(d) pg_ctl restart -m fast in the middle of a cycle")
        pg.restart()
        time.sleep(3 * every_s)  # the cycles during and after the restart have finished
        watch.finish()
        keys = keys_now()
        check_rows_of_cycles(problems, watch, keys, CODES)
        cycles = check_cycles(problems, watch, every_s, gaps, run_since, redis_down)
        s.log(f"cycles seen per job over the run: {cycles}")
        st = totals.now()
        summary["busiest second over the run"] = f"{st['max_calls_in_1s']} calls"
        summary["tokens issued over the run"] = st["tokens_issued"]
        summary["EGW00201 over the run"] = st["error:EGW00201"]
        problems.check(st["max_calls_in_1s"] <= LIMIT, f"a 1-s window held {st['max_calls_in_1s']} calls")
        problems.check(st["tokens_issued"] == 1, f"{st['tokens_issued']} tokens issued over the run, not 1")
        for x in instances:
            code = x.serve.terminate(timeout=20)
            problems.check(code == 0, f"{x.name}: exit {code} on SIGTERM")
    finally:
        watch.stop.set()
        sim.stop()
        ref_sim.stop()
        m.cleanup()

    print("\nsummary:", flush=True)
    for k, v in summary.items():
        print(f"  {k}: {v}", flush=True)
    print(f"  wall time: {time.monotonic() - started:.0f} s", flush=True)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems), flush=True)
        for x in everyone:
            print(f"\n{x.name} log (last lines), {x.log_path}:\n{s.tail(x.log_path)}", flush=True)
        return 1
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)  # kept when the test fails
    print("multi test: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
