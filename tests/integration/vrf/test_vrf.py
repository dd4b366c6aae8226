# SPDX-License-Identifier: Apache-2.0
"""vrf plugin tests in throw-away namespaces: config parsing and validation, error codes,
DEL idempotence everywhere; on a kernel with CONFIG_NET_VRF (the user-mode kernel of
tests/kernel) real VRFs: every key, chained after ptp and bridge, two attachments sharing
one VRF, and a differential run against the reference vrf. On a kernel without VRF the
clean failure is checked instead; with CNI_TEST_REQUIRE_KERNEL_FEATURES=1 a kernel
without VRF fails the test.

Environment: VRF_PLUGIN (ours; ptp, bridge and host-local are taken from its folder)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tuning"))
import metatest as m  # noqa: E402

OURS = os.environ.get("VRF_PLUGIN", "")


def setup():
    a, b = m.netns(), m.netns()
    m.veth(a, b, addrs=["10.40.0.2/24", "fd00:40::2/64"])
    return a


def conf(ns, version="1.0.0", **keys):
    c = {"cniVersion": version, "name": "vrfnet", "type": "vrf", "vrfname": "blue",
         "prevResult": m.prev_result(ns, ips=(("10.40.0.2/24", "10.40.0.1"),), version=version)}
    c.update(keys)
    return c


def err_of(out):
    try:
        e = json.loads(out)
        return e.get("code"), e.get("msg", "")
    except ValueError:
        return None, out


def kernel_has_vrf(ns):
    p = m.sh("ip -n %s link add vrfprobe type vrf table 4242" % ns, check=False)
    if p.returncode == 0:
        m.sh("ip -n %s link del vrfprobe" % ns)
    return p.returncode == 0


def test_config_errors(ns):
    cases = [
        (dict(vrfname=""), 7, "configuration is expected to have a valid vrf name"),
        (dict(vrfname=None), 7, "configuration is expected to have a valid vrf name"),
        (dict(vrfname=5), 6, "VRFNetConf.vrfname of type string"),
        (dict(vrfname="a-much-too-long-name"), 7, 'invalid vrfname "a-much-too-long-name"'),
        (dict(table=-1), 6, "VRFNetConf.table of type uint32"),
        (dict(table="7"), 6, "VRFNetConf.table of type uint32"),
        (dict(table=4294967296), 6, "VRFNetConf.table of type uint32"),
        (dict(prevResult=None), 7, "missing prevResult from earlier plugin"),
    ]
    for keys, code, text in cases:
        c = conf(ns, **keys)
        for k, v in keys.items():
            if v is None:
                del c[k]
        rc, _, out, _ = m.run(OURS, "ADD", c, ns)
        m.check(rc != 0 and err_of(out)[0] == code and text in err_of(out)[1], "error " + text,
                out)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns, version="0.3.0"), ns)
    m.check(rc != 0 and err_of(out)[0] == 1, "cniVersion 0.3.0 refused (vrf needs >= 0.3.1)", out)
    rc, js, out, _ = m.run(OURS, "VERSION", {"cniVersion": "1.0.0"})
    m.check(rc == 0 and js["supportedVersions"][0] == "0.3.1" and
            "0.3.0" not in js["supportedVersions"], "VERSION from 0.3.1", out)
    c = conf(ns)
    del c["prevResult"]
    rc, _, out, _ = m.run(OURS, "CHECK", c, ns)
    m.check(rc != 0 and "missing prevResult" in out, "CHECK needs prevResult", out)


def test_del_and_check_without_vrf(ns):
    c = conf(ns)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "DEL with no VRF", out)
    del c["prevResult"]
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "DEL without prevResult", out)
    rc, _, out, _ = m.run(OURS, "CHECK", conf(ns), ns)
    m.check(rc != 0 and "blue" in out, "CHECK without the VRF fails", out)
    rc, _, out, _ = m.run(OURS, "DEL", conf(ns), None, netns_path="")
    m.check(rc == 0, "DEL without CNI_NETNS", out)
    gone = m.netns()
    m.del_netns(gone)
    rc, _, out, _ = m.run(OURS, "DEL", conf(ns), gone)
    m.check(rc == 0, "DEL with the namespace gone", out)
    m.sh("ip -n %s link add blue type veth peer name bluep" % ns)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns), ns)
    m.check(rc != 0 and "Netlink blue is not a VRF" in out, "existing non-VRF link", out)
    m.sh("ip -n %s link del blue" % ns)
    rc, _, out, _ = m.run(OURS, "STATUS", {"cniVersion": "1.1.0", "name": "v", "type": "vrf"})
    m.check(rc == 0, "STATUS", out)


def test_no_vrf_kernel(ns):
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns), ns)
    code, msg = err_of(out)
    m.check(rc != 0 and code == 999 and msg.startswith("cmdAdd failed: could not add VRF blue:")
            and "CONFIG_NET_VRF" in msg, "kernel without VRF: clear error", out)
    li = m.link(ns, "eth0")
    m.check(li is not None and not li.get("master"), "eth0 untouched")


def vrf_table(ns, name):
    li = m.link(ns, name)
    if li is None or li.get("linkinfo", {}).get("info_kind") != "vrf":
        return None
    return li["linkinfo"].get("info_data", {}).get("table")


def addrs(ns, ifname):
    out = json.loads(m.sh("ip -n %s -j addr show dev %s" % (ns, ifname)).stdout or "[]")
    return sorted("%s/%d" % (a["local"], a["prefixlen"]) for i in out
                  for a in i.get("addr_info", []) if a.get("scope") == "global")


def table_routes(ns, table):
    """(dst, gateway, dev) of one routing table, both families."""
    return sorted((r[1], r[2], r[3]) for r in m.routes(ns) if r[0] == str(table))


def test_real_vrf(ns):
    m.sh("ip -n %s route add default via 10.40.0.1" % ns)
    c = conf(ns, table=100)
    rc, res, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0, "ADD", out)
    m.check(m.link(ns, "eth0").get("master") == "blue", "eth0 enslaved")
    m.check(vrf_table(ns, "blue") == 100, "VRF blue on table 100", vrf_table(ns, "blue"))
    addrs6 = m.sh("ip -n %s -6 addr show dev eth0" % ns).stdout
    m.check("fd00:40::2" in addrs6, "IPv6 address kept", addrs6)
    m.check(("default", "10.40.0.1", "eth0") in table_routes(ns, 100),
            "gateway route copied into table 100", table_routes(ns, 100))
    rc, _, out, _ = m.run(OURS, "CHECK", dict(c, prevResult=res), ns)
    m.check(rc == 0, "CHECK", out)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns, table=200), ns)
    m.check(rc != 0 and "already exist with different routing table 100" in out,
            "different table refused", out)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc != 0 and "interface eth0 has already a master set: blue" in out,
            "second ADD: interface already enslaved", out)
    rc, _, out, _ = m.run(OURS, "CHECK", dict(conf(ns, vrfname="green"), prevResult=res), ns)
    m.check(rc != 0 and "green" in out, "CHECK against another VRF fails", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.link(ns, "blue") is None, "DEL removes the empty VRF", out)
    m.check(not m.link(ns, "eth0").get("master"), "eth0 released")
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "second DEL", out)


def test_table_auto(ns):
    """table absent or 0: the first id from 1 on that no VRF in the namespace uses."""
    m.sh("ip -n %s link add red type vrf table 1" % ns)
    m.sh("ip -n %s link add green type vrf table 2" % ns)
    for keys in ({}, {"table": 0}):
        c = conf(ns, **keys)
        rc, _, out, _ = m.run(OURS, "ADD", c, ns)
        m.check(rc == 0 and vrf_table(ns, "blue") == 3, "table %s: first free id 3" % keys,
                "%s %s" % (out, vrf_table(ns, "blue")))
        rc, _, out, _ = m.run(OURS, "DEL", c, ns)
        m.check(rc == 0 and m.link(ns, "blue") is None, "DEL after table %s" % keys, out)
    m.sh("ip -n %s link del red" % ns)
    m.sh("ip -n %s link del green" % ns)


def plugin_conf(kind, data, name, subnet, subnet6, routes):
    c = {"cniVersion": "1.0.0", "name": name, "type": kind,
         "ipam": {"type": "host-local", "dataDir": data,
                  "ranges": [[{"subnet": subnet}], [{"subnet": subnet6}]],
                  "routes": [{"dst": r} for r in routes]}}
    if kind == "bridge":
        c.update(bridge="br-" + name[-4:], isGateway=True)
    return c


def test_chained(vrf, tag):
    """vrf after ptp and after bridge, both attachments in one VRF of one container; the
    VRF goes with the last one. The interface plugins are ours, with the host side in a
    test namespace."""
    plugdir = os.path.dirname(OURS)
    host, cont = m.netns(), m.netns()
    data = m.sh("mktemp -d").stdout.strip()
    attachments = []
    # one default route in the VRF (through ptp), a route to 10.142/16 through the bridge
    for i, (kind, ifname, route) in enumerate((("ptp", "eth0", "0.0.0.0/0"),
                                               ("bridge", "net1", "10.142.0.0/16"))):
        pc = plugin_conf(kind, data, "n%s%d" % (tag, i), "10.%d.%d.0/24" % (41 + i, tag),
                         "fd00:%d:%d::/64" % (41 + i, tag), [route, "fd00:142::/48"])
        rc, res, out, _ = m.run(os.path.join(plugdir, kind), "ADD", pc, cont, ifname=ifname,
                                host=host, cni_path=plugdir)
        if not m.check(rc == 0, "%s ADD" % kind, out):
            return
        before = addrs(cont, ifname)
        vc = {"cniVersion": "1.0.0", "name": pc["name"], "type": "vrf", "vrfname": "blue",
              "table": 77, "prevResult": res}
        rc, vres, out, _ = m.run(vrf, "ADD", vc, cont, ifname=ifname)
        m.check(rc == 0 and vres == res, "vrf after %s: ADD passes the result through" % kind,
                out)
        m.check(m.link(cont, ifname).get("master") == "blue", "%s enslaved" % ifname)
        m.check(addrs(cont, ifname) == before, "%s keeps its addresses (v4 and v6)" % ifname,
                "%s -> %s" % (before, addrs(cont, ifname)))
        gw4 = [ip["gateway"] for ip in res["ips"] if "." in ip["address"]][0]
        dst = "default" if route == "0.0.0.0/0" else route
        m.check((dst, gw4, ifname) in table_routes(cont, 77),
                "%s: route %s via %s in the VRF's table" % (kind, dst, gw4),
                table_routes(cont, 77))
        ping = m.sh("ip netns exec %s ping -c1 -W2 -I blue %s" % (cont, gw4), check=False)
        m.check(ping.returncode == 0, "%s: gateway reachable through the VRF" % kind,
                ping.stdout + ping.stderr)
        rc, _, out, _ = m.run(vrf, "CHECK", dict(vc, prevResult=res), cont, ifname=ifname)
        m.check(rc == 0, "vrf CHECK after %s" % kind, out)
        attachments.append((kind, ifname, pc, vc))
    for n, (kind, ifname, pc, vc) in enumerate(attachments):
        rc, _, out, _ = m.run(vrf, "DEL", vc, cont, ifname=ifname)
        m.check(rc == 0, "vrf DEL of %s" % ifname, out)
        last = n == len(attachments) - 1
        m.check((m.link(cont, "blue") is None) == last,
                "VRF %s after DEL of %s" % ("gone" if last else "kept", ifname))
        if not last:
            other = attachments[n + 1][1]
            m.check(m.link(cont, other).get("master") == "blue",
                    "%s still enslaved after %s left" % (other, ifname))
        rc, _, out, _ = m.run(os.path.join(plugdir, kind), "DEL", pc, cont, ifname=ifname,
                              host=host, cni_path=plugdir)
        m.check(rc == 0, "%s DEL" % kind, out)
    left = [li["ifname"] for li in json.loads(m.sh("ip -n %s -j link" % cont).stdout)]
    m.check(left == ["lo"], "container empty at the end", left)


def link_state(ns, ifname, vrfname):
    li = m.link(ns, ifname)
    return {"master": li.get("master"), "vrf_table": vrf_table(ns, vrfname),
            "addrs": addrs(ns, ifname), "up": "UP" in li.get("flags", []),
            "routes": [r for r in m.routes(ns) if r[0] != "main"]}


def test_differential():
    """The same chained configurations through the reference vrf and ours: equal results,
    equal link state, equal DEL outcome."""
    cases = [dict(table=100), dict(), dict(table=0)]
    for keys in cases:
        state = {}
        for who, plugin in (("ref", os.path.join(m.REF_DIR, "vrf")), ("ours", OURS)):
            ns, peer = m.netns(), m.netns()
            m.veth(ns, peer, addrs=["10.40.0.2/24", "fd00:40::2/64"])
            m.sh("ip -n %s route add default via 10.40.0.1" % ns)
            c = conf(ns, **keys)
            rc, res, out, _ = m.run(plugin, "ADD", c, ns)
            for i in (res or {}).get("interfaces", []):
                i["sandbox"] = i["sandbox"].replace(ns, "NS")
            st = {"rc": rc, "result": res, "link": link_state(ns, "eth0", "blue")}
            rc, _, out, _ = m.run(plugin, "CHECK", dict(c, prevResult=res), ns)
            st["check"] = rc
            rc, _, out, _ = m.run(plugin, "DEL", c, ns)
            st["del"] = (rc, m.link(ns, "blue") is None, m.link(ns, "eth0").get("master"))
            state[who] = st
        # 1.1.1 loses the interface's gateway routes on enslaving; newer references and we
        # put them in the VRF's table (docs/plugins/vrf.md)
        table = state["ours"]["link"]["vrf_table"]
        gw = (str(table), "default", "10.40.0.1", "eth0", "", "", "", "")
        m.check(gw in state["ours"]["link"]["routes"], "differential %s: gateway route kept in "
                "table %s" % (keys, table), state["ours"]["link"]["routes"])
        state["ours"]["link"]["routes"] = [r for r in state["ours"]["link"]["routes"] if r != gw]
        m.check(state["ref"] == state["ours"], "differential %s" % keys,
                "\n  ref:  %s\n  ours: %s" % (state["ref"], state["ours"]))


def main():
    m.init()
    if not OURS:
        print("SKIP: VRF_PLUGIN not set")
        sys.exit(77)
    ns = setup()
    test_config_errors(ns)
    test_del_and_check_without_vrf(ns)
    if kernel_has_vrf(ns):
        test_real_vrf(ns)
        test_table_auto(ns)
        test_chained(OURS, os.getpid() % 200)
        test_differential()
    elif os.environ.get("CNI_TEST_REQUIRE_KERNEL_FEATURES") == "1":
        m.check(False, "this kernel must have VRF (CONFIG_NET_VRF)")
    else:
        # the real VRF part runs in the user-mode kernel (tests/kernel), which has VRF
        test_no_vrf_kernel(ns)
        print("NOTE: no CONFIG_NET_VRF here: real VRF devices are tested in the user-mode "
              "kernel (tests/kernel/run.sh)")
    m.finish()


if __name__ == "__main__":
    main()
