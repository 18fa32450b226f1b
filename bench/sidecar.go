package bench

import (
	"errors"
	"net"
	"net/http"
	"time"

	"muxlab/h1pool"
	"muxlab/results"
	"muxlab/roundtrip"
	"muxlab/sidecar"
)

// sidecarClient is an unchanged HTTP/1.1 app (an h1pool of the scenario's
// app connections) talking to a sidecar in this process on loopback, whose
// one upstream connection crosses to the target.
type sidecarClient struct {
	*h1pool.Pool
	sc *sidecar.Sidecar
}

// newSidecar returns the builder of a sidecar contender whose upstream is
// made by up from the target.
func newSidecar(up func(t Target, dialTimeout time.Duration) (sidecar.Upstream, error)) func(Target, int, time.Duration) (Client, error) {
	return func(t Target, conns int, dialTimeout time.Duration) (Client, error) {
		u, err := up(t, dialTimeout)
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
		go sc.Serve(ln)
		pool, err := h1pool.New(h1pool.Options{Addr: ln.Addr().String(), Conns: conns, DialTimeout: dialTimeout})
		if err != nil {
			sc.Close()
			return nil, err
		}
		return &sidecarClient{Pool: pool, sc: sc}, nil
	}
}

// Do sends req to the sidecar; a 502 is the sidecar saying its upstream
// failed, which is the request's failure.
func (c *sidecarClient) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	return c.Pool.Do(req, info)
}

// Close closes the app's connections, then the sidecar and its upstream.
func (c *sidecarClient) Close() error {
	return errors.Join(c.Pool.Close(), c.sc.Close())
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
