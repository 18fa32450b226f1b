package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rakyll/hey/requester"

	"muxlab/link"
	"muxlab/results"
)

// heyUnknownError is the kind of failure hey reports only as a count: its
// per-request output lists successful responses and leaves errors out.
const heyUnknownError = "error (hey reports no detail)"

// heyMaxResults is how many results one hey run keeps (its maxRes): a run of
// more requests would leave the rest out of its output, where they would
// count as failures, so a longer turn is split into runs of at most this.
const heyMaxResults = 1_000_000

// heyResolution is the resolution of the times hey prints (seconds with four
// decimals). A printed 0 means under half of it, and is recorded as a
// quarter of it, the middle of that interval, never as 0.
const heyResolution = 100 * time.Microsecond

// runHey runs the turn with github.com/rakyll/hey's requester, as a hey user
// would type hey -n N -c CONNS, against the HTTP/1.1 listener: hey has no
// h2c, keeps no fixed number of connections (each run makes its own
// transport), and has no warm-up, so none is done. In Page mode each page is
// one hey run of Objects requests, and its time runs from the first
// request's start to the last one's end, by hey's own offsets.
func runHey(ctx context.Context, r *runner, c *contender, rd *results.Round) {
	sc := &r.opts.Scenario
	job := heyJob{base: c.target.URL, targets: paths(sc), sc: sc, c: c.n, timeout: heyTimeout(r.opts.Timeout),
		version: r.opts.Version, progress: &r.progress}
	if dial := c.target.Dial; dial != nil {
		// hey cannot be given a dialer: it connects to a forwarder on
		// loopback that opens each of its connections with the target's
		// (across the emulated link).
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		local, err := link.Forward(fctx, func(ctx context.Context) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, r.opts.DialTimeout)
			defer cancel()
			return dial(ctx, "tcp", c.target.Addr)
		})
		if err != nil {
			rd.Error = "hey through its forwarder: " + err.Error()
			return
		}
		job.base, job.host = "http://"+local, strings.TrimPrefix(c.target.URL, "http://")
	}
	rec := newRecorder()
	page := results.NewHistogram()
	var timedOut atomic.Bool
	r.measure(rd, func() {
		if sc.Duration > 0 {
			t := time.AfterFunc(sc.Duration.D(), func() { timedOut.Store(true) })
			defer t.Stop()
		}
		if sc.Mode == results.Page {
			for p := 0; (sc.Duration > 0 || p < sc.Pages) && ctx.Err() == nil && !timedOut.Load(); p++ {
				res := job.run(ctx, sc.Objects, nil)
				if res.complete() {
					page.Record(res.span())
				} else {
					rd.PagesIncomplete++
				}
				res.into(rec)
			}
			return
		}
		remaining := sc.Requests
		// A counted turn sends heyObjects(sc.Requests, c.n), as hey would.
		for (sc.Duration > 0 || remaining >= c.n || remaining == sc.Requests) && ctx.Err() == nil && !timedOut.Load() {
			n := heyMaxResults / c.n * c.n
			if sc.Duration == 0 {
				n = min(n, remaining)
			}
			job.run(ctx, n, &timedOut).into(rec)
			remaining -= n
		}
	})
	rec.fill(rd)
	rd.Wait, rd.Service = nil, nil // hey does not tell wait from service
	if sc.Mode == results.Page {
		rd.Page = page.Dist()
		rd.Model = c.model(sc, &r.run.Network, 0, rd.Page)
	}
}

