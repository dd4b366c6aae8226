# SPDX-License-Identifier: Apache-2.0
"""bridge plugin against the real kernel, in test namespaces: the scenarios of the
reference's docs (static IPAM, host-local with a gateway and masquerade, two containers
pinging each other), each option's effect on the kernel, bad input, DEL/CHECK/GC/STATUS,
and chains that mix our plugins with the reference IPAM plugins."""

import json
import os
import subprocess

from brtest import (OURS, OURS_DIR, REF_DIR, addrs, check, err_of, finish, iptables_nat,
                    link, link_names, netns, netns_del, nft_ruleset, ping, preflight, run,
                    sh, sysctl, sysfs, tmpdir)

IPAM_DIRS = [("ours", OURS_DIR), ("reference", REF_DIR)]


def hl_conf(data_dir, version="1.0.0", name="net-b", subnet="10.22.0.0/16", **top):
    c = {"cniVersion": version, "name": name, "type": "bridge", "bridge": "cni0",
         "ipam": {"type": "host-local", "subnet": subnet, "dataDir": data_dir}}
    c.update(top)
    return c


def ipam_files(data_dir, name):
    d = os.path.join(data_dir, name)
    if not os.path.isdir(d):
        return []
    return sorted(f for f in os.listdir(d) if f[0].isdigit() or ":" in f)


def scenario_a(ipam_label, cni_path):
    """Static IPAM: result lists br0, the host veth and eth0 (sandbox), IP on interface 2,
    the route and an empty dns; the default route is in the container."""
    host, cont = netns("ah"), netns("ac")
    conf = {"cniVersion": "1.0.0", "name": "net-a", "type": "bridge", "bridge": "br0",
            "ipam": {"type": "static", "addresses": [{"address": "192.168.1.67/24"}],
                     "routes": [{"dst": "0.0.0.0/0", "gw": "192.168.1.99"}]}}
    rc, js, out, errout = run(OURS, "ADD", host, cont, conf, cni_path=cni_path)
    tag = "scenario a (%s static)" % ipam_label
    if not check(rc == 0 and js, "%s: ADD failed: %s %s" % (tag, out, errout)):
        return
    ifs = js.get("interfaces", [])
    check([i.get("name") for i in ifs][0:1] == ["br0"] and len(ifs) == 3,
          "%s: interfaces %s" % (tag, ifs))
    check(ifs[1]["name"].startswith("veth") and len(ifs[1]["name"]) == 12 and
          "sandbox" not in ifs[1], "%s: host veth %s" % (tag, ifs[1]))
    check(ifs[2] .get("name") == "eth0" and ifs[2].get("sandbox") == "/run/netns/" + cont,
          "%s: container iface %s" % (tag, ifs[2]))
    check(all(len(i.get("mac", "")) == 17 for i in ifs), "%s: macs %s" % (tag, ifs))
    check(js.get("ips") == [{"interface": 2, "address": "192.168.1.67/24"}],
          "%s: ips %s" % (tag, js.get("ips")))
    check(js.get("routes") == [{"dst": "0.0.0.0/0", "gw": "192.168.1.99"}],
          "%s: routes %s" % (tag, js.get("routes")))
    check(js.get("dns") == {}, "%s: dns %s" % (tag, js.get("dns")))
    routes = sh("ip", "-n", cont, "route")
    check("default via 192.168.1.99 dev eth0" in routes, "%s: container routes %s" % (tag, routes))
    # the kernel agrees with the result
    check(link(host, ifs[1]["name"]).get("master") == "br0", "%s: veth not on br0" % tag)
    check(link(cont, "eth0")["address"] == ifs[2]["mac"], "%s: container mac" % tag)
    check(link(host, "br0")["address"] == ifs[0]["mac"], "%s: bridge mac" % tag)
    # CHECK with the result as prevResult
    conf["prevResult"] = js
    rc, _, out, _ = run(OURS, "CHECK", host, cont, conf, cni_path=cni_path)
    check(rc == 0, "%s: CHECK failed: %s" % (tag, out))
    del conf["prevResult"]
    rc, _, out, _ = run(OURS, "DEL", host, cont, conf, cni_path=cni_path)
    check(rc == 0 and link(cont, "eth0") is None, "%s: DEL: %s" % (tag, out))
    check(link_names(host) == ["br0", "lo"], "%s: host links after DEL %s" % (tag, link_names(host)))
    netns_del(cont)
    netns_del(host)


