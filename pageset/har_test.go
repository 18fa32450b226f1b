package pageset

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func har(entries ...string) string {
	return `{"log": {"version": "1.2", "entries": [` + strings.Join(entries, ",") + `]}}`
}

func entry(url string, status int, size int64, text, enc string, wait float64) string {
	return fmt.Sprintf(`{"request": {"method": "GET", "url": %q}, "response": {"status": %d,
	  "headers": [{"name": "Content-Type", "value": "text/css"}, {"name": "Set-Cookie", "value": "x=1"}],
	  "content": {"size": %d, "text": %q, "encoding": %q}}, "timings": {"wait": %g}}`, url, status, size, text, enc, wait)
}

func TestParseHAR(t *testing.T) {
	t.Parallel()
	p, err := ParseHAR(strings.NewReader(har(
		entry("https://example.com/a.css", 200, 5, "body{}", "", 12.5),
		entry("https://cdn.example.net/i.png", 200, 4, "AAEC", "base64", 3),
		entry("http://example.com:8080/x?y=1", 404, 1000, "", "", -1),
	)))
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entries
	if len(e) != 3 || string(e[0].Body) != "body{}" || e[0].Size != 6 || e[0].Wait != 12500*time.Microsecond ||
		e[0].Header["Content-Type"] != "text/css" || e[0].Header["Set-Cookie"] != "" {
		t.Errorf("entry 0: %+v", e[0])
	}
	if len(e[1].Body) != 3 || e[2].Body != nil || e[2].Size != 1000 || e[2].Status != 404 || e[2].URL.RequestURI() != "/x?y=1" {
		t.Errorf("entries 1, 2: %+v %+v", e[1], e[2])
	}
	if got := strings.Join(p.Origins(), " "); got != "https://example.com:443 https://cdn.example.net:443 http://example.com:8080" {
		t.Errorf("origins %q", got)
	}
}

func TestParseHARRefuses(t *testing.T) {
	t.Parallel()
	ok := entry("https://a/x", 200, 1, "", "", 1)
	for _, tc := range []struct {
		in    string
		index int // -1: not an entry's fault
		want  string
	}{
		{`{"nolog": 1}`, -1, "no \"log\""},
		{`{"log": {"entries": []}}`, -1, "0 entries"},
		{`{"log": `, -1, "not a HAR"},
		{har(ok, entry("ftp://a/x", 200, 1, "", "", 1)), 1, "request.url"},
		{har(ok, ok, entry("https://a/x", 42, 1, "", "", 1)), 2, "response.status"},
		{har(entry("https://a/x", 200, 1, "!!", "base64", 1)), 0, "not base64"},
		{har(entry("https://a/x", 200, 1, "x", "gzip", 1)), 0, "response.content.encoding"},
		{har(`{"request": {"method": "POST", "url": "https://a/x"}, "response": {"status": 200}}`), 0, "request.method"},
		{har(`{"request": {"method": "GET", "url": "https://a/x"}}`), 0, "response: missing"},
		{har(entry("https://a/x", 200, MaxTotalBytes+1, "", "", 1)), 0, "add up to more than"},
	} {
		_, err := ParseHAR(strings.NewReader(tc.in))
		var ee *EntryError
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.index >= 0) != errors.As(err, &ee) || (ee != nil && ee.Index != tc.index) {
			t.Errorf("%.60q: %v; want entry %d saying %q", tc.in, err, tc.index, tc.want)
		}
	}
}

