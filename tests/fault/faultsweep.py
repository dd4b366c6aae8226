#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Systematic fault injection: "a failure at any point leaves nothing behind".

For each plugin scenario, a clean ADD and DEL are run under strace to count the system
calls of each class that can fail; then ADD (and DEL) are rerun with the N-th call of one
class made to fail, for every N (strace -e inject=...:when=N; strace counts per process,
so in a plugin that starts iptables the N-th call of each process fails). After each run
the state of the test namespaces is compared with the state before:

  injected ADD: success (with as many firewall lines as a clean ADD makes, then a clean
                DEL must leave nothing), or the spec's error JSON
                on stdout and nothing left behind (when the error is that the result
                could not be written, skel has taken the ADD back with the plugin's DEL:
                then what a DEL leaves, e.g. bandwidth's qdiscs on the main plugin's veth);
  injected DEL: a retried clean DEL succeeds and leaves nothing.

"Nothing" is measured against a warm baseline, taken after one clean ADD + DEL: what that
cycle leaves on purpose (a bridge, the CNI-FORWARD chain, the IPAM directory) is not a
leak. The state: links, addresses, routes and rules of both namespaces, qdiscs,
iptables-save and nft list ruleset of the host namespace, sysctls the scenario names, the
files under the scenario's data directories and /run/cni/tuning entries of the container,
and what a scenario's servers hold (dnsmasq's leases, OVSDB's rows, etcd's keys).

Servers a scenario needs (ovsdb-server for userspace, a 3-member etcd for etcd-ipam) are
started once per run, on private sockets, ports and directories, and stopped by PID at the
end, also on failure. Every scenario also fails connect, read and poll (classes connect,
read, poll): a server's client socket, a child's pipes (a delegate, iptables-save).

Everything runs in network namespaces made here (the "host" is a test namespace).

  faultsweep.py --plugins DIR [--only a,b] [--classes a,b] [--points K] [--json FILE]
                [--label NAME] [--report-only] [--regressions FILE] [--dpdk]

--dpdk adds userspace in server mode, against an ovs-vswitchd-dpdk of its own (hugepages,
a polling core: not for the CI subset). --points K tries at most K points per class and
verb, spread over 1..N (the CI subset); without it every N is tried (the full sweep,
tests/fault/sweep.sh). --regressions runs the
points listed in FILE (regressions.txt: where bugs were found) first. Exit status 1 when a
run left something behind or failed without the spec's error JSON (unless
--report-only), 77 when it cannot run here.
"""
import argparse
import atexit
import base64
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import nslib  # noqa: E402

# class name -> (system calls, error injected)
CLASSES = {
    "netlink-send": ("sendmsg,sendto", "EIO"),
    "netlink-recv": ("recvmsg,recvfrom", "EIO"),
    "openat": ("openat", "EIO"),
    "write": ("write", "ENOSPC"),
    "rename": ("rename,renameat,renameat2,linkat", "EIO"),
    "mkdir": ("mkdir,mkdirat", "EIO"),
    "setns": ("setns", "EINVAL"),
    "spawn": ("clone,clone3,vfork,fork", "EAGAIN"),
    # the calls of a client's socket (OVSDB, etcd's HTTP gateway, dhcp's daemon) and of a
    # child's pipes (a delegate's result, iptables-save's dump) the classes above leave out
    "connect": ("connect", "ECONNREFUSED"),
    "read": ("read,readv", "EIO"),
    "poll": ("poll,ppoll", "ENOMEM"),
}
# the classes every scenario tries (--classes names a subset)
DEFAULT_CLASSES = ("netlink-send", "netlink-recv", "openat", "write", "rename", "mkdir",
                   "setns", "spawn", "connect", "read", "poll")
CID = "fault%d" % os.getpid()
# --strict-del: an injected DEL that reports success must have left nothing itself (the
# runtime will not retry it); by default only its retry is judged, as the issue asked
STRICT_DEL = False
# host-local's allocation cursor and store state move on with every ADD by design
VOLATILE = re.compile(r"/(last_reserved_ip\.\d+|\.host-local/state)$")
# and its owner index: at most 1,024 bucket files, each made once and kept
# (docs/host-local.md), whatever the run; the reservations themselves are compared
INDEX = re.compile(r"/\.host-local/owners/b[0-9a-f]{3}$")
# servers a scenario runs (dnsmasq: its log and lease times move): compared by extra_state
SERVERS = re.compile(r"/servers/")


def ip_json(ns, args):
    r = nslib.sh("ip -n %s -j %s" % (ns, args), check=False)
    try:
        return json.loads(r.stdout) if r.stdout.strip() else []
    except ValueError:
        return [r.stdout]


def ns_state(ns, host):
    st = {}
    st["links"] = sorted(
        "%s %s mtu=%s mac=%s master=%s up=%s promisc=%s" % (
            l.get("ifname"), (l.get("linkinfo") or {}).get("info_kind", l.get("link_type")),
            l.get("mtu"), l.get("address"), l.get("master"), "UP" in l.get("flags", []),
            l.get("promiscuity"))
        for l in ip_json(ns, "-d link show"))
    # (IPv6 link-local addresses and their routes come and go with links, on the kernel's
    # time: the links themselves are compared)
    st["addrs"] = sorted("%s %s/%s" % (l.get("ifname"), a.get("local"), a.get("prefixlen"))
                         for l in ip_json(ns, "addr show") for a in l.get("addr_info", [])
                         if not str(a.get("local")).startswith("fe80:"))
    routes = []
    for fam in ("-4", "-6"):
        for r in ip_json(ns, "%s route show table all" % fam):
            if str(r.get("dst")).startswith(("fe80:", "ff00:")):
                continue
            routes.append(" ".join("%s=%s" % (k, r.get(k)) for k in
                                   ("table", "type", "dst", "gateway", "dev", "prefsrc",
                                    "protocol", "metric", "scope")))
        for r in ip_json(ns, "%s rule show" % fam):
            routes.append("rule " + json.dumps(r, sort_keys=True))
    st["routes"] = sorted(routes)
    qd = nslib.sh("tc -n %s -j qdisc show" % ns, check=False).stdout
    try:
        st["qdiscs"] = sorted("%s %s %s %s" % (q.get("dev"), q.get("kind"), q.get("handle"),
                                               q.get("parent")) for q in json.loads(qd or "[]"))
    except ValueError:
        st["qdiscs"] = [qd]
    if host:
        lines = []
        for tool in ("iptables-save", "ip6tables-save"):
            out = nslib.sh("ip netns exec %s %s" % (ns, tool), check=False).stdout
            lines += [tool + " " + re.sub(r"\[\d+:\d+\]", "", l) for l in out.splitlines()
                      if not l.startswith("#")]
        out = nslib.sh("ip netns exec %s nft list ruleset" % ns, check=False).stdout
        # (the counters iptables-nft keeps in every rule move with traffic: not state)
        lines += ["nft " + re.sub(r"counter packets \d+ bytes \d+", "counter", l.strip())
                  for l in out.splitlines()]
        st["firewall"] = lines
    return st


def files_state(dirs):
    out = []
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            for s in subdirs:
                if not SERVERS.search(os.path.join(root, s) + "/"):
                    out.append("dir " + os.path.join(root, s))
            for f in files:
                p = os.path.join(root, f)
                if INDEX.search(p) or SERVERS.search(p):
                    continue
                if VOLATILE.search(p):
                    out.append("file " + p)  # its content is meant to change
                    continue
                try:
                    with open(p, "rb") as fh:
                        h = hashlib.sha256(fh.read()).hexdigest()[:16]
                except OSError as e:
                    h = "unreadable %s" % e
                out.append("file %s %s" % (p, h))
    tun = "/run/cni/tuning"
    if os.path.isdir(tun):
        out += ["tuning " + f for f in os.listdir(tun) if CID in f]
    return sorted(out)


def diff(a, b):
    """What b has that a does not (and the reverse), per part."""
    d = []
    for k in sorted(set(a) | set(b)):
        x, y = set(a.get(k, [])), set(b.get(k, []))
        d += ["+%s: %s" % (k, v) for v in sorted(y - x)]
        d += ["-%s: %s" % (k, v) for v in sorted(x - y)]
    return d


class Fixture:
    """The host and container namespaces and a temporary directory for one scenario."""

    def __init__(self, scen, plugdir):
        self.scen, self.dir = scen, plugdir
        self.tmp = tempfile.mkdtemp(prefix="cni-fault-")
        self.h = nslib.netns("fh")
        self.c = nslib.netns("fc")
        self.cpath = "/run/netns/" + self.c
        scen.setup(self)

    def close(self):
        self.scen.teardown(self)
        nslib.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for f in os.listdir("/run/cni/tuning") if os.path.isdir("/run/cni/tuning") else []:
            if CID in f:
                os.unlink(os.path.join("/run/cni/tuning", f))

    def state(self):
        st = ns_state(self.h, True)
        st.update({"c-" + k: v for k, v in ns_state(self.c, False).items()})
        st["files"] = files_state([self.tmp])
        st["sysctl"] = [k + "=" + (nslib.sh("ip netns exec %s cat /proc/sys/%s" % (
            self.c, k.replace(".", "/")), check=False).stdout.strip())
            for k in self.scen.sysctls]
        st.update(self.scen.extra_state(self))
        return st

    def ensure_link(self):
        """The main plugin's host veth, for scenarios that chain after one."""
        if self.scen.main_link and nslib.sh("ip -n %s link show fhv0" % self.h,
                                            check=False).returncode:
            container_veth(self, "10.70.0.2/24")

    def drop_link(self):
        """What the main plugin's DEL does: the veth goes, with its qdiscs."""
        if self.scen.main_link:
            nslib.sh("ip -n %s link del fhv0" % self.h, check=False)
        self.scen.after_del(self)

    def run(self, cmd, wrap=()):
        if cmd == "ADD":
            self.ensure_link()
        return self.scen.run(self, cmd, wrap)


