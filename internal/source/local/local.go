// Package local is the source for folders on this machine: a memory card,
// an external disk, a folder of exports. Locations are plain paths or
// file:// URLs.
package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Factory registers the local source.
var Factory = source.Factory{
	Name:    "local",
	Schemes: []string{"file"},
	Help:    "a local folder: /path, ./path or file:///path",
	New: func(_ context.Context, env source.Env, location string, _ *record.Record) (source.Source, error) {
		return New(location)
	},
	Honours:   source.Honours{Hash: true},
	ListFlags: func() any { return &ListFlags{} },
}

// ListFlags are the local source's own ps-list flags.
type ListFlags struct {
	FollowLinks bool `help:"Follow symbolic links that lead out of a local folder."`
}

// Source lists and reads one local folder tree.
type Source struct {
	root string // absolute, cleaned
	id   string // the redacted location written into records
}

// New opens the folder at location.
func New(location string) (*Source, error) {
	root, err := source.LocalPath(location)
	if err != nil {
		return nil, fault.Wrap(fault.Permanent, err)
	}
	return &Source{root: root, id: Location(root)}, nil
}

// Location is the "source" field for a folder.
func Location(root string) string {
	return "file://" + filepath.ToSlash(root)
}

// List walks the tree. With opts.Jobs > 1 folders are read concurrently and
// items arrive in no fixed order; otherwise the walk is depth-first in name
// order, so the same tree always lists the same way.
func (s *Source) List(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	return s.list(ctx, opts, sink, time.Time{})
}

// list walks the tree; with changedSince set, only files changed since
// then are items.
func (s *Source) list(ctx context.Context, opts source.ListOptions, sink source.Sink, changedSince time.Time) error {
	st, err := os.Stat(s.root)
	if err != nil {
		return classify(err)
	}
	if !st.IsDir() {
		return fault.Errorf(fault.Permanent, "%s is not a folder", s.root)
	}
	w := &walker{src: s, opts: opts, flags: source.FlagsOf(opts, &ListFlags{}), sink: sink, visited: map[string]bool{}, changedSince: changedSince}
	if real, err := filepath.EvalSymlinks(s.root); err == nil {
		w.realRoot = real
	} else {
		w.realRoot = s.root
	}
	jobs := max(opts.Jobs, 1)
	if jobs == 1 {
		return w.walk(ctx, "")
	}
	return source.WalkFolders(ctx, jobs, "", w.readDir)
}

type walker struct {
	src      *Source
	opts     source.ListOptions
	flags    *ListFlags
	sink     source.Sink
	realRoot string
	mu       sync.Mutex
	visited  map[string]bool // real paths of folders entered through links
	// changedSince: list only files changed since (a change listing).
	changedSince time.Time
}

// walk lists dir (relative, slash-separated) and its subfolders in order.
func (w *walker) walk(ctx context.Context, dir string) error {
	subdirs, err := w.readDir(ctx, dir)
	if err != nil {
		return err
	}
	for _, sub := range subdirs {
		if err := w.walk(ctx, sub); err != nil {
			return err
		}
	}
	return nil
}

// readDir emits the files of one folder and returns its subfolders. A
// folder that cannot be read becomes a failure record; only sink errors
// and cancellation end the walk.
func (w *walker) readDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.Wrap(fault.Canceled, err)
	}
	abs := filepath.Join(w.src.root, filepath.FromSlash(dir))
	f, err := os.Open(abs)
	if err != nil {
		return nil, w.folderFailure(dir, err)
	}
	defer f.Close()
	var subdirs []string
	for {
		entries, rerr := f.ReadDir(1024)
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		for _, e := range entries {
			sub, err := w.entry(ctx, dir, e)
			if err != nil {
				return nil, err
			}
			if sub != "" {
				subdirs = append(subdirs, sub)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return subdirs, w.folderFailure(dir, rerr)
		}
	}
	// Depth-first in name order needs the subfolders in order; ReadDir
	// batches are sorted only within themselves.
	slices.Sort(subdirs)
	if w.opts.Jobs > 1 {
		slices.Reverse(subdirs) // the concurrent queue is a stack
	}
	return subdirs, nil
}

