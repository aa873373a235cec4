#!/usr/bin/python3
"""A PostgreSQL that stops answering (SIGSTOP: a hung server, or a network path that drops
packets, with the connections left open) must not freeze `kisgate serve` (issue 23, c1):

  - while it is stopped, /healthz and /metrics answer at once;
  - an API read that needs the database (investors of a code with nothing in memory) answers
    503 store_timeout within storage.timeout plus a second, and is counted
    (kisgate_store_read_timeouts_total);
  - a bars_daily job goes on cycling (its reads time out; the cycle records the failure);
  - SIGTERM stops serve within 5 s, the database still stopped.

Before the fix every one of these waited for the database (11 minutes in one run).

Usage: pg_stall_test.py KISGATE [--keep]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multi_support as m  # noqa: E402

s = m.s


def postgres_pids(pg):
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        main = f.readline().strip()
    children = subprocess.run(["pgrep", "-P", main], capture_output=True, text=True,
                              check=False).stdout.split()
    return [int(main)] + [int(p) for p in children]


def timed_get(serve, path, timeout):
    started = time.monotonic()
    try:
        r = requests.get(f"{serve.base_url}{path}", timeout=timeout)
        return r.status_code, r.text, time.monotonic() - started
    except requests.RequestException as e:
        return None, str(e), time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kisgate")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kisgate-pg-stall-")
    failures = []
    paused = []
    try:
        pg = m.Postgres(folder)
        sim = s.Sim(args.kisgate, os.path.join(folder, "sim.log"))
        m.on_exit("sim", sim.stop)
        config = m.write_serve_config(os.path.join(folder, "serve"), sim.base_url,
                                      ["005930", "000660"], [("daily", "bars_daily")], 3,
                                      pg.url)
        # storage.timeout 1 s: the test waits less.
        text = open(config).read().replace("[storage]\n", '[storage]\ntimeout = "1s"\n')
        open(config, "w").write(text)
        serve = s.Serve(args.kisgate, config, os.path.join(folder, "serve.log"))
        m.on_exit("serve", lambda: serve.proc.poll() is None and serve.kill())
        code, body, took = timed_get(serve, "/v1/stocks/005930/investors", 10)
        s.log(f"investors before the stall: {code} in {took:.2f} s")
        if code != 200:
            failures.append(f"investors before the stall: {code} {body[:200]}")
        time.sleep(4)  # a cycle of the job or two

        paused = postgres_pids(pg)
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        m.on_exit("resume postgres", lambda: [os.kill(p, signal.SIGCONT) for p in paused])
        s.log(f"postgres stopped (SIGSTOP to {len(paused)} processes)")

        code, body, took = timed_get(serve, "/v1/stocks/000660/investors", 10)
        s.log(f"investors during the stall: {code} in {took:.2f} s: {body[:160]}")
        if code != 503 or "store_timeout" not in body or took > 3:
            failures.append(f"investors during the stall: {code} in {took:.2f} s (want 503 "
                            f"store_timeout within 3 s): {body[:200]}")
        for path in ("/healthz", "/metrics"):
            code, body, took = timed_get(serve, path, 5)
            s.log(f"{path} during the stall: {code} in {took:.3f} s")
            if code != 200 or took > 0.5:
                failures.append(f"{path} during the stall: {code} in {took:.2f} s")
        time.sleep(5)  # the job's cycles meanwhile
        code, body, took = timed_get(serve, "/metrics", 5)
        timeouts = s.metrics(body).get(("kisgate_store_read_timeouts_total", frozenset()), 0) if code == 200 else 0
        s.log(f"kisgate_store_read_timeouts_total {timeouts}")
        if timeouts < 1:
            failures.append("no read timeout counted in /metrics")
        code, body, took = timed_get(serve, "/healthz", 5)
        if code != 200 or took > 0.5:
            failures.append(f"/healthz after 5 s of the job cycling on a stopped database: {code} "
                            f"in {took:.2f} s")

        started = time.monotonic()
        exit_code = serve.terminate(timeout=8)
        stopped = time.monotonic() - started
        s.log(f"SIGTERM with the database stopped: exit {exit_code} after {stopped:.2f} s")
        if exit_code is None or stopped > 5:
            failures.append(f"serve took {stopped:.2f} s to stop after SIGTERM (want within 5 s)")
    except Exception as e:  # noqa: BLE001  (a start-up failure is a test failure with the logs)
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        for pid in paused:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        if failures:
            print(s.tail(os.path.join(folder, "serve.log")), flush=True)
        m.cleanup()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    for f in failures:
        print(f"FAIL: {f}", flush=True)
    print("ok" if not failures else f"{len(failures)} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
