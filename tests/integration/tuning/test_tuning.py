# SPDX-License-Identifier: Apache-2.0
"""tuning plugin tests in throw-away namespaces.

  test_tuning.py integration  -- our plugin alone (ADD/CHECK/DEL/GC/STATUS, errors, allow-list)
  test_tuning.py interop      -- same configs through the reference /usr/lib/cni/tuning and
                                 ours: results, link attributes, sysctls, backup files; and
                                 cross DEL (one's ADD undone by the other's DEL)

Environment: TUNING_PLUGIN (ours), TUNING_ALLOWLIST_PLUGIN + TUNING_ALLOWLIST_FILE (the
test-only build reading its allow-list from that file)."""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metatest as m  # noqa: E402

OURS = os.environ.get("TUNING_PLUGIN", "")
ALLOW_PLUGIN = os.environ.get("TUNING_ALLOWLIST_PLUGIN", "")
ALLOW_FILE = os.environ.get("TUNING_ALLOWLIST_FILE", "")
REF = m.REF_DIR + "/tuning"
TMP = tempfile.mkdtemp(prefix="cni-tuning-test-")


def setup():
    a, b = m.netns(), m.netns()
    m.veth(a, b, addrs=["10.10.0.2/24"], peer_addrs=["10.10.0.1/24"])
    return a


def conf(ns, version="1.0.0", data_dir=None, **keys):
    c = {"cniVersion": version, "name": "tnet", "type": "tuning",
         "dataDir": data_dir or os.path.join(TMP, "data"),
         "prevResult": m.prev_result(ns, version=version)}
    c.update(keys)
    return c


def backup(c, cid="ctr1", ifname="eth0"):
    p = os.path.join(c["dataDir"], "%s_%s.json" % (cid, ifname))
    return open(p).read() if os.path.exists(p) else None


def err_of(out):
    try:
        e = json.loads(out)
        return e.get("code"), e.get("msg", "")
    except ValueError:
        return None, out


ALL = {"mac": "c2:11:22:33:44:55", "mtu": 1400, "promisc": True, "allmulti": True,
       "txQLen": 2000,
       "sysctl": {"net.ipv4.conf.IFNAME.arp_filter": "1", "net.core.somaxconn": "500"}}


def test_add_check_del():
    ns = setup()
    before = m.link_attrs(ns)
    c = conf(ns, **ALL)
    rc, res, out, err = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0, "ADD all keys", out + err)
    if rc:
        return
    m.check(res["interfaces"][0]["mac"] == "c2:11:22:33:44:55", "result carries new mac", out)
    m.check(res["ips"] == c["prevResult"]["ips"], "result keeps prevResult ips", out)
    got = m.link_attrs(ns)
    m.check(got == {"mac": "c2:11:22:33:44:55", "mtu": 1400, "txqlen": 2000, "promisc": True,
                    "allmulti": True}, "link attributes set", str(got))
    m.check(m.sysctl(ns, "net.ipv4.conf.eth0.arp_filter") == "1", "IFNAME sysctl set")
    m.check(m.sysctl(ns, "net.core.somaxconn") == "500", "sysctl set")
    want = ('{\n "mac": "%s",\n "promisc": false,\n "mtu": %d,\n "allmulti": false,\n'
            ' "txQLen": %d\n}' % (before["mac"], before["mtu"], before["txqlen"]))
    m.check(backup(c) == want, "backup file in the reference's format", repr(backup(c)))
    st = os.stat(os.path.join(c["dataDir"], "ctr1_eth0.json"))
    m.check(st.st_mode & 0o777 == 0o600, "backup file mode 0600", oct(st.st_mode))

    c2 = dict(c, prevResult=res)
    rc, _, out, _ = m.run(OURS, "CHECK", c2, ns)
    m.check(rc == 0, "CHECK after ADD (IFNAME sysctl included)", out)
    m.sh("ip -n %s link set eth0 mtu 1300" % ns)
    rc, _, out, _ = m.run(OURS, "CHECK", c2, ns)
    m.check(rc != 0 and "MTU of eth0 is 1400, current value is 1300" in out, "CHECK sees MTU", out)
    m.sh("ip -n %s link set eth0 mtu 1400" % ns)
    m.sh("ip -n %s link set eth0 txqueuelen 10" % ns)
    rc, _, out, _ = m.run(OURS, "CHECK", c2, ns)
    m.check(rc != 0 and "Transmit Queue Length" in out, "CHECK sees txQLen", out)
    m.sh("ip -n %s link set eth0 txqueuelen 2000" % ns)
    m.sh("ip netns exec %s sh -c 'echo 128 > /proc/sys/net/core/somaxconn'" % ns)
    rc, _, out, _ = m.run(OURS, "CHECK", c2, ns)
    m.check(rc != 0 and "current value is 128" in out, "CHECK sees sysctl", out)
    c3 = dict(c2)
    del c3["prevResult"]
    rc, _, out, _ = m.run(OURS, "CHECK", c3, ns)
    m.check(rc != 0 and err_of(out) == (7, "Required prevResult missing"), "CHECK needs prevResult",
            out)

    rc, _, out, _ = m.run(OURS, "DEL", c2, ns)
    m.check(rc == 0, "DEL", out)
    m.check(m.link_attrs(ns) == before, "DEL restores link", str(m.link_attrs(ns)))
    m.check(backup(c) is None, "DEL removes the backup")
    rc, _, out, _ = m.run(OURS, "DEL", c2, ns)
    m.check(rc == 0, "second DEL", out)
    rc, _, out, _ = m.run(OURS, "DEL", c3, ns)
    m.check(rc == 0, "DEL without prevResult", out)

    # DEL when the namespace is gone: success, and the backup is dropped
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and backup(c) is not None, "ADD again", out)
    m.del_netns(ns)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "DEL with the namespace gone", out)
    m.check(backup(c) is None, "DEL with the namespace gone drops the backup")
    rc, _, out, _ = m.run(OURS, "DEL", c, None, netns_path="")
    m.check(rc == 0, "DEL without CNI_NETNS", out)


