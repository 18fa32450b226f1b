package bench

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"muxlab/h3client"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/results"
	"muxlab/roundtrip"
)

// Client is what bench needs of a client under test. h1pool.Pool and
// h2client.Client satisfy it: Do sends a request and fills in how it was
// carried, Stats reports the client's connections, Close ends it.
type Client interface {
	Do(req *http.Request, info *roundtrip.Info) (*http.Response, error)
	Stats() roundtrip.Stats
	Close() error
}

// runClient runs a turn of a contender that has a Client: the warm-up, then
// the measured loop, then the client's own counts.
func (r *runner) runClient(ctx context.Context, c *contender, rd *results.Round) {
	fresh := func() (Client, error) { return c.newClient(c.target, c.n, r.opts.DialTimeout, &r.opts.Scenario) }
	if sc := &r.opts.Scenario; len(sc.Hosts) > 0 { // every origin of a recorded page gets its own
		one := fresh
		fresh = func() (Client, error) { return newPerOrigin(one), nil }
	}
	client, err := fresh()
	if err != nil { // options were validated, so this is a bug: said, and the turn's requests unsent
		rd.Error = "client: " + err.Error()
		return
	}
	sc := &r.opts.Scenario
	s, err := newSession(ctx, sc, c.target.URL, client, r.opts, &r.progress)
	if err != nil {
		client.Close()
		rd.Error = "request: " + err.Error()
		return
	}
	s.fresh = fresh
	defer s.close()
	if sc.Warmup > 0 {
		s.run(workers(sc), sc.Warmup, results.NewHistogram(), nil)
		if sc.Duration > 0 { // a timed turn's progress is its measured requests
			r.progress.Store(0)
		}
	}
	recs := workers(sc)
	page := results.NewHistogram()
	var sample *[]results.Timing
	if sc.Mode == results.Page {
		sample = &rd.Sample
	}
	var sched schedule
	s.spent, s.discard = nil, true // the warm-up's clients are not the turn's
	s.carts = cartTally{}          // nor its carts
	if mw, ok := r.truth.(midwayTruth); ok {
		defer r.midway(mw, sc)()
	}
	quic0, _ := quicOf(s.client)
	r.measure(rd, func() {
		s.arm()
		sched = s.run(recs, measured(sc), page, sample)
	})
	quic1, isQUIC := quicOf(s.client)
	total := recs[0]
	for _, rec := range recs[1:] {
		total.merge(rec)
	}
	total.fill(rd)
	if len(s.carts) > 0 {
		rd.Carts = s.carts
	}
	if sc.Mode == results.Open {
		rd.Scheduled = sched.scheduled
		if sched.window > 0 {
			rd.AchievedRate = float64(rd.Sent) / sched.window.Seconds()
		}
	}
	if sched.err != nil {
		rd.Error = "client: " + sched.err.Error()
	}
	st := s.stats()
	rd.Client = &results.ClientConns{
		Dials: st.Dials, Reconnects: st.Reconnects, Retries: st.Retries, ConnsPeak: st.ConnsPeak, InFlightPeak: st.InFlightPeak,
		WaitingPeak: st.WaitingPeak, PeakStreams: st.PeakStreams, MaxConcurrentStreams: st.MaxConcurrentStreams,
		WarmupDials: s.warmupDials,
	}
	for _, pc := range st.PerConn {
		rd.Client.RequestsPerConn = append(rd.Client.RequestsPerConn, pc.Requests)
	}
	rd.Client.Sidecar = sidecarConns(s.client)
	if isQUIC && !sc.Cold { // cold pages each had a client of their own, whose counts are gone
		rd.Client.QUIC = &results.QUICConns{PacketsSent: int64(quic1.PacketsSent - quic0.PacketsSent),
			PacketsLost: int64(quic1.PacketsLost - quic0.PacketsLost), SmoothedRTTMS: float64(quic1.SmoothedRTT) / float64(time.Millisecond)}
	}
	if sc.Mode == results.Page {
		rd.Page = page.Dist()
		rd.PagesIncomplete = sched.incomplete
		if len(sc.Hosts) == 0 { // the model knows one origin's connections
			rd.Model = c.model(sc, &r.run.Network, int(st.MaxConcurrentStreams), rd.Page)
		}
	}
}

