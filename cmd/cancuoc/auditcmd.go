package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
)

// openAuditLog loads the log's signing key (creating it on a first start,
// when create is set) and wires the tamper-evident log over the app's
// store. Without a key file and without create, the log only reads.
func (a *app) openAuditLog(c *Config, create bool) (created bool, err error) {
	var key ed25519.PrivateKey
	if create {
		key, created, err = auditlog.LoadOrCreateKey(c.AuditKey)
	} else if b, rerr := os.ReadFile(c.AuditKey); rerr == nil {
		key, err = auditlog.ParsePrivateKey(b)
	} else if !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	if err != nil {
		return false, fmt.Errorf("audit log key %s: %w", c.AuditKey, err)
	}
	a.log = auditlog.New(a.store, key, a.audit, auditlog.WithCitizenPrincipal(cancuoc.SelfPIN))
	return created, nil
}

// startAuditLog wires the log for serve and signs tree heads periodically
// until ctx ends.
func (a *app) startAuditLog(ctx context.Context, c *Config, log *slog.Logger) error {
	created, err := a.openAuditLog(c, true)
	if err != nil {
		return err
	}
	if created {
		// The public half is what auditors verify exports with; a new key
		// is worth a line in the log (it is not secret).
		pub, _ := auditlog.MarshalPublicKey(a.log.PublicKey())
		log.Info("created the access log's signing key", "file", c.AuditKey, "key_id", auditlog.KeyID(a.log.PublicKey()),
			"public_key", string(pub))
	}
	if c.AuditCheckpoint > 0 {
		go a.log.Run(ctx, c.AuditCheckpoint, log)
	}
	return nil
}

const auditUsage = `usage:
  cancuoc audit export [--from N] [--to M] [--out FILE] [--checkpoint=false]
      write entries N…M (default: all) and their signed tree heads as JSON Lines
  cancuoc audit verify FILE [--pubkey FILE]
      prove an export intact, or name the first entry changed, removed or reordered
  cancuoc audit checkpoint
      sign a tree head over the log now
`

// cmdAudit runs "cancuoc audit export|verify|checkpoint".
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, auditUsage)
		return fmt.Errorf("audit: a subcommand is required")
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	switch args[0] {
	case "export":
		from := fs.Int64("from", 1, "first entry to export")
		to := fs.Int64("to", 0, "last entry to export; 0 for the newest")
		out := fs.String("out", "", "file to write; standard output when empty")
		checkpoint := fs.Bool("checkpoint", true, "sign a tree head first so the newest entries are covered (needs the key)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := validate(); err != nil {
			return err
		}
		return auditExport(ctx, c, *from, *to, *out, *checkpoint, stdout)
	case "verify":
		pubFile := fs.String("pubkey", "", "PEM public key (or the private key file) of the log; default the --audit-key file")
		// The file comes first ("verify FILE --pubkey K"); flags may follow it.
		var file string
		rest := args[1:]
		if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
			file, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if file == "" && fs.NArg() == 1 {
			file = fs.Arg(0)
		}
		if file == "" {
			return fmt.Errorf("audit verify: the export FILE is required")
		}
		if err := validate(); err != nil {
			return err
		}
		if *pubFile == "" {
			*pubFile = c.AuditKey
		}
		return auditVerify(file, *pubFile, stdout)
	case "checkpoint":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := validate(); err != nil {
			return err
		}
		a, err := openApp(ctx, c)
		if err != nil {
			return err
		}
		defer a.Close()
		if _, err := a.openAuditLog(c, true); err != nil {
			return err
		}
		h, err := a.log.Checkpoint(ctx)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(h)
	}
	fmt.Fprint(stdout, auditUsage)
	return fmt.Errorf("audit: unknown subcommand %q", args[0])
}

func auditExport(ctx context.Context, c *Config, from, to int64, out string, checkpoint bool, stdout io.Writer) error {
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.openAuditLog(c, false); err != nil {
		return err
	}
	if checkpoint && a.log.PublicKey() != nil {
		if _, err := a.log.Checkpoint(ctx); err != nil {
			return err
		}
	}
	w := stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := a.log.Export(ctx, w, from, to); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && out != "" {
		return f.Close()
	}
	return nil
}

// errTampered makes verify exit non-zero; the report says why.
var errTampered = errors.New("the export is NOT intact / bản xuất KHÔNG nguyên vẹn")

func auditVerify(file, pubFile string, stdout io.Writer) error {
	kb, err := os.ReadFile(pubFile)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	pub, err := auditlog.ParsePublicKey(kb)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := auditlog.Verify(f, pub)
	if err != nil {
		return err
	}
	if p := rep.Problem; p != nil {
		fmt.Fprintf(stdout, "FAIL %s: %s (line %d)\n", p.Kind, p.Message, p.Line)
		return errTampered
	}
	fmt.Fprintf(stdout, "OK entries %d…%d intact: %d entries chained, %d signed tree heads verified (key %s)\n",
		rep.From, rep.To, rep.Entries, rep.Heads, auditlog.KeyID(pub))
	if rep.Blocks > 0 {
		fmt.Fprintf(stdout, "%d touched blocks of bulk jobs match their entries\n", rep.Blocks)
	}
	if rep.Unsigned > 0 {
		fmt.Fprintf(stdout, "note: the last %d entries are covered by the hash chain only; no tree head in the export signs them\n", rep.Unsigned)
	}
	if rep.Heads == 0 {
		fmt.Fprintln(stdout, "note: no signed tree head in the export: its integrity rests on the chain alone")
	}
	return nil
}
