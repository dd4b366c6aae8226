# SPDX-License-Identifier: Apache-2.0
"""multus and flannel in throw-away namespaces.

  test_multus.py integration -- multus (ptp + bridge + flannel master) and flannel alone,
                                run directly and through our cnitool; errors and rollback
  test_multus.py interop     -- the same multus scenario through the reference Go libcni

Environment: CNI_PLUGINS_BIN (our plugins), CNITOOL (may be empty), GODIR + GO_DRIVER_SRC
(where to build the Go libcni driver of tests/interop/api), MULTUS_TEST_WRAP (a command
to run the directly driven plugin under, e.g. valgrind)."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nslib as m  # noqa: E402

BIN = os.environ.get("CNI_PLUGINS_BIN", "")
CNITOOL = os.environ.get("CNITOOL", "")
TMP = m.tmpdir()
# e.g. "valgrind -q --leak-check=full --error-exitcode=99": the plugin run directly under it
WRAP = os.environ.get("MULTUS_TEST_WRAP", "").split()
FLANNEL_ENV = ("FLANNEL_NETWORK=10.92.0.0/16\nFLANNEL_SUBNET=10.92.3.1/24\n"
               "FLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n")


def fresh(tag):
    d = os.path.join(TMP, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write_env(d, text=FLANNEL_ENV):
    p = os.path.join(d, "subnet.env")
    with open(p, "w") as f:
        f.write(text)
    return p


def multus_conf(d, bridge_name, second=None):
    """The issue's config, our delegates, every data dir under d."""
    ipam = lambda sub, n: {"type": "host-local", "dataDir": os.path.join(d, "ipam"),  # noqa
                           "ranges": [[{"subnet": sub}]]}
    second = second or {"cniVersion": "0.3.1", "type": "bridge", "name": "net-b",
                        "bridge": bridge_name, "ipam": ipam("10.91.2.0/24", "b")}
    return {"cniVersion": "1.0.0", "name": "multus-demo-network", "type": "multus",
            "dataDir": os.path.join(d, "multus"),
            "delegates": [
                {"cniVersion": "0.3.1", "type": "ptp", "name": "net-a",
                 # the default route is dropped (only the master's counts), the other kept
                 "ipam": dict(ipam("10.91.1.0/24", "a"),
                              routes=[{"dst": "0.0.0.0/0"}, {"dst": "10.93.0.0/16"}])},
                second,
                {"type": "flannel", "name": "control-network", "masterplugin": True,
                 "subnetFile": write_env(d), "dataDir": os.path.join(d, "flannel"),
                 "ipam": {"dataDir": os.path.join(d, "ipam")},
                 "delegate": {"isDefaultGateway": True, "bridge": bridge_name + "f"}}]}