func (w *walker) folderFailure(dir string, err error) error {
	rec := record.FolderFailure(w.src.id, dir)
	if dir == "" {
		rec.Path = "."
	}
	return w.sink.Failure(rec, classify(err))
}

// entry handles one directory entry; it returns the relative path of a
// folder to descend into, or "".
func (w *walker) entry(ctx context.Context, dir string, e fs.DirEntry) (string, error) {
	rel := path.Join(dir, e.Name())
	abs := filepath.Join(w.src.root, filepath.FromSlash(rel))
	info, err := e.Info()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil // removed while we looked
		}
		return "", w.sink.Failure(&record.Record{Type: record.TypeFailure, Source: w.src.id, Path: rel}, classify(err))
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		target, ok := w.followable(abs)
		if !ok {
			return "", nil
		}
		info, err = os.Stat(target)
		if err != nil {
			return "", nil // dangling link
		}
		if info.IsDir() {
			if !w.flags.FollowLinks || !w.firstVisit(target) {
				return "", nil
			}
			return rel, nil
		}
	}
	switch {
	case info.IsDir():
		return rel, nil
	case !info.Mode().IsRegular():
		return "", nil // sockets, devices, fifos
	case !w.changedSince.IsZero() && changed(info).Before(w.changedSince):
		return "", nil // unchanged since the last change listing
	}
	rec := &record.Record{
		Type: record.TypeItem, Source: w.src.id, ID: rel, Path: rel, Name: e.Name(),
		Size: info.Size(), Mtime: info.ModTime().UTC(), Media: record.MediaOf(e.Name()),
	}
	if w.opts.Hash == "sha256" {
		sum, err := hashFile(ctx, abs)
		if err != nil {
			return "", w.sink.Failure(rec, classify(err))
		}
		rec.Hash = map[string]string{"sha256": sum}
	}
	return "", w.sink.Item(rec)
}

// followable resolves a symlink and says whether the walk may follow it:
// always when it stays inside the root, otherwise only with FollowLinks.
func (w *walker) followable(abs string) (string, bool) {
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", false
	}
	inside := target == w.realRoot || strings.HasPrefix(target, w.realRoot+string(filepath.Separator))
	return target, inside || w.flags.FollowLinks
}

func (w *walker) firstVisit(real string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.visited[real] {
		return false
	}
	w.visited[real] = true
	return true
}

func hashFile(ctx context.Context, abs string) (string, error) {
	f, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), ctx.Err()
}

// Open reads an item from offset. The id must stay inside the root.
func (s *Source) Open(ctx context.Context, item *record.Record, offset int64) (*source.Content, error) {
	rel := item.ID
	if rel == "" {
		rel = item.Path
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.ContainsRune(rel, 0) {
		return nil, fault.Errorf(fault.Permanent, "item id %q is not a path inside %s", rel, s.root)
	}
	f, err := os.Open(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, classify(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, classify(err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fault.Errorf(fault.Permanent, "%s is a folder", rel)
	}
	if offset > st.Size() {
		f.Close()
		return nil, source.ErrBadRange
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, classify(err)
	}
	return &source.Content{ReadCloser: source.BindContext(ctx, f), Offset: offset, Size: st.Size(), Version: source.FileVersion(st.ModTime(), st.Size())}, nil
}

// Location is the file:// URL of the root.
func (s *Source) Location() string { return s.id }

// Close has nothing to release.
func (s *Source) Close() error { return nil }

// classify maps file-system errors to fault classes.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fault.Wrap(fault.NotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fault.Wrap(fault.Permanent, err)
	case errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Canceled, err)
	}
	return fault.Wrap(fault.Transient, err)
}

var _ source.Source = (*Source)(nil)
