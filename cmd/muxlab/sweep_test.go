package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"muxlab/internal/browsertest"
	"muxlab/internal/muxtest"
	"muxlab/results"
)

func TestSweepBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--over", "colour"}, `--over: "colour" is not a parameter a sweep can vary; valid: loss, rtt, bandwidth, objects, stack`},
		{[]string{"--over", "stack", "--values", "kernel,gvisor"}, `--values: "gvisor" is not a value of stack: want kernel or userspace`},
		{[]string{"--over", "stack", "--stack", "kernel"}, "--stack: it is what --over stack varies"},
		{[]string{"--over", "loss", "--loss", "1%"}, "--loss: it is what --over loss varies; give its values with --values"},
		{[]string{"--over", "loss", "--values", "1%"}, "--values: 1 values; a sweep takes 2 to 20"},
		{[]string{"--over", "loss", "--values", "1%,150%"}, `--values: "150%" is not a value of loss`},
		{[]string{"--over", "rtt", "--values", "10ms,-5ms"}, "--rtt: -5ms is out of range"},
		{[]string{"--over", "objects", "--scenario", "latency", "--values", "1,2"}, "--objects: only for the page scenario"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"sweep", "-q", "--out", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// sweepResult runs muxlab sweep -q --over over args... into out, and
// returns the one page sweep result it wrote, what it printed, and the
// result's file.
func sweepResult(t *testing.T, out, over string, args ...string) (r *results.Run, stdout, file string) {
	t.Helper()
	var o, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"sweep", "-q", "--over", over, "--out", out}, args...), &o, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-page-sweep-"+over+"-*.json"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	r, err := results.Read(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return r, o.String(), files[0]
}

// A sweep over the stack runs the same lossy page on the kernel's TCP and
// on gVisor's, says which carried each point, and gives each contender's
// userspace / kernel ratio.
func TestSweepOverStack(t *testing.T) {
	muxtest.RequireKernel(t)
	r, stdout, _ := sweepResult(t, t.TempDir(), "stack", "--scenario", "page",
		"--objects", "16", "--pages", "2", "--rounds", "1", "--warmup", "0", "--delay", "0", "--size", "8KiB",
		"--rtt", "10ms", "--loss", "3%", "--contenders", "h1,h2")
	sw := r.Sweep
	if sw == nil || len(sw.Points) != 2 {
		t.Fatalf("sweep %+v", sw)
	}
	for i, want := range []string{"kernel", "userspace"} {
		n := sw.Points[i].Run.Network
		if sw.Points[i].Value != want || n.Stack != want || n.StackWhy != "chosen" {
			t.Errorf("point %d: %q on the %q stack (%s), want %s", i, sw.Points[i].Value, n.Stack, n.StackWhy, want)
		}
		for _, c := range sw.Points[i].Run.Contenders {
			if l := c.Total.Link; l == nil || l.DroppedLoss == 0 || l.Retransmits == 0 || l.ProbesCounted != (want == "kernel") {
				t.Errorf("%s on %s: link %+v; want drops, retransmits and probes counted on the kernel alone", c.Name, want, l)
			}
		}
	}
	if !strings.Contains(r.Verdict, "userspace / kernel, page time p50: h1 ") || !strings.Contains(stdout, "userspace / kernel") {
		t.Errorf("verdict %q and output %q give no userspace / kernel ratios", r.Verdict, stdout)
	}
}

// A sweep over loss writes one result with a run per value, whose report
// shows the sweep's chart in a real browser.
func TestSweepOverLoss(t *testing.T) {
	out := t.TempDir()
	r, printed, file := sweepResult(t, out, "loss", "--values", "0,5%", "--scenario", "page",
		"--objects", "16", "--pages", "1", "--rounds", "1", "--warmup", "0", "--delay", "0", "--size", "8KiB",
		"--rtt", "10ms", "--contenders", "h1,h2")
	sw := r.Sweep
	if sw == nil || len(sw.Points) != 2 || sw.Points[1].X != 5 || sw.Points[1].Run.Network.Loss != 0.05 {
		t.Fatalf("sweep %+v", sw)
	}
	for _, c := range sw.Points[1].Run.Contenders {
		if l := c.Total.Link; l == nil || l.DroppedLoss == 0 {
			t.Errorf("%s at 5%% loss: link %+v", c.Name, l)
		}
	}
	if !strings.Contains(r.Verdict, "h2/h1 page time (p50)") || !strings.Contains(printed, "muxlab sweep: page over loss") {
		t.Errorf("verdict %q; output %s", r.Verdict, printed)
	}
	html := filepath.Join(out, "sweep.html")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"report", "-o", html, file}, &stdout, &stderr); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	ctx, ev := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS(`figure[data-chart="sweep"] svg`))); err != nil {
		t.Fatal(err)
	}
	shapes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('figure[data-chart="sweep"] svg').querySelectorAll('path,circle').length`))
	if err != nil || shapes < 8 {
		t.Errorf("the sweep chart has %d shapes (%v)", shapes, err)
	}
	if errs := ev.Errors(); len(errs) > 0 {
		t.Errorf("the browser logged errors: %q", errs)
	}
}
