"""The Prometheus side of deploy/: `promtool check rules` on the alert rules, `promtool check
config` on the example scrape config, `promtool test rules` on the rules' unit tests (deploy/prometheus/alerts_test.yml: each alert fires on synthetic
series), and promtool's parser on every expression of the Grafana dashboard (written as
recording rules, Grafana's variables replaced by values).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promql_names  # noqa: E402


def run(args, cwd=None):
    r = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    print("$", " ".join(args), f"(exit {r.returncode})\n", r.stdout, r.stderr, flush=True)
    return r.returncode


def main():
    promtool = shutil.which("promtool")
    if promtool is None:
        print("FAIL: promtool is not installed (scripts/bootstrap.sh installs Debian's prometheus)")
        return 1
    failures = 0
    prom_dir = os.path.dirname(promql_names.ALERTS)
    failures += run([promtool, "check", "rules", promql_names.ALERTS]) != 0
    failures += run([promtool, "test", "rules", "alerts_test.yml"], cwd=prom_dir) != 0
    failures += run([promtool, "check", "config", "prometheus.yml"], cwd=prom_dir) != 0

    # Every alert has a test case in alerts_test.yml that expects it to fire.
    with open(os.path.join(prom_dir, "alerts_test.yml")) as f:
        tests = yaml.safe_load(f)
    fired = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
    for where, _ in promql_names.alert_expressions():
        name = where.split(" ", 1)[1]
        if name not in fired:
            print(f"FAIL: {name} has no test in alerts_test.yml that fires it")
            failures += 1

    exprs = promql_names.dashboard_expressions()
    rules = [{"record": f"kisgate:dashboard_{i}", "expr": promql_names.grafana_to_promql(e)}
             for i, (where, e) in enumerate(exprs) if not e.startswith("label_values(")]
    folder = tempfile.mkdtemp(prefix="kisgate-dashboard-rules-")
    try:
        path = os.path.join(folder, "dashboard.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        print(f"{len(rules)} dashboard expressions:")
        failures += run([promtool, "check", "rules", path]) != 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("promtool test:", "FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
