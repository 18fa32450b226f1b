package browser

import (
	"strings"
	"testing"
	"time"
)

// The time at least one request was in flight counts overlapping requests
// once and leaves the gaps out.
func TestUnion(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		spans []span
		want  time.Duration
	}{
		{nil, 0},
		{[]span{{10 * ms, 20 * ms}}, 10 * ms},
		{[]span{{30 * ms, 40 * ms}, {10 * ms, 20 * ms}}, 20 * ms},
		{[]span{{10 * ms, 30 * ms}, {20 * ms, 25 * ms}, {25 * ms, 50 * ms}}, 40 * ms},
	} {
		if got := union(tc.spans); got != tc.want {
			t.Errorf("union(%v) = %v, want %v", tc.spans, got, tc.want)
		}
	}
}

// A page's timings: the first request, the network's share, a failed object
// kept with its reason and left out of the times.
func TestParsePage(t *testing.T) {
	p, err := parsePage(`{"load": 130, "objects": [
	  {"url": "/a", "status": 200, "start": 5, "cs": 5, "ce": 5, "req": 40, "end": 90, "proto": "h2"},
	  {"url": "/b", "status": 200, "start": 6, "cs": 6, "ce": 6, "req": 41, "end": 120, "proto": "h2"},
	  {"url": "/c", "status": 0, "err": "the request failed (no response)"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if p.Total != 120*ms || p.Load != 130*ms || p.FirstRequest != 40*ms || p.Network != 80*ms || len(p.Objects) != 3 {
		t.Errorf("page %+v", p)
	}
	if o := p.Objects[2]; o.Status != 0 || o.Err == "" || o.End != 0 {
		t.Errorf("the failed object %+v", o)
	}
	if _, err := parsePage("not json"); err == nil || !strings.HasPrefix(err.Error(), "browser: ") {
		t.Errorf("bad timings: %v", err)
	}
}

// The page's document names every object once and cannot be closed early
// by a URL that holds "</script>".
func TestPageHTML(t *testing.T) {
	h := pageHTML([]string{"/tile/1", "/x?q=</script><b>"})
	if !strings.Contains(h, `"/tile/1"`) || strings.Count(h, "</script>") != 1 {
		t.Errorf("page %q", h)
	}
}
