#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""etcd-ipam benchmark against a real 3-member etcd cluster on loopback.

usage: [ETCD_BENCH_DIR=/dev/shm] [ETCD_IPAM_BEFORE=<older etcd-ipam>] etcd-ipam.py <build dir> [N]
Prints, for both ways the plugin runs, ADD latency p50/p99 (one exec of the plugin per
ADD, as a runtime does) and the throughput of 8 concurrent nodes:
- exec: no daemon listens, the plugin execs etcd-ipamd as a one-shot plugin per call;
- daemon: one etcd-ipamd per node (as one per host), the plugin forwards to it;
- 8 nodes through one shared etcd-ipamd, serving one request at a time or 8 at once;
(ETCD_IPAM_BEFORE: also the ADD latency of another etcd-ipam executable, e.g. the one
from before the daemon, on the same cluster) and, as the baseline measured in the same
run, the reference host-local's
(/usr/lib/cni/host-local) ADD latency on a local data dir. The reference has no etcd
IPAM, so the ratio says what the cluster round trips cost.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "etcd-ipam"))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
sys.argv = [sys.argv[0], os.path.join(BUILD, "plugins-bin", "etcd-ipam"), "bench"]
import test_etcd_ipam as t  # noqa: E402


def timed_adds(cfg, prefix, n, plugin=None):
    lat = []
    env = dict(os.environ, CNI_COMMAND="ADD", CNI_IFNAME="eth0", CNI_NETNS=t.NETNS,
               CNI_PATH="/nonexistent")
    for k in range(n):
        env["CNI_CONTAINERID"] = f"{prefix}-{k}"
        t0 = time.perf_counter()
        p = subprocess.run([plugin or t.PLUGIN], input=cfg.encode(), env=env,
                           capture_output=True)
        lat.append(time.perf_counter() - t0)
        assert p.returncode == 0, p.stdout
    return lat


def cluster_parts(cfg, prefix, n):
    """Exec mode: the part of each ADD spent talking to etcd, from etcd-ipamd's first TCP
    connect() to its last read, as strace (seccomp-filtered to those calls, so the rest
    runs at full speed) stamps them. What remains of an ADD is the two execs, mostly the
    dynamic loader mapping libcurl and its 30-odd libraries."""
    parts = []
    t.DAEMONIZED = False
    env = dict(os.environ, CNI_COMMAND="ADD", CNI_IFNAME="eth0", CNI_NETNS=t.NETNS,
               CNI_PATH="/nonexistent")
    with tempfile.NamedTemporaryFile(prefix="etcd-bench-strace-") as log:
        for k in range(n):
            env["CNI_CONTAINERID"] = f"{prefix}-{k}"
            p = subprocess.run(["strace", "-f", "--seccomp-bpf", "-ttt", "-o", log.name,
                                "-e", "trace=connect,recvfrom", t.PLUGIN],
                               input=cfg.encode(), env=env, capture_output=True)
            assert p.returncode == 0, p.stdout
            # the etcd part only: from the first TCP connect (not the plugin's look for
            # a daemon's unix socket, nor the exec of etcd-ipamd before it)
            lines = open(log.name).read().splitlines()
            first = next(i for i, ln in enumerate(lines)
                         if "connect(" in ln and "AF_INET" in ln)
            stamps = [float(ln.split()[1]) for ln in lines[first:]
                      if "connect(" in ln or "recvfrom(" in ln]
            parts.append(stamps[-1] - stamps[0])
    return parts


def socket_adds(cfg, prefix, n):
    """ADDs sent straight to the daemon's socket, no exec: what the daemon's part costs
    (its etcd round trip and the request's JSON)."""
    import socket
    lat = []
    path = json.loads(cfg)["ipam"]["daemonSocket"]
    for k in range(n):
        req = json.dumps({"version": 2, "command": "ADD", "containerID": f"{prefix}-{k}",
                          "netns": t.NETNS, "ifname": "eth0", "args": "",
                          "path": "/nonexistent", "netnsOverride": "", "config": cfg}) + "\n"
        t0 = time.perf_counter()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(req.encode())
            ans = b""
            while not ans.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                ans += chunk
        lat.append(time.perf_counter() - t0)
        ans = json.loads(ans)
        assert ans["code"] == 0 and "ips" in json.loads(ans["stdout"]), ans
    return lat


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000


