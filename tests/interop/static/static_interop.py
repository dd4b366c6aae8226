#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Differential test: the reference static IPAM plugin against ours.

Every case runs through both binaries with the same stdin and environment. Exit codes must
be equal; on success stdout is compared as parsed JSON, on failure the error's code and
msg. A case that differs on purpose says how (`ours` overrides what we expect of our
plugin) and why; the reference is still run and its actual answer printed next to ours.

usage: static_interop.py OURS [REFERENCE] [--valgrind]
Exit 77 (skip) when the reference binary is missing.
"""
import json
import os
import shutil
import subprocess
import sys

REF_DEFAULT = "/usr/lib/cni/static"
# codes: the reference reports every plugin error as 999 (Go's ErrInternal); ours uses
# the spec's code for the cause.
WHY_CODE7 = "spec code 7 (invalid network config) instead of the reference's 999"
WHY_CODE4 = "spec code 4 (invalid environment variable CNI_ARGS) instead of 999"


def conf(version, ipam, **top):
    c = {"cniVersion": version, "name": "mynet", "type": "bridge", "ipam": ipam}
    c.update(top)
    return c


def ipam(**kw):
    d = {"type": "static"}
    d.update(kw)
    return d


V4 = [{"address": "10.10.0.5/24", "gateway": "10.10.0.1"}]
V6 = [{"address": "fd00:10::5/64", "gateway": "fd00:10::1"}]
DUAL = V4 + V6
ROUTES = [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.10.0.254"},
          {"dst": "::/0", "gw": "fd00:10::1"}]
DNS = {"nameservers": ["10.10.0.1", "fd00:10::1"], "domain": "example.com",
       "search": ["example.com", "svc.example.com"], "options": ["ndots:2"]}
VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]


def cases():
    out = []

    def add(name, stdin, command="ADD", cni_args="", ours=None):
        out.append({"name": name, "stdin": stdin, "command": command, "args": cni_args,
                    "ours": ours})

    # --- the plain shapes, in every version the reference knows ---
    for v in VERSIONS:
        add(f"v4-{v}", conf(v, ipam(addresses=V4)))
        add(f"v6-{v}", conf(v, ipam(addresses=V6)))
        add(f"dual-{v}", conf(v, ipam(addresses=DUAL)))
        add(f"dual-routes-dns-{v}", conf(v, ipam(addresses=DUAL, routes=ROUTES, dns=DNS)))
        add(f"v4-no-gateway-{v}", conf(v, ipam(addresses=[{"address": "10.1.2.3/8"}])))
        add(f"cni-args-ip-gw-{v}", conf(v, ipam(routes=[{"dst": "0.0.0.0/0"}])),
            cni_args="IP=10.20.0.7/16;GATEWAY=10.20.0.1")
        add(f"runtimeconfig-ips-{v}",
            conf(v, ipam(addresses=V4), capabilities={"ips": True},
                 runtimeConfig={"ips": ["10.30.0.9/24"]}))
        add(f"args-cni-ips-{v}",
            conf(v, ipam(addresses=V4), args={"cni": {"ips": ["fd00:30::9/80"]}}))
        add(f"del-{v}", conf(v, ipam(addresses=V4)), command="DEL")
        # two addresses of one family: only 0.3.0 and later can carry them
        add(f"two-v4-{v}", conf(v, ipam(addresses=V4 + [{"address": "10.11.0.5/24"}])),
            ours=None if v not in ("0.1.0", "0.2.0") else {"code": 7, "why": WHY_CODE7})
        # no address at all: the result converter refuses 0.1.0/0.2.0 (same message); our
        # skel reports a result that cannot be expressed in the config's version as code 1
        add(f"no-address-{v}", conf(v, ipam(routes=[{"dst": "0.0.0.0/0"}])),
            ours=None if v not in ("0.1.0", "0.2.0") else {
                "code": 1, "why": "spec code 1 (incompatible CNI version) for a result the "
                "config's version cannot express, instead of 999"})

    # --- address sources and their precedence ---
    add("cni-args-appends", conf("1.0.0", ipam(addresses=V4)),
        cni_args="IP=10.20.0.7/16, fd00:20::7/64")
    add("cni-args-gateway-only-for-ip-args", conf("1.0.0", ipam(addresses=[
        {"address": "10.10.0.5/24"}])), cni_args="IP=10.20.0.7/16;GATEWAY=10.10.0.1,10.20.0.1")
    add("cni-args-gateway-v6", conf("0.4.0", ipam()),
        cni_args="IP=fd00:20::7/64;GATEWAY= fd00:20::1")
    add("cni-args-last-gateway-wins", conf("1.0.0", ipam()),
        cni_args="IP=10.20.0.7/16;GATEWAY=10.20.0.1,10.20.0.2")
    add("cni-args-gateway-outside", conf("1.0.0", ipam()),
        cni_args="IP=10.20.0.7/16;GATEWAY=10.99.0.1")
    add("cni-args-ignore-unknown", conf("1.0.0", ipam()),
        cni_args="IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.20.0.7/16")
    add("cni-args-empty-ip", conf("1.0.0", ipam(addresses=V4)), cni_args="IP=")
    add("args-cni-ips-replace-cni-args", conf("1.0.0", ipam(addresses=V4),
        args={"cni": {"ips": ["10.40.0.2/24", "fd00:40::2/64"]}}), cni_args="IP=10.20.0.7/16")
    add("runtimeconfig-beats-args", conf("1.0.0", ipam(addresses=V4),
        args={"cni": {"ips": ["10.40.0.2/24"]}}, runtimeConfig={"ips": ["10.50.0.2/24"]}))
    add("empty-lists-do-not-replace", conf("1.0.0", ipam(addresses=V4),
        args={"cni": {"ips": []}}, runtimeConfig={"ips": []}))
    add("replaced-config-address-not-validated", conf("1.0.0", ipam(addresses=[
        {"address": "bogus"}]), runtimeConfig={"ips": ["10.50.0.2/24"]}))
    add("host-bits-kept", conf("1.0.0", ipam(addresses=[{"address": "10.1.2.3/8"}],
                                            routes=[{"dst": "10.9.8.7/16"}])))
    add("mapped-ipv6-is-ipv4", conf("1.0.0", ipam(addresses=[
        {"address": "::ffff:10.1.2.3/120", "gateway": "::ffff:10.1.2.1"}])))
    add("ipv6-canonical-text", conf("1.0.0", ipam(addresses=[
        {"address": "FD00:0:0:0::0001/64", "gateway": "fd00::0:1"}],
        routes=[{"dst": "2001:DB8::/32", "gw": "FD00::1"}])))
    add("case-insensitive-keys", conf("1.0.0", ipam(Addresses=[{"ADDRESS": "10.1.2.3/24"}])))
    add("empty-gateway-is-none", conf("1.0.0", ipam(addresses=[
        {"address": "10.1.2.3/24", "gateway": ""}])))
    add("null-members", conf("1.0.0", ipam(addresses=V4, routes=None, dns=None),
                             args=None, runtimeConfig=None))
    add("empty-cniversion", conf("", ipam(addresses=V4)))
    add("dns-only", conf("0.3.1", ipam(dns={"nameservers": ["1.1.1.1"]})))
    add("dns-empty-lists", conf("1.0.0", ipam(addresses=V4, dns={"nameservers": [],
                                                                  "search": []})))

    # --- invalid input ---
    add("no-ipam", conf("1.0.0", None), ours={"code": 7, "why": WHY_CODE7})
    add("bad-cidr", conf("1.0.0", ipam(addresses=[{"address": "10.10.0.1"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-cidr-prefix", conf("1.0.0", ipam(addresses=[{"address": "10.10.0.1/33"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-cidr-leading-zero", conf("1.0.0", ipam(addresses=[{"address": "010.1.2.3/8"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("missing-address", conf("1.0.0", ipam(addresses=[{"gateway": "10.1.2.1"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("null-address-entry", conf("1.0.0", ipam(addresses=[None])),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-gateway", conf("1.0.0", ipam(addresses=[{"address": "10.1.2.3/24",
                                                      "gateway": "10.1.2"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-cni-args-ip", conf("1.0.0", ipam()), cni_args="IP=10.20.0.7",
        ours={"code": 4, "why": WHY_CODE4})
    add("bad-cni-args-ip-list", conf("1.0.0", ipam()), cni_args="IP=10.20.0.7/16,",
        ours={"code": 4, "why": WHY_CODE4})
    add("bad-cni-args-gateway", conf("1.0.0", ipam()),
        cni_args="IP=10.20.0.7/16;GATEWAY=10.20.0.300", ours={"code": 4, "why": WHY_CODE4})
    add("cni-args-unknown-key", conf("1.0.0", ipam()), cni_args="FOO=bar")
    add("cni-args-invalid-pair", conf("1.0.0", ipam()), cni_args="IP")
    add("bad-runtimeconfig-ips", conf("1.0.0", ipam(), runtimeConfig={"ips": ["10.1.2.3"]}),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-args-cni-ips", conf("1.0.0", ipam(), args={"cni": {"ips": ["x"]}},
                                 runtimeConfig={"ips": ["10.1.2.3/24"]}),
        ours={"code": 7, "why": WHY_CODE7})
    add("two-v6-legacy", conf("0.2.0", ipam(addresses=V6 + [{"address": "fd00:11::1/64"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("two-v4-empty-version", conf("", ipam(), runtimeConfig={"ips": [
        "10.1.0.1/24", "10.2.0.1/24"]}), ours={"code": 7, "why": WHY_CODE7})
    add("bad-route-dst", conf("1.0.0", ipam(routes=[{"dst": "10.0.0.0"}])),
        ours={"code": 7, "why": WHY_CODE7})
    add("bad-route-gw", conf("1.0.0", ipam(routes=[{"dst": "10.0.0.0/8", "gw": "x"}])),
        ours={"code": 7, "why": WHY_CODE7})
    # Go's JSON decoder messages name Go types; ours name the key and the value
    add("addresses-not-array", conf("1.0.0", ipam(addresses="10.1.2.3/24")),
        ours={"code": 7, "msg": 'ipam.addresses: expected an array, got "10.1.2.3/24"',
              "why": "message names the key and value instead of Go's decoder types"})
    add("address-not-string", conf("1.0.0", ipam(addresses=[{"address": 5}])),
        ours={"code": 7, "msg": "ipam.addresses[0].address: expected a string, got 5",
              "why": "message names the key and value instead of Go's decoder types"})
    add("route-not-object", conf("1.0.0", ipam(routes=[5])),
        ours={"code": 7, "msg": "ipam.routes[0]: expected an object, got 5",
              "why": "message names the key and value instead of Go's decoder types"})
    add("address-entry-not-object", conf("1.0.0", ipam(addresses=[None, "x"])),
        ours={"code": 7, "msg": 'ipam.addresses[1]: expected an object, got "x"',
              "why": "message names the key and value instead of Go's decoder types"})
    add("runtimeconfig-ip-not-string", conf("1.0.0", ipam(), runtimeConfig={"ips": [
        "10.1.0.1/24", {"a": 1}]}),
        ours={"code": 7, "msg": 'runtimeConfig.ips[1]: expected a string, got {"a":1}',
              "why": "message names the key and value instead of Go's decoder types"})
    add("ipam-not-object", conf("1.0.0", "static"),
        ours={"code": 7, "msg": 'ipam: expected an object, got "static"',
              "why": "message names the key and value instead of Go's decoder types"})
    add("route-missing-dst", conf("1.0.0", ipam(routes=[{"gw": "10.0.0.1"}])),
        ours={"rc": 1, "code": 7, "msg": "ipam.routes[0].dst: missing",
              "why": 'the reference prints a route with "dst": "<nil>"; ours refuses it'})

    # --- CHECK ---
    prev = {"cniVersion": "1.0.0", "ips": [{"address": "10.10.0.5/24", "gateway": "10.10.0.1"},
                                           {"address": "fd00:10::5/64"}]}
    add("check-ok", conf("1.0.0", ipam(addresses=DUAL[:1]), prevResult=prev), "CHECK")
    add("check-ok-040", conf("0.4.0", ipam(addresses=DUAL), prevResult={
        "cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.10.0.5/24",
                                        "gateway": "10.10.0.1"},
                                       {"version": "6", "address": "fd00:10::5/64",
                                        "gateway": "fd00:10::1"}]}), "CHECK")
    add("check-address-not-in-prev", conf("1.0.0", ipam(addresses=[
        {"address": "10.99.0.5/24", "gateway": "10.99.0.1"}]), prevResult=prev), "CHECK")
    add("check-gateway-mismatch", conf("1.0.0", ipam(addresses=[
        {"address": "10.10.0.5/24", "gateway": "10.10.0.2"}]), prevResult=prev), "CHECK")
    add("check-prev-without-gateway", conf("1.0.0", ipam(addresses=V6), prevResult=prev),
        "CHECK")
    add("check-no-prevresult", conf("1.0.0", ipam(addresses=V4)), "CHECK",
        ours={"code": 7, "why": WHY_CODE7})
    add("check-cni-args", conf("1.0.0", ipam(), prevResult={
        "cniVersion": "1.0.0", "ips": [{"address": "10.20.0.7/16", "gateway": "10.20.0.9"}]}),
        "CHECK", cni_args="IP=10.20.0.7/16;GATEWAY=10.20.0.1")
    add("check-bad-config", conf("1.0.0", ipam(addresses=[{"address": "x"}]), prevResult=prev),
        "CHECK", ours={"code": 7, "why": WHY_CODE7})
    add("check-old-version", conf("0.3.1", ipam(addresses=V4), prevResult=prev), "CHECK")

    # --- DEL never fails, GC/STATUS/1.1.0 are newer than the reference binary ---
    add("del-invalid-config", conf("1.0.0", ipam(addresses=[{"address": "x"}])), "DEL")
    add("del-no-ipam", conf("1.0.0", None), "DEL")
    newer = "the reference binary (plugins v1.1.1, spec 1.0.0) predates spec 1.1.0"
    add("v1.1.0-add", conf("1.1.0", ipam(addresses=V4, routes=[
        {"dst": "0.0.0.0/0", "gw": "10.10.0.1", "mtu": 1400, "priority": 5, "table": 100,
         "scope": 0}])),
        ours={"rc": 0, "stdout": {
            "cniVersion": "1.1.0",
            "ips": [{"address": "10.10.0.5/24", "gateway": "10.10.0.1"}],
            "routes": [{"dst": "0.0.0.0/0", "gw": "10.10.0.1", "mtu": 1400, "priority": 5,
                        "table": 100, "scope": 0}]},
            "why": newer + "; 1.1.0 route fields are passed through"})
    add("gc", conf("1.1.0", ipam(addresses=V4)), "GC",
        ours={"rc": 0, "stdout": None, "why": newer + "; GC has nothing to collect"})
    add("status", conf("1.1.0", ipam(addresses=V4)), "STATUS",
        ours={"rc": 0, "stdout": None, "why": newer + "; STATUS is always ready"})
    return out


def run(binary, case, valgrind):
    env = {"CNI_COMMAND": case["command"], "CNI_CONTAINERID": "interop-static",
           "CNI_NETNS": "/nonexistent/netns", "CNI_IFNAME": "eth0",
           "CNI_PATH": os.path.dirname(binary), "CNI_ARGS": case["args"],
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    cmd = [binary]
    if valgrind:
        cmd = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=all",
               "--error-exitcode=99"] + cmd
    stdin = {k: v for k, v in case["stdin"].items() if v is not None or k in
             ("routes", "dns", "args", "runtimeConfig")}
    p = subprocess.run(cmd, input=json.dumps(stdin).encode(), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def parse(text):
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"<unparseable>": text}


def main():
    argv = [a for a in sys.argv[1:] if a != "--valgrind"]
    valgrind = "--valgrind" in sys.argv
    if not argv:
        print(__doc__)
        return 2
    ours = argv[0]
    ref = argv[1] if len(argv) > 1 else REF_DEFAULT
    if not os.access(ref, os.X_OK):
        print(f"SKIP: reference plugin {ref} not found (install containernetworking-plugins)")
        return 77
    if valgrind and not shutil.which("valgrind"):
        print("SKIP: valgrind not installed")
        return 77

    failures = 0
    all_cases = cases()
    for case in all_cases:
        r_rc, r_out, _ = run(ref, case, False)
        o_rc, o_out, o_err = run(ours, case, valgrind)
        r_js, o_js = parse(r_out), parse(o_out)
        dev = case["ours"] or {}

        want_rc = dev.get("rc", r_rc)
        problems = []
        if o_rc != want_rc:
            problems.append(f"exit code {o_rc}, want {want_rc}")
        if "stdout" in dev:
            want = dev["stdout"]
            if o_js != want:
                problems.append(f"stdout {o_js}, want {want}")
        elif want_rc == 0:
            if o_js != r_js:
                problems.append(f"stdout differs:\n    ref:  {r_js}\n    ours: {o_js}")
        else:
            r_err = r_js if isinstance(r_js, dict) else {}
            o_err_js = o_js if isinstance(o_js, dict) else {}
            want_code = dev.get("code", r_err.get("code"))
            want_msg = dev.get("msg", r_err.get("msg"))
            if o_err_js.get("code") != want_code:
                problems.append(f"code {o_err_js.get('code')}, want {want_code}")
            if o_err_js.get("msg") != want_msg:
                problems.append(f"msg {o_err_js.get('msg')!r}, want {want_msg!r}")
        if case["ours"] and "why" not in dev:
            problems.append("deviation without a reason")

        label = f"{case['command']} {case['name']}"
        if problems:
            failures += 1
            print(f"FAIL {label}")
            for p in problems:
                print(f"    {p}")
            print(f"    reference rc={r_rc}: {r_out.strip()[:300]}")
            if o_err.strip():
                print(f"    ours stderr: {o_err.strip()[:600]}")
        elif dev:
            print(f"ok   {label}  [DEVIATION: {dev['why']}; reference rc={r_rc} "
                  f"{json.dumps(r_js)[:160]}]")
        else:
            print(f"ok   {label}")

    print(f"\n{len(all_cases) - failures}/{len(all_cases)} cases agree"
          f"{' (ours under valgrind)' if valgrind else ''}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
