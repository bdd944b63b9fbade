package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
)

// withPartners gives the API the partner service and, when the OpenID
// provider runs, its tokens (partners' client credentials, citizens'
// bearer tokens).
func (a *app) withPartners(api *httpapi.API) *httpapi.API {
	api = api.WithPartners(a.verify)
	if a.oidc != nil {
		api = api.WithTokens(a.oidc.p)
	}
	return api
}

// partnerCommands are the admin subcommands of this file.
var partnerCommands = map[string]func(context.Context, []string, func(string) string, io.Writer) error{
	"create-partner":     cmdCreatePartner,
	"update-partner":     cmdUpdatePartner,
	"disable-partner":    cmdDisablePartner,
	"partners":           cmdListPartners,
	"show-partner":       cmdShowPartner,
	"add-partner-client": cmdAddPartnerClient,
}

const partnerUsage = `partners:
  cancuoc admin create-partner --id ID --name N --kind bank --operation match --field full_name ... --purpose P --legal-basis L
                               [--per-minute N] [--per-day N] [--event-type T] [--document-type T] [--client-id C --jwks FILE]
  cancuoc admin update-partner --id ID [any create-partner flag: the lists given replace the policy's]
  cancuoc admin disable-partner --id ID
  cancuoc admin partners | show-partner --id ID
  cancuoc admin add-partner-client --partner ID --client-id C --jwks FILE   (private_key_jwt, client credentials)`

// policyFlags are the flags that describe a partner.
type policyFlags struct {
	id, name, kind, purpose, legal string
	ops, fields, events, docs      stringList
	perMinute, perDay              int
	clientID, jwks                 string
}

func (p *policyFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&p.id, "id", "", "partner ID (a-z, 0-9, . _ -)")
	fs.StringVar(&p.name, "name", "", "the partner's name")
	fs.StringVar(&p.kind, "kind", "", "ministry, bank, hospital, telecom or portal")
	fs.StringVar(&p.purpose, "purpose", "", "stated purpose of its use of the registry")
	fs.StringVar(&p.legal, "legal-basis", "", "legal basis (law, decree, circular)")
	fs.Var(&p.ops, "operation", "allowed operation: match, release, reconcile, subscribe, issue_documents (repeatable, or comma-separated)")
	fs.Var(&p.fields, "field", "record field it may compare or receive, e.g. full_name (repeatable, or comma-separated)")
	fs.Var(&p.events, "event-type", "event type it may subscribe to (repeatable)")
	fs.Var(&p.docs, "document-type", "document type it may issue (repeatable)")
	fs.IntVar(&p.perMinute, "per-minute", 0, "quota: requests per minute (0: none)")
	fs.IntVar(&p.perDay, "per-day", 0, "quota: requests per day (0: none)")
	fs.StringVar(&p.clientID, "client-id", "", "also register the partner's system as this OpenID client (needs --jwks)")
	fs.StringVar(&p.jwks, "jwks", "", "file with the system's public JWKS, for private_key_jwt")
}

