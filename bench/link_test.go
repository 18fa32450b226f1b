package bench_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"muxlab/bench"
	"muxlab/internal/muxtest"
	"muxlab/link"
	"muxlab/mux"
	"muxlab/mux/h3"
	"muxlab/results"
)

// overLink starts a mux server on the server side of an emulated link and
// returns options that measure it across the link.
func overLink(t *testing.T, lo link.Options, sc results.Scenario, contenders ...string) bench.Options {
	t.Helper()
	n, err := link.New(lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	lns := map[string]net.Listener{}
	for _, name := range []string{mux.ListenerH1, mux.ListenerH2C} {
		ln, err := n.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		lns[name] = ln
	}
	srv := muxtest.Start(t, mux.Options{Listeners: lns})
	opts := embeddedTruth(srv, sc, contenders...)
	for name, ln := range lns {
		tg, err := bench.NewTarget(name, "http://"+ln.Addr().String(), n.Dial)
		if err != nil {
			t.Fatal(err)
		}
		opts.Targets = append(opts.Targets, tg)
	}
	pc, err := n.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := h3.Listen(srv, h3.Options{PacketConn: pc})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	tg, err := bench.NewTarget(mux.ListenerH3, l.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tg.TLS.InsecureSkipVerify = true // the server's own certificate, made for this test
	tg.ListenPacket = n.DialPacket
	opts.Targets = append(opts.Targets, tg)
	opts.Link, opts.Profile = n, "test"
	return opts
}

// onStacks runs f on the kernel's stack and on the userspace one, as
// subtests; the kernel's where this process may have it (and always in CI).
func onStacks(t *testing.T, f func(t *testing.T, stack string)) {
	for _, st := range []string{link.StackKernel, link.StackUserspace} {
		t.Run("stack="+st, func(t *testing.T) {
			if st == link.StackKernel {
				muxtest.RequireKernel(t)
			}
			f(t, st)
		})
	}
}

func linkOpts(rtt time.Duration, rate int64, loss float64) link.Options {
	d := link.Direction{Delay: rtt / 2, Rate: rate, Queue: 256 << 10, Loss: loss}
	return link.Options{Up: d, Down: d, Seed: 3}
}

// Over an emulated link the contenders keep their promises (six
// connections and one, by the server's count), every round carries the
// link's truth, and the page model includes the bottleneck.
func TestPageOverLink(t *testing.T) { onStacks(t, testPageOverLink) }

func testPageOverLink(t *testing.T, stack string) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size = 24, 2, 1, 1, 0, 4<<10
	})
	lo := linkOpts(20*time.Millisecond, 20_000_000, 0)
	lo.Stack = stack
	r := run(t, context.Background(), overLink(t, lo, sc, "h1", "h2", "h3", "hey"))
	accounted(t, r)
	if n := r.Network; !n.Emulated || n.RTTMS != 20 || n.DownBPS != 20_000_000 || n.Profile != "test" || n.CongestionControl != "cubic" ||
		n.Stack != stack || n.StackWhy != "chosen" {
		t.Errorf("network %+v", n)
	}
	want := map[string]int64{"h1": 6, "h2": 1, "h3": 1, "hey": 6 * 2} // hey opens its connections for every page, and warms up none
	for _, c := range r.Contenders {
		t.Run(c.Name, func(t *testing.T) {
			tot := c.Total
			if tot.OK != tot.Sent || tot.Server == nil || tot.Server.ConnectionsAccepted != want[c.Name] {
				t.Errorf("ok %d of %d; server %+v; want %d connections", tot.OK, tot.Sent, tot.Server, want[c.Name])
			}
			l := tot.Link
			if l == nil || l.Packets == 0 || l.Bytes < int64(sc.Pages*sc.Objects)*sc.Size || l.DroppedLoss != 0 || l.Up.Packets+l.Down.Packets != l.Packets {
				t.Errorf("link %+v", l)
			}
			if m := tot.Model; m == nil || m.Transfer <= 0 || m.RTT.D() < 20*time.Millisecond {
				t.Errorf("model %+v: want a transfer time and the link's round trip", m)
			}
			if p := tot.Page; p == nil || p.P50 < 20 {
				t.Errorf("page %+v: faster than one round trip", p)
			}
		})
	}
}

