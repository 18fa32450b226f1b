package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"muxlab/internal/muxtest"
	"muxlab/internal/nobody"
)

// TestMain runs muxlab itself when MUXLAB_CMD_ARGS is set (a child of a
// test, see TestStackKernelWithoutPrivilege), and the tests otherwise.
func TestMain(m *testing.M) {
	if args := os.Getenv("MUXLAB_CMD_ARGS"); args != "" {
		os.Exit(run(context.Background(), strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// --stack kernel without privilege exits 2 naming what is missing, before
// anything runs (muxlab as nobody).
func TestStackKernelWithoutPrivilege(t *testing.T) {
	muxtest.RequireKernel(t)
	out, err := nobody.Run(t, "MUXLAB_CMD_ARGS=bench -q --stack kernel --net 4g")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitUsage ||
		!strings.Contains(string(out), "--stack kernel: link: the kernel stack needs root, or CAP_SYS_ADMIN, to make a network namespace") {
		t.Errorf("as nobody: %v, %q; want exit 2 naming what is missing", err, out)
	}
}