def scenario_b(ipam_label, cni_path):
    """host-local, isGateway, ipMasq on 10.22.0.0/16, cniVersion 0.2.0: a 0.2.0 result;
    two containers on the bridge ping each other and the gateway."""
    host, c1, c2 = netns("bh"), netns("bc"), netns("bc")
    data = tmpdir()
    conf = hl_conf(data, version="0.2.0", isGateway=True, ipMasq=True)
    tag = "scenario b (%s host-local)" % ipam_label
    results = []
    for i, c in enumerate((c1, c2)):
        rc, js, out, errout = run(OURS, "ADD", host, c, conf, cid="ctr%d" % i, cni_path=cni_path)
        if not check(rc == 0 and js, "%s: ADD %d failed: %s %s" % (tag, i, out, errout)):
            return
        results.append(js)
    r0 = results[0]
    check(r0.get("cniVersion") == "0.2.0" and "interfaces" not in r0 and "ips" not in r0,
          "%s: not a 0.2.0 result: %s" % (tag, r0))
    check(r0.get("ip4", {}).get("gateway") == "10.22.0.1" and
          r0["ip4"].get("ip", "").startswith("10.22.0."), "%s: ip4 %s" % (tag, r0.get("ip4")))
    ip1 = results[1]["ip4"]["ip"].split("/")[0]
    ip0 = r0["ip4"]["ip"].split("/")[0]
    check(ip0 != ip1, "%s: same address twice" % tag)
    check(ping(c1, ip1), "%s: %s cannot ping %s" % (tag, c1, ip1))
    check(ping(c2, ip0), "%s: %s cannot ping %s" % (tag, c2, ip0))
    check(ping(c1, "10.22.0.1"), "%s: cannot ping the gateway" % tag)
    br = addrs(host, "cni0")[0]
    check(any(a["local"] == "10.22.0.1" and a["prefixlen"] == 16 for a in br["addr_info"]),
          "%s: gateway address missing on cni0: %s" % (tag, br))
    check(sysctl(host, "net.ipv4.ip_forward") == "1", "%s: ip_forward not enabled" % tag)
    nat = iptables_nat(host)
    check(nat.count("-j MASQUERADE") == 2 and "-s %s/32" % ip0 in nat,
          "%s: masquerade rules %s" % (tag, nat))
    for i, c in enumerate((c1, c2)):
        rc, _, out, _ = run(OURS, "DEL", host, c, conf, cid="ctr%d" % i, cni_path=cni_path)
        check(rc == 0, "%s: DEL %d: %s" % (tag, i, out))
    check("MASQUERADE" not in iptables_nat(host), "%s: masquerade left after DEL" % tag)
    check(ipam_files(data, "net-b") == [], "%s: IPs left allocated: %s" %
          (tag, ipam_files(data, "net-b")))
    for n in (c1, c2, host):
        netns_del(n)


def expect_error(tag, host, cont, conf, code, words, cid="cid1", args="", ifname="eth0",
                 netns_path=None):
    before_host = link_names(host)
    before_cont = link_names(cont) if cont else None
    rc, js, out, errout = run(OURS, "ADD", host, netns_path or cont, conf, cid=cid, args=args,
                              ifname=ifname)
    got_code, msg = err_of(js)
    check(rc != 0, "%s: ADD succeeded" % tag)
    check(got_code == code, "%s: code %s, want %s (%s)" % (tag, got_code, code, out))
    for w in words:
        check(w in msg, "%s: message %r lacks %r" % (tag, msg, w))
    check(link_names(host) == before_host,
          "%s: host links changed: %s -> %s" % (tag, before_host, link_names(host)))
    if cont:
        check(link_names(cont) == before_cont, "%s: container links changed" % tag)
    return msg


