package sdjwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type fixture struct {
	issuer, holder *ecdsa.PrivateKey
	keys           KeyFunc
	now            time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	iss, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hol, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &jose.JSONWebKey{Key: iss.Public(), KeyID: "k1", Algorithm: "ES256"}
	return &fixture{issuer: iss, holder: hol, now: time.Now(),
		keys: func(i, kid string) (*jose.JSONWebKey, error) {
			if i != "https://id.example.vn/issuers/transport" || kid != "k1" {
				return nil, errors.New("unknown")
			}
			return pub, nil
		}}
}

func (f *fixture) issue(t testing.TB, exp time.Time, claims map[string]any) string {
	t.Helper()
	cnf := map[string]any{"jwk": &jose.JSONWebKey{Key: f.holder.Public()}}
	plain := map[string]any{"iss": "https://id.example.vn/issuers/transport", "iat": f.now.Unix(), "exp": exp.Unix(),
		"vct": "https://id.example.vn/vct/driver_licence", "cnf": cnf,
		"status": map[string]any{"status_list": map[string]any{"idx": 7, "uri": "https://id.example.vn/statuslists/transport/0"}}}
	is, err := Issue(Key{ID: "k1", Signer: f.issuer}, plain, claims, IssueOptions{Decoys: 3})
	if err != nil {
		t.Fatal(err)
	}
	return is.Token
}

func (f *fixture) present(t testing.TB, tok string, nonce, aud string, names ...string) string {
	t.Helper()
	p, err := Present(tok, Names(names...), &Key{Signer: f.holder}, nonce, aud, f.now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) opts(nonce, aud string) VerifyOptions {
	return VerifyOptions{Keys: f.keys, Now: f.now, RequireKB: true, Nonce: nonce, Audience: aud}
}

var licence = map[string]any{"family_name": "Nguyễn", "given_name": "Văn An", "birth_date": "1990-02-01",
	"licence_number": "790123456789", "categories": []any{"A1", "B2"}}

func TestIssuePresentVerify(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.now.Add(24*time.Hour), licence)
	p := f.present(t, tok, "n-1", "https://bank.example", "given_name", "categories")
	r, err := Verify(p, f.opts("n-1", "https://bank.example"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Disclosed, ",") != "categories,given_name" {
		t.Errorf("disclosed %v", r.Disclosed)
	}
	if r.Claims["given_name"] != "Văn An" || r.Claims["family_name"] != nil {
		t.Errorf("claims %v", r.Claims)
	}
	if r.Status == nil || r.Status.Idx != 7 || r.VCT == "" || r.KB.Audience != "https://bank.example" {
		t.Errorf("result %+v", r)
	}
	// Without key binding the whole issued token verifies too.
	if _, err := Verify(tok, VerifyOptions{Keys: f.keys, Now: f.now}); err != nil {
		t.Fatal(err)
	}
	// Every claim is selectively disclosable: the payload names none.
	payload, _ := b64.DecodeString(strings.Split(tok, ".")[1])
	for k := range licence {
		if strings.Contains(string(payload), k) {
			t.Errorf("claim %s visible in the signed payload", k)
		}
	}
}

// mutate returns p with its i-th ~-separated part replaced.
func mutate(p string, i int, with string) string {
	parts := strings.Split(p, "~")
	parts[i] = with
	return strings.Join(parts, "~")
}

func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.now.Add(time.Hour), licence)
	other := f.issue(t, f.now.Add(time.Hour), map[string]any{"given_name": "Bình"})
	good := f.present(t, tok, "n", "aud", "given_name")
	otherDisc := strings.Split(other, "~")[1]

	// A changed disclosure: same claim, other value, re-encoded.
	d, _ := ParseDisclosure(strings.Split(good, "~")[1])
	forged, _ := json.Marshal([]any{d.Salt, d.Name, "Kẻ Giả"})
	changed := mutate(good, 1, b64.EncodeToString(forged))

	noneHeader := b64.EncodeToString([]byte(`{"alg":"none","typ":"dc+sd-jwt"}`))
	jwtParts := strings.Split(strings.Split(tok, "~")[0], ".")
	algNone := noneHeader + "." + jwtParts[1] + ".c2ln" + "~"

	// A KB-JWT with alg none.
	kbParts := strings.Split(good, "~")
	kb := strings.Split(kbParts[len(kbParts)-1], ".")
	kbNone := mutate(good, len(kbParts)-1, b64.EncodeToString([]byte(`{"alg":"none","typ":"kb+jwt"}`))+"."+kb[1]+".c2ln")

	// Presented by someone else's key.
	thief := newFixture(t)
	thief.holder, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	stolen := thief.present(t, tok, "n", "aud", "given_name")

	// Signed by a key the issuer never published.
	rogue := newFixture(t)
	rogue.now = f.now
	rogueTok := rogue.issue(t, f.now.Add(time.Hour), licence)

	expired := f.issue(t, f.now.Add(-time.Minute*5), licence)

	// A disclosure appended after the holder signed.
	added := strings.Replace(good, "~"+kbParts[len(kbParts)-1], "~"+strings.Split(tok, "~")[2]+"~"+kbParts[len(kbParts)-1], 1)

	cases := []struct {
		name, in string
		o        VerifyOptions
		code     string
	}{
		{"changed disclosure", changed, f.opts("n", "aud"), CodeDisclosureUnref},
		{"disclosure from another document", mutate(good, 1, otherDisc), f.opts("n", "aud"), CodeDisclosureUnref},
		{"duplicate disclosure", mutate(good, 1, strings.Split(good, "~")[1]+"~"+strings.Split(good, "~")[1]), f.opts("n", "aud"), CodeDisclosureDuplicate},
		{"added after key binding", added, f.opts("n", "aud"), CodeKBSDHash},
		{"replayed key binding", good, f.opts("fresh-nonce", "aud"), CodeKBNonce},
		{"wrong audience", good, f.opts("n", "other-verifier"), CodeKBAudience},
		{"stale key binding", good, VerifyOptions{Keys: f.keys, Now: f.now.Add(10 * time.Minute), RequireKB: true, Nonce: "n", Audience: "aud"}, CodeKBStale},
		{"no key binding", tok, f.opts("n", "aud"), CodeKBMissing},
		{"holder key of another", stolen, f.opts("n", "aud"), CodeKBSignature},
		{"expired", expired, VerifyOptions{Keys: f.keys, Now: f.now}, CodeExpired},
		{"unknown issuer key", rogueTok, VerifyOptions{Keys: func(string, string) (*jose.JSONWebKey, error) { return nil, errors.New("no") }, Now: f.now}, CodeUnknownKey},
		{"key of another issuer", rogueTok, VerifyOptions{Keys: f.keys, Now: f.now}, CodeSignature},
		{"alg none", algNone, VerifyOptions{Keys: f.keys, Now: f.now}, CodeAlgNone},
		{"kb alg none", kbNone, f.opts("n", "aud"), CodeAlgNone},
		{"not an SD-JWT", "abc", VerifyOptions{Keys: f.keys, Now: f.now}, CodeMalformed},
		{"wrong issuer", tok, VerifyOptions{Keys: f.keys, Now: f.now, Issuer: "https://other"}, CodeIssuerWrong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(c.in, c.o)
			if Code(err) != c.code {
				t.Fatalf("want %s, got %v", c.code, err)
			}
		})
	}
}

