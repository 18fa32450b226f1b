// Package balance is a load-balancing front for several backends (demo
// servers, each with its own listeners and counts), in one of two modes:
//
//   - layer 4 (ModeL4): each new TCP connection goes to the next backend
//     (round robin, or the one with the fewest open connections), and its
//     bytes are carried both ways untouched, as a Kubernetes Service or a
//     TCP load balancer does. Every request on a connection reaches the
//     backend the connection went to: HTTP/1.1's six connections land on
//     several backends, HTTP/2's one connection on one.
//   - layer 7 (ModeL7): the front is an HTTP proxy (the sidecar's, which
//     accepts HTTP/1.1 and h2c) that sends each request to the next
//     backend (Spread) over one HTTP/2 connection of its own to each, as a
//     service mesh's proxy does; with Sticky a cookie keeps a client on the
//     backend that served it first.
//
// The front counts, per backend, the connections and requests it sent and
// which backends it had to leave out; each backend's own counts (requests,
// in flight, busy time) come from the backend.
package balance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"muxlab/h2client"
	"muxlab/sidecar"
)

// Modes and policies.
const (
	ModeL4 = "l4"
	ModeL7 = "l7"
	// RoundRobin sends each new connection (l4) or request (l7) to the
	// next backend; LeastConns sends a new connection to the backend with
	// the fewest open (l4 only).
	RoundRobin = "round-robin"
	LeastConns = "least-conns"
	// MaxBackends bounds the backends of a front.
	MaxBackends = 64
)

// The listener kinds a front serves and a backend offers.
const (
	KindH1  = "h1"  // HTTP/1.1 over TCP
	KindH2C = "h2c" // HTTP/2 with prior knowledge over TCP
)

// Backend is one server behind the front.
type Backend struct {
	// Name names it in the front's counts (and, for a demo server, in its
	// responses' Muxlab-Backend). Required, distinct.
	Name string
	// Addrs are its listeners' host:port by kind (KindH1, KindH2C). A
	// layer-4 front forwards a connection to the backend's listener of the
	// kind it arrived on; a layer-7 front sends every request to KindH2C.
	Addrs map[string]string
	// Counts, if set, reports the backend's own counts, for Stats.
	Counts func() BackendCounts
}

// BackendCounts is what a backend counts of itself.
type BackendCounts struct {
	Requests int64   `json:"requests"`
	InFlight int64   `json:"in_flight"`
	BusyMS   float64 `json:"busy_ms"`
	// ConnectionsAccepted is the connections the backend accepted.
	ConnectionsAccepted int64 `json:"connections_accepted"`
}

// Options configures a Front. Zero fields take the defaults in parentheses.
type Options struct {
	// Mode is ModeL4 or ModeL7. Required.
	Mode string
	// Policy is how a layer-4 front picks a backend for a connection:
	// RoundRobin (the default) or LeastConns. A layer-7 front sends
	// requests round robin.
	Policy string
	// Sticky keeps a client on the backend that served it first, by a
	// cookie (StickyCookie); layer 7 only.
	Sticky bool
	// Backends are the servers behind the front, 1 to MaxBackends.
	Backends []Backend
	// Listeners are the front's own, by kind (KindH1, KindH2C); at least
	// one. A layer-7 front accepts HTTP/1.1 and h2c on each.
	Listeners map[string]net.Listener
	// DialTimeout bounds a connection to a backend (5s).
	DialTimeout time.Duration
}

// Front is a running front.
type Front struct {
	opts   Options
	spread *Spread          // layer 7
	proxy  *sidecar.Sidecar // layer 7

	next     atomic.Uint64
	accepted map[string]*atomic.Int64 // connections accepted by kind of listener
	mu       sync.Mutex               // guards the following
	back     []*backend
	active   map[net.Conn]struct{} // layer 4's connections, both sides, to close at Close
	done     bool

	wg sync.WaitGroup
}

// backend is a Backend and what the front counted of it.
type backend struct {
	Backend
	conns     atomic.Int64 // connections sent to it (l4)
	open      atomic.Int64
	failed    atomic.Int64 // connections that could not reach it (l4)
	downUntil atomic.Int64 // unix nanoseconds
}

