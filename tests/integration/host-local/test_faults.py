#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Crash safety: SIGKILL the plugin during ADD and DEL, at injected points (test build)
and after random delays (real binary), and check after every kill that the directory is
consistent, that every address handed out is still reserved to its owner, and that the
runtime's usual recovery (DEL after a failed ADD) leaves exactly the live reservations.
Then the files written in place (index buckets, state, last_reserved_ip): torn ones are
never trusted, and the tmp/ + link() way of writing leases used without O_TMPFILE."""

import ipaddress
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hl_common import *  # noqa: E402,F403
import json  # noqa: E402

need(PLUGIN)
need(FAULTY)
RUNS = int(os.environ.get("HL_FAULT_RUNS", "200"))
POINTS = ["reserve-tmp-written", "reserve-linked", "reserve-indexed", "reserve-done",
          "commit-start", "commit-mtime-set", "release-unlinked", "rebuild-scanned",
          "inplace-written"]
NO_TMPFILE = {"HOST_LOCAL_TEST_NO_TMPFILE": "1"}
rnd = random.Random(int(os.environ.get("HL_SEED", "1234")))
base = tempdir("hl-faults-")
d = os.path.join(base, "data")
netdir = os.path.join(d, "net1")
sets = [[ipaddress.ip_network("10.80.0.0/26")], [ipaddress.ip_network("fd80::/122")]]
c = conf(d, {"ranges": [[{"subnet": "10.80.0.0/26"}], [{"subnet": "fd80::/122"}]]}, version="1.0.0")
live = {}  # cid -> set of addresses handed out
seq = 0
kills = 0


def expected_files():
    return {ip: ("%s\r\neth0" % cid).encode() for cid, ips in live.items() for ip in ips}


def verify(when):
    probs = consistency(netdir, sets)
    check(not probs, "%s: %s" % (when, probs))
    files = ip_files(netdir)
    for ip, content in expected_files().items():
        check(files.get(ip) == content, "%s: %s lost (have %r)" % (when, ip, files.get(ip)))


def fnv1a(b):
    h = 1469598103934665603
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def state_record(sec, nsec, boot):
    rec = b"host-local-index-v2 %d %d %s" % (sec, nsec, boot)
    return rec + b" %016x\n" % fnv1a(rec)


def fresh(label, subnet):
    d2 = os.path.join(base, label)
    return os.path.join(d2, "net1"), conf(d2, {"subnet": subnet}, version="1.0.0")


def torn_files():
    """In-place writes: whatever a kill between write and truncate leaves is safe."""
    # state: the index is trusted only when state is one whole record of the current
    # mtime. Each case hides s1 from the index (buckets emptied, which leaves the network
    # directory's mtime alone), so an ADD of s1 tells whether the index was trusted.
    def state_case(label, mutate, trusted):
        nd, cc = fresh("state-" + label, "10.81.0.0/24")
        rc, _, out = run(PLUGIN, "ADD", "s1", cc)
        check(rc == 0, "state %s: ADD: %s" % (label, out))
        mtime = os.stat(nd).st_mtime_ns
        owners = os.path.join(nd, ".host-local", "owners")
        for n in os.listdir(owners):
            with open(os.path.join(owners, n), "r+b") as f:
                f.truncate(0)
        sp = os.path.join(nd, ".host-local", "state")
        cur = open(sp, "rb").read()
        new = mutate(cur)
        with open(sp, "r+b") as f:  # in place, as the plugin writes it
            f.write(new)
            f.truncate(len(new))
        check(os.stat(nd).st_mtime_ns == mtime, "state %s: setup kept the mtime" % label)
        rc, _, out = run(PLUGIN, "ADD", "s1", cc)
        if trusted:
            check(rc == 0, "state %s: an intact state is trusted (control): %s" % (label, out))
        else:
            check(rc != 0 and "duplicate allocation" in out,
                  "state %s: not trusted, the index is rebuilt: %s" % (label, out))
        return nd

    def fields(st):
        p = st.split()
        return int(p[1]), int(p[2]), p[3]

    state_case("intact", lambda st: st, True)
    state_case("old-tail", lambda st: st + b"4821\n", False)  # longer record written before
    state_case("prefix", lambda st: st[:-7], False)
    state_case("no-newline", lambda st: st[:-1], False)
    state_case("checksum", lambda st: st[:-2] + (b"0" if st[-2:-1] != b"0" else b"1") + b"\n", False)
    state_case("other-time", lambda st: state_record(fields(st)[0], fields(st)[1] + 1, fields(st)[2]), False)
    # a whole record of another boot: the first run after a reboot rebuilds
    state_case("other-boot", lambda st: state_record(fields(st)[0], fields(st)[1], b"0" * 36), False)
    state_case("same-record", lambda st: state_record(*fields(st)), True)  # control for both
    state_case("empty", lambda st: b"", False)
    # the previous index format (one file per owner hash, state v1) is rebuilt, not read
    nd = state_case("v1", lambda st: b"host-local-index-v1 %d %d\n" % fields(st)[:2], False)
    owners = os.path.join(nd, ".host-local", "owners")
    check(all(len(n) != 16 for n in os.listdir(owners)), "v1 files left: %s" % os.listdir(owners))

    # a kill between the write and the truncation of each file an ADD or a DEL rewrites:
    # ADD rewrites its bucket, last_reserved_ip, state; DEL its bucket, state
    for cmd, k in [("ADD", 1), ("ADD", 2), ("ADD", 3), ("DEL", 1), ("DEL", 2)]:
        label = "inplace-%s-%d" % (cmd, k)
        nd, cc = fresh(label, "10.82.0.0/24")
        for cid in ("k0", "k1") if cmd == "DEL" else ("k0",):
            rc, _, out = run(PLUGIN, "ADD", cid, cc)
            check(rc == 0, "%s: setup ADD %s: %s" % (label, cid, out))
        before = ip_files(nd)
        rc, _, out = run(FAULTY, cmd, "k1", cc, extra={"HOST_LOCAL_FAULT": "inplace-written@%d" % k})
        check(rc == -signal.SIGKILL, "%s: killed (rc %s): %s" % (label, rc, out))
        files = ip_files(nd)
        check(not consistency(nd, [[ipaddress.ip_network("10.82.0.0/24")]]), "%s: consistent" % label)
        for ip, content in before.items():
            if content != b"k1\r\neth0" or cmd == "ADD":
                check(files.get(ip) == content, "%s: %s kept" % (label, ip))
        k1 = [ip for ip, v in files.items() if v == b"k1\r\neth0"]
        if cmd == "ADD":
            check(len(k1) == 1, "%s: the lease was complete before the kill: %s" % (label, files))
        else:
            check(not k1, "%s: the lease was gone before the kill: %s" % (label, files))
        # the index answers for both, whatever the kill left
        rc, _, out = run(PLUGIN, "CHECK", "k1", cc)
        check((rc == 0) == (cmd == "ADD"), "%s: CHECK k1: %s" % (label, out))
        rc, _, out = run(PLUGIN, "CHECK", "k0", cc)
        check(rc == 0, "%s: CHECK k0: %s" % (label, out))
        rc, _, out = run(PLUGIN, "ADD", "k0", cc)
        check(rc != 0 and "duplicate allocation" in out, "%s: duplicate k0: %s" % (label, out))
        rc, _, out = run(PLUGIN, "DEL", "k1", cc)
        check(rc == 0 and not any(v == b"k1\r\neth0" for v in ip_files(nd).values()),
              "%s: DEL k1: %s" % (label, out))
        held = set(ip_files(nd))
        rc, js, out = run(PLUGIN, "ADD", "k2", cc)
        got = js["ips"][0]["address"].split("/")[0] if rc == 0 else None
        check(got and got not in held and ip_files(nd).get(got) == b"k2\r\neth0",
              "%s: ADD afterwards: %s" % (label, out))


def fs_has_tmpfile(path):
    try:
        os.close(os.open(path, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return True
    except OSError:
        return False


def without_tmpfile():
    """Leases through tmp/ and link(), the way without O_TMPFILE (test build switch)."""
    nd, cc = fresh("no-tmpfile", "10.83.0.0/24")
    tmpd = os.path.join(nd, ".host-local", "tmp")
    rc, js, out = run(FAULTY, "ADD", "t1", cc, extra=NO_TMPFILE)
    check(rc == 0 and js["ips"][0]["address"] == "10.83.0.2/24", "no O_TMPFILE: ADD: %s" % out)
    f = os.path.join(nd, "10.83.0.2")
    check(open(f, "rb").read() == b"t1\r\neth0" and (os.stat(f).st_mode & 0o777) == 0o600,
          "no O_TMPFILE: lease file")
    check(os.listdir(tmpd) == [], "no O_TMPFILE: tmp/ left empty: %s" % os.listdir(tmpd))
    # killed with the lease written in tmp/ but not linked: no lease, debris cleared later
    rc, _, out = run(FAULTY, "ADD", "t2", cc,
                     extra=dict(NO_TMPFILE, HOST_LOCAL_FAULT="reserve-tmp-written"))
    check(rc == -signal.SIGKILL and len(os.listdir(tmpd)) == 1 and set(ip_files(nd)) == {"10.83.0.2"},
          "no O_TMPFILE: killed before the link: %s %s" % (os.listdir(tmpd), ip_files(nd)))
    rc, js, out = run(FAULTY, "ADD", "t3", cc, extra=NO_TMPFILE)
    check(rc == 0 and js["ips"][0]["address"] == "10.83.0.3/24" and os.listdir(tmpd) == [],
          "no O_TMPFILE: next ADD clears the debris: %s %s" % (out, os.listdir(tmpd)))
    # the default way, killed at the same point: nothing anywhere (where the file system
    # has O_TMPFILE; elsewhere, overlayfs before Linux 6.6 for one, the default way is the
    # tmp/ one and leaves the debris the next ADD clears)
    rc, _, out = run(FAULTY, "ADD", "t4", cc, extra={"HOST_LOCAL_FAULT": "reserve-tmp-written"})
    debris = [] if fs_has_tmpfile(nd) else [1]
    check(rc == -signal.SIGKILL and set(ip_files(nd)) == {"10.83.0.2", "10.83.0.3"} and
          len(os.listdir(tmpd)) == len(debris),
          "O_TMPFILE: killed before the link leaves nothing: %s %s" % (ip_files(nd), os.listdir(tmpd)))
    for cid in ("t1", "t3"):
        rc, _, out = run(FAULTY, "DEL", cid, cc, extra=NO_TMPFILE)
        check(rc == 0, "no O_TMPFILE: DEL %s: %s" % (cid, out))
    check(ip_files(nd) == {}, "no O_TMPFILE: all released: %s" % ip_files(nd))


try:
    for run_no in range(RUNS):
        do_add = not live or rnd.random() < 0.6 or len(live) > 40
        cid = None
        if do_add:
            seq += 1
            cid = "ctr%d" % seq
        else:
            cid = rnd.choice(sorted(live))
        cmd = "ADD" if do_add else "DEL"
        if rnd.random() < 0.5:
            point = rnd.choice(POINTS)
            spec = "%s@%d" % (point, rnd.randint(1, 3 if point == "inplace-written" else 2))
            extra = {"HOST_LOCAL_FAULT": spec}
            if rnd.random() < 0.3:
                extra.update(NO_TMPFILE)  # leases through tmp/ and link()
                spec += " without O_TMPFILE"
            rc, js, out = run(FAULTY, cmd, cid, c, extra=extra)
            how = "fault %s" % spec
        else:
            p = spawn(PLUGIN, cmd, cid, c)
            delay = rnd.uniform(0, 0.004)
            p.stdin.write(json.dumps(c).encode())
            p.stdin.close()
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            out = p.stdout.read().decode()
            p.wait()
            rc = p.returncode
            js = None
            try:
                js = json.loads(out) if out.strip() else None
            except ValueError:
                pass
            how = "kill after %.2f ms" % (delay * 1000)
        killed = rc == -signal.SIGKILL
        kills += killed
        when = "run %d (%s %s, %s)" % (run_no, cmd, cid, how)
        if not killed:
            check(rc == 0, "%s: failed without a kill: %s" % (when, out))
            if cmd == "ADD" and rc == 0:
                live[cid] = {i["address"].split("/")[0] for i in js["ips"]}
            elif cmd == "DEL" and rc == 0:
                live.pop(cid, None)
            verify(when)
            continue
        if cmd == "DEL":
            live.pop(cid, None)  # asked to go: gone or still there, both are fine
        verify(when)
        # the runtime's recovery: DEL the container (a failed ADD, an interrupted DEL)
        rc, js, out = run(PLUGIN, "DEL", cid, c)
        check(rc == 0, "%s: recovery DEL failed: %s" % (when, out))
        live.pop(cid, None)
        verify(when + " after DEL")
        check(set(ip_files(netdir)) == set(expected_files()),
              "%s: leaked or missing after recovery: %s vs %s" % (when, sorted(ip_files(netdir)), sorted(expected_files())))
        # the index must still answer for every live container
        if run_no % 10 == 0:
            for l in list(live)[:5]:
                rc, _, out = run(PLUGIN, "CHECK", l, c)
                check(rc == 0, "%s: CHECK %s: %s" % (when, l, out))
                rc, js, out = run(PLUGIN, "ADD", l, c)
                check(rc != 0 and "duplicate allocation" in out, "%s: duplicate not detected for %s: %s" % (when, l, out))
        if failures:
            break
    # afterwards new ADDs still work and never reuse a held address
    held = set(ip_files(netdir))
    for i in range(5):
        rc, js, out = run(PLUGIN, "ADD", "after%d" % i, c)
        check(rc == 0, "ADD after the faults: %s" % out)
        if rc == 0:
            got = {x["address"].split("/")[0] for x in js["ips"]}
            check(not (got & held), "address given twice: %s" % (got & held))
            held |= got
    # tmp/ is opened (and cleared) only by a run that writes through it
    tmpd = os.path.join(netdir, ".host-local", "tmp")
    run(FAULTY, "ADD", "after-tmp", c, extra=NO_TMPFILE)
    check(os.path.isdir(tmpd) and not os.listdir(tmpd), "temp debris cleaned")
    print("%d runs, %d killed" % (run_no + 1, kills))
    check(failures or kills >= RUNS // 4, "enough runs were actually killed (%d)" % kills)

    torn_files()
    without_tmpfile()
finally:
    rmtree(base)
finish()
