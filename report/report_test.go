package report_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"muxlab/internal/resultstest"
	"muxlab/report"
	"muxlab/results"
)

// reportSources is a report's input for the tests: two runs of the page
// scenario (overlaid) and one of another scenario (a section of its own).
func reportSources() []report.Source {
	a, b, c := resultstest.Sample(), resultstest.Sample(), resultstest.Sample()
	b.Label = "after the change"
	b.Started = b.Started.Add(time.Hour)
	c.Scenario.Name, c.Scenario.Mode = "latency", results.Closed
	results.Summarize(c)
	return []report.Source{{Name: "a.json", Run: a}, {Name: "b.json", Run: b}, {Name: "c.json", Run: c}}
}

// outline reduces an HTML page to its structure: one line per element with
// its id, class and data-chart, and an SVG as one line counting what it draws.
func outline(t *testing.T, page []byte) string {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var b strings.Builder
	depth, inSVG, svgCount := 0, 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if inSVG > 0 {
				svgCount++
				if tok.Data == "svg" && tt == html.StartTagToken {
					inSVG++
				}
				continue
			}
			line := strings.Repeat("  ", depth) + tok.Data
			for _, a := range tok.Attr {
				if a.Key == "id" || a.Key == "class" || a.Key == "data-chart" {
					line += fmt.Sprintf(" %s=%q", a.Key, a.Val)
				}
			}
			if tok.Data == "svg" {
				inSVG, svgCount = 1, 0
				b.WriteString(line)
				continue
			}
			b.WriteString(line + "\n")
			if tt == html.StartTagToken && !voidElement(tok.Data) {
				depth++
			}
		case html.EndTagToken:
			tok := z.Token()
			if inSVG > 0 {
				if tok.Data == "svg" {
					inSVG--
					if inSVG == 0 {
						fmt.Fprintf(&b, " (drawing: %s)\n", sizeClass(svgCount))
					}
				}
				continue
			}
			depth--
		}
	}
}

// sizeClass keeps the golden file stable across small changes in how a
// chart library draws: it says only whether a drawing is empty.
func sizeClass(n int) string {
	if n < 5 {
		return "EMPTY"
	}
	return "drawn"
}

func voidElement(tag string) bool {
	switch tag {
	case "meta", "input", "br", "img", "link", "hr":
		return true
	}
	return false
}

func TestReportGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteReport(&buf, reportSources()); err != nil {
		t.Fatal(err)
	}
	got := outline(t, buf.Bytes())
	golden := filepath.Join("testdata", "report.outline.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("report outline differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	if strings.Contains(got, "EMPTY") {
		t.Error("a chart is empty")
	}
}

// TestReportSelfContained: nothing in the page points anywhere else.
func TestReportSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteReport(&buf, reportSources()); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", `rel="stylesheet"`, "src=", "@import", "url(", `href="http`, `href="//`} {
		if strings.Contains(page, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
}

func TestReportEscapesRunStrings(t *testing.T) {
	srcs := reportSources()
	evil := "<script>alert(1)</script>"
	srcs[0].Run.Label = evil
	srcs[0].Run.Contenders[0].Label = evil
	srcs[0].Run.Notes = []string{evil}
	srcs[0].Run.Scenario.Summary = evil
	var buf bytes.Buffer
	if err := report.WriteReport(&buf, srcs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), evil) {
		t.Error("a run's string reached the page unescaped")
	}
	if !strings.Contains(buf.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped label is not on the page")
	}
}

func TestWriteReportFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	if err := report.WriteReportFile(path, nil); err == nil {
		t.Fatal("a report of no run was written")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left after a failed report", len(entries))
	}
	if err := report.WriteReportFile(path, reportSources()); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files after writing one report", len(entries))
	}
}

// browseDir makes a results directory with two runs, a broken file, and a
// link to a file outside it.
func browseDir(t *testing.T) (dir string, names []string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "results")
	os.Mkdir(dir, 0o755)
	for _, s := range reportSources()[:2] {
		p, err := results.Write(dir, s.Run)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
	}
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"schema_`), 0o644)
	secret := filepath.Join(root, "secret.json")
	data, _ := os.ReadFile(filepath.Join(dir, names[0]))
	os.WriteFile(secret, data, 0o644)
	os.Symlink(secret, filepath.Join(dir, "link.json"))
	return dir, names
}

func TestBrowser(t *testing.T) {
	dir, names := browseDir(t)
	b, err := report.NewBrowser(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(b)
	defer srv.Close()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, index := get("GET", "/")
	if code != 200 || !strings.Contains(index, names[0]) || !strings.Contains(index, names[1]) ||
		!strings.Contains(index, "truncated JSON") || !strings.Contains(index, "loaded the 12-object page") {
		t.Errorf("index: %d\n%s", code, index)
	}
	tests := []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/report?run=" + names[0], 200, `data-chart="waterfall"`},
		{"GET", "/report?run=" + names[0] + "&run=" + names[1], 200, "#2 after the change"},
		{"GET", "/runs/" + names[0], 200, fmt.Sprintf(`"schema_version": %d`, results.SchemaVersion)},
		{"GET", "/report", 400, "name at least one run"},
		{"GET", "/report?run=../secret.json", 400, "is not the name of a result file"},
		{"GET", "/report?run=%2Fetc%2Fpasswd", 400, "is not the name of a result file"},
		{"GET", "/runs/..%2Fsecret.json", 400, "is not the name of a result file"},
		{"GET", "/report?run=link.json", 404, "no such result"},
		{"GET", "/report?run=nope.json", 404, "no such result"},
		{"GET", "/report?run=broken.json", 422, "truncated JSON"},
		{"POST", "/report?run=" + names[0], 405, "read-only"},
		{"DELETE", "/runs/" + names[0], 405, "read-only"},
		{"GET", "/etc/passwd", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			code, body := get(tc.method, tc.path)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("%d %q, want %d with %q", code, trim(body), tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, names[0])); err != nil {
		t.Error("a request removed a result")
	}
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// A browser contender's page is drawn beside muxlab's clients', in one
// lane that says the browser does not name its connections, and its
// fidelity row and LOADED flag are in the report's table and verdict.
func TestReportBrowserWaterfall(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteReport(&buf, []report.Source{{Name: "b.json", Run: resultstest.SampleWithBrowser()}}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"waterfall of one page, chromium-h2 (1 connection)", ">browser (12)<", "1.10x h2", "LOADED", "Chromium / muxlab, HTTP/2: 1.10x"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// A report of a scenario of slow and fast requests explains, in two
// sentences each, the layer where each protocol it measured blocks a fast
// request; a page scenario's has no such list.
func TestReportExplainsHOLLayers(t *testing.T) {
	r := resultstest.Sample()
	r.Contenders[0].Protocol, r.Contenders[1].Protocol = "HTTP/1.1", "HTTP/2"
	for _, hol := range []bool{false, true} {
		if hol {
			r.Scenario.SlowEvery = 10
		}
		var buf bytes.Buffer
		if err := report.WriteReport(&buf, []report.Source{{Name: "r.json", Run: r}}); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		got := strings.Count(page, "<li>HTTP/1.1 with a pool") + strings.Count(page, "<li>HTTP/2: answers interleave")
		if want := map[bool]int{false: 0, true: 2}[hol]; got != want || strings.Contains(page, "HTTP/3: QUIC carries") {
			t.Errorf("hol %v: %d layers explained, want %d", hol, got, want)
		}
	}
}
