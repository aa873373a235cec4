"""What the whole-system tests share: `kisgate sim` and `kisgate serve` as child processes, the
serve config, and the checks on the SQLite file and on the process (RSS, descriptors).

Standard library plus Debian's python3-requests, like tests/clients/.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

import requests

APP_KEY = "PSsoakTESTkey00000000000000000000001"
APP_SECRET = "S" * 180
# The demo's universe (configs/demo.toml), first codes first.
CODES = ["005930", "000660", "373220", "207940", "005380", "000270", "068270", "035420",
         "035720", "051910", "006400", "105560", "055550", "012330", "028260", "066570"]
# The demo's five jobs: name, data set.
DEMO_JOBS = [("price", "price"), ("orderbook", "orderbook"), ("investors", "investors"),
             ("overtime", "overtime_price"), ("bars", "bars_minute")]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Sim:
    """`kisgate sim` with the test key; `port` 0 picks a free port, a given port is retried while
    the previous simulator's socket is still being released (a restart on the same address)."""

    def __init__(self, kisgate, log_path, port=0, flags=()):
        self.log_path = log_path
        for _ in range(50):
            self.log_file = open(log_path, "a")
            self.proc = subprocess.Popen(
                [kisgate, "sim", "--listen", f"127.0.0.1:{port}", "--key", f"{APP_KEY}:{APP_SECRET}:real",
                 "--clock", "2026-11-24T10:00:00", *flags],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.base_url = None
            for line in self.proc.stdout:
                self.log_file.write(line)
                m = re.search(r"listening on (http\S+)", line)
                if m:
                    self.base_url = m.group(1)
                    break
            if self.base_url is not None:
                break
            self.proc.wait()
            self.log_file.close()
            time.sleep(0.2)
        if self.base_url is None:
            raise RuntimeError(f"kisgate sim did not start on port {port}; see {log_path}")
        self.port = int(self.base_url.rsplit(":", 1)[1])
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log_file.write(line)

    def stats(self):
        return requests.get(f"{self.base_url}/_sim/stats", timeout=10).json()["keys"][0]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.drain.join(timeout=5)
        self.log_file.close()


def write_config(folder, sim_url, codes, jobs, every="5s", extra=""):
    """A serve config: one simulator key, SQLite in `folder`, the given (name, dataset) jobs."""
    path = os.path.join(folder, "kisgate.toml")
    job_text = "".join(f"""
[[jobs]]
name = "{name}"
dataset = "{dataset}"
every = "{every}"
sessions = ["always"]
""" for name, dataset in jobs)
    with open(path, "w") as f:
        f.write(f"""data_dir = "{folder}"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{folder}/kisgate.db"
[[kis.keys]]
name = "sim"
base_url = "{sim_url}"
app_key = "{APP_KEY}"
app_secret = "{APP_SECRET}"
[universe]
codes = {json.dumps(codes)}
{extra}
{job_text}""")
    return path


class Serve:
    """`kisgate serve --config CONFIG`, its log appended to `log_path`."""

    def __init__(self, kisgate, config, log_path, timeout=20):
        self.log_path = log_path
        self.log_file = open(log_path, "a")
        start = self.log_file.tell()  # earlier runs' lines come before
        self.proc = subprocess.Popen([kisgate, "serve", "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=self.log_file)
        self.base_url = None
        deadline = time.time() + timeout
        while time.time() < deadline and self.base_url is None and self.proc.poll() is None:
            with open(log_path) as f:
                f.seek(start)
                m = re.search(r"API and dashboard on (http://[0-9.:]+)/", f.read())
            if m:
                self.base_url = m.group(1)
            else:
                time.sleep(0.05)
        if self.base_url is None:
            self.proc.kill()
            raise RuntimeError("kisgate serve did not start:\n" + tail(log_path))

    def get(self, path, timeout=10):
        return requests.get(f"{self.base_url}{path}", timeout=timeout)

    def terminate(self, timeout):
        """SIGTERM; the exit code, or None when the process was still there after `timeout` s
        (then it is killed)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log_file.close()

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log_file.close()


def tail(path, lines=40):
    try:
        return "".join(open(path, errors="replace").readlines()[-lines:])
    except OSError:
        return ""


def rss_bytes(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def metrics(text):
    """Prometheus text -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def check_database(path):
    """integrity_check, then every table's key (its primary key, or all columns when it has none)
    held once. Returns (problems, rows per table)."""
    problems, rows = [], {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = db.execute("pragma integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        tables = [r[0] for r in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
        for table in tables:
            columns = db.execute(f'pragma table_info("{table}")').fetchall()
            key = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5] > 0] or [c[1] for c in columns]
            cols = ", ".join(f'"{c}"' for c in key)
            duplicates = db.execute(
                f'select count(*) from (select 1 from "{table}" group by {cols} having count(*) > 1)').fetchone()[0]
            if duplicates:
                problems.append(f"{table}: {duplicates} keys ({', '.join(key)}) held more than once")
            rows[table] = db.execute(f'select count(*) from "{table}"').fetchone()[0]
    finally:
        db.close()
    return problems, rows
