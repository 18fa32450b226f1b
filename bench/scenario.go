package bench

import (
	"fmt"
	"muxlab/mux/limits"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"muxlab/balance"
	"muxlab/results"
)

// Limits of a scenario's figures, so that no flag can ask for a run that
// cannot end or cannot fit in memory.
const (
	MaxObjects     = 10000
	MaxConcurrency = 10000
	MaxRequests    = 100_000_000
	MaxPages       = 100_000
	MaxRounds      = 1000
	MaxRate        = 1_000_000
	MaxConns       = 1000
	MaxDuration    = 24 * time.Hour
	MaxDelay       = limits.MaxDelay // the mux server's own bound
	MaxSize        = limits.MaxSize  // the mux server's own bound
)

var builtins = []results.Scenario{
	{
		Name: "web", Summary: "a page like the median web page (70 objects of 16 KiB, 5 ms at the server), fetched over a mobile network: the default",
		Mode: results.Page, Endpoint: "/tile/{n}", Delay: dur(5 * time.Millisecond), Size: 16 << 10,
		// One page a round: over 4g a page's time varies by about 1% from
		// round to round, so three rounds of one page give the verdict two
		// pages gave, in about 40 s instead of 70 (make run).
		Objects: 70, Pages: 1, Warmup: 1, Rounds: 3,
	},
	{
		Name: "lossy", Summary: "a page of 100 10 KiB objects over a lossy link: each object's completion time, as one lost packet holds back every stream on HTTP/2's one connection",
		Mode: results.Page, Endpoint: "/tile/{n}", Size: 10 << 10,
		Objects: 100, Pages: 5, Warmup: 1, Rounds: 3,
	},
	{
		Name: "page", Summary: "pages of 100 tiles requested all at once, each delayed 50 ms by the server: the classic HTTP/1.1 vs HTTP/2 picture",
		Mode: results.Page, Endpoint: "/tile/{n}", Delay: dur(50 * time.Millisecond), Size: 1024,
		Objects: 100, Pages: 5, Warmup: 1, Rounds: 3,
	},
	{
		Name: "latency", Summary: "/echo delayed 10 ms, 6 in flight (no more than h1 has connections): where multiplexing changes little",
		Mode: results.Closed, Endpoint: "/echo", Delay: dur(10 * time.Millisecond), Size: 1024,
		Requests: 600, Concurrency: 6, Warmup: 12, Rounds: 3,
	},
	{
		Name: "hol", Summary: "fast requests with every 10th one slow (300 ms): on HTTP/1.1 fast ones queue behind slow ones, on HTTP/2 they do not",
		Mode: results.Closed, Endpoint: "/echo", Size: 1024, SlowEvery: 10, SlowDelay: dur(300 * time.Millisecond),
		Requests: 1000, Concurrency: 50, Warmup: 50, Rounds: 3,
	},
	{
		Name: "balance", Summary: "CPU-bound /work (1 ms each, one at a time per backend) at 1100 requests a second to 3 backends behind a layer-4 front: " +
			"HTTP/1.1's six connections spread over the backends, HTTP/2's one lands on one, more than it can serve (--balance l7: requests spread)",
		Mode: results.Open, Endpoint: "/work", Query: "us=1000", Rate: 1100, Requests: 2750, Concurrency: 2000, Warmup: 30, Rounds: 3,
		Backends: 3, Balance: "l4",
	},
	{
		Name: "carts", Summary: "users filling carts (5 adds, then a read back) through a layer-7 front to 3 backends: a cart kept in a backend's memory breaks when " +
			"a user's next request reaches another backend (--sticky keeps it), a cart carried in a signed token does not (--stop-backend stops one midway)",
		Mode: results.Closed, Endpoint: "/cart", Requests: 1200, Concurrency: 12, Warmup: 0, Rounds: 1,
		Backends: 3, Balance: "l7", Carts: CartsBoth, CartItems: DefaultCartItems,
	},
	{
		Name: "throughput", Summary: "tiny /hello as fast as possible, 100 in flight: the cost per request of each protocol",
		Mode: results.Closed, Endpoint: "/hello", Requests: 20000, Concurrency: 100, Warmup: 200, Rounds: 3,
	},
	{
		Name: "bulk", Summary: "1 MiB responses, 12 in flight: one connection's flow-control window against six",
		Mode: results.Closed, Endpoint: "/echo", Size: 1 << 20, Requests: 200, Concurrency: 12, Warmup: 12, Rounds: 3,
	},
	{
		Name: "stream", Summary: "24 streaming responses at once, 20 chunks 10 ms apart: streams interleave on one connection",
		Mode: results.Closed, Endpoint: "/stream", Size: 1024, Query: "chunks=20&interval=10ms",
		Requests: 96, Concurrency: 24, Warmup: 6, Rounds: 3,
	},
}