func TestDigestDuplicateInPayload(t *testing.T) {
	f := newFixture(t)
	enc, _ := NewDisclosure("given_name", "An")
	dg := Digest(enc)
	body, _ := json.Marshal(map[string]any{"iss": "https://id.example.vn/issuers/transport", "vct": "x",
		"_sd": []string{dg, dg}, "_sd_alg": "sha-256"})
	jwt, err := sign(Key{ID: "k1", Signer: f.issuer}, TypVC, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(jwt+"~"+enc+"~", VerifyOptions{Keys: f.keys, Now: f.now}); Code(err) != CodeDigestDuplicate {
		t.Fatalf("want %s, got %v", CodeDigestDuplicate, err)
	}
}

// A warm signature cache changes no verdict: only an identical
// issuer-signed JWT is a hit, and everything else is still checked.
func TestSigCacheKeepsChecks(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.now.Add(time.Hour), licence)
	good := f.present(t, tok, "n", "aud", "given_name")
	o := f.opts("n", "aud")
	o.Cache = NewSigCache(10, time.Minute)
	if _, err := Verify(good, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(good, o); err != nil {
		t.Fatal(err)
	}
	// Concurrent verifications share the cached payload (read only).
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := Verify(good, o); err != nil || r.Claims["given_name"] != "Văn An" {
				t.Errorf("concurrent: %v", err)
			}
		}()
	}
	wg.Wait()
	o2 := o
	o2.Nonce = "other"
	if _, err := Verify(good, o2); Code(err) != CodeKBNonce {
		t.Errorf("replay with a warm cache: %v", err)
	}
	other := f.issue(t, f.now.Add(time.Hour), map[string]any{"given_name": "Bình"})
	if _, err := Verify(mutate(good, 1, strings.Split(other, "~")[1]), o); Code(err) != CodeDisclosureUnref {
		t.Errorf("foreign disclosure with a warm cache: %v", err)
	}
	// A forged signature on the same payload is another JWT: no hit.
	parts := strings.Split(strings.Split(good, "~")[0], ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if _, err := Verify(strings.Replace(good, strings.Split(good, "~")[0], forged, 1), o); Code(err) != CodeSignature {
		t.Errorf("forged signature with a warm cache: %v", err)
	}
	o3 := o
	o3.Now = f.now.Add(2 * time.Minute)
	o3.RequireKB = false
	o3.Nonce, o3.Audience = "", ""
	if _, err := Verify(tok, o3); err != nil { // expired entry: verified again
		t.Fatal(err)
	}
}

// rawSignature reads every ECDSA signature right, whatever the length of
// its integers (DER drops leading zeros and adds one before a high bit).
func TestRawSignature(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("input"))
	for range 300 {
		der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig, err := rawSignature(der)
		if err != nil {
			t.Fatal(err)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&k.PublicKey, d[:], r, s) {
			t.Fatalf("signature %x read as %x", der, sig)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0}, {0x30, 3, 2, 1, 1}, {0x30, 6, 2, 1, 1, 2, 1, 1, 0}} {
		if _, err := rawSignature(bad); err == nil {
			t.Errorf("accepted %x", bad)
		}
	}
}
