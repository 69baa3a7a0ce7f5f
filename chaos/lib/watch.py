#!/usr/bin/env python3
"""Ring watcher and cache inspector for imgcache's chaos suite (Python 3 stdlib only).

Run inside a network namespace with `ip netns exec`. Subcommands:

  watch      --nodes URL,... --token T --out F        every 100 ms, every node's /_imgcache/ring
                                                      (admin token); every 500 ms its /_imgcache/metrics
                                                      (origin loads, fallbacks, bans, with restarts
                                                      detected). Records each change with its time.
  wait-ring  --nodes URL,... --members URL,...        until every node's ring holds exactly
                                                      --members, all healthy (exit 1 on timeout)
  caches     --nodes URL,... --keys F --token T       which nodes hold each key in main / hot
  wait-http  --url URL [--timeout S]                  until GET URL answers 200 (exit 1 on timeout)
  wait-tcp   --host H --port P [--timeout S]          until a TCP connection succeeds
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80


class Client:
    """One keep-alive connection to one node, reopened after any failure."""

    def __init__(self, node, token, timeout):
        self.host, self.port = split_url(node)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self.conn = None

    def get(self, target):
        """(status, body) or raises OSError / HTTPException."""
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("GET", target, headers=self.headers)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def ring_view(client):
    """{member url: healthy} as the node sees it, or a string saying why there is none."""
    try:
        status, body = client.get("/_imgcache/ring")
    except (OSError, http.client.HTTPException) as e:
        return f"unreachable: {type(e).__name__}"
    if status != 200:
        return f"status {status}"
    ring = json.loads(body)
    return {m["url"]: bool(m["healthy"]) for m in ring["members"]}


METRICS = {
    'imgcache_origin_requests_total{kind="load"}': "origin_loads",
    "imgcache_fallbacks_total": "fallbacks",
    "imgcache_bans_total": "bans",
    'imgcache_cache_hits_total{cache="disk"}': "disk_hits",
    "process_start_time_seconds": "started",
}


def scrape(client):
    status, body = client.get("/_imgcache/metrics")
    if status != 200:
        raise OSError(f"/_imgcache/metrics answered {status}")
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name in METRICS:
            out[METRICS[name]] = float(value)
    return out


class Watch:
    def __init__(self, args):
        self.args = args
        self.nodes = [n for n in args.nodes.split(",") if n]
        self.lock = threading.Lock()  # guards the lists below
        self.rings = []  # {t, observer, view}
        self.series = []  # {t, node, origin_loads, fallbacks}: counts since the watch began
        self.stop = threading.Event()

    def watch_ring(self, node):
        client = Client(node, self.args.token, 0.5)
        last = None
        while not self.stop.is_set():
            view = ring_view(client)
            t = time.time()
            if view != last:
                with self.lock:
                    self.rings.append({"t": t, "observer": node, "view": view})
                last = view
            self.stop.wait(self.args.interval)
        client.close()

    def watch_metrics(self, node):
        client = Client(node, None, 1.0)
        started = None  # process start time of the incarnation we follow
        last = {}
        total = {"origin_loads": 0.0, "fallbacks": 0.0, "bans": 0.0, "disk_hits": 0.0}
        first = True
        while not self.stop.is_set():
            try:
                m = scrape(client)
            except (OSError, http.client.HTTPException, ValueError):
                m = None
            if m is not None:
                if m.get("started") != started:
                    # A new process: everything it counted is new, unless it was already running
                    # when the watch began (then only what it counts from now on).
                    base = m if first else {}
                    started = m.get("started")
                    last = {k: base.get(k, 0.0) for k in total}
                for k in total:
                    total[k] += m.get(k, 0.0) - last[k]
                    last[k] = m.get(k, 0.0)
                with self.lock:
                    self.series.append({"t": time.time(), "node": node, **total})
            first = False
            self.stop.wait(self.args.metrics_interval)
        client.close()

    def run(self):
        a = self.args
        threads = [threading.Thread(target=self.watch_ring, args=(n,), daemon=True) for n in self.nodes]
        threads += [threading.Thread(target=self.watch_metrics, args=(n,), daemon=True) for n in self.nodes]
        t0 = time.time()
        for t in threads:
            t.start()
        deadline = t0 + a.max_duration
        while time.time() < deadline and not (a.stop_file and os.path.exists(a.stop_file)):
            time.sleep(0.1)
        self.stop.set()
        for t in threads:
            t.join(3)
        with self.lock:
            out = {"start": t0, "end": time.time(), "nodes": self.nodes, "rings": self.rings,
                   "series": self.series}
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f)
        os.replace(tmp, a.out)


def cmd_wait_ring(args):
    nodes = [n for n in args.nodes.split(",") if n]
    want = {m: True for m in args.members.split(",") if m}
    clients = {n: Client(n, args.token, 0.5) for n in nodes}
    t0 = time.time()
    views = {}
    while time.time() - t0 < args.timeout:
        views = {n: ring_view(c) for n, c in clients.items()}
        if all(v == want for v in views.values()):
            print(f"wait-ring: converged after {time.time() - t0:.1f}s", file=sys.stderr)
            return 0
        time.sleep(0.2)
    print(f"wait-ring: not converged after {args.timeout}s: {json.dumps(views)}", file=sys.stderr)
    return 1


def cmd_caches(args):
    nodes = [n for n in args.nodes.split(",") if n]
    keys = json.load(open(args.keys))
    out = {}
    unreachable = {}
    for node in nodes:
        client = Client(node, args.token, 2.0)
        for key in keys:
            entry = out.setdefault(key, {"main": [], "hot": []})
            try:
                status, body = client.get("/_imgcache/cache?key=" + urllib.parse.quote(key, safe=""))
            except (OSError, http.client.HTTPException):
                unreachable[node] = unreachable.get(node, 0) + 1
                continue
            if status != 200:
                unreachable[node] = unreachable.get(node, 0) + 1
                continue
            held = json.loads(body)
            if held.get("main"):
                entry["main"].append(node)
            if held.get("hot"):
                entry["hot"].append(node)
        client.close()
    dups = sorted(k for k, v in out.items() if len(v["main"]) > 1)
    result = {"t": time.time(), "nodes": nodes, "keys": out, "main_duplicates": dups,
              "unreachable": unreachable,
              "in_main": sum(1 for v in out.values() if v["main"])}
    with open(args.out, "w") as f:
        json.dump(result, f)
    print(f"caches: {result['in_main']} of {len(keys)} keys in a main cache, {len(dups)} in two or more"
          + (f", unreachable {unreachable}" if unreachable else ""), file=sys.stderr)
    return 0


def cmd_wait_http(args):
    host, port = split_url(args.url)
    target = urllib.parse.urlsplit(args.url).path or "/"
    t0 = time.time()
    while time.time() - t0 < args.timeout:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=1)
            conn.request("GET", target)
            if conn.getresponse().status == 200:
                return 0
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    print(f"wait-http: {args.url} not 200 after {args.timeout}s", file=sys.stderr)
    return 1


def cmd_wait_tcp(args):
    import socket
    t0 = time.time()
    while time.time() - t0 < args.timeout:
        try:
            socket.create_connection((args.host, args.port), timeout=1).close()
            return 0
        except OSError:
            time.sleep(0.1)
    print(f"wait-tcp: {args.host}:{args.port} not accepting after {args.timeout}s", file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--nodes", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--interval", type=float, default=0.1)
    w.add_argument("--metrics-interval", type=float, default=0.5)
    w.add_argument("--max-duration", type=float, default=240)
    w.add_argument("--stop-file")
    r = sub.add_parser("wait-ring")
    r.add_argument("--nodes", required=True)
    r.add_argument("--members", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--timeout", type=float, default=30)
    c = sub.add_parser("caches")
    c.add_argument("--nodes", required=True)
    c.add_argument("--keys", required=True)
    c.add_argument("--token", required=True)
    c.add_argument("--out", required=True)
    h = sub.add_parser("wait-http")
    h.add_argument("--url", required=True)
    h.add_argument("--timeout", type=float, default=30)
    t = sub.add_parser("wait-tcp")
    t.add_argument("--host", required=True)
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    if args.cmd == "wait-http":
        return cmd_wait_http(args)
    if args.cmd == "wait-tcp":
        return cmd_wait_tcp(args)
    if args.cmd == "watch":
        Watch(args).run()
        return 0
    if args.cmd == "wait-ring":
        return cmd_wait_ring(args)
    return cmd_caches(args)


if __name__ == "__main__":
    sys.exit(main())
