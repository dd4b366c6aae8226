#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""firewall: iptables state identical to the reference's (same-bridge policy included),
cross teardown, real forwarded traffic through a FORWARD chain that drops by default,
GC through the attachment index, and the firewalld backend's error. All in namespaces
created here; the "host" is a test namespace."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nslib import *  # noqa: E402,F403

OURS = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "firewall")
REF = os.path.join(REF_DIR, "firewall")


def conf(ips, data_dir, policy="same-bridge", **extra):
    c = {"cniVersion": "1.0.0", "name": "fwnet", "type": "firewall", "backend": "iptables",
         "ingressPolicy": policy, "dataDir": data_dir,
         "prevResult": {"cniVersion": "1.0.0",
                        "interfaces": [{"name": "cni0"}, {"name": "eth0", "sandbox": "/var/run/netns/x"}],
                        "ips": [{"address": a, "interface": 1} for a in ips]}}
    c.update(extra)
    return c


IPS = ["10.88.0.5/16", "fd10::5/64"]


def test_differential_and_cross_teardown():
    d = tmpdir()
    results = {}
    for add, dele in ((REF, OURS), (OURS, REF)):
        h = netns("fwd")
        rc, out, err = run_plugin(add, "ADD", h, conf(IPS, d))
        expect(rc == 0, f"{add} ADD: {out}{err}")
        state = saved(h, "filter")
        rc, o2, e2 = run_plugin(OURS, "CHECK", h, conf(IPS, d))
        expect(rc == 0, f"CHECK after {add}: {o2}{e2}")
        rc, o3, e3 = run_plugin(dele, "DEL", h, conf(IPS, d))
        expect(rc == 0, f"{dele} DEL: {o3}{e3}")
        after = saved(h, "filter")
        expect(not any("10.88.0.5" in l or "fd10::5" in l for fam in after for l in fam),
               f"rules left: {after}")
        results[add] = (state, json.loads(out), after)
        cleanup()
    expect(results[REF][0] == results[OURS][0], f"iptables differ:\n{results[REF][0]}\n{results[OURS][0]}")
    expect(results[REF][1] == results[OURS][1], "result JSON differs")
    expect(results[REF][2] == results[OURS][2], "state after DEL differs")


def test_forward_traffic():
    d = tmpdir()
    h, c1, c2 = netns("fwh"), netns("fw1"), netns("fw2")
    veth(h, "v1", c1, "eth0", "10.98.1.1/24", "10.98.1.2/24")
    veth(h, "v2", c2, "eth0", "10.98.2.1/24", "10.98.2.2/24")
    sh(f"ip netns exec {h} sysctl -qw net.ipv4.ip_forward=1")
    sh(f"ip netns exec {h} iptables -P FORWARD DROP")
    srv = serve_tcp(c1, "10.98.1.2", 80, "fwd-ok")
    try:
        expect(connect(c2, "10.98.1.2", 80, 1).startswith("ERR"), "forwarded before ADD")
        for cid, ip in (("c1", "10.98.1.2/24"), ("c2", "10.98.2.2/24")):
            rc, out, err = run_plugin(OURS, "ADD", h, conf([ip], d, policy="open"), cid=cid)
            expect(rc == 0, out + err)
        expect(connect(c2, "10.98.1.2", 80) == "fwd-ok", "not forwarded after ADD")
        # without the client's own rule its new connections are dropped (the server's
        # rule only lets replies in)
        rc, out, err = run_plugin(OURS, "DEL", h, conf(["10.98.2.2/24"], d, policy="open"), cid="c2")
        expect(rc == 0, out + err)
        expect(connect(c2, "10.98.1.2", 80, 1).startswith("ERR"), "forwarded after DEL")
    finally:
        srv.kill()


def test_gc_and_del_without_prevresult():
    d = tmpdir()
    h = netns("fwg")
    for cid, ip in (("a", "10.88.0.10/16"), ("b", "10.88.0.11/16"), ("c", "10.88.0.12/16")):
        rc, out, err = run_plugin(OURS, "ADD", h, conf([ip], d), cid=cid)
        expect(rc == 0, out + err)
    gc = {"cniVersion": "1.1.0", "name": "fwnet", "type": "firewall", "backend": "iptables",
          "dataDir": d, "cni.dev/valid-attachments": [{"containerID": "b", "ifname": "eth0"},
                                                      {"containerID": "c", "ifname": "eth0"}]}
    rc, out, err = run_plugin(OURS, "GC", h, gc)
    expect(rc == 0, out + err)
    text = "\n".join(saved(h, "filter")[0])
    expect("10.88.0.10/32" not in text and "10.88.0.11/32" in text, text)
    # DEL without prevResult uses the addresses ADD recorded
    c = conf([], d)
    del c["prevResult"]
    rc, out, err = run_plugin(OURS, "DEL", h, c, cid="c")
    expect(rc == 0, out + err)
    text = "\n".join(saved(h, "filter")[0])
    expect("10.88.0.12/32" not in text and "10.88.0.11/32" in text, text)


