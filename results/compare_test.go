package results_test

import (
	"math"
	"testing"

	"muxlab/internal/resultstest"
	"muxlab/results"
)

// The exact test's p-values, checked against the distribution of U (every
// split of the pooled values counted by hand) and against R's wilcox.test.
func TestMannWhitneyP(t *testing.T) {
	for _, tc := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3}, []float64{4, 5, 6}, 0.1},                    // the most extreme of 20 splits, both tails
		{[]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252}, // wilcox.test: p-value = 0.007937
		{[]float64{1, 3, 5}, []float64{2, 4, 6}, 0.7},                    // |U-4.5| >= 1.5 in 14 of 20 splits
		{[]float64{5, 5, 5}, []float64{5, 5, 5}, 1},
		{nil, []float64{1}, 1},
	} {
		if got := results.MannWhitneyP(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("MannWhitneyP(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	// Beyond 20 values, the normal approximation: 12 against 12 values
	// with no overlap is far below Alpha.
	var a, b []float64
	for i := range 12 {
		a, b = append(a, float64(i)), append(b, float64(100+i))
	}
	if p := results.MannWhitneyP(a, b); p > 1e-3 {
		t.Errorf("two separate samples of 12: p %v", p)
	}
}

// Two runs compared figure by figure: the change of the median, and a
// p-value that two rounds on each side cannot push below Alpha.
func TestCompareRuns(t *testing.T) {
	a, b := resultstest.Sample(), resultstest.Sample()
	for i := range b.Contenders[1].Rounds {
		b.Contenders[1].Rounds[i].Throughput *= 2
	}
	changes := results.CompareRuns(a, b)
	var found bool
	for _, c := range changes {
		if c.Contender == "h2" && c.Figure == "throughput" {
			found = true
			if math.Abs(c.Delta-1) > 1e-9 || c.Significant() || len(c.A) != 2 {
				t.Errorf("h2 throughput doubled: %+v", c)
			}
		}
		if c.Contender == "h1" && c.Delta != 0 {
			t.Errorf("h1 unchanged: %+v", c)
		}
	}
	if !found {
		t.Errorf("no throughput change among %+v", changes)
	}
}
