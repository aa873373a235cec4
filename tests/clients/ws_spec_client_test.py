#!/usr/bin/python3
"""A KIS real-time client written only from kis-api.md §8 (Debian's python3-websockets and
python3-requests), against `kisgate sim`'s WebSocket: approval key over HTTP, subscribe on
/tryitout, acks with header.tr_key, data frames `0|TR|NNN|payload` of N x F fields, PINGPONG echoed
as text, the one-session-per-key rule.

Run by ctest: ws_spec_client_test.py PATH_TO_KISGATE
"""
import asyncio
import json
import sys
import time
import unittest

import requests
import websockets

from sim_process import start_sim

KISGATE = sys.argv.pop(1) if len(sys.argv) > 1 else "build/kisgate"
APP_KEY = "PSwsTESTkey0000000000000000000000001"
APP_SECRET = "W" * 180
FIELDS = {"H0STCNT0": 46, "H0STASP0": 59}


def subscribe(approval, tr_id, code, tr_type="1"):
    return json.dumps({"header": {"approval_key": approval, "custtype": "P", "tr_type": tr_type,
                                  "content-type": "utf-8"},
                       "body": {"input": {"tr_id": tr_id, "tr_key": code}}})


class WsSpecClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.base_url = start_sim(
            [KISGATE, "sim", "--listen", "127.0.0.1:0", "--latency-ms", "1",
             "--key", f"{APP_KEY}:{APP_SECRET}:real", "--clock", "2026-11-24T10:00:00",
             "--speed", "5", "--ws-ping-s", "0.2", "--ws-ping-missed", "3", "--ws-hold-s", "1"])
        cls.ws_url = cls.base_url.replace("http://", "ws://") + "/tryitout"

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.proc.stdout.close()

    def approval(self):
        # At most one approval key a second per app key (kis-api.md §8): retry once after a second.
        for _ in range(2):
            r = requests.post(self.base_url + "/oauth2/Approval", timeout=5,
                              data=json.dumps({"grant_type": "client_credentials",
                                               "appkey": APP_KEY, "secretkey": APP_SECRET}))
            if r.status_code == 200:
                key = r.json()["approval_key"]
                self.assertEqual(len(key), 36)
                return key
            time.sleep(1.1)
        self.fail(f"no approval key: {r.status_code} {r.text}")

    def test_subscribe_data_and_pingpong_echo(self):
        approval = self.approval()

        async def run():
            async with websockets.connect(self.ws_url) as ws:
                acks = []
                records = {"H0STCNT0": 0, "H0STASP0": 0}
                pings = 0
                for tr_id in FIELDS:
                    await ws.send(subscribe(approval, tr_id, "005930"))
                deadline = time.time() + 30
                # More PINGPONGs echoed than ping-missed: the session stays.
                while pings < 8 or min(records.values()) == 0:
                    self.assertLess(time.time(), deadline, "too slow: nothing arrived")
                    raw = await ws.recv()
                    if raw[0] in "01":
                        enc, tr_id, count, payload = raw.split("|", 3)
                        fields = payload.split("^")
                        self.assertEqual(enc, "0")
                        self.assertEqual(len(fields), int(count) * FIELDS[tr_id])
                        self.assertEqual(fields[0], "005930")
                        records[tr_id] += int(count)
                        continue
                    msg = json.loads(raw)
                    if msg["header"]["tr_id"] == "PINGPONG":
                        pings += 1
                        await ws.send(raw)
                        continue
                    acks.append(msg)
                self.assertEqual(len(acks), 2)
                for ack in acks:
                    self.assertEqual(ack["body"]["rt_cd"], "0")
                    self.assertEqual(ack["body"]["msg_cd"], "OPSP0000")
                    self.assertEqual(ack["header"]["tr_key"], "005930")
                # Unsubscribe: OPSP0001, then once more: OPSP0003 (still with tr_key).
                for expected in ("OPSP0001", "OPSP0003"):
                    await ws.send(subscribe(approval, "H0STCNT0", "005930", "2"))
                    while True:
                        raw = await ws.recv()
                        if raw[0] in "01":
                            continue
                        msg = json.loads(raw)
                        if msg["header"]["tr_id"] == "PINGPONG":
                            await ws.send(raw)
                            continue
                        self.assertEqual(msg["body"]["msg_cd"], expected)
                        self.assertIn("tr_key", msg["header"])
                        break

        asyncio.run(run())

    def test_second_session_on_a_key_gets_opsp8996(self):
        approval = self.approval()

        async def next_ack(ws):
            while True:
                raw = await ws.recv()
                if raw[0] in "01":
                    continue
                msg = json.loads(raw)
                if msg["header"]["tr_id"] == "PINGPONG":
                    await ws.send(raw)
                    continue
                return msg

        async def run():
            # The other test's session may still hold the key for --ws-hold-s: wait it out.
            async with websockets.connect(self.ws_url) as first:
                for _ in range(50):
                    await first.send(subscribe(approval, "H0STASP0", "000660"))
                    ack = await next_ack(first)
                    if ack["body"]["msg_cd"] == "OPSP0000":
                        break
                    await asyncio.sleep(0.1)
                self.assertEqual(ack["body"]["msg_cd"], "OPSP0000")
                async with websockets.connect(self.ws_url) as second:
                    await second.send(subscribe(approval, "H0STASP0", "000660"))
                    ack = await next_ack(second)
                    self.assertEqual(ack["body"]["msg_cd"], "OPSP8996")
                    self.assertEqual(ack["body"]["rt_cd"], "9")

        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
