package httpapi

import (
	"net/http"
	"strconv"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
)

// WithAuditLog gives the API the tamper-evident access log, which serves
// the access-log routes; without it they answer 503.
func (a *API) WithAuditLog(l *auditlog.Log) *API {
	a.audit = l
	return a
}

var errNoAuditLog = cancuoc.E(cancuoc.Unavailable, "httpapi.audit", "audit_log_unavailable",
	"Nhật ký truy cập chưa sẵn sàng.", "The access log is not available.")

// intParam parses a non-negative integer query parameter (0 when absent).
func intParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, cancuoc.InvalidField("httpapi.audit", name, "integer_invalid",
			name+" phải là số nguyên không âm.", name+" must be a non-negative integer.")
	}
	return n, nil
}

// proofsParam reads ?proof=true: each entry comes with its inclusion proof.
func proofsParam(r *http.Request) bool { return r.URL.Query().Get("proof") == "true" }

// accessLog answers a citizen's "who looked at my data, when and why".
// The rules (auditor, national admin, officer of the citizen's home, the
// citizen themself once citizens sign in) are auditlog.Log's.
func (a *API) accessLog(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	before, err := intParam(r, "cursor")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := a.audit.AccessLog(r.Context(), principal(r.Context()), pin, auditlog.AccessQuery{
		Before: before, Limit: int(limit), Proofs: proofsParam(r), Purpose: purpose(r)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// auditSearch is the auditors' query by actor, action, purpose and period.
func (a *API) auditSearch(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	q := r.URL.Query()
	aq := cancuoc.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action"), Purpose: q.Get("purpose")}
	if p := q.Get("pin"); p != "" {
		pin, err := cancuoc.ParsePIN(p, 0)
		if err != nil {
			a.fail(w, r, withField(err, "pin"))
			return
		}
		aq.PIN = pin
	}
	var err error
	if aq.From, err = auditlog.ParsePeriod("from", q.Get("from")); err != nil {
		a.fail(w, r, err)
		return
	}
	if aq.To, err = auditlog.ParsePeriod("to", q.Get("to")); err != nil {
		a.fail(w, r, err)
		return
	}
	if aq.Before, err = intParam(r, "cursor"); err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	aq.Limit = int(limit)
	page, err := a.audit.Search(r.Context(), principal(r.Context()), aq, proofsParam(r), purpose(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// treeHeadAnswer is a signed tree head with the key that verifies it.
type treeHeadAnswer struct {
	TreeHead  *cancuoc.TreeHead `json:"tree_head"`
	PublicKey string            `json:"public_key"` // PEM
	KeyID     string            `json:"key_id"`
}

func (a *API) writeTreeHead(w http.ResponseWriter, r *http.Request, status int, h *cancuoc.TreeHead) {
	pub, err := auditlog.MarshalPublicKey(a.audit.PublicKey())
	if err != nil {
		a.fail(w, r, cancuoc.WithOp("httpapi.treeHead", err))
		return
	}
	writeJSON(w, status, treeHeadAnswer{TreeHead: h, PublicKey: string(pub), KeyID: auditlog.KeyID(a.audit.PublicKey())})
}

// treeHead returns the newest signed tree head, or the one of ?size=.
func (a *API) treeHead(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	size, err := intParam(r, "size")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var h *cancuoc.TreeHead
	if size > 0 {
		if h, err = a.audit.Head(r.Context(), size); err != nil {
			a.fail(w, r, err)
			return
		}
	} else if h, err = a.audit.Latest(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeTreeHead(w, r, http.StatusOK, h)
}

// checkpoint makes a signed tree head now (auditors, national admins).
func (a *API) checkpoint(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	if p := principal(r.Context()); p.Role != cancuoc.RoleAuditor && p.Role != cancuoc.RoleNationalAdmin {
		a.fail(w, r, cancuoc.E(cancuoc.Forbidden, "httpapi.checkpoint", "role_forbidden",
			"Vai trò của bạn không được phép tạo điểm kiểm tra.", "Your role may not make a checkpoint."))
		return
	}
	h, err := a.audit.Checkpoint(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeTreeHead(w, r, http.StatusCreated, h)
}

// consistency proves that the head of size ?second= extends ?first=.
func (a *API) consistency(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	first, err := intParam(r, "first")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	second, err := intParam(r, "second")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.audit.ConsistencyProof(r.Context(), first, second)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"first": first, "second": second, "hashes": p})
}

// inclusion proves that entry {id} is in the tree of the head of ?size=
// (the newest head when absent).
func (a *API) inclusion(w http.ResponseWriter, r *http.Request) {
	if a.audit == nil {
		a.fail(w, r, errNoAuditLog)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		a.fail(w, r, cancuoc.InvalidField("httpapi.inclusion", "id", "integer_invalid",
			"id phải là số nguyên dương.", "id must be a positive integer."))
		return
	}
	size, err := intParam(r, "size")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if size == 0 {
		h, err := a.audit.Latest(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		size = h.Size
	}
	p, err := a.audit.InclusionProof(r.Context(), id, size)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
