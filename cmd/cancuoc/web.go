package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/web"
)

// webConfig is the web product's part of the configuration.
type webConfig struct {
	ConsolePasskey bool // CANCUOC_CONSOLE_PASSKEY: officers must log in with a passkey
}

// bindWeb registers the web product's flags.
func bindWeb(fs *flag.FlagSet, getenv func(string) string) *webConfig {
	wc := &webConfig{}
	fs.BoolVar(&wc.ConsolePasskey, "console-passkey", getenv("CANCUOC_CONSOLE_PASSKEY") != "false",
		"officers must log in to the console with a passkey (CANCUOC_CONSOLE_PASSKEY=false to allow other level-2 factors in a demo)")
	return wc
}

// newStats is the dashboard's figures over the app's store, shared by the
// JSON API and the pages; serve counts the national figures in the
// background once the registry holds its data (runFigures).
func (a *app) newStats() *stats.Service {
	if a.stats == nil {
		a.stats = stats.New(stats.WithSnapshots(a.store)).Builtin(a.store)
		a.stats.SetPartnerResults(reconcile.PartnerResults(a.store))
	}
	return a.stats
}

// mountWeb adds the dashboard, and, with the OpenID provider, the citizen
// portal and the officers' console, each logging in through the provider
// as a registered client of its own.
func (a *app) mountWeb(ctx context.Context, mux *http.ServeMux, c *Config, oc *oidcConfig, wc *webConfig, log *slog.Logger) error {
	secret, err := oc.secret(c)
	if err != nil {
		return err
	}
	site, err := web.NewSite(web.SiteConfig{Secret: secret, Secure: !strings.HasPrefix(oc.Issuer, "http://") && oc.Issuer != "", Log: log,
		Sessions: a.store})
	if err != nil {
		return err
	}
	site.WithDashboard(a.newStats())
	if a.oidc != nil && a.eid != nil {
		p := a.oidc.p
		origin := strings.TrimSuffix(p.Issuer(), p.BasePath())
		portal, err := webClient(ctx, p, c, oidc.NewClient{ID: "cancuoc-portal", Name: "Cổng công dân cancuoc",
			Purpose: "Cho công dân xem hồ sơ, nhật ký truy cập và sự đồng ý của mình", RedirectURIs: []string{origin + "/portal/callback"},
			Scopes: []string{oidc.ScopePID}})
		if err != nil {
			return err
		}
		console, err := webClient(ctx, p, c, oidc.NewClient{ID: "cancuoc-console", Name: "Giao diện cán bộ cancuoc",
			Purpose: "Cán bộ đăng nhập để làm việc", RedirectURIs: []string{origin + "/console/callback"},
			Scopes: []string{oidc.ScopePID}, MinLevel: 2})
		if err != nil {
			return err
		}
		site.WithPortal(web.RPConfig{Issuer: p.Issuer(), ClientID: "cancuoc-portal", ClientSecret: portal, RedirectURL: origin + "/portal/callback"},
			web.PortalDeps{Registry: a.reg, AccessLog: a.log, EID: a.eid, Consents: p, Directory: a.store, Accounts: a.store})
		site.WithPortalServices(web.PortalServices{Wallet: a.wallet, Workflow: a.wf, Residence: a.newResidence(), Audit: a.audit})
		site.WithConsole(web.RPConfig{Issuer: p.Issuer(), ClientID: "cancuoc-console", ClientSecret: console,
			RedirectURL: origin + "/console/callback", ACRValues: oidc.ACRLevel2},
			web.ConsoleDeps{Registry: a.reg, Principals: a.store, RequirePasskey: wc.ConsolePasskey, Quality: qualityStats(a.store),
				Workflow: a.wf,
				Partners: a.verify,
				Clients:  p,
				Audit:    a.store,
				Lists:    a.lists})
		if a.apps != nil {
			site.WithApplications(a.apps)
		}
	}
	site.Routes(mux)
	return nil
}

// webClient registers a site's OpenID client on first start and keeps its
// secret in the data directory (only a hash is in the database), so later
// starts find it again.
func webClient(ctx context.Context, p *oidc.Provider, c *Config, n oidc.NewClient) (string, error) {
	path := filepath.Join(c.DataDir, n.ID+"-client-secret")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	_, secret, err := p.CreateClient(ctx, nil, n)
	var e *cancuoc.Error
	if errors.As(err, &e) && e.Kind == cancuoc.Conflict {
		return "", fmt.Errorf("the OpenID client %s exists but its secret file %s is missing: restore the file, or use a fresh database", n.ID, path)
	}
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store the client secret: %w", err)
	}
	return secret, nil
}

// qualityStats is the console's data-quality figures, on a service of its
// own since they are not public.
func qualityStats(st cancuoc.StatsStore) *stats.Service {
	s := stats.New(stats.WithMinCount(1)) // officers, not the public: no suppression
	s.Register(stats.Quality(st))
	return s
}
