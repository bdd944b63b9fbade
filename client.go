package cancuoc

import (
	"context"
	"encoding/json"
	"time"
)

// ClientKind tells whether a relying party can keep a secret. Public
// clients (apps on a phone, single-page apps) cannot, so they must prove
// possession of the code with PKCE S256.
type ClientKind string

// Client kinds.
const (
	ClientConfidential ClientKind = "confidential"
	ClientPublic       ClientKind = "public"
)

// Client authentication methods at the token endpoint. Partners (banks,
// ministries' systems) authenticate with private_key_jwt: no shared secret
// ever leaves their hardware.
const (
	ClientAuthSecretBasic   = "client_secret_basic"
	ClientAuthPrivateKeyJWT = "private_key_jwt"
	ClientAuthNone          = "none"
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Client is a relying party registered by an administrator: a public-service
// portal, a bank, a hospital, or (issue 4) a partner system calling with
// client credentials. Only a hash of its secret is kept.
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Purpose is the reason the client gives for wanting citizens' data,
	// shown on the consent page and recorded with each release.
	Purpose    string     `json:"purpose"`
	Kind       ClientKind `json:"kind"`
	AuthMethod string     `json:"auth_method"`
	SecretHash []byte     `json:"-"`
	// JWKS holds the client's public keys (a JSON Web Key Set) for
	// private_key_jwt.
	JWKS                   json.RawMessage `json:"jwks,omitempty"`
	RedirectURIs           []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string        `json:"grant_types"`
	// Scopes beyond the standard ones the client may ask for ("pid").
	Scopes []string `json:"scopes,omitempty"`
	// Sector groups clients whose pairwise subject is the same; empty means
	// the host of the first redirect URI.
	Sector string `json:"sector,omitempty"`
	// MinLevel is the assurance level (1 or 2) the client demands of every
	// holder.
	MinLevel int `json:"min_level"`
	// IDTokenAlg signs the client's ID tokens: "ES256" (default) or "RS256".
	IDTokenAlg string `json:"id_token_alg"`
	// PartnerID links the client to a partner organisation (issue 4).
	PartnerID string    `json:"partner_id,omitempty"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// AllowsScope reports whether the client is registered for a non-standard
// scope.
func (c *Client) AllowsScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// HasGrant reports whether the client is registered for a grant type.
func (c *Client) HasGrant(grant string) bool {
	for _, g := range c.GrantTypes {
		if g == grant {
			return true
		}
	}
	return false
}

// AuthRequest is an OpenID Connect authorization request in progress: what
// the client asked for and, as the citizen goes through login and consent,
// who they are and how they proved it. It lives a few minutes. Doc holds the
// whole request as the provider encodes it; the other fields are what the
// store looks up by.
type AuthRequest struct {
	ID        string
	ClientID  string
	PIN       PIN    // empty until the citizen has logged in
	CodeHash  []byte // SHA-256 of the authorization code, once issued
	CodeUsed  bool
	CreatedAt time.Time
	ExpiresAt time.Time
	Doc       json.RawMessage
}

// TokenKind distinguishes access and refresh tokens.
type TokenKind string

// Token kinds.
const (
	TokenAccess  TokenKind = "access"
	TokenRefresh TokenKind = "refresh"
)

// Token is an issued access or refresh token. Access tokens are looked up by
// ID (the opaque token carries it, encrypted); refresh tokens by the
// SHA-256 of their value. Refresh tokens of one login form a Family: each
// use rotates the token, and a rotated token used again revokes the family.
type Token struct {
	ID            string
	Kind          TokenKind
	Hash          []byte // refresh tokens only
	Family        string
	AuthRequestID string // the code it came from, to revoke on code replay
	ClientID      string
	PIN           PIN
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        *time.Time // refresh token rotated
	RevokedAt     *time.Time
	Doc           json.RawMessage // scopes, subject, amr, acr… as the provider encodes them
}

// Consent is a citizen's permission for a client to receive some scopes of
// their data. A revoked consent is kept for the record and no longer counts.
type Consent struct {
	PIN       PIN        `json:"-"`
	ClientID  string     `json:"client_id"`
	Scopes    []string   `json:"scopes"`
	GrantedAt time.Time  `json:"granted_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// SigningKey is a key the provider signs tokens with. Private holds the key
// encrypted by the provider (the store never sees it in clear); Public is its
// JSON Web Key. A key signs from CreatedAt until a newer key of its
// algorithm exists and is published until RetireAt, when no token it signed
// is still valid.
type SigningKey struct {
	ID        string
	Alg       string
	Private   []byte
	Public    json.RawMessage
	CreatedAt time.Time
	RetireAt  time.Time
}

// ClientStore keeps registered relying parties.
type ClientStore interface {
	// InsertClient stores c. Conflict "duplicate" if the ID exists.
	InsertClient(ctx context.Context, c *Client) error
	// Client returns one client. NotFound if absent.
	Client(ctx context.Context, id string) (*Client, error)
	// Clients lists all clients by ID.
	Clients(ctx context.Context) ([]*Client, error)
}

// OIDCStore keeps the OpenID provider's state: authorization requests,
// tokens, consents and signing keys.
type OIDCStore interface {
	ClientStore
	// InsertAuthRequest stores r. Conflict "duplicate" if the ID exists.
	InsertAuthRequest(ctx context.Context, r *AuthRequest) error
	// AuthRequest returns a request by ID. NotFound if absent.
	AuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// UpdateAuthRequest replaces the PIN, code hash and document of r.
	// NotFound if absent.
	UpdateAuthRequest(ctx context.Context, r *AuthRequest) error
	// SwapAuthRequest replaces the PIN, code hash and document of r only
	// while the stored document is still prev (as last written): a step
	// of a login, such as the use of a passkey ceremony, takes effect at
	// most once however many requests race for it. Conflict
	// "auth_request_changed" if another write came first; NotFound if
	// absent.
	SwapAuthRequest(ctx context.Context, r *AuthRequest, prev json.RawMessage) error
	// AuthRequestByCodeHash returns the request whose code has this hash,
	// without claiming it (the token endpoint claims it with ClaimAuthCode
	// in the transaction that stores the tokens). NotFound if none.
	AuthRequestByCodeHash(ctx context.Context, codeHash []byte) (*AuthRequest, error)
	// ClaimAuthCode marks the code with this hash used and returns its
	// request, atomically, so that a code is exchanged at most once.
	// NotFound if no request has the code; Conflict "code_used" (with the
	// request, so its tokens can be revoked) if it was used before.
	ClaimAuthCode(ctx context.Context, codeHash []byte) (*AuthRequest, error)
	// UseAuthCode marks the code with this hash used, as ClaimAuthCode,
	// for a caller that has read the request already: nothing is returned,
	// so on PostgreSQL, in a transaction, the statement goes with the
	// transaction's next round trip (its COMMIT), and its refusal comes
	// with that call. Conflict "code_used" when no request has the code
	// unused (used before, or unknown).
	UseAuthCode(ctx context.Context, codeHash []byte) error
	// DeleteAuthRequest removes a request; absent is not an error.
	DeleteAuthRequest(ctx context.Context, id string) error
	// DeleteExpiredAuthRequests removes requests that expired before t.
	DeleteExpiredAuthRequests(ctx context.Context, t time.Time) error

	// InsertToken stores t. Conflict "duplicate" if the ID exists.
	InsertToken(ctx context.Context, t *Token) error
	// Token returns a token by ID. NotFound if absent.
	Token(ctx context.Context, id string) (*Token, error)
	// TokenCitizen returns an access token by ID together with the current
	// record of its citizen, as CitizenDoc returns it, in one read:
	// userinfo needs both, and on PostgreSQL a read is a round trip. The
	// record is nil when the token is not an access token or its citizen
	// has no record. NotFound if the token is absent.
	TokenCitizen(ctx context.Context, id string) (*Token, *CitizenDoc, error)
	// TokenByHash returns a refresh token by the hash of its value.
	// NotFound if absent.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// UseToken marks an unused, unrevoked token used at t. Conflict
	// "token_used" if it was used or revoked already: the caller treats
	// that as reuse.
	UseToken(ctx context.Context, id string, t time.Time) error
	// RevokeToken revokes one token at t; already revoked is not an error.
	// NotFound if absent.
	RevokeToken(ctx context.Context, id string, t time.Time) error
	// RevokeTokens revokes at t every token of a refresh family, or, when
	// family is empty, every token issued from an authorization request.
	RevokeTokens(ctx context.Context, family, authRequestID string, t time.Time) error
	// RevokeClientTokens revokes at t every token of a citizen for a client.
	RevokeClientTokens(ctx context.Context, pin PIN, clientID string, t time.Time) error

	// PutConsent stores a consent, replacing any earlier one of the same
	// citizen and client.
	PutConsent(ctx context.Context, c *Consent) error
	// Consent returns a citizen's consent for a client, revoked or not.
	// NotFound if none was ever given.
	Consent(ctx context.Context, pin PIN, clientID string) (*Consent, error)
	// Consents lists a citizen's consents, newest first.
	Consents(ctx context.Context, pin PIN) ([]*Consent, error)
	// RevokeConsent marks a citizen's consent for a client revoked at t.
	// NotFound if there is no unrevoked consent.
	RevokeConsent(ctx context.Context, pin PIN, clientID string, t time.Time) error

	// InsertSigningKey stores k. Conflict "duplicate" if the ID exists.
	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// SigningKeys lists keys not retired at t, newest first.
	SigningKeys(ctx context.Context, t time.Time) ([]*SigningKey, error)
}
