package partner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// MaxConsentDuration bounds how long a consent may last; the citizen gives
// it again after that.
const MaxConsentDuration = 366 * 24 * time.Hour

// ConsentRequest is a citizen's consent as the portal or app submits it.
type ConsentRequest struct {
	PartnerID string    `json:"partner_id"`
	Fields    []string  `json:"fields"`
	Purpose   string    `json:"purpose,omitempty"` // the partner's stated purpose when empty
	ExpiresAt time.Time `json:"expires_at"`
}

// Grant records a citizen's consent for a partner to receive fields for a
// purpose until a time. The partner must be active, allowed to receive
// data ("release") and every field must be within its policy: a consent
// for data the partner may never receive would mislead the citizen. The
// consent and its access-log entry commit together.
func (s *Service) Grant(ctx context.Context, pin cancuoc.PIN, r ConsentRequest) (*cancuoc.PartnerConsent, error) {
	var c *cancuoc.PartnerConsent
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		c, err = s.GrantTx(ctx, tx, pin, r)
		return err
	})
	if err != nil {
		return nil, cancuoc.WithOp("partner.Grant", err)
	}
	return c, nil
}

// GrantTx is Grant inside the caller's transaction, so that a consent
// given on the OpenID consent screen commits with the screen's own
// consent (oidc.PartnerConsents) or not at all.
func (s *Service) GrantTx(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, r ConsentRequest) (*cancuoc.PartnerConsent, error) {
	const op = "partner.Grant"
	if len(r.Fields) == 0 {
		return nil, invalid(op, "fields", "fields_required", "Cần liệt kê các trường đồng ý chia sẻ.", "List the fields you agree to share.")
	}
	for _, f := range r.Fields {
		if !recordFields[f] {
			return nil, invalid(op, "fields", "field_unknown", fmt.Sprintf("Trường %q không có trong hồ sơ dân cư.", f),
				fmt.Sprintf("The registry has no field %q.", f))
		}
	}
	// Read through tx: on SQLite a read beside the open write transaction
	// would wait for it.
	read, rerr := tx.Partner(ctx, r.PartnerID)
	p, err := allowed(read, rerr, cancuoc.OpRelease, r.Fields)
	if err != nil {
		var e *cancuoc.Error
		if errors.As(err, &e) && e.Code == "partner_unknown" {
			return nil, invalid(op, "partner_id", "partner_unknown", "Không có đối tác này.", "No such partner.")
		}
		return nil, err
	}
	now := s.clock()
	exp := r.ExpiresAt.UTC().Truncate(time.Microsecond)
	if !exp.After(now) || exp.Sub(now) > MaxConsentDuration {
		return nil, invalid(op, "expires_at", "expiry_invalid", "Thời hạn đồng ý phải ở tương lai và không quá một năm.",
			"expires_at must be in the future and at most one year away.")
	}
	purpose := strings.TrimSpace(r.Purpose)
	if purpose == "" {
		purpose = p.Policy.Purpose
	}
	if len(purpose) > 200 {
		return nil, invalid(op, "purpose", "purpose_too_long", "Mục đích tối đa 200 byte.", "The purpose is at most 200 bytes.")
	}
	fields := slices.Clone(r.Fields)
	slices.Sort(fields)
	fields = slices.Compact(fields)
	c := &cancuoc.PartnerConsent{ID: newID(), PIN: pin, PartnerID: p.ID, Fields: fields, Purpose: purpose,
		GrantedAt: now, ExpiresAt: exp}
	if err := tx.InsertPartnerConsent(ctx, c); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: "citizen", Action: "partner.consent.grant",
		PIN: pin, Fields: fields, Purpose: "partner:" + p.ID + " " + purpose, Outcome: "ok"}); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := tx.AppendEvent(ctx, consentEvent(cancuoc.EventConsentGranted, c, now)); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return c, nil
}

// Consents lists a citizen's consents to partners, newest first, in force
// or not.
func (s *Service) Consents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.PartnerConsent, error) {
	l, err := s.store.PartnerConsents(ctx, pin)
	return l, cancuoc.WithOp("partner.Consents", err)
}

// Revoke withdraws a citizen's consent. It takes effect at once: a release
// reads the consents from the database on every call. NotFound when the
// citizen has no consent in force with that ID.
func (s *Service) Revoke(ctx context.Context, pin cancuoc.PIN, id string) error {
	const op = "partner.Revoke"
	now := s.clock()
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		c, err := tx.PartnerConsent(ctx, id)
		if err != nil && !errors.Is(err, cancuoc.ErrNotFound) {
			return err
		}
		if err != nil || c.PIN != pin || c.RevokedAt != nil {
			return cancuoc.E(cancuoc.NotFound, op, "consent_not_found", "Không có sự đồng ý đang hiệu lực với mã này.",
				"You have no consent in force with this ID.")
		}
		if err := tx.RevokePartnerConsent(ctx, pin, id, now); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: "citizen", Action: "partner.consent.revoke",
			PIN: pin, Fields: c.Fields, Purpose: "partner:" + c.PartnerID + " " + c.Purpose, Outcome: "ok"}); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, consentEvent(cancuoc.EventConsentRevoked, c, now))
	})
	return cancuoc.WithOp(op, err)
}

// consentEvent is the outbox event of a consent's grant or withdrawal:
// its ID, partner and field names, no values.
func consentEvent(typ string, c *cancuoc.PartnerConsent, at time.Time) *cancuoc.Event {
	data, _ := json.Marshal(map[string]any{"consent_id": c.ID, "partner_id": c.PartnerID, "fields": c.Fields})
	return &cancuoc.Event{ID: newID(), Type: typ, PIN: c.PIN, Actor: "citizen", At: at, Data: data}
}

