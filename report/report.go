package report

import (
	"muxlab/results"
	"slices"

	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Source is one run for a report, with the name it goes by (its file name).
type Source struct {
	Name string
	Run  *results.Run
}

// title is how a run is called in a report: its label, or its name.
func (s Source) title() string {
	if s.Run.Label != "" {
		return s.Run.Label
	}
	return s.Name
}

//go:embed report.html.tmpl
var reportTmpl string

var reportTemplate = template.Must(template.New("report").Parse(reportTmpl))

// reportPage is what the template renders.
type reportPage struct {
	Title    string
	Subtitle string
	Groups   []reportGroup
}

// subtitle names every protocol the runs measured, in the order first met.
func subtitle(srcs []Source) string {
	var protos []string
	for _, s := range srcs {
		for i := range s.Run.Contenders {
			if p := s.Run.Contenders[i].Protocol; p != "" && !slices.Contains(protos, p) {
				protos = append(protos, p)
			}
		}
	}
	switch len(protos) {
	case 0:
		return "Measured by muxlab."
	case 1:
		return protos[0] + ", measured by muxlab."
	}
	return strings.Join(protos[:len(protos)-1], ", ") + " and " + protos[len(protos)-1] + ", side by side on the same network, measured by muxlab."
}

// reportGroup is the runs of one scenario, whose charts are overlaid.
type reportGroup struct {
	ID       string
	Scenario string
	Summary  string
	Runs     []reportRun
	Charts   []reportChart
	// Lead and Verdict come before the runs: a sweep's chart and verdict.
	Lead    []reportChart
	Verdict []string
	// Layers explain, for a scenario of slow and fast requests, where
	// each protocol the runs measured blocks a fast request.
	Layers []string
}

// holLayers are the two sentences per layer of head-of-line blocking, by
// the protocol of the contender that shows it.
var holLayers = []struct{ protocol, text string }{
	{"HTTP/1.1", "HTTP/1.1 with a pool: a request waits for a free connection, so a fast one queues while slow ones hold all six. The table's wait and \"a busy connection\" show it."},
	{"HTTP/1.1 (pipelined)", "HTTP/1.1 pipelining: every request goes out at once on one connection, but the answers must come back in order, so one slow answer holds back every fast one behind it. \"An earlier answer\" is that time, measured per request."},
	{"HTTP/2", "HTTP/2: answers interleave as streams on one connection, so a slow one blocks nobody at the HTTP layer. Until a packet is lost: then TCP holds back every stream's bytes until the retransmission arrives; \"a lost packet (TCP)\" is that time, measured per request by the emulated link."},
	{"HTTP/3", "HTTP/3: QUIC carries each stream apart, so a lost packet holds back only the streams whose bytes it carried. \"Its stream's lost packet (QUIC)\" is that time, from QUIC's own record of each stream's data sent again."},
}

// layersOf are the layers the runs' contenders show, in holLayers' order.
func layersOf(srcs []Source) []string {
	if srcs[0].Run.Scenario.SlowEvery == 0 {
		return nil
	}
	var out []string
	for _, l := range holLayers {
		for _, s := range srcs {
			if slices.ContainsFunc(s.Run.Contenders, func(c results.Contender) bool { return c.Protocol == l.protocol }) {
				out = append(out, l.text)
				break
			}
		}
	}
	return out
}

type reportRun struct {
	ID          string
	Title       string
	Started     string
	Meta        string
	Verdict     []string
	Interrupted bool
	Models      []string
	Head        []string
	Rows        [][]string
	Notes       []string
	Waterfalls  []reportChart
	// LinkHead and LinkRows are the emulated link's truth by turn.
	LinkHead []string
	LinkRows [][]string
	// ObjHead and ObjRows are a recorded page's objects by origin.
	ObjHead []string
	ObjRows [][]string
	// AgentHead and AgentRows are a merged run's agents.
	AgentHead []string
	AgentRows [][]string
}

type reportChart struct {
	Kind    string // "latency", "rounds", "wait-service", "connections", "waterfall"
	Caption string
	SVG     template.HTML // drawn here from numbers; every text in it is escaped
}

// WriteReport writes one self-contained HTML page for the runs: no script,
// no style sheet, font or image fetched from anywhere. Runs of the same
// scenario share their charts; other scenarios get a section each.
func WriteReport(w io.Writer, srcs []Source) error {
	page, err := buildReport(srcs)
	if err != nil {
		return err
	}
	return reportTemplate.Execute(w, page)
}

// WriteReportFile writes the report to path atomically: a failure leaves no
// partial file.
func WriteReportFile(path string, srcs []Source) error {
	var b bytes.Buffer
	if err := WriteReport(&b, srcs); err != nil {
		return err
	}
	return results.WriteFileAtomic(path, b.Bytes())
}

func buildReport(srcs []Source) (*reportPage, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("results: no run to report")
	}
	page := &reportPage{Title: "muxlab report: " + srcs[0].title(), Subtitle: subtitle(srcs)}
	if len(srcs) > 1 {
		page.Title = fmt.Sprintf("muxlab report: %d runs", len(srcs))
	}
	var order []string
	byScenario := map[string][]Source{}
	for i, s := range srcs {
		name := s.Run.Scenario.Name
		if s.Run.Sweep != nil {
			name = fmt.Sprintf("\x00sweep %d", i) // a sweep is a section of its own
		}
		if _, ok := byScenario[name]; !ok {
			order = append(order, name)
		}
		byScenario[name] = append(byScenario[name], s)
	}
	cols := colors{}
	for gi, name := range order {
		build := buildGroup
		if g := byScenario[name]; len(g) == 1 && g[0].Run.Sweep != nil && len(g[0].Run.Sweep.Points) > 0 {
			build = func(gi int, srcs []Source, cols colors) (reportGroup, error) {
				return buildSweepGroup(gi, srcs[0], cols)
			}
		}
		g, err := build(gi, byScenario[name], cols)
		if err != nil {
			return nil, err
		}
		page.Groups = append(page.Groups, g)
	}
	return page, nil
}

