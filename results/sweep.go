package results

import (
	"fmt"
	"strings"
)

// Sweep is one scenario run across values of one parameter: a run per
// value. A sweep's Run holds the scenario and the network of its first
// point, no contenders of its own, and a verdict about the whole sweep.
type Sweep struct {
	// Parameter is what varies: "loss", "rtt", "bandwidth" or "objects";
	// Unit the unit of each point's X ("%", "ms", "Mbit/s", "objects").
	Parameter string       `json:"parameter"`
	Unit      string       `json:"unit"`
	Points    []SweepPoint `json:"points"`
}

// SweepPoint is the run at one value of the parameter.
type SweepPoint struct {
	// Value is the value as given ("2%"); X is it in the sweep's Unit.
	Value string  `json:"value"`
	X     float64 `json:"x"`
	Run   *Run    `json:"run"`
}

// SweepFigure is the figure a sweep compares at every point: the page time
// in Page mode, the latency otherwise.
func SweepFigure(sc Scenario) (figure, name string) {
	switch {
	case sc.Mode == Page:
		return "page p50", "page time"
	case sc.SlowEvery > 0: // what head-of-line blocking does: the fast requests' tail
		return "fast latency p99", "fast requests' latency"
	}
	return "latency p50", "latency"
}

// SweepDist is the distribution a sweep draws for a round of scenario sc:
// the page time, the fast requests' latency (a scenario of slow and fast
// requests), or the latency.
func SweepDist(sc Scenario, rd *Round) *Dist {
	switch {
	case sc.Mode == Page:
		return rd.Page
	case sc.SlowEvery > 0 && rd.Classes["fast"] != nil:
		return rd.Classes["fast"]
	}
	return rd.Latency
}

// SummarizeSweep writes the sweep's verdict: each challenger's ratio to the
// baseline at every point, and where the ratio crosses 1.
func SummarizeSweep(r *Run) {
	s := r.Sweep
	if s == nil || len(s.Points) == 0 || s.Points[0].Run == nil {
		return
	}
	first := s.Points[0].Run
	r.Baseline = first.Baseline
	figure, name := SweepFigure(first.Scenario)
	var lines []string
	behindPoints := 0
	for _, c := range first.Challengers() {
		var cells []string
		prev, prevX := 0.0, ""
		cross := ""
		for _, p := range s.Points {
			if p.Run == nil {
				continue
			}
			x, ok := p.Run.Ratio(c.Name, figure)
			if !ok {
				cells = append(cells, fmt.Sprintf("- at %s", p.Value))
				continue
			}
			cell := fmt.Sprintf("%.2fx at %s", x.Median, p.Value)
			if b, oc := p.Run.BaselineContender(), p.Run.Contender(c.Name); b != nil && oc != nil {
				if behind, _ := behindTurns(b, oc); behind > 0 {
					cell += " BEHIND"
					behindPoints++
				}
			}
			cells = append(cells, cell)
			if prevX != "" && cross == "" && (prev < 1) != (x.Median < 1) {
				faster := "faster"
				if x.Median >= 1 {
					faster = "slower"
				}
				cross = fmt.Sprintf("; %s becomes %s than %s between %s %s and %s", c.Name, faster, r.Baseline, s.Parameter, prevX, p.Value)
			}
			prev, prevX = x.Median, p.Value
		}
		if s.Parameter == "stack" {
			cross = "" // two stacks, not a range: nothing crosses
		} else if cross == "" && prevX != "" {
			cross = fmt.Sprintf("; no crossing over this range (below 1: %s is faster)", c.Name)
		}
		lines = append(lines, fmt.Sprintf("%s/%s %s (%s): %s%s", c.Name, r.Baseline, name, figure[strings.LastIndex(figure, " ")+1:], strings.Join(cells, ", "), cross))
	}
	if s.Parameter == "stack" {
		lines = append(lines, stackRatios(s, name)...)
	}
	if behindPoints > 0 {
		lines = append(lines, fmt.Sprintf("BEHIND: at %d of the points above the emulated link fell behind its schedule in some turn: those ratios are not to be trusted", behindPoints))
	}
	r.Verdict = strings.Join(lines, "\n")
}

// stackRatios says, per contender, how its figure (p50) on each later
// stack compares with the first point's: on a sweep over kernel and
// userspace, how far the userspace stack is from the kernel's.
func stackRatios(s *Sweep, name string) []string {
	p50 := func(r *Run, contender string) float64 {
		for _, c := range r.Contenders {
			if c.Name == contender {
				if d := SweepDist(r.Scenario, &c.Total); d != nil && d.Count > 0 {
					return d.P50
				}
			}
		}
		return 0
	}
	first := s.Points[0]
	var lines []string
	for _, p := range s.Points[1:] {
		if p.Run == nil {
			continue
		}
		var cells []string
		for _, c := range first.Run.Contenders {
			a, b := p50(first.Run, c.Name), p50(p.Run, c.Name)
			if a == 0 || b == 0 {
				cells = append(cells, c.Name+" -")
				continue
			}
			cells = append(cells, fmt.Sprintf("%s %.2fx", c.Name, b/a))
		}
		lines = append(lines, fmt.Sprintf("%s / %s, %s p50: %s", p.Value, first.Value, name, strings.Join(cells, ", ")))
	}
	return lines
}
