#!/usr/bin/env python3
"""Helpers for bench/run: wrk runs with /proc CPU accounting, the storm client, the Zipf/LRU
hit-ratio replay, the memory fill, and the report. Python 3.11, standard library only.

Every subcommand talks to loopback addresses only and bounds its loops in time. Results are
appended as one JSON object per line to the file given with --out; `report` turns them into the
table. Run `benchlib.py SUBCOMMAND --help` for the options of one subcommand.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import hashlib
import http.client
import json
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOPBACK = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def append(out: str, record: dict) -> None:
    with open(out, "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------------
# /proc accounting

def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    return data[data.rindex(")") + 2:].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is not None:
            children[int(fields[1])].append(int(name))  # fields[1] = ppid
    return children


def tree(pid: int) -> list[int]:
    """pid and every live descendant of it."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids: list[int]) -> int:
    """utime+stime (all threads) plus cutime+cstime (reaped children) of each process tree."""
    total = 0
    for root in pids:
        for p in tree(root):
            fields = _stat_fields(p)
            if fields is None:
                continue
            # After the comm: state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total


def thread_ticks(root: int) -> dict[str, int]:
    """utime+stime per thread name (comm, 15 characters; digits folded to #) over one process tree."""
    out: dict[str, int] = collections.Counter()
    paths = []
    for pid in tree(root):
        try:
            paths += [f"/proc/{pid}/task/{tid}/stat" for tid in os.listdir(f"/proc/{pid}/task")]
        except FileNotFoundError:
            continue
    for path in paths:
        try:
            with open(path) as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        name = re.sub(r"\d+", "#", data[data.index("(") + 1:data.rindex(")")])
        fields = data[data.rindex(")") + 2:].split()
        out[name] += int(fields[11]) + int(fields[12])
    return out


def cpu_busy_ticks(cpu: int) -> int:
    """Non-idle ticks of one CPU from /proc/stat (everything that ran there, ours or not)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v[:8]) - v[3] - v[4]  # minus idle and iowait; guest is inside user
    return 0


def rss_kib(pid: int) -> dict:
    figures = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                figures[key] = int(value.split()[0])
    return figures


# --------------------------------------------------------------------------------------------
# HTTP (loopback only, http.client: no proxies from the environment)

def split_url(url: str) -> tuple[str, int, str]:
    u = urllib.parse.urlsplit(url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-loopback URL: {url}")
    target = u.path + ("?" + u.query if u.query else "")
    return u.hostname, u.port or 80, target or "/"


def http_get(url: str, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    host, port, target = split_url(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            status, _, _ = http_get(url, timeout=2)
            if 200 <= status < 300:
                return
            last = f"status {status}"
        except OSError as e:
            last = repr(e)
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout}s ({last})")


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(base: str) -> dict[str, float]:
    """A node's /_imgcache/metrics as {'name{labels}': value}."""
    status, _, body = http_get(base + "/_imgcache/metrics", timeout=10)
    if status != 200:
        raise SystemExit(f"{base}/_imgcache/metrics answered {status}")
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


# Counters worth seeing whenever several nodes took part: what went to peers and how it ended,
# health changes (a healthy peer leaving a ring is a finding), fallbacks, coalescing, origin use.
WATCHED = ("imgcache_origin_requests_total", "imgcache_origin_errors_total", "imgcache_peer_requests_total",
           "imgcache_peer_served_total", "imgcache_fallbacks_total", "imgcache_coalesced_waits_total",
           "imgcache_peer_health_transitions_total", "imgcache_pool_created_connections_total",
           "imgcache_pool_destroyed_connections_total")


def deltas(before: list[dict], after: list[dict]) -> dict[str, int]:
    """Increase of the WATCHED counters summed over nodes, by name and the labels that matter
    (the peer label is dropped so figures add up across nodes)."""
    out: dict[str, float] = collections.Counter()
    for b, af in zip(before, after):
        for key, value in af.items():
            name, _, rest = key.partition("{")
            if name not in WATCHED:
                continue
            labels = [l for l in re.findall(r'(\w+)="([^"]*)"', rest) if l[0] not in ("peer", "target")]
            short = name.removeprefix("imgcache_").removesuffix("_total")
            label = short + ("{" + ",".join(f"{k}={v}" for k, v in labels) + "}" if labels else "")
            out[label] += value - b.get(key, 0.0)
    return {k: int(v) for k, v in sorted(out.items()) if v}


# --------------------------------------------------------------------------------------------
# wrk

UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def _latency_us(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unparsable latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    res: dict = {"non2xx": 0, "socket_errors": 0}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if not m:
        raise ValueError("no request count in wrk output:\n" + out)
    res["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        if m:
            res[f"p{pct}_us"] = _latency_us(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["socket_errors"] = sum(int(x) for x in m.groups())
    return res


ROTATE_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rotate.lua")


def run_wrk(url: str, duration: float, conns: int, threads: int, cpu: str,
            paths_file: str = "") -> tuple[dict, str]:
    cmd = ["taskset", "-c", cpu, "wrk", f"-t{threads}", f"-c{conns}", f"-d{duration:g}s",
           "--timeout", "5s", "--latency"]
    env = dict(os.environ)
    if paths_file:
        # Each request takes the next path of the file (see rotate.lua).
        cmd += ["-s", ROTATE_LUA]
        env["BENCH_PATHS"] = paths_file
    cmd.append(url)
    # wrk stops itself after -d; the subprocess timeout is only a guard.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr}\n{proc.stdout}")
    return parse_wrk(proc.stdout), proc.stdout


def xcache_of(url: str, header: str) -> str:
    status, headers, _ = http_get(url)
    return f"{status} {headers.get(header.lower(), '-')}"


def check_answer(name: str, url: str, header: str, expect: set[str], paths_file: str | None = None) -> None:
    """The response a run is about, checked before it: a run that measured something else (a MISS,
    a PEER instead of HIT-HOT) is worthless. A run over a file of paths is checked on the first
    paths in turn: any one of its keys may be elsewhere at a given moment (a disk key just promoted
    to memory answers HIT), and the node's own counts check the whole run afterwards."""
    urls = [url]
    if paths_file:
        base = url[:url.index("/", len("http://"))]
        with open(paths_file) as f:
            urls = [base + line.strip() for line, _ in zip(f, range(50)) if line.strip()]
    for attempt in range(50):
        seen = xcache_of(urls[attempt % len(urls)], header)
        if seen.split(" ", 1)[1] in expect and seen.startswith("200"):
            return
        time.sleep(0.05)
    raise SystemExit(f"{name}: {url} answers {seen}, expected 200 {','.join(sorted(expect))}")


def node_sources(before: list[dict], after: list[dict]) -> collections.Counter:
    """Responses by X-Cache the nodes counted between two scrapes of each."""
    by_source = collections.Counter()
    for b, af in zip(before, after):
        for key, value in af.items():
            if key.startswith("imgcache_requests_total{"):
                by_source[re.search(r'cache="([^"]*)"', key).group(1)] += value - b.get(key, 0.0)
    return by_source


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of sorted values, nearest rank."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def tail_medians(runs: list[dict]) -> dict:
    """One server's fixed-rate runs at one rate: the median of each percentile over the runs."""
    return {k: statistics.median(r[k] for r in runs) for k in ("p50_us", "p99_us", "p999_us")}


def tail_runs(runs: list[dict]) -> str:
    """The p99 of each run, in ms, in run order."""
    return " / ".join(f"{r['p99_us'] / 1000:.2f}" for r in runs)


def cmd_tail(a: argparse.Namespace) -> None:
    """Latency at a fixed offered rate: h2load --rps at FRACTION of a wrk record's throughput."""
    pids = [int(p) for p in a.cpu_pids.split(",")]
    nodes = [n for n in (a.node_metrics or "").split(",") if n]
    expect = set(a.expect.split(","))
    ref = [json.loads(line) for line in open(a.out) if line.strip()]
    ref = [r["rps"] for r in ref if r["kind"] == "wrk" and r["group"] == a.group and r["name"] == a.rate_of]
    if not ref:
        raise SystemExit(f"{a.name}: no wrk record {a.group}/{a.rate_of} to take the rate from")
    rate = statistics.median(ref) * a.fraction
    per_conn = max(1, round(rate / a.conns))
    check_answer(a.name, a.url, "X-Cache", expect)
    with tempfile.NamedTemporaryFile("r", suffix=".h2load.log") as log_file:
        before_m = [scrape(n) for n in nodes]
        c0 = cpu_ticks(pids)
        cmd = ["taskset", "-c", a.client_cpu, "h2load", "--h1", "-c", str(a.conns), "-t", "1",
               f"--rps={per_conn}", "-D", str(a.duration), f"--log-file={log_file.name}", a.url]
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        c1 = cpu_ticks(pids)
        after_m = [scrape(n) for n in nodes]
        latencies = sorted(int(line.split("\t")[2]) for line in log_file if line.count("\t") >= 2)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not m or not codes or not latencies:
        raise SystemExit(f"{a.name}: unexpected h2load output:\n{out}")
    done = int(m.group(3))
    rec = {"kind": "tail", "group": a.group, "name": a.name, "server": a.server, "size": a.size, "url": a.url,
           "fraction": a.fraction, "reference": a.rate_of, "target_rps": per_conn * a.conns,
           "achieved_rps": done / a.duration, "requests": done, "conns": a.conns, "duration_s": a.duration,
           "errors": int(m.group(5)) + int(m.group(6)) + int(m.group(7)),
           "non2xx": int(codes.group(2)) + int(codes.group(3)) + int(codes.group(4)),
           "p50_us": percentile(latencies, 0.50), "p99_us": percentile(latencies, 0.99),
           "p999_us": percentile(latencies, 0.999), "max_us": latencies[-1],
           "cpu_us_per_req": (c1 - c0) * 1e6 / CLK_TCK / done if done else None}
    if nodes:
        sources = node_sources(before_m, after_m)
        total = sum(sources.values())
        rec["node_responses"] = {k: int(v) for k, v in sources.items() if v}
        rec["expected_fraction"] = sum(v for k, v in sources.items() if k in expect) / total if total else None
    append(a.out, rec)
    log(f"{a.name} at {a.fraction:.0%} of {a.rate_of} ({rec['target_rps']} req/s offered, {rec['achieved_rps']:.0f} done): "
        f"p50 {rec['p50_us']} us, p99 {rec['p99_us']} us, p99.9 {rec['p999_us']} us, max {rec['max_us']} us, "
        f"errors {rec['errors']}+{rec['non2xx']}")


def cmd_wrk(a: argparse.Namespace) -> None:
    """One measured wrk run (optionally after an unmeasured warm-up), repeated --reps times."""
    pids = [int(p) for p in a.cpu_pids.split(",")]
    side = [int(p) for p in a.side_pids.split(",") if p]
    nodes = [n for n in (a.node_metrics or "").split(",") if n]
    expect = set(a.expect.split(","))
    check_answer(a.name, a.url, a.header, expect, a.paths_file)
    if a.warmup > 0:
        run_wrk(a.url, a.warmup, a.conns, a.threads, a.client_cpu, a.paths_file)
    for rep in range(a.reps):
        before_m = [scrape(n) for n in nodes]
        t0 = time.monotonic()
        t0s = {p: thread_ticks(p) for p in pids}
        per0 = {p: cpu_ticks([p]) for p in pids}
        c0, s0 = cpu_ticks(pids), cpu_ticks(side)
        b0 = cpu_busy_ticks(a.server_cpu)
        all0 = cpu_ticks(pids + side)
        res, raw = run_wrk(a.url, a.duration, a.conns, a.threads, a.client_cpu, a.paths_file)
        c1, s1 = cpu_ticks(pids), cpu_ticks(side)
        b1 = cpu_busy_ticks(a.server_cpu)
        all1 = cpu_ticks(pids + side)
        per1 = {p: cpu_ticks([p]) for p in pids}
        t1s = {p: thread_ticks(p) for p in pids}
        wall = time.monotonic() - t0
        after_m = [scrape(n) for n in nodes]
        seen_after = xcache_of(a.url, a.header)
        cpu_us = (c1 - c0) * 1e6 / CLK_TCK
        rec = {
            "kind": "wrk", "name": a.name, "group": a.group, "server": a.server, "size": a.size,
            "url": a.url, "paths_file": a.paths_file, "rep": rep, "duration_s": a.duration, "conns": a.conns,
            "threads": a.threads, "cpu_us": cpu_us, "wall_s": wall,
            "cpu_util": cpu_us / 1e6 / wall if wall else 0.0,
            "cpu_us_per_req": cpu_us / res["requests"] if res["requests"] else None,
            "xcache_after": seen_after, **res,
        }
        # How busy the server's CPU was with anything else (other people's work): the noise gauge.
        rec["foreign_util"] = max(0.0, ((b1 - b0) - (all1 - all0)) / CLK_TCK / wall) if wall else None
        with open("/proc/loadavg") as f:
            rec["loadavg"] = f.read().split()[0]
        n = res["requests"] or 1
        rec["cpu_us_per_req_by_pid"] = {str(p): round((per1[p] - per0[p]) * 1e6 / CLK_TCK / n, 2) for p in pids}
        # Where the CPU went, by thread name (µs per request), biggest first.
        rec["threads_us_per_req"] = {
            str(p): {k: round(v * 1e6 / CLK_TCK / n, 2) for k, v in sorted(
                ((k, t1s[p].get(k, 0) - t0s[p].get(k, 0)) for k in t1s[p]), key=lambda kv: -kv[1]) if v > 0}
            for p in pids}
        rec["jit_us_per_req"] = round(sum(v for t in rec["threads_us_per_req"].values()
                                          for k, v in t.items() if k.startswith("C# Compiler")), 2)
        if side:
            # CPU of processes not counted in the figure (e.g. the owner during a hot hit).
            rec["side_cpu_us_per_req"] = (s1 - s0) * 1e6 / CLK_TCK / res["requests"] if res["requests"] else None
        # Per node: responses by X-Cache during the run, from the node's own counters.
        if nodes:
            by_source = node_sources(before_m, after_m)
            rec["node_responses"] = {k: int(v) for k, v in by_source.items() if v}
            rec["node_counters"] = deltas(before_m, after_m)
            total = sum(by_source.values())
            rec["expected_fraction"] = (sum(v for k, v in by_source.items() if k in expect) / total
                                        if total else None)
        append(a.out, rec)
        log(f"{a.name} rep {a.rep_label or rep + 1}: {res['rps']:.0f} req/s, p50 {res.get('p50_us', 0):.0f} us, "
            f"p99 {res.get('p99_us', 0):.0f} us, {rec['cpu_us_per_req']:.2f} CPU us/req "
            f"(server CPU {rec['cpu_util']*100:.0f}%, other load on its core {rec['foreign_util']*100:.0f}%; by pid {rec['cpu_us_per_req_by_pid']}), errors {res['non2xx']}+{res['socket_errors']}, "
            f"after: {seen_after}" + (f", node X-Cache {rec['node_responses']}, counters {rec['node_counters']}"
                                      if nodes else ""))


# --------------------------------------------------------------------------------------------
# small commands

def cmd_ports(a: argparse.Namespace) -> None:
    socks, ports = [], []
    for _ in range(a.n):
        s = socket.socket()
        s.bind((LOOPBACK, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print(" ".join(map(str, ports)))


def cmd_wait(a: argparse.Namespace) -> None:
    wait_http(a.url, a.timeout)


def cmd_get(a: argparse.Namespace) -> None:
    status, headers, body = http_get(a.url)
    print(status, headers.get(a.header.lower(), "-"), len(body))


def _parallel_get(urls: list[str], threads: int = 32) -> list[tuple[int, str]]:
    """GET every URL (loopback) with a few threads; (status, X-Cache) per URL, in order."""
    from concurrent.futures import ThreadPoolExecutor

    def one(url: str) -> tuple[int, str]:
        status, headers, _ = http_get(url, timeout=30)
        return status, headers.get("x-cache", "-")

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, urls, timeout=300))


def cmd_keyset(a: argparse.Namespace) -> None:
    """Finds COUNT new blob keys that the node at --owner owns (its first answer is MISS, not PEER),
    writes their request targets to --out, then requests each --passes times through every --via
    node so that those hold whatever requests leave behind (hot copies)."""
    found, answers, start = [], collections.Counter(), 0
    while len(found) < a.count and start < 50 * a.count:
        # No more keys than still needed per round: a node that owns them all then loads exactly
        # COUNT, none of which it had to evict to make room for keys the run does not use.
        batch = [f"/v2/blob/{a.tag}-{i}?size={a.size}" for i in range(start, start + max(16, a.count - len(found)))]
        for target, (status, xc) in zip(batch, _parallel_get([a.owner + t for t in batch])):
            answers[f"{status} {xc}"] += 1
            if status == 200 and xc == "MISS":
                found.append(target)
        start += len(batch)
    if len(found) < a.count:
        raise SystemExit(f"found {len(found)} of {a.count} keys owned by {a.owner} ({dict(answers)})")
    found = found[:a.count]
    for via in [v for v in a.via.split(",") if v]:
        for p in range(a.passes):
            seen = collections.Counter(f"{s} {x}" for s, x in _parallel_get([via + t for t in found]))
            log(f"keyset: pass {p + 1} through {via}: {dict(seen)}")
    with open(a.out, "w") as f:
        f.write("\n".join(found) + "\n")
    log(f"keyset: {len(found)} keys owned by {a.owner} (first answers there: {dict(answers)})")


def cmd_restart(a: argparse.Namespace) -> None:
    """Times a node started at --started (epoch seconds) on a full disk directory: until it is
    ready, until --target answers 200 with X-Cache --expect, and until its index scan is done."""
    deadline = time.monotonic() + a.timeout
    ready = first = indexed = None
    xcache = None
    while time.monotonic() < deadline and (ready is None or first is None or indexed is None):
        try:
            if ready is None:
                status, _, _ = http_get(f"{a.node}/_imgcache/readyz", timeout=2)
                if status == 200:
                    ready = time.time() - a.started
            if ready is not None and first is None:
                status, headers, _ = http_get(a.node + a.target, timeout=10)
                xcache = headers.get("x-cache")
                if status == 200:
                    first = time.time() - a.started
            if first is not None and indexed is None and metric(scrape(a.node), "imgcache_disk_index_done") == 1:
                indexed = time.time() - a.started
        except OSError:
            pass
        time.sleep(0.02)
    m = scrape(a.node)
    rec = {"kind": "restart", "ready_s": ready, "first_answer_s": first, "first_xcache": xcache,
           "expected": a.expect, "index_done_s": indexed,
           "indexed_files": metric(m, "imgcache_disk_index_files"),
           "origin_loads": metric(m, "imgcache_origin_requests_total", kind="load")}
    append(a.out, rec)
    log(f"restart: ready {ready}s, first answer {first}s ({xcache}), index done {indexed}s, "
        f"{rec['indexed_files']:.0f} files, {rec['origin_loads']:.0f} origin loads")


def cmd_mem(a: argparse.Namespace) -> None:
    print(json.dumps(rss_kib(a.pid)))


# --------------------------------------------------------------------------------------------
# storm: N concurrent requests for K new keys spread over the nodes

async def _storm_one(host: str, port: int, target: str, go: asyncio.Event, deadline: float) -> tuple:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), deadline)
    try:
        await go.wait()
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), deadline)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "-1"))
        body = await asyncio.wait_for(reader.readexactly(length), deadline) if length >= 0 else \
            await asyncio.wait_for(reader.read(), deadline)
        return status, headers.get("x-cache", "-"), body
    finally:
        writer.close()


