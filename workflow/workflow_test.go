package workflow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

func asErr(err error, e **cancuoc.Error) bool { return errors.As(err, e) }

func TestBirthChain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f := w.submitBirth(t)
		if f.Status != cancuoc.ProcedureOpen || !f.Online || len(f.Steps) != 1 || f.Current != 1 ||
			len(f.Remaining) != 2 || f.Steps[0].Agency != workflow.AgencyCivilStatus {
			t.Fatalf("submitted file = %+v", f)
		}
		// Received Monday 09:00: civil status same working day; the whole
		// chain at most 3 working days (Decree 63/2024), so Thursday.
		if want := vn(2026, 3, 2, 23, 59).Add(59 * time.Second); !f.Steps[0].Due.Equal(want) {
			t.Errorf("step 1 due %v, want %v", f.Steps[0].Due, want)
		}
		if want := vn(2026, 3, 5, 23, 59).Add(59 * time.Second); !f.Deadline.Equal(want) {
			t.Errorf("file deadline %v, want %v", f.Deadline, want)
		}
		q, err := w.wf.Queue(ctx, w.civil, workflow.QueueQuery{})
		if err != nil || len(q) != 1 || q[0].ProcedureID != f.ID {
			t.Fatalf("civil status queue = %v, %v", q, err)
		}
		if q, _ := w.wf.Queue(ctx, w.police, workflow.QueueQuery{}); len(q) != 0 {
			t.Errorf("police queue before step 1 is done = %v", q)
		}
		st := w.runStep(t, w.civil, f.ID, 1)
		var res struct {
			PIN    cancuoc.PIN `json:"pin"`
			Number string      `json:"number"`
		}
		if err := json.Unmarshal(st.Result, &res); err != nil || res.PIN == "" || res.Number == "" {
			t.Fatalf("step 1 result %s: %v", st.Result, err)
		}
		if f = w.file(t, f.ID); !f.Deadline.Equal(vn(2026, 3, 5, 23, 59).Add(59 * time.Second)) {
			t.Errorf("deadline after step 1 done the same day: %v, want still Thursday", f.Deadline)
		}
		w.clock.set(vn(2026, 3, 4, 10, 0))
		w.runStep(t, w.police, f.ID, 2)
		// The file's deadline is fixed at receipt: the card (2 working
		// days) entering its queue on Wednesday does not move it to Friday.
		if f = w.file(t, f.ID); !f.Deadline.Equal(vn(2026, 3, 5, 23, 59).Add(59 * time.Second)) {
			t.Errorf("deadline after step 2 on Wednesday: %v, want still Thursday", f.Deadline)
		}
		w.runStep(t, w.insurance, f.ID, 3)
		f = w.file(t, f.ID)
		if f.Status != cancuoc.ProcedureCompleted || f.Subject != res.PIN || f.Current != 0 || len(f.Steps) != 3 {
			t.Fatalf("file after the chain = %+v", f)
		}
		for _, s := range f.Steps {
			if s.Status != cancuoc.StepCompleted || s.Overdue {
				t.Errorf("step %d: %s overdue=%v", s.No, s.Status, s.Overdue)
			}
		}
		child, err := w.store.Citizen(ctx, res.PIN)
		if err != nil {
			t.Fatal(err)
		}
		if child.Household == nil || child.Household.ID != "HH-01-0001" || child.Mother == nil || child.Mother.PIN != w.mother.PIN {
			t.Errorf("child record: household %+v, mother %+v", child.Household, child.Mother)
		}
		docs, err := w.store.IssuedDocuments(ctx, res.PIN)
		if err != nil || len(docs) != 2 || docs[0].Kind != workflow.DocBirthCertificate || docs[1].Kind != workflow.DocHealthCard ||
			docs[1].Number != "TE1"+string(res.PIN)[2:] || docs[0].ProcedureID != f.ID || docs[0].Number != res.Number {
			t.Errorf("documents = %+v, %v", docs, err)
		}
		mine, err := w.wf.MyFiles(ctx, w.mother.PIN, "", 0)
		if err != nil || len(mine) != 1 {
			t.Errorf("MyFiles = %v, %v", mine, err)
		}
		if _, err := w.wf.MyFile(ctx, w.father.PIN, f.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("another citizen's file: %v, want NotFound", err)
		}
	})
}