class Scenario:
    ifname = "eth0"
    sysctls = ()
    runtime_dels = False  # a failed ADD is judged after the DEL a runtime sends

    def __init__(self, name, plugin, conf, setup=None, ifname=None, sysctls=(), main_link=False,
                 needs=None, runtime_dels=False):
        self.name, self.plugin, self._conf, self._setup = name, plugin, conf, setup
        self.main_link, self.needs = main_link, needs
        if runtime_dels:
            self.runtime_dels = True
        if ifname:
            self.ifname = ifname
        self.sysctls = sysctls

    def conf(self, fx):
        return self._conf(fx)

    def setup(self, fx):
        if self._setup:
            self._setup(fx)

    def available(self, plugdir):
        return os.access(os.path.join(plugdir, self.plugin), os.X_OK)

    def kernel_lacks(self):
        """What this kernel lacks for the scenario (None: nothing): a probe in a namespace."""
        if not self.needs:
            return None
        ns = nslib.netns("fprobe")
        r = nslib.sh("ip netns exec %s %s" % (ns, self.needs[1]), check=False)
        nslib.sh("ip netns del %s" % ns, check=False)
        return None if r.returncode == 0 else self.needs[0]

    timeout = 120  # a plugin still running then is a finding (rc 124, no error JSON)

    def plugin_ns(self, fx):
        """The namespace the plugin runs in (the runtime's): the test's host namespace."""
        return fx.h

    def after_del(self, fx):
        """What the runtime or the administrator removes after a DEL (a scenario's
        precondition for the next ADD)."""

    def teardown(self, fx):
        """Remove what the scenario made outside its fixture's namespaces and directory."""

    def run(self, fx, cmd, wrap):
        env = {"CNI_PATH": fx.dir}
        try:
            return nslib.run_plugin(os.path.join(fx.dir, self.plugin), cmd, self.plugin_ns(fx),
                                    self.conf(fx), cid=CID, ifname=self.ifname,
                                    netns_path=fx.cpath, env_extra=env, wrap=wrap,
                                    timeout=self.timeout)
        except subprocess.TimeoutExpired:
            # (what it left running dies with the fixture's namespaces)
            return 124, "", "still running after %d s: killed" % self.timeout

    def failed_properly(self, rc, out, err, cls):
        """A failure reported as the spec says: error JSON on stdout."""
        return spec_error(rc, out)

    def extra_state(self, fx):
        return {}


