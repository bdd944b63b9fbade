package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
)

// WithApplications gives the API the applications service: citizens file
// and follow their applications under /v1/me/applications (eID, as the
// other citizen routes), officers work their queue under /v1/applications
// (API keys). Without it the routes answer 503.
func (a *API) WithApplications(s *application.Service) *API {
	a.apps = s
	return a
}

func (a *API) applicationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/me/applications", a.appsOn(a.citizen(a.fileApplication)))
	mux.HandleFunc("GET /v1/me/applications", a.appsOn(a.citizen(a.myApplications)))
	mux.HandleFunc("DELETE /v1/me/applications/{id}", a.appsOn(a.citizen(a.withdrawApplication)))
	mux.HandleFunc("GET /v1/applications", a.appsOn(a.authed(a.applicationQueue)))
	mux.HandleFunc("GET /v1/applications/{id}", a.appsOn(a.authed(a.getApplication)))
	mux.HandleFunc("POST /v1/applications/{id}/approve", a.appsOn(a.authed(a.approveApplication)))
	mux.HandleFunc("POST /v1/applications/{id}/reject", a.appsOn(a.authed(a.rejectApplication)))
}

var errNoApps = cancuoc.E(cancuoc.Unavailable, "httpapi.applications", "applications_unavailable",
	"Dịch vụ nộp hồ sơ trực tuyến chưa được bật.", "The online applications service is not enabled.")

func (a *API) appsOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.apps == nil {
			a.fail(w, r, errNoApps)
			return
		}
		h(w, r)
	}
}

// self is the signed-in citizen as a principal.
func self(r *http.Request) *cancuoc.Principal {
	acc := account(r.Context())
	return cancuoc.CitizenPrincipal(acc.ID, acc.PIN)
}

// applicationView is an application with its overdue flag at answer time.
type applicationView struct {
	*cancuoc.Application
	Overdue bool `json:"overdue"`
}

type applicationPage struct {
	Items      []applicationView `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (a *API) views(list []*cancuoc.Application) []applicationView {
	now := a.apps.Now()
	out := make([]applicationView, len(list))
	for i, x := range list {
		out[i] = applicationView{Application: x, Overdue: x.Overdue(now)}
	}
	return out
}

func (a *API) fileApplication(w http.ResponseWriter, r *http.Request) {
	var f application.Filing
	if err := decodeJSON(w, r, &f); err != nil {
		a.fail(w, r, err)
		return
	}
	app, err := a.apps.File(r.Context(), self(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/me/applications/"+app.ID)
	writeJSON(w, http.StatusCreated, a.views([]*cancuoc.Application{app})[0])
}

func (a *API) myApplications(w http.ResponseWriter, r *http.Request) {
	list, err := a.apps.Mine(r.Context(), self(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, applicationPage{Items: a.views(list)})
}

func (a *API) withdrawApplication(w http.ResponseWriter, r *http.Request) {
	app, err := a.apps.Withdraw(r.Context(), self(r), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.views([]*cancuoc.Application{app})[0])
}

// applicationQueue is the officer's queue: ?kind=, ?status= (submitted by
// default), ?overdue=true, ?limit=, ?cursor=.
func (a *API) applicationQueue(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.applications"
	v := r.URL.Query()
	q := application.Queue{Kind: cancuoc.ApplicationKind(v.Get("kind")), Status: cancuoc.ApplicationStatus(v.Get("status")), Purpose: purpose(r)}
	switch v.Get("overdue") {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		a.fail(w, r, cancuoc.InvalidField(op, "overdue", "overdue_invalid", "overdue phải là true hoặc false.", "overdue must be true or false."))
		return
	}
	var err error
	if q.Limit, err = limitParam(op, v.Get("limit")); err != nil {
		a.fail(w, r, err)
		return
	}
	q.Limit = pageSize(q.Limit)
	if c := v.Get("cursor"); c != "" {
		due, id, ok := cutCursor(c)
		us, perr := strconv.ParseInt(due, 10, 64)
		if !ok || perr != nil || id == "" {
			a.fail(w, r, badCursor(op))
			return
		}
		q.AfterDue, q.AfterID = time.UnixMicro(us).UTC(), id
	}
	list, err := a.apps.Queue(r.Context(), principal(r.Context()), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := applicationPage{Items: a.views(list)}
	if n := len(list); n > 0 && n == q.Limit {
		last := list[n-1]
		page.NextCursor = makeCursor(strconv.FormatInt(last.Due.UnixMicro(), 10), last.ID)
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request) {
	app, err := a.apps.Get(r.Context(), principal(r.Context()), r.PathValue("id"), purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.views([]*cancuoc.Application{app})[0])
}

func (a *API) approveApplication(w http.ResponseWriter, r *http.Request) {
	a.decideApplication(w, r, a.apps.Approve)
}

func (a *API) rejectApplication(w http.ResponseWriter, r *http.Request) {
	a.decideApplication(w, r, a.apps.Reject)
}

func (a *API) decideApplication(w http.ResponseWriter, r *http.Request,
	decide func(ctx context.Context, p *cancuoc.Principal, id string, d application.Decision) (*cancuoc.Application, error)) {
	var d application.Decision
	if err := decodeJSON(w, r, &d); err != nil {
		a.fail(w, r, err)
		return
	}
	app, err := decide(r.Context(), principal(r.Context()), r.PathValue("id"), d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.views([]*cancuoc.Application{app})[0])
}