// New validates opts and builds the front; serving starts with Start.
func New(opts Options) (*Front, error) {
	switch opts.Mode {
	case ModeL4, ModeL7:
	default:
		return nil, fmt.Errorf("balance: mode %q: want %s (connections) or %s (requests)", opts.Mode, ModeL4, ModeL7)
	}
	if opts.Policy == "" {
		opts.Policy = RoundRobin
	}
	switch {
	case opts.Policy != RoundRobin && opts.Policy != LeastConns:
		return nil, fmt.Errorf("balance: policy %q: want %s or %s", opts.Policy, RoundRobin, LeastConns)
	case opts.Policy == LeastConns && opts.Mode == ModeL7:
		return nil, fmt.Errorf("balance: policy %s is for layer 4 (connections); layer 7 spreads requests round robin", LeastConns)
	case opts.Sticky && opts.Mode == ModeL4:
		return nil, errors.New("balance: sticky sessions need layer 7 (a cookie); layer 4 sees no requests")
	case len(opts.Backends) < 1 || len(opts.Backends) > MaxBackends:
		return nil, fmt.Errorf("balance: %d backends: allowed 1 to %d", len(opts.Backends), MaxBackends)
	case len(opts.Listeners) == 0:
		return nil, errors.New("balance: no listener for the front")
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	opts.Listeners = maps.Clone(opts.Listeners)
	f := &Front{opts: opts, active: make(map[net.Conn]struct{}), accepted: map[string]*atomic.Int64{}}
	for kind, ln := range opts.Listeners {
		n := new(atomic.Int64)
		f.accepted[kind] = n
		f.opts.Listeners[kind] = countingListener{ln, n}
	}
	for _, b := range opts.Backends {
		if err := f.add(b); err != nil {
			f.closeUpstreams()
			return nil, err
		}
	}
	if opts.Mode == ModeL7 {
		var err error
		if f.proxy, err = sidecar.New(sidecar.Options{Upstream: f.spread, Base: "http://backends", AcceptH2C: true}); err != nil {
			f.closeUpstreams()
			return nil, err
		}
	}
	return f, nil
}

// add checks b and puts it behind the front.
func (f *Front) add(b Backend) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case b.Name == "":
		return errors.New("balance: a backend needs a name")
	case slices.ContainsFunc(f.back, func(x *backend) bool { return x.Name == b.Name }):
		return fmt.Errorf("balance: backend %q twice", b.Name)
	case len(f.back) >= MaxBackends:
		return fmt.Errorf("balance: more than %d backends", MaxBackends)
	case f.opts.Mode == ModeL7 && b.Addrs[KindH2C] == "":
		return fmt.Errorf("balance: backend %q has no %s address, which layer 7 sends to", b.Name, KindH2C)
	}
	if f.opts.Mode == ModeL7 {
		up, err := h2client.New(h2client.Options{Addr: b.Addrs[KindH2C], DialTimeout: f.opts.DialTimeout})
		if err != nil {
			return err
		}
		n := Named{Name: b.Name, Upstream: up}
		if f.spread == nil {
			f.spread, err = NewSpread([]Named{n}, f.opts.Sticky)
		} else {
			err = f.spread.Add(n)
		}
		if err != nil {
			up.Close()
			return err
		}
	}
	f.back = append(f.back, &backend{Backend: b})
	return nil
}

// Add puts another backend behind the running front: layer 4 sends it new
// connections from now on (those open stay where they are), layer 7 new
// requests.
func (f *Front) Add(b Backend) error { return f.add(b) }

// Remove takes backend name from behind the front: no new connection
// (layer 4) or request (layer 7) goes to it; layer 4's open connections
// to it stay until they end.
func (f *Front) Remove(name string) error {
	f.mu.Lock()
	i := slices.IndexFunc(f.back, func(b *backend) bool { return b.Name == name })
	if i < 0 {
		f.mu.Unlock()
		return fmt.Errorf("balance: no backend %q", name)
	}
	f.back = slices.Delete(f.back, i, i+1)
	f.mu.Unlock()
	if f.spread != nil {
		return f.spread.Remove(name)
	}
	return nil
}

// Start serves the front's listeners in the background until Close.
func (f *Front) Start() {
	for kind, ln := range f.opts.Listeners {
		f.wg.Go(func() {
			if f.proxy != nil {
				f.proxy.Serve(ln) // returns at Close
				return
			}
			f.serveL4(kind, ln)
		})
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// serveL4 forwards each connection on ln to a backend's listener of kind.
func (f *Front) serveL4(kind string, ln net.Listener) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conns.Go(func() { f.forward(kind, c) })
	}
}

// forward carries c to a backend, trying the next when one cannot be
// reached (it is left out for DownFor and counted).
func (f *Front) forward(kind string, c net.Conn) {
	defer c.Close()
	if !f.track(c) {
		return
	}
	defer f.untrack(c)
	f.mu.Lock()
	n := len(f.back)
	f.mu.Unlock()
	for range n {
		b := f.pickL4()
		if b == nil {
			return
		}
		addr := b.Addrs[kind]
		if addr == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.opts.DialTimeout)
		bc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			b.failed.Add(1)
			b.downUntil.Store(time.Now().Add(DownFor).UnixNano())
			continue
		}
		if !f.track(bc) {
			bc.Close()
			return
		}
		defer f.untrack(bc)
		b.conns.Add(1)
		b.open.Add(1)
		defer b.open.Add(-1)
		splice(c, bc)
		return
	}
}