def run(driver, verb, host, cont, conf, d, cid="ctr1"):
    """verb through driver: plugin (multus directly), cnitool or go (a conflist)."""
    if driver == "plugin":
        rc, out, err = m.run_plugin(os.path.join(BIN, conf["type"]), verb.upper(), host, conf,
                                    cid=cid, netns_path=f"/run/netns/{cont}",
                                    env_extra={"CNI_PATH": BIN}, wrap=WRAP)
        return rc, out + err
    netdir = os.path.join(d, "net.d")
    os.makedirs(netdir, exist_ok=True)
    lst = {"cniVersion": conf["cniVersion"], "name": conf["name"],
           "plugins": [{k: v for k, v in conf.items() if k not in ("cniVersion", "name")}]}
    path = os.path.join(netdir, "10-multus.conflist")
    with open(path, "w") as f:
        json.dump(lst, f)
    cache = os.path.join(d, "cache")
    if driver == "cnitool":
        cmd = ["ip", "netns", "exec", host, "env", f"NETCONFPATH={netdir}", f"CNI_PATH={BIN}",
               f"CNI_CACHE_DIR={cache}", f"CNI_CONTAINERID={cid}", CNITOOL, verb, conf["name"],
               f"/run/netns/{cont}"]
    else:
        cmd = ["ip", "netns", "exec", host, go_driver(), verb, path, "-p", BIN, "-c", cache,
               "-i", cid, "-f", "eth0", "-n", f"/run/netns/{cont}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def go_driver():
    god = os.environ["GODIR"]
    exe = os.path.join(god, "go-driver")
    if not os.path.exists(exe):
        os.makedirs(god, exist_ok=True)
        shutil.copy(os.environ["GO_DRIVER_SRC"], god)
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
                   GOCACHE=os.path.join(god, "cache"), GOFLAGS="")
        r = subprocess.run(["go", "build", "-o", "go-driver", "go_driver.go"], cwd=god,
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("cannot build the Go driver: " + r.stderr)
    return exe


def addrs(ns, dev):
    r = m.sh(f"ip -n {ns} -j addr show dev {dev}", check=False)
    if r.returncode != 0:
        return None
    return [a["local"] for i in json.loads(r.stdout) for a in i["addr_info"]
            if a["family"] == "inet"]


def routes(ns):
    return json.loads(m.sh(f"ip -n {ns} -j route show").stdout)


def ipam_files(d):
    p = os.path.join(d, "ipam")
    out = []
    for root, _, files in os.walk(p):
        out += [f for f in files if f[0].isdigit() or ":" in f]  # named by the address
    return out


def nat_rules(ns):
    ipt = "\n".join(sum(m.saved(ns, "nat"), []))
    nft = m.sh(f"ip netns exec {ns} nft list ruleset", check=False).stdout
    return ipt + nft


def json_in(out):
    start = out.find("{")
    return json.loads(out[start:out.rfind("}") + 1])


def scenario(driver):
    d = fresh("scn-" + driver)
    host, cont = m.netns("mh"), m.netns("mc")
    br = "cnimb%d" % (os.getpid() % 1000)
    conf = multus_conf(d, br)
    rc, out = run(driver, "add", host, cont, conf, d)
    m.expect(rc == 0, f"{driver} ADD failed: {out}")
    a0, n0, n1 = addrs(cont, "eth0"), addrs(cont, "net0"), addrs(cont, "net1")
    m.expect(a0 and a0[0].startswith("10.92.3."), f"eth0 addresses {a0}")
    m.expect(n0 and n0[0].startswith("10.91.1."), f"net0 (ptp) addresses {n0}")
    m.expect(n1 and n1[0].startswith("10.91.2."), f"net1 (bridge) addresses {n1}")
    defaults = [r for r in routes(cont) if r["dst"] == "default"]
    m.expect(len(defaults) == 1 and defaults[0]["dev"] == "eth0" and
             defaults[0].get("gateway") == "10.92.3.1", f"default routes {defaults}")
    m.expect(any(r["dst"] == "10.92.0.0/16" and r["dev"] == "eth0" for r in routes(cont)),
             "no route to the flannel network")
    m.expect(any(r["dst"] == "10.93.0.0/16" and r["dev"] == "net0" for r in routes(cont)),
             "the non-master's own route is missing")
    mtu = json.loads(m.sh(f"ip -n {cont} -j link show eth0").stdout)[0]["mtu"]
    m.expect(mtu == 1400, f"eth0 mtu {mtu}")
    if driver != "cnitool" or "{" in out:
        res = json_in(out)
        ips = [i["address"] for i in res.get("ips", [])]
        m.expect(ips == [a0[0] + "/24"], f"result is not the master's: {ips}")
    m.expect(len(ipam_files(d)) == 3, f"IPAM leases {ipam_files(d)}")
    if driver != "go":  # CHECK through the runtime's cached result
        rc, out = run(driver, "check", host, cont, conf, d) if driver == "cnitool" else (0, "")
        m.expect(rc == 0, f"CHECK failed: {out}")
    state = os.listdir(os.path.join(d, "multus"))
    m.expect(len(state) == 1, f"multus state {state}")
    # DEL works from the saved delegate list even though the config lost its delegates.
    broken = dict(conf, delegates=[])
    rc, out = run(driver, "del", host, cont, broken if driver == "plugin" else conf, d)
    m.expect(rc == 0, f"DEL failed: {out}")
    for dev in ("eth0", "net0", "net1"):
        m.expect(addrs(cont, dev) is None, f"{dev} still there after DEL")
    m.expect(ipam_files(d) == [], f"IPAM leases left {ipam_files(d)}")
    m.expect(os.listdir(os.path.join(d, "multus")) == [], "multus state left")
    m.expect(os.listdir(os.path.join(d, "flannel")) == [], "flannel state left")
    rc, out = run(driver, "del", host, cont, conf, d)
    m.expect(rc == 0, f"second DEL failed: {out}")


def test_multus_direct():
    scenario("plugin")


def test_multus_cnitool():
    if not CNITOOL:
        print("  (no cnitool built)")
        return
    scenario("cnitool")


def test_multus_go_libcni():
    scenario("go")


def test_multus_rollback():
    d = fresh("rollback")
    host, cont = m.netns("mh"), m.netns("mc")
    # A link that is not a bridge where the bridge delegate wants its bridge: it fails
    # after ptp (net0) was added, which must be undone.
    m.sh(f"ip -n {host} link add cnimbx type veth peer name cnimby")
    conf = multus_conf(d, "cnimbx")
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc != 0, "ADD succeeded with a broken second delegate")
    e = json.loads(out[:out.rfind("}") + 1])
    m.expect("bridge ADD on net1" in e["msg"], f"error {e}")
    m.expect(addrs(cont, "net0") is None, "net0 (ptp) left behind")
    m.expect(addrs(cont, "eth0") is None, "eth0 added after a failure")
    m.expect(ipam_files(d) == [], f"IPAM leases left {ipam_files(d)}")
    m.expect(os.listdir(os.path.join(d, "multus")) == [], "multus state left")
    ptp_veths = [l["ifname"] for l in json.loads(m.sh(f"ip -n {host} -j link").stdout)
                 if l["ifname"].startswith("veth")]
    m.expect(ptp_veths == [], f"host veths left {ptp_veths}")


