#!/usr/bin/python3
"""The README's performance tables, rendered from bench/results/summary.json.

  bench/readme.py            rewrite every block of README.md between
                             <!-- bench:NAME begin ... --> and <!-- bench:NAME end -->
  bench/readme.py --check    exit 1, with a diff, when a block differs from what summary.json gives
                             (the ctest test readme_bench_figures, in `make test`)

The full benchmarks record their figures, commit and date in summary.json (bench/summary.py);
`make bench` ends with this script. After re-running one benchmark alone, run it by hand. Edit the
wording of a block here, never in README.md: the next run would undo it. Every block says the
commit and the date its figures were measured at.
"""
import argparse
import difflib
import os
import re
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summary  # noqa: E402

README = os.path.join(summary.ROOT, "README.md")


class Figures:
    """One summary entry: v("name") is a figure's median; missing figures raise KeyError, so a
    block is never rendered from half of its figures."""

    def __init__(self, data, name):
        if name not in data:
            raise KeyError(f"bench/results/summary.json has no '{name}' entry: run its benchmark")
        self.name = name
        self.entry = data[name]

    def v(self, metric):
        try:
            return self.entry["metrics"][metric]["value"]
        except KeyError:
            raise KeyError(f"bench/results/summary.json: '{self.name}' has no figure '{metric}'") from None

    def measured(self):
        """commit abc1234, 2026-11-24 (`bench/results/x.md`)"""
        inferred = " (inferred)" if self.entry.get("commit_inferred") else ""
        return (f"commit {self.entry['commit']}{inferred}, {self.entry['date'][:10]} "
                f"(`{self.entry['report']}`)")


def n(value, digits=0):
    """A figure as the README writes it: thousands separated by commas."""
    return f"{value:,.{digits}f}"


def met(ok):
    return "met" if ok else "**missed**"


def block_compare(d):
    c = Figures(d, "compare")
    rows = []
    scenarios = [("S1", "S1: 53 codes × 4 data sets"), ("S2", "S2: S1 + minute bars + a user every 0.5 s")]
    for sc, title in scenarios:
        for i, (label, key) in enumerate((("baseline before", "baseline_before"),
                                          ("baseline after", "baseline_after"), ("kisgate", "kisgate"))):
            f = lambda field: c.v(f"{sc}_{key}_{field}")  # noqa: E731
            failed = f("failed")
            cells = [
                f"{n(f('cycle_s'), 1)} s ({n(f('ratio'), 2)})",
                "0" if failed == 0 else f"{n(failed)} of {n(f('planned'))}",
                n(f("busiest_1s")),
                f"{n(f('sim_egw00201'))} / {n(f('sim_refused'))} / {n(f('sim_dropped'))}",
                f"{n(f('probe_p50'))} / {n(f('probe_p99'))} ms" if sc == "S2" else "–",
                n(f("probe_failed")) if sc == "S2" else "–",
            ]
            if key == "kisgate":
                label, cells = f"**{label}**", [x if x == "–" else f"**{x}**" for x in cells]
            rows.append(f"| {title if i == 0 else ''} | {label} | ".replace("|  |", "| |")
                        + " | ".join(cells) + " |")
    cpu, base = c.v("S3_cpu_per_1k_kisgate_1_key"), c.v("S3_cpu_per_1k_baselines")
    times = c.v("S3_cpu_baselines_over_kisgate")
    rate1, rate4 = c.v("S3_kisgate_1_key_calls_per_s"), c.v("S3_kisgate_4_keys_calls_per_s")
    rss = max(c.v("S3_kisgate_1_key_rss_mb"), c.v("S3_kisgate_4_keys_rss_mb"))
    lost = c.v("S4_kisgate_failed")
    return "\n".join([
        f"Measured at {c.measured()}:",
        "",
        "| scenario | contender | cycle (× physical limit) | codes failed | busiest 1 s at KIS | "
        "EGW00201 / refused / dropped | user p50 / p99 | user failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Whole market (S3, 2,700 codes): kisgate {n(rate1, 1)} calls/s on 1 key, {n(rate4, 1)} on 4 "
        f"(target ≥ 0.95 × 18/s per key: {met(rate1 >= 17.1 and rate4 >= 68.4)}), peak RSS "
        f"{n(rss)} MB (≤ 64 MB: {met(rss <= 64)}). Faults (S4: 2 % disconnects, 1 % `EGW00002`): "
        f"{n(lost)} codes lost ({met(lost == 0)}). CPU of the whole process (S3, 1 key): "
        f"{n(cpu, 2)} s per 1,000 calls, {n(times, 1)}× less than the baselines' {n(base, 2)} s; "
        f"the targets are 0.1 s ({met(cpu <= 0.1)}) and 10× ({met(times >= 10)}).",
    ])


