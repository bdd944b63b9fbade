// Package wallet is the document layer of the citizen's wallet: agencies
// issue documents (SD-JWT VCs, see sdjwt) to a citizen by PIN, bound to the
// key of the citizen's wallet; the platform publishes each issuing agency's
// keys and Token Status List (see statuslist); documents are reissued,
// suspended and revoked, by their issuer or by registry events (a death
// revokes them all); holders list, show and present them (guardians for
// their children); anyone verifies them, even offline.
package wallet

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sdjwt"
	"github.com/cancuoc/cancuoc/seal"
)

// Config configures the service.
type Config struct {
	// BaseURL is this platform's public URL (https://…, no trailing
	// slash): issuer identifiers, vct and status-list URIs are under it.
	BaseURL string
	// Secret is the server secret issuer keys are sealed under.
	Secret []byte
	// Rotation is how long an issuer key signs (default 90 days);
	// Retire how long after its creation it stays published (default
	// Rotation + 10 years, the longest validity of any document type).
	Rotation, Retire time.Duration
	// ListSize is the number of entries of one status list (default 2^20:
	// a verifier who fetches a list learns nothing about which of a
	// million documents it checks).
	ListSize int
	// StatusTTL is how long verifiers may cache a status list (default 5
	// minutes): the longest a revocation takes to be seen. StatusValidity
	// is the signed list's lifetime (default 24 hours), the longest an
	// offline verifier may rely on a cached list.
	StatusTTL, StatusValidity time.Duration
	// Policy decides who may issue which type; AgencyPolicy{} by default.
	Policy IssuerPolicy
}

