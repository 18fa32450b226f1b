package mux

import (
	"context"
	"fmt"
	"strconv"
)

// External is a listener the server counts as its own but does not serve:
// HTTP/3's, which mux/h3 serves with quic-go, so that the server's core
// stays free of it. Its connections and requests appear in Stats and
// /stats under its name like any other listener's, and the handler answers
// its requests with the same headers and bounds.
type External struct {
	s       *Server
	ls      *listenerStats
	stop    func(ctx context.Context) error
	stopped bool // guarded by s.mu
}

// AddExternal registers a listener named name, bound at addr, served over
// TLS when tls is set. stop stops it (gracefully until ctx is done) when the
// server shuts down or closes.
func (s *Server) AddExternal(name, addr string, tls bool, stop func(ctx context.Context) error) (*External, error) {
	for _, ls := range s.allStats() {
		if ls.name == name {
			return nil, fmt.Errorf("mux: a listener named %q is already served", name)
		}
	}
	e := &External{s: s, ls: &listenerStats{name: name, addr: addr, tls: tls, hs: new(handshakeCounters)}, stop: stop}
	s.mu.Lock()
	s.externals = append(s.externals, e)
	s.mu.Unlock()
	return e, nil
}

// takeExternals returns the external listeners not yet stopped and marks
// them stopped, so that each is stopped once; their counts stay.
func (s *Server) takeExternals() []*External {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*External
	for _, e := range s.externals {
		if !e.stopped {
			e.stopped = true
			out = append(out, e)
		}
	}
	return out
}

// Opened counts a new connection, known by key (a *quic.Conn), from remote,
// and returns ctx carrying its record: requests served with that context
// are counted on it.
func (e *External) Opened(ctx context.Context, key any, remote string) context.Context {
	t := e.s.tr
	id := t.nextID.Add(1)
	rec := &connRecord{id: id, ls: e.ls, remote: remote, idHeader: []string{strconv.FormatUint(id, 10)}}
	rec.open.Store(true)
	e.ls.accepted.Add(1)
	e.ls.open.Add(1)
	t.mu.Lock()
	t.open[key] = rec
	t.mu.Unlock()
	return context.WithValue(ctx, connKey{}, rec)
}

// Closed closes the record of the connection known by key.
func (e *External) Closed(key any) { e.s.tr.closeConn(key) }

// Handshake starts a handshake, counting it as an attempt of its own if it
// carried a valid token (a validated address, which Attempt did not see),
// and reports whether it may go on: at most max handshakes are in progress
// at once (max <= 0: no bound); one beyond is counted refused. A handshake
// that goes on must end with HandshakeDone.
func (e *External) Handshake(validated bool, max int64) bool {
	hs := e.ls.hs
	if validated {
		hs.attempts.Add(1)
		hs.validated.Add(1)
	}
	if n := hs.inProgress.Add(1); max > 0 && n > max {
		hs.inProgress.Add(-1)
		hs.refused.Add(1)
		return false
	}
	return true
}

// HandshakeDone counts a handshake let through by Handshake as finished,
// completed or failed.
func (e *External) HandshakeDone(completed bool) {
	hs := e.ls.hs
	hs.inProgress.Add(-1)
	if completed {
		hs.completed.Add(1)
	} else {
		hs.failed.Add(1)
	}
}

// Attempt counts an Initial from an address not yet validated, answered
// with a Retry if retry is set.
func (e *External) Attempt(retry bool) {
	e.ls.hs.attempts.Add(1)
	if retry {
		e.ls.hs.retries.Add(1)
	}
}

// HandshakesInProgress is how many handshakes are in progress now.
func (e *External) HandshakesInProgress() int64 { return e.ls.hs.inProgress.Load() }
