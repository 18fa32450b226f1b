package h1pool_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"muxlab/h1pool"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/roundtrip"
)

// heapBound is what a hostile server may make a test process hold: the
// server offers 512 MiB; the bound is 1 MiB a connection, and the rest is
// the test's own.
const heapBound = 200 << 20

func get(ctx context.Context, p *h1pool.Pool, url string) error { return muxtest.Fetch(ctx, p, url) }

// TestResponseHeadBound: a head that never ends, in lines or in one line,
// fails its request as too large within the bound, closes its connection,
// and leaves the pool able to carry the next request.
func TestResponseHeadBound(t *testing.T) {
	s := hostile.Serve(t, "")
	for _, path := range []string{hostile.PathEndlessHead, hostile.PathLongLine} {
		t.Run(path, func(t *testing.T) {
			p := newPool(t, h1pool.Options{Addr: s.Addr(), Conns: 2})
			var err error
			peak := hostile.PeakHeap(func() { err = get(t.Context(), p, s.URL()+path) })
			if !errors.Is(err, roundtrip.ErrResponseTooLarge) {
				t.Fatalf("got %v; want roundtrip.ErrResponseTooLarge", err)
			}
			if peak > heapBound {
				t.Errorf("the heap reached %d MiB against a server that never ends its head", peak>>20)
			}
			if st := p.Stats(); st.Failed != 1 || st.ConnsOpen != 0 {
				t.Errorf("stats %+v: want 1 failed and its connection closed", st)
			}
			if err := get(t.Context(), p, s.URL()+hostile.PathOK); err != nil {
				t.Errorf("the next request: %v", err)
			}
		})
	}
}

// TestResponseHeadBoundOption: a head within the default bound fails
// under a smaller MaxResponseHeaderBytes, and a head of exactly the bound
// passes.
func TestResponseHeadBoundOption(t *testing.T) {
	s := hostile.Serve(t, "")
	p := newPool(t, h1pool.Options{Addr: s.Addr(), MaxResponseHeaderBytes: 64 << 10})
	if err := get(t.Context(), p, s.URL()+hostile.PathEndlessHead); !errors.Is(err, roundtrip.ErrResponseTooLarge) {
		t.Errorf("got %v; want roundtrip.ErrResponseTooLarge", err)
	}
	if _, err := h1pool.New(h1pool.Options{Addr: s.Addr(), MaxResponseHeaderBytes: -1}); err == nil {
		t.Error("a negative MaxResponseHeaderBytes was accepted")
	}
}

// TestHostileBodies: a body that never ends or drips ends with its
// request's context; one shorter than declared fails at once; one longer
// than declared leaves bytes no request asked for, and its connection is
// not used again, so the next response is not parsed from them. Every
// request is counted.
func TestHostileBodies(t *testing.T) {
	s := hostile.Serve(t, "")
	p := newPool(t, h1pool.Options{Addr: s.Addr(), Conns: 1})
	for _, tc := range []struct {
		path    string
		timeout time.Duration
		want    error
	}{
		{hostile.PathEndlessBody, 300 * time.Millisecond, context.DeadlineExceeded},
		{hostile.PathDrip, 300 * time.Millisecond, context.DeadlineExceeded},
		{hostile.PathShort, 5 * time.Second, io.ErrUnexpectedEOF},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
		var err error
		peak := hostile.PeakHeap(func() { err = get(ctx, p, s.URL()+tc.path) })
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.path, err, tc.want)
		}
		if peak > heapBound {
			t.Errorf("%s: the heap reached %d MiB", tc.path, peak>>20)
		}
	}
	if err := get(t.Context(), p, s.URL()+hostile.PathLong); err != nil {
		t.Errorf("%s: the response itself is whole: %v", hostile.PathLong, err)
	}
	dials := p.Stats().Dials
	if err := get(t.Context(), p, s.URL()+hostile.PathOK); err != nil {
		t.Errorf("the response after a longer body than declared: %v; want it on a new connection, whole", err)
	}
	if st := p.Stats(); st.Requests != 5 || st.Failed != 3 || st.Dials != dials+1 {
		t.Errorf("stats %+v: want 5 requests, 3 failed, the last on a new connection", st)
	}
}
