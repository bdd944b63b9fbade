package web

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/wallet"
)

// The web wallet. Documents are bound to the holder's key, whose private
// half never reaches the server: in the portal it is a non-extractable
// P-256 key made by the browser (WebCrypto) and kept in its IndexedDB
// (static/wallet.js). The server lists and shows documents, prepares a
// presentation (the chosen disclosures and the key-binding JWT's signing
// input); the script signs that input and posts the finished presentation
// back, which the server checks and draws as a QR code (SVG). See
// docs/architecture.md, "The web wallet's key".

type documentsPage struct {
	Docs []docRow
	// For is the child whose documents a guardian reads ("" for one's own).
	For      cancuoc.PIN
	Strong   strength
	KeyAdded int // documents reissued to this browser's new key, after adding it (-1: none yet)
}

func (s *Site) portalDocuments(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.account(r, ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg := documentsPage{KeyAdded: -1}
	if f := r.URL.Query().Get("for"); f != "" {
		if pg.For, err = cancuoc.ParsePIN(f, s.now().Year()); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	docs, err := s.portal.more.Wallet.MyDocuments(ctx, acc, pg.For)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg.Docs = docRows(docs)
	if pg.Strong, err = s.strong(ctx, ss, acc); err != nil {
		s.fail(w, r, err)
		return
	}
	if n := r.URL.Query().Get("key"); n != "" {
		if k, err := auditlogInt("key", n); err == nil {
			pg.KeyAdded = int(k)
		}
	}
	v := s.portalView(w, r, ss, "Giấy tờ của tôi")
	v.Data = portalPage{Sub: s.portalSub("/portal/documents"), Data: pg}
	s.render(w, http.StatusOK, "portal_documents.html", v)
}

// docRow is a document in a list, with its issuing agency (the last
// segment of the issuer's URL).
type docRow struct {
	*wallet.DocumentView
	Agency string
}

func docRows(docs []*wallet.DocumentView) []docRow {
	out := make([]docRow, 0, len(docs))
	for _, d := range docs {
		out = append(out, docRow{DocumentView: d, Agency: path.Base(d.Issuer)})
	}
	return out
}

// maxKeyBody bounds the wallet key request (a JWK is well under 1 KB).
const maxKeyBody = 4096

// portalWalletKey registers this browser's public key as the citizen's
// wallet key (JSON {"jwk": …} from static/wallet.js) and answers how many
// documents were reissued to it. It is a sensitive action, like adding a
// factor: documents then follow this key.
func (s *Site) portalWalletKey(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.strongAccount(r, "web.wallet_key", ss)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxKeyBody+1))
	var jwk json.RawMessage
	if err == nil {
		jwk, err = keyBody(raw)
	}
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	_, docs, err := s.portal.more.Wallet.RegisterHolderKey(ctx, acc, "", jwk)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]int{"reissued": len(docs)})
}

// keyBody reads the script's key request, {"jwk": public key}, and checks
// the key (an EC P-256 public JWK) before anything is stored.
func keyBody(raw []byte) (json.RawMessage, error) {
	var body struct {
		JWK json.RawMessage `json:"jwk"`
	}
	if len(raw) > maxKeyBody || json.Unmarshal(raw, &body) != nil {
		return nil, cancuoc.InvalidField("web.wallet_key", "jwk", "body_invalid",
			"Yêu cầu phải là JSON {\"jwk\": khoá công khai}, tối đa 4 KB.", "The request must be JSON {\"jwk\": public key}, 4 KB at most.")
	}
	if _, _, err := wallet.ParseHolderJWK(body.JWK); err != nil {
		return nil, err
	}
	return body.JWK, nil
}

