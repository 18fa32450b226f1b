package mux_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"muxlab/mux"
)

// junit is the part of h2spec's JUnit report that says which case failed:
// a case is its suite's package and its 1-based place in the suite.
type junit struct {
	Suites []struct {
		Package string `xml:"package,attr"`
		Cases   []struct {
			Name  string    `xml:"classname,attr"`
			Error *struct{} `xml:"error"`
			Fail  *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

var knownCase = regexp.MustCompile("(?m)^\\| `([a-z0-9./]+)` \\|")

// TestConformance runs h2spec against the h2c listener and fails on any
// failing case that docs/CONFORMANCE.md does not list with its reason.
func TestConformance(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "CONFORMANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range knownCase.FindAllStringSubmatch(string(doc), -1) {
		known[m[1]] = true
	}
	if len(known) == 0 {
		t.Fatal("docs/CONFORMANCE.md lists no case")
	}
	s := start(t, mux.Options{H2CAddr: "127.0.0.1:0"})
	_, port, err := net.SplitHostPort(s.Addr(mux.ListenerH2C))
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "h2spec", "-h", "127.0.0.1", "-p", port, "-P", "/echo?delay=50ms&size=100", "-o", "5", "-j", report)
	cmd.Dir = ".."
	out, runErr := cmd.CombinedOutput() // h2spec exits 1 when any case fails; the report says which
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("h2spec wrote no report (%v, %v):\n%s", runErr, err, out)
	}
	var r junit
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	total, failed := 0, map[string]string{}
	for _, suite := range r.Suites {
		for i, c := range suite.Cases {
			total++
			if c.Error != nil || c.Fail != nil {
				failed[fmt.Sprintf("%s/%d", suite.Package, i+1)] = c.Name
			}
		}
	}
	if total < 100 {
		t.Fatalf("h2spec ran only %d cases:\n%s", total, out)
	}
	for id, name := range failed {
		if !known[id] {
			t.Errorf("h2spec case %s (%s) fails and is not explained in docs/CONFORMANCE.md", id, name)
		}
	}
	for id := range known {
		if _, ok := failed[id]; !ok {
			t.Logf("h2spec case %s, listed in docs/CONFORMANCE.md, passed this time", id)
		}
	}
	t.Logf("h2spec: %d cases, %d failed (%d explained)", total, len(failed), len(known))
}
