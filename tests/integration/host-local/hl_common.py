# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the host-local test drivers: run a plugin binary, build configs,
check a network directory for consistency."""

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

PLUGIN = os.environ.get("HL_PLUGIN", "")
FAULTY = os.environ.get("HL_FAULTY", "")
REFERENCE = os.environ.get("HL_REFERENCE", "/usr/lib/cni/host-local")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def finish():
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")
    sys.exit(0)


def conf(data_dir, ipam=None, version="0.4.0", name="net1", **top):
    c = {"cniVersion": version, "name": name, "type": "host-local",
         "ipam": dict({"type": "host-local", "dataDir": data_dir}, **(ipam or {}))}
    c.update(top)
    return c


def env_for(cmd, cid, ifname="eth0", args="", extra=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "CNI_COMMAND": cmd, "CNI_CONTAINERID": cid,
           "CNI_NETNS": "/var/run/netns/hl-test-none", "CNI_IFNAME": ifname,
           "CNI_PATH": "/usr/lib/cni", "CNI_ARGS": args}
    if extra:
        env.update(extra)
    return env


def run(plugin, cmd, cid, cfg, ifname="eth0", args="", extra=None, timeout=30):
    """Returns (rc, parsed JSON or None, raw stdout)."""
    data = cfg if isinstance(cfg, (str, bytes)) else json.dumps(cfg)
    if isinstance(data, str):
        data = data.encode()
    p = subprocess.run([plugin], input=data, capture_output=True, timeout=timeout,
                       env=env_for(cmd, cid, ifname, args, extra))
    out = p.stdout.decode(errors="replace")
    try:
        js = json.loads(out) if out.strip() else None
    except ValueError:
        js = None
    return p.returncode, js, out


def spawn(plugin, cmd, cid, cfg, ifname="eth0", extra=None):
    p = subprocess.Popen([plugin], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env_for(cmd, cid, ifname, "", extra))
    return p


def ip_files(netdir):
    """{ip: raw content} of the files named as addresses."""
    out = {}
    if not os.path.isdir(netdir):
        return out
    for n in os.listdir(netdir):
        try:
            ip = ipaddress.ip_address(n)
        except ValueError:
            continue
        if str(ip) != n:
            continue
        with open(os.path.join(netdir, n), "rb") as f:
            out[n] = f.read()
    return out


def owner_of(content):
    s = content.decode(errors="replace").strip()
    if "\r\n" in s:
        cid, ifn = s.split("\r\n", 1)
        return (cid, ifn)
    return (s, None)


def consistency(netdir, rangesets, check_mode=True):
    """Problems found: malformed files, an owner with two addresses in one range set,
    debris. rangesets: list of lists of ipaddress networks."""
    problems = []
    seen = {}
    for ip, content in ip_files(netdir).items():
        s = content.decode(errors="replace")
        if "\r\n" not in s or s != s.strip() or not s.split("\r\n")[0] or not s.split("\r\n")[1]:
            problems.append("malformed %s: %r" % (ip, content))
            continue
        owner = owner_of(content)
        a = ipaddress.ip_address(ip)
        for idx, rs in enumerate(rangesets):
            if any(a in n for n in rs):
                key = (owner, idx)
                if key in seen:
                    problems.append("%s holds %s and %s in range set %d" % (owner, seen[key], ip, idx))
                seen[key] = ip
    for n in ip_files(netdir) if check_mode else []:
        st = os.stat(os.path.join(netdir, n))
        if (st.st_mode & 0o777) != 0o600:
            problems.append("mode of %s is %o" % (n, st.st_mode & 0o777))
    return problems


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)


def need(path):
    if not path or not os.access(path, os.X_OK):
        print("SKIP: %s not available" % path)
        sys.exit(77)