class DhcpScenario(Scenario):
    """bridge with the dhcp IPAM plugin: dnsmasq in a server namespace on the bridge, and
    the plugin set's own `dhcp daemon` in the host namespace (its socket and, for ours,
    its lease files under the scenario's directory). dnsmasq's lease file is part of the
    state: a lease the DEL did not release stays there (the daemon would renew it)."""

    # ours waits at most 30 s for the daemon, whose own acquisition timeout is 10 s
    timeout = 45

    def __init__(self):
        Scenario.__init__(self, "bridge+dhcp", "bridge", self.make_conf,
                          needs=("dnsmasq (dnsmasq-base)", "which dnsmasq"))

    def make_conf(self, fx):
        return base("fdh", "bridge", bridge="fdh0", ipam={
            "type": "dhcp", "daemonSocketPath": fx.tmp + "/servers/dhcp.sock"})

    def available(self, plugdir):
        return all(os.access(os.path.join(plugdir, p), os.X_OK) for p in ("bridge", "dhcp"))

    def setup(self, fx):
        sd = fx.tmp + "/servers"
        os.makedirs(sd)
        srv = nslib.netns("fs")
        nslib.sh("ip -n %s link add fdh0 type bridge && ip -n %s link set fdh0 up" % (fx.h, fx.h))
        nslib.sh("ip -n %s addr add 10.83.0.2/24 dev fdh0" % fx.h)
        nslib.sh("ip -n %s link add fdhs type veth peer name eth0 netns %s" % (fx.h, srv))
        nslib.sh("ip -n %s link set fdhs master fdh0 up" % fx.h)
        nslib.sh("ip -n %s addr add 10.83.0.1/24 dev eth0 && ip -n %s link set eth0 up" % (
            srv, srv))
        subprocess.Popen(["ip", "netns", "exec", srv, shutil.which("dnsmasq"), "--port=0",
                          "--interface=eth0", "--bind-interfaces", "--keep-in-foreground",
                          "--dhcp-range=10.83.0.50,10.83.0.250,255.255.255.0,2m", "--no-ping",
                          "--dhcp-leasefile=%s/leases" % sd, "--log-facility=%s/dnsmasq.log" % sd,
                          "--dhcp-option=3,10.83.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the daemon of the plugin set under test; its state (ours) under the scenario's
        # directory, compared with the rest
        args = ["ip", "netns", "exec", fx.h, os.path.join(fx.dir, "dhcp"), "daemon",
                "-socketpath", sd + "/dhcp.sock"]
        usage = subprocess.run([os.path.join(fx.dir, "dhcp"), "daemon", "-h"],
                               capture_output=True, text=True, timeout=10)
        if "-statedir" in usage.stdout + usage.stderr:
            args += ["-statedir", fx.tmp + "/dhcp-state"]
        subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(sd + "/daemon.log", "a"))
        for _ in range(100):
            if os.path.exists(sd + "/dhcp.sock") and os.path.exists(sd + "/dnsmasq.log") and \
                    "bound exclusively" in open(sd + "/dnsmasq.log").read():
                break
            time.sleep(0.05)

    def extra_state(self, fx):
        try:
            with open(fx.tmp + "/servers/leases") as f:
                # expiry, MAC, address, name, client id: the address and client id are
                # compared (the MAC is new with every attachment, the time moves)
                return {"dhcp-leases": sorted(" ".join(l.split()[2:3] + l.split()[4:])
                                              for l in f if l.strip())}
        except FileNotFoundError:
            return {"dhcp-leases": []}


# servers a scenario starts once per sweep (OVSDB, etcd): stopped, by PID, at the end
_servers = []


def stop_servers():
    while _servers:
        _servers.pop()()


def _on_signal(sig, _frame):
    stop_servers()
    nslib.cleanup()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def stop_servers_at_exit():
    """Servers stopped at exit and on SIGINT/SIGTERM (nslib's own handler, which this one
    replaces, removes the namespaces and re-raises the signal: atexit would not run)."""
    atexit.register(stop_servers)
    nslib.install_cleanup()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def stop_pid(pid, wait=5):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(int(wait * 20)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# what ovs-vswitchd writes (status, statistics, counters), not configuration: not compared
OVS_STATUS = {"statistics", "status", "ofport", "ifindex", "mac_in_use", "link_state",
              "link_speed", "link_resets", "duplex", "admin_state", "mtu", "cur_cfg",
              "next_cfg", "datapath_id", "datapath_version", "dpdk_initialized",
              "dpdk_version", "ovs_version", "db_version", "system_type", "system_version",
              "iface_types", "datapath_types", "datapaths", "error", "lacp_current",
              "bfd_status", "rstp_status", "rstp_statistics", "cfm_fault", "cfm_fault_status",
              "cfm_flap_count", "cfm_health", "cfm_remote_mpids", "cfm_remote_opstate"}
OVS_STATUS_TABLES = {"Datapath", "CT_Zone", "CT_Timeout_Policy"}


class UserspaceScenario(Scenario):
    """userspace (OVS-DPDK's vhost-user ports) with host-local, against a private
    ovsdb-server started once per sweep (its database under a temporary directory, its
    unix socket there). The host side is in client mode: the plugin's ADD and DEL then
    need OVSDB only (server mode waits for ovs-vswitchd-dpdk to make the socket, which
    needs hugepages and a busy-polling core for the whole sweep: see docs/reliability.md).
    After each DEL the bridge is deleted when it holds only its internal port, and the
    shared directory (two levels of it) when it is empty, so every ADD makes both and a
    failed one must take them back. The state adds the OVSDB rows (every table, UUIDs
    replaced by the rows' names), with the shared directory's files and host-local's
    reservations under the scenario's directory."""

    ifname = "net1"
    ovs = None  # (socket, bridge) once started

    def __init__(self):
        Scenario.__init__(self, "userspace+host-local", "userspace", self.make_conf,
                          needs=("OVSDB (openvswitch-switch)",
                                 "which ovsdb-server ovsdb-tool ovsdb-client ovs-vsctl"))

    def available(self, plugdir):
        return all(os.access(os.path.join(plugdir, p), os.X_OK)
                   for p in ("userspace", "host-local"))

    @classmethod
    def start_ovs(cls):
        tmp = tempfile.mkdtemp(prefix="cni-fault-ovs-")
        sock, pidf = tmp + "/db.sock", tmp + "/ovsdb-server.pid"
        env = dict(os.environ, OVS_RUNDIR=tmp, OVS_LOGDIR=tmp, OVS_DBDIR=tmp)

        def stop():
            try:
                with open(pidf) as f:
                    stop_pid(int(f.read().strip()))
            except (OSError, ValueError):
                pass
            shutil.rmtree(tmp, ignore_errors=True)
        _servers.append(stop)
        subprocess.run(["ovsdb-tool", "create", tmp + "/conf.db",
                        "/usr/share/openvswitch/vswitch.ovsschema"], check=True, env=env,
                       capture_output=True)
        subprocess.run(["ovsdb-server", "--remote=punix:" + sock, "--pidfile=" + pidf,
                        "--detach", "--unixctl=" + tmp + "/ctl", "-vconsole:off",
                        "--log-file=" + tmp + "/ovsdb.log", tmp + "/conf.db"],
                       check=True, env=env, capture_output=True)
        subprocess.run(["ovs-vsctl", "--db=unix:" + sock, "--no-wait", "init"], check=True,
                       env=env, capture_output=True, timeout=20)
        cls.ovs = (sock, "fus%d" % (os.getpid() % 100000))

    def make_conf(self, fx):
        sock, br = self.ovs
        side = {"engine": "ovs-dpdk", "iftype": "vhostuser", "netType": "interface"}
        return base("fus", "userspace", ovsdbSocket=sock, ovsdbTimeout=5,
                    host=dict(side, netType="bridge", vhost={"mode": "client"},
                              bridge={"bridgeName": br}),
                    container=dict(side, vhost={"mode": "server"}),
                    sharedDir=fx.tmp + "/shared/pod/" + self.ifname,
                    ipam=hl(fx, "10.84.0.0/24", "fd84::/64"))

    def setup(self, fx):
        if not self.ovs:
            self.start_ovs()

    def vsctl(self, *args):
        return subprocess.run(["ovs-vsctl", "--db=unix:" + self.ovs[0], "--no-wait",
                               "--timeout=20"] + list(args), capture_output=True, text=True,
                              timeout=30)

    def after_del(self, fx):
        # the bridge goes only when nothing but its internal port is on it: a port a DEL
        # left stays, and is seen
        br = self.ovs[1]
        r = self.vsctl("list-ports", br)
        if r.returncode == 0 and not r.stdout.strip():
            self.vsctl("del-br", br)
        d = fx.tmp + "/shared/pod/" + self.ifname
        for _ in range(3):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = os.path.dirname(d)

    def teardown(self, fx):
        if self.ovs:
            self.vsctl("--if-exists", "del-br", self.ovs[1])

    def extra_state(self, fx):
        r = subprocess.run(["ovsdb-client", "dump", "--format=json", "unix:" + self.ovs[0],
                            "Open_vSwitch"], capture_output=True, text=True, timeout=30)
        try:
            # (one JSON object per table and line)
            tables = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            if r.returncode or not tables:
                raise ValueError
        except ValueError:
            return {"ovsdb": ["dump failed: %s %s" % (r.stdout, r.stderr)]}
        rows, names = [], {}
        for t in tables:
            h = t["headings"]
            for d in t["data"]:
                row = dict(zip(h, d))
                names[row["_uuid"][1]] = "%s:%s" % (t["caption"].split()[0],
                                                    row.get("name", "."))
                rows.append((t["caption"].split()[0], row))

        def named(v):
            if isinstance(v, list) and len(v) == 2 and v[0] == "uuid":
                return names.get(v[1], "dangling")
            if isinstance(v, list):
                return [named(x) for x in v]
            return v
        out = []
        for t, row in rows:
            if t in OVS_STATUS_TABLES:
                continue
            row = {k: named(v) for k, v in row.items()
                   if k not in ("_uuid", "_version") and k not in OVS_STATUS}
            # (a set's order is the server's: sort what a set holds)
            row = {k: ["set", sorted(map(json.dumps, v[1]))] if isinstance(v, list) and
                   v and v[0] in ("set", "map") else v for k, v in row.items()}
            out.append("%s %s" % (t, json.dumps(row, sort_keys=True)))
        return {"ovsdb": sorted(out)}


class DpdkUserspaceScenario(UserspaceScenario):
    """userspace in server mode: OVS makes the vhost-user socket and the plugin links it
    into the shared directory, so this needs ovs-vswitchd-dpdk, started once per run (with
    --dpdk only) in a namespace of its own: 384 hugepages of 2 MiB taken from the host
    and given back at the end, --no-pci, its lcore and PMD pinned to core 0, which the PMD
    busy-polls while a port exists (docs/reliability.md)."""

    ovs = None
    enabled = False  # --dpdk
    VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
    PAGES = 384

    def __init__(self):
        Scenario.__init__(self, "userspace-server+host-local", "userspace", self.make_conf,
                          needs=("OVS-DPDK (openvswitch-switch-dpdk)",
                                 "test -x " + self.VSWITCHD))

    def available(self, plugdir):
        return self.enabled and UserspaceScenario.available(self, plugdir)

    @classmethod
    def start_ovs(cls):
        tmp = tempfile.mkdtemp(prefix="cni-fault-dpdk-")
        run, huge = tmp + "/run", tmp + "/huge"
        os.makedirs(run)
        os.makedirs(huge)
        sock = run + "/db.sock"
        ns = "cni-fault-ovs-%d" % os.getpid()
        env = dict(os.environ, OVS_RUNDIR=run, OVS_LOGDIR=tmp, OVS_DBDIR=tmp)
        with open("/proc/sys/vm/nr_hugepages") as f:
            pages = int(f.read())
        state = {"pages": None, "mounted": False}  # pages: set once ours were asked for

        def stop():
            for d in ("ovs-vswitchd", "ovsdb-server"):
                try:
                    with open("%s/%s.pid" % (run, d)) as f:
                        stop_pid(int(f.read().strip()), wait=10)
                except (OSError, ValueError):
                    pass
            if state["mounted"]:
                subprocess.run(["umount", huge], capture_output=True)
            if state["pages"] is not None:
                # (our pages back, not the number we found: another run may have added
                # its own since)
                with open("/proc/sys/vm/nr_hugepages") as f:
                    now = int(f.read())
                with open("/proc/sys/vm/nr_hugepages", "w") as f:
                    f.write(str(max(0, now - cls.PAGES)))
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
        _servers.append(stop)
        state["pages"] = pages
        with open("/proc/sys/vm/nr_hugepages", "w") as f:
            f.write(str(pages + cls.PAGES))
        with open("/proc/meminfo") as f:
            free = int(re.search(r"HugePages_Free:\s+(\d+)", f.read()).group(1))
        if free < cls.PAGES:
            raise RuntimeError("only %d of %d hugepages to be had" % (free, cls.PAGES))
        subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", huge],
                       check=True, capture_output=True)
        state["mounted"] = True
        nslib.sh("ip netns add %s" % ns)
        vsctl = ["ovs-vsctl", "--db=unix:" + sock, "--timeout=20"]
        subprocess.run(["ovsdb-tool", "create", tmp + "/conf.db",
                        "/usr/share/openvswitch/vswitch.ovsschema"], check=True, env=env,
                       capture_output=True)
        subprocess.run(["ip", "netns", "exec", ns, "ovsdb-server", "--remote=punix:" + sock,
                        "--pidfile=%s/ovsdb-server.pid" % run, "--detach", "-vconsole:off",
                        "--unixctl=%s/ovsdb-server.ctl" % run,
                        "--log-file=%s/ovsdb.log" % tmp, tmp + "/conf.db"],
                       check=True, env=env, capture_output=True)
        subprocess.run(vsctl + ["--no-wait", "init"], check=True, capture_output=True)
        subprocess.run(vsctl + [
            "--no-wait", "set", "Open_vSwitch", ".", "other_config:dpdk-init=true",
            "other_config:dpdk-extra=--no-pci --huge-dir %s --file-prefix fault%d" % (
                huge, os.getpid()),
            "other_config:dpdk-socket-mem=256", "other_config:dpdk-socket-limit=320",
            "other_config:per-port-memory=true", "other_config:dpdk-lcore-mask=0x1",
            "other_config:pmd-cpu-mask=0x1"], check=True, capture_output=True)
        subprocess.run(["ip", "netns", "exec", ns, cls.VSWITCHD, "unix:" + sock,
                        "--pidfile=%s/ovs-vswitchd.pid" % run, "--detach", "-vconsole:off",
                        "--unixctl=%s/ovs-vswitchd.ctl" % run,
                        "--log-file=%s/vswitchd.log" % tmp],
                       check=True, env=env, capture_output=True, timeout=120)
        for _ in range(150):
            r = subprocess.run(vsctl + ["get", "Open_vSwitch", ".", "dpdk_initialized"],
                               capture_output=True, text=True)
            if r.stdout.strip() == "true":
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("DPDK not initialised")
        cls.ovs = (sock, "fud%d" % (os.getpid() % 100000))

    def make_conf(self, fx):
        c = UserspaceScenario.make_conf(self, fx)
        c["host"]["vhost"]["mode"] = "server"
        c["container"]["vhost"]["mode"] = "client"
        c["ipam"] = hl(fx, "10.86.0.0/24", "fd86::/64")
        return c


class EtcdScenario(Scenario):
    """etcd-ipam alone (two range sets, IPv4 and IPv6) against a 3-member etcd cluster
    started once per sweep in a namespace of its own (127.0.0.1 there, private ports, data
    under a temporary directory); the plugin runs in that namespace, as a runtime on an
    etcd member would. Three members, so that a failed connect or read can make the plugin
    go on to the next endpoint. The state adds every key and value under the scenario's
    etcd_prefix."""

    etcd = None  # (namespace, endpoints, prefix) once started

    def __init__(self):
        Scenario.__init__(self, "etcd-ipam", "etcd-ipam", self.make_conf,
                          needs=("etcd (etcd-server, etcd-client)", "which etcd etcdctl"))

    @classmethod
    def start_etcd(cls):
        tmp = tempfile.mkdtemp(prefix="cni-fault-etcd-")
        ns = "cni-fault-etcd-%d" % os.getpid()
        procs = []

        def stop():
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)
        _servers.append(stop)
        nslib.sh("ip netns add %s && ip -n %s link set lo up" % (ns, ns))
        # (the ports are free in the new namespace whatever the host's are; chosen there
        # all the same, so that the host's 2379 never matters)
        p = free_ports(6)
        client, peer = p[:3], p[3:]
        eps = ",".join("http://127.0.0.1:%d" % c for c in client)
        initial = ",".join("m%d=http://127.0.0.1:%d" % (i, peer[i]) for i in range(3))
        for i in range(3):
            url = "http://127.0.0.1:%d" % client[i]
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "etcd", "--name", "m%d" % i,
                 "--data-dir", "%s/m%d" % (tmp, i), "--listen-client-urls", url,
                 "--advertise-client-urls", url,
                 "--listen-peer-urls", "http://127.0.0.1:%d" % peer[i],
                 "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer[i],
                 "--initial-cluster", initial, "--initial-cluster-state", "new",
                 "--initial-cluster-token", os.path.basename(tmp)],
                stdout=subprocess.DEVNULL, stderr=open("%s/m%d.log" % (tmp, i), "ab")))
        cls.etcd = (ns, eps, "/fault%d" % os.getpid())
        for _ in range(150):
            if cls.etcdctl("endpoint", "health").returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("the etcd cluster did not come up")

    @classmethod
    def etcdctl(cls, *args):
        ns, eps, _ = cls.etcd
        return subprocess.run(["ip", "netns", "exec", ns, "env", "ETCDCTL_API=3", "etcdctl",
                               "--endpoints", eps] + list(args), capture_output=True,
                              text=True, timeout=30)

    def make_conf(self, fx):
        _, eps, prefix = self.etcd
        return base("fet", "etcd-ipam", ipam={
            "type": "etcd-ipam", "etcd_endpoints": eps, "etcd_prefix": prefix,
            "nodename": "fnode", "ranges": [[{"subnet": "10.85.0.0/24"}],
                                            [{"subnet": "fd85::/64"}]],
            "routes": [{"dst": "0.0.0.0/0"}]})

    def setup(self, fx):
        if not self.etcd:
            self.start_etcd()

    def plugin_ns(self, fx):
        return self.etcd[0]

    def teardown(self, fx):
        if self.etcd:
            self.etcdctl("del", "--prefix", self.etcd[2])

    def reservations(self, fx):
        """The addresses held (ips/<hex>, ips6/<hex>, value "<node> <container> <ifname>"):
        address -> container id, for crashsweep.py's check."""
        res = {}
        for kv in self.extra_state(fx)["etcd"]:
            m = re.match(r".*/ips6?/([0-9a-f]+)=\S+ (\S+)", kv)
            if m:
                res[str(ipaddress.ip_address(int(m.group(1), 16)) if len(m.group(1)) == 8
                        else ipaddress.IPv6Address(int(m.group(1), 16)))] = m.group(2)
        return res

    def extra_state(self, fx):
        r = self.etcdctl("get", "--prefix", self.etcd[2], "-w", "json")
        try:
            kvs = json.loads(r.stdout).get("kvs", [])
        except ValueError:
            return {"etcd": ["get failed: %s %s" % (r.stdout, r.stderr)]}
        return {"etcd": sorted("%s=%s" % (base64.b64decode(kv["key"]).decode(errors="replace"),
                                          base64.b64decode(kv.get("value", "")).decode(
                                              errors="replace")) for kv in kvs)}


