package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"muxlab/results"
)

// WriteTableWidth prints the run as WriteTable does when that fits in width
// columns (width <= 0: any width); otherwise a narrower form that keeps
// every contender, its headline figures, the server's counts, the ratios
// and the verdict, with every line wrapped to width.
func WriteTableWidth(w io.Writer, r *results.Run, width int) error {
	var full bytes.Buffer
	if err := WriteTable(&full, r); err != nil {
		return err
	}
	if width <= 0 || widest(full.String()) <= width {
		_, err := w.Write(full.Bytes())
		return err
	}
	return writeNarrow(w, r, width)
}

// widest is the longest line of s, in characters.
func widest(s string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		n = max(n, utf8.RuneCountInString(line))
	}
	return n
}

// narrowFigures are the figures of the narrow table, by mode: a page's
// time, or a request's latency.
func narrowFigures(r *results.Run) [][2]string {
	if r.Scenario.Mode == results.Page {
		return [][2]string{{"page p50", "page p50"}, {"page p99", "p99 ms"}}
	}
	return [][2]string{{"latency p50", "latency p50"}, {"latency p99", "p99 ms"}}
}

func writeNarrow(w io.Writer, r *results.Run, width int) error {
	var b strings.Builder
	b.WriteString(wrap(fmt.Sprintf("muxlab bench: %s (%s)", r.Scenario.Name, r.Scenario.Summary), width))
	for _, line := range strings.Split(describeRun(r), "\n") {
		b.WriteString(wrap(line, width))
	}
	if r.Interrupted {
		b.WriteString(wrap("INTERRUPTED: the figures are what was measured before Ctrl-C", width))
	}
	b.WriteString("\n")
	base := r.BaselineContender()
	figs := narrowFigures(r)
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"contender", "ok/sent"}
	for _, f := range figs {
		head = append(head, f[1])
	}
	head = append(head, "server conns")
	if base != nil {
		head = append(head, "vs "+base.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i := range r.Contenders {
		c := &r.Contenders[i]
		t := &c.Total
		cells := []string{c.Label, fmt.Sprintf("%d/%d", t.OK, t.Sent)}
		for _, f := range figs {
			cells = append(cells, figureCell(t, f[0]))
		}
		conns := "-"
		if t.Server != nil {
			conns = fmt.Sprint(t.Server.ConnectionsAccepted)
			if t.Server.ConnectionsIdle > 0 {
				conns += fmt.Sprintf(" (%d idle)", t.Server.ConnectionsIdle)
			}
		}
		if t.Link != nil && t.Link.Behind {
			conns += " BEHIND"
		}
		cells = append(cells, conns)
		if base != nil {
			ratio := ""
			if c != base && !c.Reference {
				if x, ok := r.Ratio(c.Name, figs[0][0]); ok {
					ratio = fmt.Sprintf("%.2fx", x.Median)
				}
			}
			cells = append(cells, ratio)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	table := tb.String()
	if widest(table) > width { // labels too long even so: one contender per block
		table = contenderBlocks(r, figs, width)
	}
	b.WriteString(table)
	b.WriteString(wrap(fmt.Sprintf("(a narrow table for %d columns: the full one has every figure; widen the terminal, set COLUMNS, or see --json)", width), width))
	for _, n := range notes(r) {
		b.WriteString(wrap("note: "+n, width))
	}
	b.WriteString("\n")
	for _, line := range strings.Split(r.Verdict, "\n") {
		b.WriteString(wrap(line, width))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// contenderBlocks is the narrow table for a very narrow width: each
// contender's figures as lines of their own.
func contenderBlocks(r *results.Run, figs [][2]string, width int) string {
	var b strings.Builder
	for i := range r.Contenders {
		c := &r.Contenders[i]
		t := &c.Total
		b.WriteString(wrap(c.Label, width))
		line := fmt.Sprintf("  ok %d/%d", t.OK, t.Sent)
		for _, f := range figs {
			line += fmt.Sprintf(", %s %s", f[1], figureCell(t, f[0]))
		}
		if t.Server != nil {
			line += fmt.Sprintf(", server conns %d", t.Server.ConnectionsAccepted)
		}
		if base := r.BaselineContender(); base != nil && c != base && !c.Reference {
			if x, ok := r.Ratio(c.Name, figs[0][0]); ok {
				line += fmt.Sprintf(", %s %.2fx of %s's", figs[0][0], x.Median, base.Name)
			}
		}
		b.WriteString(wrap(line, width))
	}
	return b.String()
}

// figureCell is one figure of a round, in milliseconds; "-" when none.
func figureCell(t *results.Round, figure string) string {
	var d *results.Dist
	switch figure {
	case "page p50", "page p99":
		d = t.Page
	default:
		d = t.Latency
	}
	if d == nil || d.Count == 0 {
		return "-"
	}
	if strings.HasSuffix(figure, "p99") {
		return fmt.Sprintf("%.1f", d.P99)
	}
	return fmt.Sprintf("%.1f", d.P50)
}

// wrap breaks s into lines of at most width characters at spaces, the
// lines after the first indented by two; a word longer than a line is
// left whole. It ends with a newline.
func wrap(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) <= width {
		return s + "\n"
	}
	var b strings.Builder
	line, indent := "", ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = indent + word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
			b.WriteString(line + "\n")
			indent = "  "
			line = indent + word
		default:
			line += " " + word
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}
