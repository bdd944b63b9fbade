package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RPConfig is how a part of the site logs people in through the OpenID
// provider, like any relying party: its registered client and redirect URL.
type RPConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // …/portal/callback or …/console/callback, as registered
	// ACRValues asks for an assurance level (urn:cancuoc:eid:loa2 for
	// officers); the answer's acr is checked against it.
	ACRValues string
	// HTTPClient reaches the provider (tests pass the test server's).
	HTTPClient *http.Client
}

// rp is an OpenID Connect relying party on coreos/go-oidc and x/oauth2:
// code flow with PKCE (S256), state bound to the browser in a sealed
// cookie, nonce checked in the ID token, signature checked on the
// provider's keys. The provider is discovered on first use, since it may
// be served by this same process, which is not listening yet at start.
type rp struct {
	cfg    RPConfig
	cookie string // name of the sealed login-state cookie
	path   string // where the state cookie is sent back (the callback)

	mu       sync.Mutex
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

type loginState struct {
	State, Nonce, Verifier string
	Exp                    time.Time
	// Next is the page to return to after a step-up login.
	Next string `json:",omitempty"`
}

// identity is what a finished login gives: the pid claim (the PIN) and
// how the person logged in.
type identity struct {
	Subject, PIN, ACR string
	AMR               []string
	// AuthTime is when the person last entered their factors (the ID
	// token's auth_time), not when this login ended: a provider session
	// may spare them the password.
	AuthTime time.Time
	Next     string
}

func (p *rp) ctx(ctx context.Context) context.Context {
	if p.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, p.cfg.HTTPClient)
	}
	return ctx
}

func (p *rp) discover(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return nil
	}
	prov, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return err
	}
	p.provider = prov
	p.verifier = prov.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: []string{oidc.ES256, oidc.RS256}})
	p.oauth = oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: prov.Endpoint(),
		RedirectURL: p.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "pid"}}
	p.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return nil
}

// start begins a login: the state, nonce and PKCE verifier go into a
// sealed cookie; the answer is the provider's authorization URL.
func (p *rp) start(s *Site, w http.ResponseWriter, r *http.Request) (string, error) {
	return p.startNext(s, w, r, "")
}

// startNext begins a login that returns to next, with extra parameters
// (a step-up's prompt=login and max_age).
func (p *rp) startNext(s *Site, w http.ResponseWriter, r *http.Request, next string, extra ...oauth2.AuthCodeOption) (string, error) {
	if err := p.discover(r.Context()); err != nil {
		return "", err
	}
	st := loginState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Exp: s.now().Add(10 * time.Minute), Next: next}
	s.setCookie(w, p.cookie, p.path, s.seal(p.cookie, st), 600)
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}, extra...)
	if p.cfg.ACRValues != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", p.cfg.ACRValues))
	}
	if l := s.lang(w, r); l == "en" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", "en"))
	}
	return p.oauth.AuthCodeURL(st.State, opts...), nil
}

var errDeclined = errors.New("the login was cancelled or declined")

// finish handles the callback: state against the cookie, code exchange
// with the verifier, ID token (signature, issuer, audience, expiry,
// nonce), and the pid claim from userinfo.
func (p *rp) finish(s *Site, w http.ResponseWriter, r *http.Request) (*identity, error) {
	if err := p.discover(r.Context()); err != nil {
		return nil, err
	}
	var st loginState
	c, err := r.Cookie(p.cookie)
	s.setCookie(w, p.cookie, p.path, "", -1)
	q := r.URL.Query()
	if err != nil || !s.open(p.cookie, c.Value, &st) || !s.now().Before(st.Exp) || st.State != q.Get("state") {
		return nil, errors.New("the login state does not match this browser")
	}
	if q.Get("error") != "" {
		return nil, errDeclined
	}
	ctx := p.ctx(r.Context())
	tok, err := p.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if idt.Nonce != st.Nonce {
		return nil, errors.New("nonce mismatch")
	}
	var std struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idt.Claims(&std); err != nil {
		return nil, err
	}
	ui, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var claims struct {
		PID string `json:"pid"`
	}
	if err := ui.Claims(&claims); err != nil || ui.Subject != idt.Subject || claims.PID == "" {
		return nil, errors.New("userinfo lacks the pid claim or names another subject")
	}
	if p.cfg.ACRValues != "" && !slices.Contains([]string{p.cfg.ACRValues}, std.ACR) {
		return nil, errors.New("the login's assurance level is lower than asked")
	}
	id := &identity{Subject: idt.Subject, PIN: claims.PID, ACR: std.ACR, AMR: std.AMR, Next: st.Next}
	if std.AuthTime > 0 {
		id.AuthTime = time.Unix(std.AuthTime, 0)
	}
	return id, nil
}
