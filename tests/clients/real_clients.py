#!/usr/bin/python3
"""The public KIS clients, unmodified, against `kisgate sim` and through kisgate's passthrough.

Runs each client twice, as its users would, with nothing changed but the base URL and the app key:
once straight at the simulator ("direct") and once at `kisgate serve`, whose one `[[kis.keys]]`
points at the same simulator ("passthrough"). It prints a table (client, API, direct,
passthrough, note) and exits non-zero when something works directly but fails through the
passthrough (1), or when it could not run at all (2).

    /usr/bin/python3 tests/clients/real_clients.py build/kisgate \\
        --official PATH/open-trading-api --python-kis PATH/python-kis [--all-markets] [--keep]

Either checkout may be left out. They are not part of kisgate, and this script is NOT in ctest:
CI has no network to fetch them, so it is run by hand (a checkout of each at any commit):
- KIS's official samples, koreainvestment/open-trading-api on GitHub: every REST example of
  examples_llm/domestic_stock/<api>/chk_<api>.py (and examples_llm/auth), each in its own
  process from its own folder, and examples_user/domestic_stock/domestic_stock_examples.py and
  examples_user/auth/auth_examples.py, reading ~/KIS/config/kis_devlp.yaml from a temporary HOME
  (one per side: the samples cache their token per day in that folder). The WebSocket examples
  (real-time) are counted, not run; the other markets' examples are counted, and run with
  --all-markets.
- python-kis, Soju06/python-kis on GitHub, from PYTHONPATH: a short user program (below) asks for
  a stock's info, quote, order book, daily/weekly/monthly/yearly and minute charts. python-kis has
  no base-URL setting: the program sets `pykis.kis.REAL_DOMAIN`, the way its users point it
  elsewhere; its key file is written with `KisAuth.save` and the token kept with keep_token=True.

Debian packages only (no PyPI; `scripts/bootstrap.sh --clients` installs them): python3-pandas
python3-yaml python3-requests python3-websockets python3-pycryptodome (the samples) and
python3-websocket python3-cryptography python3-colorlog python3-typing-extensions (python-kis);
run it with Debian's /usr/bin/python3. Two gaps between
Debian 12 and what the clients import are bridged outside their code, in a folder put first on
PYTHONPATH: `Crypto` names Debian's `Cryptodome` (the same pycryptodome), and
`typing_extensions.deprecated` (4.5+, Debian 12 has 4.4) is a no-op decorator when missing
(python-kis uses it on two order helpers only). The same folder's sitecustomize records every HTTP
exchange of the client's `requests` (method, path, tr_id, status, the reply's header names, rt_cd,
msg_cd, output sizes) without touching it: that is how a call is judged, and how the two sides'
replies are compared header by header.

How a run is judged: ok when every call got HTTP 200 with rt_cd "0" (token calls: 200) and the
client did not crash; "empty" when so but a payload list came back empty (the simulator's history
starts on 2 January 2024, so a sample asking for 2022 gets no rows); fail otherwise, with the first
failing call or the client's traceback as the note. The simulator serves the TRs kisgate uses and
those clients call for one stock (README, "The KIS simulator"); the other samples get 404 directly
and 404 or 403 through kisgate; they are grouped in the table (--verbose lists each). The
WebSocket approval key (POST /oauth2/Approval, for real-time) is reported but fails nothing.

In order: the examples_llm examples; the same price example with the base URL written with a
trailing '/' (the samples then call //uapi/..., which KIS serves); kisgate restarted, and
examples_user's script that calls every domestic-stock API in turn (the samples keep the token
they cached before the restart); the token examples last, a minute after the key's previous token
request (KIS's limit, which the simulator keeps); python-kis. About 9 minutes on one core.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, OrderedDict, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_process import start_sim  # noqa: E402

PYTHON = "/usr/bin/python3"
SECRET = "S" * 180  # KIS secrets are 180 characters; python-kis checks the length
# One simulator key per direct client (a second token request for a key within a minute gets
# EGW00133, as from KIS) and one for kisgate; 36 characters like KIS's app keys.
KEY_OFFICIAL = "PSrealCLIENTSofficial000000000000001"
KEY_PYKIS = "PSrealCLIENTSpythonkis00000000000002"
KEY_GATE = "PSrealCLIENTSkisgate0000000000000003"
CLOCK = "2026-11-24T10:30:00"  # a Tuesday, in the regular session
EXAMPLE_TIMEOUT_S = 120
OUT_OF_SCOPE = "/oauth2/Approval"  # the WebSocket approval key: real-time is not covered here

# ---- What goes first on the clients' PYTHONPATH (this script's own code, not the clients').
SITECUSTOMIZE = r'''
import json, os
try:
    import typing_extensions
    if not hasattr(typing_extensions, "deprecated"):
        def deprecated(message, *, category=DeprecationWarning, stacklevel=1):
            def mark(obj):
                obj.__deprecated__ = message
                return obj
            return mark
        typing_extensions.deprecated = deprecated
except ImportError:
    pass

_log = os.environ.get("REAL_CLIENTS_WIRE_LOG")
if _log:
    import requests.adapters
    from urllib.parse import urlsplit
    _send = requests.adapters.HTTPAdapter.send

    def _recorded_send(self, request, *args, **kwargs):
        resp = _send(self, request, *args, **kwargs)
        rec = {"method": request.method, "path": urlsplit(request.url).path,
               "tr_id": request.headers.get("tr_id", ""), "status": resp.status_code,
               "headers": list(resp.raw.headers.keys()) if resp.raw is not None else [],
               "content_type": resp.headers.get("Content-Type"),
               "tr_cont": resp.headers.get("tr_cont")}
        try:
            body = json.loads(resp.content)
        except Exception:
            body = None
            rec["text"] = resp.content[:300].decode("utf-8", "replace")
        if isinstance(body, dict):
            for k in ("rt_cd", "msg_cd", "msg1", "error_code", "error_description"):
                if k in body:
                    rec[k] = body[k]
            rec["outputs"] = {k: (len(v) if isinstance(v, (list, dict)) else 1)
                              for k, v in body.items() if k.startswith("output")}
            if isinstance(body.get("error"), dict):  # kisgate's own error shape, not KIS's
                rec["kisgate_error"] = str(body["error"].get("code", "?"))
        with open(_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return resp

    requests.adapters.HTTPAdapter.send = _recorded_send
'''
CRYPTO_ALIAS = "import sys\nimport Cryptodome\nsys.modules[__name__] = Cryptodome\n"

# ---- A python-kis user's program: the quotation calls of its README and API (one JSON line each).
PYKIS_PROGRAM = r'''
import json, sys, traceback
from datetime import date
import pykis.kis
from pykis import KisAuth, PyKis
from pykis.responses.exceptions import KisNotFoundError

url, appkey, secret, auth_file = sys.argv[1:5]
pykis.kis.REAL_DOMAIN = url  # python-kis has no base-URL option: its users set this
KisAuth(id="kisgate", appkey=appkey, secretkey=secret, account="12345678-01",
        virtual=False).save(auth_file)
kis = PyKis(auth_file, keep_token=True, use_websocket=False)


def rows(r):
    bars = getattr(r, "bars", None)
    if bars is not None:
        return len(bars), f"{len(bars)} bars" + (
            f", {bars[0].time:%Y-%m-%d %H:%M} .. {bars[-1].time:%Y-%m-%d %H:%M}" if bars else "")
    asks = getattr(r, "asks", None)
    if asks is not None:
        return len(asks), f"{len(asks)} asks, {len(r.bids)} bids"
    price = getattr(r, "price", None)
    if price is not None:
        return 1, f"price {price:f}, volume {getattr(r, 'volume', '?')}"
    name = getattr(r, "name", None)
    return 1, f"{getattr(r, 'symbol', '')} {name or ''} {getattr(r, 'market', '')}".strip()


def run(api, call, expect=None):
    try:
        n, what = rows(call())
        rec = {"api": api, "outcome": "ok" if n else "empty", "note": what}
    except Exception as e:
        ok = expect is not None and isinstance(e, expect)
        note = type(e).__name__
        resp = getattr(e, "response", None)
        if resp is not None:
            try:
                body = resp.json()
            except Exception:
                body = {}
            code = body.get("msg_cd") or body.get("error_code") or ""
            note += (f": HTTP {resp.status_code} {code} on "
                     f"{resp.request.method} {resp.request.path_url.split('?')[0]}")
        elif str(e).strip():
            note += ": " + str(e).strip().splitlines()[0][:160]
        rec = {"api": api, "outcome": "ok" if ok else "fail", "note": note}
        if not ok:
            traceback.print_exc()
    print("RESULT " + json.dumps(rec, ensure_ascii=False), flush=True)


def stock():
    return kis.stock("005930")


run("stock('005930') (search-info)", lambda: stock().info)
run("quote", lambda: stock().quote())
run("orderbook", lambda: stock().orderbook())
run("daily_chart 2026-10-01..2026-11-20", lambda: stock().daily_chart(
    start=date(2026, 10, 1), end=date(2026, 11, 20)))
run("chart('1y', period='month')", lambda: stock().chart("1y", period="month"))
run("chart(period='week') (all history)", lambda: stock().chart(period="week"))
run("chart(period='year')", lambda: stock().chart(period="year"))
run("day_chart() (today's minute bars)", lambda: stock().day_chart())
run("chart('30m', period=1)", lambda: stock().chart("30m", period=1))
run("day_chart(period=5)", lambda: stock().day_chart(period=5))
run("stock('000660').quote()", lambda: kis.stock("000660").quote())
run("stock('999999') (no such code)", lambda: kis.stock("999999").quote(), KisNotFoundError)
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drain(stream, sink):
    threading.Thread(target=lambda: sink.extend(stream), daemon=True).start()


class Sim:
    def __init__(self, kisgate, log):
        keys = []
        for key in (KEY_OFFICIAL, KEY_PYKIS, KEY_GATE):
            keys += ["--key", f"{key}:{SECRET}:real"]
        self.proc, self.base_url = start_sim(
            [kisgate, "sim", "--listen", "127.0.0.1:0", "--clock", CLOCK, *keys])
        self.log = log
        drain(self.proc.stdout, log)

    def stats(self):
        import requests
        return requests.get(f"{self.base_url}/_sim/stats", timeout=10).json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


class Serve:
    """`kisgate serve` with no jobs, its one key on the simulator, on a fixed port (so that it can
    be restarted under the clients)."""

    def __init__(self, kisgate, sim_url, folder):
        self.kisgate, self.folder = kisgate, folder
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(folder, "kisgate.toml")
        with open(self.config, "w") as f:
            f.write(f"""data_dir = "{folder}"
