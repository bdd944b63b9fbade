package httpapi

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
)

// WithResidence gives the API the residence service, which serves the
// households, residence, stay-notification and marriage routes; without it
// they answer 503.
func (a *API) WithResidence(s *residence.Service) *API {
	a.residence = s
	return a
}

// residenceRoutes registers the residence routes. Officers and lodgings
// use API keys; a citizen hosting guests at home notifies with their eID
// (HTTP Basic, as the other /v1/eid routes).
func (a *API) residenceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/households", a.residenceOn(a.authed(a.createHousehold)))
	mux.HandleFunc("GET /v1/households/{id}", a.residenceOn(a.authed(a.getHousehold)))
	mux.HandleFunc("POST /v1/households/{id}/members", a.residenceOn(a.authed(a.joinHousehold)))
	mux.HandleFunc("POST /v1/households/{id}/head", a.residenceOn(a.authed(a.changeHead)))
	mux.HandleFunc("POST /v1/residence/temporary", a.residenceOn(a.authed(a.registerTemporary)))
	mux.HandleFunc("GET /v1/residence/temporary", a.residenceOn(a.authed(a.expiringTemporary)))
	mux.HandleFunc("GET /v1/residence/deregistration-causes", a.deregistrationCauses)
	mux.HandleFunc("POST /v1/citizens/{pin}/temporary-residence/renewal", a.residenceOn(a.authed(a.renewTemporary)))
	mux.HandleFunc("POST /v1/citizens/{pin}/temporary-absence", a.residenceOn(a.authed(a.declareAbsence)))
	mux.HandleFunc("POST /v1/citizens/{pin}/deregistration", a.residenceOn(a.authed(a.deregister)))
	mux.HandleFunc("GET /v1/citizens/{pin}/residence-history", a.residenceOn(a.authed(a.residenceHistory)))
	mux.HandleFunc("POST /v1/stays", a.residenceOn(a.authed(a.notifyStay)))
	mux.HandleFunc("GET /v1/stays", a.residenceOn(a.authed(a.listStays)))
	mux.HandleFunc("POST /v1/eid/stays", a.residenceOn(a.citizen(a.notifyStayAsCitizen)))
	mux.HandleFunc("POST /v1/marriages", a.residenceOn(a.authed(a.marry)))
	mux.HandleFunc("POST /v1/divorces", a.residenceOn(a.authed(a.divorce)))
}

var errNoResidence = cancuoc.E(cancuoc.Unavailable, "httpapi.residence", "residence_unavailable",
	"Dịch vụ cư trú chưa được bật.", "The residence service is not enabled.")

// residenceOn answers 503 when the service is not wired.
func (a *API) residenceOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.residence == nil {
			a.fail(w, r, errNoResidence)
			return
		}
		h(w, r)
	}
}

