package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
)

// storage is op.Storage on our stores.
type storage struct {
	p     *Provider
	codes codeCache
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

type ctxKey int

const (
	keyAlg      ctxKey = iota
	keyFinished        // the *authRequest that issue is finishing
	keyBinding         // the hash of the browser's binding cookie, at authorize
	keyCreated         // **authRequest: where CreateAuthRequest leaves the request it stored, at authorize
)

// withAlg records, for SigningKey, the algorithm the client of the current
// token request wants its ID tokens signed with.
func withAlg(ctx context.Context, alg string) context.Context {
	return context.WithValue(ctx, keyAlg, alg)
}

func (s *storage) Health(ctx context.Context) error { return s.p.store.Ping(ctx) }

// opClient loads a registered client. Unknown and disabled clients are
// plain errors (op answers invalid_client), store failures server errors.
func (s *storage) opClient(ctx context.Context, id string) (*client, error) {
	c, err := s.p.client(ctx, id)
	if err != nil {
		if errorsAsKind(err, cancuoc.NotFound) {
			return nil, errors.New("unknown client")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if c.Disabled {
		return nil, errors.New("client disabled")
	}
	return &client{c: c, login: s.p.base + "/login", idTTL: s.p.cfg.IDTokenLifetime}, nil
}

// GetClientByClientID loads a client.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	return s.opClient(ctx, id)
}

// AuthorizeClientIDSecret checks a client secret in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.opClient(ctx, id)
	if err != nil {
		return err
	}
	if c.c.AuthMethod != cancuoc.ClientAuthSecretBasic || len(c.c.SecretHash) == 0 ||
		subtle.ConstantTimeCompare(hashValue(secret), c.c.SecretHash) != 1 {
		return errors.New("invalid client secret")
	}
	return nil
}

// CreateAuthRequest stores a validated authorization request. PKCE with
// S256 is required of public clients; a confidential client may use it.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, err := s.opClient(ctx, r.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.c.Kind == cancuoc.ClientPublic && r.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required for public clients")
	}
	if !c.c.HasGrant(cancuoc.GrantAuthorizationCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("client is not registered for the authorization code grant")
	}
	d := authDoc{ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State, Nonce: r.Nonce,
		ResponseType: r.ResponseType, ResponseMode: r.ResponseMode, CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod, ACRValues: r.ACRValues, Prompt: r.Prompt, LoginHint: r.LoginHint,
		MaxAge: r.MaxAge, HintSubject: hintSubject}
	for _, l := range r.UILocales {
		d.UILocales = append(d.UILocales, l.String())
	}
	if b, ok := ctx.Value(keyBinding).([]byte); ok {
		d.Browser = b
	}
	// A discoverable passkey ceremony starts with the request, stored in
	// the same insert, so the login page carries its options and the
	// browser need not ask for them (/login/passkey/begin).
	if dp, ok := s.p.accounts.(DiscoverablePasskeys); ok && !slices.Contains(r.Prompt, "none") {
		assertion, session, err := dp.BeginDiscoverablePasskeyLogin()
		if err != nil {
			return nil, err
		}
		if d.PasskeyOptions, err = json.Marshal(assertion); err != nil {
			return nil, err
		}
		d.Passkey = session
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	row := &cancuoc.AuthRequest{ID: randomID(18), ClientID: r.ClientID, CreatedAt: now,
		ExpiresAt: now.Add(s.p.cfg.LoginLifetime), Doc: doc}
	a := &authRequest{id: row.ID, d: d, row: row}
	if slot, ok := ctx.Value(keyCreated).(**authRequest); ok {
		// authorize answers with its login page (login.go), which carries
		// the request sealed: nothing is stored, nor committed, until a
		// step changes it (sealed.go).
		a.sealed = true
		*slot = a
		return a, nil
	}
	if err := s.p.store.InsertAuthRequest(ctx, row); err != nil {
		return nil, err
	}
	return a, nil
}

func decodeAuthRequest(row *cancuoc.AuthRequest) (*authRequest, error) {
	a := &authRequest{id: row.ID, pin: row.PIN, row: row}
	if err := json.Unmarshal(row.Doc, &a.d); err != nil {
		return nil, cancuoc.WithOp("oidc.decodeAuthRequest", err)
	}
	return a, nil
}

