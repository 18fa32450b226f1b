package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"muxlab/internal/hostile"
	"muxlab/results"
)

// TestBenchAgainstEndlessHeaders: against a server that never ends a
// header block (for h1, h2 and hey alike), bench holds a bounded heap,
// fails every request under its kind, writes a result that accounts for
// every one, and exits 1 saying that nothing was answered.
func TestBenchAgainstEndlessHeaders(t *testing.T) {
	s := hostile.Serve(t, hostile.PathEndlessHead)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	var code int
	peak := hostile.PeakHeap(func() {
		code = run(context.Background(), []string{"bench", "-q", "--out", out, "--url", s.URL(), "--net", "loopback",
			"--contenders", "h1,h2,hey", "--scenario", "page", "--objects", "12", "--pages", "2", "--rounds", "1"}, &stdout, &stderr)
	})
	if code != exitFailure || !strings.Contains(stderr.String(), "no request was answered for h1 (24 failed; response too large: 24)") {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if peak > 200<<20 {
		t.Errorf("the heap reached %d MiB", peak>>20)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("result files %v", files)
	}
	r, err := results.Read(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Contenders {
		tot := c.Total
		if tot.OK != 0 || tot.Failed != tot.Sent || tot.Sent+tot.Unsent != tot.Scheduled || tot.Sent == 0 {
			t.Errorf("%s: %+v", c.Name, tot)
		}
	}
	if h2 := r.Contender("h2").Total; h2.Errors["response too large"] == 0 {
		t.Errorf("h2's failures %v name no response too large", h2.Errors)
	}
	os.RemoveAll(out)
}
