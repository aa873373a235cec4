#!/usr/bin/python3
"""The interactive probe of bench/api_bench.sh: GET /v1/stocks/{code}/price?max_age=0 (always a KIS
call through the gate's interactive lane) for a rotating list of codes at a fixed rate, open loop
(request i starts at start + i / rate on its own thread, whether or not earlier ones have
answered), one new connection per request. Prints one JSON object: every request's latency,
status and source, and a summary.

  probe.py --base http://127.0.0.1:PORT --codes 005930,000660 --rate 4 --duration 30
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def one(base, code, due, results, index):
    url = urllib.parse.urlsplit(base)
    while time.monotonic() < due:
        time.sleep(max(0.0, due - time.monotonic()))
    start = time.monotonic()
    status, source, stale, error = 0, "", False, ""
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", f"/v1/stocks/{code}/price?max_age=0")
        reply = conn.getresponse()
        body = reply.read()
        status = reply.status
        conn.close()
        if status == 200:
            doc = json.loads(body)
            source, stale = doc.get("source", ""), bool(doc.get("stale", False))
        else:
            error = body[:200].decode("utf-8", "replace")
    except Exception as e:  # a refused or dropped connection counts as a failure
        error = f"{type(e).__name__}: {e}"
    end = time.monotonic()
    results[index] = {
        "code": code,
        "at_s": round(start - results_start[0], 3),
        "start_delay_ms": round((start - due) * 1000, 3),
        "latency_ms": round((end - start) * 1000, 3),
        "status": status,
        "source": source,
        "stale": stale,
        "error": error,
    }


results_start = [0.0]


def quantile(values, q):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--codes", required=True)
    p.add_argument("--rate", type=float, default=4)
    p.add_argument("--duration", type=float, default=30)
    a = p.parse_args()
    codes = a.codes.split(",")
    n = int(a.rate * a.duration)
    results = [None] * n
    start = time.monotonic() + 0.2
    results_start[0] = start
    threads = []
    for i in range(n):
        t = threading.Thread(target=one, args=(a.base, codes[i % len(codes)], start + i / a.rate, results, i))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    ok = [r for r in results if r["status"] == 200 and r["source"] == "kis" and not r["stale"]]
    lat = [r["latency_ms"] for r in ok]
    summary = {
        "requests": n,
        "ok": len(ok),
        "failed": n - len(ok),
        "p50_ms": quantile(lat, 0.5),
        "p90_ms": quantile(lat, 0.9),
        "p99_ms": quantile(lat, 0.99),
        "max_ms": max(lat) if lat else None,
        "max_start_delay_ms": max(r["start_delay_ms"] for r in results),
        "failures": [r for r in results if r not in ok][:10],
    }
    print(json.dumps({"summary": summary, "requests": results}))


if __name__ == "__main__":
    main()
