"""Aggregate calls/s of 3 `kisgate serve` instances on one app key (issue 13): each instance gets
an open-loop passthrough load of 12 calls/s (36/s in all, twice the key's 18/s) for 30 s, and the
simulator counts what reaches it. Side by side: the same 3 instances sharing the key through Redis
([coordination]) and uncoordinated (each with its own budget, today's default without Redis).
Target for the shared run: >= 0.95 x 18 x 0.97 = 16.6 calls/s, no 1-s window over 18, no EGW00201.

    /usr/bin/python3 bench/multi_bench.py build/kisgate [--out bench/results/multi.md]
"""
import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "multi"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "soak"))
sys.path.insert(0, HERE)
import multi_support as m  # noqa: E402
import summary  # noqa: E402  (bench/results/summary.json)
import multi_test as mt  # noqa: E402
import soak_support as s  # noqa: E402

LOAD_PER_INSTANCE = 12
SECONDS = 30
LIMIT = 18
TARGET = 0.95 * LIMIT * 0.97


def run(kisgate, workdir, shared):
    mode = "shared (Redis)" if shared else "uncoordinated"
    folder = os.path.join(workdir, "shared" if shared else "alone")
    os.makedirs(folder)
    redis = m.Redis(folder) if shared else None
    sim = s.Sim(kisgate, os.path.join(folder, "sim.log"), flags=mt.SIM_FLAGS)
    m.on_exit(f"sim {mode}", lambda: sim.proc.poll() is None and sim.proc.kill())
    instances = []
    for i in range(1, 4):
        f = os.path.join(folder, f"i{i}")
        config = m.write_serve_config(f, sim.base_url, mt.CODES, [], 5, f"sqlite://{f}/kisgate.db",
                                      {"url": redis.url, "instance": f"i{i}"} if shared else None)
        with open(config, "a") as out:
            out.write(f'[gate]\ndefault_deadline = "{mt.GATE_DEADLINE_S}s"\n')
        instances.append(m.Instance(kisgate, f"i{i}", config, os.path.join(f, "serve.log")))
    totals = mt.SimTotals(sim)
    s.log(f"{mode}: {len(instances)} instances, {LOAD_PER_INSTANCE} calls/s into each for {SECONDS} s")
    bursts = [mt.Burst(x.base_url, LOAD_PER_INSTANCE, SECONDS).start() for x in instances]
    time.sleep(5)  # past the start (tokens, connections)
    first, t0 = totals.now()["calls"], time.monotonic()
    time.sleep(SECONDS - 10)
    last, t1 = totals.now()["calls"], time.monotonic()
    for b in bursts:
        b.join()
    st = totals.now()
    for x in instances:
        x.serve.terminate(timeout=20)
    sim.stop()
    if redis:
        redis.stop()
    outcomes = sum((b.outcomes for b in bursts), start=type(bursts[0].outcomes)())
    return {"mode": mode, "calls_per_s": (last - first) / (t1 - t0),
            "busiest": st["max_calls_in_1s"], "egw00201": st["error:EGW00201"],
            "tokens": st["tokens_issued"], "ok": outcomes.get("ok", 0),
            "sent": sum(outcomes.values())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate")
    parser.add_argument("--out", default="bench/results/multi.md")
    args = parser.parse_args()
    at = summary.commit()  # HEAD may move while this runs
    workdir = tempfile.mkdtemp(prefix="kisgate-multi-bench-")
    rows = [run(args.kisgate, workdir, True), run(args.kisgate, workdir, False)]
    table = (f"3 instances on one key, {LOAD_PER_INSTANCE} passthrough calls/s into each for {SECONDS} s "
             f"(calls/s at the simulator over the middle {SECONDS - 10} s; the key allows {LIMIT}/s, "
             f"kisgate plans 0.97 of it; target {TARGET:.1f})\n\n"
             "| instances | calls/s at KIS | / (18 x 0.97) | busiest 1-s window | EGW00201 | tokens issued "
             "| client calls ok |\n|---|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        table += (f"| {r['mode']} | {r['calls_per_s']:.2f} | {r['calls_per_s'] / (LIMIT * 0.97):.3f} | "
                  f"{r['busiest']} | {r['egw00201']} | {r['tokens']} | {r['ok']} of {r['sent']} |\n")
    table += ("\nThe load is the same few quotations again and again, so kisgate coalesces identical calls "
              "in flight: client calls ok can exceed what reached KIS. Uncoordinated, each instance asks "
              "KIS for its own token and KIS issues one per minute per key (EGW00133): the instances "
              "without one fail their calls until the minute has passed, and the others each run "
              "their own budget.\n")
    print(table)
    with open(args.out, "w") as f:
        f.write("# Several instances on one key\n\n`/usr/bin/python3 bench/multi_bench.py build/kisgate`\n\n")
        f.write(table)
    if os.path.abspath(args.out) == os.path.join(summary.ROOT, "bench", "results", "multi.md"):
        metrics = {}
        for r, key in zip(rows, ("shared", "alone")):
            metrics.update({f"{key}_calls_per_s": r["calls_per_s"],
                            f"{key}_over_planned": r["calls_per_s"] / (LIMIT * 0.97),
                            f"{key}_busiest_1s": r["busiest"], f"{key}_egw00201": r["egw00201"],
                            f"{key}_tokens": r["tokens"], f"{key}_ok": r["ok"], f"{key}_sent": r["sent"]})
        summary.record("multi", "bench/results/multi.md", {k: {"value": v} for k, v in metrics.items()},
                       "bench/multi_bench.py", os.path.dirname(os.path.abspath(args.kisgate)), at=at)
    m.cleanup()


if __name__ == "__main__":
    main()
