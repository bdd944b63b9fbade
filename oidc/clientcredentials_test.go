package oidc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
)

// partnerKey is a partner's signing key and its public JWKS.
func partnerKey(t *testing.T, kid string) (*ecdsa.PrivateKey, json.RawMessage) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return k, jwks
}

// partnerEnv adds a partner and its client-credentials client to e.
func partnerEnv(t *testing.T, e *env) *ecdsa.PrivateKey {
	t.Helper()
	if err := e.store.InsertPartner(t.Context(), &cancuoc.Partner{ID: "vcb", Name: "Vietcombank", Kind: cancuoc.PartnerBank,
		Version: 1, Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpMatch}, Purpose: "eKYC", LegalBasis: "TT 17/2024"},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	key, jwks := partnerKey(t, "k1")
	e.client(oidc.NewClient{ID: "vcb-core", Name: "Vietcombank core", Purpose: "Đối chiếu khách hàng", AuthMethod: cancuoc.ClientAuthPrivateKeyJWT,
		JWKS: jwks, GrantTypes: []string{cancuoc.GrantClientCredentials}, PartnerID: "vcb"})
	return key
}

// ccToken asks for a client-credentials token with a client assertion.
func (e *env) ccToken(assertion string, extra url.Values) (int, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	res, err := e.srv.Client().PostForm(e.issuer+"/oauth/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func sign(t *testing.T, key crypto.Signer, kid, client, aud string, ttl time.Duration) string {
	t.Helper()
	a, err := oidc.SignClientAssertion(key, jose.ES256, kid, client, aud, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestClientCredentialsPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	key := partnerEnv(t, e)
	status, tok := e.ccToken(sign(t, key, "k1", "vcb-core", e.issuer, time.Minute), nil)
	if status != http.StatusOK || tok["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", status, tok)
	}
	info, err := e.prov.ResolveAccessToken(ctx, tok["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if info.ClientID != "vcb-core" || info.PartnerID != "vcb" || info.Citizen() || info.PIN != "" {
		t.Errorf("resolved %+v", info)
	}

	other, _ := partnerKey(t, "k1")
	for _, tc := range []struct {
		name      string
		assertion string
		extra     url.Values
	}{
		{"wrong key", sign(t, other, "k1", "vcb-core", e.issuer, time.Minute), nil},
		{"unknown kid", sign(t, key, "k2", "vcb-core", e.issuer, time.Minute), nil},
		{"expired", sign(t, key, "k1", "vcb-core", e.issuer, -time.Minute), nil},
		{"wrong audience", sign(t, key, "k1", "vcb-core", "https://elsewhere.example", time.Minute), nil},
		{"too long-lived", sign(t, key, "k1", "vcb-core", e.issuer, time.Hour), nil},
		{"another client's name", sign(t, key, "k1", "portal", e.issuer, time.Minute), nil},
		{"client_id differs", sign(t, key, "k1", "vcb-core", e.issuer, time.Minute), url.Values{"client_id": {"portal"}}},
		{"no assertion", "", nil},
		{"garbage", "a.b.c", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.ccToken(tc.assertion, tc.extra)
			if status < 400 || status >= 500 || body["access_token"] != nil {
				t.Fatalf("want a 4xx refusal, got %d %v", status, body)
			}
		})
	}

	// A replayed assertion (same jti) is refused, and the attempt recorded.
	a := sign(t, key, "k1", "vcb-core", e.issuer, time.Minute)
	if status, _ := e.ccToken(a, nil); status != http.StatusOK {
		t.Fatalf("first use: %d", status)
	}
	if status, body := e.ccToken(a, nil); status == http.StatusOK {
		t.Fatalf("replayed assertion accepted: %v", body)
	}

	// A client secret client cannot use the grant, nor can a citizen-facing
	// client registered without it.
	if status, _ := e.token("portal", url.Values{"grant_type": {"client_credentials"}}); status == http.StatusOK {
		t.Fatal("client_secret_basic client got a client credentials token")
	}

	// Disabling the partner stops new tokens.
	p, _ := e.store.Partner(ctx, "vcb")
	p.Disabled, p.Version = true, 2
	if err := e.store.UpdatePartner(ctx, p, 1); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.ccToken(sign(t, key, "k1", "vcb-core", e.issuer, time.Minute), nil); status == http.StatusOK {
		t.Fatal("disabled partner got a token")
	}
}

func TestResolveAccessToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	access := tok["access_token"].(string)
	info, err := e.prov.ResolveAccessToken(ctx, access)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Citizen() || info.PIN != e.l2 || info.Level != 2 || info.ClientID != "portal" || info.PartnerID != "" ||
		!info.HasScope("profile") || info.HasScope(oidc.ScopeAccount) || !info.ExpiresAt.After(time.Now()) {
		t.Errorf("resolved %+v", info)
	}
	refused := func(what, token string) {
		t.Helper()
		_, err := e.prov.ResolveAccessToken(ctx, token)
		var ce *cancuoc.Error
		if !errors.As(err, &ce) || ce.Kind != cancuoc.Unauthenticated || ce.Code != "token_invalid" {
			t.Errorf("%s: %v, want Unauthenticated token_invalid", what, err)
		}
	}
	refused("garbage", "not-a-token")
	refused("tampered", strings.ToUpper(access[:10])+access[10:])
	// Expired: the provider's clock moves past the token's life.
	e.clock.add(16 * time.Minute)
	refused("expired", access)
	e.clock.add(-16 * time.Minute)
	if err := e.store.RevokeToken(ctx, info.TokenID, time.Now()); err != nil {
		t.Fatal(err)
	}
	refused("revoked", access)
}

