package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/wallet"
)

// WithWallet gives the API the wallet service, which serves the wallet,
// document and verification routes; without it they answer 503.
func (a *API) WithWallet(s *wallet.Service) *API {
	a.wallet = s
	return a
}

// walletRoutes registers the document routes: publication (issuer
// metadata, type metadata, status lists: public and cacheable, what a
// verifier needs), issuance for agencies (API keys) and partners (their
// client-credentials tokens, policy operation issue_documents), the holder's wallet
// (HTTP Basic, as the other citizen routes), and verification.
func (a *API) walletRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/jwt-vc-issuer/issuers/{agency}", a.walletOn(a.issuerMetadata))
	mux.HandleFunc("GET /vct/{type}", a.walletOn(a.typeMetadata))
	mux.HandleFunc("GET /statuslists/{agency}/{list}", a.walletOn(a.statusList))
	mux.HandleFunc("GET /v1/wallet/types", a.walletOn(a.walletTypes))

	mux.HandleFunc("POST /v1/documents", a.walletOn(a.staffOrPartner(a.issueDocument)))
	mux.HandleFunc("POST /v1/documents/{id}/reissue", a.walletOn(a.staffOrPartner(a.reissueDocument)))
	mux.HandleFunc("POST /v1/documents/{id}/status", a.walletOn(a.staffOrPartner(a.documentStatus)))

	mux.HandleFunc("GET /v1/wallet/documents", a.walletOn(a.citizen(a.myDocuments)))
	mux.HandleFunc("GET /v1/wallet/documents/{id}", a.walletOn(a.citizen(a.myDocument)))
	mux.HandleFunc("PUT /v1/wallet/key", a.walletOn(a.citizenStrong(a.registerWalletKey)))
	mux.HandleFunc("POST /v1/wallet/documents/{id}/presentations", a.walletOn(a.citizen(a.preparePresentation)))
	mux.HandleFunc("POST /v1/wallet/qr", a.walletOn(a.citizen(a.presentationQR)))

	mux.HandleFunc("POST /v1/verify/documents", a.walletOn(a.verifyDocument))
	mux.HandleFunc("POST /v1/verify/requests", a.walletOn(a.authed(a.createVPRequest)))
	mux.HandleFunc("GET /v1/verify/requests/{id}", a.walletOn(a.vpRequest))
	mux.HandleFunc("POST /v1/verify/requests/{id}/response", a.walletOn(a.vpResponse))
	mux.HandleFunc("GET /v1/verify/requests/{id}/result", a.walletOn(a.authed(a.vpResult)))
	mux.HandleFunc("DELETE /v1/verify/requests/{id}", a.walletOn(a.authed(a.vpCancel)))
}

var errNoWallet = cancuoc.E(cancuoc.Unavailable, "httpapi.wallet", "wallet_unavailable",
	"Dịch vụ ví giấy tờ chưa được bật.", "The document wallet service is not enabled.")

func (a *API) walletOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.wallet == nil {
			a.fail(w, r, errNoWallet)
			return
		}
		h(w, r)
	}
}

func (a *API) issuerMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := a.wallet.Metadata(r.Context(), r.PathValue("agency"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, m)
}

func (a *API) typeMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := a.wallet.TypeMetadataOf(r.PathValue("type"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, m)
}