async def _storm(nodes: list[str], targets: list[str], timeout: float) -> list:
    go = asyncio.Event()
    tasks = []
    for i, target in enumerate(targets):
        host, port, _ = split_url(nodes[i % len(nodes)])
        tasks.append(asyncio.create_task(_storm_one(host, port, target, go, timeout)))
    # Let every connection open (they block on `go`), then release all requests at once.
    await asyncio.sleep(min(3.0, 0.5 + len(targets) / 500))
    t0 = time.monotonic()
    go.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout + 30)
    return results, time.monotonic() - t0


def cmd_storm(a: argparse.Namespace) -> None:
    nodes = a.nodes.split(",")
    keys = [f"/v2/blob/storm-{a.tag}-{k}?size={a.size}" for k in range(a.keys)]
    targets = [keys[i % a.keys] for i in range(a.requests)]
    random.Random(a.seed).shuffle(targets)
    # What each body must be: one reference copy per key straight from the origin, fetched after
    # the storm (the origin is deterministic), so the storm itself is the first request for each.
    before = [scrape(n) for n in nodes]
    results, elapsed = asyncio.run(_storm(nodes, targets, a.timeout))
    after = [scrape(n) for n in nodes]
    loads = sum(metric(af, "imgcache_origin_requests_total", kind="load")
                - metric(b, "imgcache_origin_requests_total", kind="load") for b, af in zip(before, after))
    per_node = [metric(af, "imgcache_origin_requests_total", kind="load")
                - metric(b, "imgcache_origin_requests_total", kind="load") for b, af in zip(before, after)]
    coalesced = sum(metric(af, "imgcache_coalesced_waits_total") - metric(b, "imgcache_coalesced_waits_total")
                    for b, af in zip(before, after))
    fallbacks = sum(metric(af, "imgcache_fallbacks_total") - metric(b, "imgcache_fallbacks_total")
                    for b, af in zip(before, after))
    statuses = collections.Counter()
    xcache = collections.Counter()
    errors = collections.Counter()
    wrong_bytes = 0
    reference = {}
    for target in keys:
        status, _, body = http_get(a.origin + target)
        reference[target] = hashlib.sha256(body).digest() if status == 200 else None
    for target, r in zip(targets, results):
        if isinstance(r, BaseException):
            errors[type(r).__name__] += 1
            continue
        status, xc, body = r
        statuses[status] += 1
        xcache[xc] += 1
        if status == 200 and hashlib.sha256(body).digest() != reference[target]:
            wrong_bytes += 1
    rec = {"kind": "storm", "requests": a.requests, "keys": a.keys, "nodes": len(nodes),
           "origin_loads": int(loads), "origin_loads_per_node": [int(x) for x in per_node],
           "coalesced_waits": int(coalesced), "fallbacks": int(fallbacks),
           "statuses": {str(k): v for k, v in statuses.items()}, "xcache": dict(xcache),
           "errors": dict(errors), "wrong_bytes": wrong_bytes, "elapsed_s": elapsed,
           "size": a.size, "origin_delay": a.origin_delay, "node_counters": deltas(before, after)}
    append(a.out, rec)
    log(f"storm: {a.requests} requests for {a.keys} keys over {len(nodes)} nodes in {elapsed:.2f}s: "
        f"origin loads {int(loads)} {rec['origin_loads_per_node']}, statuses {dict(statuses)}, "
        f"X-Cache {dict(xcache)}, errors {dict(errors)}, wrong bytes {wrong_bytes}; counters {rec['node_counters']}")


