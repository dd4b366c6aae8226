#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""etcd-ipam against a real 3-member etcd cluster on 127.0.0.1.

usage: test_etcd_ipam.py <plugin> main|kill9
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

PLUGIN = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "main"
NSNAME = f"etcdipam-{os.getpid()}"
NETNS = f"/var/run/netns/{NSNAME}"


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
            "nodename": node, "blockSize": block,
            "ranges": [[{"subnet": subnet, "gateway": subnet.split("/")[0][:-1] + "1"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}
    if tls:
        ipam.update(etcd_ca_cert_file=tls["ca"], etcd_cert_file=tls["cert"],
                    etcd_key_file=tls["key"])
    c = {"cniVersion": "1.1.0", "name": "net1", "type": "x", "ipam": ipam}
    if extra:
        c.update(extra)
    return json.dumps(c)


def run(cmd, cfg, cid="", ifname="eth0", timeout=60):
    env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid, CNI_IFNAME=ifname,
               CNI_NETNS=NETNS if cmd in ("ADD", "DEL", "CHECK") else "",
               CNI_PATH="/nonexistent")
    p = subprocess.run([PLUGIN], input=cfg.encode(), env=env, capture_output=True,
                       timeout=timeout)
    out = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, out


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


def test_kill9(tmp):
    cl = Cluster(tmp)
    rnd = random.Random(int(os.environ.get("SEED", "16")))
    try:
        cl.start_all()
        cfg = conf(cl, "nodeK", subnet="10.80.0.0/24", block=28)
        env = dict(os.environ, CNI_COMMAND="ADD", CNI_IFNAME="eth0",
                   CNI_NETNS=NETNS, CNI_PATH="/nonexistent")
        killed = 0
        for i in range(60):
            env["CNI_CONTAINERID"] = f"kill{i}"
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
        envc = dict(os.environ, ETCDCTL_API="3")
        out = subprocess.run(["etcdctl", "--endpoints", cl.endpoints, "get", "--prefix",
                              "/t/net1/"], env=envc, capture_output=True, text=True,
                             check=True).stdout.split("\n")
        kv = {out[i]: out[i + 1] for i in range(0, len(out) - 1, 2)}
        ips = {k: v for k, v in kv.items() if "/ips/" in k}
        att = {k: v for k, v in kv.items() if "/attach/" in k}
        # every attachment has exactly its address record, and vice versa
        assert len(ips) == len(att), (ips, att)
        assert len(set(att.values())) == len(att), "duplicate address"
        for k, v in ips.items():
            node, cid, ifn = v.split()
            assert att[f"/t/net1/attach/{node}/{cid}/{ifn}"]
        ok(f"{killed} of 60 ADDs killed -9 at random points: {len(att)} complete "
           "attachments, no half-written or duplicate records")
        rc, o2 = run("GC", conf(cl, "nodeK", subnet="10.80.0.0/24", block=28,
                                extra={"cni.dev/valid-attachments": []}))
        assert rc == 0, o2
        assert etcd_count(cl, "/t/net1/ips/") == 0
        assert etcd_count(cl, "/t/net1/attach/") == 0
        ok("GC released everything the killed runs held")
    finally:
        cl.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="etcd-ipam-")
    subprocess.run(["ip", "netns", "add", NSNAME], check=True)
    try:
        (test_kill9 if MODE == "kill9" else test_main)(tmp)
    finally:
        subprocess.run(["ip", "netns", "del", NSNAME])
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
