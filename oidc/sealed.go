package oidc

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// A request is not stored at /authorize. It travels sealed in its login
// page instead (the form field "ar"): AES-256-GCM (package seal, the request's ID
// as associated data) under a key derived from the server secret, so the browser can neither read nor change it, and
// bound to the browser's cookie as the stored request is (authDoc.Browser,
// and the CSRF token, an HMAC of the request's ID and that cookie). The
// step that first changes it inserts it (saveAuthRequest): the passkey
// login in its own transaction, already finished, so that a login costs
// no commit and no read for its request; its ID is the insert's primary
// key, so a second use of the same sealed request (a replay, or two tabs
// racing) fails on the key and its transaction commits nothing. Until
// then nothing stored names it: AuthRequestByID (op's callback, which is
// disabled) does not know it, and the other steps (request) look the
// store up first and use the sealed form only when it holds nothing.

// sealedField is the form (and query) field carrying a sealed request.
const sealedField = "ar"

// maxSealed bounds the sealed form accepted: a request with its
// discoverable ceremony seals to about 1.5 KB.
const maxSealed = 16 << 10

// sealedRequest is a request's row sealed as JSON: what earlier versions
// write and read, and what seal writes unless Config.SealFramed is set.
type sealedRequest struct {
	ID       string          `json:"i"`
	ClientID string          `json:"c"`
	Created  int64           `json:"t"` // Unix microseconds
	Expires  int64           `json:"e"`
	Doc      json.RawMessage `json:"d"`
}

// sealedV1 starts a request's row sealed framed (Config.SealFramed): the version byte, the ID
// and the client ID each after its length (uvarint), the creation and
// expiry times (Unix microseconds, 8 bytes each, big-endian), then the
// request's document as stored. Framed by hand rather than as JSON, whose
// encoding validated and compacted the document (about 800 bytes, already
// JSON) at every login page, and whose decoding scanned it once more
// before decodeAuthRequest decoded it. A JSON row starts with '{'.
const sealedV1 = 1

// seal returns the sealed form of a request not yet stored: framed where
// Config.SealFramed says every node reads that form, JSON otherwise.
func (p *Provider) seal(a *authRequest) (string, error) {
	row := a.row
	var pt []byte
	if p.cfg.SealFramed {
		pt = make([]byte, 0, 1+2*binary.MaxVarintLen64+len(row.ID)+len(row.ClientID)+16+len(row.Doc))
		pt = append(pt, sealedV1)
		pt = binary.AppendUvarint(pt, uint64(len(row.ID)))
		pt = append(pt, row.ID...)
		pt = binary.AppendUvarint(pt, uint64(len(row.ClientID)))
		pt = append(pt, row.ClientID...)
		pt = binary.BigEndian.AppendUint64(pt, uint64(row.CreatedAt.UnixMicro()))
		pt = binary.BigEndian.AppendUint64(pt, uint64(row.ExpiresAt.UnixMicro()))
		pt = append(pt, row.Doc...)
	} else {
		var err error
		if pt, err = json.Marshal(sealedRequest{ID: row.ID, ClientID: row.ClientID,
			Created: row.CreatedAt.UnixMicro(), Expires: row.ExpiresAt.UnixMicro(), Doc: row.Doc}); err != nil {
			return "", err
		}
	}
	ct, err := p.sealer.Seal(row.ID, pt)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(ct), nil
}

// openSealed reads a sealed row (either form); ok false if it is malformed.
func openSealed(pt []byte) (s sealedRequest, ok bool) {
	if len(pt) > 0 && pt[0] == '{' {
		return s, json.Unmarshal(pt, &s) == nil
	}
	if len(pt) == 0 || pt[0] != sealedV1 {
		return s, false
	}
	rest := pt[1:]
	field := func() (string, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return "", false
		}
		v := string(rest[k : k+int(n)])
		rest = rest[k+int(n):]
		return v, true
	}
	var idOK, clientOK bool
	if s.ID, idOK = field(); !idOK {
		return s, false
	}
	if s.ClientID, clientOK = field(); !clientOK || len(rest) < 16 {
		return s, false
	}
	s.Created, s.Expires = int64(binary.BigEndian.Uint64(rest)), int64(binary.BigEndian.Uint64(rest[8:]))
	s.Doc = rest[16:]
	return s, true
}

var errSealed = cancuoc.E(cancuoc.Forbidden, "oidc.login", "login_invalid",
	"Biểu mẫu đăng nhập không hợp lệ hoặc đã bị thay đổi. Hãy quay lại dịch vụ và thử lại.",
	"The login form is invalid or was altered. Go back to the service and try again.")

var errLoginExpired = cancuoc.E(cancuoc.NotFound, "oidc.authRequest", "login_expired",
	"Phiên đăng nhập đã hết hạn; hãy quay lại dịch vụ và thử lại.", "The login has expired; go back to the service and try again.")

// errLoginUsed answers a sealed request presented again after a step
// stored it: its insert found its ID taken.
var errLoginUsed = cancuoc.E(cancuoc.Conflict, "oidc.login", "login_used",
	"Lượt đăng nhập này đã được dùng. Hãy quay lại dịch vụ và thử lại.",
	"This login was already used. Go back to the service and try again.")

// unseal opens a sealed request named id: refused when it does not open
// (forged, altered, or sealed under another secret), names another
// request, or has expired. Whose browser it is, the caller checks, as for
// a stored request.
func (p *Provider) unseal(id, sealed string) (*authRequest, error) {
	if len(sealed) > maxSealed {
		return nil, errSealed
	}
	ct, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return nil, errSealed
	}
	pt, err := p.sealer.Open(id, ct)
	if err != nil {
		return nil, errSealed
	}
	s, ok := openSealed(pt)
	if !ok || s.ID == "" || subtle.ConstantTimeCompare([]byte(s.ID), []byte(id)) != 1 {
		return nil, errSealed
	}
	row := &cancuoc.AuthRequest{ID: s.ID, ClientID: s.ClientID, CreatedAt: time.UnixMicro(s.Created).UTC(),
		ExpiresAt: time.UnixMicro(s.Expires).UTC(), Doc: s.Doc}
	if !p.now().Before(row.ExpiresAt) {
		return nil, errLoginExpired
	}
	a, err := decodeAuthRequest(row)
	if err != nil || a.d.ClientID != row.ClientID {
		return nil, errSealed
	}
	a.sealed = true
	return a, nil
}
