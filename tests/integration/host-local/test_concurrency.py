#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""8 processes adding (then deleting) in parallel against one network: no address is
shared, no call fails. With the reference binary present, half the workers run it."""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl_common import *  # noqa: E402,F403
import ipaddress  # noqa: E402

need(PLUGIN)
WORKERS, PER = 8, 20
base = tempdir("hl-conc-")
d = os.path.join(base, "data")
netdir = os.path.join(d, "net1")
c = conf(d, {"ranges": [[{"subnet": "10.90.0.0/24"}], [{"subnet": "fd90::/120"}]]}, version="1.0.0")
have_ref = os.access(REFERENCE, os.X_OK)
results = {}
errors = []
lock = threading.Lock()


def worker(w, cmd):
    plugin = REFERENCE if (have_ref and w % 2) else PLUGIN
    for i in range(PER):
        cid = "w%d-%d" % (w, i)
        rc, js, out = run(plugin, cmd, cid, c, timeout=60)
        with lock:
            if rc != 0:
                errors.append("%s %s (%s): %s" % (cmd, cid, os.path.basename(plugin), out))
            elif cmd == "ADD":
                results[cid] = [x["address"] for x in js["ips"]]


try:
    for cmd in ("ADD", "DEL"):
        ts = [threading.Thread(target=worker, args=(w, cmd)) for w in range(WORKERS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(not errors, "%s errors: %s" % (cmd, errors[:3]))
        if cmd == "ADD":
            addrs = [a for v in results.values() for a in v]
            check(len(results) == WORKERS * PER, "every ADD answered (%d)" % len(results))
            check(len(addrs) == len(set(addrs)), "no address shared")
            check(len(ip_files(netdir)) == 2 * WORKERS * PER, "one file per address")
            check(not consistency(netdir, [[ipaddress.ip_network("10.90.0.0/24")],
                                           [ipaddress.ip_network("fd90::/120")]], check_mode=not have_ref),
                  "consistent after parallel ADD")
        else:
            check(ip_files(netdir) == {}, "parallel DEL releases all: %s" % list(ip_files(netdir))[:5])
    print("reference mixed in: %s" % have_ref)
finally:
    rmtree(base)
finish()
