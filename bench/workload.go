package bench

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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

// session is one contender's turn in one round: a client, the scenario's
// requests, and the switches that end the turn.
type session struct {
	sc      *results.Scenario
	client  Client
	targets []target
	reqs    []*http.Request // one per target, reused by every request to it
	timeout time.Duration   // per request; zero: none
	// ctx is cancelled on Ctrl-C: requests in flight are cancelled and
	// counted so.
	ctx context.Context
	// stop is set when no new request may start (the duration is over, or
	// ctx is done); requests in flight finish.
	stop     atomic.Bool
	progress *atomic.Int64
}

func newSession(ctx context.Context, sc *results.Scenario, base string, c Client, timeout time.Duration, progress *atomic.Int64) (*session, error) {
	s := &session{sc: sc, client: c, targets: paths(sc), timeout: timeout, ctx: ctx, progress: progress}
	for _, t := range s.targets {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+t.path, nil)
		if err != nil {
			return nil, err
		}
		s.reqs = append(s.reqs, req)
	}
	context.AfterFunc(ctx, func() { s.stop.Store(true) })
	return s, nil
}

// stopAfter sets stop once d has passed (d zero: never) and returns a
// function that cancels that.
func (s *session) stopAfter(d time.Duration) func() {
	if d <= 0 {
		return func() {}
	}
	t := time.AfterFunc(d, func() { s.stop.Store(true) })
	return func() { t.Stop() }
}

// do sends the request to target tg, whose start (for latency) is start,
// reads the whole response and describes what became of it in o.
func (s *session) do(tg int, start time.Time, o *outcome, info *roundtrip.Info) {
	*info = roundtrip.Info{}
	req := s.reqs[tg]
	if s.timeout > 0 {
		ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := s.client.Do(req, info)
	if err == nil {
		o.status = resp.StatusCode
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	end := info.End
	if end.IsZero() {
		end = time.Now()
	}
	o.err = err
	o.canceled = err != nil && s.ctx.Err() != nil
	o.class = s.targets[tg].class
	o.latency = end.Sub(start)
	if !info.Acquired.IsZero() {
		o.wait = info.Acquired.Sub(start)
		o.service = end.Sub(info.Acquired)
	}
	s.progress.Add(1)
}

// closedLoop keeps len(recs) requests in flight until total requests have
// been sent (total zero: until stop).
func (s *session) closedLoop(recs []*recorder, total int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() {
			var o outcome
			var info roundtrip.Info
			for !s.stop.Load() {
				i := next.Add(1) - 1
				if total > 0 && i >= total {
					return
				}
				o = outcome{}
				s.do(pick(s.sc, i), time.Now(), &o, &info)
				rec.record(&o)
			}
		})
	}
	wg.Wait()
}

// openLoop starts requests at s.sc.Rate per second, each at its scheduled
// time whatever became of the earlier ones, with at most len(recs) in flight;
// latency counts from the scheduled time, so a stall shows in every request
// that should have started during it.
func (s *session) openLoop(recs []*recorder, total int64) {
	type job struct {
		i        int64
		intended time.Time
	}
	jobs := make(chan job, 4096)
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() {
			var o outcome
			var info roundtrip.Info
			for j := range jobs {
				if s.ctx.Err() != nil {
					continue // never sent
				}
				o = outcome{}
				s.do(pick(s.sc, j.i), j.intended, &o, &info)
				rec.record(&o)
			}
		})
	}
	interval := time.Duration(float64(time.Second) / s.sc.Rate)
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); (total == 0 || i < total) && !s.stop.Load(); i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-s.ctx.Done():
			}
		}
		if s.stop.Load() {
			break
		}
		jobs <- job{i, at}
	}
	close(jobs)
	wg.Wait()
}

// pageLoop requests pages one after another, each page's objects all at
// once, until total pages (total zero: until stop). It records every
// complete page's time in page and, if sample is not nil, the timings of the
// first page's objects in it.
func (s *session) pageLoop(recs []*recorder, total int, page *results.Histogram, sample *[]results.Timing) {
	n := len(s.targets)
	ends := make([]time.Time, n)
	infos := make([]roundtrip.Info, n)
	outs := make([]outcome, n)
	for p := 0; (total == 0 || p < total) && !s.stop.Load(); p++ {
		start := time.Now()
		var wg sync.WaitGroup
		for obj := range n {
			wg.Go(func() {
				outs[obj] = outcome{}
				s.do(obj, start, &outs[obj], &infos[obj])
				ends[obj] = start.Add(outs[obj].latency)
				recs[obj].record(&outs[obj])
			})
		}
		wg.Wait()
		last, complete := start, true
		for obj := range n {
			last = maxTime(last, ends[obj])
			complete = complete && outs[obj].err == nil && outs[obj].status/100 == 2
		}
		if complete {
			page.Record(last.Sub(start))
		}
		if sample != nil && p == 0 {
			*sample = timings(start, infos, outs)
		}
	}
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
