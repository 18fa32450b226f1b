package mux

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Response headers that let any client attribute a response to a connection.
const (
	HeaderProto = "Muxlab-Proto" // the protocol the server saw, e.g. "HTTP/2.0"
	HeaderConn  = "Muxlab-Conn"  // the server's id of the connection, e.g. "7"
	HeaderTile  = "Muxlab-Tile"  // n of /tile/{n}
	// HeaderReset must be on a POST /stats/reset, with any value: a
	// header of its own makes the request one that a web page cannot send
	// to another origin without the server's leave (a CORS preflight,
	// which the server never grants), so no page a user visits can zero
	// the counts of a server on their machine.
	HeaderReset = "Muxlab-Reset"
)

// Defaults of the endpoints' parameters.
const (
	defaultTileSize   = 1024
	defaultChunks     = 10
	defaultInterval   = 100 * time.Millisecond
	defaultChunkSize  = 1024
	helloBody         = "hello from muxlab\n"
	patternBufferSize = 32 << 10
)

// pattern is the body all sized responses are cut from: printable, so a person
// running curl sees text, and shared, so no response allocates its body.
var pattern = func() []byte {
	b := make([]byte, patternBufferSize)
	const line = "muxlab-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
	for i := range b {
		b[i] = line[i%len(line)]
	}
	return b
}()

// routes builds the endpoints; track wraps them so that every request is
// counted against its connection.
func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.serveIndex)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	m.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(helloBody)))
		io.WriteString(w, helloBody)
	})
	// /echo takes any method and reads (and drops) a request body first,
	// so that it can stand for any endpoint, conformance checks included.
	m.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxSize)); err != nil {
			bodyError(w, err)
			return
		}
		serveEcho(w, r, 0, "")
	})
	m.HandleFunc("GET /tile/{n}", serveTile)
	m.HandleFunc("GET /stream", serveStream)
	m.HandleFunc("POST /upload", serveUpload)
	m.HandleFunc("GET /demo", s.serveDemo)
	m.HandleFunc("GET /demo/tile/{i}", s.serveDemoTile)
	m.HandleFunc("GET /demo/result", s.serveDemoResult)
	m.HandleFunc("GET /stats", s.serveStats)
	m.HandleFunc("GET /work", s.serveWork)
	m.HandleFunc("GET /cart/add", s.serveCartAdd)
	m.HandleFunc("GET /cart", s.serveCart)
	m.HandleFunc("GET /tcart/add", s.serveTokenCartAdd)
	m.HandleFunc("GET /tcart", s.serveTokenCart)
	m.HandleFunc("POST /stats/reset", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderReset) == "" {
			http.Error(w, "POST /stats/reset needs the header "+HeaderReset+" (any value), so that no web page can reset the counts: curl -X POST -H '"+HeaderReset+": yes' URL/stats/reset", http.StatusBadRequest)
			return
		}
		s.ResetStats()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "reset\n")
	})
	var h http.Handler = m
	if rp := s.opts.Replay; rp != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rp.Has(r) {
				rp.ServeHTTP(w, r)
				return
			}
			m.ServeHTTP(w, r)
		})
	}
	return s.timed(track(h))
}

// timed adds every request to the server's busy time and, when the server
// is named, names it in the response.
func (s *Server) timed(next http.Handler) http.Handler {
	name := []string{s.opts.Name}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.busy.begin()
		defer s.busy.end()
		if name[0] != "" {
			w.Header()[HeaderBackend] = name
		}
		next.ServeHTTP(w, r)
	})
}

// track counts each request against the connection it arrived on and stamps
// the attribution headers.
func track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, _ := r.Context().Value(connKey{}).(*connRecord)
		if rec != nil {
			rec.begin(r.Proto)
			defer rec.end()
			// The values are made once per connection and protocol and only
			// read by net/http, so every response can share them.
			h := w.Header()
			h[HeaderConn] = rec.idHeader
			h[HeaderProto] = protoHeader(r.Proto)
		}
		next.ServeHTTP(w, r)
		drainBody(w, r)
	})
}

// Bounds of drainBody.
const (
	drainBytes = 256 << 10 // as net/http's HTTP/1.1 server discards
	drainTime  = time.Second
)

// drainBody reads what is left of the request's body, up to drainBytes and
// for at most drainTime, after a handler that answered without reading it
// all. Over HTTP/2 the stream then stays open until the request has
// arrived, so that what the client sends on it is judged as a request's
// (a body longer or shorter than its content-length is a stream error,
// RFC 9113 8.1.1) rather than as frames on a closed stream, whose fate
// depends on which arrives first: h2spec's results varied from run to run
// with a handler that answered at once.
func drainBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(drainTime)) != nil {
		return // a writer without deadlines: nothing bounds the wait
	}
	io.CopyN(io.Discard, r.Body, drainBytes)
	rc.SetReadDeadline(time.Time{})
}

