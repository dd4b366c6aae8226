#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash consistency: kill -9 each plugin at random points of ADD.

For each scenario of faultsweep.py, ADD is started and killed with SIGKILL after a random
delay between 0 and 1.2 times what a clean ADD takes here (what it started, iptables say,
runs on, as when a runtime kills a plugin). Then, as a runtime would:

  - with IPAM, another attachment is added: the killed one may hold at most one address
    per range, the new one must get others, and the store must hold exactly those
    (nothing lost, nothing doubled);
  - both are deleted (DEL of the killed ADD, as the spec asks of a runtime), and the state
    must be the baseline again: nothing left.

  crashsweep.py --plugins DIR [--only a,b] [--runs N] [--seed S] [--report-only] [--dpdk]
"""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultsweep as fs  # noqa: E402
import nslib  # noqa: E402  (faultsweep put its folder on the path)


# scenarios with host-local: how many ranges (addresses per attachment) they have, and
# what the second attachment's config changes (host-device's device is taken by the first)
IPAM = {"host-local": 2, "ptp+host-local": 1, "bridge+host-local": 1,
        "macvlan+host-local": 2, "tap+host-local": 1, "flannel": 1,
        "host-device+host-local": (1, lambda c: dict(c, device="fhd1")),
        "ipvlan+host-local": 2, "dummy+host-local": 2,
        # (one VLAN id per master: the killed attachment may still hold 17)
        "vlan+host-local": (1, lambda c: dict(c, vlanId=18)),
        # (two networks, one range each; the result names the master's address only)
        "multus": 2,
        # (the second attachment's port and files have names of their own: its container id)
        "userspace+host-local": 2, "userspace-server+host-local": 2,
        # (its addresses are etcd's keys: EtcdScenario.reservations)
        "etcd-ipam": 2}


def ipam_of(scen):
    """(ranges, config change for the second attachment) of a scenario with host-local;
    a scenario whose config names host-local but is not in IPAM is an error here, so a new
    one is not left out of the check."""
    v = IPAM.get(scen.name)
    if v is None:
        return None
    return v if isinstance(v, tuple) else (v, None)


def uses_host_local(conf):
    """Whether a config (a delegate's too) takes addresses from host-local."""
    if isinstance(conf, dict):
        return conf.get("type") in ("host-local", "flannel") or any(
            uses_host_local(v) for v in conf.values())
    if isinstance(conf, list):
        return any(uses_host_local(v) for v in conf)
    return False


def start(fx, cmd, cid, netns=None, change=None):
    sc = fx.scen
    conf = sc.conf(fx)
    if change:
        conf = change(conf)
    env = {"CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_NETNS": netns or fx.cpath,
           "CNI_IFNAME": sc.ifname, "CNI_PATH": fx.dir, "PATH": os.environ.get("PATH", "")}
    args = (["ip", "netns", "exec", sc.plugin_ns(fx), "env", "-i"] +
            ["%s=%s" % kv for kv in env.items()] +
            [os.path.join(fx.dir, sc.plugin)])
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(json.dumps(conf).encode())
    p.stdin.close()
    return p


def finish(p):
    out = p.stdout.read().decode(errors="replace")
    p.wait()
    p.stdout.close()
    p.stderr.close()
    return p.returncode, out


def reservations(fx):
    """host-local's reservations (or the scenario's own store's): address -> container
    id."""
    if hasattr(fx.scen, "reservations"):
        return fx.scen.reservations(fx)
    res = {}
    for root, _, files in os.walk(fx.tmp):
        for f in files:
            if re.match(r"^[0-9a-f.:]+$", f) and ("." in f or ":" in f):
                with open(os.path.join(root, f)) as fh:
                    res[f] = fh.read().split("\n")[0].strip()
    return res


def addresses(out):
    try:
        return sorted(ip["address"] for ip in json.loads(out).get("ips", []))
    except (ValueError, AttributeError):
        return []


class Crash:
    def __init__(self, scen, plugdir, runs, rng):
        self.scen, self.plugdir, self.runs, self.rng = scen, plugdir, runs, rng
        self.stats = {"runs": 0, "left": 0, "ipam_bad": 0, "killed_before_end": 0,
                      "del_failed": 0}
        self.findings = []

    def run(self):
        sw = fs.Sweep(self.scen, self.plugdir, [], 0, False)
        sw.fresh()
        self.sw = sw
        if uses_host_local(self.scen.conf(sw.fx)) and not ipam_of(self.scen):
            raise RuntimeError("uses host-local but is not in crashsweep.py's IPAM")
        t = time.time()
        sw.fx.run("ADD")
        clean = time.time() - t
        sw.settle()
        for i in range(self.runs):
            self.one(i, self.rng.uniform(0, 1.2 * clean))
        sw.fx.close()
        return self.stats

    def note(self, what, d):
        self.findings.append("%s: %s" % (what, "; ".join(d[:6])))

    def one(self, i, delay):
        fx, sw = self.sw.fx, self.sw
        a, b = fs.CID, fs.CID + "b"
        fx.ensure_link()
        p = start(fx, "ADD", a)
        time.sleep(delay)
        if p.poll() is None:
            self.stats["killed_before_end"] += 1
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finish(p)
        self.stats["runs"] += 1
        what = "run %d (kill after %.1f ms)" % (i, delay * 1000)
        cids = [(a, None)]
        ipam = ipam_of(self.scen)
        if ipam:
            # what the killed ADD holds: at most one address per range
            held = reservations(fx)
            mine = [x for x, c in held.items() if c == a]
            # (in a namespace of its own: two ptp attachments in one clash on routes)
            if not getattr(fx, "c2", None):
                fx.c2 = "/run/netns/" + nslib.netns("fc2")
            rc, out_b = finish(start(fx, "ADD", b, fx.c2, ipam[1]))
            cids.append((b, fx.c2))
            ips_b = [x.split("/")[0] for x in addresses(out_b)]
            res = reservations(fx)
            held_b = [x for x, c in res.items() if c == b]
            good = (len(mine) <= ipam[0] and rc == 0 and ips_b and
                    not set(mine) & set(held_b) and set(ips_b) <= set(held_b) and
                    len(held_b) == ipam[0] and sorted(res) == sorted(mine + held_b))
            if not good:
                self.stats["ipam_bad"] += 1
                self.note(what, ["IPAM: killed holds %s, next got %s (rc %d), store %s %s" % (
                    mine, ips_b, rc, res, out_b[:300] if rc else "")])
        for cid, netns in reversed(cids):
            rc, out = finish(start(fx, "DEL", cid, netns, ipam[1] if netns else None))
            if rc != 0:
                self.stats["del_failed"] += 1
                self.note(what, ["DEL %s failed: %s" % (cid, out[:300])])
        fx.drop_link()
        d = fs.diff(sw.baseline, fx.state())
        if d:
            self.stats["left"] += 1
            self.note(what, ["left"] + d)
            sw.settle()



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--json", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--dpdk", action="store_true",
                    help="also userspace in server mode, with ovs-vswitchd-dpdk")
    a = ap.parse_args()
    fs.DpdkUserspaceScenario.enabled = a.dpdk
    nslib.need_root()
    only = [s for s in a.only.split(",") if s]
    rng = random.Random(a.seed)
    bad, report, t0 = 0, {}, time.time()
    fs.stop_servers_at_exit()
    for scen in fs.SCENARIOS:
        if only and scen.name not in only and scen.plugin not in only:
            continue
        if not os.access(os.path.join(a.plugins, scen.plugin), os.X_OK) or \
                getattr(scen, "enabled", True) is False:
            continue
        lacks = scen.kernel_lacks()
        if lacks:
            print("%-18s skipped: no %s here" % (scen.name, lacks))
            continue
        c = Crash(scen, a.plugins, a.runs, rng)
        try:
            st = c.run()
        except (RuntimeError, subprocess.SubprocessError) as e:
            print("%-18s ERROR %s" % (scen.name, e))
            nslib.cleanup()
            bad += 1
            continue
        st["findings"] = c.findings
        report[scen.name] = st
        print("%-18s %3d kills (%d before ADD ended): %d DEL failed, %d left something after "
              "DEL, %d IPAM lost or doubled an address" % (
                  scen.name, st["runs"], st["killed_before_end"], st["del_failed"], st["left"],
                  st["ipam_bad"]), flush=True)
        for f in c.findings[:5]:
            print("    " + f[:600])
        bad += st["left"] + st["ipam_bad"] + st["del_failed"]
    print("crash sweep %s: %d scenarios, %d findings, %.0fs" % (a.label, len(report), bad,
                                                                 time.time() - t0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"label": a.label, "runs": a.runs, "seed": a.seed, "scenarios": report},
                      f, indent=1)
    sys.exit(1 if bad and not a.report_only else 0)


if __name__ == "__main__":
    main()
