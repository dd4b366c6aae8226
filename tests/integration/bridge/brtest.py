# SPDX-License-Identifier: Apache-2.0
"""Helpers for the bridge plugin tests: private network namespaces from nslib (the "host"
side is a test namespace too, so the real host is never touched), running a plugin binary inside
the host namespace, snapshots of kernel state, and check()/finish() reporting.
Python 3 stdlib only."""

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nslib  # noqa: E402  (the namespaces: tests/integration/nslib.py)

OURS = os.environ.get("BR_PLUGIN", "")  # BR_VALGRIND=1 runs it under memcheck
OURS_DIR = os.path.dirname(OURS) if OURS else ""
REF_DIR = os.environ.get("BR_REFERENCE_DIR", "/usr/lib/cni")
REF = os.path.join(REF_DIR, "bridge")

failures = []
_tmpdirs = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def finish():
    cleanup()
    if failures:
        print("%d failed" % len(failures))
        print("0 passed, %d failed" % len(failures))
        sys.exit(1)
    print("ok")
    sys.exit(0)


def skip(reason):
    cleanup()
    print("SKIP:", reason)
    sys.exit(77)


def sh(*cmd, ok=True, input=None, timeout=60):
    p = subprocess.run(list(cmd), capture_output=True, input=input, timeout=timeout)
    if ok and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def cleanup():
    nslib.cleanup()
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    del _tmpdirs[:]


def _on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


atexit.register(cleanup)
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def netns(tag):
    """A new, uniquely named network namespace (nslib's), removed at exit."""
    return nslib.new_netns("brt-" + tag)


def netns_del(name):
    nslib.del_netns(name)


def tmpdir():
    d = tempfile.mkdtemp(prefix="brt-")
    _tmpdirs.append(d)
    return d


def preflight():
    if os.geteuid() != 0:
        skip("needs root for network namespaces")
    if not OURS or not os.access(OURS, os.X_OK):
        skip("BR_PLUGIN (our bridge binary) not set")
    for ipam in ("static", "host-local"):
        if not os.access(os.path.join(OURS_DIR, ipam), os.X_OK):
            check(False, "our %s IPAM plugin is not built next to %s" % (ipam, OURS))
            finish()
    try:
        ns = netns("pre")
        netns_del(ns)
    except Exception as e:  # noqa: BLE001
        skip("cannot create network namespaces: %s" % e)


def run(plugin, cmd, host, cont, conf, cid="cid1", ifname="eth0", cni_path=None,
        args="", extra=None, timeout=60):
    """Run plugin inside netns host with CNI_NETNS=/run/netns/<cont> (cont may be a full
    path or ""). Returns (rc, parsed JSON or None, stdout, stderr)."""
    data = conf if isinstance(conf, str) else json.dumps(conf)
    if cont and not cont.startswith("/"):
        cont = "/run/netns/" + cont
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_NETNS": cont or "",
           "CNI_IFNAME": ifname, "CNI_PATH": cni_path or OURS_DIR, "CNI_ARGS": args}
    if extra:
        env.update(extra)
    wrap = []
    if os.environ.get("BR_VALGRIND") == "1" and plugin == OURS:
        # memcheck our plugin: any error or leak makes it exit 97
        wrap = ["valgrind", "-q", "--leak-check=full", "--error-exitcode=97",
                "--suppressions=" + os.path.join(os.path.dirname(__file__), "valgrind.supp")]
    p = subprocess.run(["ip", "netns", "exec", host] + wrap + [plugin], input=data.encode(),
                       capture_output=True, env=env, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    try:
        js = json.loads(out) if out.strip() else None
    except ValueError:
        js = None
    return p.returncode, js, out, p.stderr.decode(errors="replace")


def links(ns):
    return json.loads(sh("ip", "-n", ns, "-d", "-j", "link", "show") or "[]")


def link_names(ns):
    return sorted(l["ifname"] for l in links(ns))


def link(ns, name):
    for l in links(ns):
        if l["ifname"] == name:
            return l
    return None


def addrs(ns, dev=None):
    cmd = ["ip", "-n", ns, "-j", "addr", "show"] + (["dev", dev] if dev else [])
    return json.loads(sh(*cmd) or "[]")


def sysctl(ns, key):
    out = sh("ip", "netns", "exec", ns, "sysctl", "-n", key, ok=False)
    return out.strip()


def sysfs(ns, path):
    return sh("ip", "netns", "exec", ns, "cat", path, ok=False).strip()


def nft_ruleset(ns):
    return sh("ip", "netns", "exec", ns, "nft", "list", "ruleset", ok=False)


def iptables_nat(ns, v6=False):
    out = sh("ip", "netns", "exec", ns, "ip6tables-save" if v6 else "iptables-save",
             "-t", "nat", ok=False)
    # chain counters: legacy iptables counts the packets a test happened to send
    return "\n".join(re.sub(r" \[\d+:\d+\]$", " [0:0]", l) for l in out.splitlines()
                     if not l.startswith("#"))


def ping(ns, addr, count=1):
    cmd = ["ip", "netns", "exec", ns, "ping", "-c", str(count), "-W", "2"]
    if ":" in addr:
        cmd.insert(4, "-6")
    return subprocess.run(cmd + [addr], capture_output=True).returncode == 0


MAC_RE = re.compile(r"\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b")
VETH_RE = re.compile(r"\bveth[0-9a-f]{8}\b")


def err_of(js):
    return (js or {}).get("code"), (js or {}).get("msg", "")
