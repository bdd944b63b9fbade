package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-webauthn/webauthn/protocol"

	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/internal/webauthntest"
)

// flows is the load generator: workers each run complete logins, one
// fresh browser (its own cookies) per login, each worker over its own
// keep-alive connection (wire).
type flows struct {
	s      *state
	origin string // scheme://host:port of the issuer
	host   string // host:port of the issuer, to dial
	base   string // the issuer's path

	mu   sync.Mutex
	next int // the account to try first
	busy map[string]bool
	keys map[string]*webauthntest.Authenticator
	// jwks is the provider's published keys, fetched once as a relying
	// party caches them, to check each ID token's signature (idtok).
	jwks  jose.JSONWebKeySet
	idtok *idVerifier
	basic string // the client's Authorization header line
}

func newFlows(s *state) (*flows, error) {
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("issuer %s: the load generator speaks plain HTTP/1.1 only", s.Issuer)
	}
	f := &flows{s: s, origin: u.Scheme + "://" + u.Host, host: u.Host, base: u.Path, busy: map[string]bool{}, keys: map[string]*webauthntest.Authenticator{}}
	if err := f.fetchKeys(); err != nil {
		return nil, err
	}
	if f.idtok, err = newIDVerifier(f.jwks, s.Issuer, s.Client); err != nil {
		return nil, err
	}
	f.basic = "Authorization: Basic " + b64std(s.Client+":"+s.Secret) + "\r\n"
	for _, p := range s.Passkeys {
		k, err := x509.ParsePKCS8PrivateKey(p.Key)
		if err != nil {
			return nil, err
		}
		f.keys[p.ID] = &webauthntest.Authenticator{Key: k.(*ecdsa.PrivateKey), CredID: p.CredID, Count: p.Count,
			Origin: f.origin, RPID: "localhost", UV: true}
	}
	return f, nil
}

// fetchKeys reads the provider's JWKS through its discovery document.
func (f *flows) fetchKeys() error {
	c := &http.Client{Timeout: 30 * time.Second}
	var disc struct {
		JWKS string `json:"jwks_uri"`
	}
	for _, step := range []struct {
		url string
		v   any
	}{{f.s.Issuer + "/.well-known/openid-configuration", &disc}, {"", &f.jwks}} {
		u := step.url
		if u == "" {
			u = disc.JWKS
		}
		res, err := c.Get(u)
		if err != nil {
			return err
		}
		err = json.NewDecoder(res.Body).Decode(step.v)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
	}
	if len(f.jwks.Keys) == 0 {
		return errors.New("the provider publishes no keys")
	}
	return nil
}

// takeTOTP picks an account free now whose next TOTP step is acceptable:
// a code is accepted once per account and 30-second step, for the current
// step or the next (one step of drift), so an account serves a login about
// every 30 s. The step is reserved before the login starts.
func (f *flows) takeTOTP() (*account, int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := time.Now().Unix() / 30
	n := len(f.s.Accounts)
	for i := 0; i < n; i++ {
		a := f.s.Accounts[(f.next+i)%n]
		if f.busy[a.ID] {
			continue
		}
		use := max(a.Last+1, step)
		if use > step+1 {
			continue
		}
		f.next = (f.next + i + 1) % n
		a.Last = use
		f.busy[a.ID] = true
		return a, use, true
	}
	return nil, 0, false
}

func (f *flows) takePasskey() (*passkeyH, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.s.Passkeys)
	for i := 0; i < n; i++ {
		p := f.s.Passkeys[(f.next+i)%n]
		if !f.busy[p.ID] {
			f.next = (f.next + i + 1) % n
			f.busy[p.ID] = true
			return p, true
		}
	}
	return nil, false
}

func (f *flows) release(id string) {
	f.mu.Lock()
	delete(f.busy, id)
	f.mu.Unlock()
}

// browser is one citizen's browser during one login: its cookies (all
// the provider's, whose paths cover every page the login visits) and the
// worker's connection, which the relying party's requests share without
// the browser's cookies.
type browser struct {
	f          *flows
	w          *wire
	cookies    map[string]string
	lastAccess string // the access token of the finished login
}

