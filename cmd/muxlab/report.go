package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"muxlab/report"
	"muxlab/results"
)

const defaultServeAddr = "127.0.0.1:8070" // not the sidecar's 8090

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	out := fs.StringP("output", "o", "", "HTML file to write (default: RUN.html beside one run, muxlab-report.html for several)")
	serve := fs.String("serve", "", "browse a results directory over HTTP at ADDR (--serve alone: "+defaultServeAddr+")")
	fs.Lookup("serve").NoOptDefVal = defaultServeAddr
	dir := fs.String("dir", "muxlab-results", "the results directory --serve browses")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	files := fs.Args()
	if *serve != "" {
		// "--serve ADDR" (with a space) leaves ADDR as an argument.
		if *serve == defaultServeAddr && len(files) == 1 && !strings.HasSuffix(files[0], ".json") {
			*serve, files = files[0], nil
		}
		if len(files) > 0 {
			return usagef("--serve browses --dir; it takes no result files (got %q)", files[0])
		}
		return serveResults(ctx, *serve, *dir, stdout)
	}
	if len(files) == 0 {
		return usagef("report: name one or more result files (muxlab report RESULT.json... [-o report.html]), or use --serve")
	}
	var srcs []report.Source
	for _, f := range files {
		r, err := results.Read(f)
		if err != nil {
			return err
		}
		srcs = append(srcs, report.Source{Name: filepath.Base(f), Run: r})
	}
	path := *out
	if path == "" {
		path = "muxlab-report.html"
		if len(files) == 1 {
			path = strings.TrimSuffix(files[0], filepath.Ext(files[0])) + ".html"
		}
	}
	if err := report.WriteReportFile(path, srcs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report written to %s\n", path)
	return nil
}

// serveResults browses dir at addr until ctx is done.
func serveResults(ctx context.Context, addr, dir string, stdout io.Writer) error {
	if err := checkAddr("serve", addr, false); err != nil {
		return err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("--dir: %s is not a directory of results", dir)
	}
	b, err := report.NewBrowser(dir)
	if err != nil {
		return usagef("--dir: %v", err)
	}
	defer b.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("--serve: cannot listen on %s: %v", addr, errors.Unwrap(err))
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	fmt.Fprintf(stdout, "browsing %s at http://%s/ (read-only; Ctrl-C stops)\n", dir, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