// quicOf returns QUIC's counts of an HTTP/3 client.
func quicOf(c Client) (h3client.QUICStats, bool) {
	q, ok := c.(interface{ QUIC() h3client.QUICStats })
	if !ok {
		return h3client.QUICStats{}, false
	}
	return q.QUIC(), true
}

// renew closes the session's client and makes a new one, for a cold page:
// the page opens its own connections. The old client's counts are kept.
func (s *session) renew() error {
	s.client.Close()
	if st := s.client.Stats(); s.discard {
		s.warmupDials += st.Dials
	} else {
		s.spent = append(s.spent, st)
	}
	s.discard = false
	c, err := s.fresh()
	if err != nil {
		s.client = closedClient{s.client}
		return err
	}
	s.client = c
	return nil
}

// stats adds up the counts of the clients the session used since spent
// was last cleared: counts summed, peaks the largest.
func (s *session) stats() roundtrip.Stats {
	st := s.client.Stats()
	for _, o := range s.spent {
		addStats(&st, o, false)
		st.PerConn = append(st.PerConn, o.PerConn...)
	}
	return st
}

// addStats adds a client's counts o to st: counts summed, peaks the
// largest; open and peak connections summed when the clients ran at once
// (together), the largest when they ran one after another. The caller
// appends PerConn.
func addStats(st *roundtrip.Stats, o roundtrip.Stats, together bool) {
	st.Dials += o.Dials
	st.Reconnects += o.Reconnects
	st.Retries += o.Retries
	st.Requests += o.Requests
	st.Failed += o.Failed
	if together {
		st.ConnsOpen += o.ConnsOpen
		st.ConnsPeak += o.ConnsPeak
	} else {
		st.ConnsPeak = max(st.ConnsPeak, o.ConnsPeak)
	}
	st.InFlightPeak = max(st.InFlightPeak, o.InFlightPeak)
	st.WaitingPeak = max(st.WaitingPeak, o.WaitingPeak)
	st.PeakStreams = max(st.PeakStreams, o.PeakStreams)
	st.MaxConcurrentStreams = max(st.MaxConcurrentStreams, o.MaxConcurrentStreams)
}

// errNoClient fails the requests of a session whose client could not be
// renewed.
var errNoClient = errors.New("bench: no client: a new one for a cold page could not be made")

// closedClient stands for a client that could not be renewed: its
// requests fail at once, its counts are the old client's.
type closedClient struct{ Client }

func (c closedClient) Do(*http.Request, *roundtrip.Info) (*http.Response, error) {
	return nil, errNoClient
}

// session is one contender's turn in one round: a client, the scenario's
// requests, and the switch that ends the turn.
type session struct {
	sc      *results.Scenario
	client  Client
	targets []target
	reqs    []*http.Request // one per target, reused by every request to it
	timeout time.Duration   // per request; zero: none
	// link is the emulated link the requests cross (nil: none), which
	// measures the waits of TCP connections on lost packets; streamLoss
	// says the client measures its own (h3client's StreamLoss).
	link       *link.Network
	streamLoss bool
	// serverLoss is the server's own record of what loss cost each HTTP/3
	// stream (the embedded server's); nil: none.
	serverLoss streamLossTruth
	// base and version are the target's base URL and the harness's
	// version, for requests made as they go (carts); carts counts what
	// became of the carts of the measured part.
	base, version string
	carts         cartTally
	cartsMu       sync.Mutex
	// ctx is cancelled on Ctrl-C: requests in flight are cancelled and
	// counted so.
	ctx context.Context
	// stopped is closed when no new request may start (the duration is
	// over, or ctx is done); requests in flight finish. stop mirrors it for
	// a check that takes no lock.
	stopped   chan struct{}
	stop      atomic.Bool
	stopOnce  sync.Once
	stoppedAt time.Time // set before stopped is closed
	// timers that stop the session, stopped by close.
	unwatch  func() bool
	timer    *time.Timer
	progress *atomic.Int64
	// fresh makes a new client, for cold pages (Scenario.Cold); spent
	// keeps the counts of the clients closed since.
	fresh func() (Client, error)
	spent []roundtrip.Stats
	// discard says the next renew leaves the closed client's counts out:
	// they were the warm-up's; warmupDials keeps its dials, which the
	// server counted too.
	discard     bool
	warmupDials int64
}

