package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errTimeout is the cause of a request's context when the request outlived
// Options.Timeout; it is a context.DeadlineExceeded, counted as a timeout.
var errTimeout = fmt.Errorf("bench: no response within the request timeout: %w", context.DeadlineExceeded)

// worker is what one worker of a session keeps across its requests: what
// bounds each request by the session's timeout, and a buffer to read bodies
// into.
//
// A context and a timer made for every request cost more CPU than the rest
// of the harness's work on a request (pprof: 8% of the h1 contender's
// time), so a worker keeps one cancellable context, with the session's
// requests made on it, and one timer that cancels it when a request
// outlives the timeout; only then is a new context made, for the requests
// after that one.
type worker struct {
	s      *session
	ctx    context.Context // nil: no timeout, the session's requests as they are
	cancel context.CancelCauseFunc
	timer  *time.Timer
	reqs   []*http.Request // the session's requests, on ctx
	buf    []byte          // the worker's buffer for reading bodies
}

// newWorker returns a worker's state; the caller closes it when done.
func (s *session) newWorker() *worker {
	b := &worker{s: s, reqs: s.reqs}
	if s.timeout > 0 {
		b.renew()
	}
	return b
}

// renew makes a new context, with the requests on it, and a timer stopped
// until the next request.
func (b *worker) renew() {
	ctx, cancel := context.WithCancelCause(b.s.ctx)
	b.ctx, b.cancel = ctx, cancel
	b.timer = time.AfterFunc(time.Hour, func() { cancel(errTimeout) })
	b.timer.Stop()
	b.reqs = make([]*http.Request, len(b.s.reqs))
	for i, r := range b.s.reqs {
		b.reqs[i] = r.WithContext(ctx)
	}
}

// start returns target tg's request, with the timeout running.
func (b *worker) start(tg int) *http.Request {
	if b.ctx != nil {
		b.timer.Reset(b.s.timeout)
	}
	return b.reqs[tg]
}

// end stops the timeout. If it fired, the context is (or is about to be)
// cancelled, and the next request gets a new one.
func (b *worker) end() {
	if b.ctx != nil && !b.timer.Stop() {
		b.cancel(errTimeout)
		b.renew()
	}
}

// drain reads body to its end into the worker's own buffer (io.Copy to
// io.Discard takes one from a shared pool for every body).
func (b *worker) drain(body io.Reader) error {
	if b.buf == nil {
		b.buf = make([]byte, 16<<10)
	}
	for {
		_, err := body.Read(b.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// close releases the context.
func (b *worker) close() {
	if b.ctx != nil {
		b.timer.Stop()
		b.cancel(context.Canceled)
	}
}
