package sdjwt

// Interoperability with independent implementations: the SD-JWT processing
// of github.com/MichaelFraser99/go-sd-jwt (v1.4.0) and the JWS signatures
// of github.com/golang-jwt/jwt/v5, neither of which this package uses.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	gosdjwt "github.com/MichaelFraser99/go-sd-jwt"
	"github.com/MichaelFraser99/go-sd-jwt/disclosure"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// What we issue and present, go-sd-jwt parses (checking the KB-JWT's
// sd_hash), matches against the signed digests and rebuilds to the same
// claims; golang-jwt checks the issuer's and the holder's signatures.
func TestInteropTheyVerifyOurs(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, f.now.Add(time.Hour), licence)
	p := f.present(t, tok, "nonce-9", "https://bank.example", "given_name", "birth_date", "categories")

	theirs, err := gosdjwt.New(p)
	if err != nil {
		t.Fatalf("go-sd-jwt refuses our presentation: %v", err)
	}
	claims, err := theirs.GetDisclosedClaims()
	if err != nil {
		t.Fatalf("go-sd-jwt cannot match our disclosures: %v", err)
	}
	for _, n := range []string{"given_name", "birth_date", "categories"} {
		if !reflect.DeepEqual(claims[n], licence[n]) {
			t.Errorf("%s: theirs %v, issued %v", n, claims[n], licence[n])
		}
	}
	if _, ok := claims["family_name"]; ok {
		t.Error("an undisclosed claim appeared")
	}
	if *theirs.KbJwt.Nonce != "nonce-9" || *theirs.KbJwt.Aud != "https://bank.example" {
		t.Errorf("kb %+v", theirs.KbJwt)
	}

	parts := strings.Split(p, "~")
	_, err = jwt.Parse(parts[0], func(*jwt.Token) (any, error) { return &f.issuer.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return f.now }))
	if err != nil {
		t.Fatalf("golang-jwt refuses our issuer signature: %v", err)
	}
	_, err = jwt.Parse(parts[len(parts)-1], func(*jwt.Token) (any, error) { return &f.holder.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return f.now }))
	if err != nil {
		t.Fatalf("golang-jwt refuses our key-binding signature: %v", err)
	}
}

// jwsSigner adapts an ECDSA key to what go-sd-jwt's AddKeyBindingJwt
// expects of a crypto.Signer: the JWS ES256 signature (R||S over the
// SHA-256 of the input).
type jwsSigner struct{ k *ecdsa.PrivateKey }

func (s jwsSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s jwsSigner) Sign(r io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	h := sha256.Sum256(msg)
	x, y, err := ecdsa.Sign(r, s.k, h[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	x.FillBytes(out[:32])
	y.FillBytes(out[32:])
	return out, nil
}

// What go-sd-jwt discloses and binds, signed by golang-jwt, our verifier
// accepts.
func TestInteropWeVerifyTheirs(t *testing.T) {
	f := newFixture(t)
	var digests []string
	var encs []string
	for _, n := range []string{"given_name", "family_name"} {
		d, err := disclosure.NewFromObject(n, licence[n], nil)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, string(d.Hash(sha256.New())))
		encs = append(encs, d.EncodedValue)
	}
	holder, _ := json.Marshal(&jose.JSONWebKey{Key: f.holder.Public()})
	var hjwk map[string]any
	_ = json.Unmarshal(holder, &hjwk)
	tk := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://id.example.vn/issuers/transport", "iat": f.now.Unix(), "exp": f.now.Add(time.Hour).Unix(),
		"vct": "https://id.example.vn/vct/driver_licence", "_sd": digests, "_sd_alg": "sha-256",
		"cnf": map[string]any{"jwk": hjwk}})
	tk.Header["typ"] = TypVC
	tk.Header["kid"] = "k1"
	signed, err := tk.SignedString(f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := gosdjwt.New(signed + "~" + strings.Join(encs, "~") + "~")
	if err != nil {
		t.Fatal(err)
	}
	theirs.Disclosures = theirs.Disclosures[:1] // the holder shows given_name only
	if err := theirs.AddKeyBindingJwt(jwsSigner{f.holder}, crypto.SHA256, "ES256", "https://bank.example", "n-42"); err != nil {
		t.Fatal(err)
	}
	pres, err := theirs.Token()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(*pres, f.opts("n-42", "https://bank.example"))
	if err != nil {
		t.Fatalf("we refuse go-sd-jwt's presentation: %v", err)
	}
	if r.Claims["given_name"] != "Văn An" || r.Claims["family_name"] != nil {
		t.Errorf("claims %v", r.Claims)
	}
}
