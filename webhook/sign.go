package webhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Signatures follow the Standard Webhooks specification
// (https://www.standardwebhooks.com): the signed content is
// "{webhook-id}.{webhook-timestamp}.{body}", and the webhook-signature
// header holds space-separated "version,base64" signatures. We sign with
// its asymmetric scheme v1a (Ed25519), so partners verify with the
// platform's public key published at /.well-known/webhook-keys and no
// shared secret has to be handed out, stored or rotated per partner.

// Header names of the specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Key prefixes of the specification for Ed25519 keys.
const (
	secretPrefix = "whsk_"
	publicPrefix = "whpk_"
)

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock before Verify refuses it as a replay (the
// specification's five minutes).
const DefaultTolerance = 5 * time.Minute

// Signer signs webhooks with an Ed25519 key.
type Signer struct {
	key ed25519.PrivateKey
}

// NewSigner returns a signer of key.
func NewSigner(key ed25519.PrivateKey) *Signer { return &Signer{key: key} }

// GenerateSigner returns a signer with a new random key.
func GenerateSigner() (*Signer, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Signer{key: k}, nil
}

// PublicKey is the key partners verify with.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// MarshalSecret encodes the signing key as "whsk_" + base64 of its seed,
// for a key file.
func (s *Signer) MarshalSecret() string {
	return secretPrefix + base64.StdEncoding.EncodeToString(s.key.Seed())
}

// ParseSecret decodes a key written by MarshalSecret.
func ParseSecret(text string) (*Signer, error) {
	b, ok := strings.CutPrefix(strings.TrimSpace(text), secretPrefix)
	seed, err := base64.StdEncoding.DecodeString(b)
	if !ok || err != nil || len(seed) != ed25519.SeedSize {
		return nil, cancuoc.InvalidField("webhook.ParseSecret", "key", "webhook_key_invalid",
			"Khoá ký webhook phải có dạng whsk_ theo sau là 32 byte base64.",
			"The webhook signing key must be whsk_ followed by 32 bytes in base64.")
	}
	return &Signer{key: ed25519.NewKeyFromSeed(seed)}, nil
}

// MarshalPublicKey encodes a public key as the specification does:
// "whpk_" + base64.
func MarshalPublicKey(pub ed25519.PublicKey) string {
	return publicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey decodes a "whpk_" key.
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	b, ok := strings.CutPrefix(strings.TrimSpace(text), publicPrefix)
	raw, err := base64.StdEncoding.DecodeString(b)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("webhook: public key must be whpk_ followed by 32 bytes in base64")
	}
	return ed25519.PublicKey(raw), nil
}

// KeyID names a public key: the first 16 hex digits of its SHA-256, so a
// partner can tell which published key signed when keys rotate.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return fmt.Sprintf("%x", h[:8])
}

// signedContent is what the specification signs.
func signedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

// Sign returns the webhook-signature header value for a message.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	sig := ed25519.Sign(s.key, signedContent(id, ts.Unix(), body))
	return "v1a," + base64.StdEncoding.EncodeToString(sig)
}

// Signature is one entry of a webhook-signature header.
type Signature struct {
	Version string // "v1a" (Ed25519), "v1" (HMAC-SHA256), or another the receiver ignores
	Value   []byte
}

// maxSignatures bounds what a header may carry, so a hostile header costs
// little to parse.
const maxSignatures = 16

// ParseSignatures reads a webhook-signature header: space-separated
// "version,base64" entries. Entries of unknown versions are kept (the
// receiver skips them); a malformed entry is an error.
func ParseSignatures(header string) ([]Signature, error) {
	fields := strings.Fields(header)
	if len(fields) == 0 {
		return nil, errors.New("webhook: empty signature header")
	}
	if len(fields) > maxSignatures {
		return nil, fmt.Errorf("webhook: more than %d signatures", maxSignatures)
	}
	out := make([]Signature, 0, len(fields))
	for _, f := range fields {
		v, b64, ok := strings.Cut(f, ",")
		if !ok || v == "" || b64 == "" {
			return nil, errors.New("webhook: a signature must be version,base64")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, errors.New("webhook: a signature is not valid base64")
		}
		out = append(out, Signature{Version: v, Value: raw})
	}
	return out, nil
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no valid signature by a trusted key")
	ErrTimestamp    = errors.New("webhook: timestamp missing, malformed or outside the tolerance")
	ErrMissingField = errors.New("webhook: webhook-id, webhook-timestamp or webhook-signature missing")
)

// Verify checks a received webhook as a partner should: the timestamp is
// within tolerance of now (so a captured message cannot be replayed
// later), and one v1a signature of id, timestamp and the exact body bytes
// verifies with one of the trusted keys. It is short on purpose, to be
// copied into partners' code.
func Verify(keys []ed25519.PublicKey, id, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if id == "" || timestamp == "" || signature == "" {
		return ErrMissingField
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Unix() - ts; d > int64(tolerance/time.Second) || -d > int64(tolerance/time.Second) {
		return ErrTimestamp
	}
	sigs, err := ParseSignatures(signature)
	if err != nil {
		return err
	}
	msg := signedContent(id, ts, body)
	for _, s := range sigs {
		if s.Version != "v1a" || len(s.Value) != ed25519.SignatureSize {
			continue
		}
		for _, k := range keys {
			if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, s.Value) {
				return nil
			}
		}
	}
	return ErrNoSignature
}

// LoadOrCreateSigner reads the signing key from path, or creates one there
// (mode 0600, never overwriting) when the file does not exist; created
// tells which. Every node of a deployment must use the same file, since
// partners trust the one published key.
func LoadOrCreateSigner(path string) (s *Signer, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ParseSecret(string(b))
		return s, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	s, err = GenerateSigner()
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(s.MarshalSecret() + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	return s, true, f.Close()
}