def test_multus_rollback_del_fails():
    """A failed ADD whose undoing fails too (ptp's DEL, once) keeps the saved list, and the
    runtime's DEL then undoes exactly what was added."""
    d = fresh("rollback-del")
    host, cont = m.netns("mh"), m.netns("mc")
    m.sh(f"ip -n {host} link add cnimbr type veth peer name cnimbs")
    once = os.path.join(d, "fail-ptp-del")
    open(once, "w").close()
    sd = os.path.join(d, "bin")
    os.makedirs(sd)
    for name in os.listdir(BIN):
        os.symlink(os.path.join(BIN, name), os.path.join(sd, name))
    os.unlink(os.path.join(sd, "ptp"))
    with open(os.path.join(sd, "ptp"), "w") as f:
        f.write(f'#!/bin/sh\nif [ "$CNI_COMMAND" = DEL ] && rm {once} 2>/dev/null; then\n'
                '  cat >/dev/null; echo \'{"cniVersion": "0.3.1", "code": 11, '
                '"msg": "ptp DEL made to fail"}\'; exit 1\nfi\n'
                f'exec {os.path.join(BIN, "ptp")} "$@"\n')
    os.chmod(os.path.join(sd, "ptp"), 0o755)
    conf = multus_conf(d, "cnimbr")
    env = {"CNI_PATH": sd}
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "ADD", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc != 0 and "bridge ADD on net1" in out, f"ADD with a broken bridge: {rc} {out}")
    m.expect(not os.path.exists(once), "ptp's DEL was not run by the rollback")
    m.expect(addrs(cont, "net0") is not None, "ptp's failed DEL removed net0 all the same")
    m.expect(os.listdir(os.path.join(d, "multus")) != [],
             "saved list removed although undoing the ADD failed")
    # the runtime's DEL, with a config that no longer names ptp: the saved list does
    conf2 = multus_conf(d, "cnimbr")
    conf2["delegates"].pop(0)
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "DEL", host, conf2,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"runtime's DEL: {out}")
    m.expect(addrs(cont, "net0") is None and ipam_files(d) == [],
             f"runtime's DEL left net0 or leases {ipam_files(d)}")
    m.expect(os.listdir(os.path.join(d, "multus")) == [], "saved list left after DEL")


