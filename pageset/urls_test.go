package pageset

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURLs(t *testing.T) {
	t.Parallel()
	l, err := ParseURLs(strings.NewReader("# a page\n\nhttps://example.com/a.css\n  http://127.0.0.1:8080/tile/1?size=10  \n# done\nhttps://example.com/b.js\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Paths(), " "); got != "/a.css /tile/1?size=10 /b.js" {
		t.Errorf("paths %q", got)
	}
	if got := strings.Join(l.Origins(), " "); got != "https://example.com:443 http://127.0.0.1:8080" {
		t.Errorf("origins %q", got)
	}
}

func TestParseURLsRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		line int
		want string
	}{
		{"https://a/x\nftp://b/y\n", 2, "scheme"},
		{"\n\n/relative\n", 3, "scheme"},
		{"https:///nohost\n", 1, "no host"},
		{"https://u:p@a/x\n", 1, "user name"},
		{"https://a/x#frag\n", 1, "fragment"},
		{"https://a/" + strings.Repeat("x", MaxLineLen) + "\n", 1, "longer than"},
		{"http://a/%zz\n", 1, "not a URL"},
		{strings.Repeat("https://a/x\n", MaxURLs+1), MaxURLs + 1, "more than"},
	} {
		_, err := ParseURLs(strings.NewReader(tc.in))
		var le *LineError
		if !errors.As(err, &le) || le.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v; want line %d saying %q", tc.in, err, tc.line, tc.want)
		}
	}
	if _, err := ParseURLs(strings.NewReader("# nothing\n\n")); err == nil || !strings.Contains(err.Error(), "no URL") {
		t.Errorf("empty list: %v", err)
	}
}

func FuzzParseURLs(f *testing.F) {
	for _, s := range []string{"https://a/x\n", "# c\n\nhttp://[::1]:8/y?q=1\n", "ftp://x\n", "http://a/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseURLs(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(l.URLs) == 0 || len(l.URLs) > MaxURLs || len(l.Paths()) != len(l.URLs) {
			t.Fatalf("%d URLs", len(l.URLs))
		}
		for _, u := range l.URLs {
			if (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
				t.Fatalf("accepted %v", u)
			}
		}
	})
}
