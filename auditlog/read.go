package auditlog

import (
	"context"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Actions this package records when the log is read.
const (
	ActReadAccessLog = "audit.read_access_log" // someone read a citizen's access log
	ActSearch        = "audit.search"          // an auditor queried the log
)

// MaxPage is the largest page of entries returned at once.
const MaxPage = 200

// Entry is an entry as returned to readers, with its inclusion proof in
// the tree of Page.TreeHead when one was asked for and the entry is
// covered by that head. An entry just written may not be sequenced yet
// (ID 0, no hash, no proof; see cancuoc.LogSequencer).
type Entry struct {
	*cancuoc.AuditEntry
	Proof *Proof `json:"proof,omitempty"`
}

// Page is a page of entries, newest first. Next, when not zero, resumes
// the listing (as Before of the next query).
type Page struct {
	Entries  []Entry           `json:"entries"`
	Next     int64             `json:"next,omitempty"`
	TreeHead *cancuoc.TreeHead `json:"tree_head,omitempty"`
}

// AccessQuery is a request for one citizen's access log.
type AccessQuery struct {
	Before  int64 // resume before this entry ID
	Limit   int
	Proofs  bool
	Purpose string // why the reader reads it, recorded like any access
	// Actor, From and To narrow the listing: one reader (a partner's
	// principal), and a period [From, To). Zero values do not filter.
	Actor    string
	From, To time.Time
}

// AccessLog answers "who looked at my data, when and why" for one citizen:
// every entry about pin, newest first. Auditors and national
// administrators may read any citizen's log, officers those of citizens
// living in their jurisdiction, and a citizen principal (see
// WithCitizenPrincipal) their own. The reading is recorded, so the citizen
// sees who read their log too.
func (l *Log) AccessLog(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, q AccessQuery) (*Page, error) {
	const op = "auditlog.AccessLog"
	if err := l.mayReadAccessLog(ctx, op, p, pin); err != nil {
		return nil, l.refused(ctx, p, ActReadAccessLog, pin, q.Purpose, err)
	}
	return l.page(ctx, op, p, cancuoc.AuditQuery{PIN: pin, Actor: q.Actor, From: q.From, To: q.To, Before: q.Before, Limit: q.Limit}, q.Proofs,
		&cancuoc.AuditEntry{Actor: p.ID, Action: ActReadAccessLog, PIN: pin, Fields: []string{"access_log"},
			Purpose: q.Purpose, Outcome: "ok"})
}

// Search lists entries matching q for auditors and national
// administrators, newest first.
func (l *Log) Search(ctx context.Context, p *cancuoc.Principal, q cancuoc.AuditQuery, proofs bool, purpose string) (*Page, error) {
	const op = "auditlog.Search"
	if err := checkActive(op, p); err != nil {
		return nil, err
	}
	if p.Role != cancuoc.RoleAuditor && p.Role != cancuoc.RoleNationalAdmin {
		return nil, l.refused(ctx, p, ActSearch, q.PIN, purpose, roleForbidden(op, p))
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, cancuoc.InvalidField(op, "from", "period_empty",
			"Thời điểm bắt đầu phải trước thời điểm kết thúc.", "from must be before to.")
	}
	var criteria []string
	for _, c := range []struct {
		name string
		set  bool
	}{{"pin", q.PIN != ""}, {"actor", q.Actor != ""}, {"action", q.Action != ""}, {"purpose", q.Purpose != ""},
		{"from", !q.From.IsZero()}, {"to", !q.To.IsZero()}} {
		if c.set {
			criteria = append(criteria, c.name)
		}
	}
	return l.page(ctx, op, p, q, proofs, &cancuoc.AuditEntry{Actor: p.ID, Action: ActSearch, PIN: q.PIN,
		Fields: criteria, Purpose: purpose, Outcome: "ok"})
}

// page runs q, records the reading, and attaches proofs when asked.
func (l *Log) page(ctx context.Context, op string, p *cancuoc.Principal, q cancuoc.AuditQuery, proofs bool, access *cancuoc.AuditEntry) (*Page, error) {
	if q.Limit <= 0 || q.Limit > MaxPage {
		q.Limit = MaxPage
	}
	if q.Before < 0 {
		return nil, cancuoc.InvalidField(op, "cursor", "cursor_invalid", "Con trỏ trang không hợp lệ.", "The page cursor is invalid.")
	}
	es, err := l.st.AuditSearch(ctx, q)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if l.rec != nil {
		access.At = l.now()
		if err := l.rec.Record(ctx, access); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	out := &Page{Entries: make([]Entry, len(es))}
	for i, e := range es {
		out.Entries[i] = Entry{AuditEntry: e}
	}
	if len(es) == q.Limit {
		out.Next = es[len(es)-1].ID
	}
	if !proofs || len(es) == 0 {
		return out, nil
	}
	// Proofs are against the newest head; entries newer than it get a head
	// made now, so every entry returned can be proved.
	h, err := l.st.LatestTreeHead(ctx)
	if err != nil && !errors.Is(err, cancuoc.ErrNotFound) {
		return nil, cancuoc.WithOp(op, err)
	}
	if h == nil || h.Size < newestPlace(es) {
		if h, err = l.Checkpoint(ctx); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	out.TreeHead = h
	t := newTree(ctx, l.st)
	for i, e := range es {
		if e.ID == 0 || e.ID > h.Size {
			continue // not sequenced yet (a store's LogSequencer): no place to prove
		}
		path, err := inclusionPath(e.ID-1, 0, h.Size, t.mth)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		out.Entries[i].Proof = &Proof{LeafIndex: e.ID - 1, TreeSize: h.Size, Hashes: nonNil(path)}
	}
	return out, nil
}

// newestPlace returns the largest ID among es, which begin with any entries
// not sequenced yet (ID 0).
func newestPlace(es []*cancuoc.AuditEntry) int64 {
	for _, e := range es {
		if e.ID > 0 {
			return e.ID
		}
	}
	return 0
}

// mayReadAccessLog applies the reading rules of AccessLog.
func (l *Log) mayReadAccessLog(ctx context.Context, op string, p *cancuoc.Principal, pin cancuoc.PIN) error {
	if err := checkActive(op, p); err != nil {
		return err
	}
	if l.citizen != nil {
		if own, ok := l.citizen(p); ok {
			if own == pin {
				return nil
			}
			return cancuoc.E(cancuoc.Forbidden, op, "not_own_log",
				"Công dân chỉ xem được nhật ký truy cập của chính mình.", "A citizen may read only their own access log.")
		}
	}
	switch p.Role {
	case cancuoc.RoleAuditor, cancuoc.RoleNationalAdmin:
		return nil
	case cancuoc.RoleCommuneOfficer, cancuoc.RoleProvinceOfficer:
		d, err := l.st.CitizenDoc(ctx, pin)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		if !p.Jurisdiction.Covers(d.Home) {
			return cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
				"Công dân này không thuộc địa bàn quản lý của bạn.", "This citizen is outside your jurisdiction.")
		}
		return nil
	}
	return roleForbidden(op, p)
}

func checkActive(op string, p *cancuoc.Principal) error {
	if p == nil || p.Disabled {
		return cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated",
			"Cần đăng nhập bằng khoá API hợp lệ.", "A valid API key is required.")
	}
	return nil
}

func roleForbidden(op string, p *cancuoc.Principal) error {
	return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
		"Vai trò của bạn không được phép xem nhật ký truy cập.",
		"Your role ("+string(p.Role)+") may not read the access log.")
}

// refused records a refused reading (attempts are part of the record) and
// returns the refusal.
func (l *Log) refused(ctx context.Context, p *cancuoc.Principal, action string, pin cancuoc.PIN, purpose string, err error) error {
	if p == nil || l.rec == nil || cancuoc.KindOf(err) != cancuoc.Forbidden {
		return err
	}
	code := "denied"
	var e *cancuoc.Error
	if errors.As(err, &e) {
		code = e.Code
	}
	if rerr := l.rec.Record(ctx, &cancuoc.AuditEntry{At: l.now(), Actor: p.ID, Action: action, PIN: pin,
		Purpose: purpose, Outcome: code}); rerr != nil {
		return rerr
	}
	return err
}

// ParsePeriod is a helper for callers that take a period as text: RFC 3339
// times or dates (a date means its start, UTC).
func ParsePeriod(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, cancuoc.InvalidField("auditlog.ParsePeriod", field, "instant_format",
		"Phải là ngày YYYY-MM-DD hoặc thời điểm RFC 3339.", "Must be a date YYYY-MM-DD or an RFC 3339 time.")
}