def test_multus_config_errors():
    d = fresh("errs")
    host, cont = m.netns("mh"), m.netns("mc")
    base = multus_conf(d, "cnimbe")
    two = json.loads(json.dumps(base))
    two["delegates"][0]["masterplugin"] = True
    none = json.loads(json.dumps(base))
    del none["delegates"][2]["masterplugin"]
    gw = json.loads(json.dumps(base))
    gw["delegates"][0]["isDefaultGateway"] = True
    cases = [(two, "masterplugin"), (none, "masterplugin"), (gw, "isDefaultGateway"),
             (dict(base, delegates="x"), "delegates: expected array, got string"),
             (dict(base, delegates=[{"name": "x"}, base["delegates"][2]]), "missing type"),
             (dict(base, delegates=[]), "delegates: empty")]
    for c, want in cases:
        rc, out = run("plugin", "add", host, cont, c, d)
        e = json.loads(out[:out.rfind("}") + 1])
        m.expect(rc != 0 and e["code"] == 7 and want in e["msg"], f"{want}: {out}")
    m.expect(not os.path.exists(os.path.join(d, "multus")) or
             os.listdir(os.path.join(d, "multus")) == [], "state left after errors")
    m.expect(ipam_files(d) == [], "IPAM leases after errors")


def test_multus_capabilities():
    """runtimeConfig reaches the delegates that declare the capability, only those."""
    d = fresh("caps")
    host, cont = m.netns("mh"), m.netns("mc")
    conf = multus_conf(d, "cnimbc")
    conf["runtimeConfig"] = {"mac": "c2:11:22:33:44:55"}
    conf["delegates"][1]["capabilities"] = {"mac": True}
    conf["delegates"][2]["capabilities"] = {"mac": False}  # flannel would pass it on
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    macs = {dev: json.loads(m.sh(f"ip -n {cont} -j link show {dev}").stdout)[0]["address"]
            for dev in ("eth0", "net0", "net1")}
    m.expect(macs["net1"] == "c2:11:22:33:44:55", f"net1 mac {macs}")
    m.expect(macs["eth0"] != "c2:11:22:33:44:55" and macs["net0"] != "c2:11:22:33:44:55",
             f"mac reached a delegate without the capability {macs}")
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0, f"DEL: {out}")


def test_multus_del_best_effort():
    """A delegate whose DEL fails does not stop the others; its error is reported and the
    saved list kept for the retry."""
    d = fresh("besteffort")
    host, cont = m.netns("mh"), m.netns("mc")
    conf = multus_conf(d, "cnimbd")
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    sdir = os.path.join(d, "multus")
    spath = os.path.join(sdir, os.listdir(sdir)[0])
    state = json.load(open(spath))
    state["delegates"][1]["type"] = "nosuchplugin"
    json.dump(state, open(spath, "w"))
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc != 0 and "nosuchplugin" in out, f"DEL with a broken delegate: {rc} {out}")
    m.expect(addrs(cont, "eth0") is None and addrs(cont, "net0") is None,
             "the other delegates' DEL did not run")
    m.expect(os.path.exists(spath), "saved list removed after a failed DEL")
    state["delegates"][1]["type"] = "bridge"
    json.dump(state, open(spath, "w"))
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0 and not os.path.exists(spath), f"retried DEL: {out}")
    m.expect(addrs(cont, "net1") is None and ipam_files(d) == [], "retried DEL left things")


def shim_dir(d, log, confs=None):
    """A CNI_PATH whose plugins log "<name> <verb> <ifname>" and run ours; with confs, each
    call's stdin is also kept there as <name>-<verb>-<ifname>-<pid>.json."""
    sd = os.path.join(d, "shim")
    os.makedirs(sd, exist_ok=True)
    for name in os.listdir(BIN):
        p = os.path.join(sd, name)
        run = f'exec {os.path.join(BIN, name)} "$@"\n'
        if confs:
            os.makedirs(confs, exist_ok=True)
            run = (f'f="{confs}/{name}-$CNI_COMMAND-$CNI_IFNAME-$$.json"\ncat >"$f"\n'
                   f'exec {os.path.join(BIN, name)} "$@" <"$f"\n')
        with open(p, "w") as f:
            f.write(f'#!/bin/sh\necho "{name} $CNI_COMMAND $CNI_IFNAME" >>{log}\n' + run)
        os.chmod(p, 0o755)
    return sd


