package hostile

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// bufConn is a connection whose first bytes were peeked into r.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Server is a hostile HTTP/1.1 and HTTP/2 server on a loopback port: a
// connection that opens with HTTP/2's preface is served HTTP/2 (h2c with
// prior knowledge), any other HTTP/1.1, so that one URL serves both, as
// muxlab's --url expects of an http:// server.
type Server struct {
	ln    net.Listener
	every string
	wg    sync.WaitGroup
	mu    sync.Mutex // mu guards conns
	conns map[net.Conn]struct{}
}

// Start serves on 127.0.0.1 at a port the kernel picks. every, if not
// empty, is the path whose misbehaviour answers every request but /hello:
// a server that never ends any header block, say.
func Start(every string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, every: every, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and every connection, and waits for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			br := bufio.NewReader(c)
			if p, _ := br.Peek(len(http2.ClientPreface)); string(p) == http2.ClientPreface {
				serveH2(&bufConn{Conn: c, r: br}, s.every)
			} else {
				serveH1(c, br, s.every)
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveH1 answers the requests of one connection until it misbehaves in a
// way that ends it, or the client leaves.
func serveH1(c net.Conn, br *bufio.Reader, every string) {
	c.SetDeadline(time.Now().Add(Lifetime))
	bw := bufio.NewWriter(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		keep := answerH1(bw, route(req.URL.Path, every))
		if bw.Flush() != nil || !keep {
			return
		}
	}
}

// answerH1 writes the answer to path and reports whether the connection can
// carry another request.
func answerH1(bw *bufio.Writer, path string) bool {
	switch path {
	case PathEndlessHead:
		bw.WriteString("HTTP/1.1 200 OK\r\n")
		for sent := 0; sent < Budget; sent += len(fieldLine) {
			if _, err := bw.Write(fieldLine); err != nil {
				return false
			}
		}
		return false
	case PathLongLine:
		bw.WriteString("HTTP/1.1 200 OK\r\nX-Long: ")
		return endless(bw)
	case PathEndlessBody:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
		return endless(bw)
	case PathDrip:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
		for range 100 {
			if bw.WriteByte('d') != nil || bw.Flush() != nil {
				return false
			}
			time.Sleep(DripEvery)
		}
		return true
	case PathShort:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		bw.Flush()
		return false
	case PathLong:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok, and eighteen more")
		return true
	case PathGoAway:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		return false
	case PathBadSettings:
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\nok")
		return false
	}
	bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len("ok")) + "\r\n\r\nok")
	return true
}

// endless writes filler until Budget, the connection's deadline or an error.
func endless(bw *bufio.Writer) bool {
	for sent := 0; sent < Budget; sent += len(filler) {
		if _, err := bw.Write(filler); err != nil {
			return false
		}
	}
	return false
}
