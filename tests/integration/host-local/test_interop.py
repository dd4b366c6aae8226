#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Against the reference /usr/lib/cni/host-local: the same calls give equal results and
equal files (differential), and each plugin releases what the other allocated (interop)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl_common import *  # noqa: E402,F403
import ipaddress  # noqa: E402
import json  # noqa: E402

need(PLUGIN)
need(REFERENCE)
base = tempdir("hl-interop-")


def snapshot(netdir):
    """IP files and last_reserved_ip contents; our private dir and lock left out."""
    out = dict(ip_files(netdir))
    if os.path.isdir(netdir):
        for n in os.listdir(netdir):
            if n.startswith("last_reserved_ip."):
                out[n] = open(os.path.join(netdir, n), "rb").read()
    return out


def norm(js):
    """Results compared after ordering; errors by message (codes differ by design)."""
    if js is None:
        return None
    if "code" in js and "msg" in js:
        return ("error", js["msg"])
    return json.dumps(js, sort_keys=True)


rcf = os.path.join(base, "resolv.conf")
open(rcf, "w").write("nameserver 10.0.0.53\nsearch example.com\noptions ndots:5\n")

SCENARIOS = {
    "legacy-0.4.0": ({"subnet": "10.1.0.0/28", "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}]}, "0.4.0", {}),
    "dual-0.2.0": ({"ranges": [[{"subnet": "10.2.0.0/29"}], [{"subnet": "fd02::/125"}]], "routes": [{"dst": "::/0"}]}, "0.2.0", {}),
    "multi-1.0.0": ({"ranges": [[{"subnet": "10.3.0.0/30"}, {"subnet": "10.3.1.0/30", "gateway": "10.3.1.2"}],
                                [{"subnet": "fd03::/64", "rangeStart": "fd03::10", "rangeEnd": "fd03::12"}]],
                     "resolvConf": rcf}, "1.0.0", {}),
    "runtime-0.3.1": ({"subnet": "10.4.0.0/24", "rangeStart": "10.4.0.100", "rangeEnd": "10.4.0.103", "gateway": "10.4.0.254"},
                      "0.3.1", {"runtimeConfig": {"ipRanges": [[{"subnet": "10.5.0.0/30"}]], "ips": ["10.4.0.102/24"]},
                                "capabilities": {"ipRanges": True, "ips": True}}),
}
ERRORS = [
    {"subnet": "10.6.0.1/24"}, {"subnet": "10.6.0.0/31"}, {"subnet": "fd00::/127"},
    {"subnet": "10.6.0.0/24", "rangeStart": "10.7.0.1"}, {"subnet": "10.6.0.0/24", "rangeEnd": "10.7.0.1"},
    {"subnet": "10.6.0.0/24", "rangeStart": "10.6.0.9", "rangeEnd": "10.6.0.8"},
    {"subnet": "bogus"}, {"subnet": "10.6.0.0/24", "gateway": "bogus"},
    {"ranges": [[{"subnet": "10.6.0.0/24"}, {"subnet": "fd00::/64"}]]},
    {"ranges": [[{"subnet": "10.6.0.0/24"}, {"subnet": "10.6.0.0/25"}]]},
    {"ranges": [[{"subnet": "10.6.0.0/24"}], [{"subnet": "10.6.0.128/25"}]]},
    {"ranges": [[]]}, {"ranges": []}, {},
    {"subnet": "10.6.0.0/24", "routes": [{"dst": "bogus"}]},
]

try:
    # --- differential ----------------------------------------------------------------------
    for name, (ipam, ver, top) in SCENARIOS.items():
        dirs = {}
        for who, plugin in (("ref", REFERENCE), ("ours", PLUGIN)):
            dirs[who] = os.path.join(base, name, who)
        steps = [("ADD", "a", ""), ("ADD", "b", ""), ("ADD", "a", ""), ("CHECK", "a", ""), ("CHECK", "z", ""),
                 ("DEL", "a", ""), ("ADD", "c", ""), ("ADD", "d", "IP=10.1.0.9"), ("ADD", "e", ""),
                 ("ADD", "f", ""), ("DEL", "b", ""), ("ADD", "g", ""), ("ADD", "h", ""), ("DEL", "zz", "")]
        for i, (cmd, cid, args) in enumerate(steps):
            got = {}
            for who, plugin in (("ref", REFERENCE), ("ours", PLUGIN)):
                c = conf(dirs[who], ipam, version=ver, **top)
                rc, js, out = run(plugin, cmd, cid, c, args=args if name.startswith("legacy") else "")
                got[who] = (rc == 0, norm(js))
            check(got["ref"] == got["ours"], "%s step %d %s %s: ref %s / ours %s" % (name, i, cmd, cid, got["ref"], got["ours"]))
            a, b = snapshot(os.path.join(dirs["ref"], "net1")), snapshot(os.path.join(dirs["ours"], "net1"))
            check(a == b, "%s step %d files: ref %s / ours %s" % (name, i, sorted(a.items()), sorted(b.items())))
    for n, ipam in enumerate(ERRORS):
        got = {}
        for who, plugin in (("ref", REFERENCE), ("ours", PLUGIN)):
            rc, js, out = run(plugin, "ADD", "x", conf(os.path.join(base, "err", who), ipam))
            got[who] = (rc == 0, norm(js))
        check(got["ref"] == got["ours"], "error case %d %s: ref %s / ours %s" % (n, ipam, got["ref"], got["ours"]))

    # --- a torn or odd last_reserved_ip (both rewrite it in place) ---------------------------
    # unparsable means "no cursor"; a shorter address written over a longer one leaves no tail
    for n, torn in enumerate([b"", b"10.9.0.", b"10.9.0.1", b"10.9.0.3x", b"10.9.0.5\n", b" 10.9.0.5",
                              b"10.9.0.50", b"10.9.0.254", b"fd09::1", b"\x00\x00\x00"]):
        got, snaps = {}, {}
        for who, plugin in (("ref", REFERENCE), ("ours", PLUGIN)):
            dd = os.path.join(base, "torn%d" % n, who)
            c = conf(dd, {"subnet": "10.9.0.0/24"}, version="1.0.0")
            run(plugin, "ADD", "a", c)
            with open(os.path.join(dd, "net1", "last_reserved_ip.0"), "wb") as f:
                f.write(torn)
            rc, js, out = run(plugin, "ADD", "b", c)
            got[who] = (rc == 0, norm(js))
            snaps[who] = snapshot(os.path.join(dd, "net1"))
        check(got["ref"] == got["ours"], "torn cursor %r: ref %s / ours %s" % (torn, got["ref"], got["ours"]))
        check(snaps["ref"] == snaps["ours"], "torn cursor %r files: ref %s / ours %s" % (torn, snaps["ref"], snaps["ours"]))

    # --- interop on one directory ----------------------------------------------------------
    d = os.path.join(base, "shared")
    netdir = os.path.join(d, "net1")
    c = conf(d, {"ranges": [[{"subnet": "10.8.0.0/27"}], [{"subnet": "fd08::/123"}]]}, version="1.0.0")
    sets = [[ipaddress.ip_network("10.8.0.0/27")], [ipaddress.ip_network("fd08::/123")]]
    owned = {}
    order = [REFERENCE, PLUGIN, REFERENCE, REFERENCE, PLUGIN, PLUGIN, REFERENCE, PLUGIN]
    for i, plugin in enumerate(order):
        rc, js, out = run(plugin, "ADD", "m%d" % i, c)
        check(rc == 0, "interop ADD %d: %s" % (i, out))
        if rc == 0:
            owned["m%d" % i] = [x["address"] for x in js["ips"]]
    addrs = [a for v in owned.values() for a in v]
    check(len(addrs) == len(set(addrs)) == 16, "no address doubled across plugins: %s" % addrs)
    check(sorted(a.split("/")[0] for a in addrs if "." in a) == ["10.8.0.%d" % i for i in range(2, 10)],
          "round robin continues across plugins: %s" % addrs)
    # each sees the other's allocations
    for i, plugin in enumerate(order):
        other = PLUGIN if plugin == REFERENCE else REFERENCE
        rc, _, out = run(other, "CHECK", "m%d" % i, c)
        check(rc == 0, "CHECK m%d by the other plugin: %s" % (i, out))
        rc, js, out = run(other, "ADD", "m%d" % i, c)
        check(rc != 0 and "duplicate allocation is not allowed" in out, "duplicate of m%d seen by the other: %s" % (i, out))
    # release crosswise
    for i, plugin in enumerate(order):
        if i % 2:
            continue
        other = PLUGIN if plugin == REFERENCE else REFERENCE
        rc, _, out = run(other, "DEL", "m%d" % i, c)
        check(rc == 0, "cross DEL m%d: %s" % (i, out))
        owned.pop("m%d" % i)
    left = sorted(ip_files(netdir))
    want = sorted(a.split("/")[0] for v in owned.values() for a in v)
    check(left == want, "after cross DEL nothing lost or leaked: %s vs %s" % (left, want))
    check(not consistency(netdir, sets, check_mode=False), "consistent")
    # ours allocates after the reference released: gets fresh addresses, never a held one
    rc, js, out = run(PLUGIN, "ADD", "n1", c)
    check(rc == 0 and not set(x["address"].split("/")[0] for x in js["ips"]) & set(left), "ADD after interop: %s" % out)
    rc, js, out = run(REFERENCE, "ADD", "n2", c)
    check(rc == 0, "reference ADD after ours: %s" % out)
    for cid in list(owned) + ["n1", "n2"]:
        plugin = PLUGIN if hash(cid) % 2 else REFERENCE
        run(plugin, "DEL", cid, c)
    check(ip_files(netdir) == {}, "all released: %s" % ip_files(netdir))
finally:
    rmtree(base)
finish()
