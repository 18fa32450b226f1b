package mux_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"muxlab/mux"
)

func tlsConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}
}

// tlsClient speaks HTTP/2 when the server offers it and HTTP/1.1 otherwise,
// trusting the demo's self-signed certificate.
func tlsClient() *http.Client {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(), Protocols: &protos}}
}

func tlsDial(addr string) (net.Conn, error) { return tls.Dial("tcp", addr, tlsConfig()) }

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSelfSignedCertificateCoversLoopback(t *testing.T) {
	cert, err := mux.SelfSignedCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

func TestLoadCertificateNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o644)
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		cert, key, which, file string
	}{
		{missing, junk, "cert", missing},
		{junk, junk, "cert", junk},
	} {
		_, err := mux.LoadCertificate(tc.cert, tc.key)
		var ce *mux.CertFileError
		if !errors.As(err, &ce) || ce.Which != tc.which || ce.File != tc.file || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("LoadCertificate(%s, %s) = %v, want an error naming the %s file %s", tc.cert, tc.key, err, tc.which, tc.file)
		}
	}
}
