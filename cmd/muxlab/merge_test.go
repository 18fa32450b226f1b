package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
	"muxlab/results"
)

// Two real runs from two agents merge into one whose counts add up and
// whose p99 is the p99 of the merged histogram; a run of another scenario,
// or two agents of one name, are refused naming the files.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, agent := range []string{"agent-0", "agent-1"} {
		out := filepath.Join(dir, agent)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"bench", "-q", "--scenario", "latency", "-n", "60", "--rounds", "1",
			"--contenders", "h1,h2", "--agent", agent, "--out", out}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		files, _ := filepath.Glob(filepath.Join(out, "*.json"))
		paths = append(paths, files[0])
	}
	merged := filepath.Join(dir, "merged.json")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"merge", "-o", merged}, paths...), &stdout, &stderr); code != exitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr.String())
	}
	m, err := results.Read(merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Contenders {
		h := results.NewHistogram()
		var ok int64
		for _, p := range paths {
			r, _ := results.Read(p)
			for _, rc := range r.Contenders {
				if rc.Name == c.Name {
					ok += rc.Total.OK
					x, _ := rc.Total.Latency.Histogram()
					h.Merge(x)
				}
			}
		}
		if c.Total.OK != ok || c.Total.OK != 120 || c.Total.Latency.P99 != h.Dist().P99 {
			t.Errorf("%s: ok %d (want %d), p99 %v (want %v)", c.Name, c.Total.OK, ok, c.Total.Latency.P99, h.Dist().P99)
		}
	}
	if len(m.Agents) != 2 || !strings.Contains(stdout.String(), "merged from 2 agents") {
		t.Errorf("agents %+v; output %s", m.Agents, stdout.String())
	}
	// The same agent twice, and too few files.
	stderr.Reset()
	if code := run(context.Background(), []string{"merge", "-o", merged + ".2", paths[0], paths[0]}, &stdout, &stderr); code != exitFailure ||
		!strings.Contains(stderr.String(), "both agent \"agent-0\"") {
		t.Errorf("same agent: exit %d, %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"merge", paths[0]}, &stdout, &stderr); code != exitUsage {
		t.Errorf("one file: exit %d", code)
	}
	if _, err := os.Stat(merged + ".2"); err == nil {
		t.Error("a refused merge wrote a file")
	}
}

// --start-at in the past starts at once and says so; too far ahead is
// refused unless --start-at-max allows it; --out - writes the JSON alone to
// standard output.
func TestStartAtAndOutToStdout(t *testing.T) {
	args := []string{"bench", "--scenario", "latency", "-n", "20", "--rounds", "1", "--contenders", "h1", "--out", "-"}
	var stdout, stderr bytes.Buffer
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if code := run(context.Background(), append(args, "--start-at", past), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r results.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Contenders[0].Total.OK != 20 {
		t.Errorf("stdout is not the result alone: %v", err)
	}
	if !strings.Contains(stderr.String(), "past: starting at once") || !strings.Contains(stderr.String(), "muxlab bench: latency") {
		t.Errorf("stderr %q", stderr.String())
	}
	ahead := time.Now().Add(20 * time.Minute).UTC().Format(time.RFC3339)
	stderr.Reset()
	if code := run(context.Background(), append(args, "--start-at", ahead), &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "more than --start-at-max 10m0s") {
		t.Errorf("20 minutes ahead: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), append(args, "--start-at", "tomorrow"), &stdout, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "--start-at: \"tomorrow\" is not a time") {
		t.Errorf("a bad time: exit %d, %q", code, stderr.String())
	}
	// A start a moment ahead is waited for.
	soon := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	start := time.Now()
	if code := run(context.Background(), append(args, "-q", "--start-at", soon.UTC().Format(time.RFC3339)), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if time.Now().Before(soon) {
		t.Errorf("the run, started at %v, ended before its --start-at %v", start, soon)
	}
}

// Three agent processes against one mux server, started together: their
// merged result adds up to the server's own count, three times six
// HTTP/1.1 connections and three times one HTTP/2 connection, besides the
// one connection each agent's round-trip probe opened per contender.
func TestThreeAgents(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "muxlab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	start := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)
	var files []string
	var cmds []*exec.Cmd
	dir := t.TempDir()
	for i := range 3 {
		f := filepath.Join(dir, fmt.Sprintf("agent-%d.json", i))
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command(bin, "bench", "-q", "--scenario", "page", "--objects", "30", "--pages", "2", "--rounds", "1",
			"--warmup", "0", "--delay", "10ms", "--contenders", "h1,h2", "--h1-url", srv.URL(mux.ListenerH1), "--h2c-url", srv.URL(mux.ListenerH2C),
			"--agent", fmt.Sprintf("agent-%d", i), "--no-server-counts", "--start-at", start, "--out", "-")
		cmd.Stdout = out
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, files = append(cmds, cmd), append(files, f)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("agent %d: %v: %s", i, err, cmd.Stderr.(*bytes.Buffer).String())
		}
	}
	var runs []*results.Run
	for _, f := range files {
		r, err := results.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	m, err := results.Merge(runs, files)
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats().Listeners
	want := map[string]struct {
		listener string
		conns    int64
	}{"h1": {mux.ListenerH1, 3 * 6}, "h2": {mux.ListenerH2C, 3 * 1}}
	for _, c := range m.Contenders {
		w := want[c.Name]
		tot := c.Total
		if tot.Client.Dials != w.conns || st[w.listener].ConnectionsAccepted != w.conns+3 || tot.OK != 3*2*30 || st[w.listener].Requests < tot.OK {
			t.Errorf("%s: merged dials %d, ok %d; server %+v; want %d connections (+3 probes) and %d requests", c.Name, tot.Client.Dials, tot.OK,
				st[w.listener], w.conns, 3*2*30)
		}
	}
}