[server]
listen = "127.0.0.1:{self.port}"
[storage]
url = "sqlite://{folder}/kisgate.db"
[[kis.keys]]
name = "sim"
base_url = "{sim_url}"
app_key = "{KEY_GATE}"
app_secret = "{SECRET}"
""")
        self.log = []
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.kisgate, "serve", "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if "API and dashboard on" in line:
                drain(self.proc.stderr, self.log)
                return
        self.proc.kill()
        raise RuntimeError("kisgate serve did not start:\n" + "".join(self.log[-20:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def restart(self):
        self.stop()
        self.start()


# ---- Running a client program and judging it from its calls.

def read_wire(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def call_failure(rec):
    """Why one recorded call failed, or None."""
    if rec["status"] != 200:
        code = rec.get("msg_cd") or rec.get("error_code")
        if not code:
            code = (f"kisgate:{rec['kisgate_error']}(not KIS's envelope)"
                    if "kisgate_error" in rec else "(no KIS envelope)")
        return f"HTTP {rec['status']} {code}"
    if "rt_cd" in rec and rec["rt_cd"] != "0":
        return f"rt_cd {rec['rt_cd']} {rec.get('msg_cd', '')}".strip()
    if rec["path"].startswith("/uapi/") and "rt_cd" not in rec:
        return "no rt_cd in the reply"
    return None


def empty_outputs(rec):
    return [k for k, n in (rec.get("outputs") or {}).items() if n == 0]


def crash_of(text):
    """The last line of a Python traceback in the client's output, or None."""
    if "Traceback (most recent call last)" not in text:
        return None
    tail = text[text.rindex("Traceback (most recent call last)"):].splitlines()
    for line in tail[1:]:
        if line and not line.startswith(" "):
            return line.strip()[:200]
    return "traceback"


