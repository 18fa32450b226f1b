package report_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

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
