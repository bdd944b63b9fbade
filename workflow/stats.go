package workflow

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"time"

	"github.com/cancuoc/cancuoc"
)

// StatsQuery selects the files counted: submitted in [From, To), in one
// province or (empty) all.
type StatsQuery struct {
	From, To time.Time
	Province string
}

// Figures are the counts and durations of a group of files or steps.
// Durations are in seconds: a file's from submission to completion, a
// step's from entering its queue (or its last resubmission) to completion.
type Figures struct {
	Submitted   int     `json:"submitted"`
	Completed   int     `json:"completed"`
	Rejected    int     `json:"rejected"` // sent back to the applicant at least once
	Refused     int     `json:"refused"`  // not resubmitted within 7 working days of a rejection (steps: cancelled)
	Overdue     int     `json:"overdue"`  // an agency past its due time (still waiting, or settled late); files: one of their steps
	Online      int     `json:"online"`
	OnlineShare float64 `json:"online_share"`
	MedianSec   float64 `json:"median_seconds"`
	P95Sec      float64 `json:"p95_seconds"`
	durations   []float64
}

func (f *Figures) add(online, completed, rejected, refused, late bool, dur time.Duration) {
	f.Submitted++
	if online {
		f.Online++
	}
	if completed {
		f.Completed++
		f.durations = append(f.durations, dur.Seconds())
	}
	if rejected {
		f.Rejected++
	}
	if refused {
		f.Refused++
	}
	if late {
		f.Overdue++
	}
}

func (f *Figures) finish() {
	if f.Submitted > 0 {
		f.OnlineShare = float64(f.Online) / float64(f.Submitted)
	}
	sort.Float64s(f.durations)
	f.MedianSec, f.P95Sec = quantile(f.durations, 0.5), quantile(f.durations, 0.95)
	f.durations = nil
}

// quantile is the nearest-rank quantile of sorted values (0 when empty).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// GroupStats are the figures of one province and procedure, with its steps.
type GroupStats struct {
	Province string                `json:"province"`
	Kind     cancuoc.ProcedureKind `json:"kind"`
	Figures
	Steps []*StepStats `json:"steps"`
}

// StepStats are the figures of one step of a procedure in a province.
type StepStats struct {
	Name   string `json:"name"`
	Agency string `json:"agency"`
	Figures
}

// Stats is the answer of Statistics.
type Stats struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Groups []*GroupStats `json:"groups"`
}

// stepOrder is each step's place in its chain.
var stepOrder = map[string]int{StepBirthRegistration: 1, StepNewbornResidence: 2, StepHealthCard: 3,
	StepDeathRegistration: 1, StepDeregistration: 2, StepFuneralAllowance: 3, StepSurvivorBenefit: 4}

// statsPage is how many rows Statistics reads at a time.
const statsPage = 1000

// MaxStatsPeriod is the longest period Statistics covers at once: it reads
// every file and step of the period into memory, and any principal may ask.
const MaxStatsPeriod = 366 * 24 * time.Hour

