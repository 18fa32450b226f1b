package balance

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"muxlab/mux"
)

// DefaultWorkSlots is a local backend's emulated cores: how many /work
// requests it runs at once. One, so that a backend given more than its
// share of the work queues it, whatever the machine's cores.
const DefaultWorkSlots = 1

// LocalOptions configures a Local: backends that are demo servers in this
// process, behind a front.
type LocalOptions struct {
	// Backends is how many demo servers, 1 to MaxBackends; they are named
	// b1, b2, ...
	Backends int
	// Mode, Policy and Sticky are the front's (Options).
	Mode, Policy string
	Sticky       bool
	// WorkSlots is each backend's mux.Options.WorkSlots
	// (DefaultWorkSlots).
	WorkSlots int
	// Server is the backends' options beside their listeners, names, work
	// slots and cart key (timeouts, stream limits); its addresses are
	// ignored.
	Server mux.Options
	// Listeners are the front's, by kind (Options.Listeners).
	Listeners map[string]net.Listener
	// Listen makes a backend's listener (nil: net.Listen on a free port of
	// 127.0.0.1).
	Listen func() (net.Listener, error)
}

// Local is demo servers in this process behind a front: what muxlab serve
// --backends runs, and what bench's balance scenario runs against.
type Local struct {
	Front *Front
	opts  LocalOptions
	key   []byte // the backends' shared cart key

	mu      sync.Mutex // guards the following
	servers []*mux.Server
	stopped map[*mux.Server]bool
}

// StartLocal starts the backends and the front.
func StartLocal(o LocalOptions) (*Local, error) {
	if o.Backends < 1 || o.Backends > MaxBackends {
		return nil, fmt.Errorf("balance: %d backends: allowed 1 to %d", o.Backends, MaxBackends)
	}
	if o.WorkSlots == 0 {
		o.WorkSlots = DefaultWorkSlots
	}
	if o.Listen == nil {
		o.Listen = func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	}
	l := &Local{opts: o, key: make([]byte, 32), stopped: map[*mux.Server]bool{}}
	rand.Read(l.key) // never fails (crypto/rand)
	var bs []Backend
	for range o.Backends {
		b, err := l.startBackend()
		if err != nil {
			l.Close()
			return nil, err
		}
		bs = append(bs, b)
	}
	f, err := New(Options{Mode: o.Mode, Policy: o.Policy, Sticky: o.Sticky, Backends: bs, Listeners: o.Listeners})
	if err != nil {
		l.Close()
		return nil, err
	}
	l.Front = f
	f.Start()
	return l, nil
}

// startBackend starts the next demo server, named b<n>.
func (l *Local) startBackend() (Backend, error) {
	l.mu.Lock()
	name := fmt.Sprintf("b%d", len(l.servers)+1)
	l.mu.Unlock()
	b, s, err := l.newServer(name, nil)
	if err != nil {
		return Backend{}, err
	}
	l.mu.Lock()
	l.servers = append(l.servers, s)
	l.mu.Unlock()
	return b, nil
}

// newServer starts a demo server named name, on listeners of its own (at
// addrs by listener name, when given).
func (l *Local) newServer(name string, addrs map[string]string) (Backend, *mux.Server, error) {
	so := l.opts.Server
	so.H1Addr, so.H2CAddr, so.BothAddr, so.H1TLSAddr, so.H2TLSAddr = "", "", "", "", ""
	so.Name, so.WorkSlots, so.CartKey = name, l.opts.WorkSlots, l.key
	so.Listeners = map[string]net.Listener{}
	for _, kind := range []string{mux.ListenerH1, mux.ListenerH2C} {
		var ln net.Listener
		var err error
		if a := addrs[kind]; a != "" {
			ln, err = net.Listen("tcp", a)
		} else {
			ln, err = l.opts.Listen()
		}
		if err != nil {
			for _, x := range so.Listeners {
				x.Close()
			}
			return Backend{}, nil, fmt.Errorf("balance: backend %s: %w", name, err)
		}
		so.Listeners[kind] = ln
	}
	s, err := mux.New(so)
	if err != nil {
		return Backend{}, nil, fmt.Errorf("balance: backend %s: %w", name, err)
	}
	s.Start()
	return Backend{Name: name, Addrs: map[string]string{KindH1: s.Addr(mux.ListenerH1), KindH2C: s.Addr(mux.ListenerH2C)},
		Counts: func() BackendCounts { return countsOf(s) }}, s, nil
}

