"""The launcher of the several-instances tests: a throwaway redis-server and PostgreSQL 15 in a
temporary directory, `kisgate sim`, and N `kisgate serve` processes that share one key, one Redis
and one PostgreSQL. Every process started here is registered and killed (its whole process group)
when the test exits, also on a failure or SIGTERM/SIGINT.

Standard library plus Debian's python3-requests; `kisgate sim` and `kisgate serve` come from
tests/soak/soak_support.py. PostgreSQL is read through Debian's `psql` (no Python driver needed).
"""
import atexit
import calendar
import collections
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "soak"))
import soak_support as s  # noqa: E402,F401  (re-exported: Sim, Serve, log, metrics, tail)

PG_BIN = "/usr/lib/postgresql/15/bin"
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"
# The data sets whose market_time is the cycle's scheduled start (one row per code and cycle);
# the others (investors, bars_minute, ...) are keyed by the market's own dates and minutes.
KST_OFFSET_S = 9 * 3600
CYCLE_KEYED = {"price", "orderbook", "overtime_price", "overtime_orderbook"}

_cleanups = []  # (name, fn), run last-registered first


def on_exit(name, fn):
    _cleanups.append((name, fn))


def cleanup():
    while _cleanups:
        name, fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:  # noqa: BLE001  (cleanup goes on with the next process)
            print(f"cleanup of {name}: {e}", file=sys.stderr, flush=True)


def _on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def kill_group(proc):
    """SIGKILL to the process group `proc` leads (started with start_new_session=True)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def free_port():
    """A TCP port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout, step=0.2):
    """Polls `predicate` until it returns something true; that value, or None after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def as_postgres(args):
    """`args` run as the postgres user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


class Redis:
    """redis-server on a free port, its data directory under `folder`. stop() is a clean SIGTERM
    (the data is saved and read back by start(), like a restarted server); start() uses the
    same port again."""

    def __init__(self, folder):
        self.folder = os.path.join(folder, "redis")
        os.makedirs(self.folder, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self._conn = None  # (socket, its reader) of command(), opened on first use
        on_exit("redis-server", self.kill)
        self.start()

    def start(self, timeout=15):
        log_file = open(os.path.join(self.folder, "redis.log"), "a")
        for _ in range(50):  # the old socket may still be in TIME_WAIT on a restart
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder,
                 "--save", "3600 1", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            if wait_until(lambda: self.ping() or self.proc.poll() is not None, timeout) and self.ping():
                return
            kill_group(self.proc)
            time.sleep(0.2)
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n"
                           + s.tail(os.path.join(self.folder, "redis.log")))

    def ping(self):
        r = subprocess.run([REDIS_CLI, "-p", str(self.port), "ping"], capture_output=True, text=True,
                           timeout=5, check=False)
        return r.stdout.strip() == "PONG"

    def cli(self, *args):
        return subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=5, check=True).stdout

    # One round trip per probe (a script, not SCAN + TIME + a ZRANGE per key from three redis-cli
    # processes): a lease lives for one call at the simulator (about 60 ms), so a slow probe on a
    # loaded machine misses most of them.
    LIVE_LEASES_SCRIPT = (
        "local t = redis.call('TIME') "
        "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
        "local keys = redis.call('KEYS', ARGV[1]) "
        "if #keys == 0 then return false end "
        "local out = {} "
        "for _, k in ipairs(keys) do "
        "  for _, member in ipairs(redis.call('ZRANGE', k, string.format('%d', now), '+inf', 'BYSCORE')) do "
        "    out[#out + 1] = member "
        "  end "
        "end "
        "return out")

    def command(self, *args):
        """One command over a connection kept open, its reply decoded (None for a nil). Written by
        hand (RESP, a few lines): Debian's Python has no Redis client, and starting redis-cli takes
        tens of milliseconds on a loaded machine, longer than a lease lives. A connection the
        server closed (a restart) is opened again once."""
        payload = b"".join([f"*{len(args)}\r\n".encode()] +
                           [b"$%d\r\n%s\r\n" % (len(a), a) for a in (str(x).encode() for x in args)])
        for attempt in range(2):
            try:
                if self._conn is None:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                    self._conn = (sock, sock.makefile("rb"))
                self._conn[0].sendall(payload)
                return self._reply(self._conn[1])
            except (OSError, EOFError):
                self._close_conn()
                if attempt == 1:
                    raise

    @staticmethod
    def _reply(reader):
        line = reader.readline()
        if not line:
            raise EOFError("redis-server closed the connection")
        kind, rest = line[:1], line[1:].rstrip(b"\r\n")
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else reader.read(n + 2)[:n].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [Redis._reply(reader) for _ in range(n)]
        raise RuntimeError(f"redis: unexpected reply {line!r}")

    def _close_conn(self):
        if self._conn is not None:
            self._conn[1].close()
            self._conn[0].close()
            self._conn = None

    def live_leases(self):
        """{instance: in-flight leases not yet expired} over every key's in-flight set, as
        src/coord/redis_key_share.hpp lays them out ("kisgate:{<key_id>}:inflight", a ZSET of
        "<instance>:<call>" -> expiry in µs of Redis time); None when no such set exists."""
        try:
            reply = self.command("EVAL", self.LIVE_LEASES_SCRIPT, "0", "kisgate:*:inflight")
        except (OSError, EOFError):
            return None  # the server is down (a phase of the test stops it)
        if not reply:
            return None
        return collections.Counter(member.split(":", 1)[0] for member in reply)

    def stop(self, timeout=15):
        self._close_conn()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)

    def kill(self):
        if self.proc is not None:
            kill_group(self.proc)


