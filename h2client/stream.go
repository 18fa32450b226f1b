package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// errBodyClosed ends a stream whose response body the caller closed.
var errBodyClosed = errors.New("h2client: response body closed")

// stream is one request and its response. It is the response's Body.
type stream struct {
	w   *wire
	id  uint32
	ctx context.Context
	req *http.Request

	// Under w.mu:
	resp       *http.Response
	trailer    http.Header // the trailers, once they arrived
	buf        []byte      // received and not yet read
	recv       inflow
	sendWindow int32
	recvEnd    bool // the server's END_STREAM arrived
	reset      bool // the stream was reset or its connection ended
	// writing says the request body is still being sent: the stream counts
	// against the server's limit until it is done, even if reset (as in
	// x/net, whose stream lives until its body's Read returns).
	writing bool
	sentEnd bool  // our END_STREAM went out
	err     error // why the stream ended early; nil if it did not
	// bodyLeft is how many bytes of the declared Content-Length are still
	// to come; -1 when none was declared. A body longer or shorter than
	// declared is malformed (RFC 9113, 8.1.1).
	bodyLeft int64
	// readable gets a token when there is news for whoever waits on the
	// stream (waiting): the response head, body bytes, its end.
	readable   chan struct{}
	waiting    bool
	closedBody bool // the caller closed the response body

	// Room for the response, its field values and a small body, so that
	// a small response costs no allocation of its own.
	respMem http.Response
	valMem  [6]string
	bufMem  [64]byte
}

// roundTrip sends req as a new stream and waits for the response head. sent
// is set to when the HEADERS were written.
func (w *wire) roundTrip(req *http.Request, sent *time.Time) (*http.Response, error) {
	ctx := req.Context()
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	fail := func(err error) (*http.Response, error) {
		if body != nil { // a RoundTripper closes the body, whatever happens
			body.Close()
		}
		return nil, err
	}
	if req.URL == nil {
		return fail(errors.New("h2client: request has no URL"))
	}
	if req.Method == http.MethodConnect {
		return fail(errors.New("h2client: CONNECT is not supported"))
	}
	host, err := checkRequest(req)
	if err != nil {
		return fail(err)
	}
	if err := w.reserve(ctx); err != nil {
		return fail(err)
	}
	s := &stream{w: w, ctx: ctx, req: req, readable: make(chan struct{}, 1),
		recv: inflow{avail: streamWindow}}
	if err := w.open(s, host, body == nil, sent); err != nil {
		return fail(err)
	}
	if body != nil {
		go s.sendBody(body)
	}
	w.mu.Lock()
	for s.resp == nil && s.err == nil && !s.reset {
		s.waiting = true
		w.mu.Unlock()
		select {
		case <-s.readable:
		case <-ctx.Done():
			s.cancel()
			return nil, context.Cause(ctx)
		}
		w.mu.Lock()
	}
	resp, err := s.resp, s.err
	w.mu.Unlock()
	if resp == nil {
		if err == nil {
			err = errors.New("h2client: stream ended without a response")
		}
		return nil, err
	}
	return resp, nil
}

// reserve waits until the server's stream limit allows one more stream,
// first come first served, and reserves it.
func (w *wire) reserve(ctx context.Context) error {
	w.mu.Lock()
	if err := w.unusableLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	if len(w.waiters) == 0 && w.roomLocked() {
		w.reserved++
		w.mu.Unlock()
		return nil
	}
	wt := &waiter{ch: make(chan struct{})}
	w.waiters = append(w.waiters, wt)
	w.mu.Unlock()
	select {
	case <-wt.ch:
		if wt.ok {
			return nil
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.unusableLocked()
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		if wt.ok { // admitted as the context ended: give the stream back
			w.reserved--
			w.admitLocked()
		} else if i := indexOf(w.waiters, wt); i >= 0 {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
		}
		return fmt.Errorf("h2client: waiting for the server's stream limit: %w", context.Cause(ctx))
	}
}

func indexOf(ws []*waiter, wt *waiter) int {
	for i, x := range ws {
		if x == wt {
			return i
		}
	}
	return -1
}

// unusableLocked says why no new stream may be opened, or nil.
func (w *wire) unusableLocked() error {
	switch {
	case w.closed:
		return w.err
	case w.goAway != nil:
		return *w.goAway
	}
	return nil
}

// open gives s its id and writes its HEADERS, with END_STREAM if it has no
// body. The reservation taken by reserve becomes the stream.
func (w *wire) open(s *stream, host string, endStream bool, sent *time.Time) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	w.reserved--
	if err := w.unusableLocked(); err != nil {
		w.admitLocked()
		w.mu.Unlock()
		return err
	}
	s.id = w.nextID
	w.nextID += 2
	if w.nextID >= 1<<31-1 {
		w.spent.Store(true)
	}
	s.sendWindow = w.sendInitial
	s.sentEnd, s.writing = endStream, !endStream
	w.streams[s.id] = s
	maxFrame := w.maxFrame
	w.mu.Unlock()
	w.hbuf.Reset()
	w.encodeHeaders(s.req, host)
	block := w.hbuf.Bytes()
	first := block[:min(len(block), int(maxFrame))]
	err := w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: first, EndStream: endStream,
		EndHeaders: len(first) == len(block)})
	for block = block[len(first):]; err == nil && len(block) > 0; {
		n := min(len(block), int(maxFrame))
		err = w.fr.WriteContinuation(s.id, n == len(block), block[:n])
		block = block[n:]
	}
	*sent = time.Now()
	if err != nil {
		go w.fail(err) // not under wmu
		return fmt.Errorf("h2client: writing the request: %w", err)
	}
	return nil
}

