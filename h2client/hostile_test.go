package h2client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"muxlab/h2client"
	"muxlab/internal/hostile"
	"muxlab/internal/muxtest"
	"muxlab/roundtrip"
)

// heapBound is what a hostile server may make a test process hold: the
// server offers 512 MiB.
const heapBound = 200 << 20

func fetch(ctx context.Context, c *h2client.Client, url string) error {
	return muxtest.Fetch(ctx, c, url)
}

// TestContinuationFlood: a header block that goes on in CONTINUATION
// frames fails its request as too large within the bound, ends that
// connection, and the next request dials a new one.
func TestContinuationFlood(t *testing.T) {
	s := hostile.Serve(t, "")
	c := newClient(t, h2client.Options{Addr: s.Addr()})
	var err error
	peak := hostile.PeakHeap(func() { err = fetch(t.Context(), c, s.URL()+hostile.PathEndlessHead) })
	if !errors.Is(err, roundtrip.ErrResponseTooLarge) {
		t.Fatalf("got %v; want roundtrip.ErrResponseTooLarge", err)
	}
	if peak > heapBound {
		t.Errorf("the heap reached %d MiB against a header block that never ends", peak>>20)
	}
	if err := fetch(t.Context(), c, s.URL()+hostile.PathOK); err != nil {
		t.Errorf("the next request: %v", err)
	}
	if st := c.Stats(); st.Dials != 2 || st.Failed != 1 || st.Requests != 2 {
		t.Errorf("stats %+v: want 2 dials, 2 requests, 1 failed", st)
	}
}

// TestHeaderListBoundAdvertised: a smaller bound is what the client's
// SETTINGS say and what it enforces; out-of-range bounds are refused.
func TestHeaderListBoundAdvertised(t *testing.T) {
	s := hostile.Serve(t, "")
	c := newClient(t, h2client.Options{Addr: s.Addr(), MaxResponseHeaderBytes: 8 << 10})
	if err := fetch(t.Context(), c, s.URL()+hostile.PathEndlessHead); !errors.Is(err, roundtrip.ErrResponseTooLarge) {
		t.Errorf("got %v; want roundtrip.ErrResponseTooLarge", err)
	}
	for _, n := range []int64{-1, 1 << 32} {
		if _, err := h2client.New(h2client.Options{Addr: s.Addr(), MaxResponseHeaderBytes: n}); err == nil {
			t.Errorf("MaxResponseHeaderBytes %d accepted", n)
		}
	}
}

// TestHostileStreams: what a hostile HTTP/2 server does to one stream ends
// that stream's request with its own kind, and the connection carries on
// where it can; a GOAWAY and a bad SETTINGS mid-page end the connection,
// and the next request dials again.
func TestHostileStreams(t *testing.T) {
	s := hostile.Serve(t, "")
	c := newClient(t, h2client.Options{Addr: s.Addr()})
	var se http2.StreamError
	for _, tc := range []struct {
		path    string
		timeout time.Duration
		want    func(error) bool
	}{
		{hostile.PathEndlessBody, 300 * time.Millisecond, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{hostile.PathDrip, 300 * time.Millisecond, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{hostile.PathShort, 5 * time.Second, func(err error) bool { return errors.As(err, &se) }},
		{hostile.PathLong, 5 * time.Second, func(err error) bool { return errors.As(err, &se) }},
		{hostile.PathGoAway, 5 * time.Second, func(err error) bool { return err == nil }},
		{hostile.PathOK, 5 * time.Second, func(err error) bool { return err == nil }},
		{hostile.PathBadSettings, 5 * time.Second, func(err error) bool { return errors.Is(err, h2client.ErrConnLost) }},
		{hostile.PathOK, 5 * time.Second, func(err error) bool { return err == nil }},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
		var err error
		peak := hostile.PeakHeap(func() { err = fetch(ctx, c, s.URL()+tc.path) })
		cancel()
		if !tc.want(err) {
			t.Errorf("%s: got %v", tc.path, err)
		}
		if peak > heapBound {
			t.Errorf("%s: the heap reached %d MiB", tc.path, peak>>20)
		}
	}
	if st := c.Stats(); st.Requests != 8 || st.Failed != 5 || st.Dials != 3 {
		t.Errorf("stats %+v: want 8 requests, 5 failed, 3 dials (after GOAWAY and after bad SETTINGS)", st)
	}
}

// TestGoAwayRefusedIsRetried: a request that the server's GOAWAY refused
// unprocessed is sent once more on a new connection, counted in Retries;
// refused again, it fails as refused by GOAWAY.
func TestGoAwayRefusedIsRetried(t *testing.T) {
	s := hostile.Serve(t, "")
	c := newClient(t, h2client.Options{Addr: s.Addr()})
	if err := fetch(t.Context(), c, s.URL()+hostile.PathOK); err != nil {
		t.Fatal(err)
	}
	err := fetch(t.Context(), c, s.URL()+hostile.PathRefuse)
	var ge h2client.GoAwayError
	if !errors.Is(err, roundtrip.ErrGoAway) || !errors.As(err, &ge) {
		t.Fatalf("got %v; want a GoAwayError", err)
	}
	if st := c.Stats(); st.Retries != 1 || st.Dials != 2 || st.Requests != 2 || st.Failed != 1 {
		t.Errorf("stats %+v: want 2 requests, 1 retried on a second connection and failed", st)
	}
}
