package takeout

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
)

// A Takeout arrives as several parts. A part is one archive (.zip, .tgz,
// .tar.gz, .tar) read in place, or the plain files of an extracted folder.
type partKind uint8

const (
	partFiles partKind = iota // extracted files below the base folder
	partZip
	partTar
	partTgz
)

type part struct {
	id   string // the archive's path relative to the base folder; "" for plain files
	abs  string // absolute path of the archive, or of the folder to walk
	kind partKind
}

// entry is one file of a part.
type entry struct {
	name  string // archive entry name, or path relative to the base folder
	size  int64
	mtime time.Time
	index int // position in the archive; tar fetches use it to reuse cursors
}

func archiveKind(name string) (partKind, bool) {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".zip"):
		return partZip, true
	case strings.HasSuffix(n, ".tgz"), strings.HasSuffix(n, ".tar.gz"):
		return partTgz, true
	case strings.HasSuffix(n, ".tar"):
		return partTar, true
	}
	return 0, false
}

// findParts resolves the location's paths into parts. paths are the
// glob's matches, or the one path of the location. A folder contributes
// the archives it holds (at any depth) and its other files.
func findParts(base string, paths []string) ([]part, error) {
	var parts []part
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, classifyFS(err)
		}
		if !st.IsDir() {
			kind, ok := archiveKind(p)
			if !ok {
				return nil, fault.Errorf(fault.Permanent, "%s is not a Takeout archive (.zip, .tgz, .tar.gz or .tar) nor a folder", p)
			}
			parts = append(parts, part{id: relID(base, p), abs: p, kind: kind})
			continue
		}
		parts = append(parts, part{abs: p, kind: partFiles})
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // unreadable folders are reported by the file walk
			}
			if kind, ok := archiveKind(d.Name()); ok && d.Type().IsRegular() {
				parts = append(parts, part{id: relID(base, q), abs: q, kind: kind})
			}
			return nil
		})
		if err != nil {
			return nil, classifyFS(err)
		}
	}
	slices.SortStableFunc(parts, func(a, b part) int { return strings.Compare(a.id, b.id) })
	// A folder and a glob may name the same archive twice.
	return slices.CompactFunc(parts, func(a, b part) bool { return a.abs == b.abs && a.kind == b.kind }), nil
}

func relID(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// visit is called for every file of a part with its bytes.
type visit func(e *entry, r io.Reader) error

// walk streams every file of p through fn. Errors fn returns end the walk
// unchanged; errors reading the part are classified.
func (p *part) walk(ctx context.Context, base string, fn visit) error {
	switch p.kind {
	case partZip:
		return walkZip(ctx, p.abs, fn)
	case partTar, partTgz:
		return walkTar(ctx, p.abs, p.kind == partTgz, fn)
	}
	return walkFiles(ctx, base, p.abs, fn)
}

// entryError marks a problem with one entry: the walk goes on.
type entryError struct {
	entry string
	err   error
}

func (e *entryError) Error() string { return fmt.Sprintf("%s: %v", e.entry, e.err) }
func (e *entryError) Unwrap() error { return e.err }

func walkZip(ctx context.Context, abs string, fn visit) error {
	zr, err := zip.OpenReader(abs)
	if err != nil {
		return classifyArchive(err)
	}
	defer zr.Close()
	for i, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		e := &entry{name: f.Name, size: int64(f.UncompressedSize64), mtime: f.Modified.UTC(), index: i}
		rc, err := f.Open()
		if err != nil {
			if err := fn(e, errReader{&entryError{f.Name, classifyArchive(err)}}); err != nil {
				return err
			}
			continue
		}
		err = fn(e, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// errReader hands fn an entry that cannot be read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func openTar(abs string, gz bool) (*tar.Reader, io.Closer, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, classifyFS(err)
	}
	if !gz {
		return tar.NewReader(f), f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, classifyArchive(err)
	}
	return tar.NewReader(zr), f, nil
}

func walkTar(ctx context.Context, abs string, gz bool, fn visit) error {
	tr, closer, err := openTar(abs, gz)
	if err != nil {
		return err
	}
	defer closer.Close()
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return classifyArchive(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		e := &entry{name: h.Name, size: h.Size, mtime: h.ModTime.UTC(), index: i}
		if err := fn(e, tr); err != nil {
			return err
		}
	}
}

// walkFiles streams the plain files below dir (archives are parts of their
// own), in name order.
func walkFiles(ctx context.Context, base, dir string, fn visit) error {
	return filepath.WalkDir(dir, func(q string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return fault.Wrap(fault.Canceled, cerr)
		}
		rel := relID(base, q)
		if err != nil {
			return fn(&entry{name: rel}, errReader{&entryError{rel, classifyFS(err)}})
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, ok := archiveKind(d.Name()); ok {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while we looked
		}
		e := &entry{name: rel, size: info.Size(), mtime: info.ModTime().UTC()}
		f, err := os.Open(q)
		if err != nil {
			return fn(e, errReader{&entryError{rel, classifyFS(err)}})
		}
		defer f.Close()
		return fn(e, f)
	})
}

func classifyFS(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fault.Wrap(fault.NotFound, err)
	case errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Canceled, err)
	case errors.Is(err, fs.ErrPermission):
		return fault.Wrap(fault.Permanent, err)
	}
	return fault.Wrap(fault.Transient, err)
}

// classifyArchive: a corrupt or truncated archive will not heal by
// retrying (a download cut short must be downloaded again).
func classifyArchive(err error) error {
	var fe *fault.Error
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, context.Canceled):
		return classifyFS(err)
	}
	return fault.Wrap(fault.Permanent, err)
}