func TestDeathChain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		old := w.person(t, "Nguyễn Văn Cụ", cancuoc.Male, 1940, "")
		// The applicant must be a relative: link the father as a child.
		sub := workflow.Submission{Kind: cancuoc.ProcedureDeath, Applicant: w.father.PIN, Death: &workflow.DeathApplication{
			Deceased: old.PIN, Date: cancuoc.Date{Year: 2026, Month: 3, Day: 1}, FuneralAllowance: true}}
		if _, err := w.wf.Submit(ctx, workflow.Applicant{PIN: w.father.PIN}, sub); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("online death filing by a stranger: %v, want Forbidden", err)
		}
		// At the counter: the 85-year-old uninsured gets the allowance
		// from labour–social affairs.
		f, err := w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		if err != nil {
			t.Fatal(err)
		}
		if f.Online || f.Subject != old.PIN || len(f.Remaining) != 2 {
			t.Fatalf("death file = %+v", f)
		}
		w.runStep(t, w.civil, f.ID, 1)
		if c, _ := w.store.Citizen(ctx, old.PIN); c.LifeStatus != cancuoc.Dead {
			t.Errorf("after death registration: %s", c.LifeStatus)
		}
		w.runStep(t, w.police, f.ID, 2)
		if c, _ := w.store.Citizen(ctx, old.PIN); c.PermanentResidence != nil {
			t.Errorf("after deregistration: residence %+v", c.PermanentResidence)
		}
		if _, err := w.wf.Claim(ctx, w.insurance, f.ID, 3); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("social insurance on a labour step: %v, want Forbidden", err)
		}
		w.runStep(t, w.labour, f.ID, 3)
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureCompleted {
			t.Errorf("file = %s", f.Status)
		}
		// A young uninsured person qualifies for no funeral allowance.
		young := w.person(t, "Lê Văn Trẻ", cancuoc.Male, 1990, "")
		sub.Death = &workflow.DeathApplication{Deceased: young.PIN, Date: cancuoc.Date{Year: 2026, Month: 3, Day: 1}, FuneralAllowance: true}
		_, err = w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		wantKind(t, err, cancuoc.Invalid, "funeral_not_eligible")
		sub.Death.FuneralAllowance, sub.Death.SurvivorBenefit = false, true
		_, err = w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		wantKind(t, err, cancuoc.Invalid, "survivor_not_eligible")
		// Insured: funeral allowance and survivor benefit from social insurance.
		sub.Death.Insured, sub.Death.FuneralAllowance = true, true
		f, err = w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		if err != nil {
			t.Fatal(err)
		}
		for no, p := range []*cancuoc.Principal{w.civil, w.police, w.insurance, w.insurance} {
			w.runStep(t, p, f.ID, no+1)
		}
		f = w.file(t, f.ID)
		if f.Status != cancuoc.ProcedureCompleted || len(f.Steps) != 4 || f.Steps[2].Agency != workflow.AgencySocialInsurance {
			t.Errorf("insured death file = %+v", f)
		}
		docs, _ := w.store.IssuedDocuments(ctx, young.PIN)
		if len(docs) != 3 { // birth certificate (registration), funeral allowance, survivor benefit
			t.Errorf("documents of the insured deceased = %+v", docs)
		}
		// Filing again for someone dead is a Conflict.
		_, err = w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		wantKind(t, err, cancuoc.Conflict, "already_dead")
	})
}

func TestClaimRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		f := w.submitBirth(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, p := range []*cancuoc.Principal{w.civil, w.civil2} {
			wg.Go(func() { _, errs[i] = w.wf.Claim(t.Context(), p, f.ID, 1) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case cancuoc.KindOf(err) != cancuoc.Conflict:
				t.Errorf("losing claim: %v, want Conflict", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d claims won (%v), want exactly 1", won, errs)
		}
		winner, loser := w.civil, w.civil2
		if errs[0] != nil {
			winner, loser = loser, winner
		}
		if _, err := w.wf.Claim(t.Context(), winner, f.ID, 1); err != nil {
			t.Errorf("claiming again by the holder: %v", err)
		}
		_, err := w.wf.Complete(t.Context(), loser, f.ID, 1, workflow.Completion{})
		wantKind(t, err, cancuoc.Conflict, "claimed_by_other")
		// After the lease another client may take over.
		w.clock.set(w.clock.now().Add(16 * time.Minute))
		if _, err := w.wf.Claim(t.Context(), loser, f.ID, 1); err != nil {
			t.Errorf("claim after the lease: %v", err)
		}
	})
}

// TestCompleteOnce: completions of one step racing and retried, with and
// without an idempotency key, issue one PIN and one certificate.
func TestCompleteOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f := w.submitBirth(t)
		req := []byte(`{"note":"x"}`)
		var wg sync.WaitGroup
		answers := make([]*workflow.Answer, 4)
		errs := make([]error, 4)
		for i := range 4 {
			wg.Go(func() {
				key := "k1"
				if i == 3 {
					key = "" // a client without a key
				}
				answers[i], errs[i] = w.wf.Do(ctx, w.civil.ID, key, req, 200, func(tx cancuoc.Tx) (any, error) {
					return w.wf.CompleteTx(ctx, tx, w.civil, f.ID, 1, workflow.Completion{Note: "x"})
				})
			})
		}
		wg.Wait()
		var body []byte
		for i, a := range answers {
			if errs[i] != nil {
				// Racing transactions on PostgreSQL: the loser's version
				// check fails and nothing it did is kept.
				wantKind(t, errs[i], cancuoc.Conflict, "")
				continue
			}
			if i < 3 && body != nil && string(a.Body) != string(body) {
				t.Errorf("answer %d differs: %s vs %s", i, a.Body, body)
			}
			if i < 3 {
				body = a.Body
			}
		}
		// A key is spent only by a request that succeeded: when the keyless
		// client won the race, every k1 request failed and nothing was kept
		// under k1, so a retry runs and finds the step already completed.
		if body != nil {
			again, err := w.wf.Do(ctx, w.civil.ID, "k1", req, 200, func(tx cancuoc.Tx) (any, error) {
				t.Error("a retry with a used key ran the effect again")
				return nil, nil
			})
			if err != nil || !again.Replay {
				t.Fatalf("retry: %+v, %v", again, err)
			}
		} else {
			_, err := w.wf.Do(ctx, w.civil.ID, "k1", req, 200, func(tx cancuoc.Tx) (any, error) {
				return w.wf.CompleteTx(ctx, tx, w.civil, f.ID, 1, workflow.Completion{Note: "x"})
			})
			if err != nil && cancuoc.KindOf(err) != cancuoc.Conflict {
				t.Fatalf("retry after the keyless client won: %v", err)
			} // either way the counts below prove the effect ran once
		}
		if body != nil {
			_, err := w.wf.Do(ctx, w.civil.ID, "k1", []byte(`{"note":"other"}`), 200, func(tx cancuoc.Tx) (any, error) { return nil, nil })
			wantKind(t, err, cancuoc.Conflict, "idempotency_key_reused")
		}
		kids, err := w.store.Citizen(ctx, w.mother.PIN)
		if err != nil || len(kids.Children) != 1 {
			t.Fatalf("mother's children after racing completions: %+v, %v", kids.Children, err)
		}
		docs, _ := w.store.IssuedDocuments(ctx, kids.Children[0].PIN)
		if len(docs) != 1 {
			t.Errorf("documents = %+v", docs)
		}
	})
}

