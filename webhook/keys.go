package webhook

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/seal"
)

// Signing keys rotate. The keys live in the store, their seeds sealed under
// the server secret (seal, as the wallet's issuer keys), so every node
// signs with the same keys and a database dump alone signs nothing. A key
// signs and is published at /.well-known/webhook-keys from its creation
// until it retires; the newest key has no retirement planned. A rotation
// adds a new key and retires the older ones after the overlap: the retry
// window of a delivery (the service's MaxAge plus the longest retry delay),
// so every delivery signed while the old key was current is delivered or
// dead before partners can no longer check it. During the overlap every
// webhook carries one v1a signature per live key (newest first), so a
// partner still trusting only the old key verifies as well as one that
// already fetched the new one.

// maxSigningKeys bounds the signatures on one webhook when keys are rotated
// several times within one overlap (receivers parse at most maxSignatures).
const maxSigningKeys = 4

// keyCacheTTL bounds how long a node uses the keys it loaded: a rotation on
// another node is picked up within it.
const keyCacheTTL = time.Minute

// PublishedKey is a verification key as /.well-known/webhook-keys lists it.
type PublishedKey struct {
	KeyID     string     `json:"kid"`
	Algorithm string     `json:"alg"`
	Scheme    string     `json:"scheme"`
	PublicKey string     `json:"public_key"`
	Created   time.Time  `json:"created_at,omitzero"`
	Retire    *time.Time `json:"retire_at,omitempty"` // set once a newer key replaces it
}

func publish(pub ed25519.PublicKey, created, retire time.Time) PublishedKey {
	k := PublishedKey{KeyID: KeyID(pub), Algorithm: "Ed25519", Scheme: "v1a", PublicKey: MarshalPublicKey(pub),
		Created: created.UTC()}
	if retire.Before(farFuture) {
		r := retire.UTC()
		k.Retire = &r
	}
	return k
}

// farFuture is the retirement of a key no rotation has replaced yet.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// keySource gives the keys to sign with and to publish.
type keySource interface {
	signers(ctx context.Context) ([]*Signer, error)
	published(ctx context.Context) ([]PublishedKey, error)
}

// staticKey is one key given by the caller (tests, benchmarks, or a
// deployment without a server secret): it never rotates.
type staticKey struct{ s *Signer }

func (k staticKey) signers(context.Context) ([]*Signer, error) { return []*Signer{k.s}, nil }
func (k staticKey) published(context.Context) ([]PublishedKey, error) {
	return []PublishedKey{publish(k.s.PublicKey(), time.Time{}, farFuture)}, nil
}

// keyring is the stored, rotating keys.
type keyring struct {
	store Store
	seal  *seal.Sealer
	now   func() time.Time

	mu       sync.Mutex
	keys     []liveKey // newest first
	loadedAt time.Time
}

type liveKey struct {
	signer          *Signer
	created, retire time.Time
}

// UseStoredKeys makes the service sign with the keys in its store, sealed
// under secret (at least 16 bytes; 32 advised). When the store has no key,
// first is stored as the current one (the key file of a deployment that
// signed before keys were stored, so partners' trust carries over), or a
// new key is made when first is nil. Nodes starting together may both
// store a first key: the newest then signs, and both are published.
func (s *Service) UseStoredKeys(ctx context.Context, secret []byte, first *Signer) error {
	sl, err := seal.New(secret, "webhook signing keys")
	if err != nil {
		return err
	}
	kr := &keyring{store: s.store, seal: sl, now: func() time.Time { return s.now() }}
	keys, err := kr.load(ctx, true)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		if first == nil {
			if first, err = GenerateSigner(); err != nil {
				return err
			}
		}
		k, err := kr.sealed(first, time.Time{})
		if err != nil {
			return err
		}
		if err := s.store.InsertWebhookKey(ctx, k); err != nil && cancuoc.KindOf(err) != cancuoc.Conflict {
			return err
		}
		if _, err := kr.load(ctx, true); err != nil {
			return err
		}
	}
	s.keys = kr
	return nil
}

// sealed returns the store's record of signer, created at created (now
// when zero), not retiring.
func (r *keyring) sealed(signer *Signer, created time.Time) (*cancuoc.WebhookKey, error) {
	if created.IsZero() {
		created = r.now().UTC().Truncate(time.Microsecond)
	}
	pub := signer.PublicKey()
	id := KeyID(pub)
	sealed, err := r.seal.Seal(id, signer.key.Seed())
	if err != nil {
		return nil, err
	}
	return &cancuoc.WebhookKey{ID: id, Private: sealed, Public: pub, CreatedAt: created, RetireAt: farFuture}, nil
}

