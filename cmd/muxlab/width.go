package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// outputWidth is how many columns w shows: $COLUMNS when it is set to a
// number, the terminal's width when w is one, 0 (any width: a file or a
// pipe gets every line whole) otherwise.
func outputWidth(w io.Writer) int {
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 0
}

// listItem prints "  NAME  TEXT" with TEXT wrapped to width under itself
// (width 0: on one line).
func listItem(w io.Writer, width int, name, text string) {
	prefix := "  " + name + strings.Repeat(" ", max(12-utf8.RuneCountInString(name), 1))
	pad := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	line := prefix
	for i, word := range strings.Fields(text) {
		if i > 0 && width > 0 && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			io.WriteString(w, line+"\n")
			line = pad + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	io.WriteString(w, line+"\n")
}
