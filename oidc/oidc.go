// Package oidc is the OpenID Connect provider: "log in with your eID" for
// public-service portals, banks and hospitals. The protocol is
// github.com/zitadel/oidc/v3's op package; this package gives it storage on
// our stores (both databases), the login, second-factor and consent pages,
// claims from the registry by scope, pairwise subjects, assurance levels as
// acr, and an access record on the citizen for every login, consent and
// token.
//
// Flow: /authorize answers with the request's login page, which carries
// the request sealed until a step stores it (/login?id= shows it again); the citizen proves who they are (password,
// then TOTP when enrolled; or a passkey); a client that demands level 2
// gets an explanation page for a level-1 holder instead of a token; the consent page lists exactly the fields the scopes release and
// the client's stated purpose; then the code goes to the registered
// redirect URI. The browser that started a request is bound to it by a
// cookie, and every form carries a CSRF token derived from that cookie.
package oidc

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/seal"
)

// Accounts is what the provider needs of the eid capability: checking the
// factors a citizen presents and recording their logins. *eid.Service
// implements it.
type Accounts interface {
	// AccountByPIN returns the citizen's account. NotFound if none.
	AccountByPIN(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Account, error)
	// VerifyPassword checks a password and returns the account.
	// Unauthenticated for a wrong PIN or password; Forbidden (or
	// Unavailable) while locked out. source is the client address, for
	// per-address throttling.
	VerifyPassword(ctx context.Context, pin cancuoc.PIN, password, source string) (*cancuoc.Account, error)
	// HasTOTP reports whether the account has a TOTP authenticator.
	HasTOTP(ctx context.Context, accountID string) (bool, error)
	// VerifyTOTP checks a TOTP code. Unauthenticated if wrong.
	VerifyTOTP(ctx context.Context, accountID, code, source string) error
	// RecordLogin records a successful login on the account holder's access
	// log ("eid.login").
	RecordLogin(ctx context.Context, accountID, clientID string, amr []string, source string) error
	// BeginPasskeyLogin starts a passkey login for the citizen with pin: the
	// options for navigator.credentials.get, and an opaque session the
	// provider keeps server-side for FinishPasskeyLogin. NotFound when the
	// citizen has no account or no passkey.
	BeginPasskeyLogin(ctx context.Context, pin cancuoc.PIN) (*protocol.CredentialAssertion, []byte, error)
	// FinishPasskeyLogin verifies the assertion in r's body (JSON, as
	// navigator.credentials.get produces it) against session and returns
	// the account. Unauthenticated when it does not verify; Forbidden for an
	// account that may not log in.
	FinishPasskeyLogin(ctx context.Context, session []byte, r *http.Request) (*cancuoc.Account, error)
}

// Assurance levels as acr values.
const (
	ACRLevel1 = "urn:cancuoc:eid:loa1"
	ACRLevel2 = "urn:cancuoc:eid:loa2"
)

// ScopePID releases the citizen's PIN, only to clients registered for it.
const ScopePID = "pid"

// Config configures the provider.
type Config struct {
	// Issuer is the provider's URL, e.g. https://id.cancuoc.gov.vn/oidc; its
	// path is where Handler expects to be mounted.
	Issuer string
	// Secret (at least 32 bytes) is the server secret every node shares:
	// the keys sealing signing keys, encrypting access tokens, computing
	// pairwise subjects and signing cookies are derived from it. Changing it
	// changes every subject, so it is kept like a root key.
	Secret []byte
	// TrustedProxies are the reverse proxies whose X-Forwarded-For gives
	// the client's address for lockout; nil ignores the header.
	TrustedProxies *clientaddr.Resolver
	// Insecure allows an http:// issuer (development and tests) and cookies
	// without the Secure flag.
	Insecure bool

	CodeLifetime         time.Duration // default 1 minute
	AccessTokenLifetime  time.Duration // default 15 minutes
	IDTokenLifetime      time.Duration // default 1 hour
	RefreshTokenLifetime time.Duration // default 30 days
	LoginLifetime        time.Duration // time to finish login and consent, default 10 minutes
	SessionLifetime      time.Duration // a login session spares the password this long, default 30 minutes
	KeyRotation          time.Duration // default 30 days
	// Now is the clock; tests move it.
	Now func() time.Time
	// Log receives operational messages, never personal data.
	Log *slog.Logger
	// Audit, when set, commits the access-log entries written outside a
	// transaction of their own (the token's, userinfo's, failed logins')
	// together with other requests' entries (audit.Writer's group commit):
	// one commit, and on PostgreSQL one turn of the log's chain lock, for
	// many logins instead of one each. Without it they go to the store one
	// by one.
	Audit AuditRecorder
	// SealFramed seals the requests of login pages in the framed form
	// (sealed.go), which costs about half of JSON's sealing and opening.
	// This release and later ones open both forms, but earlier ones
	// open only JSON: during a rolling upgrade from one of those, a page
	// sealed framed by an upgraded node and posted to an old one would be
	// refused. So JSON is written unless this is set, which an operator
	// does once no node older than this release is left.
	SealFramed bool
}

// AuditRecorder commits access-log entries and returns once they are
// durable (*audit.Writer).
type AuditRecorder interface {
	Record(ctx context.Context, entries ...*cancuoc.AuditEntry) error
}

