package oidc

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
)

// Signature algorithms the provider signs ID tokens with.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// keyring holds the signing keys. Private keys are stored sealed with
// AES-256-GCM under a key derived from the server secret, so a database dump
// alone cannot forge tokens. A key signs for `rotation` after its creation;
// the first signature needed after that creates a new key (nodes racing to
// do so only add a key). A key stays published for `grace` more, the
// longest an ID token it signed can remain valid.
type keyring struct {
	store    cancuoc.Store
	aead     cipher.AEAD
	now      func() time.Time
	rotation time.Duration
	grace    time.Duration

	mu       sync.Mutex
	keys     []*liveKey // newest first
	loadedAt time.Time
}

// liveKey is an unsealed signing key.
type liveKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	created time.Time
	retire  time.Time
}

func (k *liveKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *liveKey) Key() any                                    { return k.private }
func (k *liveKey) ID() string                                  { return k.id }

// publicKey is a published key (op.Key).
type publicKey struct{ k *liveKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.private.Public() }

// keyCacheTTL bounds how long a node signs with keys it loaded: another
// node's newer key is picked up within it.
const keyCacheTTL = time.Minute

func newKeyring(store cancuoc.Store, sealKey []byte, now func() time.Time, rotation, grace time.Duration) (*keyring, error) {
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyring{store: store, aead: aead, now: now, rotation: rotation, grace: grace}, nil
}

func (r *keyring) seal(id string, plain []byte) ([]byte, error) {
	nonce := make([]byte, r.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	// The key ID is the associated data: a sealed key moved to another row
	// does not open.
	return r.aead.Seal(nonce, nonce, plain, []byte(id)), nil
}

func (r *keyring) open(id string, sealed []byte) ([]byte, error) {
	n := r.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed key too short")
	}
	return r.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
}

// load returns the published keys, from the cache when fresh.
func (r *keyring) load(ctx context.Context, force bool) ([]*liveKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !force && r.keys != nil && now.Sub(r.loadedAt) < keyCacheTTL {
		return r.keys, nil
	}
	stored, err := r.store.SigningKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	keys := make([]*liveKey, 0, len(stored))
	for _, s := range stored {
		der, err := r.open(s.ID, s.Private)
		if err != nil {
			return nil, cancuoc.WithOp("oidc.keys", fmt.Errorf("key %s does not open with this server secret: %w", s.ID, err))
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, cancuoc.WithOp("oidc.keys", err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, cancuoc.WithOp("oidc.keys", fmt.Errorf("key %s is not a signer", s.ID))
		}
		keys = append(keys, &liveKey{id: s.ID, alg: jose.SignatureAlgorithm(s.Alg), private: signer, created: s.CreatedAt, retire: s.RetireAt})
	}
	r.keys, r.loadedAt = keys, now
	return keys, nil
}

// signing returns the key that signs with alg now, creating one when none
// is current.
func (r *keyring) signing(ctx context.Context, alg string) (*liveKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		keys, err := r.load(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		now := r.now()
		for _, k := range keys {
			if string(k.alg) == alg && now.Before(k.created.Add(r.rotation)) && !now.Before(k.created) {
				return k, nil
			}
		}
		if attempt == 0 {
			continue // another node may have made one: reload once
		}
	}
	if err := r.create(ctx, alg); err != nil {
		return nil, err
	}
	keys, err := r.load(ctx, true)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if string(k.alg) == alg {
			return k, nil
		}
	}
	return nil, cancuoc.WithOp("oidc.keys", errors.New("no signing key after creating one"))
}

// create makes, seals and stores a new key of alg.
func (r *keyring) create(ctx context.Context, alg string) error {
	const op = "oidc.keys.create"
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return cancuoc.WithOp(op, fmt.Errorf("unsupported algorithm %q", alg))
	}
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	id := randomID(12)
	sealed, err := r.seal(id, der)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	pub, err := (&jose.JSONWebKey{Key: priv.Public(), KeyID: id, Algorithm: alg, Use: "sig"}).MarshalJSON()
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	return r.store.InsertSigningKey(ctx, &cancuoc.SigningKey{ID: id, Alg: alg, Private: sealed, Public: pub,
		CreatedAt: now, RetireAt: now.Add(r.rotation + r.grace)})
}

// ensure makes sure a current key of every algorithm exists, so that the
// JWKS a relying party fetches before the first login (or after a quiet
// rotation period) already holds the key its first token will be signed
// with: a client that caches the JWKS at start never meets an unknown kid.
func (r *keyring) ensure(ctx context.Context) error {
	for _, alg := range []string{AlgES256, AlgRS256} {
		if _, err := r.signing(ctx, alg); err != nil {
			return err
		}
	}
	return nil
}

// published lists the keys relying parties may see signatures of: the
// current ones (created when missing) and older ones until their tokens
// have expired.
func (r *keyring) published(ctx context.Context) ([]op.Key, error) {
	if err := r.ensure(ctx); err != nil {
		return nil, err
	}
	keys, err := r.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		if now.Before(k.retire) {
			out = append(out, publicKey{k})
		}
	}
	return out, nil
}