def mode(cl, daemonized, tag, out):
    """ADD latency of one node, then 8 nodes at once, in one mode."""
    t.DAEMONIZED = daemonized
    lat = timed_adds(t.conf(cl, f"{tag}0"), f"{tag}-seq", N)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        futs = [ex.submit(timed_adds, t.conf(cl, f"{tag}n{i}"), f"{tag}-par{i}", N // 2)
                for i in range(8)]
        for f in futs:
            f.result()
    dt = time.perf_counter() - t0
    out[f"{tag}_add_p50_ms"] = round(pct(lat, 0.5), 2)
    out[f"{tag}_add_p99_ms"] = round(pct(lat, 0.99), 2)
    out[f"{tag}_nodes8_adds_per_s"] = round(8 * (N // 2) / dt, 1)
    if daemonized:
        sl = socket_adds(t.conf(cl, f"{tag}0"), f"{tag}-sock", N)
        out[f"{tag}_socket_only_p50_ms"] = round(pct(sl, 0.5), 2)
        out[f"{tag}_socket_only_p99_ms"] = round(pct(sl, 0.99), 2)
    return lat


def shared_daemon(cl, threads, tag, out):
    """8 nodes at once through ONE etcd-ipamd (-threads 1: one request at a time, or
    more): which way of serving suits a daemon that many clients share."""
    path = f"{t.DAEMONS.dir}/{tag}.sock"
    log = open(f"{t.DAEMONS.dir}/{tag}.log", "ab")
    d = subprocess.Popen([t.DAEMOND, "-socketpath", path, "-threads", str(threads)],
                         stdout=log, stderr=log)
    try:
        while not os.path.exists(path):
            time.sleep(0.02)
        t.DAEMONIZED = False

        def cfg(node):
            c = json.loads(t.conf(cl, node))
            c["ipam"]["daemonSocket"] = path
            return json.dumps(c)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as ex:
            futs = [ex.submit(timed_adds, cfg(f"{tag}n{i}"), f"{tag}-par{i}", N // 2)
                    for i in range(8)]
            for f in futs:
                f.result()
        out[f"{tag}_nodes8_adds_per_s"] = round(8 * (N // 2) / (time.perf_counter() - t0), 1)
    finally:
        d.terminate()
        d.wait()


def main():
    # ETCD_BENCH_DIR=/dev/shm keeps etcd's write-ahead log in memory: the figures then
    # say what the plugin and the cluster's round trips cost, without the disk's fsync
    tmp = tempfile.mkdtemp(prefix="etcd-ipam-bench-", dir=os.environ.get("ETCD_BENCH_DIR"))
    # SIGTERM ends the run through the finally below; nslib removes the namespace at exit
    signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(143))
    name = t.nslib.new_netns("etcdipam-bench")
    t.NETNS = t.nslib.nspath(name)
    t.DAEMONS.dir = tmp
    cl = t.Cluster(tmp)
    out = {}
    try:
        cl.start_all()
        lat = mode(cl, False, "exec", out)
        old = os.environ.get("ETCD_IPAM_BEFORE")
        if old:
            # the single-executable plugin of before the daemon, same cluster, same run
            t.DAEMONIZED = False
            olat = timed_adds(t.conf(cl, "before0"), "before-seq", N, old)
            out["before_add_p50_ms"] = round(pct(olat, 0.5), 2)
            out["before_add_p99_ms"] = round(pct(olat, 0.99), 2)
        dlat = mode(cl, True, "daemon", out)
        shared_daemon(cl, 1, "one_daemon_1thread", out)
        shared_daemon(cl, 8, "one_daemon_8threads", out)
        parts = cluster_parts(t.conf(cl, "exec0"), "strace", min(N, 100))
        ref = None
        if os.path.exists("/usr/lib/cni/host-local"):
            hl = json.dumps({"cniVersion": "1.0.0", "name": "benchnet", "type": "host-local",
                             "ipam": {"type": "host-local", "dataDir": f"{tmp}/hl",
                                      "ranges": [[{"subnet": "10.99.0.0/16"}]]}})
            ref = timed_adds(hl, "ref", N, "/usr/lib/cni/host-local")
        out["exec_etcd_part_p50_ms"] = round(pct(parts, 0.5), 2)
        out["exec_etcd_part_p99_ms"] = round(pct(parts, 0.99), 2)
        if ref:
            out["ref_host_local_p50_ms"] = round(pct(ref, 0.5), 2)
            out["ref_host_local_p99_ms"] = round(pct(ref, 0.99), 2)
            out["exec_p50_ratio_vs_ref_host_local"] = round(pct(lat, 0.5) / pct(ref, 0.5), 2)
            out["daemon_p50_ratio_vs_ref_host_local"] = round(pct(dlat, 0.5) / pct(ref, 0.5),
                                                              2)
        print(json.dumps(out))
    finally:
        t.DAEMONS.stop_all()
        cl.stop()
        t.nslib.del_netns(name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