// countsOf is a demo server's own counts, over its listeners.
func countsOf(s *mux.Server) BackendCounts {
	st := s.Stats()
	c := BackendCounts{BusyMS: st.BusyMS, InFlight: st.InFlight}
	for _, ls := range st.Listeners {
		c.Requests += ls.Requests
		c.ConnectionsAccepted += ls.ConnectionsAccepted
	}
	return c
}

// Addr is backend name's listener of kind, empty if there is none.
func (l *Local) Addr(name, kind string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.servers {
		if s.Options().Name == name && !l.stopped[s] {
			return s.Addr(map[string]string{KindH1: mux.ListenerH1, KindH2C: mux.ListenerH2C}[kind])
		}
	}
	return ""
}

// AddBackend starts another demo server and puts it behind the running
// front; it returns its name.
func (l *Local) AddBackend() (string, error) {
	b, err := l.startBackend()
	if err != nil {
		return "", err
	}
	if err := l.Front.Add(b); err != nil {
		return "", err
	}
	return b.Name, nil
}

// Stop stops backend name at once, as a crash would: its connections
// close, requests in flight on it fail, what it kept in memory is gone.
// The front keeps it in its list and finds it unreachable.
func (l *Local) Stop(name string) error {
	l.mu.Lock()
	i := slices.IndexFunc(l.servers, func(s *mux.Server) bool { return s.Options().Name == name })
	var s *mux.Server
	if i >= 0 && !l.stopped[l.servers[i]] {
		s = l.servers[i]
		l.stopped[s] = true
	}
	l.mu.Unlock()
	if s == nil {
		return fmt.Errorf("balance: no backend %q running", name)
	}
	return s.Close()
}

// Restore puts the front back as StartLocal made it: the backends added
// since are stopped and removed, those stopped are started again under
// their names (empty: what they kept in memory is gone, as after a crash).
func (l *Local) Restore() error {
	l.mu.Lock()
	servers := slices.Clone(l.servers)
	l.mu.Unlock()
	var errs []error
	for i, s := range servers {
		name := fmt.Sprintf("b%d", i+1)
		switch {
		case i >= l.opts.Backends:
			errs = append(errs, l.Front.Remove(name))
			l.mu.Lock()
			if !l.stopped[s] {
				l.stopped[s] = true
				s.Close()
			}
			l.mu.Unlock()
		case l.isStopped(s):
			// On the same addresses, so that whoever knows them (a
			// sidecar balancing over the backends) finds it again.
			b, ns, err := l.newServer(name, map[string]string{mux.ListenerH1: s.Addr(mux.ListenerH1), mux.ListenerH2C: s.Addr(mux.ListenerH2C)})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			l.mu.Lock()
			l.servers[i] = ns
			l.mu.Unlock()
			errs = append(errs, l.Front.Remove(name), l.Front.Add(b))
		}
	}
	l.mu.Lock()
	l.servers = l.servers[:min(len(l.servers), l.opts.Backends)]
	l.mu.Unlock()
	return errors.Join(errs...)
}

func (l *Local) isStopped(s *mux.Server) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped[s]
}

// ResetStats zeroes every backend's counts and the front's count of
// connections accepted.
func (l *Local) ResetStats() {
	if l.Front != nil {
		l.Front.ResetAccepted()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.servers {
		if !l.stopped[s] {
			s.ResetStats()
		}
	}
}

// Close stops the front and the backends.
func (l *Local) Close() error {
	var errs []error
	if l.Front != nil {
		errs = append(errs, l.Front.Close())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.servers {
		if !l.stopped[s] {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
