# SPDX-License-Identifier: Apache-2.0
"""Helpers for the meta plugin tests (tuning, sbr, vrf): running a plugin binary, reading
links, sysctls, rules and routes. The throw-away namespaces are nslib's. Python 3 stdlib +
ip(8) only."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nslib  # noqa: E402  (the namespaces: tests/integration/nslib.py)

REF_DIR = "/usr/lib/cni"

results = {"passed": 0, "failed": 0, "skipped": 0}


def init():
    """Skip (exit 77) unless namespaces can be made; they are removed at exit or signal."""
    nslib.need_netns()
    nslib.install_cleanup()


def sh(cmd, check=True):
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd, p.stderr.strip()))
    return p


def netns():
    """A new namespace with lo up; returns its name (path: /run/netns/<name>)."""
    return nslib.new_netns("meta")


def del_netns(name):
    nslib.del_netns(name)


def nspath(name):
    return nslib.nspath(name)


def veth(ns, peer_ns, ifname="eth0", peer="peer0", addrs=(), peer_addrs=()):
    """A veth pair between two namespaces, both ends up, with addresses."""
    sh("ip -n %s link add %s type veth peer name %s netns %s" % (ns, ifname, peer, peer_ns))
    sh("ip -n %s link set %s up" % (ns, ifname))
    sh("ip -n %s link set %s up" % (peer_ns, peer))
    for a in addrs:
        sh("ip -n %s addr add %s dev %s nodad" % (ns, a, ifname))
    for a in peer_addrs:
        sh("ip -n %s addr add %s dev %s nodad" % (peer_ns, a, peer))


def run(plugin, cmd, conf, netns_name=None, cid="ctr1", ifname="eth0", args="",
        netns_path=None, host=None, cni_path=REF_DIR):
    """(rc, parsed stdout JSON or None, stdout text, stderr text); with host, the plugin
    runs inside that namespace (an interface plugin's "host" side)."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname,
           "CNI_PATH": cni_path, "CNI_ARGS": args}
    if netns_path is not None:
        env["CNI_NETNS"] = netns_path
    elif netns_name:
        env["CNI_NETNS"] = nspath(netns_name)
    data = conf if isinstance(conf, str) else json.dumps(conf)
    argv = ["ip", "netns", "exec", host, plugin] if host else [plugin]
    p = subprocess.run(argv, input=data.encode(), capture_output=True, env=env, timeout=60)
    out = p.stdout.decode(errors="replace")
    try:
        js = json.loads(out) if out.strip() else None
    except ValueError:
        js = None
    return p.returncode, js, out, p.stderr.decode(errors="replace")


def link(ns, ifname="eth0"):
    p = sh("ip -n %s -j -d link show dev %s" % (ns, ifname), check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)[0]


def link_attrs(ns, ifname="eth0"):
    """The attributes tuning changes, from ip(8)."""
    li = link(ns, ifname)
    if li is None:
        return None
    flags = li.get("flags", [])
    return {"mac": li.get("address"), "mtu": li.get("mtu"), "txqlen": li.get("txqlen"),
            "promisc": li.get("promiscuity", 0) > 0, "allmulti": "ALLMULTI" in flags}


def sysctl(ns, key):
    p = sh("ip netns exec %s cat /proc/sys/%s" % (ns, key.replace(".", "/")), check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def rules(ns):
    """Rules as (src, table) pairs, sorted, without the kernel's defaults."""
    out = []
    for fam in ("-4", "-6"):
        for r in json.loads(sh("ip %s -n %s -j rule show" % (fam, ns)).stdout or "[]"):
            if r.get("src", "all") == "all":
                continue
            src = r["src"] + ("/%d" % r["srclen"] if "srclen" in r else "")
            out.append((src, str(r.get("table"))))
    return sorted(out)


def routes(ns):
    """Every route of every table (local excluded) as comparable tuples."""
    out = []
    for fam in ("-4", "-6"):
        for r in json.loads(sh("ip %s -n %s -j route show table all" % (fam, ns)).stdout or "[]"):
            table = str(r.get("table", "main"))
            if table == "local" or r.get("type") in ("local", "broadcast", "multicast"):
                continue
            out.append((table, r.get("dst"), r.get("gateway", ""), r.get("dev", ""),
                        r.get("prefsrc", ""), r.get("scope", ""), r.get("protocol", ""),
                        str(r.get("metric", ""))))
    return sorted(out)


def check(cond, what, detail=""):
    if cond:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print("FAIL: %s %s" % (what, detail), flush=True)
    return cond


def skip(what, reason):
    results["skipped"] += 1
    print("SKIP: %s: %s" % (what, reason), flush=True)


def finish():
    print("%d passed, %d failed, %d skipped" % (results["passed"], results["failed"],
                                                results["skipped"]))
    sys.exit(1 if results["failed"] else 0)


def prev_result(ns, ifname="eth0", ips=(("10.10.0.2/24", "10.10.0.1"),), version="1.0.0",
                mac=None):
    iface = {"name": ifname, "sandbox": nspath(ns)}
    if mac:
        iface["mac"] = mac
    r = {"cniVersion": version, "interfaces": [iface],
         "ips": [dict({"address": a, "interface": 0}, **({"gateway": g} if g else {}))
                 for a, g in ips],
         "dns": {}}
    if version.startswith("0.3") or version == "0.4.0":
        for ip in r["ips"]:
            ip["version"] = "6" if ":" in ip["address"] else "4"
    return r