// sendBody sends the request body as DATA frames within both send windows,
// then END_STREAM.
func (s *stream) sendBody(body io.ReadCloser) {
	w := s.w
	defer func() {
		body.Close()
		w.mu.Lock()
		s.writing = false
		if s.reset || (s.recvEnd && s.sentEnd) {
			w.forgetLocked(s)
		}
		w.mu.Unlock()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, rerr := body.Read(buf)
		for data := buf[:n]; len(data) > 0; {
			k, err := s.waitWindow(len(data))
			if err != nil {
				return
			}
			if err := w.write(func() error { return w.fr.WriteData(s.id, false, data[:k]) }); err != nil {
				return
			}
			data = data[k:]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.reset(s.id, http2.ErrCodeCancel, fmt.Errorf("h2client: reading the request body: %w", rerr))
			return
		}
	}
	w.mu.Lock()
	stop := s.reset
	w.mu.Unlock()
	if stop || w.write(func() error { return w.fr.WriteData(s.id, true, nil) }) != nil {
		return
	}
	w.mu.Lock()
	s.sentEnd = true
	w.mu.Unlock()
}

// waitWindow waits until up to n bytes may be sent, takes them from both
// windows and returns how many; an error if the stream or connection ended.
func (s *stream) waitWindow(n int) (int, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		switch {
		case s.reset:
			return 0, errBodyClosed
		case w.closed:
			return 0, w.err
		case s.closedBody:
			return 0, errBodyClosed
		}
		if k := min(int32(n), s.sendWindow, w.sendWindow, int32(w.maxFrame)); k > 0 {
			s.sendWindow -= k
			w.sendWindow -= k
			return int(k), nil
		}
		w.cond.Wait()
	}
}

// end ends the stream early with err, unless it already ended.
func (s *stream) end(err error) {
	w := s.w
	w.mu.Lock()
	s.reset = true
	if s.err == nil && !s.recvEnd { // a response read whole stays whole
		s.err = err
	}
	w.cond.Broadcast()
	s.signalLocked()
	w.forgetLocked(s)
	w.mu.Unlock()
}

// signalLocked wakes whoever waits for the head or for body bytes.
func (s *stream) signalLocked() {
	if !s.waiting {
		return
	}
	s.waiting = false
	select {
	case s.readable <- struct{}{}:
	default:
	}
}

// cancel resets a stream the caller gave up on.
func (s *stream) cancel() {
	w := s.w
	w.mu.Lock()
	live := w.streams[s.id] == s && !(s.recvEnd && s.sentEnd)
	unread := int32(len(s.buf))
	s.buf = nil
	inc := w.recv.give(unread)
	w.mu.Unlock()
	if live {
		w.reset(s.id, http2.ErrCodeCancel, errBodyClosed)
	} else {
		s.end(errBodyClosed)
	}
	if inc > 0 {
		w.write(func() error { return w.fr.WriteWindowUpdate(0, uint32(inc)) })
	}
}

// Read reads the response body.
func (s *stream) Read(p []byte) (int, error) {
	w := s.w
	w.mu.Lock()
	for len(s.buf) == 0 && !s.recvEnd && s.err == nil && !s.closedBody {
		s.waiting = true
		w.mu.Unlock()
		select {
		case <-s.readable:
		case <-s.ctx.Done():
			s.cancel()
			return 0, context.Cause(s.ctx)
		}
		w.mu.Lock()
	}
	switch {
	case s.closedBody:
		w.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case len(s.buf) > 0:
		n := copy(p, s.buf)
		s.buf = s.buf[n:]
		if len(s.buf) == 0 {
			s.buf = nil
		}
		sInc, cInc := int32(0), w.recv.give(int32(n))
		if !s.recvEnd {
			sInc = s.recv.give(int32(n))
		}
		w.mu.Unlock()
		if sInc > 0 || cInc > 0 {
			w.write(func() error {
				if cInc > 0 {
					if err := w.fr.WriteWindowUpdate(0, uint32(cInc)); err != nil {
						return err
					}
				}
				if sInc > 0 {
					return w.fr.WriteWindowUpdate(s.id, uint32(sInc))
				}
				return nil
			})
		}
		return n, nil
	case !s.recvEnd || s.err != nil: // an error after the end: a body shorter than declared
		err := s.err
		w.mu.Unlock()
		return 0, err
	}
	if s.trailer != nil {
		if s.resp.Trailer == nil {
			s.resp.Trailer = http.Header{}
		}
		for k, vv := range s.trailer {
			s.resp.Trailer[k] = vv
		}
		s.trailer = nil
	}
	w.mu.Unlock()
	return 0, io.EOF
}

// Close ends the body; a stream not read to its end is reset.
func (s *stream) Close() error {
	w := s.w
	w.mu.Lock()
	if s.closedBody {
		w.mu.Unlock()
		return nil
	}
	s.closedBody = true
	done := s.recvEnd && len(s.buf) == 0
	w.cond.Broadcast()
	w.mu.Unlock()
	if !done {
		s.cancel()
	}
	return nil
}
