# SPDX-License-Identifier: Apache-2.0
"""bridge VLANs (vlan, vlanTrunk, preserveDefaultVlan). Kernels without bridge VLAN
filtering (CONFIG_BRIDGE_VLAN_FILTERING) refuse them: there the test checks that ADD
fails cleanly, naming the bridge and the kernel's reason and leaving nothing behind, and
then skips the functional part with that reason. Config validation of these keys is in
test_bridge.py."""

import json
import os
import subprocess

from brtest import (OURS, addrs, check, err_of, failures, finish, link_names, netns,
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


def functional():
    host, cont = netns("vh"), netns("vc")
    data = tmpdir()
    rc, js, out, _ = run(OURS, "ADD", host, cont, conf(data, vlan=100, isGateway=True,
                                                        preserveDefaultVlan=False))
    if check(rc == 0, "vlan ADD: %s" % out):
        veth = js["interfaces"][1]["name"]
        v = port_vlans(host, veth)
        check(100 in v and "PVID" in v[100] and 1 not in v, "vlan port VLANs %s" % v)
        names = [i["name"] for i in js["interfaces"]]
        check("brv.100" in names, "vlan gateway interface missing: %s" % names)
        gw = [a["local"] for a in addrs(host, "brv.100")[0]["addr_info"]]
        check("10.50.0.1" in gw, "vlan gateway address %s" % gw)
        run(OURS, "DEL", host, cont, conf(data, vlan=100))
    rc, js, out, _ = run(OURS, "ADD", host, cont,
                         conf(data, bridge="brt", vlanTrunk=[{"id": 10}, {"minID": 20, "maxID": 21}]))
    if check(rc == 0, "trunk ADD: %s" % out):
        v = port_vlans(host, js["interfaces"][1]["name"])
        check(all(x in v for x in (1, 10, 20, 21)), "trunk VLANs %s" % v)
        run(OURS, "DEL", host, cont, conf(data, bridge="brt"))


def main():
    preflight()
    if not vlan_filtering_supported():
        unsupported()
        if not failures:
            skip("kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): "
                 "vlan/vlanTrunk/preserveDefaultVlan functional tests skipped; the clean "
                 "failure on such kernels was checked")
        finish()
    functional()
    finish()


if __name__ == "__main__":
    main()
