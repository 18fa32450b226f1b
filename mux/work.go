package mux

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of /work and of the carts.
const (
	MaxWork       = 100 * time.Millisecond // CPU time of one /work
	defaultWorkUS = 200
	MaxCarts      = 100000 // carts a server keeps in memory
	MaxCartItems  = 100    // items in one cart
	maxCartID     = 64     // bytes of a cart's id and of an item
)

// HeaderBackend names the server that answered, when Options.Name is set:
// behind a balancer, which backend a request reached.
const HeaderBackend = "Muxlab-Backend"

// busyClock adds up the time a server had at least one request in flight.
// A request counts itself in flight with an atomic add; the lock is taken
// only when the count leaves or reaches zero, so a busy server takes none.
type busyClock struct {
	inFlight atomic.Int64

	mu      sync.Mutex // guards the following
	running bool       // a busy period is open
	since   time.Time  // when it opened
	busy    time.Duration
}

func (b *busyClock) begin() {
	if b.inFlight.Add(1) != 1 {
		return
	}
	b.mu.Lock()
	if !b.running && b.inFlight.Load() > 0 { // not closed again by an end that came between
		b.running, b.since = true, time.Now()
	}
	b.mu.Unlock()
}

func (b *busyClock) end() {
	if b.inFlight.Add(-1) != 0 {
		return
	}
	b.mu.Lock()
	if b.running && b.inFlight.Load() == 0 { // not reopened by a begin that came between
		b.running = false
		b.busy += time.Since(b.since)
	}
	b.mu.Unlock()
}

// read returns the busy time so far and the requests in flight.
func (b *busyClock) read() (time.Duration, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.busy
	if b.running {
		d += time.Since(b.since)
	}
	return d, b.inFlight.Load()
}

func (b *busyClock) reset() {
	b.mu.Lock()
	b.busy = 0
	if b.running {
		b.since = time.Now()
	}
	b.mu.Unlock()
}

// serveWork spends us microseconds of CPU (default 200, at most MaxWork)
// holding one of the server's work slots (Options.WorkSlots), so that a
// server given more than its share of /work queues its requests and its
// latency shows it, as a real server's CPU would; the time waiting for a
// slot is part of the request's.
func (s *Server) serveWork(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	us := q.integer("us", defaultWorkUS, 1, int(MaxWork/time.Microsecond))
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	select {
	case s.work <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	sum := spin(time.Duration(us) * time.Microsecond)
	<-s.work
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "worked %d µs (%x)\n", us, sum&0xffff)
}

// spin keeps the CPU busy for d; what it computed is returned, so that the
// loop is not optimised away.
func spin(d time.Duration) uint64 {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for range 256 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// carts are the server's stateful carts, in memory: what a server behind a
// balancer loses when a request reaches another server, or when it stops.
type carts struct {
	mu sync.Mutex // guards m
	m  map[string][]string
}

// cartParam reads a cart id or an item: 1 to 64 of [A-Za-z0-9_-].
func cartParam(q *query, name string) string {
	v := q.v.Get(name)
	if q.err != nil {
		return ""
	}
	ok := len(v) >= 1 && len(v) <= maxCartID
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		q.err = &ParamError{Param: name, Value: v, Reason: "is not an id", Allow: "1 to 64 of A-Z a-z 0-9 - _"}
	}
	return v
}

// serveCartAdd adds an item to a cart kept in this server's memory:
// GET /cart/add?cart=ID&item=X answers the cart's items.
func (s *Server) serveCartAdd(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	id, item := cartParam(&q, "cart"), cartParam(&q, "item")
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	s.carts.mu.Lock()
	items, ok := s.carts.m[id]
	switch {
	case !ok && len(s.carts.m) >= MaxCarts:
		s.carts.mu.Unlock()
		http.Error(w, fmt.Sprintf("cart: this server keeps at most %d carts", MaxCarts), http.StatusServiceUnavailable)
		return
	case len(items) >= MaxCartItems:
		s.carts.mu.Unlock()
		badRequest(w, &ParamError{Param: "item", Value: item, Reason: "would be one item too many in cart " + id, Allow: fmt.Sprint(MaxCartItems, " items")})
		return
	}
	items = append(items, item)
	s.carts.m[id] = items
	items = append([]string(nil), items...)
	s.carts.mu.Unlock()
	writeJSON(w, cartBody{Cart: id, Items: items, Backend: s.opts.Name})
}

// serveCart answers a cart's items, or 404 when this server has no such
// cart: GET /cart?cart=ID.
func (s *Server) serveCart(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	id := cartParam(&q, "cart")
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	s.carts.mu.Lock()
	items, ok := s.carts.m[id]
	items = append([]string(nil), items...)
	s.carts.mu.Unlock()
	if !ok {
		http.Error(w, fmt.Sprintf("cart %s is not on this server%s", id, s.backendSuffix()), http.StatusNotFound)
		return
	}
	writeJSON(w, cartBody{Cart: id, Items: items, Backend: s.opts.Name})
}

func (s *Server) backendSuffix() string {
	if s.opts.Name == "" {
		return ""
	}
	return " (" + s.opts.Name + ")"
}

// cartBody is what the cart endpoints answer.
type cartBody struct {
	Cart    string   `json:"cart,omitempty"`
	Token   string   `json:"token,omitempty"`
	Items   []string `json:"items"`
	Backend string   `json:"backend,omitempty"`
}

// serveTokenCartAdd adds an item to a cart carried by the client in a
// signed token, kept by no server: GET /tcart/add?item=X[&token=T]
// answers the items and the new token. Any server with the same
// Options.CartKey reads it.
func (s *Server) serveTokenCartAdd(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	item := cartParam(&q, "item")
	var items []string
	if q.err == nil && q.v.Has("token") {
		items = s.readToken(&q)
	}
	if q.err == nil && len(items) >= MaxCartItems {
		q.err = &ParamError{Param: "item", Value: item, Reason: "would be one item too many in the cart", Allow: fmt.Sprint(MaxCartItems, " items")}
	}
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	items = append(items, item)
	writeJSON(w, cartBody{Token: s.signToken(items), Items: items, Backend: s.opts.Name})
}

// serveTokenCart answers the items of a token cart: GET /tcart?token=T.
func (s *Server) serveTokenCart(w http.ResponseWriter, r *http.Request) {
	q := query{v: r.URL.Query()}
	items := s.readToken(&q)
	if q.err != nil {
		badRequest(w, q.err)
		return
	}
	writeJSON(w, cartBody{Items: items, Backend: s.opts.Name})
}

// signToken is the items, comma separated, and their HMAC under the
// server's cart key, both base64url.
func (s *Server) signToken(items []string) string {
	payload := strings.Join(items, ",")
	mac := hmac.New(sha256.New, s.cartKey)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// readToken checks the token parameter's signature and returns its items.
func (s *Server) readToken(q *query) []string {
	t := q.v.Get("token")
	bad := func(reason string) []string {
		q.err = &ParamError{Param: "token", Value: t, Reason: reason, Allow: "a token from /tcart/add"}
		return nil
	}
	if len(t) > 2*MaxCartItems*maxCartID {
		return bad("is too long")
	}
	p, sig, ok := strings.Cut(t, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil {
		return bad("is not a cart token")
	}
	want := hmac.New(sha256.New, s.cartKey)
	want.Write(payload)
	if !hmac.Equal(mac, want.Sum(nil)[:16]) {
		return bad("is not signed by this server's cart key")
	}
	if len(payload) == 0 {
		return nil
	}
	return strings.Split(string(payload), ",")
}

// newCartKey is a random cart key, for a server given none.
func newCartKey() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand)
	return k
}
