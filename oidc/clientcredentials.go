package oidc

import (
	"context"
	"crypto"
	"github.com/cancuoc/cancuoc/internal/json"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
)

// Partners' systems get access tokens with the OAuth 2.0 client credentials
// grant, authenticating with private_key_jwt (RFC 7523): a JWT signed by a
// key in the client's registered JWKS, with iss = sub = client ID, aud =
// the issuer, a short life and a jti never used before. No shared secret
// exists to leak. op passes only client_id and client_secret to
// ClientCredentials, so the token handler puts the assertion in the
// request's context for it.

var _ op.ClientCredentialsStorage = (*storage)(nil)

// Limits on client assertions: how old iat may be, the clock difference
// tolerated, and the longest life (exp − now) accepted, which bounds how
// long a jti must be remembered.
const (
	assertionMaxAge  = 5 * time.Minute
	assertionSkew    = 10 * time.Second
	assertionMaxLife = 10 * time.Minute
)

const keyAssertion ctxKey = 100

// ccState carries a client credentials request through op: the assertion
// to ClientCredentials, and the client it authenticated from there to
// ClientCredentialsTokenRequest (op passes the latter only the form's
// client_id, which private_key_jwt makes optional).
type ccState struct {
	assertion string
	client    string
}

// withClientAssertion records the request's client assertion for
// ClientCredentials (the form is parsed already by the token handler).
func withClientAssertion(r *http.Request) *http.Request {
	if r.PostForm.Get("grant_type") != string(oidc.GrantTypeClientCredentials) {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), keyAssertion, &ccState{assertion: r.PostForm.Get("client_assertion")}))
}

// ClientCredentials authenticates a client of the client credentials
// grant by its private_key_jwt assertion. Only clients registered with
// private_key_jwt, the grant and a partner may use it.
func (s *storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	st, _ := ctx.Value(keyAssertion).(*ccState)
	if st == nil || st.assertion == "" || clientSecret != "" {
		return nil, oidc.ErrInvalidClient().WithDescription("the client credentials grant needs private_key_jwt client authentication")
	}
	claims, exp, err := s.verifyClientAssertion(ctx, st.assertion)
	if err != nil {
		return nil, err
	}
	if clientID != "" && clientID != claims.Issuer {
		return nil, oidc.ErrInvalidClient().WithDescription("client_id differs from the assertion's issuer")
	}
	c, err := s.opClient(ctx, claims.Issuer)
	if err != nil {
		return nil, err
	}
	switch {
	case c.c.AuthMethod != cancuoc.ClientAuthPrivateKeyJWT:
		return nil, oidc.ErrInvalidClient().WithDescription("the client is not registered for private_key_jwt")
	case !c.c.HasGrant(cancuoc.GrantClientCredentials):
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client is not registered for the client credentials grant")
	case c.c.PartnerID == "":
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client is not linked to a partner")
	}
	if p, err := s.p.store.Partner(ctx, c.c.PartnerID); err != nil || p.Disabled {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client's partner is unknown or disabled")
	}
	// Remembered only once everything else holds, so a refused attempt
	// does not burn the jti of a genuine one.
	if err := s.useAssertion(ctx, c.c.ID, claims.JWTID, exp); err != nil {
		return nil, err
	}
	st.client = c.c.ID
	return c, nil
}

// ccRequest is a client credentials token request (op.TokenRequest).
type ccRequest struct {
	clientID, partnerID string
	scopes              []string
}

func (r *ccRequest) GetSubject() string    { return r.clientID }
func (r *ccRequest) GetAudience() []string { return []string{r.clientID} }
func (r *ccRequest) GetScopes() []string   { return r.scopes }

// ClientCredentialsTokenRequest describes the token to issue: its subject
// is the client, and it carries the client's partner. Partners' rights come
// from their policy, not from scopes; a requested scope the client is not
// registered for is dropped.
func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	st, _ := ctx.Value(keyAssertion).(*ccState)
	if st == nil || st.client == "" || (clientID != "" && clientID != st.client) {
		return nil, oidc.ErrInvalidClient().WithDescription("client not authenticated")
	}
	clientID = st.client
	c, err := s.p.store.Client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	kept := slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return !c.AllowsScope(sc) })
	return &ccRequest{clientID: clientID, partnerID: c.PartnerID, scopes: kept}, nil
}

// useAssertion remembers an accepted assertion's jti until it expires;
// a jti seen before is refused (and the attempt recorded).
func (s *storage) useAssertion(ctx context.Context, clientID, jti string, exp time.Time) error {
	if err := s.p.store.UseClientAssertion(ctx, clientID, jti, exp, s.p.now()); err != nil {
		if errorsAsKind(err, cancuoc.Conflict) {
			s.p.auditEntry(ctx, s.p.store, "", "oidc.assertion_replay", clientID, nil, "assertion_replayed")
			return oidc.ErrInvalidClient().WithDescription("the client assertion was used before (jti)")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// checkOtherAssertion judges the client assertion of a token request of
// another grant (authorization code, refresh token) by the same rules as
// the client credentials grant, jti included, before op verifies it again
// (op's own check adds nothing the rules above do not already demand).
func (s *storage) checkOtherAssertion(ctx context.Context, assertion string) error {
	claims, exp, err := s.verifyClientAssertion(ctx, assertion)
	if err != nil {
		return err
	}
	return s.useAssertion(ctx, claims.Issuer, claims.JWTID, exp)
}

// SignClientAssertion makes a private_key_jwt client assertion as a
// partner's system sends it: iss = sub = clientID, aud = audience (the
// issuer), a fresh jti, iat now and exp after ttl, signed with key (an
// *ecdsa.PrivateKey for ES256 or an *rsa.PrivateKey for RS256) under kid.
// Partners' systems, the benchmark and tests use it.
func SignClientAssertion(key crypto.Signer, alg jose.SignatureAlgorithm, kid, clientID, audience string, ttl time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims, err := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": audience, "jti": randomID(16),
		"iat": now.Unix(), "exp": now.Add(ttl).Unix()})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
