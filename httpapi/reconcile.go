package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/reconcile"
)

// WithReconcile gives the API the bulk reconciliation service, which serves
// the /v1/reconciliations routes; without it they answer 503.
func (a *API) WithReconcile(s *reconcile.Service) *API {
	a.recon = s
	return a
}

var errNoReconcile = cancuoc.E(cancuoc.Unavailable, "httpapi.reconcile", "reconcile_unavailable",
	"Dịch vụ đối soát hàng loạt chưa được bật.", "The bulk reconciliation service is not enabled.")

// reconcileRoutes registers the job routes. Callers are API-key principals
// (ministry systems, national administrators) and partners' systems with
// their client-credentials tokens (policy operation reconcile).
func (a *API) reconcileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/reconciliations", a.staffOrPartner(a.reconOn(a.submitReconciliation)))
	mux.HandleFunc("GET /v1/reconciliations/{id}", a.staffOrPartner(a.reconOn(a.getReconciliation)))
	mux.HandleFunc("GET /v1/reconciliations/{id}/report", a.staffOrPartner(a.reconOn(a.reconciliationReport)))
	mux.HandleFunc("DELETE /v1/reconciliations/{id}", a.staffOrPartner(a.reconOn(a.deleteReconciliation)))
}

// deleteReconciliation is the owner's acknowledgement of the report: the
// report and input are deleted and the job marked expired.
func (a *API) deleteReconciliation(w http.ResponseWriter, r *http.Request) {
	job, err := a.recon.Delete(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(job))
}

func (a *API) reconOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.recon == nil {
			a.fail(w, r, errNoReconcile)
			return
		}
		h(w, r)
	}
}

// reconciliationView is a job as the API shows it: progress, counts and
// the one-line summary; server paths stay private.
type reconciliationView struct {
	*cancuoc.Reconciliation
	Summary string `json:"summary"`
	Report  string `json:"report_url"`
}

func viewOf(j *cancuoc.Reconciliation) reconciliationView {
	return reconciliationView{Reconciliation: j, Summary: strings.SplitN(reconcile.Summary(j), "\n", 2)[0],
		Report: "/v1/reconciliations/" + j.ID + "/report"}
}

// uploadFormat reads the input format from Content-Type: text/csv or JSON
// Lines (application/jsonl, application/x-ndjson).
func uploadFormat(r *http.Request) (string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "text/csv":
		return reconcile.FormatCSV, nil
	case "application/jsonl", "application/x-ndjson", "application/x-jsonlines":
		return reconcile.FormatJSONL, nil
	}
	return "", cancuoc.InvalidField("httpapi.reconcile", "Content-Type", "reconcile_content_type",
		"Gửi tệp CSV (Content-Type: text/csv) hoặc JSON Lines (application/jsonl).",
		"Send a CSV file (Content-Type: text/csv) or JSON Lines (application/jsonl).")
}

func (a *API) submitReconciliation(w http.ResponseWriter, r *http.Request) {
	format, err := uploadFormat(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rf := r.URL.Query().Get("report_format")
	if rf != "" && rf != reconcile.FormatCSV && rf != reconcile.FormatJSONL {
		a.fail(w, r, cancuoc.InvalidField("httpapi.reconcile", "report_format", "reconcile_format",
			"Định dạng phải là csv hoặc jsonl.", "The format must be csv or jsonl."))
		return
	}
	job, err := a.recon.Submit(r.Context(), principal(r.Context()), r.Body, format, rf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/reconciliations/"+job.ID)
	writeJSON(w, http.StatusAccepted, viewOf(job))
}

func (a *API) getReconciliation(w http.ResponseWriter, r *http.Request) {
	job, err := a.recon.Get(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(job))
}

// reconciliationReport sends the committed part of the report: all of it
// once the job is done, the lines written so far while it runs
// (X-Reconciliation-Status says which).
func (a *API) reconciliationReport(w http.ResponseWriter, r *http.Request) {
	job, f, err := a.recon.Report(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ct := "text/csv; charset=utf-8"
	if job.ReportFmt == reconcile.FormatJSONL {
		ct = "application/jsonl"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.FormatInt(job.ReportSize, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="`+job.ID+"-report."+job.ReportFmt+`"`)
	w.Header().Set("X-Reconciliation-Status", job.Status)
	w.WriteHeader(http.StatusOK)
	if f == nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(w, io.NewSectionReader(f, 0, job.ReportSize))
}
