package bench

import (
	"errors"
	"net/http"
	"sync"

	"muxlab/roundtrip"
)

// perOrigin is a contender's client for a page of several origins, as a
// browser keeps one: a client of its own (six connections, or one) for
// each origin, chosen by the request's Host, all made by one builder.
type perOrigin struct {
	build func() (Client, error)

	mu      sync.Mutex // guards the following
	clients map[string]Client
	index   map[string]uint64 // the origin's number, from 1, in the order first asked
	order   []string
}

// OriginConn is how a page of several origins numbers its connections:
// origin k's (from 1) connection c is k*OriginConn + c, so that the
// waterfall tells the origins apart.
const OriginConn = 1000

func newPerOrigin(build func() (Client, error)) *perOrigin {
	return &perOrigin{build: build, clients: map[string]Client{}, index: map[string]uint64{}}
}

func (p *perOrigin) client(host string) (Client, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[host]; c != nil {
		return c, p.index[host], nil
	}
	c, err := p.build()
	if err != nil {
		return nil, 0, err
	}
	p.clients[host] = c
	p.order = append(p.order, host)
	p.index[host] = uint64(len(p.order))
	return c, p.index[host], nil
}

// Do sends req on its origin's client.
func (p *perOrigin) Do(req *http.Request, info *roundtrip.Info) (*http.Response, error) {
	c, k, err := p.client(req.Host)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req, info)
	if info != nil && info.Conn != 0 {
		info.Conn += k * OriginConn
	}
	return resp, err
}

// Stats adds up the origins' clients: counts summed, peaks the largest.
func (p *perOrigin) Stats() roundtrip.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st roundtrip.Stats
	for _, host := range p.order {
		o := p.clients[host].Stats()
		addStats(&st, o, true) // the origins' clients run at once
		for _, pc := range o.PerConn {
			pc.Conn += p.index[host] * OriginConn
			st.PerConn = append(st.PerConn, pc)
		}
	}
	return st
}

// Close closes every origin's client.
func (p *perOrigin) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