// authRequest loads a request that has not expired.
func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	row, err := s.p.store.AuthRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.p.now().Before(row.ExpiresAt) {
		return nil, errLoginExpired
	}
	return decodeAuthRequest(row)
}

// saveAuthRequest writes back a request's progress, only if no other
// write changed the request since it was read (SwapAuthRequest): of two
// requests racing through the same step, such as finishing one passkey
// ceremony twice, one takes effect and the other gets Conflict. A request
// still sealed (sealed.go) is inserted instead, and its ID, the primary
// key, lets only the first of two uses of the sealed form take effect: the
// other gets errLoginUsed.
func (s *storage) saveAuthRequest(ctx context.Context, tx cancuoc.Tx, a *authRequest) error {
	doc, err := json.Marshal(a.d)
	if err != nil {
		return err
	}
	prev := a.row.Doc
	a.row.PIN, a.row.Doc = a.pin, doc
	if a.sealed {
		if err := tx.InsertAuthRequest(ctx, a.row); err != nil {
			a.row.Doc = prev
			if errorsAsKind(err, cancuoc.Conflict) {
				return errLoginUsed
			}
			return err
		}
		a.sealed = false
		return nil
	}
	if err := tx.SwapAuthRequest(ctx, a.row, prev); err != nil {
		a.row.Doc = prev
		return err
	}
	return nil
}

// commitAuthRequest saves a request's progress together with the fresh
// login's records waiting in a.login, in one transaction: they commit
// together or not at all, and a login that lost the race for its step
// (saveAuthRequest) records nothing.
func (s *storage) commitAuthRequest(ctx context.Context, a *authRequest) error {
	if a.login == nil {
		return s.saveAuthRequest(ctx, s.p.store, a)
	}
	// The records first, the compare-and-swap last: the records need no
	// answer, so on PostgreSQL they wait and go with the swap in one round
	// trip (postgres/pipetx.go). A swap that loses rolls them back with it;
	// so does the insert of a sealed request whose ID is taken.
	sealed, prev := a.sealed, a.row.Doc
	err := s.p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := s.p.writeLoginTx(ctx, tx, a.login); err != nil {
			return err
		}
		return s.saveAuthRequest(ctx, tx, a)
	})
	if err != nil {
		if sealed && errorsAsKind(err, cancuoc.Conflict) {
			err = errLoginUsed // the insert's failure may surface at COMMIT (pipetx.go)
		}
		a.sealed, a.row.Doc = sealed, prev // nothing was stored
		return err
	}
	a.login = nil
	return nil
}

// AuthRequestByID loads a request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

// AuthRequestByCode finds the request of a code, which is exchanged at most
// once: the code is claimed (ClaimAuthCode) in the transaction that stores
// the tokens (claimCode), so the claim costs no commit of its own. A code
// presented again revokes what was issued for it (RFC 6749, section
// 4.1.2), and an expired code is refused.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	hash := hashValue(code)
	row := s.codes.take(hash)
	if row == nil {
		var err error
		if row, err = s.p.store.AuthRequestByCodeHash(ctx, hash); err != nil {
			return nil, err
		}
	}
	if row.CodeUsed {
		return nil, s.codeReplayed(ctx, row)
	}
	a, err := decodeAuthRequest(row)
	if err != nil {
		return nil, err
	}
	if !s.p.now().Before(a.d.CodeAt.Add(s.p.cfg.CodeLifetime)) {
		return nil, errors.New("authorization code expired")
	}
	if a.d.Step != stepDone {
		return nil, errors.New("login not finished")
	}
	return a, nil
}

// codeReplayed revokes the tokens issued for a request whose code came
// back, records it, and returns the refusal.
func (s *storage) codeReplayed(ctx context.Context, row *cancuoc.AuthRequest) error {
	if err := s.p.store.RevokeTokens(ctx, "", row.ID, s.p.now()); err != nil {
		return err
	}
	s.p.auditEntry(ctx, s.p.store, row.PIN, "oidc.code_replay", row.ClientID, nil, "code_replayed")
	return cancuoc.E(cancuoc.Conflict, "oidc.AuthRequestByCode", "code_used", "Mã xác thực đã được sử dụng.", "The authorization code was already used.")
}