func TestRejectResubmitAndRefuse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f := w.submitBirth(t) // Monday 2 March, 09:00
		_, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{})
		wantKind(t, err, cancuoc.Invalid, "reason_required")
		st, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh / birth attestation missing"})
		if err != nil || st.Status != cancuoc.StepRejected || st.Rejections != 1 {
			t.Fatalf("Reject = %+v, %v", st, err)
		}
		// The applicant has 7 working days from the rejection.
		f = w.file(t, f.ID)
		if want := vn(2026, 3, 11, 23, 59).Add(59 * time.Second); f.ResubmitBy == nil || !f.ResubmitBy.Equal(want) {
			t.Errorf("resubmit by %v, want %v", f.ResubmitBy, want)
		}
		if q, _ := w.wf.Queue(ctx, w.civil, workflow.QueueQuery{}); len(q) != 0 {
			t.Errorf("a rejected step stays in the queue: %v", q)
		}
		_, err = w.wf.Complete(ctx, w.civil, f.ID, 1, workflow.Completion{})
		wantKind(t, err, cancuoc.Conflict, "step_rejected")
		if _, err := w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.father.PIN}, f.ID, 1, workflow.Supplement{}); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("resubmit by someone else: %v, want NotFound", err)
		}
		// The applicant takes until Wednesday: the step is due again its
		// limit from then (same working day), not Monday, and the file
		// the chain's 3 working days from Wednesday (not 0 + 2 + 2).
		w.clock.set(vn(2026, 3, 4, 10, 0))
		fixed := w.birth().Birth
		fixed.FullName = "Nguyễn Minh Anh"
		g, err := w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.mother.PIN}, f.ID, 1, workflow.Supplement{Note: "đã bổ sung", Birth: fixed})
		if err != nil || g.Steps[0].Status != cancuoc.StepPending || g.Version != 3 || g.ResubmitBy != nil {
			t.Fatalf("Resubmit = %+v, %v", g, err)
		}
		if want := vn(2026, 3, 4, 23, 59).Add(59 * time.Second); !g.Steps[0].Due.Equal(want) || g.Steps[0].Overdue {
			t.Errorf("resubmitted step due %v (overdue %v), want %v", g.Steps[0].Due, g.Steps[0].Overdue, want)
		}
		if want := vn(2026, 3, 9, 23, 59).Add(59 * time.Second); !g.Deadline.Equal(want) {
			t.Errorf("file deadline after the resubmission %v, want %v", g.Deadline, want)
		}
		w.clock.set(vn(2026, 3, 4, 10, 5))
		st = w.runStep(t, w.civil, f.ID, 1)
		var res struct{ PIN cancuoc.PIN }
		_ = json.Unmarshal(st.Result, &res)
		if c, _ := w.store.Citizen(ctx, res.PIN); c == nil || c.FullName != "Nguyễn Minh Anh" {
			t.Errorf("the corrected name was not registered: %+v", c)
		}
		// Police never act: their step (due Friday 6 March) and the file
		// are overdue, flagged and counted, but the file is not refused:
		// the delay is the agency's, not the applicant's.
		w.clock.set(vn(2026, 3, 20, 9, 0))
		if n, err := w.wf.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("Sweep with the police late = %d, %v; want nothing refused", n, err)
		}
		if q, _ := w.wf.Queue(ctx, w.police, workflow.QueueQuery{}); len(q) != 1 || !q[0].Overdue {
			t.Errorf("police queue = %+v, want one overdue task", q)
		}
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureOpen || !f.Steps[1].Overdue || f.Steps[0].Overdue {
			t.Errorf("file with the police late: %s, steps overdue %v %v", f.Status, f.Steps[0].Overdue, f.Steps[1].Overdue)
		}

		// Another file, which civil status sends back a working day late
		// (Monday for Friday) and the applicant never resubmits: refused 7
		// working days after the rejection, with what was missing.
		f2 := w.submitBirth(t) // Friday 20 March, 09:00
		w.clock.set(vn(2026, 3, 23, 9, 0))
		if _, err := w.wf.Reject(ctx, w.civil, f2.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh / birth attestation missing"}); err != nil {
			t.Fatal(err)
		}
		w.clock.set(vn(2026, 4, 1, 23, 0))
		if n, err := w.wf.Sweep(ctx); err != nil || n != 0 {
			t.Errorf("Sweep on the 7th working day after the rejection = %d, %v; want 0", n, err)
		}
		w.clock.set(vn(2026, 4, 2, 0, 1))
		if n, err := w.wf.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep after 7 working days = %d, %v; want 1", n, err)
		}
		f2 = w.file(t, f2.ID)
		if f2.Status != cancuoc.ProcedureRefused || f2.Steps[0].Status != cancuoc.StepCancelled ||
			!strings.Contains(f2.Outcome, "birth attestation missing") {
			t.Errorf("refused file = %+v", f2)
		}
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureOpen {
			t.Errorf("the file waiting for the police: %s, want still open", f.Status)
		}
		_, err = w.wf.Claim(ctx, w.civil, f2.ID, 1)
		wantKind(t, err, cancuoc.Conflict, "file_closed")
		stats, err := w.wf.Statistics(ctx, w.admin, workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 4, 3, 0, 0)})
		if err != nil || len(stats.Groups) != 1 {
			t.Fatalf("Statistics = %+v, %v", stats, err)
		}
		// Overdue: the first file (the police), and the refused one, whose
		// step civil status settled (sent back) after its due time: it
		// still counts once cancelled. The first file's step 1, done the
		// day it came back, is on time, measured from the resubmission.
		g0 := stats.Groups[0]
		if g0.Province != hanoi || g0.Submitted != 2 || g0.Refused != 1 || g0.Rejected != 2 || g0.Overdue != 2 || g0.Completed != 0 ||
			g0.OnlineShare != 1 || len(g0.Steps) != 2 {
			t.Fatalf("statistics = %+v", g0)
		}
		s1, s2 := g0.Steps[0], g0.Steps[1]
		if s1.Submitted != 2 || s1.Completed != 1 || s1.Refused != 1 || s1.Rejected != 2 || s1.Overdue != 1 || s1.MedianSec != 300 {
			t.Errorf("step 1 statistics = %+v", s1)
		}
		if s2.Submitted != 1 || s2.Completed != 0 || s2.Overdue != 1 || s2.Rejected != 0 {
			t.Errorf("step 2 statistics = %+v", s2)
		}
	})
}

