package results_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muxlab/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sample builds a small run with known figures.
func sample() *results.Run {
	start := time.Date(2026, 11, 23, 20, 15, 0, 0, time.UTC)
	r := results.NewRun("test", "go1.26", results.Machine{OS: "linux", Arch: "amd64", CPUs: 2, GOMAXPROCS: 2}, start)
	r.Finished = start.Add(time.Minute)
	r.Scenario = results.Scenario{Name: "page", Summary: "a page", Mode: results.Page, Endpoint: "/tile/{n}",
		Delay: results.Duration(50 * time.Millisecond), Objects: 12, Pages: 2, Rounds: 2, Warmup: 1, Conns: 6}
	r.Target = results.Target{H1URL: "http://127.0.0.1:8080", H2CURL: "http://127.0.0.1:8081", Embedded: true, GroundTruth: "in process"}
	mk := func(name, label string, pageMS, conns int64) results.Contender {
		c := results.Contender{Name: name, Label: label, Conns: int(conns)}
		turns := map[string]int{"h1": 2, "h2": 1}[name]
		for round := 1; round <= 2; round++ {
			lat, page, wait, svc := results.NewHistogram(), results.NewHistogram(), results.NewHistogram(), results.NewHistogram()
			for i := range 24 {
				lat.Record(time.Duration(pageMS/2+int64(i)) * time.Millisecond)
				wait.Record(time.Duration(pageMS/2-50+int64(i)) * time.Millisecond)
				svc.Record(50 * time.Millisecond)
			}
			page.Record(time.Duration(pageMS+int64(round)) * time.Millisecond)
			page.Record(time.Duration(pageMS+int64(round)) * time.Millisecond)
			var timings []results.Timing
			for obj := range 12 {
				conn := uint64(1 + obj%int(conns))
				sent := int64(obj/int(conns)) * pageMS * 1000 / 2
				timings = append(timings, results.Timing{Object: obj, Conn: conn, SentUS: sent, EndUS: sent + pageMS*500, Status: 200})
			}
			c.Rounds = append(c.Rounds, results.Round{Round: round, Elapsed: results.Duration(time.Second), Sample: timings,
				Sent: 25, OK: 24, Failed: 1, Statuses: map[string]int64{"200": 24, "503": 1}, Errors: map[string]int64{"status 503": 1},
				Throughput: 24, Latency: lat.Dist(), Page: page.Dist(), Wait: wait.Dist(), Service: svc.Dist(),
				Client: &results.ClientConns{Dials: conns}, Server: &results.ServerConns{Listener: name, ConnectionsAccepted: conns},
				Model: &results.Model{Turns: turns, TurnTime: results.Duration(50 * time.Millisecond),
					Predicted: results.Duration(time.Duration(turns) * 50 * time.Millisecond)}})
		}
		return c
	}
	r.Contenders = []results.Contender{mk("h1", "h1 (6 connections)", 100, 6), mk("h2", "h2 (1 connection)", 50, 1)}
	results.Summarize(r)
	return r
}

func TestSummarize(t *testing.T) {
	r := sample()
	h1 := r.Contender("h1").Total
	if h1.Sent != 50 || h1.OK != 48 || h1.Failed != 2 || h1.Statuses["503"] != 2 || h1.Latency.Count != 48 || h1.Page.Count != 4 {
		t.Errorf("h1 total %+v", h1)
	}
	x, ok := r.Ratio("h2", "page p50")
	// Round 1: 51/101; round 2: 52/102.
	if !ok || x.Min > x.Median || x.Median > x.Max || x.Min < 0.50 || x.Max > 0.52 {
		t.Errorf("page p50 ratio %+v", x)
	}
	want := "h2 (1 connection) loaded the 12-object page 2.0x faster than h1 (6 connections): p50 page 51.0 ms vs 101 ms; the server saw 1 vs 6 connections"
	if r.Verdict != want {
		t.Errorf("verdict\n got %q\nwant %q", r.Verdict, want)
	}
}

func TestTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := results.WriteTable(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
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

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	path, err := results.Write(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "20261123-201500-page.json" {
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
	good, err := results.Write(dir, sample())
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
		{"version", write("v9.json", strings.Replace(string(data), `"schema_version": 1`, `"schema_version": 9`, 1)),
			"schema_version 9 is not supported: this muxlab reads version 1"},
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
	if _, err := results.Write(filepath.Join(blocker, "sub"), sample()); err == nil {
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
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"muxlab"}}`))
	f.Add([]byte(`{"schema_version":1,"tool":{"name":"muxlab"},"scenario":{"delay":"5 parsecs"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := results.Decode(data)
		if err == nil && r.SchemaVersion != results.SchemaVersion {
			t.Fatalf("accepted schema_version %d", r.SchemaVersion)
		}
	})
}
