package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// WithWorkflow gives the API the interlinked procedures, which serve the
// /v1/procedures routes; without it they answer 503.
func (a *API) WithWorkflow(s *workflow.Service) *API {
	a.wf = s
	return a
}

// workflowRoutes registers the procedures' routes. Agencies' systems and
// officers use API keys; applicants online use their eID (HTTP Basic).
// Writes accept an Idempotency-Key header: a retry with the same key gets
// the first answer, and the step's effect happens once.
func (a *API) workflowRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/procedures", a.wfOn(a.authed(a.submitAtCounter)))
	mux.HandleFunc("GET /v1/procedures/{id}", a.wfOn(a.authed(a.getProcedure)))
	mux.HandleFunc("GET /v1/procedure-tasks", a.wfOn(a.authed(a.taskQueue)))
	mux.HandleFunc("POST /v1/procedure-tasks/claim", a.wfOn(a.authed(a.claimTasks)))
	mux.HandleFunc("POST /v1/procedure-tasks/settle", a.wfOn(a.authed(a.settleTasks)))
	mux.HandleFunc("POST /v1/procedures/{id}/steps/{no}/claim", a.wfOn(a.authed(a.claimStep)))
	mux.HandleFunc("POST /v1/procedures/{id}/steps/{no}/complete", a.wfOn(a.authed(a.completeStep)))
	mux.HandleFunc("POST /v1/procedures/{id}/steps/{no}/reject", a.wfOn(a.authed(a.rejectStep)))
	mux.HandleFunc("POST /v1/procedures/{id}/steps/{no}/resubmit", a.wfOn(a.authed(a.resubmitAtCounter)))
	mux.HandleFunc("GET /v1/procedure-stats", a.wfOn(a.authed(a.procedureStats)))
	mux.HandleFunc("POST /v1/eid/procedures", a.wfOn(a.citizen(a.submitOnline)))
	mux.HandleFunc("GET /v1/eid/procedures", a.wfOn(a.citizen(a.myProcedures)))
	mux.HandleFunc("GET /v1/eid/procedures/{id}", a.wfOn(a.citizen(a.myProcedure)))
	mux.HandleFunc("POST /v1/eid/procedures/{id}/steps/{no}/resubmit", a.wfOn(a.citizen(a.resubmitOnline)))
}

var errNoWorkflow = cancuoc.E(cancuoc.Unavailable, "httpapi.workflow", "workflow_unavailable",
	"Dịch vụ liên thông thủ tục chưa được bật.", "The interlinked procedures service is not enabled.")

func (a *API) wfOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.wf == nil {
			a.fail(w, r, errNoWorkflow)
			return
		}
		h(w, r)
	}
}

// body reads the request body (at most maxBody) for hashing, and decodes
// it into v; an empty body decodes as {}.
func body(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, jsonError("httpapi.decode", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return raw, decodeJSON(w, r, v)
}

// stepParams parses {id} and {no}.
func stepParams(r *http.Request) (string, int, error) {
	no, err := strconv.Atoi(r.PathValue("no"))
	if err != nil || no < 1 || no > 20 {
		return "", 0, cancuoc.InvalidField("httpapi.step", "no", "step_number_invalid",
			"Số thứ tự bước phải là số nguyên từ 1.", "The step number must be a whole number from 1.")
	}
	return r.PathValue("id"), no, nil
}

// idempotent runs fn through workflow.Do with the request's
// Idempotency-Key and writes the answer.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, who string, raw []byte, status int, fn func(tx cancuoc.Tx) (any, error)) {
	key := r.Header.Get("Idempotency-Key")
	// The key is scoped to the route too: the same key on another step is
	// another request.
	req := append([]byte(r.Method+" "+r.URL.Path+"\n"), raw...)
	ans, err := a.wf.Do(r.Context(), who, key, req, status, fn)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if ans.Replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body)
}

func (a *API) submitAtCounter(w http.ResponseWriter, r *http.Request) {
	var sub workflow.Submission
	raw, err := body(w, r, &sub)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	a.idempotent(w, r, p.ID, raw, http.StatusCreated, func(tx cancuoc.Tx) (any, error) {
		return a.wf.SubmitTx(r.Context(), tx, workflow.Applicant{Officer: p}, sub)
	})
}

func (a *API) submitOnline(w http.ResponseWriter, r *http.Request) {
	var sub workflow.Submission
	raw, err := body(w, r, &sub)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pin := account(r.Context()).PIN
	sub.Applicant = ""
	a.idempotent(w, r, "citizen:"+string(pin), raw, http.StatusCreated, func(tx cancuoc.Tx) (any, error) {
		return a.wf.SubmitTx(r.Context(), tx, workflow.Applicant{PIN: pin}, sub)
	})
}

