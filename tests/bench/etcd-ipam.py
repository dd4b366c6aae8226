#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""etcd-ipam benchmark against a real 3-member etcd cluster on loopback.

usage: [ETCD_BENCH_DIR=/dev/shm] etcd-ipam.py <build dir> [N]
Prints ADD latency p50/p99 (one exec of the plugin per ADD, as a runtime does), the
throughput of 8 concurrent nodes, and, as the baseline measured in the same run, the
reference host-local's (/usr/lib/cni/host-local) ADD latency on a local data dir. The
reference has no etcd IPAM, so the ratio says what the cluster round trips cost.
"""
import json
import os
import shutil
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
    """The part of each ADD spent talking to etcd: from its connect() to its last read,
    as strace (seccomp-filtered to those calls, so the rest runs at full speed) stamps
    them. What remains of an ADD is the exec, mostly the dynamic loader mapping libcurl
    and its 30-odd libraries."""
    parts = []
    env = dict(os.environ, CNI_COMMAND="ADD", CNI_IFNAME="eth0", CNI_NETNS=t.NETNS,
               CNI_PATH="/nonexistent")
    with tempfile.NamedTemporaryFile(prefix="etcd-bench-strace-") as log:
        for k in range(n):
            env["CNI_CONTAINERID"] = f"{prefix}-{k}"
            p = subprocess.run(["strace", "-f", "--seccomp-bpf", "-ttt", "-o", log.name,
                                "-e", "trace=connect,recvfrom", t.PLUGIN],
                               input=cfg.encode(), env=env, capture_output=True)
            assert p.returncode == 0, p.stdout
            stamps = [float(line.split()[1]) for line in open(log.name)
                      if "connect(" in line or "recvfrom(" in line]
            parts.append(stamps[-1] - stamps[0])
    return parts


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000


def main():
    # ETCD_BENCH_DIR=/dev/shm keeps etcd's write-ahead log in memory: the figures then
    # say what the plugin and the cluster's round trips cost, without the disk's fsync
    tmp = tempfile.mkdtemp(prefix="etcd-ipam-bench-", dir=os.environ.get("ETCD_BENCH_DIR"))
    subprocess.run(["ip", "netns", "add", t.NSNAME], check=True)
    cl = t.Cluster(tmp)
    try:
        cl.start_all()
        lat = timed_adds(t.conf(cl, "bench0"), "seq", N)
        parts = cluster_parts(t.conf(cl, "bench0"), "strace", min(N, 100))
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as ex:
            futs = [ex.submit(timed_adds, t.conf(cl, f"bn{i}"), f"par{i}", N // 2)
                    for i in range(8)]
            for f in futs:
                f.result()
        dt = time.perf_counter() - t0
        ref = None
        if os.path.exists("/usr/lib/cni/host-local"):
            hl = json.dumps({"cniVersion": "1.0.0", "name": "benchnet", "type": "host-local",
                             "ipam": {"type": "host-local", "dataDir": f"{tmp}/hl",
                                      "ranges": [[{"subnet": "10.99.0.0/16"}]]}})
            ref = timed_adds(hl, "ref", N, "/usr/lib/cni/host-local")
        out = {"add_p50_ms": round(pct(lat, 0.5), 2), "add_p99_ms": round(pct(lat, 0.99), 2),
               "etcd_part_p50_ms": round(pct(parts, 0.5), 2),
               "etcd_part_p99_ms": round(pct(parts, 0.99), 2),
               "nodes8_adds_per_s": round(8 * (N // 2) / dt, 1)}
        if ref:
            out["ref_host_local_p50_ms"] = round(pct(ref, 0.5), 2)
            out["p50_ratio_vs_ref_host_local"] = round(pct(lat, 0.5) / pct(ref, 0.5), 2)
        print(json.dumps(out))
    finally:
        cl.stop()
        subprocess.run(["ip", "netns", "del", t.NSNAME])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
