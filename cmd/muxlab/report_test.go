package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"muxlab/results"
)

// writeRun runs a tiny bench and returns the result file.
func writeRun(t *testing.T, dir string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "-q", "--scenario", "page", "--objects", "12", "--pages", "1", "--rounds", "1",
		"--delay", "5ms", "--contenders", "h1,h2", "--out", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("bench: exit %d: %s", code, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("bench wrote %v", files)
	}
	return files[0]
}

func TestReportWritesHTML(t *testing.T) {
	dir := t.TempDir()
	file := writeRun(t, dir)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"report", file}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	html := strings.TrimSuffix(file, ".json") + ".html"
	data, err := os.ReadFile(html)
	if err != nil || !strings.Contains(stdout.String(), "report written to "+html) {
		t.Fatalf("%v; stdout %q", err, stdout.String())
	}
	if !strings.Contains(string(data), `data-chart="waterfall"`) || !strings.Contains(string(data), "loaded the 12-object page") {
		t.Error("the report lacks its waterfall or verdict")
	}
	out := filepath.Join(dir, "both.html")
	if code := run(context.Background(), []string{"report", file, file, "-o", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("two runs: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

// TestReportBadFiles: each bad file is named with what is wrong, exit 1,
// and no HTML is left behind.
func TestReportBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeRun(t, filepath.Join(dir, "good"))
	data, _ := os.ReadFile(good)
	bad := map[string]string{
		"empty.json":     "",
		"truncated.json": string(data[:len(data)/3]),
		"foreign.json":   `{"name": "something else"}`,
		"version.json":   strings.Replace(string(data), fmt.Sprintf(`"schema_version": %d`, results.SchemaVersion), `"schema_version": 99`, 1),
		"negative.json":  regexp.MustCompile(`"failed": \d+`).ReplaceAllString(string(data), `"failed": -7`),
	}
	want := map[string]string{
		"empty.json": "the file is empty", "truncated.json": "truncated JSON",
		"foreign.json": "not a muxlab result", "version.json": "schema_version 99 is not supported",
		"missing.json": "no such file", "negative.json": "failed: -7 is negative",
	}
	for name, content := range bad {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	for name, msg := range want {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+name+".html")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"report", good, filepath.Join(dir, name), "-o", out}, &stdout, &stderr)
			if code != exitFailure || !strings.Contains(stderr.String(), name) || !strings.Contains(stderr.String(), msg) {
				t.Errorf("exit %d, stderr %q; want exit 1 naming %s and %q", code, stderr.String(), name, msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a partial report was left behind")
			}
		})
	}
}

func TestReportUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "name one or more result files"},
		{[]string{"report", "--serve=" + busy.Addr().String(), "--dir", dir}, "--serve: cannot listen on " + busy.Addr().String()},
		{[]string{"report", "--serve", busy.Addr().String(), "--dir", dir}, "--serve: cannot listen on " + busy.Addr().String()},
		{[]string{"report", "--serve", "--dir", filepath.Join(dir, "nope")}, "--dir:"},
		{[]string{"report", "--serve=nonsense"}, `--serve: "nonsense" is not an address`},
		{[]string{"report", "--bogus"}, "unknown flag: --bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// TestReportServe: --serve answers until interrupted, then exits 0.
func TestReportServe(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"report", "--serve=" + addr, "--dir", dir}, &stdout, &stderr) }()
	waitServing(t, &stdout)
	resp, err := httpGet("http://" + addr + "/")
	if err != nil || !strings.Contains(resp, "loaded the 12-object page") {
		t.Errorf("index: %v %q", err, resp)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