# --------------------------------------------------------------------------------------------
# Zipf trace and LRU

def blob_size(key_id: int, lo: int, hi: int) -> int:
    h = int.from_bytes(hashlib.blake2b(str(key_id).encode(), digest_size=8).digest(), "big")
    return lo + h % (hi - lo + 1)


def zipf_trace(keys: int, requests: int, s: float, seed: int) -> list[int]:
    """`requests` key ids drawn from Zipf(s) over `keys` ranks; ranks mapped to ids by a seeded
    permutation so popularity is not tied to the id."""
    rng = random.Random(seed)
    cdf, acc = [], 0.0
    for rank in range(1, keys + 1):
        acc += 1.0 / rank ** s
        cdf.append(acc)
    ids = list(range(keys))
    rng.shuffle(ids)
    total = cdf[-1]
    return [ids[min(bisect.bisect_left(cdf, rng.random() * total), keys - 1)] for _ in range(requests)]


class Lru:
    def __init__(self, capacity: int):
        self.capacity, self.used, self.items = capacity, 0, collections.OrderedDict()

    def access(self, key: int, weight: int) -> bool:
        if key in self.items:
            self.items.move_to_end(key)
            return True
        if weight <= self.capacity:
            self.items[key] = weight
            self.used += weight
            while self.used > self.capacity:
                _, w = self.items.popitem(last=False)
                self.used -= w
        return False


def zipf_plan(a: argparse.Namespace) -> tuple[list[int], dict[int, int], int, int]:
    trace = zipf_trace(a.keys, a.requests, a.s, a.seed)
    sizes = {k: blob_size(k, a.min_size, a.max_size) for k in set(trace)}
    unique_bytes = sum(sizes.values())
    universe_bytes = sum(blob_size(k, a.min_size, a.max_size) for k in range(a.keys))
    return trace, sizes, unique_bytes, universe_bytes


def cmd_zipf_plan(a: argparse.Namespace) -> None:
    _, sizes, unique_bytes, universe_bytes = zipf_plan(a)
    print(int(unique_bytes * a.fraction))


def blob_target(key_id: int, size: int) -> str:
    return f"/v2/blob/z{key_id}?size={size}"