def judge(calls, rc, text):
    """(outcome, note) of one client run from its recorded calls, exit status and output."""
    if rc == "timeout":
        return "fail", f"no end within {EXAMPLE_TIMEOUT_S} s"
    crash = crash_of(text)
    if crash:
        return "fail", f"crash: {crash}"
    for rec in calls:
        why = call_failure(rec)
        if why:
            return "fail", f"{why} on {rec['method']} {rec['path']}"
    if rc != 0:
        return "fail", f"exit status {rc}"
    if not calls:
        return "fail", "no HTTP call made"
    for rec in calls:
        empty = empty_outputs(rec)
        if empty:
            return "empty", f"{', '.join(empty)}: 0 rows from {rec['path'].rsplit('/', 1)[-1]}"
    return "ok", ""


def run_program(argv, cwd, env, wire):
    if os.path.exists(wire):
        os.remove(wire)
    env = dict(env, REAL_CLIENTS_WIRE_LOG=wire)
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=EXAMPLE_TIMEOUT_S, errors="replace")
        rc, text = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        rc, text = "timeout", out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    return rc, text, read_wire(wire)


class Results:
    def __init__(self):
        self.rows = []  # dicts: client, api, group, direct, passthrough, note, scope
        self.header_diffs = Counter()  # (what, direct, passthrough) -> calls
        self.egw00201 = Counter()  # side -> EGW00201 replies the client saw

    def add(self, client, api, group, d, p, note=None, in_scope=True, show=False):
        """d and p: (outcome, note) of each side; the row's note says both unless given. Rows of
        the official samples that fail on both sides are grouped in the table unless `show`."""
        self.rows.append(dict(client=client, api=api, group=group, direct=d[0], passthrough=p[0],
                              d_note=d[1], p_note=p[1],
                              note=pair_note(d, p) if note is None else note,
                              in_scope=in_scope, show=show))

    def compare_wire(self, direct_calls, pass_calls):
        for side, calls in (("direct", direct_calls), ("passthrough", pass_calls)):
            self.egw00201[side] += sum(1 for c in calls if c.get("msg_cd") == "EGW00201")
        d_ok = [c for c in direct_calls if c["status"] == 200]
        p_ok = [c for c in pass_calls if c["status"] == 200]
        for d, p in zip(d_ok, p_ok):
            if (d["path"], d["tr_id"]) != (p["path"], p["tr_id"]):
                continue
            d_names = [h for h in d["headers"] if h.lower() not in ("server", "content-length",
                                                                   "date", "connection")]
            p_names = [h for h in p["headers"] if h.lower() not in ("server", "content-length",
                                                                   "date", "connection")]
            if d_names != p_names:
                self.header_diffs[("reply header names", " ".join(d_names),
                                   " ".join(p_names))] += 1
            if d["content_type"] != p["content_type"]:
                self.header_diffs[("Content-Type", d["content_type"], p["content_type"])] += 1
            if d["tr_cont"] != p["tr_cont"]:
                self.header_diffs[(f"tr_cont of {d['path'].rsplit('/', 1)[-1]}",
                                   repr(d["tr_cont"]), repr(p["tr_cont"]))] += 1


