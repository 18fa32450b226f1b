package mux_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// get fetches url and returns the status and body.
func getBody(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

type cart struct {
	Cart, Token, Backend string
	Items                []string
}

func cartOf(t *testing.T, body string) cart {
	t.Helper()
	var c cart
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("%v in %q", err, body)
	}
	return c
}

// /work holds one of the server's work slots for its time: with one slot,
// four at once take four times one; the server names itself and counts
// its busy time.
func TestWork(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", Name: "b1", WorkSlots: 1})
	base := srv.URL(mux.ListenerH1)
	code, body, h := getBody(t, base+"/work?us=1000")
	if code != 200 || !strings.Contains(body, "1000 µs") || h.Get(mux.HeaderBackend) != "b1" {
		t.Fatalf("/work: %d %q, backend %q", code, body, h.Get(mux.HeaderBackend))
	}
	srv.ResetStats()
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if code, body, _ := getBody(t, base+"/work?us=20000"); code != 200 {
				t.Errorf("/work: %d %q", code, body)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Errorf("four 20 ms /work on one slot took %v: they did not wait for the slot", took)
	}
	if st := srv.Stats(); st.Name != "b1" || st.BusyMS < 80 || st.InFlight != 0 {
		t.Errorf("stats: name %q, busy %.1f ms, in flight %d; want b1, at least 80 ms, 0", st.Name, st.BusyMS, st.InFlight)
	}
	for _, bad := range []string{"us=0", "us=100001", "us=x", "us=-5"} {
		if code, body, _ := getBody(t, base+"/work?"+bad); code != 400 || !strings.Contains(body, "us") {
			t.Errorf("/work?%s: %d %q; want 400 naming us", bad, code, body)
		}
	}
	if _, err := mux.New(mux.Options{H1Addr: "127.0.0.1:0", WorkSlots: 2000}); err == nil || !strings.Contains(err.Error(), "WorkSlots") {
		t.Errorf("WorkSlots 2000: %v", err)
	}
}

// A stateful cart lives in its server's memory: another server does not
// know it. A token cart lives in the token: any server with the same key
// reads it, one with another key refuses it.
func TestCarts(t *testing.T) {
	key := []byte("shared key")
	a := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", Name: "a", CartKey: key})
	b := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", Name: "b", CartKey: key})
	c := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", Name: "c"})
	ua, ub, uc := a.URL(mux.ListenerH1), b.URL(mux.ListenerH1), c.URL(mux.ListenerH1)
	for _, item := range []string{"x", "y"} {
		if code, body, _ := getBody(t, ua+"/cart/add?cart=u1&item="+item); code != 200 {
			t.Fatalf("add: %d %q", code, body)
		}
	}
	if code, body, _ := getBody(t, ua+"/cart?cart=u1"); code != 200 || strings.Join(cartOf(t, body).Items, ",") != "x,y" {
		t.Fatalf("read on a: %d %q", code, body)
	}
	if code, body, _ := getBody(t, ub+"/cart?cart=u1"); code != 404 || !strings.Contains(body, "(b)") {
		t.Fatalf("read on b: %d %q; want 404 naming b", code, body)
	}
	_, body, _ := getBody(t, ua+"/tcart/add?item=x")
	tok := cartOf(t, body).Token
	_, body, _ = getBody(t, ub+"/tcart/add?item=y&token="+url.QueryEscape(tok))
	tok = cartOf(t, body).Token
	if code, body, _ := getBody(t, ua+"/tcart?token="+url.QueryEscape(tok)); code != 200 || strings.Join(cartOf(t, body).Items, ",") != "x,y" {
		t.Fatalf("token cart read on a: %d %q", code, body)
	}
	if code, body, _ := getBody(t, uc+"/tcart?token="+url.QueryEscape(tok)); code != 400 || !strings.Contains(body, "token") {
		t.Fatalf("token cart on a server with another key: %d %q; want 400 naming token", code, body)
	}
	for _, bad := range []string{"/cart/add?cart=u1", "/cart/add?item=x", "/cart/add?cart=a%20b&item=x", "/cart?cart=" + strings.Repeat("a", 65),
		"/tcart?token=nonsense", "/tcart/add?item=x&token=YQ.AAAA"} {
		if code, body, _ := getBody(t, ua+bad); code != 400 {
			t.Errorf("%s: %d %q; want 400", bad, code, body)
		}
	}
	for i := range mux.MaxCartItems - 2 {
		getBody(t, fmt.Sprintf("%s/cart/add?cart=u1&item=i%d", ua, i))
	}
	if code, body, _ := getBody(t, ua+"/cart/add?cart=u1&item=one-too-many"); code != 400 || !strings.Contains(body, "item") {
		t.Errorf("an item beyond %d: %d %q; want 400 naming item", mux.MaxCartItems, code, body)
	}
}