def bad_input():
    host, cont = netns("eh"), netns("ec")
    data = tmpdir()
    base = hl_conf(data, name="net-e")
    # a link of that name that is not a bridge
    sh("ip", "-n", host, "link", "add", "notbr", "type", "veth", "peer", "name", "notbr-p")
    expect_error("non-bridge link", host, cont, dict(base, bridge="notbr"), 7,
                 ['"notbr" already exists but is not a bridge'])
    check(ipam_files(data, "net-e") == [], "non-bridge link: IPAM allocated")
    # the interface name is taken in the container
    sh("ip", "-n", cont, "link", "add", "eth0", "type", "veth", "peer", "name", "other")
    expect_error("ifname exists", host, cont, base, 999,
                 ["container veth name provided (eth0) already exists"])
    check(link(host, "cni0") is None, "ifname exists: bridge created anyway")
    sh("ip", "-n", cont, "link", "del", "eth0")
    # a netns path that is not a network namespace
    notns = os.path.join(tmpdir(), "not-a-netns")
    open(notns, "w").close()
    msg = expect_error("not a netns", host, None, base, 4, [notns], netns_path=notns)
    missing = "/run/netns/brt-does-not-exist-%d" % os.getpid()
    rc, js, out, _ = run(OURS, "ADD", host, missing, base)
    check(rc != 0 and missing in err_of(js)[1], "missing netns: %s" % out)
    # conflicting options and bad values
    expect_error("hairpin+promisc", host, cont, dict(base, hairpinMode=True, promiscMode=True),
                 7, ["cannot set hairpin mode and promiscuous mode at the same time"])
    expect_error("disableContainerInterface+ipam", host, cont,
                 dict(base, disableContainerInterface=True), 7,
                 ["cannot use IPAM when DisableContainerInterface flag is set"])
    for v in (5000, -1, 4095):
        expect_error("vlan %d" % v, host, cont, dict(base, vlan=v), 7,
                     ["invalid VLAN ID %d (must be between 0 and 4094)" % v])
    trunk_cases = [
        ([{"minID": 10, "maxID": 5}], "minID is greater than maxID"),
        ([{"minID": 0, "maxID": 5}], "incorrect trunk minID parameter"),
        ([{"minID": 1, "maxID": 4095}], "incorrect trunk maxID parameter"),
        ([{"maxID": 5}], "minID is missing"),
        ([{"minID": 5}], "maxID is missing"),
        ([{"id": 0}], "incorrect trunk id parameter"),
        ([{"id": 4095}], "incorrect trunk id parameter"),
    ]
    for trunk, words in trunk_cases:
        expect_error("vlanTrunk %s" % trunk, host, cont, dict(base, vlanTrunk=trunk), 7, [words])
    expect_error("vlan+vlanTrunk", host, cont, dict(base, vlan=10, vlanTrunk=[{"id": 20}]), 7,
                 ["cannot set vlan and vlanTrunk at the same time"])
    expect_error("mtu type", host, cont, dict(base, mtu="1500"), 6, ["NetConf.mtu", "int"])
    expect_error("mtu fraction", host, cont, dict(base, mtu=1400.5), 6, ["1400.5"])
    expect_error("isGateway type", host, cont, dict(base, isGateway="yes"), 6,
                 ["NetConf.isGateway", "bool"])
    expect_error("bad mac", host, cont, dict(base, runtimeConfig={"mac": "zz:00"}), 7, ["zz:00"])
    expect_error("bad backend", host, cont, dict(base, ipMasq=True, ipMasqBackend="pf"), 7,
                 ["pf"])
    expect_error("unknown CNI_ARGS", host, cont, base, 999, ["FOO=bar"], args="FOO=bar")
    expect_error("bridge name too long", host, cont, dict(base, bridge="a" * 16), 7, ["a" * 16])
    check(ipam_files(data, "net-e") == [], "bad input: IPAM allocated %s" %
          ipam_files(data, "net-e"))

    # a failure after IPAM ADD undoes everything: the bridge holds another IPv4 address
    sh("ip", "-n", host, "link", "add", "cni0", "type", "bridge")
    sh("ip", "-n", host, "addr", "add", "10.99.0.1/24", "dev", "cni0")
    msg = expect_error("gateway conflict", host, cont, dict(base, isGateway=True, ipMasq=True,
                                                           macspoofchk=True), 999,
                       ['"cni0" already has an IP address different from 10.22.0.1/16'])
    check(ipam_files(data, "net-e") == [], "gateway conflict: IP not released")
    check("macspoofchk" not in nft_ruleset(host), "gateway conflict: spoofcheck left")
    check("MASQUERADE" not in iptables_nat(host), "gateway conflict: masquerade left")
    # forceAddress replaces it
    rc, js, out, _ = run(OURS, "ADD", host, cont, dict(base, isGateway=True, forceAddress=True))
    check(rc == 0, "forceAddress: %s" % out)
    got = [a["local"] for a in addrs(host, "cni0")[0]["addr_info"] if a["family"] == "inet"]
    check(got == ["10.22.0.1"], "forceAddress: bridge addresses %s" % got)
    netns_del(cont)
    netns_del(host)


