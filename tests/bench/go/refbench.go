// SPDX-License-Identifier: Apache-2.0

// refbench: the reference libcni (Debian's 1.1.x) half of tests/bench, the same program as
// tools/cni-bench/cni-bench.c with the same flags and the same output, so run.sh can put
// the two side by side. ADD / CHECK / DEL of one network list, every op timed in-process.
//
//	refbench -l LIST -p DIRS -c CACHEDIR [-f IFNAME] [-i PREFIX] [-s START]
//	         [-o add,check,del] [-P HOSTPORT] [-j JOBS] NETNS...
//
// Output: JSON lines, one per op ({"op","k","us","ok"[,"err"]}) and one per phase
// ({"phase","n","jobs","wall_us","errors"}). Exit 0 when every op succeeded, 1 otherwise,
// 2 on usage errors.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containernetworking/cni/libcni"
)

type item struct {
	id   string
	caps map[string]interface{}
	us   float64
	err  error
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: refbench -l LIST -p DIRS -c CACHEDIR [-f IFNAME] [-i PREFIX] [-s START]\n"+
		"                [-o add,check,del] [-P HOSTPORT] [-j JOBS] NETNS...")
	os.Exit(2)
}

func main() {
	fs := flag.NewFlagSet("refbench", flag.ContinueOnError)
	listPath := fs.String("l", "", "conflist")
	dirs := fs.String("p", "", "plugin dirs")
	cache := fs.String("c", "", "cache dir")
	ifname := fs.String("f", "eth0", "interface")
	prefix := fs.String("i", "bench", "container id prefix")
	start := fs.Int("s", 0, "index offset")
	opsArg := fs.String("o", "add,check,del", "ops")
	hostPort := fs.Int("P", 0, "first host port")
	jobs := fs.Int("j", 1, "parallel streams")
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage()
	}
	netns := fs.Args()
	if *listPath == "" || *dirs == "" || *cache == "" || len(netns) == 0 ||
		*jobs < 1 || *jobs > 64 || *start < 0 || *hostPort < 0 {
		usage()
	}
	ops := strings.Split(*opsArg, ",")
	for _, op := range ops {
		if op != "add" && op != "check" && op != "del" {
			fmt.Fprintf(os.Stderr, "refbench: unknown op '%s' (add, check, del)\n", op)
			usage()
		}
	}

	list, err := libcni.ConfListFromFile(*listPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "refbench: %s: %v\n", *listPath, err)
		os.Exit(1)
	}
	cfg := libcni.NewCNIConfigWithCacheDir(strings.Split(*dirs, ":"), *cache, nil)

	items := make([]item, len(netns))
	for k := range items {
		items[k].id = fmt.Sprintf("%s-%d", *prefix, *start+k)
		if *hostPort != 0 {
			port := *hostPort + *start + k
			if port > 65535 {
				fmt.Fprintf(os.Stderr, "refbench: host port %d out of range\n", port)
				os.Exit(2)
			}
			items[k].caps = map[string]interface{}{"portMappings": []interface{}{
				map[string]interface{}{"hostPort": port, "containerPort": 80, "protocol": "tcp"}}}
		}
	}

	out := os.Stdout
	total := 0
	ctx := context.Background()
	for _, op := range ops {
		runOne := func(k int) {
			it := &items[k]
			rt := &libcni.RuntimeConf{ContainerID: it.id, NetNS: netns[k], IfName: *ifname,
				CapabilityArgs: it.caps}
			t0 := time.Now()
			var err error
			switch op {
			case "add":
				_, err = cfg.AddNetworkList(ctx, list, rt)
			case "check":
				err = cfg.CheckNetworkList(ctx, list, rt)
			default:
				err = cfg.DelNetworkList(ctx, list, rt)
			}
			it.us = float64(time.Since(t0).Nanoseconds()) / 1e3
			it.err = err
		}

		var next int64 = -1
		t0 := time.Now()
		var wg sync.WaitGroup
		for j := 0; j < *jobs; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(atomic.AddInt64(&next, 1))
					if k >= len(items) {
						return
					}
					runOne(k)
				}
			}()
		}
		wg.Wait()
		wall := float64(time.Since(t0).Nanoseconds()) / 1e3

		errors := 0
		for k := range items {
			it := &items[k]
			line := map[string]interface{}{"op": op, "k": k, "us": float64(int64(it.us*10)) / 10,
				"ok": it.err == nil}
			if it.err != nil {
				line["err"] = it.err.Error()
				fmt.Fprintf(os.Stderr, "refbench: %s %s: %v\n", op, it.id, it.err)
				errors++
			}
			b, _ := json.Marshal(line)
			fmt.Fprintln(out, string(b))
		}
		b, _ := json.Marshal(map[string]interface{}{"phase": op, "n": len(items), "jobs": *jobs,
			"wall_us": float64(int64(wall*10)) / 10, "errors": errors})
		fmt.Fprintln(out, string(b))
		total += errors
	}
	if total != 0 {
		os.Exit(1)
	}
}
