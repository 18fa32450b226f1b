package results

import (
	"math"
	"slices"
)

// Alpha is the significance level of CompareRuns: a change whose p-value is
// below it is called significant, as benchstat does.
const Alpha = 0.05

// Change is one figure of one contender in two runs: its value in each
// round of each run (rounds cut short left out), their medians, the
// relative change of the median, and a two-sided Mann-Whitney U test of
// whether the rounds of the two runs differ.
type Change struct {
	Contender string
	Figure    string
	A, B      []float64
	MedianA   float64
	MedianB   float64
	// Delta is (MedianB - MedianA) / MedianA; NaN when MedianA is 0.
	Delta float64
	// P is the test's p-value: exact over every ordering of the rounds
	// for small runs, the normal approximation otherwise. With three
	// rounds on each side it cannot be below 0.1: more rounds are needed
	// to call a change significant.
	P float64
}

// Significant says the change is unlikely to be noise: P < Alpha.
func (c Change) Significant() bool { return c.P < Alpha }

// CompareRuns compares every figure of every contender that both runs
// have, in the order of a's contenders.
func CompareRuns(a, b *Run) []Change {
	var out []Change
	for i := range a.Contenders {
		ca := &a.Contenders[i]
		cb := b.Contender(ca.Name)
		if cb == nil {
			continue
		}
		for _, f := range figures {
			va, vb := roundValues(ca, f), roundValues(cb, f)
			if len(va) == 0 || len(vb) == 0 {
				continue
			}
			c := Change{Contender: ca.Name, Figure: f.name, A: va, B: vb, MedianA: medianOf(va), MedianB: medianOf(vb)}
			c.Delta = math.NaN()
			if c.MedianA != 0 {
				c.Delta = (c.MedianB - c.MedianA) / c.MedianA
			}
			c.P = MannWhitneyP(va, vb)
			out = append(out, c)
		}
	}
	return out
}

func roundValues(c *Contender, f figure) []float64 {
	var out []float64
	for k := range c.Rounds {
		if c.Rounds[k].Interrupted {
			continue
		}
		if v, ok := f.get(&c.Rounds[k]); ok {
			out = append(out, v)
		}
	}
	return out
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return median(s)
}

// MannWhitneyP is the two-sided p-value of the Mann-Whitney U test of
// samples a and b (ties get their mean rank): the share of the ways of
// splitting the pooled values into groups of their sizes whose U is at
// least as far from its mean as the observed one, counted exactly when
// there are at most 20 values, by the normal approximation (with the tie
// correction) beyond. 1 when either sample is empty.
func MannWhitneyP(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	pooled := append(slices.Clone(a), b...)
	ranks := midRanks(pooled)
	u := func(inA []bool) float64 {
		var r float64
		for i, in := range inA {
			if in {
				r += ranks[i]
			}
		}
		return r - float64(n1*(n1+1))/2
	}
	mean := float64(n1*n2) / 2
	observed := make([]bool, n1+n2)
	for i := range n1 {
		observed[i] = true
	}
	dev := math.Abs(u(observed) - mean)
	n := n1 + n2
	if n <= 20 {
		var extreme, total float64
		pick := make([]bool, n)
		var walk func(i, left int)
		walk = func(i, left int) {
			if left == 0 {
				total++
				if math.Abs(u(pick)-mean) >= dev-1e-9 {
					extreme++
				}
				return
			}
			if n-i < left {
				return
			}
			pick[i] = true
			walk(i+1, left-1)
			pick[i] = false
			walk(i+1, left)
		}
		walk(0, n1)
		return extreme / total
	}
	// Normal approximation with the tie correction.
	counts := map[float64]int{}
	for _, v := range pooled {
		counts[v]++
	}
	var ties float64
	for _, t := range counts {
		ties += float64(t*t*t - t)
	}
	variance := float64(n1*n2) / 12 * (float64(n+1) - ties/float64(n*(n-1)))
	if variance <= 0 {
		return 1
	}
	z := (dev - 0.5) / math.Sqrt(variance)
	if z < 0 {
		return 1
	}
	return math.Erfc(z / math.Sqrt2)
}

// midRanks ranks v from 1, ties sharing the mean of their ranks.
func midRanks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		r := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			ranks[idx[k]] = r
		}
		i = j + 1
	}
	return ranks
}
