package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
)

// oidcConfig is the OpenID provider's part of the configuration.
type oidcConfig struct {
	Issuer string // CANCUOC_OIDC_ISSUER, default http://ADDR/oidc
	Secret string // CANCUOC_OIDC_SECRET(_FILE): hex, ≥32 bytes; default DATA_DIR/oidc-secret, created on first start
	// SealFramed: CANCUOC_OIDC_SEAL_FRAMED=1 (oidc.Config.SealFramed).
	SealFramed bool
}

// bindOIDC registers the provider's flags.
func bindOIDC(fs *flag.FlagSet, getenv func(string) string) *oidcConfig {
	oc := &oidcConfig{}
	secret := getenv("CANCUOC_OIDC_SECRET")
	if f := getenv("CANCUOC_OIDC_SECRET_FILE"); secret == "" && f != "" {
		if b, err := os.ReadFile(f); err == nil {
			secret = strings.TrimSpace(string(b))
		}
	}
	fs.StringVar(&oc.Issuer, "oidc-issuer", getenv("CANCUOC_OIDC_ISSUER"), "the OpenID provider's issuer URL, e.g. https://id.example.vn/oidc; default http://ADDR/oidc (CANCUOC_OIDC_ISSUER)")
	fs.StringVar(&oc.Secret, "oidc-secret", secret, "hex server secret of the OpenID provider (≥32 bytes); default DATA_DIR/oidc-secret, created on first start (CANCUOC_OIDC_SECRET, CANCUOC_OIDC_SECRET_FILE)")
	fs.BoolVar(&oc.SealFramed, "oidc-seal-framed", getenv("CANCUOC_OIDC_SEAL_FRAMED") == "1", "seal login pages' requests in the framed form (cheaper than JSON); set it only once every node runs this release or a later one, which read it (CANCUOC_OIDC_SEAL_FRAMED=1)")
	return oc
}

// secret returns the provider's secret: given, or kept in the data
// directory so that pairwise subjects and sealed keys survive restarts.
func (oc *oidcConfig) secret(c *Config) ([]byte, error) {
	return dataSecret(oc.Secret, "oidc-secret", c.DataDir, "oidc-secret", "OpenID secret")
}

// newOIDC builds the provider on the app's store with accounts checking
// citizens' factors (*eid.Service).
func newOIDC(a *app, accounts oidc.Accounts, c *Config, oc *oidcConfig, log *slog.Logger) (*oidc.Provider, error) {
	secret, err := oc.secret(c)
	if err != nil {
		return nil, err
	}
	issuer := oc.Issuer
	if issuer == "" {
		issuer = "http://" + c.Addr + "/oidc"
	}
	return oidc.New(a.store, accounts, oidc.Config{Issuer: issuer, Secret: secret,
		Insecure: strings.HasPrefix(issuer, "http://"), Log: log, TrustedProxies: a.proxies,
		Audit: a.audit, SealFramed: oc.SealFramed})
}

// mountOIDC serves the provider at its issuer path and the administrators'
// client registration API (POST/GET /v1/clients).
func mountOIDC(mux *http.ServeMux, p *oidc.Provider, a *app, log *slog.Logger) {
	mux.Handle(p.BasePath()+"/", p.Handler())
	authenticate := func(r *http.Request) (*cancuoc.Principal, error) {
		key, err := httpapi.APIKey(r)
		if err != nil {
			return nil, err
		}
		return a.reg.Authenticate(r.Context(), key)
	}
	p.ClientsAPI(authenticate, func(w http.ResponseWriter, r *http.Request, err error) { httpapi.WriteError(w, r, log, err) })(mux)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// cmdCreateClient registers a relying party from the console.
func cmdCreateClient(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin create-client", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	oc := bindOIDC(fs, getenv)
	var n oidc.NewClient
	var redirects, logouts, scopes stringList
	var jwksFile string
	fs.StringVar(&n.ID, "id", "", "client ID (a-z, 0-9, . _ -)")
	fs.StringVar(&n.Name, "name", "", "name shown to citizens")
	fs.StringVar(&n.Purpose, "purpose", "", "why the client wants citizens' data, shown on the consent page")
	fs.StringVar(&n.Kind, "kind", "confidential", "confidential or public")
	fs.StringVar(&n.AuthMethod, "auth-method", "", "client_secret_basic (default), private_key_jwt or none (public)")
	fs.StringVar(&jwksFile, "jwks", "", "file with the client's public JWKS, for private_key_jwt")
	fs.Var(&redirects, "redirect-uri", "redirect URI, matched exactly (repeatable)")
	fs.Var(&logouts, "post-logout-redirect-uri", "post-logout redirect URI (repeatable)")
	fs.Var(&scopes, "scope", "extra scope the client may ask for: pid, org or eid_account (repeatable)")
	fs.StringVar(&n.Sector, "sector", "", "sector identifier for pairwise subjects; default the redirect URI's host")
	fs.IntVar(&n.MinLevel, "min-level", 1, "assurance level demanded of every citizen: 1 or 2")
	fs.StringVar(&n.IDTokenAlg, "id-token-alg", "ES256", "ES256 or RS256")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	n.RedirectURIs, n.PostLogoutRedirectURIs, n.Scopes = redirects, logouts, scopes
	if jwksFile != "" {
		b, err := os.ReadFile(jwksFile)
		if err != nil {
			return err
		}
		n.JWKS = b
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := newOIDC(a, nil, c, oc, newLogger(os.Stderr, c))
	if err != nil {
		return err
	}
	cl, secret, err := p.CreateClient(ctx, nil, n)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(cl)
	if secret != "" {
		fmt.Fprintf(stdout, "client secret (shown once; store it safely): %s\n", secret)
	}
	return nil
}

// oidcWiring is the app's OpenID provider, once started, and the stop of
// its cleanup of expired requests and sessions.
type oidcWiring struct {
	p    *oidc.Provider
	stop context.CancelFunc
}

// startOIDC builds the provider on the app's eID service; startEID runs
// first.
func (a *app) startOIDC(c *Config, oc *oidcConfig, log *slog.Logger) error {
	if a.eid == nil {
		return errors.New("the OpenID provider needs the eID service")
	}
	p, err := newOIDC(a, a.eid, c, oc, log)
	if err != nil {
		return err
	}
	if a.verify != nil {
		p.UsePartnerConsents(partnerConsents{a.verify})
	}
	ctx, stop := context.WithCancel(context.Background())
	go p.RunCleanup(ctx, 10*time.Minute)
	a.oidc = &oidcWiring{p: p, stop: stop}
	log.Info("OpenID provider", "issuer", p.Issuer())
	return nil
}

// mountOIDC adds the provider's routes when it was started.
func (a *app) mountOIDC(mux *http.ServeMux, log *slog.Logger) {
	if a.oidc != nil {
		mountOIDC(mux, a.oidc.p, a, log)
	}
}