// Service is the wallet capability.
type Service struct {
	store cancuoc.Store
	cfg   Config
	now   func() time.Time
	keys  *keyring
	lists *listCache
	sigs  *sdjwt.SigCache
	// limitKey names the rate-limit counters of direct_post answers
	// (HMAC of the source address).
	limitKey []byte
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the service.
func New(store cancuoc.Store, cfg Config, opts ...Option) (*Service, error) {
	if !strings.HasPrefix(cfg.BaseURL, "https://") && !strings.HasPrefix(cfg.BaseURL, "http://") {
		return nil, fmt.Errorf("wallet: BaseURL must be an http(s) URL, got %q", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Rotation <= 0 {
		cfg.Rotation = 90 * 24 * time.Hour
	}
	if cfg.Retire <= 0 {
		cfg.Retire = cfg.Rotation + 10*year
	}
	if cfg.ListSize <= 0 {
		cfg.ListSize = 1 << 20
	}
	if cfg.ListSize&(cfg.ListSize-1) != 0 {
		return nil, fmt.Errorf("wallet: ListSize must be a power of two")
	}
	if cfg.StatusTTL <= 0 {
		cfg.StatusTTL = 5 * time.Minute
	}
	if cfg.StatusValidity <= 0 {
		cfg.StatusValidity = 24 * time.Hour
	}
	if cfg.Policy == nil {
		cfg.Policy = AgencyPolicy{}
	}
	sl, err := seal.New(cfg.Secret, "wallet issuer keys")
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, cfg: cfg, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.keys = &keyring{store: store, seal: sl, now: s.now, rotation: cfg.Rotation, retire: cfg.Retire}
	s.lists = &listCache{}
	s.sigs = sdjwt.NewSigCache(100000, time.Minute)
	if s.limitKey, err = hkdf.Key(sha256.New, cfg.Secret, nil, "cancuoc wallet rate limit keys", 32); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// IssuerURL is the issuer identifier (iss) of an agency.
func (s *Service) IssuerURL(agency string) string { return s.cfg.BaseURL + "/issuers/" + agency }

// VCT is the type identifier (vct) of a document type.
func (s *Service) VCT(typ string) string { return s.cfg.BaseURL + "/vct/" + typ }

// StatusURI is the URI of an agency's status list number list.
func (s *Service) StatusURI(agency string, list int64) string {
	return s.cfg.BaseURL + "/statuslists/" + agency + "/" + strconv.FormatInt(list, 10)
}

// agencyOf returns the agency of one of our issuer URLs.
func (s *Service) agencyOf(iss string) (string, bool) {
	a, ok := strings.CutPrefix(iss, s.cfg.BaseURL+"/issuers/")
	if !ok {
		return "", false
	}
	if !slices.Contains(agencies(), a) {
		return "", false
	}
	return a, true
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func newID(prefix string) string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(b32.EncodeToString(b))[:20]
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// record appends the audit entry and the outbox event of a change to d.
func (s *Service) record(ctx context.Context, tx cancuoc.Tx, actor, action, event string, d *cancuoc.Document, fields []string) error {
	at := s.clock()
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: at, Actor: actor, Action: action, PIN: d.HolderPIN,
		Fields: fields, Purpose: d.Type, Outcome: "ok"}); err != nil {
		return err
	}
	if event == "" {
		return nil
	}
	data, _ := json.Marshal(map[string]any{"document": d.ID, "type": d.Type, "issuer": d.Issuer, "status": d.Status})
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: event, PIN: d.HolderPIN, Version: d.Version,
		Actor: actor, At: at, Data: data})
}

// slotIndex spreads consecutive slots over the list with an affine
// permutation (odd multiplier, power-of-two size: a bijection), so that
// neighbouring indices do not reveal documents issued one after another.
func (s *Service) slotIndex(slot int64) (list, idx int64) {
	size := int64(s.cfg.ListSize)
	return slot / size, (slot%size*0x9E3779B1 + 0x7F4A7C15) & (size - 1)
}

// mint signs a new document of type t for the holder and stores it in tx.
func (s *Service) mint(ctx context.Context, tx cancuoc.Tx, key *liveKey, t *DocType, pin cancuoc.PIN,
	claims map[string]any, hk *cancuoc.HolderKey, by string, exp time.Time) (*cancuoc.Document, error) {
	slot, err := tx.NextStatusSlot(ctx, t.Agency)
	if err != nil {
		return nil, err
	}
	list, idx := s.slotIndex(slot)
	now := s.clock()
	plain := map[string]any{
		"iss": s.IssuerURL(t.Agency), "iat": now.Unix(), "exp": exp.Unix(), "vct": s.VCT(t.ID),
		// The key as registered: checked by ParseHolderJWK and stored in
		// canonical form, so it is not parsed again for every document.
		"cnf":    map[string]any{"jwk": json.RawMessage(hk.JWK)},
		"status": map[string]any{"status_list": map[string]any{"idx": idx, "uri": s.StatusURI(t.Agency, list)}},
	}
	is, err := sdjwt.Issue(sdjwt.Key{ID: key.id, Signer: key.private}, plain, claims, sdjwt.IssueOptions{Decoys: 2})
	if err != nil {
		return nil, cancuoc.WithOp("wallet.mint", err)
	}
	raw, _ := json.Marshal(claims)
	d := &cancuoc.Document{ID: newID("doc_"), Type: t.ID, HolderPIN: pin, Issuer: t.Agency, IssuedBy: by,
		StatusList: list, StatusIndex: idx, Status: cancuoc.DocumentValid, IssuedAt: now, ExpiresAt: exp.UTC().Truncate(time.Second),
		HolderKeyID: hk.ID, Claims: raw, SDJWT: is.Token, Version: 1, UpdatedAt: now}
	if err := tx.InsertDocument(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

func claimNames(claims map[string]any) []string {
	out := make([]string, 0, len(claims))
	for n := range claims {
		out = append(out, n)
	}
	return out
}

// IssueRequest asks for a document: its type, the holder's PIN, the
// claims (by the type's schema; ignored for types taken from the
// registry) and, optionally, an expiry earlier than the type's validity.
type IssueRequest struct {
	Type      string         `json:"type"`
	PIN       string         `json:"pin"`
	Claims    map[string]any `json:"claims"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

// Issue issues a document to a citizen on behalf of an agency's principal.
// The citizen must be alive and have registered a wallet key (for a child,
// the guardian registers one); the electronic identity card also needs a
// level-2 account. The document, its audit entry and its event commit
// together.
func (s *Service) Issue(ctx context.Context, p *cancuoc.Principal, req IssueRequest) (*cancuoc.Document, error) {
	const op = "wallet.Issue"
	t, ok := Types[req.Type]
	if !ok {
		return nil, cancuoc.InvalidField(op, "type", "type_unknown", "Loại tài liệu không tồn tại.",
			fmt.Sprintf("Unknown document type %q; one of %s.", req.Type, strings.Join(TypeIDs(), ", ")))
	}
	pin, err := cancuoc.ParsePIN(req.PIN, s.now().Year())
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.cfg.Policy.MayIssue(ctx, p, t.ID); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	exp := s.clock().Add(t.Validity)
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(s.now()) || req.ExpiresAt.After(exp) {
			return nil, cancuoc.InvalidField(op, "expires_at", "expiry_out_of_range", "Ngày hết hạn phải ở tương lai và không quá thời hạn của loại tài liệu.",
				fmt.Sprintf("expires_at must be in the future and within the type's validity (%s).", exp.Format(time.DateOnly)))
		}
		exp = *req.ExpiresAt
	}
	if !t.FromRegistry {
		if err := t.Validate(op, req.Claims); err != nil {
			return nil, err
		}
	}
	key, err := s.keys.signing(ctx, t.Agency)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	var doc *cancuoc.Document
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		claims, err := s.holderChecks(ctx, tx, op, t, pin, req.Claims)
		if err != nil {
			return err
		}
		hk, err := holderKey(ctx, tx, op, pin)
		if err != nil {
			return err
		}
		if doc, err = s.mint(ctx, tx, key, t, pin, claims, hk, p.ID, exp); err != nil {
			return err
		}
		return s.record(ctx, tx, p.ID, "document.issue", cancuoc.EventDocumentIssued, doc, claimNames(claims))
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return doc, nil
}

// holderChecks checks the holder may receive a document of t and returns
// its claims (from the registry for the identity card).
func (s *Service) holderChecks(ctx context.Context, tx cancuoc.Tx, op string, t *DocType, pin cancuoc.PIN, claims map[string]any) (map[string]any, error) {
	c, err := tx.Citizen(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.E(cancuoc.NotFound, op, "citizen_not_found", "Không có công dân với số định danh này.", "No citizen has this personal identification number.")
	}
	if err != nil {
		return nil, err
	}
	if c.LifeStatus == cancuoc.Dead {
		return nil, cancuoc.E(cancuoc.Conflict, op, "holder_dead", "Công dân đã chết: không cấp tài liệu.", "The citizen is deceased: no document can be issued.")
	}
	if t.Level2 {
		acc, err := tx.AccountByPIN(ctx, pin)
		if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
			return nil, err
		}
		if acc == nil || acc.Level < cancuoc.Level2 || acc.Status != cancuoc.AccountActive {
			return nil, cancuoc.E(cancuoc.Conflict, op, "level2_required", "Căn cước điện tử chỉ cấp cho tài khoản định danh điện tử mức độ 2 đang hoạt động.",
				"The electronic identity card is issued only to an active level-2 electronic identity account.")
		}
	}
	if t.FromRegistry {
		claims = registryClaims(c)
	}
	return claims, nil
}

func holderKey(ctx context.Context, tx cancuoc.Tx, op string, pin cancuoc.PIN) (*cancuoc.HolderKey, error) {
	hk, err := tx.HolderKey(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.E(cancuoc.Conflict, op, "holder_key_missing",
			"Công dân chưa đăng ký khoá ví trên ứng dụng: hãy mở ví để đăng ký rồi cấp lại.",
			"The citizen has not registered a wallet key yet: they open the wallet app to register one, then issue again.")
	}
	return hk, err
}

// Reissue replaces a document with a new one of the same type and holder,
// with new claims (nil keeps the old ones), bound to the holder's current
// key; the old one is revoked. The issuer's policy applies.
func (s *Service) Reissue(ctx context.Context, p *cancuoc.Principal, id string, claims map[string]any) (*cancuoc.Document, error) {
	const op = "wallet.Reissue"
	old, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.cfg.Policy.MayIssue(ctx, p, old.Type); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	t := Types[old.Type]
	if claims != nil && !t.FromRegistry {
		if err := t.Validate(op, claims); err != nil {
			return nil, err
		}
	}
	var doc *cancuoc.Document
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		doc, err = s.reissue(ctx, tx, op, p.ID, old.ID, claims)
		return err
	})
	s.lists.forget()
	return doc, cancuoc.WithOp(op, err)
}

// reissue does Reissue inside tx.
func (s *Service) reissue(ctx context.Context, tx cancuoc.Tx, op, actor, id string, claims map[string]any) (*cancuoc.Document, error) {
	old, err := tx.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.Status == cancuoc.DocumentRevoked {
		return nil, revokedErr(op)
	}
	t := Types[old.Type]
	if claims == nil {
		if err := json.Unmarshal(old.Claims, &claims); err != nil {
			return nil, err
		}
	}
	if claims, err = s.holderChecks(ctx, tx, op, t, old.HolderPIN, claims); err != nil {
		return nil, err
	}
	hk, err := holderKey(ctx, tx, op, old.HolderPIN)
	if err != nil {
		return nil, err
	}
	key, err := s.keys.signing(ctx, t.Agency)
	if err != nil {
		return nil, err
	}
	doc, err := s.mint(ctx, tx, key, t, old.HolderPIN, claims, hk, actor, old.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if old.Status == cancuoc.DocumentSuspended && old.Reason != ReasonHolderKeyChanged {
		// A suspension follows the document into its new version (not
		// one for a key change: the new version has the new key).
		doc.Status, doc.Reason = cancuoc.DocumentSuspended, old.Reason
		doc.Version++
		if err := tx.UpdateDocument(ctx, doc, 1); err != nil {
			return nil, err
		}
	}
	prev := old.Version
	old.Status, old.Reason, old.ReplacedBy, old.Version, old.UpdatedAt = cancuoc.DocumentRevoked, "reissued", doc.ID, old.Version+1, s.clock()
	if err := tx.UpdateDocument(ctx, old, prev); err != nil {
		return nil, err
	}
	if err := s.record(ctx, tx, actor, "document.revoke", cancuoc.EventDocumentRevoked, old, nil); err != nil {
		return nil, err
	}
	return doc, s.record(ctx, tx, actor, "document.issue", cancuoc.EventDocumentIssued, doc, claimNames(claims))
}

func revokedErr(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "document_revoked", "Tài liệu đã bị thu hồi: không thể thay đổi.", "The document is revoked: it cannot change any more.")
}

// SetStatus suspends (DocumentSuspended), reinstates (DocumentValid) or
// revokes (DocumentRevoked, final) a document on its issuer's behalf. The
// status list shows it within StatusTTL.
func (s *Service) SetStatus(ctx context.Context, p *cancuoc.Principal, id string, to cancuoc.DocumentStatus, reason string) (*cancuoc.Document, error) {
	const op = "wallet.SetStatus"
	switch to {
	case cancuoc.DocumentValid, cancuoc.DocumentSuspended, cancuoc.DocumentRevoked:
	default:
		return nil, cancuoc.InvalidField(op, "status", "status_unknown", "Trạng thái phải là valid, suspended hoặc revoked.", "status must be valid, suspended or revoked.")
	}
	if len(reason) > 500 {
		return nil, cancuoc.InvalidField(op, "reason", "reason_too_long", "Lý do quá dài (tối đa 500 ký tự).", "The reason is too long (500 characters at most).")
	}
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.cfg.Policy.MayIssue(ctx, p, d.Type); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		d, err = s.setStatus(ctx, tx, op, p.ID, id, to, reason)
		return err
	})
	s.lists.forget()
	return d, cancuoc.WithOp(op, err)
}

func (s *Service) setStatus(ctx context.Context, tx cancuoc.Tx, op, actor, id string, to cancuoc.DocumentStatus, reason string) (*cancuoc.Document, error) {
	d, err := tx.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Status == cancuoc.DocumentRevoked {
		return nil, revokedErr(op)
	}
	if d.Status == to {
		return d, nil // already so: idempotent
	}
	action, event := "document.suspend", cancuoc.EventDocumentSuspended
	switch to {
	case cancuoc.DocumentValid:
		action, event = "document.reinstate", cancuoc.EventDocumentReinstated
	case cancuoc.DocumentRevoked:
		action, event = "document.revoke", cancuoc.EventDocumentRevoked
	}
	prev := d.Version
	d.Status, d.Reason, d.Version, d.UpdatedAt = to, reason, d.Version+1, s.clock()
	if err := tx.UpdateDocument(ctx, d, prev); err != nil {
		return nil, err
	}
	return d, s.record(ctx, tx, actor, action, event, d, nil)
}

// Reasons the platform gives when registry events change documents.
const (
	ReasonHolderDied    = "holder_died"
	ReasonHolderMissing = "holder_missing"
)

// lifeAfter is the life status a registry event leaves its citizen in.
var lifeAfter = map[string]cancuoc.LifeStatus{cancuoc.EventCitizenDied: cancuoc.Dead,
	cancuoc.EventCitizenMissing: cancuoc.Missing, cancuoc.EventCitizenUpdated: cancuoc.Alive}

// HandleRegistryEvent follows the holder's life status: a death revokes
// every document; a declaration of missing suspends the valid ones; a
// later update showing the person alive again reinstates the documents it
// suspended (and only those: an issuer's own suspension stays). It is
// idempotent, as the dispatcher's at-least-once delivery requires.
func (s *Service) HandleRegistryEvent(ctx context.Context, e cancuoc.Event) error {
	const op = "wallet.HandleRegistryEvent"
	if e.PIN == "" {
		return nil
	}
	switch e.Type {
	case cancuoc.EventCitizenDied, cancuoc.EventCitizenMissing:
	case cancuoc.EventCitizenUpdated:
		// An update matters only as a return from missing (below): one
		// that did not touch the life status (a newborn's residence, a
		// parent's new child) is passed over without a read.
		if !e.MayHaveChanged("life_status") {
			return nil
		}
	default:
		return nil
	}
	// Most people hold no wallet document (a newborn whose residence was
	// registered, a record corrected): settle those on a read rather than
	// a write transaction each (on SQLite, queued behind the single
	// writer). The transaction reads the documents again.
	if docs, err := s.store.DocumentsByHolder(ctx, e.PIN); err == nil && len(docs) == 0 {
		return nil
	}
	defer s.lists.forget()
	return cancuoc.WithOp(op, s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		docs, err := tx.DocumentsByHolder(ctx, e.PIN)
		if err != nil || len(docs) == 0 {
			return err
		}
		// Act on the record as it is now, not as the event says it was:
		// events arrive at least once, and an old citizen.died or
		// citizen.missing delivered again (a consumer recreated from the
		// stream's start) must not revoke or suspend the documents of
		// someone since found, or whose death record was corrected.
		c, err := tx.Citizen(ctx, e.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil || c.LifeStatus != lifeAfter[e.Type] {
			return err
		}
		for _, d := range docs {
			to, reason := cancuoc.DocumentStatus(""), ""
			switch {
			case d.Status == cancuoc.DocumentRevoked:
			case e.Type == cancuoc.EventCitizenDied:
				to, reason = cancuoc.DocumentRevoked, ReasonHolderDied
			case e.Type == cancuoc.EventCitizenMissing && d.Status == cancuoc.DocumentValid:
				to, reason = cancuoc.DocumentSuspended, ReasonHolderMissing
			case e.Type == cancuoc.EventCitizenUpdated && d.Status == cancuoc.DocumentSuspended && d.Reason == ReasonHolderMissing:
				to = cancuoc.DocumentValid
			}
			if to == "" {
				continue
			}
			if _, err := s.setStatus(ctx, tx, op, "system:wallet", d.ID, to, reason); err != nil {
				return err
			}
		}
		return nil
	}))
}
