package link

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"muxlab/internal/nobody"
)

// congestionControl reads a TCP socket's congestion control.
func congestionControl(t *testing.T, c net.Conn) string {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cc string
	var serr error
	rc.Control(func(fd uintptr) { cc, serr = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION) })
	if serr != nil {
		t.Fatal(serr)
	}
	return strings.TrimRight(cc, "\x00")
}

// Each of the kernel's congestion controls is set on the client's socket and
// on the server's accepted one, per socket: the host's default is left as
// it was.
func TestKernelCongestionControlPerSocket(t *testing.T) {
	requireKernel(t)
	hostDefault, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		t.Fatal(err)
	}
	ccs := CongestionControls(StackKernel)
	for _, want := range []string{"cubic", "reno"} {
		if !slices.Contains(ccs, want) {
			t.Fatalf("the kernel stack offers %v, without %s", ccs, want)
		}
	}
	for _, cc := range ccs {
		t.Run(cc, func(t *testing.T) {
			n := newNet(t, Options{Stack: StackKernel, CongestionControl: cc})
			l, err := n.Listen("tcp", ":0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			c := dial(t, n, l.Addr().String())
			s, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := congestionControl(t, c); got != cc {
				t.Errorf("client socket: %s, want %s", got, cc)
			}
			if got := congestionControl(t, s); got != cc {
				t.Errorf("accepted socket: %s, want %s", got, cc)
			}
		})
	}
	if after, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); string(after) != string(hostDefault) {
		t.Errorf("the host's default congestion control changed from %q to %q", hostDefault, after)
	}
}

// The kernel stack's counts are each namespace's own: the host's TCP
// counters are not the link's, and the link's opens are exactly its
// connections.
func TestKernelCountsAreTheNamespaces(t *testing.T) {
	requireKernel(t)
	n := newNet(t, Options{Stack: StackKernel})
	addr := echoServer(t, n)
	for range 3 {
		c := dial(t, n, addr)
		c.Write([]byte("x"))
		c.Read(make([]byte, 1))
		c.Close()
	}
	st := n.Stats()
	if st.Client.Connections != 3 || st.Server.Connections != 3 {
		t.Errorf("connections: client %d, server %d; want 3 and 3", st.Client.Connections, st.Server.Connections)
	}
	if st.Client.Segments == 0 || st.Server.Segments == 0 {
		t.Errorf("segments: client %d, server %d", st.Client.Segments, st.Server.Segments)
	}
	if name, why := n.Stack(); name != StackKernel || why == "" {
		t.Errorf("Stack() = %q, %q", name, why)
	}
}

// Under the test binary run as a child (see TestKernelLeavesNothing), make
// a link with a connection across it, print the namespaces' inodes, and
// then close the link and exit at a line on standard input, or exit at
// once at SIGINT (which a shell may have left ignored), or be killed.
func TestMain(m *testing.M) {
	if os.Getenv("MUXLAB_LINK_CHILD") == "" {
		os.Exit(m.Run())
	}
	if os.Getenv("MUXLAB_LINK_CHILD") == "probe" {
		// Without privilege: what KernelSupport says, and what auto takes.
		fmt.Println("support:", KernelSupport())
		n, err := New(Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		name, why := n.Stack()
		fmt.Printf("auto: %s: %s\n", name, why)
		n.Close()
		os.Exit(0)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	go func() {
		<-sig
		os.Exit(130)
	}()
	n, err := New(Options{Stack: StackKernel, Up: Direction{Delay: time.Millisecond}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	l, _ := n.Listen("tcp", ":0")
	c, err := n.Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	defer c.Close()
	k := n.stk.(*kernel)
	for _, ns := range []*namespace{k.client, k.server} {
		var st unix.Stat_t
		unix.Fstat(ns.fd, &st)
		fmt.Printf("net:[%d]\n", st.Ino)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	n.Close()
	os.Exit(0)
}

// nsHolders lists what still refers to a namespace: a process's or a
// thread's namespace, an open descriptor, a mount.
func nsHolders(ino string) []string {
	var out []string
	for _, pat := range []string{"/proc/[0-9]*/ns/net", "/proc/[0-9]*/task/[0-9]*/ns/net", "/proc/[0-9]*/fd/*"} {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			if target, err := os.Readlink(p); err == nil && target == ino {
				out = append(out, p)
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(b), ino) {
		out = append(out, "a mount")
	}
	return out
}

// Nothing of the kernel stack outlives its process, whether it closes the
// link and exits, is interrupted or is killed: no namespace is left (no
// process, thread, descriptor or mount refers to it, so the kernel frees it
// with its devices), and no process of it remains.
func TestKernelLeavesNothing(t *testing.T) {
	requireKernel(t)
	for _, end := range []string{"exit", "SIGINT", "SIGKILL"} {
		t.Run(end, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "MUXLAB_LINK_CHILD=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var inodes []string
			sc := bufio.NewScanner(out)
			for sc.Scan() && sc.Text() != "ready" {
				if strings.HasPrefix(sc.Text(), "error") {
					t.Fatal(sc.Text())
				}
				inodes = append(inodes, sc.Text())
			}
			if len(inodes) != 2 {
				t.Fatalf("the child printed %v before ready", inodes)
			}
			for _, ino := range inodes {
				if len(nsHolders(ino)) == 0 {
					t.Fatalf("%s has no holder while the child runs: the check sees nothing", ino)
				}
			}
			switch end {
			case "exit":
				in.Write([]byte("end\n"))
			case "SIGINT":
				cmd.Process.Signal(os.Interrupt)
			case "SIGKILL":
				cmd.Process.Kill()
			}
			err = cmd.Wait()
			if end == "exit" && err != nil {
				t.Fatalf("the child: %v", err)
			}
			for _, ino := range inodes {
				if h := nsHolders(ino); len(h) > 0 {
					t.Errorf("namespace %s is still held by %v", ino, h)
				}
			}
		})
	}
}

// Without privilege the kernel stack is refused with what is missing, and
// auto takes the userspace stack and says why (the test binary run as
// nobody).
func TestKernelRefusedWithoutPrivilege(t *testing.T) {
	requireKernel(t)
	out, err := nobody.Run(t, "MUXLAB_LINK_CHILD=probe")
	if err != nil {
		t.Fatalf("child as nobody: %v: %s", err, out)
	}
	for _, want := range []string{
		"support: link: the kernel stack needs root, or CAP_SYS_ADMIN, to make a network namespace",
		"auto: userspace: auto: userspace, as the kernel stack needs root, or CAP_SYS_ADMIN, to make a network namespace",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child printed %q; want %q", out, want)
		}
	}
}
