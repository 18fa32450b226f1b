package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"muxlab/results"
)

// runMerge merges several agents' result files of the same scenario into
// one result.
func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", stderr)
	out := fs.StringP("output", "o", "merged.json", "the merged result file to write")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	files := fs.Args()
	if len(files) < 2 {
		return usagef("merge: give two result files or more, like muxlab merge a.json b.json -o merged.json")
	}
	if _, err := os.Lstat(*out); err == nil {
		return usagef("--output: %s exists; a result is never written over another (remove it, or name another file)", *out)
	}
	var runs []*results.Run
	for _, f := range files {
		r, err := results.Read(f)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	m, err := results.Merge(runs, files)
	if err != nil {
		return err
	}
	if err := printRun(stdout, m, false); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := results.WriteNewFile(filepath.Clean(*out), append(data, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "merged result written to %s\n", *out)
	return nil
}
