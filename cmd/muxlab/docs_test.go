package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// documentedCommand is one muxlab command line shown in the docs, and
// where.
type documentedCommand struct {
	where string
	args  []string
}

// inlineCommand finds `muxlab ...` in prose.
var inlineCommand = regexp.MustCompile("`((?:\\./)?(?:bin/)?muxlab(?: [^`]*)?)`")

// documentedCommands returns every muxlab command line in README.md and
// docs/*.md: the lines of ```sh blocks, and inline code, that run muxlab.
func documentedCommands(t *testing.T) []documentedCommand {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	var out []documentedCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(f, "../../")
		lines := strings.Split(string(b), "\n")
		inSh, inFence := false, false
		for i := 0; i < len(lines); i++ {
			line := lines[i]
			if strings.HasPrefix(line, "```") {
				inSh = !inFence && (line == "```sh" || line == "```bash" || line == "```console")
				inFence = !inFence
				continue
			}
			if inSh {
				for strings.HasSuffix(line, "\\") && i+1 < len(lines) { // a continued line
					i++
					line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
				}
				if args, ok := commandWords(line); ok {
					out = append(out, documentedCommand{fmt.Sprintf("%s:%d", name, i+1), args})
				}
				continue
			}
			if inFence {
				continue // output, not commands
			}
			for _, m := range inlineCommand.FindAllStringSubmatch(line, -1) {
				if args, ok := commandWords(m[1]); ok {
					out = append(out, documentedCommand{fmt.Sprintf("%s:%d", name, i+1), args})
				}
			}
		}
	}
	return out
}

// commandWords splits a shell line that runs muxlab into muxlab's
// arguments: a leading `$ `, `sudo`, environment assignments and the path
// to the binary go, and so do a comment and anything after a pipe or `&&`.
// ok is false for a line that does not run muxlab.
func commandWords(line string) ([]string, bool) {
	words := shellWords(line)
	for len(words) > 0 && (words[0] == "$" || words[0] == "sudo" || strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-")) {
		words = words[1:]
	}
	if len(words) == 0 || strings.TrimPrefix(strings.TrimPrefix(words[0], "./"), "bin/") != "muxlab" {
		return nil, false
	}
	args := []string{}
	for _, w := range words[1:] {
		if w == "|" || w == "&&" || w == ";" || w == "&" || strings.HasPrefix(w, "#") || w == ">" || strings.HasPrefix(w, ">") {
			break
		}
		args = append(args, w)
	}
	return args, true
}

// shellWords splits s into words as a shell would, for the quoting the
// docs use: single and double quotes, and a comment from a # that starts a
// word.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '#' && !in:
			if in {
				words = append(words, cur.String())
			}
			return append(words, "#")
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestDocumentedCommands parses every muxlab command the docs show with
// muxlab's own flags: the command must exist and each flag be one of its
// own with a value it accepts (pflag parses them all before the --help put
// at the end, which then stops the command from running).
func TestDocumentedCommands(t *testing.T) {
	cmds := documentedCommands(t)
	if len(cmds) < 50 {
		t.Fatalf("found %d documented commands; the docs show many more", len(cmds))
	}
	for _, dc := range cmds {
		args := dc.args
		if len(args) >= 2 && args[0] == "help" && strings.ToUpper(args[1]) == args[1] {
			args = nil // muxlab help COMMAND: a placeholder; muxlab --help
		}
		// Prose names a flag alone (`muxlab serve --har`): it must be one
		// of the command's, and is left out of the parse, which would take
		// the --help after it for its value.
		if n := len(args); n >= 2 && strings.HasPrefix(args[n-1], "--") && !strings.Contains(args[n-1], "=") {
			var help bytes.Buffer
			run(context.Background(), []string{"help", args[0]}, &help, &help)
			if h := help.String(); !strings.Contains(h, args[n-1]+" ") && !strings.Contains(h, args[n-1]+"[") {
				t.Errorf("%s: muxlab %s: %s is not a flag of %s", dc.where, strings.Join(dc.args, " "), args[n-1], args[0])
			}
			args = args[:n-1]
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(append([]string{}, args...), "--help"), &stdout, &stderr)
		if code != exitOK {
			t.Errorf("%s: muxlab %s: exit %d: %s", dc.where, strings.Join(dc.args, " "), code, strings.TrimSpace(stderr.String()))
		}
	}
}

// TestDocsLinks: every relative link of the docs names a file that exists.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#]+)(#[^)]*)?\)`)
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", strings.TrimPrefix(f, "../../"), target)
			}
		}
	}
}