func FuzzParseHAR(f *testing.F) {
	f.Add(har(entry("https://a/x", 200, 3, "abc", "", 1)))
	f.Add(har(entry("http://[::1]:8/y", 304, -1, "", "", 0)))
	f.Add(`{"log":{"entries":[{}]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseHAR(strings.NewReader(s))
		if err != nil {
			return
		}
		var total int64
		for _, e := range p.Entries {
			if e.Size < 0 || e.Status < 100 || e.Status > 599 || e.URL.Port() == "" || (e.Body != nil && int64(len(e.Body)) != e.Size) {
				t.Fatalf("accepted %+v", e)
			}
			total += e.Size
		}
		if len(p.Entries) == 0 || len(p.Entries) > MaxEntries || total > MaxTotalBytes {
			t.Fatalf("%d entries, %d bytes", len(p.Entries), total)
		}
	})
}

// The replay answers each entry as recorded, by Host and path, or by path
// alone when one origin recorded it; HEAD gets no body; the rest is 404.
func TestReplayer(t *testing.T) {
	t.Parallel()
	p, err := ParseHAR(strings.NewReader(har(
		entry("https://a.example/x.css", 200, 6, "body{}", "", 20),
		entry("https://b.example/x.css", 200, 3000, "", "", 0),
		entry("https://b.example/only-b?q=1", 404, 10, "", "", 0),
	)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewReplayer(p))
	defer srv.Close()
	get := func(method, host, path string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	start := time.Now()
	if code, body, h := get("GET", "a.example", "/x.css"); code != 200 || body != "body{}" || h.Get("Content-Type") != "text/css" {
		t.Errorf("a: %d %q %v", code, body, h)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Error("the recorded server time was not waited")
	}
	if code, body, _ := get("GET", "b.example:443", "/x.css"); code != 200 || len(body) != 3000 {
		t.Errorf("b: %d, %d bytes", code, len(body))
	}
	if code, body, _ := get("GET", "elsewhere", "/only-b?q=1"); code != 404 || len(body) != 10 {
		t.Errorf("by path alone: %d, %d bytes", code, len(body))
	}
	if code, body, h := get("HEAD", "a.example", "/x.css"); code != 200 || body != "" || h.Get("Content-Length") != "6" {
		t.Errorf("HEAD: %d %q %v", code, body, h)
	}
	if code, body, _ := get("GET", "elsewhere", "/x.css"); code != 404 || !strings.Contains(body, "not in the recorded page") {
		t.Errorf("ambiguous path from an unknown host: %d %q", code, body)
	}
}

// TestParseHARWaitCap: every recorded wait is capped at MaxEntryWait, the
// largest floats included (1e308 ms once converted to no wait at all).
func TestParseHARWaitCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		wait float64
		want time.Duration
	}{{12.5, 12500 * time.Microsecond}, {-1, 0}, {30_001, MaxEntryWait}, {1e18, MaxEntryWait}, {1e308, MaxEntryWait}} {
		p, err := ParseHAR(strings.NewReader(har(entry("https://a/x", 200, 1, "", "", tc.wait))))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Entries[0].Wait; got != tc.want {
			t.Errorf("wait %g ms: %v; want %v", tc.wait, got, tc.want)
		}
	}
}

// manyEntries is a HAR of n entries made as it is read.
type manyEntries struct {
	n, made int
	buf     []byte
	read    int64
}

func (m *manyEntries) Read(p []byte) (int, error) {
	for len(m.buf) < len(p) && m.made <= m.n {
		switch {
		case m.made == 0:
			m.buf = append(m.buf, `{"log": {"pages": [{"id": "p"}], "entries": [`...)
		case m.made == m.n:
			m.buf = append(m.buf, `]}}`...)
		default:
			if m.made > 1 {
				m.buf = append(m.buf, ',')
			}
			m.buf = append(m.buf, entry("https://a/x", 200, 1, "", "", 1)...)
		}
		m.made++
	}
	if len(m.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	m.read += int64(n)
	return n, nil
}

// TestParseHAREntryBoundWhileReading: a HAR of a million entries is refused
// at entry MaxEntries+1, having read no further than it.
func TestParseHAREntryBoundWhileReading(t *testing.T) {
	t.Parallel()
	m := &manyEntries{n: 1_000_000}
	_, err := ParseHAR(m)
	if err == nil || !strings.Contains(err.Error(), "more than 10000 entries") {
		t.Fatalf("got %v", err)
	}
	per := int64(len(entry("https://a/x", 200, 1, "", "", 1)))
	if m.read > (MaxEntries+100)*per {
		t.Errorf("read %d bytes, %d entries' worth, to refuse it", m.read, m.read/per)
	}
}