def cmd_zipf_run(a: argparse.Namespace) -> None:
    trace, sizes, unique_bytes, universe_bytes = zipf_plan(a)
    max_bytes = int(unique_bytes * a.fraction)
    host, port, _ = split_url(a.node)
    # Calibrate the node's per-entry weight on top of the body (headers, key, bookkeeping) with a
    # few keys outside the trace, so the LRU holds what imgcache's bytes would hold.
    m0 = scrape(a.node)
    cal_bodies = 0
    for i in range(20):
        size = blob_size(10_000_000 + i, a.min_size, a.max_size)
        status, _, body = http_get(f"{a.node}/v2/blob/z{10_000_000 + i}?size={size}")
        if status != 200:
            raise SystemExit(f"calibration request failed: {status}")
        cal_bodies += len(body)
    m1 = scrape(a.node)
    d_bytes = metric(m1, "imgcache_cache_bytes", cache="main") - metric(m0, "imgcache_cache_bytes", cache="main")
    d_entries = metric(m1, "imgcache_cache_entries", cache="main") - metric(m0, "imgcache_cache_entries", cache="main")
    overhead = int(round((d_bytes - cal_bodies) / d_entries)) if d_entries else 0
    log(f"zipf: {a.requests} requests over {a.keys} keys, {len(sizes)} distinct requested, "
        f"{unique_bytes/2**20:.1f} MiB requested ({universe_bytes/2**20:.1f} MiB in all keys); "
        f"cache {max_bytes/2**20:.1f} MiB; node weighs an entry as body + {overhead} B")

    results = bytearray(len(trace))  # 0 = not done, 1 = HIT, 2 = other 200, 3 = error
    sources = collections.Counter()
    lock = threading.Lock()
    cursor = iter(range(len(trace)))
    deadline = time.monotonic() + a.timeout

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        local = collections.Counter()
        while time.monotonic() < deadline:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            key = trace[i]
            for attempt in range(3):
                try:
                    conn.request("GET", blob_target(key, sizes[key]))
                    resp = conn.getresponse()
                    resp.read()
                    xc = resp.getheader("X-Cache", "-")
                    local[xc] += 1
                    results[i] = 1 if (resp.status == 200 and xc.startswith("HIT")) else (2 if resp.status == 200 else 3)
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                    results[i] = 3
        conn.close()
        with lock:
            sources.update(local)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 35)
    elapsed = time.monotonic() - t0
    done = sum(1 for r in results if r)
    if done < len(trace):
        raise SystemExit(f"zipf replay incomplete: {done}/{len(trace)} in {elapsed:.0f}s")
    half = len(trace) // 2
    measured = results[half:]
    errors = sum(1 for r in results if r == 3)
    node_ratio = sum(1 for r in measured if r == 1) / len(measured)

    def lru_ratio(capacity: int, per_entry: int) -> float:
        lru, hits = Lru(capacity), 0
        for i, key in enumerate(trace):
            hit = lru.access(key, sizes[key] + per_entry)
            if i >= half and hit:
                hits += 1
        return hits / (len(trace) - half)

    lru = lru_ratio(max_bytes, overhead)
    lru_body_only = lru_ratio(max_bytes, 0)
    m2 = scrape(a.node)
    rec = {"kind": "zipf", "label": a.label, "keys": a.keys, "requests": a.requests, "s": a.s, "seed": a.seed,
           "sizes": [a.min_size, a.max_size], "distinct_requested": len(sizes),
           "unique_bytes": unique_bytes, "universe_bytes": universe_bytes, "max_bytes": max_bytes,
           "fraction": a.fraction, "entry_overhead": overhead, "threads": a.threads,
           "imgcache_hit_ratio": node_ratio, "lru_hit_ratio": lru, "lru_body_only_hit_ratio": lru_body_only,
           "xcache": dict(sources), "errors": errors, "elapsed_s": elapsed,
           "node_cache_bytes": metric(m2, "imgcache_cache_bytes", cache="main"),
           "node_cache_entries": metric(m2, "imgcache_cache_entries", cache="main"),
           "node_origin_loads": metric(m2, "imgcache_origin_requests_total", kind="load")}
    append(a.out, rec)
    log(f"zipf: imgcache {node_ratio*100:.2f}% hits vs LRU {lru*100:.2f}% (LRU by body bytes only "
        f"{lru_body_only*100:.2f}%) over the second half; {elapsed:.0f}s, {len(trace)/elapsed:.0f} req/s, "
        f"X-Cache {dict(sources)}, errors {errors}")


# --------------------------------------------------------------------------------------------
# memory fill

def fill(node: str, ids: range, size: int, threads: int, timeout: float, prefix: str) -> dict:
    host, port, _ = split_url(node)
    lock = threading.Lock()
    cursor = iter(ids)
    deadline = time.monotonic() + timeout
    counts = collections.Counter()

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        local = collections.Counter()
        while time.monotonic() < deadline:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            try:
                conn.request("GET", f"/v2/blob/{prefix}{i}?size={size}")
                resp = conn.getresponse()
                body = resp.read()
                local[f"{resp.status} {resp.getheader('X-Cache', '-')}"] += 1
                if resp.status == 200 and len(body) != size:
                    local["short body"] += 1
            except (OSError, http.client.HTTPException) as e:
                local[type(e).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.close()
        with lock:
            counts.update(local)

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.0, deadline - time.monotonic()) + 35)
    counts["_elapsed_s"] = round(time.monotonic() - t0, 1)
    counts["_complete"] = int(sum(v for k, v in counts.items() if not k.startswith("_")) >= len(ids))
    return dict(counts)


