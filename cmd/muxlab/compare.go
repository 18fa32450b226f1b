package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"muxlab/report"
	"muxlab/results"
)

// runCompare prints two runs' figures side by side with a significance
// test over their rounds, and with -o writes the HTML report of both.
func runCompare(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	out := fs.StringP("output", "o", "", "also write the HTML report of both runs to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: muxlab compare A.json B.json [-o report.html]\n\n"+
			"Each figure of each contender in both runs: A's and B's median over their rounds, the change,\n"+
			"and the p-value of a Mann-Whitney U test over the rounds (as benchstat); ~ when not significant.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() != 2 {
		return usagef("compare: give two result files (muxlab compare A.json B.json), got %d", fs.NArg())
	}
	var runs [2]*results.Run
	for i := range runs {
		r, err := results.Read(fs.Arg(i))
		if err != nil {
			return usagef("compare: %v", err)
		}
		runs[i] = r
	}
	nameA, nameB := filepath.Base(fs.Arg(0)), filepath.Base(fs.Arg(1))
	if err := report.WriteComparison(stdout, nameA, nameB, runs[0], runs[1]); err != nil {
		return err
	}
	if *out != "" {
		if err := report.WriteReportFile(*out, []report.Source{{Name: nameA, Run: runs[0]}, {Name: nameB, Run: runs[1]}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report of both written to %s\n", *out)
	}
	return nil
}
