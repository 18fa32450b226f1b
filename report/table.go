package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"muxlab/results"
)

// WriteTable prints the run as a terminal table: one column per contender,
// then one ratio column per challenger against the baseline, and the
// verdict under it.
func WriteTable(w io.Writer, r *results.Run) error {
	if r.Sweep != nil && len(r.Sweep.Points) > 0 {
		return writeSweepTable(w, r)
	}
	fmt.Fprintf(w, "muxlab bench: %s (%s)\n", r.Scenario.Name, r.Scenario.Summary)
	fmt.Fprintf(w, "%s\n", describeRun(r))
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the figures are what was measured before Ctrl-C")
	}
	writePageObjects(w, r)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	g := summaryGrid(r)
	width := 0
	for _, line := range g.rows {
		width = max(width, utf8.RuneCountInString(line[0]))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-utf8.RuneCountInString(s)) } // labels read left-aligned
	row(tw, append([]string{pad("")}, g.head...)...)
	for _, line := range g.rows {
		row(tw, append([]string{pad(line[0])}, line[1:]...)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeLinkByTurn(w, r); err != nil {
		return err
	}
	writeAgents(w, r)
	for _, n := range notes(r) {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Verdict)
	return err
}

// linkByTurn is the emulated link's truth of every turn: a row per round,
// a column per contender; nil when the run crossed no link.
func linkByTurn(r *results.Run) [][]string {
	if !r.Network.Emulated {
		return nil
	}
	rounds := 0
	for _, c := range r.Contenders {
		rounds = max(rounds, len(c.Rounds))
	}
	var out [][]string
	for i := range rounds {
		line := []string{fmt.Sprintf("round %d", i+1)}
		for _, c := range r.Contenders {
			cell := "-"
			if i < len(c.Rounds) && c.Rounds[i].Link != nil {
				l := c.Rounds[i].Link
				cell = fmt.Sprintf("%d/%d drops, %d/%d retx/RTO, late %.1f ms", l.DroppedLoss, l.DroppedQueue, l.Retransmits, l.Timeouts, l.LateP99MS)
				if l.Behind {
					cell += " BEHIND"
				}
			}
			line = append(line, cell)
		}
		out = append(out, line)
	}
	return out
}

// writeLinkByTurn prints linkByTurn under the table.
func writeLinkByTurn(w io.Writer, r *results.Run) error {
	rows := linkByTurn(r)
	if rows == nil {
		return nil
	}
	fmt.Fprintln(w, "\nthe link by turn (drops lost/queue, TCP retransmits/timeouts, late p99):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{""}
	for _, c := range r.Contenders {
		head = append(head, c.Label)
	}
	row(tw, head...)
	for _, line := range rows {
		row(tw, line...)
	}
	return tw.Flush()
}

// grid is the summary table: a header of contender labels (and ratios),
// then rows whose first cell names the figure.
type grid struct {
	head []string
	rows [][]string
}

func summaryGrid(r *results.Run) grid {
	var g grid
	for _, c := range r.Contenders {
		g.head = append(g.head, c.Label)
	}
	b, challengers := r.BaselineContender(), r.Challengers()
	for _, c := range challengers {
		g.head = append(g.head, c.Name+"/"+b.Name)
	}
	for _, line := range tableRows(r) {
		if line.show != nil && !line.show(r) {
			continue
		}
		cells := []string{line.name}
		for i := range r.Contenders {
			t := &r.Contenders[i].Total
			cell := line.cell(t)
			if line.figure != "" && cell != "" && t.Link != nil && t.Link.Behind {
				cell += " (link behind)" // a figure measured over a late emulator is not the network's
			}
			cells = append(cells, cell)
		}
		for _, c := range challengers {
			cells = append(cells, ratioCell(r, c.Name, line.figure))
		}
		if line.always || hasAny(cells[1:]) {
			g.rows = append(g.rows, cells)
		}
	}
	return g
}

// notes lists what a reader must know besides the figures: turns that could
// not run, disagreements between client and server, listeners matched less
// than exactly, errors by kind, figures that rest on less than they seem,
// and the run's own notes.
func notes(r *results.Run) []string {
	var out []string
	for _, c := range r.Contenders {
		t := &c.Total
		if t.Error != "" {
			out = append(out, c.Label+" could not run: "+t.Error)
		}
		if t.Disagreement != "" {
			out = append(out, c.Label+": "+t.Disagreement)
		}
		if t.Server != nil && t.Server.Match != "" {
			out = append(out, c.Label+": the server's counts are its "+t.Server.Listener+" listener's, "+t.Server.Match)
		}
		if len(t.Errors) > 0 {
			out = append(out, "errors of "+c.Label+": "+formatCounts(t.Errors))
		}
		if t.Model != nil && t.Model.RTTError != "" {
			out = append(out, c.Label+": no page model, the round trip could not be measured: "+t.Model.RTTError)
		}
		if n := outOfRange(t); n > 0 {
			out = append(out, fmt.Sprintf("%s: %d times fell outside the histograms' range (0 to 1 h) and are held at its bound", c.Label, n))
		}
		var cut, behind, unplanned []string
		for _, rd := range c.Rounds {
			if rd.Interrupted {
				cut = append(cut, fmt.Sprint(rd.Round))
			}
			if rd.Link != nil && rd.Link.Behind {
				behind = append(behind, fmt.Sprintf("%d (late p99 %.1f ms)", rd.Round, rd.Link.LateP99MS))
			}
			if rd.Link != nil && rd.Link.Unplanned() > 0 {
				unplanned = append(unplanned, fmt.Sprintf("%d (%d at a device's queue, %d at a full UDP socket)", rd.Round, rd.Link.DroppedDevice, rd.Link.UDPBufferDrops))
			}
		}
		if len(unplanned) > 0 {
			out = append(out, fmt.Sprintf("%s: packets were lost where the link model did not decide it in round %s: "+
				"those figures carry more loss than configured; do not trust them as the network's", c.Label, strings.Join(unplanned, ", ")))
		}
		if len(behind) > 0 {
			out = append(out, fmt.Sprintf("%s: the emulated link fell behind its schedule in round %s, against a %g ms round trip: "+
				"those figures include delay nobody configured (a busy machine); do not trust them as the network's",
				c.Label, strings.Join(behind, ", "), r.Network.RTTMS))
		}
		if len(cut) > 0 {
			out = append(out, fmt.Sprintf("%s: round %s cut short by Ctrl-C, left out of the ratios", c.Label, strings.Join(cut, ", ")))
		}
	}
	return append(out, r.Notes...)
}

func outOfRange(t *results.Round) int64 {
	var n int64
	for _, d := range []*results.Dist{t.Latency, t.Lag, t.Wait, t.Service, t.Page} {
		if d != nil {
			n += d.OutOfRange
		}
	}
	return n
}

func describeRun(r *results.Run) string {
	s := r.Scenario
	var how string
	switch {
	case s.Mode == results.Page && s.Duration > 0:
		how = fmt.Sprintf("pages of %d objects for %v", s.Objects, s.Duration.D())
	case s.Mode == results.Page && s.Pages == 1:
		how = fmt.Sprintf("1 page of %d objects", s.Objects)
	case s.Mode == results.Page:
		how = fmt.Sprintf("%d pages of %d objects", s.Pages, s.Objects)
	case s.Duration > 0:
		how = fmt.Sprintf("%v", s.Duration.D())
	default:
		how = fmt.Sprintf("%d requests", s.Requests)
	}
	switch s.Mode {
	case results.Open:
		how += fmt.Sprintf(" at %g req/s (open loop, at most %d in flight)", s.Rate, s.Concurrency)
	case results.Closed:
		how += fmt.Sprintf(", %d in flight", s.Concurrency)
	}
	var urls []string
	for _, l := range slices.Sorted(maps.Keys(r.Target.URLs)) {
		urls = append(urls, l+" "+r.Target.URLs[l])
	}
	where := "server " + strings.Join(urls, ", ")
	if r.Target.Embedded {
		where = "embedded mux server, " + strings.Join(urls, ", ")
	}
	if s.Cold {
		how += ", each page on new connections (cold)"
	}
	network := r.Network.Describe()
	if why := r.Network.StackWhy; why != "" && why != "chosen" {
		network += "; " + why
	}
	rounds := fmt.Sprintf("%d rounds (order rotates)", s.Rounds)
	if s.Rounds == 1 {
		rounds = "1 round"
	}
	return fmt.Sprintf("%s per contender per round, %s, warm-up %d; %s; server counts: %s\n"+
		"network: %s\n"+
		"figures are over all rounds together; connection rows are each contender's busiest turn",
		how, rounds, s.Warmup, where, r.Target.GroundTruth, network)
}

type tableRow struct {
	name   string
	figure string                  // for the ratio columns
	always bool                    // print even when every cell is empty
	show   func(*results.Run) bool // nil: shown when a cell has a figure
	cell   func(*results.Round) string
}

func distRow(name, figure string, pick func(*results.Round) *results.Dist, val func(*results.Dist) float64) tableRow {
	return tableRow{name: name, figure: figure, cell: func(t *results.Round) string {
		d := pick(t)
		if d == nil || d.Count == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", val(d))
	}}
}

func p50(d *results.Dist) float64 { return d.P50 }
func p90(d *results.Dist) float64 { return d.P90 }
func p99(d *results.Dist) float64 { return d.P99 }

func tableRows(r *results.Run) []tableRow {
	rows := countRows(r)
	if r.Scenario.Mode == results.Page {
		rows = append(rows, pageRows()...)
		rows = append(rows, browserRows(r)...)
	}
	lat := func(t *results.Round) *results.Dist { return t.Latency }
	wait := func(t *results.Round) *results.Dist { return t.Wait }
	svc := func(t *results.Round) *results.Dist { return t.Service }
	fast := func(t *results.Round) *results.Dist { return t.Classes["fast"] }
	slow := func(t *results.Round) *results.Dist { return t.Classes["slow"] }
	rows = append(rows,
		distRow("latency p50 ms", "latency p50", lat, p50),
		distRow("latency p90 ms", "", lat, p90),
		distRow("latency p99 ms", "latency p99", lat, p99),
		distRow("latency p99.9 ms", "", lat, func(d *results.Dist) float64 { return d.P999 }),
		distRow("latency max ms", "", lat, func(d *results.Dist) float64 { return d.Max }),
		distRow("fast requests p50 ms", "", fast, p50),
		distRow("fast requests p99 ms", "fast latency p99", fast, p99),
		distRow("slow requests p99 ms", "", slow, p99),
		distRow("fast: waited on lost packets p99 ms", "", func(t *results.Round) *results.Dist { return t.Classes[results.ClassFastLoss] }, p99),
		tableRow{name: "fast requests held back by", cell: func(t *results.Round) string { return holdCause(t, protocolOf(r, t)) }},
	)
	if r.Scenario.Backends > 0 {
		rows = append(rows, backendRows()...)
	}
	if r.Scenario.Carts != "" {
		rows = append(rows, cartRows(r.Scenario.StopBackend)...)
	}
	if lag := lagName(r.Scenario.Mode); lag != "" {
		rows = append(rows, tableRow{name: lag + " p50 / max ms", cell: func(t *results.Round) string {
			if t.Lag == nil || t.Lag.Count == 0 {
				return ""
			}
			return fmt.Sprintf("%.2f / %.2f", t.Lag.P50, t.Lag.Max)
		}})
	}
	rows = append(rows,
		distRow("wait p50 ms", "", wait, p50),
		distRow("wait p99 ms", "", wait, p99),
		distRow("service p50 ms", "", svc, p50),
		distRow("service p99 ms", "", svc, p99),
	)
	rows = append(rows, connRows(r)...)
	return append(rows, linkRows()...)
}

// modelCell shows how the page model added up: turns of round trips, or
// the page's bytes at the bottleneck after one round trip; then a cold
// page's handshakes.
func modelCell(m *results.Model) string {
	var s string
	switch {
	case m.Bound == "bandwidth":
		s = fmt.Sprintf("%.1f + %.1f", msOf(m.Transfer), msOf(m.TurnTime))
	case m.Bound == "loss":
		s = fmt.Sprintf("%.1f loss + %.1f", msOf(m.LossTime), msOf(m.TurnTime))
	case m.Pipelined:
		s = fmt.Sprintf("%.1f + %d x %.1f", msOf(m.RTT), m.Turns, msOf(m.Predicted-m.Handshake-m.Recovery-m.RTT)/float64(max(m.Turns, 1)))
		if m.Recovery > 0 {
			s += fmt.Sprintf(" + %.1f repair", msOf(m.Recovery))
		}
	default:
		s = fmt.Sprintf("%d x %.1f", m.Turns, msOf(m.Predicted-m.Handshake-m.Recovery)/float64(max(m.Turns, 1)))
		if m.Recovery > 0 {
			s += fmt.Sprintf(" + %.1f repair", msOf(m.Recovery))
		}
	}
	if m.Handshake > 0 {
		s += fmt.Sprintf(" + %.1f", msOf(m.Handshake))
	}
	return fmt.Sprintf("%s = %.1f", s, msOf(m.Predicted))
}

// linkRows are the emulated link's truth, shown when the run crossed one.
func linkRows() []tableRow {
	cell := func(f func(l *results.Link) string) func(*results.Round) string {
		return func(t *results.Round) string {
			if t.Link == nil {
				return ""
			}
			return f(t.Link)
		}
	}
	return []tableRow{
		{name: "link packets / MB", cell: cell(func(l *results.Link) string {
			return fmt.Sprintf("%d / %.2f", l.Packets, float64(l.Bytes)/1e6)
		})},
		{name: "link drops: loss / queue", cell: cell(func(l *results.Link) string {
			s := fmt.Sprintf("%d / %d", l.DroppedLoss, l.DroppedQueue)
			if u := l.Unplanned(); u > 0 {
				s += fmt.Sprintf(" + %d UNPLANNED", u) // lost where the link model did not decide it
			}
			return s
		})},
		{name: "tcp retransmits / timeouts / TLPs", cell: cell(func(l *results.Link) string {
			probes := "-" // the userspace stack does not count its tail-loss probes
			if l.ProbesCounted {
				probes = fmt.Sprint(l.LossProbes)
			}
			return fmt.Sprintf("%d / %d / %s", l.Retransmits, l.Timeouts, probes)
		})},
		{name: "quic client packets lost / sent", cell: func(t *results.Round) string {
			if t.Client == nil || t.Client.QUIC == nil {
				return ""
			}
			return fmt.Sprintf("%d / %d", t.Client.QUIC.PacketsLost, t.Client.QUIC.PacketsSent)
		}},
		{name: "link late p99 / max ms", cell: cell(func(l *results.Link) string {
			s := fmt.Sprintf("%.2f / %.2f", l.LateP99MS, l.LateMaxMS)
			if l.Behind {
				s += " BEHIND"
			}
			return s
		})},
	}
}

// lagName names the time a request spends in the harness before it is
// handed to its client, by mode: none in a closed loop.
func lagName(m results.Mode) string {
	switch m {
	case results.Open:
		return "schedule lag"
	case results.Page:
		return "launch delay"
	}
	return ""
}

func countRows(r *results.Run) []tableRow {
	open := r.Scenario.Mode == results.Open
	return []tableRow{
		{name: "requests ok / sent", always: true, cell: func(t *results.Round) string { return fmt.Sprintf("%d / %d", t.OK, t.Sent) }},
		{name: "failed / cancelled", always: true, cell: func(t *results.Round) string { return fmt.Sprintf("%d / %d", t.Failed, t.Cancelled) }},
		{name: "scheduled / unsent", show: func(r *results.Run) bool { return open || anyUnsent(r) },
			cell: func(t *results.Round) string { return fmt.Sprintf("%d / %d", t.Scheduled, t.Unsent) }},
		{name: "start rate achieved / target req/s", show: func(*results.Run) bool { return open },
			cell: func(t *results.Round) string {
				return results.FormatCount(t.AchievedRate) + " / " + results.FormatCount(r.Scenario.Rate)
			}},
		{name: "throughput req/s", figure: "throughput", always: true, cell: func(t *results.Round) string { return results.FormatCount(t.Throughput) }},
	}
}

func anyUnsent(r *results.Run) bool {
	for _, c := range r.Contenders {
		if c.Total.Unsent > 0 {
			return true
		}
	}
	return false
}

func pageRows() []tableRow {
	page := func(t *results.Round) *results.Dist { return t.Page }
	return []tableRow{
		{name: "pages measured / incomplete", cell: func(t *results.Round) string {
			if t.Page == nil {
				return ""
			}
			return fmt.Sprintf("%d / %d", t.Page.Count, t.PagesIncomplete)
		}},
		distRow("page p50 ms", "page p50", page, p50),
		distRow("page p99 ms", "page p99", page, p99),
		{name: "model page ms", cell: func(t *results.Round) string {
			switch m := t.Model; {
			case m == nil:
				return ""
			case m.Predicted == 0:
				return fmt.Sprintf("%d turns, no RTT", m.Turns)
			default:
				return modelCell(m)
			}
		}},
		{name: "measured vs model", cell: func(t *results.Round) string {
			if t.Model == nil || t.Model.Predicted == 0 || t.Model.Measured == 0 {
				return ""
			}
			return fmt.Sprintf("%+.1f%%", 100*t.Model.Deviation)
		}},
	}
}

// holdCause says what held back a contender's fast requests, by what was
// measured of each: the wait for a connection (an HTTP/1.1 pool), the wait
// behind an earlier answer on their connection (HTTP/1.1 pipelining), or
// the wait on lost packets sent again (the transport: over TCP any lost
// packet of the connection, over QUIC one of the request's own stream). The
// cause named is the largest share of the fast requests' median, or failing
// one above a tenth, of their p99 ("at p99"); when none is, nothing
// blocked them (what is left is the server, the path and congestion
// control).
// protocol is the contender's ("HTTP/3" for QUIC).
func holdCause(t *results.Round, protocol string) string {
	fast, wait, held, loss := t.Classes["fast"], t.Classes[results.ClassFastWait], t.Classes[results.ClassFastHeld], t.Classes[results.ClassFastLoss]
	if fast == nil || wait == nil || held == nil || fast.Count == 0 {
		return ""
	}
	lost := "a lost packet (TCP)"
	if strings.Contains(protocol, "HTTP/3") {
		lost = "its stream's lost packet (QUIC)"
	}
	causes := []struct {
		name string
		d    *results.Dist
	}{{"an earlier answer", held}, {"a busy connection", wait}, {lost, loss}}
	at := func(q func(*results.Dist) float64) (string, float64) {
		name, best := "", 0.0
		for _, c := range causes {
			if c.d == nil || c.d.Count == 0 {
				continue
			}
			if s := q(c.d) / max(q(fast), 1e-9); s > best {
				name, best = c.name, s
			}
		}
		return name, min(best, 1)
	}
	if name, share := at(p50); share > 0.1 {
		return fmt.Sprintf("%s %.0f%%", name, 100*share)
	}
	if name, share := at(p99); share > 0.1 {
		return fmt.Sprintf("%s %.0f%% at p99", name, 100*share)
	}
	if loss == nil {
		return "nothing at HTTP"
	}
	return "nothing (at HTTP or from loss)"
}

// protocolOf is the protocol of the contender whose figures t is.
func protocolOf(r *results.Run, t *results.Round) string {
	for i := range r.Contenders {
		c := &r.Contenders[i]
		if &c.Total == t {
			return c.Protocol
		}
		for j := range c.Rounds {
			if &c.Rounds[j] == t {
				return c.Protocol
			}
		}
	}
	return ""
}

// browserRows split a browser contender's page time by its own timings:
// the mean per page before its first request, waiting on the network, with
// nothing in flight, and after the last byte; and how busy the machine was.
func browserRows(r *results.Run) []tableRow {
	perPage := func(pick func(*results.Browser) results.Duration) func(*results.Round) string {
		return func(t *results.Round) string {
			if t.Browser == nil || t.Browser.Pages == 0 {
				return ""
			}
			return fmt.Sprintf("%.1f", msOf(pick(t.Browser))/float64(t.Browser.Pages))
		}
	}
	return []tableRow{
		{name: "page p50 / muxlab client's", cell: func(t *results.Round) string {
			for i := range r.Contenders {
				c := &r.Contenders[i]
				if &c.Total != t || c.Counterpart == "" {
					continue
				}
				m := r.Contender(c.Counterpart)
				if m == nil || m.Total.Page == nil || t.Page == nil || m.Total.Page.P50 == 0 || t.Page.Count == 0 {
					return ""
				}
				return fmt.Sprintf("%.2fx %s", t.Page.P50/m.Total.Page.P50, c.Counterpart)
			}
			return ""
		}},
		{name: "browser: to 1st request ms", cell: perPage(func(b *results.Browser) results.Duration { return b.FirstRequest })},
		{name: "browser: on the network ms", cell: perPage(func(b *results.Browser) results.Duration { return b.Network })},
		{name: "browser: nothing in flight ms", cell: perPage(func(b *results.Browser) results.Duration { return b.Idle })},
		{name: "browser: after last byte ms", cell: perPage(func(b *results.Browser) results.Duration { return b.AfterLastByte })},
		{name: "cpu pressure: turn / before", cell: func(t *results.Round) string {
			turn, quiet, ok := t.Browser.Pressure()
			switch {
			case t.Browser == nil:
				return ""
			case !ok:
				return "unknown"
			case t.Browser.Loaded():
				return fmt.Sprintf("%.0f%% / %.0f%% LOADED", 100*turn, 100*quiet)
			}
			return fmt.Sprintf("%.0f%% / %.0f%%", 100*turn, 100*quiet)
		}},
	}
}

func connRows(r *results.Run) []tableRow {
	server := func(f func(*results.ServerConns) int64) func(*results.Round) string {
		return func(t *results.Round) string {
			if t.Server == nil {
				return "-"
			}
			return fmt.Sprint(f(t.Server))
		}
	}
	quicResent := tableRow{name: "quic server: data sent again / mean wait ms", cell: func(t *results.Round) string {
		if t.Server == nil || t.Server.QUICResent == 0 {
			return ""
		}
		return fmt.Sprintf("%d / %.1f", t.Server.QUICResent, t.Server.QUICResentWaitMS)
	}}
	return append([]tableRow{
		{name: "connections (client)", cell: func(t *results.Round) string {
			if t.Client == nil {
				return "-"
			}
			return fmt.Sprint(t.Client.Dials)
		}},
		{name: "connections (sidecar to server)", cell: func(t *results.Round) string {
			if t.Client == nil || t.Client.Sidecar == nil {
				return ""
			}
			return fmt.Sprint(t.Client.Sidecar.UpstreamDials)
		}},
		{name: "connections (server)", figure: "server connections",
			cell: server(func(s *results.ServerConns) int64 { return s.ConnectionsAccepted })},
		{name: "of them idle (server)", cell: func(t *results.Round) string {
			if t.Server == nil || t.Server.ConnectionsIdle == 0 {
				return ""
			}
			return fmt.Sprint(t.Server.ConnectionsIdle)
		}},
		{name: "peak in flight per conn (server)",
			cell: server(func(s *results.ServerConns) int64 { return s.PeakInFlightPerConn })},
		{name: "sidecar added p50 / p99 ms", cell: func(t *results.Round) string {
			if t.Client == nil || t.Client.Sidecar == nil {
				return ""
			}
			return fmt.Sprintf("%.2f / %.2f", t.Client.Sidecar.AddedP50MS, t.Client.Sidecar.AddedP99MS)
		}},
		{name: "cpu µs per request (" + r.Target.CPUScope + ")", always: true, cell: func(t *results.Round) string {
			return fmt.Sprintf("%.1f", t.CPUPerReqUS)
		}},
	}, quicResent)
}

func ratioCell(r *results.Run, other, figure string) string {
	if figure == "" {
		return ""
	}
	x, ok := r.Ratio(other, figure)
	if !ok {
		return ""
	}
	if x.Min == x.Max {
		return fmt.Sprintf("%.2fx", x.Median)
	}
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", x.Median, x.Min, x.Max)
}

func msOf(d results.Duration) float64 { return float64(d.D()) / float64(time.Millisecond) }

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
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// backendRows show how a balancing front spread each contender's requests:
// each backend's count (its own, when it is the embedded server's) and
// share, the skew (the busiest backend's share against an even one), and
// each backend's p99 latency.
func backendRows() []tableRow {
	cells := func(f func(b results.BackendFigures) string) func(*results.Round) string {
		return func(t *results.Round) string {
			var parts []string
			for _, b := range t.Backends {
				parts = append(parts, b.Name+" "+f(b))
			}
			return strings.Join(parts, ", ")
		}
	}
	return []tableRow{
		{name: "backends: requests (share), most skewed turn", cell: cells(func(b results.BackendFigures) string {
			return fmt.Sprintf("%d (%.0f%%)", b.Requests, 100*b.Share)
		})},
		{name: "skew (busiest / even), most skewed turn", figure: "skew", cell: func(t *results.Round) string {
			if len(t.Backends) == 0 {
				return ""
			}
			return fmt.Sprintf("%.2f", t.Skew)
		}},
		{name: "backends: latency p99 ms", cell: cells(func(b results.BackendFigures) string {
			if b.Latency == nil || b.Latency.Count == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", b.Latency.P99)
		})},
	}
}

// cartRows count what became of each kind of cart: found, lost, wrong,
// failed of those started (and, with a backend stopped midway, how many of
// the broken ones had lived on it).
func cartRows(stopped bool) []tableRow {
	row := func(kind string) tableRow {
		return tableRow{name: "carts " + kind + ": found / lost / wrong / failed", cell: func(t *results.Round) string {
			c := t.Carts[kind]
			if c == nil {
				return ""
			}
			s := fmt.Sprintf("%d / %d / %d / %d of %d", c.Found, c.Lost, c.Wrong, c.Failed, c.Carts)
			if c.Unfinished > 0 {
				s += fmt.Sprintf(" (+%d unfinished)", c.Unfinished)
			}
			return s
		}}
	}
	rows := []tableRow{row("stateful"), row("stateless")}
	if stopped {
		rows = append(rows, tableRow{name: "stateful carts broken that lived on the stopped b1", cell: func(t *results.Round) string {
			c := t.Carts["stateful"]
			if c == nil {
				return ""
			}
			return fmt.Sprintf("%d of %d", c.LostOnStopped, c.Lost+c.Wrong+c.Failed)
		}})
	}
	return rows
}