// At 5% loss the link drops packets, TCP retransmits them, and every
// request is still accounted for.
func TestPageOverLossyLink(t *testing.T) { onStacks(t, testPageOverLossyLink) }

// On either stack, at 5% loss: the server counts 6, 1 and 1 connections,
// the result names the stack, the link's drops and the stack's
// retransmissions are counted (tail-loss probes on the kernel's), and the
// page model includes loss.
func testPageOverLossyLink(t *testing.T, stack string) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size = 30, 2, 1, 0, 0, 8<<10
	})
	lo := linkOpts(10*time.Millisecond, 0, 0.05)
	lo.Stack = stack
	r := run(t, context.Background(), overLink(t, lo, sc, "h1", "h2", "h3"))
	accounted(t, r)
	if r.Network.Stack != stack {
		t.Errorf("network %+v, want the %s stack", r.Network, stack)
	}
	warned := strings.Contains(strings.Join(r.Notes, "\n"), "gVisor's userspace stack, which under loss is not Linux's")
	if warned != (stack == link.StackUserspace) {
		t.Errorf("notes %q: want the userspace stack's caveat on it alone", r.Notes)
	}
	want := map[string]int64{"h1": 6, "h2": 1, "h3": 1}
	for _, c := range r.Contenders {
		// QUIC's own recovery is not TCP's: the stacks count no
		// retransmission for h3, only the link's drops.
		l := c.Total.Link
		if l == nil || l.DroppedLoss == 0 || (c.Name != "h3" && l.Retransmits == 0) || l.ProbesCounted != (stack == link.StackKernel) {
			t.Errorf("%s: link %+v; want drops and retransmits at 5%% loss, probes counted on the kernel alone", c.Name, l)
		}
		if srv := c.Total.Server; srv == nil || srv.ConnectionsAccepted != want[c.Name] {
			t.Errorf("%s: server %+v; want %d connections", c.Name, srv, want[c.Name])
		}

		if m := c.Total.Model; m == nil || m.LossTime <= 0 || m.Recovery <= 0 || m.Predicted < m.LossTime+m.TurnTime {
			t.Errorf("%s: model %+v; want loss in it", c.Name, m)
		}
		// The client sends little (its requests and ACKs); what the link
		// drops on the way down the server's QUIC declares lost.
		if q := c.Total.Client.QUIC; (c.Name == "h3") != (q != nil) || (q != nil && (q.PacketsSent == 0 || q.PacketsLost > q.PacketsSent || q.SmoothedRTTMS < 10)) {
			t.Errorf("%s: QUIC %+v; want QUIC's packets and round trip for h3 alone", c.Name, q)
		}
	}
}

// A cold page opens its connections: six per page for h1, one for h2.
func TestColdPages(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size, s.Cold = 12, 3, 1, 1, 0, 1024, true
	})
	r := run(t, context.Background(), overLink(t, linkOpts(10*time.Millisecond, 0, 0), sc, "h1", "h2"))
	accounted(t, r)
	for _, c := range r.Contenders {
		per := int64(c.Conns)
		tot := c.Total
		if tot.Client == nil || tot.Client.Dials != per*3 || tot.Client.WarmupDials != per || tot.Server == nil || tot.Server.ConnectionsAccepted != per*4 {
			t.Errorf("%s: client %+v, server %+v; want %d dials measured, %d warming up, and %d accepted with the warm-up", c.Name, tot.Client, tot.Server, per*3, per, per*4)
		}
		if tot.Disagreement != "" {
			t.Errorf("%s: %s; the counts are over the same pages", c.Name, tot.Disagreement)
		}
		if m := tot.Model; m == nil || m.Handshake <= 0 {
			t.Errorf("%s: model %+v; want the handshakes in it", c.Name, m)
		}
	}
}