// heyTimeout is the whole seconds hey takes as its timeout: d rounded up, so
// that no request is cut off sooner than asked (heyNotes says so).
func heyTimeout(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// heyNotes says what a reader of a run with hey must know: how many of a
// page's objects it sent, its timeout in whole seconds, and its resolution.
func heyNotes(opts *Options, cs []*contender) []string {
	var out []string
	for _, c := range cs {
		if c.Name != Hey {
			continue
		}
		sc := &opts.Scenario
		if n := heyObjects(sc.Objects, c.n); sc.Mode == results.Page && n != sc.Objects {
			out = append(out, fmt.Sprintf("hey, like the hey command, sends n/c requests on each of its %d workers: %d of the %d objects of each page",
				c.n, n, sc.Objects))
		}
		if secs := heyTimeout(opts.Timeout); time.Duration(secs)*time.Second != opts.Timeout {
			out = append(out, fmt.Sprintf("hey takes its timeout in whole seconds: --timeout %v ran as %ds", opts.Timeout, secs))
		}
		out = append(out, "hey prints its times to 0.1 ms: its percentiles are rounded to that")
		if sc.Mode == results.Page || sc.Mode == results.Closed && sc.Concurrency > c.n {
			out = append(out, "hey's latency starts when one of its workers sends the request: it leaves out the time the request waited for a worker (h1's wait), so compare its page time, not its latency")
		}
	}
	return out
}

// heyObjects is how many of n requests hey sends with c workers: like the
// hey command, it sends n/c requests on each worker and drops the remainder.
func heyObjects(n, c int) int { return max(n/c, 1) * c }

// heyJob is what every hey run of a turn shares.
type heyJob struct {
	base     string
	host     string // the Host header, when base is a forwarder's address
	targets  []target
	sc       *results.Scenario
	c        int // workers
	timeout  int // seconds
	version  string
	progress *atomic.Int64
}

// heyResult is what one hey run measured.
type heyResult struct {
	sent int64 // requests hey made (counted as it asked for each)
	rows []heyRow
	err  error // the output could not be read (rows holds what could)
}

type heyRow struct {
	latency time.Duration
	offset  time.Duration // when the request started, on hey's clock
	status  int
}

// run runs hey once: n requests over the job's workers, requests picked
// from the targets in turn. It stops early when ctx is done or stop is set.
func (j *heyJob) run(ctx context.Context, n int, stop *atomic.Bool) heyResult {
	n = heyObjects(n, j.c) // ask for what hey will send
	first, err := http.NewRequest(http.MethodGet, j.base+j.targets[0].path, nil)
	if err != nil {
		return heyResult{err: err}
	}
	var next atomic.Int64
	var out bytes.Buffer
	w := &requester.Work{
		Request: first,
		RequestFunc: func() *http.Request {
			i := next.Add(1) - 1
			j.progress.Add(1)
			tg := int(i % int64(len(j.targets)))
			if j.sc.Mode != results.Page {
				tg = pick(j.sc, i)
			}
			req, _ := http.NewRequest(http.MethodGet, j.base+j.targets[tg].path, nil)
			if j.host != "" {
				req.Host = j.host
			}
			setHeaders(req, j.version)
			return req
		},
		N: n, C: j.c, Timeout: j.timeout, DisableCompression: true, Output: "csv", Writer: &out,
	}
	// Init before anything may call Stop: Stop sends on a channel that
	// Init makes, and would block for ever on the nil one.
	w.Init()
	if ctx.Err() != nil {
		return heyResult{}
	}
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				w.Stop()
				return
			case <-t.C:
				if stop != nil && stop.Load() {
					w.Stop()
					return
				}
			case <-done:
				return
			}
		}
	}()
	w.Run()
	close(done)
	<-watched
	rows, err := parseHeyCSV(out.Bytes())
	return heyResult{sent: next.Load(), rows: rows, err: err}
}

// complete reports whether every request hey made succeeded.
func (h heyResult) complete() bool {
	if h.err != nil || h.sent == 0 || int64(len(h.rows)) != h.sent {
		return false
	}
	for _, r := range h.rows {
		if r.status/100 != 2 {
			return false
		}
	}
	return true
}

// span is the time from the first request's start to the last one's end.
func (h heyResult) span() time.Duration {
	if len(h.rows) == 0 {
		return 0
	}
	first, last := h.rows[0].offset, h.rows[0].offset+h.rows[0].latency
	for _, r := range h.rows[1:] {
		first, last = min(first, r.offset), max(last, r.offset+r.latency)
	}
	return last - first
}

// into records every request of h: the rows hey printed, and as failures
// the requests it made but did not print (or whose lines could not be read).
func (h heyResult) into(rec *recorder) {
	for _, row := range h.rows {
		rec.record(&outcome{status: row.status, latency: row.latency, lag: -1})
	}
	kind := heyUnknownError
	if h.err != nil {
		kind = "hey output unreadable: " + h.err.Error()
	}
	for i := int64(len(h.rows)); i < h.sent; i++ {
		rec.sent++
		rec.fail(kind)
	}
}

// parseHeyCSV reads hey's csv output: a header, then one line per
// successful response, response-time first (seconds) and status code
// seventh.
func parseHeyCSV(data []byte) ([]heyRow, error) {
	var rows []heyRow
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "response-time") {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) < 8 {
			return rows, fmt.Errorf("line %d has %d fields, want 8", line, len(f))
		}
		secs, err1 := strconv.ParseFloat(f[0], 64)
		status, err2 := strconv.Atoi(f[6])
		offset, err3 := strconv.ParseFloat(f[7], 64)
		// hey's requests last at most its timeout; a longer, negative or
		// not-a-number time is not one of its lines.
		if err1 != nil || err2 != nil || err3 != nil || !(secs >= 0 && secs <= 24*3600) || !(offset >= 0 && offset <= 1e9) {
			return rows, fmt.Errorf("line %d: %q is not a hey result", line, text)
		}
		lat := time.Duration(secs * float64(time.Second))
		if lat == 0 {
			lat = heyResolution / 4
		}
		rows = append(rows, heyRow{latency: lat, offset: time.Duration(offset * float64(time.Second)), status: status})
	}
	return rows, sc.Err()
}
