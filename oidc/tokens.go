package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/seal"
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

// tokenCrypto seals what zitadel/oidc hands its Crypto: the opaque access
// tokens ("token ID:subject") and the authorization codes (the request's
// ID). zitadel/oidc's own AES-GCM sealer builds a JWE for each value — a
// fresh encrypter, a content key wrapped under the key, a JSON header, five
// base64 parts — which cost about 3 % of the server's CPU per login (two
// seals and an open). This one is the project's sealer (package seal:
// AES-256-GCM under a key of its own, a ready cipher), written as
// base64url(nonce ‖ ciphertext ‖ tag) with a label as additional data so
// that nothing else sealed under the key reads as a token. Values in
// zitadel/oidc's formats (a JWE has dots, which base64url has not) go to
// its decrypters, so tokens issued before keep working until they expire.
type tokenCrypto struct {
	sealer   *seal.Sealer
	fallback []op.Decrypter
}

// tokenLabel is the additional data of every sealed value.
const tokenLabel = "cancuoc oidc token v2"

// newTokenCrypto derives its key from the server secret.
func newTokenCrypto(secret []byte, fallback ...op.Decrypter) (*tokenCrypto, error) {
	s, err := seal.New(secret, "oidc access token")
	if err != nil {
		return nil, err
	}
	return &tokenCrypto{sealer: s, fallback: fallback}, nil
}

// Encrypt seals s under a random nonce.
func (c *tokenCrypto) Encrypt(s string) (string, error) {
	sealed, err := c.sealer.Seal(tokenLabel, []byte(s))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

var errNotSealed = errors.New("oidc: not a value sealed by this provider")

// Decrypt opens a value sealed by Encrypt, or one in zitadel/oidc's
// formats through the fallback decrypters.
func (c *tokenCrypto) Decrypt(s string) (string, error) {
	if strings.IndexByte(s, '.') >= 0 {
		for _, d := range c.fallback {
			if plain, err := d.Decrypt(s); err == nil {
				return plain, nil
			}
		}
		return "", errNotSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", errNotSealed
	}
	plain, err := c.sealer.Open(tokenLabel, raw)
	if err != nil {
		return "", errNotSealed
	}
	return string(plain), nil
}