func (a *API) createHousehold(w http.ResponseWriter, r *http.Request) {
	var req residence.NewHousehold
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	h, err := a.residence.CreateHousehold(r.Context(), principal(r.Context()), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/households/"+h.ID)
	writeJSON(w, http.StatusCreated, residence.HouseholdView{Household: *h, HeadActive: true})
}

func (a *API) getHousehold(w http.ResponseWriter, r *http.Request) {
	v, err := a.residence.Household(r.Context(), principal(r.Context()), r.PathValue("id"), purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) joinHousehold(w http.ResponseWriter, r *http.Request) {
	var req residence.Join
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	h, err := a.residence.JoinHousehold(r.Context(), principal(r.Context()), r.PathValue("id"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	_, active := h.Member(h.HeadPIN)
	writeJSON(w, http.StatusOK, residence.HouseholdView{Household: *h, HeadActive: active})
}

func (a *API) changeHead(w http.ResponseWriter, r *http.Request) {
	var req residence.NewHead
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	h, err := a.residence.ChangeHead(r.Context(), principal(r.Context()), r.PathValue("id"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, residence.HouseholdView{Household: *h, HeadActive: true})
}

func (a *API) registerTemporary(w http.ResponseWriter, r *http.Request) {
	var req residence.Temporary
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.residence.RegisterTemporary(r.Context(), principal(r.Context()), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (a *API) renewTemporary(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req residence.Renewal
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.residence.RenewTemporary(r.Context(), principal(r.Context()), pin, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// expiryPage is a page of the expiry list.
type expiryPage struct {
	Items      []residence.ExpiryItem `json:"items"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

func (a *API) expiringTemporary(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.expiring"
	q := r.URL.Query()
	e := residence.Expiry{Province: q.Get("province"), Commune: q.Get("commune"), WithinDays: 30, Purpose: purpose(r)}
	var err error
	if v := q.Get("within_days"); v != "" {
		if e.WithinDays, err = strconv.Atoi(v); err != nil {
			a.fail(w, r, cancuoc.InvalidField(op, "within_days", "within_days_range", "within_days phải từ 0 đến 366.", "within_days must be 0 to 366."))
			return
		}
	}
	if e.Limit, err = limitParam(op, q.Get("limit")); err != nil {
		a.fail(w, r, err)
		return
	}
	if c := q.Get("cursor"); c != "" {
		until, pin, ok := cutCursor(c)
		d, derr := cancuoc.ParseDate(until)
		p, perr := cancuoc.ParsePIN(pin, 9999)
		if !ok || derr != nil || perr != nil || !d.Complete() {
			a.fail(w, r, badCursor(op))
			return
		}
		e.AfterUntil, e.AfterPIN = d, p
	}
	items, err := a.residence.Expiring(r.Context(), principal(r.Context()), e)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := expiryPage{Items: items}
	if page.Items == nil {
		page.Items = []residence.ExpiryItem{}
	}
	if n := len(items); n > 0 && n == pageSize(e.Limit) {
		last := items[n-1]
		page.NextCursor = makeCursor(last.Until.String(), string(last.PIN))
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) declareAbsence(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req residence.Absence
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.residence.DeclareAbsence(r.Context(), principal(r.Context()), pin, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCitizen(w, r, http.StatusOK, c)
}

func (a *API) deregister(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req residence.Deregistration
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.residence.Deregister(r.Context(), principal(r.Context()), pin, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeCitizen(w, r, http.StatusOK, c)
}

// causeItem is one deregistration cause.
type causeItem struct {
	Code  residence.DeregistrationCause `json:"code"`
	Label string                        `json:"label"`
}

func (a *API) deregistrationCauses(w http.ResponseWriter, r *http.Request) {
	var out []causeItem
	for c, l := range residence.Causes() {
		out = append(out, causeItem{c, l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	writeJSON(w, http.StatusOK, map[string]any{"causes": out})
}

func (a *API) residenceHistory(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	es, err := a.residence.History(r.Context(), principal(r.Context()), pin, purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pin": pin, "entries": es})
}

func (a *API) notifyStay(w http.ResponseWriter, r *http.Request) {
	var req residence.Stay
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.residence.NotifyStay(r.Context(), principal(r.Context()), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (a *API) notifyStayAsCitizen(w http.ResponseWriter, r *http.Request) {
	var req residence.Stay
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.residence.NotifyStayAsCitizen(r.Context(), account(r.Context()).PIN, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

// stayPage is a page of stay notifications.
type stayPage struct {
	Items      []*cancuoc.StayNotification `json:"items"`
	NextCursor string                      `json:"next_cursor,omitempty"`
}

func (a *API) listStays(w http.ResponseWriter, r *http.Request) {
	const op = "httpapi.stays"
	q := r.URL.Query()
	l := residence.StayList{Province: q.Get("province"), Commune: q.Get("commune"), Late: q.Get("late") == "true", Purpose: purpose(r)}
	var err error
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &l.From}, {"to", &l.To}} {
		if v := q.Get(p.name); v != "" {
			if *p.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
				a.fail(w, r, cancuoc.InvalidField(op, p.name, "instant_format",
					"Thời điểm phải theo RFC 3339 (ví dụ 2026-03-10T00:00:00+07:00).", "The time must be RFC 3339 (e.g. 2026-03-10T00:00:00+07:00)."))
				return
			}
		}
	}
	if l.Limit, err = limitParam(op, q.Get("limit")); err != nil {
		a.fail(w, r, err)
		return
	}
	if c := q.Get("cursor"); c != "" {
		at, id, ok := cutCursor(c)
		us, perr := strconv.ParseInt(at, 10, 64)
		if !ok || perr != nil || id == "" {
			a.fail(w, r, badCursor(op))
			return
		}
		l.AfterArrival, l.AfterID = time.UnixMicro(us).UTC(), id
	}
	items, err := a.residence.Stays(r.Context(), principal(r.Context()), l)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := stayPage{Items: items}
	if n := len(items); n > 0 && n == pageSize(l.Limit) {
		last := items[n-1]
		page.NextCursor = makeCursor(strconv.FormatInt(last.Arrival.UnixMicro(), 10), last.ID)
	}
	writeJSON(w, http.StatusOK, page)
}

// couple is the answer to a marriage or divorce: both records after it.
type couple struct {
	A any `json:"a"`
	B any `json:"b"`
}

func (a *API) marry(w http.ResponseWriter, r *http.Request) {
	var req residence.Marriage
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	out, err := a.residence.Marry(r.Context(), p, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, couple{view(p, out[0]), view(p, out[1])})
}

func (a *API) divorce(w http.ResponseWriter, r *http.Request) {
	var req residence.Divorce
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	out, err := a.residence.Divorce(r.Context(), p, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, couple{view(p, out[0]), view(p, out[1])})
}

// limitParam parses a page size; 0 when absent (the default page).
func limitParam(op, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, cancuoc.InvalidField(op, "limit", "limit_invalid", "limit phải là số nguyên dương (tối đa 100).", "limit must be a positive integer (at most 100).")
	}
	return n, nil
}

// pageSize is the page the stores return for a limit.
func pageSize(limit int) int {
	if limit <= 0 || limit > 100 {
		return 100
	}
	return limit
}

// makeCursor and cutCursor carry the last row's sort key between pages,
// opaque to clients.
func makeCursor(a, b string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(a + "\x00" + b))
}

func cutCursor(s string) (string, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), "\x00")
}

func badCursor(op string) error {
	return cancuoc.InvalidField(op, "cursor", "cursor_invalid",
		"Con trỏ trang không hợp lệ; dùng đúng giá trị next_cursor đã nhận.", "Invalid cursor; pass the next_cursor value you received unchanged.")
}
