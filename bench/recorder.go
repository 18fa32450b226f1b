package bench

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"muxlab/results"
	"muxlab/roundtrip"
)

// outcome is what became of one request.
type outcome struct {
	err       error         // nil if a response was read to the end
	status    int           // 0 if no response
	latency   time.Duration // from when the workload asked (intended start, page start) to its end
	lag       time.Duration // from then until the request was handed to the client; negative: none (closed loop, hey)
	wait      time.Duration // from then until a connection or stream slot was free and it could be sent
	service   time.Duration // from the connection or slot to the last byte
	heldBack  time.Duration // of the service, the time its answer waited behind earlier answers on its connection
	lossHeld  time.Duration // of the service, the time its bytes waited on lost packets sent again
	lossKnown bool          // lossHeld was measured
	backend   string        // the backend that answered, behind a balancing front (its Muxlab-Backend)
	class     int
	canceled  bool // stopped by the end of the run, not failed
}

// recorder keeps one worker's figures. Only its worker touches it, so
// recording takes no lock; recorders are merged after the workers stop.
//
// The times of successful requests wait in a small buffer and go into the
// histograms a batch at a time: a run has up to thousands of workers, each
// with histograms of its own, and a histogram touched once per request is
// cold in the cache every time (it cost more CPU than the rest of the
// recording put together), while one fed a batch stays hot through it.
type recorder struct {
	latency, lag, wait, service *results.Histogram
	classes                     [numClasses]*results.Histogram
	// fastWait, fastHeld and fastLoss are the fast requests' wait, time
	// held back behind earlier answers and time waiting on lost packets,
	// for what held them back (a scenario of two kinds of request).
	fastWait, fastHeld, fastLoss *results.Histogram
	// backends holds the latency of the responses of each backend, behind
	// a balancing front; made on the first.
	backends         map[string]*results.Histogram
	sent, ok, failed int64
	canceled         int64
	statuses         [600]int64
	errs             map[string]int64 // made on the first error
	// batch holds the times not yet in the histograms, n of them.
	batch [batchSize]times
	n     int
}

// batchSize is how many requests' times a recorder holds before it
// records them.
const batchSize = 128

// times are one successful request's times; lag < 0: none.
type times struct{ latency, lag, wait, service time.Duration }

func newRecorder() *recorder {
	r := &recorder{latency: results.NewHistogram(), lag: results.NewHistogram(), wait: results.NewHistogram(),
		service: results.NewHistogram(), fastWait: results.NewHistogram(), fastHeld: results.NewHistogram(),
		fastLoss: results.NewHistogram()}
	for i := range r.classes {
		r.classes[i] = results.NewHistogram()
	}
	return r
}

// record counts one request. It allocates nothing unless the request failed.
func (r *recorder) record(o *outcome) {
	r.sent++
	if o.status >= 100 && o.status < len(r.statuses) {
		r.statuses[o.status]++
	}
	switch {
	case o.canceled:
		r.canceled++
	case o.err != nil:
		r.fail(errorKind(o.err))
	case o.status < 200 || o.status > 299:
		r.fail("status " + strconv.Itoa(o.status))
	default:
		r.ok++
		if r.n == batchSize {
			r.flush()
		}
		r.batch[r.n] = times{o.latency, o.lag, o.wait, o.service}
		r.n++
		if o.class != classAll { // only a scenario of two kinds of request has classes
			r.classes[o.class].Record(o.latency)
		}
		if o.backend != "" {
			r.recordBackend(o.backend, o.latency)
		}
		if o.class == classFast {
			r.fastWait.Record(o.wait)
			r.fastHeld.Record(o.heldBack)
			if o.lossKnown {
				r.fastLoss.Record(o.lossHeld)
			}
		}
	}
}

// flush records the batch's times in the histograms, one histogram at a time.
func (r *recorder) flush() {
	b := r.batch[:r.n]
	for i := range b {
		r.latency.Record(b[i].latency)
	}
	for i := range b {
		r.wait.Record(b[i].wait)
	}
	for i := range b {
		r.service.Record(b[i].service)
	}
	for i := range b {
		if b[i].lag >= 0 {
			r.lag.Record(b[i].lag)
		}
	}
	r.n = 0
}

// maxBackendNames bounds the backends a recorder tells apart; responses
// naming others are counted under otherBackend.
const (
	maxBackendNames = 64
	otherBackend    = "(others)"
)

