# SPDX-License-Identifier: Apache-2.0
"""vrf plugin tests in throw-away namespaces: config parsing and validation, error codes,
DEL idempotence, and the "kernel lacks VRF" path. The part that needs real VRF devices
runs only where the kernel has CONFIG_NET_VRF (and says SKIP otherwise).

Environment: VRF_PLUGIN (ours)."""

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


def test_real_vrf(ns):
    c = conf(ns, table=100)
    rc, res, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0, "ADD", out)
    m.check(m.link(ns, "eth0").get("master") == "blue", "eth0 enslaved")
    addrs = m.sh("ip -n %s -6 addr show dev eth0" % ns).stdout
    m.check("fd00:40::2" in addrs, "IPv6 address kept", addrs)
    rc, _, out, _ = m.run(OURS, "CHECK", dict(c, prevResult=res), ns)
    m.check(rc == 0, "CHECK", out)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns, table=200), ns)
    m.check(rc != 0 and "already exist with different routing table 100" in out,
            "different table refused", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.link(ns, "blue") is None, "DEL removes the empty VRF", out)


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
    else:
        test_no_vrf_kernel(ns)
        m.skip("real VRF devices", "this kernel lacks CONFIG_NET_VRF")
    m.finish()


if __name__ == "__main__":
    main()