func newSession(ctx context.Context, sc *results.Scenario, base string, c Client, opts *Options, progress *atomic.Int64) (*session, error) {
	s := &session{sc: sc, client: c, targets: paths(sc), timeout: opts.Timeout, ctx: ctx, progress: progress,
		stopped: make(chan struct{}), link: opts.Link, base: base, version: opts.Version, carts: cartTally{}}
	if m, ok := c.(interface{ MeasuresStreamLoss() bool }); ok {
		s.streamLoss = m.MeasuresStreamLoss()
	}
	if sl, ok := opts.Truth.(streamLossTruth); ok {
		s.serverLoss = sl
	}
	for _, t := range s.targets {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+t.path, nil)
		if err != nil {
			return nil, err
		}
		if t.host != "" {
			req.Host = t.host
		}
		setHeaders(req, opts.Version)
		s.reqs = append(s.reqs, req)
	}
	s.unwatch = context.AfterFunc(ctx, s.halt)
	return s, nil
}

// halt stops new requests from starting.
func (s *session) halt() {
	s.stopOnce.Do(func() {
		s.stoppedAt = time.Now()
		s.stop.Store(true)
		close(s.stopped)
	})
}

// arm starts the measured part's clock: a timed turn halts after the
// scenario's duration.
func (s *session) arm() {
	if d := s.sc.Duration.D(); d > 0 {
		s.timer = time.AfterFunc(d, s.halt)
	}
}

// close stops the session's timers, so that none outlives the turn.
func (s *session) close() {
	if s.client != nil {
		s.client.Close()
	}
	s.unwatch()
	if s.timer != nil {
		s.timer.Stop()
	}
}

// schedule is what a loop reports about its own schedule.
type schedule struct {
	scheduled  int64         // open loop: the starts that fell due before the stop
	window     time.Duration // open loop: from the first scheduled start to the last actual one, plus one interval
	incomplete int64         // pages left out for a failed object
	err        error         // a cold page's client could not be made
}