def options():
    host, cont = netns("oh"), netns("oc")
    data = tmpdir()
    # mtu, hairpin, isolation, mac from runtimeConfig over args over CNI_ARGS
    conf = hl_conf(data, name="net-o", mtu=1400, hairpinMode=True, portIsolation=True,
                   args={"cni": {"mac": "02:00:00:00:00:02"}},
                   runtimeConfig={"mac": "02:00:00:00:00:03"})
    rc, js, out, errout = run(OURS, "ADD", host, cont, conf,
                              args="IgnoreUnknown=1;MAC=02:00:00:00:00:01")
    if check(rc == 0, "options: ADD %s %s" % (out, errout)):
        veth = js["interfaces"][1]["name"]
        check(link(cont, "eth0")["address"] == "02:00:00:00:00:03", "runtimeConfig.mac not used")
        check(js["interfaces"][2]["mac"] == "02:00:00:00:00:03", "result mac")
        for n in ("cni0",):
            check(link(host, n)["mtu"] == 1400, "bridge mtu %s" % link(host, n)["mtu"])
        check(link(host, veth)["mtu"] == 1400 and link(cont, "eth0")["mtu"] == 1400, "veth mtu")
        check(sysfs(host, "/sys/class/net/%s/brport/hairpin_mode" % veth) == "1", "hairpin off")
        check(sysfs(host, "/sys/class/net/%s/brport/isolated" % veth) == "1", "isolation off")
        check(sysctl(cont, "net.ipv4.conf.eth0.arp_notify") == "1", "arp_notify")
        check(sysctl(cont, "net.ipv6.conf.eth0.accept_dad") == "0", "accept_dad")
        check(sysctl(host, "net.ipv6.conf.cni0.accept_ra") == "0", "bridge accept_ra")
        run(OURS, "DEL", host, cont, conf)
    rc, js, out, _ = run(OURS, "ADD", host, cont, hl_conf(data, name="net-o"),
                         args="IgnoreUnknown=1;MAC=02:00:00:00:00:01;K8S_POD_NAME=x")
    check(rc == 0 and link(cont, "eth0")["address"] == "02:00:00:00:00:01", "CNI_ARGS MAC: %s" % out)
    run(OURS, "DEL", host, cont, hl_conf(data, name="net-o"))
    netns_del(host)

    # promiscMode on a new bridge
    host = netns("oh")
    rc, js, out, _ = run(OURS, "ADD", host, cont, hl_conf(data, name="net-o", promiscMode=True))
    check(rc == 0 and "PROMISC" in link(host, "cni0")["flags"], "promiscMode: %s" % out)
    conf = hl_conf(data, name="net-o", promiscMode=True)
    conf["prevResult"] = js
    rc, _, out, _ = run(OURS, "CHECK", host, cont, conf)
    check(rc == 0, "promisc CHECK: %s" % out)
    conf["promiscMode"] = False
    rc, js2, out, _ = run(OURS, "CHECK", host, cont, conf)
    check(rc != 0 and "Promisc Mode" in err_of(js2)[1], "promisc CHECK mismatch: %s" % out)
    run(OURS, "DEL", host, cont, hl_conf(data, name="net-o"))
    netns_del(host)

    # layer 2 only, then disableContainerInterface (container end stays down, no wait)
    host = netns("oh")
    conf = {"cniVersion": "1.0.0", "name": "net-l2", "type": "bridge", "bridge": "l2br",
            "dns": {"nameservers": ["10.1.1.1"]}}
    rc, js, out, _ = run(OURS, "ADD", host, cont, conf)
    check(rc == 0 and "UP" in link(cont, "eth0")["flags"] and "ips" not in js and
          js.get("dns") == {"nameservers": ["10.1.1.1"]}, "layer 2: %s" % out)
    conf["prevResult"] = js
    rc, _, out, _ = run(OURS, "CHECK", host, cont, conf)
    check(rc == 0, "layer 2 CHECK (no IPAM): %s" % out)
    del conf["prevResult"]
    run(OURS, "DEL", host, cont, conf)
    conf["disableContainerInterface"] = True
    rc, js, out, _ = run(OURS, "ADD", host, cont, conf)
    check(rc == 0 and "UP" not in link(cont, "eth0")["flags"], "disableContainerInterface: %s" % out)
    run(OURS, "DEL", host, cont, conf)
    netns_del(host)
    netns_del(cont)


