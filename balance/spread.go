package balance

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"muxlab/roundtrip"
)

// Upstream is one backend's connection as Spread uses it: h2client.Client
// and h3client.Client satisfy it (and sidecar.Upstream is the same).
type Upstream interface {
	Do(req *http.Request, info *roundtrip.Info) (*http.Response, error)
	Stats() roundtrip.Stats
	Close() error
}

// StickyCookie is the cookie a sticky Spread sets: the name of the upstream
// that served the client first.
const StickyCookie = "muxlab-backend"

// DownFor is how long an upstream whose request failed at the transport (a
// dial or handshake that failed, a connection refused or lost) is left out
// of the spread.
const DownFor = time.Second

// Spread is an Upstream over several: each request goes to the next
// upstream in turn (round robin), or with Sticky to the one its
// StickyCookie names, the first response setting the cookie. An upstream
// that cannot be reached is left out for DownFor; its requests fail (the
// proxy answers 502) and are counted. It is layer-7 balancing: requests, not
// connections, are spread.
type Spread struct {
	sticky bool
	next   atomic.Uint64

	mu  sync.RWMutex // guards ups
	ups []*spreadUp
}

// spreadUp is one upstream and its counts.
type spreadUp struct {
	name             string
	up               Upstream
	requests, failed atomic.Int64
	inFlight         roundtrip.Gauge
	downUntil        atomic.Int64 // unix nanoseconds; zero: up
	cookie           string       // Set-Cookie value naming it
}

// Named is an upstream and its name.
type Named struct {
	Name     string
	Upstream Upstream
}

// NewSpread returns a Spread over ups, at least one, with distinct names.
func NewSpread(ups []Named, sticky bool) (*Spread, error) {
	if len(ups) == 0 {
		return nil, errors.New("balance: a spread needs at least one upstream")
	}
	s := &Spread{sticky: sticky}
	for _, u := range ups {
		if err := s.Add(u); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add puts another upstream in the spread, from the next request on.
func (s *Spread) Add(u Named) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.ups {
		if x.name == u.Name {
			return fmt.Errorf("balance: upstream %q twice", u.Name)
		}
	}
	if u.Name == "" || u.Upstream == nil {
		return errors.New("balance: an upstream needs a name and a client")
	}
	s.ups = append(s.ups, &spreadUp{name: u.Name, up: u.Upstream,
		cookie: (&http.Cookie{Name: StickyCookie, Value: u.Name, Path: "/", HttpOnly: true}).String()})
	return nil
}

// Remove takes upstream name out of the spread and closes it.
func (s *Spread) Remove(name string) error {
	s.mu.Lock()
	i := slices.IndexFunc(s.ups, func(u *spreadUp) bool { return u.name == name })
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("balance: no upstream %q", name)
	}
	u := s.ups[i]
	s.ups = slices.Delete(s.ups, i, i+1)
	s.mu.Unlock()
	return u.up.Close()
}

// pick chooses the upstream for req: the cookie's when sticky and it is
// up, else the next one up in turn (any, when none is up). It reports
// whether the response must set the cookie.
func (s *Spread) pick(req *http.Request) (*spreadUp, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now().UnixNano()
	if s.sticky {
		if c, err := req.Cookie(StickyCookie); err == nil {
			for _, u := range s.ups {
				if u.name == c.Value && u.downUntil.Load() < now {
					return u, false
				}
			}
		}
	}
	n := uint64(len(s.ups))
	if n == 0 {
		return nil, false
	}
	start := s.next.Add(1) - 1
	for i := range n {
		if u := s.ups[(start+i)%n]; u.downUntil.Load() < now {
			return u, s.sticky
		}
	}
	return s.ups[start%n], s.sticky
}

// Do sends req to the upstream its turn or its cookie chooses.
func (s *Spread) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	u, setCookie := s.pick(req)
	if u == nil {
		return nil, errors.New("balance: no upstream left")
	}
	u.requests.Add(1)
	u.inFlight.Inc()
	resp, err := u.up.Do(req, info)
	if err != nil {
		u.inFlight.Dec()
		u.failed.Add(1)
		// Passive health checking: a request that failed at the transport,
		// not by its own cancellation or a reset of its stream alone, leaves
		// the upstream out for DownFor.
		if req.Context().Err() == nil && !errors.Is(err, roundtrip.ErrStreamReset) && !errors.Is(err, roundtrip.ErrResponseTooLarge) {
			u.downUntil.Store(time.Now().Add(DownFor).UnixNano())
		}
		return nil, fmt.Errorf("balance: backend %s: %w", u.name, err)
	}
	if setCookie {
		resp.Header.Add("Set-Cookie", u.cookie)
	}
	resp.Body = &spreadBody{ReadCloser: resp.Body, u: u}
	return resp, nil
}

// spreadBody ends the request's count in flight once.
type spreadBody struct {
	io.ReadCloser
	u    *spreadUp
	done atomic.Bool
}

func (b *spreadBody) Close() error {
	if !b.done.Swap(true) {
		b.u.inFlight.Dec()
	}
	return b.ReadCloser.Close()
}

// Stats adds up the upstreams' own counts.
func (s *Spread) Stats() roundtrip.Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var st roundtrip.Stats
	for _, u := range s.ups {
		us := u.up.Stats()
		st.Dials += us.Dials
		st.Reconnects += us.Reconnects
		st.ConnsOpen += us.ConnsOpen
		st.ConnsPeak += us.ConnsPeak
		st.Requests += us.Requests
		st.Failed += us.Failed
		st.PeakStreams = max(st.PeakStreams, us.PeakStreams)
		st.PerConn = append(st.PerConn, us.PerConn...)
	}
	return st
}

// UpstreamStats is one upstream's counts in a Spread.
type UpstreamStats struct {
	Name     string `json:"name"`
	Requests int64  `json:"requests"`
	Failed   int64  `json:"failed"`
	InFlight int64  `json:"in_flight"`
	Dials    int64  `json:"dials"`
	Open     int64  `json:"open"`
	Down     bool   `json:"down"`
}

// PerUpstream returns each upstream's counts, in the order they were added.
func (s *Spread) PerUpstream() []UpstreamStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now().UnixNano()
	out := make([]UpstreamStats, 0, len(s.ups))
	for _, u := range s.ups {
		in, _ := u.inFlight.Load()
		us := u.up.Stats()
		out = append(out, UpstreamStats{Name: u.name, Requests: u.requests.Load(), Failed: u.failed.Load(), InFlight: in,
			Dials: us.Dials, Open: us.ConnsOpen, Down: u.downUntil.Load() >= now})
	}
	return out
}

// Close closes every upstream.
func (s *Spread) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, u := range s.ups {
		errs = append(errs, u.up.Close())
	}
	return errors.Join(errs...)
}

var _ Upstream = (*Spread)(nil)
