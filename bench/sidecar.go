package bench

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"muxlab/balance"
	"muxlab/h1pool"
	"muxlab/h2client"
	"muxlab/h3client"
	"muxlab/results"
	"muxlab/roundtrip"
	"muxlab/sidecar"
)

// sidecarClient is an unchanged HTTP/1.1 app (an h1pool of the scenario's
// app connections) talking to a sidecar in this process on loopback, whose
// one upstream connection crosses to the target.
type sidecarClient struct {
	*h1pool.Pool
	sc     *sidecar.Sidecar
	served chan error // Serve's end: nil after Close, an error if it failed
	once   sync.Once
	err    error // Close's
}

// newSidecar returns the builder of a sidecar contender, whose upstream
// is made by Upstream from the target: HTTP/3 if h3 is set, HTTP/2 otherwise.
func newSidecar(h3 bool) func(Target, int, time.Duration, *results.Scenario) (Client, error) {
	return func(t Target, conns int, dialTimeout time.Duration, _ *results.Scenario) (Client, error) {
		var u sidecar.Upstream
		var err error
		if len(t.Upstreams) > 0 && !h3 {
			u, err = spreadUpstream(t, dialTimeout)
		} else {
			u, err = Upstream(t, h3, dialTimeout)
		}
		if err != nil {
			return nil, err
		}
		sc, err := sidecar.New(sidecar.Options{Upstream: u, Base: t.URL})
		if err != nil {
			u.Close()
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			sc.Close()
			return nil, err
		}
		served := make(chan error, 1)
		go func() { served <- sc.Serve(ln) }()
		pool, err := h1pool.New(h1pool.Options{Addr: ln.Addr().String(), Conns: conns, DialTimeout: dialTimeout})
		if err != nil {
			sc.Close()
			return nil, err
		}
		return &sidecarClient{Pool: pool, sc: sc, served: served}, nil
	}
}

// Do sends req to the sidecar; a 502 is the sidecar saying its upstream
// failed, which is the request's failure.
func (c *sidecarClient) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	return c.Pool.Do(req, info)
}

// Close closes the app's connections, then the sidecar and its upstream,
// and says if the sidecar had stopped serving with an error.
func (c *sidecarClient) Close() error {
	c.once.Do(func() { c.err = errors.Join(c.Pool.Close(), c.sc.Close(), <-c.served) })
	return c.err
}

// spreadUpstream is a sidecar's upstream over every backend of t (behind a
// balancing front, the sidecar balances itself, as a service mesh's does):
// one HTTP/2 connection to each, each request to the next (balance.Spread).
func spreadUpstream(t Target, dialTimeout time.Duration) (sidecar.Upstream, error) {
	var ups []balance.Named
	for _, b := range t.Upstreams {
		c, err := h2client.New(h2client.Options{Addr: b.Addr, DialTimeout: dialTimeout})
		if err != nil {
			for _, u := range ups {
				u.Upstream.Close()
			}
			return nil, err
		}
		ups = append(ups, balance.Named{Name: b.Name, Upstream: c})
	}
	return balance.NewSpread(ups, false)
}

// Upstream makes a sidecar's one multiplexed connection to t: HTTP/3 over
// QUIC if h3 is set, HTTP/2 otherwise (h2c on an http:// target, h2 through
// ALPN on an https:// one). The sidecar contenders and muxlab sidecar are
// built with it.
func Upstream(t Target, h3 bool, dialTimeout time.Duration) (sidecar.Upstream, error) {
	if h3 {
		return h3client.New(h3client.Options{Addr: t.Addr, TLSConfig: t.TLS, ListenPacket: t.ListenPacket, DialTimeout: dialTimeout})
	}
	return h2client.New(h2client.Options{Addr: t.Addr, Dial: t.tlsDial("h2"), DialTimeout: dialTimeout})
}

// sidecarConns is the sidecar's counts for the result.
func sidecarConns(c Client) *results.SidecarConns {
	s, ok := c.(*sidecarClient)
	if !ok {
		return nil
	}
	st := s.sc.Stats()
	return &results.SidecarConns{ConnectionsIn: st.ConnectionsIn, UpstreamDials: st.Upstream.Dials,
		UpstreamReconnects: st.Upstream.Reconnects, UpstreamPeakStreams: st.Upstream.PeakStreams,
		BadGateway: st.BadGateway, AddedP50MS: st.AddedP50MS, AddedP99MS: st.AddedP99MS}
}