// failJSON answers a script's request with the error's status and its
// messages in both languages.
func (s *Site) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	status, vi, en := http.StatusInternalServerError, "Lỗi hệ thống; vui lòng thử lại sau.", "Internal error; please try again later."
	code := "internal"
	if e, ok := err.(*cancuoc.Error); ok && e.Kind != cancuoc.Internal {
		status, vi, en, code = kindStatus[e.Kind], e.MessageVI, e.MessageEN, e.Code
	} else {
		s.log.Error("web request", "route", r.Pattern, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message_vi": vi, "message_en": en})
}

type documentPage struct {
	Doc      docRow
	Claims   []claimRow
	Nonce    string
	Audience string
}

// claimRow is a claim as the page shows it: its labels and its value as
// text.
type claimRow struct {
	Name, VI, EN, Text string
}

func claimRows(cs []wallet.LabelledClaim) []claimRow {
	out := make([]claimRow, 0, len(cs))
	for _, c := range cs {
		out = append(out, claimRow{Name: c.Name, VI: c.LabelVI, EN: c.LabelEN, Text: claimText(c.Value)})
	}
	return out
}

func (s *Site) portalDocument(w http.ResponseWriter, r *http.Request, ss *session) {
	acc, err := s.account(r, ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.portal.more.Wallet.MyDocument(r.Context(), acc, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, d.NameVI)
	v.Data = portalPage{Sub: s.portalSub("/portal/documents"), Data: documentPage{Doc: docRows([]*wallet.DocumentView{d})[0], Claims: claimRows(d.Claims), Nonce: randomString()[:16], Audience: "kiem-tra-tai-cho"}}
	s.render(w, http.StatusOK, "portal_document.html", v)
}

type presentPage struct {
	ID              string
	Prepared        *wallet.Prepared
	Nonce, Audience string
	Claims          []string
}

// portalPresent prepares a presentation of the ticked claims for the
// verifier (aud) and their nonce; the page's script signs it.
func (s *Site) portalPresent(w http.ResponseWriter, r *http.Request, ss *session) {
	acc, err := s.account(r, ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, errForm)
		return
	}
	claims := r.PostForm["claim"]
	if len(claims) == 0 {
		s.fail(w, r, cancuoc.InvalidField("web.present", "claim", "claims_required",
			"Hãy chọn ít nhất một thông tin để trình bày.", "Tick at least one claim to present."))
		return
	}
	req := wallet.PresentRequest{Claims: claims, Nonce: strings.TrimSpace(r.PostFormValue("nonce")), Audience: strings.TrimSpace(r.PostFormValue("aud"))}
	id := r.PathValue("id")
	p, err := s.portal.more.Wallet.PreparePresentation(r.Context(), acc, id, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Trình bày giấy tờ")
	v.Data = portalPage{Sub: s.portalSub("/portal/documents"), Data: presentPage{ID: id, Prepared: p, Nonce: req.Nonce, Audience: req.Audience, Claims: claims}}
	s.render(w, http.StatusOK, "portal_present.html", v)
}

type qrPage struct {
	ID              string
	Presentation    string
	QR              template.HTML
	Verdict         *wallet.Verdict
	Claims          []claimRow
	Nonce, Audience string
}

// portalQR checks the presentation the browser signed, as a verifier will
// (issuer signature, disclosures, key binding with the nonce and aud,
// status), and draws it as a QR code. A presentation that would not
// verify (a document bound to the phone app's key, not this browser's) is
// shown with the reason instead of a useless code.
func (s *Site) portalQR(w http.ResponseWriter, r *http.Request, ss *session) {
	pres := strings.TrimSpace(r.PostFormValue("presentation"))
	nonce, aud := r.PostFormValue("nonce"), r.PostFormValue("aud")
	ws := s.portal.more.Wallet
	if len(pres) > wallet.MaxQR {
		// More than a QR code holds: refused before any checking work.
		_, err := wallet.QRSVG(pres)
		s.fail(w, r, err)
		return
	}
	pg := qrPage{ID: r.PathValue("id"), Presentation: pres, Nonce: nonce, Audience: aud}
	pg.Verdict = ws.Checker(r.Context()).Check(pres, wallet.Expect{Nonce: nonce, Audience: aud, RequireKB: true})
	pg.Claims = claimRows(pg.Verdict.Claims)
	if pg.Verdict.Valid {
		svg, err := wallet.QRSVG(pres)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Our own drawing of the code, not input: safe to inline.
		pg.QR = template.HTML(svg)
	}
	v := s.portalView(w, r, ss, "Mã QR trình bày")
	v.Data = portalPage{Sub: s.portalSub("/portal/documents"), Data: pg}
	status := http.StatusOK
	if !pg.Verdict.Valid {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, status, "portal_qr.html", v)
}

// claimText shows a claim's value: lists joined, others as text.
func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, p := range x {
			parts = append(parts, claimText(p))
		}
		return strings.Join(parts, ", ")
	case nil:
		return "—"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
