package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestMeasures: files of the last twelve months are counted by status and
// by channel, by province and by commune, with a monthly trend; older
// files and the other kind are left out.
func TestMeasures(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	n := 0
	var resubmitBy *time.Time // set: the file waits for the applicant
	add := func(kind cancuoc.ProcedureKind, status cancuoc.ProcedureStatus, online bool, commune string, submitted, deadline time.Time) {
		n++
		p := &cancuoc.Procedure{ID: "pr-" + submitted.Format("20060102") + "-" + string(rune('a'+n)), Kind: kind, Status: status, Applicant: "001090000001",
			Province: "01", Commune: commune, Online: online, SubmittedBy: "x", Application: []byte(`{}`),
			SubmittedAt: submitted, Deadline: deadline, ResubmitBy: resubmitBy, Version: 1}
		if err := st.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	oct := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureCompleted, true, "00004", oct, oct.AddDate(0, 0, 9))
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureRefused, false, "00004", oct, oct.AddDate(0, 0, 9))
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureOpen, true, "00008", now.Add(-time.Hour), now.AddDate(0, 0, 9)) // in time
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureOpen, false, "00008", oct, oct.AddDate(0, 0, 9))                // overdue
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureCompleted, true, "00004", now.AddDate(-2, 0, 0), now)           // too old
	add(cancuoc.ProcedureDeath, cancuoc.ProcedureCompleted, true, "00004", oct, oct.AddDate(0, 0, 9))            // other kind
	// Past the chain's due but waiting for the applicant's resubmission:
	// in time, as far as the agencies go.
	by := now.AddDate(0, 0, 3)
	resubmitBy = &by
	add(cancuoc.ProcedureBirth, cancuoc.ProcedureOpen, false, "00008", now.AddDate(0, 0, -20), now.AddDate(0, 0, -1))

	svc := stats.New(stats.WithTTL(0), stats.WithMinCount(1), stats.WithClock(func() time.Time { return now }))
	for _, m := range workflow.Measures(st, func() time.Time { return now }) {
		svc.Register(m)
	}
	f, err := svc.Figures(ctx, "procedures-birth", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Total.Parts; len(got) != 4 || got[0] != 1 || got[1] != 1 || got[2] != 2 || got[3] != 1 {
		t.Errorf("by status: %v, want [1 1 2 1]", got)
	}
	if len(f.Trend) != 13 || f.Trend[11].Period != "2026-10" || f.Trend[11].Count != 4 || f.Trend[12].Count != 1 {
		t.Errorf("trend %+v", f.Trend)
	}
	f, err = svc.Figures(ctx, "procedures-birth-channel", "01")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rows {
		want := map[string][2]int64{"00004": {1, 1}, "00008": {1, 2}}[r.Code]
		if r.Parts[0] != want[0] || r.Parts[1] != want[1] {
			t.Errorf("commune %s by channel: %v, want %v", r.Code, r.Parts, want)
		}
	}
	f, _ = svc.Figures(ctx, "procedures-death", "")
	if f.Total.Value != 1 {
		t.Errorf("deaths: %d, want 1", f.Total.Value)
	}
}
