// Package nobody runs a test's own binary again as the user nobody, for
// tests of what muxlab does without privilege. It imports nothing of
// muxlab's, so that any package's tests may use it.
package nobody

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Run runs the test binary as nobody, with env added to its environment
// and -test.run ^$ (a TestMain of the package answers the env), and returns
// what it printed and how it ended. The binary is copied where nobody may
// run it. Without root the test is skipped: only root can drop to nobody.
func Run(t testing.TB, env ...string) ([]byte, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as nobody")
	}
	dir, err := os.MkdirTemp("", "muxlab-nobody-") // t.TempDir's parent is the test's alone (0700)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	b, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, b, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd.CombinedOutput()
}