// ConsentFor returns a consent to the partner it was given to, so that the
// partner can prove it; another partner gets NotFound.
func (s *Service) ConsentFor(ctx context.Context, partnerID, id string) (*cancuoc.PartnerConsent, error) {
	const op = "partner.ConsentFor"
	if _, err := s.Check(ctx, partnerID, cancuoc.OpRelease); err != nil {
		return nil, err
	}
	c, err := s.store.PartnerConsent(ctx, id)
	if err != nil || c.PartnerID != partnerID {
		return nil, cancuoc.E(cancuoc.NotFound, op, "consent_not_found", "Không có sự đồng ý này.", "No such consent.")
	}
	return c, nil
}

// Release is the data a partner receives under consents.
type Release struct {
	PIN        cancuoc.PIN     `json:"pin"`
	Fields     []string        `json:"fields"`
	ConsentIDs []string        `json:"consent_ids"`
	Record     json.RawMessage `json:"record"`
}

// Release gives a partner the fields of a citizen's record that the
// citizen's consents in force for it name and its policy allows — nothing
// else. Forbidden "consent_required" without such a consent (never given,
// withdrawn, or expired). The release is on the access log with the field
// names before the data leaves.
func (s *Service) Release(ctx context.Context, partnerID string, pin cancuoc.PIN) (*Release, error) {
	const op = "partner.Release"
	p, err := s.authorize(ctx, partnerID, cancuoc.OpRelease)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	cs, err := s.store.ConsentsInForce(ctx, pin, p.ID, now)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	allowed := map[string]bool{}
	var ids, purposes []string
	for _, c := range cs {
		for _, f := range c.Fields {
			if slices.Contains(p.Policy.Fields, f) {
				allowed[f] = true
			}
		}
		ids = append(ids, c.ID)
		if !slices.Contains(purposes, c.Purpose) {
			purposes = append(purposes, c.Purpose)
		}
	}
	entry := &cancuoc.AuditEntry{At: now, Actor: "partner:" + p.ID, Action: "partner.release", PIN: pin,
		Purpose: cut(strings.Join(purposes, "; "))}
	if len(allowed) == 0 {
		entry.Outcome = "consent_required"
		if err := s.audit.Record(ctx, entry); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		return nil, cancuoc.E(cancuoc.Forbidden, op, "consent_required",
			"Công dân chưa đồng ý (hoặc đã rút lại, hoặc hết hạn) cho đối tác nhận dữ liệu.",
			"The citizen has no consent in force for this partner (never given, withdrawn or expired).")
	}
	doc, err := s.store.CitizenDoc(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	rec, fields, err := pick(doc.JSON, allowed)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	rec, relatives, err := withoutRelativesIDs(rec)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	entry.Fields, entry.Outcome = fields, "ok"
	entries := []*cancuoc.AuditEntry{entry}
	for _, r := range relatives {
		entries = append(entries, &cancuoc.AuditEntry{At: now, Actor: entry.Actor, Action: "partner.release_relative",
			PIN: r.pin, Fields: []string{r.field + ".name", r.field + ".nationality"}, Purpose: entry.Purpose, Outcome: "ok"})
	}
	if err := s.audit.Record(ctx, entries...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &Release{PIN: pin, Fields: fields, ConsentIDs: ids, Record: rec}, nil
}

// pick keeps the named top-level fields of a record's JSON (those present)
// and lists them, sorted.
func pick(doc []byte, keep map[string]bool) ([]byte, []string, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&m); err != nil {
		return nil, nil, err
	}
	fields := []string{}
	for k := range m {
		if !keep[k] {
			delete(m, k)
			continue
		}
		fields = append(fields, k)
	}
	sort.Strings(fields)
	out, err := json.Marshal(m)
	return out, fields, err
}

// relativeFields are the record's fields about other people (art. 9(15)
// of the Law on Identity): the citizen consents for their own record, not
// for their relatives' identifiers.
var relativeFields = []string{"father", "mother", "spouse", "guardian", "children", "represented"}

type releasedRelative struct {
	field string
	pin   cancuoc.PIN
}

// withoutRelativesIDs removes the relatives' PINs and old ID numbers from a
// picked record, keeping name and nationality (which the citizen's own
// record shows), and names the relatives known by PIN so that their own
// access logs show that their name left with this record.
func withoutRelativesIDs(rec []byte) ([]byte, []releasedRelative, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		return nil, nil, err
	}
	var out []releasedRelative
	changed := false
	for _, f := range relativeFields {
		raw, ok := m[f]
		if !ok {
			continue
		}
		var rels []cancuoc.Relative
		single := len(raw) > 0 && raw[0] == '{'
		if single {
			var r cancuoc.Relative
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, nil, err
			}
			rels = []cancuoc.Relative{r}
		} else if err := json.Unmarshal(raw, &rels); err != nil {
			return nil, nil, err
		}
		for i := range rels {
			if rels[i].PIN != "" {
				out = append(out, releasedRelative{field: f, pin: rels[i].PIN})
			}
			rels[i].PIN, rels[i].OldID = "", ""
		}
		var b []byte
		var err error
		if single {
			b, err = json.Marshal(rels[0])
		} else {
			b, err = json.Marshal(rels)
		}
		if err != nil {
			return nil, nil, err
		}
		m[f], changed = b, true
	}
	if !changed {
		return rec, nil, nil
	}
	b, err := json.Marshal(m)
	return b, out, err
}
