package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"muxlab/mux"
)

// errHelp is returned when the user asked for --help: the usage was printed.
var errHelp = errors.New("help requested")

// newFlagSet returns a flag set whose errors come back to the caller, to be
// reported as usage errors naming the flag.
func newFlagSet(name string, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	fs.Usage = func() { // wrapped to the width it is shown in
		fmt.Fprintf(fs.Output(), "Usage of %s:\n%s", name, fs.FlagUsagesWrapped(outputWidth(fs.Output())))
	}
	return fs
}

// parse parses args, turning any error into a usage error, and refuses
// arguments that are not flags.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// parseError turns an error of pflag's into errHelp or a usage error.
func parseError(err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return errHelp
	}
	return usageError{err}
}

// sizeValue is a pflag.Value of bytes, written like 1024, 4KiB or 1MiB.
type sizeValue int64

func (s *sizeValue) String() string { return mux.FormatSize(int64(*s)) }
func (s *sizeValue) Type() string   { return "size" }
func (s *sizeValue) Set(v string) error {
	n, err := mux.ParseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

// checkAddr refuses an address that is not host:port; empty is allowed when
// the listener may be switched off.
func checkAddr(flag, addr string, emptyOK bool) error {
	if addr == "" && emptyOK {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || strings.ContainsAny(host, " /") {
		return usagef("--%s: %q is not an address like 127.0.0.1:8080", flag, addr)
	}
	return nil
}

// checkRange refuses v outside [lo, hi], naming the flag.
func checkRange[T int | int64 | float64 | time.Duration](flag string, v, lo, hi T) error {
	if v < lo || v > hi {
		return usagef("--%s: %v is out of range; allowed %v to %v", flag, v, lo, hi)
	}
	return nil
}

// checkZeroOrRange is checkRange where zero means "the default".
func checkZeroOrRange(flag string, v, lo, hi int64) error {
	if v == 0 {
		return nil
	}
	return checkRange(flag, v, lo, hi)
}

// errorsJoinFirst returns the first non-nil error.
func errorsJoinFirst(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// startCPUProfile starts a CPU profile into path (nothing when path is
// empty) and returns what stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, usagef("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, usagef("--cpuprofile: %v", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}, nil
}