def shim_confs(confs, prefix):
    """The configs the shim saw for calls named prefix (e.g. "bridge-ADD-eth0")."""
    return [json.load(open(os.path.join(confs, f))) for f in sorted(os.listdir(confs))
            if f.startswith(prefix + "-")]


def test_multus_order():
    """ADD in list order, DEL in reverse; a failed ADD undone newest first."""
    d = fresh("order")
    host, cont = m.netns("mh"), m.netns("mc")
    log = os.path.join(d, "calls")
    sd = shim_dir(d, log)
    conf = multus_conf(d, "cnimbo")
    env = {"CNI_PATH": sd}

    def calls(verb):
        lines = open(log).read().split("\n") if os.path.exists(log) else []
        os.unlink(log) if os.path.exists(log) else None
        # multus's own calls (flannel's bridge on eth0 is flannel's delegate)
        return [l for l in lines if l.split(" ")[0] in ("ptp", "bridge", "flannel") and
                not (l.startswith("bridge") and l.endswith("eth0"))]

    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "ADD", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"ADD: {out}")
    got = calls("ADD")
    m.expect(got == ["ptp ADD net0", "bridge ADD net1", "flannel ADD eth0"], f"ADD order {got}")
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "DEL", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"DEL: {out}")
    got = calls("DEL")
    m.expect(got == ["flannel DEL eth0", "bridge DEL net1", "ptp DEL net0"], f"DEL order {got}")
    # the third fails (no subnet.env): flannel's own DEL, then bridge, then ptp
    os.unlink(conf["delegates"][2]["subnetFile"])
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "ADD", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc != 0 and "subnet.env" in out, f"ADD without subnet.env: {out}")
    got = calls("ADD")
    m.expect(got == ["ptp ADD net0", "bridge ADD net1", "flannel ADD eth0", "flannel DEL eth0",
                     "bridge DEL net1", "ptp DEL net0"], f"rollback order {got}")
    m.expect(ipam_files(d) == [] and addrs(cont, "net1") is None, "rollback left things")


def test_multus_gc_status():
    """GC reaches the 1.1.0 delegates, each seeing the attachments under its own ifname."""
    d = fresh("gc")
    host, cont = m.netns("mh"), m.netns("mc")
    conf = multus_conf(d, "cnimbg")
    conf["cniVersion"] = "1.1.0"
    for dl in conf["delegates"][:2]:
        dl["cniVersion"] = "1.1.0"
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    m.expect(len(ipam_files(d)) == 3, f"leases {ipam_files(d)}")
    keep = dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "ctr1", "ifname": "eth0"}]})
    rc, out = run("plugin", "gc", host, cont, keep, d)
    m.expect(rc == 0, f"GC: {out}")
    m.expect(len(ipam_files(d)) == 3, f"GC released a live attachment's lease: {ipam_files(d)}")
    rc, out = run("plugin", "status", host, cont, conf, d)
    m.expect(rc == 0, f"STATUS: {out}")
    rc, out = run("plugin", "gc", host, cont, dict(conf, **{"cni.dev/valid-attachments": []}), d)
    m.expect(rc == 0, f"GC: {out}")
    # every lease is stale now, flannel's too (its GC goes to its bridge's host-local)
    m.expect(len(ipam_files(d)) == 0, f"GC left stale leases: {ipam_files(d)}")
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0, f"DEL: {out}")