// split turns repeated and comma-separated values into one list.
func split(l stringList) []string {
	var out []string
	for _, v := range l {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (p *policyFlags) policy() cancuoc.PartnerPolicy {
	pol := cancuoc.PartnerPolicy{Fields: split(p.fields), Purpose: p.purpose, LegalBasis: p.legal, EventTypes: split(p.events),
		DocumentTypes: split(p.docs), Quota: cancuoc.Quota{PerMinute: p.perMinute, PerDay: p.perDay}}
	for _, o := range split(p.ops) {
		pol.Operations = append(pol.Operations, cancuoc.PartnerOp(o))
	}
	return pol
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// withApp parses the flags and runs fn on the opened app.
func withApp(ctx context.Context, name string, args []string, getenv func(string) string, bind func(*flag.FlagSet),
	fn func(*app, *Config, *oidcConfig, *flag.FlagSet) error) error {
	fs := flag.NewFlagSet("admin "+name, flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	oc := bindOIDC(fs, getenv)
	bind(fs)
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
	return fn(a, c, oc, fs)
}

func cmdCreatePartner(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var pf policyFlags
	return withApp(ctx, "create-partner", args, getenv, pf.bind, func(a *app, c *Config, oc *oidcConfig, _ *flag.FlagSet) error {
		if (pf.clientID == "") != (pf.jwks == "") {
			return errors.New("--client-id and --jwks go together")
		}
		p, err := a.verify.Create(ctx, nil, partner.NewPartner{ID: pf.id, Name: pf.name, Kind: cancuoc.PartnerKind(pf.kind), Policy: pf.policy()})
		if err != nil {
			return err
		}
		printJSON(stdout, p)
		if pf.clientID != "" {
			return addPartnerClient(ctx, a, c, oc, p, pf.clientID, pf.jwks, stdout)
		}
		return nil
	})
}

// addPartnerClient registers a partner's system as a client of the client
// credentials grant authenticating with private_key_jwt.
func addPartnerClient(ctx context.Context, a *app, c *Config, oc *oidcConfig, p *cancuoc.Partner, clientID, jwksFile string, stdout io.Writer) error {
	jwks, err := os.ReadFile(jwksFile)
	if err != nil {
		return err
	}
	prov, err := newOIDC(a, nil, c, oc, newLogger(os.Stderr, c))
	if err != nil {
		return err
	}
	cl, _, err := prov.CreateClient(ctx, nil, oidc.NewClient{ID: clientID, Name: p.Name, Purpose: p.Policy.Purpose,
		AuthMethod: cancuoc.ClientAuthPrivateKeyJWT, JWKS: jwks, GrantTypes: []string{cancuoc.GrantClientCredentials}, PartnerID: p.ID})
	if err != nil {
		return err
	}
	printJSON(stdout, cl)
	return nil
}

func cmdAddPartnerClient(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var id, clientID, jwks string
	return withApp(ctx, "add-partner-client", args, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&id, "partner", "", "partner ID")
		fs.StringVar(&clientID, "client-id", "", "the system's OpenID client ID")
		fs.StringVar(&jwks, "jwks", "", "file with the system's public JWKS")
	}, func(a *app, c *Config, oc *oidcConfig, _ *flag.FlagSet) error {
		p, err := a.verify.Get(ctx, nil, id)
		if err != nil {
			return err
		}
		return addPartnerClient(ctx, a, c, oc, p, clientID, jwks, stdout)
	})
}

func cmdUpdatePartner(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var pf policyFlags
	return withApp(ctx, "update-partner", args, getenv, pf.bind, func(a *app, _ *Config, _ *oidcConfig, fs *flag.FlagSet) error {
		cur, err := a.verify.Get(ctx, nil, pf.id)
		if err != nil {
			return err
		}
		ch := partner.Change{Version: cur.Version}
		pol, set := cur.Policy, pf.policy()
		touched := false
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "name":
				ch.Name = &pf.name
			case "kind":
				k := cancuoc.PartnerKind(pf.kind)
				ch.Kind = &k
			case "purpose":
				pol.Purpose, touched = set.Purpose, true
			case "legal-basis":
				pol.LegalBasis, touched = set.LegalBasis, true
			case "operation":
				pol.Operations, touched = set.Operations, true
			case "field":
				pol.Fields, touched = set.Fields, true
			case "event-type":
				pol.EventTypes, touched = set.EventTypes, true
			case "document-type":
				pol.DocumentTypes, touched = set.DocumentTypes, true
			case "per-minute":
				pol.Quota.PerMinute, touched = set.Quota.PerMinute, true
			case "per-day":
				pol.Quota.PerDay, touched = set.Quota.PerDay, true
			}
		})
		if touched {
			ch.Policy = &pol
		}
		p, err := a.verify.Update(ctx, nil, pf.id, ch)
		if err != nil {
			return err
		}
		printJSON(stdout, p)
		return nil
	})
}

func cmdDisablePartner(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var id string
	return withApp(ctx, "disable-partner", args, getenv, func(fs *flag.FlagSet) { fs.StringVar(&id, "id", "", "partner ID") },
		func(a *app, _ *Config, _ *oidcConfig, _ *flag.FlagSet) error {
			p, err := a.verify.Disable(ctx, nil, id)
			if err != nil {
				return err
			}
			printJSON(stdout, p)
			return nil
		})
}

func cmdListPartners(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return withApp(ctx, "partners", args, getenv, func(*flag.FlagSet) {}, func(a *app, _ *Config, _ *oidcConfig, _ *flag.FlagSet) error {
		ps, err := a.verify.List(ctx, nil)
		if err != nil {
			return err
		}
		for _, p := range ps {
			state := "active"
			if p.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(stdout, "%-20s %-9s %-8s %v  %s\n", p.ID, p.Kind, state, p.Policy.Operations, p.Name)
		}
		return nil
	})
}

func cmdShowPartner(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var id string
	return withApp(ctx, "show-partner", args, getenv, func(fs *flag.FlagSet) { fs.StringVar(&id, "id", "", "partner ID") },
		func(a *app, _ *Config, _ *oidcConfig, _ *flag.FlagSet) error {
			p, err := a.verify.Get(ctx, nil, id)
			if err != nil {
				return err
			}
			printJSON(stdout, p)
			return nil
		})
}
