package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunStepCount checks CountSteps: the same selection as Steps without
// its paging, and the steps due before a time, to the second and across
// fractional seconds (due times are kept in the JSON document).
func RunStepCount(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	s := open(t)
	ctx := t.Context()
	for i := range 3 {
		p := Procedure(fmt.Sprintf("p%d", i), i)
		if i == 2 {
			p.Province, p.Commune, p.Kind = "79", "26734", cancuoc.ProcedureDeath
		}
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		for no, agency := range []string{"civil_status", "police"} {
			st := Step(p, no+1, agency) // due 48 h after submission: T0+48h, +49h, +50h
			if no == 0 {
				st.Status = cancuoc.StepCompleted
			}
			if i == 1 {
				st.Due = st.Due.Add(250 * time.Millisecond) // fractional seconds in the document
			}
			if err := s.InsertStep(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	waiting := []cancuoc.StepStatus{cancuoc.StepPending, cancuoc.StepClaimed}
	police := cancuoc.StepQuery{Agency: "police", Statuses: waiting}
	for _, tc := range []struct {
		name        string
		q           cancuoc.StepQuery
		before      time.Time
		total, late int
	}{
		{"queue, none due", police, T0, 3, 0},
		{"queue, first due", police, T0.Add(48*time.Hour + time.Second), 3, 1},
		{"fractional second, not yet", police, T0.Add(49*time.Hour + 100*time.Millisecond), 3, 1},
		{"fractional second, passed", police, T0.Add(49*time.Hour + 500*time.Millisecond), 3, 2},
		{"commune", cancuoc.StepQuery{Agency: "police", Statuses: waiting, Province: "01", Commune: "00004"}, T0.Add(100 * time.Hour), 2, 2},
		{"kind", cancuoc.StepQuery{Agency: "police", Kind: cancuoc.ProcedureDeath}, T0.Add(100 * time.Hour), 1, 1},
		{"done", cancuoc.StepQuery{Agency: "civil_status", Statuses: []cancuoc.StepStatus{cancuoc.StepCompleted}}, T0, 3, 0},
		{"paging ignored", cancuoc.StepQuery{Agency: "police", Statuses: waiting, AfterProcedure: "p1", AfterNo: 2, Limit: 1}, T0, 3, 0},
		{"nothing", cancuoc.StepQuery{Agency: "labour_social_affairs"}, T0, 0, 0},
	} {
		total, late, err := s.CountSteps(ctx, tc.q, tc.before)
		if err != nil || total != tc.total || late != tc.late {
			t.Errorf("%s: %d total, %d due, %v; want %d, %d", tc.name, total, late, err, tc.total, tc.late)
		}
	}
}