func dur(d time.Duration) results.Duration { return results.Duration(d) }

// scenarioNets are the networks scenarios run over when none is asked for;
// the others run on loopback.
var scenarioNets = map[string]string{"web": "4g", "lossy": "wifi-lossy"}

// ScenarioNet names the network profile the scenario runs over when none is
// asked for: a realistic one for the scenarios about the network, loopback
// for the others.
func ScenarioNet(name string) string {
	if n, ok := scenarioNets[name]; ok {
		return n
	}
	return "loopback"
}

// Scenarios returns the built-in scenarios, the default ("web") first.
func Scenarios() []results.Scenario {
	out := make([]results.Scenario, len(builtins))
	copy(out, builtins)
	return out
}

// ScenarioNames lists the built-in scenarios' names.
func ScenarioNames() []string {
	names := make([]string, len(builtins))
	for i, s := range builtins {
		names[i] = s.Name
	}
	return names
}

// Lookup returns the built-in scenario with the given name.
func Lookup(name string) (results.Scenario, error) {
	for _, s := range builtins {
		if s.Name == name {
			return s, nil
		}
	}
	return results.Scenario{}, fmt.Errorf("bench: unknown scenario %q; valid: %s", name, strings.Join(ScenarioNames(), ", "))
}

// RangeError says that a scenario figure is out of its range. Field is the
// figure's name as the CLI spells its flag.
type RangeError struct {
	Field string
	Value string
	Allow string
}

// FieldError says what is wrong with one figure of a scenario beside its
// range. Field is the figure's name as the CLI spells its flag.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "bench: " + e.Field + ": " + e.Reason }

func (e *RangeError) Error() string {
	return fmt.Sprintf("bench: %s %s is out of range; allowed %s", e.Field, e.Value, e.Allow)
}

func checkInt(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return &RangeError{field, strconv.Itoa(v), fmt.Sprintf("%d to %d", lo, hi)}
	}
	return nil
}

