package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"muxlab/results"
)

// A plain static file server of the user's own (net/http's FileServer,
// HTTP/1.1 and h2c): --path measures its file, a missing path exits 1 with
// the failures named in the verdict, and --fail-on turns a missed
// threshold into exit 3.
func TestAnySite(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "some"), 0o755)
	os.WriteFile(filepath.Join(root, "some", "file"), []byte(strings.Repeat("x", 4096)), 0o644)
	var hits atomic.Int64
	files := http.FileServer(http.Dir(root))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/some/file" {
			hits.Add(1)
		}
		files.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	base := []string{"bench", "-q", "--url", srv.URL, "--contenders", "h1,h2", "--scenario", "latency", "--requests", "20",
		"--rounds", "1", "--warmup", "0", "--net", "loopback"}
	dir := t.TempDir()
	code, _, errOut := runArgs(t, append(base, "--path", "/some/file", "--out", dir)...)
	if code != exitOK || hits.Load() < 40 {
		t.Fatalf("--path /some/file: exit %d, %d requests for the file; %s", code, hits.Load(), errOut)
	}
	r := readOnly(t, dir)
	for _, c := range r.Contenders {
		if c.Total.OK != c.Total.Sent || c.Total.Statuses["200"] != c.Total.OK || c.Total.Latency == nil {
			t.Errorf("%s: %+v", c.Name, c.Total)
		}
	}
	if n := r.Network; n.Profile != "none" || n.MeasuredRTTMS <= 0 || !strings.Contains(n.Describe(), "the real path to the server, a round trip of") {
		t.Errorf("another server over no emulated link is described as %q (%+v)", n.Describe(), n)
	}
	if r.Scenario.Endpoint != "/some/file" || strings.Contains(r.Scenario.Summary, "delay") {
		t.Errorf("the scenario says %q, %q", r.Scenario.Endpoint, r.Scenario.Summary)
	}

	dir = t.TempDir()
	code, _, errOut = runArgs(t, append(base, "--path", "/missing", "--out", dir)...)
	if code != exitFailure || !strings.Contains(errOut, "status 404: 20") {
		t.Errorf("--path /missing: exit %d, %s", code, errOut)
	}
	if r := readOnly(t, dir); !strings.Contains(r.Verdict, "FAILED: 20 of 20 requests of h1") {
		t.Errorf("the verdict does not name the failures: %q", r.Verdict)
	}

	code, _, errOut = runArgs(t, append(base, "--path", "/some/file", "--out", t.TempDir(), "--fail-on", "h2 latency p50>0", "--fail-on", "failed>0")...)
	if code != exitThresholds || !strings.Contains(errOut, `1 of 2 thresholds missed: "h2 latency p50>0" (h2 latency p50 is `) {
		t.Errorf("--fail-on: exit %d, %s", code, errOut)
	}

	// One protocol's URL is enough for the contenders that use it: the
	// others are left out of the default.
	dir = t.TempDir()
	code, _, errOut = runArgs(t, "bench", "-q", "--h2c-url", srv.URL, "--path", "/some/file", "--scenario", "latency", "--requests", "10",
		"--rounds", "1", "--warmup", "0", "--net", "loopback", "--out", dir)
	if r := readOnly(t, dir); code != exitOK || len(r.Contenders) != 1 || r.Contenders[0].Name != "h2" || r.Contenders[0].Total.OK != 10 {
		t.Errorf("--h2c-url alone: exit %d, %s", code, errOut)
	}

	// Without --path the run says first that the scenario's paths are muxlab's.
	_, _, errOut = runArgs(t, append(base[:len(base):len(base)], "--out", t.TempDir())...)
	if !strings.Contains(errOut, "a path of muxlab's own server") {
		t.Errorf("no note about the scenario's own paths: %s", errOut)
	}
	for _, tc := range []struct{ args, want string }{
		{"--path some/file", `--path: "some/file" is not a path`},
		{"--fail-on h2-latency", "--fail-on: not a threshold"},
		{"--fail-on h3/h1_page_p50>1", `--fail-on: "h3/h1 page p50>1" names h3, which does not run`},
		{"--fail-on h2/_latency_p50>1x", "--fail-on: not a threshold"},
		{"--fail-on h2_latency_p50>fast", `"fast" is not a number`},
		{"--fail-on h2/h1_failed>0", "failed is a count, not a ratio"},
	} {
		args := append(base[:len(base):len(base)], strings.Fields(strings.ReplaceAll(tc.args, "_", " "))...)
		if strings.Contains(tc.args, "_") { // a threshold with spaces is one argument
			args = append(base[:len(base):len(base)], "--fail-on", strings.ReplaceAll(strings.TrimPrefix(tc.args, "--fail-on "), "_", " "))
		}
		if code, _, errOut := runArgs(t, args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %q", tc.args, code, errOut)
		}
	}
}

// readOnly reads the one result file in dir.
func readOnly(t *testing.T, dir string) *results.Run {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d result files in %s", len(files), dir)
	}
	r, err := results.Read(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}
