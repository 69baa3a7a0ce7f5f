#!/usr/bin/env python3
"""Figures and assertions for imgcache's chaos suite (Python 3 stdlib only).

  report.py scenario DIR                     reads DIR/{meta,load,watch,caches}.json and
                                             DIR/events.jsonl, writes DIR/result.json
  report.py table RUNDIR --out F.md          one table of every scenario's cases and one of
                                             every assertion; prints it, writes F.md, ends with
                                             "N passed, M failed"; exit 1 on any failure

Times are wall-clock seconds (time.time() in the namespaces, date +%s.%N in the driver: one
kernel, one clock). A ring "drop" is the first poll (every 100 ms) in which an observer's
/_imgcache/ring shows the target unhealthy or absent; a "restore" the first in which it shows
it present and healthy.
"""

import argparse
import json
import os
import subprocess
import sys

BOUND = 4.5  # health.interval x unhealthy-threshold + timeout = 3.5 s (README), + 1 s
MOVE_LIMIT = 0.05  # scenario 7: origin loads <= 5 % of the keys that moved


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def short(url):
    return "h" + url.split("//")[1].split(":")[0].rsplit(".", 1)[1]


def fmt(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


class Run:
    """Everything one scenario recorded."""

    def __init__(self, sdir):
        self.dir = sdir
        self.meta = load_json(os.path.join(sdir, "meta.json"), {})
        self.nodes = [n for n in self.meta.get("nodes", "").split(",") if n]
        self.events = []
        try:
            with open(os.path.join(sdir, "events.jsonl")) as f:
                self.events = [json.loads(line) for line in f if line.strip()]
        except OSError:
            pass
        self.load = load_json(os.path.join(sdir, "load.json"))
        self.watch = load_json(os.path.join(sdir, "watch.json"))
        self.caches = load_json(os.path.join(sdir, "caches.json"))
        self.rings = {}
        for r in (self.watch or {}).get("rings", []):
            self.rings.setdefault(r["observer"], []).append((r["t"], r["view"]))
        for v in self.rings.values():
            v.sort(key=lambda x: x[0])
        self.series = {}
        for s in (self.watch or {}).get("series", []):
            self.series.setdefault(s["node"], []).append(s)

    def event(self, name, nth=0, **match):
        found = [e for e in self.events if e["name"] == name and all(e.get(k) == v for k, v in match.items())]
        return found[nth] if len(found) > nth else None

    def t(self, name, nth=0, **match):
        e = self.event(name, nth, **match)
        return e["t"] if e else None

    # -- rings ---------------------------------------------------------------------------------

    def view_at(self, observer, t):
        view = None
        for ts, v in self.rings.get(observer, []):
            if ts > t:
                break
            view = v
        return view

    def first(self, observer, since, pred, until=None):
        """Seconds from `since` to the first recorded view of `observer` satisfying pred."""
        if since is None:
            return None
        if pred(self.view_at(observer, since)):
            return 0.0
        for ts, v in self.rings.get(observer, []):
            if ts < since:
                continue
            if until is not None and ts > until:
                return None
            if pred(v):
                return ts - since
        return None

    def changes(self, a, b):
        """View changes each observer recorded in [a, b) (unreachable polls are not changes)."""
        out = {}
        for obs, recs in self.rings.items():
            last, n = None, 0
            for ts, v in recs:
                if not isinstance(v, dict):
                    continue
                if last is not None and v != last and a <= ts < b:
                    n += 1
                last = v
            out[short(obs)] = n
        return out

    # -- counters ------------------------------------------------------------------------------

    def counter_at(self, node, t, field="origin_loads"):
        value = 0.0
        for s in self.series.get(node, []):
            if s["t"] > t:
                break
            value = s.get(field, 0.0)
        return value

    def counter(self, a, b, field="origin_loads"):
        if a is None or b is None:
            return None
        return int(round(sum(self.counter_at(n, b, field) - self.counter_at(n, a, field) for n in self.series)))

    def window(self, a, b):
        """(requests, {node: errors}) the load generator sent in [a, b)."""
        if not self.load or a is None or b is None:
            return None, {}
        t0 = self.load["start"]
        req, err = 0, {short(n): 0 for n in self.nodes}
        for sec, cells in self.load.get("timeline", {}).items():
            ts = t0 + int(sec)
            if a - 1 < ts < b:
                for node, (r, e) in cells.items():
                    req += r
        for e in self.load.get("error_list", []):
            if a <= e["t"] < b:
                err[short(e["node"])] = err.get(short(e["node"]), 0) + 1
        return req, err

    def errors_by_node(self):
        if not self.load:
            return {}
        return {short(n): s["errors"] for n, s in self.load["per_node"].items()}

    def dups(self, caches=None):
        caches = caches if caches is not None else self.caches
        return None if caches is None else len(caches["main_duplicates"])


def errs(d, nodes=None):
    if not d:
        return "–"
    keys = sorted(d) if nodes is None else nodes
    return "/".join(str(d.get(k, 0)) for k in keys)


def dropped(target):
    return lambda v: isinstance(v, dict) and (target not in v or not v[target])


def restored(target):
    return lambda v: isinstance(v, dict) and v.get(target) is True


def absent(target):
    return lambda v: isinstance(v, dict) and target not in v


def ring_times(run, target, survivors, fault, restore):
    drops = {short(s): run.first(s, fault, dropped(target), restore) for s in survivors}
    backs = {short(s): run.first(s, restore, restored(target)) for s in survivors}
    gone = {short(s): run.first(s, fault, absent(target), restore) for s in survivors}
    return drops, backs, gone


def worst(d):
    vals = list(d.values())
    if not vals or any(v is None for v in vals):
        return None
    return max(vals)


def per(d):
    return ", ".join(f"{k} {fmt(v)}" for k, v in sorted(d.items()))


class Result:
    def __init__(self, run):
        self.run = run
        self.n = run.meta.get("scenario")
        self.title = run.meta.get("title", "")
        self.cases = []
        self.assertions = []

    def case(self, name, requests=None, errors=None, wrong=None, origin=None, keys=None, drop=None,
             restore=None, dups=None, notes=""):
        self.cases.append({"scenario": self.n, "case": name, "requests": requests, "errors": errors,
                           "wrong": wrong, "origin": origin, "keys": keys, "drop": drop, "restore": restore,
                           "dups": dups, "notes": notes})

    def check(self, text, value, limit, ok, counted=True):
        self.assertions.append({"scenario": self.n, "text": text, "value": value, "limit": limit,
                                "ok": bool(ok), "counted": counted})

    def whole(self, name, drop=None, restore=None, notes=""):
        r = self.run
        ld = r.load or {}
        origin = r.counter(ld.get("start"), ld.get("end", 0) + 1) if ld else None
        self.case(name, ld.get("requests"), errs(r.errors_by_node()), ld.get("wrong_bytes"), origin,
                  ld.get("unique_keys"), drop, restore, r.dups(), notes)

    def common(self):
        r = self.run
        ld = r.load
        agree = [load_json(os.path.join(r.dir, f)) for f in ("origins-agree.json", "origins-agree-h4.json")
                 if os.path.exists(os.path.join(r.dir, f))]
        differing = None if not agree or None in agree else sum(a["differing"] for a in agree)
        origins = 3 + (len(agree) > 1)
        self.check(f"precondition: all {origins} origins render identical bytes for every key",
                   "missing" if differing is None else f"{differing} keys differ", 0, differing == 0)
        self.check("wrong bytes = 0 (all nodes)", None if ld is None else ld["wrong_bytes"], 0,
                   ld is not None and ld["wrong_bytes"] == 0)
        if ld is not None and ld.get("wrong_headers"):
            self.check("wrong headers = 0 (Content-Type, ETag)", ld["wrong_headers"], 0, False, counted=False)

    def survivors_errors(self, survivors, what="client errors on nodes that stay up = 0"):
        ld = self.run.load
        if ld is None:
            self.check(what, "missing", 0, False)
            return
        n = sum(ld["per_node"][s]["errors"] for s in survivors)
        self.check(f"{what} ({','.join(short(s) for s in survivors)})", n, 0, n == 0)

    def drop_check(self, drops):
        w = worst(drops)
        self.check(f"ring drop time <= {BOUND} s, every survivor ({per(drops)})", fmt(w), BOUND,
                   w is not None and w <= BOUND)

    def dup_note(self):
        d = self.run.dups()
        if d:
            self.check("main-cache duplicates afterwards = 0 (not asserted here)", d, 0, False, counted=False)


def analyse_fault(res, verb):
    """Scenarios 1-3: one target, a fault and a restore."""
    r = res.run
    f = r.event("fault")
    fault, restore = r.t("fault"), r.t("restore")
    target = f["target"] if f else None
    survivors = f["survivors"] if f else []
    drops, backs, gone = ring_times(r, target, survivors, fault, restore) if f else ({}, {}, {})
    notes = [f"drop {per(drops)}", f"restore {per(backs)}"]
    if any(v is not None for v in gone.values()):
        notes.append(f"absent (etcd) {per(gone)}")
    ready = r.t("node_ready")
    if ready and restore:
        notes.append(f"node ready {ready - restore:.1f}s after restart")
    ld = r.load or {}
    if ld and target:
        vs = ld["per_node"].get(target, {})
        notes.append(f"{short(target)} errors {vs.get('error_kinds')}")
    fb = r.counter(ld.get("start"), ld.get("end", 0) + 1, "fallbacks") if ld else None
    notes.append(f"fallbacks {fb}")
    res.whole(f"{verb} {short(target) if target else '?'}", worst(drops), worst(backs), "; ".join(notes))
    res.common()
    return target, survivors, drops


def s1(res):
    target, survivors, drops = analyse_fault(res, "kill -9, restart")
    res.survivors_errors(survivors)
    res.drop_check(drops)
    res.dup_note()


def s2(res):
    target, survivors, drops = analyse_fault(res, "SIGSTOP 20 s, SIGCONT")
    res.survivors_errors(survivors)
    res.drop_check(drops)
    res.dup_note()


def s3(res):
    r = res.run
    target, survivors, drops = analyse_fault(res, "nft cut 20 s, heal")
    # The cut-off node's own view of the others.
    fault, restore = r.t("fault"), r.t("restore")
    if target:
        own = {short(s): r.first(target, fault, dropped(s), restore) for s in survivors}
        res.cases[-1]["notes"] += f"; {short(target)} drops the others: {per(own)}"
    d = r.dups()
    res.check("no key in two main caches after healing", "missing" if d is None else d, 0, d == 0)
    res.drop_check(drops)


def s8(res):
    target, survivors, drops = analyse_fault(res, "nft cut h2 <-> h3 only, 20 s, heal: h3 drops")
    r = res.run
    if target and survivors:
        back = r.first(target, r.t("fault"), dropped(survivors[0]), r.t("restore"))
        res.cases[-1]["notes"] += f"; {short(target)} drops {short(survivors[0])} after {fmt(back)} s; h1 keeps both"
    d = res.run.dups()
    res.check("no key in two main caches after healing", "missing" if d is None else d, 0, d == 0)
    res.drop_check(drops)


def runs(values):
    """[3, 3, 1, 2, 2] -> '3x2 1x1 2x2'."""
    out = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return " ".join(f"{v}x{n}" for v, n in out)


def s4(res):
    r = res.run
    lead, everything, restore, end = r.t("fault_leader"), r.t("fault_all"), r.t("restore"), r.t("end")
    member = (r.event("fault_leader") or {}).get("member", "?")
    regs = []
    try:
        with open(os.path.join(r.dir, "registrations.jsonl")) as f:
            regs = [json.loads(line)["registrations"] for line in f if line.strip()]
    except (OSError, ValueError):
        pass
    healthy = r.t("etcd_healthy")
    for name, a, b, extra in [
            (f"kill etcd leader {member}", lead, everything, ""),
            ("all etcd down 30 s", everything, restore, ""),
            ("etcd restored", restore, end,
             (f"etcd healthy {healthy - restore:.1f}s after restart; " if healthy and restore else "")
             + f"registrations each second: {runs(regs)}")]:
        req, err = r.window(a, b)
        ch = r.changes(a, b) if a and b else {}
        res.case(name, req, errs(err), None, r.counter(a, b), None, None, None, None,
                 f"ring changes {ch}" + (f"; {extra}" if extra else ""))
    res.whole("whole run")
    res.common()
    res.survivors_errors(r.nodes)
    ch = r.changes(lead, end) if lead and end else {}
    total = sum(ch.values())
    res.check("rings unchanged while etcd is lost and restored (extra)", total, 0, total == 0, counted=False)
    probe = r.t("probe_put")
    lags = {}
    for node in r.nodes:
        before = r.counter_at(node, probe, "bans") if probe else 0
        lags[short(node)] = next((round(s["t"] - probe, 2) for s in r.series.get(node, [])
                                  if probe and s["t"] >= probe and s.get("bans", 0) > before), None)
    worst = None if not lags or None in lags.values() else max(lags.values())
    res.check("every node sees a ban put in etcd within 3 s of etcd answering (target 2 s; metrics "
              f"sampled every 0.5 s): {lags}", worst, 3, worst is not None and worst <= 3)
    res.check("three registrations in etcd at every second of the 30 s after restore (extra)",
              f"min {min(regs)}, last {regs[-1]}" if regs else None, 3, bool(regs) and min(regs) == 3,
              counted=False)
    res.dup_note()


def s5(res):
    r = res.run
    f = r.event("fault") or {}
    fault, restore = r.t("fault"), r.t("restore")
    ld = r.load
    cached_err, cold_err, kinds = 0, 0, {}
    if ld and fault:
        first_ok = ld["first_ok"]
        for e in ld["error_list"]:
            if e["t"] < fault:
                continue
            t_ok = first_ok.get(e["key"])
            if t_ok is not None and t_ok < fault:
                cached_err += 1
                kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
            else:
                cold_err += 1
    fb = r.counter(fault, (ld or {}).get("end", 0) + 1, "fallbacks") if ld else None
    ch = r.changes(fault, r.t("end")) if fault and r.t("end") else {}
    res.whole(f"origin {f.get('origin', '?')} down 20 s",
              notes=f"errors for cached keys {cached_err} {kinds}, for keys not cached before {cold_err}; "
                    f"fallbacks {fb}; ring changes {ch}")
    res.common()
    res.check("client errors for already-cached keys = 0", cached_err if ld else "missing", 0,
              ld is not None and cached_err == 0)
    # Every imgfit computes every image: the host whose origin is down loads through a peer's.
    res.check("client errors = 0 (loads go through a healthy peer's origin)",
              cached_err + cold_err if ld else "missing", 0, ld is not None and cached_err + cold_err == 0)
    res.dup_note()


def s6(res):
    r = res.run
    statuses = []
    for n in r.nodes:
        term = r.t("term", target=n)
        ex = r.event("exited", target=n)
        ready = r.t("node_ready", target=n)
        conv = r.t("ring_converged", target=n)
        others = [s for s in r.nodes if s != n]
        drops = {short(s): r.first(s, term, dropped(n), ready) for s in others} if term else {}
        backs = {short(s): r.first(s, ex["t"], restored(n)) for s in others} if ex else {}
        req, err = r.window(term, conv or ((ready or 0) + 3))
        st = ex.get("status") if ex else None
        statuses.append(st)
        notes = [f"exit {st}", f"peers drop it after SIGTERM: {per(drops)}"]
        if ex and term:
            notes.append(f"stopped {ex['t'] - term:.1f}s after SIGTERM")
        if ready and ex:
            notes.append(f"ready {ready - ex['t']:.1f}s after restart")
        res.case(f"SIGTERM {short(n)}, restart", req, errs(err), None, r.counter(term, conv), None,
                 worst(drops), worst(backs), None, "; ".join(notes))
    ld = r.load or {}
    kinds = {short(n): s["error_kinds"] for n, s in ld.get("per_node", {}).items() if s["errors"]}
    res.whole("whole run", notes=f"errors {kinds}" if kinds else "")
    res.common()
    total = ld.get("errors") if ld else None
    res.check("zero failed requests", "missing" if total is None else total, 0, total == 0)
    res.check("every SIGTERM exits 0 (extra)", statuses, 0, all(s == 0 for s in statuses) and statuses,
              counted=False)
    res.dup_note()


def holders(caches):
    return {k: set(v["main"]) for k, v in caches["keys"].items()} if caches else {}


def s7(res):
    r = res.run
    before = holders(load_json(os.path.join(r.dir, "caches-before.json")))
    mid = holders(load_json(os.path.join(r.dir, "caches-mid.json")))
    after = holders(load_json(os.path.join(r.dir, "caches-after.json")) or r.caches)
    h4 = (r.event("add") or {}).get("target")
    add, remove, end = r.t("add"), r.t("remove"), r.t("end")
    ready, conv = r.t("node_ready"), r.t("ring_converged")
    moved_in = sum(1 for k, m in mid.items() if m and m != before.get(k))
    unplaced = sum(1 for k, m in mid.items() if not m)
    moved_out = sum(1 for k, m in mid.items() if h4 in m)
    returned = sum(1 for k, m in mid.items() if h4 in m and after.get(k))
    not_cached_before = sum(1 for k, m in before.items() if not m)
    o_add = r.counter(add, remove)
    o_rm = r.counter(remove, end)
    req, err = r.window(add, remove)
    others = [n for n in r.nodes if n != h4]
    joins = {short(s): r.first(s, ready, restored(h4)) for s in r.nodes} if ready and h4 else {}
    res.case(f"add {short(h4) if h4 else '?'}", req, errs(err), None, o_add, moved_in, None, worst(joins),
             r.dups(load_json(os.path.join(r.dir, "caches-mid.json"))),
             f"keys moved = main holder changed; {not_cached_before} keys not cached before the add, "
             f"{unplaced} in no main cache 20 s after; joined every ring {per(joins)} s after ready"
             + (f"; node ready {ready - add:.1f}s after the add started" if ready and add else ""))
    req, err = r.window(remove, end)
    leaves = {short(s): r.first(s, remove, dropped(h4)) for s in others} if remove and h4 else {}
    res.case(f"remove {short(h4) if h4 else '?'} (SIGTERM)", req, errs(err), None, o_rm, moved_out, worst(leaves),
             None, r.dups(), f"keys moved = held by {short(h4) if h4 else '?'} in main before the removal "
                             f"({returned} back in a main cache at the end); dropped {per(leaves)}")
    res.whole("whole run")
    res.common()
    res.survivors_errors(others)
    for name, o, moved in (("add", o_add, moved_in), ("remove", o_rm, moved_out)):
        limit = MOVE_LIMIT * moved if moved else None
        res.check(f"{name}: origin requests <= 5 % of the keys that moved ({moved} moved)",
                  "missing" if o is None else o, fmt(limit), o is not None and limit is not None and o <= limit)
    res.dup_note()


def s9(res):
    r = res.run
    host = (r.event("term") or {}).get("target")
    term, ex_ev, ready, conv, end = r.t("term"), r.event("exited"), r.t("node_ready"), r.t("ring_converged"), r.t("end")
    ex = ex_ev["t"] if ex_ev else None
    loads = disk_hits = None
    if host and ex and end:
        loads = int(round(r.counter_at(host, end) - r.counter_at(host, ex)))
        disk_hits = int(round(r.counter_at(host, end, "disk_hits") - r.counter_at(host, ex, "disk_hits")))
    req, err = r.window(term, end)
    notes = [f"exit {ex_ev.get('status') if ex_ev else '?'}"]
    if ready and ex:
        notes.append(f"ready {ready - ex:.1f}s after restart")
    notes.append(f"{disk_hits} answers from its disk after the restart")
    res.case(f"SIGTERM {short(host) if host else '?'} (disk tier), restart", req, errs(err), None,
             r.counter(term, end), None, None, None, None, "; ".join(notes))
    res.whole("whole run")
    res.common()
    total = (r.load or {}).get("errors")
    res.check("zero failed requests", "missing" if total is None else total, 0, total == 0)
    res.check(f"origin loads by {short(host) if host else '?'} after its restart = 0 (its keys come from its "
              f"disk: {disk_hits} disk hits)", "missing" if loads is None else loads, 0,
              loads == 0 and bool(disk_hits))
    res.dup_note()


ANALYSES = {1: s1, 2: s2, 3: s3, 4: s4, 5: s5, 6: s6, 7: s7, 8: s8, 9: s9}


def cmd_scenario(args):
    run = Run(args.dir)
    res = Result(run)
    if res.n not in ANALYSES:
        print(f"report: no meta.json in {args.dir}", file=sys.stderr)
        return 1
    if run.load is None:
        res.check("the load generator wrote its results", "missing", "load.json", False)
    ANALYSES[res.n](res)
    out = {"scenario": res.n, "title": res.title, "cases": res.cases, "assertions": res.assertions}
    with open(os.path.join(args.dir, "result.json"), "w") as f:
        json.dump(out, f, indent=1)
    for a in res.assertions:
        verdict = ("PASS" if a["ok"] else "FAIL") if a["counted"] else ("ok" if a["ok"] else "NOT OK") + " (not counted)"
        print(f"  s{res.n}: {verdict}: {a['text']}: "
              f"{a['value']} (limit {a['limit']})", file=sys.stderr)
    return 0


def cmd_table(args):
    results = []
    for name in sorted(os.listdir(args.rundir)):
        if name.startswith("s") and name[1:].isdigit():
            res = load_json(os.path.join(args.rundir, name, "result.json"))
            if res is None:
                res = {"scenario": int(name[1:]), "title": "(no result)", "cases": [],
                       "assertions": [{"scenario": int(name[1:]), "text": "scenario produced a result",
                                       "value": "missing", "limit": "result.json", "ok": False,
                                       "counted": True}]}
            results.append(res)
    results.sort(key=lambda r: r["scenario"])
    try:
        commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "describe", "--always",
                                 "--dirty"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    try:
        with open(os.path.join(args.rundir, "version.txt")) as f:
            jar = f.read().strip()
    except OSError:
        jar = "?"
    lines = [f"# imgcache chaos run {os.path.basename(os.path.normpath(args.rundir))}", "",
             f"jar: {jar}; working tree at the end: {commit or '?'}; total time {args.elapsed // 60} min {args.elapsed % 60} s; "
             f"ring drop bound {BOUND} s (health interval 1 s x threshold 3 + timeout 0.5 s, + 1 s)", "",
             "Errors are per node, in node order (h1/h2/h3[/h4]); origin = loads from the origins "
             "(node metrics); keys = unique keys requested (scenario 7: keys that moved); drop / restore = "
             "seconds until every survivor's ring dropped / restored the target; dups = keys in two main "
             "caches at the end.", "",
             "| # | case | requests | errors | wrong bytes | origin / keys | drop s | restore s | dups | notes |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---|"]
    for res in results:
        for c in res["cases"]:
            lines.append(f"| {c['scenario']} | {c['case']} | {fmt(c['requests'])} | {c['errors'] or '–'} | "
                         f"{fmt(c['wrong'])} | {fmt(c['origin'])} / {fmt(c['keys'])} | {fmt(c['drop'])} | "
                         f"{fmt(c['restore'])} | {fmt(c['dups'])} | {c['notes']} |")
    lines += ["", "| # | assertion | value | limit | result |", "|---|---|---|---|---|"]
    passed = failed = 0
    for res in results:
        for a in res["assertions"]:
            verdict = ("PASS" if a["ok"] else "FAIL") if a["counted"] else ("ok (not counted)" if a["ok"]
                                                                          else "NOT OK (not counted)")
            if a["counted"]:
                passed += a["ok"]
                failed += not a["ok"]
            lines.append(f"| {a['scenario']} | {a['text']} | {a['value']} | {a['limit']} | {verdict} |")
    lines += ["", f"{passed} passed, {failed} failed"]
    text = "\n".join(lines) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 1 if failed or not results else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scenario")
    s.add_argument("dir")
    t = sub.add_parser("table")
    t.add_argument("rundir")
    t.add_argument("--out", required=True)
    t.add_argument("--elapsed", type=int, default=0)
    args = p.parse_args()
    return cmd_scenario(args) if args.cmd == "scenario" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
