package report

import (
	"muxlab/results"

	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
)

// Browser serves a results directory, read-only: a list of its runs, the
// report of any of them, and the report comparing several. It opens files
// only through an os.Root of the directory, so no request can reach a file
// outside it, by ".." or by a symbolic link.
type Browser struct {
	root *os.Root
	dir  string
}

// NewBrowser opens dir for browsing. Close releases it.
func NewBrowser(dir string) (*Browser, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return &Browser{root: root, dir: dir}, nil
}

// Close releases the directory.
func (b *Browser) Close() error { return b.root.Close() }

// ServeHTTP serves GET / (the list), GET /report?run=NAME[&run=NAME...]
// and GET /runs/NAME (the JSON). Anything else is 404 or 405.
func (b *Browser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/":
		b.serveIndex(w)
	case r.URL.Path == "/report":
		b.serveReport(w, r.URL.Query()["run"])
	case strings.HasPrefix(r.URL.Path, "/runs/"):
		b.serveJSON(w, strings.TrimPrefix(r.URL.Path, "/runs/"))
	default:
		http.NotFound(w, r)
	}
}

// checkName accepts a plain name of a .json file in the directory.
func checkName(name string) error {
	if name == "" || !strings.HasSuffix(name, ".json") || strings.ContainsAny(name, `/\`) ||
		strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("run: %q is not the name of a result file in this directory", name)
	}
	return nil
}

// read reads and decodes one run, giving the HTTP status for an error.
func (b *Browser) read(name string) (*results.Run, int, error) {
	if err := checkName(name); err != nil {
		return nil, http.StatusBadRequest, err
	}
	f, err := b.root.Open(name)
	if err != nil {
		return nil, http.StatusNotFound, fmt.Errorf("run: %s: no such result", name)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, results.MaxFileBytes+1))
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("run: %s: %w", name, err)
	}
	if len(data) > results.MaxFileBytes {
		return nil, http.StatusUnprocessableEntity, fmt.Errorf("run: %s: larger than %d MiB: not a muxlab result", name, results.MaxFileBytes>>20)
	}
	run, err := results.Decode(data)
	if err != nil {
		return nil, http.StatusUnprocessableEntity, fmt.Errorf("run: %s: %w", name, err)
	}
	return run, http.StatusOK, nil
}

func (b *Browser) serveJSON(w http.ResponseWriter, name string) {
	if _, status, err := b.read(name); err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	data, err := b.root.ReadFile(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

func (b *Browser) serveReport(w http.ResponseWriter, names []string) {
	if len(names) == 0 {
		http.Error(w, "run: name at least one run, as ?run=NAME", http.StatusBadRequest)
		return
	}
	var srcs []Source
	for _, name := range names {
		run, status, err := b.read(name)
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		srcs = append(srcs, Source{Name: name, Run: run})
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, srcs); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// indexEntry is one file of the directory as the list shows it.
type indexEntry struct {
	Name, Started, Scenario, Verdict, Problem string
	Interrupted                               bool
}

var indexTemplate = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>muxlab results: {{.Dir}}</title>
<style>
body { font-family: system-ui, "Liberation Sans", sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: left; vertical-align: top; }
.problem { color: #a00; }
</style></head>
<body>
<h1>muxlab results</h1>
<p>{{len .Entries}} files in {{.Dir}}. Open a run's report, or tick two or more and compare them.</p>
<form method="get" action="/report">
<table id="runs">
<thead><tr><th>compare</th><th>started</th><th>scenario</th><th>verdict</th><th>file</th></tr></thead>
<tbody>
{{range .Entries}}<tr>{{if .Problem}}<td></td><td></td><td></td><td class="problem">{{.Problem}}</td><td>{{.Name}}</td>
{{else}}<td><input type="checkbox" name="run" value="{{.Name}}"></td><td>{{.Started}}</td><td>{{.Scenario}}</td>
<td>{{if .Interrupted}}(interrupted) {{end}}<a href="/report?run={{.Name}}">{{.Verdict}}</a></td><td><a href="/runs/{{.Name}}">{{.Name}}</a></td>{{end}}</tr>
{{end}}</tbody>
</table>
<p><button type="submit">Compare the ticked runs</button></p>
</form>
</body></html>
`))

func (b *Browser) serveIndex(w http.ResponseWriter) {
	entries, err := fs.ReadDir(b.root.FS(), ".")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var list []indexEntry
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || checkName(name) != nil {
			continue
		}
		run, _, err := b.read(name)
		if err != nil {
			list = append(list, indexEntry{Name: name, Problem: err.Error()})
			continue
		}
		list = append(list, indexEntry{Name: name, Started: run.Started.UTC().Format("2006-01-02 15:04:05"),
			Scenario: run.Scenario.Name, Verdict: run.Verdict, Interrupted: run.Interrupted})
	}
	slices.SortFunc(list, func(a, b indexEntry) int { return strings.Compare(b.Name, a.Name) }) // newest first
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, struct {
		Dir     string
		Entries []indexEntry
	}{b.dir, list}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
