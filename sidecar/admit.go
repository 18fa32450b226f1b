package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// allowed is the Allow header of a 405: the methods the sidecar carries
// (any other method but CONNECT and TRACE is carried as it is).
const allowed = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"

// refuseMethod returns the status and message for a method the sidecar does
// not proxy, and 0 for one it does. CONNECT asks for a tunnel, which an
// HTTP/2 or HTTP/3 stream to one origin is not; TRACE would echo the app's
// headers back through a hop that adds its own.
func refuseMethod(method string) (int, string) {
	switch method {
	case http.MethodConnect, http.MethodTrace:
		return http.StatusMethodNotAllowed, fmt.Sprintf("sidecar: %s is not proxied; allowed: %s", method, allowed)
	}
	return 0, ""
}

// places is what one request holds of the sidecar's streams: a stream, and
// while its body is arriving an upload place too. Each is given back once.
type places struct {
	s              *Sidecar
	stream, upload atomic.Bool
}

// admit waits for a stream (and, for a request with a body, an upload place
// first) until ctx ends or QueueTimeout passes.
func (s *Sidecar) admit(ctx context.Context, upload bool) (*places, error) {
	var t *time.Timer // made only by a request that has to wait
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	p := &places{s: s}
	take := func(ch chan struct{}, what string) error {
		select {
		case ch <- struct{}{}:
			return nil
		default:
		}
		if t == nil {
			t = time.NewTimer(s.opts.QueueTimeout)
		}
		select {
		case ch <- struct{}{}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
			return fmt.Errorf("all %d %s busy for %v", cap(ch), what, s.opts.QueueTimeout)
		}
	}
	if upload {
		if err := take(s.uploads, "upload streams"); err != nil {
			return nil, err
		}
		p.upload.Store(true)
	}
	if err := take(s.streams, "upstream streams"); err != nil {
		p.releaseUpload()
		return nil, err
	}
	p.stream.Store(true)
	return p, nil
}

// releaseUpload gives back the upload place, when the body has arrived.
func (p *places) releaseUpload() {
	if p.upload.Swap(false) {
		<-p.s.uploads
	}
}

// all gives back whatever is still held.
func (p *places) all() {
	p.releaseUpload()
	if p.stream.Swap(false) {
		<-p.s.streams
	}
}

// errSlowBody is the kind of an app body that came too slowly.
var errSlowBody = errors.New("request body too slow")

// appBody is an app's request body as the upstream reads it: bounded in
// size (MaxBodyBytes), in the wait for each read (BodyIdleTimeout, through
// the app connection's read deadline), and in its average rate
// (MinBodyRate, once BodyIdleTimeout has passed). It remembers the first
// error, which is the app's fault, for the answer.
type appBody struct {
	rc      io.ReadCloser
	ctl     *http.ResponseController
	idle    time.Duration
	minRate int64
	done    func() // gives back the upload place

	// settled is closed once the body's reading is over: an error, its
	// end, or Close.
	settled chan struct{}
	settle  sync.Once

	mu    sync.Mutex // mu guards the following; the upstream reads in a goroutine of its own
	start time.Time
	n     int64
	err   error
	eof   bool
}

func (s *Sidecar) newAppBody(w http.ResponseWriter, r *http.Request, p *places) *appBody {
	return &appBody{rc: http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), ctl: http.NewResponseController(w),
		idle: s.opts.BodyIdleTimeout, minRate: s.opts.MinBodyRate, done: p.releaseUpload, start: time.Now(),
		settled: make(chan struct{})}
}

func (b *appBody) Read(p []byte) (int, error) {
	b.ctl.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.rc.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(n)
	elapsed := time.Since(b.start)
	switch {
	case err == io.EOF:
		b.eof = true
		b.ctl.SetReadDeadline(time.Time{}) // the connection's next read is net/http's own
		b.done()
		b.settle.Do(func() { close(b.settled) })
		return n, err
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w: nothing for %v after %d bytes", errSlowBody, b.idle, b.n)
	case err == nil && b.minRate > 0 && elapsed > b.idle && float64(b.n) < float64(b.minRate)*elapsed.Seconds():
		err = fmt.Errorf("%w: %d bytes in %v, under the minimum of %d bytes a second", errSlowBody, b.n, elapsed.Round(time.Millisecond), b.minRate)
	}
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		b.done()
		b.settle.Do(func() { close(b.settled) })
	}
	return n, err
}

// Close closes a body read to its end as it is. One not read to its end
// (an error, or an upstream that answered first) would be drained by
// net/http for up to 256 KiB, as slowly as the app sends it: the deadline
// in the past makes that drain stop at once, and the server closes the
// connection after the answer.
func (b *appBody) Close() error {
	b.mu.Lock()
	if !b.eof {
		b.ctl.SetReadDeadline(time.Unix(1, 0))
	}
	b.mu.Unlock()
	b.done()
	err := b.rc.Close()
	b.settle.Do(func() { close(b.settled) })
	return err
}

// failure is the body's error, if it had one (nil for no body). When the
// request's context has ended, it first waits (a second at most) for the
// reading to be over: net/http ends the context as soon as a read of the
// app's connection fails, which is how a body too slow ends too, and the
// upstream's error can come back before the body's reader has said why.
func (b *appBody) failure(ctx context.Context) error {
	if b == nil {
		return nil
	}
	if ctx.Err() != nil {
		t := time.NewTimer(time.Second)
		select {
		case <-b.settled:
		case <-t.C:
		}
		t.Stop()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