func buildGroup(gi int, srcs []Source, cols colors) (reportGroup, error) {
	g := reportGroup{ID: fmt.Sprintf("scenario-%d", gi), Scenario: srcs[0].Run.Scenario.Name,
		Summary: srcs[0].Run.Scenario.Summary, Layers: layersOf(srcs)}
	var ss []series
	for k, s := range srcs {
		rr := buildRun(fmt.Sprintf("%s-run-%d", g.ID, k), s)
		if len(srcs) > 1 {
			rr.Title = fmt.Sprintf("#%d %s", k+1, rr.Title)
		}
		for i := range s.Run.Contenders {
			c := &s.Run.Contenders[i]
			name := c.Label
			if len(srcs) > 1 {
				name = fmt.Sprintf("#%d %s", k+1, c.Label) // the run's number, as in its heading
			}
			ss = append(ss, series{name: name, color: cols.of(c.Name), runIndex: k, c: c, r: s.Run})
			if wf := waterfall(c, cols.of(c.Name), sampleEnd(s.Run)); wf != "" {
				rr.Waterfalls = append(rr.Waterfalls, reportChart{Kind: "waterfall", SVG: template.HTML(wf),
					Caption: fmt.Sprintf("%s: the first measured page of round 1, on the time axis every waterfall of this run shares, one lane per connection; each bar starts when the request was handed to the client (the gap before it is the launch delay), light is the wait for a connection or stream slot, solid the service", c.Label)})
			}
		}
		g.Runs = append(g.Runs, rr)
	}
	pages := srcs[0].Run.Scenario.Mode == results.Page
	charts := []struct {
		kind, caption string
		draw          func() (string, error)
	}{
		{"latency", latencyCaption(pages), func() (string, error) { return latencyChart(ss) }},
		{"rounds", "The median of every round: a machine that drifts shows here.",
			func() (string, error) { return roundsChart(ss, pages) }},
		{"wait-service", "Median wait for a free connection (HTTP/1.1) or stream slot (HTTP/2), and median service from then to the last byte. An outside tool (hey) does not tell them apart.",
			func() (string, error) { return waitServiceChart(ss) }},
		{"connections", "Connections in the busiest turn: what the client dialed and what the server accepted on its listener. An outside tool (hey) does not count its own.",
			func() (string, error) { return connectionsChart(ss) }},
	}
	for _, ch := range charts {
		out, err := ch.draw()
		if err != nil {
			return g, err
		}
		if out != "" {
			g.Charts = append(g.Charts, reportChart{Kind: ch.kind, Caption: ch.caption, SVG: template.HTML(out)})
		}
	}
	return g, nil
}