func (f *flows) browser(w *wire) *browser {
	return &browser{f: f, w: w, cookies: map[string]string{}}
}

// do sends a request, with the browser's cookies when it is the browser's
// (not the relying party's), and keeps the cookies the answer sets. The
// answer's body is valid until the wire's next request.
func (b *browser) do(req *request, browser bool) (*answer, error) {
	if browser && len(b.cookies) > 0 {
		var h strings.Builder
		h.WriteString("Cookie: ")
		first := true
		for name, value := range b.cookies {
			if !first {
				h.WriteString("; ")
			}
			first = false
			h.WriteString(name)
			h.WriteByte('=')
			h.WriteString(value)
		}
		h.WriteString("\r\n")
		req.header = append(req.header, h.String())
	}
	a, err := b.w.roundTrip(req)
	if err != nil {
		return nil, err
	}
	if browser {
		for _, line := range a.cookies {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				continue // a browser ignores a cookie it cannot parse
			}
			if c.MaxAge < 0 || c.Value == "" {
				delete(b.cookies, c.Name)
			} else {
				b.cookies[c.Name] = c.Value
			}
		}
	}
	return a, nil
}

// get fetches u, an absolute URL of the provider or a path.
func (b *browser) get(u string) (*answer, error) {
	target := strings.TrimPrefix(u, b.f.origin)
	if !strings.HasPrefix(target, "/") {
		return nil, fmt.Errorf("not the provider's URL: %q", u)
	}
	return b.do(&request{method: http.MethodGet, target: target}, true)
}

func (b *browser) post(path string, form url.Values) (*answer, error) {
	return b.do(&request{method: http.MethodPost, target: path, ctype: "application/x-www-form-urlencoded", body: form.Encode()}, true)
}

// attr returns the value of the first attribute written as `prefix"…"` in
// the page (prefix ends with `="`), unescaped as a browser reads it; the
// pages are the provider's own templates, so a fixed search finds them
// where a general HTML parser is not needed.
func attr(page []byte, prefix string) (string, bool) {
	i := bytes.Index(page, []byte(prefix))
	if i < 0 {
		return "", false
	}
	rest := page[i+len(prefix):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return html.UnescapeString(string(rest[:j])), true
}

// fields returns the page form's hidden fields that a login posts back.
func fields(page []byte) url.Values {
	v := url.Values{}
	for _, name := range []string{"id", "csrf", "ar"} {
		if value, ok := attr(page, `name="`+name+`" value="`); ok {
			v.Set(name, value)
		}
	}
	return v
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// start is the relying party's side: a PKCE verifier, state and nonce, and
// the authorization URL; then the browser follows it to the login page.
// The page's form fields and its passkey options are returned (the body
// itself is the wire's, gone at the next request).
func (b *browser) start() (verifier, state string, page url.Values, options string, err error) {
	raw := make([]byte, 48)
	_, _ = rand.Read(raw)
	verifier, state = b64(raw[:32]), b64(raw[32:])
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {b.f.s.Client}, "redirect_uri": {b.f.s.Redirect},
		"scope": {"openid profile"}, "state": {state}, "nonce": {state}, "code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"}}
	a, err := b.get(b.f.s.Issuer + "/authorize?" + q.Encode())
	if err == nil && a.status == http.StatusFound && a.location != "" {
		// A provider that redirects to its login page (as before the
		// page was the answer of /authorize): the browser follows.
		a, err = b.get(a.location)
	}
	if err != nil || a.status != http.StatusOK {
		st := 0
		if a != nil {
			st = a.status
		}
		return "", "", nil, "", fmt.Errorf("authorize and login page: %d %v", st, err)
	}
	options, _ = attr(a.body, `data-options="`)
	return verifier, state, fields(a.body), options, nil
}

