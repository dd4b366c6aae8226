# SPDX-License-Identifier: Apache-2.0
"""Differential test: every config of a matrix goes through the reference bridge
(Debian 1.1.1, /usr/lib/cni/bridge) and ours, each in fresh namespaces, and what they
leave behind is compared: result JSON, links (kind, flags, master, MTU, bridge port
flags), addresses, routes, sysctls, `iptables-save -t nat` and `nft list ruleset`, after
ADD and again after DEL. Volatile values (veth names, MACs, sandbox paths) are
normalised. Differences that are ours on purpose are listed in EXPECTED and explained in
docs/plugins/bridge.md."""

import copy
import json
import os
import re
import time

from brtest import (MAC_RE, OURS, OURS_DIR, REF, REF_DIR, VETH_RE, addrs, check, finish,
                    iptables_nat, links, netns, netns_del, nft_ruleset, preflight, run, sh,
                    skip, sysctl, tmpdir)

HOST_SYSCTLS = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
                "net.ipv6.conf.{br}.accept_ra"]
CONT_SYSCTLS = ["net.ipv6.conf.eth0.accept_dad", "net.ipv6.conf.eth0.enhanced_dad",
                "net.ipv4.conf.eth0.arp_notify", "net.ipv6.conf.eth0.disable_ipv6",
                "net.ipv6.conf.lo.disable_ipv6"]
# bridge port attributes worth comparing (ip -d -j link: linkinfo.info_slave_data)
PORT_KEYS = ["state", "hairpin", "isolated", "learning", "flood", "guard", "mcast_flood",
             "bcast_flood", "proxy_arp", "neigh_suppress"]


def base(data, version="1.0.0"):
    return {"cniVersion": version, "name": "net-d", "type": "bridge", "bridge": "brd",
            "ipam": {"type": "host-local", "subnet": "10.40.0.0/24", "dataDir": data}}


def dual(c):
    c["ipam"] = {"type": "host-local", "dataDir": c["ipam"]["dataDir"],
                 "ranges": [[{"subnet": "10.40.0.0/24"}], [{"subnet": "fd00:40::/64"}]]}
    return c


def v6only(c):
    c["ipam"] = {"type": "host-local", "dataDir": c["ipam"]["dataDir"],
                 "ranges": [[{"subnet": "fd00:41::/64"}]]}
    return c


# name -> (transform of the base config, differences expected on purpose)
MATRIX = [
    ("basic", lambda c: c, set()),
    ("isGateway", lambda c: dict(c, isGateway=True), set()),
    ("isDefaultGateway", lambda c: dict(c, isDefaultGateway=True), set()),
    ("ipMasq", lambda c: dict(c, isGateway=True, ipMasq=True), set()),
    ("mtu", lambda c: dict(c, mtu=1400, isGateway=True), set()),
    ("hairpinMode", lambda c: dict(c, hairpinMode=True), set()),
    ("promiscMode", lambda c: dict(c, promiscMode=True), set()),
    # 1.1.1 does not know portIsolation: ours isolates the port
    ("portIsolation", lambda c: dict(c, portIsolation=True), {"port:isolated"}),
    ("macspoofchk", lambda c: dict(c, macspoofchk=True), set()),
    ("mac", lambda c: dict(c, runtimeConfig={"mac": "02:42:00:00:00:07"}), set()),
    ("dns", lambda c: dict(c, dns={"nameservers": ["10.40.0.53"], "search": ["x.local"]}),
     set()),
    ("layer2", lambda c: {k: v for k, v in c.items() if k != "ipam"}, set()),
    ("v0.2.0", lambda c: dict(c, cniVersion="0.2.0", isGateway=True), set()),
    ("v0.3.1", lambda c: dict(c, cniVersion="0.3.1", isDefaultGateway=True), set()),
    ("v0.4.0", lambda c: dict(c, cniVersion="0.4.0", ipMasq=True), set()),
    # IPv6: ours adds the address with NODAD (no DAD wait) and sets keep_addr_on_down,
    # as the newest reference's ConfigureIface does
    ("ipv6", lambda c: v6only(dict(c, isGateway=True)), {"addr:nodad"}),
    ("dual", lambda c: dual(dict(c, isDefaultGateway=True, ipMasq=True)), {"addr:nodad"}),
    ("dual-hairpin", lambda c: dual(dict(c, hairpinMode=True, isGateway=True)), {"addr:nodad"}),
    ("enabledad", lambda c: v6only(dict(c, enabledad=True, isGateway=True)), set()),
]


