package results

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Summarize fills in what is derived from the rounds: each contender's
// Total, the Comparison between contenders, and the Verdict.
func Summarize(r *Run) {
	for i := range r.Contenders {
		c := &r.Contenders[i]
		var err error
		if c.Total, err = total(c); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %v: its total leaves those figures out", c.Name, err))
		}
	}
	r.Comparison = compare(r)
	r.Verdict = verdict(r)
}

// total merges a contender's rounds: counts and times are added up,
// histograms merged; Client and Server are the busiest turn's. A histogram
// that cannot be decoded is left out of the merge, and the error says which.
func total(c *Contender) (Round, error) {
	t := Round{}
	hists := map[string]*Histogram{}
	var errs []error
	merge := func(key string, d *Dist) {
		if d == nil || d.HDR == "" {
			return
		}
		h, err := d.Histogram()
		if err != nil {
			errs = append(errs, fmt.Errorf("the %s histogram of one of its rounds: %w", key, err))
			return
		}
		if hists[key] == nil {
			hists[key] = NewHistogram()
		}
		hists[key].Merge(h)
	}
	var window float64  // seconds over which open-loop turns started requests
	var quic *QUICConns // summed over the rounds
	// The backends' figures are the skewed-most turn's (as the connection
	// rows are the busiest turn's): over rounds, h2's one connection lands
	// on a different backend each turn, and added up the turns would look
	// even. Their latencies are every turn's.
	var backs []BackendFigures
	var resent int64       // the server's QUIC data sent again, every round's
	var resentWait float64 // and its waits, ms added up
	for _, rd := range c.Rounds {
		if rd.Server != nil && rd.Server.QUICResent > 0 {
			resent += rd.Server.QUICResent
			resentWait += rd.Server.QUICResentWaitMS * float64(rd.Server.QUICResent)
		}
		for _, b := range rd.Backends {
			merge("backend:"+b.Name, b.Latency)
		}
		if len(rd.Backends) > 0 && (backs == nil || rd.Skew > t.Skew) {
			backs, t.Skew = slices.Clone(rd.Backends), rd.Skew
		}
		for kind, cc := range rd.Carts {
			if t.Carts == nil {
				t.Carts = map[string]*CartCounts{}
			}
			if t.Carts[kind] == nil {
				t.Carts[kind] = &CartCounts{}
			}
			t.Carts[kind].Add(cc)
		}
		t.Elapsed += rd.Elapsed
		t.CPU += rd.CPU
		t.Scheduled += rd.Scheduled
		t.Unsent += rd.Unsent
		t.PagesIncomplete += rd.PagesIncomplete
		if rd.AchievedRate > 0 {
			window += float64(rd.Sent) / rd.AchievedRate
		}
		if rd.Error != "" {
			t.Error = rd.Error
		}
		t.Sent += rd.Sent
		t.OK += rd.OK
		t.Failed += rd.Failed
		t.Cancelled += rd.Cancelled
		t.Interrupted = t.Interrupted || rd.Interrupted
		t.Statuses = addCounts(t.Statuses, rd.Statuses)
		t.Errors = addCounts(t.Errors, rd.Errors)
		merge("latency", rd.Latency)
		merge("lag", rd.Lag)
		merge("wait", rd.Wait)
		merge("service", rd.Service)
		merge("page", rd.Page)
		for name, d := range rd.Classes {
			merge("class:"+name, d)
		}
		if rd.Client != nil && (t.Client == nil || rd.Client.Dials > t.Client.Dials) {
			t.Client = rd.Client
		}
		if rd.Client != nil && rd.Client.QUIC != nil {
			if quic == nil {
				quic = &QUICConns{}
			}
			quic.PacketsSent += rd.Client.QUIC.PacketsSent
			quic.PacketsLost += rd.Client.QUIC.PacketsLost
			quic.SmoothedRTTMS = rd.Client.QUIC.SmoothedRTTMS
		}
		if rd.Server != nil && (t.Server == nil || rd.Server.ConnectionsAccepted > t.Server.ConnectionsAccepted) {
			t.Server = rd.Server
		}
		if rd.Disagreement != "" {
			t.Disagreement = rd.Disagreement
		}
		if rd.Link != nil {
			if t.Link == nil {
				t.Link = &Link{}
			}
			t.Link.Add(rd.Link)
		}
		if rd.Model != nil {
			m := *rd.Model
			t.Model = &m
		}
		if rd.Browser != nil {
			if t.Browser == nil {
				t.Browser = &Browser{CPUStallKnown: true}
			}
			t.Browser.Add(rd.Browser)
		}
	}
	if resent > 0 && t.Server != nil {
		s := *t.Server // the busiest turn's connections, every turn's data sent again
		s.QUICResent, s.QUICResentWaitMS = resent, resentWait/float64(resent)
		t.Server = &s
	}
	if quic != nil && t.Client != nil {
		c := *t.Client // the busiest turn's connections, every turn's QUIC packets
		c.QUIC = quic
		t.Client = &c
	}
	dist := func(key string) *Dist {
		if h := hists[key]; h != nil {
			return h.Dist()
		}
		return nil
	}
	t.Latency, t.Lag, t.Wait, t.Service, t.Page = dist("latency"), dist("lag"), dist("wait"), dist("service"), dist("page")
	if len(backs) > 0 {
		for i := range backs {
			backs[i].Latency = dist("backend:" + backs[i].Name)
		}
		t.Backends = backs
	}
	for key := range hists {
		if name, ok := strings.CutPrefix(key, "class:"); ok {

			if t.Classes == nil {
				t.Classes = map[string]*Dist{}
			}
			t.Classes[name] = dist(key)
		}
	}
	if secs := t.Elapsed.D().Seconds(); secs > 0 {
		t.Throughput = float64(t.OK) / secs
	}
	if window > 0 {
		t.AchievedRate = float64(t.Sent) / window
	}
	if t.OK > 0 {
		t.CPUPerReqUS = float64(t.CPU.D().Microseconds()) / float64(t.OK)
	}
	if t.Model != nil && t.Model.Predicted > 0 && t.Page != nil && t.Page.Count > 0 {
		t.Model.Measured = Duration(time.Duration(t.Page.P50 * float64(time.Millisecond)))
		t.Model.Deviation = (float64(t.Model.Measured) - float64(t.Model.Predicted)) / float64(t.Model.Predicted)
	}
	return t, errors.Join(errs...)
}

func addCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]int64{}
	}
	for k, n := range src {
		dst[k] += n
	}
	return dst
}

// figure is one comparable number of a round.
type figure struct {
	name string
	get  func(*Round) (float64, bool)
}

func distFigure(name string, pick func(*Round) *Dist, val func(*Dist) float64) figure {
	return figure{name, func(rd *Round) (float64, bool) {
		d := pick(rd)
		if d == nil || d.Count == 0 {
			return 0, false
		}
		return val(d), true
	}}
}

var figures = []figure{
	distFigure("page p50", func(r *Round) *Dist { return r.Page }, func(d *Dist) float64 { return d.P50 }),
	distFigure("page p99", func(r *Round) *Dist { return r.Page }, func(d *Dist) float64 { return d.P99 }),
	distFigure("latency p50", func(r *Round) *Dist { return r.Latency }, func(d *Dist) float64 { return d.P50 }),
	distFigure("latency p99", func(r *Round) *Dist { return r.Latency }, func(d *Dist) float64 { return d.P99 }),
	distFigure("fast latency p99", func(r *Round) *Dist { return r.Classes["fast"] }, func(d *Dist) float64 { return d.P99 }),
	{"throughput", func(r *Round) (float64, bool) { return r.Throughput, r.OK > 0 }},
	{"server connections", func(r *Round) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return float64(r.Server.ConnectionsAccepted), true
	}},
	{"skew", func(r *Round) (float64, bool) { return r.Skew, len(r.Backends) > 0 && r.Skew > 0 }},
}

// BaselineContender returns the contender the others are compared with:
// the one Baseline names, or the first.
func (r *Run) BaselineContender() *Contender {
	if c := r.Contender(r.Baseline); c != nil {
		return c
	}
	if len(r.Contenders) == 0 {
		return nil
	}
	return &r.Contenders[0]
}

// Challengers returns the contenders that are neither the baseline nor a
// reference: the ones a verdict and the ratio columns are about.
func (r *Run) Challengers() []*Contender {
	b := r.BaselineContender()
	var out []*Contender
	for i := range r.Contenders {
		if c := &r.Contenders[i]; c != b && !c.Reference {
			out = append(out, c)
		}
	}
	return out
}

