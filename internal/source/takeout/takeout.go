// Package takeout is the Google Photos library source: the archives of a
// Google Takeout export, read in place. Since March 2025 no API lists a
// whole Google Photos library; Takeout is the only complete,
// original-quality export.
//
// Locations: "takeout:PATH" where PATH is an extracted Takeout folder, one
// .zip/.tgz part, a folder holding the parts, or a glob of parts
// ("takeout:~/Downloads/takeout-*.zip"; the shell leaves it alone because
// of the "takeout:" prefix, and ps expands it).
//
// A listing reads every part once: it hashes each media file, parses every
// JSON sidecar, then matches media to sidecars across parts and writes one
// item per distinct content, under the path of its year-folder copy, with
// the albums it appears in. The id is the content's SHA-256, so it is the
// same in every export of the same library.
//
// Every item's "source" is plain "takeout:", whichever export it came
// from: an export is only how the library travels, and ps-fetch keys what
// it has on (source, id), so a later export, wherever it was saved, adds
// only what is new (and --mirror compares with the library as a whole).
// Where the bytes are is in meta.takeout (absolute archive path, entry).
package takeout

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Factory registers the Takeout source.
var Factory = source.Factory{
	Name:    "takeout",
	Schemes: []string{"takeout"},
	Help:    "a Google Photos Takeout: takeout:FOLDER, takeout:PART.zip (or .tgz), takeout:'DIR/takeout-*.zip'",
	New: func(_ context.Context, env source.Env, location string, _ *record.Record) (source.Source, error) {
		s, err := New(location)
		if err != nil {
			return nil, err
		}
		s.log = env.Log
		return s, nil
	},
	Honours:   source.Honours{Folder: true, Dates: true},
	ListFlags: func() any { return &ListFlags{} },
}

// ListFlags are the Takeout source's own ps-list flags.
type ListFlags struct {
	Root string `placeholder:"NAME" help:"Name of the Google Photos folder inside the Takeout, when its localized name is not recognized."`
}

// Source is one Takeout: a set of parts below a base folder.
type Source struct {
	input string // the absolute path or pattern listed, for messages
	base  string // folder the parts' ids are relative to
	paths []string
	log   *slog.Logger

	mu     sync.Mutex
	zips   map[string]*zipPart
	tars   map[string]*tarCursors
	closed bool
	// tarHeaders counts the tar headers fetches read: each one means
	// decompressing that entry, wanted or skipped.
	tarHeaders atomic.Int64
}

// Location is the "source" of every Takeout item (see the package doc).
const Location = "takeout:"

// New opens the Takeout at location ("takeout:PATH"). Plain "takeout:"
// (the source of records) opens a source that can only fetch.
func New(location string) (*Source, error) {
	p, ok := strings.CutPrefix(location, "takeout:")
	if !ok {
		return nil, fault.Errorf(fault.Permanent, "not a takeout location: %q", location)
	}
	p = strings.TrimPrefix(p, "//")
	s := &Source{zips: map[string]*zipPart{}, tars: map[string]*tarCursors{}}
	if p == "" {
		return s, nil
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fault.Wrap(fault.Permanent, err)
		}
		p = filepath.Join(home, p[1:])
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	s.input = abs
	if hasGlob(abs) {
		s.paths, err = filepath.Glob(abs)
		if err != nil {
			return nil, fault.Errorf(fault.Permanent, "takeout: bad pattern %q: %v", p, err)
		}
		s.base = globBase(abs)
		return s, nil
	}
	s.paths = []string{abs}
	s.base = abs
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		s.base = filepath.Dir(abs)
	}
	return s, nil
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// globBase is the folder of a pattern above its first wildcard.
func globBase(pattern string) string {
	dir := filepath.Dir(pattern)
	for hasGlob(dir) {
		dir = filepath.Dir(dir)
	}
	return dir
}

// Location is "takeout:", the source of every Takeout item.
func (s *Source) Location() string { return Location }

// Close closes the archives Open kept open.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var first error
	for _, z := range s.zips {
		if err := z.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, t := range s.tars {
		t.closeAll()
	}
	s.zips, s.tars = map[string]*zipPart{}, map[string]*tarCursors{}
	return first
}

var _ source.Source = (*Source)(nil)