def pair_note(d, p):
    (do, dn), (po, pn) = d, p
    if do == po and dn == pn:
        return dn
    if not dn and not pn:
        return ""
    return f"direct: {dn or do}; passthrough: {pn or po}"


# ---- KIS's official samples.

OFFICIAL_YAML = """my_app: "{key}"
my_sec: "{secret}"
paper_app: "{key}"
paper_sec: "{secret}"
my_htsid: "kisgate"
my_acct_stock: "12345678"
my_acct_future: "12345678"
my_paper_stock: "12345678"
my_paper_future: "12345678"
my_prod: "01"
prod: "{url}"
ops: "{ws}"
vps: "{url}"
vops: "{ws}"
my_token: ""
my_agent: "Mozilla/5.0 (X11; Linux x86_64) kisgate-real-clients"
"""


def official_home(root, side, url, key):
    home = os.path.join(root, f"home-official-{side}")
    os.makedirs(os.path.join(home, "KIS", "config"), exist_ok=True)
    ws = url.replace("http://", "ws://")
    with open(os.path.join(home, "KIS", "config", "kis_devlp.yaml"), "w", encoding="utf-8") as f:
        f.write(OFFICIAL_YAML.format(key=key, secret=SECRET, url=url, ws=ws))
    return home


def api_url_of(folder, name):
    src = os.path.join(folder, f"{name}.py")
    if not os.path.exists(src):
        return None
    with open(src, encoding="utf-8") as f:
        m = re.search(r'API_URL\s*=\s*"([^"]+)"', f.read())
    return m.group(1) if m else None


def example_group(url):
    """The kind of KIS API a path is, for grouping the rows."""
    if url is None:
        return "websocket"
    if url.startswith("/oauth2/"):
        return "auth"
    parts = url.strip("/").split("/")
    if parts[0] == "uapi" and len(parts) >= 4:
        return f"{parts[1]}/{parts[3]}"
    return url


def list_examples(checkout, market):
    base = os.path.join(checkout, "examples_llm", market)
    found = []
    if not os.path.isdir(base):
        return found
    for name in sorted(os.listdir(base)):
        folder = os.path.join(base, name)
        chk = os.path.join(folder, f"chk_{name}.py")
        if os.path.isfile(chk):
            found.append((name, folder, chk, api_url_of(folder, name)))
    return found


