package httpapi

import (
	"net/http"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/webhook"
)

// WithWebhook gives the API the partners' webhook service, which serves
// the /v1/webhooks routes and the signing key; without it they answer 503.
func (a *API) WithWebhook(s *webhook.Service) *API {
	a.hooks = s
	return a
}

// webhookRoutes registers the subscription and dead-letter routes (for a
// national administrator, or the partner's own principal) and the public
// key partners verify signatures with.
func (a *API) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/webhooks", a.webhookOn(a.authed(a.createWebhook)))
	mux.HandleFunc("GET /v1/webhooks", a.webhookOn(a.authed(a.listWebhooks)))
	mux.HandleFunc("DELETE /v1/webhooks/{id}", a.webhookOn(a.authed(a.deleteWebhook)))
	mux.HandleFunc("POST /v1/webhooks/{id}/enable", a.webhookOn(a.authed(a.enableWebhook)))
	mux.HandleFunc("GET /v1/webhooks/dead-letters", a.webhookOn(a.authed(a.deadLetters)))
	mux.HandleFunc("POST /v1/webhooks/dead-letters/{id}/retry", a.webhookOn(a.authed(a.retryDelivery)))
	mux.HandleFunc("GET /.well-known/webhook-keys", a.webhookOn(a.webhookKeys))
}

var errNoWebhook = cancuoc.E(cancuoc.Unavailable, "httpapi.webhook", "webhook_unavailable",
	"Dịch vụ webhook cho đối tác chưa được bật.", "The partners' webhook service is not enabled.")

// webhookOn answers 503 when the service is not wired.
func (a *API) webhookOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.hooks == nil {
			a.fail(w, r, errNoWebhook)
			return
		}
		h(w, r)
	}
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) {
	var ns webhook.NewSubscription
	if err := decodeJSON(w, r, &ns); err != nil {
		a.fail(w, r, err)
		return
	}
	sub, err := a.hooks.Subscribe(r.Context(), principal(r.Context()), ns)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+sub.ID)
	writeJSON(w, http.StatusCreated, sub)
}

// webhookList is the answer of GET /v1/webhooks.
type webhookList struct {
	Subscriptions []*cancuoc.WebhookSubscription `json:"subscriptions"`
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) {
	subs, err := a.hooks.Subscriptions(r.Context(), principal(r.Context()), r.URL.Query().Get("partner_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookList{Subscriptions: subs})
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := a.hooks.Unsubscribe(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// enableWebhook makes a disabled subscription (after a 410, or by an
// operator) active again; its pending deliveries follow.
func (a *API) enableWebhook(w http.ResponseWriter, r *http.Request) {
	sub, err := a.hooks.Enable(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

// deadLetterPage is the answer of GET /v1/webhooks/dead-letters; cursor,
// when set, fetches the next (older) page.
type deadLetterPage struct {
	Deliveries []*cancuoc.WebhookDelivery `json:"deliveries"`
	Cursor     string                     `json:"cursor,omitempty"`
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	ds, err := a.hooks.DeadLetters(r.Context(), principal(r.Context()), q.Get("partner_id"), q.Get("cursor"), int(min(limit, 500)))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := deadLetterPage{Deliveries: ds}
	if len(ds) > 0 && (limit == 0 && len(ds) == 100 || int64(len(ds)) == limit) {
		page.Cursor = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) retryDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := a.hooks.Retry(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}

// webhookKeys publishes the public keys of webhook signatures: no secret,
// so no authentication. During a key rotation there are two (or more),
// each webhook signed by all of them; a partner trusts every key listed.
// Caches keep them an hour: a rotation's overlap is days.
func (a *API) webhookKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := a.hooks.PublishedKeys(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, struct {
		Keys []webhook.PublishedKey `json:"keys"`
	}{keys})
}