// With TLS, h1 and h2 use the server's TLS listeners (ALPN http/1.1 and h2)
// and h3 its QUIC one: 6, 1 and 1 connections by the server's count, each
// protocol what it claims.
func TestTLSAndHTTP3(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay = 24, 2, 1, 1, results.Duration(10*time.Millisecond)
	})
	opts := embedded(t, sc, "h1", "h2", "h3")
	opts.TLS = true
	r := run(t, context.Background(), opts)
	accounted(t, r)
	want := map[string]struct {
		listener, proto string
		conns           int64
	}{"h1": {"h1_tls", "HTTP/1.1", 6}, "h2": {"h2_tls", "HTTP/2.0", 1}, "h3": {"h3", "HTTP/3.0", 1}}
	for _, c := range r.Contenders {
		w, tot := want[c.Name], c.Total
		if c.Listener != w.listener || tot.OK != tot.Sent || tot.Server == nil || tot.Server.Listener != w.listener ||
			tot.Server.ConnectionsAccepted != w.conns || tot.Server.Protos[w.proto] != tot.Server.Requests || tot.Client.Dials != w.conns {
			t.Errorf("%s on %s: ok %d of %d, client %+v, server %+v; want %d connections of %s on %s",
				c.Name, c.Listener, tot.OK, tot.Sent, tot.Client, tot.Server, w.conns, w.proto, w.listener)
		}
	}
	if !strings.HasPrefix(r.Target.URLs["h1_tls"], "https://") || !strings.HasPrefix(r.Target.URLs["h3"], "https://") {
		t.Errorf("urls %v", r.Target.URLs)
	}
}

// The sidecar contenders: the app's connections in, one upstream
// connection out by the sidecar's count and by the server's, and the app's
// connections cap what the one connection carries at once.
func TestSidecarContenders(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size, s.AppConns = 24, 2, 1, 1, results.Duration(20*time.Millisecond), 1024, 8
	})
	r := run(t, context.Background(), overLink(t, linkOpts(10*time.Millisecond, 0, 0), sc, "sidecar-h2", "sidecar-h3"))
	accounted(t, r)
	for _, c := range r.Contenders {
		tot := c.Total
		s := tot.Client.Sidecar
		if c.Conns != 8 || tot.OK != tot.Sent || s == nil || s.UpstreamDials != 1 || tot.Client.Dials != 8 ||
			tot.Server == nil || tot.Server.ConnectionsAccepted != 1 || tot.Server.PeakInFlightPerConn > 8 || tot.Disagreement != "" {
			t.Errorf("%s: client %+v, sidecar %+v, server %+v, disagreement %q", c.Name, tot.Client, s, tot.Server, tot.Disagreement)
		}
		if m := tot.Model; m == nil || m.Turns != 3 {
			t.Errorf("%s: model %+v; want 3 turns of 8 (the app's connections)", c.Name, m)
		}
	}
}

// Over a lossy link the embedded HTTP/3 server counts the response data it
// sent again, and how long each piece waited since its first sending; the
// TCP contenders' retransmissions are the link's, not the server's.
func TestServerCountsQUICDataSentAgain(t *testing.T) {
	sc := scenario(t, "page", func(s *results.Scenario) {
		s.Objects, s.Pages, s.Rounds, s.Warmup, s.Delay, s.Size = 30, 2, 1, 0, 0, 8<<10
	})
	lo := linkOpts(10*time.Millisecond, 0, 0.05)
	lo.Stack = link.StackUserspace
	n, err := link.New(lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	opts := bench.Options{Scenario: sc, Contenders: []string{bench.H2, bench.H3}, Link: n}
	stop, err := bench.Embed(&opts, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	r := run(t, context.Background(), opts)
	accounted(t, r)
	for _, c := range r.Contenders {
		srv := c.Total.Server
		if srv == nil || (c.Name == bench.H3) != (srv.QUICResent > 0 && srv.QUICResentWaitMS > 0) {
			t.Errorf("%s: server %+v; want the QUIC data sent again, and its wait, for h3 alone", c.Name, srv)
		}
	}
}
