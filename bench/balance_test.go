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

// Carts behind layer 7: kept in a backend's memory they break when a
// user's requests are spread (lost or wrong), and hold when sticky;
// carried in a token they are all found. A backend stopped midway loses
// the stateful carts that lived on it and no others; the stateless ones
// all survive. Every cart is accounted for.
func TestCarts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		kind         string
		sticky, stop bool
	}{
		{"spread", bench.CartsBoth, false, false},
		{"sticky", bench.CartsBoth, true, false},
		// Six users of one kind: the first request of each goes to the
		// next backend, so b1 has two of them when it stops.
		{"sticky+stop/stateful", bench.CartsStateful, true, true},
		{"sticky+stop/stateless", bench.CartsStateless, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario(t, "carts", func(s *results.Scenario) {
				s.Requests, s.Concurrency, s.Carts, s.Sticky, s.StopBackend = 600, 6, tc.kind, tc.sticky, tc.stop
			})
			r := balanced(t, sc, bench.H1, bench.H2)
			for _, c := range r.Contenders {
				for kind, cc := range c.Total.Carts {
					if cc.Carts == 0 || cc.Found+cc.Lost+cc.Wrong+cc.Failed+cc.Unfinished != cc.Carts {
						t.Errorf("%s %s carts not all accounted for: %+v", c.Name, kind, cc)
					}
				}
				if sl := c.Total.Carts[bench.CartsStateless]; sl != nil && sl.Found+sl.Unfinished != sl.Carts {
					t.Errorf("%s: stateless carts %+v; want every one found", c.Name, sl)
				}
				st := c.Total.Carts[bench.CartsStateful]
				if st == nil {
					continue
				}
				broken := st.Lost + st.Wrong + st.Failed
				switch {
				case !tc.sticky && broken == 0:
					t.Errorf("%s spread without stickiness: stateful carts %+v; want some broken", c.Name, st)
				case tc.sticky && !tc.stop && broken != 0:
					t.Errorf("%s sticky: stateful carts %+v; want none broken", c.Name, st)
				case tc.stop && (broken == 0 || st.LostOnStopped != broken || st.Wrong != 0 || st.Found == 0):
					t.Errorf("%s sticky, b1 stopped midway: stateful carts %+v; want exactly b1's lost", c.Name, st)
				}
			}
		})
	}
}

// A backend added halfway through each turn: behind layer 4 the
// connections already open never reach it (h1's six and h2's one were all
// open before it came); behind layer 7 it gets its share of the requests
// from then on.
func TestAddBackendMidTurn(t *testing.T) {
	for _, mode := range []string{"l4", "l7"} {
		t.Run(mode, func(t *testing.T) {
			sc := scenario(t, "balance", func(s *results.Scenario) {
				s.Mode, s.Rate, s.Requests, s.Concurrency, s.Rounds, s.Warmup, s.Query, s.Balance, s.AddBackend = results.Closed, 0, 400, 12, 1, 12, "us=100", mode, true
			})
			r := balanced(t, sc, bench.H1, bench.H2)
			for _, c := range r.Contenders {
				bs := c.Total.Backends
				if len(bs) != 4 || bs[3].Name != "b4" {
					t.Fatalf("%s behind %s: backends %+v; want b4 added", c.Name, mode, bs)
				}
				if got := bs[3].Requests; (mode == "l4") != (got == 0) {
					t.Errorf("%s behind %s: the added b4 answered %d requests", c.Name, mode, got)
				}
			}
		})
	}
}

// A sidecar behind the front's backends balances itself: one HTTP/2
// connection to each backend, its requests spread over them, an unchanged
// HTTP/1.1 app getting multiplexing and request-level balancing.
func TestSidecarSpreads(t *testing.T) {
	sc := scenario(t, "balance", func(s *results.Scenario) {
		s.Mode, s.Rate, s.Requests, s.Concurrency, s.Rounds, s.Warmup, s.Query = results.Closed, 0, 240, 12, 1, 0, "us=100"
	})
	r := balanced(t, sc, bench.SidecarH2)
	tot := r.Contender(bench.SidecarH2).Total
	if tot.Skew < 1 || tot.Skew > 1.1 || len(tot.Backends) != 3 {
		t.Errorf("sidecar-h2 over the backends: skew %.2f, backends %+v; want spread evenly", tot.Skew, tot.Backends)
	}
	if tot.Server == nil || tot.Server.ConnectionsAccepted != 3 || tot.Client == nil || tot.Client.Sidecar == nil || tot.Client.Sidecar.UpstreamDials != 3 {
		t.Errorf("server %+v, client %+v; want the sidecar's 3 connections, one to each backend", tot.Server, tot.Client)
	}
}