class ChainScenario(Scenario):
    """A whole conflist run by cnitool, as a runtime runs it: the failure may hit cnitool
    itself or any plugin it starts (strace counts each process's calls on its own)."""

    cnitool = None  # set from --cnitool
    runtime_dels = True
    cap_args = {"portMappings": [{"hostPort": 8090, "containerPort": 80, "protocol": "tcp"},
                                 {"hostPort": 8091, "containerPort": 81, "protocol": "udp"}]}

    def available(self, plugdir):
        return bool(self.cnitool) and all(
            os.access(os.path.join(plugdir, p), os.X_OK) for p in self.plugin.split("+"))

    def run(self, fx, cmd, wrap):
        confdir = os.path.join(fx.tmp, "net.d")
        os.makedirs(confdir, exist_ok=True)
        conf = self.conf(fx)
        with open(os.path.join(confdir, "chain.conflist"), "w") as f:
            json.dump(conf, f)
        env = {"NETCONFPATH": confdir, "CNI_PATH": fx.dir, "CNI_CACHE_DIR": fx.tmp + "/cache",
               "CNI_CONTAINERID": CID, "CNI_IFNAME": self.ifname,
               "CAP_ARGS": json.dumps(self.cap_args), "PATH": os.environ.get("PATH", "")}
        args = (["ip", "netns", "exec", fx.h, "env", "-i"] +
                ["%s=%s" % kv for kv in env.items()] + list(wrap) +
                [self.cnitool, cmd.lower(), conf["name"], fx.cpath])
        r = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=300)
        return r.returncode, r.stdout, r.stderr

    def failed_properly(self, rc, out, err, cls):
        """cnitool reports a failure (its own or a plugin's) as one 'cnitool: ...' line;
        when the write that prints it is the one made to fail, it exits 1 silently."""
        return rc != 0 and (err.startswith("cnitool: ") or (cls == "write" and not err))


