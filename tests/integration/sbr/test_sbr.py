# SPDX-License-Identifier: Apache-2.0
"""sbr plugin tests in throw-away namespaces.

  test_sbr.py integration -- our plugin: rules, tables, moved routes, "table" mode, DEL,
                             CHECK, errors
  test_sbr.py interop     -- the same setups through /usr/lib/cni/sbr and ours, comparing
                             results, rules and every route; cross DEL both ways

Environment: SBR_PLUGIN (ours)."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tuning"))
import metatest as m  # noqa: E402

OURS = os.environ.get("SBR_PLUGIN", "")
REF = m.REF_DIR + "/sbr"
V4 = ("10.20.0.2/24", "10.20.0.1")
V4B = ("10.30.0.2/24", "10.30.0.1")
V6 = ("fd00:20::2/64", "fd00:20::1")


def setup(ips=(V4,), default=True):
    """Container namespace with eth0 carrying ips and their routes, as a main plugin leaves it."""
    a, b = m.netns(), m.netns()
    m.veth(a, b, addrs=[i[0] for i in ips], peer_addrs=[])
    fams = set()
    for addr, gw in ips:
        fam = "-6" if ":" in addr else "-4"
        if default and gw and fam not in fams:
            fams.add(fam)
            m.sh("ip %s -n %s route add default via %s dev eth0 onlink" % (fam, a, gw))
    return a


def conf(ns, ips=(V4,), version="1.0.0", **keys):
    c = {"cniVersion": version, "name": "sbrnet", "type": "sbr",
         "prevResult": m.prev_result(ns, ips=ips, version=version)}
    c["prevResult"]["interfaces"][0]["sandbox"] = "/run/netns/x"
    c.update(keys)
    return c


def err_of(out):
    try:
        e = json.loads(out)
        return e.get("code"), e.get("msg", "")
    except ValueError:
        return None, out


def state(ns):
    return m.rules(ns), m.routes(ns)


def test_add_del_check():
    ns = setup()
    c = conf(ns)
    rc, res, out, err = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0, "ADD", out + err)
    m.check(res == json.loads(json.dumps(c["prevResult"])), "result is prevResult", out)
    rules, routes = state(ns)
    m.check(rules == [("10.20.0.2", "100")], "rule from ip to table 100", str(rules))
    tables = sorted({r[0] for r in routes})
    m.check("100" in tables and not [r for r in routes if r[0] == "main" and r[3] == "eth0"
                                     and ":" not in (r[1] or "")],
            "v4 routes of eth0 moved out of main", str(routes))
    m.check(("100", "default", "10.20.0.1", "eth0") in [r[:4] for r in routes],
            "default route via gateway in table 100", str(routes))
    rc, _, out, _ = m.run(OURS, "CHECK", dict(c, prevResult=res), ns)
    m.check(rc == 0, "CHECK", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.rules(ns) == [], "DEL removes the rule", out + str(m.rules(ns)))
    rc, _, out, _ = m.run(OURS, "CHECK", dict(c, prevResult=res), ns)
    m.check(rc != 0 and "no source-based routing rule for 10.20.0.2" in out,
            "CHECK notices the missing rule", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "second DEL", out)
    c2 = dict(c)
    del c2["prevResult"]
    rc, _, out, _ = m.run(OURS, "DEL", c2, ns)
    m.check(rc == 0, "DEL without prevResult", out)
    m.del_netns(ns)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "DEL with the namespace gone", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, None, netns_path="")
    m.check(rc == 0, "DEL without CNI_NETNS", out)
    m.check(not os.path.exists(m.nspath(ns)), "DEL did not create the namespace path")


def test_proc_netns_path():
    """Runtimes pass /proc/<pid>/ns/net (a magic link) as CNI_NETNS: ADD, CHECK and DEL work
    through it, under the same lock as the /run/netns path (issue 17)."""
    ns = setup()
    holder = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "60"])
    try:
        path = "/proc/%d/ns/net" % holder.pid
        for _ in range(200):  # until ip(8) has entered the namespace
            if os.path.exists(path) and os.stat(path).st_ino == os.stat(m.nspath(ns)).st_ino:
                break
            time.sleep(0.01)
        c = conf(ns)
        rc, res, out, err = m.run(OURS, "ADD", c, None, netns_path=path)
        m.check(rc == 0 and m.rules(ns) == [("10.20.0.2", "100")], "ADD via " + path,
                out + err + str(m.rules(ns)))
        rc, _, out, _ = m.run(OURS, "CHECK", dict(c, prevResult=res), None, netns_path=path)
        m.check(rc == 0, "CHECK via /proc/<pid>/ns/net", out)
        rc, _, out, _ = m.run(OURS, "DEL", c, None, netns_path=path)
        m.check(rc == 0 and m.rules(ns) == [], "DEL via /proc/<pid>/ns/net", out)
    finally:
        holder.kill()
        holder.wait()


def test_dual_and_tables():
    ns = setup(ips=(V4, V6))
    # a table already in use (by routes only) and one named by a rule are skipped
    m.sh("ip -n %s route add 192.168.77.0/24 dev eth0 table 100" % ns)
    m.sh("ip -n %s rule add from 192.168.88.1 table 101" % ns)
    c = conf(ns, ips=(V4, V6))
    rc, _, out, err = m.run(OURS, "ADD", c, ns)
    rules = m.rules(ns)
    m.check(rc == 0 and ("10.20.0.2", "102") in rules and ("fd00:20::2", "103") in rules,
            "dual stack: one free table per IP", out + err + str(rules))
    routes = m.routes(ns)
    m.check(("103", "default", "fd00:20::1", "eth0") in [r[:4] for r in routes],
            "v6 default route in its table", str(routes))
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.rules(ns) == [("192.168.88.1", "101")], "DEL keeps foreign rules",
            str(m.rules(ns)))


def test_table_mode_and_gateways():
    ns = setup()
    before = m.routes(ns)
    c = conf(ns, table=500)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and m.rules(ns) == [("10.20.0.2", "500")] and m.routes(ns) == before,
            "table mode: rule only, routes untouched", out + str(m.rules(ns)))
    m.sh("ip -n %s rule add from 10.20.0.2 table 600" % ns)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.rules(ns) == [("10.20.0.2", "600")], "table mode DEL: only its table",
            out + str(m.rules(ns)))
    # (a default route already in main is moved over it, as in the reference)
    ns = setup(default=False)
    c = conf(ns, gateways=["10.20.0.254"])
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and ("100", "default", "10.20.0.254", "eth0") in
            [r[:4] for r in m.routes(ns)], "static gateway used", out + str(m.routes(ns)))
    ns = setup()
    c = conf(ns, addSourceHints=True)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    main = [r for r in m.routes(ns) if r[0] == "main" and r[1] == "10.20.0.0/24"]
    m.check(rc == 0 and main and main[0][4] == "10.20.0.2", "addSourceHints keeps subnet route",
            out + str(m.routes(ns)))


def test_errors():
    ns = setup()
    cases = [
        (dict(prevResult=None), 7, "This plugin must be called as chained plugin"),
        (dict(table="x"), 6, "PluginConf.table of type int"),
        (dict(table=0), 7, "invalid table 0"),
        (dict(gateways=["1.1.1.1", "2.2.2.2", "::1"]), 7, "more than 2 entries"),
        (dict(gateways=["10.0.0.1", "10.0.0.2"]), 7,
         "gateways list contains multiple IPv4 addresses: 10.0.0.1 and 10.0.0.2"),
        (dict(gateways=["nope"]), 7, "invalid static gateway IP address: nope"),
        (dict(addSourceHints="y"), 6, "PluginConf.addSourceHints of type bool"),
    ]
    for keys, code, text in cases:
        c = conf(ns, **keys)
        if "prevResult" in keys:
            del c["prevResult"]
        rc, _, out, _ = m.run(OURS, "ADD", c, ns)
        m.check(rc != 0 and err_of(out)[0] == code and text in err_of(out)[1], "error " + text,
                out)
    c = conf(ns)
    c["prevResult"]["ips"] = []
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc != 0 and "No IP addresses supplied on interface: eth0" in out, "no IPs", out)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns), ns, ifname="eth9")
    m.check(rc != 0 and "Cannot find network interface eth9" in out, "missing interface", out)
    m.check(m.rules(ns) == [], "failed ADDs left no rule", str(m.rules(ns)))
    rc, _, out, _ = m.run(OURS, "STATUS", {"cniVersion": "1.1.0", "name": "s", "type": "sbr"})
    m.check(rc == 0, "STATUS", out)
    rc, _, out, _ = m.run(OURS, "GC", {"cniVersion": "1.1.0", "name": "s", "type": "sbr",
                                       "cni.dev/valid-attachments": []})
    m.check(rc == 0, "GC", out)


def test_interop():
    if not os.access(REF, os.X_OK):
        m.skip("interop", "no reference plugin at " + REF)
        return
    setups = [("v4", (V4,)), ("dual", (V4, V6)), ("two v4", (V4, V4B))]
    for version in ("1.0.0", "0.4.0"):
        for tag, ips in setups:
            got = {}
            for name, plugin in (("ref", REF), ("ours", OURS)):
                ns = setup(ips=ips)
                rc, res, out, err = m.run(plugin, "ADD", conf(ns, ips=ips, version=version), ns)
                after = state(ns)
                rcd, _, outd, _ = m.run(plugin, "DEL", conf(ns, ips=ips, version=version), ns)
                got[name] = (rc, out, after, rcd, m.rules(ns))
            r, o = got["ref"], got["ours"]
            t = "%s %s" % (version, tag)
            m.check(r[0] == o[0] == 0, "interop ADD " + t, r[1] + o[1])
            m.check(r[1] == o[1], "interop result " + t, "\n%s\n%s" % (r[1], o[1]))
            m.check(r[2][0] == o[2][0], "interop rules " + t, "%s %s" % (r[2][0], o[2][0]))
            m.check(r[2][1] == o[2][1], "interop routes " + t, "\n%s\n%s" % (r[2][1], o[2][1]))
            m.check(r[3] == o[3] == 0 and r[4] == o[4] == [], "interop DEL " + t,
                    "%s %s" % (r[4], o[4]))
    for adder, deleter in ((REF, OURS), (OURS, REF)):
        ns = setup(ips=(V4, V6))
        c = conf(ns, ips=(V4, V6))
        rc, _, out, _ = m.run(adder, "ADD", c, ns)
        rcd, _, outd, _ = m.run(deleter, "DEL", c, ns)
        m.check(rc == 0 and rcd == 0 and m.rules(ns) == [], "cross DEL " + adder + " -> " +
                deleter, out + outd + str(m.rules(ns)))
    # both on one namespace, second interface: tables chosen around each other's
    ns = setup()
    m.sh("ip -n %s link add eth1 type veth peer name eth1p" % ns)
    m.sh("ip -n %s link set eth1 up; ip -n %s link set eth1p up" % (ns, ns))
    m.sh("ip -n %s addr add 10.30.0.2/24 dev eth1" % ns)
    rc1, _, o1, _ = m.run(REF, "ADD", conf(ns), ns)
    c2 = conf(ns, ips=(V4B,))
    c2["prevResult"]["interfaces"][0]["name"] = "eth1"
    rc2, _, o2, _ = m.run(OURS, "ADD", c2, ns, ifname="eth1")
    m.check(rc1 == rc2 == 0 and m.rules(ns) == [("10.20.0.2", "100"), ("10.30.0.2", "101")],
            "reference and ours share a namespace", o1 + o2 + str(m.rules(ns)))


def main():
    m.init()
    if not OURS:
        print("SKIP: SBR_PLUGIN not set")
        sys.exit(77)
    if len(sys.argv) > 1 and sys.argv[1] == "interop":
        test_interop()
    else:
        test_add_del_check()
        test_proc_netns_path()
        test_dual_and_tables()
        test_table_mode_and_gateways()
        test_errors()
    m.finish()


if __name__ == "__main__":
    main()
