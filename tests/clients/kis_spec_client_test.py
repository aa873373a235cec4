#!/usr/bin/python3
"""A KIS client written only from the KIS documentation, in the style of KIS's official Python
samples (requests, the same headers, `params=` for the query, namedtuple-style field access),
pointed at `kisgate sim` by changing nothing but its base URL.

It proves that a program written for KIS gets the shapes and errors it would get from KIS.
Run by ctest: kis_spec_client_test.py PATH_TO_KISGATE
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections import namedtuple

import requests

from sim_process import start_sim

KISGATE = sys.argv.pop(1) if len(sys.argv) > 1 else "build/kisgate"
APP_KEY = "PSclientTESTkey000000000000000000001"
APP_SECRET = "S" * 180
MOCK_KEY = "PSclientTESTmock00000000000000000002"


class Sim:
    """Starts `kisgate sim` on a free port and reads the address it prints."""

    def __init__(self, *flags):
        self.proc, self.base_url = start_sim(
            [KISGATE, "sim", "--listen", "127.0.0.1:0", "--latency-ms", "1",
             "--key", f"{APP_KEY}:{APP_SECRET}:real", "--key", f"{MOCK_KEY}:{APP_SECRET}:mock",
             "--clock", "2026-11-24T10:00:00", *flags])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


class KisClient:
    """Follows the KIS docs: POST /oauth2/tokenP, then GETs with appkey/appsecret/tr_id headers."""

    def __init__(self, base_url, app_key=APP_KEY, app_secret=APP_SECRET):
        self.base_url = base_url
        self.headers = {"Content-Type": "application/json", "Accept": "text/plain",
                        "charset": "UTF-8", "User-Agent": "kis-spec-client"}
        self.app_key, self.app_secret = app_key, app_secret

    def auth(self):
        body = {"grant_type": "client_credentials", "appkey": self.app_key,
                "appsecret": self.app_secret}
        res = requests.post(f"{self.base_url}/oauth2/tokenP", data=json.dumps(body),
                            headers=self.headers, timeout=10)
        if res.status_code == 200:
            self.headers["authorization"] = f"Bearer {res.json()['access_token']}"
            self.headers["appkey"] = self.app_key
            self.headers["appsecret"] = self.app_secret
        return res

    def get(self, path, tr_id, params, tr_cont=""):
        headers = dict(self.headers, tr_id=tr_id, custtype="P", tr_cont=tr_cont)
        return requests.get(f"{self.base_url}{path}", headers=headers, params=params, timeout=10)


QUOTES = "/uapi/domestic-stock/v1/quotations"


class SpecClientAgainstSim(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim()
        cls.client = KisClient(cls.sim.base_url)
        res = cls.client.auth()
        assert res.status_code == 200, res.text

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_token_reply_has_documented_fields(self):
        # A second request within a minute: 403 with the token endpoint's own error shape.
        res = KisClient(self.sim.base_url).auth()
        self.assertEqual(res.status_code, 403)
        self.assertEqual(res.json()["error_code"], "EGW00133")
        self.assertIn("error_description", res.json())

    def test_current_price(self):
        res = self.client.get(f"{QUOTES}/inquire-price", "FHKST01010100",
                              {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(res.status_code, 200)
        body = res.json()
        self.assertEqual((body["rt_cd"], body["msg_cd"]), ("0", "MCA00000"))
        out = body["output"]
        for field in ("stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "stck_oprc",
                      "stck_hgpr", "stck_lwpr", "stck_mxpr", "stck_llam", "acml_vol",
                      "acml_tr_pbmn", "per", "pbr", "hts_avls", "aspr_unit"):
            self.assertIsInstance(out[field], str, field)
        self.assertGreater(int(out["stck_prpr"]), 0)
        self.assertLessEqual(int(out["stck_lwpr"]), int(out["stck_prpr"]))
        self.assertLessEqual(int(out["stck_prpr"]), int(out["stck_hgpr"]))
        # The samples read response headers by their lower-case names.
        self.assertEqual(res.headers["tr_id"], "FHKST01010100")

    def test_order_book_straddles_price(self):
        res = self.client.get(f"{QUOTES}/inquire-asking-price-exp-ccn", "FHKST01010200",
                              {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "000660"})
        book = res.json()["output1"]
        self.assertLess(int(book["bidp1"]), int(book["askp1"]))
        for i in range(1, 10):
            self.assertLess(int(book[f"askp{i}"]), int(book[f"askp{i + 1}"]))
            self.assertGreater(int(book[f"bidp{i}"]), int(book[f"bidp{i + 1}"]))

    def test_minute_bars_page_back_without_gaps(self):
        seen, cursor = [], "100000"
        while True:
            res = self.client.get(f"{QUOTES}/inquire-time-itemchartprice", "FHKST03010200",
                                  {"FID_ETC_CLS_CODE": "", "FID_COND_MRKT_DIV_CODE": "J",
                                   "FID_INPUT_ISCD": "005930", "FID_INPUT_HOUR_1": cursor,
                                   "FID_PW_DATA_INCU_YN": "N"})
            self.assertEqual(res.status_code, 200, res.text)
            bars = res.json()["output2"]
            seen += [b["stck_cntg_hour"] for b in bars]
            if len(bars) < 30:
                break
            oldest = bars[-1]["stck_cntg_hour"]
            t = int(oldest[:2]) * 60 + int(oldest[2:4]) - 1
            cursor = f"{t // 60:02d}{t % 60:02d}00"
        self.assertEqual(len(seen), len(set(seen)), "duplicate bars")
        self.assertEqual(seen, sorted(seen, reverse=True))
        self.assertEqual(seen[-1], "090000")

    def test_bad_parameters_get_kis_errors(self):
        res = self.client.get(f"{QUOTES}/inquire-price", "FHKST01010100",
                              {"FID_COND_MRKT_DIV_CODE": "Q", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(res.status_code, 500)
        self.assertEqual(res.json()["rt_cd"], "1")
        self.assertTrue(res.json()["msg_cd"].startswith("OPSQ"))

    def test_mock_key_cannot_use_real_only_tr(self):
        client = KisClient(self.sim.base_url, MOCK_KEY, APP_SECRET)
        self.assertEqual(client.auth().status_code, 200)
        time.sleep(1.1)  # a mock key has 1 call/s
        res = client.get(f"{QUOTES}/inquire-overtime-price", "FHPST02300000",
                         {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(res.status_code, 500)
        self.assertEqual(res.json()["msg_cd"], "EGW02006")

    def test_zz_burst_is_rate_limited(self):
        time.sleep(1.1)
        codes = [self.client.get(f"{QUOTES}/inquire-price", "FHKST01010100",
                                 {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
                 for _ in range(25)]
        limited = [r for r in codes if r.status_code == 500 and r.json()["msg_cd"] == "EGW00201"]
        # requests opens its calls one after another; 25 of them fit in well under a second here.
        self.assertGreaterEqual(len(limited), 1)
        self.assertEqual(limited[0].json()["msg1"], "초당 거래건수를 초과하였습니다.")


class Kisgate:
    """`kisgate serve` with no jobs (the API and the passthrough only) for the simulator's key, on
    a free port; its log is kept for the secrets check."""

    def __init__(self, sim_url):
        self.dir = tempfile.TemporaryDirectory()
        config = os.path.join(self.dir.name, "kisgate.toml")
        with open(config, "w") as f:
            f.write(f"""data_dir = "{self.dir.name}"
