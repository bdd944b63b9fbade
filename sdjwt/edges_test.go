package sdjwt

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The edges of RFC 9901 and the SD-JWT VC profile, each on an SD-JWT the
// issuer really signed, so that only the edge under test can fail it.

// signed signs payload (plus the fixture's iss, vct, cnf unless given) as
// the fixture's issuer, with header typ.
func (f *fixture) signed(t *testing.T, typ string, payload map[string]any) string {
	t.Helper()
	full := map[string]any{"iss": "https://id.example.vn/issuers/transport", "vct": "https://id.example.vn/vct/driver_licence",
		"iat": f.now.Unix(), "cnf": map[string]any{"jwk": &jose.JSONWebKey{Key: f.holder.Public()}}}
	for k, v := range payload {
		if v == nil {
			delete(full, k)
			continue
		}
		full[k] = v
	}
	body, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := sign(Key{ID: "k1", Signer: f.issuer}, typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// kb appends a key-binding JWT with these claims (nil drops one of the
// defaults: nonce n, aud aud, iat now, the right sd_hash) and header typ.
func (f *fixture) kb(t *testing.T, presented, typ string, claims map[string]any) string {
	t.Helper()
	tk, err := Split(presented)
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]any{"nonce": "n", "aud": "aud", "iat": f.now.Unix(), "sd_hash": tk.SDHash()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	body, _ := json.Marshal(c)
	kb, err := sign(Key{Signer: f.holder}, typ, body)
	if err != nil {
		t.Fatal(err)
	}
	return presented + kb
}

func disc(t *testing.T, parts ...any) string {
	t.Helper()
	raw, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(raw)
}

func TestVerifyEdges(t *testing.T) {
	f := newFixture(t)
	plain := VerifyOptions{Keys: f.keys, Now: f.now}
	name := disc(t, "salt-1", "given_name", "An")
	us := disc(t, "salt-2", "US")
	sdReserved := disc(t, "salt-3", "_sd", []string{"x"})
	dotsReserved := disc(t, "salt-4", "...", "x")
	expDisc := disc(t, "salt-5", "exp", f.now.Add(-time.Hour).Unix())
	statusDisc := disc(t, "salt-6", "status", map[string]any{"status_list": map[string]any{"idx": 1, "uri": "https://x"}})
	nested := disc(t, "salt-7", "address", map[string]any{"_sd_alg": "sha-256", "locality": "Huế"})

	cases := []struct {
		name string
		in   string
		o    VerifyOptions
		code string // "" accepted
	}{
		{"array element disclosure", f.signed(t, TypVC, map[string]any{"nationalities": []any{map[string]any{"...": Digest(us)}, "DE"}}) + "~" + us + "~", plain, ""},
		{"element disclosure referenced from _sd", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(us)}}) + "~" + us + "~", plain, CodeDisclosureMalformed},
		{"property disclosure referenced as an element", f.signed(t, TypVC, map[string]any{"n": []any{map[string]any{"...": Digest(name)}}}) + "~" + name + "~", plain, CodeDisclosureMalformed},
		{"an object with ... and another key is plain data", f.signed(t, TypVC, map[string]any{"n": []any{map[string]any{"...": Digest(us), "x": 1}}}) + "~", plain, ""},
		{"a digest in two arrays", f.signed(t, TypVC, map[string]any{"a": []any{map[string]any{"...": Digest(us)}}, "b": []any{map[string]any{"...": Digest(us)}}}) + "~" + us + "~", plain, CodeDigestDuplicate},
		{"a digest in _sd twice at two levels", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(name)}, "o": map[string]any{"_sd": []string{Digest(name)}}}) + "~" + name + "~", plain, CodeDigestDuplicate},
		{"an undisclosed digest twice", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest("a"), Digest("a")}}) + "~", plain, CodeDigestDuplicate},
		{"disclosure named _sd", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(sdReserved)}}) + "~" + sdReserved + "~", plain, CodeDisclosureMalformed},
		{"disclosure named ...", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(dotsReserved)}}) + "~" + dotsReserved + "~", plain, CodeDisclosureMalformed},
		{"unreferenced disclosure", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(name)}}) + "~" + name + "~" + us + "~", plain, CodeDisclosureUnref},
		{"_sd_alg sha-512", f.signed(t, TypVC, map[string]any{"_sd_alg": "sha-512"}) + "~", plain, CodeHashAlg},
		{"_sd_alg not a string", f.signed(t, TypVC, map[string]any{"_sd_alg": 256}) + "~", plain, CodeHashAlg},
		{"_sd_alg absent means sha-256", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(name)}}) + "~" + name + "~", plain, ""},
		{"_sd_alg below the top level", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(nested)}}) + "~" + nested + "~", plain, CodeMalformed},
		{"_sd not an array", f.signed(t, TypVC, map[string]any{"_sd": Digest(name)}) + "~" + name + "~", plain, CodeMalformed},
		{"typ JWT", f.signed(t, "JWT", nil) + "~", plain, CodeTypWrong},
		{"typ vc+sd-jwt (the old media type)", f.signed(t, "vc+sd-jwt", nil) + "~", plain, CodeTypWrong},
		{"typ with application/ prefix, any case", f.signed(t, "application/DC+SD-JWT", nil) + "~", plain, ""},
		{"vct missing", f.signed(t, TypVC, map[string]any{"vct": nil}) + "~", plain, CodeVCTMissing},
		{"vct not a string", f.signed(t, TypVC, map[string]any{"vct": 7}) + "~", plain, CodeVCTMissing},
		{"exp selectively disclosable", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(expDisc)}}) + "~" + expDisc + "~", plain, CodeNotDisclosable},
		{"status selectively disclosable", f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(statusDisc)}}) + "~" + statusDisc + "~", plain, CodeNotDisclosable},
		{"exp a string", f.signed(t, TypVC, map[string]any{"exp": "2099-01-01"}) + "~", plain, CodeMalformed},
		{"exp within the skew", f.signed(t, TypVC, map[string]any{"exp": f.now.Add(-30 * time.Second).Unix()}) + "~", plain, ""},
		{"expired beyond the skew", f.signed(t, TypVC, map[string]any{"exp": f.now.Add(-2 * time.Minute).Unix()}) + "~", plain, CodeExpired},
		{"nbf in the future", f.signed(t, TypVC, map[string]any{"nbf": f.now.Add(time.Hour).Unix()}) + "~", plain, CodeNotYetValid},
		{"nbf within the skew", f.signed(t, TypVC, map[string]any{"nbf": f.now.Add(30 * time.Second).Unix()}) + "~", plain, ""},
		{"cnf.jwk with a private member", f.kb(t, f.signed(t, TypVC, map[string]any{"cnf": map[string]any{"jwk": &jose.JSONWebKey{Key: f.holder}}})+"~", TypKB, nil), f.opts("n", "aud"), CodeCnfMissing},
		{"no cnf but a key binding", f.kb(t, f.signed(t, TypVC, map[string]any{"cnf": nil})+"~", TypKB, nil), f.opts("n", "aud"), CodeCnfMissing},
	}
	base := f.signed(t, TypVC, map[string]any{"_sd": []string{Digest(name)}}) + "~" + name + "~"
	kbCases := []struct {
		name   string
		typ    string
		claims map[string]any
		o      VerifyOptions
		code   string
	}{
		{"key binding", TypKB, nil, f.opts("n", "aud"), ""},
		{"kb typ JWT", "JWT", nil, f.opts("n", "aud"), CodeKBMalformed},
		{"kb without sd_hash", TypKB, map[string]any{"sd_hash": nil}, f.opts("n", "aud"), CodeKBMalformed},
		{"kb sd_hash of another presentation", TypKB, map[string]any{"sd_hash": Digest("x")}, f.opts("n", "aud"), CodeKBSDHash},
		{"kb without iat", TypKB, map[string]any{"iat": nil}, f.opts("n", "aud"), CodeKBMalformed},
		{"kb iat a string", TypKB, map[string]any{"iat": "now"}, f.opts("n", "aud"), CodeKBMalformed},
		{"kb iat in the future beyond the skew", TypKB, map[string]any{"iat": f.now.Add(2 * time.Minute).Unix()}, f.opts("n", "aud"), CodeKBStale},
		{"kb iat in the future within the skew", TypKB, map[string]any{"iat": f.now.Add(30 * time.Second).Unix()}, f.opts("n", "aud"), ""},
		{"kb iat older than the window", TypKB, map[string]any{"iat": f.now.Add(-6 * time.Minute).Unix()}, f.opts("n", "aud"), CodeKBStale},
		{"kb iat older than a shorter window", TypKB, map[string]any{"iat": f.now.Add(-2 * time.Minute).Unix()},
			VerifyOptions{Keys: f.keys, Now: f.now, RequireKB: true, Nonce: "n", Audience: "aud", MaxKBAge: time.Minute}, CodeKBStale},
		{"kb without nonce, none expected", TypKB, map[string]any{"nonce": nil}, plain, CodeKBMalformed},
		{"kb without aud, none expected", TypKB, map[string]any{"aud": nil}, plain, CodeKBMalformed},
		{"kb aud an array", TypKB, map[string]any{"aud": []string{"aud"}}, f.opts("n", "aud"), CodeKBMalformed},
	}
	for _, c := range kbCases {
		cases = append(cases, struct {
			name string
			in   string
			o    VerifyOptions
			code string
		}{c.name, f.kb(t, base, c.typ, c.claims), c.o, c.code})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(c.in, c.o)
			if Code(err) != c.code {
				t.Fatalf("want %q, got %v", c.code, err)
			}
		})
	}
}

// The array element disclosure lands in place; the undisclosed one is
// dropped (RFC 9901 §7.1 step 3.c.ii).
func TestArrayElementsInPlace(t *testing.T) {
	f := newFixture(t)
	us, de := disc(t, "s1", "US"), disc(t, "s2", "DE")
	jwt := f.signed(t, TypVC, map[string]any{"nationalities": []any{map[string]any{"...": Digest(us)}, "VN", map[string]any{"...": Digest(de)}}})
	r, err := Verify(jwt+"~"+de+"~", VerifyOptions{Keys: f.keys, Now: f.now})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r.Claims["nationalities"])
	if string(got) != `["VN","DE"]` || strings.Join(r.Disclosed, ",") != "nationalities[2]" {
		t.Errorf("nationalities %s, disclosed %v", got, r.Disclosed)
	}
}
