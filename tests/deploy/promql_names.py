"""What the deployment files query: the PromQL expressions of the alert rules and of the Grafana
dashboard, and the kisgate metric names in them. Shared by promtool_test.py and metrics_test.py.

Metric names are found as the identifiers that start with "kisgate_" (every metric kisgate
serves does, and the files query no other exporter's); PromQL has no parser in Debian's Python
packages, so this is a scan, not a parse (promtool_test.py has promtool parse each expression).
"""
import json
import os
import re

import yaml

DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy")
ALERTS = os.path.join(DEPLOY, "prometheus", "kisgate-alerts.yml")
DASHBOARD = os.path.join(DEPLOY, "grafana", "kisgate-dashboard.json")


def alert_expressions():
    """[(where, expr)] of every rule."""
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    return [(f"alert {r.get('alert') or r.get('record')}", r["expr"])
            for g in doc["groups"] for r in g["rules"]]


def _panels(panels):
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def dashboard_expressions():
    """[(where, expr)] of every panel target and every query variable."""
    with open(DASHBOARD) as f:
        doc = json.load(f)
    out = []
    for p in _panels(doc["panels"]):
        for t in p.get("targets", []):
            out.append((f"panel '{p['title']}' target {t.get('refId')}", t["expr"]))
    for v in doc.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            out.append((f"variable {v['name']}", q))
    return out


def grafana_to_promql(expr):
    """A dashboard expression as plain PromQL: Grafana's variables replaced by values."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def metric_names(expr):
    return set(re.findall(r"\bkisgate_[a-zA-Z0-9_]+", expr))