[server]
listen = "127.0.0.1:0"
[storage]
url = "sqlite://{self.dir.name}/kisgate.db"
[[kis.keys]]
name = "sim"
base_url = "{sim_url}"
app_key = "{APP_KEY}"
app_secret = "{APP_SECRET}"
""")
        self.proc = subprocess.Popen([KISGATE, "serve", "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.log = []
        self.base_url = None
        deadline = time.time() + 20
        while time.time() < deadline and self.base_url is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"API and dashboard on (http://[0-9.:]+)/", line)
            if m:
                self.base_url = m.group(1)
        if self.base_url is None:
            self.proc.kill()
            raise RuntimeError("kisgate serve did not start:\n" + "".join(self.log))
        self.drain = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self.drain.start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.drain.join(timeout=5)
        self.dir.cleanup()


class SpecClientThroughKisgate(SpecClientAgainstSim):
    """The same client, unchanged but for its base URL, through kisgate's passthrough: the same
    replies, inside the gate."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim()
        cls.gate = Kisgate(cls.sim.base_url)
        cls.client = KisClient(cls.gate.base_url)
        res = cls.client.auth()
        assert res.status_code == 200, res.text

    @classmethod
    def tearDownClass(cls):
        cls.gate.stop()
        cls.sim.stop()

    def test_token_reply_has_documented_fields(self):
        # kisgate issues its own passthrough token: a second request is no KIS issuance, so no
        # EGW00133, and the reply has the documented fields.
        res = KisClient(self.gate.base_url).auth()
        self.assertEqual(res.status_code, 200, res.text)
        for field in ("access_token", "access_token_token_expired", "token_type", "expires_in"):
            self.assertIn(field, res.json())
        bad = KisClient(self.gate.base_url, APP_KEY, "wrong").auth()
        self.assertEqual((bad.status_code, bad.json()["error_code"]), (403, "EGW00105"))

    def test_mock_key_cannot_use_real_only_tr(self):
        # The mock key is not one of kisgate's keys: refused before anything reaches KIS.
        client = KisClient(self.gate.base_url, MOCK_KEY, APP_SECRET)
        self.assertEqual(client.auth().status_code, 403)
        res = client.get(f"{QUOTES}/inquire-price", "FHKST01010100",
                         {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(res.status_code, 401)
        self.assertEqual(res.json()["rt_cd"], "1")

    def test_reply_headers_as_kis_writes_them(self):
        # KIS's official sample (kis_auth.py, APIResp._setHeader) turns every all-lower-case
        # response header name into a namedtuple field: "content-type" crashes it. KIS writes
        # Content-Type capitalised and its own tr_id, tr_cont, gt_uid in lower case.
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
        replies = [self.client.get(f"{QUOTES}/inquire-price", "FHKST01010100", params),
                   requests.get(f"{self.gate.base_url}{QUOTES}/inquire-price", params=params,
                                headers={"tr_id": "FHKST01010100"}, timeout=10),
                   KisClient(self.gate.base_url).auth()]
        for res in replies:
            names = list(res.headers.keys())
            self.assertIn("Content-Type", names, res.status_code)
            self.assertNotIn("content-type", names)
            namedtuple("header", [n for n in names if n.islower()])
        names = list(replies[0].headers.keys())
        self.assertIn("tr_id", names)
        self.assertIn("tr_cont", names)
        direct = KisClient(self.sim.base_url)
        direct.headers = dict(self.client.headers, authorization="")
        # gt_uid comes from KIS (here the simulator) and is handed on when KIS sends it.
        if "gt_uid" in direct.get(f"{QUOTES}/inquire-price", "FHKST01010100", params).headers:
            self.assertIn("gt_uid", names)

    def test_encoded_climbs_and_account_trs_are_refused(self):
        for tail in ("%2e%2e/%2e%2e/trading/inquire-balance", "%2E%2E/trading/inquire-balance",
                     ".%2e/trading/inquire-balance", "%252e%252e/trading/inquire-balance"):
            res = self.client.get(f"{QUOTES}/{tail}", "TTTC8434R", {"CANO": "12345678"})
            self.assertEqual(res.status_code, 403, tail)
            self.assertEqual(res.json()["rt_cd"], "1")
        res = self.client.get(f"{QUOTES}/inquire-price", "TTTC8434R",
                              {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        self.assertEqual(res.status_code, 403)
        self.assertIn("TTTC8434R", res.json()["msg1"])

    def test_orders_are_refused(self):
        res = requests.post(f"{self.gate.base_url}/uapi/domestic-stock/v1/trading/order-cash",
                            headers=dict(self.client.headers, tr_id="TTTC0802U"), data="{}", timeout=10)
        self.assertEqual(res.status_code, 403)
        self.assertEqual(res.json()["rt_cd"], "1")
        self.assertIn("allow_trading", res.json()["msg1"])

    def test_zz_burst_is_rate_limited(self):
        # The burst that KIS answers with EGW00201 is paced by the gate instead: every call succeeds.
        time.sleep(1.1)
        started = time.time()
        replies = [self.client.get(f"{QUOTES}/inquire-price", "FHKST01010100",
                                   {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": f"{100000 + 30 * i:06d}"})
                   for i in range(25)]
        self.assertEqual([r.status_code for r in replies], [200] * 25)
        self.assertTrue(all(r.json()["rt_cd"] == "0" for r in replies))
        self.assertLess(time.time() - started, 10)
        stats = requests.get(f"{self.sim.base_url}/_sim/stats", timeout=10).json()["keys"][0]
        self.assertEqual(stats["errors"].get("EGW00201", 0), 0)
        self.assertLessEqual(stats["max_calls_in_1s"], 18)

    def test_zzz_secrets_never_in_logs_metrics_or_replies(self):
        seen = "".join(self.gate.log)
        for path in ("/metrics", "/v1/budget", "/v1/jobs", "/readyz", "/v1/stocks/abc/price"):
            seen += requests.get(f"{self.gate.base_url}{path}", timeout=10).text
        self.assertIn("kisgate_gate_upstream_requests_total", seen)
        for secret in (APP_SECRET, APP_KEY, self.client.headers["authorization"][7:]):
            self.assertNotIn(secret, seen)


if __name__ == "__main__":
    unittest.main(verbosity=2)
