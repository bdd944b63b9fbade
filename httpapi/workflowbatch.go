package httpapi

import (
	"errors"
	"net/http"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// The batch routes are for agencies' systems: claim up to max tasks of the
// queue in one call, then complete or reject many claimed steps in one
// call, one transaction each, instead of a request and a commit per step.

// claimRequest is the body of POST /v1/procedure-tasks/claim.
type claimRequest struct {
	Max  int                   `json:"max"`
	Kind cancuoc.ProcedureKind `json:"kind,omitempty"`
}

// claimAnswer lists the tasks claimed, oldest files first; empty when the
// queue is.
type claimAnswer struct {
	Items []*cancuoc.ProcedureStep `json:"items"`
}

func (a *API) claimTasks(w http.ResponseWriter, r *http.Request) {
	var req claimRequest
	raw, err := body(w, r, &req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	q := workflow.ClaimQuery{Max: req.Max, Kind: req.Kind}
	if a.wf.IdleClaim(r.Context(), p, q, p.ID, r.Header.Get("Idempotency-Key")) {
		// Nothing to take: answered from reads, without a transaction.
		writeJSON(w, http.StatusOK, claimAnswer{Items: []*cancuoc.ProcedureStep{}})
		return
	}
	a.idempotent(w, r, p.ID, raw, http.StatusOK, func(tx cancuoc.Tx) (any, error) {
		sts, err := a.wf.ClaimNextTx(r.Context(), tx, p, q)
		if err != nil {
			return nil, err
		}
		return claimAnswer{Items: sts}, nil
	})
}

// settleRequest is the body of POST /v1/procedure-tasks/settle.
type settleRequest struct {
	Items []workflow.BatchItem `json:"items"`
}

// settleItem is one item's outcome: its own HTTP status, and the step as
// it is now or the problem that refused this item alone.
type settleItem struct {
	ProcedureID string                 `json:"procedure_id"`
	No          int                    `json:"no"`
	Action      string                 `json:"action"`
	Status      int                    `json:"status"`
	Step        *cancuoc.ProcedureStep `json:"step,omitempty"`
	Problem     *Problem               `json:"problem,omitempty"`
}

// settleAnswer is the batch's answer, in the order of the request.
type settleAnswer struct {
	Items     []settleItem `json:"items"`
	Succeeded int          `json:"succeeded"`
	Failed    int          `json:"failed"`
}

// parseSettle checks a decoded batch before anything runs.
func parseSettle(req *settleRequest) error { return workflow.CheckBatch(req.Items) }

func (a *API) settleTasks(w http.ResponseWriter, r *http.Request) {
	var req settleRequest
	raw, err := body(w, r, &req)
	if err == nil {
		err = parseSettle(&req)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := principal(r.Context())
	en := prefersEnglish(r)
	a.idempotent(w, r, p.ID, raw, http.StatusOK, func(tx cancuoc.Tx) (any, error) {
		res, err := a.wf.SettleBatchTx(r.Context(), tx, p, req.Items)
		if err != nil {
			return nil, err
		}
		ans := settleAnswer{Items: make([]settleItem, len(res))}
		for i, x := range res {
			it := settleItem{ProcedureID: x.Item.ProcedureID, No: x.Item.No, Action: x.Item.Action,
				Status: http.StatusOK, Step: x.Step}
			if it.Action == "" {
				it.Action = workflow.ActionComplete
			}
			if x.Err != nil {
				it.Problem = itemProblem(x.Err, en)
				it.Status = it.Problem.Status
				ans.Failed++
			} else {
				ans.Succeeded++
			}
			ans.Items[i] = it
		}
		return ans, nil
	})
}

// itemProblem is the RFC 9457 problem of one batch item's error (a
// *cancuoc.Error of a kind SettleBatchTx gives per item; never Internal).
func itemProblem(err error, en bool) *Problem {
	var e *cancuoc.Error
	if !errors.As(err, &e) {
		e = cancuoc.E(cancuoc.Internal, "", "internal", "Lỗi hệ thống.", "Internal error.")
	}
	status := statusOf(e.Kind)
	p := &Problem{Type: ProblemTypeBase + e.Code, Title: http.StatusText(status), Status: status, Code: e.Code,
		Field: e.Field, MessageVI: e.MessageVI, MessageEN: e.MessageEN, Detail: e.MessageVI}
	if en {
		p.Detail = e.MessageEN
	}
	return p
}
