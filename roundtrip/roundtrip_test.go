package roundtrip

import (
	"sync"
	"testing"
	"time"
)

func TestGaugeKeepsPeak(t *testing.T) {
	t.Parallel()
	var g Gauge
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { g.Inc() })
	}
	wg.Wait()
	for range 50 {
		g.Dec()
	}
	g.Inc()
	if now, peak := g.Load(); now != 1 || peak != 50 {
		t.Errorf("now %d peak %d, want 1 and 50", now, peak)
	}
}

func TestConnLogBounded(t *testing.T) {
	t.Parallel()
	var l ConnLog
	for i := range MaxConnLog + 3 {
		r := l.Add(uint64(i + 1))
		if r.Request() {
			t.Fatal("first request reported as reused")
		}
		if !r.Request() {
			t.Fatal("second request not reported as reused")
		}
		if i == MaxConnLog+2 {
			r.Close()
		}
	}
	snap := l.Snapshot()
	if len(snap) != MaxConnLog || snap[0].Conn != 4 || snap[len(snap)-1].Open || snap[0].Requests != 2 || !snap[0].Open {
		t.Errorf("snapshot of %d: first %+v, last %+v", len(snap), snap[0], snap[len(snap)-1])
	}
}

func TestInfoDurations(t *testing.T) {
	t.Parallel()
	start := time.Now()
	i := Info{Start: start}
	if i.Wait() != 0 || i.Service() != 0 {
		t.Error("an unsent request has a wait or service time")
	}
	i.Acquired, i.End = start.Add(3*time.Millisecond), start.Add(10*time.Millisecond)
	if i.Wait() != 3*time.Millisecond || i.Service() != 7*time.Millisecond {
		t.Errorf("wait %v service %v", i.Wait(), i.Service())
	}
}
