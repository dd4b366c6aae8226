#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash safety: SIGKILL the plugin during ADD and DEL, at injected points (test build)
and after random delays (real binary), and check after every kill that the directory is
consistent, that every address handed out is still reserved to its owner, and that the
runtime's usual recovery (DEL after a failed ADD) leaves exactly the live reservations."""

import ipaddress
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl_common import *  # noqa: E402,F403
import json  # noqa: E402

need(PLUGIN)
need(FAULTY)
RUNS = int(os.environ.get("HL_FAULT_RUNS", "200"))
POINTS = ["reserve-tmp-written", "reserve-linked", "reserve-indexed", "reserve-done",
          "commit-start", "commit-mtime-set", "release-unlinked", "rebuild-scanned"]
rnd = random.Random(int(os.environ.get("HL_SEED", "1234")))
base = tempdir("hl-faults-")
d = os.path.join(base, "data")
netdir = os.path.join(d, "net1")
sets = [[ipaddress.ip_network("10.80.0.0/26")], [ipaddress.ip_network("fd80::/122")]]
c = conf(d, {"ranges": [[{"subnet": "10.80.0.0/26"}], [{"subnet": "fd80::/122"}]]}, version="1.0.0")
live = {}  # cid -> set of addresses handed out
seq = 0
kills = 0


def expected_files():
    return {ip: ("%s\r\neth0" % cid).encode() for cid, ips in live.items() for ip in ips}


def verify(when):
    probs = consistency(netdir, sets)
    check(not probs, "%s: %s" % (when, probs))
    files = ip_files(netdir)
    for ip, content in expected_files().items():
        check(files.get(ip) == content, "%s: %s lost (have %r)" % (when, ip, files.get(ip)))


try:
    for run_no in range(RUNS):
        do_add = not live or rnd.random() < 0.6 or len(live) > 40
        cid = None
        if do_add:
            seq += 1
            cid = "ctr%d" % seq
        else:
            cid = rnd.choice(sorted(live))
        cmd = "ADD" if do_add else "DEL"
        if rnd.random() < 0.5:
            point = rnd.choice(POINTS)
            spec = "%s@%d" % (point, rnd.randint(1, 2))
            rc, js, out = run(FAULTY, cmd, cid, c, extra={"HOST_LOCAL_FAULT": spec})
            how = "fault %s" % spec
        else:
            p = spawn(PLUGIN, cmd, cid, c)
            delay = rnd.uniform(0, 0.004)
            p.stdin.write(json.dumps(c).encode())
            p.stdin.close()
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            out = p.stdout.read().decode()
            p.wait()
            rc = p.returncode
            js = None
            try:
                js = json.loads(out) if out.strip() else None
            except ValueError:
                pass
            how = "kill after %.2f ms" % (delay * 1000)
        killed = rc == -signal.SIGKILL
        kills += killed
        when = "run %d (%s %s, %s)" % (run_no, cmd, cid, how)
        if not killed:
            check(rc == 0, "%s: failed without a kill: %s" % (when, out))
            if cmd == "ADD" and rc == 0:
                live[cid] = {i["address"].split("/")[0] for i in js["ips"]}
            elif cmd == "DEL" and rc == 0:
                live.pop(cid, None)
            verify(when)
            continue
        if cmd == "DEL":
            live.pop(cid, None)  # asked to go: gone or still there, both are fine
        verify(when)
        # the runtime's recovery: DEL the container (a failed ADD, an interrupted DEL)
        rc, js, out = run(PLUGIN, "DEL", cid, c)
        check(rc == 0, "%s: recovery DEL failed: %s" % (when, out))
        live.pop(cid, None)
        verify(when + " after DEL")
        check(set(ip_files(netdir)) == set(expected_files()),
              "%s: leaked or missing after recovery: %s vs %s" % (when, sorted(ip_files(netdir)), sorted(expected_files())))
        # the index must still answer for every live container
        if run_no % 10 == 0:
            for l in list(live)[:5]:
                rc, _, out = run(PLUGIN, "CHECK", l, c)
                check(rc == 0, "%s: CHECK %s: %s" % (when, l, out))
                rc, js, out = run(PLUGIN, "ADD", l, c)
                check(rc != 0 and "duplicate allocation" in out, "%s: duplicate not detected for %s: %s" % (when, l, out))
        if failures:
            break
    # afterwards new ADDs still work and never reuse a held address
    held = set(ip_files(netdir))
    for i in range(5):
        rc, js, out = run(PLUGIN, "ADD", "after%d" % i, c)
        check(rc == 0, "ADD after the faults: %s" % out)
        if rc == 0:
            got = {x["address"].split("/")[0] for x in js["ips"]}
            check(not (got & held), "address given twice: %s" % (got & held))
            held |= got
    tmpd = os.path.join(netdir, ".host-local", "tmp")
    check(not os.listdir(tmpd), "temp debris cleaned: %s" % os.listdir(tmpd))
    print("%d runs, %d killed" % (run_no + 1, kills))
    check(failures or kills >= RUNS // 4, "enough runs were actually killed (%d)" % kills)
finally:
    rmtree(base)
finish()
