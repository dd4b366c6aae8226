// SPDX-License-Identifier: Apache-2.0

// Checks the conf golden cases against the reference Go libcni that is installed
// (Debian's 1.1.2). Run from the repository root:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run tests/data/conf/gen/main.go
//
// Each case prints "ok", "head-only" (the expectation follows behaviour newer than the
// installed reference, named by the case's "headOnly" field; what 1.1.2 does is shown)
// or "MISMATCH". The exit status is 1 when any case mismatches.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

type expectation struct {
	Load       string   `json:"load"`
	Name       *string  `json:"name"`
	Type       string   `json:"type"`
	CNIVersion *string  `json:"cniVersion"`
	DisableChk *bool    `json:"disableCheck"`
	Plugins    []string `json:"plugins"`
	PluginB    []string `json:"pluginBytes"`
	Bytes      string   `json:"bytes"`
	IpamType   *string  `json:"ipamType"`
	Inject     *struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"inject"`
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	MsgPrefix  string `json:"msgPrefix"`
	RefMsg     string `json:"refMsg"`
	RefAccepts string `json:"refAccepts"`
	HeadOnly   string `json:"headOnly"`
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// run the reference on a case; returns a summary comparable with the expectation
func run(dir string, e *expectation) (map[string]interface{}, error) {
	got := map[string]interface{}{}
	list := func(l *libcni.NetworkConfigList) {
		got["name"] = l.Name
		got["cniVersion"] = l.CNIVersion
		got["disableCheck"] = l.DisableCheck
		var types, bytes []string
		for _, p := range l.Plugins {
			types = append(types, p.Network.Type)
			bytes = append(bytes, string(p.Bytes))
		}
		got["plugins"] = types
		got["pluginBytes"] = bytes
		got["bytes"] = string(l.Bytes)
	}
	switch {
	case e.Load != "":
		l, err := libcni.LoadConfList(filepath.Join(dir, "dir"), e.Load)
		if err != nil {
			return nil, err
		}
		list(l)
	case exists(filepath.Join(dir, "input.conflist")):
		l, err := libcni.ConfListFromFile(filepath.Join(dir, "input.conflist"))
		if err != nil {
			return nil, err
		}
		list(l)
	default:
		c, err := libcni.ConfFromFile(filepath.Join(dir, "input.conf"))
		if err != nil {
			return nil, err
		}
		if e.Inject != nil {
			var v interface{}
			if err := json.Unmarshal([]byte(e.Inject.Value), &v); err != nil {
				return nil, err
			}
			c, err = libcni.InjectConf(c, map[string]interface{}{e.Inject.Key: v})
			if err != nil {
				return nil, err
			}
			got["bytes"] = string(c.Bytes)
		}
		got["name"] = c.Network.Name
		got["type"] = c.Network.Type
		got["cniVersion"] = c.Network.CNIVersion
		got["ipamType"] = c.Network.IPAM.Type
	}
	return got, nil
}

func check(dir string, e *expectation, got map[string]interface{}, err error) []string {
	var diffs []string
	sub := func(s string) string { return strings.ReplaceAll(s, "$CASE", dir) }
	if e.Code != 0 || e.Msg != "" || e.MsgPrefix != "" {
		if e.RefAccepts != "" {
			if err != nil {
				diffs = append(diffs, fmt.Sprintf("reference should accept, got %q", err))
			}
			return diffs
		}
		want := e.Msg
		if e.RefMsg != "" {
			want = e.RefMsg
		}
		if err == nil {
			return append(diffs, fmt.Sprintf("reference accepted, want error %q", sub(want)))
		}
		if err.Error() != sub(want) {
			diffs = append(diffs, fmt.Sprintf("error %q, want %q", err, sub(want)))
		}
		return diffs
	}
	if err != nil {
		return append(diffs, fmt.Sprintf("reference failed: %v", err))
	}
	cmp := func(k string, want interface{}) {
		if !reflect.DeepEqual(got[k], want) {
			diffs = append(diffs, fmt.Sprintf("%s: reference %#v, want %#v", k, got[k], want))
		}
	}
	if e.Name != nil {
		cmp("name", *e.Name)
	}
	if e.CNIVersion != nil {
		cmp("cniVersion", *e.CNIVersion)
	}
	if e.DisableChk != nil {
		cmp("disableCheck", *e.DisableChk)
	}
	if e.Plugins != nil {
		cmp("plugins", e.Plugins)
	}
	if e.PluginB != nil {
		cmp("pluginBytes", e.PluginB)
	}
	if e.Bytes != "" {
		cmp("bytes", e.Bytes)
	}
	if e.Type != "" {
		cmp("type", e.Type)
	}
	if e.IpamType != nil {
		cmp("ipamType", *e.IpamType)
	}
	return diffs
}

func main() {
	root := "tests/data/conf"
	var cases []string
	for _, kind := range []string{"valid", "invalid"} {
		ents, _ := os.ReadDir(filepath.Join(root, kind))
		for _, d := range ents {
			cases = append(cases, filepath.Join(root, kind, d.Name()))
		}
	}
	sort.Strings(cases)
	failed := false
	for _, c := range cases {
		abs, _ := filepath.Abs(c)
		raw, err := os.ReadFile(filepath.Join(c, "expected.json"))
		if err != nil {
			fmt.Printf("MISMATCH %s: %v\n", c, err)
			failed = true
			continue
		}
		var e expectation
		if err := json.Unmarshal(raw, &e); err != nil {
			fmt.Printf("MISMATCH %s: %v\n", c, err)
			failed = true
			continue
		}
		got, rerr := run(abs, &e)
		diffs := check(abs, &e, got, rerr)
		switch {
		case len(diffs) == 0:
			fmt.Printf("ok        %s\n", c)
		case e.HeadOnly != "":
			fmt.Printf("head-only %s (%s): %s\n", c, e.HeadOnly, strings.Join(diffs, "; "))
		default:
			fmt.Printf("MISMATCH  %s: %s\n", c, strings.Join(diffs, "; "))
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