def test_partial_backup_and_no_change():
    ns = setup()
    before = m.link_attrs(ns)
    c = conf(ns, mtu=1280)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and backup(c) == '{\n "mtu": %d\n}' % before["mtu"], "backup holds only mtu",
            repr(backup(c)))
    m.run(OURS, "DEL", c, ns)
    c = conf(ns, sysctl={"net.ipv4.conf.IFNAME.arp_filter": "1"})
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and backup(c) is None, "sysctl only: no backup", out)
    c = conf(ns, allmulti=False)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and backup(c) == '{\n "allmulti": false\n}', "allmulti false backed up",
            repr(backup(c)))
    m.run(OURS, "DEL", c, ns)


def test_del_reports_failed_restore():
    """A DEL that could not put an attribute back fails and keeps the backup (the
    reference reports success); its retry restores the link and removes the backup."""
    ns = setup()
    before = m.link_attrs(ns)
    c = conf(ns, mtu=1400, promisc=True)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    m.check(rc == 0 and backup(c) is not None, "ADD", out)
    path = os.path.join(c["dataDir"], "ctr1_eth0.json")
    good = backup(c)
    # an MTU the link refuses: that restore fails, the others are still made
    with open(path, "w") as f:
        f.write(good.replace('"mtu": %d' % before["mtu"], '"mtu": 1000000'))
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    code, msg = err_of(out)
    m.check(rc != 0 and code == 999 and "failed to restore 1 attribute(s) of eth0" in msg,
            "DEL that could not restore the MTU fails", out)
    m.check(backup(c) is not None, "failed DEL keeps the backup")
    got = m.link_attrs(ns)
    m.check(got["mtu"] == 1400 and got["promisc"] == before["promisc"],
            "the attributes that could be restored are", str(got))
    # a backup that cannot be read (here a directory in its place) is not taken for none
    os.unlink(path)
    os.mkdir(path)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc != 0 and "failed to read backup" in err_of(out)[1] and os.path.isdir(path),
            "DEL with an unreadable backup fails", out)
    os.rmdir(path)
    with open(path, "w") as f:
        f.write(good)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0 and m.link_attrs(ns) == before and backup(c) is None,
            "retried DEL restores the link and drops the backup", out)
    rc, _, out, _ = m.run(OURS, "DEL", c, ns)
    m.check(rc == 0, "DEL again", out)


