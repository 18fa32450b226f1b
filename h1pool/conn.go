package h1pool

import (
	"context"
	"errors"
	"fmt"
	"io"
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
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(dl)
	} else {
		c.nc.SetDeadline(time.Time{})
	}
	if ctx.Done() != nil {
		// Unblock reads and writes when the caller gives up. The watch ends
		// when the body is done (see body.finish).
		c.stop = context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	}
	if err := req.Write(c.bw); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("writing request: %w", err))
	}
	if err := c.bw.Flush(); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("writing request: %w", err))
	}
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("reading response: %w", err))
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("the server switched protocols, which h1pool does not support")
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue // an informational answer (100 Continue, 103 Early Hints): the real one follows
		}
		return resp, nil
	}
}

// ctxErr prefers the context's error when the context ended, because then the
// I/O error is only its consequence.
func (c *conn) ctxErr(ctx context.Context, err error) error {
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

// endWatch stops watching the request's context and reports whether the
// connection is still usable (the context did not break it).
func (c *conn) endWatch() bool {
	if c.stop == nil {
		return true
	}
	stopped := c.stop()
	c.stop = nil
	return stopped
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
}

func (b *body) Read(buf []byte) (int, error) {
	n, err := b.rc.Read(buf)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		if b.finish(false) { // a Read after the error must not count it again
			b.p.failed.Add(1)
		}
		if cerr := context.Cause(b.resp.Request.Context()); cerr != nil {
			err = cerr
		}
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
	b.p.finish(b.s, clean && alive && !b.resp.Close && !b.resp.Request.Close)
	return true
}
