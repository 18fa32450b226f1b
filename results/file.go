package results

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the name a run is written under: its start time, scenario
// and ID, e.g. "20261123-201500-page-3f9a2c1d.json", so that runs started
// in the same second never share a name.
func FileName(r *Run) string {
	name := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			return c
		}
		return '_'
	}, strings.ToLower(r.Scenario.Name))
	if r.Sweep != nil {
		name += "-sweep-" + r.Sweep.Parameter
	}
	if r.Agent != "" { // agents that start together share a second, and maybe a directory
		name += "-" + strings.Map(func(c rune) rune {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
				return c
			}
			return '_'
		}, r.Agent)
	}
	if r.ID != "" {
		name += "-" + r.ID
	}
	return r.Started.UTC().Format("20060102-150405") + "-" + name + ".json"
}

// CheckDir makes dir if needed and proves it writable by creating and
// removing a file in it, so that a run can refuse to start rather than lose
// its results at the end.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: cannot create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".muxlab-check-*")
	if err != nil {
		return fmt.Errorf("results: %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Write writes r as indented JSON to dir/FileName(r) atomically: to a
// temporary file in dir first, synced, then renamed, so that a reader never
// sees half a file and an interrupted write leaves none. It returns the path.
func Write(dir string, r *Run) (string, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("results: encoding run: %w", err)
	}
	path := filepath.Join(dir, FileName(r))
	return path, WriteNewFile(path, append(data, '\n'))
}

// ErrExists says a result file of that name is already there: a result is
// never written over another.
var ErrExists = errors.New("results: a file of that name exists; results are never overwritten")

// WriteNewFile writes data to path atomically, as WriteFileAtomic does, but
// never over an existing file (ErrExists): the temporary file is linked to
// its name, which fails if the name is taken, rather than renamed over it.
func WriteNewFile(path string, data []byte) error {
	tmp := path + ".new"
	if err := WriteFileAtomic(tmp, data); err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename. On any error the temporary file is removed.
func WriteFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// Read reads a run from path. A missing, empty, truncated or foreign file,
// or one of another schema version, is an error naming the file and what is
// wrong with it.
func Read(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("results: %s: larger than %d MiB: not a muxlab result", path, MaxFileBytes>>20)
	}
	r, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return r, nil
}

// Decode parses a run from JSON; see Read.
func Decode(data []byte) (*Run, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var doc json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return nil, describeJSONError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON document")
	}
	var probe struct {
		SchemaVersion *int `json:"schema_version"`
		Tool          struct {
			Name string `json:"name"`
		} `json:"tool"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil {
		return nil, describeJSONError(data, err)
	}
	switch {
	case probe.SchemaVersion == nil || probe.Tool.Name != "muxlab":
		return nil, errors.New("not a muxlab result: no schema_version and tool \"muxlab\"")
	case *probe.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("schema_version %d is not supported: this muxlab reads version %d",
			*probe.SchemaVersion, SchemaVersion)
	}
	var r Run
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, describeJSONError(data, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// describeJSONError says where the JSON went wrong in words a person can act on.
func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		return fmt.Errorf("truncated JSON: the file ends after %d bytes in the middle of the document", len(data))
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return fmt.Errorf("field %q has the wrong type: %v", typ.Field, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// NewRun starts a run's record with the schema version, the tool and the
// machine filled in.
func NewRun(version, goVersion string, m Machine, started time.Time) *Run {
	id := make([]byte, 4)
	rand.Read(id) // never fails (crypto/rand)
	return &Run{
		ID:            hex.EncodeToString(id),
		SchemaVersion: SchemaVersion,
		Tool:          Tool{Name: "muxlab", Version: version, GoVersion: goVersion},
		Machine:       m,
		Started:       started,
	}
}