def hl(fx, subnet, v6=None):
    ranges = [[{"subnet": subnet}]] + ([[{"subnet": v6}]] if v6 else [])
    return {"type": "host-local", "ranges": ranges, "dataDir": fx.tmp + "/ipam"}


def prev(fx, ips, host_if=None):
    ifs = ([{"name": host_if}] if host_if else []) + [{"name": "eth0", "sandbox": fx.cpath}]
    return {"cniVersion": "1.0.0", "interfaces": ifs,
            "ips": [{"address": a, "interface": len(ifs) - 1} for a in ips]}


def container_veth(fx, addr=None, gw=None, host_if="fhv0"):
    # fixed MACs: the pair is made again between runs (bandwidth)
    nslib.sh("ip -n %s link add %s address 02:00:00:00:17:01 type veth peer name eth0 "
             "address 02:00:00:00:17:02 netns %s" % (fx.h, host_if, fx.c))
    nslib.sh("ip -n %s link set %s up" % (fx.h, host_if))
    nslib.sh("ip -n %s link set eth0 up" % fx.c)
    if addr:
        nslib.sh("ip -n %s addr add %s dev eth0" % (fx.c, addr))
    if gw:
        nslib.sh("ip -n %s route add default via %s dev eth0" % (fx.c, gw))


