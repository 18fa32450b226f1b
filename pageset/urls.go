// Package pageset reads the objects of a page from outside muxlab: a list of
// URLs, one per line (muxlab bench --urls). Each is checked with its line
// number, so that a bad list is refused naming the line and what is wrong.
package pageset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Bounds of a list.
const (
	MaxURLs    = 10000
	MaxLineLen = 8 << 10
)

// List is a page's objects in the order listed.
type List struct {
	URLs []*url.URL
}

// Origins returns the list's origins (scheme://host:port), in the order
// they first appear.
func (l *List) Origins() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range l.URLs {
		o := u.Scheme + "://" + u.Host
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

// Paths returns each URL's path and query, as requested from its origin.
func (l *List) Paths() []string {
	out := make([]string, len(l.URLs))
	for i, u := range l.URLs {
		out[i] = u.RequestURI()
	}
	return out
}

// LineError says which line of a list is wrong and why.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return "pageset: " + e.Problem() }

// Problem says what is wrong, without the package's name.
func (e *LineError) Problem() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// FileError says what is wrong with a page file as a whole.
type FileError struct {
	Reason string
	Err    error // what the reason comes from, if anything
}

func (e *FileError) Error() string { return "pageset: " + e.Problem() }

// Problem says what is wrong, without the package's name.
func (e *FileError) Problem() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *FileError) Unwrap() error { return e.Err }

// Problem says what is wrong with a page file in words for its user,
// without the package's name: a *LineError's, *EntryError's or
// *FileError's, or err's own text for any other error.
func Problem(err error) string {
	var p interface{ Problem() string }
	if errors.As(err, &p) {
		return p.Problem()
	}
	return err.Error()
}

// ParseURLs reads a list: one absolute http:// or https:// URL per line;
// blank lines and lines starting with # are skipped. It refuses a list with
// no URL, more than MaxURLs, or a line longer than MaxLineLen bytes.
func ParseURLs(r io.Reader) (*List, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen+1)
	l := &List{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if len(l.URLs) == MaxURLs {
			return nil, &LineError{line, fmt.Sprintf("more than %d URLs", MaxURLs)}
		}
		u, err := url.Parse(text)
		switch {
		case err != nil:
			return nil, &LineError{line, fmt.Sprintf("%q is not a URL", text)}
		case u.Scheme != "http" && u.Scheme != "https":
			return nil, &LineError{line, fmt.Sprintf("%q: the scheme must be http or https", text)}
		case u.Host == "" || u.Hostname() == "":
			return nil, &LineError{line, fmt.Sprintf("%q has no host", text)}
		case u.User != nil:
			return nil, &LineError{line, fmt.Sprintf("%q carries a user name: credentials do not belong in a list", text)}
		case u.Fragment != "":
			return nil, &LineError{line, fmt.Sprintf("%q has a fragment, which is never sent", text)}
		}
		if u.Port() == "" {
			u.Host = u.Hostname() + map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
			if strings.Contains(u.Hostname(), ":") { // IPv6
				u.Host = "[" + u.Hostname() + "]" + u.Host[len(u.Hostname()):]
			}
		}
		l.URLs = append(l.URLs, u)
	}
	if err := sc.Err(); err != nil {
		return nil, &LineError{line + 1, fmt.Sprintf("longer than %d bytes", MaxLineLen)}
	}
	if len(l.URLs) == 0 {
		return nil, &FileError{Reason: "the list holds no URL (one per line; # starts a comment)"}
	}
	return l, nil
}
