package results_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"muxlab/internal/resultstest"
	"muxlab/results"
)

func TestSummarize(t *testing.T) {
	r := resultstest.Sample()
	h1 := r.Contender("h1").Total
	if h1.Sent != 50 || h1.OK != 48 || h1.Failed != 2 || h1.Statuses["503"] != 2 || h1.Latency.Count != 48 || h1.Page.Count != 4 {
		t.Errorf("h1 total %+v", h1)
	}
	x, ok := r.Ratio("h2", "page p50")
	// Round 1: 51/101; round 2: 52/102.
	if !ok || x.Min > x.Median || x.Median > x.Max || x.Min < 0.50 || x.Max > 0.52 {
		t.Errorf("page p50 ratio %+v", x)
	}
	want := "h2 (1 connection) loaded the 12-object page 2.0x faster than h1 (6 connections): p50 page 51.0 ms vs 101 ms; the server saw 1 vs 6 connections\n" +
		"FAILED: 2 of 50 requests of h1 (6 connections) failed (status 503: 2)\n" +
		"FAILED: 2 of 50 requests of h2 (1 connection) failed (status 503: 2)"
	if r.Verdict != want {
		t.Errorf("verdict\n got %q\nwant %q", r.Verdict, want)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := resultstest.Sample()
	path, err := results.Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "20261123-201500-page-"+r.ID+".json" || len(r.ID) != 8 {
		t.Errorf("file name %s", filepath.Base(path))
	}
	back, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Verdict != r.Verdict || back.Scenario.Delay != r.Scenario.Delay || len(back.Contenders) != 2 {
		t.Errorf("read back %+v", back)
	}
	// The histograms come back and merge.
	h, err := back.Contenders[0].Rounds[0].Latency.Histogram()
	if err != nil || h.Count() != 24 {
		t.Fatalf("histogram: %v, count %d", err, h.Count())
	}
	results.Summarize(back)
	if back.Contender("h1").Total.Latency.P99 != r.Contender("h1").Total.Latency.P99 {
		t.Error("summarizing a read-back run changed its figures")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the result", len(entries))
	}
}

func TestReadRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := results.Write(dir, resultstest.Sample())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.json"), "no such file"},
		{"empty", write("empty.json", "  \n"), "the file is empty"},
		{"truncated", write("cut.json", string(data[:len(data)/2])), "truncated JSON"},
		{"foreign", write("foreign.json", `{"hello": "world"}`), "not a muxlab result"},
		{"not json", write("text.json", "hello"), "invalid JSON"},
		{"version", write("v99.json", strings.Replace(string(data), fmt.Sprintf(`"schema_version": %d`, results.SchemaVersion), `"schema_version": 99`, 1)),
			fmt.Sprintf("schema_version 99 is not supported: this muxlab reads version %d", results.SchemaVersion)},
		{"trailing", write("two.json", string(data)+"{}"), "unexpected data after the JSON document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := results.Read(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
				t.Errorf("Read: %v, want an error naming the file and %q", err, tc.want)
			}
		})
	}
}

func TestWriteToUnwritableDirLeavesNothing(t *testing.T) {
	// Tests run as root here, which writes through permissions; a path
	// under a regular file cannot be written by anyone.
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if err := results.CheckDir(filepath.Join(blocker, "sub")); err == nil {
		t.Error("CheckDir accepted a directory under a regular file")
	}
	if _, err := results.Write(filepath.Join(blocker, "sub"), resultstest.Sample()); err == nil {
		t.Error("Write into a directory under a regular file succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries left behind", len(entries))
	}
}

