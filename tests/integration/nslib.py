# SPDX-License-Identifier: Apache-2.0
"""The Python tests' namespace fixture (as nstest.h is for C and nslib.sh for shell):
namespaces with unique names that are always removed (by cleanup(), at exit and on
SIGINT/SIGTERM), plugin runs inside a test "host" namespace, iptables-save snapshots."""
import atexit
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REF_DIR = "/usr/lib/cni"
_created = []
_serial = itertools.count()
_cleanup_installed = []
_tmpdirs = []


def sh(cmd, check=True, **kw):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: rc={r.returncode} {r.stderr}")
    return r


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def need_root():
    if os.geteuid() != 0:
        skip("needs root")


def new_netns(tag):
    """A new namespace "cni-it-<tag>-<pid>-<n>" with lo up; its name. RuntimeError when it
    cannot be created. Removed by cleanup(), at the latest at exit."""
    install_cleanup()
    name = f"cni-it-{tag}-{os.getpid()}-{next(_serial)}"
    sh(f"ip netns add {name}")
    _created.append(name)
    sh(f"ip netns exec {name} ip link set lo up")
    return name


def netns(tag):
    """As new_netns(), but skips the test (exit 77) when namespaces cannot be created."""
    try:
        return new_netns(tag)
    except RuntimeError:
        skip("cannot create network namespaces")


def nspath(name):
    return "/run/netns/" + name


def del_netns(name):
    """Remove one namespace now (its processes killed first); nothing if already gone."""
    sh(f"ip netns pids {name} 2>/dev/null | xargs -r kill -9", check=False)
    sh(f"ip netns del {name}", check=False)
    if name in _created:
        _created.remove(name)


def need_netns():
    """Skip (exit 77) unless root and able to create a namespace."""
    need_root()
    del_netns(netns("probe"))


def _on_signal(sig, _frame):
    cleanup()
    _remove_tmpdirs()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def install_cleanup():
    """cleanup() at exit and on SIGINT/SIGTERM (done by netns() itself; idempotent)."""
    if _cleanup_installed:
        return
    _cleanup_installed.append(True)
    atexit.register(cleanup)
    for s in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(s) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(s, _on_signal)


NFT_MISSING = ("SKIP: this kernel's nf_tables has no inet family (tested on the machines' "
               "kernel): ")


def kernel_has_nft():
    """Whether this kernel's nf_tables has the ip/ip6/inet families (the user-mode kernel of
    tests/kernel has only the bridge family). Checked once, in a namespace of our own."""
    if not hasattr(kernel_has_nft, "known"):
        ns = netns("nftprobe")
        kernel_has_nft.known = sh(f"ip netns exec {ns} nft add table inet cni_probe",
                                  check=False).returncode == 0
    return kernel_has_nft.known


def cleanup():
    for n in list(_created):
        del_netns(n)
    _created.clear()


def veth(host, hname, cont, cname, v4h, v4c, v6h=None, v6c=None):
    """veth host<->container; v4h/v4c are "addr/prefix"; container gets default routes."""
    tmp = f"tmp{len(_created)}x{hname}"[:15]
    sh(f"ip -n {host} link add {hname} type veth peer name {tmp} netns {cont}")
    sh(f"ip -n {cont} link set {tmp} name {cname}")
    sh(f"ip -n {host} addr add {v4h} dev {hname}")
    sh(f"ip -n {cont} addr add {v4c} dev {cname}")
    if v6h:
        sh(f"ip -n {host} addr add {v6h} dev {hname} nodad")
        sh(f"ip -n {cont} addr add {v6c} dev {cname} nodad")
    sh(f"ip -n {host} link set {hname} up")
    sh(f"ip -n {cont} link set {cname} up")
    sh(f"ip -n {cont} route add default via {v4h.split('/')[0]}")
    if v6h:
        sh(f"ip -n {cont} -6 route add default via {v6h.split('/')[0]}")


def run_plugin(path, cmd, host, conf, cid="ctr1", ifname="eth0", netns_path="/var/run/netns/x",
               env_extra=None, wrap=(), timeout=None):
    """Run the plugin at path in namespace host (wrap: a command to run it under)."""
    env = {"CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_NETNS": netns_path,
           "CNI_IFNAME": ifname, "CNI_PATH": REF_DIR, "PATH": os.environ.get("PATH", "")}
    if env_extra:
        env.update(env_extra)
    args = (["ip", "netns", "exec", host, "env", "-i"] + [f"{k}={v}" for k, v in env.items()] +
            list(wrap) + [path])
    r = subprocess.run(args, input=json.dumps(conf), capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def saved(host, table):
    """iptables-save of both families, without the comment and counter noise."""
    out = []
    for tool in ("iptables-save", "ip6tables-save"):
        r = sh(f"ip netns exec {host} {tool} -t {table}")
        out.append([l for l in r.stdout.splitlines() if not l.startswith("#")])
    return out


def serve_tcp(ns, addr, port, reply):
    """A background TCP server in ns answering every connection with reply."""
    fam = "AF_INET6" if ":" in addr else "AF_INET"
    code = (f"import socket\ns=socket.socket(socket.{fam});"
            f"s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('{addr}',{port}));s.listen(8)\n"
            f"while True:\n c,_=s.accept();c.sendall(b'{reply}');c.close()")
    p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", code])
    time.sleep(0.3)
    return p


def connect(ns, addr, port, timeout=2):
    fam = "AF_INET6" if ":" in addr else "AF_INET"
    code = (f"import socket\ns=socket.socket(socket.{fam});s.settimeout({timeout})\n"
            f"try:\n s.connect(('{addr}',{port}));print(s.recv(100).decode())\n"
            f"except Exception as e:\n print('ERR',e)")
    return sh(f"ip netns exec {ns} python3 -c \"{code}\"", check=False).stdout.strip()


class Runner:
    def __init__(self):
        self.failed = 0
        self.ran = 0

    def case(self, fn):
        self.ran += 1
        try:
            fn()
            print(f"ok   {fn.__name__}")
        except Exception as e:  # report and go on with the other cases
            self.failed += 1
            print(f"FAIL {fn.__name__}: {e}")
        finally:
            cleanup()

    def finish(self):
        print(f"{self.ran - self.failed}/{self.ran} passed")
        sys.exit(1 if self.failed else 0)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def tmpdir():
    """A new directory under /tmp, removed at exit (with everything in it)."""
    if not _tmpdirs:
        atexit.register(_remove_tmpdirs)
    d = tempfile.mkdtemp(prefix="cni-it-")
    _tmpdirs.append(d)
    return d


def tool_wrappers(scripts):
    """Environment whose PATH finds, first, a shell script for each tool named in scripts
    (tool -> script body), e.g. an iptables-save that fails: for a plugin's error paths."""
    d = tmpdir()
    for tool, body in scripts.items():
        with open(os.path.join(d, tool), "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(os.path.join(d, tool), 0o755)
    return {"PATH": d + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}


def _remove_tmpdirs():
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    _tmpdirs.clear()
