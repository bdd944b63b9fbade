package wallet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/statuslist"
)

// IssuerMetadata is the JWT VC Issuer Metadata (SD-JWT VC §5) of an
// agency, served at /.well-known/jwt-vc-issuer/issuers/{agency}.
type IssuerMetadata struct {
	Issuer string             `json:"issuer"`
	JWKS   jose.JSONWebKeySet `json:"jwks"`
}

// Metadata returns an agency's issuer metadata with its published keys.
func (s *Service) Metadata(ctx context.Context, agency string) (*IssuerMetadata, error) {
	const op = "wallet.Metadata"
	if _, ok := s.agencyOf(s.IssuerURL(agency)); !ok {
		return nil, cancuoc.E(cancuoc.NotFound, op, "issuer_unknown", "Không có bên cấp này.", "No such issuer.")
	}
	keys, err := s.keys.published(ctx, agency)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &IssuerMetadata{Issuer: s.IssuerURL(agency), JWKS: jose.JSONWebKeySet{Keys: keys}}, nil
}

// display is one language's name of a type or label of a claim.
type display struct {
	Lang  string `json:"lang"`
	Name  string `json:"name,omitempty"`
	Label string `json:"label,omitempty"`
}

type claimMetadata struct {
	Path    []string  `json:"path"`
	Display []display `json:"display"`
	SD      string    `json:"sd"`
	Kind    string    `json:"x-cancuoc-kind"`
	Req     bool      `json:"x-cancuoc-required,omitempty"`
}

// TypeMetadata is the SD-JWT VC Type Metadata of a vct.
type TypeMetadata struct {
	VCT     string          `json:"vct"`
	Name    string          `json:"name"`
	Display []display       `json:"display"`
	Claims  []claimMetadata `json:"claims"`
	Issuer  string          `json:"x-cancuoc-issuer"`
}

// TypeMetadataOf returns the metadata of a type ID.
func (s *Service) TypeMetadataOf(typeID string) (*TypeMetadata, error) {
	t, ok := Types[typeID]
	if !ok {
		return nil, cancuoc.E(cancuoc.NotFound, "wallet.TypeMetadata", "type_unknown", "Loại tài liệu không tồn tại.", "No such document type.")
	}
	m := &TypeMetadata{VCT: s.VCT(t.ID), Name: t.NameEN, Issuer: s.IssuerURL(t.Agency),
		Display: []display{{Lang: "vi-VN", Name: t.NameVI}, {Lang: "en-US", Name: t.NameEN}}}
	for _, c := range t.Claims {
		m.Claims = append(m.Claims, claimMetadata{Path: []string{c.Name}, SD: "always", Kind: c.Kind, Req: c.Required,
			Display: []display{{Lang: "vi-VN", Label: c.LabelVI}, {Lang: "en-US", Label: c.LabelEN}}})
	}
	return m, nil
}

// listCache keeps signed status lists for a little while: building one
// reads every non-valid entry of the list, and verifiers ask often.
type listCache struct {
	mu      sync.Mutex
	entries map[string]cachedList
	live    map[string]liveList
}

type liveList struct {
	list *statuslist.List
	at   time.Time
}

type cachedList struct {
	token string
	at    time.Time
}

func errNoList(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "status_list_unknown", "Không có danh sách trạng thái này.", "No such status list.")
}

// maxCachedLists bounds each of the caches: lists exist only as far as
// documents were issued, but a node must not grow without limit either.
const maxCachedLists = 256

// evictOldest makes room in a full cache by dropping its oldest entry
// (a linear scan of at most maxCachedLists, rarer than a list build).
func evictOldest[V any](m map[string]V, key string, at func(V) time.Time) {
	if _, ok := m[key]; ok || len(m) < maxCachedLists {
		return
	}
	var oldest string
	var t time.Time
	for k, v := range m {
		if oldest == "" || at(v).Before(t) {
			oldest, t = k, at(v)
		}
	}
	delete(m, oldest)
}

// listRefresh bounds how stale a served list may be, well under StatusTTL.
const listRefresh = 10 * time.Second