def test_isolated_and_errors():
    d = tmpdir()
    h = netns("fwi")
    rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS[:1], d, policy="isolated"))
    expect(rc == 0, out + err)
    text = "\n".join(saved(h, "filter")[0])
    expect("-i cni0 -o cni0" in text and "-j DROP" in text, text)
    rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS, d, policy="bogus"))
    expect(rc != 0 and "bogus" in out, out)
    rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS, d, backend="firewalld"))
    expect(rc != 0 and "firewalld" in out and json.loads(out)["code"] == 50, out)
    c = conf(IPS, d)
    del c["prevResult"]
    rc, out, err = run_plugin(OURS, "ADD", h, c)
    expect(rc != 0 and "prevResult" in out, out)


def test_failed_add_leaves_nothing():
    """An ADD whose index cannot be written fails and takes its rules (and chains) back;
    a container id too long for a file name still gets its index (issue 17)."""
    d = tmpdir()
    h = netns("fwf")
    before = saved(h, "filter")
    blocked = os.path.join(d, "file")  # dataDir that cannot be a directory
    open(blocked, "w").close()
    for policy in ("open", "isolated"):
        rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS, blocked, policy=policy))
        expect(rc != 0 and json.loads(out)["code"] == 5 and blocked in out, out + err)
        expect(saved(h, "filter") == before, f"rules left after failed ADD: {saved(h, 'filter')}")
    # a store with rules of the same address already there keeps them
    rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS, d), cid="keep")
    expect(rc == 0, out + err)
    kept = saved(h, "filter")
    rc, out, err = run_plugin(OURS, "ADD", h, conf(IPS, blocked), cid="other")
    expect(rc != 0 and saved(h, "filter") == kept, f"failed ADD touched existing rules: {out}")
    long_cid = "c" * 300
    rc, out, err = run_plugin(OURS, "ADD", h, conf(["10.88.0.77/16"], d), cid=long_cid)
    expect(rc == 0, "long container id: " + out + err)
    c = conf([], d)
    del c["prevResult"]
    rc, out, err = run_plugin(OURS, "DEL", h, c, cid=long_cid)
    text = "\n".join(saved(h, "filter")[0])
    expect(rc == 0 and "10.88.0.77/32" not in text, "DEL by the long id's index: " + out + text)


def test_del_reports_failed_teardown():
    """A DEL that could not remove the container's rules fails and keeps its index (the
    reference's, given an iptables-save dump cut short, reports success); its retry removes
    them; a DEL whose rules are really gone succeeds whatever the dump shows."""
    d = tmpdir()
    h = netns("fwt")
    c = conf(IPS[:1], d)
    rc, out, err = run_plugin(OURS, "ADD", h, c)
    expect(rc == 0, out + err)
    real = sh("command -v iptables-save").stdout.strip()
    cases = [("iptables-restore", "cat >/dev/null; echo 'iptables-restore: no' >&2; exit 1")]
    if "nf_tables" in sh("iptables -V", check=False).stdout:
        # a dump cut short: the container's rules missing, as when one of
        # iptables-nft-save's netlink requests fails (it exits 0 then)
        cases.append(("iptables-save", f"{real} \"$@\" | grep -v '10.88.0.5/32'"))
    for tool, body in cases:
        rc, out, err = run_plugin(OURS, "DEL", h, c, env_extra=tool_wrappers({tool: body}))
        expect(rc != 0 and json.loads(out or "{}").get("code") == 999,
               f"DEL with a failing {tool}: rc {rc} {out}{err}")
        text = "\n".join(saved(h, "filter")[0])
        expect("10.88.0.5/32" in text, f"{tool}: rules went although DEL failed")
        expect(os.listdir(os.path.join(d, "fwnet")), "the index went with a failed DEL")
    rc, out, err = run_plugin(OURS, "DEL", h, c)
    expect(rc == 0 and "10.88.0.5/32" not in "\n".join(saved(h, "filter")[0]),
           f"retried DEL: {out}{err}")
    for tool, body in cases:
        rc, out, err = run_plugin(OURS, "DEL", h, c, env_extra=tool_wrappers({tool: body}))
        expect(rc == 0, f"DEL of nothing with a failing {tool}: {out}{err}")


if __name__ == "__main__":
    need_root()
    if not os.access(OURS, os.X_OK):
        skip(f"{OURS} not built")
    r = Runner()
    if os.access(REF, os.X_OK):
        r.case(test_differential_and_cross_teardown)
    for t in (test_forward_traffic, test_gc_and_del_without_prevresult, test_isolated_and_errors,
              test_failed_add_leaves_nothing, test_del_reports_failed_teardown):
        r.case(t)
    r.finish()
