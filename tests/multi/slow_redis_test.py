#!/usr/bin/python3
"""One instance of three sees Redis late (issue 23, item 2): a TCP proxy between it and Redis
delays what it sends by 200 ms (beyond coordination.timeout) for 20 s while the other two reach
Redis at once. All three take passthrough calls (10/s each) and run the jobs, so the key is
wanted beyond its rate all along. The simulator must see no 1-s window over the key's limit and
no EGW00201: the slow instance's fallback share is left to it by the shared schedule, not added on
top of it.

Usage: slow_redis_test.py KISGATE [--keep]
"""
import argparse
import collections
import concurrent.futures
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multi_support as m  # noqa: E402

s = m.s
LIMIT = 18
DELAY_S = 0.2
SLOW_S = 20
LOAD_PER_INSTANCE = 10  # passthrough calls per second into each instance
SIM_FLAGS = ["--seed", "2323", "--latency-ms", "40", "--latency-sigma", "0.3"]


class DelayProxy:
    """127.0.0.1:<port> -> `target`: what a client sends reaches the target `delay` seconds later
    (set at any time; order kept); answers come back at once."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.delay = 0.0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            queue = collections.deque()
            ready = threading.Condition()
            threading.Thread(target=self._read_delayed, args=(client, upstream, queue, ready),
                             daemon=True).start()
            threading.Thread(target=self._send_delayed, args=(upstream, client, queue, ready),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _read_delayed(self, src, dst, queue, ready):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            with ready:
                queue.append((time.monotonic() + self.delay, data))
                ready.notify()
            if not data:
                return

    def _send_delayed(self, dst, src, queue, ready):
        while True:
            with ready:
                while not queue:
                    ready.wait()
                due, data = queue[0]
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with ready:
                queue.popleft()
            if not data:
                self._close(dst, src)
                return
            try:
                dst.sendall(data)
            except OSError:
                self._close(dst, src)
                return

    def _pipe(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        self._close(src, dst)

    @staticmethod
    def _close(*socks):
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closing = True
        self.listener.close()


class Load:
    """LOAD_PER_INSTANCE passthrough calls per second into each instance, outcomes counted."""

    def __init__(self, instances):
        self.instances = instances
        self.results = collections.Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=12 * len(instances))
        self.threads = [threading.Thread(target=self._run, args=(x,), daemon=True) for x in instances]

    def start(self):
        for t in self.threads:
            t.start()

    def _one(self, session, instance, token, code):
        outcome = m.passthrough_price(session, instance.base_url, token, code, timeout=15)
        with self.lock:
            self.results[outcome] += 1

    def _run(self, instance):
        session = requests.Session()
        token = m.pass_token(instance.base_url)
        i = 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            self.pool.submit(self._one, session, instance, token, s.CODES[i % len(s.CODES)])
            i += 1
            next_at += 1.0 / LOAD_PER_INSTANCE
            time.sleep(max(0.0, next_at - time.monotonic()))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        self.pool.shutdown(wait=True)


def mode(instance):
    try:
        return (instance.readyz().get("coordination") or {}).get("mode")
    except (requests.RequestException, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kisgate")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kisgate-slow-redis-")
    problems = []
    s.log(f"files in {workdir}")

    redis = m.Redis(workdir)
    proxy = DelayProxy(redis.port)
    sim = s.Sim(args.kisgate, os.path.join(workdir, "sim.log"), flags=SIM_FLAGS)
    m.on_exit("sim", lambda: sim.proc.poll() is None and sim.proc.kill())
    instances = []
    for i in range(1, 4):
        folder = os.path.join(workdir, f"i{i}")
        port = proxy.port if i == 3 else redis.port
        config = m.write_serve_config(
            folder, sim.base_url, s.CODES[:6], s.DEMO_JOBS, 5,
            storage_url=f"sqlite://{folder}/kisgate.db",
            coordination={"url": f"redis://127.0.0.1:{port}/0", "instance": f"i{i}"})
        with open(config, "a") as f:
            f.write('[gate]\ndefault_deadline = "2s"\n')
        instances.append(m.Instance(args.kisgate, f"i{i}", config, os.path.join(folder, "serve.log")))
    slow = instances[2]
    s.log(f"redis on {redis.port}; {slow.name} reaches it through a proxy on {proxy.port}")

    def all_shared():
        answers = [x.readyz().get("coordination") or {} for x in instances]
        return all(a.get("mode") == "shared" and a.get("instances") == 3 for a in answers)

    if not m.wait_until(all_shared, 30):
        problems.append("the three instances did not all see each other in shared mode")
    load = Load(instances)
    load.start()
    time.sleep(5)
    requests.post(f"{sim.base_url}/_sim/reset", timeout=10).raise_for_status()
    s.log(f"{slow.name}'s Redis is {DELAY_S * 1000:.0f} ms late for {SLOW_S} s")
    proxy.delay = DELAY_S
    slow_from = time.monotonic()
    modes = collections.Counter()
    seen = []  # (seconds since the delay began, busiest window so far, EGW00201 so far)
    while time.monotonic() - slow_from < SLOW_S:
        modes[mode(slow)] += 1
        st = sim.stats()
        seen.append((round(time.monotonic() - slow_from, 1), st["max_calls_in_1s"],
                     st["errors"].get("EGW00201", 0)))
        time.sleep(0.5)
    proxy.delay = 0.0
    s.log(f"{slow.name}'s Redis is fast again; modes seen meanwhile: {dict(modes)}")
    for _ in range(10):
        st = sim.stats()
        seen.append((round(time.monotonic() - slow_from, 1), st["max_calls_in_1s"],
                     st["errors"].get("EGW00201", 0)))
        time.sleep(0.5)
    load.stop()
    firsts = [x for i, x in enumerate(seen) if i == 0 or x[1:] != seen[i - 1][1:]]
    s.log(f"(s after the delay began, busiest window, EGW00201) when they changed: {firsts}")
    stats = sim.stats()
    s.log(f"sim: {stats['calls']} calls, busiest 1-s window {stats['max_calls_in_1s']}, "
          f"errors {stats['errors']}; passthrough outcomes {dict(load.results)}")
    if modes["fallback"] == 0:
        problems.append(f"{slow.name} never fell back while its Redis was late (the test tests nothing)")
    if stats["max_calls_in_1s"] > LIMIT:
        problems.append(f"the simulator saw {stats['max_calls_in_1s']} calls in one second (limit {LIMIT})")
    if stats["errors"].get("EGW00201", 0) > 0:
        problems.append(f"the simulator answered EGW00201 {stats['errors']['EGW00201']} times")
    back = m.wait_until(lambda: mode(slow) == "shared", 15)
    if not back:
        problems.append(f"{slow.name} is not back in shared mode 15 s after its Redis is fast again")
    proxy.close()
    if problems:
        for p in problems:
            s.log(f"PROBLEM: {p}")
        s.log(f"files kept in {workdir}")
        return 1
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    s.log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
