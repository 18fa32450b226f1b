package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"muxlab/bench"
	"muxlab/link"
	"muxlab/results"
)

// sweepParam is a parameter a sweep can vary: the bench flag it sets, the
// unit of its axis, and its default values.
type sweepParam struct {
	name, flag, unit string
	x                func(v string) (float64, error) // the value in unit
	defaults         []string
}

var sweepParams = []sweepParam{
	{"loss", "loss", "%", func(v string) (float64, error) { l, err := link.ParseLoss(v); return l * 100, err },
		[]string{"0", "1%", "2%", "3%"}},
	{"rtt", "rtt", "ms", func(v string) (float64, error) {
		d, err := time.ParseDuration(v)
		return float64(d) / float64(time.Millisecond), err
	}, []string{"10ms", "40ms", "100ms", "200ms"}},
	{"bandwidth", "bandwidth", "Mbit/s", func(v string) (float64, error) { r, err := link.ParseRate(v); return float64(r) / 1e6, err },
		[]string{"1Mbit/s", "5Mbit/s", "10Mbit/s", "50Mbit/s"}},
	{"objects", "objects", "objects", func(v string) (float64, error) { n, err := strconv.Atoi(v); return float64(n), err },
		[]string{"10", "25", "50", "100"}},
	// The same link on the kernel's TCP and on gVisor's: the verdict gives
	// each contender's userspace / kernel ratio.
	{"stack", "stack", "stack (0 kernel, 1 userspace)", func(v string) (float64, error) {
		switch v {
		case link.StackKernel:
			return 0, nil
		case link.StackUserspace:
			return 1, nil
		}
		return 0, fmt.Errorf("want %s or %s", link.StackKernel, link.StackUserspace)
	}, []string{link.StackKernel, link.StackUserspace}},
}

// maxSweepPoints bounds a sweep's length.
const maxSweepPoints = 20

func sweepNames() string {
	var out []string
	for _, p := range sweepParams {
		out = append(out, p.name)
	}
	return strings.Join(out, ", ")
}

// runSweep runs one scenario at each value of one parameter and writes one
// result: a run per value, and a chart of the page time against the value.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", stderr)
	var f benchFlags
	f.define(fs)
	// A sweep's own defaults, as help shows them.
	fs.Lookup("scenario").DefValue = "lossy"
	fs.Lookup("contenders").DefValue = "[" + strings.Join(bench.SweepContenderNames(), ",") + "]"
	over := fs.String("over", "loss", "the parameter that varies: "+sweepNames())
	values := fs.StringSlice("values", nil, "its values, e.g. 0,1%,2%,3% (default: a range for the parameter)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Unless told otherwise a sweep runs the scenario about the network,
	// with the two clients whose difference it is about.
	if !fs.Changed("scenario") {
		f.scenario = "lossy"
	}
	if !fs.Changed("contenders") {
		f.contenders = bench.SweepContenderNames()
	}
	var param *sweepParam
	for i := range sweepParams {
		if sweepParams[i].name == *over {
			param = &sweepParams[i]
		}
	}
	if param == nil {
		return usagef("--over: %q is not a parameter a sweep can vary; valid: %s", *over, sweepNames())
	}
	if fs.Changed(param.flag) {
		return usagef("--%s: it is what --over %s varies; give its values with --values", param.flag, param.name)
	}
	vals := *values
	if !fs.Changed("values") {
		vals = param.defaults
	}
	if len(vals) < 2 || len(vals) > maxSweepPoints {
		return usagef("--values: %d values; a sweep takes 2 to %d", len(vals), maxSweepPoints)
	}
	// Every point is checked before anything runs.
	var plans []plan
	var xs []float64
	for _, v := range vals {
		x, err := param.x(v)
		if err != nil {
			return usagef("--values: %q is not a value of %s: %v", v, param.name, err)
		}
		if err := fs.Set(param.flag, v); err != nil {
			return usagef("--values: %q: %v", v, err)
		}
		p, err := f.plan(fs)
		if err != nil {
			return err
		}
		plans, xs = append(plans, p), append(xs, x)
	}
	f.noFileWithJSON(fs)
	if f.csv {
		return usagef("--csv: for muxlab bench; a sweep's result is its JSON file and chart")
	}
	if len(f.failOn) > 0 {
		return usagef("--fail-on: for muxlab bench; a sweep's points are runs of their own")
	}
	if f.out != "-" && f.out != "" {
		if err := results.CheckDir(f.out); err != nil {
			return usagef("--out: %v", err)
		}
	}
	f.warn(stderr, &plans[0].sc)
	sw := &results.Sweep{Parameter: param.name, Unit: param.unit}
	var failure error
	sweepStart := time.Now()
	for i, p := range plans {
		if !f.quiet {
			left := "estimating the time left"
			if i > 0 {
				elapsed := time.Since(sweepStart)
				left = fmt.Sprintf("%s elapsed, about %s left", clock(elapsed), clock(elapsed/time.Duration(i)*time.Duration(len(plans)-i)))
			}
			fmt.Fprintf(stderr, "sweep: %s %s (%d of %d; %s)\n", param.name, vals[i], i+1, len(plans), left)
		}
		bar := newProgress(stderr, f.quiet)
		run, err := f.measure(ctx, p, bar)
		if err != nil {
			if ctx.Err() == nil {
				failure = fmt.Errorf("sweep at %s %s: %w", param.name, vals[i], err)
			}
			break
		}
		run.Label = fmt.Sprintf("%s %s", param.name, vals[i])
		sw.Points = append(sw.Points, results.SweepPoint{Value: vals[i], X: xs[i], Run: run})
		if run.Interrupted {
			break
		}
	}
	if len(sw.Points) == 0 {
		if failure != nil {
			return failure
		}
		return fmt.Errorf("%w before anything was measured; no result written", errInterrupted)
	}
	run := sweepRun(sw, f.label, ctx.Err() != nil || len(sw.Points) < len(plans))
	if failure != nil {
		run.Notes = append(run.Notes, "the sweep stopped early: "+failure.Error())
	}
	if err := f.emit(run, stdout, stderr); err != nil {
		return err
	}
	switch {
	case failure != nil:
		return failure
	case run.Interrupted:
		return errInterrupted
	}
	return nil
}

// sweepRun makes the sweep's result around its points.
func sweepRun(sw *results.Sweep, label string, interrupted bool) *results.Run {
	first := sw.Points[0].Run
	last := sw.Points[len(sw.Points)-1].Run
	run := results.NewRun(version, runtime.Version(), first.Machine, first.Started)
	run.Finished = last.Finished
	run.Scenario, run.Network, run.Target = first.Scenario, first.Network, first.Target
	run.Sweep, run.Interrupted = sw, interrupted
	run.Label = label
	if run.Label == "" {
		run.Label = "sweep over " + sw.Parameter
	}
	if interrupted {
		run.Notes = append(run.Notes, fmt.Sprintf("interrupted: %d of the sweep's points were measured", len(sw.Points)))
	}
	results.SummarizeSweep(run)
	return run
}
