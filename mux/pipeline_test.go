package mux_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"muxlab/internal/muxtest"
	"muxlab/mux"
)

// The server answers a pipeline of requests in order, whether the pipeline
// comes in one write or a byte at a time, and counts it on one connection.
func TestServerAnswersAPipeline(t *testing.T) {
	srv := muxtest.Start(t, mux.Options{H1Addr: "127.0.0.1:0"})
	addr := srv.Addr(mux.ListenerH1)
	paths := []string{"/echo?delay=50ms&size=10", "/hello", "/echo?size=3", "/hello"}
	var pipeline strings.Builder
	for _, p := range paths {
		pipeline.WriteString("GET " + p + " HTTP/1.1\r\nHost: test\r\n\r\n")
	}
	for _, bytewise := range []bool{false, true} {
		before := srv.Stats().Listeners[mux.ListenerH1]
		cn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cn.SetDeadline(time.Now().Add(10 * time.Second))
		if bytewise {
			for i := 0; i < pipeline.Len(); i++ {
				if _, err := cn.Write([]byte{pipeline.String()[i]}); err != nil {
					t.Fatal(err)
				}
			}
		} else if _, err := io.WriteString(cn, pipeline.String()); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(cn)
		for i, p := range paths {
			req, _ := http.NewRequest(http.MethodGet, p, nil)
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatalf("bytewise %v: answer %d: %v", bytewise, i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := map[string]int{"/hello": -1, "/echo?size=3": 3, "/echo?delay=50ms&size=10": 10}[p]
			if resp.StatusCode != 200 || want >= 0 && len(body) != want || want < 0 && !strings.Contains(string(body), "hello") {
				t.Errorf("bytewise %v: answer %d to %s: status %d, %d bytes %q", bytewise, i, p, resp.StatusCode, len(body), body)
			}
		}
		cn.Close()
		muxtest.WaitFor(t, 5*time.Second, "the connection counted closed", func() bool {
			return srv.Stats().Listeners[mux.ListenerH1].ConnectionsOpen == 0
		})
		after := srv.Stats().Listeners[mux.ListenerH1]
		if after.ConnectionsAccepted-before.ConnectionsAccepted != 1 || after.Requests-before.Requests != int64(len(paths)) {
			t.Errorf("bytewise %v: the server counted %d connections and %d requests", bytewise,
				after.ConnectionsAccepted-before.ConnectionsAccepted, after.Requests-before.Requests)
		}
	}
}
