package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"muxlab/internal/resultstest"
	"muxlab/results"
)

// runArgs runs muxlab with args and returns its exit code and output.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The conventions users expect: --version and version, help COMMAND,
// completion scripts a shell accepts and that complete subcommands, flags
// and flag values.
func TestConventions(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if code, out, _ := runArgs(t, args...); code != exitOK || !strings.HasPrefix(out, "muxlab "+version+" (commit ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if code, out, _ := runArgs(t, "help", "bench"); code != exitOK || !strings.Contains(out, "--contenders") || strings.Contains(out, "commands:") {
		t.Errorf("help bench: exit %d, %q; want bench's flags", code, out)
	}
	if code, _, errOut := runArgs(t, "help", "nope"); code != exitUsage || !strings.Contains(errOut, `unknown command "nope"`) {
		t.Errorf("help nope: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runArgs(t, "completion", "tcsh"); code != exitUsage || !strings.Contains(errOut, "give bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d, %q", code, errOut)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if code, out, _ := runArgs(t, "completion", sh); code != exitOK || !strings.Contains(out, "compare") || !strings.Contains(out, "contenders") {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(out))
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to check the bash completion")
	}
	_, script, _ := runArgs(t, "completion", "bash")
	file := filepath.Join(t.TempDir(), "muxlab.bash")
	os.WriteFile(file, []byte(script), 0o644)
	for _, tc := range []struct {
		words string
		want  string
	}{
		{"muxlab com", "compare completion"},
		{"muxlab bench --sta", "--start-at --start-at-max --stack"},
		{"muxlab --net 4", "4g"},
		{"muxlab sweep --ove", "--over"},
	} {
		words := strings.Fields(tc.words)
		cmd := exec.Command(bash, "-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _muxlab; echo "${COMPREPLY[*]}"`, "x", file)
		cmd.Args = append(cmd.Args, words...)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("completing %q: %q (%v), want %q", tc.words, out, err, tc.want)
		}
	}
}

// compare prints two runs side by side with the change and its p-value,
// writes the report of both with -o, and refuses what it cannot compare.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	a, b := resultstest.Sample(), resultstest.Sample()
	for i := range b.Contenders[1].Rounds {
		b.Contenders[1].Rounds[i].Throughput *= 2
	}
	pa, err := results.Write(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := results.Write(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "both.html")
	code, out, errOut := runArgs(t, "compare", pa, pb, "-o", html)
	if code != exitOK || !strings.Contains(out, "24.0 req/s") || !strings.Contains(out, "48.0 req/s") || !strings.Contains(out, "p=") ||
		!strings.Contains(out, "changes significant at p < 0.05") {
		t.Errorf("compare: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(html); err != nil || st.Size() == 0 {
		t.Errorf("the report of both: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", pa}, "compare: give two result files"},
		{[]string{"compare", pa, filepath.Join(dir, "missing.json")}, "compare: "},
		{[]string{"merge", pa, pb, "-o", pa}, "exists; a result is never written over another"},
	} {
		if code, _, errOut := runArgs(t, tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errOut)
		}
	}
}

// Five runs started in the same second into one directory leave five
// result files.
func TestConcurrentRunsKeepEveryResult(t *testing.T) {
	dir := t.TempDir()
	codes := make(chan int, 5)
	for range 5 {
		go func() {
			var stdout, stderr bytes.Buffer
			codes <- run(context.Background(), []string{"bench", "-q", "--scenario", "latency", "--requests", "20", "--contenders", "h1",
				"--net", "loopback", "--rounds", "1", "--warmup", "0", "--out", dir}, &stdout, &stderr)
		}()
	}
	for range 5 {
		if code := <-codes; code != exitOK {
			t.Errorf("a run exited %d", code)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 5 {
		t.Errorf("%d result files, want 5: %v", len(files), files)
	}
}

// With COLUMNS=100 a run's table, bench --help and --list fit in 100
// columns, and the table still shows every contender, the ratios and the
// verdict.
func TestOutputFitsColumns(t *testing.T) {
	t.Setenv("COLUMNS", "100")
	code, out, errOut := runArgs(t, "bench", "--scenario", "page", "--objects", "12", "--pages", "1", "--rounds", "1", "--warmup", "0",
		"--delay", "0", "--net", "loopback", "--out", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"h1 (6 connections)", "h2 (1 connection)", "h3 (1 connection)", "hey (6 workers)", "vs h1", "0.", "the 12-object page", "than h1 (6 connections)"} {
		if !strings.Contains(words, want) && !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	_, help, _ := runArgs(t, "bench", "--help")
	_, list, _ := runArgs(t, "bench", "--list")
	for name, text := range map[string]string{"the table": out, "bench --help": help, "bench --list": list} {
		for i, line := range strings.Split(text, "\n") {
			if n := utf8.RuneCountInString(line); n > 100 {
				t.Errorf("%s: line %d is %d long: %q", name, i+1, n, line)
			}
		}
	}
}

// --csv prints a header and a row per contender per round and its total,
// and still writes the result file.
func TestCSV(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runArgs(t, "bench", "-q", "--csv", "--scenario", "latency", "--requests", "20", "--contenders", "h1,h2",
		"--rounds", "2", "--warmup", "0", "--net", "loopback", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 1+2*3 || rows[0][0] != "contender" || rows[3][2] != "total" || rows[3][5] != "40" {
		t.Errorf("csv %v: %q", err, rows)
	}
	readOnly(t, dir)
	if code, _, errOut := runArgs(t, "bench", "--csv", "--json"); code != exitUsage || !strings.Contains(errOut, "one form of output at a time") {
		t.Errorf("--csv --json: exit %d, %q", code, errOut)
	}
}

// Where stderr is not a terminal, a run says a line per turn with the time
// elapsed and left.
func TestProgressLines(t *testing.T) {
	code, _, errOut := runArgs(t, "bench", "--scenario", "latency", "--requests", "30", "--contenders", "h1,h2",
		"--rounds", "1", "--warmup", "0", "--net", "loopback", "--out", t.TempDir())
	if code != exitOK || !strings.Contains(errOut, "muxlab: turn 1 of 2: round 1/1 h1 (6 connections); 0:00 elapsed, estimating the time left") ||
		!strings.Contains(errOut, "muxlab: turn 2 of 2: round 1/1 h2 (1 connection); ") || !strings.Contains(errOut, " left\n") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// --json prints the result and writes no file unless --out is given; a
// scenario whose figures flags changed describes them, not its own.
func TestJSONWritesNoFileAndDescriptionsFollowFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := runArgs(t, "bench", "-q", "--json", "--scenario", "page", "--objects", "6", "--pages", "1", "--rounds", "1",
		"--warmup", "0", "--delay", "0", "--contenders", "h1", "--net", "loopback")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r, err := results.Decode([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("muxlab-results"); !os.IsNotExist(err) {
		t.Errorf("--json wrote a results directory: %v", err)
	}
	if s := r.Scenario.Summary; !strings.Contains(s, "pages of 6 objects") || !strings.Contains(s, "no delay at the server") || strings.Contains(s, "delayed 50 ms") {
		t.Errorf("the scenario says %q under --objects 6 --delay 0", s)
	}
}
