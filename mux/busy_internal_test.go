package mux

import (
	"sync"
	"testing"
	"time"
)

// The busy clock counts the time with a request in flight, once however
// many overlap, and closes when the last one ends, whatever the order of
// begins and ends around zero.
func TestBusyClock(t *testing.T) {
	var b busyClock
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for range 200 {
				b.begin()
				time.Sleep(50 * time.Microsecond)
				b.end()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	busy, inFlight := b.read()
	if inFlight != 0 || b.running {
		t.Fatalf("after every request ended: %d in flight, a busy period open %v", inFlight, b.running)
	}
	if busy <= 0 || busy > elapsed {
		t.Fatalf("busy %v over %v: want more than 0, no more than the time taken", busy, elapsed)
	}
	again, _ := b.read()
	if again != busy {
		t.Fatalf("busy grew from %v to %v with nothing in flight", busy, again)
	}
}