func (r *recorder) recordBackend(name string, latency time.Duration) {
	if r.backends == nil {
		r.backends = make(map[string]*results.Histogram)
	}
	h := r.backends[name]
	if h == nil {
		if len(r.backends) >= maxBackendNames {
			name = otherBackend
		}
		if h = r.backends[name]; h == nil {
			h = results.NewHistogram()
			r.backends[name] = h
		}
	}
	h.Record(latency)
}

func (r *recorder) fail(kind string) {
	r.failed++
	if r.errs == nil {
		r.errs = make(map[string]int64)
	}
	r.errs[kind]++
}

// merge adds o's figures to r.
func (r *recorder) merge(o *recorder) {
	r.flush()
	o.flush()
	r.latency.Merge(o.latency)
	r.lag.Merge(o.lag)
	r.wait.Merge(o.wait)
	r.service.Merge(o.service)
	for i := range r.classes {
		r.classes[i].Merge(o.classes[i])
	}
	r.fastWait.Merge(o.fastWait)
	r.fastHeld.Merge(o.fastHeld)
	r.fastLoss.Merge(o.fastLoss)
	for name, h := range o.backends {
		if r.backends == nil {
			r.backends = make(map[string]*results.Histogram)
		}
		if r.backends[name] == nil {
			r.backends[name] = results.NewHistogram()
		}
		r.backends[name].Merge(h)
	}
	r.sent += o.sent
	r.ok += o.ok
	r.failed += o.failed
	r.canceled += o.canceled
	for i, n := range o.statuses {
		r.statuses[i] += n
	}
	for k, n := range o.errs {
		if r.errs == nil {
			r.errs = make(map[string]int64)
		}
		r.errs[k] += n
	}
}

// fill writes r's figures into a round.
func (r *recorder) fill(rd *results.Round) {
	r.flush()
	rd.Sent, rd.OK, rd.Failed, rd.Cancelled = r.sent, r.ok, r.failed, r.canceled
	rd.Latency, rd.Wait, rd.Service = r.latency.Dist(), r.wait.Dist(), r.service.Dist()
	if r.lag.Count() > 0 {
		rd.Lag = r.lag.Dist()
	}
	for code, n := range r.statuses {
		if n > 0 {
			if rd.Statuses == nil {
				rd.Statuses = make(map[string]int64)
			}
			rd.Statuses[strconv.Itoa(code)] = n
		}
	}
	if len(r.errs) > 0 {
		rd.Errors = r.errs
	}
	if r.classes[classFast].Count()+r.classes[classSlow].Count() > 0 {
		rd.Classes = map[string]*results.Dist{
			classNames[classFast]: r.classes[classFast].Dist(),
			classNames[classSlow]: r.classes[classSlow].Dist(),
			results.ClassFastWait: r.fastWait.Dist(),
			results.ClassFastHeld: r.fastHeld.Dist(),
		}
		if r.fastLoss.Count() > 0 {
			rd.Classes[results.ClassFastLoss] = r.fastLoss.Dist()
		}
	}
	if len(r.backends) > 0 {
		names := slices.Sorted(maps.Keys(r.backends))
		for _, name := range names {
			h := r.backends[name]
			rd.Backends = append(rd.Backends, results.BackendFigures{Name: name, Requests: h.Count(), Latency: h.Dist()})
		}
	}
	if secs := rd.Elapsed.D().Seconds(); secs > 0 {
		rd.Throughput = float64(r.ok) / secs
	}
}

// errorKind names the kind of a failure, from a small fixed set, so that
// errors can be counted by kind. The kind comes from the error's type or
// identity, never from its text.
func errorKind(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, roundtrip.ErrResponseTooLarge):
		return "response too large"
	case errors.Is(err, roundtrip.ErrHandshake): // before timeout: one that timed out is a handshake that failed
		return "handshake"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, roundtrip.ErrClosed):
		return "client closed"
	case errors.Is(err, roundtrip.ErrGoAway):
		return "refused by GOAWAY"
	case errors.Is(err, roundtrip.ErrStreamReset):
		return "stream reset"
	case errors.As(err, &op) && op.Op == "dial":
		return "dial"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, roundtrip.ErrConnLost):
		return "connection closed"
	}
	return "other"
}
