// SPDX-License-Identifier: Apache-2.0

// Command gen writes the golden outputs of tests/data/result with the reference: Debian's
// Go libcni (golang-github-appc-cni-dev, cni 1.1.x, results up to 1.0.0).
//
//	cd tests/data/result && GO111MODULE=off GOPATH=/usr/share/gocode go run gen/gen.go valid/* invalid/*
//
// valid/<case>/input.json  -> valid/<case>/<version>.json, or <version>.error when the
// reference refuses the conversion, for every version this reference knows. Cases with a
// file named "from-head" are skipped: their goldens are written by hand from the newest
// reference source (see ../README.md).
// invalid/<case>/input.json -> invalid/<case>/go-error: the reference's own message, kept
// for comparison (our message is in invalid/<case>/error).
// A file "as-version" in a case makes it parsed with create.Create(<that version>, input)
// instead of create.CreateFromBytes(input).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	_ "github.com/containernetworking/cni/pkg/types/020"
	_ "github.com/containernetworking/cni/pkg/types/040"
	_ "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

var targets = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"}

func parse(dir string, input []byte) (types.Result, error) {
	if v, err := os.ReadFile(filepath.Join(dir, "as-version")); err == nil {
		return create.Create(strings.TrimSpace(string(v)), input)
	}
	return create.CreateFromBytes(input)
}

func write(path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func main() {
	for _, dir := range os.Args[1:] {
		input, err := os.ReadFile(filepath.Join(dir, "input.json"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		invalid := filepath.Base(filepath.Dir(dir)) == "invalid"
		if invalid {
			if _, err := parse(dir, input); err != nil {
				write(filepath.Join(dir, "go-error"), err.Error()+"\n")
			} else {
				write(filepath.Join(dir, "go-error"), "(accepted by the reference)\n")
			}
			continue
		}
		if exists(filepath.Join(dir, "from-head")) {
			continue
		}
		for _, v := range targets {
			// parse afresh each time: a same-version conversion hands back the original
			res, err := parse(dir, input)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
				os.Exit(1)
			}
			conv, err := res.GetAsVersion(v)
			if err != nil {
				write(filepath.Join(dir, v+".error"), err.Error()+"\n")
				os.Remove(filepath.Join(dir, v+".json"))
				continue
			}
			// what Result.PrintTo writes (types.PrintResult)
			data, err := json.MarshalIndent(conv, "", "    ")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			write(filepath.Join(dir, v+".json"), string(data))
			os.Remove(filepath.Join(dir, v+".error"))
		}
	}
}
