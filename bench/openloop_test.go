package bench_test

import (
	"context"
	"testing"
	"time"

	"muxlab/results"
)

// TestOpenLoopCapBinds: with the cap of requests in flight too small for
// the rate, a timed turn still accounts for every start its duration
// scheduled (the ones the cap kept waiting are unsent), and a counted turn
// sends every request, late, with the lag recorded apart from the wait.
func TestOpenLoopCapBinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*results.Scenario)
	}{
		{"timed", func(s *results.Scenario) { s.Duration = results.Duration(300 * time.Millisecond) }},
		{"counted", func(s *results.Scenario) { s.Requests = 60 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(t, "latency", func(s *results.Scenario) {
				s.Mode, s.Rate, s.Concurrency, s.Rounds, s.Warmup = results.Open, 2000, 2, 1, 0
				s.Delay = results.Duration(20 * time.Millisecond)
				tc.edit(s)
			})
			r := run(t, context.Background(), embedded(t, sc, "h1", "h2"))
			accounted(t, r)
			for _, c := range r.Contenders {
				rd := c.Rounds[0]
				want := int64(600) // 2000/s for 300 ms
				if sc.Duration == 0 {
					want = 60
				}
				if rd.Scheduled != want {
					t.Errorf("%s: scheduled %d, want %d", c.Name, rd.Scheduled, want)
				}
				if sc.Duration > 0 && (rd.Unsent == 0 || rd.Sent >= want/2) {
					t.Errorf("%s: sent %d, unsent %d; the cap of 2 at 20 ms each must leave most unsent", c.Name, rd.Sent, rd.Unsent)
				}
				if sc.Duration == 0 && (rd.Unsent != 0 || rd.Sent != want) {
					t.Errorf("%s: sent %d, unsent %d; a counted turn sends all", c.Name, rd.Sent, rd.Unsent)
				}
				// The cap made requests wait in the harness: that is lag, and
				// the client's own wait stays below the service time.
				if rd.Lag == nil || rd.Lag.Max < 20 || rd.Wait.P50 >= rd.Service.P50 {
					t.Errorf("%s: lag %+v, wait p50 %.2f, service p50 %.2f", c.Name, rd.Lag, rd.Wait.P50, rd.Service.P50)
				}
				if rd.AchievedRate <= 0 || rd.AchievedRate >= sc.Rate/2 {
					t.Errorf("%s: achieved %.0f/s of %.0f/s with the cap binding", c.Name, rd.AchievedRate, sc.Rate)
				}
			}
		})
	}
}
