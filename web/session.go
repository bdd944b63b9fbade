package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"github.com/cancuoc/cancuoc/internal/json"
	"net/http"
	"net/url"
	"time"

	"github.com/cancuoc/cancuoc"
)

// session is a signed-in user of the portal or the console, sealed
// (AES-GCM) in a cookie. Nonce keys the session's CSRF token. With a
// session store (SiteConfig.Sessions) the session is also a row there,
// keyed by the SHA-256 of ID: any node answers, and the row can end the
// session before the cookie expires (logout, lock, password reset;
// review finding 14).
type session struct {
	PIN       cancuoc.PIN `json:"p"`
	Account   string      `json:"a,omitempty"` // eID account (portal)
	Principal string      `json:"o,omitempty"` // officer principal (console)
	ACR       string      `json:"c,omitempty"`
	AMR       []string    `json:"m,omitempty"`
	AuthTime  time.Time   `json:"t,omitzero"` // when the factors were last entered (auth_time)
	Nonce     string      `json:"n"`
	ID        string      `json:"i,omitempty"` // server-side session's key
	Exp       time.Time   `json:"e"`
}

// sessionTTL is how long a session lasts without a new login.
const sessionTTL = 30 * time.Minute

func (s *Site) aead() cipher.AEAD {
	block, _ := aes.NewCipher(s.key)
	a, _ := cipher.NewGCM(block)
	return a
}

// seal encrypts v for a cookie named name (the name is bound in, so a
// sealed value cannot be moved to another cookie).
func (s *Site) seal(name string, v any) string {
	b, _ := json.Marshal(v)
	a := s.aead()
	nonce := make([]byte, a.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, b, []byte(name)))
}

// open decrypts a sealed cookie value into v; false if it was not sealed
// by this site for this cookie.
func (s *Site) open(name, value string, v any) bool {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	a := s.aead()
	if err != nil || len(raw) < a.NonceSize() {
		return false
	}
	b, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(name))
	return err == nil && json.Unmarshal(b, v) == nil
}

func (s *Site) setCookie(w http.ResponseWriter, name, path, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// startSession seals a new session into the cookie name, valid under path,
// and stores it server-side when the site keeps sessions.
func (s *Site) startSession(w http.ResponseWriter, r *http.Request, name, path string, ss *session) error {
	now := s.now()
	ss.Nonce = randomString()
	ss.Exp = now.Add(sessionTTL)
	if s.sessions != nil {
		ss.ID = randomString()
		at := ss.AuthTime
		if at.IsZero() {
			at = now
		}
		err := s.sessions.InsertLoginSession(r.Context(), &cancuoc.LoginSession{Hash: sessionHash(name, ss.ID), PIN: ss.PIN,
			AccountID: ss.Account, AMR: ss.AMR, AuthTime: at, CreatedAt: now, ExpiresAt: ss.Exp})
		if err != nil {
			return err
		}
	}
	s.setCookie(w, name, path, s.seal(name, ss), int(sessionTTL.Seconds()))
	return nil
}

// sessionHash keys a web session's row. The cookie's name is hashed in so
// that a value can never name a session of another kind, the provider's
// included (whose rows hash the bare cookie value).
func sessionHash(name, id string) []byte {
	h := sha256.Sum256([]byte("cancuoc web session\x00" + name + "\x00" + id))
	return h[:]
}

// readSession returns the session of cookie name, or nil: none, not
// sealed by this site, expired, or ended server-side.
func (s *Site) readSession(r *http.Request, name string) *session {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil
	}
	var ss session
	if !s.open(name, c.Value, &ss) || !s.now().Before(ss.Exp) {
		return nil
	}
	if s.sessions != nil {
		row, err := s.sessions.LoginSession(r.Context(), sessionHash(name, ss.ID))
		if err != nil || ss.ID == "" || row.EndedAt != nil || !s.now().Before(row.ExpiresAt) || row.PIN != ss.PIN {
			return nil
		}
	}
	return &ss
}

// endSession ends ss server-side (logout) and clears its cookie.
func (s *Site) endSession(w http.ResponseWriter, r *http.Request, name, path string, ss *session) {
	s.setCookie(w, name, path, "", -1)
	if s.sessions != nil && ss != nil && ss.ID != "" {
		if err := s.sessions.EndLoginSession(r.Context(), sessionHash(name, ss.ID), s.now()); err != nil {
			s.log.Error("web logout", "err", err)
		}
	}
}

// csrf is the form token of a session: an HMAC of its nonce, which a page
// of another site can neither read nor compute.
func (s *Site) csrf(ss *session) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf\x00" + ss.Nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks a POSTed form's token against the session, or for a
// script's JSON request the X-CSRF-Token header (which another site's page
// cannot set without a preflight this site never allows).
func (s *Site) checkCSRF(r *http.Request, ss *session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return ss != nil && hmac.Equal([]byte(tok), []byte(s.csrf(ss)))
}

var errForm = cancuoc.E(cancuoc.Forbidden, "web.form", "form_expired",
	"Biểu mẫu đã hết hạn hoặc không đến từ trang này. Hãy tải lại trang và thử lại.",
	"The form has expired or did not come from this site. Reload the page and try again.")

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
