#!/usr/bin/python3
"""The design kisgate replaces, re-implemented for side-by-side benchmarks (issue 6).

What it reproduces (the change record ../shared/seed/000_a028517aadea02d2.txt and the system's
public predecessor code):

* one KIS client per process, shared by every collector and by user requests: one
  httpx.AsyncClient with httpx's default pool limits (max_connections=100, 20 kept alive), one
  token fetched once from /oauth2/tokenP, and a client-side sliding-window limiter at 20 calls/s
  (KIS's limit when the code was written), taken once per request and not again for its retries;
* each request tries up to 3 times and pauses 1 s after a failed attempt; every failure is retried
  (HTTP 500 EGW00201 too: the client only looks at rt_cd);
* four collectors (current price, order book, investor flows, after-hours price), each walking the
  codes in batches of 10 gathered at once with a 0.5 s pause after each batch;
  variant "before": nothing else; variant "after": each collector also holds its own
  asyncio.Semaphore(5) around every call (the fix in the change record);
* optionally the minute-bar collector (Semaphore(3) in both variants, as kis_minute_collector.py
  had), paging today's bars back to 09:00 like kisgate does, so that both do the same work;
* a user probe inside the same process (the frontend's stock page went through the backend's
  client, outside any semaphore): a current price every 1/probe_hz s, each request on its own.

The collectors run concurrently, as overlapping scheduler jobs do. Nothing is stored: the work per
code is the HTTP call and the JSON decode. The wire format is kisgate's (same paths, tr_ids, query
parameters and headers). Prints one JSON document with the outcome to stdout (or --out).

  /usr/bin/python3 bench/baseline/kis_baseline.py --base-url http://127.0.0.1:9443 \
      --app-key KEY --app-secret SECRET --variant before --codes-file codes.txt \
      --jobs price,orderbook,investors,overtime_price [--probe-hz 2]
"""

import argparse
import asyncio
import collections
import contextlib
import json
import sys
import time

import httpx

QUOTATIONS = "/uapi/domestic-stock/v1/quotations/"
DATASETS = {
    # data set: (path, tr_id)
    "price": ("inquire-price", "FHKST01010100"),
    "orderbook": ("inquire-asking-price-exp-ccn", "FHKST01010200"),
    "investors": ("inquire-investor", "FHKST01010900"),
    "overtime_price": ("inquire-overtime-price", "FHPST02300000"),
    "bars_minute": ("inquire-time-itemchartprice", "FHKST03010200"),
}


class Failed(Exception):
    """A request that failed all its attempts; `cause` is the last attempt's."""

    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


class SlidingWindowLimiter:
    """At most `rate` acquisitions in any `window` seconds; waits (holding the lock) when full."""

    def __init__(self, rate, window=1.0):
        self.rate = rate
        self.window = window
        self.stamps = collections.deque()
        self.lock = asyncio.Lock()

    async def acquire(self):
        if self.rate <= 0:
            return
        async with self.lock:
            now = time.monotonic()
            while self.stamps and now - self.stamps[0] >= self.window:
                self.stamps.popleft()
            if len(self.stamps) >= self.rate:
                await asyncio.sleep(self.window - (now - self.stamps[0]))
                now = time.monotonic()
                while self.stamps and now - self.stamps[0] >= self.window:
                    self.stamps.popleft()
            self.stamps.append(now)


def cause_of(exc):
    """Failure classes the report uses: refused, dropped, timeout, or a KIS msg_cd."""
    if isinstance(exc, httpx.ConnectError):
        return "refused"  # "All connection attempts failed", reset during connect
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.NetworkError)):
        return "dropped"  # "Server disconnected without sending a response"
    return type(exc).__name__


class KisClient:
    def __init__(self, base_url, app_key, app_secret, client_rate, attempts, retry_pause, timeout):
        self.app_key = app_key
        self.app_secret = app_secret
        self.attempts = attempts
        self.retry_pause = retry_pause
        self.limiter = SlidingWindowLimiter(client_rate)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            timeout=timeout,
        )
        self.token = None
        self.attempt_count = 0
        self.attempt_failures = collections.Counter()  # every failed attempt, by cause

    async def issue_token(self):
        await self.limiter.acquire()
        self.attempt_count += 1
        r = await self.http.post(
            "/oauth2/tokenP",
            json={"grant_type": "client_credentials", "appkey": self.app_key, "appsecret": self.app_secret},
        )
        body = r.json()
        if r.status_code != 200 or "access_token" not in body:
            raise SystemExit(f"baseline: token request failed: HTTP {r.status_code} {r.text[:200]}")
        self.token = body["access_token"]

    async def get(self, dataset, params):
        path, tr_id = DATASETS[dataset]
        await self.limiter.acquire()
        headers = {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.app_key,
            "appsecret": self.app_secret,
            "tr_id": tr_id,
            "custtype": "P",
        }
        cause = None
        for attempt in range(self.attempts):
            self.attempt_count += 1
            try:
                r = await self.http.get(QUOTATIONS + path, params=params, headers=headers)
                try:
                    body = r.json()
                except ValueError:
                    body = {}
                if r.status_code == 200 and body.get("rt_cd") == "0":
                    return body
                cause = body.get("msg_cd") or f"HTTP{r.status_code}"
            except httpx.HTTPError as exc:
                cause = cause_of(exc)
            self.attempt_failures[cause] += 1
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.retry_pause)
        raise Failed(cause)


