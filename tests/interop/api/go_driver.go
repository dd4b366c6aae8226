// SPDX-License-Identifier: Apache-2.0

// go_driver: the reference libcni (Debian's 1.1.x) from the command line, with the same
// verbs and flags as api_driver.c, for api_interop.sh.
//
//	go_driver VERB LIST [-p dirs] [-c cachedir] [-i id] [-f ifname] [-n netns]
//	          [-a K=V]... [-C capsjson]
//	VERB: add check del cached-result cached-config
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func die(err error) {
	out, _ := json.Marshal(map[string]interface{}{"code": 999, "msg": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

func show(v interface{}) {
	out, err := json.Marshal(v)
	if err != nil {
		die(err)
	}
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go_driver VERB LIST [options]")
		os.Exit(2)
	}
	verb, file := os.Args[1], os.Args[2]
	fs := flag.NewFlagSet("go_driver", flag.ExitOnError)
	dirs := fs.String("p", "/usr/lib/cni", "plugin dirs")
	cache := fs.String("c", "", "cache dir")
	id := fs.String("i", "", "container id")
	ifname := fs.String("f", "", "interface")
	netns := fs.String("n", "", "netns")
	caps := fs.String("C", "", "capability args JSON")
	var args multi
	fs.Var(&args, "a", "K=V")
	if err := fs.Parse(os.Args[3:]); err != nil {
		os.Exit(2)
	}

	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		die(err)
	}
	cfg := libcni.NewCNIConfigWithCacheDir(strings.Split(*dirs, ":"), *cache, nil)
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname}
	for _, a := range args {
		kv := strings.SplitN(a, "=", 2)
		rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
	}
	if *caps != "" {
		if err := json.Unmarshal([]byte(*caps), &rt.CapabilityArgs); err != nil {
			die(err)
		}
	}
	ctx := context.Background()

	switch verb {
	case "add":
		res, err := cfg.AddNetworkList(ctx, list, rt)
		if err != nil {
			die(err)
		}
		show(res)
	case "check":
		if err := cfg.CheckNetworkList(ctx, list, rt); err != nil {
			die(err)
		}
	case "del":
		if err := cfg.DelNetworkList(ctx, list, rt); err != nil {
			die(err)
		}
	case "cached-result":
		res, err := cfg.GetNetworkListCachedResult(list, rt)
		if err != nil {
			die(err)
		}
		show(res)
	case "cached-config":
		conf, newRt, err := cfg.GetNetworkListCachedConfig(list, rt)
		if err != nil {
			die(err)
		}
		if conf == nil {
			fmt.Println("null")
			return
		}
		var cniArgs interface{}
		if len(newRt.Args) > 0 {
			cniArgs = newRt.Args
		}
		show(map[string]interface{}{"config": string(conf), "cniArgs": cniArgs,
			"capabilityArgs": newRt.CapabilityArgs, "netns": newRt.NetNS})
	default:
		fmt.Fprintln(os.Stderr, "unknown verb", verb)
		os.Exit(2)
	}
}
