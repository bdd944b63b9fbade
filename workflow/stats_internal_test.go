package workflow

import "testing"

// TestQuantile pins the definition the statistics use: the nearest rank,
// the smallest value with at least q of the values at or below it
// (sorted[ceil(q·n)−1]), never an interpolation between two values.
func TestQuantile(t *testing.T) {
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(i + 1)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		{"empty", nil, 0.5, 0},
		{"one value, median", []float64{7}, 0.5, 7},
		{"one value, p95", []float64{7}, 0.95, 7},
		{"two values, median is the lower", []float64{1, 2}, 0.5, 1},
		{"three values, median is the middle", []float64{1, 2, 30}, 0.5, 2},
		{"ten, median rank 5 (not 5.5)", seq(10), 0.5, 5},
		{"ten, p95 rank 10", seq(10), 0.95, 10},
		{"twenty, p95 rank 19 (0.95·20 is 19, not above)", seq(20), 0.95, 19},
		{"twenty-one, p95 rank 20", seq(21), 0.95, 20},
		{"hundred, p95 rank 95", seq(100), 0.95, 95},
		{"hundred and one, median rank 51", seq(101), 0.5, 51},
		{"thousand, p95 rank 950", seq(1000), 0.95, 950},
		{"q 0 is the least", seq(5), 0, 1},
		{"q 1 is the greatest", seq(5), 1, 5},
		{"repeated values", []float64{3, 3, 3, 9}, 0.5, 3},
	} {
		if got := quantile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: quantile(n=%d, %v) = %v, want %v", tc.name, len(tc.sorted), tc.q, got, tc.want)
		}
	}
}
