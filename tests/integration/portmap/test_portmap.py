#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""portmap: real traffic through the mappings (host address, 127.0.0.1, IPv6), iptables
state identical to the reference's, cross teardown, CHECK, GC, one restore per family,
and the nftables backend. Everything runs in namespaces created here: the "host" is a
test namespace."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nslib import *  # noqa: E402,F403

OURS = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "portmap")
REF = os.path.join(REF_DIR, "portmap")


def conf(maps, ips=("10.99.0.2/24", "fd99::2/64"), **extra):
    c = {"cniVersion": "1.0.0", "name": "pmnet", "type": "portmap",
         "runtimeConfig": {"portMappings": maps},
         "prevResult": {"cniVersion": "1.0.0",
                        "interfaces": [{"name": "vh0"}, {"name": "eth0", "sandbox": "/var/run/netns/x"}],
                        "ips": [{"address": a, "interface": 1} for a in ips]}}
    c.update(extra)
    return c


MAPS = [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 8081, "containerPort": 81, "protocol": "udp", "hostIP": "10.99.0.1"},
        {"hostPort": 8082, "containerPort": 82, "protocol": "tcp", "hostIP": "fd99::1"},
        {"hostPort": 8083, "containerPort": 83, "protocol": "sctp"}]


def topo():
    h, c = netns("pmh"), netns("pmc")
    veth(h, "vh0", c, "eth0", "10.99.0.1/24", "10.99.0.2/24", "fd99::1/64", "fd99::2/64")
    return h, c


def test_differential_and_cross_teardown():
    for add, dele in ((REF, OURS), (OURS, REF)):
        h = netns("pmd")
        empty = saved(h, "nat")
        rc, out_a, err = run_plugin(add, "ADD", h, conf(MAPS))
        expect(rc == 0, f"{add} ADD: {out_a}{err}")
        state = saved(h, "nat")
        # the other one's view of it
        rc, out, err = run_plugin(OURS, "CHECK", h, conf(MAPS, ips=("10.99.0.2/24",)))
        expect(rc == 0, f"CHECK after {add}: {out}{err}")
        rc, out, err = run_plugin(dele, "DEL", h, conf(MAPS))
        expect(rc == 0, f"{dele} DEL: {out}{err}")
        after = saved(h, "nat")
        expect(not any("CNI-DN-" in l for fam in after for l in fam), f"DN chain left: {after}")
        if add == REF:
            ref_state, ref_out, ref_after = state, out_a, after
        else:
            expect(state == ref_state, f"iptables differ:\nref={ref_state}\nours={state}")
            expect(json.loads(out_a) == json.loads(ref_out), f"result differs: {out_a} vs {ref_out}")
            expect(after == ref_after, f"after DEL differ: {ref_after} vs {after}")
        cleanup()
        _ = empty


def test_traffic_v4_v6_localhost():
    h, c = topo()
    srv = [serve_tcp(c, "10.99.0.2", 80, "hello4"), serve_tcp(c, "fd99::2", 80, "hello6")]
    try:
        expect(connect(h, "10.99.0.1", 8080).startswith("ERR"), "port answered before ADD")
        rc, out, err = run_plugin(OURS, "ADD", h, conf(MAPS))
        expect(rc == 0, f"ADD: {out}{err}")
        expect(connect(h, "10.99.0.1", 8080) == "hello4", "v4 host address")
        expect(connect(h, "127.0.0.1", 8080) == "hello4", "v4 localhost")
        expect(connect(h, "fd99::1", 8080) == "hello6", "v6 host address")
        rl = sh(f"ip netns exec {h} cat /proc/sys/net/ipv4/conf/vh0/route_localnet").stdout.strip()
        expect(rl == "1", f"route_localnet={rl}")
        rc, out, err = run_plugin(OURS, "CHECK", h, conf(MAPS))
        expect(rc == 0, f"CHECK: {out}{err}")
        rc, out, err = run_plugin(OURS, "DEL", h, conf(MAPS))
        expect(rc == 0, f"DEL: {out}{err}")
        expect(connect(h, "10.99.0.1", 8080).startswith("ERR"), "port still mapped after DEL")
        rc, out, err = run_plugin(OURS, "CHECK", h, conf(MAPS))
        expect(rc != 0, "CHECK passed without rules")
        # DEL again, and DEL without prevResult and with the netns gone: still fine
        c2 = conf(MAPS)
        del c2["prevResult"]
        rc, out, err = run_plugin(OURS, "DEL", h, c2, netns_path="/var/run/netns/gone")
        expect(rc == 0, f"second DEL: {out}{err}")
    finally:
        for p in srv:
            p.kill()


