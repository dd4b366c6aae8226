#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""etcd-ipam against a real 3-member etcd cluster on 127.0.0.1.

usage: test_etcd_ipam.py <plugin> main|kill9|ranges|daemon|daemon-kill9
(ranges: only the range-set cases, which main runs too)
main, kill9 and ranges run the plugin without a daemon (each config names a socket
nothing listens on, so the plugin execs etcd-ipamd as a one-shot plugin); daemon and
daemon-kill9 run the same cases with one etcd-ipamd per node name, plus the daemon's own
cases (its cache made stale behind its back, killed -9 mid-run, a daemon that never
answers).
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import nslib  # noqa: E402

PLUGIN = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "main"
NETNS = ""  # the namespace main() makes (nslib: removed at exit, on SIGINT and SIGTERM too)
DAEMONIZED = MODE.startswith("daemon")
DAEMOND = os.path.join(os.path.dirname(PLUGIN), "etcd-ipamd")


class Daemons:
    """One etcd-ipamd per node name (as one per host), started on first use, each on a
    socket of its own under dir; without DAEMONIZED every config names a socket nothing
    listens on."""

    def __init__(self):
        self.dir = None
        self.procs = {}

    def path(self, node):
        return f"{self.dir}/d-{node}.sock"

    def sock(self, node):
        if not DAEMONIZED:
            return f"{self.dir}/nobody.sock"
        if node not in self.procs or self.procs[node].poll() is not None:
            self.start(node)
        return self.path(node)

    def start(self, node):
        path = self.path(node)
        log = open(f"{self.dir}/d-{node}.log", "ab")
        self.procs[node] = subprocess.Popen([DAEMOND, "-socketpath", path], stdout=log,
                                            stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(path)
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"etcd-ipamd for {node} did not listen")

    def kill(self, node, sig=signal.SIGKILL):
        p = self.procs.pop(node, None)
        if p and p.poll() is None:
            p.send_signal(sig)
            p.wait()

    def stop_all(self):
        for node in list(self.procs):
            self.kill(node, signal.SIGTERM)


DAEMONS = Daemons()


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Cluster:
    def __init__(self, tmp, tls=None):
        self.tmp = tmp
        p = free_ports(6)
        self.client = p[:3]
        self.peer = p[3:]
        self.procs = [None] * 3
        self.tls = tls
        scheme = "https" if tls else "http"
        self.endpoints = ",".join(f"{scheme}://127.0.0.1:{c}" for c in self.client)
        self.initial = ",".join(f"m{i}=http://127.0.0.1:{self.peer[i]}" for i in range(3))

    def start(self, i):
        scheme = "https" if self.tls else "http"
        url = f"{scheme}://127.0.0.1:{self.client[i]}"
        cmd = ["etcd", "--name", f"m{i}", "--data-dir", f"{self.tmp}/m{i}",
               "--listen-client-urls", url, "--advertise-client-urls", url,
               "--listen-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
               "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
               "--initial-cluster", self.initial, "--initial-cluster-state", "new",
               "--initial-cluster-token", os.path.basename(self.tmp)]
        if self.tls:
            cmd += ["--cert-file", self.tls["cert"], "--key-file", self.tls["key"],
                    "--trusted-ca-file", self.tls["ca"], "--client-cert-auth"]
        log = open(f"{self.tmp}/m{i}.log", "ab")
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=log)

    def start_all(self):
        for i in range(3):
            self.start(i)
        deadline = time.time() + 30
        while time.time() < deadline:
            if all(self.healthy(i) for i in range(3)):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd cluster did not come up")

    def healthy(self, i):
        cmd = ["etcdctl", "--endpoints", self.endpoints.split(",")[i], "endpoint", "health"]
        if self.tls:
            cmd += ["--cacert", self.tls["ca"], "--cert", self.tls["cert"], "--key", self.tls["key"]]
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(cmd, env=env, capture_output=True, timeout=10).returncode == 0

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(sig)
            p.wait()
        self.procs[i] = None

    def stop(self):
        for i in range(3):
            self.kill(i, signal.SIGTERM)