// Statistics computes, per province and procedure, the files submitted in
// the period, and the same per step. Officers see their province (a
// national principal all of them); the figures hold no personal data.
func (s *Service) Statistics(ctx context.Context, actor *cancuoc.Principal, q StatsQuery) (*Stats, error) {
	const op = "workflow.Statistics"
	if actor == nil || actor.Disabled {
		return nil, unauthenticated(op)
	}
	if jp := actor.Jurisdiction.Province; jp != "" {
		if q.Province != "" && q.Province != jp {
			return nil, cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
				"Bạn chỉ xem được số liệu của tỉnh mình.", "You may see the figures of your own province only.")
		}
		q.Province = jp
	}
	if q.To.IsZero() {
		q.To = s.clock()
	}
	if q.From.IsZero() {
		q.From = q.To.AddDate(0, -1, 0)
	}
	if !q.From.Before(q.To) {
		return nil, cancuoc.InvalidField(op, "from", "period_empty", "Thời điểm bắt đầu phải trước thời điểm kết thúc.", "from must be before to.")
	}
	if q.To.Sub(q.From) > MaxStatsPeriod {
		return nil, cancuoc.InvalidField(op, "from", "period_too_long",
			"Khoảng thời gian thống kê dài tối đa 366 ngày; hãy chia thành nhiều khoảng.",
			"The period is at most 366 days; ask for several shorter periods.")
	}
	now := s.clock()
	groups := map[[2]string]*GroupStats{}
	group := func(province string, kind cancuoc.ProcedureKind) *GroupStats {
		k := [2]string{province, string(kind)}
		g := groups[k]
		if g == nil {
			g = &GroupStats{Province: province, Kind: kind}
			groups[k] = g
		}
		return g
	}
	type fileFlags struct {
		g                      *GroupStats
		online, rejected, late bool
	}
	files := map[string]*fileFlags{}
	// elsewhere are the files of the province with a step whose agency
	// acts in another one (a newborn's household): their steps are not
	// among the province's and are read file by file. A national query
	// reads every step anyway.
	var elsewhere []string
	pq := cancuoc.ProcedureQuery{Province: q.Province, SubmittedFrom: q.From, SubmittedTo: q.To, Limit: statsPage}
	for {
		page, err := s.store.Procedures(ctx, pq)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		for _, p := range page {
			var dur time.Duration
			if p.ClosedAt != nil {
				dur = p.ClosedAt.Sub(p.SubmittedAt)
			}
			g := group(p.Province, p.Kind)
			g.add(p.Online, p.Status == cancuoc.ProcedureCompleted, false, p.Status == cancuoc.ProcedureRefused, false, dur)
			// A file is overdue when one of its steps is (below): an agency
			// was late. Its Deadline, the chain's due, is not used: a file
			// waiting for the applicant may pass it through no agency's fault.
			files[p.ID] = &fileFlags{g: g, online: p.Online}
			if q.Province != "" {
				ch, err := steps(p)
				if err != nil {
					return nil, cancuoc.WithOp(op, err)
				}
				if slices.ContainsFunc(ch, func(d stepDef) bool { return d.place != nil && d.place.Province != p.Province }) {
					elsewhere = append(elsewhere, p.ID)
				}
			}
		}
		if len(page) < statsPage {
			break
		}
		pq.AfterID = page[len(page)-1].ID
	}
	// Steps count under their file's province and kind, wherever their
	// agency acts: the file's overdue flag sees all its steps.
	stepStats := map[[3]string]*StepStats{}
	count := func(st *cancuoc.ProcedureStep) {
		f := files[st.ProcedureID]
		if f == nil {
			return // another province's file, or submitted in the period after the files were read
		}
		late := overdue(st, now)
		f.rejected = f.rejected || st.Rejections > 0
		f.late = f.late || late
		k := [3]string{f.g.Province, string(f.g.Kind), st.Name}
		ss := stepStats[k]
		if ss == nil {
			ss = &StepStats{Name: st.Name, Agency: st.Agency}
			stepStats[k] = ss
			f.g.Steps = append(f.g.Steps, ss)
		}
		var dur time.Duration
		if st.CompletedAt != nil {
			dur = st.CompletedAt.Sub(queuedAt(st))
		}
		ss.add(f.online, st.Status == cancuoc.StepCompleted, st.Rejections > 0,
			st.Status == cancuoc.StepCancelled, late, dur)
	}
	sq := cancuoc.StepQuery{Province: q.Province, SubmittedFrom: q.From, SubmittedTo: q.To, Limit: statsPage}
	for {
		page, err := s.store.Steps(ctx, sq)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		for _, st := range page {
			count(st)
		}
		if len(page) < statsPage {
			break
		}
		sq.AfterProcedure, sq.AfterNo = page[len(page)-1].ProcedureID, page[len(page)-1].No
	}
	for _, id := range elsewhere {
		all, err := s.store.Steps(ctx, cancuoc.StepQuery{ProcedureID: id})
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		for _, st := range all {
			if st.Province != q.Province { // the others were read above
				count(st)
			}
		}
	}
	// A file counts as rejected or overdue when one of its steps was.
	for _, f := range files {
		if f.rejected {
			f.g.Rejected++
		}
		if f.late {
			f.g.Overdue++
		}
	}
	out := &Stats{From: q.From, To: q.To, Groups: []*GroupStats{}}
	for _, g := range groups {
		out.Groups = append(out.Groups, g)
	}
	slices.SortFunc(out.Groups, func(a, b *GroupStats) int {
		if a.Province != b.Province {
			return cmp.Compare(a.Province, b.Province)
		}
		return cmp.Compare(string(a.Kind), string(b.Kind))
	})
	for _, g := range out.Groups {
		g.finish()
		// In the chain's order, whichever step was read first.
		slices.SortStableFunc(g.Steps, func(a, b *StepStats) int { return cmp.Compare(stepOrder[a.Name], stepOrder[b.Name]) })
		for _, st := range g.Steps {
			st.finish()
		}
	}
	return out, nil
}