def block_api(d):
    a = Figures(d, "api")
    ratio = a.v("cached_ratio")
    p99 = a.v("paced_half_nginx_p99_ms_kisgate")
    failed, requests = a.v("interactive_failed"), a.v("interactive_requests")
    added99 = a.v("interactive_added_p99_ms")
    return "\n".join([
        f"Measured at {a.measured()}:",
        "",
        "| measure | kisgate | nginx | target |",
        "|---|---:|---:|---:|",
        f"| cached reads, requests/s (wrk: 1 thread, 32 connections) | {n(a.v('cached_rps_kisgate'))} "
        f"| {n(a.v('cached_rps_nginx'))} | |",
        f"| kisgate ÷ nginx | {n(ratio, 2)}× | | ≥ 1.2× ({met(ratio >= 1.2)}) |",
        f"| cached reads at {n(a.v('paced_half_nginx_rate'))} requests/s (half nginx's rate), p99 | "
        f"{n(p99, 2)} ms | {n(a.v('paced_half_nginx_p99_ms_nginx'), 2)} ms | ≤ 2 ms ({met(p99 <= 2)}) |",
        f"| user requests to KIS (`max_age=0`) while a collection cycle saturates the key: failed | "
        f"{n(failed)} of {n(requests)} | | 0 ({met(failed == 0)}) |",
        f"| – their added wait p50 / p99 (constant 40-ms upstream) | "
        f"{n(a.v('interactive_added_p50_ms'))} / {n(added99)} ms | | p99 ≤ 60 ms ({met(added99 <= 60)}) |",
    ])