def run_official(args, root, sim, serve, shim, results):
    checkout = os.path.abspath(args.official)
    sides = OrderedDict(
        direct=official_home(root, "direct", sim.base_url, KEY_OFFICIAL),
        passthrough=official_home(root, "passthrough", serve.base_url, KEY_GATE))
    env_base = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env_base.update(PYTHONPATH=shim, PYTHONIOENCODING="utf-8", LANG="C.UTF-8",
                    PYTHONDONTWRITEBYTECODE="1")  # nothing written into the checkout
    logs = os.path.join(root, "official")
    os.makedirs(logs, exist_ok=True)
    client = "official"
    last_token_call = [0.0]  # KIS (and the simulator) allow one token request a minute per key

    def run_both(label, argv, cwd, homes=sides, issues_token=False):
        if issues_token:  # as a user would: not within the minute of the key's last token request
            time.sleep(max(0.0, last_token_call[0] + 61 - time.time()))
        out = {}
        for side, home in homes.items():
            wire = os.path.join(logs, f"{label}.{side}.wire")
            rc, text, calls = run_program(argv, cwd, dict(env_base, HOME=home), wire)
            with open(os.path.join(logs, f"{label}.{side}.txt"), "w", encoding="utf-8") as f:
                f.write(f"exit {rc}\n{text}")
            out[side] = (rc, text, calls)
            if side == "direct" and any(c["path"] == "/oauth2/tokenP" for c in calls):
                last_token_call[0] = time.time()
        results.compare_wire(out["direct"][2], out["passthrough"][2])
        return out

    def add_example(label, name, url, out, note=None):
        d = judge(out["direct"][2], out["direct"][0], out["direct"][1])
        p = judge(out["passthrough"][2], out["passthrough"][0], out["passthrough"][1])
        group = example_group(url)
        results.add(client, name, f"{label.split('/')[0]} {group}", d, p,
                    None if note is None else note + pair_note(d, p),
                    in_scope=url != OUT_OF_SCOPE, show=note is not None)

    def add_calls(rel, out):
        """One row per call of a script that calls many APIs, the sides' calls paired in order."""
        d_calls, p_calls = out["direct"][2], out["passthrough"][2]
        for i in range(max(len(d_calls), len(p_calls))):
            dc = d_calls[i] if i < len(d_calls) else None
            pc = p_calls[i] if i < len(p_calls) else None
            ref = dc or pc
            d = judge([dc], 0, "") if dc else ("fail", "not called")
            p = judge([pc], 0, "") if pc else ("fail", "not called")
            path = ref["path"].replace("/uapi/domestic-stock/v1/", "")
            results.add(client, f"{rel.split('/')[0]} {os.path.basename(rel)}: {ref['method']} "
                        f"{path} {ref['tr_id']}".strip(),
                        f"{rel.split('/')[0]} {example_group(ref['path'])}", d, p,
                        in_scope=ref["path"] != OUT_OF_SCOPE)
        for side in out:
            crash = crash_of(out[side][1])
            if crash or out[side][0] != 0:
                why = ("fail", crash or f"exit status {out[side][0]}")
                results.add(client, f"{rel} (the {side} process)", rel,
                            why if side == "direct" else ("-", ""),
                            why if side == "passthrough" else ("-", ""), why[1])

    # 1. Every REST example of examples_llm/domestic_stock (and of the other markets with
    # --all-markets), each in its own process as its folder's README runs it.
    markets = ["domestic_stock"]
    for market in sorted(os.listdir(os.path.join(checkout, "examples_llm"))):
        path = os.path.join(checkout, "examples_llm", market)
        if market in ("domestic_stock", "auth") or not list_examples(checkout, market):
            continue
        if args.all_markets:
            markets.append(market)
        else:
            examples = list_examples(checkout, market)
            rest = sum(1 for e in examples if e[3] is not None)
            results.add(client, f"examples_llm/{market}: {rest} REST + {len(examples) - rest} "
                        "WebSocket examples", f"examples_llm {market}", ("not run", ""),
                        ("not run", ""), "other markets: counted only (--all-markets runs them)",
                        in_scope=False)
    print(f"official: the REST examples of examples_llm/{{{','.join(markets)}}}, each in its own "
          "process, direct and through the passthrough", file=sys.stderr, flush=True)
    for market in markets:
        ws = 0
        for name, folder, chk, url in list_examples(checkout, market):
            if url is None:
                ws += 1
                continue
            label = f"examples_llm/{market}/chk_{name}"
            add_example(label, label, url, run_both(f"{market}.{name}", [PYTHON, chk], folder))
        if ws:
            results.add(client, f"examples_llm/{market}: {ws} WebSocket examples", "websocket",
                        ("not run", ""), ("not run", ""), "real-time: out of scope here",
                        in_scope=False)

    # 2. A base URL written with a trailing '/': the samples then call //uapi/... (kis-api.md §3:
    # KIS serves that path).
    price = os.path.join(checkout, "examples_llm", "domestic_stock", "inquire_price")
    if os.path.isfile(os.path.join(price, "chk_inquire_price.py")):
        slash = OrderedDict(
            direct=official_home(root, "direct-slash", sim.base_url + "/", KEY_OFFICIAL),
            passthrough=official_home(root, "passthrough-slash", serve.base_url + "/", KEY_GATE))
        for side in slash:  # the same cached token as the other runs of this side
            src = os.path.join(sides[side], "KIS", "config")
            for f in os.listdir(src):
                if f.startswith("KIS") and f != "kis_devlp.yaml":
                    shutil.copy(os.path.join(src, f), os.path.join(slash[side], "KIS", "config"))
        out = run_both("slash.inquire_price", [PYTHON, "chk_inquire_price.py"], price, slash)
        add_example("examples_llm", "examples_llm/domestic_stock/chk_inquire_price, base URL "
                    "ending in '/' (GET //uapi/...)", "/uapi/domestic-stock/v1/quotations", out,
                    "KIS serves //uapi/... (kis-api.md §3); ")

    # 3. kisgate restarted under the samples, which keep the token they cached for the day; then
    # examples_user's script that calls every domestic-stock API in turn.
    serve.restart()
    folder = os.path.join(checkout, "examples_user", "domestic_stock")
    if os.path.isfile(os.path.join(folder, "domestic_stock_examples.py")):
        print("official: examples_user/domestic_stock/domestic_stock_examples.py (kisgate "
              "restarted before it)", file=sys.stderr, flush=True)
        out = run_both("examples_user.domestic_stock", [PYTHON, "domestic_stock_examples.py"],
                       folder)
        add_calls("examples_user/domestic_stock/domestic_stock_examples.py", out)

    # 4. The token examples last: they request a token each time, which KIS allows once a minute.
    token_examples = list_examples(checkout, "auth")
    if token_examples:
        print("official: the token examples (a minute apart, as KIS requires)", file=sys.stderr,
              flush=True)
    for name, folder, chk, url in token_examples:
        label = f"examples_llm/auth/chk_{name}"
        add_example(label, label, url,
                    run_both(f"auth.{name}", [PYTHON, chk], folder,
                             issues_token=url == "/oauth2/tokenP"))
    folder = os.path.join(checkout, "examples_user", "auth")
    if os.path.isfile(os.path.join(folder, "auth_examples.py")):
        out = run_both("examples_user.auth", [PYTHON, "auth_examples.py"], folder,
                       issues_token=True)
        add_calls("examples_user/auth/auth_examples.py", out)


