package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/statuslist"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
)

// verify-doc checks a presentation with saved keys and status lists only
// (--offline): the issuer's URLs do not even resolve.
func TestVerifyDocOffline(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := wallet.New(st, wallet.Config{BaseURL: "https://id.invalid", Secret: []byte("cli test server secret"), ListSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Citizen(storetest.PIN(1))
	_ = st.InsertCitizen(ctx, c)
	acc := &cancuoc.Account{ID: "a1", Kind: cancuoc.AccountCitizen, PIN: c.PIN, Level: 1, Status: cancuoc.AccountActive, Version: 1}
	_ = st.InsertAccount(ctx, acc)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := json.Marshal(&jose.JSONWebKey{Key: key.Public()})
	if _, _, err := w.RegisterHolderKey(ctx, acc, "", raw); err != nil {
		t.Fatal(err)
	}
	admin := &cancuoc.Principal{ID: "p", Role: cancuoc.RoleNationalAdmin}
	doc, err := w.Issue(ctx, admin, wallet.IssueRequest{Type: "health_insurance_card", PIN: c.PIN.String(), Claims: map[string]any{
		"full_name": "Nguyễn Văn Đức", "birth_date": "1990-05-17", "card_number": "DN4010123456789", "benefit_level": "80%",
		"initial_facility": "Bệnh viện Bạch Mai", "valid_from": "2026-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := w.PreparePresentation(ctx, acc, doc.ID, wallet.PresentRequest{Claims: []string{"card_number", "benefit_level"}, Nonce: "nonce-clinic-1", Audience: "clinic"})
	h := sha256.Sum256([]byte(p.SigningInput))
	r, s, _ := ecdsa.Sign(rand.Reader, key, h[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	presFile := write("pres.txt", []byte(p.SDJWT+p.SigningInput+"."+base64.RawURLEncoding.EncodeToString(sig)))
	md, _ := w.Metadata(ctx, "social_insurance")
	mdRaw, _ := json.Marshal(md)
	keysFile := write("issuer.json", mdRaw)
	saveStatus := func() string {
		tok, _, err := w.StatusListToken(ctx, "social_insurance", doc.StatusList)
		if err != nil {
			t.Fatal(err)
		}
		return write("status.jwt", []byte(tok))
	}
	statusFile := saveStatus()
	args := []string{"verify-doc", "--keys", keysFile, "--status", statusFile, "--offline", "--nonce", "nonce-clinic-1", "--aud", "clinic", presFile}
	var out bytes.Buffer
	if err := run(ctx, args, os.Getenv, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "HỢP LỆ / VALID") || !strings.Contains(out.String(), "DN4010123456789") {
		t.Errorf("output:\n%s", out.String())
	}
	// Without the saved status list, offline fails closed.
	out.Reset()
	err = run(ctx, []string{"verify-doc", "--keys", keysFile, "--offline", "--nonce", "nonce-clinic-1", "--aud", "clinic", presFile}, os.Getenv, &out)
	if err == nil || !strings.Contains(out.String(), "status_unavailable") {
		t.Errorf("no status list: %v\n%s", err, out.String())
	}
	// Revoked, and the verifier refreshed its saved list.
	if _, err := w.SetStatus(ctx, admin, doc.ID, cancuoc.DocumentRevoked, "test"); err != nil {
		t.Fatal(err)
	}
	w2, _ := wallet.New(st, wallet.Config{BaseURL: "https://id.invalid", Secret: []byte("cli test server secret"), ListSize: 1024})
	w = w2 // a fresh service: no cached list
	statusFile = saveStatus()
	out.Reset()
	err = run(ctx, []string{"verify-doc", "--keys", keysFile, "--status", statusFile, "--offline", "--json", "--nonce", "nonce-clinic-1", "--aud", "clinic", presFile}, os.Getenv, &out)
	if err == nil || !strings.Contains(out.String(), `"code": "document_revoked"`) {
		t.Errorf("revoked: %v\n%s", err, out.String())
	}

	// A status list for the document's URI signed by another issuer whose
	// keys the verifier also trusts (here one made up by an attacker) is not
	// the document's issuer's list: it must not make the revoked document
	// valid again.
	evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	evilMD, _ := json.Marshal(wallet.IssuerMetadata{Issuer: "https://evil.invalid/issuers/x",
		JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: evil.Public(), KeyID: "e1", Algorithm: "ES256", Use: "sig"}}}})
	evilKeys := write("evil.json", evilMD)
	allValid, _ := statuslist.New(2, 1024)
	for iss, name := range map[string]string{"https://evil.invalid/issuers/x": "evil-status.jwt", "": "evil-noiss.jwt"} {
		forged, err := statuslist.Sign(evil, "e1", iss, w.StatusURI("social_insurance", doc.StatusList), allValid, time.Now(), time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		err = run(ctx, []string{"verify-doc", "--keys", keysFile, "--keys", evilKeys, "--status", write(name, []byte(forged)), "--offline", "--json",
			"--nonce", "nonce-clinic-1", "--aud", "clinic", presFile}, os.Getenv, &out)
		if err == nil || !strings.Contains(out.String(), `"code": "status_unavailable"`) || !strings.Contains(out.String(), "issuer") {
			t.Errorf("another issuer's status list (iss %q): %v\n%s", iss, err, out.String())
		}
	}
}
