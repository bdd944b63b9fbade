package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunOIDC runs the conformance suite of the OpenID provider's stores
// (ClientStore and OIDCStore). open is as for Run.
func RunOIDC(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"Clients", testClients},
		{"AuthRequests", testAuthRequests},
		{"ClaimAuthCodeOnce", testClaimAuthCodeOnce},
		{"UseAuthCode", testUseAuthCode},
		{"SwapAuthRequestOnce", testSwapAuthRequestOnce},
		{"Tokens", testTokens},
		{"TokenCitizen", testTokenCitizen},
		{"UseTokenOnce", testUseTokenOnce},
		{"Consents", testConsents},
		{"SigningKeys", testSigningKeys},
		{"OIDCTxRollback", testOIDCTxRollback},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// at is a fixed instant at microsecond resolution, which both backends keep.
var at = time.Date(2025, 7, 1, 8, 30, 0, 123456000, time.UTC)

func sampleClient(id string) *cancuoc.Client {
	return &cancuoc.Client{
		ID: id, Name: "Cổng dịch vụ công", Purpose: "Giải quyết thủ tục hành chính",
		Kind: cancuoc.ClientConfidential, AuthMethod: cancuoc.ClientAuthSecretBasic,
		SecretHash: []byte{1, 2, 3}, RedirectURIs: []string{"https://dichvucong.example/cb"},
		GrantTypes: []string{cancuoc.GrantAuthorizationCode, cancuoc.GrantRefreshToken},
		Scopes:     []string{"pid"}, Sector: "dichvucong.example", MinLevel: 2, IDTokenAlg: "ES256",
		JWKS: json.RawMessage(`{"keys":[]}`), CreatedAt: at,
	}
}

func testClients(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a, b := sampleClient("b-portal"), sampleClient("a-bank")
	b.SecretHash, b.JWKS, b.AuthMethod = nil, nil, cancuoc.ClientAuthPrivateKeyJWT
	for _, c := range []*cancuoc.Client{a, b} {
		if err := s.InsertClient(ctx, c); err != nil {
			t.Fatalf("InsertClient: %v", err)
		}
	}
	wantErr(t, "InsertClient twice", s.InsertClient(ctx, sampleClient("a-bank")), cancuoc.Conflict, "duplicate")
	got, err := s.Client(ctx, "b-portal")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.SecretHash, a.SecretHash) || got.Purpose != a.Purpose || !slices.Equal(got.RedirectURIs, a.RedirectURIs) ||
		got.MinLevel != 2 || !got.CreatedAt.Equal(at) || !got.AllowsScope("pid") || !got.HasGrant(cancuoc.GrantRefreshToken) {
		t.Errorf("Client = %+v, want %+v", got, a)
	}
	_, err = s.Client(ctx, "nobody")
	wantErr(t, "Client(unknown)", err, cancuoc.NotFound, "")
	all, err := s.Clients(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "a-bank" || all[1].ID != "b-portal" {
		t.Fatalf("Clients = %v, %v", all, err)
	}
	if all[0].SecretHash != nil && len(all[0].SecretHash) != 0 {
		t.Errorf("client without secret has hash %x", all[0].SecretHash)
	}
}

