package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"bytes"
	"muxlab/pageset"
	"muxlab/record"
	"muxlab/results"
)

// runRecord records a page with headless Chromium into a HAR that serve
// --har replays and bench --har measures.
func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("record", stderr)
	out := fs.StringP("output", "o", "page.har", "the HAR file to write")
	insecure := fs.Bool("insecure", false, "accept certificates that do not verify")
	settle := fs.Duration("settle", record.DefaultSettle, "after the load event, time allowed for late requests")
	timeout := fs.Duration("timeout", record.DefaultTimeout, "time allowed for the whole recording")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() != 1 {
		return usagef("record: give one URL, like muxlab record https://example.com -o page.har")
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("record: %q is not an http or https URL", fs.Arg(0))
	}
	if err := errorsJoinFirst(
		checkRange("settle", *settle, 0, time.Minute),
		checkRange("timeout", *timeout, time.Second, time.Hour),
	); err != nil {
		return err
	}
	har, err := record.Page(ctx, u.String(), record.Options{IgnoreCertErrors: *insecure, Settle: *settle, Timeout: *timeout, Version: version})
	if errors.Is(err, record.ErrNoBrowser) {
		return err
	}
	if err != nil {
		return fmt.Errorf("recording %s: %w", u, err)
	}
	page, err := pageset.ParseHAR(bytes.NewReader(har)) // what serve --har will read
	if err != nil {
		return fmt.Errorf("recording %s: the HAR does not read back: %w", u, err)
	}
	if err := results.WriteFileAtomic(*out, append(har, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded %d objects of %d origins into %s; replay it with muxlab serve --har %s\n",
		len(page.Entries), len(page.Origins()), *out, *out)
	return nil
}