// latencyCaption says what the latency curves are; in Page mode, each
// object's completion time from its page's start, where head-of-line
// blocking shows.
func latencyCaption(pages bool) string {
	if pages {
		return "Each object's completion time, from its page's start to its last byte, by percentile (successful requests; runs of this scenario overlaid). Under loss, one HTTP/2 connection's objects finish together late: every stream waits for each retransmission."
	}
	return "Latency from when the workload asked to the last byte, by percentile (successful requests; runs of this scenario overlaid)."
}

func buildRun(id string, s Source) reportRun {
	r := s.Run
	grid := summaryGrid(r)
	rr := reportRun{ID: id, Title: s.title(), Started: r.Started.UTC().Format("2006-01-02 15:04:05 UTC"),
		Meta: strings.ReplaceAll(describeRun(r), "\n", "; ") + fmt.Sprintf("; muxlab %s, %s, %s/%s, %d CPUs", r.Tool.Version, r.Tool.GoVersion,
			r.Machine.OS, r.Machine.Arch, r.Machine.CPUs),
		Verdict: strings.Split(r.Verdict, "\n"), Interrupted: r.Interrupted, Head: grid.head, Rows: grid.rows, Notes: notes(r)}
	rr.ObjHead, rr.ObjRows = pageObjects(r)
	rr.AgentHead, rr.AgentRows = agentRows(r)
	if rows := linkByTurn(r); rows != nil {
		rr.LinkHead = []string{"the link by turn"}
		for _, c := range r.Contenders {
			rr.LinkHead = append(rr.LinkHead, c.Label)
		}
		rr.LinkRows = rows
	}
	for _, c := range r.Contenders {
		if m := c.Total.Model; m != nil {
			if m.Predicted == 0 {
				rr.Models = append(rr.Models, fmt.Sprintf("%s: %d turns; no prediction, the round trip could not be measured (%s)",
					c.Label, m.Turns, m.RTTError))
				continue
			}
			line := fmt.Sprintf("%s: %s ms predicted (%d turns; a turn is the server delay + a round trip of %.2f ms measured on its own protocol",
				c.Label, modelCell(m), m.Turns, msOf(m.RTT))
			if m.Transfer > 0 {
				line += fmt.Sprintf(" + one object at the bottleneck; the page's bytes take %.1f ms at the downlink rate; bound by %s", msOf(m.Transfer), m.Bound)
			}
			if m.Handshake > 0 {
				line += fmt.Sprintf("; %.1f ms of handshakes on new connections", msOf(m.Handshake))
			}
			if m.LossTime > 0 {
				line += fmt.Sprintf("; under loss, %.1f ms expected repairing lost packets, and the busiest connection's bytes take %.1f ms at the rate one connection keeps under that loss (Padhye et al.)",
					msOf(m.Recovery), msOf(m.LossTime))
			}
			line += ")"
			if m.Measured > 0 {
				line += fmt.Sprintf("; measured p50 page %.1f ms (%+.1f%%)", msOf(m.Measured), 100*m.Deviation)
			}
			rr.Models = append(rr.Models, line)
		}
	}
	return rr
}
