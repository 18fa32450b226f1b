package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/pageset"
	"muxlab/results"
)

// writeHAR writes a HAR of n objects spread over the origins, object i of
// 1000+i bytes with no recorded content, and one 404.
func writeHAR(t *testing.T, n int, origins []string) string {
	t.Helper()
	var entries []string
	for i := range n {
		entries = append(entries, fmt.Sprintf(`{"request": {"method": "GET", "url": "%s/o/%d.js"},
		  "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "text/javascript"}], "content": {"size": %d}},
		  "timings": {"wait": 2}}`, origins[i%len(origins)], i, 1000+i))
	}
	entries = append(entries, fmt.Sprintf(`{"request": {"method": "GET", "url": "%s/missing"}, "response": {"status": 404, "content": {"size": 10}}}`, origins[0]))
	path := filepath.Join(t.TempDir(), "page.har")
	os.WriteFile(path, []byte(`{"log": {"version": "1.2", "entries": [`+strings.Join(entries, ",")+`]}}`), 0o644)
	return path
}

// A HAR of 80 objects from three origins replays through the server (as
// serve --har makes it) and bench --har: every object answered, at its
// recorded size, and every origin gets its own connections, as a browser
// gives it.
func TestHARReplay(t *testing.T) {
	origins := []string{"https://www.example.com", "https://cdn.example.net", "https://fonts.example.org"}
	file := writeHAR(t, 80, origins)
	f, _ := os.Open(file)
	page, err := pageset.ParseHAR(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := muxtest.Start(t, mux.Options{BothAddr: "127.0.0.1:0", Replay: pageset.NewReplayer(page)})
	base := srv.URL(mux.ListenerBoth)
	// Every object at its recorded size, by its origin's host.
	for i := range 80 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/o/%d.js", base, i), nil)
		req.Host = strings.TrimPrefix(origins[i%3], "https://")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) != 1000+i || resp.Header.Get("Content-Type") != "text/javascript" {
			t.Errorf("object %d: %d, %d bytes, %q", i, resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "-q", "--json", "--scenario", "page", "--pages", "2", "--rounds", "1",
		"--contenders", "h1,h2", "--har", file, "--url", base, "--out", t.TempDir()}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r results.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Scenario.Objects != 80 || len(r.Scenario.Hosts) != 80 || !strings.Contains(r.Scenario.Summary, "1 entries not answered 2xx left out") {
		t.Errorf("scenario %+v", r.Scenario)
	}
	// Each object's recorded wait (2 ms) and size are the scenario's, not
	// the page scenario's own tiles.
	if sc := r.Scenario; len(sc.ObjectDelays) != 80 || sc.ObjectDelays[0].D() != 2*time.Millisecond || sc.Delay != 0 || sc.Size != 0 {
		t.Errorf("scenario: delays %v, delay %v, size %d", sc.ObjectDelays, sc.Delay, sc.Size)
	}
	want := map[string]int64{"h1": 6 * 3, "h2": 3} // per origin, as a browser
	for _, c := range r.Contenders {
		tot := c.Total
		if tot.OK != 2*80 || tot.Sent != 2*80 || tot.Client.Dials != want[c.Name] || tot.Server == nil || tot.Server.ConnectionsAccepted != want[c.Name] {
			t.Errorf("%s: ok %d of %d, client %+v, server %+v; want %d connections", c.Name, tot.OK, tot.Sent, tot.Client, tot.Server, want[c.Name])
		}
	}
}

func TestHARBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.har")
	os.WriteFile(bad, []byte(`{"log": {"entries": [{"request": {"method": "GET", "url": "https://a/x"}, "response": {"status": 200}},
	  {"request": {"method": "GET", "url": "gopher://a/y"}, "response": {"status": 200}}]}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--har", bad, "--url", "http://127.0.0.1:1"}, "--har: " + bad + ": entry 1: request.url"},
		{[]string{"serve", "--har", bad, "--h1", "127.0.0.1:0", "--h2c", ""}, "--har: " + bad + ": entry 1: request.url"},
		{[]string{"bench", "--har", writeHAR(t, 3, []string{"https://a"}), "--url", "http://127.0.0.1:1", "--contenders", "h1,hey"}, "hey cannot keep connections per origin"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// muxlab record writes a HAR of the demo page that serve --har's replayer
// reads; a bad URL exits 2 and an unreachable one 1, writing nothing.
func TestRecordCommand(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("/usr/bin/chromium is missing: make test installs it")
		}
		t.Skip("chromium is missing")
	}
	srv := muxtest.Start(t, mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	out := filepath.Join(t.TempDir(), "demo.har")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"record", "--insecure", "-o", out, srv.URL(mux.ListenerH1TLS) + "/demo?n=9&delay=0s"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	page, err := pageset.ParseHAR(f)
	f.Close()
	if err != nil || len(page.Entries) < 1+2*9 || !strings.Contains(stdout.String(), "serve --har "+out) {
		t.Fatalf("%v; %d entries; %q", err, len(page.Entries), stdout.String())
	}
	for _, tc := range []struct {
		args []string
		code int
	}{{[]string{"record", "ftp://x"}, exitUsage}, {[]string{"record"}, exitUsage}, {[]string{"record", "-o", out + ".2", "--timeout", "5s", "http://127.0.0.1:1/"}, exitFailure}} {
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
	}
	if _, err := os.Stat(out + ".2"); err == nil {
		t.Error("a failed recording left a file")
	}
}
