package balance_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"muxlab/balance"
	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/roundtrip"
)

// backends starts n demo servers, named b1 to bn.
func backends(t *testing.T, n int) ([]*mux.Server, []balance.Backend) {
	t.Helper()
	var srvs []*mux.Server
	var bs []balance.Backend
	for i := range n {
		name := "b" + string(rune('1'+i))
		s := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0", Name: name})
		srvs = append(srvs, s)
		bs = append(bs, balance.Backend{Name: name, Addrs: map[string]string{balance.KindH1: s.Addr(mux.ListenerH1), balance.KindH2C: s.Addr(mux.ListenerH2C)},
			Counts: func() balance.BackendCounts {
				st := s.Stats()
				c := balance.BackendCounts{BusyMS: st.BusyMS, InFlight: st.InFlight}
				for _, l := range st.Listeners {
					c.Requests += l.Requests
					c.ConnectionsAccepted += l.ConnectionsAccepted
				}
				return c
			}})
	}
	return srvs, bs
}

// front starts a front over bs with listeners for h1 and h2c.
func front(t *testing.T, o balance.Options) (*balance.Front, map[string]string) {
	t.Helper()
	o.Listeners = map[string]net.Listener{}
	addrs := map[string]string{}
	for _, kind := range []string{balance.KindH1, balance.KindH2C} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o.Listeners[kind], addrs[kind] = ln, ln.Addr().String()
	}
	f, err := balance.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	t.Cleanup(func() { f.Close() })
	return f, addrs
}

// served sends n requests through c, k at a time, and returns how many
// each backend answered, by its Muxlab-Backend, and the statuses.
func served(t *testing.T, c muxtest.Doer, url string, n, k int, header http.Header) (map[string]int, map[int]int) {
	t.Helper()
	var mu sync.Mutex
	by, codes := map[string]int{}, map[int]int{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, k)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := c.Do(req, &roundtrip.Info{})
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			by[resp.Header.Get(mux.HeaderBackend)]++
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return by, codes
}