def test_multus_check():
    """CHECK with every delegate at 1.0.0: each is checked (with its own ADD result), the
    master's flannel passing it on to its bridge; a delegate's interface removed fails
    CHECK naming that delegate."""
    d = fresh("check")
    host, cont = m.netns("mh"), m.netns("mc")
    log = os.path.join(d, "calls")
    sd = shim_dir(d, log, os.path.join(d, "confs"))
    conf = multus_conf(d, "cnimbk")
    for dl in conf["delegates"]:
        dl["cniVersion"] = "1.0.0"
    env = {"CNI_PATH": sd}
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "ADD", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"ADD: {out} {err}")
    os.unlink(log)
    chk = dict(conf, prevResult=json.loads(out))
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "CHECK", host, chk,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"CHECK: {out} {err}")
    got = [l for l in open(log).read().split("\n") if l and not l.startswith("host-local")]
    m.expect(got == ["ptp CHECK net0", "bridge CHECK net1", "flannel CHECK eth0",
                     "bridge CHECK eth0"], f"CHECK calls {got}")
    # each delegate is checked against its own result
    for name, ifn, net in (("ptp", "net0", "10.91.1."), ("bridge", "net1", "10.91.2."),
                           ("flannel", "eth0", "10.92.3.")):
        sent = shim_confs(os.path.join(d, "confs"), f"{name}-CHECK-{ifn}")
        m.expect(sent and sent[0]["prevResult"]["ips"][0]["address"].startswith(net),
                 f"{name} CHECK prevResult {sent}")
    m.sh(f"ip -n {cont} link del net1")
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "CHECK", host, chk,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc != 0 and "bridge CHECK on net1" in json_in(out)["msg"],
             f"CHECK with net1 gone: {rc} {out}")
    rc, out, err = m.run_plugin(os.path.join(BIN, "multus"), "DEL", host, conf,
                                netns_path=f"/run/netns/{cont}", env_extra=env)
    m.expect(rc == 0, f"DEL: {out} {err}")


def test_flannel_runtime_config():
    """flannel hands its runtimeConfig (portMappings, bandwidth: what a runtime fills in
    from the capabilities) to its delegate, on ADD and on DEL."""
    d = fresh("flannel-rc")
    host, cont = m.netns("fh"), m.netns("fc")
    confs = os.path.join(d, "confs")
    sd = shim_dir(d, os.path.join(d, "calls"), confs)
    conf = flannel_conf(d)
    rcfg = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
            "bandwidth": {"ingressRate": 1000000, "ingressBurst": 100000}}
    conf["runtimeConfig"] = rcfg
    for verb in ("ADD", "DEL"):
        rc, out, err = m.run_plugin(os.path.join(BIN, "flannel"), verb, host, conf,
                                    netns_path=f"/run/netns/{cont}", env_extra={"CNI_PATH": sd})
        m.expect(rc == 0, f"{verb}: {out} {err}")
        sent = shim_confs(confs, f"bridge-{verb}-eth0")
        m.expect(len(sent) == 1 and sent[0].get("runtimeConfig") == rcfg,
                 f"the bridge's {verb} config: {sent}")
    m.expect(addrs(cont, "eth0") is None and ipam_files(d) == [], "DEL left things")


def flannel_conf(d, env_text=FLANNEL_ENV):
    return {"cniVersion": "1.0.0", "name": "fl", "type": "flannel",
            "subnetFile": write_env(d, env_text), "dataDir": os.path.join(d, "flannel"),
            "ipam": {"dataDir": os.path.join(d, "ipam")},
            "delegate": {"bridge": "cniflt%d" % (os.getpid() % 1000)}}


