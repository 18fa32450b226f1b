package report_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"muxlab/internal/browsertest"
	"muxlab/report"
	"muxlab/results"
)

// pageFigures is what the report shows, read from the rendered page.
type pageFigures struct {
	Title   string  `json:"title"`
	Verdict string  `json:"verdict"`
	Heading string  `json:"heading"`
	Numbers int     `json:"numbers"`
	Charts  []chart `json:"charts"`
}

type chart struct {
	Kind   string  `json:"kind"`
	Width  float64 `json:"w"`
	Height float64 `json:"h"`
	Shapes int     `json:"shapes"`
}

const readFigures = `(() => ({
  title: document.title,
  verdict: (document.querySelector('.verdict') || {}).textContent || '',
  heading: (document.querySelector('article.run h3') || {}).textContent || '',
  numbers: [...document.querySelectorAll('table.summary td')].filter(td => /\d/.test(td.textContent)).length,
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const s = f.querySelector('svg');
    const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
    return {kind: f.dataset.chart, w: r.width, h: r.height,
      shapes: s ? s.querySelectorAll('path,rect,line,circle,polyline').length : 0};
  }),
}))()`

// checkReport loads u and checks that the report rendered whole, stayed on
// allowed hosts and logged no error.
func checkReport(t *testing.T, ctx context.Context, ev *browsertest.Events, u string, allowed func(string) bool) pageFigures {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("table.summary"))); err != nil {
		t.Fatalf("loading %s: %v", u, err)
	}
	fig, err := chromedp.Run(ctx, chromedp.Evaluate[pageFigures](readFigures))
	if err != nil {
		t.Fatalf("reading %s: %v", u, err)
	}
	if !strings.Contains(fig.Verdict, "faster than") || fig.Numbers < 20 {
		t.Errorf("verdict %q and %d numbers in the summary table", fig.Verdict, fig.Numbers)
	}
	kinds := map[string]int{}
	for _, c := range fig.Charts {
		kinds[c.Kind]++
		if c.Width < 100 || c.Height < 50 || c.Shapes < 5 {
			t.Errorf("chart %s rendered %.0fx%.0f with %d shapes", c.Kind, c.Width, c.Height, c.Shapes)
		}
	}
	for _, k := range []string{"latency", "rounds", "wait-service", "connections", "waterfall"} {
		if kinds[k] == 0 {
			t.Errorf("no %s chart rendered (charts: %v)", k, kinds)
		}
	}
	if errs := ev.Errors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
	for _, r := range ev.Requests() {
		if !allowed(r) {
			t.Errorf("the page requested %s", r)
		}
	}
	if d := ev.Dialogs(); len(d) > 0 {
		t.Errorf("a dialog opened: %q", d)
	}
	return fig
}

// referenceRun is the run make report committed under docs/reference.
func referenceRun(t *testing.T) (string, *results.Run) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "docs", "reference", "*.json"))
	if len(files) == 0 {
		t.Fatal("no reference run in docs/reference: run make report")
	}
	r, err := results.Read(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return files[0], r
}

func TestReportInChromiumFromFile(t *testing.T) {
	ctx, ev := browsertest.New(t, browsertest.Options{})
	_, ref := referenceRun(t)
	ref.Label = "<script>alert(1)</script>"
	path := filepath.Join(t.TempDir(), "report.html")
	if err := report.WriteReportFile(path, []report.Source{{Name: "reference.json", Run: ref}}); err != nil {
		t.Fatal(err)
	}
	fig := checkReport(t, ctx, ev, "file://"+path, func(u string) bool {
		return strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:")
	})
	if fig.Heading != ref.Label {
		t.Errorf("the label shows as %q, want the text %q", fig.Heading, ref.Label)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "muxlab-report.png")
	if *update {
		shot = filepath.Join("..", "docs", "report.png")
		// The README's picture shows the reference run as it is, unlabelled.
		path = filepath.Join(t.TempDir(), "plain.html")
		ref.Label = ""
		if err := report.WriteReportFile(path, []report.Source{{Name: "reference.json", Run: ref}}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 1500), chromedp.Navigate("file://"+path),
			chromedp.WaitVisible(chromedp.CSS("table.summary"))); err != nil {
			t.Fatal(err)
		}
		if png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

func TestReportInChromiumThroughServe(t *testing.T) {
	ctx, ev := browsertest.New(t, browsertest.Options{})
	file, _ := referenceRun(t)
	b, err := report.NewBrowser(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(b)
	defer srv.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#runs"))); err != nil {
		t.Fatal(err)
	}
	links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#runs a[href^="/report?run="]').length`))
	if err != nil || links == 0 {
		t.Fatalf("the list of runs links to no report (%v)", err)
	}
	// Tick the run and compare: the form leads to its report.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name="run"]`)), chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.summary"))); err != nil {
		t.Fatal(err)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/report?run=") {
		t.Errorf("comparing led to %s (%v)", loc, err)
	}
	host := srv.URL
	checkReport(t, ctx, ev, srv.URL+"/report?run="+url.QueryEscape(filepath.Base(file)), func(u string) bool {
		return strings.HasPrefix(u, host+"/") || strings.HasPrefix(u, "data:")
	})
}

// The report of a four-contender run (the reference run: h1, h2, h3, hey)
// fits a 1280 px window: nothing reaches past its right edge, the summary
// table's ratio columns included.
func TestReportFits1280(t *testing.T) {
	ctx, ev := browsertest.New(t, browsertest.Options{Width: 1280, Height: 900})
	_, ref := referenceRun(t)
	if len(ref.Contenders) < 4 {
		t.Fatalf("the reference run has %d contenders, want 4", len(ref.Contenders))
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := report.WriteReportFile(path, []report.Source{{Name: "reference.json", Run: ref}}); err != nil {
		t.Fatal(err)
	}
	checkReport(t, ctx, ev, "file://"+path, func(u string) bool { return strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:") })
	type fit struct {
		Window  float64 `json:"window"`
		Page    float64 `json:"page"`
		Widest  float64 `json:"widest"`
		Columns int     `json:"columns"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[fit](`(() => ({
	  window: window.innerWidth, page: document.documentElement.scrollWidth,
	  widest: Math.max(...[...document.querySelectorAll('table, svg, p')].map(e => e.getBoundingClientRect().right)),
	  columns: document.querySelector('table.summary thead tr').children.length}))()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Window != 1280 || got.Page > got.Window || got.Widest > got.Window || got.Columns < 1+len(ref.Contenders)+2 {
		t.Errorf("in a %v px window the page is %v px wide, its widest element ends at %v px, the summary has %d columns",
			got.Window, got.Page, got.Widest, got.Columns)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "muxlab-report-1280.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}
