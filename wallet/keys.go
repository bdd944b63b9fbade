package wallet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/seal"
)

// keyring holds the issuers' ES256 signing keys, sealed in the store. A key
// signs for `rotation` after its creation; the first issuance after that
// creates a new one (nodes racing to do so only add a key). A key stays
// published until `retire` after its creation: long enough for every
// document it signed to expire, so verifiers can still check them.
type keyring struct {
	store    cancuoc.Store
	seal     *seal.Sealer
	now      func() time.Time
	rotation time.Duration
	retire   time.Duration

	mu    sync.Mutex
	cache map[string]*issuerKeys
}

type issuerKeys struct {
	keys     []*liveKey // newest first
	loadedAt time.Time
}

type liveKey struct {
	id      string
	issuer  string
	private *ecdsa.PrivateKey
	public  jose.JSONWebKey
	created time.Time
	retire  time.Time
}

// keyCacheTTL bounds how long a node uses keys it loaded: another node's
// newer key is picked up within it.
const keyCacheTTL = time.Minute

func (r *keyring) load(ctx context.Context, issuer string, force bool) ([]*liveKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if c := r.cache[issuer]; !force && c != nil && now.Sub(c.loadedAt) < keyCacheTTL {
		return c.keys, nil
	}
	stored, err := r.store.IssuerKeys(ctx, issuer, now)
	if err != nil {
		return nil, err
	}
	keys := make([]*liveKey, 0, len(stored))
	for _, s := range stored {
		der, err := r.seal.Open(s.ID, s.Private)
		if err != nil {
			return nil, cancuoc.WithOp("wallet.keys", fmt.Errorf("issuer key %s does not open with this server secret: %w", s.ID, err))
		}
		priv, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, cancuoc.WithOp("wallet.keys", err)
		}
		keys = append(keys, &liveKey{id: s.ID, issuer: issuer, private: priv, created: s.CreatedAt, retire: s.RetireAt,
			public: jose.JSONWebKey{Key: priv.Public(), KeyID: s.ID, Algorithm: "ES256", Use: "sig"}})
	}
	if r.cache == nil {
		r.cache = map[string]*issuerKeys{}
	}
	r.cache[issuer] = &issuerKeys{keys: keys, loadedAt: now}
	return keys, nil
}

// signing returns the issuer's current key, creating one when none is.
func (r *keyring) signing(ctx context.Context, issuer string) (*liveKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		keys, err := r.load(ctx, issuer, attempt > 0)
		if err != nil {
			return nil, err
		}
		now := r.now()
		for _, k := range keys {
			if !now.Before(k.created) && now.Before(k.created.Add(r.rotation)) {
				return k, nil
			}
		}
	}
	if err := r.create(ctx, issuer); err != nil {
		return nil, err
	}
	keys, err := r.load(ctx, issuer, true)
	if err != nil || len(keys) == 0 {
		return nil, cancuoc.WithOp("wallet.keys", fmt.Errorf("no key after creating one: %v", err))
	}
	return keys[0], nil
}

func (r *keyring) create(ctx context.Context, issuer string) error {
	const op = "wallet.keys.create"
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	idb := make([]byte, 9)
	_, _ = rand.Read(idb)
	id := issuer + "-" + base64.RawURLEncoding.EncodeToString(idb)
	sealed, err := r.seal.Seal(id, der)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	pub, err := (&jose.JSONWebKey{Key: priv.Public(), KeyID: id, Algorithm: "ES256", Use: "sig"}).MarshalJSON()
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	return r.store.InsertIssuerKey(ctx, &cancuoc.IssuerKey{ID: id, Issuer: issuer, Private: sealed, Public: pub,
		CreatedAt: now, RetireAt: now.Add(r.retire)})
}

// published returns the issuer's keys that verifiers may see signatures of.
func (r *keyring) published(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	keys, err := r.load(ctx, issuer, false)
	if err != nil {
		return nil, err
	}
	out := []jose.JSONWebKey{}
	now := r.now()
	for _, k := range keys {
		if now.Before(k.retire) {
			out = append(out, k.public)
		}
	}
	return out, nil
}

// find returns the issuer's published key kid, reloading once if unknown
// (another node may have just created it).
func (r *keyring) find(ctx context.Context, issuer, kid string) (*jose.JSONWebKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		keys, err := r.load(ctx, issuer, attempt > 0)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.id == kid && r.now().Before(k.retire) {
				pk := k.public
				return &pk, nil
			}
		}
	}
	return nil, cancuoc.E(cancuoc.NotFound, "wallet.keys", "unknown_key", "Khoá không được công bố.", "No such published key.")
}