def base(name, t, **kw):
    c = {"cniVersion": "1.0.0", "name": name, "type": t}
    c.update(kw)
    return c


SCENARIOS = [
    Scenario("loopback", "loopback", lambda fx: base("flo", "loopback"), ifname="lo",
             setup=lambda fx: nslib.sh("ip -n %s link set lo down" % fx.c)),
    Scenario("host-local", "host-local",
             lambda fx: base("fhl", "host-local", ipam=hl(fx, "10.66.0.0/24", "fd66::/64"))),
    Scenario("ptp+host-local", "ptp",
             lambda fx: base("fptp", "ptp", ipMasq=True, ipMasqBackend="iptables",
                             ipam=hl(fx, "10.67.0.0/24"))),
    Scenario("bridge+host-local", "bridge",
             lambda fx: base("fbr", "bridge", bridge="fbr0", isGateway=True, ipMasq=True,
                             ipMasqBackend="iptables",
                             ipam=hl(fx, "10.68.0.0/24"))),
    Scenario("portmap", "portmap",
             lambda fx: base("fpm", "portmap", backend="iptables",
                             runtimeConfig={"portMappings": [
                                 {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                                 {"hostPort": 8081, "containerPort": 81, "protocol": "udp"}]},
                             prevResult=prev(fx, ["10.69.0.2/24"], "fhv0"))),
    Scenario("bandwidth", "bandwidth",
             lambda fx: base("fbw", "bandwidth", ingressRate=1000000, ingressBurst=100000,
                             egressRate=1000000, egressBurst=100000,
                             prevResult=prev(fx, ["10.70.0.2/24"], "fhv0")),
             main_link=True),
    Scenario("firewall", "firewall",
             lambda fx: base("ffw", "firewall", backend="iptables", ingressPolicy="same-bridge",
                             dataDir=fx.tmp + "/fw",
                             prevResult=prev(fx, ["10.71.0.2/24", "fd71::2/64"], "fbr9"))),
    Scenario("tuning", "tuning",
             lambda fx: base("ftu", "tuning", mtu=1400, mac="02:11:22:33:44:55", promisc=True,
                             sysctl={"net.ipv4.conf.eth0.rp_filter": "2"},
                             prevResult=prev(fx, ["10.72.0.2/24"])),
             setup=lambda fx: container_veth(fx, "10.72.0.2/24"),
             sysctls=("net.ipv4.conf.eth0.rp_filter",)),
    Scenario("macvlan+host-local", "macvlan",
             lambda fx: base("fmv", "macvlan", master="fm0", mode="bridge",
                             ipam=hl(fx, "10.74.0.0/24", "fd74::/64")),
             setup=lambda fx: nslib.sh("ip -n %s link add fm0 type veth peer name fm0p" % fx.h)),
    Scenario("tap+host-local", "tap",
             lambda fx: base("ftap", "tap", multiQueue=True, mtu=1400, owner=0, group=0,
                             ipam=hl(fx, "10.75.0.0/24"))),
    Scenario("host-device+host-local", "host-device",
             lambda fx: base("fhd", "host-device", device="fhd0",
                             ipam=hl(fx, "10.76.0.0/24")),
             # (fhd1: crashsweep.py's second attachment)
             setup=lambda fx: (nslib.sh("ip -n %s link add fhd0 type veth peer name fhd0p" % fx.h),
                               nslib.sh("ip -n %s addr add 10.77.0.1/24 dev fhd0" % fx.h),
                               nslib.sh("ip -n %s link set fhd0 up" % fx.h),
                               nslib.sh("ip -n %s link add fhd1 type veth peer name fhd1p" % fx.h)),
             ifname="net1"),
    # ipvlan, vlan and dummy: kernels without them skip these by name (run them in the
    # user-mode kernel, docs/reliability.md)
    Scenario("ipvlan+host-local", "ipvlan",
             lambda fx: base("fiv", "ipvlan", master="fiv0", mode="l2",
                             ipam=hl(fx, "10.78.0.0/24", "fd78::/64")),
             setup=lambda fx: nslib.sh("ip -n %s link add fiv0 type veth peer name fiv0p" % fx.h),
             needs=("ipvlan (run in the user-mode kernel)",
                    "sh -c 'ip link add fp0 type veth peer name fp1 && "
                    "ip link add fp2 link fp0 type ipvlan mode l2'")),
    Scenario("vlan+host-local", "vlan",
             lambda fx: base("fvl", "vlan", master="fvl0", vlanId=17, mtu=1400,
                             ipam=hl(fx, "10.79.0.0/24")),
             setup=lambda fx: (nslib.sh("ip -n %s link add fvl0 type veth peer name fvl0p" % fx.h),
                               nslib.sh("ip -n %s link set fvl0 up" % fx.h)),
             needs=("802.1Q VLANs (run in the user-mode kernel)",
                    "sh -c 'ip link add fp0 type veth peer name fp1 && "
                    "ip link add fp2 link fp0 type vlan id 5'")),
    Scenario("dummy+host-local", "dummy",
             lambda fx: base("fdu", "dummy", ipam=hl(fx, "10.80.0.0/24", "fd80::/64")),
             needs=("dummy links (run in the user-mode kernel)", "ip link add fp0 type dummy")),
    # multus with two delegates: ptp (the master, eth0) and bridge (net0), each with
    # host-local in a store of its own. Judged as the chain is, after the runtime's DEL: a
    # failed delegate is undone by DELs that are processes of their own, which the
    # injection (per process) makes fail too ("left for DEL" counts those)
    Scenario("multus", "multus",
             lambda fx: base("fmu", "multus", dataDir=fx.tmp + "/multus", delegates=[
                 {"type": "ptp", "name": "fmu-a", "masterplugin": True, "ipMasq": True,
                  "ipMasqBackend": "iptables", "ipam": hl(fx, "10.81.0.0/24")},
                 {"type": "bridge", "name": "fmu-b", "bridge": "fmu0",
                  "ipam": hl(fx, "10.82.0.0/24")}]),
             runtime_dels=True),
    Scenario("sbr", "sbr",
             lambda fx: base("fsbr", "sbr", prevResult=prev(fx, ["10.73.0.2/24"])),
             setup=lambda fx: container_veth(fx, "10.73.0.2/24", "10.73.0.1")),
    Scenario("static", "static",
             lambda fx: base("fst", "static", ipam={
                 "type": "static", "addresses": [{"address": "10.75.0.2/24",
                                                  "gateway": "10.75.0.1"}],
                 "routes": [{"dst": "0.0.0.0/0"}], "dns": {"nameservers": ["10.75.0.53"]}})),
    Scenario("vrf", "vrf",
             lambda fx: base("fvrf", "vrf", vrfname="fvrf0", table=1001,
                             prevResult=prev(fx, ["10.76.0.2/24"])),
             setup=lambda fx: container_veth(fx, "10.76.0.2/24", "10.76.0.1"),
             needs=("VRF support (run in the user-mode kernel)",
                    "ip link add fvrfprobe type vrf table 9")),
    Scenario("flannel", "flannel",
             lambda fx: base("ffl", "flannel", subnetFile=fx.tmp + "/subnet.env",
                             dataDir=fx.tmp + "/flannel",
                             delegate={"bridge": "ffl0", "ipMasqBackend": "iptables"},
                             ipam={"dataDir": fx.tmp + "/ipam"}),
             setup=lambda fx: open(fx.tmp + "/subnet.env", "w").write(
                 "FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.3.1/24\n"
                 "FLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n")),
    DhcpScenario(),
    UserspaceScenario(),
    DpdkUserspaceScenario(),
    EtcdScenario(),
    ChainScenario("chain", "bridge+portmap+bandwidth+firewall+tuning",
                  lambda fx: {"cniVersion": "1.0.0", "name": "fchain", "plugins": [
                      {"type": "bridge", "bridge": "fch0", "isGateway": True, "ipMasq": True,
                       "ipMasqBackend": "iptables", "ipam": hl(fx, "10.74.0.0/24")},
                      {"type": "portmap", "backend": "iptables",
                       "capabilities": {"portMappings": True}},
                      {"type": "bandwidth", "ingressRate": 1000000, "ingressBurst": 100000,
                       "egressRate": 1000000, "egressBurst": 100000},
                      {"type": "firewall", "backend": "iptables", "dataDir": fx.tmp + "/fw"},
                      {"type": "tuning", "mtu": 1400, "sysctl": {
                          "net.ipv4.conf.eth0.rp_filter": "2"}}]},
                  sysctls=("net.ipv4.conf.eth0.rp_filter",)),
]


def spec_error(rc, out):
    if rc == 0:
        return False
    try:
        e = json.loads(out)
    except ValueError:
        return False
    return isinstance(e, dict) and isinstance(e.get("code"), int) and isinstance(e.get("msg"), str)


def count_calls(fx, cmd, syscalls):
    """Largest number of calls of one of syscalls in one process of a clean run."""
    log = os.path.join(fx.tmp, "strace.log")
    rc, out, err = fx.run(cmd, wrap=["strace", "-f", "-qq", "-o", log, "-e", "trace=" + syscalls])
    if rc:
        print("    clean %s under strace: %s %s" % (cmd, out, err[-500:]))
    counts = {}
    with open(log) as f:
        for line in f:
            m = re.match(r"(\d+)\s+(\w+)\(", line)
            if m:
                counts[m.groups()] = counts.get(m.groups(), 0) + 1
    os.unlink(log)
    return rc, max(counts.values()) if counts else 0


def points(n, k):
    if not k or n <= k:
        return list(range(1, n + 1))
    return sorted({1 + round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [n]


class Sweep:
    def __init__(self, scen, plugdir, classes, k, verbose):
        self.scen, self.plugdir, self.classes, self.k, self.verbose = (
            scen, plugdir, classes, k, verbose)
        self.stats = {"tried": 0, "left": 0, "bad_output": 0, "incomplete": 0, "succeeded": 0,
                      "failed_clean": 0, "del_left": 0, "not_started": 0, "answer_lost": 0,
                      "left_for_del": 0}
        self.findings = []
        self.fx = None
        self.strict_del = STRICT_DEL

    def fresh(self):
        if self.fx:
            self.fx.close()
        self.fx = Fixture(self.scen, self.plugdir)
        rc, out, err = self.fx.run("ADD")
        if rc != 0:
            raise RuntimeError("clean ADD fails: " + out + err)
        # how many firewall lines an ADD leaves in place (rules name the container's
        # address, which moves with host-local's cursor: counted, not compared)
        self.fw_added = len(self.fx.state().get("firewall", []))
        rc, out, err = self.fx.run("DEL")
        if rc != 0:
            raise RuntimeError("clean DEL fails: " + out + err)
        self.baseline_del = self.fx.state()  # what DEL leaves (bandwidth: the veth's qdiscs)
        self.fx.drop_link()
        self.baseline = self.fx.state()
        self.fx.ensure_link()
        self.baseline_link = self.fx.state()  # what a failed ADD must leave

    def settle(self):
        """Back to the baseline after a run: a clean DEL, else a new fixture."""
        self.fx.run("DEL")
        self.fx.drop_link()
        if diff(self.baseline, self.fx.state()):
            self.fresh()

    def note(self, what, kind, d):
        self.findings.append((what, kind, d))
        if self.verbose:
            print("  %s: %s %s" % (what, kind, "; ".join(d[:6])), flush=True)

    def inject(self, cmd, cls, n):
        sc, err = CLASSES[cls]
        return self.fx.run(cmd, wrap=["strace", "-f", "-qq", "-o", "/dev/null",
                                      "-e", "trace=" + sc,
                                      "-e", "inject=%s:error=%s:when=%d" % (sc, err, n)])

    def add_point(self, cls, n):
        what = "ADD %s #%d" % (cls, n)
        rc, out, errout = self.inject("ADD", cls, n)
        self.stats["tried"] += 1
        if rc == 0:
            self.stats["succeeded"] += 1
            # a success must have done the work: an iptables-restore that took a failed
            # read for the end of its batch exits 0 having added nothing
            fw = self.fx.state().get("firewall", [])
            if len(fw) < self.fw_added:
                self.stats["incomplete"] += 1
                self.note(what, "succeeded without all of its rules (%d of %d firewall lines)"
                          % (len(fw), self.fw_added), [])
            rc2, out2, _ = self.fx.run("DEL")
            self.fx.drop_link()
            d = diff(self.baseline, self.fx.state())
            if rc2 != 0 or d:
                self.stats["left"] += 1
                self.note(what, "succeeded, then DEL left", d + [out2])
        elif "error while loading shared libraries" in errout:
            self.stats["not_started"] += 1
        else:
            # an ADD whose answer could not be written was taken back with DEL (skel):
            # it may leave what DEL leaves
            lost = "error writing to stdout" in out
            if lost:
                self.stats["answer_lost"] += 1
            if self.scen.runtime_dels:
                # a runtime answers a failed ADD with DEL (the spec asks it to): the
                # plugins before the failing one are taken back then, not by the ADD
                if diff(self.baseline_link, self.fx.state()):
                    self.stats["left_for_del"] += 1
                rc2, out2, err2 = self.fx.run("DEL")
                self.fx.drop_link()
                if rc2 != 0:
                    self.note(what, "failed, then DEL failed", [out2[:200], err2[-300:]])
                    self.stats["left"] += 1
            now = self.fx.state()
            d = diff(self.baseline if self.scen.runtime_dels else self.baseline_link, now)
            if lost and d:
                # (the message may be a delegate's, an IPAM plugin that could not write its
                # result, and the ADD then undone as a failure: nothing left is right too)
                d = diff(self.baseline_del, now)
            if not self.scen.failed_properly(rc, out, errout, cls):
                self.stats["bad_output"] += 1
                self.note(what, "failed without error JSON (rc %d)" % rc,
                          [out[:200], errout[-300:]])
            if d:
                self.stats["left"] += 1
                self.note(what, "failed and left", d)
            else:
                self.stats["failed_clean"] += 1
        self.settle()

    def del_point(self, cls, n):
        what = "DEL %s #%d" % (cls, n)
        rc, out, errout = self.fx.run("ADD")
        if rc != 0:
            raise RuntimeError("clean ADD fails: " + out + errout)
        rc0, out0, _ = self.inject("DEL", cls, n)
        self.stats["tried"] += 1
        if rc0 == 0 and self.strict_del:
            # a DEL that says it succeeded gets no retry from the runtime: it must have
            # left nothing
            self.fx.drop_link()
            d = diff(self.baseline, self.fx.state())
            if d:
                self.stats["del_left"] += 1
                self.stats["left"] += 1
                self.note(what, "succeeded and left", d)
                self.settle()
                return
        rc, out, _ = self.fx.run("DEL")
        self.fx.drop_link()
        d = diff(self.baseline, self.fx.state())
        if rc != 0 or d:
            self.stats["del_left"] += 1
            self.stats["left"] += 1
            self.note(what, "retried DEL rc %d left" % rc, d + [out[:200]])
            self.settle()

    def run(self, regressions=()):
        self.fresh()
        for verb, cls, n, strict in regressions:
            self.strict_del = STRICT_DEL or strict
            (self.add_point if verb == "ADD" else self.del_point)(cls, n)
        self.strict_del = STRICT_DEL
        for cls in self.classes:
            self.fx.ensure_link()
            sc = CLASSES[cls][0]
            rc, n_add = count_calls(self.fx, "ADD", sc)
            rc2, n_del = count_calls(self.fx, "DEL", sc)
            self.fx.drop_link()
            if rc or rc2:
                raise RuntimeError("clean run under strace fails: %s" % ((rc, rc2),))
            for n in points(n_add, self.k):
                self.add_point(cls, n)
            for n in points(n_del, self.k):
                self.del_point(cls, n)
        self.fx.close()
        return self.stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--classes", default="",
                    help="classes to try (default: %s)" %
                    ",".join(DEFAULT_CLASSES))
    ap.add_argument("--points", type=int, default=0)
    ap.add_argument("--json", default="")
    ap.add_argument("--label", default="")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--regressions", default="")
    ap.add_argument("--cnitool", default="", help="cnitool, for the chain scenario")
    ap.add_argument("--strict-del", action="store_true",
                    help="an injected DEL that reports success must have left nothing")
    ap.add_argument("--dpdk", action="store_true",
                    help="also userspace in server mode, with ovs-vswitchd-dpdk")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    DpdkUserspaceScenario.enabled = a.dpdk
    nslib.need_root()
    if not shutil.which("strace"):
        nslib.skip("no strace")
    probe = nslib.netns("fprobe")
    nslib.cleanup()
    del probe
    ChainScenario.cnitool = a.cnitool or None
    global STRICT_DEL
    STRICT_DEL = a.strict_del
    only = [s for s in a.only.split(",") if s]
    classes = [c for c in a.classes.split(",") if c]
    for c in classes:
        if c not in CLASSES:
            ap.error("no class %s (%s)" % (c, ",".join(CLASSES)))
    regs = {}
    if a.regressions:
        with open(a.regressions) as f:
            for line in f:
                w = line.split("#")[0].split()
                if w:
                    regs.setdefault(w[0], []).append((w[1], w[2], int(w[3]),
                                                      w[4:5] == ["strict"]))
    report, bad = {}, 0
    t0 = time.time()
    stop_servers_at_exit()
    try:
        bad = sweep_all(a, only, classes, regs, report)
    finally:
        stop_servers()
    print("fault sweep %s: %d scenarios, %d points, %d findings, %.0fs" % (
        a.label, len(report), sum(s["tried"] for s in report.values()), bad, time.time() - t0))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"label": a.label, "classes": classes or list(DEFAULT_CLASSES),
                       "points": a.points, "scenarios": report}, f, indent=1)
    sys.exit(1 if bad and not a.report_only else 0)