def norm_text(s, names):
    for real, fake in names.items():
        s = s.replace(real, fake)
    s = VETH_RE.sub("VETH", s)
    return MAC_RE.sub("MAC", s)


def snap_links(ns, names, settle=False):
    out = {}
    for l in links(ns):
        name = names.get(l["ifname"], l["ifname"])
        info = l.get("linkinfo", {})
        entry = {"kind": info.get("info_kind", ""), "mtu": l.get("mtu"),
                 "flags": sorted(l.get("flags", [])), "master": names.get(l.get("master"),
                                                                         l.get("master")),
                 "operstate": l.get("operstate"), "promiscuity": l.get("promiscuity")}
        slave = info.get("info_slave_data", {})
        for k in PORT_KEYS:
            if k in slave:
                entry["port:" + k] = slave[k]
        if info.get("info_kind") == "bridge":
            entry["vlan_filtering"] = info.get("info_data", {}).get("vlan_filtering")
            if settle:
                # a bridge loses its carrier some time after its last port left
                entry.pop("operstate")
                entry["flags"] = [f for f in entry["flags"] if f not in ("NO-CARRIER",
                                                                        "LOWER_UP")]
        out[name] = entry
    return out


def snap_addrs(ns, names):
    out = {}
    for l in addrs(ns):
        name = names.get(l["ifname"], l["ifname"])
        lst = []
        for a in l.get("addr_info", []):
            if a.get("scope") == "link":
                continue  # link-local addresses derive from random MACs
            lst.append({"local": a["local"], "prefixlen": a["prefixlen"], "scope": a["scope"],
                        "addr:nodad": bool(a.get("nodad"))})
        out[name] = sorted(lst, key=lambda a: a["local"])
    return out


def snap_routes(ns, names):
    out = []
    for fam in ("-4", "-6"):
        for r in json.loads(sh("ip", "-n", ns, fam, "-j", "route", "show") or "[]"):
            if r.get("dst", "").startswith("fe80") or r.get("dst", "") == "multicast":
                continue
            out.append({"dst": r.get("dst"), "gateway": r.get("gateway"),
                        "dev": names.get(r.get("dev"), r.get("dev")),
                        "protocol": r.get("protocol"), "scope": r.get("scope"),
                        "prefsrc": r.get("prefsrc")})
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True))


def snapshot(host, cont, conf, result, settle=False):
    br = conf.get("bridge", "cni0")
    names = {}
    if result:
        for i, itf in enumerate(result.get("interfaces", [])):
            if itf["name"].startswith("veth"):
                names[itf["name"]] = "VETH%d" % i
    # 0.2.0 results list no interfaces: name host veths by the bridge's ports
    for l in links(host):
        if l["ifname"].startswith("veth") and l["ifname"] not in names:
            names[l["ifname"]] = "VETH"
    s = {"host.links": snap_links(host, names, settle), "host.addrs": snap_addrs(host, names),
         "host.routes": snap_routes(host, names),
         "host.sysctl": {k: sysctl(host, k.format(br=br)) for k in HOST_SYSCTLS},
         "host.iptables": norm_text(iptables_nat(host), names),
         "host.ip6tables": norm_text(iptables_nat(host, v6=True), names),
         "host.nft": norm_text(nft_ruleset(host), names)}
    if cont:
        s["cont.links"] = snap_links(cont, names)
        s["cont.addrs"] = snap_addrs(cont, names)
        s["cont.routes"] = snap_routes(cont, names)
        s["cont.sysctl"] = {k: sysctl(cont, k) for k in CONT_SYSCTLS} if \
            any(l["ifname"] == "eth0" for l in links(cont)) else {}
    return s


