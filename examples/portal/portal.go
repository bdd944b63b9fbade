// Package portal is a small "public-service portal": a relying party that
// logs citizens in through cancuoc's OpenID provider with the widely used
// github.com/coreos/go-oidc and golang.org/x/oauth2, and shows the claims it
// received. The end-to-end tests run it against a real cancuoc server; its
// command is in cmd/portal.
//
// It does what every relying party should: authorization code flow with
// PKCE (S256), a state bound to the browser, a nonce checked in the ID
// token, the ID token's signature checked against the provider's JWKS, and
// the claims read from userinfo with the access token.
package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures the portal.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string   // this portal's /callback, as registered
	Scopes       []string // default openid profile address phone
	ACRValues    string   // e.g. urn:cancuoc:eid:loa2
	// HTTPClient reaches the provider (tests pass the test server's).
	HTTPClient *http.Client
}

// Portal is the relying party.
type Portal struct {
	cfg      Config
	oauth    oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string]pending // by state
}

type pending struct {
	nonce, verifier string
	at              time.Time
}

// Result is what a login gave the portal.
type Result struct {
	Subject  string         `json:"sub"`
	ACR      string         `json:"acr"`
	AMR      []string       `json:"amr"`
	Claims   map[string]any `json:"claims"`
	IDToken  string         `json:"-"`
	Token    *oauth2.Token  `json:"-"`
	Declined string         `json:"error,omitempty"`
}

// New discovers the provider and returns the portal.
func New(ctx context.Context, cfg Config) (*Portal, error) {
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	prov, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "address", "phone"}
	}
	p := &Portal{cfg: cfg, provider: prov, pending: map[string]pending{},
		verifier: prov.Verifier(&oidc.Config{ClientID: cfg.ClientID, SupportedSigningAlgs: []string{oidc.ES256, oidc.RS256}}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: prov.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes}}
	p.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return p, nil
}

// Verifier is the portal's ID token verifier (tests feed it forged tokens).
func (p *Portal) Verifier() *oidc.IDTokenVerifier { return p.verifier }

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Handler serves / (a login link), /login and /callback.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><meta name="viewport" content="width=device-width"><h1>Cổng dịch vụ công</h1><a href="/login">Đăng nhập bằng định danh điện tử</a>`))
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p.Start(w), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		res, err := p.Finish(r.Context(), r)
		if err != nil {
			http.Error(w, "login failed: "+err.Error(), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = resultPage.Execute(w, res)
	})
	return mux
}

var resultPage = template.Must(template.New("r").Parse(`<!doctype html><meta name="viewport" content="width=device-width">
<h1>Xin chào / Welcome</h1>
<p>sub: <code id="sub">{{.Subject}}</code></p><p>acr: <code id="acr">{{.ACR}}</code> amr: <code>{{.AMR}}</code></p>
<table>{{range $k, $v := .Claims}}<tr><th>{{$k}}</th><td class="claim" data-claim="{{$k}}">{{$v}}</td></tr>{{end}}</table>`))

// Start begins a login: it remembers state, nonce and PKCE verifier, sets
// the state cookie, and returns the provider's authorization URL.
func (p *Portal) Start(w http.ResponseWriter) string {
	st, nonce, ver := random(), random(), oauth2.GenerateVerifier()
	p.mu.Lock()
	p.pending[st] = pending{nonce: nonce, verifier: ver, at: time.Now()}
	p.mu.Unlock()
	if w != nil {
		http.SetCookie(w, &http.Cookie{Name: "portal_state", Value: st, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(ver)}
	if p.cfg.ACRValues != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", p.cfg.ACRValues))
	}
	return p.oauth.AuthCodeURL(st, opts...)
}

// Verifier returns the PKCE verifier of a pending state (tests).
func (p *Portal) PendingVerifier(state string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pending[state].verifier
}

// Finish handles the callback: state, code exchange with the verifier, ID
// token verification (signature, issuer, audience, expiry, nonce), userinfo.
func (p *Portal) Finish(ctx context.Context, r *http.Request) (*Result, error) {
	if p.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, p.cfg.HTTPClient)
	}
	q := r.URL.Query()
	st := q.Get("state")
	if c, err := r.Cookie("portal_state"); err == nil && c.Value != st {
		return nil, errors.New("state does not match this browser")
	}
	p.mu.Lock()
	pd, ok := p.pending[st]
	delete(p.pending, st)
	p.mu.Unlock()
	if !ok {
		return nil, errors.New("unknown state")
	}
	if e := q.Get("error"); e != "" {
		return &Result{Declined: e}, errors.New(e + ": " + q.Get("error_description"))
	}
	tok, err := p.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pd.verifier))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if idt.Nonce != pd.nonce {
		return nil, errors.New("nonce mismatch")
	}
	var std struct {
		ACR string   `json:"acr"`
		AMR []string `json:"amr"`
	}
	if err := idt.Claims(&std); err != nil {
		return nil, err
	}
	ui, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	if ui.Subject != idt.Subject {
		return nil, errors.New("userinfo subject differs from the ID token's")
	}
	claims := map[string]any{}
	if err := ui.Claims(&claims); err != nil {
		return nil, err
	}
	return &Result{Subject: idt.Subject, ACR: std.ACR, AMR: std.AMR, Claims: claims, IDToken: raw, Token: tok}, nil
}