class Postgres:
    """PostgreSQL 15 in `folder`/pg, owned by the postgres user: initdb (trust authentication),
    then pg_ctl on a free port, listening on 127.0.0.1 and on a unix socket in the same folder.
    Database `kisgate` is created."""

    def __init__(self, folder, database="kisgate"):
        for tool in ("initdb", "pg_ctl", "psql"):
            if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
                raise RuntimeError(f"{PG_BIN}/{tool} is missing: scripts/bootstrap.sh installs postgresql")
        self.folder = os.path.join(folder, "pg")
        self.data = os.path.join(self.folder, "data")
        self.log_path = os.path.join(self.folder, "postgres.log")
        self.port = free_port()
        self.database = database
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        os.makedirs(self.folder)
        # The postgres user must reach the folder: every parent up to it gets o+x.
        if os.geteuid() == 0:
            os.chmod(folder, 0o711)
            shutil.chown(self.folder, "postgres", "postgres")
        self._run([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--no-sync", "--no-instructions"])
        on_exit("postgres", self.kill)
        self.start()
        self.psql("postgres", f'CREATE DATABASE "{database}"')

    def _run(self, args, timeout=60):
        r = subprocess.run(as_postgres(args), capture_output=True, text=True, timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}\n"
                               + s.tail(self.log_path))
        return r.stdout

    def _pg_ctl(self, *args):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        return self._run([f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", self.log_path, "-w", "-t", "60",
                          "-o", options, *args])

    def start(self):
        self._pg_ctl("start")

    def stop(self):
        self._pg_ctl("stop", "-m", "fast")

    def restart(self):
        """pg_ctl restart -m fast: open sessions are cut, the server is back when this returns."""
        self._pg_ctl("restart", "-m", "fast")

    def kill(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "stop", "-m", "immediate"]),
                           capture_output=True, timeout=30, check=False)

    def psql(self, database, sql):
        """Tab-separated rows of `sql`, as lists of strings."""
        out = subprocess.run(
            [f"{PG_BIN}/psql", "-X", "-q", "-h", self.folder, "-p", str(self.port), "-U", "postgres",
             "-d", database, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=30, check=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]


def write_serve_config(folder, sim_url, codes, jobs, every_s, storage_url, coordination=None,
                       max_in_flight=5):
    """A serve config in `folder` (its own data directory, so its own token file): the simulator's
    key, the given (name, dataset) jobs every `every_s` seconds in every session, storage at
    `storage_url`, and [coordination] when `coordination` is {"url": ..., "instance": ...}."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "kisgate.toml")
    jobs_text = "".join(f"""
[[jobs]]
name = "{name}"
dataset = "{dataset}"
every = "{every_s}s"
sessions = ["always"]
""" for name, dataset in jobs)
    coordination_text = ""
    if coordination:
        coordination_text = f"""
[coordination]
url = "{coordination['url']}"
instance = "{coordination['instance']}"
"""
    with open(path, "w") as f:
        f.write(f"""data_dir = "{folder}"
[server]
listen = "127.0.0.1:0"
[storage]
url = "{storage_url}"
[[kis.keys]]
name = "sim"
base_url = "{sim_url}"
app_key = "{s.APP_KEY}"
app_secret = "{s.APP_SECRET}"
max_in_flight = {max_in_flight}
[universe]
codes = {json.dumps(codes)}
{coordination_text}{jobs_text}""")
    return path


class Instance:
    """One `kisgate serve` (s.Serve) with its name, config and log; killed on exit."""

    def __init__(self, kisgate, name, config, log_path):
        self.name = name
        self.config = config
        self.log_path = log_path
        self.kisgate = kisgate
        self.serve = s.Serve(kisgate, config, log_path, timeout=30)
        self.base_url = self.serve.base_url
        on_exit(f"serve {name}", self._kill_if_running)

    def _kill_if_running(self):
        if self.serve.proc.poll() is None:
            self.serve.kill()

    def alive(self):
        return self.serve.proc.poll() is None

    def get(self, path, timeout=10):
        return self.serve.get(path, timeout=timeout)

    def jobs(self):
        return self.get("/v1/jobs").json()["jobs"]

    def readyz(self):
        return self.get("/readyz").json()


def pass_token(base_url):
    """A passthrough token from /oauth2/tokenP, as an existing KIS client gets one."""
    r = requests.post(f"{base_url}/oauth2/tokenP", timeout=10,
                      json={"grant_type": "client_credentials", "appkey": s.APP_KEY, "appsecret": s.APP_SECRET})
    r.raise_for_status()
    return r.json()["access_token"]


def passthrough_price(session, base_url, token, code, timeout=15):
    """One inquire-price through /uapi/... with KIS's headers; its outcome: "ok", "kis:<msg_cd>",
    "http:<status>" or "unanswered:<exception>"."""
    headers = {"authorization": f"Bearer {token}", "appkey": s.APP_KEY, "appsecret": s.APP_SECRET,
               "tr_id": "FHKST01010100", "custtype": "P"}
    url = (f"{base_url}/uapi/domestic-stock/v1/quotations/inquire-price"
           f"?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD={code}")
    try:
        r = session.get(url, headers=headers, timeout=timeout)
    except requests.RequestException as e:
        return f"unanswered:{type(e).__name__}"
    try:
        body = r.json()
    except ValueError:
        return f"http:{r.status_code}"
    if r.status_code == 200 and body.get("rt_cd") == "0":
        return "ok"
    code_ = body.get("msg_cd") or (body.get("error") or {}).get("code") if isinstance(body, dict) else None
    return f"kis:{code_}" if code_ else f"http:{r.status_code}"


def sqlite_keys(path):
    """{(dataset, code, market_time)} of every data table of a SQLite store."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "and name != 'schema_migrations'")]
        keys = set()
        for table in tables:
            columns = {c[1] for c in db.execute(f'pragma table_info("{table}")')}
            if {"code", "market_time"} <= columns:
                keys |= {(table, code, t) for code, t in db.execute(f'select code, market_time from "{table}"')}
        return keys
    finally:
        db.close()


def postgres_tables(pg):
    return [r[0] for r in pg.psql(pg.database,
                                  "select c.table_name from information_schema.columns c "
                                  "where c.table_schema = current_schema() and c.column_name = 'market_time' "
                                  "and exists (select 1 from information_schema.columns d where "
                                  "d.table_schema = c.table_schema and d.table_name = c.table_name "
                                  "and d.column_name = 'code')")]


def postgres_keys(pg):
    """{(dataset, code, market_time)} of every data table of the PostgreSQL store, and the keys
    held more than once (none when the primary key holds)."""
    keys, duplicates = set(), []
    for table in postgres_tables(pg):
        rows = pg.psql(pg.database, f'select code, market_time::text, count(*) from "{table}" group by 1, 2')
        for code, t, n in rows:
            keys.add((table, code, t))
            if int(n) > 1:
                duplicates.append((table, code, t, int(n)))
    return keys, duplicates


def normalised(keys, every_s):
    """Keys comparable between two runs at different wall times: a cycle-keyed data set's
    market_time (the cycle's scheduled start, yyyymmddHHMMSS KST) becomes the cycle's index from
    the run's first cycle of that data set; the market's own dates and minutes stay."""
    firsts = {}
    for dataset, _, t in keys:
        if dataset in CYCLE_KEYED:
            firsts[dataset] = min(firsts.get(dataset, t), t)
    out = set()
    for dataset, code, t in keys:
        if dataset in CYCLE_KEYED:
            out.add((dataset, code, f"cycle+{cycle_index(firsts[dataset], t, every_s)}"))
        else:
            out.add((dataset, code, t))
    return out


def compact_seconds(t):
    """A KST time, yyyymmddHHMMSS or ISO 8601 with +09:00 (cycle times are KST) -> epoch seconds."""
    digits = "".join(ch for ch in t if ch.isdigit())[:14]
    return calendar.timegm(time.strptime(digits, "%Y%m%d%H%M%S")) - KST_OFFSET_S


def cycle_index(first, t, every_s):
    return round((compact_seconds(t) - compact_seconds(first)) / every_s)
