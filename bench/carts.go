package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"muxlab/balance"
	"muxlab/mux"
	"muxlab/results"
	"muxlab/roundtrip"
)

// Cart kinds (Scenario.Carts).
const (
	CartsStateful  = "stateful"
	CartsStateless = "stateless"
	CartsBoth      = "both"
	// DefaultCartItems is the adds of a cart before it is read back.
	DefaultCartItems = 5
	// MaxCartItems is the most adds a cart may have: the server's bound.
	MaxCartItems = mux.MaxCartItems
)

// stoppedBackend is the backend Scenario.StopBackend stops midway.
const stoppedBackend = "b1"

// maxCartBody bounds a cart response the harness reads.
const maxCartBody = 64 << 10

// cartTries is how many times a stateless cart sends an add that failed
// before it counts as failed: the client carries the cart, so nothing was
// lost by the failure.
const cartTries = 3

// userCart is one worker's cart in progress.
type userCart struct {
	kind    string // CartsStateful or CartsStateless
	id      string // stateful: its id
	token   string // stateless: the token so far
	items   []string
	tries   int    // failed sends of the current add
	backend string // stateful: the backend that has it
	cookie  string // the user's cookie (a sticky front's), sent with each request
	open    bool
}

// cartTally is a worker's counts of carts, by kind.
type cartTally map[string]*results.CartCounts

func (t cartTally) of(kind string) *results.CartCounts {
	if t[kind] == nil {
		t[kind] = &results.CartCounts{}
	}
	return t[kind]
}

// cartLoop keeps len(recs) users filling carts, one cart after another,
// until total requests have been sent (zero: until the session halts).
// Every request is recorded as any other; what became of each cart is
// counted into the session's carts.
func (s *session) cartLoop(recs []*recorder, total int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	prefix := fmt.Sprintf("u%x", time.Now().UnixNano()&0xffffffffff)
	var seq atomic.Int64
	for w, rec := range recs {
		wg.Go(func() {
			b := s.newWorker()
			defer b.close()
			tally := cartTally{}
			kind := s.sc.Carts
			if kind == CartsBoth {
				kind = []string{CartsStateful, CartsStateless}[w%2]
			}
			c := &userCart{kind: kind}
			var o outcome
			var info roundtrip.Info
			for !s.stop.Load() {
				i := next.Add(1) - 1
				if total > 0 && i >= total {
					break
				}
				if !c.open {
					*c = userCart{kind: kind, id: fmt.Sprintf("%s-%d", prefix, seq.Add(1)), cookie: c.cookie, open: true}
					tally.of(kind).Carts++
				}
				o = outcome{}
				status, body, backend := s.doCart(b, c, &o, &info)
				o.lag = -1
				rec.record(&o)
				s.judgeCart(c, tally.of(kind), status, body, backend, o.err != nil || o.canceled)
			}
			if c.open {
				tally.of(kind).Unfinished++
			}
			s.cartsMu.Lock()
			for k, cc := range tally {
				s.carts.of(k).Add(cc)
			}
			s.cartsMu.Unlock()
		})
	}
	wg.Wait()
}

// cartPath is the cart's next request: the next add, or the read once it
// has its items.
func (s *session) cartPath(c *userCart) (path string, read bool) {
	items := max(s.sc.CartItems, 1)
	read = len(c.items) >= items
	item := fmt.Sprintf("i%d", len(c.items)+1)
	switch {
	case c.kind == CartsStateful && read:
		return "/cart?cart=" + c.id, true
	case c.kind == CartsStateful:
		return "/cart/add?cart=" + c.id + "&item=" + item, false
	case read:
		return "/tcart?token=" + url.QueryEscape(c.token), true
	case c.token == "":
		return "/tcart/add?item=" + item, false
	}
	return "/tcart/add?item=" + item + "&token=" + url.QueryEscape(c.token), false
}

// doCart sends the cart's next request and returns the status, the body
// (bounded) and the backend that answered.
func (s *session) doCart(b *worker, c *userCart, o *outcome, info *roundtrip.Info) (int, []byte, string) {
	*info = roundtrip.Info{}
	path, _ := s.cartPath(c)
	ctx := s.ctx
	if b.ctx != nil {
		b.timer.Reset(s.timeout)
		ctx = b.ctx
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		o.err = err
		return 0, nil, ""
	}
	setHeaders(req, s.version)
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	start := time.Now()
	resp, err := s.client.Do(req, info)
	var body []byte
	backend := ""
	if err == nil {
		o.status = resp.StatusCode
		backend = resp.Header.Get(mux.HeaderBackend)
		o.backend = backend
		if sc := resp.Header.Get("Set-Cookie"); sc != "" {
			c.cookie, _, _ = strings.Cut(sc, ";")
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxCartBody))
		resp.Body.Close()
	}
	b.end()
	s.ended(o, info, err, start)
	s.progress.Add(1)
	return o.status, body, backend
}

// judgeCart says what became of the cart after its request: still being
// filled, found, lost, wrong or failed.
func (s *session) judgeCart(c *userCart, cc *results.CartCounts, status int, body []byte, backend string, failed bool) {
	_, read := s.cartPath(c)
	if c.backend == "" {
		// A cart not yet on any backend is on the one its user is sent
		// to: the answer's, or the sticky cookie's when there was none.
		c.backend = backend
		if name, ok := strings.CutPrefix(c.cookie, balance.StickyCookie+"="); ok && backend == "" {
			c.backend = name
		}
	}
	end := func(counter *int64, lost bool) {
		*counter++
		if lost && s.sc.StopBackend && c.backend == stoppedBackend {
			cc.LostOnStopped++
		}
		c.open = false
	}
	var got struct {
		Token string   `json:"token"`
		Items []string `json:"items"`
	}
	ok := !failed && status == http.StatusOK && json.Unmarshal(body, &got) == nil
	switch {
	case failed || (status != http.StatusOK && status != http.StatusNotFound) || (status == http.StatusOK && !ok):
		if c.kind == CartsStateless && c.tries+1 < cartTries && s.ctx.Err() == nil {
			c.tries++ // the client carries the cart: send the request again
			return
		}
		end(&cc.Failed, true)
	case status == http.StatusNotFound:
		end(&cc.Lost, true)
	case read && slices.Equal(got.Items, c.items) && len(got.Items) > 0:
		end(&cc.Found, false)
	case read:
		end(&cc.Wrong, false)
	default: // an add: the cart as the server has it now
		want := append(slices.Clone(c.items), fmt.Sprintf("i%d", len(c.items)+1))
		switch {
		case slices.Equal(got.Items, want):
			c.items, c.token, c.tries = want, got.Token, 0
		case c.kind == CartsStateful && len(want) > 1 && len(got.Items) == 1:
			end(&cc.Lost, true) // another server had no such cart and began one
		default:
			end(&cc.Wrong, false)
		}
	}
}
