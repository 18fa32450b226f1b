package h1pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"muxlab/roundtrip"
)

// aLongTimeAgo is a deadline in the past: setting it makes blocked reads and
// writes return at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes req and reads the response head. The body is left on the
// connection for the caller to read.
func (c *conn) roundTrip(req *http.Request, fb *fixedBody) (*http.Response, error) {
	ctx := req.Context()
	c.watch(ctx)
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	if !dl.Equal(c.deadline) { // setting an unchanged deadline still costs a timer update
		c.nc.SetDeadline(dl)
		c.deadline = dl
	}
	if err := writeRequest(c.bw, req); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("writing request: %w", err))
	}
	if err := c.bw.Flush(); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("writing request: %w", err))
	}
	for n1xx := 0; ; n1xx++ {
		c.limitHead()
		resp, err := readResponse(c.br, req, fb)
		c.limit.left = noLimit
		if errors.Is(err, errHeadLimit) {
			return nil, fmt.Errorf("response head larger than %d bytes: %w", c.maxHead, roundtrip.ErrResponseTooLarge)
		}
		if err != nil {
			return nil, ctxErr(ctx, fmt.Errorf("reading response: %w", err))
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("the server switched protocols, which h1pool does not support")
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			if n1xx == Max1xxResponses {
				return nil, fmt.Errorf("more than %d informational responses", Max1xxResponses)
			}
			continue // an informational answer (100 Continue, 103 Early Hints): the real one follows
		}
		return resp, nil
	}
}

// noLimit is a limitReader's budget outside a response head.
const noLimit = math.MaxInt64

// errHeadLimit is what a limitReader returns once its budget is spent.
var errHeadLimit = errors.New("h1pool: response head limit reached")

// limitReader is a connection's reader, which stops at a budget while a
// response head is read: the head's parsers (the plain path and net/http's)
// read until they find its end, so a server that never ends it would
// otherwise make them hold everything it sends.
type limitReader struct {
	r    io.Reader
	left int64 // bytes that may still be read; only the request on the connection touches it
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errHeadLimit
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// limitHead gives the next head its budget: the bound, plus what the
// connection's buffer may read ahead of the head's end, less what is
// already buffered (which counts against it).
func (c *conn) limitHead() {
	c.limit.left = c.maxHead + int64(c.br.Size()-c.br.Buffered())
}

// watch makes the end of ctx unblock the connection's reads and writes while
// the request is on it.
//
// Registering a watch on a context for each request (context.AfterFunc)
// costs an allocation and a map insertion in the context; a load generator
// sends request after request on the same context, so the watch stays on
// the connection's last context, and only a request on another one moves
// it. The watch acts only while a request of its context is on the
// connection (busy), so a context that ends after its requests does not
// break the connection for the next one.
func (c *conn) watch(ctx context.Context) {
	c.mu.Lock()
	c.busy = ctx // before the watch starts: a context already done must find it busy
	c.mu.Unlock()
	if ctx.Done() == nil || c.watched == ctx {
		return
	}
	if c.stop != nil {
		c.stop()
	}
	c.watched = ctx
	c.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.busy == ctx {
			c.broken = true
			c.nc.SetDeadline(aLongTimeAgo)
		}
	})
}

// ctxErr prefers the context's error when the context ended, because then the
// I/O error is only its consequence.
func ctxErr(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil {
		return cerr
	}
	// The connection's deadline is the context's, and may fire a moment
	// before the context's own timer does.
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// endWatch ends the request's hold on the connection and reports whether the
// connection is still usable (its context's end did not break it).
func (c *conn) endWatch() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = nil
	return !c.broken
}

// unwatch stops the watch, when the connection closes.
func (c *conn) unwatch() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}

// body hands the connection back when the response body is done.
type body struct {
	rc   io.ReadCloser // the body as read from the connection
	resp *http.Response
	p    *Pool
	s    *slot
	info *roundtrip.Info
	own  roundtrip.Info // info's storage when the caller gave none
	done atomic.Bool
	// fixed is the storage of rc when the response was read by the plain
	// path: a body of a declared length.
	fixed fixedBody
}

func (b *body) Read(buf []byte) (int, error) {
	n, err := b.rc.Read(buf)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		if b.finish(false) { // a Read after the error must not count it again
			b.p.failed.Add(1)
		}
		err = ctxErr(b.resp.Request.Context(), err)
	}
	return n, err
}

// Close ends the request. A body not read to the end leaves unread bytes on
// the connection, so the connection is closed rather than drained (which
// could take as long as the whole response) and its slot dials anew.
func (b *body) Close() error {
	if b.done.Load() {
		return nil
	}
	if bodyless(b.resp) {
		b.rc.Close()
		b.finish(true)
		return nil
	}
	b.finish(false)
	return nil
}

// bodyless reports whether a response has no body to leave unread.
func bodyless(r *http.Response) bool {
	return r.ContentLength == 0 || r.Request.Method == http.MethodHead ||
		r.StatusCode == http.StatusNoContent || r.StatusCode == http.StatusNotModified
}

// finish ends the request once and reports whether this call did.
func (b *body) finish(clean bool) bool {
	if b.done.Swap(true) {
		return false
	}
	b.info.End = time.Now()
	c := b.s.c
	alive := c.endWatch()
	// Bytes already read beyond the response were sent unasked (a body
	// longer than its Content-Length): the next response would be parsed
	// from them, so the connection is not used again.
	unsolicited := c.br.Buffered() > 0
	b.p.finish(b.s, clean && alive && !unsolicited && !b.resp.Close && !b.resp.Request.Close)
	return true
}
