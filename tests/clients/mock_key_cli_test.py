#!/usr/bin/python3
"""A paper-trading (mock) key at KIS's mock limit of 1 call/s, as a user runs kisgate with one
(issue 15): collect, serve, quote and demo against `kisgate sim --mock-rate 1`; and configs that
must be refused at start (issue 11). Run by ctest: mock_key_cli_test.py PATH_TO_KISGATE
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

KISGATE = sys.argv.pop(1) if len(sys.argv) > 1 else "build/kisgate"
sys.argv.insert(1, KISGATE)  # kis_spec_client_test takes it from argv when imported
import kis_spec_client_test as spec  # noqa: E402  (the Sim launcher; its second key is a mock key)

CODES = ["005930", "000660", "035420", "005380"]


def mock_config(folder, base_url, jobs, codes=CODES, extra=""):
    path = os.path.join(folder, "kisgate.toml")
    with open(path, "w") as f:
        f.write(f"""data_dir = "{folder}"
{extra}
[[kis.keys]]
name = "paper"
environment = "mock"
base_url = "{base_url}"
app_key = "{spec.MOCK_KEY}"
app_secret = "{spec.APP_SECRET}"
rate = 1
[universe]
codes = {json.dumps(codes)}
{jobs}""")
    return path


def mock_stats(sim):
    with urllib.request.urlopen(sim.base_url + "/_sim/stats", timeout=10) as r:
        keys = json.loads(r.read())["keys"]
    return keys[1]  # the Sim's keys: the real one, then the mock one


PRICE_JOB = """
[[jobs]]
name = "price"
dataset = "price"
"""


class MockKey(unittest.TestCase):
    # A simulator each: KIS counts a key's calls across processes, and kisgate's gate is per
    # process, so two kisgate processes on one mock key within a second would share its 1 call/s.
    def setUp(self):
        self.sim = spec.Sim("--mock-rate", "1")

    def tearDown(self):
        self.sim.stop()

    def run_kisgate(self, *args, timeout=60):
        return subprocess.run([KISGATE, *args], capture_output=True, text=True, timeout=timeout)

    def test_collect_once_4_codes_of_price(self):
        """0 EGW00201, no 1-s window over 1 call, the token call included; the time is printed."""
        before = mock_stats(self.sim)
        with tempfile.TemporaryDirectory() as d:
            config = mock_config(d, self.sim.base_url, PRICE_JOB)
            started = time.monotonic()
            r = self.run_kisgate("collect", "--once", "--config", config)
            took = time.monotonic() - started
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"price\s+4\s+4\s+0\s+0")
            # The planner said at start what the job needs against 0.97 calls/s.
            self.assertIn("budget: 4 codes x 1 job need", r.stderr)
            self.assertIn("of the 0.97/s the keys give; all jobs at once: 4 calls + 1 token call", r.stderr)
            self.assertTrue(os.path.exists(os.path.join(d, "kisgate.db")))  # under data_dir
        after = mock_stats(self.sim)
        self.assertEqual(after["calls"] - before["calls"], 5)
        self.assertEqual(after["errors"].get("EGW00201", 0), 0)
        self.assertLessEqual(after["max_calls_in_1s"], 1)
        print(f"\nmock collect --once: 5 calls (1 token + 4 price) in {took:.2f} s of process time; "
              f"limit 5 calls / 1 per s = 5 s", file=sys.stderr)

    def test_real_only_job_on_a_mock_key_is_refused_at_start(self):
        with tempfile.TemporaryDirectory() as d:
            config = mock_config(d, self.sim.base_url, """
[[jobs]]
name = "after"
dataset = "overtime_price"
""")
            before = mock_stats(self.sim)["calls"]
            r = self.run_kisgate("collect", "--once", "--config", config)
            self.assertNotEqual(r.returncode, 0)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn("jobs[0] 'after': data set overtime_price", lines[0])
            self.assertIn("key 'paper' is a mock key (KIS answers EGW02006)", lines[0])
            self.assertEqual(mock_stats(self.sim)["calls"], before)  # nothing was sent

    def test_quote(self):
        with tempfile.TemporaryDirectory() as d:
            config = mock_config(d, self.sim.base_url, "")
            r = self.run_kisgate("quote", "005930", "--config", config)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("via key 'paper'", r.stdout)
        self.assertEqual(mock_stats(self.sim)["errors"].get("EGW00201", 0), 0)
        self.assertLessEqual(mock_stats(self.sim)["max_calls_in_1s"], 1)

    def test_serve(self):
        with tempfile.TemporaryDirectory() as d:
            config = mock_config(d, self.sim.base_url, """
[[jobs]]
name = "price"
dataset = "price"
every = "3s"
sessions = ["always"]
""", codes=CODES[:2])
            proc = subprocess.Popen([KISGATE, "serve", "--config", config, "--listen", "127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(8)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0, err)
            cycles = [l for l in err.splitlines() if "cycle price" in l]
            self.assertGreaterEqual(len(cycles), 1, err)
            self.assertTrue(all("2 ok, 0 failed, 0 dropped" in l for l in cycles), err)
        self.assertEqual(mock_stats(self.sim)["errors"].get("EGW00201", 0), 0)
        self.assertLessEqual(mock_stats(self.sim)["max_calls_in_1s"], 1)


class DemoOnAMockKey(unittest.TestCase):
    def test_demo_mock_one_cycle(self):
        r = subprocess.run([KISGATE, "demo", "--mock", "--cycles", "1", "--every", "10",
                            "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("mock key, 1 call/s", r.stdout)
        self.assertNotIn("overtime_price", r.stdout)  # real-only: left out
        self.assertIn("0 failed, 0 dropped", r.stdout)
        self.assertIn("busiest second 1 (limit 1), EGW00201 0", r.stdout)

    def test_negative_cycles_are_refused(self):
        for flag, value in (("--cycles", "-1"), ("--every", "0"), ("--codes", "0"), ("--duration", "-5")):
            r = subprocess.run([KISGATE, "demo", flag, value], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, flag)
            self.assertIn(flag, r.stderr, flag)


class RefusedAtStart(unittest.TestCase):
    """Issue 11: configs that used to start, each refused in one line naming the key."""

    def check(self, config_text, expect):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "kisgate.toml")
            with open(path, "w") as f:
                f.write(config_text.replace("DIR", d))
            r = subprocess.run([KISGATE, "collect", "--once", "--config", path],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(expect, lines[0])

    KEY = '[[kis.keys]]\nbase_url = "http://127.0.0.1:9"\napp_key = "k"\napp_secret = "s"\n'
    JOB = '[universe]\ncodes = ["005930"]\n[[jobs]]\ndataset = "price"\n'

    def test_unwritable_data_dir(self):
        self.check('data_dir = "DIR/kisgate.toml/data"\n' + self.KEY + self.JOB, "data_dir: cannot write to")

    def test_sqlite_url_without_a_file(self):
        self.check('data_dir = "DIR"\n[storage]\nurl = "sqlite://"\n' + self.KEY + self.JOB,
                   "storage.url: names no file")

    def test_interval_below_one_second(self):
        self.check('data_dir = "DIR"\n' + self.KEY + self.JOB + 'every = "250ms"\n',
                   "jobs[0].every: must be a whole number of seconds, at least 1 s")

    def test_port_out_of_range(self):
        self.check('data_dir = "DIR"\n' + self.KEY.replace(":9", ":99999") + self.JOB,
                   "kis.keys[0].base_url: port '99999' is not in 1..65535")


if __name__ == "__main__":
    unittest.main(verbosity=2)
