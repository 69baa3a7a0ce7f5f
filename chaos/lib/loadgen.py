#!/usr/bin/env python3
"""Load generator and byte checker for imgcache's chaos suite (Python 3 stdlib only).

Run inside a network namespace with `ip netns exec`. Subcommands:

  keys    --prefix P --count N [--seed S]           the scenario's fixed key set (JSON list)
  expect  --keys F --origin URL --out F             fetch every key once from one origin:
                                                    sha256, length, Content-Type, ETag
  same    A.json B.json ...                         exit 1 unless every origin gave identical bytes
  load    --nodes URL,... --keys F --expected F ... steady load through the nodes, every body
                                                    checked; per-node counts; JSON at the end

The load is bounded by --duration and --max-requests (and a --stop-file the driver creates).
Like a load balancer, it sends only to nodes whose /_imgcache/readyz answered 200 in the last poll
(every 100 ms); a node that is not ready is out of rotation until it is again.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

# Errors on a reused keep-alive connection that happen before any response byte: the server
# closed the idle connection as we sent. Every HTTP client retries an idempotent GET once on a
# fresh connection then (RFC 9112 section 9.3.1); we do the same and count it.
STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError,
         http.client.BadStatusLine)


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80


def cmd_keys(args):
    rnd = random.Random(args.seed)
    keys = []
    for i in range(args.count):
        if rnd.random() < 0.7:
            w, h = rnd.randint(24, 96), rnd.randint(24, 96)
            keys.append(f"/v2/image/png/{args.prefix}-{i:04d}?w={w}&h={h}")
        else:
            keys.append(f"/v2/blob/{args.prefix}-{i:04d}?size={rnd.randint(512, 16384)}")
    json.dump(keys, sys.stdout, indent=0)
    sys.stdout.write("\n")


def fetch(host, port, target, timeout):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        body = r.read()
        return r.status, body, r.getheader("Content-Type"), r.getheader("ETag")
    finally:
        conn.close()


def cmd_expect(args):
    keys = json.load(open(args.keys))
    host, port = split_url(args.origin)
    out, bad = {}, []

    def one(key):
        status, body, ctype, etag = fetch(host, port, key, 30)
        return key, status, body, ctype, etag

    with ThreadPoolExecutor(args.threads) as pool:
        for key, status, body, ctype, etag in pool.map(one, keys):
            if status != 200:
                bad.append((key, status))
            out[key] = {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body),
                        "content_type": ctype, "etag": etag}
    json.dump(out, open(args.out, "w"), indent=1, sort_keys=True)
    if bad:
        print(f"expect: {len(bad)} keys did not answer 200 at {args.origin}: {bad[:5]}", file=sys.stderr)
        sys.exit(1)


def cmd_same(args):
    first = json.load(open(args.files[0]))
    differ = 0
    for other_file in args.files[1:]:
        other = json.load(open(other_file))
        for key, want in first.items():
            if other.get(key) != want:
                differ += 1
                if differ <= 5:
                    print(f"same: {key}: {args.files[0]} {want} vs {other_file} {other.get(key)}",
                          file=sys.stderr)
    print(json.dumps({"keys": len(first), "origins": len(args.files), "differing": differ}))
    sys.exit(1 if differ else 0)


class Load:
    def __init__(self, args):
        self.args = args
        self.nodes = [n for n in args.nodes.split(",") if n]
        self.keys = json.load(open(args.keys))
        self.expected = json.load(open(args.expected))
        missing = [k for k in self.keys if k not in self.expected]
        if missing:
            raise SystemExit(f"load: {len(missing)} keys have no expected digest, e.g. {missing[0]}")
        self.lock = threading.Lock()  # guards everything below
        self.ready = {n: False for n in self.nodes}
        self.rotation = []  # (t, node, in_rotation)
        self.per_node = {n: {"requests": 0, "ok": 0, "errors": 0, "wrong_bytes": 0, "wrong_headers": 0,
                             "stale_retries": 0, "x_cache": {}, "error_kinds": {}} for n in self.nodes}
        self.errors = []  # {t, node, key, kind, detail}
        self.wrong = []
        self.first_ok = {}  # key -> time of its first 200
        self.requested = set()
        self.timeline = {}  # second since start -> node -> [requests, errors]
        self.total = 0
        self.rr = 0
        self.next_slot = 0.0
        self.no_node_waits = 0
        self.stop = threading.Event()

    # -- readiness (the "load balancer") ---------------------------------------------------------

    def poll_ready(self, node):
        host, port = split_url(node)
        conn = None
        while not self.stop.is_set():
            ok = False
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=0.5)
                conn.request("GET", "/_imgcache/readyz")
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                if self.ready[node] != ok:
                    self.ready[node] = ok
                    self.rotation.append({"t": time.time(), "node": node, "in": ok})
            self.stop.wait(0.1)

    def pick(self):
        with self.lock:
            live = [n for n in self.nodes if self.ready[n]]
            if not live:
                return None
            self.rr += 1
            return live[self.rr % len(live)]

    # -- pacing ------------------------------------------------------------------------------

    def slot(self):
        """Takes the next request slot at the configured rate: its number, or None when the run is over."""
        with self.lock:
            if self.total >= self.args.max_requests:
                return None
            now = time.monotonic()
            # Never burst to catch up more than half a second of missed slots.
            slot = max(self.next_slot, now - 0.5)
            self.next_slot = slot + 1.0 / self.args.rate
            self.total += 1
            n = self.total
        delay = slot - time.monotonic()
        if delay > 0:
            self.stop.wait(delay)
        return None if self.stop.is_set() else n

    def key_for(self, rnd, n):
        if self.args.sweep_first and n <= len(self.keys):
            return self.keys[n - 1]
        elapsed = time.time() - self.t0
        active = min(len(self.keys), int(self.args.initial_keys + self.args.key_growth * elapsed))
        return self.keys[rnd.randrange(max(1, active))]

    # -- one worker ----------------------------------------------------------------------------

    def worker(self, index):
        rnd = random.Random(self.args.seed * 1000 + index)
        conns = {}  # node -> [HTTPConnection, requests sent on it]
        while not self.stop.is_set():
            n = self.slot()
            if n is None:
                break
            node = self.pick()
            if node is None:
                with self.lock:
                    self.no_node_waits += 1
                self.stop.wait(0.05)
                continue
            key = self.key_for(rnd, n)
            self.request(conns, node, key)
        for conn, _ in conns.values():
            conn.close()

    def request(self, conns, node, key):
        host, port = split_url(node)
        t = time.time()
        stale_retry = False
        for attempt in (1, 2):
            entry = conns.get(node)
            if entry is None:
                entry = conns[node] = [http.client.HTTPConnection(host, port, timeout=self.args.timeout), 0]
            conn, used = entry
            try:
                conn.request("GET", key)
                r = conn.getresponse()
                body = r.read()
                entry[1] += 1
                if (r.getheader("Connection") or "").lower() == "close":
                    conn.close()
                    del conns[node]
                self.record(t, node, key, r.status, body, r, stale_retry)
                return
            except STALE as e:
                conn.close()
                del conns[node]
                if used > 0 and attempt == 1:
                    stale_retry = True
                    continue
                self.record_error(t, node, key, kind(e), repr(e), stale_retry)
                return
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                del conns[node]
                self.record_error(t, node, key, kind(e), repr(e), stale_retry)
                return

    def tick(self, t, node, error):
        """Counts one request in the per-second timeline; caller holds the lock."""
        cell = self.timeline.setdefault(int(t - self.t0), {}).setdefault(node, [0, 0])
        cell[0] += 1
        cell[1] += error

    def record(self, t, node, key, status, body, response, stale_retry):
        done = time.time()
        want = self.expected[key]
        with self.lock:
            s = self.per_node[node]
            s["requests"] += 1
            self.tick(t, node, status != 200)
            s["stale_retries"] += stale_retry
            self.requested.add(key)
            xc = response.getheader("X-Cache") or "-"
            s["x_cache"][xc] = s["x_cache"].get(xc, 0) + 1
            if status != 200:
                s["errors"] += 1
                k = str(status)
                s["error_kinds"][k] = s["error_kinds"].get(k, 0) + 1
                if len(self.errors) < 20000:
                    self.errors.append({"t": t, "done": done, "node": node, "key": key, "kind": k,
                                        "x_cache": xc, "detail": body[:160].decode("utf-8", "replace")})
                return
            if hashlib.sha256(body).hexdigest() != want["sha256"]:
                s["wrong_bytes"] += 1
                if len(self.wrong) < 1000:
                    self.wrong.append({"t": t, "node": node, "key": key, "length": len(body),
                                       "expected_length": want["length"], "x_cache": xc})
                return
            if (response.getheader("Content-Type") != want["content_type"]
                    or response.getheader("ETag") != want["etag"]):
                s["wrong_headers"] += 1
            s["ok"] += 1
            if key not in self.first_ok:
                self.first_ok[key] = done

    def record_error(self, t, node, key, k, detail, stale_retry):
        with self.lock:
            s = self.per_node[node]
            s["requests"] += 1
            s["errors"] += 1
            self.tick(t, node, True)
            s["stale_retries"] += stale_retry
            s["error_kinds"][k] = s["error_kinds"].get(k, 0) + 1
            self.requested.add(key)
            if len(self.errors) < 20000:
                self.errors.append({"t": t, "done": time.time(), "node": node, "key": key, "kind": k,
                                    "detail": detail[:160]})

    # -- the run -------------------------------------------------------------------------------

    def run(self):
        a = self.args
        pollers = [threading.Thread(target=self.poll_ready, args=(n,), daemon=True) for n in self.nodes]
        for p in pollers:
            p.start()
        time.sleep(0.3)  # first readiness answers
        self.t0 = time.time()
        self.next_slot = time.monotonic()
        workers = [threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(a.workers)]
        for w in workers:
            w.start()
        deadline = time.time() + a.duration
        while time.time() < deadline and any(w.is_alive() for w in workers):
            if a.stop_file and os.path.exists(a.stop_file):
                break
            time.sleep(0.1)
        self.stop.set()
        for w in workers:
            # A worker stuck on a paused node returns within the request timeout.
            w.join(a.timeout + 2)
        t1 = time.time()
        with self.lock:
            out = {
                "start": self.t0, "end": t1, "rate": a.rate, "workers": a.workers,
                "nodes": self.nodes,
                "requests": sum(s["requests"] for s in self.per_node.values()),
                "errors": sum(s["errors"] for s in self.per_node.values()),
                "wrong_bytes": sum(s["wrong_bytes"] for s in self.per_node.values()),
                "wrong_headers": sum(s["wrong_headers"] for s in self.per_node.values()),
                "unique_keys": len(self.requested),
                "keys": len(self.keys),
                "no_node_waits": self.no_node_waits,
                "per_node": self.per_node,
                "rotation": self.rotation,
                "timeline": self.timeline,
                "first_ok": self.first_ok,
                "error_list": self.errors,
                "wrong_list": self.wrong,
            }
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f)
        os.replace(tmp, a.out)
        print(f"load: {out['requests']} requests, {out['errors']} errors, {out['wrong_bytes']} wrong bytes, "
              f"{out['unique_keys']} keys in {t1 - self.t0:.1f}s", file=sys.stderr)


def kind(e):
    if isinstance(e, socket.timeout) or isinstance(e, TimeoutError):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, http.client.RemoteDisconnected):
        return "closed"
    if isinstance(e, OSError) and e.errno is not None:
        return f"oserror-{e.errno}"
    return type(e).__name__


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keys")
    k.add_argument("--prefix", required=True)
    k.add_argument("--count", type=int, required=True)
    k.add_argument("--seed", type=int, default=1)
    e = sub.add_parser("expect")
    e.add_argument("--keys", required=True)
    e.add_argument("--origin", default="http://127.0.0.1:8000")
    e.add_argument("--out", required=True)
    e.add_argument("--threads", type=int, default=16)
    s = sub.add_parser("same")
    s.add_argument("files", nargs="+")
    ld = sub.add_parser("load")
    ld.add_argument("--nodes", required=True, help="comma-separated node base URLs")
    ld.add_argument("--keys", required=True)
    ld.add_argument("--expected", required=True)
    ld.add_argument("--out", required=True)
    ld.add_argument("--rate", type=float, default=120, help="requests per second, all nodes together")
    ld.add_argument("--workers", type=int, default=24)
    ld.add_argument("--duration", type=float, default=120, help="hard limit in seconds")
    ld.add_argument("--max-requests", type=int, default=50000, help="hard limit on requests")
    ld.add_argument("--timeout", type=float, default=15, help="per-request timeout in seconds")
    ld.add_argument("--initial-keys", type=int, default=60, help="keys in use at the start")
    ld.add_argument("--key-growth", type=float, default=6, help="keys added to the pool per second")
    ld.add_argument("--sweep-first", action="store_true", help="request every key once, in order, first")
    ld.add_argument("--stop-file", help="stop early once this file exists")
    ld.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.cmd == "keys":
        cmd_keys(args)
    elif args.cmd == "expect":
        cmd_expect(args)
    elif args.cmd == "same":
        cmd_same(args)
    else:
        Load(args).run()


if __name__ == "__main__":
    main()
