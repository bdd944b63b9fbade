package eid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// cbor encodes the few CBOR items (RFC 8949) an authenticator's answers
// need: unsigned and negative integers, byte and text strings, and maps.
type cborMap [][2]any // ordered pairs

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
	return []byte{major<<5 | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func cborEncode(v any) []byte {
	switch x := v.(type) {
	case int:
		if x >= 0 {
			return cborHead(0, uint64(x))
		}
		return cborHead(1, uint64(-1-x))
	case []byte:
		return append(cborHead(2, uint64(len(x))), x...)
	case string:
		return append(cborHead(3, uint64(len(x))), x...)
	case cborMap:
		out := cborHead(5, uint64(len(x)))
		for _, kv := range x {
			out = append(out, cborEncode(kv[0])...)
			out = append(out, cborEncode(kv[1])...)
		}
		return out
	}
	panic("cbor: unsupported type")
}

// softAuthenticator is a WebAuthn authenticator in software: one ECDSA
// P-256 key, attestation "none", per WebAuthn level 2, §6.1 and §6.5.
type softAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	count  uint32
	origin string
	rpID   string
}

func newSoftAuthenticator(t *testing.T, rpID, origin string) *softAuthenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softAuthenticator{key: k, credID: id, origin: origin, rpID: rpID}
}

var b64u = base64.RawURLEncoding

func (a *softAuthenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64u.EncodeToString(challenge), "origin": a.origin, "crossOrigin": false})
	return b
}

// authData is rpIdHash ‖ flags ‖ signCount ‖ [attested credential data].
func (a *softAuthenticator) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	return append(out, attested...)
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// create answers navigator.credentials.create.
func (a *softAuthenticator) create(challenge []byte) []byte {
	pub := a.key.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	// COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
	cose := cborEncode(cborMap{{1, 2}, {3, -7}, {-1, 1}, {-2, x}, {-3, y}})
	attested := make([]byte, 16) // AAGUID: zero for "none"
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credID)))
	attested = append(attested, a.credID...)
	attested = append(attested, cose...)
	att := cborEncode(cborMap{{"fmt", "none"}, {"attStmt", cborMap{}}, {"authData", a.authData(flagUP|flagUV|flagAT, attested)}})
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(a.credID), "rawId": b64u.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64u.EncodeToString(a.clientData("webauthn.create", challenge)),
			"attestationObject": b64u.EncodeToString(att),
		},
	})
	return body
}

// get answers navigator.credentials.get: the signature covers authData ‖
// SHA-256(clientDataJSON).
func (a *softAuthenticator) get(t *testing.T, challenge, userHandle []byte) []byte {
	a.count++
	cd := a.clientData("webauthn.get", challenge)
	ad := a.authData(flagUP|flagUV, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(a.credID), "rawId": b64u.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64u.EncodeToString(cd),
			"authenticatorData": b64u.EncodeToString(ad),
			"signature":         b64u.EncodeToString(sig),
			"userHandle":        b64u.EncodeToString(userHandle),
		},
	})
	return body
}

func post(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestPasskeyCeremonies(t *testing.T) {
	backends(t, func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		cfg := e.s.Config()
		auth := newSoftAuthenticator(t, cfg.RPID, cfg.RPOrigins[0])

		_, _, err := e.s.BeginPasskeyLogin(ctx, a.PIN)
		wantKind(t, "no passkey yet", err, cancuoc.NotFound, "no_passkey")

		reg, err := e.s.BeginPasskeyRegistration(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Options.Response.RelyingParty.ID != cfg.RPID || !sameUserID(reg.Options.Response.User.ID, a.ID) {
			t.Errorf("creation options %+v", reg.Options.Response)
		}
		// A response to another challenge is refused (and uses up the ceremony).
		_, err = e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "x", post(auth.create([]byte("another challenge 0123456789abcdef"))))
		wantKind(t, "wrong challenge", err, cancuoc.Invalid, "passkey_invalid")
		reg, _ = e.s.BeginPasskeyRegistration(ctx, a)
		pk, err := e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "Điện thoại của Đức", post(auth.create(reg.Options.Response.Challenge)))
		if err != nil {
			t.Fatalf("FinishPasskeyRegistration: %v", err)
		}
		if !bytes.Equal(pk.ID, auth.credID) {
			t.Errorf("stored credential ID %x, want %x", pk.ID, auth.credID)
		}
		// The ceremony is single use.
		_, err = e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "x", post(auth.create(reg.Options.Response.Challenge)))
		wantKind(t, "replayed registration", err, cancuoc.Invalid, "challenge_expired")

		// Login.
		assertion, session, err := e.s.BeginPasskeyLogin(ctx, a.PIN)
		if err != nil {
			t.Fatal(err)
		}
		if len(assertion.Response.AllowedCredentials) != 1 {
			t.Errorf("allowed credentials %v", assertion.Response.AllowedCredentials)
		}
		got, err := e.s.FinishPasskeyLogin(ctx, session, post(auth.get(t, assertion.Response.Challenge, []byte(a.ID))))
		if err != nil {
			t.Fatalf("FinishPasskeyLogin: %v", err)
		}
		if got.ID != a.ID {
			t.Errorf("logged in as %s, want %s", got.ID, a.ID)
		}
		pks, _ := st.Passkeys(ctx, a.ID)
		if len(pks) != 1 || pks[0].LastUsedAt.IsZero() {
			t.Errorf("last use not recorded: %+v", pks)
		}

		// A tampered signature, another key, and a replayed counter fail.
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		evil := newSoftAuthenticator(t, cfg.RPID, cfg.RPOrigins[0])
		evil.credID = auth.credID
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(evil.get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "other key", err, cancuoc.Unauthenticated, "passkey_invalid")
		phish := newSoftAuthenticator(t, cfg.RPID, "https://evil.example")
		phish.key, phish.credID = auth.key, auth.credID
		phish.count = 100
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(phish.get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "other origin", err, cancuoc.Unauthenticated, "passkey_invalid")
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		auth.count = 0 // a clone that has not seen the last use
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(auth.get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "cloned counter", err, cancuoc.Unauthenticated, "passkey_invalid")

		// A locked account cannot log in with its passkey.
		auth.count = 10
		if _, err := e.s.Lock(ctx, a, a.PIN); err != nil {
			t.Fatal(err)
		}
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(auth.get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "locked", err, cancuoc.Forbidden, "account_locked")
		_, err = e.s.FinishPasskeyLogin(ctx, []byte("{}"), post(nil))
		wantKind(t, "bad session", err, cancuoc.Invalid, "session_invalid")
	})
}

// sameUserID compares the user handle of creation options (bytes, or a
// string when the library is told to encode it so) with an account ID.
func sameUserID(v any, id string) bool {
	switch x := v.(type) {
	case []byte:
		return string(x) == id
	case string:
		return x == id
	}
	if b, ok := v.(interface{ String() string }); ok {
		return b.String() == b64u.EncodeToString([]byte(id))
	}
	return false
}
