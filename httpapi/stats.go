package httpapi

import (
	"net/http"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// WithStats gives the API the dashboard's public figures (GET /v1/stats…);
// without it those routes answer 503.
func (a *API) WithStats(s *stats.Service) *API {
	a.stats = s
	return a
}

var errNoStats = cancuoc.E(cancuoc.Unavailable, "httpapi.stats", "stats_unavailable",
	"Số liệu thống kê chưa sẵn sàng.", "Statistics are not available.")

// statsRoutes adds the public statistics: aggregates only, no API key,
// cacheable for the minute the service keeps them.
func (a *API) statsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/stats", a.statsList)
	mux.HandleFunc("GET /v1/stats/{measure}", a.statsFigures)
	mux.HandleFunc("GET /v1/stats/{measure}/{province}", a.statsFigures)
	mux.HandleFunc("GET /v1/stats/reconciliation/partners", a.statsPartners)
}

func (a *API) statsList(w http.ResponseWriter, r *http.Request) {
	if a.stats == nil {
		a.fail(w, r, errNoStats)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, map[string]any{"measures": a.stats.Measures()})
}

func (a *API) statsFigures(w http.ResponseWriter, r *http.Request) {
	if a.stats == nil {
		a.fail(w, r, errNoStats)
		return
	}
	f, err := a.stats.Figures(r.Context(), r.PathValue("measure"), r.PathValue("province"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, f)
}

// statsPartners answers the reconciliation results per partner: counts per
// institution over finished jobs, as on the dashboard.
func (a *API) statsPartners(w http.ResponseWriter, r *http.Request) {
	if a.stats == nil {
		a.fail(w, r, errNoStats)
		return
	}
	p, err := a.stats.PartnerResults(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, p)
}