func (a *API) getProcedure(w http.ResponseWriter, r *http.Request) {
	f, err := a.wf.File(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (a *API) myProcedure(w http.ResponseWriter, r *http.Request) {
	f, err := a.wf.MyFile(r.Context(), account(r.Context()).PIN, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// procedurePage is a page of files.
type procedurePage struct {
	Items      []*cancuoc.Procedure `json:"items"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

func (a *API) myProcedures(w http.ResponseWriter, r *http.Request) {
	limit, err := procLimit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ps, err := a.wf.MyFiles(r.Context(), account(r.Context()).PIN, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := procedurePage{Items: ps}
	if len(ps) == limit {
		page.NextCursor = ps[len(ps)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

// procLimit is the page size of the procedure lists: limitParam's rule,
// 100 by default.
func procLimit(r *http.Request) (int, error) {
	n, err := limitParam("httpapi.procedures", r.URL.Query().Get("limit"))
	if n == 0 {
		n = 100
	}
	return n, err
}

// taskPage is a page of an agency's queue.
type taskPage struct {
	Items      []*workflow.StepView `json:"items"`
	NextCursor string               `json:"next_cursor,omitempty"`
}

func (a *API) taskQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := procLimit(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	qq := workflow.QueueQuery{Kind: cancuoc.ProcedureKind(q.Get("kind")), Limit: limit}
	if s := q.Get("status"); s != "" {
		for _, x := range strings.Split(s, ",") {
			st := cancuoc.StepStatus(x)
			switch st {
			case cancuoc.StepPending, cancuoc.StepClaimed, cancuoc.StepCompleted, cancuoc.StepRejected, cancuoc.StepCancelled:
			default:
				a.fail(w, r, cancuoc.InvalidField("httpapi.tasks", "status", "status_invalid",
					"status là danh sách pending, claimed, completed, rejected, cancelled cách nhau bởi dấu phẩy.",
					"status is a comma-separated list of pending, claimed, completed, rejected, cancelled."))
				return
			}
			qq.Statuses = append(qq.Statuses, st)
		}
	}
	if c := q.Get("cursor"); c != "" {
		id, no, ok := strings.Cut(c, ":")
		n, err := strconv.Atoi(no)
		if !ok || err != nil || id == "" {
			a.fail(w, r, cancuoc.InvalidField("httpapi.tasks", "cursor", "cursor_invalid",
				"cursor không hợp lệ; dùng giá trị next_cursor của trang trước.", "Invalid cursor; use the next_cursor of the previous page."))
			return
		}
		qq.AfterProcedure, qq.AfterNo = id, n
	}
	items, err := a.wf.Queue(r.Context(), principal(r.Context()), qq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := taskPage{Items: items}
	if len(items) == limit {
		last := items[len(items)-1]
		page.NextCursor = last.ProcedureID + ":" + strconv.Itoa(last.No)
	}
	writeJSON(w, http.StatusOK, page)
}

// stepAction decodes the body into v and runs fn on the step through the
// idempotent path.
func (a *API) stepAction(w http.ResponseWriter, r *http.Request, v any, fn func(tx cancuoc.Tx, p *cancuoc.Principal, id string, no int) (any, error)) {
	id, no, err := stepParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	raw, err := body(w, r, v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	a.idempotent(w, r, p.ID, raw, http.StatusOK, func(tx cancuoc.Tx) (any, error) { return fn(tx, p, id, no) })
}

func (a *API) claimStep(w http.ResponseWriter, r *http.Request) {
	var none struct{}
	a.stepAction(w, r, &none, func(tx cancuoc.Tx, p *cancuoc.Principal, id string, no int) (any, error) {
		return a.wf.ClaimTx(r.Context(), tx, p, id, no)
	})
}

func (a *API) completeStep(w http.ResponseWriter, r *http.Request) {
	var c workflow.Completion
	a.stepAction(w, r, &c, func(tx cancuoc.Tx, p *cancuoc.Principal, id string, no int) (any, error) {
		return a.wf.CompleteTx(r.Context(), tx, p, id, no, c)
	})
}

func (a *API) rejectStep(w http.ResponseWriter, r *http.Request) {
	var rej workflow.Rejection
	a.stepAction(w, r, &rej, func(tx cancuoc.Tx, p *cancuoc.Principal, id string, no int) (any, error) {
		return a.wf.RejectTx(r.Context(), tx, p, id, no, rej)
	})
}

func (a *API) resubmitAtCounter(w http.ResponseWriter, r *http.Request) {
	var sup workflow.Supplement
	a.stepAction(w, r, &sup, func(tx cancuoc.Tx, p *cancuoc.Principal, id string, no int) (any, error) {
		return a.wf.ResubmitTx(r.Context(), tx, workflow.Applicant{Officer: p}, id, no, sup)
	})
}

func (a *API) resubmitOnline(w http.ResponseWriter, r *http.Request) {
	id, no, err := stepParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var sup workflow.Supplement
	raw, err := body(w, r, &sup)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	pin := account(r.Context()).PIN
	a.idempotent(w, r, "citizen:"+string(pin), raw, http.StatusOK, func(tx cancuoc.Tx) (any, error) {
		return a.wf.ResubmitTx(r.Context(), tx, workflow.Applicant{PIN: pin}, id, no, sup)
	})
}

func (a *API) procedureStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sq workflow.StatsQuery
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"from", &sq.From}, {"to", &sq.To}} {
		if v := q.Get(x.name); v != "" {
			t, err := parseInstant(v)
			if err != nil {
				a.fail(w, r, withField(err, x.name))
				return
			}
			*x.dst = t
		}
	}
	sq.Province = q.Get("province")
	st, err := a.wf.Statistics(r.Context(), principal(r.Context()), sq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