func (a *API) statusList(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("list"), 10, 64)
	if err != nil {
		a.fail(w, r, cancuoc.E(cancuoc.NotFound, "httpapi.statusList", "status_list_unknown", "Không có danh sách trạng thái này.", "No such status list."))
		return
	}
	tok, ttl, err := a.wallet.StatusListToken(r.Context(), r.PathValue("agency"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/statuslist+jwt")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(ttl/time.Second)))
	_, _ = io.WriteString(w, tok)
}

func (a *API) walletTypes(w http.ResponseWriter, r *http.Request) {
	out := []*wallet.DocType{}
	for _, id := range wallet.TypeIDs() {
		out = append(out, wallet.Types[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"types": out})
}

func (a *API) issueDocument(w http.ResponseWriter, r *http.Request) {
	var req wallet.IssueRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.wallet.Issue(r.Context(), principal(r.Context()), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/documents/"+d.ID)
	writeJSON(w, http.StatusCreated, d)
}

type reissueRequest struct {
	Claims map[string]any `json:"claims,omitempty"`
}

func (a *API) reissueDocument(w http.ResponseWriter, r *http.Request) {
	var req reissueRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.wallet.Reissue(r.Context(), principal(r.Context()), r.PathValue("id"), req.Claims)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

type statusRequest struct {
	Status cancuoc.DocumentStatus `json:"status"`
	Reason string                 `json:"reason"`
}

func (a *API) documentStatus(w http.ResponseWriter, r *http.Request) {
	var req statusRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.wallet.SetStatus(r.Context(), principal(r.Context()), r.PathValue("id"), req.Status, req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// forParam reads ?for=PIN: a guardian acting for a child.
func forParam(r *http.Request) (cancuoc.PIN, error) {
	s := r.URL.Query().Get("for")
	if s == "" {
		return "", nil
	}
	return cancuoc.ParsePIN(s, time.Now().Year())
}

func (a *API) myDocuments(w http.ResponseWriter, r *http.Request) {
	pin, err := forParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.wallet.MyDocuments(r.Context(), account(r.Context()), pin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": l})
}

func (a *API) myDocument(w http.ResponseWriter, r *http.Request) {
	d, err := a.wallet.MyDocument(r.Context(), account(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) registerWalletKey(w http.ResponseWriter, r *http.Request) {
	pin, err := forParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		JWK json.RawMessage `json:"jwk"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	k, reissued, err := a.wallet.RegisterHolderKey(r.Context(), account(r.Context()), pin, []byte(req.JWK))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if reissued == nil {
		reissued = []*wallet.DocumentView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": k, "reissued": reissued})
}

func (a *API) preparePresentation(w http.ResponseWriter, r *http.Request) {
	var req wallet.PresentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.wallet.PreparePresentation(r.Context(), account(r.Context()), r.PathValue("id"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type qrRequest struct {
	Presentation string `json:"presentation"`
}

// presentationQR renders a finished presentation (SD-JWT+KB) as a QR code:
// PNG, or SVG with ?format=svg.
func (a *API) presentationQR(w http.ResponseWriter, r *http.Request) {
	var req qrRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var (
		img []byte
		err error
		ct  = "image/png"
	)
	switch r.URL.Query().Get("format") {
	case "", "png":
		img, err = wallet.QRPNG(strings.TrimSpace(req.Presentation), 4)
	case "svg":
		img, err = wallet.QRSVG(strings.TrimSpace(req.Presentation))
		ct = "image/svg+xml"
	default:
		err = cancuoc.InvalidField("httpapi.qr", "format", "qr_format", "Định dạng phải là png hoặc svg.", "format must be png or svg.")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(img)
}

type verifyRequest struct {
	Presentation string `json:"presentation"`
	Nonce        string `json:"nonce,omitempty"`
	Audience     string `json:"aud,omitempty"`
	// RequireKeyBinding demands the holder's key-binding JWT (default
	// true: without it anyone who saw the document could show it).
	RequireKeyBinding *bool `json:"require_key_binding,omitempty"`
}

// verifyDocument checks a presentation. It answers 200 with the verdict
// whether or not the document is valid: the check ran; the verdict's code
// says what failed.
func (a *API) verifyDocument(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Presentation) == "" {
		a.fail(w, r, cancuoc.InvalidField("httpapi.verify", "presentation", "presentation_required", "Thiếu bản trình bày.", "The presentation is required."))
		return
	}
	kb := req.RequireKeyBinding == nil || *req.RequireKeyBinding
	v := a.wallet.Checker(r.Context()).Check(req.Presentation, wallet.Expect{Nonce: req.Nonce, Audience: req.Audience, RequireKB: kb})
	writeJSON(w, http.StatusOK, v)
}

type vpCreate struct {
	Type   string   `json:"type"`
	Claims []string `json:"claims"`
}

func (a *API) createVPRequest(w http.ResponseWriter, r *http.Request) {
	var req vpCreate
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := a.wallet.CreateVPRequest(r.Context(), principal(r.Context()), req.Type, req.Claims)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/verify/requests/"+q.ID)
	writeJSON(w, http.StatusCreated, q)
}

func (a *API) vpRequest(w http.ResponseWriter, r *http.Request) {
	q, err := a.wallet.VPRequestFor(r.Context(), nil, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

// vpResponse is the direct_post response_uri: a form with vp_token (JSON
// with the same field is accepted too).
func (a *API) vpResponse(w http.ResponseWriter, r *http.Request) {
	var token string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			a.fail(w, r, cancuoc.InvalidField("httpapi.vpResponse", "vp_token", "form_invalid", "Biểu mẫu không hợp lệ.", "The form body is malformed."))
			return
		}
		token = r.PostForm.Get("vp_token")
	} else {
		var req struct {
			VPToken string `json:"vp_token"`
		}
		if err := decodeJSON(w, r, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		token = req.VPToken
	}
	if token == "" {
		a.fail(w, r, cancuoc.InvalidField("httpapi.vpResponse", "vp_token", "vp_token_required", "Thiếu vp_token.", "vp_token is required."))
		return
	}
	v, err := a.wallet.RespondVP(r.Context(), r.PathValue("id"), token, a.source(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": v.Valid, "code": v.Code})
}

func (a *API) vpResult(w http.ResponseWriter, r *http.Request) {
	q, err := a.wallet.VPRequestFor(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

// vpCancel ends a pending request on behalf of the verifier who made it.
func (a *API) vpCancel(w http.ResponseWriter, r *http.Request) {
	q, err := a.wallet.CancelVPRequest(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}
