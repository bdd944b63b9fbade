package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/mrtd"
)

// chipConfig is where chip verification finds its trust anchors.
type chipConfig struct {
	CSCA   string // --csca: PEM files, a directory, or an ICAO master list
	TestCA string // --chip-test-ca: the platform's own test CSCA; "off" for none
}

func bindChip(fs *flag.FlagSet, getenv func(string) string) *chipConfig {
	cc := &chipConfig{}
	fs.StringVar(&cc.CSCA, "csca", getenv("CANCUOC_CSCA"),
		"CSCA trust store for chip verification: a PEM file, an ICAO master list, or a directory of them (CANCUOC_CSCA)")
	fs.StringVar(&cc.TestCA, "chip-test-ca", getenv("CANCUOC_CHIP_TEST_CA"),
		"directory of the platform's test CSCA (created if absent), trusted for demo and integration testing; "+
			"default DATA_DIR/chip-test-ca when listening on loopback, off otherwise; \"off\" disables (CANCUOC_CHIP_TEST_CA)")
	return cc
}

// testCADir resolves the test CA's directory: explicit, or the data
// directory's on a loopback (development) server; "" when off.
func (cc *chipConfig) testCADir(c *Config) string {
	switch cc.TestCA {
	case "off":
		return ""
	case "":
		host, _, err := net.SplitHostPort(c.Addr)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return ""
		}
		return filepath.Join(c.DataDir, "chip-test-ca")
	}
	return cc.TestCA
}

// chipWiring is the chip capabilities of a running server.
type chipWiring struct {
	check *chipcheck.Checker
	cards *card.Service
}

// startChip loads the trust store and wires chip verification and card
// records. With no CSCA at all the routes still answer, refusing every
// card as signed by an unknown CSCA.
func (a *app) startChip(c *Config, cc *chipConfig, log *slog.Logger) error {
	trust := mrtd.NewTrustStore()
	now := time.Now()
	if cc.CSCA != "" {
		n, err := trust.LoadPath(cc.CSCA, now)
		if err != nil {
			return fmt.Errorf("--csca: %w", err)
		}
		log.Info("chip: CSCA trust store loaded", "certificates", n)
	}
	if dir := cc.testCADir(c); dir != "" {
		ca, created, err := mrtd.OpenTestCA(dir, mrtd.ECDSAP256, now)
		if err != nil {
			return fmt.Errorf("chip test CA in %s: %w", dir, err)
		}
		if _, err := trust.AddCertificate(ca.CSCA.Raw); err != nil {
			return err
		}
		log.Warn("chip: the platform's TEST CSCA is trusted (demo and integration testing only; --chip-test-ca off in production)",
			"dir", dir, "created", created)
	}
	if len(trust.CSCAs()) == 0 {
		log.Warn("chip: no CSCA configured (--csca): every card will be refused as signed by an unknown CSCA")
	}
	a.chip = &chipWiring{check: chipcheck.New(a.store, a.audit, trust, chipcheck.WithEID(a.eid)), cards: card.New(a.reg)}
	return nil
}

func (a *app) chipChecker() (*chipcheck.Checker, *card.Service) {
	if a.chip == nil {
		return nil, nil
	}
	return a.chip.check, a.chip.cards
}

const chipUsage = `usage:
  cancuoc chip personalize PIN --out DIR [--chip-test-ca DIR]   write a test card's chip data for a citizen
  cancuoc chip expire-cards [--province P]                       mark cards past their expiry as expired`

func cmdChip(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", chipUsage)
	}
	switch args[0] {
	case "personalize":
		return cmdPersonalize(ctx, args[1:], getenv, stdout)
	case "expire-cards":
		return cmdExpireCards(ctx, args[1:], getenv, stdout)
	}
	return fmt.Errorf("unknown chip command %q\n%s", args[0], chipUsage)
}

// cmdPersonalize writes the complete chip data of a test card for a
// citizen's current card on record, signed under the platform's test CSCA:
// each file as a reader returns it, the MRZ, the chip's active-
// authentication key (so a partner's test reader can answer challenges as
// the chip would), the test CSCA, and verification.json, a request body
// for POST /v1/chip/verifications. Reading the record is logged.
func cmdPersonalize(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chip personalize", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	cc := bindChip(fs, getenv)
	out := fs.String("out", "", "directory to write the card's files to (created)")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%s", chipUsage)
	}
	pinArg := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("--out DIR is required")
	}
	pin, err := cancuoc.ParsePIN(pinArg, time.Now().Year())
	if err != nil {
		return err
	}
	dir := cc.TestCA
	if dir == "" || dir == "off" {
		dir = filepath.Join(c.DataDir, "chip-test-ca")
	}
	now := time.Now()
	ca, _, err := mrtd.OpenTestCA(dir, mrtd.ECDSAP256, now)
	if err != nil {
		return fmt.Errorf("chip test CA in %s: %w", dir, err)
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	cit, err := a.store.Citizen(ctx, pin)
	if err != nil {
		return err
	}
	if err := a.audit.Record(ctx, &cancuoc.AuditEntry{At: now.UTC().Truncate(time.Microsecond), Actor: "cli:chip-personalize",
		Action: "chip.personalize", PIN: pin, Fields: []string{"*"}, Purpose: "test card for integration testing", Outcome: "ok"}); err != nil {
		return err
	}
	k, err := ca.Personalize(cit, mrtd.CardOptions{Now: now})
	if err != nil {
		return err
	}
	if err := writeCard(*out, k, ca); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "test card of %s written to %s (issued %s, expires %s)\n", pin, *out, k.IssuedOn, orNever(k.ExpiresOn))
	return nil
}

func orNever(d cancuoc.Date) string {
	if d.IsZero() {
		return "never"
	}
	return d.String()
}

// writeCard writes a test card's files.
func writeCard(dir string, k *mrtd.TestCard, ca *mrtd.TestCA) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := k.AAKeyPEM()
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(map[string]any{"chip": k.Chip, "access": "pace", "purpose": "integration test"}, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"EF.COM": k.Chip.COM, "EF.SOD": k.Chip.SOD, "mrz.txt": []byte(k.MRZ.String() + "\n"),
		"aa-key.pem": key, "csca.pem": ca.CSCAPEM(), "verification.json": append(body, '\n')}
	for n, b := range k.Chip.DataGroups {
		files[fmt.Sprintf("DG%d", n)] = b
	}
	for name, b := range files {
		mode := os.FileMode(0o644)
		if name == "aa-key.pem" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
			return err
		}
	}
	return nil
}

// cmdExpireCards runs card.ExpireCards as the system (national scope, or
// one province), each change a version written by "system:card-expiry".
func cmdExpireCards(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("chip expire-cards", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	province := fs.String("province", "", "only this province (today's code); all when empty")
	if err := fs.Parse(args); err != nil {
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
	sys := &cancuoc.Principal{ID: "system:card-expiry", Name: "card expiry sweep", Role: cancuoc.RoleNationalAdmin, Agency: "cancuoc"}
	n, err := card.New(a.reg).ExpireCards(ctx, sys, *province)
	fmt.Fprintf(stdout, "%d records with cards newly marked expired\n", n)
	return err
}
