package oidc

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// ScopeAccount lets a token act for the citizen on the cancuoc API itself
// (their consents to partners, their eID account): only the portal and the
// app are registered for it. Without it, a relying party that holds a
// citizen's token for its own login cannot, say, grant itself consent.
const ScopeAccount = "eid_account"

// TokenInfo is who a bearer access token of this provider belongs to.
type TokenInfo struct {
	TokenID  string
	ClientID string
	// PartnerID is set on client credentials tokens: the partner whose
	// system holds the token.
	PartnerID string
	Scopes    []string
	// PIN, Level and AMR are set on citizens' tokens.
	PIN       cancuoc.PIN
	Level     int
	AMR       []string
	ExpiresAt time.Time
}

// Citizen reports whether the token was issued for a citizen (rather than
// to a partner's system).
func (t *TokenInfo) Citizen() bool { return t.PIN != "" }

// HasScope reports whether the token carries scope.
func (t *TokenInfo) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

func tokenRefused() error {
	return cancuoc.E(cancuoc.Unauthenticated, "oidc.ResolveAccessToken", "token_invalid",
		"Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi; hãy lấy mã mới.",
		"The access token is invalid, expired or revoked; get a new one.")
}

// ResolveAccessToken returns who a bearer access token issued by this
// provider belongs to. Unauthenticated "token_invalid" for a token that is
// not ours, expired, revoked, or whose client is disabled — one answer for
// all, as RFC 6750 advises; other kinds for store failures.
func (p *Provider) ResolveAccessToken(ctx context.Context, token string) (*TokenInfo, error) {
	plain, err := p.op.Crypto().Decrypt(strings.TrimSpace(token))
	if err != nil {
		return nil, tokenRefused()
	}
	id, subject, ok := strings.Cut(plain, ":")
	if !ok || id == "" {
		return nil, tokenRefused()
	}
	t, err := p.store.Token(ctx, id)
	if errorsAsKind(err, cancuoc.NotFound) {
		return nil, tokenRefused()
	}
	if err != nil {
		return nil, cancuoc.WithOp("oidc.ResolveAccessToken", err)
	}
	if t.Kind != cancuoc.TokenAccess || t.RevokedAt != nil || !p.now().Before(t.ExpiresAt) {
		return nil, tokenRefused()
	}
	var d tokenDoc
	if err := json.Unmarshal(t.Doc, &d); err != nil {
		return nil, cancuoc.WithOp("oidc.ResolveAccessToken", err)
	}
	if d.Subject != subject {
		return nil, tokenRefused()
	}
	c, err := p.store.Client(ctx, t.ClientID)
	if err != nil || c.Disabled {
		return nil, tokenRefused()
	}
	return &TokenInfo{TokenID: t.ID, ClientID: t.ClientID, PartnerID: d.Partner, Scopes: d.Scopes, PIN: t.PIN,
		Level: d.Level, AMR: d.AMR, ExpiresAt: t.ExpiresAt}, nil
}