def test_no_mappings_no_work():
    h = netns("pmn")
    before = saved(h, "nat")
    rc, out, err = run_plugin(OURS, "ADD", h, conf([]))
    expect(rc == 0 and json.loads(out)["ips"][0]["address"] == "10.99.0.2/24", out + err)
    expect(saved(h, "nat") == before, "tables changed without mappings")


def test_one_restore_per_family():
    h = netns("pmr")
    d = tmpdir()
    log = os.path.join(d, "log")
    for tool in ("iptables-restore", "ip6tables-restore", "iptables", "ip6tables"):
        real = sh(f"command -v {tool}").stdout.strip()
        with open(os.path.join(d, tool), "w") as f:
            f.write(f"#!/bin/sh\necho {tool} >> {log}\nexec {real} \"$@\"\n")
        os.chmod(os.path.join(d, tool), 0o755)
    env = {"PATH": d + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    rc, out, err = run_plugin(OURS, "ADD", h, conf(MAPS, backend="iptables"), env_extra=env)
    expect(rc == 0, out + err)
    calls = open(log).read().split()
    expect(calls.count("iptables-restore") == 1 and calls.count("ip6tables-restore") == 1,
           f"ADD ran {calls}")
    os.unlink(log)
    rc, out, err = run_plugin(OURS, "DEL", h, conf(MAPS, backend="iptables"), env_extra=env)
    calls = open(log).read().split()
    expect(rc == 0 and calls.count("iptables-restore") == 1 and calls.count("ip6tables-restore") == 1,
           f"DEL ran {calls}")


def test_gc():
    h = netns("pmg")
    for cid in ("ctrA", "ctrB"):
        rc, out, err = run_plugin(OURS, "ADD", h, conf(MAPS), cid=cid)
        expect(rc == 0, out + err)
    other = conf(MAPS)
    other["name"] = "othernet"
    run_plugin(REF, "ADD", h, other, cid="ctrA")
    gc = {"cniVersion": "1.1.0", "name": "pmnet", "type": "portmap",
          "cni.dev/valid-attachments": [{"containerID": "ctrB", "ifname": "eth0"}]}
    rc, out, err = run_plugin(OURS, "GC", h, gc)
    expect(rc == 0, out + err)
    text = "\n".join(l for fam in saved(h, "nat") for l in fam)
    expect('id: \\"ctrA\\"' not in text.replace('othernet\\" id: \\"ctrA', ""), "ctrA of pmnet left")
    expect('pmnet\\" id: \\"ctrB' in text, "ctrB removed")
    expect('othernet\\" id: \\"ctrA' in text, "other network touched")
    expect(text.count(":CNI-DN-") == 4, f"chains: {text}")


def test_nftables_backend():
    h, c = topo()
    srv = serve_tcp(c, "10.99.0.2", 80, "nft4")
    try:
        cf = conf(MAPS[:1], ips=("10.99.0.2/24",), backend="nftables")
        rc, out, err = run_plugin(OURS, "ADD", h, cf)
        expect(rc == 0, out + err)
        expect(connect(h, "10.99.0.1", 8080) == "nft4", "nft v4 host address")
        expect(connect(h, "127.0.0.1", 8080) == "nft4", "nft v4 localhost")
        rc, out, err = run_plugin(OURS, "CHECK", h, cf)
        expect(rc == 0, out + err)
        rc, out, err = run_plugin(OURS, "DEL", h, cf)
        expect(rc == 0, out + err)
        rules = sh(f"ip netns exec {h} nft list table ip cni_hostport").stdout
        expect("ctr1" not in rules, rules)
        expect(connect(h, "10.99.0.1", 8080).startswith("ERR"), "mapped after nft DEL")
    finally:
        srv.kill()


def test_auto_backend():
    """No backend key: iptables when it works (decided by the change itself, no probe), and
    nftables when only nftables does: here iptables tools that always fail come first in
    PATH."""
    h, c = topo()
    cf = conf(MAPS[:1], ips=("10.99.0.2/24",))
    trace = tempfile.mktemp(prefix="cni-it-pm-trace-")
    if shutil.which("strace"):
        # the plugin under strace: env -i ... strace -o trace portmap
        r = subprocess.run(["ip", "netns", "exec", h, "env", "-i", "CNI_COMMAND=ADD",
                            "CNI_CONTAINERID=ctr1", "CNI_NETNS=/var/run/netns/x", "CNI_IFNAME=eth0",
                            "CNI_PATH=" + REF_DIR, "PATH=" + os.environ.get("PATH", ""),
                            "strace", "-f", "-qq", "-e", "trace=execve", "-o", trace, OURS],
                           input=json.dumps(cf), capture_output=True, text=True)
        rc, out, err = r.returncode, r.stdout, r.stderr
        with open(trace) as f:
            execs = [l for l in f if "execve(" in l]
        os.unlink(trace)
        expect(not any(l.split('"')[1].endswith("/iptables") for l in execs),
               f"auto ADD probed iptables: {execs}")
        expect(sum("iptables-restore" in l for l in execs) == 1, f"execs: {execs}")
    else:
        rc, out, err = run_plugin(OURS, "ADD", h, cf)
    expect(rc == 0, out + err)
    expect(any("CNI-DN-" in l for fam in saved(h, "nat") for l in fam), "auto: no iptables rules")
    rc, out, err = run_plugin(OURS, "DEL", h, cf)
    expect(rc == 0, out + err)
    only_nft = tempfile.mkdtemp(prefix="cni-it-pm-path-")
    try:
        for t in ("iptables", "ip6tables"):
            for suffix in ("", "-save", "-restore"):
                with open(os.path.join(only_nft, t + suffix), "w") as f:
                    f.write("#!/bin/sh\necho broken >&2\nexit 1\n")
                os.chmod(os.path.join(only_nft, t + suffix), 0o755)
        path = only_nft + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        rc, out, err = run_plugin(OURS, "ADD", h, cf, env_extra={"PATH": path})
        expect(rc == 0, out + err)
        rules = sh(f"ip netns exec {h} nft list table ip cni_hostport", check=False).stdout
        expect("dport 8080" in rules and "ctr1" in rules, f"auto without iptables: {rules}")
        expect(not any("CNI-DN-" in l for fam in saved(h, "nat") for l in fam),
               "auto without iptables wrote iptables rules")
        rc, out, err = run_plugin(OURS, "DEL", h, cf, env_extra={"PATH": path})
        expect(rc == 0, out + err)
        rules = sh(f"ip netns exec {h} nft list table ip cni_hostport", check=False).stdout
        expect("ctr1" not in rules, rules)
    finally:
        shutil.rmtree(only_nft)


def run_traced(h, cmd, cf):
    """The plugin under strace (execve and openat), env -i as run_plugin: rc, out, err and
    the trace's lines."""
    trace = tempfile.mktemp(prefix="cni-it-pm-trace-")
    r = subprocess.run(["ip", "netns", "exec", h, "env", "-i", "CNI_COMMAND=" + cmd,
                        "CNI_CONTAINERID=ctr1", "CNI_NETNS=/var/run/netns/x", "CNI_IFNAME=eth0",
                        "CNI_PATH=" + REF_DIR, "PATH=" + os.environ.get("PATH", ""),
                        "strace", "-f", "-qq", "-e", "trace=execve,openat", "-o", trace, OURS],
                       input=json.dumps(cf), capture_output=True, text=True)
    with open(trace) as f:
        lines = f.readlines()
    os.unlink(trace)
    return r.returncode, r.stdout, r.stderr, lines


def nft_used(lines):
    """libnftables loaded, or nft(8) run (a statically linked plugin reaches nftables so)"""
    return any("libnftables" in l and "openat(" in l and "ENOENT" not in l for l in lines) or \
        any("execve(" in l and l.split('"')[1].endswith("/nft") for l in lines)


def execs(lines, tool):
    return [l for l in lines if "execve(" in l and l.split('"')[1].endswith("/" + tool)]


def iptables_is_nft():
    return "nf_tables" in sh("iptables -V", check=False).stdout


def test_del_asks_the_kernel_first():
    """DEL with the auto backend: with iptables-nft the chains and the jumps to them go in
    one nf_tables transaction of the plugin's own (no iptables tool runs), with legacy
    iptables through iptables-save/-restore only for a family that has a legacy table;
    libnftables is loaded only when our nftables table is there."""
    if not shutil.which("strace"):
        print("note: strace missing, test_del_asks_the_kernel_first checks nothing")
        return
    h, c = topo()
    cf = conf(MAPS[:1], ips=("10.99.0.2/24",))
    rc, out, err = run_plugin(OURS, "ADD", h, cf)
    expect(rc == 0, out + err)
    # iptables rules in v4 only, no nftables table
    rc, out, err, lines = run_traced(h, "DEL", cf)
    expect(rc == 0, out + err)
    expect(not nft_used(lines), f"DEL loaded libnftables without a table: {lines}")
    tools = [l for l in lines if "execve(" in l and "tables" in l.split('"')[1]]
    if iptables_is_nft():
        expect(not tools, f"DEL ran iptables tools: {tools}")
    else:
        expect(len(execs(lines, "iptables-save")) == 1 and not execs(lines, "ip6tables-save"),
               f"DEL read the tables of families without our chain: {tools}")
    expect(not any("CNI-DN-" in l for fam in saved(h, "nat") for l in fam), "DN chain left")
    # again: nothing of ours anywhere, nothing run, nothing loaded
    rc, out, err, lines = run_traced(h, "DEL", cf)
    expect(rc == 0, out + err)
    expect(not nft_used(lines) and not [l for l in lines if "execve(" in l][1:],
           f"DEL with nothing there ran or loaded: {[l for l in lines if 'execve(' in l or 'libnft' in l]}")
    # with the nftables table there, DEL does look at it and removes the rules
    rc, out, err = run_plugin(OURS, "ADD", h, dict(cf, backend="nftables"))
    expect(rc == 0, out + err)
    rc, out, err, lines = run_traced(h, "DEL", cf)
    expect(rc == 0, out + err)
    expect(nft_used(lines), "DEL did not look at the nftables table that is there")
    rules = sh(f"ip netns exec {h} nft list table ip cni_hostport").stdout
    expect("ctr1" not in rules, rules)


def test_del_reports_failed_teardown():
    """A DEL that could not remove the DNAT chain says so (the reference reports success
    when its iptables cannot read the table), and its retry removes it; a DEL whose chain
    is really gone succeeds."""
    h = netns("pmf")
    cf = conf(MAPS[:1], ips=("10.99.0.2/24",), backend="iptables")
    rc, out, err = run_plugin(OURS, "ADD", h, cf)
    expect(rc == 0, out + err)
    real = sh("command -v iptables-save").stdout.strip()
    cases = [("iptables-restore", "cat >/dev/null; echo 'iptables-restore: no' >&2; exit 1")]
    if iptables_is_nft():
        # a save that fails, and one that exits 0 with its dump cut short
        cases += [("iptables-save", "exit 4"),
                  ("iptables-save", f"{real} \"$@\" | grep -v CNI-DN-")]
    for tool, body in cases:
        env = tool_wrappers({tool: body})
        rc, out, err = run_plugin(OURS, "DEL", h, cf, env_extra=env)
        expect(rc != 0 and "code" in json.loads(out or "{}"),
               f"DEL with a failing {tool} ({body}): rc {rc} {out}{err}")
        text = "\n".join(saved(h, "nat")[0])
        expect(":CNI-DN-" in text, f"{tool}: the chain went although DEL failed")
    rc, out, err = run_plugin(OURS, "DEL", h, cf)
    expect(rc == 0, f"retried DEL: {out}{err}")
    expect(not any("CNI-DN-" in l for fam in saved(h, "nat") for l in fam), "DN chain left")
    # nothing left, and the tools failing: nothing of ours is there, DEL succeeds
    for tool, body in cases:
        rc, out, err = run_plugin(OURS, "DEL", h, cf,
                                  env_extra=tool_wrappers({tool: body}))
        expect(rc == 0, f"DEL of nothing with a failing {tool}: {out}{err}")


def conntrack(ns):
    return sh(f"ip netns exec {ns} cat /proc/net/nf_conntrack", check=False).stdout


def udp_send(ns, src, dst, port):
    sh(f"ip netns exec {ns} python3 -c \"import socket; s = socket.socket(socket.AF_INET, "
       f"socket.SOCK_DGRAM); s.bind(('{src}', 0)); s.sendto(b'x', ('{dst}', {port}))\"")


def test_conntrack_stale_udp():
    """A UDP flow to a host port tracked before the mapping existed keeps its old
    translation: ADD deletes the conntrack entries whose destination port is a mapped UDP
    host port, and only those."""
    if not os.path.exists("/proc/net/nf_conntrack"):
        print("note: no /proc/net/nf_conntrack, conntrack cleanup not checked")
        return
    h, c = topo()
    # a rule that looks at connection state makes the namespace track connections
    sh(f"ip netns exec {h} nft add table ip cnitest")
    sh(f"ip netns exec {h} nft 'add chain ip cnitest out {{ type filter hook output priority 0; }}'")
    sh(f"ip netns exec {h} nft add rule ip cnitest out ct state new counter")
    udp_send(h, "10.99.0.1", "10.99.0.1", 8081)  # 8081/udp is mapped in MAPS
    udp_send(h, "10.99.0.1", "10.99.0.1", 8181)  # not mapped: stays
    udp_send(h, "10.99.0.1", "10.99.0.1", 8080)  # mapped, but for tcp: stays
    before = conntrack(h)
    expect(all(f"dport={p}" in before for p in (8081, 8181, 8080)), f"no flows tracked: {before}")
    rc, out, err = run_plugin(OURS, "ADD", h, conf(MAPS))
    expect(rc == 0, f"ADD: {out}{err}")
    after = conntrack(h)
    expect("dport=8081 " not in after, f"stale 8081/udp entry kept: {after}")
    expect("dport=8181 " in after and "dport=8080 " in after, f"other entries gone: {after}")
    rc, out, err = run_plugin(OURS, "DEL", h, conf(MAPS))
    expect(rc == 0, f"DEL: {out}{err}")


def test_bad_config():
    h = netns("pmb")
    for maps, extra, word in (([{"hostPort": 0, "containerPort": 80}], {}, "host port"),
                              ([{"hostPort": 1, "containerPort": 80, "protocol": "icmp"}], {}, "icmp"),
                              (MAPS, {"markMasqBit": 40}, "MasqMarkBit"),
                              (MAPS, {"markMasqBit": 1, "externalSetMarkChain": "X"}, "externalSetMarkChain")):
        rc, out, err = run_plugin(OURS, "ADD", h, conf(maps, **extra))
        expect(rc != 0 and word in out, f"{maps} {extra}: {out}")
    # Go decodes keys case-insensitively
    rc, out, err = run_plugin(OURS, "ADD", h, conf([{"HostPort": 9090, "containerport": 90, "Protocol": "TCP"}]))
    expect(rc == 0, out + err)
    text = "\n".join(l for fam in saved(h, "nat") for l in fam)
    expect("--dport 9090" in text and ":90" in text, text)


if __name__ == "__main__":
    need_root()
    if not os.access(OURS, os.X_OK):
        skip(f"{OURS} not built")
    r = Runner()
    if os.access(REF, os.X_OK):
        r.case(test_differential_and_cross_teardown)
    else:
        print("note: reference portmap missing, differential case not run")
    nft_cases = (test_nftables_backend, test_auto_backend, test_del_asks_the_kernel_first,
                 test_conntrack_stale_udp)
    for t in (test_traffic_v4_v6_localhost, test_no_mappings_no_work, test_one_restore_per_family,
              test_gc, test_nftables_backend, test_auto_backend, test_del_asks_the_kernel_first,
              test_conntrack_stale_udp, test_bad_config, test_del_reports_failed_teardown):
        if t in nft_cases and not kernel_has_nft():
            print(NFT_MISSING + t.__name__)
            continue
        r.case(t)
    r.finish()
