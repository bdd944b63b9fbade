package wallet

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/sdjwt"
)

// LabelledClaim is a claim with its display labels.
type LabelledClaim struct {
	Name    string `json:"name"`
	LabelVI string `json:"label_vi"`
	LabelEN string `json:"label_en"`
	Value   any    `json:"value"`
}

// DocumentView is a document as its holder sees it.
type DocumentView struct {
	*cancuoc.Document
	NameVI string          `json:"name_vi"`
	NameEN string          `json:"name_en"`
	VCT    string          `json:"vct"`
	Claims []LabelledClaim `json:"claims,omitempty"`
	// SDJWT is the issued document with all its disclosures, for the
	// wallet app to keep and present offline.
	SDJWT string `json:"sd_jwt,omitempty"`
}

// Label returns the claims of t in schema order with their labels.
func Label(typeID string, claims map[string]any) []LabelledClaim {
	out := []LabelledClaim{}
	t := Types[typeID]
	if t == nil {
		for n, v := range claims {
			out = append(out, LabelledClaim{Name: n, LabelVI: n, LabelEN: n, Value: v})
		}
		slices.SortFunc(out, func(a, b LabelledClaim) int { return cmp.Compare(a.Name, b.Name) })
		return out
	}
	for _, c := range t.Claims {
		if v, ok := claims[c.Name]; ok {
			out = append(out, LabelledClaim{Name: c.Name, LabelVI: c.LabelVI, LabelEN: c.LabelEN, Value: v})
		}
	}
	return out
}

func (s *Service) view(d *cancuoc.Document, full bool) *DocumentView {
	t := Types[d.Type]
	v := &DocumentView{Document: d, NameVI: t.NameVI, NameEN: t.NameEN, VCT: s.VCT(d.Type)}
	if full {
		var claims map[string]any
		_ = json.Unmarshal(d.Claims, &claims)
		v.Claims, v.SDJWT = Label(d.Type, claims), d.SDJWT
	}
	return v
}

// holderOf checks that acc may act for pin: it is the account holder's own
// PIN, or the PIN of a child whose guardian acc's holder still is: the
// child's account names them, the child is under 14, and the registry
// still lists them as parent or representative (eid.Guards). A former
// guardian of someone now 14 or over reads and re-keys nothing.
func (s *Service) holderOf(ctx context.Context, acc *cancuoc.Account, pin cancuoc.PIN) error {
	const op = "wallet.holder"
	if acc == nil || acc.Kind != cancuoc.AccountCitizen {
		return cancuoc.E(cancuoc.Unauthenticated, op, "citizen_required", "Cần đăng nhập bằng tài khoản công dân.", "Log in with a citizen account.")
	}
	if pin == "" || pin == acc.PIN {
		return nil
	}
	child, err := s.store.AccountByPIN(ctx, pin)
	if err == nil {
		guards, err := eid.Guards(ctx, s.store, acc.PIN, child, s.clock(), eid.LegalChildAge)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		if guards {
			return nil
		}
	}
	return cancuoc.E(cancuoc.Forbidden, op, "not_guardian", "Bạn không phải người giám hộ của công dân này.", "You are not this citizen's guardian.")
}

func (s *Service) readAudit(ctx context.Context, acc *cancuoc.Account, pin cancuoc.PIN, action, purpose string) error {
	return s.store.AppendAudit(ctx, &cancuoc.AuditEntry{At: s.clock(), Actor: "account:" + acc.ID, Action: action,
		PIN: pin, Purpose: purpose, Outcome: "ok"})
}

// MyDocuments lists the documents of the account's holder, or of a child
// of theirs (forPIN), newest first, without their claims.
func (s *Service) MyDocuments(ctx context.Context, acc *cancuoc.Account, forPIN cancuoc.PIN) ([]*DocumentView, error) {
	const op = "wallet.MyDocuments"
	if forPIN == "" && acc != nil {
		forPIN = acc.PIN
	}
	if err := s.holderOf(ctx, acc, forPIN); err != nil {
		return nil, err
	}
	docs, err := s.store.DocumentsByHolder(ctx, forPIN)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.readAudit(ctx, acc, forPIN, "document.list", "wallet"); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	out := make([]*DocumentView, 0, len(docs))
	for _, d := range docs {
		out = append(out, s.view(d, false))
	}
	return out, nil
}