// claimCode claims the code of the request a token is issued for, in the
// token's transaction; a code claimed meanwhile by a racing exchange is a
// replay (replayedCode; the caller revokes, after the transaction, with
// codeReplayed). The request was read already (AuthRequestByCode), so the
// claim returns nothing, and on PostgreSQL goes to the server with the
// token and the COMMIT in one round trip; its refusal may then come from
// the transaction's end rather than from this call.
func claimCode(ctx context.Context, tx cancuoc.Tx, req op.TokenRequest) error {
	a, ok := req.(*authRequest)
	if !ok {
		return nil
	}
	return tx.UseAuthCode(ctx, a.row.CodeHash)
}

// replayedCode is the request whose code the token's transaction found
// used (err, from claimCode or the transaction's end), else nil.
func replayedCode(req op.TokenRequest, err error) *cancuoc.AuthRequest {
	a, ok := req.(*authRequest)
	var e *cancuoc.Error
	if !ok || !errors.As(err, &e) || e.Kind != cancuoc.Conflict || e.Code != "code_used" {
		return nil
	}
	return a.row
}

// SaveAuthCode stores the hash of the code issued for a request; the code
// itself is never stored.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	a, ok := ctx.Value(keyFinished).(*authRequest)
	if !ok || a.id != id || a.d.Step != stepDone {
		// Only the consent step finishes requests (the callback endpoint
		// that would let op do it is disabled).
		return errors.New("authorization request not finished by this provider")
	}
	a.d.CodeAt = s.p.now()
	a.row.CodeHash = hashValue(code)
	// A fresh login: its records (the login, the session, the passkey's
	// counter) commit with the code, or nothing does.
	if err := s.commitAuthRequest(ctx, a); err != nil {
		a.row.CodeHash = nil
		return err
	}
	s.codes.put(a.row, a.d.CodeAt.Add(s.p.cfg.CodeLifetime), s.p.now())
	return nil
}

// codeCache keeps, for the token request that normally follows within a
// second, the requests whose codes this node issued, as committed: the
// exchange then finds its request without a read of the store (on
// PostgreSQL a round trip and a statement per login). It only spares that
// read. The code's single use is still the claim in the token's
// transaction (claimCode), which refuses a code used meanwhile, on this
// node or another, as a replay; an entry is taken out at its first use, so
// a code presented again is looked up in the store, which knows it used;
// a code issued by another node, or before a restart, is not here and is
// read as before. Entries leave at their code's expiry; the cache holds at
// most codeCacheMax, beyond which codes are not kept (read as before).
// One thing is weaker with several nodes: a code exchanged at another node
// and then presented here, by someone without the client's credentials or
// the PKCE verifier, finds its entry and fails those checks as a plain
// invalid_grant, so the tokens of the first exchange are not revoked as for
// a replay (RFC 6749 §4.1.2 asks that they should be); whoever has both is
// caught by the claim, which revokes.
type codeCache struct {
	mu sync.Mutex
	m  map[string]cachedCode
}

type cachedCode struct {
	row     cancuoc.AuthRequest
	expires time.Time
}

const codeCacheMax = 4096 // a few seconds of logins at 1,000/s; about 6 MB at most

// put keeps a copy of row, whose code hash is set and whose code expires
// at exp, the request having been committed with it.
func (c *codeCache) put(row *cancuoc.AuthRequest, exp, now time.Time) {
	if len(row.CodeHash) == 0 {
		return
	}
	cp := *row
	cp.CodeUsed = false
	cp.CodeHash = slices.Clone(row.CodeHash)
	cp.Doc = slices.Clone(row.Doc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedCode{}
	}
	if len(c.m) >= codeCacheMax {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= codeCacheMax {
			return
		}
	}
	c.m[string(cp.CodeHash)] = cachedCode{row: cp, expires: exp}
}

// take returns the request of a code hash and forgets it, or nil.
func (c *codeCache) take(hash []byte) *cancuoc.AuthRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok {
		return nil
	}
	delete(c.m, string(hash))
	return &e.row
}

// DeleteAuthRequest is called once tokens are issued for a request. The
// row is kept (its code is already marked used) until it expires, so that a
// replayed code is recognised and revokes the tokens.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error { return nil }

