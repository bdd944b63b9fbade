package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/cancuoc/cancuoc"
)

// session is a signed-in user of the portal or the console, sealed
// (AES-GCM) in a cookie: nothing is kept on the server, so any node
// answers. Nonce keys the session's CSRF token.
type session struct {
	PIN       cancuoc.PIN `json:"p"`
	Account   string      `json:"a,omitempty"` // eID account (portal)
	Principal string      `json:"o,omitempty"` // officer principal (console)
	ACR       string      `json:"c,omitempty"`
	AMR       []string    `json:"m,omitempty"`
	Nonce     string      `json:"n"`
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

// startSession seals a new session into the cookie name, valid under path.
func (s *Site) startSession(w http.ResponseWriter, name, path string, ss *session) {
	ss.Nonce = randomString()
	ss.Exp = s.now().Add(sessionTTL)
	s.setCookie(w, name, path, s.seal(name, ss), int(sessionTTL.Seconds()))
}

// readSession returns the session of cookie name, or nil.
func (s *Site) readSession(r *http.Request, name string) *session {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil
	}
	var ss session
	if !s.open(name, c.Value, &ss) || !s.now().Before(ss.Exp) {
		return nil
	}
	return &ss
}

// csrf is the form token of a session: an HMAC of its nonce, which a page
// of another site can neither read nor compute.
func (s *Site) csrf(ss *session) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00" + ss.Nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks a POSTed form's token against the session.
func (s *Site) checkCSRF(r *http.Request, ss *session) bool {
	return ss != nil && hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf(ss)))
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
