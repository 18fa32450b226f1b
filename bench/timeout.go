package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// errTimeout is the cause of a request's context when the request outlived
// Options.Timeout; it is a context.DeadlineExceeded, counted as a timeout.
var errTimeout = fmt.Errorf("bench: no response within the request timeout: %w", context.DeadlineExceeded)

// bound bounds each request of one worker by the session's timeout. A
// context and a timer made for every request cost more CPU than the rest of
// the harness's work on a request (pprof: 8% of the h1 contender's time), so a
// worker keeps one cancellable context, with the session's requests made on
// it, and one timer that cancels it when a request outlives the timeout;
// only then is a new context made, for the requests after that one.
type bound struct {
	s      *session
	ctx    context.Context // nil: no timeout, the session's requests as they are
	cancel context.CancelCauseFunc
	timer  *time.Timer
	reqs   []*http.Request // the session's requests, on ctx
}

// bound returns a worker's bound; the caller closes it when done.
func (s *session) bound() *bound {
	b := &bound{s: s, reqs: s.reqs}
	if s.timeout > 0 {
		b.renew()
	}
	return b
}

// renew makes a new context, with the requests on it, and a timer stopped
// until the next request.
func (b *bound) renew() {
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
func (b *bound) start(tg int) *http.Request {
	if b.ctx != nil {
		b.timer.Reset(b.s.timeout)
	}
	return b.reqs[tg]
}

// end stops the timeout. If it fired, the context is (or is about to be)
// cancelled, and the next request gets a new one.
func (b *bound) end() {
	if b.ctx != nil && !b.timer.Stop() {
		b.cancel(errTimeout)
		b.renew()
	}
}

// close releases the context.
func (b *bound) close() {
	if b.ctx != nil {
		b.timer.Stop()
		b.cancel(context.Canceled)
	}
}
