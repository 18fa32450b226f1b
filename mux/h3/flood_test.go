package h3_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"muxlab/internal/hostile"
	"muxlab/mux"
	"muxlab/mux/h3"
)

// floodInitials is how many Initials the flood sends: issue 27's figure.
const floodInitials = 20_000

// liveHeap is the heap's live bytes after a collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestHandshakeFlood: 20,000 real Initials from distinct ports, never
// answered, cost the listener bounded state: past RetryAbove handshakes in
// progress the rest get a Retry; a real client beside the flood has every
// request answered on its one connection; the heap comes back after the
// flood; and /stats tells attempts from connections.
func TestHandshakeFlood(t *testing.T) {
	srv, l, tr := start(t, h3.Options{Certificate: mustCert(t)})
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL()+"/hello", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := get(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := liveHeap()

	ctx, cancel := context.WithCancel(t.Context())
	var ok, failed atomic.Int64
	client := make(chan struct{})
	go func() {
		defer close(client)
		for ctx.Err() == nil {
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			if err := get(rctx); err == nil {
				ok.Add(1)
			} else if ctx.Err() == nil {
				failed.Add(1)
				t.Logf("the real client's request failed during the flood: %v", err)
			}
			rcancel()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sent, err := hostile.QUICFlood(t.Context(), l.Addr(), floodInitials, 4000)
	cancel()
	<-client
	if err != nil || sent < floodInitials*9/10 {
		t.Fatalf("the flood sent %d of %d Initials: %v", sent, floodInitials, err)
	}
	if ok.Load() == 0 || failed.Load() != 0 {
		t.Errorf("the real client beside the flood: %d ok, %d failed; want every request answered", ok.Load(), failed.Load())
	}

	// Memory back within 100 MB of where it started, within 15 s.
	deadline := time.Now().Add(15 * time.Second)
	var after uint64
	for {
		after = liveHeap()
		if after < before+100<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if after >= before+100<<20 {
		t.Errorf("live heap %d MiB 15 s after the flood, %d MiB before", after>>20, before>>20)
	}

	st := srv.Stats().Listeners[mux.ListenerH3]
	hs := st.Handshakes
	if hs == nil {
		t.Fatal("/stats has no handshake counts for h3")
	}
	t.Logf("flood of %d: %+v; connections accepted %d", sent, *hs, st.ConnectionsAccepted)
	if st.ConnectionsAccepted != 1 || hs.Completed != 1 {
		t.Errorf("connections accepted %d, handshakes completed %d: want 1 (the real client's), whatever the flood", st.ConnectionsAccepted, hs.Completed)
	}
	if hs.Attempts < int64(sent)/2 || hs.RetriesSent == 0 || hs.RetriesSent > hs.Attempts {
		t.Errorf("attempts %d, retries %d for %d Initials: want most counted, and Retries once past the bound", hs.Attempts, hs.RetriesSent, sent)
	}
	if hs.InProgress > h3.DefaultRetryAbove+1 {
		t.Errorf("%d handshakes in progress after the flood", hs.InProgress)
	}
}

func mustCert(t *testing.T) *tls.Certificate {
	t.Helper()
	c, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
