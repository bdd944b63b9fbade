// Command regbench drives the registry benchmarks of bench/run.sh: the
// bulk-load comparison against a raw COPY of the same rows, and sampling
// PINs for the lookup load (which wrk generates). It prints JSON for the
// script to record.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: regbench bulk|pins [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	var (
		out any
		err error
	)
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	switch os.Args[1] {
	case "bulk":
		out, err = runBulk(ctx, fs, os.Args[2:])
	case "pins":
		err = runPins(ctx, fs, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "regbench:", err)
		os.Exit(1)
	}
	if out != nil {
		_ = json.NewEncoder(os.Stdout).Encode(out)
	}
}
