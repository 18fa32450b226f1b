package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"muxlab/results"
)

// pageObjects summarises a recorded page's objects by origin: how many,
// their recorded bytes, and their types; nil unless the run replayed a page
// of known origins.
func pageObjects(r *results.Run) (head []string, rows [][]string) {
	sc := r.Scenario
	if len(sc.Hosts) == 0 || len(sc.Hosts) != len(sc.Paths) {
		return nil, nil
	}
	type origin struct {
		objects int
		bytes   int64
		types   map[string]int
	}
	var order []string
	by := map[string]*origin{}
	for i, h := range sc.Hosts {
		o := by[h]
		if o == nil {
			o = &origin{types: map[string]int{}}
			by[h] = o
			order = append(order, h)
		}
		o.objects++
		if i < len(sc.ObjectSizes) {
			o.bytes += sc.ObjectSizes[i]
		}
		t := "unknown"
		if i < len(sc.ObjectTypes) {
			t = sc.ObjectTypes[i]
		}
		o.types[t]++
	}
	for _, h := range order {
		o := by[h]
		var types []string
		for _, t := range slices.Sorted(maps.Keys(o.types)) {
			types = append(types, fmt.Sprintf("%s %d", t, o.types[t]))
		}
		rows = append(rows, []string{h, fmt.Sprint(o.objects), fmt.Sprintf("%.1f", float64(o.bytes)/1024), strings.Join(types, ", ")})
	}
	return []string{"origin", "objects", "KiB", "types"}, rows
}

// writePageObjects prints pageObjects above the table.
func writePageObjects(w io.Writer, r *results.Run) {
	head, rows := pageObjects(r)
	if rows == nil {
		return
	}
	fmt.Fprintf(w, "the page's objects by origin (each origin on connections of its own; connection k*%d+c is origin k's c):\n", 1000)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row(tw, append([]string{" "}, head...)...)
	for _, r := range rows {
		row(tw, append([]string{" "}, r...)...)
	}
	tw.Flush()
}

// agentRows are a merged run's agents, each contender's figures on each.
func agentRows(r *results.Run) (head []string, rows [][]string) {
	if len(r.Agents) == 0 {
		return nil, nil
	}
	head = []string{"agent"}
	for _, c := range r.Contenders {
		head = append(head, c.Name+" ok / sent, p99 ms, server conns")
	}
	for _, a := range r.Agents {
		row := []string{a.Name}
		for _, c := range r.Contenders {
			cell := "-"
			for _, t := range a.Contenders {
				if t.Name == c.Name {
					cell = fmt.Sprintf("%d / %d, %.2f, %d", t.OK, t.Sent, t.LatencyP99, t.ServerConns)
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	return head, rows
}

// writeAgents prints agentRows under the table.
func writeAgents(w io.Writer, r *results.Run) {
	head, rows := agentRows(r)
	if rows == nil {
		return
	}
	fmt.Fprintf(w, "\nthe agents' own figures (the table above merges them):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, head...)
	for _, r := range rows {
		row(tw, r...)
	}
	tw.Flush()
}
