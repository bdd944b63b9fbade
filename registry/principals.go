package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// API keys look like "cck_<id>_<secret>": the id finds the stored hash, the
// secret is 160 random bits shown once. A fast hash (SHA-256) is right for
// random secrets of that size: there is no dictionary to slow down.
const keyPrefix = "cck_"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(b32.EncodeToString(b))
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewPrincipal is what an administrator gives to create a principal.
type NewPrincipal struct {
	Name         string               `json:"name"`
	Role         cancuoc.Role         `json:"role"`
	Jurisdiction cancuoc.Jurisdiction `json:"jurisdiction"`
	Agency       string               `json:"agency,omitempty"`
	OfficerPIN   string               `json:"officer_pin,omitempty"`
}

func (s *Service) validatePrincipal(op string, np NewPrincipal) (*cancuoc.Principal, error) {
	if strings.TrimSpace(np.Name) == "" {
		return nil, cancuoc.InvalidField(op, "name", "name_required", "Cần tên của tài khoản.", "A name is required.")
	}
	if !np.Role.Valid() {
		return nil, cancuoc.InvalidField(op, "role", "role_unknown",
			"Vai trò không hợp lệ; dùng commune_officer, province_officer, national_admin, ministry_system, auditor hoặc lodging.",
			"Unknown role; use commune_officer, province_officer, national_admin, ministry_system, auditor or lodging.")
	}
	j := np.Jurisdiction
	if j.Commune != "" && j.Province == "" {
		if u, ok := admin.Current().Commune(j.Commune); ok {
			j.Province = u.ProvinceCode
		}
	}
	if j.Province != "" {
		if _, ok := admin.Current().Province(j.Province); !ok {
			return nil, cancuoc.InvalidField(op, "jurisdiction.province", "province_unknown",
				"Mã tỉnh không có trong danh mục 34 tỉnh hiện hành.", "The province code is not one of today's 34 provinces.")
		}
	}
	if j.Commune != "" {
		u, ok := admin.Current().Commune(j.Commune)
		if !ok || u.ProvinceCode != j.Province {
			return nil, cancuoc.InvalidField(op, "jurisdiction.commune", "commune_unknown",
				"Mã xã/phường không có trong tỉnh đã chọn (danh mục hiện hành).", "The commune code is not in the given province (today's units).")
		}
	}
	switch np.Role {
	case cancuoc.RoleCommuneOfficer, cancuoc.RoleLodging:
		if j.Commune == "" {
			return nil, cancuoc.InvalidField(op, "jurisdiction.commune", "jurisdiction_required",
				"Cán bộ cấp xã và cơ sở lưu trú cần mã xã/phường.", "A commune officer or a lodging needs a commune.")
		}
	case cancuoc.RoleProvinceOfficer:
		if j.Province == "" || j.Commune != "" {
			return nil, cancuoc.InvalidField(op, "jurisdiction.province", "jurisdiction_required",
				"Cán bộ cấp tỉnh cần mã tỉnh (và không có mã xã).", "A province officer needs a province (and no commune).")
		}
	case cancuoc.RoleNationalAdmin:
		if !j.National() {
			return nil, cancuoc.InvalidField(op, "jurisdiction", "jurisdiction_national",
				"Quản trị viên quốc gia không giới hạn địa bàn.", "A national administrator has no local jurisdiction.")
		}
	}
	p := &cancuoc.Principal{ID: "p_" + randomToken(10), Name: strings.TrimSpace(np.Name), Role: np.Role,
		Jurisdiction: j, Agency: np.Agency, CreatedAt: s.clock()}
	if np.OfficerPIN != "" {
		pin, err := cancuoc.ParsePIN(np.OfficerPIN, s.clock().Year())
		if err != nil {
			return nil, err
		}
		p.OfficerPIN = pin
	}
	return p, nil
}

