package pageset

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Replayer answers the requests of a recorded page offline: every entry
// with its recorded status, the headers that matter, its body (recorded, or
// as many bytes as recorded), after its recorded server time, open to
// every origin (CORS and Resource Timing's Timing-Allow-Origin). Every origin
// of the page is served by the one server: a request is matched by its Host
// and its path and query, or by its path and query alone when only one
// origin recorded them.
type Replayer struct {
	byHost map[string]*Entry   // host (no port) + " " + request URI
	byPath map[string][]*Entry // request URI
}

// NewReplayer indexes p's entries; the first of duplicates wins, as a
// browser's cache would have served it.
func NewReplayer(p *Page) *Replayer {
	r := &Replayer{byHost: map[string]*Entry{}, byPath: map[string][]*Entry{}}
	for i := range p.Entries {
		e := &p.Entries[i]
		key := strings.ToLower(e.URL.Hostname()) + " " + e.URL.RequestURI()
		if _, dup := r.byHost[key]; dup {
			continue
		}
		r.byHost[key] = e
		r.byPath[e.URL.RequestURI()] = append(r.byPath[e.URL.RequestURI()], e)
	}
	return r
}

func (rp *Replayer) lookup(r *http.Request) *Entry {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	uri := r.URL.RequestURI()
	if e := rp.byHost[strings.ToLower(host)+" "+uri]; e != nil {
		return e
	}
	if es := rp.byPath[uri]; len(es) == 1 {
		return es[0]
	}
	return nil
}

// Has reports whether the recording answers r.
func (rp *Replayer) Has(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && rp.lookup(r) != nil
}

// ServeHTTP answers r as recorded; 404 for what the page did not record.
func (rp *Replayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := rp.lookup(r)
	if e == nil {
		http.Error(w, "not in the recorded page: "+r.Host+r.URL.RequestURI(), http.StatusNotFound)
		return
	}
	if e.Wait > 0 {
		t := time.NewTimer(e.Wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	h := w.Header()
	for k, v := range e.Header {
		h.Set(k, v)
	}
	// Every origin is this one server's: a browser's page on one of them
	// may fetch, and time, the objects of all.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Timing-Allow-Origin", "*")
	body := e.Body
	if body == nil {
		body = bytes.Repeat([]byte{'x'}, int(e.Size))
	}
	if e.Status != http.StatusNoContent && e.Status != http.StatusNotModified && e.Status >= 200 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	} else {
		body = nil
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
