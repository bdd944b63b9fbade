package web

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/wallet"
)

// Adding a factor (TOTP, passkey) from the portal. Both are sensitive:
// s.strongAccount wants a recent login, with a second factor when the
// account has one (see strong).

type totpPage struct {
	Enrolment *eid.TOTPEnrolment
	QR        template.HTML
}

// portalTOTPBegin starts a TOTP enrolment and shows the otpauth:// URI as a
// QR code (and the secret to type by hand) with the form for a first code.
func (s *Site) portalTOTPBegin(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.strongAccount(r, "web.totp", ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	en, err := s.portal.deps.EID.BeginTOTP(ctx, acc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svg, err := wallet.QRSVG(en.URI)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Bật mã TOTP")
	// The QR code is our own drawing of the URI, not input: safe to inline.
	v.Data = portalPage{Sub: s.portalSub("/portal/account"), Data: totpPage{Enrolment: en, QR: template.HTML(svg)}}
	s.render(w, http.StatusOK, "portal_totp.html", v)
}

// portalTOTPConfirm finishes the enrolment with a code from the app.
func (s *Site) portalTOTPConfirm(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.strongAccount(r, "web.totp", ss)
	if err == nil {
		err = s.portal.deps.EID.ConfirmTOTP(ctx, acc, r.PostFormValue("challenge_id"), strings.TrimSpace(r.PostFormValue("code")))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/account?added=totp", http.StatusSeeOther)
}

// portalPasskeyBegin starts a passkey registration for static/passkey.js:
// the options for navigator.credentials.create and the challenge's ID.
func (s *Site) portalPasskeyBegin(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.strongAccount(r, "web.passkey", ss)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	reg, err := s.portal.deps.EID.BeginPasskeyRegistration(ctx, acc)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSONPage(w, reg)
}

// portalPasskeyFinish checks the authenticator's answer (the request body)
// and stores the passkey under the name the citizen gave.
func (s *Site) portalPasskeyFinish(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.strongAccount(r, "web.passkey", ss)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	q := r.URL.Query()
	p, err := s.portal.deps.EID.FinishPasskeyRegistration(ctx, acc, q.Get("challenge_id"), q.Get("name"), r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSONPage(w, map[string]string{"id": base64.RawURLEncoding.EncodeToString(p.ID), "name": p.Name})
}

func writeJSONPage(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

type childrenPage struct {
	Children []*cancuoc.Account
}

// portalChildren lists the children whose accounts the citizen manages
// (under 14); each opens to their logins, consents and documents.
func (s *Site) portalChildren(w http.ResponseWriter, r *http.Request, ss *session) {
	acc, err := s.account(r, ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	kids, err := s.portal.deps.EID.Children(r.Context(), acc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Con của tôi")
	v.Data = portalPage{Sub: s.portalSub("/portal/children"), Data: childrenPage{Children: kids}}
	s.render(w, http.StatusOK, "portal_children.html", v)
}

type childPage struct {
	PIN      cancuoc.PIN
	Logins   []*cancuoc.LoginRecord
	Consents []consentView
	Docs     []docRow
	Wallet   bool
}

// portalChild is a guardian's view of one child: ChildLogins checks that
// the citizen still guards the child (under 14, listed as parent or
// representative) before anything else is read, and answers NotFound for
// anyone else's child.
func (s *Site) portalChild(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	acc, err := s.account(r, ss)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pin, err := cancuoc.ParsePIN(r.PathValue("pin"), s.now().Year())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg := childPage{PIN: pin}
	if pg.Logins, err = s.portal.deps.EID.ChildLogins(ctx, acc, pin, 20); err != nil {
		s.fail(w, r, err)
		return
	}
	// The guard holds (ChildLogins checked it): the reading goes into the
	// child's access log before anything is shown.
	if aw := s.portal.more.Audit; aw != nil {
		if err := aw.Record(ctx, &cancuoc.AuditEntry{At: s.now().UTC(), Actor: "account:" + acc.ID, Action: "guardian.read_child", PIN: pin,
			Fields: []string{"logins", "consents"}, Purpose: "Người giám hộ xem tài khoản của trẻ", Outcome: "ok"}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	list, err := s.portal.deps.Consents.Consents(ctx, pin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range list {
		cv := consentView{ClientID: c.ClientID, Name: c.ClientID, Scopes: c.Scopes, Granted: c.GrantedAt, Revoked: c.RevokedAt}
		if cl, err := s.portal.deps.Directory.Client(ctx, c.ClientID); err == nil {
			cv.Name, cv.Purpose = cl.Name, cl.Purpose
		}
		pg.Consents = append(pg.Consents, cv)
	}
	if ws := s.portal.more.Wallet; ws != nil {
		pg.Wallet = true
		docs, err := ws.MyDocuments(ctx, acc, pin)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		pg.Docs = docRows(docs)
	}
	v := s.portalView(w, r, ss, "Con của tôi")
	v.Data = portalPage{Sub: s.portalSub("/portal/children"), Data: pg}
	s.render(w, http.StatusOK, "portal_child.html", v)
}