// CreatePrincipal creates a principal with one API key and returns the key
// (shown once). actor nil means the operator at the console (cancuoc admin),
// who has the machine and so all rights.
func (s *Service) CreatePrincipal(ctx context.Context, actor *cancuoc.Principal, np NewPrincipal) (*cancuoc.Principal, string, error) {
	const op = "registry.CreatePrincipal"
	if actor != nil {
		if err := authorize(op, actor, ActManagePrincipals, cancuoc.UnitRef{}); err != nil {
			return nil, "", err
		}
	}
	p, err := s.validatePrincipal(op, np)
	if err != nil {
		return nil, "", err
	}
	id, secret := randomToken(10), randomToken(20)
	k := &cancuoc.APIKey{ID: id, PrincipalID: p.ID, Hash: hashSecret(secret), CreatedAt: p.CreatedAt}
	actorID := "console"
	if actor != nil {
		actorID = actor.ID
	}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertPrincipal(ctx, p); err != nil {
			return err
		}
		if err := tx.InsertAPIKey(ctx, k); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"principal": p.ID, "role": p.Role, "jurisdiction": p.Jurisdiction})
		return tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: cancuoc.EventPrincipalCreate, Actor: actorID, At: p.CreatedAt, Data: data})
	})
	if err != nil {
		return nil, "", cancuoc.WithOp(op, err)
	}
	return p, keyPrefix + id + "_" + secret, nil
}

// Bootstrap creates the first national administrator when the store has no
// principal yet, and returns its key; created is false (and key empty) when
// principals already exist, so the key is printed exactly once.
func (s *Service) Bootstrap(ctx context.Context) (key string, created bool, err error) {
	ps, err := s.store.Principals(ctx)
	if err != nil {
		return "", false, err
	}
	if len(ps) > 0 {
		return "", false, nil
	}
	_, key, err = s.CreatePrincipal(ctx, nil, NewPrincipal{Name: "Bootstrap administrator", Role: cancuoc.RoleNationalAdmin})
	return key, err == nil, err
}

var errBadKey = cancuoc.E(cancuoc.Unauthenticated, "registry.Authenticate", "api_key_invalid",
	"Khoá API không hợp lệ hoặc đã bị thu hồi.", "The API key is invalid or revoked.")

// Authenticate resolves an API key to its principal. Principals are cached
// for a short time so a lookup does not cost a database round trip per
// request; a revoked key or disabled principal stops working within the TTL.
func (s *Service) Authenticate(ctx context.Context, key string) (*cancuoc.Principal, error) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return nil, errBadKey
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return nil, errBadKey
	}
	hash := hashSecret(secret)
	if p, ok := s.keys.get(id, hash, s.now()); ok {
		return p, nil
	}
	k, err := s.store.APIKey(ctx, id)
	if errors.Is(err, cancuoc.ErrNotFound) {
		return nil, errBadKey
	}
	if err != nil {
		return nil, err
	}
	if k.RevokedAt != nil || subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
		return nil, errBadKey
	}
	p, err := s.store.Principal(ctx, k.PrincipalID)
	if err != nil {
		return nil, err
	}
	if p.Disabled {
		return nil, errBadKey
	}
	s.keys.put(id, hash, p, s.now())
	return p, nil
}

type cachedKey struct {
	hash    []byte
	p       *cancuoc.Principal
	expires time.Time
}

// keyCache remembers authenticated keys briefly. It is bounded by clearing
// itself when full: the keys in use are few (systems and officers), so a
// rare full refill costs less than an eviction policy.
type keyCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedKey
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: make(map[string]cachedKey)}
}

func (c *keyCache) get(id string, hash []byte, now time.Time) (*cancuoc.Principal, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || now.After(e.expires) || subtle.ConstantTimeCompare(e.hash, hash) != 1 {
		return nil, false
	}
	return e.p, true
}

func (c *keyCache) put(id string, hash []byte, p *cancuoc.Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 10000 {
		clear(c.m)
	}
	c.m[id] = cachedKey{hash: hash, p: p, expires: now.Add(c.ttl)}
}
