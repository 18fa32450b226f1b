package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzSizeFlag: any --size value is either refused with an error or read
// as a byte count that prints back to itself.
func FuzzSizeFlag(f *testing.F) {
	for _, s := range []string{"1024", "4KiB", "1MB", "64MiB", "1parsec", "-1", "9223372036854775807", " 2 k "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v sizeValue
		if err := v.Set(s); err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("size %q read as %d", s, v)
		}
		var back sizeValue
		if err := back.Set(v.String()); err != nil || back != v {
			t.Fatalf("%q read as %d, printed as %q, read back as %d (%v)", s, v, v.String(), back, err)
		}
	})
}

// FuzzBenchDurationFlags: whatever --delay, --duration or --timeout say,
// muxlab bench either refuses it (exit 2, naming the flag) or accepts a
// value within range; it never runs with a bad one and never panics.
func FuzzBenchDurationFlags(f *testing.F) {
	for _, s := range []string{"50ms", "0", "-1s", "31s", "1h", "5 parsecs", "9999999999h", "1e9ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, flag := range []string{"--delay", "--duration", "--timeout"} {
			fs := newFlagSet("bench", io.Discard)
			var bf benchFlags
			bf.define(fs)
			if err := parse(fs, []string{flag + "=" + s}); err != nil {
				if !strings.Contains(err.Error(), flag) {
					t.Fatalf("%s=%q refused without naming the flag: %v", flag, s, err)
				}
				continue
			}
			sc, err := bf.scenarioFrom(fs)
			if err == nil {
				err = bf.checkOther()
			}
			if err != nil {
				if !strings.Contains(err.Error(), flag) {
					t.Fatalf("%s=%q refused without naming the flag: %v", flag, s, err)
				}
				continue
			}
			if sc.Delay < 0 || sc.Delay.D() > 30*time.Second || sc.Duration < 0 || bf.timeout <= 0 {
				t.Fatalf("%s=%q accepted out of range: %+v, timeout %v", flag, s, sc, bf.timeout)
			}
		}
	})
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"bench", "--help"}, {"serve", "-h"}, {"report", "--help"}} {
		var out strings.Builder
		if code := run(context.Background(), args, &out, &out); code != exitOK || out.Len() == 0 {
			t.Errorf("%v: exit %d, printed %d bytes", args, code, out.Len())
		}
	}
}