// finish exchanges the code at the token endpoint as the client and reads
// userinfo with the access token.
func (b *browser) finish(a *answer, verifier, state string) error {
	if a.status != http.StatusFound && a.status != http.StatusSeeOther {
		return fmt.Errorf("want the redirect with the code, got %d", a.status)
	}
	loc := a.location
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, b.f.s.Redirect) || u.Query().Get("state") != state || u.Query().Get("code") == "" {
		return fmt.Errorf("bad redirect %q", loc)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "code_verifier": {verifier},
		"redirect_uri": {b.f.s.Redirect}}
	a, err = b.do(&request{method: http.MethodPost, target: b.f.base + "/oauth/token", header: []string{b.f.basic},
		ctype: "application/x-www-form-urlencoded", body: form.Encode()}, false)
	if err != nil || a.status != http.StatusOK {
		return fmt.Errorf("token: %v %v", a, err)
	}
	var tok struct {
		Access  string `json:"access_token"`
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(a.body, &tok); err != nil || tok.Access == "" {
		return fmt.Errorf("token response %.200s", a.body)
	}
	if err := b.f.idtok.check(tok.IDToken, state); err != nil {
		return err
	}
	a, err = b.do(&request{method: http.MethodGet, target: b.f.base + "/userinfo",
		header: []string{"Authorization: Bearer " + tok.Access + "\r\n"}}, false)
	if err != nil || a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"name"`)) {
		return fmt.Errorf("userinfo: %v %v", a, err)
	}
	b.lastAccess = tok.Access
	return nil
}

// totpLogin is one complete login with password and TOTP.
func (f *flows) totpLogin(w *wire) (string, error) {
	a, step, ok := f.takeTOTP()
	if !ok {
		return "", errNoAccount
	}
	defer f.release(a.ID)
	b := f.browser(w)
	verifier, state, pg, _, err := b.start()
	if err != nil {
		return "", err
	}
	pg.Set("pin", string(a.PIN))
	pg.Set("password", Password)
	ans, err := b.post(f.base+"/login", pg)
	if err != nil || ans.status != http.StatusOK || !bytes.Contains(ans.body, []byte(`name="code"`)) {
		return "", fmt.Errorf("password: %v %v", ans, err)
	}
	code, _ := eid.TOTPCode(a.TOTP, time.Unix(step*30, 0), 6)
	otp := fields(ans.body)
	otp.Set("code", code)
	ans, err = b.post(f.base+"/login/otp", otp)
	if err != nil {
		return "", err
	}
	err = b.finish(ans, verifier, state)
	return b.lastAccess, err
}

// passkeyLogin is one complete login with a passkey, as the login page's
// script makes it.
func (f *flows) passkeyLogin(w *wire) (string, error) {
	p, ok := f.takePasskey()
	if !ok {
		return "", errNoAccount
	}
	defer f.release(p.ID)
	key := f.keys[p.ID]
	b := f.browser(w)
	verifier, state, pg, options, err := b.start()
	if err != nil {
		return "", err
	}
	// The login page carries the options of a discoverable ceremony, as
	// the page's script uses them when no PIN is typed: the authenticator
	// answers with the account's user handle. Of the options only the
	// challenge goes into the assertion.
	var ca struct {
		PublicKey struct {
			Challenge protocol.URLEncodedBase64 `json:"challenge"`
		} `json:"publicKey"`
	}
	if options == "" {
		return "", errors.New("the login page has no passkey options")
	}
	if err := json.Unmarshal([]byte(options), &ca); err != nil || len(ca.PublicKey.Challenge) == 0 {
		return "", fmt.Errorf("the login page's passkey options: %v", err)
	}
	f.mu.Lock() // the counter is the authenticator's state
	cred := key.Get(fatal{}, ca.PublicKey.Challenge, []byte(p.ID))
	p.Count = key.Count
	f.mu.Unlock()
	ans, err := b.post(f.base+"/login/passkey", url.Values{"id": {pg.Get("id")}, "csrf": {pg.Get("csrf")}, "ar": {pg.Get("ar")}, "credential": {string(cred)}})
	if err != nil {
		return "", err
	}
	err = b.finish(ans, verifier, state)
	return b.lastAccess, err
}

var errNoAccount = errors.New("no account free: add accounts (prepare -accounts) or lower -c")

// result is one run's figures.
type result struct {
	Mode     string  `json:"mode"`
	Conc     int     `json:"concurrency"`
	Seconds  float64 `json:"seconds"`
	Flows    int64   `json:"flows"`
	Errors   int64   `json:"errors"`
	Starved  int64   `json:"starved"`
	PerSec   float64 `json:"flows_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	FirstErr string  `json:"first_error,omitempty"`
	// ClientCPU is this load generator's own CPU time (user + system) during
	// the run: on the shared cores it is part of what a login costs here.
	ClientCPU float64 `json:"client_cpu_s"`
}