func TestAuthorization(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		sub := w.birth()
		if _, err := w.wf.Submit(ctx, workflow.Applicant{PIN: w.admin.OfficerPIN + "x"}, sub); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("online birth filed by a non-parent: %v, want Forbidden", err)
		}
		if _, err := w.wf.Submit(ctx, workflow.Applicant{Officer: w.police}, workflow.Submission{Kind: sub.Kind, Birth: sub.Birth, Applicant: w.mother.PIN}); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("birth filed by the police: %v, want Forbidden", err)
		}
		bad := *sub.Birth
		bad.BirthDate = cancuoc.Date{Year: 2026, Month: 2}
		_, err := w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, workflow.Submission{Kind: sub.Kind, Birth: &bad})
		wantKind(t, err, cancuoc.Invalid, "birth_date_incomplete")
		bad = *sub.Birth
		bad.Mother, bad.Father = nil, &cancuoc.Relative{PIN: w.father.PIN}
		_, err = w.wf.Submit(ctx, workflow.Applicant{PIN: w.father.PIN}, workflow.Submission{Kind: sub.Kind, Birth: &bad})
		wantKind(t, err, cancuoc.Invalid, "parent_no_household")
		_, err = w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, workflow.Submission{Kind: "marriage"})
		wantKind(t, err, cancuoc.Invalid, "kind_unknown")
		f := w.submitBirth(t)
		for _, p := range []*cancuoc.Principal{w.police, w.insurance, w.policeCaMau} {
			if _, err := w.wf.Claim(ctx, p, f.ID, 1); cancuoc.KindOf(err) != cancuoc.Forbidden {
				t.Errorf("claim by %s (%s): %v, want Forbidden", p.Agency, p.Jurisdiction, err)
			}
		}
		if _, err := w.wf.File(ctx, w.policeCaMau, f.ID); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("file read outside the jurisdiction: %v, want Forbidden", err)
		}
		if q, err := w.wf.Queue(ctx, w.policeCaMau, workflow.QueueQuery{}); err != nil || len(q) != 0 {
			t.Errorf("Cà Mau police queue = %v, %v", q, err)
		}
		if _, err := w.wf.Queue(ctx, w.admin, workflow.QueueQuery{}); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("queue of a principal without agency: %v, want Forbidden", err)
		}
		if _, err := w.wf.Statistics(ctx, w.policeCaMau, workflow.StatsQuery{Province: hanoi}); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("another province's statistics: %v, want Forbidden", err)
		}
		// Every read of a file is in the subject's access log.
		if _, err := w.wf.File(ctx, w.police, f.ID); err != nil {
			t.Fatal(err)
		}
		entries, err := w.store.AuditFor(ctx, w.mother.PIN, 50)
		if err != nil {
			t.Fatal(err)
		}
		reads := 0
		for _, e := range entries {
			if e.Action == "procedure.read" {
				reads++
			}
		}
		if reads != 2 { // the refused read and the allowed one
			t.Errorf("%d procedure.read entries, want 2", reads)
		}
	})
}

// TestDueDates: files after 15:00 count from the next working day; a file
// on the eve of Tết waits for the holiday to end.
func TestDueDates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		for _, tc := range []struct {
			at, due1, deadline time.Time
		}{
			{vn(2026, 3, 6, 16, 0), vn(2026, 3, 10, 0, 0), vn(2026, 3, 13, 0, 0)},  // Friday 16:00 counts from Monday; the chain's 3 working days to Thursday
			{vn(2026, 2, 13, 14, 0), vn(2026, 2, 14, 0, 0), vn(2026, 2, 26, 0, 0)}, // the Friday before Tết: the chain's 3 working days skip it
		} {
			w.clock.set(tc.at)
			f := w.submitBirth(t)
			if got := f.Steps[0].Due.Add(time.Second); !got.Equal(tc.due1) {
				t.Errorf("filed %v: step 1 due %v, want end of %v", tc.at, f.Steps[0].Due, tc.due1)
			}
			if got := f.Deadline.Add(time.Second); !got.Equal(tc.deadline) {
				t.Errorf("filed %v: deadline %v, want end of %v", tc.at, f.Deadline, tc.deadline)
			}
		}
	})
}
