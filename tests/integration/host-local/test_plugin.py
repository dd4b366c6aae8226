#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the host-local binary with temporary data directories."""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl_common import *  # noqa: E402,F403
import subprocess  # noqa: E402

need(PLUGIN)
base = tempdir("hl-plugin-")
P = PLUGIN


def netdir(d, name="net1"):
    return os.path.join(d, name)


try:
    # --- basics: result, file format, CHECK, DEL ---------------------------------------
    d = os.path.join(base, "basic")
    c = conf(d, {"subnet": "10.10.0.0/24", "routes": [{"dst": "0.0.0.0/0"}]})
    rc, js, out = run(P, "ADD", "c1", c)
    check(rc == 0, "basic ADD: %s" % out)
    check(js and js["ips"][0]["address"] == "10.10.0.2/24" and js["ips"][0]["gateway"] == "10.10.0.1",
          "basic ADD result %s" % out)
    check(js and js.get("routes") == [{"dst": "0.0.0.0/0"}], "routes copied: %s" % out)
    f = os.path.join(netdir(d), "10.10.0.2")
    check(open(f, "rb").read() == b"c1\r\neth0", "file content")
    check(stat.S_IMODE(os.stat(f).st_mode) == 0o600, "file mode 0600")
    check(open(os.path.join(netdir(d), "last_reserved_ip.0")).read() == "10.10.0.2", "last_reserved_ip")
    rc, _, out = run(P, "CHECK", "c1", c)
    check(rc == 0, "CHECK existing: %s" % out)
    rc, js, out = run(P, "CHECK", "c2", c)
    check(rc != 0 and js["msg"] == "host-local: Failed to find address added by container c2",
          "CHECK missing: %s" % out)
    rc, js, out = run(P, "ADD", "c1", c)
    check(rc != 0 and "duplicate allocation is not allowed" in js["msg"], "duplicate: %s" % out)
    # round robin: after DEL the next container gets the next address
    rc, _, out = run(P, "DEL", "c1", c)
    check(rc == 0 and not os.path.exists(f), "DEL removes the file: %s" % out)
    rc, js, out = run(P, "ADD", "c2", c)
    check(js and js["ips"][0]["address"] == "10.10.0.3/24", "round robin: %s" % out)
    rc, _, out = run(P, "DEL", "nonexistent", c)
    check(rc == 0, "DEL of unknown container succeeds: %s" % out)
    # legacy id-only file is released by DEL and seen by CHECK
    open(os.path.join(netdir(d), "10.10.0.77"), "w").write("old1")
    rc, _, out = run(P, "CHECK", "old1", c)
    check(rc == 0, "CHECK legacy: %s" % out)
    rc, _, out = run(P, "DEL", "old1", c)
    check(rc == 0 and not os.path.exists(os.path.join(netdir(d), "10.10.0.77")), "DEL legacy")

    # --- dual stack in 0.2.0, DNS ---------------------------------------------------------
    d = os.path.join(base, "dual")
    rcf = os.path.join(base, "resolv.conf")
    open(rcf, "w").write("# c\nnameserver 10.0.0.53\nnameserver fd00::53\ndomain example.com\n"
                         "search a.example b.example\n; x\noptions ndots:2 rotate\n")
    c = conf(d, {"ranges": [[{"subnet": "10.20.0.0/24"}], [{"subnet": "fd20::/120"}]],
                 "resolvConf": rcf, "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]},
             version="0.2.0")
    rc, js, out = run(P, "ADD", "c1", c)
    check(rc == 0 and js["ip4"]["ip"] == "10.20.0.2/24" and js["ip6"]["ip"] == "fd20::2/120",
          "0.2.0 dual stack: %s" % out)
    check(js and js["dns"] == {"nameservers": ["10.0.0.53", "fd00::53"], "domain": "example.com",
                               "search": ["a.example", "b.example"], "options": ["ndots:2", "rotate"]},
          "dns: %s" % out)
    c["ipam"]["ranges"].append([{"subnet": "10.21.0.0/24"}])
    rc, js, out = run(P, "ADD", "c2", c)
    check(rc != 0 and js["msg"] == "CNI version 0.2.0 does not support more than 1 address per family",
          "two v4 sets in 0.2.0: %s" % out)
    c["cniVersion"] = "1.0.0"
    rc, js, out = run(P, "ADD", "c2", c)
    check(rc == 0 and [i["address"] for i in js["ips"]] == ["10.20.0.3/24", "fd20::3/120", "10.21.0.2/24"],
          "three sets in 1.0.0: %s" % out)

    # --- requested addresses -----------------------------------------------------------------
    d = os.path.join(base, "req")
    c = conf(d, {"subnet": "10.30.0.0/24"})
    rc, js, out = run(P, "ADD", "r1", c, args="IP=10.30.0.40")
    check(rc == 0 and js["ips"][0]["address"] == "10.30.0.40/24", "CNI_ARGS IP: %s" % out)
    c2 = dict(c, args={"cni": {"ips": ["10.30.0.41/24"]}})
    rc, js, out = run(P, "ADD", "r2", c2)
    check(rc == 0 and js["ips"][0]["address"] == "10.30.0.41/24", "args.cni.ips: %s" % out)
    c3 = dict(c, runtimeConfig={"ips": ["10.30.0.42"]})
    rc, js, out = run(P, "ADD", "r3", c3)
    check(rc == 0 and js["ips"][0]["address"] == "10.30.0.42/24", "runtimeConfig.ips: %s" % out)
    rc, js, out = run(P, "ADD", "r4", c, args="IP=10.30.0.42")
    check(rc != 0 and "requested IP address 10.30.0.42 is not available" in js["msg"], "taken: %s" % out)
    rc, js, out = run(P, "ADD", "r4", c, args="IP=10.30.0.1")
    check(rc != 0 and js["msg"] == "failed to allocate for range 0: requested ip 10.30.0.1 is subnet's gateway",
          "gateway: %s" % out)
    rc, js, out = run(P, "ADD", "r4", c, args="IP=10.99.0.1")
    check(rc != 0 and js["msg"] == "failed to allocate all requested IPs: 10.99.0.1", "outside: %s" % out)
    check(not any(owner_of(v)[0] == "r4" for v in ip_files(netdir(d)).values()), "failed ADD leaves nothing")
    rc, js, out = run(P, "ADD", "r4", c, args="IP=10.30.0.50;FOO=1")
    check(rc != 0 and js["msg"] == 'ARGS: unknown args ["FOO=1"]', "unknown CNI_ARGS: %s" % out)
    rc, js, out = run(P, "ADD", "r4", c, args="IgnoreUnknown=1;IP=10.30.0.50;FOO=1")
    check(rc == 0, "IgnoreUnknown: %s" % out)

    # --- exhaustion, STATUS ----------------------------------------------------------------
    d = os.path.join(base, "full")
    c = conf(d, {"subnet": "10.40.0.0/29"}, version="1.1.0")
    rc, _, out = run(P, "STATUS", "", c)
    check(rc == 0, "STATUS with room: %s" % out)
    got = []
    for i in range(6):
        rc, js, out = run(P, "ADD", "f%d" % i, c)
        if rc == 0:
            got.append(js["ips"][0]["address"])
    check(sorted(got) == ["10.40.0.%d/29" % i for i in range(2, 7)], "fills .2-.6 only: %s" % got)
    rc, js, out = run(P, "ADD", "f9", c)
    check(rc != 0 and js["msg"] == "failed to allocate for range 0: no IP addresses available in range set: 10.40.0.1-10.40.0.6",
          "exhausted: %s" % out)
    rc, js, out = run(P, "STATUS", "", c)
    check(rc != 0 and js["code"] == 50, "STATUS when full: %s" % out)
    blocker = os.path.join(base, "afile")
    open(blocker, "w").write("x")
    rc, js, out = run(P, "STATUS", "", conf(os.path.join(blocker, "sub"), {"subnet": "10.40.0.0/29"}, version="1.1.0"))
    check(rc != 0 and js["code"] == 50, "STATUS with unusable dataDir: %s" % out)

    # --- GC -----------------------------------------------------------------------------------
    d = os.path.join(base, "gc")
    c = conf(d, {"subnet": "10.50.0.0/24"}, version="1.1.0")
    for cid, ifn in [("g1", "eth0"), ("g2", "eth0"), ("g2", "net1"), ("g3", "eth0")]:
        run(P, "ADD", cid, c, ifname=ifn)
    open(os.path.join(netdir(d), "10.50.0.200"), "w").write("")  # debris of a crashed writer
    gcc = dict(c)
    gcc["cni.dev/valid-attachments"] = [{"containerID": "g2", "ifname": "net1"},
                                        {"containerID": "g1", "ifname": "eth0"}]
    rc, _, out = run(P, "GC", "", gcc)
    check(rc == 0, "GC: %s" % out)
    owners = sorted(owner_of(v) for v in ip_files(netdir(d)).values())
    check(owners == [("g1", "eth0"), ("g2", "net1")], "GC keeps the valid ones: %s" % owners)
    rc, _, out = run(P, "GC", "", c)
    check(rc == 0 and len(ip_files(netdir(d))) == 2, "GC without the list releases nothing")
    rc, _, out = run(P, "ADD", "g3", c)
    check(rc == 0, "ADD after GC (index rebuilt): %s" % out)

    # --- hostile input ---------------------------------------------------------------------
    d = os.path.join(base, "hostile")
    for name in ["../escape", "a/b", "..", "x" * 300]:
        rc, js, out = run(P, "ADD", "c1", conf(d, {"subnet": "10.60.0.0/24"}, name=name))
        check(rc != 0 and js and js["code"] == 7, "network name %r refused with 7: %s" % (name[:20], out))
    for cid in ["../x", "a/b", "x" * 300]:
        rc, js, out = run(P, "ADD", cid, conf(d, {"subnet": "10.60.0.0/24"}))
        check(rc != 0 and js and js["code"] in (3, 4), "container id %r refused: %s" % (cid[:20], out))
    rc, js, out = run(P, "ADD", "c1", conf(d, {"subnet": "10.60.0.0/24"}), ifname="a/b")
    check(rc != 0, "ifname with / refused: %s" % out)
    check(not os.path.exists(d) and not os.path.exists(os.path.join(base, "escape")),
          "nothing created for refused input: %s" % os.listdir(base))
    p = subprocess.run([P], input=b'{"cniVersion":"0.4.0","name":"n\\u0000x","ipam":{"subnet":"10.60.0.0/24","dataDir":"%s"}}' % d.encode(),
                       capture_output=True, env=env_for("ADD", "c1"))
    check(p.returncode != 0 and not os.path.exists(d), "NUL in network name refused")
    for bad in ['{"name":"n","ipam":{"subnet":"10.60.0.0/24","dataDir":"%s","ranges":{}}}' % d, "{", "[]",
                '{"name":"n","ipam":{"subnet":5}}']:
        rc, js, out = run(P, "ADD", "c1", bad)
        check(rc != 0 and js and "code" in js, "bad config %r fails cleanly: %s" % (bad[:30], out))

    # --- releaseOnReboot (boot id file overridable in the test build only) -------------------
    if FAULTY and os.access(FAULTY, os.X_OK):
        d = os.path.join(base, "reboot")
        bid = os.path.join(base, "boot_id")
        open(bid, "w").write("boot-1\n")
        c = conf(d, {"subnet": "10.70.0.0/24", "releaseOnReboot": True})
        ex = {"HOST_LOCAL_TEST_BOOT_ID_FILE": bid}
        rc, _, _ = run(FAULTY, "ADD", "b1", c, extra=ex)
        rc, _, out = run(FAULTY, "ADD", "b2", c, extra=ex)
        check(len(ip_files(netdir(d))) == 2, "same boot keeps leases")
        open(bid, "w").write("boot-2\n")
        rc, js, out = run(FAULTY, "ADD", "b3", c, extra=ex)
        check(rc == 0 and list(ip_files(netdir(d)).values()) == [b"b3\r\neth0"],
              "new boot drops old leases: %s" % ip_files(netdir(d)))
        rc, _, _ = run(FAULTY, "CHECK", "b1", c, extra=ex)
        check(rc != 0, "CHECK of a pre-reboot container fails")
        # default: no release
        d2 = os.path.join(base, "noreboot")
        c = conf(d2, {"subnet": "10.71.0.0/24"})
        run(FAULTY, "ADD", "b1", c, extra=ex)
        open(bid, "w").write("boot-3\n")
        run(FAULTY, "ADD", "b2", c, extra=ex)
        check(len(ip_files(netdir(d2))) == 2, "without releaseOnReboot nothing is dropped")
finally:
    rmtree(base)
finish()
