package sdjwt

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// rfcVector reads a line-wrapped example of RFC 9901 from testdata.
func rfcVector(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9901/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(string(b)), "")
}

func rfcKeys(t *testing.T) KeyFunc {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9901/issuer.jwk")
	if err != nil {
		t.Fatal(err)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return func(iss, kid string) (*jose.JSONWebKey, error) { return &k, nil }
}

// rfcNow lies inside every example's validity (iat 1683000000, exp
// 1883000000) and just after the A.3 key-binding JWT's iat.
var rfcNow = time.Unix(1748454271+30, 0)

func claimsJSON(t *testing.T, r *Result) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(r.Claims)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func TestRFC9901Section51(t *testing.T) {
	r, err := Verify(rfcVector(t, "5.1-issuance.txt"), VerifyOptions{Keys: rfcKeys(t), Now: rfcNow, Typ: "example+sd-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsJSON(t, r)
	want := map[string]any{"given_name": "John", "family_name": "Doe", "email": "johndoe@example.com",
		"phone_number": "+1-202-555-0101", "phone_number_verified": true, "birthdate": "1940-01-01",
		"updated_at": float64(1570000000), "sub": "user_42", "iss": "https://issuer.example.com"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if n, _ := c["nationalities"].([]any); len(n) != 2 || n[0] != "US" || n[1] != "DE" {
		t.Errorf("nationalities = %v", c["nationalities"])
	}
	if a, _ := c["address"].(map[string]any); a["locality"] != "Anytown" {
		t.Errorf("address = %v", c["address"])
	}
	if _, ok := c["_sd"]; ok {
		t.Error("_sd left in the claims")
	}
	if _, ok := c["_sd_alg"]; ok {
		t.Error("_sd_alg left in the claims")
	}
	if len(r.Disclosed) != 10 {
		t.Errorf("disclosed %v", r.Disclosed)
	}
}

// The Section 5.2 presentation: some disclosures dropped, one array element.
func TestRFC9901Section52Selection(t *testing.T) {
	tok, err := Split(rfcVector(t, "5.1-issuance.txt"))
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{"given_name": true, "family_name": true, "address": true}
	var sel []string
	for _, enc := range tok.Disclosures {
		d, _ := ParseDisclosure(enc)
		v, _ := decodeValue(d.Value)
		if keep[d.Name] || (d.Element && v == "US") {
			sel = append(sel, enc)
		}
	}
	tok.Disclosures = sel
	r, err := Verify(tok.String(), VerifyOptions{Keys: rfcKeys(t), Now: rfcNow, Typ: "example+sd-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsJSON(t, r)
	if n, _ := c["nationalities"].([]any); len(n) != 1 || n[0] != "US" {
		t.Errorf("nationalities = %v", c["nationalities"])
	}
	for _, absent := range []string{"email", "phone_number", "birthdate", "updated_at"} {
		if _, ok := c[absent]; ok {
			t.Errorf("%s disclosed but not presented", absent)
		}
	}
}

func TestRFC9901AppendixA1(t *testing.T) {
	r, err := Verify(rfcVector(t, "A.1-issuance.txt"), VerifyOptions{Keys: rfcKeys(t), Now: rfcNow, Typ: "example+sd-jwt"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Claims["address"].(map[string]any)
	if a["region"] != "港区" || a["country"] != "JP" || len(a) != 2 {
		t.Errorf("address = %v", a)
	}
	if strings.Join(r.Disclosed, ",") != "address.country,address.region" {
		t.Errorf("disclosed %v", r.Disclosed)
	}
}

func TestRFC9901AppendixA3KeyBinding(t *testing.T) {
	o := VerifyOptions{Keys: rfcKeys(t), Now: rfcNow, RequireKB: true, Nonce: "1234567890", Audience: "https://verifier.example.org"}
	r, err := Verify(rfcVector(t, "A.3-presentation-kb.txt"), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.VCT != "urn:eudi:pid:de:1" || r.KB == nil || r.KB.Nonce != "1234567890" {
		t.Errorf("result %+v", r)
	}
	age, _ := r.Claims["age_equal_or_over"].(map[string]any)
	if age["18"] != true || len(age) != 1 {
		t.Errorf("age_equal_or_over = %v", age)
	}
	if n, _ := r.Claims["nationalities"].([]any); len(n) != 1 || n[0] != "DE" {
		t.Errorf("nationalities = %v", r.Claims["nationalities"])
	}
	// The same presentation at another verifier, or for another request,
	// or long after, is refused, each for its own reason.
	for code, o2 := range map[string]VerifyOptions{
		CodeKBNonce:    {Nonce: "other"},
		CodeKBAudience: {Audience: "https://bank.example"},
		CodeKBStale:    {Now: rfcNow.Add(time.Hour)},
	} {
		oo := o
		if o2.Nonce != "" {
			oo.Nonce = o2.Nonce
		}
		if o2.Audience != "" {
			oo.Audience = o2.Audience
		}
		if !o2.Now.IsZero() {
			oo.Now = o2.Now
		}
		if _, err := Verify(rfcVector(t, "A.3-presentation-kb.txt"), oo); Code(err) != code {
			t.Errorf("want %s, got %v", code, err)
		}
	}
}