def sweep_all(a, only, classes, regs, report):
    """Every scenario asked for; the number of findings (report: per scenario)."""
    bad = 0
    for scen in SCENARIOS:
        if only and scen.name not in only and scen.plugin not in only:
            continue
        if getattr(scen, "enabled", True) is False:
            print("%-18s skipped: only with --dpdk" % scen.name)
            continue
        if not scen.available(a.plugins):
            print("%-18s skipped: no %s" % (scen.name, scen.plugin))
            continue
        lacks = scen.kernel_lacks()
        if lacks:
            print("%-18s skipped: no %s here" % (scen.name, lacks))
            continue
        t = time.time()
        cls = classes or list(DEFAULT_CLASSES)
        sw = Sweep(scen, a.plugins, cls, a.points, a.verbose)
        try:
            st = sw.run(regs.get(scen.name, ()))
        except (RuntimeError, subprocess.SubprocessError) as e:
            print("%-18s ERROR %s" % (scen.name, e))
            if sw.fx:
                sw.fx.close()
            bad += 1
            continue
        st["seconds"] = round(time.time() - t, 1)
        st["findings"] = [" | ".join([w, k] + d[:8]) for w, k, d in sw.findings]
        report[scen.name] = st
        print("%-18s %4d points tried, %3d left something behind, %3d failed without error "
              "JSON, %d succeeded without all of their rules (%d succeeded, %d failed cleanly, "
              "%d of them answer lost, %d did not start%s) "
              "%.0fs" % (scen.name, st["tried"], st["left"], st["bad_output"], st["incomplete"],
                         st["succeeded"], st["failed_clean"], st["answer_lost"],
                         st["not_started"],
                         ", %d left for the runtime's DEL" % st["left_for_del"]
                         if scen.runtime_dels else "", st["seconds"]), flush=True)
        if not a.verbose:
            for f in st["findings"][:5]:
                print("    " + f[:600])
        bad += st["left"] + st["bad_output"] + st["incomplete"]
    return bad


if __name__ == "__main__":
    main()