// MyDocument shows one document of the holder (or of their child) with its
// claims and the issued SD-JWT.
func (s *Service) MyDocument(ctx context.Context, acc *cancuoc.Account, id string) (*DocumentView, error) {
	const op = "wallet.MyDocument"
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.holderOf(ctx, acc, d.HolderPIN); err != nil {
		// Someone else's document: answer as if it did not exist.
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy tài liệu.", "No such document.")
	}
	if err := s.readAudit(ctx, acc, d.HolderPIN, "document.read", d.Type); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s.view(d, true), nil
}

// ParseHolderJWK checks a wallet's public key: an EC P-256 public JWK
// (ES256 is what the key-binding JWT is verified with). It returns the key
// with its RFC 7638 thumbprint.
func ParseHolderJWK(raw json.RawMessage) (*jose.JSONWebKey, string, error) {
	const op = "wallet.ParseHolderJWK"
	var k jose.JSONWebKey
	if len(raw) == 0 || len(raw) > 2048 || k.UnmarshalJSON(raw) != nil {
		return nil, "", cancuoc.InvalidField(op, "jwk", "jwk_invalid", "Khoá công khai không phải JWK hợp lệ.", "jwk is not a valid JSON Web Key.")
	}
	pub, ok := k.Key.(*ecdsa.PublicKey)
	if !ok || !k.IsPublic() || pub.Curve != elliptic.P256() {
		return nil, "", cancuoc.InvalidField(op, "jwk", "jwk_not_p256_public", "Khoá phải là khoá công khai EC P-256 (không gửi khoá bí mật).",
			"jwk must be an EC P-256 public key (never send the private key).")
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", cancuoc.WithOp(op, err)
	}
	clean := jose.JSONWebKey{Key: pub}
	return &clean, base64.RawURLEncoding.EncodeToString(tp), nil
}

// ReasonHolderKeyChanged suspends a document bound to a wallet key the
// holder replaced, when it could not be reissued to the new key: the old
// key (perhaps on a lost phone) must not keep presenting it.
const ReasonHolderKeyChanged = "holder_key_changed"

// RegisterHolderKey records the wallet key of the holder (or of a child of
// theirs, whose key the guardian's wallet holds) and reissues every valid
// or suspended document bound to an older key, so the documents follow
// the citizen to a new phone; one that cannot be reissued (the holder no
// longer qualifies for it) is suspended instead, so the old key cannot
// present it. A change of key is audited ("wallet.key.change", a first key
// "wallet.key.register") and published as an EventDocumentHolderBound
// event naming both keys and the documents reissued and suspended; the
// same key registered again changes nothing. It returns the reissued
// documents.
func (s *Service) RegisterHolderKey(ctx context.Context, acc *cancuoc.Account, forPIN cancuoc.PIN, raw json.RawMessage) (*cancuoc.HolderKey, []*DocumentView, error) {
	const op = "wallet.RegisterHolderKey"
	if forPIN == "" && acc != nil {
		forPIN = acc.PIN
	}
	if err := s.holderOf(ctx, acc, forPIN); err != nil {
		return nil, nil, err
	}
	k, thumb, err := ParseHolderJWK(raw)
	if err != nil {
		return nil, nil, err
	}
	pub, _ := k.MarshalJSON()
	hk := &cancuoc.HolderKey{PIN: forPIN, ID: thumb, JWK: pub, CreatedAt: s.clock()}
	var out []*DocumentView
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		old, err := tx.HolderKey(ctx, forPIN)
		if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
			return err
		}
		if old != nil && old.ID == thumb {
			hk = old // the same key again: only documents left behind move
		} else if err := tx.PutHolderKey(ctx, hk); err != nil {
			return err
		}
		out, err = s.rebind(ctx, tx, acc, forPIN, old, thumb)
		return err
	})
	s.lists.forget()
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	// Documents a procedure issued before the holder had a key (a
	// newborn's birth certificate and health card) are issued now. A
	// failure leaves the key registered; registering it again retries.
	if err := s.issuePendingProcedureDocs(ctx, forPIN); err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	return hk, out, nil
}

