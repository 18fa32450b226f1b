package sidecar_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// The hop's cost: the same tiny GETs from an HTTP/1.1 app (8 connections)
// straight to the server's HTTP/1.1 listener, and through a proxy to its
// h2c listener: muxlab's sidecar and HAProxy (proto h2), each run as its
// own process so that its CPU can be read from /proc. Reported: the
// latency per request (p50, p99), what the hop added to it against the
// direct path, the proxy's CPU per request, and the upstream connections
// the server counted.
func BenchmarkHop(b *testing.B) {
	srv := muxtest.Start(b, mux.Options{H1Addr: "127.0.0.1:0", H2CAddr: "127.0.0.1:0"})
	var direct []time.Duration
	for _, proxy := range []string{"direct", "sidecar", "haproxy", "haproxy-reuse-always"} {
		b.Run("proxy="+proxy, func(b *testing.B) {
			url, pid := srv.URL(mux.ListenerH1), 0
			switch proxy {
			case "sidecar":
				url, pid = startSidecarProcess(b, srv.URL(mux.ListenerH2C))
			case "haproxy":
				url, pid = startHAProxy(b, srv.Addr(mux.ListenerH2C), "")
			case "haproxy-reuse-always":
				url, pid = startHAProxy(b, srv.Addr(mux.ListenerH2C), "http-reuse always")
			}
			srv.ResetStats()
			lat, cpu := hop(b, url+"/hello", pid)
			p50, p99 := quantile(lat, 0.5), quantile(lat, 0.99)
			b.ReportMetric(ms(p50), "p50-ms")
			b.ReportMetric(ms(p99), "p99-ms")
			if proxy == "direct" {
				direct = lat
				return
			}
			b.ReportMetric(ms(p50-quantile(direct, 0.5)), "added-p50-ms")
			b.ReportMetric(ms(p99-quantile(direct, 0.99)), "added-p99-ms")
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "proxy-cpu-µs/req")
			b.ReportMetric(float64(srv.Stats().Listeners[mux.ListenerH2C].ConnectionsAccepted), "upstream-conns")
		})
	}
}

// hop sends b.N requests from 8 app connections and returns each one's
// latency and the CPU the process pid used meanwhile (zero for none).
func hop(b *testing.B, url string, pid int) ([]time.Duration, time.Duration) {
	const conns = 8
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	get := func() time.Duration {
		start := time.Now()
		resp, err := tr.RoundTrip(mustReq(b, url))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	for range conns * 4 { // open the connections
		get()
	}
	lat := make([]time.Duration, b.N)
	cpu0 := procCPU(b, pid)
	b.ResetTimer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range conns {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					return
				}
				lat[i] = get()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return lat, procCPU(b, pid) - cpu0
}

// startSidecarProcess builds muxlab and runs its sidecar in front of the
// h2c base URL; it returns the sidecar's URL and pid.
func startSidecarProcess(b testing.TB, upstream string) (string, int) {
	bin := filepath.Join(b.TempDir(), "muxlab")
	if out, err := exec.Command("go", "build", "-o", bin, "muxlab/cmd/muxlab").CombinedOutput(); err != nil {
		b.Fatalf("building muxlab: %v\n%s", err, out)
	}
	addr := freeAddr(b)
	cmd := exec.Command(bin, "sidecar", "--listen", addr, "--upstream", upstream)
	return "http://" + addr, startProcess(b, cmd, addr)
}

// startHAProxy runs Debian's haproxy forwarding HTTP/1.1 to the h2c
// address over HTTP/2 (proto h2), with extra lines in its backend; it
// returns its URL and pid.
func startHAProxy(b testing.TB, upstream, extra string) (string, int) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal("haproxy is missing: make test installs it")
		}
		b.Skip("haproxy is missing (apt-get install haproxy)")
	}
	addr := freeAddr(b)
	conf := filepath.Join(b.TempDir(), "haproxy.cfg")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global
  maxconn 1000
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend app
  bind %s
  default_backend server
backend server
  %s
  server mux %s proto h2
`, addr, extra, upstream)), 0o644)
	return "http://" + addr, startProcess(b, exec.Command(bin, "-db", "-f", conf), addr)
}

func startProcess(b testing.TB, cmd *exec.Cmd, addr string) int {
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not listen on %s", cmd.Path, addr)
		}
	}
}

// procCPU is the user and system time of process pid, from /proc.
func procCPU(b testing.TB, pid int) time.Duration {
	if pid == 0 || runtime.GOOS != "linux" {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mustReq(b testing.TB, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

func freeAddr(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
