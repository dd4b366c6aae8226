# SPDX-License-Identifier: Apache-2.0
"""bridge VLANs (vlan, vlanTrunk, preserveDefaultVlan). On a kernel with bridge VLAN
filtering (the user-mode kernel of tests/kernel): the port VLANs of every key, CHECK of
each, traffic within a VLAN and isolation between two, the gateway on <bridge>.<vlan>, and
a differential run against the reference. Kernels without it (CONFIG_BRIDGE_VLAN_FILTERING)
refuse these keys: there the test checks that ADD fails cleanly, naming the bridge and the
kernel's reason and leaving nothing behind; with CNI_TEST_REQUIRE_KERNEL_FEATURES=1 such a
kernel fails the test. Config validation of these keys is in test_bridge.py."""

import json
import os
import subprocess

from brtest import (OURS, REF, addrs, check, err_of, failures, finish, link, link_names, netns, ping,
                    preflight, run, sh, skip, tmpdir)


def vlan_filtering_supported():
    ns = netns("vp")
    p = subprocess.run(["ip", "-n", ns, "link", "add", "probe", "type", "bridge",
                        "vlan_filtering", "1"], capture_output=True)
    return p.returncode == 0


def conf(data, **top):
    c = {"cniVersion": "1.0.0", "name": "net-v", "type": "bridge", "bridge": "brv",
         "ipam": {"type": "host-local", "subnet": "10.50.0.0/24", "dataDir": data}}
    c.update(top)
    return c


def port_vlans(host, veth):
    out = json.loads(sh("ip", "netns", "exec", host, "bridge", "-j", "vlan", "show") or "[]")
    for p in out:
        if p.get("ifname") == veth:
            return {v["vlan"]: sorted(v.get("flags", [])) for v in p.get("vlans", [])}
    return {}


def unsupported():
    host, cont = netns("vh"), netns("vc")
    data = tmpdir()
    for extra in ({"vlan": 100}, {"vlanTrunk": [{"id": 10}, {"minID": 20, "maxID": 22}]}):
        rc, js, out, _ = run(OURS, "ADD", host, cont, conf(data, **extra))
        code, msg = err_of(js)
        check(rc != 0 and 'bridge "brv"' in msg and "vlan_filtering" in msg,
              "%s: expected a clean vlan_filtering error, got %s" % (extra, out))
        check(link_names(host) == ["lo"], "%s: left %s" % (extra, link_names(host)))
        check(link_names(cont) == ["lo"], "%s: container left %s" % (extra, link_names(cont)))
        ipdir = os.path.join(data, "net-v")
        left = [f for f in os.listdir(ipdir) if f[0].isdigit()] if os.path.isdir(ipdir) else []
        check(left == [], "%s: IPAM left %s" % (extra, left))


def ports(host, cont, js):
    """The host-side veth of a result (the interface without a sandbox that is not the
    bridge or a gateway)."""
    return [i["name"] for i in js["interfaces"] if not i.get("sandbox") and i["name"].startswith("veth")]


def add(host, cont, data, cid, **keys):
    rc, js, out, _ = run(OURS, "ADD", host, cont, conf(data, **keys), cid=cid)
    if not check(rc == 0, "ADD %s: %s" % (keys, out)):
        return None, None
    c = conf(data, **keys)
    rc2, _, out2, _ = run(OURS, "CHECK", host, cont, dict(c, prevResult=js), cid=cid)
    check(rc2 == 0, "CHECK %s: %s" % (keys, out2))
    return js, port_vlans(host, ports(host, cont, js)[0])