# ---- python-kis.

def run_python_kis(args, root, sim, serve, shim, results):
    checkout = os.path.abspath(args.python_kis)
    program = os.path.join(root, "python_kis_user.py")
    with open(program, "w", encoding="utf-8") as f:
        f.write(PYKIS_PROGRAM)
    env_base = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env_base.update(PYTHONPATH=f"{shim}:{checkout}", PYTHONIOENCODING="utf-8", LANG="C.UTF-8",
                    PYTHONDONTWRITEBYTECODE="1")
    logs = os.path.join(root, "python-kis")
    os.makedirs(logs, exist_ok=True)
    out = {}
    for side, url, key in (("direct", sim.base_url, KEY_PYKIS),
                           ("passthrough", serve.base_url, KEY_GATE)):
        print(f"python-kis: {side}", file=sys.stderr, flush=True)
        home = os.path.join(root, f"home-python-kis-{side}")
        os.makedirs(home, exist_ok=True)
        wire = os.path.join(logs, f"{side}.wire")
        rc, text, calls = run_program(
            [PYTHON, program, url, key, SECRET, os.path.join(home, "secret.json")], root,
            dict(env_base, HOME=home), wire)
        with open(os.path.join(logs, f"{side}.txt"), "w", encoding="utf-8") as f:
            f.write(f"exit {rc}\n{text}")
        found = OrderedDict()
        for line in text.splitlines():
            if line.startswith("RESULT "):
                rec = json.loads(line[len("RESULT "):])
                found[rec["api"]] = (rec["outcome"], rec["note"])
        out[side] = (rc, text, calls, found)
    results.compare_wire(out["direct"][2], out["passthrough"][2])
    apis = list(OrderedDict.fromkeys(list(out["direct"][3]) + list(out["passthrough"][3])))
    for api in apis:
        d = out["direct"][3].get(api, ("fail", "not reached"))
        p = out["passthrough"][3].get(api, ("fail", "not reached"))
        note = pair_note(d, p) if (d[0], p[0]) != ("ok", "ok") else d[1]
        if api.startswith("stock('999999')"):
            note = ("expected KisNotFoundError as from KIS; python-kis then asks the overseas "
                    "price TRs, not simulated: " + pair_note(d, p))
        results.add("python-kis", api, "python-kis", d, p, note)
    for side in out:
        rc, text = out[side][0], out[side][1]
        if not out[side][3]:
            why = ("fail", judge(out[side][2], rc, text)[1] or f"exit status {rc}, no result")
            results.add("python-kis", f"the program ({side})", "python-kis",
                        why if side == "direct" else ("-", ""),
                        why if side == "passthrough" else ("-", ""), why[1])