// run runs the scenario's loop with recs as workers: n requests (pages in
// Page mode), or until the session halts when n is zero.
func (s *session) run(recs []*recorder, n int, page *results.Histogram, sample *[]results.Timing) schedule {
	switch s.sc.Mode {
	case results.Page:
		incomplete, err := s.pageLoop(recs, n, page, sample)
		return schedule{incomplete: incomplete, err: err}
	case results.Open:
		return s.openLoop(recs, int64(n))
	default:
		if s.sc.Carts != "" { // Validate: carts only in a closed loop
			s.cartLoop(recs, int64(n))
		} else {
			s.closedLoop(recs, int64(n))
		}
		return schedule{}
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

// do sends the request to target tg on behalf of a workload that asked for
// it at asked (its intended start in an open loop, its page's start), reads
// the whole response and describes what became of it in o.
func (s *session) do(b *worker, tg int, asked time.Time, o *outcome, info *roundtrip.Info) {
	*info = roundtrip.Info{}
	req := b.start(tg)
	resp, err := s.client.Do(req, info)
	o.backend = ""
	if err == nil {
		o.status = resp.StatusCode
		if s.sc.Backends > 0 {
			o.backend = resp.Header.Get(mux.HeaderBackend)
		}
		err = b.drain(resp.Body)
		resp.Body.Close()
	}
	b.end()
	end := s.ended(o, info, err, asked)
	o.class = s.targets[tg].class
	o.lag = info.Start.Sub(asked)
	o.heldBack = info.HeldBack
	o.lossHeld, o.lossKnown = info.LossHeld, s.streamLoss
	switch {
	case o.class == classAll || !info.Local.IsValid() || info.Acquired.IsZero():
	case info.Streamed && s.serverLoss != nil:
		// The server saw every loss of the stream; the client only those
		// that left a hole in its data. The larger is the truer.
		if d, ok := s.serverLoss.StreamLoss(info.Local, info.Stream); ok {
			o.lossHeld = max(o.lossHeld, d)
		}
	case !info.Streamed && s.link != nil:
		o.lossHeld, o.lossKnown = s.link.LossHeld(info.Local, info.Acquired, end)
	}
	s.progress.Add(1)
}

// ended fills o with what became of a request asked for at asked: its
// error (cancelled when the run was), its latency from asked, its wait and
// service; it returns when the request ended.
func (s *session) ended(o *outcome, info *roundtrip.Info, err error, asked time.Time) time.Time {
	end := info.End
	if end.IsZero() {
		end = time.Now()
	}
	o.err = err
	o.canceled = err != nil && s.ctx.Err() != nil
	o.latency = end.Sub(asked)
	if !info.Acquired.IsZero() {
		o.wait = info.Acquired.Sub(info.Start)
		o.service = end.Sub(info.Acquired)
	}
	return end
}

// closedLoop keeps len(recs) requests in flight until total requests have
// been sent (total zero: until the session halts).
func (s *session) closedLoop(recs []*recorder, total int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() {
			var o outcome
			var info roundtrip.Info
			b := s.newWorker()
			defer b.close()
			for !s.stop.Load() {
				i := next.Add(1) - 1
				if total > 0 && i >= total {
					return
				}
				o = outcome{}
				s.do(b, pick(s.sc, i), time.Now(), &o, &info)
				o.lag = -1 // a closed loop has no harness queue
				rec.record(&o)
			}
		})
	}
	wg.Wait()
}

// openLoop starts request i at start + i/Rate, whatever became of the
// earlier ones, with at most len(recs) in flight: each worker takes the
// next start when it is free. Latency counts from the scheduled start, so a
// stall shows in every request that should have started during it, and
// the lag behind the schedule is recorded apart. A counted loop (total > 0)
// sends all its requests; a timed one schedules starts for the scenario's
// duration, and the starts still waiting for the cap when it ends are
// unsent.
func (s *session) openLoop(recs []*recorder, total int64) schedule {
	rate := s.sc.Rate
	interval := time.Duration(float64(time.Second) / rate)
	// startsBy is how many starts fall due before d: those with i/rate < d.
	startsBy := func(d time.Duration) int64 { return int64(math.Ceil(d.Seconds()*rate - 1e-9)) }
	start := time.Now()
	end := int64(-1) // starts at or after index end are not scheduled
	if total > 0 {
		end = total
	} else if d := s.sc.Duration.D(); d > 0 {
		end = startsBy(d)
	}
	var next atomic.Int64
	lastIdx := make([]int64, len(recs))
	lastStart := make([]time.Time, len(recs))
	var wg sync.WaitGroup
	for w, rec := range recs {
		lastIdx[w] = -1
		wg.Go(func() {
			var o outcome
			var info roundtrip.Info
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			b := s.newWorker()
			defer b.close()
			for {
				i := next.Add(1) - 1
				if end >= 0 && i >= end {
					return
				}
				at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if d := time.Until(at); d > 0 {
					timer.Reset(d)
					select {
					case <-timer.C:
					case <-s.stopped:
						return
					}
				}
				if s.stop.Load() {
					return
				}
				o = outcome{}
				s.do(b, pick(s.sc, i), at, &o, &info)
				rec.record(&o)
				lastIdx[w], lastStart[w] = i, info.Start
			}
		})
	}
	wg.Wait()
	var sch schedule
	var last time.Time
	for w := range recs {
		sch.scheduled = max(sch.scheduled, lastIdx[w]+1)
		if lastStart[w].After(last) {
			last = lastStart[w]
		}
	}
	switch {
	case total > 0:
		sch.scheduled = total // the count asked for: on Ctrl-C the rest are unsent
	case s.ctx.Err() != nil && s.stop.Load():
		// Ctrl-C: the starts that fell due before it. stop is read before
		// stoppedAt, which halt wrote before it.
		sch.scheduled = max(sch.scheduled, min(end, startsBy(s.stoppedAt.Sub(start))))
	default:
		sch.scheduled = end // every start of the duration
	}
	if !last.IsZero() {
		sch.window = last.Sub(start) + interval
	}
	return sch
}