def test_mac_precedence():
    ns = setup()
    cases = [({"mac": "c2:00:00:00:00:01"}, "", "c2:00:00:00:00:01"),
             ({"mac": "c2:00:00:00:00:01"}, "MAC=c2:00:00:00:00:02", "c2:00:00:00:00:02"),
             ({"mac": "c2:00:00:00:00:01", "runtimeConfig": {"mac": "c2:00:00:00:00:03"}},
              "MAC=c2:00:00:00:00:02", "c2:00:00:00:00:03"),
             ({"mac": "c2:00:00:00:00:01", "runtimeConfig": {"mac": "c2:00:00:00:00:03"},
               "args": {"cni": {"mac": "c2:00:00:00:00:04"}}},
              "MAC=c2:00:00:00:00:02", "c2:00:00:00:00:04")]
    for keys, args, want in cases:
        c = conf(ns, **keys)
        rc, res, out, _ = m.run(OURS, "ADD", c, ns, args=args)
        m.check(rc == 0 and m.link_attrs(ns)["mac"] == want and
                res["interfaces"][0]["mac"] == want, "mac precedence -> %s" % want, out)
        m.run(OURS, "DEL", c, ns)
    c = conf(ns, args={"cni": {"mtu": 1300, "promisc": True, "txQLen": 77, "allmulti": True,
                               "sysctl": {"net.core.somaxconn": "321"}}}, mtu=1500)
    rc, _, out, _ = m.run(OURS, "ADD", c, ns)
    a = m.link_attrs(ns)
    m.check(rc == 0 and a["mtu"] == 1300 and a["promisc"] and a["txqlen"] == 77 and
            a["allmulti"] and m.sysctl(ns, "net.core.somaxconn") == "321",
            "args.cni overrides", out + str(a))
    m.run(OURS, "DEL", c, ns)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns), ns, args="FOO=bar")
    m.check(rc != 0 and 'unknown args' in out and 'FOO=bar' in out, "unknown CNI_ARGS refused", out)
    rc, _, out, _ = m.run(OURS, "ADD", conf(ns), ns, args="FOO=bar;IgnoreUnknown=1")
    m.check(rc == 0, "IgnoreUnknown", out)


def test_errors():
    ns = setup()
    before = m.link_attrs(ns)
    raw = ('{"cniVersion":"1.0.0","name":"t","type":"tuning","sysctl":'
           '{"net.core.somaxconn":"500","net.core.somaxconn":"600"},"prevResult":%s}'
           % json.dumps(m.prev_result(ns)))
    rc, _, out, _ = m.run(OURS, "ADD", raw, ns)
    m.check(rc != 0 and "duplicated sysctl keys are not allowed" in out, "duplicate sysctl", out)
    m.check(m.sysctl(ns, "net.core.somaxconn") != "600", "duplicate: nothing written")
    cases = [
        (dict(sysctl={"kernel.hostname": "x"}), 7, 'invalid net sysctl key: "kernel/hostname"'),
        (dict(sysctl={"net.ipv4.conf.IFNAME.arp_filter": "1", "net.core..": "1"}), 999,
         'open /proc/sys/net/core: is a directory'),
        # every '.' becomes '/', so ".." cannot climb out of /proc/sys/net
        (dict(sysctl={"net/../kernel/hostname": "x"}), 999,
         "open /proc/sys/net/kernel/hostname: no such file or directory"),
        (dict(mac="zz:11:22:33:44:55"), 7, "invalid args zz:11:22:33:44:55 for MAC addr"),
        (dict(mtu="big"), 6, "TuningConf.mtu of type int"),
        (dict(promisc="yes"), 6, "TuningConf.promisc of type bool"),
        (dict(txQLen=1.5), 6, "TuningConf.txQLen of type int"),
        (dict(sysctl={"net.core.somaxconn": 5}), 6, "of type string"),
        (dict(mtu=-5), 7, "invalid mtu -5"),
        (dict(prevResult=None), 7, "Required prevResult missing"),
        (dict(sysctl={"net.core.no_such_sysctl": "1"}), 999, "no such file or directory"),
    ]
    for keys, code, text in cases:
        c = conf(ns, **keys)
        if keys.get("prevResult", 1) is None:
            del c["prevResult"]
        rc, _, out, _ = m.run(OURS, "ADD", c, ns)
        m.check(rc != 0 and err_of(out)[0] == code and text in err_of(out)[1],
                "error %s" % text, out)
    m.check(m.link_attrs(ns) == before, "failed ADDs left the link alone")
    rc, _, out, _ = m.run(OURS, "ADD", "{not json", ns)
    m.check(rc != 0 and err_of(out)[0] == 6, "bad JSON", out)