# ---- What must be there before anything starts.

NEEDS = {
    "official": ("examples_llm/kis_auth.py", "pandas, yaml, requests, websockets, Crypto.Cipher",
                 "python3-pandas python3-yaml python3-requests python3-websockets "
                 "python3-pycryptodome"),
    "python_kis": ("pykis/kis.py", "requests, websocket, cryptography, colorlog, typing_extensions",
                   "python3-requests python3-websocket python3-cryptography python3-colorlog "
                   "python3-typing-extensions"),
}


def preflight(args, shim):
    """Problems that would make every run of a client fail alike, said once: (message, ...)."""
    problems = []
    for attr, (marker, modules, packages) in NEEDS.items():
        checkout = getattr(args, attr)
        if not checkout:
            continue
        option = "--" + attr.replace("_", "-")
        if not os.path.isfile(os.path.join(checkout, marker)):
            problems.append(f"{option} {checkout}: no {marker} there")
            continue
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(PYTHONPATH=shim, PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([PYTHON, "-c", f"import {modules}"], env=env, capture_output=True,
                           text=True)
        if p.returncode != 0:
            problems.append(f"{option}: {PYTHON} cannot import what the client needs "
                            f"({p.stderr.strip().splitlines()[-1]}); apt-get install {packages}")
    return problems


# ---- The report.

def short(note):
    """The failure's kind without the path: "HTTP 404 SIM00404", "crash: ValueError"."""
    m = re.match(r"(HTTP \d+ \S*|rt_cd \S+ \S*|crash: [^:]+|no end|exit status \S+)", note)
    return m.group(1).strip() if m else note[:40]


def print_table(results, verbose):
    def fmt(rows):
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])

    header = ("client", "API", "direct", "passthrough", "note")
    shown, grouped = [], defaultdict(list)
    for r in results.rows:
        interesting = (r["show"] or r["client"] != "official" or r["direct"] in ("ok", "empty")
                       or r["passthrough"] in ("ok", "empty")
                       or r["direct"] in ("not run", "-") or r["passthrough"] == "-")
        if verbose or interesting:
            shown.append((r["client"], r["api"], r["direct"], r["passthrough"], r["note"]))
        else:
            key = (r["client"], r["group"], f"{r['direct']} ({short(r['d_note'])})",
                   f"{r['passthrough']} ({short(r['p_note'])})")
            grouped[key].append(r["api"])
    for (client, group, d, p), apis in sorted(grouped.items()):
        shown.append((client, f"{len(apis)} x {group}", d, p, f"e.g. {apis[0]}"))
    fmt([header] + shown)


