package mux_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// conformanceRuns is how many h2spec runs TestConformance makes at once;
// every one must fail the same cases.
const conformanceRuns = 20

// TestConformance runs h2spec against the h2c listener, 20 runs at once at
// h2spec's own default path ("/", a handler that answers without reading a
// body), and fails on any failing case that docs/CONFORMANCE.md does not
// list with its reason, or on runs that do not agree.
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
	type outcome struct {
		total  int
		failed map[string]string
		err    error
	}
	outs := make([]outcome, conformanceRuns)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			outs[i].total, outs[i].failed, outs[i].err = h2spec(port, filepath.Join(t.TempDir(), fmt.Sprintf("h2spec-%d.xml", i)))
		})
	}
	wg.Wait()
	first := ""
	for i, o := range outs {
		if o.err != nil {
			t.Fatalf("run %d: %v", i, o.err)
		}
		if o.total < 100 {
			t.Fatalf("run %d: h2spec ran only %d cases", i, o.total)
		}
		ids := slices.Sorted(maps.Keys(o.failed))
		if i == 0 {
			first = strings.Join(ids, " ")
		} else if got := strings.Join(ids, " "); got != first {
			t.Errorf("run %d failed %s; run 0 failed %s: the runs disagree", i, got, first)
		}
		for _, id := range ids {
			if !known[id] {
				t.Errorf("run %d: h2spec case %s (%s) fails and is not explained in docs/CONFORMANCE.md", i, id, o.failed[id])
			}
		}
	}
	for id := range known {
		if _, ok := outs[0].failed[id]; !ok {
			t.Logf("h2spec case %s, listed in docs/CONFORMANCE.md, passed this time", id)
		}
	}
	t.Logf("h2spec, %d runs: %d cases, %d failed in each (%d explained)", conformanceRuns, outs[0].total, len(outs[0].failed), len(known))
}

// h2spec runs h2spec once against port and returns its cases and the ones
// that failed, by suite and place.
func h2spec(port, report string) (int, map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "h2spec", "-h", "127.0.0.1", "-p", port, "-o", "5", "-j", report)
	cmd.Dir = ".."
	out, runErr := cmd.CombinedOutput() // h2spec exits 1 when any case fails; the report says which
	data, err := os.ReadFile(report)
	if err != nil {
		return 0, nil, fmt.Errorf("h2spec wrote no report (%v, %v):\n%s", runErr, err, out)
	}
	var r junit
	if err := xml.Unmarshal(data, &r); err != nil {
		return 0, nil, err
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
	return total, failed, nil
}
