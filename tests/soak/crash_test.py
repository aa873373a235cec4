#!/usr/bin/python3
"""Crash consistency: `kisgate serve` killed with SIGKILL at random moments of its cycles, 10
times, each followed by a restart; a last run then finishes a cycle of every job and stops on
SIGTERM. Afterwards the SQLite file passes `PRAGMA integrity_check`, no table holds a key twice,
and the simulator issued one token for the 11 starts (the token file was reused).

Usage: crash_test.py KISGATE [--rounds 10] [--seed N]
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_support as s  # noqa: E402

EVERY_S = 3
# Long enough cycles to be killed inside: 8 codes of prices, investors (30 rows each) and
# minute bars (paged), about 40 calls at 17.5 calls/s.
JOBS = [("price", "price"), ("investors", "investors"), ("bars", "bars_minute")]
CODES = s.CODES[:8]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    workdir = tempfile.mkdtemp(prefix="kisgate-crash-")
    s.log(f"crash test: {args.rounds} x kill -9, seed {seed}, files in {workdir}")
    problems = []
    sim = s.Sim(args.kisgate, os.path.join(workdir, "sim.log"), flags=["--latency-ms", "5"])
    serve_log = os.path.join(workdir, "serve.log")
    db_path = os.path.join(workdir, "kisgate.db")
    try:
        config = s.write_config(workdir, sim.base_url, CODES, JOBS, every=f"{EVERY_S}s")
        for round_ in range(1, args.rounds + 1):
            serve = s.Serve(args.kisgate, config, serve_log)
            # Anywhere in the first cycles: before the first call, between calls, mid-transaction.
            at = rng.uniform(0.2, 2 * EVERY_S)
            time.sleep(at)
            if serve.proc.poll() is not None:
                problems.append(f"round {round_}: serve exited with {serve.proc.returncode} before the kill")
                break
            serve.kill()
            rows = 0
            if os.path.exists(db_path):
                _, tables = s.check_database(db_path)
                rows = sum(n for t, n in tables.items() if t != "schema_migrations")
            s.log(f"round {round_}: killed {at:.2f} s after start; {rows} rows held")
        # The 11th start: every job finishes a cycle, then a clean stop.
        serve = s.Serve(args.kisgate, config, serve_log)
        deadline = time.monotonic() + 4 * EVERY_S + 20
        finished = False
        while time.monotonic() < deadline and not finished:
            time.sleep(0.5)
            finished = all(j["cycles"] > 0 for j in serve.get("/v1/jobs").json()["jobs"])
        if not finished:
            problems.append("after the kills, not every job finished a cycle")
        code = serve.terminate(timeout=30)
        if code != 0:
            problems.append(f"serve's last run: exit {code} on SIGTERM")
        stats = sim.stats()
    finally:
        sim.stop()

    db_problems, rows = s.check_database(db_path)
    problems += db_problems
    s.log(f"rows: {rows}; integrity and keys: {'ok' if not db_problems else db_problems}")
    s.log(f"simulator: {stats['calls']} calls, tokens issued {stats['tokens_issued']}, "
          f"reused {stats['tokens_reused']}, errors {stats['errors']}")
    if stats["tokens_issued"] != 1:
        problems.append(f"the simulator issued {stats['tokens_issued']} tokens for {args.rounds + 1} starts, not 1")
    for table in ("price", "investors", "bars_minute"):
        if rows.get(table, 0) == 0:
            problems.append(f"no rows in {table}")
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems), flush=True)
        print(f"\nserve log (last lines), {serve_log}:\n{s.tail(serve_log)}", flush=True)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)  # kept when the test fails
    print("crash test: passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