def test_flannel():
    d = fresh("flannel")
    host, cont = m.netns("fh"), m.netns("fc")
    conf = flannel_conf(d)
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    a = addrs(cont, "eth0")
    m.expect(a and a[0].startswith("10.92.3.") and a[0] != "10.92.3.1", f"address {a}")
    mtu = json.loads(m.sh(f"ip -n {cont} -j link show eth0").stdout)[0]["mtu"]
    m.expect(mtu == 1400, f"mtu {mtu}")
    rs = routes(cont)
    m.expect(any(r["dst"] == "10.92.0.0/16" and r.get("gateway") == "10.92.3.1" for r in rs),
             f"routes {rs}")
    m.expect(not any(r["dst"] == "default" for r in rs), "default route without asking")
    br = conf["delegate"]["bridge"]
    m.expect("10.92.3.1" in str(addrs(host, br)), f"bridge gateway {addrs(host, br)}")
    m.expect("MASQUERADE" in nat_rules(host) or "masquerade" in nat_rules(host),
             "no masquerade rules for FLANNEL_IPMASQ=false")
    saved = os.path.join(d, "flannel", "ctr1")
    dc = json.load(open(saved))
    m.expect(dc["type"] == "bridge" and dc["isGateway"] is True and dc["mtu"] == 1400 and
             dc["ipMasq"] is True and dc["ipam"]["ranges"] == [[{"subnet": "10.92.3.0/24"}]],
             f"saved delegate {dc}")
    os.unlink(os.path.join(d, "subnet.env"))
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0, f"DEL without subnet.env: {out}")
    m.expect(not os.path.exists(saved), "saved state left")
    m.expect(addrs(cont, "eth0") is None, "eth0 left")
    m.expect(ipam_files(d) == [], "lease left")
    nat = nat_rules(host)
    m.expect("10.92.3" not in nat, f"masquerade rules left: {nat}")
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0, f"second DEL: {out}")


def test_flannel_gc_status():
    """GC goes to the delegate (bridge, then its host-local): a stale attachment's lease
    and saved config go, a live one's stay; without subnet.env a saved delegate config
    serves. STATUS asks the delegate, and fails with 50 without a flannel lease."""
    d = fresh("flannel-gc")
    host = m.netns("fh")
    conf = flannel_conf(d)
    conf["cniVersion"] = "1.1.0"
    got = {}
    for cid in ("ctrA", "ctrB"):
        cont = m.netns("fc")
        rc, out = run("plugin", "add", host, cont, conf, d, cid=cid)
        m.expect(rc == 0, f"ADD {cid}: {out}")
        got[cid] = json_in(out)["ips"][0]["address"].split("/")[0]
    m.expect(sorted(ipam_files(d)) == sorted(got.values()), f"leases {ipam_files(d)} {got}")
    saved = lambda: sorted(os.listdir(os.path.join(d, "flannel")))  # noqa: E731
    m.expect(saved() == ["ctrA", "ctrB"], f"saved configs {saved()}")
    # another flannel network's saved config in the same dataDir: neither used nor removed
    other = dict(json.load(open(os.path.join(d, "flannel", "ctrA"))), name="other")
    other["ipam"] = dict(other["ipam"], dataDir=os.path.join(d, "other-ipam"))
    json.dump(other, open(os.path.join(d, "flannel", "ctrX"), "w"))
    keep = dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "ctrA", "ifname": "eth0"}]})
    rc, out = run("plugin", "gc", host, host, keep, d, cid="")
    m.expect(rc == 0, f"GC: {out}")
    m.expect(ipam_files(d) == [got["ctrA"]], f"after GC keeping ctrA: {ipam_files(d)} {got}")
    m.expect(saved() == ["ctrA", "ctrX"], f"saved configs after GC {saved()}")
    rc, out = run("plugin", "status", host, host, conf, d, cid="")
    m.expect(rc == 0, f"STATUS: {out}")
    os.unlink(conf["subnetFile"])
    rc, out = run("plugin", "status", host, host, conf, d, cid="")
    m.expect(rc != 0 and json_in(out)["code"] == 50 and "subnet.env" in json_in(out)["msg"],
             f"STATUS without subnet.env: {out}")
    rc, out = run("plugin", "gc", host, host, dict(conf, **{"cni.dev/valid-attachments": []}),
                  d, cid="")
    m.expect(rc == 0, f"GC without subnet.env: {out}")
    m.expect(ipam_files(d) == [] and saved() == ["ctrX"], f"left: {ipam_files(d)} {saved()}")


def test_flannel_node_masquerades():
    d = fresh("flannel-masq")
    host, cont = m.netns("fh"), m.netns("fc")
    conf = flannel_conf(d, FLANNEL_ENV.replace("IPMASQ=false", "IPMASQ=true"))
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    m.expect("10.92.3" not in nat_rules(host), "masquerading though flannel does")
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0, f"DEL: {out}")