def code_params(code):
    return {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": code}


async def fetch_minute_bars(client, code):
    """Today's minute bars, newest first, 30 a page, back to 09:00 (kisgate's paging rule)."""
    cursor = "153000"  # a future time means "now"
    pages = 0
    for _ in range(60):
        params = {
            "FID_ETC_CLS_CODE": "",
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": code,
            "FID_INPUT_HOUR_1": cursor,
            "FID_PW_DATA_INCU_YN": "N",
        }
        body = await client.get("bars_minute", params)
        pages += 1
        bars = body.get("output2") or []
        if len(bars) < 30:
            break
        oldest = bars[-1].get("stck_cntg_hour", "090000")
        if oldest <= "090000":
            break
        minutes = int(oldest[:2]) * 60 + int(oldest[2:4]) - 1
        cursor = f"{minutes // 60:02d}{minutes % 60:02d}00"
    return pages


class Collector:
    """One scheduler job: batches of `batch_size` gathered at once, a pause after each batch, and
    (variant "after", or max_concurrent given) its own semaphore around every call."""

    def __init__(self, client, dataset, batch_size, batch_pause, max_concurrent):
        self.client = client
        self.dataset = dataset
        self.batch_size = batch_size
        self.batch_pause = batch_pause
        self.semaphore = asyncio.Semaphore(max_concurrent) if max_concurrent else None
        self.ok = 0
        self.failed = collections.Counter()
        self.calls = 0
        self.seconds = 0.0

    async def collect_one(self, code):
        guard = self.semaphore if self.semaphore is not None else contextlib.nullcontext()
        async with guard:
            try:
                if self.dataset == "bars_minute":
                    await fetch_minute_bars(self.client, code)
                else:
                    await self.client.get(self.dataset, code_params(code))
                self.ok += 1
            except Failed as failure:
                self.failed[failure.cause] += 1

    async def collect_all(self, codes):
        started = time.monotonic()
        for i in range(0, len(codes), self.batch_size):
            batch = codes[i:i + self.batch_size]
            await asyncio.gather(*(self.collect_one(c) for c in batch), return_exceptions=True)
            if i + self.batch_size < len(codes):
                await asyncio.sleep(self.batch_pause)
        self.seconds = time.monotonic() - started


async def probe(client, codes, hz, stop, t0, samples):
    """The frontend: a current price every 1/hz s, each request independent of the previous."""
    async def one(code, started):
        try:
            await client.get("price", code_params(code))
            cause = ""
        except Failed as failure:
            cause = failure.cause
        samples.append((started - t0, (time.monotonic() - started) * 1000.0, cause))

    tasks = []
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        tasks.append(asyncio.ensure_future(one(codes[n % len(codes)], time.monotonic())))
        n += 1
        next_at += 1.0 / hz
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
    if tasks:
        await asyncio.gather(*tasks)


async def main_async(args):
    codes = [line.strip() for line in open(args.codes_file) if line.strip()]
    jobs = [j for j in args.jobs.split(",") if j]
    for job in jobs:
        if job not in DATASETS:
            raise SystemExit(f"baseline: unknown job '{job}' (known: {', '.join(DATASETS)})")
    client = KisClient(args.base_url, args.app_key, args.app_secret, args.client_rate, args.attempts,
                       args.retry_pause, args.timeout)
    t0 = time.monotonic()
    wall0 = time.time()
    await client.issue_token()
    collectors = []
    for job in jobs:
        if job == "bars_minute":
            limit = args.minute_concurrent
        else:
            limit = args.max_concurrent if args.variant == "after" else 0
        collectors.append(Collector(client, job, args.batch_size, args.batch_pause, limit))
    stop = asyncio.Event()
    samples = []
    probe_task = None
    if args.probe_hz > 0:
        probe_codes = [c for c in args.probe_codes.split(",") if c] or codes
        probe_task = asyncio.ensure_future(probe(client, probe_codes, args.probe_hz, stop, t0, samples))
    await asyncio.gather(*(c.collect_all(codes) for c in collectors))
    cycle = time.monotonic() - t0
    stop.set()
    if probe_task is not None:
        await probe_task
    await client.http.aclose()
    return {
        "contender": f"baseline-{args.variant}",
        "wall_start": wall0,
        "cycle_s": cycle,
        "codes": len(codes),
        "jobs": [
            {"job": c.dataset, "planned": len(codes), "ok": c.ok, "failed": dict(c.failed), "seconds": c.seconds}
            for c in collectors
        ],
        "attempts": client.attempt_count,
        "attempt_failures": dict(client.attempt_failures),
        "probe": samples,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--app-key", required=True)
    p.add_argument("--app-secret", required=True)
    p.add_argument("--variant", choices=["before", "after"], required=True)
    p.add_argument("--codes-file", required=True, help="one six-digit code per line")
    p.add_argument("--jobs", default="price,orderbook,investors,overtime_price",
                   help=f"comma-separated, run concurrently; of {', '.join(DATASETS)}")
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--batch-pause", type=float, default=0.5, help="seconds after each batch")
    p.add_argument("--max-concurrent", type=int, default=5, help="semaphore per collector (variant after)")
    p.add_argument("--minute-concurrent", type=int, default=3, help="semaphore of the minute-bar collector")
    p.add_argument("--client-rate", type=float, default=20, help="client-side limiter, calls/s (0: off)")
    p.add_argument("--attempts", type=int, default=3)
    p.add_argument("--retry-pause", type=float, default=1.0)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--probe-hz", type=float, default=0, help="user requests per second (0: no probe)")
    p.add_argument("--probe-codes", default="", help="codes the probe cycles through (default: the universe)")
    p.add_argument("--out", default="-")
    args = p.parse_args()
    result = asyncio.run(main_async(args))
    text = json.dumps(result)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
