package link

import (
	"io"
	"net"
	"sync"
	"weak"
)

// sockets are the kernel stack's sockets, for Close to abort. They are
// held weakly: one the program dropped without closing is not kept from
// the collector (whose cleanup closes its descriptor).
type sockets struct {
	mu     sync.Mutex // guards the following
	open   []func() io.Closer
	closed bool
	prune  int // len(open) at which the dead ones are pruned next
}

// weakly returns a function that gives p while it is live, nil after.
func weakly[T any, P interface {
	*T
	io.Closer
}](p P) func() io.Closer {
	w := weak.Make((*T)(p))
	return func() io.Closer {
		if v := w.Value(); v != nil {
			return P(v)
		}
		return nil
	}
}

// add tracks c; after closeAll it closes c at once.
func (s *sockets) add(c io.Closer) {
	var live func() io.Closer
	switch c := c.(type) {
	case *net.TCPConn:
		live = weakly(c)
	case *net.UDPConn:
		live = weakly(c)
	case *net.TCPListener:
		live = weakly(c)
	default:
		live = func() io.Closer { return c }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	if len(s.open) >= s.prune {
		kept := s.open[:0]
		for _, f := range s.open {
			if f() != nil {
				kept = append(kept, f)
			}
		}
		clear(s.open[len(kept):])
		s.open = kept
		s.prune = max(64, 2*len(kept))
	}
	s.open = append(s.open, live)
}

// closeAll closes every live socket, and every one added later.
func (s *sockets) closeAll() {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, f := range open {
		if c := f(); c != nil {
			c.Close()
		}
	}
}
