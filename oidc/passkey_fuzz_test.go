package oidc

import (
	"slices"
	"testing"
)

// FuzzPasskeyAMR feeds the read of the user-verification flag from a
// posted assertion: whatever arrives, it must not panic, and swk always
// comes first (never hwk: attestation is not checked).
func FuzzPasskeyAMR(f *testing.F) {
	f.Add([]byte(`{"id":"AQ","rawId":"AQ","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUC"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		amr := passkeyAMR(b)
		if len(amr) == 0 || amr[0] != "swk" || len(amr) > 2 || (len(amr) == 2 && !slices.Equal(amr, []string{"swk", "mfa"})) {
			t.Fatalf("amr %v", amr)
		}
	})
}
