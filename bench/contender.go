package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/results"
)

// contender is one client under test: h1 (h1pool), h2 (h2client) or hey.
type contender struct {
	name     string
	protocol string
	listener string // the server listener it talks to: "h1" or "h2c"
	addr     string // host:port of that listener
	base     string // its base URL
	conns    int    // connections it is meant to use
	opts     *Options
}

func newContender(name string, opts *Options, a addrs) *contender {
	c := &contender{name: name, opts: opts}
	switch name {
	case H2:
		c.protocol, c.listener, c.addr, c.base, c.conns = "HTTP/2", "h2c", a.h2c, opts.H2CURL, 1
	default: // H1, Hey
		c.protocol, c.listener, c.addr, c.base, c.conns = "HTTP/1.1", "h1", a.h1, opts.H1URL, opts.Scenario.Conns
	}
	return c
}

// label says what the contender is, e.g. "h1 (6 connections)".
func (c *contender) label() string {
	unit := "connections"
	switch {
	case c.name == Hey:
		unit = "workers"
	case c.conns == 1:
		unit = "connection"
	}
	return fmt.Sprintf("%s (%d %s)", c.name, c.conns, unit)
}

func (c *contender) newClient() (Client, error) {
	if c.name == H2 {
		return h2client.New(h2client.Options{Addr: c.addr, DialTimeout: c.opts.DialTimeout})
	}
	return h1pool.New(h1pool.Options{Addr: c.addr, Conns: c.conns, DialTimeout: c.opts.DialTimeout})
}

// run runs one turn and writes its figures into rd.
func (c *contender) run(ctx context.Context, r *runner, rd *results.Round) {
	if c.name == Hey {
		c.runHey(ctx, r, rd)
		return
	}
	client, err := c.newClient()
	if err != nil { // Options were validated: this is a bug, reported as a failure
		rd.Errors = map[string]int64{"client: " + err.Error(): 1}
		return
	}
	defer client.Close()
	sc := &r.opts.Scenario
	s, err := newSession(ctx, sc, c.base, client, r.opts.Timeout, &r.progress)
	if err != nil {
		rd.Errors = map[string]int64{"request: " + err.Error(): 1}
		return
	}
	if sc.Warmup > 0 {
		s.run(workers(sc), sc.Warmup, results.NewHistogram(), nil)
		r.progress.Store(0)
	}
	recs := workers(sc)
	page := results.NewHistogram()
	cancelStop := s.stopAfter(sc.Duration.D())
	start := time.Now()
	var sample *[]results.Timing
	if sc.Mode == results.Page {
		sample = &rd.Sample
	}
	s.run(recs, measured(sc), page, sample)
	rd.Elapsed = results.Duration(time.Since(start))
	cancelStop()
	total := recs[0]
	for _, rec := range recs[1:] {
		total.merge(rec)
	}
	total.fill(rd)
	if sc.Mode == results.Page {
		rd.Page = page.Dist()
	}
	st := client.Stats()
	rd.Client = &results.ClientConns{
		Dials: st.Dials, Reconnects: st.Reconnects, Retries: st.Retries, ConnsPeak: st.ConnsPeak, InFlightPeak: st.InFlightPeak,
		WaitingPeak: st.WaitingPeak, PeakStreams: st.PeakStreams, MaxConcurrentStreams: st.MaxConcurrentStreams,
	}
	for _, pc := range st.PerConn {
		rd.Client.RequestsPerConn = append(rd.Client.RequestsPerConn, pc.Requests)
	}
	if sc.Mode == results.Page {
		maxStreams := int(st.MaxConcurrentStreams)
		rd.Model = c.model(sc.Objects, sc.Delay.D(), r.rtt, maxStreams, rd.Page)
	}
}

// run runs the scenario's loop with recs as workers: n requests (pages in
// Page mode), or until stop when n is zero.
func (s *session) run(recs []*recorder, n int, page *results.Histogram, sample *[]results.Timing) {
	switch s.sc.Mode {
	case results.Page:
		s.pageLoop(recs, n, page, sample)
	case results.Open:
		s.openLoop(recs, int64(n))
	default:
		s.closedLoop(recs, int64(n))
	}
}

// workers makes one recorder per worker the scenario runs.
func workers(sc *results.Scenario) []*recorder {
	n := sc.Concurrency
	if sc.Mode == results.Page {
		n = sc.Objects
	}
	recs := make([]*recorder, n)
	for i := range recs {
		recs[i] = newRecorder()
	}
	return recs
}

// measured is how many requests (pages) a turn measures; zero when the turn
// is timed.
func measured(sc *results.Scenario) int {
	switch {
	case sc.Duration > 0:
		return 0
	case sc.Mode == results.Page:
		return sc.Pages
	}
	return sc.Requests
}

// model predicts the page time: the objects go in turns of as many as the
// contender carries at once, each turn about one server delay plus one round
// trip. maxStreams is the HTTP/2 server's limit (zero for HTTP/1.1).
func (c *contender) model(objects int, delay, rtt time.Duration, maxStreams int, page *results.Dist) *results.Model {
	perTurn := c.conns
	if c.name == H2 {
		perTurn = objects
		if maxStreams > 0 {
			perTurn = min(objects, maxStreams)
		}
	}
	turns := int(math.Ceil(float64(objects) / float64(perTurn)))
	turn := delay + rtt
	m := &results.Model{Turns: turns, TurnTime: results.Duration(turn), Predicted: results.Duration(time.Duration(turns) * turn)}
	if page != nil && page.Count > 0 {
		m.Measured = results.Duration(time.Duration(page.P50 * float64(time.Millisecond)))
		m.Deviation = (float64(m.Measured) - float64(m.Predicted)) / float64(m.Predicted)
	}
	return m
}

// checkHTTP1 sends one GET / over HTTP/1.1 to addr: any HTTP answer will do.
func checkHTTP1(ctx context.Context, base, addr string, dialTimeout time.Duration) error {
	p, err := h1pool.New(h1pool.Options{Addr: addr, Conns: 1, DialTimeout: dialTimeout})
	if err != nil {
		return err
	}
	defer p.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return err
	}
	resp, err := p.Do(req, nil)
	if err != nil {
		return fmt.Errorf("%w (is it an HTTP/1.1 listener? an h2c-only one closes the connection)", err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// measureRTT times n tiny requests, one at a time, and returns the median:
// the round trip of the page model.
func measureRTT(ctx context.Context, c Client, base string, n int) time.Duration {
	h := results.NewHistogram()
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/hello", nil)
		if err != nil {
			return 0
		}
		start := time.Now()
		resp, err := c.Do(req, nil)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.Record(time.Since(start))
	}
	return h.Quantile(50)
}
