#!/usr/bin/python3
"""The kisgate command line as a user runs it: `kisgate quote` against `kisgate sim`.
Run by ctest: cli_test.py PATH_TO_KISGATE
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

KISGATE = sys.argv.pop(1) if len(sys.argv) > 1 else "build/kisgate"
sys.argv.insert(1, KISGATE)  # kis_spec_client_test takes it from argv when imported
import kis_spec_client_test as spec  # noqa: E402  (the Sim launcher)


class QuoteCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = spec.Sim()
        cls.dir = tempfile.TemporaryDirectory()
        cls.config = os.path.join(cls.dir.name, "kisgate.toml")
        with open(cls.config, "w") as f:
            f.write(f"""data_dir = "{cls.dir.name}"
[[kis.keys]]
name = "test"
base_url = "{cls.sim.base_url}"
app_key = "{spec.APP_KEY}"
app_secret = "${{TEST_SECRET}}"
""")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        cls.dir.cleanup()

    def quote(self, *args):
        env = dict(os.environ, TEST_SECRET=spec.APP_SECRET)
        return subprocess.run([KISGATE, "quote", *args], capture_output=True, text=True, env=env,
                              timeout=60)

    def test_price_table_then_json_reusing_the_persisted_token(self):
        r = self.quote("005930", "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("005930", r.stdout)
        self.assertIn("volume", r.stdout)
        r = self.quote("005930", "--config", self.config, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["rt_cd"], "0")
        # The second process reused the token file: one issuance in total.
        tokens = [f for f in os.listdir(os.path.join(self.dir.name, "tokens"))]
        self.assertEqual(len(tokens), 1)
        self.assertEqual(os.stat(os.path.join(self.dir.name, "tokens", tokens[0])).st_mode & 0o777, 0o600)

    def test_other_data_sets(self):
        for data, expect in (("orderbook", "total ask"), ("investors", "foreigners"),
                             ("bars-daily", "close"), ("bars-minute", "0900")):
            r = self.quote("000660", "--config", self.config, "--data", data)
            self.assertEqual(r.returncode, 0, data + ": " + r.stderr)
            self.assertIn(expect, r.stdout, data)

    def test_bad_code_is_refused_before_any_call(self):
        r = self.quote("5930", "--config", self.config)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a stock code", r.stderr)

    def test_without_config_explains_how_to_make_one(self):
        r = self.quote("005930")
        self.assertEqual(r.returncode, 2)
        self.assertIn("configs/example.toml", r.stderr)

    def test_config_errors_name_the_key(self):
        bad = os.path.join(self.dir.name, "bad.toml")
        with open(bad, "w") as f:
            f.write('[[kis.keys]]\napp_key = "k"\napp_secrett = "s"\n')
        r = self.quote("005930", "--config", bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn("kis.keys[0].app_secrett", r.stderr)


def write_config(folder, base_url, codes, jobs):
    """A kisgate config for one simulator key, a SQLite file in `folder`, and the given jobs."""
    path = os.path.join(folder, "kisgate.toml")
    with open(path, "w") as f:
        f.write(f"""data_dir = "{folder}"
[storage]
url = "sqlite://{folder}/kisgate.db"
[[kis.keys]]
base_url = "{base_url}"
app_key = "{spec.APP_KEY}"
app_secret = "{spec.APP_SECRET}"
[universe]
codes = {json.dumps(codes)}
{jobs}""")
    return path


class CollectCommand(unittest.TestCase):
    """kisgate collect --once with a config, against a running simulator, into SQLite."""

    def test_collect_once_stores_rows_and_reports(self):
        sim = spec.Sim()
        try:
            with tempfile.TemporaryDirectory() as d:
                config = write_config(d, sim.base_url, ["005930", "000660", "035420"], """
[[jobs]]
name = "price"
dataset = "price"
[[jobs]]
name = "investors"
dataset = "investors"
""")
                r = subprocess.run([KISGATE, "collect", "--once", "--config", config],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertRegex(r.stdout, r"price\s+3\s+3\s+0\s+0")
                self.assertIn("store: 93 rows committed", r.stdout)  # 3 prices + 3 x 30 days
                bad = os.path.join(d, "bad.toml")
                with open(bad, "w") as f:
                    f.write(open(config).read().replace('"035420"', '"35420"'))
                r = subprocess.run([KISGATE, "collect", "--once", "--config", bad],
                                   capture_output=True, text=True, timeout=60)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("universe.codes: entry 3", r.stderr)
        finally:
            sim.stop()


class KilledCollector(unittest.TestCase):
    """kisgate collect killed with SIGKILL mid-cycle, then run again: the file is sound and holds
    each value once."""

    def test_sigkill_mid_cycle_then_restart(self):
        import sqlite3
        sim = spec.Sim()
        try:
            with tempfile.TemporaryDirectory() as d:
                codes = [c for c in spec_codes(60)]
                config = write_config(d, sim.base_url, codes, """
[[jobs]]
name = "investors"
dataset = "investors"
""")
                proc = subprocess.Popen([KISGATE, "collect", "--once", "--config", config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.8)  # about half of the 60 calls at 18/s
                proc.kill()
                proc.wait(timeout=10)
                db = sqlite3.connect(os.path.join(d, "kisgate.db"))
                partial = db.execute("select count(*) from investors").fetchone()[0]
                self.assertLess(partial, 60 * 30)
                r = subprocess.run([KISGATE, "collect", "--once", "--config", config],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(db.execute("pragma integrity_check").fetchone()[0], "ok")
                self.assertEqual(db.execute("select count(*) from investors").fetchone()[0], 60 * 30)
        finally:
            sim.stop()


def spec_codes(n):
    """The simulator's first generated codes (100000, 100030, ...)."""
    return [f"{100000 + 30 * i:06d}" for i in range(n)]


class ServeCommand(unittest.TestCase):
    """kisgate serve runs its jobs on schedule and stops cleanly on SIGINT."""

    def test_serve_collects_on_schedule_and_stops_cleanly(self):
        sim = spec.Sim()
        try:
            with tempfile.TemporaryDirectory() as d:
                config = write_config(d, sim.base_url, ["005930", "000660"], """
[[jobs]]
name = "price"
dataset = "price"
every = "1s"
sessions = ["always"]
""")
                proc = subprocess.Popen([KISGATE, "serve", "--config", config, "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(4.5)
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=20)
                self.assertEqual(proc.returncode, 0, err)
                cycles = [l for l in err.splitlines() if "cycle price" in l]
                self.assertGreaterEqual(len(cycles), 3, err)
                self.assertTrue(all("2 ok, 0 failed, 0 dropped" in l for l in cycles), err)
                self.assertIn("serve: stopped", err)
                import sqlite3
                rows = sqlite3.connect(os.path.join(d, "kisgate.db")).execute(
                    "select count(*) from price").fetchone()[0]
                self.assertEqual(rows, 2 * len(cycles))  # one row per code per cycle, no duplicates
        finally:
            sim.stop()


class DemoCommand(unittest.TestCase):
    def test_one_cycle_through_the_gate_without_failures(self):
        r = subprocess.run([KISGATE, "demo", "--cycles", "1", "--codes", "10", "--every", "10",
                            "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("50 calls, 50 ok, 0 failed, 0 dropped", r.stdout)
        self.assertIn("EGW00201 0", r.stdout)
        self.assertIn("integrity ok", r.stdout)
        self.assertIn("price 10,", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
