package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rakyll/hey/requester"

	"muxlab/results"
)

// heyUnknownError is the kind of failure hey reports only as a count: its
// per-request output lists successful responses and leaves errors out.
const heyUnknownError = "error (hey reports no detail)"

// heyTimedRequests is the count given to hey for a timed turn. hey keeps
// every result in memory (about 130 bytes each), so it is bounded.
const heyTimedRequests = 1 << 20

// runHey runs the turn with github.com/rakyll/hey's requester, as a hey user
// would type hey -n N -c CONNS, against the HTTP/1.1 listener: hey has no
// h2c, keeps no fixed number of connections (each run makes its own
// transport), and has no warm-up, so none is done. In Page mode each page is
// one hey run of Objects requests.
func (c *contender) runHey(ctx context.Context, r *runner, rd *results.Round) {
	sc := &r.opts.Scenario
	targets := paths(sc)
	rec := newRecorder()
	page := results.NewHistogram()
	start := time.Now()
	timeout := int(math.Ceil(r.opts.Timeout.Seconds()))
	var timedOut atomic.Bool
	if sc.Duration > 0 {
		t := time.AfterFunc(sc.Duration.D(), func() { timedOut.Store(true) })
		defer t.Stop()
	}
	switch {
	case sc.Mode == results.Page:
		for p := 0; (sc.Duration > 0 || p < sc.Pages) && ctx.Err() == nil && !timedOut.Load(); p++ {
			t0 := time.Now()
			res := heyRun(ctx, c.base, targets, sc, sc.Objects, c.conns, timeout, &r.progress, nil)
			if res.complete() {
				page.Record(time.Since(t0))
			}
			res.into(rec)
		}
	default:
		n := sc.Requests
		if sc.Duration > 0 {
			n = heyTimedRequests // hey needs a count; the duration stops it first
		}
		res := heyRun(ctx, c.base, targets, sc, n, c.conns, timeout, &r.progress, &timedOut)
		res.into(rec)
	}
	rd.Elapsed = results.Duration(time.Since(start))
	rec.fill(rd)
	rd.Wait, rd.Service = nil, nil // hey does not tell wait from service
	if sc.Mode == results.Page {
		rd.Page = page.Dist()
		rd.Model = c.model(heyObjects(sc.Objects, c.conns), sc.Delay.D(), r.rtt, 0, rd.Page)
	}
}

// heyObjects is how many of a page's objects hey requests: like the hey
// command, it sends n/c requests on each of its c workers and drops the
// remainder.
func heyObjects(objects, conns int) int { return max(objects/conns, 1) * conns }

// heyResult is what one hey run measured.
type heyResult struct {
	sent int64 // requests hey made (counted as it asked for each)
	rows []heyRow
	err  error // the output could not be read
}

type heyRow struct {
	latency time.Duration
	status  int
}

// heyRun runs hey once: n requests over c workers, requests picked from
// targets in turn. It stops early when ctx is done or stop is set.
func heyRun(ctx context.Context, base string, targets []target, sc *results.Scenario, n, c, timeout int,
	progress *atomic.Int64, stop *atomic.Bool) heyResult {
	n = heyObjects(n, c) // ask for what hey will send
	first, err := http.NewRequest(http.MethodGet, base+targets[0].path, nil)
	if err != nil {
		return heyResult{err: err}
	}
	var next atomic.Int64
	var out bytes.Buffer
	w := &requester.Work{
		Request: first,
		RequestFunc: func() *http.Request {
			i := next.Add(1) - 1
			progress.Add(1)
			tg := int(i % int64(len(targets)))
			if sc.Mode != results.Page {
				tg = pick(sc, i)
			}
			req, _ := http.NewRequest(http.MethodGet, base+targets[tg].path, nil)
			return req
		},
		N: n, C: c, Timeout: timeout, DisableCompression: true, Output: "csv", Writer: &out,
	}
	done := make(chan struct{})
	go func() {
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
	rows, err := parseHeyCSV(out.Bytes())
	return heyResult{sent: next.Load(), rows: rows, err: err}
}

// complete reports whether every request hey made succeeded.
func (h heyResult) complete() bool {
	if h.err != nil || int64(len(h.rows)) != h.sent {
		return false
	}
	for _, r := range h.rows {
		if r.status/100 != 2 {
			return false
		}
	}
	return true
}

// into records every request of h: the rows hey printed, and as failures
// the requests it made but did not print.
func (h heyResult) into(rec *recorder) {
	for _, row := range h.rows {
		rec.record(&outcome{status: row.status, latency: row.latency})
	}
	for i := int64(len(h.rows)); i < h.sent; i++ {
		rec.sent++
		rec.fail(heyUnknownError)
	}
	if h.err != nil {
		rec.fail("hey output: " + h.err.Error())
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
		// hey's requests last at most its timeout; a longer, negative or
		// not-a-number time is not one of its lines.
		if err1 != nil || err2 != nil || !(secs >= 0 && secs <= 24*3600) {
			return rows, fmt.Errorf("line %d: %q is not a hey result", line, text)
		}
		rows = append(rows, heyRow{latency: time.Duration(secs * float64(time.Second)), status: status})
	}
	return rows, sc.Err()
}