// signClaims signs a client assertion with the claims given (times as Unix
// seconds), for the clock and lifetime rules.
func signClaims(t *testing.T, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Client assertions are judged by the provider's clock (Config.Now), not
// the machine's: nbf in the future is refused, iat in the future or too
// old is refused, and the life (exp − iat) is bounded.
func TestClientAssertionClock(t *testing.T) {
	e := newEnv(t)
	key := partnerEnv(t, e)
	claims := func(now time.Time, iat, exp time.Duration, extra map[string]any) map[string]any {
		m := map[string]any{"iss": "vcb-core", "sub": "vcb-core", "aud": e.issuer, "jti": strings.Repeat("j", 8) + now.Add(iat+exp).Format("150405.000000000"),
			"iat": now.Add(iat).Unix(), "exp": now.Add(exp).Unix()}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	ok := func(what string, m map[string]any) {
		t.Helper()
		if status, body := e.ccToken(signClaims(t, key, "k1", m), nil); status != http.StatusOK {
			t.Errorf("%s: refused %d %v", what, status, body)
		}
	}
	refused := func(what string, m map[string]any) {
		t.Helper()
		if status, body := e.ccToken(signClaims(t, key, "k1", m), nil); status < 400 || status >= 500 || body["access_token"] != nil {
			t.Errorf("%s: want a 4xx refusal, got %d %v", what, status, body)
		}
	}

	// The provider's clock runs two hours behind the machine's: an
	// assertion made by the machine's clock is not yet valid for it, one
	// made by the provider's clock is accepted although by the machine's
	// clock it expired long ago.
	e.clock.add(-2 * time.Hour)
	real, prov := time.Now(), e.clock.now()
	refused("iat by the machine's clock, in the provider's future", claims(real, 0, time.Minute, nil))
	ok("made by the provider's clock", claims(prov, 0, time.Minute, nil))
	e.clock.add(4 * time.Hour) // now two hours ahead
	real, prov = time.Now(), e.clock.now()
	refused("expired by the provider's clock", claims(real, 0, time.Minute, nil))
	ok("made by the provider's clock, ahead", claims(prov, 0, time.Minute, nil))
	e.clock.add(-2 * time.Hour)
	now := e.clock.now()

	refused("nbf in the future", claims(now, 0, 5*time.Minute, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}))
	ok("nbf passed", claims(now, 0, 5*time.Minute, map[string]any{"nbf": now.Add(-time.Second).Unix()}))
	refused("nbf not a number", claims(now, 0, 5*time.Minute, map[string]any{"nbf": "soon"}))
	refused("iat in the future", claims(now, 3*time.Minute, 5*time.Minute, nil))
	refused("iat too old", claims(now, -6*time.Minute, time.Minute, nil))
	refused("no iat", map[string]any{"iss": "vcb-core", "sub": "vcb-core", "aud": e.issuer, "jti": "no-iat", "exp": now.Add(time.Minute).Unix()})
	refused("no exp", map[string]any{"iss": "vcb-core", "sub": "vcb-core", "aud": e.issuer, "jti": "no-exp", "iat": now.Unix()})
	refused("no jti", map[string]any{"iss": "vcb-core", "sub": "vcb-core", "aud": e.issuer, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	refused("sub differs from iss", claims(now, 0, time.Minute, map[string]any{"sub": "someone"}))
	// Life: exp − iat above ten minutes is refused even when exp is near.
	refused("life (exp − iat) too long", claims(now, -4*time.Minute, 7*time.Minute, nil))
	refused("exp too far ahead", claims(now, 0, 11*time.Minute, nil))
	ok("life of nine minutes", claims(now, -4*time.Minute, 5*time.Minute, nil))
	// The same jti twice: the second is refused.
	m := claims(now, 0, time.Minute, map[string]any{"jti": "once"})
	ok("first use of a jti", m)
	m["iat"] = now.Add(time.Second).Unix() // another signature, same jti
	refused("jti replayed", m)
}
