package link

import (
	"errors"
	"fmt"
)

// StackError says why the kernel stack cannot be had here.
type StackError struct {
	// Missing names what is missing, in words a user can act on ("root, or
	// CAP_SYS_ADMIN and CAP_NET_ADMIN", "a TUN device: /dev/net/tun").
	Missing string
	// Err is the system's own error.
	Err error
}

func (e *StackError) Error() string {
	return fmt.Sprintf("link: the kernel stack needs %s: %v", e.Missing, e.Err)
}

func (e *StackError) Unwrap() error { return e.Err }

// stackProblem says in a few words why err keeps the kernel stack away.
func stackProblem(err error) string {
	var se *StackError
	if errors.As(err, &se) {
		return "the kernel stack needs " + se.Missing + " (" + se.Err.Error() + ")"
	}
	return err.Error()
}
