package oidc

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
)

// client adapts a registered client to op.Client.
type client struct {
	c     *cancuoc.Client
	login string // the login page's path
	idTTL time.Duration
}

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Kind == cancuoc.ClientPublic {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	switch c.c.AuthMethod {
	case cancuoc.ClientAuthPrivateKeyJWT:
		return oidc.AuthMethodPrivateKeyJWT
	case cancuoc.ClientAuthNone:
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.c.GrantTypes))
	for _, g := range c.c.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}

func (c *client) LoginURL(id string) string { return c.login + "?id=" + url.QueryEscape(id) }

func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTTL }

// DevMode stays off: it would relax redirect URI checks.
func (c *client) DevMode() bool { return false }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed admits the non-standard scopes the client is registered
// for; others are dropped from the request.
func (c *client) IsScopeAllowed(scope string) bool { return c.c.AllowsScope(scope) }

// IDTokenUserinfoClaimsAssertion is false: claims go through userinfo, so
// the ID token, which travels through browsers and logs, holds none.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// authDoc is an authorization request as stored (cancuoc.AuthRequest.Doc):
// what the client asked for, and the progress of the citizen's login.
type authDoc struct {
	ClientID            string                   `json:"client_id"`
	RedirectURI         string                   `json:"redirect_uri"`
	Scopes              []string                 `json:"scopes"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	ResponseType        oidc.ResponseType        `json:"response_type"`
	ResponseMode        oidc.ResponseMode        `json:"response_mode,omitempty"`
	CodeChallenge       string                   `json:"code_challenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"code_challenge_method,omitempty"`
	ACRValues           []string                 `json:"acr_values,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	UILocales           []string                 `json:"ui_locales,omitempty"`
	LoginHint           string                   `json:"login_hint,omitempty"`
	// MaxAge is the client's max_age in seconds (0 after prompt=login):
	// an older login must be made again.
	MaxAge *uint `json:"max_age,omitempty"`
	// HintSubject is the subject of a valid id_token_hint: the citizen
	// the client expects, whom a session of someone else does not satisfy.
	HintSubject string `json:"hint_subject,omitempty"`

	// Filled in as the citizen logs in.
	Browser   []byte    `json:"browser,omitempty"` // hash of the binding cookie
	AccountID string    `json:"account_id,omitempty"`
	Level     int       `json:"level,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	AMR       []string  `json:"amr,omitempty"`
	Step      string    `json:"step,omitempty"` // "", stepOTP, stepConsent, stepDone
	AuthTime  time.Time `json:"auth_time,omitzero"`
	CodeAt    time.Time `json:"code_at,omitzero"` // when the code was issued
	Org       string    `json:"org,omitempty"`    // the organisation chosen for the org scope (org.go)
	// Passkey is the pending passkey ceremony's state from
	// Accounts.BeginPasskeyLogin. It lives here, server-side and bound to
	// the browser with the request, because the client must not choose
	// the challenge it answers; it is cleared when used.
	Passkey    []byte      `json:"passkey,omitempty"`
	PasskeyPIN cancuoc.PIN `json:"passkey_pin,omitempty"` // whose passkey: for the record of a failure
	// PasskeyOptions are the browser's options for the discoverable
	// ceremony started with the request (DiscoverablePasskeys), shown in
	// the login page while Passkey holds that ceremony.
	PasskeyOptions json.RawMessage `json:"passkey_options,omitempty"`
}

// Login steps.
const (
	stepOTP     = "otp"
	stepConsent = "consent"
	stepDone    = "done"
	// stepEnded: the request was answered with an error at the client
	// (redirectError). Its row stays until it expires, so that neither it
	// nor the sealed form its login page carried (sealed.go) opens again.
	stepEnded = "ended"
)

// authRequest is a stored request as op.AuthRequest.
type authRequest struct {
	id  string
	pin cancuoc.PIN
	d   authDoc
	// row is the stored row it was read from, for updates.
	row *cancuoc.AuthRequest
	// login, when set, is the fresh login's records, written in one
	// transaction with the code (SaveAuthCode).
	login *loginWrites
	// passkey is the verified passkey's record to write with the login
	// (PasskeyVerifier), set by passkeyFinish for finishLogin.
	passkey *cancuoc.Passkey
	// consent is the citizen's consent for the client (nil: none given)
	// as read with the verified passkey's account, when consentRead, for
	// finishLogin's consented, which then reads no more.
	consent     *cancuoc.Consent
	consentRead bool
	// sealed: not stored yet; it travels sealed in its login page
	// (sealed.go), and its first saved step inserts it.
	sealed bool
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return acrOf(a.d.Level) }
func (a *authRequest) GetAMR() []string       { return a.d.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.d.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.d.AuthTime }
func (a *authRequest) GetClientID() string    { return a.d.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.d.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.d.CodeChallenge, Method: a.d.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.d.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.d.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.d.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.d.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.d.Scopes }
func (a *authRequest) GetState() string                   { return a.d.State }
func (a *authRequest) GetSubject() string                 { return a.d.Subject }
func (a *authRequest) Done() bool                         { return a.d.Step == stepDone }

func acrOf(level int) string {
	if level >= 2 {
		return ACRLevel2
	}
	if level == 1 {
		return ACRLevel1
	}
	return ""
}

// tokenDoc is an issued token as stored (cancuoc.Token.Doc).
type tokenDoc struct {
	Subject  string    `json:"subject"`
	Scopes   []string  `json:"scopes"`
	Audience []string  `json:"audience"`
	AMR      []string  `json:"amr,omitempty"`
	Level    int       `json:"level,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	Partner  string    `json:"partner,omitempty"` // client credentials tokens: the client's partner
	Org      string    `json:"org,omitempty"`     // the organisation the citizen acts for (org scope)
}

// refreshRequest is a refresh token presented for exchange
// (op.RefreshTokenRequest).
type refreshRequest struct {
	tok *cancuoc.Token
	d   tokenDoc
}

func (r *refreshRequest) GetAMR() []string            { return r.d.AMR }
func (r *refreshRequest) GetAudience() []string       { return r.d.Audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.d.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.tok.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.d.Scopes }
func (r *refreshRequest) GetSubject() string          { return r.d.Subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.d.Scopes = slices.Clone(s) }
