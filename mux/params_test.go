package mux

import (
	"net/url"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"4KiB", 4096, true}, {"4kib", 4096, true},
		{"4K", 4096, true}, {"4KB", 4000, true}, {"1MiB", 1 << 20, true}, {"1 MiB", 1 << 20, true},
		{"2GB", 2e9, true}, {"1GiB", 1 << 30, true}, {"7B", 7, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5KiB", 0, false}, {"KiB", 0, false},
		{"12parsecs", 0, false}, {"99999999999999999999", 0, false}, {"9999999999999GiB", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestClosedConnectionsBounded(t *testing.T) {
	t.Parallel()
	tr := newTracker()
	ls := &listenerStats{name: "h1"}
	for i := range MaxClosedConns + 5 {
		tr.rememberClosedLocked(&connRecord{id: uint64(i + 1), ls: ls})
	}
	conns := tr.conns()
	if len(conns) != MaxClosedConns {
		t.Fatalf("remembered %d closed connections, want %d", len(conns), MaxClosedConns)
	}
	if conns[0].ID != 6 || conns[len(conns)-1].ID != MaxClosedConns+5 {
		t.Errorf("kept ids %d..%d, want the most recent: 6..%d", conns[0].ID, conns[len(conns)-1].ID, MaxClosedConns+5)
	}
}

// FuzzQuery feeds arbitrary query strings to the parameter parsers the
// endpoints use: they must never panic, and what they accept must be in bounds.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"delay=50ms&jitter=5ms&size=1024&status=200", "size=4KiB", "delay=5%20parsecs",
		"chunks=10&interval=100ms&size=1KiB", "status=99999999999999999999", "size=1e9", "delay=-0s", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := query{v: v}
		d := q.duration("delay", 0, MaxDelay)
		n := q.size("size", 0, MaxSize)
		st := q.integer("status", 200, 200, 599)
		if d < 0 || d > MaxDelay || n < 0 || n > MaxSize || st < 200 || st > 599 {
			t.Fatalf("out of bounds accepted: delay %v size %d status %d", d, n, st)
		}
		if q.err != nil && q.err.Error() == "" {
			t.Fatal("empty error message")
		}
		if j := jittered(d, q.duration("jitter", 0, MaxDelay)); j < 0 || j > 2*MaxDelay {
			t.Fatalf("jittered delay %v out of bounds", j)
		}
	})
}

// FuzzParseSize: whatever parses must print back to the same number.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "4KiB", "1MB", "64MiB", "9223372036854775807", "1 gib"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		back, err := ParseSize(FormatSize(n))
		if err != nil || back != n {
			t.Fatalf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	})
}

func TestJittered(t *testing.T) {
	t.Parallel()
	for range 1000 {
		if d := jittered(10*time.Millisecond, 5*time.Millisecond); d < 5*time.Millisecond || d > 15*time.Millisecond {
			t.Fatalf("jittered(10ms, 5ms) = %v", d)
		}
		if d := jittered(time.Millisecond, 5*time.Millisecond); d < 0 {
			t.Fatalf("jittered(1ms, 5ms) = %v, below zero", d)
		}
	}
}
