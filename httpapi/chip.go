package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/chipcheck"
)

// chipAPI holds the chip-card capabilities; see WithChip.
type chipAPI struct {
	check *chipcheck.Checker
	cards *card.Service
}

// WithChip gives the API chip-card verification and card records, which
// serve /v1/chip and /v1/citizens/{pin}/cards; without it they answer 503.
func (a *API) WithChip(check *chipcheck.Checker, cards *card.Service) *API {
	if check == nil || cards == nil {
		return a
	}
	a.chip = &chipAPI{check: check, cards: cards}
	return a
}

// chipRoutes registers the chip routes. Counter devices (banks,
// hospitals) call them with API keys; the app calls them as the eID
// holder (HTTP Basic), which is how a holder's own verification reaches
// the level-2 hook.
func (a *API) chipRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/chip/challenges", a.chipOn(a.chipCaller(a.newChipChallenge)))
	mux.HandleFunc("POST /v1/chip/verifications", a.chipOn(a.chipCaller(a.verifyChip)))
	mux.HandleFunc("POST /v1/citizens/{pin}/cards", a.chipOn(a.authed(a.issueCard)))
	mux.HandleFunc("POST /v1/citizens/{pin}/cards/lost", a.chipOn(a.authed(a.reportCardLost)))
}

var errNoChip = cancuoc.E(cancuoc.Unavailable, "httpapi.chip", "chip_unavailable",
	"Dịch vụ xác thực thẻ căn cước chưa được bật.", "Chip-card verification is not enabled.")

func (a *API) chipOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.chip == nil {
			a.fail(w, r, errNoChip)
			return
		}
		h(w, r)
	}
}

type ctxChipCaller struct{}

// chipCaller authenticates an eID holder (HTTP Basic) or a principal (API
// key) and puts the chipcheck.Caller in the context.
func (a *API) chipCaller(h http.HandlerFunc) http.HandlerFunc {
	with := func(w http.ResponseWriter, r *http.Request, c chipcheck.Caller) {
		h(w, r.WithContext(context.WithValue(r.Context(), ctxChipCaller{}, c)))
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); len(auth) >= 6 && strings.EqualFold(auth[:6], "Basic ") {
			a.citizen(func(w http.ResponseWriter, r *http.Request) {
				with(w, r, chipcheck.CitizenCaller(account(r.Context()).PIN))
			})(w, r)
			return
		}
		a.authed(func(w http.ResponseWriter, r *http.Request) {
			with(w, r, chipcheck.PrincipalCaller(principal(r.Context())))
		})(w, r)
	}
}

func chipCallerOf(r *http.Request) chipcheck.Caller {
	c, _ := r.Context().Value(ctxChipCaller{}).(chipcheck.Caller)
	return c
}

func (a *API) newChipChallenge(w http.ResponseWriter, r *http.Request) {
	ch, err := a.chip.check.NewChallenge(r.Context(), chipCallerOf(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ch)
}

// decodeChipRequest reads and checks the form of a verification request.
func decodeChipRequest(w http.ResponseWriter, r *http.Request) (*chipcheck.Request, error) {
	req := new(chipcheck.Request)
	if err := decodeJSON(w, r, req); err != nil {
		return nil, err
	}
	if req.Purpose == "" {
		req.Purpose = purpose(r)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

func (a *API) verifyChip(w http.ResponseWriter, r *http.Request) {
	req, err := decodeChipRequest(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.chip.check.Verify(r.Context(), chipCallerOf(r), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) issueCard(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req card.Issue
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, k, err := a.chip.cards.Issue(r.Context(), principal(r.Context()), pin, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	writeJSON(w, http.StatusCreated, map[string]any{"pin": c.PIN, "version": c.Version, "card": k})
}

func (a *API) reportCardLost(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req card.Lost
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.chip.cards.ReportLost(r.Context(), principal(r.Context()), pin, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	writeJSON(w, http.StatusOK, map[string]any{"pin": c.PIN, "version": c.Version, "cards": c.Cards})
}
