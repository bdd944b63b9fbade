package stats_test

import (
	"errors"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// FuzzFigures: the measure and province come from URLs; any value answers
// figures or NotFound, never a panic or another kind of error.
func FuzzFigures(f *testing.F) {
	for _, s := range [][2]string{{"population", ""}, {"cards", "01"}, {"eid-accounts", "79"}, {"x", "0"}, {"cards", "01/../02"}, {"", "\x00"}} {
		f.Add(s[0], s[1])
	}
	s := stats.New(stats.WithTTL(0)).Builtin(open(f))
	f.Fuzz(func(t *testing.T, measure, province string) {
		fig, err := s.Figures(t.Context(), measure, province)
		var e *cancuoc.Error
		if err != nil && (!errors.As(err, &e) || e.Kind != cancuoc.NotFound) {
			t.Fatalf("Figures(%q, %q): %v", measure, province, err)
		}
		if err == nil && (fig.Measure != measure || len(fig.Rows) == 0) {
			t.Fatalf("Figures(%q, %q) = %+v", measure, province, fig)
		}
	})
}
