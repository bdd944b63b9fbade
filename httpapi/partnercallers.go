package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// staffOrPartner admits either caller of the routes that ministries' API
// keys and partners' systems share (reconciliation jobs, document
// issuance): an API key (X-API-Key, or a bearer token of the form
// cck_…) goes through authed; any other bearer token must be a partner's
// client-credentials token (partnerAuthed), and the handler then sees the
// partner as cancuoc.PartnerPrincipal, whose rights are its policy's.
func (a *API) staffOrPartner(h http.HandlerFunc) http.HandlerFunc {
	staff := a.authed(h)
	partner := a.partnerAuthed(func(w http.ResponseWriter, r *http.Request) {
		p := cancuoc.PartnerPrincipal(partnerToken(r.Context()).PartnerID)
		h(w, r.WithContext(context.WithValue(r.Context(), keyPrincipal, p)))
	})
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok || r.Header.Get("X-API-Key") != "" || strings.HasPrefix(tok, "cck_") || a.verif.tokens == nil {
			staff(w, r)
			return
		}
		partner(w, r)
	}
}
