package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"muxlab/internal/resultstest"
	"muxlab/report"
	"muxlab/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestTableGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		run    *results.Run
	}{
		{"table.golden", resultstest.Sample()},
		{"table-link.golden", resultstest.SampleOverLink()},
		{"table-browser.golden", resultstest.SampleWithBrowser()},
	} {
		t.Run(tc.golden, func(t *testing.T) { checkGolden(t, tc.golden, tc.run) })
	}
}

func checkGolden(t *testing.T, name string, run *results.Run) {
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, run); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("table differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
}

// A recorded page's objects are shown by origin, with their bytes and
// types, in the table and the report.
func TestPageObjectsByOrigin(t *testing.T) {
	r := resultstest.Sample()
	r.Scenario.Paths = []string{"/a.js", "/b.css", "/c.png"}
	r.Scenario.Hosts = []string{"www.example.com", "www.example.com", "cdn.example.net"}
	r.Scenario.ObjectTypes = []string{"text/javascript", "text/css", "image/png"}
	r.Scenario.ObjectSizes = []int64{2048, 1024, 5120}
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the page's objects by origin", "www.example.com  2        3.0  text/css 1, text/javascript 1", "cdn.example.net  1        5.0  image/png 1"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := report.WriteReport(&buf, []report.Source{{Name: "r.json", Run: r}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`class="summary objects"`)) || !bytes.Contains(buf.Bytes(), []byte("cdn.example.net")) {
		t.Error("the report shows no objects by origin")
	}
}

// A merged run shows each agent's own figures beside the merge.
func TestMergedRunShowsAgents(t *testing.T) {
	a, b := resultstest.Sample(), resultstest.Sample()
	a.Agent, b.Agent = "agent-0", "agent-1"
	m, err := results.Merge([]*results.Run{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteTable(&buf, m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("the agents' own figures")) || !bytes.Contains(buf.Bytes(), []byte("agent-1")) {
		t.Errorf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := report.WriteReport(&buf, []report.Source{{Name: "m.json", Run: m}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`class="summary agents"`)) {
		t.Error("the report shows no agents")
	}
}

// A table wider than the width asked for comes in a narrow form that keeps
// every contender, the ratio, the server's counts and the verdict, no line
// longer than the width; one that fits comes whole.
func TestTableFitsWidth(t *testing.T) {
	for _, run := range []*results.Run{resultstest.Sample(), resultstest.SampleOverLink(), resultstest.SampleWithBrowser()} {
		for _, width := range []int{100, 80, 60} {
			var buf bytes.Buffer
			if err := report.WriteTableWidth(&buf, run, width); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for i, line := range strings.Split(out, "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("width %d: line %d is %d long: %q", width, i+1, n, line)
				}
			}
			for _, c := range run.Contenders {
				if !strings.Contains(out, c.Label) {
					t.Errorf("width %d: %s missing", width, c.Label)
				}
			}
			if words := strings.Join(strings.Fields(out), " "); !strings.Contains(out, "0.51x") || !strings.Contains(words, "2.0x faster than h1") {
				t.Errorf("width %d: no ratio or verdict:\n%s", width, out)
			}
		}
		var full, wide bytes.Buffer
		report.WriteTable(&full, run)
		report.WriteTableWidth(&wide, run, 0)
		if full.String() != wide.String() {
			t.Errorf("width 0 is not the whole table")
		}
	}
}
