package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"muxlab/results"
)

// GroundTruth is the server's own count of what arrived, read around each
// turn: Reset before, Snapshot after. listener names the listener being
// measured ("h1" or "h2c"), so that an implementation that asks the server
// over HTTP can ask on the other one and leave the counts it reads alone.
type GroundTruth interface {
	Reset(ctx context.Context, listener string) error
	Snapshot(ctx context.Context, listener string) (ServerSnapshot, error)
}

// ServerSnapshot is the server's counts by listener name, as the mux
// server's /stats reports them.
type ServerSnapshot map[string]ListenerCounts

// ListenerCounts is one listener's counts; the JSON keys are /stats's.
type ListenerCounts struct {
	Addr                string           `json:"addr"`
	ConnectionsAccepted int64            `json:"connections_accepted"`
	ConnectionsOpen     int64            `json:"connections_open"`
	ConnectionsIdle     int64            `json:"connections_idle"`
	Requests            int64            `json:"requests"`
	PeakInFlightPerConn int64            `json:"peak_in_flight_per_conn"`
	Protos              map[string]int64 `json:"protos"`
	// Resent and ResentWait are what an HTTP/3 listener that records its
	// streams' losses sent again of its response data, and the waits from
	// first sending added up (the embedded server's, over a lossy link).
	Resent     int64         `json:"-"`
	ResentWait time.Duration `json:"-"`
}

// match finds the listener of t among the server's and returns its counts,
// saying in Match how it was found when not by both name and address.
func (s ServerSnapshot) match(t Target) *results.ServerConns {
	var byAddr []string
	for _, n := range slices.Sorted(maps.Keys(s)) {
		if s[n].Addr == t.Addr {
			byAddr = append(byAddr, n)
		}
	}
	name, how := t.Listener, ""
	l, byName := s[t.Listener]
	switch {
	case byName && l.Addr == t.Addr:
	case len(byAddr) == 1:
		name, how = byAddr[0], fmt.Sprintf("matched by address %s only (muxlab calls that listener %s)", t.Addr, t.Listener)
	case len(byAddr) > 1:
		name, how = byAddr[0], fmt.Sprintf("ambiguous: the server has %d listeners at %s (%s)", len(byAddr), t.Addr, strings.Join(byAddr, ", "))
	case byName:
		how = fmt.Sprintf("matched by name only: the server has it at %s, muxlab dialed %s", l.Addr, t.Addr)
	default:
		return nil
	}
	l = s[name]
	sc := &results.ServerConns{Listener: name, Match: how, ConnectionsAccepted: l.ConnectionsAccepted,
		ConnectionsIdle: l.ConnectionsIdle, Requests: l.Requests, PeakInFlightPerConn: l.PeakInFlightPerConn, Protos: l.Protos,
		QUICResent: l.Resent}
	if l.Resent > 0 {
		sc.QUICResentWaitMS = float64(l.ResentWait) / float64(l.Resent) / float64(time.Millisecond)
	}
	return sc
}

// TruthFuncs is a GroundTruth made of two functions, for a server in the
// same process.
type TruthFuncs struct {
	ResetFunc    func()
	SnapshotFunc func() ServerSnapshot
	// StreamLossFunc, if set, returns what QUIC's loss recovery cost one
	// request stream of the HTTP/3 connection from client, as the server
	// saw it (see h3.Listener.StreamLoss).
	StreamLossFunc func(client netip.AddrPort, stream uint64) (time.Duration, bool)
	// BackendsFunc, if set, returns each backend's own count of requests,
	// behind a balancing front (Scenario.Backends).
	BackendsFunc func() []results.BackendFigures
	// MidwayFunc, if set, is called halfway through each turn of a
	// scenario that changes its backends mid-turn (Scenario.AddBackend,
	// StopBackend).
	MidwayFunc func()
}

// Midway calls MidwayFunc, if set.
func (t TruthFuncs) Midway() {
	if t.MidwayFunc != nil {
		t.MidwayFunc()
	}
}

// midwayTruth is a GroundTruth that changes the backends mid-turn.
type midwayTruth interface{ Midway() }

// Backends calls BackendsFunc, if set.
func (t TruthFuncs) Backends() []results.BackendFigures {
	if t.BackendsFunc == nil {
		return nil
	}
	return t.BackendsFunc()
}

// backendTruth is a GroundTruth that knows each backend's own count.
type backendTruth interface {
	Backends() []results.BackendFigures
}

// StreamLoss calls StreamLossFunc, if set.
func (t TruthFuncs) StreamLoss(client netip.AddrPort, stream uint64) (time.Duration, bool) {
	if t.StreamLossFunc == nil {
		return 0, false
	}
	return t.StreamLossFunc(client, stream)
}

// streamLossTruth is a GroundTruth that also knows what loss cost each
// HTTP/3 stream (the embedded server's).
type streamLossTruth interface {
	StreamLoss(client netip.AddrPort, stream uint64) (time.Duration, bool)
}

// Reset calls ResetFunc.
func (t TruthFuncs) Reset(context.Context, string) error { t.ResetFunc(); return nil }

// Snapshot calls SnapshotFunc.
func (t TruthFuncs) Snapshot(context.Context, string) (ServerSnapshot, error) {
	return t.SnapshotFunc(), nil
}

// remoteTruth asks a mux server over HTTP: POST /stats/reset and GET /stats,
// on a kept-alive connection to a listener other than the one measured, so
// that the asking is not counted.
type remoteTruth struct {
	askers  []asker       // one per listener of the run
	timeout time.Duration // per question: a server that stops answering must not hold the run
}