// rebind moves the holder's documents still bound to another key than
// thumb (from the old key, or left behind by an earlier change) to thumb
// inside tx, and records a change of key (old nil: the first key): audit
// entry, and an event when there was an old key. The same key registered
// again records nothing.
func (s *Service) rebind(ctx context.Context, tx cancuoc.Tx, acc *cancuoc.Account, pin cancuoc.PIN, old *cancuoc.HolderKey, thumb string) ([]*DocumentView, error) {
	const op = "wallet.RegisterHolderKey"
	actor := "account:" + acc.ID
	changed := old == nil || old.ID != thumb
	action := "wallet.key.register"
	if old != nil {
		action = "wallet.key.change"
	}
	if changed {
		if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: s.clock(), Actor: actor, Action: action,
			PIN: pin, Purpose: thumb, Outcome: "ok"}); err != nil {
			return nil, err
		}
	}
	docs, err := tx.DocumentsByHolder(ctx, pin)
	if err != nil {
		return nil, err
	}
	var out []*DocumentView
	reissued, suspended := []string{}, []string{}
	for _, d := range docs {
		if d.Status == cancuoc.DocumentRevoked || d.HolderKeyID == thumb || !d.ExpiresAt.After(s.now()) {
			continue
		}
		nd, err := s.reissue(ctx, tx, op, actor, d.ID, nil)
		if code := sdjwt.Code(err); code == "holder_dead" || code == "level2_required" {
			// The holder no longer qualifies (checked before anything is
			// written): the document stays, suspended, on the old key.
			if _, err := s.setStatus(ctx, tx, op, actor, d.ID, cancuoc.DocumentSuspended, ReasonHolderKeyChanged); err != nil {
				return nil, err
			}
			suspended = append(suspended, d.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		reissued = append(reissued, d.ID)
		out = append(out, s.view(nd, false))
	}
	if old == nil || !changed {
		return out, nil
	}
	data, _ := json.Marshal(map[string]any{"old_key": old.ID, "new_key": thumb, "reissued": reissued, "suspended": suspended})
	return out, tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: cancuoc.EventDocumentHolderBound, PIN: pin,
		Actor: actor, At: s.clock(), Data: data})
}

// PresentRequest is what the holder chooses to show, and to whom.
type PresentRequest struct {
	Claims   []string `json:"claims"`
	Nonce    string   `json:"nonce"`
	Audience string   `json:"aud"`
}

// Prepared is a presentation waiting for the holder's signature: the
// wallet signs SigningInput (ES256, with the key registered for the
// document) and appends SigningInput + "." + signature to SDJWT.
type Prepared struct {
	SDJWT        string    `json:"sd_jwt"`
	SigningInput string    `json:"kb_signing_input"`
	IssuedAt     time.Time `json:"iat"`
}

// PreparePresentation selects the disclosures of the chosen claims and
// returns the key-binding JWT to sign. The holder's private key never
// reaches the server: the app (or the portal through the app) signs.
func (s *Service) PreparePresentation(ctx context.Context, acc *cancuoc.Account, id string, req PresentRequest) (*Prepared, error) {
	const op = "wallet.PreparePresentation"
	if err := checkNonceAud(op, req.Nonce, req.Audience); err != nil {
		return nil, err
	}
	d, err := s.store.Document(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.holderOf(ctx, acc, d.HolderPIN); err != nil {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy tài liệu.", "No such document.")
	}
	if d.Status == cancuoc.DocumentRevoked {
		return nil, revokedErr(op)
	}
	var claims map[string]any
	_ = json.Unmarshal(d.Claims, &claims)
	for _, c := range req.Claims {
		if _, ok := claims[c]; !ok {
			return nil, cancuoc.InvalidField(op, "claims", "claim_not_in_document", "Tài liệu không có trường này.", fmt.Sprintf("The document has no claim %q.", c))
		}
	}
	sd, err := sdjwt.Present(d.SDJWT, sdjwt.Names(req.Claims...), nil, "", "", time.Time{})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	iat := s.now()
	in, err := sdjwt.KBInput(sd, req.Nonce, req.Audience, iat)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.readAudit(ctx, acc, d.HolderPIN, "document.present", d.Type); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &Prepared{SDJWT: sd, SigningInput: in, IssuedAt: time.Unix(iat.Unix(), 0).UTC()}, nil
}

func checkNonceAud(op, nonce, aud string) error {
	if len(nonce) < 8 || len(nonce) > 200 {
		return cancuoc.InvalidField(op, "nonce", "nonce_invalid", "nonce của bên kiểm tra phải dài 8–200 ký tự.", "The verifier's nonce must be 8 to 200 characters.")
	}
	if aud == "" || len(aud) > 500 {
		return cancuoc.InvalidField(op, "aud", "aud_invalid", "Thiếu định danh bên kiểm tra (aud).", "The verifier's identifier (aud) is required (500 characters at most).")
	}
	return nil
}
