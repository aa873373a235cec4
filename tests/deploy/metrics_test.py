"""Every metric the Grafana dashboard and the Prometheus alert rules query is one a running
kisgate serves: `kisgate serve` against `kisgate sim` (like tests/soak/), its /metrics read once
a collection cycle has finished, each name checked against the families it declares (# TYPE; a
histogram's _bucket, _sum and _count count as its family). Then SIGTERM, which the systemd
units rely on, stops serve within 5 s.

    metrics_test.py KISGATE_BINARY
"""
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "soak"))
import promql_names  # noqa: E402
from soak_support import CODES, DEMO_JOBS, Serve, Sim, log, metrics, tail, write_config  # noqa: E402


def families(text):
    """{family name: type} from the # TYPE lines."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def served(name, fams):
    if name in fams:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and fams.get(name[: -len(suffix)]) == "histogram":
            return True
    return False


def main():
    kisgate = sys.argv[1]
    folder = tempfile.mkdtemp(prefix="kisgate-deploy-metrics-")
    sim = serve = None
    failures = []
    try:
        sim = Sim(kisgate, os.path.join(folder, "sim.log"))
        config = write_config(folder, sim.base_url, CODES[:4], DEMO_JOBS, every="5s")
        serve = Serve(kisgate, config, os.path.join(folder, "serve.log"))
        log(f"serve on {serve.base_url}, sim on {sim.base_url}")
        # Once a cycle has finished every family carries samples of a working system.
        deadline = time.time() + 60
        text = ""
        while time.time() < deadline:
            text = serve.get("/metrics").text
            cycles = [v for (n, _), v in metrics(text).items() if n == "kisgate_collect_cycles_total"]
            if cycles and min(cycles) >= 1:
                break
            time.sleep(0.5)
        else:
            failures.append("no collection cycle of every job finished within 60 s")
        fams = families(text)
        log(f"/metrics declares {len(fams)} families")

        used = {}
        for where, expr in promql_names.alert_expressions() + promql_names.dashboard_expressions():
            for name in promql_names.metric_names(expr):
                used.setdefault(name, []).append(where)
        log(f"the alert rules and the dashboard query {len(used)} metric names")
        if len(used) < 20:
            failures.append(f"only {len(used)} metric names found in the deployment files")
        for name, wheres in sorted(used.items()):
            if not served(name, fams):
                failures.append(f"{name} is not served by /metrics (used by {'; '.join(wheres[:3])})")

        # The dashboard covers what an operator looks at: each area has at least one metric.
        dashboard_names = {n for _, e in promql_names.dashboard_expressions() for n in promql_names.metric_names(e)}
        for prefix in ("kisgate_gate_upstream_requests_total", "kisgate_gate_rate_limit_calls_per_second",
                       "kisgate_gate_wait_seconds_bucket", "kisgate_gate_errors_total", "kisgate_token_",
                       "kisgate_collect_", "kisgate_data_age_seconds", "kisgate_store_", "kisgate_coordination_"):
            if not any(n.startswith(prefix) for n in dashboard_names):
                failures.append(f"the dashboard has no panel on {prefix}*")

        started = time.monotonic()
        code = serve.terminate(timeout=5)
        stopped = time.monotonic() - started
        serve = None
        log(f"SIGTERM: exit {code} after {stopped:.2f} s")
        if code != 0:
            failures.append(f"serve did not exit 0 within 5 s of SIGTERM (exit {code})")
    except Exception as e:  # a start-up failure is a test failure with the logs
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        if serve is not None:
            serve.kill()
        if sim is not None:
            sim.stop()
        if failures:
            print(tail(os.path.join(folder, "serve.log")))
        shutil.rmtree(folder, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print("metrics test:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
