package sidecar

import (
	"encoding/json"
	"net/http"
	"time"

	"muxlab/roundtrip"
)

// Stats is the sidecar's ground truth.
type Stats struct {
	// ConnectionsIn counts app connections accepted; ConnectionsInOpen and
	// ConnectionsInPeak are open now and at most at once.
	ConnectionsIn     int64 `json:"connections_in"`
	ConnectionsInOpen int64 `json:"connections_in_open"`
	ConnectionsInPeak int64 `json:"connections_in_peak"`
	// Requests counts app requests (not /.sidecar/stats); BadGateway those
	// answered 502 because the upstream failed; TooLarge those answered
	// 413; Cancelled those whose app went away.
	Requests   int64 `json:"requests"`
	BadGateway int64 `json:"bad_gateway"`
	TooLarge   int64 `json:"too_large"`
	Cancelled  int64 `json:"cancelled"`
	// BadRequest counts requests answered 400 for the app's fault (a
	// malformed body); SlowBody those answered 408 because their body came
	// too slowly; Unavailable those answered 503 because no stream came
	// free in time; MethodRefused those answered 405 (CONNECT, TRACE).
	BadRequest    int64 `json:"bad_request"`
	SlowBody      int64 `json:"slow_body"`
	Unavailable   int64 `json:"unavailable"`
	MethodRefused int64 `json:"method_refused"`
	// InFlightPeak is the most app requests in flight at once.
	InFlightPeak int64 `json:"in_flight_peak"`
	// Upstream is the upstream client's own count: its dials (one, unless
	// the connection broke: Reconnects), streams in flight at peak.
	Upstream roundtrip.Stats `json:"upstream"`
	// AddedP50MS and AddedP99MS are the latency the sidecar added per
	// request, milliseconds (see Sidecar.record).
	AddedP50MS float64 `json:"added_p50_ms"`
	AddedP99MS float64 `json:"added_p99_ms"`
	AddedCount int64   `json:"added_count"`
}

// Stats returns the sidecar's counts now.
func (s *Sidecar) Stats() Stats {
	st := Stats{
		ConnectionsIn: s.acceptedN.Load(),
		Requests:      s.requests.Load(), BadGateway: s.bad.Load(), TooLarge: s.tooLarge.Load(), Cancelled: s.cancelled.Load(),
		BadRequest: s.badReq.Load(), SlowBody: s.slowBody.Load(), Unavailable: s.busy.Load(), MethodRefused: s.refused.Load(),
		Upstream: s.opts.Upstream.Stats(),
	}
	st.ConnectionsInOpen, st.ConnectionsInPeak = s.connsIn.Load()
	_, st.InFlightPeak = s.inFlight.Load()
	s.mu.Lock()
	st.AddedCount = s.added.TotalCount()
	if st.AddedCount > 0 {
		st.AddedP50MS = float64(s.added.ValueAtQuantile(50)) * float64(time.Microsecond) / float64(time.Millisecond)
		st.AddedP99MS = float64(s.added.ValueAtQuantile(99)) * float64(time.Microsecond) / float64(time.Millisecond)
	}
	s.mu.Unlock()
	return st
}

func writeStats(w http.ResponseWriter, st Stats) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}