def test_allowlist():
    if not ALLOW_PLUGIN or not ALLOW_FILE:
        m.skip("allow-list", "TUNING_ALLOWLIST_PLUGIN not set")
        return
    ns = setup()
    try:
        with open(ALLOW_FILE, "w") as f:
            f.write("  ^net\\.core\\.somaxconn$\n\n^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$\n")
        c = conf(ns, sysctl={"net.core.somaxconn": "444",
                             "net.ipv4.conf.IFNAME.arp_filter": "1"})
        rc, _, out, _ = m.run(ALLOW_PLUGIN, "ADD", c, ns)
        m.check(rc == 0 and m.sysctl(ns, "net.core.somaxconn") == "444", "allow-listed", out)
        fwd = m.sysctl(ns, "net.ipv4.ip_forward")
        c = conf(ns, sysctl={"net.ipv4.ip_forward": "1" if fwd == "0" else "0"})
        rc, _, out, _ = m.run(ALLOW_PLUGIN, "ADD", c, ns)
        m.check(rc != 0 and "Sysctl net.ipv4.ip_forward is not allowed. Only the following "
                "sysctls are allowed: [^net\\.core\\.somaxconn$ "
                "^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$]" in json.loads(out)["msg"],
                "not allow-listed", out)
        m.check(m.sysctl(ns, "net.ipv4.ip_forward") == fwd, "refused sysctl not written")
        with open(ALLOW_FILE, "w") as f:
            f.write("net.(core\n")
        rc, _, out, _ = m.run(ALLOW_PLUGIN, "ADD", c, ns)
        m.check(rc != 0 and "error parsing regexp" in out, "bad allow-list regex", out)
    finally:
        if os.path.exists(ALLOW_FILE):
            os.unlink(ALLOW_FILE)
    rc, _, out, _ = m.run(ALLOW_PLUGIN, "ADD", conf(ns, sysctl={"net.ipv4.ip_forward": "1"}), ns)
    m.check(rc == 0, "no allow-list file: every net sysctl allowed", out)


def test_gc_status_version():
    d = os.path.join(TMP, "gc")
    os.makedirs(d, exist_ok=True)
    names = ["keep_eth0.json", "keep_eth1.json", "gone_eth0.json", "a_b_c_eth0.json",
             "notes.txt", "nounderscore.json"]
    for n in names:
        open(os.path.join(d, n), "w").write("{}")
    c = {"cniVersion": "1.1.0", "name": "tnet", "type": "tuning", "dataDir": d,
         "cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "eth0"},
                                       {"containerID": "a_b", "ifname": "c_eth0"}]}
    rc, _, out, _ = m.run(OURS, "GC", c)
    left = sorted(os.listdir(d))
    m.check(rc == 0 and left == ["a_b_c_eth0.json", "keep_eth0.json", "notes.txt",
                                 "nounderscore.json"], "GC removes stale backups only",
            out + str(left))
    c2 = dict(c)
    del c2["cni.dev/valid-attachments"]
    rc, _, out, _ = m.run(OURS, "GC", c2)
    m.check(rc == 0 and len(os.listdir(d)) == 4, "GC without the list removes nothing", out)
    rc, _, out, _ = m.run(OURS, "GC", dict(c, dataDir=os.path.join(TMP, "none")))
    m.check(rc == 0, "GC with no dataDir yet", out)
    rc, _, out, _ = m.run(OURS, "STATUS", {"cniVersion": "1.1.0", "name": "t", "type": "tuning"})
    m.check(rc == 0 and out == "", "STATUS succeeds", out)
    rc, js, out, _ = m.run(OURS, "VERSION", {"cniVersion": "1.1.0"})
    m.check(rc == 0 and "0.1.0" in js["supportedVersions"] and "1.1.0" in js["supportedVersions"],
            "VERSION: every version", out)


# ---- differential against the reference ----

def attrs_and_sysctls(ns):
    return (m.link_attrs(ns), m.sysctl(ns, "net.ipv4.conf.eth0.arp_filter"),
            m.sysctl(ns, "net.core.somaxconn"))