// tokenRequestFields pulls what a token row needs from any token request.
func (s *storage) tokenFields(ctx context.Context, req op.TokenRequest) (pin cancuoc.PIN, clientID, authReqID string, d tokenDoc, err error) {
	d = tokenDoc{Subject: req.GetSubject(), Scopes: req.GetScopes(), Audience: req.GetAudience()}
	switch r := req.(type) {
	case *authRequest:
		pin, clientID, authReqID = r.pin, r.d.ClientID, r.id
		d.AMR, d.Level, d.AuthTime, d.Org = r.d.AMR, r.d.Level, r.d.AuthTime, r.d.Org
	case *refreshRequest:
		pin, clientID, authReqID = r.tok.PIN, r.tok.ClientID, r.tok.AuthRequestID
		d.AMR, d.Level, d.AuthTime, d.Org = r.d.AMR, r.d.Level, r.d.AuthTime, r.d.Org
	case *ccRequest:
		clientID, d.Partner = r.clientID, r.partnerID
	default:
		return "", "", "", d, fmt.Errorf("unsupported token request %T", req)
	}
	return pin, clientID, authReqID, d, nil
}

// CreateAccessToken issues an access token (no refresh token).
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	pin, clientID, authReqID, d, err := s.tokenFields(ctx, req)
	if err != nil {
		return "", time.Time{}, err
	}
	// The code's claim, the token and its access-log entry: one
	// transaction, so the entry is durable when the token is and neither
	// exists without the other. (The entry used to go through the group
	// commit first, a commit of its own; on PostgreSQL the token's
	// transaction now carries it and the token to the server with its
	// COMMIT, postgres/pipetx.go.)
	var (
		id  string
		exp time.Time
	)
	err = s.p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := claimCode(ctx, tx, req); err != nil {
			return err
		}
		var err error
		id, exp, err = s.insertAccess(ctx, tx, pin, clientID, authReqID, d)
		return err
	})
	if replayed := replayedCode(req, err); replayed != nil {
		return "", time.Time{}, s.codeReplayed(ctx, replayed)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return id, exp, nil
}

// accessToken builds an access token's row.
func (s *storage) accessToken(pin cancuoc.PIN, clientID, authReqID string, d tokenDoc) (*cancuoc.Token, error) {
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	now := s.p.now()
	return &cancuoc.Token{ID: randomID(18), Kind: cancuoc.TokenAccess, AuthRequestID: authReqID, ClientID: clientID, PIN: pin,
		CreatedAt: now, ExpiresAt: now.Add(s.p.cfg.AccessTokenLifetime), Doc: doc}, nil
}

// insertAccess writes an access token and its entry in tx.
func (s *storage) insertAccess(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, clientID, authReqID string, d tokenDoc) (string, time.Time, error) {
	t, err := s.accessToken(pin, clientID, authReqID, d)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := tx.InsertToken(ctx, t); err != nil {
		return "", time.Time{}, err
	}
	if err := s.p.auditEntry(ctx, tx, pin, "oidc.token", clientID, claimNames(d.Scopes), "ok"); err != nil {
		return "", time.Time{}, err
	}
	return t.ID, t.ExpiresAt, nil
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token.
// Given the refresh token being exchanged, it rotates it: the old one is
// marked used in the same transaction, and if it was used already (two
// exchanges racing, or a stolen token replayed) the whole family is revoked.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	pin, clientID, authReqID, d, err := s.tokenFields(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var (
		accessID, refresh string
		exp               time.Time
		reused            *cancuoc.Token
	)
	err = s.p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := claimCode(ctx, tx, req); err != nil {
			return err
		}
		family := randomID(12)
		if current != "" {
			old, err := tx.TokenByHash(ctx, hashValue(current))
			if err != nil {
				return op.ErrInvalidRefreshToken
			}
			if err := tx.UseToken(ctx, old.ID, s.p.now()); err != nil {
				if errorsAsKind(err, cancuoc.Conflict) {
					reused = old
					return err
				}
				return err
			}
			family = old.Family
		}
		if accessID, exp, err = s.insertAccess(ctx, tx, pin, clientID, authReqID, d); err != nil {
			return err
		}
		doc, err := json.Marshal(d)
		if err != nil {
			return err
		}
		refresh = randomID(32)
		now := s.p.now()
		return tx.InsertToken(ctx, &cancuoc.Token{ID: randomID(18), Kind: cancuoc.TokenRefresh, Hash: hashValue(refresh),
			Family: family, AuthRequestID: authReqID, ClientID: clientID, PIN: pin, CreatedAt: now,
			ExpiresAt: now.Add(s.p.cfg.RefreshTokenLifetime), Doc: doc})
	})
	if replayed := replayedCode(req, err); replayed != nil {
		return "", "", time.Time{}, s.codeReplayed(ctx, replayed)
	}
	if reused != nil {
		s.revokeFamily(ctx, reused)
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token reused; the login's tokens are revoked")
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return accessID, refresh, exp, nil
}