def conf(cl, node, subnet="10.60.0.0/16", block=26, tls=None, extra=None):
    ipam = {"type": "etcd-ipam", "etcd_endpoints": cl.endpoints, "etcd_prefix": "/t",
            "nodename": node, "blockSize": block, "daemonSocket": DAEMONS.sock(node),
            "ranges": [[{"subnet": subnet, "gateway": subnet.split("/")[0][:-1] + "1"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}
    if tls:
        ipam.update(etcd_ca_cert_file=tls["ca"], etcd_cert_file=tls["cert"],
                    etcd_key_file=tls["key"])
    c = {"cniVersion": "1.1.0", "name": "net1", "type": "x", "ipam": ipam}
    if extra:
        c.update(extra)
    return json.dumps(c)


def run_raw(cmd, cfg, cid="", ifname="eth0", timeout=60):
    """The plugin's exit code and stdout as it is."""
    env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_IFNAME=ifname,
               CNI_NETNS=NETNS if cmd in ("ADD", "DEL", "CHECK") else "",
               CNI_PATH="/nonexistent")
    p = subprocess.run([PLUGIN], input=cfg.encode(), env=env, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout


def run(cmd, cfg, cid="", ifname="eth0", timeout=60):
    rc, out = run_raw(cmd, cfg, cid, ifname, timeout)
    return rc, json.loads(out) if out.strip() else {}


def add(cfg, cid):
    rc, out = run("ADD", cfg, cid)
    if rc != 0:
        raise AssertionError(f"ADD {cid} failed: {out}")
    return out["ips"][0]["address"]


def node_adds(cl, node, n, prefix="c"):
    cfg = conf(cl, node)
    return [add(cfg, f"{prefix}-{node}-{k}") for k in range(n)]


def many(cl, nodes, per, prefix="c"):
    with ThreadPoolExecutor(max_workers=nodes) as ex:
        futs = [ex.submit(node_adds, cl, f"node{i}", per, prefix) for i in range(nodes)]
        return [a for f in futs for a in f.result()]


def node_dels(cl, node, n, prefix="c"):
    cfg = conf(cl, node)
    for k in range(n):
        rc, out = run("DEL", cfg, f"{prefix}-{node}-{k}")
        assert rc == 0, out


def etcd_count(cl, prefix):
    env = dict(os.environ, ETCDCTL_API="3")
    p = subprocess.run(["etcdctl", "--endpoints", cl.endpoints, "get", "--prefix",
                        "--keys-only", prefix], env=env, capture_output=True, text=True,
                       check=True)
    return len(p.stdout.split())


def ok(msg):
    print("ok -", msg, flush=True)


def conf_ranges(cl, node, ranges, name="net2", **ipam_extra):
    ipam = {"type": "etcd-ipam", "etcd_endpoints": cl.endpoints, "etcd_prefix": "/t",
            "nodename": node, "ranges": ranges, "routes": [{"dst": "0.0.0.0/0"}],
            "daemonSocket": DAEMONS.sock(node)}
    ipam.update(ipam_extra)
    return json.dumps({"cniVersion": "1.1.0", "name": name, "type": "x", "ipam": ipam})


def etcdctl(cl, *args):
    env = dict(os.environ, ETCDCTL_API="3")
    return subprocess.run(["etcdctl", "--endpoints", cl.endpoints, *args], env=env,
                          capture_output=True, text=True, check=True).stdout


def etcd_kv(cl, prefix):
    out = etcdctl(cl, "get", "--prefix", prefix).split("\n")
    return {out[i]: out[i + 1] for i in range(0, len(out) - 1, 2)}


DUAL = [[{"subnet": "10.90.0.0/16"}], [{"subnet": "fd00:90::/48"}]]


def dual_adds(cl, node, n):
    cfg = conf_ranges(cl, node, DUAL)
    res = []
    for k in range(n):
        rc, out = run("ADD", cfg, f"d-{node}-{k}")
        assert rc == 0, out
        res.append(out["ips"])
    return res


def test_ranges(cl):
    """Range sets: dual stack, rangeStart/rangeEnd, several ranges in a set, bad keys,
    the first version's attachment records."""
    with ThreadPoolExecutor(max_workers=4) as ex:
        futs = [ex.submit(dual_adds, cl, f"node{i}", 40) for i in range(4)]
        got = [ips for f in futs for ips in f.result()]
    v4 = [ips[0]["address"] for ips in got]
    v6 = [ips[1]["address"] for ips in got]
    assert all(len(ips) == 2 for ips in got), got[:3]
    assert all(a.startswith("10.90.") and a.endswith("/16") for a in v4), v4[:3]
    assert all(a.startswith("fd00:90:") and a.endswith("/48") for a in v6), v6[:3]
    assert {ips[0]["gateway"] for ips in got} == {"10.90.0.1"}, got[0]
    assert {ips[1]["gateway"] for ips in got} == {"fd00:90::1"}, got[0]
    assert len(set(v4)) == 160 and len(set(v6)) == 160, "duplicate addresses handed out"
    kv = etcd_kv(cl, "/t/net2/")
    ips6 = [k for k in kv if "/ips6/" in k]
    assert len(ips6) == 160 and all(len(k.rsplit("/", 1)[1]) == 32 for k in ips6), ips6[:3]
    assert len([k for k in kv if "/ips/" in k]) == 160
    assert [k for k in kv if "/blocks6/" in k], "no IPv6 block claimed"
    att = kv["/t/net2/attach/node0/d-node0-0/eth0"].split()
    assert att == [got[0][0]["address"].split("/")[0], got[0][1]["address"].split("/")[0]], att
    ok("dual stack: 4 nodes x 40 ADDs, one IPv4 and one IPv6 address each, all distinct, "
       "one attachment record with both")

    cfg = conf_ranges(cl, "node0", DUAL)
    rc, out = run("ADD", cfg, "d-node0-0")
    assert rc == 0 and out["ips"] == got[0], out
    rc, out = run("CHECK", cfg, "d-node0-0")
    assert rc == 0, out
    v6key = next(k for k, v in kv.items() if "/ips6/" in k and v == "node0 d-node0-1 eth0")
    etcdctl(cl, "del", v6key)
    rc, out = run("CHECK", cfg, "d-node0-1")
    assert rc != 0 and "not held" in out.get("msg", ""), out
    ok("ADD again gives both addresses; CHECK fails when one of them is lost")
    admin = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                          "tools", "etcd-ipam-admin"), "-e", cl.endpoints, "-p", "/t",
             "-n", "net2"]
    blk = subprocess.run(admin + ["blocks"], capture_output=True, text=True, check=True)
    assert [ln for ln in blk.stdout.splitlines()
            if ln.startswith("fd00:0090:") and ln.endswith(" node3")], blk.stdout
    subprocess.run(admin + ["release-node", "node3"], capture_output=True, check=True)
    kv = etcd_kv(cl, "/t/net2/")
    assert not [v for v in kv.values() if "node3" in v] and \
        not [k for k in kv if "/node3/" in k], kv
    # 120 attachments left, with both records each but the one deleted for CHECK above
    assert len([k for k in kv if "/attach/" in k]) == 120
    assert len([k for k in kv if "/ips" in k]) == 2 * 120 - 1
    ok("etcd-ipam-admin releases a dual-stack node: both addresses and both families' blocks")
    for i in range(4):
        node_cfg = conf_ranges(cl, f"node{i}", DUAL)
        for k in range(40):
            rc, out = run("DEL", node_cfg, f"d-node{i}-{k}")
            assert rc == 0, out
    kv = etcd_kv(cl, "/t/net2/")
    assert not [k for k in kv if "/ips" in k or "/attach/" in k], kv
    ok("DEL released both addresses of every attachment")

    # rangeStart/rangeEnd: exactly three addresses
    tiny = conf_ranges(cl, "nodeT", [[{"subnet": "10.91.0.0/24", "rangeStart": "10.91.0.10",
                                       "rangeEnd": "10.91.0.12"}]], name="net3")
    got = [add(tiny, f"t{i}") for i in range(3)]
    assert sorted(got) == ["10.91.0.10/24", "10.91.0.11/24", "10.91.0.12/24"], got
    rc, out = run("ADD", tiny, "t-over")
    msg = "no IP addresses available in range set: 10.91.0.10-10.91.0.12"
    assert rc != 0 and out.get("code") == 50 and msg in out.get("msg", ""), out
    rc, out = run("STATUS", tiny)
    assert rc != 0 and out.get("code") == 50 and msg in out.get("msg", ""), out
    rc, out = run("DEL", tiny, "t1")
    rc, out = run("STATUS", tiny)
    assert rc == 0, out
    ok("rangeStart/rangeEnd: 3 addresses, then ADD and STATUS give 50 naming the range")

    # two ranges in one set: the second once the first is full
    two = conf_ranges(cl, "nodeT", [[
        {"subnet": "10.92.0.0/24", "rangeStart": "10.92.0.2", "rangeEnd": "10.92.0.3"},
        {"subnet": "10.93.0.0/24", "rangeStart": "10.93.0.5", "rangeEnd": "10.93.0.6"}]],
        name="net4")
    outs = []
    for i in range(4):
        rc, out = run("ADD", two, f"w{i}")
        assert rc == 0, out
        outs.append(out["ips"])
    assert [o[0]["address"] for o in outs] == ["10.92.0.2/24", "10.92.0.3/24",
                                               "10.93.0.5/24", "10.93.0.6/24"], outs
    assert outs[3][0]["gateway"] == "10.93.0.1", outs
    rc, out = run("ADD", two, "w-over")
    assert rc != 0 and out.get("code") == 50 and \
        "10.92.0.2-10.92.0.3,10.93.0.5-10.93.0.6" in out.get("msg", ""), out
    ok("two ranges in one set: the second is used when the first is full")

    # bad keys: error 7 naming the key and the value, nothing written
    before = etcd_count(cl, "/t/")
    bad = conf_ranges(cl, "nodeB", [[{"subnet": "10.94.0.0/24", "rangeStart": "10.95.0.1"}]],
                      name="net5")
    rc, out = run("ADD", bad, "b1")
    assert rc != 0 and out.get("code") == 7, out
    assert "rangeStart" in out["msg"] and "10.95.0.1" in out["msg"], out
    bad = conf_ranges(cl, "nodeB", [[{"subnet": "fd00:94::/64"}]], name="net5",
                      blockSizeV6=100)
    rc, out = run("ADD", bad, "b1")
    assert rc != 0 and out.get("code") == 7 and "blockSizeV6" in out["msg"], out
    assert etcd_count(cl, "/t/") == before
    ok("rangeStart outside the subnet and a block of 2^28 addresses give code 7")

    # an attachment written by the first version: one address, no range set order
    old = conf_ranges(cl, "nodeO", [[{"subnet": "10.96.0.0/24"}]], name="net6")
    etcdctl(cl, "put", "/t/net6/ips/0a600007", "nodeO old1 eth0")
    etcdctl(cl, "put", "/t/net6/attach/nodeO/old1/eth0", "10.96.0.7")
    rc, out = run("ADD", old, "old1")
    assert rc == 0 and out["ips"][0]["address"] == "10.96.0.7/24", out
    rc, out = run("DEL", old, "old1")
    assert rc == 0, out
    assert etcd_count(cl, "/t/net6/") == 0, etcd_kv(cl, "/t/net6/")
    ok("an old single-address attachment record is read by ADD and released by DEL")


def test_auth(cl):
    """etcd with authentication on: the plugin logs in with etcd_username/etcd_password."""
    etcdctl(cl, "--interactive=false", "user", "add", "root:rootpw")
    etcdctl(cl, "user", "grant-role", "root", "root")
    etcdctl(cl, "auth", "enable")
    try:
        plain = conf(cl, "authnode", subnet="10.80.0.0/24", block=28)
        rc, out = run("ADD", plain, "auth-anon")
        assert rc != 0 and out.get("code") and out.get("msg"), out
        wrong = json.loads(plain)
        wrong["ipam"].update(etcd_username="root", etcd_password="nope")
        rc, out = run("ADD", json.dumps(wrong), "auth-wrong")
        assert rc != 0 and "authentication failed" in out.get("msg", ""), out
        # the top level of the config, where calico puts them, counts too
        good = json.loads(plain)
        good.update(etcd_username="root", etcd_password="rootpw")
        good = json.dumps(good)
        a = add(good, "auth-1")
        assert a.startswith("10.80.0."), a
        rc, out = run("CHECK", good, "auth-1")
        assert rc == 0, out
        rc, out = run("DEL", good, "auth-1")
        assert rc == 0, out
        rc, out = run("STATUS", good)
        assert rc == 0, out
        ok("user/password auth: refused without or with a wrong password, "
           "ADD/CHECK/DEL/STATUS with it")
    finally:
        etcdctl(cl, "--user", "root:rootpw", "auth", "disable")
    assert etcd_count(cl, "/t/net1/attach/authnode/") == 0


def test_ranges_only(tmp):
    cl = Cluster(tmp)
    try:
        cl.start_all()
        test_ranges(cl)
    finally:
        cl.stop()


def test_main(tmp):
    cl = Cluster(tmp)
    try:
        cl.start_all()
        ok("3-member cluster up")
        t0 = time.time()
        addrs = many(cl, 8, 200)
        dt = time.time() - t0
        assert len(addrs) == 1600, len(addrs)
        assert len(set(addrs)) == 1600, "duplicate addresses handed out"
        ok(f"8 nodes x 200 ADDs: 1600 distinct addresses in {dt:.1f}s")

        # idempotent ADD and CHECK
        cfg = conf(cl, "node0")
        assert add(cfg, "c-node0-0") == addrs[0]
        rc, out = run("CHECK", cfg, "c-node0-0")
        assert rc == 0, out
        rc, out = run("CHECK", cfg, "nope")
        assert rc != 0 and out.get("code") == 999, out
        ok("ADD again gives the same address, CHECK finds it")

        # blocks: node0's addresses sit in blocks owned by node0
        env = dict(os.environ, ETCDCTL_API="3")
        blocks = subprocess.run(["etcdctl", "--endpoints", cl.endpoints, "get", "--prefix",
                                 "/t/net1/blocks/"], env=env, capture_output=True,
                                text=True, check=True).stdout.split("\n")
        owners = {blocks[i]: blocks[i + 1] for i in range(0, len(blocks) - 1, 2)}
        assert len(owners) >= 8 * 4, owners
        ok(f"{len(owners)} blocks claimed")

        with ThreadPoolExecutor(max_workers=8) as ex:
            for f in [ex.submit(node_dels, cl, f"node{i}", 200) for i in range(8)]:
                f.result()
        assert etcd_count(cl, "/t/net1/ips/") == 0
        assert etcd_count(cl, "/t/net1/attach/") == 0
        ok("DEL of all released every address")
        again = many(cl, 8, 50, "r")
        assert set(again) <= set(addrs) and len(set(again)) == 400
        ok("addresses reused after DEL")

        # one member killed during a run
        with ThreadPoolExecutor(max_workers=1) as ex:
            fut = ex.submit(many, cl, 4, 50, "k")
            time.sleep(0.3)
            cl.kill(0)
            got = fut.result()
        assert len(set(got)) == 200 and not set(got) & set(again)
        ok("member killed mid-run: all 200 ADDs succeeded, no duplicates")

        # GC drops attachments not in the valid list
        cfgv = conf(cl, "node1", extra={"cni.dev/valid-attachments": [
            {"containerID": "k-node1-0", "ifname": "eth0"}]})
        rc, out = run("GC", cfgv)
        assert rc == 0, out
        env = dict(os.environ, ETCDCTL_API="3")
        left = subprocess.run(["etcdctl", "--endpoints", cl.endpoints, "get", "--prefix",
                               "--keys-only", "/t/net1/attach/node1/"], env=env,
                              capture_output=True, text=True, check=True).stdout.split()
        assert left == ["/t/net1/attach/node1/k-node1-0/eth0"], left
        ok("GC released node1's stale attachments")

        # the admin tool: list, then retire a dead node
        admin = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                              "..", "tools", "etcd-ipam-admin"), "-e", cl.endpoints, "-p", "/t",
                 "-n", "net1"]
        blk = subprocess.run(admin + ["blocks"], capture_output=True, text=True, check=True)
        assert sum(1 for ln in blk.stdout.splitlines() if ln.endswith(" node2")) >= 1, blk
        att = subprocess.run(admin + ["attachments", "node2"], capture_output=True, text=True,
                             check=True).stdout.splitlines()
        assert len(att) == 100, att  # 50 from the reuse run, 50 from the kill run
        subprocess.run(admin + ["release-node", "node2"], capture_output=True, check=True)
        assert etcd_count(cl, "/t/net1/attach/node2/") == 0
        blk = subprocess.run(admin + ["blocks"], capture_output=True, text=True, check=True)
        assert not [ln for ln in blk.stdout.splitlines() if ln.endswith(" node2")], blk.stdout
        assert etcd_count(cl, "/t/net1/ips/") == etcd_count(cl, "/t/net1/attach/")
        ok("etcd-ipam-admin lists blocks and attachments and releases a dead node")

        # exhaustion on a /28 with /30 blocks: 13 usable
        small = conf(cl, "nodeX", subnet="10.70.0.0/28", block=30)
        got = [add(small, f"x{i}") for i in range(13)]
        assert len(set(got)) == 13
        rc, out = run("ADD", small, "x-over")
        assert rc != 0 and out.get("code") == 50, out
        rc, out = run("STATUS", small)
        assert rc != 0 and out.get("code") == 50, out
        ok("exhaustion: ADD and STATUS give code 50")
        rc, out = run("DEL", small, "x0")
        rc, out = run("STATUS", small)
        assert rc == 0, out
        # borrowing: another node takes the freed address from nodeX's block
        other = conf(cl, "nodeY", subnet="10.70.0.0/28", block=30)
        assert add(other, "y0") == got[0]
        ok("another node borrows a free address once no block is left")

        test_ranges(cl)
        test_auth(cl)

        # all members down: a clear error in bounded time
        cl.stop()
        t0 = time.time()
        rc, out = run("ADD", cfg, "down-1")
        dt = time.time() - t0
        assert rc != 0 and out.get("code") == 11 and "etcd not reachable" in out["msg"], out
        assert dt < 10, dt
        rc, out = run("STATUS", cfg)
        assert rc != 0 and out.get("code") == 11, out
        ok(f"all members down: code 11 in {dt:.2f}s")
    finally:
        cl.stop()

    # bad config
    rc, out = run("ADD", conf(cl, "n", block=33), "c")
    assert rc != 0 and out.get("code") == 7 and "blockSize" in out["msg"], out
    ok("bad blockSize is refused")
    test_tls(tmp)


def test_tls(tmp):
    d = f"{tmp}/tls"
    os.makedirs(d)
    o = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)
    o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
      "-days", "1", "-subj", "/CN=test-ca")
    with open(f"{d}/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
      "-subj", "/CN=node")
    o("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
      "-CAcreateserial", "-out", "node.crt", "-days", "1", "-extfile", "ext")
    tls = {"ca": f"{d}/ca.crt", "cert": f"{d}/node.crt", "key": f"{d}/node.key"}
    os.makedirs(f"{tmp}/tlsdata")
    cl = Cluster(f"{tmp}/tlsdata", tls=tls)
    try:
        cl.start_all()
        a = add(conf(cl, "n1", tls=tls), "t1")
        assert a.startswith("10.60."), a
        rc, out = run("ADD", conf(cl, "n1"), "t2", timeout=30)
        assert rc != 0 and out.get("code") == 11, out
        ok("TLS with client certificates; without the CA the plugin fails cleanly")
    finally:
        cl.stop()


def kill_runs(cfg, n, rnd, prefix):
    """n ADDs, each killed -9 at a random point; returns how many were killed."""
    env = dict(os.environ, CNI_COMMAND="ADD", CNI_IFNAME="eth0",
               CNI_NETNS=NETNS, CNI_PATH="/nonexistent")
    killed = 0
    for i in range(n):
        env["CNI_CONTAINERID"] = f"{prefix}{i}"
        p = subprocess.Popen([PLUGIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        p.stdin.write(cfg.encode())
        p.stdin.close()
        time.sleep(rnd.uniform(0, 0.08))
        if p.poll() is None:
            p.kill()
            killed += 1
        p.wait()
        p.stdout.close()
        p.stderr.close()
    return killed


def check_complete(cl, net, nsets):
    """Every attachment holds one address per range set, each with its address record
    naming it, and no address record is left without its attachment."""
    kv = etcd_kv(cl, f"/t/{net}/")
    ips = {k: v for k, v in kv.items() if "/ips/" in k or "/ips6/" in k}
    att = {k: v.split() for k, v in kv.items() if "/attach/" in k}
    assert len(ips) == nsets * len(att), (ips, att)
    held = [a for v in att.values() for a in v]
    assert all(len(v) == nsets for v in att.values()), att
    assert len(set(held)) == len(held), "duplicate address"
    for k, v in ips.items():
        node, cid, ifn = v.split()
        assert att[f"/t/{net}/attach/{node}/{cid}/{ifn}"]
    return len(att)


def test_kill9(tmp):
    cl = Cluster(tmp)
    rnd = random.Random(int(os.environ.get("SEED", "16")))
    try:
        cl.start_all()
        cfg = conf(cl, "nodeK", subnet="10.80.0.0/24", block=28)
        killed = kill_runs(cfg, 60, rnd, "kill")
        n = check_complete(cl, "net1", 1)
        ok(f"{killed} of 60 ADDs killed -9 at random points: {n} complete "
           "attachments, no half-written or duplicate records")
        rc, o2 = run("GC", conf(cl, "nodeK", subnet="10.80.0.0/24", block=28,
                                extra={"cni.dev/valid-attachments": []}))
        assert rc == 0, o2
        assert etcd_count(cl, "/t/net1/ips/") == 0
        assert etcd_count(cl, "/t/net1/attach/") == 0
        ok("GC released everything the killed runs held")

        dual = conf_ranges(cl, "nodeK", [[{"subnet": "10.81.0.0/24"}],
                                         [{"subnet": "fd00:81::/64"}]])
        killed = kill_runs(dual, 60, rnd, "dual")
        n = check_complete(cl, "net2", 2)
        ok(f"dual stack: {killed} of 60 ADDs killed -9: {n} attachments, each with both "
           "addresses, no address record without its attachment")
        rc, o2 = run("GC", json.dumps(dict(json.loads(dual), **{
            "cni.dev/valid-attachments": []})))
        assert rc == 0, o2
        assert etcd_count(cl, "/t/net2/") == sum(1 for _ in etcd_kv(cl, "/t/net2/blocks"))
        ok("GC released both addresses of every attachment")
    finally:
        cl.stop()


def ask_daemon(path, env, config):
    """One request to the etcd-ipamd listening on path, as the plugin sends it."""
    keys = {"CNI_COMMAND": "command", "CNI_CONTAINERID": "containerID", "CNI_NETNS": "netns",
            "CNI_IFNAME": "ifname", "CNI_ARGS": "args", "CNI_PATH": "path",
            "CNI_NETNS_OVERRIDE": "netnsOverride"}
    req = {"version": 2, "config": config}
    req.update({k: env.get(v, "") for v, k in keys.items()})
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            got = s.recv(65536)
            assert got, f"etcd-ipamd closed without answering {req}"
            buf += got
    return json.loads(buf)


def in_block(addr, block_key, size):
    start = int(block_key.rsplit("/", 1)[1], 16)
    a = int.from_bytes(socket.inet_aton(addr.split("/")[0]), "big")
    return start <= a < start + size


def daemon_cases(tmp):
    """What only the daemon has: a cache that can go stale, a socket that can hang."""
    cl = Cluster(f"{tmp}/dc")
    os.makedirs(cl.tmp)
    try:
        cl.start_all()
        cfg = conf(cl, "nodeC", subnet="10.61.0.0/24", block=28)
        a1 = add(cfg, "s1")
        # the same node's one-shot plugin (no daemon) takes the address the daemon's
        # cache still holds free: the daemon's txn fails its compare and it reads again
        other = json.loads(cfg)
        other["ipam"]["daemonSocket"] = f"{tmp}/nobody.sock"
        a2 = add(json.dumps(other), "s2")
        a3 = add(cfg, "s3")
        assert len({a1, a2, a3}) == 3, (a1, a2, a3)
        check_complete(cl, "net1", 1)
        ok(f"a one-shot run behind the daemon's back took {a2}: the daemon gave {a3}")

        # the block the daemon allocates from is given to another node behind its back
        blocks = etcd_kv(cl, "/t/net1/blocks/")
        mine = [k for k, v in blocks.items() if v == "nodeC"]
        assert len(mine) == 1 and in_block(a3, mine[0], 16), (blocks, a3)
        etcdctl(cl, "put", mine[0], "nodeZ")
        a4 = add(cfg, "s4")
        assert not in_block(a4, mine[0], 16), (a4, mine)
        assert len({a1, a2, a3, a4}) == 4
        check_complete(cl, "net1", 1)
        ok(f"its block moved to another node by etcdctl: the daemon claimed another ({a4})")

        # DEL through the daemon frees the address for its next ADD
        rc, out = run("DEL", cfg, "s4")
        assert rc == 0, out
        assert add(cfg, "s5") == a4
        ok("DEL through the daemon, the address reused by the next ADD")

        # the same answers both ways, in every result version and for errors
        for v in ("0.3.1", "0.4.0", "1.0.0", "1.1.0"):
            outs = []
            for sock in (cfg, json.dumps(other)):
                c = json.loads(sock)
                c["cniVersion"] = v
                rc, raw = run_raw("ADD", json.dumps(c), f"v{v}-{len(outs)}")
                assert rc == 0, raw
                out = json.loads(raw)
                for ip in out["ips"]:  # the bytes but the address
                    raw = raw.replace(ip["address"].encode(), b"x")
                assert json.loads(raw)["cniVersion"] == v, raw
                outs.append(raw)
            assert outs[0] == outs[1], outs
        errs = []
        for sock in (cfg, json.dumps(other)):
            c = json.loads(sock)
            c["ipam"]["ranges"][0][0]["rangeStart"] = "10.99.0.1"
            errs.append(run_raw("ADD", json.dumps(c), "bad"))
        assert errs[0] == errs[1] and errs[0][0] == 1 and json.loads(errs[0][1])["code"] == 7, \
            errs
        ok("daemon and one-shot print the same results (0.3.1 to 1.1.0) and errors, byte "
           "for byte")

        # what skel checks before any handler runs, asked of the daemon directly (the
        # plugin checks it too): the one-shot's exit code and error JSON, byte for byte
        bad_version = json.loads(cfg)
        bad_version["cniVersion"] = "9.9.9"
        old_check = json.loads(cfg)
        old_check["cniVersion"] = "0.3.1"
        n_attached = etcd_count(cl, "/t/net1/attach/")
        for what, cmd, cid, c in (("no CNI_CONTAINERID", "ADD", "", cfg),
                                  ("a bad container id", "DEL", "a/b", cfg),
                                  ("cniVersion 9.9.9", "ADD", "bv", json.dumps(bad_version)),
                                  ("CHECK of a 0.3.1 config", "CHECK", "s1",
                                   json.dumps(old_check)),
                                  ("an unknown command", "FOO", "s1", cfg)):
            env = dict(CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_NETNS=NETNS,
                       CNI_IFNAME="eth0", CNI_PATH="/nonexistent")
            one = subprocess.run([DAEMOND, "--oneshot"], input=c.encode(),
                                 env=dict(os.environ, **env), capture_output=True)
            ans = ask_daemon(DAEMONS.path("nodeC"), env, c)
            assert one.returncode == 1 and json.loads(one.stdout)["code"], one
            assert (ans["code"], ans["stdout"]) == (1, one.stdout.decode()), (what, ans, one)
        assert etcd_count(cl, "/t/net1/attach/") == n_attached, "a refused request attached"
        ok("daemon and one-shot refuse a bad environment or cniVersion alike (skel's checks)")

        # a plugin of the previous protocol gets no answer (it says so), not a wrong one
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(DAEMONS.path("nodeC"))
            s.sendall(json.dumps({"version": 1, "command": "ADD", "containerID": "old",
                                  "config": cfg}).encode() + b"\n")
            assert s.recv(65536) == b""
        ok("a request of protocol version 1 is not answered")

        # the daemon's ADD result cannot be written to the plugin's stdout: as skel does,
        # the plugin takes the ADD back (a DEL through the daemon) and reports the error
        if shutil.which("strace"):
            env = dict(os.environ, CNI_COMMAND="ADD", CNI_CONTAINERID="lost", CNI_IFNAME="eth0",
                       CNI_NETNS=NETNS, CNI_PATH="/nonexistent")
            p = subprocess.run(["strace", "-o", "/dev/null", "-e", "trace=write", "-e",
                                "inject=write:error=EIO:when=1", PLUGIN], input=cfg.encode(),
                               env=env, capture_output=True, timeout=60)
            out = json.loads(p.stdout)
            assert p.returncode == 1 and out["code"] == 5 and "writing" in out["msg"], p
            assert not [k for k in etcd_kv(cl, "/t/net1/attach/") if "/lost/" in k]
            ok("an ADD whose result could not be written is taken back")

        # socket activation, as libcni-c-etcd-ipam.socket does it (fd 3, LISTEN_FDS)
        act = shutil.which("systemd-socket-activate")
        if act:
            path = f"{tmp}/activated.sock"
            log = open(f"{tmp}/activated.log", "ab")
            p = subprocess.Popen([act, "-l", path, DAEMOND], stdout=log, stderr=log)
            try:
                deadline = time.time() + 10
                while not os.path.exists(path) and time.time() < deadline:
                    time.sleep(0.02)
                acfg = json.loads(cfg)
                acfg["ipam"]["daemonSocket"] = path
                a6 = add(json.dumps(acfg), "s6")
                assert a6 not in (a1, a2, a3, a4), a6
                assert b"listening" in open(f"{tmp}/activated.log", "rb").read()
                ok(f"a socket-activated daemon answers ({a6})")
            finally:
                p.terminate()
                p.wait()
    finally:
        cl.stop()

    # a daemon that takes the connection and never answers: 11 naming the socket, bounded
    path = f"{tmp}/mute.sock"
    mute = socket.socket(socket.AF_UNIX)
    mute.bind(path)
    mute.listen(8)
    try:
        cfg = json.loads(conf(cl, "nodeM"))
        cfg["ipam"].update(daemonSocket=path, daemonTimeout=2)
        t0 = time.time()
        rc, out = run("ADD", json.dumps(cfg), "m1", timeout=30)
        dt = time.time() - t0
        assert rc != 0 and out.get("code") == 11 and path in out.get("msg", ""), out
        assert 1.5 < dt < 6, dt
        ok(f"a daemon that never answers: code 11 naming {path} after {dt:.1f}s")
    finally:
        mute.close()


def test_daemon(tmp):
    daemon_cases(tmp)
    test_main(tmp)


def test_daemon_kill9(tmp):
    test_kill9(tmp)
    rnd = random.Random(int(os.environ.get("SEED", "16")))
    cl = Cluster(f"{tmp}/dk")
    os.makedirs(cl.tmp)
    try:
        cl.start_all()
        cfg = conf(cl, "nodeD", subnet="10.82.0.0/24", block=28)
        got = {}

        def adds():
            for i in range(150):
                got[f"dk{i}"] = run("ADD", cfg, f"dk{i}")

        with ThreadPoolExecutor(max_workers=1) as ex:
            fut = ex.submit(adds)
            for _ in range(3):
                time.sleep(rnd.uniform(0.1, 0.4))
                DAEMONS.kill("nodeD")
                # while it is down (its socket file left behind, refusing), the plugin
                # runs etcd-ipamd one-shot: only the request in flight at the kill fails
                time.sleep(0.3)
                DAEMONS.start("nodeD")
            fut.result()
        good = {c: o["ips"][0]["address"] for c, (rc, o) in got.items() if rc == 0}
        failed = [c for c, (rc, o) in got.items() if rc != 0]
        assert all(got[c][1].get("code") == 11 for c in failed), got
        assert len(failed) <= 3, failed
        assert len(set(good.values())) == len(good), "duplicate addresses"
        n = check_complete(cl, "net1", 1)
        assert n >= len(good), (n, len(good))
        ok(f"etcd-ipamd killed -9 three times during 150 ADDs: {len(good)} succeeded, "
           f"{len(failed)} failed with 11, {n} complete attachments, no duplicates")
        valid = [{"containerID": c, "ifname": "eth0"} for c in good]
        rc, out = run("GC", conf(cl, "nodeD", subnet="10.82.0.0/24", block=28,
                                 extra={"cni.dev/valid-attachments": valid}))
        assert rc == 0, out
        assert check_complete(cl, "net1", 1) == len(good)
        for c in failed:
            good[c] = add(cfg, c)
        assert len(set(good.values())) == 150
        ok("GC released what the killed daemon's requests held; the failed ADDs retried")
    finally:
        cl.stop()


def main():
    global NETNS
    # SIGTERM (ctest's timeout) ends the run through the finally blocks below, which stop
    # the daemons and the etcd cluster; nslib removes the namespace at exit
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(143))
    tmp = tempfile.mkdtemp(prefix="etcd-ipam-")
    DAEMONS.dir = tmp
    name = nslib.new_netns("etcdipam")
    NETNS = nslib.nspath(name)
    try:
        {"kill9": test_kill9, "ranges": test_ranges_only, "daemon": test_daemon,
         "daemon-kill9": test_daemon_kill9}.get(MODE, test_main)(tmp)
    finally:
        DAEMONS.stop_all()
        nslib.del_netns(name)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
