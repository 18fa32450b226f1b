package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"muxlab/results"
)

// writeSweepTable prints a sweep: one line per point, each contender's p50
// and p99 of the compared figure, and each challenger's ratio.
func writeSweepTable(w io.Writer, r *results.Run) error {
	sw := r.Sweep
	fmt.Fprintf(w, "muxlab sweep: %s over %s (%s)\n", r.Scenario.Name, sw.Parameter, r.Scenario.Summary)
	fmt.Fprintf(w, "first point's network: %s\n", r.Network.Describe())
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the points are what was measured before Ctrl-C")
	}
	fmt.Fprintln(w)
	figure, name := results.SweepFigure(r.Scenario)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{sw.Parameter}
	first := sw.Points[0].Run
	for _, c := range first.Contenders {
		head = append(head, c.Label+" "+name+" p50 / p99 ms")
	}
	for _, c := range first.Challengers() {
		head = append(head, c.Name+"/"+first.BaselineContender().Name)
	}
	// A scenario of fast and slow requests says, per contender, what held
	// the fast ones back at each point: the layer that blocks.
	causes := r.Scenario.SlowEvery > 0
	if causes {
		for _, c := range first.Contenders {
			head = append(head, c.Name+" held back by")
		}
	}
	head = append(head, "drops / retransmits / behind")
	row(tw, head...)
	for _, p := range sw.Points {
		cells := []string{p.Value}
		var drops, retx int64
		behind := false
		for _, c := range p.Run.Contenders {
			d := results.SweepDist(r.Scenario, &c.Total)
			if d == nil || d.Count == 0 {
				cells = append(cells, "-")
			} else {
				cells = append(cells, fmt.Sprintf("%.1f / %.1f", d.P50, d.P99))
			}
			if l := c.Total.Link; l != nil {
				drops, retx, behind = drops+l.DroppedLoss+l.DroppedQueue, retx+l.Retransmits, behind || l.Behind
			}
		}
		for _, c := range first.Challengers() {
			cells = append(cells, ratioCell(p.Run, c.Name, figure))
		}
		if causes {
			for i := range p.Run.Contenders {
				c := &p.Run.Contenders[i]
				if cause := holdCause(&c.Total, c.Protocol); cause != "" {
					cells = append(cells, cause)
				} else {
					cells = append(cells, "-")
				}
			}
		}
		link := fmt.Sprintf("%d / %d", drops, retx)
		if behind {
			link += " BEHIND"
		}
		row(tw, append(cells, link)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Verdict)
	return err
}

// sweepChart draws the compared figure (p50 solid, p99 dashed) against the
// swept parameter, one colour per contender.
func sweepChart(r *results.Run, cols colors) (string, error) {
	sw := r.Sweep
	_, name := results.SweepFigure(r.Scenario)
	p := newPlot(fmt.Sprintf("%s against %s", name, sw.Parameter), fmt.Sprintf("%s (%s)", sw.Parameter, sw.Unit), name+" (ms)")
	first := sw.Points[0].Run
	n := 0
	for ci, c := range first.Contenders {
		for k, q := range []struct {
			label string
			pick  func(*results.Dist) float64
		}{{"p50", func(d *results.Dist) float64 { return d.P50 }}, {"p99", func(d *results.Dist) float64 { return d.P99 }}} {
			var xys plotter.XYs
			for _, pt := range sw.Points {
				if ci >= len(pt.Run.Contenders) {
					continue
				}
				t := pt.Run.Contenders[ci].Total
				if d := results.SweepDist(r.Scenario, &t); d != nil && d.Count > 0 {
					xys = append(xys, plotter.XY{X: pt.X, Y: q.pick(d)})
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return "", err
			}
			col := cols.of(c.Name)
			line.Color, points.Color = col, col
			line.Width = vg.Points(2)
			points.Shape = draw.CircleGlyph{}
			if k == 1 {
				line.Dashes = dashes[1]
			}
			p.Add(line, points)
			p.Legend.Add(fmt.Sprintf("%s %s", c.Label, q.label), line, points)
			n++
		}
	}
	if n == 0 {
		return "", nil
	}
	p.Y.Min = 0
	roomForLegend(p, p.Y.Max, n)
	return svg(p, 18*vg.Centimeter, 11*vg.Centimeter)
}

// buildSweepGroup is a sweep's section: its chart, its verdict, and each
// point's run in full.
func buildSweepGroup(gi int, s Source, cols colors) (reportGroup, error) {
	r := s.Run
	g := reportGroup{ID: fmt.Sprintf("scenario-%d", gi), Scenario: fmt.Sprintf("%s over %s (sweep)", r.Scenario.Name, r.Sweep.Parameter),
		Summary: r.Scenario.Summary, Verdict: strings.Split(r.Verdict, "\n")}
	if p := r.Sweep.Points[0].Run; p != nil {
		g.Layers = layersOf([]Source{{Run: p}})
	}
	for k, p := range r.Sweep.Points {
		rr := buildRun(fmt.Sprintf("%s-run-%d", g.ID, k), Source{Name: s.Name, Run: p.Run})
		rr.Title = fmt.Sprintf("%s %s", r.Sweep.Parameter, p.Value)
		g.Runs = append(g.Runs, rr)
	}
	out, err := sweepChart(r, cols)
	if err != nil {
		return g, err
	}
	if out != "" {
		_, name := results.SweepFigure(r.Scenario)
		g.Lead = append(g.Lead, reportChart{Kind: "sweep", SVG: template.HTML(out),
			Caption: fmt.Sprintf("The %s's median (solid) and 99th percentile (dashed) at each %s, one colour per contender: the figure of the SPDY whitepaper and of \"How speedy is SPDY?\" (NSDI'14).", name, r.Sweep.Parameter)})
	}
	return g, nil
}
