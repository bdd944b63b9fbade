// Command cancuoc runs the national population registry: `serve` starts the
// platform (on an embedded SQLite file by default, PostgreSQL when given a
// URL), `seed` loads a synthetic population, `admin` manages principals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cancuoc/cancuoc"
)

const usage = `cancuoc — national population registry and digital identity platform

usage:
  cancuoc serve  [flags]     run the platform (SQLite in ./cancuoc-data by default; --database postgres://…)
  cancuoc seed   --citizens N [--seed S] [--partner-dataset FILE --partner-n N]   load a synthetic population
  cancuoc reconcile FILE [--report OUT] [--reveal FIELDS] | --resume JOB   match a partner's records against the registry
  cancuoc admin  create-principal --name N --role R [--province P] [--commune C]
  cancuoc migrate [flags]    apply database migrations and exit
  cancuoc chip   personalize PIN --out DIR | expire-cards [--province P]
  cancuoc audit  export [--from N] [--to M] [--out FILE] | verify FILE [--pubkey FILE] | checkpoint
  cancuoc verify-doc [--keys FILE] [--status FILE] [--nonce N --aud A] [--offline] FILE|-   check a wallet document
Run "cancuoc COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		var e *cancuoc.Error
		if errors.As(err, &e) && e.MessageEN != "" {
			fmt.Fprintf(os.Stderr, "cancuoc: %s\n  (%s)\n", e.MessageEN, e.MessageVI)
		} else {
			fmt.Fprintf(os.Stderr, "cancuoc: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return fmt.Errorf("a command is required")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], getenv, stdout)
	case "seed":
		return cmdSeed(ctx, args[1:], getenv, stdout)
	case "admin":
		return cmdAdmin(ctx, args[1:], getenv, stdout)
	case "migrate":
		return cmdMigrate(ctx, args[1:], getenv, stdout)
	case "audit":
		return cmdAudit(ctx, args[1:], getenv, stdout)
	case "chip":
		return cmdChip(ctx, args[1:], getenv, stdout)
	case "verify-doc":
		return cmdVerifyDoc(ctx, args[1:], stdout)
	case "reconcile":
		return cmdReconcile(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// cmdMigrate opens the store, which applies pending migrations, and exits.
func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied:", c.Masked())
	return st.Close()
}
