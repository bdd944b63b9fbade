package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/statuslist"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
)

type walletEnv struct {
	*eidEnv
	transport, bank string // API keys
}

func newWalletEnv(t *testing.T) *walletEnv {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	sms := &outbox{}
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	es, err := eid.New(store, sms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	api := httpapi.New(reg, log).WithEID(es)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	ws, err := wallet.New(store, wallet.Config{BaseURL: srv.URL, Secret: []byte("wallet test server secret"), ListSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	api.WithWallet(ws).Routes(mux)
	e := &walletEnv{eidEnv: &eidEnv{t: t, srv: srv, store: store, sms: sms}}
	for _, x := range []struct {
		dst *string
		np  registry.NewPrincipal
	}{
		{&e.transport, registry.NewPrincipal{Name: "Cục CSGT", Role: cancuoc.RoleMinistrySystem, Agency: "transport"}},
		{&e.bank, registry.NewPrincipal{Name: "Ngân hàng", Role: cancuoc.RoleMinistrySystem, Agency: "bank"}},
	} {
		if _, *x.dst, err = reg.CreatePrincipal(ctx, nil, x.np); err != nil {
			t.Fatal(err)
		}
	}
	e.adult = storetest.Citizen(storetest.PIN(1))
	if err := store.InsertCitizen(ctx, e.adult); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestWalletHTTP(t *testing.T) {
	e := newWalletEnv(t)
	holder := e.registerAdult(t)
	pin := string(e.adult.PIN)
	req := map[string]any{"type": "driver_licence", "pin": pin, "claims": map[string]any{
		"family_name": "Nguyễn", "given_name": "Văn Đức", "birth_date": "1990-05-17", "licence_number": "790123456789",
		"categories": []string{"A1", "B2"}, "issue_date": "2024-05-06", "issuing_authority": "Cục CSGT"}}

	// No wallet key yet; a bank may not issue; the holder may not either.
	e.do("POST", "/v1/documents", "key:"+e.transport, req).problem(t, http.StatusConflict, "holder_key_missing")
	e.do("POST", "/v1/documents", "key:"+e.bank, req).problem(t, http.StatusForbidden, "issuance_not_allowed")
	e.do("POST", "/v1/documents", holder, req).problem(t, http.StatusUnauthorized, "api_key_missing")

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.do("PUT", "/v1/wallet/key", holder, map[string]any{"jwk": &jose.JSONWebKey{Key: key}}).problem(t, http.StatusBadRequest, "jwk_not_p256_public")
	e.do("PUT", "/v1/wallet/key", holder, map[string]any{"jwk": &jose.JSONWebKey{Key: key.Public()}}).want(t, http.StatusOK, nil)

	var doc cancuoc.Document
	e.do("POST", "/v1/documents", "key:"+e.transport, req).want(t, http.StatusCreated, &doc)
	var list struct {
		Documents []wallet.DocumentView `json:"documents"`
	}
	e.do("GET", "/v1/wallet/documents", holder, nil).want(t, http.StatusOK, &list)
	if len(list.Documents) != 1 || list.Documents[0].ID != doc.ID {
		t.Fatalf("list %+v", list)
	}
	var shown wallet.DocumentView
	e.do("GET", "/v1/wallet/documents/"+doc.ID, holder, nil).want(t, http.StatusOK, &shown)
	if shown.SDJWT == "" || len(shown.Claims) != 7 {
		t.Fatalf("shown %+v", shown)
	}

	// A bank asks online; the wallet reads the request, signs, posts.
	var vp wallet.VPRequest
	e.do("POST", "/v1/verify/requests", "key:"+e.bank, map[string]any{"type": "driver_licence", "claims": []string{"given_name"}}).want(t, http.StatusCreated, &vp)
	var seen wallet.VPRequest
	e.do("GET", "/v1/verify/requests/"+vp.ID, "", nil).want(t, http.StatusOK, &seen)
	var prep wallet.Prepared
	e.do("POST", "/v1/wallet/documents/"+doc.ID+"/presentations", holder, map[string]any{"claims": []string{"given_name"},
		"nonce": seen.Nonce, "aud": seen.ClientID}).want(t, http.StatusOK, &prep)
	pres := sign(t, prep, key)
	form := url.Values{"vp_token": {pres}}.Encode()
	post := func() *http.Response {
		r, err := http.Post(seen.ResponseURI, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	// A stranger's garbage is refused and does not use the request up.
	junk, err := http.Post(seen.ResponseURI, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"vp_token": {"garbage~"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	junk.Body.Close()
	if junk.StatusCode != http.StatusOK {
		t.Fatalf("garbage direct_post: %d", junk.StatusCode)
	}
	if r := post(); r.StatusCode != http.StatusOK {
		t.Fatalf("direct_post: %d", r.StatusCode)
	}
	if r := post(); r.StatusCode != http.StatusConflict {
		t.Fatalf("second direct_post: %d", r.StatusCode)
	}
	// The verifier cancels a request it no longer needs; another cannot.
	var spare, cancelled wallet.VPRequest
	e.do("POST", "/v1/verify/requests", "key:"+e.bank, map[string]any{"type": "driver_licence"}).want(t, http.StatusCreated, &spare)
	e.do("DELETE", "/v1/verify/requests/"+spare.ID, "key:"+e.transport, nil).want(t, http.StatusNotFound, nil)
	e.do("DELETE", "/v1/verify/requests/"+spare.ID, "key:"+e.bank, nil).want(t, http.StatusOK, &cancelled)
	if cancelled.State != "answered" || cancelled.Verdict == nil || cancelled.Verdict.Code != "cancelled" {
		t.Fatalf("cancelled %+v", cancelled)
	}
	// A flood of answers from one address is cut off with a Retry-After.
	var flooded wallet.VPRequest
	e.do("POST", "/v1/verify/requests", "key:"+e.bank, map[string]any{"type": "driver_licence"}).want(t, http.StatusCreated, &flooded)
	var last *http.Response
	for range 80 { // twice the limit: the fixed window may turn over once meanwhile
		r, err := http.Post(flooded.ResponseURI, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"vp_token": {"junk"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if last = r; r.StatusCode != http.StatusOK {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("flood: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
	var result wallet.VPRequest
	e.do("GET", "/v1/verify/requests/"+vp.ID+"/result", "key:"+e.bank, nil).want(t, http.StatusOK, &result)
	if result.Verdict == nil || !result.Verdict.Valid || result.Verdict.Claims[0].Value != "Văn Đức" {
		t.Fatalf("result %+v", result.Verdict)
	}

	// Offline-style check through the API, then revocation flips it.
	check := func() wallet.Verdict {
		var v wallet.Verdict
		e.do("POST", "/v1/verify/documents", "", map[string]any{"presentation": pres, "nonce": seen.Nonce, "aud": seen.ClientID}).want(t, http.StatusOK, &v)
		return v
	}
	if v := check(); !v.Valid {
		t.Fatalf("verdict %+v", v)
	}
	e.do("POST", "/v1/documents/"+doc.ID+"/status", "key:"+e.transport, map[string]any{"status": "revoked", "reason": "thu hồi"}).want(t, http.StatusOK, nil)
	if v := check(); v.Valid || v.Code != "document_revoked" {
		t.Fatalf("after revocation %+v", v)
	}
	var wrongAud wallet.Verdict
	e.do("POST", "/v1/verify/documents", "", map[string]any{"presentation": pres, "nonce": seen.Nonce, "aud": "https://other"}).want(t, http.StatusOK, &wrongAud)
	if wrongAud.Code != "sdjwt_kb_audience_mismatch" {
		t.Errorf("wrong audience: %+v", wrongAud)
	}

	// Publication: metadata, type metadata, the status list with caching.
	var md wallet.IssuerMetadata
	e.do("GET", "/.well-known/jwt-vc-issuer/issuers/transport", "", nil).want(t, http.StatusOK, &md)
	if md.Issuer != e.srv.URL+"/issuers/transport" || len(md.JWKS.Keys) != 1 {
		t.Fatalf("metadata %+v", md)
	}
	e.do("GET", "/vct/driver_licence", "", nil).want(t, http.StatusOK, nil)
	r, err := http.Get(e.srv.URL + "/statuslists/transport/0")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.Header.Get("Content-Type") != "application/statuslist+jwt" || r.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("headers %v", r.Header)
	}
	keys := func(iss, kid string) (*jose.JSONWebKey, error) { return &md.JWKS.Key(kid)[0], nil }
	_, l, err := statuslist.Verify(string(body), e.srv.URL+"/statuslists/transport/0", e.srv.URL+"/issuers/transport", keys, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := l.Get(int(doc.StatusIndex)); v != statuslist.Invalid {
		t.Errorf("status bit %d", v)
	}
	e.do("GET", "/statuslists/transport/x", "", nil).problem(t, http.StatusNotFound, "status_list_unknown")
	e.do("GET", "/statuslists/transport/1", "", nil).problem(t, http.StatusNotFound, "status_list_unknown")
	e.do("GET", "/statuslists/transport/1099511627776", "", nil).problem(t, http.StatusNotFound, "status_list_unknown")

	// QR rendering.
	q, err := http.NewRequest("POST", e.srv.URL+"/v1/wallet/qr?format=svg", strings.NewReader(`{"presentation":"`+pres+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	q.SetBasicAuth(pin, pw)
	q.Header.Set("Content-Type", "application/json")
	qr, err := http.DefaultClient.Do(q)
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(qr.Body)
	qr.Body.Close()
	if qr.StatusCode != 200 || qr.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("qr %d %s", qr.StatusCode, qr.Header)
	}
}

func sign(t *testing.T, p wallet.Prepared, key *ecdsa.PrivateKey) string {
	t.Helper()
	h := sha256.Sum256([]byte(p.SigningInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return p.SDJWT + p.SigningInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}