// List returns the current status of an agency's list number n, from
// the store (not cached: the platform's own verifier sees a change at
// once).
func (s *Service) List(ctx context.Context, agency string, n int64) (*statuslist.List, error) {
	const op = "wallet.List"
	if _, ok := s.agencyOf(s.IssuerURL(agency)); !ok || n < 0 {
		return nil, errNoList(op)
	}
	// Only lists that hold a slot handed out exist: any other number would
	// cost a list build and a signature for nothing (and fill the cache).
	issued, err := s.store.StatusSlotsIssued(ctx, agency)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if n > (issued-1)/int64(s.cfg.ListSize) || issued == 0 {
		return nil, errNoList(op)
	}
	es, err := s.store.StatusEntries(ctx, agency, n)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	l, err := statuslist.New(2, s.cfg.ListSize)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	for _, e := range es {
		v := statuslist.Invalid
		if e.Status == cancuoc.DocumentSuspended {
			v = statuslist.Suspended
		}
		if err := l.Set(int(e.Index), v); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	return l, nil
}

// liveStatusTTL bounds how stale the platform's own verifier may be about
// another node's status change; this node's own changes drop the cache.
const liveStatusTTL = 2 * time.Second

// liveList is List, cached for liveStatusTTL: building a list of a million
// entries for every check would cost more than the check.
func (s *Service) liveList(ctx context.Context, agency string, n int64) (*statuslist.List, error) {
	key := agency + "/" + strconv.FormatInt(n, 10)
	s.lists.mu.Lock()
	c, ok := s.lists.live[key]
	s.lists.mu.Unlock()
	if ok && s.now().Sub(c.at) < liveStatusTTL && !c.at.After(s.now()) {
		return c.list, nil
	}
	l, err := s.List(ctx, agency, n)
	if err != nil {
		return nil, err
	}
	s.lists.mu.Lock()
	if s.lists.live == nil {
		s.lists.live = map[string]liveList{}
	}
	evictOldest(s.lists.live, key, func(l liveList) time.Time { return l.at })
	s.lists.live[key] = liveList{list: l, at: s.now()}
	s.lists.mu.Unlock()
	return l, nil
}

// forget drops the cached lists after this node changed a status.
func (c *listCache) forget() {
	c.mu.Lock()
	c.entries, c.live = nil, nil
	c.mu.Unlock()
}

// StatusListToken returns the signed statuslist+jwt of an agency's list
// number n, and how long it may be cached.
func (s *Service) StatusListToken(ctx context.Context, agency string, n int64) (string, time.Duration, error) {
	const op = "wallet.StatusListToken"
	key := agency + "/" + strconv.FormatInt(n, 10)
	s.lists.mu.Lock()
	c, ok := s.lists.entries[key]
	s.lists.mu.Unlock()
	if ok && s.now().Sub(c.at) < listRefresh {
		return c.token, s.cfg.StatusTTL, nil
	}
	l, err := s.List(ctx, agency, n)
	if err != nil {
		return "", 0, err
	}
	k, err := s.keys.signing(ctx, agency)
	if err != nil {
		return "", 0, cancuoc.WithOp(op, err)
	}
	tok, err := statuslist.Sign(k.private, k.id, s.IssuerURL(agency), s.StatusURI(agency, n), l, s.now(), s.cfg.StatusTTL, s.cfg.StatusValidity)
	if err != nil {
		return "", 0, cancuoc.WithOp(op, err)
	}
	s.lists.mu.Lock()
	if s.lists.entries == nil {
		s.lists.entries = map[string]cachedList{}
	}
	evictOldest(s.lists.entries, key, func(l cachedList) time.Time { return l.at })
	s.lists.entries[key] = cachedList{token: tok, at: s.now()}
	s.lists.mu.Unlock()
	return tok, s.cfg.StatusTTL, nil
}

// parseStatusURI splits one of our status-list URIs.
func (s *Service) parseStatusURI(uri string) (string, int64, error) {
	rest, ok := strings.CutPrefix(uri, s.cfg.BaseURL+"/statuslists/")
	agency, num, ok2 := strings.Cut(rest, "/")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || !ok2 || err != nil {
		return "", 0, fmt.Errorf("not a status list of this platform: %s", uri)
	}
	return agency, n, nil
}

// Checker returns the platform's own verifier: keys from the keyring,
// statuses straight from the store.
func (s *Service) Checker(ctx context.Context) *Checker {
	return &Checker{
		Now:   s.now,
		Cache: s.sigs,
		Keys: func(iss, kid string) (*jose.JSONWebKey, error) {
			agency, ok := s.agencyOf(iss)
			if !ok {
				return nil, fmt.Errorf("unknown issuer %q", iss)
			}
			return s.keys.find(ctx, agency, kid)
		},
		Status: func(uri, iss string) (*statuslist.List, error) {
			agency, n, err := s.parseStatusURI(uri)
			if err != nil {
				return nil, err
			}
			if s.IssuerURL(agency) != iss {
				return nil, cancuoc.E(cancuoc.Invalid, "wallet.Checker", "statuslist_issuer", "Danh sách trạng thái thuộc bên cấp khác.",
					fmt.Sprintf("The status list %s is not one of the document's issuer %q.", uri, iss))
			}
			return s.liveList(ctx, agency, n)
		},
	}
}
