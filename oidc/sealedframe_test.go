package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/seal"
)

// TestSealedFraming: a request sealed in the framed form (sealedV1) opens
// to the same row and document; a request sealed as JSON by an earlier
// version (a login page shown before an upgrade) still opens; every
// truncation of a framed row, and an unknown version, is refused without
// a panic; and an expired or renamed sealed request is refused.
func TestSealedFraming(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 123000, time.UTC)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32), "oidc auth request")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{sealer: sealer, cfg: Config{Now: func() time.Time { return now }, SealFramed: true}}
	doc, _ := json.Marshal(authDoc{ClientID: "portal", RedirectURI: "http://localhost/cb", Scopes: []string{"openid", "profile"},
		State: "st", Nonce: "no", CodeChallenge: "cc", CodeChallengeMethod: "S256", Passkey: []byte(`{"discoverable":true}`),
		PasskeyOptions: json.RawMessage(`{"publicKey":{"challenge":"abc"}}`)})
	row := &cancuoc.AuthRequest{ID: "V1_req-1", ClientID: "portal", CreatedAt: now.Add(-time.Minute),
		ExpiresAt: now.Add(9 * time.Minute), Doc: doc}
	want, err := decodeAuthRequest(row)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := p.seal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.unseal(row.ID, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !got.sealed || got.id != row.ID || !reflect.DeepEqual(got.d, want.d) || !reflect.DeepEqual(got.row, row) {
		t.Errorf("framed: got %+v %+v, want %+v %+v", got.d, got.row, want.d, row)
	}

	// Without SealFramed the row is sealed as JSON, which every release
	// opens (a rolling upgrade), and opens to the same request here.
	p.cfg.SealFramed = false
	asJSON, err := p.seal(want)
	if err != nil {
		t.Fatal(err)
	}
	ct0, _ := base64.RawURLEncoding.DecodeString(asJSON)
	if pt, err := sealer.Open(row.ID, ct0); err != nil || len(pt) == 0 || pt[0] != '{' {
		t.Errorf("without SealFramed: %v %.20q, want a JSON row", err, pt)
	}
	if got, err := p.unseal(row.ID, asJSON); err != nil || !reflect.DeepEqual(got.d, want.d) || !reflect.DeepEqual(got.row, row) {
		t.Errorf("JSON-sealed: %v %+v", err, got)
	}
	p.cfg.SealFramed = true

	// An earlier version's JSON row.
	pt, _ := json.Marshal(sealedRequest{ID: row.ID, ClientID: row.ClientID, Created: row.CreatedAt.UnixMicro(),
		Expires: row.ExpiresAt.UnixMicro(), Doc: doc})
	ct, _ := sealer.Seal(row.ID, pt)
	got, err = p.unseal(row.ID, base64.RawURLEncoding.EncodeToString(ct))
	if err != nil || !reflect.DeepEqual(got.d, want.d) || !reflect.DeepEqual(got.row, row) {
		t.Errorf("JSON row: %v %+v", err, got)
	}

	// Malformed framed rows, sealed genuinely (so only the framing is
	// wrong): every truncation before the document, and another version.
	ct, _ = base64.RawURLEncoding.DecodeString(sealed)
	frame, _ := sealer.Open(row.ID, ct)
	head := len(frame) - len(doc)
	for n := 0; n < head; n++ {
		ct, _ := sealer.Seal(row.ID, frame[:n])
		if _, err := p.unseal(row.ID, base64.RawURLEncoding.EncodeToString(ct)); err != errSealed {
			t.Errorf("truncated to %d bytes: %v, want errSealed", n, err)
		}
	}
	other := append([]byte{2}, frame[1:]...)
	ct, _ = sealer.Seal(row.ID, other)
	if _, err := p.unseal(row.ID, base64.RawURLEncoding.EncodeToString(ct)); err != errSealed {
		t.Errorf("version 2: %v, want errSealed", err)
	}
	// A length beyond the row.
	long := append([]byte{sealedV1, 0xff, 0xff, 0x03}, frame[1:]...)
	ct, _ = sealer.Seal(row.ID, long)
	if _, err := p.unseal(row.ID, base64.RawURLEncoding.EncodeToString(ct)); err != errSealed {
		t.Errorf("a length beyond the row: %v, want errSealed", err)
	}

	// Under another ID it does not open; expired, it is refused.
	if _, err := p.unseal("V1_req-2", sealed); err != errSealed {
		t.Errorf("another ID: %v", err)
	}
	now = now.Add(10 * time.Minute)
	if _, err := p.unseal(row.ID, sealed); err != errLoginExpired {
		t.Errorf("expired: %v", err)
	}
}