// compare computes, for every other contender and figure, the ratio of its
// value to the baseline's in each round, and keeps the median, min and max.
// A round cut short (Ctrl-C) on either side is left out.
func compare(r *Run) []Ratio {
	if len(r.Contenders) < 2 {
		return nil
	}
	b := r.BaselineContender()
	var out []Ratio
	for i := range r.Contenders {
		o := &r.Contenders[i]
		if o == b {
			continue
		}
		for _, f := range figures {
			var ratios []float64
			for k := 0; k < len(b.Rounds) && k < len(o.Rounds); k++ {
				if b.Rounds[k].Interrupted || o.Rounds[k].Interrupted {
					continue
				}
				bv, ok1 := f.get(&b.Rounds[k])
				ov, ok2 := f.get(&o.Rounds[k])
				if ok1 && ok2 && bv > 0 {
					ratios = append(ratios, ov/bv)
				}
			}
			if len(ratios) == 0 {
				continue
			}
			slices.Sort(ratios)
			out = append(out, Ratio{Figure: f.name, Baseline: b.Name, Other: o.Name,
				Median: median(ratios), Min: ratios[0], Max: ratios[len(ratios)-1]})
		}
	}
	return out
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Ratio returns the comparison of figure between other and the baseline.
func (r *Run) Ratio(other, figure string) (Ratio, bool) {
	for _, x := range r.Comparison {
		if x.Other == other && x.Figure == figure {
			return x, true
		}
	}
	return Ratio{}, false
}

// Contender returns the contender with the given name.
func (r *Run) Contender(name string) *Contender {
	for i := range r.Contenders {
		if r.Contenders[i].Name == name {
			return &r.Contenders[i]
		}
	}
	return nil
}

// verdict says in one line per challenger what the run showed against the
// baseline.
func verdict(r *Run) string {
	b := r.BaselineContender()
	cs := r.Challengers()
	lines := []string{"no verdict: the run needs two contenders to compare"}
	if b != nil && len(cs) > 0 {
		lines = lines[:0]
		for _, o := range cs {
			lines = append(lines, verdictLine(r, b, o))
		}
	}
	lines = append(lines, browserLines(r)...)
	return strings.Join(append(lines, failureLines(r)...), "\n")
}

// failureLines say, for every contender but the references, how many of
// its requests failed and why: a run whose requests fail says so in its
// verdict.
func failureLines(r *Run) []string {
	var out []string
	for i := range r.Contenders {
		c := &r.Contenders[i]
		t := &c.Total
		if c.Reference || t.Failed == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("FAILED: %d of %d requests of %s failed (%s)", t.Failed, t.Sent, c.Label, errorKinds(t)))
	}
	return out
}

// errorKinds lists a round's errors by kind, the most frequent first.
func errorKinds(t *Round) string {
	kinds := make([]string, 0, len(t.Errors))
	for k := range t.Errors {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(a, b int) bool {
		if t.Errors[kinds[a]] != t.Errors[kinds[b]] {
			return t.Errors[kinds[a]] > t.Errors[kinds[b]]
		}
		return kinds[a] < kinds[b]
	})
	for j, k := range kinds {
		kinds[j] = fmt.Sprintf("%s: %d", k, t.Errors[k])
	}
	return strings.Join(kinds, ", ")
}

// browserLines compare each browser contender's pages with its
// counterpart's, the muxlab client of the same protocol.
func browserLines(r *Run) []string {
	var out []string
	for i := range r.Contenders {
		br := &r.Contenders[i]
		if br.Counterpart == "" || r.Scenario.Mode != Page {
			continue
		}
		for j := range r.Contenders {
			m := &r.Contenders[j]
			if m.Name != br.Counterpart {
				continue
			}
			bp, mp := br.Total.Page, m.Total.Page
			if bp == nil || mp == nil || bp.Count == 0 || mp.Count == 0 {
				out = append(out, fmt.Sprintf("no comparison of %s with the browser: one of them loaded no page", m.Label))
				continue
			}
			line := fmt.Sprintf("Chromium / muxlab, %s: %s the page time of %s: p50 page %s vs %s",
				m.Protocol, times(bp.P50/mp.P50), m.Label, ms(bp.P50), ms(mp.P50)) + behindNote(br, m)
			if b := br.Total.Browser; b.Loaded() {
				_, q, _ := b.Pressure()
				line += fmt.Sprintf(" (LOADED: before the browser started, with nothing of muxlab's running, some task waited for a CPU %.0f%% of the time; the browser's figure is not to be trusted)", 100*q)
			}
			out = append(out, line)
		}
	}
	return out
}

// behindTurns counts the turns of cs whose emulated link fell behind its
// schedule, and all their turns.
func behindTurns(cs ...*Contender) (behind, turns int) {
	for _, c := range cs {
		for i := range c.Rounds {
			turns++
			if l := c.Rounds[i].Link; l != nil && l.Behind {
				behind++
			}
		}
	}
	return behind, turns
}

