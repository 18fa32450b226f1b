// Command muxlab shows, with measurements anyone can reproduce, what HTTP/2
// and HTTP/3 multiplexing change compared with HTTP/1.1 connection pooling,
// on loopback or over an emulated network.
//
//	muxlab [bench]  compare six HTTP/1.1 connections with one HTTP/2 and one HTTP/3 connection
//	muxlab report   an HTML report of result files, or --serve to browse them
//	muxlab sweep    run a scenario across values of loss, RTT, bandwidth or objects
//	muxlab merge    merge several agents' results into one
//	muxlab record   record a page with headless Chromium into a HAR
//	muxlab sidecar  HTTP/1.1 in from local apps, one multiplexed connection out
//	muxlab serve    run the demo server (HTTP/1.1 and h2c listeners)
//	muxlab compare  two result files side by side, with a significance test
//	muxlab completion  a shell completion script (bash, zsh, fish)
//	muxlab version  the version, commit and Go version
//
// cmd/muxlab only parses flags, handles signals, prints and chooses exit
// codes: 0 success, 1 a failure while running (or no request of a contender
// answered), 2 bad usage, 3 a --fail-on threshold missed, 130 interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitThresholds  = 3
	exitInterrupted = 130
)

// thresholdError is a run that missed a --fail-on threshold: exit 3.
type thresholdError struct{ err error }

func (e thresholdError) Error() string { return e.err.Error() }
func (e thresholdError) Unwrap() error { return e.err }

// usageError is bad input from the command line: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// command is one subcommand: it runs until done or until ctx is cancelled.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() { // in init: completion reads the table
	commands = []command{
		{"bench", "run a scenario against h1 (6 connections), h2 and h3 (1 connection each) and hey, over an emulated network or loopback; the default", runBench},
		{"report", "write an HTML report of result files, or browse a results directory (--serve)", runReport},
		{"sweep", "run one scenario across values of one parameter (loss, rtt, bandwidth, objects): one result, one chart", runSweep},
		{"merge", "merge several agents' results of one scenario into one (counts summed, histograms merged)", runMerge},
		{"record", "record a page with headless Chromium into a HAR (muxlab record URL -o page.har)", runRecord},
		{"sidecar", "a local proxy: HTTP/1.1 in from apps, one HTTP/2 (or HTTP/3) connection out", runSidecar},
		{"serve", "run the demo server: HTTP/1.1, h2c (and TLS, HTTP/3) listeners with ground-truth /stats", runServe},
		{"compare", "compare two result files: each figure side by side, its change, and whether the change is significant over their rounds", runCompare},
		{"completion", "print a shell completion script: muxlab completion bash|zsh|fish", runCompletion},
		{"version", "print muxlab's version, commit and Go version (also muxlab --version)", runVersion},
	}
}

// gcPercent is the GOGC muxlab runs with unless GOGC is set. A load
// generator's live heap is a few MiB and it allocates for every request, so
// at Go's default of 100 it collected every few thousand requests, each
// time scanning the stack of every worker: about 7% of its CPU per request
// (make peers; see docs/PERFORMANCE.md). Four times the live heap is still a
// few tens of MiB.
const gcPercent = 400

// memoryLimit is the soft memory limit muxlab runs with unless GOMEMLIMIT
// is set. A run's heap is a few tens of MiB (the default job peaks near
// 60 MB of RSS); but a peer can make a client hold up to its bound on a
// response head per connection (hey's, net/http's 10 MiB, cannot be set),
// and gcPercent would let four times that pile up as garbage. Near the
// limit the collector runs sooner; nothing fails.
const memoryLimit = 128 << 20

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and turns its error into an exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--version" {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		args = append([]string{"bench"}, args...) // the main job
	}
	if args[0] == "help" && len(args) > 1 { // muxlab help COMMAND: its flags
		if c := lookupCommand(args[1]); c != nil {
			return exitCode(c.run(ctx, []string{"--help"}, stdout, stdout), stderr)
		}
		fmt.Fprintf(stderr, "muxlab: help: unknown command %q\n\n", args[1])
		usage(stderr)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "muxlab: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

// lookupCommand finds a subcommand by name; nil if there is none.
func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: muxlab [COMMAND] [flags]   (no command: bench)\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'muxlab help COMMAND' (or 'muxlab COMMAND --help') for a command's flags; 'muxlab --version' for the version")
}

// errInterrupted is returned by a command stopped by Ctrl-C before it finished.
var errInterrupted = errors.New("interrupted")

func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(stderr, "muxlab: %v\n", err)
		return exitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "muxlab: %v\n", err)
		return exitUsage
	case errors.As(err, new(thresholdError)):
		fmt.Fprintf(stderr, "muxlab: %v\n", err)
		return exitThresholds
	default:
		fmt.Fprintf(stderr, "muxlab: %v\n", err)
		return exitFailure
	}
}
