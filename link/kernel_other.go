//go:build !linux

package link

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
)

// KernelSupport reports whether this process may run the kernel stack: only
// on Linux.
func KernelSupport() error {
	return &StackError{Missing: "Linux (network namespaces and TUN devices)", Err: errors.New(runtime.GOOS)}
}

func kernelCCs() []string { return nil }

type kernel struct{}

func newKernel(Options, *repairs) (*kernel, *pipe, *pipe, error) {
	return nil, nil, nil, KernelSupport()
}

func (*kernel) dialTCP(context.Context, netip.AddrPort) (net.Conn, error) {
	return nil, KernelSupport()
}
func (*kernel) dialUDP(netip.AddrPort) (net.Conn, error)         { return nil, KernelSupport() }
func (*kernel) clientPacket() (net.PacketConn, error)            { return nil, KernelSupport() }
func (*kernel) listenTCP(netip.AddrPort) (net.Listener, error)   { return nil, KernelSupport() }
func (*kernel) listenUDP(netip.AddrPort) (net.PacketConn, error) { return nil, KernelSupport() }
func (*kernel) tcp() (TCP, TCP)                                  { return TCP{}, TCP{} }
func (*kernel) udp() (UDP, UDP)                                  { return UDP{}, UDP{} }
func (*kernel) clientNamespace() string                          { return "" }
func (*kernel) deviceDrops() (int64, int64)                      { return 0, 0 }
func (*kernel) close()                                           {}
func (*kernel) wait()                                            {}