// Validate checks every figure of s against its range and its mode.
func Validate(s *results.Scenario) error {
	checks := []error{
		checkInt("rounds", s.Rounds, 1, MaxRounds),
		checkInt("warmup", s.Warmup, 0, MaxRequests),
		checkInt("conns", s.Conns, 1, MaxConns),
		checkInt("app-conns", s.AppConns, 0, MaxConns),
		checkInt("backends", s.Backends, 0, balance.MaxBackends),
	}
	switch {
	case s.Backends > 0 && s.Balance != balance.ModeL4 && s.Balance != balance.ModeL7:
		checks = append(checks, &FieldError{"balance", fmt.Sprintf("%q: want l4 (connections) or l7 (requests)", s.Balance)})
	case s.Backends == 0 && s.Balance != "":
		checks = append(checks, &FieldError{"balance", "goes with backends"})
	case s.Backends == 0 && s.Sticky:
		checks = append(checks, &FieldError{"sticky", "goes with backends"})
	case s.Sticky && s.Balance != balance.ModeL7:
		checks = append(checks, &FieldError{"sticky", "needs balance l7: layer 4 sees connections, not the cookie"})
	case s.AddBackend && s.Backends == 0:
		checks = append(checks, &FieldError{"add-backend", "goes with backends"})
	case s.StopBackend && s.Backends < 2:
		checks = append(checks, &FieldError{"stop-backend", "needs at least 2 backends: one is stopped, the others go on"})
	case s.Carts != "" && s.Carts != CartsStateful && s.Carts != CartsStateless && s.Carts != CartsBoth:
		checks = append(checks, &FieldError{"carts", fmt.Sprintf("%q: want stateful, stateless or both", s.Carts)})
	case s.Carts != "" && s.Mode != results.Closed:
		checks = append(checks, &FieldError{"carts", "users fill carts in a closed loop: no page scenario, no --rate"})
	case s.Carts == "" && s.CartItems != 0:
		checks = append(checks, &FieldError{"cart-items", "goes with carts"})
	}
	checks = append(checks, checkInt("cart-items", s.CartItems, 0, MaxCartItems))
	if s.Delay < 0 || s.Delay.D() > MaxDelay {
		checks = append(checks, &RangeError{"delay", s.Delay.D().String(), "0 to " + MaxDelay.String()})
	}
	if s.Size < 0 || s.Size > MaxSize {
		checks = append(checks, &RangeError{"size", strconv.FormatInt(s.Size, 10), "0 to 64MiB"})
	}
	if s.Duration < 0 || s.Duration.D() > MaxDuration {
		checks = append(checks, &RangeError{"duration", s.Duration.D().String(), "0 to " + MaxDuration.String()})
	}
	switch s.Mode {
	case results.Page:
		checks = append(checks, checkInt("objects", s.Objects, 1, MaxObjects))
		if len(s.Paths) > 0 && len(s.Paths) != s.Objects || len(s.Hosts) > 0 && len(s.Hosts) != len(s.Paths) {
			checks = append(checks, fmt.Errorf("bench: %d paths and %d hosts for %d objects", len(s.Paths), len(s.Hosts), s.Objects))
		}
		if s.Duration == 0 {
			checks = append(checks, checkInt("pages", s.Pages, 1, MaxPages))
		}
	case results.Closed, results.Open:
		checks = append(checks, checkInt("concurrency", s.Concurrency, 1, MaxConcurrency))
		if s.Duration == 0 {
			checks = append(checks, checkInt("requests", s.Requests, 1, MaxRequests))
		}
		if s.Mode == results.Open && (s.Rate <= 0 || s.Rate > MaxRate) {
			checks = append(checks, &RangeError{"rate", strconv.FormatFloat(s.Rate, 'g', -1, 64),
				fmt.Sprintf("more than 0 to %d requests per second", MaxRate)})
		}
	default:
		checks = append(checks, fmt.Errorf("bench: unknown mode %q", s.Mode))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// target is one request of a scenario: its path and query, and its class
// ("fast" or "slow" when the scenario mixes them, "" otherwise).
type target struct {
	path  string
	class int
	host  string // the Host to send; empty: the target's
}

// Request classes. classAll is the only class of a scenario that does not
// mix requests.
const (
	classAll = iota
	classFast
	classSlow
	numClasses
)

var classNames = [numClasses]string{"", "fast", "slow"}

// paths returns the request targets of s: one per object in Page mode, a
// fast and a slow one for a mixed scenario, one otherwise.
func paths(s *results.Scenario) []target {
	query := func(delay time.Duration) string {
		v := url.Values{}
		if delay > 0 {
			v.Set("delay", delay.String())
		}
		if s.Size > 0 {
			v.Set("size", strconv.FormatInt(s.Size, 10))
		}
		q := encode(v)
		if s.Query != "" {
			q = join(q, s.Query)
		}
		if q == "" {
			return ""
		}
		return "?" + q
	}
	switch {
	case s.Mode == results.Page && len(s.Paths) > 0:
		out := make([]target, len(s.Paths))
		for i, p := range s.Paths {
			out[i] = target{path: p, class: classAll}
			if i < len(s.Hosts) {
				out[i].host = s.Hosts[i]
			}
		}
		return out
	case s.Mode == results.Page:
		out := make([]target, s.Objects)
		q := query(s.Delay.D())
		for i := range out {
			out[i] = target{path: strings.ReplaceAll(s.Endpoint, "{n}", strconv.Itoa(i)) + q, class: classAll}
		}
		return out
	case s.SlowEvery > 0:
		return []target{{path: s.Endpoint + query(s.Delay.D()), class: classFast}, {path: s.Endpoint + query(s.SlowDelay.D()), class: classSlow}}
	default:
		return []target{{path: s.Endpoint + query(s.Delay.D()), class: classAll}}
	}
}

// pick returns the index in paths(s) of request i.
func pick(s *results.Scenario, i int64) int {
	if s.SlowEvery > 0 && i%int64(s.SlowEvery) == int64(s.SlowEvery)-1 {
		return 1
	}
	return 0
}

// encode is url.Values.Encode in a fixed order (delay, then size) so that
// paths read naturally.
func encode(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v.Get(k)))
	}
	return strings.Join(parts, "&")
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}