// track adds c to the connections Close closes; false once closed.
func (f *Front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return false
	}
	f.active[c] = struct{}{}
	return true
}

func (f *Front) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.active, c)
	f.mu.Unlock()
}

// splice copies both ways until either side ends, then closes both.
func splice(a, b net.Conn) {
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, a); closeWrite(b); done <- struct{}{} }()
	go func() { io.Copy(a, b); closeWrite(a); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
		return
	}
	c.Close()
}

// pickL4 chooses a connection's backend by the policy, among those up (any,
// when none is).
func (f *Front) pickL4() *backend {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.back) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	up := make([]*backend, 0, len(f.back))
	for _, b := range f.back {
		if b.downUntil.Load() < now {
			up = append(up, b)
		}
	}
	if len(up) == 0 {
		up = f.back
	}
	if f.opts.Policy == LeastConns {
		best := up[0]
		for _, b := range up[1:] {
			if b.open.Load() < best.open.Load() {
				best = b
			}
		}
		return best
	}
	return up[(f.next.Add(1)-1)%uint64(len(up))]
}

// Stats is the front's view of its backends.
type Stats struct {
	Mode     string         `json:"mode"`
	Policy   string         `json:"policy"`
	Sticky   bool           `json:"sticky,omitempty"`
	Backends []BackendStats `json:"backends"`
	// BadGateway counts requests a layer-7 front answered 502: their
	// backend failed.
	BadGateway int64 `json:"bad_gateway,omitempty"`
	// Accepted counts the connections the front accepted, by kind of
	// listener.
	Accepted map[string]int64 `json:"accepted"`
}

// BackendStats is one backend as the front saw it, and as it counts itself.
type BackendStats struct {
	Name string `json:"name"`
	// Connections are those the front sent it (layer 4) or made to it
	// (layer 7); ConnectionsOpen those open now; Unreachable the
	// connections or requests that could not reach it.
	Connections     int64 `json:"connections"`
	ConnectionsOpen int64 `json:"connections_open"`
	Unreachable     int64 `json:"unreachable"`
	// Requests the front sent it (layer 7; layer 4 sees none) and how many
	// are in flight.
	Requests int64 `json:"requests,omitempty"`
	InFlight int64 `json:"in_flight,omitempty"`
	Down     bool  `json:"down,omitempty"`
	// Own is the backend's own count, when it reports one.
	Own *BackendCounts `json:"own,omitempty"`
}

// Stats reports the front's counts of each backend.
func (f *Front) Stats() Stats {
	st := Stats{Mode: f.opts.Mode, Policy: f.opts.Policy, Sticky: f.opts.Sticky, Accepted: map[string]int64{}}
	for kind, n := range f.accepted {
		st.Accepted[kind] = n.Load()
	}
	var per map[string]UpstreamStats
	if f.spread != nil {
		per = map[string]UpstreamStats{}
		for _, u := range f.spread.PerUpstream() {
			per[u.Name] = u
		}
		st.BadGateway = f.proxy.Stats().BadGateway
	}
	f.mu.Lock()
	back := slices.Clone(f.back)
	f.mu.Unlock()
	now := time.Now().UnixNano()
	for _, b := range back {
		bs := BackendStats{Name: b.Name, Connections: b.conns.Load(), ConnectionsOpen: b.open.Load(), Unreachable: b.failed.Load(),
			Down: b.downUntil.Load() >= now}
		if u, ok := per[b.Name]; ok {
			bs.Connections, bs.ConnectionsOpen, bs.Requests, bs.InFlight, bs.Unreachable, bs.Down = u.Dials, u.Open, u.Requests, u.InFlight, u.Failed, u.Down
		}
		if b.Counts != nil {
			own := b.Counts()
			bs.Own = &own
		}
		st.Backends = append(st.Backends, bs)
	}
	return st
}

// ResetAccepted zeroes the counts of connections accepted.
func (f *Front) ResetAccepted() {
	for _, n := range f.accepted {
		n.Store(0)
	}
}

// Close stops the front: its listeners, the connections it carries, its
// connections to the backends.
func (f *Front) Close() error {
	f.mu.Lock()
	if f.done {
		f.mu.Unlock()
		return nil
	}
	f.done = true
	for c := range f.active {
		c.Close()
	}
	f.mu.Unlock()
	var errs []error
	for _, ln := range f.opts.Listeners {
		errs = append(errs, ln.Close())
	}
	if f.proxy != nil {
		errs = append(errs, f.proxy.Close())
	}
	f.wg.Wait()
	return errors.Join(errs...)
}

func (f *Front) closeUpstreams() {
	if f.spread != nil {
		f.spread.Close()
	}
}

// Handler answers the front's own counts: GET /stats, as JSON.
func (f *Front) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, f.Stats())
	})
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
