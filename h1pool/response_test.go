package h1pool

import (
	"bufio"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// compareRead reads raw with readResponse and with http.ReadResponse, each
// from its own reader, and fails t if they differ in anything a caller can
// see: the error or not, the status, the header, the framing, the body and
// the bytes left after it.
func compareRead(t testing.TB, raw string) (plainPath bool) {
	req, _ := http.NewRequest(http.MethodGet, "http://h/", nil)
	got, gotErr := readResponse(bufio.NewReaderSize(strings.NewReader(raw), 4096), req, nil)
	brWant := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	want, wantErr := http.ReadResponse(brWant, req)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: readResponse error %v, http.ReadResponse error %v", raw, gotErr, wantErr)
	}
	if gotErr != nil {
		return false
	}
	if r, _ := plainResponse([]byte(raw), req); r != nil {
		plainPath = true
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"status", got.Status, want.Status}, {"code", got.StatusCode, want.StatusCode}, {"proto", got.Proto, want.Proto},
		{"major", got.ProtoMajor, want.ProtoMajor}, {"minor", got.ProtoMinor, want.ProtoMinor},
		{"header", got.Header, want.Header}, {"length", got.ContentLength, want.ContentLength},
		{"close", got.Close, want.Close}, {"transfer encoding", got.TransferEncoding, want.TransferEncoding},
		{"trailer", got.Trailer, want.Trailer}, {"uncompressed", got.Uncompressed, want.Uncompressed},
		{"request", got.Request, want.Request},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%q: %s %#v, want (http.ReadResponse) %#v", raw, f.name, f.got, f.want)
		}
	}
	gotBody, gotBodyErr := io.ReadAll(got.Body)
	wantBody, wantBodyErr := io.ReadAll(want.Body)
	if string(gotBody) != string(wantBody) || (gotBodyErr == nil) != (wantBodyErr == nil) {
		t.Errorf("%q: body %q (%v), want %q (%v)", raw, gotBody, gotBodyErr, wantBody, wantBodyErr)
	}
	return plainPath
}

// TestReadResponseMatchesNetHTTP: every response reads as http.ReadResponse
// reads it, whether by the plain path or not.
func TestReadResponseMatchesNetHTTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw string
		plain     bool
	}{
		{"hello", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain\r\nDate: x\r\n\r\nhello\nNEXT", true},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", true},
		{"empty body", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true},
		{"blanks around a value", "HTTP/1.1 200 OK\r\nX-A: \t v \t\r\nContent-Length: 1\r\n\r\nx", true},
		{"repeated field", "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 1\r\n\r\nx", true},
		{"many fields", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nA: 10\r\nContent-Length: 1\r\n\r\nx", true},
		{"leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567", true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
		{"odd status", "HTTP/1.1 999 Whatever\r\nContent-Length: 1\r\n\r\nx", true},
		{"obs-text", "HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9\r\nContent-Length: 1\r\n\r\nx", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nuntil close", false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false},
		{"304", "HTTP/1.1 304 Not Modified\r\n\r\n", false},
		{"lower-case field", "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx", false},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", false},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx", false},
		{"pragma", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx", false},
		{"folded line", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 1\r\n\r\nx", false},
		{"space before colon", "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 1\r\n\r\nx", false},
		{"control byte", "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 1\r\n\r\nx", false},
		{"bad status", "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\nx", false},
		{"head cut short", "HTTP/1.1 200 OK\r\nContent-Len", false},
		{"nothing", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := compareRead(t, tc.raw); got != tc.plain {
				t.Errorf("plain path %v, want %v", got, tc.plain)
			}
		})
	}
}

// FuzzReadResponse: for any bytes, readResponse reads what http.ReadResponse
// reads.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nhello\n")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("HTTP/1.1 200 OK\r\nX-A: \t1\r\n 2\r\nContent-Length: 1\r\n\r\nx")
	f.Fuzz(func(t *testing.T, raw string) {
		compareRead(t, raw)
	})
}