def functional():
    host = netns("vh")
    data = tmpdir()
    conts = [netns("vc") for _ in range(4)]

    # vlan, preserveDefaultVlan (default true): PVID 100 untagged and VLAN 1 kept
    js, v = add(host, conts[0], data, "c0", vlan=100)
    if js:
        check(100 in v and "PVID" in v[100] and "Egress Untagged" in v[100] and 1 in v,
              "vlan 100, default VLAN kept: %s" % v)
        check(link(host, "brv")["linkinfo"]["info_data"].get("vlan_filtering") == 1,
              "vlan_filtering on the new bridge")
    # preserveDefaultVlan false: VLAN 1 removed from the port
    js, v = add(host, conts[1], data, "c1", vlan=100, preserveDefaultVlan=False)
    if js:
        check(100 in v and "PVID" in v[100] and 1 not in v, "vlan 100 without VLAN 1: %s" % v)
    # another access VLAN on the same bridge
    js, v = add(host, conts[2], data, "c2", vlan=200)
    if js:
        check(200 in v and "PVID" in v[200] and 100 not in v, "vlan 200: %s" % v)
    # traffic: the two containers on VLAN 100 reach each other, the one on 200 neither
    ip = {}
    for i in range(3):
        a = addrs(conts[i], "eth0")
        ip[i] = [x["local"] for x in a[0]["addr_info"] if x["family"] == "inet"][0] if a else None
    check(ping(conts[0], ip[1]), "vlan 100 -> vlan 100 (%s) reachable" % ip[1])
    check(not ping(conts[0], ip[2]), "vlan 100 -> vlan 200 (%s) isolated" % ip[2])
    check(not ping(conts[2], ip[1]), "vlan 200 -> vlan 100 (%s) isolated" % ip[1])
    for i, keys in enumerate(({"vlan": 100}, {"vlan": 100, "preserveDefaultVlan": False},
                              {"vlan": 200})):
        rc, _, out, _ = run(OURS, "DEL", host, conts[i], conf(data, **keys), cid="c%d" % i)
        check(rc == 0, "DEL %s: %s" % (keys, out))
    check(link_names(host) == ["brv", "lo"], "after DEL only the bridge is left: %s" %
          link_names(host))

    # vlanTrunk: the ids tagged, VLAN 1 the untagged native one
    trunk = [{"id": 10}, {"minID": 20, "maxID": 22}]
    js, v = add(host, conts[3], data, "c3", bridge="brt", vlanTrunk=trunk)
    if js:
        check(all(x in v and "PVID" not in v[x] for x in (10, 20, 21, 22)) and
              "PVID" in v.get(1, []), "trunk VLANs %s" % v)
        rc, _, out, _ = run(OURS, "DEL", host, conts[3], conf(data, bridge="brt", vlanTrunk=trunk),
                            cid="c3")
        check(rc == 0, "trunk DEL: %s" % out)

    # the gateway of an access VLAN lives on <bridge>.<vlan>
    js, v = add(host, conts[0], data, "g0", bridge="brg", vlan=300, isGateway=True)
    if js:
        names = [i["name"] for i in js["interfaces"]]
        check("brg.300" in names, "vlan gateway interface missing: %s" % names)
        gw = [a["local"] for a in addrs(host, "brg.300")[0]["addr_info"]]
        check("10.50.0.1" in gw, "vlan gateway address %s" % gw)
        check(ping(conts[0], "10.50.0.1"), "gateway on VLAN 300 reachable")
        run(OURS, "DEL", host, conts[0], conf(data, bridge="brg", vlan=300, isGateway=True),
            cid="g0")


def state_of(host, cont, js):
    """What a VLAN attachment looks like, without names and MACs the plugins choose."""
    return {"vlans": port_vlans(host, ports(host, cont, js)[0]),
            "filtering": link(host, "brv")["linkinfo"]["info_data"].get("vlan_filtering"),
            "ips": [(i["address"], i.get("gateway")) for i in js["ips"]],
            "ifaces": len(js["interfaces"])}


def differential():
    """The reference (1.1.1: vlan, no vlanTrunk/preserveDefaultVlan keys) and ours on the
    same configuration: equal port VLANs, bridge state and result."""
    states = {}
    for who, plugin in (("ref", REF), ("ours", OURS)):
        host, cont = netns("dh"), netns("dc")
        data = tmpdir()
        c = conf(data, vlan=100)
        c["ipam"]["dataDir"] = data
        rc, js, out, _ = run(plugin, "ADD", host, cont, c, cni_path=os.path.dirname(REF))
        if not check(rc == 0, "%s vlan ADD: %s" % (who, out)):
            return
        states[who] = state_of(host, cont, js)
        rc, _, out, _ = run(plugin, "DEL", host, cont, c, cni_path=os.path.dirname(REF))
        check(rc == 0, "%s vlan DEL: %s" % (who, out))
    check(states["ref"] == states["ours"], "differential vlan 100:\n  ref:  %s\n  ours: %s" %
          (states["ref"], states["ours"]))


def main():
    preflight()
    if not vlan_filtering_supported():
        if os.environ.get("CNI_TEST_REQUIRE_KERNEL_FEATURES") == "1":
            check(False, "this kernel must have bridge VLAN filtering")
            finish()
        unsupported()
        print("NOTE: no bridge VLAN filtering here: the VLAN functions are tested in the "
              "user-mode kernel (tests/kernel/run.sh)")
        finish()
    functional()
    differential()
    finish()


if __name__ == "__main__":
    main()
