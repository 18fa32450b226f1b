package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"muxlab/h1pool"
	"muxlab/h2client"
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
	Requests            int64            `json:"requests"`
	PeakInFlightPerConn int64            `json:"peak_in_flight_per_conn"`
	Protos              map[string]int64 `json:"protos"`
}

// conns finds the listener at addr (or, failing that, named name) and
// returns its counts.
func (s ServerSnapshot) conns(name, addr string) *results.ServerConns {
	found, ok := "", false
	for n, l := range s {
		if l.Addr == addr {
			found, ok = n, true
			break
		}
	}
	if !ok {
		if _, ok = s[name]; !ok {
			return nil
		}
		found = name
	}
	l := s[found]
	return &results.ServerConns{Listener: found, ConnectionsAccepted: l.ConnectionsAccepted,
		Requests: l.Requests, PeakInFlightPerConn: l.PeakInFlightPerConn, Protos: l.Protos}
}

// TruthFuncs is a GroundTruth made of two functions, for a server in the
// same process.
type TruthFuncs struct {
	ResetFunc    func()
	SnapshotFunc func() ServerSnapshot
}

// Reset calls ResetFunc.
func (t TruthFuncs) Reset(context.Context, string) error { t.ResetFunc(); return nil }

// Snapshot calls SnapshotFunc.
func (t TruthFuncs) Snapshot(context.Context, string) (ServerSnapshot, error) {
	return t.SnapshotFunc(), nil
}

// remoteTruth asks a mux server over HTTP: POST /stats/reset and GET /stats,
// on a kept-alive connection to the listener not being measured.
type remoteTruth struct {
	h1, h2c  Client
	h1Base   string
	h2cBase  string
	sameAddr bool
}

// unavailableTruth is used when the server has no /stats: every turn then
// lacks the server's counts.
type unavailableTruth struct{ err error }

func (u unavailableTruth) Reset(context.Context, string) error { return u.err }
func (u unavailableTruth) Snapshot(context.Context, string) (ServerSnapshot, error) {
	return nil, u.err
}

// probeRemoteTruth tries GET /stats on the server and returns the truth to
// use and a note saying where it comes from.
func probeRemoteTruth(ctx context.Context, opts Options, a addrs) (GroundTruth, string) {
	if a.h1 == "" || a.h2c == "" {
		err := errors.New("asking the server needs both its listeners")
		return unavailableTruth{err}, "unavailable: " + err.Error()
	}
	h1, err1 := h1pool.New(h1pool.Options{Addr: a.h1, Conns: 1, DialTimeout: opts.DialTimeout})
	h2c, err2 := h2client.New(h2client.Options{Addr: a.h2c, DialTimeout: opts.DialTimeout})
	if err := errors.Join(err1, err2); err != nil {
		return unavailableTruth{err}, "unavailable: " + err.Error()
	}
	t := &remoteTruth{h1: h1, h2c: h2c, h1Base: opts.H1URL, h2cBase: opts.H2CURL, sameAddr: a.h1 == a.h2c}
	if _, err := t.Snapshot(ctx, "h2c"); err != nil {
		t.Close()
		return unavailableTruth{err}, "unavailable: " + err.Error()
	}
	if _, err := t.Snapshot(ctx, "h1"); err != nil {
		t.Close()
		return unavailableTruth{err}, "unavailable: " + err.Error()
	}
	note := "GET /stats"
	if t.sameAddr {
		note += " (one listener for both: its counts include muxlab's own /stats requests)"
	}
	return t, note
}

// Close closes the connections the truth asks on.
func (t *remoteTruth) Close() {
	t.h1.Close()
	t.h2c.Close()
}

// via returns the client and base URL to ask on while listener is measured.
func (t *remoteTruth) via(listener string) (Client, string) {
	if listener == "h1" {
		return t.h2c, t.h2cBase
	}
	return t.h1, t.h1Base
}

func (t *remoteTruth) Reset(ctx context.Context, listener string) error {
	c, base := t.via(listener)
	_, err := t.call(ctx, c, http.MethodPost, base+"/stats/reset")
	return err
}

func (t *remoteTruth) Snapshot(ctx context.Context, listener string) (ServerSnapshot, error) {
	c, base := t.via(listener)
	body, err := t.call(ctx, c, http.MethodGet, base+"/stats")
	if err != nil {
		return nil, err
	}
	var st struct {
		Listeners ServerSnapshot `json:"listeners"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Listeners == nil {
		return nil, fmt.Errorf("bench: %s/stats is not a mux server's /stats", base)
	}
	return st.Listeners, nil
}

func (t *remoteTruth) call(ctx context.Context, c Client, method, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
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