// cpuSeconds is the process's CPU time so far (user + system).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func runFlows(ctx context.Context, fs *flag.FlagSet, args []string) (any, error) {
	path := fs.String("state", "oidcbench.json", "state file from prepare")
	mode := fs.String("mode", "totp", "totp (password + TOTP) or passkey")
	conc := fs.Int("c", 16, "concurrent logins (closed loop)")
	dur := fs.Duration("d", 20*time.Second, "duration")
	limit := fs.Int64("n", 0, "stop after this many logins (0: no limit), e.g. to count a server's instructions per login under callgrind")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile here")
	gcPercent := fs.Int("gc", 400, "the generator's GOGC")
	_ = fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	// The generator's garbage is short-lived and its heap small: collecting
	// less often spends less of the shared cores on its own bookkeeping.
	debug.SetGCPercent(*gcPercent)
	s, err := load(*path)
	if err != nil {
		return nil, err
	}
	f, err := newFlows(s)
	if err != nil {
		return nil, err
	}
	login := f.totpLogin
	if *mode == "passkey" {
		login = f.passkeyLogin
	}
	var (
		ok, failed, starved atomic.Int64
		started             atomic.Int64 // logins begun, for -n
		mu                  sync.Mutex
		lat                 []time.Duration
		firstErr            string
		wg                  sync.WaitGroup
	)
	deadline := time.Now().Add(*dur)
	t0, cpu0 := time.Now(), cpuSeconds()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			w := &wire{addr: f.host}
			for time.Now().Before(deadline) && (*limit <= 0 || started.Add(1) <= *limit) {
				t := time.Now()
				_, err := login(w)
				switch {
				case errors.Is(err, errNoAccount):
					starved.Add(1)
					time.Sleep(50 * time.Millisecond)
				case err != nil:
					failed.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				default:
					ok.Add(1)
					mine = append(mine, time.Since(t))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el, cpu := time.Since(t0).Seconds(), cpuSeconds()-cpu0
	if err := save(*path, s); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return result{Mode: *mode, Conc: *conc, Seconds: el, Flows: ok.Load(), Errors: failed.Load(), Starved: starved.Load(),
		PerSec: float64(ok.Load()) / el, P50ms: pct(0.5), P99ms: pct(0.99), FirstErr: firstErr, ClientCPU: cpu}, nil
}

// runToken makes one login and prints its access token and the client's
// credentials, for the introspection load.
func runToken(ctx context.Context, fs *flag.FlagSet, args []string) (any, error) {
	path := fs.String("state", "oidcbench.json", "state file from prepare")
	_ = fs.Parse(args)
	s, err := load(*path)
	if err != nil {
		return nil, err
	}
	f, err := newFlows(s)
	if err != nil {
		return nil, err
	}
	var access string
	if len(s.Passkeys) > 0 {
		access, err = f.passkeyLogin(&wire{addr: f.host})
	} else {
		access, err = f.totpLogin(&wire{addr: f.host})
	}
	if err != nil {
		return nil, err
	}
	if err := save(*path, s); err != nil {
		return nil, err
	}
	return map[string]string{"access_token": access, "basic": b64std(s.Client + ":" + s.Secret)}, nil
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
