package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// A private_key_jwt client assertion (RFC 7523, section 3) is judged here
// by the provider's own clock (Config.Now), not by the library's
// time.Now: exp not passed, iat not in the future nor older than
// assertionMaxAge, nbf (when present) not in the future, a life (exp −
// iat, and exp − now) of at most assertionMaxLife, iss = sub, aud naming
// the issuer and a jti. The jti is remembered by the caller once the
// client itself is accepted, so a replay is refused.

// assertionAlgs are the signature algorithms a client assertion may use.
var assertionAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// assertionClaims are the claims of a client assertion that are checked.
type assertionClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  oidc.Audience `json:"aud"`
	JWTID     string        `json:"jti"`
	ExpiresAt *json.Number  `json:"exp"`
	IssuedAt  *json.Number  `json:"iat"`
	NotBefore *json.Number  `json:"nbf"`
}

// numericDate reads a JWT NumericDate (seconds, possibly fractional).
func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}

// errAssertion is a refused client assertion; the description is safe to
// return to the client (it names the rule, not a secret).
func errAssertion(format string, args ...any) error {
	return oidc.ErrInvalidClient().WithDescription("client assertion refused: %s", fmt.Sprintf(format, args...))
}

// verifyClientAssertion checks a client assertion's signature against the
// client's registered keys and its claims against the provider's clock.
// It does not remember the jti (UseClientAssertion, by the caller).
func (s *storage) verifyClientAssertion(ctx context.Context, assertion string) (*assertionClaims, time.Time, error) {
	jws, err := jose.ParseSigned(assertion, assertionAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, time.Time{}, errAssertion("not a signed JWT")
	}
	c, err := parseAssertionClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, time.Time{}, err
	}
	key, err := s.GetKeyByIDAndClientID(ctx, jws.Signatures[0].Header.KeyID, c.Issuer)
	if err != nil {
		return nil, time.Time{}, errAssertion("no key of the client matches")
	}
	if _, err := jws.Verify(key); err != nil {
		return nil, time.Time{}, errAssertion("signature invalid")
	}
	if err := s.checkAssertionClaims(c); err != nil {
		return nil, time.Time{}, err
	}
	exp, _ := numericDate(c.ExpiresAt)
	return c, exp, nil
}

// parseAssertionClaims reads an assertion's claims (times kept as numbers).
func parseAssertionClaims(payload []byte) (*assertionClaims, error) {
	var c assertionClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil || c.Issuer == "" {
		return nil, errAssertion("claims unreadable or no iss")
	}
	return &c, nil
}

// checkAssertionClaims applies the rules above to verified claims.
func (s *storage) checkAssertionClaims(c *assertionClaims) error {
	now := s.p.now()
	issuer := strings.TrimSuffix(s.p.cfg.Issuer, "/")
	switch {
	case c.Subject != c.Issuer:
		return errAssertion("sub must equal iss")
	case !slices.ContainsFunc(c.Audience, func(a string) bool { return strings.TrimSuffix(a, "/") == issuer }):
		return errAssertion("aud must name the issuer")
	case c.JWTID == "":
		return errAssertion("the client assertion needs a jti")
	}
	exp, ok := numericDate(c.ExpiresAt)
	if !ok {
		return errAssertion("exp missing or invalid")
	}
	iat, ok := numericDate(c.IssuedAt)
	if !ok {
		return errAssertion("iat missing or invalid")
	}
	if !now.Add(-assertionSkew).Before(exp) {
		return errAssertion("expired")
	}
	if iat.After(now.Add(assertionSkew)) {
		return errAssertion("iat in the future")
	}
	if iat.Before(now.Add(-assertionMaxAge)) {
		return errAssertion("iat older than %v", assertionMaxAge)
	}
	if c.NotBefore != nil {
		nbf, ok := numericDate(c.NotBefore)
		if !ok {
			return errAssertion("nbf invalid")
		}
		if nbf.After(now.Add(assertionSkew)) {
			return errAssertion("not valid yet (nbf)")
		}
	}
	if exp.Sub(iat) > assertionMaxLife || exp.Sub(now) > assertionMaxLife {
		return errAssertion("the client assertion may live at most %v", assertionMaxLife)
	}
	return nil
}