// asker is a client of one listener, on its own protocol.
type asker struct {
	listener, base string
	client         Client
}

// unavailableTruth is used when the server has no /stats: every turn then
// lacks the server's counts.
type unavailableTruth struct{ err error }

func (u unavailableTruth) Reset(context.Context, string) error { return u.err }
func (u unavailableTruth) Snapshot(context.Context, string) (ServerSnapshot, error) {
	return nil, u.err
}

// probeRemoteTruth tries GET /stats on the server and returns the truth to
// use, a note saying where it comes from, and what closes it.
func probeRemoteTruth(ctx context.Context, opts *Options, cs []*contender) (GroundTruth, string, func()) {
	t := &remoteTruth{timeout: opts.Timeout}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.Listener] {
			continue
		}
		seen[c.Listener] = true
		client, err := c.probe(c.target, opts.DialTimeout)
		if err != nil {
			t.Close()
			return unavailableTruth{err}, "unavailable: " + err.Error(), func() {}
		}
		t.askers = append(t.askers, asker{listener: c.Listener, base: c.target.URL, client: client})
	}
	for _, a := range t.askers {
		if _, err := t.Snapshot(ctx, a.listener); err != nil {
			t.Close()
			return unavailableTruth{err}, "unavailable: " + err.Error(), func() {}
		}
	}
	note := "GET /stats"
	if len(t.askers) == 1 {
		note += " (one listener: its counts include muxlab's own /stats requests)"
	}
	return t, note, t.Close
}

// Close closes the connections the truth asks on.
func (t *remoteTruth) Close() {
	for _, a := range t.askers {
		a.client.Close()
	}
}

// via returns the asker to use while listener is measured: another
// listener's if there is one.
func (t *remoteTruth) via(listener string) asker {
	for _, a := range t.askers {
		if a.listener != listener {
			return a
		}
	}
	return t.askers[0]
}

func (t *remoteTruth) Reset(ctx context.Context, listener string) error {
	a := t.via(listener)
	_, err := t.call(ctx, a.client, http.MethodPost, a.base+"/stats/reset")
	return err
}

// headerReset is mux.HeaderReset, which a reset must carry.
const headerReset = "Muxlab-Reset"

func (t *remoteTruth) Snapshot(ctx context.Context, listener string) (ServerSnapshot, error) {
	a := t.via(listener)
	body, err := t.call(ctx, a.client, http.MethodGet, a.base+"/stats")
	if err != nil {
		return nil, err
	}
	var st struct {
		Listeners ServerSnapshot `json:"listeners"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Listeners == nil {
		return nil, fmt.Errorf("bench: %s/stats is not a mux server's /stats", a.base)
	}
	return st.Listeners, nil
}
func (t *remoteTruth) call(ctx context.Context, c Client, method, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set(headerReset, "yes")
	}
	resp, err := c.Do(req, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: %s %s: %s", method, url, resp.Status)
	}
	return body, nil
}

// frontTruth reads a balancing front's own counts of its backends (GET on
// its stats address, balance.Front.Handler's JSON): the requests each
// backend counted during the turn, as the difference between the turn's
// start and end. The front answers no /stats of a server's, so the
// connection counts are not asked.
type frontTruth struct {
	url     string
	client  *http.Client
	mu      sync.Mutex
	before  map[string]int64
	lastErr error
}

// frontCounts is what frontTruth reads of the front's stats.
type frontCounts struct {
	Backends []struct {
		Name string `json:"name"`
		Own  *struct {
			Requests int64 `json:"requests"`
		} `json:"own"`
	} `json:"backends"`
}

// newFrontTruth returns the truth of a front whose stats are at url
// (http://host:port/stats).
func newFrontTruth(url string, timeout time.Duration) *frontTruth {
	return &frontTruth{url: url, client: &http.Client{Timeout: timeout}}
}

func (f *frontTruth) read(ctx context.Context) (map[string]int64, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: the front's stats at %s: %w", f.url, err)
	}
	defer resp.Body.Close()
	var fc frontCounts
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&fc); err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("bench: the front's stats at %s: status %d, not a front's counts (%v)", f.url, resp.StatusCode, err)
	}
	counts := map[string]int64{}
	var names []string
	for _, b := range fc.Backends {
		if b.Own != nil {
			counts[b.Name] = b.Own.Requests
			names = append(names, b.Name)
		}
	}
	return counts, names, nil
}

// Reset reads the counts at the turn's start.
func (f *frontTruth) Reset(ctx context.Context, _ string) error {
	before, _, err := f.read(ctx)
	f.mu.Lock()
	f.before, f.lastErr = before, err
	f.mu.Unlock()
	return nil // the turn goes on; Backends says nothing if the front did not answer
}

// Snapshot: a front has no server's counts of connections.
func (f *frontTruth) Snapshot(context.Context, string) (ServerSnapshot, error) {
	return nil, errNotAsked
}

// Backends is each backend's own count of the turn's requests.
func (f *frontTruth) Backends() []results.BackendFigures {
	ctx, cancel := context.WithTimeout(context.Background(), f.client.Timeout)
	defer cancel()
	after, names, err := f.read(ctx)
	f.mu.Lock()
	before, berr := f.before, f.lastErr
	f.mu.Unlock()
	if err != nil || berr != nil {
		return nil
	}
	var out []results.BackendFigures
	for _, n := range names {
		out = append(out, results.BackendFigures{Name: n, Requests: after[n] - before[n], Counted: true})
	}
	return out
}