func pool(t *testing.T, addr string, conns int) *h1pool.Pool {
	p, err := h1pool.New(h1pool.Options{Addr: addr, Conns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func h2(t *testing.T, addr string) *h2client.Client {
	c, err := h2client.New(h2client.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Behind layer 4, HTTP/1.1's six connections land on all three backends;
// HTTP/2's one connection sends everything to one. The backends' own
// counts agree with the responses.
func TestLayer4SpreadsConnections(t *testing.T) {
	srvs, bs := backends(t, 3)
	f, addrs := front(t, balance.Options{Mode: balance.ModeL4, Backends: bs})
	byH1, _ := served(t, pool(t, addrs[balance.KindH1], 6), "http://front/echo?delay=5ms", 120, 6, nil)
	if len(byH1) != 3 {
		t.Errorf("h1 behind layer 4: %v; want all three backends", byH1)
	}
	for _, s := range srvs {
		s.ResetStats()
	}
	byH2, _ := served(t, h2(t, addrs[balance.KindH2C]), "http://front/echo?delay=5ms", 120, 20, nil)
	if len(byH2) != 1 {
		t.Errorf("h2 behind layer 4: %v; want one backend (one connection)", byH2)
	}
	busy := 0
	for _, b := range f.Stats().Backends {
		if b.Own == nil {
			t.Fatalf("backend %s: no counts of its own", b.Name)
		}
		if b.Own.Requests > 0 {
			busy++
			if b.Own.Requests != 120 || byH2[b.Name] != 120 {
				t.Errorf("backend %s counted %d requests, answered %d; want the 120", b.Name, b.Own.Requests, byH2[b.Name])
			}
		}
	}
	if busy != 1 {
		t.Errorf("%d backends counted h2's requests, want 1", busy)
	}
}

// Behind layer 7, both spread requests over the three backends evenly
// (round robin): one HTTP/2 connection is no longer pinned.
func TestLayer7SpreadsRequests(t *testing.T) {
	_, bs := backends(t, 3)
	f, addrs := front(t, balance.Options{Mode: balance.ModeL7, Backends: bs})
	for _, tc := range []struct {
		name string
		c    muxtest.Doer
	}{{"h1", pool(t, addrs[balance.KindH1], 6)}, {"h2", h2(t, addrs[balance.KindH2C])}} {
		by, codes := served(t, tc.c, "http://front/hello", 90, 1, nil)
		if codes[200] != 90 || by["b1"] != 30 || by["b2"] != 30 || by["b3"] != 30 {
			t.Errorf("%s behind layer 7: %v, statuses %v; want 30 each", tc.name, by, codes)
		}
	}
	for _, b := range f.Stats().Backends {
		if b.Requests != 60 || b.Connections != 1 {
			t.Errorf("front's count of %s: %+v; want 60 requests on 1 connection", b.Name, b)
		}
	}
}

// Sticky: the first response sets the cookie; requests that carry it
// stay on its backend.
func TestSticky(t *testing.T) {
	_, bs := backends(t, 3)
	_, addrs := front(t, balance.Options{Mode: balance.ModeL7, Sticky: true, Backends: bs})
	c := h2(t, addrs[balance.KindH2C])
	req, _ := http.NewRequest(http.MethodGet, "http://front/hello", nil)
	resp, err := c.Do(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	first := resp.Header.Get(mux.HeaderBackend)
	if !strings.HasPrefix(cookie, balance.StickyCookie+"="+first) {
		t.Fatalf("Set-Cookie %q from %s", cookie, first)
	}
	by, _ := served(t, c, "http://front/hello", 30, 5, http.Header{"Cookie": {strings.SplitN(cookie, ";", 2)[0]}})
	if by[first] != 30 {
		t.Errorf("with the cookie: %v; want all 30 on %s", by, first)
	}
}

// A backend that stops: layer 7 answers its requests 502, counted, leaves
// it out, and the others go on; layer 4 sends new connections elsewhere.
func TestBackendStops(t *testing.T) {
	for _, mode := range []string{balance.ModeL7, balance.ModeL4} {
		t.Run(mode, func(t *testing.T) {
			srvs, bs := backends(t, 3)
			f, addrs := front(t, balance.Options{Mode: mode, Backends: bs})
			srvs[1].Close()
			// Layer 4 sees connections: three at once, so that each
			// backend is tried.
			var c muxtest.Doer = h2(t, addrs[balance.KindH2C])
			k := 1
			if mode == balance.ModeL4 {
				c, k = pool(t, addrs[balance.KindH1], 3), 3
			}
			by, codes := served(t, c, "http://front/echo?delay=5ms", 60, k, nil)
			if by["b2"] != 0 || codes[200] < 55 || codes[200]+codes[502] != 60 {
				t.Errorf("%s with b2 stopped: %v, statuses %v; want none from b2, the rest answered", mode, by, codes)
			}
			st := f.Stats()
			if b := st.Backends[1]; b.Unreachable == 0 {
				t.Errorf("front's count of the stopped b2: %+v; want it unreachable", b)
			}
			if mode == balance.ModeL7 && st.BadGateway != int64(codes[502]) {
				t.Errorf("502s: front %d, client %d", st.BadGateway, codes[502])
			}
		})
	}
}

// A backend added while a run goes on: layer 4 gives it new connections
// only, so HTTP/2's one connection never reaches it; layer 7 gives it
// requests at once.
func TestAddBackend(t *testing.T) {
	for _, mode := range []string{balance.ModeL4, balance.ModeL7} {
		t.Run(mode, func(t *testing.T) {
			_, bs := backends(t, 3)
			f, addrs := front(t, balance.Options{Mode: mode, Backends: bs[:2]})
			c := h2(t, addrs[balance.KindH2C])
			served(t, c, "http://front/hello", 10, 1, nil)
			if err := f.Add(bs[2]); err != nil {
				t.Fatal(err)
			}
			if err := f.Add(bs[2]); err == nil {
				t.Error("the same backend added twice")
			}
			by, _ := served(t, c, "http://front/hello", 30, 1, nil)
			if got := by["b3"]; (mode == balance.ModeL4) != (got == 0) {
				t.Errorf("%s: after adding b3, %v", mode, by)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	_, bs := backends(t, 1)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	lns := map[string]net.Listener{balance.KindH1: ln}
	many := make([]balance.Backend, balance.MaxBackends+1)
	for _, tc := range []struct {
		o    balance.Options
		want string
	}{
		{balance.Options{Mode: "l5", Backends: bs, Listeners: lns}, "mode"},
		{balance.Options{Mode: balance.ModeL4, Listeners: lns}, "0 backends"},
		{balance.Options{Mode: balance.ModeL4, Backends: many, Listeners: lns}, "65 backends"},
		{balance.Options{Mode: balance.ModeL4, Backends: bs}, "listener"},
		{balance.Options{Mode: balance.ModeL4, Policy: "random", Backends: bs, Listeners: lns}, "policy"},
		{balance.Options{Mode: balance.ModeL7, Policy: balance.LeastConns, Backends: bs, Listeners: lns}, "layer 4"},
		{balance.Options{Mode: balance.ModeL4, Sticky: true, Backends: bs, Listeners: lns}, "layer 7"},
		{balance.Options{Mode: balance.ModeL4, Backends: []balance.Backend{bs[0], bs[0]}, Listeners: lns}, "twice"},
	} {
		if _, err := balance.New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error about %q", tc.o.Mode, err, tc.want)
		}
	}
}

// A Local runs its backends in process: named b1.., sharing a cart key
// (a token cart made on one reads on another), one more added while
// running, one stopped as a crash (the front then finds it unreachable).
func TestLocal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := balance.StartLocal(balance.LocalOptions{Backends: 2, Mode: balance.ModeL7, Listeners: map[string]net.Listener{balance.KindH1: ln}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := pool(t, ln.Addr().String(), 1)
	get := func(path string) (string, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://front"+path, nil)
		resp, err := p.Do(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get(mux.HeaderBackend)
	}
	body, first := get("/tcart/add?item=x")
	tok := body[strings.Index(body, `"token": "`)+10:]
	tok = tok[:strings.Index(tok, `"`)]
	body, second := get("/tcart?token=" + tok)
	if first == second || !strings.Contains(body, `"x"`) {
		t.Errorf("a token cart made on %s read on %s: %q", first, second, body)
	}
	name, err := l.AddBackend()
	if err != nil || name != "b3" {
		t.Fatalf("added %q, %v", name, err)
	}
	if err := l.Stop("b1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop("b1"); err == nil {
		t.Error("b1 stopped twice")
	}
	seen := map[string]bool{}
	for range 9 {
		_, b := get("/hello")
		seen[b] = true
	}
	if seen["b1"] || !seen["b2"] || !seen["b3"] {
		t.Errorf("after adding b3 and stopping b1 the front reached %v", seen)
	}
	// Restored: b1 back (empty), b3 gone.
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	seen = map[string]bool{}
	for range 6 {
		_, b := get("/hello")
		seen[b] = true
	}
	if !seen["b1"] || !seen["b2"] || seen["b3"] || len(seen) != 2 {
		t.Errorf("after Restore the front reached %v; want b1 and b2", seen)
	}
	if n := len(l.Front.Stats().Backends); n != 2 {
		t.Errorf("%d backends behind the front after Restore, want 2", n)
	}
	if _, err := balance.StartLocal(balance.LocalOptions{Backends: 0, Mode: balance.ModeL4}); err == nil {
		t.Error("no backends accepted")
	}
}