func testAuthRequests(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	r := &cancuoc.AuthRequest{ID: "req1", ClientID: "portal", CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute),
		Doc: json.RawMessage(`{"state":"xyz"}`)}
	if err := s.InsertAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "InsertAuthRequest twice", s.InsertAuthRequest(ctx, r), cancuoc.Conflict, "duplicate")
	got, err := s.AuthRequest(ctx, "req1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "portal" || got.PIN != "" || got.CodeHash != nil && len(got.CodeHash) > 0 || got.CodeUsed ||
		!got.ExpiresAt.Equal(r.ExpiresAt) || !sameJSON(got.Doc, r.Doc) {
		t.Errorf("AuthRequest = %+v", got)
	}
	r.PIN, r.CodeHash, r.Doc = PIN(1), []byte("hash-of-code"), json.RawMessage(`{"state":"xyz","done":true}`)
	if err := s.UpdateAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AuthRequest(ctx, "req1")
	if got.PIN != PIN(1) || !bytes.Equal(got.CodeHash, r.CodeHash) || !sameJSON(got.Doc, r.Doc) {
		t.Errorf("after update: %+v", got)
	}
	wantErr(t, "UpdateAuthRequest(unknown)", s.UpdateAuthRequest(ctx, &cancuoc.AuthRequest{ID: "nope", Doc: json.RawMessage(`{}`)}),
		cancuoc.NotFound, "")
	// A swap from a document that is no longer stored changes nothing.
	prev := r.Doc
	stale := *r
	stale.Doc = json.RawMessage(`{"state":"xyz","step":"stale"}`)
	wantErr(t, "SwapAuthRequest(stale)", s.SwapAuthRequest(ctx, &stale, json.RawMessage(`{"state":"xyz"}`)), cancuoc.Conflict, "auth_request_changed")
	r.Doc = json.RawMessage(`{"state":"xyz","done":true,"swapped":1}`)
	if err := s.SwapAuthRequest(ctx, r, prev); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AuthRequest(ctx, "req1")
	if !sameJSON(got.Doc, r.Doc) {
		t.Errorf("after swap: %s", got.Doc)
	}
	wantErr(t, "SwapAuthRequest(unknown)", s.SwapAuthRequest(ctx, &cancuoc.AuthRequest{ID: "nope", Doc: json.RawMessage(`{}`)}, json.RawMessage(`{}`)),
		cancuoc.NotFound, "")

	_, err = s.AuthRequestByCodeHash(ctx, []byte("other"))
	wantErr(t, "AuthRequestByCodeHash(unknown)", err, cancuoc.NotFound, "")
	if byCode, err := s.AuthRequestByCodeHash(ctx, r.CodeHash); err != nil || byCode.ID != "req1" || byCode.CodeUsed {
		t.Fatalf("AuthRequestByCodeHash = %+v, %v (it reads; it does not claim)", byCode, err)
	}
	_, err = s.ClaimAuthCode(ctx, []byte("other"))
	wantErr(t, "ClaimAuthCode(unknown)", err, cancuoc.NotFound, "")
	c, err := s.ClaimAuthCode(ctx, r.CodeHash)
	if err != nil || c.ID != "req1" || !c.CodeUsed || c.PIN != PIN(1) {
		t.Fatalf("ClaimAuthCode = %+v, %v", c, err)
	}
	c, err = s.ClaimAuthCode(ctx, r.CodeHash)
	wantErr(t, "ClaimAuthCode again", err, cancuoc.Conflict, "code_used")
	if c == nil || c.ID != "req1" {
		t.Errorf("a replayed code must still name its request, got %+v", c)
	}

	old := &cancuoc.AuthRequest{ID: "old", ClientID: "portal", CreatedAt: at, ExpiresAt: at.Add(time.Minute), Doc: json.RawMessage(`{}`)}
	if err := s.InsertAuthRequest(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpiredAuthRequests(ctx, at.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthRequest(ctx, "old")
	wantErr(t, "expired request", err, cancuoc.NotFound, "")
	if _, err := s.AuthRequest(ctx, "req1"); err != nil {
		t.Errorf("unexpired request deleted: %v", err)
	}
	if err := s.DeleteAuthRequest(ctx, "req1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAuthRequest(ctx, "req1"); err != nil {
		t.Errorf("deleting an absent request: %v", err)
	}
}

// testClaimAuthCodeOnce races many claims of one code: exactly one wins.
func testClaimAuthCodeOnce(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	r := &cancuoc.AuthRequest{ID: "race", ClientID: "portal", CodeHash: []byte("code"), CreatedAt: at,
		ExpiresAt: at.Add(time.Minute), Doc: json.RawMessage(`{}`)}
	if err := s.InsertAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		wins int
	)
	errs := race(func(int) error {
		_, err := s.ClaimAuthCode(ctx, r.CodeHash)
		if err == nil {
			mu.Lock()
			wins++
			mu.Unlock()
			return nil
		}
		if errors.Is(err, cancuoc.ErrConflict) {
			return nil
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d claims of one code succeeded, want 1", wins)
	}
}

// testSwapAuthRequestOnce races many swaps of a request from the same
// document, each writing its own: exactly one wins, and its document is
// the one stored (a passkey ceremony, say, is used at most once).
func testSwapAuthRequestOnce(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	prev := json.RawMessage(`{"passkey":"ceremony"}`)
	r := &cancuoc.AuthRequest{ID: "swap-race", ClientID: "portal", CreatedAt: at, ExpiresAt: at.Add(time.Minute), Doc: prev}
	if err := s.InsertAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		winner = -1
		wins   int
	)
	errs := race(func(i int) error {
		mine := *r
		mine.Doc = json.RawMessage(fmt.Sprintf(`{"used_by":%d}`, i))
		err := s.SwapAuthRequest(ctx, &mine, prev)
		if err == nil {
			mu.Lock()
			wins++
			winner = i
			mu.Unlock()
			return nil
		}
		if errors.Is(err, cancuoc.ErrConflict) {
			return nil
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d swaps from one document succeeded, want 1", wins)
	}
	got, err := s.AuthRequest(ctx, r.ID)
	if err != nil || !sameJSON(got.Doc, json.RawMessage(fmt.Sprintf(`{"used_by":%d}`, winner))) {
		t.Fatalf("stored %s (%v), want the winner's (%d)", got.Doc, err, winner)
	}
}

func sampleToken(id string, kind cancuoc.TokenKind, family, req string) *cancuoc.Token {
	t := &cancuoc.Token{ID: id, Kind: kind, Family: family, AuthRequestID: req, ClientID: "portal", PIN: PIN(1),
		CreatedAt: at, ExpiresAt: at.Add(time.Hour), Doc: json.RawMessage(`{"scopes":["openid"]}`)}
	if kind == cancuoc.TokenRefresh {
		t.Hash = []byte("hash-" + id)
	}
	return t
}

func testTokens(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	toks := []*cancuoc.Token{
		sampleToken("a1", cancuoc.TokenAccess, "", "req1"),
		sampleToken("r1", cancuoc.TokenRefresh, "fam1", "req1"),
		sampleToken("r2", cancuoc.TokenRefresh, "fam1", ""),
		sampleToken("r3", cancuoc.TokenRefresh, "fam2", "req2"),
	}
	for _, tk := range toks {
		if err := s.InsertToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "InsertToken twice", s.InsertToken(ctx, toks[0]), cancuoc.Conflict, "duplicate")
	got, err := s.Token(ctx, "a1")
	if err != nil || got.Kind != cancuoc.TokenAccess || got.PIN != PIN(1) || got.UsedAt != nil || got.RevokedAt != nil ||
		!got.ExpiresAt.Equal(toks[0].ExpiresAt) || !sameJSON(got.Doc, toks[0].Doc) || got.AuthRequestID != "req1" {
		t.Fatalf("Token = %+v, %v", got, err)
	}
	got, err = s.TokenByHash(ctx, []byte("hash-r1"))
	if err != nil || got.ID != "r1" || got.Family != "fam1" {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	_, err = s.TokenByHash(ctx, []byte("nope"))
	wantErr(t, "TokenByHash(unknown)", err, cancuoc.NotFound, "")
	_, err = s.Token(ctx, "nope")
	wantErr(t, "Token(unknown)", err, cancuoc.NotFound, "")

	if err := s.UseToken(ctx, "r1", at); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "UseToken again", s.UseToken(ctx, "r1", at), cancuoc.Conflict, "token_used")
	if got, _ := s.Token(ctx, "r1"); got.UsedAt == nil || !got.UsedAt.Equal(at) {
		t.Errorf("UsedAt = %v", got.UsedAt)
	}

	// Revoking a family leaves other families alone.
	if err := s.RevokeTokens(ctx, "fam1", "", at); err != nil {
		t.Fatal(err)
	}
	for id, revoked := range map[string]bool{"a1": false, "r1": true, "r2": true, "r3": false} {
		got, _ := s.Token(ctx, id)
		if (got.RevokedAt != nil) != revoked {
			t.Errorf("after family revocation %s revoked = %v, want %v", id, got.RevokedAt != nil, revoked)
		}
	}
	wantErr(t, "UseToken of revoked", s.UseToken(ctx, "r2", at), cancuoc.Conflict, "token_used")
	// Revoking by authorization request (code replay).
	if err := s.RevokeTokens(ctx, "", "req1", at); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token(ctx, "a1"); got.RevokedAt == nil {
		t.Error("access token of a replayed code not revoked")
	}
	later := at.Add(time.Minute)
	if err := s.RevokeToken(ctx, "r3", later); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "r3", later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token(ctx, "r3"); got.RevokedAt == nil || !got.RevokedAt.Equal(later) {
		t.Errorf("revoking twice must keep the first time, got %v", got.RevokedAt)
	}
	wantErr(t, "RevokeToken(unknown)", s.RevokeToken(ctx, "nope", at), cancuoc.NotFound, "")

	other := sampleToken("x1", cancuoc.TokenAccess, "", "req9")
	other.ClientID = "bank"
	fresh := sampleToken("a9", cancuoc.TokenAccess, "", "req9")
	for _, tk := range []*cancuoc.Token{other, fresh} {
		if err := s.InsertToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeClientTokens(ctx, PIN(1), "portal", at); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token(ctx, "a9"); got.RevokedAt == nil {
		t.Error("RevokeClientTokens left a token of the client")
	}
	if got, _ := s.Token(ctx, "x1"); got.RevokedAt != nil {
		t.Error("RevokeClientTokens revoked another client's token")
	}
}

// testUseTokenOnce races the rotation of one refresh token: one wins.
func testUseTokenOnce(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertToken(ctx, sampleToken("r", cancuoc.TokenRefresh, "f", "")); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		wins int
	)
	errs := race(func(int) error {
		err := s.UseToken(ctx, "r", at)
		if err == nil {
			mu.Lock()
			wins++
			mu.Unlock()
			return nil
		}
		if errors.Is(err, cancuoc.ErrConflict) {
			return nil
		}
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d uses of one refresh token succeeded, want 1", wins)
	}
}

func testConsents(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	_, err := s.Consent(ctx, PIN(1), "portal")
	wantErr(t, "Consent(none)", err, cancuoc.NotFound, "")
	c := &cancuoc.Consent{PIN: PIN(1), ClientID: "portal", Scopes: []string{"openid", "profile"}, GrantedAt: at}
	if err := s.PutConsent(ctx, c); err != nil {
		t.Fatal(err)
	}
	later := &cancuoc.Consent{PIN: PIN(1), ClientID: "bank", Scopes: []string{"openid"}, GrantedAt: at.Add(time.Hour)}
	if err := s.PutConsent(ctx, later); err != nil {
		t.Fatal(err)
	}
	if err := s.PutConsent(ctx, &cancuoc.Consent{PIN: PIN(2), ClientID: "portal", Scopes: []string{"openid"}, GrantedAt: at}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, PIN(1), "portal")
	if err != nil || !slices.Equal(got.Scopes, c.Scopes) || !got.GrantedAt.Equal(at) || got.RevokedAt != nil || got.PIN != PIN(1) {
		t.Fatalf("Consent = %+v, %v", got, err)
	}
	list, err := s.Consents(ctx, PIN(1))
	if err != nil || len(list) != 2 || list[0].ClientID != "bank" || list[1].ClientID != "portal" {
		t.Fatalf("Consents = %+v, %v", list, err)
	}
	if err := s.RevokeConsent(ctx, PIN(1), "portal", at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "RevokeConsent twice", s.RevokeConsent(ctx, PIN(1), "portal", at), cancuoc.NotFound, "")
	got, _ = s.Consent(ctx, PIN(1), "portal")
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at.Add(2*time.Hour)) {
		t.Errorf("revoked consent: %+v", got)
	}
	// Granting again replaces the revoked consent.
	c.Scopes, c.GrantedAt = []string{"openid", "profile", "address"}, at.Add(3*time.Hour)
	if err := s.PutConsent(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Consent(ctx, PIN(1), "portal")
	if got.RevokedAt != nil || len(got.Scopes) != 3 {
		t.Errorf("consent given again: %+v", got)
	}
	if list, _ := s.Consents(ctx, PIN(3)); len(list) != 0 {
		t.Errorf("Consents of a stranger = %v", list)
	}
}

func testSigningKeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	keys := []*cancuoc.SigningKey{
		{ID: "k1", Alg: "ES256", Private: []byte("sealed-1"), Public: json.RawMessage(`{"kty":"EC"}`), CreatedAt: at, RetireAt: at.Add(time.Hour)},
		{ID: "k2", Alg: "ES256", Private: []byte("sealed-2"), Public: json.RawMessage(`{"kty":"EC"}`), CreatedAt: at.Add(30 * time.Minute), RetireAt: at.Add(3 * time.Hour)},
		{ID: "k3", Alg: "RS256", Private: []byte("sealed-3"), Public: json.RawMessage(`{"kty":"RSA"}`), CreatedAt: at.Add(10 * time.Minute), RetireAt: at.Add(3 * time.Hour)},
	}
	for _, k := range keys {
		if err := s.InsertSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "InsertSigningKey twice", s.InsertSigningKey(ctx, keys[0]), cancuoc.Conflict, "duplicate")
	got, err := s.SigningKeys(ctx, at)
	if err != nil || len(got) != 3 || got[0].ID != "k2" || got[1].ID != "k3" || got[2].ID != "k1" {
		t.Fatalf("SigningKeys = %v, %v", got, err)
	}
	if !bytes.Equal(got[0].Private, []byte("sealed-2")) || !sameJSON(got[0].Public, keys[1].Public) ||
		!got[0].CreatedAt.Equal(keys[1].CreatedAt) || !got[0].RetireAt.Equal(keys[1].RetireAt) || got[0].Alg != "ES256" {
		t.Errorf("key = %+v", got[0])
	}
	got, _ = s.SigningKeys(ctx, at.Add(2*time.Hour))
	if len(got) != 2 {
		t.Errorf("retired key still listed: %d keys", len(got))
	}
}

// testOIDCTxRollback checks that the provider's writes roll back with the
// audit entry they travel with.
func testOIDCTxRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertToken(ctx, sampleToken("t", cancuoc.TokenAccess, "", "")); err != nil {
			return err
		}
		if err := tx.PutConsent(ctx, &cancuoc.Consent{PIN: PIN(1), ClientID: "c", Scopes: []string{"openid"}, GrantedAt: at}); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: at, Actor: "oidc:c", Action: "oidc.token", PIN: PIN(1), Outcome: "ok"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := s.Token(ctx, "t"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("token survived rollback: %v", err)
	}
	if _, err := s.Consent(ctx, PIN(1), "c"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("consent survived rollback: %v", err)
	}
	// Inside a transaction, a claimed code is claimed for the rest of it.
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertAuthRequest(ctx, &cancuoc.AuthRequest{ID: "r", ClientID: "c", CodeHash: []byte("h"), CreatedAt: at,
			ExpiresAt: at.Add(time.Minute), Doc: json.RawMessage(`{}`)}); err != nil {
			return err
		}
		if _, err := tx.ClaimAuthCode(ctx, []byte("h")); err != nil {
			return err
		}
		_, err := tx.ClaimAuthCode(ctx, []byte("h"))
		if !errors.Is(err, cancuoc.ErrConflict) {
			t.Errorf("second claim in one transaction = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testUseAuthCode: a code is used once; a used or unknown code is Conflict
// "code_used"; in a transaction a refused claim, whenever its refusal
// comes (on PostgreSQL the claim is held until the COMMIT), commits
// nothing written with it.
func testUseAuthCode(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for _, id := range []string{"u1", "u2"} {
		r := &cancuoc.AuthRequest{ID: id, ClientID: "portal", CodeHash: []byte("code-" + id), CreatedAt: at,
			ExpiresAt: at.Add(time.Minute), Doc: json.RawMessage(`{}`)}
		if err := s.InsertAuthRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "UseAuthCode(unknown)", s.UseAuthCode(ctx, []byte("nope")), cancuoc.Conflict, "code_used")
	wantErr(t, "UseAuthCode(empty)", s.UseAuthCode(ctx, nil), cancuoc.Conflict, "code_used")
	if err := s.UseAuthCode(ctx, []byte("code-u1")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthRequest(ctx, "u1"); err != nil || !got.CodeUsed {
		t.Fatalf("after UseAuthCode: %+v, %v; want the code used", got, err)
	}
	if got, _ := s.AuthRequest(ctx, "u2"); got.CodeUsed {
		t.Error("UseAuthCode used another request's code")
	}
	wantErr(t, "UseAuthCode again", s.UseAuthCode(ctx, []byte("code-u1")), cancuoc.Conflict, "code_used")
	_, err := s.ClaimAuthCode(ctx, []byte("code-u1"))
	wantErr(t, "ClaimAuthCode after UseAuthCode", err, cancuoc.Conflict, "code_used")

	tok := func(id string) *cancuoc.Token {
		return &cancuoc.Token{ID: id, Kind: cancuoc.TokenAccess, AuthRequestID: "u1", ClientID: "portal", PIN: PIN(1),
			CreatedAt: at, ExpiresAt: at.Add(time.Hour), Doc: json.RawMessage(`{}`)}
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.UseAuthCode(ctx, []byte("code-u1")); err != nil {
			return err
		}
		return tx.InsertToken(ctx, tok("t-replayed"))
	})
	wantErr(t, "UseAuthCode of a used code in a transaction", err, cancuoc.Conflict, "code_used")
	if _, err := s.Token(ctx, "t-replayed"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("a token written with a refused claim: %v, want NotFound", err)
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.UseAuthCode(ctx, []byte("code-u2")); err != nil {
			return err
		}
		return tx.InsertToken(ctx, tok("t-ok"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.AuthRequest(ctx, "u2"); err != nil || !got.CodeUsed {
		t.Errorf("claimed in a transaction: %+v, %v", got, err)
	}
	if _, err := s.Token(ctx, "t-ok"); err != nil {
		t.Errorf("the token written with the claim: %v", err)
	}
}

// testTokenCitizen: an access token is read with its citizen's current
// record, exactly as CitizenDoc reads it; a token of a citizen without a
// record, and a refresh token, come without one; an unknown token is
// NotFound.
func testTokenCitizen(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := Citizen(PIN(1))
	if err := s.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Version, c.FullName = 2, "Nguyễn Văn Đức Anh"
	if err := s.UpdateCitizen(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	orphan := sampleToken("a2", cancuoc.TokenAccess, "", "req2")
	orphan.PIN = PIN(2)
	for _, tk := range []*cancuoc.Token{sampleToken("a1", cancuoc.TokenAccess, "", "req1"), orphan,
		sampleToken("r1", cancuoc.TokenRefresh, "fam1", "req1")} {
		if err := s.InsertToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.CitizenDoc(ctx, PIN(1))
	if err != nil {
		t.Fatal(err)
	}
	tok, doc, err := s.TokenCitizen(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if alone, _ := s.Token(ctx, "a1"); !reflect.DeepEqual(tok, alone) {
		t.Errorf("TokenCitizen token = %+v, Token = %+v", tok, alone)
	}
	if doc == nil || doc.PIN != want.PIN || doc.Version != 2 || doc.Home != want.Home || !sameJSON(doc.JSON, want.JSON) {
		t.Fatalf("TokenCitizen record = %+v, CitizenDoc = %+v", doc, want)
	}
	var got cancuoc.Citizen
	if err := json.Unmarshal(doc.JSON, &got); err != nil || got.FullName != c.FullName {
		t.Errorf("TokenCitizen record decodes to %q, %v; want the current version's %q", got.FullName, err, c.FullName)
	}
	for _, id := range []string{"a2", "r1"} {
		tok, doc, err := s.TokenCitizen(ctx, id)
		if err != nil || tok.ID != id || doc != nil {
			t.Errorf("TokenCitizen(%s) = %+v, %+v, %v; want the token without a record", id, tok, doc, err)
		}
	}
	_, _, err = s.TokenCitizen(ctx, "nope")
	wantErr(t, "TokenCitizen(unknown)", err, cancuoc.NotFound, "")
}