// behindNote is what a verdict line over turns whose link fell behind says
// in itself: "" when none did.
func behindNote(cs ...*Contender) string {
	behind, turns := behindTurns(cs...)
	if behind == 0 {
		return ""
	}
	return fmt.Sprintf(" (BEHIND in %d of %d turns: the emulated link fell behind its schedule; not to be trusted)", behind, turns)
}

func verdictLine(r *Run, b, o *Contender) string {
	return verdictFigures(r, b, o) + behindNote(b, o)
}

func verdictFigures(r *Run, b, o *Contender) string {
	bt, ot := &b.Total, &o.Total
	if bt.OK == 0 || ot.OK == 0 {
		return fmt.Sprintf("no verdict: %s had %d successful requests and %s %d", b.Label, bt.OK, o.Label, ot.OK)
	}
	conns := ""
	if bt.Server != nil && ot.Server != nil {
		conns = fmt.Sprintf("; the server saw %d vs %d connections", ot.Server.ConnectionsAccepted, bt.Server.ConnectionsAccepted)
	}
	prefix := ""
	if r.Interrupted {
		prefix = "interrupted, so far: "
	}
	switch {
	case r.Scenario.Mode == Page && bt.Page != nil && ot.Page != nil && bt.Page.Count > 0 && ot.Page.Count > 0:
		return fmt.Sprintf("%s%s loaded the %d-object page %s %s: p50 page %s vs %s%s", prefix,
			o.Label, r.Scenario.Objects, faster(bt.Page.P50, ot.Page.P50), b.Label, ms(ot.Page.P50), ms(bt.Page.P50), conns)
	case r.Scenario.SlowEvery > 0 && bt.Classes["fast"] != nil && ot.Classes["fast"] != nil:
		bf, of := bt.Classes["fast"], ot.Classes["fast"]
		return fmt.Sprintf("%s%s served the fast requests %s %s at p99: %s vs %s behind slow ones%s", prefix,
			o.Label, faster(bf.P99, of.P99), b.Label, ms(of.P99), ms(bf.P99), conns)
	case r.Scenario.Endpoint == "/hello" || r.Scenario.Size >= 1<<20:
		return fmt.Sprintf("%s%s moved %s the requests per second of %s: %s vs %s req/s, p50 %s vs %s%s", prefix,
			o.Label, times(ot.Throughput/bt.Throughput), b.Label, FormatCount(ot.Throughput), FormatCount(bt.Throughput),
			ms(ot.Latency.P50), ms(bt.Latency.P50), conns)
	}
	return fmt.Sprintf("%s%s answered %s %s at p50: %s vs %s (p99 %s vs %s)%s", prefix,
		o.Label, faster(bt.Latency.P50, ot.Latency.P50), b.Label, ms(ot.Latency.P50), ms(bt.Latency.P50),
		ms(ot.Latency.P99), ms(bt.Latency.P99), conns)
}

// faster says "16.2x faster than", "1.3x slower than" or "about as fast as"
// for the times base and other.
func faster(base, other float64) string {
	if other <= 0 || base <= 0 {
		return "no faster than"
	}
	switch x := base / other; {
	case x >= 0.95 && x <= 1.05:
		return "about as fast as"
	case x > 1:
		return fmt.Sprintf("%.1fx faster than", x)
	}
	return fmt.Sprintf("%.1fx slower than", other/base)
}

func times(x float64) string { return fmt.Sprintf("%.2fx", x) }

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// FormatCount writes n, rounded, with thousands separators.
func FormatCount(n float64) string {
	s := fmt.Sprintf("%.0f", math.Round(n))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Unanswered lists the contenders that had no request answered: every one
// sent failed (each listed with its failures by kind, most frequent first),
// or their turns could not run (with why). Their figures say nothing about
// the protocol, and a run that has them did not do what it was asked.
func (r *Run) Unanswered() []string {
	var out []string
	for i := range r.Contenders {
		c := &r.Contenders[i]
		t := &c.Total
		switch {
		case t.OK > 0:
		case t.Failed > 0:
			out = append(out, fmt.Sprintf("%s (%d failed; %s)", c.Name, t.Failed, errorKinds(t)))
		case t.Error != "" && !r.Interrupted:
			out = append(out, fmt.Sprintf("%s (its turns could not run: %s)", c.Name, t.Error))
		}
	}
	return out
}

// WithShares sets each backend's share of the requests and returns b.
func WithShares(b []BackendFigures) []BackendFigures {
	var total int64
	for _, x := range b {
		total += x.Requests
	}
	for i := range b {
		if total > 0 {
			b[i].Share = float64(b[i].Requests) / float64(total)
		}
	}
	return b
}
