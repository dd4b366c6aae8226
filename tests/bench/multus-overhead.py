#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What multus adds to one delegate: ADD+DEL of ptp (host-local) run directly and as the
master of a one-delegate multus, in a namespace of its own, best of two rounds each.
No reference multus exists, so the ratio is against our ptp alone (not a test).

  tests/bench/multus-overhead.py <plugins-bin> [cycles]"""
import json, os, subprocess, sys, time, tempfile, shutil
BIN = sys.argv[1]; N = int(sys.argv[2]) if len(sys.argv) > 2 else 30
tmp = tempfile.mkdtemp(prefix="cni-multus-bench-")
ns = f"cni-mbench-{os.getpid()}"
subprocess.run(["ip", "netns", "add", ns], check=True)
try:
    ptp = {"cniVersion": "1.0.0", "name": "bp", "type": "ptp",
           "ipam": {"type": "host-local", "dataDir": tmp + "/ipam", "ranges": [[{"subnet": "10.77.0.0/24"}]]}}
    mul = {"cniVersion": "1.0.0", "name": "bm", "type": "multus", "dataDir": tmp + "/m",
           "delegates": [dict(ptp, masterplugin=True)]}
    def cyc(conf):
        env = {"CNI_CONTAINERID": "b1", "CNI_NETNS": f"/run/netns/{ns}", "CNI_IFNAME": "eth0",
               "CNI_PATH": BIN, "PATH": os.environ["PATH"]}
        t = time.perf_counter()
        for _ in range(N):
            for cmd in ("ADD", "DEL"):
                r = subprocess.run([os.path.join(BIN, conf["type"])], input=json.dumps(conf),
                                   env=dict(env, CNI_COMMAND=cmd), capture_output=True, text=True)
                assert r.returncode == 0, r.stdout
        return (time.perf_counter() - t) / N
    a, b = cyc(ptp), cyc(mul)
    a2, b2 = cyc(ptp), cyc(mul)
    a, b = min(a, a2), min(b, b2)
    print(f"ptp ADD+DEL {a*1000:.1f} ms, multus(ptp) ADD+DEL {b*1000:.1f} ms, ratio {b/a:.2f}")
finally:
    subprocess.run(["ip", "netns", "del", ns]); shutil.rmtree(tmp)