func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// serveEcho waits delay ± jitter, then writes size bytes with status. size
// defaults to defSize; tile, if not empty, is echoed in HeaderTile.
func serveEcho(w http.ResponseWriter, r *http.Request, defSize int64, tile string) {
	q := query{v: r.URL.Query()}
	delay := q.duration("delay", 0, MaxDelay)
	jitter := q.duration("jitter", 0, MaxDelay)
	size := q.size("size", defSize, MaxSize)
	status := q.integer("status", http.StatusOK, 200, 599)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	if tile != "" {
		w.Header().Set(HeaderTile, tile)
	}
	if err := sleep(r.Context(), jittered(delay, jitter)); err != nil {
		return // the client is gone; nobody reads an answer
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		size = 0 // these statuses carry no body
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(status)
	writePattern(w, size)
}

// jittered returns delay plus a uniform offset in [-jitter, +jitter], never
// below zero.
func jittered(delay, jitter time.Duration) time.Duration {
	if jitter > 0 {
		delay += time.Duration(rand.Int64N(int64(2*jitter)+1)) - jitter
	}
	return max(delay, 0)
}

func serveTile(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	n := q.bounded("n", r.PathValue("n"), 0, 0, MaxTile)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	serveEcho(w, r, defaultTileSize, strconv.Itoa(n))
}

// serveStream writes chunks of size bytes, flushing each, one per interval,
// so that streams visibly interleave on one connection.
func serveStream(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	chunks := q.integer("chunks", defaultChunks, 1, MaxChunks)
	interval := q.duration("interval", defaultInterval, MaxInterval)
	size := q.size("size", defaultChunkSize, MaxChunkSize)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	if total := time.Duration(chunks) * interval; total > MaxStreamDuration {
		badRequest(w, &ParamError{Param: "interval", Value: r.URL.Query().Get("interval"),
			Reason: fmt.Sprintf("times %d chunks is %v, too long", chunks, total),
			Allow:  "chunks × interval up to " + MaxStreamDuration.String()})
		return
	}
	if int64(chunks)*size > MaxSize {
		badRequest(w, &ParamError{Param: "size", Value: r.URL.Query().Get("size"),
			Reason: fmt.Sprintf("times %d chunks is more than %s", chunks, FormatSize(MaxSize)),
			Allow:  "chunks × size up to " + FormatSize(MaxSize)})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.FormatInt(int64(chunks)*size, 10))
	rc := http.NewResponseController(w)
	ticker := time.NewTicker(max(interval, time.Nanosecond))
	defer ticker.Stop()
	for i := range chunks {
		if i > 0 && interval > 0 {
			select {
			case <-ticker.C:
			case <-r.Context().Done():
				return
			}
		}
		if !writePattern(w, size) || rc.Flush() != nil {
			return
		}
	}
}

// serveUpload reads the body and answers with its length and SHA-256.
func serveUpload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, http.MaxBytesReader(w, r.Body, MaxSize))
	if err != nil {
		bodyError(w, err)
		return
	}
	writeJSON(w, struct {
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}{n, hex.EncodeToString(h.Sum(nil))})
}

// bodyError answers a request whose body could not be read.
func bodyError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("body: larger than the limit of %s", FormatSize(MaxSize)), http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	conns := q.integer("conns", 0, 0, 1)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	st := s.Stats()
	if conns == 1 {
		st.Connections = s.tr.conns()
	}
	writeJSON(w, st)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	b.WriteString("muxlab demo server: the same endpoints over HTTP/1.1 and over h2c\n\nlisteners:\n")
	for _, ls := range s.listeners {
		scheme := "http"
		if ls.stats.tls {
			scheme = "https"
		}
		fmt.Fprintf(&b, "  %-6s %s://%s/\n", ls.stats.name, scheme, ls.stats.addr)
	}
	b.WriteString(`
endpoints (GET unless said):
  /healthz                                     liveness
  /hello                                       a tiny fixed body
  /echo?delay=50ms&jitter=5ms&size=1KiB&status=200
                                               (any method) wait, then answer size bytes with status
  /tile/{n}?delay=50ms&size=1KiB               one object of a page (n 0 to 9999)
  /stream?chunks=10&interval=100ms&size=1KiB   chunks written and flushed one per interval
  POST /upload                                 answers the body's length and SHA-256
  /stats[?conns=1]                             ground truth: connections and requests
  POST /stats/reset                            zero the counters (header Muxlab-Reset: yes)
  /demo?n=100&delay=200ms                      the browser demo (muxlab serve --demo)
`)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, b.String())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writePattern writes n bytes of the pattern; false if the client went away.
func writePattern(w io.Writer, n int64) bool {
	for n > 0 {
		k := min(n, int64(len(pattern)))
		if _, err := w.Write(pattern[:k]); err != nil {
			return false
		}
		n -= k
	}
	return true
}

// sleep waits d or until ctx is done, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
