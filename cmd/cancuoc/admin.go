package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

func cmdAdmin(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "create-webhook" {
		return cmdCreateWebhook(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "rotate-webhook-key" {
		return cmdRotateWebhookKey(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "enable-webhook" {
		return cmdEnableWebhook(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "create-client" {
		return cmdCreateClient(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && partnerCommands[args[0]] != nil {
		return partnerCommands[args[0]](ctx, args[1:], getenv, stdout)
	}
	if len(args) == 0 || args[0] != "create-principal" {
		return fmt.Errorf("usage: cancuoc admin create-principal --name NAME --role ROLE [--province CODE] [--commune CODE] [--agency A] [--officer-pin PIN]\n%s\n%s", partnerUsage, webhookUsage)
	}
	fs := flag.NewFlagSet("admin create-principal", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	var np registry.NewPrincipal
	var role string
	fs.StringVar(&np.Name, "name", "", "display name of the officer or system")
	fs.StringVar(&role, "role", "", "commune_officer, province_officer, national_admin, ministry_system, auditor or lodging")
	fs.StringVar(&np.Jurisdiction.Province, "province", "", "province code in today's 34-province set (e.g. 01 for Hà Nội)")
	fs.StringVar(&np.Jurisdiction.Commune, "commune", "", "commune code in today's set (for a commune officer)")
	fs.StringVar(&np.Agency, "agency", "", "agency the principal acts for")
	fs.StringVar(&np.OfficerPIN, "officer-pin", "", "the officer's own PIN (links the principal to their eID later)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	np.Role = cancuoc.Role(role)
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	p, key, err := a.reg.CreatePrincipal(ctx, nil, np)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(p)
	fmt.Fprintf(stdout, "API key (shown once; store it safely): %s\n", key)
	return nil
}
