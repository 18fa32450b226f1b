package bench_test

import (
	"context"
	"strings"
	"testing"

	"muxlab/bench"
	"muxlab/results"
)

// balanced runs sc with the embedded server as its backends behind their
// front (bench.Embed), every request accounted for.
func balanced(t *testing.T, sc results.Scenario, contenders ...string) *results.Run {
	t.Helper()
	opts := bench.Options{Scenario: sc, Contenders: contenders}
	stop, err := bench.Embed(&opts, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	r := run(t, context.Background(), opts)
	accounted(t, r)
	return r
}

// The balance scenario behind each front, by the backends' own counts:
// layer 4 spreads HTTP/1.1's six connections (skew near 1) and pins
// HTTP/2's one connection to one backend (skew 3); layer 7 spreads both.
// The front counts the connections each contender opened to it.
func TestBalanceScenario(t *testing.T) {
	for _, mode := range []string{"l4", "l7"} {
		t.Run(mode, func(t *testing.T) {
			sc := scenario(t, "balance", func(s *results.Scenario) {
				s.Mode, s.Rate, s.Requests, s.Concurrency, s.Rounds, s.Warmup, s.Query, s.Balance = results.Closed, 0, 240, 12, 1, 0, "us=100", mode
			})
			r := balanced(t, sc, bench.H1, bench.H2)
			want := map[string]struct {
				conns    int64
				skewLo   float64
				skewHi   float64
				backends int
			}{
				"l4/h1": {6, 1, 1.8, 3}, "l4/h2": {1, 3, 3, 1},
				"l7/h1": {6, 1, 1.1, 3}, "l7/h2": {1, 1, 1.1, 3},
			}
			for _, c := range r.Contenders {
				w := want[mode+"/"+c.Name]
				tot := c.Total
				var sum int64
				answered := 0
				for _, b := range tot.Backends {
					sum += b.Requests
					if !b.Counted {
						t.Errorf("%s: backend %s's count is not its own", c.Name, b.Name)
					}
					if b.Requests > 0 {
						answered++
					}
				}
				if len(tot.Backends) != 3 || sum != 240 || answered != w.backends {
					t.Errorf("%s behind %s: backends %+v; want 3, %d of them answering the 240", c.Name, mode, tot.Backends, w.backends)
				}
				if tot.Skew < w.skewLo || tot.Skew > w.skewHi {
					t.Errorf("%s behind %s: skew %.2f; want %.1f to %.1f", c.Name, mode, tot.Skew, w.skewLo, w.skewHi)
				}
				if tot.Server == nil || tot.Server.ConnectionsAccepted != w.conns {
					t.Errorf("%s behind %s: the front counted %+v; want %d connections", c.Name, mode, tot.Server, w.conns)
				}
			}
		})
	}
}

// Only contenders that speak HTTP/1.1 or h2c over TCP run behind the
// front; the default ones are those.
func TestBalanceContenders(t *testing.T) {
	sc := scenario(t, "balance", func(s *results.Scenario) {})
	opts := bench.Options{Scenario: sc, Contenders: []string{bench.H3}}
	if _, err := bench.Embed(&opts, 0, nil); err == nil || !strings.Contains(err.Error(), "h3 cannot run behind the balancing front") {
		t.Errorf("h3 behind the front: %v", err)
	}
	opts = bench.Options{Scenario: sc}
	stop, err := bench.Embed(&opts, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	for _, n := range opts.Contenders {
		if n == bench.H3 {
			t.Errorf("the default contenders behind the front %v include h3", opts.Contenders)
		}
	}
	for _, bad := range []func(*results.Scenario){
		func(s *results.Scenario) { s.Balance = "l5" },
		func(s *results.Scenario) { s.Sticky = true },
		func(s *results.Scenario) { s.Backends = 65 },
		func(s *results.Scenario) { s.Backends, s.Balance, s.Sticky = 0, "", true },
	} {
		s := scenario(t, "balance", bad)
		if err := bench.Validate(&s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