// load reads the live keys, from the cache unless it is older than
// keyCacheTTL or force.
func (r *keyring) load(ctx context.Context, force bool) ([]liveKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !force && r.keys != nil && now.Sub(r.loadedAt) < keyCacheTTL && now.Sub(r.loadedAt) >= 0 {
		return r.keys, nil
	}
	stored, err := r.store.WebhookKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	keys := make([]liveKey, 0, len(stored))
	for _, k := range stored {
		seed, err := r.seal.Open(k.ID, k.Private)
		if err != nil {
			return nil, cancuoc.WithOp("webhook.keys", fmt.Errorf("webhook key %s does not open with this server secret: %w", k.ID, err))
		}
		if len(seed) != ed25519.SeedSize {
			return nil, cancuoc.WithOp("webhook.keys", fmt.Errorf("webhook key %s is not an Ed25519 seed", k.ID))
		}
		keys = append(keys, liveKey{signer: NewSigner(ed25519.NewKeyFromSeed(seed)), created: k.CreatedAt, retire: k.RetireAt})
	}
	r.keys, r.loadedAt = keys, now
	return keys, nil
}

// signers are the keys that sign now: created, not retired, newest first.
func (r *keyring) signers(ctx context.Context) ([]*Signer, error) {
	keys, err := r.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := make([]*Signer, 0, len(keys))
	for _, k := range keys {
		if !now.Before(k.created) && now.Before(k.retire) && len(out) < maxSigningKeys {
			out = append(out, k.signer)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("webhook: no signing key is live (every stored key retired)")
	}
	return out, nil
}

func (r *keyring) published(ctx context.Context) ([]PublishedKey, error) {
	keys, err := r.load(ctx, false)
	if err != nil {
		return nil, err
	}
	now := r.now()
	out := []PublishedKey{}
	for _, k := range keys {
		if now.Before(k.retire) {
			out = append(out, publish(k.signer.PublicKey(), k.created, k.retire))
		}
	}
	return out, nil
}

// Overlap is how long a replaced key keeps signing and stays published: a
// delivery's retry window (MaxAge from its enqueueing, plus one longest
// retry delay for the attempt that finds it too old).
func (s *Service) Overlap() time.Duration { return s.cfg.MaxAge + s.cfg.MaxRetry }

// RotateKey makes a new signing key current, for a national administrator.
// The older keys keep co-signing and stay published for Overlap, then
// retire. The rotation and its audit entry commit together.
func (s *Service) RotateKey(ctx context.Context, p *cancuoc.Principal) (PublishedKey, error) {
	const op = "webhook.RotateKey"
	if p == nil || p.Disabled || p.Role != cancuoc.RoleNationalAdmin {
		return PublishedKey{}, cancuoc.E(cancuoc.Forbidden, op, "webhook_rotate_forbidden",
			"Chỉ quản trị viên quốc gia được thay khoá ký webhook.",
			"Only a national administrator may rotate the webhook signing key.")
	}
	kr, ok := s.keys.(*keyring)
	if !ok {
		return PublishedKey{}, cancuoc.E(cancuoc.Unavailable, op, "webhook_keys_static",
			"Khoá ký webhook được cấu hình cố định, không thay được (cần khoá bí mật của máy chủ).",
			"The webhook signing key is fixed by configuration and cannot be rotated (a server secret is needed).")
	}
	signer, err := GenerateSigner()
	if err != nil {
		return PublishedKey{}, cancuoc.WithOp(op, err)
	}
	k, err := kr.sealed(signer, time.Time{})
	if err != nil {
		return PublishedKey{}, cancuoc.WithOp(op, err)
	}
	retire := k.CreatedAt.Add(s.Overlap())
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertWebhookKey(ctx, k); err != nil {
			return err
		}
		if err := tx.RetireWebhookKeys(ctx, k.ID, retire); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: k.CreatedAt, Actor: actor(p), Action: "webhook.key.rotate",
			Purpose: "new key " + k.ID + "; older keys retire at " + retire.Format(time.RFC3339), Outcome: "ok"})
	})
	if err != nil {
		return PublishedKey{}, err
	}
	if _, err := kr.load(ctx, true); err != nil {
		return PublishedKey{}, err
	}
	return publish(signer.PublicKey(), k.CreatedAt, farFuture), nil
}

// PublishedKeys are the keys partners verify with: every key not retired.
func (s *Service) PublishedKeys(ctx context.Context) ([]PublishedKey, error) {
	return s.keys.published(ctx)
}

// signature is the webhook-signature header: one v1a signature per
// signing key.
func (s *Service) signature(ctx context.Context, id string, ts time.Time, body []byte) (string, error) {
	signers, err := s.keys.signers(ctx)
	if err != nil {
		return "", err
	}
	h := signers[0].Sign(id, ts, body)
	for _, k := range signers[1:] {
		h += " " + k.Sign(id, ts, body)
	}
	return h, nil
}
