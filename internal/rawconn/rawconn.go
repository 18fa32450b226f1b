// Package rawconn reads and writes a TCP connection with raw system calls,
// for muxlab's clients on their hot path.
//
// Go's net package enters each read and write through the scheduler
// (entersyscall), and the first such call after the process was idle wakes
// the runtime's monitor thread (sysmon) from its deep sleep; once woken it
// polls every 20 µs for at least a millisecond. A load generator waiting on
// a server goes idle and wakes thousands of times a second, so on one core
// that churn of thread switches cost it a fifth of its CPU per request
// (docs/PERFORMANCE.md). The sockets are non-blocking, so a raw read or write
// never blocks: when it would (EAGAIN), the connection waits for the poller
// through syscall.RawConn, as net does, and deadlines and Close work as they
// do in net. Errors are *net.OpError around os.SyscallError, as net's are.
//
// Wrap does this on Linux, for a *net.TCPConn; anything else it returns as it
// is.
package rawconn
