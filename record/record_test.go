package record_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"muxlab/internal/browsertest"
	"muxlab/mux"
	"muxlab/pageset"
	"muxlab/record"
)

// Recording the demo page in headless Chromium gives a HAR that pageset
// reads and whose replay answers every tile at its recorded size.
func TestRecordDemoPage(t *testing.T) {
	if _, err := os.Stat(browsertest.Path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: make test installs it", browsertest.Path)
		}
		t.Skip("chromium is missing")
	}
	srv, err := mux.New(mux.Options{H1TLSAddr: "127.0.0.1:0", H2TLSAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()
	const n = 16
	har, err := record.Page(context.Background(), srv.URL(mux.ListenerH1TLS)+"/demo?n=16&delay=0s",
		record.Options{IgnoreCertErrors: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := pageset.ParseHAR(bytes.NewReader(har))
	if err != nil {
		t.Fatalf("the recording does not read back: %v", err)
	}
	tiles := 0
	var tile *pageset.Entry
	for i := range page.Entries {
		if strings.Contains(page.Entries[i].URL.Path, "/demo/tile/") {
			tiles++
			tile = &page.Entries[i]
		}
	}
	if tiles != 2*n || len(page.Origins()) != 2 || tile.Status != 200 || len(tile.Body) == 0 || tile.Header["Content-Type"] != "image/png" {
		t.Fatalf("%d tiles of %d origins; last %+v", tiles, len(page.Origins()), tile)
	}
	rp := httptest.NewServer(pageset.NewReplayer(page))
	defer rp.Close()
	req, _ := http.NewRequest("GET", rp.URL+tile.URL.RequestURI(), nil)
	req.Host = tile.URL.Host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body.Bytes(), tile.Body) {
		t.Errorf("replayed tile: %d, %d bytes, want the recorded %d", resp.StatusCode, body.Len(), len(tile.Body))
	}
}

func TestRecordUnreachable(t *testing.T) {
	if _, err := os.Stat(browsertest.Path); err != nil {
		t.Skip("chromium is missing")
	}
	_, err := record.Page(context.Background(), "http://127.0.0.1:1/", record.Options{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("recording a dead URL: %v", err)
	}
}