// Provider is the OpenID provider with its login pages.
type Provider struct {
	cfg      Config
	store    cancuoc.Store
	accounts Accounts
	partners PartnerConsents // consent screen → partner consents (partnerconsent.go); nil: none
	op       *op.Provider
	storage  *storage
	keys     *keyring
	base     string // the issuer's path, without a trailing slash
	pairwise []byte
	cookie   []byte
	sealer   *seal.Sealer // seals the requests login pages carry (sealed.go)
	secure   bool
	handler  http.Handler
	log      *slog.Logger
	clients  clientCache
}

func (c *Config) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.CodeLifetime, time.Minute)
	set(&c.AccessTokenLifetime, 15*time.Minute)
	set(&c.IDTokenLifetime, time.Hour)
	set(&c.RefreshTokenLifetime, 30*24*time.Hour)
	set(&c.LoginLifetime, 10*time.Minute)
	set(&c.SessionLifetime, 30*time.Minute)
	set(&c.KeyRotation, 30*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

func derive(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "cancuoc oidc "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths hkdf cannot produce; 32 always works
	}
	return k
}

// New builds the provider on store, with accounts checking the factors.
func New(store cancuoc.Store, accounts Accounts, cfg Config) (*Provider, error) {
	const op_ = "oidc.New"
	cfg.defaults()
	if len(cfg.Secret) < 32 {
		return nil, cancuoc.InvalidField(op_, "secret", "secret_too_short",
			"Khoá bí mật của máy chủ OpenID phải dài ít nhất 32 byte.", "The OpenID server secret must be at least 32 bytes.")
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(cfg.Insecure && u.Scheme == "http")) || u.RawQuery != "" || u.Fragment != "" {
		return nil, cancuoc.InvalidField(op_, "issuer", "issuer_invalid",
			"Địa chỉ issuer phải là URL https không có truy vấn.", "The issuer must be an https URL without query or fragment.")
	}
	p := &Provider{cfg: cfg, store: store, accounts: accounts, base: strings.TrimSuffix(u.Path, "/"),
		pairwise: derive(cfg.Secret, "pairwise"), cookie: derive(cfg.Secret, "cookie"),
		secure: u.Scheme == "https", log: cfg.Log}
	if p.sealer, err = seal.New(cfg.Secret, "oidc auth request"); err != nil {
		return nil, cancuoc.WithOp(op_, err)
	}
	p.keys, err = newKeyring(store, derive(cfg.Secret, "key sealing"), cfg.Now, cfg.KeyRotation, cfg.IDTokenLifetime+5*time.Minute)
	if err != nil {
		return nil, cancuoc.WithOp(op_, err)
	}
	// The signing keys exist, and are published, before the first token.
	if err := p.keys.ensure(context.Background()); err != nil {
		return nil, cancuoc.WithOp(op_, err)
	}
	p.storage = &storage{p: p}
	var cryptoKey [32]byte
	copy(cryptoKey[:], derive(cfg.Secret, "access token"))
	opCfg := &op.Config{
		CryptoKey:               cryptoKey,
		CryptoKeyId:             "1",
		CodeMethodS256:          true,
		AuthMethodPost:          false,
		AuthMethodPrivateKeyJWT: true,
		GrantTypeRefreshToken:   true,
		SupportedUILocales:      []language.Tag{language.Vietnamese, language.English},
		SupportedScopes:         []string{"openid", "profile", "address", "phone", "offline_access", ScopePID, ScopeAccount, ScopeOrg},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "at_hash", "c_hash",
			"name", "family_name", "given_name", "birthdate", "gender", "address", "phone_number", "phone_number_verified", "pid"},
	}
	// Access tokens and codes sealed by tokenCrypto; zitadel/oidc's formats
	// (its default for CryptoKey) still open, for tokens issued before.
	tokens, err := newTokenCrypto(cfg.Secret,
		op.NewAES256GCMCrypto(cryptoKey, opCfg.CryptoKeyId), op.NewAESDecrypter(cryptoKey))
	if err != nil {
		return nil, cancuoc.WithOp(op_, err)
	}
	opts := []op.Option{op.WithCrypto(tokens)}
	if cfg.Insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(opCfg, p.storage, op.StaticIssuer(strings.TrimSuffix(cfg.Issuer, "/")), opts...)
	if err != nil {
		return nil, cancuoc.WithOp(op_, err)
	}
	p.handler = p.routes()
	return p, nil
}

// Handler serves the provider and its pages. Mount it at the issuer's path
// (e.g. mux.Handle("/oidc/", p.Handler())); it strips that prefix itself.
func (p *Provider) Handler() http.Handler { return p.handler }

// BasePath is the issuer's path where Handler is to be mounted ("" for the
// root).
func (p *Provider) BasePath() string { return p.base }

func (p *Provider) now() time.Time { return p.cfg.Now().UTC().Truncate(time.Microsecond) }

// randomID returns n random bytes, base64url encoded: IDs and secrets that
// cannot be guessed.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashValue(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// errorsAsKind reports whether err is a *cancuoc.Error of kind k.
func errorsAsKind(err error, k cancuoc.Kind) bool {
	var e *cancuoc.Error
	return errors.As(err, &e) && e.Kind == k
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }
