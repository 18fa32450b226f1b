// Package sidecar is a local proxy that gives an unchanged HTTP/1.1 app
// multiplexing: it accepts HTTP/1.1 from local apps on any number of
// connections and carries every request upstream as a stream on exactly one
// multiplexed connection (an h2client or h3client), as service meshes'
// sidecars do. It streams bodies both ways, cancels the upstream stream when
// the app goes away, adds Via, and keeps its own ground truth: connections
// in, the upstream connection and its streams, and the latency it adds per
// request.
package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"muxlab/roundtrip"
)

// Upstream is the one multiplexed connection the sidecar sends through:
// h2client.Client and h3client.Client satisfy it.
type Upstream interface {
	Do(req *http.Request, info *roundtrip.Info) (*http.Response, error)
	Stats() roundtrip.Stats
	Close() error
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes      = 64 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultTimeout           = 5 * time.Minute
	// DefaultBodyIdleTimeout bounds each wait for the next bytes of an app's
	// request body, and is the grace before DefaultMinBodyRate applies.
	DefaultBodyIdleTimeout = 10 * time.Second
	// DefaultMinBodyRate is the slowest an app's request body may arrive
	// once its grace is over, in bytes a second: a slow upload holds an
	// upstream stream, which every other app shares.
	DefaultMinBodyRate = 1024
	// DefaultMaxStreams is how many requests the sidecar carries upstream
	// at once (the mux server's stream limit).
	DefaultMaxStreams = 250
	// DefaultMaxUploadStreams is how many of them may be requests whose
	// bodies are still arriving from their apps, so that slow uploads
	// cannot take every stream.
	DefaultMaxUploadStreams = 64
	// DefaultQueueTimeout bounds a request's wait for a stream of the
	// sidecar's; past it the app gets 503.
	DefaultQueueTimeout = 2 * time.Second
	// Via is the pseudonym the sidecar adds to Via.
	Via = "muxlab-sidecar"
	// StatsPath answers the sidecar's own counts.
	StatsPath = "/.sidecar/stats"
)

// Options configures a Sidecar. Zero fields take the defaults in parentheses.
type Options struct {
	// Upstream carries the requests. Required.
	Upstream Upstream
	// Base is the upstream's base URL, "http://127.0.0.1:8081" (h2c) or
	// "https://host:port": each request goes to its path and query there.
	// Required.
	Base string
	// MaxBodyBytes bounds a request body (DefaultMaxBodyBytes, 64 MiB):
	// beyond it the app gets 413.
	MaxBodyBytes int64
	// ReadHeaderTimeout bounds reading a request's headers from an app
	// (10s); IdleTimeout closes an idle app connection (2m); Timeout bounds
	// a whole request upstream (5m).
	ReadHeaderTimeout, IdleTimeout, Timeout time.Duration
	// BodyIdleTimeout bounds each wait for the next bytes of a request body
	// (DefaultBodyIdleTimeout, 10s), and MinBodyRate, in bytes a second, is
	// the slowest a body may arrive on average once BodyIdleTimeout has
	// passed since it started (DefaultMinBodyRate, 1 KiB/s; negative: no
	// minimum). A body that breaks either is answered 408 and counted.
	BodyIdleTimeout time.Duration
	MinBodyRate     int64
	// MaxStreams is how many requests the sidecar carries upstream at once
	// (DefaultMaxStreams, 250), and MaxUploadStreams how many of them may
	// be requests whose bodies are still arriving (DefaultMaxUploadStreams,
	// 64). Each HTTP/1.1 app connection holds at most one. A request that
	// gets no place within QueueTimeout (DefaultQueueTimeout, 2s) is
	// answered 503 and counted.
	MaxStreams, MaxUploadStreams int
	QueueTimeout                 time.Duration
	// AcceptH2C makes the sidecar accept HTTP/2 with prior knowledge (h2c)
	// beside HTTP/1.1 from its clients, as a layer-7 balancer in front of
	// servers must (false: HTTP/1.1 only, as from local apps).
	AcceptH2C bool
}

func (o *Options) normalize() (*url.URL, error) {
	if o.Upstream == nil {
		return nil, errors.New("sidecar: Options.Upstream is nil")
	}
	u, err := url.Parse(o.Base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sidecar: upstream %q is not a base URL like http://127.0.0.1:8081", o.Base)
	}
	o.MaxBodyBytes = orDefault(o.MaxBodyBytes, DefaultMaxBodyBytes)
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.BodyIdleTimeout = orDefault(o.BodyIdleTimeout, DefaultBodyIdleTimeout)
	o.MinBodyRate = orDefault(o.MinBodyRate, DefaultMinBodyRate)
	o.MaxStreams = orDefault(o.MaxStreams, DefaultMaxStreams)
	o.MaxUploadStreams = orDefault(o.MaxUploadStreams, min(DefaultMaxUploadStreams, o.MaxStreams))
	o.QueueTimeout = orDefault(o.QueueTimeout, DefaultQueueTimeout)
	if o.MaxBodyBytes < 0 || o.ReadHeaderTimeout < 0 || o.IdleTimeout < 0 || o.Timeout < 0 ||
		o.BodyIdleTimeout < 0 || o.QueueTimeout < 0 {
		return nil, errors.New("sidecar: negative bound in Options")
	}
	if o.MaxStreams < 1 || o.MaxUploadStreams < 1 || o.MaxUploadStreams > o.MaxStreams {
		return nil, fmt.Errorf("sidecar: MaxStreams %d and MaxUploadStreams %d: want 1 <= MaxUploadStreams <= MaxStreams", o.MaxStreams, o.MaxUploadStreams)
	}
	return u, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Sidecar is the proxy: an http.Handler, and a server for it (Serve).
type Sidecar struct {
	opts Options
	base *url.URL
	srv  *http.Server

	connsIn   roundtrip.Gauge
	acceptedN atomic.Int64
	requests  atomic.Int64
	inFlight  roundtrip.Gauge
	bad       atomic.Int64 // 502: upstream failed
	tooLarge  atomic.Int64 // 413
	cancelled atomic.Int64 // the app went away
	badReq    atomic.Int64 // 400: a malformed request or body
	slowBody  atomic.Int64 // 408: a body too slow
	busy      atomic.Int64 // 503: no stream in time
	refused   atomic.Int64 // 405: a method it does not proxy

	// streams and uploads are the places upstream: a token for each
	// request carried, and one more for each whose body is still arriving.
	streams, uploads chan struct{}

	mu    sync.Mutex // guards added
	added *hdrhistogram.Histogram
}

// New validates opts and returns a sidecar.
func New(opts Options) (*Sidecar, error) {
	base, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	s := &Sidecar{opts: opts, base: base, added: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		streams: make(chan struct{}, opts.MaxStreams), uploads: make(chan struct{}, opts.MaxUploadStreams)}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.connsIn.Inc()
				s.acceptedN.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.connsIn.Dec()
			}
		},
	}
	var p http.Protocols
	p.SetHTTP1(true) // apps speak HTTP/1.1 to it
	p.SetUnencryptedHTTP2(opts.AcceptH2C)
	s.srv.Protocols = &p
	return s, nil
}

// Serve accepts apps' connections on ln until Close.
func (s *Sidecar) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the app connections and the upstream connection.
func (s *Sidecar) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.opts.Upstream.Close())
}

// Shutdown stops accepting and waits for requests in flight until ctx is
// done, then closes the upstream connection.
func (s *Sidecar) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	return errors.Join(err, s.opts.Upstream.Close())
}

// hopHeaders are connection-specific: never forwarded.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func stripHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// ServeHTTP carries one app request upstream.
func (s *Sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath && r.Method == http.MethodGet {
		writeStats(w, s.Stats())
		return
	}
	start := time.Now()
	s.requests.Add(1)
	s.inFlight.Inc()
	defer s.inFlight.Dec()
	if code, msg := refuseMethod(r.Method); code != 0 {
		s.refused.Add(1)
		w.Header().Set("Allow", allowed)
		http.Error(w, msg, code)
		return
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		s.tooLarge.Add(1)
		http.Error(w, fmt.Sprintf("sidecar: request body of %d bytes is larger than the bound of %d", r.ContentLength, s.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	var body *appBody
	release, err := s.admit(ctx, r.ContentLength != 0)
	if err != nil {
		if r.Context().Err() != nil {
			s.cancelled.Add(1)
			return
		}
		s.busy.Add(1)
		http.Error(w, "sidecar: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer release.all()
	u := *s.base
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	var in io.Reader = http.NoBody
	if r.ContentLength != 0 {
		body = s.newAppBody(w, r, release)
		in = body
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), in)
	if err != nil {
		s.badReq.Add(1)
		http.Error(w, "sidecar: "+err.Error(), http.StatusBadRequest)
		return
	}
	out.ContentLength = r.ContentLength
	out.Header = r.Header.Clone()
	stripHop(out.Header)
	out.Header.Add("Via", fmt.Sprintf("%d.%d %s", r.ProtoMajor, r.ProtoMinor, Via))
	var info roundtrip.Info
	resp, err := s.opts.Upstream.Do(out, &info)
	if err != nil {
		s.fail(w, r, body, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	stripHop(h)
	h.Add("Via", fmt.Sprintf("%d.0 %s", resp.ProtoMajor, Via))
	w.WriteHeader(resp.StatusCode)
	if err := copyFlushing(w, resp.Body); err != nil && r.Context().Err() != nil {
		s.cancelled.Add(1)
	}
	s.record(start, &info)
}

// fail answers a request whose upstream round trip failed, by whose fault:
// the app's body (too large, too slow, malformed), the app gone, or the
// upstream.
func (s *Sidecar) fail(w http.ResponseWriter, r *http.Request, body *appBody, err error) {
	var mbe *http.MaxBytesError
	appErr := body.failure(r.Context())
	switch {
	case errors.As(appErr, &mbe), errors.As(err, &mbe):
		s.tooLarge.Add(1)
		http.Error(w, fmt.Sprintf("sidecar: request body larger than the bound of %d bytes", s.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
	case errors.Is(appErr, errSlowBody):
		s.slowBody.Add(1)
		http.Error(w, "sidecar: "+oneLine(appErr), http.StatusRequestTimeout)
	case r.Context().Err() != nil:
		s.cancelled.Add(1) // the app went away: nobody to answer
	case appErr != nil:
		s.badReq.Add(1)
		http.Error(w, "sidecar: malformed request body: "+oneLine(appErr), http.StatusBadRequest)
	default:
		s.bad.Add(1)
		http.Error(w, "sidecar: upstream failed: "+oneLine(err), http.StatusBadGateway)
	}
}

// bufPool holds the copy buffers, so that a request allocates none.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyFlushing copies the upstream body to the app, flushing as each chunk
// arrives so that a streamed response stays streamed.
func copyFlushing(w http.ResponseWriter, body io.Reader) error {
	rc := http.NewResponseController(w)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			rc.Flush()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// record adds the latency the sidecar added: the whole request as the app
// saw it, less the upstream's service (from its HEADERS written to its last
// byte). The wait for an upstream stream slot is the sidecar's.
func (s *Sidecar) record(start time.Time, info *roundtrip.Info) {
	total := time.Since(start)
	added := total - info.Service()
	s.mu.Lock()
	// Within the histogram's bounds it cannot fail; an hour or more (a
	// --timeout that long) is counted as an hour.
	s.added.RecordValue(min(max(added.Microseconds(), 1), s.added.HighestTrackableValue()))
	s.mu.Unlock()
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