def cmd_memory(a: argparse.Namespace) -> None:
    per_entry = a.size
    first = a.entries if a.entries else (a.max_bytes // per_entry)
    log(f"memory: filling {first} x {a.size} B into a {a.max_bytes/2**20:.0f} MiB cache")
    f1 = fill(a.node, range(first), a.size, a.threads, a.timeout, "m")
    m = scrape(a.node)
    cached = metric(m, "imgcache_cache_bytes", cache="main")
    entries = metric(m, "imgcache_cache_entries", cache="main")
    heap_used = metric(m, "jvm_memory_used_bytes", area="heap")
    heap_committed = metric(m, "jvm_memory_committed_bytes", area="heap")
    rss1 = rss_kib(a.pid)
    limit = 1.25 * cached + 150 * 2**20
    log(f"memory after 1x: {entries:.0f} entries, {cached/2**20:.0f} MiB cached, RSS "
        f"{rss1['VmRSS']/1024:.0f} MiB (limit {limit/2**20:.0f} MiB), heap used {heap_used/2**20:.0f} / "
        f"committed {heap_committed/2**20:.0f} MiB; fill {f1}")
    second = 3 * first - first
    f2 = fill(a.node, range(first, first + second), a.size, a.threads, a.timeout, "m")
    alive = True
    try:
        m2 = scrape(a.node)
    except (OSError, SystemExit):
        alive, m2 = False, {}
    rss2 = rss_kib(a.pid) if os.path.exists(f"/proc/{a.pid}") else {}
    with open(a.log, errors="replace") as fh:
        oom = sum(1 for line in fh if "OutOfMemoryError" in line)
    rec = {"kind": "memory", "max_bytes": a.max_bytes, "size": a.size, "jvm_flags": a.jvm_flags,
           "cached_bytes": cached, "entries": entries, "body_bytes_est": entries * a.size,
           "rss_kib": rss1["VmRSS"], "hwm_kib": rss1["VmHWM"], "limit_bytes": limit,
           "heap_used": heap_used, "heap_committed": heap_committed, "fill1": f1,
           "fill3": f2, "alive_after_3x": alive, "oom_lines": oom,
           "gc_after_3x": {k: v for k, v in m2.items() if k.startswith("jvm_gc_collection_seconds")},
           "rss_after_3x_kib": rss2.get("VmRSS"), "hwm_after_3x_kib": rss2.get("VmHWM"),
           "cached_after_3x": metric(m2, "imgcache_cache_bytes", cache="main") if m2 else None,
           "evictions_after_3x": metric(m2, "imgcache_cache_evictions_total", cache="main") if m2 else None}
    append(a.out, rec)
    log(f"memory after 3x: alive {alive}, OutOfMemoryError lines {oom}, RSS "
        f"{(rss2.get('VmRSS') or 0)/1024:.0f} MiB (peak {(rss2.get('VmHWM') or 0)/1024:.0f}), fill {f2}; "
        f"GC {rec['gc_after_3x']}")


# --------------------------------------------------------------------------------------------
# report

def _median_run(runs: list[dict]) -> dict | None:
    runs = [r for r in runs if r.get("cpu_us_per_req") is not None]
    if not runs:
        return None
    runs = sorted(runs, key=lambda r: r["cpu_us_per_req"])
    return runs[len(runs) // 2]


def _seen(r: dict) -> str:
    """What the node(s) answered during a run, and any counter that hints at trouble."""
    if r.get("node_responses") is None:
        return f"({r['xcache_after']} after)"
    text = ", ".join(f"{k} {v}" for k, v in sorted(r["node_responses"].items()))
    odd = {k: v for k, v in r.get("node_counters", {}).items()
           if k.startswith(("peer_health", "fallbacks", "origin_errors")) or "outcome=error" in k
           or k.startswith("origin_requests")}
    if odd:
        text += "; " + ", ".join(f"{k} +{v}" for k, v in odd.items())
    return text


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{x * 100:.0f} %"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def cmd_report(a: argparse.Namespace) -> None:
    records = [json.loads(line) for line in open(a.results) if line.strip()]
    meta = json.load(open(a.meta))
    wrk = collections.defaultdict(list)
    for r in records:
        if r["kind"] == "wrk":
            wrk[(r["group"], r["name"])].append(r)
    med = {k: _median_run(v) for k, v in wrk.items()}

    def cpu(group: str, name: str) -> float | None:
        r = med.get((group, name))
        return r["cpu_us_per_req"] if r else None

    def valid(*keys: tuple[str, str]) -> bool:
        """Every repetition answered what it was meant to measure, without errors."""
        for key in keys:
            for r in wrk.get(key, []):
                if r["non2xx"] or r["socket_errors"]:
                    return False
                if r.get("expected_fraction") is not None and r["expected_fraction"] < 0.99:
                    return False
        return True

    def judge(ratio: float | None, target: float, *keys: tuple[str, str]) -> str:
        if ratio is None:
            return "n/a"
        if not valid(*keys):
            return "INVALID (see X-Cache column)"
        return verdict(ratio <= target)

    def fmt(x: float | None, unit: str = "µs") -> str:
        return "—" if x is None else f"{x:.1f} {unit}".strip()

    rows = []
    for size, target in (("2KB", 1.0), ("20KB", 1.0), ("200KB", 1.2)):
        ic, ng = cpu("single", f"imgcache-hit-{size}"), cpu("single", f"nginx-hit-{size}")
        ratio = ic / ng if ic and ng else None
        rows.append((f"local hit, {size[:-2]} KB (CPU/req)", fmt(ic), f"nginx proxy_cache {fmt(ng)}",
                     "—" if ratio is None else f"{ratio:.2f}×", f"≤ {target:g}×",
                     judge(ratio, target, ("single", f"imgcache-hit-{size}"), ("single", f"nginx-hit-{size}"))))
    for grp, name, local, label, target in (
            ("cluster-hotoff", "peer-served-20KB", "local-hit-20KB", "peer-served hit, hot cache off, 20 KB (CPU of both nodes/req)", 2.0),
            ("cluster-hotoff", "relay-20KB", "local-hit-20KB", "reference: nginx proxy_pass (no cache) in front of the owner, 20 KB (CPU of nginx + owner/req)", None),
            ("cluster-hotoff", "peer-served-200KB", "local-hit-200KB", "peer-served hit, hot cache off, 200 KB (CPU of both nodes/req)", 1.5),
            ("cluster-hoton", "hot-hit-20KB", "local-hit-20KB", "hot hit, 20 KB (CPU/req)", 1.05)):
        x, ref = cpu(grp, name), cpu(grp, local)
        if x is None and name in ("relay-20KB", "peer-served-200KB"):
            continue  # a run from before these rows existed
        ratio = x / ref if x and ref else None
        rows.append((label, fmt(x), f"local hit, same cluster {fmt(ref)}",
                     "—" if ratio is None else f"{ratio:.2f}×", "—" if target is None else f"≤ {target:g}×",
                     "n/a" if target is None else judge(ratio, target, (grp, name), (grp, local))))
    tail = collections.defaultdict(list)  # (name, fraction) -> its runs, in order
    for r in records:
        if r["kind"] == "tail":
            tail[(r["name"], r["fraction"])].append(r)
    for size in ("2KB", "20KB"):
        ic, ng = med.get(("tail", f"imgcache-max-{size}")), med.get(("tail", f"nginx-max-{size}"))
        if ic and ng:
            ratio = ic["rps"] / ng["rps"]
            rows.append((f"local hit, {size[:-2]} KB: throughput at saturation (wrk)", f"{ic['rps']:,.0f} req/s",
                         f"nginx {ng['rps']:,.0f} req/s", f"{ratio:.2f}×", "≥ 1×",
                         judge(None if ratio is None else 1 / ratio, 1.0, ("tail", f"imgcache-max-{size}"),
                               ("tail", f"nginx-max-{size}"))))
        for fraction in sorted({f for (_, f) in tail}):
            i_runs, n_runs = tail.get((f"imgcache-{size}", fraction)), tail.get((f"nginx-{size}", fraction))
            if not i_runs or not n_runs:
                continue
            ok_runs = all(r["errors"] == 0 and r["non2xx"] == 0 for r in i_runs + n_runs) and all(
                r.get("expected_fraction") is None or r["expected_fraction"] >= 0.99 for r in i_runs)
            i, n = tail_medians(i_runs), tail_medians(n_runs)
            r99, r999 = i["p99_us"] / n["p99_us"], i["p999_us"] / n["p999_us"]
            runs = "" if len(i_runs) == 1 and len(n_runs) == 1 else (
                f", median of {len(i_runs)} and {len(n_runs)} runs; p99 per run {tail_runs(i_runs)} ms"
                f" against {tail_runs(n_runs)} ms")
            rows.append((f"local hit, {size[:-2]} KB, {n_runs[0]['target_rps']:,} req/s offered ({fraction:.0%} of nginx's max): p99 / p99.9",
                         f"{i['p99_us']/1000:.2f} / {i['p999_us']/1000:.2f} ms (p50 {i['p50_us']/1000:.2f}{runs})",
                         f"nginx {n['p99_us']/1000:.2f} / {n['p999_us']/1000:.2f} ms (p50 {n['p50_us']/1000:.2f})",
                         f"{r99:.2f}× / {r999:.2f}×", "≤ 1.2× / ≤ 2×",
                         verdict(r99 <= 1.2 and r999 <= 2) if ok_runs else "INVALID (errors or not HIT)"))
    storm = [r for r in records if r["kind"] == "storm"]
    if storm:
        exact = [s for s in storm if s["origin_loads"] == s["keys"] and s["fallbacks"] == 0
                 and s["statuses"] == {"200": s["requests"]} and not s["errors"] and s["wrong_bytes"] == 0]
        s = storm[-1]
        rows.append((f"storm: {s['requests']} concurrent requests, {s['keys']} new keys, {s['nodes']} nodes; "
                     f"{len(storm)} run(s)",
                     "origin loads " + ", ".join(str(r["origin_loads"]) for r in storm), "—",
                     f"{len(exact)}/{len(storm)} exact; fallbacks " + ", ".join(str(r["fallbacks"]) for r in storm)
                     + "; wrong bodies " + str(sum(r["wrong_bytes"] for r in storm)) + "; peers marked unhealthy "
                     + str(sum(r["node_counters"].get("peer_health_transitions{to=unhealthy}", 0) for r in storm)),
                     f"= {s['keys']}, 0 fallbacks, every run", verdict(len(exact) == len(storm))))
    else:
        rows.append(("storm", "not run", "—", "—", "= 100", "n/a"))
    x, ref = cpu("disk", "disk-hit-20KB"), cpu("disk", "memory-hit-20KB")
    if x or ref:
        ratio = x / ref if x and ref else None
        rows.append(("disk hit, warm page cache, 20 KB (CPU/req)", fmt(x), f"memory hit, same key count {fmt(ref)}",
                     "—" if ratio is None else f"{ratio:.2f}×", "≤ 1.5×",
                     judge(ratio, 1.5, ("disk", "disk-hit-20KB"), ("disk", "memory-hit-20KB"))))
    for r in [r for r in records if r["kind"] == "restart"][-1:]:
        ok = r["first_answer_s"] is not None and r["first_answer_s"] <= 5 and r["first_xcache"] == r["expected"]
        rows.append((f"restart on a disk of {r['indexed_files']:,.0f} files: first {r['expected']} answer",
                     "—" if r["first_answer_s"] is None else f"{r['first_answer_s']:.2f} s after start",
                     f"ready {r['ready_s'] or 0:.2f} s, index done {r['index_done_s'] or 0:.2f} s, "
                     f"{r['origin_loads']:.0f} origin loads", "—", "≤ 5 s", verdict(ok)))
    zipf_disk = [r for r in records if r["kind"] == "zipf" and r.get("label") == "disk"]
    records = [r for r in records if not (r["kind"] == "zipf" and r.get("label") == "disk")]
    zipf = [r for r in records if r["kind"] == "zipf"]
    if zipf_disk:
        zd = zipf_disk[-1]
        mem_only = zipf[-1]["imgcache_hit_ratio"] if zipf else None
        rows.append((f"hit ratio, Zipf({zd['s']:g}), same memory + a disk of 10 ×",
                     f"{zd['imgcache_hit_ratio']*100:.2f} % ({zd['xcache'].get('HIT-DISK', 0):,} from disk)",
                     "memory only " + ("—" if mem_only is None else f"{mem_only*100:.2f} %"),
                     "—" if mem_only is None else f"{(zd['imgcache_hit_ratio'] - mem_only)*100:+.2f} points",
                     "higher", verdict(None if mem_only is None else zd["imgcache_hit_ratio"] > mem_only)))
    if zipf:
        z = zipf[-1]
        d = (z["imgcache_hit_ratio"] - z["lru_hit_ratio"]) * 100
        rows.append((f"hit ratio, Zipf({z['s']:g}) over {z['keys']:,} keys, cache = {z['fraction']*100:g} % of bytes",
                     f"{z['imgcache_hit_ratio']*100:.2f} %", f"LRU {z['lru_hit_ratio']*100:.2f} %",
                     f"{d:+.2f} points", "≥ +3 points", verdict(d >= 3 and z["errors"] == 0)))
    else:
        rows.append(("hit ratio, Zipf(0.9)", "not run", "—", "—", "≥ +3 points", "n/a"))
    mem = [r for r in records if r["kind"] == "memory"]
    if mem:
        m = mem[-1]
        rss = m["rss_kib"] * 1024
        rows.append((f"RSS after caching 1 GiB of 20 KB objects",
                     f"{rss/2**20:.0f} MiB", f"1.25 × {m['cached_bytes']/2**20:.0f} MiB + 150 MiB = {m['limit_bytes']/2**20:.0f} MiB",
                     f"{rss/m['limit_bytes']:.2f}× of limit", "≤ 1.00×", verdict(rss <= m["limit_bytes"] and m["fill1"].get("_complete") == 1)))
        rss3 = (m.get("rss_after_3x_kib") or 0) * 1024
        rows.append(("fill 3 × max-bytes", "alive" if m["alive_after_3x"] else "DEAD",
                     f"{m['oom_lines']} OutOfMemoryError lines",
                     f"RSS then {rss3/2**20:.0f} MiB ({rss3/m['limit_bytes']:.2f}× of limit)", "alive, no OOM",
                     verdict(m["alive_after_3x"] and m["oom_lines"] == 0 and m["fill3"].get("_complete") == 1)))
    else:
        rows.append(("memory (1 GiB of 20 KB objects; 3 × fill)", "skipped", "—", "—", "—", "n/a"))

    lines = []
    lines.append("| what | imgcache | reference (same run) | ratio | target | |")
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    summary = "\n".join(lines)

    detail = ["| group | run | server | req/s | p50 | p99 | CPU µs/req | of which JIT | server CPU | other load on CPU 0 | X-Cache answered by the node(s) | errors |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    order = ["single", "tail", "cluster-hotoff", "cluster-hoton", "disk"]
    size_order = {"2KB": 0, "20KB": 1, "200KB": 2}
    for (group, name), r in sorted(med.items(), key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else 9,
                                                                 size_order.get(kv[1]["size"], 9), kv[0][1])):
        if r is None:
            continue
        reps = len(wrk[(group, name)])
        detail.append(f"| {group} | {name}{'' if reps == 1 else f' (median of {reps})'} | {r['server']} | {r['rps']:.0f} | "
                      f"{r.get('p50_us', 0)/1000:.2f} ms | {r.get('p99_us', 0)/1000:.2f} ms | "
                      f"{r['cpu_us_per_req']:.1f} | {r.get('jit_us_per_req', 0):.1f} | {r['cpu_util']*100:.0f} % | "
                      f"{_pct(r.get('foreign_util'))} | "
                      f"{_seen(r)} | "
                      f"{r['non2xx']}+{r['socket_errors']} |")
    detail_text = "\n".join(detail)

    print(summary)
    print()
    print(detail_text)

    md = [f"# imgcache benchmark, {meta['date']}", "",
          f"Command: `{meta['command']}`  ", f"Commit: `{meta['commit']}`  ",
          f"Machine: {meta['nproc']} CPUs, {meta['model']}, {meta['mem']}, kernel {meta['kernel']}  ",
          f"imgcache: {meta.get('imgcache', '?')}  ", f"Java: {meta['java']}  ", f"nginx: {meta['nginx']}  ", f"wrk: {meta['wrk']}  ",
          f"Total time: {meta.get('elapsed', '?')}; load average (1 min) {meta.get('loadavg', '?')}", "",
          "## Result", "", summary, "", "## Every wrk run (median by CPU/request where repeated)", "",
          detail_text, ""]
    md += ["## Where the CPU went (µs per request, by process and thread name; median run)", ""]
    for (group, name), r in sorted(med.items()):
        if r is None or not r.get("threads_us_per_req"):
            continue
        for pid, threads in r["threads_us_per_req"].items():
            top = ", ".join(f"{k} {v:g}" for k, v in list(threads.items())[:6])
            md.append(f"- {group} / {name}, pid {pid} ({r['cpu_us_per_req_by_pid'].get(pid, '?')} µs): {top}")
    events = open(a.events).read().strip() if a.events and os.path.exists(a.events) else ""
    md += ["", "## Node state changes (from the nodes' logs)", "",
           "```", events or "none: no peer left a ring, no ring changed after start", "```"]
    md += ["", "## Settings", ""]
    md += [f"- {line}" for line in meta["settings"]]
    md += ["", "## How the figures are taken", ""]
    md += [f"- {line}" for line in meta["method"]]
    md += ["", "## Raw records", "", "```json"] + [json.dumps(r, sort_keys=True) for r in records] + ["```", ""]
    with open(a.md, "w") as f:
        f.write("\n".join(md))


# --------------------------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("ports", help="print N free loopback ports")
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_ports)

    s = sub.add_parser("wait", help="wait until URL answers 2xx")
    s.add_argument("url")
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(fn=cmd_wait)

    s = sub.add_parser("get", help="GET URL once; print status, a header and the body length")
    s.add_argument("url")
    s.add_argument("--header", default="X-Cache")
    s.set_defaults(fn=cmd_get)

    s = sub.add_parser("keyset", help="new keys owned by one node, warmed through others")
    s.add_argument("--owner", required=True)
    s.add_argument("--via", default="")
    s.add_argument("--count", type=int, default=256)
    s.add_argument("--size", type=int, default=20480)
    s.add_argument("--passes", type=int, default=1)
    s.add_argument("--tag", default=f"k{os.getpid()}")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_keyset)

    s = sub.add_parser("mem", help="VmRSS etc. of PID, KiB")
    s.add_argument("pid", type=int)
    s.set_defaults(fn=cmd_mem)

    s = sub.add_parser("wrk", help="measured wrk run(s) with server CPU from /proc")
    s.add_argument("--name", required=True)
    s.add_argument("--group", required=True)
    s.add_argument("--server", required=True)
    s.add_argument("--size", required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--cpu-pids", required=True, help="comma-separated roots of the measured process trees")
    s.add_argument("--paths-file", default="", help="rotate over these request targets (one per line) instead of URL's")
    s.add_argument("--side-pids", default="", help="process trees whose CPU is recorded but not counted")
    s.add_argument("--node-metrics", default="", help="comma-separated node base URLs to read X-Cache counters from")
    s.add_argument("--expect", required=True, help="comma-separated acceptable X-Cache values")
    s.add_argument("--header", default="X-Cache")
    s.add_argument("--duration", type=float, default=10)
    s.add_argument("--warmup", type=float, default=3)
    s.add_argument("--reps", type=int, default=1)
    s.add_argument("--conns", type=int, default=16)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--client-cpu", default="1")
    s.add_argument("--server-cpu", type=int, default=0)
    s.add_argument("--rep-label", default="")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_wrk)

    s = sub.add_parser("tail", help="latency at a fixed rate (h2load --rps), a fraction of a wrk record's req/s")
    s.add_argument("--name", required=True)
    s.add_argument("--group", required=True)
    s.add_argument("--server", required=True)
    s.add_argument("--size", required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--cpu-pids", required=True)
    s.add_argument("--node-metrics", default="")
    s.add_argument("--expect", required=True)
    s.add_argument("--rate-of", required=True, help="the wrk record (name, same group) whose req/s sets the rate")
    s.add_argument("--fraction", type=float, required=True)
    s.add_argument("--duration", type=int, default=20)
    s.add_argument("--conns", type=int, default=16)
    s.add_argument("--client-cpu", default="1")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_tail)

    s = sub.add_parser("storm", help="N concurrent requests for K new keys over the nodes")
    s.add_argument("--nodes", required=True)
    s.add_argument("--origin", required=True, help="origin base URL, for the reference bodies")
    s.add_argument("--origin-delay", default="")
    s.add_argument("--requests", type=int, default=1000)
    s.add_argument("--keys", type=int, default=100)
    s.add_argument("--size", type=int, default=20480)
    s.add_argument("--tag", default=str(os.getpid()))
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--timeout", type=float, default=30)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_storm)

    for name, fn in (("zipf-plan", cmd_zipf_plan), ("zipf-run", cmd_zipf_run)):
        s = sub.add_parser(name, help="print the cache size for the trace" if name == "zipf-plan"
                           else "replay the Zipf trace through a node and compare with LRU")
        s.add_argument("--keys", type=int, default=100_000)
        s.add_argument("--requests", type=int, default=300_000)
        s.add_argument("--s", type=float, default=0.9)
        s.add_argument("--seed", type=int, default=42)
        s.add_argument("--min-size", type=int, default=2048)
        s.add_argument("--max-size", type=int, default=20480)
        s.add_argument("--fraction", type=float, default=0.10)
        s.add_argument("--node", default="")
        s.add_argument("--threads", type=int, default=32)
        s.add_argument("--timeout", type=float, default=900)
        s.add_argument("--out", default="")
        s.add_argument("--label", default="", help="tells this run apart in the report (e.g. disk)")
        s.set_defaults(fn=fn)

    s = sub.add_parser("restart", help="time a node's restart on its disk tier")
    s.add_argument("--node", required=True)
    s.add_argument("--started", type=float, required=True)
    s.add_argument("--target", required=True)
    s.add_argument("--expect", default="HIT-DISK")
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_restart)

    s = sub.add_parser("memory", help="fill a node with 1x then 3x max-bytes of blobs")
    s.add_argument("--node", required=True)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--max-bytes", type=int, required=True)
    s.add_argument("--size", type=int, default=20480)
    s.add_argument("--entries", type=int, default=0, help="entries in the first fill; 0 = max-bytes / size")
    s.add_argument("--threads", type=int, default=32)
    s.add_argument("--timeout", type=float, default=900)
    s.add_argument("--jvm-flags", default="")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_memory)

    s = sub.add_parser("report", help="print the table and write the markdown file")
    s.add_argument("--results", required=True)
    s.add_argument("--meta", required=True)
    s.add_argument("--md", required=True)
    s.add_argument("--events", default="")
    s.set_defaults(fn=cmd_report)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
