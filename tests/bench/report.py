#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarise the raw output of tests/bench/run.sh: a plain table on stdout and, with
--out, the same numbers as JSON. Never judges a timing; exits 1 only when the raw data
itself shows a failed operation that run.sh did not already report, or is unreadable."""

import argparse
import glob
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

OPS = ("add", "check", "del")


def read_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def stats(values_us):
    """median, p99 (nearest rank), mean, min, max in ms"""
    v = sorted(values_us)
    if not v:
        return None
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p99 = v[max(0, math.ceil(0.99 * n) - 1)]
    return {"n": n, "median_ms": round(med / 1000, 3), "p99_ms": round(p99 / 1000, 3),
            "mean_ms": round(sum(v) / n / 1000, 3), "min_ms": round(v[0] / 1000, 3),
            "max_ms": round(v[-1] / 1000, 3)}


def speedup(ref, ours, key="median_ms"):
    if not ref or not ours or not ours.get(key):
        return None
    return round(ref[key] / ours[key], 2)


def fmt(x, width=10, digits=2):
    if x is None:
        return "-".rjust(width)
    if isinstance(x, float):
        return f"{x:.{digits}f}".rjust(width)
    return str(x).rjust(width)


class Report:
    def __init__(self, args):
        self.args = args
        self.sides = args.sides.split()
        self.cases = {}
        self.lines = []
        self.bad = 0

    def case(self, c):
        return self.cases.setdefault(str(c), {"title": "", "notes": [], "errors": [], "rows": []})

    def out(self, s=""):
        self.lines.append(s)

    # ---- notes ----
    def load_notes(self):
        for n in read_jsonl(self.args.notes):
            c = self.case(n["case"])
            if "title" in n:
                c["title"] = n["title"]
            if "note" in n:
                c["notes"].append(n["note"])
            if "error" in n:
                c["errors"].append(n["error"])
            if "sizes" in n:
                c["sizes_in"] = n["sizes"]
                c["names_in"] = n.get("ours_names")
            if "floor" in n:
                c["floor_spec"] = n["floor"]
            if "plugin_floor" in n:
                c["plugin_floor_spec"] = n["plugin_floor"]

    # ---- the floor: exec and device work, medians in ms ----
    def load_floor(self):
        self.floor = {}
        ex = [l["us"] for l in read_jsonl(os.path.join(self.args.raw, "floor.exec.jsonl")) if l["rc"] == 0]
        if ex:
            self.floor["exec"] = stats(ex)["median_ms"]
        ops = {}
        for l in read_jsonl(os.path.join(self.args.raw, "floor.kernel.jsonl")):
            ops.setdefault(l["op"], []).append(l["us"])
        for op, v in ops.items():
            self.floor[op] = stats(v)["median_ms"]

    def floor_of(self, spec):
        """The floor of one operation made of spec ({"exec": 3, "veth_del": 1}); None when a
        part was not measured."""
        if not spec or any(k not in self.floor for k in spec):
            return None
        return round(sum(self.floor[k] * n for k, n in spec.items()), 3)

    def add_floor(self, row, spec):
        f = self.floor_of(spec)
        if f is None:
            return
        row["floor_ms"] = f
        ours = (row.get("ours") or {}).get("median_ms")
        if ours:
            row["ours_over_floor"] = round(ours / f, 2)

    # ---- 1-4: runtime ops ----
    def attach_case(self, c):
        per_side = {s: read_jsonl(os.path.join(self.args.raw, f"c{c}.{s}.jsonl")) for s in self.sides}
        if not any(per_side.values()):
            return
        cs = self.case(c)
        for op in OPS:
            row = {"label": op.upper(), "unit": "ms"}
            seen = False
            for s, lines in per_side.items():
                vals = [l["us"] for l in lines if l.get("op") == op and l.get("ok")]
                fails = sum(1 for l in lines if l.get("op") == op and not l.get("ok"))
                if vals or fails:
                    seen = True
                row[s] = stats(vals)
                if fails:
                    row[s + "_errors"] = fails
            if seen:
                row["speedup"] = speedup(row.get("ref"), row.get("ours"))
                self.add_floor(row, (cs.get("floor_spec") or {}).get(op.upper()))
                cs["rows"].append(row)
        if c == 9:
            self.plugin_rows(cs)

    def plugin_rows(self, cs):
        """Case 9 per plugin, from the timing wrappers' logs."""
        per = {}
        for s in self.sides:
            for l in read_jsonl(os.path.join(self.args.raw, f"c9.plugins.{s}.jsonl")):
                d = per.setdefault((l["plugin"], l["cmd"]), {}).setdefault(s, {"ok": [], "bad": 0})
                if l["rc"] == 0:
                    d["ok"].append(l["us"])
                else:
                    d["bad"] += 1
        order = {"bridge": 0, "portmap": 1, "bandwidth": 2}
        cs["plugin_rows"] = []
        for (p, cmd) in sorted(per, key=lambda k: (order.get(k[0], 9), k[0], k[1] != "ADD")):
            row = {"label": f"{p} {cmd}", "plugin": p, "cmd": cmd, "unit": "ms"}
            for s, d in per[(p, cmd)].items():
                row[s] = stats(d["ok"])
                if d["bad"]:
                    row[s + "_errors"] = d["bad"]
            row["speedup"] = speedup(row.get("ref"), row.get("ours"))
            self.add_floor(row, ((cs.get("plugin_floor_spec") or {}).get(p) or {}).get(cmd))
            cs["plugin_rows"].append(row)

    # ---- 5: start-up ----
    def startup_case(self):
        files = glob.glob(os.path.join(self.args.raw, "c5.*.jsonl"))
        if not files:
            return
        cs = self.case(5)
        plugins = sorted({os.path.basename(f).split(".")[1] for f in files} - {"floor"})
        for p in plugins:
            row = {"label": p, "unit": "ms"}
            for s in ("ref", "ours"):
                lines = read_jsonl(os.path.join(self.args.raw, f"c5.{p}.{s}.jsonl"))
                row[s] = stats([l["us"] for l in lines if l["rc"] == 0])
                if any(l["rc"] != 0 for l in lines):
                    row[s + "_errors"] = sum(1 for l in lines if l["rc"] != 0)
            row["speedup"] = speedup(row["ref"], row["ours"])
            cs["rows"].append(row)
        floor = read_jsonl(os.path.join(self.args.raw, "c5.floor.jsonl"))
        if floor:
            cs["floor"] = stats([l["us"] for l in floor if l["rc"] == 0])

    # ---- 6: RSS and size ----
    def rss_case(self):
        cs = None
        per = {}
        for s in ("ref", "ours"):
            for l in read_jsonl(os.path.join(self.args.raw, f"c6.rss.{s}.jsonl")):
                if l.get("cmd") != "ADD":
                    continue
                d = per.setdefault(l["plugin"], {})
                d[s] = max(d.get(s, 0), l["maxrss_kb"])
        if per:
            cs = self.case(6)
            for p in sorted(per):
                ref, ours = per[p].get("ref"), per[p].get("ours")
                cs["rows"].append({"label": p, "unit": "KiB", "ref": ref, "ours": ours,
                                   "ratio": round(ref / ours, 2) if ref and ours else None})
        c = self.cases.get("6")
        if c and "sizes_in" in c:
            # one file per path: the multi-call build's plugins are links to one binary
            sz = {k: list(dict.fromkeys(v)) for k, v in c.pop("sizes_in").items()}
            names = c.pop("names_in", None)
            c["sizes"] = {k: {"files": len(v), "bytes": total(v), "stripped_bytes": stripped(v)}
                          for k, v in sz.items()}
            c["sizes"]["ours_total"] = {
                "files": c["sizes"]["ours"]["files"] + c["sizes"]["ours_lib"]["files"],
                "bytes": c["sizes"]["ours"]["bytes"] + c["sizes"]["ours_lib"]["bytes"],
                "stripped_bytes": c["sizes"]["ours"]["stripped_bytes"] + c["sizes"]["ours_lib"]["stripped_bytes"]}
            c["sizes"]["plugins"] = {"ours": names or [os.path.basename(f) for f in sz["ours"]],
                                     "ref": [os.path.basename(f) for f in sz["ref"]]}

    # ---- 7: host-local scale ----
    def scale_case(self):
        meta = read_jsonl(os.path.join(self.args.raw, "c7.meta.jsonl"))
        if not meta:
            return
        cs = self.case(7)
        for m in meta:
            size, side = m["size"], m["side"]
            row = {"label": f"{size} {side}", "size": size, "side": side, "count": m["count"],
                   "capped": m["capped"], "ok": m["ok"]}
            for op in ("add", "del"):
                lines = read_jsonl(os.path.join(self.args.raw, f"c7.{size}.{side}.{op}.jsonl"))
                us = [l["us"] for l in lines]
                row[op] = stats([l["us"] for l in lines if l["rc"] == 0])
                row[op + "_total_s"] = round(sum(us) / 1e6, 2)
                row[op + "_errors"] = sum(1 for l in lines if l["rc"] != 0)
                if len(us) >= 2000:
                    # the store's growth shows as the first vs the last thousand
                    row[op + "_first1000"] = stats(us[:1000])
                    row[op + "_last1000"] = stats(us[-1000:])
            cs["rows"].append(row)
        # a capped reference is compared with the same number of our first ops
        caps = {m["size"]: m["count"] for m in meta if m["side"] == "ref" and m["capped"]}
        for row in cs["rows"]:
            if row["side"] == "ours" and row["size"] in caps:
                for op in ("add", "del"):
                    lines = read_jsonl(os.path.join(self.args.raw, f"c7.{row['size']}.ours.{op}.jsonl"))
                    row[op + "_first_ref_count"] = stats([l["us"] for l in lines[:caps[row["size"]]]])

    # ---- 8: concurrency ----
    def par_case(self):
        files = glob.glob(os.path.join(self.args.raw, "c8.j*.jsonl"))
        if not files:
            return
        cs = self.case(8)
        for j in sorted({int(re.match(r"c8\.j(\d+)\.", os.path.basename(f)).group(1)) for f in files}):
            row = {"label": f"{j} stream" + ("s" if j > 1 else ""), "jobs": j}
            for s in self.sides:
                lines = read_jsonl(os.path.join(self.args.raw, f"c8.j{j}.{s}.jsonl"))
                d = {}
                for ph in (l for l in lines if "phase" in l):
                    d[ph["phase"] + "_ops_per_s"] = round(ph["n"] / (ph["wall_us"] / 1e6), 1) if ph["wall_us"] else None
                    d[ph["phase"] + "_errors"] = ph["errors"]
                    d[ph["phase"] + "_latency"] = stats([l["us"] for l in lines
                                                         if l.get("op") == ph["phase"] and l.get("ok")])
                if d:
                    row[s] = d
            r, o = row.get("ref", {}), row.get("ours", {})
            if r.get("add_ops_per_s") and o.get("add_ops_per_s"):
                row["speedup"] = round(o["add_ops_per_s"] / r["add_ops_per_s"], 2)
            cs["rows"].append(row)

    # ---- printing ----
    def print_all(self, meta):
        self.out(f"libcni-c benchmarks: N={meta['n']}, batch {meta['batch']}, "
                 f"build {meta['build_type']}, {meta['cpus']} CPUs, kernel {meta['kernel']}, "
                 f"{meta['elapsed_s']} s")
        self.out("times in ms (median / p99 over every op); speed-up = reference / ours "
                 "(> 1: ours is faster); sides: " + ", ".join(self.sides))
        g = self.cases.get("0")
        if g:
            for n in g["notes"]:
                self.out(f"note: {n}")
        if self.floor:
            self.out("floor medians (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.floor.items())))
        extra = [s for s in self.sides if s not in ("ref", "ours")]
        for c in sorted((k for k in self.cases if k != "0"), key=int):
            cs = self.cases[c]
            self.out()
            self.out(f"{c}. {cs['title']}")
            if c in ("1", "2", "3", "4", "9", "10", "11"):
                self.print_ops(cs, extra)
            elif c == "5":
                self.print_startup(cs)
            elif c == "6":
                self.print_rss(cs)
            elif c == "7":
                self.print_scale(cs)
            elif c == "8":
                self.print_par(cs)
            for n in cs["notes"]:
                self.out(f"   note: {n}")
            for e in cs["errors"]:
                self.out(f"   ERROR: {e}")

    def print_ops(self, cs, extra):
        if not cs["rows"]:
            return
        w = 16 if cs.get("plugin_rows") else 8
        head = (f"   {'op':<{w}}{'ref med':>10}{'ref p99':>10}{'ours med':>10}{'ours p99':>10}"
                f"{'speed-up':>10}{'floor':>8}{'ours/fl':>9}")
        for s in extra:
            head += f"{s + ' med':>12}"
        self.out(head)
        rows = list(cs["rows"])
        if cs.get("plugin_rows"):
            rows += [None] + cs["plugin_rows"]
        for r in rows:
            if r is None:
                self.out("   each plugin, timed by a wrapper around it (host-local inside bridge):")
                continue
            ref, ours = r.get("ref") or {}, r.get("ours") or {}
            line = (f"   {r['label']:<{w}}{fmt(ref.get('median_ms'))}{fmt(ref.get('p99_ms'))}"
                    f"{fmt(ours.get('median_ms'))}{fmt(ours.get('p99_ms'))}{fmt(r.get('speedup'))}"
                    f"{fmt(r.get('floor_ms'), 8)}{fmt(r.get('ours_over_floor'), 9)}")
            for s in extra:
                line += fmt((r.get(s) or {}).get("median_ms"), 12)
            errs = [f"{s}: {r[s + '_errors']} failed" for s in self.sides if r.get(s + "_errors")]
            self.out(line + ("   " + ", ".join(errs) if errs else ""))
        if any(r.get("floor_ms") for r in cs["rows"]):
            self.out("   floor: the kernel alone, from this run: a static exec per plugin run, "
                     "veth / ifb creation or deletion, nf_tables rule removal (the floor line above)")

    def print_startup(self, cs):
        self.out(f"   {'plugin':<12}{'ref med':>10}{'ref p99':>10}{'ours med':>10}{'ours p99':>10}{'speed-up':>10}")
        for r in cs["rows"]:
            ref, ours = r.get("ref") or {}, r.get("ours") or {}
            self.out(f"   {r['label']:<12}{fmt(ref.get('median_ms'))}{fmt(ref.get('p99_ms'))}"
                     f"{fmt(ours.get('median_ms'))}{fmt(ours.get('p99_ms'))}{fmt(r.get('speedup'))}")
        if cs.get("floor"):
            f = cs["floor"]
            self.out(f"   {'exec floor':<12}{'':>20}{fmt(f['median_ms'])}{fmt(f['p99_ms'])}"
                     "   (static C program: fork + exec + wait)")

    def print_rss(self, cs):
        if cs["rows"]:
            self.out(f"   {'plugin':<12}{'ref KiB':>10}{'ours KiB':>10}{'ref/ours':>10}   (peak RSS during ADD)")
            for r in cs["rows"]:
                self.out(f"   {r['label']:<12}{fmt(r['ref'])}{fmt(r['ours'])}{fmt(r['ratio'])}")
        sz = cs.get("sizes")
        if sz:
            def line(label, d):
                self.out(f"   {label:<44}{d['files']:>4} files {d['bytes'] / 1048576:>8.2f} MiB"
                         f"  stripped {d['stripped_bytes'] / 1048576:>7.2f} MiB")
            self.out("   size on disk:")
            self.out("   plugins: " + " ".join(sz["plugins"]["ours"]))
            line("ours: the plugins", sz["ours"])
            line("ours: libcni-c.so", sz["ours_lib"])
            line("ours: plugins + libcni-c.so", sz["ours_total"])
            line("ours: shared deps (not libc; not counted)", sz["ours_deps"])
            line("reference: the same plugins", sz["ref"])
            line("reference: all of " + self.args.ref_dir, sz["ref_all"])
            if sz["ours_total"]["stripped_bytes"]:
                self.out(f"   reference (same plugins) / ours, stripped: "
                         f"{sz['ref']['stripped_bytes'] / sz['ours_total']['stripped_bytes']:.1f}x")

    def print_scale(self, cs):
        self.out(f"   {'allocs':<14}{'count':>7}{'ADD med':>10}{'ADD p99':>10}{'ADD s':>8}"
                 f"{'DEL med':>10}{'DEL p99':>10}{'DEL s':>8}  growth (ADD median, first/last 1000)")
        for r in cs["rows"]:
            a, d = r.get("add") or {}, r.get("del") or {}
            growth = ""
            if r.get("add_first1000"):
                growth = f"{r['add_first1000']['median_ms']:.2f} -> {r['add_last1000']['median_ms']:.2f}"
            flag = " (capped)" if r["capped"] else ""
            self.out(f"   {r['label']:<14}{r['count']:>7}{fmt(a.get('median_ms'))}{fmt(a.get('p99_ms'))}"
                     f"{fmt(r['add_total_s'], 8, 1)}{fmt(d.get('median_ms'))}{fmt(d.get('p99_ms'))}"
                     f"{fmt(r['del_total_s'], 8, 1)}  {growth}{flag}"
                     + ("" if r["ok"] else "  FAILED functional check"))
        by = {}
        for r in cs["rows"]:
            by.setdefault(r["size"], {})[r["side"]] = r
        for size, d in sorted(by.items()):
            if "ref" in d and "ours" in d and d["ref"].get("add") and d["ours"].get("add"):
                o, r = d["ours"], d["ref"]
                if r["capped"] and o.get("add_first_ref_count"):
                    self.out(f"   speed-up at {size}, first {r['count']} of each: ADD median "
                             f"{speedup(r['add'], o['add_first_ref_count'])}, DEL median "
                             f"{speedup(r['del'], o['del_first_ref_count'])} (DELs: ours releases "
                             f"from a store of {o['count']}, the reference from {r['count']})")
                else:
                    self.out(f"   speed-up at {size}: ADD median {speedup(r['add'], o['add'])}, "
                             f"DEL median {speedup(r['del'], o['del'])}")

    def print_par(self, cs):
        self.out(f"   {'streams':<10}{'ref ADD/s':>11}{'ours ADD/s':>11}{'speed-up':>10}"
                 f"{'ref DEL/s':>11}{'ours DEL/s':>11}{'errors':>8}")
        for r in cs["rows"]:
            ref, ours = r.get("ref") or {}, r.get("ours") or {}
            errs = sum((r.get(s) or {}).get(k, 0) or 0 for s in self.sides for k in ("add_errors", "del_errors"))
            self.out(f"   {r['label']:<10}{fmt(ref.get('add_ops_per_s'), 11, 1)}{fmt(ours.get('add_ops_per_s'), 11, 1)}"
                     f"{fmt(r.get('speedup'))}{fmt(ref.get('del_ops_per_s'), 11, 1)}"
                     f"{fmt(ours.get('del_ops_per_s'), 11, 1)}{errs:>8}")


def total(files):
    return sum(os.path.getsize(f) for f in files if os.path.exists(f))


def stripped(files):
    """size after strip --strip-unneeded (what a distribution package ships)"""
    n = 0
    with tempfile.TemporaryDirectory() as d:
        for f in files:
            dst = os.path.join(d, "x")
            r = subprocess.run(["strip", "--strip-unneeded", "-o", dst, f],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            n += os.path.getsize(dst) if r.returncode == 0 else os.path.getsize(f)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--notes", required=True)
    ap.add_argument("--out")
    ap.add_argument("--n", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--cases")
    ap.add_argument("--build")
    ap.add_argument("--build-type")
    ap.add_argument("--ref-dir")
    ap.add_argument("--sides")
    ap.add_argument("--elapsed", type=int)
    args = ap.parse_args()

    rep = Report(args)
    rep.load_notes()
    rep.load_floor()
    for c in (1, 2, 3, 4, 9, 10, 11):
        rep.attach_case(c)
    rep.startup_case()
    rep.rss_case()
    rep.scale_case()
    rep.par_case()

    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
            "kernel": platform.release(), "cpus": os.cpu_count(), "n": args.n,
            "batch": args.batch, "startup_runs": args.runs, "cases": args.cases,
            "build": args.build, "build_type": args.build_type, "ref_dir": args.ref_dir,
            "sides": rep.sides, "elapsed_s": args.elapsed, "floor_ms": rep.floor}
    rep.print_all(meta)
    print("\n".join(rep.lines))
    errors = sum(len(c["errors"]) for c in rep.cases.values())
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"meta": meta, "cases": rep.cases, "errors": errors}, f, indent=1)
            f.write("\n")
        print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