// pageLoop requests pages one after another, each page's objects all at
// once, until total pages (total zero: until the session halts). It records
// every complete page's time in page and, if sample is not nil, the
// timings of the first page's objects in it; it returns how many pages were
// left out for a failed or cancelled object.
func (s *session) pageLoop(recs []*recorder, total int, page *results.Histogram, sample *[]results.Timing) (incomplete int64, err error) {
	n := len(s.targets)
	ends := make([]time.Time, n)
	infos := make([]roundtrip.Info, n)
	outs := make([]outcome, n)
	objWorkers := make([]*worker, n)
	for obj := range n {
		objWorkers[obj] = s.newWorker()
		defer objWorkers[obj].close()
	}
	for p := 0; (total == 0 || p < total) && !s.stop.Load(); p++ {
		if s.sc.Cold && s.fresh != nil {
			if err := s.renew(); err != nil {
				return incomplete, err
			}
		}
		// The page's goroutines are made before its clock starts and
		// released at once, so that making them is not part of the page.
		var start time.Time
		begin := make(chan struct{})
		var wg sync.WaitGroup
		for obj := range n {
			wg.Go(func() {
				<-begin
				outs[obj] = outcome{}
				s.do(objWorkers[obj], obj, start, &outs[obj], &infos[obj])
				ends[obj] = start.Add(outs[obj].latency)
				recs[obj].record(&outs[obj])
			})
		}
		start = time.Now()
		close(begin)
		wg.Wait()
		last, complete := start, true
		for obj := range n {
			last = maxTime(last, ends[obj])
			complete = complete && outs[obj].err == nil && outs[obj].status/100 == 2
		}
		if complete {
			page.Record(last.Sub(start))
		} else {
			incomplete++
		}
		if sample != nil && p == 0 {
			*sample = timings(start, infos, outs)
		}
	}
	return incomplete, nil
}

func timings(start time.Time, infos []roundtrip.Info, outs []outcome) []results.Timing {
	us := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Sub(start).Microseconds()
	}
	out := make([]results.Timing, len(infos))
	for i, in := range infos {
		out[i] = results.Timing{Object: i, Conn: in.Conn, StartUS: us(in.Start), SentUS: us(in.Acquired),
			EndUS: us(in.End), Status: outs[i].status}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// midway calls mw.Midway once half the turn's measured requests have been
// sent (or half its duration has passed), for a scenario that changes its
// backends mid-turn; the returned func stops the watch.
func (r *runner) midway(mw midwayTruth, sc *results.Scenario) func() {
	if !sc.AddBackend && !sc.StopBackend {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if d := sc.Duration.D(); d > 0 {
			select {
			case <-time.After(d / 2):
				mw.Midway()
			case <-done:
			}
			return
		}
		half := int64(sc.Warmup) + int64(measured(sc))/2
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if r.progress.Load() >= half {
					mw.Midway()
					return
				}
			case <-done:
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