def summarise(results):
    print()
    print("summary (in-scope rows)")
    per = defaultdict(Counter)
    for r in results.rows:
        if not r["in_scope"] or r["direct"] in ("not run", "-") or r["passthrough"] == "-":
            continue
        part = r["client"] + (" " + r["api"].split("/")[0].split(" ")[0]
                              if r["client"] == "official" else "")
        c = per[part]
        c["rows"] += 1
        c["direct ok"] += r["direct"] in ("ok", "empty")
        c["passthrough ok"] += r["passthrough"] in ("ok", "empty")
        c["direct only"] += (r["direct"] in ("ok", "empty")
                             and r["passthrough"] not in ("ok", "empty"))
        c["passthrough only"] += (r["passthrough"] in ("ok", "empty")
                                  and r["direct"] not in ("ok", "empty"))
    for client, c in per.items():
        print(f"  {client}: {c['rows']} rows; direct ok {c['direct ok']}, passthrough ok "
              f"{c['passthrough ok']}; ok direct but not through the passthrough "
              f"{c['direct only']}; the other way {c['passthrough only']}")
    if results.header_diffs:
        print("reply differences on calls that succeeded on both sides:")
        for (what, d, p), n in sorted(results.header_diffs.items()):
            print(f"  {what}: direct {d!r}, passthrough {p!r} ({n} calls)")
    else:
        print("reply header names, Content-Type and tr_cont: the same on every call that "
              "succeeded on both sides")
    print(f"EGW00201 (over KIS's rate) seen by the clients: direct {results.egw00201['direct']}, "
          f"passthrough {results.egw00201['passthrough']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate", help="path of a kisgate binary")
    parser.add_argument("--official", help="checkout of koreainvestment/open-trading-api")
    parser.add_argument("--python-kis", dest="python_kis", help="checkout of Soju06/python-kis")
    parser.add_argument("--all-markets", action="store_true",
                        help="also run the official REST examples of the other markets")
    parser.add_argument("--verbose", action="store_true", help="one row per example and call")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (each run's output and calls)")
    args = parser.parse_args()
    if not args.official and not args.python_kis:
        parser.error("nothing to run: give --official and/or --python-kis")
    if not os.access(args.kisgate, os.X_OK):
        parser.error(f"{args.kisgate} is not an executable")
    kisgate = os.path.abspath(args.kisgate)

    root = tempfile.mkdtemp(prefix="kisgate-real-clients-")
    shim = os.path.join(root, "shim")
    os.makedirs(os.path.join(shim, "Crypto"))
    with open(os.path.join(shim, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    with open(os.path.join(shim, "Crypto", "__init__.py"), "w") as f:
        f.write(CRYPTO_ALIAS)
    serve_dir = os.path.join(root, "serve")
    os.makedirs(serve_dir)

    problems = preflight(args, shim)
    if problems:
        shutil.rmtree(root, ignore_errors=True)
        print("\n".join(problems), file=sys.stderr)
        return 2

    sim_log = []
    sim = serve = None
    results = Results()
    started = time.time()
    try:
        try:
            sim = Sim(kisgate, sim_log)
            serve = Serve(kisgate, sim.base_url, serve_dir)
        except RuntimeError as e:
            print(e, "\n" + "".join(sim_log[-10:]), file=sys.stderr)
            return 2
        print(f"kisgate sim at {sim.base_url} (clock {CLOCK}); kisgate serve at {serve.base_url} "
              f"with its key on the simulator; files in {root}", file=sys.stderr)
        if args.official:
            run_official(args, root, sim, serve, shim, results)
        if args.python_kis:
            run_python_kis(args, root, sim, serve, shim, results)
        stats = sim.stats()
    finally:
        if serve:
            serve.stop()
        if sim:
            sim.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    print_table(results, args.verbose)
    summarise(results)
    for k in stats.get("keys", []):
        who = {KEY_OFFICIAL: "official direct", KEY_PYKIS: "python-kis direct",
               KEY_GATE: "kisgate"}.get(k["app_key"], "?")
        print(f"simulator, key of {who}: {k['calls']} calls, {k['ok']} ok, errors {k['errors']}, "
              f"busiest second {k['max_calls_in_1s']}, tokens issued {k['tokens_issued']}")
    broken = [r for r in results.rows if r["in_scope"] and r["direct"] in ("ok", "empty")
              and r["passthrough"] not in ("ok", "empty", "-")]
    degraded = [r for r in results.rows if r["in_scope"] and r["direct"] == "ok"
                and r["passthrough"] == "empty"]
    print(f"{time.time() - started:.0f} s" + (f"; files kept in {root}" if args.keep else ""))
    if broken or degraded:
        print(f"FAILED: {len(broken) + len(degraded)} work directly but not through the "
              "passthrough:")
        for r in broken + degraded:
            print(f"  {r['client']} {r['api']}: {r['note']}")
        return 1
    print("passed: everything that works directly works through the passthrough")
    return 0


if __name__ == "__main__":
    sys.exit(main())
