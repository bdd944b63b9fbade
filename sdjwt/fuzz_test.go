package sdjwt

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary SD-JWTs to the verifier: it must never panic,
// and whatever it accepts must carry the issuer's signature.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	tok := fx.issue(f, fx.now.Add(time.Hour), licence)
	f.Add(tok)
	f.Add(fx.present(f, tok, "n", "aud", "given_name"))
	for _, name := range []string{"5.1-issuance.txt", "A.1-issuance.txt", "A.3-presentation-kb.txt"} {
		b, err := os.ReadFile("testdata/rfc9901/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.Join(strings.Fields(string(b)), ""))
	}
	f.Add("~")
	f.Add("a.b.c~WyJhIl0~")
	f.Add("eyJhbGciOiJub25lIn0.e30.~")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Verify(s, VerifyOptions{Keys: fx.keys, Now: fx.now, Typ: "-"})
		if err == nil && r.Issuer != "https://id.example.vn/issuers/transport" {
			t.Fatalf("accepted a token of issuer %q", r.Issuer)
		}
		if err != nil && Code(err) == "" {
			t.Fatalf("unnamed failure: %v", err)
		}
	})
}

// FuzzParseDisclosure decodes arbitrary disclosures without panicking.
func FuzzParseDisclosure(f *testing.F) {
	for _, s := range []string{"WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd", "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0", "W10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDisclosure(s)
		if err == nil && !d.Element && d.Name == "_sd" {
			t.Fatal("reserved name accepted")
		}
	})
}

// FuzzPlainString: the verifier's shortcut for JSON strings agrees with
// encoding/json whenever it takes it.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"An"`, `"Nguyễn"`, `"a\"b"`, `"\u00e9"`, `""`, `"`, `null`, "\"\xff\"", "\"a\tb\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q, encoding/json %q %v", raw, got, want, err)
		}
	})
}
