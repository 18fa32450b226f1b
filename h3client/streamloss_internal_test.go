package h3client

import (
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// A stream's time behind holes runs from the first data beyond a hole to
// the data that fills it; data of a stream not watched, and data received
// twice, change nothing.
func TestStreamGaps(t *testing.T) {
	g := newStreamGaps()
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const s, other quic.StreamID = 0, 4
	g.watch(s)
	g.frame(s, 0, 1000, at(0))
	g.frame(s, 2000, 3000, at(10)) // 1000-2000 lost: a hole from here
	g.frame(s, 4000, 5000, at(11)) // and 3000-4000
	g.frame(other, 0, 100, at(12)) // not watched
	g.frame(s, 0, 1000, at(13))    // received twice
	g.frame(s, 1000, 2000, at(50)) // the first hole filled; the second still open
	g.frame(s, 3000, 3500, at(60)) // half of the second
	g.frame(s, 3500, 4000, at(70)) // all filled
	g.frame(s, 5000, 6000, at(80)) // in order: no hole
	if got := g.take(s, at(90)); got != 60*time.Millisecond {
		t.Fatalf("held %v, want 60ms (from 10 to 70 ms)", got)
	}
	if got := g.take(s, at(90)); got != 0 {
		t.Fatalf("a stream taken twice held %v", got)
	}
	// A stream that ends with a hole open counts it until its end.
	g.watch(other)
	g.frame(other, 500, 600, at(100))
	if got := g.take(other, at(130)); got != 30*time.Millisecond {
		t.Fatalf("held %v with a hole open at the end, want 30ms", got)
	}
}

func TestInsertRange(t *testing.T) {
	var rs []byteRange
	for _, r := range []byteRange{{50, 60}, {10, 20}, {30, 40}, {20, 30}, {70, 80}, {55, 75}} {
		rs = insertRange(rs, r)
	}
	want := []byteRange{{10, 40}, {50, 80}}
	if len(rs) != len(want) || rs[0] != want[0] || rs[1] != want[1] {
		t.Fatalf("ranges %v, want %v", rs, want)
	}
	rs = nil
	for i := range 2 * maxAhead {
		rs = insertRange(rs, byteRange{int64(10 * i), int64(10*i + 5)})
	}
	if len(rs) > maxAhead {
		t.Fatalf("%d ranges kept, bound %d", len(rs), maxAhead)
	}
}