// revokeFamily ends every token of a login whose refresh token was reused.
func (s *storage) revokeFamily(ctx context.Context, t *cancuoc.Token) {
	if err := s.p.store.RevokeTokens(ctx, t.Family, "", s.p.now()); err != nil {
		s.p.log.Error("revoking a reused refresh token family", "err", err)
	}
	// The access tokens of the family share its authorization request.
	if t.AuthRequestID != "" {
		if err := s.p.store.RevokeTokens(ctx, "", t.AuthRequestID, s.p.now()); err != nil {
			s.p.log.Error("revoking a reused refresh token's access tokens", "err", err)
		}
	}
	s.p.auditEntry(ctx, s.p.store, t.PIN, "oidc.refresh_reuse", t.ClientID, nil, "refresh_token_reused")
}

// TokenRequestByRefreshToken looks a refresh token up. A token already
// rotated is a reuse: the family is revoked.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.p.store.TokenByHash(ctx, hashValue(token))
	if err != nil {
		if errorsAsKind(err, cancuoc.NotFound) {
			return nil, op.ErrInvalidRefreshToken
		}
		return nil, err
	}
	if t.Kind != cancuoc.TokenRefresh {
		return nil, op.ErrInvalidRefreshToken
	}
	if t.UsedAt != nil && t.RevokedAt == nil {
		s.revokeFamily(ctx, t)
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token reused; the login's tokens are revoked")
	}
	if t.RevokedAt != nil || !s.p.now().Before(t.ExpiresAt) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token revoked or expired")
	}
	r := &refreshRequest{tok: t}
	if err := json.Unmarshal(t.Doc, &r.d); err != nil {
		return nil, err
	}
	// A closed or suspended account gets no new tokens.
	if acc, err := s.p.accounts.AccountByPIN(ctx, t.PIN); err != nil || acc.Status != cancuoc.AccountActive {
		return nil, oidc.ErrInvalidGrant().WithDescription("account not active")
	}
	return r, nil
}

// TerminateSession is the RP-initiated logout: the provider's session
// cookie is cleared by the handler; tokens stay until they expire or are
// revoked, as the specification leaves them.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error { return nil }

// RevokeToken revokes an access token, or a refresh token with its family.
// A token of another client is refused; an unknown token is not an error
// (RFC 7009, section 2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenID, userID, clientID string) *oidc.Error {
	t, err := s.p.store.Token(ctx, tokenID)
	if err != nil {
		if errorsAsKind(err, cancuoc.NotFound) {
			return nil
		}
		return oidc.ErrServerError().WithParent(err)
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token issued to another client")
	}
	now := s.p.now()
	if t.Kind == cancuoc.TokenRefresh {
		err = s.p.store.RevokeTokens(ctx, t.Family, "", now)
	} else {
		err = s.p.store.RevokeToken(ctx, t.ID, now)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// GetRefreshTokenInfo maps a refresh token to its row ID, for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.p.store.TokenByHash(ctx, hashValue(token))
	if err != nil || t.Kind != cancuoc.TokenRefresh {
		return "", "", op.ErrInvalidRefreshToken
	}
	var d tokenDoc
	_ = json.Unmarshal(t.Doc, &d)
	return d.Subject, t.ID, nil
}

// SigningKey is the key for the current token request's client: ES256
// unless the client is registered for RS256.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg, _ := ctx.Value(keyAlg).(string)
	if alg != AlgRS256 {
		alg = AlgES256
	}
	return s.p.keys.signing(ctx, alg)
}

// SignatureAlgorithms lists the ID token algorithms, for discovery.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, nil
}

// KeySet is the published keys (JWKS), retired ones left out.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.p.keys.published(ctx) }

