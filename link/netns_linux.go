package link

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// A namespace is a network namespace of the process's own, held by a file
// descriptor alone: nothing is mounted for it and no device or process of
// it outlives the process, however the process ends.
type namespace struct {
	fd int // /proc/thread-self/ns/net of the namespace
}

// newNamespace makes an empty network namespace.
func newNamespace() (*namespace, error) {
	var ns namespace
	err := onLockedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return &StackError{Missing: "root, or CAP_SYS_ADMIN, to make a network namespace", Err: fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("link: open the new namespace: %w", err)
		}
		ns.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ns, nil
}

// run calls f on an OS thread inside the namespace, so that the sockets,
// devices and /proc/thread-self files f makes or opens are the
// namespace's; they may then be used from any goroutine.
func (ns *namespace) run(f func() error) error {
	return onLockedThread(func() error {
		if err := unix.Setns(ns.fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("link: enter the namespace: %w", err)
		}
		return f()
	})
}

// close lets the namespace go once nothing in it is left open.
func (ns *namespace) close() {
	if ns != nil && ns.fd > 0 {
		unix.Close(ns.fd)
		ns.fd = -1
	}
}

// onLockedThread calls f on a goroutine locked to its own OS thread and
// never unlocked, so that the thread, whose namespace f may change, exits
// with the goroutine instead of returning to the pool where ordinary
// goroutines would make their sockets in the wrong namespace.
func onLockedThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- f()
	}()
	return <-errc
}

// writeSysctl writes value to a file under /proc/sys/net of the calling
// thread's namespace.
func writeSysctl(name, value string) error {
	if err := os.WriteFile("/proc/sys/net/"+name, []byte(value), 0); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a kernel without that setting
		}
		return fmt.Errorf("link: namespace setting %s: %w", name, err)
	}
	return nil
}
