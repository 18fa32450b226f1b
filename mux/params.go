package mux

import (
	"fmt"
	"math"
	"muxlab/mux/limits"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds of the endpoints' parameters. Every parameter is bounded so that no
// request can hold a handler, memory or a connection without limit.
const (
	MaxDelay          = limits.MaxDelay  // delay and jitter of /echo and /tile
	MaxSize           = limits.MaxSize   // bytes of one /echo or /tile body, and of an /upload
	MaxTile           = 9999             // highest n of /tile/{n}
	MaxChunks         = 10000            // chunks of one /stream
	MaxChunkSize      = 1 << 20          // bytes of one /stream chunk
	MaxInterval       = 10 * time.Second // pause between /stream chunks
	MaxStreamDuration = 5 * time.Minute  // chunks × interval of one /stream
)

// ParamError is the reason a query parameter was refused. Its message is one
// line that names the parameter, the value and what is allowed, and is what the
// server answers with status 400.
type ParamError struct {
	Param  string // the parameter's name, e.g. "delay"
	Value  string // the value as sent
	Reason string // e.g. "is not a duration like 50ms"
	Allow  string // e.g. "0 to 30s"
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: %q %s; allowed %s", e.Param, e.Value, e.Reason, e.Allow)
}

// ParseSize parses a byte count: a whole number with an optional unit, B, KB,
// MB, GB (powers of 1000) or K, KiB, M, MiB, G, GiB (powers of 1024), in any
// case. It refuses negative numbers, fractions and values that overflow int64.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q does not start with a whole number", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("size %q has an unknown unit (use B, KB, KiB, MB, MiB, GB or GiB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
}

// FormatSize writes n bytes the way ParseSize reads them back, in the largest
// binary unit that divides n exactly.
func FormatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// query reads bounded parameters from a URL query. The first problem is kept
// in err and later reads return their defaults, so a handler reads all its
// parameters and checks err once.
type query struct {
	v   url.Values
	err *ParamError
}

func (q *query) fail(name, val, reason, allow string) {
	if q.err == nil {
		q.err = &ParamError{Param: name, Value: val, Reason: reason, Allow: allow}
	}
}

// duration reads a Go duration ("50ms", "1.5s", or "0") between 0 and max.
func (q *query) duration(name string, def, max time.Duration) time.Duration {
	s, ok := q.lookup(name)
	if !ok {
		return def
	}
	allow := "0 to " + max.String()
	d, err := time.ParseDuration(s)
	if err != nil {
		q.fail(name, s, "is not a duration like 50ms", allow)
		return def
	}
	if d < 0 || d > max {
		q.fail(name, s, "is out of range", allow)
		return def
	}
	return d
}

// size reads a byte count (see ParseSize) between 0 and max.
func (q *query) size(name string, def, max int64) int64 {
	s, ok := q.lookup(name)
	if !ok {
		return def
	}
	allow := "0 to " + FormatSize(max)
	n, err := ParseSize(s)
	if err != nil {
		q.fail(name, s, "is not a size like 1024 or 4KiB", allow)
		return def
	}
	if n > max {
		q.fail(name, s, "is out of range", allow)
		return def
	}
	return n
}

// integer reads a whole number between lo and hi.
func (q *query) integer(name string, def, lo, hi int) int {
	s, ok := q.lookup(name)
	if !ok {
		return def
	}
	return q.bounded(name, s, def, lo, hi)
}

// bounded parses s as a whole number between lo and hi; name is for the error.
func (q *query) bounded(name, s string, def, lo, hi int) int {
	allow := strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
	n, err := strconv.Atoi(s)
	if err != nil {
		q.fail(name, s, "is not a whole number", allow)
		return def
	}
	if n < lo || n > hi {
		q.fail(name, s, "is out of range", allow)
		return def
	}
	return n
}

// lookup returns the parameter's first value; an empty value counts as absent.
func (q *query) lookup(name string) (string, bool) {
	vs := q.v[name]
	if len(vs) == 0 || vs[0] == "" {
		return "", false
	}
	return vs[0], true
}
