package results_test

import (
	"errors"
	"math"
	"testing"
	"time"

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

// Thresholds read as k6's do and hold against a run: a ratio as the ratio
// columns give it, a figure of one contender, a bare figure of every
// contender but the references.
func TestThresholds(t *testing.T) {
	r := resultstest.Sample() // h2/h1 page p50 about 0.51; 2 failed each
	for _, tc := range []struct {
		expr   string
		missed bool
	}{
		{"h2/h1 page p50>0.8", false},
		{"h2/h1 page p50<0.8", true},
		{"h2/h1 page p50 < 80%", true},
		{"failed>0", true},
		{"failed>=3", false},
		{"h1 page p50>=101ms", true},
		{"h1 throughput<20 req/s", false},
		{"h3 latency p99>1", true}, // did not run: missed, not checked
	} {
		th, err := results.ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		th.Check(r)
		if th.Missed != tc.missed {
			t.Errorf("%q: missed %v (%s), want %v", tc.expr, th.Missed, th.Why, tc.missed)
		}
	}
	for _, bad := range []string{"", "failed", "page p50 > x", "nothing>1", "a b page p50>1"} {
		if _, err := results.ParseThreshold(bad); !errors.Is(err, results.ErrThreshold) {
			t.Errorf("%q: %v, want ErrThreshold", bad, err)
		}
	}
}

// A sweep of a scenario of slow and fast requests draws the fast ones'
// latency, where head-of-line blocking shows; a page sweep the page time.
func TestSweepFigureOfHOL(t *testing.T) {
	fast := results.NewHistogram()
	fast.Record(7 * time.Millisecond)
	rd := &results.Round{Latency: fast.Dist(), Classes: map[string]*results.Dist{"fast": fast.Dist()}}
	if f, _ := results.SweepFigure(results.Scenario{Mode: results.Closed, SlowEvery: 10}); f != "fast latency p99" ||
		results.SweepDist(results.Scenario{Mode: results.Closed, SlowEvery: 10}, rd) != rd.Classes["fast"] {
		t.Errorf("hol sweeps %q", f)
	}
	if f, _ := results.SweepFigure(results.Scenario{Mode: results.Page}); f != "page p50" {
		t.Errorf("page sweeps %q", f)
	}
}
