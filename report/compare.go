package report

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"muxlab/results"
)

// WriteComparison prints two runs' figures side by side, per contender:
// each run's median over its rounds, the change, and the p-value of the
// Mann-Whitney U test over the rounds (~ when not significant), as
// benchstat prints a comparison of benchmarks.
func WriteComparison(w io.Writer, nameA, nameB string, a, b *results.Run) error {
	fmt.Fprintf(w, "A: %s: %s, %s, %d rounds\n", nameA, a.Scenario.Name, describeNetwork(a), a.Scenario.Rounds)
	fmt.Fprintf(w, "B: %s: %s, %s, %d rounds\n", nameB, b.Scenario.Name, describeNetwork(b), b.Scenario.Rounds)
	if a.Scenario.Name != b.Scenario.Name || a.Network.Profile != b.Network.Profile {
		fmt.Fprintln(w, "note: the runs differ in scenario or network: their figures measure different things")
	}
	changes := results.CompareRuns(a, b)
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no contender is in both runs: nothing to compare")
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "contender\tfigure\tA\tB\tchange\tp\t")
	significant := 0
	for _, c := range changes {
		delta := "~"
		switch {
		case math.IsNaN(c.Delta):
			delta = "n/a"
		case c.Significant():
			delta = fmt.Sprintf("%+.1f%%", 100*c.Delta)
			significant++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tp=%.3f n=%d+%d\t\n", c.Contender, c.Figure, figureValue(c.Figure, c.MedianA),
			figureValue(c.Figure, c.MedianB), delta, c.P, len(c.A), len(c.B))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d of %d changes significant at p < %.2f (Mann-Whitney U over the rounds; ~: not significant, the change is within the noise of so few rounds)\n",
		significant, len(changes), results.Alpha)
	return err
}

// figureValue formats a median of figure for the comparison.
func figureValue(figure string, v float64) string {
	switch figure {
	case "throughput":
		return fmt.Sprintf("%.1f req/s", v)
	case "server connections":
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// describeNetwork names a run's network in a few words.
func describeNetwork(r *results.Run) string {
	if r.Network.Profile == "" {
		return "loopback"
	}
	return r.Network.Profile
}
