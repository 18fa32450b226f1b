package report

import (
	"testing"

	"muxlab/results"
)

// The cause of the fast requests' wait is the largest measured share of
// their median, else of their p99, named for the layer: the pool, the
// pipeline, or the transport's lost packets (TCP's or the stream's own over
// QUIC).
func TestHoldCause(t *testing.T) {
	d := func(p50, p99 float64) *results.Dist { return &results.Dist{Count: 100, P50: p50, P99: p99} }
	round := func(fast, wait, held, loss *results.Dist) *results.Round {
		c := map[string]*results.Dist{"fast": fast, results.ClassFastWait: wait, results.ClassFastHeld: held}
		if loss != nil {
			c[results.ClassFastLoss] = loss
		}
		return &results.Round{Classes: c}
	}
	zero := d(0, 0)
	for _, c := range []struct {
		name     string
		t        *results.Round
		protocol string
		want     string
	}{
		{"pool", round(d(100, 300), d(90, 250), zero, nil), "HTTP/1.1", "a busy connection 90%"},
		{"pipeline", round(d(400, 500), zero, d(380, 480), nil), "HTTP/1.1", "an earlier answer 95%"},
		{"tcp loss at p50", round(d(100, 600), zero, zero, d(40, 300)), "HTTP/2", "a lost packet (TCP) 40%"},
		{"tcp loss at p99", round(d(50, 600), zero, zero, d(1, 300)), "HTTP/2", "a lost packet (TCP) 50% at p99"},
		{"quic loss", round(d(50, 400), zero, zero, d(0, 200)), "HTTP/3", "its stream's lost packet (QUIC) 50% at p99"},
		{"nothing measured", round(d(50, 60), zero, zero, zero), "HTTP/3", "nothing (at HTTP or from loss)"},
		{"no loss figure", round(d(50, 60), zero, zero, nil), "HTTP/2", "nothing at HTTP"},
		{"no classes", &results.Round{}, "HTTP/2", ""},
	} {
		if got := holdCause(c.t, c.protocol); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
