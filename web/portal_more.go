package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/workflow"
)

// PortalServices are the portal's later capabilities, each optional: the
// documents of the wallet, the online birth and death procedures, stay
// notifications as a host. A page is mounted only when its service is.
type PortalServices struct {
	Wallet    *wallet.Service
	Workflow  *workflow.Service
	Residence *residence.Service
	// Audit records a guardian's reading of a child's logins and consents
	// in the child's access log (the other pages' capabilities record
	// their own reads).
	Audit *audit.Writer
}

// WithPortalServices adds the documents, procedures and stays pages to the
// portal (mounted by WithPortal first).
func (s *Site) WithPortalServices(x PortalServices) *Site {
	if s.portal != nil {
		s.portal.more = x
	}
	return s
}

func (s *Site) portalMoreRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal/reauth", s.citizen(s.portalReauth))
	mux.HandleFunc("POST /portal/account/totp", s.citizen(s.portalTOTPBegin))
	mux.HandleFunc("POST /portal/account/totp/confirm", s.citizen(s.portalTOTPConfirm))
	mux.HandleFunc("POST /portal/account/passkey/begin", s.citizen(s.portalPasskeyBegin))
	mux.HandleFunc("POST /portal/account/passkey/finish", s.citizen(s.portalPasskeyFinish))
	mux.HandleFunc("GET /portal/children", s.citizen(s.portalChildren))
	mux.HandleFunc("GET /portal/children/{pin}", s.citizen(s.portalChild))
	if s.portal.more.Wallet != nil {
		mux.HandleFunc("GET /portal/documents", s.citizen(s.portalDocuments))
		mux.HandleFunc("POST /portal/documents/key", s.citizen(s.portalWalletKey))
		mux.HandleFunc("GET /portal/documents/{id}", s.citizen(s.portalDocument))
		mux.HandleFunc("POST /portal/documents/{id}/present", s.citizen(s.portalPresent))
		mux.HandleFunc("POST /portal/documents/{id}/qr", s.citizen(s.portalQR))
	}
	if s.portal.more.Workflow != nil {
		mux.HandleFunc("GET /portal/files", s.citizen(s.portalFiles))
		mux.HandleFunc("GET /portal/files/{id}", s.citizen(s.portalProcedureFile))
		mux.HandleFunc("POST /portal/files/{id}/resubmit", s.citizen(s.portalResubmit))
		mux.HandleFunc("GET /portal/apply/birth", s.citizen(s.portalApplyBirth))
		mux.HandleFunc("POST /portal/apply/birth", s.citizen(s.portalApplyBirth))
		mux.HandleFunc("GET /portal/apply/death", s.citizen(s.portalApplyDeath))
		mux.HandleFunc("POST /portal/apply/death", s.citizen(s.portalApplyDeath))
	}
	if s.portal.more.Residence != nil {
		mux.HandleFunc("GET /portal/stay", s.citizen(s.portalStay))
		mux.HandleFunc("POST /portal/stay", s.citizen(s.portalStay))
	}
}

// portalMoreNav lists the mounted later pages in the portal's navigation.
func (s *Site) portalMoreNav() []navItem {
	var items []navItem
	if s.portal.more.Wallet != nil {
		items = append(items, navItem{Path: "/portal/documents", VI: "Giấy tờ của tôi", EN: "My documents"})
	}
	if s.portal.more.Workflow != nil {
		items = append(items, navItem{Path: "/portal/files", VI: "Hồ sơ thủ tục", EN: "My files"})
	}
	if s.portal.more.Residence != nil {
		items = append(items, navItem{Path: "/portal/stay", VI: "Thông báo lưu trú", EN: "Stay notification"})
	}
	items = append(items, navItem{Path: "/portal/children", VI: "Con của tôi", EN: "My children"})
	return items
}

// portalNext is where a login returns: a portal page named in its state
// (a step-up), never another site.
func portalNext(next string) string {
	if strings.HasPrefix(next, "/portal/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/portal/record"
}

// stepUpAge is how recent a login must be for a sensitive action: adding
// a factor or a wallet key.
const stepUpAge = 10 * time.Minute

// strength is what a session may do among the sensitive actions, and why
// not.
type strength struct {
	OK bool
	// HasFactor: the account has a second factor (TOTP or passkey), so
	// the login must have used one.
	HasFactor bool
	ReasonVI  string
	ReasonEN  string
}

// strong decides whether the session may add a factor or a wallet key.
// With a second factor enrolled, the login must have used one (amr otp,
// mfa, hwk or swk) within stepUpAge. Without one, a password login within
// stepUpAge is enough: there is nothing else to ask for, and a fresh
// password at least defeats a stolen cookie or an unattended browser
// (review: "first passkey addable with password alone" is accepted for the
// first factor only, after a fresh password; see docs/architecture.md).
func (s *Site) strong(ctx context.Context, ss *session, acc *cancuoc.Account) (strength, error) {
	e := s.portal.deps.EID
	totp, err := e.HasTOTP(ctx, acc.ID)
	if err != nil {
		return strength{}, err
	}
	passkey, err := e.HasPasskey(ctx, acc.ID)
	if err != nil {
		return strength{}, err
	}
	st := strength{HasFactor: totp || passkey}
	fresh := !ss.AuthTime.IsZero() && s.now().Sub(ss.AuthTime) <= stepUpAge
	second := slices.ContainsFunc(ss.AMR, func(m string) bool { return slices.Contains([]string{"otp", "mfa", "hwk", "swk"}, m) })
	switch {
	case !fresh:
		st.ReasonVI, st.ReasonEN = "Thao tác này cần đăng nhập lại (trong vòng 10 phút).", "This action needs a fresh login (within 10 minutes)."
	case st.HasFactor && !second:
		st.ReasonVI, st.ReasonEN = "Tài khoản đã có yếu tố xác thực thứ hai: hãy đăng nhập lại bằng mã TOTP hoặc khoá truy cập.",
			"Your account has a second factor: log in again with your TOTP code or passkey."
	default:
		st.OK = true
	}
	return st, nil
}

// strongAccount is the session's account for a sensitive action (op): a
// session that is not strong enough gets a Forbidden error naming the
// reason.
func (s *Site) strongAccount(r *http.Request, op string, ss *session) (*cancuoc.Account, error) {
	acc, err := s.account(r, ss)
	if err != nil {
		return nil, err
	}
	st, err := s.strong(r.Context(), ss, acc)
	if err != nil {
		return nil, err
	}
	if !st.OK {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "step_up_required", st.ReasonVI+" Dùng nút «Xác thực lại».", st.ReasonEN+" Use the “Log in again” button.")
	}
	return acc, nil
}

// portalReauth sends the citizen to the provider for a fresh login
// (prompt=login, max_age=0) that comes back to next.
func (s *Site) portalReauth(w http.ResponseWriter, r *http.Request, ss *session) {
	u, err := s.portal.rp.startNext(s, w, r, portalNext(r.URL.Query().Get("next")),
		oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	if err != nil {
		s.fail(w, r, errProvider(err))
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// account is the session's eID account.
func (s *Site) account(r *http.Request, ss *session) (*cancuoc.Account, error) {
	return s.portal.deps.EID.Account(r.Context(), ss.Account)
}