def test_flannel_dual_stack():
    d = fresh("flannel-v6")
    host, cont = m.netns("fh"), m.netns("fc")
    conf = flannel_conf(d, FLANNEL_ENV + "FLANNEL_IPV6_NETWORK=fd92::/48\n"
                        "FLANNEL_IPV6_SUBNET=fd92:0:0:3::1/64\n")
    rc, out = run("plugin", "add", host, cont, conf, d)
    m.expect(rc == 0, f"ADD: {out}")
    res = json.loads(out[:out.rfind("}") + 1])
    ips = [i["address"] for i in res["ips"]]
    m.expect(len(ips) == 2 and ips[0].startswith("10.92.3.") and
             ips[1].startswith("fd92:0:0:3::"), f"result ips {ips}")
    v6 = json.loads(m.sh(f"ip -n {cont} -6 -j route show").stdout)
    m.expect(any(r["dst"] == "fd92::/48" for r in v6), f"no route to fd92::/48: {v6}")
    m.expect(len(ipam_files(d)) == 2, f"leases {ipam_files(d)}")
    dc = json.load(open(os.path.join(d, "flannel", "ctr1")))
    m.expect(dc["ipam"]["ranges"][1] == [{"subnet": "fd92:0:0:3::/64"}], f"ranges {dc}")
    rc, out = run("plugin", "del", host, cont, conf, d)
    m.expect(rc == 0 and ipam_files(d) == [], f"DEL: {out} {ipam_files(d)}")


def test_flannel_errors():
    d = fresh("flannel-errs")
    host, cont = m.netns("fh"), m.netns("fc")
    cases = [(FLANNEL_ENV.replace("FLANNEL_SUBNET=10.92.3.1/24\n", ""), "missing FLANNEL_SUBNET"),
             (FLANNEL_ENV.replace("1400", "big"), "FLANNEL_MTU: invalid MTU: big"),
             (FLANNEL_ENV.replace("IPMASQ=false", "IPMASQ=maybe"), "FLANNEL_IPMASQ"),
             (FLANNEL_ENV.replace("10.92.0.0/16", "10.92.0.0/99"),
              "FLANNEL_NETWORK: invalid CIDR address: 10.92.0.0/99")]
    for text, want in cases:
        rc, out = run("plugin", "add", host, cont, flannel_conf(d, text), d)
        e = json.loads(out[:out.rfind("}") + 1])
        m.expect(rc != 0 and want in e["msg"], f"{want}: {out}")
    c = flannel_conf(d)
    c["subnetFile"] = os.path.join(d, "absent.env")
    rc, out = run("plugin", "add", host, cont, c, d)
    m.expect(rc != 0 and "absent.env" in out, f"missing subnetFile: {out}")
    rc, out = run("plugin", "add", host, cont, dict(c, delegate={"type": "flannel"}), d)
    m.expect(rc != 0 and "flannel cannot delegate to itself" in out, out)
    rc, out = run("plugin", "add", host, cont, dict(c, delegate=[]), d)
    m.expect(rc != 0 and "delegate: expected object, got array" in out, out)
    m.expect(not os.path.exists(os.path.join(d, "flannel")) or
             os.listdir(os.path.join(d, "flannel")) == [], "state after errors")
    m.expect(addrs(cont, "eth0") is None, "eth0 after errors")


def main():
    m.need_root()
    kind = sys.argv[1] if len(sys.argv) > 1 else "integration"
    r = m.Runner()
    try:
        if kind == "interop":
            if not shutil.which("go") or not os.path.isdir(
                    "/usr/share/gocode/src/github.com/containernetworking/cni"):
                m.skip("Go or golang-github-appc-cni-dev missing")
            r.case(test_multus_go_libcni)
        else:
            for t in (test_multus_direct, test_multus_cnitool, test_multus_rollback,
                      test_multus_rollback_del_fails,
                      test_multus_config_errors, test_multus_capabilities, test_multus_del_best_effort, test_multus_order,
                      test_multus_gc_status, test_multus_check,
                      test_flannel, test_flannel_runtime_config, test_flannel_gc_status,
                      test_flannel_node_masquerades, test_flannel_dual_stack, test_flannel_errors):
                r.case(t)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