// SetUserinfoFromScopes is unused: SetUserinfoFromRequest has the request,
// and so the citizen.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills ID token claims. Only the subject and the
// scopes that carry no personal data reach ID tokens (see
// IDTokenUserinfoClaimsAssertion); pid is never put in an ID token.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	ui.Subject = req.GetSubject()
	// The org claim (org.go), confirmed again now.
	switch r := req.(type) {
	case *authRequest:
		if o := s.p.orgClaim(ctx, r.pin, r.d.AccountID, r.d.Org); o != nil {
			ui.AppendClaims(ScopeOrg, o)
		}
	case *refreshRequest:
		if o := s.p.orgClaim(ctx, r.tok.PIN, "", r.d.Org); o != nil {
			ui.AppendClaims(ScopeOrg, o)
		}
	}
	return nil
}

// activeToken loads an access token that is neither revoked nor expired.
func (s *storage) activeToken(ctx context.Context, id string) (*cancuoc.Token, tokenDoc, error) {
	var d tokenDoc
	t, err := s.p.store.Token(ctx, id)
	if err != nil {
		return nil, d, err
	}
	if d, err = s.checkActive(t); err != nil {
		return nil, d, err
	}
	return t, d, nil
}

// checkActive refuses a token that is not an access token, or revoked, or
// expired, and decodes the document of one that is.
func (s *storage) checkActive(t *cancuoc.Token) (tokenDoc, error) {
	var d tokenDoc
	if t.Kind != cancuoc.TokenAccess || t.RevokedAt != nil || !s.p.now().Before(t.ExpiresAt) {
		return d, errors.New("token inactive")
	}
	err := json.Unmarshal(t.Doc, &d)
	return d, err
}

// SetUserinfoFromToken answers userinfo: the claims of the token's scopes,
// read from the registry now, and an access record on the citizen. The
// token and its citizen's record are read together (TokenCitizen); the
// record is only decoded, and its claims only released, once the token
// has been found active and its subject the caller's.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	t, doc, err := s.p.store.TokenCitizen(ctx, tokenID)
	if err != nil {
		return err
	}
	d, err := s.checkActive(t)
	if err != nil {
		return err
	}
	if d.Subject != subject {
		return errors.New("token subject mismatch")
	}
	c, err := s.p.client(ctx, t.ClientID)
	if err != nil {
		return err
	}
	return s.p.fillClaims(ctx, ui, t.PIN, doc, c, d)
}

// SetIntrospectionFromToken answers a resource server: active tokens of the
// calling client (or addressed to it) are described, without personal data.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, d, err := s.activeToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if t.ClientID != clientID && !slices.Contains(d.Audience, clientID) {
		return errors.New("token of another client")
	}
	resp.Active = true
	resp.Scope = d.Scopes
	resp.ClientID = t.ClientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.ExpiresAt)
	resp.IssuedAt = oidc.FromTime(t.CreatedAt)
	resp.AuthTime = oidc.FromTime(d.AuthTime)
	resp.Audience = d.Audience
	resp.Issuer = s.p.cfg.Issuer
	resp.Subject = d.Subject
	resp.JWTID = t.ID
	resp.AuthenticationMethodsReferences = d.AMR
	resp.Claims = map[string]any{"acr": acrOf(d.Level)}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing to (JWT) access tokens.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID returns a client's public key for private_key_jwt.
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.p.client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c.Disabled || c.AuthMethod != cancuoc.ClientAuthPrivateKeyJWT || len(c.JWKS) == 0 {
		return nil, errors.New("client has no keys")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(c.JWKS, &set); err != nil {
		return nil, err
	}
	for _, k := range set.Key(keyID) {
		if k.IsPublic() {
			return &k, nil
		}
	}
	return nil, errors.New("no such key")
}

// ValidateJWTProfileScopes: the JWT bearer grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("jwt profile grant not supported")
}

// sameRedirectOrigin reports whether two URIs share scheme and host, used
// for the sector of a client without one.
func sectorOf(c *cancuoc.Client) string {
	if c.Sector != "" {
		return c.Sector
	}
	if len(c.RedirectURIs) > 0 {
		if u, err := url.Parse(c.RedirectURIs[0]); err == nil {
			return u.Host
		}
	}
	return c.ID
}