def ipv6():
    host, cont = netns("6h"), netns("6c")
    data = tmpdir()
    conf = {"cniVersion": "1.0.0", "name": "net-6", "type": "bridge", "bridge": "br6",
            "isDefaultGateway": True,
            "ipam": {"type": "host-local", "dataDir": data,
                     "ranges": [[{"subnet": "10.30.0.0/24"}], [{"subnet": "fd00:30::/64"}]]}}
    rc, js, out, errout = run(OURS, "ADD", host, cont, conf)
    if check(rc == 0, "dual stack ADD: %s %s" % (out, errout)):
        check(sorted(r["dst"] for r in js.get("routes", [])) == ["0.0.0.0/0", "::/0"],
              "default routes %s" % js.get("routes"))
        six = [a for a in addrs(cont, "eth0")[0]["addr_info"] if a["local"].startswith("fd00")]
        check(six and not six[0].get("tentative"), "IPv6 address still tentative: %s" % six)
        check(six and six[0].get("nodad"), "IPv6 address added without NODAD: %s" % six)
        check(sysctl(host, "net.ipv6.conf.all.forwarding") == "1", "IPv6 forwarding")
        v6gw = [a["local"] for a in addrs(host, "br6")[0]["addr_info"] if a["local"] == "fd00:30::1"]
        check(v6gw == ["fd00:30::1"], "IPv6 gateway on the bridge")
        check("default via fd00:30::1" in sh("ip", "-n", cont, "-6", "route"), "IPv6 default")
        conf["prevResult"] = js
        rc, _, out, _ = run(OURS, "CHECK", host, cont, conf)
        check(rc == 0, "dual stack CHECK: %s" % out)
        del conf["prevResult"]
        run(OURS, "DEL", host, cont, conf)
    conf["enabledad"] = True
    rc, js, out, _ = run(OURS, "ADD", host, cont, conf)
    if check(rc == 0, "enabledad ADD: %s" % out):
        check(sysctl(cont, "net.ipv6.conf.eth0.accept_dad") == "1" and
              sysctl(cont, "net.ipv6.conf.eth0.enhanced_dad") == "1", "enabledad sysctls")
        six = [a for a in addrs(cont, "eth0")[0]["addr_info"] if a["local"].startswith("fd00")]
        check(six and not six[0].get("nodad"), "enabledad: NODAD used anyway")
        run(OURS, "DEL", host, cont, conf)
    netns_del(host)
    netns_del(cont)


def macspoofchk():
    host, c1, c2 = netns("mh"), netns("mc"), netns("mc")
    data = tmpdir()
    conf = hl_conf(data, name="net-m", macspoofchk=True)
    res = []
    for i, c in enumerate((c1, c2)):
        rc, js, out, _ = run(OURS, "ADD", host, c, conf, cid="m%d" % i)
        if not check(rc == 0, "macspoofchk ADD: %s" % out):
            return
        res.append(js)
    rules = nft_ruleset(host)
    veth = res[0]["interfaces"][1]["name"]
    check('iifname "%s" jump cni-br-iface-m0-eth0 comment "macspoofchk-m0-eth0"' % veth in rules,
          "spoofcheck base rule missing:\n" + rules)
    check("ether saddr %s return" % res[0]["interfaces"][2]["mac"] in rules, "mac rule missing")
    ip1 = res[1]["ips"][0]["address"].split("/")[0]
    check(ping(c1, ip1), "macspoofchk: ping with the right MAC fails")
    sh("ip", "-n", c1, "link", "set", "eth0", "address", "02:11:22:33:44:55")
    check(not ping(c1, ip1), "macspoofchk: spoofed MAC still gets through")
    # DEL twice: idempotent, and the chains are gone
    for _ in range(2):
        rc, _, out, _ = run(OURS, "DEL", host, c1, conf, cid="m0")
        check(rc == 0, "macspoofchk DEL: %s" % out)
    rules = nft_ruleset(host)
    check("m0-eth0" not in rules and "m1-eth0" in rules, "spoofcheck teardown:\n" + rules)
    run(OURS, "DEL", host, c2, conf, cid="m1")
    for n in (c1, c2, host):
        netns_del(n)


