// Command oidcbench drives the OpenID provider benchmark of bench/oidc.sh:
// complete authorization code + PKCE logins (authorize, login page,
// password and TOTP or a passkey, consent already given, code, token,
// userinfo) against a running `cancuoc serve`, the argon2id hash rate at
// the configured parameters, and a plain Go HTTP handler as the reference
// for token introspection (which wrk drives). It prints JSON for the script
// to record.
//
//	oidcbench prepare -database DB -secret HEX -issuer URL -accounts N -passkeys P -state FILE
//	oidcbench run     -state FILE -mode totp|passkey -c 16 -d 20s
//	oidcbench token   -state FILE          (one flow; prints an access token)
//	oidcbench hash    -d 10s -threads 2
//	oidcbench plain   -addr 127.0.0.1:18861
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
		fmt.Fprintln(os.Stderr, "usage: oidcbench prepare|run|token|hash|plain [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var (
		out any
		err error
	)
	switch os.Args[1] {
	case "prepare":
		out, err = runPrepare(ctx, fs, os.Args[2:])
	case "run":
		out, err = runFlows(ctx, fs, os.Args[2:])
	case "token":
		out, err = runToken(ctx, fs, os.Args[2:])
	case "hash":
		out, err = runHash(fs, os.Args[2:])
	case "plain":
		err = runPlain(fs, os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcbench:", err)
		os.Exit(1)
	}
	if out != nil {
		_ = json.NewEncoder(os.Stdout).Encode(out)
	}
}

// fatal lets the software authenticator report a failure outside tests.
type fatal struct{}

func (fatal) Helper()           {}
func (fatal) Fatal(args ...any) { panic(fmt.Sprint(args...)) }