def block_gate(d):
    g = Figures(d, "gate")
    rows = []
    for key, label, keys in (("batch", "batch, 1 key", 1),
                             ("probe", "batch + a user request every 250 ms, 1 key", 1),
                             ("4keys", "batch, 4 keys", 4)):
        util = g.v(f"{key}_utilisation")
        wait = (f"{n(g.v('probe_wait_p50_ms'))} ms / {n(g.v('probe_wait_p99_ms'))} ms"
                if key == "probe" else "–")
        busiest = n(g.v(f"{key}_busiest_1s")) + (" per key" if keys > 1 else "")
        rows.append(f"| {label} | {n(g.v(f'{key}_calls_per_s'), 2)} | {n(util, 3)}"
                    f"{' of ' + str(18 * keys) if keys > 1 else ''} | {wait} | "
                    f"{n(g.v(f'{key}_egw00201'))} | {busiest} |")
    return "\n".join([
        f"Measured at {g.measured()}:",
        "",
        "| scenario | calls/s served | of the limit | interactive gate wait p50 / p99 | EGW00201 | "
        "busiest second at KIS |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ])


def block_collect(d):
    c = Figures(d, "collect")
    seed, over = c.v("seed_cycle_s"), c.v("seed_cycle_over_limit")
    rate, share = c.v("market_calls_per_s"), c.v("market_over_limit")
    rss = c.v("market_rss_mb")
    rows = [
        f"| seed: 53 codes × 4 data sets, 1 key (limit 11.8 s) | {n(seed, 2)} s, {n(over, 3)}× the limit, "
        f"{n(c.v('seed_failed'))} failed | ≤ 12.4 s ({met(seed <= 12.4)}) |",
    ]
    if "seed_cpu_s_per_1000_calls" in c.entry["metrics"]:
        cpu = c.v("seed_cpu_s_per_1000_calls")
        rows.append(f"| seed: CPU of the kisgate process per 1,000 calls | {n(cpu, 3)} s | ≤ 0.1 s "
                    f"({met(cpu <= 0.1)}) |")
    rows += [
        f"| whole market: 2,700 codes × price, 4 keys | {n(rate, 2)} calls/s, {n(share, 3)} of 72/s, "
        f"{n(c.v('market_failed'))} failed | ≥ 0.95 ({met(share >= 0.95)}) |",
        f"| whole market: kisgate's peak RSS | {n(rss, 1)} MB | ≤ 64 MB ({met(rss <= 64)}) |",
    ]
    return "\n".join([
        f"Measured at {c.measured()}:",
        "",
        "| workload | result | target |",
        "|---|---:|---:|",
        *rows,
    ])


def block_sim(d):
    s = Figures(d, "sim_throughput")
    rates = [s.v(k) for k in s.entry["metrics"] if re.fullmatch(r"calls_per_s_\d+_connections", k)]
    if not rates:
        raise KeyError("bench/results/summary.json: 'sim_throughput' has no calls_per_s_N_connections")
    best = max(rates)
    return (f"The simulator itself answers about {n(round(best, -3))} calls/s on one core with keep-alive "
            f"({s.measured()}), so it is never the bottleneck of these measurements.")


def block_multi(d):
    m, a, s = Figures(d, "multi"), Figures(d, "admission"), Figures(d, "store")
    shared = m.v("shared_calls_per_s")
    return "\n".join([
        f"Measured at {m.measured()}; {a.measured()}; {s.measured()}:",
        "",
        "| measure | result | target or alternative |",
        "|---|---:|---:|",
        f"| 3 instances on one key through Redis, 36 calls/s offered | {n(shared, 2)} calls/s at KIS "
        f"({n(m.v('shared_over_planned'), 3)} of 18 × 0.97), busiest 1 s {n(m.v('shared_busiest_1s'))}, "
        f"{n(m.v('shared_egw00201'))} `EGW00201`, {n(m.v('shared_tokens'))} token | ≥ 16.6 calls/s "
        f"({met(shared >= 16.6)}) |",
        f"| the same 3 instances uncoordinated | {n(m.v('alone_calls_per_s'), 2)} calls/s, "
        f"{n(m.v('alone_ok'))} of {n(m.v('alone_sent'))} client calls ok, "
        f"{n(m.v('alone_tokens'))} token issued (KIS issues one per minute per key) | – |",
        f"| admission per call, idle key: local / through Redis (loopback) | p50 "
        f"{n(a.v('local_p50_us'))} / {n(a.v('shared_p50_us'))} µs, p99 {n(a.v('local_p99_us'))} / "
        f"{n(a.v('shared_p99_us'))} µs | one rate slot is 57,300 µs |",
        f"| collector-shaped writes: SQLite / PostgreSQL 15 | {n(s.v('sqlite_rows_per_s'))} / "
        f"{n(s.v('postgres_rows_per_s'))} rows/s | one key collects at most 1,800 rows/s |",
    ])


def block_realtime(d):
    s, t = Figures(d, "stream"), Figures(d, "store")
    trades, per_cpu = t.v("sqlite_trades_per_s"), t.v("sqlite_trades_per_cpu_s")
    p99_25 = s.v("latency_25ms_p99_ms")
    return "\n".join([
        f"Measured at {s.measured()}; {t.measured()}:",
        "",
        "| measure | result | target |",
        "|---|---:|---:|",
        f"| trades into SQLite (`store_bench`, batches of 100) | {n(trades)} trades/s, {n(per_cpu)} per "
        f"CPU-second | ≥ 50,000 per core ({met(per_cpu >= 50000)}) |",
        f"| simulator send → SSE client, ~{n(s.v('latency_25ms_sent_per_s'))} trades/s of 41 codes, 4 "
        f"clients, the simulator's trades in bursts every 25 ms | p50 {n(s.v('latency_25ms_p50_ms'), 1)} ms, "
        f"p99 {n(p99_25, 2)} ms | p99 ≤ 5 ms ({met(p99_25 <= 5)}) |",
        f"| the same, bursts every 100 ms / every 1 s (a second's trades sent at once) | p99 "
        f"{n(s.v('latency_100ms_p99_ms'), 1)} ms / {n(s.v('latency_1000ms_p99_ms'))} ms | p99 ≤ 5 ms |",
        f"| 1,000 SSE clients, one code each, ~{n(s.v('fanout_100ms_sent_per_s'))} trades/s, bursts every "
        f"100 ms (kisgate on one thread) | {n(round(s.v('fanout_100ms_delivered_per_s'), -3))} events/s "
        f"delivered, {n(s.v('fanout_100ms_cut'))} clients cut, kisgate thread "
        f"{n(s.v('fanout_100ms_kisgate_busy_pct'))} % busy, p99 {n(s.v('fanout_100ms_p99_ms'))} ms "
        f"(bursts every 25 ms: p99 {n(s.v('fanout_25ms_p99_ms'))} ms, "
        f"{n(s.v('fanout_25ms_due_pct'), 1)} % of the events due received) | 1,000 clients on one core |",
    ])


BLOCKS = {
    "compare": block_compare,
    "api": block_api,
    "gate": block_gate,
    "collect": block_collect,
    "sim": block_sim,
    "multi": block_multi,
    "realtime": block_realtime,
}
BEGIN = "<!-- bench:{} begin: generated by bench/readme.py from bench/results/summary.json -->"
END = "<!-- bench:{} end -->"


def render(text, data):
    for name, fn in BLOCKS.items():
        begin, end = BEGIN.format(name), END.format(name)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
        if len(pattern.findall(text)) != 1:
            raise SystemExit(f"readme: README.md needs one block between\n  {begin}\nand\n  {end}")
        body = "\n".join(line if line.startswith("|") or not line else
                         textwrap.fill(line, 100, break_long_words=False, break_on_hyphens=False)
                         for line in fn(data).split("\n"))
        text = pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text)
    return text


def update(readme=README, summary_path=summary.PATH):
    """Re-renders README.md's blocks; returns whether it changed."""
    with open(readme) as f:
        old = f.read()
    new = render(old, summary.load(summary_path))
    if new != old:
        with open(readme, "w") as f:
            f.write(new)
    return new != old


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    p.add_argument("--readme", default=README)
    p.add_argument("--summary", default=summary.PATH)
    args = p.parse_args()
    with open(args.readme) as f:
        old = f.read()
    try:
        new = render(old, summary.load(args.summary))
    except KeyError as e:
        raise SystemExit(f"readme: {e.args[0]}")
    if args.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "README.md", "README.md from summary.json"))
            print("\nreadme: the README's performance figures differ from bench/results/summary.json:"
                  " run /usr/bin/python3 bench/readme.py (never edit the generated blocks by hand)")
            return 1
        print("readme: the README's performance figures are those of bench/results/summary.json")
        return 0
    if new != old:
        with open(args.readme, "w") as f:
            f.write(new)
        print("readme: README.md's performance blocks rewritten from bench/results/summary.json")
    else:
        print("readme: README.md's performance blocks were already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