def norm_result(js, conts):
    text = json.dumps(js, sort_keys=True)
    for c in conts:
        text = text.replace("/run/netns/" + c, "SANDBOX")
    return json.loads(norm_text(text, {}))


def drop_expected(snap, expected):
    """Remove the keys we differ on on purpose (compared separately)."""
    def walk(o):
        if isinstance(o, dict):
            return {k: walk(v) for k, v in o.items() if k not in expected}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o
    return walk(snap)


def one(plugin, conf, cni_path):
    host, cont = netns("dh"), netns("dc")
    data = tmpdir()
    conf = copy.deepcopy(conf)
    if "ipam" in conf:
        conf["ipam"]["dataDir"] = data
    rc, js, out, errout = run(plugin, "ADD", host, cont, conf, cid="diff1", cni_path=cni_path)
    # the bridge's IPv6 gateway runs DAD in the background: let it settle on both sides
    if "ipam" in conf and ":" in json.dumps(conf["ipam"]):
        time.sleep(2.2)
    after_add = snapshot(host, cont, conf, js)
    rc_del, _, out_del, _ = run(plugin, "DEL", host, cont, conf, cid="diff1", cni_path=cni_path)
    after_del = snapshot(host, cont, conf, None, settle=True)
    res = norm_result(js, [cont]) if js else out
    netns_del(cont)
    netns_del(host)
    return {"rc": rc, "result": res, "add": after_add, "rc_del": rc_del, "del": after_del,
            "stderr": errout}


def compare(tag, ref, ours, expected):
    check(ref["rc"] == ours["rc"], "%s: ADD rc ref %s ours %s (%s / %s)" %
          (tag, ref["rc"], ours["rc"], ref["result"], ours["result"]))
    check(ref["result"] == ours["result"], "%s: result differs:\n ref  %s\n ours %s" %
          (tag, json.dumps(ref["result"], sort_keys=True), json.dumps(ours["result"],
                                                                      sort_keys=True)))
    for phase in ("add", "del"):
        r, o = drop_expected(ref[phase], expected), drop_expected(ours[phase], expected)
        for k in sorted(set(r) | set(o)):
            check(r.get(k) == o.get(k), "%s: %s %s differs:\n ref  %s\n ours %s" %
                  (tag, phase, k, json.dumps(r.get(k), sort_keys=True),
                   json.dumps(o.get(k), sort_keys=True)))
    check(ref["rc_del"] == ours["rc_del"] == 0, "%s: DEL rc ref %s ours %s" %
          (tag, ref["rc_del"], ours["rc_del"]))


def find_key(o, key):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                yield v
            else:
                yield from find_key(v, key)
    elif isinstance(o, list):
        for v in o:
            yield from find_key(v, key)


def main():
    preflight()
    if not os.access(REF, os.X_OK):
        skip("reference bridge plugin not installed (%s)" % REF)
    data = tmpdir()
    only = os.environ.get("BR_DIFF_ONLY")
    for name, fn, expected in MATRIX:
        if only and name != only:
            continue
        conf = fn(base(data))
        # the reference bridge with the reference IPAM, ours with ours: whole chains
        ref = one(REF, conf, REF_DIR)
        ours = one(OURS, conf, OURS_DIR)
        compare(name, ref, ours, expected)
        # the deliberate differences, checked the way they are meant to be
        if "port:isolated" in expected:
            got = list(find_key(ours["add"]["host.links"], "port:isolated"))
            check(got == [True], "%s: ours did not isolate the port: %s" % (name, got))
        if "addr:nodad" in expected:
            got = [a["addr:nodad"] for a in ours["add"]["cont.addrs"].get("eth0", [])
                   if ":" in a["local"]]
            check(got and all(got), "%s: ours did not use NODAD: %s" % (name, got))
        print("compared", name, flush=True)
    # mixed chains: the reference bridge on our IPAM and ours on the reference IPAM
    conf = dual(dict(base(data), isDefaultGateway=True, ipMasq=True))
    mixed_ref = one(REF, conf, OURS_DIR)
    mixed_ours = one(OURS, conf, REF_DIR)
    compare("mixed chains", mixed_ref, mixed_ours, {"addr:nodad"})
    finish()


if __name__ == "__main__":
    main()
