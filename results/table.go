package results

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the run as a terminal table: one column per contender,
// the ratio of h2 to h1 last, and the verdict under it.
func WriteTable(w io.Writer, r *Run) error {
	fmt.Fprintf(w, "muxlab bench: %s (%s)\n", r.Scenario.Name, r.Scenario.Summary)
	fmt.Fprintf(w, "%s\n", describeRun(r))
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the figures are what was measured before Ctrl-C")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	g := summaryGrid(r)
	width := 0
	for _, line := range g.rows {
		width = max(width, len(line[0]))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len(s)) } // labels read left-aligned
	row(tw, append([]string{pad("")}, g.head...)...)
	for _, line := range g.rows {
		row(tw, append([]string{pad(line[0])}, line[1:]...)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes(r) {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Verdict)
	return err
}

// grid is the summary table: a header of contender labels (and the ratio),
// then rows whose first cell names the figure.
type grid struct {
	head []string
	rows [][]string
}

func summaryGrid(r *Run) grid {
	withRatio := r.Contender("h1") != nil && r.Contender("h2") != nil
	var g grid
	for _, c := range r.Contenders {
		g.head = append(g.head, c.Label)
	}
	if withRatio {
		g.head = append(g.head, "h2/h1")
	}
	for _, line := range tableRows(r) {
		cells := []string{line.name}
		for i := range r.Contenders {
			cells = append(cells, line.cell(&r.Contenders[i].Total))
		}
		if withRatio {
			cells = append(cells, ratioCell(r, line.figure))
		}
		if line.always || hasAny(cells[1:]) {
			g.rows = append(g.rows, cells)
		}
	}
	return g
}

// notes lists what a reader must know besides the figures: disagreements
// between client and server, errors by kind, and the run's own notes.
func notes(r *Run) []string {
	var out []string
	for _, c := range r.Contenders {
		if c.Total.Disagreement != "" {
			out = append(out, c.Label+": "+c.Total.Disagreement)
		}
		if len(c.Total.Errors) > 0 {
			out = append(out, "errors of "+c.Label+": "+formatCounts(c.Total.Errors))
		}
	}
	return append(out, r.Notes...)
}

func describeRun(r *Run) string {
	s := r.Scenario
	var how string
	switch {
	case s.Mode == Page && s.Duration > 0:
		how = fmt.Sprintf("pages of %d objects for %v", s.Objects, s.Duration.D())
	case s.Mode == Page:
		how = fmt.Sprintf("%d pages of %d objects", s.Pages, s.Objects)
	case s.Duration > 0:
		how = fmt.Sprintf("%v", s.Duration.D())
	default:
		how = fmt.Sprintf("%d requests", s.Requests)
	}
	switch s.Mode {
	case Open:
		how += fmt.Sprintf(" at %g req/s (open loop, at most %d in flight)", s.Rate, s.Concurrency)
	case Closed:
		how += fmt.Sprintf(", %d in flight", s.Concurrency)
	}
	where := "server " + r.Target.H1URL + " (HTTP/1.1) and " + r.Target.H2CURL + " (h2c)"
	if r.Target.Embedded {
		where = "embedded mux server, " + r.Target.H1URL + " and " + r.Target.H2CURL
	}
	return fmt.Sprintf("%s per contender per round, %d rounds, warm-up %d; %s; server counts: %s",
		how, s.Rounds, s.Warmup, where, r.Target.GroundTruth)
}

type tableRow struct {
	name   string
	figure string // for the ratio column
	always bool   // print even when every cell is empty
	cell   func(*Round) string
}

func distRow(name, figure string, pick func(*Round) *Dist, val func(*Dist) float64) tableRow {
	return tableRow{name: name, figure: figure, cell: func(t *Round) string {
		d := pick(t)
		if d == nil || d.Count == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", val(d))
	}}
}

func tableRows(r *Run) []tableRow {
	lat := func(t *Round) *Dist { return t.Latency }
	wait := func(t *Round) *Dist { return t.Wait }
	svc := func(t *Round) *Dist { return t.Service }
	page := func(t *Round) *Dist { return t.Page }
	fast := func(t *Round) *Dist { return t.Classes["fast"] }
	slow := func(t *Round) *Dist { return t.Classes["slow"] }
	p50 := func(d *Dist) float64 { return d.P50 }
	p90 := func(d *Dist) float64 { return d.P90 }
	p99 := func(d *Dist) float64 { return d.P99 }
	p999 := func(d *Dist) float64 { return d.P999 }
	mx := func(d *Dist) float64 { return d.Max }
	rows := []tableRow{
		{name: "requests ok / sent", always: true, cell: func(t *Round) string { return fmt.Sprintf("%d / %d", t.OK, t.Sent) }},
		{name: "failed / cancelled", always: true, cell: func(t *Round) string { return fmt.Sprintf("%d / %d", t.Failed, t.Cancelled) }},
		{name: "throughput req/s", figure: "throughput", always: true, cell: func(t *Round) string { return count(t.Throughput) }},
	}
	if r.Scenario.Mode == Page {
		rows = append(rows,
			distRow("page p50 ms", "page p50", page, p50),
			distRow("page p99 ms", "page p99", page, p99),
			tableRow{name: "model page ms", cell: func(t *Round) string {
				if t.Model == nil {
					return ""
				}
				return fmt.Sprintf("%d x %.1f = %.1f", t.Model.Turns, msOf(t.Model.TurnTime), msOf(t.Model.Predicted))
			}},
			tableRow{name: "measured vs model", cell: func(t *Round) string {
				if t.Model == nil || t.Model.Measured == 0 {
					return ""
				}
				return fmt.Sprintf("%+.1f%%", 100*t.Model.Deviation)
			}},
		)
	}
	rows = append(rows,
		distRow("latency p50 ms", "latency p50", lat, p50),
		distRow("latency p90 ms", "", lat, p90),
		distRow("latency p99 ms", "latency p99", lat, p99),
		distRow("latency p99.9 ms", "", lat, p999),
		distRow("latency max ms", "", lat, mx),
		distRow("fast requests p99 ms", "fast latency p99", fast, p99),
		distRow("slow requests p99 ms", "", slow, p99),
		distRow("wait p50 ms", "", wait, p50),
		distRow("wait p99 ms", "", wait, p99),
		distRow("service p50 ms", "", svc, p50),
		distRow("service p99 ms", "", svc, p99),
		tableRow{name: "connections (client)", cell: func(t *Round) string {
			if t.Client == nil {
				return "-"
			}
			return fmt.Sprint(t.Client.Dials)
		}},
		tableRow{name: "connections (server)", figure: "server connections", cell: func(t *Round) string {
			if t.Server == nil {
				return "-"
			}
			return fmt.Sprint(t.Server.ConnectionsAccepted)
		}},
		tableRow{name: "peak in flight per conn (server)", cell: func(t *Round) string {
			if t.Server == nil {
				return "-"
			}
			return fmt.Sprint(t.Server.PeakInFlightPerConn)
		}},
		tableRow{name: "cpu s (whole process)", always: true, cell: func(t *Round) string {
			return fmt.Sprintf("%.2f", t.CPU.D().Seconds())
		}},
	)
	return rows
}

func ratioCell(r *Run, figure string) string {
	if figure == "" {
		return ""
	}
	x, ok := r.Ratio("h2", figure)
	if !ok {
		return ""
	}
	if x.Min == x.Max {
		return fmt.Sprintf("%.2fx", x.Median)
	}
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", x.Median, x.Min, x.Max)
}

func msOf(d Duration) float64 { return float64(d.D()) / float64(time.Millisecond) }

func row(w io.Writer, cells ...string) {
	fmt.Fprintln(w, strings.Join(cells, "\t")+"\t")
}

func hasAny(cells []string) bool {
	for _, c := range cells {
		if c != "" && c != "-" {
			return true
		}
	}
	return false
}

func formatCounts(m map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
