#!/usr/bin/python3
"""Compares kisgate's quotation catalogue (src/kis/quotation_catalogue.json) with a checkout of
KIS's official sample repository (koreainvestment/open-trading-api on GitHub).

    /usr/bin/python3 scripts/check_kis_catalogue.py CHECKOUT [--catalogue FILE]

For every read-only REST API of KIS's per-API examples (examples_llm/<market>/<api>/<api>.py and
chk_<api>.py; paths under /v1/quotations/, /v1/ranking/, /v1/finance/ and /v1/ksdinfo/ of the
seven markets) it checks that the catalogue has the API with the same path, tr_id, parameters
(names, in order), paging and output columns (names, in order, over all blocks), and that the
catalogue has nothing the checkout lacks. It prints one line per difference and exits 1 when there
is one, 2 when the checkout cannot be read, 0 otherwise.

NOT run by ctest: CI has no checkout of KIS's repository (and no network to fetch one); run it by
hand after KIS updates its samples, then update the catalogue. It reads the examples as text and
syntax trees and never imports or runs them.
"""
import argparse
import ast
import json
import os
import re
import sys

MARKETS = ("domestic_bond", "domestic_futureoption", "domestic_stock", "elw", "etfetn",
           "overseas_futureoption", "overseas_stock")
GROUPS = ("quotations", "ranking", "finance", "ksdinfo")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATALOGUE = os.path.join(HERE, "..", "src", "kis", "quotation_catalogue.json")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def tr_ids(source):
    """Every tr_id the example may send (literal assignments, conditional ones included)."""
    return list(dict.fromkeys(re.findall(r'\btr_id\s*=\s*"([A-Z0-9]+)"', source) +
                              re.findall(r'\btr_id\s*=\s*"([A-Z0-9]+)"\s+if\b', source)))


def params_of(tree):
    """The query parameter names of the example's first `params = {...}`, in order."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == "params" for t in node.targets):
            return [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    return []


def columns_of(chk_source):
    """COLUMN_MAPPING's keys in order, each once (the mapping spans all output blocks)."""
    tree = ast.parse(chk_source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "COLUMN_MAPPING" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                return [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    return []


def official_apis(checkout):
    found = {}
    base = os.path.join(checkout, "examples_llm")
    if not os.path.isdir(base):
        raise FileNotFoundError(f"{checkout} has no examples_llm folder")
    for market in MARKETS:
        folder = os.path.join(base, market)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            src_path = os.path.join(folder, name, f"{name}.py")
            if not os.path.isfile(src_path):
                continue
            source = read(src_path)
            m = re.search(r'API_URL\s*=\s*"([^"]+)"', source)
            if not m:
                continue  # a WebSocket (real-time) example
            path = m.group(1)
            parts = path.strip("/").split("/")
            if len(parts) < 5 or parts[3] not in GROUPS:
                continue  # orders, balances and other account calls
            chk_path = os.path.join(folder, name, f"chk_{name}.py")
            found[(market, name)] = {
                "path": path,
                "tr_ids": tr_ids(source),
                "params": params_of(ast.parse(source)),
                "paged": bool(re.search(r"tr_cont\s*(==|in)\s*[\[\(\"']", source)),
                "columns": columns_of(read(chk_path)) if os.path.isfile(chk_path) else None,
            }
    return found


def ordered_unique(names):
    return list(dict.fromkeys(names))


def compare(catalogue, official):
    problems = []
    ours = {(a["market"], a["api"]): a for a in catalogue["apis"]}
    for key in sorted(official.keys() - ours.keys()):
        problems.append(f"missing: {key[0]}/{key[1]} {official[key]['path']}")
    for key in sorted(ours.keys() - official.keys()):
        problems.append(f"not in the checkout: {key[0]}/{key[1]} {ours[key]['path']}")
    for key in sorted(ours.keys() & official.keys()):
        a, o = ours[key], official[key]
        where = f"{key[0]}/{key[1]}"
        if a["path"] != o["path"]:
            problems.append(f"{where}: path {a['path']} != {o['path']}")
        ids = [a["tr_id"]] + ([a["tr_id_mock"]] if a.get("tr_id_mock") else []) + a.get(
            "tr_id_other", [])
        if sorted(set(ids)) != sorted(set(o["tr_ids"])):
            problems.append(f"{where}: tr_id {' '.join(ids)} != {' '.join(o['tr_ids'])}")
        names = [p["name"] for p in a["params"]]
        if names != o["params"]:
            problems.append(f"{where}: parameters {names} != {o['params']}")
        if a["paged"] != o["paged"]:
            problems.append(f"{where}: paged {a['paged']} != {o['paged']}")
        if o["columns"] is not None:
            ours_cols = ordered_unique(c["name"] for out in a["outputs"] for c in out["columns"])
            theirs = ordered_unique(o["columns"])
            if ours_cols != theirs:
                gone = [c for c in theirs if c not in ours_cols]
                extra = [c for c in ours_cols if c not in theirs]
                what = (f"missing {gone[:8]}" if gone else "") + (f" extra {extra[:8]}" if extra
                                                                  else "")
                problems.append(f"{where}: columns differ: {what.strip() or 'order'}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", help="a checkout of koreainvestment/open-trading-api")
    parser.add_argument("--catalogue", default=DEFAULT_CATALOGUE)
    args = parser.parse_args()
    try:
        official = official_apis(os.path.abspath(args.checkout))
        with open(args.catalogue, encoding="utf-8") as f:
            catalogue = json.load(f)
    except (OSError, ValueError, SyntaxError) as e:
        print(f"check_kis_catalogue: {e}", file=sys.stderr)
        return 2
    problems = compare(catalogue, official)
    for line in problems:
        print(line)
    counts = {}
    for market, _ in official:
        counts[market] = counts.get(market, 0) + 1
    summary = ", ".join(f"{m} {n}" for m, n in sorted(counts.items()))
    print(f"{len(official)} APIs in the checkout ({summary}); {len(catalogue['apis'])} in the "
          f"catalogue; {len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