// FuzzDecode: no input makes the result reader panic, and whatever it
// accepts has the supported schema version.
func FuzzDecode(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join("testdata", "table.golden"))
	f.Add(data)
	f.Add([]byte(`{"schema_version":2,"tool":{"name":"muxlab"}}`))
	f.Add([]byte(`{"schema_version":2,"tool":{"name":"muxlab"},"scenario":{"delay":"5 parsecs"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := results.Decode(data)
		if err == nil && r.SchemaVersion != results.SchemaVersion {
			t.Fatalf("accepted schema_version %d", r.SchemaVersion)
		}
	})
}

// TestOutOfRangeCounted: a time beyond the histogram's range is held at its
// bound and counted, through merging and encoding; 0 is a value like any.
func TestOutOfRangeCounted(t *testing.T) {
	t.Parallel()
	h := results.NewHistogram()
	h.Record(0)
	h.Record(2 * time.Hour)
	h.Record(-time.Millisecond)
	o := results.NewHistogram()
	o.Record(3 * time.Hour)
	h.Merge(o)
	d := h.Dist()
	back, err := d.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if d.OutOfRange != 3 || back.OutOfRange() != 3 || d.Count != 4 || h.Quantile(25) != 0 {
		t.Errorf("out of range %d (decoded %d), count %d, p25 %v", d.OutOfRange, back.OutOfRange(), d.Count, h.Quantile(25))
	}
}

// TestInterruptedRoundsLeftOutOfRatios: a round cut short on either side is
// not in a ratio's median, min or max.
func TestInterruptedRoundsLeftOutOfRatios(t *testing.T) {
	t.Parallel()
	r := resultstest.Sample()
	h2 := r.Contender("h2")
	h2.Rounds[1].Interrupted = true
	h2.Rounds[1].Page = pageOf(time.Second) // a round cut short measures anything
	results.Summarize(r)
	x, ok := r.Ratio("h2", "page p50")
	if !ok || x.Max > 0.52 || x.Min != x.Max {
		t.Errorf("ratio %+v rests on the interrupted round", x)
	}
}

// TestBaselineByRecordNotName: the baseline is the one the run names, and a
// reference contender gets no verdict.
func TestBaselineByRecordNotName(t *testing.T) {
	t.Parallel()
	r := resultstest.Sample()
	r.Contenders[0].Name, r.Contenders[0].Label = "pool", "pool (6 connections)"
	r.Baseline = "pool"
	results.Summarize(r)
	if x, ok := r.Ratio("h2", "page p50"); !ok || x.Baseline != "pool" {
		t.Errorf("ratio %+v", x)
	}
	if !strings.Contains(r.Verdict, "faster than pool (6 connections)") {
		t.Errorf("verdict %q", r.Verdict)
	}
	r.Contenders[1].Reference = true
	results.Summarize(r)
	if !strings.HasPrefix(r.Verdict, "no verdict") {
		t.Errorf("verdict about a reference: %q", r.Verdict)
	}
}

func pageOf(d time.Duration) *results.Dist {
	h := results.NewHistogram()
	h.Record(d)
	return h.Dist()
}

// TestReadRefusesBrokenCounts: a result whose counts break the invariants
// is refused naming the file and the field; so is one beyond MaxFileBytes.
func TestReadRefusesBrokenCounts(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		edit  func(r *results.Run)
		field string
	}{
		{"negative failed", func(r *results.Run) { r.Contenders[0].Total.Failed = -7 }, `contenders[0] "h1" total.failed: -7 is negative`},
		{"sent not ok+failed", func(r *results.Run) { r.Contenders[1].Rounds[0].OK += 5 }, `contenders[1] "h2" rounds[0].sent: ok`},
		{"scheduled not sent+unsent", func(r *results.Run) { r.Contenders[0].Total.Scheduled += 3 }, `contenders[0] "h1" total.scheduled`},
		{"kinds not failed", func(r *results.Run) { r.Contenders[0].Total.Errors = map[string]int64{"timeout": 1} }, `total.errors: the kinds add up to 1`},
		{"negative status", func(r *results.Run) { r.Contenders[0].Total.Statuses = map[string]int64{"200": -1} }, `total.statuses["200"]`},
	} {
		r := resultstest.Sample()
		tc.edit(r)
		r.Label = strings.ReplaceAll(tc.name, " ", "-")
		path, err := results.Write(dir, r)
		if err != nil {
			t.Fatal(err)
		}
		_, err = results.Read(path)
		var fe *results.FieldError
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.field) || !errors.As(err, &fe) {
			t.Errorf("%s: %v; want the file and %q", tc.name, err, tc.field)
		}
	}
	big := filepath.Join(dir, "big.json")
	f, _ := os.Create(big)
	f.Truncate(results.MaxFileBytes + 1)
	f.Close()
	if _, err := results.Read(big); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("a file beyond the bound: %v", err)
	}
}

// TestTotalSaysWhatItLeftOut: a round whose histogram cannot be decoded is
// left out of the total, and the run's notes say so.
func TestTotalSaysWhatItLeftOut(t *testing.T) {
	r := resultstest.Sample()
	r.Contenders[0].Rounds[0].Latency.HDR = "not a histogram"
	r.Notes = nil
	results.Summarize(r)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], r.Contenders[0].Name+": the latency histogram") || !strings.Contains(r.Notes[0], "leaves those figures out") {
		t.Errorf("notes %q", r.Notes)
	}
}

// A browser contender's verdict line carries LOADED when the machine was
// busy with something else before its turns, summed over its rounds; a
// quiet machine's does not.
func TestBrowserLoadedInVerdict(t *testing.T) {
	t.Parallel()
	for _, quietStall := range []time.Duration{0, 80 * time.Millisecond} {
		r := resultstest.Sample()
		br := *r.Contender("h2")
		br.Name, br.Label, br.Counterpart, br.Reference = "chromium-h2", "chromium-h2 (1 connection)", "h2", true
		br.Rounds = slices.Clone(br.Rounds)
		for i := range br.Rounds {
			br.Rounds[i].Browser = &results.Browser{Pages: 2, FirstRequest: results.Duration(40 * time.Millisecond), CPUStallKnown: true,
				Wall: results.Duration(time.Second), QuietWall: results.Duration(250 * time.Millisecond), QuietStall: results.Duration(quietStall / 2)}
		}
		r.Contenders = append(r.Contenders, br)
		results.Summarize(r)
		b := r.Contender("chromium-h2").Total.Browser
		if b == nil || b.Pages != 2*int64(len(br.Rounds)) || b.QuietWall.D() != time.Duration(len(br.Rounds))*250*time.Millisecond {
			t.Fatalf("total of the browser's timings %+v", b)
		}
		loaded := strings.Contains(r.Verdict, "Chromium / muxlab") && strings.Contains(r.Verdict, "LOADED")
		if want := quietStall > 0; loaded != want || b.Loaded() != want {
			t.Errorf("quiet stall %v: verdict %q, Loaded %v", quietStall, r.Verdict, b.Loaded())
		}
	}
}

// Runs started in the same second get names of their own, and a result is
// never written over another: the second write of the same run is refused.
func TestNoResultOverwritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 5 {
		path, err := results.Write(dir, resultstest.Sample()) // the same start time each
		if err != nil || seen[path] {
			t.Fatalf("write %s: %v", path, err)
		}
		seen[path] = true
	}
	r := resultstest.Sample()
	if _, err := results.Write(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Write(dir, r); !errors.Is(err, results.ErrExists) {
		t.Errorf("writing the same run twice: %v, want ErrExists", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 6 {
		t.Errorf("%d files in the directory, want 6 and no temporary ones: %v", len(files), files)
	}
}