def del_gc_status():
    host, c1, c2 = netns("gh"), netns("gc"), netns("gc")
    data = tmpdir()
    conf = hl_conf(data, name="net-g", isGateway=True, ipMasq=True, macspoofchk=True)
    for i, c in enumerate((c1, c2)):
        rc, _, out, _ = run(OURS, "ADD", host, c, conf, cid="g%d" % i)
        check(rc == 0, "gc ADD %d: %s" % (i, out))
    check(len(ipam_files(data, "net-g")) == 2, "gc: two IPs expected")
    # DEL after the namespace is gone still releases IPAM, masquerade and spoofcheck
    netns_del(c1)
    rc, _, out, _ = run(OURS, "DEL", host, c1, conf, cid="g0")
    check(rc == 0, "DEL with the netns gone: %s" % out)
    check(len(ipam_files(data, "net-g")) == 1, "DEL with netns gone: IP not released")
    check("g0-eth0" not in nft_ruleset(host), "DEL with netns gone: spoofcheck left")
    check(iptables_nat(host).count("MASQUERADE") == 1, "DEL with netns gone: masquerade left")
    rc, _, out, _ = run(OURS, "DEL", host, "", conf, cid="g0")
    check(rc == 0, "DEL without netns: %s" % out)
    # GC: g1's namespace dies without a DEL; a GC listing nobody collects it
    netns_del(c2)
    gc = dict(conf, cniVersion="1.1.0")
    gc["cni.dev/valid-attachments"] = [{"containerID": "other", "ifname": "eth0"}]
    rc, _, out, errout = run(OURS, "GC", host, "", gc)
    check(rc == 0, "GC: %s %s" % (out, errout))
    check(ipam_files(data, "net-g") == [], "GC: IPAM not collected: %s" % ipam_files(data, "net-g"))
    check("g1-eth0" not in nft_ruleset(host), "GC: spoofcheck chains left")
    check("MASQUERADE" not in iptables_nat(host), "GC: masquerade left")
    # GC keeps valid attachments
    c3 = netns("gc")
    rc, _, out, _ = run(OURS, "ADD", host, c3, conf, cid="g3")
    gc["cni.dev/valid-attachments"] = [{"containerID": "g3", "ifname": "eth0"}]
    rc, _, out, _ = run(OURS, "GC", host, "", gc)
    check(rc == 0 and len(ipam_files(data, "net-g")) == 1 and "g3-eth0" in nft_ruleset(host)
          and "MASQUERADE" in iptables_nat(host), "GC removed a valid attachment: %s" % out)
    # STATUS goes to IPAM
    rc, _, out, _ = run(OURS, "STATUS", host, "", gc)
    check(rc == 0, "STATUS: %s" % out)
    bad = dict(gc, ipam={"type": "no-such-ipam"})
    rc, js, out, _ = run(OURS, "STATUS", host, "", bad)
    check(rc != 0, "STATUS with a missing IPAM plugin succeeded")
    # CHECK sees a missing address and a veth taken off the bridge
    rc, js, out, _ = run(OURS, "DEL", host, c3, conf, cid="g3")
    c4 = netns("gc")
    rc, js, out, _ = run(OURS, "ADD", host, c4, conf, cid="g4")
    conf_prev = dict(conf, prevResult=js)
    rc, _, out, _ = run(OURS, "CHECK", host, c4, conf_prev, cid="g4")
    check(rc == 0, "CHECK: %s" % out)
    rc, jsx, out, _ = run(OURS, "CHECK", host, c4, conf, cid="g4")
    check(rc != 0 and "Required prevResult missing" in err_of(jsx)[1], "CHECK without prevResult")
    sh("ip", "-n", host, "link", "set", js["interfaces"][1]["name"], "nomaster")
    rc, jsx, out, _ = run(OURS, "CHECK", host, c4, conf_prev, cid="g4")
    check(rc != 0 and "CNI veth created for bridge cni0 was not found" in err_of(jsx)[1],
          "CHECK with the veth off the bridge: %s" % out)
    sh("ip", "-n", host, "link", "set", js["interfaces"][1]["name"], "master", "cni0")
    sh("ip", "-n", c4, "addr", "flush", "dev", "eth0")
    rc, jsx, out, _ = run(OURS, "CHECK", host, c4, conf_prev, cid="g4")
    check(rc != 0 and "Failed to match addr" in err_of(jsx)[1], "CHECK with the IP gone: %s" % out)
    # IPAM is asked while the links are looked at; its answer still comes first
    rc, jsx, out, _ = run(OURS, "CHECK", host, c4, conf_prev, cid="g9")
    check(rc != 0 and "Failed to find address" in err_of(jsx)[1],
          "CHECK with IPAM and the links both failing, IPAM first: %s" % out)
    run(OURS, "DEL", host, c4, conf, cid="g4")
    for n in (c3, c4, host):
        netns_del(n)


def main():
    preflight()
    for label, path in IPAM_DIRS:
        scenario_a(label, path)
        scenario_b(label, path)
    bad_input()
    options()
    ipv6()
    macspoofchk()
    del_gc_status()
    finish()


if __name__ == "__main__":
    main()