def test_interop():
    if not os.access(REF, os.X_OK):
        m.skip("interop", "no reference plugin at " + REF)
        return
    # the Debian reference (1.1.1) predates txQLen
    keysets = [dict(ALL), {"mtu": 1300}, {"promisc": True}, {"allmulti": False},
               {"sysctl": {"net.ipv4.conf.IFNAME.arp_filter": "1"}},
               {"mac": "C2:AA:BB:CC:DD:EE", "runtimeConfig": {"mac": "c2:aa:bb:cc:dd:01"}},
               {"args": {"cni": {"mtu": 1280, "promisc": True}}}]
    del keysets[0]["txQLen"]
    for version in ("1.0.0", "0.4.0", "0.3.1"):
        for keys in keysets:
            state = {}
            for name, plugin in (("ref", REF), ("ours", OURS)):
                ns = setup()
                # same starting MAC on both sides so backups can be compared byte for byte
                m.sh("ip -n %s link set eth0 address 02:00:00:00:00:aa" % ns)
                c = conf(ns, version=version, data_dir=os.path.join(TMP, name), **keys)
                c["prevResult"]["interfaces"][0]["sandbox"] = "/run/netns/x"
                rc, res, out, err = m.run(plugin, "ADD", c, ns)
                after = attrs_and_sysctls(ns)
                bk = backup(c)
                c2 = dict(c, prevResult=res)
                rcc, _, outc, _ = m.run(plugin, "CHECK", c2, ns)
                rcd, _, outd, _ = m.run(plugin, "DEL", c2, ns)
                state[name] = (rc, out, after, bk, attrs_and_sysctls(ns)[0], backup(c), rcd)
            tag = "%s %s" % (version, json.dumps(keys, sort_keys=True))
            r, o = state["ref"], state["ours"]
            m.check(r[0] == o[0] == 0, "interop ADD " + tag, r[1] + o[1])
            m.check(r[1] == o[1], "interop result bytes " + tag, "\n" + r[1] + "\n" + o[1])
            m.check(r[2] == o[2], "interop link+sysctls " + tag, str(r[2]) + str(o[2]))
            m.check(r[3] == o[3], "interop backup file " + tag, repr(r[3]) + repr(o[3]))
            m.check(r[4] == o[4] and r[5] is None and o[5] is None and r[6] == o[6] == 0,
                    "interop DEL restores " + tag, str(r[4]) + str(o[4]))

    # cross DEL: one's ADD undone by the other's DEL (the backup file is the contract)
    for adder, deleter in ((REF, OURS), (OURS, REF)):
        ns = setup()
        before = m.link_attrs(ns)
        keys = dict(ALL)
        del keys["txQLen"]
        c = conf(ns, data_dir=os.path.join(TMP, "cross"), **keys)
        rc, res, out, _ = m.run(adder, "ADD", c, ns)
        rcd, _, outd, _ = m.run(deleter, "DEL", dict(c, prevResult=res), ns)
        m.check(rc == 0 and rcd == 0 and m.link_attrs(ns) == before and backup(c) is None,
                "cross DEL %s -> %s" % (os.path.basename(os.path.dirname(adder)),
                                       os.path.basename(os.path.dirname(deleter))),
                out + outd + str(m.link_attrs(ns)))
    # a txQLen backup written by us is restored by us even with the reference's fields around
    ns = setup()
    before = m.link_attrs(ns)
    c = conf(ns, data_dir=os.path.join(TMP, "cross2"), mtu=1300, txQLen=99)
    m.run(OURS, "ADD", c, ns)
    rcd, _, outd, _ = m.run(REF, "DEL", c, ns)
    m.check(rcd == 0 and m.link_attrs(ns)["mtu"] == before["mtu"],
            "reference DEL restores the fields it knows from our backup", outd)


def main():
    m.init()
    if not OURS:
        print("SKIP: TUNING_PLUGIN not set")
        sys.exit(77)
    try:
        if len(sys.argv) > 1 and sys.argv[1] == "interop":
            test_interop()
        else:
            test_add_check_del()
            test_partial_backup_and_no_change()
            test_del_reports_failed_restore()
            test_mac_precedence()
            test_errors()
            test_allowlist()
            test_gc_status_version()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    m.finish()


if __name__ == "__main__":
    main()
