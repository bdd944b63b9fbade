package webhook

import (
	"crypto/ed25519"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func signed(t *testing.T, s *Signer, id string, at time.Time, body string) (ts, sig string) {
	t.Helper()
	return strconv.FormatInt(at.Unix(), 10), s.Sign(id, at, []byte(body))
}

func TestVerify(t *testing.T) {
	s, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateSigner()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	body := `{"id":"ev1","type":"citizen.died","timestamp":"2026-11-23T09:00:00Z","data":{}}`
	ts, sig := signed(t, s, "ev1", now, body)
	keys := []ed25519.PublicKey{other.PublicKey(), s.PublicKey()}

	if err := Verify(keys, "ev1", ts, sig, []byte(body), now.Add(time.Minute), DefaultTolerance); err != nil {
		t.Fatalf("a good webhook: %v", err)
	}
	// A header may carry several signatures (rotation); unknown versions are skipped.
	multi := "v1,Zm9v " + other.Sign("ev1", now, []byte(body)) + " " + sig
	if err := Verify(keys[1:], "ev1", ts, multi, []byte(body), now, DefaultTolerance); err != nil {
		t.Errorf("good signature among others: %v", err)
	}
	staleTS, staleSig := signed(t, s, "ev1", now.Add(-6*time.Minute), body)
	futureTS, futureSig := signed(t, s, "ev1", now.Add(6*time.Minute), body)
	for _, tc := range []struct {
		name              string
		keys              []ed25519.PublicKey
		id, ts, sig, body string
		want              error
	}{
		{"wrong key", []ed25519.PublicKey{other.PublicKey()}, "ev1", ts, sig, body, ErrNoSignature},
		{"no key", nil, "ev1", ts, sig, body, ErrNoSignature},
		{"changed body", keys, "ev1", ts, sig, strings.Replace(body, "died", "born", 1), ErrNoSignature},
		{"body with a space added", keys, "ev1", ts, sig, body + " ", ErrNoSignature},
		{"other id", keys, "ev2", ts, sig, body, ErrNoSignature},
		{"timestamp changed", keys, "ev1", strconv.FormatInt(now.Unix()+1, 10), sig, body, ErrNoSignature},
		{"old timestamp", keys, "ev1", staleTS, staleSig, body, ErrTimestamp},
		{"future timestamp", keys, "ev1", futureTS, futureSig, body, ErrTimestamp},
		{"timestamp not a number", keys, "ev1", "yesterday", sig, body, ErrTimestamp},
		{"only a v1 signature", keys, "ev1", ts, "v1," + strings.TrimPrefix(sig, "v1a,"), body, ErrNoSignature},
		{"missing id", keys, "", ts, sig, body, ErrMissingField},
		{"missing signature", keys, "ev1", ts, "", body, ErrMissingField},
	} {
		err := Verify(tc.keys, tc.id, tc.ts, tc.sig, []byte(tc.body), now, DefaultTolerance)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Verify(keys, "ev1", ts, "v1a", []byte(body), now, DefaultTolerance); err == nil {
		t.Error("a malformed header verified")
	}
}

func TestKeyEncoding(t *testing.T) {
	s, _ := GenerateSigner()
	back, err := ParseSecret(s.MarshalSecret())
	if err != nil || !back.PublicKey().Equal(s.PublicKey()) {
		t.Fatalf("secret round trip: %v", err)
	}
	pub, err := ParsePublicKey(MarshalPublicKey(s.PublicKey()))
	if err != nil || !pub.Equal(s.PublicKey()) {
		t.Fatalf("public key round trip: %v", err)
	}
	for _, bad := range []string{"", "whsk_", "whsk_AAAA", "whpk_" + strings.TrimPrefix(s.MarshalSecret(), "whsk_"), "sk_" + s.MarshalSecret()[5:]} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
	if _, err := ParsePublicKey(s.MarshalSecret()); err == nil {
		t.Error("a secret key parsed as public")
	}
	if len(KeyID(s.PublicKey())) != 16 {
		t.Error("KeyID length")
	}
}

func TestParseSignatures(t *testing.T) {
	sigs, err := ParseSignatures("  v1a,AAEC v1,Zm9v  ")
	if err != nil || len(sigs) != 2 || sigs[0].Version != "v1a" || string(sigs[0].Value) != "\x00\x01\x02" || string(sigs[1].Value) != "foo" {
		t.Fatalf("ParseSignatures = %+v, %v", sigs, err)
	}
	for _, bad := range []string{"", "   ", "v1a", "v1a,", ",AAEC", "v1a,***", strings.Repeat("v1a,AAEC ", 17)} {
		if _, err := ParseSignatures(bad); err == nil {
			t.Errorf("ParseSignatures(%q) accepted", bad)
		}
	}
}

// FuzzParseSignatures: any header parses or fails without panicking, and
// what parses re-encodes to the same entries.
func FuzzParseSignatures(f *testing.F) {
	for _, s := range []string{"v1a,AAEC", "v1,Zm9v v1a,AAEC", "", ",", "v1a,=", "a,b,c", "v1a,AAEC\tv1,AA==", "\x00,\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		sigs, err := ParseSignatures(header)
		if err != nil {
			return
		}
		if len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("%d signatures from %q", len(sigs), header)
		}
		for _, s := range sigs {
			if s.Version == "" || strings.ContainsAny(s.Version, " \t\n") {
				t.Fatalf("bad version %q from %q", s.Version, header)
			}
		}
	})
}

// FuzzVerify: no input makes Verify accept without a real signature.
func FuzzVerify(f *testing.F) {
	s, _ := GenerateSigner()
	now := time.Unix(1_800_000_000, 0)
	f.Add("ev1", "1800000000", s.Sign("ev1", now, []byte("{}")), []byte("{}"))
	f.Add("ev1", "1800000000", "v1a,AAEC", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := Verify([]ed25519.PublicKey{s.PublicKey()}, id, ts, sig, body, now, DefaultTolerance)
		if err == nil && s.Sign(id, mustUnix(ts), body) != strings.Fields(sig)[0] && !strings.Contains(sig, s.Sign(id, mustUnix(ts), body)) {
			t.Fatalf("accepted a signature the key did not make: %q %q %q", id, ts, sig)
		}
	})
}

func mustUnix(ts string) time.Time {
	n, _ := strconv.ParseInt(ts, 10, 64)
	return time.Unix(n, 0)
}

func TestLoadOrCreateSigner(t *testing.T) {
	path := t.TempDir() + "/webhook.key"
	s, created, err := LoadOrCreateSigner(path)
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	again, created, err := LoadOrCreateSigner(path)
	if err != nil || created || !again.PublicKey().Equal(s.PublicKey()) {
		t.Fatalf("load: %v, %v", created, err)
	}
}
