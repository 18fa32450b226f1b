package report

import (
	"muxlab/results"

	"fmt"
	"html"
	"image/color"
	"math"
	"slices"
	"strings"
)

// No chart library draws a waterfall grouped by connection, so this one is
// drawn by hand: one lane per connection, one row per request in its lane,
// each request a bar split into its wait (light) and its service (solid).

const (
	wfWidth  = 900.0 // px, the whole drawing
	wfLabel  = 120.0 // px, left margin for lane labels
	wfRow    = 4.0   // px per request
	wfGap    = 8.0   // px between lanes
	wfTop    = 24.0  // px above the first lane, for the axis
	wfBottom = 8.0
)

// sampleOf is the sampled page of a contender's first round that has one.
func sampleOf(c *results.Contender) []results.Timing {
	for _, rd := range c.Rounds {
		if len(rd.Sample) > 0 {
			return rd.Sample
		}
	}
	return nil
}

// sampleEnd is the last end of any contender's sampled page in r, in
// microseconds: the time axis every waterfall of the run shares, so that
// a page twice as long draws twice as long.
func sampleEnd(r *results.Run) int64 {
	var end int64
	for i := range r.Contenders {
		for _, t := range sampleOf(&r.Contenders[i]) {
			end = max(end, t.EndUS)
		}
	}
	return end
}

// waterfall draws the sampled page of one contender's first round on a time
// axis to axisEnd microseconds (at least its own end), or returns "" if it
// has no sample.
func waterfall(c *results.Contender, col color.RGBA, axisEnd int64) string {
	sample := sampleOf(c)
	if len(sample) == 0 {
		return ""
	}
	lanes := map[uint64][]results.Timing{}
	var conns []uint64
	var end int64
	for _, t := range sample {
		if _, ok := lanes[t.Conn]; !ok {
			conns = append(conns, t.Conn)
		}
		lanes[t.Conn] = append(lanes[t.Conn], t)
		end = max(end, t.EndUS)
	}
	slices.Sort(conns)
	end = max(end, axisEnd)
	height := wfTop + wfBottom + float64(len(sample))*wfRow + float64(len(conns)-1)*wfGap
	scale := (wfWidth - wfLabel - 10) / float64(max(end, 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		wfWidth, height, wfWidth, height, html.EscapeString("waterfall of one page, "+c.Label))
	writeAxis(&b, end, scale, height)
	y := wfTop
	for _, conn := range conns {
		reqs := lanes[conn]
		slices.SortFunc(reqs, func(a, b results.Timing) int { return int(a.SentUS - b.SentUS) })
		label := fmt.Sprintf("conn %d (%d)", conn, len(reqs))
		switch {
		case conn == 0 && c.Counterpart != "": // a browser's timings do not say which connection
			label = fmt.Sprintf("browser (%d)", len(reqs))
		case conn == 0:
			label = fmt.Sprintf("no connection (%d)", len(reqs))
		}
		laneH := float64(len(reqs)) * wfRow
		fmt.Fprintf(&b, `<rect class="lane" x="0" y="%.1f" width="%.0f" height="%.1f" fill="#f4f4f4"/>`, y, wfWidth, laneH)
		fmt.Fprintf(&b, `<text x="4" y="%.1f" font-size="11" font-family="sans-serif" fill="#333">%s</text>`,
			y+math.Min(laneH, 14)-3, html.EscapeString(label))
		for _, t := range reqs {
			x0 := wfLabel + float64(t.StartUS)*scale
			x1 := wfLabel + float64(max(t.SentUS, t.StartUS))*scale
			x2 := wfLabel + float64(max(t.EndUS, t.SentUS))*scale
			title := fmt.Sprintf("object %d on conn %d: wait %.1f ms, service %.1f ms, status %d",
				t.Object, t.Conn, float64(t.SentUS-t.StartUS)/1000, float64(t.EndUS-t.SentUS)/1000, t.Status)
			fmt.Fprintf(&b, `<g class="req"><title>%s</title>`, html.EscapeString(title))
			fmt.Fprintf(&b, `<rect class="wait" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
				x0, y, math.Max(x1-x0, 0), wfRow-1, hexColor(shade(col, 0.3)))
			fmt.Fprintf(&b, `<rect class="service" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/></g>`,
				x1, y, math.Max(x2-x1, 0.5), wfRow-1, hexColor(col))
			y += wfRow
		}
		y += wfGap
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// writeAxis draws time ticks across the top and light lines down the lanes.
func writeAxis(b *strings.Builder, endUS int64, scale, height float64) {
	stepMS := niceStep(float64(endUS) / 1000 / 8)
	for ms := 0.0; ms*1000 <= float64(endUS)*1.0001; ms += stepMS {
		x := wfLabel + ms*1000*scale
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`, x, wfTop-4, x, height-wfBottom)
		fmt.Fprintf(b, `<text x="%.1f" y="14" font-size="11" font-family="sans-serif" fill="#333" text-anchor="middle">%g ms</text>`, x, ms)
	}
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
